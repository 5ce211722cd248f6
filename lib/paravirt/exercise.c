/*
 * paravirt/exercise.c - see exercise.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/bytes.h"
#include "paravirt/exercise.h"
#include "paravirt/features.h"

#define FAIL(...)                                                                              \
	do {                                                                                   \
		snprintf(msg, len, __VA_ARGS__);                                               \
		goto out;                                                                      \
	} while (0)

uint64_t vx_features(const struct vx_cfg *c)
{
	uint64_t f = ~0ULL & ~(VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED) | VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_EVENT_IDX) |
			       VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_INDIRECT_DESC) | VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_IN_ORDER));
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

int vx_start(struct loopvm *vm, const struct vx_cfg *c, struct vdrv_vq *vqs, unsigned nq, char *msg, size_t len)
{
	if (vdrv_negotiate(&vm->drv, vx_features(c)) < 0) {
		snprintf(msg, len, "feature negotiation failed (status 0x%x)", vdrv_status(&vm->drv));
		return -1;
	}
	if (c->msix && vm->pci)
		vdrv_msix_enable(&vm->drv, 1);
	for (unsigned q = 0; q < nq; q++) {
		uint16_t vec = c->msix && vm->pci ? (uint16_t)(q + 1) : 0xffff;
		if (vdrv_vq_init(&vqs[q], &vm->drv, &vm->mem, q, c->qsize, vec) < 0) {
			snprintf(msg, len, "queue %u setup failed: %s", q,
				 vstd_virtio_dev_broken_reason(vm->dev) ? vstd_virtio_dev_broken_reason(vm->dev) : "");
			return -1;
		}
	}
	vdrv_set_status(&vm->drv, VDRV_S_ACKNOWLEDGE | VDRV_S_DRIVER | VDRV_S_FEATURES_OK | VDRV_S_DRIVER_OK);
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
	vdrv_notify(vq->dev, vq->index); /* the device runs synchronously */
	return vdrv_vq_get(vq, l);
}

/* ------------------------------------------------------------ blk */

struct blkreq {
	uint8_t *hdr, *status;
	uint64_t hdr_gpa, status_gpa;
};

static int blk_add(struct vdrv_vq *vq, struct blkreq *r, uint32_t type, uint64_t sector, uint64_t data_gpa,
		   uint32_t data_len, int data_in)
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
static int blk_do(struct vdrv_vq *vq, struct blkreq *r, uint32_t type, uint64_t sector, uint64_t data_gpa,
		  uint32_t data_len, int data_in, uint32_t *used_len)
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
	bo.common.features_on = VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED) | VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_IN_ORDER);
	if (vstd_virtio_blk_new(&dev, vm.gm, disk, &bo) < 0 || loopvm_attach(&vm, dev, c->transport) < 0)
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
	if ((st = blk_do(&vq, &reqs[0], VBLK_T_OUT, 8, buf_gpa, 65536, 0, &l)) != VBLK_S_OK || l != 1)
		FAIL("write: status %d used len %u", st, l);
	if ((st = blk_do(&vq, &reqs[0], VBLK_T_IN, 8, buf2_gpa, 65536, 1, &l)) != VBLK_S_OK || l != 65537)
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
			if (blk_add(&vq, &reqs[i], VBLK_T_IN, (done + i) % 2040, buf2_gpa + 512 * (i % 64), 512, 1) < 0)
				FAIL("queue full at request %u", done + i);
		vdrv_vq_kick(&vq);
		for (unsigned i = 0; i < n; i++) {
			struct blkreq *r = vx_wait(&vq, &l);
			if (r == NULL || *r->status != VBLK_S_OK || l != 513)
				FAIL("request %u: %s", done + i, r ? "bad status" : "not completed");
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
	o.features_on = VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED) | VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_IN_ORDER);
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
