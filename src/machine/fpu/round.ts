/**
 * Shared machinery of the soft FPU: the rounding-mode and flag encodings, the accrued-flag cell,
 * and the three ways a result gets its final rounding.
 *
 *  - `fin64` finishes a binary64 result whose round-to-nearest-even value `z` the host already
 *    computed, given the sign of the exact remainder: it steps `z` by one ulp where a directed mode
 *    or a tie away from zero says so. It knows nothing of underflow, so callers only use it where
 *    the exact value is far from the subnormal range.
 *  - `round32` rounds a binary64 value plus a tiny remainder to binary32 in any mode, with exact
 *    UF/OF/NX (tininess after rounding), on the host's doubles alone.
 *  - `roundBig` rounds an exact BigInt significand to binary64: the rare slow path for results
 *    near overflow or in the subnormal range, where the error-free transforms stop being exact.
 *
 * Numbers are read and written as bits through scratch typed arrays, which assumes a
 * little-endian host (every platform a browser or Node.js runs on); module load checks it.
 */

/** The `frm` / instruction `rm` encodings of the five IEEE 754 rounding-direction attributes. */
export const enum Rm {
  RNE = 0,
  RTZ = 1,
  RDN = 2,
  RUP = 3,
  RMM = 4,
}

/** The `fflags` bits. */
export const enum FFlag {
  NX = 1,
  UF = 2,
  OF = 4,
  DZ = 8,
  NV = 16,
}

/**
 * Accrued flags: every function ORs the flags it raises into `flags` and never clears them.
 * Integer results of 64 bits come back in `lo` / `hi` (int32 halves).
 */
// lo/hi start as non-Smi numbers so that V8 gives the fields a double representation from the
// start; int32 results above 2^30 would otherwise change the object's map later and make
// optimized callers bail out.
export const fexc: { flags: number; lo: number; hi: number } = { flags: 0, lo: 0.5, hi: 0.5 };
fexc.lo = 0;
fexc.hi = 0;

const f64 = new Float64Array(1);
const w64 = new Int32Array(f64.buffer); // [0] = low word, [1] = high word (sign, exponent)
const f32 = new Float32Array(1);
const w32 = new Int32Array(f32.buffer);
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('the soft FPU needs a little-endian host');
}

/** Veltkamp's splitting constant 2^27 + 1: `SPLIT * x` cuts a double into two 26-bit halves. */
export const SPLIT = 134217729;
export const MAX32 = 3.4028234663852886e38;
export const P2_32 = 4294967296;
export const P2_53 = 9007199254740992;

/**
 * The exact rounding error of `p = a * b` (Dekker's product): a*b = p + result exactly, provided
 * no partial product overflows or underflows (|a|, |b| < 2^995, |p| >= 2^-968). Outside that, the
 * result may be NaN (overflowing split) or wrong (underflow); callers range-check first.
 */
export function prodErr(a: number, b: number, p: number): number {
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

/** Whether z + e lies exactly halfway between z and its neighbour on e's side (e != 0). */
export function isMid64(z: number, e: number): boolean {
  const t = e + e;
  return z + t - z === t;
}

/** The binary64 next to nonzero finite `z`, one ulp further from zero; raises OF on reaching inf. */
function out64(z: number): number {
  f64[0] = z;
  const lo = w64[0]!;
  if (lo === -1) {
    w64[0] = 0;
    w64[1] = w64[1]! + 1;
  } else {
    w64[0] = lo + 1;
  }
  const r = f64[0]!;
  if (r - r !== 0) fexc.flags |= FFlag.OF;
  return r;
}

/** The binary64 next to nonzero `z`, one ulp closer to zero. */
function in64(z: number): number {
  f64[0] = z;
  const lo = w64[0]!;
  if (lo === 0) {
    w64[0] = -1;
    w64[1] = w64[1]! - 1;
  } else {
    w64[0] = lo - 1;
  }
  return f64[0]!;
}

/**
 * Finishes an inexact binary64 result. `z` is the nonzero round-to-nearest-even value of the exact
 * result X, `err` has the sign of X - z, and `tie` says X is exactly halfway between z and its
 * neighbour. Requires |X| well inside the normal range (no underflow possible; stepping past the
 * largest finite number is handled and raises OF). Raises NX.
 */
export function fin64(z: number, err: number, tie: boolean, rm: number): number {
  fexc.flags |= FFlag.NX;
  const away = err > 0 !== z < 0; // X is further from zero than z
  switch (rm) {
    case Rm.RTZ:
      return away ? z : in64(z);
    case Rm.RDN:
      return z < 0 ? (away ? out64(z) : z) : away ? z : in64(z);
    case Rm.RUP:
      return z < 0 ? (away ? z : in64(z)) : away ? out64(z) : z;
    case Rm.RMM:
      return tie && away ? out64(z) : z;
    default:
      return z;
  }
}

/** The rounded result of an overflow in `rm`; raises OF and NX. */
export function overflow64(neg: boolean, rm: number): number {
  fexc.flags |= FFlag.OF | FFlag.NX;
  const inf = rm === Rm.RNE || rm === Rm.RMM || (rm === Rm.RUP && !neg) || (rm === Rm.RDN && neg);
  const r = inf ? Infinity : Number.MAX_VALUE;
  return neg ? -r : r;
}

function overflow32(neg: boolean, rm: number): number {
  fexc.flags |= FFlag.OF | FFlag.NX;
  const inf = rm === Rm.RNE || rm === Rm.RMM || (rm === Rm.RUP && !neg) || (rm === Rm.RDN && neg);
  const r = inf ? Infinity : MAX32;
  return neg ? -r : r;
}

// ---- binary32 -------------------------------------------------------------------------------

const P2_64 = 2 ** 64;
const P2_M64 = 2 ** -64;
const P2_127 = 2 ** 127;
const P2_128 = 2 ** 128;
const P2_M62 = 2 ** -62;
const P2_M125 = 2 ** -125;
const P2_M127 = 2 ** -127;
const MAX32_M64 = MAX32 * P2_M64;

/** Set by `core32`: whether its rounding was inexact. */
let inexact = false;

/**
 * Rounds X = x + ε to binary32 in `rm` on the unbounded-exponent grid the host's `Math.fround`
 * gives (so subnormal results are right, overflow is not handled). Only the sign of `e` is used:
 * ε has that sign (0: X = x) and |ε| is below half an ulp of x as a double, so ε matters only
 * where x itself is a binary32 value or a midpoint. x = 0 requires e = 0. Sets `inexact`.
 */
function core32(x: number, e: number, rm: number): number {
  let r = Math.fround(x);
  const d = x - r; // exact: x and r are doubles one binary32 ulp apart at most
  if (d === 0 && e === 0) {
    inexact = false;
    return r;
  }
  inexact = true;
  let err = d !== 0 ? d : e; // the sign of X - r
  let tie = false;
  if (d !== 0) {
    const t = d + d;
    if (Math.fround(r + t) === r + t) {
      // x is exactly halfway between r and r + t: ε decides, or it is a tie.
      if (e === 0) tie = true;
      else if (e > 0 === d > 0) {
        r += t;
        err = -d;
      }
    }
  }
  const away = err > 0 !== x < 0;
  let step = 0; // +1: one ulp further from zero; -1: one ulp closer
  switch (rm) {
    case Rm.RTZ:
      step = away ? 0 : -1;
      break;
    case Rm.RDN:
      step = x < 0 ? (away ? 1 : 0) : away ? 0 : -1;
      break;
    case Rm.RUP:
      step = x < 0 ? (away ? 0 : -1) : away ? 1 : 0;
      break;
    case Rm.RMM:
      step = tie && away ? 1 : 0;
      break;
  }
  if (step === 0) return r;
  f32[0] = r;
  w32[0] = w32[0]! + step;
  return f32[0]!;
}

/**
 * Rounds X = x + ε to binary32 in `rm` with exact flags (NX, UF with tininess after rounding,
 * OF). ε is as for `core32`: only the sign of `e` counts, |ε| < ulp(x)/2 as a double, and x = 0
 * requires e = 0. x must be finite.
 */
export function round32(x: number, e: number, rm: number): number {
  const ax = Math.abs(x);
  if (ax >= P2_M125 && ax < P2_127) {
    const r = core32(x, e, rm);
    if (inexact) fexc.flags |= FFlag.NX;
    return r;
  }
  if (ax >= P2_127) {
    if (ax > P2_128) return overflow32(x < 0, rm);
    // Round 2^-64 X, where nothing overflows, then see whether the result fits.
    const r = core32(x * P2_M64, e, rm);
    if (Math.abs(r) > MAX32_M64) return overflow32(x < 0, rm);
    if (inexact) fexc.flags |= FFlag.NX;
    return r * P2_64;
  }
  if (ax === 0) return x;
  const r = core32(x, e, rm);
  if (inexact) {
    // Tiny after rounding: X rounded to 24 bits with an unbounded exponent is below 2^-126.
    // Scaling by 2^64 puts that rounding in the normal range.
    const tiny = ax < P2_M127 || Math.abs(core32(x * P2_64, e, rm)) < P2_M62;
    fexc.flags |= tiny ? FFlag.NX | FFlag.UF : FFlag.NX;
  }
  return r;
}

// ---- exact slow path ------------------------------------------------------------------------

/** The exponent e of finite x = ±m × 2^e with m the integer significand (`mantOf`). */
export function expOf(x: number): number {
  f64[0] = x;
  const b = (w64[1]! >>> 20) & 0x7ff;
  return b === 0 ? -1074 : b - 1075;
}

/** The integer significand m of finite x = ±m × 2^e (below 2^53, so exact as a number). */
export function mantOf(x: number): number {
  f64[0] = x;
  const hi = w64[1]!;
  const m = (hi & 0xfffff) * P2_32 + (w64[0]! >>> 0);
  return (hi >>> 20) & 0x7ff ? m + P2_53 / 2 : m;
}

function bitLength(m: bigint): number {
  const h = m.toString(16);
  return (h.length - 1) * 4 + 32 - Math.clz32(parseInt(h.charAt(0), 16));
}

let lost = false;

/** m / 2^s rounded to an integer in `rm` for a value of sign `neg`; sets `lost` when inexact.
 *  `sticky` stands for nonzero bits below m's last one (then s >= 2). */
function shiftRound(m: bigint, s: number, sticky: boolean, neg: boolean, rm: number): bigint {
  if (s <= 0) {
    lost = false;
    return m << BigInt(-s);
  }
  const sb = BigInt(s);
  const q = m >> sb;
  const rem = m - (q << sb);
  const half = 1n << (sb - 1n);
  lost = rem !== 0n || sticky;
  if (!lost) return q;
  let up: boolean;
  switch (rm) {
    case Rm.RTZ:
      up = false;
      break;
    case Rm.RDN:
      up = neg;
      break;
    case Rm.RUP:
      up = !neg;
      break;
    case Rm.RMM:
      up = rem >= half;
      break;
    default:
      up = rem > half || (rem === half && (sticky || (q & 1n) === 1n));
  }
  return up ? q + 1n : q;
}

/**
 * Rounds ±(m + s) × 2^e to binary64 in `rm`, where m > 0 is an integer and `sticky` says there is
 * an s in (0, 1) (then m must have at least 55 bits). Raises NX, UF (tiny after rounding and
 * inexact) and OF as IEEE 754 and the RISC-V spec say.
 */
export function roundBig(neg: boolean, m: bigint, e: number, sticky: boolean, rm: number): number {
  const top = e + bitLength(m) - 1; // exponent of the leading bit
  const qe = Math.max(top - 52, -1074); // exponent of the result's last place
  let q = shiftRound(m, qe - e, sticky, neg, rm);
  if (lost) {
    let fl = FFlag.NX;
    if (top < -1022) {
      // Below 2^-1022 before rounding; tiny unless rounding to 53 bits (exponent unbounded)
      // carries it up to 2^-1022, which only a value in [2^-1023, 2^-1022) can do.
      let tiny = true;
      if (top === -1023) tiny = shiftRound(m, top - 52 - e, sticky, neg, rm) < 1n << 53n;
      if (tiny) fl |= FFlag.UF;
    }
    fexc.flags |= fl;
  }
  let qexp = qe;
  if (q === 1n << 53n) {
    q = 1n << 52n;
    qexp++;
  }
  if (qexp > 971) return overflow64(neg, rm);
  const r = Number(q) * 2 ** qexp; // exact: q < 2^53 and the result is representable
  return neg ? -r : r;
}
