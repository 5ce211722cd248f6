/*
 * paravirt/virtq/chain.c - turning copied descriptors into a checked chain,
 * and the common entry points that dispatch to the split or packed layout.
 *
 * Rules enforced here (VIRTIO 1.2 2.7.4.2, 2.7.5.3, 2.8.x): a chain holds
 * at most queue-size descriptors, indirect ones included; device-readable
 * descriptors come before device-writable ones; an indirect table is
 * nonzero, a multiple of 16 bytes long, inside guest memory and holds no
 * further indirect descriptor; every buffer lies inside guest memory
 * (writable memory for device-writable buffers).
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "paravirt/virtq/virtq.h"

void vq_init(struct vstd_vq *vq, unsigned index, uint16_t num_max)
{
	memset(vq, 0, sizeof(*vq));
	vq->index = index;
	vq->num_max = num_max;
	vq->num = num_max;
	vq->msix_vector = 0xffff;
	pthread_mutex_init(&vq->lock, NULL);
}

static void vq_release(struct vstd_vq *vq)
{
	vstd_free(vq->scratch);
	vstd_free(vq->chain.iov);
	vq->scratch = NULL;
	vq->chain.iov = NULL;
	vq->chain.cap = 0;
}

void vq_destroy(struct vstd_vq *vq)
{
	vq_release(vq);
	pthread_mutex_destroy(&vq->lock);
}

void vq_reset(struct vstd_vq *vq)
{
	vq_release(vq);
	vq->num = vq->num_max;
	vq->msix_vector = 0xffff;
	vq->enabled = 0;
	vq->reset_flag = 0;
	vq->desc_gpa = vq->driver_gpa = vq->device_gpa = 0;
	vq->desc = vq->driver = vq->device = NULL;
	vq->last_avail = vq->used_idx = 0;
	vq->next_avail = vq->next_used = 0;
	vq->avail_wrap = vq->used_wrap = 1;
	vq->signalled_used = 0;
	vq->signalled_valid = 0;
	vq->signalled_wrap = 1;
	vq->notif_valid = 0;
	vq->notif_next = 0;
	vq->notif_count = vq->notif_ignored = 0;
}

int vq_enable(struct vstd_vq *vq, const vstd_guestmem *gm, const struct vq_features *f)
{
	int rc;
	if (vq->num == 0 || vq->num > vq->num_max || vq->num > VQ_MAX_SIZE ||
	    (!f->packed && !vstd_is_pow2(vq->num)))
		return vstd_err(VSTD_ECORRUPT,
		                "virtq %u: queue size %u is not allowed (maximum %u%s)", vq->index,
		                vq->num, vq->num_max, f->packed ? "" : ", power of 2");
	vq_release(vq);
	vq->gm = gm;
	vq->packed = f->packed;
	vq->event_idx = f->event_idx;
	vq->indirect = f->indirect;
	vq->last_avail = vq->used_idx = 0;
	vq->next_avail = vq->next_used = 0;
	vq->avail_wrap = vq->used_wrap = 1;
	vq->signalled_valid = 0;
	vq->signalled_used = 0;
	vq->signalled_wrap = 1;
	vq->scratch = vstd_malloc((size_t)vq->num * 16);
	/* Pieces: each descriptor may split at region edges. */
	vq->chain.cap = (uint32_t)vq->num * 2 + 2 * VSTD_GUESTMEM_MAX_REGIONS;
	vq->chain.iov = vstd_malloc_array(vq->chain.cap, sizeof(struct vq_iov));
	if (vq->scratch == NULL || vq->chain.iov == NULL) {
		vq_release(vq);
		return VSTD_ENOMEM;
	}
	rc = vq->packed ? vq_packed_enable(vq) : vq_split_enable(vq);
	if (rc < 0) {
		vq_release(vq);
		return rc;
	}
	vq->enabled = 1;
	vq->reset_flag = 0;
	return 0;
}

int vq_pop(struct vstd_vq *vq, struct vq_chain **c)
{
	int rc;
	vq_chain_start(&vq->chain);
	rc = vq->packed ? vq_packed_pop(vq, &vq->chain) : vq_split_pop(vq, &vq->chain);
	if (rc > 0)
		*c = &vq->chain;
	return rc;
}

void vq_push(struct vstd_vq *vq, const struct vq_chain *c, uint32_t written)
{
	if (written > c->in_len)
		written = (uint32_t)c->in_len;
	if (vq->packed)
		vq_packed_push(vq, c, written);
	else
		vq_split_push(vq, c, written);
}

int vq_should_interrupt(struct vstd_vq *vq)
{
	return vq->packed ? vq_packed_should_interrupt(vq) : vq_split_should_interrupt(vq);
}

int vq_arm_notify(struct vstd_vq *vq)
{
	return vq->packed ? vq_packed_arm_notify(vq) : vq_split_arm_notify(vq);
}

void vq_chain_start(struct vq_chain *c)
{
	c->head = 0;
	c->ndesc = 0;
	c->ndescs = 0;
	c->nout = c->nin = 0;
	c->out_len = c->in_len = 0;
}

int vq_chain_add(struct vstd_vq *vq, struct vq_chain *c, uint64_t addr, uint32_t len, int writable,
                 uint32_t pos)
{
	uint64_t end;
	if (++c->ndescs > vq->num)
		return vstd_err(VSTD_ECORRUPT,
		                "virtq %u: chain at descriptor %u is longer than the queue size %u "
		                "(a loop, or too many descriptors)",
		                vq->index, pos, vq->num);
	if (!writable && c->nin > 0)
		return vstd_err(VSTD_ECORRUPT,
		                "virtq %u: descriptor %u is device-readable but follows a "
		                "device-writable one",
		                vq->index, pos);
	if (vstd_add_overflow_u64(addr, len, &end))
		return vstd_err(VSTD_ECORRUPT,
		                "virtq %u: descriptor %u buffer 0x%" PRIx64 "+0x%x wraps",
		                vq->index, pos, addr, len);
	while (len > 0) {
		const struct vstd_gm_region *r = vstd_gm_find(vq->gm, addr);
		uint64_t n;
		struct vq_iov *io;
		if (r == NULL)
			return vstd_err(VSTD_ECORRUPT,
			                "virtq %u: descriptor %u buffer byte at 0x%" PRIx64
			                " is outside guest memory",
			                vq->index, pos, addr);
		if (writable && r->readonly)
			return vstd_err(VSTD_ECORRUPT,
			                "virtq %u: descriptor %u is device-writable but 0x%" PRIx64
			                " is read-only memory",
			                vq->index, pos, addr);
		if (c->nout + c->nin >= c->cap)
			return vstd_err(VSTD_ELIMIT,
			                "virtq %u: descriptor %u: chain has too many pieces",
			                vq->index, pos);
		n = r->size - (addr - r->gpa);
		if (n > len)
			n = len;
		io = &c->iov[c->nout + c->nin];
		io->base = r->host + (addr - r->gpa);
		io->len = (size_t)n;
		if (writable) {
			c->nin++;
			c->in_len += n;
		} else {
			c->nout++;
			c->out_len += n;
		}
		addr += n;
		len -= (uint32_t)n;
	}
	return 0;
}

int vq_chain_indirect(struct vstd_vq *vq, struct vq_chain *c, uint64_t addr, uint32_t len,
                      uint32_t pos)
{
	uint32_t n, i, count;
	int rc;
	if (!vq->indirect)
		return vstd_err(VSTD_ECORRUPT,
		                "virtq %u: descriptor %u is indirect but VIRTIO_F_INDIRECT_DESC "
		                "was not negotiated",
		                vq->index, pos);
	if (len == 0 || len % 16 != 0)
		return vstd_err(VSTD_ECORRUPT,
		                "virtq %u: descriptor %u indirect table length %u is not a nonzero "
		                "multiple of 16",
		                vq->index, pos, len);
	n = len / 16;
	if (n > vq->num || c->ndescs + n > vq->num)
		return vstd_err(VSTD_ECORRUPT,
		                "virtq %u: descriptor %u indirect table of %u entries makes the "
		                "chain longer "
		                "than the queue size %u",
		                vq->index, pos, n, vq->num);
	/* Copy the whole table once; only the copy is looked at afterwards. */
	if (vstd_gm_check(vq->gm, addr, len, 0) < 0)
		return vstd_err(VSTD_ECORRUPT,
		                "virtq %u: descriptor %u indirect table 0x%" PRIx64
		                "+0x%x is outside guest memory",
		                vq->index, pos, addr, len);
	rc = vstd_guestmem_read(vq->gm, addr, vq->scratch, len);
	if (rc < 0)
		return rc;
	if (vq->packed) {
		for (i = 0; i < n; i++) {
			const uint8_t *d = vq->scratch + 16 * i;
			uint16_t fl = vstd_le16(d + 14);
			if (fl & VQ_DESC_F_INDIRECT)
				return vstd_err(VSTD_ECORRUPT,
				                "virtq %u: indirect table of descriptor %u: entry "
				                "%u is itself "
				                "indirect (nested tables are not allowed)",
				                vq->index, pos, i);
			rc = vq_chain_add(vq, c, vstd_le64(d), vstd_le32(d + 8),
			                  (fl & VQ_DESC_F_WRITE) != 0, pos);
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	/* Split layout: follow next links inside the table, starting at 0. */
	i = 0;
	for (count = 0;; count++) {
		const uint8_t *d = vq->scratch + 16 * i;
		uint16_t fl = vstd_le16(d + 12);
		if (count >= n)
			return vstd_err(VSTD_ECORRUPT,
			                "virtq %u: indirect table of descriptor %u loops",
			                vq->index, pos);
		if (fl & VQ_DESC_F_INDIRECT)
			return vstd_err(
			        VSTD_ECORRUPT,
			        "virtq %u: indirect table of descriptor %u: entry %u is itself "
			        "indirect (nested tables are not allowed)",
			        vq->index, pos, i);
		rc = vq_chain_add(vq, c, vstd_le64(d), vstd_le32(d + 8),
		                  (fl & VQ_DESC_F_WRITE) != 0, pos);
		if (rc < 0)
			return rc;
		if (!(fl & VQ_DESC_F_NEXT))
			return 0;
		i = vstd_le16(d + 14);
		if (i >= n)
			return vstd_err(VSTD_ECORRUPT,
			                "virtq %u: indirect table of descriptor %u: next index %u "
			                "is not below "
			                "the table size %u",
			                vq->index, pos, i, n);
	}
}

size_t vq_chain_read(const struct vq_chain *c, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t done = 0;
	for (uint32_t i = 0; i < c->nout && done < len; i++) {
		const struct vq_iov *io = &c->iov[i];
		size_t n;
		if (off >= io->len) {
			off -= io->len;
			continue;
		}
		n = io->len - (size_t)off;
		if (n > len - done)
			n = len - done;
		memcpy(p + done, io->base + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t vq_chain_write(const struct vq_chain *c, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t done = 0;
	for (uint32_t i = c->nout; i < c->nout + c->nin && done < len; i++) {
		const struct vq_iov *io = &c->iov[i];
		size_t n;
		if (off >= io->len) {
			off -= io->len;
			continue;
		}
		n = io->len - (size_t)off;
		if (n > len - done)
			n = len - done;
		memcpy(io->base + off, p + done, n);
		done += n;
		off = 0;
	}
	return done;
}
