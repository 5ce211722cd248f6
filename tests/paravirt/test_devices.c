/*
 * tests/paravirt/test_devices.c - every device driven end to end by the
 * driver-side library over virtio-mmio, modern virtio-pci and transitional
 * virtio-pci, with split and packed rings and the feature combinations the
 * specification allows (EVENT_IDX, INDIRECT_DESC, IN_ORDER, MSI-X).
 */
#include <stdio.h>

#include <pthread.h>
#include <string.h>

#include "core/bytes.h"
#include "paravirt/device.h"
#include "paravirt/exercise.h"
#include "paravirt/features.h"
#include "vtest.h"

typedef int (*scenario_fn)(const struct vx_cfg *c, char *msg, size_t len);

/* Run fn over all 3 transports x 2 layouts x event_idx x indirect (+ MSI-X
 * and IN_ORDER on some). */
static void all_combinations(scenario_fn fn, const char *name, unsigned requests, unsigned depth)
{
	char msg[512];
	unsigned n = 0;
	for (int t = 0; t < 3; t++)
		for (int packed = 0; packed < 2; packed++)
			for (int ev = 0; ev < 2; ev++)
				for (int ind = 0; ind < 2; ind++) {
					struct vx_cfg c = {0};
					c.transport = t;
					c.packed = packed;
					c.event_idx = ev;
					c.indirect = ind;
					c.msix = t == 1 && ev;
					c.in_order = ind && !ev;
					c.requests = requests;
					c.depth = depth;
					int rc = fn(&c, msg, sizeof(msg));
					ck_assert_msg(rc == 0,
					              "%s transport=%d packed=%d event_idx=%d "
					              "indirect=%d msix=%d: %s",
					              name, t, packed, ev, ind, c.msix, msg);
					n++;
				}
	ck_assert_uint_eq(n, 24);
}

START_TEST(blk_all_combinations)
{
	all_combinations(vx_blk, "blk", 300, 8);
}
END_TEST

START_TEST(rng_all_combinations)
{
	all_combinations(vx_rng, "rng", 10, 1);
}
END_TEST

START_TEST(net_all_combinations)
{
	all_combinations(vx_net, "net", 100, 1);
}
END_TEST

START_TEST(net_without_mergeable_buffers)
{
	char msg[512];
	for (int packed = 0; packed < 2; packed++) {
		struct vx_cfg c = {0};
		c.packed = packed;
		c.event_idx = 1;
		c.flags = VX_NO_MRG;
		c.requests = 50;
		ck_assert_msg(vx_net(&c, msg, sizeof(msg)) == 0, "packed=%d: %s", packed, msg);
	}
}
END_TEST

START_TEST(console_all_combinations)
{
	all_combinations(vx_console, "console", 0, 1);
}
END_TEST

START_TEST(console_single_port)
{
	char msg[512];
	for (int t = 0; t < 2; t++) {
		struct vx_cfg c = {0};
		c.transport = t;
		c.flags = VX_SINGLE_PORT;
		ck_assert_msg(vx_console(&c, msg, sizeof(msg)) == 0, "transport=%d: %s", t, msg);
	}
}
END_TEST

START_TEST(net_index_wrap)
{
	char msg[512];
	struct vx_cfg c = {0};
	c.packed = 1;
	c.event_idx = 1;
	c.qsize = 64;
	c.requests = 66000;
	ck_assert_msg(vx_net(&c, msg, sizeof(msg)) == 0, "%s", msg);
}
END_TEST

START_TEST(blk_index_wrap_split)
{
	char msg[512];
	struct vx_cfg c = {0};
	c.requests = 70000; /* past 65,535: the 16-bit indices wrap */
	c.depth = 64;
	c.event_idx = 1;
	c.indirect = 1;
	c.qsize = 128;
	ck_assert_msg(vx_blk(&c, msg, sizeof(msg)) == 0, "%s", msg);
}
END_TEST

START_TEST(blk_index_wrap_packed)
{
	char msg[512];
	struct vx_cfg c = {0};
	c.packed = 1;
	c.requests = 70000;
	c.depth = 32; /* 3 descriptors each, direct: 96 of 100 slots */
	c.event_idx = 1;
	c.transport = 1;
	c.qsize = 100; /* packed rings need not be a power of two */
	ck_assert_msg(vx_blk(&c, msg, sizeof(msg)) == 0, "%s", msg);
}
END_TEST

START_TEST(blk_queue_depth_1_and_64)
{
	char msg[512];
	for (unsigned d = 1; d <= 64; d *= 4) {
		struct vx_cfg c = {0};
		c.requests = 1000;
		c.depth = d;
		ck_assert_msg(vx_blk(&c, msg, sizeof(msg)) == 0, "depth %u: %s", d, msg);
	}
}
END_TEST

/* A legacy (pre-1.0) driver on a transitional PCI device: I/O BAR 0,
 * queue PFN, the legacy ring layout, no VERSION_1. */
static uint64_t io_rd(struct loopvm *vm, uint64_t off, unsigned size)
{
	uint8_t b[8] = {0};
	vt_ok(vstd_virtio_pci_bar_read(vm->pci, 0, off, b, size));
	return vstd_le64(b);
}
static void io_wr(struct loopvm *vm, uint64_t off, uint64_t v, unsigned size)
{
	uint8_t b[8];
	vstd_put_le64(b, v);
	vt_ok(vstd_virtio_pci_bar_write(vm->pci, 0, off, b, size));
}

START_TEST(legacy_driver_on_transitional_pci)
{
	struct loopvm vm;
	vstd_io *io;
	vstd_disk *disk;
	vstd_virtio_dev *dev;
	vstd_disk_open_opts o = VSTD_DISK_OPEN_OPTS_INIT;
	uint8_t *ring, *hdr, *data, *st, *desc, *avail, *used;
	uint64_t ring_gpa, hdr_gpa, data_gpa, st_gpa;
	uint32_t num;
	int is_io;
	vt_ok(loopvm_init(&vm, 4 << 20, 0));
	vt_ok(vstd_io_mem_new(&io, NULL, 0, 0, VSTD_IO_WRITE));
	vt_ok(vstd_io_truncate(io, 1 << 20));
	vt_ok(vstd_io_pwrite(io, "legacy!", 7, 512));
	o.format = "raw";
	o.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open_io(&disk, io, "mem", &o));
	vt_ok(vstd_virtio_blk_new(&dev, vm.gm, disk, NULL));
	vt_ok(loopvm_attach(&vm, dev, 2));
	ck_assert_uint_eq(vstd_virtio_pci_bar(vm.pci, 0, &is_io, NULL), 128);
	ck_assert_int_eq(is_io, 1);
	ck_assert_uint_eq(vm.drv.device_id, 2); /* from the subsystem ID */
	io_wr(&vm, 0x12, 0, 1);
	io_wr(&vm, 0x12, 3, 1);
	ck_assert_uint_eq(io_rd(&vm, 0x00, 4) & (1u << 2), 1u << 2); /* SEG_MAX */
	io_wr(&vm, 0x04, 1u << 9, 4);                                /* FLUSH only */
	ck_assert_uint_eq(io_rd(&vm, 20, 4), (1 << 20) / 512); /* capacity, legacy config offset */
	io_wr(&vm, 0x0e, 0, 2);
	num = (uint32_t)io_rd(&vm, 0x0c, 2);
	ck_assert_uint_eq(num, 256);
	ring = loopvm_alloc(&vm, 3 * 4096, 4096, &ring_gpa);
	hdr = loopvm_alloc(&vm, 16, 16, &hdr_gpa);
	data = loopvm_alloc(&vm, 512, 512, &data_gpa);
	st = loopvm_alloc(&vm, 1, 1, &st_gpa);
	io_wr(&vm, 0x08, ring_gpa >> 12, 4);
	io_wr(&vm, 0x12, 7, 1); /* DRIVER_OK without FEATURES_OK: legacy */
	ck_assert_uint_eq(io_rd(&vm, 0x12, 1), 7);
	desc = ring;
	avail = ring + 16 * num;
	used = ring + 8192; /* align(16*256 + 6 + 2*256, 4096) */
	vstd_put_le32(hdr, 0);
	vstd_put_le64(hdr + 8, 1);
	vstd_put_le64(desc, hdr_gpa);
	vstd_put_le32(desc + 8, 16);
	vstd_put_le16(desc + 12, 1);
	vstd_put_le16(desc + 14, 1);
	vstd_put_le64(desc + 16, data_gpa);
	vstd_put_le32(desc + 24, 512);
	vstd_put_le16(desc + 28, 3);
	vstd_put_le16(desc + 30, 2);
	vstd_put_le64(desc + 32, st_gpa);
	vstd_put_le32(desc + 40, 1);
	vstd_put_le16(desc + 44, 2);
	vstd_put_le16(avail + 4, 0);
	vstd_put_le16(avail + 2, 1);
	*st = 0xee;
	io_wr(&vm, 0x10, 0, 2); /* notify queue 0 */
	ck_assert_uint_eq(vstd_le16(used + 2), 1);
	ck_assert_uint_eq(vstd_le32(used + 8), 513);
	ck_assert_uint_eq(*st, 0);
	ck_assert_int_eq(memcmp(data, "legacy!", 7), 0);
	ck_assert_uint_eq(io_rd(&vm, 0x13, 1), 1); /* ISR: queue interrupt, read clears */
	ck_assert_uint_eq(io_rd(&vm, 0x13, 1), 0);
	loopvm_fini(&vm);
	vstd_disk_close(disk);
	vstd_io_close(io);
}
END_TEST

/* MSI-X: a queue interrupt goes to the queue's vector; masked vectors pend. */
START_TEST(msix_vectors_and_masking)
{
	struct loopvm vm;
	vstd_virtio_dev *dev;
	struct vx_cfg c = {0};
	struct vdrv_vq vq;
	char msg[256];
	uint64_t gpa, addr;
	uint32_t data, l;
	int masked;
	uint8_t *buf, one[4] = {1, 0, 0, 0}, zero[4] = {0};
	struct vdrv_sg sg;
	vt_ok(loopvm_init(&vm, 4 << 20, 0));
	vt_ok(vstd_virtio_rng_new(&dev, vm.gm, NULL));
	vt_ok(loopvm_attach(&vm, dev, 1));
	c.transport = 1;
	c.msix = 1;
	ck_assert_msg(vx_start(&vm, &c, &vq, 1, msg, sizeof(msg)) == 0, "%s", msg);
	vt_ok(vstd_virtio_pci_msix_entry(vm.pci, 1, &addr, &data, &masked));
	ck_assert_uint_eq(addr, 0xfee00000u);
	ck_assert_uint_eq(data, 0x41);
	ck_assert_int_eq(masked, 0);
	buf = loopvm_alloc(&vm, 64, 8, &gpa);
	sg = (struct vdrv_sg){gpa, 64};
	ck_assert_int_eq(vdrv_vq_add(&vq, NULL, 0, &sg, 1, buf), 0);
	vdrv_vq_kick(&vq);
	ck_assert_ptr_eq(vdrv_vq_get(&vq, &l), buf);
	ck_assert_uint_eq(vm.vec_irqs[1], 1); /* queue 0 -> vector 1 */
	ck_assert_uint_eq(vm.vec_irqs[7], 0); /* no INTx */
	/* Mask vector 1: the interrupt pends in the PBA, fires on unmask. */
	vt_ok(vstd_virtio_pci_bar_write(vm.pci, 1, 16 + 12, one, 4));
	ck_assert_int_eq(vdrv_vq_add(&vq, NULL, 0, &sg, 1, buf), 0);
	vdrv_vq_kick(&vq);
	ck_assert_uint_eq(vm.vec_irqs[1], 1);
	{
		uint8_t pba[8];
		vt_ok(vstd_virtio_pci_bar_read(vm.pci, 1, 0x800, pba, 8));
		ck_assert_uint_eq(pba[0] & 2, 2);
	}
	vt_ok(vstd_virtio_pci_bar_write(vm.pci, 1, 16 + 12, zero, 4));
	ck_assert_uint_eq(vm.vec_irqs[1], 2);
	/* A vector past the table reads back as NO_VECTOR. */
	ck_assert_uint_eq(vdrv_config_vector(&vm.drv, 77), 0xffff);
	loopvm_fini(&vm);
}
END_TEST

/* RING_RESET: one queue reset and set up again while the device runs. */
START_TEST(queue_reset)
{
	for (int t = 0; t < 2; t++) {
		struct loopvm vm;
		vstd_virtio_dev *dev;
		struct vx_cfg c = {0};
		struct vdrv_vq vq;
		char msg[256];
		uint64_t gpa;
		uint8_t *buf;
		uint32_t l;
		struct vdrv_sg sg;
		vt_ok(loopvm_init(&vm, 4 << 20, 0));
		vt_ok(vstd_virtio_rng_new(&dev, vm.gm, NULL));
		vt_ok(loopvm_attach(&vm, dev, t));
		c.transport = t;
		ck_assert_msg(vx_start(&vm, &c, &vq, 1, msg, sizeof(msg)) == 0, "%s", msg);
		ck_assert(vstd_virtio_dev_features(dev, 1) &
		          VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_RESET));
		buf = loopvm_alloc(&vm, 64, 8, &gpa);
		sg = (struct vdrv_sg){gpa, 64};
		vdrv_vq_add(&vq, NULL, 0, &sg, 1, buf);
		vdrv_queue_reset(&vm.drv, 0);
		ck_assert_int_eq(vdrv_queue_reset_state(&vm.drv, 0), 1);
		ck_assert_int_eq(vstd_virtio_notify(dev, 0), VSTD_ERANGE); /* not enabled now */
		ck_assert_ptr_null(vdrv_vq_get(&vq, &l));
		/* Set it up again with fresh rings: works, and the reset flag clears. */
		ck_assert_int_eq(vdrv_vq_init(&vq, &vm.drv, &vm.mem, 0, 0, 0xffff), 0);
		ck_assert_int_eq(vdrv_queue_reset_state(&vm.drv, 0), 0);
		vdrv_vq_add(&vq, NULL, 0, &sg, 1, buf);
		vdrv_vq_kick(&vq);
		ck_assert_ptr_eq(vdrv_vq_get(&vq, &l), buf);
		ck_assert_uint_eq(l, 64);
		loopvm_fini(&vm);
	}
}
END_TEST

/* Interrupt suppression: with callbacks disabled no interrupt, with them on one. */
START_TEST(interrupt_suppression)
{
	for (int packed = 0; packed < 2; packed++)
		for (int ev = 0; ev < 2; ev++) {
			struct loopvm vm;
			vstd_virtio_dev *dev;
			vstd_virtio_opts o = VSTD_VIRTIO_OPTS_INIT;
			struct vx_cfg c = {0};
			struct vdrv_vq vq;
			char msg[256];
			uint64_t gpa;
			uint8_t *buf;
			uint32_t l;
			struct vdrv_sg sg;
			unsigned long before;
			vt_ok(loopvm_init(&vm, 4 << 20, 0));
			o.features_on = VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED);
			vt_ok(vstd_virtio_rng_new(&dev, vm.gm, &o));
			vt_ok(loopvm_attach(&vm, dev, 0));
			c.packed = packed;
			c.event_idx = ev;
			ck_assert_msg(vx_start(&vm, &c, &vq, 1, msg, sizeof(msg)) == 0, "%s", msg);
			buf = loopvm_alloc(&vm, 64, 8, &gpa);
			sg = (struct vdrv_sg){gpa, 64};
			/* A first request: right after reset the device interrupts
			 * unconditionally (it has no earlier index to compare with). */
			vdrv_vq_add(&vq, NULL, 0, &sg, 1, buf);
			vdrv_vq_kick(&vq);
			ck_assert_ptr_eq(vdrv_vq_get(&vq, &l), buf);
			vdrv_vq_disable_cb(&vq);
			before = vm.irqs;
			vdrv_vq_add(&vq, NULL, 0, &sg, 1, buf);
			vdrv_vq_kick(&vq);
			ck_assert_ptr_eq(vdrv_vq_get(&vq, &l), buf);
			ck_assert_msg(vm.irqs == before,
			              "packed=%d ev=%d: interrupt while disabled", packed, ev);
			vdrv_vq_enable_cb(&vq);
			vdrv_vq_add(&vq, NULL, 0, &sg, 1, buf);
			vdrv_vq_kick(&vq);
			ck_assert_ptr_eq(vdrv_vq_get(&vq, &l), buf);
			ck_assert_msg(vm.irqs == before + 1, "packed=%d ev=%d: %lu interrupts",
			              packed, ev, vm.irqs - before);
			loopvm_fini(&vm);
		}
}
END_TEST

/* Multiqueue blk, one driver thread per queue notifying concurrently. */
struct mq_arg {
	struct vdrv_vq *vq;
	struct loopvm *vm;
	unsigned q;
	int fails;
};

static void *mq_worker(void *p)
{
	struct mq_arg *a = p;
	uint64_t hg, dg, sg_;
	uint8_t *hdr, *data, *st;
	static pthread_mutex_t alloc_lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&alloc_lock);
	hdr = loopvm_alloc(a->vm, 16, 16, &hg);
	data = loopvm_alloc(a->vm, 512, 512, &dg);
	st = loopvm_alloc(a->vm, 1, 1, &sg_);
	pthread_mutex_unlock(&alloc_lock);
	for (unsigned i = 0; i < 3000; i++) {
		struct vdrv_sg out = {hg, 16}, in[2] = {{dg, 512}, {sg_, 1}};
		uint32_t l;
		vstd_put_le32(hdr, i % 2);
		vstd_put_le64(hdr + 8, a->q * 1000 + i % 1000);
		memset(data, (int)(a->q + 1), 512);
		*st = 0xee;
		if (i % 2 == 0) /* IN: data device-writable */
			vdrv_vq_add(a->vq, &out, 1, in, 2, hdr);
		else { /* OUT: data device-readable */
			struct vdrv_sg o2[2] = {{hg, 16}, {dg, 512}};
			vdrv_vq_add(a->vq, o2, 2, &in[1], 1, hdr);
		}
		vstd_virtio_notify(a->vm->dev, a->q); /* as an ioeventfd thread would */
		if (vdrv_vq_get(a->vq, &l) != hdr || *st != 0)
			a->fails++;
	}
	return NULL;
}

START_TEST(blk_multiqueue_threads)
{
	struct loopvm vm;
	vstd_io *io;
	vstd_disk *disk;
	vstd_virtio_dev *dev;
	vstd_disk_open_opts o = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_virtio_blk_opts bo = VSTD_VIRTIO_BLK_OPTS_INIT;
	struct vx_cfg c = {0};
	struct vdrv_vq vq[4];
	struct mq_arg a[4];
	pthread_t th[4];
	char msg[256];
	vt_ok(loopvm_init(&vm, 8 << 20, 0));
	vt_ok(vstd_io_mem_new(&io, NULL, 0, 0, VSTD_IO_WRITE));
	vt_ok(vstd_io_truncate(io, 4 << 20));
	o.format = "raw";
	o.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open_io(&disk, io, "mem", &o));
	bo.num_queues = 4;
	vt_ok(vstd_virtio_blk_new(&dev, vm.gm, disk, &bo));
	ck_assert(vstd_virtio_dev_features(dev, 0) & VSTD_VIRTIO_BIT(12)); /* MQ */
	vt_ok(loopvm_attach(&vm, dev, 1));
	c.transport = 1;
	c.event_idx = 1;
	ck_assert_msg(vx_start(&vm, &c, vq, 4, msg, sizeof(msg)) == 0, "%s", msg);
	ck_assert_uint_eq(vdrv_config_read(&vm.drv, 34, 2), 4);
	for (unsigned i = 0; i < 4; i++) {
		a[i] = (struct mq_arg){&vq[i], &vm, i, 0};
		ck_assert_int_eq(pthread_create(&th[i], NULL, mq_worker, &a[i]), 0);
	}
	for (unsigned i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(a[i].fails, 0);
	}
	for (unsigned i = 0; i < 4; i++) {
		uint8_t b[512];
		vt_ok(vstd_disk_read(disk, (i * 1000 + 999) * 512ULL, b, 512));
		ck_assert_uint_eq(b[0], i + 1);
	}
	ck_assert_ptr_null(vstd_virtio_dev_broken_reason(dev));
	loopvm_fini(&vm);
	vstd_disk_close(disk);
	vstd_io_close(io);
}
END_TEST

/* The configuration layouts a Linux driver reads, byte for byte (QEMU's
 * values where the spec leaves room; docs/virtio.md lists them). */
START_TEST(config_layouts)
{
	struct loopvm vm;
	vstd_io *io;
	vstd_disk *disk;
	vstd_virtio_dev *dev;
	vstd_disk_open_opts o = VSTD_DISK_OPEN_OPTS_INIT;
	uint8_t cfg[64], pcfg[256];
	vt_ok(loopvm_init(&vm, 1 << 20, 0));
	vt_ok(vstd_io_mem_new(&io, NULL, 0, 0, VSTD_IO_WRITE));
	vt_ok(vstd_io_truncate(io, 64 << 20));
	o.format = "raw";
	o.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open_io(&disk, io, "mem", &o));
	vt_ok(vstd_virtio_blk_new(&dev, vm.gm, disk, NULL));
	vt_ok(loopvm_attach(&vm, dev, 1));
	for (unsigned i = 0; i < 64; i++)
		cfg[i] = (uint8_t)vdrv_config_read(&vm.drv, i, 1);
	ck_assert_uint_eq(vstd_le64(cfg + 0), (64 << 20) / 512); /* capacity */
	ck_assert_uint_eq(vstd_le32(cfg + 8), 0);                /* size_max */
	ck_assert_uint_eq(vstd_le32(cfg + 12), 254);             /* seg_max */
	ck_assert_uint_eq(vstd_le16(cfg + 16), 130);             /* cylinders */
	ck_assert_uint_eq(cfg[18], 16);                          /* heads */
	ck_assert_uint_eq(cfg[19], 63);                          /* sectors */
	ck_assert_uint_eq(vstd_le32(cfg + 20), 512);             /* blk_size */
	ck_assert_uint_eq(cfg[32], 1);                           /* writeback */
	ck_assert_uint_eq(vstd_le16(cfg + 34), 1);               /* num_queues */
	ck_assert_uint_eq(vstd_le32(cfg + 36), 0x3fffff);        /* max_discard_sectors */
	ck_assert_uint_eq(vstd_le32(cfg + 40), 1);               /* max_discard_seg */
	ck_assert_uint_eq(vstd_le32(cfg + 44), 1);               /* discard_sector_alignment */
	ck_assert_uint_eq(vstd_le32(cfg + 48), 0x3fffff);        /* max_write_zeroes_sectors */
	ck_assert_uint_eq(vstd_le32(cfg + 52), 1);               /* max_write_zeroes_seg */
	ck_assert_uint_eq(cfg[56], 1);                           /* write_zeroes_may_unmap */
	ck_assert(vstd_is_zero(cfg + 57, 7));                    /* past the 60-byte config */
	/* writeback is writable with CONFIG_WCE (after FEATURES_OK the driver may write it) */
	vdrv_negotiate(&vm.drv, ~0ULL);
	vdrv_config_write(&vm.drv, 32, 0, 1);
	ck_assert_uint_eq(vdrv_config_read(&vm.drv, 32, 1), 0);
	vdrv_config_write(&vm.drv, 0, 0, 4); /* capacity is read-only */
	ck_assert_uint_eq(vdrv_config_read(&vm.drv, 0, 8), (64 << 20) / 512);
	/* PCI identity and the capability chain. */
	for (unsigned i = 0; i < 256; i += 4)
		vt_ok(vstd_virtio_pci_cfg_read(vm.pci, i, pcfg + i, 4));
	ck_assert_uint_eq(vstd_le16(pcfg + 0), 0x1af4);
	ck_assert_uint_eq(vstd_le16(pcfg + 2), 0x1042);
	ck_assert_uint_eq(pcfg[8], 1); /* revision */
	ck_assert_uint_eq(vstd_le16(pcfg + 0x0a), 0x0100);
	ck_assert_uint_eq(vstd_le16(pcfg + 0x2e), 2);         /* subsystem ID */
	ck_assert_uint_eq(vstd_le32(pcfg + 0x20) & 0xf, 0xc); /* BAR 4: 64-bit prefetchable */
	ck_assert_uint_eq(vm.drv.common_bar, 4);
	ck_assert_uint_eq(vm.drv.common_off, 0);
	ck_assert_uint_eq(vm.drv.isr_off, 0x1000);
	ck_assert_uint_eq(vm.drv.device_off, 0x2000);
	ck_assert_uint_eq(vm.drv.notify_off, 0x3000);
	ck_assert_uint_eq(vm.drv.notify_mult, 4);
	ck_assert_uint_ne(vm.drv.pcicfg_cap, 0);
	ck_assert_uint_ne(vm.drv.msix_cap, 0);
	/* BAR sizing as firmware does it. */
	{
		uint8_t ones[4] = {0xff, 0xff, 0xff, 0xff}, back[4];
		vt_ok(vstd_virtio_pci_cfg_write(vm.pci, 0x20, ones, 4));
		vt_ok(vstd_virtio_pci_cfg_read(vm.pci, 0x20, back, 4));
		ck_assert_uint_eq(vstd_le32(back), 0xffffc00cu); /* 16 KiB */
	}
	/* Linux restores a BAR by writing back what it read, flag bits
	 * included: the decoded address must not take them (a regression
	 * that shifted every modern-BAR access by 0xc). */
	{
		uint8_t lo[4], hi[4] = {0}, cmd[2] = {0x06, 0};
		uint64_t addr = 1;
		int bar_is_io = 1;
		vstd_put_le32(lo, 0xc000400cu);
		vt_ok(vstd_virtio_pci_cfg_write(vm.pci, 0x20, lo, 4));
		vt_ok(vstd_virtio_pci_cfg_write(vm.pci, 0x24, hi, 4));
		vt_ok(vstd_virtio_pci_cfg_write(vm.pci, 0x04, cmd, 2));
		ck_assert_uint_eq(vstd_virtio_pci_bar(vm.pci, 4, &bar_is_io, &addr), 0x4000);
		ck_assert_int_eq(bar_is_io, 0);
		ck_assert_uint_eq(addr, 0xc0004000u);
		cmd[0] = 0x04; /* memory decoding off: nothing decoded */
		vt_ok(vstd_virtio_pci_cfg_write(vm.pci, 0x04, cmd, 2));
		vstd_virtio_pci_bar(vm.pci, 4, &bar_is_io, &addr);
		ck_assert_uint_eq(addr, 0);
	}
	/* The PCI configuration access window reads the common config's num_queues. */
	ck_assert_uint_eq(vdrv_pcicfg_read(&vm.drv, 4, 0x12, 2) & 0xffff, 1);
	loopvm_fini(&vm);
	vstd_disk_close(disk);
	vstd_io_close(io);
}
END_TEST

/* NOTIFICATION_DATA (VIRTIO 1.2 2.9): every device over every transport and
 * both layouts with the feature negotiated, so the driver's notifications
 * carry {vqn, next_off, next_wrap}. */
START_TEST(notification_data_all_devices)
{
	static const struct {
		scenario_fn fn;
		const char *name;
	} devs[] = {{vx_blk, "blk"}, {vx_net, "net"}, {vx_rng, "rng"}, {vx_console, "console"}};
	char msg[512];
	for (unsigned d = 0; d < 4; d++)
		for (int t = 0; t < 3; t++)
			for (int packed = 0; packed < 2; packed++)
				for (int ev = 0; ev < 2; ev++) {
					struct vx_cfg c = {0};
					c.transport = t;
					c.packed = packed;
					c.event_idx = ev;
					c.indirect = 1;
					c.requests = 40;
					c.depth = 4;
					c.flags = VX_NOTIF_DATA;
					ck_assert_msg(devs[d].fn(&c, msg, sizeof(msg)) == 0,
					              "%s transport=%d packed=%d event_idx=%d: %s",
					              devs[d].name, t, packed, ev, msg);
				}
}
END_TEST

/* The device decodes and records exactly the position the driver sent,
 * through both transports and both layouts (the packed ring of 8 wraps
 * a dozen times). */
START_TEST(notification_data_decoded)
{
	for (int t = 0; t < 2; t++)
		for (int packed = 0; packed < 2; packed++) {
			struct loopvm vm;
			vstd_virtio_dev *dev;
			vstd_virtio_opts o = VSTD_VIRTIO_OPTS_INIT;
			struct vx_cfg c = {0};
			struct vdrv_vq vq;
			char msg[256];
			uint64_t gpa;
			uint8_t *buf;
			vt_ok(loopvm_init(&vm, 1 << 20, 0));
			o.features_on = VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED) |
			                VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_NOTIFICATION_DATA);
			vt_ok(vstd_virtio_rng_new(&dev, vm.gm, &o));
			vt_ok(loopvm_attach(&vm, dev, t));
			c.transport = t;
			c.packed = packed;
			c.flags = VX_NOTIF_DATA;
			ck_assert_msg(vx_start(&vm, &c, &vq, 1, msg, sizeof(msg)) == 0, "%s", msg);
			ck_assert(vstd_virtio_dev_features(dev, 1) &
			          VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_NOTIFICATION_DATA));
			buf = loopvm_alloc(&vm, 64, 16, &gpa);
			for (unsigned i = 0; i < 100; i++) {
				struct vdrv_sg sg = {gpa, 64};
				uint32_t l;
				ck_assert_int_eq(vdrv_vq_add(&vq, NULL, 0, &sg, 1, buf), 0);
				ck_assert_int_eq(vdrv_vq_kick(&vq), 1);
				ck_assert_uint_eq(dev->vq[0].notif_count, i + 1);
				ck_assert(dev->vq[0].notif_valid);
				ck_assert_uint_eq(dev->vq[0].notif_next,
				                  vdrv_vq_notify_data(&vq) >> 16);
				ck_assert_ptr_eq(vdrv_vq_get(&vq, &l), buf);
				ck_assert_uint_eq(l, 64);
			}
			ck_assert_uint_eq(dev->vq[0].notif_ignored, 0);
			if (packed)
				ck_assert_uint_eq(vq.avail_wrap, (100 / 8) % 2 == 0);
			loopvm_fini(&vm);
		}
}
END_TEST

/* ------------------------------------------------------------ net: MQ and control */

static const uint8_t dev_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

/* A 60-byte IPv4/UDP frame to `dst` from a.b.c.d:sport to e.f.g.h:dport. */
static void udp_frame(uint8_t *f, const uint8_t *dst, uint32_t sip, uint32_t dip, uint16_t sport,
                      uint16_t dport)
{
	memset(f, 0, 60);
	memcpy(f, dst, 6);
	memcpy(f + 6, "\x02\0\0\0\0\x09", 6);
	vstd_put_be16(f + 12, 0x0800);
	f[14] = 0x45;
	vstd_put_be16(f + 16, 46);
	f[22] = 64;
	f[23] = 17;
	vstd_put_be32(f + 26, sip);
	vstd_put_be32(f + 30, dip);
	vstd_put_be16(f + 34, sport);
	vstd_put_be16(f + 36, dport);
	vstd_put_be16(f + 38, 26);
}

static int rx_count(struct vx_net *t, unsigned pair)
{
	uint8_t f[2048];
	int n = 0;
	while (vx_net_recv(t, pair, NULL, f, sizeof(f)) >= 0)
		n++;
	return n;
}

START_TEST(net_multiqueue)
{
	char msg[512];
	for (int tr = 0; tr < 2; tr++)
		for (int packed = 0; packed < 2; packed++) {
			struct vx_net t;
			struct vx_cfg c = {0};
			vstd_virtio_net_stats st = {VSTD_VIRTIO_NET_STATS_VERSION};
			uint8_t f[60], two[2];
			c.transport = tr;
			c.packed = packed;
			c.event_idx = packed;
			ck_assert_msg(vx_net_open(&t, &c, 4, 0, 0, msg, sizeof(msg)) == 0, "%s",
			              msg);
			ck_assert(vstd_virtio_dev_features(t.dev, 1) & VSTD_VIRTIO_BIT(VNET_F_MQ));
			ck_assert_uint_eq(t.ctrl, 8);
			ck_assert_uint_eq(vdrv_config_read(&t.vm.drv, 8, 2), 4);
			/* Multiqueue is off until VQ_PAIRS_SET: everything on pair 0. */
			udp_frame(f, dev_mac, 0x0a000001, 0x0a000002, 1000, 2000);
			ck_assert_int_eq(vx_net_send(&t, 0, NULL, f, 60), 0);
			ck_assert_int_eq(rx_count(&t, 0), 1);
			ck_assert_int_eq(vstd_virtio_net_receive_pair(t.dev, 1, NULL, f, 60),
			                 VSTD_ERANGE);
			vstd_put_le16(two, 4);
			ck_assert_int_eq(vx_net_ctrl(&t, 4, 0, two, 2), 0);
			vt_ok(vstd_virtio_net_get_stats(t.dev, &st));
			ck_assert_uint_eq(st.pairs, 4);
			/* Loopback: a frame sent on pair k comes back on pair k. */
			for (unsigned k = 0; k < 4; k++) {
				udp_frame(f, dev_mac, 0x0a000001, 0x0a000002, (uint16_t)(1000 + k),
				          2000);
				ck_assert_int_eq(vx_net_send(&t, k, NULL, f, 60), 0);
				for (unsigned j = 0; j < 4; j++)
					ck_assert_int_eq(rx_count(&t, j), j == k);
			}
			/* Automatic steering: the reply of flow k goes to pair k; an
			 * unknown flow to pair 0. */
			for (unsigned k = 0; k < 4; k++) {
				udp_frame(f, dev_mac, 0x0a000002, 0x0a000001, 2000,
				          (uint16_t)(1000 + k));
				vt_ok(vstd_virtio_net_receive(t.dev, NULL, f, 60));
				for (unsigned j = 0; j < 4; j++)
					ck_assert_int_eq(rx_count(&t, j), j == k);
			}
			udp_frame(f, dev_mac, 0x0a000007, 0x0a000001, 2000, 1003);
			vt_ok(vstd_virtio_net_receive(t.dev, NULL, f, 60));
			ck_assert_int_eq(rx_count(&t, 0), 1);
			vt_ok(vstd_virtio_net_receive_pair(t.dev, 2, NULL, f, 60));
			ck_assert_int_eq(rx_count(&t, 2), 1);
			/* Down to 2 pairs: nothing is queued on pairs 2 and 3 any more. */
			vstd_put_le16(two, 2);
			ck_assert_int_eq(vx_net_ctrl(&t, 4, 0, two, 2), 0);
			udp_frame(f, dev_mac, 0x0a000002, 0x0a000001, 2000, 1003);
			vt_ok(vstd_virtio_net_receive(t.dev, NULL, f, 60));
			ck_assert_int_eq(rx_count(&t, 3), 0);
			ck_assert_int_eq(rx_count(&t, 0), 1);
			ck_assert_int_eq(vstd_virtio_net_receive_pair(t.dev, 3, NULL, f, 60),
			                 VSTD_ERANGE);
			ck_assert_ptr_null(vstd_virtio_dev_broken_reason(t.dev));
			vx_net_close(&t);
			/* A driver without MQ finds the control queue at 2. */
			ck_assert_msg(vx_net_open(&t, &c, 4, 0, VSTD_VIRTIO_BIT(VNET_F_MQ), msg,
			                          sizeof(msg)) == 0,
			              "%s", msg);
			ck_assert_uint_eq(t.ctrl, 2);
			ck_assert_int_eq(vx_net_ctrl(&t, 0, 0, "\0", 1), 0);
			vstd_put_le16(two, 2);
			ck_assert_int_eq(vx_net_ctrl(&t, 4, 0, two, 2), 1);
			ck_assert_int_eq(vx_net_send(&t, 0, NULL, f, 60), 0);
			ck_assert_int_eq(rx_count(&t, 0), 1);
			f[5] ^= 1; /* promiscuous off: another MAC is filtered */
			ck_assert_int_eq(vx_net_send(&t, 0, NULL, f, 60), 0);
			ck_assert_int_eq(rx_count(&t, 0), 0);
			vx_net_close(&t);
		}
}
END_TEST

/* Send a frame to dst on pair 0 (loopback): how many came back. */
static int passes(struct vx_net *t, uint8_t *f, const uint8_t *dst)
{
	udp_frame(f, dst, 1, 2, 3, 4);
	ck_assert_int_eq(vx_net_send(t, 0, NULL, f, 60), 0);
	return rx_count(t, 0);
}

/* Receive filtering commands (5.1.6.5.1-3), announce and offloads. */
START_TEST(net_ctrl_commands)
{
	char msg[512];
	for (int tr = 0; tr < 2; tr++) {
		struct vx_net t;
		struct vx_cfg c = {0};
		uint8_t f[64], tbl[4 + 6 * 70 + 4 + 6];
		static const uint8_t other[6] = {0x02, 0, 0, 0, 0, 0x77};
		static const uint8_t mc1[6] = {0x01, 0, 0x5e, 0, 0, 1},
		                     mc2[6] = {0x01, 0, 0x5e, 0, 0, 2};
		static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
		uint8_t gen;
		unsigned long irqs;
		c.transport = tr;
		c.packed = tr;
		ck_assert_msg(vx_net_open(&t, &c, 1, 0, 0, msg, sizeof(msg)) == 0, "%s", msg);
#define PASSES(dst) passes(&t, f, dst)
		/* Promiscuous after reset, as QEMU. */
		ck_assert_int_eq(PASSES(other), 1);
		ck_assert_int_eq(vx_net_ctrl(&t, 0, 0, "\0", 1), 0); /* PROMISC off */
		ck_assert_int_eq(PASSES(other), 0);
		ck_assert_int_eq(PASSES(dev_mac), 1);
		ck_assert_int_eq(PASSES(bcast), 1);
		ck_assert_int_eq(PASSES(mc1), 0);
		ck_assert_int_eq(vx_net_ctrl(&t, 0, 1, "\1", 1), 0); /* ALLMULTI */
		ck_assert_int_eq(PASSES(mc1), 1);
		ck_assert_int_eq(vx_net_ctrl(&t, 0, 3, "\1", 1), 0); /* NOMULTI wins */
		ck_assert_int_eq(PASSES(mc1), 0);
		ck_assert_int_eq(vx_net_ctrl(&t, 0, 3, "\0", 1), 0);
		ck_assert_int_eq(vx_net_ctrl(&t, 0, 1, "\0", 1), 0);
		ck_assert_int_eq(vx_net_ctrl(&t, 0, 2, "\1", 1), 0); /* ALLUNI */
		ck_assert_int_eq(PASSES(other), 1);
		ck_assert_int_eq(vx_net_ctrl(&t, 0, 2, "\0", 1), 0);
		ck_assert_int_eq(vx_net_ctrl(&t, 0, 4, "\1", 1), 0); /* NOUNI */
		ck_assert_int_eq(PASSES(dev_mac), 0);
		ck_assert_int_eq(vx_net_ctrl(&t, 0, 4, "\0", 1), 0);
		ck_assert_int_eq(vx_net_ctrl(&t, 0, 5, "\1", 1), 0); /* NOBCAST */
		ck_assert_int_eq(PASSES(bcast), 0);
		ck_assert_int_eq(vx_net_ctrl(&t, 0, 5, "\0", 1), 0);
		ck_assert_int_eq(vx_net_ctrl(&t, 0, 6, "\0", 1), 1); /* unknown RX command */
		/* MAC table: one unicast, one multicast entry. */
		vstd_put_le32(tbl, 1);
		memcpy(tbl + 4, other, 6);
		vstd_put_le32(tbl + 10, 1);
		memcpy(tbl + 14, mc1, 6);
		ck_assert_int_eq(vx_net_ctrl(&t, 1, 0, tbl, 20), 0);
		ck_assert_int_eq(PASSES(other), 1);
		ck_assert_int_eq(PASSES(mc1), 1);
		ck_assert_int_eq(PASSES(mc2), 0);
		/* 65 unicast entries overflow the table: all unicast passes. */
		vstd_put_le32(tbl, 65);
		memset(tbl + 4, 0x02, 6 * 65);
		vstd_put_le32(tbl + 4 + 6 * 65, 0);
		ck_assert_int_eq(vx_net_ctrl(&t, 1, 0, tbl, 4 + 6 * 65 + 4), 0);
		ck_assert_int_eq(PASSES(other), 1);
		ck_assert_int_eq(PASSES(mc1), 0);
		/* MAC_ADDR_SET changes the configuration space. */
		ck_assert_int_eq(vx_net_ctrl(&t, 1, 1, other, 6), 0);
		ck_assert_uint_eq(vdrv_config_read(&t.vm.drv, 5, 1), 0x77);
		vstd_put_le32(tbl, 0);
		vstd_put_le32(tbl + 4, 0);
		ck_assert_int_eq(vx_net_ctrl(&t, 1, 0, tbl, 8), 0);
		ck_assert_int_eq(PASSES(other), 1);
		ck_assert_int_eq(PASSES(dev_mac), 0);
		/* VLAN filter: a tagged frame passes only for a VLAN in the table. */
		{
			uint8_t vf[64], vid[2];
			memcpy(vf, other, 6);
			memcpy(vf + 6, other, 6);
			vstd_put_be16(vf + 12, 0x8100);
			vstd_put_be16(vf + 14, 5);
			vstd_put_be16(vf + 16, 0x0800);
			memset(vf + 18, 0, 46);
			ck_assert_int_eq(vx_net_send(&t, 0, NULL, vf, 64), 0);
			ck_assert_int_eq(rx_count(&t, 0), 0);
			vstd_put_le16(vid, 5);
			ck_assert_int_eq(vx_net_ctrl(&t, 2, 0, vid, 2), 0);
			ck_assert_int_eq(vx_net_send(&t, 0, NULL, vf, 64), 0);
			ck_assert_int_eq(rx_count(&t, 0), 1);
			ck_assert_int_eq(vx_net_ctrl(&t, 2, 1, vid, 2), 0);
			ck_assert_int_eq(vx_net_send(&t, 0, NULL, vf, 64), 0);
			ck_assert_int_eq(rx_count(&t, 0), 0);
		}
		/* Announce: status bit, config interrupt, acknowledged once. */
		ck_assert_int_eq(vx_net_ctrl(&t, 3, 0, NULL, 0), 1);
		gen = vdrv_config_generation(&t.vm.drv);
		irqs = t.vm.irqs;
		vt_ok(vstd_virtio_net_announce(t.dev));
		ck_assert_uint_eq(vdrv_config_read(&t.vm.drv, 6, 2), 3);
		ck_assert_uint_ne(vdrv_config_generation(&t.vm.drv), gen);
		ck_assert_uint_gt(t.vm.irqs, irqs);
		ck_assert_int_eq(vx_net_ctrl(&t, 3, 0, NULL, 0), 0);
		ck_assert_uint_eq(vdrv_config_read(&t.vm.drv, 6, 2), 1);
		ck_assert_int_eq(vx_net_ctrl(&t, 3, 0, NULL, 0), 1);
		/* Guest offloads: only negotiated ones, then honoured. */
		{
			uint8_t off[8];
			vstd_put_le64(off,
			              VSTD_VIRTIO_BIT(VNET_F_GUEST_CSUM) | VSTD_VIRTIO_BIT(40));
			ck_assert_int_eq(vx_net_ctrl(&t, 5, 0, off, 8), 1);
			vstd_put_le64(off, VSTD_VIRTIO_BIT(VNET_F_GUEST_CSUM));
			ck_assert_int_eq(vx_net_ctrl(&t, 5, 0, off, 8), 0);
		}
		/* No MQ offered (one pair): VQ_PAIRS_SET is refused. */
		ck_assert_int_eq(vx_net_ctrl(&t, 4, 0, "\1\0", 2), 1);
#undef PASSES
		ck_assert_ptr_null(vstd_virtio_dev_broken_reason(t.dev));
		vx_net_close(&t);
	}
}
END_TEST

/* ------------------------------------------------------------ blk: secure erase, zoned */

START_TEST(blk_secure_erase)
{
	char msg[256];
	for (int tr = 0; tr < 2; tr++)
		for (int packed = 0; packed < 2; packed++) {
			struct vx_blkdev t;
			struct vx_cfg c = {0};
			vstd_virtio_blk_opts bo = VSTD_VIRTIO_BLK_OPTS_INIT;
			uint8_t sec[512];
			c.transport = tr;
			c.packed = packed;
			bo.secure_erase = 1;
			ck_assert_msg(
			        vx_blkdev_open(&t, &c, &bo, 1 << 20, 0x5a, msg, sizeof(msg)) == 0,
			        "%s", msg);
			ck_assert(vstd_virtio_dev_features(t.dev, 1) &
			          VSTD_VIRTIO_BIT(VBLK_F_SECURE_ERASE));
			ck_assert_uint_eq(vdrv_config_read(&t.vm.drv, 60, 4), 0x3fffff);
			ck_assert_uint_eq(vdrv_config_read(&t.vm.drv, 64, 4), 1);
			ck_assert_uint_eq(vdrv_config_read(&t.vm.drv, 68, 4), 1);
			/* Erase sectors 8..23. */
			vstd_put_le64(t.buf, 8);
			vstd_put_le32(t.buf + 8, 16);
			vstd_put_le32(t.buf + 12, 0);
			ck_assert_int_eq(vx_blkdev_req(&t, 14, 0, 16, 0, NULL), 0);
			vt_ok(vstd_disk_read(t.disk, 7 * 512, sec, 512));
			ck_assert_uint_eq(sec[511], 0x5a);
			for (unsigned s = 8; s < 24; s++) {
				vt_ok(vstd_disk_read(t.disk, s * 512ULL, sec, 512));
				ck_assert(vstd_is_zero(sec, 512));
			}
			vt_ok(vstd_disk_read(t.disk, 24 * 512, sec, 512));
			ck_assert_uint_eq(sec[0], 0x5a);
			vx_blkdev_close(&t);
			/* Not offered by default (as QEMU): unsupported. */
			ck_assert_msg(vx_blkdev_open(&t, &c, NULL, 1 << 20, 0, msg, sizeof(msg)) ==
			                      0,
			              "%s", msg);
			ck_assert(!(vstd_virtio_dev_features(t.dev, 0) &
			            VSTD_VIRTIO_BIT(VBLK_F_SECURE_ERASE)));
			vstd_put_le64(t.buf, 8);
			vstd_put_le32(t.buf + 8, 16);
			ck_assert_int_eq(vx_blkdev_req(&t, 14, 0, 16, 0, NULL), 2);
			vx_blkdev_close(&t);
		}
}
END_TEST

/* Zone report: descriptor of zone z (type, state, write pointer). */
static void zone_of(struct vx_blkdev *t, unsigned z, unsigned *type, unsigned *state, uint64_t *wp)
{
	uint32_t used;
	ck_assert_int_eq(vx_blkdev_req(t, 16, (uint64_t)z * 2048, 0, 64 + 64, &used), 0);
	ck_assert_uint_eq(used, 64 + 64 + 1);
	ck_assert_uint_eq(vstd_le64(t->buf), 1);
	ck_assert_uint_eq(vstd_le64(t->buf + 64 + 8), (uint64_t)z * 2048);
	*type = t->buf[64 + 24];
	*state = t->buf[64 + 25];
	*wp = vstd_le64(t->buf + 64 + 16);
}

static void expect_zone(struct vx_blkdev *t, unsigned z, unsigned state, uint64_t wp)
{
	unsigned ty, st;
	uint64_t w;
	zone_of(t, z, &ty, &st, &w);
	ck_assert_uint_eq(ty, z == 0 ? 1 : 2);
	ck_assert_msg(st == state, "zone %u state %u, expected %u", z, st, state);
	if (z > 0)
		ck_assert_uint_eq(w, wp);
}

START_TEST(blk_zoned)
{
	char msg[256];
	for (int tr = 0; tr < 2; tr++)
		for (int packed = 0; packed < 2; packed++) {
			struct vx_blkdev t;
			struct vx_cfg c = {0};
			vstd_virtio_blk_opts bo = VSTD_VIRTIO_BLK_OPTS_INIT;
			uint32_t used;
			c.transport = tr;
			c.packed = packed;
			c.event_idx = 1;
			/* 8 MiB: 8 zones of 1 MiB, zone 0 conventional; at most 2
			 * open and 3 active zones.  The disk holds 0xaa bytes. */
			bo.zone_sectors = 2048;
			bo.conventional_zones = 1;
			bo.max_open_zones = 2;
			bo.max_active_zones = 3;
			ck_assert_msg(
			        vx_blkdev_open(&t, &c, &bo, 8 << 20, 0xaa, msg, sizeof(msg)) == 0,
			        "%s", msg);
			ck_assert(vstd_virtio_dev_features(t.dev, 1) &
			          VSTD_VIRTIO_BIT(VBLK_F_ZONED));
			ck_assert(!(vstd_virtio_dev_features(t.dev, 0) &
			            VSTD_VIRTIO_BIT(VBLK_F_DISCARD)));
			ck_assert_uint_eq(vdrv_config_read(&t.vm.drv, 72, 4), 2048);
			ck_assert_uint_eq(vdrv_config_read(&t.vm.drv, 76, 4), 2);
			ck_assert_uint_eq(vdrv_config_read(&t.vm.drv, 80, 4), 3);
			ck_assert_uint_eq(vdrv_config_read(&t.vm.drv, 84, 4), 2048);
			ck_assert_uint_eq(vdrv_config_read(&t.vm.drv, 88, 4), 512);
			ck_assert_uint_eq(vdrv_config_read(&t.vm.drv, 92, 1), 1);
			/* Full report: 8 zones. */
			ck_assert_int_eq(vx_blkdev_req(&t, 16, 0, 0, 64 + 64 * 16, &used), 0);
			ck_assert_uint_eq(vstd_le64(t.buf), 8);
			ck_assert_uint_eq(used, 64 + 64 * 8 + 1);
			for (unsigned z = 0; z < 8; z++) {
				const uint8_t *d = t.buf + 64 + 64 * z;
				ck_assert_uint_eq(vstd_le64(d), 2048);
				ck_assert_uint_eq(vstd_le64(d + 8), z * 2048ULL);
				ck_assert_uint_eq(d[24], z ? 2 : 1);
				ck_assert_uint_eq(d[25], z ? 1 : 0);
			}
			/* Sequential zone 1: written at its write pointer only. */
			memset(t.buf, 0x11, 4096);
			ck_assert_int_eq(vx_blkdev_req(&t, 1, 2048, 4096, 0, NULL), 0);
			expect_zone(&t, 1, 2, 2056);
			ck_assert_int_eq(vx_blkdev_req(&t, 1, 2048, 4096, 0, NULL), 4);
			ck_assert_int_eq(vx_blkdev_req(&t, 1, 2064, 4096, 0, NULL), 4);
			memset(t.buf, 0x11, 4096);
			ck_assert_int_eq(vx_blkdev_req(&t, 1, 2056, 4096, 0, NULL), 0);
			/* Reads past the write pointer are zeroes, whatever the disk holds. */
			ck_assert_int_eq(vx_blkdev_req(&t, 0, 2048, 0, 16384, NULL), 0);
			for (unsigned i = 0; i < 8192; i++)
				ck_assert_uint_eq(t.buf[i], 0x11);
			ck_assert(vstd_is_zero(t.buf + 8192, 8192));
			ck_assert_int_eq(vx_blkdev_req(&t, 0, 0, 0, 512, NULL), 0);
			ck_assert_uint_eq(t.buf[0], 0xaa); /* conventional zone: the disk */
			/* Zone append on zone 2: the device picks the sector. */
			ck_assert_int_eq(vx_blkdev_req(&t, 15, 4096, 1024, 8, &used), 0);
			ck_assert_uint_eq(vstd_le64(t.buf + 1024), 4096);
			ck_assert_uint_eq(used, 9);
			ck_assert_int_eq(vx_blkdev_req(&t, 15, 4096, 1024, 8, NULL), 0);
			ck_assert_uint_eq(vstd_le64(t.buf + 1024), 4098);
			expect_zone(&t, 2, 2, 4100);
			/* Two zones open: opening a third closes an implicitly open one. */
			ck_assert_int_eq(vx_blkdev_req(&t, 1, 6144, 512, 0, NULL), 0);
			expect_zone(&t, 1, 4, 2064); /* closed */
			/* Three active (1 closed, 2 and 3 open): a fourth is refused. */
			ck_assert_int_eq(vx_blkdev_req(&t, 1, 8192, 512, 0, NULL), 6);
			ck_assert_int_eq(vx_blkdev_req(&t, 18, 8192, 0, 0, NULL), 6);
			/* FINISH zone 1 frees an active slot; explicit OPEN of zone 4. */
			ck_assert_int_eq(vx_blkdev_req(&t, 22, 2048, 0, 0, NULL), 0);
			expect_zone(&t, 1, 14, 4096);
			ck_assert_int_eq(vx_blkdev_req(&t, 18, 8192, 0, 0, NULL), 0);
			expect_zone(&t, 4, 3, 8192);
			ck_assert_int_eq(vx_blkdev_req(&t, 1, 2048, 512, 0, NULL), 3); /* full */
			/* RESET zone 1: empty again and its data gone. */
			ck_assert_int_eq(vx_blkdev_req(&t, 24, 2048, 0, 0, NULL), 0);
			expect_zone(&t, 1, 1, 2048);
			{
				uint8_t sec[512];
				vt_ok(vstd_disk_read(t.disk, 2048 * 512, sec, 512));
				ck_assert(vstd_is_zero(sec, 512));
			}
			/* CLOSE of an open zone without data leaves it empty. */
			ck_assert_int_eq(vx_blkdev_req(&t, 20, 8192, 0, 0, NULL), 0);
			expect_zone(&t, 4, 1, 8192);
			/* Zone commands name a sequential zone's first sector. */
			ck_assert_int_eq(vx_blkdev_req(&t, 18, 0, 0, 0, NULL), 3);
			ck_assert_int_eq(vx_blkdev_req(&t, 18, 2049, 0, 0, NULL), 3);
			/* Conventional zone: written anywhere, but not into zone 1. */
			ck_assert_int_eq(vx_blkdev_req(&t, 1, 100, 512, 0, NULL), 0);
			ck_assert_int_eq(vx_blkdev_req(&t, 1, 2047, 1024, 0, NULL), 1);
			/* A write across a sequential zone's end. */
			ck_assert_int_eq(vx_blkdev_req(&t, 24, 4096, 0, 0, NULL), 0);
			ck_assert_int_eq(vx_blkdev_req(&t, 1, 4096, 512, 0, NULL), 0);
			ck_assert_int_eq(vx_blkdev_req(&t, 1, 4097, 2048 * 512, 0, NULL), 1);
			/* RESET_ALL. */
			ck_assert_int_eq(vx_blkdev_req(&t, 26, 0, 0, 0, NULL), 0);
			for (unsigned z = 1; z < 8; z++)
				expect_zone(&t, z, 1, z * 2048ULL);
			ck_assert_ptr_null(vstd_virtio_dev_broken_reason(t.dev));
			vx_blkdev_close(&t);
		}
}
END_TEST

/* Options structures of version 1 (before max_queue_pairs, secure_erase
 * and the zoned fields) are still accepted, and their tail is not read:
 * the v2 fields here hold values the device would refuse. */
START_TEST(version_1_options_accepted)
{
	struct loopvm vm;
	vstd_virtio_dev *dev;
	vstd_virtio_net_opts no = VSTD_VIRTIO_NET_OPTS_INIT;
	vstd_virtio_blk_opts bo = VSTD_VIRTIO_BLK_OPTS_INIT;
	vstd_io *io;
	vstd_disk *disk;
	vstd_disk_open_opts o = VSTD_DISK_OPEN_OPTS_INIT;
	vt_ok(loopvm_init(&vm, 1 << 20, 0));
	no.max_queue_pairs = 999;
	ck_assert_int_eq(vstd_virtio_net_new(&dev, vm.gm, &no), VSTD_EINVAL);
	no.version = 1;
	vt_ok(vstd_virtio_net_new(&dev, vm.gm, &no));
	ck_assert(!(vstd_virtio_dev_features(dev, 0) & VSTD_VIRTIO_BIT(VNET_F_MQ)));
	vstd_virtio_dev_free(dev);
	vt_ok(vstd_io_mem_new(&io, NULL, 0, 0, VSTD_IO_WRITE));
	vt_ok(vstd_io_truncate(io, 1 << 20));
	o.format = "raw";
	o.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open_io(&disk, io, "mem", &o));
	bo.zone_sectors = 3; /* not a power of 2 */
	ck_assert_int_eq(vstd_virtio_blk_new(&dev, vm.gm, disk, &bo), VSTD_EINVAL);
	bo.version = 1;
	vt_ok(vstd_virtio_blk_new(&dev, vm.gm, disk, &bo));
	ck_assert(!(vstd_virtio_dev_features(dev, 0) & VSTD_VIRTIO_BIT(VBLK_F_ZONED)));
	vstd_virtio_dev_free(dev);
	vstd_disk_close(disk);
	vstd_io_close(io);
	loopvm_fini(&vm);
}
END_TEST

START_TEST(mmio_cmdline)
{
	char buf[80];
	ck_assert_int_gt(vstd_virtio_mmio_cmdline(buf, sizeof(buf), 0xd0000000, 0x200, 5), 0);
	ck_assert_str_eq(buf, "virtio_mmio.device=512@0xd0000000:5");
	ck_assert_int_gt(vstd_virtio_mmio_cmdline(buf, sizeof(buf), 0xfeb00000, 4096, 12), 0);
	ck_assert_str_eq(buf, "virtio_mmio.device=4K@0xfeb00000:12");
	ck_assert_int_eq(vstd_virtio_mmio_cmdline(buf, 10, 0xfeb00000, 4096, 12), VSTD_ERANGE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("paravirt/devices");
	TCase *tc = tcase_create("devices");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, blk_all_combinations);
	tcase_add_test(tc, rng_all_combinations);
	tcase_add_test(tc, net_all_combinations);
	tcase_add_test(tc, net_without_mergeable_buffers);
	tcase_add_test(tc, net_index_wrap);
	tcase_add_test(tc, console_all_combinations);
	tcase_add_test(tc, console_single_port);
	tcase_add_test(tc, legacy_driver_on_transitional_pci);
	tcase_add_test(tc, msix_vectors_and_masking);
	tcase_add_test(tc, mmio_cmdline);
	tcase_add_test(tc, notification_data_all_devices);
	tcase_add_test(tc, net_multiqueue);
	tcase_add_test(tc, blk_secure_erase);
	tcase_add_test(tc, blk_zoned);
	tcase_add_test(tc, version_1_options_accepted);
	tcase_add_test(tc, net_ctrl_commands);
	tcase_add_test(tc, notification_data_decoded);
	tcase_add_test(tc, config_layouts);
	tcase_add_test(tc, queue_reset);
	tcase_add_test(tc, interrupt_suppression);
	tcase_add_test(tc, blk_multiqueue_threads);
	tcase_add_test(tc, blk_index_wrap_split);
	tcase_add_test(tc, blk_index_wrap_packed);
	tcase_add_test(tc, blk_queue_depth_1_and_64);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
