/*
 * fp_env: the floating-point environment (unprivileged ISA 20191213, 11.2 and 12.2; privileged
 * spec 1.12, 3.1.6.6).
 *   - fcsr, frm and fflags are views of one register: every access form (frcsr/fscsr, frrm/fsrm,
 *     frflags/fsflags, the immediate forms, csrs/csrc) and the ignored upper bits.
 *   - fflags accrue until software clears them.
 *   - All five rounding modes through frm (rm = DYN), and a static rm overriding frm.
 *   - frm = 101, 110 or 111 makes every operation that rounds with rm = DYN illegal, while
 *     operations without a rounding mode still run; static rm = 101 or 110 is illegal too (the
 *     20191213 table calls both "Invalid"). A trapping operation changes no flags.
 *   - NaN boxing: single-precision operations read an input whose upper 32 bits are not all ones
 *     as the canonical NaN, while transfers (fmv.x.w, fsw) pass its low bits through.
 *   - mstatus.FS: Off makes every FP instruction and every fcsr access illegal (compressed forms
 *     included); writing FP state from Initial or Clean makes FS Dirty and sets SD; sstatus shows
 *     the same FS and SD.
 */
#include "isa.h"
#include "isa_fp.h"

// ft3 = fadd.s(a, b) with rm DYN under the current frm; checks the boxed result.
#define DYN_ADD_S(a, b, res) \
        li gp, __LINE__; FP_LOAD_S(ft0, a); FP_LOAD_S(ft1, b); fadd.s ft3, ft0, ft1, dyn; \
        fmv.x.d t2, ft3; li t6, 0xffffffff00000000 | (res); beq t2, t6, 77f; j fail; 77:
#define DYN_DIV_D(a, b, res) \
        li gp, __LINE__; FP_LOAD_D(ft0, a); FP_LOAD_D(ft1, b); fdiv.d ft3, ft0, ft1, dyn; \
        fmv.x.d t2, ft3; li t6, res; beq t2, t6, 77f; j fail; 77:
#define DYN_CVT_W_S(a, res) \
        li gp, __LINE__; FP_LOAD_S(ft0, a); fcvt.w.s t2, ft0, dyn; li t6, res; beq t2, t6, 77f; j fail; 77:
// One full round of the five modes: frm = rm, then the operations that tell the modes apart.
#define ROUNDING_ROUND(rm, add_pos, add_neg, cvt_pos, cvt_neg, div_pos, div_neg) \
        fsrmi rm; frrm t2; ASSERT_EQ(t2, rm); \
        DYN_ADD_S(0x3f800000, 0x33800000, add_pos); \
        DYN_ADD_S(0xbf800000, 0xb3800000, add_neg); \
        DYN_CVT_W_S(0x40200000, cvt_pos); \
        DYN_CVT_W_S(0xc0200000, cvt_neg); \
        DYN_DIV_D(0x3ff0000000000000, 0x4008000000000000, div_pos); \
        DYN_DIV_D(0xbff0000000000000, 0x4008000000000000, div_neg)
// Sets mstatus.FS to fs.
#define SET_FS(fs) li t0, MSTATUS_FS; csrc mstatus, t0; li t0, fs; csrs mstatus, t0
// Fails unless mstatus.FS is Dirty and SD is set, in both mstatus and sstatus.
#define ASSERT_DIRTY \
        csrr t1, mstatus; ASSERT_MASKED(t1, MSTATUS_SD | MSTATUS_FS, MSTATUS_SD | MSTATUS_FS_DIRTY); \
        csrr t1, sstatus; ASSERT_MASKED(t1, MSTATUS_SD | MSTATUS_FS, MSTATUS_SD | MSTATUS_FS_DIRTY)

        .text
        .globl test_main
test_main:
        // ---- fcsr = frm << 5 | fflags ---------------------------------------------------------------
        CHECK_LINE
        li      t0, 0xff
        fscsr   t1, t0
        frcsr   t2
        ASSERT_EQ(t2, 0xff)
        frrm    t2
        ASSERT_EQ(t2, 7)
        frflags t2
        ASSERT_EQ(t2, 0x1f)
        li      t0, -1
        fscsr   t0
        frcsr   t2
        ASSERT_EQ(t2, 0xff)
        fsrmi   2
        frcsr   t2
        ASSERT_EQ(t2, 0x5f)
        fsflagsi 0x3
        frcsr   t2
        ASSERT_EQ(t2, 0x43)
        li      t0, 0xfc
        fsrm    t1, t0
        ASSERT_EQ(t1, 2)
        frcsr   t2
        ASSERT_EQ(t2, 0x83)
        li      t0, 0xe5
        fsflags t1, t0
        ASSERT_EQ(t1, 3)
        frcsr   t2
        ASSERT_EQ(t2, 0x85)
        csrsi   fflags, 0x8
        csrci   fflags, 0x1
        frcsr   t2
        ASSERT_EQ(t2, 0x8c)
        li      t0, 1 << 5
        csrs    fcsr, t0
        frrm    t2
        ASSERT_EQ(t2, 5)
        csrci   frm, 4
        frcsr   t2
        ASSERT_EQ(t2, 0x2c)
        csrrwi  t2, fflags, 0
        ASSERT_EQ(t2, 0x0c)
        csrrwi  t2, frm, 0
        ASSERT_EQ(t2, 1)
        frcsr   t2
        ASSERT_EQ(t2, 0)

        // ---- fflags accrue --------------------------------------------------------------------------
        CHECK_LINE
        fsflags zero
        FP_LOAD_S(ft0, 0x3f800000)              // 1.0
        FP_LOAD_S(ft1, 0x33800000)              // 2^-24
        fadd.s  ft3, ft0, ft1, rne              // NX
        frflags t2
        ASSERT_EQ(t2, FFLAG_NX)
        FP_LOAD_S(ft1, 0x00000000)
        fdiv.s  ft3, ft0, ft1, rne              // DZ
        fadd.s  ft3, ft0, ft0, rne              // exact: nothing
        frflags t2
        ASSERT_EQ(t2, FFLAG_NX | FFLAG_DZ)
        FP_LOAD_S(ft1, 0xbf800000)
        fsqrt.s ft3, ft1, rne                   // NV
        frflags t2
        ASSERT_EQ(t2, FFLAG_NX | FFLAG_DZ | FFLAG_NV)
        FP_LOAD_D(ft0, 0x7fefffffffffffff)
        fadd.d  ft3, ft0, ft0, rne              // OF, NX
        frflags t2
        ASSERT_EQ(t2, FFLAG_NX | FFLAG_DZ | FFLAG_NV | FFLAG_OF)
        FP_LOAD_D(ft0, 0x0000000000000001)
        FP_LOAD_D(ft1, 0x3fe0000000000000)
        fmul.d  ft3, ft0, ft1, rne              // UF, NX
        frflags t2
        ASSERT_EQ(t2, 0x1f)
        feq.s   t2, ft0, ft0                    // no new flags, old ones stay
        frflags t2
        ASSERT_EQ(t2, 0x1f)

        // ---- The five rounding modes through frm ------------------------------------------------------
        //             rm  1 + 2^-24   -1 - 2^-24  cvt(2.5) cvt(-2.5) 1/3 (double)         -1/3 (double)
        ROUNDING_ROUND(0, 0x3f800000, 0xbf800000, 2, -2, 0x3fd5555555555555, 0xbfd5555555555555)
        ROUNDING_ROUND(1, 0x3f800000, 0xbf800000, 2, -2, 0x3fd5555555555555, 0xbfd5555555555555)
        ROUNDING_ROUND(2, 0x3f800000, 0xbf800001, 2, -3, 0x3fd5555555555555, 0xbfd5555555555556)
        ROUNDING_ROUND(3, 0x3f800001, 0xbf800000, 3, -2, 0x3fd5555555555556, 0xbfd5555555555555)
        ROUNDING_ROUND(4, 0x3f800001, 0xbf800001, 3, -3, 0x3fd5555555555555, 0xbfd5555555555555)
        // A static rounding mode overrides frm.
        CHECK_LINE
        fsrmi   3
        FP_LOAD_S(ft0, 0x3f800000)
        FP_LOAD_S(ft1, 0x33800000)
        fadd.s  ft3, ft0, ft1, rtz
        fmv.x.w t2, ft3
        ASSERT_EQ(t2, 0x3f800000)
        fsrmi   1
        fadd.s  ft3, ft0, ft1, rup
        fmv.x.w t2, ft3
        ASSERT_EQ(t2, 0x3f800001)
        li      t0, 0x1000001
        fcvt.s.w ft3, t0, rmm
        fmv.x.w t2, ft3
        ASSERT_EQ(t2, 0x4b800001)

        // ---- Reserved rounding modes -----------------------------------------------------------------
        FP_LOAD_D(ft0, 0x3ff0000000000000)
        FP_LOAD_D(ft1, 0x4000000000000000)
        FP_LOAD_D(ft2, 0x4008000000000000)
        fsflags zero
        fsrmi   5
        TRAP(fadd.s ft3, ft0, ft1, dyn)
        ASSERT_ILLEGAL
        TRAP(fmul.d ft3, ft0, ft1, dyn)
        ASSERT_ILLEGAL
        TRAP(fsqrt.s ft3, ft0, dyn)
        ASSERT_ILLEGAL
        TRAP(fmadd.d ft3, ft0, ft1, ft2, dyn)
        ASSERT_ILLEGAL
        TRAP(fcvt.w.s t2, ft0, dyn)
        ASSERT_ILLEGAL
        TRAP(fcvt.s.d ft3, ft0, dyn)
        ASSERT_ILLEGAL
        TRAP(fcvt.s.l ft3, t0, dyn)
        ASSERT_ILLEGAL
        fsrmi   6
        TRAP(fdiv.s ft3, ft0, ft1, dyn)
        ASSERT_ILLEGAL
        TRAP(fcvt.lu.d t2, ft0, dyn)
        ASSERT_ILLEGAL
        fsrmi   7
        TRAP(fsub.d ft3, ft0, ft1, dyn)
        ASSERT_ILLEGAL
        TRAP(fnmsub.s ft3, ft0, ft1, ft2, dyn)
        ASSERT_ILLEGAL
        TRAP(fcvt.d.lu ft3, t0, dyn)
        ASSERT_ILLEGAL
        // Operations without a rounding mode do not care about frm.
        CHECK_LINE
        FP_LOAD_D(ft0, 0x3ff0000000000000)
        FP_LOAD_D(ft1, 0xc000000000000000)
        fsgnj.d ft3, ft0, ft1
        fmv.x.d t2, ft3
        ASSERT_EQ(t2, 0xbff0000000000000)
        fmin.d  ft3, ft0, ft1
        fmv.x.d t2, ft3
        ASSERT_EQ(t2, 0xc000000000000000)
        fle.d   t2, ft1, ft0
        ASSERT_EQ(t2, 1)
        fclass.d t2, ft0
        ASSERT_EQ(t2, 0x40)
        // Static rm = 101 and 110 (fadd.s, fdiv.d, fsqrt.s, fcvt.w.s, fmadd.s).
        fsrmi   0
        TRAP(.insn r 0x53, 5, 0x00, ft3, ft0, ft1)
        ASSERT_ILLEGAL
        TRAP(.insn r 0x53, 6, 0x0d, ft3, ft0, ft1)
        ASSERT_ILLEGAL
        TRAP(.insn r 0x53, 6, 0x2c, ft3, ft0, f0)
        ASSERT_ILLEGAL
        TRAP(.insn r 0x53, 5, 0x60, t2, ft0, x0)
        ASSERT_ILLEGAL
        TRAP(.insn r4 0x43, 5, 0, ft3, ft0, ft1, ft2)
        ASSERT_ILLEGAL
        // None of the trapping operations raised a flag.
        frflags t2
        ASSERT_EQ(t2, 0)

        // ---- NaN boxing ----------------------------------------------------------------------------
        CHECK_LINE
        li      t0, 0x000000003f800000           // 1.0f, not boxed
        fmv.d.x ft0, t0
        li      t0, 0xfffffffe3f800000           // 1.0f, not boxed either
        fmv.d.x ft2, t0
        li      t0, 0x3f800000
        fmv.w.x ft1, t0                          // 1.0f, boxed
        fsflags zero
        fadd.s  ft3, ft0, ft1
        fmv.x.d t2, ft3
        ASSERT_EQ(t2, 0xffffffff7fc00000)
        fmul.s  ft3, ft1, ft2
        fmv.x.d t2, ft3
        ASSERT_EQ(t2, 0xffffffff7fc00000)
        fsgnj.s ft3, ft0, ft1                    // canonical NaN, sign of +1.0
        fmv.x.d t2, ft3
        ASSERT_EQ(t2, 0xffffffff7fc00000)
        fsgnjn.s ft3, ft1, ft0                   // 1.0 with the inverted sign of +NaN
        fmv.x.d t2, ft3
        ASSERT_EQ(t2, 0xffffffffbf800000)
        fmin.s  ft3, ft0, ft1                    // the canonical NaN is quiet: the number, no NV
        fmv.x.d t2, ft3
        ASSERT_EQ(t2, 0xffffffff3f800000)
        fmadd.s ft3, ft1, ft1, ft0
        fmv.x.d t2, ft3
        ASSERT_EQ(t2, 0xffffffff7fc00000)
        fcvt.d.s ft3, ft0
        fmv.x.d t2, ft3
        ASSERT_EQ(t2, 0x7ff8000000000000)
        fclass.s t2, ft0
        ASSERT_EQ(t2, 0x200)
        feq.s   t2, ft0, ft0
        ASSERT_EQ(t2, 0)
        frflags t2
        ASSERT_EQ(t2, 0)
        fcvt.w.s t2, ft0, rtz
        ASSERT_EQ(t2, 0x7fffffff)
        frflags t2
        ASSERT_EQ(t2, FFLAG_NV)
        // Transfers out do not look at the upper bits.
        fmv.x.w t2, ft0
        ASSERT_EQ(t2, 0x3f800000)
        la      a0, scratch
        fsw     ft2, 0(a0)
        lwu     t2, 0(a0)
        ASSERT_EQ(t2, 0x3f800000)
        // A double in a register is not a boxed single.
        FP_LOAD_D(ft0, 0x3ff0000000000000)
        fadd.s  ft3, ft0, ft0
        fmv.x.d t2, ft3
        ASSERT_EQ(t2, 0xffffffff7fc00000)

        // ---- mstatus.FS = Off: every FP instruction and fcsr access is illegal ------------------------
        CHECK_LINE
        csrr    s0, mstatus
        ASSERT_MASKED(s0, MSTATUS_FS, MSTATUS_FS_DIRTY)
        fsflags zero
        fsrmi   3
        SET_FS(0)
        csrr    t1, mstatus
        ASSERT_MASKED(t1, MSTATUS_FS, 0)
        // SD summarises FS, VS (bits 10:9) and XS (bits 16:15); with the others clean it must be 0.
        li      t0, (3 << 9) | (3 << 15)
        and     t0, t1, t0
        bnez    t0, 1f
        ASSERT_MASKED(t1, MSTATUS_SD, 0)
1:      la      a0, scratch
        TRAP(fadd.s ft3, ft0, ft1)
        ASSERT_ILLEGAL
        TRAP(fmadd.d ft3, ft0, ft1, ft2)
        ASSERT_ILLEGAL
        TRAP(flw ft0, 0(a0))
        ASSERT_ILLEGAL
        TRAP(fsw ft0, 0(a0))
        ASSERT_ILLEGAL
        TRAP(fld ft0, 0(a0))
        ASSERT_ILLEGAL
        TRAP(fsd ft0, 0(a0))
        ASSERT_ILLEGAL
        TRAP(fmv.x.w t2, ft0)
        ASSERT_ILLEGAL
        TRAP(fmv.w.x ft0, t2)
        ASSERT_ILLEGAL
        TRAP(fmv.x.d t2, ft0)
        ASSERT_ILLEGAL
        TRAP(fmv.d.x ft0, t2)
        ASSERT_ILLEGAL
        TRAP(fsgnj.s ft3, ft0, ft1)
        ASSERT_ILLEGAL
        TRAP(fclass.d t2, ft0)
        ASSERT_ILLEGAL
        TRAP(feq.d t2, ft0, ft1)
        ASSERT_ILLEGAL
        TRAP(fcvt.s.w ft3, t2)
        ASSERT_ILLEGAL
        TRAP(fcvt.l.d t2, ft0)
        ASSERT_ILLEGAL
        TRAP(frcsr t2)
        ASSERT_ILLEGAL
        TRAP(fscsr t2)
        ASSERT_ILLEGAL
        TRAP(frflags t2)
        ASSERT_ILLEGAL
        TRAP(fsrmi 1)
        ASSERT_ILLEGAL
        TRAP(csrrs t2, frm, x0)
        ASSERT_ILLEGAL
        TRAP(c.fld fa0, 0(a0))
        ASSERT_ILLEGAL
        TRAP(c.fsd fa0, 0(a0))
        ASSERT_ILLEGAL
        TRAP(c.fldsp ft0, 0(sp))
        ASSERT_ILLEGAL
        TRAP(c.fsdsp ft0, 0(sp))
        ASSERT_ILLEGAL
        csrr    t1, mstatus
        ASSERT_MASKED(t1, MSTATUS_FS, 0)
        // fcsr survived being unreachable.
        SET_FS(MSTATUS_FS_CLEAN)
        frcsr   t2
        ASSERT_EQ(t2, 3 << 5)

        // ---- Writing FP state from Initial or Clean makes FS Dirty and sets SD ------------------------
        CHECK_LINE
        SET_FS(MSTATUS_FS_INITIAL)
        fmv.w.x ft0, zero
        ASSERT_DIRTY
        SET_FS(MSTATUS_FS_CLEAN)
        csrr    t1, mstatus
        ASSERT_MASKED(t1, MSTATUS_FS, MSTATUS_FS_CLEAN)
        csrr    t1, sstatus
        ASSERT_MASKED(t1, MSTATUS_FS, MSTATUS_FS_CLEAN)
        FP_LOAD_D(ft1, 0x3ff0000000000000)
        ASSERT_DIRTY
        SET_FS(MSTATUS_FS_CLEAN)
        fadd.d  ft2, ft1, ft1
        ASSERT_DIRTY
        SET_FS(MSTATUS_FS_CLEAN)
        la      a0, scratch
        fld     ft2, 0(a0)
        ASSERT_DIRTY
        SET_FS(MSTATUS_FS_INITIAL)
        csrwi   fflags, 1
        ASSERT_DIRTY
        SET_FS(MSTATUS_FS_CLEAN)
        fsrmi   0
        ASSERT_DIRTY
        // sstatus.FS is the same field: writing it through sstatus changes mstatus.
        li      t0, MSTATUS_FS
        csrc    sstatus, t0
        csrr    t1, mstatus
        ASSERT_MASKED(t1, MSTATUS_FS, 0)
        SET_FS(MSTATUS_FS_DIRTY)
        j       pass

        .data
        .balign 8
scratch:
        .dword  0, 0
