/*
 * isa_runtime.h: the code behind the contract in isa.h, included once by it: _start, per-hart
 * set-up (isa_init_hart), fail/pass, the M and S trap handlers with the expected-trap protocol,
 * the verdict paths and the M-mode UART routines, and their data. Nothing here is per test.
 * The parts under ISA_HYP (the H extension's additions, see isa.h) are assembled only for the
 * tests that define it, so every other binary is the same with or without them.
 */
        .option nopic
        .option norelax
#ifdef ISA_HYP
        .option arch, +h
#endif

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
#ifdef ISA_HYP
        add     t2, t2, t1
        csrw    vsscratch, t2
#endif
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
        // One write of mstatus: interrupt enables and previous modes, MPRV/SUM/MXR/TVM/TW/TSR clear,
        // little-endian everywhere (UBE bit 6, SBE/MBE bits 36/37), 64-bit S and U (SXL/UXL = 2
        // in bits 35:32, where writable), FS Initial.
        csrr    t0, mstatus
        li      t1, MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | MSTATUS_SPP | MSTATUS_MPP
        not     t1, t1
        and     t0, t0, t1
        li      t1, MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR
        not     t1, t1
        and     t0, t0, t1
        li      t1, MSTATUS_FS | (1 << 6) | (0xf << 32) | (3 << 36)
        not     t1, t1
        and     t0, t0, t1
        li      t1, MSTATUS_FS_INITIAL | (0xa << 32)
        or      t0, t0, t1
        csrw    mstatus, t0
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
#ifdef ISA_HYP
        // The H state: no virtualization pending in MPV, nothing delegated to VS, no G-stage or
        // VS-stage translation, VS's trap vector and status set up like S's.
        li      t0, MSTATUS_MPV | MSTATUS_GVA
        csrc    mstatus, t0
        li      t0, HSTATUS_VSXL_64
        csrw    hstatus, t0
        csrw    hedeleg, zero
        csrw    hideleg, zero
        csrw    hvip, zero
        csrw    hie, zero
        csrw    hcounteren, zero
        csrw    htimedelta, zero
        csrw    henvcfg, zero
        csrw    hgatp, zero
        csrw    vsatp, zero
        li      t0, MSTATUS_FS_INITIAL | MSTATUS_UXL_64
        csrw    vsstatus, t0
        csrw    vsie, zero
        la      t0, isa_trap_vs
        csrw    vstvec, t0
        hfence.gvma
        hfence.vvma
#endif
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
#ifdef ISA_HYP
        la      t1, isa_trap_ext
        li      t2, ISA_TAKEN_M
        sd      t2, ISA_EXT_TAKER(t1)
        csrr    t2, mtval2
        sd      t2, ISA_EXT_MTVAL2(t1)
        csrr    t2, mtinst
        sd      t2, ISA_EXT_MTINST(t1)
#endif
        bgez    s9, 2f
        li      t1, MSTATUS_MPIE
        csrc    mstatus, t1
2:      andi    t1, tp, -2
        csrw    mepc, t1
        andi    t1, tp, 1
        beqz    t1, 3f
        li      t1, MSTATUS_MPP
        csrs    mstatus, t1
        li      t1, MSTATUS_MPIE
        csrc    mstatus, t1
#ifdef ISA_HYP
        // MRET ignores MPV when MPP = M; clearing it keeps implementations that do not (QEMU 7.2,
        // see h_mret_mpv.S) from running M-mode code with the VS registers in place.
        li      t1, MSTATUS_MPV
        csrc    mstatus, t1
#endif
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
#ifdef ISA_HYP
        li      t1, CAUSE_VIRTUAL_SUPERVISOR_ECALL
        beq     t0, t1, 1f
#endif
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
#ifdef ISA_HYP
        li      t1, ISA_CODE_VS_INTERRUPT
        bgeu    s0, t1, 7f
#endif
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
#ifdef ISA_HYP
        j       6f
7:      la      a0, isa_msg_unexpected
        call    isa_puts
        la      a0, isa_msg_vscause
        call    isa_puts
        csrr    a0, vscause
        call    isa_puthex
        la      a0, isa_msg_vsepc
        call    isa_puts
        csrr    a0, vsepc
        call    isa_puthex
        la      a0, isa_msg_vstval
        call    isa_puts
        csrr    a0, vstval
        call    isa_puthex
#endif
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
#ifdef ISA_HYP
        la      t1, isa_trap_ext
        li      t2, ISA_TAKEN_HS
        sd      t2, ISA_EXT_TAKER(t1)
        csrr    t2, hstatus
        sd      t2, ISA_EXT_HSTATUS(t1)
        csrr    t2, htval
        sd      t2, ISA_EXT_HTVAL(t1)
        csrr    t2, htinst
        sd      t2, ISA_EXT_HTINST(t1)
#endif
        bgez    s9, 2f
        li      t1, MSTATUS_SPIE
        csrc    sstatus, t1
2:      andi    t1, tp, -2
        csrw    sepc, t1
        andi    t1, tp, 1
        beqz    t1, 3f
        li      t1, MSTATUS_SPP
        csrs    sstatus, t1
        li      t1, MSTATUS_SPIE
        csrc    sstatus, t1
#ifdef ISA_HYP
        // Resuming in HS itself: SRET must not go back to the guest.
        li      t1, HSTATUS_SPV
        csrc    hstatus, t1
#endif
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
#ifdef ISA_HYP
        beq     t0, t1, 5f
        li      t1, CAUSE_VIRTUAL_SUPERVISOR_ECALL
5:
#endif
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

#ifdef ISA_HYP
// VS-mode trap handler (vstvec), the protocol of isa_trap_s one level further down. It runs with
// V = 1, where the names sscratch, sstatus, scause, sepc and stval reach vsscratch, vsstatus,
// vscause, vsepc and vstval and SRET returns within the guest; it must not touch hstatus (a
// virtual-instruction exception), hence a handler of its own.
        .balign 64
        .globl isa_trap_vs
isa_trap_vs:
        csrrw   sp, sscratch, sp
        addi    sp, sp, -48
        sd      t0, 0(sp)
        sd      t1, 8(sp)
        sd      t2, 16(sp)
        sd      ra, 24(sp)
        sd      a0, 32(sp)
        csrr    t0, scause
        bgez    t0, 1f
        la      t1, isa_vs_irq_hook
        ld      t1, 0(t1)
        beqz    t1, 1f
        mv      a0, t0
        jalr    t1
        j       isa_trap_vs_return
1:      beqz    tp, isa_vs_unexpected
        csrr    s8, sstatus
        csrr    s9, scause
        csrr    s10, sepc
        csrr    s11, stval
        la      t1, isa_trap_ext
        li      t2, ISA_TAKEN_VS
        sd      t2, ISA_EXT_TAKER(t1)
        bgez    s9, 2f
        li      t1, MSTATUS_SPIE
        csrc    sstatus, t1
2:      andi    t1, tp, -2
        csrw    sepc, t1
        andi    t1, tp, 1
        beqz    t1, 3f
        li      t1, MSTATUS_SPP
        csrs    sstatus, t1
        li      t1, MSTATUS_SPIE
        csrc    sstatus, t1
3:      li      tp, 0
isa_trap_vs_return:
        ld      t0, 0(sp)
        ld      t1, 8(sp)
        ld      t2, 16(sp)
        ld      ra, 24(sp)
        ld      a0, 32(sp)
        addi    sp, sp, 48
        csrrw   sp, sscratch, sp
        sret

// A verdict ecall from VU is passed on (as an ecall from VS); anything else fails as
// 0xfb00/0xfa00 | vscause.
isa_vs_unexpected:
        bltz    t0, 2f
        li      t1, CAUSE_USER_ECALL
        bne     t0, t1, 1f
        li      t1, ISA_PASS_MAGIC
        beq     a7, t1, 3f
        li      t1, ISA_FAIL_MAGIC
        beq     a7, t1, 3f
1:      andi    a0, t0, 0xff
        li      t1, ISA_CODE_VS_EXCEPTION
        or      a0, a0, t1
        j       4f
2:      andi    a0, t0, 0xff
        li      t1, ISA_CODE_VS_INTERRUPT
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

// ---- Page tables for the H tests (called from M or HS with no translation) --------------------
// isa_pt_reset: hands the whole pool out again from its base. Clobbers t0.
        .globl isa_pt_reset
isa_pt_reset:
        la      t0, isa_pt_next
        sd      zero, 0(t0)
        ret

// isa_pt_alloc: a0 = a power-of-two number of pages; returns in a0 that many zeroed pages from the
// pool, aligned to their size (4 pages make a G-stage root). Fails at the caller's gp when the
// pool runs out. Clobbers t0..t2.
        .globl isa_pt_alloc
isa_pt_alloc:
        slli    t2, a0, 12
        la      t0, isa_pt_next
        ld      t1, 0(t0)
        bnez    t1, 1f
        la      t1, isa_pt_pool
1:      addi    t0, t2, -1
        add     t1, t1, t0
        not     t0, t0
        and     a0, t1, t0
        add     t1, a0, t2
        la      t0, isa_pt_pool + ISA_PT_POOL_PAGES * 4096
        bleu    t1, t0, 2f
        j       fail
2:      la      t0, isa_pt_next
        sd      t1, 0(t0)
        mv      t0, a0
3:      sd      zero, 0(t0)
        addi    t0, t0, 8
        bltu    t0, t1, 3b
        ret

// isa_pt_slot: a0 = root table, a1 = input address, a3 = level (0 = 4 KiB ... 3 = 512 GiB),
// a5 = levels of the tree (3 or 4), a6 = bits of the root index (9; 11 for a G-stage root).
// Walks from the root towards a1, linking a fresh table (pointer PTE, V only) wherever one is
// missing, and returns in a0 the address of the PTE that maps a1 at level a3. Tables are linked by
// the addresses this code sees, which a VS-stage tree may use as guest physical ones only where
// the G-stage maps the pool to itself. Clobbers t0..t3, a7.
        .globl isa_pt_slot
isa_pt_slot:
        addi    sp, sp, -32
        sd      ra, 0(sp)
        mv      t3, a0
        addi    a7, a5, -1
        mv      t2, a6
1:      li      t0, 9
        mul     t0, t0, a7
        addi    t0, t0, 12
        srl     t0, a1, t0
        li      t1, 1
        sll     t1, t1, t2
        addi    t1, t1, -1
        and     t0, t0, t1
        slli    t0, t0, 3
        add     t0, t3, t0
        beq     a7, a3, 3f
        ld      t1, 0(t0)
        andi    t2, t1, PTE_V
        bnez    t2, 2f
        sd      t0, 8(sp)
        sd      a7, 16(sp)
        li      a0, 1
        call    isa_pt_alloc
        ld      t0, 8(sp)
        ld      a7, 16(sp)
        srli    t1, a0, 12
        slli    t1, t1, 10
        ori     t1, t1, PTE_V
        sd      t1, 0(t0)
2:      srli    t3, t1, 10
        slli    t3, t3, 12
        addi    a7, a7, -1
        li      t2, 9
        j       1b
3:      mv      a0, t0
        ld      ra, 0(sp)
        addi    sp, sp, 32
        ret

// isa_pt_map: isa_pt_slot, then a leaf there for output address a2 with PTE flags a4; returns the
// leaf's address in a0. Clobbers t0..t3, a7.
        .globl isa_pt_map
isa_pt_map:
        addi    sp, sp, -16
        sd      ra, 0(sp)
        call    isa_pt_slot
        srli    t0, a2, 12
        slli    t0, t0, 10
        or      t0, t0, a4
        sd      t0, 0(a0)
        ld      ra, 0(sp)
        addi    sp, sp, 16
        ret
#endif

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
#ifdef ISA_HYP
isa_msg_vscause:    .asciz " in VS: vscause="
isa_msg_vsepc:      .asciz " vsepc="
isa_msg_vstval:     .asciz " vstval="
#endif

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
#ifdef ISA_HYP
        .globl isa_vs_irq_hook, isa_trap_ext
isa_vs_irq_hook:    .dword 0
isa_trap_ext:       .space 48
isa_pt_next:        .dword 0
        .balign 16384
        .globl isa_pt_pool
isa_pt_pool:        .space ISA_PT_POOL_PAGES * 4096
#endif

        .text
