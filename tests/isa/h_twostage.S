/*
 * h_twostage: VS-stage (vsatp, Sv39) and G-stage (hgatp, Sv39x4) translation together (privileged
 * spec 1.12, 8.2.18 "vsatp", 8.5 "Two-Stage Address Translation", 8.5.2, 8.6.3 "Transformed
 * Instruction or Pseudoinstruction for mtinst or htinst").
 *   - VS-mode turns on its own translation by writing satp (that is, vsatp; the HS-level satp
 *     stays Bare and unused). Guest virtual addresses go through its tables to guest physical
 *     ones and through the G-stage to supervisor physical ones; a 2 MiB VS page over a 1 GiB
 *     G-stage page. VS page tables live in guest physical memory.
 *   - A guest-page fault under a VS mapping: xtval = the guest virtual address, htval = the guest
 *     physical address >> 2 (they differ here), hstatus.GVA = 1.
 *   - The implicit case: the VS-stage walk itself reads a PTE at a guest physical address the
 *     G-stage does not map. A load faults with 21, xtval = the guest virtual address, htval/mtval2
 *     = the PTE's guest physical address >> 2 (Shtvala), and so htinst/mtinst must be the
 *     pseudoinstruction 0x3000 ("64-bit read for VS-stage address translation"; zero is not
 *     allowed then). (Stores and fetches, reported as 23 and 20: h_implicit_gpf.S.)
 *   - VS-stage page faults (12, 13, 15) go to VS when hedeleg delegates them (vscause, vstval =
 *     the guest virtual address), to HS otherwise (GVA = 1, htval = 0). U pages: VS needs
 *     vsstatus.SUM to load them; VU may not touch VS pages without U.
 *   - VS-stage A and D: set by the hart (through the G-stage) or a page fault for the guest to
 *     handle. SFENCE.VMA in VS, and HFENCE.VVMA from HS, after a VS PTE change.
 *   - Guest-page faults taken by M: mtval2 and mtinst the same way, mstatus.GVA and MPV set.
 */
#define ISA_HYP 1
#include "isa.h"

// Guest physical addresses (G-stage, Sv39x4; RAM_BASE maps to itself as one 1 GiB page).
#define GPA_B       0x100002000         // -> pg_b, RW
#define GPA_GRO     0x100003000         // -> pg_c, R only
#define GPA_NOG     0x100004000         // not mapped
#define GPA_HOLE    0x180000000         // not mapped: the VS level-1 table for GVA_IMPL "is" here
// Guest virtual addresses (VS-stage, Sv39; RAM_BASE maps to itself as one 1 GiB page, no U).
#define GVA_B       0x400000000         // -> GPA_B, RW
#define GVA_GRO     0x400001000         // -> GPA_GRO, RW (the G-stage says R)
#define GVA_NOG     0x400002000         // -> GPA_NOG, RWX
#define GVA_INV     0x400003000         // V = 0
#define GVA_U       0x400004000         // -> GPA_B, RW, U
#define GVA_AD      0x400005000         // -> GPA_B, RW, A = D = 0
#define GVA_CHG     0x400006000         // -> GPA_B, then pg_a
#define GVA_MEGA    0x480000000         // 2 MiB -> RAM_BASE
#define GVA_IMPL    0x440600000         // VPN[2] = 0x11 -> a table at GPA_HOLE; VPN[1] = 3
#define GVA_CODE_U  0x800000000         // 1 GiB, U RWX -> RAM_BASE: where VU code runs
#define PTE_IMPL_GPA (GPA_HOLE + 3 * 8)
#define LEAF_U      (PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D)
#define LEAF_RWX    (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define LEAF_RW     (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
#define MAGIC_A     0x1122334455667788
#define MAGIC_B     0x0b0b0b0b0b0b0b0b
#define MAGIC_C     0x0c0c0c0c0c0c0c0c
#define TINST_LOAD  0x00007fff
#define TINST_STORE 0x01f0707f
#define PSEUDO_READ64 0x3000

#define GMAP(gpa, sym, level, flags) PT_MAP_SYM(s1, gpa, sym, level, flags, 3, 11)
#define VMAP(gva, gpa, level, flags) PT_MAP(s2, gva, gpa, level, flags, 3, 9)
#define VMAP_SYM(gva, sym, level, flags) PT_MAP_SYM(s2, gva, sym, level, flags, 3, 9)
// Loads the dword at va + (sym - RAM_BASE), which must read the same as sym itself.
#define CHECK_ALIAS_LOAD(va, sym) \
        li gp, __LINE__; la t1, sym; li t0, va - RAM_BASE; add t0, t0, t1; ld t2, 0(t0); ld t1, 0(t1); \
        beq t1, t2, 77f; j fail; 77:
// insn must raise guest-page fault c at the guest virtual address in r, whose guest physical
// address is gpa, taken by the handler s3 names.
#define GPF(c, r, gpa, tinst, insn...) \
        TRAP(insn); li a0, c; mv a1, r; li a2, gpa; mv a3, t5; li a4, tinst; li a5, 0; mv a6, s3; \
        call check_fault
// insn must raise guest-page fault c at r because the VS walk cannot read the PTE at gpa.
#define IGPF(c, r, gpa, insn...) \
        TRAP(insn); li a0, c; mv a1, r; li a2, gpa; mv a3, t5; li a4, 0; li a5, PSEUDO_READ64; \
        mv a6, s3; call check_fault
#define FETCH_GPF(r, gpa) \
        li gp, __LINE__; la tp, 78f; jalr r; j fail; 78: li a0, CAUSE_FETCH_GUEST_PAGE_FAULT; \
        mv a1, r; li a2, gpa; mv a3, r; li a4, 0; li a5, 0; mv a6, s3; call check_fault
// insn must raise VS-stage page fault c at r, taken by the handler s4 names.
#define PF(c, r, tinst, insn...) \
        TRAP(insn); li a0, c; mv a1, r; li a2, 0; mv a3, t5; li a4, tinst; li a5, 0; mv a6, s4; \
        call check_fault
#define FETCH_PF(r) \
        li gp, __LINE__; la tp, 78f; jalr r; j fail; 78: li a0, CAUSE_FETCH_PAGE_FAULT; \
        mv a1, r; li a2, 0; mv a3, r; li a4, 0; li a5, 0; mv a6, s4; call check_fault

        .text
        .globl test_main
test_main:
        la      t0, pg_a
        li      t1, MAGIC_A
        sd      t1, 0(t0)
        la      t0, pg_b
        li      t1, MAGIC_B
        sd      t1, 0(t0)
        la      t0, pg_c
        li      t1, MAGIC_C
        sd      t1, 0(t0)
        // The G-stage tree (s1) and the guest's own tree (s2), both in RAM that maps to itself.
        li      a0, 4
        call    isa_pt_alloc
        mv      s1, a0
        li      a0, 1
        call    isa_pt_alloc
        mv      s2, a0
        PT_MAP(s1, RAM_BASE, RAM_BASE, 2, LEAF_U, 3, 11)
        GMAP(GPA_B, pg_b, 0, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D)
        GMAP(GPA_GRO, pg_c, 0, PTE_V | PTE_R | PTE_U | PTE_A)
        VMAP(RAM_BASE, RAM_BASE, 2, LEAF_RWX)
        VMAP(GVA_CODE_U, RAM_BASE, 2, LEAF_RWX | PTE_U)
        VMAP(GVA_B, GPA_B, 0, LEAF_RW)
        VMAP(GVA_GRO, GPA_GRO, 0, LEAF_RW)
        VMAP(GVA_NOG, GPA_NOG, 0, LEAF_RWX)
        VMAP(GVA_INV, GPA_B, 0, LEAF_RW & ~PTE_V)
        VMAP(GVA_U, GPA_B, 0, LEAF_RW | PTE_U)
        VMAP(GVA_AD, GPA_B, 0, PTE_V | PTE_R | PTE_W)
        la      t0, pte_ad
        sd      a0, 0(t0)
        VMAP(GVA_CHG, GPA_B, 0, LEAF_RW)
        la      t0, pte_chg
        sd      a0, 0(t0)
        VMAP(GVA_MEGA, RAM_BASE, 1, LEAF_RWX)
        // GVA_IMPL's root entry points at a level-1 table in unmapped guest physical memory.
        mv      a0, s2
        li      a1, GVA_IMPL
        li      a3, 2
        li      a5, 3
        li      a6, 9
        call    isa_pt_slot
        li      t0, ((GPA_HOLE >> 12) << 10) | PTE_V
        sd      t0, 0(a0)
        srli    t0, s1, 12
        li      t1, HGATP_MODE_SV39X4
        or      t0, t0, t1
        csrw    hgatp, t0
        hfence.gvma
        // Page faults and ECALL from VU to VS; guest-page faults and ECALL from VS to HS.
        li      t0, (1 << CAUSE_FETCH_PAGE_FAULT) | (1 << CAUSE_LOAD_PAGE_FAULT)
        li      t1, (1 << CAUSE_STORE_PAGE_FAULT) | (1 << CAUSE_USER_ECALL)
        or      t0, t0, t1
        csrw    hedeleg, t0
        li      t1, (1 << CAUSE_FETCH_GUEST_PAGE_FAULT) | (1 << CAUSE_LOAD_GUEST_PAGE_FAULT)
        or      t0, t0, t1
        li      t1, (1 << CAUSE_STORE_GUEST_PAGE_FAULT) | (1 << CAUSE_VIRTUAL_SUPERVISOR_ECALL)
        or      t0, t0, t1
        csrw    medeleg, t0
        li      s3, ISA_TAKEN_HS
        li      s4, ISA_TAKEN_VS
        M_ENTER_S(hs_start)
hs_start:
        HS_ENTER_VS(vs_start)

// ---- The guest ----------------------------------------------------------------------------------
vs_start:
        // VS turns on its translation itself; its satp is vsatp.
        CHECK_LINE
        srli    t0, s2, 12
        li      t1, SATP_MODE_SV39
        or      t0, t0, t1
        csrw    satp, t0
        sfence.vma
        csrr    t1, satp
        ASSERT_EQ_REG(t1, t0)
        li      t3, GVA_B
        ld      t2, 0(t3)
        ASSERT_EQ(t2, MAGIC_B)
        li      t1, 0x0123456789abcdef
        sd      t1, 8(t3)
        la      t0, pg_b
        ld      t2, 8(t0)
        ASSERT_EQ(t2, 0x0123456789abcdef)
        li      t3, GVA_GRO
        ld      t2, 0(t3)
        ASSERT_EQ(t2, MAGIC_C)
        CHECK_ALIAS_LOAD(GVA_MEGA, magic_word)

        // ---- Guest-page faults under a VS mapping -----------------------------------------------
        li      t3, GVA_GRO + 0x10
        GPF(CAUSE_STORE_GUEST_PAGE_FAULT, t3, GPA_GRO + 0x10, TINST_STORE, sd t2, 0(t3))
        li      t3, GVA_NOG + 8
        GPF(CAUSE_LOAD_GUEST_PAGE_FAULT, t3, GPA_NOG + 8, TINST_LOAD, ld t2, 0(t3))
        GPF(CAUSE_STORE_GUEST_PAGE_FAULT, t3, GPA_NOG + 8, TINST_STORE, sd t2, 0(t3))
        li      t3, GVA_NOG
        FETCH_GPF(t3, GPA_NOG)

        // ---- The implicit case: the VS walk's own PTE read faults at the G-stage ----------------
        li      t3, GVA_IMPL + 0x28
        IGPF(CAUSE_LOAD_GUEST_PAGE_FAULT, t3, PTE_IMPL_GPA, ld t2, 0(t3))

        // ---- VS-stage page faults, delegated to VS ----------------------------------------------
        li      t3, GVA_INV + 0x18
        PF(CAUSE_LOAD_PAGE_FAULT, t3, TINST_LOAD, ld t2, 0(t3))
        PF(CAUSE_STORE_PAGE_FAULT, t3, TINST_STORE, sd t2, 0(t3))
        FETCH_PF(t3)
        li      t3, GVA_U
        PF(CAUSE_LOAD_PAGE_FAULT, t3, TINST_LOAD, ld t2, 0(t3))
        CHECK_LINE
        li      t0, MSTATUS_SUM
        csrs    sstatus, t0
        ld      t2, 0(t3)
        csrc    sstatus, t0
        ASSERT_EQ(t2, MAGIC_B)

        // ---- VS-stage A and D -------------------------------------------------------------------
        CHECK_LINE
        la      s5, pte_ad
        ld      s5, 0(s5)
        li      t3, GVA_AD
        la      tp, 1f
        ld      t2, 0(t3)
        li      tp, 0
        ld      t1, 0(s5)
        ASSERT_MASKED(t1, PTE_A | PTE_D, PTE_A)
        j       2f
1:      ASSERT_EQ(s9, CAUSE_LOAD_PAGE_FAULT)
        ASSERT_EQ_REG(s11, t3)
        ld      t1, 0(s5)
        ori     t1, t1, PTE_A
        sd      t1, 0(s5)
        sfence.vma
        ld      t2, 0(t3)
2:      ASSERT_EQ(t2, MAGIC_B)
        li      t1, 0x600d
        la      tp, 3f
        sd      t1, 16(t3)
        li      tp, 0
        ld      t1, 0(s5)
        ASSERT_MASKED(t1, PTE_A | PTE_D, PTE_A | PTE_D)
        j       4f
3:      ASSERT_EQ(s9, CAUSE_STORE_PAGE_FAULT)
        addi    t0, t3, 16
        ASSERT_EQ_REG(s11, t0)
        ld      t1, 0(s5)
        ori     t1, t1, PTE_A | PTE_D
        sd      t1, 0(s5)
        sfence.vma
        li      t1, 0x600d
        sd      t1, 16(t3)
4:      la      t0, pg_b
        ld      t2, 16(t0)
        ASSERT_EQ(t2, 0x600d)

        // ---- SFENCE.VMA in VS after a VS PTE change; HFENCE.VVMA after the hypervisor's ---------
        CHECK_LINE
        la      s5, pte_chg
        ld      s5, 0(s5)
        li      t3, GVA_CHG
        ld      t2, 0(t3)
        ASSERT_EQ(t2, MAGIC_B)
        la      t0, pg_a
        srli    t0, t0, 12
        slli    t0, t0, 10
        ori     t0, t0, LEAF_RW
        sd      t0, 0(s5)
        sfence.vma t3, zero
        ld      t2, 0(t3)
        ASSERT_EQ(t2, MAGIC_A)
        ECALL_TO(hs_vvma1)
hs_vvma1:
        li      t0, (GPA_B >> 12) << 10 | LEAF_RW
        sd      t0, 0(s5)
        hfence.vvma zero, zero
        HS_ENTER_VS(vs_vvma1)
vs_vvma1:
        CHECK_LINE
        li      t3, GVA_CHG
        ld      t2, 0(t3)
        ASSERT_EQ(t2, MAGIC_B)
        ECALL_TO(hs_vvma2)
hs_vvma2:
        la      t0, pg_a
        srli    t0, t0, 12
        slli    t0, t0, 10
        ori     t0, t0, LEAF_RW
        sd      t0, 0(s5)
        li      t0, GVA_CHG
        hfence.vvma t0, zero
        HS_ENTER_VS(vs_vvma2)
vs_vvma2:
        CHECK_LINE
        li      t3, GVA_CHG
        ld      t2, 0(t3)
        ASSERT_EQ(t2, MAGIC_A)

        // ---- VU through the guest's tables ------------------------------------------------------
        la      t0, vu_code
        li      t1, GVA_CODE_U - RAM_BASE
        add     t0, t0, t1
        csrw    sepc, t0
        li      t0, MSTATUS_SPP
        csrc    sstatus, t0
        sret
vs_after_vu:
        // ---- hedeleg without the page faults: HS takes them, GVA = 1, htval = 0 -----------------
        ECALL_TO(hs_undelegate)
hs_undelegate:
        li      t0, 1 << CAUSE_USER_ECALL
        csrw    hedeleg, t0
        li      s4, ISA_TAKEN_HS
        HS_ENTER_VS(vs_hs_faults)
vs_hs_faults:
        li      t3, GVA_INV + 0x20
        PF(CAUSE_LOAD_PAGE_FAULT, t3, TINST_LOAD, ld t2, 0(t3))
        PF(CAUSE_STORE_PAGE_FAULT, t3, TINST_STORE, sd t2, 0(t3))
        FETCH_PF(t3)

        // ---- Guest-page faults taken by M -------------------------------------------------------
        ECALL_TO(hs_to_m)
hs_to_m:
        ECALL_TO(m_faults)
m_faults:
        csrw    medeleg, zero
        li      s3, ISA_TAKEN_M
        HS_ENTER_VS(vs_m_faults)
vs_m_faults:
        li      t3, GVA_IMPL + 0x30
        IGPF(CAUSE_LOAD_GUEST_PAGE_FAULT, t3, PTE_IMPL_GPA, ld t2, 0(t3))
        li      t3, GVA_GRO + 0x8
        GPF(CAUSE_STORE_GUEST_PAGE_FAULT, t3, GPA_GRO + 0x8, TINST_STORE, sd t2, 0(t3))
        ECALL_TO(m_done)
m_done:
        csrw    hedeleg, zero
        csrw    vsatp, zero
        csrw    hgatp, zero
        hfence.gvma
        hfence.vvma
        j       pass

// ---- VU code, run through the GVA_CODE_U alias --------------------------------------------------
vu_code:
        CHECK_LINE
        li      t3, GVA_U
        ld      t2, 0(t3)
        ASSERT_EQ(t2, MAGIC_B)
        li      t3, GVA_B
        PF(CAUSE_LOAD_PAGE_FAULT, t3, TINST_LOAD, ld t2, 0(t3))
        PF(CAUSE_STORE_PAGE_FAULT, t3, TINST_STORE, sd t2, 0(t3))
        // Back to VS (ECALL from VU is delegated to it), at the identity address of vs_after_vu.
        la      tp, vs_after_vu
        li      t0, RAM_BASE - GVA_CODE_U
        add     tp, tp, t0
        ori     tp, tp, 1
        ecall
        j       fail

// ---- After an expected fault --------------------------------------------------------------------
// a0 = cause, a1 = the guest virtual address (xtval), a2 = the guest physical address htval or
// mtval2 must hold (<< 2; 0 for a VS-stage page fault), a3 = xepc, a6 = the handler that must
// have taken it (ISA_TAKEN_*). Into HS or M, GVA and SPV/MPV must be set and htinst/mtinst must
// be a5 if a5 is nonzero (a pseudoinstruction), else 0 or the bits a4 keeps of the instruction
// at xepc (its transformed form; a4 = 0: 0 only). Fails at gp. Uses t0..t2.
check_fault:
        bne     s9, a0, 9f
        bne     s10, a3, 9f
        bne     s11, a1, 9f
        la      t0, isa_trap_ext
        ld      t1, ISA_EXT_TAKER(t0)
        bne     t1, a6, 9f
        li      t1, ISA_TAKEN_VS
        beq     a6, t1, 3f
        srli    t2, a2, 2
        li      t1, ISA_TAKEN_HS
        bne     a6, t1, 1f
        ld      t1, ISA_EXT_HTVAL(t0)
        bne     t1, t2, 9f
        ld      t1, ISA_EXT_HSTATUS(t0)
        andi    t1, t1, HSTATUS_GVA | HSTATUS_SPV
        li      t2, HSTATUS_GVA | HSTATUS_SPV
        bne     t1, t2, 9f
        ld      t1, ISA_EXT_HTINST(t0)
        j       2f
1:      ld      t1, ISA_EXT_MTVAL2(t0)
        bne     t1, t2, 9f
        li      t1, MSTATUS_GVA | MSTATUS_MPV
        and     t2, s8, t1
        bne     t2, t1, 9f
        ld      t1, ISA_EXT_MTINST(t0)
2:      beqz    a5, 4f
        bne     t1, a5, 9f
        j       3f
4:      beqz    t1, 3f
        beqz    a4, 9f
        lhu     t2, 0(a3)
        lhu     t0, 2(a3)
        slli    t0, t0, 16
        or      t2, t2, t0
        and     t2, t2, a4
        bne     t1, t2, 9f
3:      ret
9:      j       fail

        .data
        .balign 8
magic_word: .dword 0xfeedfacecafebeef
pte_ad:     .dword 0
pte_chg:    .dword 0

        .bss
        .balign 4096
pg_a:       .space 4096
pg_b:       .space 4096
pg_c:       .space 4096
