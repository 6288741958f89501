/**
 * Conversions between floating point and integers (fcvt.{w,wu,l,lu}.{s,d} and back) and fclass.
 *
 * To integer, RISC-V semantics: the operand is rounded to an integer in `rm`; if that integer does
 * not fit the destination, or the operand is NaN, the result is the nearest bound (NaN: the
 * maximum) and only NV is raised; otherwise NX is raised when the rounding was inexact. The same
 * functions serve binary32 operands, whose values are exact in a number.
 *
 * From integer: i32/u32 -> binary64 is exact and has no function here. 64-bit integers arrive as
 * int32 halves; hi × 2^32 + lo is formed exactly as a double-double by TwoSum, then rounded once.
 */
import { FFlag, Rm, P2_32, fexc, fin64, isMid64, round32 } from './round.ts';

const P2_52 = 2 ** 52;
const P2_63 = 2 ** 63;
const P2_64 = 2 ** 64;

let rintInexact = false;

/** a rounded to an integral value in `rm` (a not NaN); sets `rintInexact`. */
function rint(a: number, rm: number): number {
  rintInexact = false;
  const x = Math.abs(a);
  if (!(x < P2_52)) return a; // already integral (or infinite)
  const f = Math.floor(x);
  const frac = x - f; // exact
  if (frac === 0) return a;
  rintInexact = true;
  let up: boolean; // round the magnitude up
  switch (rm) {
    case Rm.RTZ:
      up = false;
      break;
    case Rm.RDN:
      up = a < 0;
      break;
    case Rm.RUP:
      up = a > 0;
      break;
    case Rm.RMM:
      up = frac >= 0.5;
      break;
    default:
      up = frac > 0.5 || (frac === 0.5 && f % 2 === 1);
  }
  const m = up ? f + 1 : f;
  return a < 0 ? -m : m;
}

/** fcvt.w.[sd]: the int32 result. */
export function toI32(a: number, rm: number): number {
  if (a === a) {
    const r = rint(a, rm);
    if (r >= -2147483648 && r <= 2147483647) {
      if (rintInexact) fexc.flags |= FFlag.NX;
      return r | 0;
    }
    if (r < 0) {
      fexc.flags |= FFlag.NV;
      return -2147483648;
    }
  }
  fexc.flags |= FFlag.NV;
  return 2147483647;
}

/** fcvt.wu.[sd]: the uint32 result as an int32 bit pattern. */
export function toU32(a: number, rm: number): number {
  if (a === a) {
    const r = rint(a, rm);
    if (r >= 0 && r <= 4294967295) {
      if (rintInexact) fexc.flags |= FFlag.NX;
      return r | 0;
    }
    if (r < 0) {
      fexc.flags |= FFlag.NV;
      return 0;
    }
  }
  fexc.flags |= FFlag.NV;
  return -1;
}

/** Stores integral r (|r| < 2^64) as two's-complement halves in fexc.lo / fexc.hi. */
function split(r: number): void {
  const hi = Math.floor(r / P2_32);
  fexc.lo = (r - hi * P2_32) | 0;
  fexc.hi = hi | 0;
}

/** fcvt.l.[sd]: the int64 result in fexc.lo / fexc.hi. */
export function toI64(a: number, rm: number): void {
  if (a === a) {
    const r = rint(a, rm);
    if (r >= -P2_63 && r < P2_63) {
      if (rintInexact) fexc.flags |= FFlag.NX;
      split(r);
      return;
    }
    if (r < 0) {
      fexc.flags |= FFlag.NV;
      fexc.lo = 0;
      fexc.hi = -2147483648;
      return;
    }
  }
  fexc.flags |= FFlag.NV;
  fexc.lo = -1;
  fexc.hi = 2147483647;
}

/** fcvt.lu.[sd]: the uint64 result in fexc.lo / fexc.hi. */
export function toU64(a: number, rm: number): void {
  if (a === a) {
    const r = rint(a, rm);
    if (r >= 0 && r < P2_64) {
      if (rintInexact) fexc.flags |= FFlag.NX;
      split(r);
      return;
    }
    if (r < 0) {
      fexc.flags |= FFlag.NV;
      fexc.lo = 0;
      fexc.hi = 0;
      return;
    }
  }
  fexc.flags |= FFlag.NV;
  fexc.lo = -1;
  fexc.hi = -1;
}

/** x + y rounded to binary64, for an exact double-double from `toDouble64`. */
function int64ToF64(x: number, y: number, rm: number): number {
  const s = x + y;
  const v = s - x;
  const e = x - (s - v) + (y - v);
  if (e === 0) return s;
  if (rm === Rm.RNE) {
    fexc.flags |= FFlag.NX;
    return s;
  }
  return fin64(s, e, rm === Rm.RMM && isMid64(s, e), rm);
}

function int64ToF32(x: number, y: number, rm: number): number {
  const s = x + y;
  const v = s - x;
  return round32(s, x - (s - v) + (y - v), rm);
}

/** fcvt.d.l of the int64 hi:lo. */
export function i64ToF64(lo: number, hi: number, rm: number): number {
  return int64ToF64((hi | 0) * P2_32, lo >>> 0, rm);
}

/** fcvt.d.lu of the uint64 hi:lo. */
export function u64ToF64(lo: number, hi: number, rm: number): number {
  return int64ToF64((hi >>> 0) * P2_32, lo >>> 0, rm);
}

/** fcvt.s.l of the int64 hi:lo. */
export function i64ToF32(lo: number, hi: number, rm: number): number {
  return int64ToF32((hi | 0) * P2_32, lo >>> 0, rm);
}

/** fcvt.s.lu of the uint64 hi:lo. */
export function u64ToF32(lo: number, hi: number, rm: number): number {
  return int64ToF32((hi >>> 0) * P2_32, lo >>> 0, rm);
}

/** fcvt.s.w of the int32 v. */
export function i32ToF32(v: number, rm: number): number {
  return round32(v | 0, 0, rm);
}

/** fcvt.s.wu of the uint32 v (given as its int32 bit pattern or as the unsigned value). */
export function u32ToF32(v: number, rm: number): number {
  return round32(v >>> 0, 0, rm);
}

// fclass result bits
const NEG_INF = 1 << 0;
const NEG_NORMAL = 1 << 1;
const NEG_SUBNORMAL = 1 << 2;
const NEG_ZERO = 1 << 3;
const POS_ZERO = 1 << 4;
const POS_SUBNORMAL = 1 << 5;
const POS_NORMAL = 1 << 6;
const POS_INF = 1 << 7;
const SNAN = 1 << 8;
const QNAN = 1 << 9;

/** fclass.d of the binary64 with bits hi:lo: the 10-bit class mask. */
export function classify64(lo: number, hi: number): number {
  const exp = (hi >>> 20) & 0x7ff;
  const fracZero = (hi & 0xfffff) === 0 && lo === 0;
  return classOf((hi | 0) < 0, exp, 0x7ff, fracZero, (hi & 0x80000) !== 0);
}

/** fclass.s of the binary32 with bits `bits`: the 10-bit class mask. */
export function classify32(bits: number): number {
  const exp = (bits >>> 23) & 0xff;
  return classOf((bits | 0) < 0, exp, 0xff, (bits & 0x7fffff) === 0, (bits & 0x400000) !== 0);
}

function classOf(neg: boolean, exp: number, expMax: number, fracZero: boolean, quiet: boolean): number {
  if (exp === expMax) {
    if (!fracZero) return quiet ? QNAN : SNAN;
    return neg ? NEG_INF : POS_INF;
  }
  if (exp === 0) {
    if (fracZero) return neg ? NEG_ZERO : POS_ZERO;
    return neg ? NEG_SUBNORMAL : POS_SUBNORMAL;
  }
  return neg ? NEG_NORMAL : POS_NORMAL;
}
