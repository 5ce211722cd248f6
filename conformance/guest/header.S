/*
 * conformance/guest/header.S - the real-mode part of the guest's bzImage:
 * the boot sector area with the Linux setup header at 0x1f1 (protocol
 * 2.12, LOADED_HIGH, XLF_KERNEL_64), and the 16-bit setup code a BIOS
 * boot loader (QEMU -kernel) enters at 0x200: it asks the BIOS for the
 * e820 map (INT 15h AX=E820h) into a zero page at 0x30000, enters
 * protected mode, builds an identity map of 4 GiB at 0x70000, enables
 * long mode and jumps to the 64-bit entry at 0x100200 with RSI = the zero
 * page, exactly as a 64-bit boot loader (our vmm) would.
 */
#define ZERO_PAGE_SEG 0x3000
#define ZERO_PAGE 0x30000
#include "longmode.h"

	.code16
	.section .setup, "ax"
	.globl _setup_start
_setup_start:
	.org 0x1f1
	.byte 4                 /* setup_sects: 4 + the boot sector = 0xa00 bytes */
	.word 0                 /* root_flags */
	.long _syssize          /* syssize: protected-mode code in 16-byte units */
	.word 0                 /* ram_size */
	.word 0xffff            /* vid_mode */
	.word 0                 /* root_dev */
	.word 0xaa55            /* boot_flag */
	/* 0x200: jump over the header; 0x202 + this byte = the header's end */
	.byte 0xeb
	.byte start_of_setup - 1f
1:	.ascii "HdrS"
	.word 0x020c            /* protocol 2.12 */
	.long 0                 /* realmode_swtch */
	.word 0x1000            /* start_sys_seg */
	.word kernel_version - 0x200
	.byte 0                 /* type_of_loader */
	.byte 0x01              /* loadflags: LOADED_HIGH */
	.word 0x8000            /* setup_move_size */
	.long 0x100000          /* code32_start */
	.long 0                 /* ramdisk_image */
	.long 0                 /* ramdisk_size */
	.long 0                 /* bootsect_kludge */
	.word 0                 /* heap_end_ptr */
	.byte 0                 /* ext_loader_ver */
	.byte 0                 /* ext_loader_type */
	.long 0                 /* cmd_line_ptr */
	.long 0x37ffffff        /* initrd_addr_max */
	.long 0x200000          /* kernel_alignment */
	.byte 0                 /* relocatable_kernel: no, load at 1 MiB */
	.byte 0                 /* min_alignment */
	.word 0x0001            /* xloadflags: XLF_KERNEL_64 */
	.long 255               /* cmdline_size */
	.long 0                 /* hardware_subarch */
	.quad 0                 /* hardware_subarch_data */
	.long 0                 /* payload_offset */
	.long 0                 /* payload_length */
	.quad 0                 /* setup_data */
	.quad 0x100000          /* pref_address */
	.long _init_size        /* init_size */
	.long 0                 /* handover_offset */
start_of_setup:
	cli
	cld
	/* a zero page of our own at 0x30000, with a copy of the setup header */
	mov $ZERO_PAGE_SEG, %ax
	mov %ax, %es
	xor %di, %di
	xor %eax, %eax
	mov $1024, %cx
	rep stosl
	mov $0x1f1, %si
	mov $0x1f1, %di
	mov $(start_of_setup - 0x1f1), %cx
	rep movsb
	/* e820 from the BIOS */
	xor %ebx, %ebx
	mov $0x2d0, %di
	xor %bp, %bp
e820_next:
	mov $0xe820, %eax
	mov $0x534d4150, %edx
	mov $20, %ecx
	int $0x15
	jc e820_done
	cmp $0x534d4150, %eax
	jne e820_done
	inc %bp
	add $20, %di
	cmp $128, %bp
	jae e820_done
	test %ebx, %ebx
	jnz e820_next
e820_done:
	mov %bp, %ax
	movb %al, %es:0x1e8
	/* patch the GDT pointer and the far jump with linear addresses */
	xor %ebx, %ebx
	mov %ds, %bx
	shl $4, %ebx
	lea gdt(%ebx), %eax
	mov %eax, gdt_desc + 2
	lea pm32(%ebx), %eax
	mov %eax, pm32_ptr
	lgdtl gdt_desc
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl *pm32_ptr

	.code32
pm32:
	ENTER_LONG_MODE
	mov $ZERO_PAGE, %esi
	ljmp $0x18, $0x100200

	.balign 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff        /* 0x08: 32-bit code */
	.quad 0x00cf92000000ffff        /* 0x10: data */
	.quad 0x00af9a000000ffff        /* 0x18: 64-bit code */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long 0
pm32_ptr:
	.long 0
	.word 0x08
kernel_version:
	.asciz "vstd-conform-guest 1"
	.org 0xa00

	.section .note.GNU-stack, "", @progbits
