/*
 * vmm/memory.c - guest RAM: one anonymous mapping, registered with KVM as
 * one slot below the PCI hole (3 GiB) and, for larger guests, a second
 * slot at 4 GiB for the rest.
 */
#include <errno.h>
#include <stdio.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vmm.h"

static int add_slot(struct vmm *vm, unsigned slot, uint64_t gpa, void *host, uint64_t size)
{
	struct kvm_userspace_memory_region r = {.slot = slot,
	                                        .guest_phys_addr = gpa,
	                                        .memory_size = size,
	                                        .userspace_addr = (uint64_t)(uintptr_t)host};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return vmm_fail("KVM_SET_USER_MEMORY_REGION slot %u (0x%llx bytes at 0x%llx): %s",
		                slot, (unsigned long long)size, (unsigned long long)gpa,
		                strerror(errno));
	return 0;
}

int vmm_memory_init(struct vmm *vm, uint64_t size)
{
	if (size < (16ULL << 20))
		return vmm_fail("guest memory %llu bytes is below the 16 MiB minimum",
		                (unsigned long long)size);
	if (size > (1ULL << 40))
		return vmm_fail("guest memory %llu bytes is above the 1 TiB limit",
		                (unsigned long long)size);
	size = (size + 0x1fffff) & ~0x1fffffULL; /* 2 MiB multiple */
	void *p;
	if (vm->cfg.hugepages) {
		/* 2 MiB pages from the hugetlb pool, reserved now: a shortage
		 * is an error here rather than a SIGBUS in the middle of a run */
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		         MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (21 << MAP_HUGE_SHIFT), -1, 0);
		if (p == MAP_FAILED)
			return vmm_fail("--hugepages: cannot map %llu MiB of guest memory in 2 MiB "
			                "huge pages: %s (%ld free; reserve %llu in "
			                "/proc/sys/vm/nr_hugepages)",
			                (unsigned long long)(size >> 20), strerror(errno),
			                vmm_proc_value("/proc/meminfo", "HugePages_Free"),
			                (unsigned long long)(size >> 21));
	} else {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return vmm_fail("cannot map %llu bytes of guest memory: %s",
			                (unsigned long long)size, strerror(errno));
		madvise(p, size, MADV_MERGEABLE);
	}
	vm->ram = p;
	vm->ram_size = size;
	vm->low_size = size < VMM_MMIO_HOLE ? size : VMM_MMIO_HOLE;
	if (add_slot(vm, 0, 0, p, vm->low_size) < 0)
		return -1;
	if (size > vm->low_size &&
	    add_slot(vm, 1, 1ULL << 32, (uint8_t *)p + vm->low_size, size - vm->low_size) < 0)
		return -1;
	return 0;
}

void *vmm_gpa(struct vmm *vm, uint64_t gpa, uint64_t len)
{
	if (len > vm->ram_size)
		return NULL;
	if (gpa < vm->low_size) {
		if (len > vm->low_size - gpa)
			return NULL;
		return vm->ram + gpa;
	}
	if (gpa >= (1ULL << 32)) {
		uint64_t off = gpa - (1ULL << 32), high = vm->ram_size - vm->low_size;
		if (off > high || len > high - off)
			return NULL;
		return vm->ram + vm->low_size + off;
	}
	return NULL;
}

void vmm_memory_free(struct vmm *vm)
{
	if (vm->ram)
		munmap(vm->ram, vm->ram_size);
	vm->ram = NULL;
}
