/**
 * 64-bit integer multiply and divide on int32 halves (no BigInt on the common paths), as the
 * M extension defines them: MULH/MULHU/MULHSU give the high 64 bits of the 128-bit product;
 * division by zero gives all ones (quotient) and the dividend (remainder); signed overflow
 * (-2^63 / -1) gives the dividend and 0. Results are left in `r.lo` / `r.hi`.
 */
// Non-Smi initial values: the fields keep a double representation (see Hart.tmpLo).
export const r = { lo: 0.5, hi: 0.5 };

const TWO32 = 4294967296;

/** High 32 bits of the unsigned 32×32 product. */
export function umulh32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
}

/** Low 64 bits of the product (MUL). */
export function mul64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  r.lo = Math.imul(aLo, bLo);
  r.hi = (umulh32(aLo, bLo) + Math.imul(aLo, bHi) + Math.imul(aHi, bLo)) | 0;
}

/** High 64 bits of the unsigned 128-bit product (MULHU). */
export function mulhu64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  // Words of a and b: a = a1:a0, b = b1:b0; product words w0..w3.
  const p00h = umulh32(aLo, bLo) >>> 0;
  const p01l = Math.imul(aLo, bHi) >>> 0;
  const p01h = umulh32(aLo, bHi) >>> 0;
  const p10l = Math.imul(aHi, bLo) >>> 0;
  const p10h = umulh32(aHi, bLo) >>> 0;
  const p11l = Math.imul(aHi, bHi) >>> 0;
  const p11h = umulh32(aHi, bHi) >>> 0;
  const w1 = p00h + p01l + p10l; // < 3 * 2^32
  const c1 = Math.floor(w1 / TWO32);
  const w2 = p01h + p10h + p11l + c1;
  const c2 = Math.floor(w2 / TWO32);
  r.lo = w2 | 0; // w2 mod 2^32 (ToInt32 wraps)
  r.hi = (p11h + c2) | 0;
}

/** High 64 bits of the signed × signed product (MULH). */
export function mulh64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  mulhu64(aLo, aHi, bLo, bHi);
  // Signed correction: hi(a*b) = hiu(a*b) - (a<0 ? b : 0) - (b<0 ? a : 0)  (mod 2^64)
  if (aHi < 0) sub(bLo, bHi);
  if (bHi < 0) sub(aLo, aHi);
}

/** High 64 bits of signed a × unsigned b (MULHSU). */
export function mulhsu64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  mulhu64(aLo, aHi, bLo, bHi);
  if (aHi < 0) sub(bLo, bHi);
}

function sub(lo: number, hi: number): void {
  const l = (r.lo - lo) | 0;
  const borrow = r.lo >>> 0 < lo >>> 0 ? 1 : 0;
  r.hi = (r.hi - hi - borrow) | 0;
  r.lo = l;
}

const LIMIT = 4503599627370496; // 2^52: quotient correction stays exact below this

function setNumber(v: number): void {
  // v is an integer with |v| < 2^53
  const hi = Math.floor(v / TWO32);
  r.lo = (v - hi * TWO32) | 0;
  r.hi = hi | 0;
}

function setBig(v: bigint): void {
  r.lo = Number(BigInt.asIntN(32, v));
  r.hi = Number(BigInt.asIntN(32, v >> 32n));
}

function toBigS(lo: number, hi: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo >>> 0);
}

function toBigU(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Signed 64-bit division; `rem` selects the remainder. */
export function div64(aLo: number, aHi: number, bLo: number, bHi: number, rem: boolean): void {
  if (bLo === 0 && bHi === 0) {
    if (rem) {
      r.lo = aLo;
      r.hi = aHi;
    } else {
      r.lo = -1;
      r.hi = -1;
    }
    return;
  }
  if (bLo === -1 && bHi === -1 && aLo === 0 && aHi === (0x80000000 | 0)) {
    if (rem) {
      r.lo = 0;
      r.hi = 0;
    } else {
      r.lo = aLo;
      r.hi = aHi;
    }
    return;
  }
  const a = aHi * TWO32 + (aLo >>> 0);
  const b = bHi * TWO32 + (bLo >>> 0);
  if (a > -LIMIT && a < LIMIT && b > -LIMIT && b < LIMIT) {
    let q = Math.trunc(a / b);
    let m = a - q * b;
    // Correct a quotient that rounding pushed across an integer (|m| must be < |b|, sign of a).
    if (m !== 0 && m < 0 !== a < 0) {
      q += a < 0 === b < 0 ? -1 : 1;
      m = a - q * b;
    } else if (Math.abs(m) >= Math.abs(b)) {
      q += a < 0 === b < 0 ? 1 : -1;
      m = a - q * b;
    }
    setNumber(rem ? m : q);
    return;
  }
  const A = toBigS(aLo, aHi);
  const B = toBigS(bLo, bHi);
  setBig(rem ? A % B : A / B);
}

/** Unsigned 64-bit division; `rem` selects the remainder. */
export function divu64(aLo: number, aHi: number, bLo: number, bHi: number, rem: boolean): void {
  if (bLo === 0 && bHi === 0) {
    if (rem) {
      r.lo = aLo;
      r.hi = aHi;
    } else {
      r.lo = -1;
      r.hi = -1;
    }
    return;
  }
  const a = (aHi >>> 0) * TWO32 + (aLo >>> 0);
  const b = (bHi >>> 0) * TWO32 + (bLo >>> 0);
  if (a < LIMIT && b < LIMIT) {
    let q = Math.floor(a / b);
    let m = a - q * b;
    if (m < 0) {
      q -= 1;
      m += b;
    } else if (m >= b) {
      q += 1;
      m -= b;
    }
    setNumber(rem ? m : q);
    return;
  }
  const A = toBigU(aLo, aHi);
  const B = toBigU(bLo, bHi);
  setBig(rem ? A % B : A / B);
}
