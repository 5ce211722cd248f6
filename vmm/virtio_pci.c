/*
 * vmm/virtio_pci.c - virtio devices on the PCI bus (the default transport).
 *
 * Each device is a function over the library's virtio-pci transport
 * (modern, MSI-X).  The monitor plays firmware: it programs the BARs in
 * the PCI hole and enables memory decoding and bus mastering before the
 * guest runs.  A guest may move a BAR or turn decoding off (Linux does both
 * while sizing): accesses are routed by the address the function decodes
 * now, and the queue-notify ioeventfds follow BAR 4 after every config
 * write.  INTx (MSI-X off) drives the function's I/O APIC pin (GSI 16 +
 * slot % 4, as the ACPI _PRT and the MP table say) while the ISR has bits
 * pending.
 */
#include <string.h>

#include "virtio_dev.h"

static void rebind_notify(struct vmm_vdev *d)
{
	int is_io = 0;
	uint64_t addr = 0;
	vstd_virtio_pci_bar(d->pci, VSTD_VIRTIO_PCI_BAR_MODERN, &is_io, &addr);
	uint64_t notify = addr ? addr + vstd_virtio_pci_notify_offset(d->pci, 0) : 0;
	if (notify == d->notify_base && (d->ioev_bound || notify == 0))
		return;
	uint64_t stride =
	        vstd_virtio_pci_notify_offset(d->pci, 1) - vstd_virtio_pci_notify_offset(d->pci, 0);
	vmm_vdev_bind_notify(d, notify, stride, 0);
}

static void cfg_read(void *opaque, unsigned off, void *data, unsigned size)
{
	struct vmm_vdev *d = opaque;
	if (vstd_virtio_pci_cfg_read(d->pci, off, data, size) < 0)
		memset(data, 0xff, size);
}

static void cfg_write(void *opaque, unsigned off, const void *data, unsigned size)
{
	struct vmm_vdev *d = opaque;
	vstd_virtio_pci_cfg_write(d->pci, off, data, size);
	if ((off < 0x28 && off + size > 0x04) || off == 0x04)
		rebind_notify(d); /* command register or a BAR changed */
}

/* An access in the PCI memory hole: find the BAR that decodes it. */
static void hole_io(void *opaque, uint64_t off, void *data, unsigned size, int is_write)
{
	struct vmm *vm = opaque;
	struct vmm_virtio *v = vm->virtio;
	uint64_t gpa = VMM_PCI_MMIO_BASE + off;
	for (unsigned i = 0; v && i < v->n; i++) {
		struct vmm_vdev *d = &v->dev[i];
		if (d->pci == NULL)
			continue;
		for (unsigned bar = 0; bar < 6; bar++) {
			int is_io = 0;
			uint64_t addr = 0;
			uint64_t sz = vstd_virtio_pci_bar(d->pci, bar, &is_io, &addr);
			if (!sz || is_io || addr == 0 || gpa < addr || gpa - addr >= sz)
				continue;
			if (is_write)
				vstd_virtio_pci_bar_write(d->pci, bar, gpa - addr, data, size);
			else if (vstd_virtio_pci_bar_read(d->pci, bar, gpa - addr, data, size) < 0)
				memset(data, 0xff, size);
			vmm_vdev_update_irq(d);
			return;
		}
	}
	if (!is_write)
		memset(data, 0xff, size);
}

static int program_bars(struct vmm_virtio *v, struct vmm_vdev *d)
{
	for (unsigned bar = 0; bar < 6; bar++) {
		int is_io = 0;
		uint64_t addr;
		uint64_t sz = vstd_virtio_pci_bar(d->pci, bar, &is_io, &addr);
		if (!sz || is_io)
			continue;
		uint64_t base = (v->next_mmio + sz - 1) & ~(sz - 1);
		if (base + sz > VMM_PCI_MMIO_BASE + VMM_PCI_MMIO_SIZE)
			return vmm_fail("%s: PCI memory hole full", d->what);
		uint32_t lo = (uint32_t)base, hi = 0;
		vstd_virtio_pci_cfg_write(d->pci, 0x10 + 4 * bar, &lo, 4);
		if (bar == 4) /* 64-bit BAR: the upper half is BAR 5 */
			vstd_virtio_pci_cfg_write(d->pci, 0x14 + 4 * bar, &hi, 4);
		v->next_mmio = base + sz;
	}
	uint16_t cmd = 0x0006; /* memory space, bus master */
	vstd_virtio_pci_cfg_write(d->pci, 0x04, &cmd, 2);
	uint8_t line = (uint8_t)d->gsi;
	vstd_virtio_pci_cfg_write(d->pci, 0x3c, &line, 1);
	rebind_notify(d);
	return 0;
}

void vmm_vpci_hole_register(struct vmm *vm)
{
	vmm_bus_add_mmio(vm, VMM_PCI_MMIO_BASE, VMM_PCI_MMIO_SIZE, hole_io, vm);
}

int vmm_vpci_attach(struct vmm *vm, struct vmm_vdev *d)
{
	struct vmm_pci_fn fn = {cfg_read, cfg_write, d};
	d->devno = vmm_pci_add(vm, &fn);
	if (d->devno < 0)
		return -1;
	d->gsi = 16 + (unsigned)d->devno % 4; /* INTA, as the _PRT / MP table say */
	return program_bars(vm->virtio, d);
}
