import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  type VirtioContext,
  type VirtioDeviceModel,
} from './device.ts';
import {
  VIRTIO_MMIO_CONFIG,
  VIRTIO_MMIO_CONFIG_GENERATION,
  VIRTIO_MMIO_DEVICE_FEATURES,
  VIRTIO_MMIO_DEVICE_FEATURES_SEL,
  VIRTIO_MMIO_DEVICE_ID,
  VIRTIO_MMIO_DRIVER_FEATURES,
  VIRTIO_MMIO_DRIVER_FEATURES_SEL,
  VIRTIO_MMIO_INTERRUPT_STATUS,
  VIRTIO_MMIO_MAGIC_VALUE,
  VIRTIO_MMIO_QUEUE_DESC_LOW,
  VIRTIO_MMIO_QUEUE_NUM,
  VIRTIO_MMIO_QUEUE_NUM_MAX,
  VIRTIO_MMIO_QUEUE_READY,
  VIRTIO_MMIO_QUEUE_SEL,
  VIRTIO_MMIO_SHM_LEN_LOW,
  VIRTIO_MMIO_STATUS,
  VIRTIO_MMIO_VENDOR_ID,
  VIRTIO_MMIO_VERSION,
  VirtioMmio,
} from './mmio.ts';
import { MockDriver, TestLine, TestRam } from './mock_driver.ts';
import { VIRTQ_DESC_F_NEXT } from './queue.ts';

const BASE = 0x8000_0000;

/** A model that echoes each chain's readable bytes into its writable part and logs its calls. */
class EchoModel implements VirtioDeviceModel {
  readonly deviceId = 42;
  readonly queueSizes = [16, 8];
  readonly featuresLo = 1 << 3;
  readonly featuresHi = 1 << 4;
  readonly log: string[] = [];
  config = Uint8Array.of(0x11, 0x22, 0x33, 0x44);
  ctx: VirtioContext | null = null;
  readConfig(offset: number, width: 1 | 2 | 4): number {
    let v = 0;
    for (let i = width - 1; i >= 0; i--) v = v * 256 + (this.config[offset + i] ?? 0);
    return v;
  }
  writeConfig(offset: number, width: 1 | 2 | 4, value: number): void {
    this.log.push(`config ${offset}/${width}=${value}`);
  }
  activate(ctx: VirtioContext): void {
    this.ctx = ctx;
    this.log.push(`activate ${ctx.negotiatedLo.toString(16)}:${ctx.negotiatedHi.toString(16)}`);
  }
  notify(index: number): void {
    this.log.push(`notify ${index}`);
    const ctx = this.ctx;
    const q = ctx?.queues[index];
    if (!ctx || !q) return;
    for (let c = q.pop(); c; c = q.pop()) {
      const buf = new Uint8Array(Math.min(c.readableBytes, c.writableBytes));
      c.readFrom(ctx.mem, 0, buf);
      c.writeTo(ctx.mem, 0, buf);
      q.push(c.head, buf.length);
    }
    if (q.needsInterrupt()) ctx.interrupt();
  }
  reset(): void {
    this.ctx = null;
    this.log.push('reset');
  }
}

function setup() {
  const ram = new TestRam(BASE, 0x20000);
  const line = new TestLine();
  const model = new EchoModel();
  const dev = new VirtioMmio(model, ram, line);
  return { ram, line, model, dev, drv: new MockDriver(dev, ram) };
}

test('identification registers', () => {
  const { dev } = setup();
  assert.equal(dev.sizeBytes, 0x200);
  assert.equal(dev.read(VIRTIO_MMIO_MAGIC_VALUE, 4), 0x74726976);
  assert.equal(dev.read(VIRTIO_MMIO_VERSION, 4), 2);
  assert.equal(dev.read(VIRTIO_MMIO_DEVICE_ID, 4), 42);
  assert.equal(dev.read(VIRTIO_MMIO_VENDOR_ID, 4), 0x554d4551);
  // Only 32-bit accesses reach the register file.
  assert.equal(dev.read(VIRTIO_MMIO_MAGIC_VALUE, 2), 0);
  assert.equal(dev.read(VIRTIO_MMIO_SHM_LEN_LOW, 4), 0xffffffff);
});

test('an empty slot reads magic and version but device id 0, and ignores writes', () => {
  const ram = new TestRam(BASE, 0x1000);
  const dev = new VirtioMmio(null, ram, new TestLine());
  assert.equal(dev.read(VIRTIO_MMIO_MAGIC_VALUE, 4), 0x74726976);
  assert.equal(dev.read(VIRTIO_MMIO_VERSION, 4), 2);
  assert.equal(dev.read(VIRTIO_MMIO_DEVICE_ID, 4), 0);
  assert.equal(dev.read(VIRTIO_MMIO_DEVICE_FEATURES, 4), 0);
  assert.equal(dev.read(VIRTIO_MMIO_QUEUE_NUM_MAX, 4), 0);
  dev.write(VIRTIO_MMIO_STATUS, 4, 1);
  assert.equal(dev.read(VIRTIO_MMIO_STATUS, 4), 0);
  assert.equal(dev.read(VIRTIO_MMIO_CONFIG, 4), 0);
});

test('features: the model bits plus INDIRECT_DESC, EVENT_IDX and VERSION_1', () => {
  const { dev } = setup();
  dev.write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 4, 0);
  assert.equal(dev.read(VIRTIO_MMIO_DEVICE_FEATURES, 4), (1 << 3) | (1 << 28) | (1 << 29));
  dev.write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 4, 1);
  assert.equal(dev.read(VIRTIO_MMIO_DEVICE_FEATURES, 4), (1 << 4) | 1);
  dev.write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 4, 2);
  assert.equal(dev.read(VIRTIO_MMIO_DEVICE_FEATURES, 4), 0);
});

test('FEATURES_OK is refused without VERSION_1 or with unoffered bits', () => {
  const { dev } = setup();
  const status = (v: number) => dev.write(VIRTIO_MMIO_STATUS, 4, v);
  const ad = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
  status(ad);
  status(ad | VIRTIO_CONFIG_S_FEATURES_OK);
  assert.equal(dev.read(VIRTIO_MMIO_STATUS, 4), ad, 'no VERSION_1');
  dev.write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 4, 1);
  dev.write(VIRTIO_MMIO_DRIVER_FEATURES, 4, 1);
  dev.write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 4, 0);
  dev.write(VIRTIO_MMIO_DRIVER_FEATURES, 4, 1 << 5);
  status(ad | VIRTIO_CONFIG_S_FEATURES_OK);
  assert.equal(dev.read(VIRTIO_MMIO_STATUS, 4), ad, 'bit 5 was never offered');
  dev.write(VIRTIO_MMIO_DRIVER_FEATURES, 4, 1 << 3);
  status(ad | VIRTIO_CONFIG_S_FEATURES_OK);
  assert.equal(dev.read(VIRTIO_MMIO_STATUS, 4), ad | VIRTIO_CONFIG_S_FEATURES_OK);
  // Features are frozen once FEATURES_OK is set.
  dev.write(VIRTIO_MMIO_DRIVER_FEATURES, 4, 0);
  status(ad | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
  assert.equal(dev.read(VIRTIO_MMIO_STATUS, 4) & VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_CONFIG_S_DRIVER_OK);
});

test('DRIVER_OK without FEATURES_OK does not activate the model', () => {
  const { dev, model } = setup();
  dev.write(
    VIRTIO_MMIO_STATUS,
    4,
    VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK,
  );
  assert.equal(dev.read(VIRTIO_MMIO_STATUS, 4), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
  assert.equal(model.ctx, null);
});

test('the full init sequence, a request, the interrupt and its acknowledgement', () => {
  const { dev, drv, model, line, ram } = setup();
  drv.init({ queues: 2, acceptLo: ~(1 << 29) });
  assert.deepEqual(model.log, ['reset', 'activate 10000008:11']);
  drv.setReg(VIRTIO_MMIO_QUEUE_SEL, 1);
  assert.equal(drv.reg(VIRTIO_MMIO_QUEUE_NUM_MAX), 8);
  assert.equal(drv.reg(VIRTIO_MMIO_QUEUE_READY), 1);
  drv.setReg(VIRTIO_MMIO_QUEUE_SEL, 2);
  assert.equal(drv.reg(VIRTIO_MMIO_QUEUE_NUM_MAX), 0, 'no third queue');

  const src = drv.place(new TextEncoder().encode('hello'));
  const dst = drv.alloc(5);
  drv.post(0, [
    { addr: src, len: 5, write: false },
    { addr: dst, len: 5, write: true },
  ]);
  assert.equal(line.level, false);
  drv.kick(0);
  assert.deepEqual(drv.takeUsed(0), [{ id: 0, len: 5 }]);
  assert.equal(new TextDecoder().decode(ram.bytes.subarray(dst - BASE, dst - BASE + 5)), 'hello');
  assert.equal(line.level, true);
  assert.equal(drv.ackInterrupt(), 1);
  assert.equal(line.level, false);
  assert.equal(dev.read(VIRTIO_MMIO_INTERRUPT_STATUS, 4), 0);

  // Indirect chains work once negotiated.
  drv.post(
    0,
    [
      { addr: src, len: 5, write: false },
      { addr: dst, len: 5, write: true },
    ],
    { indirect: true },
  );
  drv.kick(0);
  assert.deepEqual(drv.takeUsed(0), [{ id: 2, len: 5 }]);
});

test('notify before DRIVER_OK or for a missing queue does nothing', () => {
  const { dev, model } = setup();
  dev.write(0x50, 4, 0);
  assert.deepEqual(model.log, []);
  const s = setup();
  s.drv.init({ queues: 1 });
  s.drv.kick(1); // queue 1 was never made ready
  s.drv.kick(7);
  assert.deepEqual(s.model.log, ['reset', 'activate 30000008:11']);
});

test('config space is the model’s, at any width', () => {
  const { dev, model } = setup();
  assert.equal(dev.read(VIRTIO_MMIO_CONFIG, 4), 0x44332211);
  assert.equal(dev.read(VIRTIO_MMIO_CONFIG + 1, 2), 0x3322);
  assert.equal(dev.read(VIRTIO_MMIO_CONFIG + 3, 1), 0x44);
  dev.write(VIRTIO_MMIO_CONFIG + 2, 1, 7);
  assert.deepEqual(model.log, ['config 2/1=7']);
  assert.equal(dev.read(VIRTIO_MMIO_CONFIG_GENERATION, 4), 0);
});

test('a bad queue layout puts the device in DEVICE_NEEDS_RESET and reset clears it', () => {
  const { dev, drv, model, line } = setup();
  const ad = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
  drv.setReg(VIRTIO_MMIO_STATUS, ad);
  drv.setReg(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
  drv.setReg(VIRTIO_MMIO_DRIVER_FEATURES, 1);
  drv.setReg(VIRTIO_MMIO_STATUS, ad | VIRTIO_CONFIG_S_FEATURES_OK);
  drv.setReg(VIRTIO_MMIO_QUEUE_SEL, 0);
  drv.setReg(VIRTIO_MMIO_QUEUE_NUM, 12);
  drv.setReg(VIRTIO_MMIO_QUEUE_READY, 1);
  assert.equal(drv.reg(VIRTIO_MMIO_QUEUE_READY), 0);
  assert.equal(drv.reg(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, VIRTIO_CONFIG_S_NEEDS_RESET);
  assert.match(dev.failure ?? '', /QueueNum 12 is not a power of two/);
  assert.equal(line.level, false, 'no config interrupt before DRIVER_OK');
  drv.setReg(VIRTIO_MMIO_STATUS, 0);
  assert.equal(drv.reg(VIRTIO_MMIO_STATUS), 0);
  assert.equal(dev.failure, null);
  assert.deepEqual(model.log, ['reset']);
  drv.init({ queues: 2 });
  assert.equal(drv.reg(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
});

test('a broken ring after DRIVER_OK raises a config interrupt and stops the queues', () => {
  const { drv, line, model } = setup();
  drv.init({ queues: 2 });
  const q = drv.queue(0);
  drv.writeDesc(q.desc, 0, BASE + 0x100, 4, VIRTQ_DESC_F_NEXT, 0); // loops on itself
  drv.publish(0, 0);
  drv.kick(0);
  assert.equal(drv.reg(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, VIRTIO_CONFIG_S_NEEDS_RESET);
  assert.equal(line.level, true);
  assert.equal(drv.reg(VIRTIO_MMIO_INTERRUPT_STATUS), 2);
  // Notifications are no longer passed on.
  const before = model.log.length;
  drv.kick(0);
  assert.equal(model.log.length, before);
});

test('queue layout registers are frozen while the queue is ready', () => {
  const { drv } = setup();
  drv.init({ queues: 1 });
  const q = drv.queue(0);
  drv.setReg(VIRTIO_MMIO_QUEUE_SEL, 0);
  drv.setReg(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1234);
  assert.equal(drv.reg(VIRTIO_MMIO_QUEUE_DESC_LOW), q.desc >>> 0);
  drv.setReg(VIRTIO_MMIO_QUEUE_READY, 0);
  drv.setReg(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1230);
  assert.equal(drv.reg(VIRTIO_MMIO_QUEUE_DESC_LOW), 0x1230);
});

test('save and restore carry a running device across, and bad states are refused', () => {
  const a = setup();
  a.drv.init({ queues: 2 });
  const src = a.drv.place(Uint8Array.of(1, 2, 3));
  const dst = a.drv.alloc(3);
  a.drv.post(0, [
    { addr: src, len: 3, write: false },
    { addr: dst, len: 3, write: true },
  ]);
  a.drv.kick(0);
  const saved = JSON.parse(JSON.stringify(a.dev.saveState())) as Record<string, unknown>;

  // Same RAM (as after a memory restore), fresh device and model.
  const line = new TestLine();
  const model = new EchoModel();
  const dev = new VirtioMmio(model, a.ram, line);
  dev.restoreState(saved);
  assert.deepEqual(dev.saveState(), a.dev.saveState());
  assert.equal(line.level, true, 'the pending used-buffer interrupt is restored');
  assert.deepEqual(model.log, ['reset', 'activate 30000008:11']);
  // The restored device keeps serving the same rings.
  const drv = new MockDriver(dev, a.ram);
  drv.queues.push(...a.drv.queues);
  drv.takeUsed(0);
  drv.post(0, [
    { addr: src, len: 3, write: false },
    { addr: dst, len: 3, write: true },
  ]);
  drv.kick(0);
  assert.deepEqual(drv.takeUsed(0), [{ id: 2, len: 3 }]);

  const fresh = () => new VirtioMmio(new EchoModel(), a.ram, new TestLine());
  assert.throws(() => fresh().restoreState({ ...saved, status: 256 }), /VirtioMmioState\.status must be/);
  assert.throws(() => fresh().restoreState({ ...saved, version: 2 }), /VirtioMmioState\.version must be 1/);
  assert.throws(
    () => fresh().restoreState({ ...saved, deviceId: 3 }),
    /deviceId is 3 but this slot holds device 42/,
  );
  assert.throws(() => fresh().restoreState({ ...saved, queues: [] }), /queues must be an array of 2/);
  assert.throws(
    () => fresh().restoreState({ ...saved, driverFeaturesLo: 1 }),
    /bits this device does not offer/,
  );
});
