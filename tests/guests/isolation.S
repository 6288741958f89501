/*
 * A minimal guest "kernel" for the isolation test (tests/isolation_test.ts): a flat image with
 * the RISC-V Linux Image header, so the domain builder loads it like Linux at 0x8020_0000 and
 * starts it in VS-mode with paging off. It
 *
 *   1. fills all of its own RAM outside this image with 0xA5 (RAM_BYTES below must match the
 *      domain's memory), proving that it can write its own frames;
 *   2. loads from and stores to each guest-physical address in `probes` (all outside its RAM
 *      and outside every device the hypervisor gives it) and records the trap cause: a load
 *      must take a load access fault (5), a store a store/AMO access fault (7);
 *   3. prints one line per probe through the legacy SBI console, then the number of probes
 *      that did not fault as expected, and reports pass/fail through the test finisher.
 *
 * Built by the test: riscv64-linux-gnu-as -march=rv64gc; ld -Ttext=0x80200000; objcopy -O binary.
 */
	.option norvc
	.equ RAM_BASE, 0x80000000
	.equ RAM_BYTES, 16 << 20
	.equ FINISHER, 0x100000

	.section .text
	.globl _start
_start:
	j	real_start		/* code0 */
	.word	0			/* code1 */
	.dword	0x200000		/* text_offset */
	.dword	image_end - _start	/* image_size */
	.dword	0			/* flags */
	.word	2			/* version */
	.word	0			/* res1 */
	.dword	0			/* res2 */
	.ascii	"RISCV\0\0\0"		/* magic (deprecated) */
	.ascii	"RSC\x05"		/* magic2 */
	.word	0			/* res3 */

real_start:
	la	sp, stack_top
	la	t0, trap
	csrw	stvec, t0

	/* 1. Fill own RAM below and above the image with 0xA5. */
	li	t0, RAM_BASE
	la	t1, _start
	call	fill
	la	t0, image_end
	li	t1, RAM_BASE + RAM_BYTES
	call	fill

	/* 2. Probe. s0 = probe pointer, s1 = failures. */
	la	s0, probes
	la	s4, probes_end
	li	s1, 0
1:	bgeu	s0, s4, 3f
	ld	s2, 0(s0)
	la	a0, msg_probe
	call	puts
	mv	a0, s2
	call	puthex
	/* load */
	li	t6, -1
	ld	t0, 0(s2)
	mv	s3, t6
	la	a0, msg_load
	call	puts
	mv	a0, s3
	call	puthex
	li	t0, 5
	beq	s3, t0, 2f
	addi	s1, s1, 1
2:	/* store */
	li	t6, -1
	li	t0, 0x5a5a5a5a5a5a5a5a
	sd	t0, 0(s2)
	mv	s3, t6
	la	a0, msg_store
	call	puts
	mv	a0, s3
	call	puthex
	li	t0, 7
	beq	s3, t0, 4f
	addi	s1, s1, 1
4:	li	a0, '\n'
	call	putc
	addi	s0, s0, 8
	j	1b

	/* 3. Verdict. */
3:	la	a0, msg_fail
	call	puts
	mv	a0, s1
	call	puthex
	li	a0, '\n'
	call	putc
	li	t0, FINISHER
	li	t1, 0x5555
	beqz	s1, 5f
	slli	t1, s1, 16
	li	t2, 0x3333
	or	t1, t1, t2
5:	sw	t1, 0(t0)
6:	wfi
	j	6b

/* Fills [t0, t1) with 0xA5 bytes, 8 at a time (both 8-aligned). */
fill:
	li	t2, 0xa5a5a5a5a5a5a5a5
1:	bgeu	t0, t1, 2f
	sd	t2, 0(t0)
	addi	t0, t0, 8
	j	1b
2:	ret

/* Trap handler: records scause in t6 and skips the faulting (4-byte) instruction. */
	.balign 4
trap:
	csrr	t6, scause
	csrr	t5, sepc
	addi	t5, t5, 4
	csrw	sepc, t5
	sret

	.include "console.inc"

	.section .rodata
msg_probe:	.asciz "probe "
msg_load:	.asciz " load-cause="
msg_store:	.asciz " store-cause="
msg_fail:	.asciz "isolation failures="

	.balign 8
/*
 * Guest-physical addresses with nothing of this domain behind them: low memory and the gaps
 * between the virt board's devices, the CLINT and flash ranges a hosted domain does not get,
 * just past the end of RAM, far above it, the top of the 41-bit Sv39x4 space, and beyond it.
 */
probes:
	.dword	0x0
	.dword	0x1000
	.dword	0x2000000
	.dword	0x3000000
	.dword	0xc600000
	.dword	0x10009000
	.dword	0x20000000
	.dword	0x30000000
	.dword	0x40000000
	.dword	RAM_BASE + RAM_BYTES
	.dword	RAM_BASE + RAM_BYTES + 0xff8
	.dword	0x90000000
	.dword	0xc0000000
	.dword	0x100000000
	.dword	0x1fffffff8
	.dword	0x1ffffffff8
	.dword	0x20000000000
	.dword	0x7ffffffffffff000
probes_end:

	.section .bss
	.balign 16
stack:	.space 4096
stack_top:
	.balign 4096
image_end:
