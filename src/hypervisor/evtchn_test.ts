/**
 * Event channels: unit tests of Xen's EVTCHNOP_* semantics, and a property test — seeded random
 * operation sequences over three domains on two pCPUs (two Hypervisors over one machine, as two
 * pCPU threads would have) checked after every step against a small model of port states and
 * pending bits.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualClock } from '../machine/board.ts';
import {
  DOMID_SELF,
  EINVAL,
  ENOENT,
  EEXIST,
  ESRCH,
  EVTCHNSTAT_closed,
  EVTCHNSTAT_interdomain,
  EVTCHNSTAT_ipi,
  EVTCHNSTAT_unbound,
  EVTCHNSTAT_virq,
  SHARED_INFO_evtchn_mask,
  SHARED_INFO_evtchn_pending,
  VIRQ_CONSOLE,
  VIRQ_TIMER,
} from './abi/xen.ts';
import type { Domain } from './domain.ts';
import * as ev from './evtchn.ts';
import { Hypervisor } from './hypervisor.ts';
import { MachineResources } from './resources.ts';
import { Xorshift32 } from '../common/rng.ts';

function machine(domains: number): { hv: Hypervisor[]; d: Domain[] } {
  const resources = MachineResources.create({ memoryBytes: domains * (1 << 20) + (4 << 20), harts: 8 });
  const hv = [0, 1].map((pcpu) => new Hypervisor({ resources, clock: new VirtualClock(), pcpu }));
  const d: Domain[] = [];
  for (let i = 0; i < domains; i++)
    d.push(hv[i % 2]!.createDomain({ name: `d${i}`, memoryBytes: 256 << 10, vcpus: 1 }));
  return { hv, d };
}

function pendingBit(hv: Hypervisor, d: Domain, port: number, which = SHARED_INFO_evtchn_pending): boolean {
  const si = hv.shared.frameWord(d.pv!.sharedInfoMfn);
  return (hv.shared.i32[si + which / 4 + (port >>> 5)]! & (1 << (port & 31))) !== 0;
}

function clearPending(hv: Hypervisor, d: Domain, port: number): void {
  const si = hv.shared.frameWord(d.pv!.sharedInfoMfn);
  hv.shared.i32[si + SHARED_INFO_evtchn_pending / 4 + (port >>> 5)]! &= ~(1 << (port & 31));
}

test('alloc_unbound + bind_interdomain connect two domains; send marks the peer pending and raises its upcall', () => {
  const { hv, d } = machine(2);
  const [a, b] = [d[0]!, d[2 - 2]!];
  const [x] = hv;
  const b2 = hv[0]!.createDomain({ name: 'b2', memoryBytes: 256 << 10, vcpus: 1 });
  const p = ev.evtchn_alloc_unbound(x!, b2.id, DOMID_SELF, a.id);
  assert.equal(p, 1, 'port 0 is reserved: the first port is 1');
  const lp = ev.evtchn_bind_interdomain(x!, a.id, b2.id, p);
  assert.ok(lp > 0);
  assert.ok(pendingBit(x!, a, lp), 'Xen marks the new local port pending');
  assert.deepEqual(ev.evtchn_status(x!, a.id, DOMID_SELF, lp), {
    status: EVTCHNSTAT_interdomain,
    vcpu: 0,
    dom: b2.id,
    port: p,
    virq: 0,
  });
  assert.equal(b2.pv!.upcallPending, false);
  assert.equal(ev.evtchn_send(x!, a.id, lp), 0);
  assert.ok(pendingBit(x!, b2, p));
  assert.equal(b2.pv!.upcallPending, true, 'evtchn_upcall_pending set');
  void b;
});

test('binding needs an unbound port offered to the caller; send on a closed port is -EINVAL; closing one end unbinds the other', () => {
  const { hv, d } = machine(3);
  const x = hv[0]!;
  const [a, b, c] = d as [Domain, Domain, Domain];
  const p = ev.evtchn_alloc_unbound(x, a.id, DOMID_SELF, b.id);
  assert.equal(ev.evtchn_bind_interdomain(x, c.id, a.id, p), -EINVAL, 'offered to b, not c');
  assert.equal(ev.evtchn_bind_interdomain(x, b.id, a.id, 999), -EINVAL, 'no such port');
  assert.equal(ev.evtchn_bind_interdomain(x, b.id, 0x7000, 1), -ESRCH, 'no such domain');
  const lp = ev.evtchn_bind_interdomain(x, b.id, a.id, p);
  assert.ok(lp > 0);
  assert.equal(ev.evtchn_bind_interdomain(x, c.id, a.id, p), -EINVAL, 'already bound');
  assert.equal(ev.evtchn_close(x, b.id, lp), 0);
  assert.equal(ev.evtchn_send(x, b.id, lp), -EINVAL, 'EVTCHNOP_send on a closed port');
  assert.equal(ev.evtchn_close(x, b.id, lp), -EINVAL, 'closing twice');
  const st = ev.evtchn_status(x, a.id, DOMID_SELF, p);
  assert.ok(
    typeof st !== 'number' && st.status === EVTCHNSTAT_unbound && st.dom === b.id,
    'a’s end is unbound to b again',
  );
  assert.equal(ev.evtchn_send(x, a.id, p), 0, 'sending on an unbound port is silently dropped');
  assert.equal(ev.evtchn_send(x, a.id, 0), -EINVAL);
  const other = ev.evtchn_status(x, c.id, a.id, p);
  assert.ok(typeof other === 'number' && other < 0, 'XSM: a guest cannot see another domain’s ports');
  assert.ok(typeof ev.evtchn_status(x, 0, a.id, p) !== 'number', 'the control domain can');
});

test('VIRQs bind once per vCPU; IPIs loop back; masks hold upcalls until unmask', () => {
  const { hv, d } = machine(1);
  const x = hv[0]!;
  const a = d[0]!;
  const t = ev.evtchn_bind_virq(x, a.id, VIRQ_TIMER, 0);
  assert.ok(t > 0);
  assert.equal(ev.evtchn_bind_virq(x, a.id, VIRQ_TIMER, 0), -EEXIST);
  assert.equal(ev.evtchn_bind_virq(x, a.id, VIRQ_CONSOLE, 1), -EINVAL, 'global VIRQs bind on vCPU 0');
  assert.equal(ev.evtchn_bind_virq(x, a.id, VIRQ_TIMER, 3), -ENOENT, 'no vCPU 3');
  assert.equal(ev.evtchn_bind_virq(x, a.id, 99, 0), -EINVAL);
  const st = ev.evtchn_status(x, a.id, DOMID_SELF, t);
  assert.ok(typeof st !== 'number' && st.status === EVTCHNSTAT_virq && st.virq === VIRQ_TIMER);
  ev.evtchn_send_virq(x, a.id, VIRQ_TIMER);
  assert.ok(pendingBit(x, a, t));
  const ipi = ev.evtchn_bind_ipi(x, a.id, 0);
  const si = x.shared.frameWord(a.pv!.sharedInfoMfn);
  x.shared.i32[si + SHARED_INFO_evtchn_mask / 4 + (ipi >>> 5)]! |= 1 << (ipi & 31);
  x.shared.mem.u8[si * 4] = 0; // the guest took the earlier upcall
  assert.equal(ev.evtchn_send(x, a.id, ipi), 0);
  assert.ok(pendingBit(x, a, ipi));
  assert.equal(a.pv!.upcallPending, false, 'a masked port raises no upcall');
  assert.equal(ev.evtchn_unmask(x, a.id, ipi), 0);
  assert.equal(a.pv!.upcallPending, true, 'unmask of a pending port does');
  const s2 = ev.evtchn_status(x, a.id, DOMID_SELF, ipi);
  assert.ok(typeof s2 !== 'number' && s2.status === EVTCHNSTAT_ipi);
  assert.equal(ev.evtchn_close(x, a.id, t), 0);
  assert.ok(ev.evtchn_bind_virq(x, a.id, VIRQ_TIMER, 0) > 0, 'closing frees the VIRQ for binding again');
});

test('an event for a domain on another pCPU goes through its doorbell and INCOMING bitmap', () => {
  const { hv, d } = machine(2);
  const [a, b] = d as [Domain, Domain]; // a on pCPU 0, b on pCPU 1
  const p = ev.evtchn_alloc_unbound(hv[1]!, b.id, DOMID_SELF, a.id);
  const lp = ev.evtchn_bind_interdomain(hv[0]!, a.id, b.id, p);
  const bell = hv[0]!.shared.doorbell(1);
  assert.equal(ev.evtchn_send(hv[0]!, a.id, lp), 0);
  assert.ok(!pendingBit(hv[1]!, b, p), 'pCPU 0 does not write b’s shared_info');
  assert.equal(hv[0]!.shared.doorbell(1), bell + 1, 'pCPU 1’s doorbell rang');
  ev.evtchn_drain_incoming(hv[1]!, b.id);
  assert.ok(pendingBit(hv[1]!, b, p), 'pCPU 1 moved it into shared_info');
  assert.equal(b.pv!.upcallPending, true);
});

test('destroying a domain closes its ports: its peers’ ends become unbound', () => {
  const { hv, d } = machine(2);
  const [a, b] = d as [Domain, Domain];
  const p = ev.evtchn_alloc_unbound(hv[1]!, b.id, DOMID_SELF, a.id);
  const lp = ev.evtchn_bind_interdomain(hv[0]!, a.id, b.id, p);
  hv[0]!.destroyDomain(a);
  const st = ev.evtchn_status(hv[1]!, b.id, DOMID_SELF, p);
  assert.ok(typeof st !== 'number' && st.status === EVTCHNSTAT_unbound && st.dom === a.id);
  assert.equal(ev.evtchn_send(hv[0]!, a.id, lp), -ESRCH);
});

/** Seeded integers in [0, n) (xorshift32). */
function rng(seed: number): (n: number) => number {
  const r = new Xorshift32(seed);
  return (n) => r.int(n);
}

type MPort = { state: 'unbound' | 'inter' | 'ipi'; dom: number; port: number };

test('property: random EVTCHNOP sequences on three domains over two pCPUs match a model', () => {
  const PORTS = 24; // the model never needs more: ports are reused after close
  for (let seed = 1; seed <= 30; seed++) {
    const { hv, d } = machine(3);
    const hvOf = (i: number) => hv[i % 2]!;
    const ids: number[] = d.map((x) => x.id);
    const model = d.map(() => new Map<number, MPort>());
    const pending = d.map(() => new Set<number>());
    const rand = rng(seed * 7919);
    const idx = (domid: number) => ids.indexOf(domid);
    const lowestFree = (i: number) => {
      for (let p = 1; ; p++) if (!model[i]!.has(p)) return p;
    };
    const setPending = (i: number, p: number) => pending[i]!.add(p);
    for (let step = 0; step < 150; step++) {
      const i = rand(3);
      const me = ids[i]!;
      const x = hvOf(i);
      const op = rand(7);
      const port = 1 + rand(PORTS);
      let got: number;
      let want: number;
      if (op === 0 && model[i]!.size < PORTS - 2) {
        const r = rand(3);
        want = lowestFree(i);
        got = ev.evtchn_alloc_unbound(x, me, DOMID_SELF, ids[r]!);
        model[i]!.set(want, { state: 'unbound', dom: ids[r]!, port: 0 });
      } else if (op === 1 && model[i]!.size < PORTS - 2) {
        const r = rand(3);
        const rp = model[r]!.get(port);
        got = ev.evtchn_bind_interdomain(x, me, ids[r]!, port);
        if (rp && rp.state === 'unbound' && rp.dom === me) {
          want = lowestFree(i);
          model[i]!.set(want, { state: 'inter', dom: ids[r]!, port });
          model[r]!.set(port, { state: 'inter', dom: me, port: want });
          setPending(i, want);
        } else want = -EINVAL;
      } else if (op === 2) {
        const m = model[i]!.get(port);
        got = ev.evtchn_close(x, me, port);
        want = m ? 0 : -EINVAL;
        if (m?.state === 'inter') {
          const r = idx(m.dom);
          const back = model[r]!.get(m.port);
          if (back?.state === 'inter' && back.dom === me && back.port === port)
            model[r]!.set(m.port, { state: 'unbound', dom: me, port: 0 });
        }
        model[i]!.delete(port);
        pending[i]!.delete(port); // Xen clears a freed port's pending bit
      } else if (op === 3 || op === 4) {
        const m = model[i]!.get(port);
        got = ev.evtchn_send(x, me, port);
        want = m ? 0 : -EINVAL;
        if (m?.state === 'inter') setPending(idx(m.dom), m.port);
        if (m?.state === 'ipi') setPending(i, port);
      } else if (op === 5 && model[i]!.size < PORTS - 2) {
        want = lowestFree(i);
        got = ev.evtchn_bind_ipi(x, me, 0);
        model[i]!.set(want, { state: 'ipi', dom: 0, port: 0 });
      } else {
        // The guest handles an event: clears its pending bit.
        clearPending(x, d[i]!, port);
        pending[i]!.delete(port);
        got = want = 0;
      }
      assert.equal(got, want, `seed ${seed} step ${step} op ${op} dom ${me} port ${port}`);
      for (let k = 0; k < 3; k++) {
        ev.evtchn_drain_incoming(hvOf(k), ids[k]!);
        for (let p = 1; p <= PORTS; p++) {
          const m = model[k]!.get(p);
          const st = ev.evtchn_status(hvOf(k), ids[k]!, DOMID_SELF, p);
          assert.ok(typeof st !== 'number');
          const where = `seed ${seed} step ${step}: d${k} port ${p}`;
          if (!m) assert.equal(st.status, EVTCHNSTAT_closed, where);
          else if (m.state === 'unbound')
            assert.deepEqual([st.status, st.dom], [EVTCHNSTAT_unbound, m.dom], where);
          else if (m.state === 'ipi') assert.equal(st.status, EVTCHNSTAT_ipi, where);
          else assert.deepEqual([st.status, st.dom, st.port], [EVTCHNSTAT_interdomain, m.dom, m.port], where);
          assert.equal(pendingBit(hvOf(k), d[k]!, p), pending[k]!.has(p), `${where} pending`);
        }
      }
    }
  }
});
