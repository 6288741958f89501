# isa-test: qemu-fail=20
/*
 * medeleg_ro: an environment call from M-mode can never be delegated, so "medeleg[11] is
 * read-only zero" (privileged spec 1.12, 3.1.8): writing all ones must leave bit 11 clear.
 * (Which other bits stick is the implementation's choice.)
 *
 * QEMU 7.2 lets bit 11 be set: under QEMU this test stops at that check (line 20); the manifest
 * records that.
 */
#include "isa.h"

        .text
        .globl test_main
test_main:
        CHECK_LINE
        li      t0, -1
        csrw    medeleg, t0
        csrr    t1, medeleg
        csrw    medeleg, zero
        ASSERT_MASKED(t1, 1 << CAUSE_MACHINE_ECALL, 0)
        // An ecall from M still reaches M.
        TRAP(ecall)
        ASSERT_TRAP(CAUSE_MACHINE_ECALL)
        j       pass
