# isa-test: qemu-fail=39
/*
 * rv64a_misaligned: LR and AMOs on addresses that are not naturally aligned must trap (there is
 * no Zam): "an address-misaligned exception or an access-fault exception will be generated"
 * (unprivileged ISA 20191213, 8.2 and 8.4), and "load and load-reserved instructions generate
 * load exceptions, whereas store, store-conditional, and AMO instructions generate store/AMO
 * exceptions" (privileged spec 1.12, mcause). So LR may raise cause 4 or 5, an AMO 6 or 7, and
 * a faulting AMO writes nothing. SC is left out: an SC without a matching reservation may fail
 * before it checks alignment.
 *
 * QEMU 7.2 reports a misaligned AMO as a load-address-misaligned exception (cause 4), so under
 * QEMU this test stops at the first AMO check (line 39); the manifest records that.
 */
#include "isa.h"

        .text
        .globl test_main
test_main:
        la      t1, amo_area
        li      t0, 0x1122334455667788
        sd      t0, 0(t1)
        sd      t0, 8(t1)
        la      t1, amo_area + 2
        TRAP(lr.w t2, (t1))
        ASSERT_TRAP2(CAUSE_MISALIGNED_LOAD, CAUSE_LOAD_ACCESS)
        la      t1, amo_area + 1
        TRAP(lr.w.aq t2, (t1))
        ASSERT_TRAP2(CAUSE_MISALIGNED_LOAD, CAUSE_LOAD_ACCESS)
        la      t1, amo_area + 4
        TRAP(lr.d t2, (t1))
        ASSERT_TRAP2(CAUSE_MISALIGNED_LOAD, CAUSE_LOAD_ACCESS)
        la      t1, amo_area + 6
        TRAP(lr.d.aqrl t2, (t1))
        ASSERT_TRAP2(CAUSE_MISALIGNED_LOAD, CAUSE_LOAD_ACCESS)

        li      t0, -1
        la      t1, amo_area + 2
        TRAP(amoadd.w t2, t0, (t1))
        ASSERT_TRAP2(CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS)
        TRAP(amoswap.w.aqrl t2, t0, (t1))
        ASSERT_TRAP2(CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS)
        la      t1, amo_area + 4
        TRAP(amoswap.d t2, t0, (t1))
        ASSERT_TRAP2(CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS)
        TRAP(amomaxu.d t2, t0, (t1))
        ASSERT_TRAP2(CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS)
        la      t1, amo_area + 3
        TRAP(amoor.w t2, t0, (t1))
        ASSERT_TRAP2(CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS)
        // None of the faulting AMOs wrote anything.
        la      t1, amo_area
        ld      t2, 0(t1)
        ASSERT_EQ(t2, 0x1122334455667788)
        ld      t2, 8(t1)
        ASSERT_EQ(t2, 0x1122334455667788)
        j       pass

        .data
        .balign 16
amo_area:
        .dword  0, 0
