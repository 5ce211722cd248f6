/*
 * vmm/virtio_mmio.c - virtio devices on virtio-mmio (--transport mmio).
 *
 * Device n gets the 512-byte register window at VMM_VIRTIO_MMIO_BASE +
 * n * 4 KiB and the level-triggered GSI 16 + n (the PCI INTx pins are
 * free: with this transport there are no virtio PCI functions).  The ACPI
 * DSDT describes each window as a LNRO0005 device with its memory and
 * interrupt, so a stock kernel with virtio_mmio finds the devices without
 * `virtio_mmio.device=` options.  QueueNotify (0x050) is an ioeventfd per
 * queue, matched on the queue index written.
 */
#include <string.h>

#include "virtio_dev.h"

#define QUEUE_NOTIFY 0x050

static void window_io(void *opaque, uint64_t off, void *data, unsigned size, int is_write)
{
	struct vmm_vdev *d = opaque;
	if (is_write)
		vstd_virtio_mmio_write(d->mmio, off, data, size);
	else if (vstd_virtio_mmio_read(d->mmio, off, data, size) < 0)
		memset(data, 0xff, size);
	vmm_vdev_update_irq(d);
}

int vmm_vmmio_attach(struct vmm *vm, struct vmm_vdev *d, unsigned nth)
{
	if (nth >= VMM_VIRTIO_MMIO_MAX)
		return vmm_fail("%s: at most %u virtio-mmio devices", d->what, VMM_VIRTIO_MMIO_MAX);
	d->mmio_base = VMM_VIRTIO_MMIO_BASE + (uint64_t)nth * 0x1000;
	d->gsi = 16 + nth;
	if (vmm_bus_add_mmio(vm, d->mmio_base, VSTD_VIRTIO_MMIO_SIZE, window_io, d) < 0)
		return -1;
	return vmm_vdev_bind_notify(d, d->mmio_base + QUEUE_NOTIFY, 0, 1);
}
