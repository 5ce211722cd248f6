/*
 * vmm/virtio.c - the monitor's virtio devices: built from the
 * configuration, put on their transport, served by one I/O thread.
 * See virtio_dev.h for the notification and interrupt paths.
 *
 * Disks open through vstd_disk in any format; --read-only opens them
 * read-only and offers VIRTIO_BLK_F_RO; --snapshot puts a qcow2 overlay
 * (in $TMPDIR, deleted at once) over each disk so guest writes vanish.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "virtio_dev.h"

/* epoll tags: what woke the I/O thread */
#define TAG_STOP 0xffffffffu
#define TAG_TAP 0x80000000u
#define TAG(dev, q) (((uint32_t)(dev) << 8) | (q))

void vmm_vdev_update_irq(struct vmm_vdev *d)
{
	pthread_mutex_lock(&d->irq_lock);
	int level = vstd_virtio_isr_pending(d->dev) != 0;
	if (level != d->irq_level) {
		d->irq_level = level;
		vmm_irq_line(d->vm, d->gsi, level);
	}
	pthread_mutex_unlock(&d->irq_lock);
}

/* Raise MSI-X vector `vector` with message (addr, data) through its irqfd;
 * -1 when it has none (then KVM_SIGNAL_MSI does it). */
static int msi_irqfd(struct vmm_vdev *d, unsigned vector, uint64_t addr, uint32_t data)
{
	if (vector >= VMM_VDEV_MAX_VECTORS || d->vm->routes == NULL)
		return -1;
	struct vmm_msi_vec *v = &d->vec[vector];
	int fd = -1;
	pthread_mutex_lock(&d->irq_lock);
	if (v->state == 0)
		v->state = vmm_msi_irqfd_new(d->vm, &v->fd, &v->gsi) == 0 ? 1 : -1;
	if (v->state == 1 && (v->addr != addr || v->data != data || v->addr == 0)) {
		if (vmm_msi_route(d->vm, v->gsi, addr, data) == 0) {
			v->addr = addr;
			v->data = data;
		} else {
			v->state = -1;
		}
	}
	if (v->state == 1)
		fd = v->fd;
	pthread_mutex_unlock(&d->irq_lock);
	if (fd < 0)
		return -1;
	uint64_t one = 1;
	if (write(fd, &one, sizeof(one)) != sizeof(one))
		return -1;
	__atomic_add_fetch(&d->vm->msi_irqfd, 1, __ATOMIC_RELAXED);
	return 0;
}

static void on_interrupt(void *opaque, unsigned vector)
{
	struct vmm_vdev *d = opaque;
	if (vector == VSTD_VIRTIO_VECTOR_INTX) {
		vmm_vdev_update_irq(d);
		return;
	}
	uint64_t addr;
	uint32_t data;
	int masked;
	if (d->pci == NULL ||
	    vstd_virtio_pci_msix_entry(d->pci, vector, &addr, &data, &masked) < 0 || masked)
		return;
	if (msi_irqfd(d, vector, addr, data) == 0)
		return;
	struct kvm_msi msi;
	memset(&msi, 0, sizeof(msi));
	msi.address_lo = (uint32_t)addr;
	msi.address_hi = (uint32_t)(addr >> 32);
	msi.data = data;
	ioctl(d->vm->vm_fd, KVM_SIGNAL_MSI, &msi);
	__atomic_add_fetch(&d->vm->msi_ioctl, 1, __ATOMIC_RELAXED);
}

static int ioeventfd(struct vmm *vm, uint64_t addr, int fd, int match, uint64_t value, int deassign)
{
	struct kvm_ioeventfd io;
	memset(&io, 0, sizeof(io));
	io.addr = addr;
	io.fd = fd;
	/* virtio-pci drivers write the 16-bit queue index, virtio-mmio a
	 * 32-bit one; with NOTIFICATION_DATA a pci write is 32 bits: any
	 * length is taken where KVM allows it. */
	io.len = match ? 4 : 0;
	io.datamatch = value;
	io.flags = (match ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
	           (deassign ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0);
	return ioctl(vm->vm_fd, KVM_IOEVENTFD, &io);
}

int vmm_vdev_bind_notify(struct vmm_vdev *d, uint64_t addr, uint64_t stride, int match)
{
	struct vmm_virtio *v = d->vm->virtio;
	if (!v->ioeventfd_ok)
		return 0;
	if (d->ioev_bound) {
		for (unsigned q = 0; q < d->nqueues; q++)
			ioeventfd(d->vm, d->notify_base + q * stride, d->ioev[q], match, q, 1);
		d->ioev_bound = 0;
		d->notify_base = 0;
	}
	if (addr == 0)
		return 0;
	for (unsigned q = 0; q < d->nqueues; q++) {
		if (ioeventfd(d->vm, addr + q * stride, d->ioev[q], match, q, 0) < 0) {
			/* undo, and let the vCPU thread take kicks */
			for (unsigned r = 0; r < q; r++)
				ioeventfd(d->vm, addr + r * stride, d->ioev[r], match, r, 1);
			return 0;
		}
	}
	d->ioev_bound = 1;
	d->notify_base = addr;
	return 0;
}

static void *io_main(void *arg)
{
	struct vmm *vm = arg;
	struct vmm_virtio *v = vm->virtio;
	struct epoll_event ev[16];
	for (;;) {
		int n = epoll_wait(v->epfd, ev, 16, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			vmm_request_stop(vm, VMM_STOP_ERROR, 1, "virtio I/O thread: epoll: %s",
			                 strerror(errno));
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			uint32_t tag = ev[i].data.u32;
			uint64_t cnt;
			if (tag == TAG_STOP)
				return NULL;
			if (tag & TAG_TAP) {
				struct vmm_vdev *d = &v->dev[tag & 0xff];
				vstd_virtio_net_tap_poll(d->dev);
				continue;
			}
			struct vmm_vdev *d = &v->dev[tag >> 8];
			unsigned q = tag & 0xff;
			if (read(d->ioev[q], &cnt, sizeof(cnt)) != sizeof(cnt))
				continue;
			/* A hostile ring breaks the device (NEEDS_RESET), not us:
			 * the error is the device's state, seen by the guest. */
			__atomic_add_fetch(&vm->kicks_ioeventfd, 1, __ATOMIC_RELAXED);
			vstd_virtio_notify(d->dev, q);
		}
	}
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

static void console_output(void *opaque, unsigned port, const void *data, size_t len)
{
	struct vmm *vm = opaque;
	(void)port;
	if (vm->t_first_output == 0)
		vm->t_first_output = vmm_now_ns();
	const char *p = data;
	while (len > 0) {
		ssize_t w = write(vm->cfg.out_fd, p, len);
		if (w <= 0)
			return;
		p += w;
		len -= (size_t)w;
	}
}

/* The next device slot, named for messages. */
static struct vmm_vdev *new_vdev(struct vmm_virtio *v, struct vmm *vm, const char *opt,
                                 const char *arg)
{
	struct vmm_vdev *d = &v->dev[v->n];
	memset(d, 0, sizeof(*d));
	d->vm = vm;
	d->index = v->n;
	d->devno = -1;
	snprintf(d->what, sizeof(d->what), "%s%s%s", opt, arg ? " " : "", arg ? arg : "");
	pthread_mutex_init(&d->irq_lock, NULL);
	for (unsigned q = 0; q < VMM_VDEV_MAX_QUEUES; q++)
		d->ioev[q] = -1;
	for (unsigned i = 0; i < VMM_VDEV_MAX_VECTORS; i++)
		d->vec[i].fd = -1;
	v->n++;
	return d;
}

static int build_devices(struct vmm *vm, struct vmm_virtio *v)
{
	const struct vmm_config *c = &vm->cfg;
	for (unsigned i = 0; i < c->ndisks; i++) {
		struct vmm_vdev *d = new_vdev(v, vm, "--disk", c->disks[i]);
		if (open_disk(vm, i, &d->disk) < 0)
			return -1;
		vstd_virtio_blk_opts bo = VSTD_VIRTIO_BLK_OPTS_INIT;
		char serial[21];
		snprintf(serial, sizeof(serial), "vstd-disk-%u", i);
		bo.serial = serial;
		bo.read_only = c->read_only;
		bo.num_queues = 1;
		bo.common.features_off = VSTD_VIRTIO_BIT(12); /* VIRTIO_BLK_F_MQ: one queue */
		if (vstd_virtio_blk_new(&d->dev, v->gm, d->disk, &bo) < 0)
			return vmm_fail("%s: virtio-blk: %s", d->what, vstd_error_last()->message);
	}
	for (unsigned i = 0; i < c->nnets; i++) {
		struct vmm_vdev *d = new_vdev(v, vm, "--net", c->nets[i]);
		vstd_virtio_net_opts no = VSTD_VIRTIO_NET_OPTS_INIT;
		const char *name = c->nets[i];
		if (strncmp(name, "tap:", 4) == 0)
			name += 4;
		/* QEMU's MAC scheme: 52:54:00:12:34:56 + n */
		static const uint8_t mac0[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
		memcpy(no.mac, mac0, 6);
		no.mac[5] = (uint8_t)(0x56 + i);
		if (strcmp(name, "loopback") == 0) {
			no.loopback = 1;
		} else {
			no.loopback = 0;
			no.tap_name = name;
		}
		if (vstd_virtio_net_new(&d->dev, v->gm, &no) < 0)
			return vmm_fail("%s: virtio-net: %s", d->what, vstd_error_last()->message);
	}
	if (c->rng) {
		struct vmm_vdev *d = new_vdev(v, vm, "--rng", NULL);
		if (vstd_virtio_rng_new(&d->dev, v->gm, NULL) < 0)
			return vmm_fail("virtio-rng: %s", vstd_error_last()->message);
	}
	if (c->vconsole) {
		struct vmm_vdev *d = new_vdev(v, vm, "--virtio-console", NULL);
		vstd_virtio_console_opts co = VSTD_VIRTIO_CONSOLE_OPTS_INIT;
		co.max_nr_ports = 1;
		co.output = console_output;
		co.opaque = vm;
		if (vstd_virtio_console_new(&d->dev, v->gm, &co) < 0)
			return vmm_fail("virtio-console: %s", vstd_error_last()->message);
	}
	return 0;
}

int vmm_virtio_attach(struct vmm *vm)
{
	const struct vmm_config *c = &vm->cfg;
	if (c->ndisks + c->nnets + (c->rng != 0) + (c->vconsole != 0) == 0)
		return 0;
	struct vmm_virtio *v = calloc(1, sizeof(*v));
	if (!v)
		return vmm_fail("out of memory");
	vm->virtio = v;
	v->epfd = v->stopfd = -1;
	v->next_mmio = VMM_PCI_MMIO_BASE;
	if (vstd_guestmem_new(&v->gm) < 0 ||
	    vstd_guestmem_add(v->gm, 0, vm->ram, vm->low_size, 0) < 0 ||
	    (vm->ram_size > vm->low_size &&
	     vstd_guestmem_add(v->gm, 1ULL << 32, vm->ram + vm->low_size,
	                       vm->ram_size - vm->low_size, 0) < 0))
		return vmm_fail("guest memory map: %s", vstd_error_last()->message);
	if (build_devices(vm, v) < 0)
		return -1;

	v->epfd = epoll_create1(EPOLL_CLOEXEC);
	v->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->epfd < 0 || v->stopfd < 0)
		return vmm_fail("virtio I/O thread: %s", strerror(errno));
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = TAG_STOP};
	epoll_ctl(v->epfd, EPOLL_CTL_ADD, v->stopfd, &ev);
	if (getenv("VSTD_VMM_NO_IRQFD") == NULL && vmm_irq_routes_init(vm) < 0)
		return -1;
	v->ioeventfd_ok = getenv("VSTD_VMM_NO_IOEVENTFD") == NULL &&
	                  ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) > 0;

	if (!c->transport_mmio)
		vmm_vpci_hole_register(vm);
	for (unsigned i = 0; i < v->n; i++) {
		struct vmm_vdev *d = &v->dev[i];
		d->nqueues = vstd_virtio_dev_num_queues(d->dev);
		if (d->nqueues > VMM_VDEV_MAX_QUEUES)
			return vmm_fail("%s: %u virtqueues, the monitor serves at most %u", d->what,
			                d->nqueues, VMM_VDEV_MAX_QUEUES);
		for (unsigned q = 0; v->ioeventfd_ok && q < d->nqueues; q++) {
			d->ioev[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			if (d->ioev[q] < 0)
				return vmm_fail("%s: eventfd: %s", d->what, strerror(errno));
			struct epoll_event qe = {.events = EPOLLIN, .data.u32 = TAG(i, q)};
			epoll_ctl(v->epfd, EPOLL_CTL_ADD, d->ioev[q], &qe);
		}
		int tapfd = vstd_virtio_dev_type(d->dev) == VSTD_VIRTIO_NET
		                    ? vstd_virtio_net_tap_fd(d->dev)
		                    : -1;
		if (tapfd >= 0) {
			struct epoll_event te = {.events = EPOLLIN, .data.u32 = TAG_TAP | i};
			epoll_ctl(v->epfd, EPOLL_CTL_ADD, tapfd, &te);
		}
		vstd_virtio_host host = {VSTD_VIRTIO_HOST_VERSION, on_interrupt, d};
		int rc = c->transport_mmio ? vstd_virtio_mmio_new(&d->mmio, d->dev, &host)
		                           : vstd_virtio_pci_new(&d->pci, d->dev, &host, NULL);
		if (rc < 0)
			return vmm_fail("%s: %s: %s", d->what,
			                c->transport_mmio ? "virtio-mmio" : "virtio-pci",
			                vstd_error_last()->message);
		rc = c->transport_mmio ? vmm_vmmio_attach(vm, d, i) : vmm_vpci_attach(vm, d);
		if (rc < 0)
			return -1;
	}
	if (pthread_create(&v->io_thread, NULL, io_main, vm) != 0)
		return vmm_fail("cannot start the virtio I/O thread");
	v->io_started = 1;
	return 0;
}

unsigned vmm_virtio_mmio_devices(struct vmm *vm, uint64_t (*win)[2], unsigned max)
{
	struct vmm_virtio *v = vm->virtio;
	unsigned n = 0;
	for (unsigned i = 0; v && i < v->n && n < max; i++)
		if (v->dev[i].mmio) {
			win[n][0] = v->dev[i].mmio_base;
			win[n][1] = v->dev[i].gsi;
			n++;
		}
	return n;
}

void vmm_virtio_free(struct vmm *vm)
{
	struct vmm_virtio *v = vm->virtio;
	if (!v)
		return;
	if (v->io_started) {
		uint64_t one = 1;
		ssize_t w = write(v->stopfd, &one, sizeof(one));
		(void)w;
		pthread_join(v->io_thread, NULL);
	}
	for (unsigned i = 0; i < v->n; i++) {
		struct vmm_vdev *d = &v->dev[i];
		if (d->ioev_bound)
			vmm_vdev_bind_notify(d, 0, 0, d->mmio != NULL);
		vstd_virtio_pci_free(d->pci);
		vstd_virtio_mmio_free(d->mmio);
		vstd_virtio_dev_free(d->dev);
		for (unsigned q = 0; q < VMM_VDEV_MAX_QUEUES; q++)
			if (d->ioev[q] >= 0)
				close(d->ioev[q]);
		for (unsigned k = 0; k < VMM_VDEV_MAX_VECTORS; k++)
			if (d->vec[k].fd >= 0)
				close(d->vec[k].fd);
		if (d->disk) {
			vstd_disk_flush(d->disk);
			vstd_disk_close(d->disk);
		}
		pthread_mutex_destroy(&d->irq_lock);
	}
	if (v->epfd >= 0)
		close(v->epfd);
	if (v->stopfd >= 0)
		close(v->stopfd);
	vstd_guestmem_free(v->gm);
	free(v);
	vm->virtio = NULL;
}
