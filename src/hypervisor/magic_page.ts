/**
 * A domain's magic page — its xenstore ring page, `HVM_PARAM_STORE_PFN` — as the toolstack
 * reaches it from its own thread, where Xen's toolstack would map it as a foreign page.
 *
 * Pinning (`magic_page_pin`, on the domain's pCPU while it is built): the frame at `gfn` must be
 * RAM the domain owns. It then stays the domain's for the domain's whole life — no
 * decrease_reservation, add_to_physmap or balloon inflate may free or replace it
 * (`Domain.magicMfn`) — and its machine frame and guest frame are published in the domain's
 * shared page (pv_shared.ts `Dp.MAGIC_MFN`, `Dp.MAGIC_GFN`) for other threads.
 *
 * Access (`MagicPage`, any thread): each access takes the domain's MAGIC_LOCK and checks, under
 * it, that the shared page still belongs to the domain. `PvShared.unregister` takes the same lock
 * when the domain dies, and its frames are freed only after that, so an access never touches a
 * frame that was freed and given to another domain: once the domain is gone its magic page
 * reads as zeros and ignores writes. Locks are held for one access. 32-bit accesses are atomic
 * (the guest reads and writes the page on another thread); bytes are plain.
 */
import type { Domain } from './domain.ts';
import type { Mfn } from './frames.ts';
import { Dp, type PvShared } from './pv_shared.ts';

/** Pins the RAM frame at `gfn` as `d`'s magic page; false if `gfn` holds no RAM of `d`. */
export function magic_page_pin(shared: PvShared, d: Domain, gfn: number): boolean {
  const pv = d.pv;
  if (!pv || d.pageKind(gfn) !== 'ram') return false;
  const mfn = d.p2m.mfnOf(gfn) as Mfn;
  d.magicMfn = mfn;
  Atomics.store(shared.pg, pv.page + Dp.MAGIC_GFN, gfn);
  Atomics.store(shared.pg, pv.page + Dp.MAGIC_MFN, mfn + 1);
  return true;
}

/** The guest frame of a live domain's pinned magic page, or -1. */
export function magic_page_gfn(shared: PvShared, domid: number): number {
  const page = shared.page(domid);
  if (page < 0 || Atomics.load(shared.pg, page + Dp.MAGIC_MFN) === 0) return -1;
  return Atomics.load(shared.pg, page + Dp.MAGIC_GFN);
}

export class MagicPage {
  private alive = true;

  private constructor(
    private readonly shared: PvShared,
    readonly domid: number,
    readonly gfn: number,
    private readonly page: number,
    /** Byte offset of the frame in machine memory. */
    private readonly base: number,
  ) {}

  /** The pinned magic page of live domain `domid`; undefined if it has none. */
  static open(shared: PvShared, domid: number): MagicPage | undefined {
    const page = shared.page(domid);
    if (page < 0) return undefined;
    const mfn = Atomics.load(shared.pg, page + Dp.MAGIC_MFN) - 1;
    if (mfn < 0) return undefined;
    const gfn = Atomics.load(shared.pg, page + Dp.MAGIC_GFN);
    return new MagicPage(shared, domid, gfn, page, shared.frameWord(mfn) * 4);
  }

  /** False once the domain has died (its page is never touched again). */
  get live(): boolean {
    return this.alive && this.shared.page(this.domid) === this.page;
  }

  readU8(offset: number): number {
    if (!this.enter(offset, 1)) return 0;
    const v = this.shared.mem.u8[this.base + offset]!;
    this.leave();
    return v;
  }

  writeU8(offset: number, value: number): void {
    if (!this.enter(offset, 1)) return;
    this.shared.mem.u8[this.base + offset] = value;
    this.leave();
  }

  readU32(offset: number): number {
    if (!this.enter(offset, 4)) return 0;
    const v = Atomics.load(this.shared.i32, (this.base + offset) >>> 2) >>> 0;
    this.leave();
    return v;
  }

  writeU32(offset: number, value: number): void {
    if (!this.enter(offset, 4)) return;
    Atomics.store(this.shared.i32, (this.base + offset) >>> 2, value | 0);
    this.leave();
  }

  private enter(offset: number, width: number): boolean {
    if (!Number.isInteger(offset) || offset < 0 || offset + width > 4096 || offset % width !== 0) {
      throw new RangeError(`magic page offset ${offset} (width ${width}) is outside the page`);
    }
    if (!this.alive) return false;
    if (this.shared.lockLive(this.domid, this.page, Dp.MAGIC_LOCK)) return true;
    this.alive = false;
    return false;
  }

  private leave(): void {
    this.shared.unlock(this.page + Dp.MAGIC_LOCK);
  }
}
