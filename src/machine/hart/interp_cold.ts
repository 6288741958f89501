/**
 * The interpreter's cold instructions: system instructions (CSR access, ecall, ebreak, xRET,
 * wfi, sfence.vma, fence.i), illegal encodings, the A extension, the M extension's high
 * multiplies and divisions, and floating-point arithmetic. They live
 * outside `run()` so that the big switch there holds only code that runs constantly: V8
 * optimizes `run()` with the type feedback it has seen, and a rarely taken path inside it
 * would make the optimized code bail out (and the whole interpreter be recompiled) the first
 * time it runs.
 *
 * Contract: pc (state block) is the instruction's own address on entry. Returns true when the
 * instruction completed without changing the translation regime or interrupt state, so the
 * caller simply advances pc by `len` (after checking that an AMO did not invalidate the code
 * it is executing); returns false when the caller must leave its inner loop,
 * with the state block's pc already set (the next instruction, or a trap handler).
 */
import { Op } from '../isa/op.ts';
import { Cause, Hstatus, Mstatus, Priv } from './csr_defs.ts';
import { csrInsn, type CsrOp } from './csr.ts';
import { fpExec } from './fp_exec.ts';
import { type Hart, I_HSTATUS, I_MSTATUS } from './hart.ts';
import { r as R64, div64, divu64, mulh64, mulhsu64, mulhu64 } from './int64.ts';
import { HS, TLB_MASK } from './layout.ts';
import { amoOffset, hypervisorAccess } from './mmu.ts';

function advance(h: Hart, len: number): void {
  const S = h.S;
  const lo = (S[HS.PC_LO]! + len) | 0;
  if (lo >>> 0 < len) S[HS.PC_HI] = (S[HS.PC_HI]! + 1) | 0;
  S[HS.PC_LO] = lo;
}

export function execCold(h: Hart, w: number, imm: number, len: number): boolean {
  const S = h.S;
  const X = h.X;
  const M32 = h.mem.i32;
  const op = w & 511;
  const d = (w >>> 8) & 126;
  const a = (w >>> 14) & 62;
  const b = (w >>> 19) & 62;
  switch (op) {
    case Op.FENCE_I:
      // Stores already invalidated decoded code; leaving the inner loop re-fetches.
      advance(h, len);
      return false;
    case Op.ECALL: {
      const priv = S[HS.PRIV]!;
      const cause =
        priv === Priv.U
          ? Cause.ECALL_U
          : priv === Priv.M
            ? Cause.ECALL_M
            : S[HS.VIRT]
              ? Cause.ECALL_VS
              : Cause.ECALL_S;
      h.exception(cause);
      return false;
    }
    case Op.EBREAK:
      h.exception(Cause.BREAKPOINT, S[HS.PC_LO]!, S[HS.PC_HI]!);
      return false;
    case Op.MRET:
    case Op.SRET:
      h.xret(op === Op.MRET);
      return false;
    case Op.WFI: {
      const priv = S[HS.PRIV]!;
      const ms = S[I_MSTATUS]!;
      if (priv !== Priv.M && ms & Mstatus.TW) return h.illegal();
      if (S[HS.VIRT]) {
        if (priv === Priv.U || S[I_HSTATUS]! & Hstatus.VTW) return h.virtualInsn();
      } else if (priv === Priv.U) return h.illegal();
      advance(h, len);
      if (!h.wakeable()) S[HS.WFI] = 1;
      return false;
    }
    case Op.SFENCE_VMA: {
      const priv = S[HS.PRIV]!;
      if (S[HS.VIRT]) {
        if (priv === Priv.U || S[I_HSTATUS]! & Hstatus.VTVM) return h.virtualInsn();
      } else if (priv === Priv.U || (priv === Priv.S && S[I_MSTATUS]! & Mstatus.TVM)) return h.illegal();
      if (a === 0) h.flushTlb(false);
      else h.flushTlbPage(X[a]!, X[a + 1]!);
      advance(h, len);
      return false;
    }
    case Op.CSRRW:
    case Op.CSRRS:
    case Op.CSRRC:
    case Op.CSRRWI:
    case Op.CSRRSI:
    case Op.CSRRCI: {
      const isImm = op >= Op.CSRRWI;
      const csrOp = (isImm ? op - Op.CSRRWI + 1 : op - Op.CSRRW + 1) as CsrOp;
      const srcLo = isImm ? a >> 1 : X[a]!;
      const srcHi = isImm ? 0 : X[a + 1]!;
      const ok = csrInsn(h, csrOp, imm, srcLo, srcHi, a !== 0, d !== 64);
      h.sliceExecuted = 0;
      if (!ok) return false;
      X[d] = h.tmpLo;
      X[d + 1] = h.tmpHi;
      advance(h, len);
      return false;
    }
    case Op.ILLEGAL:
      h.exception(Cause.ILLEGAL_INSN, imm, 0);
      return false;

    // ---- H extension ----------------------------------------------------------------------
    case Op.HFENCE_VVMA:
    case Op.HFENCE_GVMA: {
      const priv = S[HS.PRIV]!;
      if (S[HS.VIRT]) return h.virtualInsn();
      if (priv === Priv.U) return h.illegal();
      if (op === Op.HFENCE_GVMA && priv === Priv.S && S[I_MSTATUS]! & Mstatus.TVM) return h.illegal();
      // Guest translations are cached combined (both stages): flush all of them, and for
      // HFENCE.GVMA the G-stage cache too.
      if (op === Op.HFENCE_GVMA) h.flushGStage();
      else h.flushTlb(false);
      advance(h, len);
      return false;
    }
    case Op.HLV_B:
    case Op.HLV_BU:
    case Op.HLV_H:
    case Op.HLV_HU:
    case Op.HLVX_HU:
    case Op.HLV_W:
    case Op.HLVX_WU:
    case Op.HLV_WU:
    case Op.HLV_D:
    case Op.HSV_B:
    case Op.HSV_H:
    case Op.HSV_W:
    case Op.HSV_D: {
      const priv = S[HS.PRIV]!;
      if (S[HS.VIRT]) return h.virtualInsn();
      if (priv === Priv.U && !(S[I_HSTATUS]! & Hstatus.HU)) return h.illegal();
      const isStore = op >= Op.HSV_B;
      const size =
        op === Op.HLV_B || op === Op.HLV_BU || op === Op.HSV_B
          ? 1
          : op === Op.HLV_H || op === Op.HLV_HU || op === Op.HLVX_HU || op === Op.HSV_H
            ? 2
            : op === Op.HLV_D || op === Op.HSV_D
              ? 8
              : 4;
      const hlvx = op === Op.HLVX_HU || op === Op.HLVX_WU;
      if (!hypervisorAccess(h, X[a]!, X[a + 1]!, size, isStore, hlvx, X[b]!, X[b + 1]!)) return false;
      if (!isStore) {
        let lo = h.tmpLo;
        let hi = h.tmpHi;
        if (op === Op.HLV_B) hi = (lo = (lo << 24) >> 24) >> 31;
        else if (op === Op.HLV_H) hi = (lo = (lo << 16) >> 16) >> 31;
        else if (op === Op.HLV_W) hi = lo >> 31;
        X[d] = lo;
        X[d + 1] = hi;
      }
      advance(h, len);
      return false;
    }

    // ---- M: the high multiplies and division -------------------------------------------------
    case Op.MULH:
      mulh64(X[a]!, X[a + 1]!, X[b]!, X[b + 1]!);
      X[d] = R64.lo;
      X[d + 1] = R64.hi;
      return true;
    case Op.MULHSU:
      mulhsu64(X[a]!, X[a + 1]!, X[b]!, X[b + 1]!);
      X[d] = R64.lo;
      X[d + 1] = R64.hi;
      return true;
    case Op.MULHU:
      mulhu64(X[a]!, X[a + 1]!, X[b]!, X[b + 1]!);
      X[d] = R64.lo;
      X[d + 1] = R64.hi;
      return true;
    case Op.DIV:
    case Op.REM:
      div64(X[a]!, X[a + 1]!, X[b]!, X[b + 1]!, (w & 511) === Op.REM);
      X[d] = R64.lo;
      X[d + 1] = R64.hi;
      return true;
    case Op.DIVU:
    case Op.REMU:
      divu64(X[a]!, X[a + 1]!, X[b]!, X[b + 1]!, (w & 511) === Op.REMU);
      X[d] = R64.lo;
      X[d + 1] = R64.hi;
      return true;
    case Op.DIVW: {
      const x = X[a]!;
      const y = X[b]!;
      const v = y === 0 ? -1 : y === -1 && x === (0x80000000 | 0) ? x : (x / y) | 0;
      X[d] = v;
      X[d + 1] = v >> 31;
      return true;
    }
    case Op.DIVUW: {
      const x = X[a]! >>> 0;
      const y = X[b]! >>> 0;
      const v = y === 0 ? -1 : (x / y) | 0;
      X[d] = v;
      X[d + 1] = v >> 31;
      return true;
    }
    case Op.REMW: {
      const x = X[a]!;
      const y = X[b]!;
      const v = y === 0 ? x : y === -1 ? 0 : (x % y) | 0;
      X[d] = v;
      X[d + 1] = v >> 31;
      return true;
    }
    case Op.REMUW: {
      const x = X[a]! >>> 0;
      const y = X[b]! >>> 0;
      const v = y === 0 ? x | 0 : (x % y) | 0;
      X[d] = v;
      X[d + 1] = v >> 31;
      return true;
    }

    // ---- atomics -----------------------------------------------------------------------
    case Op.LR_W:
    case Op.LR_D: {
      const size = (w & 511) === Op.LR_W ? 4 : 8;
      const off = amoOffset(h, X[a]!, X[a + 1]!, size, true);
      if (off < 0) {
        return false;
      }
      const lo = M32[off >>> 2]!;
      X[d + 1] = size === 4 ? lo >> 31 : M32[(off >>> 2) + 1]!;
      X[d] = lo;
      S[HS.RES_VALID] = 1;
      S[HS.RES_ADDR_LO] = h.pa | 0;
      S[HS.RES_ADDR_HI] = Math.floor(h.pa / 4294967296);
      return true;
    }
    case Op.SC_W:
    case Op.SC_D: {
      const size = (w & 511) === Op.SC_W ? 4 : 8;
      const off = amoOffset(h, X[a]!, X[a + 1]!, size, false);
      if (off < 0) {
        return false;
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
      return true;
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
      const t = h.storeSet + (((vaLo >>> 12) & TLB_MASK) << 2);
      let off: number;
      if (S[t] === (vaLo & -4096) && S[t + 1] === vaHi && (vaLo & 3) === 0) {
        off = S[t + 2]! + (vaLo & 4095);
      } else {
        off = amoOffset(h, vaLo, vaHi, 4, false);
        if (off < 0) {
          return false;
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
      return true;
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
      const t = h.storeSet + (((vaLo >>> 12) & TLB_MASK) << 2);
      let off: number;
      if (S[t] === (vaLo & -4096) && S[t + 1] === vaHi && (vaLo & 7) === 0) {
        off = S[t + 2]! + (vaLo & 4095);
      } else {
        off = amoOffset(h, vaLo, vaHi, 8, false);
        if (off < 0) {
          return false;
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
      return true;
    }

    default:
      return fpExec(h, w, imm);
  }
}
