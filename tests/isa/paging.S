/*
 * paging: Sv39 and Sv48 translation (privileged spec 1.12, 4.3 to 4.5). The same suite runs
 * once per mode, over page tables built here: in Sv39 with page faults delegated to S (scause,
 * sepc, stval), in Sv48 with them taken by M (mcause, mepc, mtval). A mode whose satp write does
 * not stick is optional in the spec and is reported on the console and skipped.
 *   - 4 KiB pages, 2 MiB and 1 GiB superpages, the Sv48 512 GiB page, and the upper canonical half.
 *   - Page faults 12/13/15 with xtval = the faulting virtual address and xepc at the instruction
 *     (for a fetch, the target): misaligned superpages, W without R (with and without X), V = 0, a
 *     pointer at level 0, missing R/W/X permission, addresses that are not canonical for the mode.
 *   - U pages: S needs SUM to load or store them and may never execute them; U may not touch
 *     pages without U. MXR makes execute-only pages readable; they execute either way.
 *   - A and D: an access to a page with A = 0 (a store with D = 0) either sets them in the PTE or
 *     raises the page fault, the two schemes the spec allows; after software sets them it works.
 *   - sfence.vma (global and for one address) after a PTE change makes the new PTE visible.
 *   - satp ignores writes with an unsupported MODE as a whole.
 *   - MPRV = 1 makes M's loads and stores translate and check as MPP (SUM applying when MPP = S),
 *     and their page faults go to M even when delegated.
 */
#include "isa.h"

// The virtual layout (all below 2^38, so canonical in both modes unless said otherwise).
#define VA_CODE_U   0x100000000         // 1 GiB, U RWX alias of RAM_BASE: where U code runs
#define VA_A        0x200000000         // 4 KiB -> pg_a, RW
#define VA_RO       0x200001000         // 4 KiB -> pg_a, R
#define VA_UPAGE    0x200002000         // 4 KiB -> pg_a, U RW
#define VA_XO       0x200003000         // 4 KiB -> xo_page, X only
#define VA_WNR      0x200004000         // W without R: reserved
#define VA_WXNR     0x200005000         // W and X without R: reserved
#define VA_INVALID  0x200006000         // V = 0
#define VA_AD       0x200007000         // -> pg_b, RW with A = D = 0
#define VA_CHG      0x200008000         // remapped during the test
#define VA_PTR0     0x200009000         // a pointer PTE at level 0
#define VA_NX       0x20000a000         // -> pg_a, RW, not X
#define VA_MEGA     0x300000000         // 2 MiB -> RAM_BASE
#define VA_MEGA_BAD 0x300200000         // 2 MiB leaf with PPN[0] != 0
#define VA_GIGA     0x400000000         // 1 GiB -> RAM_BASE
#define VA_GIGA_BAD 0x500000000         // 1 GiB leaf with PPN[1] != 0
#define VA_TERA     0x8000000000        // Sv48: 512 GiB -> 0; Sv39: not canonical
#define VA_NEG39    0xffffffc000000000  // Sv39 upper half: 1 GiB -> RAM_BASE
#define VA_NEG48    0xffff800000000000  // Sv48 upper half: 1 GiB -> RAM_BASE
#define VA_BAD39    0x0000004000000000  // not canonical in Sv39
#define VA_BAD48    0x0000800000000000  // not canonical in Sv48
#define LEAF_RWX    (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define POOL_PAGES  24
#define MAGIC_A     0x1122334455667788
#define MAGIC_C     0x0c0c0c0c0c0c0c0c
#define MAGIC_D     0x0d0d0d0d0d0d0d0d

// Maps va to pa with a leaf at the given level (0: 4 KiB ... 3: 512 GiB) and PTE flags; the
// leaf PTE's address lands in a0.
#define MAP(va, pa, level, flags) li a0, va; li a1, pa; li a2, level; li a3, flags; call pt_map
#define MAP_SYM(va, sym, level, flags) li a0, va; la a1, sym; li a2, level; li a3, flags; call pt_map
// Loads the dword at va + (sym - RAM_BASE), which must read the same as sym itself.
#define CHECK_ALIAS_LOAD(va, sym) \
        li gp, __LINE__; la t1, sym; li t0, va - RAM_BASE; add t0, t0, t1; ld t2, 0(t0); ld t1, 0(t1); \
        beq t1, t2, 77f; j fail; 77:
// After TRAP: a page fault of cause c whose xtval is the virtual address in register r.
#define ASSERT_PF(c, r) \
        li gp, __LINE__; li t6, c; bne s9, t6, 79f; bne s10, t5, 79f; beq s11, r, 77f; 79: j fail; 77:
// A fetch from the address in register r must raise an instruction page fault there.
#define FETCH_FAULT(r) \
        li gp, __LINE__; la tp, 78f; jalr r; j fail; 78: li t6, CAUSE_FETCH_PAGE_FAULT; \
        bne s9, t6, 79f; bne s10, r, 79f; beq s11, r, 77f; 79: j fail; 77:

        .text
        .globl test_main
test_main:
        mv      s7, ra
        la      t0, pg_a
        li      t1, MAGIC_A
        sd      t1, 0(t0)
        la      t0, pg_c
        li      t1, MAGIC_C
        sd      t1, 0(t0)
        la      t0, pg_d
        li      t1, MAGIC_D
        sd      t1, 0(t0)
        li      s0, 8
        call    run_suite
        li      s0, 9
        call    run_suite
        j       pass

// ---- One run: s0 = satp.MODE (8 or 9) -----------------------------------------------------------
run_suite:
        mv      s6, ra
        la      t0, pt_pool
        la      t1, pt_next
        sd      t0, 0(t1)
        li      t1, 3
        li      t2, 9
        bne     s0, t2, 1f
        li      t1, 4
1:      la      t2, pt_levels
        sd      t1, 0(t2)
        call    pt_alloc
        la      t1, pt_root
        sd      a0, 0(t1)

        MAP(RAM_BASE, RAM_BASE, 2, LEAF_RWX)
        MAP(VA_CODE_U, RAM_BASE, 2, LEAF_RWX | PTE_U)
        MAP_SYM(VA_A, pg_a, 0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
        MAP_SYM(VA_RO, pg_a, 0, PTE_V | PTE_R | PTE_A)
        MAP_SYM(VA_UPAGE, pg_a, 0, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D)
        MAP_SYM(VA_XO, xo_page, 0, PTE_V | PTE_X | PTE_A)
        MAP_SYM(VA_WNR, pg_a, 0, PTE_V | PTE_W | PTE_A | PTE_D)
        MAP_SYM(VA_WXNR, pg_a, 0, PTE_V | PTE_W | PTE_X | PTE_A | PTE_D)
        MAP_SYM(VA_INVALID, pg_a, 0, PTE_R | PTE_W | PTE_A | PTE_D)
        MAP_SYM(VA_AD, pg_b, 0, PTE_V | PTE_R | PTE_W)
        la      t0, pte_ad
        sd      a0, 0(t0)
        MAP_SYM(VA_CHG, pg_c, 0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
        la      t0, pte_chg
        sd      a0, 0(t0)
        MAP_SYM(VA_PTR0, pg_a, 0, PTE_V)
        MAP_SYM(VA_NX, pg_a, 0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
        MAP(VA_MEGA, RAM_BASE, 1, LEAF_RWX)
        MAP(VA_MEGA_BAD, RAM_BASE + 0x1000, 1, LEAF_RWX)
        MAP(VA_GIGA, RAM_BASE, 2, LEAF_RWX)
        MAP(VA_GIGA_BAD, RAM_BASE + 0x200000, 2, LEAF_RWX)
        li      t0, 9
        bne     s0, t0, 2f
        MAP(VA_TERA, 0, 3, LEAF_RWX)
        MAP(VA_NEG48, RAM_BASE, 2, LEAF_RWX)
        j       3f
2:      MAP(VA_NEG39, RAM_BASE, 2, LEAF_RWX)
3:
        // satp = MODE | root PPN; an unsupported mode does not stick: skip the run.
        la      t0, pt_root
        ld      t0, 0(t0)
        srli    t0, t0, 12
        slli    t1, s0, 60
        or      t0, t0, t1
        csrw    satp, t0
        sfence.vma
        csrr    s1, satp
        beq     s1, t0, 4f
        csrw    satp, zero
        la      a0, msg_skip39
        li      t0, 8
        beq     s0, t0, 5f
        la      a0, msg_skip48
5:      call    isa_puts
        mv      ra, s6
        ret
4:      // Sv39: page faults delegated to S; Sv48: taken by M. U's ecall always goes to S.
        li      t0, 1 << CAUSE_USER_ECALL
        li      t1, 8
        bne     s0, t1, 6f
        li      t0, (1 << CAUSE_USER_ECALL) | (1 << CAUSE_FETCH_PAGE_FAULT) | (1 << CAUSE_LOAD_PAGE_FAULT) | (1 << CAUSE_STORE_PAGE_FAULT)
6:      csrw    medeleg, t0
        li      t0, MSTATUS_SUM | MSTATUS_MXR
        csrc    mstatus, t0
        M_ENTER_S(s_suite)
m_suite_done:
        call    m_checks
        csrw    medeleg, zero
        csrw    satp, zero
        sfence.vma
        mv      ra, s6
        ret

// ---- The S-mode part of a run ---------------------------------------------------------------------
s_suite:
        // Identity-mapped code and data work (this is running); 4 KiB, 2 MiB and 1 GiB pages.
        CHECK_LINE
        li      t0, VA_A
        ld      t2, 0(t0)
        ASSERT_EQ(t2, MAGIC_A)
        li      t1, 0x0123456789abcdef
        sd      t1, 8(t0)
        la      t0, pg_a
        ld      t2, 8(t0)
        ASSERT_EQ(t2, 0x0123456789abcdef)
        li      t0, VA_RO
        ld      t2, 8(t0)
        ASSERT_EQ(t2, 0x0123456789abcdef)
        CHECK_ALIAS_LOAD(VA_MEGA, magic_word)
        CHECK_ALIAS_LOAD(VA_GIGA, magic_word)
        li      t0, 9
        bne     s0, t0, 1f
        CHECK_ALIAS_LOAD(VA_NEG48, magic_word)
        CHECK_ALIAS_LOAD(VA_TERA + RAM_BASE, magic_word)
        li      t3, VA_BAD48
        TRAP(ld t2, 0(t3))
        ASSERT_TRAP(CAUSE_LOAD_PAGE_FAULT)
        j       2f
1:      CHECK_ALIAS_LOAD(VA_NEG39, magic_word)
        li      t3, VA_BAD39
        TRAP(ld t2, 0(t3))
        ASSERT_TRAP(CAUSE_LOAD_PAGE_FAULT)
        li      t3, VA_TERA
        TRAP(sd t2, 0(t3))
        ASSERT_TRAP(CAUSE_STORE_PAGE_FAULT)
2:
        // ---- Malformed leaves and missing permissions ----------------------------------------------
        CHECK_LINE
        li      t3, VA_MEGA_BAD + 0x10
        TRAP(ld t2, 0(t3))
        ASSERT_PF(CAUSE_LOAD_PAGE_FAULT, t3)
        li      t3, VA_GIGA_BAD + 0x18
        TRAP(sd t2, 0(t3))
        ASSERT_PF(CAUSE_STORE_PAGE_FAULT, t3)
        li      t3, VA_WNR + 8
        TRAP(ld t2, 0(t3))
        ASSERT_PF(CAUSE_LOAD_PAGE_FAULT, t3)
        TRAP(sd t2, 0(t3))
        ASSERT_PF(CAUSE_STORE_PAGE_FAULT, t3)
        li      t3, VA_WXNR + 0x20
        TRAP(lw t2, 0(t3))
        ASSERT_PF(CAUSE_LOAD_PAGE_FAULT, t3)
        FETCH_FAULT(t3)
        li      t3, VA_INVALID + 0x30
        TRAP(lbu t2, 0(t3))
        ASSERT_PF(CAUSE_LOAD_PAGE_FAULT, t3)
        FETCH_FAULT(t3)
        li      t3, VA_PTR0
        TRAP(ld t2, 0(t3))
        ASSERT_PF(CAUSE_LOAD_PAGE_FAULT, t3)
        li      t3, VA_RO + 0x40
        TRAP(sd t2, 0(t3))
        ASSERT_PF(CAUSE_STORE_PAGE_FAULT, t3)
        TRAP(sb t2, 0(t3))
        ASSERT_PF(CAUSE_STORE_PAGE_FAULT, t3)
        li      t3, VA_NX + 0x100
        FETCH_FAULT(t3)
        li      t3, VA_MEGA_BAD
        FETCH_FAULT(t3)

        // ---- U pages from S: SUM for data, never for execution ----------------------------------------
        CHECK_LINE
        li      t3, VA_UPAGE
        TRAP(ld t2, 0(t3))
        ASSERT_PF(CAUSE_LOAD_PAGE_FAULT, t3)
        TRAP(sd t2, 0(t3))
        ASSERT_PF(CAUSE_STORE_PAGE_FAULT, t3)
        li      t0, MSTATUS_SUM
        csrs    sstatus, t0
        ld      t2, 0(t3)
        ASSERT_EQ(t2, MAGIC_A)
        li      t1, 0x5a5a
        sd      t1, 16(t3)
        la      t0, pg_a
        ld      t2, 16(t0)
        ASSERT_EQ(t2, 0x5a5a)
        la      t3, u_suite
        li      t0, VA_CODE_U - RAM_BASE
        add     t3, t3, t0
        FETCH_FAULT(t3)
        li      t0, MSTATUS_SUM
        csrc    sstatus, t0

        // ---- Execute-only pages and MXR -------------------------------------------------------------
        CHECK_LINE
        li      t3, VA_XO
        li      a0, 0
        jalr    t3
        ASSERT_EQ(a0, 0x123)
        TRAP(lw t2, 0(t3))
        ASSERT_PF(CAUSE_LOAD_PAGE_FAULT, t3)
        li      t0, MSTATUS_MXR
        csrs    sstatus, t0
        lw      t2, 0(t3)
        la      t0, xo_page
        lw      t1, 0(t0)
        ASSERT_EQ_REG(t2, t1)
        TRAP(sw t2, 0(t3))
        ASSERT_PF(CAUSE_STORE_PAGE_FAULT, t3)
        li      t0, MSTATUS_MXR
        csrc    sstatus, t0

        // ---- A and D: set by the hart, or a page fault for software to handle --------------------------
        CHECK_LINE
        la      s2, pte_ad
        ld      s2, 0(s2)
        li      t3, VA_AD
        la      tp, 1f
        ld      t2, 0(t3)
        li      tp, 0
        ld      t1, 0(s2)
        ASSERT_MASKED(t1, PTE_A | PTE_D, PTE_A)
        j       2f
1:      ASSERT_EQ(s9, CAUSE_LOAD_PAGE_FAULT)
        ASSERT_EQ_REG(s11, t3)
        ld      t1, 0(s2)
        ori     t1, t1, PTE_A
        sd      t1, 0(s2)
        sfence.vma
        ld      t2, 0(t3)
2:      la      t0, pg_b
        ld      t1, 0(t0)
        ASSERT_EQ_REG(t2, t1)
        li      t1, 0x600d
        la      tp, 3f
        sd      t1, 8(t3)
        li      tp, 0
        ld      t1, 0(s2)
        ASSERT_MASKED(t1, PTE_A | PTE_D, PTE_A | PTE_D)
        j       4f
3:      ASSERT_EQ(s9, CAUSE_STORE_PAGE_FAULT)
        addi    t0, t3, 8
        ASSERT_EQ_REG(s11, t0)
        ld      t1, 0(s2)
        ori     t1, t1, PTE_A | PTE_D
        sd      t1, 0(s2)
        sfence.vma
        li      t1, 0x600d
        sd      t1, 8(t3)
4:      la      t0, pg_b
        ld      t2, 8(t0)
        ASSERT_EQ(t2, 0x600d)

        // ---- sfence.vma after a PTE change -----------------------------------------------------------
        CHECK_LINE
        la      s2, pte_chg
        ld      s2, 0(s2)
        li      t3, VA_CHG
        ld      t2, 0(t3)
        ASSERT_EQ(t2, MAGIC_C)
        la      t0, pg_d
        srli    t0, t0, 12
        slli    t0, t0, 10
        ori     t0, t0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
        sd      t0, 0(s2)
        sfence.vma
        ld      t2, 0(t3)
        ASSERT_EQ(t2, MAGIC_D)
        la      t0, pg_c
        srli    t0, t0, 12
        slli    t0, t0, 10
        ori     t0, t0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
        sd      t0, 0(s2)
        sfence.vma t3, zero
        ld      t2, 0(t3)
        ASSERT_EQ(t2, MAGIC_C)
        sd      zero, 0(s2)
        sfence.vma zero, zero
        TRAP(ld t2, 0(t3))
        ASSERT_PF(CAUSE_LOAD_PAGE_FAULT, t3)

        // ---- U mode ------------------------------------------------------------------------------------
        la      t0, u_suite
        li      t1, VA_CODE_U - RAM_BASE
        add     t0, t0, t1
        csrw    sepc, t0
        li      t0, MSTATUS_SPP
        csrc    sstatus, t0
        sret
s_after_u:
        ECALL_TO(m_suite_done)

// ---- The U-mode part, run from the U alias of the image -------------------------------------------
u_suite:
        CHECK_LINE
        li      t3, VA_UPAGE
        ld      t2, 0(t3)
        ASSERT_EQ(t2, MAGIC_A)
        li      t3, VA_A
        TRAP(ld t2, 0(t3))
        ASSERT_PF(CAUSE_LOAD_PAGE_FAULT, t3)
        TRAP(sd t2, 0(t3))
        ASSERT_PF(CAUSE_STORE_PAGE_FAULT, t3)
        // U code may not run from a page without U (the identity mapping), nor without X.
        la      t3, u_suite
        li      t0, RAM_BASE - VA_CODE_U
        add     t3, t3, t0
        FETCH_FAULT(t3)
        li      t3, VA_UPAGE
        FETCH_FAULT(t3)
        // Back to S (ecall from U is delegated), at the identity address of s_after_u.
        la      tp, s_after_u
        li      t0, RAM_BASE - VA_CODE_U
        add     tp, tp, t0
        ori     tp, tp, 1
        ecall
        j       fail

// ---- M-mode checks with the run's satp still set ---------------------------------------------------
m_checks:
        // MPRV with MPP = S: M's loads see S's view.
        CHECK_LINE
        li      t0, MSTATUS_MPP
        csrc    mstatus, t0
        li      t0, MSTATUS_MPRV | MSTATUS_MPP_S
        csrs    mstatus, t0
        li      t3, VA_A
        ld      t2, 0(t3)
        li      t0, MSTATUS_MPRV
        csrc    mstatus, t0
        ASSERT_EQ(t2, MAGIC_A)
        // SUM applies to MPRV accesses with MPP = S.
        li      t0, MSTATUS_MPRV | MSTATUS_MPP_S
        csrs    mstatus, t0
        li      t3, VA_UPAGE
        TRAP(ld t2, 0(t3))
        li      t0, MSTATUS_MPRV
        csrc    mstatus, t0
        ASSERT_PF(CAUSE_LOAD_PAGE_FAULT, t3)
        ASSERT_MASKED(s8, MSTATUS_MPP, MSTATUS_MPP_M)
        li      t0, MSTATUS_MPP
        csrc    mstatus, t0
        li      t0, MSTATUS_MPRV | MSTATUS_MPP_S | MSTATUS_SUM
        csrs    mstatus, t0
        ld      t2, 0(t3)
        li      t0, MSTATUS_MPRV | MSTATUS_SUM
        csrc    mstatus, t0
        ASSERT_EQ(t2, MAGIC_A)
        // MPP = U: a page without U faults, to M, even with page faults delegated.
        li      t0, MSTATUS_MPP
        csrc    mstatus, t0
        li      t0, MSTATUS_MPRV
        csrs    mstatus, t0
        li      t3, VA_A
        TRAP(sd t2, 0(t3))
        li      t0, MSTATUS_MPRV
        csrc    mstatus, t0
        ASSERT_PF(CAUSE_STORE_PAGE_FAULT, t3)
        ASSERT_MASKED(s8, MSTATUS_MPP, MSTATUS_MPP_M)

        // ---- satp ignores a write with an unsupported MODE ----------------------------------------------
        CHECK_LINE
        csrr    s1, satp
        li      t0, (11 << 60) | 0x12345
        csrw    satp, t0
        csrr    t1, satp
        ASSERT_EQ_REG(t1, s1)
        li      t0, (5 << 60) | 0x54321
        csrw    satp, t0
        csrr    t1, satp
        ASSERT_EQ_REG(t1, s1)
        ret

// ---- Page-table builder (M-mode) -------------------------------------------------------------------
// a0 = a fresh zeroed page from the pool. Uses t0, t1.
pt_alloc:
        la      t0, pt_next
        ld      a0, 0(t0)
        la      t1, pt_pool_end
        bgeu    a0, t1, fail
        li      t1, 4096
        add     t1, a0, t1
        sd      t1, 0(t0)
        mv      t0, a0
1:      sd      zero, 0(t0)
        addi    t0, t0, 8
        bltu    t0, t1, 1b
        ret

// Maps a0 (va) to a1 (pa) with a leaf at level a2 and flags a3, creating intermediate tables as
// needed; a0 = the leaf PTE's address. Uses t0..t4, a4, a5.
pt_map:
        mv      a5, ra
        mv      a4, a0
        la      t0, pt_root
        ld      t0, 0(t0)
        la      t1, pt_levels
        ld      t1, 0(t1)
        addi    t1, t1, -1
1:      li      t2, 9
        mul     t2, t2, t1
        addi    t2, t2, 12
        srl     t3, a4, t2
        andi    t3, t3, 511
        slli    t3, t3, 3
        add     t3, t0, t3
        beq     t1, a2, 3f
        ld      t4, 0(t3)
        andi    t2, t4, PTE_V
        bnez    t2, 2f
        mv      t4, t0
        mv      t2, t1
        call    pt_alloc
        mv      t0, t4
        mv      t1, t2
        srli    t4, a0, 12
        slli    t4, t4, 10
        ori     t4, t4, PTE_V
        sd      t4, 0(t3)
2:      srli    t4, t4, 10
        slli    t0, t4, 12
        addi    t1, t1, -1
        j       1b
3:      srli    t4, a1, 12
        slli    t4, t4, 10
        or      t4, t4, a3
        sd      t4, 0(t3)
        mv      a0, t3
        mv      ra, a5
        ret

        // An execute-only page: one small function at its start.
        .balign 4096
xo_page:
        li      a0, 0x123
        ret
        .balign 4096

        .section .rodata
msg_skip39: .asciz "isa paging: satp.MODE = Sv39 is not supported; skipped\n"
msg_skip48: .asciz "isa paging: satp.MODE = Sv48 is not supported; skipped\n"

        .data
        .balign 8
magic_word: .dword 0xfeedfacecafebeef
pt_root:    .dword 0
pt_levels:  .dword 0
pt_next:    .dword 0
pte_ad:     .dword 0
pte_chg:    .dword 0

        .bss
        .balign 4096
pg_a:       .space 4096
pg_b:       .space 4096
pg_c:       .space 4096
pg_d:       .space 4096
pt_pool:    .space POOL_PAGES * 4096
pt_pool_end:
