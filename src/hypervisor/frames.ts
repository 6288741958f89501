/**
 * Machine memory frames: the RAM of the machine's shared WebAssembly.Memory, in 4 KiB frames
 * numbered by MFN (machine physical address = RAM base + MFN × 4096), handed out by a first-fit
 * allocator over a bitmap. Everything a domain owns — its guest RAM, its P2M tables — comes
 * from here and goes back here when the domain is destroyed.
 *
 * Frames are zeroed when freed, not when allocated: fresh memory is zero, and a frame never
 * leaves one domain's hands with data still in it.
 */
import type { MachineMemory } from '../machine/memory.ts';

export type Mfn = number & { readonly __brand: 'Mfn' };

export class OutOfMemoryError extends Error {
  override readonly name = 'OutOfMemoryError';
}

export class FrameAllocator {
  readonly total: number;
  private readonly used: Uint8Array;
  private freeCount: number;
  private cursor = 0;

  constructor(readonly mem: MachineMemory) {
    this.total = mem.ramPages;
    this.used = new Uint8Array(this.total);
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
      if (!this.used[i]) {
        this.used[i] = 1;
        this.freeCount--;
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
        if (this.used[start + i]) {
          ok = false;
          break;
        }
      }
      if (ok) {
        this.used.fill(1, start, start + count);
        this.freeCount -= count;
        return start as Mfn;
      }
    }
    throw new OutOfMemoryError(`no ${count} contiguous free frames in machine memory`);
  }

  freeFrame(mfn: Mfn): void {
    if (!this.used[mfn]) throw new Error(`frame ${mfn} freed twice`);
    const off = this.offsetOf(mfn);
    this.mem.u8.fill(0, off, off + 4096);
    this.used[mfn] = 0;
    this.freeCount++;
  }
}
