/**
 * The decoded-instruction cache: for every RAM page that harts have executed from, an array
 * of decoded instructions (two int32 per 2-byte slot: packed word and immediate, see
 * isa/decode.ts; a zero word means "not decoded yet").
 *
 * Coherence rule: a page that has decoded instructions never has an entry in any hart's store
 * TLB, so every store to it takes the slow path, which calls `invalidatePage` first. When a
 * page gets its decoded array, `onNewCodePage` runs so that the board can drop store-TLB
 * entries that map it. Devices writing RAM (DMA) invalidate through `invalidateRange`.
 * After an invalidation the executing hart must not keep using the old array: the
 * interpreter leaves its inner loop after any store that took the slow path.
 */
import { PAGE_SHIFT, PAGE_SIZE } from './memory.ts';

export const SLOTS_PER_PAGE = PAGE_SIZE / 2;

export class CodeCache {
  private readonly pages: (Int32Array | undefined)[];
  /** Called with the RAM page index when a page first gets decoded instructions. */
  onNewCodePage: (ramPage: number) => void = () => {};
  /**
   * Called with the RAM page index when a page's decoded array is dropped (a write into the
   * page, or `clear`): the JIT drops its translations of the page here.
   */
  onInvalidatePage: (ramPage: number) => void = () => {};
  /** Number of pages invalidated by writes (for statistics). */
  invalidations = 0;

  constructor(readonly ramPages: number) {
    // Filled, so that the array holds objects (HOLEY_ELEMENTS) from the start: a fresh
    // `new Array(n)` has another map until its first store, and the interpreter, compiled
    // against the warm-up's cache, would bail out on it.
    this.pages = new Array<Int32Array | undefined>(ramPages).fill(undefined);
  }

  /** The decoded array of a RAM page, created empty on first use. */
  page(ramPage: number): Int32Array {
    let p = this.pages[ramPage];
    if (p === undefined) {
      p = new Int32Array(SLOTS_PER_PAGE * 2);
      this.pages[ramPage] = p;
      this.onNewCodePage(ramPage);
    }
    return p;
  }

  /** Is `arr` still the decoded array of `ramPage` (no store invalidated it)? */
  isCurrent(ramPage: number, arr: Int32Array): boolean {
    return this.pages[ramPage] === arr;
  }

  hasCode(ramPage: number): boolean {
    return this.pages[ramPage] !== undefined;
  }

  invalidatePage(ramPage: number): void {
    if (this.pages[ramPage] !== undefined) {
      this.pages[ramPage] = undefined;
      this.invalidations++;
      this.onInvalidatePage(ramPage);
    }
  }

  /** Invalidates every page overlapping [ramByteOffset, +len) (offsets relative to RAM start). */
  invalidateRange(ramByteOffset: number, len: number): void {
    if (len <= 0) return;
    const first = ramByteOffset >>> PAGE_SHIFT;
    const last = (ramByteOffset + len - 1) >>> PAGE_SHIFT;
    for (let p = first; p <= last && p < this.ramPages; p++) this.invalidatePage(p);
  }

  clear(): void {
    for (let p = 0; p < this.ramPages; p++) if (this.pages[p] !== undefined) this.onInvalidatePage(p);
    this.pages.fill(undefined);
  }
}
