/*
 * h_interrupts: the VS-level interrupts raised through hvip (privileged spec 1.12, 8.2.3
 * "hideleg", 8.2.4 "hvip, hip, hie", 8.2.13 "vsip and vsie", 8.6.2 "Trap Entry").
 *   - Delegated by hideleg, VSSIP, VSTIP and VSEIP are taken in VS-mode as supervisor software,
 *     timer and external interrupts: vscause = interrupt | 1, 5, 9, vsepc = the next instruction,
 *     vsstatus SPP/SPIE/SIE; only once vsstatus.SIE is set in VS-mode, always in VU-mode, never in
 *     HS-mode (whatever sstatus.SIE says) nor while vsie disables them.
 *   - Not delegated, they are taken in HS-mode with scause = interrupt | 2, 6, 10: from VS or VU
 *     whatever sstatus.SIE says (hstatus.SPV = 1, sepc = where the guest was), from HS only with
 *     sstatus.SIE, and never while hie disables them.
 * Every interrupt here is an expected one (tp set before it can be taken): the handler that takes
 * it clears xPIE, so it cannot come back before M clears hvip.
 */
#define ISA_HYP 1
#include "isa.h"

#define VS_IRQS (MIP_VSSIP | MIP_VSTIP | MIP_VSEIP)
#define S_IRQS  (MIP_SSIP | MIP_STIP | MIP_SEIP)
#define SPIN    200
// Runs SPIN iterations in which an interrupt could be taken (with tp = 0, one would fail).
#define IDLE li t0, SPIN; 71: addi t0, t0, -1; bnez t0, 71b

        .text
        .globl test_main
test_main:
        // ---- Delegated: taken in VS as 1, 5, 9 once vsstatus.SIE is set -------------------------
        CHECK_LINE
        li      t0, VS_IRQS
        csrw    hideleg, t0
        li      t0, S_IRQS
        csrw    vsie, t0
        csrr    t1, hie
        ASSERT_MASKED(t1, VS_IRQS, VS_IRQS)
        la      s0, irq_table
        li      s1, 3
1:      lwu     t0, 0(s0)                       // the hvip bit
        csrw    hvip, t0
        M_ENTER_VS(vs_code1)
vs_code1:
        IDLE                                    // vsstatus.SIE = 0: nothing yet
        la      tp, 2f
        csrsi   sstatus, MSTATUS_SIE
vs_taken1:
        li      tp, 0
        j       fail
2:      ASSERT_TAKEN(ISA_TAKEN_VS)
        lwu     t0, 4(s0)                       // the cause VS sees
        li      t1, CAUSE_INTERRUPT
        or      t0, t0, t1
        ASSERT_EQ_REG(s9, t0)
        ASSERT_ADDR(s10, vs_taken1)
        ASSERT_MASKED(s8, MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE, MSTATUS_SPP | MSTATUS_SPIE)
        csrr    t1, scause                      // vscause
        ASSERT_EQ_REG(t1, t0)
        ECALL_TO(m_back1)
m_back1:
        csrw    hvip, zero
        addi    s0, s0, 12
        addi    s1, s1, -1
        bnez    s1, 1b

        // ---- Delegated, in VU: taken whatever vsstatus.SIE says ---------------------------------
        CHECK_LINE
        li      t0, MSTATUS_SIE
        csrc    vsstatus, t0
        li      t0, MIP_VSTIP
        csrw    hvip, t0
        la      tp, vs_back2 + 1
        M_ENTER_VU(vu_code1)
vu_code1:
        li      tp, 0
        j       fail
vs_back2:
        ASSERT_TAKEN(ISA_TAKEN_VS)
        ASSERT_EQ(s9, CAUSE_INTERRUPT | IRQ_S_TIMER)
        ASSERT_ADDR(s10, vu_code1)
        ASSERT_MASKED(s8, MSTATUS_SPP | MSTATUS_SIE, 0)
        ECALL_TO(m_back2)
m_back2:
        csrw    hvip, zero

        // ---- Delegated: never in HS, nor while vsie disables them -------------------------------
        CHECK_LINE
        li      t0, VS_IRQS
        csrw    hvip, t0
        M_ENTER_S(hs_code1)
hs_code1:
        csrsi   sstatus, MSTATUS_SIE
        IDLE
        csrci   sstatus, MSTATUS_SIE
        ECALL_TO(m_back3)
m_back3:
        csrw    vsie, zero
        li      t0, MSTATUS_SIE
        csrs    vsstatus, t0
        M_ENTER_VS(vs_code2)
vs_code2:
        IDLE
        csrci   sstatus, MSTATUS_SIE
        ECALL_TO(m_back4)
m_back4:
        csrw    hvip, zero

        // ---- Not delegated: taken in HS as 2, 6, 10, from VS whatever sstatus.SIE says ----------
        CHECK_LINE
        csrw    hideleg, zero
        li      t0, MIP_VSSIP
        csrw    hie, t0
        csrw    hvip, t0
        li      t0, MSTATUS_SIE
        csrc    mstatus, t0
        la      tp, hs_back1 + 1
        M_ENTER_VS(vs_code3)
vs_code3:
        li      tp, 0
        j       fail
hs_back1:
        ASSERT_TAKEN(ISA_TAKEN_HS)
        ASSERT_EQ(s9, CAUSE_INTERRUPT | IRQ_VS_SOFT)
        ASSERT_ADDR(s10, vs_code3)
        ASSERT_MASKED(s8, MSTATUS_SPP, MSTATUS_SPP)
        LOAD_TRAP_EXT(t0, ISA_EXT_HSTATUS)
        ASSERT_MASKED(t0, HSTATUS_SPV, HSTATUS_SPV)
        ECALL_TO(m_back5)
m_back5:
        li      t0, MIP_VSTIP
        csrw    hie, t0
        csrw    hvip, t0
        la      tp, hs_back2 + 1
        M_ENTER_VU(vu_code2)
vu_code2:
        li      tp, 0
        j       fail
hs_back2:
        ASSERT_TAKEN(ISA_TAKEN_HS)
        ASSERT_EQ(s9, CAUSE_INTERRUPT | IRQ_VS_TIMER)
        ASSERT_ADDR(s10, vu_code2)
        ASSERT_MASKED(s8, MSTATUS_SPP, 0)
        ECALL_TO(m_back6)
m_back6:
        // From HS: only with sstatus.SIE.
        li      t0, MIP_VSEIP
        csrw    hie, t0
        csrw    hvip, t0
        M_ENTER_S(hs_code2)
hs_code2:
        IDLE
        la      tp, hs_back3 + 1
        csrsi   sstatus, MSTATUS_SIE
hs_taken3:
        li      tp, 0
        j       fail
hs_back3:
        ASSERT_TAKEN(ISA_TAKEN_HS)
        ASSERT_EQ(s9, CAUSE_INTERRUPT | IRQ_VS_EXT)
        ASSERT_ADDR(s10, hs_taken3)
        LOAD_TRAP_EXT(t0, ISA_EXT_HSTATUS)
        ASSERT_MASKED(t0, HSTATUS_SPV, 0)
        ECALL_TO(m_back7)
m_back7:
        // Not while hie disables them.
        csrw    hie, zero
        M_ENTER_VS(vs_code4)
vs_code4:
        IDLE
        ECALL_TO(m_back8)
m_back8:
        csrw    hvip, zero
        csrw    vsie, zero
        li      t0, MSTATUS_SIE
        csrc    vsstatus, t0
        j       pass

        .section .rodata
        .balign 4
// Per delegated interrupt: the hvip bit, the cause VS sees, padding.
irq_table:
        .word   MIP_VSSIP, IRQ_S_SOFT, 0
        .word   MIP_VSTIP, IRQ_S_TIMER, 0
        .word   MIP_VSEIP, IRQ_S_EXT, 0
