/*
 * isa.h: the runtime and the check macros every Domus ISA test includes first.
 *
 * Contract with the board (QEMU `virt` map, the same one Domus emulates): the image is linked at
 * 0x80000000 and entered there in M-mode on every hart; a0 = hartid and a1 = a device tree pointer
 * are ignored (mhartid is read instead). Nothing else is assumed about reset state: the runtime
 * sets mtvec, mscratch, stvec, sscratch, mstatus, mie, mip, medeleg, mideleg, satp, PMP (entry 0 =
 * NAPOT over everything, RWX, so S/U code may run), mcounteren, scounteren, fcsr, the hart's CLINT
 * msip and mtimecmp, and zeroes .bss, before calling `test_main` on hart 0 (and `secondary_main` on
 * hart 1 when the build passes -DISA_HARTS=2; other harts park in WFI).
 *
 * Verdict: the SiFive test finisher at 0x100000 receives 0x5555 for PASS or (N << 16) | 0x3333 for
 * FAIL N, after a one-line `isa <name>: PASS|FAIL N` on the NS16550A UART. N is the source line of
 * the failing check (each check loads its own __LINE__ into gp first), so N names the check. Codes
 * 0xfc00 and up are reserved for traps nobody expected:
 *   0xff00 | mcause   exception taken by M with no trap expected
 *   0xfe00 | cause    interrupt taken by M with no hook and no trap expected
 *   0xfd00 | scause   exception taken by S with no trap expected
 *   0xfc00 | cause    interrupt taken by S with no hook and no trap expected
 * Only 16 bits reach the finisher and QEMU's process exit status keeps only the low 8, so a runner
 * must accept PASS only from the finisher value 0x5555 (QEMU: exit status 0 and the PASS line).
 *
 * Register conventions in test code:
 *   gp        line number of the current check (reported on failure)
 *   tp        0, or the resume address of an expected trap (see below); never use otherwise
 *   s8..s11   written by the trap handlers when an expected trap is taken
 *   t4..t6    scratch for the check macros
 * The TEST_* macros also use t0..t2 (integer) and ft0..ft3 (FP); sp is a 4 KiB stack. mscratch and
 * sscratch hold the M and S trap stack pointers: a test that uses them must restore them before
 * anything traps.
 *
 * Expected traps: code sets tp to a resume address R and runs something that must trap. The
 * handler of whichever mode takes the trap (M: isa_trap_m; S: isa_trap_s, once medeleg/mideleg
 * send it there) then sets s8 = xstatus, s9 = xcause, s10 = xepc, s11 = xtval as they were just
 * after the trap was taken, clears tp and resumes at R & ~1. If R bit 0 is clear it resumes in the
 * privilege mode that trapped; if set, in the handler's own mode (so `ecall` with tp = label | 1
 * is how S or U code returns control to M, or U code to S). An expected *interrupt* additionally
 * has xPIE cleared so it cannot retrigger at once on return. Interrupts first go to the hook in
 * isa_m_irq_hook / isa_s_irq_hook when that word is nonzero: it is called with a0 = xcause in
 * handler context, may clobber t0..t2, a0 and ra, and returns with `ret`.
 *
 * A test passes by returning from test_main in M-mode (or jumping to `pass` from any mode) and fails
 * by jumping to `fail` from any mode; both reach M through `ecall` with a7 = ISA_FAIL_MAGIC or
 * ISA_PASS_MAGIC (the S handler forwards a U-mode one), so medeleg bit 9 must stay clear.
 */
#ifndef ISA_H
#define ISA_H

#ifndef ISA_HARTS
#define ISA_HARTS 1
#endif
#ifndef ISA_NAME
#define ISA_NAME "isa"
#endif

// ---- The board ----------------------------------------------------------------------------------
#define RAM_BASE 0x80000000
#define FINISHER_BASE 0x100000
#define FINISHER_PASS 0x5555
#define FINISHER_FAIL 0x3333
#define UART_BASE 0x10000000
#define UART_THR 0
#define UART_LSR 5
#define UART_LSR_THRE 0x20
#define CLINT_BASE 0x2000000
#define CLINT_MSIP 0x0
#define CLINT_MTIMECMP 0x4000
#define CLINT_MTIME 0xbff8

// ---- CSR fields (privileged spec 1.12 names) -----------------------------------------------------
#define MSTATUS_SIE (1 << 1)
#define MSTATUS_MIE (1 << 3)
#define MSTATUS_SPIE (1 << 5)
#define MSTATUS_MPIE (1 << 7)
#define MSTATUS_SPP (1 << 8)
#define MSTATUS_MPP (3 << 11)
#define MSTATUS_MPP_S (1 << 11)
#define MSTATUS_MPP_M (3 << 11)
#define MSTATUS_FS (3 << 13)
#define MSTATUS_FS_INITIAL (1 << 13)
#define MSTATUS_FS_CLEAN (2 << 13)
#define MSTATUS_FS_DIRTY (3 << 13)
#define MSTATUS_MPRV (1 << 17)
#define MSTATUS_SUM (1 << 18)
#define MSTATUS_MXR (1 << 19)
#define MSTATUS_TVM (1 << 20)
#define MSTATUS_TW (1 << 21)
#define MSTATUS_TSR (1 << 22)
#define MSTATUS_SD 0x8000000000000000

#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS 1
#define CAUSE_ILLEGAL_INSTRUCTION 2
#define CAUSE_BREAKPOINT 3
#define CAUSE_MISALIGNED_LOAD 4
#define CAUSE_LOAD_ACCESS 5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS 7
#define CAUSE_USER_ECALL 8
#define CAUSE_SUPERVISOR_ECALL 9
#define CAUSE_MACHINE_ECALL 11
#define CAUSE_FETCH_PAGE_FAULT 12
#define CAUSE_LOAD_PAGE_FAULT 13
#define CAUSE_STORE_PAGE_FAULT 15
#define CAUSE_INTERRUPT 0x8000000000000000

#define IRQ_S_SOFT 1
#define IRQ_M_SOFT 3
#define IRQ_S_TIMER 5
#define IRQ_M_TIMER 7
#define IRQ_S_EXT 9
#define IRQ_M_EXT 11
#define MIP_SSIP (1 << IRQ_S_SOFT)
#define MIP_MSIP (1 << IRQ_M_SOFT)
#define MIP_STIP (1 << IRQ_S_TIMER)
#define MIP_MTIP (1 << IRQ_M_TIMER)
#define MIP_SEIP (1 << IRQ_S_EXT)
#define MIP_MEIP (1 << IRQ_M_EXT)

#define SATP_MODE_SV39 (8 << 60)
#define SATP_MODE_SV48 (9 << 60)

#define PTE_V (1 << 0)
#define PTE_R (1 << 1)
#define PTE_W (1 << 2)
#define PTE_X (1 << 3)
#define PTE_U (1 << 4)
#define PTE_G (1 << 5)
#define PTE_A (1 << 6)
#define PTE_D (1 << 7)

#define PMP_R 0x01
#define PMP_W 0x02
#define PMP_X 0x04
#define PMP_TOR 0x08
#define PMP_NA4 0x10
#define PMP_NAPOT 0x18
#define PMP_L 0x80

// ---- Verdict codes -------------------------------------------------------------------------------
#define ISA_FAIL_MAGIC 0xfa11
#define ISA_PASS_MAGIC 0x9a55
#define ISA_CODE_M_EXCEPTION 0xff00
#define ISA_CODE_M_INTERRUPT 0xfe00
#define ISA_CODE_S_EXCEPTION 0xfd00
#define ISA_CODE_S_INTERRUPT 0xfc00

#define ISA_STACK_BYTES 4096
#define ISA_HART_BYTES (3 * ISA_STACK_BYTES)
#define ISA_MAX_HARTS 2

// ---- Check macros --------------------------------------------------------------------------------
// The low 32 bits of x, sign-extended: what an RV64 W-form or fmv.x.w result looks like.
#define SEXT32(x) ((((x) & 0xffffffff) ^ 0x80000000) - 0x80000000)

#define CHECK_LINE li gp, __LINE__

// Fails unless register r holds the constant v (r must not be t6).
#define ASSERT_EQ(r, v) \
        li gp, __LINE__; li t6, v; beq r, t6, 77f; j fail; 77:
// Fails unless registers a and b are equal.
#define ASSERT_EQ_REG(a, b) \
        li gp, __LINE__; beq a, b, 77f; j fail; 77:
// Fails if register r holds the constant v (r must not be t6).
#define ASSERT_NE(r, v) \
        li gp, __LINE__; li t6, v; bne r, t6, 77f; j fail; 77:
// Fails unless (r & mask) == v (r must not be t5 or t6).
#define ASSERT_MASKED(r, mask, v) \
        li gp, __LINE__; li t6, mask; and t5, r, t6; li t6, v; beq t5, t6, 77f; j fail; 77:
// Fails unless the symbol's address equals register r (r must not be t6).
#define ASSERT_ADDR(r, sym) \
        li gp, __LINE__; la t6, sym; beq r, t6, 77f; j fail; 77:

// rd = op(a, b), both operands from registers, rd distinct from both.
#define TEST_RR(op, a, b, res) \
        li gp, __LINE__; li t0, a; li t1, b; op t2, t0, t1; li t6, res; beq t2, t6, 77f; j fail; 77:
// rd = op(a, imm).
#define TEST_RI(op, a, imm, res) \
        li gp, __LINE__; li t0, a; op t2, t0, imm; li t6, res; beq t2, t6, 77f; j fail; 77:
// rd = op(a), one source register.
#define TEST_R(op, a, res) \
        li gp, __LINE__; li t0, a; op t2, t0; li t6, res; beq t2, t6, 77f; j fail; 77:

// ---- FP check macros ----------------------------------------------------------------------------
// Operands and results are raw bit patterns moved with fmv; fflags is cleared before the operation
// and must then hold exactly `flags`. Single-precision results must also be NaN-boxed (upper 32
// bits all ones). Integer results are compared as full 64-bit registers.
#define FFLAG_NX 0x01
#define FFLAG_UF 0x02
#define FFLAG_OF 0x04
#define FFLAG_DZ 0x08
#define FFLAG_NV 0x10
#define FP_CHECK_S(res, flags) \
        frflags t1; fmv.x.d t2, ft3; li t6, 0xffffffff00000000 | (res); bne t2, t6, 79f; \
        li t6, flags; beq t1, t6, 77f; 79: j fail; 77:
#define FP_CHECK_D(res, flags) \
        frflags t1; fmv.x.d t2, ft3; li t6, res; bne t2, t6, 79f; \
        li t6, flags; beq t1, t6, 77f; 79: j fail; 77:
#define FP_CHECK_X(res, flags) \
        frflags t1; li t6, res; bne t2, t6, 79f; li t6, flags; beq t1, t6, 77f; 79: j fail; 77:
#define FP_LOAD_S(freg, bits) li t0, bits; fmv.w.x freg, t0
#define FP_LOAD_D(freg, bits) li t0, bits; fmv.d.x freg, t0

// ft3 = op(ft0, ft1) with rounding mode rm / without one (fsgnj, fmin, fmax).
#define TEST_FP_OP2_S(op, rm, a, b, res, flags) \
        li gp, __LINE__; FP_LOAD_S(ft0, a); FP_LOAD_S(ft1, b); fsflags zero; op ft3, ft0, ft1, rm; \
        FP_CHECK_S(res, flags)
#define TEST_FP_OP2_D(op, rm, a, b, res, flags) \
        li gp, __LINE__; FP_LOAD_D(ft0, a); FP_LOAD_D(ft1, b); fsflags zero; op ft3, ft0, ft1, rm; \
        FP_CHECK_D(res, flags)
#define TEST_FP_OP2N_S(op, a, b, res, flags) \
        li gp, __LINE__; FP_LOAD_S(ft0, a); FP_LOAD_S(ft1, b); fsflags zero; op ft3, ft0, ft1; \
        FP_CHECK_S(res, flags)
#define TEST_FP_OP2N_D(op, a, b, res, flags) \
        li gp, __LINE__; FP_LOAD_D(ft0, a); FP_LOAD_D(ft1, b); fsflags zero; op ft3, ft0, ft1; \
        FP_CHECK_D(res, flags)
// ft3 = op(ft0) with rounding mode rm (fsqrt).
#define TEST_FP_OP1_S(op, rm, a, res, flags) \
        li gp, __LINE__; FP_LOAD_S(ft0, a); fsflags zero; op ft3, ft0, rm; FP_CHECK_S(res, flags)
#define TEST_FP_OP1_D(op, rm, a, res, flags) \
        li gp, __LINE__; FP_LOAD_D(ft0, a); fsflags zero; op ft3, ft0, rm; FP_CHECK_D(res, flags)
// ft3 = op(ft0, ft1, ft2) with rounding mode rm (the fused multiply-adds).
#define TEST_FP_OP3_S(op, rm, a, b, c, res, flags) \
        li gp, __LINE__; FP_LOAD_S(ft0, a); FP_LOAD_S(ft1, b); FP_LOAD_S(ft2, c); fsflags zero; \
        op ft3, ft0, ft1, ft2, rm; FP_CHECK_S(res, flags)
#define TEST_FP_OP3_D(op, rm, a, b, c, res, flags) \
        li gp, __LINE__; FP_LOAD_D(ft0, a); FP_LOAD_D(ft1, b); FP_LOAD_D(ft2, c); fsflags zero; \
        op ft3, ft0, ft1, ft2, rm; FP_CHECK_D(res, flags)
// t2 = op(ft0, ft1): the comparisons.
#define TEST_FP_CMP_S(op, a, b, res, flags) \
        li gp, __LINE__; FP_LOAD_S(ft0, a); FP_LOAD_S(ft1, b); fsflags zero; op t2, ft0, ft1; \
        FP_CHECK_X(res, flags)
#define TEST_FP_CMP_D(op, a, b, res, flags) \
        li gp, __LINE__; FP_LOAD_D(ft0, a); FP_LOAD_D(ft1, b); fsflags zero; op t2, ft0, ft1; \
        FP_CHECK_X(res, flags)
// t2 = fclass(ft0); never raises flags.
#define TEST_FP_CLASS_S(a, res) \
        li gp, __LINE__; FP_LOAD_S(ft0, a); fsflags zero; fclass.s t2, ft0; FP_CHECK_X(res, 0)
#define TEST_FP_CLASS_D(a, res) \
        li gp, __LINE__; FP_LOAD_D(ft0, a); fsflags zero; fclass.d t2, ft0; FP_CHECK_X(res, 0)
// t2 = op(ft0) with rounding mode rm: float to integer.
#define TEST_FP_TOINT_S(op, rm, a, res, flags) \
        li gp, __LINE__; FP_LOAD_S(ft0, a); fsflags zero; op t2, ft0, rm; FP_CHECK_X(res, flags)
#define TEST_FP_TOINT_D(op, rm, a, res, flags) \
        li gp, __LINE__; FP_LOAD_D(ft0, a); fsflags zero; op t2, ft0, rm; FP_CHECK_X(res, flags)
// ft3 = op(t0) with rounding mode rm: integer to float.
#define TEST_FP_FROMINT_S(op, rm, a, res, flags) \
        li gp, __LINE__; li t0, a; fsflags zero; op ft3, t0, rm; FP_CHECK_S(res, flags)
#define TEST_FP_FROMINT_D(op, rm, a, res, flags) \
        li gp, __LINE__; li t0, a; fsflags zero; op ft3, t0, rm; FP_CHECK_D(res, flags)
// The same for the exact conversions, which the assembler takes without a rounding mode.
#define TEST_FP_FROMINT_EXACT_D(op, a, res) \
        li gp, __LINE__; li t0, a; fsflags zero; op ft3, t0; FP_CHECK_D(res, 0)
// fcvt.s.d (rounds) and fcvt.d.s (exact).
#define TEST_FP_CVT_S_D(rm, a, res, flags) \
        li gp, __LINE__; FP_LOAD_D(ft0, a); fsflags zero; fcvt.s.d ft3, ft0, rm; FP_CHECK_S(res, flags)
#define TEST_FP_CVT_D_S(a, res, flags) \
        li gp, __LINE__; FP_LOAD_S(ft0, a); fsflags zero; fcvt.d.s ft3, ft0; FP_CHECK_D(res, flags)

// Runs one instruction that must trap: on return t5 = its address and s8..s11 hold the handler's
// xstatus, xcause, xepc, xtval. Fails (at this line) if it does not trap.
#define TRAP(insn...) \
        li gp, __LINE__; la t5, 76f; la tp, 78f; 76: insn; li tp, 0; j fail; 78:
// After TRAP: the cause is c and xepc is the trapping instruction.
#define ASSERT_TRAP(c) \
        li gp, __LINE__; li t6, c; bne s9, t6, 79f; beq s10, t5, 77f; 79: j fail; 77:

// After TRAP: an illegal-instruction exception at the instruction, with xtval either 0 or the
// instruction's bits (16 or 32 of them, right-justified), the two outcomes the spec allows. Also
// uses t4.
#define ASSERT_ILLEGAL \
        li gp, __LINE__; li t6, CAUSE_ILLEGAL_INSTRUCTION; bne s9, t6, 79f; bne s10, t5, 79f; \
        beqz s11, 77f; lhu t6, 0(t5); andi t4, t6, 3; xori t4, t4, 3; bnez t4, 78f; \
        lhu t4, 2(t5); slli t4, t4, 16; or t6, t6, t4; 78: beq s11, t6, 77f; 79: j fail; 77:
// After TRAP, where the spec allows either of two causes.
#define ASSERT_TRAP2(c1, c2) \
        li gp, __LINE__; bne s10, t5, 79f; li t6, c1; beq s9, t6, 77f; li t6, c2; beq s9, t6, 77f; \
        79: j fail; 77:

// Privilege changes from M: continue at label in S or U (MPP and mepc are overwritten).
#define M_ENTER(label, mpp) \
        la t6, label; csrw mepc, t6; li t6, MSTATUS_MPP; csrc mstatus, t6; \
        li t6, mpp; csrs mstatus, t6; mret
#define M_ENTER_S(label) M_ENTER(label, MSTATUS_MPP_S)
#define M_ENTER_U(label) M_ENTER(label, 0)
// From S: continue at label in U.
#define S_ENTER_U(label) \
        la t6, label; csrw sepc, t6; li t6, MSTATUS_SPP; csrc sstatus, t6; sret
// `ecall` that the taking handler answers by resuming at label in its own mode.
#define ECALL_TO(label) \
        la tp, label; ori tp, tp, 1; ecall

// ---- Runtime -------------------------------------------------------------------------------------
        .option nopic
        .option norelax

        .section .text.init, "ax", @progbits
        .globl _start
_start:
        mv      s1, a0
        csrr    s0, mhartid
        li      t0, ISA_MAX_HARTS
        bgeu    s0, t0, isa_park
        li      t0, ISA_HARTS
        bgeu    s0, t0, isa_park
        bnez    s0, 2f
        // Hart 0 clears .bss, then lets the others run.
        la      t0, __bss_start
        la      t1, _end
1:      bgeu    t0, t1, 3f
        sd      zero, 0(t0)
        addi    t0, t0, 8
        j       1b
3:      fence   rw, rw
        li      t0, 1
        la      t1, isa_release
        sw      t0, 0(t1)
        j       4f
2:      la      t1, isa_release
5:      lw      t0, 0(t1)
        beqz    t0, 5b
        fence   rw, rw
4:      // Per-hart stacks: main at +4K, M trap at +8K, S trap at +12K of the hart's block.
        la      t0, isa_hart_blocks
        li      t1, ISA_HART_BYTES
        mul     t1, t1, s0
        add     t0, t0, t1
        addi    sp, t0, 1024
        addi    sp, sp, 1024
        addi    sp, sp, 1024
        addi    sp, sp, 1024
        li      t1, ISA_STACK_BYTES
        add     t2, sp, t1
        csrw    mscratch, t2
        add     t2, t2, t1
        csrw    sscratch, t2
        call    isa_init_hart
        la      t0, isa_boot_a0
        slli    t1, s0, 3
        add     t0, t0, t1
        sd      s1, 0(t0)
        li      gp, 0
        li      tp, 0
        mv      a0, s0
        bnez    s0, 6f
        call    test_main
        j       pass
6:
#if ISA_HARTS > 1
        call    secondary_main
#endif
isa_park:
        csrw    mie, zero
7:      wfi
        j       7b

        .section .text, "ax", @progbits
// Puts this hart's architectural state into the documented start state. Clobbers t0, t1.
        .globl isa_init_hart
isa_init_hart:
        la      t0, isa_trap_m
        csrw    mtvec, t0
        la      t0, isa_trap_s
        csrw    stvec, t0
        csrw    mie, zero
        csrw    mip, zero
        csrw    medeleg, zero
        csrw    mideleg, zero
        csrw    satp, zero
        li      t0, MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | MSTATUS_SPP | MSTATUS_MPP
        csrc    mstatus, t0
        li      t0, MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR
        csrc    mstatus, t0
        li      t0, MSTATUS_FS_INITIAL
        csrs    mstatus, t0
        csrw    fcsr, zero
        li      t0, MSTATUS_FS
        csrc    mstatus, t0
        li      t0, MSTATUS_FS_INITIAL
        csrs    mstatus, t0
        csrw    mcounteren, zero
        csrw    scounteren, zero
        csrw    pmpcfg0, zero
        csrw    pmpcfg2, zero
        li      t0, -1
        csrw    pmpaddr0, t0
        li      t0, PMP_NAPOT | PMP_R | PMP_W | PMP_X
        csrw    pmpcfg0, t0
        csrr    t0, mhartid
        slli    t0, t0, 2
        li      t1, CLINT_BASE + CLINT_MSIP
        add     t1, t1, t0
        sw      zero, 0(t1)
        slli    t0, t0, 1
        li      t1, CLINT_BASE + CLINT_MTIMECMP
        add     t1, t1, t0
        li      t0, -1
        sd      t0, 0(t1)
        ret

// Jump here from any mode to fail with gp as the code (FAIL 0xffff if gp is 0).
        .globl fail
fail:
        mv      a0, gp
        li      tp, 0
        li      a7, ISA_FAIL_MAGIC
        ecall
        j       fail
// Jump here from any mode to pass.
        .globl pass
pass:
        li      tp, 0
        li      a7, ISA_PASS_MAGIC
        ecall
        j       pass

// M-mode trap handler (direct mode; also the base of any vectored table a test installs).
        .balign 64
        .globl isa_trap_m
isa_trap_m:
        csrrw   sp, mscratch, sp
        addi    sp, sp, -48
        sd      t0, 0(sp)
        sd      t1, 8(sp)
        sd      t2, 16(sp)
        sd      ra, 24(sp)
        sd      a0, 32(sp)
        csrr    t0, mcause
        bgez    t0, 1f
        la      t1, isa_m_irq_hook
        ld      t1, 0(t1)
        beqz    t1, 1f
        mv      a0, t0
        jalr    t1
        j       isa_trap_m_return
1:      beqz    tp, isa_m_unexpected
        csrr    s8, mstatus
        csrr    s9, mcause
        csrr    s10, mepc
        csrr    s11, mtval
        bgez    s9, 2f
        li      t1, MSTATUS_MPIE
        csrc    mstatus, t1
2:      andi    t1, tp, -2
        csrw    mepc, t1
        andi    t1, tp, 1
        beqz    t1, 3f
        li      t1, MSTATUS_MPP
        csrs    mstatus, t1
3:      li      tp, 0
isa_trap_m_return:
        ld      t0, 0(sp)
        ld      t1, 8(sp)
        ld      t2, 16(sp)
        ld      ra, 24(sp)
        ld      a0, 32(sp)
        addi    sp, sp, 48
        csrrw   sp, mscratch, sp
        mret

// No trap was expected: an ecall carrying a verdict, or a failure named after the cause.
isa_m_unexpected:
        bltz    t0, 4f
        li      t1, CAUSE_USER_ECALL
        beq     t0, t1, 1f
        li      t1, CAUSE_SUPERVISOR_ECALL
        beq     t0, t1, 1f
        li      t1, CAUSE_MACHINE_ECALL
        bne     t0, t1, 3f
1:      li      t1, ISA_PASS_MAGIC
        beq     a7, t1, isa_report_pass
        li      t1, ISA_FAIL_MAGIC
        bne     a7, t1, 3f
        li      t1, 0xffff
        and     s0, a0, t1
        li      t1, ISA_CODE_S_INTERRUPT
        bgeu    s0, t1, 5f
        j       isa_report_fail
3:      andi    s0, t0, 0xff
        li      t1, ISA_CODE_M_EXCEPTION
        or      s0, s0, t1
        j       2f
4:      andi    s0, t0, 0xff
        li      t1, ISA_CODE_M_INTERRUPT
        or      s0, s0, t1
2:      la      a0, isa_msg_unexpected
        call    isa_puts
        la      a0, isa_msg_mcause
        call    isa_puts
        csrr    a0, mcause
        call    isa_puthex
        la      a0, isa_msg_mepc
        call    isa_puts
        csrr    a0, mepc
        call    isa_puthex
        la      a0, isa_msg_mtval
        call    isa_puts
        csrr    a0, mtval
        call    isa_puthex
        j       6f
5:      la      a0, isa_msg_unexpected
        call    isa_puts
        la      a0, isa_msg_scause
        call    isa_puts
        csrr    a0, scause
        call    isa_puthex
        la      a0, isa_msg_sepc
        call    isa_puts
        csrr    a0, sepc
        call    isa_puthex
        la      a0, isa_msg_stval
        call    isa_puts
        csrr    a0, stval
        call    isa_puthex
6:      la      a0, isa_msg_line
        call    isa_puts
        mv      a0, gp
        call    isa_putdec
        li      a0, '\n'
        call    isa_putc
        j       isa_report_fail

// s0 = failure code. Never returns.
isa_report_fail:
        li      t0, 0xffff
        and     s0, s0, t0
        bnez    s0, 1f
        mv      s0, t0
1:      la      a0, isa_msg_prefix
        call    isa_puts
        la      a0, isa_msg_fail
        call    isa_puts
        mv      a0, s0
        call    isa_putdec
        li      a0, '\n'
        call    isa_putc
        slli    t0, s0, 16
        li      t1, FINISHER_FAIL
        or      t0, t0, t1
        li      t1, FINISHER_BASE
        sw      t0, 0(t1)
        j       isa_park

isa_report_pass:
        la      a0, isa_msg_prefix
        call    isa_puts
        la      a0, isa_msg_pass
        call    isa_puts
        li      t0, FINISHER_PASS
        li      t1, FINISHER_BASE
        sw      t0, 0(t1)
        j       isa_park

// UART output for the M-mode reporting paths, also usable by tests in M-mode: isa_putc (a0 = char)
// uses t0..t2; isa_puts (a0 = string), isa_puthex and isa_putdec (a0 = value) also use t3, t4, a1,
// a2. The THRE poll is bounded so a missing UART cannot hang the verdict.
isa_putc:
        li      t0, UART_BASE
        li      t2, 100000
1:      lbu     t1, UART_LSR(t0)
        andi    t1, t1, UART_LSR_THRE
        bnez    t1, 2f
        addi    t2, t2, -1
        bnez    t2, 1b
2:      sb      a0, UART_THR(t0)
        ret

        .globl isa_puts
isa_puts:
        mv      t3, ra
        mv      t4, a0
1:      lbu     a0, 0(t4)
        beqz    a0, 2f
        call    isa_putc
        addi    t4, t4, 1
        j       1b
2:      mv      ra, t3
        ret

isa_puthex:
        mv      t3, ra
        mv      t4, a0
        li      a0, '0'
        call    isa_putc
        li      a0, 'x'
        call    isa_putc
        li      a1, 60
1:      srl     a0, t4, a1
        andi    a0, a0, 15
        addi    a0, a0, '0'
        li      t0, '9'
        ble     a0, t0, 2f
        addi    a0, a0, 'a' - '0' - 10
2:      call    isa_putc
        addi    a1, a1, -4
        bgez    a1, 1b
        mv      ra, t3
        ret

isa_putdec:
        mv      t3, ra
        mv      t4, a0
        la      a1, isa_numbuf + 24
        sb      zero, 0(a1)
        li      a2, 10
1:      addi    a1, a1, -1
        remu    a0, t4, a2
        addi    a0, a0, '0'
        sb      a0, 0(a1)
        divu    t4, t4, a2
        bnez    t4, 1b
        mv      a0, a1
        mv      ra, t3
        j       isa_puts

// S-mode trap handler, the same protocol as isa_trap_m one level down.
        .balign 64
        .globl isa_trap_s
isa_trap_s:
        csrrw   sp, sscratch, sp
        addi    sp, sp, -48
        sd      t0, 0(sp)
        sd      t1, 8(sp)
        sd      t2, 16(sp)
        sd      ra, 24(sp)
        sd      a0, 32(sp)
        csrr    t0, scause
        bgez    t0, 1f
        la      t1, isa_s_irq_hook
        ld      t1, 0(t1)
        beqz    t1, 1f
        mv      a0, t0
        jalr    t1
        j       isa_trap_s_return
1:      beqz    tp, isa_s_unexpected
        csrr    s8, sstatus
        csrr    s9, scause
        csrr    s10, sepc
        csrr    s11, stval
        bgez    s9, 2f
        li      t1, MSTATUS_SPIE
        csrc    sstatus, t1
2:      andi    t1, tp, -2
        csrw    sepc, t1
        andi    t1, tp, 1
        beqz    t1, 3f
        li      t1, MSTATUS_SPP
        csrs    sstatus, t1
3:      li      tp, 0
isa_trap_s_return:
        ld      t0, 0(sp)
        ld      t1, 8(sp)
        ld      t2, 16(sp)
        ld      ra, 24(sp)
        ld      a0, 32(sp)
        addi    sp, sp, 48
        csrrw   sp, sscratch, sp
        sret

// A verdict ecall from U is passed on to M unchanged; anything else fails as 0xfd00/0xfc00 | cause.
isa_s_unexpected:
        bltz    t0, 2f
        li      t1, CAUSE_USER_ECALL
        bne     t0, t1, 1f
        li      t1, ISA_PASS_MAGIC
        beq     a7, t1, 3f
        li      t1, ISA_FAIL_MAGIC
        beq     a7, t1, 3f
1:      andi    a0, t0, 0xff
        li      t1, ISA_CODE_S_EXCEPTION
        or      a0, a0, t1
        j       4f
2:      andi    a0, t0, 0xff
        li      t1, ISA_CODE_S_INTERRUPT
        or      a0, a0, t1
4:      li      a7, ISA_FAIL_MAGIC
        sd      a0, 32(sp)
3:      ld      t0, 0(sp)
        ld      t1, 8(sp)
        ld      t2, 16(sp)
        ld      ra, 24(sp)
        ld      a0, 32(sp)
        addi    sp, sp, 48
        csrrw   sp, sscratch, sp
        ecall
        j       fail

        .section .rodata, "a", @progbits
isa_msg_prefix:     .ascii "isa "
                    .ascii ISA_NAME
                    .asciz ": "
isa_msg_pass:       .asciz "PASS\n"
isa_msg_fail:       .asciz "FAIL "
isa_msg_unexpected: .ascii "isa "
                    .ascii ISA_NAME
                    .asciz ": unexpected trap"
isa_msg_mcause:     .asciz " mcause="
isa_msg_mepc:       .asciz " mepc="
isa_msg_mtval:      .asciz " mtval="
isa_msg_scause:     .asciz " in S: scause="
isa_msg_sepc:       .asciz " sepc="
isa_msg_stval:      .asciz " stval="
isa_msg_line:       .asciz " after check at line "

        .data
        .balign 8
isa_release:        .dword 0

        .bss
        .balign 4096
        .globl isa_hart_blocks
isa_hart_blocks:    .space ISA_MAX_HARTS * ISA_HART_BYTES
        .globl isa_m_irq_hook, isa_s_irq_hook
isa_m_irq_hook:     .dword 0
isa_s_irq_hook:     .dword 0
isa_numbuf:         .space 32
        // a0 as each hart found it at entry (the hartid, by the boot convention).
        .globl isa_boot_a0
isa_boot_a0:        .space 8 * ISA_MAX_HARTS

        .text
#endif
