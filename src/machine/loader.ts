/**
 * Recognizing and loading what the board boots: RISC-V Linux `Image` files (header with the
 * "RSC\x05" magic), ELF64 executables for RISC-V (firmware, bare-metal tests), and raw
 * firmware binaries. Anything recognizably something else is refused with a sentence that
 * says what it is and what to pass instead.
 */
import { UserError } from '../common/errors.ts';
import type { MachineMemory } from './memory.ts';

const EM_RISCV = 243;

export function isElf(b: Uint8Array): boolean {
  return b.length >= 64 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
}

export function isLinuxImage(b: Uint8Array): boolean {
  if (b.length < 64) return false;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return dv.getUint32(56, true) === 0x05435352;
}

/** What a file looks like, for error messages about files that are not what we need. */
function describe(b: Uint8Array): string | undefined {
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip-compressed; decompress it first';
  if (b.length >= 2 && b[0] === 0x4d && b[1] === 0x5a && !isLinuxImage(b))
    return 'a PE/DOS executable, not RISC-V';
  if (isElf(b)) {
    const machine = b[18]! | (b[19]! << 8);
    if (machine !== EM_RISCV) return `an ELF file for machine ${machine}, not RISC-V (243)`;
    if (b[4] !== 2) return 'a 32-bit ELF file; Domus runs RV64';
  }
  return undefined;
}

/** Validates a kernel: a RISC-V Linux Image or a RISC-V ELF64. */
export function checkKernel(b: Uint8Array, name: string): void {
  const what = describe(b);
  if (what) throw new UserError(`kernel ${name} is ${what}; pass a riscv64 Linux Image`);
  if (!isLinuxImage(b) && !isElf(b)) {
    throw new UserError(
      `kernel ${name} is not a RISC-V Linux Image (no "RSC\\x05" magic at offset 56); pass a riscv64 Image`,
    );
  }
}

/** Validates firmware: a RISC-V ELF64 or a raw binary that is not obviously something else. */
export function checkFirmware(b: Uint8Array, name: string): void {
  const what = describe(b);
  if (what)
    throw new UserError(`firmware ${name} is ${what}; pass RISC-V M-mode firmware such as fw_jump.bin`);
  if (isLinuxImage(b))
    throw new UserError(`firmware ${name} is a Linux kernel Image; pass it with --kernel instead`);
  if (b.length === 0)
    throw new UserError(`firmware ${name} is empty; pass RISC-V M-mode firmware such as fw_jump.bin`);
}

export interface LoadedElf {
  entry: number;
  /** Lowest and highest+1 physical addresses written. */
  low: number;
  high: number;
}

/** Loads the PT_LOAD segments of a RISC-V ELF64 at their physical addresses. */
export function loadElf(mem: MachineMemory, b: Uint8Array, name: string): LoadedElf {
  const what = describe(b);
  if (what) throw new UserError(`${name} is ${what}`);
  if (!isElf(b)) throw new UserError(`${name} is not an ELF file; pass a RISC-V ELF64 executable`);
  if (b[5] !== 1) throw new UserError(`${name} is a big-endian ELF file; RISC-V is little-endian`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u64 = (o: number) => Number(dv.getBigUint64(o, true));
  const entry = u64(24);
  const phoff = u64(32);
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  let low = Infinity;
  let high = 0;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (p + 56 > b.length) throw new UserError(`${name} is truncated (program header ${i} is past the end)`);
    if (dv.getUint32(p, true) !== 1) continue; // PT_LOAD
    const offset = u64(p + 8);
    const paddr = u64(p + 24);
    const filesz = u64(p + 32);
    const memsz = u64(p + 40);
    if (offset + filesz > b.length)
      throw new UserError(`${name} is truncated (segment ${i} is past the end)`);
    if (mem.ramOffsetOf(paddr, Math.max(memsz, 1)) < 0) {
      throw new UserError(
        `${name} loads ${memsz} bytes at 0x${paddr.toString(16)}, outside RAM ` +
          `0x${mem.ramBase.toString(16)}..0x${(mem.ramBase + mem.ramBytes).toString(16)}; give the board more memory or relink`,
      );
    }
    mem.loadBytes(paddr, b.subarray(offset, offset + filesz));
    if (memsz > filesz)
      mem.u8.fill(0, mem.ramOffsetOf(paddr + filesz), mem.ramOffsetOf(paddr + filesz) + memsz - filesz);
    low = Math.min(low, paddr);
    high = Math.max(high, paddr + memsz);
  }
  if (high === 0) throw new UserError(`${name} has no loadable segments`);
  return { entry, low, high };
}
