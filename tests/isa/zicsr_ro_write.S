# isa-test: qemu-fail=25
/*
 * zicsr_ro_write: CSRRS and CSRRC whose rs1 is not x0 attempt a write even when that register
 * holds zero, so on a read-only CSR they are illegal instructions: "if rs1 specifies a register
 * holding a zero value other than x0, the instruction will still attempt to write the unmodified
 * value back to the CSR and will cause any attendant side effects" (unprivileged ISA 20191213,
 * 9.1), and attempts "to write a read-only register also raise illegal instruction exceptions"
 * (privileged spec 1.12, 2.1). The same instructions with rs1 = x0 and uimm = 0 do not write.
 *
 * QEMU 7.2 decides from the value, not the register, and does not trap: under QEMU this test
 * stops at the first check (line 25); the manifest records that.
 */
#include "isa.h"

        .text
        .globl test_main
test_main:
        CHECK_LINE
        li      t1, 0
        csrrs   t2, mhartid, x0
        csrrc   t2, mvendorid, x0
        csrrsi  t2, marchid, 0
        csrrci  t2, mimpid, 0
        csrrs   t2, cycle, x0
        TRAP(csrrs t2, mhartid, t1)
        ASSERT_ILLEGAL
        TRAP(csrrc t2, mvendorid, t1)
        ASSERT_ILLEGAL
        TRAP(csrrs t2, marchid, t1)
        ASSERT_ILLEGAL
        TRAP(csrrc t2, cycle, t1)
        ASSERT_ILLEGAL
        TRAP(csrrs t2, time, t1)
        ASSERT_ILLEGAL
        j       pass
