/**
 * XENMEM_* (memory_op): a guest's physmap as the guest changes it — populate_physmap gives
 * empty guest frames fresh RAM, decrease_reservation takes RAM away (balloon-style, making
 * room for grant mappings), current/maximum_reservation report its size, and add_to_physmap
 * places the hypervisor's shared_info page or a grant-table frame at a guest frame of its
 * choice (a RAM frame there is freed first, as Xen does for a replaced page). The guest is
 * auto-translated, so frame numbers are guest frames (GFNs); extent arrays are guest-virtual.
 * Only order-0 extents; a domain other than DOMID_SELF must pass the XSM hook and run on this
 * pCPU.
 */
import {
  DOMID_SELF,
  EFAULT,
  EINVAL,
  ENOSYS,
  ESRCH,
  XENMAPIDX_grant_table_status,
  XENMAPSPACE_grant_table,
  XENMAPSPACE_shared_info,
  XENMEM_add_to_physmap,
  XENMEM_current_reservation,
  XENMEM_decrease_reservation,
  XENMEM_maximum_reservation,
  XENMEM_populate_physmap,
  xen_add_to_physmap,
  xen_memory_reservation,
} from './abi/xen.ts';
import type { Domain } from './domain.ts';
import type { Mfn } from './frames.ts';
import { copyFromGuest, GuestStruct } from './guest_access.ts';
import type { Gfn } from './p2m.ts';
import type { SchedHost } from './sched_op.ts';
import type { Vcpu } from './vcpu.ts';
import { xsm_memory_op, type XsmPolicy } from './xsm.ts';

const MAX_EXTENTS = 1 << 16;

function target(host: SchedHost & { xsm: XsmPolicy }, v: Vcpu, domid: number): Domain | number {
  const me = v.domain.id;
  const d = domid === DOMID_SELF ? me : domid;
  const denied = xsm_memory_op(host.xsm, me, d);
  if (denied) return denied;
  return host.localDomain(d) ?? -ESRCH;
}

export function memoryOp(host: SchedHost & { xsm: XsmPolicy }, v: Vcpu, cmd: number, arg: number): number {
  switch (cmd) {
    case XENMEM_populate_physmap:
    case XENMEM_decrease_reservation: {
      const f = xen_memory_reservation;
      const s = GuestStruct.read(v, arg, f.BYTES);
      if (!s) return -EFAULT;
      const d = target(host, v, s.u16(f.domid));
      if (typeof d === 'number') return d;
      const n = s.u64(f.nr_extents);
      if (n < 0 || n > MAX_EXTENTS || s.u32(f.extent_order) !== 0) return -EINVAL;
      const list = s.u64(f.extent_start);
      const raw = copyFromGuest(v, list, n * 8);
      if (!raw) return -EFAULT;
      const gfns = new GuestStruct(raw);
      let done = 0;
      for (; done < n; done++) {
        const gfn = gfns.u64(done * 8) as Gfn;
        if (cmd === XENMEM_populate_physmap) {
          if (!d.populate(gfn)) break;
        } else if (!d.depopulate(gfn, (mfn) => d.pv!.frameMappedByOthers(mfn))) break;
      }
      return done;
    }
    case XENMEM_current_reservation:
    case XENMEM_maximum_reservation: {
      const s = GuestStruct.read(v, arg, 2);
      if (!s) return -EFAULT;
      const d = target(host, v, s.u16(0));
      if (typeof d === 'number') return d;
      return cmd === XENMEM_current_reservation ? d.totPages : d.maxPages;
    }
    case XENMEM_add_to_physmap: {
      const f = xen_add_to_physmap;
      const s = GuestStruct.read(v, arg, f.BYTES);
      if (!s) return -EFAULT;
      const d = target(host, v, s.u16(f.domid));
      if (typeof d === 'number') return d;
      return addToPhysmap(d, s.u32(f.space), s.u64(f.idx), s.u64(f.gpfn));
    }
  }
  return -ENOSYS;
}

/** Places a hypervisor frame (shared_info, grant frame `idx`) at guest frame `gfn`. */
export function addToPhysmap(d: Domain, space: number, idx: number, gfn: number): number {
  const pv = d.pv!;
  let mfn: number;
  if (space === XENMAPSPACE_shared_info) {
    if (idx !== 0) return -EINVAL;
    mfn = pv.sharedInfoMfn;
  } else if (space === XENMAPSPACE_grant_table) {
    if (idx & XENMAPIDX_grant_table_status || idx < 0) return -EINVAL; // v1 has no status frames
    mfn = pv.grantFrame(idx);
    if (mfn < 0) return -EINVAL;
  } else {
    return -ENOSYS;
  }
  if (!d.inSpan(gfn)) return -EINVAL;
  const kind = d.pageKind(gfn);
  if (kind === 'shared') return -EINVAL; // a grant mapping or another hypervisor page is there
  if (kind === 'ram' && !d.depopulate(gfn as Gfn, (m) => pv.frameMappedByOthers(m))) return -EINVAL;
  // One place per frame: a frame mapped before moves.
  const old = space === XENMAPSPACE_shared_info ? pv.sharedInfoGfn : pv.grantGfns[idx]!;
  if (old >= 0) d.unmapShared(old as Gfn);
  if (!d.mapShared(gfn as Gfn, mfn as Mfn, false)) return -EINVAL;
  if (space === XENMAPSPACE_shared_info) pv.sharedInfoGfn = gfn;
  else pv.grantGfns[idx] = gfn;
  return 0;
}
