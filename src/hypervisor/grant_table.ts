/**
 * Grant tables, v1 (Xen's GNTTABOP_*): a domain (the granter) offers its pages to another by
 * writing grant_entry_v1 {flags, domid, frame} into its grant frames — hypervisor-owned machine
 * frames the guest maps with XENMEM_add_to_physmap — and the grantee maps a granted page into
 * its own P2M (map_grant_ref with GNTMAP_host_map at a guest-physical host_addr, as Xen does for
 * auto-translated guests), unmaps it, or copies through it (GNTTABOP_copy).
 *
 * GTF_* semantics are Xen's: a grant is usable only while its type is GTF_permit_access and its
 * domid is the caller; mapping sets GTF_reading (and GTF_writing for a writable mapping) with a
 * compare-and-exchange on the granter's entry, and they are cleared when the last mapping goes,
 * so a granter revokes by cmpxchg'ing flags to 0 only while they are clear. Failures are per-op
 * GNTST_* codes with Xen's choices: a grant not offered to the caller, revoked, or read-only for a
 * writable map is GNTST_general_error; a ref beyond the table is GNTST_bad_gntref; an unknown
 * domain GNTST_bad_domain; an XSM refusal GNTST_permission_denied.
 *
 * Cross-pCPU: the granter's entries and active entries live in machine memory under its
 * GNTTAB_LOCK; the granted frame is found by walking the granter's P2M in machine memory and
 * must be RAM the granter owns (pv_shared.ts). An active entry is four words [pin, mapping
 * domid, mfn, 0]; pin counts read-only maps in its low half and writable maps in its high half.
 * Only one domain at a time may hold a grant mapped (Xen's act->domid rule).
 */
import {
  DOMID_SELF,
  GNTCOPY_dest_gref,
  GNTCOPY_source_gref,
  GNTMAP_application_map,
  GNTMAP_contains_pte,
  GNTMAP_device_map,
  GNTMAP_host_map,
  GNTMAP_readonly,
  GNTST_bad_copy_arg,
  GNTST_bad_domain,
  GNTST_bad_gntref,
  GNTST_bad_handle,
  GNTST_bad_page,
  GNTST_general_error,
  GNTST_no_space,
  GNTST_okay,
  GNTST_permission_denied,
  GTF_permit_access,
  GTF_readonly,
  GTF_reading,
  GTF_type_mask,
  GTF_writing,
} from './abi/xen.ts';
import type { EvtchnHost } from './evtchn.ts';
import type { FrameAllocator, Mfn } from './frames.ts';
import { Dp, MAX_GRANT_FRAMES, type PvShared } from './pv_shared.ts';
import { xsm_grant_copy, xsm_grant_mapref, xsm_grant_setup, xsm_grant_unmapref } from './xsm.ts';

export type GrantRef = number & { readonly __brand: 'GrantRef' };
export type GrantHandle = number & { readonly __brand: 'GrantHandle' };

export interface GnttabHost extends EvtchnHost {
  readonly frames: FrameAllocator;
  /** The hypervisor wrote into machine frame `mfn` (drop decoded instructions of it). */
  written(mfn: number): void;
}

/** Where a grantee puts a mapped frame: its P2M (a guest), or nowhere (the toolstack as dom0). */
export interface GrantMapper {
  readonly domid: number;
  /** Maps `gfn` → `mfn` in the caller's P2M; false when `gfn` cannot take a mapping. */
  mapForeign(gfn: number, mfn: Mfn, readonly: boolean): boolean;
  unmapForeign(gfn: number): void;
  /** The caller's maptrack (handle → mapping). */
  readonly maptrack: (MaptrackEntry | undefined)[];
}

export interface MaptrackEntry {
  dom: number;
  ref: number;
  flags: number;
  /** Guest frame of the mapping (host_addr / 4096), or -1 for a host (dom0) mapping. */
  gfn: number;
  mfn: Mfn;
}

export const MAPTRACK_LIMIT = 1024;
const PIN_R = 1;
const PIN_W = 0x10000;

/** Word index of grant entry `ref` of the domain at `page`, or -1 beyond its table. */
function entryWord(s: PvShared, page: number, ref: number): number {
  if (!Number.isInteger(ref) || ref < 0) return -1;
  const frame = ref >>> 9;
  if (frame >= Atomics.load(s.pg, page + Dp.GNT_NR_FRAMES)) return -1;
  return s.frameWord(Atomics.load(s.pg, page + Dp.GNT_FRAME_MFN + frame)) + (ref & 511) * 2;
}

function activeWord(s: PvShared, page: number, ref: number): number {
  return s.frameWord(Atomics.load(s.pg, page + Dp.ACTIVE_MFN)) + ref * 4;
}

/** Grows a domain's grant table to `nr` frames (new frames zeroed, owned by the hypervisor). */
export function gnttab_grow(x: GnttabHost, domid: number, nr: number): boolean {
  const page = x.shared.page(domid);
  if (page < 0 || nr > MAX_GRANT_FRAMES) return false;
  if (!x.shared.lockLive(domid, page, Dp.GNTTAB_LOCK)) return false;
  try {
    for (let i = Atomics.load(x.shared.pg, page + Dp.GNT_NR_FRAMES); i < nr; i++) {
      const mfn = x.frames.alloc();
      x.shared.setOwner(mfn, domid, true);
      Atomics.store(x.shared.pg, page + Dp.GNT_FRAME_MFN + i, mfn);
      Atomics.store(x.shared.pg, page + Dp.GNT_NR_FRAMES, i + 1);
    }
    return true;
  } finally {
    x.shared.unlock(page + Dp.GNTTAB_LOCK);
  }
}

/** Machine frame of grant frame `i` of a domain, or -1. */
export function gnttab_frame(x: GnttabHost, domid: number, i: number): number {
  const page = x.shared.page(domid);
  if (page < 0 || i < 0 || i >= Atomics.load(x.shared.pg, page + Dp.GNT_NR_FRAMES)) return -1;
  return Atomics.load(x.shared.pg, page + Dp.GNT_FRAME_MFN + i);
}

/** GNTTABOP_query_size: [status, nr_frames, max_nr_frames]. */
export function gnttab_query_size(x: GnttabHost, caller: number, dom: number): [number, number, number] {
  const d = dom === DOMID_SELF ? caller : dom;
  const page = x.shared.page(d);
  if (page < 0) return [GNTST_bad_domain, 0, 0];
  if (xsm_grant_setup(x.xsm, caller, d)) return [GNTST_permission_denied, 0, 0];
  return [GNTST_okay, Atomics.load(x.shared.pg, page + Dp.GNT_NR_FRAMES), MAX_GRANT_FRAMES];
}

/** GNTTABOP_setup_table's checks and growth; the frame list is the caller's to write. */
export function gnttab_setup_table(x: GnttabHost, caller: number, dom: number, nr: number): number {
  const d = dom === DOMID_SELF ? caller : dom;
  if (x.shared.page(d) < 0) return GNTST_bad_domain;
  if (xsm_grant_setup(x.xsm, caller, d)) return GNTST_permission_denied;
  if (!Number.isInteger(nr) || nr < 0 || nr > MAX_GRANT_FRAMES) return GNTST_general_error;
  return gnttab_grow(x, d, nr) ? GNTST_okay : GNTST_general_error;
}

/**
 * Takes a pin on `granter`'s grant `ref` for `caller` (GTF_reading, and GTF_writing unless
 * `readonly`, set in the entry on first use) and returns the granted machine frame, or a GNTST_*
 * code (negative). The granter's GNTTAB_LOCK must be held.
 */
function pin(
  x: GnttabHost,
  caller: number,
  granter: number,
  page: number,
  ref: number,
  readonly: boolean,
): number {
  const s = x.shared;
  const e = entryWord(s, page, ref);
  if (e < 0) return GNTST_bad_gntref;
  const a = activeWord(s, page, ref);
  const i32 = s.i32;
  const pinNow = Atomics.load(i32, a);
  if (pinNow !== 0 && Atomics.load(i32, a + 1) !== caller) return GNTST_general_error;
  const needW = !readonly && pinNow >>> 16 === 0;
  if (pinNow === 0 || needW) {
    // Check the entry and set the in-use flags atomically against the granter's own updates.
    for (;;) {
      const w = Atomics.load(i32, e);
      const flags = w & 0xffff;
      const domid = w >>> 16;
      if ((flags & GTF_type_mask) !== GTF_permit_access || domid !== caller) return GNTST_general_error;
      if (!readonly && flags & GTF_readonly) return GNTST_general_error;
      const next = w | GTF_reading | (readonly ? 0 : GTF_writing);
      if (Atomics.compareExchange(i32, e, w, next) === w) break;
    }
  }
  let mfn = pinNow !== 0 ? Atomics.load(i32, a + 2) : -1;
  if (mfn < 0) {
    const gfn = Atomics.load(i32, e + 1) >>> 0;
    mfn = s.p2mLookup(page, gfn, !readonly);
    if (mfn < 0 || !s.ownsRam(granter, mfn)) {
      if (pinNow === 0) Atomics.and(i32, e, ~(GTF_reading | GTF_writing));
      else if (needW) Atomics.and(i32, e, ~GTF_writing);
      return GNTST_bad_page;
    }
  }
  Atomics.store(i32, a, pinNow + (readonly ? PIN_R : PIN_W));
  Atomics.store(i32, a + 1, caller);
  Atomics.store(i32, a + 2, mfn);
  return mfn;
}

/** Drops a pin taken by `pin`; clears GTF_writing / GTF_reading as the last users go. Lock held. */
function unpin(x: GnttabHost, page: number, ref: number, readonly: boolean): void {
  const s = x.shared;
  const i32 = s.i32;
  const a = activeWord(s, page, ref);
  const p = Atomics.load(i32, a) - (readonly ? PIN_R : PIN_W);
  Atomics.store(i32, a, p);
  const e = entryWord(s, page, ref);
  if (p >>> 16 === 0 && e >= 0) Atomics.and(i32, e, ~GTF_writing);
  if (p === 0) {
    if (e >= 0) Atomics.and(i32, e, ~GTF_reading);
    Atomics.store(i32, a + 1, 0);
    Atomics.store(i32, a + 2, -1);
  }
}

export interface MapResult {
  status: number;
  handle: number;
  mfn: number;
}

/** GNTTABOP_map_grant_ref for `m` (a guest mapping at host_addr, or a host mapping for dom0). */
export function gnttab_map_grant_ref(
  x: GnttabHost,
  m: GrantMapper,
  hostAddr: number,
  flags: number,
  ref: number,
  dom: number,
): MapResult {
  const fail = (status: number): MapResult => ({ status, handle: 0, mfn: -1 });
  if (!(flags & (GNTMAP_host_map | GNTMAP_device_map))) return fail(GNTST_bad_gntref);
  if (flags & (GNTMAP_device_map | GNTMAP_application_map | GNTMAP_contains_pte))
    return fail(GNTST_general_error);
  const page = x.shared.page(dom);
  if (page < 0 || dom === m.domid) return fail(GNTST_bad_domain);
  if (xsm_grant_mapref(x.xsm, m.domid, dom)) return fail(GNTST_permission_denied);
  let handle = m.maptrack.findIndex((e) => e === undefined);
  if (handle < 0) handle = m.maptrack.length;
  if (handle >= MAPTRACK_LIMIT) return fail(GNTST_no_space);
  const readonly = (flags & GNTMAP_readonly) !== 0;
  const gfn = hostAddr === -1 ? -1 : Math.floor(hostAddr / 4096);
  if (gfn !== -1 && hostAddr % 4096 !== 0) return fail(GNTST_general_error);
  if (!x.shared.lockLive(dom, page, Dp.GNTTAB_LOCK)) return fail(GNTST_bad_domain);
  try {
    const mfn = pin(x, m.domid, dom, page, ref, readonly);
    if (mfn < 0) return fail(mfn);
    if (gfn !== -1 && !m.mapForeign(gfn, mfn as Mfn, readonly)) {
      unpin(x, page, ref, readonly);
      return fail(GNTST_general_error);
    }
    m.maptrack[handle] = { dom, ref, flags, gfn, mfn: mfn as Mfn };
    return { status: GNTST_okay, handle, mfn };
  } finally {
    x.shared.unlock(page + Dp.GNTTAB_LOCK);
  }
}

/** GNTTABOP_unmap_grant_ref: host_addr (or -1 for a host mapping) must match the handle's. */
export function gnttab_unmap_grant_ref(
  x: GnttabHost,
  m: GrantMapper,
  hostAddr: number,
  handle: number,
): number {
  const t = Number.isInteger(handle) && handle >= 0 ? m.maptrack[handle] : undefined;
  if (!t) return GNTST_bad_handle;
  if (xsm_grant_unmapref(x.xsm, m.domid, t.dom)) return GNTST_permission_denied;
  const gfn = hostAddr === -1 ? -1 : Math.floor(hostAddr / 4096);
  if (gfn !== t.gfn) return GNTST_general_error;
  release(x, m, handle);
  return GNTST_okay;
}

function release(x: GnttabHost, m: GrantMapper, handle: number): void {
  const t = m.maptrack[handle]!;
  if (t.gfn !== -1) m.unmapForeign(t.gfn);
  m.maptrack[handle] = undefined;
  const page = x.shared.page(t.dom);
  // A granter that is gone kept the frame for us (pv_domain.ts): nothing to unpin.
  if (page < 0 || !x.shared.lockLive(t.dom, page, Dp.GNTTAB_LOCK)) return;
  try {
    unpin(x, page, t.ref, (t.flags & GNTMAP_readonly) !== 0);
  } finally {
    x.shared.unlock(page + Dp.GNTTAB_LOCK);
  }
}

/** Undoes every mapping `m` holds (its domain is dying, or the toolstack lets go). */
export function gnttab_release_mappings(x: GnttabHost, m: GrantMapper): void {
  for (let h = 0; h < m.maptrack.length; h++) if (m.maptrack[h]) release(x, m, h);
}

/** Whether a granter's frame `mfn` is mapped by someone (it must then outlive the granter). */
export function gnttab_frame_in_use(x: GnttabHost, domid: number, mfn: number): boolean {
  const page = x.shared.page(domid);
  if (page < 0) return false;
  const n = Atomics.load(x.shared.pg, page + Dp.GNT_NR_FRAMES) * 512;
  for (let r = 0; r < n; r++) {
    const a = activeWord(x.shared, page, r);
    if (Atomics.load(x.shared.i32, a) !== 0 && Atomics.load(x.shared.i32, a + 2) === mfn) return true;
  }
  return false;
}

/** One side of a GNTTABOP_copy. */
export interface CopyPtr {
  /** A grant ref (with the gref flag) or a frame of the caller. */
  u: number;
  domid: number;
  offset: number;
}

/**
 * GNTTABOP_copy of `len` bytes. `localFrame(gfn, writable)` gives the caller's own frames (for
 * sides without the gref flag, which must name DOMID_SELF). Returns the op's status.
 */
export function gnttab_copy(
  x: GnttabHost,
  caller: number,
  src: CopyPtr,
  dst: CopyPtr,
  len: number,
  flags: number,
  localFrame: (gfn: number, writable: boolean) => number,
): number {
  if (src.offset + len > 4096 || dst.offset + len > 4096 || len < 0) return GNTST_bad_copy_arg;
  const sides = [
    { p: src, gref: (flags & GNTCOPY_source_gref) !== 0, write: false },
    { p: dst, gref: (flags & GNTCOPY_dest_gref) !== 0, write: true },
  ];
  for (const s of sides) {
    if (!s.gref && s.p.domid !== DOMID_SELF && s.p.domid !== caller) return GNTST_permission_denied;
    if (s.gref && x.shared.page(s.p.domid) < 0) return GNTST_bad_domain;
  }
  if (xsm_grant_copy(x.xsm, caller, sides[0]!.gref ? src.domid : caller, sides[1]!.gref ? dst.domid : caller))
    return GNTST_permission_denied;
  const pinned: { dom: number; page: number; ref: number; readonly: boolean }[] = [];
  const mfns: number[] = [];
  try {
    for (const s of sides) {
      if (!s.gref) {
        const mfn = localFrame(s.p.u, s.write);
        if (mfn < 0) return GNTST_bad_page;
        mfns.push(mfn);
        continue;
      }
      const page = x.shared.page(s.p.domid);
      if (page < 0 || !x.shared.lockLive(s.p.domid, page, Dp.GNTTAB_LOCK)) return GNTST_bad_domain;
      try {
        const mfn = pin(x, caller, s.p.domid, page, s.p.u, !s.write);
        if (mfn < 0) return mfn;
        pinned.push({ dom: s.p.domid, page, ref: s.p.u, readonly: !s.write });
        mfns.push(mfn);
      } finally {
        x.shared.unlock(page + Dp.GNTTAB_LOCK);
      }
    }
    const u8 = x.shared.mem.u8;
    const from = x.frames.offsetOf(mfns[0]! as Mfn) + src.offset;
    const to = x.frames.offsetOf(mfns[1]! as Mfn) + dst.offset;
    u8.copyWithin(to, from, from + len);
    x.written(mfns[1]!);
    return GNTST_okay;
  } finally {
    for (const p of pinned) {
      if (!x.shared.lockLive(p.dom, p.page, Dp.GNTTAB_LOCK)) continue;
      unpin(x, p.page, p.ref, p.readonly);
      x.shared.unlock(p.page + Dp.GNTTAB_LOCK);
    }
  }
}
