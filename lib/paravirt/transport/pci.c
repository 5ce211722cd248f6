/*
 * paravirt/transport/pci.c - virtio over PCI (VIRTIO 1.2 4.1).
 *
 * Layout, as QEMU's virtio-pci lays it out:
 *   config space: standard header, capability list at 0x40:
 *     0x40 common cfg cap, 0x50 ISR cap, 0x60 device cfg cap,
 *     0x70 notify cap (20 bytes), 0x84 PCI cfg access cap (20 bytes),
 *     0x98 MSI-X capability (if MSI-X)
 *   BAR 1: MSI-X table at 0, PBA at 0x800 (4 KiB, 32-bit memory)
 *   BAR 4: 64-bit prefetchable memory, 16 KiB: common 0x0000, ISR 0x1000,
 *     device config 0x2000, notify 0x3000 (multiplier 4)
 *   BAR 0 (transitional only): the legacy I/O register block.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "paravirt/device.h"

#define CAP_COMMON 0x40
#define CAP_ISR 0x50
#define CAP_DEVICE 0x60
#define CAP_NOTIFY 0x70
#define CAP_PCICFG 0x84
#define CAP_MSIX 0x98

#define OFF_COMMON 0x0000
#define OFF_ISR 0x1000
#define OFF_DEVICE 0x2000
#define OFF_NOTIFY 0x3000
#define NOTIFY_MULT 4
#define BAR4_SIZE 0x4000
#define BAR1_SIZE 0x1000
#define PBA_OFF 0x800
#define MAX_VECTORS 128

struct vstd_virtio_pci {
	vstd_virtio_dev *dev;
	vstd_virtio_host host;
	uint8_t cfg[256];
	uint32_t bar_size[6];
	int bar_io[6];
	uint64_t bar_addr[6];
	uint16_t nvec;
	uint8_t msix_table[MAX_VECTORS * 16];
	uint64_t pba[(MAX_VECTORS + 63) / 64];
	uint32_t dfselect, gfselect;
	uint16_t qsel;
	int transitional;
	uint16_t legacy_qsel;
};

static int msix_on(const vstd_virtio_pci *p)
{
	return p->nvec && (vstd_le16(p->cfg + CAP_MSIX + 2) & 0x8000);
}
static int msix_fmask(const vstd_virtio_pci *p)
{
	return (vstd_le16(p->cfg + CAP_MSIX + 2) & 0x4000) != 0;
}
static int vec_masked(const vstd_virtio_pci *p, unsigned v)
{
	return msix_fmask(p) || (vstd_le32(p->msix_table + 16 * v + 12) & 1);
}

static void msix_fire(vstd_virtio_pci *p, uint16_t v)
{
	if (v == VSTD_VIRTIO_NO_VECTOR || v >= p->nvec)
		return;
	if (vec_masked(p, v)) {
		__atomic_or_fetch(&p->pba[v / 64], 1ULL << (v % 64), __ATOMIC_ACQ_REL);
		return;
	}
	if (p->host.interrupt)
		p->host.interrupt(p->host.opaque, v);
}

static void pci_raise(void *tp, int q)
{
	vstd_virtio_pci *p = tp;
	if (msix_on(p)) {
		msix_fire(p, q < 0 ? p->dev->config_vector : p->dev->vq[q].msix_vector);
		return;
	}
	vdev_isr_raise(p->dev, q < 0 ? VDEV_ISR_CONFIG : VDEV_ISR_QUEUE);
	if (p->host.interrupt)
		p->host.interrupt(p->host.opaque, VSTD_VIRTIO_VECTOR_INTX);
}

static void put_cap(uint8_t *c, unsigned pos, unsigned next, unsigned len, unsigned type,
                    unsigned bar, uint32_t off, uint32_t size)
{
	c[pos] = 0x09;
	c[pos + 1] = (uint8_t)next;
	c[pos + 2] = (uint8_t)len;
	c[pos + 3] = (uint8_t)type;
	c[pos + 4] = (uint8_t)bar;
	vstd_put_le32(c + pos + 8, off);
	vstd_put_le32(c + pos + 12, size);
}

static uint16_t pci_class(unsigned type)
{
	switch (type) {
	case VSTD_VIRTIO_BLK: return 0x0100;     /* mass storage, SCSI (as QEMU) */
	case VSTD_VIRTIO_NET: return 0x0200;     /* ethernet */
	case VSTD_VIRTIO_CONSOLE: return 0x0780; /* communication, other */
	default: return 0x00ff;                  /* unclassified, other */
	}
}

int vstd_virtio_pci_new(vstd_virtio_pci **out, vstd_virtio_dev *dev, const vstd_virtio_host *host,
                        const vstd_virtio_pci_opts *opts)
{
	vstd_virtio_pci_opts o = VSTD_VIRTIO_PCI_OPTS_INIT;
	vstd_virtio_pci *p;
	uint8_t *c;
	unsigned type;
	if (out == NULL || dev == NULL || host == NULL || host->version != VSTD_VIRTIO_HOST_VERSION)
		return vstd_err(VSTD_EINVAL, "virtio-pci: invalid arguments");
	if (opts != NULL) {
		if (opts->version != VSTD_VIRTIO_PCI_OPTS_VERSION)
			return vstd_err(VSTD_EINVAL, "virtio-pci: unknown options version %u",
			                opts->version);
		o = *opts;
	}
	if (dev->tr.raise != NULL)
		return vstd_err(VSTD_EBUSY, "virtio-pci: virtio-%s is already on a transport",
		                dev->ops->name);
	p = vstd_calloc(1, sizeof(*p));
	if (p == NULL)
		return VSTD_ENOMEM;
	p->dev = dev;
	p->host = *host;
	type = dev->ops->type;
	if (o.msix_vectors == 0)
		o.msix_vectors =
		        (uint16_t)(dev->nqueues + 1 > MAX_VECTORS ? MAX_VECTORS : dev->nqueues + 1);
	if (o.msix_vectors == 0xffff)
		o.msix_vectors = 0;
	if (o.msix_vectors > MAX_VECTORS)
		o.msix_vectors = MAX_VECTORS;
	p->nvec = o.msix_vectors;
	p->transitional = o.transitional;
	c = p->cfg;
	vstd_put_le16(c + 0x00, 0x1af4);
	vstd_put_le16(c + 0x02, (uint16_t)(o.transitional ? 0x1000 + type - 1 : 0x1040 + type));
	vstd_put_le16(c + 0x06, 0x0010);  /* capabilities list */
	c[0x08] = o.transitional ? 0 : 1; /* revision: 1 for non-transitional devices */
	vstd_put_le16(c + 0x0a, pci_class(type));
	vstd_put_le16(c + 0x2c, 0x1af4);
	vstd_put_le16(c + 0x2e, (uint16_t)type);
	c[0x34] = CAP_COMMON;
	c[0x3d] = 1; /* INTA */
	put_cap(c, CAP_COMMON, CAP_ISR, 16, 1, 4, OFF_COMMON, 0x1000);
	put_cap(c, CAP_ISR, CAP_DEVICE, 16, 3, 4, OFF_ISR, 0x1000);
	put_cap(c, CAP_DEVICE, CAP_NOTIFY, 16, 4, 4, OFF_DEVICE, 0x1000);
	put_cap(c, CAP_NOTIFY, CAP_PCICFG, 20, 2, 4, OFF_NOTIFY, 0x1000);
	vstd_put_le32(c + CAP_NOTIFY + 16, NOTIFY_MULT);
	put_cap(c, CAP_PCICFG, p->nvec ? CAP_MSIX : 0, 20, 5, 0, 0, 0);
	if (p->nvec) {
		c[CAP_MSIX] = 0x11;
		c[CAP_MSIX + 1] = 0;
		vstd_put_le16(c + CAP_MSIX + 2, (uint16_t)(p->nvec - 1));
		vstd_put_le32(c + CAP_MSIX + 4, 0 | 1);       /* table in BAR 1 at 0 */
		vstd_put_le32(c + CAP_MSIX + 8, PBA_OFF | 1); /* PBA in BAR 1 at 0x800 */
		p->bar_size[1] = BAR1_SIZE;
		for (unsigned v = 0; v < p->nvec; v++)
			vstd_put_le32(p->msix_table + 16 * v + 12, 1); /* masked at reset */
	}
	p->bar_size[4] = BAR4_SIZE;
	if (o.transitional) {
		uint32_t need = 24 + dev->cfg_len, sz = 32;
		while (sz < need)
			sz <<= 1;
		p->bar_size[0] = sz;
		p->bar_io[0] = 1;
	}
	pthread_mutex_lock(&dev->lock);
	vdev_reset(dev);
	dev->modern = 1;
	dev->tr.raise = pci_raise;
	dev->tr.tp = p;
	pthread_mutex_unlock(&dev->lock);
	*out = p;
	return 0;
}

void vstd_virtio_pci_free(vstd_virtio_pci *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->dev->lock);
	vdev_reset(p->dev);
	p->dev->tr.raise = NULL;
	p->dev->tr.tp = NULL;
	pthread_mutex_unlock(&p->dev->lock);
	vstd_free(p);
}

uint64_t vstd_virtio_pci_bar(const vstd_virtio_pci *p, unsigned bar, int *is_io, uint64_t *addr)
{
	if (p == NULL || bar > 5)
		return 0;
	if (is_io)
		*is_io = p->bar_io[bar];
	if (addr) {
		/* Only what the function decodes: the command register enables
		 * I/O (bit 0) and memory (bit 1) decoding; the BAR's low bits are
		 * flags (I/O, 64-bit, prefetchable) and the bits below its size are
		 * hard-wired to zero, whatever the guest wrote there (Linux
		 * writes back the value with its flag bits after sizing). */
		unsigned decode = p->bar_io[bar] ? 0x1 : 0x2;
		uint64_t a = p->bar_addr[bar];
		if (bar != 4)
			a &= 0xffffffffULL;
		*addr = (p->cfg[0x04] & decode) && p->bar_size[bar] ? a & ~(p->bar_size[bar] - 1)
		                                                    : 0;
	}
	return p->bar_size[bar];
}

uint64_t vstd_virtio_pci_notify_offset(const vstd_virtio_pci *p, unsigned queue)
{
	(void)p;
	return OFF_NOTIFY + (uint64_t)queue * NOTIFY_MULT;
}

int vstd_virtio_pci_msix_entry(const vstd_virtio_pci *p, unsigned vector, uint64_t *addr,
                               uint32_t *data, int *masked)
{
	if (p == NULL || vector >= p->nvec)
		return vstd_err(VSTD_ERANGE, "virtio-pci: no MSI-X vector %u", vector);
	if (addr)
		*addr = vstd_le64(p->msix_table + 16 * vector);
	if (data)
		*data = vstd_le32(p->msix_table + 16 * vector + 8);
	if (masked)
		*masked = vec_masked(p, vector);
	return 0;
}

/* ------------------------------------------------------------ common cfg */

static uint64_t common_get(vstd_virtio_pci *p, unsigned reg)
{
	struct vstd_virtio_dev *dev = p->dev;
	struct vstd_vq *vq = p->qsel < dev->nqueues ? &dev->vq[p->qsel] : NULL;
	switch (reg) {
	case 0x00: return p->dfselect;
	case 0x04: return vdev_get_host_features(dev, p->dfselect);
	case 0x08: return p->gfselect;
	case 0x0c: return vdev_get_guest_features(dev, p->gfselect);
	case 0x10: return dev->config_vector;
	case 0x12: return dev->nqueues;
	case 0x14: return vstd_virtio_dev_status(dev);
	case 0x15: return __atomic_load_n(&dev->config_generation, __ATOMIC_ACQUIRE);
	case 0x16: return p->qsel;
	case 0x18: return vq ? vq->num : 0;
	case 0x1a: return vq ? vq->msix_vector : VSTD_VIRTIO_NO_VECTOR;
	case 0x1c: return vq ? (uint64_t)vq->enabled : 0;
	case 0x1e: return vq ? p->qsel : 0;
	case 0x20: return vq ? vq->desc_gpa : 0;
	case 0x28: return vq ? vq->driver_gpa : 0;
	case 0x30: return vq ? vq->device_gpa : 0;
	case 0x38: return vq ? p->qsel : 0; /* queue_notif_config_data */
	case 0x3a: return vq ? (uint64_t)vq->reset_flag : 0;
	default: return 0;
	}
}

static void common_set(vstd_virtio_pci *p, unsigned reg, uint64_t v)
{
	struct vstd_virtio_dev *dev = p->dev;
	struct vstd_vq *vq = p->qsel < dev->nqueues ? &dev->vq[p->qsel] : NULL;
	switch (reg) {
	case 0x00: p->dfselect = (uint32_t)v; return;
	case 0x08: p->gfselect = (uint32_t)v; return;
	case 0x0c: vdev_set_guest_features(dev, p->gfselect, (uint32_t)v); return;
	case 0x10: dev->config_vector = (uint16_t)(v < p->nvec ? v : VSTD_VIRTIO_NO_VECTOR); return;
	case 0x14: vdev_set_status(dev, (uint8_t)v); return;
	case 0x16: p->qsel = (uint16_t)v; return;
	default: break;
	}
	if (vq == NULL)
		return;
	if (reg == 0x1c) {
		if (v == 1 && !vq->enabled)
			(void)vdev_queue_enable(dev, p->qsel);
		return; /* writing 0 is not allowed for the driver: ignored */
	}
	if (reg == 0x3a) {
		if (v == 1 && vdev_has(dev, VSTD_VIRTIO_F_RING_RESET))
			vdev_queue_reset(dev, p->qsel);
		return;
	}
	if (reg == 0x1a) {
		vq->msix_vector = (uint16_t)(v < p->nvec ? v : VSTD_VIRTIO_NO_VECTOR);
		return;
	}
	if (vq->enabled) {
		vstd_warn("virtio",
		          "virtio-pci: virtio-%s queue %u: register 0x%x written while enabled; "
		          "ignored",
		          dev->ops->name, p->qsel, reg);
		return;
	}
	switch (reg) {
	case 0x18: vq->num = (uint16_t)v; return;
	case 0x20: vq->desc_gpa = v; return;
	case 0x28: vq->driver_gpa = v; return;
	case 0x30: vq->device_gpa = v; return;
	default: return;
	}
}

/* Field table of virtio_pci_common_cfg: offset and width. */
static const uint8_t common_fields[][2] = {{0x00, 4}, {0x04, 4}, {0x08, 4}, {0x0c, 4}, {0x10, 2},
                                           {0x12, 2}, {0x14, 1}, {0x15, 1}, {0x16, 2}, {0x18, 2},
                                           {0x1a, 2}, {0x1c, 2}, {0x1e, 2}, {0x20, 8}, {0x28, 8},
                                           {0x30, 8}, {0x38, 2}, {0x3a, 2}};

static void common_access(vstd_virtio_pci *p, unsigned off, uint8_t *data, unsigned size, int write)
{
	for (size_t i = 0; i < sizeof(common_fields) / sizeof(common_fields[0]); i++) {
		unsigned f = common_fields[i][0], w = common_fields[i][1];
		uint8_t buf[8];
		unsigned lo, hi;
		if (off + size <= f || off >= f + w)
			continue;
		lo = off > f ? off : f;
		hi = off + size < f + w ? off + size : f + w;
		vstd_put_le64(buf, common_get(p, f));
		if (write) {
			memcpy(buf + (lo - f), data + (lo - off), hi - lo);
			/* 64-bit address fields take 32-bit halves (4.1.3.1). */
			common_set(p, f,
			           vstd_le64(buf) & (w == 8 ? ~0ULL : ((1ULL << (8 * w)) - 1)));
		} else {
			memcpy(data + (lo - off), buf + (lo - f), hi - lo);
		}
	}
}

/* ------------------------------------------------------------ legacy */

static int legacy_access(vstd_virtio_pci *p, uint64_t off, uint8_t *data, unsigned size, int write)
{
	struct vstd_virtio_dev *dev = p->dev;
	unsigned cfg_at = msix_on(p) ? 24 : 20;
	struct vstd_vq *vq = p->legacy_qsel < dev->nqueues ? &dev->vq[p->legacy_qsel] : NULL;
	uint32_t v = 0;
	dev->modern = 0;
	if (off >= cfg_at) {
		if (write)
			vdev_config_write(dev, (unsigned)(off - cfg_at), data, size);
		else
			vdev_config_read(dev, (unsigned)(off - cfg_at), data, size);
		return -1;
	}
	if (!write) {
		switch (off) {
		case 0x00: v = vdev_get_host_features(dev, 0); break;
		case 0x04: v = vdev_get_guest_features(dev, 0); break;
		case 0x08: v = vq && vq->enabled ? (uint32_t)(vq->desc_gpa >> 12) : 0; break;
		case 0x0c: v = vq ? vq->num_max : 0; break;
		case 0x0e: v = p->legacy_qsel; break;
		case 0x12: v = vstd_virtio_dev_status(dev); break;
		case 0x13: v = vdev_isr_read_clear(dev); break;
		case 0x14: v = dev->config_vector; break;
		case 0x16: v = vq ? vq->msix_vector : 0xffff; break;
		default: v = 0;
		}
		for (unsigned i = 0; i < size; i++)
			data[i] = (uint8_t)(v >> (8 * i));
		return -1;
	}
	for (unsigned i = 0; i < size && i < 4; i++)
		v |= (uint32_t)data[i] << (8 * i);
	switch (off) {
	case 0x04: vdev_set_guest_features(dev, 0, v); break;
	case 0x08:
		if (vq == NULL)
			break;
		if (v == 0) {
			vdev_queue_reset(dev, p->legacy_qsel);
			break;
		}
		/* Legacy layout: descriptors, available ring right after,
		 * used ring at the next 4096-byte boundary. */
		vq->num = vq->num_max;
		vq->desc_gpa = (uint64_t)v << 12;
		vq->driver_gpa = vq->desc_gpa + 16ULL * vq->num;
		vq->device_gpa = vstd_align_up(vq->driver_gpa + 6 + 2ULL * vq->num, 4096);
		(void)vdev_queue_enable(dev, p->legacy_qsel);
		break;
	case 0x0e: p->legacy_qsel = (uint16_t)v; break;
	case 0x10: return (int)(v & 0xffff);
	case 0x12: vdev_set_status(dev, (uint8_t)v); break;
	case 0x14: dev->config_vector = (uint16_t)(v < p->nvec ? v : 0xffff); break;
	case 0x16:
		if (vq)
			vq->msix_vector = (uint16_t)(v < p->nvec ? v : 0xffff);
		break;
	default: break;
	}
	return -1;
}

/* ------------------------------------------------------------ BARs */

/* Returns a queue to notify after unlocking, or -1; *ndata is set when the
 * notify write carried notification data (in data[0..4)). */
static int bar_access(vstd_virtio_pci *p, unsigned bar, uint64_t off, uint8_t *data, unsigned size,
                      int write, int *ndata)
{
	int q = -1;
	if (bar > 5 || p->bar_size[bar] == 0 || off >= p->bar_size[bar] ||
	    size > p->bar_size[bar] - off)
		return vstd_err(VSTD_EINVAL, "virtio-pci: access at 0x%" PRIx64 " outside BAR %u",
		                off, bar);
	if (!write)
		memset(data, 0, size);
	if (bar == 0)
		return legacy_access(p, off, data, size, write);
	if (bar == 1) {
		if (off < PBA_OFF) {
			if (off + size > 16u * p->nvec)
				return -1;
			if (write) {
				unsigned v = (unsigned)(off / 16);
				memcpy(p->msix_table + off, data, size);
				if (!vec_masked(p, v) && (p->pba[v / 64] & (1ULL << (v % 64)))) {
					__atomic_and_fetch(&p->pba[v / 64], ~(1ULL << (v % 64)),
					                   __ATOMIC_ACQ_REL);
					if (p->host.interrupt)
						p->host.interrupt(p->host.opaque, v);
				}
			} else {
				memcpy(data, p->msix_table + off, size);
			}
		} else if (!write && off - PBA_OFF + size <= sizeof(p->pba)) {
			memcpy(data, (uint8_t *)p->pba + (off - PBA_OFF), size);
		}
		return -1;
	}
	/* BAR 4 */
	p->dev->modern = 1;
	if (off < OFF_COMMON + 0x40) {
		common_access(p, (unsigned)off, data, size, write);
	} else if (off >= OFF_ISR && off < OFF_ISR + 0x1000) {
		if (!write && off == OFF_ISR)
			data[0] = (uint8_t)vdev_isr_read_clear(p->dev);
	} else if (off >= OFF_DEVICE && off < OFF_DEVICE + 0x1000) {
		if (write)
			vdev_config_write(p->dev, (unsigned)(off - OFF_DEVICE), data, size);
		else
			vdev_config_read(p->dev, (unsigned)(off - OFF_DEVICE), data, size);
	} else if (off >= OFF_NOTIFY && write) {
		uint64_t q64 = (off - OFF_NOTIFY) / NOTIFY_MULT;
		if ((off - OFF_NOTIFY) % NOTIFY_MULT == 0 && q64 < p->dev->nqueues) {
			q = (int)q64;
			/* NOTIFICATION_DATA: a 32-bit {vqn, next_off, next_wrap}
			 * (4.1.5.2); the address already names the queue. */
			*ndata = size == 4 && vdev_has(p->dev, VSTD_VIRTIO_F_NOTIFICATION_DATA);
		}
	}
	return q;
}

static int do_bar(vstd_virtio_pci *p, unsigned bar, uint64_t off, void *data, unsigned size,
                  int write)
{
	int q, rc, ndata = 0;
	if (p == NULL || data == NULL || (size != 1 && size != 2 && size != 4 && size != 8))
		return vstd_err(VSTD_EINVAL, "virtio-pci: invalid BAR access");
	pthread_mutex_lock(&p->dev->lock);
	q = bar_access(p, bar, off, data, size, write, &ndata);
	pthread_mutex_unlock(&p->dev->lock);
	if (q < -1)
		return q;
	if (q >= 0) {
		rc = ndata ? vstd_virtio_notify_data(p->dev, (unsigned)q, vstd_le32(data))
		           : vstd_virtio_notify(p->dev, (unsigned)q);
		return rc == VSTD_ECORRUPT || rc == VSTD_ESTATE || rc == VSTD_ERANGE ? 0 : rc;
	}
	return 0;
}

int vstd_virtio_pci_bar_read(vstd_virtio_pci *p, unsigned bar, uint64_t off, void *data,
                             unsigned size)
{
	return do_bar(p, bar, off, data, size, 0);
}

int vstd_virtio_pci_bar_write(vstd_virtio_pci *p, unsigned bar, uint64_t off, const void *data,
                              unsigned size)
{
	uint8_t tmp[8];
	if (data == NULL || size > 8)
		return vstd_err(VSTD_EINVAL, "virtio-pci: invalid BAR access");
	memcpy(tmp, data, size);
	return do_bar(p, bar, off, tmp, size, 1);
}

/* ------------------------------------------------------------ config space */

static uint32_t bar_reg(const vstd_virtio_pci *p, unsigned bar)
{
	/* BAR 4 is 64-bit: BAR 5 holds its upper half. */
	if (bar == 5)
		return (uint32_t)(p->bar_addr[4] >> 32);
	if (p->bar_size[bar] == 0)
		return 0;
	if (p->bar_io[bar])
		return ((uint32_t)p->bar_addr[bar] & ~(p->bar_size[bar] - 1)) | 1;
	return ((uint32_t)p->bar_addr[bar] & ~(p->bar_size[bar] - 1)) | (bar == 4 ? 0x0c : 0);
}

int vstd_virtio_pci_cfg_read(vstd_virtio_pci *p, unsigned off, void *data, unsigned size)
{
	uint8_t tmp[4];
	if (p == NULL || data == NULL || (size != 1 && size != 2 && size != 4) || off >= 256 ||
	    off + size > 256)
		return vstd_err(VSTD_EINVAL, "virtio-pci: invalid config read at 0x%x", off);
	pthread_mutex_lock(&p->dev->lock);
	for (unsigned b = 0; b < 6; b++)
		vstd_put_le32(p->cfg + 0x10 + 4 * b, bar_reg(p, b));
	memcpy(tmp, p->cfg + off, size);
	pthread_mutex_unlock(&p->dev->lock);
	/* pci_cfg_data: an access through the window (4.1.4.9). */
	if (off >= CAP_PCICFG + 16 && off < CAP_PCICFG + 20) {
		uint32_t len = vstd_le32(p->cfg + CAP_PCICFG + 12);
		unsigned at = off - (CAP_PCICFG + 16);
		uint8_t val[8] = {0};
		if (len == 1 || len == 2 || len == 4)
			(void)do_bar(p, p->cfg[CAP_PCICFG + 4], vstd_le32(p->cfg + CAP_PCICFG + 8),
			             val, len, 0);
		memcpy(tmp, val + at, size);
	}
	memcpy(data, tmp, size);
	return 0;
}

int vstd_virtio_pci_cfg_write(vstd_virtio_pci *p, unsigned off, const void *data, unsigned size)
{
	const uint8_t *d = data;
	if (p == NULL || data == NULL || (size != 1 && size != 2 && size != 4) || off >= 256 ||
	    off + size > 256)
		return vstd_err(VSTD_EINVAL, "virtio-pci: invalid config write at 0x%x", off);
	if (off >= CAP_PCICFG + 16 && off < CAP_PCICFG + 20) {
		uint32_t len = vstd_le32(p->cfg + CAP_PCICFG + 12);
		uint8_t val[8] = {0};
		if ((len == 1 || len == 2 || len == 4) && off == CAP_PCICFG + 16 && size >= len) {
			memcpy(val, d, len);
			return do_bar(p, p->cfg[CAP_PCICFG + 4], vstd_le32(p->cfg + CAP_PCICFG + 8),
			              val, len, 1);
		}
		return 0;
	}
	pthread_mutex_lock(&p->dev->lock);
	for (unsigned i = 0; i < size; i++) {
		unsigned o = off + i;
		if (o == 0x04 || o == 0x05 || o == 0x3c) {
			p->cfg[o] = d[i]; /* command, interrupt line */
		} else if (o >= 0x10 && o < 0x28) {
			unsigned bar = (o - 0x10) / 4, byte = (o - 0x10) % 4;
			if (bar == 5) {
				uint64_t a = p->bar_addr[4];
				a &= ~(0xffULL << (32 + 8 * byte));
				a |= (uint64_t)d[i] << (32 + 8 * byte);
				p->bar_addr[4] = a;
			} else if (p->bar_size[bar]) {
				uint64_t a = p->bar_addr[bar];
				a &= ~(0xffULL << (8 * byte));
				a |= (uint64_t)d[i] << (8 * byte);
				p->bar_addr[bar] = a;
			}
		} else if (o == CAP_PCICFG + 4 || (o >= CAP_PCICFG + 8 && o < CAP_PCICFG + 16)) {
			p->cfg[o] = d[i]; /* bar, offset, length of the access window */
		} else if (p->nvec && o == CAP_MSIX + 3) {
			p->cfg[o] = (uint8_t)((p->cfg[o] & 0x3f) |
			                      (d[i] & 0xc0)); /* enable, function mask */
		}
	}
	/* Unmasking the function delivers pending vectors. */
	if (msix_on(p) && !msix_fmask(p)) {
		for (unsigned v = 0; v < p->nvec; v++)
			if (!vec_masked(p, v) && (p->pba[v / 64] & (1ULL << (v % 64)))) {
				__atomic_and_fetch(&p->pba[v / 64], ~(1ULL << (v % 64)),
				                   __ATOMIC_ACQ_REL);
				if (p->host.interrupt)
					p->host.interrupt(p->host.opaque, v);
			}
	}
	pthread_mutex_unlock(&p->dev->lock);
	return 0;
}
