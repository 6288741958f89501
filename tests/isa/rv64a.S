/*
 * rv64a: every RV64A instruction (unprivileged ISA 20191213, chapter 8) on one hart. LR/SC pairs
 * that must succeed (SC writes 0, memory updated; retried, as an SC may fail spuriously but not
 * forever in a constrained loop) and that must fail (a second SC after the pair: nonzero result,
 * memory untouched), every AMO in .w and .d form returning the old value (.w
 * sign-extended) and storing the right result without touching the neighbouring word, the aq/rl
 * variants, rd = x0 and rd = rs2. Misaligned LR/AMO are in rv64a_misaligned.S; the two-hart
 * behaviour is in smp.S.
 */
#include "isa.h"

// op on the word or dword at amo_area + off, initially init (a dword); checks rd and the dword.
#define TEST_AMO(op, off, init, src, rd_val, mem_val) \
        li gp, __LINE__; la t1, amo_area; li t0, init; sd t0, 0(t1); addi t1, t1, off; \
        li t0, src; op t2, t0, (t1); li t6, rd_val; bne t2, t6, 79f; \
        la t1, amo_area; ld t2, 0(t1); li t6, mem_val; beq t2, t6, 77f; 79: j fail; 77:

// lr then sc of register src to (t1), retried until the sc reports success (at most 1000 times);
// t2 = the value the successful lr read. Uses a0, a1.
#define LR_SC(lr, sc, src) \
        li gp, __LINE__; li a1, 1000; 74: lr t2, (t1); sc a0, src, (t1); beqz a0, 75f; \
        addi a1, a1, -1; bnez a1, 74b; j fail; 75:

        .text
        .globl test_main
test_main:
        // ---- AMO .w on the low word (the high word must not change) ----------------------------------
        TEST_AMO(amoswap.w, 0, 0x1111111180000000, 0x1234567800000001, 0xffffffff80000000, 0x1111111100000001)
        TEST_AMO(amoadd.w, 0, 0x1111111180000000, 0x80000000, 0xffffffff80000000, 0x1111111100000000)
        TEST_AMO(amoadd.w, 0, 0x11111111fffffffe, 0xffffffff00000003, 0xfffffffffffffffe, 0x1111111100000001)
        TEST_AMO(amoxor.w, 0, 0x1111111180000000, 0xffffffff, 0xffffffff80000000, 0x111111117fffffff)
        TEST_AMO(amoand.w, 0, 0x1111111180000000, 0xc0000001, 0xffffffff80000000, 0x1111111180000000)
        TEST_AMO(amoand.w, 0, 0x11111111ffff0000, 0x0ff00ff0, 0xffffffffffff0000, 0x111111110ff00000)
        TEST_AMO(amoor.w, 0, 0x1111111180000000, 0x0000000f, 0xffffffff80000000, 0x111111118000000f)
        TEST_AMO(amomin.w, 0, 0x1111111180000000, 1, 0xffffffff80000000, 0x1111111180000000)
        TEST_AMO(amomin.w, 0, 0x1111111100000005, 0x00000001fffffffe, 5, 0x11111111fffffffe)
        TEST_AMO(amomax.w, 0, 0x1111111180000000, 1, 0xffffffff80000000, 0x1111111100000001)
        TEST_AMO(amomax.w, 0, 0x11111111fffffffe, 0x00000001ffffffff, 0xfffffffffffffffe, 0x11111111ffffffff)
        TEST_AMO(amominu.w, 0, 0x1111111180000000, 1, 0xffffffff80000000, 0x1111111100000001)
        TEST_AMO(amominu.w, 0, 0x1111111100000005, 0xffffffff00000007, 5, 0x1111111100000005)
        TEST_AMO(amomaxu.w, 0, 0x1111111180000000, 1, 0xffffffff80000000, 0x1111111180000000)
        TEST_AMO(amomaxu.w, 0, 0x1111111180000000, 0xffffffff, 0xffffffff80000000, 0x11111111ffffffff)
        // ---- AMO .w on the high word ------------------------------------------------------------------
        TEST_AMO(amoadd.w, 4, 0x8000000011111111, 1, 0xffffffff80000000, 0x8000000111111111)
        TEST_AMO(amoswap.w, 4, 0x7fffffff11111111, 0xffffffff, 0x7fffffff, 0xffffffff11111111)
        TEST_AMO(amomin.w, 4, 0x0000000111111111, 0x80000000, 1, 0x8000000011111111)
        TEST_AMO(amomaxu.w, 4, 0x0000000111111111, 0x80000000, 1, 0x8000000011111111)
        // ---- AMO .d ------------------------------------------------------------------------------------
        TEST_AMO(amoswap.d, 0, 0x8000000000000000, 1, 0x8000000000000000, 1)
        TEST_AMO(amoadd.d, 0, 0x8000000000000000, 0x8000000000000000, 0x8000000000000000, 0)
        TEST_AMO(amoadd.d, 0, 0x00000000ffffffff, 1, 0xffffffff, 0x100000000)
        TEST_AMO(amoxor.d, 0, 0x8000000000000000, -1, 0x8000000000000000, 0x7fffffffffffffff)
        TEST_AMO(amoand.d, 0, 0x8000000000000000, 0xc000000000000001, 0x8000000000000000, 0x8000000000000000)
        TEST_AMO(amoor.d, 0, 0x8000000000000000, 0xf, 0x8000000000000000, 0x800000000000000f)
        TEST_AMO(amomin.d, 0, 0x8000000000000000, 1, 0x8000000000000000, 0x8000000000000000)
        TEST_AMO(amomin.d, 0, 5, -2, 5, -2)
        TEST_AMO(amomax.d, 0, 0x8000000000000000, 1, 0x8000000000000000, 1)
        TEST_AMO(amomax.d, 0, -5, -2, -5, -2)
        TEST_AMO(amominu.d, 0, 0x8000000000000000, 1, 0x8000000000000000, 1)
        TEST_AMO(amominu.d, 0, 5, -2, 5, 5)
        TEST_AMO(amomaxu.d, 0, 0x8000000000000000, 1, 0x8000000000000000, 0x8000000000000000)
        TEST_AMO(amomaxu.d, 0, 5, -2, 5, -2)
        // ---- aq / rl variants decode and behave the same ------------------------------------------------
        TEST_AMO(amoadd.w.aq, 0, 0x1111111100000001, 2, 1, 0x1111111100000003)
        TEST_AMO(amoadd.w.rl, 0, 0x1111111100000001, 2, 1, 0x1111111100000003)
        TEST_AMO(amoadd.w.aqrl, 0, 0x1111111100000001, 2, 1, 0x1111111100000003)
        TEST_AMO(amoswap.d.aq, 0, 3, 4, 3, 4)
        TEST_AMO(amoor.d.rl, 0, 3, 4, 3, 7)
        TEST_AMO(amomaxu.d.aqrl, 0, 3, 4, 3, 4)
        TEST_AMO(amoxor.w.aqrl, 0, 0x1111111100000003, 5, 3, 0x1111111100000006)
        TEST_AMO(amomin.w.aq, 0, 0x1111111100000003, -5, 3, 0x11111111fffffffb)

        // ---- rd = x0 still performs the operation; rd = rs2 returns the old value ---------------------
        CHECK_LINE
        la      t1, amo_area
        li      t0, 40
        sd      t0, 0(t1)
        li      t0, 2
        amoadd.d x0, t0, (t1)
        ld      t2, 0(t1)
        ASSERT_EQ(t2, 42)
        li      t0, 7
        amoswap.d t0, t0, (t1)
        ASSERT_EQ(t0, 42)
        ld      t2, 0(t1)
        ASSERT_EQ(t2, 7)
        li      t0, -1
        amoswap.w t0, t0, (t1)
        ASSERT_EQ(t0, 7)
        ld      t2, 0(t1)
        ASSERT_EQ(t2, 0xffffffff)

        // ---- LR/SC .w ----------------------------------------------------------------------------------
        // An SC may fail spuriously, so each pair that must succeed is a retry loop of the constrained
        // kind, which must succeed eventually; t2 is what the successful LR read.
        la      t1, amo_area
        li      t0, 0x1111111180000000
        sd      t0, 0(t1)
        li      t0, 0xaaaaaaaa00000042
        LR_SC(lr.w, sc.w, t0)
        ASSERT_EQ(t2, 0xffffffff80000000)
        ld      t2, 0(t1)
        ASSERT_EQ(t2, 0x1111111100000042)
        // The SC ended the reservation: another SC must fail and write nothing.
        li      t0, 7
        sc.w    a0, t0, (t1)
        ASSERT_NE(a0, 0)
        ld      t2, 0(t1)
        ASSERT_EQ(t2, 0x1111111100000042)
        // On the high word, with aq/rl.
        addi    t1, t1, 4
        li      t0, 0x80000001
        LR_SC(lr.w.aq, sc.w.rl, t0)
        ASSERT_EQ(t2, 0x11111111)
        addi    t1, t1, -4
        ld      t2, 0(t1)
        ASSERT_EQ(t2, 0x8000000100000042)
        li      t0, 0x33
        LR_SC(lr.w.aqrl, sc.w.aqrl, t0)
        ASSERT_EQ(t2, 0x42)
        sc.w.aqrl a0, zero, (t1)
        ASSERT_NE(a0, 0)
        ld      t2, 0(t1)
        ASSERT_EQ(t2, 0x8000000100000033)

        // ---- LR/SC .d ----------------------------------------------------------------------------------
        la      t1, amo_area
        li      t0, 0x8000000000000001
        sd      t0, 8(t1)
        addi    t1, t1, 8
        li      t0, 0x0123456789abcdef
        LR_SC(lr.d, sc.d, t0)
        ASSERT_EQ(t2, 0x8000000000000001)
        ld      t2, 0(t1)
        ASSERT_EQ(t2, 0x0123456789abcdef)
        sc.d    a0, zero, (t1)
        ASSERT_NE(a0, 0)
        ld      t2, 0(t1)
        ASSERT_EQ(t2, 0x0123456789abcdef)
        li      t0, -1
        LR_SC(lr.d.aq, sc.d.rl, t0)
        ASSERT_EQ(t2, 0x0123456789abcdef)
        ld      t2, 0(t1)
        ASSERT_EQ(t2, -1)
        // A compare-and-swap loop, as software writes it.
        CHECK_LINE
        li      a1, -1
        li      a2, 99
        li      a3, 1000
1:      addi    a3, a3, -1
        beqz    a3, fail
        lr.d.aqrl t2, (t1)
        bne     t2, a1, fail
        sc.d.aqrl a0, a2, (t1)
        bnez    a0, 1b
        ld      t2, 0(t1)
        ASSERT_EQ(t2, 99)
        j       pass

        .data
        .balign 16
amo_area:
        .dword  0, 0
