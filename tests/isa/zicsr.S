/*
 * zicsr: the CSR instructions (unprivileged ISA 20191213, chapter 9) and the machine information
 * and counter CSRs (privileged spec 1.12, 2 and 3.1).
 *   - csrrw/csrrs/csrrc and the immediate forms return the old value and write new = value,
 *     old | value, old & ~value (immediates zero-extended), also with rd = rs1.
 *   - rd = x0 still writes; rs1 = x0 (or uimm = 0) for csrrs/csrrc does not write at all, so it
 *     may read a read-only CSR, while any write attempt to one (csrrw even with rd = x0) is an
 *     illegal instruction. (csrrs/csrrc with rs1 != x0 holding 0 are in zicsr_ro_write.S.)
 *   - CSR numbers encode the lowest privilege allowed: S cannot touch M CSRs, U cannot touch S CSRs.
 *   - misa reports RV64 (MXL = 2) with I, M, A, F, D, C, S and U (or reads 0: not implemented,
 *     which the spec allows); mhartid equals the hartid a0 held at entry.
 *   - mcycle, minstret and time advance; cycle/instret/time alias them; time follows CLINT mtime.
 *   - mcounteren/scounteren gate cycle, time and instret for S and U; their bits are WARL, so
 *     each is read back and a read must trap exactly when the bits that govern it are clear.
 */
#include "isa.h"

// mscratch holds the M trap stack, so every check puts it back (from s6) before comparing: a
// failing check must still be able to report. Sets mscratch to init, runs op with src, and checks
// the returned old value and the new content.
#define TEST_CSR(op, init, src, old, new) \
        li gp, __LINE__; li t0, init; csrw mscratch, t0; li t1, src; op t2, mscratch, t1; \
        csrr t0, mscratch; csrw mscratch, s6; \
        li t6, old; bne t2, t6, 79f; li t6, new; beq t0, t6, 77f; 79: j fail; 77:
#define TEST_CSRI(op, init, imm, old, new) \
        li gp, __LINE__; li t0, init; csrw mscratch, t0; op t2, mscratch, imm; \
        csrr t0, mscratch; csrw mscratch, s6; \
        li t6, old; bne t2, t6, 79f; li t6, new; beq t0, t6, 77f; 79: j fail; 77:
// Runs probe_counters in the given mode; a2 comes back with bit 0/1/2 set for each of cycle,
// time, instret read without trapping. Must be called from M with s2 = the continuation.
#define PROBE(mode_enter) la s2, 1f; mode_enter(probe_counters); 1:

        .text
        .globl test_main
test_main:
        // mscratch and sscratch hold the runtime's trap stacks: keep them while they serve as
        // test registers, and restore them before anything can trap.
        csrr    s6, mscratch
        csrr    s7, sscratch
        // ---- Read-modify-write semantics on a full-width scratch CSR -------------------------------
        TEST_CSR(csrrw, 0x0123456789abcdef, 0xfedcba9876543210, 0x0123456789abcdef, 0xfedcba9876543210)
        TEST_CSR(csrrs, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xff00ff00ff00ff00, 0xfff0fff0fff0fff0)
        TEST_CSR(csrrc, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xff00ff00ff00ff00, 0xf000f000f000f000)
        TEST_CSR(csrrs, 0x8000000000000001, 0, 0x8000000000000001, 0x8000000000000001)
        TEST_CSRI(csrrwi, -1, 31, -1, 31)
        TEST_CSRI(csrrsi, 0x8000000000000000, 0x15, 0x8000000000000000, 0x8000000000000015)
        TEST_CSRI(csrrci, -1, 0x1f, -1, 0xffffffffffffffe0)
        TEST_CSRI(csrrsi, 5, 0, 5, 5)
        TEST_CSRI(csrrci, 5, 0, 5, 5)
        // rd = rs1: the old value lands in the register that supplied the new one.
        CHECK_LINE
        li      t0, 11
        csrw    mscratch, t0
        li      t1, 22
        csrrw   t1, mscratch, t1
        csrr    a2, mscratch
        li      a1, 1
        csrrs   a1, mscratch, a1
        csrr    a3, mscratch
        csrw    mscratch, s6
        ASSERT_EQ(t1, 11)
        ASSERT_EQ(a2, 22)
        ASSERT_EQ(a1, 22)
        ASSERT_EQ(a3, 23)
        // rd = x0 writes; rs1 = x0 leaves the CSR alone.
        li      t0, 0x55
        csrrw   x0, mscratch, t0
        csrr    a1, mscratch
        csrrsi  x0, mscratch, 0x2
        csrrci  x0, mscratch, 0x1
        csrr    a2, mscratch
        csrrs   a3, mscratch, x0
        csrrc   a4, mscratch, x0
        csrr    a5, mscratch
        // The S-mode scratch register is separate and full width too.
        li      t0, 0x8000000000000abc
        csrw    sscratch, t0
        csrr    a6, sscratch
        csrr    a7, mscratch
        csrw    mscratch, s6
        csrw    sscratch, s7
        ASSERT_EQ(a1, 0x55)
        ASSERT_EQ(a2, 0x56)
        ASSERT_EQ(a3, 0x56)
        ASSERT_EQ(a4, 0x56)
        ASSERT_EQ(a5, 0x56)
        ASSERT_EQ(a6, 0x8000000000000abc)
        ASSERT_EQ(a7, 0x56)

        // ---- Read-only CSRs: reads are fine, any write attempt is illegal -----------------------------
        CHECK_LINE
        csrr    t2, mvendorid
        csrr    t2, marchid
        csrr    t2, mimpid
        csrrs   t2, mhartid, x0
        csrrc   t2, mhartid, x0
        csrrsi  t2, mhartid, 0
        csrrci  t2, mhartid, 0
        li      t1, 0
        TRAP(csrw mhartid, t1)
        ASSERT_ILLEGAL
        TRAP(csrrw x0, mvendorid, x0)
        ASSERT_ILLEGAL
        TRAP(csrrwi x0, marchid, 0)
        ASSERT_ILLEGAL
        TRAP(csrrsi t2, mimpid, 1)
        ASSERT_ILLEGAL
        TRAP(csrrci t2, mhartid, 2)
        ASSERT_ILLEGAL
        li      t2, 1
        TRAP(csrrw t2, cycle, t1)
        ASSERT_ILLEGAL
        TRAP(csrrs t2, time, t2)
        ASSERT_ILLEGAL
        TRAP(csrrc t2, instret, t2)
        ASSERT_ILLEGAL

        // ---- misa and mhartid ----------------------------------------------------------------------
        CHECK_LINE
        csrr    t0, misa
        beqz    t0, 1f
        // MXL = 2 (bits 63:62); A=0 C=2 D=3 F=5 I=8 M=12 S=18 U=20.
        ASSERT_MASKED(t0, 0xc000000000000000, 0x8000000000000000)
        ASSERT_MASKED(t0, (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20), (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20))
1:      csrr    t0, mhartid
        la      t1, isa_boot_a0
        ld      t1, 0(t1)
        ASSERT_EQ_REG(t0, t1)
        ASSERT_EQ(t0, 0)

        // ---- Counters advance ------------------------------------------------------------------------
        // mcountinhibit (if it exists) might have any value after reset: clear it.
        la      tp, 2f
        csrw    mcountinhibit, zero
        li      tp, 0
2:      CHECK_LINE
        csrr    s0, mcycle
        csrr    s1, minstret
        li      t0, 200
3:      addi    t0, t0, -1
        bnez    t0, 3b
        csrr    s2, mcycle
        csrr    s3, minstret
        bgeu    s0, s2, fail
        bgeu    s1, s3, fail
        // The unprivileged names read the same counters.
        csrr    s0, mcycle
        rdcycle s1
        csrr    s2, mcycle
        bltu    s1, s0, fail
        bltu    s2, s1, fail
        csrr    s0, minstret
        rdinstret s1
        csrr    s2, minstret
        bltu    s1, s0, fail
        bltu    s2, s1, fail
        // time follows the CLINT's mtime and eventually moves.
        li      a0, CLINT_BASE + CLINT_MTIME
        ld      s0, 0(a0)
        rdtime  s1
        ld      s2, 0(a0)
        bltu    s1, s0, fail
        bltu    s2, s1, fail
        li      t0, 2000000
4:      rdtime  s2
        bne     s2, s1, 5f
        addi    t0, t0, -1
        bnez    t0, 4b
        j       fail
5:      bltu    s2, s1, fail

        // ---- Counter access from S and U -----------------------------------------------------------
        CHECK_LINE
        csrw    mcounteren, zero
        csrw    scounteren, zero
        PROBE(M_ENTER_S)
        ASSERT_EQ(a2, 0)
        PROBE(M_ENTER_U)
        ASSERT_EQ(a2, 0)
        li      t0, 7
        csrw    mcounteren, t0
        csrr    s4, mcounteren
        andi    s4, s4, 7
        PROBE(M_ENTER_S)
        ASSERT_EQ_REG(a2, s4)
        PROBE(M_ENTER_U)
        ASSERT_EQ(a2, 0)
        li      t0, 7
        csrw    scounteren, t0
        csrr    s5, scounteren
        and     s5, s5, s4
        PROBE(M_ENTER_U)
        ASSERT_EQ_REG(a2, s5)
        PROBE(M_ENTER_S)
        ASSERT_EQ_REG(a2, s4)
        // Without mcounteren.TM, time traps in both S and U even with scounteren.TM set.
        li      t0, 5
        csrw    mcounteren, t0
        csrr    s4, mcounteren
        andi    s4, s4, 5
        csrr    s5, scounteren
        and     s5, s5, s4
        PROBE(M_ENTER_S)
        ASSERT_EQ_REG(a2, s4)
        PROBE(M_ENTER_U)
        ASSERT_EQ_REG(a2, s5)
        csrw    mcounteren, zero
        csrw    scounteren, zero

        // ---- CSR privilege: S cannot reach M CSRs, U cannot reach S CSRs ---------------------------------
        M_ENTER_S(s_mode_csrs)
s_mode_csrs:
        TRAP(csrr t2, mscratch)
        ASSERT_ILLEGAL
        TRAP(csrw mstatus, zero)
        ASSERT_ILLEGAL
        TRAP(csrr t2, mhartid)
        ASSERT_ILLEGAL
        li      t0, 0x5a
        csrw    sscratch, t0
        csrr    t2, sscratch
        ASSERT_EQ(t2, 0x5a)
        ECALL_TO(m_back_1)
m_back_1:
        csrw    sscratch, s7
        M_ENTER_U(u_mode_csrs)
u_mode_csrs:
        TRAP(csrr t2, sscratch)
        ASSERT_ILLEGAL
        TRAP(csrr t2, sstatus)
        ASSERT_ILLEGAL
        TRAP(csrw satp, zero)
        ASSERT_ILLEGAL
        TRAP(csrr t2, mstatus)
        ASSERT_ILLEGAL
        ECALL_TO(m_back_2)
m_back_2:
        j       pass

// In S or U: tries cycle, time and instret; a2 gets a bit for each one that did not trap. Returns
// to M at s2.
probe_counters:
        li      a2, 0
        la      tp, 1f
        rdcycle t2
        li      tp, 0
        ori     a2, a2, 1
1:      la      tp, 2f
        rdtime  t2
        li      tp, 0
        ori     a2, a2, 2
2:      la      tp, 3f
        rdinstret t2
        li      tp, 0
        ori     a2, a2, 4
3:      ECALL_TO(probe_back)
probe_back:
        jr      s2
