/*
 * h_vcsr: the supervisor CSRs as VS-mode sees them, the guest's time and FP state (privileged spec
 * 1.12, 8.2 "When V=1, the VS CSRs substitute for the corresponding supervisor CSRs", 8.2.7, 8.2.8,
 * 8.2.11).
 *   - In VS, sstatus, stvec, sscratch, sepc, scause, stval and satp reach vsstatus, vstvec,
 *     vsscratch, vsepc, vscause, vstval and vsatp, for reads and writes; the HS-level registers
 *     keep their values meanwhile (including a satp VS-mode never sees). (sie and sip: h_vs_sie.S.)
 *   - time read in VS or VU is time + htimedelta (modulo 2^64), when mcounteren.TM and
 *     hcounteren.TM (and in VU scounteren.TM) allow it; with mcounteren.TM = 1 and hcounteren.TM
 *     = 0 (or, in VU, scounteren.TM = 0) the read is a virtual instruction, with mcounteren.TM =
 *     0 an illegal one. (The counter-enable bits are WARL: where TM does not stick, the time part
 *     is reported on the console and skipped.)
 *   - Floating point in VS needs both vsstatus.FS and the HS-level sstatus.FS nonzero (else an
 *     illegal instruction, never a virtual one), and changing FP state there sets both to Dirty.
 */
#define ISA_HYP 1
#include "isa.h"

#define MARKER 0x5a
#define COUNTEREN_TM (1 << 1)
#define DELTA 0x0123456700000000
// After reading time in M (s2), in the guest (s3) and in M again (s4), with htimedelta s5: the
// guest's value must be s2 + s5 plus at most the time that passed (s4 - s2), modulo 2^64.
#define ASSERT_GUEST_TIME \
        sub t0, s3, s2; sub t0, t0, s5; sub t1, s4, s2; li gp, __LINE__; bleu t0, t1, 77f; j fail; 77:

        .text
        .globl test_main
test_main:
        // ---- The s* names reach the vs* registers in VS -----------------------------------------
        CHECK_LINE
        csrr    s0, vsscratch                   // the VS trap stack: restored below
        csrr    s1, sscratch
        li      t0, 0x1000
        csrw    vsepc, t0
        li      t0, CAUSE_LOAD_PAGE_FAULT
        csrw    vscause, t0
        li      t0, 0x3000
        csrw    vstval, t0
        li      t0, MSTATUS_SUM
        csrs    vsstatus, t0
        li      t0, MARKER
        csrw    sepc, t0
        csrw    scause, t0
        csrw    stval, t0
        // An HS-level satp that would break VS-mode if it were used there (the VS run takes no trap
        // into HS, whose handler would need it).
        li      t0, SATP_MODE_SV39 | 0x12345
        csrw    satp, t0
        M_ENTER_VS(vs_code1)
vs_code1:
        csrr    t0, sscratch
        ASSERT_EQ_REG(t0, s0)
        csrr    t0, sepc
        ASSERT_EQ(t0, 0x1000)
        csrr    t0, scause
        ASSERT_EQ(t0, CAUSE_LOAD_PAGE_FAULT)
        csrr    t0, stval
        ASSERT_EQ(t0, 0x3000)
        csrr    t0, sstatus
        ASSERT_MASKED(t0, MSTATUS_SUM | MSTATUS_MXR | MSTATUS_UXL, MSTATUS_SUM | MSTATUS_UXL_64)
        csrr    t0, stvec
        ASSERT_ADDR(t0, isa_trap_vs)
        csrr    t0, satp
        ASSERT_EQ(t0, 0)
        li      t1, 0x7777
        csrw    sscratch, t1
        csrr    t0, sscratch
        csrw    sscratch, s0
        ASSERT_EQ(t0, 0x7777)
        li      t0, 0x2000
        csrw    sepc, t0
        li      t0, CAUSE_STORE_PAGE_FAULT
        csrw    scause, t0
        li      t0, 0x4000
        csrw    stval, t0
        li      t0, MSTATUS_MXR
        csrs    sstatus, t0
        la      t1, isa_trap_s                  // 64-byte aligned: a valid direct-mode base
        csrw    stvec, t1
        csrr    t0, stvec
        la      t1, isa_trap_vs
        csrw    stvec, t1
        ASSERT_ADDR(t0, isa_trap_s)
        ECALL_TO(m_back1)
m_back1:
        csrw    satp, zero
        csrr    t0, vsepc
        ASSERT_EQ(t0, 0x2000)
        csrr    t0, vscause
        ASSERT_EQ(t0, CAUSE_STORE_PAGE_FAULT)
        csrr    t0, vstval
        ASSERT_EQ(t0, 0x4000)
        csrr    t0, vsstatus
        ASSERT_MASKED(t0, MSTATUS_SUM | MSTATUS_MXR, MSTATUS_SUM | MSTATUS_MXR)
        csrr    t0, vsscratch
        ASSERT_EQ_REG(t0, s0)
        csrr    t0, sepc
        ASSERT_EQ(t0, MARKER)
        csrr    t0, scause
        ASSERT_EQ(t0, MARKER)
        csrr    t0, stval
        ASSERT_EQ(t0, MARKER)
        csrr    t0, sscratch
        ASSERT_EQ_REG(t0, s1)
        csrr    t0, mstatus
        ASSERT_MASKED(t0, MSTATUS_SUM | MSTATUS_MXR, 0)
        li      t0, MSTATUS_SUM | MSTATUS_MXR
        csrc    vsstatus, t0

        // ---- time in VS and VU: time + htimedelta -----------------------------------------------
        CHECK_LINE
        li      t0, COUNTEREN_TM
        csrs    mcounteren, t0
        csrs    hcounteren, t0
        csrr    t1, mcounteren
        csrr    t2, hcounteren
        and     t1, t1, t2
        and     t1, t1, t0
        bnez    t1, 1f
        la      a0, msg_skip_tm
        call    isa_puts
        j       time_done
1:      li      s5, DELTA
        csrw    htimedelta, s5
        rdtime  s2
        M_ENTER_VS(vs_code2)
vs_code2:
        rdtime  s3
        ECALL_TO(m_back2)
m_back2:
        rdtime  s4
        ASSERT_GUEST_TIME
        // A delta that wraps the sum around 2^64.
        li      s5, -1
        csrw    htimedelta, s5
        rdtime  s2
        M_ENTER_VS(vs_code3)
vs_code3:
        rdtime  s3
        ECALL_TO(m_back3)
m_back3:
        rdtime  s4
        ASSERT_GUEST_TIME
        // VU needs scounteren.TM as well.
        li      t0, COUNTEREN_TM
        csrs    scounteren, t0
        csrr    t1, scounteren
        and     t1, t1, t0
        beqz    t1, 2f
        li      s5, DELTA
        csrw    htimedelta, s5
        rdtime  s2
        M_ENTER_VU(vu_code1)
vu_code1:
        rdtime  s3
        ECALL_TO(m_back4)
m_back4:
        rdtime  s4
        ASSERT_GUEST_TIME
        csrw    scounteren, zero
        M_ENTER_VU(vu_code2)
vu_code2:
        TRAP(rdtime t0)
        ASSERT_VIRTUAL
        ECALL_TO(m_back5)
m_back5:
2:      // hcounteren.TM = 0 with mcounteren.TM = 1: a virtual instruction; mcounteren.TM = 0:
        // an illegal one.
        li      t0, COUNTEREN_TM
        csrc    hcounteren, t0
        M_ENTER_VS(vs_code4)
vs_code4:
        TRAP(rdtime t0)
        ASSERT_VIRTUAL
        ECALL_TO(m_back6)
m_back6:
        li      t0, COUNTEREN_TM
        csrc    mcounteren, t0
        csrs    hcounteren, t0
        M_ENTER_VS(vs_code5)
vs_code5:
        TRAP(rdtime t0)
        ASSERT_ILLEGAL
        ECALL_TO(m_back7)
m_back7:
        csrw    hcounteren, zero
        csrw    mcounteren, zero
        csrw    htimedelta, zero
time_done:

        // ---- FP in VS: both FS fields count -----------------------------------------------------
        CHECK_LINE
        li      t0, MSTATUS_FS
        csrc    mstatus, t0
        csrc    vsstatus, t0
        li      t0, MSTATUS_FS_INITIAL
        csrs    mstatus, t0
        csrs    vsstatus, t0
        M_ENTER_VS(vs_code6)
vs_code6:
        fmv.d.x ft0, zero
        ECALL_TO(m_back8)
m_back8:
        csrr    t0, mstatus
        ASSERT_MASKED(t0, MSTATUS_FS, MSTATUS_FS_DIRTY)
        csrr    t0, vsstatus
        ASSERT_MASKED(t0, MSTATUS_FS, MSTATUS_FS_DIRTY)
        // vsstatus.FS = Off.
        li      t0, MSTATUS_FS
        csrc    vsstatus, t0
        M_ENTER_VS(vs_code7)
vs_code7:
        TRAP(fmv.d.x ft0, zero)
        ASSERT_ILLEGAL
        ECALL_TO(m_back9)
m_back9:
        // HS-level FS = Off, vsstatus.FS = Initial.
        li      t0, MSTATUS_FS_INITIAL
        csrs    vsstatus, t0
        li      t0, MSTATUS_FS
        csrc    mstatus, t0
        M_ENTER_VS(vs_code8)
vs_code8:
        TRAP(fmv.d.x ft0, zero)
        ASSERT_ILLEGAL
        ECALL_TO(m_back10)
m_back10:
        li      t0, MSTATUS_FS_INITIAL
        csrs    mstatus, t0
        j       pass

        .section .rodata
msg_skip_tm:
        .asciz  "isa h_vcsr: mcounteren.TM or hcounteren.TM does not stick; guest time skipped\n"
