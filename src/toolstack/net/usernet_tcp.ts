/**
 * One TCP connection (RFC 9293) as user-mode networking needs it: the guest is the peer, and
 * the application side is a host socket that reads and writes byte streams.
 *
 * Contract:
 * - The owner feeds every segment of the 4-tuple to `input()` and puts every segment that
 *   `output` hands back on the wire. Opening is `connect()` (active: SYN_SENT) or
 *   `acceptSyn(syn)` (passive: answers a SYN with a SYN-ACK); there is no LISTEN state, the
 *   owner decides per SYN. `onRelease` tells the owner the connection is gone (after TIME_WAIT,
 *   a reset, an abort or a timeout) and must leave its demultiplexing table.
 * - The application writes with `write()` (false: the send buffer is above `sndBufBytes`, stop
 *   until `onDrain`), half-closes with `end()` (FIN after the queued data) and kills with
 *   `abort()` (RST). It receives with `onData`; calling `pauseReceive()` makes further data
 *   wait in a receive buffer of at most `rcvBufBytes`, which shrinks the window advertised to
 *   the peer down to zero; `resumeReceive()` delivers it and reopens the window. `onEnd` is the
 *   peer's FIN (after all its data), `onClose` the end of the connection, called once.
 * - Nothing is buffered without bound: the send buffer is bounded by the caller obeying
 *   `write()`'s result, the receive side by the advertised window.
 *
 * What it implements: MSS option (ours 1460), 16-bit windows without scaling (so at most
 * 65535 bytes in flight), receiver and sender silly-window avoidance, out-of-order segments
 * kept within the window, RTO per RFC 6298 with exponential backoff and Karn's rule,
 * go-back-N on timeout, Reno-style fast retransmit/recovery on 3 duplicate ACKs, slow start
 * and congestion avoidance, zero-window probes, half-close in both directions, challenge ACKs
 * for in-window RST/SYN (RFC 5961), a short TIME_WAIT. Not implemented: window scaling, SACK,
 * timestamps, urgent data (URG is ignored), simultaneous open beyond the basic SYN_RECEIVED path.
 *
 * Pure TypeScript with injected timers: no Node.js modules, so tests drive it with a fake clock.
 */
import {
  resetFor,
  segLength,
  seqAdd,
  seqDiff,
  seqGe,
  seqGt,
  seqLe,
  seqLt,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  type TcpSegment,
} from './usernet_tcp_wire.ts';
import { RtoEstimator, SendBuffer } from './usernet_tcp_buffers.ts';

export type TcpState =
  | 'CLOSED'
  | 'SYN_SENT'
  | 'SYN_RECEIVED'
  | 'ESTABLISHED'
  | 'FIN_WAIT_1'
  | 'FIN_WAIT_2'
  | 'CLOSE_WAIT'
  | 'CLOSING'
  | 'LAST_ACK'
  | 'TIME_WAIT';

export type TcpCloseReason = 'closed' | 'reset' | 'timeout' | 'aborted';

/** Timers, injected so that tests can run the state machine on a fake clock. */
export interface TcpTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Runs `fn` once the current batch of input is processed (Node: `setImmediate`). */
  defer(fn: () => void): void;
}

export interface TcpHandlers {
  onConnected(): void;
  onData(data: Uint8Array): void;
  onEnd(): void;
  onDrain(): void;
  onClose(reason: TcpCloseReason): void;
}

/** Counters; one object may be shared by many connections. */
export interface TcpStats {
  segsIn: number;
  segsOut: number;
  bytesIn: number;
  bytesOut: number;
  retransmits: number;
  fastRetransmits: number;
  timeouts: number;
  outOfOrder: number;
  zeroWindowsAdvertised: number;
  windowProbes: number;
  resetsIn: number;
  resetsOut: number;
}

export function newTcpStats(): TcpStats {
  return {
    segsIn: 0,
    segsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    retransmits: 0,
    fastRetransmits: 0,
    timeouts: 0,
    outOfOrder: 0,
    zeroWindowsAdvertised: 0,
    windowProbes: 0,
    resetsIn: 0,
    resetsOut: 0,
  };
}

export interface TcpConnOptions {
  localIp: number;
  localPort: number;
  remoteIp: number;
  remotePort: number;
  output: (seg: TcpSegment) => void;
  timers: TcpTimers;
  /** Initial send sequence number (random by default). */
  iss?: number;
  /** Our MSS (default 1460: a 1500-byte MTU). */
  mss?: number;
  /** Receive buffer and largest window, at most 65535 (default 65535). */
  rcvBufBytes?: number;
  /** Send buffer high-water mark (default 256 KiB). */
  sndBufBytes?: number;
  timeWaitMs?: number;
  /** Retransmissions of one segment before the connection is dropped (default 8). */
  maxRetries?: number;
  stats?: TcpStats;
  onRelease?: (conn: TcpConn) => void;
}

const DEFAULT_PEER_MSS = 536;
const MAX_OOO_SEGMENTS = 64;
const EMPTY = new Uint8Array(0);

const NO_HANDLERS: TcpHandlers = {
  onConnected() {},
  onData() {},
  onEnd() {},
  onDrain() {},
  onClose() {},
};

export class TcpConn {
  state: TcpState = 'CLOSED';
  handlers: TcpHandlers = NO_HANDLERS;
  readonly localIp: number;
  readonly localPort: number;
  readonly remoteIp: number;
  readonly remotePort: number;
  readonly stats: TcpStats;

  private readonly opts: TcpConnOptions;
  private readonly timers: TcpTimers;
  private readonly ourMss: number;
  private readonly rcvCap: number;
  private readonly sndCap: number;

  // Send sequence space (RFC 9293 §3.3.1). sndMax: the highest sequence sent (sndNxt rewinds on timeout).
  private iss: number;
  private sndUna: number;
  private sndNxt: number;
  private sndMax: number;
  private sndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  private peerMss = DEFAULT_PEER_MSS;
  private cwnd = 0;
  private ssthresh = 0x7fffffff;
  private dupAcks = 0;
  // The send buffer: chunks holding the bytes from sequence sndBufSeq on (sent or not).
  private readonly sndBuf = new SendBuffer();
  private sndBufSeq: number;
  private wantDrain = false;
  private finQueued = false;
  private finSeq = 0;

  // Retransmission (RFC 6298).
  private readonly rtt = new RtoEstimator();
  private retries = 0;
  private rttSeq: number | undefined;
  private rttStart = 0;
  private rtxTimer: unknown;
  private rtxMode: 'none' | 'rtx' | 'persist' = 'none';
  private twTimer: unknown;

  // Receive sequence space. rcvAdvEdge: the right edge of the window last advertised.
  private irs = 0;
  private rcvNxt = 0;
  private rcvAdvEdge = 0;
  private rcvQueue: Uint8Array[] = [];
  private rcvQueued = 0;
  private rcvPaused = false;
  private rcvFinPending = false;
  private ooo: Array<{ seq: number; data: Uint8Array }> = [];
  private ackNeeded = false;
  private flushScheduled = false;

  constructor(opts: TcpConnOptions) {
    this.opts = opts;
    this.timers = opts.timers;
    this.localIp = opts.localIp;
    this.localPort = opts.localPort;
    this.remoteIp = opts.remoteIp;
    this.remotePort = opts.remotePort;
    this.stats = opts.stats ?? newTcpStats();
    this.ourMss = opts.mss ?? 1460;
    this.rcvCap = Math.min(opts.rcvBufBytes ?? 65535, 65535);
    this.sndCap = opts.sndBufBytes ?? 256 * 1024;
    this.iss = (opts.iss ?? Math.floor(Math.random() * 0x100000000)) >>> 0;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndMax = this.iss;
    this.sndBufSeq = seqAdd(this.iss, 1);
  }

  // -------------------------------------------------------------------------------------------
  // Application side

  /** Active open: sends a SYN. */
  connect(): void {
    if (this.state !== 'CLOSED') throw new Error('TcpConn.connect on a used connection');
    this.state = 'SYN_SENT';
    this.sendSyn();
  }

  /** Passive open: answers the peer's `syn` with a SYN-ACK. */
  acceptSyn(syn: TcpSegment): void {
    if (this.state !== 'CLOSED') throw new Error('TcpConn.acceptSyn on a used connection');
    this.irs = syn.seq;
    this.rcvNxt = seqAdd(syn.seq, 1);
    this.rcvAdvEdge = this.rcvNxt;
    this.peerMss = syn.mss ?? DEFAULT_PEER_MSS;
    this.sndWnd = syn.window;
    this.sndWl1 = syn.seq;
    this.state = 'SYN_RECEIVED';
    this.sendSyn();
  }

  /** Queues `data` (kept by reference: do not modify it). False: stop writing until `onDrain`. */
  write(data: Uint8Array): boolean {
    if (this.finQueued || this.state === 'CLOSED') return false;
    if (data.length > 0) {
      this.sndBuf.push(data);
      this.output();
    }
    const ok = this.sndBuf.length < this.sndCap;
    if (!ok) this.wantDrain = true;
    return ok;
  }

  /** Half-close: a FIN follows the queued data. */
  end(): void {
    if (this.finQueued || this.state === 'CLOSED') return;
    this.finQueued = true;
    this.finSeq = seqAdd(this.sndBufSeq, this.sndBuf.length);
    this.output();
  }

  /** Resets the connection (RST to the peer) and releases it. */
  abort(): void {
    this.reset('aborted');
  }

  private reset(reason: TcpCloseReason): void {
    if (this.isClosed()) return;
    if (this.state !== 'SYN_SENT' && this.state !== 'TIME_WAIT') {
      this.emit({ seq: this.sndNxt, ack: this.rcvNxt, flags: TCP_RST | TCP_ACK, data: EMPTY });
      this.stats.resetsOut++;
    }
    this.terminate(reason);
  }

  pauseReceive(): void {
    this.rcvPaused = true;
  }

  resumeReceive(): void {
    if (!this.rcvPaused) return;
    this.rcvPaused = false;
    while (!this.rcvPaused && this.rcvQueue.length > 0) {
      const d = this.rcvQueue.shift()!;
      this.rcvQueued -= d.length;
      this.handlers.onData(d);
      if (this.isClosed()) return;
    }
    if (this.rcvQueue.length === 0 && this.rcvFinPending) {
      this.rcvFinPending = false;
      this.handlers.onEnd();
      if (this.isClosed()) return;
    }
    // Tell the peer as soon as the window has reopened by a useful amount.
    if (this.isSynchronized() && seqDiff(this.rcvEdgeNow(), this.rcvAdvEdge) >= this.windowStep())
      this.sendAck();
  }

  /** Bytes queued for sending and not yet acknowledged. */
  get bufferedBytes(): number {
    return this.sndBuf.length;
  }

  /** The retransmission timeout now, in milliseconds. */
  get rtoMs(): number {
    return this.rtt.rtoMs;
  }

  // -------------------------------------------------------------------------------------------
  // Segment arrives (RFC 9293 §3.10.7)

  input(seg: TcpSegment): void {
    this.stats.segsIn++;
    if (seg.flags & TCP_RST) this.stats.resetsIn++;
    if (this.isClosed()) return;
    if (this.state === 'SYN_SENT') {
      this.inputSynSent(seg);
      return;
    }
    if (
      this.state === 'SYN_RECEIVED' &&
      seg.flags & TCP_SYN &&
      !(seg.flags & TCP_ACK) &&
      seg.seq === this.irs
    ) {
      this.sendSyn(); // our SYN-ACK was lost
      return;
    }
    if (!this.acceptable(seg)) {
      if (!(seg.flags & TCP_RST)) this.sendAck();
      return;
    }
    if (seg.flags & TCP_RST) {
      if (seg.seq === this.rcvNxt) this.terminate('reset');
      else this.sendAck(); // challenge ACK (RFC 5961 §3.2)
      return;
    }
    if (seg.flags & TCP_SYN) {
      this.sendAck(); // challenge ACK (RFC 5961 §4.2)
      return;
    }
    if (!(seg.flags & TCP_ACK)) return;
    if (this.state === 'SYN_RECEIVED') {
      if (!seqGt(seg.ack, this.sndUna) || seqGt(seg.ack, this.sndMax)) {
        const rst = resetFor(seg);
        if (rst) this.emitRaw(rst);
        return;
      }
      this.sndWnd = seg.window;
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      this.becomeEstablished();
      if (this.isClosed()) return;
    }
    if (!this.processAck(seg)) return;
    let finInOrder = false;
    if (this.state === 'ESTABLISHED' || this.state === 'FIN_WAIT_1' || this.state === 'FIN_WAIT_2') {
      finInOrder = this.processData(seg);
      if (this.isClosed()) return;
    }
    if (finInOrder) {
      this.rcvNxt = seqAdd(this.rcvNxt, 1);
      this.rcvAdvEdge = seqGt(this.rcvNxt, this.rcvAdvEdge) ? this.rcvNxt : this.rcvAdvEdge;
      if (this.state === 'ESTABLISHED') this.state = 'CLOSE_WAIT';
      else if (this.state === 'FIN_WAIT_1') this.state = 'CLOSING';
      else if (this.state === 'FIN_WAIT_2') this.enterTimeWait();
      this.sendAck();
      if (this.rcvQueue.length > 0 || this.rcvPaused) this.rcvFinPending = true;
      else {
        this.handlers.onEnd();
        if (this.isClosed()) return;
      }
    }
    this.output();
  }

  private inputSynSent(seg: TcpSegment): void {
    const hasAck = (seg.flags & TCP_ACK) !== 0;
    if (hasAck && (seqLe(seg.ack, this.iss) || seqGt(seg.ack, this.sndMax))) {
      const rst = resetFor(seg);
      if (rst) this.emitRaw(rst);
      return;
    }
    if (seg.flags & TCP_RST) {
      if (hasAck) this.terminate('reset'); // connection refused
      return;
    }
    if (!(seg.flags & TCP_SYN)) return;
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.rcvAdvEdge = this.rcvNxt;
    this.peerMss = seg.mss ?? DEFAULT_PEER_MSS;
    if (!hasAck) {
      this.state = 'SYN_RECEIVED'; // simultaneous open
      this.sendSyn();
      return;
    }
    this.ackAdvanced(seg.ack);
    this.sndWnd = seg.window;
    this.sndWl1 = seg.seq;
    this.sndWl2 = seg.ack;
    this.becomeEstablished();
    if (this.isClosed()) return;
    this.sendAck();
    this.output();
  }

  private becomeEstablished(): void {
    this.state = 'ESTABLISHED';
    this.cwnd = 10 * this.sendMss();
    this.handlers.onConnected();
  }

  private acceptable(seg: TcpSegment): boolean {
    const len = segLength(seg);
    const wnd = Math.max(0, seqDiff(this.rcvAdvEdge, this.rcvNxt));
    const inWindow = (s: number) => seqLe(this.rcvNxt, s) && seqLt(s, seqAdd(this.rcvNxt, wnd));
    if (len === 0) return wnd === 0 ? seg.seq === this.rcvNxt : inWindow(seg.seq);
    if (wnd === 0) return false;
    return inWindow(seg.seq) || inWindow(seqAdd(seg.seq, len - 1));
  }

  /** The ACK field; false when the segment must not be processed further. */
  private processAck(seg: TcpSegment): boolean {
    const ack = seg.ack;
    if (seqGt(ack, this.sndMax)) {
      this.sendAck(); // acknowledges something we never sent
      return false;
    }
    const flight = seqDiff(this.sndMax, this.sndUna);
    if (seqGt(ack, this.sndUna)) {
      this.ackAdvanced(ack);
      if (this.isClosed()) return false;
    } else if (
      ack === this.sndUna &&
      seg.data.length === 0 &&
      !(seg.flags & (TCP_FIN | TCP_SYN)) &&
      seg.window === this.sndWnd &&
      flight > 0
    ) {
      this.dupAcks++;
      if (this.dupAcks === 3) {
        this.ssthresh = Math.max(flight >> 1, 2 * this.sendMss());
        this.cwnd = this.ssthresh + 3 * this.sendMss();
        this.stats.fastRetransmits++;
        this.retransmitFirst();
      } else if (this.dupAcks > 3) {
        this.cwnd += this.sendMss(); // each duplicate is a segment that left the network
      }
    }
    if (seqLt(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq && seqLe(this.sndWl2, ack))) {
      this.sndWnd = seg.window;
      this.sndWl1 = seg.seq;
      this.sndWl2 = ack;
      if (seg.window > 0 && this.rtxMode === 'persist') this.stopRtxTimer();
    }
    // A peer answering with a zero window is alive: probing it is not a failure.
    if (seg.window === 0) this.retries = 0;
    if (this.finQueued && this.sndUna === seqAdd(this.finSeq, 1)) {
      if (this.state === 'FIN_WAIT_1') this.state = 'FIN_WAIT_2';
      else if (this.state === 'CLOSING') this.enterTimeWait();
      else if (this.state === 'LAST_ACK') {
        this.terminate('closed');
        return false;
      }
    }
    return true;
  }

  private ackAdvanced(ack: number): void {
    const acked = seqDiff(ack, this.sndUna);
    this.sndUna = ack;
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
    const dataAcked = Math.min(seqDiff(ack, this.sndBufSeq), this.sndBuf.length);
    if (dataAcked > 0) {
      this.sndBuf.drop(dataAcked);
      this.sndBufSeq = seqAdd(this.sndBufSeq, dataAcked);
    }
    if (this.rttSeq !== undefined && seqGe(ack, this.rttSeq)) {
      this.rtt.sample(this.timers.now() - this.rttStart);
      this.rttSeq = undefined;
    }
    this.retries = 0;
    const mss = this.sendMss();
    if (this.dupAcks >= 3)
      this.cwnd = this.ssthresh; // leave fast recovery
    else if (this.cwnd < this.ssthresh) this.cwnd += Math.min(acked, mss);
    else this.cwnd += Math.max(1, Math.floor((mss * mss) / this.cwnd));
    this.cwnd = Math.min(this.cwnd, 1 << 20);
    this.dupAcks = 0;
    if (this.sndUna === this.sndMax) this.stopRtxTimer();
    else this.armRtxTimer();
    if (this.wantDrain && this.sndBuf.length <= this.sndCap >> 1) {
      this.wantDrain = false;
      this.handlers.onDrain();
    }
  }

  /** The text of a segment; returns whether its FIN is now in order. */
  private processData(seg: TcpSegment): boolean {
    let seq = seg.seq;
    let data = seg.data;
    let fin = (seg.flags & TCP_FIN) !== 0;
    const skip = seqDiff(this.rcvNxt, seq);
    if (skip > 0) {
      if (skip > data.length) return false; // all old, FIN included
      data = data.subarray(skip);
      seq = this.rcvNxt;
    }
    const room = Math.max(0, seqDiff(this.rcvAdvEdge, seq));
    if (data.length > room) {
      data = data.subarray(0, room);
      fin = false;
    }
    if (seq !== this.rcvNxt) {
      if (data.length === 0 && !fin) return false; // a bare ACK sent past a hole
      // Out of order: keep it for later and say at once what we miss (a duplicate ACK).
      if (data.length > 0) this.storeOutOfOrder(seq, data);
      this.stats.outOfOrder++;
      this.sendAck();
      return false;
    }
    if (data.length > 0) {
      this.rcvNxt = seqAdd(this.rcvNxt, data.length);
      this.stats.bytesIn += data.length;
      this.deliver(data.slice());
      if (this.isClosed()) return false;
      if (this.ooo.length > 0) this.drainOutOfOrder();
      this.scheduleAck();
    }
    return fin && this.ooo.length === 0;
  }

  private storeOutOfOrder(seq: number, data: Uint8Array): void {
    if (this.ooo.some((e) => e.seq === seq && e.data.length >= data.length)) return;
    if (this.ooo.length >= MAX_OOO_SEGMENTS) return;
    this.ooo.push({ seq, data: data.slice() });
    this.ooo.sort((a, b) => seqDiff(a.seq, b.seq));
  }

  private drainOutOfOrder(): void {
    while (this.ooo.length > 0) {
      const e = this.ooo[0]!;
      if (seqGt(e.seq, this.rcvNxt)) break;
      this.ooo.shift();
      const cut = seqDiff(this.rcvNxt, e.seq);
      if (cut >= e.data.length) continue;
      const d = e.data.subarray(cut);
      this.rcvNxt = seqAdd(this.rcvNxt, d.length);
      this.stats.bytesIn += d.length;
      this.deliver(d);
      if (this.isClosed()) return;
    }
  }

  private deliver(d: Uint8Array): void {
    if (this.rcvPaused || this.rcvQueue.length > 0) {
      this.rcvQueue.push(d);
      this.rcvQueued += d.length;
    } else {
      this.handlers.onData(d);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Sending

  /** A method, not a comparison, because handlers called in between may close the connection. */
  private isClosed(): boolean {
    return this.state === 'CLOSED';
  }

  private isSynchronized(): boolean {
    return this.state !== 'CLOSED' && this.state !== 'SYN_SENT' && this.state !== 'SYN_RECEIVED';
  }

  private sendMss(): number {
    return Math.max(64, Math.min(this.peerMss, this.ourMss));
  }

  /** Sends what the windows allow; owed bare ACKs go out from the deferred flush. */
  private output(): void {
    if (!this.isSynchronized()) return;
    const mss = this.sendMss();
    for (;;) {
      const dataInFlight = Math.max(0, Math.min(seqDiff(this.sndNxt, this.sndBufSeq), this.sndBuf.length));
      const unsent = this.sndBuf.length - dataInFlight;
      const flight = seqDiff(this.sndNxt, this.sndUna);
      const room = Math.min(this.sndWnd, this.cwnd) - flight;
      if (unsent > 0) {
        if (room <= 0) break;
        const len = Math.min(unsent, mss, room);
        // Sender-side silly window avoidance: no runt segments while others are in flight.
        if (len < mss && len < unsent && flight > 0) break;
        this.sendData(dataInFlight, len);
        continue;
      }
      if (this.finQueued && seqLe(this.sndNxt, this.finSeq)) {
        this.sendFin();
      }
      break;
    }
    const unsentNow =
      this.sndBuf.length - Math.max(0, Math.min(seqDiff(this.sndNxt, this.sndBufSeq), this.sndBuf.length));
    if (this.sndWnd === 0 && unsentNow > 0 && this.sndNxt === this.sndUna && this.rtxMode === 'none') {
      this.armRtxTimer('persist');
    }
  }

  /** Sends `len` buffered bytes from buffer offset `offset`. */
  private sendData(offset: number, len: number): void {
    const seq = seqAdd(this.sndBufSeq, offset);
    const end = seqAdd(seq, len);
    const last = offset + len === this.sndBuf.length;
    if (seqLt(seq, this.sndMax)) {
      this.stats.retransmits++;
      this.rttSeq = undefined; // Karn: never time a retransmitted segment
    } else {
      this.stats.bytesOut += len;
      if (this.rttSeq === undefined) {
        this.rttSeq = end;
        this.rttStart = this.timers.now();
      }
    }
    this.emit({
      seq,
      ack: this.rcvNxt,
      flags: TCP_ACK | (last ? TCP_PSH : 0),
      data: this.sndBuf.copyOut(offset, len),
    });
    if (seqGt(end, this.sndNxt)) this.sndNxt = end;
    if (seqGt(end, this.sndMax)) this.sndMax = end;
    if (this.rtxMode !== 'rtx') this.armRtxTimer();
  }

  private sendFin(): void {
    if (seqLt(this.finSeq, this.sndMax)) this.stats.retransmits++;
    this.emit({ seq: this.finSeq, ack: this.rcvNxt, flags: TCP_FIN | TCP_ACK, data: EMPTY });
    this.sndNxt = seqAdd(this.finSeq, 1);
    if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
    if (this.state === 'ESTABLISHED') this.state = 'FIN_WAIT_1';
    else if (this.state === 'CLOSE_WAIT') this.state = 'LAST_ACK';
    if (this.rtxMode !== 'rtx') this.armRtxTimer();
  }

  private sendSyn(): void {
    const synAck = this.state === 'SYN_RECEIVED';
    if (this.sndMax !== this.iss) {
      this.stats.retransmits++;
      this.rttSeq = undefined;
    } else {
      this.rttSeq = seqAdd(this.iss, 1);
      this.rttStart = this.timers.now();
    }
    this.sndNxt = seqAdd(this.iss, 1);
    this.sndMax = this.sndNxt;
    this.emit({
      seq: this.iss,
      ack: synAck ? this.rcvNxt : 0,
      flags: synAck ? TCP_SYN | TCP_ACK : TCP_SYN,
      mss: this.ourMss,
      data: EMPTY,
    });
    this.armRtxTimer();
  }

  private sendAck(): void {
    if (this.state === 'CLOSED' || this.state === 'SYN_SENT') return;
    this.emit({ seq: this.sndNxt, ack: this.rcvNxt, flags: TCP_ACK, data: EMPTY });
  }

  private scheduleAck(): void {
    this.ackNeeded = true;
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.timers.defer(() => {
      this.flushScheduled = false;
      if (this.ackNeeded) this.sendAck();
    });
  }

  /** The right edge we could offer now: what the receive buffer can take. */
  private rcvEdgeNow(): number {
    return seqAdd(this.rcvNxt, Math.max(0, this.rcvCap - this.rcvQueued));
  }

  private windowStep(): number {
    return Math.min(this.rcvCap >> 1, this.ourMss);
  }

  /** The window to advertise; moves the right edge only in useful steps (receiver SWS avoidance). */
  private advertise(): number {
    if (this.state === 'SYN_SENT') return this.rcvCap;
    const edge = this.rcvEdgeNow();
    if (seqDiff(edge, this.rcvAdvEdge) >= this.windowStep() || seqLt(this.rcvAdvEdge, this.rcvNxt)) {
      this.rcvAdvEdge = edge;
    }
    const wnd = Math.max(0, seqDiff(this.rcvAdvEdge, this.rcvNxt));
    if (wnd === 0) this.stats.zeroWindowsAdvertised++;
    return Math.min(wnd, 65535);
  }

  private emit(s: { seq: number; ack: number; flags: number; data: Uint8Array; mss?: number }): void {
    const seg: TcpSegment = {
      srcPort: this.localPort,
      dstPort: this.remotePort,
      seq: s.seq,
      ack: s.ack,
      flags: s.flags,
      window: this.advertise(),
      data: s.data,
    };
    if (s.mss !== undefined) seg.mss = s.mss;
    if (s.flags & TCP_ACK) this.ackNeeded = false;
    this.emitRaw(seg);
  }

  private emitRaw(seg: TcpSegment): void {
    this.stats.segsOut++;
    this.opts.output(seg);
  }

  // -------------------------------------------------------------------------------------------
  // Timers

  private armRtxTimer(mode: 'rtx' | 'persist' = 'rtx'): void {
    this.stopRtxTimer();
    this.rtxMode = mode;
    this.rtxTimer = this.timers.setTimeout(() => this.onRtxTimer(), this.rtt.rtoMs);
  }

  private stopRtxTimer(): void {
    if (this.rtxMode !== 'none') this.timers.clearTimeout(this.rtxTimer);
    this.rtxMode = 'none';
    this.rtxTimer = undefined;
  }

  private onRtxTimer(): void {
    const mode = this.rtxMode;
    this.rtxMode = 'none';
    this.rtxTimer = undefined;
    if (this.isClosed()) return;
    if (mode === 'persist') {
      // Zero-window probe: one byte beyond the window; its retransmission backs off as usual.
      if (this.sndWnd === 0 && this.sndNxt === this.sndUna && this.sndBuf.length > 0) {
        this.stats.windowProbes++;
        this.sendData(0, 1);
      } else {
        this.output();
      }
      return;
    }
    if (this.sndUna === this.sndMax) return;
    this.retries++;
    this.stats.timeouts++;
    if (this.retries > (this.opts.maxRetries ?? 8)) {
      this.reset('timeout');
      return;
    }
    this.rtt.backoff();
    if (this.state === 'SYN_SENT' || this.state === 'SYN_RECEIVED') {
      this.sendSyn();
      return;
    }
    const mss = this.sendMss();
    this.ssthresh = Math.max(seqDiff(this.sndMax, this.sndUna) >> 1, 2 * mss);
    this.cwnd = mss;
    this.dupAcks = 0;
    this.rttSeq = undefined;
    this.sndNxt = this.sndUna; // go back N
    this.retransmitFirst();
  }

  /** Resends the first unacknowledged segment, whatever the windows say. */
  private retransmitFirst(): void {
    const offset = seqDiff(this.sndUna, this.sndBufSeq);
    if (offset >= 0 && offset < this.sndBuf.length) {
      this.sendData(offset, Math.min(this.sendMss(), this.sndBuf.length - offset));
    } else if (this.finQueued && this.sndUna === this.finSeq) {
      this.sendFin();
    }
    this.armRtxTimer();
  }

  private enterTimeWait(): void {
    this.state = 'TIME_WAIT';
    this.stopRtxTimer();
    this.twTimer = this.timers.setTimeout(() => this.terminate('closed'), this.opts.timeWaitMs ?? 1000);
  }

  private terminate(reason: TcpCloseReason): void {
    if (this.isClosed()) return;
    this.state = 'CLOSED';
    this.stopRtxTimer();
    if (this.twTimer !== undefined) this.timers.clearTimeout(this.twTimer);
    this.twTimer = undefined;
    this.handlers.onClose(reason);
    this.opts.onRelease?.(this);
  }
}
