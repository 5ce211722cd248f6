/*
 * vmm/virtio_pci.c - virtio devices from lib/paravirt on the PCI bus.
 * (Placeholder until the library's virtio-pci transport lands: disks given
 * with --disk are opened and checked through vstd_disk, then refused with
 * a named reason.)
 */
#include <string.h>

#include "vmm.h"
#include "vstd/vstd.h"

int vmm_virtio_attach(struct vmm *vm)
{
	if (vm->cfg.ndisks == 0)
		return 0;
	return vmm_fail("--disk %s: virtio-blk is not available in this build yet", vm->cfg.disks[0]);
}

void vmm_virtio_free(struct vmm *vm)
{
	(void)vm;
}
