/**
 * The hypervisor core: owns machine memory (frames of one shared WebAssembly.Memory), the
 * domains and their vCPUs, and runs the vCPUs on a pCPU under a scheduler (credit by default).
 *
 * A pCPU loop asks the scheduler for a vCPU and a slice, runs the interpreter on it until the
 * slice ends, the vCPU blocks (WFI with nothing pending, HSM stop) or exits to the hypervisor
 * (SBI call, MMIO, …; exits.ts), charges the time, and asks again. Guest timers (SBI set_timer)
 * are per-vCPU deadlines turned into VSTIP when they pass; an interrupt injected into a blocked
 * vCPU wakes it. When nothing is runnable the loop sleeps until the next deadline or event.
 *
 * This object runs on the thread that created it; its pCPU is that thread, and the domains
 * created here are touched only here. A host with several pCPUs has one Hypervisor per pCPU
 * thread, all attached to the same MachineResources (memory, frames, hart blocks, domain ids);
 * each owns whole domains (see toolstack/host.ts for why).
 *
 * Paravirtual guests: hypercalls (hypercall.ts) work on state in shared memory (pv_shared.ts),
 * so domains on different pCPUs share grants and signal events. An event for a domain on this
 * pCPU is marked in its shared_info at once; one from another pCPU arrives through this pCPU's
 * doorbell, which the loop checks between slices and waits on when idle. The upcall is a level
 * on the domain's PLIC source GUEST_EVTCHN_IRQ that follows vcpu_info[0].evtchn_upcall_pending,
 * re-sampled after every exit and slice.
 *
 * Performance rule for the thread this runs on: it must never detach an ArrayBuffer (no
 * transfer lists in postMessage, no ArrayBuffer.prototype.transfer). The first detach in an
 * isolate turns off V8's "array buffer detaching" protector for good, and from then on every
 * typed-array access in optimized code carries a was-it-detached check: measured, 347 such
 * checks in the interpreter loop alone, ~18% more machine code and 5–15% slower guests. Data
 * leaves a pCPU by copy (structured clone) instead.
 */
import { Bus } from '../machine/bus.ts';
import { CodeCache } from '../machine/code_cache.ts';
import type { Clock } from '../machine/device.ts';
import { Irq } from '../machine/hart/csr_defs.ts';
import { run } from '../machine/hart/interp.ts';
import { HS } from '../machine/hart/layout.ts';
import { warmUpInterpreter } from '../machine/hart/warmup.ts';
import type { MachineMemory } from '../machine/memory.ts';
import { HartState } from './abi/sbi.ts';
import { ControlDomain } from './control.ts';
import { Domain, GUEST_EVTCHN_IRQ, type DomId } from './domain.ts';
import { evtchn_drain_incoming, evtchn_is_pending } from './evtchn.ts';
import { handleExit } from './exits.ts';
import type { FrameAllocator } from './frames.ts';
import type { HypercallHost } from './hypercall.ts';
import { PvDomain } from './pv_domain.ts';
import type { PvShared } from './pv_shared.ts';
import { MachineResources } from './resources.ts';
import { createCreditScheduler } from './sched/credit.ts';
import type { SchedOps } from './sched/ops.ts';
import type { SbiHost } from './vsbi.ts';
import { Vcpu } from './vcpu.ts';
import { dummyPolicy, type XsmPolicy } from './xsm.ts';

/** Instructions per interpreter call: how often the loop looks at timers and the clock. */
const SLICE = 20_000;
/** How often (host ms) the loop yields to the host's event loop. */
const YIELD_MS = 10;
const TIMEBASE_HZ = 10_000_000;

export interface HypervisorOptions {
  /** The machine to run on, shared with other pCPUs; or, without it, a new one of: */
  resources?: MachineResources;
  /** machine memory for all domains together (guest RAM plus page tables), */
  memoryBytes?: number;
  /** and vCPU state blocks to reserve (default 32). */
  maxVcpus?: number;
  clock: Clock;
  scheduler?: SchedOps;
  /** This pCPU's index on a host with several (default 0). */
  pcpu?: number;
  /** The XSM policy (default: Xen's dummy policy). */
  xsm?: XsmPolicy;
}

export interface DomainCreateOptions {
  name: string;
  memoryBytes: number;
  vcpus: number;
  weight?: number;
  cap?: number;
}

/** A clock that counts retired instructions (deterministic mode) and must hear about them. */
interface InstructionClock {
  retired: number;
  current: { sliceExecuted: number } | undefined;
  skipTo(ticks: number): void;
}

function isInstructionClock(c: Clock): c is Clock & InstructionClock {
  return typeof (c as Partial<InstructionClock>).skipTo === 'function';
}

export class Hypervisor implements SbiHost, HypercallHost {
  readonly mem: MachineMemory;
  readonly frames: FrameAllocator;
  readonly code: CodeCache;
  readonly clock: Clock;
  readonly sched: SchedOps;
  readonly resources: MachineResources;
  readonly domains = new Map<number, Domain>();
  readonly shared: PvShared;
  readonly xsm: XsmPolicy;
  readonly pcpu: number;
  private controlDomain: ControlDomain | undefined;
  private lastDoorbell = 0;
  private readonly noDevices = new Bus();
  private stopRequested = false;
  private running = false;
  /** When (ms, machine time) the running vCPU must give the pCPU back for a woken one. */
  private preemptAt = Infinity;
  private wakeUp: (() => void) | undefined;
  private readonly iclock: InstructionClock | undefined;

  constructor(opts: HypervisorOptions) {
    warmUpInterpreter();
    if (!opts.resources && opts.memoryBytes === undefined) {
      throw new TypeError('Hypervisor needs either resources or memoryBytes');
    }
    this.resources =
      opts.resources ??
      MachineResources.create({ memoryBytes: opts.memoryBytes!, harts: opts.maxVcpus ?? 32 });
    this.mem = this.resources.mem;
    this.frames = this.resources.frames;
    this.code = new CodeCache(this.mem.ramPages);
    this.clock = opts.clock;
    this.iclock = isInstructionClock(opts.clock) ? opts.clock : undefined;
    this.sched = opts.scheduler ?? createCreditScheduler({ pcpus: 1 });
    this.shared = this.resources.pv;
    this.xsm = opts.xsm ?? dummyPolicy;
    this.pcpu = opts.pcpu ?? 0;
    this.lastDoorbell = this.shared.doorbell(this.pcpu);
    this.code.onNewCodePage = (page) => {
      for (const d of this.domains.values()) for (const v of d.vcpus) v.hart.dropStoreEntriesFor(page);
    };
  }

  /** Milliseconds of machine time (the scheduler's clock). */
  nowMs(): number {
    return this.clock.mtime() / (TIMEBASE_HZ / 1000);
  }

  mtime(): number {
    return this.clock.mtime();
  }

  // ---- domains -----------------------------------------------------------------------------

  /** Creates a paused domain with its memory mapped and its vCPUs stopped. */
  createDomain(o: DomainCreateOptions): Domain {
    const blocks = this.resources.allocBlocks(o.vcpus);
    if (!blocks) {
      throw new RangeError(
        `domain ${o.name} needs ${o.vcpus} vCPUs but only ${this.resources.freeBlocks} are free`,
      );
    }
    const id = this.resources.nextDomId() as DomId;
    let d: Domain;
    try {
      d = new Domain(
        id,
        o.name,
        o.memoryBytes,
        o.vcpus,
        this.frames,
        this.shared,
        this.mem,
        this.code,
        this.clock,
      );
      d.pv = new PvDomain(this, d);
    } catch (e) {
      for (const b of blocks) this.resources.freeBlock(b);
      throw e;
    }
    if (o.weight !== undefined) d.weight = o.weight;
    if (o.cap !== undefined) d.cap = o.cap;
    const env = { mem: this.mem, bus: this.noDevices, code: this.code, clock: this.clock };
    for (let i = 0; i < o.vcpus; i++) {
      const v = new Vcpu(d, i, blocks[i]!, env);
      v.hart.onWake = () => this.wake(v);
      // Pause-loop exiting: a vCPU spinning in cpu_relax() gives up the rest of its slice, so the
      // vCPU holding the lock it waits for (perhaps on this pCPU) gets to run.
      v.hart.onPause = () => {
        this.yieldVcpu(v);
        v.hart.yieldRequest = true; // out of the run loop at the end of this block
      };
      d.vcpus.push(v);
      this.sched.insert(v, 0);
    }
    d.wakeHook = (v, wakeable) => {
      if (wakeable) this.wake(v);
    };
    this.domains.set(id, d);
    return d;
  }

  /** Lets a paused domain run (its started vCPUs become runnable). */
  unpause(d: Domain): void {
    if (d.state !== 'paused') return;
    d.state = 'running';
    for (const v of d.vcpus) if (v.hsm === HartState.STARTED) this.wake(v);
  }

  pause(d: Domain): void {
    if (d.state !== 'running') return;
    d.state = 'paused';
    for (const v of d.vcpus) this.block(v);
  }

  /** Removes a domain and returns its memory to the machine. */
  destroyDomain(d: Domain): void {
    if (!this.domains.has(d.id)) return;
    d.state = 'dying';
    for (const v of d.vcpus) {
      if (!v.blocked) this.sched.sleep(v, this.nowMs());
      this.sched.remove(v);
      this.resources.freeBlock(v.hart.id);
    }
    this.domains.delete(d.id);
    const stillMapped = d.pv?.destroy() ?? new Set<number>();
    d.release((mfn) => stillMapped.has(mfn));
    this.kick();
  }

  // ---- SbiHost -----------------------------------------------------------------------------

  wake(v: Vcpu): void {
    if (!v.blocked || v.hsm !== HartState.STARTED || v.domain.state !== 'running') return;
    v.blocked = false;
    const now = this.nowMs();
    v.runnableSince = now;
    this.sched.wake(v, now);
    // A boosted wake preempts the running vCPU now, or once its rate limit has passed.
    const delay = this.sched.preemptDelayMs(v.pcpu, now);
    if (delay < Infinity) this.preemptAt = Math.min(this.preemptAt, now + delay);
    this.kick();
  }

  stop(v: Vcpu): void {
    this.block(v);
  }

  /** The toolstack's dom0 role on this thread (ports, grant maps for backends); made on first use. */
  get control(): ControlDomain {
    this.controlDomain ??= new ControlDomain(this);
    return this.controlDomain;
  }

  // ---- HypercallHost -----------------------------------------------------------------------

  localDomain(domid: number): Domain | undefined {
    return this.domains.get(domid);
  }

  yieldVcpu(v: Vcpu): void {
    if (v.domain.state !== 'running') return;
    this.sched.yield(v);
    this.preemptAt = this.nowMs();
  }

  written(mfn: number): void {
    this.code.invalidateRange(mfn * 4096, 4096);
  }

  upcall(domid: number): void {
    const d = this.domains.get(domid);
    if (!d) return;
    this.syncUpcall(d);
    for (const v of d.vcpus) {
      if (v.pvBlock !== 'none' && v.blocked && this.pvWakeable(v)) {
        v.pvBlock = 'none';
        this.wake(v);
      }
    }
  }

  /** Sets a domain's HVM param (the toolstack's HVMOP_set_param: STORE_PFN, CONSOLE_EVTCHN, …). */
  setHvmParam(d: Domain, index: number, value: number): void {
    d.pv!.setParam(index, value);
  }

  /** The upcall line follows vcpu_info[0].evtchn_upcall_pending. */
  private syncUpcall(d: Domain): void {
    const pv = d.pv;
    if (!pv) return;
    const level = pv.upcallPending;
    if (level !== pv.lineLevel) {
      pv.lineLevel = level;
      d.irqLine(GUEST_EVTCHN_IRQ).set(level);
    }
  }

  /** Whether a vCPU sleeping in SCHEDOP_block / SCHEDOP_poll may run again. */
  private pvWakeable(v: Vcpu): boolean {
    if (v.pvBlock === 'block') return (v.domain.pv?.upcallPending ?? false) || v.hart.wakeable();
    if (this.clock.mtime() >= v.pollDeadline) return true;
    for (const p of v.pollPorts) if (evtchn_is_pending(this, v.domain.id, p)) return true;
    return false;
  }

  /** Takes in the events other pCPUs posted for this pCPU's domains, if the doorbell rang. */
  private checkDoorbell(): void {
    const db = this.shared.doorbell(this.pcpu);
    if (db === this.lastDoorbell) return;
    this.lastDoorbell = db;
    for (const d of this.domains.values()) evtchn_drain_incoming(this, d.id);
  }

  consoleRead(d: Domain): number {
    return d.sbiInput.length ? d.sbiInput.shift()! : -1;
  }

  private block(v: Vcpu): void {
    if (v.blocked) return;
    v.blocked = true;
    this.sched.sleep(v, this.nowMs());
  }

  /** Wakes the pCPU loop if it sleeps. */
  kick(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  // ---- the pCPU loop -------------------------------------------------------------------------

  /** Stops `run()` at its next check. */
  stopRunning(): void {
    this.stopRequested = true;
    for (const d of this.domains.values()) for (const v of d.vcpus) v.hart.yieldRequest = true;
    this.kick();
  }

  /** Runs the pCPU until `stopRunning()`. */
  async run(): Promise<void> {
    if (this.running) throw new Error('Hypervisor.run() is already running');
    this.running = true;
    this.stopRequested = false;
    let prev: Vcpu | undefined;
    let lastYield = performance.now();
    try {
      while (!this.stopRequested) {
        const now = this.nowMs();
        this.checkDoorbell();
        this.pollTimers();
        this.sched.tick(now);
        this.preemptAt = Infinity;
        const pick = this.sched.pick(0, now, prev);
        prev = undefined;
        const v = pick.vcpu as Vcpu | undefined;
        if (!v) {
          this.flushConsoles();
          await this.idle(pick.sliceMs);
          lastYield = performance.now();
          continue;
        }
        if (v.runnableSince >= 0) {
          v.stealMs += Math.max(0, now - v.runnableSince);
          v.runnableSince = -1;
          this.writeSteal(v);
        }
        const stillRunnable = this.runVcpu(v, now + pick.sliceMs);
        const end = this.nowMs();
        v.runMs += end - now;
        this.sched.account(v, end - now, end);
        if (stillRunnable) {
          prev = v;
          v.runnableSince = end;
        }
        if (performance.now() - lastYield >= YIELD_MS) {
          this.flushConsoles();
          await yieldToHost();
          lastYield = performance.now();
        }
      }
    } finally {
      this.running = false;
      this.flushConsoles();
    }
  }

  /** Runs `v` until `untilMs`; returns whether it is still runnable. */
  private runVcpu(v: Vcpu, untilMs: number): boolean {
    const h = v.hart;
    const S = h.S;
    const vc = this.iclock;
    let budgetUntil = performance.now() + YIELD_MS;
    for (;;) {
      if (v.domain.state !== 'running' || v.hsm !== HartState.STARTED || this.stopRequested) {
        if (!v.blocked) this.block(v);
        return false;
      }
      this.pollTimer(v);
      this.checkDoorbell();
      if (v.pvBlock !== 'none') {
        if (!this.pvWakeable(v)) {
          this.block(v);
          return false;
        }
        v.pvBlock = 'none';
      }
      if (S[HS.WFI]) {
        if (!h.wakeable()) {
          this.block(v);
          return false;
        }
        S[HS.WFI] = 0;
        h.irqCheck = true;
      }
      if (vc) vc.current = h;
      const n = run(h, SLICE);
      if (vc) {
        vc.current = undefined;
        vc.retired += n;
      }
      h.S[HS.RES_VALID] = 0;
      if (S[HS.EXIT_CAUSE] !== -1) handleExit(this, v);
      else h.yieldRequest = false; // a PAUSE's (or a stop's, which stopRequested carries)
      this.syncUpcall(v.domain);
      // The host-time budget keeps the event loop responsive; a deterministic run goes by
      // virtual time alone, so that where slices end never depends on host speed.
      const now = this.nowMs();
      if (now >= untilMs || now >= this.preemptAt || (!vc && performance.now() >= budgetUntil)) {
        return v.domain.state === 'running' && v.hsm === HartState.STARTED && !this.stopRequested;
      }
      budgetUntil = Math.min(budgetUntil, performance.now() + YIELD_MS);
    }
  }

  /** Arms VSTIP for `v` when its guest timer deadline has passed. */
  private pollTimer(v: Vcpu): void {
    if (v.timerDeadline !== Infinity && this.clock.mtime() >= v.timerDeadline) {
      v.timerDeadline = Infinity;
      if (v.inject(Irq.VSTIP)) this.wake(v);
    }
    if (v.pvBlock === 'poll' && v.blocked && this.clock.mtime() >= v.pollDeadline) {
      v.pvBlock = 'none';
      this.wake(v);
    }
  }

  private pollTimers(): void {
    for (const d of this.domains.values()) {
      if (d.state !== 'running') continue;
      d.rtc.poll();
      for (const v of d.vcpus) this.pollTimer(v);
    }
  }

  private flushConsoles(): void {
    for (const d of this.domains.values()) d.flushConsole();
  }

  /** Nothing to run: sleep (or, with a deterministic clock, skip time) to the next event. */
  private idle(sliceMs: number): Promise<void> {
    let deadline = Infinity;
    for (const d of this.domains.values()) {
      if (d.state !== 'running') continue;
      for (const v of d.vcpus)
        if (v.hsm === HartState.STARTED) deadline = Math.min(deadline, v.timerDeadline, v.pollDeadline);
      const alarm = d.rtc.nextAlarmNs();
      if (alarm !== Infinity) {
        deadline = Math.min(
          deadline,
          this.clock.mtime() + ((alarm - this.clock.wallClockNs()) * TIMEBASE_HZ) / 1e9,
        );
      }
    }
    let ms = ((deadline - this.clock.mtime()) * 1000) / TIMEBASE_HZ;
    if (sliceMs !== Infinity) ms = Math.min(ms, sliceMs);
    if (this.iclock && ms !== Infinity) {
      this.iclock.skipTo(this.clock.mtime() + Math.ceil((ms * TIMEBASE_HZ) / 1000));
      return Promise.resolve();
    }
    ms = Math.max(0, Math.min(ms, 100));
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(t);
        this.wakeUp = undefined;
        resolve();
      };
      const t = setTimeout(finish, ms);
      this.wakeUp = finish;
      // Another pCPU posting an event for one of our domains rings our doorbell.
      void this.shared.waitDoorbell(this.pcpu, this.lastDoorbell, ms).then(finish);
    });
  }

  /** Writes the steal-time record (SBI STA) of `v`, if the guest registered one. */
  private writeSteal(v: Vcpu): void {
    if (v.staGpa < 0) return;
    const m = v.domain.memory;
    const seq = m.readU32(v.staGpa) ?? 0;
    const stealNs = Math.round((v.stealMs - v.staBaseMs) * 1e6);
    m.writeU32(v.staGpa, (seq + 1) >>> 0);
    m.writeU64(v.staGpa + 8, stealNs >>> 0, Math.floor(stealNs / 4294967296));
    m.writeU32(v.staGpa, (seq + 2) >>> 0);
  }
}

/** Lets the host event loop run (I/O callbacks) and comes back as soon as possible. */
function yieldToHost(): Promise<void> {
  const si = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
  if (si) return new Promise((resolve) => si(resolve));
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(0);
  });
}
