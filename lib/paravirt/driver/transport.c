/*
 * paravirt/driver/transport.c - driver side of virtio-mmio v2 and modern
 * virtio-pci (VIRTIO 1.2 4.1.4, 4.2.2, 3.1.1).
 */
#include <string.h>

#include "paravirt/driver/vdrv.h"

/* virtio-mmio registers */
#define M_MAGIC 0x000
#define M_VERSION 0x004
#define M_DEVICE_ID 0x008
#define M_DEV_FEAT 0x010
#define M_DEV_FEAT_SEL 0x014
#define M_DRV_FEAT 0x020
#define M_DRV_FEAT_SEL 0x024
#define M_Q_SEL 0x030
#define M_Q_NUM_MAX 0x034
#define M_Q_NUM 0x038
#define M_Q_READY 0x044
#define M_Q_NOTIFY 0x050
#define M_INT_STATUS 0x060
#define M_INT_ACK 0x064
#define M_STATUS 0x070
#define M_Q_DESC 0x080
#define M_Q_DRIVER 0x090
#define M_Q_DEVICE 0x0a0
#define M_Q_RESET 0x0c0
#define M_GEN 0x0fc
#define M_CONFIG 0x100

/* virtio_pci_common_cfg */
#define C_DFSELECT 0x00
#define C_DF 0x04
#define C_GFSELECT 0x08
#define C_GF 0x0c
#define C_MSIX 0x10
#define C_NUMQ 0x12
#define C_STATUS 0x14
#define C_GEN 0x15
#define C_QSELECT 0x16
#define C_QSIZE 0x18
#define C_QMSIX 0x1a
#define C_QENABLE 0x1c
#define C_QNOTIFYOFF 0x1e
#define C_QDESC 0x20
#define C_QDRIVER 0x28
#define C_QDEVICE 0x30
#define C_QRESET 0x3a

static uint64_t rd(struct vdrv_dev *d, int space, uint64_t off, unsigned size)
{
	return d->bus.read(d->bus.ctx, space, off, size);
}
static void wr(struct vdrv_dev *d, int space, uint64_t off, uint64_t v, unsigned size)
{
	d->bus.write(d->bus.ctx, space, off, v, size);
}
static uint64_t crd(struct vdrv_dev *d, unsigned reg, unsigned size)
{
	return rd(d, d->common_bar, d->common_off + reg, size);
}
static void cwr(struct vdrv_dev *d, unsigned reg, uint64_t v, unsigned size)
{
	wr(d, d->common_bar, d->common_off + reg, v, size);
}

static int pci_probe(struct vdrv_dev *d)
{
	unsigned vendor = (unsigned)rd(d, VDRV_SPACE_PCICFG, 0, 2);
	unsigned devid = (unsigned)rd(d, VDRV_SPACE_PCICFG, 2, 2);
	unsigned pos, n, found = 0;
	if (vendor != 0x1af4)
		return -1;
	if (devid >= 0x1040 && devid <= 0x107f)
		d->device_id = devid - 0x1040;
	else if (devid >= 0x1000 && devid <= 0x103f)
		d->device_id = (uint32_t)rd(d, VDRV_SPACE_PCICFG, 0x2e, 2);
	else
		return -1;
	if (!(rd(d, VDRV_SPACE_PCICFG, 6, 2) & 0x10))
		return -1;
	pos = (unsigned)rd(d, VDRV_SPACE_PCICFG, 0x34, 1) & 0xfc;
	for (n = 0; pos >= 0x40 && pos < 0x100 && n < 48; n++) {
		unsigned id = (unsigned)rd(d, VDRV_SPACE_PCICFG, pos, 1);
		unsigned next = (unsigned)rd(d, VDRV_SPACE_PCICFG, pos + 1, 1) & 0xfc;
		if (id == 0x11) {
			d->msix_cap = pos;
		} else if (id == 0x09) {
			unsigned type = (unsigned)rd(d, VDRV_SPACE_PCICFG, pos + 3, 1);
			int bar = (int)rd(d, VDRV_SPACE_PCICFG, pos + 4, 1);
			uint32_t off = (uint32_t)rd(d, VDRV_SPACE_PCICFG, pos + 8, 4);
			/* The first capability of each type is the preferred one. */
			if (type == 1 && !(found & 2)) {
				d->common_bar = bar, d->common_off = off, found |= 2;
			} else if (type == 2 && !(found & 4)) {
				d->notify_bar = bar, d->notify_off = off, found |= 4;
				d->notify_mult = (uint32_t)rd(d, VDRV_SPACE_PCICFG, pos + 16, 4);
			} else if (type == 3 && !(found & 8)) {
				d->isr_bar = bar, d->isr_off = off, found |= 8;
			} else if (type == 4 && !(found & 16)) {
				d->device_bar = bar, d->device_off = off, found |= 16;
			} else if (type == 5 && !d->pcicfg_cap) {
				d->pcicfg_cap = pos;
			}
		}
		pos = next;
	}
	return (found & 14) == 14 ? 0 : -1;
}

int vdrv_probe(struct vdrv_dev *d, enum vdrv_kind kind, const struct vdrv_bus *bus)
{
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->bus = *bus;
	if (kind == VDRV_PCI)
		return pci_probe(d);
	if (rd(d, VDRV_SPACE_MMIO, M_MAGIC, 4) != 0x74726976 ||
	    rd(d, VDRV_SPACE_MMIO, M_VERSION, 4) != 2)
		return -1;
	d->device_id = (uint32_t)rd(d, VDRV_SPACE_MMIO, M_DEVICE_ID, 4);
	return d->device_id == 0 ? -1 : 0;
}

uint8_t vdrv_status(struct vdrv_dev *d)
{
	if (d->kind == VDRV_MMIO)
		return (uint8_t)rd(d, VDRV_SPACE_MMIO, M_STATUS, 4);
	return (uint8_t)crd(d, C_STATUS, 1);
}

void vdrv_set_status(struct vdrv_dev *d, uint8_t s)
{
	if (d->kind == VDRV_MMIO)
		wr(d, VDRV_SPACE_MMIO, M_STATUS, s, 4);
	else
		cwr(d, C_STATUS, s, 1);
}

void vdrv_reset(struct vdrv_dev *d)
{
	vdrv_set_status(d, 0);
	/* The reset is complete when status reads back 0 (4.1.4.3.2). */
	for (int i = 0; i < 1000 && vdrv_status(d) != 0; i++)
		;
}

uint64_t vdrv_device_features(struct vdrv_dev *d)
{
	uint64_t f = 0;
	for (unsigned sel = 0; sel < 2; sel++) {
		uint64_t w;
		if (d->kind == VDRV_MMIO) {
			wr(d, VDRV_SPACE_MMIO, M_DEV_FEAT_SEL, sel, 4);
			w = rd(d, VDRV_SPACE_MMIO, M_DEV_FEAT, 4);
		} else {
			cwr(d, C_DFSELECT, sel, 4);
			w = crd(d, C_DF, 4);
		}
		f |= (w & 0xffffffffu) << (32 * sel);
	}
	return f;
}

int vdrv_negotiate(struct vdrv_dev *d, uint64_t want)
{
	uint64_t f;
	vdrv_reset(d);
	vdrv_set_status(d, VDRV_S_ACKNOWLEDGE);
	vdrv_set_status(d, VDRV_S_ACKNOWLEDGE | VDRV_S_DRIVER);
	f = vdrv_device_features(d) & want;
	for (unsigned sel = 0; sel < 2; sel++) {
		uint32_t w = (uint32_t)(f >> (32 * sel));
		if (d->kind == VDRV_MMIO) {
			wr(d, VDRV_SPACE_MMIO, M_DRV_FEAT_SEL, sel, 4);
			wr(d, VDRV_SPACE_MMIO, M_DRV_FEAT, w, 4);
		} else {
			cwr(d, C_GFSELECT, sel, 4);
			cwr(d, C_GF, w, 4);
		}
	}
	d->features = f;
	vdrv_set_status(d, VDRV_S_ACKNOWLEDGE | VDRV_S_DRIVER | VDRV_S_FEATURES_OK);
	if (!(vdrv_status(d) & VDRV_S_FEATURES_OK)) {
		vdrv_set_status(d, VDRV_S_ACKNOWLEDGE | VDRV_S_DRIVER | VDRV_S_FAILED);
		return -1;
	}
	return 0;
}

uint16_t vdrv_queue_max(struct vdrv_dev *d, unsigned q)
{
	if (d->kind == VDRV_MMIO) {
		wr(d, VDRV_SPACE_MMIO, M_Q_SEL, q, 4);
		return (uint16_t)rd(d, VDRV_SPACE_MMIO, M_Q_NUM_MAX, 4);
	}
	if (q >= crd(d, C_NUMQ, 2))
		return 0;
	cwr(d, C_QSELECT, q, 2);
	return (uint16_t)crd(d, C_QSIZE, 2);
}

int vdrv_queue_setup(struct vdrv_dev *d, unsigned q, uint16_t num, uint64_t desc, uint64_t drv,
                     uint64_t dev, uint16_t vector)
{
	if (d->kind == VDRV_MMIO) {
		wr(d, VDRV_SPACE_MMIO, M_Q_SEL, q, 4);
		if (rd(d, VDRV_SPACE_MMIO, M_Q_READY, 4) != 0)
			return -1;
		wr(d, VDRV_SPACE_MMIO, M_Q_NUM, num, 4);
		wr(d, VDRV_SPACE_MMIO, M_Q_DESC, (uint32_t)desc, 4);
		wr(d, VDRV_SPACE_MMIO, M_Q_DESC + 4, desc >> 32, 4);
		wr(d, VDRV_SPACE_MMIO, M_Q_DRIVER, (uint32_t)drv, 4);
		wr(d, VDRV_SPACE_MMIO, M_Q_DRIVER + 4, drv >> 32, 4);
		wr(d, VDRV_SPACE_MMIO, M_Q_DEVICE, (uint32_t)dev, 4);
		wr(d, VDRV_SPACE_MMIO, M_Q_DEVICE + 4, dev >> 32, 4);
		wr(d, VDRV_SPACE_MMIO, M_Q_READY, 1, 4);
		return rd(d, VDRV_SPACE_MMIO, M_Q_READY, 4) == 1 ? 0 : -1;
	}
	cwr(d, C_QSELECT, q, 2);
	cwr(d, C_QSIZE, num, 2);
	cwr(d, C_QDESC, (uint32_t)desc, 4);
	cwr(d, C_QDESC + 4, desc >> 32, 4);
	cwr(d, C_QDRIVER, drv, 8); /* a 64-bit access, as some drivers do */
	cwr(d, C_QDEVICE, (uint32_t)dev, 4);
	cwr(d, C_QDEVICE + 4, dev >> 32, 4);
	cwr(d, C_QMSIX, vector, 2);
	cwr(d, C_QENABLE, 1, 2);
	return crd(d, C_QENABLE, 2) == 1 ? 0 : -1;
}

void vdrv_queue_reset(struct vdrv_dev *d, unsigned q)
{
	if (d->kind == VDRV_MMIO) {
		wr(d, VDRV_SPACE_MMIO, M_Q_SEL, q, 4);
		wr(d, VDRV_SPACE_MMIO, M_Q_RESET, 1, 4);
	} else {
		cwr(d, C_QSELECT, q, 2);
		cwr(d, C_QRESET, 1, 2);
	}
}

int vdrv_queue_reset_state(struct vdrv_dev *d, unsigned q)
{
	if (d->kind == VDRV_MMIO) {
		wr(d, VDRV_SPACE_MMIO, M_Q_SEL, q, 4);
		return (int)rd(d, VDRV_SPACE_MMIO, M_Q_RESET, 4);
	}
	cwr(d, C_QSELECT, q, 2);
	return (int)crd(d, C_QRESET, 2);
}

void vdrv_notify(struct vdrv_dev *d, unsigned q)
{
	if (d->kind == VDRV_MMIO) {
		wr(d, VDRV_SPACE_MMIO, M_Q_NOTIFY, q, 4);
		return;
	}
	cwr(d, C_QSELECT, q, 2);
	{
		uint64_t off = crd(d, C_QNOTIFYOFF, 2);
		wr(d, d->notify_bar, d->notify_off + off * d->notify_mult, q, 2);
	}
}

void vdrv_notify_data(struct vdrv_dev *d, unsigned q, uint32_t data)
{
	if (d->kind == VDRV_MMIO) {
		wr(d, VDRV_SPACE_MMIO, M_Q_NOTIFY, data, 4);
		return;
	}
	cwr(d, C_QSELECT, q, 2);
	{
		uint64_t off = crd(d, C_QNOTIFYOFF, 2);
		wr(d, d->notify_bar, d->notify_off + off * d->notify_mult, data, 4);
	}
}

uint32_t vdrv_isr(struct vdrv_dev *d)
{
	uint32_t v;
	if (d->kind == VDRV_PCI)
		return (uint32_t)rd(d, d->isr_bar, d->isr_off, 1); /* read clears */
	v = (uint32_t)rd(d, VDRV_SPACE_MMIO, M_INT_STATUS, 4);
	if (v)
		wr(d, VDRV_SPACE_MMIO, M_INT_ACK, v, 4);
	return v;
}

uint8_t vdrv_config_generation(struct vdrv_dev *d)
{
	if (d->kind == VDRV_MMIO)
		return (uint8_t)rd(d, VDRV_SPACE_MMIO, M_GEN, 4);
	return (uint8_t)crd(d, C_GEN, 1);
}

uint64_t vdrv_config_read(struct vdrv_dev *d, unsigned off, unsigned size)
{
	if (d->kind == VDRV_MMIO)
		return rd(d, VDRV_SPACE_MMIO, M_CONFIG + off, size);
	return rd(d, d->device_bar, d->device_off + off, size);
}

void vdrv_config_write(struct vdrv_dev *d, unsigned off, uint64_t val, unsigned size)
{
	if (d->kind == VDRV_MMIO)
		wr(d, VDRV_SPACE_MMIO, M_CONFIG + off, val, size);
	else
		wr(d, d->device_bar, d->device_off + off, val, size);
}

void vdrv_msix_enable(struct vdrv_dev *d, int enable)
{
	uint64_t ctl;
	if (d->kind != VDRV_PCI || d->msix_cap == 0)
		return;
	ctl = rd(d, VDRV_SPACE_PCICFG, d->msix_cap + 2, 2);
	ctl = enable ? (ctl | 0x8000) : (ctl & ~0x8000ull);
	wr(d, VDRV_SPACE_PCICFG, d->msix_cap + 2, ctl, 2);
	if (enable) {
		/* Program and unmask every entry: address/data as x86 would. */
		uint32_t tbl = (uint32_t)rd(d, VDRV_SPACE_PCICFG, d->msix_cap + 4, 4);
		unsigned n = (unsigned)(ctl & 0x7ff) + 1;
		for (unsigned v = 0; v < n; v++) {
			uint64_t e = (tbl & ~7u) + 16ull * v;
			wr(d, (int)(tbl & 7), e, 0xfee00000u, 4);
			wr(d, (int)(tbl & 7), e + 4, 0, 4);
			wr(d, (int)(tbl & 7), e + 8, 0x40 + v, 4);
			wr(d, (int)(tbl & 7), e + 12, 0, 4);
		}
	}
}

uint32_t vdrv_pcicfg_read(struct vdrv_dev *d, int bar, uint32_t off, unsigned size)
{
	unsigned c = d->pcicfg_cap;
	if (c == 0)
		return 0xffffffffu;
	wr(d, VDRV_SPACE_PCICFG, c + 4, (uint64_t)bar, 1);
	wr(d, VDRV_SPACE_PCICFG, c + 8, off, 4);
	wr(d, VDRV_SPACE_PCICFG, c + 12, size, 4);
	return (uint32_t)rd(d, VDRV_SPACE_PCICFG, c + 16, 4);
}

uint16_t vdrv_config_vector(struct vdrv_dev *d, uint16_t v)
{
	if (d->kind != VDRV_PCI)
		return 0xffff;
	cwr(d, C_MSIX, v, 2);
	return (uint16_t)crd(d, C_MSIX, 2);
}
