/**
 * SCHEDOP_* (sched_op) and VCPUOP_* (vcpu_op). SCHEDOP_yield ends the vCPU's slice;
 * SCHEDOP_block sleeps until an event is pending for it (evtchn_upcall_pending) or one of its
 * enabled interrupts is; SCHEDOP_poll sleeps until one of the given ports is pending or the
 * timeout (absolute system time in ns: mtime × 100) passes, returning at once if one already
 * is; SCHEDOP_shutdown shuts the domain down with Xen's reason codes. vcpu_op offers
 * VCPUOP_is_up; the other sub-ops (initialise, up/down, timers, register_vcpu_info) are -ENOSYS
 * for now — vCPUs start through SBI HSM, and events reach vCPU 0's vcpu_info in shared_info.
 */
import {
  EFAULT,
  EINVAL,
  ENOENT,
  ENOSYS,
  SCHEDOP_block,
  SCHEDOP_poll,
  SCHEDOP_shutdown,
  SCHEDOP_yield,
  sched_poll,
  sched_shutdown,
  SHUTDOWN_crash,
  SHUTDOWN_poweroff,
  SHUTDOWN_reboot,
  SHUTDOWN_watchdog,
  VCPUOP_is_up,
} from './abi/xen.ts';
import type { Domain } from './domain.ts';
import { copyFromGuest, GuestStruct } from './guest_access.ts';
import type { Vcpu } from './vcpu.ts';
import { HartState } from './abi/sbi.ts';
import { EVTCHN_PORTS } from './pv_shared.ts';

/** What scheduling hypercalls need from the hypervisor. */
export interface SchedHost {
  /** A domain running on this pCPU. */
  localDomain(domid: number): Domain | undefined;
  /** Ends `v`'s slice (SCHEDOP_yield). */
  yieldVcpu(v: Vcpu): void;
  /** Host time in mtime ticks (10 MHz). */
  mtime(): number;
  /** Host console input for console_io reads; -1 when none. */
  consoleRead(d: Domain): number;
}

const MAX_POLL_PORTS = 128;

export function schedOp(host: SchedHost, v: Vcpu, cmd: number, arg: number): number {
  switch (cmd) {
    case SCHEDOP_yield:
      host.yieldVcpu(v);
      return 0;
    case SCHEDOP_block:
      v.pvBlock = 'block';
      v.pollPorts = [];
      return 0;
    case SCHEDOP_poll: {
      const f = sched_poll;
      const s = GuestStruct.read(v, arg, f.BYTES);
      if (!s) return -EFAULT;
      const n = s.u32(f.nr_ports);
      if (n > MAX_POLL_PORTS) return -EINVAL;
      const raw = copyFromGuest(v, s.u64(f.ports), n * 4);
      if (!raw) return -EFAULT;
      const ports: number[] = [];
      const dv = new DataView(raw.buffer);
      for (let i = 0; i < n; i++) {
        const p = dv.getUint32(i * 4, true);
        if (p >= EVTCHN_PORTS) return -EINVAL;
        ports.push(p);
      }
      const timeoutNs = s.u64(f.timeout);
      v.pollPorts = ports;
      // The timeout is in the guest's system time (ns); deadlines are kept in host ticks.
      v.pollDeadline = timeoutNs > 0 ? timeoutNs / 100 - v.domain.timeOffsetTicks : Infinity;
      v.pvBlock = 'poll';
      return 0;
    }
    case SCHEDOP_shutdown: {
      const s = GuestStruct.read(v, arg, sched_shutdown.BYTES);
      if (!s) return -EFAULT;
      const reason = s.u32(sched_shutdown.reason);
      const d = v.domain;
      if (reason === SHUTDOWN_poweroff) d.shutdown({ kind: 'poweroff', code: 0 });
      else if (reason === SHUTDOWN_reboot || reason === SHUTDOWN_watchdog) d.shutdown({ kind: 'reboot' });
      else if (reason === SHUTDOWN_crash)
        d.shutdown({ kind: 'crash', detail: 'the guest reported a crash (SCHEDOP_shutdown)' });
      else return -EINVAL;
      return 0;
    }
  }
  return -ENOSYS;
}

export function vcpuOp(_host: SchedHost, v: Vcpu, cmd: number, vcpuid: number, _arg: number): number {
  const t = v.domain.vcpus[vcpuid];
  if (!t) return -ENOENT;
  switch (cmd) {
    case VCPUOP_is_up:
      return t.hsm === HartState.STARTED ? 1 : 0;
  }
  return -ENOSYS;
}
