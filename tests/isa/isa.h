/*
 * isa.h: the runtime and the check macros every Domus ISA test includes first.
 *
 * Contract with the board (QEMU `virt` map, the same one Domus emulates): the image is linked at
 * 0x80000000 and entered there in M-mode on every hart with a0 = hartid (kept in isa_boot_a0[hart]
 * for tests to check; the runtime itself reads mhartid) and a1 = a device tree pointer (ignored).
 * Nothing else is assumed about reset state: the runtime
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
 *   0xfb00 | vscause, 0xfa00 | vscause   the same taken by VS (hypervisor tests, see ISA_HYP below)
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
 * privilege mode that trapped; if set, in the handler's own mode with its interrupts disabled
 * (xIE = 0), so `ecall` with tp = label | 1 is how S or U code returns control to M, or U code to
 * S. An expected *interrupt* also has xPIE cleared, so it cannot retrigger at once on return. Interrupts first go to the hook in
 * isa_m_irq_hook / isa_s_irq_hook when that word is nonzero: it is called with a0 = xcause in
 * handler context, may clobber t0..t2, a0 and ra, and returns with `ret`.
 *
 * A test passes by returning from test_main in M-mode (or jumping to `pass` from any mode) and fails
 * by jumping to `fail` from any mode; both reach M through `ecall` with a7 = ISA_FAIL_MAGIC or
 * ISA_PASS_MAGIC (the S handler forwards a U-mode one), so medeleg bit 9 must stay clear. The
 * M-mode UART routines isa_putc/isa_puts/isa_puthex/isa_putdec are available to tests too.
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
#ifdef ISA_HYP
// A fourth stack per hart, for the VS trap handler (vsscratch).
#define ISA_HART_BYTES (4 * ISA_STACK_BYTES)
#else
#define ISA_HART_BYTES (3 * ISA_STACK_BYTES)
#endif
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

// ---- The hypervisor extension (privileged spec 1.12, chapter 8) ----------------------------------
/*
 * A test of the H extension defines ISA_HYP before including this file. The runtime then also:
 *   - assembles with the H instructions enabled (.option arch, +h);
 *   - per hart, gives VS-mode a trap stack in vsscratch and the handler isa_trap_vs in vstvec, and
 *     sets hstatus (VSXL = 64, everything else 0), vsstatus (FS Initial, UXL = 64), and hedeleg,
 *     hideleg, hvip, hie, hcounteren, htimedelta, henvcfg, hgatp, vsatp, vsie and the mstatus
 *     fields MPV and GVA to zero;
 *   - in the expected-trap protocol, also records which handler took the trap and the extra trap
 *     CSRs in isa_trap_ext (read them with LOAD_TRAP_EXT): the M handler mtval2 and mtinst, the HS
 *     handler hstatus, htval and htinst, all as they were just after the trap. A resume "in the
 *     handler's own mode" (tp bit 0) also clears hstatus.SPV (HS handler), so that the SRET stays
 *     in HS, or mstatus.MPV (M handler), which MRET to M ignores anyway;
 *   - isa_trap_vs follows the same protocol as isa_trap_s in VS-mode (where the s* CSR names
 *     reach the vs* registers), with the interrupt hook isa_vs_irq_hook; its unexpected traps fail
 *     with 0xfb00 | vscause (exception) or 0xfa00 | vscause (interrupt);
 *   - accepts the verdict ecall from VS-mode (cause 10) in the M and HS handlers and passes one
 *     from VU on from isa_trap_vs, so `pass` and `fail` work from VS and VU too, whichever of M,
 *     HS and VS medeleg and hedeleg send those ecalls to;
 *   - offers page-table builders over a pool of zeroed pages (isa_pt_reset, isa_pt_alloc,
 *     isa_pt_slot, isa_pt_map), the same for VS-stage (Sv39/Sv48) and G-stage (Sv39x4/Sv48x4,
 *     whose root is 16 KiB with an 11-bit index) tables.
 * The VS handler and anything VS or VU code touches must be reachable through the guest's
 * translation: tests that turn on hgatp or vsatp keep RAM_BASE mapped to itself.
 */
#define MSTATUS_GVA (1 << 38)
#define MSTATUS_MPV (1 << 39)
#define HSTATUS_VSBE (1 << 5)
#define HSTATUS_GVA (1 << 6)
#define HSTATUS_SPV (1 << 7)
#define HSTATUS_SPVP (1 << 8)
#define HSTATUS_HU (1 << 9)
#define HSTATUS_VGEIN (0x3f << 12)
#define HSTATUS_VTVM (1 << 20)
#define HSTATUS_VTW (1 << 21)
#define HSTATUS_VTSR (1 << 22)
#define HSTATUS_VSXL (3 << 32)
#define HSTATUS_VSXL_64 (2 << 32)
#define MSTATUS_UXL (3 << 32)
#define MSTATUS_UXL_64 (2 << 32)
#define MISA_H (1 << 7)

#define CAUSE_VIRTUAL_SUPERVISOR_ECALL 10
#define CAUSE_FETCH_GUEST_PAGE_FAULT 20
#define CAUSE_LOAD_GUEST_PAGE_FAULT 21
#define CAUSE_VIRTUAL_INSTRUCTION 22
#define CAUSE_STORE_GUEST_PAGE_FAULT 23

#define IRQ_VS_SOFT 2
#define IRQ_VS_TIMER 6
#define IRQ_VS_EXT 10
#define IRQ_S_GEXT 12
#define MIP_VSSIP (1 << IRQ_VS_SOFT)
#define MIP_VSTIP (1 << IRQ_VS_TIMER)
#define MIP_VSEIP (1 << IRQ_VS_EXT)
#define MIP_SGEIP (1 << IRQ_S_GEXT)

#define HGATP_MODE_SV39X4 (8 << 60)
#define HGATP_MODE_SV48X4 (9 << 60)
#define HGATP_MODE (0xf << 60)
#define HGATP_VMID (0x3fff << 44)
#define HGATP_PPN 0xfffffffffff

#define ISA_CODE_VS_EXCEPTION 0xfb00
#define ISA_CODE_VS_INTERRUPT 0xfa00
#define ISA_PT_POOL_PAGES 64

// isa_trap_ext: which handler took the last expected trap, and the extra trap CSRs it saw.
#define ISA_EXT_TAKER 0
#define ISA_EXT_MTVAL2 8
#define ISA_EXT_MTINST 16
#define ISA_EXT_HSTATUS 24
#define ISA_EXT_HTVAL 32
#define ISA_EXT_HTINST 40
#define ISA_TAKEN_M 3
#define ISA_TAKEN_HS 1
#define ISA_TAKEN_VS 5

// r = a field of isa_trap_ext (ISA_EXT_*); r must not be t6 if an ASSERT follows.
#define LOAD_TRAP_EXT(r, field) la r, isa_trap_ext; ld r, field(r)
// After TRAP (or any expected trap): the handler of this mode (ISA_TAKEN_*) took it. Uses t4.
#define ASSERT_TAKEN(mode) \
        li gp, __LINE__; la t4, isa_trap_ext; ld t4, ISA_EXT_TAKER(t4); li t6, mode; beq t4, t6, 77f; \
        j fail; 77:
// After TRAP: a virtual-instruction exception at the instruction, xtval 0 or the instruction's
// bits, written as for an illegal instruction (H extension, "Trap Cause Codes"). Uses t4.
#define ASSERT_VIRTUAL \
        li gp, __LINE__; li t6, CAUSE_VIRTUAL_INSTRUCTION; bne s9, t6, 79f; bne s10, t5, 79f; \
        beqz s11, 77f; lhu t6, 0(t5); andi t4, t6, 3; xori t4, t4, 3; bnez t4, 78f; \
        lhu t4, 2(t5); slli t4, t4, 16; or t6, t6, t4; 78: beq s11, t6, 77f; 79: j fail; 77:

// From M: continue at label in VS or VU (MPV = 1; MPP and mepc are overwritten).
#define M_ENTER_V(label, mpp) \
        la t6, label; csrw mepc, t6; li t6, MSTATUS_MPP; csrc mstatus, t6; \
        li t6, (mpp) | MSTATUS_MPV; csrs mstatus, t6; mret
#define M_ENTER_VS(label) M_ENTER_V(label, MSTATUS_MPP_S)
#define M_ENTER_VU(label) M_ENTER_V(label, 0)
// From HS (or M): continue at label in VS or VU through SRET with hstatus.SPV = 1.
#define HS_ENTER_V(label, spp) \
        la t6, label; csrw sepc, t6; li t6, HSTATUS_SPV; csrs hstatus, t6; li t6, MSTATUS_SPP; \
        csrc sstatus, t6; li t6, spp; csrs sstatus, t6; sret
#define HS_ENTER_VS(label) HS_ENTER_V(label, MSTATUS_SPP)
#define HS_ENTER_VU(label) HS_ENTER_V(label, 0)
// From VS: continue at label in VU (the sstatus and sepc names reach vsstatus and vsepc).
#define VS_ENTER_VU(label) S_ENTER_U(label)

// Page tables (see isa_pt_map in isa_runtime.h): map va to pa with a leaf at level (0: 4 KiB,
// 1: 2 MiB, 2: 1 GiB, 3: 512 GiB) and PTE flags, in the tree at root with levels levels and a root
// index of rootbits bits (9, or 11 for a G-stage root); the leaf PTE's address lands in a0.
#define PT_MAP(root, va, pa, level, flags, levels, rootbits) \
        mv a0, root; li a1, va; li a2, pa; li a3, level; li a4, flags; li a5, levels; \
        li a6, rootbits; call isa_pt_map
#define PT_MAP_SYM(root, va, sym, level, flags, levels, rootbits) \
        mv a0, root; li a1, va; la a2, sym; li a3, level; li a4, flags; li a5, levels; \
        li a6, rootbits; call isa_pt_map

#include "isa_runtime.h"
#endif
