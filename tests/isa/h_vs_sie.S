# isa-test: qemu-fail=37
/*
 * h_vs_sie: "When V=1, vsip and vsie substitute for the usual sip and sie, so instructions that
 * normally read or modify sip/sie actually access vsip/vsie instead" (privileged spec 1.12,
 * 8.2.13). With hideleg delegating VSSIP and VSEIP, hvip.VSSIP set and hie = VSSIE | VSTIE, M sees
 * vsie = SSIE and vsip = SSIP (the control); then, in one check, VS-mode must read the same
 * through sie and sip, set SEIE through sie (reading back SEIE alone, VSTIE not being delegated)
 * and clear SSIP through sip.
 *
 * QEMU 7.2 reads 0 from sie and sip in VS-mode: under QEMU this test stops at that check
 * (line 37); the manifest records that.
 */
#define ISA_HYP 1
#include "isa.h"

#define S_IRQS (MIP_SSIP | MIP_STIP | MIP_SEIP)
#define VS_SIE_CHECKS \
        csrr t0, sie; ASSERT_MASKED(t0, S_IRQS, MIP_SSIP); csrr t0, sip; ASSERT_MASKED(t0, S_IRQS, MIP_SSIP); \
        li t1, MIP_SEIP; csrw sie, t1; csrr t0, sie; ASSERT_MASKED(t0, S_IRQS, MIP_SEIP); \
        csrci sip, MIP_SSIP; csrr t0, sip; ASSERT_MASKED(t0, S_IRQS, 0)

        .text
        .globl test_main
test_main:
        li      t0, MIP_VSSIP | MIP_VSEIP
        csrw    hideleg, t0
        li      t0, MIP_VSSIP
        csrw    hvip, t0
        li      t0, MIP_VSSIP | MIP_VSTIP
        csrw    hie, t0
        csrr    t0, vsie
        ASSERT_MASKED(t0, S_IRQS, MIP_SSIP)
        csrr    t0, vsip
        ASSERT_MASKED(t0, S_IRQS, MIP_SSIP)
        M_ENTER_VS(vs_code)
vs_code:
        VS_SIE_CHECKS
        ECALL_TO(m_back)
m_back:
        csrw    hie, zero
        csrw    hvip, zero
        csrw    hideleg, zero
        j       pass
