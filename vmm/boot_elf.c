/*
 * vmm/boot_elf.c - ELF kernels (summary of the facts in docs/vmm/boot.md):
 *   - with a Xen PVH note (XEN_ELFNOTE_PHYS32_ENTRY, type 18, name "Xen"):
 *     enter that address in 32-bit protected mode, paging off, EBX = an
 *     hvm_start_info (version 1: memory map, command line, the initrd as
 *     module 0, the RSDP), as Linux's vmlinux, QEMU's -kernel and Xen do;
 *   - else a 64-bit ELF: enter e_entry in long mode under the identity map
 *     of the first 4 GiB, RSI = a zero page (e820, command line, initrd)
 *     as the bzImage 64-bit entry gets, RBX = the same hvm_start_info.
 * The file is hostile: every header, program header and note is bounded
 * against the file, guest RAM, the monitor's own area below 1 MiB and the
 * other segments, and each refusal names the field and the rule.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm.h"

#define ELF_KERNEL_MAX (512ULL << 20)
#define ELF_MAX_PHDRS 64
#define PT_LOAD 1
#define PT_NOTE 4
#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* hvm_start_info and its tables, in the monitor's page at 0x6000 */
#define START_INFO_ADDR 0x6000ULL
#define MODLIST_ADDR (START_INFO_ADDR + 0x40)
#define MEMMAP_ADDR (START_INFO_ADDR + 0x100)
#define MEMMAP_MAX 128 /* 24-byte entries: 0x6100 + 128 * 24 < 0x7000 */
#define HVM_START_MAGIC 0x336ec578u
#define RSDP_ADDR 0xe0000ULL /* acpi.c */

/* zero page offsets (boot_bzimage.c, Documentation/arch/x86/zero-page.rst) */
#define BP_E820_ENTRIES 0x1e8
#define BP_TYPE_OF_LOADER 0x210
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_CMD_LINE_PTR 0x228
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128

struct seg {
	uint64_t off, paddr, filesz, memsz;
};

static uint16_t ld16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t ld32(const uint8_t *p)
{
	return (uint32_t)ld16(p) | (uint32_t)ld16(p + 2) << 16;
}
static uint64_t ld64(const uint8_t *p)
{
	return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32;
}
static void st32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static void st64(uint8_t *p, uint64_t v)
{
	st32(p, (uint32_t)v);
	st32(p + 4, (uint32_t)(v >> 32));
}

/* A read-only mapping of a whole regular file of at most max bytes. */
static int map_file(const char *path, const char *what, uint64_t max, const uint8_t **out,
                    uint64_t *len)
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
	*len = (uint64_t)st.st_size;
	*out = NULL;
	if (st.st_size > 0) {
		void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			close(fd);
			return vmm_fail("%s %s: mmap: %s", what, path, strerror(errno));
		}
		*out = p;
	}
	close(fd);
	return 0;
}

int vmm_boot_is_elf(const char *kernel)
{
	uint8_t m[4] = {0};
	int fd = open(kernel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* the loader reports the error */
	ssize_t r = read(fd, m, 4);
	close(fd);
	return r == 4 && memcmp(m,
	                        "\x7f"
	                        "ELF",
	                        4) == 0;
}

/* The PVH entry from the notes of one PT_NOTE segment (*found: seen one). */
static int find_pvh_note(const char *kernel, const uint8_t *k, const struct seg *s, unsigned idx,
                         uint64_t *entry, int *found)
{
	uint64_t pos = 0;
	while (pos < s->filesz) {
		uint64_t at = s->off + pos;
		if (s->filesz - pos < 12)
			return vmm_fail("kernel %s: note at offset 0x%llx in program header %u: "
			                "%llu bytes left, a note header needs 12",
			                kernel, (unsigned long long)at, idx,
			                (unsigned long long)(s->filesz - pos));
		uint64_t namesz = ld32(k + at), descsz = ld32(k + at + 4);
		uint32_t type = ld32(k + at + 8);
		uint64_t name_al = (namesz + 3) & ~3ULL, desc_al = (descsz + 3) & ~3ULL;
		if (name_al + desc_al > s->filesz - pos - 12)
			return vmm_fail(
			        "kernel %s: note at offset 0x%llx in program header %u: "
			        "name (%llu bytes) and descriptor (%llu bytes) run past the "
			        "segment's %llu bytes",
			        kernel, (unsigned long long)at, idx, (unsigned long long)namesz,
			        (unsigned long long)descsz, (unsigned long long)s->filesz);
		const uint8_t *name = k + at + 12, *desc = name + name_al;
		if (namesz == 4 && memcmp(name, "Xen", 4) == 0 &&
		    type == XEN_ELFNOTE_PHYS32_ENTRY) {
			if (descsz != 4 && descsz != 8)
				return vmm_fail(
				        "kernel %s: Xen note PHYS32_ENTRY at offset 0x%llx: "
				        "descriptor of %llu bytes, must be 4 or 8",
				        kernel, (unsigned long long)at, (unsigned long long)descsz);
			if (*found)
				return vmm_fail("kernel %s: program header %u: a second Xen "
				                "PHYS32_ENTRY note at offset 0x%llx",
				                kernel, idx, (unsigned long long)at);
			*found = 1;
			*entry = descsz == 4 ? ld32(desc) : ld64(desc);
			if (*entry >> 32)
				return vmm_fail(
				        "kernel %s: Xen note PHYS32_ENTRY at offset 0x%llx: "
				        "entry 0x%llx is not a 32-bit address",
				        kernel, (unsigned long long)at, (unsigned long long)*entry);
		}
		pos += 12 + name_al + desc_al;
	}
	return 0;
}

/* Program headers of either class as struct seg; checks each against the file. */
static int read_phdrs(const char *kernel, const uint8_t *k, uint64_t klen, int is64,
                      struct seg *load, unsigned *nload, uint64_t *pvh_entry, int *has_pvh)
{
	uint64_t phoff = is64 ? ld64(k + 0x20) : ld32(k + 0x1c);
	unsigned phentsize = ld16(k + (is64 ? 0x36 : 0x2a));
	unsigned phnum = ld16(k + (is64 ? 0x38 : 0x2c));
	unsigned want = is64 ? 56 : 32;
	if (phentsize != want)
		return vmm_fail("kernel %s: e_phentsize %u, an ELF%d program header is %u bytes",
		                kernel, phentsize, is64 ? 64 : 32, want);
	if (phnum == 0 || phnum > ELF_MAX_PHDRS)
		return vmm_fail("kernel %s: e_phnum %u program headers, this loader takes 1 to %d",
		                kernel, phnum, ELF_MAX_PHDRS);
	if (phoff > klen || (uint64_t)phnum * want > klen - phoff)
		return vmm_fail("kernel %s: truncated: program headers at e_phoff 0x%llx (%u x %u "
		                "bytes) run past the file's %llu bytes",
		                kernel, (unsigned long long)phoff, phnum, want,
		                (unsigned long long)klen);
	*nload = 0;
	*has_pvh = 0;
	for (unsigned i = 0; i < phnum; i++) {
		const uint8_t *p = k + phoff + (uint64_t)i * want;
		uint32_t type = ld32(p);
		struct seg s;
		if (is64) {
			s.off = ld64(p + 8);
			s.paddr = ld64(p + 0x18);
			s.filesz = ld64(p + 0x20);
			s.memsz = ld64(p + 0x28);
		} else {
			s.off = ld32(p + 4);
			s.paddr = ld32(p + 0xc);
			s.filesz = ld32(p + 0x10);
			s.memsz = ld32(p + 0x14);
		}
		if (type != PT_LOAD && type != PT_NOTE)
			continue;
		if (s.off > klen || s.filesz > klen - s.off)
			return vmm_fail(
			        "kernel %s: truncated: program header %u: p_offset 0x%llx + "
			        "p_filesz 0x%llx run past the file's %llu bytes",
			        kernel, i, (unsigned long long)s.off, (unsigned long long)s.filesz,
			        (unsigned long long)klen);
		if (type == PT_NOTE) {
			if (find_pvh_note(kernel, k, &s, i, pvh_entry, has_pvh) < 0)
				return -1;
			continue;
		}
		if (s.filesz > s.memsz)
			return vmm_fail("kernel %s: program header %u: p_filesz 0x%llx is larger "
			                "than p_memsz 0x%llx",
			                kernel, i, (unsigned long long)s.filesz,
			                (unsigned long long)s.memsz);
		if (s.memsz == 0)
			continue;
		load[(*nload)++] = s;
	}
	if (*nload == 0)
		return vmm_fail("kernel %s: no PT_LOAD program header with contents", kernel);
	return 0;
}

/* Each segment inside guest RAM, above the monitor's first MiB, disjoint. */
static int check_segments(struct vmm *vm, const char *kernel, const struct seg *load, unsigned n,
                          uint64_t *end)
{
	*end = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct seg *s = &load[i];
		if (s->paddr < VMM_KERNEL_ADDR)
			return vmm_fail("kernel %s: PT_LOAD %u at p_paddr 0x%llx is below 1 MiB, "
			                "where the monitor keeps its boot structures",
			                kernel, i, (unsigned long long)s->paddr);
		if (!vmm_gpa(vm, s->paddr, s->memsz))
			return vmm_fail("kernel %s: PT_LOAD %u at p_paddr 0x%llx with p_memsz "
			                "0x%llx is outside guest RAM (%llu bytes: up to 3 GiB, the "
			                "rest from 4 GiB)",
			                kernel, i, (unsigned long long)s->paddr,
			                (unsigned long long)s->memsz,
			                (unsigned long long)vm->ram_size);
		for (unsigned j = 0; j < i; j++) {
			const struct seg *o = &load[j];
			if (s->paddr < o->paddr + o->memsz && o->paddr < s->paddr + s->memsz)
				return vmm_fail("kernel %s: PT_LOAD %u (0x%llx+0x%llx) overlaps "
				                "PT_LOAD %u (0x%llx+0x%llx)",
				                kernel, i, (unsigned long long)s->paddr,
				                (unsigned long long)s->memsz, j,
				                (unsigned long long)o->paddr,
				                (unsigned long long)o->memsz);
		}
		if (s->paddr + s->memsz > *end)
			*end = s->paddr + s->memsz;
	}
	return 0;
}

static int entry_in_segment(const struct seg *load, unsigned n, uint64_t entry)
{
	for (unsigned i = 0; i < n; i++)
		if (entry >= load[i].paddr && entry - load[i].paddr < load[i].filesz)
			return 1;
	return 0;
}

int vmm_boot_elf(struct vmm *vm, const char *kernel, const char *initrd, const char *cmdline,
                 struct vmm_boot *out)
{
	const uint8_t *k = NULL, *rd = NULL;
	uint64_t klen = 0, rlen = 0;
	int rc = -1;
	memset(out, 0, sizeof(*out));
	if (map_file(kernel, "kernel", ELF_KERNEL_MAX, &k, &klen) < 0)
		return -1;
	if (klen < 0x40) {
		vmm_fail("kernel %s: truncated: %llu bytes is too small for an ELF header", kernel,
		         (unsigned long long)klen);
		goto out;
	}
	int is64 = k[4] == 2;
	if ((k[4] != 1 && k[4] != 2) || k[5] != 1 || k[6] != 1) {
		vmm_fail("kernel %s: ELF class %u, data %u, version %u at offset 4: this loader "
		         "takes little-endian ELF32 or ELF64 version 1",
		         kernel, k[4], k[5], k[6]);
		goto out;
	}
	uint16_t type = ld16(k + 0x10), machine = ld16(k + 0x12);
	if (type != 2) {
		vmm_fail("kernel %s: e_type %u, not ET_EXEC (2): a kernel is linked at fixed "
		         "addresses",
		         kernel, type);
		goto out;
	}
	if (machine != (is64 ? 62 : 3)) {
		vmm_fail("kernel %s: e_machine %u, not %s", kernel, machine,
		         is64 ? "EM_X86_64 (62)" : "EM_386 (3)");
		goto out;
	}
	uint64_t e_entry = is64 ? ld64(k + 0x18) : ld32(k + 0x18);
	struct seg load[ELF_MAX_PHDRS];
	unsigned nload = 0;
	uint64_t pvh_entry = 0, end = 0;
	int has_pvh = 0;
	if (read_phdrs(kernel, k, klen, is64, load, &nload, &pvh_entry, &has_pvh) < 0 ||
	    check_segments(vm, kernel, load, nload, &end) < 0)
		goto out;
	uint64_t entry = has_pvh ? pvh_entry : e_entry;
	if (!has_pvh && !is64) {
		vmm_fail("kernel %s: a 32-bit ELF without a Xen PVH note "
		         "(XEN_ELFNOTE_PHYS32_ENTRY): "
		         "no entry this monitor can use",
		         kernel);
		goto out;
	}
	if (entry >> 32 || !entry_in_segment(load, nload, entry)) {
		vmm_fail(
		        "kernel %s: %s 0x%llx is not inside the file contents of a PT_LOAD segment",
		        kernel, has_pvh ? "the PVH entry" : "e_entry", (unsigned long long)entry);
		goto out;
	}
	for (unsigned i = 0; i < nload; i++) {
		uint8_t *g = vmm_gpa(vm, load[i].paddr, load[i].memsz);
		memcpy(g, k + load[i].off, load[i].filesz);
		memset(g + load[i].filesz, 0, load[i].memsz - load[i].filesz);
	}

	/* command line (the same limit as the bzImage path) */
	size_t clen = cmdline ? strlen(cmdline) : 0;
	if (clen >= VMM_CMDLINE_MAX) {
		vmm_fail("kernel command line of %zu bytes is longer than the limit of %d", clen,
		         VMM_CMDLINE_MAX - 1);
		goto out;
	}
	char *cl = vmm_gpa(vm, VMM_CMDLINE_ADDR, VMM_CMDLINE_MAX);
	memset(cl, 0, VMM_CMDLINE_MAX);
	if (clen)
		memcpy(cl, cmdline, clen);

	/* initrd: as high as low RAM allows, page aligned, above the kernel */
	if (initrd) {
		uint64_t room = vm->low_size > end ? vm->low_size - end : 0;
		if (map_file(initrd, "initrd", room, &rd, &rlen) < 0) {
			if (room < ELF_KERNEL_MAX)
				vmm_fail("initrd %s is too large for guest memory: %llu bytes fit "
				         "between the kernel's end (0x%llx) and the top of low RAM",
				         initrd, (unsigned long long)room, (unsigned long long)end);
			goto out;
		}
		uint64_t addr = (vm->low_size - rlen) & ~0xfffULL;
		if (addr < end) {
			vmm_fail("initrd %s is too large for guest memory", initrd);
			goto out;
		}
		if (rlen)
			memcpy(vmm_gpa(vm, addr, rlen), rd, rlen);
		out->initrd_addr = addr;
		out->initrd_size = rlen;
	}

	/* hvm_start_info v1 + memory map + module list */
	uint8_t *si = vmm_gpa(vm, START_INFO_ADDR, 0x1000);
	memset(si, 0, 0x1000);
	uint64_t e[MEMMAP_MAX][3];
	unsigned n = vmm_e820(vm, e, MEMMAP_MAX);
	st32(si + 0, HVM_START_MAGIC);
	st32(si + 4, 1); /* version */
	st32(si + 12, initrd ? 1 : 0);
	st64(si + 16, initrd ? MODLIST_ADDR : 0);
	st64(si + 24, VMM_CMDLINE_ADDR);
	st64(si + 32, RSDP_ADDR);
	st64(si + 40, MEMMAP_ADDR);
	st32(si + 48, n);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *m = si + (MEMMAP_ADDR - START_INFO_ADDR) + 24 * i;
		st64(m, e[i][0]);
		st64(m + 8, e[i][1]);
		st32(m + 16, (uint32_t)e[i][2]);
	}
	if (initrd) {
		uint8_t *m = si + (MODLIST_ADDR - START_INFO_ADDR);
		st64(m, out->initrd_addr);
		st64(m + 8, out->initrd_size);
	}
	/* and the zero page the plain 64-bit entry gets (e820, command line, initrd) */
	uint8_t *zp = vmm_gpa(vm, VMM_ZERO_PAGE, 4096);
	memset(zp, 0, 4096);
	zp[BP_TYPE_OF_LOADER] = 0xff;
	st32(zp + BP_CMD_LINE_PTR, (uint32_t)VMM_CMDLINE_ADDR);
	st32(zp + BP_RAMDISK_IMAGE, (uint32_t)out->initrd_addr);
	st32(zp + BP_RAMDISK_SIZE, (uint32_t)out->initrd_size);
	if (n > BP_E820_MAX)
		n = BP_E820_MAX;
	zp[BP_E820_ENTRIES] = (uint8_t)n;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = zp + BP_E820_TABLE + 20 * i;
		st64(p, e[i][0]);
		st64(p + 8, e[i][1]);
		st32(p + 16, (uint32_t)e[i][2]);
	}
	out->entry = entry;
	out->zero_page = VMM_ZERO_PAGE;
	out->kernel_end = end;
	out->pvh = has_pvh;
	out->start_info = START_INFO_ADDR;
	rc = 0;
out:
	if (k)
		munmap((void *)(uintptr_t)k, (size_t)klen);
	if (rd)
		munmap((void *)(uintptr_t)rd, (size_t)rlen);
	return rc;
}

static void flat(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->db = 1;
	s->s = 1;
	s->g = 1;
}

/*
 * The boot CPU for an ELF kernel. PVH (Xen's docs/misc/pvh.pandoc): CR0 =
 * PE (+ET), paging off, CR4 = 0, EFER = 0, CS flat 32-bit execute/read,
 * DS/ES/SS flat 32-bit read/write, TR a 32-bit TSS (base 0, limit 0x67),
 * EFLAGS = 2, EBX = hvm_start_info. Plain 64-bit: the long-mode state of
 * the bzImage entry, RSI = the zero page, RBX = hvm_start_info.
 */
int vmm_boot_elf_cpu(struct vmm *vm, struct vmm_vcpu *c, const struct vmm_boot *b)
{
	struct kvm_regs r;
	if (!b->pvh) {
		if (vmm_kvm_setup_long_mode(vm, c, b->entry, b->zero_page) < 0)
			return -1;
		if (ioctl(c->fd, KVM_GET_REGS, &r) < 0)
			return vmm_fail("vCPU %d: KVM_GET_REGS: %s", c->id, strerror(errno));
		r.rbx = b->start_info;
		if (ioctl(c->fd, KVM_SET_REGS, &r) < 0)
			return vmm_fail("vCPU %d: KVM_SET_REGS: %s", c->id, strerror(errno));
		return 0;
	}
	/* a GDT that matches the loaded segments, should the kernel reload them */
	uint64_t *gdt = vmm_gpa(vm, VMM_GDT_ADDR, 32);
	gdt[0] = 0;
	gdt[1] = 0x00cf9b000000ffffULL; /* 0x08: 32-bit code */
	gdt[2] = 0x00cf93000000ffffULL; /* 0x10: data */
	gdt[3] = 0x00008b0000000067ULL; /* 0x18: 32-bit TSS, busy */
	struct kvm_sregs s;
	if (ioctl(c->fd, KVM_GET_SREGS, &s) < 0)
		return vmm_fail("vCPU %d: KVM_GET_SREGS: %s", c->id, strerror(errno));
	flat(&s.cs, 0x08, 11);
	flat(&s.ds, 0x10, 3);
	s.es = s.fs = s.gs = s.ss = s.ds;
	memset(&s.tr, 0, sizeof(s.tr));
	s.tr.selector = 0x18;
	s.tr.limit = 0x67;
	s.tr.type = 11;
	s.tr.present = 1;
	s.gdt.base = VMM_GDT_ADDR;
	s.gdt.limit = 31;
	s.cr0 = 0x11; /* PE ET */
	s.cr3 = 0;
	s.cr4 = 0;
	s.efer = 0;
	if (ioctl(c->fd, KVM_SET_SREGS, &s) < 0)
		return vmm_fail("vCPU %d: KVM_SET_SREGS: %s", c->id, strerror(errno));
	memset(&r, 0, sizeof(r));
	r.rflags = 2;
	r.rip = b->entry;
	r.rbx = b->start_info;
	if (ioctl(c->fd, KVM_SET_REGS, &r) < 0)
		return vmm_fail("vCPU %d: KVM_SET_REGS: %s", c->id, strerror(errno));
	return 0;
}
