/**
 * A virtual CPU: a hart state block in machine memory that the interpreter runs in VS/VU mode
 * (V=1) with `hostTraps`, so that every trap not delegated to the guest stops the run loop and
 * comes to the hypervisor (vSBI calls, guest-page faults on emulated devices, virtual
 * instructions). Besides the architectural state it carries what the hypervisor keeps per vCPU:
 * the SBI HSM state, the virtual timer deadline, steal-time bookkeeping, and scheduler links.
 *
 * A vCPU belongs to one domain and runs on one pCPU at a time; only the pCPU running it touches
 * its state block, except for interrupt injection (hvip bits), which other code does through
 * `inject`.
 */
import type { Bus } from '../machine/bus.ts';
import type { CodeCache } from '../machine/code_cache.ts';
import type { Clock } from '../machine/device.ts';
import { Csr, Irq, Mstatus, Priv } from '../machine/hart/csr_defs.ts';
import { hostCsrWrite } from '../machine/hart/csr.ts';
import { Hart, I_HVIP } from '../machine/hart/hart.ts';
import { HS } from '../machine/hart/layout.ts';
import type { MachineMemory } from '../machine/memory.ts';
import { HartState } from './abi/sbi.ts';
import type { Domain } from './domain.ts';
import { writeTimeDelta } from './domain_state.ts';
import type { SchedVcpu } from './sched/ops.ts';

/** Exceptions a guest handles itself (hedeleg): everything but VS ecalls and the faults we emulate. */
const GUEST_EXCEPTIONS =
  (1 << 0) |
  (1 << 1) |
  (1 << 2) |
  (1 << 3) |
  (1 << 4) |
  (1 << 5) |
  (1 << 6) |
  (1 << 7) |
  (1 << 8) |
  (1 << 12) |
  (1 << 13) |
  (1 << 15);

export class Vcpu implements SchedVcpu {
  readonly hart: Hart;
  pcpu = 0;
  /** SBI HSM state. */
  hsm: HartState = HartState.STOPPED;
  /** Blocked in WFI (or stopped): not runnable until an interrupt or HSM start. */
  blocked = true;
  /** When the guest's timer fires, in host mtime ticks (Infinity: not armed). */
  timerDeadline = Infinity;
  /** Guest physical address of the SBI STA steal-time record, or -1. */
  staGpa = -1;
  /** stealMs when the guest registered the record (the record counts from there). */
  staBaseMs = 0;
  /** Milliseconds this vCPU ran, waited runnable (steal), and when it last became runnable. */
  runMs = 0;
  stealMs = 0;
  runnableSince = -1;
  /** Sleeping in SCHEDOP_block ('block') or SCHEDOP_poll ('poll') until an event (sched_op.ts). */
  pvBlock: 'none' | 'block' | 'poll' = 'none';
  /** SCHEDOP_poll's ports and deadline (mtime ticks; Infinity: none). */
  pollPorts: number[] = [];
  pollDeadline = Infinity;
  /** Instructions retired (for statistics and the scheduler tests). */
  get instructions(): number {
    return this.hart.instret;
  }

  constructor(
    readonly domain: Domain,
    readonly vcpuId: number,
    blockIndex: number,
    env: { mem: MachineMemory; bus: Bus; code: CodeCache; clock: Clock },
  ) {
    this.hart = new Hart(blockIndex, env);
    this.hart.hostTraps = true;
    this.resetArch();
  }

  /** Sets the architectural state a guest starts from: VS-mode, paging off, the domain's P2M. */
  resetArch(): void {
    const h = this.hart;
    h.reset();
    h.S[HS.HARTID] = this.vcpuId;
    h.S[HS.EXIT_CAUSE] = -1;
    const hg = this.domain.p2m.hgatp();
    hostCsrWrite(h, Csr.hgatp, (BigInt(hg.hi >>> 0) << 32n) | BigInt(hg.lo >>> 0));
    hostCsrWrite(h, Csr.medeleg, BigInt(GUEST_EXCEPTIONS));
    hostCsrWrite(h, Csr.hedeleg, BigInt(GUEST_EXCEPTIONS));
    hostCsrWrite(h, Csr.hideleg, BigInt(Irq.VS_ALL));
    hostCsrWrite(h, Csr.mcounteren, 7n);
    hostCsrWrite(h, Csr.hcounteren, 7n);
    // What firmware leaves for the kernel on the bare board (OpenSBI enables cycle, time and
    // instret for U-mode): scounteren is not swapped for V=1, so the guest's value lives here.
    hostCsrWrite(h, Csr.scounteren, 7n);
    // HS-level FP state stays Dirty: the guest's own vsstatus.FS governs it.
    hostCsrWrite(h, Csr.mstatus, BigInt(Mstatus.FS));
    hostCsrWrite(h, Csr.pmpaddr0, (1n << 54n) - 1n);
    hostCsrWrite(h, Csr.pmpcfg0, 0x1fn);
    h.S[HS.VIRT] = 1;
    h.setPriv(Priv.S);
    writeTimeDelta(this);
    this.timerDeadline = Infinity;
    this.staGpa = -1;
    this.pvBlock = 'none';
    this.pollPorts = [];
    this.pollDeadline = Infinity;
  }

  /** Starts the vCPU at `pc` in VS-mode with a0 = its hart id and a1 = `opaque` (boot or HSM). */
  start(pcLo: number, pcHi: number, a1: number): void {
    this.resetArch();
    this.hart.setPc(pcLo, pcHi);
    this.hart.setXNumber(10, this.vcpuId);
    this.hart.setXNumber(11, a1);
    this.hsm = HartState.STARTED;
  }

  /** Sets VS-level interrupt-pending bits (hvip); returns true if that made the vCPU wakeable. */
  inject(bits: number): boolean {
    const S = this.hart.S;
    const old = S[I_HVIP]!;
    S[I_HVIP] = old | bits;
    this.hart.irqCheck = true;
    return this.hart.wakeable();
  }

  /** Clears VS-level interrupt-pending bits. */
  retract(bits: number): void {
    const S = this.hart.S;
    S[I_HVIP] = S[I_HVIP]! & ~bits;
  }

  /** The exit pending on this vCPU (EXIT_CAUSE), or -1. */
  get exitCause(): number {
    return this.hart.S[HS.EXIT_CAUSE]!;
  }
}
