/*
 * paravirt/virtq/virtq.h - the device side of a virtqueue (split or packed).
 *
 * A device pops a descriptor chain with vq_pop(): the descriptors are
 * copied out of guest memory exactly once, validated against every
 * device-side rule of VIRTIO 1.2 (2.7, 2.8), translated into host iovecs
 * (each inside guest memory) and only then handed to the device, which
 * reads and writes the buffers through the vq_chain helpers and returns the
 * chain with vq_push().  A rule broken by the driver makes vq_pop() return
 * VSTD_ECORRUPT with a message naming the queue, descriptor and rule; the
 * caller then marks the device NEEDS_RESET.
 */
#ifndef VSTD_PARAVIRT_VIRTQ_H
#define VSTD_PARAVIRT_VIRTQ_H

#include <endian.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "paravirt/guestmem_internal.h"

/* Descriptor flags (split and packed) and packed-ring bits. */
#define VQ_DESC_F_NEXT 1
#define VQ_DESC_F_WRITE 2
#define VQ_DESC_F_INDIRECT 4
#define VQ_PACKED_F_AVAIL (1u << 7)
#define VQ_PACKED_F_USED (1u << 15)
#define VQ_AVAIL_F_NO_INTERRUPT 1
#define VQ_USED_F_NO_NOTIFY 1
#define VQ_EVENT_F_ENABLE 0
#define VQ_EVENT_F_DISABLE 1
#define VQ_EVENT_F_DESC 2

#define VQ_MAX_SIZE 32768

struct vq_iov {
	uint8_t *base;
	size_t len;
};

struct vq_chain {
	uint16_t head;   /* split: head index; packed: buffer id */
	uint16_t ndesc;  /* ring descriptors the chain used (packed) */
	uint32_t ndescs; /* descriptors in total, indirect included */
	uint32_t nout;   /* iov[0..nout) device-readable */
	uint32_t nin;    /* iov[nout..nout+nin) device-writable */
	uint64_t out_len, in_len;
	struct vq_iov *iov;
	uint32_t cap;
};

struct vstd_vq {
	/* configured by the driver through the transport */
	uint16_t num_max;
	uint16_t num;
	uint16_t msix_vector;
	int enabled;    /* queue_enable / QueueReady written 1 and checked */
	int reset_flag; /* queue_reset reads 1: reset by the driver, not re-enabled */
	uint64_t desc_gpa, driver_gpa, device_gpa;
	/* fixed when enabled */
	int packed, event_idx, indirect;
	const vstd_guestmem *gm;
	uint8_t *desc, *driver, *device; /* host pointers to the rings */
	uint8_t *scratch;                /* indirect table copy, num*16 bytes */
	struct vq_chain chain;
	/* split state */
	uint16_t last_avail, used_idx;
	/* packed state */
	uint16_t next_avail, next_used;
	int avail_wrap, used_wrap;
	/* interrupt suppression bookkeeping */
	uint16_t signalled_used;
	int signalled_valid;
	int signalled_wrap;
	/* VIRTIO_F_NOTIFICATION_DATA: the position the driver named in its
	 * last notification (split: the 16-bit available index; packed:
	 * offset | wrap << 15), how many it sent, how many were ignored as
	 * implausible (a hint only: the ring in memory stays authoritative). */
	int notif_valid;
	uint16_t notif_next;
	unsigned long notif_count, notif_ignored;
	unsigned index;
	pthread_mutex_t lock;
};

/* Negotiated features relevant to rings. */
struct vq_features {
	int packed, event_idx, indirect;
};

void vq_init(struct vstd_vq *vq, unsigned index, uint16_t num_max);
void vq_destroy(struct vstd_vq *vq);
/* Back to the state after device reset (addresses, size, enabled cleared). */
void vq_reset(struct vstd_vq *vq);
/* Check the configured areas and map them; VSTD_ECORRUPT/VSTD_EINVAL if bad. */
int vq_enable(struct vstd_vq *vq, const vstd_guestmem *gm, const struct vq_features *f);

/* 1: a chain in *c; 0: nothing available; <0: the driver broke a rule. */
int vq_pop(struct vstd_vq *vq, struct vq_chain **c);
/* Return the chain with `written` bytes written into its writable part. */
void vq_push(struct vstd_vq *vq, const struct vq_chain *c, uint32_t written);
/* After a batch: 1 when the driver wants an interrupt now. */
int vq_should_interrupt(struct vstd_vq *vq);
/* Tell the driver where the device will look next (EVENT_IDX) and return 1
 * when more buffers arrived meanwhile (process again). */
int vq_arm_notify(struct vstd_vq *vq);

/* split.c / packed.c */
int vq_split_enable(struct vstd_vq *vq);
int vq_split_pop(struct vstd_vq *vq, struct vq_chain *c);
void vq_split_push(struct vstd_vq *vq, const struct vq_chain *c, uint32_t written);
int vq_split_should_interrupt(struct vstd_vq *vq);
int vq_split_arm_notify(struct vstd_vq *vq);
int vq_packed_enable(struct vstd_vq *vq);
int vq_packed_pop(struct vstd_vq *vq, struct vq_chain *c);
void vq_packed_push(struct vstd_vq *vq, const struct vq_chain *c, uint32_t written);
int vq_packed_should_interrupt(struct vstd_vq *vq);
int vq_packed_arm_notify(struct vstd_vq *vq);

/* area.c: map `len` bytes of guest memory at gpa (aligned to `align`, in
 * one region, writable if asked) for ring area `what`; VSTD_ECORRUPT names
 * the queue and area otherwise. */
int vq_map_area(struct vstd_vq *vq, uint64_t gpa, uint64_t len, unsigned align, int writable,
                const char *what, uint8_t **out);

/* chain.c: building a chain from copied descriptors. */
void vq_chain_start(struct vq_chain *c);
/* Add one (copied) descriptor; checks order, memory and limits. */
int vq_chain_add(struct vstd_vq *vq, struct vq_chain *c, uint64_t addr, uint32_t len, int writable,
                 uint32_t pos);
/* Copy and walk an indirect table (split or packed layout). */
int vq_chain_indirect(struct vstd_vq *vq, struct vq_chain *c, uint64_t addr, uint32_t len,
                      uint32_t pos);

/* Copying out of / into a chain's buffers. */
size_t vq_chain_read(const struct vq_chain *c, uint64_t off, void *buf, size_t len);
size_t vq_chain_write(const struct vq_chain *c, uint64_t off, const void *buf, size_t len);

/* Guest-shared 16-bit loads/stores with the ordering the spec asks for. */
static inline uint16_t vq_load16(const uint8_t *p)
{
	uint16_t v = __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_RELAXED);
	return (uint16_t)le16toh(v);
}
static inline void vq_store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, htole16(v), __ATOMIC_RELAXED);
}
static inline void vq_store32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)(void *)p, htole32(v), __ATOMIC_RELAXED);
}
static inline int vq_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

#endif
