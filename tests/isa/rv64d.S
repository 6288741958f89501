/*
 * rv64d: every RV64D instruction (unprivileged ISA 20191213, chapter 12) on raw bit patterns, the
 * same ground as rv64f.S in double precision (canonical NaN 0x7ff8000000000000), plus fld/fsd and
 * fmv.x.d/fmv.d.x keeping every bit, fcvt.s.d rounding (overflow, underflow, NaN without payload)
 * and fcvt.d.s widening exactly. Every operation must raise exactly the listed fflags. Expected
 * values come from an exact rational model of IEEE 754-2008, not from a host FPU.
 */
#include "isa.h"
#include "isa_fp.h"

        .text
        .globl test_main
test_main:
        // ---- Transfers keep every bit and raise nothing ------------------------------------------------
        CHECK_LINE
        fsflags zero
        la      a0, ddata
        fld     ft0, 0(a0)
        fmv.x.d t2, ft0
        ASSERT_EQ(t2, 0x7ff0000000012345)
        fld     ft1, 8(a0)
        fsd     ft1, 16(a0)
        addi    a1, a0, 32
        fsd     ft0, -8(a1)
        ld      t2, 16(a0)
        ASSERT_EQ(t2, 0xfff8000000000001)
        ld      t2, 24(a0)
        ASSERT_EQ(t2, 0x7ff0000000012345)
        li      t0, 0x8000000000000001
        fmv.d.x ft2, t0
        fmv.x.d t2, ft2
        ASSERT_EQ(t2, 0x8000000000000001)
        frflags t2
        ASSERT_EQ(t2, 0)

        // ---- add / sub ----
        TEST_FP_OP2_D(fadd.d, rne, 0x3ff0000000000000, 0x4000000000000000, 0x4008000000000000, 0)
        TEST_FP_OP2_D(fadd.d, rne, 0xbff8000000000000, 0x3fd0000000000000, 0xbff4000000000000, 0)
        TEST_FP_OP2_D(fadd.d, rne, 0x3ff0000000000000, 0x3ca0000000000000, 0x3ff0000000000000, FFLAG_NX)  // a tie: to even
        TEST_FP_OP2_D(fadd.d, rmm, 0x3ff0000000000000, 0x3ca0000000000000, 0x3ff0000000000001, FFLAG_NX)  // a tie: away
        TEST_FP_OP2_D(fadd.d, rne, 0x3ff0000000000000, 0x3ca8000000000000, 0x3ff0000000000001, FFLAG_NX)
        TEST_FP_OP2_D(fadd.d, rtz, 0x3ff0000000000000, 0x3ca8000000000000, 0x3ff0000000000000, FFLAG_NX)
        TEST_FP_OP2_D(fadd.d, rne, 0x7fefffffffffffff, 0x7fefffffffffffff, 0x7ff0000000000000, FFLAG_OF|FFLAG_NX)  // overflow
        TEST_FP_OP2_D(fadd.d, rtz, 0x7fefffffffffffff, 0x7fefffffffffffff, 0x7fefffffffffffff, FFLAG_OF|FFLAG_NX)  // overflow, toward zero
        TEST_FP_OP2_D(fadd.d, rne, 0x7ff0000000000000, 0xfff0000000000000, 0x7ff8000000000000, FFLAG_NV)  // invalid
        TEST_FP_OP2_D(fadd.d, rne, 0x7ff0000000000000, 0x3ff0000000000000, 0x7ff0000000000000, 0)
        TEST_FP_OP2_D(fadd.d, rne, 0x7ff8000000012345, 0x3ff0000000000000, 0x7ff8000000000000, 0)  // NaN payloads are not propagated
        TEST_FP_OP2_D(fadd.d, rne, 0x3ff0000000000000, 0x7ff0000000000001, 0x7ff8000000000000, FFLAG_NV)  // signalling NaN
        TEST_FP_OP2_D(fadd.d, rne, 0x8000000000000000, 0x8000000000000000, 0x8000000000000000, 0)
        TEST_FP_OP2_D(fadd.d, rne, 0x0000000000000000, 0x8000000000000000, 0x0000000000000000, 0)
        TEST_FP_OP2_D(fadd.d, rdn, 0x0000000000000000, 0x8000000000000000, 0x8000000000000000, 0)
        TEST_FP_OP2_D(fadd.d, rne, 0x3ff0000000000000, 0xbff0000000000000, 0x0000000000000000, 0)
        TEST_FP_OP2_D(fadd.d, rdn, 0x3ff0000000000000, 0xbff0000000000000, 0x8000000000000000, 0)  // exact zero is -0 only when rounding down
        TEST_FP_OP2_D(fadd.d, rne, 0x0000000000000001, 0x0000000000000001, 0x0000000000000002, 0)  // subnormal, exact: no UF
        TEST_FP_OP2_D(fsub.d, rne, 0x4008000000000000, 0x4014000000000000, 0xc000000000000000, 0)
        TEST_FP_OP2_D(fsub.d, rne, 0x3ff0000000000000, 0x3ff0000000000000, 0x0000000000000000, 0)
        TEST_FP_OP2_D(fsub.d, rdn, 0x3ff0000000000000, 0x3ff0000000000000, 0x8000000000000000, 0)
        TEST_FP_OP2_D(fsub.d, rne, 0x8000000000000000, 0x0000000000000000, 0x8000000000000000, 0)
        TEST_FP_OP2_D(fsub.d, rne, 0x7ff0000000000000, 0x7ff0000000000000, 0x7ff8000000000000, FFLAG_NV)  // invalid
        TEST_FP_OP2_D(fsub.d, rne, 0xfff0000000000000, 0x7ff0000000000000, 0xfff0000000000000, 0)
        TEST_FP_OP2_D(fsub.d, rne, 0x3ff0000000000000, 0x3c90000000000000, 0x3ff0000000000000, FFLAG_NX)  // a tie below 1
        TEST_FP_OP2_D(fsub.d, rtz, 0x3ff0000000000000, 0x3c90000000000000, 0x3fefffffffffffff, FFLAG_NX)
        TEST_FP_OP2_D(fsub.d, rdn, 0x3ff0000000000000, 0x3c90000000000000, 0x3fefffffffffffff, FFLAG_NX)
        TEST_FP_OP2_D(fsub.d, rup, 0x3ff0000000000000, 0x3c90000000000000, 0x3ff0000000000000, FFLAG_NX)
        TEST_FP_OP2_D(fsub.d, rne, 0x7ff8000000012345, 0x7ff0000000000001, 0x7ff8000000000000, FFLAG_NV)
        // ---- mul / div ----
        TEST_FP_OP2_D(fmul.d, rne, 0x3ff8000000000000, 0x4000000000000000, 0x4008000000000000, 0)
        TEST_FP_OP2_D(fmul.d, rne, 0xc000000000000000, 0x0000000000000000, 0x8000000000000000, 0)
        TEST_FP_OP2_D(fmul.d, rne, 0x7fefffffffffffff, 0x4000000000000000, 0x7ff0000000000000, FFLAG_OF|FFLAG_NX)  // overflow to infinity
        TEST_FP_OP2_D(fmul.d, rtz, 0x7fefffffffffffff, 0x4000000000000000, 0x7fefffffffffffff, FFLAG_OF|FFLAG_NX)  // overflow to the largest finite
        TEST_FP_OP2_D(fmul.d, rdn, 0x7fefffffffffffff, 0x4000000000000000, 0x7fefffffffffffff, FFLAG_OF|FFLAG_NX)
        TEST_FP_OP2_D(fmul.d, rup, 0x7fefffffffffffff, 0x4000000000000000, 0x7ff0000000000000, FFLAG_OF|FFLAG_NX)
        TEST_FP_OP2_D(fmul.d, rdn, 0xffefffffffffffff, 0x4000000000000000, 0xfff0000000000000, FFLAG_OF|FFLAG_NX)
        TEST_FP_OP2_D(fmul.d, rup, 0xffefffffffffffff, 0x4000000000000000, 0xffefffffffffffff, FFLAG_OF|FFLAG_NX)
        TEST_FP_OP2_D(fmul.d, rne, 0x0010000000000000, 0x3fe0000000000000, 0x0008000000000000, 0)  // exactly subnormal: no UF
        TEST_FP_OP2_D(fmul.d, rne, 0x0000000000000001, 0x3fe0000000000000, 0x0000000000000000, FFLAG_UF|FFLAG_NX)  // underflow to zero
        TEST_FP_OP2_D(fmul.d, rup, 0x0000000000000001, 0x3fe0000000000000, 0x0000000000000001, FFLAG_UF|FFLAG_NX)
        TEST_FP_OP2_D(fmul.d, rdn, 0x8000000000000001, 0x3fe0000000000000, 0x8000000000000001, FFLAG_UF|FFLAG_NX)
        TEST_FP_OP2_D(fmul.d, rne, 0x3ff0000000000001, 0x3ff0000000000001, 0x3ff0000000000002, FFLAG_NX)
        TEST_FP_OP2_D(fmul.d, rup, 0x3ff0000000000001, 0x3ff0000000000001, 0x3ff0000000000003, FFLAG_NX)
        TEST_FP_OP2_D(fmul.d, rne, 0x0000000000000000, 0x7ff0000000000000, 0x7ff8000000000000, FFLAG_NV)  // invalid
        TEST_FP_OP2_D(fmul.d, rne, 0xfff0000000000000, 0xc000000000000000, 0x7ff0000000000000, 0)
        TEST_FP_OP2_D(fmul.d, rne, 0x7ff0000000000001, 0x0000000000000000, 0x7ff8000000000000, FFLAG_NV)
        TEST_FP_OP2_D(fmul.d, rne, 0x1f6ffff800000000, 0x2090000400010000, 0x0010000000000000, FFLAG_NX)  // rounds up to the smallest normal: not tiny after rounding
        TEST_FP_OP2_D(fmul.d, rtz, 0x1f6ffff800000000, 0x2090000400010000, 0x000fffffffffffff, FFLAG_UF|FFLAG_NX)  // stays subnormal: tiny
        TEST_FP_OP2_D(fdiv.d, rne, 0x3ff0000000000000, 0x4008000000000000, 0x3fd5555555555555, FFLAG_NX)
        TEST_FP_OP2_D(fdiv.d, rtz, 0x3ff0000000000000, 0x4008000000000000, 0x3fd5555555555555, FFLAG_NX)
        TEST_FP_OP2_D(fdiv.d, rdn, 0x3ff0000000000000, 0x4008000000000000, 0x3fd5555555555555, FFLAG_NX)
        TEST_FP_OP2_D(fdiv.d, rup, 0x3ff0000000000000, 0x4008000000000000, 0x3fd5555555555556, FFLAG_NX)
        TEST_FP_OP2_D(fdiv.d, rmm, 0xbff0000000000000, 0x4008000000000000, 0xbfd5555555555555, FFLAG_NX)
        TEST_FP_OP2_D(fdiv.d, rne, 0x4018000000000000, 0x4008000000000000, 0x4000000000000000, 0)
        TEST_FP_OP2_D(fdiv.d, rne, 0x3ff0000000000000, 0x0000000000000000, 0x7ff0000000000000, FFLAG_DZ)  // divide by zero
        TEST_FP_OP2_D(fdiv.d, rne, 0xbff0000000000000, 0x0000000000000000, 0xfff0000000000000, FFLAG_DZ)
        TEST_FP_OP2_D(fdiv.d, rne, 0x3ff0000000000000, 0x8000000000000000, 0xfff0000000000000, FFLAG_DZ)
        TEST_FP_OP2_D(fdiv.d, rne, 0x0000000000000000, 0x0000000000000000, 0x7ff8000000000000, FFLAG_NV)  // invalid
        TEST_FP_OP2_D(fdiv.d, rne, 0x7ff0000000000000, 0xfff0000000000000, 0x7ff8000000000000, FFLAG_NV)  // invalid
        TEST_FP_OP2_D(fdiv.d, rne, 0x3ff0000000000000, 0x7ff0000000000000, 0x0000000000000000, 0)
        TEST_FP_OP2_D(fdiv.d, rne, 0x0000000000000000, 0x4014000000000000, 0x0000000000000000, 0)
        TEST_FP_OP2_D(fdiv.d, rne, 0x7fefffffffffffff, 0x3fe0000000000000, 0x7ff0000000000000, FFLAG_OF|FFLAG_NX)  // overflow
        TEST_FP_OP2_D(fdiv.d, rne, 0x0010000000000000, 0x4010000000000000, 0x0004000000000000, 0)  // exact subnormal
        TEST_FP_OP2_D(fdiv.d, rne, 0x7ff8000000012345, 0x0000000000000000, 0x7ff8000000000000, 0)  // NaN operand: no DZ
        // ---- sqrt ----
        TEST_FP_OP1_D(fsqrt.d, rne, 0x4010000000000000, 0x4000000000000000, 0)
        TEST_FP_OP1_D(fsqrt.d, rne, 0x4000000000000000, 0x3ff6a09e667f3bcd, FFLAG_NX)
        TEST_FP_OP1_D(fsqrt.d, rup, 0x4000000000000000, 0x3ff6a09e667f3bcd, FFLAG_NX)
        TEST_FP_OP1_D(fsqrt.d, rdn, 0x4000000000000000, 0x3ff6a09e667f3bcc, FFLAG_NX)
        TEST_FP_OP1_D(fsqrt.d, rne, 0x3fe2000000000000, 0x3fe8000000000000, 0)
        TEST_FP_OP1_D(fsqrt.d, rne, 0xbff0000000000000, 0x7ff8000000000000, FFLAG_NV)  // invalid
        TEST_FP_OP1_D(fsqrt.d, rne, 0x8000000000000000, 0x8000000000000000, 0)  // sqrt(-0) = -0
        TEST_FP_OP1_D(fsqrt.d, rne, 0x7ff0000000000000, 0x7ff0000000000000, 0)
        TEST_FP_OP1_D(fsqrt.d, rne, 0xfff0000000000000, 0x7ff8000000000000, FFLAG_NV)
        TEST_FP_OP1_D(fsqrt.d, rne, 0x7ff8000000012345, 0x7ff8000000000000, 0)
        TEST_FP_OP1_D(fsqrt.d, rne, 0x7ff0000000000001, 0x7ff8000000000000, FFLAG_NV)
        TEST_FP_OP1_D(fsqrt.d, rne, 0x0000000000000001, 0x1e60000000000000, 0)
        // ---- fused multiply-add (one rounding) ----
        TEST_FP_OP3_D(fmadd.d, rne, 0x4000000000000000, 0x4008000000000000, 0x4010000000000000, 0x4024000000000000, 0)
        TEST_FP_OP3_D(fmsub.d, rne, 0x4000000000000000, 0x4008000000000000, 0x4010000000000000, 0x4000000000000000, 0)
        TEST_FP_OP3_D(fnmsub.d, rne, 0x4000000000000000, 0x4008000000000000, 0x4010000000000000, 0xc000000000000000, 0)
        TEST_FP_OP3_D(fnmadd.d, rne, 0x4000000000000000, 0x4008000000000000, 0x4010000000000000, 0xc024000000000000, 0)
        TEST_FP_OP3_D(fmadd.d, rne, 0x3ff0000000000001, 0x3feffffffffffffe, 0xbff0000000000000, 0xb970000000000000, 0)  // only exact if fused
        TEST_FP_OP3_D(fmsub.d, rne, 0x3ff0000000000001, 0x3feffffffffffffe, 0x3ff0000000000000, 0xb970000000000000, 0)
        TEST_FP_OP3_D(fnmsub.d, rne, 0x3ff0000000000001, 0x3feffffffffffffe, 0x3ff0000000000000, 0x3970000000000000, 0)
        TEST_FP_OP3_D(fnmadd.d, rne, 0x3ff0000000000001, 0x3feffffffffffffe, 0xbff0000000000000, 0x3970000000000000, 0)
        TEST_FP_OP3_D(fmadd.d, rne, 0x7fefffffffffffff, 0x4000000000000000, 0xffefffffffffffff, 0x7fefffffffffffff, 0)  // no intermediate overflow
        TEST_FP_OP3_D(fmadd.d, rne, 0x0000000000000000, 0x7ff0000000000000, 0x7ff8000000000000, 0x7ff8000000000000, FFLAG_NV)  // 0 * inf is invalid even with a quiet NaN addend
        TEST_FP_OP3_D(fmadd.d, rne, 0x7ff0000000000000, 0x0000000000000000, 0x3ff0000000000000, 0x7ff8000000000000, FFLAG_NV)
        TEST_FP_OP3_D(fmadd.d, rne, 0x7ff0000000000000, 0x3ff0000000000000, 0xfff0000000000000, 0x7ff8000000000000, FFLAG_NV)
        TEST_FP_OP3_D(fnmadd.d, rne, 0x7ff0000000000000, 0x3ff0000000000000, 0xfff0000000000000, 0x7ff8000000000000, FFLAG_NV)
        TEST_FP_OP3_D(fmadd.d, rne, 0x3ff0000000000000, 0x3ff0000000000000, 0x7ff8000000012345, 0x7ff8000000000000, 0)
        TEST_FP_OP3_D(fmadd.d, rne, 0x7ff0000000000001, 0x3ff0000000000000, 0x3ff0000000000000, 0x7ff8000000000000, FFLAG_NV)
        TEST_FP_OP3_D(fmadd.d, rne, 0x3ff0000000000000, 0x3ff0000000000000, 0x7ff0000000000001, 0x7ff8000000000000, FFLAG_NV)
        TEST_FP_OP3_D(fnmadd.d, rne, 0x3ff0000000000000, 0x0000000000000000, 0x0000000000000000, 0x8000000000000000, 0)  // -(1 * 0) - 0 = -0
        TEST_FP_OP3_D(fmsub.d, rne, 0x0000000000000000, 0x3ff0000000000000, 0x0000000000000000, 0x0000000000000000, 0)
        TEST_FP_OP3_D(fmsub.d, rdn, 0x0000000000000000, 0x3ff0000000000000, 0x0000000000000000, 0x8000000000000000, 0)
        TEST_FP_OP3_D(fmadd.d, rne, 0x3ff0000000000000, 0x3ff0000000000000, 0x3ca0000000000000, 0x3ff0000000000000, FFLAG_NX)
        TEST_FP_OP3_D(fmadd.d, rup, 0x3ff0000000000000, 0x3ff0000000000000, 0x3ca0000000000000, 0x3ff0000000000001, FFLAG_NX)
        TEST_FP_OP3_D(fnmsub.d, rdn, 0x3ff0000000000000, 0x3ff0000000000000, 0x3ca0000000000000, 0xbfefffffffffffff, 0)
        TEST_FP_OP3_D(fmadd.d, rne, 0x7fefffffffffffff, 0x7fefffffffffffff, 0x3ff0000000000000, 0x7ff0000000000000, FFLAG_OF|FFLAG_NX)  // overflow
        TEST_FP_OP3_D(fmadd.d, rne, 0x0010000000000000, 0x3fd0000000000000, 0x0000000000000000, 0x0004000000000000, 0)  // exact subnormal
        TEST_FP_OP3_D(fmadd.d, rne, 0x0000000000000001, 0x3fe0000000000000, 0x0000000000000000, 0x0000000000000000, FFLAG_UF|FFLAG_NX)  // underflow
        // ---- sign injection: raw bits, NaNs untouched, no flags ----
        TEST_FP_OP2N_D(fsgnj.d, 0x3ff0000000000000, 0xc000000000000000, 0xbff0000000000000, 0)
        TEST_FP_OP2N_D(fsgnj.d, 0xbff0000000000000, 0x4000000000000000, 0x3ff0000000000000, 0)
        TEST_FP_OP2N_D(fsgnjn.d, 0x3ff0000000000000, 0xc000000000000000, 0x3ff0000000000000, 0)
        TEST_FP_OP2N_D(fsgnjn.d, 0x3ff0000000000000, 0x4000000000000000, 0xbff0000000000000, 0)
        TEST_FP_OP2N_D(fsgnjx.d, 0xbff0000000000000, 0xc000000000000000, 0x3ff0000000000000, 0)
        TEST_FP_OP2N_D(fsgnjx.d, 0xbff0000000000000, 0x4000000000000000, 0xbff0000000000000, 0)
        TEST_FP_OP2N_D(fsgnj.d, 0x7ff0000000002345, 0xbff0000000000000, 0xfff0000000002345, 0)  // a signalling NaN keeps its payload and raises nothing
        TEST_FP_OP2N_D(fsgnjn.d, 0x7ff8000000012345, 0x3ff0000000000000, 0xfff8000000012345, 0)
        TEST_FP_OP2N_D(fsgnjx.d, 0xfff8000000000001, 0x8000000000000000, 0x7ff8000000000001, 0)
        TEST_FP_OP2N_D(fsgnjx.d, 0x8000000000000000, 0x8000000000000000, 0x0000000000000000, 0)  // fabs
        TEST_FP_OP2N_D(fsgnjn.d, 0x0000000000000000, 0x0000000000000000, 0x8000000000000000, 0)  // fneg
        // ---- min / max (-0 < +0; a NaN operand yields the other) ----
        TEST_FP_OP2N_D(fmin.d, 0x3ff0000000000000, 0x4000000000000000, 0x3ff0000000000000, 0)
        TEST_FP_OP2N_D(fmax.d, 0x3ff0000000000000, 0x4000000000000000, 0x4000000000000000, 0)
        TEST_FP_OP2N_D(fmin.d, 0xbff0000000000000, 0xc000000000000000, 0xc000000000000000, 0)
        TEST_FP_OP2N_D(fmax.d, 0xfff0000000000000, 0x7ff0000000000000, 0x7ff0000000000000, 0)
        TEST_FP_OP2N_D(fmin.d, 0x8000000000000000, 0x0000000000000000, 0x8000000000000000, 0)
        TEST_FP_OP2N_D(fmin.d, 0x0000000000000000, 0x8000000000000000, 0x8000000000000000, 0)
        TEST_FP_OP2N_D(fmax.d, 0x8000000000000000, 0x0000000000000000, 0x0000000000000000, 0)
        TEST_FP_OP2N_D(fmax.d, 0x0000000000000000, 0x8000000000000000, 0x0000000000000000, 0)
        TEST_FP_OP2N_D(fmin.d, 0x7ff8000000012345, 0x3ff0000000000000, 0x3ff0000000000000, 0)
        TEST_FP_OP2N_D(fmin.d, 0x3ff0000000000000, 0x7ff8000000000000, 0x3ff0000000000000, 0)
        TEST_FP_OP2N_D(fmax.d, 0x7ff8000000000000, 0xfff0000000000000, 0xfff0000000000000, 0)
        TEST_FP_OP2N_D(fmin.d, 0x7ff0000000000001, 0x3ff0000000000000, 0x3ff0000000000000, FFLAG_NV)  // sNaN: the number, and NV
        TEST_FP_OP2N_D(fmax.d, 0x3ff0000000000000, 0x7ff0000000000001, 0x3ff0000000000000, FFLAG_NV)
        TEST_FP_OP2N_D(fmin.d, 0x7ff8000000000000, 0x7ff8000000012345, 0x7ff8000000000000, 0)  // two NaNs: the canonical NaN
        TEST_FP_OP2N_D(fmax.d, 0x7ff0000000000001, 0x7ff8000000000000, 0x7ff8000000000000, FFLAG_NV)
        // ---- compare (feq is quiet, flt/fle signal on any NaN) ----
        TEST_FP_CMP_D(feq.d, 0x3ff0000000000000, 0x3ff0000000000000, 1, 0)
        TEST_FP_CMP_D(feq.d, 0x3ff0000000000000, 0x4000000000000000, 0, 0)
        TEST_FP_CMP_D(feq.d, 0x8000000000000000, 0x0000000000000000, 1, 0)
        TEST_FP_CMP_D(feq.d, 0x7ff8000000000000, 0x3ff0000000000000, 0, 0)
        TEST_FP_CMP_D(feq.d, 0x7ff8000000000000, 0x7ff8000000000000, 0, 0)
        TEST_FP_CMP_D(feq.d, 0x7ff0000000000001, 0x3ff0000000000000, 0, FFLAG_NV)
        TEST_FP_CMP_D(flt.d, 0x3ff0000000000000, 0x4000000000000000, 1, 0)
        TEST_FP_CMP_D(flt.d, 0x4000000000000000, 0x3ff0000000000000, 0, 0)
        TEST_FP_CMP_D(flt.d, 0x3ff0000000000000, 0x3ff0000000000000, 0, 0)
        TEST_FP_CMP_D(flt.d, 0x8000000000000000, 0x0000000000000000, 0, 0)
        TEST_FP_CMP_D(flt.d, 0xfff0000000000000, 0x7fefffffffffffff, 1, 0)
        TEST_FP_CMP_D(flt.d, 0x7ff8000000000000, 0x3ff0000000000000, 0, FFLAG_NV)
        TEST_FP_CMP_D(flt.d, 0x3ff0000000000000, 0x7ff0000000000001, 0, FFLAG_NV)
        TEST_FP_CMP_D(fle.d, 0x3ff0000000000000, 0x3ff0000000000000, 1, 0)
        TEST_FP_CMP_D(fle.d, 0x4000000000000000, 0x3ff0000000000000, 0, 0)
        TEST_FP_CMP_D(fle.d, 0x8000000000000000, 0x0000000000000000, 1, 0)
        TEST_FP_CMP_D(fle.d, 0xffefffffffffffff, 0xfff0000000000000, 0, 0)
        TEST_FP_CMP_D(fle.d, 0x3ff0000000000000, 0x7ff8000000000000, 0, FFLAG_NV)
        TEST_FP_CMP_D(fle.d, 0x7ff0000000000001, 0x7ff0000000000001, 0, FFLAG_NV)
        // ---- fclass: the ten classes ----
        TEST_FP_CLASS_D(0xfff0000000000000, 0x1)
        TEST_FP_CLASS_D(0xbff0000000000000, 0x2)
        TEST_FP_CLASS_D(0xffefffffffffffff, 0x2)
        TEST_FP_CLASS_D(0x8000000000000001, 0x4)
        TEST_FP_CLASS_D(0x800fffffffffffff, 0x4)
        TEST_FP_CLASS_D(0x8000000000000000, 0x8)
        TEST_FP_CLASS_D(0x0000000000000000, 0x10)
        TEST_FP_CLASS_D(0x0000000000000001, 0x20)
        TEST_FP_CLASS_D(0x000fffffffffffff, 0x20)
        TEST_FP_CLASS_D(0x3ff0000000000000, 0x40)
        TEST_FP_CLASS_D(0x0010000000000000, 0x40)
        TEST_FP_CLASS_D(0x7ff0000000000000, 0x80)
        TEST_FP_CLASS_D(0x7ff0000000000001, 0x100)
        TEST_FP_CLASS_D(0x7ff0000000002345, 0x100)
        TEST_FP_CLASS_D(0x7ff8000000000000, 0x200)
        TEST_FP_CLASS_D(0xfff8000000000005, 0x200)
        // ---- float to integer: rounding, saturation, NV/NX ----
        TEST_FP_TOINT_D(fcvt.w.d, rne, 0x4004000000000000, 0x0000000000000002, FFLAG_NX)
        TEST_FP_TOINT_D(fcvt.w.d, rne, 0xc004000000000000, 0xfffffffffffffffe, FFLAG_NX)
        TEST_FP_TOINT_D(fcvt.w.d, rtz, 0x4004000000000000, 0x0000000000000002, FFLAG_NX)
        TEST_FP_TOINT_D(fcvt.w.d, rtz, 0xc004000000000000, 0xfffffffffffffffe, FFLAG_NX)
        TEST_FP_TOINT_D(fcvt.w.d, rdn, 0x4004000000000000, 0x0000000000000002, FFLAG_NX)
        TEST_FP_TOINT_D(fcvt.w.d, rdn, 0xc004000000000000, 0xfffffffffffffffd, FFLAG_NX)
        TEST_FP_TOINT_D(fcvt.w.d, rup, 0x4004000000000000, 0x0000000000000003, FFLAG_NX)
        TEST_FP_TOINT_D(fcvt.w.d, rup, 0xc004000000000000, 0xfffffffffffffffe, FFLAG_NX)
        TEST_FP_TOINT_D(fcvt.w.d, rmm, 0x4004000000000000, 0x0000000000000003, FFLAG_NX)
        TEST_FP_TOINT_D(fcvt.w.d, rmm, 0xc004000000000000, 0xfffffffffffffffd, FFLAG_NX)
        TEST_FP_TOINT_D(fcvt.w.d, rne, 0x3ff8000000000000, 0x0000000000000002, FFLAG_NX)
        TEST_FP_TOINT_D(fcvt.w.d, rne, 0x3fd999999999999a, 0x0000000000000000, FFLAG_NX)
        TEST_FP_TOINT_D(fcvt.w.d, rne, 0x8000000000000000, 0x0000000000000000, 0)
        TEST_FP_TOINT_D(fcvt.w.d, rne, 0xc1e0000000000000, 0xffffffff80000000, 0)  // exact minimum
        TEST_FP_TOINT_D(fcvt.w.d, rne, 0x41e0000000000000, 0x000000007fffffff, FFLAG_NV)  // saturates
        TEST_FP_TOINT_D(fcvt.w.d, rne, 0xc1f0000000000000, 0xffffffff80000000, FFLAG_NV)
        TEST_FP_TOINT_D(fcvt.w.d, rne, 0x7ff8000000000000, 0x000000007fffffff, FFLAG_NV)  // NaN gives the maximum
        TEST_FP_TOINT_D(fcvt.w.d, rne, 0xfff8000000000000, 0x000000007fffffff, FFLAG_NV)
        TEST_FP_TOINT_D(fcvt.w.d, rne, 0x7ff0000000000000, 0x000000007fffffff, FFLAG_NV)
        TEST_FP_TOINT_D(fcvt.w.d, rne, 0xfff0000000000000, 0xffffffff80000000, FFLAG_NV)
        TEST_FP_TOINT_D(fcvt.wu.d, rtz, 0x400d99999999999a, 0x0000000000000003, FFLAG_NX)
        TEST_FP_TOINT_D(fcvt.wu.d, rne, 0xbff0000000000000, 0x0000000000000000, FFLAG_NV)  // negative: 0 and NV
        TEST_FP_TOINT_D(fcvt.wu.d, rne, 0xbfd999999999999a, 0x0000000000000000, FFLAG_NX)  // rounds to 0: only NX
        TEST_FP_TOINT_D(fcvt.wu.d, rdn, 0xbfd999999999999a, 0x0000000000000000, FFLAG_NV)
        TEST_FP_TOINT_D(fcvt.wu.d, rne, 0x41e0000000000000, 0xffffffff80000000, 0)  // 32-bit results are sign-extended
        TEST_FP_TOINT_D(fcvt.wu.d, rne, 0x41efffffe0000000, 0xffffffffffffff00, 0)
        TEST_FP_TOINT_D(fcvt.wu.d, rne, 0x41f0000000000000, 0xffffffffffffffff, FFLAG_NV)
        TEST_FP_TOINT_D(fcvt.wu.d, rne, 0x7ff8000000000000, 0xffffffffffffffff, FFLAG_NV)
        TEST_FP_TOINT_D(fcvt.wu.d, rne, 0xfff0000000000000, 0x0000000000000000, FFLAG_NV)
        TEST_FP_TOINT_D(fcvt.l.d, rne, 0x430c6bf526340008, 0x00038d7ea4c68001, 0)
        TEST_FP_TOINT_D(fcvt.l.d, rmm, 0xc00c000000000000, 0xfffffffffffffffc, FFLAG_NX)
        TEST_FP_TOINT_D(fcvt.l.d, rne, 0xc3e0000000000000, 0x8000000000000000, 0)
        TEST_FP_TOINT_D(fcvt.l.d, rne, 0x43e0000000000000, 0x7fffffffffffffff, FFLAG_NV)
        TEST_FP_TOINT_D(fcvt.l.d, rne, 0x7ff8000000000000, 0x7fffffffffffffff, FFLAG_NV)
        TEST_FP_TOINT_D(fcvt.l.d, rne, 0xfff0000000000000, 0x8000000000000000, FFLAG_NV)
        TEST_FP_TOINT_D(fcvt.lu.d, rne, 0x43e0000000000000, 0x8000000000000000, 0)
        TEST_FP_TOINT_D(fcvt.lu.d, rne, 0x43f0000000000000, 0xffffffffffffffff, FFLAG_NV)
        TEST_FP_TOINT_D(fcvt.lu.d, rne, 0xbff0000000000000, 0x0000000000000000, FFLAG_NV)
        TEST_FP_TOINT_D(fcvt.lu.d, rne, 0x8000000000000000, 0x0000000000000000, 0)
        TEST_FP_TOINT_D(fcvt.lu.d, rup, 0xbfe0000000000000, 0x0000000000000000, FFLAG_NX)
        TEST_FP_TOINT_D(fcvt.lu.d, rne, 0x7ff8000000000000, 0xffffffffffffffff, FFLAG_NV)
        TEST_FP_TOINT_D(fcvt.lu.d, rne, 0x7ff0000000000000, 0xffffffffffffffff, FFLAG_NV)
        // ---- integer to float ----
        TEST_FP_FROMINT_EXACT_D(fcvt.d.w, 0x0000000000000001, 0x3ff0000000000000)
        TEST_FP_FROMINT_EXACT_D(fcvt.d.w, 0xffffffffffffffff, 0xbff0000000000000)
        TEST_FP_FROMINT_EXACT_D(fcvt.d.w, 0xffffffff80000000, 0xc1e0000000000000)
        TEST_FP_FROMINT_EXACT_D(fcvt.d.w, 0x0000000100000007, 0x401c000000000000)
        TEST_FP_FROMINT_EXACT_D(fcvt.d.wu, 0x00000000ffffffff, 0x41efffffffe00000)
        TEST_FP_FROMINT_EXACT_D(fcvt.d.wu, 0xffffffff00000002, 0x4000000000000000)
        TEST_FP_FROMINT_D(fcvt.d.l, rne, 0x7fffffffffffffff, 0x43e0000000000000, FFLAG_NX)
        TEST_FP_FROMINT_D(fcvt.d.l, rne, 0x8000000000000000, 0xc3e0000000000000, 0)
        TEST_FP_FROMINT_D(fcvt.d.lu, rne, 0xffffffffffffffff, 0x43f0000000000000, FFLAG_NX)
        TEST_FP_FROMINT_D(fcvt.d.lu, rtz, 0xffffffffffffffff, 0x43efffffffffffff, FFLAG_NX)
        TEST_FP_FROMINT_D(fcvt.d.lu, rne, 0x0000000000000000, 0x0000000000000000, 0)
        TEST_FP_FROMINT_D(fcvt.d.l, rne, 0x0020000000000001, 0x4340000000000000, FFLAG_NX)  // 2^53 + 1: a tie
        TEST_FP_FROMINT_D(fcvt.d.l, rup, 0x0020000000000001, 0x4340000000000001, FFLAG_NX)
        TEST_FP_FROMINT_D(fcvt.d.l, rdn, 0xffdfffffffffffff, 0xc340000000000001, FFLAG_NX)
        TEST_FP_FROMINT_D(fcvt.d.l, rmm, 0xffdfffffffffffff, 0xc340000000000001, FFLAG_NX)
        TEST_FP_FROMINT_D(fcvt.d.l, rne, 0x0020000000000003, 0x4340000000000002, FFLAG_NX)
        TEST_FP_FROMINT_D(fcvt.d.lu, rne, 0xfffffffffffff800, 0x43efffffffffffff, 0)
        TEST_FP_FROMINT_D(fcvt.d.lu, rne, 0xfffffffffffffc00, 0x43f0000000000000, FFLAG_NX)
        // ---- fcvt.s.d (rounds) and fcvt.d.s (exact) ----
        TEST_FP_CVT_S_D(rne, 0x3fe0000000000000, 0x3f000000, 0)
        TEST_FP_CVT_S_D(rne, 0x3fd5555555555555, 0x3eaaaaab, FFLAG_NX)
        TEST_FP_CVT_S_D(rup, 0x3fd5555555555555, 0x3eaaaaab, FFLAG_NX)
        TEST_FP_CVT_S_D(rtz, 0x3fd5555555555555, 0x3eaaaaaa, FFLAG_NX)
        TEST_FP_CVT_S_D(rmm, 0xbfd5555555555555, 0xbeaaaaab, FFLAG_NX)
        TEST_FP_CVT_S_D(rne, 0x7fefffffffffffff, 0x7f800000, FFLAG_OF|FFLAG_NX)  // overflow
        TEST_FP_CVT_S_D(rtz, 0x7fefffffffffffff, 0x7f7fffff, FFLAG_OF|FFLAG_NX)
        TEST_FP_CVT_S_D(rup, 0xffefffffffffffff, 0xff7fffff, FFLAG_OF|FFLAG_NX)
        TEST_FP_CVT_S_D(rne, 0x37d0000000000000, 0x00080000, 0)
        TEST_FP_CVT_S_D(rne, 0x35f0000000000000, 0x00000000, FFLAG_UF|FFLAG_NX)  // underflow to zero
        TEST_FP_CVT_S_D(rdn, 0xb5f0000000000000, 0x80000001, FFLAG_UF|FFLAG_NX)
        TEST_FP_CVT_S_D(rne, 0x8000000000000000, 0x80000000, 0)
        TEST_FP_CVT_S_D(rne, 0xfff0000000000000, 0xff800000, 0)
        TEST_FP_CVT_S_D(rne, 0x7ff8000123456789, 0x7fc00000, 0)  // no payload propagation
        TEST_FP_CVT_S_D(rne, 0x7ff0000000000001, 0x7fc00000, FFLAG_NV)  // sNaN
        TEST_FP_CVT_D_S(0x3f000000, 0x3fe0000000000000, 0)
        TEST_FP_CVT_D_S(0x3dcccccd, 0x3fb99999a0000000, 0)
        TEST_FP_CVT_D_S(0x00000001, 0x36a0000000000000, 0)  // subnormal single is normal double
        TEST_FP_CVT_D_S(0x80000000, 0x8000000000000000, 0)
        TEST_FP_CVT_D_S(0x7f800000, 0x7ff0000000000000, 0)
        TEST_FP_CVT_D_S(0x7fc01234, 0x7ff8000000000000, 0)
        TEST_FP_CVT_D_S(0x7f800001, 0x7ff8000000000000, FFLAG_NV)
        TEST_FP_CVT_D_S(0x7f7fffff, 0x47efffffe0000000, 0)
        j       pass

        .data
        .balign 8
ddata:  .dword  0x7ff0000000012345, 0xfff8000000000001, 0, 0
