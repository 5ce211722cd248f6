/*
 * vmm/irq_route.c - KVM GSI routing for MSI messages delivered by irqfd.
 *
 * KVM_SET_GSI_ROUTING replaces the whole table, so the table kept here
 * starts with KVM's default routes (GSI 0-15 to the PIC and the I/O APIC
 * pin of the same number, 16-23 to the I/O APIC only) and appends one MSI
 * route per irqfd.  A route is rewritten when the guest's MSI-X entry
 * (address, data) changes; vmm_msi_route() is called by the thread raising
 * the interrupt, so the table is behind its own lock.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm.h"

#define FIRST_MSI_GSI 24
#define MAX_ROUTES 512

struct vmm_irq_routes {
	pthread_mutex_t lock;
	unsigned n; /* entries in use */
	unsigned next_gsi;
	struct kvm_irq_routing *table; /* header + MAX_ROUTES entries */
};

static struct kvm_irq_routing_entry *entries(struct vmm_irq_routes *r)
{
	return r->table->entries;
}

static int push(struct vmm *vm)
{
	struct vmm_irq_routes *r = vm->routes;
	r->table->nr = r->n;
	r->table->flags = 0;
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r->table) < 0)
		return vmm_fail("KVM_SET_GSI_ROUTING: %s", strerror(errno));
	return 0;
}

int vmm_irq_routes_init(struct vmm *vm)
{
	if (!vm->has_irqchip || ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING) <= 0 ||
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) <= 0)
		return 0; /* no irqfd: interrupts go through KVM_SIGNAL_MSI */
	struct vmm_irq_routes *r = calloc(1, sizeof(*r));
	if (!r)
		return vmm_fail("out of memory");
	r->table = calloc(1, sizeof(*r->table) + MAX_ROUTES * sizeof(struct kvm_irq_routing_entry));
	if (!r->table) {
		free(r);
		return vmm_fail("out of memory");
	}
	pthread_mutex_init(&r->lock, NULL);
	for (unsigned gsi = 0; gsi < 24; gsi++) {
		struct kvm_irq_routing_entry *e = &r->table->entries[r->n++];
		e->gsi = gsi;
		e->type = KVM_IRQ_ROUTING_IRQCHIP;
		e->u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		e->u.irqchip.pin = gsi;
		if (gsi < 16) {
			e = &r->table->entries[r->n++];
			e->gsi = gsi;
			e->type = KVM_IRQ_ROUTING_IRQCHIP;
			e->u.irqchip.irqchip =
			        gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
			e->u.irqchip.pin = gsi % 8;
		}
	}
	r->next_gsi = FIRST_MSI_GSI;
	vm->routes = r;
	return 0;
}

int vmm_msi_irqfd_new(struct vmm *vm, int *fd_out, unsigned *gsi_out)
{
	struct vmm_irq_routes *r = vm->routes;
	if (!r)
		return -1;
	pthread_mutex_lock(&r->lock);
	if (r->n >= MAX_ROUTES) {
		pthread_mutex_unlock(&r->lock);
		return -1;
	}
	unsigned gsi = r->next_gsi++;
	/* a placeholder MSI route until the guest's message is known */
	struct kvm_irq_routing_entry *e = &entries(r)[r->n++];
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_MSI;
	e->u.msi.address_lo = 0xfee00000u;
	int rc = push(vm);
	pthread_mutex_unlock(&r->lock);
	if (rc < 0)
		return -1;
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -1;
	struct kvm_irqfd irqfd;
	memset(&irqfd, 0, sizeof(irqfd));
	irqfd.fd = (uint32_t)fd;
	irqfd.gsi = gsi;
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		close(fd);
		return -1;
	}
	*fd_out = fd;
	*gsi_out = gsi;
	return 0;
}

int vmm_msi_route(struct vmm *vm, unsigned gsi, uint64_t addr, uint32_t data)
{
	struct vmm_irq_routes *r = vm->routes;
	int rc = -1;
	if (!r)
		return -1;
	pthread_mutex_lock(&r->lock);
	for (unsigned i = 0; i < r->n; i++) {
		struct kvm_irq_routing_entry *e = &entries(r)[i];
		if (e->gsi != gsi || e->type != KVM_IRQ_ROUTING_MSI)
			continue;
		e->u.msi.address_lo = (uint32_t)addr;
		e->u.msi.address_hi = (uint32_t)(addr >> 32);
		e->u.msi.data = data;
		rc = push(vm);
		break;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void vmm_irq_routes_free(struct vmm *vm)
{
	struct vmm_irq_routes *r = vm->routes;
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->table);
	free(r);
	vm->routes = NULL;
}
