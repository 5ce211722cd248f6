/*
 * vmm/virtio_dev.h - the monitor's virtio devices (internal to vmm/).
 *
 * virtio.c builds the devices the configuration asks for (virtio-blk per
 * --disk, virtio-net per --net, virtio-rng, virtio-console) from
 * lib/paravirt, puts each on a transport - virtio-pci (virtio_pci.c, the
 * default: a stock kernel finds it by PCI enumeration) or virtio-mmio
 * (virtio_mmio.c, described in the ACPI DSDT) - and runs one I/O thread.
 *
 * Notifications: each queue's notify register is an ioeventfd, so a guest's
 * kick costs one light exit that KVM handles in the kernel; the I/O thread
 * waits on all of them (and on TAP descriptors) and runs the queues.  When
 * KVM refuses an ioeventfd, the kick is handled on the vCPU thread by the
 * transport's register write instead (same result, slower).
 * Interrupts: each MSI-X vector is an irqfd on a GSI whose MSI route
 * carries the guest's current message (irq_route.c; the route is
 * rewritten when the MSI-X entry changes), raised by whichever thread
 * completes the request; without irqfd, KVM_SIGNAL_MSI.  INTx /
 * virtio-mmio lines are level lines that follow vstd_virtio_isr_pending()
 * under the device's irq_lock.
 */
#ifndef VSTD_VMM_VIRTIO_DEV_H
#define VSTD_VMM_VIRTIO_DEV_H

#include <pthread.h>
#include <stdint.h>

#include "vmm.h"
#include "vstd/vstd.h"
#include "vstd/virtio.h"

#define VMM_VDEV_MAX (VMM_MAX_DISKS + VMM_MAX_NICS + 2)
#define VMM_VDEV_MAX_QUEUES 8
#define VMM_VDEV_MAX_VECTORS (VMM_VDEV_MAX_QUEUES + 1)

/* An MSI-X vector delivered through an irqfd and its GSI's MSI route. */
struct vmm_msi_vec {
	int state; /* 0: not set up yet, 1: irqfd, -1: KVM_SIGNAL_MSI */
	int fd;
	unsigned gsi;
	uint64_t addr; /* the message the route carries now */
	uint32_t data;
};

struct vmm_vdev {
	struct vmm *vm;
	unsigned index; /* in struct vmm_virtio.dev[] */
	char what[64];  /* "--disk a.qcow2", "virtio-rng", ... for messages */
	vstd_virtio_dev *dev;
	vstd_disk *disk; /* owned (blk) */
	vstd_virtio_pci *pci;
	vstd_virtio_mmio *mmio;
	unsigned nqueues;

	/* pci */
	int devno;
	uint64_t notify_base; /* BAR 4 address the ioeventfds are bound to, 0: none */
	/* mmio */
	uint64_t mmio_base;

	unsigned gsi;
	pthread_mutex_t irq_lock;
	int irq_level;

	struct vmm_msi_vec vec[VMM_VDEV_MAX_VECTORS]; /* under irq_lock */

	int ioev[VMM_VDEV_MAX_QUEUES]; /* eventfds, -1: none */
	int ioev_bound;                /* registered with KVM */
};

struct vmm_virtio {
	vstd_guestmem *gm;
	struct vmm_vdev dev[VMM_VDEV_MAX];
	unsigned n;
	uint64_t next_mmio; /* next free address in the PCI hole */
	int epfd, stopfd;
	pthread_t io_thread;
	int io_started;
	int ioeventfd_ok; /* KVM takes ioeventfds */
};

/* virtio.c */
void vmm_vdev_update_irq(struct vmm_vdev *d); /* level := ISR pending */
/* Bind (or unbind, addr 0) the queue notify eventfds of d at
 * addr + q * stride, with `match` set: the written value must equal q. */
int vmm_vdev_bind_notify(struct vmm_vdev *d, uint64_t addr, uint64_t stride, int match);

/* virtio_pci.c / virtio_mmio.c: put a device on the transport. */
int vmm_vpci_attach(struct vmm *vm, struct vmm_vdev *d);
void vmm_vpci_hole_register(struct vmm *vm);
int vmm_vmmio_attach(struct vmm *vm, struct vmm_vdev *d, unsigned nth);

#endif
