# isa-test: qemu-fail=77
/*
 * h_hlv_pf: HLV and HSV translate as VS or VU would (privileged spec 1.12, 8.3.1), so a failure
 * at the VS stage is a page fault, 13 for a load and 15 for a store (4.3.2 step by step, as
 * adopted for VS-stage translation), taken by HS with stval = the guest virtual address,
 * hstatus.GVA = 1, SPV = 0, htval = 0. An HLV that works is the control; then, in one check:
 * HLV of a VS execute-only page, HSV to a read-only page, HLV of an invalid PTE, as VS (SPVP = 1)
 * an HLV of a U page without vsstatus.SUM (the HS-level SUM set does not help), and as VU (SPVP
 * = 0) HLV and HSV of a page without U.
 *
 * QEMU 7.2 raises load/store access faults (5/7) for all of these: under QEMU this test stops at
 * that check (line 77); the manifest records that.
 */
#define ISA_HYP 1
#include "isa.h"

#define GPA_P       0x100000000         // -> pg_p, RW
#define GPA_XOR     0x100001000         // -> pg_p, R and X
#define GVA_S       0x400000000         // -> GPA_P, RW
#define GVA_U       0x400001000         // -> GPA_P, RW, U
#define GVA_XO      0x400002000         // -> GPA_XOR, X only
#define GVA_RO      0x400003000         // -> GPA_P, R
#define GVA_INV     0x400004000         // V = 0
#define G_U         (PTE_V | PTE_U | PTE_A | PTE_D)
#define VS_AD       (PTE_V | PTE_A | PTE_D)
#define DATA        0xf1e2d3c4b5a69788
// insn through the address gva must raise page fault c (a check of its own line).
#define HPF(c, gva, insn...) li t3, gva; TRAP(insn); li a0, c; mv a3, t5; call check_pf
#define PF_CHECKS \
        HPF(CAUSE_LOAD_PAGE_FAULT, GVA_XO, hlv.wu t2, (t3)); \
        HPF(CAUSE_STORE_PAGE_FAULT, GVA_RO + 8, hsv.d t2, (t3)); \
        HPF(CAUSE_LOAD_PAGE_FAULT, GVA_INV + 16, hlv.d t2, (t3)); \
        HPF(CAUSE_LOAD_PAGE_FAULT, GVA_U, hlv.d t2, (t3)); \
        li t0, MSTATUS_SUM; csrs sstatus, t0; HPF(CAUSE_LOAD_PAGE_FAULT, GVA_U, hlv.b t2, (t3)); \
        li t0, MSTATUS_SUM; csrc sstatus, t0; li t0, HSTATUS_SPVP; csrc hstatus, t0; \
        HPF(CAUSE_LOAD_PAGE_FAULT, GVA_S, hlv.d t2, (t3)); HPF(CAUSE_STORE_PAGE_FAULT, GVA_S, hsv.d t2, (t3))

        .text
        .globl test_main
test_main:
        la      t0, pg_p
        li      t1, DATA
        sd      t1, 0(t0)
        li      a0, 4
        call    isa_pt_alloc
        mv      s1, a0
        li      a0, 1
        call    isa_pt_alloc
        mv      s2, a0
        PT_MAP(s1, RAM_BASE, RAM_BASE, 2, G_U | PTE_R | PTE_W | PTE_X, 3, 11)
        PT_MAP_SYM(s1, GPA_P, pg_p, 0, G_U | PTE_R | PTE_W, 3, 11)
        PT_MAP_SYM(s1, GPA_XOR, pg_p, 0, G_U | PTE_R | PTE_X, 3, 11)
        PT_MAP(s2, GVA_S, GPA_P, 0, VS_AD | PTE_R | PTE_W, 3, 9)
        PT_MAP(s2, GVA_U, GPA_P, 0, VS_AD | PTE_R | PTE_W | PTE_U, 3, 9)
        PT_MAP(s2, GVA_XO, GPA_XOR, 0, VS_AD | PTE_X, 3, 9)
        PT_MAP(s2, GVA_RO, GPA_P, 0, VS_AD | PTE_R, 3, 9)
        PT_MAP(s2, GVA_INV, GPA_P, 0, PTE_A | PTE_D | PTE_R | PTE_W, 3, 9)
        srli    t0, s1, 12
        li      t1, HGATP_MODE_SV39X4
        or      t0, t0, t1
        csrw    hgatp, t0
        srli    t0, s2, 12
        li      t1, SATP_MODE_SV39
        or      t0, t0, t1
        csrw    vsatp, t0
        hfence.gvma
        hfence.vvma
        li      t0, (1 << CAUSE_LOAD_PAGE_FAULT) | (1 << CAUSE_STORE_PAGE_FAULT)
        csrw    medeleg, t0
        li      t0, HSTATUS_SPVP
        csrs    hstatus, t0
        M_ENTER_S(hs_code)
hs_code:
        li      t3, GVA_S
        hlv.d   t2, (t3)
        ASSERT_EQ(t2, DATA)
        PF_CHECKS
        ECALL_TO(m_back)
m_back:
        csrw    medeleg, zero
        csrw    vsatp, zero
        csrw    hgatp, zero
        hfence.gvma
        hfence.vvma
        j       pass

// After the fault: cause a0 at xepc a3 for the guest virtual address in t3, taken by HS from
// V = 0 (SPV = 0) with GVA = 1 and htval = 0. Fails at gp. Uses t0..t2.
check_pf:
        bne     s9, a0, 9f
        bne     s10, a3, 9f
        bne     s11, t3, 9f
        la      t0, isa_trap_ext
        ld      t1, ISA_EXT_TAKER(t0)
        li      t2, ISA_TAKEN_HS
        bne     t1, t2, 9f
        ld      t1, ISA_EXT_HTVAL(t0)
        bnez    t1, 9f
        ld      t1, ISA_EXT_HSTATUS(t0)
        andi    t1, t1, HSTATUS_GVA | HSTATUS_SPV
        li      t2, HSTATUS_GVA
        bne     t1, t2, 9f
        ret
9:      j       fail

        .bss
        .balign 4096
pg_p:   .space 4096
