/**
 * `GuestMemory` over the board's RAM, for devices doing DMA on the bare board. Writes
 * invalidate decoded instructions of the pages they touch (code_cache.ts), so a guest that
 * DMA-loads code and executes it sees the new bytes.
 */
import type { CodeCache } from './code_cache.ts';
import type { GuestMemory } from './device.ts';
import type { MachineMemory } from './memory.ts';

export class RamDma implements GuestMemory {
  private readonly dv: DataView;
  constructor(
    private readonly mem: MachineMemory,
    private readonly code: CodeCache,
  ) {
    this.dv = new DataView(mem.buffer);
  }

  read(gpa: number, dst: Uint8Array): boolean {
    const off = this.mem.ramOffsetOf(gpa, dst.length);
    if (off < 0) return false;
    dst.set(this.mem.u8.subarray(off, off + dst.length));
    return true;
  }

  write(gpa: number, src: Uint8Array): boolean {
    const off = this.mem.ramOffsetOf(gpa, src.length);
    if (off < 0) return false;
    this.mem.u8.set(src, off);
    this.code.invalidateRange(off - this.mem.ramOffset, src.length);
    return true;
  }

  readU16(gpa: number): number | undefined {
    const off = this.mem.ramOffsetOf(gpa, 2);
    return off < 0 ? undefined : this.dv.getUint16(off, true);
  }

  readU32(gpa: number): number | undefined {
    const off = this.mem.ramOffsetOf(gpa, 4);
    return off < 0 ? undefined : this.dv.getUint32(off, true);
  }

  readU64(gpa: number): number | undefined {
    const off = this.mem.ramOffsetOf(gpa, 8);
    if (off < 0) return undefined;
    const hi = this.dv.getUint32(off + 4, true);
    if (hi >= 0x200000) return undefined; // above 2^53
    return hi * 4294967296 + this.dv.getUint32(off, true);
  }

  writeU16(gpa: number, value: number): boolean {
    const off = this.mem.ramOffsetOf(gpa, 2);
    if (off < 0) return false;
    this.dv.setUint16(off, value, true);
    this.code.invalidateRange(off - this.mem.ramOffset, 2);
    return true;
  }

  writeU32(gpa: number, value: number): boolean {
    const off = this.mem.ramOffsetOf(gpa, 4);
    if (off < 0) return false;
    this.dv.setUint32(off, value >>> 0, true);
    this.code.invalidateRange(off - this.mem.ramOffset, 4);
    return true;
  }
}
