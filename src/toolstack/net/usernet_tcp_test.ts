/**
 * The TCP state machine on a fake clock: two TcpConns talk through a wire that can drop, hold
 * back (reorder) or inspect segments; every segment goes through buildTcp/parseTcp, so the
 * checksums and options are exercised too.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { TcpConn, type TcpCloseReason, type TcpTimers } from './usernet_tcp.ts';
import {
  buildTcp,
  parseTcp,
  resetFor,
  seqAdd,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
  type TcpSegment,
} from './usernet_tcp_wire.ts';

const IP_A = 0x0a000202;
const IP_B = 0x0a00020f;

class FakeTimers implements TcpTimers {
  t = 0;
  private nextId = 1;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private deferred: Array<() => void> = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  defer(fn: () => void): void {
    this.deferred.push(fn);
  }
  flush(): void {
    while (this.deferred.length > 0) this.deferred.shift()!();
  }
  pending(): number {
    return this.timers.size;
  }
  /** Runs the earliest timer due within `ms`; false if none. */
  fireNext(limitMs: number): boolean {
    let best: [number, { at: number; fn: () => void }] | undefined;
    for (const e of this.timers) if (!best || e[1].at < best[1].at) best = e;
    if (!best || best[1].at > this.t + limitMs) return false;
    this.timers.delete(best[0]);
    this.t = Math.max(this.t, best[1].at);
    best[1].fn();
    this.flush();
    return true;
  }
}

type Verdict = 'pass' | 'drop' | 'hold';

interface Side {
  conn: TcpConn;
  received: Uint8Array[];
  ended: boolean;
  closed: TcpCloseReason | undefined;
  segsSeen: TcpSegment[];
}

/** A connected pair: `a` opens actively, `b` accepts. */
function makePair(opts: { rcvBufBytes?: number; sndBufBytes?: number } = {}) {
  const timers = new FakeTimers();
  const wire: Array<{ to: 'a' | 'b'; seg: TcpSegment }> = [];
  const held: Array<{ to: 'a' | 'b'; seg: TcpSegment }> = [];
  let filter: (to: 'a' | 'b', seg: TcpSegment) => Verdict = () => 'pass';
  const mk = (name: 'a' | 'b', iss: number): Side => {
    const [lip, rip, lport, rport] = name === 'a' ? [IP_A, IP_B, 40000, 80] : [IP_B, IP_A, 80, 40000];
    const side: Side = {
      conn: undefined as unknown as TcpConn,
      received: [],
      ended: false,
      closed: undefined,
      segsSeen: [],
    };
    side.conn = new TcpConn({
      localIp: lip,
      localPort: lport,
      remoteIp: rip,
      remotePort: rport,
      timers,
      iss,
      timeWaitMs: 500,
      ...opts,
      output: (seg) => {
        const wireSeg = parseTcp(lip, rip, buildTcp(lip, rip, seg));
        assert.ok(wireSeg, 'a segment we built fails its own checksum');
        wire.push({ to: name === 'a' ? 'b' : 'a', seg: wireSeg });
      },
    });
    side.conn.handlers = {
      onConnected() {},
      onData: (d) => side.received.push(d),
      onEnd: () => (side.ended = true),
      onDrain() {},
      onClose: (r) => (side.closed = r),
    };
    return side;
  };
  const a = mk('a', 0xfffff000); // close to the wrap, so sequence arithmetic wraps mid-test
  const b = mk('b', 5000);
  const deliver = (to: 'a' | 'b', seg: TcpSegment) => {
    const side = to === 'a' ? a : b;
    side.segsSeen.push(seg);
    if (to === 'b' && b.conn.state === 'CLOSED' && b.closed === undefined && seg.flags & TCP_SYN)
      b.conn.acceptSyn(seg);
    else side.conn.input(seg);
    timers.flush();
  };
  const pump = () => {
    for (let n = 0; wire.length > 0; n++) {
      assert.ok(n < 200_000, 'the wire never goes quiet');
      const item = wire.shift()!;
      const v = filter(item.to, item.seg);
      if (v === 'drop') continue;
      if (v === 'hold') {
        held.push(item);
        continue;
      }
      deliver(item.to, item.seg);
      // Held segments arrive after the one that overtook them.
      while (held.length > 0) {
        const h = held.shift()!;
        deliver(h.to, h.seg);
      }
    }
  };
  /** Pumps and fires timers until nothing is pending within `ms` of virtual time. */
  const run = (ms = 120_000) => {
    const until = timers.t + ms;
    pump();
    while (timers.fireNext(until - timers.t)) pump();
  };
  return {
    a,
    b,
    timers,
    pump,
    run,
    setFilter: (f: typeof filter) => (filter = f),
  };
}

function pattern(n: number, salt: number): Uint8Array {
  const d = new Uint8Array(n);
  let x = salt * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    d[i] = x >>> 24;
  }
  return d;
}

function sha(chunks: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
}

function writeAll(conn: TcpConn, data: Uint8Array, chunk = 64 * 1024, endAfter = false): () => boolean {
  // Writes as the application would: stop on false, continue on drain.
  let off = 0;
  const pumpWrites = (): boolean => {
    while (off < data.length) {
      const ok = conn.write(data.subarray(off, off + chunk));
      off = Math.min(data.length, off + chunk);
      if (!ok) return false;
    }
    if (endAfter) conn.end();
    return true;
  };
  const prev = conn.handlers;
  conn.handlers = { ...prev, onDrain: () => void pumpWrites() };
  pumpWrites();
  return () => off >= data.length;
}

test('handshake, 1 MiB each way, half-close from both sides, TIME_WAIT ends in CLOSED', () => {
  const p = makePair();
  p.a.conn.connect();
  p.pump();
  assert.equal(p.a.conn.state, 'ESTABLISHED');
  assert.equal(p.b.conn.state, 'ESTABLISHED');
  const syn = p.b.segsSeen[0]!;
  assert.equal(syn.flags, TCP_SYN);
  assert.equal(syn.mss, 1460);
  const ab = pattern(1 << 20, 1);
  const ba = pattern(1 << 20, 2);
  const doneA = writeAll(p.a.conn, ab);
  const doneB = writeAll(p.b.conn, ba);
  p.run();
  assert.ok(doneA() && doneB());
  assert.equal(sha(p.b.received), sha([ab]));
  assert.equal(sha(p.a.received), sha([ba]));
  assert.equal(p.a.conn.stats.retransmits, 0);
  // No segment carries more than the MSS.
  assert.ok(p.b.segsSeen.every((s) => s.data.length <= 1460));
  p.a.conn.end();
  p.pump();
  assert.equal(p.a.conn.state, 'FIN_WAIT_2');
  assert.equal(p.b.conn.state, 'CLOSE_WAIT');
  assert.equal(p.b.ended, true);
  // Half-closed: b can still send.
  p.b.conn.write(new TextEncoder().encode('after-fin'));
  p.pump();
  assert.equal(new TextDecoder().decode(p.a.received.at(-1)), 'after-fin');
  p.b.conn.end();
  p.pump();
  assert.equal(p.a.conn.state, 'TIME_WAIT');
  assert.equal(p.b.conn.state, 'CLOSED');
  assert.equal(p.b.closed, 'closed');
  p.run(1000);
  assert.equal(p.a.conn.state, 'CLOSED');
  assert.equal(p.a.closed, 'closed');
  assert.equal(p.timers.pending(), 0);
});

test('lost segments are retransmitted (timeouts and 3 duplicate ACKs) and the stream arrives intact', () => {
  const p = makePair();
  p.a.conn.connect();
  p.pump();
  let n = 0;
  p.setFilter((to, seg) => (to === 'b' && seg.data.length > 0 && ++n % 13 === 0 ? 'drop' : 'pass'));
  const data = pattern(600_000, 3);
  writeAll(p.a.conn, data, 64 * 1024, true);
  p.run();
  assert.equal(sha(p.b.received), sha([data]));
  assert.equal(p.b.ended, true);
  assert.ok(p.a.conn.stats.retransmits > 0, 'nothing was retransmitted');
  assert.ok(p.a.conn.stats.fastRetransmits > 0, 'no fast retransmit on duplicate ACKs');
  assert.ok(p.b.conn.stats.outOfOrder > 0);
});

test('a lost last segment (no duplicate ACKs possible) is resent on timeout with backoff', () => {
  const p = makePair();
  p.a.conn.connect();
  p.pump();
  let dropped = 0;
  p.setFilter((to, seg) => (to === 'b' && seg.data.length > 0 && dropped++ < 3 ? 'drop' : 'pass'));
  const t0 = p.timers.t;
  p.a.conn.write(pattern(100, 4));
  p.run();
  assert.equal(
    p.b.received.reduce((s, d) => s + d.length, 0),
    100,
  );
  assert.equal(p.a.conn.stats.timeouts, 3);
  // Three timeouts with doubling RTOs take longer than three times the first one.
  assert.ok(p.timers.t - t0 >= 3 * 200 + 200, `only ${p.timers.t - t0} ms passed`);
});

test('reordered segments are buffered and delivered in order without a retransmission', () => {
  const p = makePair();
  p.a.conn.connect();
  p.pump();
  let n = 0;
  p.setFilter((to, seg) => (to === 'b' && seg.data.length > 0 && ++n % 5 === 2 ? 'hold' : 'pass'));
  const data = pattern(200_000, 5);
  writeAll(p.a.conn, data);
  p.run();
  assert.equal(sha(p.b.received), sha([data]));
  assert.ok(p.b.conn.stats.outOfOrder > 0);
  assert.equal(p.a.conn.stats.timeouts, 0);
});

test('a paused receiver closes its window to zero; probes keep it alive; resume reopens it', () => {
  const p = makePair({ rcvBufBytes: 16384 });
  p.a.conn.connect();
  p.pump();
  p.b.conn.pauseReceive();
  const data = pattern(100_000, 6);
  writeAll(p.a.conn, data);
  p.run(10_000);
  assert.equal(p.b.received.length, 0);
  assert.ok(p.b.conn.stats.zeroWindowsAdvertised > 0, 'no zero window advertised');
  assert.ok(p.a.conn.stats.windowProbes > 0, 'the sender never probed the zero window');
  assert.ok(p.a.conn.bufferedBytes >= 100_000 - 16384, 'the sender sent past the window');
  assert.notEqual(p.a.conn.state, 'CLOSED', 'probing a live zero window must not time out');
  p.run(60_000);
  assert.equal(p.a.conn.state, 'ESTABLISHED');
  p.b.conn.resumeReceive();
  p.run();
  assert.equal(sha(p.b.received), sha([data]));
});

test('a lost SYN is retransmitted; a RST to a SYN refuses the connection', () => {
  const p = makePair();
  let first = true;
  p.setFilter((to, seg) => {
    if (to === 'b' && seg.flags & TCP_SYN && first) {
      first = false;
      return 'drop';
    }
    return 'pass';
  });
  p.a.conn.connect();
  p.run(5000);
  assert.equal(p.a.conn.state, 'ESTABLISHED');
  assert.equal(p.a.conn.stats.retransmits, 1);

  const q = makePair();
  const refused: TcpSegment[] = [];
  q.setFilter((to, seg) => {
    if (to === 'b') {
      refused.push(resetFor(seg)!);
      return 'drop';
    }
    return 'pass';
  });
  q.a.conn.connect();
  q.pump();
  q.a.conn.input(refused[0]!);
  assert.equal(q.a.conn.state, 'CLOSED');
  assert.equal(q.a.closed, 'reset');
});

test('a peer that stops answering is dropped with a RST after the retries', () => {
  const p = makePair();
  p.a.conn.connect();
  p.pump();
  p.setFilter((to) => (to === 'b' ? 'drop' : 'pass'));
  p.a.conn.write(pattern(10, 7));
  p.run(600_000);
  assert.equal(p.a.closed, 'timeout');
  assert.equal(p.timers.pending(), 0);
});

test('hand-built segments: out-of-window data gets an ACK, an inexact RST a challenge ACK, an exact RST closes', () => {
  const p = makePair();
  p.a.conn.connect();
  p.pump();
  const last = p.a.segsSeen.at(-1)!; // b's SYN-ACK
  const bNxt = seqAdd(last.seq, 1);
  const aNxt = last.ack;
  const base = { srcPort: 80, dstPort: 40000, window: 65535, ack: aNxt };
  const sent: TcpSegment[] = [];
  p.setFilter((to, seg) => {
    if (to === 'b') sent.push(seg);
    return 'drop';
  });
  p.a.conn.input({ ...base, seq: seqAdd(bNxt, 200_000), flags: TCP_ACK, data: new Uint8Array(10) });
  p.pump();
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.ack, bNxt);
  p.a.conn.input({ ...base, seq: seqAdd(bNxt, 100), flags: TCP_RST, data: new Uint8Array(0) });
  p.pump();
  assert.equal(p.a.conn.state, 'ESTABLISHED');
  assert.equal(sent.length, 2);
  assert.equal(sent[1]!.flags, TCP_ACK);
  p.a.conn.input({ ...base, seq: bNxt, flags: TCP_RST, data: new Uint8Array(0) });
  assert.equal(p.a.conn.state, 'CLOSED');
  assert.equal(p.a.closed, 'reset');
});

test('simultaneous close goes through CLOSING to TIME_WAIT on both sides', () => {
  const p = makePair();
  p.a.conn.connect();
  p.pump();
  p.a.conn.end();
  p.b.conn.end();
  const fins = p.b.segsSeen.length;
  p.pump();
  assert.ok(p.b.segsSeen.slice(fins).some((s) => s.flags & TCP_FIN));
  assert.equal(p.a.conn.state, 'TIME_WAIT');
  assert.equal(p.b.conn.state, 'TIME_WAIT');
  assert.ok(p.a.ended && p.b.ended);
  p.run(1000);
  assert.equal(p.a.closed, 'closed');
  assert.equal(p.b.closed, 'closed');
});
