/**
 * Paravirtual state that every pCPU thread must see, kept in shared memory and touched only with
 * Atomics (or under the spin locks here): the domain directory (domid → the domain's shared
 * page), the frame owner table (which domain owns each machine frame, as Xen's page_info
 * owner), one doorbell per pCPU and one for the control domain's thread (dom0's events), and
 * each domain's shared page — a 4 KiB slot of a pool in
 * this shared buffer (`Dp` word layout below, in the `pg` view) that holds the domain's event-channel and grant-table locks,
 * the machine frames of its shared_info, port table, grant frames and active grant entries, its
 * P2M root, the events other pCPUs posted to it, and its HVM params.
 *
 * Locking: a domain's EVTCHN_LOCK guards its port table, GNTTAB_LOCK its grant frames' list and
 * active entries. Two domains' locks are taken in domid order. Locks are held for a few table
 * words at most, never across a guest memory access that can fault, and never while waiting for
 * anything, so spinning is cheap. Grant entry flags (in guest memory) are changed with
 * compare-and-exchange, as Xen does.
 *
 * Delivery across pCPUs: a sender on another pCPU never writes the target's shared_info (the
 * guest may be running there, and its own read-modify-writes of that page are not atomic with
 * ours); it sets the port's bit in the target's INCOMING bitmap and rings the target pCPU's
 * doorbell. The owning pCPU drains INCOMING between slices, when the guest is not running.
 */
import type { MachineMemory } from '../machine/memory.ts';
import type { Mfn } from './frames.ts';

/** Word offsets in a domain's shared page. */
export const enum Dp {
  /** domid + 1 while the domain lives, 0 once it is dead (the slot may then be reused). */
  ALIVE = 0,
  PCPU = 1,
  EVTCHN_LOCK = 2,
  GNTTAB_LOCK = 3,
  P2M_ROOT = 4,
  SHARED_INFO_MFN = 5,
  EVTCHN_MFN = 6,
  ACTIVE_MFN = 7,
  GNT_NR_FRAMES = 8,
  INCOMING_ANY = 9,
  VCPUS = 10,
  /** 1 while the slot belongs to a domain (taken by compare-and-exchange). */
  IN_USE = 11,
  /**
   * Guards the toolstack's accesses to the domain's magic (xenstore) page from another thread
   * against the domain's death: `unregister` takes it too, and the page's frame is freed only
   * after that (magic_page.ts).
   */
  MAGIC_LOCK = 12,
  /** The magic page's machine frame + 1 (0: none) and its guest frame, pinned for the domain's life. */
  MAGIC_MFN = 13,
  MAGIC_GFN = 14,
  GNT_FRAME_MFN = 16, // MAX_GRANT_FRAMES words
  INCOMING = 64, // EVTCHN_PORTS / 32 words
  HVM_PARAMS = 256, // HVM_NR_PARAMS × (lo, hi)
}

/** Ports per domain (the 2-level ABI's limit) and the port table's frames (8 bytes a port). */
export const EVTCHN_PORTS = 4096;
export const EVTCHN_TABLE_FRAMES = (EVTCHN_PORTS * 8) / 4096;
/** Grant table frames a domain may have (v1: 512 entries each), and the active table's frames. */
export const MAX_GRANT_FRAMES = 4;
export const MAX_GRANT_REFS = MAX_GRANT_FRAMES * 512;
export const ACTIVE_TABLE_FRAMES = (MAX_GRANT_REFS * 16) / 4096;

const MAX_PCPUS = 64;
const DIRECTORY_SLOTS = 0x8000;
/** The control domain's doorbell (the toolstack's thread; evtchn.ts rings it for dom0's ports). */
const CONTROL_DOORBELL = MAX_PCPUS + DIRECTORY_SLOTS;
const HEADER_WORDS = MAX_PCPUS + DIRECTORY_SLOTS + 4;
/** Shared pages in the pool: the most domains (plus the control domain) alive at once. */
export const PV_PAGE_SLOTS = 128;
const PAGE_WORDS = 1024;
/** Owner table: one Uint16 per frame; 0 = none, else domid + 1 (owner of RAM) or | 0x8000 (xenheap). */
const OWNER_NONE = 0;
export const OWNER_XENHEAP = 0x8000;

export class PvShared {
  private readonly hdr: Int32Array;
  private readonly owners: Uint16Array;
  /** Machine memory as words (port tables, grant frames, active entries, shared_info). */
  readonly i32: Int32Array;
  /** The shared pages' pool as words: a page index from `page()` indexes this. */
  readonly pg: Int32Array;

  constructor(
    readonly mem: MachineMemory,
    readonly sab: SharedArrayBuffer,
  ) {
    this.hdr = new Int32Array(sab, 0, HEADER_WORDS);
    this.pg = new Int32Array(sab, HEADER_WORDS * 4, PV_PAGE_SLOTS * PAGE_WORDS);
    this.owners = new Uint16Array(sab, (HEADER_WORDS + PV_PAGE_SLOTS * PAGE_WORDS) * 4, mem.ramPages);
    this.i32 = mem.i32;
  }

  /** Bytes of shared state a machine with `ramPages` frames needs. */
  static bytesFor(ramPages: number): number {
    return (HEADER_WORDS + PV_PAGE_SLOTS * PAGE_WORDS) * 4 + Math.ceil((ramPages * 2) / 4) * 4;
  }

  // ---- doorbells ---------------------------------------------------------------------------

  /** Tells pCPU `pcpu` that something was posted for one of its domains. */
  ring(pcpu: number): void {
    Atomics.add(this.hdr, pcpu, 1);
    Atomics.notify(this.hdr, pcpu);
  }

  doorbell(pcpu: number): number {
    return Atomics.load(this.hdr, pcpu);
  }

  /** Resolves when pCPU `pcpu`'s doorbell differs from `seen` or after `ms`. */
  waitDoorbell(pcpu: number, seen: number, ms: number): Promise<void> {
    return this.waitWord(pcpu, seen, ms);
  }

  /** Tells the control domain's thread that one of dom0's ports became pending. */
  ringControl(): void {
    Atomics.add(this.hdr, CONTROL_DOORBELL, 1);
    Atomics.notify(this.hdr, CONTROL_DOORBELL);
  }

  controlDoorbell(): number {
    return Atomics.load(this.hdr, CONTROL_DOORBELL);
  }

  /** Resolves when the control doorbell differs from `seen` or after `ms` (never blocks the thread). */
  waitControlDoorbell(seen: number, ms: number): Promise<void> {
    return this.waitWord(CONTROL_DOORBELL, seen, ms);
  }

  private waitWord(word: number, seen: number, ms: number): Promise<void> {
    const waitAsync = (
      Atomics as unknown as {
        waitAsync?: (a: Int32Array, i: number, v: number, t: number) => { async: boolean; value: unknown };
      }
    ).waitAsync;
    if (!waitAsync) return new Promise((r) => setTimeout(r, Math.min(ms, 5)));
    const w = waitAsync(this.hdr, word, seen, ms);
    return w.async ? (w.value as Promise<unknown>).then(() => undefined) : Promise.resolve();
  }

  // ---- directory ---------------------------------------------------------------------------

  /** Word index (into `pg`) of domain `domid`'s shared page; -1 if it has none or is dead. */
  page(domid: number): number {
    if (domid < 0 || domid >= DIRECTORY_SLOTS) return -1;
    const v = Atomics.load(this.hdr, MAX_PCPUS + domid);
    if (v === 0) return -1;
    const base = (v - 1) * PAGE_WORDS;
    return Atomics.load(this.pg, base + Dp.ALIVE) === domid + 1 ? base : -1;
  }

  /**
   * Takes a free shared page for `domid`, cleared but for its lock words (a late locker from
   * another pCPU may still hold one of them for a moment; it finds the page not its domain's
   * and lets go). Not yet alive or registered.
   */
  allocPage(domid: number): number {
    for (let slot = 0; slot < PV_PAGE_SLOTS; slot++) {
      const base = slot * PAGE_WORDS;
      if (Atomics.compareExchange(this.pg, base + Dp.IN_USE, 0, 1) !== 0) continue;
      for (let w = 0; w < PAGE_WORDS; w++)
        if (w !== Dp.IN_USE && w !== Dp.EVTCHN_LOCK && w !== Dp.GNTTAB_LOCK && w !== Dp.MAGIC_LOCK)
          Atomics.store(this.pg, base + w, 0);
      void domid;
      return base;
    }
    throw new RangeError(`no free paravirtual page slot: at most ${PV_PAGE_SLOTS} domains can live at once`);
  }

  /** Makes a page `domid`'s and publishes it in the directory. */
  register(domid: number, page: number): void {
    Atomics.store(this.pg, page + Dp.ALIVE, domid + 1);
    Atomics.store(this.hdr, MAX_PCPUS + domid, page / PAGE_WORDS + 1);
  }

  /** Kills a domain's page (under all its locks) and takes it out of the directory. */
  unregister(domid: number, page: number): void {
    this.lock(page + Dp.EVTCHN_LOCK);
    this.lock(page + Dp.GNTTAB_LOCK);
    this.lock(page + Dp.MAGIC_LOCK);
    Atomics.store(this.pg, page + Dp.ALIVE, 0);
    this.unlock(page + Dp.MAGIC_LOCK);
    this.unlock(page + Dp.GNTTAB_LOCK);
    this.unlock(page + Dp.EVTCHN_LOCK);
    Atomics.compareExchange(this.hdr, MAX_PCPUS + domid, page / PAGE_WORDS + 1, 0);
  }

  /** Returns an unregistered page to the pool. */
  freePage(page: number): void {
    Atomics.store(this.pg, page + Dp.IN_USE, 0);
  }

  /** Word index of a machine frame's first word. */
  frameWord(mfn: number): number {
    return (this.mem.ramOffset + mfn * 4096) >>> 2;
  }

  // ---- frame owners ------------------------------------------------------------------------

  setOwner(mfn: Mfn, domid: number, xenheap = false): void {
    Atomics.store(this.owners, mfn, (domid + 1) | (xenheap ? OWNER_XENHEAP : 0));
  }

  /** setOwner for each of `mfns` (a new domain's RAM). */
  setOwners(mfns: Int32Array, domid: number): void {
    for (let i = 0; i < mfns.length; i++) this.setOwner(mfns[i] as Mfn, domid);
  }

  clearOwner(mfn: Mfn): void {
    Atomics.store(this.owners, mfn, OWNER_NONE);
  }

  /** True when `mfn` is RAM that domain `domid` owns (not a xenheap frame, not another's). */
  ownsRam(domid: number, mfn: number): boolean {
    return mfn >= 0 && mfn < this.owners.length && Atomics.load(this.owners, mfn) === domid + 1;
  }

  // ---- locks -------------------------------------------------------------------------------

  /** Takes a lock word of a shared page (index into `pg`). */
  lock(word: number): void {
    while (Atomics.compareExchange(this.pg, word, 0, 1) !== 0) {
      // Held for a few words' update on another pCPU: spin.
    }
  }

  unlock(word: number): void {
    Atomics.store(this.pg, word, 0);
  }

  /**
   * Takes lock `off` of domain `domid`'s page if the page is still that domain's; false
   * (nothing held) if the domain died meanwhile (its page may even belong to another by now).
   */
  lockLive(domid: number, page: number, off: Dp): boolean {
    this.lock(page + off);
    if (Atomics.load(this.pg, page + Dp.ALIVE) === domid + 1) return true;
    this.unlock(page + off);
    return false;
  }

  /** Locks two live domains' locks of one kind in domid order (once when they are the same). */
  lock2Live(a: number, b: number, pa: number, pb: number, off: Dp): boolean {
    if (pa === pb) return this.lockLive(a, pa, off);
    const [first, second] =
      a < b
        ? [
            [a, pa],
            [b, pb],
          ]
        : [
            [b, pb],
            [a, pa],
          ];
    if (!this.lockLive(first[0]!, first[1]!, off)) return false;
    if (this.lockLive(second[0]!, second[1]!, off)) return true;
    this.unlock(first[1]! + off);
    return false;
  }

  unlock2(pa: number, pb: number, off: Dp): void {
    this.unlock(pa + off);
    if (pa !== pb) this.unlock(pb + off);
  }

  // ---- P2M from any pCPU -------------------------------------------------------------------

  /**
   * The machine frame a domain's P2M maps at `gfn` (walking its Sv39x4 table in machine memory,
   * so any pCPU can ask), or -1. `writable` requires a writable leaf.
   */
  p2mLookup(page: number, gfn: number, writable: boolean): number {
    const i32 = this.i32;
    const root = Atomics.load(this.pg, page + Dp.P2M_ROOT);
    if (gfn < 0 || gfn >= 2 ** 29) return -1;
    const idx = [Math.floor(gfn / 262144) & 0x7ff, Math.floor(gfn / 512) & 511, gfn & 511];
    let table = this.frameWord(root);
    const ramBasePage = this.mem.ramBase / 4096;
    for (let level = 0; level < 3; level++) {
      const slot = table + idx[level]! * 2;
      const lo = Atomics.load(i32, slot);
      const hi = Atomics.load(i32, slot + 1);
      if (!(lo & 1)) return -1;
      const ppn = (lo >>> 10) + (hi & 0x3fffff) * 4194304;
      const mfn = ppn - ramBasePage;
      if (mfn < 0 || mfn >= this.mem.ramPages) return -1;
      if (level === 2) {
        if (!(lo & 2) || (writable && !(lo & 4))) return -1;
        return mfn;
      }
      if (lo & 14) return -1; // a superpage: the P2M never makes one
      table = this.frameWord(mfn);
    }
    return -1;
  }
}
