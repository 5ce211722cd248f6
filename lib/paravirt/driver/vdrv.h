/*
 * paravirt/driver/vdrv.h - the DRIVER side of virtio 1.2, written from the
 * specification apart from the device code (nothing here includes or
 * reuses lib/paravirt device files), so that the two sides check each
 * other.  Used by the tests, the self-test, the benchmark and the future
 * conformance guest, so it stays freestanding-friendly: it needs only
 * <stdint.h>, <stddef.h> and memcpy/memset.
 *
 * The driver reaches the device through a bus (register reads/writes in
 * the mmio window, or PCI configuration space and BARs) and gets ring
 * memory from a `vdrv_mem` allocator that also gives the guest-physical
 * address of what it allocates.
 */
#ifndef VSTD_PARAVIRT_VDRV_H
#define VSTD_PARAVIRT_VDRV_H

#include <stddef.h>
#include <stdint.h>

/* Spaces of the bus: the mmio window, PCI configuration space, PCI BAR n. */
#define VDRV_SPACE_MMIO 100
#define VDRV_SPACE_PCICFG 101
#define VDRV_SPACE_BAR(n) (n)

struct vdrv_bus {
	uint64_t (*read)(void *ctx, int space, uint64_t off, unsigned size);
	void (*write)(void *ctx, int space, uint64_t off, uint64_t val, unsigned size);
	void *ctx;
};

struct vdrv_mem {
	/* Zeroed memory of `size` bytes aligned to `align` in guest memory. */
	void *(*alloc)(void *ctx, size_t size, size_t align, uint64_t *gpa);
	void *ctx;
};

/* Status, feature bits (the driver's own copies of the spec's numbers). */
#define VDRV_S_ACKNOWLEDGE 1
#define VDRV_S_DRIVER 2
#define VDRV_S_DRIVER_OK 4
#define VDRV_S_FEATURES_OK 8
#define VDRV_S_NEEDS_RESET 0x40
#define VDRV_S_FAILED 0x80
#define VDRV_F_INDIRECT_DESC 28
#define VDRV_F_EVENT_IDX 29
#define VDRV_F_VERSION_1 32
#define VDRV_F_RING_PACKED 34
#define VDRV_F_IN_ORDER 35
#define VDRV_F_NOTIFICATION_DATA 38
#define VDRV_F_RING_RESET 40

enum vdrv_kind { VDRV_MMIO = 1, VDRV_PCI = 2 };

struct vdrv_dev {
	enum vdrv_kind kind;
	struct vdrv_bus bus;
	uint32_t device_id;
	/* PCI: where the capabilities point */
	int common_bar, notify_bar, isr_bar, device_bar;
	uint32_t common_off, notify_off, isr_off, device_off, notify_mult;
	unsigned pcicfg_cap; /* offset of the PCI configuration access capability */
	unsigned msix_cap;   /* offset of the MSI-X capability, 0 if none */
	uint64_t features;   /* negotiated */
};

/* Probe the transport: magic/version (mmio) or capability walk (pci).
 * 0 or -1 (with nothing usable). */
int vdrv_probe(struct vdrv_dev *d, enum vdrv_kind kind, const struct vdrv_bus *bus);
void vdrv_reset(struct vdrv_dev *d);
uint8_t vdrv_status(struct vdrv_dev *d);
void vdrv_set_status(struct vdrv_dev *d, uint8_t s);
uint64_t vdrv_device_features(struct vdrv_dev *d);
/* Reset, ACKNOWLEDGE, DRIVER, write `want` & offered, FEATURES_OK and check
 * it stuck.  0 or -1. */
int vdrv_negotiate(struct vdrv_dev *d, uint64_t want);
uint16_t vdrv_queue_max(struct vdrv_dev *d, unsigned q);
/* Program queue q's size and areas and enable it (vector: MSI-X vector or 0xffff). */
int vdrv_queue_setup(struct vdrv_dev *d, unsigned q, uint16_t num, uint64_t desc, uint64_t drv,
                     uint64_t dev, uint16_t vector);
void vdrv_queue_reset(struct vdrv_dev *d, unsigned q);
int vdrv_queue_reset_state(struct vdrv_dev *d, unsigned q);
void vdrv_notify(struct vdrv_dev *d, unsigned q);
/* A notification carrying VIRTIO_F_NOTIFICATION_DATA: the 32-bit value
 * {vqn:16, next_off:15, next_wrap:1} (mmio QueueNotify, pci notify register). */
void vdrv_notify_data(struct vdrv_dev *d, unsigned q, uint32_t data);
/* Read the interrupt status (acknowledging it). */
uint32_t vdrv_isr(struct vdrv_dev *d);
uint8_t vdrv_config_generation(struct vdrv_dev *d);
uint64_t vdrv_config_read(struct vdrv_dev *d, unsigned off, unsigned size);
void vdrv_config_write(struct vdrv_dev *d, unsigned off, uint64_t val, unsigned size);
/* PCI only: enable MSI-X and set entry `v`; read a common-config register
 * through the PCI configuration access capability. */
void vdrv_msix_enable(struct vdrv_dev *d, int enable);
/* PCI: MSI-X vector for configuration changes; returns what the device kept. */
uint16_t vdrv_config_vector(struct vdrv_dev *d, uint16_t v);
uint32_t vdrv_pcicfg_read(struct vdrv_dev *d, int bar, uint32_t off, unsigned size);

/* ------------------------------------------------------------ rings */

struct vdrv_sg {
	uint64_t gpa;
	uint32_t len;
};

#define VDRV_INDIRECT_MAX 32

struct vdrv_vq {
	struct vdrv_dev *dev;
	unsigned index;
	uint16_t num;
	int packed, event_idx, use_indirect;
	/* split */
	uint8_t *desc, *avail, *used;
	uint16_t free_head, num_free, avail_idx, last_used;
	/* packed */
	uint8_t *pdriver, *pdevice; /* event suppression areas */
	uint16_t next_avail, used_pos;
	int avail_wrap, used_wrap;
	uint16_t *free_ids; /* stack of free buffer ids (packed) */
	uint16_t nfree_ids;
	/* per head / id bookkeeping */
	void **token;
	uint16_t *chain_len; /* descriptors occupied in the ring */
	uint16_t *next;      /* split: shadow of next links */
	uint8_t *indirect;   /* num tables of VDRV_INDIRECT_MAX entries */
	uint64_t indirect_gpa;
	uint64_t desc_gpa, driver_gpa, device_gpa;
	uint16_t kicked_avail; /* split: avail idx at last kick decision */
	uint16_t kicked_pos;   /* packed */
	int kicked_wrap;
};

/* Allocate and zero the rings for queue q (num entries) and tell the device. */
int vdrv_vq_init(struct vdrv_vq *vq, struct vdrv_dev *d, const struct vdrv_mem *mem, unsigned q,
                 uint16_t num, uint16_t vector);
/* Add a buffer: out[0..nout) device-readable then in[0..nin) device-writable.
 * Uses an indirect table when use_indirect and more than one element.
 * 0, or -1 when the ring is full. */
int vdrv_vq_add(struct vdrv_vq *vq, const struct vdrv_sg *out, unsigned nout,
                const struct vdrv_sg *in, unsigned nin, void *token);
/* The notification data for this queue's current position (2.9). */
uint32_t vdrv_vq_notify_data(const struct vdrv_vq *vq);
/* Does the device want a notification for what was added since the last call? */
int vdrv_vq_kick_prepare(struct vdrv_vq *vq);
/* Add ... then kick if needed; returns 1 when notified. */
int vdrv_vq_kick(struct vdrv_vq *vq);
/* The next used buffer's token (and written length), or NULL. */
void *vdrv_vq_get(struct vdrv_vq *vq, uint32_t *len);
/* Ask for an interrupt after the next used buffer (event idx) or always. */
void vdrv_vq_enable_cb(struct vdrv_vq *vq);
void vdrv_vq_disable_cb(struct vdrv_vq *vq);
unsigned vdrv_vq_free(const struct vdrv_vq *vq);

#endif
