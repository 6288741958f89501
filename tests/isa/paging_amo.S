# isa-test: qemu-fail=64
/*
 * paging_amo: the page-fault cause of LR and AMOs under Sv39 (privileged spec 1.12, 4.3.2):
 * "AMOs never raise load page-fault exceptions. Since any unreadable page is also unwritable,
 * attempting to perform an AMO on an unreadable page always raises a store page-fault
 * exception", while LR, a load, raises a load page fault. Checked on execute-only, invalid,
 * read-only and U pages and on an address that is not canonical, with xtval = the address. The
 * page table is a single root of 1 GiB leaves; faults are taken by M.
 *
 * QEMU 7.2 reports an AMO on an unreadable page as a load page fault: under QEMU this test stops
 * at the first such check (line 64); the manifest records that.
 */
#include "isa.h"

#define VA_RO   0x100000000             // 1 GiB -> RAM_BASE, R
#define VA_XO   0x140000000             // 1 GiB -> RAM_BASE, X only
#define VA_INV  0x180000000             // V = 0
#define VA_U    0x1c0000000             // 1 GiB -> RAM_BASE, U RW
#define VA_BAD  0x4000000000            // not canonical in Sv39
#define GIGA_PTE(pa, flags) ((((pa) >> 12) << 10) | (flags))
// After TRAP: page fault of cause c with xtval = register r.
#define ASSERT_PF(c, r) \
        li gp, __LINE__; li t6, c; bne s9, t6, 79f; bne s10, t5, 79f; beq s11, r, 77f; 79: j fail; 77:

        .text
        .globl test_main
test_main:
        la      a0, root
        li      t0, GIGA_PTE(RAM_BASE, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
        sd      t0, 2 * 8(a0)
        li      t0, GIGA_PTE(RAM_BASE, PTE_V | PTE_R | PTE_A)
        sd      t0, 4 * 8(a0)
        li      t0, GIGA_PTE(RAM_BASE, PTE_V | PTE_X | PTE_A)
        sd      t0, 5 * 8(a0)
        sd      zero, 6 * 8(a0)
        li      t0, GIGA_PTE(RAM_BASE, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D)
        sd      t0, 7 * 8(a0)
        srli    t0, a0, 12
        li      t1, SATP_MODE_SV39
        or      t0, t0, t1
        csrw    satp, t0
        sfence.vma
        csrr    t1, satp
        bne     t0, t1, pass                    // Sv39 is optional
        M_ENTER_S(s_code)
s_code:
        la      t0, amo_word
        li      t1, RAM_BASE
        sub     s0, t0, t1                      // offset of amo_word in every alias
        // LR is a load.
        li      t3, VA_XO
        add     t3, t3, s0
        TRAP(lr.d t2, (t3))
        ASSERT_PF(CAUSE_LOAD_PAGE_FAULT, t3)
        // An AMO on a readable page without W.
        li      t3, VA_RO
        add     t3, t3, s0
        TRAP(amoadd.d t2, t2, (t3))
        ASSERT_PF(CAUSE_STORE_PAGE_FAULT, t3)
        // AMOs on pages that are not even readable: still store page faults.
        li      t3, VA_XO
        add     t3, t3, s0
        TRAP(amoswap.w t2, t2, (t3))
        ASSERT_PF(CAUSE_STORE_PAGE_FAULT, t3)
        li      t3, VA_INV
        add     t3, t3, s0
        TRAP(amoor.d t2, t2, (t3))
        ASSERT_PF(CAUSE_STORE_PAGE_FAULT, t3)
        TRAP(lr.w t2, (t3))
        ASSERT_PF(CAUSE_LOAD_PAGE_FAULT, t3)
        li      t3, VA_U
        add     t3, t3, s0
        TRAP(amoadd.w t2, t2, (t3))
        ASSERT_PF(CAUSE_STORE_PAGE_FAULT, t3)
        li      t3, VA_BAD
        TRAP(amomax.d t2, t2, (t3))
        ASSERT_TRAP(CAUSE_STORE_PAGE_FAULT)
        // The word was never written.
        la      t0, amo_word
        ld      t2, 0(t0)
        ASSERT_EQ(t2, 0x5555aaaa5555aaaa)
        ECALL_TO(m_done)
m_done:
        csrw    satp, zero
        sfence.vma
        j       pass

        .data
        .balign 8
amo_word:
        .dword  0x5555aaaa5555aaaa

        .bss
        .balign 4096
root:   .space  4096
