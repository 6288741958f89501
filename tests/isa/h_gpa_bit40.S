# isa-test: qemu-fail=47
/*
 * h_gpa_bit40: Sv39x4 translates 41-bit guest physical addresses: "the size of the incoming
 * address is widened by 2 bits (to ... 41 ...)", the 16 KiB root is indexed by GPA[40:30], and
 * only "address bits 63:41 must all be zeros, or else a guest-page-fault exception occurs"
 * (privileged spec 1.12, 8.5.1). With 1 GiB leaves at root entries 512 (2^39), 1024 (2^40) and
 * 2047 (the last one) all mapping RAM, a guest load through the first is the control; then, in one
 * check, loads through the other two (bit 40 set) must work too.
 *
 * QEMU 7.2 treats a guest physical address like a virtual one, wanting bits 63:40 all equal, so
 * bit 40 set without the bits above faults: under QEMU this test stops at that check (line 47);
 * the manifest records that.
 */
#define ISA_HYP 1
#include "isa.h"

#define GPA_512     0x8000000000
#define GPA_1024    0x10000000000
#define GPA_2047    0x1ffc0000000
#define LEAF_U      (PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D)
// Loads magic_word through the guest physical alias base + (magic_word - RAM_BASE) into t2.
#define LOAD_ALIAS(base) la t1, magic_word; li t0, base - RAM_BASE; add t0, t0, t1; ld t2, 0(t0)
#define MAGIC 0xfeedfacecafebeef
#define BIT40_CHECKS \
        CHECK_LINE; la tp, 78f; LOAD_ALIAS(GPA_1024); li t1, MAGIC; bne t2, t1, 78f; \
        LOAD_ALIAS(GPA_2047); li t1, MAGIC; bne t2, t1, 78f; li tp, 0; j 77f; 78: j fail; 77:

        .text
        .globl test_main
test_main:
        li      a0, 4
        call    isa_pt_alloc
        mv      s1, a0
        PT_MAP(s1, RAM_BASE, RAM_BASE, 2, LEAF_U, 3, 11)
        PT_MAP(s1, GPA_512, RAM_BASE, 2, LEAF_U, 3, 11)
        PT_MAP(s1, GPA_1024, RAM_BASE, 2, LEAF_U, 3, 11)
        PT_MAP(s1, GPA_2047, RAM_BASE, 2, LEAF_U, 3, 11)
        srli    t0, s1, 12
        li      t1, HGATP_MODE_SV39X4
        or      t0, t0, t1
        csrw    hgatp, t0
        hfence.gvma
        M_ENTER_VS(vs_code)
vs_code:
        LOAD_ALIAS(GPA_512)
        ASSERT_EQ(t2, MAGIC)
        BIT40_CHECKS
        ECALL_TO(m_back)
m_back:
        csrw    hgatp, zero
        hfence.gvma
        j       pass

        .data
        .balign 8
magic_word: .dword MAGIC
