/**
 * The scheduler contract: an ops table that a scheduling policy implements, in the manner of
 * Xen's `struct scheduler`. The hypervisor core drives it; a policy never runs on its own.
 *
 * Who calls what. A pCPU is a host thread running an interpreter loop. For each pCPU `p` the
 * caller repeats:
 *
 *     { vcpu, sliceMs } = pick(p, now, prev)      // prev: what ran on p last, if still runnable
 *     run vcpu for up to sliceMs (or until it blocks in WFI or exits to the hypervisor)
 *     account(vcpu, ranMs, now)                     // the time it really executed
 *     if it blocked: sleep(vcpu, now); prev = undefined  else prev = vcpu
 *
 * and, besides, calls `tick(now)` at least every 10 ms of `now`. A vCPU that becomes runnable
 * is announced with `wake(v, now)`. After `wake(v)` the caller asks `preemptDelayMs(v.pcpu, now)`;
 * after `tick` and `account` it asks it for every pCPU (the answers are cheap). 0 means "stop what
 * pCPU p runs now and call pick", a finite positive number "stop it no later than that many ms
 * from now" (the rate limit is still protecting the running vCPU), Infinity "no reason to stop".
 * An idle pCPU (pick returned no vCPU) answers 0 as soon as there is work it should take.
 *
 * Time is in milliseconds on one clock chosen by the caller (performance.now() or a simulated
 * clock) and must not go backwards. A policy sets no timers: everything it needs to happen at a
 * given time is expressed through `sliceMs`, `preemptDelayMs` and the `tick` calls.
 *
 * Ordering and threads: a policy's state is plain JS objects and is not shared between threads.
 * Exactly one thread owns a scheduler instance; pCPU threads talk to it by messages. Calls are
 * never re-entered.
 *
 * What a policy does not care about: why a vCPU blocked or woke (WFI, HSM stop, pause, an event
 * channel), how the pCPU runs it, or what a domain is beyond its id, weight and cap. Scheduler
 * state is soft: after a restore or a migration the toolstack inserts the vCPUs afresh.
 */
import { UserError } from '../../common/errors.ts';

/** Time is in milliseconds (a number; the caller uses performance.now() or a simulated clock). */
export interface SchedDomain {
  readonly id: number;
  /** 1..65535, default 256; read by the policy whenever it hands out CPU time. */
  weight: number;
  /** Percent of one pCPU, 0 = uncapped; above 100 only makes sense for multi-vCPU domains. */
  cap: number;
}

export interface SchedVcpu {
  readonly domain: SchedDomain;
  /** Index within its domain. */
  readonly vcpuId: number;
  /** The pCPU it is assigned to (its runqueue); set by the scheduler. */
  pcpu: number;
}

export interface PickResult {
  /** undefined = idle. */
  vcpu: SchedVcpu | undefined;
  /**
   * How long the pCPU may run it before asking again (ms); for idle, how long until the
   * scheduler next needs to be asked (e.g. a parked domain's credit refill), or Infinity.
   */
  sliceMs: number;
}

export interface SchedOps {
  readonly name: string;
  /** Adds a vCPU (not runnable until `wake`). `pcpuHint` suggests a runqueue. */
  insert(v: SchedVcpu, pcpuHint: number): void;
  /**
   * Forgets a vCPU, whether queued, running or asleep; a later pick never returns it. If it was
   * running, `preemptDelayMs` for that pCPU answers 0 until the pCPU calls `pick`, which ignores
   * it as `prev`; `account` and `sleep` of a removed vCPU do nothing (they may race with remove).
   */
  remove(v: SchedVcpu): void;
  /** The vCPU became runnable (woken from WFI/block, or newly started). */
  wake(v: SchedVcpu, now: number): void;
  /** The vCPU blocked (WFI with nothing pending, HSM stop, domain pause). */
  sleep(v: SchedVcpu, now: number): void;
  /**
   * `v` gives up the rest of its slice (SCHEDOP_yield, PAUSE): the next `pick` on its pCPU runs
   * another runnable vCPU there if there is one, even one of lower priority, and queues `v`.
   */
  yield(v: SchedVcpu): void;
  /** Charges `ranMs` of execution to `v` (called after each run of a vCPU). */
  account(v: SchedVcpu, ranMs: number, now: number): void;
  /**
   * Chooses what pCPU `pcpu` runs next. `prev` is the vCPU that just ran there and is still
   * runnable (it goes back to the runqueue unless picked again), or undefined.
   */
  pick(pcpu: number, now: number, prev: SchedVcpu | undefined): PickResult;
  /** Would a vCPU that just woke preempt what pCPU `pcpu` is running (BOOST over UNDER/OVER, after the rate limit)? */
  shouldPreempt(pcpu: number, now: number): boolean;
  /**
   * In how many ms pCPU `pcpu` should stop what it runs and call `pick`: 0 = now (exactly when
   * `shouldPreempt` is true), a positive number = once the rate limit of the running vCPU has
   * passed, Infinity = no need. Lets the caller honour a preemption that the rate limit defers.
   */
  preemptDelayMs(pcpu: number, now: number): number;
  /** Periodic work (credit accounting, load balancing); call at least every 10 ms of `now`. */
  tick(now: number): void;
  /** Moves a vCPU to another pCPU's runqueue. */
  migrate(v: SchedVcpu, pcpu: number): void;
  /** Number of pCPUs (fixed at construction). */
  readonly pcpus: number;
}

export const SCHED_WEIGHT_DEFAULT = 256;
export const SCHED_WEIGHT_MIN = 1;
export const SCHED_WEIGHT_MAX = 65535;

/** Rejects a weight or cap that `xl sched-credit` would refuse, naming the domain and the range. */
export function checkSchedParams(d: SchedDomain): void {
  if (!Number.isInteger(d.weight) || d.weight < SCHED_WEIGHT_MIN || d.weight > SCHED_WEIGHT_MAX) {
    throw new UserError(
      `domain ${d.id} has scheduler weight ${d.weight}; use an integer from ${SCHED_WEIGHT_MIN} to ${SCHED_WEIGHT_MAX}`,
    );
  }
  if (!Number.isInteger(d.cap) || d.cap < 0) {
    throw new UserError(
      `domain ${d.id} has scheduler cap ${d.cap}; use 0 (no cap) or a percentage of one pCPU`,
    );
  }
}

/** Rejects a pCPU count or pCPU index that does not fit the scheduler. */
export function checkPcpu(pcpu: number, pcpus: number): void {
  if (!Number.isInteger(pcpu) || pcpu < 0 || pcpu >= pcpus) {
    throw new RangeError(`pCPU ${pcpu} does not exist; this scheduler has pCPUs 0..${pcpus - 1}`);
  }
}

export function checkPcpuCount(pcpus: number): void {
  if (!Number.isInteger(pcpus) || pcpus < 1) {
    throw new RangeError(`a scheduler needs a whole number of pCPUs >= 1, not ${pcpus}`);
  }
}
