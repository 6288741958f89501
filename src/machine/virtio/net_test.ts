import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VIRTIO_F_INDIRECT_DESC } from './device.ts';
import {
  VIRTIO_MMIO_CONFIG,
  VIRTIO_MMIO_DEVICE_FEATURES,
  VIRTIO_MMIO_DEVICE_ID,
  VIRTIO_MMIO_QUEUE_NUM_MAX,
  VIRTIO_MMIO_STATUS,
  VirtioMmio,
} from './mmio.ts';
import { MockDriver, TestLine, TestRam } from './mock_driver.ts';
import {
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_HDR_BYTES,
  VIRTIO_NET_RECEIVEQ,
  VIRTIO_NET_TRANSMITQ,
  VirtioNet,
} from './net.ts';

const BASE = 0x8000_0000;
const MAC = Uint8Array.of(0x00, 0x16, 0x3e, 0x01, 0x02, 0x03);
const NO_MRG = ~(1 << VIRTIO_NET_F_MRG_RXBUF);

/** An Ethernet frame of `len` bytes: broadcast, from MAC, IPv4, payload bytes counting from `seed`. */
function frame(len: number, seed = 0): Uint8Array {
  const f = new Uint8Array(Math.max(len, 14));
  f.fill(0xff, 0, 6);
  f.set(MAC, 6);
  f[12] = 0x08;
  for (let i = 14; i < len; i++) f[i] = (seed + i) & 0xff;
  return f.slice(0, len);
}

function rig(opts: { acceptLo?: number; backlogFrames?: number; ram?: TestRam } = {}) {
  const ram = opts.ram ?? new TestRam(BASE, 0x40000);
  const line = new TestLine();
  const sent: Uint8Array[] = [];
  const model = new VirtioNet({
    mac: MAC,
    onTransmit: (f) => sent.push(f),
    ...(opts.backlogFrames !== undefined ? { backlogFrames: opts.backlogFrames } : {}),
  });
  const dev = new VirtioMmio(model, ram, line);
  const drv = new MockDriver(dev, ram);
  /** Posts a receive buffer of `len` bytes; returns a reader of its first n bytes. */
  const postRx = (len: number) => {
    const at = drv.alloc(len);
    drv.post(VIRTIO_NET_RECEIVEQ, [{ addr: at, len, write: true }]);
    return (n: number) => ram.bytes.slice(at - BASE, at - BASE + n);
  };
  /** Posts header + frame on transmitq, as two descriptors or one, and kicks. */
  const transmit = (f: Uint8Array, opts: { split?: boolean; hdr?: Uint8Array } = {}) => {
    const hdr = opts.hdr ?? new Uint8Array(VIRTIO_NET_HDR_BYTES);
    if (opts.split === false) {
      const both = new Uint8Array(hdr.length + f.length);
      both.set(hdr);
      both.set(f, hdr.length);
      drv.post(VIRTIO_NET_TRANSMITQ, [{ addr: drv.place(both), len: both.length, write: false }]);
    } else {
      drv.post(VIRTIO_NET_TRANSMITQ, [
        { addr: drv.place(hdr), len: hdr.length, write: false },
        { addr: drv.place(f), len: f.length, write: false },
      ]);
    }
    drv.kick(VIRTIO_NET_TRANSMITQ);
  };
  return { ram, line, sent, model, dev, drv, postRx, transmit };
}

/** The 12 header bytes Linux expects on receive: zero, except num_buffers. */
function rxHeader(numBuffers: number): number[] {
  return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, numBuffers, 0];
}

test('identifies as a network device with MAC, STATUS, MTU, MRG_RXBUF and no offloads', () => {
  const { dev } = rig();
  assert.equal(dev.read(VIRTIO_MMIO_DEVICE_ID, 4), 1);
  assert.equal(dev.read(VIRTIO_MMIO_QUEUE_NUM_MAX, 4), 256);
  const lo = dev.read(VIRTIO_MMIO_DEVICE_FEATURES, 4) >>> 0;
  for (const bit of [VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_NET_F_MTU, VIRTIO_NET_F_MRG_RXBUF]) {
    assert.notEqual(lo & (1 << bit), 0, `feature ${bit}`);
  }
  // CSUM, GUEST_CSUM, the TSO/UFO/ECN bits (6..14) and CTRL_VQ (17) stay off.
  assert.equal(lo & 0b111_1111_1100_0011, 0);
  assert.equal(lo & (1 << 17), 0);
});

test('config space: the MAC, link up in status, MTU 1500', () => {
  const { dev, model } = rig();
  const mac = [0, 1, 2, 3, 4, 5].map((i) => dev.read(VIRTIO_MMIO_CONFIG + i, 1));
  assert.deepEqual(mac, [...MAC]);
  assert.equal(dev.read(VIRTIO_MMIO_CONFIG, 4), 0x013e1600);
  assert.equal(dev.read(VIRTIO_MMIO_CONFIG + 6, 2), 1, 'VIRTIO_NET_S_LINK_UP');
  assert.equal(dev.read(VIRTIO_MMIO_CONFIG + 10, 2), 1500);
  dev.write(VIRTIO_MMIO_CONFIG, 4, 0xdeadbeef);
  assert.equal(dev.read(VIRTIO_MMIO_CONFIG, 1), 0, 'config space is read-only');
  model.setLinkUp(false);
  assert.equal(dev.read(VIRTIO_MMIO_CONFIG + 6, 2), 0);
});

test('refuses a multicast or short MAC with one sentence', () => {
  assert.throws(
    () => new VirtioNet({ mac: Uint8Array.of(1, 0, 0x5e, 0, 0, 1), onTransmit() {} }),
    /virtio-net MAC 01:00:5e:00:00:01 is not a unicast station address/,
  );
  assert.throws(() => new VirtioNet({ mac: new Uint8Array(5), onTransmit() {} }), /has 5 bytes/);
});

test('transmit: frames reach onTransmit without the header, in order, chains come back empty', () => {
  const { drv, sent, transmit, line, model } = rig();
  drv.init({ queues: 2 });
  const a = frame(60, 1);
  const b = frame(1514, 2);
  transmit(a);
  transmit(b, { split: false });
  assert.equal(sent.length, 2);
  assert.deepEqual(sent[0], a);
  assert.deepEqual(sent[1], b);
  assert.deepEqual(drv.takeUsed(VIRTIO_NET_TRANSMITQ), [
    { id: 0, len: 0 },
    { id: 2, len: 0 },
  ]);
  assert.equal(line.level, true);
  assert.equal(model.counters.txFrames, 2);
  assert.equal(model.counters.txBytes, 60 + 1514);
});

test('transmit drops frames that are too long, too short or ask for offloads, and goes on', () => {
  const { drv, dev, sent, transmit, model } = rig();
  drv.init({ queues: 2 });
  transmit(frame(1515));
  transmit(frame(10));
  const gso = new Uint8Array(VIRTIO_NET_HDR_BYTES);
  gso[1] = 1; // VIRTIO_NET_HDR_GSO_TCPV4
  transmit(frame(100), { hdr: gso });
  const csum = new Uint8Array(VIRTIO_NET_HDR_BYTES);
  csum[0] = 1; // VIRTIO_NET_HDR_F_NEEDS_CSUM
  transmit(frame(100), { hdr: csum });
  // An 802.1Q-tagged frame may be 4 bytes longer.
  const tagged = frame(1518);
  tagged.set([0x81, 0x00, 0x00, 0x05, 0x08, 0x00], 12);
  transmit(tagged);
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0], tagged);
  assert.equal(model.counters.txDropped, 4);
  assert.equal(drv.takeUsed(VIRTIO_NET_TRANSMITQ).length, 5, 'every chain is returned');
  assert.equal(dev.failure, null);
});

test('receive fills a posted buffer with a zeroed header (num_buffers 1) and the frame', () => {
  for (const acceptLo of [NO_MRG, ~0]) {
    const { drv, model, postRx, line } = rig({ acceptLo });
    drv.init({ queues: 2, acceptLo });
    const read = postRx(1530);
    drv.kick(VIRTIO_NET_RECEIVEQ);
    assert.equal(line.level, false);
    const f = frame(98, 7);
    assert.equal(model.receive(f), true);
    assert.deepEqual(drv.takeUsed(VIRTIO_NET_RECEIVEQ), [{ id: 0, len: VIRTIO_NET_HDR_BYTES + 98 }]);
    const got = read(VIRTIO_NET_HDR_BYTES + 98);
    assert.deepEqual([...got.subarray(0, VIRTIO_NET_HDR_BYTES)], rxHeader(1));
    assert.deepEqual(got.subarray(VIRTIO_NET_HDR_BYTES), f);
    assert.equal(line.level, true);
    assert.equal(model.counters.rxFrames, 1);
    assert.equal(model.counters.rxBytes, 98);
  }
});

test('no buffer: frames wait in the bounded backlog, then are dropped and counted', () => {
  const { drv, model, postRx } = rig({ backlogFrames: 2 });
  assert.equal(model.receive(frame(60)), false, 'driver not running yet');
  assert.equal(model.counters.rxDropped, 1);
  drv.init({ queues: 2 });
  assert.equal(model.receive(frame(60, 1)), true);
  assert.equal(model.receive(frame(61, 2)), true);
  assert.equal(model.receive(frame(62, 3)), false);
  assert.equal(model.backlogLength, 2);
  assert.equal(model.counters.rxDropped, 2);
  const r1 = postRx(1530);
  const r2 = postRx(1530);
  postRx(1530);
  drv.kick(VIRTIO_NET_RECEIVEQ);
  assert.equal(model.backlogLength, 0);
  assert.deepEqual(drv.takeUsed(VIRTIO_NET_RECEIVEQ), [
    { id: 0, len: 72 },
    { id: 1, len: 73 },
  ]);
  assert.deepEqual(r1(72).subarray(12), frame(60, 1));
  assert.deepEqual(r2(73).subarray(12), frame(61, 2));
  // The third buffer is still posted and takes the next frame directly.
  assert.equal(model.receive(frame(63, 4)), true);
  assert.deepEqual(drv.takeUsed(VIRTIO_NET_RECEIVEQ), [{ id: 2, len: 75 }]);
});

test('without MRG_RXBUF a buffer too small for the frame comes back empty and the frame is dropped', () => {
  const { drv, model, postRx } = rig({ acceptLo: NO_MRG });
  drv.init({ queues: 2, acceptLo: NO_MRG });
  postRx(100);
  assert.equal(model.receive(frame(200)), false);
  assert.deepEqual(drv.takeUsed(VIRTIO_NET_RECEIVEQ), [{ id: 0, len: 0 }]);
  assert.equal(model.counters.rxDropped, 1);
  assert.equal(model.receive(frame(1519)), false, 'longer than an untagged frame may be');
  assert.equal(model.counters.rxDropped, 2);
});

test('with MRG_RXBUF a frame spans several buffers and num_buffers says how many', () => {
  const { drv, model, postRx } = rig();
  drv.init({ queues: 2 });
  const reads = [postRx(600), postRx(600), postRx(600)];
  drv.kick(VIRTIO_NET_RECEIVEQ);
  const f = frame(1514, 9);
  assert.equal(model.receive(f), true);
  const used = drv.takeUsed(VIRTIO_NET_RECEIVEQ);
  assert.deepEqual(used, [
    { id: 0, len: 600 },
    { id: 1, len: 600 },
    { id: 2, len: 326 },
  ]);
  const first = (reads[0] as (n: number) => Uint8Array)(600);
  assert.deepEqual([...first.subarray(0, 12)], rxHeader(3));
  const joined = new Uint8Array([
    ...first.subarray(12),
    ...(reads[1] as (n: number) => Uint8Array)(600),
    ...(reads[2] as (n: number) => Uint8Array)(326),
  ]);
  assert.deepEqual(joined, f);
});

test('with MRG_RXBUF a frame that does not fit the posted buffers waits for more, holding them', () => {
  const { drv, model, postRx } = rig();
  drv.init({ queues: 2 });
  const r0 = postRx(1000);
  drv.kick(VIRTIO_NET_RECEIVEQ);
  const big = frame(1514, 3);
  assert.equal(model.receive(big), true, 'queued');
  assert.deepEqual(drv.takeUsed(VIRTIO_NET_RECEIVEQ), []);
  const r1 = postRx(1000);
  drv.kick(VIRTIO_NET_RECEIVEQ);
  assert.deepEqual(drv.takeUsed(VIRTIO_NET_RECEIVEQ), [
    { id: 0, len: 1000 },
    { id: 1, len: 526 },
  ]);
  assert.deepEqual([...r0(12)], rxHeader(2));
  assert.deepEqual(new Uint8Array([...r0(1000).subarray(12), ...r1(526)]), big);
  assert.equal(model.counters.rxFrames, 1);
});

test('driver mistakes end in DEVICE_NEEDS_RESET, never in an exception', () => {
  // A transmit chain shorter than the header.
  let r = rig();
  r.drv.init({ queues: 2 });
  r.drv.post(VIRTIO_NET_TRANSMITQ, [{ addr: r.drv.alloc(8), len: 8, write: false }]);
  r.drv.kick(VIRTIO_NET_TRANSMITQ);
  assert.match(r.dev.failure ?? '', /shorter than its 12-byte virtio_net_hdr/);
  assert.notEqual(r.dev.read(VIRTIO_MMIO_STATUS, 4) & 0x40, 0);
  assert.equal(r.sent.length, 0);

  // A transmit buffer outside guest memory.
  r = rig();
  r.drv.init({ queues: 2 });
  r.drv.post(VIRTIO_NET_TRANSMITQ, [{ addr: 0x1000, len: 72, write: false }]);
  r.drv.kick(VIRTIO_NET_TRANSMITQ);
  assert.match(r.dev.failure ?? '', /transmit buffer is outside guest memory/);

  // A receive buffer outside guest memory.
  r = rig();
  r.drv.init({ queues: 2 });
  r.drv.post(VIRTIO_NET_RECEIVEQ, [{ addr: 0x2000, len: 1530, write: true }]);
  assert.equal(r.model.receive(frame(60)), false);
  assert.match(r.dev.failure ?? '', /receive buffer is outside guest memory/);
  assert.equal(r.model.receive(frame(60)), false, 'a broken device drops');

  // With MRG_RXBUF, a receive buffer smaller than the header.
  r = rig();
  r.drv.init({ queues: 2 });
  r.drv.post(VIRTIO_NET_RECEIVEQ, [{ addr: r.drv.alloc(8), len: 8, write: true }]);
  assert.equal(r.model.receive(frame(60)), false);
  assert.match(r.dev.failure ?? '', /smaller than the 12-byte virtio_net_hdr/);

  // An indirect descriptor without VIRTIO_F_INDIRECT_DESC: the queue itself refuses it.
  r = rig();
  const acceptLo = ~(1 << VIRTIO_F_INDIRECT_DESC);
  r.drv.init({ queues: 2, acceptLo });
  r.drv.post(VIRTIO_NET_TRANSMITQ, [{ addr: r.drv.place(new Uint8Array(72)), len: 72, write: false }], {
    indirect: true,
  });
  r.drv.kick(VIRTIO_NET_TRANSMITQ);
  assert.match(r.dev.failure ?? '', /INDIRECT/);
});

test('link down: both directions drop', () => {
  const { drv, model, postRx, sent, transmit } = rig();
  drv.init({ queues: 2 });
  postRx(1530);
  model.setLinkUp(false);
  assert.equal(model.receive(frame(60)), false);
  transmit(frame(60));
  assert.equal(sent.length, 0);
  assert.equal(model.counters.txDropped, 1);
  model.setLinkUp(true);
  assert.equal(model.receive(frame(60)), true);
});

test('reset drops the backlog; save/restore keeps MAC, link, backlog and held buffers', () => {
  const a = rig();
  a.drv.init({ queues: 2 });
  const r0 = a.postRx(700);
  a.drv.kick(VIRTIO_NET_RECEIVEQ);
  const big = frame(1400, 5);
  const small = frame(64, 6);
  assert.equal(a.model.receive(big), true);
  assert.equal(a.model.receive(small), true);
  const saved = JSON.parse(JSON.stringify(a.dev.saveState())) as unknown;

  // A second device on the same guest memory, as after a restore on another host.
  const b = rig({ ram: a.ram });
  b.dev.restoreState(saved);
  assert.equal(b.model.backlogLength, 2);
  // Post more buffers through the first driver's bookkeeping, kick the restored device.
  const r1 = a.postRx(1530);
  const r2 = a.postRx(1530);
  b.drv.kick(VIRTIO_NET_RECEIVEQ);
  assert.deepEqual(a.drv.takeUsed(VIRTIO_NET_RECEIVEQ), [
    { id: 0, len: 700 },
    { id: 1, len: 712 },
    { id: 2, len: 76 },
  ]);
  assert.deepEqual([...r0(12)], rxHeader(2));
  assert.deepEqual(new Uint8Array([...r0(700).subarray(12), ...r1(712)]), big);
  assert.deepEqual(r2(76).subarray(12), small);
  assert.equal(b.model.backlogLength, 0);

  // Field-by-field validation; a refused state changes nothing.
  const good = b.model.saveState();
  assert.throws(
    () => b.model.restoreState({ ...good, mac: [1, 2, 3, 4, 5, 6] }),
    /mac must be 6 bytes of a unicast/,
  );
  assert.throws(() => b.model.restoreState({ ...good, backlog: [[1, 2]] }), /backlog\[0\] must be a frame/);
  assert.throws(
    () => b.model.restoreState({ ...good, held: [{ head: 999, segs: [[BASE, 100]] }] }),
    /held\[0\]\.head must be an integer/,
  );
  assert.throws(
    () => b.model.restoreState({ ...good, held: [{ head: 1, segs: [[BASE, -1]] }] }),
    /segs\[0\]\[1\] must be an integer/,
  );
  assert.throws(() => b.model.restoreState({ ...good, linkUp: 'yes' }), /linkUp must be a boolean/);
  assert.deepEqual(b.model.saveState(), good);

  // Reset (status 0) forgets the backlog: those frames were for the old driver.
  b.model.receive(small);
  b.dev.write(VIRTIO_MMIO_STATUS, 4, 0);
  assert.equal(b.model.backlogLength, 0);
});
