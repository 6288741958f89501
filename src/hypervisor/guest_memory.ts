/**
 * A domain's guest-physical memory as the hypervisor and its device models see it: byte-level
 * reads and writes at guest physical addresses, translated through the domain's P2M one frame
 * at a time. Implements the machine's `GuestMemory` contract, so the board's virtio device
 * models serve hosted domains unchanged; every access is bounded by what the P2M maps (a device
 * cannot reach another domain's frames). Writes invalidate decoded instructions of the frames
 * they touch.
 */
import type { CodeCache } from '../machine/code_cache.ts';
import type { GuestMemory } from '../machine/device.ts';
import type { MachineMemory } from '../machine/memory.ts';
import type { P2m } from './p2m.ts';

export class DomainMemory implements GuestMemory {
  private readonly dv: DataView;
  /** Told the GFN of every write (log-dirty mode, log_dirty.ts); null when nobody asks. */
  onWrite: ((gfn: number) => void) | null = null;
  constructor(
    private readonly mem: MachineMemory,
    private readonly p2m: P2m,
    private readonly code: CodeCache,
  ) {
    this.dv = new DataView(mem.buffer);
  }

  /** Host offset of `gpa`, valid for `len` bytes within one frame; -1 if unmapped. */
  private offset(gpa: number, len: number): number {
    const gfn = Math.floor(gpa / 4096);
    const inPage = gpa - gfn * 4096;
    if (inPage + len > 4096) return -1;
    const mfn = this.p2m.mfnOf(gfn);
    if (mfn < 0) return -1;
    return this.mem.ramOffset + mfn * 4096 + inPage;
  }

  /**
   * Calls `f(hostOffset, length, done)` for each piece of [gpa, gpa+len) that is contiguous in
   * machine memory (frames that follow each other make one piece: a domain's RAM mostly does);
   * false if any part is unmapped.
   */
  private chunks(gpa: number, len: number, f: (off: number, n: number, done: number) => void): boolean {
    // Check the whole range first: a failed access must not be half done.
    for (let done = 0; done < len;) {
      const n = Math.min(len - done, 4096 - ((gpa + done) % 4096));
      if (this.offset(gpa + done, n) < 0) return false;
      done += n;
    }
    let runOff = 0;
    let runLen = 0;
    let runDone = 0;
    for (let done = 0; done < len;) {
      const n = Math.min(len - done, 4096 - ((gpa + done) % 4096));
      const off = this.offset(gpa + done, n);
      if (runLen > 0 && off === runOff + runLen) runLen += n;
      else {
        if (runLen > 0) f(runOff, runLen, runDone);
        runOff = off;
        runLen = n;
        runDone = done;
      }
      done += n;
    }
    if (runLen > 0) f(runOff, runLen, runDone);
    return true;
  }

  read(gpa: number, dst: Uint8Array): boolean {
    return this.chunks(gpa, dst.length, (off, n, done) => dst.set(this.mem.u8.subarray(off, off + n), done));
  }

  write(gpa: number, src: Uint8Array): boolean {
    return this.chunks(gpa, src.length, (off, n, done) => {
      this.mem.u8.set(src.subarray(done, done + n), off);
      this.code.invalidateRange(off - this.mem.ramOffset, n);
      const onWrite = this.onWrite;
      if (onWrite) {
        const last = Math.floor((gpa + done + n - 1) / 4096);
        for (let gfn = Math.floor((gpa + done) / 4096); gfn <= last; gfn++) onWrite(gfn);
      }
    });
  }

  readU16(gpa: number): number | undefined {
    const off = this.offset(gpa, 2);
    return off < 0 ? undefined : this.dv.getUint16(off, true);
  }

  readU32(gpa: number): number | undefined {
    const off = this.offset(gpa, 4);
    return off < 0 ? undefined : this.dv.getUint32(off, true);
  }

  readU64(gpa: number): number | undefined {
    const off = this.offset(gpa, 8);
    if (off < 0) return undefined;
    const hi = this.dv.getUint32(off + 4, true);
    if (hi >= 0x200000) return undefined;
    return hi * 4294967296 + this.dv.getUint32(off, true);
  }

  writeU16(gpa: number, value: number): boolean {
    const off = this.offset(gpa, 2);
    if (off < 0) return false;
    this.dv.setUint16(off, value, true);
    this.code.invalidateRange(off - this.mem.ramOffset, 2);
    this.onWrite?.(Math.floor(gpa / 4096));
    return true;
  }

  writeU32(gpa: number, value: number): boolean {
    const off = this.offset(gpa, 4);
    if (off < 0) return false;
    this.dv.setUint32(off, value >>> 0, true);
    this.code.invalidateRange(off - this.mem.ramOffset, 4);
    this.onWrite?.(Math.floor(gpa / 4096));
    return true;
  }

  /** Writes a u64 given as lo/hi halves. */
  writeU64(gpa: number, lo: number, hi: number): boolean {
    const off = this.offset(gpa, 8);
    if (off < 0) return false;
    this.dv.setUint32(off, lo >>> 0, true);
    this.dv.setUint32(off + 4, hi >>> 0, true);
    this.code.invalidateRange(off - this.mem.ramOffset, 8);
    this.onWrite?.(Math.floor(gpa / 4096));
    return true;
  }
}
