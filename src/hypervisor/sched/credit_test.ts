// The credit scheduler's own behaviour: weights, caps, BOOST and the rate limit, priorities,
// load balancing. Shares are measured with the seeded simulator in sim.ts over 10-20 simulated
// seconds after a warm-up second; the contract shared with round robin is in ops_test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../common/errors.ts';
import { CreditScheduler, createCreditScheduler } from './credit.ts';
import type { SchedDomain, SchedVcpu } from './ops.ts';
import { bursty, domain, HOG, Sim, type SimVcpu } from './sim.ts';

/** Within `tol` of `want`, relative. */
function near(got: number, want: number, tol: number, what: string): void {
  assert.ok(
    Math.abs(got - want) <= tol * want,
    `${what}: got ${got.toFixed(4)}, want ${want} ± ${tol * 100}%`,
  );
}

/** Within `tol` of `want`, absolute (fractions of a pCPU). */
function within(got: number, want: number, tol: number, what: string): void {
  assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got.toFixed(4)}, want ${want} ± ${tol}`);
}

interface DomSpec {
  weight?: number;
  cap?: number;
  vcpus?: number;
}

/** Runs CPU hogs (all hinted onto pCPU 0) and returns each domain's share of one pCPU. */
function hogShares(pcpus: number, specs: DomSpec[], seed: number, ms = 10000): number[] {
  const sim = new Sim(createCreditScheduler({ pcpus }), { seed });
  const doms = specs.map((s) => domain(s.weight ?? 256, s.cap ?? 0));
  specs.forEach((s, i) => {
    for (let k = 0; k < (s.vcpus ?? 1); k++) sim.addVcpu(doms[i] as SchedDomain, HOG, 0);
  });
  sim.runUntil(1000);
  sim.resetStats();
  sim.runUntil(1000 + ms);
  assert.ok(sim.idleWhileWaitingMs < 1e-6, `a pCPU idled ${sim.idleWhileWaitingMs} ms while work waited`);
  return doms.map((d) => sim.domainShare(d));
}

test('weights on one pCPU: shares follow the weights within 5%', () => {
  const mixes = [
    [256, 512],
    [256, 512, 768],
    [100, 200, 300, 400],
    [1000, 10 * 25, 4000],
    [256, 256, 256, 256, 1024],
  ];
  for (const [i, weights] of mixes.entries()) {
    for (const seed of [1, 2]) {
      const got = hogShares(
        1,
        weights.map((weight) => ({ weight })),
        seed * 10 + i,
      );
      const sum = weights.reduce((a, b) => a + b, 0);
      got.forEach((g, k) =>
        near(g, (weights[k] as number) / sum, 0.05, `weights ${weights.join(':')} dom ${k}`),
      );
    }
  }
});

test('weights across pCPUs: 4 equal domains on 2 pCPUs get 50% each, 3 get 67%', () => {
  for (const g of hogShares(2, [{}, {}, {}, {}], 3, 20000)) near(g, 0.5, 0.05, '4 on 2');
  for (const g of hogShares(2, [{}, {}, {}], 4, 20000)) near(g, 2 / 3, 0.05, '3 on 2');
});

test('weights across pCPUs: a single-vCPU domain is never given more than one pCPU', () => {
  // 256:256:512 of 2 pCPUs is 0.5 : 0.5 : 1.0, and 1.0 is all that one vCPU can use.
  const [a, b, c] = hogShares(2, [{}, {}, { weight: 512 }], 5, 20000);
  near(a as number, 0.5, 0.05, 'a');
  near(b as number, 0.5, 0.05, 'b');
  near(c as number, 1, 0.05, 'c');
  // Here the heavy domain could use two pCPUs but gets what its weight says: 1:3 of 2 pCPUs.
  const [x, y] = hogShares(2, [{ vcpus: 2 }, { weight: 768, vcpus: 2 }], 6, 20000);
  near(x as number, 0.5, 0.05, 'weight 256, 2 vCPUs');
  near(y as number, 1.5, 0.05, 'weight 768, 2 vCPUs');
  // More vCPUs than pCPUs in a bigger machine.
  const [p, q, r] = hogShares(4, [{ vcpus: 4 }, { weight: 512, vcpus: 4 }, { vcpus: 2 }], 7, 10000);
  near(p as number, 1, 0.05, '4 vCPUs, weight 256');
  near(q as number, 2, 0.05, '4 vCPUs, weight 512');
  near(r as number, 1, 0.05, '2 vCPUs, weight 256');
});

test('a weight changed at run time takes effect', () => {
  const sim = new Sim(createCreditScheduler({ pcpus: 1 }), { seed: 8 });
  const a = domain();
  const b = domain();
  sim.addVcpu(a, HOG);
  sim.addVcpu(b, HOG);
  sim.runUntil(1000);
  a.weight = 768; // xl sched-credit -d a -w 768
  sim.runUntil(2000);
  sim.resetStats();
  sim.runUntil(12000);
  near(sim.domainShare(a), 0.75, 0.05, 'a after the change');
  near(sim.domainShare(b), 0.25, 0.05, 'b after the change');
});

test('idle domains do not dilute the others: blocked vCPUs stop receiving credit', () => {
  const sim = new Sim(createCreditScheduler({ pcpus: 1 }), { seed: 9 });
  const a = domain(256);
  const b = domain(512);
  const sleepy = domain(4096);
  sim.addVcpu(a, HOG);
  sim.addVcpu(b, HOG);
  // Weight 4096 but awake for 0.1 ms once a second: it must not hold 16/19 of the credit.
  sim.addVcpu(sleepy, bursty(0.1, 1000));
  sim.runUntil(1000);
  sim.resetStats();
  sim.runUntil(11000);
  near(sim.domainShare(a), 1 / 3, 0.05, 'a');
  near(sim.domainShare(b), 2 / 3, 0.05, 'b');
});

test('cap 50 against busy domains: the capped domain gets 50% ± 3%', () => {
  // Its weight alone would give it 2/3; the cap holds it to half, and the rest goes to the other.
  const [capped, other] = hogShares(1, [{ weight: 512, cap: 50 }, {}], 10);
  within(capped as number, 0.5, 0.03, 'capped');
  within(other as number, 0.5, 0.03, 'other');
  // Three busy domains on two pCPUs; the capped one would get 2/3 of a pCPU uncapped.
  const [c2, o1, o2] = hogShares(2, [{ cap: 50 }, {}, {}], 11);
  within(c2 as number, 0.5, 0.03, 'capped, 2 pCPUs');
  within(o1 as number, 0.75, 0.03, 'other 1, 2 pCPUs');
  within(o2 as number, 0.75, 0.03, 'other 2, 2 pCPUs');
});

test('a cap limits a domain even on an otherwise idle machine', () => {
  for (const [pcpus, cap, vcpus] of [
    [1, 50, 1],
    [1, 25, 1],
    [2, 50, 1],
    [2, 50, 2],
    [2, 150, 2],
    [4, 120, 3],
  ] as const) {
    const [got] = hogShares(pcpus, [{ cap, vcpus }], 12 + cap);
    within(got as number, cap / 100, 0.03, `cap ${cap}, ${vcpus} vCPUs on ${pcpus} pCPUs`);
  }
});

test('a parked domain idles its pCPU only until the refill, and the pick says when', () => {
  const s = new CreditScheduler({ pcpus: 1 });
  const d = domain(256, 50);
  const v: SchedVcpu = { domain: d, vcpuId: 0, pcpu: 0 };
  s.insert(v, 0);
  s.tick(0); // the first accounting period ends at 30
  s.wake(v, 0);
  // Run it as a pCPU would until the scheduler stops handing it out.
  let now = 0;
  let prev: SchedVcpu | undefined;
  let r = s.pick(0, now, prev);
  while (r.vcpu) {
    assert.equal(r.vcpu, v);
    now += r.sliceMs;
    s.account(v, r.sliceMs, now);
    prev = v;
    r = s.pick(0, now, prev);
  }
  assert.ok(Math.abs(now - 15) < 1e-9, `ran ${now} ms of a 30 ms period under cap 50`);
  assert.equal(s.inspect(v).parked, true);
  assert.ok(Math.abs(r.sliceMs - 15) < 1e-9, 'idle until the refill at 30');
  assert.equal(s.preemptDelayMs(0, 20), Infinity, 'a parked vCPU is no reason to wake the pCPU');
  assert.equal(s.pick(0, 30, undefined).vcpu, v, 'refilled at the accounting period');
  d.cap = 0; // uncapped at run time
  s.account(v, 30, 60);
  s.tick(60);
  assert.equal(s.inspect(v).parked, false);
});

test('BOOST: an I/O vCPU among CPU hogs runs within the rate limit of each wake-up', () => {
  for (const pcpus of [1, 2]) {
    const sim = new Sim(createCreditScheduler({ pcpus }), { seed: 20 + pcpus });
    const hogs = Array.from({ length: pcpus + 1 }, () => sim.addVcpu(domain(), HOG, 0));
    // 0.2 ms of work every ~10 ms, with wake-ups jittered so that some land just after a switch.
    const io = sim.addVcpu(domain(), bursty(0.2, 5, 14.6), 0);
    sim.runUntil(500);
    sim.resetStats();
    sim.runUntil(10500);
    const lat = io.latenciesMs;
    assert.ok(lat.length > 900, `${lat.length} wake-ups`);
    const worst = Math.max(...lat);
    assert.ok(worst <= 1 + 1e-6, `worst wake-up latency ${worst} ms exceeds the 1 ms rate limit`);
    assert.ok(worst > 0.5, 'some wake-ups fell inside a rate limit (the case under test)');
    near(sim.share(io), 0.02, 0.05, 'the I/O vCPU gets the little it asks for');
    for (const h of hogs) near(sim.share(h), (pcpus - 0.02) / hogs.length, 0.05, 'hogs share the rest');
  }
});

test('BOOST with no rate limit: a waking I/O vCPU preempts at once', () => {
  const sim = new Sim(createCreditScheduler({ pcpus: 1, ratelimitMs: 0 }), { seed: 23 });
  sim.addVcpu(domain(), HOG);
  sim.addVcpu(domain(), HOG);
  const io = sim.addVcpu(domain(), bursty(0.2, 5, 14.6));
  sim.runUntil(500);
  sim.resetStats();
  sim.runUntil(5500);
  assert.ok(Math.max(...io.latenciesMs) < 1e-6);
});

test('preemption waits for the rate limit and says how long', () => {
  const s = new CreditScheduler({ pcpus: 1, ratelimitMs: 1 });
  const hog: SchedVcpu = { domain: domain(), vcpuId: 0, pcpu: 0 };
  const io: SchedVcpu = { domain: domain(), vcpuId: 0, pcpu: 0 };
  s.insert(hog, 0);
  s.insert(io, 0);
  s.tick(0);
  // io runs briefly and blocks; the hog runs until the first accounting period hands out credit.
  s.wake(io, 0);
  assert.equal(s.pick(0, 0, undefined).vcpu, io);
  s.account(io, 0.2, 0.2);
  s.sleep(io, 0.2);
  s.wake(hog, 0.2);
  let r = s.pick(0, 0.2, undefined);
  let now = 0.2;
  while (now < 30) {
    assert.equal(r.vcpu, hog);
    const end = Math.min(30, now + r.sliceMs);
    s.account(hog, end - now, end);
    now = end;
    r = s.pick(0, now, hog);
  }
  assert.equal(r.vcpu, hog, 'switched in again at 30');
  assert.equal(s.inspect(io).pri, 'UNDER', 'io was credited for the period');
  s.wake(io, 30.3); // returns from its block with credit: BOOST
  assert.equal(s.inspect(io).pri, 'BOOST');
  assert.ok(Math.abs(s.preemptDelayMs(0, 30.3) - 0.7) < 1e-9, 'the hog keeps 0.7 ms of its rate limit');
  assert.equal(s.shouldPreempt(0, 30.3), false);
  // A caller that stops the hog early anyway gets it back for the rest of its rate limit.
  s.account(hog, 0.3, 30.3);
  const early = s.pick(0, 30.3, hog);
  assert.equal(early.vcpu, hog);
  assert.ok(Math.abs(early.sliceMs - 0.7) < 1e-9);
  assert.equal(s.shouldPreempt(0, 31), true);
  s.account(hog, 0.7, 31);
  assert.equal(s.pick(0, 31, hog).vcpu, io);
});

test('priorities: BOOST only on a return from a block with credit, UNDER until the credit is spent', () => {
  const s = new CreditScheduler({ pcpus: 1 });
  const d = domain();
  const v: SchedVcpu = { domain: d, vcpuId: 0, pcpu: 0 };
  const other: SchedVcpu = { domain: domain(), vcpuId: 0, pcpu: 0 };
  s.insert(v, 0);
  s.insert(other, 0);
  s.tick(0);
  s.wake(v, 0);
  assert.equal(s.inspect(v).pri, 'UNDER', 'a start is not a return from a block');
  assert.equal(s.pick(0, 0, undefined).vcpu, v);
  s.account(v, 5, 5);
  assert.equal(s.inspect(v).pri, 'OVER', 'it burned credit it was never given');
  assert.equal(s.inspect(v).active, true);
  s.sleep(v, 5);
  s.tick(30); // one period: v's domain gets the whole pCPU's 30 ms
  assert.equal(s.inspect(v).credit, 25);
  s.wake(v, 31);
  assert.equal(s.inspect(v).pri, 'BOOST');
  s.wake(other, 31);
  assert.equal(s.pick(0, 31, undefined).vcpu, v, 'BOOST goes first');
  s.account(v, 1, 32);
  assert.equal(s.inspect(v).pri, 'UNDER', 'the boost ends once it has run');
});

test('a vCPU that waits in vain is not starved: the lightest weight still runs every few slices', () => {
  const sim = new Sim(createCreditScheduler({ pcpus: 1 }), { seed: 30 });
  const light = sim.addVcpu(domain(1), HOG);
  const heavy = sim.addVcpu(domain(65535), HOG);
  const mid = sim.addVcpu(domain(256), HOG);
  sim.runUntil(1000);
  sim.resetStats();
  sim.runUntil(11000);
  for (const v of [light, heavy, mid]) {
    assert.ok(sim.maxWait(v) <= 12 * 30, `d${v.domain.id} waited ${sim.maxWait(v)} ms`);
  }
  // The guard costs the heavy domain little: about one short slice per starvation interval each.
  assert.ok(sim.share(heavy) > 0.98, `heavy ${sim.share(heavy)}`);
  assert.ok(sim.share(light) < 0.01, `light ${sim.share(light)}`);
});

test('with ordinary weights a runnable vCPU waits at most a few timeslices', () => {
  const sim = new Sim(createCreditScheduler({ pcpus: 1 }), { seed: 31 });
  const vs: SimVcpu[] = [64, 128, 256, 512, 1024].map((w) => sim.addVcpu(domain(w), HOG));
  sim.runUntil(1000);
  sim.resetStats();
  sim.runUntil(11000);
  for (const v of vs)
    assert.ok(sim.maxWait(v) <= 5 * 30, `weight ${v.domain.weight} waited ${sim.maxWait(v)}`);
});

test('load balancing: a pCPU with nothing better than OVER steals UNDER work', () => {
  const s = new CreditScheduler({ pcpus: 2 });
  const vs: SchedVcpu[] = [0, 1, 2].map(() => ({ domain: domain(), vcpuId: 0, pcpu: 0 }));
  for (const v of vs) {
    s.insert(v, 0);
    s.wake(v, 0);
  }
  s.tick(0);
  const a = s.pick(0, 0, undefined).vcpu;
  assert.ok(a);
  // pCPU 1 is idle and pCPU 0 busy with two waiting: pCPU 1 is kicked and takes one.
  assert.equal(s.preemptDelayMs(1, 0), 0);
  const b = s.pick(1, 0, undefined).vcpu;
  assert.ok(b && b !== a);
  assert.equal(b.pcpu, 1);
});

test('the same seed gives the same schedule', () => {
  const run = () => {
    const sim = new Sim(createCreditScheduler({ pcpus: 2 }), { seed: 42 });
    const vs = [
      sim.addVcpu(domain(300), HOG),
      sim.addVcpu(domain(700, 60), HOG),
      sim.addVcpu(domain(), bursty(1, 2, 9)),
      sim.addVcpu(domain(), bursty(0.3, 1, 4)),
    ];
    sim.runUntil(3000);
    return vs.map((v) => [v.ranMs, v.picks, v.latenciesMs.length]);
  };
  assert.deepEqual(run(), run());
});

test('bad weights and caps are refused with a message that names the domain and the range', () => {
  const s = createCreditScheduler({ pcpus: 1 });
  const bad = (weight: number, cap: number) => () =>
    s.insert({ domain: { id: 7, weight, cap }, vcpuId: 0, pcpu: 0 }, 0);
  assert.throws(bad(0, 0), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.equal(e.message, 'domain 7 has scheduler weight 0; use an integer from 1 to 65535');
    return true;
  });
  assert.throws(bad(65536, 0), /weight 65536/);
  assert.throws(bad(256, -1), /domain 7 has scheduler cap -1; use 0 \(no cap\)/);
  assert.throws(() => createCreditScheduler({ pcpus: 1, tsliceMs: 0 }), /timeslice 0 ms/);
  assert.throws(() => createCreditScheduler({ pcpus: 1, ratelimitMs: 40 }), /rate limit 40 ms/);
});
