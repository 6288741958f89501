/**
 * A domain's paravirtual state on the pCPU that runs it: its shared page (pv_shared.ts) and the
 * hypervisor frames it points at — shared_info, the event-channel port table, the active grant
 * entries, the grant frames — registered in the domain directory so that other pCPUs find them;
 * the domain's maptrack (the grants it has mapped); where the guest mapped shared_info and its
 * grant frames (XENMEM_add_to_physmap); and its HVM params, which the toolstack sets.
 *
 * `destroy` undoes it all in Xen's order: close every port (peers' ends become unbound), unmap
 * every grant the domain mapped, then free the frames — except RAM frames that another domain
 * still has mapped, which are leaked rather than handed out again while mapped. The shared page
 * goes back to its pool; a late lookup from another pCPU checks, under the page's lock, that the
 * page is still its domain's (Dp.ALIVE holds the domid), so a reused page is never mistaken.
 */
import { HVM_NR_PARAMS } from './abi/xen.ts';
import type { Domain } from './domain.ts';
import { evtchn_destroy, evtchn_init, EVTCHN_VIRQ_VCPUS } from './evtchn.ts';
import type { Mfn } from './frames.ts';
import {
  gnttab_frame,
  gnttab_frame_in_use,
  gnttab_grow,
  gnttab_release_mappings,
  type GnttabHost,
  type GrantMapper,
  type MaptrackEntry,
} from './grant_table.ts';
import type { Gfn } from './p2m.ts';
import { ACTIVE_TABLE_FRAMES, Dp, EVTCHN_TABLE_FRAMES, MAX_GRANT_FRAMES } from './pv_shared.ts';

export class PvDomain implements GrantMapper {
  readonly domid: number;
  /** Word index of the shared page (pv_shared.ts `pg`). */
  readonly page: number;
  readonly sharedInfoMfn: Mfn;
  readonly maptrack: (MaptrackEntry | undefined)[] = [];
  /** Guest frame where shared_info is mapped, or -1. */
  sharedInfoGfn = -1;
  /** The level last driven on the upcall line (hypervisor.ts). */
  lineLevel = false;
  /** Guest frame where each grant frame is mapped, or -1. */
  readonly grantGfns: number[] = new Array<number>(MAX_GRANT_FRAMES).fill(-1);
  private readonly evtchnMfn: Mfn;
  private readonly activeMfn: Mfn;

  constructor(
    private readonly x: GnttabHost,
    readonly domain: Domain,
  ) {
    const s = x.shared;
    this.domid = domain.id;
    this.page = s.allocPage(this.domid);
    this.sharedInfoMfn = x.frames.alloc();
    this.evtchnMfn = x.frames.allocContiguous(EVTCHN_TABLE_FRAMES);
    this.activeMfn = x.frames.allocContiguous(ACTIVE_TABLE_FRAMES);
    s.setOwner(this.sharedInfoMfn, this.domid, true);
    const pg = s.pg;
    Atomics.store(pg, this.page + Dp.PCPU, x.pcpu);
    Atomics.store(pg, this.page + Dp.VCPUS, domain.vcpuCount);
    Atomics.store(pg, this.page + Dp.P2M_ROOT, domain.p2m.root);
    Atomics.store(pg, this.page + Dp.SHARED_INFO_MFN, this.sharedInfoMfn);
    Atomics.store(pg, this.page + Dp.EVTCHN_MFN, this.evtchnMfn);
    Atomics.store(pg, this.page + Dp.ACTIVE_MFN, this.activeMfn);
    const active = s.frameWord(this.activeMfn);
    for (let r = 0; r < (ACTIVE_TABLE_FRAMES * 4096) / 16; r++) s.i32[active + r * 4 + 2] = -1;
    evtchn_init(x, this.page);
    s.register(this.domid, this.page);
    gnttab_grow(x, this.domid, 1);
  }

  // ---- GrantMapper -------------------------------------------------------------------------

  mapForeign(gfn: number, mfn: Mfn, readonly: boolean): boolean {
    return this.domain.mapShared(gfn as Gfn, mfn, readonly);
  }

  unmapForeign(gfn: number): void {
    this.domain.unmapShared(gfn as Gfn);
  }

  // ---- shared_info ------------------------------------------------------------------------

  /** vcpu_info[0].evtchn_upcall_pending. */
  get upcallPending(): boolean {
    return this.x.shared.mem.u8[this.x.shared.frameWord(this.sharedInfoMfn) * 4] !== 0;
  }

  /** Machine frame of grant frame `i` (growing the table to it), or -1 past the maximum. */
  grantFrame(i: number): number {
    if (i >= MAX_GRANT_FRAMES || !gnttab_grow(this.x, this.domid, i + 1)) return -1;
    return gnttab_frame(this.x, this.domid, i);
  }

  // ---- HVM params --------------------------------------------------------------------------

  getParam(index: number): number {
    const i32 = this.x.shared.pg;
    const w = this.page + Dp.HVM_PARAMS + index * 2;
    return (i32[w + 1]! >>> 0) * 4294967296 + (i32[w]! >>> 0);
  }

  setParam(index: number, value: number): void {
    if (index < 0 || index >= HVM_NR_PARAMS) throw new RangeError(`HVM param ${index} does not exist`);
    const i32 = this.x.shared.pg;
    const w = this.page + Dp.HVM_PARAMS + index * 2;
    i32[w] = value >>> 0;
    i32[w + 1] = Math.floor(value / 4294967296);
  }

  // ---- teardown ----------------------------------------------------------------------------

  /** Whether another domain has `mfn` (one of this domain's frames) mapped through a grant. */
  frameMappedByOthers(mfn: number): boolean {
    return gnttab_frame_in_use(this.x, this.domid, mfn);
  }

  /**
   * Closes the ports, drops this domain's grant mappings, unregisters it, and frees the PV
   * frames. Returns the RAM frames others still map (to keep out of the free pool).
   */
  destroy(): Set<number> {
    const x = this.x;
    evtchn_destroy(x, this.domid);
    gnttab_release_mappings(x, this);
    const inUse = new Set<number>();
    const nr = Atomics.load(x.shared.pg, this.page + Dp.GNT_NR_FRAMES) * 512;
    const active = x.shared.frameWord(this.activeMfn);
    for (let r = 0; r < nr; r++)
      if (x.shared.i32[active + r * 4]! !== 0) inUse.add(x.shared.i32[active + r * 4 + 2]!);
    for (let i = 0; i < MAX_GRANT_FRAMES; i++)
      if (this.grantGfns[i]! >= 0) this.domain.unmapShared(this.grantGfns[i] as Gfn);
    if (this.sharedInfoGfn >= 0) this.domain.unmapShared(this.sharedInfoGfn as Gfn);
    // Dead under both locks: whoever looked the page up earlier finds it dead when it locks.
    x.shared.unregister(this.domid, this.page);
    const grantFrames: number[] = [];
    for (let i = 0; i < Atomics.load(x.shared.pg, this.page + Dp.GNT_NR_FRAMES); i++)
      grantFrames.push(Atomics.load(x.shared.pg, this.page + Dp.GNT_FRAME_MFN + i));
    for (const f of [this.sharedInfoMfn, ...grantFrames]) {
      x.shared.clearOwner(f as Mfn);
      x.frames.freeFrame(f as Mfn);
    }
    for (let i = 0; i < EVTCHN_TABLE_FRAMES; i++) x.frames.freeFrame((this.evtchnMfn + i) as Mfn);
    for (let i = 0; i < ACTIVE_TABLE_FRAMES; i++) x.frames.freeFrame((this.activeMfn + i) as Mfn);
    x.shared.freePage(this.page);
    return inUse;
  }
}

export { EVTCHN_VIRQ_VCPUS };
