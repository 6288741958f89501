/**
 * Round robin: the simplest policy behind the ops table in ops.ts, kept as a reference and for
 * tests. Every runnable vCPU gets the same slice in turn; weights and caps are ignored.
 *
 * One FIFO serves all pCPUs, so every vCPU gets an equal share of the machine whatever pCPU it
 * last ran on (a vCPU's `pcpu` is where it last ran or is about to run). A vCPU is never
 * preempted by another: it runs until its slice ends or it blocks. A waking vCPU joins the tail;
 * if some pCPU is idle, the vCPU is bound to it so that `preemptDelayMs` tells the caller to kick
 * that pCPU, and `migrate` binds a vCPU the same way. A bound waiter is left to its pCPU unless
 * that pCPU is busy, so that no pCPU idles while a vCPU waits. Not thread-safe: see ops.ts for
 * who owns a scheduler instance.
 */
import { checkPcpu, checkPcpuCount, type PickResult, type SchedOps, type SchedVcpu } from './ops.ts';

export interface RoundRobinOptions {
  pcpus: number;
  /** The slice every vCPU gets in turn (ms), default 30. */
  sliceMs?: number;
}

interface RrVcpu {
  readonly v: SchedVcpu;
  awake: boolean;
  queued: boolean;
  /** The pCPU it should wait for (placed by wake or migrate), or -1 = the first pCPU free. */
  bound: number;
  /** Gave up its slice (`yield`): the next pick does not continue it. */
  yielded?: boolean;
  /** The pCPU running it, or -1. */
  running: number;
  /** When it joined the queue, and how long it has run in all: see `enqueue`. */
  queuedAt: number;
  ranMs: number;
}

interface RrPcpu {
  curr: RrVcpu | undefined;
  sliceEnd: number;
  /** What it runs was removed from the scheduler: it must stop. */
  orphaned: boolean;
}

const EPS_MS = 1e-9;

export class RoundRobinScheduler implements SchedOps {
  readonly name = 'round_robin';
  readonly pcpus: number;
  readonly sliceMs: number;
  private readonly runq: RrVcpu[] = [];
  private readonly pcpu: RrPcpu[] = [];
  private readonly vcpus = new Map<SchedVcpu, RrVcpu>();

  constructor(opts: RoundRobinOptions) {
    checkPcpuCount(opts.pcpus);
    this.pcpus = opts.pcpus;
    this.sliceMs = opts.sliceMs ?? 30;
    if (!(this.sliceMs > 0) || !Number.isFinite(this.sliceMs)) {
      throw new RangeError(`round-robin slice ${this.sliceMs} ms must be a positive number`);
    }
    for (let p = 0; p < this.pcpus; p++) this.pcpu.push({ curr: undefined, sliceEnd: 0, orphaned: false });
  }

  insert(v: SchedVcpu, pcpuHint: number): void {
    if (this.vcpus.has(v)) throw new RangeError(`vCPU ${label(v)} is already in the scheduler`);
    v.pcpu = Number.isInteger(pcpuHint) && pcpuHint >= 0 && pcpuHint < this.pcpus ? pcpuHint : 0;
    this.vcpus.set(v, { v, awake: false, queued: false, bound: -1, running: -1, queuedAt: 0, ranMs: 0 });
  }

  remove(v: SchedVcpu): void {
    const rv = this.vcpus.get(v);
    if (!rv) return;
    if (rv.queued) this.dequeue(rv);
    if (rv.running >= 0) {
      const pc = this.pcpuAt(rv.running);
      if (pc.curr === rv) {
        pc.curr = undefined;
        pc.orphaned = true;
      }
    }
    this.vcpus.delete(v);
  }

  wake(v: SchedVcpu, now: number): void {
    const rv = this.get(v);
    if (rv.awake) return;
    rv.awake = true;
    if (rv.running >= 0) return;
    const idle = this.idlePcpu(v.pcpu);
    if (idle >= 0) v.pcpu = idle;
    rv.bound = idle;
    this.enqueue(rv, now);
  }

  sleep(v: SchedVcpu, _now: number): void {
    const rv = this.vcpus.get(v);
    if (!rv) return; // removed while it was running
    rv.awake = false;
    if (rv.queued) this.dequeue(rv);
  }

  account(v: SchedVcpu, ranMs: number, _now: number): void {
    const rv = this.vcpus.get(v);
    if (rv && ranMs > 0) rv.ranMs += ranMs;
  }

  yield(v: SchedVcpu): void {
    const rv = this.vcpus.get(v);
    if (rv) rv.yielded = true;
  }

  pick(pcpu: number, now: number, prev: SchedVcpu | undefined): PickResult {
    checkPcpu(pcpu, this.pcpus);
    const pc = this.pcpuAt(pcpu);
    const last = pc.curr;
    pc.curr = undefined;
    pc.orphaned = false;
    if (last) last.running = -1;
    let rp = prev ? this.vcpus.get(prev) : undefined;
    if (rp && (rp.queued || rp.running >= 0)) rp = undefined;
    if (last && last !== rp && last.awake && !last.queued) {
      last.bound = last.v.pcpu === pcpu ? -1 : last.v.pcpu;
      this.enqueue(last, now);
    }
    const yielded = last?.yielded === true;
    if (last) last.yielded = false;
    if (rp && rp.awake) {
      if (rp === last && rp.v.pcpu === pcpu && pc.sliceEnd - now > EPS_MS && !yielded) {
        pc.curr = rp;
        rp.running = pcpu;
        return { vcpu: rp.v, sliceMs: pc.sliceEnd - now };
      }
      // Migrated away while it ran: it waits for its new pCPU; otherwise for whichever is free.
      rp.bound = rp.v.pcpu === pcpu ? -1 : rp.v.pcpu;
      this.enqueue(rp, now);
    }
    const next = this.runq.find((rv) => this.mayTake(pcpu, rv));
    if (!next) return { vcpu: undefined, sliceMs: Infinity };
    this.dequeue(next);
    next.bound = -1;
    next.v.pcpu = pcpu;
    next.running = pcpu;
    pc.curr = next;
    pc.sliceEnd = now + this.sliceMs;
    return { vcpu: next.v, sliceMs: this.sliceMs };
  }

  shouldPreempt(pcpu: number, now: number): boolean {
    return this.preemptDelayMs(pcpu, now) === 0;
  }

  preemptDelayMs(pcpu: number, _now: number): number {
    checkPcpu(pcpu, this.pcpus);
    const pc = this.pcpuAt(pcpu);
    const cur = pc.curr;
    if (pc.orphaned) return 0;
    if (!cur) return this.runq.some((rv) => this.mayTake(pcpu, rv)) ? 0 : Infinity;
    return cur.awake && cur.v.pcpu === pcpu ? Infinity : 0;
  }

  tick(_now: number): void {
    // One shared queue needs no balancing and round robin keeps no periodic state.
  }

  migrate(v: SchedVcpu, pcpu: number): void {
    checkPcpu(pcpu, this.pcpus);
    const rv = this.get(v);
    v.pcpu = pcpu;
    if (rv.queued) rv.bound = pcpu;
  }

  /** May pCPU `pcpu` take waiter `rv`: it is free, bound here, or bound to a pCPU that is busy. */
  private mayTake(pcpu: number, rv: RrVcpu): boolean {
    return rv.bound < 0 || rv.bound === pcpu || this.pcpuAt(rv.bound).curr !== undefined;
  }

  /** An idle pCPU, preferring `home`, that no other woken vCPU has been sent to yet; or -1. */
  private idlePcpu(home: number): number {
    for (let i = 0; i < this.pcpus; i++) {
      const q = (home + i) % this.pcpus;
      if (!this.pcpuAt(q).curr && !this.runq.some((rv) => rv.bound === q)) return q;
    }
    return -1;
  }

  /**
   * Joins the tail. Among vCPUs that joined at the same instant (two pCPUs' slices ending
   * together) the one that has run less goes first: otherwise the order in which the pCPUs
   * happen to call `pick` decides, and shares drift apart like a random walk.
   */
  private enqueue(rv: RrVcpu, now: number): void {
    let i = this.runq.length;
    while (i > 0) {
      const o = this.runq[i - 1] as RrVcpu;
      if (o.queuedAt < now || o.ranMs <= rv.ranMs) break;
      i--;
    }
    this.runq.splice(i, 0, rv);
    rv.queued = true;
    rv.queuedAt = now;
  }

  private dequeue(rv: RrVcpu): void {
    this.runq.splice(this.runq.indexOf(rv), 1);
    rv.queued = false;
  }

  private pcpuAt(p: number): RrPcpu {
    return this.pcpu[p] as RrPcpu;
  }

  private get(v: SchedVcpu): RrVcpu {
    const rv = this.vcpus.get(v);
    if (!rv) throw new RangeError(`vCPU ${label(v)} is not in the round-robin scheduler; insert it first`);
    return rv;
  }
}

function label(v: SchedVcpu): string {
  return `d${v.domain.id}v${v.vcpuId}`;
}

export function createRoundRobinScheduler(opts: { pcpus: number; sliceMs?: number }): SchedOps {
  return new RoundRobinScheduler(opts);
}
