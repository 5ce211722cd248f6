/*
 * vmm/kvm.c - /dev/kvm: capability checks, the VM (in-kernel irqchip and
 * PIT), vCPUs (CPUID from what KVM supports, MSRs, LAPIC in virtual-wire
 * mode, 64-bit boot state) and register dumps for error reports.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm.h"

struct cap {
	int id;
	const char *name;
	int required;
};

static const struct cap caps[] = {
        {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", 1},
        {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", 1},
        {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", 1},
        {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", 0},
        {KVM_CAP_PIT2, "KVM_CAP_PIT2", 0},
        {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD", 0},
        {KVM_CAP_IRQFD, "KVM_CAP_IRQFD", 0},
};

int vmm_kvm_open(struct vmm *vm)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int e = errno;
		if (e == ENOENT)
			return vmm_fail(
			        "/dev/kvm does not exist (KVM is not available on this host: "
			        "load kvm-intel or kvm-amd, or enable virtualization in the "
			        "firmware)");
		if (e == EACCES || e == EPERM)
			return vmm_fail(
			        "/dev/kvm: permission denied (add the user to the 'kvm' group)");
		return vmm_fail("/dev/kvm: %s", strerror(e));
	}
	int v = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION)
		return vmm_fail("/dev/kvm: API version %d, this monitor needs %d", v,
		                KVM_API_VERSION);
	int has_irqchip = 1;
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, caps[i].id) > 0)
			continue;
		if (caps[i].required)
			return vmm_fail("/dev/kvm lacks the capability %s that this monitor needs",
			                caps[i].name);
		if (caps[i].id == KVM_CAP_IRQCHIP || caps[i].id == KVM_CAP_PIT2)
			has_irqchip = 0;
	}
	int r = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r <= 0)
		return vmm_fail("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	vm->run_size = (size_t)r;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return vmm_fail("KVM_CREATE_VM: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)VMM_TSS_ADDR) < 0)
		return vmm_fail("KVM_SET_TSS_ADDR: %s", strerror(errno));
	uint64_t idmap = VMM_IDMAP_ADDR;
	ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap); /* optional (Intel only) */
	if (has_irqchip) {
		if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
			return vmm_fail("KVM_CREATE_IRQCHIP: %s", strerror(errno));
		struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
		if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
			return vmm_fail("KVM_CREATE_PIT2: %s", strerror(errno));
	}
	vm->has_irqchip = has_irqchip;
	return 0;
}

static int set_cpuid(struct vmm *vm, struct vmm_vcpu *c)
{
	unsigned n = 128;
	struct kvm_cpuid2 *cp = NULL;
	for (;;) {
		free(cp);
		cp = calloc(1, sizeof(*cp) + n * sizeof(cp->entries[0]));
		if (!cp)
			return vmm_fail("out of memory");
		cp->nent = n;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cp) == 0)
			break;
		if (errno != E2BIG || n >= 4096) {
			free(cp);
			return vmm_fail("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		}
		n *= 2;
	}
	for (unsigned i = 0; i < cp->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cp->entries[i];
		switch (e->function) {
		case 1:
			/* initial APIC ID, logical processor count; hypervisor bit */
			e->ebx = (e->ebx & 0x0000ffffu) | ((uint32_t)c->id << 24) |
			         ((uint32_t)(vm->nvcpus > 1 ? vm->nvcpus : 1) << 16);
			e->ecx |= 1u << 31;
			if (vm->nvcpus > 1)
				e->edx |= 1u << 28; /* HTT: the count field is valid */
			break;
		case 0xb:
		case 0x1f:
			e->edx = (uint32_t)c->id; /* x2APIC ID */
			break;
		case 6:
			e->ecx &= ~(1u << 3); /* no energy-performance bias MSR */
			break;
		}
	}
	int r = ioctl(c->fd, KVM_SET_CPUID2, cp);
	free(cp);
	if (r < 0)
		return vmm_fail("vCPU %d: KVM_SET_CPUID2: %s", c->id, strerror(errno));
	return 0;
}

static int set_lapic(struct vmm_vcpu *c)
{
	struct kvm_lapic_state la;
	if (ioctl(c->fd, KVM_GET_LAPIC, &la) < 0)
		return vmm_fail("vCPU %d: KVM_GET_LAPIC: %s", c->id, strerror(errno));
	uint32_t *lint0 = (uint32_t *)(void *)&la.regs[0x350];
	uint32_t *lint1 = (uint32_t *)(void *)&la.regs[0x360];
	*lint0 = (*lint0 & ~0x700u & ~0x10000u) | (7u << 8); /* ExtINT, unmasked */
	*lint1 = (*lint1 & ~0x700u & ~0x10000u) | (4u << 8); /* NMI, unmasked */
	if (ioctl(c->fd, KVM_SET_LAPIC, &la) < 0)
		return vmm_fail("vCPU %d: KVM_SET_LAPIC: %s", c->id, strerror(errno));
	return 0;
}

static int set_msrs(struct vmm_vcpu *c)
{
	static const uint32_t idx[] = {
	        0x174,      0x175,      0x176,                  /* SYSENTER_CS/ESP/EIP */
	        0xc0000081, 0xc0000082, 0xc0000084, 0xc0000102, /* STAR LSTAR FMASK KERNEL_GS */
	        0x10,                                           /* TSC */
	        0x1a0,                                          /* MISC_ENABLE */
	};
	/* struct kvm_msrs ends in a flexible array: room for 9 entries after it */
	uint64_t buf[(sizeof(struct kvm_msrs) + 9 * sizeof(struct kvm_msr_entry)) / 8 + 1];
	struct kvm_msrs *m = (struct kvm_msrs *)buf;
	memset(buf, 0, sizeof(buf));
	m->nmsrs = 9;
	for (unsigned i = 0; i < 9; i++)
		m->entries[i].index = idx[i];
	m->entries[8].data = 1; /* fast strings */
	int r = ioctl(c->fd, KVM_SET_MSRS, m);
	if (r < 0)
		return vmm_fail("vCPU %d: KVM_SET_MSRS: %s", c->id, strerror(errno));
	return 0;
}

int vmm_kvm_create_vcpu(struct vmm *vm, unsigned id)
{
	struct vmm_vcpu *c = &vm->vcpus[id];
	c->vm = vm;
	c->id = (int)id;
	c->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (c->fd < 0)
		return vmm_fail("KVM_CREATE_VCPU %u: %s", id, strerror(errno));
	c->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->run == MAP_FAILED) {
		c->run = NULL;
		return vmm_fail("vCPU %u: mmap of kvm_run: %s", id, strerror(errno));
	}
	if (set_cpuid(vm, c) < 0 || set_msrs(c) < 0)
		return -1;
	if (vm->has_irqchip && set_lapic(c) < 0)
		return -1;
	struct kvm_fpu fpu;
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(c->fd, KVM_SET_FPU, &fpu) < 0)
		return vmm_fail("vCPU %u: KVM_SET_FPU: %s", id, strerror(errno));
	return 0;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, int code64)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->db = code64 ? 0 : 1;
	s->s = 1;
	s->l = code64 ? 1 : 0;
	s->g = 1;
}

/*
 * The state the 64-bit boot protocol asks for: long mode with paging, an
 * identity map of the first 4 GiB (2 MiB pages), __BOOT_CS = 0x10 and
 * __BOOT_DS = 0x18 flat, interrupts off, RSI = the zero page.
 */
int vmm_kvm_setup_long_mode(struct vmm *vm, struct vmm_vcpu *c, uint64_t rip, uint64_t rsi)
{
	uint64_t *gdt = vmm_gpa(vm, VMM_GDT_ADDR, 32);
	uint64_t *pml4 = vmm_gpa(vm, VMM_PML4_ADDR, 6 * 4096);
	if (!gdt || !pml4)
		return vmm_fail("guest memory too small for the boot page tables");
	gdt[0] = 0;
	gdt[1] = 0;
	gdt[2] = 0x00af9b000000ffffULL; /* 64-bit code */
	gdt[3] = 0x00cf93000000ffffULL; /* data */
	memset(pml4, 0, 6 * 4096);
	uint64_t *pdpt = pml4 + 512, *pd = pml4 + 1024;
	pml4[0] = (VMM_PML4_ADDR + 0x1000) | 3;
	for (unsigned i = 0; i < 4; i++)
		pdpt[i] = (VMM_PML4_ADDR + 0x2000 + i * 0x1000ULL) | 3;
	for (unsigned i = 0; i < 2048; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83; /* present, writable, 2 MiB */

	struct kvm_sregs s;
	if (ioctl(c->fd, KVM_GET_SREGS, &s) < 0)
		return vmm_fail("vCPU %d: KVM_GET_SREGS: %s", c->id, strerror(errno));
	seg(&s.cs, 0x10, 11, 1);
	seg(&s.ds, 0x18, 3, 0);
	s.es = s.fs = s.gs = s.ss = s.ds;
	s.gdt.base = VMM_GDT_ADDR;
	s.gdt.limit = 31;
	s.cr3 = VMM_PML4_ADDR;
	s.cr4 = 0x20;          /* PAE */
	s.cr0 = 0x80000011ULL; /* PG ET PE */
	s.efer = 0x500;        /* LME LMA */
	if (ioctl(c->fd, KVM_SET_SREGS, &s) < 0)
		return vmm_fail("vCPU %d: KVM_SET_SREGS: %s", c->id, strerror(errno));
	struct kvm_regs r;
	memset(&r, 0, sizeof(r));
	r.rflags = 2;
	r.rip = rip;
	r.rsi = rsi;
	r.rsp = 0x8ff0;
	if (ioctl(c->fd, KVM_SET_REGS, &r) < 0)
		return vmm_fail("vCPU %d: KVM_SET_REGS: %s", c->id, strerror(errno));
	return 0;
}

void vmm_kvm_dump_regs(struct vmm_vcpu *c, char *buf, size_t cap)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(c->fd, KVM_GET_REGS, &r) < 0 || ioctl(c->fd, KVM_GET_SREGS, &s) < 0) {
		snprintf(buf, cap, "(registers unavailable: %s)", strerror(errno));
		return;
	}
	snprintf(buf, cap,
	         "vCPU %d: rip=%016llx rsp=%016llx rflags=%08llx rax=%016llx rbx=%016llx "
	         "rcx=%016llx "
	         "rdx=%016llx rsi=%016llx rdi=%016llx rbp=%016llx cs=%04x(base %llx l=%u) ss=%04x "
	         "cr0=%llx cr2=%llx cr3=%llx cr4=%llx efer=%llx",
	         c->id, (unsigned long long)r.rip, (unsigned long long)r.rsp,
	         (unsigned long long)r.rflags, (unsigned long long)r.rax, (unsigned long long)r.rbx,
	         (unsigned long long)r.rcx, (unsigned long long)r.rdx, (unsigned long long)r.rsi,
	         (unsigned long long)r.rdi, (unsigned long long)r.rbp, s.cs.selector,
	         (unsigned long long)s.cs.base, s.cs.l, s.ss.selector, (unsigned long long)s.cr0,
	         (unsigned long long)s.cr2, (unsigned long long)s.cr3, (unsigned long long)s.cr4,
	         (unsigned long long)s.efer);
}

int vmm_irq_line(struct vmm *vm, unsigned irq, int level)
{
	if (!vm->has_irqchip)
		return 0;
	struct kvm_irq_level l = {.irq = irq, .level = (uint32_t)level};
	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
		return vmm_fail("KVM_IRQ_LINE %u: %s", irq, strerror(errno));
	return 0;
}

void vmm_kvm_close(struct vmm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		if (vm->vcpus[i].run)
			munmap(vm->vcpus[i].run, vm->run_size);
		if (vm->vcpus[i].fd > 0)
			close(vm->vcpus[i].fd);
	}
	if (vm->vm_fd > 0)
		close(vm->vm_fd);
	if (vm->kvm_fd > 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}
