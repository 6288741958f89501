/**
 * virtio-net (virtio 1.2 §5.1): one receiveq (0) and one transmitq (1), no control queue.
 *
 * Offered: VIRTIO_NET_F_MAC (the address in configuration space), VIRTIO_NET_F_STATUS (link
 * state), VIRTIO_NET_F_MTU (1500, so Linux caps its MTU there instead of at 64 KiB) and
 * VIRTIO_NET_F_MRG_RXBUF. No checksum or segmentation offloads: every frame is a plain Ethernet
 * frame of at most 1514 bytes (1518 with an 802.1Q tag), without FCS. With VIRTIO_F_VERSION_1
 * each frame is preceded by a 12-byte `struct virtio_net_hdr`; on receive it is all zero
 * except `num_buffers`.
 *
 * Transmit: on a kick, every chain on transmitq is read (header, then frame), returned with
 * length 0, and its frame handed to `onTransmit` as a fresh array the host may keep. A chain
 * shorter than the header is a driver bug (DEVICE_NEEDS_RESET); a frame that is too long, too
 * short, or asks for GSO/checksum offload is dropped and counted.
 *
 * Receive: `receive(frame)` copies the frame into the next posted buffer at once and raises
 * the interrupt. Without MRG_RXBUF a frame must fit one chain (Linux posts 1530 bytes) or it is
 * dropped and the chain returned empty; with MRG_RXBUF a frame may span several chains, whose
 * number goes into `num_buffers`, and chains popped for a frame that still did not fit are held
 * for the next one. If the guest has no buffer posted the frame waits in a backlog of at most
 * `backlogFrames` that is flushed when the guest posts buffers; past that, and while the
 * driver is not running or the link is down, frames are dropped and `receive` returns false.
 * Nothing is queued without bound. The default backlog (512 frames) is a TCP window's worth:
 * a hosted device gets its frames in batches between the guest's time slices (see
 * toolstack/net/frame_batch.ts), more than the receive ring holds when the guest falls behind.
 *
 * Re-entrancy: `onTransmit` may call `receive` on this or any other device (a switch delivering
 * a reply at once); the two queues are independent and no state is shared between the paths.
 * Save/restore keeps the MAC, the link state, the backlog and the held chains.
 */
import { UserError } from '../../common/errors.ts';
import {
  readConfigBytes,
  stateBool,
  stateBytes,
  stateInt,
  stateRecord,
  type VirtioContext,
  type VirtioDeviceModel,
} from './device.ts';
import { DescChain, type Virtqueue } from './queue.ts';

export const VIRTIO_ID_NET = 1;

/** Feature bits (virtio 1.2 §5.1.3). */
export const VIRTIO_NET_F_MTU = 3;
export const VIRTIO_NET_F_MAC = 5;
export const VIRTIO_NET_F_MRG_RXBUF = 15;
export const VIRTIO_NET_F_STATUS = 16;

/** `status` bits in configuration space. */
export const VIRTIO_NET_S_LINK_UP = 1;

export const VIRTIO_NET_RECEIVEQ = 0;
export const VIRTIO_NET_TRANSMITQ = 1;

/** sizeof(struct virtio_net_hdr) with VIRTIO_F_VERSION_1: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers. */
export const VIRTIO_NET_HDR_BYTES = 12;
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_GSO_NONE = 0;
/** Offset of `num_buffers` in the header. */
const NUM_BUFFERS_OFFSET = 10;

export const VIRTIO_NET_MTU = 1500;
const ETH_HLEN = 14;
const VLAN_HLEN = 4;
const ETH_P_8021Q = 0x8100;
/** Largest frame the device carries either way: a tagged frame at the MTU. */
export const VIRTIO_NET_MAX_FRAME_BYTES = ETH_HLEN + VLAN_HLEN + VIRTIO_NET_MTU;

const QUEUE_SIZE = 256;
const DEFAULT_BACKLOG_FRAMES = 512;
/** mac[6], status le16, max_virtqueue_pairs le16, mtu le16 (speed and duplex are not offered). */
const CONFIG_BYTES = 12;

/** Host-side statistics; rx is host → guest, tx guest → host. */
export type VirtioNetCounters = {
  rxFrames: number;
  rxBytes: number;
  rxDropped: number;
  txFrames: number;
  txBytes: number;
  txDropped: number;
};

/** A receive chain popped from the ring and kept for a later frame: its writable segments. */
type HeldChainState = { head: number; segs: [number, number][] };

export type VirtioNetState = {
  version: 1;
  mac: number[];
  linkUp: boolean;
  backlog: number[][];
  held: HeldChainState[];
};

/** Outcome of putting one frame into the ring. */
const DELIVERED = 0;
const NO_BUFFER = 1;
const BROKEN = 2;
/** A buffer was used up but the frame did not fit it. */
const DROPPED = 3;
type Delivery = typeof DELIVERED | typeof NO_BUFFER | typeof BROKEN | typeof DROPPED;

/** Longest frame allowed for `frame`: 4 bytes more when it carries an 802.1Q tag. */
function maxFrameBytes(frame: Uint8Array): number {
  const tagged =
    frame.length >= ETH_HLEN && ((frame[12] as number) << 8) + (frame[13] as number) === ETH_P_8021Q;
  return tagged ? VIRTIO_NET_MAX_FRAME_BYTES : VIRTIO_NET_MAX_FRAME_BYTES - VLAN_HLEN;
}

function macText(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}

export class VirtioNet implements VirtioDeviceModel {
  readonly deviceId = VIRTIO_ID_NET;
  readonly queueSizes: readonly number[] = [QUEUE_SIZE, QUEUE_SIZE];
  readonly featuresLo =
    (1 << VIRTIO_NET_F_MTU) |
    (1 << VIRTIO_NET_F_MAC) |
    (1 << VIRTIO_NET_F_MRG_RXBUF) |
    (1 << VIRTIO_NET_F_STATUS);
  readonly featuresHi = 0;
  readonly counters: VirtioNetCounters = {
    rxFrames: 0,
    rxBytes: 0,
    rxDropped: 0,
    txFrames: 0,
    txBytes: 0,
    txDropped: 0,
  };
  readonly backlogFrames: number;
  private readonly onTransmit: (frame: Uint8Array) => void;
  private readonly config = new Uint8Array(CONFIG_BYTES);
  private readonly txHdr = new Uint8Array(VIRTIO_NET_HDR_BYTES);
  private readonly rxHdr = new Uint8Array(VIRTIO_NET_HDR_BYTES);
  private linkUp = true;
  private backlog: Uint8Array[] = [];
  private held: DescChain[] = [];
  private ctx: VirtioContext | null = null;
  private mergeable = false;

  constructor(opts: { mac: Uint8Array; onTransmit(frame: Uint8Array): void; backlogFrames?: number }) {
    const mac = opts.mac;
    if (mac.length !== 6) {
      throw new UserError(`virtio-net MAC has ${mac.length} bytes; give it 6, such as 00:16:3e:12:34:56`);
    }
    if (((mac[0] as number) & 1) !== 0 || mac.every((b) => b === 0)) {
      throw new UserError(
        `virtio-net MAC ${macText(mac)} is not a unicast station address; use one such as 00:16:3e:12:34:56`,
      );
    }
    const backlog = opts.backlogFrames ?? DEFAULT_BACKLOG_FRAMES;
    if (!Number.isInteger(backlog) || backlog < 0 || backlog > 4096) {
      throw new UserError(
        `virtio-net backlog of ${backlog} frames is not an integer in 0..4096; pick one there`,
      );
    }
    this.backlogFrames = backlog;
    this.onTransmit = opts.onTransmit;
    this.config.set(mac, 0);
    this.config[8] = 1; // max_virtqueue_pairs: meaningful only with VIRTIO_NET_F_MQ, 1 like QEMU
    this.config[10] = VIRTIO_NET_MTU & 0xff;
    this.config[11] = VIRTIO_NET_MTU >>> 8;
    this.setLinkUp(true);
  }

  /** The station address, as given or restored. */
  get mac(): Uint8Array {
    return this.config.slice(0, 6);
  }

  get isLinkUp(): boolean {
    return this.linkUp;
  }

  /**
   * Sets the link state in configuration space. While it is down, frames in both directions
   * are dropped. An active device raises the configuration-change interrupt, so the guest's
   * driver rereads `status` at once.
   */
  setLinkUp(up: boolean): void {
    this.linkUp = up;
    this.config[6] = up ? VIRTIO_NET_S_LINK_UP : 0;
    this.config[7] = 0;
    if (!up) this.backlog = [];
    this.ctx?.configChanged();
  }

  /** Frames waiting in the backlog for receive buffers. */
  get backlogLength(): number {
    return this.backlog.length;
  }

  /**
   * Host → guest: delivers `frame` into the guest's next receive buffer, or queues it in the
   * bounded backlog. False (and counted in `rxDropped`) if the frame was dropped.
   */
  receive(frame: Uint8Array): boolean {
    const ctx = this.ctx;
    if (ctx === null || !this.linkUp || frame.length < ETH_HLEN || frame.length > maxFrameBytes(frame)) {
      this.counters.rxDropped++;
      return false;
    }
    if (this.backlog.length > 0) this.flush();
    let result: Delivery = NO_BUFFER;
    if (this.backlog.length === 0) result = this.deliver(ctx, frame);
    if (result === NO_BUFFER && this.backlog.length < this.backlogFrames) {
      // The caller may reuse its buffer once we return.
      this.backlog.push(frame.slice());
      return true;
    }
    const q = ctx.queues[VIRTIO_NET_RECEIVEQ];
    if (q !== undefined && q.needsInterrupt()) ctx.interrupt();
    if (result !== DELIVERED) this.counters.rxDropped++;
    return result === DELIVERED;
  }

  readConfig(offset: number, width: 1 | 2 | 4): number {
    return readConfigBytes(this.config, offset, width);
  }

  writeConfig(): void {
    // Configuration space is read-only for the driver in virtio 1.x (the MAC changes only
    // through the control queue, which is not offered).
  }

  activate(ctx: VirtioContext): void {
    this.ctx = ctx;
    this.mergeable = (ctx.negotiatedLo & (1 << VIRTIO_NET_F_MRG_RXBUF)) !== 0;
    // Held chains exist only with MRG_RXBUF; a restored state that says otherwise is ignored.
    if (!this.mergeable) this.held = [];
    this.transmit();
    this.flush();
  }

  notify(index: number): void {
    if (index === VIRTIO_NET_TRANSMITQ) this.transmit();
    else if (index === VIRTIO_NET_RECEIVEQ) this.flush();
  }

  reset(): void {
    this.ctx = null;
    this.mergeable = false;
    this.backlog = [];
    this.held = [];
  }

  saveState(): VirtioNetState {
    return {
      version: 1,
      mac: Array.from(this.config.subarray(0, 6)),
      linkUp: this.linkUp,
      backlog: this.backlog.map((f) => Array.from(f)),
      held: this.held.map((c) => {
        const segs: [number, number][] = [];
        for (let i = 0; i < c.count; i++) segs.push([c.addr[i] ?? 0, c.len[i] ?? 0]);
        return { head: c.head, segs };
      }),
    };
  }

  restoreState(state: unknown): void {
    const kind = 'VirtioNetState';
    const rec = stateRecord(state, kind, 1);
    const mac = stateBytes(rec, kind, 'mac');
    if (mac.length !== 6 || ((mac[0] as number) & 1) !== 0) {
      throw new Error(`${kind}.mac must be 6 bytes of a unicast address`);
    }
    const linkUp = stateBool(rec, kind, 'linkUp');
    const rawBacklog = rec['backlog'];
    if (!Array.isArray(rawBacklog) || rawBacklog.length > this.backlogFrames) {
      throw new Error(`${kind}.backlog must be an array of at most ${this.backlogFrames} frames`);
    }
    const backlog = rawBacklog.map((f, i) => {
      const field = `backlog[${i}]`;
      const frame = stateBytes({ [field]: f }, kind, field);
      if (frame.length < ETH_HLEN || frame.length > maxFrameBytes(frame)) {
        throw new Error(
          `${kind}.${field} must be a frame of ${ETH_HLEN}..${VIRTIO_NET_MAX_FRAME_BYTES} bytes`,
        );
      }
      return frame;
    });
    const rawHeld = rec['held'];
    if (!Array.isArray(rawHeld) || rawHeld.length > QUEUE_SIZE) {
      throw new Error(`${kind}.held must be an array of at most ${QUEUE_SIZE} chains`);
    }
    const held = rawHeld.map((h, i) => restoreHeld(h, `${kind}.held[${i}]`));
    this.reset();
    this.config.set(mac, 0);
    this.setLinkUp(linkUp);
    this.backlog = backlog;
    this.held = held;
  }

  /** Guest → host: every chain on transmitq. */
  private transmit(): void {
    const ctx = this.ctx;
    const q = ctx?.queues[VIRTIO_NET_TRANSMITQ];
    if (ctx === null || q === undefined) return;
    const hdr = this.txHdr;
    for (let chain = q.pop(); chain !== null; chain = q.pop()) {
      if (chain.readableBytes < VIRTIO_NET_HDR_BYTES) {
        ctx.fail('virtio-net: a transmit chain is shorter than its 12-byte virtio_net_hdr');
        break;
      }
      const len = chain.readableBytes - VIRTIO_NET_HDR_BYTES;
      let frame: Uint8Array | null = null;
      // Checked before allocating: the length is the driver's to choose.
      if (len >= ETH_HLEN && len <= VIRTIO_NET_MAX_FRAME_BYTES) {
        frame = new Uint8Array(len);
        if (!chain.readFrom(ctx.mem, 0, hdr) || !chain.readFrom(ctx.mem, VIRTIO_NET_HDR_BYTES, frame)) {
          ctx.fail('virtio-net: a transmit buffer is outside guest memory');
          break;
        }
        // GSO and checksum offload were not offered: such a frame cannot be sent as it is.
        const offload =
          ((hdr[0] as number) & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0 || hdr[1] !== VIRTIO_NET_HDR_GSO_NONE;
        if (offload || len > maxFrameBytes(frame) || !this.linkUp) frame = null;
      }
      if (!q.push(chain.head, 0)) break;
      if (frame === null) {
        this.counters.txDropped++;
        continue;
      }
      this.counters.txFrames++;
      this.counters.txBytes += frame.length;
      this.onTransmit(frame);
      // The host's callback may have reset the device (a reboot racing the switch): stop here.
      if (this.ctx !== ctx) return;
    }
    if (q.needsInterrupt()) ctx.interrupt();
  }

  /** Moves backlog frames into posted buffers while there are both. */
  private flush(): void {
    const ctx = this.ctx;
    const q = ctx?.queues[VIRTIO_NET_RECEIVEQ];
    if (ctx === null || q === undefined) return;
    while (this.backlog.length > 0) {
      const result = this.deliver(ctx, this.backlog[0] as Uint8Array);
      if (result === NO_BUFFER) break;
      this.backlog.shift();
      if (result === DROPPED) this.counters.rxDropped++;
      if (result === BROKEN) {
        this.counters.rxDropped += this.backlog.length + 1;
        this.backlog = [];
      }
    }
    if (q.needsInterrupt()) ctx.interrupt();
  }

  /** Puts one frame into the receive ring. Counts delivered frames; the caller counts the rest. */
  private deliver(ctx: VirtioContext, frame: Uint8Array): Delivery {
    const q = ctx.queues[VIRTIO_NET_RECEIVEQ];
    if (q === undefined) return BROKEN;
    const need = VIRTIO_NET_HDR_BYTES + frame.length;
    if (this.held.length === 0) {
      const chain = q.pop();
      if (chain === null) return q.broken ? BROKEN : NO_BUFFER;
      if (chain.writableBytes >= need) {
        if (!this.fill(ctx, chain, 1, frame, true)) return BROKEN;
        return this.complete(q, chain.head, need, frame);
      }
      if (!this.mergeable) {
        // Too small for the frame (Linux never posts such buffers): the frame is lost, and
        // the buffer goes back empty, which Linux counts as a length error.
        return q.push(chain.head, 0) ? DROPPED : BROKEN;
      }
      if (!this.hold(ctx, chain)) return BROKEN;
    }
    // Merge several chains (only with MRG_RXBUF): held ones first, then fresh ones.
    let have = 0;
    let n = 0;
    while (n < this.held.length && have < need) have += (this.held[n++] as DescChain).writableBytes;
    while (have < need) {
      const chain = q.pop();
      if (chain === null) return q.broken ? BROKEN : NO_BUFFER;
      if (!this.hold(ctx, chain)) return BROKEN;
      have += chain.writableBytes;
      n++;
    }
    let offset = 0;
    for (let i = 0; i < n; i++) {
      const c = this.held[i] as DescChain;
      const room = c.writableBytes - (i === 0 ? VIRTIO_NET_HDR_BYTES : 0);
      const part = Math.min(room, frame.length - offset);
      if (!this.fill(ctx, c, n, frame.subarray(offset, offset + part), i === 0)) return BROKEN;
      offset += part;
    }
    offset = 0;
    for (let i = 0; i < n; i++) {
      const c = this.held[i] as DescChain;
      const written = Math.min(c.writableBytes, need - offset);
      offset += written;
      if (!q.push(c.head, written)) return BROKEN;
    }
    this.held.splice(0, n);
    this.counters.rxFrames++;
    this.counters.rxBytes += frame.length;
    return DELIVERED;
  }

  /** Writes the header (if `first`) and a piece of the frame into `chain`. */
  private fill(
    ctx: VirtioContext,
    chain: DescChain,
    numBuffers: number,
    piece: Uint8Array,
    first: boolean,
  ): boolean {
    let ok = true;
    if (first) {
      const hdr = this.rxHdr;
      hdr.fill(0);
      hdr[NUM_BUFFERS_OFFSET] = numBuffers & 0xff;
      hdr[NUM_BUFFERS_OFFSET + 1] = numBuffers >>> 8;
      ok = chain.writeTo(ctx.mem, 0, hdr) && chain.writeTo(ctx.mem, VIRTIO_NET_HDR_BYTES, piece);
    } else {
      ok = chain.writeTo(ctx.mem, 0, piece);
    }
    if (!ok) ctx.fail('virtio-net: a receive buffer is outside guest memory');
    return ok;
  }

  private complete(q: Virtqueue, head: number, written: number, frame: Uint8Array): Delivery {
    if (!q.push(head, written)) return BROKEN;
    this.counters.rxFrames++;
    this.counters.rxBytes += frame.length;
    return DELIVERED;
  }

  /** Keeps a copy of a popped receive chain's writable part for a merged frame. */
  private hold(ctx: VirtioContext, chain: DescChain): boolean {
    if (chain.writableBytes < VIRTIO_NET_HDR_BYTES) {
      ctx.fail('virtio-net: a receive buffer is smaller than the 12-byte virtio_net_hdr (MRG_RXBUF)');
      return false;
    }
    const n = chain.count - chain.readableCount;
    const copy = new DescChain(n);
    copy.head = chain.head;
    copy.count = n;
    copy.writableBytes = chain.writableBytes;
    copy.addr.set(chain.addr.subarray(chain.readableCount, chain.count));
    copy.len.set(chain.len.subarray(chain.readableCount, chain.count));
    this.held.push(copy);
    return true;
  }
}

function restoreHeld(h: unknown, kind: string): DescChain {
  if (typeof h !== 'object' || h === null) throw new Error(`${kind} must be an object`);
  const rec = h as Record<string, unknown>;
  const head = stateInt(rec, kind, 'head', 0, QUEUE_SIZE - 1);
  const segs = rec['segs'];
  if (!Array.isArray(segs) || segs.length < 1 || segs.length > QUEUE_SIZE) {
    throw new Error(`${kind}.segs must be an array of 1..${QUEUE_SIZE} [address, length] pairs`);
  }
  const chain = new DescChain(segs.length);
  chain.head = head;
  chain.count = segs.length;
  segs.forEach((s, i) => {
    const addrField = `segs[${i}][0]`;
    const lenField = `segs[${i}][1]`;
    const pair: Record<string, unknown> = Array.isArray(s) ? { [addrField]: s[0], [lenField]: s[1] } : {};
    chain.addr[i] = stateInt(pair, kind, addrField, 0, Number.MAX_SAFE_INTEGER);
    chain.len[i] = stateInt(pair, kind, lenField, 0, 0xffffffff);
    chain.writableBytes += chain.len[i] ?? 0;
  });
  if (chain.writableBytes < VIRTIO_NET_HDR_BYTES) {
    throw new Error(`${kind} holds ${chain.writableBytes} bytes, fewer than a virtio_net_hdr`);
  }
  return chain;
}
