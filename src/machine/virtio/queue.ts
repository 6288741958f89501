/**
 * The split virtqueue, device side (virtio 1.2 §2.7).
 *
 * The driver owns the descriptor table and the available ring; the device owns the used ring.
 * `pop()` takes the next available descriptor chain, walks it (NEXT, WRITE, INDIRECT) and
 * returns it as a list of guest-physical segments, readable ones first; `push()` returns a
 * chain to the driver through the used ring; `needsInterrupt()` applies the driver's
 * interrupt suppression (VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX).
 *
 * All of it is driver-controlled memory and is validated: ring indices that run ahead by more
 * than the queue size, descriptor indices out of range, chains longer than the queue size
 * (this is also what catches loops), readable descriptors after writable ones, nested or
 * un-negotiated indirect tables, and memory outside the guest. Any of those calls `fail` once
 * and leaves the queue broken (every later `pop` returns null) until the device is reset.
 *
 * The chain returned by `pop()` is owned by the queue and reused: it is valid until the next
 * `pop()`. No allocation happens per request.
 */
import type { GuestMemory } from '../device.ts';
import { stateBool, stateInt, stateRecord } from './device.ts';

export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;

const DESC_BYTES = 16;
const MAX_QUEUE_SIZE = 32768;
const TWO_32 = 0x1_0000_0000;

/** A descriptor chain as guest-physical segments: `readableCount` readable ones, then writable ones. */
export class DescChain {
  /** Descriptor index of the chain's head, as `push()` wants it back. */
  head = 0;
  count = 0;
  readableCount = 0;
  readableBytes = 0;
  writableBytes = 0;
  readonly addr: Float64Array;
  readonly len: Float64Array;

  constructor(capacity: number) {
    this.addr = new Float64Array(capacity);
    this.len = new Float64Array(capacity);
  }

  /** Copies the readable bytes at `offset..offset+dst.length` into `dst`; false if guest memory refused. */
  readFrom(mem: GuestMemory, offset: number, dst: Uint8Array): boolean {
    return this.copy(mem, 0, this.readableCount, offset, dst, false);
  }

  /** Copies `src` into the writable bytes at `offset`; false if guest memory refused. */
  writeTo(mem: GuestMemory, offset: number, src: Uint8Array): boolean {
    return this.copy(mem, this.readableCount, this.count, offset, src, true);
  }

  private copy(
    mem: GuestMemory,
    first: number,
    end: number,
    offset: number,
    buf: Uint8Array,
    toGuest: boolean,
  ): boolean {
    let skip = offset;
    let done = 0;
    for (let i = first; i < end && done < buf.length; i++) {
      const segLen = this.len[i] ?? 0;
      if (skip >= segLen) {
        skip -= segLen;
        continue;
      }
      const n = Math.min(segLen - skip, buf.length - done);
      const gpa = (this.addr[i] ?? 0) + skip;
      const part = buf.subarray(done, done + n);
      if (!(toGuest ? mem.write(gpa, part) : mem.read(gpa, part))) return false;
      done += n;
      skip = 0;
    }
    return done === buf.length;
  }
}

/** Saved ring position and driver-programmed layout of one queue. */
export type VirtqueueState = {
  version: 1;
  size: number;
  ready: boolean;
  descAddr: number;
  driverAddr: number;
  deviceAddr: number;
  lastAvailIdx: number;
  usedIdx: number;
  signalledUsedIdx: number;
};

export class Virtqueue {
  readonly index: number;
  readonly maxSize: number;
  /** QueueNum: the size the driver chose (a power of two, at most `maxSize`). */
  size: number;
  ready = false;
  /** Guest-physical addresses of the descriptor table, available ring and used ring. */
  descAddr = 0;
  driverAddr = 0;
  deviceAddr = 0;
  /** Negotiated ring features, set by the transport at DRIVER_OK. */
  indirect = false;
  eventIdx = false;
  /** Set once the driver broke the ring; cleared by reset. */
  broken = false;
  private lastAvailIdx = 0;
  private usedIdx = 0;
  private signalledUsedIdx = 0;
  private readonly chain: DescChain;
  private readonly mem: GuestMemory;
  private readonly onFail: (reason: string) => void;

  constructor(index: number, maxSize: number, mem: GuestMemory, onFail: (reason: string) => void) {
    if (
      !Number.isInteger(maxSize) ||
      maxSize < 1 ||
      maxSize > MAX_QUEUE_SIZE ||
      (maxSize & (maxSize - 1)) !== 0
    ) {
      throw new Error(`virtqueue ${index}: maximum size ${maxSize} is not a power of two in 1..32768`);
    }
    this.index = index;
    this.maxSize = maxSize;
    this.size = maxSize;
    this.mem = mem;
    this.onFail = onFail;
    this.chain = new DescChain(maxSize);
  }

  /** Back to the state after device reset. */
  reset(): void {
    this.size = this.maxSize;
    this.ready = false;
    this.descAddr = 0;
    this.driverAddr = 0;
    this.deviceAddr = 0;
    this.indirect = false;
    this.eventIdx = false;
    this.broken = false;
    this.lastAvailIdx = 0;
    this.usedIdx = 0;
    this.signalledUsedIdx = 0;
  }

  /**
   * Checks the driver's layout before QueueReady takes effect (virtio 1.2 §2.7: alignment 16,
   * 2 and 4; every ring inside guest memory). Returns why it is unusable, or null.
   */
  validate(): string | null {
    const n = this.size;
    if (n < 1 || n > this.maxSize || (n & (n - 1)) !== 0) {
      return `queue ${this.index}: QueueNum ${n} is not a power of two in 1..${this.maxSize}`;
    }
    const rings: [string, number, number, number][] = [
      ['descriptor table', this.descAddr, DESC_BYTES * n, 16],
      ['available ring', this.driverAddr, 6 + 2 * n, 2],
      ['used ring', this.deviceAddr, 6 + 8 * n, 4],
    ];
    for (const [what, addr, bytes, align] of rings) {
      if (addr % align !== 0)
        return `queue ${this.index}: ${what} at 0x${addr.toString(16)} is not ${align}-aligned`;
      // Both ends readable: guest RAM is made of large regions, and every access is checked again anyway.
      if (this.mem.readU16(addr) === undefined || this.mem.readU16(addr + bytes - 2) === undefined) {
        return `queue ${this.index}: ${what} at 0x${addr.toString(16)} (+${bytes}) is outside guest memory`;
      }
    }
    return null;
  }

  /** True if the driver has made a chain available that `pop()` would return. */
  hasAvailable(): boolean {
    if (!this.ready || this.broken) return false;
    const idx = this.mem.readU16(this.driverAddr + 2);
    return idx !== undefined && idx !== this.lastAvailIdx;
  }

  /** Takes the next available chain, or null if there is none or the ring is broken. */
  pop(): DescChain | null {
    if (!this.ready || this.broken) return null;
    const mem = this.mem;
    const size = this.size;
    const availIdx = mem.readU16(this.driverAddr + 2);
    if (availIdx === undefined) return this.failed('the available ring is outside guest memory');
    const ahead = (availIdx - this.lastAvailIdx) & 0xffff;
    if (ahead === 0) return null;
    if (ahead > size) {
      return this.failed(
        `avail idx ${availIdx} is ${ahead} entries ahead of the device, more than the size ${size}`,
      );
    }
    const head = mem.readU16(this.driverAddr + 4 + 2 * (this.lastAvailIdx & (size - 1)));
    if (head === undefined) return this.failed('the available ring is outside guest memory');
    if (!this.walk(head)) return null;
    this.lastAvailIdx = (this.lastAvailIdx + 1) & 0xffff;
    // avail_event: "notify me once you make entry lastAvailIdx available".
    if (this.eventIdx && !mem.writeU16(this.deviceAddr + 4 + 8 * size, this.lastAvailIdx)) {
      return this.failed('the used ring is outside guest memory');
    }
    return this.chain;
  }

  /** Returns chain `head` to the driver, telling it `writtenBytes` were written into it. */
  push(head: number, writtenBytes: number): boolean {
    if (!this.ready || this.broken) return false;
    const slot = this.deviceAddr + 4 + 8 * (this.usedIdx & (this.size - 1));
    const next = (this.usedIdx + 1) & 0xffff;
    // The element is written before the index that publishes it.
    if (
      !this.mem.writeU32(slot, head) ||
      !this.mem.writeU32(slot + 4, writtenBytes >>> 0) ||
      !this.mem.writeU16(this.deviceAddr + 2, next)
    ) {
      this.failed('the used ring is outside guest memory');
      return false;
    }
    this.usedIdx = next;
    return true;
  }

  /**
   * Whether the driver wants an interrupt for the chains pushed since the last call
   * (virtio 1.2 §2.7.10). Call once after a batch of `push()`es.
   */
  needsInterrupt(): boolean {
    const old = this.signalledUsedIdx;
    const now = this.usedIdx;
    if (old === now) return false;
    this.signalledUsedIdx = now;
    if (this.eventIdx) {
      const usedEvent = this.mem.readU16(this.driverAddr + 4 + 2 * this.size);
      if (usedEvent === undefined) return true;
      return ((now - usedEvent - 1) & 0xffff) < ((now - old) & 0xffff);
    }
    const flags = this.mem.readU16(this.driverAddr);
    return flags === undefined || (flags & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
  }

  saveState(): VirtqueueState {
    return {
      version: 1,
      size: this.size,
      ready: this.ready,
      descAddr: this.descAddr,
      driverAddr: this.driverAddr,
      deviceAddr: this.deviceAddr,
      lastAvailIdx: this.lastAvailIdx,
      usedIdx: this.usedIdx,
      signalledUsedIdx: this.signalledUsedIdx,
    };
  }

  /** Restores ring layout and position; `indirect`, `eventIdx` and `broken` are the transport's to set. */
  restoreState(state: unknown): void {
    const kind = `VirtqueueState[${this.index}]`;
    const rec = stateRecord(state, kind, 1);
    const size = stateInt(rec, kind, 'size', 1, this.maxSize);
    if ((size & (size - 1)) !== 0) throw new Error(`${kind}.size must be a power of two (got ${size})`);
    const ready = stateBool(rec, kind, 'ready');
    const descAddr = stateInt(rec, kind, 'descAddr', 0, Number.MAX_SAFE_INTEGER);
    const driverAddr = stateInt(rec, kind, 'driverAddr', 0, Number.MAX_SAFE_INTEGER);
    const deviceAddr = stateInt(rec, kind, 'deviceAddr', 0, Number.MAX_SAFE_INTEGER);
    const lastAvailIdx = stateInt(rec, kind, 'lastAvailIdx', 0, 0xffff);
    const usedIdx = stateInt(rec, kind, 'usedIdx', 0, 0xffff);
    const signalledUsedIdx = stateInt(rec, kind, 'signalledUsedIdx', 0, 0xffff);
    this.size = size;
    this.ready = ready;
    this.descAddr = descAddr;
    this.driverAddr = driverAddr;
    this.deviceAddr = deviceAddr;
    this.lastAvailIdx = lastAvailIdx;
    this.usedIdx = usedIdx;
    this.signalledUsedIdx = signalledUsedIdx;
  }

  /** Walks the chain starting at descriptor `head` into `this.chain`. */
  private walk(head: number): boolean {
    const mem = this.mem;
    const chain = this.chain;
    chain.head = head;
    chain.count = 0;
    chain.readableCount = 0;
    chain.readableBytes = 0;
    chain.writableBytes = 0;
    let table = this.descAddr;
    let tableSize = this.size;
    let i = head;
    let inIndirect = false;
    for (;;) {
      if (i >= tableSize) return this.broke(`descriptor index ${i} is outside a table of ${tableSize}`);
      const base = table + DESC_BYTES * i;
      const addr = mem.readU64(base);
      const len = mem.readU32(base + 8);
      const flags = mem.readU16(base + 12);
      const next = mem.readU16(base + 14);
      if (addr === undefined || len === undefined || flags === undefined || next === undefined) {
        return this.broke(`descriptor ${i} at 0x${base.toString(16)} is outside guest memory or above 2^53`);
      }
      if ((flags & VIRTQ_DESC_F_INDIRECT) !== 0) {
        if (!this.indirect)
          return this.broke('an INDIRECT descriptor was used without VIRTIO_F_INDIRECT_DESC');
        if (inIndirect) return this.broke('an indirect table contains an INDIRECT descriptor');
        if ((flags & VIRTQ_DESC_F_NEXT) !== 0) return this.broke('a descriptor has both INDIRECT and NEXT');
        if (len === 0 || len % DESC_BYTES !== 0) {
          return this.broke(`an indirect table of ${len} bytes is not a multiple of 16`);
        }
        if (chain.count + len / DESC_BYTES > this.size) {
          return this.broke(`a chain with an indirect table of ${len / DESC_BYTES} is longer than the queue`);
        }
        table = addr;
        tableSize = len / DESC_BYTES;
        i = 0;
        inIndirect = true;
        continue;
      }
      // A chain visits each descriptor at most once, so this bound also catches loops.
      if (chain.count >= this.size) return this.broke(`a chain is longer than the queue size ${this.size}`);
      if (addr + len > Number.MAX_SAFE_INTEGER) return this.broke(`descriptor ${i} ends above 2^53`);
      if ((flags & VIRTQ_DESC_F_WRITE) !== 0) {
        chain.writableBytes += len;
      } else {
        if (chain.count > chain.readableCount) {
          return this.broke('a device-readable descriptor follows a device-writable one');
        }
        chain.readableBytes += len;
        chain.readableCount++;
      }
      chain.addr[chain.count] = addr;
      chain.len[chain.count] = len;
      chain.count++;
      if ((flags & VIRTQ_DESC_F_NEXT) === 0) return true;
      i = next;
    }
  }

  private broke(reason: string): false {
    this.failed(reason);
    return false;
  }

  private failed(reason: string): null {
    if (!this.broken) {
      this.broken = true;
      this.onFail(`queue ${this.index}: ${reason}`);
    }
    return null;
  }
}

/** Joins a Low/High register pair into an address; exact below 2^53. */
export function joinAddress(low: number, high: number): number {
  return (high >>> 0) * TWO_32 + (low >>> 0);
}
