/**
 * The device contract of the Domus board, as small as TinyEMU's: a device is a window of
 * MMIO registers read and written by offset and width, plus interrupt lines it drives.
 *
 * - Offsets are relative to the device's base address; widths are 1, 2 or 4 bytes. The bus
 *   splits an 8-byte access into two 4-byte accesses, low word first, so a device never sees
 *   width 8 (RV64 software reads the ACLINT's 64-bit mtime this way too; nothing advances
 *   between the two halves of one instruction's access).
 * - `read` returns the value zero-extended to 32 bits (a JS number in 0..2^32-1 or its int32
 *   alias; the bus masks it). An access a device does not decode reads 0 and ignores writes,
 *   as most real devices do; a device may instead return `false` from `accepts` to make the
 *   hart take an access fault.
 * - Devices never throw for guest behaviour. A throw is an emulator bug and surfaces loudly.
 */
export interface MmioDevice {
  /** Short name for logs and the device tree, e.g. "uart0". */
  readonly name: string;
  /** Size of the MMIO window in bytes. */
  readonly sizeBytes: number;
  read(offset: number, width: 1 | 2 | 4): number;
  write(offset: number, width: 1 | 2 | 4, value: number): void;
  /** Optional: refuse an access (the hart then raises an access fault). Default: accept. */
  accepts?(offset: number, width: 1 | 2 | 4, isWrite: boolean): boolean;
}

/**
 * A level-triggered interrupt line from a device into an interrupt controller (the PLIC).
 * `set(true)` asserts it, `set(false)` deasserts it; repeating a level is harmless.
 */
export interface InterruptLine {
  set(level: boolean): void;
}

/** An interrupt line that goes nowhere, for devices built without a controller (tests). */
export const NO_IRQ: InterruptLine = { set() {} };

/**
 * Guest-physical memory as a device sees it for DMA (virtio rings and buffers).
 *
 * Addresses are guest-physical, as JS numbers (exact up to 2^53). Every method checks the
 * whole range and returns `false` (or `undefined`) when any byte is not RAM the device may
 * touch; devices turn that into a device error, never into an exception. Writes go through
 * this interface so that the machine sees them (translated-code invalidation, dirty logging).
 * On the bare board this is RAM itself; behind the hypervisor it is a domain's P2M, limited
 * to what the backend was granted.
 */
export interface GuestMemory {
  /** Copies `dst.length` bytes from `gpa` into `dst`. */
  read(gpa: number, dst: Uint8Array): boolean;
  /** Copies `src` to `gpa`. */
  write(gpa: number, src: Uint8Array): boolean;
  readU16(gpa: number): number | undefined;
  readU32(gpa: number): number | undefined;
  /** Reads a little-endian u64 as a JS number; undefined if out of range or above 2^53. */
  readU64(gpa: number): number | undefined;
  writeU16(gpa: number, value: number): boolean;
  writeU32(gpa: number, value: number): boolean;
}

/**
 * The board's time source. `mtime()` is the ACLINT timer in ticks of `frequencyHz`
 * (10 MHz, as on QEMU's virt board). `wallClockNs()` is the host's real-time clock for the RTC.
 */
export interface Clock {
  readonly frequencyHz: number;
  mtime(): number;
  wallClockNs(): number;
}
