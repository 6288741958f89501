/**
 * The Domus `virt` board: harts, RAM and the devices of QEMU's `virt` machine at the same
 * addresses, so that software built for that machine runs unchanged.
 *
 *   0x0010_0000  SiFive test finisher (poweroff / reboot / exit code)
 *   0x0010_1000  goldfish RTC                         irq 11
 *   0x0200_0000  ACLINT (CLINT layout: MSWI + MTIMER)
 *   0x0c00_0000  PLIC (contexts 2h = hart h M-mode, 2h+1 = S-mode)
 *   0x1000_0000  NS16550A UART                        irq 10
 *   0x1000_1000  virtio-mmio slots 0..7, 0x1000 apart irq 1..8
 *   0x8000_0000  RAM
 *
 * Boot (as QEMU does): firmware at 0x8000_0000, kernel at 0x8020_0000, the initrd at
 * kernel + min(RAM/2, 128 MiB), the DTB in the last 2 MiB-aligned space below the end of RAM
 * (or 3 GiB); every hart starts at 0x8000_0000 in M-mode with a0 = hartid, a1 = DTB.
 *
 * `run()` is the scheduler: it runs the harts round-robin in slices on the calling thread,
 * keeps the machine timer lines current, sleeps while every hart waits in WFI, yields to the
 * host event loop about every 10 ms, and resolves when the guest powers off or resets.
 */
import { Bus } from './bus.ts';
import { CodeCache } from './code_cache.ts';
import type { Clock, InterruptLine } from './device.ts';
import { Aclint } from './devices/aclint.ts';
import { GoldfishRtc } from './devices/goldfish_rtc.ts';
import { Plic } from './devices/plic.ts';
import { SifiveTest, type FinisherEvent } from './devices/sifive_test.ts';
import { Uart16550 } from './devices/uart16550.ts';
import { buildVirtFdt } from './board_fdt.ts';
import { Irq } from './hart/csr_defs.ts';
import { Hart } from './hart/hart.ts';
import { run } from './hart/interp.ts';
import { warmUpInterpreter } from './hart/warmup.ts';
import { HS } from './hart/layout.ts';
import { checkFirmware, checkKernel, isElf, loadElf } from './loader.ts';
import { MachineMemory } from './memory.ts';
import { RamDma } from './ram_dma.ts';
import type { BlockBackend } from './virtio/blk.ts';
import { VirtioBlk } from './virtio/blk.ts';
import { VirtioConsole } from './virtio/console.ts';
import { VirtioMmio } from './virtio/mmio.ts';
import { VirtioRng } from './virtio/rng.ts';
import type { VirtioDeviceModel } from './virtio/device.ts';

export const RAM_BASE = 0x8000_0000;
export const KERNEL_OFFSET = 0x20_0000;
const TEST_BASE = 0x10_0000;
const RTC_BASE = 0x10_1000;
const CLINT_BASE = 0x200_0000;
const PLIC_BASE = 0xc00_0000;
const PLIC_SIZE = 0x60_0000;
const PLIC_SOURCES = 96;
const UART_BASE = 0x1000_0000;
const VIRTIO_BASE = 0x1000_1000;
const VIRTIO_SLOTS = 8;
export const TIMEBASE_HZ = 10_000_000;
export const MAX_HARTS = 8;

/** Instructions a hart runs before the scheduler looks at timers and other harts. */
const SLICE = 20_000;
/** Wall-clock time the scheduler runs before yielding to the host event loop. */
const YIELD_MS = 10;

export interface BoardOptions {
  ramBytes: number;
  harts: number;
  /** UART output, flushed at least every YIELD_MS. */
  onConsole(bytes: Uint8Array): void;
  disks?: BlockBackend[];
  /** Also give the guest a virtio-console (hvc0); its output goes to onConsole too. */
  virtioConsole?: boolean;
  clock?: Clock;
  /** Random bytes source for the DTB rng-seed and virtio-rng (default: crypto.getRandomValues). */
  random?: (dst: Uint8Array) => void;
}

export type StopReason =
  | { kind: 'poweroff'; code: number }
  | { kind: 'fail'; code: number }
  | { kind: 'reset' }
  | { kind: 'stopped' };

/**
 * The host's monotonic clock as the board timer (10 MHz) and its wall clock for the RTC. mtime
 * counts from `origin`, a time in ms on the `performance.timeOrigin + performance.now()` scale
 * (default: now), so that clocks made on several threads from one origin agree.
 */
export class HostClock implements Clock {
  readonly frequencyHz = TIMEBASE_HZ;
  private readonly t0: number;
  constructor(origin = performance.timeOrigin + performance.now()) {
    this.t0 = origin - performance.timeOrigin;
  }
  mtime(): number {
    return Math.floor((performance.now() - this.t0) * (TIMEBASE_HZ / 1000));
  }
  wallClockNs(): number {
    return Date.now() * 1e6;
  }
}

/**
 * Deterministic time: mtime advances with the instructions the harts retire (one tick per
 * `instructionsPerTick`), and jumps straight to the next timer deadline when every hart waits
 * in WFI. Nothing depends on the host's speed, so a run is repeatable from its inputs. The RTC
 * starts at a fixed date (`epochNs`) and advances with mtime.
 */
export class VirtualClock implements Clock {
  readonly frequencyHz = TIMEBASE_HZ;
  /** Instructions retired by all harts at the end of their last slices. */
  retired = 0;
  /** Ticks added by skipping idle time. */
  skipped = 0;
  /** The hart currently running, whose in-slice count (sliceExecuted) also counts. */
  current: { sliceExecuted: number } | undefined;

  constructor(
    readonly instructionsPerTick = 10,
    readonly epochNs = 1_700_000_000e9,
  ) {}

  mtime(): number {
    const n = this.retired + (this.current?.sliceExecuted ?? 0);
    return Math.floor(n / this.instructionsPerTick) + this.skipped;
  }

  wallClockNs(): number {
    return this.epochNs + (this.mtime() * 1e9) / TIMEBASE_HZ;
  }

  /** Advances time to `ticks` if it is in the future. */
  skipTo(ticks: number): void {
    const now = this.mtime();
    if (ticks > now && ticks !== Infinity) this.skipped += ticks - now;
  }
}

/** A deterministic byte source (xorshift32) for deterministic runs. */
export function seededRandom(seed: number): (dst: Uint8Array) => void {
  let x = (seed ^ 0x9e3779b9) >>> 0 || 1;
  return (dst) => {
    for (let i = 0; i < dst.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      dst[i] = x >>> 24;
    }
  };
}

const defaultRandom = (dst: Uint8Array) => {
  globalThis.crypto.getRandomValues(dst);
};

export class VirtBoard {
  readonly mem: MachineMemory;
  readonly bus = new Bus();
  readonly code: CodeCache;
  readonly harts: Hart[] = [];
  readonly clock: Clock;
  readonly uart: Uart16550;
  readonly plic: Plic;
  readonly aclint: Aclint;
  readonly rtc: GoldfishRtc;
  readonly test: SifiveTest;
  readonly virtioConsole: VirtioConsole | undefined;
  readonly slots: VirtioMmio[] = [];
  private readonly opts: BoardOptions;
  private out: number[] = [];
  private stopReason: StopReason | undefined;
  private wakeUp: (() => void) | undefined;
  private dtbAddr = 0;
  private running = false;
  private readonly virtualClock: VirtualClock | undefined;

  constructor(opts: BoardOptions) {
    if (!Number.isInteger(opts.harts) || opts.harts < 1 || opts.harts > MAX_HARTS) {
      throw new RangeError(`harts must be 1..${MAX_HARTS}`);
    }
    this.opts = opts;
    warmUpInterpreter();
    this.clock = opts.clock ?? new HostClock();
    this.virtualClock = this.clock instanceof VirtualClock ? this.clock : undefined;
    this.mem = new MachineMemory({ harts: opts.harts, ramBase: RAM_BASE, ramBytes: opts.ramBytes });
    this.code = new CodeCache(this.mem.ramPages);
    const env = { mem: this.mem, bus: this.bus, code: this.code, clock: this.clock };
    for (let i = 0; i < opts.harts; i++) {
      const h = new Hart(i, env);
      h.onWake = () => this.wake();
      this.harts.push(h);
    }
    this.code.onNewCodePage = (ramPage) => {
      for (const h of this.harts) h.dropStoreEntriesFor(ramPage);
    };

    this.test = new SifiveTest((e: FinisherEvent) => this.finish(e));
    this.plic = new Plic({
      numSources: PLIC_SOURCES,
      numContexts: 2 * opts.harts,
      onContextChange: (ctx, pending) =>
        this.harts[ctx >> 1]?.setIrqLine(ctx & 1 ? Irq.SEIP : Irq.MEIP, pending),
    });
    this.aclint = new Aclint(opts.harts, this.clock, {
      onSoftware: (h, level) => this.harts[h]?.setIrqLine(Irq.MSIP, level),
      onTimerChange: (h) => this.harts[h]?.setIrqLine(Irq.MTIP, this.aclint.timerPending(h)),
    });
    this.uart = new Uart16550(this.plic.line(10), (byte) => this.out.push(byte));
    this.rtc = new GoldfishRtc(this.plic.line(11), this.clock);
    this.bus.map(TEST_BASE, this.test);
    this.bus.map(RTC_BASE, this.rtc);
    this.bus.map(CLINT_BASE, this.aclint);
    this.bus.map(PLIC_BASE, this.plic);
    this.bus.map(UART_BASE, this.uart);

    const dma = new RamDma(this.mem, this.code);
    const models: VirtioDeviceModel[] = [];
    for (const disk of opts.disks ?? []) models.push(new VirtioBlk(disk));
    models.push(new VirtioRng(opts.random ?? defaultRandom));
    if (opts.virtioConsole) {
      this.virtioConsole = new VirtioConsole((bytes) => {
        for (const b of bytes) this.out.push(b);
      });
      models.push(this.virtioConsole);
    }
    if (models.length > VIRTIO_SLOTS) {
      throw new RangeError(
        `the board has ${VIRTIO_SLOTS} virtio slots; ${models.length} devices were asked for`,
      );
    }
    for (let i = 0; i < VIRTIO_SLOTS; i++) {
      const irq: InterruptLine = this.plic.line(1 + i);
      const slot = new VirtioMmio(models[i] ?? null, dma, irq);
      this.slots.push(slot);
      this.bus.map(VIRTIO_BASE + i * 0x1000, slot);
    }
  }

  // ---- loading -------------------------------------------------------------------------

  /**
   * Loads M-mode firmware (raw binary or ELF) and optionally a kernel and initrd, writes the
   * DTB, and points every hart at the firmware entry (a0 = hartid, a1 = DTB).
   */
  loadFirmware(p: {
    firmware: Uint8Array;
    firmwareName: string;
    kernel?: Uint8Array;
    kernelName?: string;
    initrd?: Uint8Array;
    cmdline: string;
  }): void {
    checkFirmware(p.firmware, p.firmwareName);
    let entry = RAM_BASE;
    if (isElf(p.firmware)) entry = loadElf(this.mem, p.firmware, `firmware ${p.firmwareName}`).entry;
    else this.mem.loadBytes(RAM_BASE, p.firmware);
    let initrd: { start: number; end: number } | undefined;
    if (p.kernel) {
      checkKernel(p.kernel, p.kernelName ?? 'image');
      const kernelBase = RAM_BASE + KERNEL_OFFSET;
      if (isElf(p.kernel)) {
        loadElf(this.mem, p.kernel, `kernel ${p.kernelName ?? ''}`);
      } else {
        this.fit(kernelBase, p.kernel.length, 'kernel', p.kernelName);
        this.mem.loadBytes(kernelBase, p.kernel);
      }
      if (p.initrd) {
        const start = kernelBase + Math.min(this.mem.ramBytes / 2, 128 * 1024 * 1024);
        this.fit(start, p.initrd.length, 'initrd');
        this.mem.loadBytes(start, p.initrd);
        initrd = { start, end: start + p.initrd.length };
      }
    }
    this.writeDtb(p.cmdline, initrd);
    for (const h of this.harts) this.resetHartTo(h, entry);
  }

  /** Loads a bare-metal ELF (ISA tests): every hart starts at its entry in M-mode. */
  loadTest(elf: Uint8Array, name: string): void {
    const { entry } = loadElf(this.mem, elf, name);
    this.writeDtb('', undefined);
    for (const h of this.harts) this.resetHartTo(h, entry);
  }

  private fit(pa: number, len: number, what: string, name?: string): void {
    if (this.mem.ramOffsetOf(pa, len) < 0) {
      const mib = Math.ceil((pa - RAM_BASE + len) / (1 << 20));
      throw new RangeError(
        `${what}${name ? ` ${name}` : ''} (${len} bytes) does not fit in ${this.mem.ramBytes >> 20} MiB of RAM; give the guest at least ${mib + 2} MiB`,
      );
    }
  }

  private writeDtb(cmdline: string, initrd: { start: number; end: number } | undefined): void {
    const seed = new Uint8Array(32);
    (this.opts.random ?? defaultRandom)(seed);
    const dtb = buildVirtFdt({
      harts: this.harts.length,
      ramBase: RAM_BASE,
      ramBytes: this.mem.ramBytes,
      timebaseHz: TIMEBASE_HZ,
      isa: 'rv64imafdc',
      mmuType: 'riscv,sv48',
      cmdline,
      ...(initrd && { initrd }),
      plicSources: PLIC_SOURCES,
      clint: { base: CLINT_BASE, size: this.aclint.sizeBytes },
      plic: { base: PLIC_BASE, size: PLIC_SIZE },
      uart: { base: UART_BASE, size: 0x100, irq: 10, clockHz: 3686400 },
      rtc: { base: RTC_BASE, size: 0x1000, irq: 11 },
      test: { base: TEST_BASE, size: 0x1000 },
      virtio: Array.from({ length: VIRTIO_SLOTS }, (_, i) => ({
        base: VIRTIO_BASE + i * 0x1000,
        size: 0x1000,
        irq: 1 + i,
      })),
      rngSeed: seed,
    });
    const end = Math.min(RAM_BASE + this.mem.ramBytes, 0xc000_0000);
    const addr = Math.floor((end - dtb.length) / (2 << 20)) * (2 << 20);
    this.mem.loadBytes(addr, dtb);
    this.dtbAddr = addr;
  }

  private resetHartTo(h: Hart, entry: number): void {
    h.reset();
    h.setPcNumber(entry);
    h.setXNumber(10, h.id);
    h.setXNumber(11, this.dtbAddr);
  }

  get dtbAddress(): number {
    return this.dtbAddr;
  }

  // ---- running ---------------------------------------------------------------------------

  /** Host input for the console (the UART, and the virtio-console if present). */
  sendConsoleInput(bytes: Uint8Array): void {
    this.uart.receive(bytes);
    this.virtioConsole?.receive(bytes);
    this.wake();
  }

  /** Asks `run()` to return with { kind: 'stopped' } (host-initiated stop). */
  stop(): void {
    this.finishWith({ kind: 'stopped' });
  }

  private finish(e: FinisherEvent): void {
    if (e.kind === 'pass') this.finishWith({ kind: 'poweroff', code: e.code });
    else if (e.kind === 'fail') this.finishWith({ kind: 'fail', code: e.code });
    else this.finishWith({ kind: 'reset' });
  }

  private finishWith(r: StopReason): void {
    if (!this.stopReason) this.stopReason = r;
    for (const h of this.harts) h.yieldRequest = true;
    this.wake();
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  /** Instructions retired by all harts since reset. */
  get instructions(): number {
    let n = 0;
    for (const h of this.harts) n += h.instret;
    return n;
  }

  private flushConsole(): void {
    if (this.out.length === 0) return;
    const bytes = Uint8Array.from(this.out);
    this.out = [];
    this.opts.onConsole(bytes);
  }

  /** Runs the machine until the guest powers off, fails, resets, or `stop()` is called. */
  async run(): Promise<StopReason> {
    if (this.running) throw new Error('VirtBoard.run() is already running');
    this.running = true;
    try {
      for (;;) {
        const batchStart = performance.now();
        let allWaiting = false;
        while (!this.stopReason) {
          allWaiting = true;
          for (const h of this.harts) {
            h.setIrqLine(Irq.MTIP, this.aclint.timerPending(h.id));
            if (h.S[HS.WFI]) {
              if (!h.wakeable()) continue;
              h.S[HS.WFI] = 0;
              h.irqCheck = true;
            }
            allWaiting = false;
            if (this.virtualClock) this.virtualClock.current = h;
            const n = run(h, SLICE);
            if (this.virtualClock) {
              this.virtualClock.current = undefined;
              this.virtualClock.retired += n;
            }
            h.S[HS.RES_VALID] = 0; // reservations never outlive a slice (see mmu.ts)
            if (this.stopReason) break;
          }
          this.rtc.poll();
          if (allWaiting || performance.now() - batchStart >= YIELD_MS) break;
        }
        this.flushConsole();
        if (this.stopReason) return this.stopReason;
        if (allWaiting && !(this.virtualClock && this.skipIdle())) await this.sleepUntilEvent();
        else await yieldToHost();
      }
    } finally {
      this.running = false;
      this.flushConsole();
    }
  }

  /**
   * Deterministic mode: every hart waits, so jump time to the earliest timer deadline. Returns
   * false when no timer is armed (only host input can wake the machine: wait for it).
   */
  private skipIdle(): boolean {
    const vc = this.virtualClock!;
    let deadline = Infinity;
    for (const h of this.harts) deadline = Math.min(deadline, this.aclint.nextDeadline(h.id));
    const alarmNs = this.rtc.nextAlarmNs();
    if (alarmNs !== Infinity)
      deadline = Math.min(deadline, vc.mtime() + ((alarmNs - vc.wallClockNs()) * TIMEBASE_HZ) / 1e9);
    if (deadline === Infinity) return false;
    vc.skipTo(Math.ceil(deadline));
    return true;
  }

  /** Sleeps until the earliest timer deadline, RTC alarm, or a wake-up (input, interrupt). */
  private sleepUntilEvent(): Promise<void> {
    let deadlineTicks = Infinity;
    for (const h of this.harts) deadlineTicks = Math.min(deadlineTicks, this.aclint.nextDeadline(h.id));
    let ms = ((deadlineTicks - this.clock.mtime()) * 1000) / TIMEBASE_HZ;
    const alarmNs = this.rtc.nextAlarmNs();
    if (alarmNs !== Infinity) ms = Math.min(ms, (alarmNs - this.clock.wallClockNs()) / 1e6);
    ms = Math.max(0, Math.min(ms, 100));
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}

/** Lets the host event loop run (I/O callbacks) and comes back as soon as possible. */
function yieldToHost(): Promise<void> {
  const si = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
  if (si) return new Promise((resolve) => si(resolve));
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(0);
  });
}
