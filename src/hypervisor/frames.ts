/**
 * Machine memory frames: the RAM of the machine's shared WebAssembly.Memory, in 4 KiB frames
 * numbered by MFN (machine physical address = RAM base + MFN × 4096), handed out by a first-fit
 * allocator over a state map. Everything a domain owns — its guest RAM, its P2M tables — comes
 * from here and goes back here when the domain is destroyed.
 *
 * The allocator's state lives in a SharedArrayBuffer guarded by a spin lock (Atomics), so the
 * pCPU threads, each holding its own FrameAllocator over the same state (`attach`), allocate
 * from one pool. Critical sections are short: a scan of the state map, at most one frame zeroed.
 *
 * A frame is zeroed before it is handed out again: freeing only marks it dirty (so destroying a
 * large domain costs no time), allocation scrubs dirty frames, and fresh memory is already zero.
 * A freed frame is in no P2M, so its old contents are unreachable until then; `scrubIdle` lets
 * an idle pCPU clean dirty frames ahead of time.
 */
import type { MachineMemory } from '../machine/memory.ts';

export type Mfn = number & { readonly __brand: 'Mfn' };

export class OutOfMemoryError extends Error {
  override readonly name = 'OutOfMemoryError';
}

/** Frame states in the state map. */
const enum FrameState {
  FREE = 0,
  USED = 1,
  /** Free, but still holding its previous owner's data. */
  DIRTY = 2,
}

/** Int32 slots of the shared header, before the state map. */
const enum Hdr {
  LOCK = 0,
  FREE = 1,
  DIRTY = 2,
  CURSOR = 3,
  /** Frames the machine keeps for itself for good (`reserveForMachine`). */
  RESERVED = 4,
  WORDS = 5,
}
const HEADER_BYTES = Hdr.WORDS * 4;

export class FrameAllocator {
  /** Frames of RAM. */
  private readonly pages: number;
  /** Header (Int32) and state map (one byte per frame) over the shared state. */
  private readonly hdr: Int32Array;
  private readonly state: Uint8Array;

  /**
   * An allocator over `mem`'s RAM. Without `shared` it starts a fresh state (every frame free);
   * with another allocator's `shared` it joins that one's pool.
   */
  constructor(
    readonly mem: MachineMemory,
    shared?: SharedArrayBuffer,
  ) {
    this.pages = mem.ramPages;
    const sab = shared ?? new SharedArrayBuffer(HEADER_BYTES + this.pages);
    if (sab.byteLength !== HEADER_BYTES + this.pages) {
      throw new RangeError(
        `frame allocator state is ${sab.byteLength} bytes, not ${HEADER_BYTES + this.pages}`,
      );
    }
    this.hdr = new Int32Array(sab, 0, Hdr.WORDS);
    this.state = new Uint8Array(sab, HEADER_BYTES, this.pages);
    if (!shared) this.hdr[Hdr.FREE] = this.pages;
  }

  /** Frames there are to hand out: RAM less what the machine keeps for itself. */
  get total(): number {
    return this.pages - Atomics.load(this.hdr, Hdr.RESERVED);
  }

  /**
   * `count` contiguous frames that stay the machine's for good (e.g. dom0's event-channel
   * table, made once per machine), counted in neither `total` nor `free`, as Xen's own heap.
   */
  reserveForMachine(count: number): Mfn {
    const mfn = this.allocContiguous(count);
    Atomics.add(this.hdr, Hdr.RESERVED, count);
    return mfn;
  }

  /** The shared state, for `new FrameAllocator(mem, shared)` on another thread. */
  get shared(): SharedArrayBuffer {
    return this.hdr.buffer as SharedArrayBuffer;
  }

  get free(): number {
    return Atomics.load(this.hdr, Hdr.FREE);
  }

  /** Machine physical address of a frame. */
  paOf(mfn: Mfn): number {
    return this.mem.ramBase + mfn * 4096;
  }

  /** Host byte offset (into the machine memory) of a frame. */
  offsetOf(mfn: Mfn): number {
    return this.mem.ramOffset + mfn * 4096;
  }

  /** One frame anywhere. */
  alloc(): Mfn {
    this.lock();
    try {
      if (this.hdr[Hdr.FREE] === 0) throw new OutOfMemoryError('machine memory is exhausted');
      const cursor = this.hdr[Hdr.CURSOR]!;
      for (let n = 0; n < this.pages; n++) {
        const i = (cursor + n) % this.pages;
        if (this.state[i] !== FrameState.USED) {
          this.take(i);
          this.hdr[Hdr.CURSOR] = i + 1;
          return i as Mfn;
        }
      }
      throw new OutOfMemoryError('machine memory is exhausted');
    } finally {
      this.unlock();
    }
  }

  /**
   * `count` frames anywhere, under one hold of the lock (building a domain takes its RAM this
   * way: a frame at a time, 256 MiB cost 65 536 lock round trips); all of them or, when fewer
   * are free, none (OutOfMemoryError).
   */
  allocMany(count: number): Int32Array {
    const out = new Int32Array(count);
    this.lock();
    try {
      if (this.hdr[Hdr.FREE]! < count) throw new OutOfMemoryError('machine memory is exhausted');
      const pages = this.pages;
      let i = this.hdr[Hdr.CURSOR]! % pages;
      for (let k = 0; k < count; i = i + 1 === pages ? 0 : i + 1) {
        if (this.state[i] !== FrameState.USED) {
          this.take(i);
          out[k++] = i;
        }
      }
      this.hdr[Hdr.CURSOR] = i;
      return out;
    } finally {
      this.unlock();
    }
  }

  /** `count` contiguous frames whose first MFN is a multiple of `align`. */
  allocContiguous(count: number, align = 1): Mfn {
    this.lock();
    try {
      const state = this.state;
      for (let start = 0; ;) {
        // Skip frames in use with the typed array's own scans: after a domain's RAM, the
        // first free frame is tens of thousands of frames in.
        const free = state.indexOf(FrameState.FREE, start);
        const dirty = state.indexOf(FrameState.DIRTY, start);
        const next = free < 0 ? dirty : dirty < 0 ? free : Math.min(free, dirty);
        if (next < 0) break;
        start = Math.ceil(next / align) * align;
        if (start + count > this.pages) break;
        let i = 0;
        while (i < count && state[start + i] !== FrameState.USED) i++;
        if (i === count) {
          for (let k = 0; k < count; k++) this.take(start + k);
          return start as Mfn;
        }
        start += i + 1;
      }
      throw new OutOfMemoryError(`no ${count} contiguous free frames in machine memory`);
    } finally {
      this.unlock();
    }
  }

  freeFrame(mfn: Mfn): void {
    this.lock();
    try {
      if (this.state[mfn] !== FrameState.USED) throw new Error(`frame ${mfn} freed twice`);
      this.state[mfn] = FrameState.DIRTY;
      this.hdr[Hdr.DIRTY]!++;
      this.hdr[Hdr.FREE]!++;
    } finally {
      this.unlock();
    }
  }

  /** Zeroes up to `max` dirty frames (idle-time scrubbing); returns how many it cleaned. */
  scrubIdle(max: number): number {
    let done = 0;
    while (done < max && Atomics.load(this.hdr, Hdr.DIRTY) > 0) {
      this.lock();
      try {
        let i = 0;
        while (i < this.pages && this.state[i] !== FrameState.DIRTY) i++;
        if (i === this.pages) break;
        this.zero(i);
        this.state[i] = FrameState.FREE;
        this.hdr[Hdr.DIRTY]!--;
        done++;
      } finally {
        this.unlock();
      }
    }
    return done;
  }

  /** Marks a free frame used, zeroing it first if it is dirty (lock held). */
  private take(i: number): void {
    if (this.state[i] === FrameState.DIRTY) {
      this.zero(i);
      this.hdr[Hdr.DIRTY]!--;
    }
    this.state[i] = FrameState.USED;
    this.hdr[Hdr.FREE]!--;
  }

  private zero(i: number): void {
    const off = this.mem.ramOffset + i * 4096;
    this.mem.u8.fill(0, off, off + 4096);
  }

  private lock(): void {
    while (Atomics.compareExchange(this.hdr, Hdr.LOCK, 0, 1) !== 0) {
      // Another pCPU holds it for a few microseconds at most: spin.
    }
  }

  private unlock(): void {
    Atomics.store(this.hdr, Hdr.LOCK, 0);
  }
}
