/*
 * paravirt/virtq/packed.c - the packed virtqueue, device side (VIRTIO 1.2 2.8).
 *
 * One ring of 16-byte descriptors (addr le64, len le32, id le16, flags
 * le16).  A descriptor is available when its AVAIL flag equals the
 * device's avail wrap counter and its USED flag differs from it.  A chain
 * is consecutive descriptors linked by NEXT; the buffer id is in the last.
 * The device writes one used descriptor per chain at its used position and
 * moves that position by the number of descriptors the chain occupied.
 * Driver area: driver event suppression (off_wrap le16, flags le16), read
 * by the device; device area: device event suppression, written by it.
 */
#include <string.h>

#include "core/bytes.h"
#include "core/error_internal.h"
#include "paravirt/virtq/virtq.h"

int vq_packed_enable(struct vstd_vq *vq)
{
	int rc;
	/* The device writes used descriptors into the ring: it must be writable. */
	if ((rc = vq_map_area(vq, vq->desc_gpa, 16 * (uint64_t)vq->num, 16, 1, "descriptor ring",
	                      &vq->desc)) < 0 ||
	    (rc = vq_map_area(vq, vq->driver_gpa, 4, 4, 0, "driver event suppression",
	                      &vq->driver)) < 0 ||
	    (rc = vq_map_area(vq, vq->device_gpa, 4, 4, 1, "device event suppression",
	                      &vq->device)) < 0)
		return rc;
	vq_store16(vq->device, 0);
	vq_store16(vq->device + 2, VQ_EVENT_F_ENABLE);
	return 0;
}

static int desc_avail(const struct vstd_vq *vq, uint16_t flags, int wrap)
{
	int a = (flags & VQ_PACKED_F_AVAIL) != 0, u = (flags & VQ_PACKED_F_USED) != 0;
	(void)vq;
	return a == wrap && u != wrap;
}

int vq_packed_pop(struct vstd_vq *vq, struct vq_chain *c)
{
	uint16_t pos = vq->next_avail, fl;
	int wrap = vq->avail_wrap, rc;
	uint32_t count = 0;
	uint8_t d[16];

	fl = vq_load16(vq->desc + 16 * (size_t)pos + 14);
	if (!desc_avail(vq, fl, wrap))
		return 0;
	/* The rest of the descriptor is read after its flags (2.8.21.1). */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	for (;;) {
		uint64_t addr;
		uint32_t len;
		if (++count > vq->num)
			return vstd_err(VSTD_ECORRUPT,
			                "virtq %u: chain from descriptor %u is longer than the "
			                "queue size %u",
			                vq->index, vq->next_avail, vq->num);
		memcpy(d, vq->desc + 16 * (size_t)pos, 16); /* the one fetch */
		fl = vstd_le16(d + 14);
		if (!desc_avail(vq, fl, wrap))
			return vstd_err(VSTD_ECORRUPT,
			                "virtq %u: descriptor %u continues a chain but is not "
			                "marked available",
			                vq->index, pos);
		addr = vstd_le64(d);
		len = vstd_le32(d + 8);
		if (fl & VQ_DESC_F_INDIRECT) {
			if (fl & VQ_DESC_F_NEXT)
				return vstd_err(
				        VSTD_ECORRUPT,
				        "virtq %u: descriptor %u has both INDIRECT and NEXT set",
				        vq->index, pos);
			rc = vq_chain_indirect(vq, c, addr, len, pos);
		} else {
			rc = vq_chain_add(vq, c, addr, len, (fl & VQ_DESC_F_WRITE) != 0, pos);
		}
		if (rc < 0)
			return rc;
		if (++pos >= vq->num) {
			pos = 0;
			wrap ^= 1;
		}
		if (!(fl & VQ_DESC_F_NEXT) || (fl & VQ_DESC_F_INDIRECT))
			break;
	}
	c->head = vstd_le16(d + 12); /* buffer id of the last descriptor */
	c->ndesc = (uint16_t)count;
	vq->next_avail = pos;
	vq->avail_wrap = wrap;
	return 1;
}

void vq_packed_push(struct vstd_vq *vq, const struct vq_chain *c, uint32_t written)
{
	uint8_t *d = vq->desc + 16 * (size_t)vq->next_used;
	uint16_t fl = 0;
	if (vq->used_wrap)
		fl = VQ_PACKED_F_AVAIL | VQ_PACKED_F_USED;
	if (written)
		fl |= VQ_DESC_F_WRITE;
	vq_store32(d + 8, written);
	vq_store16(d + 12, c->head);
	/* id and len are visible before the flags that hand the slot back. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vq_store16(d + 14, fl);
	vq->next_used = (uint16_t)(vq->next_used + c->ndesc);
	if (vq->next_used >= vq->num) {
		vq->next_used = (uint16_t)(vq->next_used - vq->num);
		vq->used_wrap ^= 1;
	}
}

/* Position and wrap counter as one index modulo 2*num (wrap 1 on even passes). */
static uint32_t lin(const struct vstd_vq *vq, uint32_t pos, int wrap)
{
	return pos + (wrap ? 0u : vq->num);
}

int vq_packed_should_interrupt(struct vstd_vq *vq)
{
	uint16_t off_wrap, flags;
	uint32_t old, new_idx, ev, m = 2u * vq->num;
	int valid;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	off_wrap = vq_load16(vq->driver);
	flags = vq_load16(vq->driver + 2);
	old = lin(vq, vq->signalled_used, vq->signalled_wrap);
	valid = vq->signalled_valid;
	vq->signalled_used = vq->next_used;
	vq->signalled_wrap = vq->used_wrap;
	vq->signalled_valid = 1;
	new_idx = lin(vq, vq->next_used, vq->used_wrap);
	if (flags == VQ_EVENT_F_DISABLE)
		return 0;
	if (flags != VQ_EVENT_F_DESC || !vq->event_idx || !valid)
		return 1; /* ENABLE, or a value we do not know: rather interrupt */
	if ((off_wrap & 0x7fff) >= vq->num)
		return 1;
	ev = lin(vq, off_wrap & 0x7fff, off_wrap >> 15);
	/* The driver asked for an interrupt when the used slot `ev` is written:
	 * was it among the slots [old, new) of this batch? */
	return (ev + m - old) % m < (new_idx + m - old) % m;
}

int vq_packed_arm_notify(struct vstd_vq *vq)
{
	uint16_t fl;
	if (vq->event_idx) {
		vq_store16(vq->device, (uint16_t)(vq->next_avail | (vq->avail_wrap ? 0x8000 : 0)));
		__atomic_thread_fence(__ATOMIC_RELEASE);
		vq_store16(vq->device + 2, VQ_EVENT_F_DESC);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	fl = vq_load16(vq->desc + 16 * (size_t)vq->next_avail + 14);
	return desc_avail(vq, fl, vq->avail_wrap);
}
