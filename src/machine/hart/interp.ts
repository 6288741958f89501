/**
 * The interpreter: runs a hart for up to `budget` instructions and returns how many ran.
 *
 * Shape (TinyEMU/v86 style, C-like on purpose): an outer loop that takes pending interrupts
 * and translates pc to a RAM page through the fetch TLB, and an inner loop that executes
 * decoded instructions from that page's decoded-instruction array (code_cache.ts), decoding
 * slots on first use. The inner loop continues across sequential instructions and branches
 * that stay in the page; anything that may change the translation regime, interrupt state or
 * the page's code (traps, CSR writes, xRET, fences, slow-path stores) goes back to the outer
 * loop. Interrupts are therefore taken at those points and at slice boundaries.
 *
 * Registers are int32 halves in the hart block; loads and stores hit the soft TLB (one tag
 * compare and an add) or go to mmu.ts. Floating-point arithmetic is in fp_exec.ts.
 */
import { decode16, decode32, decoded } from '../isa/decode.ts';
import { Op } from '../isa/op.ts';
import { fexc } from '../fpu/fpu.ts';
import { Cause, Mstatus, Priv } from './csr_defs.ts';
import { csrInsn, type CsrOp } from './csr.ts';
import { fpExec } from './fp_exec.ts';
import { type Hart, I_MSTATUS } from './hart.ts';
import { r as R64, div64, divu64, mul64, mulh64, mulhsu64, mulhu64 } from './int64.ts';
import { HC, HS, TLB_MASK } from './layout.ts';
import { amoOffset, fetchInsnSlow, fetchPage, loadSlow, storeSlow } from './mmu.ts';

/** A one-instruction "page" for an instruction that straddles two pages (slot of offset 0xffe). */
const crossPage = new Int32Array(4096);
const CROSS_SLOT = 2047 * 2;

export function run(h: Hart, budget: number): number {
  const S = h.S;
  const X = h.X;
  const FI = h.FI;
  const mem = h.mem;
  const M8 = mem.u8;
  const M16 = mem.u16;
  const M32 = mem.i32;
  const ramOffset = mem.ramOffset;
  const code = h.code;
  let n = 0;
  fexc.flags = S[HS.FFLAGS]!;

  outer: for (;;) {
    if (h.irqCheck) {
      h.irqCheck = false;
      h.bus.touched = false;
      h.takeInterrupt();
    }
    if (h.yieldRequest || S[HS.WFI]) break;
    if (n >= budget) break;
    let pcLo = S[HS.PC_LO]!;
    let pcHi = S[HS.PC_HI]!;
    const ft = h.fetchSet + (((pcLo >>> 12) & TLB_MASK) << 2);
    let ramPage: number;
    if (S[ft] === (pcLo & -4096) && S[ft + 1] === pcHi) {
      ramPage = (S[ft + 2]! - ramOffset) >>> 12;
    } else {
      ramPage = fetchPage(h, pcLo, pcHi);
      if (ramPage < 0) continue;
    }
    let page = code.page(ramPage);
    const pageOff = ramOffset + ramPage * 4096;
    const ldSet = h.loadSet;
    const stSet = h.storeSet;

    for (;;) {
      if (n >= budget) {
        S[HS.PC_LO] = pcLo;
        S[HS.PC_HI] = pcHi;
        break outer;
      }
      let slot = ((pcLo & 4095) >>> 1) << 1;
      let w = page[slot]!;
      if (w === 0) {
        const off = pageOff + (pcLo & 4095);
        const low = M16[off >>> 1]!;
        if ((low & 3) !== 3) {
          decode16(low);
        } else if ((pcLo & 4095) === 4094) {
          // Straddles two pages: fetch both halves through the MMU every time.
          S[HS.PC_LO] = pcLo;
          S[HS.PC_HI] = pcHi;
          const insn = fetchInsnSlow(h, pcLo, pcHi);
          if (insn === undefined) continue outer;
          decode32(insn);
          crossPage[CROSS_SLOT] = decoded.word;
          crossPage[CROSS_SLOT + 1] = decoded.imm;
          page = crossPage;
          slot = CROSS_SLOT;
          w = decoded.word;
        } else {
          decode32(low | (M16[(off >>> 1) + 1]! << 16));
        }
        if (page !== crossPage) {
          page[slot] = decoded.word;
          page[slot + 1] = decoded.imm;
          w = decoded.word;
        }
      }
      const imm = page[slot + 1]!;
      const len = 4 - ((w >>> 29) & 2);
      const d = (w >>> 8) & 126;
      const a = (w >>> 14) & 62;
      const b = (w >>> 19) & 62;
      n++;
      switch (w & 511) {
        // ---- integer register-immediate ----------------------------------------------------
        case Op.ADDI: {
          const al = X[a]!;
          const lo = (al + imm) | 0;
          X[d + 1] = (X[a + 1]! + (imm >> 31) + (lo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          X[d] = lo;
          break;
        }
        case Op.SLTI: {
          const ah = X[a + 1]!;
          const ih = imm >> 31;
          X[d] = ah < ih || (ah === ih && X[a]! >>> 0 < imm >>> 0) ? 1 : 0;
          X[d + 1] = 0;
          break;
        }
        case Op.SLTIU: {
          const ah = X[a + 1]! >>> 0;
          const ih = (imm >> 31) >>> 0;
          X[d] = ah < ih || (ah === ih && X[a]! >>> 0 < imm >>> 0) ? 1 : 0;
          X[d + 1] = 0;
          break;
        }
        case Op.XORI:
          X[d + 1] = X[a + 1]! ^ (imm >> 31);
          X[d] = X[a]! ^ imm;
          break;
        case Op.ORI:
          X[d + 1] = X[a + 1]! | (imm >> 31);
          X[d] = X[a]! | imm;
          break;
        case Op.ANDI:
          X[d + 1] = X[a + 1]! & (imm >> 31);
          X[d] = X[a]! & imm;
          break;
        case Op.SLLI: {
          const al = X[a]!;
          const ah = X[a + 1]!;
          if (imm === 0) {
            X[d] = al;
            X[d + 1] = ah;
          } else if (imm < 32) {
            X[d + 1] = (ah << imm) | (al >>> (32 - imm));
            X[d] = al << imm;
          } else {
            X[d + 1] = al << (imm - 32);
            X[d] = 0;
          }
          break;
        }
        case Op.SRLI: {
          const al = X[a]!;
          const ah = X[a + 1]!;
          if (imm === 0) {
            X[d] = al;
            X[d + 1] = ah;
          } else if (imm < 32) {
            X[d] = (al >>> imm) | (ah << (32 - imm));
            X[d + 1] = ah >>> imm;
          } else {
            X[d] = ah >>> (imm - 32);
            X[d + 1] = 0;
          }
          break;
        }
        case Op.SRAI: {
          const al = X[a]!;
          const ah = X[a + 1]!;
          if (imm === 0) {
            X[d] = al;
            X[d + 1] = ah;
          } else if (imm < 32) {
            X[d] = (al >>> imm) | (ah << (32 - imm));
            X[d + 1] = ah >> imm;
          } else {
            X[d] = ah >> (imm - 32);
            X[d + 1] = ah >> 31;
          }
          break;
        }
        case Op.LUI:
          X[d] = imm;
          X[d + 1] = imm >> 31;
          break;
        case Op.AUIPC: {
          const lo = (pcLo + imm) | 0;
          X[d + 1] = (pcHi + (imm >> 31) + (lo >>> 0 < pcLo >>> 0 ? 1 : 0)) | 0;
          X[d] = lo;
          break;
        }
        case Op.ADDIW: {
          const v = (X[a]! + imm) | 0;
          X[d] = v;
          X[d + 1] = v >> 31;
          break;
        }
        case Op.SLLIW: {
          const v = X[a]! << imm;
          X[d] = v;
          X[d + 1] = v >> 31;
          break;
        }
        case Op.SRLIW: {
          const v = (X[a]! >>> imm) | 0;
          X[d] = v;
          X[d + 1] = v >> 31;
          break;
        }
        case Op.SRAIW: {
          const v = X[a]! >> imm;
          X[d] = v;
          X[d + 1] = v >> 31;
          break;
        }

        // ---- integer register-register ---------------------------------------------------------
        case Op.ADD: {
          const al = X[a]!;
          const lo = (al + X[b]!) | 0;
          X[d + 1] = (X[a + 1]! + X[b + 1]! + (lo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          X[d] = lo;
          break;
        }
        case Op.SUB: {
          const al = X[a]!;
          const bl = X[b]!;
          X[d + 1] = (X[a + 1]! - X[b + 1]! - (al >>> 0 < bl >>> 0 ? 1 : 0)) | 0;
          X[d] = (al - bl) | 0;
          break;
        }
        case Op.SLL:
        case Op.SRL:
        case Op.SRA: {
          const s = X[b]! & 63;
          const al = X[a]!;
          const ah = X[a + 1]!;
          const op = w & 511;
          if (s === 0) {
            X[d] = al;
            X[d + 1] = ah;
          } else if (op === Op.SLL) {
            if (s < 32) {
              X[d + 1] = (ah << s) | (al >>> (32 - s));
              X[d] = al << s;
            } else {
              X[d + 1] = al << (s - 32);
              X[d] = 0;
            }
          } else if (s < 32) {
            X[d] = (al >>> s) | (ah << (32 - s));
            X[d + 1] = op === Op.SRL ? ah >>> s : ah >> s;
          } else {
            X[d] = op === Op.SRL ? ah >>> (s - 32) : ah >> (s - 32);
            X[d + 1] = op === Op.SRL ? 0 : ah >> 31;
          }
          break;
        }
        case Op.SLT: {
          const ah = X[a + 1]!;
          const bh = X[b + 1]!;
          X[d] = ah < bh || (ah === bh && X[a]! >>> 0 < X[b]! >>> 0) ? 1 : 0;
          X[d + 1] = 0;
          break;
        }
        case Op.SLTU: {
          const ah = X[a + 1]! >>> 0;
          const bh = X[b + 1]! >>> 0;
          X[d] = ah < bh || (ah === bh && X[a]! >>> 0 < X[b]! >>> 0) ? 1 : 0;
          X[d + 1] = 0;
          break;
        }
        case Op.XOR:
          X[d + 1] = X[a + 1]! ^ X[b + 1]!;
          X[d] = X[a]! ^ X[b]!;
          break;
        case Op.OR:
          X[d + 1] = X[a + 1]! | X[b + 1]!;
          X[d] = X[a]! | X[b]!;
          break;
        case Op.AND:
          X[d + 1] = X[a + 1]! & X[b + 1]!;
          X[d] = X[a]! & X[b]!;
          break;
        case Op.ADDW: {
          const v = (X[a]! + X[b]!) | 0;
          X[d] = v;
          X[d + 1] = v >> 31;
          break;
        }
        case Op.SUBW: {
          const v = (X[a]! - X[b]!) | 0;
          X[d] = v;
          X[d + 1] = v >> 31;
          break;
        }
        case Op.SLLW: {
          const v = X[a]! << (X[b]! & 31);
          X[d] = v;
          X[d + 1] = v >> 31;
          break;
        }
        case Op.SRLW: {
          const v = (X[a]! >>> (X[b]! & 31)) | 0;
          X[d] = v;
          X[d + 1] = v >> 31;
          break;
        }
        case Op.SRAW: {
          const v = X[a]! >> (X[b]! & 31);
          X[d] = v;
          X[d + 1] = v >> 31;
          break;
        }

        // ---- M ------------------------------------------------------------------------------
        case Op.MUL:
          mul64(X[a]!, X[a + 1]!, X[b]!, X[b + 1]!);
          X[d] = R64.lo;
          X[d + 1] = R64.hi;
          break;
        case Op.MULH:
          mulh64(X[a]!, X[a + 1]!, X[b]!, X[b + 1]!);
          X[d] = R64.lo;
          X[d + 1] = R64.hi;
          break;
        case Op.MULHSU:
          mulhsu64(X[a]!, X[a + 1]!, X[b]!, X[b + 1]!);
          X[d] = R64.lo;
          X[d + 1] = R64.hi;
          break;
        case Op.MULHU:
          mulhu64(X[a]!, X[a + 1]!, X[b]!, X[b + 1]!);
          X[d] = R64.lo;
          X[d + 1] = R64.hi;
          break;
        case Op.DIV:
        case Op.REM:
          div64(X[a]!, X[a + 1]!, X[b]!, X[b + 1]!, (w & 511) === Op.REM);
          X[d] = R64.lo;
          X[d + 1] = R64.hi;
          break;
        case Op.DIVU:
        case Op.REMU:
          divu64(X[a]!, X[a + 1]!, X[b]!, X[b + 1]!, (w & 511) === Op.REMU);
          X[d] = R64.lo;
          X[d + 1] = R64.hi;
          break;
        case Op.MULW: {
          const v = Math.imul(X[a]!, X[b]!);
          X[d] = v;
          X[d + 1] = v >> 31;
          break;
        }
        case Op.DIVW: {
          const x = X[a]!;
          const y = X[b]!;
          const v = y === 0 ? -1 : y === -1 && x === (0x80000000 | 0) ? x : (x / y) | 0;
          X[d] = v;
          X[d + 1] = v >> 31;
          break;
        }
        case Op.DIVUW: {
          const x = X[a]! >>> 0;
          const y = X[b]! >>> 0;
          const v = y === 0 ? -1 : (x / y) | 0;
          X[d] = v;
          X[d + 1] = v >> 31;
          break;
        }
        case Op.REMW: {
          const x = X[a]!;
          const y = X[b]!;
          const v = y === 0 ? x : y === -1 ? 0 : (x % y) | 0;
          X[d] = v;
          X[d + 1] = v >> 31;
          break;
        }
        case Op.REMUW: {
          const x = X[a]! >>> 0;
          const y = X[b]! >>> 0;
          const v = y === 0 ? x | 0 : (x % y) | 0;
          X[d] = v;
          X[d + 1] = v >> 31;
          break;
        }

        // ---- loads -----------------------------------------------------------------------
        case Op.LB:
        case Op.LH:
        case Op.LW:
        case Op.LD:
        case Op.LBU:
        case Op.LHU:
        case Op.LWU:
        case Op.FLW:
        case Op.FLD: {
          const op = w & 511;
          const al = X[a]!;
          const vaLo = (al + imm) | 0;
          const vaHi = (X[a + 1]! + (imm >> 31) + (vaLo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          const size =
            op === Op.LD || op === Op.FLD
              ? 8
              : op === Op.LW || op === Op.LWU || op === Op.FLW
                ? 4
                : op === Op.LB || op === Op.LBU
                  ? 1
                  : 2;
          const t = ldSet + (((vaLo >>> 12) & TLB_MASK) << 2);
          let lo: number;
          let hi: number;
          if (S[t] === (vaLo & -4096) && S[t + 1] === vaHi && (vaLo & (size - 1)) === 0) {
            const off = S[t + 2]! + (vaLo & 4095);
            if (size === 8) {
              lo = M32[off >>> 2]!;
              hi = M32[(off >>> 2) + 1]!;
            } else if (size === 4) {
              lo = M32[off >>> 2]!;
              hi = 0;
            } else if (size === 2) {
              lo = M16[off >>> 1]!;
              hi = 0;
            } else {
              lo = M8[off >>> 0]!;
              hi = 0;
            }
          } else {
            S[HS.PC_LO] = pcLo;
            S[HS.PC_HI] = pcHi;
            if (!loadSlow(h, vaLo, vaHi, size)) {
              n--;
              continue outer;
            }
            lo = h.tmpLo;
            hi = h.tmpHi;
          }
          switch (op) {
            case Op.LB:
              lo = (lo << 24) >> 24;
              hi = lo >> 31;
              break;
            case Op.LH:
              lo = (lo << 16) >> 16;
              hi = lo >> 31;
              break;
            case Op.LW:
              hi = lo >> 31;
              break;
            case Op.FLW: {
              const ms = S[I_MSTATUS]!;
              if ((ms & Mstatus.FS) === 0) {
                S[HS.PC_LO] = pcLo;
                S[HS.PC_HI] = pcHi;
                h.illegal();
                n--;
                continue outer;
              }
              S[I_MSTATUS] = ms | Mstatus.FS;
              FI[d] = lo; // rd is an f register here (the decoder remaps only integer x0)
              FI[d + 1] = -1; // NaN-box
              break;
            }
            case Op.FLD: {
              const ms = S[I_MSTATUS]!;
              if ((ms & Mstatus.FS) === 0) {
                S[HS.PC_LO] = pcLo;
                S[HS.PC_HI] = pcHi;
                h.illegal();
                n--;
                continue outer;
              }
              S[I_MSTATUS] = ms | Mstatus.FS;
              FI[d] = lo;
              FI[d + 1] = hi;
              break;
            }
          }
          if (op !== Op.FLW && op !== Op.FLD) {
            X[d] = lo;
            X[d + 1] = hi;
          }
          break;
        }

        // ---- stores ----------------------------------------------------------------------
        case Op.SB:
        case Op.SH:
        case Op.SW:
        case Op.SD:
        case Op.FSW:
        case Op.FSD: {
          const op = w & 511;
          const al = X[a]!;
          const vaLo = (al + imm) | 0;
          const vaHi = (X[a + 1]! + (imm >> 31) + (vaLo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          let lo: number;
          let hi: number;
          if (op === Op.FSW || op === Op.FSD) {
            if ((S[I_MSTATUS]! & Mstatus.FS) === 0) {
              S[HS.PC_LO] = pcLo;
              S[HS.PC_HI] = pcHi;
              h.illegal();
              n--;
              continue outer;
            }
            lo = FI[b]!;
            hi = FI[b + 1]!;
          } else {
            lo = X[b]!;
            hi = X[b + 1]!;
          }
          const size =
            op === Op.SD || op === Op.FSD ? 8 : op === Op.SW || op === Op.FSW ? 4 : op === Op.SH ? 2 : 1;
          const t = stSet + (((vaLo >>> 12) & TLB_MASK) << 2);
          if (S[t] === (vaLo & -4096) && S[t + 1] === vaHi && (vaLo & (size - 1)) === 0) {
            const off = S[t + 2]! + (vaLo & 4095);
            if (size === 8) {
              M32[off >>> 2] = lo;
              M32[(off >>> 2) + 1] = hi;
            } else if (size === 4) M32[off >>> 2] = lo;
            else if (size === 2) M16[off >>> 1] = lo;
            else M8[off >>> 0] = lo;
          } else {
            S[HS.PC_LO] = pcLo;
            S[HS.PC_HI] = pcHi;
            if (!storeSlow(h, vaLo, vaHi, size, lo, hi)) {
              n--;
              continue outer;
            }
            // The store may have invalidated decoded code (even this page) or touched a device.
            pcLo = (pcLo + len) | 0;
            if (pcLo >>> 0 < len) pcHi = (pcHi + 1) | 0;
            S[HS.PC_LO] = pcLo;
            S[HS.PC_HI] = pcHi;
            continue outer;
          }
          break;
        }

        // ---- atomics -----------------------------------------------------------------------
        case Op.LR_W:
        case Op.LR_D: {
          const size = (w & 511) === Op.LR_W ? 4 : 8;
          S[HS.PC_LO] = pcLo;
          S[HS.PC_HI] = pcHi;
          const off = amoOffset(h, X[a]!, X[a + 1]!, size, true);
          if (off < 0) {
            n--;
            continue outer;
          }
          const lo = M32[off >>> 2]!;
          X[d + 1] = size === 4 ? lo >> 31 : M32[(off >>> 2) + 1]!;
          X[d] = lo;
          S[HS.RES_VALID] = 1;
          S[HS.RES_ADDR_LO] = h.pa | 0;
          S[HS.RES_ADDR_HI] = Math.floor(h.pa / 4294967296);
          break;
        }
        case Op.SC_W:
        case Op.SC_D: {
          const size = (w & 511) === Op.SC_W ? 4 : 8;
          S[HS.PC_LO] = pcLo;
          S[HS.PC_HI] = pcHi;
          const off = amoOffset(h, X[a]!, X[a + 1]!, size, false);
          if (off < 0) {
            n--;
            continue outer;
          }
          const ok =
            S[HS.RES_VALID] === 1 &&
            S[HS.RES_ADDR_LO] === (h.pa | 0) &&
            S[HS.RES_ADDR_HI] === Math.floor(h.pa / 4294967296);
          S[HS.RES_VALID] = 0;
          if (ok) {
            M32[off >>> 2] = X[b]!;
            if (size === 8) M32[(off >>> 2) + 1] = X[b + 1]!;
          }
          X[d] = ok ? 0 : 1;
          X[d + 1] = 0;
          if (!code.isCurrent(ramPage, page)) {
            pcLo = (pcLo + len) | 0;
            if (pcLo >>> 0 < len) pcHi = (pcHi + 1) | 0;
            S[HS.PC_LO] = pcLo;
            S[HS.PC_HI] = pcHi;
            continue outer;
          }
          break;
        }
        case Op.AMOSWAP_W:
        case Op.AMOADD_W:
        case Op.AMOXOR_W:
        case Op.AMOAND_W:
        case Op.AMOOR_W:
        case Op.AMOMIN_W:
        case Op.AMOMAX_W:
        case Op.AMOMINU_W:
        case Op.AMOMAXU_W: {
          const vaLo = X[a]!;
          const vaHi = X[a + 1]!;
          const t = stSet + (((vaLo >>> 12) & TLB_MASK) << 2);
          let off: number;
          if (S[t] === (vaLo & -4096) && S[t + 1] === vaHi && (vaLo & 3) === 0) {
            off = S[t + 2]! + (vaLo & 4095);
          } else {
            S[HS.PC_LO] = pcLo;
            S[HS.PC_HI] = pcHi;
            off = amoOffset(h, vaLo, vaHi, 4, false);
            if (off < 0) {
              n--;
              continue outer;
            }
          }
          const i = off >>> 2;
          const old = M32[i]!;
          const src = X[b]!;
          let v: number;
          switch (w & 511) {
            case Op.AMOSWAP_W:
              v = src;
              break;
            case Op.AMOADD_W:
              v = (old + src) | 0;
              break;
            case Op.AMOXOR_W:
              v = old ^ src;
              break;
            case Op.AMOAND_W:
              v = old & src;
              break;
            case Op.AMOOR_W:
              v = old | src;
              break;
            case Op.AMOMIN_W:
              v = old < src ? old : src;
              break;
            case Op.AMOMAX_W:
              v = old > src ? old : src;
              break;
            case Op.AMOMINU_W:
              v = old >>> 0 < src >>> 0 ? old : src;
              break;
            default:
              v = old >>> 0 > src >>> 0 ? old : src;
              break;
          }
          M32[i] = v;
          X[d] = old;
          X[d + 1] = old >> 31;
          if (!code.isCurrent(ramPage, page)) {
            pcLo = (pcLo + len) | 0;
            if (pcLo >>> 0 < len) pcHi = (pcHi + 1) | 0;
            S[HS.PC_LO] = pcLo;
            S[HS.PC_HI] = pcHi;
            continue outer;
          }
          break;
        }
        case Op.AMOSWAP_D:
        case Op.AMOADD_D:
        case Op.AMOXOR_D:
        case Op.AMOAND_D:
        case Op.AMOOR_D:
        case Op.AMOMIN_D:
        case Op.AMOMAX_D:
        case Op.AMOMINU_D:
        case Op.AMOMAXU_D: {
          const vaLo = X[a]!;
          const vaHi = X[a + 1]!;
          const t = stSet + (((vaLo >>> 12) & TLB_MASK) << 2);
          let off: number;
          if (S[t] === (vaLo & -4096) && S[t + 1] === vaHi && (vaLo & 7) === 0) {
            off = S[t + 2]! + (vaLo & 4095);
          } else {
            S[HS.PC_LO] = pcLo;
            S[HS.PC_HI] = pcHi;
            off = amoOffset(h, vaLo, vaHi, 8, false);
            if (off < 0) {
              n--;
              continue outer;
            }
          }
          const i = off >>> 2;
          const ol = M32[i]!;
          const oh = M32[i + 1]!;
          const sl = X[b]!;
          const sh = X[b + 1]!;
          let vl: number;
          let vh: number;
          switch (w & 511) {
            case Op.AMOSWAP_D:
              vl = sl;
              vh = sh;
              break;
            case Op.AMOADD_D: {
              vl = (ol + sl) | 0;
              vh = (oh + sh + (vl >>> 0 < ol >>> 0 ? 1 : 0)) | 0;
              break;
            }
            case Op.AMOXOR_D:
              vl = ol ^ sl;
              vh = oh ^ sh;
              break;
            case Op.AMOAND_D:
              vl = ol & sl;
              vh = oh & sh;
              break;
            case Op.AMOOR_D:
              vl = ol | sl;
              vh = oh | sh;
              break;
            default: {
              const op = w & 511;
              const signed = op === Op.AMOMIN_D || op === Op.AMOMAX_D;
              const oH = signed ? oh : oh >>> 0;
              const sH = signed ? sh : sh >>> 0;
              const oldLess = oH < sH || (oH === sH && ol >>> 0 < sl >>> 0);
              const takeOld = op === Op.AMOMIN_D || op === Op.AMOMINU_D ? oldLess : !oldLess;
              vl = takeOld ? ol : sl;
              vh = takeOld ? oh : sh;
            }
          }
          M32[i] = vl;
          M32[i + 1] = vh;
          X[d] = ol;
          X[d + 1] = oh;
          if (!code.isCurrent(ramPage, page)) {
            pcLo = (pcLo + len) | 0;
            if (pcLo >>> 0 < len) pcHi = (pcHi + 1) | 0;
            S[HS.PC_LO] = pcLo;
            S[HS.PC_HI] = pcHi;
            continue outer;
          }
          break;
        }

        // ---- control transfer ----------------------------------------------------------------
        case Op.JAL:
        case Op.JALR: {
          const retLo = (pcLo + len) | 0;
          const retHi = retLo >>> 0 < pcLo >>> 0 ? (pcHi + 1) | 0 : pcHi;
          let tLo: number;
          let tHi: number;
          if ((w & 511) === Op.JAL) {
            tLo = (pcLo + imm) | 0;
            tHi = (pcHi + (imm >> 31) + (tLo >>> 0 < pcLo >>> 0 ? 1 : 0)) | 0;
          } else {
            const al = X[a]!;
            tLo = (al + imm) | 0;
            tHi = (X[a + 1]! + (imm >> 31) + (tLo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
            tLo &= ~1;
          }
          X[d] = retLo;
          X[d + 1] = retHi;
          if (((tLo ^ pcLo) & -4096) === 0 && tHi === pcHi && page !== crossPage) {
            pcLo = tLo;
            continue;
          }
          S[HS.PC_LO] = tLo;
          S[HS.PC_HI] = tHi;
          continue outer;
        }
        case Op.BEQ:
        case Op.BNE:
        case Op.BLT:
        case Op.BGE:
        case Op.BLTU:
        case Op.BGEU: {
          const op = w & 511;
          const al = X[a]!;
          const ah = X[a + 1]!;
          const bl = X[b]!;
          const bh = X[b + 1]!;
          let taken: boolean;
          if (op === Op.BEQ) taken = al === bl && ah === bh;
          else if (op === Op.BNE) taken = al !== bl || ah !== bh;
          else if (op === Op.BLT) taken = ah < bh || (ah === bh && al >>> 0 < bl >>> 0);
          else if (op === Op.BGE) taken = !(ah < bh || (ah === bh && al >>> 0 < bl >>> 0));
          else if (op === Op.BLTU) taken = ah >>> 0 < bh >>> 0 || (ah === bh && al >>> 0 < bl >>> 0);
          else taken = !(ah >>> 0 < bh >>> 0 || (ah === bh && al >>> 0 < bl >>> 0));
          if (taken) {
            const tLo = (pcLo + imm) | 0;
            const tHi = (pcHi + (imm >> 31) + (tLo >>> 0 < pcLo >>> 0 ? 1 : 0)) | 0;
            if (((tLo ^ pcLo) & -4096) === 0 && tHi === pcHi && page !== crossPage) {
              pcLo = tLo;
              continue;
            }
            S[HS.PC_LO] = tLo;
            S[HS.PC_HI] = tHi;
            continue outer;
          }
          break;
        }

        // ---- system ------------------------------------------------------------------------
        case Op.FENCE:
          break;
        case Op.FENCE_I:
          // Stores already invalidated decoded code; leaving the inner loop re-fetches.
          pcLo = (pcLo + len) | 0;
          if (pcLo >>> 0 < len) pcHi = (pcHi + 1) | 0;
          S[HS.PC_LO] = pcLo;
          S[HS.PC_HI] = pcHi;
          continue outer;
        case Op.ECALL: {
          S[HS.PC_LO] = pcLo;
          S[HS.PC_HI] = pcHi;
          const priv = S[HS.PRIV]!;
          h.exception(priv === Priv.U ? Cause.ECALL_U : priv === Priv.S ? Cause.ECALL_S : Cause.ECALL_M);
          n--;
          continue outer;
        }
        case Op.EBREAK:
          S[HS.PC_LO] = pcLo;
          S[HS.PC_HI] = pcHi;
          h.exception(Cause.BREAKPOINT, pcLo, pcHi);
          n--;
          continue outer;
        case Op.MRET:
        case Op.SRET:
          S[HS.PC_LO] = pcLo;
          S[HS.PC_HI] = pcHi;
          if (!h.xret((w & 511) === Op.MRET)) n--;
          continue outer;
        case Op.WFI: {
          S[HS.PC_LO] = pcLo;
          S[HS.PC_HI] = pcHi;
          const priv = S[HS.PRIV]!;
          if (priv === Priv.U || (priv === Priv.S && S[I_MSTATUS]! & Mstatus.TW)) {
            h.illegal();
            n--;
            continue outer;
          }
          pcLo = (pcLo + len) | 0;
          if (pcLo >>> 0 < len) pcHi = (pcHi + 1) | 0;
          S[HS.PC_LO] = pcLo;
          S[HS.PC_HI] = pcHi;
          if (!h.wakeable()) S[HS.WFI] = 1;
          continue outer;
        }
        case Op.SFENCE_VMA: {
          S[HS.PC_LO] = pcLo;
          S[HS.PC_HI] = pcHi;
          const priv = S[HS.PRIV]!;
          if (priv === Priv.U || (priv === Priv.S && S[I_MSTATUS]! & Mstatus.TVM)) {
            h.illegal();
            n--;
            continue outer;
          }
          if (a === 0 || h.tlbHasSuperpage) h.flushTlb(false);
          else h.flushTlbPage(X[a]!, X[a + 1]!);
          pcLo = (pcLo + len) | 0;
          if (pcLo >>> 0 < len) pcHi = (pcHi + 1) | 0;
          S[HS.PC_LO] = pcLo;
          S[HS.PC_HI] = pcHi;
          continue outer;
        }
        case Op.CSRRW:
        case Op.CSRRS:
        case Op.CSRRC:
        case Op.CSRRWI:
        case Op.CSRRSI:
        case Op.CSRRCI: {
          S[HS.PC_LO] = pcLo;
          S[HS.PC_HI] = pcHi;
          const op = w & 511;
          const isImm = op >= Op.CSRRWI;
          const csrOp = (isImm ? op - Op.CSRRWI + 1 : op - Op.CSRRW + 1) as CsrOp;
          const srcLo = isImm ? a >> 1 : X[a]!;
          const srcHi = isImm ? 0 : X[a + 1]!;
          h.sliceExecuted = n - 1;
          const ok = csrInsn(h, csrOp, imm, srcLo, srcHi, a !== 0, d !== 64);
          h.sliceExecuted = 0;
          if (!ok) {
            n--;
            continue outer;
          }
          X[d] = h.tmpLo;
          X[d + 1] = h.tmpHi;
          pcLo = (pcLo + len) | 0;
          if (pcLo >>> 0 < len) pcHi = (pcHi + 1) | 0;
          S[HS.PC_LO] = pcLo;
          S[HS.PC_HI] = pcHi;
          continue outer;
        }

        case Op.ILLEGAL:
          S[HS.PC_LO] = pcLo;
          S[HS.PC_HI] = pcHi;
          h.exception(Cause.ILLEGAL_INSN, imm, 0);
          n--;
          continue outer;

        default: {
          // Floating point (everything but loads and stores).
          S[HS.PC_LO] = pcLo;
          S[HS.PC_HI] = pcHi;
          if (!fpExec(h, w, imm)) {
            n--;
            continue outer;
          }
          break;
        }
      }
      // Sequential successor.
      pcLo = (pcLo + len) | 0;
      if ((pcLo & 4095) < len || page === crossPage) {
        if (pcLo >>> 0 < len) pcHi = (pcHi + 1) | 0;
        S[HS.PC_LO] = pcLo;
        S[HS.PC_HI] = pcHi;
        continue outer;
      }
    }
  }
  S[HS.FFLAGS] = fexc.flags;
  h.SF[HC.INSTRET] = h.SF[HC.INSTRET]! + n;
  return n;
}
