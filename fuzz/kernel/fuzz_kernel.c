/*
 * fuzz/kernel/fuzz_kernel.c - the monitor's kernel loaders (vmm/boot_bzimage.c:
 * the Linux boot protocol's setup header; vmm/boot_elf.c: ELF headers,
 * program headers and the Xen PVH note) on hostile kernel files, loading
 * into 64 MiB of "guest RAM" with an initrd and a command line.  Every
 * input must end in a load or a named error, never in an access outside
 * the file or the RAM (ASan in the fuzz build).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../vmm/vmm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The loaders never set up vCPUs here; the CPU part is not linked in. */
int vmm_kvm_setup_long_mode(struct vmm *vm, struct vmm_vcpu *c, uint64_t rip, uint64_t rsi)
{
	(void)vm, (void)c, (void)rip, (void)rsi;
	return 0;
}

#define RAM (64u << 20)

static int file_of(const void *p, size_t n, char *path, size_t cap)
{
	int fd = memfd_create("vstd-fuzz-kernel", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (n && write(fd, p, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	snprintf(path, cap, "/proc/self/fd/%d", fd);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	static struct vmm vm;
	static const char initrd_bytes[] = "070701initrd";
	char kpath[64], ipath[64];
	if (ram == NULL) {
		ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (ram == MAP_FAILED)
			return 0;
	}
	memset(&vm, 0, sizeof(vm));
	vm.ram = ram;
	vm.ram_size = RAM;
	vm.low_size = RAM;
	int kfd = file_of(data, size, kpath, sizeof(kpath));
	int ifd = file_of(initrd_bytes, sizeof(initrd_bytes), ipath, sizeof(ipath));
	if (kfd >= 0 && ifd >= 0) {
		struct vmm_boot b;
		memset(&b, 0, sizeof(b));
		if (vmm_boot_is_elf(kpath))
			vmm_boot_elf(&vm, kpath, ipath, "console=ttyS0 fuzz", &b);
		else
			vmm_boot_bzimage(&vm, kpath, ipath, "console=ttyS0 fuzz", &b);
	}
	if (kfd >= 0)
		close(kfd);
	if (ifd >= 0)
		close(ifd);
	return 0;
}
