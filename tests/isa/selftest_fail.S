# isa-test: expect-fail=24
/*
 * selftest_fail: a test that must FAIL, proving the verdict path can report a failure. The check
 * on line 24 compares 2 + 2 with 5 and must fail with code 24; everything before it must pass, so
 * a runner that reports PASS here, or any code other than 24, is broken.
 */
#include "isa.h"

        .text
        .globl test_main
test_main:
        li      a0, 2
        li      a1, 2
        add     a2, a0, a1
        ASSERT_EQ(a2, 4)
        // An expected trap must not disturb the verdict either.
        TRAP(ecall)
        ASSERT_TRAP(CAUSE_MACHINE_ECALL)
        li      a0, 2
        li      a1, 2
        add     a2, a0, a1
        nop
        nop
        ASSERT_EQ(a2, 5)
        j       pass
