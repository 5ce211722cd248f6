/*
 * paravirt/loopvm.h - an in-process "machine" for tests, the self-test,
 * the fuzzers and the benchmark: guest memory with PROT_NONE guard pages
 * around every region, a bump allocator for driver memory, one device on
 * a transport, and the driver-side library wired to the transport's
 * register functions as a VMM would wire a guest's accesses.
 */
#ifndef VSTD_PARAVIRT_LOOPVM_H
#define VSTD_PARAVIRT_LOOPVM_H

#include "paravirt/driver/vdrv.h"
#include "vstd/virtio.h"

#define LOOPVM_BASE 0x100000ULL

struct loopvm_region {
	uint8_t *host;
	uint64_t gpa, size;
	void *map;
	size_t maplen;
};

struct loopvm {
	vstd_guestmem *gm;
	struct loopvm_region reg[2];
	int nreg;
	uint64_t brk, end;
	vstd_virtio_dev *dev;
	vstd_virtio_mmio *mmio;
	vstd_virtio_pci *pci;
	struct vdrv_dev drv;
	struct vdrv_mem mem;
	unsigned long irqs;
	unsigned long vec_irqs[8];
};

/* size bytes of guest memory from LOOPVM_BASE; with two_regions it is two
 * separate host mappings (each fenced by guard pages) that are adjacent in
 * guest-physical space, so buffers can straddle the edge. */
int loopvm_init(struct loopvm *vm, uint64_t size, int two_regions);
void loopvm_fini(struct loopvm *vm);
/* Put dev (owned by the vm from now on) on mmio (pci 0), modern pci (1) or
 * transitional pci (2) and probe it with the driver library. */
int loopvm_attach(struct loopvm *vm, vstd_virtio_dev *dev, int pci);
void *loopvm_alloc(struct loopvm *vm, size_t size, size_t align, uint64_t *gpa);
/* Host pointer for a guest address inside the vm (tests only), or NULL. */
void *loopvm_host(struct loopvm *vm, uint64_t gpa);
/* Guest address of a host pointer inside the vm, or 0. */
uint64_t loopvm_gpa(struct loopvm *vm, const void *p);
/* The gpa at the edge between the two regions (two_regions only). */
uint64_t loopvm_edge(const struct loopvm *vm);

#endif
