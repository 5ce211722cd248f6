/*
 * paravirt/driver/ring.c - driver side of the split (2.7) and packed (2.8)
 * virtqueues.  Freestanding: memcpy/memset and compiler atomics only.
 */
#include <string.h>

#include "paravirt/driver/vdrv.h"

#define D_NEXT 1
#define D_WRITE 2
#define D_INDIRECT 4
#define P_AVAIL (1u << 7)
#define P_USED (1u << 15)

static void st16(uint8_t *p, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	uint16_t w;
	memcpy(&w, b, 2);
	__atomic_store_n((uint16_t *)(void *)p, w, __ATOMIC_RELAXED);
}
static uint16_t ld16(const uint8_t *p)
{
	uint16_t w = __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_RELAXED);
	uint8_t b[2];
	memcpy(b, &w, 2);
	return (uint16_t)(b[0] | b[1] << 8);
}
static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}
static int need_event(uint16_t ev, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - ev - 1) < (uint16_t)(new_idx - old);
}

static void *get_mem(const struct vdrv_mem *mem, size_t size, size_t align, uint64_t *gpa)
{
	uint64_t dummy;
	return mem->alloc(mem->ctx, size, align, gpa ? gpa : &dummy);
}

int vdrv_vq_init(struct vdrv_vq *vq, struct vdrv_dev *d, const struct vdrv_mem *mem, unsigned q,
                 uint16_t num, uint16_t vector)
{
	uint16_t max = vdrv_queue_max(d, q);
	int packed = (d->features >> VDRV_F_RING_PACKED) & 1;
	memset(vq, 0, sizeof(*vq));
	if (max == 0)
		return -1;
	if (num == 0 || num > max)
		num = max;
	vq->dev = d;
	vq->index = q;
	vq->num = num;
	vq->packed = packed;
	vq->event_idx = (d->features >> VDRV_F_EVENT_IDX) & 1;
	vq->use_indirect = (d->features >> VDRV_F_INDIRECT_DESC) & 1;
	vq->token = get_mem(mem, sizeof(void *) * num, sizeof(void *), NULL);
	vq->chain_len = get_mem(mem, 2u * num, 2, NULL);
	vq->next = get_mem(mem, 2u * num, 2, NULL);
	vq->free_ids = get_mem(mem, 2u * num, 2, NULL);
	if (!vq->token || !vq->chain_len || !vq->next || !vq->free_ids)
		return -1;
	if (vq->use_indirect) {
		vq->indirect =
		        get_mem(mem, (size_t)num * VDRV_INDIRECT_MAX * 16, 16, &vq->indirect_gpa);
		if (!vq->indirect)
			return -1;
	}
	vq->num_free = num;
	if (packed) {
		vq->desc = get_mem(mem, 16u * num, 16, &vq->desc_gpa);
		vq->pdriver = get_mem(mem, 4, 4, &vq->driver_gpa);
		vq->pdevice = get_mem(mem, 4, 4, &vq->device_gpa);
		if (!vq->desc || !vq->pdriver || !vq->pdevice)
			return -1;
		vq->avail_wrap = vq->used_wrap = 1;
		vq->kicked_wrap = 1;
		for (uint16_t i = 0; i < num; i++)
			vq->free_ids[i] = (uint16_t)(num - 1 - i);
		vq->nfree_ids = num;
	} else {
		vq->desc = get_mem(mem, 16u * num, 16, &vq->desc_gpa);
		vq->avail = get_mem(mem, 6u + 2u * num, 2, &vq->driver_gpa);
		vq->used = get_mem(mem, 6u + 8u * num, 4, &vq->device_gpa);
		if (!vq->desc || !vq->avail || !vq->used)
			return -1;
		for (uint16_t i = 0; i < num; i++)
			vq->next[i] = (uint16_t)(i + 1);
	}
	return vdrv_queue_setup(d, q, num, vq->desc_gpa, vq->driver_gpa, vq->device_gpa, vector);
}

unsigned vdrv_vq_free(const struct vdrv_vq *vq)
{
	return vq->num_free;
}

static void fill_indirect(struct vdrv_vq *vq, uint16_t slot, const struct vdrv_sg *out,
                          unsigned nout, const struct vdrv_sg *in, unsigned nin, int packed)
{
	uint8_t *t = vq->indirect + (size_t)slot * VDRV_INDIRECT_MAX * 16;
	unsigned total = nout + nin;
	for (unsigned j = 0; j < total; j++) {
		const struct vdrv_sg *s = j < nout ? &out[j] : &in[j - nout];
		uint16_t fl = j < nout ? 0 : D_WRITE;
		uint8_t *e = t + 16 * j;
		put64(e, s->gpa);
		put32(e + 8, s->len);
		if (packed) {
			e[12] = e[13] = 0;
		} else {
			if (j + 1 < total)
				fl |= D_NEXT;
			e[14] = (uint8_t)(j + 1);
			e[15] = (uint8_t)((j + 1) >> 8);
		}
		e[packed ? 14 : 12] = (uint8_t)fl;
		e[packed ? 15 : 13] = (uint8_t)(fl >> 8);
	}
}

static int add_split(struct vdrv_vq *vq, const struct vdrv_sg *out, unsigned nout,
                     const struct vdrv_sg *in, unsigned nin, void *token)
{
	unsigned total = nout + nin;
	int indirect = vq->use_indirect && total > 1 && total <= VDRV_INDIRECT_MAX;
	unsigned need = indirect ? 1 : total;
	uint16_t head = vq->free_head, i = head, last = head;
	if (total == 0 || vq->num_free < need)
		return -1;
	if (indirect) {
		uint8_t *d = vq->desc + 16 * (size_t)head;
		fill_indirect(vq, head, out, nout, in, nin, 0);
		put64(d, vq->indirect_gpa + (uint64_t)head * VDRV_INDIRECT_MAX * 16);
		put32(d + 8, total * 16);
		d[12] = D_INDIRECT;
		d[13] = 0;
		i = vq->next[head];
	} else {
		for (unsigned j = 0; j < total; j++) {
			const struct vdrv_sg *s = j < nout ? &out[j] : &in[j - nout];
			uint8_t *d = vq->desc + 16 * (size_t)i;
			uint16_t fl =
			        (uint16_t)((j < nout ? 0 : D_WRITE) | (j + 1 < total ? D_NEXT : 0));
			put64(d, s->gpa);
			put32(d + 8, s->len);
			d[12] = (uint8_t)fl;
			d[13] = 0;
			d[14] = (uint8_t)vq->next[i];
			d[15] = (uint8_t)(vq->next[i] >> 8);
			last = i;
			i = vq->next[i];
		}
		(void)last;
	}
	vq->free_head = i;
	vq->num_free = (uint16_t)(vq->num_free - need);
	vq->chain_len[head] = (uint16_t)need;
	vq->token[head] = token;
	st16(vq->avail + 4 + 2 * (size_t)(vq->avail_idx % vq->num), head);
	vq->avail_idx++;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	st16(vq->avail + 2, vq->avail_idx);
	return 0;
}

static int add_packed(struct vdrv_vq *vq, const struct vdrv_sg *out, unsigned nout,
                      const struct vdrv_sg *in, unsigned nin, void *token)
{
	unsigned total = nout + nin;
	int indirect = vq->use_indirect && total > 1 && total <= VDRV_INDIRECT_MAX;
	unsigned need = indirect ? 1 : total;
	uint16_t id, pos = vq->next_avail, head_flags = 0;
	int wrap = vq->avail_wrap;
	uint8_t *head;
	if (total == 0 || vq->num_free < need || vq->nfree_ids == 0)
		return -1;
	id = vq->free_ids[--vq->nfree_ids];
	head = vq->desc + 16 * (size_t)pos;
	for (unsigned j = 0; j < need; j++) {
		uint8_t *d = vq->desc + 16 * (size_t)pos;
		uint16_t fl = wrap ? P_AVAIL : P_USED;
		if (indirect) {
			fill_indirect(vq, id, out, nout, in, nin, 1);
			put64(d, vq->indirect_gpa + (uint64_t)id * VDRV_INDIRECT_MAX * 16);
			put32(d + 8, total * 16);
			fl |= D_INDIRECT;
		} else {
			const struct vdrv_sg *s = j < nout ? &out[j] : &in[j - nout];
			put64(d, s->gpa);
			put32(d + 8, s->len);
			fl |= (uint16_t)((j < nout ? 0 : D_WRITE) | (j + 1 < total ? D_NEXT : 0));
		}
		d[12] = (uint8_t)id;
		d[13] = (uint8_t)(id >> 8);
		if (j == 0)
			head_flags = fl; /* written last */
		else
			st16(d + 14, fl);
		if (++pos == vq->num) {
			pos = 0;
			wrap ^= 1;
		}
	}
	vq->chain_len[id] = (uint16_t)need;
	vq->token[id] = token;
	vq->num_free = (uint16_t)(vq->num_free - need);
	vq->next_avail = pos;
	vq->avail_wrap = wrap;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	st16(head + 14, head_flags);
	return 0;
}

int vdrv_vq_add(struct vdrv_vq *vq, const struct vdrv_sg *out, unsigned nout,
                const struct vdrv_sg *in, unsigned nin, void *token)
{
	if (token == NULL)
		return -1;
	return vq->packed ? add_packed(vq, out, nout, in, nin, token)
	                  : add_split(vq, out, nout, in, nin, token);
}

int vdrv_vq_kick_prepare(struct vdrv_vq *vq)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->packed) {
		uint16_t old = vq->kicked_avail, new_idx = vq->avail_idx;
		vq->kicked_avail = new_idx;
		if (vq->event_idx)
			return need_event(ld16(vq->used + 4 + 8 * (size_t)vq->num), new_idx, old);
		return !(ld16(vq->used) & 1);
	} else {
		uint16_t flags = ld16(vq->pdevice + 2), off_wrap = ld16(vq->pdevice);
		uint32_t m = 2u * vq->num;
		uint32_t old = vq->kicked_pos + (vq->kicked_wrap ? 0u : vq->num);
		uint32_t new_idx = vq->next_avail + (vq->avail_wrap ? 0u : vq->num);
		uint32_t ev;
		vq->kicked_pos = vq->next_avail;
		vq->kicked_wrap = vq->avail_wrap;
		if (flags == 1)
			return 0;
		if (flags != 2 || (off_wrap & 0x7fff) >= vq->num)
			return 1;
		ev = (off_wrap & 0x7fffu) + ((off_wrap >> 15) ? 0u : vq->num);
		return (ev + m - old) % m < (new_idx + m - old) % m;
	}
}

uint32_t vdrv_vq_notify_data(const struct vdrv_vq *vq)
{
	/* split: the whole 16-bit available index (next_off = its low 15
	 * bits, next_wrap = bit 15); packed: the next descriptor slot and the
	 * driver's wrap counter. */
	uint32_t next = vq->packed ? (uint32_t)(vq->next_avail | (vq->avail_wrap ? 0x8000u : 0))
	                           : vq->avail_idx;
	return (vq->index & 0xffffu) | next << 16;
}

int vdrv_vq_kick(struct vdrv_vq *vq)
{
	if (vdrv_vq_kick_prepare(vq)) {
		if ((vq->dev->features >> VDRV_F_NOTIFICATION_DATA) & 1)
			vdrv_notify_data(vq->dev, vq->index, vdrv_vq_notify_data(vq));
		else
			vdrv_notify(vq->dev, vq->index);
		return 1;
	}
	return 0;
}

void vdrv_vq_enable_cb(struct vdrv_vq *vq)
{
	if (!vq->packed) {
		if (vq->event_idx)
			st16(vq->avail + 4 + 2 * (size_t)vq->num, vq->last_used);
		else
			st16(vq->avail, 0);
	} else if (vq->event_idx) {
		st16(vq->pdriver, (uint16_t)(vq->used_pos | (vq->used_wrap ? 0x8000 : 0)));
		__atomic_thread_fence(__ATOMIC_RELEASE);
		st16(vq->pdriver + 2, 2);
	} else {
		st16(vq->pdriver + 2, 0);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void vdrv_vq_disable_cb(struct vdrv_vq *vq)
{
	if (!vq->packed) {
		if (vq->event_idx)
			st16(vq->avail + 4 + 2 * (size_t)vq->num,
			     (uint16_t)(vq->last_used - 0x8000));
		else
			st16(vq->avail, 1);
	} else {
		st16(vq->pdriver + 2, 1);
	}
}

void *vdrv_vq_get(struct vdrv_vq *vq, uint32_t *len)
{
	void *tok;
	uint16_t id;
	uint32_t l;
	if (!vq->packed) {
		uint8_t *e;
		uint16_t n, last;
		if (ld16(vq->used + 2) == vq->last_used)
			return NULL;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		e = vq->used + 4 + 8 * (size_t)(vq->last_used % vq->num);
		id = (uint16_t)get32(e);
		l = get32(e + 4);
		if (get32(e) >= vq->num || vq->token[id] == NULL)
			return NULL;
		tok = vq->token[id];
		vq->token[id] = NULL;
		n = vq->chain_len[id];
		last = id;
		for (uint16_t k = 1; k < n; k++)
			last = vq->next[last];
		vq->next[last] = vq->free_head;
		vq->free_head = id;
		vq->num_free = (uint16_t)(vq->num_free + n);
		vq->last_used++;
		if (vq->event_idx)
			st16(vq->avail + 4 + 2 * (size_t)vq->num, vq->last_used);
	} else {
		uint8_t *d = vq->desc + 16 * (size_t)vq->used_pos;
		uint16_t fl = ld16(d + 14), n;
		int a = (fl & P_AVAIL) != 0, u = (fl & P_USED) != 0;
		if (a != vq->used_wrap || u != vq->used_wrap)
			return NULL;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		id = (uint16_t)(d[12] | d[13] << 8);
		l = get32(d + 8);
		if (id >= vq->num || vq->token[id] == NULL)
			return NULL;
		tok = vq->token[id];
		vq->token[id] = NULL;
		n = vq->chain_len[id];
		vq->used_pos = (uint16_t)(vq->used_pos + n);
		if (vq->used_pos >= vq->num) {
			vq->used_pos = (uint16_t)(vq->used_pos - vq->num);
			vq->used_wrap ^= 1;
		}
		vq->free_ids[vq->nfree_ids++] = id;
		vq->num_free = (uint16_t)(vq->num_free + n);
		if (vq->event_idx) {
			st16(vq->pdriver, (uint16_t)(vq->used_pos | (vq->used_wrap ? 0x8000 : 0)));
		}
	}
	if (len)
		*len = l;
	return tok;
}
