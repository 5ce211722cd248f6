/*
 * vmm/boot_bzimage.c - the Linux x86 boot protocol (Documentation/arch/x86/
 * boot.rst; summary in docs/vmm/boot.md): check the setup header, load the
 * protected-mode kernel at 1 MiB, build the zero page (setup header copy,
 * e820 map, command line, initramfs) and enter at the 64-bit entry point
 * (kernel + 0x200) in long mode.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm.h"

#define KERNEL_MAX (512ULL << 20)

/* Offsets in the zero page / the bzImage's first sectors. */
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define HDR_SETUP_SECTS 0x1f1
#define HDR_SYSSIZE 0x1f4
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_INIT_SIZE 0x260
#define BP_E820_TABLE 0x2d0
#define E820_MAX 128

static uint16_t ld16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t ld32(const uint8_t *p)
{
	return (uint32_t)ld16(p) | (uint32_t)ld16(p + 2) << 16;
}
static void st16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static void st32(uint8_t *p, uint32_t v)
{
	st16(p, (uint16_t)v);
	st16(p + 2, (uint16_t)(v >> 16));
}
static void st64(uint8_t *p, uint64_t v)
{
	st32(p, (uint32_t)v);
	st32(p + 4, (uint32_t)(v >> 32));
}

static int read_file(const char *path, const char *what, uint64_t max, uint8_t **out, uint64_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vmm_fail("%s %s: %s", what, path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return vmm_fail("%s %s: not a regular file", what, path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return vmm_fail("%s %s: %llu bytes is larger than the %llu bytes that fit", what,
		                path, (unsigned long long)st.st_size, (unsigned long long)max);
	}
	uint8_t *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return vmm_fail("%s %s: out of memory", what, path);
	}
	size_t done = 0;
	while (done < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + done, (size_t)st.st_size - done);
		if (r <= 0) {
			free(buf);
			close(fd);
			return vmm_fail("%s %s: read error: %s", what, path,
			                r < 0 ? strerror(errno) : "short");
		}
		done += (size_t)r;
	}
	close(fd);
	*out = buf;
	*len = done;
	return 0;
}

unsigned vmm_e820(struct vmm *vm, uint64_t (*ent)[3], unsigned max)
{
	unsigned n = 0;
#define ADD(a, s, t)                                                                               \
	do {                                                                                       \
		if (n < max) {                                                                     \
			ent[n][0] = (a);                                                           \
			ent[n][1] = (s);                                                           \
			ent[n][2] = (t);                                                           \
			n++;                                                                       \
		}                                                                                  \
	} while (0)
	/* As QEMU's pc machine: 639 KiB base memory, the EBDA, the BIOS area. */
	ADD(0, VMM_EBDA_START, 1);
	ADD(VMM_EBDA_START, 0xa0000 - VMM_EBDA_START, 2);
	ADD(0xe0000, 0x20000, 2); /* ACPI tables, MP table, reset stub */
	ADD(0x100000, vm->low_size - 0x100000, 1);
	if (vm->ram_size > vm->low_size)
		ADD(1ULL << 32, vm->ram_size - vm->low_size, 1);
#undef ADD
	return n;
}

int vmm_boot_bzimage(struct vmm *vm, const char *kernel, const char *initrd, const char *cmdline,
                     struct vmm_boot *out)
{
	uint8_t *k = NULL;
	uint64_t klen = 0;
	int rc = -1;
	if (read_file(kernel, "kernel", KERNEL_MAX, &k, &klen) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	if (klen < 0x400) {
		vmm_fail("kernel %s: truncated: %llu bytes is too small for a bzImage's boot "
		         "sector and "
		         "setup header",
		         kernel, (unsigned long long)klen);
		goto out;
	}
	if (ld16(k + HDR_BOOT_FLAG) != 0xaa55) {
		vmm_fail("kernel %s: no boot sector signature 0xAA55 at offset 0x1fe (not a "
		         "bzImage)",
		         kernel);
		goto out;
	}
	if (memcmp(k + HDR_MAGIC, "HdrS", 4) != 0) {
		vmm_fail(
		        "kernel %s: no \"HdrS\" setup header magic at offset 0x202 (not a bzImage, "
		        "or a pre-2.00 boot protocol kernel)",
		        kernel);
		goto out;
	}
	uint16_t proto = ld16(k + HDR_VERSION);
	out->protocol = proto;
	if (proto < 0x020c) {
		vmm_fail("kernel %s: boot protocol %u.%02u at offset 0x206 is too old (the 64-bit "
		         "entry "
		         "needs 2.12 or later)",
		         kernel, proto >> 8, proto & 0xff);
		goto out;
	}
	if (!(ld16(k + HDR_XLOADFLAGS) & 1)) {
		vmm_fail("kernel %s: xloadflags at offset 0x236 lack XLF_KERNEL_64 (no 64-bit "
		         "entry point)",
		         kernel);
		goto out;
	}
	if (!(k[HDR_LOADFLAGS] & 1)) {
		vmm_fail("kernel %s: loadflags at offset 0x211 lack LOADED_HIGH (a zImage, not a "
		         "bzImage)",
		         kernel);
		goto out;
	}
	unsigned sects = k[HDR_SETUP_SECTS] ? k[HDR_SETUP_SECTS] : 4;
	uint64_t setup_len = (uint64_t)(sects + 1) * 512;
	/* the header's own length: 0x202 + the jump's displacement byte */
	uint64_t hdr_end = 0x202 + k[HDR_JUMP + 1];
	if (setup_len >= klen || hdr_end > setup_len || hdr_end > 0x1000) {
		vmm_fail("kernel %s: truncated: %llu bytes, but the %u setup sectors at offset "
		         "0x1f1 "
		         "need more",
		         kernel, (unsigned long long)klen, sects);
		goto out;
	}
	uint64_t plen = klen - setup_len;
	uint64_t syssize = (uint64_t)ld32(k + HDR_SYSSIZE) * 16;
	if (syssize > plen) {
		vmm_fail("kernel %s: truncated: syssize at offset 0x1f4 says %llu bytes of "
		         "protected-mode "
		         "code, the file has %llu",
		         kernel, (unsigned long long)syssize, (unsigned long long)plen);
		goto out;
	}
	uint64_t init_size = proto >= 0x020a ? ld32(k + HDR_INIT_SIZE) : 0;
	if (init_size < plen)
		init_size = plen;
	if (VMM_KERNEL_ADDR + init_size > vm->low_size) {
		vmm_fail(
		        "kernel %s: needs %llu bytes from 1 MiB (init_size at offset 0x260), guest "
		        "memory below 3 GiB is %llu bytes",
		        kernel, (unsigned long long)init_size, (unsigned long long)vm->low_size);
		goto out;
	}
	memcpy(vmm_gpa(vm, VMM_KERNEL_ADDR, plen), k + setup_len, plen);
	out->kernel_end = VMM_KERNEL_ADDR + init_size;

	uint8_t *zp = vmm_gpa(vm, VMM_ZERO_PAGE, 4096);
	memset(zp, 0, 4096);
	memcpy(zp + HDR_SETUP_SECTS, k + HDR_SETUP_SECTS, hdr_end - HDR_SETUP_SECTS);
	zp[HDR_TYPE_OF_LOADER] = 0xff;
	zp[HDR_LOADFLAGS] =
	        (uint8_t)((zp[HDR_LOADFLAGS] & ~0x20) | 0x80); /* CAN_USE_HEAP, not QUIET */
	st16(zp + HDR_HEAP_END_PTR, 0xfe00);

	/* command line */
	size_t clen = cmdline ? strlen(cmdline) : 0;
	uint32_t cmax = ld32(k + HDR_CMDLINE_SIZE);
	if (clen >= VMM_CMDLINE_MAX || (cmax && clen > cmax)) {
		vmm_fail("kernel command line of %zu bytes is longer than the kernel's limit of %u "
		         "(cmdline_size at offset 0x238)",
		         clen, cmax ? cmax : VMM_CMDLINE_MAX - 1);
		goto out;
	}
	char *cl = vmm_gpa(vm, VMM_CMDLINE_ADDR, VMM_CMDLINE_MAX);
	memset(cl, 0, VMM_CMDLINE_MAX);
	if (clen)
		memcpy(cl, cmdline, clen);
	st32(zp + HDR_CMD_LINE_PTR, (uint32_t)VMM_CMDLINE_ADDR);
	st32(zp + BP_EXT_CMD_LINE_PTR, 0);

	/* initramfs: as high as the kernel allows, page aligned */
	if (initrd) {
		uint8_t *rd = NULL;
		uint64_t rlen = 0;
		uint64_t max_addr = ld32(k + HDR_INITRD_ADDR_MAX);
		if (max_addr == 0)
			max_addr = 0x37ffffff;
		uint64_t top = vm->low_size;
		if (top > max_addr + 1)
			top = max_addr + 1;
		uint64_t room = top > out->kernel_end ? top - out->kernel_end : 0;
		if (read_file(initrd, "initrd", room, &rd, &rlen) < 0) {
			if (room < KERNEL_MAX)
				vmm_fail("initrd %s is too large for guest memory: %llu bytes fit "
				         "between "
				         "the kernel's end and initrd_addr_max/RAM top (0x%llx)",
				         initrd, (unsigned long long)room, (unsigned long long)top);
			goto out;
		}
		uint64_t addr = (top - rlen) & ~0xfffULL;
		if (addr < out->kernel_end) {
			free(rd);
			vmm_fail("initrd %s is too large for guest memory", initrd);
			goto out;
		}
		memcpy(vmm_gpa(vm, addr, rlen), rd, rlen);
		free(rd);
		st32(zp + HDR_RAMDISK_IMAGE, (uint32_t)addr);
		st32(zp + HDR_RAMDISK_SIZE, (uint32_t)rlen);
		out->initrd_addr = addr;
		out->initrd_size = rlen;
	}

	uint64_t e[E820_MAX][3];
	unsigned n = vmm_e820(vm, e, E820_MAX);
	zp[BP_E820_ENTRIES] = (uint8_t)n;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = zp + BP_E820_TABLE + 20 * i;
		st64(p, e[i][0]);
		st64(p + 8, e[i][1]);
		st32(p + 16, (uint32_t)e[i][2]);
	}
	out->entry = VMM_KERNEL_ADDR + 0x200;
	out->zero_page = VMM_ZERO_PAGE;
	rc = 0;
out:
	free(k);
	return rc;
}
