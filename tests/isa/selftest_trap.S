# isa-test: expect-fail=64770
/*
 * selftest_trap: a test that must FAIL through the unexpected-trap path. S-mode executes the
 * all-zero parcel (an illegal instruction) with no trap expected and illegal instructions
 * delegated to S; the S handler must pass it on to M, which must report 0xfd00 | 2 = 64770
 * (QEMU exit status 2). A runner that reports anything else is broken.
 */
#include "isa.h"

        .text
        .globl test_main
test_main:
        li      t0, 1 << CAUSE_ILLEGAL_INSTRUCTION
        csrw    medeleg, t0
        M_ENTER_S(s_code)
s_code:
        .hword  0
        j       pass
