/*
 * paravirt/loopvm.c - see loopvm.h.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/error_internal.h"
#include "paravirt/loopvm.h"

static int map_region(struct loopvm_region *r, uint64_t gpa, uint64_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = (size_t)vstd_align_up(size, page);
	uint8_t *m = mmap(NULL, len + 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return vstd_err_errno(VSTD_ENOMEM, 0, "loopvm: mmap of %zu bytes", len);
	if (mprotect(m + page, len, PROT_READ | PROT_WRITE) != 0) {
		munmap(m, len + 2 * page);
		return vstd_err(VSTD_ENOMEM, "loopvm: mprotect");
	}
	r->map = m;
	r->maplen = len + 2 * page;
	r->host = m + page;
	r->gpa = gpa;
	r->size = len;
	return 0;
}

int loopvm_init(struct loopvm *vm, uint64_t size, int two_regions)
{
	int rc;
	memset(vm, 0, sizeof(*vm));
	rc = vstd_guestmem_new(&vm->gm);
	if (rc < 0)
		return rc;
	vm->nreg = two_regions ? 2 : 1;
	for (int i = 0; i < vm->nreg; i++) {
		uint64_t part = size / (uint64_t)vm->nreg;
		uint64_t gpa = i == 0 ? LOOPVM_BASE : vm->reg[0].gpa + vm->reg[0].size;
		if ((rc = map_region(&vm->reg[i], gpa, part)) < 0 ||
		    (rc = vstd_guestmem_add(vm->gm, vm->reg[i].gpa, vm->reg[i].host,
		                            vm->reg[i].size, 0)) < 0) {
			loopvm_fini(vm);
			return rc;
		}
	}
	vm->brk = LOOPVM_BASE;
	vm->end = vm->reg[vm->nreg - 1].gpa + vm->reg[vm->nreg - 1].size;
	return 0;
}

void loopvm_fini(struct loopvm *vm)
{
	vstd_virtio_mmio_free(vm->mmio);
	vstd_virtio_pci_free(vm->pci);
	vstd_virtio_dev_free(vm->dev);
	for (int i = 0; i < vm->nreg; i++)
		if (vm->reg[i].map)
			munmap(vm->reg[i].map, vm->reg[i].maplen);
	vstd_guestmem_free(vm->gm);
	memset(vm, 0, sizeof(*vm));
}

void *loopvm_host(struct loopvm *vm, uint64_t gpa)
{
	for (int i = 0; i < vm->nreg; i++)
		if (gpa >= vm->reg[i].gpa && gpa - vm->reg[i].gpa < vm->reg[i].size)
			return vm->reg[i].host + (gpa - vm->reg[i].gpa);
	return NULL;
}

uint64_t loopvm_gpa(struct loopvm *vm, const void *p)
{
	const uint8_t *b = p;
	for (int i = 0; i < vm->nreg; i++)
		if (b >= vm->reg[i].host && (uint64_t)(b - vm->reg[i].host) < vm->reg[i].size)
			return vm->reg[i].gpa + (uint64_t)(b - vm->reg[i].host);
	return 0;
}

uint64_t loopvm_edge(const struct loopvm *vm)
{
	return vm->nreg == 2 ? vm->reg[1].gpa : vm->end;
}

void *loopvm_alloc(struct loopvm *vm, size_t size, size_t align, uint64_t *gpa)
{
	uint64_t a = vstd_align_up(vm->brk, align ? align : 1);
	uint8_t *p;
	if (size == 0)
		size = 1;
	/* Keep allocations inside one region. */
	for (int i = 0; i < vm->nreg; i++) {
		const struct loopvm_region *r = &vm->reg[i];
		if (a >= r->gpa && a - r->gpa < r->size && size > r->size - (a - r->gpa) &&
		    i + 1 < vm->nreg)
			a = vstd_align_up(vm->reg[i + 1].gpa, align ? align : 1);
	}
	if (a + size > vm->end || a + size < a)
		return NULL;
	vm->brk = a + size;
	p = loopvm_host(vm, a);
	memset(p, 0, size);
	if (gpa)
		*gpa = a;
	return p;
}

static void *mem_alloc(void *ctx, size_t size, size_t align, uint64_t *gpa)
{
	return loopvm_alloc(ctx, size, align, gpa);
}

static void on_irq(void *opaque, unsigned vector)
{
	struct loopvm *vm = opaque;
	/* Interrupts may come from several I/O threads at once. */
	__atomic_add_fetch(&vm->irqs, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&vm->vec_irqs[vector < 7 ? vector : 7], 1, __ATOMIC_RELAXED);
}

static uint64_t bus_read(void *ctx, int space, uint64_t off, unsigned size)
{
	struct loopvm *vm = ctx;
	uint8_t b[8] = {0};
	if (space == VDRV_SPACE_MMIO)
		(void)vstd_virtio_mmio_read(vm->mmio, off, b, size);
	else if (space == VDRV_SPACE_PCICFG)
		(void)vstd_virtio_pci_cfg_read(vm->pci, (unsigned)off, b, size);
	else
		(void)vstd_virtio_pci_bar_read(vm->pci, (unsigned)space, off, b, size);
	return vstd_le64(b);
}

static void bus_write(void *ctx, int space, uint64_t off, uint64_t val, unsigned size)
{
	struct loopvm *vm = ctx;
	uint8_t b[8];
	vstd_put_le64(b, val);
	if (space == VDRV_SPACE_MMIO)
		(void)vstd_virtio_mmio_write(vm->mmio, off, b, size);
	else if (space == VDRV_SPACE_PCICFG)
		(void)vstd_virtio_pci_cfg_write(vm->pci, (unsigned)off, b, size);
	else
		(void)vstd_virtio_pci_bar_write(vm->pci, (unsigned)space, off, b, size);
}

int loopvm_attach(struct loopvm *vm, vstd_virtio_dev *dev, int pci)
{
	vstd_virtio_host host = {VSTD_VIRTIO_HOST_VERSION, on_irq, vm};
	struct vdrv_bus bus = {bus_read, bus_write, vm};
	int rc;
	vm->dev = dev;
	if (pci) {
		vstd_virtio_pci_opts o = VSTD_VIRTIO_PCI_OPTS_INIT;
		o.transitional = pci == 2;
		rc = vstd_virtio_pci_new(&vm->pci, dev, &host, &o);
	} else {
		rc = vstd_virtio_mmio_new(&vm->mmio, dev, &host);
	}
	if (rc < 0)
		return rc;
	vm->mem.alloc = mem_alloc;
	vm->mem.ctx = vm;
	if (vdrv_probe(&vm->drv, pci ? VDRV_PCI : VDRV_MMIO, &bus) < 0)
		return vstd_err(VSTD_ERROR, "loopvm: the driver did not recognise the device");
	return 0;
}
