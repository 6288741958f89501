/*
 * rv64f: every RV64F instruction (unprivileged ISA 20191213, chapter 11) on raw bit patterns:
 * arithmetic in all five static rounding modes where they differ, overflow, underflow with
 * tininess detected after rounding, divide by zero, invalid operations and their canonical NaN
 * (0x7fc00000; payloads never propagate), the fused multiply-adds rounding once (0 * inf + qNaN
 * is still invalid), sign injection and moves that keep NaN payloads and raise nothing, min/max
 * with NaNs and signed zeros, quiet feq versus signalling flt/fle, all ten fclass classes, and the
 * saturating conversions with their NV/NX rules (32-bit results sign-extended). Every result must
 * be NaN-boxed and every operation must raise exactly the listed fflags. Expected values come from
 * an exact rational model of IEEE 754-2008, not from a host FPU.
 * Dynamic rounding, fcsr, mstatus.FS and NaN-boxed inputs are in fp_env.S.
 */
#include "isa.h"
#include "isa_fp.h"

        .text
        .globl test_main
test_main:
        // ---- Transfers keep every bit and raise nothing; narrow values are NaN-boxed --------------
        CHECK_LINE
        fsflags zero
        la      a0, fdata
        flw     ft0, 0(a0)
        fmv.x.d t2, ft0
        ASSERT_EQ(t2, 0xffffffff7f812345)
        fmv.x.w t2, ft0
        ASSERT_EQ(t2, 0x7f812345)
        flw     ft1, 4(a0)
        fmv.x.w t2, ft1
        ASSERT_EQ(t2, 0xffffffffffc00001)
        fsw     ft0, 12(a0)
        fsw     ft1, 8(a0)
        ld      t2, 8(a0)
        ASSERT_EQ(t2, 0x7f812345ffc00001)
        addi    a1, a0, 16
        flw     ft2, -12(a1)
        fsw     ft2, -4(a1)
        lwu     t2, 12(a0)
        ASSERT_EQ(t2, 0xffc00001)
        li      t0, 0x12345678bf800000
        fmv.w.x ft3, t0
        fmv.x.d t2, ft3
        ASSERT_EQ(t2, 0xffffffffbf800000)
        fmv.x.w t2, ft3
        ASSERT_EQ(t2, 0xffffffffbf800000)
        frflags t2
        ASSERT_EQ(t2, 0)

        // ---- add / sub ----
        TEST_FP_OP2_S(fadd.s, rne, 0x3f800000, 0x40000000, 0x40400000, 0)
        TEST_FP_OP2_S(fadd.s, rne, 0xbfc00000, 0x3e800000, 0xbfa00000, 0)
        TEST_FP_OP2_S(fadd.s, rne, 0x3f800000, 0x33800000, 0x3f800000, FFLAG_NX)  // a tie: to even
        TEST_FP_OP2_S(fadd.s, rmm, 0x3f800000, 0x33800000, 0x3f800001, FFLAG_NX)  // a tie: away
        TEST_FP_OP2_S(fadd.s, rne, 0x3f800000, 0x33c00000, 0x3f800001, FFLAG_NX)
        TEST_FP_OP2_S(fadd.s, rtz, 0x3f800000, 0x33c00000, 0x3f800000, FFLAG_NX)
        TEST_FP_OP2_S(fadd.s, rne, 0x7f7fffff, 0x7f7fffff, 0x7f800000, FFLAG_OF|FFLAG_NX)  // overflow
        TEST_FP_OP2_S(fadd.s, rtz, 0x7f7fffff, 0x7f7fffff, 0x7f7fffff, FFLAG_OF|FFLAG_NX)  // overflow, toward zero
        TEST_FP_OP2_S(fadd.s, rne, 0x7f800000, 0xff800000, 0x7fc00000, FFLAG_NV)  // invalid
        TEST_FP_OP2_S(fadd.s, rne, 0x7f800000, 0x3f800000, 0x7f800000, 0)
        TEST_FP_OP2_S(fadd.s, rne, 0x7fc12345, 0x3f800000, 0x7fc00000, 0)  // NaN payloads are not propagated
        TEST_FP_OP2_S(fadd.s, rne, 0x3f800000, 0x7f800001, 0x7fc00000, FFLAG_NV)  // signalling NaN
        TEST_FP_OP2_S(fadd.s, rne, 0x80000000, 0x80000000, 0x80000000, 0)
        TEST_FP_OP2_S(fadd.s, rne, 0x00000000, 0x80000000, 0x00000000, 0)
        TEST_FP_OP2_S(fadd.s, rdn, 0x00000000, 0x80000000, 0x80000000, 0)
        TEST_FP_OP2_S(fadd.s, rne, 0x3f800000, 0xbf800000, 0x00000000, 0)
        TEST_FP_OP2_S(fadd.s, rdn, 0x3f800000, 0xbf800000, 0x80000000, 0)  // exact zero is -0 only when rounding down
        TEST_FP_OP2_S(fadd.s, rne, 0x00000001, 0x00000001, 0x00000002, 0)  // subnormal, exact: no UF
        TEST_FP_OP2_S(fsub.s, rne, 0x40400000, 0x40a00000, 0xc0000000, 0)
        TEST_FP_OP2_S(fsub.s, rne, 0x3f800000, 0x3f800000, 0x00000000, 0)
        TEST_FP_OP2_S(fsub.s, rdn, 0x3f800000, 0x3f800000, 0x80000000, 0)
        TEST_FP_OP2_S(fsub.s, rne, 0x80000000, 0x00000000, 0x80000000, 0)
        TEST_FP_OP2_S(fsub.s, rne, 0x7f800000, 0x7f800000, 0x7fc00000, FFLAG_NV)  // invalid
        TEST_FP_OP2_S(fsub.s, rne, 0xff800000, 0x7f800000, 0xff800000, 0)
        TEST_FP_OP2_S(fsub.s, rne, 0x3f800000, 0x33000000, 0x3f800000, FFLAG_NX)  // a tie below 1
        TEST_FP_OP2_S(fsub.s, rtz, 0x3f800000, 0x33000000, 0x3f7fffff, FFLAG_NX)
        TEST_FP_OP2_S(fsub.s, rdn, 0x3f800000, 0x33000000, 0x3f7fffff, FFLAG_NX)
        TEST_FP_OP2_S(fsub.s, rup, 0x3f800000, 0x33000000, 0x3f800000, FFLAG_NX)
        TEST_FP_OP2_S(fsub.s, rne, 0x7fc12345, 0x7f800001, 0x7fc00000, FFLAG_NV)
        // ---- mul / div ----
        TEST_FP_OP2_S(fmul.s, rne, 0x3fc00000, 0x40000000, 0x40400000, 0)
        TEST_FP_OP2_S(fmul.s, rne, 0xc0000000, 0x00000000, 0x80000000, 0)
        TEST_FP_OP2_S(fmul.s, rne, 0x7f7fffff, 0x40000000, 0x7f800000, FFLAG_OF|FFLAG_NX)  // overflow to infinity
        TEST_FP_OP2_S(fmul.s, rtz, 0x7f7fffff, 0x40000000, 0x7f7fffff, FFLAG_OF|FFLAG_NX)  // overflow to the largest finite
        TEST_FP_OP2_S(fmul.s, rdn, 0x7f7fffff, 0x40000000, 0x7f7fffff, FFLAG_OF|FFLAG_NX)
        TEST_FP_OP2_S(fmul.s, rup, 0x7f7fffff, 0x40000000, 0x7f800000, FFLAG_OF|FFLAG_NX)
        TEST_FP_OP2_S(fmul.s, rdn, 0xff7fffff, 0x40000000, 0xff800000, FFLAG_OF|FFLAG_NX)
        TEST_FP_OP2_S(fmul.s, rup, 0xff7fffff, 0x40000000, 0xff7fffff, FFLAG_OF|FFLAG_NX)
        TEST_FP_OP2_S(fmul.s, rne, 0x00800000, 0x3f000000, 0x00400000, 0)  // exactly subnormal: no UF
        TEST_FP_OP2_S(fmul.s, rne, 0x00000001, 0x3f000000, 0x00000000, FFLAG_UF|FFLAG_NX)  // underflow to zero
        TEST_FP_OP2_S(fmul.s, rup, 0x00000001, 0x3f000000, 0x00000001, FFLAG_UF|FFLAG_NX)
        TEST_FP_OP2_S(fmul.s, rdn, 0x80000001, 0x3f000000, 0x80000001, FFLAG_UF|FFLAG_NX)
        TEST_FP_OP2_S(fmul.s, rne, 0x3f800001, 0x3f800001, 0x3f800002, FFLAG_NX)
        TEST_FP_OP2_S(fmul.s, rup, 0x3f800001, 0x3f800001, 0x3f800003, FFLAG_NX)
        TEST_FP_OP2_S(fmul.s, rne, 0x00000000, 0x7f800000, 0x7fc00000, FFLAG_NV)  // invalid
        TEST_FP_OP2_S(fmul.s, rne, 0xff800000, 0xc0000000, 0x7f800000, 0)
        TEST_FP_OP2_S(fmul.s, rne, 0x7f800001, 0x00000000, 0x7fc00000, FFLAG_NV)
        TEST_FP_OP2_S(fmul.s, rne, 0x14918e00, 0x2b612000, 0x00800000, FFLAG_NX)  // rounds up to the smallest normal: not tiny after rounding
        TEST_FP_OP2_S(fmul.s, rtz, 0x14918e00, 0x2b612000, 0x007fffff, FFLAG_UF|FFLAG_NX)  // stays subnormal: tiny
        TEST_FP_OP2_S(fdiv.s, rne, 0x3f800000, 0x40400000, 0x3eaaaaab, FFLAG_NX)
        TEST_FP_OP2_S(fdiv.s, rtz, 0x3f800000, 0x40400000, 0x3eaaaaaa, FFLAG_NX)
        TEST_FP_OP2_S(fdiv.s, rdn, 0x3f800000, 0x40400000, 0x3eaaaaaa, FFLAG_NX)
        TEST_FP_OP2_S(fdiv.s, rup, 0x3f800000, 0x40400000, 0x3eaaaaab, FFLAG_NX)
        TEST_FP_OP2_S(fdiv.s, rmm, 0xbf800000, 0x40400000, 0xbeaaaaab, FFLAG_NX)
        TEST_FP_OP2_S(fdiv.s, rne, 0x40c00000, 0x40400000, 0x40000000, 0)
        TEST_FP_OP2_S(fdiv.s, rne, 0x3f800000, 0x00000000, 0x7f800000, FFLAG_DZ)  // divide by zero
        TEST_FP_OP2_S(fdiv.s, rne, 0xbf800000, 0x00000000, 0xff800000, FFLAG_DZ)
        TEST_FP_OP2_S(fdiv.s, rne, 0x3f800000, 0x80000000, 0xff800000, FFLAG_DZ)
        TEST_FP_OP2_S(fdiv.s, rne, 0x00000000, 0x00000000, 0x7fc00000, FFLAG_NV)  // invalid
        TEST_FP_OP2_S(fdiv.s, rne, 0x7f800000, 0xff800000, 0x7fc00000, FFLAG_NV)  // invalid
        TEST_FP_OP2_S(fdiv.s, rne, 0x3f800000, 0x7f800000, 0x00000000, 0)
        TEST_FP_OP2_S(fdiv.s, rne, 0x00000000, 0x40a00000, 0x00000000, 0)
        TEST_FP_OP2_S(fdiv.s, rne, 0x7f7fffff, 0x3f000000, 0x7f800000, FFLAG_OF|FFLAG_NX)  // overflow
        TEST_FP_OP2_S(fdiv.s, rne, 0x00800000, 0x40800000, 0x00200000, 0)  // exact subnormal
        TEST_FP_OP2_S(fdiv.s, rne, 0x7fc12345, 0x00000000, 0x7fc00000, 0)  // NaN operand: no DZ
        // ---- sqrt ----
        TEST_FP_OP1_S(fsqrt.s, rne, 0x40800000, 0x40000000, 0)
        TEST_FP_OP1_S(fsqrt.s, rne, 0x40000000, 0x3fb504f3, FFLAG_NX)
        TEST_FP_OP1_S(fsqrt.s, rup, 0x40000000, 0x3fb504f4, FFLAG_NX)
        TEST_FP_OP1_S(fsqrt.s, rdn, 0x40000000, 0x3fb504f3, FFLAG_NX)
        TEST_FP_OP1_S(fsqrt.s, rne, 0x3f100000, 0x3f400000, 0)
        TEST_FP_OP1_S(fsqrt.s, rne, 0xbf800000, 0x7fc00000, FFLAG_NV)  // invalid
        TEST_FP_OP1_S(fsqrt.s, rne, 0x80000000, 0x80000000, 0)  // sqrt(-0) = -0
        TEST_FP_OP1_S(fsqrt.s, rne, 0x7f800000, 0x7f800000, 0)
        TEST_FP_OP1_S(fsqrt.s, rne, 0xff800000, 0x7fc00000, FFLAG_NV)
        TEST_FP_OP1_S(fsqrt.s, rne, 0x7fc12345, 0x7fc00000, 0)
        TEST_FP_OP1_S(fsqrt.s, rne, 0x7f800001, 0x7fc00000, FFLAG_NV)
        TEST_FP_OP1_S(fsqrt.s, rne, 0x00000001, 0x1a3504f3, FFLAG_NX)
        // ---- fused multiply-add (one rounding) ----
        TEST_FP_OP3_S(fmadd.s, rne, 0x40000000, 0x40400000, 0x40800000, 0x41200000, 0)
        TEST_FP_OP3_S(fmsub.s, rne, 0x40000000, 0x40400000, 0x40800000, 0x40000000, 0)
        TEST_FP_OP3_S(fnmsub.s, rne, 0x40000000, 0x40400000, 0x40800000, 0xc0000000, 0)
        TEST_FP_OP3_S(fnmadd.s, rne, 0x40000000, 0x40400000, 0x40800000, 0xc1200000, 0)
        TEST_FP_OP3_S(fmadd.s, rne, 0x3f800001, 0x3f7ffffe, 0xbf800000, 0xa8800000, 0)  // only exact if fused
        TEST_FP_OP3_S(fmsub.s, rne, 0x3f800001, 0x3f7ffffe, 0x3f800000, 0xa8800000, 0)
        TEST_FP_OP3_S(fnmsub.s, rne, 0x3f800001, 0x3f7ffffe, 0x3f800000, 0x28800000, 0)
        TEST_FP_OP3_S(fnmadd.s, rne, 0x3f800001, 0x3f7ffffe, 0xbf800000, 0x28800000, 0)
        TEST_FP_OP3_S(fmadd.s, rne, 0x7f7fffff, 0x40000000, 0xff7fffff, 0x7f7fffff, 0)  // no intermediate overflow
        TEST_FP_OP3_S(fmadd.s, rne, 0x00000000, 0x7f800000, 0x7fc00000, 0x7fc00000, FFLAG_NV)  // 0 * inf is invalid even with a quiet NaN addend
        TEST_FP_OP3_S(fmadd.s, rne, 0x7f800000, 0x00000000, 0x3f800000, 0x7fc00000, FFLAG_NV)
        TEST_FP_OP3_S(fmadd.s, rne, 0x7f800000, 0x3f800000, 0xff800000, 0x7fc00000, FFLAG_NV)
        TEST_FP_OP3_S(fnmadd.s, rne, 0x7f800000, 0x3f800000, 0xff800000, 0x7fc00000, FFLAG_NV)
        TEST_FP_OP3_S(fmadd.s, rne, 0x3f800000, 0x3f800000, 0x7fc12345, 0x7fc00000, 0)
        TEST_FP_OP3_S(fmadd.s, rne, 0x7f800001, 0x3f800000, 0x3f800000, 0x7fc00000, FFLAG_NV)
        TEST_FP_OP3_S(fmadd.s, rne, 0x3f800000, 0x3f800000, 0x7f800001, 0x7fc00000, FFLAG_NV)
        TEST_FP_OP3_S(fnmadd.s, rne, 0x3f800000, 0x00000000, 0x00000000, 0x80000000, 0)  // -(1 * 0) - 0 = -0
        TEST_FP_OP3_S(fmsub.s, rne, 0x00000000, 0x3f800000, 0x00000000, 0x00000000, 0)
        TEST_FP_OP3_S(fmsub.s, rdn, 0x00000000, 0x3f800000, 0x00000000, 0x80000000, 0)
        TEST_FP_OP3_S(fmadd.s, rne, 0x3f800000, 0x3f800000, 0x33800000, 0x3f800000, FFLAG_NX)
        TEST_FP_OP3_S(fmadd.s, rup, 0x3f800000, 0x3f800000, 0x33800000, 0x3f800001, FFLAG_NX)
        TEST_FP_OP3_S(fnmsub.s, rdn, 0x3f800000, 0x3f800000, 0x33800000, 0xbf7fffff, 0)
        TEST_FP_OP3_S(fmadd.s, rne, 0x7f7fffff, 0x7f7fffff, 0x3f800000, 0x7f800000, FFLAG_OF|FFLAG_NX)  // overflow
        TEST_FP_OP3_S(fmadd.s, rne, 0x00800000, 0x3e800000, 0x00000000, 0x00200000, 0)  // exact subnormal
        TEST_FP_OP3_S(fmadd.s, rne, 0x00000001, 0x3f000000, 0x00000000, 0x00000000, FFLAG_UF|FFLAG_NX)  // underflow
        // ---- sign injection: raw bits, NaNs untouched, no flags ----
        TEST_FP_OP2N_S(fsgnj.s, 0x3f800000, 0xc0000000, 0xbf800000, 0)
        TEST_FP_OP2N_S(fsgnj.s, 0xbf800000, 0x40000000, 0x3f800000, 0)
        TEST_FP_OP2N_S(fsgnjn.s, 0x3f800000, 0xc0000000, 0x3f800000, 0)
        TEST_FP_OP2N_S(fsgnjn.s, 0x3f800000, 0x40000000, 0xbf800000, 0)
        TEST_FP_OP2N_S(fsgnjx.s, 0xbf800000, 0xc0000000, 0x3f800000, 0)
        TEST_FP_OP2N_S(fsgnjx.s, 0xbf800000, 0x40000000, 0xbf800000, 0)
        TEST_FP_OP2N_S(fsgnj.s, 0x7f802345, 0xbf800000, 0xff802345, 0)  // a signalling NaN keeps its payload and raises nothing
        TEST_FP_OP2N_S(fsgnjn.s, 0x7fc12345, 0x3f800000, 0xffc12345, 0)
        TEST_FP_OP2N_S(fsgnjx.s, 0xffc00001, 0x80000000, 0x7fc00001, 0)
        TEST_FP_OP2N_S(fsgnjx.s, 0x80000000, 0x80000000, 0x00000000, 0)  // fabs
        TEST_FP_OP2N_S(fsgnjn.s, 0x00000000, 0x00000000, 0x80000000, 0)  // fneg
        // ---- min / max (-0 < +0; a NaN operand yields the other) ----
        TEST_FP_OP2N_S(fmin.s, 0x3f800000, 0x40000000, 0x3f800000, 0)
        TEST_FP_OP2N_S(fmax.s, 0x3f800000, 0x40000000, 0x40000000, 0)
        TEST_FP_OP2N_S(fmin.s, 0xbf800000, 0xc0000000, 0xc0000000, 0)
        TEST_FP_OP2N_S(fmax.s, 0xff800000, 0x7f800000, 0x7f800000, 0)
        TEST_FP_OP2N_S(fmin.s, 0x80000000, 0x00000000, 0x80000000, 0)
        TEST_FP_OP2N_S(fmin.s, 0x00000000, 0x80000000, 0x80000000, 0)
        TEST_FP_OP2N_S(fmax.s, 0x80000000, 0x00000000, 0x00000000, 0)
        TEST_FP_OP2N_S(fmax.s, 0x00000000, 0x80000000, 0x00000000, 0)
        TEST_FP_OP2N_S(fmin.s, 0x7fc12345, 0x3f800000, 0x3f800000, 0)
        TEST_FP_OP2N_S(fmin.s, 0x3f800000, 0x7fc00000, 0x3f800000, 0)
        TEST_FP_OP2N_S(fmax.s, 0x7fc00000, 0xff800000, 0xff800000, 0)
        TEST_FP_OP2N_S(fmin.s, 0x7f800001, 0x3f800000, 0x3f800000, FFLAG_NV)  // sNaN: the number, and NV
        TEST_FP_OP2N_S(fmax.s, 0x3f800000, 0x7f800001, 0x3f800000, FFLAG_NV)
        TEST_FP_OP2N_S(fmin.s, 0x7fc00000, 0x7fc12345, 0x7fc00000, 0)  // two NaNs: the canonical NaN
        TEST_FP_OP2N_S(fmax.s, 0x7f800001, 0x7fc00000, 0x7fc00000, FFLAG_NV)
        // ---- compare (feq is quiet, flt/fle signal on any NaN) ----
        TEST_FP_CMP_S(feq.s, 0x3f800000, 0x3f800000, 1, 0)
        TEST_FP_CMP_S(feq.s, 0x3f800000, 0x40000000, 0, 0)
        TEST_FP_CMP_S(feq.s, 0x80000000, 0x00000000, 1, 0)
        TEST_FP_CMP_S(feq.s, 0x7fc00000, 0x3f800000, 0, 0)
        TEST_FP_CMP_S(feq.s, 0x7fc00000, 0x7fc00000, 0, 0)
        TEST_FP_CMP_S(feq.s, 0x7f800001, 0x3f800000, 0, FFLAG_NV)
        TEST_FP_CMP_S(flt.s, 0x3f800000, 0x40000000, 1, 0)
        TEST_FP_CMP_S(flt.s, 0x40000000, 0x3f800000, 0, 0)
        TEST_FP_CMP_S(flt.s, 0x3f800000, 0x3f800000, 0, 0)
        TEST_FP_CMP_S(flt.s, 0x80000000, 0x00000000, 0, 0)
        TEST_FP_CMP_S(flt.s, 0xff800000, 0x7f7fffff, 1, 0)
        TEST_FP_CMP_S(flt.s, 0x7fc00000, 0x3f800000, 0, FFLAG_NV)
        TEST_FP_CMP_S(flt.s, 0x3f800000, 0x7f800001, 0, FFLAG_NV)
        TEST_FP_CMP_S(fle.s, 0x3f800000, 0x3f800000, 1, 0)
        TEST_FP_CMP_S(fle.s, 0x40000000, 0x3f800000, 0, 0)
        TEST_FP_CMP_S(fle.s, 0x80000000, 0x00000000, 1, 0)
        TEST_FP_CMP_S(fle.s, 0xff7fffff, 0xff800000, 0, 0)
        TEST_FP_CMP_S(fle.s, 0x3f800000, 0x7fc00000, 0, FFLAG_NV)
        TEST_FP_CMP_S(fle.s, 0x7f800001, 0x7f800001, 0, FFLAG_NV)
        // ---- fclass: the ten classes ----
        TEST_FP_CLASS_S(0xff800000, 0x1)
        TEST_FP_CLASS_S(0xbf800000, 0x2)
        TEST_FP_CLASS_S(0xff7fffff, 0x2)
        TEST_FP_CLASS_S(0x80000001, 0x4)
        TEST_FP_CLASS_S(0x807fffff, 0x4)
        TEST_FP_CLASS_S(0x80000000, 0x8)
        TEST_FP_CLASS_S(0x00000000, 0x10)
        TEST_FP_CLASS_S(0x00000001, 0x20)
        TEST_FP_CLASS_S(0x007fffff, 0x20)
        TEST_FP_CLASS_S(0x3f800000, 0x40)
        TEST_FP_CLASS_S(0x00800000, 0x40)
        TEST_FP_CLASS_S(0x7f800000, 0x80)
        TEST_FP_CLASS_S(0x7f800001, 0x100)
        TEST_FP_CLASS_S(0x7f802345, 0x100)
        TEST_FP_CLASS_S(0x7fc00000, 0x200)
        TEST_FP_CLASS_S(0xffc00005, 0x200)
        // ---- float to integer: rounding, saturation, NV/NX ----
        TEST_FP_TOINT_S(fcvt.w.s, rne, 0x40200000, 0x0000000000000002, FFLAG_NX)
        TEST_FP_TOINT_S(fcvt.w.s, rne, 0xc0200000, 0xfffffffffffffffe, FFLAG_NX)
        TEST_FP_TOINT_S(fcvt.w.s, rtz, 0x40200000, 0x0000000000000002, FFLAG_NX)
        TEST_FP_TOINT_S(fcvt.w.s, rtz, 0xc0200000, 0xfffffffffffffffe, FFLAG_NX)
        TEST_FP_TOINT_S(fcvt.w.s, rdn, 0x40200000, 0x0000000000000002, FFLAG_NX)
        TEST_FP_TOINT_S(fcvt.w.s, rdn, 0xc0200000, 0xfffffffffffffffd, FFLAG_NX)
        TEST_FP_TOINT_S(fcvt.w.s, rup, 0x40200000, 0x0000000000000003, FFLAG_NX)
        TEST_FP_TOINT_S(fcvt.w.s, rup, 0xc0200000, 0xfffffffffffffffe, FFLAG_NX)
        TEST_FP_TOINT_S(fcvt.w.s, rmm, 0x40200000, 0x0000000000000003, FFLAG_NX)
        TEST_FP_TOINT_S(fcvt.w.s, rmm, 0xc0200000, 0xfffffffffffffffd, FFLAG_NX)
        TEST_FP_TOINT_S(fcvt.w.s, rne, 0x3fc00000, 0x0000000000000002, FFLAG_NX)
        TEST_FP_TOINT_S(fcvt.w.s, rne, 0x3ecccccd, 0x0000000000000000, FFLAG_NX)
        TEST_FP_TOINT_S(fcvt.w.s, rne, 0x80000000, 0x0000000000000000, 0)
        TEST_FP_TOINT_S(fcvt.w.s, rne, 0xcf000000, 0xffffffff80000000, 0)  // exact minimum
        TEST_FP_TOINT_S(fcvt.w.s, rne, 0x4f000000, 0x000000007fffffff, FFLAG_NV)  // saturates
        TEST_FP_TOINT_S(fcvt.w.s, rne, 0xcf800000, 0xffffffff80000000, FFLAG_NV)
        TEST_FP_TOINT_S(fcvt.w.s, rne, 0x7fc00000, 0x000000007fffffff, FFLAG_NV)  // NaN gives the maximum
        TEST_FP_TOINT_S(fcvt.w.s, rne, 0xffc00000, 0x000000007fffffff, FFLAG_NV)
        TEST_FP_TOINT_S(fcvt.w.s, rne, 0x7f800000, 0x000000007fffffff, FFLAG_NV)
        TEST_FP_TOINT_S(fcvt.w.s, rne, 0xff800000, 0xffffffff80000000, FFLAG_NV)
        TEST_FP_TOINT_S(fcvt.wu.s, rtz, 0x406ccccd, 0x0000000000000003, FFLAG_NX)
        TEST_FP_TOINT_S(fcvt.wu.s, rne, 0xbf800000, 0x0000000000000000, FFLAG_NV)  // negative: 0 and NV
        TEST_FP_TOINT_S(fcvt.wu.s, rne, 0xbecccccd, 0x0000000000000000, FFLAG_NX)  // rounds to 0: only NX
        TEST_FP_TOINT_S(fcvt.wu.s, rdn, 0xbecccccd, 0x0000000000000000, FFLAG_NV)
        TEST_FP_TOINT_S(fcvt.wu.s, rne, 0x4f000000, 0xffffffff80000000, 0)  // 32-bit results are sign-extended
        TEST_FP_TOINT_S(fcvt.wu.s, rne, 0x4f7fffff, 0xffffffffffffff00, 0)
        TEST_FP_TOINT_S(fcvt.wu.s, rne, 0x4f800000, 0xffffffffffffffff, FFLAG_NV)
        TEST_FP_TOINT_S(fcvt.wu.s, rne, 0x7fc00000, 0xffffffffffffffff, FFLAG_NV)
        TEST_FP_TOINT_S(fcvt.wu.s, rne, 0xff800000, 0x0000000000000000, FFLAG_NV)
        TEST_FP_TOINT_S(fcvt.l.s, rne, 0x501502f9, 0x00000002540be400, 0)
        TEST_FP_TOINT_S(fcvt.l.s, rmm, 0xc0600000, 0xfffffffffffffffc, FFLAG_NX)
        TEST_FP_TOINT_S(fcvt.l.s, rne, 0xdf000000, 0x8000000000000000, 0)
        TEST_FP_TOINT_S(fcvt.l.s, rne, 0x5f000000, 0x7fffffffffffffff, FFLAG_NV)
        TEST_FP_TOINT_S(fcvt.l.s, rne, 0x7fc00000, 0x7fffffffffffffff, FFLAG_NV)
        TEST_FP_TOINT_S(fcvt.l.s, rne, 0xff800000, 0x8000000000000000, FFLAG_NV)
        TEST_FP_TOINT_S(fcvt.lu.s, rne, 0x5f000000, 0x8000000000000000, 0)
        TEST_FP_TOINT_S(fcvt.lu.s, rne, 0x5f800000, 0xffffffffffffffff, FFLAG_NV)
        TEST_FP_TOINT_S(fcvt.lu.s, rne, 0xbf800000, 0x0000000000000000, FFLAG_NV)
        TEST_FP_TOINT_S(fcvt.lu.s, rne, 0x80000000, 0x0000000000000000, 0)
        TEST_FP_TOINT_S(fcvt.lu.s, rup, 0xbf000000, 0x0000000000000000, FFLAG_NX)
        TEST_FP_TOINT_S(fcvt.lu.s, rne, 0x7fc00000, 0xffffffffffffffff, FFLAG_NV)
        TEST_FP_TOINT_S(fcvt.lu.s, rne, 0x7f800000, 0xffffffffffffffff, FFLAG_NV)
        // ---- integer to float ----
        TEST_FP_FROMINT_S(fcvt.s.w, rne, 0x0000000000000001, 0x3f800000, 0)
        TEST_FP_FROMINT_S(fcvt.s.w, rne, 0xffffffffffffffff, 0xbf800000, 0)
        TEST_FP_FROMINT_S(fcvt.s.w, rne, 0xffffffff80000000, 0xcf000000, 0)
        TEST_FP_FROMINT_S(fcvt.s.w, rne, 0x0000000100000007, 0x40e00000, 0)
        TEST_FP_FROMINT_S(fcvt.s.wu, rne, 0x00000000ffffffff, 0x4f800000, FFLAG_NX)
        TEST_FP_FROMINT_S(fcvt.s.wu, rne, 0xffffffff00000002, 0x40000000, 0)
        TEST_FP_FROMINT_S(fcvt.s.l, rne, 0x7fffffffffffffff, 0x5f000000, FFLAG_NX)
        TEST_FP_FROMINT_S(fcvt.s.l, rne, 0x8000000000000000, 0xdf000000, 0)
        TEST_FP_FROMINT_S(fcvt.s.lu, rne, 0xffffffffffffffff, 0x5f800000, FFLAG_NX)
        TEST_FP_FROMINT_S(fcvt.s.lu, rtz, 0xffffffffffffffff, 0x5f7fffff, FFLAG_NX)
        TEST_FP_FROMINT_S(fcvt.s.lu, rne, 0x0000000000000000, 0x00000000, 0)
        TEST_FP_FROMINT_S(fcvt.s.w, rne, 0x0000000001000001, 0x4b800000, FFLAG_NX)  // 2^24 + 1: a tie
        TEST_FP_FROMINT_S(fcvt.s.w, rup, 0x0000000001000001, 0x4b800001, FFLAG_NX)
        TEST_FP_FROMINT_S(fcvt.s.w, rdn, 0xfffffffffeffffff, 0xcb800001, FFLAG_NX)
        TEST_FP_FROMINT_S(fcvt.s.w, rne, 0x0000000001000003, 0x4b800002, FFLAG_NX)
        TEST_FP_FROMINT_S(fcvt.s.wu, rtz, 0x00000000ffffffff, 0x4f7fffff, FFLAG_NX)
        TEST_FP_FROMINT_S(fcvt.s.l, rmm, 0x0020000000000001, 0x5a000000, FFLAG_NX)
        j       pass

        .data
        .balign 8
fdata:  .word   0x7f812345, 0xffc00001, 0, 0
