/*
 * conformance/guest/pvh.S - the Xen PVH entry of the guest's ELF form
 * (vstd-conform-guest.elf): an ELF note XEN_ELFNOTE_PHYS32_ENTRY (type 18,
 * name "Xen") gives pvh_start32, entered in 32-bit protected mode with
 * paging off and EBX = the hvm_start_info.  The stub builds an identity
 * map of 4 GiB at 0x70000 (as header.S does for the bzImage), enables long
 * mode and calls pvh_main(start_info) on the guest's stack.  The bzImage
 * form carries this code too but drops the note (guest.ld).
 */
#include "longmode.h"

	.section .note.Xen, "a", @note
	.balign 4
	.long 4                 /* namesz */
	.long 8                 /* descsz: a 64-bit address, as Linux and QEMU read it */
	.long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.quad pvh_start32
	.balign 4

	.section .text.pvh, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	mov %ebx, %esi          /* the start_info, for pvh_main */
	lgdtl pvh_gdt_desc
	ENTER_LONG_MODE
	ljmp $0x18, $pvh_start64

	.code64
pvh_start64:
	mov %esi, %esi
	lea stack_top(%rip), %rsp
	lea __bss_start(%rip), %rdi
	lea __bss_end(%rip), %rcx
	sub %rdi, %rcx
	xor %eax, %eax
	rep stosb
	mov %rsi, %rdi
	call pvh_main
2:	hlt
	jmp 2b

	.balign 8
pvh_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff        /* 0x08: 32-bit code */
	.quad 0x00cf92000000ffff        /* 0x10: data */
	.quad 0x00af9a000000ffff        /* 0x18: 64-bit code */
pvh_gdt_desc:
	.word pvh_gdt_desc - pvh_gdt - 1
	.long pvh_gdt

	.section .note.GNU-stack, "", @progbits
