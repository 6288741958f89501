/*
 * A minimal guest "kernel" for the vSBI test (tests/sbi_test.ts): it makes SBI calls from
 * VS-mode, valid and invalid, and prints one line per call through the legacy console,
 *
 *   sbi <name> <a0 = error> <a1 = value>        (both as 0x + 16 hex digits)
 *
 * leaving the verdicts to the test, which knows what SBI v2.0 says each must return. It ends
 * with SRST shutdown. Loaded like Linux (Image header) at 0x8020_0000 with paging off; the
 * domain must have 16 MiB of RAM and one vCPU.
 *
 * Built by the test: riscv64-linux-gnu-as -march=rv64gc; ld -Ttext=0x80200000; objcopy -O binary.
 */
	.option norvc
	.option norelax
	.equ RAM_BASE, 0x80000000
	.equ EID_BASE, 0x10
	.equ EID_TIME, 0x54494d45
	.equ EID_IPI, 0x735049
	.equ EID_RFNC, 0x52464e43
	.equ EID_HSM, 0x48534d
	.equ EID_SRST, 0x53525354
	.equ EID_DBCN, 0x4442434e
	.equ EID_STA, 0x535441
	.equ EID_PMU, 0x504d55
	.equ DBCN_TEXT_LEN, 16

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

/* SBICALL name, eid, fid, a0, a1, a2: makes the call with immediate arguments and reports it. */
.macro SBICALL name, eid, fid, x0=0, x1=0, x2=0
	li	a0, \x0
	li	a1, \x1
	li	a2, \x2
	SBICALLR	\name, \eid, \fid
.endm

/* SBICALLR name, eid, fid: makes the call with a0..a2 as they are and reports it. */
.macro SBICALLR name, eid, fid
	li	a6, \fid
	li	a7, \eid
	ecall
	mv	s2, a0
	mv	s3, a1
	la	a0, 8f
	call	report
	.pushsection .rodata
8:	.asciz	"\name"
	.popsection
.endm

real_start:
	la	sp, stack_top
	csrw	sie, zero
	csrci	sstatus, 2		/* SIE off: interrupts are polled in sip */

	SBICALL	base.spec, EID_BASE, 0
	SBICALL	base.impl, EID_BASE, 1
	SBICALL	base.probe.time, EID_BASE, 3, EID_TIME
	SBICALL	base.probe.ipi, EID_BASE, 3, EID_IPI
	SBICALL	base.probe.rfence, EID_BASE, 3, EID_RFNC
	SBICALL	base.probe.hsm, EID_BASE, 3, EID_HSM
	SBICALL	base.probe.srst, EID_BASE, 3, EID_SRST
	SBICALL	base.probe.dbcn, EID_BASE, 3, EID_DBCN
	SBICALL	base.probe.sta, EID_BASE, 3, EID_STA
	SBICALL	base.probe.pmu, EID_BASE, 3, EID_PMU
	SBICALL	base.probe.unknown, EID_BASE, 3, 0x0a000000
	SBICALL	unknown.extension, 0x0b000000, 0
	SBICALL	base.unknown.function, EID_BASE, 99

	SBICALL	hsm.status.self, EID_HSM, 2, 0
	SBICALL	hsm.status.nohart, EID_HSM, 2, 9
	SBICALL	hsm.start.self, EID_HSM, 0, 0, RAM_BASE, 0
	SBICALL	hsm.start.nohart, EID_HSM, 0, 9, RAM_BASE, 0

	/* STA: the record must be 64-byte aligned, in RAM, with a1 = 0 and flags = 0. */
	la	a0, sta_record
	addi	a0, a0, 8
	li	a1, 0
	li	a2, 0
	SBICALLR	sta.misaligned, EID_STA, 0
	la	a0, sta_record
	li	a1, 0
	li	a2, 1
	SBICALLR	sta.flags, EID_STA, 0
	la	a0, sta_record
	li	a1, 1
	li	a2, 0
	SBICALLR	sta.high, EID_STA, 0
	SBICALL	sta.outside, EID_STA, 0, 0x1000, 0, 0
	la	a0, sta_record
	li	a1, 0
	li	a2, 0
	SBICALLR	sta.set, EID_STA, 0
	SBICALL	sta.off, EID_STA, 0, -1, -1, 0

	/* DBCN: a write from memory, a byte, and a buffer outside RAM. */
	li	a0, DBCN_TEXT_LEN
	la	a1, dbcn_text
	li	a2, 0
	SBICALLR	dbcn.write, EID_DBCN, 0
	SBICALL	dbcn.byte, EID_DBCN, 2, '\n'
	SBICALL	dbcn.outside, EID_DBCN, 0, 4, 0x1000, 0
	li	a0, 4
	la	a1, dbcn_text
	li	a2, 1
	SBICALLR	dbcn.high, EID_DBCN, 0

	/* TIME: a deadline 1 ms ahead sets sip.STIP (the guest's VSTIP); a far one clears it. */
	li	t0, 1 << 5
	csrs	sie, t0
	rdtime	a0
	li	t0, 10000
	add	a0, a0, t0

	SBICALLR	time.set, EID_TIME, 0
1:	csrr	t0, sip
	andi	t0, t0, 1 << 5
	beqz	t0, 1b
	li	s2, 0
	srli	s3, t0, 5
	la	a0, msg_time_fired
	call	report
	li	a0, -1
	SBICALLR	time.far, EID_TIME, 0
	csrr	t0, sip
	andi	t0, t0, 1 << 5
	li	s2, 0
	srli	s3, t0, 5
	la	a0, msg_time_cleared
	call	report

	/* IPI: to ourselves (mask 1, base 0) sets sip.SSIP; a hart we do not have is refused. */
	li	t0, 1 << 1
	csrs	sie, t0
	SBICALL	ipi.self, EID_IPI, 0, 1, 0
	csrr	t0, sip
	andi	t0, t0, 1 << 1
	li	s2, 0
	srli	s3, t0, 1
	la	a0, msg_ipi_pending
	call	report
	csrci	sip, 1 << 1
	SBICALL	ipi.nohart, EID_IPI, 0, 1, 5
	SBICALL	ipi.all, EID_IPI, 0, 0, -1
	csrci	sip, 1 << 1

	SBICALL	rfence.sfence_vma, EID_RFNC, 1, 1, 0, 0
	SBICALL	rfence.nohart, EID_RFNC, 1, 1, 7, 0

	SBICALL	srst.badtype, EID_SRST, 0, 5, 0
	/* Shutdown: does not return. */
	SBICALL	srst.shutdown, EID_SRST, 0, 0, 0
1:	wfi
	j	1b

/* Prints "sbi <name at a0> <s2> <s3>\n". */
report:
	addi	sp, sp, -16
	sd	ra, 0(sp)
	sd	s4, 8(sp)
	mv	s4, a0
	la	a0, msg_sbi
	call	puts
	mv	a0, s4
	call	puts
	li	a0, ' '
	call	putc
	mv	a0, s2
	call	puthex
	li	a0, ' '
	call	putc
	mv	a0, s3
	call	puthex
	li	a0, '\n'
	call	putc
	ld	ra, 0(sp)
	ld	s4, 8(sp)
	addi	sp, sp, 16
	ret

	.include "console.inc"

	.section .rodata
msg_sbi:		.asciz "sbi "
msg_time_fired:		.asciz "time.fired"
msg_time_cleared:	.asciz "time.cleared"
msg_ipi_pending:	.asciz "ipi.pending"
dbcn_text:		.ascii "dbcn says hello\n"	/* DBCN_TEXT_LEN bytes */

	.section .bss
	.balign 64
sta_record:	.space 64
	.balign 16
stack:	.space 4096
stack_top:
	.balign 4096
image_end:
