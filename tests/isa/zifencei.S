/*
 * zifencei: stores to instruction memory become visible to this hart's fetches after FENCE.I
 * (unprivileged ISA 20191213, chapter 3). Each site is executed first in its original form, so an
 * implementation that caches decoded or translated code has seen it, then rewritten with an
 * ordinary store, fenced, and executed again: the new instruction must run. Covers a 32-bit
 * instruction rewritten in place just ahead of the store, a compressed instruction, and a small
 * function built in a data buffer and called, rebuilt and called again (what a JIT does).
 */
#include "isa.h"

        .text
// Templates: assembled here, copied as data, never run in place.
        .option push
        .option norvc
new_addi:
        addi    a1, zero, 42
        .option pop
new_cli:
        c.li    a2, -7
        .balign 4
func7:  li      a0, 7
        addi    a0, a0, 0
        ret
func_end:
        .equ    func_len, func_end - func7
func9:  li      a0, 9
        addi    a0, a0, 0
        ret


        .globl test_main
test_main:
        // ---- The next instruction, rewritten in place ----------------------------------------------
        CHECK_LINE
        li      s0, 0                           // pass number
        la      a0, site1
        la      t0, new_addi
        lwu     s1, 0(t0)
1:      li      a1, 0
        beqz    s0, site1
        sw      s1, 0(a0)                       // rewrites the instruction right after the fence
        fence.i
        .option push
        .option norvc
site1:  addi    a1, zero, 1
        .option pop
        addi    s0, s0, 1
        li      t0, 1
        bne     s0, t0, 2f
        ASSERT_EQ(a1, 1)
        j       1b
2:      ASSERT_EQ(a1, 42)

        // ---- A compressed instruction -----------------------------------------------------------------
        CHECK_LINE
        li      s0, 0
        la      a0, site2
        la      t0, new_cli
        lhu     s1, 0(t0)
3:      beqz    s0, site2
        sh      s1, 0(a0)
        fence.i
site2:  c.li    a2, 3
        addi    s0, s0, 1
        li      t0, 1
        bne     s0, t0, 4f
        ASSERT_EQ(a2, 3)
        j       3b
4:      ASSERT_EQ(a2, -7)

        // ---- Code built in a data buffer ----------------------------------------------------------------
        CHECK_LINE
        la      a0, code_buf
        la      a1, func7
        li      a2, func_len
        call    copy_bytes
        fence.i
        la      a0, code_buf
        jalr    a0
        ASSERT_EQ(a0, 7)
        la      a0, code_buf
        la      a1, func9
        li      a2, func_len
        call    copy_bytes
        fence.i
        la      a0, code_buf
        jalr    a0
        ASSERT_EQ(a0, 9)
        j       pass

// Copies a2 bytes from a1 to a0.
copy_bytes:
        beqz    a2, 2f
1:      lbu     t0, 0(a1)
        sb      t0, 0(a0)
        addi    a0, a0, 1
        addi    a1, a1, 1
        addi    a2, a2, -1
        bnez    a2, 1b
2:      ret

        .data
        .balign 8
code_buf:
        .fill   8, 8, 0
