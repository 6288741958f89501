/*
 * h_csr: the CSRs of the hypervisor extension as seen from M, HS and U (privileged spec 1.12,
 * chapter 8: "Hypervisor and Virtual Supervisor CSRs", "Machine-Level CSRs").
 *   - misa.H is set (or misa reads 0). mstatus.MPV and GVA, and hstatus SPV, SPVP, GVA, HU, VTVM,
 *     VTW and VTSR are writable; hstatus.VSXL reads 2 (64-bit VS-mode) once written so.
 *   - hedeleg: the bits the spec requires writable stick (1 to 8, 12, 13, 15); bits 9, 10, 11 and
 *     20 to 23 are read-only zero. hideleg: bits 2, 6, 10 writable; 1, 5, 9, 12 read-only zero.
 *     mideleg bits 2, 6, 10 are read-only one, and bit 12 too when GEILEN is nonzero.
 *   - hgeie: bit 0 and everything above GEILEN read-only zero (GEILEN may be 0); hgeip is
 *     read-only (a write is an illegal instruction) and never shows a bit hgeie cannot hold.
 *   - hvip: VSSIP, VSTIP, VSEIP writable, the rest of bits 15:0 read-only zero; hip and mip show
 *     them; hip.VSSIP and mip.VSSIP are writable aliases of hvip.VSSIP, hip.VSTIP and VSEIP are
 *     read-only. hie: VSSIE, VSTIE, VSEIE writable, SGEIE writable when GEILEN is nonzero, the
 *     bits writable in sie read-only zero; mie aliases them. sip/sie never show VS bits.
 *   - vsip/vsie: read-only zero where hideleg is clear, else aliases of hip/hie moved down a bit
 *     (vsip.STIP and SEIP as aliases: h_vsip.S).
 *   - hgatp: Bare, Sv39x4 and (where it sticks) Sv48x4 with a 16 KiB-aligned root read back; the
 *     implemented VMID bits are the low ones.
 *   - htimedelta, the vs* CSRs, htval/htinst/mtval2/mtinst (holding zero), hcounteren and henvcfg
 *     read and write; vsstatus SIE, SPIE, SPP, SUM, MXR are writable and UXL reads 2.
 *   - Access rights: HS reaches every h* and vs* CSR and both HFENCEs, but not mtval2/mtinst; U
 *     reaches none of them (illegal instruction). (mstatus.TVM: h_tvm.S.)
 * (hgatp's PPN[1:0] and its WARL MODE are in h_hgatp_ppn.S and h_hgatp_mode.S.)
 */
#define ISA_HYP 1
#include "isa.h"

#define HEDELEG_WRITABLE 0xb1fe         // bits 1-8, 12, 13, 15
#define HEDELEG_RO_ZERO 0xf00e00        // bits 9, 10, 11, 20-23
#define HSTATUS_RW \
        (HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA | HSTATUS_HU | HSTATUS_VTVM | HSTATUS_VTW | HSTATUS_VTSR)
#define VS_IRQS (MIP_VSSIP | MIP_VSTIP | MIP_VSEIP)
#define S_IRQS (MIP_SSIP | MIP_STIP | MIP_SEIP)
#define SSTATUS_RW (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR)
#define PATTERN 0x0123456789abcdef

        .text
        .globl test_main
test_main:
        // ---- misa, mstatus, hstatus -------------------------------------------------------------
        CHECK_LINE
        csrr    t0, misa
        beqz    t0, 1f
        ASSERT_MASKED(t0, MISA_H, MISA_H)
1:      li      t0, MSTATUS_MPV | MSTATUS_GVA
        csrs    mstatus, t0
        csrr    t1, mstatus
        csrc    mstatus, t0
        csrr    t2, mstatus
        ASSERT_MASKED(t1, MSTATUS_MPV | MSTATUS_GVA, MSTATUS_MPV | MSTATUS_GVA)
        ASSERT_MASKED(t2, MSTATUS_MPV | MSTATUS_GVA, 0)
        csrr    t1, hstatus
        ASSERT_MASKED(t1, HSTATUS_VSXL, HSTATUS_VSXL_64)
        li      t0, HSTATUS_RW
        csrs    hstatus, t0
        csrr    t1, hstatus
        csrc    hstatus, t0
        csrr    t2, hstatus
        ASSERT_MASKED(t1, HSTATUS_RW, HSTATUS_RW)
        ASSERT_MASKED(t2, HSTATUS_RW, 0)
        ASSERT_MASKED(t2, HSTATUS_VSXL, HSTATUS_VSXL_64)

        // ---- hedeleg, hideleg, mideleg ----------------------------------------------------------
        CHECK_LINE
        li      t0, -1
        csrw    hedeleg, t0
        csrr    t1, hedeleg
        csrw    hedeleg, zero
        csrr    t2, hedeleg
        ASSERT_MASKED(t1, HEDELEG_WRITABLE, HEDELEG_WRITABLE)
        ASSERT_MASKED(t1, HEDELEG_RO_ZERO, 0)
        ASSERT_MASKED(t2, HEDELEG_WRITABLE, 0)
        li      t0, -1
        csrw    hideleg, t0
        csrr    t1, hideleg
        csrw    hideleg, zero
        csrr    t2, hideleg
        ASSERT_MASKED(t1, VS_IRQS | S_IRQS | MIP_SGEIP, VS_IRQS)
        ASSERT_MASKED(t2, VS_IRQS, 0)
        csrw    mideleg, zero
        csrr    t1, mideleg
        ASSERT_MASKED(t1, VS_IRQS, VS_IRQS)
        // GEILEN: hgeie holds bits GEILEN:1, a contiguous run from bit 1 (possibly empty).
        li      t0, -1
        csrw    hgeie, t0
        csrr    s0, hgeie
        csrw    hgeie, zero
        ASSERT_MASKED(s0, 1, 0)
        addi    t0, s0, 2
        and     t0, t0, s0
        ASSERT_EQ(t0, 0)
        beqz    s0, 2f
        ASSERT_MASKED(t1, MIP_SGEIP, MIP_SGEIP)
2:      csrr    t1, hgeip
        not     t0, s0
        and     t1, t1, t0
        ASSERT_EQ(t1, 0)
        TRAP(csrw hgeip, zero)
        ASSERT_ILLEGAL
        TRAP(csrrs t1, hgeip, t0)
        ASSERT_ILLEGAL

        // ---- hvip, hip, mip; hie, mie; sip/sie --------------------------------------------------
        CHECK_LINE
        li      t0, -1
        csrw    hvip, t0
        csrr    t1, hvip
        ASSERT_MASKED(t1, 0xffff, VS_IRQS)
        csrr    t1, hip
        ASSERT_MASKED(t1, VS_IRQS | S_IRQS, VS_IRQS)
        csrr    t1, mip
        ASSERT_MASKED(t1, VS_IRQS, VS_IRQS)
        csrr    t1, sip
        ASSERT_MASKED(t1, VS_IRQS, 0)
        csrw    hvip, zero
        csrr    t1, hip
        ASSERT_MASKED(t1, VS_IRQS, 0)
        csrr    t1, mip
        ASSERT_MASKED(t1, VS_IRQS, 0)
        // Through hip only VSSIP can be written.
        li      t0, VS_IRQS
        csrs    hip, t0
        csrr    t1, hvip
        ASSERT_MASKED(t1, VS_IRQS, MIP_VSSIP)
        csrr    t1, hip
        ASSERT_MASKED(t1, VS_IRQS, MIP_VSSIP)
        csrci   hip, MIP_VSSIP
        csrr    t1, hvip
        ASSERT_MASKED(t1, VS_IRQS, 0)
        // mip.VSSIP is the same bit.
        csrsi   mip, MIP_VSSIP
        csrr    t1, hvip
        ASSERT_MASKED(t1, VS_IRQS, MIP_VSSIP)
        csrw    hvip, zero
        csrr    t1, mip
        ASSERT_MASKED(t1, VS_IRQS, 0)
        li      t0, -1
        csrw    hie, t0
        csrr    t1, hie
        csrr    t2, mie
        csrw    hie, zero
        ASSERT_MASKED(t1, VS_IRQS | S_IRQS, VS_IRQS)
        ASSERT_MASKED(t2, VS_IRQS, VS_IRQS)
        // SGEIE must be writable when guest external interrupts exist (GEILEN > 0); otherwise
        // SGEIP can never be pending and either choice is allowed.
        beqz    s0, 3f
        ASSERT_MASKED(t1, MIP_SGEIP, MIP_SGEIP)
3:      csrr    t1, sie
        csrw    mie, zero
        ASSERT_MASKED(t1, VS_IRQS, 0)
        li      t0, MIP_VSTIP
        csrs    mie, t0
        csrr    t1, hie
        csrw    mie, zero
        ASSERT_MASKED(t1, VS_IRQS, MIP_VSTIP)

        // ---- vsip/vsie follow hideleg -----------------------------------------------------------
        CHECK_LINE
        li      t0, VS_IRQS
        csrw    hvip, t0
        csrw    hie, t0
        csrr    t1, vsip
        csrr    t2, vsie
        ASSERT_MASKED(t1, S_IRQS, 0)
        ASSERT_MASKED(t2, S_IRQS, 0)
        csrw    vsie, zero                      // read-only zero: hie keeps its bits
        csrr    t1, hie
        ASSERT_MASKED(t1, VS_IRQS, VS_IRQS)
        li      t0, MIP_VSSIP | MIP_VSEIP
        csrw    hideleg, t0
        csrr    t1, vsip
        csrr    t2, vsie
        // (vsip.SEIP, the alias of hip.VSEIP, is checked in h_vsip.S.)
        ASSERT_MASKED(t1, MIP_SSIP | MIP_STIP, MIP_SSIP)
        ASSERT_MASKED(t2, S_IRQS, MIP_SSIP | MIP_SEIP)
        csrw    vsie, zero
        csrr    t1, hie
        ASSERT_MASKED(t1, VS_IRQS, MIP_VSTIP)
        csrsi   vsie, MIP_SSIP
        csrr    t1, hie
        ASSERT_MASKED(t1, VS_IRQS, MIP_VSTIP | MIP_VSSIP)
        csrci   vsip, MIP_SSIP                  // vsip.SSIP is hip.VSSIP, writable
        csrr    t1, hvip
        ASSERT_MASKED(t1, VS_IRQS, MIP_VSTIP | MIP_VSEIP)
        csrw    hvip, zero
        csrw    hie, zero
        csrw    hideleg, zero

        // ---- hgatp ------------------------------------------------------------------------------
        CHECK_LINE
        la      s1, groot
        srli    s1, s1, 12
        li      t0, HGATP_MODE_SV39X4
        or      s2, s1, t0
        csrw    hgatp, s2
        csrr    t1, hgatp
        ASSERT_EQ_REG(t1, s2)
        csrw    hgatp, zero
        csrr    t1, hgatp
        ASSERT_EQ(t1, 0)
        li      t0, HGATP_MODE_SV48X4
        or      t0, s1, t0
        csrw    hgatp, t0
        csrr    t1, hgatp
        srli    t2, t1, 60
        li      t3, 9
        bne     t2, t3, 5f                      // Sv48x4 is optional
        ASSERT_EQ_REG(t1, t0)
5:      // VMID: the implemented bits are VMID[VMIDLEN-1:0].
        li      t0, HGATP_VMID
        or      t0, s2, t0
        csrw    hgatp, t0
        csrr    t1, hgatp
        csrw    hgatp, zero
        srli    t2, t1, 44
        li      t0, 0x3fff
        and     t2, t2, t0
        addi    t0, t2, 1
        and     t0, t0, t2
        ASSERT_EQ(t0, 0)
        li      t0, HGATP_VMID
        not     t0, t0
        and     t1, t1, t0
        ASSERT_EQ_REG(t1, s2)
        hfence.gvma

        // ---- Plain read/write registers ---------------------------------------------------------
        CHECK_LINE
        li      s1, PATTERN
        csrw    htimedelta, s1
        csrr    t1, htimedelta
        csrw    htimedelta, zero
        ASSERT_EQ_REG(t1, s1)
        csrr    s3, vsscratch                   // the VS trap stack: restored at once
        csrw    vsscratch, s1
        csrr    t1, vsscratch
        csrw    vsscratch, s3
        ASSERT_EQ_REG(t1, s1)
        li      t0, 0x80001236
        csrw    vsepc, t0
        csrr    t1, vsepc
        ASSERT_EQ(t1, 0x80001236)
        li      t0, CAUSE_LOAD_PAGE_FAULT
        csrw    vscause, t0
        csrr    t1, vscause
        ASSERT_EQ(t1, CAUSE_LOAD_PAGE_FAULT)
        li      t0, CAUSE_INTERRUPT | IRQ_S_TIMER
        csrw    vscause, t0
        csrr    t1, vscause
        ASSERT_EQ(t1, CAUSE_INTERRUPT | IRQ_S_TIMER)
        li      t0, 0x12345678
        csrw    vstval, t0
        csrr    t1, vstval
        ASSERT_EQ(t1, 0x12345678)
        la      t0, isa_trap_s                  // 64-byte aligned: a valid direct-mode base
        csrw    vstvec, t0
        csrr    t1, vstvec
        ASSERT_EQ_REG(t1, t0)
        la      t0, isa_trap_vs
        csrw    vstvec, t0
        la      t0, groot
        srli    t0, t0, 12
        li      t1, SATP_MODE_SV39
        or      s2, t0, t1
        csrw    vsatp, s2
        csrr    t1, vsatp
        csrw    vsatp, zero
        li      t0, 0xffff << 44                // ASID: WARL
        not     t0, t0
        and     t1, t1, t0
        ASSERT_EQ_REG(t1, s2)
        csrr    t1, vsatp
        ASSERT_EQ(t1, 0)
        li      t0, SSTATUS_RW
        csrs    vsstatus, t0
        csrr    t1, vsstatus
        csrc    vsstatus, t0
        csrr    t2, vsstatus
        ASSERT_MASKED(t1, SSTATUS_RW, SSTATUS_RW)
        ASSERT_MASKED(t2, SSTATUS_RW, 0)
        ASSERT_MASKED(t2, MSTATUS_UXL, MSTATUS_UXL_64)
        // The HS-level sstatus did not see any of that.
        csrr    t1, sstatus
        ASSERT_MASKED(t1, SSTATUS_RW, 0)
        csrw    htval, zero
        csrr    t1, htval
        ASSERT_EQ(t1, 0)
        csrw    htinst, zero
        csrr    t1, htinst
        ASSERT_EQ(t1, 0)
        csrw    mtval2, zero
        csrr    t1, mtval2
        ASSERT_EQ(t1, 0)
        csrw    mtinst, zero
        csrr    t1, mtinst
        ASSERT_EQ(t1, 0)
        csrw    hcounteren, zero
        csrr    t1, hcounteren
        ASSERT_EQ(t1, 0)
        csrw    henvcfg, zero
        csrr    t1, henvcfg
        ASSERT_MASKED(t1, 1, 0)

        // ---- From HS: every h* and vs* CSR, not the M ones --------------------------------------
        CHECK_LINE
        M_ENTER_S(hs_code1)
hs_code1:
        csrr    t0, hstatus
        csrr    t0, hedeleg
        csrr    t0, hideleg
        csrr    t0, hvip
        csrr    t0, hip
        csrr    t0, hie
        csrr    t0, hgeip
        csrr    t0, hgeie
        csrr    t0, henvcfg
        csrr    t0, hcounteren
        csrr    t0, htimedelta
        csrr    t0, htval
        csrr    t0, htinst
        csrr    t0, hgatp
        csrr    t0, vsstatus
        csrr    t0, vsie
        csrr    t0, vsip
        csrr    t0, vstvec
        csrr    t0, vsscratch
        csrr    t0, vsepc
        csrr    t0, vscause
        csrr    t0, vstval
        csrr    t0, vsatp
        li      t0, PATTERN
        csrw    vsscratch, t0
        csrr    t1, vsscratch
        csrw    vsscratch, s3
        ASSERT_EQ_REG(t1, t0)
        csrw    htimedelta, zero
        hfence.vvma
        hfence.gvma
        TRAP(csrr t0, mtval2)
        ASSERT_ILLEGAL
        TRAP(csrr t0, mtinst)
        ASSERT_ILLEGAL
        ECALL_TO(m_back1)
m_back1:

        // ---- From U (V = 0): none of them -------------------------------------------------------
        CHECK_LINE
        M_ENTER_U(u_code)
u_code:
        TRAP(csrr t0, hstatus)
        ASSERT_ILLEGAL
        TRAP(csrw hedeleg, zero)
        ASSERT_ILLEGAL
        TRAP(csrr t0, hgatp)
        ASSERT_ILLEGAL
        TRAP(csrr t0, htimedelta)
        ASSERT_ILLEGAL
        TRAP(csrr t0, vsstatus)
        ASSERT_ILLEGAL
        TRAP(csrw vsscratch, zero)
        ASSERT_ILLEGAL
        TRAP(csrr t0, vsatp)
        ASSERT_ILLEGAL
        TRAP(hfence.vvma)
        ASSERT_ILLEGAL
        TRAP(hfence.gvma)
        ASSERT_ILLEGAL
        ECALL_TO(m_back2)
m_back2:
        ASSERT_EQ(s9, CAUSE_USER_ECALL)
        j       pass

        .bss
        .balign 16384
groot:  .space 16384
