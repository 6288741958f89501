/**
 * Test support: the driver side of virtio-mmio, as a Linux guest would play it, over a fake
 * guest RAM. Used by the virtio unit tests only; it takes shortcuts no real driver may take
 * (a bump allocator that never frees, descriptors handed out in order and never reused).
 *
 * `TestRam` is a `GuestMemory` over one Uint8Array at a base address, with the same range
 * checks as the real one. `MockDriver` runs the init sequence of virtio 1.2 §3.1.1 through the
 * device's registers, lays out split rings, posts chains (direct or indirect), kicks, and
 * reads back the used ring.
 */
import type { GuestMemory, MmioDevice } from '../device.ts';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
} from './device.ts';
import {
  VIRTIO_MMIO_DEVICE_FEATURES,
  VIRTIO_MMIO_DEVICE_FEATURES_SEL,
  VIRTIO_MMIO_DRIVER_FEATURES,
  VIRTIO_MMIO_DRIVER_FEATURES_SEL,
  VIRTIO_MMIO_INTERRUPT_ACK,
  VIRTIO_MMIO_INTERRUPT_STATUS,
  VIRTIO_MMIO_QUEUE_DESC_HIGH,
  VIRTIO_MMIO_QUEUE_DESC_LOW,
  VIRTIO_MMIO_QUEUE_DEVICE_HIGH,
  VIRTIO_MMIO_QUEUE_DEVICE_LOW,
  VIRTIO_MMIO_QUEUE_DRIVER_HIGH,
  VIRTIO_MMIO_QUEUE_DRIVER_LOW,
  VIRTIO_MMIO_QUEUE_NOTIFY,
  VIRTIO_MMIO_QUEUE_NUM,
  VIRTIO_MMIO_QUEUE_NUM_MAX,
  VIRTIO_MMIO_QUEUE_READY,
  VIRTIO_MMIO_QUEUE_SEL,
  VIRTIO_MMIO_STATUS,
} from './mmio.ts';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from './queue.ts';

export class TestRam implements GuestMemory {
  readonly base: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;

  constructor(base: number, sizeBytes: number) {
    this.base = base;
    this.bytes = new Uint8Array(sizeBytes);
    this.view = new DataView(this.bytes.buffer);
  }

  read(gpa: number, dst: Uint8Array): boolean {
    const o = this.offset(gpa, dst.length);
    if (o < 0) return false;
    dst.set(this.bytes.subarray(o, o + dst.length));
    return true;
  }

  write(gpa: number, src: Uint8Array): boolean {
    const o = this.offset(gpa, src.length);
    if (o < 0) return false;
    this.bytes.set(src, o);
    return true;
  }

  readU16(gpa: number): number | undefined {
    const o = this.offset(gpa, 2);
    return o < 0 ? undefined : this.view.getUint16(o, true);
  }

  readU32(gpa: number): number | undefined {
    const o = this.offset(gpa, 4);
    return o < 0 ? undefined : this.view.getUint32(o, true);
  }

  readU64(gpa: number): number | undefined {
    const o = this.offset(gpa, 8);
    if (o < 0) return undefined;
    const v = this.view.getUint32(o, true) + this.view.getUint32(o + 4, true) * 0x1_0000_0000;
    return v <= Number.MAX_SAFE_INTEGER ? v : undefined;
  }

  writeU16(gpa: number, value: number): boolean {
    const o = this.offset(gpa, 2);
    if (o >= 0) this.view.setUint16(o, value, true);
    return o >= 0;
  }

  writeU32(gpa: number, value: number): boolean {
    const o = this.offset(gpa, 4);
    if (o >= 0) this.view.setUint32(o, value, true);
    return o >= 0;
  }

  private offset(gpa: number, n: number): number {
    const o = gpa - this.base;
    return Number.isInteger(o) && o >= 0 && o + n <= this.bytes.length ? o : -1;
  }
}

/** One buffer of a chain: guest address, length, and whether the device writes it. */
export type Segment = { addr: number; len: number; write: boolean };

type DriverQueue = {
  size: number;
  desc: number;
  avail: number;
  used: number;
  nextDesc: number;
  lastUsed: number;
};

export class MockDriver {
  readonly dev: MmioDevice;
  readonly ram: TestRam;
  readonly queues: DriverQueue[] = [];
  private brk: number;

  constructor(dev: MmioDevice, ram: TestRam) {
    this.dev = dev;
    this.ram = ram;
    this.brk = ram.base + 0x1000;
  }

  reg(offset: number): number {
    return this.dev.read(offset, 4) >>> 0;
  }

  setReg(offset: number, value: number): void {
    this.dev.write(offset, 4, value >>> 0);
  }

  /** Bump-allocates zeroed guest memory. */
  alloc(bytes: number, align = 16): number {
    this.brk = Math.ceil(this.brk / align) * align;
    const at = this.brk;
    this.brk += bytes;
    if (this.brk > this.ram.base + this.ram.bytes.length) throw new Error('test RAM exhausted');
    return at;
  }

  /** Puts bytes into freshly allocated guest memory and returns their address. */
  place(bytes: Uint8Array): number {
    const at = this.alloc(bytes.length);
    this.ram.write(at, bytes);
    return at;
  }

  /**
   * The init sequence of virtio 1.2 §3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK
   * (checked), queues, DRIVER_OK. Accepts `accept` of the offered features (default: all).
   * Returns the offered features as [lo, hi].
   */
  init(opts: { queues: number; queueSize?: number; acceptLo?: number; acceptHi?: number }): [number, number] {
    this.setReg(VIRTIO_MMIO_STATUS, 0);
    this.setReg(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    this.setReg(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    this.setReg(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    const hi = this.reg(VIRTIO_MMIO_DEVICE_FEATURES);
    this.setReg(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    const lo = this.reg(VIRTIO_MMIO_DEVICE_FEATURES);
    this.setReg(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    this.setReg(VIRTIO_MMIO_DRIVER_FEATURES, hi & (opts.acceptHi ?? 0xffffffff));
    this.setReg(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    this.setReg(VIRTIO_MMIO_DRIVER_FEATURES, lo & (opts.acceptLo ?? 0xffffffff));
    const base = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
    this.setReg(VIRTIO_MMIO_STATUS, base | VIRTIO_CONFIG_S_FEATURES_OK);
    if ((this.reg(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK) === 0)
      throw new Error('FEATURES_OK refused');
    for (let i = 0; i < opts.queues; i++) this.setupQueue(i, opts.queueSize);
    this.setReg(VIRTIO_MMIO_STATUS, base | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    return [lo, hi];
  }

  /** Lays out queue `index` like Linux's split ring: table, then avail, then used. */
  setupQueue(index: number, size?: number): DriverQueue {
    this.setReg(VIRTIO_MMIO_QUEUE_SEL, index);
    if (this.reg(VIRTIO_MMIO_QUEUE_READY) !== 0) throw new Error(`queue ${index} already set up`);
    const max = this.reg(VIRTIO_MMIO_QUEUE_NUM_MAX);
    if (max === 0) throw new Error(`queue ${index} does not exist`);
    const n = Math.min(max, size ?? max);
    const q: DriverQueue = {
      size: n,
      desc: this.alloc(16 * n, 16),
      avail: this.alloc(6 + 2 * n, 2),
      used: this.alloc(6 + 8 * n, 4),
      nextDesc: 0,
      lastUsed: 0,
    };
    this.setReg(VIRTIO_MMIO_QUEUE_NUM, n);
    this.setReg(VIRTIO_MMIO_QUEUE_DESC_LOW, q.desc);
    this.setReg(VIRTIO_MMIO_QUEUE_DESC_HIGH, Math.floor(q.desc / 0x1_0000_0000));
    this.setReg(VIRTIO_MMIO_QUEUE_DRIVER_LOW, q.avail);
    this.setReg(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, Math.floor(q.avail / 0x1_0000_0000));
    this.setReg(VIRTIO_MMIO_QUEUE_DEVICE_LOW, q.used);
    this.setReg(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, Math.floor(q.used / 0x1_0000_0000));
    this.setReg(VIRTIO_MMIO_QUEUE_READY, 1);
    this.queues[index] = q;
    return q;
  }

  queue(index: number): DriverQueue {
    const q = this.queues[index];
    if (q === undefined) throw new Error(`queue ${index} is not set up`);
    return q;
  }

  /** Writes descriptor `i` of a table at `table`. */
  writeDesc(table: number, i: number, addr: number, len: number, flags: number, next: number): void {
    const at = table + 16 * i;
    this.ram.writeU32(at, addr % 0x1_0000_0000);
    this.ram.writeU32(at + 4, Math.floor(addr / 0x1_0000_0000));
    this.ram.writeU32(at + 8, len);
    this.ram.writeU16(at + 12, flags);
    this.ram.writeU16(at + 14, next);
  }

  /** Makes a chain available on queue `index` (not yet kicked); returns its head. */
  post(index: number, segs: Segment[], opts: { indirect?: boolean } = {}): number {
    const q = this.queue(index);
    let head: number;
    if (opts.indirect === true) {
      const table = this.alloc(16 * segs.length, 16);
      segs.forEach((s, i) => {
        const last = i === segs.length - 1;
        this.writeDesc(
          table,
          i,
          s.addr,
          s.len,
          (s.write ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT),
          i + 1,
        );
      });
      head = this.takeDesc(q);
      this.writeDesc(q.desc, head, table, 16 * segs.length, VIRTQ_DESC_F_INDIRECT, 0);
    } else {
      const ids = segs.map(() => this.takeDesc(q));
      segs.forEach((s, i) => {
        const next = ids[i + 1];
        const flags = (s.write ? VIRTQ_DESC_F_WRITE : 0) | (next !== undefined ? VIRTQ_DESC_F_NEXT : 0);
        this.writeDesc(q.desc, ids[i] ?? 0, s.addr, s.len, flags, next ?? 0);
      });
      head = ids[0] ?? 0;
    }
    this.publish(index, head);
    return head;
  }

  /** Puts `head` into the next avail ring slot and bumps avail idx. */
  publish(index: number, head: number): void {
    const q = this.queue(index);
    const idx = this.ram.readU16(q.avail + 2) ?? 0;
    this.ram.writeU16(q.avail + 4 + 2 * (idx % q.size), head);
    this.ram.writeU16(q.avail + 2, (idx + 1) & 0xffff);
  }

  kick(index: number): void {
    this.setReg(VIRTIO_MMIO_QUEUE_NOTIFY, index);
  }

  /** Used-ring entries the device added since the last call. */
  takeUsed(index: number): { id: number; len: number }[] {
    const q = this.queue(index);
    const out: { id: number; len: number }[] = [];
    const idx = this.ram.readU16(q.used + 2) ?? 0;
    while (q.lastUsed !== idx) {
      const at = q.used + 4 + 8 * (q.lastUsed % q.size);
      out.push({ id: this.ram.readU32(at) ?? -1, len: this.ram.readU32(at + 4) ?? -1 });
      q.lastUsed = (q.lastUsed + 1) & 0xffff;
    }
    // used_event, as Linux re-enables callbacks: "interrupt me for the next one". Harmless without EVENT_IDX.
    this.ram.writeU16(q.avail + 4 + 2 * q.size, q.lastUsed);
    return out;
  }

  /** Reads and acknowledges InterruptStatus, as Linux's vm_interrupt does. */
  ackInterrupt(): number {
    const status = this.reg(VIRTIO_MMIO_INTERRUPT_STATUS);
    this.setReg(VIRTIO_MMIO_INTERRUPT_ACK, status);
    return status;
  }

  private takeDesc(q: DriverQueue): number {
    const i = q.nextDesc;
    q.nextDesc = (q.nextDesc + 1) % q.size;
    return i;
  }
}

/** An interrupt line that remembers its level and counts rising edges. */
export class TestLine {
  level = false;
  raised = 0;
  set(level: boolean): void {
    if (level && !this.level) this.raised++;
    this.level = level;
  }
}
