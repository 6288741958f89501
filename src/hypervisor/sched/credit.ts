/**
 * Xen's credit scheduler ("credit1"): a weighted fair-share policy for the ops table in ops.ts.
 *
 * Behaviour (the facts follow Xen's documentation of sched_credit and `xl sched-credit`):
 * - Each domain has a weight (1..65535, default 256) and a cap (percent of one pCPU, 0 = none).
 * - Every accounting period (one timeslice, 30 ms by default) the CPU time of all pCPUs is handed
 *   out as credit to the *active* domains in proportion to their weights. A domain is given no
 *   more than its active vCPUs can use (one pCPU each) nor more than its cap; what it cannot take
 *   goes to the others (water_fill.ts). A domain's share is split evenly between its active vCPUs.
 * - A running vCPU burns credit, 1 per ms it executes. It is UNDER while its credit is not
 *   negative and OVER once it is; BOOST > UNDER > OVER, FIFO within a priority. A blocked vCPU
 *   whose credit piles up past one timeslice's worth is not using its share: it becomes inactive
 *   (no more credit; its domain's weight no longer dilutes the others) and keeps half a slice.
 * - A vCPU that wakes from a block with credit left (UNDER) is boosted, so an I/O-bound vCPU gets
 *   the pCPU quickly; it loses the boost once it has run. A waiting vCPU that outranks the running
 *   one preempts it, but not before the running one has had `ratelimitMs` (1 ms by default).
 * - A capped domain spends a budget of cap% of a period per period; when its vCPUs have used it up
 *   they are parked (not runnable) until the next accounting period refills it. Overdraft carries
 *   over as debt, so the long-run share equals the cap.
 * - Each pCPU has its own runqueue. A woken vCPU goes to an idle pCPU if its own is busy; a pCPU
 *   whose best local choice is OVER or nothing steals the best higher-priority vCPU waiting on a
 *   busy pCPU; `tick` moves waiters from a pCPU with two more runnable vCPUs than another.
 *
 * Where Domus differs from Xen, on purpose, and why:
 * - Xen samples the running vCPU on a 10 ms tick; here the caller reports exact run times through
 *   `account`, and an accounting period that falls inside a run charges the time run so far
 *   (otherwise a busy vCPU looks idle and is deactivated).
 * - Xen grants a full timeslice; here a BOOST/UNDER vCPU's slice ends when its credit would run
 *   out (never below the rate limit) and an OVER vCPU's at the next accounting period, so credit
 *   decides who runs at a finer grain: shares match the weights within 1% over a few seconds.
 * - Xen activates a vCPU that its tick finds running, which a vCPU running 0.2 ms at a time rarely
 *   is; here an inactive vCPU is activated when its kept credit falls below a quarter slice, in
 *   time to be credited before it turns OVER and loses its boost.
 * - A runnable vCPU that has waited STARVATION_TSLICES timeslices runs next for a short slice, so
 *   that a weight-1 domain beside a weight-65535 one still makes progress (Xen gets the same from
 *   the imprecision of its sampling; exact accounting needs it stated).
 * - The first wake after `insert` is a start, not a return from a block, and is not boosted.
 *
 * Cost: pick/wake/account are O(runqueue length) plus O(vCPUs of the domain) for capped domains;
 * tick is O(vCPUs). Not thread-safe: see ops.ts for who owns a scheduler instance.
 */
import {
  checkPcpu,
  checkPcpuCount,
  checkSchedParams,
  SCHED_WEIGHT_MAX,
  SCHED_WEIGHT_MIN,
  type PickResult,
  type SchedDomain,
  type SchedOps,
  type SchedVcpu,
} from './ops.ts';
import { waterFill } from './water_fill.ts';

export interface CreditOptions {
  pcpus: number;
  /** Timeslice, and also the accounting period (ms); Xen's `sched_credit_tslice_ms`, default 30. */
  tsliceMs?: number;
  /** A vCPU is not preempted before it has run this long (ms); Xen's `sched_ratelimit_us`, default 1 ms. */
  ratelimitMs?: number;
}

/** Priorities, higher runs first. */
export const CSCHED_PRI_IDLE = 0;
export const CSCHED_PRI_OVER = 1;
export const CSCHED_PRI_UNDER = 2;
export const CSCHED_PRI_BOOST = 3;

const PRI_NAMES = ['IDLE', 'OVER', 'UNDER', 'BOOST'] as const;

/** Below this a remaining slice counts as used up: floating-point ms never land exactly. */
const EPS_MS = 1e-9;

/** The shortest slice granted for credit reasons: a switch costs more than a shorter run gains. */
const MIN_SLICE_MS = 0.1;

/**
 * A runnable vCPU that has waited this many timeslices runs next, for a short slice, whatever its
 * priority. Credit alone lets a weight-1 domain wait for minutes behind a weight-65535 one, and a
 * guest whose vCPU never runs trips its own watchdogs (and stalls its other vCPUs in IPIs).
 */
const STARVATION_TSLICES = 10;

interface CschedDom {
  readonly dom: SchedDomain;
  readonly vcpus: CschedVcpu[];
  /** vCPUs of this domain that currently receive credit. */
  activeVcpus: number;
  /** Cap budget left in this period (ms); may go negative (debt). Meaningless when cap is 0. */
  budgetMs: number;
  /** The cap budget is spent: no vCPU of the domain may run until the next refill. */
  parked: boolean;
  /** The cap `budgetMs` was computed for; a cap changed by the toolstack restarts the budget. */
  budgetCap: number;
}

interface CschedVcpu {
  readonly v: SchedVcpu;
  readonly sdom: CschedDom;
  /** ms of CPU time this vCPU may still use this period; negative = it has used more. */
  credit: number;
  pri: number;
  /** Runnable as far as the guest is concerned (woken and not asleep); parking is separate. */
  awake: boolean;
  active: boolean;
  /** Has woken at least once since insert; the first wake is a start and is not boosted. */
  started: boolean;
  /** The pCPU whose runqueue holds it, or -1. */
  queued: number;
  /** The pCPU running it (picked there and not yet handed back), or -1. */
  running: number;
  /** Start of the running time not yet charged: the last pick that returned it, or `account`. */
  runFrom: number;
  /** Time of the current run already charged by an accounting period that fell inside it. */
  prechargedMs: number;
  /** Since when it has been runnable but not running (NaN while running, asleep or parked). */
  waitingSince: number;
  /** Gave up its slice (`yield`): the next pick passes it over once. */
  yielded: boolean;
}

interface CschedPcpu {
  /** Waiting vCPUs, highest priority first, FIFO within a priority. */
  readonly runq: CschedVcpu[];
  curr: CschedVcpu | undefined;
  /** When `curr` was switched in (the rate limit counts from here). */
  runStart: number;
  /** When `curr`'s slice ends. */
  sliceEnd: number;
  /** What it runs was removed from the scheduler: it must stop, and nothing is known of it. */
  orphaned: boolean;
}

/** What `inspect` reports about one vCPU, for tests and `xl debug-keys`-style dumps. */
export interface CreditVcpuInfo {
  credit: number;
  pri: 'IDLE' | 'OVER' | 'UNDER' | 'BOOST';
  active: boolean;
  awake: boolean;
  parked: boolean;
  queuedOn: number;
  runningOn: number;
}

export class CreditScheduler implements SchedOps {
  readonly name = 'credit';
  readonly pcpus: number;
  readonly tsliceMs: number;
  readonly ratelimitMs: number;
  private readonly pcpu: CschedPcpu[] = [];
  private readonly vcpus = new Map<SchedVcpu, CschedVcpu>();
  private readonly doms = new Map<SchedDomain, CschedDom>();
  /** When the next accounting period starts; NaN until the first `tick`. */
  private nextAcctAt = NaN;

  constructor(opts: CreditOptions) {
    checkPcpuCount(opts.pcpus);
    this.pcpus = opts.pcpus;
    this.tsliceMs = opts.tsliceMs ?? 30;
    this.ratelimitMs = opts.ratelimitMs ?? 1;
    if (!(this.tsliceMs > 0) || !Number.isFinite(this.tsliceMs)) {
      throw new RangeError(`credit scheduler timeslice ${this.tsliceMs} ms must be a positive number`);
    }
    if (!(this.ratelimitMs >= 0) || this.ratelimitMs > this.tsliceMs) {
      throw new RangeError(
        `credit scheduler rate limit ${this.ratelimitMs} ms must be between 0 and the timeslice (${this.tsliceMs} ms)`,
      );
    }
    for (let p = 0; p < this.pcpus; p++) {
      this.pcpu.push({ runq: [], curr: undefined, runStart: 0, sliceEnd: 0, orphaned: false });
    }
  }

  insert(v: SchedVcpu, pcpuHint: number): void {
    if (this.vcpus.has(v)) throw new RangeError(`vCPU ${label(v)} is already in the scheduler`);
    checkSchedParams(v.domain);
    let sdom = this.doms.get(v.domain);
    if (!sdom) {
      sdom = {
        dom: v.domain,
        vcpus: [],
        activeVcpus: 0,
        budgetMs: this.capBudgetMs(v.domain),
        parked: false,
        budgetCap: v.domain.cap,
      };
      this.doms.set(v.domain, sdom);
    }
    const sv: CschedVcpu = {
      v,
      sdom,
      credit: 0,
      pri: CSCHED_PRI_UNDER,
      awake: false,
      active: false,
      started: false,
      queued: -1,
      running: -1,
      runFrom: 0,
      prechargedMs: 0,
      waitingSince: NaN,
      yielded: false,
    };
    v.pcpu = Number.isInteger(pcpuHint) && pcpuHint >= 0 && pcpuHint < this.pcpus ? pcpuHint : 0;
    sdom.vcpus.push(sv);
    this.vcpus.set(v, sv);
  }

  remove(v: SchedVcpu): void {
    const sv = this.vcpus.get(v);
    if (!sv) return;
    if (sv.queued >= 0) this.dequeue(sv);
    if (sv.running >= 0) {
      const pc = this.pcpuAt(sv.running);
      if (pc.curr === sv) {
        pc.curr = undefined;
        pc.orphaned = true;
      }
      sv.running = -1;
    }
    if (sv.active) this.deactivate(sv);
    const list = sv.sdom.vcpus;
    list.splice(list.indexOf(sv), 1);
    if (list.length === 0) this.doms.delete(sv.sdom.dom);
    this.vcpus.delete(v);
  }

  wake(v: SchedVcpu, now: number): void {
    const sv = this.get(v);
    if (sv.awake) return;
    sv.awake = true;
    // Only a vCPU returning from a block with credit left is boosted: that is the I/O pattern.
    if (sv.started && sv.pri === CSCHED_PRI_UNDER) sv.pri = CSCHED_PRI_BOOST;
    sv.started = true;
    // Still on a pCPU (it slept and woke before that pCPU called pick): pick requeues it.
    if (sv.running >= 0 || sv.sdom.parked) return;
    this.placeOnWake(sv);
    this.enqueue(sv);
    sv.waitingSince = now;
  }

  sleep(v: SchedVcpu, _now: number): void {
    const sv = this.vcpus.get(v);
    if (!sv) return; // removed while it was running: nothing left to put to sleep
    sv.awake = false;
    sv.waitingSince = NaN;
    if (sv.queued >= 0) this.dequeue(sv);
  }

  yield(v: SchedVcpu): void {
    const sv = this.vcpus.get(v);
    if (sv) sv.yielded = true;
  }

  account(v: SchedVcpu, ranMs: number, now: number): void {
    const sv = this.vcpus.get(v);
    if (!sv) return; // removed while it was running: its run is nobody's to pay for
    const ran = ranMs > 0 ? ranMs : 0;
    this.charge(sv, ran - sv.prechargedMs);
    // Whatever it runs from here on is new (the caller may account several times per pick).
    sv.prechargedMs = 0;
    sv.runFrom = now;
    // A boost lasts until the vCPU has run once; after that it competes on credit like the rest.
    this.setPri(sv, sv.credit < 0 ? CSCHED_PRI_OVER : CSCHED_PRI_UNDER);
  }

  pick(pcpu: number, now: number, prev: SchedVcpu | undefined): PickResult {
    checkPcpu(pcpu, this.pcpus);
    this.acctIfDue(now);
    const pc = this.pcpuAt(pcpu);
    const last = pc.curr;
    pc.curr = undefined;
    pc.orphaned = false;
    if (last) last.running = -1;
    let sp = prev ? this.vcpus.get(prev) : undefined;
    // A prev we do not know (removed), or one that is queued or running elsewhere, is ignored.
    if (sp && (sp.queued >= 0 || sp.running >= 0)) sp = undefined;
    const yielder = last?.yielded ? last : undefined;
    if (yielder) yielder.yielded = false;
    // The vCPU that was running here but was not handed back stays runnable if it still is.
    if (last && last !== sp && this.runnable(last) && last.queued < 0) {
      this.enqueue(last);
      last.waitingSince = now;
    }

    if (sp && this.runnable(sp)) {
      if (sp === last && sp.v.pcpu === pcpu && sp !== yielder) {
        const cont = this.continuation(pc, sp, now);
        if (cont > EPS_MS) {
          pc.curr = sp;
          sp.running = pcpu;
          sp.runFrom = now;
          return { vcpu: sp.v, sliceMs: cont };
        }
      }
      this.enqueue(sp);
      sp.waitingSince = now;
    }

    const starved = this.starved(pc, now);
    let next = starved ?? pc.runq[0];
    // A vCPU that yielded lets the next one in line run, whatever its priority (as Xen's credit
    // scheduler does since 4.10): a spinning vCPU must let the lock holder in.
    if (next === yielder && pc.runq.length > 1) next = pc.runq[1];
    if (!next || next.pri <= CSCHED_PRI_OVER) {
      // Nothing better than OVER here: take higher-priority work waiting on another pCPU.
      const stolen = this.stealable(pcpu, next ? next.pri : CSCHED_PRI_IDLE);
      if (stolen) next = stolen;
    }
    if (!next) return { vcpu: undefined, sliceMs: this.idleSliceMs(now) };
    this.dequeue(next);
    next.v.pcpu = pcpu;
    next.running = pcpu;
    next.runFrom = now;
    next.waitingSince = NaN;
    let slice = this.sliceFor(next, now);
    if (next === starved) slice = Math.min(slice, Math.max(this.ratelimitMs, MIN_SLICE_MS));
    pc.curr = next;
    pc.runStart = now;
    pc.sliceEnd = now + slice;
    return { vcpu: next.v, sliceMs: slice };
  }

  shouldPreempt(pcpu: number, now: number): boolean {
    return this.preemptDelayMs(pcpu, now) === 0;
  }

  preemptDelayMs(pcpu: number, now: number): number {
    checkPcpu(pcpu, this.pcpus);
    const pc = this.pcpuAt(pcpu);
    const cur = pc.curr;
    if (pc.orphaned) return 0;
    if (!cur) {
      return pc.runq.length > 0 || this.stealable(pcpu, CSCHED_PRI_IDLE) ? 0 : Infinity;
    }
    // Parked by its cap, put to sleep, or migrated: it must leave now, whatever the rate limit.
    if (!this.runnable(cur) || cur.v.pcpu !== pcpu) return 0;
    const head = pc.runq[0];
    if (!head || head.pri <= cur.pri) return Infinity;
    return Math.max(0, this.ratelimitMs - (now - pc.runStart));
  }

  tick(now: number): void {
    this.acctIfDue(now);
    this.balance();
  }

  migrate(v: SchedVcpu, pcpu: number): void {
    checkPcpu(pcpu, this.pcpus);
    const sv = this.get(v);
    if (sv.queued >= 0) {
      this.dequeue(sv);
      v.pcpu = pcpu;
      this.enqueue(sv);
    } else {
      // Running: preemptDelayMs on the old pCPU now answers 0 and pick there sends it over.
      v.pcpu = pcpu;
    }
  }

  /** A snapshot of one vCPU's scheduling state. */
  inspect(v: SchedVcpu): CreditVcpuInfo {
    const sv = this.get(v);
    return {
      credit: sv.credit,
      pri: PRI_NAMES[sv.pri] ?? 'IDLE',
      active: sv.active,
      awake: sv.awake,
      parked: sv.sdom.parked,
      queuedOn: sv.queued,
      runningOn: sv.running,
    };
  }

  // --- accounting -------------------------------------------------------------------------------

  /**
   * Runs the accounting period that is due, if any. `tick` is the regular caller; `pick` calls it
   * too, so that a pCPU idling until a parked domain's refill finds the refill done when it asks.
   */
  private acctIfDue(now: number): void {
    if (Number.isNaN(this.nextAcctAt)) this.nextAcctAt = now + this.tsliceMs;
    if (now < this.nextAcctAt) return;
    this.acct(now);
    this.nextAcctAt += this.tsliceMs;
    // Far behind (the caller stalled): credit for missed periods would only be clipped, so
    // account once and realign rather than replaying every period.
    if (this.nextAcctAt <= now) this.nextAcctAt = now + this.tsliceMs;
  }

  /** One accounting period: hand out credit by weight, clip balances, refill cap budgets. */
  private acct(now: number): void {
    const period = this.tsliceMs;
    // Charge what running vCPUs have used so far, or their credit would look unused.
    for (const pc of this.pcpu) {
      const sv = pc.curr;
      if (!sv || !sv.awake) continue;
      const inflight = now - sv.runFrom - sv.prechargedMs;
      if (inflight > 0) {
        sv.prechargedMs += inflight;
        this.charge(sv, inflight);
      }
    }
    const active: CschedDom[] = [];
    for (const sdom of this.doms.values()) if (sdom.activeVcpus > 0) active.push(sdom);
    const shares = waterFill(
      this.pcpus * period,
      active.map(
        (d) => Math.min(Math.max(d.dom.weight, SCHED_WEIGHT_MIN), SCHED_WEIGHT_MAX) || SCHED_WEIGHT_MIN,
      ),
      active.map((d) => {
        const peak = Math.min(d.activeVcpus, this.pcpus) * period;
        return d.dom.cap > 0 ? Math.min(peak, this.capBudgetMs(d.dom)) : peak;
      }),
    );
    for (let i = 0; i < active.length; i++) {
      const sdom = active[i] as CschedDom;
      const perVcpu = (shares[i] ?? 0) / sdom.activeVcpus;
      for (const sv of sdom.vcpus) {
        if (!sv.active) continue;
        sv.credit += perVcpu;
        if (sv.credit > period && !this.runnable(sv)) {
          // Blocked and not using its share. Stop crediting it (its domain's weight no longer
          // dilutes the others) but keep half a slice so that it starts UNDER when it wakes.
          this.deactivate(sv);
          sv.credit = period / 2;
        } else if (sv.credit > period) {
          // Runnable but held back (by higher priorities, or waiting on a busy runqueue): it
          // still wants its share, but a hoard would let it monopolise a pCPU later.
          sv.credit = period;
        } else if (sv.credit < -period) {
          // Debt is clipped so that one long run while everything was OVER is not paid for by
          // many periods of starvation once others wake up.
          sv.credit = -period;
        }
        if (sv.pri !== CSCHED_PRI_BOOST || sv.credit < 0) {
          this.setPri(sv, sv.credit < 0 ? CSCHED_PRI_OVER : CSCHED_PRI_UNDER);
        }
      }
    }
    for (const sdom of this.doms.values()) {
      if (sdom.dom.cap > 0) {
        const full = this.capBudgetMs(sdom.dom);
        sdom.budgetMs = sdom.budgetCap === sdom.dom.cap ? Math.min(sdom.budgetMs + full, full) : full;
        sdom.budgetCap = sdom.dom.cap;
        if (sdom.parked && sdom.budgetMs > EPS_MS) this.unpark(sdom, now);
      } else if (sdom.parked) {
        this.unpark(sdom, now);
      }
    }
  }

  /** Burns `ms` of credit and of cap budget (negative `ms` refunds an over-estimate). */
  private charge(sv: CschedVcpu, ms: number): void {
    sv.credit -= ms;
    // An inactive vCPU lives on the credit it kept; when that runs low it wants a share again,
    // early enough to be credited before it goes OVER and loses its boost. (Xen activates a vCPU
    // that a 10 ms tick finds running, which an I/O vCPU running 0.2 ms at a time rarely is;
    // this is a deterministic counterpart.)
    if (!sv.active && sv.credit < this.tsliceMs / 4) this.activate(sv);
    const sdom = sv.sdom;
    if (sdom.dom.cap > 0) {
      if (sdom.budgetCap !== sdom.dom.cap) {
        sdom.budgetCap = sdom.dom.cap;
        sdom.budgetMs = this.capBudgetMs(sdom.dom);
      }
      sdom.budgetMs -= ms;
      if (sdom.budgetMs <= EPS_MS && !sdom.parked) this.park(sdom);
    }
  }

  private capBudgetMs(d: SchedDomain): number {
    return (d.cap / 100) * this.tsliceMs;
  }

  private activate(sv: CschedVcpu): void {
    sv.active = true;
    sv.sdom.activeVcpus++;
  }

  private deactivate(sv: CschedVcpu): void {
    sv.active = false;
    sv.sdom.activeVcpus--;
  }

  private park(sdom: CschedDom): void {
    sdom.parked = true;
    for (const sv of sdom.vcpus) {
      if (sv.queued >= 0) this.dequeue(sv);
      sv.waitingSince = NaN;
    }
  }

  private unpark(sdom: CschedDom, now: number): void {
    sdom.parked = false;
    for (const sv of sdom.vcpus) {
      if (sv.awake && sv.running < 0 && sv.queued < 0) {
        this.placeOnWake(sv);
        this.enqueue(sv);
        sv.waitingSince = now;
      }
    }
  }

  // --- choosing -------------------------------------------------------------------------------

  /** The longest-waiting vCPU on `pc`'s runqueue if it has waited too long, else undefined. */
  private starved(pc: CschedPcpu, now: number): CschedVcpu | undefined {
    let oldest: CschedVcpu | undefined;
    for (const sv of pc.runq) if (!oldest || sv.waitingSince < oldest.waitingSince) oldest = sv;
    return oldest && now - oldest.waitingSince >= STARVATION_TSLICES * this.tsliceMs ? oldest : undefined;
  }

  /** How much longer `sp`, which just ran on `pc`, keeps the pCPU (0 = it goes back to the queue). */
  private continuation(pc: CschedPcpu, sp: CschedVcpu, now: number): number {
    const left = Math.min(pc.sliceEnd - now, this.capLimitMs(sp, now));
    if (left <= EPS_MS) return 0;
    const head = pc.runq[0];
    if (!head || head.pri <= sp.pri) return left;
    // Outranked by a waiter: it keeps the pCPU only for what remains of its rate limit.
    return Math.min(left, this.ratelimitMs - (now - pc.runStart));
  }

  private sliceFor(sv: CschedVcpu, now: number): number {
    let slice = this.tsliceMs;
    if (sv.pri >= CSCHED_PRI_UNDER) {
      // Until its credit runs out: then it is OVER and those still UNDER go first.
      slice = Math.min(slice, Math.max(sv.credit, this.ratelimitMs, MIN_SLICE_MS));
    } else if (this.nextAcctAt > now) {
      // OVER runs on borrowed time: come back when accounting may have made others UNDER,
      // instead of whenever the caller's next tick happens to fall.
      slice = Math.min(slice, Math.max(this.nextAcctAt - now, MIN_SLICE_MS));
    }
    return Math.min(slice, this.capLimitMs(sv, now));
  }

  /**
   * The part of its domain's cap budget a vCPU may spend in one run (Infinity if uncapped): what
   * is left after the domain's other running vCPUs' time so far, split evenly with them. Never
   * less than MIN_SLICE_MS; an overdraft is debt that the next refill pays first.
   */
  private capLimitMs(sv: CschedVcpu, now: number): number {
    const sdom = sv.sdom;
    if (sdom.dom.cap <= 0) return Infinity;
    let left = sdom.budgetMs;
    let running = 1;
    for (const o of sdom.vcpus) {
      if (o.running < 0 || o === sv) continue;
      running++;
      left -= Math.max(0, now - o.runFrom - o.prechargedMs);
    }
    return Math.max(left / running, MIN_SLICE_MS);
  }

  /** Idle: the pCPU only needs to ask again when a parked domain is refilled. */
  private idleSliceMs(now: number): number {
    for (const sdom of this.doms.values()) {
      if (sdom.parked && sdom.vcpus.some((sv) => sv.awake)) {
        return Number.isNaN(this.nextAcctAt) ? this.tsliceMs : Math.max(0, this.nextAcctAt - now);
      }
    }
    return Infinity;
  }

  /** The best vCPU of priority above `above` waiting on another, busy pCPU's runqueue. */
  private stealable(pcpu: number, above: number): CschedVcpu | undefined {
    let best: CschedVcpu | undefined;
    let bestLoad = -1;
    for (let i = 1; i < this.pcpus; i++) {
      const q = (pcpu + i) % this.pcpus;
      const pq = this.pcpuAt(q);
      const head = pq.runq[0];
      // An idle pCPU's waiters are about to be taken by that pCPU (it is being kicked), and
      // one may have been sent there on purpose (migrate, placement on wake).
      if (!head || head.pri <= above || !pq.curr) continue;
      const load = this.load(q);
      if (!best || head.pri > best.pri || (head.pri === best.pri && load > bestLoad)) {
        best = head;
        bestLoad = load;
      }
    }
    return best;
  }

  /** Evens out runqueue lengths: a pCPU with two more runnable vCPUs than another gives one away. */
  private balance(): void {
    if (this.pcpus < 2) return;
    for (let round = 0; round < this.vcpus.size; round++) {
      let hi = 0;
      let lo = 0;
      for (let p = 1; p < this.pcpus; p++) {
        if (this.load(p) > this.load(hi)) hi = p;
        if (this.load(p) < this.load(lo)) lo = p;
      }
      const from = this.pcpuAt(hi).runq;
      if (this.load(hi) - this.load(lo) < 2 || from.length === 0) return;
      // The tail (lowest priority, last in line) has the longest wait ahead of it here.
      const sv = from[from.length - 1] as CschedVcpu;
      this.dequeue(sv);
      sv.v.pcpu = lo;
      this.enqueue(sv);
    }
  }

  /** Wakes onto an idle pCPU when its own is busy, so that no pCPU idles while work waits. */
  private placeOnWake(sv: CschedVcpu): void {
    const home = sv.v.pcpu;
    if (this.load(home) === 0) return;
    for (let i = 1; i < this.pcpus; i++) {
      const q = (home + i) % this.pcpus;
      if (this.load(q) === 0) {
        sv.v.pcpu = q;
        return;
      }
    }
  }

  // --- runqueues ------------------------------------------------------------------------------

  private enqueue(sv: CschedVcpu): void {
    const p = sv.v.pcpu;
    const runq = this.pcpuAt(p).runq;
    let i = runq.length;
    // Behind every vCPU of its priority or higher: FIFO within a priority, as in Xen.
    while (i > 0 && (runq[i - 1] as CschedVcpu).pri < sv.pri) i--;
    runq.splice(i, 0, sv);
    sv.queued = p;
  }

  private dequeue(sv: CschedVcpu): void {
    const runq = this.pcpuAt(sv.queued).runq;
    runq.splice(runq.indexOf(sv), 1);
    sv.queued = -1;
  }

  private setPri(sv: CschedVcpu, pri: number): void {
    if (sv.pri === pri) return;
    if (sv.queued >= 0) {
      this.dequeue(sv);
      sv.pri = pri;
      this.enqueue(sv);
    } else {
      sv.pri = pri;
    }
  }

  private load(p: number): number {
    const pc = this.pcpuAt(p);
    return pc.runq.length + (pc.curr ? 1 : 0);
  }

  private runnable(sv: CschedVcpu): boolean {
    return sv.awake && !sv.sdom.parked;
  }

  private pcpuAt(p: number): CschedPcpu {
    return this.pcpu[p] as CschedPcpu;
  }

  private get(v: SchedVcpu): CschedVcpu {
    const sv = this.vcpus.get(v);
    if (!sv) throw new RangeError(`vCPU ${label(v)} is not in the credit scheduler; insert it first`);
    return sv;
  }
}

function label(v: SchedVcpu): string {
  return `d${v.domain.id}v${v.vcpuId}`;
}

export function createCreditScheduler(opts: CreditOptions): SchedOps {
  return new CreditScheduler(opts);
}
