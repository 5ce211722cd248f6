/*
 * paravirt/device.c - status handshake, feature negotiation, queues and
 * interrupts common to every device (VIRTIO 1.2 2.1-2.6, 3.1).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "paravirt/device.h"

/* Transport/ring features this library implements. */
#define VDEV_RING_FEATURES                                                                         \
	(VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_INDIRECT_DESC) | VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_EVENT_IDX) | \
	 VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_VERSION_1) |                                                \
	 VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_ACCESS_PLATFORM) |                                          \
	 VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED) | VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_IN_ORDER) |    \
	 VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_RESET) |                                               \
	 VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_NOTIFICATION_DATA))

int vdev_new(struct vstd_virtio_dev **out, const struct vdev_ops *ops, vstd_guestmem *gm,
             unsigned nqueues, uint16_t queue_size, uint64_t features, const vstd_virtio_opts *opts)
{
	struct vstd_virtio_dev *dev;
	uint64_t devmask = VSTD_VIRTIO_BIT(24) - 1; /* device-specific bits 0-23 */
	if (gm == NULL || nqueues == 0 || nqueues > 1024)
		return vstd_err(VSTD_EINVAL, "virtio-%s: invalid guest memory or queue count",
		                ops->name);
	if (opts != NULL && opts->version != VSTD_VIRTIO_OPTS_VERSION)
		return vstd_err(VSTD_EINVAL, "virtio-%s: unknown options version %u", ops->name,
		                opts->version);
	if (opts != NULL && opts->queue_size != 0) {
		if (opts->queue_size > VQ_MAX_SIZE ||
		    (opts->queue_size & (opts->queue_size - 1)) != 0)
			return vstd_err(VSTD_EINVAL,
			                "virtio-%s: queue size %u is not a power of 2 up to 32768",
			                ops->name, opts->queue_size);
		queue_size = opts->queue_size;
	}
	dev = vstd_calloc(1, sizeof(*dev));
	if (dev == NULL)
		return VSTD_ENOMEM;
	dev->vq = vstd_calloc(nqueues, sizeof(*dev->vq));
	if (dev->vq == NULL) {
		vstd_free(dev);
		return VSTD_ENOMEM;
	}
	dev->ops = ops;
	dev->gm = gm;
	dev->nqueues = nqueues;
	if (opts != NULL) {
		features |= opts->features_on & (VDEV_RING_FEATURES | devmask);
		features &= ~opts->features_off;
	}
	dev->host_features = features | VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_VERSION_1);
	dev->config_vector = VSTD_VIRTIO_NO_VECTOR;
	for (unsigned i = 0; i < nqueues; i++) {
		vq_init(&dev->vq[i], i, queue_size);
		vq_reset(&dev->vq[i]);
	}
	pthread_mutex_init(&dev->lock, NULL);
	*out = dev;
	return 0;
}

void vstd_virtio_dev_free(vstd_virtio_dev *dev)
{
	if (dev == NULL)
		return;
	if (dev->ops->free)
		dev->ops->free(dev);
	for (unsigned i = 0; i < dev->nqueues; i++)
		vq_destroy(&dev->vq[i]);
	pthread_mutex_destroy(&dev->lock);
	vstd_free(dev->vq);
	vstd_free(dev);
}

unsigned vstd_virtio_dev_type(const vstd_virtio_dev *dev)
{
	return dev ? dev->ops->type : 0;
}

unsigned vstd_virtio_dev_num_queues(const vstd_virtio_dev *dev)
{
	return dev ? dev->nqueues : 0;
}

uint8_t vstd_virtio_dev_status(const vstd_virtio_dev *dev)
{
	return dev ? __atomic_load_n(&dev->status, __ATOMIC_ACQUIRE) : 0;
}

uint64_t vstd_virtio_dev_features(const vstd_virtio_dev *dev, int which)
{
	if (dev == NULL)
		return 0;
	return which ? dev->guest_features : dev->host_features;
}

const char *vstd_virtio_dev_broken_reason(const vstd_virtio_dev *dev)
{
	if (dev == NULL || !__atomic_load_n(&dev->broken, __ATOMIC_ACQUIRE))
		return NULL;
	return __atomic_load_n(&dev->reason_ready, __ATOMIC_ACQUIRE) ? dev->broken_reason
	                                                             : "device needs reset";
}

unsigned vstd_virtio_isr_pending(const vstd_virtio_dev *dev)
{
	return dev ? __atomic_load_n(&dev->isr, __ATOMIC_ACQUIRE) : 0;
}

int vdev_running(const struct vstd_virtio_dev *dev)
{
	return (__atomic_load_n(&dev->status, __ATOMIC_ACQUIRE) & VSTD_VIRTIO_STATUS_DRIVER_OK) &&
	       !__atomic_load_n(&dev->broken, __ATOMIC_ACQUIRE);
}

void vdev_reset(struct vstd_virtio_dev *dev)
{
	for (unsigned i = 0; i < dev->nqueues; i++) {
		pthread_mutex_lock(&dev->vq[i].lock);
		vq_reset(&dev->vq[i]);
		pthread_mutex_unlock(&dev->vq[i].lock);
	}
	dev->guest_features = 0;
	__atomic_store_n(&dev->status, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&dev->reason_ready, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&dev->broken, 0, __ATOMIC_RELEASE);
	dev->broken_reason[0] = '\0';
	__atomic_store_n(&dev->isr, 0, __ATOMIC_RELEASE);
	dev->config_vector = VSTD_VIRTIO_NO_VECTOR;
	if (dev->ops->reset)
		dev->ops->reset(dev);
}

void vdev_break(struct vstd_virtio_dev *dev)
{
	if (__atomic_exchange_n(&dev->broken, 1, __ATOMIC_ACQ_REL))
		return;
	snprintf(dev->broken_reason, sizeof(dev->broken_reason), "%s", vstd_error_last()->message);
	__atomic_store_n(&dev->reason_ready, 1, __ATOMIC_RELEASE);
	vstd_warn("virtio", "virtio-%s: device needs reset: %s", dev->ops->name,
	          dev->broken_reason);
	__atomic_or_fetch(&dev->status, VSTD_VIRTIO_STATUS_NEEDS_RESET, __ATOMIC_ACQ_REL);
	if ((__atomic_load_n(&dev->status, __ATOMIC_ACQUIRE) & VSTD_VIRTIO_STATUS_DRIVER_OK) &&
	    dev->tr.raise)
		dev->tr.raise(dev->tr.tp, -1);
}

void vdev_config_changed(struct vstd_virtio_dev *dev)
{
	__atomic_add_fetch(&dev->config_generation, 1, __ATOMIC_ACQ_REL);
	if (dev->tr.raise)
		dev->tr.raise(dev->tr.tp, -1);
}

void vdev_queue_interrupt(struct vstd_virtio_dev *dev, unsigned q)
{
	if (dev->tr.raise)
		dev->tr.raise(dev->tr.tp, (int)q);
}

void vdev_isr_raise(struct vstd_virtio_dev *dev, unsigned bits)
{
	__atomic_or_fetch(&dev->isr, bits, __ATOMIC_ACQ_REL);
}

unsigned vdev_isr_read_clear(struct vstd_virtio_dev *dev)
{
	return __atomic_exchange_n(&dev->isr, 0, __ATOMIC_ACQ_REL);
}

void vdev_isr_ack(struct vstd_virtio_dev *dev, unsigned bits)
{
	__atomic_and_fetch(&dev->isr, ~bits, __ATOMIC_ACQ_REL);
}

static int features_ok(struct vstd_virtio_dev *dev)
{
	uint64_t f = dev->guest_features;
	if (f & ~dev->host_features) {
		vstd_warn("virtio",
		          "virtio-%s: driver accepted features 0x%llx that were not offered",
		          dev->ops->name, (unsigned long long)(f & ~dev->host_features));
		return 0;
	}
	if (dev->modern && !(f & VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_VERSION_1))) {
		vstd_warn("virtio", "virtio-%s: modern driver did not accept VIRTIO_F_VERSION_1",
		          dev->ops->name);
		return 0;
	}
	if (dev->ops->features_check && dev->ops->features_check(dev, f) < 0)
		return 0;
	return 1;
}

void vdev_set_status(struct vstd_virtio_dev *dev, uint8_t val)
{
	uint8_t old = dev->status;
	if (val == 0) {
		vdev_reset(dev);
		return;
	}
	/* Bits are only ever added until reset (2.1.1); NEEDS_RESET is ours. */
	val |= old & VSTD_VIRTIO_STATUS_NEEDS_RESET;
	if ((old & ~val) != 0) {
		vstd_warn("virtio",
		          "virtio-%s: driver cleared status bits 0x%x without reset; ignored",
		          dev->ops->name, old & ~val);
		val |= old;
	}
	if ((val & VSTD_VIRTIO_STATUS_FEATURES_OK) && !(old & VSTD_VIRTIO_STATUS_FEATURES_OK)) {
		if (!features_ok(dev))
			val &= (uint8_t)~VSTD_VIRTIO_STATUS_FEATURES_OK;
	}
	if ((val & VSTD_VIRTIO_STATUS_DRIVER_OK) && dev->modern &&
	    !(val & VSTD_VIRTIO_STATUS_FEATURES_OK)) {
		vstd_warn("virtio", "virtio-%s: DRIVER_OK without FEATURES_OK; ignored",
		          dev->ops->name);
		val &= (uint8_t)~VSTD_VIRTIO_STATUS_DRIVER_OK;
	}
	__atomic_store_n(&dev->status, val, __ATOMIC_RELEASE);
	/* An I/O thread may have broken the device meanwhile: keep its bit. */
	if (__atomic_load_n(&dev->broken, __ATOMIC_ACQUIRE))
		__atomic_or_fetch(&dev->status, VSTD_VIRTIO_STATUS_NEEDS_RESET, __ATOMIC_ACQ_REL);
	if ((val & VSTD_VIRTIO_STATUS_DRIVER_OK) && !(old & VSTD_VIRTIO_STATUS_DRIVER_OK) &&
	    dev->ops->driver_ok)
		dev->ops->driver_ok(dev);
}

void vdev_set_guest_features(struct vstd_virtio_dev *dev, unsigned select, uint32_t value)
{
	if (dev->status & VSTD_VIRTIO_STATUS_FEATURES_OK) {
		vstd_warn("virtio", "virtio-%s: feature write after FEATURES_OK ignored",
		          dev->ops->name);
		return;
	}
	if (select == 0)
		dev->guest_features = (dev->guest_features & 0xffffffff00000000ULL) | value;
	else if (select == 1)
		dev->guest_features =
		        (dev->guest_features & 0xffffffffULL) | ((uint64_t)value << 32);
}

uint32_t vdev_get_host_features(struct vstd_virtio_dev *dev, unsigned select)
{
	return select < 2 ? (uint32_t)(dev->host_features >> (32 * select)) : 0;
}

uint32_t vdev_get_guest_features(struct vstd_virtio_dev *dev, unsigned select)
{
	return select < 2 ? (uint32_t)(dev->guest_features >> (32 * select)) : 0;
}

int vdev_queue_enable(struct vstd_virtio_dev *dev, unsigned q)
{
	struct vq_features f;
	int rc;
	if (q >= dev->nqueues)
		return vstd_err(VSTD_ERANGE, "virtio-%s: no queue %u", dev->ops->name, q);
	f.packed = vdev_has(dev, VSTD_VIRTIO_F_RING_PACKED);
	f.event_idx = vdev_has(dev, VSTD_VIRTIO_F_EVENT_IDX);
	f.indirect = vdev_has(dev, VSTD_VIRTIO_F_INDIRECT_DESC);
	pthread_mutex_lock(&dev->vq[q].lock);
	rc = vq_enable(&dev->vq[q], dev->gm, &f);
	pthread_mutex_unlock(&dev->vq[q].lock);
	if (rc < 0) {
		vstd_err_prefix("virtio-%s: enabling queue %u: ", dev->ops->name, q);
		vdev_break(dev);
	}
	return rc;
}

void vdev_queue_reset(struct vstd_virtio_dev *dev, unsigned q)
{
	if (q >= dev->nqueues)
		return;
	pthread_mutex_lock(&dev->vq[q].lock);
	vq_reset(&dev->vq[q]);
	dev->vq[q].reset_flag = 1;
	pthread_mutex_unlock(&dev->vq[q].lock);
}

void vdev_config_read(struct vstd_virtio_dev *dev, unsigned off, void *data, unsigned len)
{
	uint8_t *p = data;
	for (unsigned i = 0; i < len; i++)
		p[i] = off + i < dev->cfg_len ? dev->cfg[off + i] : 0;
}

void vdev_config_write(struct vstd_virtio_dev *dev, unsigned off, const void *data, unsigned len)
{
	if (off >= dev->cfg_len || len > dev->cfg_len - off || dev->ops->config_write == NULL) {
		vstd_debug("virtio", "virtio-%s: config write at 0x%x+%u ignored", dev->ops->name,
		           off, len);
		return;
	}
	dev->ops->config_write(dev, off, data, len);
}

/* Record the driver's notification data for queue vq (queue lock held).
 * The data is a hint (VIRTIO 1.2 2.9): a value that cannot describe the
 * ring as the device knows it is counted and ignored, never trusted. */
static void notif_record(struct vstd_virtio_dev *dev, struct vstd_vq *vq, unsigned queue,
                         uint32_t data)
{
	uint16_t vqn = (uint16_t)data, next = (uint16_t)(data >> 16);
	int plausible;
	vq->notif_count++;
	if (vq->packed)
		plausible = (next & 0x7fff) < vq->num;
	else
		plausible = (uint16_t)(next - vq->last_avail) <= vq->num;
	if (vqn != queue || !plausible) {
		vq->notif_ignored++;
		vstd_debug("virtio", "virtio-%s: queue %u: notification data 0x%08x ignored (%s)",
		           dev->ops->name, queue, data,
		           vqn != queue ? "names another queue" : "position outside the ring");
		return;
	}
	vq->notif_valid = 1;
	vq->notif_next = next;
}

static int notify(vstd_virtio_dev *dev, unsigned queue, int with_data, uint32_t data)
{
	struct vstd_vq *vq;
	int rc;
	if (dev == NULL)
		return vstd_err(VSTD_EINVAL, "virtio: NULL device");
	if (queue >= dev->nqueues)
		return vstd_err(VSTD_ERANGE, "virtio-%s: notify for queue %u, device has %u",
		                dev->ops->name, queue, dev->nqueues);
	if (!vdev_running(dev))
		return vstd_err(VSTD_ESTATE, "virtio-%s: notify while not running (status 0x%x%s)",
		                dev->ops->name, dev->status, dev->broken ? ", needs reset" : "");
	vq = &dev->vq[queue];
	pthread_mutex_lock(&vq->lock);
	if (!vq->enabled) {
		pthread_mutex_unlock(&vq->lock);
		return vstd_err(VSTD_ERANGE, "virtio-%s: notify for queue %u that is not enabled",
		                dev->ops->name, queue);
	}
	if (with_data && vdev_has(dev, VSTD_VIRTIO_F_NOTIFICATION_DATA))
		notif_record(dev, vq, queue, data);
	rc = dev->ops->queue(dev, queue);
	pthread_mutex_unlock(&vq->lock);
	if (rc == VSTD_ECORRUPT || rc == VSTD_ELIMIT)
		vdev_break(dev);
	return rc;
}

int vstd_virtio_notify(vstd_virtio_dev *dev, unsigned queue)
{
	return notify(dev, queue, 0, 0);
}

int vstd_virtio_notify_data(vstd_virtio_dev *dev, unsigned queue, uint32_t data)
{
	return notify(dev, queue, 1, data);
}

int vdev_process(struct vstd_virtio_dev *dev, unsigned q,
                 int (*fn)(struct vstd_virtio_dev *dev, unsigned q, struct vq_chain *c,
                           uint32_t *written))
{
	struct vstd_vq *vq = &dev->vq[q];
	struct vq_chain *c;
	unsigned pushed = 0, budget = 4u * vq->num;
	int rc = 0, more = 0;
	for (;;) {
		while ((rc = vq_pop(vq, &c)) > 0) {
			uint32_t written = 0;
			rc = fn(dev, q, c, &written);
			if (rc < 0)
				break;
			vq_push(vq, c, written);
			pushed++;
			if (--budget == 0)
				break;
		}
		if (rc < 0 || budget == 0) {
			more = budget == 0;
			break;
		}
		if (!vq_arm_notify(vq))
			break;
	}
	if (pushed && vq_should_interrupt(vq))
		vdev_queue_interrupt(dev, q);
	if (rc < 0)
		return rc;
	return more;
}
