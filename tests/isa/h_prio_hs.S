# isa-test: qemu-fail=36
/*
 * h_prio_hs: "Multiple simultaneous interrupts destined for HS-mode are handled in the following
 * decreasing priority order: SEI, SSI, STI, SGEI, VSEI, VSSI, VSTI" (privileged spec 1.12,
 * 8.2.4). With VSEIP, VSSIP and VSTIP all pending through hvip, none delegated by hideleg, and
 * each dropped once taken, HS-mode takes them from VS-mode as 10, then 2, then 6 (one check, run
 * three times).
 *
 * QEMU 7.2 takes the lowest-numbered pending interrupt first: under QEMU this test stops at that
 * check (line 36); the manifest records that.
 */
#define ISA_HYP 1
#include "isa.h"

// After an expected interrupt: the cause is t0 and the handler of mode (ISA_TAKEN_*) took it.
#define ASSERT_CAUSE_FROM(mode) \
        bne s9, t0, fail; la t4, isa_trap_ext; ld t4, ISA_EXT_TAKER(t4); addi t4, t4, -(mode); bnez t4, fail

#define VS_IRQS (MIP_VSSIP | MIP_VSTIP | MIP_VSEIP)

        .text
        .globl test_main
test_main:
        li      t0, VS_IRQS
        csrw    hie, t0
        csrw    hvip, t0
        la      s0, hs_order
1:      la      tp, 2f + 1
        M_ENTER_VS(vs_code)
vs_code:
        li      tp, 0
        j       fail
2:      lwu     t0, 0(s0)
        li      t1, CAUSE_INTERRUPT
        or      t0, t0, t1
        CHECK_LINE; ASSERT_CAUSE_FROM(ISA_TAKEN_HS)
        ECALL_TO(m_back)
m_back:
        lwu     t0, 0(s0)
        li      t1, 1
        sll     t0, t1, t0
        csrc    hvip, t0
        addi    s0, s0, 4
        csrr    t0, hvip
        bnez    t0, 1b
        csrw    hie, zero
        j       pass

        .section .rodata
        .balign 4
// The cause HS-mode must see next (its hvip bit is 1 << cause).
hs_order:
        .word   IRQ_VS_EXT, IRQ_VS_SOFT, IRQ_VS_TIMER
