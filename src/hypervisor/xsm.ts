/**
 * XSM: the security hooks every privileged paravirtual operation passes, as in Xen's
 * xsm/dummy.h. A policy answers each hook with 0 (allowed) or a negative errno; the hooks name
 * the caller and the target domain(s). The default policy is Xen's dummy policy: an operation
 * on oneself is allowed, an operation on another domain needs the caller to be privileged (the
 * control domain, domid 0: the toolstack acting as dom0), and the hooks Xen marks XSM_HOOK
 * (grant mapping, interdomain binding) are allowed, their own checks (who a grant or a port was
 * offered to) doing the work. A FLASK-style policy replaces `XsmPolicy` later.
 */
import { EPERM } from './abi/xen.ts';

/** The control domain's id: the toolstack acts as it. */
export const DOMID_CONTROL = 0;

export interface XsmPolicy {
  /** Whether `domid` is privileged (may act on other domains). */
  isPrivileged(domid: number): boolean;
  /** Whether an XSM_HOOK-level operation between the two domains is allowed. */
  allowHook(caller: number, target: number, op: string): boolean;
}

/** Xen's dummy policy: domid 0 is privileged; every XSM_HOOK operation is allowed. */
export const dummyPolicy: XsmPolicy = {
  isPrivileged: (domid) => domid === DOMID_CONTROL,
  allowHook: () => true,
};

function target(p: XsmPolicy, caller: number, d: number): number {
  return caller === d || p.isPrivileged(caller) ? 0 : -EPERM;
}

function hook(p: XsmPolicy, caller: number, d: number, op: string): number {
  return p.allowHook(caller, d, op) ? 0 : -EPERM;
}

/** EVTCHNOP_alloc_unbound on `d` for `remote` (XSM_TARGET). */
export function xsm_evtchn_unbound(p: XsmPolicy, caller: number, d: number, remote: number): number {
  return target(p, caller, d) || hook(p, caller, remote, 'evtchn_unbound');
}

/** EVTCHNOP_bind_interdomain to `remote` (XSM_HOOK). */
export function xsm_evtchn_interdomain(p: XsmPolicy, caller: number, remote: number): number {
  return hook(p, caller, remote, 'evtchn_interdomain');
}

/** EVTCHNOP_status of another domain's port (XSM_TARGET). */
export function xsm_evtchn_status(p: XsmPolicy, caller: number, d: number): number {
  return target(p, caller, d);
}

/** GNTTABOP_map_grant_ref of `granter`'s grant (XSM_HOOK). */
export function xsm_grant_mapref(p: XsmPolicy, caller: number, granter: number): number {
  return hook(p, caller, granter, 'grant_mapref');
}

/** GNTTABOP_unmap_grant_ref (XSM_HOOK). */
export function xsm_grant_unmapref(p: XsmPolicy, caller: number, granter: number): number {
  return hook(p, caller, granter, 'grant_unmapref');
}

/** GNTTABOP_setup_table / query_size on `d` (XSM_TARGET). */
export function xsm_grant_setup(p: XsmPolicy, caller: number, d: number): number {
  return target(p, caller, d);
}

/** GNTTABOP_copy between two domains (XSM_HOOK). */
export function xsm_grant_copy(p: XsmPolicy, caller: number, src: number, dst: number): number {
  return hook(p, caller, src, 'grant_copy') || hook(p, caller, dst, 'grant_copy');
}

/** XENMEM_* on `d` (XSM_TARGET). */
export function xsm_memory_op(p: XsmPolicy, caller: number, d: number): number {
  return target(p, caller, d);
}

/** HVMOP_get_param / HVMOP_set_param (XSM_TARGET; which params a guest may set is hvm_op's rule). */
export function xsm_hvm_param(p: XsmPolicy, caller: number, d: number, _set: boolean): number {
  return target(p, caller, d);
}
