/**
 * A domain: an isolated guest with its own guest-physical memory (frames mapped by its P2M),
 * its vCPUs, and the virtual devices the hypervisor emulates for it — a PLIC (one S-mode
 * context per vCPU, driving hvip.VSEIP), an NS16550A UART for the console, a goldfish RTC and
 * the SiFive test finisher through which the guest reports its exit status — at the addresses of
 * the `virt` board, so the same guest kernel runs hosted and bare. Other MMIO ranges belong to
 * IOREQ servers that a toolstack registers (the virtio backends); an access nothing claims is an
 * access fault for the guest.
 *
 * Guest RAM starts at 0x8000_0000. A domain never sees a machine address.
 */
import { Bus } from '../machine/bus.ts';
import type { CodeCache } from '../machine/code_cache.ts';
import type { Clock, InterruptLine, MmioDevice } from '../machine/device.ts';
import { GoldfishRtc } from '../machine/devices/goldfish_rtc.ts';
import { Plic } from '../machine/devices/plic.ts';
import { SifiveTest, type FinisherEvent } from '../machine/devices/sifive_test.ts';
import { Uart16550 } from '../machine/devices/uart16550.ts';
import { Irq } from '../machine/hart/csr_defs.ts';
import type { MachineMemory } from '../machine/memory.ts';
import { OutOfMemoryError, type FrameAllocator, type Mfn } from './frames.ts';
import { DomainMemory } from './guest_memory.ts';
import { P2m, type Gfn } from './p2m.ts';
import type { SchedDomain } from './sched/ops.ts';
import type { Vcpu } from './vcpu.ts';

export type DomId = number & { readonly __brand: 'DomId' };

export const GUEST_RAM_BASE = 0x8000_0000;
export const GUEST_TEST_BASE = 0x10_0000;
export const GUEST_RTC_BASE = 0x10_1000;
export const GUEST_PLIC_BASE = 0xc00_0000;
export const GUEST_PLIC_SIZE = 0x60_0000;
export const GUEST_UART_BASE = 0x1000_0000;
export const GUEST_VIRTIO_BASE = 0x1000_1000;
export const GUEST_VIRTIO_SLOTS = 8;
export const GUEST_PLIC_SOURCES = 96;
export const GUEST_UART_IRQ = 10;
export const GUEST_RTC_IRQ = 11;

export type DomainState = 'running' | 'paused' | 'shutdown' | 'dying';

/** Why a domain stopped: the guest powered off (with an exit code), rebooted, or crashed. */
export type ShutdownReason =
  { kind: 'poweroff'; code: number } | { kind: 'reboot' } | { kind: 'crash'; detail: string };

export class Domain implements SchedDomain {
  state: DomainState = 'paused';
  weight = 256;
  cap = 0;
  readonly vcpus: Vcpu[] = [];
  readonly p2m: P2m;
  readonly memory: DomainMemory;
  /** Emulated devices and IOREQ ranges, by guest physical address. */
  readonly bus = new Bus();
  readonly plic: Plic;
  readonly uart: Uart16550;
  readonly rtc: GoldfishRtc;
  readonly test: SifiveTest;
  shutdownReason: ShutdownReason | undefined;
  /** Where host console input goes: the UART (ttyS0) or the SBI console calls (hvc0). */
  consoleKind: 'uart' | 'sbi' = 'uart';
  /** Host input waiting for SBI console reads. */
  readonly sbiInput: number[] = [];
  /** A virtio console the toolstack attached (hvc0), which gets host input too. */
  virtioConsole: { receive(bytes: Uint8Array): void } | undefined;
  /** Console output (UART and SBI console), delivered in batches. */
  onConsole: (bytes: Uint8Array) => void = () => {};
  /** Called once when the guest shuts down, reboots or crashes. */
  onShutdown: (reason: ShutdownReason) => void = () => {};
  private readonly ram: Mfn[] = [];
  private out: number[] = [];

  constructor(
    readonly id: DomId,
    readonly name: string,
    readonly memoryBytes: number,
    readonly vcpuCount: number,
    private readonly frames: FrameAllocator,
    mem: MachineMemory,
    code: CodeCache,
    clock: Clock,
  ) {
    const pages = memoryBytes / 4096;
    if (!Number.isInteger(pages) || pages <= 0)
      throw new RangeError(`domain memory ${memoryBytes} is not whole pages`);
    if (frames.free < pages + 64) {
      throw new RangeError(
        `domain ${name} needs ${memoryBytes >> 20} MiB but machine memory has ${(frames.free * 4096) >> 20} MiB free`,
      );
    }
    this.p2m = new P2m(frames, GUEST_RAM_BASE / 4096, pages);
    try {
      for (let i = 0; i < pages; i++) {
        const mfn = frames.alloc();
        this.ram.push(mfn);
        this.p2m.map((GUEST_RAM_BASE / 4096 + i) as Gfn, mfn);
      }
    } catch (e) {
      // Another pCPU took the memory between the check above and here: give back what we got.
      this.release();
      throw e instanceof OutOfMemoryError
        ? new RangeError(`domain ${name} needs ${memoryBytes >> 20} MiB but machine memory ran out`)
        : e;
    }
    this.p2m.onChange = () => {
      for (const v of this.vcpus) v.hart.flushGStage();
    };
    this.memory = new DomainMemory(mem, this.p2m, code);
    this.plic = new Plic({
      numSources: GUEST_PLIC_SOURCES,
      numContexts: vcpuCount,
      onContextChange: (ctx, pending) => this.setExternalInterrupt(ctx, pending),
    });
    this.uart = new Uart16550(this.plic.line(GUEST_UART_IRQ), (b) => this.out.push(b));
    this.rtc = new GoldfishRtc(this.plic.line(GUEST_RTC_IRQ), clock);
    this.test = new SifiveTest((e) => this.finisher(e));
    this.bus.map(GUEST_TEST_BASE, this.test);
    this.bus.map(GUEST_RTC_BASE, this.rtc);
    this.bus.map(GUEST_PLIC_BASE, this.plic);
    this.bus.map(GUEST_UART_BASE, this.uart);
  }

  /** Registers an IOREQ server (a device model in the toolstack) for a guest MMIO range. */
  registerIoreq(base: number, device: MmioDevice): void {
    this.bus.map(base, device);
  }

  /** A line of the domain's PLIC, for IOREQ servers' interrupts (sources 1..95). */
  irqLine(source: number): InterruptLine {
    return this.plic.line(source);
  }

  /** Sends host input to the guest console. */
  sendConsoleInput(bytes: Uint8Array): void {
    if (this.consoleKind === 'uart') this.uart.receive(bytes);
    else for (const b of bytes) this.sbiInput.push(b);
    this.virtioConsole?.receive(bytes);
  }

  /** Queues bytes for the console (the SBI console calls use this too). */
  consoleWrite(bytes: ArrayLike<number>): void {
    for (let i = 0; i < bytes.length; i++) this.out.push(bytes[i]!);
  }

  /** Hands buffered console output to `onConsole`. */
  flushConsole(): void {
    if (this.out.length === 0) return;
    const bytes = Uint8Array.from(this.out);
    this.out = [];
    this.onConsole(bytes);
  }

  /** Marks the domain shut down (once) and tells its owner. */
  shutdown(reason: ShutdownReason): void {
    if (this.state === 'shutdown' || this.state === 'dying') return;
    this.state = 'shutdown';
    this.shutdownReason = reason;
    this.flushConsole();
    this.onShutdown(reason);
  }

  private finisher(e: FinisherEvent): void {
    if (e.kind === 'reset') this.shutdown({ kind: 'reboot' });
    else this.shutdown({ kind: 'poweroff', code: e.kind === 'pass' ? e.code : e.code || 1 });
  }

  private setExternalInterrupt(ctx: number, pending: boolean): void {
    const v = this.vcpus[ctx];
    if (!v) return;
    if (pending) this.wakeHook(v, v.inject(Irq.VSEIP));
    else v.retract(Irq.VSEIP);
  }

  /** Called when an interrupt was injected into `v` (the hypervisor wakes it if it can run). */
  wakeHook: (v: Vcpu, wakeable: boolean) => void = () => {};

  /** Frees the domain's frames and tables. */
  release(): void {
    for (const mfn of this.ram) this.frames.freeFrame(mfn);
    this.ram.length = 0;
    this.p2m.destroy();
  }
}
