/*
 * pmp: physical memory protection (privileged spec 1.12, 3.7), with regions of 4 KiB and more so
 * that any grain up to 4 KiB works.
 *   - Entry 0: NAPOT 4 KiB, no permissions; entries 1-2: TOR over 8 KiB, read-only; entry 3: NAPOT
 *     4 KiB, execute-only (a code page); entry 4: NAPOT over RAM, RWX. Nothing covers the UART.
 *   - S and U: loads, stores and fetches outside their permission raise access faults 5, 7 and 1
 *     with xtval = the address; the lowest-numbered matching entry decides (inside RAM but in
 *     entry 0's page: no access); NAPOT and TOR bounds are exact; an address no entry matches
 *     is inaccessible.
 *   - M ignores unlocked entries. A locked entry (L) binds M too, and its pmpcfg byte and pmpaddr
 *     ignore writes until reset, so that part runs last.
 * An implementation without PMP (pmpaddr reads back 0) is allowed; it is reported and skipped.
 */
#include "isa.h"

#define NAPOT(base, size) (((base) >> 2) | (((size) >> 3) - 1))
#define CFG(e0, e1, e2, e3, e4) ((e0) | ((e1) << 8) | ((e2) << 16) | ((e3) << 24) | ((e4) << 32))
// After TRAP: an access fault of cause c with xtval = register r.
#define ASSERT_AF(c, r) \
        li gp, __LINE__; li t6, c; bne s9, t6, 79f; bne s10, t5, 79f; beq s11, r, 77f; 79: j fail; 77:
#define FETCH_FAULT(r) \
        li gp, __LINE__; la tp, 78f; jalr r; j fail; 78: li t6, CAUSE_FETCH_ACCESS; \
        bne s9, t6, 79f; bne s10, r, 79f; beq s11, r, 77f; 79: j fail; 77:

        .text
        .globl test_main
test_main:
        // Is there a PMP?
        csrw    pmpcfg0, zero
        la      t0, r2
        srli    t0, t0, 2
        csrw    pmpaddr1, t0
        csrr    t1, pmpaddr1
        beq     t0, t1, 1f
        la      a0, msg_skip
        call    isa_puts
        j       pass
1:      // The regions (the r2 lower bound is already in pmpaddr1).
        la      t0, r1
        srli    t0, t0, 2
        ori     t0, t0, (4096 >> 3) - 1
        csrw    pmpaddr0, t0
        la      t0, r2 + 8192
        srli    t0, t0, 2
        csrw    pmpaddr2, t0
        la      t0, x_page
        srli    t0, t0, 2
        ori     t0, t0, (4096 >> 3) - 1
        csrw    pmpaddr3, t0
        li      t0, NAPOT(RAM_BASE, 0x8000000)
        csrw    pmpaddr4, t0
        li      t0, CFG(PMP_NAPOT, 0, PMP_TOR | PMP_R, PMP_NAPOT | PMP_X, PMP_NAPOT | PMP_R | PMP_W | PMP_X)
        csrw    pmpcfg0, t0
        sfence.vma
        csrr    t1, pmpcfg0
        ASSERT_EQ_REG(t1, t0)

        // M ignores unlocked entries.
        CHECK_LINE
        la      t3, r1
        ld      t2, 0(t3)
        sd      t2, 8(t3)
        la      t3, r2
        sd      t2, 0(t3)
        M_ENTER_S(s_code)

s_code:
        // ---- Entry 0: NAPOT, nothing allowed; the neighbours are RAM ---------------------------------
        la      t3, r1
        TRAP(ld t2, 0(t3))
        ASSERT_AF(CAUSE_LOAD_ACCESS, t3)
        la      t3, r1 + 4088                   // the last dword
        TRAP(sd t2, 0(t3))
        ASSERT_AF(CAUSE_STORE_ACCESS, t3)
        TRAP(lbu t2, 7(t3))
        addi    t4, t3, 7
        ASSERT_AF(CAUSE_LOAD_ACCESS, t4)
        la      t3, r1
        FETCH_FAULT(t3)
        CHECK_LINE
        la      t3, r1 - 8
        sd      t2, 0(t3)
        ld      t2, 0(t3)
        la      t3, r1 + 4096
        sd      t2, 0(t3)
        ld      t2, 0(t3)

        // ---- Entries 1-2: TOR, read-only ----------------------------------------------------------------
        CHECK_LINE
        la      t3, r2
        ld      t2, 0(t3)
        la      t3, r2 + 8184
        ld      t2, 0(t3)
        TRAP(sd t2, 0(t3))
        ASSERT_AF(CAUSE_STORE_ACCESS, t3)
        la      t3, r2
        TRAP(sw t2, 0(t3))
        ASSERT_AF(CAUSE_STORE_ACCESS, t3)
        TRAP(amoadd.d t2, t2, (t3))
        ASSERT_AF(CAUSE_STORE_ACCESS, t3)
        FETCH_FAULT(t3)
        CHECK_LINE
        la      t3, r2 - 8                      // just below the TOR range
        sd      t2, 0(t3)
        la      t3, r2 + 8192                   // the TOR top is exclusive
        sd      t2, 0(t3)

        // ---- Entry 3: execute-only --------------------------------------------------------------------
        CHECK_LINE
        la      t3, x_page
        li      a0, 0
        jalr    t3
        ASSERT_EQ(a0, 77)
        TRAP(lw t2, 0(t3))
        ASSERT_AF(CAUSE_LOAD_ACCESS, t3)
        TRAP(sw t2, 0(t3))
        ASSERT_AF(CAUSE_STORE_ACCESS, t3)

        // ---- No entry matches: no access ----------------------------------------------------------------
        li      t3, UART_BASE + UART_LSR
        TRAP(lbu t2, 0(t3))
        ASSERT_AF(CAUSE_LOAD_ACCESS, t3)
        li      t3, UART_BASE + 7               // the scratch register: harmless if it were reached
        TRAP(sb t2, 0(t3))
        ASSERT_AF(CAUSE_STORE_ACCESS, t3)

        // ---- The same rules for U ---------------------------------------------------------------------
        S_ENTER_U(u_code)
u_code:
        la      t3, r1
        TRAP(ld t2, 0(t3))
        ASSERT_AF(CAUSE_LOAD_ACCESS, t3)
        la      t3, r2
        ld      t2, 0(t3)
        TRAP(sd t2, 0(t3))
        ASSERT_AF(CAUSE_STORE_ACCESS, t3)
        li      t3, UART_BASE + UART_LSR
        TRAP(lbu t2, 0(t3))
        ASSERT_AF(CAUSE_LOAD_ACCESS, t3)
        la      t3, x_page
        li      a0, 0
        jalr    t3
        ASSERT_EQ(a0, 77)
        ECALL_TO(m_back)

m_back:
        // ---- A locked entry binds M and ignores writes ---------------------------------------------------
        CHECK_LINE
        li      t0, CFG(0, 0, PMP_TOR | PMP_R, PMP_NAPOT | PMP_X, PMP_NAPOT | PMP_R | PMP_W | PMP_X)
        csrw    pmpcfg0, t0
        la      t0, r4
        srli    t0, t0, 2
        ori     t0, t0, (4096 >> 3) - 1
        csrw    pmpaddr0, t0
        mv      s1, t0
        li      t0, CFG(PMP_L | PMP_NAPOT, 0, PMP_TOR | PMP_R, PMP_NAPOT | PMP_X, PMP_NAPOT | PMP_R | PMP_W | PMP_X)
        csrw    pmpcfg0, t0
        sfence.vma
        mv      s2, t0
        la      t3, r4
        TRAP(ld t2, 0(t3))
        ASSERT_AF(CAUSE_LOAD_ACCESS, t3)
        TRAP(sd t2, 8(t3))
        addi    t4, t3, 8
        ASSERT_AF(CAUSE_STORE_ACCESS, t4)
        FETCH_FAULT(t3)
        // Writes to a locked entry's pmpcfg byte and pmpaddr are ignored.
        csrw    pmpaddr0, zero
        csrr    t1, pmpaddr0
        ASSERT_EQ_REG(t1, s1)
        li      t0, CFG(PMP_NAPOT | PMP_R | PMP_W | PMP_X, 0, PMP_TOR | PMP_R, PMP_NAPOT | PMP_X, PMP_NAPOT | PMP_R | PMP_W | PMP_X)
        csrw    pmpcfg0, t0
        csrr    t1, pmpcfg0
        ASSERT_EQ_REG(t1, s2)
        la      t3, r4
        TRAP(ld t2, 0(t3))
        ASSERT_AF(CAUSE_LOAD_ACCESS, t3)
        // r1 is no longer in entry 0: M and the RAM entry allow it.
        la      t3, r1
        ld      t2, 0(t3)
        j       pass

        // An execute-only page: one small function at its start.
        .balign 4096
x_page:
        li      a0, 77
        ret
        .balign 4096

        .section .rodata
msg_skip:
        .asciz  "isa pmp: no PMP entries (pmpaddr1 reads back 0); skipped\n"

        .bss
        .balign 4096
pad0:   .space  4096
r1:     .space  4096
gap1:   .space  4096
r2:     .space  8192
gap2:   .space  4096
r4:     .space  4096
pad1:   .space  4096
