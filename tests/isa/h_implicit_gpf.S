# isa-test: qemu-fail=62
/*
 * h_implicit_gpf: when the VS-stage walk's own read of a PTE faults at the G-stage, "any
 * exception is always reported for the original access type (instruction, load, or store/AMO)"
 * (privileged spec 1.12, 8.5.1), with xtval = the guest virtual address, htval = the PTE's guest
 * physical address >> 2 and htinst = 0x3000 (a 64-bit read for VS-stage translation, required
 * once htval is nonzero). A load through a VS root entry that points into unmapped guest physical
 * memory is the control (21); then, in one check, a store must fault with 23 and a fetch with 20,
 * the same way.
 *
 * QEMU 7.2 reports a load guest-page fault (21) for all three: under QEMU this test stops at that
 * check (line 62); the manifest records that.
 */
#define ISA_HYP 1
#include "isa.h"

#define GPA_HOLE    0x180000000         // not mapped by the G-stage
#define GVA_IMPL    0x440600000         // VPN[2] = 0x11 -> a table at GPA_HOLE; VPN[1] = 3
#define PTE_IMPL_GPA (GPA_HOLE + 3 * 8)
#define LEAF_U      (PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D)
#define LEAF_RWX    (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define IMPL_CHECKS \
        TRAP(sd t2, 0(t3)); li a0, CAUSE_STORE_GUEST_PAGE_FAULT; mv a3, t5; call check_impl; \
        la tp, 78f; jalr t3; j fail; 78: li a0, CAUSE_FETCH_GUEST_PAGE_FAULT; mv a3, t3; call check_impl

        .text
        .globl test_main
test_main:
        li      a0, 4
        call    isa_pt_alloc
        mv      s1, a0
        li      a0, 1
        call    isa_pt_alloc
        mv      s2, a0
        PT_MAP(s1, RAM_BASE, RAM_BASE, 2, LEAF_U, 3, 11)
        PT_MAP(s2, RAM_BASE, RAM_BASE, 2, LEAF_RWX, 3, 9)
        li      t0, ((GPA_HOLE >> 12) << 10) | PTE_V
        li      t1, (GVA_IMPL >> 30) * 8
        add     t1, s2, t1
        sd      t0, 0(t1)
        srli    t0, s1, 12
        li      t1, HGATP_MODE_SV39X4
        or      t0, t0, t1
        csrw    hgatp, t0
        srli    t0, s2, 12
        li      t1, SATP_MODE_SV39
        or      t0, t0, t1
        csrw    vsatp, t0
        hfence.gvma
        hfence.vvma
        li      t0, (1 << CAUSE_FETCH_GUEST_PAGE_FAULT) | (1 << CAUSE_LOAD_GUEST_PAGE_FAULT)
        li      t1, 1 << CAUSE_STORE_GUEST_PAGE_FAULT
        or      t0, t0, t1
        csrw    medeleg, t0
        M_ENTER_VS(vs_code)
vs_code:
        li      t3, GVA_IMPL
        TRAP(ld t2, 0(t3))
        li      a0, CAUSE_LOAD_GUEST_PAGE_FAULT
        mv      a3, t5
        call    check_impl
        IMPL_CHECKS
        ECALL_TO(m_back)
m_back:
        csrw    medeleg, zero
        csrw    vsatp, zero
        csrw    hgatp, zero
        hfence.gvma
        hfence.vvma
        j       pass

// After the fault: cause a0 at xepc a3 for the guest virtual address in t3, taken by HS with
// htval = PTE_IMPL_GPA >> 2, htinst = 0x3000, hstatus.GVA and SPV set. Fails at gp. Uses t0..t2.
check_impl:
        bne     s9, a0, 9f
        bne     s10, a3, 9f
        bne     s11, t3, 9f
        la      t0, isa_trap_ext
        ld      t1, ISA_EXT_TAKER(t0)
        li      t2, ISA_TAKEN_HS
        bne     t1, t2, 9f
        ld      t1, ISA_EXT_HTVAL(t0)
        li      t2, PTE_IMPL_GPA >> 2
        bne     t1, t2, 9f
        ld      t1, ISA_EXT_HTINST(t0)
        li      t2, 0x3000
        bne     t1, t2, 9f
        ld      t1, ISA_EXT_HSTATUS(t0)
        andi    t1, t1, HSTATUS_GVA | HSTATUS_SPV
        li      t2, HSTATUS_GVA | HSTATUS_SPV
        bne     t1, t2, 9f
        ret
9:      j       fail
