# isa-test: qemu-fail=32
/*
 * h_hgatp_mode: "A write to hgatp with an unsupported MODE value is not ignored as it is for satp.
 * Instead, the fields of hgatp are WARL in the normal way" (privileged spec 1.12, 8.2.10), so
 * after a write of any reserved MODE (1 to 7, 11 to 15) hgatp.MODE must read as a legal one:
 * Bare (0), Sv39x4 (8), Sv48x4 (9) or Sv57x4 (10). Which one (keeping the old value is one
 * choice) is the implementation's.
 *
 * QEMU 7.2 keeps the reserved MODE as written: under QEMU this test stops at that check (line 32);
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
        li      s2, 1                           // the reserved MODE tried
1:      csrw    hgatp, s1
        slli    t0, s2, 60
        li      t1, HGATP_PPN
        and     t1, s1, t1
        or      t0, t0, t1
        csrw    hgatp, t0
        csrr    t1, hgatp
        srli    t1, t1, 60
        // One check for every reserved MODE: the value read is 0, 8, 9 or 10.
        CHECK_LINE; beqz t1, 2f; addi t1, t1, -8; li t0, 2; bleu t1, t0, 2f; j fail; 2:
        addi    s2, s2, 1
        li      t0, 8
        bne     s2, t0, 3f
        li      s2, 11
3:      li      t0, 16
        bne     s2, t0, 1b
        csrw    hgatp, zero
        j       pass

        .bss
        .balign 16384
groot:  .space 16384
