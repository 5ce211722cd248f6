/*
 * vmm/machine.c - assemble a machine from a struct vmm_config: KVM VM,
 * RAM, legacy devices (COM1, i8042, RTC, debug-exit), PCI host and virtio
 * devices, the kernel, and the vCPUs (the boot CPU in the 64-bit boot
 * state, the others waiting for INIT/SIPI in the in-kernel LAPIC).
 */
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "vmm.h"

const char *vmm_stop_name(enum vmm_stop_reason r)
{
	switch (r) {
	case VMM_RUNNING: return "running";
	case VMM_STOP_POWEROFF: return "poweroff";
	case VMM_STOP_RESET: return "reset";
	case VMM_STOP_HALT: return "halt";
	case VMM_STOP_TIMEOUT: return "timeout";
	case VMM_STOP_ERROR: return "error";
	case VMM_STOP_SIGNAL: return "signal";
	}
	return "?";
}

int vmm_machine_create(struct vmm **out, const struct vmm_config *cfg)
{
	*out = NULL;
	if (cfg->cpus < 1 || cfg->cpus > VMM_MAX_CPUS)
		return vmm_fail("%u vCPUs: this monitor runs 1 to %d", cfg->cpus, VMM_MAX_CPUS);
	if (!cfg->kernel)
		return vmm_fail("no kernel given (--kernel)");
	struct vmm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return vmm_fail("out of memory");
	vm->cfg = *cfg;
	vm->kvm_fd = vm->vm_fd = -1;
	vm->t_start = vmm_now_ns();
	pthread_mutex_init(&vm->lock, NULL);
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_cond_init(&vm->stop_cond, NULL);
	*out = vm;

	if (vmm_kvm_open(vm) < 0 || vmm_memory_init(vm, cfg->mem) < 0)
		return -1;
	if (vmm_uart_init(vm, 0x3f8, 4) < 0 || vmm_i8042_init(vm) < 0 || vmm_rtc_init(vm) < 0 ||
	    vmm_debug_exit_init(vm) < 0)
		return -1;
	if (vmm_pci_init(vm) < 0)
		return -1;
	if (vmm_virtio_attach(vm) < 0)
		return -1;

	struct vmm_boot boot;
	int elf = vmm_boot_is_elf(cfg->kernel);
	if ((elf ? vmm_boot_elf(vm, cfg->kernel, cfg->initrd, cfg->append, &boot)
	         : vmm_boot_bzimage(vm, cfg->kernel, cfg->initrd, cfg->append, &boot)) < 0)
		return -1;
	vm->nvcpus = cfg->cpus;
	for (unsigned i = 0; i < cfg->cpus; i++)
		if (vmm_kvm_create_vcpu(vm, i) < 0)
			return -1;
	if (vmm_mptable(vm) < 0 || vmm_acpi(vm) < 0)
		return -1;
	/* No BIOS: a guest that resets through the real-mode reset vector
	 * (Linux's reboot=bios fallback jumps to f000:fff0) finds code that
	 * resets through the i8042 instead of running through zeroed memory. */
	static const uint8_t reset_stub[] = {
	        0xb0, 0xfe, 0xe6, 0x64, 0xf4, 0xeb, 0xfd}; /* mov al,0xfe; out 0x64,al; hlt; jmp */
	memcpy(vmm_gpa(vm, 0xffff0, sizeof(reset_stub)), reset_stub, sizeof(reset_stub));
	if (elf)
		return vmm_boot_elf_cpu(vm, &vm->vcpus[0], &boot);
	return vmm_kvm_setup_long_mode(vm, &vm->vcpus[0], boot.entry, boot.zero_page);
}

void vmm_machine_free(struct vmm *vm)
{
	if (!vm)
		return;
	vmm_virtio_free(vm);
	vmm_irq_routes_free(vm);
	vmm_pci_free(vm);
	vmm_uart_free(vm);
	vmm_kvm_close(vm);
	vmm_memory_free(vm);
	pthread_mutex_destroy(&vm->lock);
	pthread_mutex_destroy(&vm->stop_lock);
	pthread_cond_destroy(&vm->stop_cond);
	free(vm);
}
