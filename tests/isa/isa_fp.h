/*
 * isa_fp.h: floating-point check macros, for tests that include it after isa.h.
 *
 * Operands and results are raw bit patterns moved with fmv; fflags is cleared before the operation
 * and must then hold exactly the given flags. Single-precision results must also be NaN-boxed
 * (upper 32 bits all ones). Integer results are compared as full 64-bit registers. The macros use
 * t0..t2, t6, ft0..ft3 and gp, like the integer ones.
 */
#ifndef ISA_FP_H
#define ISA_FP_H

#define FFLAG_NX 0x01
#define FFLAG_UF 0x02
#define FFLAG_OF 0x04
#define FFLAG_DZ 0x08
#define FFLAG_NV 0x10
#define FP_CHECK_S(res, flags) \
        frflags t1; fmv.x.d t2, ft3; li t6, 0xffffffff00000000 | (res); bne t2, t6, 79f; \
        li t6, flags; beq t1, t6, 77f; 79: j fail; 77:
#define FP_CHECK_D(res, flags) \
        frflags t1; fmv.x.d t2, ft3; li t6, res; bne t2, t6, 79f; \
        li t6, flags; beq t1, t6, 77f; 79: j fail; 77:
#define FP_CHECK_X(res, flags) \
        frflags t1; li t6, res; bne t2, t6, 79f; li t6, flags; beq t1, t6, 77f; 79: j fail; 77:
#define FP_LOAD_S(freg, bits) li t0, bits; fmv.w.x freg, t0
#define FP_LOAD_D(freg, bits) li t0, bits; fmv.d.x freg, t0

// ft3 = op(ft0, ft1) with rounding mode rm / without one (fsgnj, fmin, fmax).
#define TEST_FP_OP2_S(op, rm, a, b, res, flags) \
        li gp, __LINE__; FP_LOAD_S(ft0, a); FP_LOAD_S(ft1, b); fsflags zero; op ft3, ft0, ft1, rm; \
        FP_CHECK_S(res, flags)
#define TEST_FP_OP2_D(op, rm, a, b, res, flags) \
        li gp, __LINE__; FP_LOAD_D(ft0, a); FP_LOAD_D(ft1, b); fsflags zero; op ft3, ft0, ft1, rm; \
        FP_CHECK_D(res, flags)
#define TEST_FP_OP2N_S(op, a, b, res, flags) \
        li gp, __LINE__; FP_LOAD_S(ft0, a); FP_LOAD_S(ft1, b); fsflags zero; op ft3, ft0, ft1; \
        FP_CHECK_S(res, flags)
#define TEST_FP_OP2N_D(op, a, b, res, flags) \
        li gp, __LINE__; FP_LOAD_D(ft0, a); FP_LOAD_D(ft1, b); fsflags zero; op ft3, ft0, ft1; \
        FP_CHECK_D(res, flags)
// ft3 = op(ft0) with rounding mode rm (fsqrt).
#define TEST_FP_OP1_S(op, rm, a, res, flags) \
        li gp, __LINE__; FP_LOAD_S(ft0, a); fsflags zero; op ft3, ft0, rm; FP_CHECK_S(res, flags)
#define TEST_FP_OP1_D(op, rm, a, res, flags) \
        li gp, __LINE__; FP_LOAD_D(ft0, a); fsflags zero; op ft3, ft0, rm; FP_CHECK_D(res, flags)
// ft3 = op(ft0, ft1, ft2) with rounding mode rm (the fused multiply-adds).
#define TEST_FP_OP3_S(op, rm, a, b, c, res, flags) \
        li gp, __LINE__; FP_LOAD_S(ft0, a); FP_LOAD_S(ft1, b); FP_LOAD_S(ft2, c); fsflags zero; \
        op ft3, ft0, ft1, ft2, rm; FP_CHECK_S(res, flags)
#define TEST_FP_OP3_D(op, rm, a, b, c, res, flags) \
        li gp, __LINE__; FP_LOAD_D(ft0, a); FP_LOAD_D(ft1, b); FP_LOAD_D(ft2, c); fsflags zero; \
        op ft3, ft0, ft1, ft2, rm; FP_CHECK_D(res, flags)
// t2 = op(ft0, ft1): the comparisons.
#define TEST_FP_CMP_S(op, a, b, res, flags) \
        li gp, __LINE__; FP_LOAD_S(ft0, a); FP_LOAD_S(ft1, b); fsflags zero; op t2, ft0, ft1; \
        FP_CHECK_X(res, flags)
#define TEST_FP_CMP_D(op, a, b, res, flags) \
        li gp, __LINE__; FP_LOAD_D(ft0, a); FP_LOAD_D(ft1, b); fsflags zero; op t2, ft0, ft1; \
        FP_CHECK_X(res, flags)
// t2 = fclass(ft0); never raises flags.
#define TEST_FP_CLASS_S(a, res) \
        li gp, __LINE__; FP_LOAD_S(ft0, a); fsflags zero; fclass.s t2, ft0; FP_CHECK_X(res, 0)
#define TEST_FP_CLASS_D(a, res) \
        li gp, __LINE__; FP_LOAD_D(ft0, a); fsflags zero; fclass.d t2, ft0; FP_CHECK_X(res, 0)
// t2 = op(ft0) with rounding mode rm: float to integer.
#define TEST_FP_TOINT_S(op, rm, a, res, flags) \
        li gp, __LINE__; FP_LOAD_S(ft0, a); fsflags zero; op t2, ft0, rm; FP_CHECK_X(res, flags)
#define TEST_FP_TOINT_D(op, rm, a, res, flags) \
        li gp, __LINE__; FP_LOAD_D(ft0, a); fsflags zero; op t2, ft0, rm; FP_CHECK_X(res, flags)
// ft3 = op(t0) with rounding mode rm: integer to float.
#define TEST_FP_FROMINT_S(op, rm, a, res, flags) \
        li gp, __LINE__; li t0, a; fsflags zero; op ft3, t0, rm; FP_CHECK_S(res, flags)
#define TEST_FP_FROMINT_D(op, rm, a, res, flags) \
        li gp, __LINE__; li t0, a; fsflags zero; op ft3, t0, rm; FP_CHECK_D(res, flags)
// The same for the exact conversions, which the assembler takes without a rounding mode.
#define TEST_FP_FROMINT_EXACT_D(op, a, res) \
        li gp, __LINE__; li t0, a; fsflags zero; op ft3, t0; FP_CHECK_D(res, 0)
// fcvt.s.d (rounds) and fcvt.d.s (exact).
#define TEST_FP_CVT_S_D(rm, a, res, flags) \
        li gp, __LINE__; FP_LOAD_D(ft0, a); fsflags zero; fcvt.s.d ft3, ft0, rm; FP_CHECK_S(res, flags)
#define TEST_FP_CVT_D_S(a, res, flags) \
        li gp, __LINE__; FP_LOAD_S(ft0, a); fsflags zero; fcvt.d.s ft3, ft0; FP_CHECK_D(res, flags)

#endif
