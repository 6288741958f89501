/*
 * rv64m: every RV64M instruction (unprivileged ISA 20191213, chapter 7): MUL/MULH/MULHSU/MULHU
 * with signed/unsigned operand mixes, DIV/DIVU/REM/REMU with truncation toward zero, the W forms
 * (low 32 bits in, sign-extended 32-bit result out, upper source bits ignored), division by zero
 * (quotient all ones, remainder = dividend) and the signed overflow -2^63 / -1 (-2^31 / -1 for W
 * forms: quotient = dividend, remainder 0). None of these may trap. Expected values were computed
 * independently with exact integer arithmetic.
 */
#include "isa.h"

        .text
        .globl test_main
test_main:
        TEST_RR(mul, 0x3, 0x7, 0x15)
        TEST_RR(mul, 0xffffffffffffffff, 0xffffffffffffffff, 0x1)
        TEST_RR(mul, 0x7fffffffffffffff, 0x2, 0xfffffffffffffffe)
        TEST_RR(mul, 0x8000000000000000, 0xffffffffffffffff, 0x8000000000000000)
        TEST_RR(mul, 0x100000000, 0x100000000, 0x0)
        TEST_RR(mul, 0x123456789abcdef, 0xfedcba9876543210, 0x2236d88fe5618cf0)
        TEST_RR(mul, 0xfffffffffffffffb, 0x3, 0xfffffffffffffff1)
        TEST_RR(mul, 0x0, 0xffffffffffffffff, 0x0)

        TEST_RR(mulh, 0xffffffffffffffff, 0xffffffffffffffff, 0x0)
        TEST_RR(mulh, 0x8000000000000000, 0x8000000000000000, 0x4000000000000000)
        TEST_RR(mulh, 0xffffffffffffffff, 0x1, 0xffffffffffffffff)
        TEST_RR(mulh, 0x7fffffffffffffff, 0x7fffffffffffffff, 0x3fffffffffffffff)
        TEST_RR(mulh, 0x8000000000000000, 0x7fffffffffffffff, 0xc000000000000000)
        TEST_RR(mulh, 0x123456789abcdef, 0xfedcba9876543210, 0xfffeb49923cc0953)
        TEST_RR(mulh, 0x2, 0x3, 0x0)
        TEST_RR(mulh, 0xfffffffffffffffe, 0x3, 0xffffffffffffffff)

        TEST_RR(mulhsu, 0xffffffffffffffff, 0xffffffffffffffff, 0xffffffffffffffff)
        TEST_RR(mulhsu, 0x1, 0xffffffffffffffff, 0x0)
        TEST_RR(mulhsu, 0x8000000000000000, 0xffffffffffffffff, 0x8000000000000000)
        TEST_RR(mulhsu, 0x7fffffffffffffff, 0xffffffffffffffff, 0x7ffffffffffffffe)
        TEST_RR(mulhsu, 0x123456789abcdef, 0xfedcba9876543210, 0x121fa00ad77d742)
        TEST_RR(mulhsu, 0xfffffffffffffffe, 0x3, 0xffffffffffffffff)
        TEST_RR(mulhsu, 0x0, 0xffffffffffffffff, 0x0)

        TEST_RR(mulhu, 0xffffffffffffffff, 0xffffffffffffffff, 0xfffffffffffffffe)
        TEST_RR(mulhu, 0x8000000000000000, 0x2, 0x1)
        TEST_RR(mulhu, 0x123456789abcdef, 0xfedcba9876543210, 0x121fa00ad77d742)
        TEST_RR(mulhu, 0x2, 0x3, 0x0)
        TEST_RR(mulhu, 0xffffffff, 0x100000001, 0x0)

        TEST_RR(div, 0x14, 0x6, 0x3)
        TEST_RR(div, 0xffffffffffffffec, 0x6, 0xfffffffffffffffd)
        TEST_RR(div, 0x14, 0xfffffffffffffffa, 0xfffffffffffffffd)
        TEST_RR(div, 0xffffffffffffffec, 0xfffffffffffffffa, 0x3)
        TEST_RR(div, 0x8000000000000000, 0xffffffffffffffff, 0x8000000000000000)
        TEST_RR(div, 0x5, 0x0, 0xffffffffffffffff)
        TEST_RR(div, 0xfffffffffffffffb, 0x0, 0xffffffffffffffff)
        TEST_RR(div, 0x0, 0x5, 0x0)
        TEST_RR(div, 0x8000000000000000, 0x1, 0x8000000000000000)

        TEST_RR(divu, 0x14, 0x6, 0x3)
        TEST_RR(divu, 0xffffffffffffffff, 0x2, 0x7fffffffffffffff)
        TEST_RR(divu, 0x5, 0x0, 0xffffffffffffffff)
        TEST_RR(divu, 0x8000000000000000, 0xffffffffffffffff, 0x0)
        TEST_RR(divu, 0xffffffffffffffec, 0x6, 0x2aaaaaaaaaaaaaa7)

        TEST_RR(rem, 0x14, 0x6, 0x2)
        TEST_RR(rem, 0xffffffffffffffec, 0x6, 0xfffffffffffffffe)
        TEST_RR(rem, 0x14, 0xfffffffffffffffa, 0x2)
        TEST_RR(rem, 0xffffffffffffffec, 0xfffffffffffffffa, 0xfffffffffffffffe)
        TEST_RR(rem, 0x8000000000000000, 0xffffffffffffffff, 0x0)
        TEST_RR(rem, 0x5, 0x0, 0x5)
        TEST_RR(rem, 0xfffffffffffffffb, 0x0, 0xfffffffffffffffb)
        TEST_RR(rem, 0x8000000000000000, 0x3, 0xfffffffffffffffe)

        TEST_RR(remu, 0x14, 0x6, 0x2)
        TEST_RR(remu, 0xffffffffffffffff, 0x3, 0x0)
        TEST_RR(remu, 0x5, 0x0, 0x5)
        TEST_RR(remu, 0xffffffffffffffec, 0x6, 0x2)
        TEST_RR(remu, 0xffffffffffffffff, 0x0, 0xffffffffffffffff)

        TEST_RR(mulw, 0x7fffffff, 0x2, 0xfffffffffffffffe)
        TEST_RR(mulw, 0x100000003, 0x100000005, 0xf)
        TEST_RR(mulw, 0x80000000, 0xffffffffffffffff, 0xffffffff80000000)
        TEST_RR(mulw, 0xffffffffffffffff, 0xffffffffffffffff, 0x1)
        TEST_RR(mulw, 0x12345678, 0x9abcdef0, 0x242d2080)
        TEST_RR(mulw, 0xffffffff00000002, 0x3, 0x6)

        TEST_RR(divw, 0xffffffffffffffec, 0x6, 0xfffffffffffffffd)
        TEST_RR(divw, 0x14, 0xfffffffffffffffa, 0xfffffffffffffffd)
        TEST_RR(divw, 0x80000000, 0xffffffffffffffff, 0xffffffff80000000)
        TEST_RR(divw, 0xffffffff80000000, 0xffffffff, 0xffffffff80000000)
        TEST_RR(divw, 0x7, 0x0, 0xffffffffffffffff)
        TEST_RR(divw, 0x100000014, 0xff00000006, 0x3)
        TEST_RR(divw, 0x80000000, 0x1, 0xffffffff80000000)

        TEST_RR(divuw, 0xffffffff, 0x2, 0x7fffffff)
        TEST_RR(divuw, 0x80000000, 0x1, 0xffffffff80000000)
        TEST_RR(divuw, 0x7, 0x0, 0xffffffffffffffff)
        TEST_RR(divuw, 0x100000014, 0xff00000006, 0x3)
        TEST_RR(divuw, 0xffffffffffffffec, 0x6, 0x2aaaaaa7)

        TEST_RR(remw, 0xffffffffffffffec, 0x6, 0xfffffffffffffffe)
        TEST_RR(remw, 0x14, 0xfffffffffffffffa, 0x2)
        TEST_RR(remw, 0x80000000, 0xffffffffffffffff, 0x0)
        TEST_RR(remw, 0x180000000, 0x0, 0xffffffff80000000)
        TEST_RR(remw, 0x100000014, 0xff00000006, 0x2)
        TEST_RR(remw, 0xfffffffffffffff9, 0x2, 0xffffffffffffffff)

        TEST_RR(remuw, 0xffffffff, 0x10, 0xf)
        TEST_RR(remuw, 0x1fffffffe, 0x0, 0xfffffffffffffffe)
        TEST_RR(remuw, 0xffffffffffffffec, 0x6, 0x2)
        TEST_RR(remuw, 0x100000014, 0xff00000006, 0x2)

        // Destination aliasing a source, and the MULH + MUL pair the spec suggests fusing.
        CHECK_LINE
        li      t0, 0x0123456789abcdef
        li      t1, 0xfedcba9876543210
        mulhu   t2, t0, t1
        mul     t0, t0, t1
        ASSERT_EQ(t2, 0x121fa00ad77d742)
        ASSERT_EQ(t0, 0x2236d88fe5618cf0)
        li      t0, -20
        li      t1, 6
        div     t2, t0, t1
        rem     t0, t0, t1
        ASSERT_EQ(t2, -3)
        ASSERT_EQ(t0, -2)
        li      t1, 7
        mulw    t1, t1, t1
        ASSERT_EQ(t1, 49)
        // x0 as the destination: nothing is written (and division by zero does not trap).
        li      t0, 5
        div     x0, t0, x0
        mul     x0, t0, t0
        ASSERT_EQ(x0, 0)
        j       pass
