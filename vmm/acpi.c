/*
 * vmm/acpi.c - ACPI tables for a hardware-reduced machine (ACPI 6.x, as
 * Firecracker and cloud-hypervisor build them), at 0xe0000 in the BIOS
 * area the e820 map reserves:
 *
 *   RSDP (rev 2) -> XSDT -> FADT (HW_REDUCED_ACPI, reset register = i8042
 *                           port 0x64 value 0xfe, sleep control/status
 *                           registers at ports 0x600/0x601) -> DSDT (\_S5)
 *                        -> MADT (one local APIC per vCPU, the I/O APIC)
 *
 * The guest powers off by writing SLP_TYP=5 | SLP_EN to port 0x600.
 * Facts used are summarised in docs/vmm/boot.md.
 */
#include <string.h>

#include "vmm.h"

#define ACPI_BASE 0xe0000ULL
#define RSDP_ADDR (ACPI_BASE)
#define XSDT_ADDR (ACPI_BASE + 0x40)
#define FADT_ADDR (ACPI_BASE + 0x100)
#define MADT_ADDR (ACPI_BASE + 0x300)
#define DSDT_ADDR (ACPI_BASE + 0x1000)
#define ACPI_SIZE 0x2000
#define SLEEP_PORT 0x600

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}
static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return (uint8_t)(0x100 - s);
}

static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, "VSTD  ", 6);
	memcpy(t + 16, "VSTDVMM ", 8);
	put32(t + 24, 1);
	memcpy(t + 28, "VSTD", 4);
	put32(t + 32, 1);
}

static void finish(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = sum(t, len);
}

/* a Generic Address Structure for an 8-bit I/O port */
static void gas_io8(uint8_t *g, uint16_t port)
{
	g[0] = 1; /* system I/O */
	g[1] = 8;
	g[2] = 0;
	g[3] = 1; /* byte access */
	put64(g + 4, port);
}

/* ---- a little AML: PkgLength-prefixed blocks built back to front */

struct aml {
	uint8_t b[4096];
	size_t n;
};

static void emit(struct aml *a, const void *p, size_t n)
{
	if (a->n + n <= sizeof(a->b)) {
		memcpy(a->b + a->n, p, n);
		a->n += n;
	}
}

/* op [ext], PkgLength, then body (the PkgLength counts itself and body) */
static void emit_pkg(struct aml *a, const uint8_t *op, size_t oplen, const struct aml *body)
{
	size_t len;
	uint8_t pl[3];
	size_t pln;
	if (body->n + 1 < 0x40) {
		len = body->n + 1;
		pl[0] = (uint8_t)len;
		pln = 1;
	} else if (body->n + 2 < 0x1000) {
		len = body->n + 2;
		pl[0] = (uint8_t)(0x40 | (len & 0x0f));
		pl[1] = (uint8_t)(len >> 4);
		pln = 2;
	} else {
		len = body->n + 3;
		pl[0] = (uint8_t)(0x80 | (len & 0x0f));
		pl[1] = (uint8_t)(len >> 4);
		pl[2] = (uint8_t)(len >> 12);
		pln = 3;
	}
	emit(a, op, oplen);
	emit(a, pl, pln);
	emit(a, body->b, body->n);
}

/* Name (_PRT, Package () { Package () { 0xSSSSFFFF, pin, 0, GSI }, ... }):
 * INTA-D of every slot on the I/O APIC, swizzled over GSIs 16-19 as the
 * MP table and virtio_pci.c wire them (level, active low by default for a
 * GSI named directly). */
static void pci_prt(struct aml *dev)
{
	struct aml pkg = {{0}, 0};
	uint8_t count = 31 * 4;
	emit(&pkg, &count, 1);
	for (unsigned slot = 1; slot < 32; slot++)
		for (unsigned pin = 0; pin < 4; pin++) {
			struct aml e = {{0}, 0};
			uint8_t body[] = {4,
			                  0x0c, /* DWordPrefix: address */
			                  0xff,
			                  0xff,
			                  (uint8_t)slot,
			                  0x00,
			                  0x0a, /* BytePrefix: pin */
			                  (uint8_t)pin,
			                  0x00, /* source: none (a GSI) */
			                  0x0a, /* BytePrefix: GSI */
			                  (uint8_t)(16 + (slot + pin) % 4)};
			emit(&e, body, sizeof(body));
			static const uint8_t pkgop = 0x12;
			emit_pkg(&pkg, &pkgop, 1, &e);
		}
	static const uint8_t name[] = {0x08, '_', 'P', 'R', 'T'};
	static const uint8_t pkgop = 0x12;
	emit(dev, name, sizeof(name));
	emit_pkg(dev, &pkgop, 1, &pkg);
}

/* Device (VRnn) { _HID "LNRO0005", _UID n, _CRS { Memory32Fixed (RW, base,
 * 0x200), Interrupt (Consumer, Level, ActiveHigh, Exclusive) { gsi } } }:
 * a virtio-mmio window as Linux's virtio_mmio driver finds it by ACPI. */
static void virtio_mmio_dev(struct aml *sb, unsigned n, uint64_t base, unsigned gsi)
{
	struct aml dev = {{0}, 0}, buf = {{0}, 0};
	char nm[5] = {'V', 'R', (char)('0' + n / 10), (char)('0' + n % 10), 0};
	static const uint8_t hid[] = {0x08, '_', 'H', 'I', 'D', 0x0d, 'L', 'N',
	                              'R',  'O', '0', '0', '0', '5',  0x00};
	uint8_t uid[] = {0x08, '_', 'U', 'I', 'D', 0x0a, (uint8_t)n};
	uint8_t crs[] = {0x86,
	                 0x09,
	                 0x00,
	                 0x01, /* Memory32Fixed, read/write */
	                 (uint8_t)base,
	                 (uint8_t)(base >> 8),
	                 (uint8_t)(base >> 16),
	                 (uint8_t)(base >> 24),
	                 0x00,
	                 0x02,
	                 0x00,
	                 0x00, /* length 0x200 */
	                 0x89,
	                 0x06,
	                 0x00,
	                 0x01,
	                 0x01, /* Interrupt: consumer, level, high */
	                 (uint8_t)gsi,
	                 0x00,
	                 0x00,
	                 0x00,
	                 0x79,
	                 0x00};
	static const uint8_t crs_name[] = {0x08, '_', 'C', 'R', 'S'};
	static const uint8_t bufop = 0x11, devop[] = {0x5b, 0x82};
	emit(&dev, nm, 4);
	emit(&dev, hid, sizeof(hid));
	emit(&dev, uid, sizeof(uid));
	uint8_t bsize[2] = {0x0a, (uint8_t)sizeof(crs)};
	emit(&buf, bsize, 2);
	emit(&buf, crs, sizeof(crs));
	emit(&dev, crs_name, sizeof(crs_name));
	emit_pkg(&dev, &bufop, 1, &buf);
	emit_pkg(sb, devop, 2, &dev);
}

/* The PCI root bridge: \_SB.PCI0, PNP0A03, segment 0, bus 0, its I/O and
 * memory windows (the PCI hole) in _CRS, so that an ACPI kernel scans it. */
static void pci_root(struct vmm *vm, struct aml *out)
{
	static const uint8_t crs[] = {
	        /* WordBusNumber 0-0 */
	        0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	        0x01, 0x00,
	        /* IO 0xcf8, 8 ports */
	        0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08,
	        /* WordIO 0x0000-0x0cf7 */
	        0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x00, 0xf7, 0x0c, 0x00, 0x00,
	        0xf8, 0x0c,
	        /* WordIO 0x0d00-0xffff */
	        0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x0d, 0xff, 0xff, 0x00, 0x00,
	        0x00, 0xf3,
	        /* DWordMemory 0xc0000000-0xcfffffff */
	        0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0,
	        0xff, 0xff, 0xff, 0xcf, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x79,
	        0x00, /* end tag */
	};
	struct aml dev = {{0}, 0}, buf = {{0}, 0}, sb = {{0}, 0};
	static const uint8_t hid[] = {0x08, '_',  'H',  'I',  'D',
	                              0x0c, 0x41, 0xd0, 0x0a, 0x03}; /* PNP0A03 */
	static const uint8_t uid[] = {0x08, '_', 'U', 'I', 'D', 0x00};
	static const uint8_t seg[] = {0x08, '_', 'S', 'E', 'G', 0x00};
	static const uint8_t bbn[] = {0x08, '_', 'B', 'B', 'N', 0x00};
	emit(&dev, "PCI0", 4);
	emit(&dev, hid, sizeof(hid));
	emit(&dev, uid, sizeof(uid));
	emit(&dev, seg, sizeof(seg));
	emit(&dev, bbn, sizeof(bbn));
	pci_prt(&dev);
	uint8_t bsize[2] = {0x0a, (uint8_t)sizeof(crs)}; /* BytePrefix size */
	emit(&buf, bsize, 2);
	emit(&buf, crs, sizeof(crs));
	static const uint8_t crs_name[] = {0x08, '_', 'C', 'R', 'S'};
	emit(&dev, crs_name, sizeof(crs_name));
	static const uint8_t bufop = 0x11;
	emit_pkg(&dev, &bufop, 1, &buf);
	emit(&sb, "_SB_", 4);
	static const uint8_t devop[] = {0x5b, 0x82};
	emit_pkg(&sb, devop, 2, &dev);
	/* COM1: PNP0501 at 0x3f8, ISA IRQ 4 (a hardware-reduced machine has no
	 * legacy IRQ map: the kernel learns the UART's interrupt from here) */
	static const uint8_t com_crs[] = {0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08, /* IO */
	                                  0x22, 0x10, 0x00, /* IRQ 4 */
	                                  0x79, 0x00};
	struct aml com = {{0}, 0}, cbuf = {{0}, 0};
	static const uint8_t com_hid[] = {0x08, '_',  'H',  'I',  'D',
	                                  0x0c, 0x41, 0xd0, 0x05, 0x01}; /* PNP0501 */
	emit(&com, "COM1", 4);
	emit(&com, com_hid, sizeof(com_hid));
	emit(&com, uid, sizeof(uid));
	uint8_t csize[2] = {0x0a, (uint8_t)sizeof(com_crs)};
	emit(&cbuf, csize, 2);
	emit(&cbuf, com_crs, sizeof(com_crs));
	emit(&com, crs_name, sizeof(crs_name));
	emit_pkg(&com, &bufop, 1, &cbuf);
	emit_pkg(&sb, devop, 2, &com);
	uint64_t win[VMM_VIRTIO_MMIO_MAX][2];
	unsigned nwin = vmm_virtio_mmio_devices(vm, win, VMM_VIRTIO_MMIO_MAX);
	for (unsigned i = 0; i < nwin; i++)
		virtio_mmio_dev(&sb, i, win[i][0], (unsigned)win[i][1]);
	static const uint8_t scopeop = 0x10;
	emit_pkg(out, &scopeop, 1, &sb);
}

static void sleep_io(void *opaque, uint64_t off, void *data, unsigned size, int is_write)
{
	struct vmm *vm = opaque;
	if (!is_write) {
		memset(data, 0, size);
		return;
	}
	uint8_t v = ((uint8_t *)data)[0];
	if (off == 0 && (v & 0x20) && ((v >> 2) & 7) == 5)
		vmm_request_stop(vm, VMM_STOP_POWEROFF, 0, "the guest powered off (ACPI S5)");
}

int vmm_acpi(struct vmm *vm)
{
	uint8_t *base = vmm_gpa(vm, ACPI_BASE, ACPI_SIZE);
	if (!base)
		return vmm_fail("guest memory too small for the ACPI tables");
	memset(base, 0, ACPI_SIZE);

	/* DSDT: Name (_S5, Package () { 5, 0 }) and the PCI root bridge */
	static const uint8_t s5[] = {0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a, 0x05, 0x00};
	struct aml aml = {{0}, 0};
	emit(&aml, s5, sizeof(s5));
	pci_root(vm, &aml);
	uint8_t *dsdt = base + (DSDT_ADDR - ACPI_BASE);
	uint32_t dlen = 36 + (uint32_t)aml.n;
	header(dsdt, "DSDT", dlen, 2);
	memcpy(dsdt + 36, aml.b, aml.n);
	finish(dsdt, dlen);

	/* FADT, revision 6 (276 bytes) */
	uint8_t *f = base + (FADT_ADDR - ACPI_BASE);
	header(f, "FACP", 276, 6);
	put32(f + 40, (uint32_t)DSDT_ADDR);
	put16(f + 109, 1u << 2); /* IAPC_BOOT_ARCH: no VGA; no 8042 declared */
	put32(f + 112, (1u << 20) | (1u << 10) | (1u << 4) |
	                       (1u << 5)); /* HW_REDUCED, RESET_REG_SUP, no power/sleep buttons */
	gas_io8(f + 116, 0x64);            /* RESET_REG */
	f[128] = 0xfe;                     /* RESET_VALUE */
	f[131] = 0;                        /* minor version */
	put64(f + 140, DSDT_ADDR);         /* X_DSDT */
	gas_io8(f + 244, SLEEP_PORT);      /* SLEEP_CONTROL_REG */
	gas_io8(f + 256, SLEEP_PORT + 1);  /* SLEEP_STATUS_REG */
	memcpy(f + 268, "VSTDVMM ", 8);    /* hypervisor vendor identity */
	finish(f, 276);

	/* MADT */
	uint8_t *m = base + (MADT_ADDR - ACPI_BASE);
	uint8_t *e = m + 44;
	put32(m + 36, 0xfee00000u);
	put32(m + 40, 0); /* no dual 8259s (hardware-reduced) */
	for (unsigned i = 0; i < vm->nvcpus; i++, e += 8) {
		e[0] = 0;
		e[1] = 8;
		e[2] = (uint8_t)i; /* processor UID */
		e[3] = (uint8_t)i; /* APIC ID */
		put32(e + 4, 1);   /* enabled */
	}
	e[0] = 1;
	e[1] = 12;
	e[2] = (uint8_t)vm->nvcpus; /* I/O APIC ID */
	put32(e + 4, 0xfec00000u);
	put32(e + 8, 0); /* GSI base */
	e += 12;
	uint32_t mlen = (uint32_t)(e - m);
	header(m, "APIC", mlen, 5);
	finish(m, mlen);

	/* XSDT */
	uint8_t *x = base + (XSDT_ADDR - ACPI_BASE);
	header(x, "XSDT", 36 + 16, 1);
	put64(x + 36, FADT_ADDR);
	put64(x + 44, MADT_ADDR);
	finish(x, 36 + 16);

	/* RSDP */
	uint8_t *r = base;
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "VSTD  ", 6);
	r[15] = 2;
	put32(r + 20, 36);
	put64(r + 24, XSDT_ADDR);
	r[8] = sum(r, 20);
	r[32] = sum(r, 36);
	return vmm_bus_add_pio(vm, SLEEP_PORT, 2, sleep_io, vm);
}
