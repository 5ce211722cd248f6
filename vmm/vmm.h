/*
 * vmm/vmm.h - the reference KVM monitor's internal interfaces.
 *
 * A machine is: guest RAM (memory.c), a KVM VM with an in-kernel irqchip
 * and PIT (kvm.c), vCPU threads (run.c), an I/O-port and MMIO bus
 * (bus.c) with the legacy devices (uart8250.c, i8042.c, rtc.c,
 * debug_exit.c), a PCI host (pci_host.c) and what boots it (boot_bzimage.c).
 * machine.c assembles them from a struct vmm_config; cmd_vmm.c is the CLI.
 *
 * Errors: functions return 0 or -1 and leave a one-line message in
 * vmm_error() (thread-local), naming the object and what was wrong.
 */
#ifndef VSTD_VMM_H
#define VSTD_VMM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define VMM_MAX_CPUS 64
#define VMM_MAX_DISKS 8
#define VMM_MAX_NICS 4
#define VMM_MAX_PIO 32
#define VMM_MAX_MMIO 32

/* Guest-physical layout (below 1 MiB: what the boot protocol needs). */
#define VMM_GDT_ADDR 0x1000ULL
#define VMM_ZERO_PAGE 0x7000ULL
#define VMM_PML4_ADDR 0x9000ULL /* + PDPT 0xa000 + 4 PDs 0xb000..0xefff */
#define VMM_CMDLINE_ADDR 0x20000ULL
#define VMM_CMDLINE_MAX 4096
#define VMM_EBDA_START 0x9fc00ULL
#define VMM_KERNEL_ADDR 0x100000ULL
#define VMM_MMIO_HOLE 0xc0000000ULL /* RAM above this is moved to 4 GiB */
#define VMM_PCI_MMIO_BASE 0xc0000000ULL
#define VMM_PCI_MMIO_SIZE 0x10000000ULL
#define VMM_VIRTIO_MMIO_BASE 0xd0000000ULL /* --transport mmio: 4 KiB per device */
#define VMM_VIRTIO_MMIO_MAX 8
#define VMM_ECAM_BASE 0xe0000000ULL
#define VMM_ECAM_SIZE 0x10000000ULL
#define VMM_TSS_ADDR 0xfffbd000ULL
#define VMM_IDMAP_ADDR 0xfffbc000ULL

/* isa-debug-exit, as QEMU's device: a write of v exits with (v << 1) | 1. */
#define VMM_DEBUG_EXIT_PORT 0x501

struct vmm;

/* An I/O port or MMIO handler: return 0 when handled. */
typedef void (*vmm_io_fn)(void *opaque, uint64_t addr, void *data, unsigned size, int is_write);

struct vmm_range {
	uint64_t base, len;
	vmm_io_fn fn;
	void *opaque;
};

enum vmm_stop_reason {
	VMM_RUNNING = 0,
	VMM_STOP_POWEROFF, /* debug-exit port or a KVM system event */
	VMM_STOP_RESET,    /* i8042 reset, triple fault, reboot request */
	VMM_STOP_HALT,     /* all vCPUs halted with interrupts off */
	VMM_STOP_TIMEOUT,  /* --timeout elapsed */
	VMM_STOP_ERROR,    /* internal error (message in vmm->stop_msg) */
	VMM_STOP_SIGNAL    /* SIGINT / SIGTERM */
};

struct vmm_vcpu {
	struct vmm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	int started;
};

struct vmm_config {
	const char *kernel;
	const char *initrd;
	const char *append;
	uint64_t mem; /* bytes */
	unsigned cpus;
	const char *disks[VMM_MAX_DISKS];
	const char *disk_formats[VMM_MAX_DISKS];
	unsigned ndisks;
	int snapshot; /* disks get a throw-away overlay: guest writes vanish */
	int read_only;
	double timeout;                 /* seconds; 0: none */
	const char *nets[VMM_MAX_NICS]; /* TAP interface names, or "loopback" */
	unsigned nnets;
	int rng;            /* a virtio-rng device */
	int vconsole;       /* a virtio-console (hvc0) writing where the UART writes */
	int transport_mmio; /* virtio-mmio instead of virtio-pci */
	int hugepages;      /* guest RAM from the 2 MiB hugetlb pool */
	int console_in;     /* forward stdin to the UART */
	int out_fd;         /* where the UART writes (1) */
	int in_fd;          /* what --console-in reads (0) */
};

struct vmm_uart;
struct vmm_irq_routes;
struct vmm_virtio;
struct vmm_pci;

struct vmm {
	struct vmm_config cfg;
	int kvm_fd, vm_fd;
	int has_irqchip;
	size_t run_size;
	uint8_t *ram; /* one mapping of cfg.mem bytes */
	uint64_t ram_size;
	uint64_t low_size; /* RAM below VMM_MMIO_HOLE */
	struct vmm_vcpu vcpus[VMM_MAX_CPUS];
	unsigned nvcpus;

	struct vmm_range pio[VMM_MAX_PIO];
	unsigned npio;
	struct vmm_range mmio[VMM_MAX_MMIO];
	unsigned nmmio;

	struct vmm_uart *uart;
	struct vmm_pci *pci;
	struct vmm_virtio *virtio;     /* virtio.c state */
	struct vmm_irq_routes *routes; /* irq_route.c: NULL without irqfd */

	pthread_mutex_t lock; /* bus and device state */
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	enum vmm_stop_reason stop;
	int exit_code; /* the guest's (debug-exit) */
	char stop_msg[2048];

	/* timing (CLOCK_MONOTONIC ns) */
	uint64_t t_start, t_first_output, t_stop;
	uint64_t exits_io, exits_mmio;
	/* virtio (atomic): kicks taken from ioeventfds, interrupts sent by
	 * irqfd and by KVM_SIGNAL_MSI */
	uint64_t kicks_ioeventfd, msi_irqfd, msi_ioctl;
};

/* error.c */
int vmm_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *vmm_error(void);
uint64_t vmm_now_ns(void);
/* The number after "key:" in a /proc file such as /proc/meminfo; -1 if absent. */
long vmm_proc_value(const char *path, const char *key);

/* kvm.c */
int vmm_kvm_open(struct vmm *vm);
int vmm_kvm_create_vcpu(struct vmm *vm, unsigned id);
int vmm_kvm_setup_long_mode(struct vmm *vm, struct vmm_vcpu *c, uint64_t rip, uint64_t rsi);
void vmm_kvm_dump_regs(struct vmm_vcpu *c, char *buf, size_t cap);
int vmm_irq_line(struct vmm *vm, unsigned irq, int level);
void vmm_kvm_close(struct vmm *vm);

/* irq_route.c: MSI routes for irqfds (all return -1 when irqfd is not
 * available, and the caller falls back to KVM_SIGNAL_MSI). */
int vmm_irq_routes_init(struct vmm *vm);
int vmm_msi_irqfd_new(struct vmm *vm, int *fd, unsigned *gsi);
int vmm_msi_route(struct vmm *vm, unsigned gsi, uint64_t addr, uint32_t data);
void vmm_irq_routes_free(struct vmm *vm);

/* serial_socket.c: listen on unix:PATH or tcp:HOST:PORT and wait (at most
 * timeout seconds when > 0) for the one client; its descriptor in *fd. */
int vmm_serial_socket(const char *spec, double timeout, int *fd);

/* memory.c */
int vmm_memory_init(struct vmm *vm, uint64_t size);
void *vmm_gpa(struct vmm *vm, uint64_t gpa, uint64_t len); /* NULL when not all RAM */
void vmm_memory_free(struct vmm *vm);

/* bus.c */
int vmm_bus_add_pio(struct vmm *vm, uint64_t base, uint64_t len, vmm_io_fn fn, void *opaque);
int vmm_bus_add_mmio(struct vmm *vm, uint64_t base, uint64_t len, vmm_io_fn fn, void *opaque);
void vmm_bus_pio(struct vmm *vm, uint16_t port, void *data, unsigned size, int is_write);
void vmm_bus_mmio(struct vmm *vm, uint64_t addr, void *data, unsigned size, int is_write);

/* boot_bzimage.c: load kernel (+initrd, cmdline) and set the boot CPU. */
struct vmm_boot {
	uint64_t entry; /* 64-bit entry point */
	uint64_t zero_page;
	uint16_t protocol;
	uint64_t kernel_end, initrd_addr, initrd_size;
	int pvh;             /* boot_elf.c: enter in 32-bit mode with EBX = start_info */
	uint64_t start_info; /* boot_elf.c: the hvm_start_info */
};
int vmm_boot_bzimage(struct vmm *vm, const char *kernel, const char *initrd, const char *cmdline,
                     struct vmm_boot *out);
/* boot_elf.c: an ELF kernel (Xen PVH note, or a plain 64-bit entry); the
 * boot CPU's state for it. vmm_boot_is_elf: the file starts with \x7fELF. */
int vmm_boot_is_elf(const char *kernel);
int vmm_boot_elf(struct vmm *vm, const char *kernel, const char *initrd, const char *cmdline,
                 struct vmm_boot *out);
int vmm_boot_elf_cpu(struct vmm *vm, struct vmm_vcpu *c, const struct vmm_boot *b);
/* e820 map of this machine: fills up to max entries (addr, size, type). */
unsigned vmm_e820(struct vmm *vm, uint64_t (*ent)[3], unsigned max);

/* devices */
int vmm_uart_init(struct vmm *vm, uint16_t base, unsigned irq);
void vmm_uart_free(struct vmm *vm);
int vmm_i8042_init(struct vmm *vm);
int vmm_rtc_init(struct vmm *vm);
int vmm_debug_exit_init(struct vmm *vm);
int vmm_pci_init(struct vmm *vm);
void vmm_pci_free(struct vmm *vm);
/* A PCI function on bus 0: config-space accessors (off < 256, size 1/2/4). */
struct vmm_pci_fn {
	void (*cfg_read)(void *opaque, unsigned off, void *data, unsigned size);
	void (*cfg_write)(void *opaque, unsigned off, const void *data, unsigned size);
	void *opaque;
};
/* Put a function at the first free device number (1-31); returns it or -1. */
int vmm_pci_add(struct vmm *vm, const struct vmm_pci_fn *fn);
int vmm_virtio_attach(struct vmm *vm);
/* The virtio-mmio windows: (base, gsi) of each, for the ACPI DSDT. */
unsigned vmm_virtio_mmio_devices(struct vmm *vm, uint64_t (*win)[2], unsigned max);
int vmm_mptable(struct vmm *vm);
int vmm_acpi(struct vmm *vm);
void vmm_virtio_free(struct vmm *vm);

/* run.c */
void vmm_request_stop(struct vmm *vm, enum vmm_stop_reason why, int code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
int vmm_run(struct vmm *vm);

/* machine.c */
int vmm_machine_create(struct vmm **out, const struct vmm_config *cfg);
void vmm_machine_free(struct vmm *vm);
const char *vmm_stop_name(enum vmm_stop_reason r);

#endif
