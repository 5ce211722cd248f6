/*
 * vmm/i8042.c - just enough of the PS/2 controller (ports 0x60, 0x64) to
 * reset the machine: command 0xFE on port 0x64 pulses the CPU reset line,
 * which this monitor treats as the end of the run (as QEMU -no-reboot).
 * Status reads 0 (both buffers empty), so a guest waiting for the input
 * buffer to drain never spins.
 */
#include <string.h>

#include "vmm.h"

static void i8042_io(void *opaque, uint64_t off, void *data, unsigned size, int is_write)
{
	struct vmm *vm = opaque;
	if (!is_write) {
		memset(data, 0, size);
		return;
	}
	if (off == 4 && ((uint8_t *)data)[0] == 0xfe)
		vmm_request_stop(vm, VMM_STOP_RESET, 0,
		                 "the guest reset the machine (i8042 command 0xfe)");
}

int vmm_i8042_init(struct vmm *vm)
{
	/* 0x60-0x64 (0x61, the PIT's speaker port, is handled inside KVM) */
	return vmm_bus_add_pio(vm, 0x60, 5, i8042_io, vm);
}
