/**
 * binary64 arithmetic for the D extension: add, sub, mul, div, sqrt and fused multiply-add,
 * correctly rounded in all five RISC-V rounding modes with exact accrued flags.
 *
 * The host computes the round-to-nearest-even result; an error-free transform (TwoSum, Dekker's
 * product, or the division/square-root remainder, which is exactly representable) gives the exact
 * remainder, whose sign and size decide NX and the one-ulp correction of the other modes. That
 * fast path covers every result with normal operands comfortably inside the exponent range; the
 * rest (results near overflow or in the subnormal range) goes to an exact BigInt path.
 *
 * Operands are never NaN: the caller handles NaN operands (it needs the signalling bit). Results
 * may be NaN (inf - inf, 0 * inf, 0/0, inf/inf, sqrt of a negative): then NV is raised and the
 * caller canonicalizes the bits.
 */
import { FFlag, Rm, expOf, fexc, fin64, isMid64, mantOf, prodErr, roundBig } from './round.ts';

const P2_M968 = 2 ** -968; // below this, Dekker's partial products may underflow
const P2_M1021 = 2 ** -1021;
const P2_1023 = 2 ** 1023;
const P2_108 = 2 ** 108;
const P2_M54 = 2 ** -54;
const P2_M108 = 2 ** -108;
const P2_54 = 2 ** 54;

function invalid(): number {
  fexc.flags |= FFlag.NV;
  return NaN;
}

/** The exact-zero result of a sum: +0, or -0 under RDN; (-0) + (-0) is -0 in every mode. */
function zeroSum(a: number, b: number, rm: number): number {
  return rm === Rm.RDN ? -(-a + -b) : a + b;
}

/** a + b (fadd.d). */
export function add64(a: number, b: number, rm: number): number {
  const s = a + b;
  const v = s - a;
  const e = a - (s - v) + (b - v);
  if (e === 0) return s === 0 ? zeroSum(a, b, rm) : s;
  if (e !== e) return addSpecial(a, b, s, rm);
  // An inexact sum is at least 2^-969 in magnitude: no underflow is possible.
  if (rm === Rm.RNE) {
    fexc.flags |= FFlag.NX;
    return s;
  }
  return fin64(s, e, rm === Rm.RMM && isMid64(s, e), rm);
}

/** a - b (fsub.d). */
export function sub64(a: number, b: number, rm: number): number {
  return add64(a, -b, rm);
}

function addSpecial(a: number, b: number, s: number, rm: number): number {
  if (s !== s) return invalid(); // inf - inf
  if (a - a !== 0 || b - b !== 0) return s; // an infinite operand: exact
  return bigSum(a, b, rm); // overflow
}

/** The correctly rounded a + b of finite a, b via BigInt. */
function bigSum(a: number, b: number, rm: number): number {
  const ea = expOf(a);
  const eb = expOf(b);
  const e0 = Math.min(ea, eb);
  let ma = BigInt(mantOf(a)) << BigInt(ea - e0);
  let mb = BigInt(mantOf(b)) << BigInt(eb - e0);
  if (a < 0) ma = -ma;
  if (b < 0) mb = -mb;
  const m = ma + mb;
  if (m === 0n) return zeroSum(a, b, rm);
  return m < 0n ? roundBig(true, -m, e0, false, rm) : roundBig(false, m, e0, false, rm);
}

/** a × b (fmul.d). */
export function mul64(a: number, b: number, rm: number): number {
  const p = a * b;
  const ap = Math.abs(p);
  if (ap >= P2_M968 && ap < P2_1023) {
    const e = prodErr(a, b, p);
    if (e === 0) return p;
    if (e === e) {
      if (rm === Rm.RNE) {
        fexc.flags |= FFlag.NX;
        return p;
      }
      return fin64(p, e, rm === Rm.RMM && isMid64(p, e), rm);
    }
  }
  return mulSlow(a, b, p, rm);
}

function mulSlow(a: number, b: number, p: number, rm: number): number {
  if (p !== p) return invalid(); // 0 × inf
  if (a === 0 || b === 0 || a - a !== 0 || b - b !== 0) return p; // exact zero or infinity
  const m = BigInt(mantOf(a)) * BigInt(mantOf(b));
  return roundBig(a < 0 !== b < 0, m, expOf(a) + expOf(b), false, rm);
}

/** a ÷ b (fdiv.d). x/0 for finite nonzero x raises DZ. */
export function div64(a: number, b: number, rm: number): number {
  const q = a / b;
  const aa = Math.abs(a);
  if (aa >= P2_M968 && aa < P2_1023 && Math.abs(q) >= P2_M1021) {
    // The remainder a - q*b of a correctly rounded quotient is exactly representable. With
    // |a| < 2^1023 none of Dekker's partial products of q*b overflows.
    const p = q * b;
    const r = a - p - prodErr(q, b, p);
    if (r === 0) return q;
    if (r === r) {
      // A quotient of normal numbers is never a tie.
      if (rm === Rm.RNE) {
        fexc.flags |= FFlag.NX;
        return q;
      }
      return fin64(q, b < 0 ? -r : r, false, rm);
    }
  }
  return divSlow(a, b, q, rm);
}

function divSlow(a: number, b: number, q: number, rm: number): number {
  const aInf = a - a !== 0;
  if (b === 0) {
    if (a === 0) return invalid();
    if (!aInf) fexc.flags |= FFlag.DZ;
    return q;
  }
  if (aInf) return b - b !== 0 ? invalid() : q;
  if (a === 0 || b - b !== 0) return q; // exact zero
  // Enough quotient bits (at least 55) that the remainder only acts as a sticky bit.
  const ma = BigInt(mantOf(a));
  const mb = BigInt(mantOf(b));
  const k = 55 + mb.toString(2).length - ma.toString(2).length;
  const n = ma << BigInt(k);
  const m = n / mb;
  return roundBig(a < 0 !== b < 0, m, expOf(a) - expOf(b) - k, m * mb !== n, rm);
}

/** √a (fsqrt.d). sqrt(-0) = -0; a negative operand is invalid. */
export function sqrt64(a: number, rm: number): number {
  if (a > 0 && a < Infinity) {
    if (a >= P2_M968 && a < P2_1023) return sqrtNormal(a, rm);
    // Scale by an even power of two so the remainder can neither underflow nor overflow; the
    // root is at least 2^-537, so scaling it back is exact.
    return a < 1 ? sqrtNormal(a * P2_108, rm) * P2_M54 : sqrtNormal(a * P2_M108, rm) * P2_54;
  }
  if (a === 0 || a === Infinity) return a;
  return invalid();
}

function sqrtNormal(a: number, rm: number): number {
  const s = Math.sqrt(a);
  const p = s * s;
  const r = a - p - prodErr(s, s, p); // exact remainder; a square root is never a tie
  if (r === 0) return s;
  if (rm === Rm.RNE) {
    fexc.flags |= FFlag.NX;
    return s;
  }
  return fin64(s, r, false, rm);
}

/**
 * a × b + c with one rounding (fmadd.d). The caller negates operands for fmsub.d (c), fnmsub.d (a)
 * and fnmadd.d (a and c).
 *
 * Fast path: a*b = uh + ul exactly (Dekker), c + uh = th + tl (TwoSum), tl + ul = r + re and
 * th + r = z + ze (TwoSum), so X = z + ze + re exactly, and re is far smaller than the spacing of
 * the values ze can take. So z = RN(th + r) is RN(X) except when th + r was exactly a midpoint and
 * re pushes X past it; and the sign of X - z is that of ze, or of re when ze = 0.
 */
export function fma64(a: number, b: number, c: number, rm: number): number {
  const uh = a * b;
  if (Math.abs(uh) >= P2_M968) {
    const ul = prodErr(a, b, uh);
    const th = c + uh;
    let v = th - c;
    const tl = c - (th - v) + (uh - v);
    const r = tl + ul;
    v = r - tl;
    const re = tl - (r - v) + (ul - v);
    const z = th + r;
    v = z - th;
    const ze = th - (z - v) + (r - v);
    // Guards: no overflow anywhere (a NaN from an overflowing split fails the test too). An
    // inexact X is a sum of multiples of 2^-1074 that needs more than 53 bits: |X| > 2^-969.
    if (Math.abs(z) < P2_1023) {
      if (ze === 0 && re === 0) return z === 0 ? (rm === Rm.RDN ? -0 : 0) : z;
      if (rm === Rm.RNE) {
        fexc.flags |= FFlag.NX;
        if (re !== 0 && ze !== 0 && re > 0 === ze > 0) {
          const t = ze + ze;
          if (z + t - z === t) return z + t; // X is past the midpoint th + r
        }
        return z;
      }
      return fmaFinish(z, ze, re, rm);
    }
  }
  return fmaSlow(a, b, c, uh, rm);
}

function fmaFinish(z: number, ze: number, re: number, rm: number): number {
  let err = ze !== 0 ? ze : re;
  let tie = false;
  if (ze !== 0) {
    const t = ze + ze;
    if (z + t - z === t) {
      // th + r is a midpoint: an exact tie, or X lies past it (then z + t is nearest) or short.
      if (re === 0) tie = true;
      else if (re > 0 === ze > 0) {
        z += t;
        err = -ze;
      }
    }
  }
  return fin64(z, err, tie, rm);
}

function fmaSlow(a: number, b: number, c: number, p: number, rm: number): number {
  if (p !== p) return invalid(); // 0 × inf
  if (a - a !== 0 || b - b !== 0) {
    const s = p + c; // an infinite product
    return s !== s ? invalid() : s;
  }
  if (c - c !== 0) return c;
  if (a === 0 || b === 0) return c !== 0 ? c : zeroSum(p, c, rm);
  // A finite nonzero product: X exactly, then one rounding.
  const neg = a < 0 !== b < 0;
  let m = BigInt(mantOf(a)) * BigInt(mantOf(b));
  const pe = expOf(a) + expOf(b);
  if (c === 0) return roundBig(neg, m, pe, false, rm);
  const ce = expOf(c);
  const e0 = Math.min(pe, ce);
  m <<= BigInt(pe - e0);
  let mc = BigInt(mantOf(c)) << BigInt(ce - e0);
  if (neg) m = -m;
  if (c < 0) mc = -mc;
  const s = m + mc;
  if (s === 0n) return rm === Rm.RDN ? -0 : 0;
  return s < 0n ? roundBig(true, -s, e0, false, rm) : roundBig(false, s, e0, false, rm);
}
