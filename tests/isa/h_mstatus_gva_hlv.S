# isa-test: qemu-fail=34
/*
 * h_mstatus_gva_hlv: a guest-page fault of an HLV executed in M-mode writes the guest virtual
 * address to mtval, so "GVA is set to 1" (privileged spec 1.12, 8.4.1), although V was 0: "GVA is
 * redundant with field SPV ... except when the explicit memory access of an HLV, HLVX, or HSV
 * instruction causes a fault" (8.2.1, for hstatus; the same holds for mstatus and MPV). With an
 * empty Sv39x4 root every guest physical address faults: the cause, mtval and mtval2 are the
 * control; the last check is mstatus.GVA = 1 (with MPV = 0).
 *
 * QEMU 7.2 sets mstatus.GVA only for traps from V = 1: under QEMU this test stops at that check
 * (line 34); the manifest records that.
 */
#define ISA_HYP 1
#include "isa.h"

#define GVA_X       0x1234560

        .text
        .globl test_main
test_main:
        li      a0, 4
        call    isa_pt_alloc
        srli    t0, a0, 12
        li      t1, HGATP_MODE_SV39X4
        or      t0, t0, t1
        csrw    hgatp, t0
        hfence.gvma
        li      t3, GVA_X
        TRAP(hlv.d t2, (t3))
        ASSERT_TRAP(CAUSE_LOAD_GUEST_PAGE_FAULT)
        ASSERT_EQ(s11, GVA_X)
        LOAD_TRAP_EXT(t0, ISA_EXT_MTVAL2)
        ASSERT_EQ(t0, GVA_X >> 2)
        ASSERT_MASKED(s8, MSTATUS_GVA | MSTATUS_MPV, MSTATUS_GVA)
        csrw    hgatp, zero
        hfence.gvma
        j       pass
