/*
 * Entry of the PV test guest (pv.c): a Linux Image header, so the domain builder loads it like
 * a kernel at 0x8020_0000 with paging off, then a stack and a call to pv_main(hartid, dtb).
 */
	.section .text.head, "ax"
	.option norvc
	.globl _start
_start:
	j	1f			/* code0 */
	.word	0			/* code1 */
	.dword	0x200000		/* text_offset */
	.dword	_end - _start		/* image_size */
	.dword	0			/* flags */
	.word	2			/* version */
	.word	0			/* res1 */
	.dword	0			/* res2 */
	.ascii	"RISCV\0\0\0"		/* magic (deprecated) */
	.ascii	"RSC\x05"		/* magic2 */
	.word	0			/* res3 */
1:	la	sp, stack_top
	call	pv_main
2:	j	2b

	.section .bss
	.balign	16
	.space	16384
stack_top:
