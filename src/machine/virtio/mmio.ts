/**
 * The virtio-mmio transport, version 2 (virtio 1.2 §4.2.2), as a board device.
 *
 * Register file at offsets 0x000..0x0fc (32-bit accesses only; anything else reads 0 and is
 * ignored), device configuration space from 0x100 (any width, handed to the model).
 * Feature negotiation: the device offers the model's bits, the ring features the queue
 * implements (INDIRECT_DESC, EVENT_IDX) and VIRTIO_F_VERSION_1; FEATURES_OK sticks only if the
 * driver accepted a subset that includes VERSION_1. A queue's QueueReady=1 takes effect only
 * if its size and ring addresses are valid; otherwise the device enters DEVICE_NEEDS_RESET.
 * At DRIVER_OK the model is activated with a `VirtioContext`; writing 0 to Status resets it.
 *
 * An empty slot (model null) reads like QEMU's: MagicValue, Version and VendorID are real and
 * everything else, DeviceID included, is 0, so Linux probes the slot and leaves it alone.
 *
 * The interrupt line is level: it is high while InterruptStatus is non-zero.
 */
import type { GuestMemory, InterruptLine, MmioDevice } from '../device.ts';
import {
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_EVENT_IDX,
  VIRTIO_F_INDIRECT_DESC,
  VIRTIO_F_VERSION_1,
  stateInt,
  stateRecord,
  type VirtioContext,
  type VirtioDeviceModel,
} from './device.ts';
import { Virtqueue, joinAddress, type VirtqueueState } from './queue.ts';

export const VIRTIO_MMIO_MAGIC_VALUE = 0x000;
export const VIRTIO_MMIO_VERSION = 0x004;
export const VIRTIO_MMIO_DEVICE_ID = 0x008;
export const VIRTIO_MMIO_VENDOR_ID = 0x00c;
export const VIRTIO_MMIO_DEVICE_FEATURES = 0x010;
export const VIRTIO_MMIO_DEVICE_FEATURES_SEL = 0x014;
export const VIRTIO_MMIO_DRIVER_FEATURES = 0x020;
export const VIRTIO_MMIO_DRIVER_FEATURES_SEL = 0x024;
export const VIRTIO_MMIO_QUEUE_SEL = 0x030;
export const VIRTIO_MMIO_QUEUE_NUM_MAX = 0x034;
export const VIRTIO_MMIO_QUEUE_NUM = 0x038;
export const VIRTIO_MMIO_QUEUE_READY = 0x044;
export const VIRTIO_MMIO_QUEUE_NOTIFY = 0x050;
export const VIRTIO_MMIO_INTERRUPT_STATUS = 0x060;
export const VIRTIO_MMIO_INTERRUPT_ACK = 0x064;
export const VIRTIO_MMIO_STATUS = 0x070;
export const VIRTIO_MMIO_QUEUE_DESC_LOW = 0x080;
export const VIRTIO_MMIO_QUEUE_DESC_HIGH = 0x084;
export const VIRTIO_MMIO_QUEUE_DRIVER_LOW = 0x090;
export const VIRTIO_MMIO_QUEUE_DRIVER_HIGH = 0x094;
export const VIRTIO_MMIO_QUEUE_DEVICE_LOW = 0x0a0;
export const VIRTIO_MMIO_QUEUE_DEVICE_HIGH = 0x0a4;
export const VIRTIO_MMIO_SHM_SEL = 0x0ac;
export const VIRTIO_MMIO_SHM_LEN_LOW = 0x0b0;
export const VIRTIO_MMIO_SHM_LEN_HIGH = 0x0b4;
export const VIRTIO_MMIO_SHM_BASE_LOW = 0x0b8;
export const VIRTIO_MMIO_SHM_BASE_HIGH = 0x0bc;
export const VIRTIO_MMIO_QUEUE_RESET = 0x0c0;
export const VIRTIO_MMIO_CONFIG_GENERATION = 0x0fc;
export const VIRTIO_MMIO_CONFIG = 0x100;

/** "virt", little-endian. */
export const VIRTIO_MMIO_MAGIC = 0x74726976;
/** The vendor id QEMU uses ("QEMU"); Linux drivers do not look at it. */
export const VIRTIO_MMIO_VENDOR = 0x554d4551;

export const VIRTIO_MMIO_INT_VRING = 1;
export const VIRTIO_MMIO_INT_CONFIG = 2;

const RING_FEATURES_LO = (1 << VIRTIO_F_INDIRECT_DESC) | (1 << VIRTIO_F_EVENT_IDX);
const VERSION_1_HI = 1 << (VIRTIO_F_VERSION_1 - 32);

export type VirtioMmioState = {
  version: 1;
  deviceId: number;
  status: number;
  deviceFeaturesSel: number;
  driverFeaturesSel: number;
  driverFeaturesLo: number;
  driverFeaturesHi: number;
  queueSel: number;
  interruptStatus: number;
  configGeneration: number;
  queues: VirtqueueState[];
  model: unknown;
};

export class VirtioMmio implements MmioDevice {
  readonly name = 'virtio_mmio';
  readonly sizeBytes = 0x200;
  /** Why the device entered DEVICE_NEEDS_RESET, for logs; null while it is healthy. */
  failure: string | null = null;

  private readonly model: VirtioDeviceModel | null;
  private readonly mem: GuestMemory;
  private readonly irq: InterruptLine;
  private readonly queues: Virtqueue[];
  private readonly offeredLo: number;
  private readonly offeredHi: number;
  private status = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private driverFeaturesLo = 0;
  private driverFeaturesHi = 0;
  private queueSel = 0;
  private interruptStatus = 0;
  private configGeneration = 0;

  constructor(model: VirtioDeviceModel | null, mem: GuestMemory, irq: InterruptLine) {
    this.model = model;
    this.mem = mem;
    this.irq = irq;
    const onFail = (reason: string) => this.fail(reason);
    this.queues = (model?.queueSizes ?? []).map((max, i) => new Virtqueue(i, max, mem, onFail));
    this.offeredLo = ((model?.featuresLo ?? 0) | RING_FEATURES_LO) >>> 0;
    this.offeredHi = ((model?.featuresHi ?? 0) | VERSION_1_HI) >>> 0;
  }

  read(offset: number, width: 1 | 2 | 4): number {
    if (offset >= VIRTIO_MMIO_CONFIG) {
      return this.model === null ? 0 : this.model.readConfig(offset - VIRTIO_MMIO_CONFIG, width);
    }
    if (width !== 4 || (offset & 3) !== 0) return 0;
    switch (offset) {
      case VIRTIO_MMIO_MAGIC_VALUE:
        return VIRTIO_MMIO_MAGIC;
      case VIRTIO_MMIO_VERSION:
        return 2;
      case VIRTIO_MMIO_VENDOR_ID:
        return VIRTIO_MMIO_VENDOR;
    }
    if (this.model === null) return 0;
    const q = this.queues[this.queueSel];
    switch (offset) {
      case VIRTIO_MMIO_DEVICE_ID:
        return this.model.deviceId;
      case VIRTIO_MMIO_DEVICE_FEATURES:
        return this.deviceFeaturesSel === 0
          ? this.offeredLo
          : this.deviceFeaturesSel === 1
            ? this.offeredHi
            : 0;
      case VIRTIO_MMIO_QUEUE_NUM_MAX:
        return q?.maxSize ?? 0;
      case VIRTIO_MMIO_QUEUE_NUM:
        return q?.size ?? 0;
      case VIRTIO_MMIO_QUEUE_READY:
        return q?.ready === true ? 1 : 0;
      case VIRTIO_MMIO_INTERRUPT_STATUS:
        return this.interruptStatus;
      case VIRTIO_MMIO_STATUS:
        return this.status;
      case VIRTIO_MMIO_QUEUE_DESC_LOW:
        return low(q?.descAddr ?? 0);
      case VIRTIO_MMIO_QUEUE_DESC_HIGH:
        return high(q?.descAddr ?? 0);
      case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
        return low(q?.driverAddr ?? 0);
      case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
        return high(q?.driverAddr ?? 0);
      case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
        return low(q?.deviceAddr ?? 0);
      case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        return high(q?.deviceAddr ?? 0);
      case VIRTIO_MMIO_SHM_LEN_LOW:
      case VIRTIO_MMIO_SHM_LEN_HIGH:
      case VIRTIO_MMIO_SHM_BASE_LOW:
      case VIRTIO_MMIO_SHM_BASE_HIGH:
        // No shared memory regions: a length of -1 says "no such region".
        return 0xffffffff;
      case VIRTIO_MMIO_CONFIG_GENERATION:
        return this.configGeneration;
      default:
        return 0;
    }
  }

  write(offset: number, width: 1 | 2 | 4, value: number): void {
    const model = this.model;
    if (model === null) return;
    if (offset >= VIRTIO_MMIO_CONFIG) {
      model.writeConfig(offset - VIRTIO_MMIO_CONFIG, width, value);
      return;
    }
    if (width !== 4 || (offset & 3) !== 0) return;
    value >>>= 0;
    const q = this.queues[this.queueSel];
    // Queue layout may change only while the queue is off (virtio 1.2 §4.2.2.2).
    const layoutWritable = q !== undefined && !q.ready;
    switch (offset) {
      case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
        this.deviceFeaturesSel = value;
        break;
      case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
        this.driverFeaturesSel = value;
        break;
      case VIRTIO_MMIO_DRIVER_FEATURES:
        if ((this.status & VIRTIO_CONFIG_S_FEATURES_OK) !== 0) break;
        if (this.driverFeaturesSel === 0) this.driverFeaturesLo = value;
        else if (this.driverFeaturesSel === 1) this.driverFeaturesHi = value;
        break;
      case VIRTIO_MMIO_QUEUE_SEL:
        this.queueSel = value;
        break;
      case VIRTIO_MMIO_QUEUE_NUM:
        if (layoutWritable) q.size = value;
        break;
      case VIRTIO_MMIO_QUEUE_READY:
        if (q !== undefined) this.setQueueReady(q, (value & 1) !== 0);
        break;
      case VIRTIO_MMIO_QUEUE_NOTIFY:
        if (this.running() && this.queues[value]?.ready === true) model.notify(value);
        break;
      case VIRTIO_MMIO_INTERRUPT_ACK:
        this.interruptStatus &= ~value;
        this.irq.set(this.interruptStatus !== 0);
        break;
      case VIRTIO_MMIO_STATUS:
        this.writeStatus(value & 0xff);
        break;
      case VIRTIO_MMIO_QUEUE_DESC_LOW:
        if (layoutWritable) q.descAddr = joinAddress(value, high(q.descAddr));
        break;
      case VIRTIO_MMIO_QUEUE_DESC_HIGH:
        if (layoutWritable) q.descAddr = joinAddress(low(q.descAddr), value);
        break;
      case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
        if (layoutWritable) q.driverAddr = joinAddress(value, high(q.driverAddr));
        break;
      case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
        if (layoutWritable) q.driverAddr = joinAddress(low(q.driverAddr), value);
        break;
      case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
        if (layoutWritable) q.deviceAddr = joinAddress(value, high(q.deviceAddr));
        break;
      case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        if (layoutWritable) q.deviceAddr = joinAddress(low(q.deviceAddr), value);
        break;
    }
  }

  /** Enters DEVICE_NEEDS_RESET (virtio 1.2 §2.1.2): queues stop, a config interrupt tells the driver. */
  fail(reason: string): void {
    if ((this.status & VIRTIO_CONFIG_S_NEEDS_RESET) !== 0) return;
    this.failure = reason;
    this.status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    for (const q of this.queues) q.broken = true;
    if ((this.status & VIRTIO_CONFIG_S_DRIVER_OK) !== 0) {
      this.interruptStatus |= VIRTIO_MMIO_INT_CONFIG;
      this.irq.set(true);
    }
  }

  saveState(): VirtioMmioState {
    return {
      version: 1,
      deviceId: this.model?.deviceId ?? 0,
      status: this.status,
      deviceFeaturesSel: this.deviceFeaturesSel,
      driverFeaturesSel: this.driverFeaturesSel,
      driverFeaturesLo: this.driverFeaturesLo,
      driverFeaturesHi: this.driverFeaturesHi,
      queueSel: this.queueSel,
      interruptStatus: this.interruptStatus,
      configGeneration: this.configGeneration,
      queues: this.queues.map((q) => q.saveState()),
      model: this.model?.saveState?.() ?? null,
    };
  }

  /**
   * Restores a saved transport and its model. A running device is re-activated, so the model
   * gets a fresh context, exactly as at DRIVER_OK.
   */
  restoreState(state: unknown): void {
    const kind = 'VirtioMmioState';
    const rec = stateRecord(state, kind, 1);
    const deviceId = stateInt(rec, kind, 'deviceId', 0, 0xffffffff);
    if (deviceId !== (this.model?.deviceId ?? 0)) {
      throw new Error(
        `${kind}.deviceId is ${deviceId} but this slot holds device ${this.model?.deviceId ?? 0}`,
      );
    }
    const status = stateInt(rec, kind, 'status', 0, 0xff);
    const fields = {
      deviceFeaturesSel: stateInt(rec, kind, 'deviceFeaturesSel', 0, 0xffffffff),
      driverFeaturesSel: stateInt(rec, kind, 'driverFeaturesSel', 0, 0xffffffff),
      driverFeaturesLo: stateInt(rec, kind, 'driverFeaturesLo', 0, 0xffffffff),
      driverFeaturesHi: stateInt(rec, kind, 'driverFeaturesHi', 0, 0xffffffff),
      queueSel: stateInt(rec, kind, 'queueSel', 0, 0xffffffff),
      interruptStatus: stateInt(rec, kind, 'interruptStatus', 0, 3),
      configGeneration: stateInt(rec, kind, 'configGeneration', 0, 0xffffffff),
    };
    if (
      (fields.driverFeaturesLo & ~this.offeredLo) !== 0 ||
      (fields.driverFeaturesHi & ~this.offeredHi) !== 0
    ) {
      throw new Error(`${kind}.driverFeatures holds bits this device does not offer`);
    }
    const queues = rec['queues'];
    if (!Array.isArray(queues) || queues.length !== this.queues.length) {
      throw new Error(`${kind}.queues must be an array of ${this.queues.length} queue states`);
    }
    // Validate everything before touching the live device.
    const probe = this.queues.map((q) => new Virtqueue(q.index, q.maxSize, this.mem, () => {}));
    probe.forEach((q, i) => q.restoreState(queues[i]));

    if (this.model?.restoreState !== undefined) this.model.restoreState(rec['model']);
    else this.model?.reset();
    this.status = status;
    this.deviceFeaturesSel = fields.deviceFeaturesSel;
    this.driverFeaturesSel = fields.driverFeaturesSel;
    this.driverFeaturesLo = fields.driverFeaturesLo;
    this.driverFeaturesHi = fields.driverFeaturesHi;
    this.queueSel = fields.queueSel;
    this.interruptStatus = fields.interruptStatus;
    this.configGeneration = fields.configGeneration;
    this.failure = (status & VIRTIO_CONFIG_S_NEEDS_RESET) !== 0 ? 'restored in DEVICE_NEEDS_RESET' : null;
    this.queues.forEach((q, i) => {
      q.reset();
      q.restoreState(queues[i]);
      q.broken = this.failure !== null;
    });
    this.irq.set(this.interruptStatus !== 0);
    if (this.running()) this.activate();
  }

  private running(): boolean {
    return (
      (this.status & (VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_NEEDS_RESET)) === VIRTIO_CONFIG_S_DRIVER_OK
    );
  }

  private setQueueReady(q: Virtqueue, ready: boolean): void {
    if (!ready) {
      q.ready = false;
      return;
    }
    if (q.ready) return;
    const problem = q.validate();
    if (problem !== null) {
      this.fail(problem);
      return;
    }
    q.ready = true;
  }

  private writeStatus(value: number): void {
    if (value === 0) {
      this.reset();
      return;
    }
    const old = this.status;
    let next = value | (old & VIRTIO_CONFIG_S_NEEDS_RESET);
    const setting = next & ~old;
    if ((setting & VIRTIO_CONFIG_S_FEATURES_OK) !== 0 && !this.featuresAcceptable()) {
      next &= ~VIRTIO_CONFIG_S_FEATURES_OK;
    }
    if ((setting & VIRTIO_CONFIG_S_DRIVER_OK) !== 0 && (next & VIRTIO_CONFIG_S_FEATURES_OK) === 0) {
      // DRIVER_OK without negotiated features is a driver bug; the device stays unusable.
      next &= ~VIRTIO_CONFIG_S_DRIVER_OK;
    }
    this.status = next;
    if ((setting & VIRTIO_CONFIG_S_DRIVER_OK) !== 0 && this.running()) this.activate();
  }

  private featuresAcceptable(): boolean {
    return (
      (this.driverFeaturesLo & ~this.offeredLo) === 0 &&
      (this.driverFeaturesHi & ~this.offeredHi) === 0 &&
      (this.driverFeaturesHi & VERSION_1_HI) !== 0
    );
  }

  private activate(): void {
    const model = this.model;
    if (model === null) return;
    const indirect = (this.driverFeaturesLo & (1 << VIRTIO_F_INDIRECT_DESC)) !== 0;
    const eventIdx = (this.driverFeaturesLo & (1 << VIRTIO_F_EVENT_IDX)) !== 0;
    for (const q of this.queues) {
      q.indirect = indirect;
      q.eventIdx = eventIdx;
    }
    const ctx: VirtioContext = {
      mem: this.mem,
      queues: this.queues,
      negotiatedLo: this.driverFeaturesLo >>> 0,
      negotiatedHi: this.driverFeaturesHi >>> 0,
      interrupt: () => {
        this.interruptStatus |= VIRTIO_MMIO_INT_VRING;
        this.irq.set(true);
      },
      fail: (reason: string) => this.fail(reason),
      configChanged: () => {
        this.configGeneration = (this.configGeneration + 1) >>> 0;
        this.interruptStatus |= VIRTIO_MMIO_INT_CONFIG;
        this.irq.set(true);
      },
    };
    model.activate(ctx);
  }

  private reset(): void {
    this.model?.reset();
    for (const q of this.queues) q.reset();
    this.status = 0;
    this.deviceFeaturesSel = 0;
    this.driverFeaturesSel = 0;
    this.driverFeaturesLo = 0;
    this.driverFeaturesHi = 0;
    this.queueSel = 0;
    this.interruptStatus = 0;
    this.failure = null;
    this.irq.set(false);
  }
}

function low(addr: number): number {
  return (addr % 0x1_0000_0000) >>> 0;
}

function high(addr: number): number {
  return Math.floor(addr / 0x1_0000_0000) >>> 0;
}
