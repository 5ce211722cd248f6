/*
 * paravirt/transport/mmio.c - virtio-mmio version 2 (VIRTIO 1.2 4.2.2).
 *
 * Registers (32-bit, little-endian) from offset 0; device configuration
 * from 0x100.  Queue registers act on the queue chosen by QueueSel and may
 * only change while that queue is not ready.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "paravirt/device.h"

enum {
	MMIO_MAGIC = 0x000,
	MMIO_VERSION = 0x004,
	MMIO_DEVICE_ID = 0x008,
	MMIO_VENDOR_ID = 0x00c,
	MMIO_DEVICE_FEATURES = 0x010,
	MMIO_DEVICE_FEATURES_SEL = 0x014,
	MMIO_DRIVER_FEATURES = 0x020,
	MMIO_DRIVER_FEATURES_SEL = 0x024,
	MMIO_QUEUE_SEL = 0x030,
	MMIO_QUEUE_NUM_MAX = 0x034,
	MMIO_QUEUE_NUM = 0x038,
	MMIO_QUEUE_READY = 0x044,
	MMIO_QUEUE_NOTIFY = 0x050,
	MMIO_INTERRUPT_STATUS = 0x060,
	MMIO_INTERRUPT_ACK = 0x064,
	MMIO_STATUS = 0x070,
	MMIO_QUEUE_DESC_LOW = 0x080,
	MMIO_QUEUE_DESC_HIGH = 0x084,
	MMIO_QUEUE_DRIVER_LOW = 0x090,
	MMIO_QUEUE_DRIVER_HIGH = 0x094,
	MMIO_QUEUE_DEVICE_LOW = 0x0a0,
	MMIO_QUEUE_DEVICE_HIGH = 0x0a4,
	MMIO_SHM_SEL = 0x0ac,
	MMIO_SHM_LEN_LOW = 0x0b0,
	MMIO_SHM_LEN_HIGH = 0x0b4,
	MMIO_SHM_BASE_LOW = 0x0b8,
	MMIO_SHM_BASE_HIGH = 0x0bc,
	MMIO_QUEUE_RESET = 0x0c0,
	MMIO_CONFIG_GENERATION = 0x0fc,
	MMIO_CONFIG = 0x100
};

#define MMIO_MAGIC_VALUE 0x74726976u /* "virt" */
#define MMIO_VENDOR_VSTD 0x44545356u /* "VSTD" */

struct vstd_virtio_mmio {
	vstd_virtio_dev *dev;
	vstd_virtio_host host;
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
};

static void mmio_raise(void *tp, int q)
{
	vstd_virtio_mmio *m = tp;
	vdev_isr_raise(m->dev, q < 0 ? VDEV_ISR_CONFIG : VDEV_ISR_QUEUE);
	if (m->host.interrupt)
		m->host.interrupt(m->host.opaque, VSTD_VIRTIO_VECTOR_INTX);
}

int vstd_virtio_mmio_new(vstd_virtio_mmio **out, vstd_virtio_dev *dev, const vstd_virtio_host *host)
{
	vstd_virtio_mmio *m;
	if (out == NULL || dev == NULL || host == NULL || host->version != VSTD_VIRTIO_HOST_VERSION)
		return vstd_err(VSTD_EINVAL, "virtio-mmio: invalid arguments");
	if (dev->tr.raise != NULL)
		return vstd_err(VSTD_EBUSY, "virtio-mmio: virtio-%s is already on a transport",
		                dev->ops->name);
	m = vstd_calloc(1, sizeof(*m));
	if (m == NULL)
		return VSTD_ENOMEM;
	m->dev = dev;
	m->host = *host;
	pthread_mutex_lock(&dev->lock);
	vdev_reset(dev);
	dev->modern = 1;
	dev->tr.raise = mmio_raise;
	dev->tr.tp = m;
	pthread_mutex_unlock(&dev->lock);
	*out = m;
	return 0;
}

void vstd_virtio_mmio_free(vstd_virtio_mmio *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->dev->lock);
	vdev_reset(m->dev);
	m->dev->tr.raise = NULL;
	m->dev->tr.tp = NULL;
	pthread_mutex_unlock(&m->dev->lock);
	vstd_free(m);
}

static struct vstd_vq *cur_vq(vstd_virtio_mmio *m)
{
	return m->queue_sel < m->dev->nqueues ? &m->dev->vq[m->queue_sel] : NULL;
}

static uint32_t reg_read(vstd_virtio_mmio *m, uint64_t off)
{
	struct vstd_virtio_dev *dev = m->dev;
	struct vstd_vq *vq = cur_vq(m);
	switch (off) {
	case MMIO_MAGIC: return MMIO_MAGIC_VALUE;
	case MMIO_VERSION: return 2;
	case MMIO_DEVICE_ID: return dev->ops->type;
	case MMIO_VENDOR_ID: return MMIO_VENDOR_VSTD;
	case MMIO_DEVICE_FEATURES: return vdev_get_host_features(dev, m->dev_features_sel);
	case MMIO_QUEUE_NUM_MAX: return vq ? vq->num_max : 0;
	case MMIO_QUEUE_READY: return vq ? (uint32_t)vq->enabled : 0;
	case MMIO_INTERRUPT_STATUS: return vstd_virtio_isr_pending(dev);
	case MMIO_STATUS: return vstd_virtio_dev_status(dev);
	case MMIO_SHM_LEN_LOW:
	case MMIO_SHM_LEN_HIGH:
	case MMIO_SHM_BASE_LOW:
	case MMIO_SHM_BASE_HIGH: return 0xffffffffu; /* no shared memory regions */
	case MMIO_QUEUE_RESET: return vq ? (uint32_t)vq->reset_flag : 0;
	case MMIO_CONFIG_GENERATION:
		return __atomic_load_n(&dev->config_generation, __ATOMIC_ACQUIRE);
	/* The queue address and size registers are write-only in the spec, but
	 * reading them back is handy for debugging and harmless. */
	case MMIO_QUEUE_NUM: return vq ? vq->num : 0;
	case MMIO_QUEUE_DESC_LOW: return vq ? (uint32_t)vq->desc_gpa : 0;
	case MMIO_QUEUE_DESC_HIGH: return vq ? (uint32_t)(vq->desc_gpa >> 32) : 0;
	case MMIO_QUEUE_DRIVER_LOW: return vq ? (uint32_t)vq->driver_gpa : 0;
	case MMIO_QUEUE_DRIVER_HIGH: return vq ? (uint32_t)(vq->driver_gpa >> 32) : 0;
	case MMIO_QUEUE_DEVICE_LOW: return vq ? (uint32_t)vq->device_gpa : 0;
	case MMIO_QUEUE_DEVICE_HIGH: return vq ? (uint32_t)(vq->device_gpa >> 32) : 0;
	default: return 0;
	}
}

static void set_half(uint64_t *v, int high, uint32_t val)
{
	if (high)
		*v = (*v & 0xffffffffULL) | ((uint64_t)val << 32);
	else
		*v = (*v & 0xffffffff00000000ULL) | val;
}

/* Returns a queue to process after unlocking (notify), or -1; *ndata is
 * the whole QueueNotify value when it carries notification data. */
static int reg_write(vstd_virtio_mmio *m, uint64_t off, uint32_t val, int *ndata)
{
	struct vstd_virtio_dev *dev = m->dev;
	struct vstd_vq *vq = cur_vq(m);
	uint64_t *addr = NULL;
	switch (off) {
	case MMIO_DEVICE_FEATURES_SEL: m->dev_features_sel = val; return -1;
	case MMIO_DRIVER_FEATURES:
		vdev_set_guest_features(dev, m->drv_features_sel, val);
		return -1;
	case MMIO_DRIVER_FEATURES_SEL: m->drv_features_sel = val; return -1;
	case MMIO_QUEUE_SEL: m->queue_sel = val; return -1;
	case MMIO_QUEUE_NOTIFY:
		/* With NOTIFICATION_DATA the value is {vqn:16, next_off:15,
		 * next_wrap:1}; without it the whole value is the queue index
		 * (so 0x10001 names no queue, not queue 1). */
		if (vdev_has(dev, VSTD_VIRTIO_F_NOTIFICATION_DATA)) {
			*ndata = 1;
			return (int)(val & 0xffff);
		}
		return val > 0xffff ? 0x10000 : (int)val;
	case MMIO_INTERRUPT_ACK: vdev_isr_ack(dev, val); return -1;
	case MMIO_STATUS: vdev_set_status(dev, (uint8_t)val); return -1;
	case MMIO_SHM_SEL: return -1;
	default: break;
	}
	if (vq == NULL) {
		vstd_debug("virtio", "virtio-mmio: write 0x%x to 0x%x for missing queue %u ignored",
		           val, (unsigned)off, m->queue_sel);
		return -1;
	}
	if (off == MMIO_QUEUE_RESET) {
		if (val == 1 && vdev_has(dev, VSTD_VIRTIO_F_RING_RESET))
			vdev_queue_reset(dev, m->queue_sel);
		return -1;
	}
	if (off == MMIO_QUEUE_READY) {
		if (val == 1 && !vq->enabled)
			(void)vdev_queue_enable(dev, m->queue_sel);
		else if (val == 0)
			vdev_queue_reset(dev, m->queue_sel);
		return -1;
	}
	if (vq->enabled) {
		vstd_warn("virtio",
		          "virtio-mmio: virtio-%s queue %u: register 0x%x written while ready; "
		          "ignored",
		          dev->ops->name, m->queue_sel, (unsigned)off);
		return -1;
	}
	switch (off) {
	case MMIO_QUEUE_NUM: vq->num = (uint16_t)(val > 0xffff ? 0 : val); return -1;
	case MMIO_QUEUE_DESC_LOW:
	case MMIO_QUEUE_DESC_HIGH: addr = &vq->desc_gpa; break;
	case MMIO_QUEUE_DRIVER_LOW:
	case MMIO_QUEUE_DRIVER_HIGH: addr = &vq->driver_gpa; break;
	case MMIO_QUEUE_DEVICE_LOW:
	case MMIO_QUEUE_DEVICE_HIGH: addr = &vq->device_gpa; break;
	default:
		vstd_debug("virtio",
		           "virtio-mmio: write to read-only or unknown register 0x%x ignored",
		           (unsigned)off);
		return -1;
	}
	set_half(addr, (off & 4) != 0, val);
	return -1;
}

int vstd_virtio_mmio_read(vstd_virtio_mmio *m, uint64_t off, void *data, unsigned size)
{
	if (m == NULL || data == NULL || (size != 1 && size != 2 && size != 4 && size != 8))
		return vstd_err(VSTD_EINVAL, "virtio-mmio: invalid read");
	memset(data, 0, size);
	if (off >= VSTD_VIRTIO_MMIO_SIZE || size > VSTD_VIRTIO_MMIO_SIZE - off)
		return vstd_err(VSTD_EINVAL,
		                "virtio-mmio: read at 0x%" PRIx64 " outside the window", off);
	pthread_mutex_lock(&m->dev->lock);
	if (off >= MMIO_CONFIG) {
		vdev_config_read(m->dev, (unsigned)(off - MMIO_CONFIG), data, size);
	} else if (size == 4 && off % 4 == 0) {
		vstd_put_le32(data, reg_read(m, off));
	} else {
		pthread_mutex_unlock(&m->dev->lock);
		return vstd_err(VSTD_EINVAL,
		                "virtio-mmio: %u-byte read of register 0x%" PRIx64
		                " (registers take aligned 32-bit accesses)",
		                size, off);
	}
	pthread_mutex_unlock(&m->dev->lock);
	return 0;
}

int vstd_virtio_mmio_write(vstd_virtio_mmio *m, uint64_t off, const void *data, unsigned size)
{
	int q = -1, ndata = 0;
	uint32_t val = 0;
	if (m == NULL || data == NULL || (size != 1 && size != 2 && size != 4 && size != 8))
		return vstd_err(VSTD_EINVAL, "virtio-mmio: invalid write");
	if (off >= VSTD_VIRTIO_MMIO_SIZE || size > VSTD_VIRTIO_MMIO_SIZE - off)
		return vstd_err(VSTD_EINVAL,
		                "virtio-mmio: write at 0x%" PRIx64 " outside the window", off);
	pthread_mutex_lock(&m->dev->lock);
	if (off >= MMIO_CONFIG) {
		vdev_config_write(m->dev, (unsigned)(off - MMIO_CONFIG), data, size);
	} else if (size == 4 && off % 4 == 0) {
		val = vstd_le32(data);
		q = reg_write(m, off, val, &ndata);
	} else {
		pthread_mutex_unlock(&m->dev->lock);
		return vstd_err(VSTD_EINVAL,
		                "virtio-mmio: %u-byte write of register 0x%" PRIx64
		                " (registers take aligned 32-bit accesses)",
		                size, off);
	}
	pthread_mutex_unlock(&m->dev->lock);
	if (q >= 0) {
		int rc = ndata ? vstd_virtio_notify_data(m->dev, (unsigned)q, val)
		               : vstd_virtio_notify(m->dev, (unsigned)q);
		/* A kick the device cannot act on is the guest's problem, not the VMM's. */
		return rc == VSTD_ECORRUPT || rc == VSTD_ESTATE || rc == VSTD_ERANGE ? 0 : rc;
	}
	return 0;
}

int vstd_virtio_mmio_cmdline(char *buf, size_t buflen, uint64_t base, uint64_t size, unsigned irq)
{
	char sz[32];
	int n;
	if (buf == NULL || size == 0)
		return vstd_err(VSTD_EINVAL, "virtio-mmio: invalid command-line arguments");
	if (size % (1ULL << 30) == 0)
		snprintf(sz, sizeof(sz), "%" PRIu64 "G", size >> 30);
	else if (size % (1ULL << 20) == 0)
		snprintf(sz, sizeof(sz), "%" PRIu64 "M", size >> 20);
	else if (size % 1024 == 0)
		snprintf(sz, sizeof(sz), "%" PRIu64 "K", size >> 10);
	else
		snprintf(sz, sizeof(sz), "%" PRIu64, size);
	n = snprintf(buf, buflen, "virtio_mmio.device=%s@0x%" PRIx64 ":%u", sz, base, irq);
	if (n < 0 || (size_t)n >= buflen)
		return vstd_err(VSTD_ERANGE,
		                "virtio-mmio: command-line buffer of %zu bytes too small", buflen);
	return n;
}
