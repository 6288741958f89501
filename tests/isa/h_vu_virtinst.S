# isa-test: qemu-fail=38
/*
 * h_vu_virtinst: in VU-mode, "attempts to execute ... a supervisor instruction (SRET or SFENCE)",
 * "to execute a hypervisor instruction (HLV, HLVX, HSV, or HFENCE)" and "to access an implemented
 * non-high-half supervisor CSR when the same access (read/write) would be allowed in HS-mode,
 * assuming mstatus.TVM=0" raise a virtual-instruction exception, not an illegal-instruction one
 * (privileged spec 1.12, 8.6.1). A hypervisor CSR access goes first as a control; then, in one
 * check: SRET, SFENCE.VMA, HFENCE.VVMA, HFENCE.GVMA and reads or writes of sstatus, sie, stvec,
 * sscratch, sepc, scause, stval, sip and satp.
 *
 * QEMU 7.2 raises illegal-instruction exceptions for all of these in VU-mode: under QEMU this
 * test stops at that check (line 38); the manifest records that.
 */
#define ISA_HYP 1
#include "isa.h"

#define VU_CHECKS \
        TRAP(sret); ASSERT_VIRTUAL; TRAP(sfence.vma); ASSERT_VIRTUAL; \
        TRAP(hfence.vvma); ASSERT_VIRTUAL; TRAP(hfence.gvma); ASSERT_VIRTUAL; \
        TRAP(csrr t0, sstatus); ASSERT_VIRTUAL; TRAP(csrw sie, zero); ASSERT_VIRTUAL; \
        TRAP(csrr t0, stvec); ASSERT_VIRTUAL; TRAP(csrw sscratch, zero); ASSERT_VIRTUAL; \
        TRAP(csrr t0, sepc); ASSERT_VIRTUAL; TRAP(csrr t0, scause); ASSERT_VIRTUAL; \
        TRAP(csrr t0, stval); ASSERT_VIRTUAL; TRAP(csrr t0, sip); ASSERT_VIRTUAL; \
        TRAP(csrr t0, satp); ASSERT_VIRTUAL

        .text
        .globl test_main
test_main:
        li      t0, 1 << CAUSE_VIRTUAL_INSTRUCTION
        csrw    medeleg, t0
        // An SRET that did not trap would go to vsepc: make that a failure.
        la      t0, sret_escaped
        csrw    vsepc, t0
        M_ENTER_VU(vu_code)
vu_code:
        TRAP(csrr t0, hstatus)
        ASSERT_VIRTUAL
        VU_CHECKS
        ECALL_TO(m_back)
m_back:
        csrw    medeleg, zero
        j       pass

sret_escaped:
        li      tp, 0
        j       fail
