# isa-test: qemu-fail=41
/*
 * h_vs_tvm: "The TSR and TVM fields of mstatus affect execution only in HS-mode, not in VS-mode"
 * (privileged spec 1.12, 8.5.1; VS-mode has hstatus.VTSR and VTVM instead). First, with TVM and
 * TSR clear, VS-mode reads and writes satp (that is, vsatp), runs SFENCE.VMA and SRET; then, in
 * one check, it must do the same with both set in mstatus.
 *
 * QEMU 7.2 applies TVM and TSR to VS-mode (an illegal-instruction exception): under QEMU this test
 * stops at that check (line 41); the manifest records that.
 */
#define ISA_HYP 1
#include "isa.h"

        .text
        .globl test_main
test_main:
        CHECK_LINE
        M_ENTER_VS(vs_code1)
vs_code1:
        csrr    t0, satp
        csrw    satp, zero
        sfence.vma
        li      t0, MSTATUS_SPP
        csrs    sstatus, t0
        la      t0, vs_after1
        csrw    sepc, t0
        sret
        j       fail
vs_after1:
        ECALL_TO(m_back1)
m_back1:
        li      t0, MSTATUS_TVM | MSTATUS_TSR
        csrs    mstatus, t0
        M_ENTER_VS(vs_code2)
vs_code2:
        li      t0, MSTATUS_SPP
        csrs    sstatus, t0
        la      t0, vs_after2
        csrw    sepc, t0
        // One check: none of these may trap (a trap resumes at 78 and fails here).
        CHECK_LINE; la tp, 78f; csrr t0, satp; csrw satp, zero; sfence.vma; sret; 78: j fail
vs_after2:
        li      tp, 0
        ECALL_TO(m_back2)
m_back2:
        li      t0, MSTATUS_TVM | MSTATUS_TSR
        csrc    mstatus, t0
        j       pass
