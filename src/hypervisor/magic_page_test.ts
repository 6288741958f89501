/**
 * The hypervisor's side of a guest's xenstore ring: the pinned magic page (magic_page.ts) as the
 * toolstack's thread reaches it, dom0's events on that thread (control.ts, the control doorbell),
 * the frames dom0 keeps for good, and what save carries of the ring (domain_state.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualClock } from '../machine/board.ts';
import {
  DOMID_SELF,
  HVM_PARAM_STORE_EVTCHN,
  HVM_PARAM_STORE_PFN,
  XENMAPSPACE_shared_info,
} from './abi/xen.ts';
import { ControlDomain, controlThreadHost } from './control.ts';
import { GUEST_RAM_BASE } from './domain.ts';
import { captureHypervisorState, checkSavable, restoreHypervisorState } from './domain_state.ts';
import * as ev from './evtchn.ts';
import { Hypervisor } from './hypervisor.ts';
import { MagicPage, magic_page_gfn, magic_page_pin } from './magic_page.ts';
import { addToPhysmap } from './memory_op.ts';
import type { Gfn } from './p2m.ts';
import { MachineResources } from './resources.ts';

const RAM = 256 << 10;
const lastGfn = GUEST_RAM_BASE / 4096 + RAM / 4096 - 1;

function machine() {
  const resources = MachineResources.create({ memoryBytes: 8 << 20, harts: 4 });
  const hv = new Hypervisor({ resources, clock: new VirtualClock(), pcpu: 0 });
  const toolstack = new ControlDomain(controlThreadHost(resources));
  return { resources, hv, toolstack };
}

test('the magic page: pinned RAM of its domain, shared with the toolstack until the domain dies', () => {
  const { resources, hv } = machine();
  const a = hv.createDomain({ name: 'a', memoryBytes: RAM, vcpus: 1 });
  const b = hv.createDomain({ name: 'b', memoryBytes: RAM, vcpus: 1 });
  assert.equal(MagicPage.open(resources.pv, a.id), undefined, 'none before it is pinned');
  assert.equal(magic_page_pin(resources.pv, a, lastGfn + 1), false, 'outside its RAM');
  assert.ok(b.depopulate(lastGfn as Gfn));
  assert.equal(magic_page_pin(resources.pv, b, lastGfn), false, 'a ballooned-out frame');
  assert.ok(magic_page_pin(resources.pv, a, lastGfn));
  assert.equal(magic_page_gfn(resources.pv, a.id), lastGfn);

  const page = MagicPage.open(resources.pv, a.id)!;
  page.writeU32(2048, 0xdeadbeef);
  page.writeU8(0, 0x58);
  const seen = new Uint8Array(8);
  assert.ok(a.memory.read(lastGfn * 4096 + 2048, seen));
  assert.deepEqual([...seen.subarray(0, 4)], [0xef, 0xbe, 0xad, 0xde], 'little-endian, in the guest’s page');
  assert.equal(a.memory.readU32(lastGfn * 4096)! & 0xff, 0x58);
  a.memory.writeU32(lastGfn * 4096 + 2052, 7);
  assert.equal(page.readU32(2052), 7, 'the guest’s writes are seen');
  assert.throws(() => page.readU32(4094), RangeError);

  // Pinned: neither a memory op nor the balloon nor add_to_physmap can take it away.
  assert.equal(a.depopulate(lastGfn as Gfn), false);
  assert.equal(addToPhysmap(a, XENMAPSPACE_shared_info, 0, lastGfn), -22);
  assert.equal(a.pageKind(lastGfn), 'ram');

  // Dead: the page is never touched again, and all the frames come back.
  hv.destroyDomain(a);
  hv.destroyDomain(b);
  assert.equal(page.live, false);
  assert.equal(page.readU32(2048), 0);
  page.writeU32(2048, 1); // ignored
  assert.equal(MagicPage.open(resources.pv, a.id), undefined);
  assert.equal(resources.frames.free, resources.frames.total, 'nothing leaked');
});

test('dom0 on the toolstack’s thread: a guest’s event rings the control doorbell; dom0’s tables are the machine’s for good', () => {
  const { resources, hv, toolstack } = machine();
  const before = resources.frames.total;
  const a = hv.createDomain({ name: 'a', memoryBytes: RAM, vcpus: 1 });
  // The builder's part, on the pCPU: the guest's store port, remote dom0.
  const guestPort = hv.control.allocUnboundFor(a.id, 0);
  assert.ok(guestPort > 0);
  // xenstored's part, on the toolstack's thread.
  const bell = resources.pv.controlDoorbell();
  const dom0Port = toolstack.bindInterdomain(a.id, guestPort);
  assert.ok(dom0Port > 0);
  assert.ok(resources.pv.controlDoorbell() !== bell, 'the bind marks dom0’s new port pending');
  assert.deepEqual(toolstack.pending(), [dom0Port]);
  const bell2 = resources.pv.controlDoorbell();
  assert.equal(ev.evtchn_send(hv, a.id, guestPort), 0);
  assert.ok(resources.pv.controlDoorbell() !== bell2, 'the guest’s send rings it');
  assert.deepEqual(toolstack.pending(), [dom0Port]);
  assert.equal(toolstack.send(dom0Port), 0);
  assert.equal(a.pv!.upcallPending, false, 'posted, not written into a running guest’s shared_info');
  ev.evtchn_drain_incoming(hv, a.id);
  assert.equal(a.pv!.upcallPending, true);
  hv.destroyDomain(a);
  assert.equal(resources.frames.free, resources.frames.total);
  assert.equal(resources.frames.total, before, 'dom0’s port table was reserved once, at first use');
});

test('a save carries a domain with its xenstore port; the restoring host’s store params win', () => {
  const { hv, toolstack } = machine();
  const a = hv.createDomain({ name: 'a', memoryBytes: RAM, vcpus: 1 });
  const port = hv.control.allocUnboundFor(a.id, 0);
  hv.setHvmParam(a, HVM_PARAM_STORE_PFN, lastGfn);
  hv.setHvmParam(a, HVM_PARAM_STORE_EVTCHN, port);
  checkSavable(a, hv); // unbound to dom0
  const d0 = toolstack.bindInterdomain(a.id, port);
  checkSavable(a, hv); // bound by dom0
  const other = ev.evtchn_alloc_unbound(hv, a.id, DOMID_SELF, 0);
  assert.throws(() => checkSavable(a, hv), /1 event channel/);
  ev.evtchn_close(hv, a.id, other);
  toolstack.close(d0);

  const saved = captureHypervisorState(a, 0);
  const b = hv.createDomain({ name: 'b', memoryBytes: RAM, vcpus: 1 });
  hv.setHvmParam(b, HVM_PARAM_STORE_PFN, lastGfn);
  hv.setHvmParam(b, HVM_PARAM_STORE_EVTCHN, 5);
  restoreHypervisorState(b, saved, 0);
  assert.equal(b.pv!.getParam(HVM_PARAM_STORE_EVTCHN), 5, 'not the saved port');
  assert.equal(b.pv!.getParam(HVM_PARAM_STORE_PFN), lastGfn);
});
