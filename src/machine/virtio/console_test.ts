import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VIRTIO_CONSOLE_RECEIVEQ, VIRTIO_CONSOLE_TRANSMITQ, VirtioConsole } from './console.ts';
import { VIRTIO_MMIO_CONFIG, VIRTIO_MMIO_DEVICE_ID, VIRTIO_MMIO_STATUS, VirtioMmio } from './mmio.ts';
import { MockDriver, TestLine, TestRam } from './mock_driver.ts';

const BASE = 0x8000_0000;
const text = (s: string) => new TextEncoder().encode(s);

function setup() {
  const ram = new TestRam(BASE, 0x40000);
  const line = new TestLine();
  const output: string[] = [];
  const model = new VirtioConsole((bytes) => output.push(new TextDecoder().decode(bytes)));
  const dev = new VirtioMmio(model, ram, line);
  const drv = new MockDriver(dev, ram);
  /** Posts an rx buffer of `len` bytes and returns a reader for it. */
  const rxBuffer = (len: number) => {
    const at = drv.alloc(len);
    drv.post(VIRTIO_CONSOLE_RECEIVEQ, [{ addr: at, len, write: true }]);
    return (n: number) => new TextDecoder().decode(ram.bytes.subarray(at - BASE, at - BASE + n));
  };
  return { ram, line, output, model, dev, drv, rxBuffer };
}

test('identifies as a console; config space reads zero without features', () => {
  const { dev } = setup();
  assert.equal(dev.read(VIRTIO_MMIO_DEVICE_ID, 4), 3);
  assert.equal(dev.read(VIRTIO_MMIO_CONFIG, 4), 0);
});

test('transmitq chains reach onOutput in order and come back with length 0', () => {
  const { drv, output, line } = setup();
  drv.init({ queues: 2 });
  drv.post(VIRTIO_CONSOLE_TRANSMITQ, [{ addr: drv.place(text('hello, ')), len: 7, write: false }]);
  drv.post(VIRTIO_CONSOLE_TRANSMITQ, [
    { addr: drv.place(text('wor')), len: 3, write: false },
    { addr: drv.place(text('ld\n')), len: 3, write: false },
  ]);
  drv.kick(VIRTIO_CONSOLE_TRANSMITQ);
  assert.equal(output.join(''), 'hello, world\n');
  assert.deepEqual(drv.takeUsed(VIRTIO_CONSOLE_TRANSMITQ), [
    { id: 0, len: 0 },
    { id: 1, len: 0 },
  ]);
  assert.equal(line.level, true);
});

test('host input waits for rx buffers, then fills them as far as they go', () => {
  const { drv, model, rxBuffer, line } = setup();
  model.receive(text('early '));
  drv.init({ queues: 2 });
  assert.equal(model.pendingInputBytes(), 6, 'no buffers yet');
  model.receive(text('bird'));
  const first = rxBuffer(4);
  const second = rxBuffer(64);
  drv.kick(VIRTIO_CONSOLE_RECEIVEQ);
  assert.deepEqual(drv.takeUsed(VIRTIO_CONSOLE_RECEIVEQ), [
    { id: 0, len: 4 },
    { id: 1, len: 6 },
  ]);
  assert.equal(first(4), 'earl');
  assert.equal(second(6), 'y bird');
  assert.equal(model.pendingInputBytes(), 0);
  assert.equal(line.level, true);
  drv.ackInterrupt();

  // A buffer posted with no input pending stays with the device until input arrives.
  const third = rxBuffer(16);
  drv.kick(VIRTIO_CONSOLE_RECEIVEQ);
  assert.deepEqual(drv.takeUsed(VIRTIO_CONSOLE_RECEIVEQ), []);
  assert.equal(line.level, false);
  model.receive(text('x'));
  assert.deepEqual(drv.takeUsed(VIRTIO_CONSOLE_RECEIVEQ), [{ id: 2, len: 1 }]);
  assert.equal(third(1), 'x');
  assert.equal(line.level, true);
});

test('the host buffer passed to receive() may be reused at once', () => {
  const { drv, model, rxBuffer } = setup();
  drv.init({ queues: 2 });
  const buf = text('abc');
  model.receive(buf);
  buf.fill(0x7a);
  const rx = rxBuffer(8);
  drv.kick(VIRTIO_CONSOLE_RECEIVEQ);
  assert.equal(rx(3), 'abc');
});

test('reset drops the rings but keeps host input; save/restore keeps it too', () => {
  const { drv, model } = setup();
  drv.init({ queues: 2 });
  model.receive(text('pending'));
  drv.setReg(VIRTIO_MMIO_STATUS, 0);
  assert.equal(model.pendingInputBytes(), 7);
  const saved = JSON.parse(JSON.stringify(model.saveState())) as unknown;
  assert.deepEqual(saved, { version: 1, pendingInput: [...text('pending')] });

  const other = new VirtioConsole(() => {});
  other.restoreState(saved);
  assert.equal(other.pendingInputBytes(), 7);
  assert.throws(
    () => other.restoreState({ version: 1, pendingInput: [300] }),
    /pendingInput must be an array of bytes/,
  );
  assert.equal(other.pendingInputBytes(), 7, 'a refused state changes nothing');
});
