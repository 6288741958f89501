// Round robin's own behaviour: equal turns whatever the weights and caps, no boost. The contract
// it shares with the credit scheduler (equal shares, no idling while work waits, remove, migrate,
// never picking a blocked vCPU) is checked in ops_test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SchedVcpu } from './ops.ts';
import { createRoundRobinScheduler, RoundRobinScheduler } from './round_robin.ts';
import { bursty, domain, HOG, Sim } from './sim.ts';

test('every vCPU gets the same slice in turn, in FIFO order', () => {
  const s = new RoundRobinScheduler({ pcpus: 1, sliceMs: 10 });
  const vs: SchedVcpu[] = [0, 1, 2].map((i) => ({ domain: domain(), vcpuId: i, pcpu: 0 }));
  for (const v of vs) {
    s.insert(v, 0);
    s.wake(v, 0);
  }
  const order: SchedVcpu[] = [];
  let prev: SchedVcpu | undefined;
  for (let t = 0; t < 60; t += 10) {
    if (prev) s.account(prev, 10, t);
    const r = s.pick(0, t, prev);
    assert.equal(r.sliceMs, 10);
    assert.ok(r.vcpu);
    order.push(r.vcpu);
    prev = r.vcpu;
  }
  assert.deepEqual(order, [...vs, ...vs]);
});

test('a vCPU that returns early keeps the rest of its slice', () => {
  const s = createRoundRobinScheduler({ pcpus: 1, sliceMs: 10 });
  const [a, b]: SchedVcpu[] = [0, 1].map((i) => ({ domain: domain(), vcpuId: i, pcpu: 0 }));
  for (const v of [a, b] as SchedVcpu[]) {
    s.insert(v, 0);
    s.wake(v, 0);
  }
  assert.equal(s.pick(0, 0, undefined).vcpu, a);
  s.account(a as SchedVcpu, 3, 3); // an exit to the hypervisor, not the end of its turn
  const r = s.pick(0, 3, a);
  assert.equal(r.vcpu, a);
  assert.equal(r.sliceMs, 7);
  assert.equal(s.preemptDelayMs(0, 3), Infinity, 'round robin never preempts a running vCPU');
});

test('weights and caps are ignored: shares are equal per vCPU', () => {
  const sim = new Sim(createRoundRobinScheduler({ pcpus: 1 }), { seed: 3 });
  const light = sim.addVcpu(domain(256), HOG);
  const heavy = sim.addVcpu(domain(1024), HOG);
  const capped = sim.addVcpu(domain(256, 10), HOG);
  sim.runUntil(1000);
  sim.resetStats();
  sim.runUntil(21000);
  for (const v of [light, heavy, capped]) {
    const got = sim.share(v);
    assert.ok(Math.abs(got - 1 / 3) <= 0.05 / 3, `d${v.domain.id}: ${got}`);
  }
});

test('no boost: a waking I/O vCPU waits its turn behind the hogs', () => {
  const sim = new Sim(createRoundRobinScheduler({ pcpus: 1 }), { seed: 4 });
  sim.addVcpu(domain(), HOG);
  sim.addVcpu(domain(), HOG);
  const io = sim.addVcpu(domain(), bursty(0.2, 5, 14.6));
  sim.runUntil(500);
  sim.resetStats();
  sim.runUntil(5500);
  const worst = Math.max(...io.latenciesMs);
  // This is what the credit scheduler's BOOST removes (credit_test.ts: at most the 1 ms rate limit).
  assert.ok(worst > 30, `worst latency ${worst} ms`);
  assert.ok(worst <= 2 * 30 + 1e-6, 'but never more than one turn of each other vCPU');
});

test('bad options are refused', () => {
  assert.throws(() => createRoundRobinScheduler({ pcpus: 1, sliceMs: 0 }), /slice 0 ms must be a positive/);
  assert.throws(() => createRoundRobinScheduler({ pcpus: 1.5 }), /whole number of pCPUs/);
});
