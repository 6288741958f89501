/**
 * The hypercall dispatcher: an `ecall` from VS-mode with a7 = DOMUS_HYPERCALL_EID (abi/xen.ts)
 * is a Xen hypercall — a6 the number (__HYPERVISOR_*), a0..a5 the arguments, the result in a0
 * (a negative errno on failure). Struct arguments are guest-virtual pointers read and written
 * with guest_access.ts (-EFAULT when they do not translate). This file decodes the structs of
 * event_channel_op and grant_table_op and hands them to evtchn.ts and grant_table.ts; memory_op
 * (memory_op.ts), sched_op and vcpu_op (sched_op.ts), console_io, xen_version and hvm_op
 * (platform_op.ts) have their own files. Unknown hypercalls and sub-ops are -ENOSYS.
 *
 * Grant ops take an array of `count` structs (a2) and report per-op status in each struct, as
 * Xen does; the hypercall itself fails only when the array cannot be read or written.
 */
import { HS } from '../machine/hart/layout.ts';
import {
  __HYPERVISOR_console_io,
  __HYPERVISOR_event_channel_op,
  __HYPERVISOR_grant_table_op,
  __HYPERVISOR_hvm_op,
  __HYPERVISOR_memory_op,
  __HYPERVISOR_sched_op,
  __HYPERVISOR_vcpu_op,
  __HYPERVISOR_xen_version,
  EFAULT,
  EINVAL,
  ENOSYS,
  evtchn_alloc_unbound,
  evtchn_bind_interdomain,
  evtchn_bind_ipi,
  evtchn_bind_virq,
  evtchn_port_arg,
  evtchn_status,
  EVTCHNOP_alloc_unbound,
  EVTCHNOP_bind_interdomain,
  EVTCHNOP_bind_ipi,
  EVTCHNOP_bind_virq,
  EVTCHNOP_close,
  EVTCHNOP_send,
  EVTCHNOP_status,
  EVTCHNOP_unmask,
  gnttab_copy,
  gnttab_get_version,
  gnttab_map_grant_ref,
  gnttab_query_size,
  gnttab_setup_table,
  gnttab_unmap_grant_ref,
  GNTTABOP_copy,
  GNTTABOP_get_version,
  GNTTABOP_map_grant_ref,
  GNTTABOP_query_size,
  GNTTABOP_set_version,
  GNTTABOP_setup_table,
  GNTTABOP_unmap_grant_ref,
  GNTST_bad_virt_addr,
} from './abi/xen.ts';
import * as ev from './evtchn.ts';
import * as gt from './grant_table.ts';
import { GuestStruct } from './guest_access.ts';
import { memoryOp } from './memory_op.ts';
import type { Gfn } from './p2m.ts';
import { consoleIo, hvmOp, xenVersion } from './platform_op.ts';
import { schedOp, vcpuOp, type SchedHost } from './sched_op.ts';
import type { Vcpu } from './vcpu.ts';

/** What hypercalls need from the hypervisor: event channels, grants, scheduling. */
export interface HypercallHost extends gt.GnttabHost, SchedHost {}

const TWO32 = 4294967296;
const MAX_BATCH = 512;

/** Argument `i` as a signed 64-bit number (guest pointers: upper-half addresses are negative). */
export function argS(v: Vcpu, i: number): number {
  const X = v.hart.X;
  return (X[2 * (10 + i) + 1]! | 0) * TWO32 + (X[2 * (10 + i)]! >>> 0);
}

/** Argument `i` as an unsigned 32-bit number (C `unsigned int` arguments). */
export function argU32(v: Vcpu, i: number): number {
  return v.hart.X[2 * (10 + i)]! >>> 0;
}

/** Performs the hypercall pending on `v` and steps past its ecall. */
export function handleHypercall(host: HypercallHost, v: Vcpu): void {
  const h = v.hart;
  const lo = (h.S[HS.PC_LO]! + 4) | 0;
  if (lo >>> 0 < 4) h.S[HS.PC_HI] = (h.S[HS.PC_HI]! + 1) | 0;
  h.S[HS.PC_LO] = lo;
  const nr = h.X[2 * 16]! >>> 0;
  const ret = dispatch(host, v, nr);
  h.setXNumber(10, ret);
  if (ret < 0) h.setX(10, ret | 0, -1);
}

function dispatch(host: HypercallHost, v: Vcpu, nr: number): number {
  switch (nr) {
    case __HYPERVISOR_event_channel_op:
      return eventChannelOp(host, v, argU32(v, 0), argS(v, 1));
    case __HYPERVISOR_grant_table_op:
      return grantTableOp(host, v, argU32(v, 0), argS(v, 1), argU32(v, 2));
    case __HYPERVISOR_memory_op:
      return memoryOp(host, v, argU32(v, 0), argS(v, 1));
    case __HYPERVISOR_sched_op:
      return schedOp(host, v, argU32(v, 0), argS(v, 1));
    case __HYPERVISOR_vcpu_op:
      return vcpuOp(host, v, argU32(v, 0), argU32(v, 1), argS(v, 2));
    case __HYPERVISOR_console_io:
      return consoleIo(host, v, argU32(v, 0), argU32(v, 1), argS(v, 2));
    case __HYPERVISOR_xen_version:
      return xenVersion(v, argU32(v, 0), argS(v, 1));
    case __HYPERVISOR_hvm_op:
      return hvmOp(host, v, argU32(v, 0), argS(v, 1));
  }
  return -ENOSYS;
}

function eventChannelOp(x: HypercallHost, v: Vcpu, cmd: number, arg: number): number {
  const me = v.domain.id;
  const rw = (size: number, f: (s: GuestStruct) => number): number => {
    const s = GuestStruct.read(v, arg, size);
    if (!s) return -EFAULT;
    const r = f(s);
    if (r < 0) return r;
    return s.write(v, arg) ? 0 : -EFAULT;
  };
  switch (cmd) {
    case EVTCHNOP_alloc_unbound:
      return rw(evtchn_alloc_unbound.BYTES, (s) => {
        const p = ev.evtchn_alloc_unbound(
          x,
          me,
          s.u16(evtchn_alloc_unbound.dom),
          s.u16(evtchn_alloc_unbound.remote_dom),
        );
        if (p >= 0) s.setU32(evtchn_alloc_unbound.port, p);
        return p;
      });
    case EVTCHNOP_bind_interdomain:
      return rw(evtchn_bind_interdomain.BYTES, (s) => {
        const f = evtchn_bind_interdomain;
        const p = ev.evtchn_bind_interdomain(x, me, s.u16(f.remote_dom), s.u32(f.remote_port));
        if (p >= 0) s.setU32(f.local_port, p);
        return p;
      });
    case EVTCHNOP_bind_virq:
      return rw(evtchn_bind_virq.BYTES, (s) => {
        const f = evtchn_bind_virq;
        const p = ev.evtchn_bind_virq(x, me, s.u32(f.virq), s.u32(f.vcpu));
        if (p >= 0) s.setU32(f.port, p);
        return p;
      });
    case EVTCHNOP_bind_ipi:
      return rw(evtchn_bind_ipi.BYTES, (s) => {
        const p = ev.evtchn_bind_ipi(x, me, s.u32(evtchn_bind_ipi.vcpu));
        if (p >= 0) s.setU32(evtchn_bind_ipi.port, p);
        return p;
      });
    case EVTCHNOP_status:
      return rw(evtchn_status.BYTES, (s) => {
        const f = evtchn_status;
        const st = ev.evtchn_status(x, me, s.u16(f.dom), s.u32(f.port));
        if (typeof st === 'number') return st;
        s.setU32(f.status, st.status).setU32(f.vcpu, st.vcpu).setU32(f.u_dom, 0).setU32(f.u_port, 0);
        if (st.status === 4) s.setU32(f.u_virq, st.virq);
        else s.setU16(f.u_dom, st.dom).setU32(f.u_port, st.port);
        return 0;
      });
    case EVTCHNOP_close:
    case EVTCHNOP_send:
    case EVTCHNOP_unmask: {
      const s = GuestStruct.read(v, arg, evtchn_port_arg.BYTES);
      if (!s) return -EFAULT;
      const port = s.u32(evtchn_port_arg.port);
      if (cmd === EVTCHNOP_close) return ev.evtchn_close(x, me, port);
      if (cmd === EVTCHNOP_send) return ev.evtchn_send(x, me, port);
      return ev.evtchn_unmask(x, me, port);
    }
  }
  return -ENOSYS;
}

function grantTableOp(x: HypercallHost, v: Vcpu, cmd: number, arg: number, count: number): number {
  const d = v.domain;
  const pv = d.pv!;
  const me = d.id;
  const batch = (size: number, f: (s: GuestStruct) => void): number => {
    if (count > MAX_BATCH) return -EINVAL;
    for (let i = 0; i < count; i++) {
      const s = GuestStruct.read(v, arg + i * size, size);
      if (!s) return -EFAULT;
      f(s);
      if (!s.write(v, arg + i * size)) return -EFAULT;
    }
    return 0;
  };
  switch (cmd) {
    case GNTTABOP_map_grant_ref:
      return batch(gnttab_map_grant_ref.BYTES, (s) => {
        const f = gnttab_map_grant_ref;
        const r = gt.gnttab_map_grant_ref(
          x,
          pv,
          s.u64(f.host_addr),
          s.u32(f.flags),
          s.u32(f.ref),
          s.u16(f.dom),
        );
        s.setU16(f.status, r.status).setU32(f.handle, r.handle).setU64(f.dev_bus_addr, 0);
      });
    case GNTTABOP_unmap_grant_ref:
      return batch(gnttab_unmap_grant_ref.BYTES, (s) => {
        const f = gnttab_unmap_grant_ref;
        const addr = s.u64(f.host_addr);
        s.setU16(
          f.status,
          addr < 0 ? GNTST_bad_virt_addr : gt.gnttab_unmap_grant_ref(x, pv, addr, s.u32(f.handle)),
        );
      });
    case GNTTABOP_setup_table: {
      if (count !== 1) return -EINVAL;
      const f = gnttab_setup_table;
      const s = GuestStruct.read(v, arg, f.BYTES);
      if (!s) return -EFAULT;
      const dom = s.u16(f.dom);
      const nr = s.u32(f.nr_frames);
      let status = gt.gnttab_setup_table(x, me, dom, nr);
      if (status === 0) {
        // An auto-translated guest learns where its frames sit in its physmap (~0: not mapped).
        const target = dom === 0x7ff0 || dom === me ? pv : undefined;
        const list = new GuestStruct(new Uint8Array(8 * nr));
        for (let i = 0; i < nr; i++) list.setU64(i * 8, target ? (target.grantGfns[i] ?? -1) : -1);
        if (!list.write(v, s.u64(f.frame_list))) status = GNTST_bad_virt_addr;
      }
      s.setU16(f.status, status);
      return s.write(v, arg) ? 0 : -EFAULT;
    }
    case GNTTABOP_query_size: {
      if (count !== 1) return -EINVAL;
      const f = gnttab_query_size;
      const s = GuestStruct.read(v, arg, f.BYTES);
      if (!s) return -EFAULT;
      const [status, nr, max] = gt.gnttab_query_size(x, me, s.u16(f.dom));
      s.setU32(f.nr_frames, nr).setU32(f.max_nr_frames, max).setU16(f.status, status);
      return s.write(v, arg) ? 0 : -EFAULT;
    }
    case GNTTABOP_copy:
      return batch(gnttab_copy.BYTES, (s) => {
        const f = gnttab_copy;
        const local = (gfn: number, writable: boolean): number => {
          if (d.pageKind(gfn) !== 'ram') return -1;
          const mfn = d.p2m.mfnOf(gfn as Gfn);
          if (writable) {
            x.written(mfn);
            d.dirtyLog?.mark(gfn); // a grant copy into the caller's RAM (log-dirty mode)
          }
          return mfn;
        };
        const status = gt.gnttab_copy(
          x,
          me,
          { u: s.u64(f.source_u), domid: s.u16(f.source_domid), offset: s.u16(f.source_offset) },
          { u: s.u64(f.dest_u), domid: s.u16(f.dest_domid), offset: s.u16(f.dest_offset) },
          s.u16(f.len),
          s.u16(f.flags),
          local,
        );
        s.setU16(f.status, status);
      });
    case GNTTABOP_get_version: {
      const s = GuestStruct.read(v, arg, gnttab_get_version.BYTES);
      if (!s) return -EFAULT;
      s.setU32(gnttab_get_version.version, 1);
      return s.write(v, arg) ? 0 : -EFAULT;
    }
    case GNTTABOP_set_version: {
      const s = GuestStruct.read(v, arg, 4);
      if (!s) return -EFAULT;
      return s.u32(0) === 1 ? 0 : -EINVAL;
    }
  }
  return -ENOSYS;
}
