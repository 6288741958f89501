/**
 * binary32 arithmetic for the F extension, and fcvt.s.d, correctly rounded in all five RISC-V
 * rounding modes with exact accrued flags.
 *
 * Operands are numbers holding exact binary32 values, never NaN; results are numbers holding
 * binary32 values (what Math.fround returns), or NaN with NV raised for invalid operations.
 *
 * Each operation is first done exactly in binary64, or to within a remainder whose sign is known:
 * a binary32 product is exact in binary64, so is a*b + c as a double plus a TwoSum error, and a
 * quotient or square root comes with its exactly representable remainder. `round32` then rounds
 * that once to binary32, so there is no double rounding in any mode.
 */
import { FFlag, Rm, fexc, prodErr, round32 } from './round.ts';

function invalid(): number {
  fexc.flags |= FFlag.NV;
  return NaN;
}

/** The correctly rounded a + b, for a, b exact in binary64 and well inside its range. */
function sum32(a: number, b: number, rm: number): number {
  const s = a + b;
  if (s - s !== 0) return s !== s ? invalid() : s; // inf - inf, or an infinite operand
  if (s === 0) return rm === Rm.RDN ? -(-a + -b) : s; // an exact zero: -0 only under RDN
  const v = s - a;
  return round32(s, a - (s - v) + (b - v), rm);
}

/** a + b (fadd.s). */
export function add32(a: number, b: number, rm: number): number {
  return sum32(a, b, rm);
}

/** a - b (fsub.s). */
export function sub32(a: number, b: number, rm: number): number {
  return sum32(a, -b, rm);
}

/** a × b (fmul.s); the binary64 product of two binary32 values is exact. */
export function mul32(a: number, b: number, rm: number): number {
  const p = a * b;
  if (p - p !== 0) return p !== p ? invalid() : p;
  return p === 0 ? p : round32(p, 0, rm);
}

/** a ÷ b (fdiv.s). x/0 for finite nonzero x raises DZ. */
export function div32(a: number, b: number, rm: number): number {
  const q = a / b;
  if (q - q !== 0 || q === 0) {
    // binary32 operands cannot make a binary64 quotient overflow or underflow.
    if (b === 0) {
      if (a === 0) return invalid();
      if (a - a === 0) fexc.flags |= FFlag.DZ;
      return q;
    }
    return q !== q ? invalid() : q; // inf/inf, or an exact inf or zero
  }
  const p = q * b;
  const r = a - p - prodErr(q, b, p); // the exact remainder a - q*b
  return round32(q, b < 0 ? -r : r, rm);
}

/** √a (fsqrt.s). sqrt(-0) = -0; a negative operand is invalid. */
export function sqrt32(a: number, rm: number): number {
  if (a > 0 && a < Infinity) {
    const s = Math.sqrt(a);
    const p = s * s;
    return round32(s, a - p - prodErr(s, s, p), rm);
  }
  if (a === 0 || a === Infinity) return a;
  return invalid();
}

/** a × b + c with one rounding (fmadd.s); the caller negates operands for the other three. */
export function fma32(a: number, b: number, c: number, rm: number): number {
  return sum32(a * b, c, rm); // 0 × inf gives NaN, which sum32 reports as invalid
}

/** fcvt.s.d for a non-NaN binary64 `a`. */
export function f64ToF32(a: number, rm: number): number {
  if (a === 0 || a - a !== 0) return a; // zeros and infinities convert exactly
  return round32(a, 0, rm);
}
