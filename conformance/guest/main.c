/*
 * conformance/guest/main.c - the conformance guest: probes the machine as
 * a guest may (CPUID, the e820 map the boot loader handed over, PCI) and
 * prints a report on COM1 between VSTD-CONFORM-BEGIN and -END, then powers
 * off through QEMU's isa-debug-exit port 0x501 (exit status (v << 1) | 1),
 * falling back to an i8042 reset.  With "bench" on the command line it
 * also times I/O-port and MMIO exits (TSC cycles, minimum and median).
 */
#include "guest.h"

#define BP_E820_ENTRIES 0x1e8
#define BP_CMD_LINE_PTR 0x228
#define BP_E820_TABLE 0x2d0

static const uint8_t *boot_params;
uint64_t guest_ram_top;
void guest_main(const uint8_t *bp);

static uint32_t ld32(const uint8_t *p)
{
	return (uint32_t)p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t ld64(const uint8_t *p)
{
	return ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

static int cmdline_has(const char *word)
{
	const char *c = (const char *)(uintptr_t)ld32(boot_params + BP_CMD_LINE_PTR);
	size_t n = strlen(word);
	if (!c)
		return 0;
	for (const char *p = c; *p; p++)
		if ((p == c || p[-1] == ' ') && memcmp(p, word, n) == 0 &&
		    (p[n] == 0 || p[n] == ' '))
			return 1;
	return 0;
}

static void probe_cpu(void)
{
	uint32_t r[4];
	char vendor[13];
	cpuid(0, 0, r);
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = 0;
	report_str('I', "cpu.vendor", vendor);
	report_hex('I', "cpu.max_leaf", r[0], 8);
	cpuid(1, 0, r);
	report_hex('I', "cpu.signature", r[0], 8);
	report_dec('R', "cpu.apic", (r[3] >> 9) & 1);
	report_dec('R', "cpu.tsc", (r[3] >> 4) & 1);
	report_dec('R', "cpu.hypervisor_bit", (r[2] >> 31) & 1);
	if ((r[2] >> 31) & 1) {
		cpuid(0x40000000, 0, r);
		char hv[13];
		memcpy(hv, &r[1], 4);
		memcpy(hv + 4, &r[2], 4);
		memcpy(hv + 8, &r[3], 4);
		hv[12] = 0;
		for (int i = 0; i < 12; i++)
			if (hv[i] && (hv[i] < 0x20 || hv[i] > 0x7e))
				hv[i] = '?';
		report_str('I', "cpu.hypervisor", hv);
	}
	cpuid(0x80000000, 0, r);
	if (r[0] >= 0x80000001) {
		cpuid(0x80000001, 0, r);
		report_dec('R', "cpu.long_mode", (r[3] >> 29) & 1);
	}
}

static void probe_e820(void)
{
	unsigned n = boot_params[BP_E820_ENTRIES];
	uint64_t usable = 0, low = 0;
	if (n > 128)
		n = 128;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = boot_params + BP_E820_TABLE + 20 * i;
		uint64_t a = ld64(e), s = ld64(e + 8);
		uint32_t t = ld32(e + 16);
		put_str("I e820.");
		put_dec(i);
		put_str("=");
		put_hex(a, 12);
		put_str("+");
		put_hex(s, 12);
		put_str(" type ");
		put_dec(t);
		put_str("\n");
		if (t == 1) {
			usable += s;
			if (a + s > guest_ram_top)
				guest_ram_top = a + s;
			if (a < 0x100000)
				low += s;
		}
	}
	report_dec('I', "mem.e820_entries", n);
	report_dec('I', "mem.usable_kib", usable >> 10);
	/* rounded to 4 MiB: firmware reserves differ by a few hundred KiB */
	report_dec('R', "mem.usable_mib_4", ((usable >> 20) + 2) / 4 * 4);
	report_dec('R', "mem.base_kib", low >> 10);
}

void sort64(uint64_t *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint64_t t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

#define BENCH_N 301
static uint64_t samples[BENCH_N];

static void bench(void)
{
	/* an I/O-port read both hypervisors handle in user space: the UART's
	 * scratch register; an MMIO read of unassigned space in the PCI hole */
	for (unsigned i = 0; i < BENCH_N; i++) {
		uint64_t t0 = rdtsc();
		(void)inb(0x3ff);
		samples[i] = rdtsc() - t0;
	}
	sort64(samples, BENCH_N);
	report_dec('I', "bench.pio_cycles_min", samples[0]);
	report_dec('I', "bench.pio_cycles_median", samples[BENCH_N / 2]);
	for (unsigned i = 0; i < BENCH_N; i++) {
		uint64_t t0 = rdtsc();
		(void)mmio_read32(0xd0000000ULL);
		samples[i] = rdtsc() - t0;
	}
	sort64(samples, BENCH_N);
	report_dec('I', "bench.mmio_cycles_min", samples[0]);
	report_dec('I', "bench.mmio_cycles_median", samples[BENCH_N / 2]);
}

/* Linux boot_params as much as this guest reads (cmd_line_ptr, e820), built
 * from the PVH entry's hvm_start_info (Xen's arch-x86/hvm/start_info.h):
 * magic 0x336ec578, version, flags, nr_modules, modlist_paddr (16),
 * cmdline_paddr (24), rsdp_paddr (32), memmap_paddr (40), memmap_entries (48);
 * memory map entries are 24 bytes: addr, size, type. */
static uint8_t pvh_bp[4096];
static int via_pvh;

static void st32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void pvh_main(uint64_t start_info);

void pvh_main(uint64_t start_info)
{
	const uint8_t *si = (const uint8_t *)(uintptr_t)start_info;
	via_pvh = 1;
	if (start_info && start_info < (1ULL << 32) && ld32(si) == 0x336ec578u) {
		uint64_t cmd = ld64(si + 24);
		if (cmd < (1ULL << 32))
			st32(pvh_bp + BP_CMD_LINE_PTR, (uint32_t)cmd);
		unsigned n = ld32(si + 4) >= 1 ? ld32(si + 48) : 0;
		const uint8_t *m = (const uint8_t *)(uintptr_t)ld64(si + 40);
		if (n > 128)
			n = 128;
		for (unsigned i = 0; i < n; i++) {
			uint8_t *e = pvh_bp + BP_E820_TABLE + 20 * i;
			memcpy(e, m + 24 * i, 16);
			memcpy(e + 16, m + 24 * i + 16, 4);
		}
		pvh_bp[BP_E820_ENTRIES] = (uint8_t)n;
		pvh_bp[0x1e9] = (uint8_t)ld32(si + 12); /* modules, for the report */
	}
	guest_main(pvh_bp);
}

static void power_off(unsigned code)
{
	outb(0x501, (uint8_t)code);
	for (int i = 0; i < 1000 && (inb(0x64) & 2); i++)
		;
	outb(0x64, 0xfe);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void guest_main(const uint8_t *bp)
{
	boot_params = bp;
	serial_init();
	put_str("\nVSTD-CONFORM-BEGIN 1\n");
	report_str('R', "guest", "vstd-conform-guest 1");
	report_dec('R', "boot.e820_present", bp[BP_E820_ENTRIES] > 0);
	/* how it was entered: PVH (ELF note), the bzImage 64-bit entry (the zero
	 * page has the setup header), or a plain 64-bit ELF entry */
	report_str('I', "boot.entry",
	           via_pvh                         ? "pvh"
	           : memcmp(bp + 0x202, "HdrS", 4) ? "elf64"
	                                           : "bzimage");
	if (via_pvh)
		report_dec('I', "boot.pvh_modules", bp[0x1e9]);
	const char *cl = (const char *)(uintptr_t)ld32(bp + BP_CMD_LINE_PTR);
	put_str("I boot.cmdline=");
	for (unsigned i = 0; cl && i < 200 && cl[i]; i++)
		serial_putc(cl[i] >= 0x20 && cl[i] < 0x7f ? cl[i] : '?');
	put_str("\n");
	probe_cpu();
	probe_e820();
	pci_probe();
	/* the IOPS timing wants a large disk: no whole-disk checksum then */
	if (!cmdline_has("vstd.iops=1"))
		virtio_blk_probe();
	if (cmdline_has("bench"))
		bench();
	if (cmdline_has("vstd.hostile=1"))
		hostile_run();
	if (cmdline_has("vstd.iops=1"))
		iops_run();
	report_str('R', "serial", "ok");
	put_str("VSTD-CONFORM-END status=0\n");
	power_off(0);
}
