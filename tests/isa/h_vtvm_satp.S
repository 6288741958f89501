# isa-test: qemu-fail=24
/*
 * h_vtvm_satp: "When VTVM=1, an attempt in VS-mode to execute SFENCE.VMA or SINVAL.VMA or to
 * access CSR satp raises a virtual-instruction exception" (privileged spec 1.12, 8.2.1). SFENCE.VMA
 * goes first as a control; then, in one check, reading and writing satp must trap the same way.
 *
 * QEMU 7.2 lets VS-mode access satp (vsatp) whatever VTVM says: under QEMU this test stops at
 * that check (line 24); the manifest records that.
 */
#define ISA_HYP 1
#include "isa.h"

        .text
        .globl test_main
test_main:
        li      t0, 1 << CAUSE_VIRTUAL_INSTRUCTION
        csrw    medeleg, t0
        li      t0, HSTATUS_VTVM
        csrs    hstatus, t0
        M_ENTER_VS(vs_code)
vs_code:
        TRAP(sfence.vma)
        ASSERT_VIRTUAL
        TRAP(csrr t0, satp); ASSERT_VIRTUAL; TRAP(csrw satp, zero); ASSERT_VIRTUAL
        ECALL_TO(m_back)
m_back:
        li      t0, HSTATUS_VTVM
        csrc    hstatus, t0
        csrw    medeleg, zero
        j       pass
