/*
 * vmm/bus.c - dispatch of the guest's I/O-port and MMIO accesses to
 * devices.  Unclaimed ports read as all ones and ignore writes, as on a
 * PC with nothing there.
 */
#include <string.h>

#include "vmm.h"

static int add(struct vmm_range *tab, unsigned *n, unsigned max, uint64_t base, uint64_t len,
               vmm_io_fn fn, void *opaque)
{
	if (*n >= max)
		return vmm_fail("bus: more than %u ranges", max);
	for (unsigned i = 0; i < *n; i++)
		if (base < tab[i].base + tab[i].len && tab[i].base < base + len)
			return vmm_fail("bus: range 0x%llx+0x%llx overlaps 0x%llx+0x%llx",
			                (unsigned long long)base, (unsigned long long)len,
			                (unsigned long long)tab[i].base,
			                (unsigned long long)tab[i].len);
	tab[*n] = (struct vmm_range){base, len, fn, opaque};
	(*n)++;
	return 0;
}

int vmm_bus_add_pio(struct vmm *vm, uint64_t base, uint64_t len, vmm_io_fn fn, void *opaque)
{
	return add(vm->pio, &vm->npio, VMM_MAX_PIO, base, len, fn, opaque);
}

int vmm_bus_add_mmio(struct vmm *vm, uint64_t base, uint64_t len, vmm_io_fn fn, void *opaque)
{
	return add(vm->mmio, &vm->nmmio, VMM_MAX_MMIO, base, len, fn, opaque);
}

static void dispatch(struct vmm *vm, struct vmm_range *tab, unsigned n, uint64_t addr, void *data,
                     unsigned size, int is_write)
{
	for (unsigned i = 0; i < n; i++) {
		if (addr >= tab[i].base && addr - tab[i].base < tab[i].len) {
			tab[i].fn(tab[i].opaque, addr - tab[i].base, data, size, is_write);
			return;
		}
	}
	if (!is_write)
		memset(data, 0xff, size);
}

void vmm_bus_pio(struct vmm *vm, uint16_t port, void *data, unsigned size, int is_write)
{
	pthread_mutex_lock(&vm->lock);
	vm->exits_io++;
	dispatch(vm, vm->pio, vm->npio, port, data, size, is_write);
	pthread_mutex_unlock(&vm->lock);
}

void vmm_bus_mmio(struct vmm *vm, uint64_t addr, void *data, unsigned size, int is_write)
{
	pthread_mutex_lock(&vm->lock);
	vm->exits_mmio++;
	dispatch(vm, vm->mmio, vm->nmmio, addr, data, size, is_write);
	pthread_mutex_unlock(&vm->lock);
}
