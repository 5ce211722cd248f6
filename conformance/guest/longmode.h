/*
 * conformance/guest/longmode.h - for the assembly entries only (header.S,
 * the bzImage's 32-bit path; pvh.S, the PVH entry): from 32-bit protected
 * mode with the flat GDT loaded to long mode.  Loads the data segments
 * (selector 0x10), builds identity page tables for the first 4 GiB in 2 MiB
 * pages at PT_BASE (PML4, PDPT, 4 page directories), sets CR4.PAE, CR3,
 * EFER.LME and CR0.PG.  The caller then far-jumps to 64-bit code (0x18).
 * Clobbers eax, ecx, edx, edi.  Assembler, not C: kept out of clang-format.
 */
#ifndef VSTD_GUEST_LONGMODE_H
#define VSTD_GUEST_LONGMODE_H

#define PT_BASE 0x70000

/* clang-format off */
.macro ENTER_LONG_MODE
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	mov $PT_BASE, %edi
	xor %eax, %eax
	mov $(6 * 1024), %ecx
	rep stosl
	movl $(PT_BASE + 0x1003), PT_BASE
	movl $(PT_BASE + 0x2003), PT_BASE + 0x1000
	movl $(PT_BASE + 0x3003), PT_BASE + 0x1008
	movl $(PT_BASE + 0x4003), PT_BASE + 0x1010
	movl $(PT_BASE + 0x5003), PT_BASE + 0x1018
	mov $(PT_BASE + 0x2000), %edi
	mov $0x83, %eax
	mov $2048, %ecx
1:	mov %eax, (%edi)
	add $0x200000, %eax
	add $8, %edi
	loop 1b
	mov %cr4, %eax
	or $0x20, %eax
	mov %eax, %cr4
	mov $PT_BASE, %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80000000, %eax
	mov %eax, %cr0
.endm
/* clang-format on */

#endif
