/*
 * paravirt/exercise.c - see exercise.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/bytes.h"
#include "paravirt/exercise.h"
#include "paravirt/features.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(msg, len, __VA_ARGS__);                                                   \
		goto out;                                                                          \
	} while (0)

uint64_t vx_features(const struct vx_cfg *c)
{
	uint64_t f = ~0ULL & ~(VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED) |
	                       VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_EVENT_IDX) |
	                       VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_INDIRECT_DESC) |
	                       VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_IN_ORDER) |
	                       VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_NOTIFICATION_DATA));
	if (c->flags & VX_NOTIF_DATA)
		f |= VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_NOTIFICATION_DATA);
	if (c->packed)
		f |= VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED);
	if (c->event_idx)
		f |= VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_EVENT_IDX);
	if (c->indirect)
		f |= VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_INDIRECT_DESC);
	if (c->in_order)
		f |= VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_IN_ORDER);
	return f;
}

int vx_start(struct loopvm *vm, const struct vx_cfg *c, struct vdrv_vq *vqs, unsigned nq, char *msg,
             size_t len)
{
	if (vdrv_negotiate(&vm->drv, vx_features(c)) < 0) {
		snprintf(msg, len, "feature negotiation failed (status 0x%x)",
		         vdrv_status(&vm->drv));
		return -1;
	}
	if (c->msix && vm->pci) {
		vdrv_msix_enable(&vm->drv, 1);
		if (vdrv_config_vector(&vm->drv, 0) != 0) {
			snprintf(msg, len, "config MSI-X vector not taken");
			return -1;
		}
	}
	for (unsigned q = 0; q < nq; q++) {
		uint16_t vec = c->msix && vm->pci ? (uint16_t)(q + 1) : 0xffff;
		if (vdrv_vq_init(&vqs[q], &vm->drv, &vm->mem, q, c->qsize, vec) < 0) {
			snprintf(msg, len, "queue %u setup failed: %s", q,
			         vstd_virtio_dev_broken_reason(vm->dev)
			                 ? vstd_virtio_dev_broken_reason(vm->dev)
			                 : "");
			return -1;
		}
	}
	vdrv_set_status(&vm->drv,
	                VDRV_S_ACKNOWLEDGE | VDRV_S_DRIVER | VDRV_S_FEATURES_OK | VDRV_S_DRIVER_OK);
	if (!(vdrv_status(&vm->drv) & VDRV_S_DRIVER_OK)) {
		snprintf(msg, len, "DRIVER_OK did not stick");
		return -1;
	}
	return 0;
}

void *vx_wait(struct vdrv_vq *vq, uint32_t *l)
{
	void *t = vdrv_vq_get(vq, l);
	if (t)
		return t;
	/* the device runs synchronously */
	if ((vq->dev->features >> VDRV_F_NOTIFICATION_DATA) & 1)
		vdrv_notify_data(vq->dev, vq->index, vdrv_vq_notify_data(vq));
	else
		vdrv_notify(vq->dev, vq->index);
	return vdrv_vq_get(vq, l);
}

/* ------------------------------------------------------------ blk */

struct blkreq {
	uint8_t *hdr, *status;
	uint64_t hdr_gpa, status_gpa;
};

static int blk_add(struct vdrv_vq *vq, struct blkreq *r, uint32_t type, uint64_t sector,
                   uint64_t data_gpa, uint32_t data_len, int data_in)
{
	struct vdrv_sg out[2], in[2];
	unsigned nout = 0, nin = 0;
	vstd_put_le32(r->hdr, type);
	vstd_put_le32(r->hdr + 4, 0);
	vstd_put_le64(r->hdr + 8, sector);
	*r->status = 0xee;
	out[nout++] = (struct vdrv_sg){r->hdr_gpa, 16};
	if (data_len) {
		if (data_in)
			in[nin++] = (struct vdrv_sg){data_gpa, data_len};
		else
			out[nout++] = (struct vdrv_sg){data_gpa, data_len};
	}
	in[nin++] = (struct vdrv_sg){r->status_gpa, 1};
	return vdrv_vq_add(vq, out, nout, in, nin, r);
}

/* One request, synchronously: returns the status byte or -1. */
static int blk_do(struct vdrv_vq *vq, struct blkreq *r, uint32_t type, uint64_t sector,
                  uint64_t data_gpa, uint32_t data_len, int data_in, uint32_t *used_len)
{
	uint32_t l = 0;
	if (blk_add(vq, r, type, sector, data_gpa, data_len, data_in) < 0)
		return -1;
	vdrv_vq_kick(vq);
	if (vx_wait(vq, &l) != r)
		return -1;
	if (used_len)
		*used_len = l;
	return *r->status;
}

static int make_disk(vstd_disk **disk, vstd_io **io, uint64_t size)
{
	vstd_disk_open_opts o = VSTD_DISK_OPEN_OPTS_INIT;
	int rc = vstd_io_mem_new(io, NULL, 0, 0, VSTD_IO_WRITE);
	if (rc < 0)
		return rc;
	if ((rc = vstd_io_truncate(*io, size)) < 0)
		return rc;
	o.format = "raw";
	o.flags = VSTD_DISK_RDWR;
	return vstd_disk_open_io(disk, *io, "memdisk", &o);
}

int vx_blkdev_open(struct vx_blkdev *t, const struct vx_cfg *c, const vstd_virtio_blk_opts *bo,
                   uint64_t disk_size, uint8_t fill, char *msg, size_t len)
{
	vstd_virtio_blk_opts o = VSTD_VIRTIO_BLK_OPTS_INIT;
	memset(t, 0, sizeof(*t));
	if (bo)
		o = *bo;
	o.common.features_on |= VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED);
	if (loopvm_init(&t->vm, 4u << 20, 0) < 0 || make_disk(&t->disk, &t->io, disk_size) < 0) {
		snprintf(msg, len, "setup: %s", vstd_error_last()->message);
		return -1;
	}
	if (fill) {
		uint8_t blk[4096];
		memset(blk, fill, sizeof(blk));
		for (uint64_t off = 0; off < disk_size; off += sizeof(blk))
			if (vstd_disk_write(t->disk, off, blk, sizeof(blk)) < 0)
				return snprintf(msg, len, "fill failed"), -1;
	}
	if (vstd_virtio_blk_new(&t->dev, t->vm.gm, t->disk, &o) < 0 ||
	    loopvm_attach(&t->vm, t->dev, c->transport) < 0) {
		snprintf(msg, len, "device: %s", vstd_error_last()->message);
		return -1;
	}
	if (vx_start(&t->vm, c, &t->q, 1, msg, len) < 0)
		return -1;
	t->hdr = loopvm_alloc(&t->vm, 16, 16, &t->hdr_gpa);
	t->st = loopvm_alloc(&t->vm, 1, 1, &t->st_gpa);
	t->buf = loopvm_alloc(&t->vm, VX_BLKDEV_BUF, 4096, &t->buf_gpa);
	if (!t->hdr || !t->st || !t->buf)
		return snprintf(msg, len, "out of guest memory"), -1;
	return 0;
}

void vx_blkdev_close(struct vx_blkdev *t)
{
	loopvm_fini(&t->vm);
	vstd_disk_close(t->disk);
	vstd_io_close(t->io);
	memset(t, 0, sizeof(*t));
}

int vx_blkdev_req(struct vx_blkdev *t, uint32_t type, uint64_t sector, uint32_t out, uint32_t in,
                  uint32_t *used)
{
	struct vdrv_sg o[2], i[2];
	unsigned no = 0, ni = 0;
	uint32_t l = 0;
	if ((uint64_t)out + in > VX_BLKDEV_BUF)
		return -1;
	vstd_put_le32(t->hdr, type);
	vstd_put_le32(t->hdr + 4, 0);
	vstd_put_le64(t->hdr + 8, sector);
	*t->st = 0xee;
	o[no++] = (struct vdrv_sg){t->hdr_gpa, 16};
	if (out)
		o[no++] = (struct vdrv_sg){t->buf_gpa, out};
	if (in)
		i[ni++] = (struct vdrv_sg){t->buf_gpa + out, in};
	i[ni++] = (struct vdrv_sg){t->st_gpa, 1};
	if (vdrv_vq_add(&t->q, o, no, i, ni, t->hdr) < 0)
		return -1;
	vdrv_vq_kick(&t->q);
	if (vx_wait(&t->q, &l) != t->hdr)
		return -1;
	if (used)
		*used = l;
	return *t->st;
}

int vx_blk(const struct vx_cfg *c, char *msg, size_t len)
{
	struct loopvm vm;
	vstd_io *io = NULL;
	vstd_disk *disk = NULL;
	vstd_virtio_dev *dev = NULL;
	vstd_virtio_blk_opts bo = VSTD_VIRTIO_BLK_OPTS_INIT;
	struct vdrv_vq vq;
	struct blkreq *reqs = NULL;
	uint8_t *buf, *buf2;
	uint64_t buf_gpa, buf2_gpa;
	unsigned depth = c->depth ? c->depth : 1;
	int rc = -1, st;
	uint32_t l;
	msg[0] = '\0';
	if (loopvm_init(&vm, 8 << 20, 1) < 0)
		return snprintf(msg, len, "loopvm: %s", vstd_error_last()->message), -1;
	if (make_disk(&disk, &io, 1 << 20) < 0)
		FAIL("disk: %s", vstd_error_last()->message);
	bo.serial = "vstd-serial-1";
	bo.common.features_on = VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED) |
	                        VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_NOTIFICATION_DATA) |
	                        VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_IN_ORDER);
	if (vstd_virtio_blk_new(&dev, vm.gm, disk, &bo) < 0 ||
	    loopvm_attach(&vm, dev, c->transport) < 0)
		FAIL("device: %s", vstd_error_last()->message);
	if (vm.drv.device_id != VSTD_VIRTIO_BLK)
		FAIL("device id %u, expected 2", vm.drv.device_id);
	if (vx_start(&vm, c, &vq, 1, msg, len) < 0)
		goto out;
	if (vdrv_config_read(&vm.drv, 0, 8) != (1 << 20) / 512)
		FAIL("capacity %llu", (unsigned long long)vdrv_config_read(&vm.drv, 0, 8));
	if (vdrv_config_read(&vm.drv, 12, 4) != 254)
		FAIL("seg_max");
	reqs = loopvm_alloc(&vm, sizeof(*reqs) * depth, 8, NULL);
	for (unsigned i = 0; reqs && i < depth; i++) {
		reqs[i].hdr = loopvm_alloc(&vm, 16, 16, &reqs[i].hdr_gpa);
		reqs[i].status = loopvm_alloc(&vm, 1, 1, &reqs[i].status_gpa);
	}
	buf = loopvm_alloc(&vm, 65536, 4096, &buf_gpa);
	buf2 = loopvm_alloc(&vm, 65536, 4096, &buf2_gpa);
	if (!reqs || !buf || !buf2)
		FAIL("out of guest memory");
	/* write, read back */
	for (unsigned i = 0; i < 65536; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	if ((st = blk_do(&vq, &reqs[0], VBLK_T_OUT, 8, buf_gpa, 65536, 0, &l)) != VBLK_S_OK ||
	    l != 1)
		FAIL("write: status %d used len %u", st, l);
	if ((st = blk_do(&vq, &reqs[0], VBLK_T_IN, 8, buf2_gpa, 65536, 1, &l)) != VBLK_S_OK ||
	    l != 65537)
		FAIL("read: status %d used len %u", st, l);
	if (memcmp(buf, buf2, 65536) != 0)
		FAIL("read data differs from written data");
	if ((st = blk_do(&vq, &reqs[0], VBLK_T_FLUSH, 0, 0, 0, 0, NULL)) != VBLK_S_OK)
		FAIL("flush: status %d", st);
	memset(buf2, 0xff, 32);
	if ((st = blk_do(&vq, &reqs[0], VBLK_T_GET_ID, 0, buf2_gpa, 20, 1, &l)) != VBLK_S_OK ||
	    memcmp(buf2, "vstd-serial-1\0\0\0\0\0\0\0", 20) != 0 || l != 21)
		FAIL("get-id: status %d len %u", st, l);
	/* write-zeroes over the written area, then read zeros */
	vstd_put_le64(buf, 8);
	vstd_put_le32(buf + 8, 16);
	vstd_put_le32(buf + 12, 1);
	if ((st = blk_do(&vq, &reqs[0], VBLK_T_WRITE_ZEROES, 0, buf_gpa, 16, 0, NULL)) != VBLK_S_OK)
		FAIL("write-zeroes: status %d", st);
	if ((st = blk_do(&vq, &reqs[0], VBLK_T_IN, 8, buf2_gpa, 8192, 1, NULL)) != VBLK_S_OK ||
	    !vstd_is_zero(buf2, 8192))
		FAIL("read after write-zeroes: status %d", st);
	vstd_put_le32(buf + 12, 0);
	if ((st = blk_do(&vq, &reqs[0], VBLK_T_DISCARD, 0, buf_gpa, 16, 0, NULL)) != VBLK_S_OK)
		FAIL("discard: status %d", st);
	vstd_put_le32(buf + 12, 1);
	if ((st = blk_do(&vq, &reqs[0], VBLK_T_DISCARD, 0, buf_gpa, 16, 0, NULL)) != VBLK_S_UNSUPP)
		FAIL("discard with unmap: status %d, want UNSUPP", st);
	/* errors: past the end, unknown type */
	if ((st = blk_do(&vq, &reqs[0], VBLK_T_IN, 2047, buf2_gpa, 1024, 1, NULL)) != VBLK_S_IOERR)
		FAIL("read past the end: status %d, want IOERR", st);
	if ((st = blk_do(&vq, &reqs[0], 99, 0, 0, 0, 0, NULL)) != VBLK_S_UNSUPP)
		FAIL("unknown type: status %d, want UNSUPP", st);
	/* many reads at queue depth `depth` (index wrap with > 65535) */
	for (unsigned done = 0; done < c->requests;) {
		unsigned n = depth;
		if (n > c->requests - done)
			n = c->requests - done;
		for (unsigned i = 0; i < n; i++)
			if (blk_add(&vq, &reqs[i], VBLK_T_IN, (done + i) % 2040,
			            buf2_gpa + 512 * (i % 64), 512, 1) < 0)
				FAIL("queue full at request %u", done + i);
		vdrv_vq_kick(&vq);
		for (unsigned i = 0; i < n; i++) {
			struct blkreq *r = vx_wait(&vq, &l);
			if (r == NULL || *r->status != VBLK_S_OK || l != 513)
				FAIL("request %u: %s", done + i,
				     r ? "bad status" : "not completed");
		}
		done += n;
	}
	if (vstd_virtio_dev_broken_reason(dev))
		FAIL("device broken: %s", vstd_virtio_dev_broken_reason(dev));
	rc = 0;
out:
	loopvm_fini(&vm);
	vstd_disk_close(disk);
	vstd_io_close(io);
	return rc;
}

/* ------------------------------------------------------------ rng */

int vx_rng(const struct vx_cfg *c, char *msg, size_t len)
{
	struct loopvm vm;
	vstd_virtio_dev *dev = NULL;
	vstd_virtio_opts o = VSTD_VIRTIO_OPTS_INIT;
	struct vdrv_vq vq;
	uint8_t *buf;
	uint64_t gpa;
	uint32_t l = 0;
	int rc = -1;
	struct vdrv_sg sg;
	msg[0] = '\0';
	if (loopvm_init(&vm, 4 << 20, 1) < 0)
		return snprintf(msg, len, "loopvm: %s", vstd_error_last()->message), -1;
	o.features_on = VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED) |
	                VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_NOTIFICATION_DATA) |
	                VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_IN_ORDER);
	if (vstd_virtio_rng_new(&dev, vm.gm, &o) < 0 || loopvm_attach(&vm, dev, c->transport) < 0)
		FAIL("device: %s", vstd_error_last()->message);
	if (vx_start(&vm, c, &vq, 1, msg, len) < 0)
		goto out;
	buf = loopvm_alloc(&vm, 256, 16, &gpa);
	sg = (struct vdrv_sg){gpa, 256};
	for (unsigned i = 0; i < 4 + c->requests; i++) {
		if (vdrv_vq_add(&vq, NULL, 0, &sg, 1, buf) < 0)
			FAIL("add failed");
		vdrv_vq_kick(&vq);
		if (vx_wait(&vq, &l) != buf || l != 256)
			FAIL("rng request %u: used len %u", i, l);
	}
	if (vstd_is_zero(buf, 256))
		FAIL("rng returned zeroes");
	rc = 0;
out:
	loopvm_fini(&vm);
	return rc;
}

/* ------------------------------------------------------------ net */

static int net_post_rx(struct loopvm *vm, struct vdrv_vq *rx, unsigned n, uint32_t size)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t gpa;
		uint8_t *b = loopvm_alloc(vm, size, 16, &gpa);
		struct vdrv_sg sg = {gpa, size};
		if (b == NULL || vdrv_vq_add(rx, NULL, 0, &sg, 1, b) < 0)
			return -1;
	}
	vdrv_vq_kick(rx);
	return 0;
}

/* Send one frame on tx; returns 0 when the tx buffer came back. */
static int net_send(struct vdrv_vq *tx, uint8_t *pkt, uint64_t gpa, size_t flen)
{
	struct vdrv_sg sg = {gpa, (uint32_t)(12 + flen)};
	uint32_t l;
	(void)pkt;
	if (vdrv_vq_add(tx, &sg, 1, NULL, 0, pkt) < 0)
		return -1;
	vdrv_vq_kick(tx);
	return vx_wait(tx, &l) == pkt ? 0 : -1;
}

static int net_ctrl(struct loopvm *vm, struct vdrv_vq *cq, uint8_t cls, uint8_t cmd,
                    const void *data, size_t dlen)
{
	uint64_t gpa, agpa;
	uint8_t *b = loopvm_alloc(vm, 2 + dlen, 8, &gpa), *ack = loopvm_alloc(vm, 1, 1, &agpa);
	struct vdrv_sg out = {gpa, (uint32_t)(2 + dlen)}, in = {agpa, 1};
	uint32_t l;
	b[0] = cls;
	b[1] = cmd;
	memcpy(b + 2, data, dlen);
	*ack = 0xee;
	if (vdrv_vq_add(cq, &out, 1, &in, 1, b) < 0)
		return -1;
	vdrv_vq_kick(cq);
	if (vx_wait(cq, &l) != b || l != 1)
		return -1;
	return *ack;
}

int vx_net(const struct vx_cfg *c, char *msg, size_t len)
{
	struct loopvm vm;
	vstd_virtio_dev *dev = NULL;
	vstd_virtio_net_opts no = VSTD_VIRTIO_NET_OPTS_INIT;
	struct vdrv_vq q[3];
	uint8_t *pkt, *rxb;
	uint64_t pkt_gpa;
	uint32_t l;
	int rc = -1, mrg = !(c->flags & VX_NO_MRG);
	static const uint8_t newmac[6] = {0x02, 0, 0, 0, 0, 0x42};
	msg[0] = '\0';
	if (loopvm_init(&vm, 16 << 20, 1) < 0)
		return snprintf(msg, len, "loopvm: %s", vstd_error_last()->message), -1;
	no.common.features_on = VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED) |
	                        VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_NOTIFICATION_DATA) |
	                        VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_IN_ORDER);
	if (!mrg)
		no.common.features_off = VSTD_VIRTIO_BIT(VNET_F_MRG_RXBUF);
	if (vstd_virtio_net_new(&dev, vm.gm, &no) < 0 || loopvm_attach(&vm, dev, c->transport) < 0)
		FAIL("device: %s", vstd_error_last()->message);
	if (vx_start(&vm, c, q, 3, msg, len) < 0)
		goto out;
	if (vdrv_config_read(&vm.drv, 0, 4) != 0x12005452 ||
	    vdrv_config_read(&vm.drv, 4, 2) != 0x5634 || vdrv_config_read(&vm.drv, 6, 2) != 1)
		FAIL("config: MAC or link status wrong");
	/* Mergeable: small buffers, a frame spanning four of them.
	 * Otherwise: one buffer per frame. */
	if (net_post_rx(&vm, &q[0], 16, mrg ? 256 : 1526 + 12) < 0)
		FAIL("posting receive buffers");
	pkt = loopvm_alloc(&vm, 12 + 1514, 16, &pkt_gpa);
	memset(pkt, 0, 12);
	memcpy(pkt + 12, "\x52\x54\x00\x12\x34\x56\x02\x00\x00\x00\x00\x01\x08\x00", 14);
	for (unsigned i = 26; i < 12 + 1000; i++)
		pkt[i] = (uint8_t)i;
	if (net_send(&q[1], pkt, pkt_gpa, 1000) < 0)
		FAIL("transmit not completed");
	{
		/* Collect the received buffers and check header + data. */
		uint8_t got[1100];
		size_t at = 0;
		unsigned nb = 0, want;
		uint8_t *first = vdrv_vq_get(&q[0], &l);
		if (first == NULL)
			FAIL("nothing received");
		want = vstd_le16(first + 10);
		if (want != (mrg ? 4u : 1u))
			FAIL("num_buffers %u", want);
		for (uint8_t *b = first;; b = vdrv_vq_get(&q[0], &l)) {
			if (b == NULL)
				FAIL("received %u of %u buffers", nb, want);
			memcpy(got + at, b == first ? b + 12 : b, b == first ? l - 12 : l);
			at += b == first ? l - 12 : l;
			if (++nb == want)
				break;
		}
		if (at != 1000 || memcmp(got, pkt + 12, 1000) != 0)
			FAIL("received frame differs (%zu bytes)", at);
	}
	/* Control queue: set a MAC, leave promiscuous mode. */
	if (net_ctrl(&vm, &q[2], 1, 1, newmac, 6) != 0 || vdrv_config_read(&vm.drv, 5, 1) != 0x42)
		FAIL("MAC_ADDR_SET");
	if (net_ctrl(&vm, &q[2], 0, 0, "\0", 1) != 0)
		FAIL("RX_PROMISC off");
	if (net_ctrl(&vm, &q[2], 9, 9, "", 0) != 1)
		FAIL("unknown control class not refused");
	if (net_send(&q[1], pkt, pkt_gpa, 60) < 0)
		FAIL("transmit 2");
	if (vdrv_vq_get(&q[0], &l) != NULL)
		FAIL("frame to another MAC passed the filter");
	memcpy(pkt + 12, newmac, 6);
	/* Checksum offload off for the guest: the device fills the checksum. */
	{
		uint8_t zero[8] = {0};
		if (net_ctrl(&vm, &q[2], 5, 0, zero, 8) != 0)
			FAIL("GUEST_OFFLOADS_SET");
	}
	pkt[0] = 1;                 /* NEEDS_CSUM */
	vstd_put_le16(pkt + 6, 14); /* csum_start */
	vstd_put_le16(pkt + 8, 10); /* csum_offset */
	memset(pkt + 12 + 14, 0, 46);
	pkt[12 + 14] = 0x45;
	if (net_send(&q[1], pkt, pkt_gpa, 60) < 0)
		FAIL("transmit 3");
	rxb = vdrv_vq_get(&q[0], &l);
	if (rxb == NULL || rxb[0] != 0 || vstd_be16(rxb + 12 + 14 + 10) != (uint16_t)~0x4500)
		FAIL("software checksum: %s", rxb ? "wrong" : "nothing received");
	pkt[0] = 0;
	/* Many frames (index wrap when requests > 65535). */
	for (unsigned i = 0; i < c->requests; i++) {
		if (net_send(&q[1], pkt, pkt_gpa, 60) < 0)
			FAIL("transmit %u", i);
		rxb = vdrv_vq_get(&q[0], &l);
		if (rxb == NULL)
			FAIL("frame %u not received", i);
		{
			uint64_t g = loopvm_gpa(&vm, rxb); /* give the same buffer back */
			{
				struct vdrv_sg sg = {g, mrg ? 256 : 1526 + 12};
				if (vdrv_vq_add(&q[0], NULL, 0, &sg, 1, rxb) < 0)
					FAIL("re-post %u", i);
			}
		}
	}
	/* Link down: status changes, configuration interrupt, generation moves. */
	{
		uint8_t gen = vdrv_config_generation(&vm.drv);
		unsigned long irqs = vm.irqs;
		vstd_virtio_net_set_link(dev, 0);
		if (vdrv_config_read(&vm.drv, 6, 2) != 0 ||
		    vdrv_config_generation(&vm.drv) == gen || vm.irqs == irqs)
			FAIL("link down not signalled");
		if (vstd_virtio_net_receive(dev, NULL, pkt + 12, 60) != VSTD_ESTATE)
			FAIL("receive with link down");
	}
	if (vstd_virtio_dev_broken_reason(dev))
		FAIL("device broken: %s", vstd_virtio_dev_broken_reason(dev));
	rc = 0;
out:
	loopvm_fini(&vm);
	return rc;
}

/* ------------------------------------------------------------ vx_net */

#define VX_NET_RXBUF 2048

int vx_net_open(struct vx_net *t, const struct vx_cfg *c, uint16_t max_pairs, uint64_t features_off,
                uint64_t drop, char *msg, size_t len)
{
	vstd_virtio_net_opts no = VSTD_VIRTIO_NET_OPTS_INIT;
	unsigned pairs;
	memset(t, 0, sizeof(*t));
	if (max_pairs > (VX_NET_MAXQ - 1) / 2)
		return snprintf(msg, len, "too many pairs"), -1;
	if (loopvm_init(&t->vm, 16 << 20, 0) < 0)
		return snprintf(msg, len, "loopvm: %s", vstd_error_last()->message), -1;
	no.common.features_on = VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED) |
	                        VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_NOTIFICATION_DATA) |
	                        VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_IN_ORDER);
	no.common.features_off = features_off;
	no.max_queue_pairs = max_pairs;
	if (vstd_virtio_net_new(&t->dev, t->vm.gm, &no) < 0 ||
	    loopvm_attach(&t->vm, t->dev, c->transport) < 0) {
		snprintf(msg, len, "device: %s", vstd_error_last()->message);
		return -1;
	}
	if (vdrv_negotiate(&t->vm.drv, vx_features(c) & ~drop) < 0)
		return snprintf(msg, len, "negotiation failed"), -1;
	pairs = (t->vm.drv.features >> VNET_F_MQ) & 1 ? max_pairs : 1;
	t->nq = 2 * pairs + 1;
	t->ctrl = 2 * pairs;
	for (unsigned q = 0; q < t->nq; q++)
		if (vdrv_vq_init(&t->q[q], &t->vm.drv, &t->vm.mem, q, 64, 0xffff) < 0)
			return snprintf(msg, len, "queue %u setup failed", q), -1;
	vdrv_set_status(&t->vm.drv,
	                VDRV_S_ACKNOWLEDGE | VDRV_S_DRIVER | VDRV_S_FEATURES_OK | VDRV_S_DRIVER_OK);
	if (!(vdrv_status(&t->vm.drv) & VDRV_S_DRIVER_OK))
		return snprintf(msg, len, "DRIVER_OK did not stick"), -1;
	for (unsigned p = 0; p < pairs; p++) {
		if (net_post_rx(&t->vm, &t->q[2 * p], 16, VX_NET_RXBUF) < 0)
			return snprintf(msg, len, "posting receive buffers"), -1;
	}
	t->tx = loopvm_alloc(&t->vm, 12 + 65600, 16, &t->tx_gpa);
	t->cmd = loopvm_alloc(&t->vm, 1024, 16, &t->cmd_gpa);
	t->ack = loopvm_alloc(&t->vm, 16, 16, &t->ack_gpa);
	if (!t->tx || !t->cmd || !t->ack)
		return snprintf(msg, len, "out of guest memory"), -1;
	return 0;
}

void vx_net_close(struct vx_net *t)
{
	loopvm_fini(&t->vm);
}

int vx_net_ctrl(struct vx_net *t, uint8_t cls, uint8_t cmd, const void *data, size_t dlen)
{
	struct vdrv_sg out = {t->cmd_gpa, (uint32_t)(2 + dlen)}, in = {t->ack_gpa, 1};
	uint32_t l;
	if (dlen > 1000)
		return -1;
	t->cmd[0] = cls;
	t->cmd[1] = cmd;
	if (dlen)
		memcpy(t->cmd + 2, data, dlen);
	*t->ack = 0xee;
	if (vdrv_vq_add(&t->q[t->ctrl], &out, 1, &in, 1, t->cmd) < 0)
		return -1;
	vdrv_vq_kick(&t->q[t->ctrl]);
	if (vx_wait(&t->q[t->ctrl], &l) != t->cmd || l != 1)
		return -1;
	return *t->ack;
}

int vx_net_send(struct vx_net *t, unsigned pair, const void *hdr, const void *frame, size_t len)
{
	if (len > 65600 || 2 * pair + 1 >= t->nq)
		return -1;
	if (hdr)
		memcpy(t->tx, hdr, 12);
	else
		memset(t->tx, 0, 12);
	memcpy(t->tx + 12, frame, len);
	return net_send(&t->q[2 * pair + 1], t->tx, t->tx_gpa, len);
}

int vx_net_recv(struct vx_net *t, unsigned pair, uint8_t *hdr, uint8_t *frame, size_t cap)
{
	uint32_t l;
	uint8_t *b;
	struct vdrv_sg sg;
	if (2 * pair >= t->nq || (b = vdrv_vq_get(&t->q[2 * pair], &l)) == NULL)
		return -1;
	if (l < 12 || l - 12 > cap)
		return -1;
	if (hdr)
		memcpy(hdr, b, 12);
	memcpy(frame, b + 12, l - 12);
	sg = (struct vdrv_sg){loopvm_gpa(&t->vm, b), VX_NET_RXBUF};
	if (vdrv_vq_add(&t->q[2 * pair], NULL, 0, &sg, 1, b) < 0)
		return -1;
	vdrv_vq_kick(&t->q[2 * pair]);
	return (int)(l - 12);
}

/* ------------------------------------------------------------ console */

struct con_out {
	char buf[256];
	size_t len;
	unsigned port;
};

static void con_output(void *opaque, unsigned port, const void *data, size_t n)
{
	struct con_out *o = opaque;
	if (o->len + n < sizeof(o->buf)) {
		memcpy(o->buf + o->len, data, n);
		o->len += n;
	}
	o->port = port;
}

static int con_ctl_expect(struct vdrv_vq *civq, uint32_t id, uint16_t event, uint16_t value)
{
	uint32_t l;
	uint8_t *m = vdrv_vq_get(civq, &l);
	if (m == NULL || l != 8 || vstd_le32(m) != id || vstd_le16(m + 4) != event ||
	    vstd_le16(m + 6) != value)
		return -1;
	return 0;
}

static int con_ctl_send(struct loopvm *vm, struct vdrv_vq *covq, uint32_t id, uint16_t event,
                        uint16_t value)
{
	uint64_t gpa;
	uint8_t *m = loopvm_alloc(vm, 8, 8, &gpa);
	struct vdrv_sg sg = {gpa, 8};
	uint32_t l;
	vstd_put_le32(m, id);
	vstd_put_le16(m + 4, event);
	vstd_put_le16(m + 6, value);
	if (vdrv_vq_add(covq, &sg, 1, NULL, 0, m) < 0)
		return -1;
	vdrv_vq_kick(covq);
	return vx_wait(covq, &l) == m ? 0 : -1;
}

int vx_console(const struct vx_cfg *c, char *msg, size_t len)
{
	struct loopvm vm;
	vstd_virtio_dev *dev = NULL;
	vstd_virtio_console_opts co = VSTD_VIRTIO_CONSOLE_OPTS_INIT;
	struct vdrv_vq q[6];
	struct con_out out = {{0}, 0, 99};
	int single = (c->flags & VX_SINGLE_PORT) != 0, rc = -1;
	unsigned nq = single ? 2 : 6;
	uint64_t gpa;
	uint8_t *b;
	uint32_t l;
	msg[0] = '\0';
	if (loopvm_init(&vm, 8 << 20, 1) < 0)
		return snprintf(msg, len, "loopvm: %s", vstd_error_last()->message), -1;
	co.common.features_on = VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED) |
	                        VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_NOTIFICATION_DATA) |
	                        VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_IN_ORDER);
	co.max_nr_ports = single ? 1 : 2;
	co.output = con_output;
	co.opaque = &out;
	if (vstd_virtio_console_new(&dev, vm.gm, &co) < 0 ||
	    loopvm_attach(&vm, dev, c->transport) < 0)
		FAIL("device: %s", vstd_error_last()->message);
	if (vx_start(&vm, c, q, nq, msg, len) < 0)
		goto out;
	if (vdrv_config_read(&vm.drv, 4, 4) != co.max_nr_ports)
		FAIL("max_nr_ports");
	/* receive buffers for port 0 (and port 1, and control) */
	for (unsigned qi = 0; qi < nq; qi += 2) {
		if (qi == 2 || qi == 0 || qi == 4)
			for (unsigned i = 0; i < 8; i++) {
				struct vdrv_sg sg;
				b = loopvm_alloc(&vm, 64, 8, &gpa);
				sg = (struct vdrv_sg){gpa, qi == 2 ? 8 : 64};
				if (vdrv_vq_add(&q[qi], NULL, 0, &sg, 1, b) < 0)
					FAIL("post");
			}
		vdrv_vq_kick(&q[qi]);
	}
	if (!single) {
		if (con_ctl_send(&vm, &q[3], 0, 0 /* DEVICE_READY */, 1) < 0)
			FAIL("DEVICE_READY");
		if (con_ctl_expect(&q[2], 0, 1, 1) < 0 || con_ctl_expect(&q[2], 1, 1, 1) < 0)
			FAIL("DEVICE_ADD for ports 0 and 1");
		if (con_ctl_send(&vm, &q[3], 0, 3 /* PORT_READY */, 1) < 0 ||
		    con_ctl_send(&vm, &q[3], 1, 3, 1) < 0)
			FAIL("PORT_READY");
		if (con_ctl_expect(&q[2], 0, 4 /* CONSOLE_PORT */, 1) < 0 ||
		    con_ctl_expect(&q[2], 0, 6, 1) < 0 || con_ctl_expect(&q[2], 1, 6, 1) < 0)
			FAIL("CONSOLE_PORT / PORT_OPEN");
		if (vstd_virtio_console_port_open(dev, 1))
			FAIL("port 1 open before the guest opened it");
		if (con_ctl_send(&vm, &q[3], 1, 6 /* PORT_OPEN */, 1) < 0 ||
		    !vstd_virtio_console_port_open(dev, 1))
			FAIL("port 1 not open");
	}
	/* guest -> host on port 0 */
	b = loopvm_alloc(&vm, 16, 8, &gpa);
	memcpy(b, "hello", 5);
	{
		struct vdrv_sg sg = {gpa, 5};
		if (vdrv_vq_add(&q[1], &sg, 1, NULL, 0, b) < 0)
			FAIL("add tx");
		vdrv_vq_kick(&q[1]);
		if (vx_wait(&q[1], &l) != b || out.len != 5 || memcmp(out.buf, "hello", 5) != 0 ||
		    out.port != 0)
			FAIL("port 0 output");
	}
	/* host -> guest on port 0 and (multiport) port 1 */
	for (unsigned port = 0; port < (single ? 1u : 2u); port++) {
		uint8_t *r;
		if (vstd_virtio_console_input(dev, port, "world", 5) != 5)
			FAIL("input to port %u", port);
		r = vdrv_vq_get(&q[port == 0 ? 0 : 4], &l);
		if (r == NULL || l != 5 || memcmp(r, "world", 5) != 0)
			FAIL("port %u input not received", port);
	}
	if (single && vstd_virtio_console_input(dev, 1, "x", 1) != VSTD_ERANGE)
		FAIL("port 1 exists without MULTIPORT");
	/* emergency write */
	out.len = 0;
	vdrv_config_write(&vm.drv, 8, '!', 4);
	if (out.len != 1 || out.buf[0] != '!')
		FAIL("emerg_wr");
	if (vstd_virtio_dev_broken_reason(dev))
		FAIL("device broken: %s", vstd_virtio_dev_broken_reason(dev));
	rc = 0;
out:
	loopvm_fini(&vm);
	return rc;
}
