/*
 * traps: synchronous traps, delegation and the xRET instructions (privileged spec 1.12, 3.1 and
 * 3.3, 4.1).
 *   - ecall from U, S and M has cause 8, 9, 11, xepc at the ecall and xtval = 0; ebreak has cause 3
 *     and xtval 0 or its address; the 16-bit all-zero parcel, privileged instructions in lower
 *     modes (mret in S/U, sret and sfence.vma in U) and mstatus.TSR/TVM (and TW, unless WFI
 *     completes at once) are illegal instructions with xtval 0 or the instruction bits.
 *   - A trap records the previous privilege in MPP/SPP and the previous xIE in xPIE, and clears xIE.
 *   - mret/sret: xIE = xPIE, xPIE = 1, xPP = U, privilege = old xPP; mret back to M leaves MPRV
 *     set. M may execute sret. (Returning below M clears MPRV: that is in mprv_xret.S.)
 *   - medeleg: delegated exceptions from U and S go to S with scause,
 *     sepc, stval and sstatus.SPP/SPIE/SIE, and the same exception in M still traps to M (leaving
 *     scause alone).
 *   - In vectored mode exceptions still go to the base of mtvec.
 * (mepc/sepc alignment is in xepc_align.S, MPRV and xRET in mprv_xret.S, medeleg[11] in
 * medeleg_ro.S.)
 */
#include "isa.h"

// After TRAP: xtval is 0 or the address of the trapping instruction (ebreak).
#define ASSERT_TVAL_0_OR_EPC \
        li gp, __LINE__; beqz s11, 77f; beq s11, s10, 77f; j fail; 77:
#define SET_MSTATUS(mask, value) li t0, mask; csrc mstatus, t0; li t0, value; csrs mstatus, t0

        .text
        .globl test_main
test_main:
        // ---- M-mode exceptions ---------------------------------------------------------------------
        TRAP(ecall)
        ASSERT_TRAP(CAUSE_MACHINE_ECALL)
        ASSERT_EQ(s11, 0)
        // MPP = M, MPIE = the MIE before the trap (0), MIE = 0.
        ASSERT_MASKED(s8, MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE, MSTATUS_MPP_M)
        TRAP(ebreak)
        ASSERT_TRAP(CAUSE_BREAKPOINT)
        ASSERT_TVAL_0_OR_EPC
        TRAP(.hword 0)
        ASSERT_ILLEGAL
        TRAP(.word 0)
        ASSERT_ILLEGAL
        // With MIE = 1 the trap saves it in MPIE and clears it.
        csrsi   mstatus, MSTATUS_MIE
        TRAP(ecall)
        ASSERT_TRAP(CAUSE_MACHINE_ECALL)
        ASSERT_MASKED(s8, MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE, MSTATUS_MPP_M | MSTATUS_MPIE)
        csrci   mstatus, MSTATUS_MIE

        // ---- mret with MPP = M ------------------------------------------------------------------------
        CHECK_LINE
        SET_MSTATUS(MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE, MSTATUS_MPP_M | MSTATUS_MPIE)
        la      t0, 1f
        csrw    mepc, t0
        mret
        j       fail
1:      csrr    t1, mstatus
        ASSERT_MASKED(t1, MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE, MSTATUS_MPIE | MSTATUS_MIE)
        SET_MSTATUS(MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE, MSTATUS_MPP_M | MSTATUS_MIE)
        la      t0, 2f
        csrw    mepc, t0
        mret
        j       fail
2:      csrr    t1, mstatus
        ASSERT_MASKED(t1, MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE, MSTATUS_MPIE)
        // Returning to M leaves MPRV set (then MPP = U makes M's data accesses U-mode ones, which
        // the runtime's all-covering PMP entry allows; clear it at once).
        SET_MSTATUS(MSTATUS_MPP | MSTATUS_MPRV, MSTATUS_MPP_M | MSTATUS_MPRV)
        la      t0, 3f
        csrw    mepc, t0
        mret
        j       fail
3:      csrr    t1, mstatus
        li      t0, MSTATUS_MPRV
        csrc    mstatus, t0
        ASSERT_MASKED(t1, MSTATUS_MPRV | MSTATUS_MPP, MSTATUS_MPRV)

        // ---- mret to S; ecall from S -------------------------------------------------------------------
        CHECK_LINE
        SET_MSTATUS(MSTATUS_MPIE | MSTATUS_MIE, MSTATUS_MPIE)
        M_ENTER_S(s_code1)
s_code1:
        la      tp, m_back1 + 1
s_ecall1:
        ecall
        j       fail
m_back1:
        ASSERT_EQ(s9, CAUSE_SUPERVISOR_ECALL)
        ASSERT_ADDR(s10, s_ecall1)
        ASSERT_EQ(s11, 0)
        // MPP = S; MPIE = the MIE that mret restored (1).
        ASSERT_MASKED(s8, MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE, MSTATUS_MPP_S | MSTATUS_MPIE)

        // ---- U-mode: ecall, ebreak, privileged instructions ------------------------------------------
        CHECK_LINE
        M_ENTER_U(u_code1)
u_code1:
        TRAP(ebreak)
        ASSERT_TRAP(CAUSE_BREAKPOINT)
        ASSERT_TVAL_0_OR_EPC
        ASSERT_MASKED(s8, MSTATUS_MPP, 0)
        TRAP(mret)
        ASSERT_ILLEGAL
        TRAP(sret)
        ASSERT_ILLEGAL
        TRAP(sfence.vma)
        ASSERT_ILLEGAL
        TRAP(.hword 0)
        ASSERT_ILLEGAL
        la      tp, m_back2 + 1
u_ecall1:
        ecall
        j       fail
m_back2:
        ASSERT_EQ(s9, CAUSE_USER_ECALL)
        ASSERT_ADDR(s10, u_ecall1)
        ASSERT_EQ(s11, 0)
        ASSERT_MASKED(s8, MSTATUS_MPP, 0)

        // ---- S-mode: mret is illegal; TSR, TVM and TW -------------------------------------------------
        CHECK_LINE
        M_ENTER_S(s_code2)
s_code2:
        TRAP(mret)
        ASSERT_ILLEGAL
        ASSERT_MASKED(s8, MSTATUS_MPP, MSTATUS_MPP_S)
        csrr    t0, satp
        sfence.vma
        ECALL_TO(m_back3)
m_back3:
        csrw    mie, zero
        SET_MSTATUS(MSTATUS_TSR | MSTATUS_TVM | MSTATUS_TW, MSTATUS_TSR | MSTATUS_TVM | MSTATUS_TW)
        M_ENTER_S(s_code3)
s_code3:
        TRAP(sret)
        ASSERT_ILLEGAL
        TRAP(csrr t0, satp)
        ASSERT_ILLEGAL
        TRAP(csrw satp, zero)
        ASSERT_ILLEGAL
        TRAP(sfence.vma)
        ASSERT_ILLEGAL
        TRAP(sfence.vma zero, zero)
        ASSERT_ILLEGAL
        // WFI with TW: with no interrupt enabled it cannot complete, so it traps; an
        // implementation whose WFI is a no-op may instead let it complete. Either is allowed.
        la      t5, 1f
        la      tp, 2f
1:      wfi
        li      tp, 0
        j       3f
2:      ASSERT_ILLEGAL
3:      ECALL_TO(m_back4)
m_back4:
        SET_MSTATUS(MSTATUS_TSR | MSTATUS_TVM | MSTATUS_TW, 0)

        // ---- sret from S (SPP = S and SPP = U) ----------------------------------------------------------
        CHECK_LINE
        M_ENTER_S(s_code4)
s_code4:
        // SPP = S, SPIE = 1, SIE = 0 -> sret stays in S with SIE = 1, SPIE = 1, SPP = U.
        li      t0, MSTATUS_SPP | MSTATUS_SPIE
        csrs    sstatus, t0
        csrci   sstatus, MSTATUS_SIE
        la      t0, 1f
        csrw    sepc, t0
        sret
        j       fail
1:      csrr    t1, sstatus
        ASSERT_MASKED(t1, MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE, MSTATUS_SPIE | MSTATUS_SIE)
        // SPP = S, SPIE = 0, SIE = 1 -> SIE = 0, SPIE = 1.
        li      t0, MSTATUS_SPP | MSTATUS_SIE
        csrs    sstatus, t0
        li      t0, MSTATUS_SPIE
        csrc    sstatus, t0
        la      t0, 2f
        csrw    sepc, t0
        sret
        j       fail
2:      csrr    t1, sstatus
        ASSERT_MASKED(t1, MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE, MSTATUS_SPIE)
        // SPP = U: sret drops to U.
        S_ENTER_U(u_code2)
u_code2:
        TRAP(sret)
        ASSERT_ILLEGAL
        ASSERT_MASKED(s8, MSTATUS_MPP, 0)
        ECALL_TO(m_back5)
m_back5:

        // ---- M may execute sret ------------------------------------------------------------------------
        CHECK_LINE
        li      t0, MSTATUS_SPP
        csrs    mstatus, t0
        la      t0, s_code5
        csrw    sepc, t0
        sret
        j       fail
s_code5:
        ECALL_TO(m_back6)
m_back6:
        ASSERT_MASKED(s8, MSTATUS_MPP, MSTATUS_MPP_S)

        // ---- medeleg ---------------------------------------------------------------------------------
        CHECK_LINE
        li      t0, (1 << CAUSE_USER_ECALL) | (1 << CAUSE_ILLEGAL_INSTRUCTION) | (1 << CAUSE_BREAKPOINT)
        csrw    medeleg, t0
        csrr    t1, medeleg
        ASSERT_EQ_REG(t1, t0)
        M_ENTER_S(s_code6)
s_code6:
        // S: SIE = 1 before going to U, so the trap must move it to SPIE.
        csrsi   sstatus, MSTATUS_SIE
        S_ENTER_U(u_code3)
u_code3:
        TRAP(.hword 0)                          // delegated: the S handler resumes us in U
        ASSERT_ILLEGAL
        ASSERT_MASKED(s8, MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE, MSTATUS_SPIE)
        TRAP(ebreak)
        ASSERT_TRAP(CAUSE_BREAKPOINT)
        ASSERT_TVAL_0_OR_EPC
        la      tp, s_back1 + 1
u_ecall2:
        ecall
        j       fail
s_back1:
        // Back in S through the S handler.
        ASSERT_EQ(s9, CAUSE_USER_ECALL)
        ASSERT_ADDR(s10, u_ecall2)
        ASSERT_EQ(s11, 0)
        ASSERT_MASKED(s8, MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE, MSTATUS_SPIE)
        csrr    t0, scause
        ASSERT_EQ(t0, CAUSE_USER_ECALL)
        // A delegated exception in S also goes to S, with SPP = S.
        csrci   sstatus, MSTATUS_SIE
        TRAP(mret)
        ASSERT_ILLEGAL
        ASSERT_MASKED(s8, MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE, MSTATUS_SPP)
        ECALL_TO(m_back7)
m_back7:
        // An ecall from S is not delegated.
        ASSERT_EQ(s9, CAUSE_SUPERVISOR_ECALL)
        // The same exception in M is not delegated.
        li      t0, 0x4321
        csrw    scause, t0
        TRAP(.hword 0)
        ASSERT_ILLEGAL
        ASSERT_MASKED(s8, MSTATUS_MPP, MSTATUS_MPP_M)
        csrr    t0, scause
        ASSERT_EQ(t0, 0x4321)
        csrw    medeleg, zero

        // ---- Vectored mtvec: exceptions still go to the base ----------------------------------------
        CHECK_LINE
        la      t0, vector_table
        ori     t0, t0, 1
        csrw    mtvec, t0
        csrr    t1, mtvec
        andi    t1, t1, 3
        beqz    t1, 1f                          // vectored mode not supported (WARL): skip
        ASSERT_EQ(t1, 1)
        TRAP(ecall)
        ASSERT_TRAP(CAUSE_MACHINE_ECALL)
        TRAP(.hword 0)
        ASSERT_ILLEGAL
1:      la      t0, isa_trap_m
        csrw    mtvec, t0
        j       pass

        .balign 256
vector_table:
        .option push
        .option norvc
        j       isa_trap_m                      // exceptions (and cause 0)
        .rept   15
        j       fail
        .endr
        .option pop
