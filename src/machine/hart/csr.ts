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
import {
  Csr,
  HEDELEG_WRITABLE,
  Hstatus,
  Irq,
  MEDELEG_WRITABLE,
  MISA_HI,
  MISA_LO,
  Mstatus,
  Priv,
} from './csr_defs.ts';
import {
  fpDirty,
  fpOff,
  type Hart,
  I_HGATP,
  I_HIDELEG,
  I_HSTATUS,
  I_HVIP,
  I_MIDELEG,
  I_MIE,
  I_MIP_SW,
  I_MSTATUS,
  I_VSSTATUS,
} from './hart.ts';
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

/** Outcome of a CSR access check. */
const enum Access {
  OK = 0,
  ILLEGAL = 1,
  VIRTUAL = 2,
}

/**
 * May the current mode read counter `bit` (0 cycle, 1 time, 2 instret, 3.. hpm)? mcounteren
 * gates S/U (illegal); when V=1, hcounteren gates VS/VU and scounteren VU (virtual instruction).
 */
function counterAccess(h: Hart, bit: number): Access {
  const S = h.S;
  const priv = S[HS.PRIV]! as Priv;
  if (priv === Priv.M) return Access.OK;
  if (!((S[csrIndex(CsrSlot.MCOUNTEREN)]! >>> bit) & 1)) return Access.ILLEGAL;
  const virt = S[HS.VIRT] === 1;
  if (virt && !((S[csrIndex(CsrSlot.HCOUNTEREN)]! >>> bit) & 1)) return Access.VIRTUAL;
  if (priv === Priv.U && !((S[csrIndex(CsrSlot.SCOUNTEREN)]! >>> bit) & 1)) {
    return virt ? Access.VIRTUAL : Access.ILLEGAL;
  }
  return Access.OK;
}

/** Sets tmpLo/tmpHi to a counter value when allowed; returns the access outcome. */
function counterRead(h: Hart, bit: number, value: number): Access {
  const a = counterAccess(h, bit);
  if (a === Access.OK) setNumber(h, value);
  return a;
}

/** Reads a CSR into tmpLo/tmpHi (the CSR as addressed: no V=1 redirection here). */
function read(h: Hart, csr: number): Access {
  const r = readCsr(h, csr);
  return r === true ? Access.OK : r === false ? Access.ILLEGAL : r;
}

function readCsr(h: Hart, csr: number): boolean | Access {
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
      return counterRead(h, 0, h.instret + h.SF[HC.MCYCLE_OFFSET]!);
    case Csr.mcycle:
      setNumber(h, h.instret + h.SF[HC.MCYCLE_OFFSET]!);
      return true;
    case Csr.instret:
      return counterRead(h, 2, h.instret + h.SF[HC.MINSTRET_OFFSET]!);
    case Csr.minstret:
      setNumber(h, h.instret + h.SF[HC.MINSTRET_OFFSET]!);
      return true;
    case Csr.time: {
      const a = counterAccess(h, 1);
      if (a !== Access.OK) return a;
      // Guests see time + htimedelta (mod 2^64).
      let lo = 0;
      let hi = 0;
      const t = h.clock.mtime();
      lo = t >>> 0;
      hi = Math.floor(t / TWO32) | 0;
      if (S[HS.VIRT]) {
        const d = csrIndex(CsrSlot.HTIMEDELTA);
        const l = (lo + S[d]!) | 0;
        hi = (hi + S[d + 1]! + (l >>> 0 < lo >>> 0 ? 1 : 0)) | 0;
        lo = l;
      }
      h.tmpLo = lo;
      h.tmpHi = hi;
      return true;
    }
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
      if (S[HS.PRIV] === Priv.S && !S[HS.VIRT] && S[I_MSTATUS]! & Mstatus.TVM) return false;
      return (slot(h, CsrSlot.SATP), true);
    // ---- H extension ----
    case Csr.hstatus:
      h.tmpLo = S[I_HSTATUS]! & Hstatus.WRITABLE;
      h.tmpHi = Hstatus.HI_VSXL;
      return true;
    case Csr.hedeleg:
      return (slot(h, CsrSlot.HEDELEG), true);
    case Csr.hideleg:
      return (slot(h, CsrSlot.HIDELEG), true);
    case Csr.hie:
      h.tmpLo = S[I_MIE]! & Irq.VS_ALL;
      h.tmpHi = 0;
      return true;
    case Csr.hip:
      h.tmpLo = h.mip() & Irq.VS_ALL;
      h.tmpHi = 0;
      return true;
    case Csr.hvip:
      h.tmpLo = S[I_HVIP]! & Irq.VS_ALL;
      h.tmpHi = 0;
      return true;
    case Csr.hcounteren:
      return (slot(h, CsrSlot.HCOUNTEREN), true);
    case Csr.hgeie:
    case Csr.hgeip:
      h.tmpLo = 0; // GEILEN = 0
      h.tmpHi = 0;
      return true;
    case Csr.htval:
      return (slot(h, CsrSlot.HTVAL), true);
    case Csr.htinst:
      return (slot(h, CsrSlot.HTINST), true);
    case Csr.hgatp:
      if (S[HS.PRIV] === Priv.S && S[I_MSTATUS]! & Mstatus.TVM) return false;
      return (slot(h, CsrSlot.HGATP), true);
    case Csr.henvcfg:
      return (slot(h, CsrSlot.HENVCFG), true);
    case Csr.htimedelta:
      return (slot(h, CsrSlot.HTIMEDELTA), true);
    case Csr.vsstatus: {
      const lo = S[I_VSSTATUS]! & Mstatus.SSTATUS;
      h.tmpLo = lo;
      h.tmpHi = (Mstatus.HI_XL & 3) | ((lo & Mstatus.FS) === Mstatus.FS ? 0x80000000 | 0 : 0);
      return true;
    }
    case Csr.vsie:
      h.tmpLo = (S[I_MIE]! & S[I_HIDELEG]! & Irq.VS_ALL) >>> 1;
      h.tmpHi = 0;
      return true;
    case Csr.vsip:
      h.tmpLo = (h.mip() & S[I_HIDELEG]! & Irq.VS_ALL) >>> 1;
      h.tmpHi = 0;
      return true;
    case Csr.vstvec:
      return (slot(h, CsrSlot.VSTVEC), true);
    case Csr.vsscratch:
      return (slot(h, CsrSlot.VSSCRATCH), true);
    case Csr.vsepc:
      return (slot(h, CsrSlot.VSEPC), true);
    case Csr.vscause:
      return (slot(h, CsrSlot.VSCAUSE), true);
    case Csr.vstval:
      return (slot(h, CsrSlot.VSTVAL), true);
    case Csr.vsatp:
      return (slot(h, CsrSlot.VSATP), true);
    case Csr.mtval2:
      return (slot(h, CsrSlot.MTVAL2), true);
    case Csr.mtinst:
      return (slot(h, CsrSlot.MTINST), true);
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
      h.tmpHi = mstatusHi(lo) | (S[I_MSTATUS + 1]! & (Mstatus.HI_MPV | Mstatus.HI_GVA));
      return true;
    }
    case Csr.misa:
      h.tmpLo = MISA_LO;
      h.tmpHi = MISA_HI;
      return true;
    case Csr.medeleg:
      return (slot(h, CsrSlot.MEDELEG), true);
    case Csr.mideleg:
      h.tmpLo = S[I_MIDELEG]! | Irq.VS_ALL; // VS-level interrupts: read-only one
      h.tmpHi = 0;
      return true;
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
  if (csr >= Csr.hpmcounter3 && csr <= Csr.hpmcounter31) return counterRead(h, csr - Csr.cycle, 0);
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
      S[I_MSTATUS + 1] = hi & (Mstatus.HI_MPV | Mstatus.HI_GVA);
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
      writeSlot(h, CsrSlot.MIE, lo & (Irq.ALL | Irq.VS_ALL), 0);
      h.irqCheck = true;
      break;
    case Csr.mip:
      S[I_MIP_SW] = lo & Irq.S_ALL;
      S[I_HVIP] = (S[I_HVIP]! & ~Irq.VSSIP) | (lo & Irq.VSSIP); // mip.VSSIP aliases hvip.VSSIP
      h.irqCheck = true;
      break;
    // ---- H extension ----
    case Csr.hstatus:
      S[I_HSTATUS] = lo & Hstatus.WRITABLE;
      break;
    case Csr.hedeleg:
      writeSlot(h, CsrSlot.HEDELEG, lo & HEDELEG_WRITABLE, 0);
      break;
    case Csr.hideleg:
      writeSlot(h, CsrSlot.HIDELEG, lo & Irq.VS_ALL, 0);
      h.irqCheck = true;
      break;
    case Csr.hie:
      S[I_MIE] = (S[I_MIE]! & ~Irq.VS_ALL) | (lo & Irq.VS_ALL);
      h.irqCheck = true;
      break;
    case Csr.hip:
      S[I_HVIP] = (S[I_HVIP]! & ~Irq.VSSIP) | (lo & Irq.VSSIP);
      h.irqCheck = true;
      break;
    case Csr.hvip:
      S[I_HVIP] = lo & Irq.VS_ALL;
      h.irqCheck = true;
      break;
    case Csr.hcounteren:
      writeSlot(h, CsrSlot.HCOUNTEREN, lo, 0);
      break;
    case Csr.hgeie:
      break; // GEILEN = 0
    case Csr.htval:
      writeSlot(h, CsrSlot.HTVAL, lo, hi);
      break;
    case Csr.htinst:
      writeSlot(h, CsrSlot.HTINST, lo, hi);
      break;
    case Csr.hgatp: {
      // Modes Bare, Sv39x4, Sv48x4; another MODE keeps the old one (WARL). VMIDLEN = 0, and
      // PPN[1:0] read as zero (the root table is 16 KiB-aligned).
      let mode = hi >>> 28;
      if (mode !== 0 && mode !== 8 && mode !== 9) mode = S[I_HGATP + 1]! >>> 28;
      writeSlot(h, CsrSlot.HGATP, lo & ~3, (mode << 28) | (hi & 0xfff));
      h.flushGStage();
      break;
    }
    case Csr.henvcfg:
      writeSlot(h, CsrSlot.HENVCFG, lo & 1, 0);
      break;
    case Csr.htimedelta:
      writeSlot(h, CsrSlot.HTIMEDELTA, lo, hi);
      break;
    case Csr.vsstatus: {
      const old = S[I_VSSTATUS]!;
      const v = (old & ~Mstatus.SSTATUS) | (lo & Mstatus.SSTATUS);
      S[I_VSSTATUS] = v;
      if ((old ^ v) & Mstatus.MXR) h.flushTlb(false);
      h.updateModes();
      h.irqCheck = true;
      break;
    }
    case Csr.vsie: {
      const d = S[I_HIDELEG]! & Irq.VS_ALL;
      S[I_MIE] = (S[I_MIE]! & ~d) | ((lo << 1) & d);
      h.irqCheck = true;
      break;
    }
    case Csr.vsip: {
      const d = S[I_HIDELEG]! & Irq.VSSIP;
      S[I_HVIP] = (S[I_HVIP]! & ~d) | ((lo << 1) & d);
      h.irqCheck = true;
      break;
    }
    case Csr.vstvec:
      writeSlot(h, CsrSlot.VSTVEC, lo & ~2, hi);
      break;
    case Csr.vsscratch:
      writeSlot(h, CsrSlot.VSSCRATCH, lo, hi);
      break;
    case Csr.vsepc:
      writeSlot(h, CsrSlot.VSEPC, lo & ~1, hi);
      break;
    case Csr.vscause:
      writeSlot(h, CsrSlot.VSCAUSE, lo, hi);
      break;
    case Csr.vstval:
      writeSlot(h, CsrSlot.VSTVAL, lo, hi);
      break;
    case Csr.vsatp: {
      const mode = hi >>> 28;
      if (mode !== 0 && mode !== 8 && mode !== 9) break; // unsupported MODE: ignored
      writeSlot(h, CsrSlot.VSATP, lo, hi & 0xf0000fff);
      h.flushTlb(false);
      h.updateModes();
      break;
    }
    case Csr.mtval2:
      writeSlot(h, CsrSlot.MTVAL2, lo, hi);
      break;
    case Csr.mtinst:
      writeSlot(h, CsrSlot.MTINST, lo, hi);
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
  csrNum: number,
  srcLo: number,
  srcHi: number,
  hasSrc: boolean,
  wantRead: boolean,
): boolean {
  const S = h.S;
  const priv = S[HS.PRIV]! as number;
  const virt = S[HS.VIRT] === 1;
  const level = (csrNum >>> 8) & 3;
  const writes = op === CsrOp.RW || hasSrc;
  let csr = csrNum;
  // Writing a read-only CSR is never allowed, in HS-mode either: illegal, even when V=1.
  if (writes && csrNum >>> 10 === 3) return h.illegal();
  if (!virt) {
    // Hypervisor and VS CSRs (level 2) need HS-mode or M-mode.
    if (level === 2 ? priv < Priv.S : level > priv) return h.illegal();
  } else {
    if (level === 3) return h.illegal();
    // An existing H/VS CSR (any mode) or S CSR (from VU) that HS-mode could use: virtual instruction.
    if (level === 2 || (level === 1 && priv === Priv.U))
      return csrExists(h, csrNum) ? h.virtualInsn() : h.illegal();
    if (level === 1) {
      // VS-mode: the VS CSRs stand in for their supervisor counterparts.
      const vs = VS_OF_S[csrNum];
      if (vs !== undefined) {
        if (csrNum === Csr.satp && S[I_HSTATUS]! & Hstatus.VTVM) return h.virtualInsn();
        csr = vs;
      }
    }
  }
  const isFp = csr >= Csr.fflags && csr <= Csr.fcsr;
  if (isFp && fpOff(S)) return h.illegal();
  const a = read(h, csr);
  if (a !== Access.OK) return a === Access.VIRTUAL ? h.virtualInsn() : h.illegal();
  void wantRead; // existence and privilege checks apply even when rd = x0 makes the read unused
  const oldLo = h.tmpLo;
  const oldHi = h.tmpHi;
  if (writes) {
    let lo = srcLo;
    let hi = srcHi;
    // mip.SEIP reads as the software bit OR the PLIC's line, but only the software bit takes
    // part in a csrrs/csrrc read-modify-write (privileged spec 3.1.9); otherwise setting STIP
    // while the line is high would latch SEIP on for good.
    const rmwLo = csr === Csr.mip ? (oldLo & ~Irq.SEIP) | (S[I_MIP_SW]! & Irq.SEIP) : oldLo;
    if (op === CsrOp.RS) {
      lo = rmwLo | srcLo;
      hi = oldHi | srcHi;
    } else if (op === CsrOp.RC) {
      lo = rmwLo & ~srcLo;
      hi = oldHi & ~srcHi;
    }
    write(h, csr, lo, hi);
    if (isFp) fpDirty(S);
  }
  h.tmpLo = oldLo;
  h.tmpHi = oldHi;
  return true;
}

/** The VS CSR that a supervisor CSR access reaches when V=1. */
const VS_OF_S: Record<number, number> = {
  [Csr.sstatus]: Csr.vsstatus,
  [Csr.sie]: Csr.vsie,
  [Csr.stvec]: Csr.vstvec,
  [Csr.sscratch]: Csr.vsscratch,
  [Csr.sepc]: Csr.vsepc,
  [Csr.scause]: Csr.vscause,
  [Csr.stval]: Csr.vstval,
  [Csr.sip]: Csr.vsip,
  [Csr.satp]: Csr.vsatp,
};

/** Does the hart implement `csr` (as M-mode would see it)? */
function csrExists(h: Hart, csr: number): boolean {
  const S = h.S;
  const priv = S[HS.PRIV]!;
  const virt = S[HS.VIRT]!;
  S[HS.PRIV] = Priv.M;
  S[HS.VIRT] = 0;
  const ok = readCsr(h, csr) === true;
  S[HS.PRIV] = priv;
  S[HS.VIRT] = virt;
  return ok;
}

/**
 * Writes a CSR on behalf of the host (board setup, tests, restore): no privilege checks, but
 * the same WARL legalization and side effects as an instruction would have.
 */
export function hostCsrWrite(h: Hart, csr: number, value: bigint): void {
  // fflags (and fcsr) live in fexc.flags only while the interpreter runs; between runs the
  // hart's own copy is its state block's, which run() loads and stores.
  const S = h.S;
  fexc.flags = S[HS.FFLAGS]!;
  write(h, csr, Number(BigInt.asIntN(32, value)), Number(BigInt.asIntN(32, value >> 32n)));
  S[HS.FFLAGS] = fexc.flags;
}

/** Reads a CSR for the host (debuggers, tests); undefined if the hart has no such CSR. */
export function hostCsrRead(h: Hart, csr: number): bigint | undefined {
  fexc.flags = h.S[HS.FFLAGS]!;
  if (read(h, csr) !== Access.OK) return undefined;
  return (BigInt(h.tmpHi >>> 0) << 32n) | BigInt(h.tmpLo >>> 0);
}
