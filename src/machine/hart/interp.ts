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
 *
 * With a JIT (h.jit, jit/jit.ts) the outer loop first offers pc to translated code. A taken
 * backward branch or jump inside the page counts down its target's JIT countdown and leaves
 * the inner loop (so that the outer loop offers the target) once that reaches 0: when the
 * target is hot or translated. Forward branches start no loop and stay. With h.jit null
 * nothing changes.
 */
import { decode16, decode32, decoded, FENCE_PAUSE } from '../isa/decode.ts';
import { Op } from '../isa/op.ts';
import { fexc } from '../fpu/fpu.ts';
import { execCold } from './interp_cold.ts';
import { fpDirty, fpOff, type Hart } from './hart.ts';
import { r as R64, mul64 } from './int64.ts';
import { HC, HS, TLB_MASK } from './layout.ts';
import { fetchInsnSlow, fetchPage, loadSlow, storeSlow } from './mmu.ts';

/** Countdowns (jit.ts, Jit.countdown) while no page's are at hand. */
const noCountdown = new Int16Array(2048);

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
  const jit = h.jit;
  // The JIT's countdowns of the current page: a taken backward branch or jump inside the page
  // stays in the inner loop while its target's countdown stays above 0 (jit.ts).
  let cd: Int16Array = noCountdown;
  let n = 0;
  const exceptionsAtStart = h.exceptions;
  // A load/store that missed the fast path: its op and virtual address (see after the switch).
  let miss = 0;
  let missLo = 0;
  let missHi = 0;
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
    if (jit !== null) {
      // Translated code for pc (jit/jit.ts): it returns (ran << 2) | 1 when the instruction at
      // the new pc is left to the interpreter; pc may then be on another page (translated code
      // chains between regions), and the TLB sets have not changed since this lookup. With
      // (ran << 2) | 0 or | 2 the outer loop looks again (a trap may have changed the sets).
      const r = jit.enter(h, ramPage, page, pcLo, budget - n);
      cd = jit.countdown;
      if (r >= 0) {
        n += r >>> 2;
        if ((r & 1) === 0) continue;
        const lo = S[HS.PC_LO]!;
        const hi = S[HS.PC_HI]!;
        if (((lo ^ pcLo) & -4096) !== 0 || hi !== pcHi) continue;
        pcLo = lo;
        pcHi = hi;
      }
    }
    const pageOff = ramOffset + ramPage * 4096;
    const ldSet = h.loadSet;
    const stSet = h.storeSet;

    // Leaving this loop with `break inner` stores pcLo/pcHi as the next pc (one store site,
    // so that rarely taken exits do not each need type feedback of their own).
    inner: for (;;) {
      if (n >= budget) break inner;
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
        case Op.SLL: {
          const sh = X[b]! & 63;
          const al = X[a]!;
          if (sh === 0) {
            X[d + 1] = X[a + 1]!;
            X[d] = al;
          } else if (sh < 32) {
            X[d + 1] = (X[a + 1]! << sh) | (al >>> (32 - sh));
            X[d] = al << sh;
          } else {
            X[d + 1] = al << (sh - 32);
            X[d] = 0;
          }
          break;
        }
        case Op.SRL: {
          const sh = X[b]! & 63;
          const ah = X[a + 1]!;
          if (sh === 0) {
            X[d] = X[a]!;
            X[d + 1] = ah;
          } else if (sh < 32) {
            X[d] = (X[a]! >>> sh) | (ah << (32 - sh));
            X[d + 1] = ah >>> sh;
          } else {
            X[d] = ah >>> (sh - 32);
            X[d + 1] = 0;
          }
          break;
        }
        case Op.SRA: {
          const sh = X[b]! & 63;
          const ah = X[a + 1]!;
          if (sh === 0) {
            X[d] = X[a]!;
            X[d + 1] = ah;
          } else if (sh < 32) {
            X[d] = (X[a]! >>> sh) | (ah << (32 - sh));
            X[d + 1] = ah >> sh;
          } else {
            X[d] = ah >> (sh - 32);
            X[d + 1] = ah >> 31;
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
        case Op.MULW: {
          const v = Math.imul(X[a]!, X[b]!);
          X[d] = v;
          X[d + 1] = v >> 31;
          break;
        }
        // ---- loads: TLB hit inline; a miss is finished after the switch (see `miss`) ---------
        case Op.LB: {
          const al = X[a]!;
          const vaLo = (al + imm) | 0;
          const vaHi = (X[a + 1]! + (imm >> 31) + (vaLo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          const t = ldSet + (((vaLo >>> 12) & TLB_MASK) << 2);
          if (S[t] === (vaLo & -4096) && S[t + 1] === vaHi) {
            const off = S[t + 2]! + (vaLo & 4095);
            const v = (M8[off]! << 24) >> 24;
            X[d] = v;
            X[d + 1] = v >> 31;
            break;
          }
          miss = Op.LB;
          missLo = vaLo;
          missHi = vaHi;
          break;
        }
        case Op.LBU: {
          const al = X[a]!;
          const vaLo = (al + imm) | 0;
          const vaHi = (X[a + 1]! + (imm >> 31) + (vaLo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          const t = ldSet + (((vaLo >>> 12) & TLB_MASK) << 2);
          if (S[t] === (vaLo & -4096) && S[t + 1] === vaHi) {
            const off = S[t + 2]! + (vaLo & 4095);
            const v = M8[off]!;
            X[d] = v;
            X[d + 1] = 0;
            break;
          }
          miss = Op.LBU;
          missLo = vaLo;
          missHi = vaHi;
          break;
        }
        case Op.LH: {
          const al = X[a]!;
          const vaLo = (al + imm) | 0;
          const vaHi = (X[a + 1]! + (imm >> 31) + (vaLo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          const t = ldSet + (((vaLo >>> 12) & TLB_MASK) << 2);
          if (S[t] === (vaLo & -4096) && S[t + 1] === vaHi && (vaLo & 1) === 0) {
            const off = S[t + 2]! + (vaLo & 4095);
            const v = (M16[off >>> 1]! << 16) >> 16;
            X[d] = v;
            X[d + 1] = v >> 31;
            break;
          }
          miss = Op.LH;
          missLo = vaLo;
          missHi = vaHi;
          break;
        }
        case Op.LHU: {
          const al = X[a]!;
          const vaLo = (al + imm) | 0;
          const vaHi = (X[a + 1]! + (imm >> 31) + (vaLo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          const t = ldSet + (((vaLo >>> 12) & TLB_MASK) << 2);
          if (S[t] === (vaLo & -4096) && S[t + 1] === vaHi && (vaLo & 1) === 0) {
            const off = S[t + 2]! + (vaLo & 4095);
            const v = M16[off >>> 1]!;
            X[d] = v;
            X[d + 1] = 0;
            break;
          }
          miss = Op.LHU;
          missLo = vaLo;
          missHi = vaHi;
          break;
        }
        case Op.LW: {
          const al = X[a]!;
          const vaLo = (al + imm) | 0;
          const vaHi = (X[a + 1]! + (imm >> 31) + (vaLo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          const t = ldSet + (((vaLo >>> 12) & TLB_MASK) << 2);
          if (S[t] === (vaLo & -4096) && S[t + 1] === vaHi && (vaLo & 3) === 0) {
            const off = S[t + 2]! + (vaLo & 4095);
            const v = M32[off >>> 2]!;
            X[d] = v;
            X[d + 1] = v >> 31;
            break;
          }
          miss = Op.LW;
          missLo = vaLo;
          missHi = vaHi;
          break;
        }
        case Op.LWU: {
          const al = X[a]!;
          const vaLo = (al + imm) | 0;
          const vaHi = (X[a + 1]! + (imm >> 31) + (vaLo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          const t = ldSet + (((vaLo >>> 12) & TLB_MASK) << 2);
          if (S[t] === (vaLo & -4096) && S[t + 1] === vaHi && (vaLo & 3) === 0) {
            const off = S[t + 2]! + (vaLo & 4095);
            const v = M32[off >>> 2]!;
            X[d] = v;
            X[d + 1] = 0;
            break;
          }
          miss = Op.LWU;
          missLo = vaLo;
          missHi = vaHi;
          break;
        }
        case Op.LD:
        case Op.FLD: {
          const al = X[a]!;
          const vaLo = (al + imm) | 0;
          const vaHi = (X[a + 1]! + (imm >> 31) + (vaLo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          const t = ldSet + (((vaLo >>> 12) & TLB_MASK) << 2);
          const op = w & 511;
          if (op === Op.FLD && fpOff(S)) {
            miss = Op.ILLEGAL; // FP disabled: illegal instruction
            break;
          }
          if (S[t] === (vaLo & -4096) && S[t + 1] === vaHi && (vaLo & 7) === 0) {
            const i = (S[t + 2]! + (vaLo & 4095)) >>> 2;
            if (op === Op.LD) {
              X[d] = M32[i]!;
              X[d + 1] = M32[i + 1]!;
            } else {
              fpDirty(S);
              FI[d] = M32[i]!;
              FI[d + 1] = M32[i + 1]!;
            }
            break;
          }
          miss = op;
          missLo = vaLo;
          missHi = vaHi;
          break;
        }
        case Op.FLW: {
          const al = X[a]!;
          const vaLo = (al + imm) | 0;
          const vaHi = (X[a + 1]! + (imm >> 31) + (vaLo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          const t = ldSet + (((vaLo >>> 12) & TLB_MASK) << 2);
          if (fpOff(S)) {
            miss = Op.ILLEGAL;
            break;
          }
          if (S[t] === (vaLo & -4096) && S[t + 1] === vaHi && (vaLo & 3) === 0) {
            fpDirty(S);
            FI[d] = M32[(S[t + 2]! + (vaLo & 4095)) >>> 2]!;
            FI[d + 1] = -1; // NaN-box
            break;
          }
          miss = Op.FLW;
          missLo = vaLo;
          missHi = vaHi;
          break;
        }

        // ---- stores ----------------------------------------------------------------------
        case Op.SB: {
          const al = X[a]!;
          const vaLo = (al + imm) | 0;
          const vaHi = (X[a + 1]! + (imm >> 31) + (vaLo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          const t = stSet + (((vaLo >>> 12) & TLB_MASK) << 2);
          if (S[t] === (vaLo & -4096) && S[t + 1] === vaHi) {
            const off = S[t + 2]! + (vaLo & 4095);
            const v = X[b]!;
            M8[off] = v;
            break;
          }
          miss = Op.SB;
          missLo = vaLo;
          missHi = vaHi;
          break;
        }
        case Op.SH: {
          const al = X[a]!;
          const vaLo = (al + imm) | 0;
          const vaHi = (X[a + 1]! + (imm >> 31) + (vaLo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          const t = stSet + (((vaLo >>> 12) & TLB_MASK) << 2);
          if (S[t] === (vaLo & -4096) && S[t + 1] === vaHi && (vaLo & 1) === 0) {
            const off = S[t + 2]! + (vaLo & 4095);
            const v = X[b]!;
            M16[off >>> 1] = v;
            break;
          }
          miss = Op.SH;
          missLo = vaLo;
          missHi = vaHi;
          break;
        }
        case Op.SW: {
          const al = X[a]!;
          const vaLo = (al + imm) | 0;
          const vaHi = (X[a + 1]! + (imm >> 31) + (vaLo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          const t = stSet + (((vaLo >>> 12) & TLB_MASK) << 2);
          if (S[t] === (vaLo & -4096) && S[t + 1] === vaHi && (vaLo & 3) === 0) {
            const off = S[t + 2]! + (vaLo & 4095);
            const v = X[b]!;
            M32[off >>> 2] = v;
            break;
          }
          miss = Op.SW;
          missLo = vaLo;
          missHi = vaHi;
          break;
        }
        case Op.SD:
        case Op.FSD:
        case Op.FSW: {
          const al = X[a]!;
          const vaLo = (al + imm) | 0;
          const vaHi = (X[a + 1]! + (imm >> 31) + (vaLo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          const t = stSet + (((vaLo >>> 12) & TLB_MASK) << 2);
          const op = w & 511;
          if (op !== Op.SD && fpOff(S)) {
            miss = Op.ILLEGAL;
            break;
          }
          const size = op === Op.FSW ? 4 : 8;
          if (S[t] === (vaLo & -4096) && S[t + 1] === vaHi && (vaLo & (size - 1)) === 0) {
            const i = (S[t + 2]! + (vaLo & 4095)) >>> 2;
            if (op === Op.SD) {
              M32[i] = X[b]!;
              M32[i + 1] = X[b + 1]!;
            } else {
              M32[i] = FI[b]!;
              if (size === 8) M32[i + 1] = FI[b + 1]!;
            }
            break;
          }
          miss = op;
          missLo = vaLo;
          missHi = vaHi;
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
          const stay = ((tLo ^ pcLo) & -4096) === 0 && tHi === pcHi && page !== crossPage;
          pcLo = tLo;
          pcHi = tHi;
          if (stay && (jit === null || --cd[(tLo & 4095) >>> 1]! > 0)) continue;
          break inner;
        }
        case Op.BEQ:
          if (X[a]! === X[b]! && X[a + 1]! === X[b + 1]!) {
            const tLo = (pcLo + imm) | 0;
            const tHi = (pcHi + (imm >> 31) + (tLo >>> 0 < pcLo >>> 0 ? 1 : 0)) | 0;
            const stay = ((tLo ^ pcLo) & -4096) === 0 && tHi === pcHi && page !== crossPage;
            pcLo = tLo;
            pcHi = tHi;
            if (stay && (jit === null || imm >= 0 || --cd[(tLo & 4095) >>> 1]! > 0)) continue;
            break inner;
          }
          break;
        case Op.BNE:
          if (X[a]! !== X[b]! || X[a + 1]! !== X[b + 1]!) {
            const tLo = (pcLo + imm) | 0;
            const tHi = (pcHi + (imm >> 31) + (tLo >>> 0 < pcLo >>> 0 ? 1 : 0)) | 0;
            const stay = ((tLo ^ pcLo) & -4096) === 0 && tHi === pcHi && page !== crossPage;
            pcLo = tLo;
            pcHi = tHi;
            if (stay && (jit === null || imm >= 0 || --cd[(tLo & 4095) >>> 1]! > 0)) continue;
            break inner;
          }
          break;
        case Op.BLT:
          if (X[a + 1]! < X[b + 1]! || (X[a + 1]! === X[b + 1]! && X[a]! >>> 0 < X[b]! >>> 0)) {
            const tLo = (pcLo + imm) | 0;
            const tHi = (pcHi + (imm >> 31) + (tLo >>> 0 < pcLo >>> 0 ? 1 : 0)) | 0;
            const stay = ((tLo ^ pcLo) & -4096) === 0 && tHi === pcHi && page !== crossPage;
            pcLo = tLo;
            pcHi = tHi;
            if (stay && (jit === null || imm >= 0 || --cd[(tLo & 4095) >>> 1]! > 0)) continue;
            break inner;
          }
          break;
        case Op.BGE:
          if (X[a + 1]! > X[b + 1]! || (X[a + 1]! === X[b + 1]! && X[a]! >>> 0 >= X[b]! >>> 0)) {
            const tLo = (pcLo + imm) | 0;
            const tHi = (pcHi + (imm >> 31) + (tLo >>> 0 < pcLo >>> 0 ? 1 : 0)) | 0;
            const stay = ((tLo ^ pcLo) & -4096) === 0 && tHi === pcHi && page !== crossPage;
            pcLo = tLo;
            pcHi = tHi;
            if (stay && (jit === null || imm >= 0 || --cd[(tLo & 4095) >>> 1]! > 0)) continue;
            break inner;
          }
          break;
        case Op.BLTU:
          if (X[a + 1]! >>> 0 < X[b + 1]! >>> 0 || (X[a + 1]! === X[b + 1]! && X[a]! >>> 0 < X[b]! >>> 0)) {
            const tLo = (pcLo + imm) | 0;
            const tHi = (pcHi + (imm >> 31) + (tLo >>> 0 < pcLo >>> 0 ? 1 : 0)) | 0;
            const stay = ((tLo ^ pcLo) & -4096) === 0 && tHi === pcHi && page !== crossPage;
            pcLo = tLo;
            pcHi = tHi;
            if (stay && (jit === null || imm >= 0 || --cd[(tLo & 4095) >>> 1]! > 0)) continue;
            break inner;
          }
          break;
        case Op.BGEU:
          if (X[a + 1]! >>> 0 > X[b + 1]! >>> 0 || (X[a + 1]! === X[b + 1]! && X[a]! >>> 0 >= X[b]! >>> 0)) {
            const tLo = (pcLo + imm) | 0;
            const tHi = (pcHi + (imm >> 31) + (tLo >>> 0 < pcLo >>> 0 ? 1 : 0)) | 0;
            const stay = ((tLo ^ pcLo) & -4096) === 0 && tHi === pcHi && page !== crossPage;
            pcLo = tLo;
            pcHi = tHi;
            if (stay && (jit === null || imm >= 0 || --cd[(tLo & 4095) >>> 1]! > 0)) continue;
            break inner;
          }
          break;

        case Op.FENCE:
          if (imm === FENCE_PAUSE && h.onPause !== null) h.onPause();
          break;

        default:
          // System instructions, A, the rest of M, FP arithmetic: interp_cold.ts.
          S[HS.PC_LO] = pcLo;
          S[HS.PC_HI] = pcHi;
          h.sliceExecuted = n - 1 - (h.exceptions - exceptionsAtStart);
          if (!execCold(h, w, imm, len)) continue outer;
          if (!code.isCurrent(ramPage, page)) {
            // An AMO or SC rewrote code on this page: re-fetch from the next instruction.
            pcLo = (pcLo + len) | 0;
            if (pcLo >>> 0 < len) pcHi = (pcHi + 1) | 0;
            break inner;
          }
          break;
      }
      if (miss !== 0) {
        // A load or store missed the TLB (or is misaligned, or hits a device): finish it here,
        // in one place for all of them.
        S[HS.PC_LO] = pcLo;
        S[HS.PC_HI] = pcHi;
        const op = miss;
        miss = 0;
        if (op === Op.ILLEGAL) {
          h.illegal();
          continue outer;
        }
        if (isStore(op)) {
          const lo = op === Op.FSW || op === Op.FSD ? FI[b]! : X[b]!;
          const hi = op === Op.FSD ? FI[b + 1]! : op === Op.SD ? X[b + 1]! : 0;
          if (!storeSlow(h, missLo, missHi, accessSize(op), lo, hi)) continue outer;
          // The store may have invalidated decoded code (even this page) or touched a device.
          pcLo = (pcLo + len) | 0;
          if (pcLo >>> 0 < len) pcHi = (pcHi + 1) | 0;
          break inner;
        }
        if (!loadSlow(h, missLo, missHi, accessSize(op))) continue outer;
        finishLoad(h, op, d, h.tmpLo, h.tmpHi);
      }
      // Sequential successor.
      pcLo = (pcLo + len) | 0;
      // (A straddling instruction at 0xffe also lands here: it ends 2 bytes into the next page.)
      if ((pcLo & 4095) < len) {
        if (pcLo >>> 0 < len) pcHi = (pcHi + 1) | 0;
        break inner;
      }
    }
    S[HS.PC_LO] = pcLo;
    S[HS.PC_HI] = pcHi;
  }
  S[HS.FFLAGS] = fexc.flags;
  // Instructions that raised an exception did not retire.
  n -= h.exceptions - exceptionsAtStart;
  h.SF[HC.INSTRET] = h.SF[HC.INSTRET]! + n;
  // Hart.instret adds sliceExecuted (set for a CSR read in the slice): now counted in INSTRET.
  h.sliceExecuted = 0;
  return n;
}

function isStore(op: number): boolean {
  return op === Op.SB || op === Op.SH || op === Op.SW || op === Op.SD || op === Op.FSW || op === Op.FSD;
}

function accessSize(op: number): number {
  switch (op) {
    case Op.LB:
    case Op.LBU:
    case Op.SB:
      return 1;
    case Op.LH:
    case Op.LHU:
    case Op.SH:
      return 2;
    case Op.LW:
    case Op.LWU:
    case Op.SW:
    case Op.FLW:
    case Op.FSW:
      return 4;
    default:
      return 8;
  }
}

/** Writes a slow-path load's value (zero-extended lo/hi) to rd with the op's extension. */
function finishLoad(h: Hart, op: number, d: number, lo: number, hi: number): void {
  const X = h.X;
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
    case Op.FLW:
      fpDirty(h.S);
      h.FI[d] = lo;
      h.FI[d + 1] = -1;
      return;
    case Op.FLD:
      fpDirty(h.S);
      h.FI[d] = lo;
      h.FI[d + 1] = hi;
      return;
  }
  X[d] = lo;
  X[d + 1] = hi;
}
