/**
 * A domain: an isolated guest with its own guest-physical memory (frames mapped by its P2M),
 * its vCPUs, and the virtual devices the hypervisor emulates for it — a PLIC (one S-mode
 * context per vCPU, driving hvip.VSEIP), an NS16550A UART for the console, a goldfish RTC and
 * the SiFive test finisher through which the guest reports its exit status — at the addresses of
 * the `virt` board, so the same guest kernel runs hosted and bare. Other MMIO ranges belong to
 * IOREQ servers that a toolstack registers (the virtio backends); an access nothing claims is an
 * access fault for the guest.
 *
 * Guest RAM starts at 0x8000_0000. A domain never sees a machine address. Each frame of its
 * physmap is its own RAM (owned in the shared frame owner table, freed with the domain), a
 * hypervisor page shared with it (shared_info, grant frames: pv_domain.ts owns those), or
 * another domain's granted page (grant_table.ts); memory ops and grant maps change it through
 * `populate`, `depopulate`, `mapShared` and `unmapShared`.
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
import { P2m, P2mPerm, type Gfn } from './p2m.ts';
import type { DirtyLog } from './log_dirty.ts';
import type { PvDomain } from './pv_domain.ts';
import type { PvShared } from './pv_shared.ts';
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
/** PLIC source of the event-channel upcall (level: vcpu_info[0].evtchn_upcall_pending). */
export const GUEST_EVTCHN_IRQ = 31;

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
  /** Its paravirtual state (event channels, grant tables, shared_info), set by the hypervisor. */
  pv: PvDomain | undefined;
  /**
   * Guest time minus host time, in timebase ticks: every vCPU's htimedelta. 0 for a domain
   * built here; a restored domain carries on from the guest time it was saved at (domain_state.ts).
   */
  timeOffsetTicks = 0;
  /** Log-dirty mode (live migration), when on. */
  dirtyLog: DirtyLog | null = null;
  /**
   * The RAM frame of its magic (xenstore) page, or -1: pinned for the domain's life (the
   * toolstack reads and writes it from its own thread, magic_page.ts), so no memory op or
   * balloon can take it away.
   */
  magicMfn = -1;
  /** Frames of its own RAM mapped now, and the most it may have (XENMEM_*_reservation). */
  totPages = 0;
  readonly maxPages: number;
  private out: number[] = [];

  constructor(
    readonly id: DomId,
    readonly name: string,
    readonly memoryBytes: number,
    readonly vcpuCount: number,
    private readonly frames: FrameAllocator,
    private readonly shared: PvShared,
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
    this.maxPages = pages;
    this.p2m = new P2m(frames, GUEST_RAM_BASE / 4096, pages);
    const base = GUEST_RAM_BASE / 4096;
    let mfns: Int32Array | undefined;
    try {
      mfns = frames.allocMany(pages);
      this.shared.setOwners(mfns, this.id);
      this.p2m.mapMany(base as Gfn, mfns);
      this.totPages = pages;
    } catch (e) {
      // Another pCPU took the memory between the check above and here (the frames, or those
      // of the P2M's tables): give back what we got; release() frees what was mapped.
      for (let i = 0; mfns !== undefined && i < pages; i++) {
        const mfn = mfns[i] as Mfn;
        if (this.p2m.mfnOf(base + i) === mfn) continue;
        this.shared.clearOwner(mfn);
        frames.freeFrame(mfn);
      }
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

  /** Whether `gfn` is inside the physmap's span. */
  inSpan(gfn: number): boolean {
    return Number.isInteger(gfn) && gfn >= this.p2m.baseGfn && gfn < GUEST_RAM_BASE / 4096 + this.maxPages;
  }

  /** What is at `gfn`: nothing, the domain's own RAM, or a page it shares (xenheap or foreign). */
  pageKind(gfn: number): 'none' | 'ram' | 'shared' {
    const mfn = this.p2m.mfnOf(gfn);
    if (mfn < 0) return 'none';
    return this.shared.ownsRam(this.id, mfn) ? 'ram' : 'shared';
  }

  /** Gives `gfn` a fresh zeroed frame of RAM (XENMEM_populate_physmap); false if it cannot. */
  populate(gfn: Gfn): boolean {
    if (!this.inSpan(gfn) || this.p2m.mfnOf(gfn) >= 0 || this.totPages >= this.maxPages) return false;
    const mfn = this.frames.alloc();
    this.shared.setOwner(mfn, this.id);
    this.p2m.map(gfn, mfn);
    this.totPages++;
    return true;
  }

  /**
   * Takes the RAM frame at `gfn` away and frees it (XENMEM_decrease_reservation); `keep(mfn)`
   * says a frame must not be freed yet (another domain has it mapped). False if no RAM is there
   * or it is the pinned magic page.
   */
  depopulate(gfn: Gfn, keep: (mfn: Mfn) => boolean = () => false): boolean {
    const mfn = this.p2m.mfnOf(gfn) as Mfn;
    if (mfn < 0 || mfn === this.magicMfn || !this.shared.ownsRam(this.id, mfn) || keep(mfn)) return false;
    this.p2m.unmap(gfn);
    this.shared.clearOwner(mfn);
    this.frames.freeFrame(mfn);
    this.totPages--;
    return true;
  }

  /** Maps a frame the domain does not own (a granted page, a hypervisor page) at an empty `gfn`. */
  mapShared(gfn: Gfn, mfn: Mfn, readonly: boolean): boolean {
    if (!this.inSpan(gfn) || this.p2m.mfnOf(gfn) >= 0) return false;
    this.p2m.map(gfn, mfn, readonly ? P2mPerm.R : ((P2mPerm.R | P2mPerm.W) as P2mPerm));
    return true;
  }

  /** Removes a mapping made by `mapShared` (the frame stays with its owner). */
  unmapShared(gfn: Gfn): void {
    if (this.pageKind(gfn) === 'shared') this.p2m.unmap(gfn);
  }

  /** Frees the domain's RAM (but frames `keep` names, still mapped by others) and its tables. */
  release(keep: (mfn: Mfn) => boolean = () => false): void {
    const base = GUEST_RAM_BASE / 4096;
    for (let gfn = base; gfn < base + this.maxPages; gfn++) {
      const mfn = this.p2m.mfnOf(gfn) as Mfn;
      if (mfn < 0 || !this.shared.ownsRam(this.id, mfn)) continue;
      if (keep(mfn)) continue; // leaked on purpose: freeing it would hand a mapped page out again
      this.shared.clearOwner(mfn);
      this.frames.freeFrame(mfn);
    }
    this.totPages = 0;
    this.p2m.destroy();
  }
}
