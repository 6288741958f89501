/**
 * A discrete-event simulator of pCPUs and vCPUs for testing scheduling policies (test helper).
 *
 * It plays the hypervisor core's part of the contract in ops.ts exactly: each pCPU runs what
 * `pick` returned until the slice ends, the vCPU's burst of work ends (it blocks: `account` then
 * `sleep`), or `preemptDelayMs` says to stop; `tick` runs on a jittered period of at most
 * `tickMs`; after every event every pCPU is asked `preemptDelayMs`. Workloads are CPU hogs or
 * bursty vCPUs (run `burstMs`, sleep, wake again). Time is simulated, so a run of seconds takes
 * milliseconds, and all randomness comes from one seed, so a failure replays.
 *
 * While it runs it checks what a policy must never do (pick a blocked vCPU, run one vCPU on two
 * pCPUs, hand out a non-positive slice, fail to settle) and throws on the first violation. It
 * measures per-vCPU CPU time, wake-up latency, the longest wait while runnable, and the time a
 * pCPU sat idle while some runnable vCPU was waiting.
 */
import type { SchedDomain, SchedOps, SchedVcpu } from './ops.ts';
import { Xorshift32 as Rng } from '../../common/rng.ts';

/** The seeded generator (common/rng.ts), under the name this module's users know. */
export { Rng };

/** Sleeps are drawn uniformly from [sleepMinMs, sleepMaxMs]. A hog has burstMs Infinity. */
export interface Workload {
  burstMs: number;
  sleepMinMs: number;
  sleepMaxMs: number;
}

export const HOG: Workload = { burstMs: Infinity, sleepMinMs: 0, sleepMaxMs: 0 };

export interface SimVcpu extends SchedVcpu {
  readonly work: Workload;
  /** Awake from the simulated guest's point of view. */
  awake: boolean;
  /** CPU time still to use before the current burst ends. */
  burstLeftMs: number;
  wakeAt: number;
  ranMs: number;
  /** When it last became runnable and not running; NaN while it runs or sleeps. */
  waitingSince: number;
  /** Set on wake, cleared when it first runs after: wake-up latency samples. */
  wokeAt: number;
  latenciesMs: number[];
  maxWaitMs: number;
  picks: number;
}

interface SimPcpu {
  cur: SimVcpu | undefined;
  runFrom: number;
  deadline: number;
}

export interface SimOptions {
  seed: number;
  /** The longest gap between two `tick` calls; gaps are drawn from [tickMs / 2, tickMs]. */
  tickMs?: number;
}

const EPS = 1e-7;

export class Sim {
  now = 0;
  readonly vcpus: SimVcpu[] = [];
  readonly rng: Rng;
  /** pCPU-ms spent idle while a runnable vCPU (not parked by a cap) was waiting. */
  idleWhileWaitingMs = 0;
  private readonly pcpus: SimPcpu[] = [];
  private readonly tickMs: number;
  private nextTick: number;
  private statsFrom = 0;
  private readonly ranBase = new Map<SimVcpu, number>();

  constructor(
    readonly sched: SchedOps,
    opts: SimOptions,
  ) {
    this.rng = new Rng(opts.seed);
    this.tickMs = opts.tickMs ?? 10;
    this.nextTick = this.rng.between(this.tickMs / 2, this.tickMs);
    for (let p = 0; p < sched.pcpus; p++) this.pcpus.push({ cur: undefined, runFrom: 0, deadline: 0 });
  }

  /** Adds a vCPU and wakes it at `startAt` (default now). */
  addVcpu(domain: SchedDomain, work: Workload, pcpuHint = 0, startAt = this.now): SimVcpu {
    const v: SimVcpu = {
      domain,
      vcpuId: this.vcpus.filter((o) => o.domain === domain).length,
      pcpu: 0,
      work,
      awake: false,
      burstLeftMs: 0,
      wakeAt: startAt,
      ranMs: 0,
      waitingSince: NaN,
      wokeAt: NaN,
      latenciesMs: [],
      maxWaitMs: 0,
      picks: 0,
    };
    this.sched.insert(v, pcpuHint);
    this.vcpus.push(v);
    return v;
  }

  /** Removes a vCPU from the scheduler and from the simulation, wherever it is. */
  removeVcpu(v: SimVcpu): void {
    this.sched.remove(v);
    for (const pc of this.pcpus) {
      if (pc.cur === v) {
        pc.cur = undefined;
        pc.deadline = this.now;
      }
    }
    this.vcpus.splice(this.vcpus.indexOf(v), 1);
    this.settle();
  }

  /** Blocks a vCPU from outside (like a domain pause) until `resume`. */
  pause(v: SimVcpu): void {
    const p = this.pcpus.findIndex((pc) => pc.cur === v);
    if (p >= 0) this.stop(p, false);
    v.awake = false;
    v.wakeAt = Infinity;
    v.waitingSince = NaN;
    this.sched.sleep(v, this.now);
    this.settle();
  }

  resume(v: SimVcpu): void {
    v.wakeAt = this.now;
    this.runUntil(this.now);
  }

  /** Starts measuring afresh: shares, latencies, waits and idle time count from now. */
  resetStats(): void {
    this.statsFrom = this.now;
    this.idleWhileWaitingMs = 0;
    for (const v of this.vcpus) {
      this.ranBase.set(v, this.ranNow(v));
      v.latenciesMs = [];
      v.maxWaitMs = 0;
      if (!Number.isNaN(v.waitingSince)) v.waitingSince = this.now;
    }
  }

  /** Fraction of one pCPU that `v` used since the last `resetStats`. */
  share(v: SimVcpu): number {
    return (this.ranNow(v) - (this.ranBase.get(v) ?? 0)) / (this.now - this.statsFrom);
  }

  /** The sum of `share` over a domain's vCPUs. */
  domainShare(d: SchedDomain): number {
    return this.vcpus.filter((v) => v.domain === d).reduce((s, v) => s + this.share(v), 0);
  }

  /** The longest time `v` waited while runnable since `resetStats`, counting a wait still going on. */
  maxWait(v: SimVcpu): number {
    return Number.isNaN(v.waitingSince) ? v.maxWaitMs : Math.max(v.maxWaitMs, this.now - v.waitingSince);
  }

  running(p: number): SimVcpu | undefined {
    return this.pcpus[p]?.cur;
  }

  runUntil(until: number): void {
    this.settle();
    let stuck = 0;
    while (true) {
      let t = Math.min(until, this.nextTick);
      for (const pc of this.pcpus) {
        t = Math.min(t, pc.deadline);
        if (pc.cur) t = Math.min(t, pc.runFrom + pc.cur.burstLeftMs);
      }
      for (const v of this.vcpus) if (!v.awake) t = Math.min(t, v.wakeAt);
      if (t < this.now) t = this.now;
      // Time must move: a policy that keeps asking to be called back "now" would spin forever.
      stuck = t === this.now ? stuck + 1 : 0;
      if (stuck > 1000) throw new Error(`simulation stuck at t=${t}`);
      this.advance(t);
      for (const v of this.vcpus) {
        if (!v.awake && v.wakeAt <= t + EPS) {
          v.awake = true;
          v.burstLeftMs = v.work.burstMs;
          v.wokeAt = t;
          v.waitingSince = t;
          this.sched.wake(v, t);
        }
      }
      if (t + EPS >= this.nextTick) {
        this.sched.tick(t);
        this.nextTick = t + this.rng.between(this.tickMs / 2, this.tickMs);
      }
      this.settle();
      if (t >= until) return;
    }
  }

  /** Moves time forward, integrating idle-while-work time. */
  private advance(t: number): void {
    const dt = t - this.now;
    if (dt > 0) {
      const idle = this.pcpus.filter((pc) => !pc.cur).length;
      let waiting = 0;
      for (const v of this.vcpus) {
        if (v.awake && !this.isRunning(v) && !this.parked(v)) waiting++;
      }
      this.idleWhileWaitingMs += Math.min(idle, waiting) * dt;
    }
    this.now = t;
  }

  /** Stops and re-picks pCPUs until no pCPU has a reason to change. */
  private settle(): void {
    const t = this.now;
    const order = this.pcpus.map((_, p) => p);
    for (let round = 0; ; round++) {
      if (round > 4 * this.pcpus.length + 4) throw new Error(`scheduler did not settle at t=${t}`);
      // Visit pCPUs in a random order: real pCPUs race.
      for (let i = order.length - 1; i > 0; i--) {
        const j = this.rng.int(i + 1);
        [order[i], order[j]] = [order[j] as number, order[i] as number];
      }
      let changed = false;
      for (const p of order) {
        const pc = this.pcpus[p] as SimPcpu;
        if (pc.cur) {
          const v = pc.cur;
          const done = t - pc.runFrom >= v.burstLeftMs - EPS;
          const delay = this.sched.preemptDelayMs(p, t);
          if (done || t + EPS >= pc.deadline || delay === 0) {
            const prev = this.stop(p, done);
            this.pick(p, prev);
            changed = true;
          } else if (delay < Infinity) {
            pc.deadline = Math.min(pc.deadline, t + delay);
          }
        } else if (t + EPS >= pc.deadline || this.sched.preemptDelayMs(p, t) === 0) {
          this.pick(p, undefined);
          if (pc.cur) changed = true;
        }
      }
      if (!changed) return;
    }
  }

  /** Ends the current run on pCPU `p`; returns the vCPU if it is still runnable. */
  private stop(p: number, blocked: boolean): SimVcpu | undefined {
    const pc = this.pcpus[p] as SimPcpu;
    const v = pc.cur;
    if (!v) return undefined;
    const ran = this.now - pc.runFrom;
    v.ranMs += ran;
    v.burstLeftMs -= ran;
    pc.cur = undefined;
    this.sched.account(v, ran, this.now);
    if (blocked) {
      v.awake = false;
      v.waitingSince = NaN;
      v.wakeAt = this.now + this.rng.between(v.work.sleepMinMs, v.work.sleepMaxMs);
      this.sched.sleep(v, this.now);
      return undefined;
    }
    v.waitingSince = this.now;
    return v;
  }

  private pick(p: number, prev: SimVcpu | undefined): void {
    const pc = this.pcpus[p] as SimPcpu;
    const t = this.now;
    const r = this.sched.pick(p, t, prev);
    const v = r.vcpu as SimVcpu | undefined;
    if (!(r.sliceMs > 0) && !(v === undefined && r.sliceMs === 0)) {
      throw new Error(`pick(${p}) at t=${t} returned slice ${r.sliceMs}`);
    }
    pc.runFrom = t;
    pc.deadline = t + r.sliceMs;
    pc.cur = v;
    if (!v) return;
    if (!this.vcpus.includes(v)) throw new Error(`pick(${p}) at t=${t} returned a removed vCPU`);
    if (!v.awake) throw new Error(`pick(${p}) at t=${t} returned blocked d${v.domain.id}v${v.vcpuId}`);
    if (this.pcpus.some((o) => o !== pc && o.cur === v)) {
      throw new Error(`pick(${p}) at t=${t} returned d${v.domain.id}v${v.vcpuId}, running elsewhere`);
    }
    if (v.pcpu !== p) throw new Error(`pick(${p}) returned a vCPU whose pcpu is ${v.pcpu}`);
    v.picks++;
    if (!Number.isNaN(v.waitingSince)) v.maxWaitMs = Math.max(v.maxWaitMs, t - v.waitingSince);
    v.waitingSince = NaN;
    if (!Number.isNaN(v.wokeAt)) {
      v.latenciesMs.push(t - v.wokeAt);
      v.wokeAt = NaN;
    }
  }

  private isRunning(v: SimVcpu): boolean {
    return this.pcpus.some((pc) => pc.cur === v);
  }

  /** A capped domain may legitimately leave a pCPU idle; the sim cannot see parking, so it leaves capped domains out. */
  private parked(v: SimVcpu): boolean {
    return v.domain.cap > 0;
  }

  private ranNow(v: SimVcpu): number {
    const pc = this.pcpus.find((o) => o.cur === v);
    return v.ranMs + (pc ? this.now - pc.runFrom : 0);
  }
}

let nextDomainId = 1;

/** A domain for the scheduler with the given weight and cap. */
export function domain(weight = 256, cap = 0): SchedDomain {
  return { id: nextDomainId++, weight, cap };
}

/** A bursty workload: runs `burstMs`, then sleeps between `sleepMinMs` and `sleepMaxMs`. */
export function bursty(burstMs: number, sleepMinMs: number, sleepMaxMs = sleepMinMs): Workload {
  return { burstMs, sleepMinMs, sleepMaxMs };
}
