/**
 * F and D arithmetic in translated regions (translate.ts): the native forms where they are
 * bit-exact, and the soft-float helper call for everything else.
 *
 * Native (wasm f64 / bit operations), checked at run time and falling back to the helper:
 * - `fadd.d`, `fsub.d`, `fmul.d`, `fdiv.d`, `fsqrt.d` when the rounding mode is RNE (static,
 *   or dynamic with frm = 0 at region entry) and operands and result are normal numbers within
 *   2^±300: the wasm result is then the correctly rounded one and the only possible flag is NX,
 *   computed exactly while NX is clear (Knuth's TwoSum for add/sub, Dekker's exact product for
 *   mul, and q·b = a, s·s = a for div and sqrt) and not at all once it is set (it is sticky);
 * - `fmadd.d`, `fmsub.d`, `fnmsub.d`, `fnmadd.d` under the same conditions and with NX already
 *   set in fflags (fmaNative: Boldo and Melquiond's FMA emulation by rounding to odd);
 * - `fsgnj*.d`, `fmv.x.d`, `fmv.d.x` (bit operations).
 * The helper, `env.fp(w, imm) -> ok` (jit.ts), runs the interpreter's own soft-float code
 * (hart/fp_exec.ts) on the hart being run, so it is bit-exact by construction; it returns 0
 * without effect when the instruction would raise illegal instruction, and the region then
 * leaves it to the interpreter. f registers are the region's f64 locals (translate.ts; the
 * helper reads and writes the state block, flushed before it and reloaded after); fflags and
 * mstatus.FS live in the state block.
 */
import { Mstatus } from '../hart/csr_defs.ts';
import { CsrSlot, csrIndex, HS } from '../hart/layout.ts';
import { Op } from '../isa/op.ts';
import type { Insn } from './region.ts';
import { FP_HELPER, P_BASE, type Emitter } from './translate.ts';
import { T, W } from './wasm.ts';

const MSTATUS_BYTE = csrIndex(CsrSlot.MSTATUS) * 4;
const VSSTATUS_BYTE = csrIndex(CsrSlot.VSSTATUS) * 4;
const VIRT_BYTE = HS.VIRT * 4;
const FFLAGS_BYTE = HS.FFLAGS * 4;
const FRM_BYTE = HS.FRM * 4;
/** fflags NX (inexact). */
const NX = 1;
/**
 * Emitter.fpState bit 3: NX is known to be set in fflags. Nothing translated clears fflags
 * (its CSRs are not translated), so once set it holds for the call; the FP helper may set NX
 * without this bit knowing, which only costs an exactness test that was not needed.
 */
const NX_KNOWN = 8;
/**
 * Biased exponents of the operands and results that native double arithmetic handles: far
 * from overflow, underflow and subnormals, so that the only possible flag is inexact and the
 * exact error terms below (Dekker's product, Knuth's sum) are representable.
 */
const EXP_LO = 1023 - 300;
const EXP_HI = 1023 + 300;
/** Veltkamp's splitting constant for doubles: 2^27 + 1. */
const SPLIT = 134217729;
/** Number of f64 scratch locals the FP emitter needs. */
export const FP_LOCALS = 9;

export function isFpLoadStore(op: number): boolean {
  return op === Op.FLW || op === Op.FSW || op === Op.FLD || op === Op.FSD;
}

/** F/D instructions other than loads and stores (native or through the helper). */
export function isFpArith(op: number): boolean {
  return op >= Op.FLW && op <= Op.FMV_D_X && !isFpLoadStore(op);
}

/** F/D instructions (run by the helper) whose rd is an x register. */
export function fpWritesX(op: number): boolean {
  switch (op) {
    case Op.FCVT_W_S:
    case Op.FCVT_WU_S:
    case Op.FCVT_L_S:
    case Op.FCVT_LU_S:
    case Op.FMV_X_W:
    case Op.FEQ_S:
    case Op.FLT_S:
    case Op.FLE_S:
    case Op.FCLASS_S:
    case Op.FCVT_W_D:
    case Op.FCVT_WU_D:
    case Op.FCVT_L_D:
    case Op.FCVT_LU_D:
    case Op.FMV_X_D:
    case Op.FEQ_D:
    case Op.FLT_D:
    case Op.FLE_D:
    case Op.FCLASS_D:
      return true;
    default:
      return false;
  }
}

/**
 * Computes the region's FP state at entry into `e.fpState`: bit 0 = F/D enabled (mstatus.FS,
 * and vsstatus.FS while V = 1), bit 1 = frm is RNE. Translated code changes neither FS to Off
 * nor frm, so both hold for the whole call; bit 2 is set once FS has been made Dirty.
 */
export function emitFpEntryState(e: Emitter): void {
  const c = e.c;
  const FS = Mstatus.FS as number;
  // on = (mstatus & FS) != 0 & !(virt & (vsstatus & FS) == 0)
  c.get(P_BASE).mem(W.I32_LOAD, 2, MSTATUS_BYTE).i32Const(FS).op(W.I32_AND).i32Const(0).op(W.I32_NE);
  c.get(P_BASE).mem(W.I32_LOAD, 2, VIRT_BYTE);
  c.get(P_BASE).mem(W.I32_LOAD, 2, VSSTATUS_BYTE).i32Const(FS).op(W.I32_AND).op(W.I32_EQZ);
  c.op(W.I32_AND).op(W.I32_EQZ).op(W.I32_AND);
  c.get(P_BASE).mem(W.I32_LOAD, 2, FRM_BYTE).op(W.I32_EQZ).i32Const(1).op(W.I32_SHL).op(W.I32_OR);
  c.get(P_BASE).mem(W.I32_LOAD, 2, FFLAGS_BYTE).i32Const(NX).op(W.I32_AND).i32Const(3).op(W.I32_SHL);
  c.op(W.I32_OR).set(e.fpState);
}

/** Exits to the interpreter before the instruction when FP is off (it raises illegal). */
export function emitFpCheck(e: Emitter, insn: Insn, idx: number): void {
  const c = e.c;
  const FS = Mstatus.FS as number;
  // off = !(mstatus & FS) | (virt & !(vsstatus & FS))
  c.get(P_BASE).mem(W.I32_LOAD, 2, MSTATUS_BYTE).i32Const(FS).op(W.I32_AND).op(W.I32_EQZ);
  c.get(P_BASE).mem(W.I32_LOAD, 2, VIRT_BYTE);
  c.get(P_BASE).mem(W.I32_LOAD, 2, VSSTATUS_BYTE).i32Const(FS).op(W.I32_AND).op(W.I32_EQZ);
  c.op(W.I32_AND).op(W.I32_OR);
  e.open();
  e.exitConst(insn.off, idx, 1);
  e.close();
}

/** Marks the FP state Dirty, as fpDirty does (vsstatus too while V = 1). */
export function emitFpDirty(e: Emitter): void {
  const c = e.c;
  const FS = Mstatus.FS as number;
  c.get(P_BASE).get(P_BASE).mem(W.I32_LOAD, 2, MSTATUS_BYTE).i32Const(FS).op(W.I32_OR);
  c.mem(W.I32_STORE, 2, MSTATUS_BYTE);
  c.get(P_BASE).mem(W.I32_LOAD, 2, VIRT_BYTE);
  c.if();
  c.get(P_BASE).get(P_BASE).mem(W.I32_LOAD, 2, VSSTATUS_BYTE).i32Const(FS).op(W.I32_OR);
  c.mem(W.I32_STORE, 2, VSSTATUS_BYTE);
  c.end();
}

/** Any F/D instruction but loads and stores: natively when that is exact, else the helper. */
export function emitFpArith(e: Emitter, insn: Insn, idx: number): void {
  if (fpNative(e, insn)) return;
  emitFpCall(e, insn, idx);
}

/** f register r as raw bits (i64) / as a double (the region's locals, translate.ts). */
function fBits(e: Emitter, r: number): void {
  e.fBits(r);
}

function fF64(e: Emitter, r: number): void {
  e.f64(r);
}

/** Sets FS to Dirty once per call (fpDirty), after the first native FP instruction. */
function fpDirtyOnce(e: Emitter): void {
  const c = e.c;
  c.get(e.fpState).i32Const(4).op(W.I32_AND).op(W.I32_EQZ);
  c.if();
  emitFpDirty(e);
  c.get(e.fpState).i32Const(4).op(W.I32_OR).set(e.fpState);
  c.end();
}

/** Is the double in local `l` in the native exponent range? (i32 on the stack) */
function inRange(e: Emitter, l: number): void {
  const c = e.c;
  c.get(l).op(W.I64_REINTERPRET_F64).i64Const(52).op(W.I64_SHR_U).op(W.I32_WRAP_I64);
  c.i32Const(0x7ff)
    .op(W.I32_AND)
    .i32Const(EXP_LO)
    .op(W.I32_SUB)
    .i32Const(EXP_HI - EXP_LO)
    .op(W.I32_LT_U);
}

/**
 * Pushes (i32) whether the double in local `l` is finite, normal and above the lowest binade
 * (biased exponent 2 to 0x7fe). For a correctly rounded add, subtract, multiply, divide or
 * square root in RNE with such a result, the only flag the operation can raise is NX: an
 * invalid operation gives NaN, a division by zero or an overflow an infinity, and an
 * underflow (tiny after rounding) a subnormal, zero or, rounded up, the smallest normal
 * (biased exponent 1).
 */
function normalResult(e: Emitter, l: number): void {
  const c = e.c;
  c.get(l).op(W.I64_REINTERPRET_F64).i64Const(52).op(W.I64_SHR_U).op(W.I32_WRAP_I64);
  c.i32Const(0x7ff)
    .op(W.I32_AND)
    .i32Const(2)
    .op(W.I32_SUB)
    .i32Const(0x7fe - 2 + 1)
    .op(W.I32_LT_U);
}

/** Splits the double in `x` into hi/lo halves (Veltkamp): hi + lo = x, each 26 bits. */
function split(e: Emitter, x: number, hi: number, lo: number): void {
  const c = e.c;
  c.f64Const(SPLIT).get(x).op(W.F64_MUL).tee(hi); // hi = t for now
  c.get(hi).get(x).op(W.F64_SUB).op(W.F64_SUB).set(hi); // hi = t - (t - x)
  c.get(x).get(hi).op(W.F64_SUB).set(lo);
}

/**
 * Pushes (i32) whether the exact product x·y differs from the double in local `tgt` (pass
 * tgt = fl(x·y) to ask whether the product is inexact). Dekker's exact product: x·y = p + err
 * with p = fl(x·y), err computed exactly from the Veltkamp halves.
 */
function productNotEqual(e: Emitter, x: number, y: number, tgt: number): void {
  const c = e.c;
  const f = e.f;
  const p = f[8]!;
  c.get(x).get(y).op(W.F64_MUL).set(p);
  productError(e, x, y, p, [f[4]!, f[5]!, f[6]!, f[7]!]);
  c.f64Const(0).op(W.F64_NE);
  c.get(p).get(tgt).op(W.F64_NE).op(W.I32_OR);
}

/**
 * Pushes (f64) the error of p = fl(x·y): x·y = p + err exactly (Dekker), from the Veltkamp
 * halves of x and y, which go in the four scratch locals `t`.
 */
function productError(e: Emitter, x: number, y: number, p: number, t: readonly number[]): void {
  const c = e.c;
  const [xh, xl, yh, yl] = [t[0]!, t[1]!, t[2]!, t[3]!];
  split(e, x, xh, xl);
  split(e, y, yh, yl);
  // err = ((xh*yh - p) + xh*yl + xl*yh) + xl*yl
  c.get(xh).get(yh).op(W.F64_MUL).get(p).op(W.F64_SUB);
  c.get(xh).get(yl).op(W.F64_MUL).op(W.F64_ADD);
  c.get(xl).get(yh).op(W.F64_MUL).op(W.F64_ADD);
  c.get(xl).get(yl).op(W.F64_MUL).op(W.F64_ADD);
}

/**
 * Emits the native form of a double add/sub/mul/div/sqrt, sign injection or move, with a
 * run-time fallback to the helper. Returns false when the instruction has no native form.
 */
function fpNative(e: Emitter, insn: Insn): boolean {
  const c = e.c;
  const w = insn.w;
  const op = w & 511;
  const rd = (w >>> 9) & 63;
  const rs1 = (w >>> 15) & 31;
  const rs2 = (w >>> 20) & 31;
  const fd = rd & 31;
  if (op >= Op.FMADD_D && op <= Op.FNMADD_D) {
    if (insn.imm !== 0 && insn.imm !== 7) return false;
    fmaNative(e, insn);
    return true;
  }
  const SIGN_LO = 0;
  const SIGN_HI = 0x80000000 | 0;
  const arith =
    op === Op.FADD_D || op === Op.FSUB_D || op === Op.FMUL_D || op === Op.FDIV_D || op === Op.FSQRT_D;
  const moves =
    op === Op.FMV_X_D || op === Op.FMV_D_X || op === Op.FSGNJ_D || op === Op.FSGNJN_D || op === Op.FSGNJX_D;
  if (!arith && !moves) return false;
  if (arith && insn.imm !== 0 && insn.imm !== 7) return false;
  // need = FP on (bit 0), and RNE from frm (bit 1) for a dynamic rounding mode.
  const need = arith && insn.imm === 7 ? 3 : 1;
  c.get(e.fpState).i32Const(need).op(W.I32_AND).i32Const(need).op(W.I32_NE);
  e.open();
  emitFpCall(e, insn, -1);
  c.else();
  if (moves) {
    if (op === Op.FMV_X_D) {
      fBits(e, rs1);
      e.setX(rd);
    } else if (op === Op.FMV_D_X) {
      e.x(rs1);
      e.setFBits(fd);
    } else {
      fBits(e, rs1);
      if (op === Op.FSGNJ_D || op === Op.FSGNJN_D) c.i64ConstHalves(-1, 0x7fffffff).op(W.I64_AND);
      fBits(e, rs2);
      if (op === Op.FSGNJN_D) c.i64Const(-1).op(W.I64_XOR);
      c.i64ConstHalves(SIGN_LO, SIGN_HI).op(W.I64_AND);
      c.op(op === Op.FSGNJX_D ? W.I64_XOR : W.I64_OR);
      e.setFBits(fd);
    }
    fpDirtyOnce(e);
    e.close();
    return true;
  }
  const f = e.f;
  const [a, b, r, t] = [f[0]!, f[1]!, f[2]!, f[3]!];
  fF64(e, rs1);
  c.set(a);
  if (op !== Op.FSQRT_D) {
    fF64(e, rs2);
    if (op === Op.FSUB_D) c.op(W.F64_NEG);
    c.set(b);
  }
  c.get(a);
  if (op === Op.FSQRT_D) c.op(W.F64_SQRT);
  else c.get(b).op(op === Op.FMUL_D ? W.F64_MUL : op === Op.FDIV_D ? W.F64_DIV : W.F64_ADD);
  c.set(r);
  // Once NX is known to be set, a normal result is enough: every other flag comes with an
  // infinite, NaN, zero or subnormal result (normalResult). Before, the exactness test below
  // needs the operands and the result in the range where its error terms are exact.
  c.get(e.fpState).i32Const(NX_KNOWN).op(W.I32_AND);
  c.if(T.I32);
  normalResult(e, r);
  c.else();
  inRange(e, a);
  if (op !== Op.FSQRT_D) {
    inRange(e, b);
    c.op(W.I32_AND);
  }
  inRange(e, r);
  c.op(W.I32_AND);
  c.end();
  c.op(W.I32_EQZ);
  e.open();
  emitFpCall(e, insn, -1);
  c.else();
  // inexact? Only worth knowing while NX is clear (it is sticky).
  c.get(e.fpState).i32Const(NX_KNOWN).op(W.I32_AND).op(W.I32_EQZ);
  c.if();
  switch (op) {
    case Op.FADD_D:
    case Op.FSUB_D:
      // Knuth's TwoSum: err = (a - (r - bb)) + (b - bb), bb = r - a
      c.get(r).get(a).op(W.F64_SUB).set(t);
      c.get(a).get(r).get(t).op(W.F64_SUB).op(W.F64_SUB);
      c.get(b).get(t).op(W.F64_SUB).op(W.F64_ADD);
      c.f64Const(0).op(W.F64_NE);
      break;
    case Op.FMUL_D:
      productNotEqual(e, a, b, r);
      break;
    case Op.FDIV_D:
      productNotEqual(e, r, b, a); // a == r·b exactly?
      break;
    case Op.FSQRT_D:
      productNotEqual(e, r, r, a);
      break;
  }
  orFlags(e);
  c.end();
  c.get(r);
  e.setF64(fd);
  fpDirtyOnce(e);
  e.close();
  e.close();
  return true;
}

/**
 * fmadd.d, fmsub.d, fnmsub.d and fnmadd.d natively: Boldo and Melquiond's emulated FMA with
 * rounding to odd (IEEE Transactions on Computers 57(4), 2008). With (uh, ul) the exact product
 * a·b (Dekker), (th, tl) = TwoSum(c, uh) and v = tl + ul rounded to odd, RN(th + v) is the
 * correctly rounded a·b + c. Used when the rounding mode is RNE, the operands and the result
 * are in the native range (so nothing overflows, underflows or is special) and NX is already
 * set in fflags (the only flag the result could raise, so whether it is exact does not matter);
 * otherwise the helper runs the instruction.
 */
function fmaNative(e: Emitter, insn: Insn): void {
  const c = e.c;
  const f = e.f;
  const w = insn.w;
  const op = w & 511;
  const fd = (w >>> 9) & 31;
  const rs1 = (w >>> 15) & 31;
  const rs2 = (w >>> 20) & 31;
  const rs3 = (w >>> 25) & 31;
  const [a, b, z, uh, ah, al, bh, bl, ul] = [f[0]!, f[1]!, f[2]!, f[3]!, f[4]!, f[5]!, f[6]!, f[7]!, f[8]!];
  const need = insn.imm === 7 ? 3 : 1;
  c.get(e.fpState).i32Const(need).op(W.I32_AND).i32Const(need).op(W.I32_NE);
  e.open();
  emitFpCall(e, insn, -1);
  c.else();
  // -(a·b) = (-a)·b exactly; the subtracting forms negate c.
  fF64(e, rs1);
  if (op === Op.FNMSUB_D || op === Op.FNMADD_D) c.op(W.F64_NEG);
  c.set(a);
  fF64(e, rs2);
  c.set(b);
  fF64(e, rs3);
  if (op === Op.FMSUB_D || op === Op.FNMADD_D) c.op(W.F64_NEG);
  c.set(z);
  // The conditions on the operands and on fflags, left on the stack for the end.
  inRange(e, a);
  inRange(e, b);
  c.op(W.I32_AND);
  inRange(e, z);
  c.op(W.I32_AND);
  c.get(e.fpState).i32Const(NX_KNOWN).op(W.I32_AND).i32Const(0).op(W.I32_NE).op(W.I32_AND);
  // uh + ul = a·b exactly.
  c.get(a).get(b).op(W.F64_MUL).set(uh);
  productError(e, a, b, uh, [ah, al, bh, bl]);
  c.set(ul);
  // th (ah) + tl (al) = z + uh exactly (TwoSum; bh holds th - z).
  c.get(z).get(uh).op(W.F64_ADD).set(ah);
  c.get(ah).get(z).op(W.F64_SUB).set(bh);
  c.get(z).get(ah).get(bh).op(W.F64_SUB).op(W.F64_SUB);
  c.get(uh).get(bh).op(W.F64_SUB).op(W.F64_ADD).set(al);
  // v0 (bl) = RN(tl + ul), its error in uh (TwoSum; bh holds v0 - tl).
  c.get(al).get(ul).op(W.F64_ADD).set(bl);
  c.get(bl).get(al).op(W.F64_SUB).set(bh);
  c.get(al).get(bl).get(bh).op(W.F64_SUB).op(W.F64_SUB);
  c.get(ul).get(bh).op(W.F64_SUB).op(W.F64_ADD).set(uh);
  // Round to odd: an inexact v0 with an even last bit moves one ulp toward the exact sum
  // (away from zero when the error has v0's sign).
  c.get(bl).op(W.I64_REINTERPRET_F64);
  c.get(uh).f64Const(0).op(W.F64_NE);
  c.get(bl).op(W.I64_REINTERPRET_F64).op(W.I32_WRAP_I64).i32Const(1).op(W.I32_AND).op(W.I32_EQZ);
  c.op(W.I32_AND).op(W.I64_EXTEND_I32_U);
  c.i64Const(1);
  c.get(uh).op(W.I64_REINTERPRET_F64).get(bl).op(W.I64_REINTERPRET_F64).op(W.I64_XOR);
  c.i64Const(63).op(W.I64_SHR_U).i64Const(1).op(W.I64_SHL).op(W.I64_SUB);
  c.op(W.I64_MUL).op(W.I64_ADD).op(W.F64_REINTERPRET_I64).set(bl);
  // The result, RN(th + v), in a.
  c.get(ah).get(bl).op(W.F64_ADD).set(a);
  inRange(e, a);
  c.op(W.I32_AND).op(W.I32_EQZ);
  e.open();
  emitFpCall(e, insn, -1);
  c.else();
  c.get(a);
  e.setF64(fd);
  fpDirtyOnce(e);
  e.close();
  e.close();
}

/** fflags |= NX × (the i32 on the stack, 0 or 1). */
function orFlags(e: Emitter): void {
  const c = e.c;
  c.i32Const(NX).op(W.I32_MUL).set(e.t);
  c.get(P_BASE).get(P_BASE).mem(W.I32_LOAD, 2, FFLAGS_BYTE).get(e.t).op(W.I32_OR);
  c.mem(W.I32_STORE, 2, FFLAGS_BYTE);
  c.get(e.fpState).get(e.t).i32Const(3).op(W.I32_SHL).op(W.I32_OR).set(e.fpState);
}

/**
 * The soft-float helper for one F/D instruction. `idx` ≥ 0: the instruction's index in its
 * block (a refusal exits before it); -1: called from inside native code's structured blocks.
 */
export function emitFpCall(e: Emitter, insn: Insn, idx: number): void {
  const c = e.c;
  const op = insn.w & 511;
  if (idx < 0) idx = e.curIdx;
  e.flush(); // the helper reads x sources from the state block
  c.i32Const(insn.w).i32Const(insn.imm).call(FP_HELPER).op(W.I32_EQZ);
  e.open();
  e.exitConst(insn.off, idx, 1);
  e.close();
  const rd = (insn.w >>> 9) & 63;
  if (fpWritesX(op)) {
    if (rd > 0 && rd < 32) e.reloadX(rd);
  } else e.reloadF(rd & 31);
}
