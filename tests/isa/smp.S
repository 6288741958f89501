# isa-test: harts=2
/*
 * smp: two harts (unprivileged ISA 20191213, chapters 8 and 14; privileged spec 1.12, 3.3.3).
 * Hart 1 says it is ready and waits in WFI with only its machine software interrupt enabled
 * (MIE = 0); hart 0 then sends it an IPI through its CLINT msip word (CLINT + 4). Both then increment one shared counter
 * with amoadd.w and another with an LR/SC loop, N times each, and hart 1 publishes a message
 * (data, fence, flag) before saying it is done; hart 0 checks both totals are 2N and that the
 * message arrived intact. Hart 1 also checks that its mhartid and its a0 at entry are 1.
 * Both harts must run: a test that waits forever here means the second hart never started or
 * never saw the IPI.
 */
#include "isa.h"

#define N 5000
// Waits for the other hart are unbounded: how long it takes to get going is up to the host (a
// hart that never comes makes the runner time out). PAUSE is the Zihintpause hint, a FENCE.
#define PAUSE .word 0x0100000f

        .text
        .globl test_main
test_main:
        // Wake hart 1 once it is about to wait (its start-up clears its msip word).
        CHECK_LINE
        la      t0, ready
3:      PAUSE
        lw      t1, 0(t0)
        beqz    t1, 3b
        li      t0, CLINT_BASE + CLINT_MSIP + 4
        li      t1, 1
        sw      t1, 0(t0)
        call    increment_both
        // Wait for hart 1 to finish.
        CHECK_LINE
        la      t0, done
1:      PAUSE
        lw      t1, 0(t0)
        beqz    t1, 1b
        fence   r, r
        la      t0, message
        ld      t1, 0(t0)
        ASSERT_EQ(t1, 0x0123456789abcdef)
        la      t0, counter_amo
        lw      t1, 0(t0)
        ASSERT_EQ(t1, 2 * N)
        la      t0, counter_lrsc
        ld      t1, 0(t0)
        ASSERT_EQ(t1, 2 * N)
        la      t0, woken
        lw      t1, 0(t0)
        ASSERT_EQ(t1, 1)
        j       pass

        .globl secondary_main
secondary_main:
        CHECK_LINE
        csrr    t0, mhartid
        ASSERT_EQ(t0, 1)
        la      t0, isa_boot_a0
        ld      t1, 8(t0)
        ASSERT_EQ(t1, 1)
        // Sleep until the IPI is pending (MIE = 0: it wakes WFI without being taken).
        li      t0, MIP_MSIP
        csrw    mie, t0
        la      t0, ready
        li      t1, 1
        sw      t1, 0(t0)
1:      wfi
        csrr    t0, mip
        andi    t0, t0, MIP_MSIP
        beqz    t0, 1b
        li      t0, CLINT_BASE + CLINT_MSIP + 4
        sw      zero, 0(t0)
        csrw    mie, zero
        la      t0, woken
        li      t1, 1
        amoadd.w zero, t1, (t0)
        call    increment_both
        // Publish the message, then say done.
        la      t0, message
        li      t1, 0x0123456789abcdef
        sd      t1, 0(t0)
        fence   w, w
        la      t0, done
        li      t1, 1
        sw      t1, 0(t0)
        ret

// N increments of each shared counter. Uses t0..t2, a0.
increment_both:
        la      t0, counter_amo
        li      t1, 1
        li      t2, N
1:      amoadd.w zero, t1, (t0)
        addi    t2, t2, -1
        bnez    t2, 1b
        la      t0, counter_lrsc
        li      t2, N
2:      lr.d    a0, (t0)
        addi    a0, a0, 1
        sc.d    a0, a0, (t0)
        bnez    a0, 2b
        addi    t2, t2, -1
        bnez    t2, 2b
        ret

        .data
        .balign 64
counter_amo:    .word  0
        .balign 64
counter_lrsc:   .dword 0
        .balign 64
message:        .dword 0
done:           .word  0
ready:          .word  0
woken:          .word  0
