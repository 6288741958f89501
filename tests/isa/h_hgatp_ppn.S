# isa-test: qemu-fail=24
/*
 * h_hgatp_ppn: with MODE = Sv39x4 the G-stage root table is 16 KiB and 16 KiB-aligned, so "the
 * lowest two bits of the physical page number (PPN) in hgatp always read as zeros" (privileged
 * spec 1.12, 8.2.10): writing PPN[1:0] = 3 must read back 0 there.
 *
 * QEMU 7.2 keeps whatever is written to hgatp: under QEMU this test stops at that check (line 24);
 * the manifest records that.
 */
#define ISA_HYP 1
#include "isa.h"

        .text
        .globl test_main
test_main:
        la      s1, groot
        srli    s1, s1, 12
        li      t0, HGATP_MODE_SV39X4
        or      s1, s1, t0
        ori     t0, s1, 3
        csrw    hgatp, t0
        csrr    t1, hgatp
        csrw    hgatp, zero
        ASSERT_EQ_REG(t1, s1)
        j       pass

        .bss
        .balign 16384
groot:  .space 16384
