/*
 * oracle.c: prints what real RISC-V F and D instructions compute, as test vectors for Domus's FPU
 * (src/machine/fpu). Built static for riscv64 and run under qemu-riscv64 by gen.sh, which documents
 * the whole procedure.
 *
 * Usage: oracle RANDOM_PER_OP SEED [ONLY_OP]
 *
 * For every instruction it runs a fixed list of edge cases, then RANDOM_PER_OP seeded random cases
 * drawn to hit the hard spots (cancellation, near-ties, overflow and underflow thresholds, integer
 * boundaries). Each case is executed once per rounding mode frm = 0..4 (RNE RTZ RDN RUP RMM), with
 * `fsrm` and the instruction's rm field set to `dyn`, and fflags cleared before and read after.
 *
 * Output, one case per line:   mnemonic operand... result/fflags ×5
 * Operands and results are bit patterns in hex: 16 digits for binary64 and 64-bit integers, 8 for
 * binary32 and 32-bit integers (fcvt.w[u] results are the low 32 bits of rd). fflags is 2 hex
 * digits (NV=10 DZ=08 OF=04 UF=02 NX=01). fclass has no rounding mode: one result, 3 hex digits.
 * Arithmetic operands are never NaN (Domus's FPU API leaves NaN operands to its caller);
 * conversions to integer and fclass do get NaNs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t u64;
typedef uint32_t u32;

static double d_of(u64 b) { double d; memcpy(&d, &b, 8); return d; }
static u64 bits_d(double d) { u64 b; memcpy(&b, &d, 8); return b; }
static float s_of(u64 b) { u32 w = (u32)b; float f; memcpy(&f, &w, 4); return f; }
static u64 bits_s(float f) { u32 w; memcpy(&w, &f, 4); return w; }

/* ---- running one instruction in one rounding mode ---------------------------------------- */

/* frm is restored to RNE afterwards so the generator's own C arithmetic stays round-to-nearest. */
#define PRE "fsrm %[rm]\n\tcsrw fflags, zero\n\t"
#define POST "\n\tfrflags %[f]\n\tfsrm zero"
#define RMIN [rm] "r"((unsigned long)rm)

typedef u64 (*opfn)(u64 a, u64 b, u64 c, unsigned rm, unsigned *fl);

#define F1(fn, insn, T, OF, BITS)                                                          \
  static u64 fn(u64 a, u64 b, u64 c, unsigned rm, unsigned *fl) {                          \
    (void)b; (void)c; T x = OF(a), r; unsigned long f;                                     \
    __asm__ volatile(PRE insn " %[r], %[x], dyn" POST                                      \
                     : [r] "=&f"(r), [f] "=&r"(f) : [x] "f"(x), RMIN);                     \
    *fl = (unsigned)f; return BITS(r);                                                     \
  }
#define F2(fn, insn, T, OF, BITS)                                                          \
  static u64 fn(u64 a, u64 b, u64 c, unsigned rm, unsigned *fl) {                          \
    (void)c; T x = OF(a), y = OF(b), r; unsigned long f;                                   \
    __asm__ volatile(PRE insn " %[r], %[x], %[y], dyn" POST                                \
                     : [r] "=&f"(r), [f] "=&r"(f) : [x] "f"(x), [y] "f"(y), RMIN);         \
    *fl = (unsigned)f; return BITS(r);                                                     \
  }
#define F3(fn, insn, T, OF, BITS)                                                          \
  static u64 fn(u64 a, u64 b, u64 c, unsigned rm, unsigned *fl) {                          \
    T x = OF(a), y = OF(b), z = OF(c), r; unsigned long f;                                 \
    __asm__ volatile(PRE insn " %[r], %[x], %[y], %[z], dyn" POST                          \
                     : [r] "=&f"(r), [f] "=&r"(f) : [x] "f"(x), [y] "f"(y), [z] "f"(z), RMIN); \
    *fl = (unsigned)f; return BITS(r);                                                     \
  }
/* float -> integer; MASK keeps the low 32 bits of rd for the .w/.wu forms */
#define FI(fn, insn, T, OF, MASK)                                                          \
  static u64 fn(u64 a, u64 b, u64 c, unsigned rm, unsigned *fl) {                          \
    (void)b; (void)c; T x = OF(a); unsigned long r, f;                                     \
    __asm__ volatile(PRE insn " %[r], %[x], dyn" POST                                      \
                     : [r] "=&r"(r), [f] "=&r"(f) : [x] "f"(x), RMIN);                     \
    *fl = (unsigned)f; return (u64)r & MASK;                                               \
  }
/* integer -> float */
#define IF(fn, insn, T, BITS)                                                              \
  static u64 fn(u64 a, u64 b, u64 c, unsigned rm, unsigned *fl) {                          \
    (void)b; (void)c; T r; unsigned long f;                                                \
    __asm__ volatile(PRE insn " %[r], %[x], dyn" POST                                      \
                     : [r] "=&f"(r), [f] "=&r"(f) : [x] "r"(a), RMIN);                     \
    *fl = (unsigned)f; return BITS(r);                                                     \
  }
#define CLS(fn, insn, T, OF)                                                               \
  static u64 fn(u64 a, u64 b, u64 c, unsigned rm, unsigned *fl) {                          \
    (void)b; (void)c; (void)rm; T x = OF(a); unsigned long r;                              \
    __asm__ volatile(insn " %[r], %[x]" : [r] "=r"(r) : [x] "f"(x));                       \
    *fl = 0; return r;                                                                     \
  }

#define M32 0xffffffffull
#define M64 0xffffffffffffffffull
F2(x_fadd_d, "fadd.d", double, d_of, bits_d)
F2(x_fsub_d, "fsub.d", double, d_of, bits_d)
F2(x_fmul_d, "fmul.d", double, d_of, bits_d)
F2(x_fdiv_d, "fdiv.d", double, d_of, bits_d)
F1(x_fsqrt_d, "fsqrt.d", double, d_of, bits_d)
F3(x_fmadd_d, "fmadd.d", double, d_of, bits_d)
F3(x_fmsub_d, "fmsub.d", double, d_of, bits_d)
F3(x_fnmsub_d, "fnmsub.d", double, d_of, bits_d)
F3(x_fnmadd_d, "fnmadd.d", double, d_of, bits_d)
F2(x_fadd_s, "fadd.s", float, s_of, bits_s)
F2(x_fsub_s, "fsub.s", float, s_of, bits_s)
F2(x_fmul_s, "fmul.s", float, s_of, bits_s)
F2(x_fdiv_s, "fdiv.s", float, s_of, bits_s)
F1(x_fsqrt_s, "fsqrt.s", float, s_of, bits_s)
F3(x_fmadd_s, "fmadd.s", float, s_of, bits_s)
F3(x_fmsub_s, "fmsub.s", float, s_of, bits_s)
F3(x_fnmsub_s, "fnmsub.s", float, s_of, bits_s)
F3(x_fnmadd_s, "fnmadd.s", float, s_of, bits_s)

static u64 x_fcvt_s_d(u64 a, u64 b, u64 c, unsigned rm, unsigned *fl) {
  (void)b; (void)c; double x = d_of(a); float r; unsigned long f;
  __asm__ volatile(PRE "fcvt.s.d %[r], %[x], dyn" POST : [r] "=&f"(r), [f] "=&r"(f) : [x] "f"(x), RMIN);
  *fl = (unsigned)f; return bits_s(r);
}

FI(x_fcvt_w_d, "fcvt.w.d", double, d_of, M32)
FI(x_fcvt_wu_d, "fcvt.wu.d", double, d_of, M32)
FI(x_fcvt_l_d, "fcvt.l.d", double, d_of, M64)
FI(x_fcvt_lu_d, "fcvt.lu.d", double, d_of, M64)
FI(x_fcvt_w_s, "fcvt.w.s", float, s_of, M32)
FI(x_fcvt_wu_s, "fcvt.wu.s", float, s_of, M32)
FI(x_fcvt_l_s, "fcvt.l.s", float, s_of, M64)
FI(x_fcvt_lu_s, "fcvt.lu.s", float, s_of, M64)
IF(x_fcvt_d_l, "fcvt.d.l", double, bits_d)
IF(x_fcvt_d_lu, "fcvt.d.lu", double, bits_d)
IF(x_fcvt_s_l, "fcvt.s.l", float, bits_s)
IF(x_fcvt_s_lu, "fcvt.s.lu", float, bits_s)
IF(x_fcvt_s_w, "fcvt.s.w", float, bits_s)
IF(x_fcvt_s_wu, "fcvt.s.wu", float, bits_s)
CLS(x_fclass_d, "fclass.d", double, d_of)
CLS(x_fclass_s, "fclass.s", float, s_of)

/* ---- seeded generator ------------------------------------------------------------------- */

static u64 seed_state;
static u64 rnd(void) { /* splitmix64 */
  u64 z = (seed_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static unsigned below(unsigned n) { return (unsigned)(rnd() % n); }
static int between(int lo, int hi) { return lo + (int)below((unsigned)(hi - lo + 1)); }

/* A format: binary64 (P=53) or binary32 (P=24). */
struct fmt { int p, ebits, bias, maxexp; u64 mmask, sign, inf; };
static const struct fmt D = {53, 11, 1023, 2046, 0xfffffffffffffull, 1ull << 63, 0x7ff0000000000000ull};
static const struct fmt S = {24, 8, 127, 254, 0x7fffffull, 1ull << 31, 0x7f800000ull};

static u64 make(const struct fmt *f, int neg, int bexp, u64 mant) {
  if (bexp < 0) bexp = 0;
  if (bexp > f->maxexp) bexp = f->maxexp;
  return (neg ? f->sign : 0) | ((u64)bexp << (f->p - 1)) | (mant & f->mmask);
}
static int bexp_of(const struct fmt *f, u64 x) { return (int)((x >> (f->p - 1)) & ((1u << f->ebits) - 1)); }

/* Significand patterns that make exact results, ties and long carries likely. */
static u64 mant(const struct fmt *f) {
  int w = f->p - 1;
  u64 r = rnd() & f->mmask;
  switch (below(8)) {
  case 0: case 1: case 2: return r;
  case 3: { int k = between(0, w); return k == w ? r : r & ~((1ull << (w - k)) - 1) & f->mmask; } /* short */
  case 4: return r | ((1ull << between(0, w)) - 1);                           /* trailing ones */
  case 5: return (r & ~((1ull << between(1, w)) - 1)) | (1ull << between(0, w - 1)); /* one low bit */
  case 6: return f->mmask ^ (1ull << between(0, w - 1));
  default: { static const u64 e[] = {0, 1, 2, 3}; u64 m = e[below(4)]; return below(2) ? m : f->mmask - m; }
  }
}

static const u64 SPECIAL_D[] = {
    0x0000000000000000, 0x0000000000000001, 0x0000000000000002, 0x0000000000000003, 0x0008000000000000,
    0x000fffffffffffff, 0x0010000000000000, 0x0010000000000001, 0x001fffffffffffff, 0x0020000000000000,
    0x3ca0000000000000, 0x3c90000000000000, 0x3fe0000000000000, 0x3fefffffffffffff, 0x3ff0000000000000,
    0x3ff0000000000001, 0x3ff8000000000000, 0x4000000000000000, 0x4008000000000000, 0x3fd5555555555555,
    0x3fb999999999999a, 0x3ff6a09e667f3bcd, 0x4330000000000000, 0x4340000000000000, 0x4340000000000001,
    0x41e0000000000000, 0x41f0000000000000, 0x43e0000000000000, 0x43f0000000000000, 0x7fe0000000000000,
    0x7fefffffffffffff, 0x7feffffffffffffe, 0x7fdfffffffffffff, 0x7ff0000000000000, 0x5ff0000000000000,
    0x1ff0000000000000, 0x0360000000000000, 0x7ca0000000000000, 0x7c9fffffffffffff,
};
static const u64 SPECIAL_S[] = {
    0x00000000, 0x00000001, 0x00000002, 0x00000003, 0x00400000, 0x007fffff, 0x00800000, 0x00800001,
    0x00ffffff, 0x01000000, 0x33800000, 0x33000000, 0x3f000000, 0x3f7fffff, 0x3f800000, 0x3f800001,
    0x3fc00000, 0x40000000, 0x40400000, 0x3eaaaaab, 0x3dcccccd, 0x3fb504f3, 0x4b000000, 0x4b800000,
    0x4b800001, 0x4f000000, 0x4f800000, 0x5f000000, 0x5f800000, 0x7f000000, 0x7f7fffff, 0x7f7ffffe,
    0x7effffff, 0x7f800000, 0x5f800000, 0x1f800000, 0x0c000000, 0x73800000, 0x737fffff,
};
#define NSPECIAL(f) ((f) == &D ? sizeof SPECIAL_D / 8 : sizeof SPECIAL_S / 8)
static u64 special(const struct fmt *f, unsigned i) { return f == &D ? SPECIAL_D[i] : SPECIAL_S[i]; }

/* A finite, non-NaN operand: sometimes an edge value, else a random sign, exponent and pattern. */
static u64 operand(const struct fmt *f) {
  int neg = (int)below(2);
  int bexp;
  switch (below(10)) {
  case 0: return special(f, below((unsigned)NSPECIAL(f))) | (neg ? f->sign : 0);
  case 1: bexp = between(0, f->maxexp); break;
  case 2: bexp = between(0, f->p + 2); break;                     /* subnormal and just above */
  case 3: bexp = f->maxexp - between(0, f->p + 2); break;         /* near overflow */
  default: bexp = f->bias + between(-f->p - 4, f->p + 4); break;  /* the common range */
  }
  return make(f, neg, bexp, mant(f));
}
/* x if it is a valid non-NaN pattern of the format, else a fresh operand */
static u64 sane(const struct fmt *f, u64 x) {
  if (f == &S) x &= M32;
  return (x & ~f->sign) > f->inf ? operand(f) : x;
}
static int is_inf_or_zero(const struct fmt *f, u64 x) {
  u64 m = x & ~f->sign;
  return m == 0 || m == f->inf;
}

/* the C-side value of x (as double) and back */
static double val(const struct fmt *f, u64 x) { return f == &D ? d_of(x) : (double)s_of(x); }
static u64 bits(const struct fmt *f, double v) { return f == &D ? bits_d(v) : bits_s((float)v); }

/* b chosen relative to a: cancellation, a chosen exponent gap, or a product/quotient landing near
 * the overflow and underflow thresholds. */
static u64 partner(const struct fmt *f, u64 a, int for_div) {
  int ea = bexp_of(f, a) - f->bias;
  int emax = f->bias, emin = 1 - f->bias, etiny = emin - f->p + 1;
  switch (below(8)) {
  case 0: return operand(f);
  case 1: { /* 2^j / a: products and quotients just off a power of two */
    double r = __builtin_ldexp(1.0 / val(f, a), between(-2, 2));
    u64 b = bits(f, r);
    return is_inf_or_zero(f, b) ? operand(f) : b ^ (below(2) ? f->sign : 0);
  }
  case 2: /* near -a or a: a few ulps off */
    return sane(f, (a + (u64)(long)between(-3, 3)) ^ (below(2) ? f->sign : 0));
  case 3: case 7: { /* exponent gap around the precision */
    int eb = ea - between(-2, f->p + 3) * (below(2) ? 1 : -1);
    return make(f, (int)below(2), eb + f->bias, mant(f));
  }
  default: { /* product or quotient exponent near a threshold */
    int t;
    switch (below(4)) {
    case 0: t = emax; break;
    case 1: t = emax + 1; break;
    case 2: t = emin - between(-1, 1); break;
    default: t = between(etiny - 2, emin); break;
    }
    int eb = for_div ? ea - t : t - ea;
    return make(f, (int)below(2), eb + f->bias, mant(f));
  }
  }
}

/* c for a*b + c: a cancelling neighbour of -(a*b), something far below or above it, or random */
static u64 addend(const struct fmt *f, u64 a, u64 b) {
  double p = val(f, a) * val(f, b); /* exact for binary32; RNE for binary64 */
  u64 pb = bits(f, p);
  if (is_inf_or_zero(f, pb) || below(4) == 0) return operand(f);
  switch (below(6)) {
  case 5: /* ulp(c) around 2 ulp(a*b): sums land on and near midpoints */
    return make(f, (int)below(2), bexp_of(f, pb) + between(f->p - 1, f->p + 1), mant(f));
  case 0: case 1: return sane(f, (pb + (u64)(long)between(-4, 4)) ^ f->sign); /* near cancellation */
  case 2: return sane(f, pb + (u64)(long)between(-2, 2));                      /* near doubling */
  default: { /* a chosen exponent gap */
    int e = bexp_of(f, pb) - between(-f->p - 4, 2 * f->p + 6);
    return make(f, (int)below(2), e, mant(f));
  }
  }
}

/* ---- emitting ----------------------------------------------------------------------------- */

static void emit(const char *name, opfn fn, int nin, int inw, int outw, int modes, u64 a, u64 b, u64 c) {
  u64 in[3] = {a, b, c};
  printf("%s", name);
  for (int i = 0; i < nin; i++) printf(" %0*llx", inw, (unsigned long long)in[i]);
  for (unsigned rm = 0; rm < (unsigned)modes; rm++) {
    unsigned fl;
    u64 r = fn(a, b, c, rm, &fl);
    if (modes == 1) printf(" %03llx", (unsigned long long)r);
    else printf(" %0*llx/%02x", outw, (unsigned long long)r, fl);
  }
  printf("\n");
}

static const char *only;
static int want(const char *name) { return !only || strcmp(only, name) == 0; }

static void arith(const char *name, opfn fn, const struct fmt *f, int nin, int is_div, int n) {
  if (!want(name)) return;
  int w = f == &D ? 16 : 8;
  unsigned ns = (unsigned)NSPECIAL(f);
  if (nin == 1) {
    for (unsigned i = 0; i < ns; i++)
      for (int s = 0; s < 2; s++) emit(name, fn, 1, w, w, 5, special(f, i) | (s ? f->sign : 0), 0, 0);
  } else if (nin == 2) {
    /* every pair of a subset of the edge values, both signs */
    for (unsigned i = 0; i < ns; i += 2)
      for (unsigned j = 0; j < ns; j += 3)
        for (int s = 0; s < 4; s++)
          emit(name, fn, 2, w, w, 5, special(f, i) | (s & 1 ? f->sign : 0), special(f, j) | (s & 2 ? f->sign : 0), 0);
  } else {
    for (unsigned i = 0; i < ns; i += 4)
      for (unsigned j = 0; j < ns; j += 5)
        for (unsigned k = 0; k < ns; k += 6)
          emit(name, fn, 3, w, w, 5, special(f, i) | (below(2) ? f->sign : 0), special(f, j) | (below(2) ? f->sign : 0),
               special(f, k) | (below(2) ? f->sign : 0));
  }
  for (int i = 0; i < n; i++) {
    u64 a = operand(f);
    if (nin == 1) {
      emit(name, fn, 1, w, w, 5, below(4) ? a & ~f->sign : a, 0, 0);
    } else {
      u64 b = partner(f, a, is_div);
      emit(name, fn, nin, w, w, 5, a, b, nin == 3 ? addend(f, a, b) : 0);
    }
  }
}

/* Operands for conversions to integer: around the integer boundaries, ties, and NaNs. */
static u64 to_int_operand(const struct fmt *f, int k) {
  static const int pw[] = {0, 1, 2, 23, 24, 30, 31, 32, 33, 52, 53, 54, 62, 63, 64, 65};
  static const u64 nans_d[] = {0x7ff8000000000000ull, 0xfff8000000000000ull, 0x7ff0000000000001ull, 0xfff4000000000000ull};
  static const u64 nans_s[] = {0x7fc00000, 0xffc00000, 0x7f800001, 0xffa00000};
  if (k < 4) return f == &D ? nans_d[k] : nans_s[k];
  int neg = (int)below(2);
  switch (below(6)) {
  case 0: { /* a power of two, a few ulps off */
    int e = pw[below(sizeof pw / sizeof pw[0])];
    return make(f, neg, e + f->bias, 0) + (u64)(long)between(-3, 3);
  }
  case 1: { /* a small integer plus a fraction that makes ties */
    static const double fr[] = {0, 0.25, 0.5, 0.75, 1, 1.5, 2.5, 3.5};
    double v = (double)between(0, 6) + fr[below(8)];
    return bits(f, neg ? -v : v);
  }
  case 2: { /* a power of two plus a fraction */
    static const double fr[] = {-2.5, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2.5};
    int e = pw[below(sizeof pw / sizeof pw[0])];
    double v = __builtin_ldexp(1.0, e) + fr[below(9)];
    return bits(f, neg ? -v : v);
  }
  case 3: return make(f, neg, f->bias + between(-2, 66), mant(f));
  case 4: return operand(f);
  default: return make(f, neg, f->bias + between(-3, f->p + 2), mant(f));
  }
}

/* 64-bit integers for conversions to float: near powers of two, ties at 24 and 53 bits, extremes */
static u64 int_operand(int is32) {
  static const u64 fixed[] = {0, 1, 2, 3, M64, 0x8000000000000000ull, 0x7fffffffffffffffull,
                              0xffffffff, 0x80000000, 0x7fffffff, 0x8000000000000001ull};
  switch (below(5)) {
  case 0: return fixed[below(sizeof fixed / 8)];
  case 1: { int e = between(0, is32 ? 31 : 63); u64 v = (1ull << e) + (u64)(long)between(-3, 3); return below(2) ? v : (u64)0 - v; }
  case 2: { /* a random significand of p+1..p+3 bits, some low bits forced to make ties */
    int len = between(2, is32 ? 32 : 64), low = between(0, len - 1);
    u64 v = rnd() >> (64 - len) | (1ull << (len - 1));
    if (below(2)) v = (v & ~((1ull << low) - 1)) | (low ? 1ull << (low - 1) : 0);
    return below(3) ? v : (u64)0 - v;
  }
  default: { int len = between(1, 64); return rnd() >> (64 - len); }
  }
}

static void to_int(const char *name, opfn fn, const struct fmt *f, int outw, int n) {
  if (!want(name)) return;
  int w = f == &D ? 16 : 8;
  for (int i = 0; i < n; i++) emit(name, fn, 1, w, outw, 5, to_int_operand(f, i), 0, 0);
}
static void from_int(const char *name, opfn fn, int is32, int outw, int n) {
  if (!want(name)) return;
  for (int i = 0; i < n; i++) {
    u64 v = int_operand(is32);
    if (is32) v = (u64)(int64_t)(int32_t)(u32)v; /* the register holds the 32-bit value sign-extended */
    emit(name, fn, 1, is32 ? 8 : 16, outw, 5, is32 ? v & M32 : v, 0, 0);
  }
}
/* fcvt.w[u] read only the low 32 bits of rs1; pass them sign-extended as a real program would */
static u64 x_fcvt_s_w_(u64 a, u64 b, u64 c, unsigned rm, unsigned *fl) { return x_fcvt_s_w((u64)(int64_t)(int32_t)(u32)a, b, c, rm, fl); }
static u64 x_fcvt_s_wu_(u64 a, u64 b, u64 c, unsigned rm, unsigned *fl) { return x_fcvt_s_wu((u64)(int64_t)(int32_t)(u32)a, b, c, rm, fl); }

static void narrow(int n) {
  if (!want("fcvt.s.d")) return;
  for (unsigned i = 0; i < NSPECIAL(&D); i++)
    for (int s = 0; s < 2; s++) emit("fcvt.s.d", x_fcvt_s_d, 1, 16, 8, 5, SPECIAL_D[i] | (s ? D.sign : 0), 0, 0);
  for (int i = 0; i < n; i++) {
    int neg = (int)below(2), e;
    switch (below(5)) {
    case 0: e = between(1023 - 160, 1023 + 130); break;
    case 1: e = 1023 + 127 + between(-1, 1); break;
    case 2: e = 1023 - 126 + between(-27, 2); break;
    default: e = 1023 + between(-30, 30); break;
    }
    u64 m = mant(&D);
    if (below(3) == 0) m = (m & ~((1ull << 29) - 1)) | (below(2) ? 1ull << 28 : (1ull << 28) + (u64)between(-1, 1));
    emit("fcvt.s.d", x_fcvt_s_d, 1, 16, 8, 5, make(&D, neg, e, m), 0, 0);
  }
}

static void classify(const char *name, opfn fn, const struct fmt *f, int n) {
  if (!want(name)) return;
  int w = f == &D ? 16 : 8;
  static const u64 nd[] = {0x7ff8000000000000ull, 0x7ff0000000000001ull, 0x7ff4000000000000ull, 0x7fffffffffffffffull};
  static const u64 ns[] = {0x7fc00000, 0x7f800001, 0x7fa00000, 0x7fffffff};
  for (unsigned i = 0; i < NSPECIAL(f); i++)
    for (int s = 0; s < 2; s++) emit(name, fn, 1, w, 3, 1, special(f, i) | (s ? f->sign : 0), 0, 0);
  for (int i = 0; i < 4; i++)
    for (int s = 0; s < 2; s++) emit(name, fn, 1, w, 3, 1, (f == &D ? nd[i] : ns[i]) | (s ? f->sign : 0), 0, 0);
  for (int i = 0; i < n; i++) emit(name, fn, 1, w, 3, 1, rnd() & (f == &D ? M64 : M32), 0, 0);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: oracle RANDOM_PER_OP SEED [ONLY_OP]\n");
    return 2;
  }
  int n = atoi(argv[1]);
  seed_state = strtoull(argv[2], 0, 0);
  only = argc > 3 ? argv[3] : 0;

  arith("fadd.d", x_fadd_d, &D, 2, 0, n);
  arith("fsub.d", x_fsub_d, &D, 2, 0, n / 4);
  arith("fmul.d", x_fmul_d, &D, 2, 0, n);
  arith("fdiv.d", x_fdiv_d, &D, 2, 1, n);
  arith("fsqrt.d", x_fsqrt_d, &D, 1, 0, n / 2);
  arith("fmadd.d", x_fmadd_d, &D, 3, 0, 3 * n);
  arith("fmsub.d", x_fmsub_d, &D, 3, 0, n / 4);
  arith("fnmsub.d", x_fnmsub_d, &D, 3, 0, n / 4);
  arith("fnmadd.d", x_fnmadd_d, &D, 3, 0, n / 4);
  arith("fadd.s", x_fadd_s, &S, 2, 0, n);
  arith("fsub.s", x_fsub_s, &S, 2, 0, n / 4);
  arith("fmul.s", x_fmul_s, &S, 2, 0, n);
  arith("fdiv.s", x_fdiv_s, &S, 2, 1, n);
  arith("fsqrt.s", x_fsqrt_s, &S, 1, 0, n / 2);
  arith("fmadd.s", x_fmadd_s, &S, 3, 0, 2 * n);
  arith("fmsub.s", x_fmsub_s, &S, 3, 0, n / 4);
  arith("fnmsub.s", x_fnmsub_s, &S, 3, 0, n / 4);
  arith("fnmadd.s", x_fnmadd_s, &S, 3, 0, n / 4);
  narrow(n);
  to_int("fcvt.w.d", x_fcvt_w_d, &D, 8, n / 2);
  to_int("fcvt.wu.d", x_fcvt_wu_d, &D, 8, n / 2);
  to_int("fcvt.l.d", x_fcvt_l_d, &D, 16, n / 2);
  to_int("fcvt.lu.d", x_fcvt_lu_d, &D, 16, n / 2);
  to_int("fcvt.w.s", x_fcvt_w_s, &S, 8, n / 2);
  to_int("fcvt.wu.s", x_fcvt_wu_s, &S, 8, n / 2);
  to_int("fcvt.l.s", x_fcvt_l_s, &S, 16, n / 2);
  to_int("fcvt.lu.s", x_fcvt_lu_s, &S, 16, n / 2);
  from_int("fcvt.d.l", x_fcvt_d_l, 0, 16, n / 2);
  from_int("fcvt.d.lu", x_fcvt_d_lu, 0, 16, n / 2);
  from_int("fcvt.s.l", x_fcvt_s_l, 0, 8, n / 2);
  from_int("fcvt.s.lu", x_fcvt_s_lu, 0, 8, n / 2);
  from_int("fcvt.s.w", x_fcvt_s_w_, 1, 8, n / 2);
  from_int("fcvt.s.wu", x_fcvt_s_wu_, 1, 8, n / 2);
  classify("fclass.d", x_fclass_d, &D, n / 8);
  classify("fclass.s", x_fclass_s, &S, n / 8);
  return 0;
}
