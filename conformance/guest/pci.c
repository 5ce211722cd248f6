/*
 * conformance/guest/pci.c - PCI configuration mechanism #1 (0xcf8/0xcfc),
 * bus 0: every function is listed (information: the chipsets differ);
 * the virtio functions (vendor 0x1af4) are counted and named (compared).
 */
#include "guest.h"

uint32_t pci_read32(unsigned dev, unsigned fn, unsigned off)
{
	outl(0xcf8, 0x80000000u | dev << 11 | fn << 8 | (off & 0xfc));
	return inl(0xcfc);
}

void pci_write32(unsigned dev, unsigned fn, unsigned off, uint32_t v)
{
	outl(0xcf8, 0x80000000u | dev << 11 | fn << 8 | (off & 0xfc));
	outl(0xcfc, v);
}

static const char *virtio_name(unsigned id)
{
	/* modern IDs 0x1040 + type, transitional 0x1000 + type - 1 */
	unsigned type = id >= 0x1040 ? id - 0x1040 : id - 0x1000 + 1;
	switch (type) {
	case 1: return "net";
	case 2: return "blk";
	case 3: return "console";
	case 4: return "rng";
	default: return "other";
	}
}

void pci_probe(void)
{
	unsigned nfn = 0, nvirtio = 0;
	for (unsigned dev = 0; dev < 32; dev++) {
		for (unsigned fn = 0; fn < 8; fn++) {
			uint32_t id = pci_read32(dev, fn, 0);
			if ((id & 0xffff) == 0xffff) {
				if (fn == 0)
					break;
				continue;
			}
			uint32_t cls = pci_read32(dev, fn, 8) >> 8;
			nfn++;
			put_str("I pci.00:");
			put_hex(dev, 2);
			put_str(".");
			put_dec(fn);
			put_str("=");
			put_hex(id & 0xffff, 4);
			put_str(":");
			put_hex(id >> 16, 4);
			put_str(" class ");
			put_hex(cls, 6);
			put_str("\n");
			if ((id & 0xffff) == 0x1af4 && (id >> 16) >= 0x1000 &&
			    (id >> 16) <= 0x107f) {
				put_str("R virtio.");
				put_dec(nvirtio);
				put_str(".type=");
				put_str(virtio_name(id >> 16));
				put_str("\n");
				nvirtio++;
			}
			uint32_t hdr = pci_read32(dev, fn, 0x0c) >> 16;
			if (fn == 0 && !(hdr & 0x80))
				break;
		}
	}
	report_dec('I', "pci.functions", nfn);
	report_dec('R', "virtio.count", nvirtio);
}
