/*
 * paravirt/device.h - the transport-independent part of a virtio device:
 * status handshake, feature negotiation, queues, configuration space,
 * interrupts; and the table a device type (dev/ files) fills in.
 */
#ifndef VSTD_PARAVIRT_DEVICE_H
#define VSTD_PARAVIRT_DEVICE_H

#include <pthread.h>

#include "paravirt/virtq/virtq.h"
#include "vstd/virtio.h"

#define VDEV_CFG_MAX 256
#define VDEV_ISR_QUEUE 1
#define VDEV_ISR_CONFIG 2

struct vstd_virtio_dev;

struct vdev_ops {
	const char *name;
	unsigned type;
	/* Process what is available on queue q (queue lock held).  Returns 0 or
	 * a negative code; VSTD_ECORRUPT breaks the device. */
	int (*queue)(struct vstd_virtio_dev *dev, unsigned q);
	/* The driver writes device configuration bytes: store what is writable. */
	void (*config_write)(struct vstd_virtio_dev *dev, unsigned off, const uint8_t *data,
	                     unsigned len);
	/* Device reset: forget per-run state. */
	void (*reset)(struct vstd_virtio_dev *dev);
	/* DRIVER_OK was just set. */
	void (*driver_ok)(struct vstd_virtio_dev *dev);
	/* Check the negotiated features; <0 refuses FEATURES_OK. */
	int (*features_check)(struct vstd_virtio_dev *dev, uint64_t features);
	void (*free)(struct vstd_virtio_dev *dev);
};

/* The transport's side: how to raise an interrupt for a queue (or the
 * configuration, q == -1).  The transport sets the ISR bits when it
 * signals through the INTx line (vdev_isr_raise). */
struct vdev_transport {
	void (*raise)(void *tp, int q);
	void *tp;
};

struct vstd_virtio_dev {
	const struct vdev_ops *ops;
	void *priv;
	vstd_guestmem *gm;
	uint64_t host_features;
	uint64_t guest_features;
	uint8_t status;
	uint8_t config_generation;
	int broken;
	int reason_ready; /* broken_reason is complete (release/acquire) */
	char broken_reason[512];
	unsigned isr; /* atomic */
	uint16_t config_vector;
	unsigned nqueues;
	struct vstd_vq *vq;
	uint8_t cfg[VDEV_CFG_MAX];
	unsigned cfg_len;
	struct vdev_transport tr;
	int modern;           /* the driver speaks VIRTIO 1.x (set by the transport) */
	pthread_mutex_t lock; /* register accesses */
};

/* Create the common part; priv belongs to the device type. */
int vdev_new(struct vstd_virtio_dev **out, const struct vdev_ops *ops, vstd_guestmem *gm,
             unsigned nqueues, uint16_t queue_size, uint64_t features,
             const vstd_virtio_opts *opts);

/* Register-level operations used by the transports (dev->lock held). */
void vdev_reset(struct vstd_virtio_dev *dev);
void vdev_set_status(struct vstd_virtio_dev *dev, uint8_t status);
void vdev_set_guest_features(struct vstd_virtio_dev *dev, unsigned select, uint32_t value);
uint32_t vdev_get_host_features(struct vstd_virtio_dev *dev, unsigned select);
uint32_t vdev_get_guest_features(struct vstd_virtio_dev *dev, unsigned select);
/* Enable queue q with the addresses written so far; breaks the device on error. */
int vdev_queue_enable(struct vstd_virtio_dev *dev, unsigned q);
void vdev_queue_reset(struct vstd_virtio_dev *dev, unsigned q);
void vdev_config_read(struct vstd_virtio_dev *dev, unsigned off, void *data, unsigned len);
void vdev_config_write(struct vstd_virtio_dev *dev, unsigned off, const void *data, unsigned len);
void vdev_isr_raise(struct vstd_virtio_dev *dev, unsigned bits);
unsigned vdev_isr_read_clear(struct vstd_virtio_dev *dev);
void vdev_isr_ack(struct vstd_virtio_dev *dev, unsigned bits);

/* Used by devices. */
static inline int vdev_has(const struct vstd_virtio_dev *dev, unsigned bit)
{
	return (dev->guest_features >> bit) & 1;
}
/* Mark the device NEEDS_RESET with the last error's message. */
void vdev_break(struct vstd_virtio_dev *dev);
/* Interrupt for queue q if the ring's suppression rules allow. */
void vdev_queue_interrupt(struct vstd_virtio_dev *dev, unsigned q);
/* The device changed its configuration space (bumps the generation). */
void vdev_config_changed(struct vstd_virtio_dev *dev);
/* 1 when the device is running (DRIVER_OK, not broken). */
int vdev_running(const struct vstd_virtio_dev *dev);

/* A standard loop: pop every chain of queue q and hand it to `fn`, which
 * returns the number of bytes it wrote into the chain (or <0 to break the
 * device).  Handles event-index re-arming and interrupts. */
int vdev_process(struct vstd_virtio_dev *dev, unsigned q,
                 int (*fn)(struct vstd_virtio_dev *dev, unsigned q, struct vq_chain *c,
                           uint32_t *written));

#endif
