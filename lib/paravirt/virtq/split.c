/*
 * paravirt/virtq/split.c - the split virtqueue, device side (VIRTIO 1.2 2.7).
 *
 * Layout: descriptor table (16 bytes per entry: addr le64, len le32,
 * flags le16, next le16), driver area = available ring (flags, idx,
 * ring[num], used_event), device area = used ring (flags, idx,
 * ring[num] of {id le32, len le32}, avail_event).
 *
 * Each available-ring slot and each descriptor is read exactly once.
 */
#include <string.h>

#include "core/bytes.h"
#include "core/error_internal.h"
#include "paravirt/virtq/virtq.h"

int vq_split_enable(struct vstd_vq *vq)
{
	int rc;
	uint64_t n = vq->num;
	if ((rc = vq_map_area(vq, vq->desc_gpa, 16 * n, 16, 0, "descriptor table", &vq->desc)) <
	            0 ||
	    (rc = vq_map_area(vq, vq->driver_gpa, 6 + 2 * n, 2, 0, "available ring", &vq->driver)) <
	            0 ||
	    (rc = vq_map_area(vq, vq->device_gpa, 6 + 8 * n, 4, 1, "used ring", &vq->device)) < 0)
		return rc;
	return 0;
}

int vq_split_pop(struct vstd_vq *vq, struct vq_chain *c)
{
	uint16_t avail_idx, head, i;
	uint32_t count = 0;
	int rc;

	avail_idx = vq_load16(vq->driver + 2);
	if (avail_idx == vq->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->num)
		return vstd_err(VSTD_ECORRUPT,
		                "virtq %u: available index moved from %u to %u, more than the "
		                "queue size %u",
		                vq->index, vq->last_avail, avail_idx, vq->num);
	/* The ring entries are read after the index (2.7.13.3). */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	head = vq_load16(vq->driver + 4 + 2 * (vq->last_avail % vq->num));
	if (head >= vq->num)
		return vstd_err(
		        VSTD_ECORRUPT,
		        "virtq %u: available ring slot %u names head descriptor %u, not below "
		        "the queue size %u",
		        vq->index, vq->last_avail % vq->num, head, vq->num);
	c->head = head;
	i = head;
	for (;;) {
		uint8_t d[16];
		uint16_t fl;
		uint64_t addr;
		uint32_t len;
		if (++count > vq->num)
			return vstd_err(VSTD_ECORRUPT,
			                "virtq %u: chain from head %u is longer than the queue "
			                "size %u (a loop)",
			                vq->index, head, vq->num);
		memcpy(d, vq->desc + 16 * (size_t)i, 16); /* the one fetch */
		addr = vstd_le64(d);
		len = vstd_le32(d + 8);
		fl = vstd_le16(d + 12);
		if (fl & VQ_DESC_F_INDIRECT) {
			if (fl & VQ_DESC_F_NEXT)
				return vstd_err(
				        VSTD_ECORRUPT,
				        "virtq %u: descriptor %u has both INDIRECT and NEXT set",
				        vq->index, i);
			rc = vq_chain_indirect(vq, c, addr, len, i);
			if (rc < 0)
				return rc;
			break;
		}
		rc = vq_chain_add(vq, c, addr, len, (fl & VQ_DESC_F_WRITE) != 0, i);
		if (rc < 0)
			return rc;
		if (!(fl & VQ_DESC_F_NEXT))
			break;
		if (vstd_le16(d + 14) >= vq->num)
			return vstd_err(VSTD_ECORRUPT,
			                "virtq %u: descriptor %u names next descriptor %u, not "
			                "below the queue "
			                "size %u",
			                vq->index, i, vstd_le16(d + 14), vq->num);
		i = vstd_le16(d + 14);
	}
	c->ndesc = 1;
	vq->last_avail++;
	return 1;
}

void vq_split_push(struct vstd_vq *vq, const struct vq_chain *c, uint32_t written)
{
	uint8_t *e = vq->device + 4 + 8 * (size_t)(vq->used_idx % vq->num);
	vq_store32(e, c->head);
	vq_store32(e + 4, written);
	vq->used_idx++;
	/* The element is visible before the index that publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vq_store16(vq->device + 2, vq->used_idx);
}

int vq_split_should_interrupt(struct vstd_vq *vq)
{
	uint16_t old, new_idx, event;
	int valid;
	/* Our used-index store must be visible before we read the driver's
	 * suppression fields (2.7.7, 2.7.10). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(vq_load16(vq->driver) & VQ_AVAIL_F_NO_INTERRUPT);
	old = vq->signalled_used;
	valid = vq->signalled_valid;
	new_idx = vq->signalled_used = vq->used_idx;
	vq->signalled_valid = 1;
	event = vq_load16(vq->driver + 4 + 2 * (size_t)vq->num);
	return !valid || vq_need_event(event, new_idx, old);
}

int vq_split_arm_notify(struct vstd_vq *vq)
{
	if (vq->event_idx)
		vq_store16(vq->device + 4 + 8 * (size_t)vq->num, vq->last_avail);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return vq_load16(vq->driver + 2) != vq->last_avail;
}
