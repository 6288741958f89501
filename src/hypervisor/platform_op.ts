/**
 * The small hypercalls: console_io (CONSOLEIO_write to the domain's console, CONSOLEIO_read
 * from its SBI console input), xen_version (version, extraversion, capabilities, features,
 * page size) and hvm_op's HVMOP_get_param / HVMOP_set_param for the params the toolstack sets
 * per domain (HVM_PARAM_STORE_PFN / STORE_EVTCHN / CONSOLE_PFN / CONSOLE_EVTCHN …). A guest
 * may read its own params and set only HVM_PARAM_CALLBACK_IRQ; the toolstack sets the others
 * through the hypervisor's API (Hypervisor.setHvmParam), as Xen's toolstack does.
 */
import {
  CONSOLEIO_read,
  CONSOLEIO_write,
  DOMID_SELF,
  EFAULT,
  EINVAL,
  ENOSYS,
  EPERM,
  ESRCH,
  HVM_NR_PARAMS,
  HVM_PARAM_CALLBACK_IRQ,
  HVMOP_get_param,
  HVMOP_set_param,
  XEN_CAPABILITIES_INFO_LEN,
  XEN_EXTRAVERSION_LEN,
  XEN_VERSION_MAJOR,
  XEN_VERSION_MINOR,
  XENFEAT_auto_translated_physmap,
  XENFEAT_hvm_callback_vector,
  XENVER_capabilities,
  XENVER_extraversion,
  XENVER_get_features,
  XENVER_pagesize,
  XENVER_version,
  xen_feature_info,
  xen_hvm_param,
} from './abi/xen.ts';
import { copyFromGuest, copyToGuest, GuestStruct } from './guest_access.ts';
import type { SchedHost } from './sched_op.ts';
import type { Vcpu } from './vcpu.ts';
import { xsm_hvm_param, type XsmPolicy } from './xsm.ts';

const MAX_CONSOLE_WRITE = 4096;

export function consoleIo(
  host: { consoleRead(d: Vcpu['domain']): number },
  v: Vcpu,
  cmd: number,
  count: number,
  buf: number,
): number {
  const d = v.domain;
  if (cmd === CONSOLEIO_write) {
    const n = Math.min(count, MAX_CONSOLE_WRITE);
    const bytes = copyFromGuest(v, buf, n);
    if (!bytes) return -EFAULT;
    d.consoleWrite(bytes);
    return n;
  }
  if (cmd === CONSOLEIO_read) {
    const out: number[] = [];
    while (out.length < count) {
      const c = host.consoleRead(d);
      if (c < 0) break;
      out.push(c);
    }
    return copyToGuest(v, buf, Uint8Array.from(out)) ? out.length : -EFAULT;
  }
  return -ENOSYS;
}

function cString(s: string, size: number): Uint8Array {
  const b = new Uint8Array(size);
  b.set(new TextEncoder().encode(s).subarray(0, size - 1));
  return b;
}

export function xenVersion(v: Vcpu, cmd: number, arg: number): number {
  switch (cmd) {
    case XENVER_version:
      return (XEN_VERSION_MAJOR << 16) | XEN_VERSION_MINOR;
    case XENVER_extraversion:
      return copyToGuest(v, arg, cString('-domus', XEN_EXTRAVERSION_LEN)) ? 0 : -EFAULT;
    case XENVER_capabilities:
      return copyToGuest(v, arg, cString('xen-3.0-riscv64', XEN_CAPABILITIES_INFO_LEN)) ? 0 : -EFAULT;
    case XENVER_get_features: {
      const s = GuestStruct.read(v, arg, xen_feature_info.BYTES);
      if (!s) return -EFAULT;
      const idx = s.u32(xen_feature_info.submap_idx);
      const map = idx === 0 ? (1 << XENFEAT_auto_translated_physmap) | (1 << XENFEAT_hvm_callback_vector) : 0;
      s.setU32(xen_feature_info.submap, map);
      return s.write(v, arg) ? 0 : -EFAULT;
    }
    case XENVER_pagesize:
      return 4096;
  }
  return -ENOSYS;
}

export function hvmOp(host: SchedHost & { xsm: XsmPolicy }, v: Vcpu, cmd: number, arg: number): number {
  if (cmd !== HVMOP_get_param && cmd !== HVMOP_set_param) return -ENOSYS;
  const f = xen_hvm_param;
  const s = GuestStruct.read(v, arg, f.BYTES);
  if (!s) return -EFAULT;
  const me = v.domain.id;
  const domid = s.u16(f.domid) === DOMID_SELF ? me : s.u16(f.domid);
  const index = s.u32(f.index);
  if (index >= HVM_NR_PARAMS) return -EINVAL;
  const denied = xsm_hvm_param(host.xsm, me, domid, cmd === HVMOP_set_param);
  if (denied) return denied;
  const d = host.localDomain(domid);
  if (!d?.pv) return -ESRCH;
  if (cmd === HVMOP_set_param) {
    if (index !== HVM_PARAM_CALLBACK_IRQ) return -EPERM;
    d.pv.setParam(index, s.u64(f.value));
    return 0;
  }
  s.setU64(f.value, d.pv.getParam(index));
  return s.write(v, arg) ? 0 : -EFAULT;
}
