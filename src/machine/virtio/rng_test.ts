import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  VIRTIO_MMIO_DEVICE_FEATURES,
  VIRTIO_MMIO_DEVICE_ID,
  VIRTIO_MMIO_QUEUE_NUM_MAX,
  VirtioMmio,
} from './mmio.ts';
import { MockDriver, TestLine, TestRam } from './mock_driver.ts';
import { VirtioRng } from './rng.ts';

const BASE = 0x8000_0000;

function setup(fill?: (dst: Uint8Array) => void) {
  const ram = new TestRam(BASE, 0x40000);
  const line = new TestLine();
  const dev = new VirtioMmio(fill ? new VirtioRng(fill) : new VirtioRng(), ram, line);
  const drv = new MockDriver(dev, ram);
  return { ram, line, dev, drv };
}

test('identifies as an entropy device with one queue and no device features', () => {
  const { dev } = setup();
  assert.equal(dev.read(VIRTIO_MMIO_DEVICE_ID, 4), 4);
  assert.equal(dev.read(VIRTIO_MMIO_QUEUE_NUM_MAX, 4), 64);
  assert.equal(dev.read(VIRTIO_MMIO_DEVICE_FEATURES, 4) & 0x0fffffff, 0);
});

test('fills each writable buffer completely from the source', () => {
  let counter = 0;
  const { drv, ram, line } = setup((dst) => {
    for (let i = 0; i < dst.length; i++) dst[i] = ++counter & 0xff;
  });
  drv.init({ queues: 1 });
  const a = drv.alloc(64);
  const b1 = drv.alloc(3);
  const b2 = drv.alloc(5);
  drv.post(0, [{ addr: a, len: 64, write: true }]);
  drv.post(0, [
    { addr: b1, len: 3, write: true },
    { addr: b2, len: 5, write: true },
  ]);
  drv.kick(0);
  assert.deepEqual(drv.takeUsed(0), [
    { id: 0, len: 64 },
    { id: 1, len: 8 },
  ]);
  assert.deepEqual([...ram.bytes.subarray(a - BASE, a - BASE + 4)], [1, 2, 3, 4]);
  assert.equal(ram.bytes[a - BASE + 63], 64);
  assert.deepEqual([...ram.bytes.subarray(b1 - BASE, b1 - BASE + 3)], [65, 66, 67]);
  assert.deepEqual([...ram.bytes.subarray(b2 - BASE, b2 - BASE + 5)], [68, 69, 70, 71, 72]);
  assert.equal(line.level, true);
});

test('large buffers are filled in 64 KiB pieces (the getRandomValues limit) by default', () => {
  const { drv, ram } = setup();
  drv.init({ queues: 1 });
  const len = 0x18000;
  const buf = drv.alloc(len);
  drv.post(0, [{ addr: buf, len, write: true }]);
  drv.kick(0);
  assert.deepEqual(drv.takeUsed(0), [{ id: 0, len }]);
  const got = ram.bytes.subarray(buf - BASE, buf - BASE + len);
  // Random bytes: every byte value shows up, and no 4 KiB stretch is left zero.
  assert.equal(new Set(got).size, 256);
  for (let off = 0; off < len; off += 4096) {
    assert.ok(
      got.subarray(off, off + 4096).some((b) => b !== 0),
      `piece at ${off}`,
    );
  }
});

test('a buffer outside guest memory breaks the device', () => {
  const { drv, dev } = setup(() => {});
  drv.init({ queues: 1 });
  drv.post(0, [{ addr: 0x1000, len: 16, write: true }]);
  drv.kick(0);
  assert.match(dev.failure ?? '', /virtio-rng: a request buffer is outside guest memory/);
  assert.deepEqual(drv.takeUsed(0), []);
});
