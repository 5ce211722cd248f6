/*
 * vmm/virtio_pci.c - virtio devices from lib/paravirt on the PCI bus.
 *
 * Each --disk becomes a virtio-blk function over the library's virtio-pci
 * transport (modern, MSI-X).  The monitor plays firmware: it programs the
 * BARs in the PCI hole and enables memory decoding and bus mastering before
 * the guest runs (a guest may move them: accesses are routed by the
 * addresses the function currently decodes).  MSI-X messages go to KVM
 * with KVM_SIGNAL_MSI; INTx (MSI-X off) drives the function's I/O APIC pin
 * for as long as the ISR has bits pending.  Queue notifications are BAR
 * writes handled by the library on the vCPU thread.
 *
 * Disks open through vstd_disk in any format; --read-only opens them
 * read-only and offers VIRTIO_BLK_F_RO; --snapshot puts a qcow2 overlay
 * (in $TMPDIR, deleted at once) over each disk so guest writes vanish.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm.h"
#include "vstd/vstd.h"
#include "vstd/virtio.h"

struct vfn {
	struct vmm *vm;
	vstd_virtio_pci *pci;
	vstd_virtio_dev *dev;
	vstd_disk *disk;
	int devno;
	unsigned gsi;
	int intx_level;
};

struct vio {
	vstd_guestmem *gm;
	struct vfn fn[VMM_MAX_DISKS];
	unsigned n;
	uint64_t next_mmio;
};

static void update_intx(struct vfn *f)
{
	int level = vstd_virtio_isr_pending(f->dev) != 0;
	if (level != f->intx_level) {
		f->intx_level = level;
		vmm_irq_line(f->vm, f->gsi, level);
	}
}

static void on_interrupt(void *opaque, unsigned vector)
{
	struct vfn *f = opaque;
	if (vector == VSTD_VIRTIO_VECTOR_INTX) {
		if (!f->intx_level) {
			f->intx_level = 1;
			vmm_irq_line(f->vm, f->gsi, 1);
		}
		return;
	}
	uint64_t addr;
	uint32_t data;
	int masked;
	if (vstd_virtio_pci_msix_entry(f->pci, vector, &addr, &data, &masked) < 0 || masked)
		return;
	struct kvm_msi msi;
	memset(&msi, 0, sizeof(msi));
	msi.address_lo = (uint32_t)addr;
	msi.address_hi = (uint32_t)(addr >> 32);
	msi.data = data;
	ioctl(f->vm->vm_fd, KVM_SIGNAL_MSI, &msi);
}

static void cfg_read(void *opaque, unsigned off, void *data, unsigned size)
{
	struct vfn *f = opaque;
	if (vstd_virtio_pci_cfg_read(f->pci, off, data, size) < 0)
		memset(data, 0xff, size);
}

static void cfg_write(void *opaque, unsigned off, const void *data, unsigned size)
{
	struct vfn *f = opaque;
	vstd_virtio_pci_cfg_write(f->pci, off, data, size);
}

/* An access in the PCI memory hole: find the BAR that decodes it. */
static void hole_io(void *opaque, uint64_t off, void *data, unsigned size, int is_write)
{
	struct vmm *vm = opaque;
	struct vio *v = vm->virtio;
	uint64_t gpa = VMM_PCI_MMIO_BASE + off;
	for (unsigned i = 0; v && i < v->n; i++) {
		struct vfn *f = &v->fn[i];
		for (unsigned bar = 0; bar < 6; bar++) {
			int is_io = 0;
			uint64_t addr = 0;
			uint64_t sz = vstd_virtio_pci_bar(f->pci, bar, &is_io, &addr);
			if (!sz || is_io || addr == 0 || gpa < addr || gpa - addr >= sz)
				continue;
			if (is_write)
				vstd_virtio_pci_bar_write(f->pci, bar, gpa - addr, data, size);
			else if (vstd_virtio_pci_bar_read(f->pci, bar, gpa - addr, data, size) < 0)
				memset(data, 0xff, size);
			update_intx(f);
			return;
		}
	}
	if (!is_write)
		memset(data, 0xff, size);
}

static int program_bars(struct vio *v, struct vfn *f)
{
	for (unsigned bar = 0; bar < 6; bar++) {
		int is_io = 0;
		uint64_t addr;
		uint64_t sz = vstd_virtio_pci_bar(f->pci, bar, &is_io, &addr);
		if (!sz || is_io)
			continue;
		uint64_t base = (v->next_mmio + sz - 1) & ~(sz - 1);
		if (base + sz > VMM_PCI_MMIO_BASE + VMM_PCI_MMIO_SIZE)
			return vmm_fail("PCI memory hole full");
		uint32_t lo = (uint32_t)base, hi = 0;
		vstd_virtio_pci_cfg_write(f->pci, 0x10 + 4 * bar, &lo, 4);
		if (bar == 4) /* 64-bit BAR: the upper half is BAR 5 */
			vstd_virtio_pci_cfg_write(f->pci, 0x14 + 4 * bar, &hi, 4);
		v->next_mmio = base + sz;
	}
	uint16_t cmd = 0x0006; /* memory space, bus master */
	vstd_virtio_pci_cfg_write(f->pci, 0x04, &cmd, 2);
	uint8_t line = (uint8_t)f->gsi;
	vstd_virtio_pci_cfg_write(f->pci, 0x3c, &line, 1);
	return 0;
}

static int open_disk(struct vmm *vm, unsigned i, vstd_disk **out)
{
	const struct vmm_config *c = &vm->cfg;
	vstd_disk_open_opts o = VSTD_DISK_OPEN_OPTS_INIT;
	o.format = c->disk_formats[i];
	o.flags = (c->read_only || c->snapshot) ? 0 : VSTD_DISK_RDWR;
	if (vstd_disk_open(out, c->disks[i], &o) < 0)
		return vmm_fail("--disk %s: %s", c->disks[i], vstd_error_last()->message);
	if (!c->snapshot || c->read_only)
		return 0;
	/* a qcow2 overlay over the image, unlinked right away */
	char tmpl[4096];
	const char *dir = getenv("TMPDIR");
	snprintf(tmpl, sizeof(tmpl), "%s/vstd-vmm-snapshot-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(tmpl);
	if (fd < 0)
		return vmm_fail("--snapshot: cannot create an overlay in %s: %s", tmpl,
		                strerror(errno));
	close(fd);
	char *real = realpath(c->disks[i], NULL);
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	co.format = "qcow2";
	co.backing_file = real ? real : c->disks[i];
	co.backing_format = vstd_disk_format(*out);
	co.size = vstd_disk_size(*out);
	int rc = vstd_disk_create(tmpl, &co);
	free(real);
	vstd_disk_close(*out);
	*out = NULL;
	if (rc < 0) {
		unlink(tmpl);
		return vmm_fail("--snapshot %s: cannot create the overlay: %s", c->disks[i],
		                vstd_error_last()->message);
	}
	o.format = "qcow2";
	o.flags = VSTD_DISK_RDWR;
	rc = vstd_disk_open(out, tmpl, &o);
	unlink(tmpl);
	if (rc < 0)
		return vmm_fail("--snapshot %s: cannot open the overlay: %s", c->disks[i],
		                vstd_error_last()->message);
	return 0;
}

int vmm_virtio_attach(struct vmm *vm)
{
	if (vm->cfg.ndisks == 0)
		return 0;
	struct vio *v = calloc(1, sizeof(*v));
	if (!v)
		return vmm_fail("out of memory");
	vm->virtio = v;
	v->next_mmio = VMM_PCI_MMIO_BASE;
	if (vstd_guestmem_new(&v->gm) < 0 ||
	    vstd_guestmem_add(v->gm, 0, vm->ram, vm->low_size, 0) < 0 ||
	    (vm->ram_size > vm->low_size &&
	     vstd_guestmem_add(v->gm, 1ULL << 32, vm->ram + vm->low_size,
	                       vm->ram_size - vm->low_size, 0) < 0))
		return vmm_fail("guest memory map: %s", vstd_error_last()->message);
	if (vmm_bus_add_mmio(vm, VMM_PCI_MMIO_BASE, VMM_PCI_MMIO_SIZE, hole_io, vm) < 0)
		return -1;
	for (unsigned i = 0; i < vm->cfg.ndisks; i++) {
		struct vfn *f = &v->fn[i];
		f->vm = vm;
		if (open_disk(vm, i, &f->disk) < 0)
			return -1;
		v->n = i + 1;
		vstd_virtio_blk_opts bo = VSTD_VIRTIO_BLK_OPTS_INIT;
		char serial[21];
		snprintf(serial, sizeof(serial), "vstd-disk-%u", i);
		bo.serial = serial;
		bo.read_only = vm->cfg.read_only;
		bo.num_queues = 1;
		bo.common.features_off = VSTD_VIRTIO_BIT(12); /* VIRTIO_BLK_F_MQ: one queue */
		if (vstd_virtio_blk_new(&f->dev, v->gm, f->disk, &bo) < 0)
			return vmm_fail("--disk %s: virtio-blk: %s", vm->cfg.disks[i],
			                vstd_error_last()->message);
		vstd_virtio_host host = {VSTD_VIRTIO_HOST_VERSION, on_interrupt, f};
		if (vstd_virtio_pci_new(&f->pci, f->dev, &host, NULL) < 0)
			return vmm_fail("--disk %s: virtio-pci: %s", vm->cfg.disks[i],
			                vstd_error_last()->message);
		struct vmm_pci_fn fn = {cfg_read, cfg_write, f};
		f->devno = vmm_pci_add(vm, &fn);
		if (f->devno < 0)
			return -1;
		f->gsi = 16 + (unsigned)f->devno % 4; /* INTA, as the MP table / MADT say */
		if (program_bars(v, f) < 0)
			return -1;
	}
	return 0;
}

void vmm_virtio_free(struct vmm *vm)
{
	struct vio *v = vm->virtio;
	if (!v)
		return;
	for (unsigned i = 0; i < v->n; i++) {
		vstd_virtio_pci_free(v->fn[i].pci);
		vstd_virtio_dev_free(v->fn[i].dev);
		if (v->fn[i].disk) {
			vstd_disk_flush(v->fn[i].disk);
			vstd_disk_close(v->fn[i].disk);
		}
	}
	vstd_guestmem_free(v->gm);
	free(v);
	vm->virtio = NULL;
}
