// The contract of ops.ts, checked against every policy: what any scheduler must do whatever its
// notion of fairness. Policy-specific behaviour is in credit_test.ts and round_robin_test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCreditScheduler } from './credit.ts';
import type { SchedOps, SchedVcpu } from './ops.ts';
import { createRoundRobinScheduler } from './round_robin.ts';
import { bursty, domain, HOG, Sim, type SimVcpu } from './sim.ts';

const policies: { name: string; make: (pcpus: number) => SchedOps; sliceMs: number }[] = [
  { name: 'credit', make: (pcpus) => createCreditScheduler({ pcpus }), sliceMs: 30 },
  { name: 'round_robin', make: (pcpus) => createRoundRobinScheduler({ pcpus }), sliceMs: 30 },
];

function vcpu(weight = 256, vcpuId = 0): SchedVcpu {
  return { domain: domain(weight), vcpuId, pcpu: -1 };
}

/** Within `tol` of `want`, relative: shares are compared as ratios, as the brief states them. */
function near(got: number, want: number, tol: number, what: string): void {
  assert.ok(
    Math.abs(got - want) <= tol * want,
    `${what}: got ${got.toFixed(4)}, want ${want} ± ${tol * 100}%`,
  );
}

for (const { name, make, sliceMs } of policies) {
  test(`${name}: a vCPU that never woke, or sleeps, is never picked`, () => {
    const s = make(1);
    const a = vcpu();
    const b = vcpu();
    s.insert(a, 0);
    s.insert(b, 0);
    assert.equal(s.pick(0, 0, undefined).vcpu, undefined, 'inserted but not woken');
    assert.equal(s.preemptDelayMs(0, 0), Infinity, 'an idle pCPU with nothing to do is not kicked');
    s.wake(a, 0);
    s.wake(b, 0);
    s.sleep(b, 0);
    const r = s.pick(0, 0, undefined);
    assert.equal(r.vcpu, a);
    assert.ok(r.sliceMs > 0 && r.sliceMs <= sliceMs);
    // a blocks in WFI: the caller accounts its run, puts it to sleep and asks with no prev.
    s.account(a, 5, 5);
    s.sleep(a, 5);
    const idle = s.pick(0, 5, undefined);
    assert.equal(idle.vcpu, undefined);
    assert.ok(idle.sliceMs > 0);
  });

  test(`${name}: a vCPU that yields lets the other runnable vCPU run, once, with slice left`, () => {
    const s = make(1);
    const a = vcpu();
    const b = vcpu();
    s.insert(a, 0);
    s.insert(b, 0);
    s.wake(a, 0);
    s.wake(b, 0);
    const first = s.pick(0, 0, undefined).vcpu!;
    const other = first === a ? b : a;
    // 0.1 ms into its slice (within any rate limit): without a yield it carries on, with one
    // the other vCPU runs.
    s.account(first, 0.1, 0.1);
    assert.equal(s.pick(0, 0.1, first).vcpu, first, 'no yield: the slice continues');
    s.account(first, 0.1, 0.2);
    s.yield(first);
    assert.equal(s.pick(0, 0.2, first).vcpu, other, 'after a yield the other vCPU runs');
    s.account(other, 0.1, 0.3);
    s.yield(other);
    assert.equal(s.pick(0, 0.3, other).vcpu, first, 'and yields back');
    // A yield with nobody else runnable changes nothing.
    s.sleep(other, 0.3);
    s.account(first, 0.1, 0.4);
    s.yield(first);
    assert.equal(s.pick(0, 0.4, first).vcpu, first);
  });

  test(`${name}: a vCPU that wakes again before its pCPU asks is still runnable`, () => {
    const s = make(1);
    const a = vcpu();
    s.insert(a, 0);
    s.wake(a, 0);
    assert.equal(s.pick(0, 0, undefined).vcpu, a);
    s.account(a, 2, 2);
    s.sleep(a, 2);
    s.wake(a, 2.1); // an interrupt arrived just after its WFI
    assert.equal(s.pick(0, 2.2, undefined).vcpu, a);
  });

  test(`${name}: remove() of a queued and of a running vCPU`, () => {
    const s = make(1);
    const [a, b, c] = [vcpu(), vcpu(), vcpu()];
    for (const v of [a, b, c]) {
      s.insert(v, 0);
      s.wake(v, 0);
    }
    const first = s.pick(0, 0, undefined).vcpu;
    assert.ok(first);
    const queued = [a, b, c].filter((v) => v !== first);
    s.remove(queued[0] as SchedVcpu);
    s.remove(first); // removed while running: its pCPU must stop it, then hands it back as prev
    assert.equal(s.preemptDelayMs(0, 3), 0);
    s.account(first, 3, 3);
    s.sleep(first, 3); // both are no-ops for a removed vCPU
    const r = s.pick(0, 3, first);
    assert.equal(r.vcpu, queued[1], 'the only vCPU left');
    s.remove(queued[1] as SchedVcpu);
    assert.equal(s.pick(0, 4, undefined).vcpu, undefined);
    s.remove(queued[1] as SchedVcpu); // twice is harmless
  });

  test(`${name}: remove() in a running simulation leaves the rest sharing the pCPU`, () => {
    const sim = new Sim(make(1), { seed: 11 });
    const vs = [domain(), domain(), domain()].map((d) => sim.addVcpu(d, HOG));
    sim.runUntil(1000);
    sim.removeVcpu(sim.running(0) ?? assert.fail('a hog is running'));
    const left = sim.vcpus.filter((v) => vs.includes(v));
    assert.equal(left.length, 2);
    sim.resetStats();
    sim.runUntil(6000);
    for (const v of left) near(sim.share(v), 0.5, 0.05, 'share after remove');
  });

  test(`${name}: a paused vCPU is never picked, and gets its share back when resumed`, () => {
    const sim = new Sim(make(2), { seed: 12 });
    const vs = [domain(), domain(), domain(), domain()].map((d) => sim.addVcpu(d, HOG, 0));
    const [paused, ...rest] = vs as [SimVcpu, ...SimVcpu[]];
    sim.runUntil(1000);
    sim.pause(paused); // the simulator throws if a pick ever returns a vCPU that is not awake
    sim.resetStats();
    sim.runUntil(6000);
    assert.equal(sim.share(paused), 0);
    for (const v of rest) near(sim.share(v), 2 / 3, 0.05, 'share while one is paused');
    sim.resume(paused);
    sim.runUntil(7000);
    sim.resetStats();
    sim.runUntil(17000);
    for (const v of vs) near(sim.share(v), 0.5, 0.05, 'share after resume');
  });

  test(`${name}: migrate() moves a waiting vCPU, and a running one at its next pick`, () => {
    const s = make(2);
    const [a, b] = [vcpu(), vcpu()];
    s.insert(a, 0);
    s.insert(b, 0);
    s.wake(a, 0);
    assert.equal(s.pick(0, 0, undefined).vcpu, a);
    s.migrate(a, 1);
    assert.equal(a.pcpu, 1);
    assert.equal(s.preemptDelayMs(0, 1), 0, 'the old pCPU is told to let it go');
    s.account(a, 1, 1);
    assert.notEqual(s.pick(0, 1, a).vcpu, a, 'the old pCPU does not keep it');
    assert.equal(s.preemptDelayMs(1, 1), 0, 'the idle new pCPU is told to take it');
    assert.equal(s.pick(1, 1, undefined).vcpu, a);
    assert.equal(a.pcpu, 1);
    assert.throws(() => s.migrate(a, 2), /pCPU 2 does not exist/);
  });

  test(`${name}: equal CPU hogs get equal shares, on one pCPU and across pCPUs`, () => {
    for (const [pcpus, n] of [
      [1, 3],
      [2, 4],
      [2, 3],
      [3, 5],
    ] as const) {
      const sim = new Sim(make(pcpus), { seed: 100 + n });
      // All start on pCPU 0: spreading them is the scheduler's job.
      const vs = Array.from({ length: n }, () => sim.addVcpu(domain(), HOG, 0));
      sim.runUntil(1000);
      sim.resetStats();
      sim.runUntil(21000);
      for (const v of vs) near(sim.share(v), pcpus / n, 0.05, `${n} hogs on ${pcpus} pCPUs`);
      assert.ok(sim.idleWhileWaitingMs < 1e-6, `a pCPU idled ${sim.idleWhileWaitingMs} ms while work waited`);
    }
  });

  test(`${name}: no pCPU idles while a runnable vCPU waits, and every runnable vCPU runs`, () => {
    const pcpus = 3;
    const sim = new Sim(make(pcpus), { seed: 5 });
    const vs = [
      ...Array.from({ length: 4 }, () => sim.addVcpu(domain(), HOG, 0)),
      ...Array.from({ length: 4 }, (_, i) => sim.addVcpu(domain(), bursty(2, 1, 20), i % pcpus)),
      sim.addVcpu(domain(), bursty(0.1, 0.1, 3), 2),
    ];
    sim.runUntil(500);
    sim.resetStats();
    sim.runUntil(10500);
    assert.ok(sim.idleWhileWaitingMs < 1e-6, `a pCPU idled ${sim.idleWhileWaitingMs} ms while work waited`);
    // Nine vCPUs on three pCPUs: no vCPU should wait for more than a round of everybody else.
    for (const v of vs) {
      assert.ok(v.picks > 0);
      const wait = sim.maxWait(v);
      assert.ok(wait <= 9 * sliceMs, `d${v.domain.id} waited ${wait} ms`);
    }
  });

  test(`${name}: pCPU numbers are checked`, () => {
    const s = make(2);
    assert.throws(() => s.pick(2, 0, undefined), /pCPU 2 does not exist; this scheduler has pCPUs 0\.\.1/);
    assert.throws(() => s.preemptDelayMs(-1, 0), /pCPU -1 does not exist/);
    assert.throws(() => make(0), /whole number of pCPUs/);
    const a = vcpu();
    s.insert(a, 7);
    assert.ok(a.pcpu === 0 || a.pcpu === 1, 'a bad hint is not kept');
    assert.throws(() => s.insert(a, 0), /already in the scheduler/);
    assert.throws(() => s.wake(vcpu(), 0), /not in the .* scheduler; insert it first/);
  });
}
