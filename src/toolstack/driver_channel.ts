/**
 * The block channel between a guest's virtio-blk (on its pCPU thread) and the disk backend in a
 * driver domain (driver_domain_worker.ts, a thread of its own): one SharedArrayBuffer per disk,
 * and one doorbell word per driver domain that every channel rings.
 *
 * The driver domain never sees the guest's memory. The virtio-blk device model stays with the
 * guest; for each piece of a request it copies the guest's buffer into the channel's data area
 * (a write) or out of it (a read), which is Xen's grant-copy discipline: the backend reaches
 * exactly the bytes of the request in flight and nothing else.
 *
 * Header (Int32 words):
 *
 *   0 STATE   1 while a backend serves the channel, 0 while it is down (set by the toolstack)
 *   1 REQ     request sequence number, bumped by the frontend to submit
 *   2 RSP     the last sequence number the backend completed
 *   3 OP      1 read, 2 write, 3 flush
 *   4 LEN     bytes to move (at most DATA_BYTES)
 *   5 STATUS  0 done, 1 failed
 *   6 GEN     the backend's generation (bumped by the toolstack at each start)
 *   8 OFFSET  byte offset in the image (float64 over words 8–9)
 *
 * The data area starts at byte 64. The frontend waits (Atomics.wait) for RSP to reach its
 * request, for STATE to drop or for GEN to move; the last two mean the driver domain died or was
 * restarted while the request was in flight, and the guest gets an I/O error. A driver domain
 * that starts discards whatever requests were left unanswered (RSP := REQ) before STATE goes up.
 */
import type { BlockFile } from '../platform/node/block_file.ts';

export const CH_STATE = 0;
export const CH_REQ = 1;
export const CH_RSP = 2;
export const CH_OP = 3;
export const CH_LEN = 4;
export const CH_STATUS = 5;
export const CH_GEN = 6;
/** OFFSET as an index into a Float64Array over the header (byte 32). */
const CH_OFFSET_F64 = 4;
export const CH_DATA = 64;
/** The largest piece moved per request; virtio-blk moves at most 1 MiB at a time anyway. */
export const DATA_BYTES = 1 << 20;

export const OP_READ = 1;
export const OP_WRITE = 2;
export const OP_FLUSH = 3;

/** How long a frontend waits for an answer before it gives the guest an I/O error. */
const ANSWER_MS = 60_000;

/** A channel's views. */
export class BlockChannel {
  readonly h: Int32Array;
  readonly data: Uint8Array;
  private readonly f64: Float64Array;

  constructor(readonly sab: SharedArrayBuffer) {
    this.h = new Int32Array(sab, 0, 16);
    this.f64 = new Float64Array(sab, 0, 8);
    this.data = new Uint8Array(sab, CH_DATA, DATA_BYTES);
  }

  static create(): BlockChannel {
    return new BlockChannel(new SharedArrayBuffer(CH_DATA + DATA_BYTES));
  }

  get offset(): number {
    return this.f64[CH_OFFSET_F64]!;
  }

  set offset(v: number) {
    this.f64[CH_OFFSET_F64] = v;
  }

  get up(): boolean {
    return Atomics.load(this.h, CH_STATE) === 1;
  }

  /** The toolstack: the backend is gone; wakes a frontend waiting for an answer. */
  down(): void {
    Atomics.store(this.h, CH_STATE, 0);
    Atomics.notify(this.h, CH_RSP);
  }
}

/** What a pCPU needs to reach a disk that a driver domain serves (structured-cloneable). */
export interface DriverDiskSpec {
  /** The driver domain's name, for error messages. */
  name: string;
  channel: SharedArrayBuffer;
  doorbell: SharedArrayBuffer;
  sizeBytes: number;
}

/** The guest's side of a channel: a BlockFile whose every access is a request to the driver domain. */
export class DriverDisk implements BlockFile {
  private readonly ch: BlockChannel;
  private readonly bell: Int32Array;
  readonly sizeBytes: number;
  private closed = false;

  constructor(
    private readonly spec: DriverDiskSpec,
    readonly readOnly: boolean,
  ) {
    this.ch = new BlockChannel(spec.channel);
    this.bell = new Int32Array(spec.doorbell);
    this.sizeBytes = spec.sizeBytes;
  }

  read(offset: number, dst: Uint8Array): void {
    for (let done = 0; done < dst.length; done += DATA_BYTES) {
      const n = Math.min(DATA_BYTES, dst.length - done);
      this.call(OP_READ, offset + done, n);
      dst.set(this.ch.data.subarray(0, n), done);
    }
  }

  write(offset: number, src: Uint8Array): void {
    for (let done = 0; done < src.length; done += DATA_BYTES) {
      const n = Math.min(DATA_BYTES, src.length - done);
      this.ch.data.set(src.subarray(done, done + n));
      this.call(OP_WRITE, offset + done, n);
    }
  }

  flush(): void {
    if (!this.closed) this.call(OP_FLUSH, 0, 0);
  }

  /** The driver domain keeps the image; the toolstack detaches it there. */
  close(): void {
    this.closed = true;
  }

  private call(op: number, offset: number, len: number): void {
    const h = this.ch.h;
    const down = (): Error => new Error(`the driver domain ${this.spec.name} serving this disk is down`);
    if (this.closed) throw new Error('the disk is detached');
    if (!this.ch.up) throw down();
    const gen = Atomics.load(h, CH_GEN);
    h[CH_OP] = op;
    h[CH_LEN] = len;
    this.ch.offset = offset;
    const seq = (Atomics.load(h, CH_REQ) + 1) | 0;
    Atomics.store(h, CH_REQ, seq);
    Atomics.add(this.bell, 0, 1);
    Atomics.notify(this.bell, 0);
    const deadline = Date.now() + ANSWER_MS;
    for (;;) {
      const rsp = Atomics.load(h, CH_RSP);
      if (Atomics.load(h, CH_GEN) !== gen || !this.ch.up) throw down();
      if (rsp === seq) break;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the driver domain ${this.spec.name} did not answer in ${ANSWER_MS} ms`);
      Atomics.wait(h, CH_RSP, rsp, Math.min(left, 1000));
    }
    if (h[CH_STATUS] !== 0) throw new Error(`the driver domain ${this.spec.name} failed the request`);
  }
}
