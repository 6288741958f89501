/*
 * h_hlv: the virtual-machine loads and stores HLV, HLVX and HSV run in HS, M and (with
 * hstatus.HU) U-mode (privileged spec 1.12, 8.3.1, 8.4.1 "MPRV does not affect the virtual-machine
 * load/store instructions"). Translation is two-stage (vsatp Sv39 over hgatp Sv39x4) as for VS
 * (hstatus.SPVP = 1) or VU (SPVP = 0).
 *   - HLV.B/BU/H/HU/W/WU/D read with the right width and extension; HSV.B/H/W/D write.
 *   - HLVX.HU/WU read a page both stages let them execute (and read); HLV cannot read a G-stage
 *     execute-only page (21). (HLVX reading execute-only pages and faulting on non-executable
 *     ones: h_hlvx.S; HLV on a VS-stage execute-only page: h_hlv_xo.S.)
 *   - Missing W at the G-stage: store guest-page fault (23); an unmapped guest physical address:
 *     21/23. (Faults at the VS stage: h_hlv_pf.S.)
 *   - SPVP: as VU (0), U pages work; as VS (1), U pages work with vsstatus.SUM. (MXR:
 *     h_hlv_mxr.S.)
 *   - Faults are traps from V = 0: into HS, SPV = 0 and SPVP unchanged but GVA = 1, stval = the
 *     guest virtual address, htval = the guest physical address >> 2, htinst 0 or the transformed
 *     instruction; into M, the same in mtval, mtval2, mtinst, with MPV = 0 (mstatus.GVA:
 *     h_mstatus_gva_hlv.S).
 *   - U-mode: allowed with hstatus.HU = 1, an illegal instruction with HU = 0.
 *   - M-mode with MPRV = 1 (MPP = U, MPV = 0) still translates HLV as SPVP and V = 1 say.
 * (HLV in VS/VU: h_virtinst.S and h_hlv_vtval.S.)
 */
#define ISA_HYP 1
#include "isa.h"

// Guest physical addresses (G-stage, Sv39x4).
#define GPA_P       0x100000000         // -> pg_p, RW
#define GPA_XOR     0x100001000         // -> xo_page, R and X
#define GPA_GXO     0x100002000         // -> xo_page, X only
#define GPA_GRO     0x100004000         // -> pg_p, R only
#define GPA_NOG     0x100005000         // not mapped
// Guest virtual addresses (VS-stage, Sv39).
#define GVA_S       0x400000000         // -> GPA_P, RW
#define GVA_U       0x400001000         // -> GPA_P, RW, U
#define GVA_XO      0x400002000         // -> GPA_XOR, X only
#define GVA_GXO     0x400003000         // -> GPA_GXO, RWX
#define GVA_RX      0x40000a000         // -> GPA_XOR, R and X
#define GVA_GRO     0x400008000         // -> GPA_GRO, RW (the G-stage says R)
#define GVA_NOG     0x400009000         // -> GPA_NOG, RW
#define G_U         (PTE_V | PTE_U | PTE_A | PTE_D)
#define VS_AD       (PTE_V | PTE_A | PTE_D)
#define DATA        0xf1e2d3c4b5a69788
// The bits of an HLV/HLVX/HSV that its transformed form keeps (all but rs1).
#define TINST_HLSV  0xfff07fff

// insn must fault with cause c at the guest virtual address in r (guest physical address gpa
// for htval/mtval2, or 0), taken by the handler s3 names.
#define HFAULT(c, r, gpa, insn...) \
        TRAP(insn); li a0, c; mv a1, r; li a2, gpa; mv a3, t5; mv a6, s3; call check_hfault
// rd = insn must be v.
#define HTEST(v, insn...) li gp, __LINE__; insn; li t6, v; beq t2, t6, 77f; j fail; 77:

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
        PT_MAP_SYM(s1, GPA_XOR, xo_page, 0, G_U | PTE_R | PTE_X, 3, 11)
        PT_MAP_SYM(s1, GPA_GXO, xo_page, 0, G_U | PTE_X, 3, 11)
        PT_MAP_SYM(s1, GPA_GRO, pg_p, 0, G_U | PTE_R, 3, 11)
        PT_MAP(s2, GVA_S, GPA_P, 0, VS_AD | PTE_R | PTE_W, 3, 9)
        PT_MAP(s2, GVA_U, GPA_P, 0, VS_AD | PTE_R | PTE_W | PTE_U, 3, 9)
        PT_MAP(s2, GVA_XO, GPA_XOR, 0, VS_AD | PTE_X, 3, 9)
        PT_MAP(s2, GVA_GXO, GPA_GXO, 0, VS_AD | PTE_R | PTE_W | PTE_X, 3, 9)
        PT_MAP(s2, GVA_RX, GPA_XOR, 0, VS_AD | PTE_R | PTE_X, 3, 9)
        PT_MAP(s2, GVA_GRO, GPA_GRO, 0, VS_AD | PTE_R | PTE_W, 3, 9)
        PT_MAP(s2, GVA_NOG, GPA_NOG, 0, VS_AD | PTE_R | PTE_W, 3, 9)
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
        li      t0, (1 << CAUSE_LOAD_PAGE_FAULT) | (1 << CAUSE_STORE_PAGE_FAULT) | (1 << CAUSE_USER_ECALL)
        li      t1, (1 << CAUSE_LOAD_GUEST_PAGE_FAULT) | (1 << CAUSE_STORE_GUEST_PAGE_FAULT)
        or      t0, t0, t1
        ori     t0, t0, 1 << CAUSE_ILLEGAL_INSTRUCTION
        csrw    medeleg, t0
        li      s3, ISA_TAKEN_HS
        M_ENTER_S(hs_code)

// ---- HS-mode ------------------------------------------------------------------------------------
hs_code:
        // As VS (SPVP = 1): every width, both extensions.
        CHECK_LINE
        li      t0, HSTATUS_SPVP
        csrs    hstatus, t0
        li      t3, GVA_S
        HTEST(SEXT32(0xffffff88), hlv.b t2, (t3))
        HTEST(0x88, hlv.bu t2, (t3))
        HTEST(SEXT32(0xffff9788), hlv.h t2, (t3))
        HTEST(0x9788, hlv.hu t2, (t3))
        HTEST(SEXT32(0xb5a69788), hlv.w t2, (t3))
        HTEST(0xb5a69788, hlv.wu t2, (t3))
        HTEST(DATA, hlv.d t2, (t3))
        addi    t3, t3, 7
        HTEST(0xf1, hlv.bu t2, (t3))
        HTEST(SEXT32(0xfffffff1), hlv.b t2, (t3))
        li      t3, GVA_S + 16
        li      t1, 0x1122334455667788
        hsv.d   t1, (t3)
        li      t1, 0x99aa
        addi    t3, t3, 8
        hsv.h   t1, (t3)
        li      t1, 0xbb
        addi    t3, t3, 2
        hsv.b   t1, (t3)
        li      t1, 0xccddeeff
        addi    t3, t3, 2
        hsv.w   t1, (t3)
        la      t0, pg_p
        ld      t2, 16(t0)
        ASSERT_EQ(t2, 0x1122334455667788)
        ld      t2, 24(t0)
        ASSERT_EQ(t2, 0xccddeeff00bb99aa)
        li      t3, GVA_GRO
        HTEST(DATA, hlv.d t2, (t3))

        // HLVX where both stages allow reading and executing; HLV cannot read a G-stage
        // execute-only page. (HLVX on execute-only and on non-executable pages: h_hlvx.S; HLV on
        // a VS-stage execute-only page: h_hlv_xo.S.)
        CHECK_LINE
        la      t0, xo_page
        lhu     s4, 0(t0)
        lwu     s5, 0(t0)
        li      t3, GVA_RX
        hlvx.hu t2, (t3)
        ASSERT_EQ_REG(t2, s4)
        hlvx.wu t2, (t3)
        ASSERT_EQ_REG(t2, s5)
        li      t3, GVA_GXO
        HFAULT(CAUSE_LOAD_GUEST_PAGE_FAULT, t3, GPA_GXO, hlv.wu t2, (t3))

        // A store the G-stage does not allow; an unmapped guest physical address.
        li      t3, GVA_GRO + 0x18
        HFAULT(CAUSE_STORE_GUEST_PAGE_FAULT, t3, GPA_GRO + 0x18, hsv.w t2, (t3))
        li      t3, GVA_NOG + 0x20
        HFAULT(CAUSE_LOAD_GUEST_PAGE_FAULT, t3, GPA_NOG + 0x20, hlv.d t2, (t3))
        HFAULT(CAUSE_STORE_GUEST_PAGE_FAULT, t3, GPA_NOG + 0x20, hsv.b t2, (t3))
        // The faults were traps from V = 0: SPVP kept its 1.
        CHECK_LINE
        csrr    t0, hstatus
        ASSERT_MASKED(t0, HSTATUS_SPVP | HSTATUS_SPV, HSTATUS_SPVP)

        // SPVP = 1 and a U page: with vsstatus.SUM; SPVP = 0: as VU, on a U page. (The VS-stage
        // faults of these instructions: h_hlv_pf.S.)
        li      t3, GVA_U
        li      t0, MSTATUS_SUM
        csrs    vsstatus, t0
        HTEST(DATA, hlv.d t2, (t3))
        csrc    vsstatus, t0
        li      t0, HSTATUS_SPVP
        csrc    hstatus, t0
        HTEST(DATA, hlv.d t2, (t3))
        li      t1, 0x77
        hsv.b   t1, (t3)
        HTEST((DATA & ~0xff) | 0x77, hlv.d t2, (t3))
        li      t1, DATA
        hsv.d   t1, (t3)
        li      t0, HSTATUS_SPVP
        csrs    hstatus, t0

        // ---- U-mode: HU = 1 allows them, HU = 0 makes them illegal ------------------------------
        CHECK_LINE
        li      t0, HSTATUS_HU
        csrs    hstatus, t0
        S_ENTER_U(u_code1)
u_code1:
        li      t3, GVA_S
        HTEST(DATA, hlv.d t2, (t3))
        li      t1, 0x5a
        hsv.b   t1, (t3)
        HTEST((DATA & ~0xff) | 0x5a, hlv.d t2, (t3))
        li      t1, DATA
        hsv.d   t1, (t3)
        li      t3, GVA_RX
        CHECK_LINE
        hlvx.wu t2, (t3)
        ASSERT_EQ_REG(t2, s5)
        li      t3, GVA_NOG
        HFAULT(CAUSE_LOAD_GUEST_PAGE_FAULT, t3, GPA_NOG, hlv.d t2, (t3))
        ECALL_TO(hs_back1)
hs_back1:
        li      t0, HSTATUS_HU
        csrc    hstatus, t0
        S_ENTER_U(u_code2)
u_code2:
        li      t3, GVA_S
        TRAP(hlv.d t2, (t3))
        ASSERT_ILLEGAL
        TRAP(hlvx.wu t2, (t3))
        ASSERT_ILLEGAL
        TRAP(hsv.w t2, (t3))
        ASSERT_ILLEGAL
        ECALL_TO(hs_back2)
hs_back2:
        ECALL_TO(m_code)

// ---- M-mode -------------------------------------------------------------------------------------
m_code:
        // MPRV = 1 with MPP = U and MPV = 0 does not reach HLV: still VS (SPVP = 1) and two stages.
        CHECK_LINE
        li      t0, MSTATUS_MPP | MSTATUS_MPV
        csrc    mstatus, t0
        li      t0, MSTATUS_MPRV
        csrs    mstatus, t0
        li      t3, GVA_S
        hlv.d   t2, (t3)
        li      t0, MSTATUS_MPRV
        csrc    mstatus, t0
        ASSERT_EQ(t2, DATA)
        // Faults into M: mtval2, MPV = 0.
        csrw    medeleg, zero
        li      s3, ISA_TAKEN_M
        li      t3, GVA_NOG + 0x28
        HFAULT(CAUSE_LOAD_GUEST_PAGE_FAULT, t3, GPA_NOG + 0x28, hlv.d t2, (t3))
        li      t3, GVA_GRO
        HFAULT(CAUSE_STORE_GUEST_PAGE_FAULT, t3, GPA_GRO, hsv.h t2, (t3))
        csrw    vsatp, zero
        csrw    hgatp, zero
        hfence.gvma
        hfence.vvma
        j       pass

// ---- After an expected fault of an HLV/HLVX/HSV -------------------------------------------------
// a0 = cause, a1 = the guest virtual address, a2 = the guest physical address for htval/mtval2
// (<< 2), a3 = xepc, a6 = the handler (ISA_TAKEN_HS or ISA_TAKEN_M). The trap came from V = 0
// with a guest virtual address: hstatus.GVA = 1, SPV/MPV = 0; htinst/mtinst is 0 or the
// instruction at xepc with rs1 cleared. Fails at gp. Uses t0..t2.
check_hfault:
        bne     s9, a0, 9f
        bne     s10, a3, 9f
        bne     s11, a1, 9f
        la      t0, isa_trap_ext
        ld      t1, ISA_EXT_TAKER(t0)
        bne     t1, a6, 9f
        srli    t2, a2, 2
        li      t1, ISA_TAKEN_HS
        bne     a6, t1, 1f
        ld      t1, ISA_EXT_HTVAL(t0)
        bne     t1, t2, 9f
        ld      t1, ISA_EXT_HSTATUS(t0)
        andi    t1, t1, HSTATUS_GVA | HSTATUS_SPV
        li      t2, HSTATUS_GVA
        bne     t1, t2, 9f
        ld      t1, ISA_EXT_HTINST(t0)
        j       2f
1:      ld      t1, ISA_EXT_MTVAL2(t0)
        bne     t1, t2, 9f
        li      t1, MSTATUS_MPV                 // (mstatus.GVA: h_mstatus_gva_hlv.S)
        and     t2, s8, t1
        bnez    t2, 9f
        ld      t1, ISA_EXT_MTINST(t0)
2:      beqz    t1, 3f
        lhu     t2, 0(a3)
        lhu     t0, 2(a3)
        slli    t0, t0, 16
        or      t2, t2, t0
        li      t0, TINST_HLSV
        and     t2, t2, t0
        bne     t1, t2, 9f
3:      ret
9:      j       fail

        // An execute-only page: one small function at its start.
        .balign 4096
xo_page:
        li      a0, 0x123
        ret
        .balign 4096

        .bss
        .balign 4096
pg_p:   .space 4096
