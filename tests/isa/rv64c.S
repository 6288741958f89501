/*
 * rv64c: every RV64C instruction (unprivileged ISA 20191213, chapter 16), each run next to the
 * 32-bit instruction it expands to from the same inputs and checked against both that expansion
 * and an independently computed value. Includes c.addi16sp/c.addi4spn, c.lui with negative
 * immediates, c.srli/c.srai/c.slli with shift amounts of 32 and more (legal on RV64), c.addiw's
 * sign extension, every load/store and SP-relative form (integer and double), c.j, c.beqz/c.bnez
 * both ways, c.jr, c.jalr's link of pc + 2, c.ebreak and the all-zero parcel, which is defined to
 * be illegal.
 */
#include "isa.h"

#define UNPAREN(...) __VA_ARGS__
// setup; compressed form -> t0; setup again; expansion (assembled uncompressed) -> rd; both must
// be equal and equal to res.
#define C_VS(rd, res, setup, cinsn, einsn) \
        li gp, __LINE__; UNPAREN setup; UNPAREN cinsn; mv t0, rd; UNPAREN setup; \
        .option push; .option norvc; UNPAREN einsn; .option pop; \
        bne t0, rd, 79f; li t6, res; beq t0, t6, 77f; 79: j fail; 77:

        .text
        .globl test_main
test_main:
        // ---- Quadrant 1: immediates and register arithmetic ------------------------------------------
        C_VS(a0, 0, (li a0, 0), (c.nop), (addi x0, x0, 0))
        C_VS(a0, 36, (li a0, 5), (c.addi a0, 31), (addi a0, a0, 31))
        C_VS(a0, -27, (li a0, 5), (c.addi a0, -32), (addi a0, a0, -32))
        C_VS(s1, 0x8000000000000000, (li s1, 0x7fffffffffffffff), (c.addi s1, 1), (addi s1, s1, 1))
        C_VS(a0, 0xffffffff80000000, (li a0, 0x7fffffff), (c.addiw a0, 1), (addiw a0, a0, 1))
        C_VS(a0, -1, (li a0, 0xffffffff), (c.addiw a0, 0), (addiw a0, a0, 0))
        C_VS(a0, -1, (li a0, 0x100000000), (c.addiw a0, -1), (addiw a0, a0, -1))
        C_VS(a0, 0x7fffffe0, (li a0, 0x123456780000000), (c.addiw a0, -32), (addiw a0, a0, -32))
        C_VS(a0, -32, (li a0, 99), (c.li a0, -32), (addi a0, x0, -32))
        C_VS(a0, 31, (li a0, 99), (c.li a0, 31), (addi a0, x0, 31))
        C_VS(a0, 0x1000, (li a0, 99), (c.lui a0, 1), (lui a0, 1))
        C_VS(a0, 0x1f000, (li a0, 99), (c.lui a0, 31), (lui a0, 31))
        C_VS(a0, 0xfffffffffffff000, (li a0, 99), (c.lui a0, 0xfffff), (lui a0, 0xfffff))
        C_VS(a0, 0xfffffffffffe0000, (li a0, 99), (c.lui a0, 0xfffe0), (lui a0, 0xfffe0))
        C_VS(s0, 1, (li s0, 0x8000000000000000), (c.srli s0, 63), (srli s0, s0, 63))
        C_VS(s0, 0xffffffff, (li s0, -1), (c.srli s0, 32), (srli s0, s0, 32))
        C_VS(s0, 0x7fffffffffffffff, (li s0, -1), (c.srli s0, 1), (srli s0, s0, 1))
        C_VS(s0, 1, (li s0, 0xf0000000), (c.srli s0, 31), (srli s0, s0, 31))
        C_VS(s0, -1, (li s0, 0x8000000000000000), (c.srai s0, 63), (srai s0, s0, 63))
        C_VS(s0, 0xffffffff80000000, (li s0, 0x8000000000000000), (c.srai s0, 32), (srai s0, s0, 32))
        C_VS(s0, 1, (li s0, 0x80000000), (c.srai s0, 31), (srai s0, s0, 31))
        C_VS(a5, -8, (li a5, -64), (c.srai a5, 3), (srai a5, a5, 3))
        C_VS(s0, 0xe0, (li s0, 0xff), (c.andi s0, -32), (andi s0, s0, -32))
        C_VS(s0, 0x1f, (li s0, 0xff), (c.andi s0, 31), (andi s0, s0, 31))
        C_VS(a3, 0xffffffffffffffe0, (li a3, -1), (c.andi a3, -32), (andi a3, a3, -32))
        C_VS(s0, -2, (li s0, 5; li s1, 7), (c.sub s0, s1), (sub s0, s0, s1))
        C_VS(s0, 0xf0f0, (li s0, 0xff00; li s1, 0x0ff0), (c.xor s0, s1), (xor s0, s0, s1))
        C_VS(s0, 0xfff0, (li s0, 0xff00; li s1, 0x0ff0), (c.or s0, s1), (or s0, s0, s1))
        C_VS(s0, 0x0f00, (li s0, 0xff00; li s1, 0x0ff0), (c.and s0, s1), (and s0, s0, s1))
        C_VS(a4, 0x7fffffff, (li a4, 0x80000000; li a5, 1), (c.subw a4, a5), (subw a4, a4, a5))
        C_VS(a4, 0xffffffff80000000, (li a4, 0; li a5, 0x80000000), (c.subw a4, a5), (subw a4, a4, a5))
        C_VS(a2, 0xffffffff80000000, (li a2, 0x7fffffff; li a1, 1), (c.addw a2, a1), (addw a2, a2, a1))
        C_VS(a2, 0, (li a2, 0x1ffffffff; li a1, 1), (c.addw a2, a1), (addw a2, a2, a1))

        // ---- Quadrant 2: register forms ----------------------------------------------------------------
        C_VS(a0, 0x8000000000000000, (li a0, 1), (c.slli a0, 63), (slli a0, a0, 63))
        C_VS(a0, 0xffffffff00000000, (li a0, 0xffffffff), (c.slli a0, 32), (slli a0, a0, 32))
        C_VS(t3, 6, (li t3, 3), (c.slli t3, 1), (slli t3, t3, 1))
        C_VS(a0, 0x123456789abcdef0, (li a0, 0; li a1, 0x123456789abcdef0), (c.mv a0, a1), (add a0, x0, a1))
        C_VS(s2, -2, (li s2, 5; li s3, -7), (c.add s2, s3), (add s2, s2, s3))

        // ---- SP-relative immediates --------------------------------------------------------------------
        CHECK_LINE
        mv      s4, sp
        c.addi16sp sp, -512
        sub     t0, sp, s4
        ASSERT_EQ(t0, -512)
        c.addi16sp sp, 496
        sub     t0, sp, s4
        ASSERT_EQ(t0, -16)
        c.addi16sp sp, 16
        ASSERT_EQ_REG(sp, s4)
        .option push
        .option norvc
        addi    sp, sp, -512
        .option pop
        sub     t0, sp, s4
        ASSERT_EQ(t0, -512)
        mv      sp, s4
        c.addi4spn s0, sp, 1020
        sub     t0, s0, sp
        ASSERT_EQ(t0, 1020)
        c.addi4spn a5, sp, 4
        sub     t0, a5, sp
        ASSERT_EQ(t0, 4)

        // ---- Loads and stores, register-based ---------------------------------------------------------
        CHECK_LINE
        la      a0, cdata
        c.lw    s0, 124(a0)
        ASSERT_EQ(s0, 0xffffffff80000001)
        c.lw    s1, 0(a0)
        ASSERT_EQ(s1, 0x76543210)
        c.ld    s0, 248(a0)
        ASSERT_EQ(s0, 0x8877665544332211)
        c.ld    a5, 8(a0)
        ASSERT_EQ(a5, 0xfedcba9876543210)
        c.fld   fa0, 248(a0)
        fmv.x.d t0, fa0
        ASSERT_EQ(t0, 0x8877665544332211)
        c.fld   fs1, 8(a0)
        fmv.x.d t0, fs1
        ASSERT_EQ(t0, 0xfedcba9876543210)
        la      a1, cscratch
        li      s1, 0x1122334455667788
        c.sw    s1, 4(a1)
        c.sd    s1, 248(a1)
        ld      t0, 0(a1)
        ASSERT_EQ(t0, 0x5566778800000000)
        ld      t0, 248(a1)
        ASSERT_EQ(t0, 0x1122334455667788)
        c.fsd   fa0, 16(a1)
        ld      t0, 16(a1)
        ASSERT_EQ(t0, 0x8877665544332211)
        c.sw    s1, 124(a1)
        lwu     t0, 124(a1)
        ASSERT_EQ(t0, 0x55667788)

        // ---- Loads and stores, SP-based ---------------------------------------------------------------
        CHECK_LINE
        mv      s4, sp
        la      sp, cdata
        c.lwsp  a2, 124(sp)
        c.lwsp  a3, 252(sp)
        c.ldsp  a4, 504(sp)
        c.ldsp  t4, 8(sp)
        c.fldsp ft4, 504(sp)
        la      sp, cscratch
        c.swsp  a4, 252(sp)
        c.sdsp  a4, 504(sp)
        c.fsdsp ft4, 32(sp)
        c.sdsp  t4, 40(sp)
        mv      sp, s4
        ASSERT_EQ(a2, 0xffffffff80000001)
        ASSERT_EQ(a3, 0xffffffff88776655)
        ASSERT_EQ(a4, 0xa5a5a5a5c3c3c3c3)
        ASSERT_EQ(t4, 0xfedcba9876543210)
        fmv.x.d t0, ft4
        ASSERT_EQ(t0, 0xa5a5a5a5c3c3c3c3)
        la      a1, cscratch
        lwu     t0, 252(a1)
        ASSERT_EQ(t0, 0xc3c3c3c3)
        ld      t0, 504(a1)
        ASSERT_EQ(t0, 0xa5a5a5a5c3c3c3c3)
        ld      t0, 32(a1)
        ASSERT_EQ(t0, 0xa5a5a5a5c3c3c3c3)
        ld      t0, 40(a1)
        ASSERT_EQ(t0, 0xfedcba9876543210)

        // ---- Control transfer --------------------------------------------------------------------------
        CHECK_LINE
        c.j     1f
        j       fail
2:      c.j     3f
        j       fail
1:      c.j     2b
        j       fail
3:      li      s0, 0
        c.beqz  s0, 4f
        j       fail
4:      li      s0, 0x100000000
        c.beqz  s0, fail_near
        c.bnez  s0, 5f
        j       fail
5:      li      s0, 0
        c.bnez  s0, fail_near
        // Backward c.bnez: a loop that must run 3 times.
        li      s1, 3
        li      t1, 0
6:      addi    t1, t1, 1
        c.addi  s1, -1
        c.bnez  s1, 6b
        ASSERT_EQ(t1, 3)
        // c.jr and c.jalr (link = address of the c.jalr + 2).
        la      a0, 7f
        c.jr    a0
        j       fail
7:      la      a0, 9f
        li      ra, 0
8:      c.jalr  a0
        j       fail
9:      la      t0, 8b
        addi    t0, t0, 2
        ASSERT_EQ_REG(ra, t0)
        // c.jalr with rs1 = ra: the target is the old ra.
        la      ra, 11f
10:     c.jalr  ra
        j       fail
11:     la      t0, 10b
        addi    t0, t0, 2
        ASSERT_EQ_REG(ra, t0)
        // Execution continues at pc + 2 after a compressed instruction at any 2-byte boundary.
        la      a0, 12f
        addi    a0, a0, 2
        c.jr    a0
        .balign 4
12:     c.nop
        c.li    a0, 7
        c.addi  a0, 1
        ASSERT_EQ(a0, 8)

        // ---- c.ebreak and the illegal all-zero parcel -------------------------------------------------
        TRAP(c.ebreak)
        ASSERT_TRAP(CAUSE_BREAKPOINT)
        TRAP(.hword 0)
        ASSERT_TRAP(CAUSE_ILLEGAL_INSTRUCTION)
        j       pass

// Branch targets for c.beqz/c.bnez, which reach only +-256 bytes.
fail_near:
        j       fail

        .data
        .balign 8
cdata:  .dword  0x0000000076543210, 0xfedcba9876543210
        .fill   13, 8, 0
        .word   0, 0x80000001
        .fill   15, 8, 0
        .dword  0x8877665544332211
        .fill   31, 8, 0
        .dword  0xa5a5a5a5c3c3c3c3
        .balign 8
cscratch:
        .fill   64, 8, 0
