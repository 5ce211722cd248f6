/*
 * vmm/mptable.c - the Intel MultiProcessor Specification 1.4 tables at
 * 0xf0000 (inside the e820-reserved BIOS area Linux scans): one processor
 * entry per vCPU (APIC ID = vCPU index), an ISA and a PCI bus, the I/O
 * APIC of the in-kernel irqchip, ISA IRQs 0-15 wired to the same I/O APIC
 * pins (KVM's default routing), PCI INTA-D of devices 1-31 on pins 16-19,
 * and LINT0 = ExtINT, LINT1 = NMI.  Facts used: docs/vmm/boot.md.
 */
#include <string.h>

#include "vmm.h"

#define MPTABLE_ADDR 0xf0000ULL
#define LAPIC_ADDR 0xfee00000u
#define IOAPIC_ADDR 0xfec00000u

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

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return (uint8_t)(0x100 - s);
}

static uint8_t *intsrc(uint8_t *e, uint8_t type, uint8_t irqtype, uint16_t flags, uint8_t bus,
                       uint8_t irq, uint8_t dst, uint8_t pin)
{
	e[0] = type;
	e[1] = irqtype;
	put16(e + 2, flags);
	e[4] = bus;
	e[5] = irq;
	e[6] = dst;
	e[7] = pin;
	return e + 8;
}

int vmm_mptable(struct vmm *vm)
{
	size_t need = 16 + 44 + (size_t)vm->nvcpus * 20 + 2 * 8 + 8 + (16 + 31 * 4 + 2) * 8;
	uint8_t *base = vmm_gpa(vm, MPTABLE_ADDR, need);
	if (!base)
		return vmm_fail("guest memory too small for the MP table");
	memset(base, 0, need);
	uint8_t *fp = base, *ct = base + 16, *e = ct + 44;
	uint8_t ioapic_id = (uint8_t)vm->nvcpus;
	uint16_t count = 0;

	for (unsigned i = 0; i < vm->nvcpus; i++, count++) {
		e[0] = 0;
		e[1] = (uint8_t)i;
		e[2] = 0x14;
		e[3] = (uint8_t)(1 | (i == 0 ? 2 : 0));
		put32(e + 4, 0x600); /* family 6 */
		put32(e + 8, 0x201); /* FPU, APIC */
		e += 20;
	}
	e[0] = 1;
	e[1] = 0;
	memcpy(e + 2, "PCI   ", 6);
	e += 8;
	count++;
	e[0] = 1;
	e[1] = 1;
	memcpy(e + 2, "ISA   ", 6);
	e += 8;
	count++;
	e[0] = 2;
	e[1] = ioapic_id;
	e[2] = 0x11;
	e[3] = 1;
	put32(e + 4, IOAPIC_ADDR);
	e += 8;
	count++;
	for (uint8_t irq = 0; irq < 16; irq++, count++)
		e = intsrc(e, 3, 0, 0, 1, irq, ioapic_id, irq);
	/* PCI: source irq = (device << 2) | (pin - 1); INTx of device d on 16 + (d + pin - 1) % 4
	 */
	for (uint8_t dev = 1; dev < 32; dev++)
		for (uint8_t pin = 0; pin < 4; pin++, count++)
			e = intsrc(e, 3, 0, 0x0f, 0, (uint8_t)(dev << 2 | pin), ioapic_id,
			           (uint8_t)(16 + (dev + pin) % 4));
	e = intsrc(e, 4, 3, 0, 1, 0, 0xff, 0);
	count++;
	e = intsrc(e, 4, 1, 0, 1, 0, 0xff, 1);
	count++;

	memcpy(ct, "PCMP", 4);
	put16(ct + 4, (uint16_t)(e - ct));
	ct[6] = 4;
	memcpy(ct + 8, "VSTD    ", 8);
	memcpy(ct + 16, "VSTD-VMM    ", 12);
	put16(ct + 34, count);
	put32(ct + 36, LAPIC_ADDR);
	ct[7] = checksum(ct, (size_t)(e - ct));

	memcpy(fp, "_MP_", 4);
	put32(fp + 4, (uint32_t)(MPTABLE_ADDR + 16));
	fp[8] = 1;
	fp[9] = 4;
	fp[10] = checksum(fp, 16);
	return 0;
}
