# isa-test: qemu-fail=24
/*
 * xepc_align: "The low bit of mepc (mepc[0]) is always zero" and likewise for sepc (privileged
 * spec 1.12, 3.1.14 and 4.1.7); with C implemented (IALIGN = 16) bit 1 is an ordinary bit. So a
 * write of an odd value reads back with bit 0 clear, and an mret/sret through such a value lands
 * on the even address.
 *
 * QEMU 7.2 keeps bit 0 as written: under QEMU this test stops at the odd write (line 24); the
 * manifest records that.
 */
#include "isa.h"

        .text
        .globl test_main
test_main:
        CHECK_LINE
        li      t0, 0x80001232
        csrw    mepc, t0
        csrr    t1, mepc
        ASSERT_EQ(t1, 0x80001232)
        li      t0, 0x80001233
        csrw    mepc, t0
        csrr    t1, mepc
        ASSERT_EQ(t1, 0x80001232)
        csrw    sepc, t0
        csrr    t1, sepc
        ASSERT_EQ(t1, 0x80001232)
        // mret through an odd mepc (MPP = M) continues at the even address.
        la      t0, 1f
        ori     t0, t0, 1
        csrw    mepc, t0
        li      t0, MSTATUS_MPP
        csrs    mstatus, t0
        mret
        j       fail
        .balign 4
1:      j       pass
