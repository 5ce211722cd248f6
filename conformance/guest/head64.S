/*
 * conformance/guest/head64.S - the protected-mode image, loaded at 1 MiB:
 * the 32-bit entry (unsupported: halts) and, at +0x200, the 64-bit entry
 * of the boot protocol: RSI = zero page, paging on, interrupts off.
 */
	.section .text.head, "ax"
	.code32
	.globl startup_32
startup_32:
1:	hlt
	jmp 1b

	.org 0x200
	.code64
	.globl startup_64
startup_64:
	cli
	cld
	mov %esi, %esi
	lea stack_top(%rip), %rsp
	lea __bss_start(%rip), %rdi
	lea __bss_end(%rip), %rcx
	sub %rdi, %rcx
	xor %eax, %eax
	rep stosb
	mov %rsi, %rdi
	call guest_main
2:	hlt
	jmp 2b

	.section .note.GNU-stack, "", @progbits
