/**
 * The F and D instructions other than loads and stores: operand fetch with NaN boxing,
 * signaling-NaN detection and canonical NaN results, rounding-mode resolution, mstatus.FS
 * checks, and the arithmetic itself from ../fpu (IEEE rounding modes and exception flags).
 *
 * f registers are raw bits in h.FI (lo/hi int32 per register, index 2r); the same memory is
 * viewed as float64 (h.F64[r]) and float32 (h.F32[2r] = the low half). A single-precision
 * value is valid only when NaN-boxed (high word all ones); otherwise it reads as the
 * canonical NaN. Returns false after raising illegal instruction.
 */
import * as fpu from '../fpu/fpu.ts';
import { Op } from '../isa/op.ts';
import { fpDirty, fpOff, type Hart } from './hart.ts';
import { HS } from './layout.ts';

const fexc = fpu.fexc;
const NV = 16;
const CANON_D_HI = 0x7ff80000;
const CANON_S = 0x7fc00000;

function sNaN64(FI: Int32Array, i: number): boolean {
  const hi = FI[i + 1]!;
  return (hi & 0x7ff80000) === 0x7ff00000 && ((hi & 0xfffff) | FI[i]!) !== 0;
}

/** Is the single in f register index i a boxed signaling NaN? */
function sNaN32(FI: Int32Array, i: number): boolean {
  const v = FI[i]!;
  return FI[i + 1] === -1 && (v & 0x7fc00000) === 0x7f800000 && (v & 0x3fffff) !== 0;
}

function isInf(x: number): boolean {
  return x === Infinity || x === -Infinity;
}

/**
 * For translated code (jit/translate.ts): executes the instruction like `fpExec` and returns
 * true, or returns false with no effect at all when it would raise illegal instruction (FP
 * disabled, or a reserved rounding mode), so that the interpreter can run it and take the trap.
 */
export function fpExecJit(h: Hart, w: number, imm: number): boolean {
  const S = h.S;
  if (fpOff(S)) return false;
  if (HAS_RM[w & 511] && (imm === 7 ? S[HS.FRM]! : imm) > 4) return false;
  return fpExec(h, w, imm);
}

export function fpExec(h: Hart, w: number, imm: number): boolean {
  const S = h.S;
  if (fpOff(S)) return h.illegal();
  const op = w & 511;
  const FI = h.FI;
  const F64 = h.F64;
  const F32 = h.F32;
  const X = h.X;
  const d = (w >>> 8) & 126;
  const a = (w >>> 14) & 62;
  const b = (w >>> 19) & 62;
  const c = (w >>> 24) & 62;
  // Resolve the rounding mode for instructions that have an rm field.
  let rm = 0;
  if (HAS_RM[op]) {
    rm = imm === 7 ? S[HS.FRM]! : imm;
    if (rm > 4) return h.illegal();
  }
  fpDirty(S); // every F/D instruction here may write FP state

  switch (op) {
    // ---- arithmetic: in functions of their own (see addD) -----------------------------------
    case Op.FADD_D:
    case Op.FSUB_D:
      addD(FI, F64, d, a, b, op === Op.FSUB_D, rm);
      return true;
    case Op.FMUL_D:
      mulD(FI, F64, d, a, b, rm);
      return true;
    case Op.FDIV_D:
      divD(FI, F64, d, a, b, rm);
      return true;
    case Op.FSQRT_D:
      sqrtD(FI, F64, d, a, rm);
      return true;
    case Op.FMADD_D:
    case Op.FMSUB_D:
    case Op.FNMSUB_D:
    case Op.FNMADD_D:
      fmaD(FI, F64, op, d, a, b, c, rm);
      return true;
    case Op.FADD_S:
    case Op.FSUB_S:
    case Op.FMUL_S:
    case Op.FDIV_S:
    case Op.FSQRT_S:
    case Op.FMADD_S:
    case Op.FMSUB_S:
    case Op.FNMSUB_S:
    case Op.FNMADD_S:
      arithS(FI, F32, op, d, a, b, c, rm);
      return true;

    // ---- sign injection ------------------------------------------------------------------
    case Op.FSGNJ_D:
    case Op.FSGNJN_D:
    case Op.FSGNJX_D: {
      const xh = FI[a + 1]!;
      const yh = FI[b + 1]!;
      const sign = op === Op.FSGNJ_D ? yh : op === Op.FSGNJN_D ? ~yh : xh ^ yh;
      FI[d] = FI[a]!;
      FI[d + 1] = (xh & 0x7fffffff) | (sign & (0x80000000 | 0));
      return true;
    }
    case Op.FSGNJ_S:
    case Op.FSGNJN_S:
    case Op.FSGNJX_S: {
      const x = FI[a + 1] === -1 ? FI[a]! : CANON_S;
      const y = FI[b + 1] === -1 ? FI[b]! : CANON_S;
      const sign = op === Op.FSGNJ_S ? y : op === Op.FSGNJN_S ? ~y : x ^ y;
      FI[d] = (x & 0x7fffffff) | (sign & (0x80000000 | 0));
      FI[d + 1] = -1;
      return true;
    }

    // ---- min / max -------------------------------------------------------------------------
    case Op.FMIN_D:
    case Op.FMAX_D: {
      const x = F64[a >> 1]!;
      const y = F64[b >> 1]!;
      if (sNaN64(FI, a) || sNaN64(FI, b)) fexc.flags |= NV;
      let from: number;
      if (x !== x && y !== y) {
        FI[d] = 0;
        FI[d + 1] = CANON_D_HI;
        return true;
      } else if (x !== x) from = b;
      else if (y !== y) from = a;
      else if (x === y) {
        // Equal (incl. +0 == -0): min prefers the negative sign, max the positive.
        const xNeg = FI[a + 1]! < 0;
        from = (op === Op.FMIN_D) === xNeg ? a : b;
      } else from = (op === Op.FMIN_D) === x < y ? a : b;
      FI[d] = FI[from]!;
      FI[d + 1] = FI[from + 1]!;
      return true;
    }
    case Op.FMIN_S:
    case Op.FMAX_S: {
      const x = readS(FI, F32, a);
      const y = readS(FI, F32, b);
      if (sNaN32(FI, a) || sNaN32(FI, b)) fexc.flags |= NV;
      let bits: number;
      if (x !== x && y !== y) bits = CANON_S;
      else if (x !== x) bits = FI[b]!;
      else if (y !== y) bits = FI[a]!;
      else if (x === y) {
        const xNeg = FI[a]! < 0;
        bits = (op === Op.FMIN_S) === xNeg ? FI[a]! : FI[b]!;
      } else bits = (op === Op.FMIN_S) === x < y ? FI[a]! : FI[b]!;
      FI[d] = bits;
      FI[d + 1] = -1;
      return true;
    }

    // ---- compares ---------------------------------------------------------------------------
    case Op.FEQ_D:
    case Op.FLT_D:
    case Op.FLE_D: {
      const x = F64[a >> 1]!;
      const y = F64[b >> 1]!;
      let v = 0;
      if (x !== x || y !== y) {
        if (op !== Op.FEQ_D || sNaN64(FI, a) || sNaN64(FI, b)) fexc.flags |= NV;
      } else v = (op === Op.FEQ_D ? x === y : op === Op.FLT_D ? x < y : x <= y) ? 1 : 0;
      X[d] = v;
      X[d + 1] = 0;
      return true;
    }
    case Op.FEQ_S:
    case Op.FLT_S:
    case Op.FLE_S: {
      const x = readS(FI, F32, a);
      const y = readS(FI, F32, b);
      let v = 0;
      if (x !== x || y !== y) {
        if (op !== Op.FEQ_S || sNaN32(FI, a) || sNaN32(FI, b)) fexc.flags |= NV;
      } else v = (op === Op.FEQ_S ? x === y : op === Op.FLT_S ? x < y : x <= y) ? 1 : 0;
      X[d] = v;
      X[d + 1] = 0;
      return true;
    }
    case Op.FCLASS_D:
      X[d] = fpu.classify64(FI[a]!, FI[a + 1]!);
      X[d + 1] = 0;
      return true;
    case Op.FCLASS_S:
      X[d] = fpu.classify32(FI[a + 1] === -1 ? FI[a]! : CANON_S);
      X[d + 1] = 0;
      return true;

    // ---- conversions -------------------------------------------------------------------------
    case Op.FCVT_W_D:
    case Op.FCVT_WU_D:
    case Op.FCVT_W_S:
    case Op.FCVT_WU_S: {
      const x = op === Op.FCVT_W_D || op === Op.FCVT_WU_D ? F64[a >> 1]! : readS(FI, F32, a);
      const v = op === Op.FCVT_W_D || op === Op.FCVT_W_S ? fpu.toI32(x, rm) : fpu.toU32(x, rm);
      X[d] = v;
      X[d + 1] = v >> 31;
      return true;
    }
    case Op.FCVT_L_D:
    case Op.FCVT_LU_D:
    case Op.FCVT_L_S:
    case Op.FCVT_LU_S: {
      const x = op === Op.FCVT_L_D || op === Op.FCVT_LU_D ? F64[a >> 1]! : readS(FI, F32, a);
      if (op === Op.FCVT_L_D || op === Op.FCVT_L_S) fpu.toI64(x, rm);
      else fpu.toU64(x, rm);
      X[d] = fexc.lo;
      X[d + 1] = fexc.hi;
      return true;
    }
    case Op.FCVT_D_W:
      writeD(FI, F64, d, X[a]!);
      return true;
    case Op.FCVT_D_WU:
      writeD(FI, F64, d, X[a]! >>> 0);
      return true;
    case Op.FCVT_D_L:
      writeD(FI, F64, d, fpu.i64ToF64(X[a]!, X[a + 1]!, rm));
      return true;
    case Op.FCVT_D_LU:
      writeD(FI, F64, d, fpu.u64ToF64(X[a]!, X[a + 1]!, rm));
      return true;
    case Op.FCVT_S_W:
      writeS(FI, F32, d, fpu.i32ToF32(X[a]!, rm));
      return true;
    case Op.FCVT_S_WU:
      writeS(FI, F32, d, fpu.u32ToF32(X[a]!, rm));
      return true;
    case Op.FCVT_S_L:
      writeS(FI, F32, d, fpu.i64ToF32(X[a]!, X[a + 1]!, rm));
      return true;
    case Op.FCVT_S_LU:
      writeS(FI, F32, d, fpu.u64ToF32(X[a]!, X[a + 1]!, rm));
      return true;
    case Op.FCVT_S_D: {
      const x = F64[a >> 1]!;
      let v: number;
      if (x !== x) {
        if (sNaN64(FI, a)) fexc.flags |= NV;
        v = NaN;
      } else v = fpu.f64ToF32(x, rm);
      writeS(FI, F32, d, v);
      return true;
    }
    case Op.FCVT_D_S: {
      const x = readS(FI, F32, a);
      if (x !== x && sNaN32(FI, a)) fexc.flags |= NV;
      writeD(FI, F64, d, x);
      return true;
    }

    // ---- moves -------------------------------------------------------------------------------
    case Op.FMV_X_W: {
      const v = FI[a]!;
      X[d] = v;
      X[d + 1] = v >> 31;
      return true;
    }
    case Op.FMV_W_X:
      FI[d] = X[a]!;
      FI[d + 1] = -1;
      return true;
    case Op.FMV_X_D:
      X[d] = FI[a]!;
      X[d + 1] = FI[a + 1]!;
      return true;
    case Op.FMV_D_X:
      FI[d] = X[a]!;
      FI[d + 1] = X[a + 1]!;
      return true;
  }
  throw new Error(`fpExec: operation ${op} is not a floating-point operation (decoder/interpreter mismatch)`);
}

/** A single operand: its value if NaN-boxed, else the canonical NaN. */
function readS(FI: Int32Array, F32: Float32Array, i: number): number {
  return FI[i + 1] === -1 ? F32[i]! : NaN;
}

/*
 * Double-precision arithmetic, one small function per operation, called with small integers
 * only. fpExec is too big for V8 to inline the fpu's routines into it, so each call there boxed
 * both operands and the result as heap numbers (about 1.5 GB of garbage in domus-bench's fp
 * loop); in a function this small the routine's fast path is inlined and the doubles stay in
 * registers.
 */

/** A NaN among two operands: the canonical NaN written (NV for a signaling one); false if none. */
function nan2D(FI: Int32Array, F64: Float64Array, d: number, a: number, b: number): boolean {
  const x = F64[a >> 1]!;
  const y = F64[b >> 1]!;
  if (x === x && y === y) return false;
  nanD(FI, d, sNaN64(FI, a) || sNaN64(FI, b));
  return true;
}

/** fadd.d / fsub.d (y negated). */
function addD(
  FI: Int32Array,
  F64: Float64Array,
  d: number,
  a: number,
  b: number,
  neg: boolean,
  rm: number,
): void {
  if (nan2D(FI, F64, d, a, b)) return;
  const y = F64[b >> 1]!;
  writeD(FI, F64, d, fpu.add64(F64[a >> 1]!, neg ? -y : y, rm));
}

function mulD(FI: Int32Array, F64: Float64Array, d: number, a: number, b: number, rm: number): void {
  if (!nan2D(FI, F64, d, a, b)) writeD(FI, F64, d, fpu.mul64(F64[a >> 1]!, F64[b >> 1]!, rm));
}

function divD(FI: Int32Array, F64: Float64Array, d: number, a: number, b: number, rm: number): void {
  if (!nan2D(FI, F64, d, a, b)) writeD(FI, F64, d, fpu.div64(F64[a >> 1]!, F64[b >> 1]!, rm));
}

function sqrtD(FI: Int32Array, F64: Float64Array, d: number, a: number, rm: number): void {
  const x = F64[a >> 1]!;
  if (x !== x) return nanD(FI, d, sNaN64(FI, a));
  writeD(FI, F64, d, fpu.sqrt64(x, rm));
}

/** The fused multiply-adds: fmsub.d negates c, fnmsub.d a, fnmadd.d both. */
function fmaD(
  FI: Int32Array,
  F64: Float64Array,
  op: number,
  d: number,
  a: number,
  b: number,
  c: number,
  rm: number,
): void {
  const x = F64[a >> 1]!;
  const y = F64[b >> 1]!;
  const z = F64[c >> 1]!;
  if (x !== x || y !== y || z !== z) {
    const nv =
      sNaN64(FI, a) || sNaN64(FI, b) || sNaN64(FI, c) || (isInf(x) && y === 0) || (x === 0 && isInf(y));
    return nanD(FI, d, nv);
  }
  const nx = op === Op.FNMSUB_D || op === Op.FNMADD_D;
  const nz = op === Op.FMSUB_D || op === Op.FNMADD_D;
  writeD(FI, F64, d, fpu.fma64(nx ? -x : x, y, nz ? -z : z, rm));
}

/** A NaN operand: the canonical NaN, and NV when `invalid` (a signaling NaN, ∞ × 0). */
function nanD(FI: Int32Array, d: number, invalid: boolean): void {
  if (invalid) fexc.flags |= NV;
  FI[d] = 0;
  FI[d + 1] = CANON_D_HI;
}

/**
 * Single-precision arithmetic, apart from fpExec for the same reason as addD.
 */
function arithS(
  FI: Int32Array,
  F32: Float32Array,
  op: number,
  d: number,
  a: number,
  b: number,
  c: number,
  rm: number,
): void {
  switch (op) {
    case Op.FADD_S:
    case Op.FSUB_S:
    case Op.FMUL_S:
    case Op.FDIV_S: {
      const x = readS(FI, F32, a);
      const y = readS(FI, F32, b);
      let v: number;
      if (x !== x || y !== y) {
        if (sNaN32(FI, a) || sNaN32(FI, b)) fexc.flags |= NV;
        v = NaN;
      } else if (op === Op.FADD_S) v = fpu.add32(x, y, rm);
      else if (op === Op.FSUB_S) v = fpu.sub32(x, y, rm);
      else if (op === Op.FMUL_S) v = fpu.mul32(x, y, rm);
      else v = fpu.div32(x, y, rm);
      writeS(FI, F32, d, v);
      return;
    }
    case Op.FSQRT_S: {
      const x = readS(FI, F32, a);
      let v: number;
      if (x !== x) {
        if (sNaN32(FI, a)) fexc.flags |= NV;
        v = NaN;
      } else v = fpu.sqrt32(x, rm);
      writeS(FI, F32, d, v);
      return;
    }
    case Op.FMADD_S:
    case Op.FMSUB_S:
    case Op.FNMSUB_S:
    case Op.FNMADD_S: {
      let x = readS(FI, F32, a);
      const y = readS(FI, F32, b);
      let z = readS(FI, F32, c);
      let v: number;
      if (x !== x || y !== y || z !== z) {
        if (
          sNaN32(FI, a) ||
          sNaN32(FI, b) ||
          sNaN32(FI, c) ||
          (isInf(x) && y === 0) ||
          (x === 0 && isInf(y))
        ) {
          fexc.flags |= NV;
        }
        v = NaN;
      } else {
        if (op === Op.FNMSUB_S || op === Op.FNMADD_S) x = -x;
        if (op === Op.FMSUB_S || op === Op.FNMADD_S) z = -z;
        v = fpu.fma32(x, y, z, rm);
      }
      writeS(FI, F32, d, v);
      return;
    }
  }
}

function writeD(FI: Int32Array, F64: Float64Array, i: number, v: number): void {
  if (v !== v) {
    FI[i] = 0;
    FI[i + 1] = CANON_D_HI;
  } else F64[i >> 1] = v;
}

function writeS(FI: Int32Array, F32: Float32Array, i: number, v: number): void {
  if (v !== v) FI[i] = CANON_S;
  else F32[i] = v;
  FI[i + 1] = -1;
}

/** Operations whose rm field is a rounding mode (RM and R4 formats). */
const HAS_RM: Uint8Array = (() => {
  const t = new Uint8Array(512);
  for (const op of [
    Op.FADD_S,
    Op.FSUB_S,
    Op.FMUL_S,
    Op.FDIV_S,
    Op.FSQRT_S,
    Op.FMADD_S,
    Op.FMSUB_S,
    Op.FNMSUB_S,
    Op.FNMADD_S,
    Op.FADD_D,
    Op.FSUB_D,
    Op.FMUL_D,
    Op.FDIV_D,
    Op.FSQRT_D,
    Op.FMADD_D,
    Op.FMSUB_D,
    Op.FNMSUB_D,
    Op.FNMADD_D,
    Op.FCVT_W_S,
    Op.FCVT_WU_S,
    Op.FCVT_L_S,
    Op.FCVT_LU_S,
    Op.FCVT_S_W,
    Op.FCVT_S_WU,
    Op.FCVT_S_L,
    Op.FCVT_S_LU,
    Op.FCVT_W_D,
    Op.FCVT_WU_D,
    Op.FCVT_L_D,
    Op.FCVT_LU_D,
    Op.FCVT_D_W,
    Op.FCVT_D_WU,
    Op.FCVT_D_L,
    Op.FCVT_D_LU,
    Op.FCVT_S_D,
    Op.FCVT_D_S,
  ]) {
    t[op] = 1;
  }
  return t;
})();
