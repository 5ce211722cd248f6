/*
 * vmm/debug_exit.c - QEMU's isa-debug-exit at port 0x501: a write of value
 * v powers the machine off with exit status (v << 1) | 1, so one guest
 * reports the same status under QEMU and under this monitor.  Port 0x80
 * (POST codes, Linux's I/O delay) is claimed too, doing nothing.
 */
#include <string.h>

#include "vmm.h"

static void debug_exit_io(void *opaque, uint64_t off, void *data, unsigned size, int is_write)
{
	struct vmm *vm = opaque;
	if (!is_write) {
		memset(data, 0, size);
		return;
	}
	uint32_t v = 0;
	memcpy(&v, data, size < 4 ? size : 4);
	vmm_request_stop(vm, VMM_STOP_POWEROFF, (int)(((v & 0x7f) << 1) | 1),
	                 "the guest wrote %u to the debug-exit port 0x%x", v, VMM_DEBUG_EXIT_PORT);
}

static void post_io(void *opaque, uint64_t off, void *data, unsigned size, int is_write)
{
	if (!is_write)
		memset(data, 0, size);
}

int vmm_debug_exit_init(struct vmm *vm)
{
	if (vmm_bus_add_pio(vm, VMM_DEBUG_EXIT_PORT, 2, debug_exit_io, vm) < 0)
		return -1;
	return vmm_bus_add_pio(vm, 0x80, 1, post_io, vm);
}
