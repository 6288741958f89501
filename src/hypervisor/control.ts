/**
 * The toolstack as dom0: domain 0 has no guest memory or vCPUs here — it is the host-side
 * toolstack (xenstored, consoled, backends) — but it owns event-channel ports and maps guests'
 * grants like Xen's dom0 does, through the same evtchn.ts / grant_table.ts code and XSM hooks
 * as a guest (as the privileged domain of the dummy policy). Its shared page is created once per
 * machine (by the first thread that uses it) with PCPU = -1: events for it are always posted to
 * its INCOMING bitmap, which any thread drains with `pending()`. Grant mappings are host
 * mappings: a view of the granted frame in machine memory, valid until `unmapGrant`.
 *
 * One ControlDomain object per thread; each keeps its own maptrack (handles are per thread).
 * dom0's INCOMING bitmap is one for the machine: the thread that serves dom0's ports (the
 * toolstack's, through `controlThreadHost`) is the one that calls `pending()`; an event for dom0
 * rings the control doorbell (pv_shared.ts), which that thread waits on.
 */
import { GNTST_okay } from './abi/xen.ts';
import * as ev from './evtchn.ts';
import type { Mfn } from './frames.ts';
import * as gt from './grant_table.ts';
import { Dp, EVTCHN_PORTS, EVTCHN_TABLE_FRAMES } from './pv_shared.ts';
import type { MachineResources } from './resources.ts';
import { DOMID_CONTROL, dummyPolicy, type XsmPolicy } from './xsm.ts';

/**
 * The `pcpu` of a thread that runs no pCPU (the toolstack's): no domain's shared page names it,
 * so every event it sends, dom0's own included, is posted through INCOMING and a doorbell.
 */
export const CONTROL_THREAD = -2;

/** What ControlDomain needs, for a thread that runs no Hypervisor (the toolstack's main thread). */
export function controlThreadHost(r: MachineResources, xsm: XsmPolicy = dummyPolicy): gt.GnttabHost {
  return {
    shared: r.pv,
    xsm,
    pcpu: CONTROL_THREAD,
    frames: r.frames,
    upcall: () => {}, // no domain runs on this thread
    written: () => {}, // nor any decoded guest code
  };
}

export class ControlDomain implements gt.GrantMapper {
  readonly domid = DOMID_CONTROL;
  readonly maptrack: (gt.MaptrackEntry | undefined)[] = [];

  constructor(private readonly x: gt.GnttabHost) {
    const s = x.shared;
    if (s.page(DOMID_CONTROL) >= 0) return;
    // Created once per machine, on first use; a lost race only costs a page and a table.
    const page = s.allocPage(DOMID_CONTROL);
    const table = x.frames.reserveForMachine(EVTCHN_TABLE_FRAMES);
    Atomics.store(s.pg, page + Dp.PCPU, -1);
    Atomics.store(s.pg, page + Dp.VCPUS, 1);
    Atomics.store(s.pg, page + Dp.EVTCHN_MFN, table);
    Atomics.store(s.pg, page + Dp.ACTIVE_MFN, table); // unused: dom0 grants nothing (no frames)
    ev.evtchn_init(x, page);
    if (s.page(DOMID_CONTROL) < 0) s.register(DOMID_CONTROL, page);
  }

  mapForeign(): boolean {
    return false; // host mappings only
  }

  unmapForeign(): void {}

  /** A dom0 port that `remoteDom` may bind to (EVTCHNOP_alloc_unbound). */
  allocUnbound(remoteDom: number): number {
    return ev.evtchn_alloc_unbound(this.x, this.domid, this.domid, remoteDom);
  }

  /** A port of guest `domid` that `remoteDom` may bind to (e.g. the xenstore ring's port). */
  allocUnboundFor(domid: number, remoteDom: number): number {
    return ev.evtchn_alloc_unbound(this.x, this.domid, domid, remoteDom);
  }

  bindInterdomain(remoteDom: number, remotePort: number): number {
    return ev.evtchn_bind_interdomain(this.x, this.domid, remoteDom, remotePort);
  }

  send(port: number): number {
    return ev.evtchn_send(this.x, this.domid, port);
  }

  close(port: number): number {
    return ev.evtchn_close(this.x, this.domid, port);
  }

  /** The dom0 ports that became pending since the last call (each reported once). */
  pending(): number[] {
    const s = this.x.shared;
    const page = s.page(this.domid);
    const out: number[] = [];
    if (page < 0 || Atomics.exchange(s.pg, page + Dp.INCOMING_ANY, 0) === 0) return out;
    for (let w = 0; w < EVTCHN_PORTS / 32; w++) {
      let bits = Atomics.exchange(s.pg, page + Dp.INCOMING + w, 0);
      while (bits !== 0) {
        const b = 31 - Math.clz32(bits);
        bits &= ~(1 << b);
        out.push(w * 32 + b);
      }
    }
    return out.sort((a, b) => a - b);
  }

  /** Maps `granter`'s grant `ref` for a backend: the frame's bytes, or a GNTST_* status. */
  mapGrant(granter: number, ref: number, readonly: boolean): { handle: number; bytes: Uint8Array } | number {
    const flags = 2 /* GNTMAP_host_map */ | (readonly ? 4 /* GNTMAP_readonly */ : 0);
    const r = gt.gnttab_map_grant_ref(this.x, this, -1, flags, ref, granter);
    if (r.status !== GNTST_okay) return r.status;
    const off = this.x.frames.offsetOf(r.mfn as Mfn);
    return { handle: r.handle, bytes: this.x.shared.mem.u8.subarray(off, off + 4096) };
  }

  unmapGrant(handle: number): number {
    return gt.gnttab_unmap_grant_ref(this.x, this, -1, handle);
  }
}
