/**
 * The SBI (v2.0) the hypervisor implements for its guests — their "firmware": BASE, TIME, IPI,
 * RFENCE, HSM, SRST, DBCN, STA and the legacy v0.1 calls. (The Domus hypercall extension,
 * DOMUS_HYPERCALL_EID, is dispatched before this, in exits.ts; BASE probe_extension reports it.) A guest's `ecall` from VS-mode
 * exits to the hypervisor (cause 10); `handleSbiCall` performs the call on the vCPU's registers
 * (a7 = extension, a6 = function, a0..a5 = arguments; a0 = error, a1 = value) and steps past
 * the ecall.
 *
 * Hart ids in hart masks are vCPU ids of the calling domain; a guest can only ever name its own
 * vCPUs. RFENCE is the hypervisor's own remote-fence path (a paravirtual TLB shootdown): the
 * target vCPUs' combined soft TLBs are flushed before the call returns.
 */
import { Irq } from '../machine/hart/csr_defs.ts';
import { HS } from '../machine/hart/layout.ts';
import {
  HartState,
  SBI_IMPL_ID_DOMUS,
  SBI_IMPL_VERSION,
  SBI_SPEC_VERSION,
  SBI_STA_STRUCT_BYTES,
  SbiBase,
  SbiDbcn,
  SbiEid,
  SbiError,
  SbiHsm,
  SbiRfence,
  SbiSrst,
  SrstType,
} from './abi/sbi.ts';
import { DOMUS_HYPERCALL_EID } from './abi/xen.ts';
import type { Domain } from './domain.ts';
import type { Vcpu } from './vcpu.ts';

/** What the SBI needs from the hypervisor around it. */
export interface SbiHost {
  /** Host time in mtime ticks (10 MHz). */
  mtime(): number;
  /** Makes a vCPU runnable (after HSM start, or an injected interrupt that woke it). */
  wake(v: Vcpu): void;
  /** Takes a vCPU out of scheduling (HSM stop). */
  stop(v: Vcpu): void;
  /** Host console input for SBI console reads (legacy getchar, DBCN read); -1 when none. */
  consoleRead(d: Domain): number;
}

const TWO32 = 4294967296;

function arg(v: Vcpu, i: number): number {
  return v.hart.X[2 * (10 + i)]!;
}

function argHi(v: Vcpu, i: number): number {
  return v.hart.X[2 * (10 + i) + 1]!;
}

/** An argument as an unsigned number (exact below 2^53). */
function argU(v: Vcpu, i: number): number {
  return (argHi(v, i) >>> 0) * TWO32 + (arg(v, i) >>> 0);
}

function ret(v: Vcpu, error: number, value = 0): void {
  v.hart.setX(10, error, error < 0 ? -1 : 0);
  v.hart.setX(11, value >>> 0, Math.floor(value / TWO32));
}

/** Targets of a hart mask: vCPUs `base + i` for each set bit i (base = -1: all vCPUs). */
function targets(
  d: Domain,
  maskLo: number,
  maskHi: number,
  baseLo: number,
  baseHi: number,
): Vcpu[] | undefined {
  if (baseLo === -1 && baseHi === -1) return d.vcpus;
  const base = (baseHi >>> 0) * TWO32 + (baseLo >>> 0);
  const out: Vcpu[] = [];
  for (let i = 0; i < 64; i++) {
    const bit = i < 32 ? (maskLo >>> i) & 1 : (maskHi >>> (i - 32)) & 1;
    if (!bit) continue;
    const v = d.vcpus[base + i];
    if (!v) return undefined;
    out.push(v);
  }
  return out;
}

function sendIpi(host: SbiHost, list: Vcpu[]): void {
  for (const t of list) if (t.inject(Irq.VSSIP)) host.wake(t);
}

/** Performs the SBI call pending on `v` (its exit was an ecall from VS-mode). */
export function handleSbiCall(host: SbiHost, v: Vcpu): void {
  const h = v.hart;
  const d = v.domain;
  const eid = h.X[2 * 17]! >>> 0;
  const fid = h.X[2 * 16]! >>> 0;
  // Step past the ecall first: HSM and SRST may change what runs next.
  const lo = (h.S[HS.PC_LO]! + 4) | 0;
  if (lo >>> 0 < 4) h.S[HS.PC_HI] = (h.S[HS.PC_HI]! + 1) | 0;
  h.S[HS.PC_LO] = lo;
  switch (eid) {
    case SbiEid.BASE:
      switch (fid) {
        case SbiBase.GET_SPEC_VERSION:
          return ret(v, SbiError.SUCCESS, SBI_SPEC_VERSION);
        case SbiBase.GET_IMPL_ID:
          return ret(v, SbiError.SUCCESS, SBI_IMPL_ID_DOMUS);
        case SbiBase.GET_IMPL_VERSION:
          return ret(v, SbiError.SUCCESS, SBI_IMPL_VERSION);
        case SbiBase.PROBE_EXTENSION:
          return ret(v, SbiError.SUCCESS, SUPPORTED.has(arg(v, 0) >>> 0) ? 1 : 0);
        case SbiBase.GET_MVENDORID:
        case SbiBase.GET_MARCHID:
        case SbiBase.GET_MIMPID:
          return ret(v, SbiError.SUCCESS, 0);
      }
      return ret(v, SbiError.NOT_SUPPORTED);

    case SbiEid.TIME:
    case SbiEid.LEGACY_SET_TIMER: {
      if (eid === SbiEid.TIME && fid !== 0) return ret(v, SbiError.NOT_SUPPORTED);
      setTimer(v, argU(v, 0));
      return eid === SbiEid.TIME ? ret(v, SbiError.SUCCESS) : undefined;
    }

    case SbiEid.IPI: {
      if (fid !== 0) return ret(v, SbiError.NOT_SUPPORTED);
      const list = targets(d, arg(v, 0), argHi(v, 0), arg(v, 1), argHi(v, 1));
      if (!list) return ret(v, SbiError.INVALID_PARAM);
      sendIpi(host, list);
      return ret(v, SbiError.SUCCESS);
    }
    case SbiEid.LEGACY_SEND_IPI:
    case SbiEid.LEGACY_REMOTE_FENCE_I:
    case SbiEid.LEGACY_REMOTE_SFENCE_VMA:
    case SbiEid.LEGACY_REMOTE_SFENCE_VMA_ASID: {
      // Legacy calls pass a pointer to an unsigned long hart mask (in guest virtual memory;
      // Linux passes physical-equal addresses only before paging, so treat it as optional).
      const mask = legacyMask(v);
      if (eid === SbiEid.LEGACY_SEND_IPI) sendIpi(host, mask);
      else for (const t of mask) t.hart.flushTlb(false);
      return;
    }
    case SbiEid.LEGACY_CLEAR_IPI:
      v.retract(Irq.VSSIP);
      return;

    case SbiEid.RFENCE: {
      const list = targets(d, arg(v, 0), argHi(v, 0), arg(v, 1), argHi(v, 1));
      if (!list) return ret(v, SbiError.INVALID_PARAM);
      switch (fid) {
        case SbiRfence.REMOTE_FENCE_I:
          // Decoded instructions are invalidated on every store: nothing is stale.
          return ret(v, SbiError.SUCCESS);
        case SbiRfence.REMOTE_SFENCE_VMA:
        case SbiRfence.REMOTE_SFENCE_VMA_ASID:
          for (const t of list) t.hart.flushTlb(false);
          return ret(v, SbiError.SUCCESS);
      }
      return ret(v, SbiError.NOT_SUPPORTED);
    }

    case SbiEid.HSM:
      return hsm(host, v, fid);

    case SbiEid.SRST: {
      if (fid !== SbiSrst.SYSTEM_RESET) return ret(v, SbiError.NOT_SUPPORTED);
      const type = arg(v, 0) >>> 0;
      const reason = arg(v, 1) >>> 0;
      if (type === SrstType.SHUTDOWN) d.shutdown({ kind: 'poweroff', code: reason === 1 ? 1 : 0 });
      else if (type === SrstType.COLD_REBOOT || type === SrstType.WARM_REBOOT) d.shutdown({ kind: 'reboot' });
      else return ret(v, SbiError.INVALID_PARAM);
      return ret(v, SbiError.SUCCESS);
    }
    case SbiEid.LEGACY_SHUTDOWN:
      d.shutdown({ kind: 'poweroff', code: 0 });
      return;

    case SbiEid.LEGACY_CONSOLE_PUTCHAR:
      d.consoleWrite([arg(v, 0) & 0xff]);
      return ret(v, 0);
    case SbiEid.LEGACY_CONSOLE_GETCHAR:
      return ret(v, host.consoleRead(d));

    case SbiEid.DBCN:
      return dbcn(host, v, fid);

    case SbiEid.STA: {
      // set_shmem(lo, hi, flags): on RV64 the address is all of a0 and a1 is its upper XLEN
      // bits (zero for any address we have); all-ones in both disables the record.
      if (fid !== 0) return ret(v, SbiError.NOT_SUPPORTED);
      const ones = (i: number) => arg(v, i) === -1 && argHi(v, i) === -1;
      if (ones(0) && ones(1)) {
        v.staGpa = -1;
        return ret(v, SbiError.SUCCESS);
      }
      if (arg(v, 2) !== 0 || argHi(v, 2) !== 0) return ret(v, SbiError.INVALID_PARAM);
      if (arg(v, 1) !== 0 || argHi(v, 1) !== 0) return ret(v, SbiError.INVALID_ADDRESS);
      const gpa = argU(v, 0);
      if (gpa % 64 !== 0) return ret(v, SbiError.INVALID_PARAM);
      if (!d.memory.write(gpa, new Uint8Array(SBI_STA_STRUCT_BYTES))) return ret(v, SbiError.INVALID_ADDRESS);
      v.staGpa = gpa;
      // The record counts from zero: steal before this call is not the guest's to see.
      v.staBaseMs = v.stealMs;
      return ret(v, SbiError.SUCCESS);
    }
  }
  ret(v, SbiError.NOT_SUPPORTED);
}

const SUPPORTED = new Set<number>([
  SbiEid.BASE,
  SbiEid.TIME,
  SbiEid.IPI,
  SbiEid.RFENCE,
  SbiEid.HSM,
  SbiEid.SRST,
  SbiEid.DBCN,
  SbiEid.STA,
  SbiEid.LEGACY_SET_TIMER,
  SbiEid.LEGACY_CONSOLE_PUTCHAR,
  SbiEid.LEGACY_CONSOLE_GETCHAR,
  SbiEid.LEGACY_CLEAR_IPI,
  SbiEid.LEGACY_SEND_IPI,
  SbiEid.LEGACY_REMOTE_FENCE_I,
  SbiEid.LEGACY_REMOTE_SFENCE_VMA,
  SbiEid.LEGACY_REMOTE_SFENCE_VMA_ASID,
  SbiEid.LEGACY_SHUTDOWN,
  DOMUS_HYPERCALL_EID, // the hypercall extension (hypercall.ts): probing finds it
]);

/** SBI set_timer: the deadline is in guest time (time + htimedelta); kept in host time. */
export function setTimer(v: Vcpu, guestTime: number): void {
  v.timerDeadline = guestTime - v.domain.timeOffsetTicks;
  v.retract(Irq.VSTIP);
}

/** The legacy calls' hart mask (a pointer to it in a0; 0 means all harts). */
function legacyMask(v: Vcpu): Vcpu[] {
  const ptr = argU(v, 0);
  const d = v.domain;
  if (ptr === 0) return d.vcpus;
  const m = d.memory.readU64(ptr);
  if (m === undefined) return d.vcpus;
  return d.vcpus.filter((_, i) => i < 53 && Math.floor(m / 2 ** i) % 2 === 1);
}

function hsm(host: SbiHost, v: Vcpu, fid: number): void {
  const d = v.domain;
  switch (fid) {
    case SbiHsm.HART_START: {
      const t = d.vcpus[arg(v, 0)];
      if (!t || argHi(v, 0) !== 0) return ret(v, SbiError.INVALID_PARAM);
      if (t.hsm !== HartState.STOPPED) return ret(v, SbiError.ALREADY_AVAILABLE);
      t.start(arg(v, 1), argHi(v, 1), argU(v, 2));
      host.wake(t);
      return ret(v, SbiError.SUCCESS);
    }
    case SbiHsm.HART_STOP:
      v.hsm = HartState.STOPPED;
      host.stop(v);
      return ret(v, SbiError.SUCCESS);
    case SbiHsm.HART_GET_STATUS: {
      const t = d.vcpus[arg(v, 0)];
      if (!t || argHi(v, 0) !== 0) return ret(v, SbiError.INVALID_PARAM);
      return ret(v, SbiError.SUCCESS, t.hsm);
    }
    case SbiHsm.HART_SUSPEND: {
      const type = arg(v, 0) >>> 0;
      if (type === 0) {
        // Default retentive suspend: like WFI; resumes after the ecall when an interrupt is pending.
        if (!v.hart.wakeable()) v.hart.S[HS.WFI] = 1;
        return ret(v, SbiError.SUCCESS);
      }
      return ret(v, SbiError.NOT_SUPPORTED);
    }
  }
  ret(v, SbiError.NOT_SUPPORTED);
}

function dbcn(host: SbiHost, v: Vcpu, fid: number): void {
  const d = v.domain;
  switch (fid) {
    case SbiDbcn.CONSOLE_WRITE: {
      // a1 = the buffer's address (all XLEN bits), a2 = the bits above XLEN: zero on RV64.
      const n = argU(v, 0);
      const gpa = argU(v, 1);
      if (arg(v, 2) !== 0 || argHi(v, 2) !== 0) return ret(v, SbiError.INVALID_PARAM);
      const len = Math.min(n, 4096);
      const buf = new Uint8Array(len);
      if (!d.memory.read(gpa, buf)) return ret(v, SbiError.INVALID_PARAM);
      d.consoleWrite(buf);
      return ret(v, SbiError.SUCCESS, len);
    }
    case SbiDbcn.CONSOLE_READ: {
      const n = argU(v, 0);
      const gpa = argU(v, 1);
      if (arg(v, 2) !== 0 || argHi(v, 2) !== 0) return ret(v, SbiError.INVALID_PARAM);
      const bytes: number[] = [];
      while (bytes.length < n) {
        const c = host.consoleRead(d);
        if (c < 0) break;
        bytes.push(c);
      }
      if (!d.memory.write(gpa, Uint8Array.from(bytes))) return ret(v, SbiError.INVALID_PARAM);
      return ret(v, SbiError.SUCCESS, bytes.length);
    }
    case SbiDbcn.CONSOLE_WRITE_BYTE:
      d.consoleWrite([arg(v, 0) & 0xff]);
      return ret(v, SbiError.SUCCESS);
  }
  ret(v, SbiError.NOT_SUPPORTED);
}
