/**
 * The toolstack as dom0 (control.ts): its ports talk to guests on any pCPU, and it maps guests'
 * grants as bytes of machine memory, through the same checks as a guest.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualClock } from '../machine/board.ts';
import { DOMID_SELF, GNTST_general_error, GNTST_okay, GTF_permit_access, GTF_reading } from './abi/xen.ts';
import { GUEST_RAM_BASE } from './domain.ts';
import * as ev from './evtchn.ts';
import * as gt from './grant_table.ts';
import { Hypervisor } from './hypervisor.ts';
import { MachineResources } from './resources.ts';

test('dom0 ports and grant maps for backends', () => {
  const resources = MachineResources.create({ memoryBytes: 8 << 20, harts: 4 });
  const hv = [0, 1].map((pcpu) => new Hypervisor({ resources, clock: new VirtualClock(), pcpu }));
  const a = hv[1]!.createDomain({ name: 'a', memoryBytes: 256 << 10, vcpus: 1 });
  const dom0 = hv[0]!.control;
  // dom0 listens, the guest (on the other pCPU) binds and sends.
  const p = dom0.allocUnbound(a.id);
  assert.ok(p > 0);
  const lp = ev.evtchn_bind_interdomain(hv[1]!, a.id, 0, p);
  assert.ok(lp > 0);
  assert.equal(ev.evtchn_send(hv[1]!, a.id, lp), 0);
  assert.deepEqual(dom0.pending(), [p]);
  assert.deepEqual(dom0.pending(), [], 'reported once');
  assert.equal(dom0.send(p), 0);
  ev.evtchn_drain_incoming(hv[1]!, a.id);
  assert.equal(a.pv!.upcallPending, true, 'dom0’s event reached the guest');
  // A port of the guest for dom0 (how the xenstore ring's port is made).
  const sp = dom0.allocUnboundFor(a.id, 0);
  const st = ev.evtchn_status(hv[1]!, a.id, DOMID_SELF, sp);
  assert.ok(typeof st !== 'number' && st.dom === 0);
  // A grant the guest offers to dom0, mapped by a backend.
  const gfn = GUEST_RAM_BASE / 4096 + 2;
  a.memory.write(gfn * 4096, new TextEncoder().encode('ring'));
  const w = hv[0]!.shared.frameWord(gt.gnttab_frame(hv[0]!, a.id, 0)) + 3 * 2;
  hv[0]!.shared.i32[w] = GTF_permit_access | (0 << 16);
  hv[0]!.shared.i32[w + 1] = gfn;
  const m = dom0.mapGrant(a.id, 3, false);
  assert.ok(typeof m !== 'number');
  assert.equal(new TextDecoder().decode(m.bytes.subarray(0, 4)), 'ring');
  assert.ok(hv[0]!.shared.i32[w]! & GTF_reading);
  assert.equal(dom0.unmapGrant(m.handle), GNTST_okay);
  assert.equal(dom0.mapGrant(a.id, 4, false), GNTST_general_error, 'not offered');
});
