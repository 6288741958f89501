# isa-test: qemu-fail=43
/*
 * h_mxr_vs: "The vsstatus field MXR, which makes execute-only pages readable, only overrides
 * VS-stage page protection. Setting MXR at VS-level does not override guest-physical page
 * protections" (privileged spec 1.12, 8.5). A page that the G-stage maps execute-only (X and U,
 * no R) refuses a VS-mode load with a guest-page fault (21) as a control; then, the last check,
 * it must still do so once M has set vsstatus.MXR (the HS-level MXR staying clear).
 *
 * QEMU 7.2 lets a vsstatus.MXR set before entering the guest open the G-stage execute-only page:
 * under QEMU this test stops at that check (line 43); the manifest records that.
 */
#define ISA_HYP 1
#include "isa.h"

#define GPA_XO      0x100000000
#define LEAF_U      (PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D)

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
        M_ENTER_VS(vs_code)
vs_code:
        li      t3, GPA_XO
        TRAP(lw t2, 0(t3))
        ASSERT_TRAP(CAUSE_LOAD_GUEST_PAGE_FAULT)
        ECALL_TO(m_back1)
m_back1:
        li      t0, MSTATUS_MXR
        csrs    vsstatus, t0
        M_ENTER_VS(vs_code2)
vs_code2:
        li      t3, GPA_XO
        TRAP(lw t2, 0(t3)); ASSERT_TRAP(CAUSE_LOAD_GUEST_PAGE_FAULT)
        ECALL_TO(m_back)
m_back:
        li      t0, MSTATUS_MXR
        csrc    vsstatus, t0
        csrw    hgatp, zero
        hfence.gvma
        j       pass

        // An execute-only page: one small function at its start.
        .balign 4096
xo_page:
        li      a0, 0x123
        ret
        .balign 4096
