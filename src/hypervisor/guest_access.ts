/**
 * Hypercall argument buffers: copy_from_guest / copy_to_guest for pointers a vCPU passes. As in
 * Xen, pointers are guest-virtual: translated through the vCPU's current VS-stage table (vsatp:
 * Bare, Sv39 or Sv48) and then the domain's P2M (the G-stage), with the permissions a VS-mode
 * load or store would need (a U page only with vsstatus.SUM). Unlike the MMU's walk this one has
 * no side effects on the hart — no trap is raised, no TLB filled: an address that does not
 * translate is the hypercall's -EFAULT. Accessed/dirty bits are set as hardware updating them
 * would (Svadu), so guests that expect either behaviour work.
 */
import { I_VSATP, I_VSSTATUS } from '../machine/hart/hart.ts';
import type { Vcpu } from './vcpu.ts';

const TWO32 = 4294967296;
const PTE_V = 1;
const PTE_R = 2;
const PTE_W = 4;
const PTE_X = 8;
const PTE_U = 16;
const PTE_A = 64;
const PTE_D = 128;
const SUM = 1 << 18;
const MXR = 1 << 19;

/**
 * Guest-physical address of `gva` for a read (or write), or -1 if it does not translate. `gva`
 * is the 64-bit register value as a signed number (upper-half kernel addresses are negative).
 */
export function gvaToGpa(v: Vcpu, gva: number, write: boolean): number {
  const S = v.hart.S;
  const satpLo = S[I_VSATP]!;
  const satpHi = S[I_VSATP + 1]!;
  const mode = satpHi >>> 28;
  if (mode === 0) return gva >= 0 ? gva : -1;
  if (mode !== 8 && mode !== 9) return -1;
  const levels = mode === 8 ? 3 : 4;
  const hi = Math.floor(gva / TWO32) | 0;
  const lo = gva - hi * TWO32; // 0 .. 2^32-1
  // Canonical: the bits above the VA width all equal its top bit.
  const top = levels === 3 ? hi >> 6 : hi >> 15;
  if (top !== 0 && top !== -1) return -1;
  const status = S[I_VSSTATUS]!;
  const mem = v.domain.memory;
  let table = ((satpLo >>> 0) + (satpHi & 0xfff) * TWO32) * 4096;
  for (let level = levels - 1; level >= 0; level--) {
    let vpn: number;
    if (level === 0) vpn = (lo >>> 12) & 511;
    else if (level === 1) vpn = (lo >>> 21) & 511;
    else if (level === 2) vpn = ((lo >>> 30) | (hi << 2)) & 511;
    else vpn = (hi >>> 7) & 511;
    const pteAddr = table + vpn * 8;
    const pteLo = mem.readU32(pteAddr);
    const pteHi = mem.readU32(pteAddr + 4);
    if (pteLo === undefined || pteHi === undefined) return -1;
    if (!(pteLo & PTE_V) || (!(pteLo & PTE_R) && pteLo & PTE_W)) return -1;
    const ppn = (pteLo >>> 10) + (pteHi & 0x3fffff) * 4194304;
    if (!(pteLo & (PTE_R | PTE_X))) {
      table = ppn * 4096;
      continue;
    }
    // A leaf: check it as a VS-mode access would be checked.
    if (pteLo & PTE_U && !(status & SUM)) return -1;
    const readable = (pteLo & PTE_R) !== 0 || ((pteLo & PTE_X) !== 0 && (status & MXR) !== 0);
    if (write ? !(pteLo & PTE_W) : !readable) return -1;
    const pageSpan = 2 ** (9 * level); // 4 KiB pages this leaf covers
    if (ppn % pageSpan !== 0) return -1; // misaligned superpage
    const want = pteLo | PTE_A | (write ? PTE_D : 0);
    if (want !== pteLo) mem.writeU32(pteAddr, want >>> 0);
    // The offset inside the leaf: the low 12 + 9 × level bits of the address (at most 39 bits).
    const inLeaf = level <= 2 ? lo % (pageSpan * 4096) : (hi & 0x7f) * TWO32 + lo;
    return ppn * 4096 + inLeaf;
  }
  return -1;
}

/** Copies `len` bytes from guest-virtual `gva`; undefined on a fault. */
export function copyFromGuest(v: Vcpu, gva: number, len: number): Uint8Array | undefined {
  const out = new Uint8Array(len);
  for (let done = 0; done < len;) {
    const n = Math.min(len - done, 4096 - ((gva + done) % 4096));
    const gpa = gvaToGpa(v, gva + done, false);
    if (gpa < 0 || !v.domain.memory.read(gpa, out.subarray(done, done + n))) return undefined;
    done += n;
  }
  return out;
}

/** Copies `bytes` to guest-virtual `gva`; false on a fault (pages before the fault are written). */
export function copyToGuest(v: Vcpu, gva: number, bytes: Uint8Array): boolean {
  for (let done = 0; done < bytes.length;) {
    const n = Math.min(bytes.length - done, 4096 - ((gva + done) % 4096));
    const gpa = gvaToGpa(v, gva + done, true);
    if (gpa < 0 || !v.domain.memory.write(gpa, bytes.subarray(done, done + n))) return false;
    done += n;
  }
  return true;
}

/** A fixed-size hypercall struct read from the guest, with little-endian field accessors. */
export class GuestStruct {
  readonly dv: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  static read(v: Vcpu, gva: number, size: number): GuestStruct | undefined {
    const b = copyFromGuest(v, gva, size);
    return b && new GuestStruct(b);
  }

  u16(off: number): number {
    return this.dv.getUint16(off, true);
  }

  u32(off: number): number {
    return this.dv.getUint32(off, true);
  }

  /** A 64-bit field as a number (exact below 2^53; larger values come back as -1). */
  u64(off: number): number {
    const hi = this.dv.getUint32(off + 4, true);
    if (hi >= 0x200000) return -1;
    return hi * TWO32 + this.dv.getUint32(off, true);
  }

  setU16(off: number, x: number): this {
    this.dv.setUint16(off, x & 0xffff, true);
    return this;
  }

  setU32(off: number, x: number): this {
    this.dv.setUint32(off, x >>> 0, true);
    return this;
  }

  setU64(off: number, x: number): this {
    const neg = x < 0;
    this.dv.setUint32(off, x >>> 0, true);
    this.dv.setUint32(off + 4, neg ? 0xffffffff : Math.floor(x / TWO32), true);
    return this;
  }

  write(v: Vcpu, gva: number): boolean {
    return copyToGuest(v, gva, this.bytes);
  }
}
