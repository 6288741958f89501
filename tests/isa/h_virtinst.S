/*
 * h_virtinst: the virtual-instruction exception, cause 22 (privileged spec 1.12, 8.6.1): raised
 * when V = 1 for an instruction that is HS-qualified (valid in HS-mode with mstatus.TVM = TSR =
 * 0) but not allowed in the current mode; everything else stays an illegal instruction (cause 2).
 * xtval is 0 or the instruction's bits, as for an illegal instruction, and htinst/mtinst 0 (no
 * transformation is defined for these instructions). (xtval for HLV/HLVX/HSV: h_hlv_vtval.S.)
 *   - VS and VU: hypervisor CSRs (read and write), VS CSRs by their own numbers, hgeip read,
 *     HFENCE.VVMA/GVMA, HLV/HLVX/HSV: 22. Writing the read-only hgeip, M-level CSRs, MRET and an
 *     all-zero word: 2.
 *   - VS with hstatus.VTSR: SRET; with VTVM: SFENCE.VMA (satp: h_vtvm_satp.S); with VTW: WFI,
 *     which may instead complete (it may not trap before an implementation-specific time). With
 *     mstatus.TW = 1 a WFI in VS that does not complete is an illegal instruction instead (in VU:
 *     h_vu_wfi_tw.S).
 *   - VU: WFI with TW = 0 (or it completes, as WFI in U may). (SRET, SFENCE.VMA, HFENCE and the
 *     supervisor CSRs in VU: h_vu_virtinst.S.)
 *   - Taken by HS when medeleg bit 22 is set (hstatus.SPV = 1, SPVP = the guest's mode, GVA = 0,
 *     htval = 0), otherwise by M (MPV = 1; mstatus.GVA: h_mstatus_gva.S).
 */
#define ISA_HYP 1
#include "isa.h"

// WFI that must either complete or trap with cause c (ASSERT_VIRTUAL or ASSERT_ILLEGAL).
#define WFI_OR(check) la t5, 71f; la tp, 72f; 71: wfi; li tp, 0; j 73f; 72: check; 73:
// After a trap into HS: hstatus (as the handler saw it) masked with mask is v.
#define ASSERT_HSTATUS(mask, v) LOAD_TRAP_EXT(t0, ISA_EXT_HSTATUS); ASSERT_MASKED(t0, mask, v)
#define ASSERT_EXT(field, v) LOAD_TRAP_EXT(t0, field); ASSERT_EQ(t0, v)

        .text
        .globl test_main
test_main:
        // ---- VS-mode, virtual-instruction exceptions to HS --------------------------------------
        CHECK_LINE
        li      t0, 1 << CAUSE_VIRTUAL_INSTRUCTION
        csrw    medeleg, t0
        M_ENTER_VS(vs_code1)
vs_code1:
        TRAP(csrr t0, hstatus)
        ASSERT_VIRTUAL
        ASSERT_TAKEN(ISA_TAKEN_HS)
        ASSERT_HSTATUS(HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA, HSTATUS_SPV | HSTATUS_SPVP)
        ASSERT_EXT(ISA_EXT_HTVAL, 0)
        ASSERT_EXT(ISA_EXT_HTINST, 0)
        TRAP(csrw hedeleg, zero)
        ASSERT_VIRTUAL
        TRAP(csrs hideleg, zero)
        ASSERT_VIRTUAL
        TRAP(csrr t0, hgatp)
        ASSERT_VIRTUAL
        TRAP(csrr t0, htimedelta)
        ASSERT_VIRTUAL
        TRAP(csrr t0, hgeip)
        ASSERT_VIRTUAL
        TRAP(csrr t0, vsstatus)
        ASSERT_VIRTUAL
        TRAP(csrw vsscratch, zero)
        ASSERT_VIRTUAL
        TRAP(csrr t0, vsatp)
        ASSERT_VIRTUAL
        TRAP(hfence.vvma)
        ASSERT_VIRTUAL
        TRAP(hfence.gvma)
        ASSERT_VIRTUAL
        // (For HLV/HLVX/HSV only the cause here; their xtval is checked in h_hlv_vtval.S.)
        TRAP(hlv.d t0, (sp))
        ASSERT_TRAP(CAUSE_VIRTUAL_INSTRUCTION)
        TRAP(hlvx.hu t0, (sp))
        ASSERT_TRAP(CAUSE_VIRTUAL_INSTRUCTION)
        TRAP(hsv.w zero, (sp))
        ASSERT_TRAP(CAUSE_VIRTUAL_INSTRUCTION)
        ASSERT_TAKEN(ISA_TAKEN_HS)
        // Not HS-qualified: illegal instructions, taken by M (medeleg bit 2 is clear).
        TRAP(csrw hgeip, zero)
        ASSERT_ILLEGAL
        ASSERT_TAKEN(ISA_TAKEN_M)
        TRAP(csrr t0, mstatus)
        ASSERT_ILLEGAL
        TRAP(mret)
        ASSERT_ILLEGAL
        TRAP(.word 0)
        ASSERT_ILLEGAL
        ECALL_TO(m_back1)
m_back1:

        // ---- VS-mode with VTSR, VTVM, VTW -------------------------------------------------------
        CHECK_LINE
        li      t0, HSTATUS_VTSR | HSTATUS_VTVM | HSTATUS_VTW
        csrs    hstatus, t0
        M_ENTER_VS(vs_code2)
vs_code2:
        li      t0, MSTATUS_SPP
        csrs    sstatus, t0
        la      t0, sret_escaped
        csrw    sepc, t0
        TRAP(sret)
        ASSERT_VIRTUAL
        ASSERT_TAKEN(ISA_TAKEN_HS)
        TRAP(sfence.vma)
        ASSERT_VIRTUAL
        TRAP(sfence.vma zero, zero)
        ASSERT_VIRTUAL
        WFI_OR(ASSERT_VIRTUAL)
        ECALL_TO(m_back2)
m_back2:
        // mstatus.TW = 1 wins over VTW: an illegal instruction (WFI is then not HS-qualified).
        li      t0, HSTATUS_VTSR | HSTATUS_VTVM
        csrc    hstatus, t0
        li      t0, MSTATUS_TW
        csrs    mstatus, t0
        M_ENTER_VS(vs_code3)
vs_code3:
        WFI_OR(ASSERT_ILLEGAL)
        ECALL_TO(m_back3)
m_back3:
        li      t0, MSTATUS_TW
        csrc    mstatus, t0
        li      t0, HSTATUS_VTW
        csrc    hstatus, t0

        // ---- VU-mode ----------------------------------------------------------------------------
        CHECK_LINE
        M_ENTER_VU(vu_code2)
vu_code2:
        TRAP(csrr t0, hstatus)
        ASSERT_VIRTUAL
        ASSERT_TAKEN(ISA_TAKEN_HS)
        ASSERT_HSTATUS(HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA, HSTATUS_SPV)
        TRAP(csrw hedeleg, zero)
        ASSERT_VIRTUAL
        TRAP(csrr t0, vsstatus)
        ASSERT_VIRTUAL
        TRAP(csrr t0, vsatp)
        ASSERT_VIRTUAL
        TRAP(hlv.w t0, (sp))
        ASSERT_TRAP(CAUSE_VIRTUAL_INSTRUCTION)
        WFI_OR(ASSERT_VIRTUAL)
        TRAP(csrr t0, mstatus)
        ASSERT_ILLEGAL
        ASSERT_TAKEN(ISA_TAKEN_M)
        TRAP(mret)
        ASSERT_ILLEGAL
        ECALL_TO(m_back4)
m_back4:

        // ---- Not delegated: M takes them, with MPV = 1 ------------------------------------------
        CHECK_LINE
        csrw    medeleg, zero
        M_ENTER_VS(vs_code4)
vs_code4:
        TRAP(csrr t0, hstatus)
        ASSERT_VIRTUAL
        ASSERT_TAKEN(ISA_TAKEN_M)
        ASSERT_MASKED(s8, MSTATUS_MPV | MSTATUS_MPP, MSTATUS_MPV | MSTATUS_MPP_S)
        ASSERT_EXT(ISA_EXT_MTVAL2, 0)
        ASSERT_EXT(ISA_EXT_MTINST, 0)
        VS_ENTER_VU(vu_code3)
vu_code3:
        TRAP(csrr t0, vsscratch)
        ASSERT_VIRTUAL
        ASSERT_TAKEN(ISA_TAKEN_M)
        ASSERT_MASKED(s8, MSTATUS_MPV | MSTATUS_MPP, MSTATUS_MPV)
        ECALL_TO(m_back5)
m_back5:
        j       pass

// An SRET that did not trap lands here (TRAP left gp at its line).
sret_escaped:
        li      tp, 0
        j       fail
