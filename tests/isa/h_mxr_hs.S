# isa-test: qemu-fail=47
/*
 * h_mxr_hs: "Setting MXR at HS-level, however, overrides both VS-stage and G-stage execute-only
 * permissions" (privileged spec 1.12, 8.5). A page that the G-stage maps execute-only (X and U,
 * no R or W) runs in VS-mode and refuses a store (guest-page fault 23) as a control; then, in one
 * check, with sstatus.MXR (the HS-level one, mstatus.MXR) set, a VS-mode load from it must work.
 *
 * QEMU 7.2 ignores the HS-level MXR for the G-stage (it applies vsstatus.MXR there instead, see
 * h_mxr_vs.S): under QEMU this test stops at that check (line 47); the manifest records that.
 */
#define ISA_HYP 1
#include "isa.h"

#define GPA_XO      0x100000000
#define LEAF_U      (PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D)
#define MXR_CHECK \
        CHECK_LINE; la tp, 78f; li t3, GPA_XO; lw t2, 0(t3); li tp, 0; la t0, xo_page; lw t1, 0(t0); \
        beq t1, t2, 77f; 78: j fail; 77:

        .text
        .globl test_main
test_main:
        li      a0, 4
        call    isa_pt_alloc
        mv      s1, a0
        PT_MAP(s1, RAM_BASE, RAM_BASE, 2, LEAF_U, 3, 11)
        PT_MAP_SYM(s1, GPA_XO, xo_page, 0, PTE_V | PTE_X | PTE_U | PTE_A, 3, 11)
        srli    t0, s1, 12
        li      t1, HGATP_MODE_SV39X4
        or      t0, t0, t1
        csrw    hgatp, t0
        hfence.gvma
        M_ENTER_VS(vs_code1)
vs_code1:
        li      t3, GPA_XO
        li      a0, 0
        jalr    t3
        ASSERT_EQ(a0, 0x123)
        TRAP(sw zero, 0(t3))
        ASSERT_TRAP(CAUSE_STORE_GUEST_PAGE_FAULT)
        ECALL_TO(m_back1)
m_back1:
        li      t0, MSTATUS_MXR
        csrs    mstatus, t0
        M_ENTER_VS(vs_code2)
vs_code2:
        MXR_CHECK
        ECALL_TO(m_back2)
m_back2:
        li      t0, MSTATUS_MXR
        csrc    mstatus, t0
        csrw    hgatp, zero
        hfence.gvma
        j       pass

        // An execute-only page: one small function at its start.
        .balign 4096
xo_page:
        li      a0, 0x123
        ret
        .balign 4096
