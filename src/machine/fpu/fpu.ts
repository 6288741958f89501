/**
 * The soft FPU: IEEE 754 arithmetic for the RISC-V F and D extensions, for the interpreter.
 *
 * JavaScript numbers are binary64 with round-to-nearest-even only and no exception flags; these
 * functions give correctly rounded results in all five RISC-V rounding modes (`Rm`, the `frm`
 * encoding) and exactly the accrued flags the RISC-V unprivileged spec ("F" and "D" chapters)
 * asks for: tininess detected after rounding, UF only when tiny and inexact, OF implying NX, DZ
 * for x/0 with finite nonzero x, -0 for an exact zero sum only under RDN, sqrt(-0) = -0, and full
 * subnormal support.
 *
 * Contract with the caller (the hart's interpreter):
 *  - Registers stay raw bits in the caller's typed arrays; values cross as numbers. A binary32
 *    operand is a number holding its exact value; a binary32 result is a number holding a binary32
 *    value (what Math.fround would return).
 *  - Arithmetic operands are never NaN: the caller handles NaN operands itself, as it needs the
 *    signalling bit. Results may be NaN (e.g. inf - inf, 0 × inf, sqrt(-1)); NV is then raised and
 *    the caller writes the canonical NaN. Conversions to integer and fclass do take NaNs.
 *  - Flags are ORed into `fexc.flags`, never cleared; the caller moves them to `fflags`. 64-bit
 *    integer results come back in `fexc.lo` / `fexc.hi`, 64-bit integer operands go in as int32
 *    (or uint32) halves lo, hi.
 *  - fmsub, fnmsub and fnmadd are `fma64`/`fma32` with negated operands: a*b - c = fma(a, b, -c),
 *    -(a*b) + c = fma(-a, b, c), -(a*b) - c = fma(-a, b, -c).
 *
 * The common case (normal operands, any mode) is the host's operation plus an error-free
 * transform and no allocation; rare cases near overflow or in the subnormal range take an exact
 * BigInt path (binary64 only; binary32 never needs one).
 */
export { Rm, FFlag, fexc } from './round.ts';
export { add64, sub64, mul64, div64, sqrt64, fma64 } from './f64.ts';
export { add32, sub32, mul32, div32, sqrt32, fma32, f64ToF32 } from './f32.ts';
export {
  toI32,
  toU32,
  toI64,
  toU64,
  i64ToF64,
  u64ToF64,
  i64ToF32,
  u64ToF32,
  i32ToF32,
  u32ToF32,
  classify64,
  classify32,
} from './convert.ts';
