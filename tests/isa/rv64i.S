/*
 * rv64i: every RV64I instruction in its 32-bit encoding (unprivileged ISA 20191213, chapters 2
 * and 5). Covers register and immediate ALU forms with their sign-extension rules, shifts by 0,
 * 31, 32 and 63 (and amounts whose high bits must be ignored), the W forms, x0 as a destination,
 * branches taken and not taken in both directions, JAL/JALR links and JALR clearing bit 0,
 * LUI/AUIPC, every load and store width with sign/zero extension and byte lanes, FENCE variants
 * and ECALL/EBREAK from M-mode.
 */
#include "isa.h"

// The branch op must go to its target (71) or must fall through (72 is the failure).
#define BR_TAKEN(op, a, b) \
        li gp, __LINE__; li t0, a; li t1, b; op t0, t1, 71f; j fail; 71:
#define BR_NOT_TAKEN(op, a, b) \
        li gp, __LINE__; li t0, a; li t1, b; op t0, t1, 72f; j 73f; 72: j fail; 73:
// Load of the given width at offset off from ldata.
#define TEST_LOAD(op, off, res) \
        li gp, __LINE__; la t1, ldata; op t2, off(t1); li t6, res; beq t2, t6, 77f; j fail; 77:

        .text
        .option norvc
        .globl test_main
test_main:
        // ---- Register-register ALU ----------------------------------------------------------------
        TEST_RR(add, 0, 0, 0)
        TEST_RR(add, 1, 1, 2)
        TEST_RR(add, -1, 1, 0)
        TEST_RR(add, 0x7fffffffffffffff, 1, 0x8000000000000000)
        TEST_RR(add, 0xffffffff, 1, 0x100000000)
        TEST_RR(add, 0x8000000000000000, 0x8000000000000000, 0)
        TEST_RR(sub, 0, 1, -1)
        TEST_RR(sub, 5, 3, 2)
        TEST_RR(sub, 0x8000000000000000, 1, 0x7fffffffffffffff)
        TEST_RR(sub, 0, 0x8000000000000000, 0x8000000000000000)
        TEST_RR(sub, 0x100000000, 1, 0xffffffff)
        TEST_RR(sll, 1, 0, 1)
        TEST_RR(sll, 1, 31, 0x80000000)
        TEST_RR(sll, 1, 32, 0x100000000)
        TEST_RR(sll, 1, 63, 0x8000000000000000)
        TEST_RR(sll, -1, 63, 0x8000000000000000)
        TEST_RR(sll, 0x0123456789abcdef, 64, 0x0123456789abcdef)
        TEST_RR(sll, 3, 65, 6)
        TEST_RR(sll, 0x0123456789abcdef, 0xffffffffffffffc4, 0x123456789abcdef0)
        TEST_RR(srl, 0x8000000000000000, 0, 0x8000000000000000)
        TEST_RR(srl, 0x8000000000000000, 31, 0x100000000)
        TEST_RR(srl, 0x8000000000000000, 32, 0x80000000)
        TEST_RR(srl, 0x8000000000000000, 63, 1)
        TEST_RR(srl, -1, 127, 1)
        TEST_RR(srl, 0x0123456789abcdef, 64, 0x0123456789abcdef)
        TEST_RR(sra, 0x8000000000000000, 0, 0x8000000000000000)
        TEST_RR(sra, 0x8000000000000000, 31, 0xffffffff00000000)
        TEST_RR(sra, 0x8000000000000000, 32, 0xffffffff80000000)
        TEST_RR(sra, 0x8000000000000000, 63, -1)
        TEST_RR(sra, 0x7fffffffffffffff, 63, 0)
        TEST_RR(sra, 0x7fffffffffffffff, 32, 0x7fffffff)
        TEST_RR(sra, -128, 68, -8)
        TEST_RR(slt, -1, 0, 1)
        TEST_RR(slt, 0, -1, 0)
        TEST_RR(slt, 1, 1, 0)
        TEST_RR(slt, 0x8000000000000000, 0x7fffffffffffffff, 1)
        TEST_RR(slt, 0x7fffffffffffffff, 0x8000000000000000, 0)
        TEST_RR(sltu, -1, 0, 0)
        TEST_RR(sltu, 0, -1, 1)
        TEST_RR(sltu, 1, 1, 0)
        TEST_RR(sltu, 0x7fffffffffffffff, 0x8000000000000000, 1)
        TEST_RR(xor, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xf0f0f0f0f0f0f0f0)
        TEST_RR(xor, -1, 0x5555555555555555, 0xaaaaaaaaaaaaaaaa)
        TEST_RR(or, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xfff0fff0fff0fff0)
        TEST_RR(or, 0, 0, 0)
        TEST_RR(and, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0x0f000f000f000f00)
        TEST_RR(and, -1, 0x8000000000000001, 0x8000000000000001)

        // Destination equal to a source.
        CHECK_LINE
        li      t0, 21
        add     t0, t0, t0
        ASSERT_EQ(t0, 42)
        li      t0, 3
        li      t1, 10
        sub     t1, t0, t1
        ASSERT_EQ(t1, -7)

        // ---- Register-immediate ALU (12-bit immediates are sign-extended) -----------------------------
        TEST_RI(addi, 0, 2047, 2047)
        TEST_RI(addi, 0, -2048, -2048)
        TEST_RI(addi, -1, 1, 0)
        TEST_RI(addi, 0x7fffffffffffffff, 1, 0x8000000000000000)
        TEST_RI(addi, 0xffffffff, 1, 0x100000000)
        TEST_RI(slti, -1, 0, 1)
        TEST_RI(slti, 0, -1, 0)
        TEST_RI(slti, 2046, 2047, 1)
        TEST_RI(slti, 0x8000000000000000, -2048, 1)
        TEST_RI(slti, 0x7fffffffffffffff, 2047, 0)
        TEST_RI(sltiu, 0, -1, 1)
        TEST_RI(sltiu, -2, -1, 1)
        TEST_RI(sltiu, -1, -1, 0)
        TEST_RI(sltiu, 0, 1, 1)
        TEST_RI(sltiu, 1, 1, 0)
        TEST_RI(sltiu, 0x7fffffffffffffff, -2048, 1)
        TEST_RI(xori, 0x00ff00ff, -1, 0xffffffffff00ff00)
        TEST_RI(xori, 0xf0, 0x0f, 0xff)
        TEST_RI(xori, 0x8000000000000000, -2048, 0x7ffffffffffff800)
        TEST_RI(ori, 0, -2048, 0xfffffffffffff800)
        TEST_RI(ori, 0xf00, 0x0f0, 0xff0)
        TEST_RI(andi, -1, -2048, 0xfffffffffffff800)
        TEST_RI(andi, 0x1234, 0xff, 0x34)
        TEST_RI(andi, 0x8000000000000fff, 2047, 0x7ff)
        TEST_RI(slli, 0xabc, 0, 0xabc)
        TEST_RI(slli, 1, 31, 0x80000000)
        TEST_RI(slli, 0xffffffff, 32, 0xffffffff00000000)
        TEST_RI(slli, 1, 63, 0x8000000000000000)
        TEST_RI(slli, 0x0123456789abcdef, 4, 0x123456789abcdef0)
        TEST_RI(srli, 0x8000000000000000, 0, 0x8000000000000000)
        TEST_RI(srli, -1, 31, 0x1ffffffff)
        TEST_RI(srli, -1, 32, 0xffffffff)
        TEST_RI(srli, 0x8000000000000000, 63, 1)
        TEST_RI(srai, 0x8000000000000000, 0, 0x8000000000000000)
        TEST_RI(srai, 0x80000000, 31, 1)
        TEST_RI(srai, 0x8000000000000000, 32, 0xffffffff80000000)
        TEST_RI(srai, 0x8000000000000000, 63, -1)
        TEST_RI(srai, 0x7fffffffffffffff, 62, 1)

        // ---- W forms: operate on the low 32 bits, sign-extend the 32-bit result --------------------
        TEST_RI(addiw, 0x7fffffff, 1, 0xffffffff80000000)
        TEST_RI(addiw, 0xffffffff, 1, 0)
        TEST_RI(addiw, 0x123456789, 0, 0x23456789)
        TEST_RI(addiw, 0x80000000, 0, 0xffffffff80000000)
        TEST_RI(addiw, 0, -1, -1)
        TEST_RI(addiw, 0xfffffffe00000000, -2048, -2048)
        TEST_RI(slliw, 1, 31, 0xffffffff80000000)
        TEST_RI(slliw, 0xffffffff00000001, 0, 1)
        TEST_RI(slliw, 0x12345678, 4, 0x23456780)
        TEST_RI(slliw, 0x7fffffff, 1, 0xfffffffffffffffe)
        TEST_RI(srliw, 0xffffffff80000000, 31, 1)
        TEST_RI(srliw, 0x80000000, 0, 0xffffffff80000000)
        TEST_RI(srliw, -1, 1, 0x7fffffff)
        TEST_RI(srliw, 0x100000000, 0, 0)
        TEST_RI(srliw, 0xabcdef0012345678, 16, 0x1234)
        TEST_RI(sraiw, 0x80000000, 31, -1)
        TEST_RI(sraiw, 0x7fffffff, 31, 0)
        TEST_RI(sraiw, 0x80000000, 4, 0xfffffffff8000000)
        TEST_RI(sraiw, 0xffffffff00000010, 4, 1)
        TEST_RI(sraiw, 0x00000000f0000000, 0, 0xfffffffff0000000)
        TEST_RR(addw, 0x7fffffff, 1, 0xffffffff80000000)
        TEST_RR(addw, 0xffffffff, 0xffffffff, -2)
        TEST_RR(addw, 0x100000000, 0x100000000, 0)
        TEST_RR(addw, 0x0000000012345678, 0xabcdef0000000000, 0x12345678)
        TEST_RR(subw, 0, 1, -1)
        TEST_RR(subw, 0x80000000, 1, 0x7fffffff)
        TEST_RR(subw, 0x100000005, 0x200000003, 2)
        TEST_RR(subw, 0, 0x80000000, 0xffffffff80000000)
        TEST_RR(sllw, 1, 31, 0xffffffff80000000)
        TEST_RR(sllw, 1, 32, 1)
        TEST_RR(sllw, 1, 63, 0xffffffff80000000)
        TEST_RR(sllw, 0xffffffff, 0, -1)
        TEST_RR(sllw, 0x0000000012345678, 8, 0x34567800)
        TEST_RR(srlw, 0x80000000, 31, 1)
        TEST_RR(srlw, 0x80000000, 32, 0xffffffff80000000)
        TEST_RR(srlw, 0xffffffff, 4, 0x0fffffff)
        TEST_RR(srlw, 0x8000000000000000, 0, 0)
        TEST_RR(srlw, 0xffffffff00000080, 63, 0)
        TEST_RR(sraw, 0x80000000, 31, -1)
        TEST_RR(sraw, 0x80000000, 32, 0xffffffff80000000)
        TEST_RR(sraw, 0x40000000, 30, 1)
        TEST_RR(sraw, 0x7fffffff80000000, 63, -1)
        TEST_RR(sraw, 0xffffffff7fffffff, 31, 0)

        // ---- LUI / AUIPC -----------------------------------------------------------------------------
        CHECK_LINE
        lui     t0, 0x80000
        ASSERT_EQ(t0, 0xffffffff80000000)
        lui     t0, 0x7ffff
        ASSERT_EQ(t0, 0x7ffff000)
        lui     t0, 0xfffff
        ASSERT_EQ(t0, 0xfffffffffffff000)
        lui     t0, 0
        ASSERT_EQ(t0, 0)
        lui     t0, 0x12345
        addi    t0, t0, 0x678
        ASSERT_EQ(t0, 0x12345678)
80:     auipc   t0, 0
        ASSERT_ADDR(t0, 80b)
81:     auipc   t0, 1
        la      t1, 81b
        li      t2, 0x1000
        add     t1, t1, t2
        ASSERT_EQ_REG(t0, t1)
82:     auipc   t0, 0x80000
        la      t1, 82b
        li      t2, -0x80000000
        add     t1, t1, t2
        ASSERT_EQ_REG(t0, t1)
83:     auipc   t0, 0xfffff
        la      t1, 83b
        li      t2, -0x1000
        add     t1, t1, t2
        ASSERT_EQ_REG(t0, t1)

        // ---- x0 ignores writes -------------------------------------------------------------------------
        CHECK_LINE
        li      t0, 7
        add     x0, t0, t0
        addi    x0, t0, 1
        lui     x0, 0x12345
        auipc   x0, 1
        la      t1, ldata
        ld      x0, 0(t1)
        lw      x0, 0(t1)
        lbu     x0, 0(t1)
        jal     x0, 84f
84:     mv      t2, x0
        ASSERT_EQ(t2, 0)
        add     t2, x0, t0
        ASSERT_EQ(t2, 7)
        ASSERT_EQ(x0, 0)

        // ---- Branches ----------------------------------------------------------------------------------
        BR_TAKEN(beq, 0, 0)
        BR_TAKEN(beq, -1, -1)
        BR_NOT_TAKEN(beq, 0, 1)
        BR_NOT_TAKEN(beq, 0x100000000, 0)
        BR_TAKEN(bne, 0, 1)
        BR_TAKEN(bne, 0x100000000, 0)
        BR_NOT_TAKEN(bne, 5, 5)
        BR_TAKEN(blt, -1, 0)
        BR_TAKEN(blt, 0x8000000000000000, 0x7fffffffffffffff)
        BR_NOT_TAKEN(blt, 0, -1)
        BR_NOT_TAKEN(blt, 3, 3)
        BR_TAKEN(bge, 0, -1)
        BR_TAKEN(bge, 3, 3)
        BR_NOT_TAKEN(bge, -1, 0)
        BR_NOT_TAKEN(bge, 0x8000000000000000, 0x7fffffffffffffff)
        BR_TAKEN(bltu, 0, -1)
        BR_TAKEN(bltu, 0x7fffffffffffffff, 0x8000000000000000)
        BR_NOT_TAKEN(bltu, -1, 0)
        BR_NOT_TAKEN(bltu, 3, 3)
        BR_TAKEN(bgeu, -1, 0)
        BR_TAKEN(bgeu, 3, 3)
        BR_NOT_TAKEN(bgeu, 0, -1)
        BR_NOT_TAKEN(bgeu, 0x7fffffffffffffff, 0x8000000000000000)

        // Backward branches: each loop must run exactly 3 times.
        CHECK_LINE
        li      t0, 3
        li      t2, 0
85:     addi    t2, t2, 1
        addi    t0, t0, -1
        bne     t0, zero, 85b
        ASSERT_EQ(t2, 3)
        li      t0, -3
        li      t2, 0
86:     addi    t2, t2, 1
        addi    t0, t0, 1
        blt     t0, zero, 86b
        ASSERT_EQ(t2, 3)
        li      t0, 0
        li      t1, 3
        li      t2, 0
87:     addi    t2, t2, 1
        addi    t0, t0, 1
        bltu    t0, t1, 87b
        ASSERT_EQ(t2, 3)
        li      t0, 3
        li      t2, 0
88:     addi    t2, t2, 1
        addi    t0, t0, -1
        bge     t0, t2, 88b
        ASSERT_EQ(t2, 2)
        li      t0, 2
        li      t2, 0
89:     addi    t2, t2, 1
        addi    t0, t0, -1
        bgeu    t0, t2, 89b
        ASSERT_EQ(t2, 2)
        li      t0, 0
        li      t2, 0
90:     addi    t2, t2, 1
        beq     t2, t0, 90b
        ASSERT_EQ(t2, 1)

        // ---- JAL / JALR -------------------------------------------------------------------------------
        CHECK_LINE
        jal     t0, 92f
91:     j       fail
92:     ASSERT_ADDR(t0, 91b)
        j       94f
93:     ASSERT_ADDR(ra, 95f)
        j       96f
94:     jal     ra, 93b
95:     j       fail
96:
        // JALR: link, offset, and bit 0 of the target cleared.
        CHECK_LINE
        la      t1, 98f
        jalr    t0, 0(t1)
97:     j       fail
98:     ASSERT_ADDR(t0, 97b)
        la      t1, 100f
        ori     t1, t1, 1
        jalr    t0, 0(t1)
99:     j       fail
100:    ASSERT_ADDR(t0, 99b)
        la      t1, 102f
        addi    t1, t1, -1
        jalr    t0, 2(t1)
101:    j       fail
102:    ASSERT_ADDR(t0, 101b)
        la      t1, 104f
        addi    t1, t1, 16
        jalr    t0, -16(t1)
103:    j       fail
104:    ASSERT_ADDR(t0, 103b)
        // rd == rs1: the target uses the old value.
        la      t0, 106f
        jalr    t0, 0(t0)
105:    j       fail
106:    ASSERT_ADDR(t0, 105b)
        // rd = x0 (plain jump) must not write anything.
        la      t1, 107f
        jalr    x0, 0(t1)
        j       fail
107:    ASSERT_EQ(x0, 0)

        // ---- Loads -----------------------------------------------------------------------------------
        TEST_LOAD(lb, 0, 0xffffffffffffff87)
        TEST_LOAD(lb, 7, 0xfffffffffffffff0)
        TEST_LOAD(lb, 9, 0xffffffffffffffcd)
        TEST_LOAD(lb, 15, 0x01)
        TEST_LOAD(lbu, 0, 0x87)
        TEST_LOAD(lbu, 7, 0xf0)
        TEST_LOAD(lbu, 15, 0x01)
        TEST_LOAD(lh, 0, 0xffffffffffff9687)
        TEST_LOAD(lh, 6, 0xfffffffffffff0e1)
        TEST_LOAD(lh, 14, 0x0123)
        TEST_LOAD(lhu, 0, 0x9687)
        TEST_LOAD(lhu, 6, 0xf0e1)
        TEST_LOAD(lhu, 14, 0x0123)
        TEST_LOAD(lw, 0, 0xffffffffb4a59687)
        TEST_LOAD(lw, 4, 0xfffffffff0e1d2c3)
        TEST_LOAD(lw, 12, 0x01234567)
        TEST_LOAD(lwu, 0, 0xb4a59687)
        TEST_LOAD(lwu, 4, 0xf0e1d2c3)
        TEST_LOAD(lwu, 12, 0x01234567)
        TEST_LOAD(ld, 0, 0xf0e1d2c3b4a59687)
        TEST_LOAD(ld, 8, 0x0123456789abcdef)
        // Negative offsets, and the destination equal to the base.
        CHECK_LINE
        la      t1, ldata + 16
        ld      t2, -16(t1)
        ASSERT_EQ(t2, 0xf0e1d2c3b4a59687)
        lbu     t2, -1(t1)
        ASSERT_EQ(t2, 0x01)
        ld      t1, -8(t1)
        ASSERT_EQ(t1, 0x0123456789abcdef)

        // ---- Stores: byte lanes, only the low bits of rs2 are stored ------------------------------------
        CHECK_LINE
        la      t1, sdata
        li      t0, -1
        sd      t0, 0(t1)
        sd      zero, 8(t1)
        sb      zero, 3(t1)
        ld      t2, 0(t1)
        ASSERT_EQ(t2, 0xffffffff00ffffff)
        li      t0, 0x123456789abcdeaa
        sb      t0, 8(t1)
        ld      t2, 8(t1)
        ASSERT_EQ(t2, 0xaa)
        li      t0, 0x12345678abcd
        sh      t0, 10(t1)
        ld      t2, 8(t1)
        ASSERT_EQ(t2, 0xabcd00aa)
        li      t0, 0x1122334455667788
        sw      t0, 12(t1)
        ld      t2, 8(t1)
        ASSERT_EQ(t2, 0x55667788abcd00aa)
        li      t0, 0x8877665544332211
        sd      t0, 0(t1)
        ld      t2, 0(t1)
        ASSERT_EQ(t2, 0x8877665544332211)
        lbu     t2, 7(t1)
        ASSERT_EQ(t2, 0x88)
        addi    t1, t1, 16
        li      t0, 0x5a
        sb      t0, -1(t1)
        sh      t0, -4(t1)
        sw      zero, -16(t1)
        addi    t1, t1, -16
        ld      t2, 8(t1)
        ASSERT_EQ(t2, 0x5a66005aabcd00aa)
        ld      t2, 0(t1)
        ASSERT_EQ(t2, 0x8877665500000000)

        // ---- FENCE forms (all must simply execute) -------------------------------------------------------
        CHECK_LINE
        fence
        fence   rw, rw
        fence   r, w
        fence   iorw, iorw
        fence.tso
        .word   0x0100000f              // pause (FENCE hint, pred=W succ=0)
        fence.i

        // ---- ECALL / EBREAK from M-mode ------------------------------------------------------------------
        TRAP(ecall)
        ASSERT_TRAP(CAUSE_MACHINE_ECALL)
        TRAP(ebreak)
        ASSERT_TRAP(CAUSE_BREAKPOINT)
        j       pass

        .data
        .balign 8
ldata:  .dword  0xf0e1d2c3b4a59687, 0x0123456789abcdef
sdata:  .dword  0, 0
