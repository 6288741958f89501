/**
 * CSR access: the Zicsr instructions' semantics on top of the hart's CSR slots.
 *
 * `csrInsn` performs one csrrw/csrrs/csrrc (or immediate form): privilege and read-only
 * checks, the rules about when a read or write happens (csrrw with rd = x0 does not read;
 * csrrs/csrrc with rs1 = x0 (or uimm = 0) do not write), WARL legalization, and side effects
 * (TLB flushes on satp/PMP/MXR changes, interrupt re-checks). Unimplemented CSRs and
 * disallowed accesses raise illegal instruction.
 *
 * Values cross this module as lo/hi int32 halves through `h.tmpLo` / `h.tmpHi`.
 */
import { fexc } from '../fpu/fpu.ts';
import { Csr, Irq, MEDELEG_WRITABLE, MISA_HI, MISA_LO, Mstatus, Priv } from './csr_defs.ts';
import { type Hart, I_MIDELEG, I_MIE, I_MIP_SW, I_MSTATUS } from './hart.ts';
import { CsrSlot, csrIndex, HC, HS } from './layout.ts';
import { pmpRecompute } from './mmu.ts';

const TWO32 = 4294967296;

export const enum CsrOp {
  RW = 1,
  RS = 2,
  RC = 3,
}

/** mstatus as read: the stored low word plus UXL/SXL and SD in the high word. */
function mstatusHi(lo: number): number {
  return Mstatus.HI_XL | ((lo & Mstatus.FS) === Mstatus.FS ? 0x80000000 | 0 : 0);
}

function slot(h: Hart, s: CsrSlot): void {
  const i = csrIndex(s);
  h.tmpLo = h.S[i]!;
  h.tmpHi = h.S[i + 1]!;
}

function setNumber(h: Hart, v: number): void {
  h.tmpLo = v >>> 0;
  h.tmpHi = Math.floor(v / TWO32) | 0;
}

/** May privilege `priv` read counter `bit` (0 cycle, 1 time, 2 instret, 3.. hpm)? */
function counterAllowed(h: Hart, bit: number): boolean {
  const priv = h.S[HS.PRIV]! as Priv;
  if (priv === Priv.M) return true;
  if (!((h.S[csrIndex(CsrSlot.MCOUNTEREN)]! >>> bit) & 1)) return false;
  if (priv === Priv.U && !((h.S[csrIndex(CsrSlot.SCOUNTEREN)]! >>> bit) & 1)) return false;
  return true;
}

/** Reads a CSR into tmpLo/tmpHi. Returns false if it does not exist or may not be read. */
function read(h: Hart, csr: number): boolean {
  const S = h.S;
  switch (csr) {
    case Csr.fflags:
      h.tmpLo = fexc.flags & 0x1f;
      h.tmpHi = 0;
      return true;
    case Csr.frm:
      h.tmpLo = S[HS.FRM]!;
      h.tmpHi = 0;
      return true;
    case Csr.fcsr:
      h.tmpLo = (S[HS.FRM]! << 5) | (fexc.flags & 0x1f);
      h.tmpHi = 0;
      return true;
    case Csr.cycle:
    case Csr.mcycle:
      if (csr === Csr.cycle && !counterAllowed(h, 0)) return false;
      setNumber(h, h.instret + h.SF[HC.MCYCLE_OFFSET]!);
      return true;
    case Csr.instret:
    case Csr.minstret:
      if (csr === Csr.instret && !counterAllowed(h, 2)) return false;
      setNumber(h, h.instret + h.SF[HC.MINSTRET_OFFSET]!);
      return true;
    case Csr.time:
      if (!counterAllowed(h, 1)) return false;
      setNumber(h, h.clock.mtime());
      return true;
    case Csr.sstatus: {
      const lo = S[I_MSTATUS]! & Mstatus.SSTATUS;
      h.tmpLo = lo;
      h.tmpHi = (Mstatus.HI_XL & 3) | ((lo & Mstatus.FS) === Mstatus.FS ? 0x80000000 | 0 : 0);
      return true;
    }
    case Csr.sie:
      h.tmpLo = S[I_MIE]! & S[I_MIDELEG]!;
      h.tmpHi = 0;
      return true;
    case Csr.sip:
      h.tmpLo = h.mip() & S[I_MIDELEG]!;
      h.tmpHi = 0;
      return true;
    case Csr.stvec:
      return (slot(h, CsrSlot.STVEC), true);
    case Csr.scounteren:
      return (slot(h, CsrSlot.SCOUNTEREN), true);
    case Csr.senvcfg:
      return (slot(h, CsrSlot.SENVCFG), true);
    case Csr.sscratch:
      return (slot(h, CsrSlot.SSCRATCH), true);
    case Csr.sepc:
      return (slot(h, CsrSlot.SEPC), true);
    case Csr.scause:
      return (slot(h, CsrSlot.SCAUSE), true);
    case Csr.stval:
      return (slot(h, CsrSlot.STVAL), true);
    case Csr.satp:
      if (S[HS.PRIV] === Priv.S && S[I_MSTATUS]! & Mstatus.TVM) return false;
      return (slot(h, CsrSlot.SATP), true);
    case Csr.mvendorid:
    case Csr.marchid:
    case Csr.mimpid:
    case Csr.mconfigptr:
    case Csr.mcountinhibit:
      h.tmpLo = 0;
      h.tmpHi = 0;
      return true;
    case Csr.mhartid:
      h.tmpLo = S[HS.HARTID]!;
      h.tmpHi = 0;
      return true;
    case Csr.mstatus: {
      const lo = S[I_MSTATUS]!;
      h.tmpLo = lo;
      h.tmpHi = mstatusHi(lo);
      return true;
    }
    case Csr.misa:
      h.tmpLo = MISA_LO;
      h.tmpHi = MISA_HI;
      return true;
    case Csr.medeleg:
      return (slot(h, CsrSlot.MEDELEG), true);
    case Csr.mideleg:
      return (slot(h, CsrSlot.MIDELEG), true);
    case Csr.mie:
      return (slot(h, CsrSlot.MIE), true);
    case Csr.mtvec:
      return (slot(h, CsrSlot.MTVEC), true);
    case Csr.mcounteren:
      return (slot(h, CsrSlot.MCOUNTEREN), true);
    case Csr.menvcfg:
      return (slot(h, CsrSlot.MENVCFG), true);
    case Csr.mscratch:
      return (slot(h, CsrSlot.MSCRATCH), true);
    case Csr.mepc:
      return (slot(h, CsrSlot.MEPC), true);
    case Csr.mcause:
      return (slot(h, CsrSlot.MCAUSE), true);
    case Csr.mtval:
      return (slot(h, CsrSlot.MTVAL), true);
    case Csr.mip:
      h.tmpLo = h.mip();
      h.tmpHi = 0;
      return true;
  }
  if (csr >= Csr.hpmcounter3 && csr <= Csr.hpmcounter31) {
    if (!counterAllowed(h, csr - Csr.cycle)) return false;
    h.tmpLo = 0;
    h.tmpHi = 0;
    return true;
  }
  if (
    (csr >= Csr.mhpmcounter3 && csr <= Csr.mhpmcounter31) ||
    (csr >= Csr.mhpmevent3 && csr <= Csr.mhpmevent31)
  ) {
    h.tmpLo = 0;
    h.tmpHi = 0;
    return true;
  }
  if (csr >= Csr.pmpcfg0 && csr <= Csr.pmpcfg15) {
    const n = csr - Csr.pmpcfg0;
    if (n & 1) return false; // RV64 has only the even pmpcfg registers
    if (n >= 4) {
      h.tmpLo = 0; // entries 16..63 are not implemented: read as zero
      h.tmpHi = 0;
      return true;
    }
    return (slot(h, n === 0 ? CsrSlot.PMPCFG0 : CsrSlot.PMPCFG2), true);
  }
  if (csr >= Csr.pmpaddr0 && csr <= Csr.pmpaddr63) {
    const n = csr - Csr.pmpaddr0;
    if (n >= 16) {
      h.tmpLo = 0;
      h.tmpHi = 0;
      return true;
    }
    return (slot(h, CsrSlot.PMPADDR0 + n), true);
  }
  return false;
}

/** Is pmp entry `i` locked (its cfg L bit set)? */
function pmpLocked(h: Hart, i: number): boolean {
  const base = csrIndex(i < 8 ? CsrSlot.PMPCFG0 : CsrSlot.PMPCFG2);
  const b = i & 7;
  return ((h.S[base + (b >> 2)]! >>> ((b & 3) * 8)) & 0x80) !== 0;
}

function writeSlot(h: Hart, s: CsrSlot, lo: number, hi: number): void {
  const i = csrIndex(s);
  h.S[i] = lo;
  h.S[i + 1] = hi;
}

/** Writes a CSR (value in lo/hi) with WARL legalization and side effects. */
function write(h: Hart, csr: number, lo: number, hi: number): void {
  const S = h.S;
  switch (csr) {
    case Csr.fflags:
      fexc.flags = lo & 0x1f;
      break;
    case Csr.frm:
      S[HS.FRM] = lo & 7;
      break;
    case Csr.fcsr:
      fexc.flags = lo & 0x1f;
      S[HS.FRM] = (lo >>> 5) & 7;
      break;
    case Csr.mcycle:
      h.SF[HC.MCYCLE_OFFSET] = (lo >>> 0) + hi * TWO32 - h.instret;
      break;
    case Csr.minstret:
      h.SF[HC.MINSTRET_OFFSET] = (lo >>> 0) + hi * TWO32 - h.instret;
      break;
    case Csr.sstatus:
      writeMstatus(h, (S[I_MSTATUS]! & ~Mstatus.SSTATUS) | (lo & Mstatus.SSTATUS));
      break;
    case Csr.sie: {
      const d = S[I_MIDELEG]!;
      S[I_MIE] = (S[I_MIE]! & ~d) | (lo & d & Irq.ALL);
      h.irqCheck = true;
      break;
    }
    case Csr.sip: {
      const d = S[I_MIDELEG]! & Irq.SSIP;
      S[I_MIP_SW] = (S[I_MIP_SW]! & ~d) | (lo & d);
      h.irqCheck = true;
      break;
    }
    case Csr.stvec:
      writeSlot(h, CsrSlot.STVEC, lo & ~2, hi); // modes 0 and 1 only
      break;
    case Csr.scounteren:
      writeSlot(h, CsrSlot.SCOUNTEREN, lo, 0);
      break;
    case Csr.senvcfg:
      writeSlot(h, CsrSlot.SENVCFG, lo & 1, 0); // FIOM
      break;
    case Csr.sscratch:
      writeSlot(h, CsrSlot.SSCRATCH, lo, hi);
      break;
    case Csr.sepc:
      writeSlot(h, CsrSlot.SEPC, lo & ~1, hi);
      break;
    case Csr.scause:
      writeSlot(h, CsrSlot.SCAUSE, lo, hi);
      break;
    case Csr.stval:
      writeSlot(h, CsrSlot.STVAL, lo, hi);
      break;
    case Csr.satp: {
      const mode = hi >>> 28;
      // WARL: an unsupported MODE makes the whole write have no effect. ASIDs are not
      // implemented (ASIDLEN = 0), so the ASID field reads as zero.
      if (mode !== 0 && mode !== 8 && mode !== 9) break;
      writeSlot(h, CsrSlot.SATP, lo, hi & 0xf0000fff);
      h.flushTlb(false);
      h.updateModes();
      break;
    }
    case Csr.mstatus:
      writeMstatus(h, lo);
      break;
    case Csr.misa:
    case Csr.mcountinhibit:
      break; // read-only here (WARL)
    case Csr.medeleg:
      writeSlot(h, CsrSlot.MEDELEG, lo & MEDELEG_WRITABLE, 0);
      break;
    case Csr.mideleg:
      writeSlot(h, CsrSlot.MIDELEG, lo & Irq.S_ALL, 0);
      h.irqCheck = true;
      break;
    case Csr.mie:
      writeSlot(h, CsrSlot.MIE, lo & Irq.ALL, 0);
      h.irqCheck = true;
      break;
    case Csr.mip:
      S[I_MIP_SW] = lo & Irq.S_ALL;
      h.irqCheck = true;
      break;
    case Csr.mtvec:
      writeSlot(h, CsrSlot.MTVEC, lo & ~2, hi);
      break;
    case Csr.mcounteren:
      writeSlot(h, CsrSlot.MCOUNTEREN, lo, 0);
      break;
    case Csr.menvcfg:
      writeSlot(h, CsrSlot.MENVCFG, lo & 1, 0);
      break;
    case Csr.mscratch:
      writeSlot(h, CsrSlot.MSCRATCH, lo, hi);
      break;
    case Csr.mepc:
      writeSlot(h, CsrSlot.MEPC, lo & ~1, hi);
      break;
    case Csr.mcause:
      writeSlot(h, CsrSlot.MCAUSE, lo, hi);
      break;
    case Csr.mtval:
      writeSlot(h, CsrSlot.MTVAL, lo, hi);
      break;
    default:
      if (csr >= Csr.pmpcfg0 && csr <= Csr.pmpcfg15) {
        const n = csr - Csr.pmpcfg0;
        if (n >= 4) break;
        const s = n === 0 ? CsrSlot.PMPCFG0 : CsrSlot.PMPCFG2;
        const i = csrIndex(s);
        const first = n === 0 ? 0 : 8;
        const words = [lo, hi];
        const old = [S[i]!, S[i + 1]!];
        for (let b = 0; b < 8; b++) {
          const w = b >> 2;
          const sh = (b & 3) * 8;
          let cfg = (words[w]! >>> sh) & 0xff;
          if (pmpLocked(h, first + b)) cfg = (old[w]! >>> sh) & 0xff;
          else {
            cfg &= 0x9f; // bits 5..6 reserved
            if ((cfg & 3) === 2) cfg &= ~3; // W without R is reserved: clear both
          }
          old[w] = (old[w]! & ~(0xff << sh)) | (cfg << sh);
        }
        S[i] = old[0]!;
        S[i + 1] = old[1]!;
        pmpRecompute(h);
      } else if (csr >= Csr.pmpaddr0 && csr <= Csr.pmpaddr63) {
        const n = csr - Csr.pmpaddr0;
        if (n >= 16) break;
        if (pmpLocked(h, n)) break;
        // A locked TOR entry above also locks this address.
        if (n < 15 && pmpLocked(h, n + 1)) {
          const base = csrIndex(n + 1 < 8 ? CsrSlot.PMPCFG0 : CsrSlot.PMPCFG2);
          const b = (n + 1) & 7;
          const a = (S[base + (b >> 2)]! >>> ((b & 3) * 8 + 3)) & 3;
          if (a === 1) break;
        }
        writeSlot(h, CsrSlot.PMPADDR0 + n, lo, hi & 0x3fffff);
        pmpRecompute(h);
      }
  }
}

function writeMstatus(h: Hart, value: number): void {
  const S = h.S;
  const old = S[I_MSTATUS]!;
  let v = (old & ~Mstatus.WRITABLE) | (value & Mstatus.WRITABLE);
  if ((v & Mstatus.MPP) === 2 << Mstatus.MPP_SHIFT) v = (v & ~Mstatus.MPP) | (old & Mstatus.MPP); // MPP=2 is reserved
  S[I_MSTATUS] = v;
  if ((old ^ v) & Mstatus.MXR) h.flushTlb(false);
  h.updateModes();
  h.irqCheck = true;
}

/**
 * Executes csrrw/csrrs/csrrc and the immediate forms. `srcLo/srcHi` is rs1's value (or the
 * zero-extended uimm); `hasSrc` is false when rs1 = x0 / uimm = 0 (csrrs/csrrc then do not
 * write); `wantRead` is false when rd = x0 for csrrw (no read). The old value is left in
 * tmpLo/tmpHi. Returns false after raising illegal instruction.
 */
export function csrInsn(
  h: Hart,
  op: CsrOp,
  csr: number,
  srcLo: number,
  srcHi: number,
  hasSrc: boolean,
  wantRead: boolean,
): boolean {
  const priv = h.S[HS.PRIV]! as number;
  if (((csr >>> 8) & 3) > priv) return h.illegal();
  const writes = op === CsrOp.RW || hasSrc;
  if (writes && csr >>> 10 === 3) return h.illegal();
  const isFp = csr >= Csr.fflags && csr <= Csr.fcsr;
  if (isFp) {
    const ms = h.S[I_MSTATUS]!;
    if ((ms & Mstatus.FS) === 0) return h.illegal();
  }
  if (op !== CsrOp.RW || wantRead) {
    if (!read(h, csr)) return h.illegal();
  } else if (!read(h, csr)) {
    return h.illegal(); // existence and privilege checks apply even without the read
  }
  const oldLo = h.tmpLo;
  const oldHi = h.tmpHi;
  if (writes) {
    let lo = srcLo;
    let hi = srcHi;
    // mip.SEIP reads as the software bit OR the PLIC's line, but only the software bit takes
    // part in a csrrs/csrrc read-modify-write (privileged spec 3.1.9); otherwise setting STIP
    // while the line is high would latch SEIP on for good.
    const rmwLo = csr === Csr.mip ? (oldLo & ~Irq.SEIP) | (h.S[I_MIP_SW]! & Irq.SEIP) : oldLo;
    if (op === CsrOp.RS) {
      lo = rmwLo | srcLo;
      hi = oldHi | srcHi;
    } else if (op === CsrOp.RC) {
      lo = rmwLo & ~srcLo;
      hi = oldHi & ~srcHi;
    }
    write(h, csr, lo, hi);
    if (isFp) h.S[I_MSTATUS] = h.S[I_MSTATUS]! | Mstatus.FS;
  }
  h.tmpLo = oldLo;
  h.tmpHi = oldHi;
  return true;
}

/**
 * Writes a CSR on behalf of the host (board setup, tests, restore): no privilege checks, but
 * the same WARL legalization and side effects as an instruction would have.
 */
export function hostCsrWrite(h: Hart, csr: number, value: bigint): void {
  write(h, csr, Number(BigInt.asIntN(32, value)), Number(BigInt.asIntN(32, value >> 32n)));
}

/** Reads a CSR for the host (debuggers, tests); undefined if the hart has no such CSR. */
export function hostCsrRead(h: Hart, csr: number): bigint | undefined {
  if (!read(h, csr)) return undefined;
  return (BigInt(h.tmpHi >>> 0) << 32n) | BigInt(h.tmpLo >>> 0);
}
