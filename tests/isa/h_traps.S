/*
 * h_traps: entering and leaving the virtualized modes, and where their traps go (privileged spec
 * 1.12, 8.1, 8.2.1, 8.2.2, 8.6.2 "Trap Entry", 8.6.4 "Trap Return").
 *   - MRET with MPV = 1 enters VS (MPP = S) or VU (MPP = U). SRET from HS (or from M) with
 *     hstatus.SPV = 1 enters VS or VU as SPP says, and clears SPV. (MRET with MPP = M and MPV = 1:
 *     h_mret_mpv.S.)
 *   - Traps into M from VS/VU: mcause (10 for ECALL from VS, 8 from VU), mepc, mtval, MPV = 1,
 *     MPP, GVA = 0 for an ECALL, mtval2 = mtinst = 0. M-level CSRs and MRET are illegal there.
 *   - Traps into HS (medeleg): scause, sepc, stval, sstatus SPP/SPIE/SIE; hstatus.SPV = 1 and SPVP
 *     = the nominal privilege when V was 1; from HS or U, SPV = 0 and SPVP unchanged; GVA = 0 for
 *     ECALL and illegal instructions, and on a breakpoint GVA = 1 exactly when stval is nonzero
 *     (stval may hold 0 or the address); htval = 0 and htinst = 0 for them.
 *   - hedeleg: exceptions from VS/VU delegated by both medeleg and hedeleg go to VS (vscause,
 *     vsepc, vstval, vsstatus SPP/SPIE/SIE), leaving hstatus and the HS-level scause, sepc and
 *     stval alone; without the medeleg bit they go to M; exceptions raised in HS never go to VS;
 *     ECALL from VS and virtual-instruction exceptions cannot be delegated to VS. (An illegal
 *     instruction delegated to VS: h_vs_illegal.S.)
 *   - SRET in VS: SIE = SPIE, SPIE = 1, SPP = 0 in vsstatus, to VS or VU as vsstatus.SPP says.
 */
#define ISA_HYP 1
#include "isa.h"

#define SSTATUS_XPS (MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE)
#define HSTATUS_TRAP (HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA)
#define MARKER 0x5a
// After TRAP: xtval is 0 or the address of the trapping instruction (ebreak).
#define ASSERT_TVAL_0_OR_EPC \
        li gp, __LINE__; beqz s11, 77f; beq s11, s10, 77f; j fail; 77:
// After a trap into HS: hstatus (as the handler saw it) masked with mask is v.
#define ASSERT_HSTATUS(mask, v) LOAD_TRAP_EXT(t0, ISA_EXT_HSTATUS); ASSERT_MASKED(t0, mask, v)
#define DELEG(c) (1 << (c))

        .text
        .globl test_main
test_main:
        // ---- MRET into VS and VU; their traps into M --------------------------------------------
        CHECK_LINE
        M_ENTER_VS(vs_code1)
vs_code1:
        la      tp, m_back1 + 1
vs_ecall1:
        ecall
        j       fail
m_back1:
        ASSERT_TAKEN(ISA_TAKEN_M)
        ASSERT_EQ(s9, CAUSE_VIRTUAL_SUPERVISOR_ECALL)
        ASSERT_ADDR(s10, vs_ecall1)
        ASSERT_EQ(s11, 0)
        ASSERT_MASKED(s8, MSTATUS_MPV | MSTATUS_MPP | MSTATUS_GVA, MSTATUS_MPV | MSTATUS_MPP_S)
        LOAD_TRAP_EXT(t0, ISA_EXT_MTVAL2)
        ASSERT_EQ(t0, 0)
        LOAD_TRAP_EXT(t0, ISA_EXT_MTINST)
        ASSERT_EQ(t0, 0)
        M_ENTER_VS(vs_code2)
vs_code2:
        TRAP(csrr t0, mscratch)
        ASSERT_ILLEGAL
        ASSERT_TAKEN(ISA_TAKEN_M)
        ASSERT_MASKED(s8, MSTATUS_MPV | MSTATUS_MPP, MSTATUS_MPV | MSTATUS_MPP_S)
        TRAP(mret)
        ASSERT_ILLEGAL
        // SRET within the guest: vsstatus.SPP = 0 goes to VU.
        VS_ENTER_VU(vu_code1)
vu_code1:
        TRAP(csrr t0, mscratch)
        ASSERT_ILLEGAL
        ASSERT_MASKED(s8, MSTATUS_MPV | MSTATUS_MPP, MSTATUS_MPV)
        la      tp, m_back2 + 1
vu_ecall1:
        ecall
        j       fail
m_back2:
        ASSERT_EQ(s9, CAUSE_USER_ECALL)
        ASSERT_ADDR(s10, vu_ecall1)
        ASSERT_MASKED(s8, MSTATUS_MPV | MSTATUS_MPP, MSTATUS_MPV)
        M_ENTER_VU(vu_code2)
vu_code2:
        la      tp, m_back3 + 1
vu_ecall2:
        ecall
        j       fail
m_back3:
        ASSERT_EQ(s9, CAUSE_USER_ECALL)
        ASSERT_ADDR(s10, vu_ecall2)
        ASSERT_MASKED(s8, MSTATUS_MPV | MSTATUS_MPP, MSTATUS_MPV)

        // ---- SRET from HS into VS clears SPV (a trap into M leaves hstatus as SRET made it) -----
        CHECK_LINE
        li      t0, HSTATUS_SPVP
        csrc    hstatus, t0
        M_ENTER_S(hs_code1)
hs_code1:
        HS_ENTER_VS(vs_code3)
vs_code3:
        ECALL_TO(m_back4)
m_back4:
        ASSERT_TAKEN(ISA_TAKEN_M)
        ASSERT_MASKED(s8, MSTATUS_MPV | MSTATUS_MPP, MSTATUS_MPV | MSTATUS_MPP_S)
        csrr    t0, hstatus
        ASSERT_MASKED(t0, HSTATUS_SPV | HSTATUS_SPVP, 0)

        // ---- Traps from VU, VS, HS and U into HS: SPV, SPVP, GVA --------------------------------
        CHECK_LINE
        li      t0, DELEG(CAUSE_USER_ECALL) | DELEG(CAUSE_VIRTUAL_SUPERVISOR_ECALL)
        li      t1, DELEG(CAUSE_ILLEGAL_INSTRUCTION) | DELEG(CAUSE_BREAKPOINT) | DELEG(CAUSE_VIRTUAL_INSTRUCTION)
        or      t0, t0, t1
        csrw    medeleg, t0
        M_ENTER_S(hs_code2)
hs_code2:
        // SPVP = 1 and GVA = 1 beforehand: a trap from VU must set both to 0. SPIE = 1 makes the
        // SRET set SIE, which the trap must move back into SPIE.
        li      t0, HSTATUS_SPVP | HSTATUS_GVA
        csrs    hstatus, t0
        li      t0, MSTATUS_SPIE
        csrs    sstatus, t0
        HS_ENTER_VU(vu_code3)
vu_code3:
        la      tp, hs_back1 + 1
vu_ecall3:
        ecall
        j       fail
hs_back1:
        ASSERT_TAKEN(ISA_TAKEN_HS)
        ASSERT_EQ(s9, CAUSE_USER_ECALL)
        ASSERT_ADDR(s10, vu_ecall3)
        ASSERT_EQ(s11, 0)
        ASSERT_MASKED(s8, SSTATUS_XPS, MSTATUS_SPIE)
        ASSERT_HSTATUS(HSTATUS_TRAP, HSTATUS_SPV)
        LOAD_TRAP_EXT(t0, ISA_EXT_HTVAL)
        ASSERT_EQ(t0, 0)
        LOAD_TRAP_EXT(t0, ISA_EXT_HTINST)
        ASSERT_EQ(t0, 0)
        // From VS: SPVP = 1, SPP = 1.
        li      t0, HSTATUS_GVA
        csrs    hstatus, t0
        HS_ENTER_VS(vs_code4)
vs_code4:
        la      tp, hs_back2 + 1
vs_ecall4:
        ecall
        j       fail
hs_back2:
        ASSERT_TAKEN(ISA_TAKEN_HS)
        ASSERT_EQ(s9, CAUSE_VIRTUAL_SUPERVISOR_ECALL)
        ASSERT_ADDR(s10, vs_ecall4)
        ASSERT_EQ(s11, 0)
        ASSERT_MASKED(s8, MSTATUS_SPP | MSTATUS_SIE, MSTATUS_SPP)
        ASSERT_HSTATUS(HSTATUS_TRAP, HSTATUS_SPV | HSTATUS_SPVP)
        // From HS itself: SPV = 0, SPVP left as it was (1, then 0).
        TRAP(ebreak)
        ASSERT_TRAP(CAUSE_BREAKPOINT)
        ASSERT_TAKEN(ISA_TAKEN_HS)
        ASSERT_HSTATUS(HSTATUS_TRAP, HSTATUS_SPVP)
        li      t0, HSTATUS_SPVP
        csrc    hstatus, t0
        TRAP(.hword 0)
        ASSERT_ILLEGAL
        ASSERT_HSTATUS(HSTATUS_TRAP, 0)
        // From U (V = 0): SPV = 0, SPVP left as it was (1).
        li      t0, HSTATUS_SPVP
        csrs    hstatus, t0
        S_ENTER_U(u_code1)
u_code1:
        la      tp, hs_back3 + 1
u_ecall1:
        ecall
        j       fail
hs_back3:
        ASSERT_TAKEN(ISA_TAKEN_HS)
        ASSERT_EQ(s9, CAUSE_USER_ECALL)
        ASSERT_ADDR(s10, u_ecall1)
        ASSERT_MASKED(s8, MSTATUS_SPP, 0)
        ASSERT_HSTATUS(HSTATUS_TRAP, HSTATUS_SPVP)
        // Breakpoint and illegal instruction from VS, not delegated further: HS.
        HS_ENTER_VS(vs_code5)
vs_code5:
        TRAP(ebreak)
        ASSERT_TRAP(CAUSE_BREAKPOINT)
        ASSERT_TAKEN(ISA_TAKEN_HS)
        ASSERT_TVAL_0_OR_EPC
        LOAD_TRAP_EXT(t0, ISA_EXT_HSTATUS)
        andi    t0, t0, HSTATUS_GVA
        beqz    s11, 1f
        ASSERT_EQ(t0, HSTATUS_GVA)
        j       2f
1:      ASSERT_EQ(t0, 0)
2:      TRAP(.hword 0)
        ASSERT_ILLEGAL
        ASSERT_TAKEN(ISA_TAKEN_HS)
        ASSERT_HSTATUS(HSTATUS_TRAP, HSTATUS_SPV | HSTATUS_SPVP)
        LOAD_TRAP_EXT(t0, ISA_EXT_HTVAL)
        ASSERT_EQ(t0, 0)
        ECALL_TO(hs_back4)
hs_back4:
        ECALL_TO(m_back5)
m_back5:
        ASSERT_EQ(s9, CAUSE_SUPERVISOR_ECALL)

        // ---- hedeleg: exceptions from VS and VU go to VS ----------------------------------------
        CHECK_LINE
        li      t0, DELEG(CAUSE_USER_ECALL) | DELEG(CAUSE_ILLEGAL_INSTRUCTION) | DELEG(CAUSE_BREAKPOINT)
        li      t1, DELEG(CAUSE_VIRTUAL_INSTRUCTION)
        or      t0, t0, t1
        csrw    medeleg, t0
        li      t0, -1
        csrw    hedeleg, t0
        li      t0, MARKER
        csrw    scause, t0
        csrw    sepc, t0
        csrw    stval, t0
        csrr    s0, hstatus
        M_ENTER_VS(vs_code6)
vs_code6:
        csrsi   sstatus, MSTATUS_SIE            // vsstatus.SIE: the trap moves it to SPIE
        TRAP(ebreak)
        ASSERT_TRAP(CAUSE_BREAKPOINT)
        ASSERT_TAKEN(ISA_TAKEN_VS)
        ASSERT_TVAL_0_OR_EPC
        ASSERT_MASKED(s8, SSTATUS_XPS, MSTATUS_SPP | MSTATUS_SPIE)
        csrr    t0, scause                      // vscause
        ASSERT_EQ(t0, CAUSE_BREAKPOINT)
        TRAP(ebreak)
        ASSERT_TRAP(CAUSE_BREAKPOINT)
        ASSERT_MASKED(s8, MSTATUS_SPP | MSTATUS_SIE, MSTATUS_SPP)
        VS_ENTER_VU(vu_code4)
vu_code4:
        TRAP(ebreak)
        ASSERT_TRAP(CAUSE_BREAKPOINT)
        ASSERT_TAKEN(ISA_TAKEN_VS)
        ASSERT_MASKED(s8, MSTATUS_SPP, 0)
        la      tp, vs_back1 + 1
vu_ecall4:
        ecall
        j       fail
vs_back1:
        ASSERT_TAKEN(ISA_TAKEN_VS)
        ASSERT_EQ(s9, CAUSE_USER_ECALL)
        ASSERT_ADDR(s10, vu_ecall4)
        ASSERT_EQ(s11, 0)
        ASSERT_MASKED(s8, MSTATUS_SPP, 0)
        csrr    t0, scause                      // vscause
        ASSERT_EQ(t0, CAUSE_USER_ECALL)
        // SRET in VS with SPP = 1, SPIE = 0, SIE = 1: stays in VS with SIE = 0, SPIE = 1, SPP = 0.
        CHECK_LINE
        li      t0, MSTATUS_SPP | MSTATUS_SIE
        csrs    sstatus, t0
        li      t0, MSTATUS_SPIE
        csrc    sstatus, t0
        la      t0, 3f
        csrw    sepc, t0
        sret
        j       fail
3:      csrr    t1, sstatus
        ASSERT_MASKED(t1, SSTATUS_XPS, MSTATUS_SPIE)
        // ECALL from VS cannot be delegated to VS (nor here to HS): M.
        ECALL_TO(m_back6)
m_back6:
        ASSERT_EQ(s9, CAUSE_VIRTUAL_SUPERVISOR_ECALL)
        csrr    t0, hedeleg
        ASSERT_MASKED(t0, DELEG(CAUSE_VIRTUAL_SUPERVISOR_ECALL) | DELEG(CAUSE_VIRTUAL_INSTRUCTION), 0)
        // None of the VS traps touched the HS-level trap CSRs or hstatus.
        csrr    t0, scause
        ASSERT_EQ(t0, MARKER)
        csrr    t0, sepc
        ASSERT_EQ(t0, MARKER)
        csrr    t0, stval
        ASSERT_EQ(t0, MARKER)
        csrr    t0, hstatus
        ASSERT_EQ_REG(t0, s0)
        csrr    t0, vscause
        ASSERT_EQ(t0, CAUSE_USER_ECALL)
        // A virtual-instruction exception goes to HS even with hedeleg all ones.
        M_ENTER_VS(vs_code7)
vs_code7:
        TRAP(csrr t0, hstatus)
        ASSERT_VIRTUAL
        ASSERT_TAKEN(ISA_TAKEN_HS)
        ECALL_TO(m_back7)
m_back7:
        // Exceptions raised in HS (V = 0) never go to VS.
        M_ENTER_S(hs_code3)
hs_code3:
        TRAP(ebreak)
        ASSERT_TRAP(CAUSE_BREAKPOINT)
        ASSERT_TAKEN(ISA_TAKEN_HS)
        ECALL_TO(m_back8)
m_back8:
        // hedeleg without medeleg: M.
        csrw    medeleg, zero
        M_ENTER_VS(vs_code8)
vs_code8:
        TRAP(ebreak)
        ASSERT_TRAP(CAUSE_BREAKPOINT)
        ASSERT_TAKEN(ISA_TAKEN_M)
        ECALL_TO(m_back9)
m_back9:
        csrw    hedeleg, zero

        // ---- SRET from M with SPV = 1 enters VS -------------------------------------------------
        CHECK_LINE
        li      t0, HSTATUS_SPV
        csrs    hstatus, t0
        li      t0, MSTATUS_SPP
        csrs    mstatus, t0
        la      t0, vs_code9
        csrw    sepc, t0
        sret
        j       fail
vs_code9:
        la      tp, m_back10 + 1
vs_ecall9:
        ecall
        j       fail
m_back10:
        ASSERT_EQ(s9, CAUSE_VIRTUAL_SUPERVISOR_ECALL)
        ASSERT_ADDR(s10, vs_ecall9)
        ASSERT_MASKED(s8, MSTATUS_MPV | MSTATUS_MPP, MSTATUS_MPV | MSTATUS_MPP_S)
        csrr    t0, hstatus
        ASSERT_MASKED(t0, HSTATUS_SPV, 0)
        j       pass
