/**
 * Event channels (Xen's EVTCHNOP_*, 2-level ABI): ports in a per-domain table in machine memory,
 * pending and mask bitmaps in the domain's shared_info page, an upcall through vCPU 0's
 * vcpu_info (evtchn_upcall_pending, evtchn_pending_sel) that the hypervisor turns into a
 * virtual interrupt (hypercall.ts). Works between domains on different pCPUs: port tables live
 * in machine memory under per-domain spin locks (pv_shared.ts), and an event for a domain on
 * another pCPU is posted to its INCOMING bitmap and the pCPU's doorbell rung; that pCPU drains
 * it with `evtchn_drain_incoming` when the guest is not running.
 *
 * Return values are Xen's: a port or 0 on success, a negative errno otherwise, with the checks
 * of xen/common/event_channel.c (port 0 is reserved; sending on a closed port is -EINVAL;
 * sending on an unbound port is silently dropped; closing one end of an interdomain channel
 * leaves the other end unbound to the closer). Every operation on another domain passes an XSM
 * hook (xsm.ts). All events notify vCPU 0 (EVTCHNOP_bind_vcpu is not offered).
 *
 * A port table entry is two words: [state | vcpu << 4 | remote domid << 16, remote port or virq].
 */
import {
  DOMID_SELF,
  EBUSY,
  EEXIST,
  EINVAL,
  ENOENT,
  ENOSPC,
  ESRCH,
  EVTCHNSTAT_closed,
  EVTCHNSTAT_interdomain,
  EVTCHNSTAT_ipi,
  EVTCHNSTAT_unbound,
  EVTCHNSTAT_virq,
  NR_VIRQS,
  SHARED_INFO_evtchn_mask,
  SHARED_INFO_evtchn_pending,
  VCPU_INFO_evtchn_pending_sel,
  virqIsPerVcpu,
} from './abi/xen.ts';
import { Dp, EVTCHN_PORTS, type PvShared } from './pv_shared.ts';
import { xsm_evtchn_interdomain, xsm_evtchn_status, xsm_evtchn_unbound, type XsmPolicy } from './xsm.ts';

export type EvtchnPort = number & { readonly __brand: 'EvtchnPort' };

/** Xen's internal channel states (ECS_*). */
export const enum Ecs {
  FREE = 0,
  RESERVED = 1,
  UNBOUND = 2,
  INTERDOMAIN = 3,
  PIRQ = 4,
  VIRQ = 5,
  IPI = 6,
}

/** Word offset of the VIRQ → port map in a domain's shared page: [vcpu][virq], 0 = unbound. */
const DP_VIRQ = 512;
export const EVTCHN_VIRQ_VCPUS = 16;

/** What event channels need from the pCPU they run on. */
export interface EvtchnHost {
  readonly shared: PvShared;
  readonly xsm: XsmPolicy;
  /** This pCPU's index (Dp.PCPU of the domains it runs). */
  readonly pcpu: number;
  /** A domain on this pCPU got an upcall (evtchn_upcall_pending went to 1): raise it, wake it. */
  upcall(domid: number): void;
}

export interface EvtchnStatus {
  status: number;
  vcpu: number;
  /** unbound: the remote domain; interdomain: the remote domain and port; virq: the VIRQ. */
  dom: number;
  port: number;
  virq: number;
}

function entry(x: EvtchnHost, page: number, port: number): number {
  return x.shared.frameWord(Atomics.load(x.shared.pg, page + Dp.EVTCHN_MFN)) + port * 2;
}

function stateOf(w0: number): Ecs {
  return (w0 & 15) as Ecs;
}

function set(
  x: EvtchnHost,
  page: number,
  port: number,
  state: Ecs,
  vcpu: number,
  dom: number,
  w1: number,
): void {
  const e = entry(x, page, port);
  Atomics.store(x.shared.i32, e, state | (vcpu << 4) | (dom << 16));
  Atomics.store(x.shared.i32, e + 1, w1);
}

/** Frees `port` (lock held) and, as Xen does, clears its pending bit so a re-bind starts clean. */
function free(x: EvtchnHost, page: number, port: number): void {
  set(x, page, port, Ecs.FREE, 0, 0, 0);
  const i32 = x.shared.i32;
  const bit = 1 << (port & 31);
  Atomics.and(x.shared.pg, page + Dp.INCOMING + (port >>> 5), ~bit);
  if (Atomics.load(x.shared.pg, page + Dp.PCPU) !== x.pcpu) return; // only the owner's pCPU writes shared_info
  const si = x.shared.frameWord(Atomics.load(x.shared.pg, page + Dp.SHARED_INFO_MFN));
  const w = si + SHARED_INFO_evtchn_pending / 4 + (port >>> 5);
  i32[w] = i32[w]! & ~bit;
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port > 0 && port < EVTCHN_PORTS;
}

/** Lowest free port of a domain whose lock is held; -ENOSPC if none. */
function freePort(x: EvtchnHost, page: number): number {
  const i32 = x.shared.i32;
  const base = entry(x, page, 0);
  for (let p = 1; p < EVTCHN_PORTS; p++) if (stateOf(i32[base + p * 2]!) === Ecs.FREE) return p;
  return -ENOSPC;
}

/** Prepares a new domain's port table (its frames are zero: every port FREE); port 0 is reserved. */
export function evtchn_init(x: EvtchnHost, page: number): void {
  set(x, page, 0, Ecs.RESERVED, 0, 0, 0);
}

function resolve(caller: number, dom: number): number {
  return dom === DOMID_SELF ? caller : dom;
}

/** EVTCHNOP_alloc_unbound: a port of `dom` that `remoteDom` may bind to. */
export function evtchn_alloc_unbound(x: EvtchnHost, caller: number, dom: number, remoteDom: number): number {
  const d = resolve(caller, dom);
  const r = resolve(caller, remoteDom);
  const page = x.shared.page(d);
  if (page < 0) return -ESRCH;
  const denied = xsm_evtchn_unbound(x.xsm, caller, d, r);
  if (denied) return denied;
  if (!x.shared.lockLive(d, page, Dp.EVTCHN_LOCK)) return -ESRCH;
  try {
    const port = freePort(x, page);
    if (port < 0) return port;
    set(x, page, port, Ecs.UNBOUND, 0, r, 0);
    return port;
  } finally {
    x.shared.unlock(page + Dp.EVTCHN_LOCK);
  }
}

/** EVTCHNOP_bind_interdomain: connects a new local port to `remoteDom`'s unbound `remotePort`. */
export function evtchn_bind_interdomain(
  x: EvtchnHost,
  caller: number,
  remoteDom: number,
  remotePort: number,
): number {
  const r = resolve(caller, remoteDom);
  const lpage = x.shared.page(caller);
  const rpage = x.shared.page(r);
  if (lpage < 0 || rpage < 0) return -ESRCH;
  const denied = xsm_evtchn_interdomain(x.xsm, caller, r);
  if (denied) return denied;
  if (!x.shared.lock2Live(caller, r, lpage, rpage, Dp.EVTCHN_LOCK)) return -ESRCH;
  try {
    const lport = freePort(x, lpage);
    if (lport < 0) return lport;
    if (!validPort(remotePort)) return -EINVAL;
    const w0 = Atomics.load(x.shared.i32, entry(x, rpage, remotePort));
    if (stateOf(w0) !== Ecs.UNBOUND || w0 >>> 16 !== caller) return -EINVAL;
    set(x, lpage, lport, Ecs.INTERDOMAIN, 0, r, remotePort);
    set(x, rpage, remotePort, Ecs.INTERDOMAIN, (w0 >>> 4) & 0xff, caller, lport);
    // Xen marks the new local port pending so that nothing sent before the bind is lost.
    evtchn_set_pending(x, caller, lport);
    return lport;
  } finally {
    x.shared.unlock2(lpage, rpage, Dp.EVTCHN_LOCK);
  }
}

/** EVTCHNOP_bind_virq. */
export function evtchn_bind_virq(x: EvtchnHost, caller: number, virq: number, vcpu: number): number {
  const page = x.shared.page(caller);
  if (page < 0) return -ESRCH;
  if (!Number.isInteger(virq) || virq < 0 || virq >= NR_VIRQS) return -EINVAL;
  if (!virqIsPerVcpu(virq) && vcpu !== 0) return -EINVAL;
  if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu >= Atomics.load(x.shared.pg, page + Dp.VCPUS))
    return -ENOENT;
  if (vcpu >= EVTCHN_VIRQ_VCPUS) return -EINVAL;
  if (!x.shared.lockLive(caller, page, Dp.EVTCHN_LOCK)) return -ESRCH;
  try {
    const slot = page + DP_VIRQ + vcpu * NR_VIRQS + virq;
    if (x.shared.pg[slot] !== 0) return -EEXIST;
    const port = freePort(x, page);
    if (port < 0) return port;
    set(x, page, port, Ecs.VIRQ, vcpu, 0, virq);
    x.shared.pg[slot] = port;
    return port;
  } finally {
    x.shared.unlock(page + Dp.EVTCHN_LOCK);
  }
}

/** EVTCHNOP_bind_ipi. */
export function evtchn_bind_ipi(x: EvtchnHost, caller: number, vcpu: number): number {
  const page = x.shared.page(caller);
  if (page < 0) return -ESRCH;
  if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu >= Atomics.load(x.shared.pg, page + Dp.VCPUS))
    return -ENOENT;
  if (!x.shared.lockLive(caller, page, Dp.EVTCHN_LOCK)) return -ESRCH;
  try {
    const port = freePort(x, page);
    if (port < 0) return port;
    set(x, page, port, Ecs.IPI, vcpu, 0, 0);
    return port;
  } finally {
    x.shared.unlock(page + Dp.EVTCHN_LOCK);
  }
}

/** EVTCHNOP_close (also used when a domain dies, for each of its ports). */
export function evtchn_close(x: EvtchnHost, domid: number, port: number): number {
  const page = x.shared.page(domid);
  if (page < 0) return -ESRCH;
  if (!validPort(port)) return -EINVAL;
  for (;;) {
    const w0 = Atomics.load(x.shared.i32, entry(x, page, port));
    const state = stateOf(w0);
    if (state === Ecs.FREE || state === Ecs.RESERVED) return -EINVAL;
    if (state !== Ecs.INTERDOMAIN) {
      if (!x.shared.lockLive(domid, page, Dp.EVTCHN_LOCK)) return -ESRCH;
      try {
        const now = Atomics.load(x.shared.i32, entry(x, page, port));
        if (now !== w0) continue;
        if (state === Ecs.VIRQ) {
          const vcpu = (w0 >>> 4) & 0xff;
          const virq = x.shared.i32[entry(x, page, port) + 1]!;
          x.shared.pg[page + DP_VIRQ + vcpu * NR_VIRQS + virq] = 0;
        }
        free(x, page, port);
        return 0;
      } finally {
        x.shared.unlock(page + Dp.EVTCHN_LOCK);
      }
    }
    // Interdomain: both ends change together, under both locks (taken in domid order).
    const r = w0 >>> 16;
    const rpage = x.shared.page(r);
    if (rpage < 0) {
      if (!x.shared.lockLive(domid, page, Dp.EVTCHN_LOCK)) return -ESRCH;
      const same = Atomics.load(x.shared.i32, entry(x, page, port)) === w0;
      if (same) free(x, page, port);
      x.shared.unlock(page + Dp.EVTCHN_LOCK);
      if (same) return 0;
      continue;
    }
    if (!x.shared.lock2Live(domid, r, page, rpage, Dp.EVTCHN_LOCK)) {
      if (x.shared.page(domid) < 0) return -ESRCH;
      continue; // the peer died meanwhile: close as a lone end
    }
    try {
      if (Atomics.load(x.shared.i32, entry(x, page, port)) !== w0) continue; // changed meanwhile: retry
      const rport = x.shared.i32[entry(x, page, port) + 1]!;
      const rw0 = Atomics.load(x.shared.i32, entry(x, rpage, rport));
      if (stateOf(rw0) === Ecs.INTERDOMAIN && rw0 >>> 16 === domid) {
        set(x, rpage, rport, Ecs.UNBOUND, (rw0 >>> 4) & 0xff, domid, 0);
      }
      free(x, page, port);
      return 0;
    } finally {
      x.shared.unlock2(page, rpage, Dp.EVTCHN_LOCK);
    }
  }
}

/** EVTCHNOP_send: notifies the other end of `port` (interdomain), or this domain (IPI). */
export function evtchn_send(x: EvtchnHost, domid: number, port: number): number {
  const page = x.shared.page(domid);
  if (page < 0) return -ESRCH;
  if (!validPort(port)) return -EINVAL;
  if (!x.shared.lockLive(domid, page, Dp.EVTCHN_LOCK)) return -ESRCH;
  const e = entry(x, page, port);
  const w0 = Atomics.load(x.shared.i32, e);
  const w1 = Atomics.load(x.shared.i32, e + 1);
  x.shared.unlock(page + Dp.EVTCHN_LOCK);
  switch (stateOf(w0)) {
    case Ecs.INTERDOMAIN:
      evtchn_set_pending(x, w0 >>> 16, w1);
      return 0;
    case Ecs.IPI:
      evtchn_set_pending(x, domid, port);
      return 0;
    case Ecs.UNBOUND:
      return 0; // silently dropped, as in Xen
    default:
      return -EINVAL;
  }
}

/** EVTCHNOP_status of `dom`'s `port`. */
export function evtchn_status(
  x: EvtchnHost,
  caller: number,
  dom: number,
  port: number,
): EvtchnStatus | number {
  const d = resolve(caller, dom);
  const page = x.shared.page(d);
  if (page < 0) return -ESRCH;
  const denied = xsm_evtchn_status(x.xsm, caller, d);
  if (denied) return denied;
  if (!Number.isInteger(port) || port < 0 || port >= EVTCHN_PORTS) return -EINVAL;
  if (!x.shared.lockLive(d, page, Dp.EVTCHN_LOCK)) return -ESRCH;
  const e = entry(x, page, port);
  const w0 = Atomics.load(x.shared.i32, e);
  const w1 = Atomics.load(x.shared.i32, e + 1);
  x.shared.unlock(page + Dp.EVTCHN_LOCK);
  const out: EvtchnStatus = { status: EVTCHNSTAT_closed, vcpu: (w0 >>> 4) & 0xff, dom: 0, port: 0, virq: 0 };
  switch (stateOf(w0)) {
    case Ecs.UNBOUND:
      out.status = EVTCHNSTAT_unbound;
      out.dom = w0 >>> 16;
      break;
    case Ecs.INTERDOMAIN:
      out.status = EVTCHNSTAT_interdomain;
      out.dom = w0 >>> 16;
      out.port = w1;
      break;
    case Ecs.VIRQ:
      out.status = EVTCHNSTAT_virq;
      out.virq = w1;
      break;
    case Ecs.IPI:
      out.status = EVTCHNSTAT_ipi;
      break;
    default:
      out.status = EVTCHNSTAT_closed;
  }
  return out;
}

/** EVTCHNOP_unmask: clears the mask bit and, if the port is pending, re-raises the upcall. */
export function evtchn_unmask(x: EvtchnHost, domid: number, port: number): number {
  const page = x.shared.page(domid);
  if (page < 0) return -ESRCH;
  if (!Number.isInteger(port) || port < 0 || port >= EVTCHN_PORTS) return -EINVAL;
  const si = x.shared.frameWord(Atomics.load(x.shared.pg, page + Dp.SHARED_INFO_MFN));
  const i32 = x.shared.i32;
  const bit = 1 << (port & 31);
  const maskW = si + SHARED_INFO_evtchn_mask / 4 + (port >>> 5);
  const pendW = si + SHARED_INFO_evtchn_pending / 4 + (port >>> 5);
  const wasMasked = (i32[maskW]! & bit) !== 0;
  i32[maskW] = i32[maskW]! & ~bit;
  if (wasMasked && i32[pendW]! & bit) markSelector(x, domid, si, port);
  return 0;
}

/** The VIRQ's port of a domain on this pCPU, or 0. */
export function evtchn_virq_port(x: EvtchnHost, domid: number, virq: number, vcpu: number): number {
  const page = x.shared.page(domid);
  if (page < 0 || vcpu >= EVTCHN_VIRQ_VCPUS) return 0;
  return x.shared.pg[page + DP_VIRQ + vcpu * NR_VIRQS + virq]!;
}

/** Raises a VIRQ of a domain (a no-op when the guest has not bound it). */
export function evtchn_send_virq(x: EvtchnHost, domid: number, virq: number, vcpu = 0): void {
  const port = evtchn_virq_port(x, domid, virq, vcpu);
  if (port) evtchn_set_pending(x, domid, port);
}

/**
 * Marks `port` of domain `domid` pending: in its shared_info when the domain runs on this pCPU,
 * otherwise in its INCOMING bitmap with a ring of its pCPU's doorbell.
 */
export function evtchn_set_pending(x: EvtchnHost, domid: number, port: number): void {
  const page = x.shared.page(domid);
  if (page < 0 || port <= 0 || port >= EVTCHN_PORTS) return;
  const i32 = x.shared.i32;
  const pcpu = Atomics.load(x.shared.pg, page + Dp.PCPU);
  if (pcpu !== x.pcpu) {
    Atomics.or(x.shared.pg, page + Dp.INCOMING + (port >>> 5), 1 << (port & 31));
    Atomics.store(x.shared.pg, page + Dp.INCOMING_ANY, 1);
    if (pcpu >= 0) x.shared.ring(pcpu);
    else x.shared.ringControl(); // -1: the control domain, on the toolstack's thread
    return;
  }
  const si = x.shared.frameWord(Atomics.load(x.shared.pg, page + Dp.SHARED_INFO_MFN));
  const bit = 1 << (port & 31);
  const pendW = si + SHARED_INFO_evtchn_pending / 4 + (port >>> 5);
  if (i32[pendW]! & bit) return;
  i32[pendW] = i32[pendW]! | bit;
  if (!(i32[si + SHARED_INFO_evtchn_mask / 4 + (port >>> 5)]! & bit)) markSelector(x, domid, si, port);
  else x.upcall(domid); // no upcall for a masked port, but SCHEDOP_poll on it wakes
}

/** Sets the selector bit of `port`'s word and evtchn_upcall_pending, and upcalls. */
function markSelector(x: EvtchnHost, domid: number, si: number, port: number): void {
  const i32 = x.shared.i32;
  const sel = port >>> 6;
  const selW = si + VCPU_INFO_evtchn_pending_sel / 4 + (sel >>> 5);
  i32[selW] = i32[selW]! | (1 << (sel & 31));
  const u8 = x.shared.mem.u8;
  u8[si * 4] = 1; // evtchn_upcall_pending, byte 0 of vcpu_info[0]
  x.upcall(domid); // raises the line, wakes SCHEDOP_block and SCHEDOP_poll sleepers
}

/** Moves events other pCPUs posted for `domid` (on this pCPU) into its shared_info. */
export function evtchn_drain_incoming(x: EvtchnHost, domid: number): void {
  const page = x.shared.page(domid);
  if (page < 0) return;
  if (Atomics.exchange(x.shared.pg, page + Dp.INCOMING_ANY, 0) === 0) return;
  for (let w = 0; w < EVTCHN_PORTS / 32; w++) {
    let bits = Atomics.exchange(x.shared.pg, page + Dp.INCOMING + w, 0);
    while (bits !== 0) {
      const b = 31 - Math.clz32(bits);
      bits &= ~(1 << b);
      evtchn_set_pending(x, domid, w * 32 + b);
    }
  }
}

/** Whether `port` is pending in a domain's shared_info (SCHEDOP_poll). */
export function evtchn_is_pending(x: EvtchnHost, domid: number, port: number): boolean {
  const page = x.shared.page(domid);
  if (page < 0 || port < 0 || port >= EVTCHN_PORTS) return false;
  const si = x.shared.frameWord(Atomics.load(x.shared.pg, page + Dp.SHARED_INFO_MFN));
  return (x.shared.i32[si + SHARED_INFO_evtchn_pending / 4 + (port >>> 5)]! & (1 << (port & 31))) !== 0;
}

/** Closes every port of a dying domain (interdomain peers see their ends become unbound). */
export function evtchn_destroy(x: EvtchnHost, domid: number): void {
  const page = x.shared.page(domid);
  if (page < 0) return;
  for (let p = 1; p < EVTCHN_PORTS; p++) {
    const s = stateOf(Atomics.load(x.shared.i32, entry(x, page, p)));
    if (s !== Ecs.FREE && s !== Ecs.RESERVED) evtchn_close(x, domid, p);
  }
}

/** Busy ports (a quick check for tests and `xl`). */
export function evtchn_ports_in_use(x: EvtchnHost, domid: number): number {
  const page = x.shared.page(domid);
  if (page < 0) return -EBUSY;
  let n = 0;
  for (let p = 1; p < EVTCHN_PORTS; p++)
    if (stateOf(Atomics.load(x.shared.i32, entry(x, page, p))) !== Ecs.FREE) n++;
  return n;
}
