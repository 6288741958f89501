/**
 * Machine memory frames: the RAM of the machine's shared WebAssembly.Memory, in 4 KiB frames
 * numbered by MFN (machine physical address = RAM base + MFN × 4096), handed out by a first-fit
 * allocator over a bitmap. Everything a domain owns — its guest RAM, its P2M tables — comes
 * from here and goes back here when the domain is destroyed.
 *
 * A frame is zeroed before it is handed out again: freeing only marks it dirty (so destroying a
 * large domain costs no time), allocation scrubs dirty frames, and fresh memory is already zero.
 * A freed frame is in no P2M, so its old contents are unreachable until then; `scrubIdle` lets
 * an idle pCPU clean dirty frames ahead of time.
 */

/** Frame states in `FrameAllocator.state`. */
const enum FrameState {
  FREE = 0,
  USED = 1,
  /** Free, but still holding its previous owner's data. */
  DIRTY = 2,
}
import type { MachineMemory } from '../machine/memory.ts';

export type Mfn = number & { readonly __brand: 'Mfn' };

export class OutOfMemoryError extends Error {
  override readonly name = 'OutOfMemoryError';
}

export class FrameAllocator {
  readonly total: number;
  private readonly state: Uint8Array;
  private freeCount: number;
  private dirtyCount = 0;
  private cursor = 0;

  constructor(readonly mem: MachineMemory) {
    this.total = mem.ramPages;
    this.state = new Uint8Array(this.total);
    this.freeCount = this.total;
  }

  get free(): number {
    return this.freeCount;
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
    if (this.freeCount === 0) throw new OutOfMemoryError('machine memory is exhausted');
    for (let n = 0; n < this.total; n++) {
      const i = (this.cursor + n) % this.total;
      if (this.state[i] !== FrameState.USED) {
        this.take(i);
        this.cursor = i + 1;
        return i as Mfn;
      }
    }
    throw new OutOfMemoryError('machine memory is exhausted');
  }

  /** `count` contiguous frames whose first MFN is a multiple of `align`. */
  allocContiguous(count: number, align = 1): Mfn {
    for (let start = 0; start + count <= this.total; start += align) {
      let ok = true;
      for (let i = 0; i < count; i++) {
        if (this.state[start + i] === FrameState.USED) {
          ok = false;
          break;
        }
      }
      if (ok) {
        for (let i = 0; i < count; i++) this.take(start + i);
        return start as Mfn;
      }
    }
    throw new OutOfMemoryError(`no ${count} contiguous free frames in machine memory`);
  }

  freeFrame(mfn: Mfn): void {
    if (this.state[mfn] !== FrameState.USED) throw new Error(`frame ${mfn} freed twice`);
    this.state[mfn] = FrameState.DIRTY;
    this.dirtyCount++;
    this.freeCount++;
  }

  /** Zeroes up to `max` dirty frames (idle-time scrubbing); returns how many it cleaned. */
  scrubIdle(max: number): number {
    let done = 0;
    for (let i = 0; i < this.total && done < max && this.dirtyCount > 0; i++) {
      if (this.state[i] === FrameState.DIRTY) {
        this.zero(i);
        this.state[i] = FrameState.FREE;
        this.dirtyCount--;
        done++;
      }
    }
    return done;
  }

  /** Marks a free frame used, zeroing it first if it is dirty. */
  private take(i: number): void {
    if (this.state[i] === FrameState.DIRTY) {
      this.zero(i);
      this.dirtyCount--;
    }
    this.state[i] = FrameState.USED;
    this.freeCount--;
  }

  private zero(i: number): void {
    const off = this.mem.ramOffset + i * 4096;
    this.mem.u8.fill(0, off, off + 4096);
  }
}
