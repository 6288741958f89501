/*
 * h_gstage: G-stage translation alone (vsatp Bare, so the guest's virtual addresses are its
 * physical ones) with hgatp in Sv39x4 and Sv48x4 (privileged spec 1.12, 8.2.10 "hgatp", 8.5
 * "Two-Stage Address Translation", 8.5.1, 8.5.2 "Guest-Page Faults"). The same suite runs four
 * times: Sv39x4 and Sv48x4 (skipped, with a console note, where hgatp does not take that MODE),
 * each once with guest-page faults delegated to HS (medeleg bits 20, 21, 23) and once taken by M.
 *   - The 16 KiB root: its index has 11 bits, so guest physical addresses at and above 2^39
 *     (Sv39x4) or 2^48 (Sv48x4) translate through its upper entries; addresses of 2^41 (2^50) and
 *     up fault. (Bit 40 of a Sv39x4 address: h_gpa_bit40.S.) 4 KiB pages, 2 MiB and 1 GiB
 *     superpages, the Sv48x4 512 GiB page; code runs through an alias.
 *   - Guest-page faults 20/21/23 with xepc at the instruction (the target for a fetch), xtval =
 *     the guest virtual address, htval/mtval2 = the guest physical address >> 2 (Shtvala, which
 *     the RVA profiles require, rules out the zero the base spec also allows), hstatus.GVA and
 *     SPV (or mstatus.GVA and MPV) set, htinst/mtinst 0 or the transformed load/store.
 *   - Every G-stage access is a user access: a leaf without U faults. Missing R/W/X, V = 0, W
 *     without R and a misaligned superpage fault. Execute-only pages run but cannot be read
 *     (with MXR: h_mxr_hs.S, h_mxr_vs.S).
 *   - A and D: an access through a leaf with A = 0 (a store with D = 0) either sets them or
 *     raises the guest-page fault, the two schemes allowed; after the host sets them it works.
 *   - HFENCE.GVMA (all, and for one guest physical address >> 2) after a G-stage PTE change
 *     makes the new PTE visible to the guest.
 */
#define ISA_HYP 1
#include "isa.h"

// Guest-physical layout.
#define GPA_A        0x100000000        // 4 KiB -> pg_a, RW
#define GPA_RO       0x100001000        // -> pg_a, R
#define GPA_NOU      0x100002000        // -> pg_a, RWX without U
#define GPA_XO       0x100003000        // -> xo_page, X only
#define GPA_INVALID  0x100004000        // V = 0
#define GPA_AD       0x100005000        // -> pg_b, RW with A = D = 0
#define GPA_CHG      0x100006000        // -> pg_c, remapped to pg_d and back
#define GPA_NX       0x100007000        // -> pg_a, RW, not X
#define GPA_WNR      0x100008000        // W without R: reserved
#define GPA_MEGA     0x140000000        // 2 MiB -> RAM_BASE
#define GPA_MEGA_BAD 0x140200000        // 2 MiB leaf with PPN[0] != 0
#define GPA_GIGA     0x200000000        // 1 GiB -> RAM_BASE
#define GPA_X4_39    0x8000000000       // Sv39x4: 2^39 (root index 512), 1 GiB -> RAM_BASE
#define GPA_TOP_39   0xffc0000000       // Sv39x4: root index 1023, 1 GiB -> RAM_BASE
#define GPA_WIDE_39  0x20000000000      // Sv39x4: 2^41, too wide
#define GPA_X4_48    0x1000000000000    // Sv48x4: 2^48 (root index 512), 512 GiB -> 0
#define GPA_TOP_48   0x1ff8000000000    // Sv48x4: root index 1023, 512 GiB -> 0
#define GPA_WIDE_48  0x4000000000000    // Sv48x4: 2^50, too wide
#define LEAF_U       (PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D)
#define LEAF_RW_U    (PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D)
#define MAGIC_A      0x1122334455667788
#define MAGIC_B      0x0b0b0b0b0b0b0b0b
#define MAGIC_C      0x0c0c0c0c0c0c0c0c
#define MAGIC_D      0x0d0d0d0d0d0d0d0d
// The parts of a load or store that survive in its transformed form (rs1 and offset zeroed).
#define TINST_LOAD   0x00007fff
#define TINST_STORE  0x01f0707f

// G-stage maps, into the tree at s1 with s2 levels (11-bit root index).
#define GMAP(gpa, spa, level, flags) \
        mv a0, s1; li a1, gpa; li a2, spa; li a3, level; li a4, flags; mv a5, s2; li a6, 11; \
        call isa_pt_map
#define GMAP_SYM(gpa, sym, level, flags) \
        mv a0, s1; li a1, gpa; la a2, sym; li a3, level; li a4, flags; mv a5, s2; li a6, 11; \
        call isa_pt_map
// Loads the dword at va + (sym - RAM_BASE), which must read the same as sym itself.
#define CHECK_ALIAS_LOAD(va, sym) \
        li gp, __LINE__; la t1, sym; li t0, va - RAM_BASE; add t0, t0, t1; ld t2, 0(t0); ld t1, 0(t1); \
        beq t1, t2, 77f; j fail; 77:
// insn (a load or store through the address in r) must raise guest-page fault c at r; tinst: as
// for check_gpf.
#define GPF(c, r, tinst, insn...) \
        TRAP(insn); li a0, c; mv a1, r; mv a2, r; mv a3, t5; li a4, tinst; call check_gpf
// A fetch from the address in r must raise an instruction guest-page fault there.
#define FETCH_GPF(r) \
        li gp, __LINE__; la tp, 78f; jalr r; j fail; 78: li a0, CAUSE_FETCH_GUEST_PAGE_FAULT; \
        mv a1, r; mv a2, r; mv a3, r; li a4, 0; call check_gpf

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
        la      t0, pg_d
        li      t1, MAGIC_D
        sd      t1, 0(t0)
        li      s0, 8
        li      s3, ISA_TAKEN_HS
        call    run_suite
        li      s3, ISA_TAKEN_M
        call    run_suite
        li      s0, 9
        li      s3, ISA_TAKEN_HS
        call    run_suite
        li      s3, ISA_TAKEN_M
        call    run_suite
        j       pass

// ---- One run from M: s0 = hgatp.MODE (8 or 9), s3 = the handler guest-page faults go to ---------
run_suite:
        la      t0, run_ra
        sd      ra, 0(t0)
        call    isa_pt_reset
        li      a0, 4
        call    isa_pt_alloc
        mv      s1, a0
        addi    s2, s0, -5                      // levels: 3 for Sv39x4, 4 for Sv48x4
        GMAP(RAM_BASE, RAM_BASE, 2, LEAF_U)
        GMAP_SYM(GPA_A, pg_a, 0, LEAF_RW_U)
        GMAP_SYM(GPA_RO, pg_a, 0, PTE_V | PTE_R | PTE_U | PTE_A)
        GMAP_SYM(GPA_NOU, pg_a, 0, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
        GMAP_SYM(GPA_XO, xo_page, 0, PTE_V | PTE_X | PTE_U | PTE_A)
        GMAP_SYM(GPA_INVALID, pg_a, 0, PTE_R | PTE_W | PTE_U | PTE_A | PTE_D)
        GMAP_SYM(GPA_AD, pg_b, 0, PTE_V | PTE_R | PTE_W | PTE_U)
        la      t0, pte_ad
        sd      a0, 0(t0)
        GMAP_SYM(GPA_CHG, pg_c, 0, LEAF_RW_U)
        la      t0, pte_chg
        sd      a0, 0(t0)
        GMAP_SYM(GPA_NX, pg_a, 0, LEAF_RW_U)
        GMAP_SYM(GPA_WNR, pg_a, 0, PTE_V | PTE_W | PTE_U | PTE_A | PTE_D)
        GMAP(GPA_MEGA, RAM_BASE, 1, LEAF_U)
        GMAP(GPA_MEGA_BAD, RAM_BASE + 0x1000, 1, LEAF_U)
        GMAP(GPA_GIGA, RAM_BASE, 2, LEAF_U)
        li      t0, 9
        beq     s0, t0, 1f
        GMAP(GPA_X4_39, RAM_BASE, 2, LEAF_U)
        GMAP(GPA_TOP_39, RAM_BASE, 2, LEAF_U)
        j       2f
1:      GMAP(GPA_X4_48, 0, 3, LEAF_U)
        GMAP(GPA_TOP_48, 0, 3, LEAF_U)
2:      // hgatp = MODE | root PPN; a MODE that does not stick skips the run.
        srli    t0, s1, 12
        slli    t1, s0, 60
        or      t0, t0, t1
        csrw    hgatp, t0
        csrr    t1, hgatp
        srli    t1, t1, 60
        beq     t1, s0, 3f
        csrw    hgatp, zero
        li      t0, 9
        bne     s0, t0, fail_no_sv39x4
        la      t0, msg_skip48
        li      t1, ISA_TAKEN_M
        bne     s3, t1, 4f                      // say it once
        mv      a0, t0
        call    isa_puts
        j       4f
3:      hfence.gvma
        li      t0, 0
        li      t1, ISA_TAKEN_HS
        bne     s3, t1, 5f
        li      t0, (1 << CAUSE_FETCH_GUEST_PAGE_FAULT) | (1 << CAUSE_LOAD_GUEST_PAGE_FAULT)
        li      t1, (1 << CAUSE_STORE_GUEST_PAGE_FAULT) | (1 << CAUSE_VIRTUAL_SUPERVISOR_ECALL)
        or      t0, t0, t1
5:      csrw    medeleg, t0
        HS_ENTER_VS(vs_suite)
m_suite_done:
        csrw    medeleg, zero
        csrw    hgatp, zero
        hfence.gvma
4:      la      t0, run_ra
        ld      ra, 0(t0)
        ret

// Sv39x4 is the G-stage scheme an RV64 hypervisor extension comes with.
fail_no_sv39x4:
        CHECK_LINE
        j       fail

// ---- The guest part of a run: VS-mode; "host" below is HS or M, whichever s3 names --------------
vs_suite:
        // Plain translation: 4 KiB pages, superpages, the wide root.
        CHECK_LINE
        li      t0, GPA_A
        ld      t2, 0(t0)
        ASSERT_EQ(t2, MAGIC_A)
        li      t1, 0x0123456789abcdef
        sd      t1, 8(t0)
        la      t0, pg_a
        ld      t2, 8(t0)
        ASSERT_EQ(t2, 0x0123456789abcdef)
        li      t0, GPA_RO
        ld      t2, 8(t0)
        ASSERT_EQ(t2, 0x0123456789abcdef)
        CHECK_ALIAS_LOAD(GPA_MEGA, magic_word)
        CHECK_ALIAS_LOAD(GPA_GIGA, magic_word)
        li      t0, 9
        beq     s0, t0, 1f
        CHECK_ALIAS_LOAD(GPA_X4_39, magic_word)
        CHECK_ALIAS_LOAD(GPA_TOP_39, magic_word)
        li      s5, GPA_X4_39 - RAM_BASE        // where code runs through the wide alias
        li      t3, GPA_WIDE_39
        j       2f
1:      CHECK_ALIAS_LOAD(GPA_X4_48 + RAM_BASE, magic_word)
        CHECK_ALIAS_LOAD(GPA_TOP_48 + RAM_BASE, magic_word)
        li      s5, GPA_X4_48
        li      t3, GPA_WIDE_48
2:      GPF(CAUSE_LOAD_GUEST_PAGE_FAULT, t3, TINST_LOAD, ld t2, 0(t3))
        GPF(CAUSE_STORE_GUEST_PAGE_FAULT, t3, TINST_STORE, sd t2, 0(t3))
        CHECK_LINE
        la      t0, xo_page
        add     t0, t0, s5
        li      a0, 0
        jalr    t0
        ASSERT_EQ(a0, 0x123)
        la      t0, xo_page
        li      t1, GPA_MEGA - RAM_BASE
        add     t0, t0, t1
        li      a0, 0
        jalr    t0
        ASSERT_EQ(a0, 0x123)

        // ---- Faults: permissions, U, V, reserved, misaligned ------------------------------------
        li      t3, GPA_RO + 0x40
        GPF(CAUSE_STORE_GUEST_PAGE_FAULT, t3, TINST_STORE, sd t2, 0(t3))
        GPF(CAUSE_STORE_GUEST_PAGE_FAULT, t3, TINST_STORE, sw t2, 0(t3))
        li      t3, GPA_NOU + 0x48
        GPF(CAUSE_LOAD_GUEST_PAGE_FAULT, t3, TINST_LOAD, ld t2, 0(t3))
        GPF(CAUSE_STORE_GUEST_PAGE_FAULT, t3, TINST_STORE, sd t2, 0(t3))
        FETCH_GPF(t3)
        li      t3, GPA_XO
        GPF(CAUSE_LOAD_GUEST_PAGE_FAULT, t3, TINST_LOAD, lw t2, 0(t3))
        GPF(CAUSE_STORE_GUEST_PAGE_FAULT, t3, TINST_STORE, sw t2, 0(t3))
        CHECK_LINE
        li      a0, 0
        jalr    t3
        ASSERT_EQ(a0, 0x123)
        li      t3, GPA_INVALID + 0x30
        GPF(CAUSE_LOAD_GUEST_PAGE_FAULT, t3, TINST_LOAD, lbu t2, 0(t3))
        GPF(CAUSE_STORE_GUEST_PAGE_FAULT, t3, TINST_STORE, sh t2, 0(t3))
        FETCH_GPF(t3)
        li      t3, GPA_WNR + 8
        GPF(CAUSE_LOAD_GUEST_PAGE_FAULT, t3, TINST_LOAD, ld t2, 0(t3))
        GPF(CAUSE_STORE_GUEST_PAGE_FAULT, t3, TINST_STORE, sd t2, 0(t3))
        li      t3, GPA_MEGA_BAD + 0x10
        GPF(CAUSE_LOAD_GUEST_PAGE_FAULT, t3, TINST_LOAD, ld t2, 0(t3))
        li      t3, GPA_MEGA_BAD
        FETCH_GPF(t3)
        li      t3, GPA_NX + 0x100
        FETCH_GPF(t3)

        // ---- A and D at the G-stage -------------------------------------------------------------
vs_ad1:
        CHECK_LINE
        li      s7, 0
        li      t3, GPA_AD
        la      t5, 1f
        la      tp, 2f
1:      ld      t2, 0(t3)
        li      tp, 0
        j       3f
2:      CHECK_LINE
        li      a0, CAUSE_LOAD_GUEST_PAGE_FAULT
        mv      a1, t3
        mv      a2, t3
        mv      a3, t5
        li      a4, TINST_LOAD
        call    check_gpf
        li      s7, 1
3:      ECALL_TO(host_ad1)
host_ad1:
        la      t0, pte_ad
        ld      t0, 0(t0)
        ld      t1, 0(t0)
        bnez    s7, 4f
        ASSERT_MASKED(t1, PTE_A | PTE_D, PTE_A)
        j       5f
4:      ASSERT_MASKED(t1, PTE_A | PTE_D, 0)
        ori     t1, t1, PTE_A
        sd      t1, 0(t0)
5:      hfence.gvma
        HS_ENTER_VS(vs_ad2)
vs_ad2:
        CHECK_LINE
        li      t3, GPA_AD
        ld      t2, 0(t3)
        ASSERT_EQ(t2, MAGIC_B)
        li      s7, 0
        li      t1, 0x600d
        la      t5, 1f
        la      tp, 2f
1:      sd      t1, 8(t3)
        li      tp, 0
        j       3f
2:      CHECK_LINE
        li      a0, CAUSE_STORE_GUEST_PAGE_FAULT
        addi    a1, t3, 8
        mv      a2, a1
        mv      a3, t5
        li      a4, TINST_STORE
        call    check_gpf
        li      s7, 1
3:      ECALL_TO(host_ad2)
host_ad2:
        la      t0, pte_ad
        ld      t0, 0(t0)
        ld      t1, 0(t0)
        bnez    s7, 4f
        ASSERT_MASKED(t1, PTE_A | PTE_D, PTE_A | PTE_D)
        j       5f
4:      ASSERT_MASKED(t1, PTE_A | PTE_D, PTE_A)
        ori     t1, t1, PTE_D
        sd      t1, 0(t0)
5:      hfence.gvma
        HS_ENTER_VS(vs_ad3)
vs_ad3:
        CHECK_LINE
        li      t3, GPA_AD
        li      t1, 0x600d
        sd      t1, 8(t3)
        la      t0, pg_b
        ld      t2, 8(t0)
        ASSERT_EQ(t2, 0x600d)

        // ---- HFENCE.GVMA after a G-stage PTE change ---------------------------------------------
        CHECK_LINE
        li      t3, GPA_CHG
        ld      t2, 0(t3)
        ASSERT_EQ(t2, MAGIC_C)
        ECALL_TO(host_chg1)
host_chg1:
        la      t0, pte_chg
        ld      t0, 0(t0)
        la      t1, pg_d
        srli    t1, t1, 12
        slli    t1, t1, 10
        ori     t1, t1, LEAF_RW_U
        sd      t1, 0(t0)
        hfence.gvma zero, zero
        HS_ENTER_VS(vs_chg2)
vs_chg2:
        li      t3, GPA_CHG
        ld      t2, 0(t3)
        ASSERT_EQ(t2, MAGIC_D)
        ECALL_TO(host_chg2)
host_chg2:
        la      t0, pte_chg
        ld      t0, 0(t0)
        la      t1, pg_c
        srli    t1, t1, 12
        slli    t1, t1, 10
        ori     t1, t1, LEAF_RW_U
        sd      t1, 0(t0)
        li      t0, GPA_CHG >> 2
        hfence.gvma t0, zero
        HS_ENTER_VS(vs_chg3)
vs_chg3:
        li      t3, GPA_CHG
        ld      t2, 0(t3)
        ASSERT_EQ(t2, MAGIC_C)
        ECALL_TO(host_chg3)
host_chg3:
        la      t0, pte_chg
        ld      t0, 0(t0)
        sd      zero, 0(t0)
        hfence.gvma zero, zero
        HS_ENTER_VS(vs_chg4)
vs_chg4:
        li      t3, GPA_CHG
        GPF(CAUSE_LOAD_GUEST_PAGE_FAULT, t3, TINST_LOAD, ld t2, 0(t3))
        ECALL_TO(host_end)
host_end:
        ECALL_TO(m_suite_done)                  // from HS an ecall reaches M; from M, M itself

// ---- After an expected guest-page fault ---------------------------------------------------------
// a0 = cause, a1 = the guest virtual address (xtval), a2 = the guest physical address, a3 = xepc,
// a4 = the bits of the instruction at xepc its transformed form keeps (0: none, so htinst/mtinst
// must be 0). The handler must be the one s3 names, with its GVA and SPV/MPV set. Fails at gp.
// Uses t0..t2.
check_gpf:
        bne     s9, a0, 9f
        bne     s10, a3, 9f
        bne     s11, a1, 9f
        la      t0, isa_trap_ext
        ld      t1, ISA_EXT_TAKER(t0)
        bne     t1, s3, 9f
        srli    t2, a2, 2
        li      t1, ISA_TAKEN_HS
        bne     s3, t1, 1f
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
2:      beqz    t1, 3f
        beqz    a4, 9f
        lhu     t2, 0(a3)
        lhu     t0, 2(a3)
        slli    t0, t0, 16
        or      t2, t2, t0
        and     t2, t2, a4
        bne     t1, t2, 9f
3:      ret
9:      j       fail

        // An execute-only page: one small function at its start.
        .balign 4096
xo_page:
        li      a0, 0x123
        ret
        .balign 4096

        .section .rodata
msg_skip48: .asciz "isa h_gstage: hgatp.MODE = Sv48x4 is not supported; skipped\n"

        .data
        .balign 8
magic_word: .dword 0xfeedfacecafebeef
run_ra:     .dword 0
pte_ad:     .dword 0
pte_chg:    .dword 0

        .bss
        .balign 4096
pg_a:       .space 4096
pg_b:       .space 4096
pg_c:       .space 4096
pg_d:       .space 4096
