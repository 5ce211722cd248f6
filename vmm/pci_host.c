/*
 * vmm/pci_host.c - PCI bus 0: configuration mechanism #1 (address register
 * at 0xcf8, data window 0xcfc-0xcff) and ECAM (1 MiB for bus 0 at
 * VMM_ECAM_BASE), a host bridge at 00:00.0, and up to 31 functions that
 * devices register (function 0 of devices 1-31).  Absent functions read
 * as all ones.
 */
#include <stdlib.h>
#include <string.h>

#include "vmm.h"

struct vmm_pci {
	uint32_t addr; /* the 0xcf8 register */
	struct vmm_pci_fn fn[32];
	uint8_t bridge[256];
};

static void bridge_read(void *opaque, unsigned off, void *data, unsigned size)
{
	struct vmm_pci *p = opaque;
	memcpy(data, p->bridge + off, size);
}

static void bridge_write(void *opaque, unsigned off, const void *data, unsigned size)
{
	(void)opaque;
	(void)off;
	(void)data;
	(void)size; /* read-only */
}

static void cfg_access(struct vmm_pci *p, unsigned dev, unsigned fn, unsigned off, void *data,
                       unsigned size, int is_write)
{
	if (size != 1 && size != 2 && size != 4)
		size = 1;
	if (off + size > 256 || (off & (size - 1)) != 0 || dev >= 32 || fn != 0 ||
	    !p->fn[dev].cfg_read) {
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	if (is_write)
		p->fn[dev].cfg_write(p->fn[dev].opaque, off, data, size);
	else
		p->fn[dev].cfg_read(p->fn[dev].opaque, off, data, size);
}

static void cf8_io(void *opaque, uint64_t off, void *data, unsigned size, int is_write)
{
	struct vmm_pci *p = opaque;
	if (off == 0 && size == 4) {
		if (is_write)
			memcpy(&p->addr, data, 4);
		else
			memcpy(data, &p->addr, 4);
		return;
	}
	if (off < 4) { /* byte access to 0xcf8-0xcfb: not a config cycle */
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	unsigned reg_off = (unsigned)(off - 4);
	uint32_t a = p->addr;
	if (!(a & 0x80000000u) || ((a >> 16) & 0xff) != 0) {
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	cfg_access(p, (a >> 11) & 0x1f, (a >> 8) & 7, (a & 0xfc) + reg_off, data, size, is_write);
}

static void ecam_io(void *opaque, uint64_t off, void *data, unsigned size, int is_write)
{
	struct vmm_pci *p = opaque;
	if (off >= (1u << 20) || (off & 0xfff) >= 256) { /* bus 0 only; no extended space */
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	cfg_access(p, (unsigned)(off >> 15) & 0x1f, (unsigned)(off >> 12) & 7,
	           (unsigned)(off & 0xff), data, size, is_write);
}

int vmm_pci_add(struct vmm *vm, const struct vmm_pci_fn *fn)
{
	for (int d = 1; d < 32; d++) {
		if (!vm->pci->fn[d].cfg_read) {
			vm->pci->fn[d] = *fn;
			return d;
		}
	}
	return vmm_fail("PCI bus 0 is full (31 devices)");
}

int vmm_pci_init(struct vmm *vm)
{
	struct vmm_pci *p = calloc(1, sizeof(*p));
	if (!p)
		return vmm_fail("out of memory");
	vm->pci = p;
	uint8_t *b = p->bridge;
	b[0] = 0x36;
	b[1] = 0x1b; /* 1b36:0008, a generic host bridge */
	b[2] = 0x08;
	b[3] = 0x00;
	b[0x0a] = 0x00;
	b[0x0b] = 0x06; /* class 06/00: host bridge */
	p->fn[0] = (struct vmm_pci_fn){bridge_read, bridge_write, p};
	if (vmm_bus_add_pio(vm, 0xcf8, 8, cf8_io, p) < 0)
		return -1;
	return vmm_bus_add_mmio(vm, VMM_ECAM_BASE, VMM_ECAM_SIZE, ecam_io, p);
}

void vmm_pci_free(struct vmm *vm)
{
	free(vm->pci);
	vm->pci = NULL;
}
