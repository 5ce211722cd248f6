/*
 * tests/paravirt/test_hostile.c - a hostile guest: one named test per
 * device-side MUST of VIRTIO 1.2 for virtqueues, plus random rings and
 * descriptors changed under the device's feet.  Guest memory is mapped with
 * PROT_NONE guard pages around each region (loopvm), so a stray access
 * faults even without ASan.  Each test checks that the device either
 * answers with an error status or marks itself NEEDS_RESET, and never
 * crashes, hangs or touches memory outside the map.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "paravirt/device.h"
#include "paravirt/exercise.h"
#include "paravirt/features.h"
#include "vtest.h"

#define QS 16

struct h {
	struct loopvm vm;
	vstd_io *io, *hio;
	vstd_disk *disk;
	struct vdrv_vq vq;
	uint8_t *hdr, *status, *data;
	uint64_t hdr_gpa, status_gpa, data_gpa;
	uint16_t avail_idx; /* split: our own count */
	uint16_t ppos;      /* packed: next slot */
	int pwrap;
};

static vstd_io *g_hook_io; /* for the "changed after fetch" disk */
static void (*g_on_write)(void);

static int hook_pread(void *self, void *buf, size_t len, uint64_t off, size_t *done)
{
	(void)self;
	return vstd_io_pread_partial(g_hook_io, buf, len, off, done);
}
static int hook_pwrite(void *self, const void *buf, size_t len, uint64_t off)
{
	(void)self;
	if (g_on_write)
		g_on_write();
	return vstd_io_pwrite(g_hook_io, buf, len, off);
}
static int hook_size(void *self, uint64_t *size)
{
	(void)self;
	return vstd_io_size(g_hook_io, size);
}
static const vstd_io_methods hook_methods = {VSTD_IO_METHODS_VERSION,
                                             "hook",
                                             hook_pread,
                                             hook_pwrite,
                                             hook_size,
                                             NULL,
                                             NULL,
                                             NULL,
                                             NULL,
                                             NULL,
                                             NULL,
                                             NULL};

static void setup_ex(struct h *h, int packed, int indirect, int two_regions, int hooked)
{
	vstd_disk_open_opts o = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_virtio_blk_opts bo = VSTD_VIRTIO_BLK_OPTS_INIT;
	vstd_virtio_dev *dev;
	struct vx_cfg c = {0};
	char msg[256];
	memset(h, 0, sizeof(*h));
	vt_ok(loopvm_init(&h->vm, 2 << 20, two_regions));
	vt_ok(vstd_io_mem_new(&h->io, NULL, 0, 0, VSTD_IO_WRITE));
	vt_ok(vstd_io_truncate(h->io, 1 << 20));
	o.format = "raw";
	o.flags = VSTD_DISK_RDWR;
	if (hooked) {
		g_hook_io = h->io;
		vt_ok(vstd_io_new(&h->hio, &hook_methods, h, "hooked"));
		vt_ok(vstd_disk_open_io(&h->disk, h->hio, "hooked", &o));
	} else {
		vt_ok(vstd_disk_open_io(&h->disk, h->io, "mem", &o));
	}
	bo.common.queue_size = QS;
	bo.common.features_on = VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED);
	vt_ok(vstd_virtio_blk_new(&dev, h->vm.gm, h->disk, &bo));
	vt_ok(loopvm_attach(&h->vm, dev, 0));
	c.packed = packed;
	c.indirect = indirect;
	ck_assert_msg(vx_start(&h->vm, &c, &h->vq, 1, msg, sizeof(msg)) == 0, "%s", msg);
	h->hdr = loopvm_alloc(&h->vm, 16, 16, &h->hdr_gpa);
	h->status = loopvm_alloc(&h->vm, 1, 1, &h->status_gpa);
	h->data = loopvm_alloc(&h->vm, 4096, 4096, &h->data_gpa);
	*h->status = 0xee;
	h->pwrap = 1;
}

static void setup(struct h *h, int packed, int indirect)
{
	setup_ex(h, packed, indirect, 0, 0);
}

static void teardown(struct h *h)
{
	loopvm_fini(&h->vm);
	vstd_disk_close(h->disk);
	vstd_io_close(h->hio);
	vstd_io_close(h->io);
}

static void hdr(struct h *h, uint32_t type, uint64_t sector)
{
	vstd_put_le32(h->hdr, type);
	vstd_put_le32(h->hdr + 4, 0);
	vstd_put_le64(h->hdr + 8, sector);
}

/* Split ring: write descriptor i as the guest would. */
static void sdesc(struct h *h, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                  uint16_t next)
{
	uint8_t *d = h->vq.desc + 16 * i;
	vstd_put_le64(d, addr);
	vstd_put_le32(d + 8, len);
	vstd_put_le16(d + 12, flags);
	vstd_put_le16(d + 14, next);
}

static void spublish(struct h *h, uint16_t head)
{
	vstd_put_le16(h->vq.avail + 4 + 2 * (h->avail_idx % QS), head);
	h->avail_idx++;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vstd_put_le16(h->vq.avail + 2, h->avail_idx);
}

/* Packed ring: write the next descriptor, available in the current wrap. */
static void pdesc(struct h *h, uint64_t addr, uint32_t len, uint16_t id, uint16_t flags)
{
	uint8_t *d = h->vq.desc + 16 * h->ppos;
	vstd_put_le64(d, addr);
	vstd_put_le32(d + 8, len);
	vstd_put_le16(d + 12, id);
	flags |= h->pwrap ? (1u << 7) : (1u << 15);
	vstd_put_le16(d + 14, flags);
	if (++h->ppos == QS) {
		h->ppos = 0;
		h->pwrap ^= 1;
	}
}

static int kick(struct h *h)
{
	return vstd_virtio_notify(h->vm.dev, 0);
}

static int broken(struct h *h)
{
	return (vstd_virtio_dev_status(h->vm.dev) & VSTD_VIRTIO_STATUS_NEEDS_RESET) != 0 &&
	       vstd_virtio_dev_broken_reason(h->vm.dev) != NULL;
}

static uint16_t used_idx(struct h *h)
{
	return vstd_le16(h->vq.used + 2);
}

/* The device broke with a message naming the rule; a config interrupt went out. */
static void expect_broken(struct h *h, int rc, const char *words)
{
	ck_assert_int_eq(rc, VSTD_ECORRUPT);
	ck_assert_msg(broken(h), "device not marked NEEDS_RESET");
	ck_assert_msg(strstr(vstd_virtio_dev_broken_reason(h->vm.dev), words) != NULL,
	              "reason '%s' lacks '%s'", vstd_virtio_dev_broken_reason(h->vm.dev), words);
	ck_assert_msg(vstd_virtio_isr_pending(h->vm.dev) & 2, "no configuration-change interrupt");
	/* A broken device ignores further notifications. */
	ck_assert_int_eq(kick(h), VSTD_ESTATE);
}

/* A well-formed read request on descriptors 0..2 (split). */
static void good_read_split(struct h *h, unsigned base)
{
	hdr(h, VBLK_T_IN, 0);
	sdesc(h, base, h->hdr_gpa, 16, 1, (uint16_t)(base + 1));
	sdesc(h, base + 1, h->data_gpa, 512, 3, (uint16_t)(base + 2));
	sdesc(h, base + 2, h->status_gpa, 1, 2, 0);
}

/* ------------------------------------------------------------ the MUSTs */

START_TEST(head_index_below_queue_size)
{
	struct h h;
	setup(&h, 0, 0);
	good_read_split(&h, 0);
	spublish(&h, QS); /* head == queue size */
	expect_broken(&h, kick(&h), "head descriptor 16");
	ck_assert_uint_eq(used_idx(&h), 0);
	teardown(&h);
}
END_TEST

START_TEST(next_index_below_queue_size)
{
	struct h h;
	setup(&h, 0, 0);
	good_read_split(&h, 0);
	sdesc(&h, 1, h.data_gpa, 512, 3, 0xffff);
	spublish(&h, 0);
	expect_broken(&h, kick(&h), "next descriptor 65535");
	teardown(&h);
}
END_TEST

START_TEST(chain_loop_is_bounded_by_queue_size)
{
	struct h h;
	setup(&h, 0, 0);
	hdr(&h, VBLK_T_IN, 0);
	sdesc(&h, 0, h.hdr_gpa, 16, 1, 1);
	sdesc(&h, 1, h.hdr_gpa, 16, 1, 0); /* 0 -> 1 -> 0 -> ... */
	spublish(&h, 0);
	expect_broken(&h, kick(&h), "longer than the queue size");
	teardown(&h);
}
END_TEST

START_TEST(chain_longer_than_queue_packed)
{
	struct h h;
	setup(&h, 1, 0);
	hdr(&h, VBLK_T_IN, 0);
	/* Every descriptor of the ring says NEXT, and the next wrap's too. */
	for (unsigned i = 0; i < QS; i++)
		pdesc(&h, h.hdr_gpa, 16, 0, 1);
	/* Slot 0 again, now in the other wrap: marked available for it too. */
	vstd_put_le16(h.vq.desc + 14, 1 | (1u << 7));
	expect_broken(&h, kick(&h), "");
	teardown(&h);
}
END_TEST

START_TEST(no_nested_indirect_tables)
{
	struct h h;
	uint64_t tgpa;
	uint8_t *t;
	setup(&h, 0, 1);
	t = loopvm_alloc(&h.vm, 64, 16, &tgpa);
	vstd_put_le64(t, tgpa);
	vstd_put_le32(t + 8, 32);
	vstd_put_le16(t + 12, 4); /* INDIRECT inside an indirect table */
	sdesc(&h, 0, tgpa, 32, 4, 0);
	spublish(&h, 0);
	expect_broken(&h, kick(&h), "nested");
	teardown(&h);
}
END_TEST

START_TEST(indirect_length_multiple_of_16)
{
	struct h h;
	uint64_t tgpa;
	setup(&h, 0, 1);
	loopvm_alloc(&h.vm, 64, 16, &tgpa);
	sdesc(&h, 0, tgpa, 24, 4, 0);
	spublish(&h, 0);
	expect_broken(&h, kick(&h), "multiple of 16");
	teardown(&h);
}
END_TEST

START_TEST(indirect_length_nonzero)
{
	struct h h;
	uint64_t tgpa;
	setup(&h, 1, 1);
	loopvm_alloc(&h.vm, 64, 16, &tgpa);
	pdesc(&h, tgpa, 0, 0, 4);
	expect_broken(&h, kick(&h), "nonzero multiple of 16");
	teardown(&h);
}
END_TEST

START_TEST(indirect_needs_the_feature)
{
	struct h h;
	uint64_t tgpa;
	setup(&h, 0, 0);
	loopvm_alloc(&h.vm, 64, 16, &tgpa);
	sdesc(&h, 0, tgpa, 32, 4, 0);
	spublish(&h, 0);
	expect_broken(&h, kick(&h), "INDIRECT_DESC was not negotiated");
	teardown(&h);
}
END_TEST

START_TEST(indirect_and_next_together)
{
	struct h h;
	uint64_t tgpa;
	setup(&h, 0, 1);
	loopvm_alloc(&h.vm, 64, 16, &tgpa);
	sdesc(&h, 0, tgpa, 32, 4 | 1, 1);
	sdesc(&h, 1, h.status_gpa, 1, 2, 0);
	spublish(&h, 0);
	expect_broken(&h, kick(&h), "both INDIRECT and NEXT");
	teardown(&h);
}
END_TEST

START_TEST(indirect_table_longer_than_queue)
{
	struct h h;
	uint64_t tgpa;
	setup(&h, 0, 1);
	loopvm_alloc(&h.vm, 16 * (QS + 1), 16, &tgpa);
	sdesc(&h, 0, tgpa, 16 * (QS + 1), 4, 0);
	spublish(&h, 0);
	expect_broken(&h, kick(&h), "longer than the queue size");
	teardown(&h);
}
END_TEST

START_TEST(readable_before_writable)
{
	struct h h;
	setup(&h, 0, 0);
	hdr(&h, VBLK_T_IN, 0);
	sdesc(&h, 0, h.status_gpa, 1, 2 | 1, 1); /* writable first */
	sdesc(&h, 1, h.hdr_gpa, 16, 0, 0);       /* then readable */
	spublish(&h, 0);
	expect_broken(&h, kick(&h), "follows a device-writable");
	teardown(&h);
}
END_TEST

START_TEST(readable_before_writable_packed_indirect)
{
	struct h h;
	uint64_t tgpa;
	uint8_t *t;
	setup(&h, 1, 1);
	t = loopvm_alloc(&h.vm, 32, 16, &tgpa);
	vstd_put_le64(t, h.status_gpa);
	vstd_put_le32(t + 8, 1);
	vstd_put_le16(t + 14, 2);
	vstd_put_le64(t + 16, h.hdr_gpa);
	vstd_put_le32(t + 24, 16);
	pdesc(&h, tgpa, 32, 0, 4);
	expect_broken(&h, kick(&h), "follows a device-writable");
	teardown(&h);
}
END_TEST

START_TEST(avail_index_jump_marks_needs_reset)
{
	struct h h;
	setup(&h, 0, 0);
	good_read_split(&h, 0);
	vstd_put_le16(h.vq.avail + 2, QS + 1); /* moved by more than the queue size */
	expect_broken(&h, kick(&h), "more than the queue size");
	ck_assert_uint_eq(used_idx(&h), 0); /* nothing processed, no loop */
	teardown(&h);
}
END_TEST

START_TEST(buffer_outside_guest_memory)
{
	struct h h;
	setup(&h, 0, 0);
	good_read_split(&h, 0);
	sdesc(&h, 1, h.vm.end + 4096, 512, 3, 2); /* past the end of RAM */
	spublish(&h, 0);
	expect_broken(&h, kick(&h), "outside guest memory");
	teardown(&h);
}
END_TEST

START_TEST(buffer_below_guest_memory)
{
	struct h h;
	setup(&h, 1, 0);
	hdr(&h, VBLK_T_IN, 0);
	pdesc(&h, h.hdr_gpa, 16, 0, 1);
	pdesc(&h, LOOPVM_BASE - 512, 1024, 0, 3); /* starts in the hole under RAM */
	pdesc(&h, h.status_gpa, 1, 0, 2);
	expect_broken(&h, kick(&h), "outside guest memory");
	teardown(&h);
}
END_TEST

START_TEST(buffer_address_wraps)
{
	struct h h;
	setup(&h, 0, 0);
	good_read_split(&h, 0);
	sdesc(&h, 1, 0xfffffffffffff000ULL, 0x2000, 3, 2);
	spublish(&h, 0);
	expect_broken(&h, kick(&h), "wraps");
	teardown(&h);
}
END_TEST

START_TEST(length_4gib)
{
	struct h h;
	setup(&h, 0, 0);
	good_read_split(&h, 0);
	sdesc(&h, 1, h.data_gpa, 0xffffffffu, 3, 2); /* 4 GiB - 1 of 2 MiB RAM */
	spublish(&h, 0);
	expect_broken(&h, kick(&h), "outside guest memory");
	teardown(&h);
}
END_TEST

START_TEST(zero_length_descriptors)
{
	struct h h;
	setup(&h, 0, 0);
	/* A zero-length buffer in the middle of a chain is harmless. */
	hdr(&h, VBLK_T_IN, 0);
	sdesc(&h, 0, h.hdr_gpa, 16, 1, 1);
	sdesc(&h, 1, 0, 0, 3, 2); /* address 0 is not RAM, but length 0 touches nothing */
	sdesc(&h, 2, h.data_gpa, 512, 3, 3);
	sdesc(&h, 3, h.status_gpa, 1, 2, 0);
	spublish(&h, 0);
	ck_assert_int_eq(kick(&h), 0);
	ck_assert_uint_eq(used_idx(&h), 1);
	ck_assert_uint_eq(*h.status, VBLK_S_OK);
	/* A chain of one zero-length descriptor: no header, no status: used
	 * with length 0, the device stays up. */
	sdesc(&h, 4, 0, 0, 0, 0);
	spublish(&h, 4);
	ck_assert_int_eq(kick(&h), 0);
	ck_assert_uint_eq(used_idx(&h), 2);
	ck_assert_uint_eq(vstd_le32(h.vq.used + 4 + 8 * 1 + 4), 0);
	ck_assert(!broken(&h));
	teardown(&h);
}
END_TEST

START_TEST(writable_where_readable_is_due)
{
	struct h h;
	setup(&h, 0, 0);
	/* A write request whose data buffer is device-writable. */
	hdr(&h, VBLK_T_OUT, 0);
	sdesc(&h, 0, h.hdr_gpa, 16, 1, 1);
	sdesc(&h, 1, h.data_gpa, 512, 3, 2);
	sdesc(&h, 2, h.status_gpa, 1, 2, 0);
	spublish(&h, 0);
	ck_assert_int_eq(kick(&h), 0);
	ck_assert_uint_eq(*h.status, VBLK_S_IOERR);
	/* A header that is device-writable: nothing readable at all. */
	*h.status = 0xee;
	sdesc(&h, 3, h.hdr_gpa, 16, 3, 4);
	sdesc(&h, 4, h.status_gpa, 1, 2, 0);
	spublish(&h, 3);
	ck_assert_int_eq(kick(&h), 0);
	ck_assert_uint_eq(used_idx(&h), 2);
	ck_assert_uint_eq(*h.status, 0xee); /* no header: not answered */
	ck_assert(!broken(&h));
	teardown(&h);
}
END_TEST

START_TEST(writable_buffer_in_read_only_memory)
{
	struct h h;
	static uint8_t rom[4096] __attribute__((aligned(4096)));
	setup(&h, 0, 0);
	vt_ok(vstd_guestmem_add(h.vm.gm, 0x10000, rom, sizeof(rom), VSTD_GUESTMEM_READONLY));
	good_read_split(&h, 0);
	sdesc(&h, 1, 0x10000, 512, 3, 2);
	spublish(&h, 0);
	expect_broken(&h, kick(&h), "read-only");
	ck_assert(vstd_is_zero(rom, sizeof(rom)));
	teardown(&h);
}
END_TEST

static struct h *g_h;
static void scribble_descriptors(void)
{
	/* The guest rewrites the chain while the device works on it: point
	 * the status descriptor outside memory with a huge length. */
	sdesc(g_h, 2, 0xdead0000000ULL, 0xffffffffu, 2, 0);
	sdesc(g_h, 1, 0xdead0000000ULL, 0xffffffffu, 1, 2);
	vstd_put_le16(g_h->vq.avail + 4, 9);
}

START_TEST(descriptors_changed_after_fetch)
{
	struct h h;
	setup_ex(&h, 0, 0, 0, 1);
	g_h = &h;
	g_on_write = scribble_descriptors;
	hdr(&h, VBLK_T_OUT, 0);
	memset(h.data, 0x5a, 512);
	sdesc(&h, 0, h.hdr_gpa, 16, 1, 1);
	sdesc(&h, 1, h.data_gpa, 512, 1, 2);
	sdesc(&h, 2, h.status_gpa, 1, 2, 0);
	spublish(&h, 0);
	ck_assert_int_eq(kick(&h), 0);
	g_on_write = NULL;
	/* The device used what it fetched: status at the original place, head 0. */
	ck_assert_uint_eq(*h.status, VBLK_S_OK);
	ck_assert_uint_eq(used_idx(&h), 1);
	ck_assert_uint_eq(vstd_le32(h.vq.used + 4), 0);
	ck_assert_uint_eq(vstd_le32(h.vq.used + 8), 1);
	ck_assert(!broken(&h));
	{
		uint8_t back[512];
		vt_ok(vstd_disk_read(h.disk, 0, back, 512));
		ck_assert_uint_eq(back[0], 0x5a);
		ck_assert_uint_eq(back[511], 0x5a);
	}
	teardown(&h);
}
END_TEST

START_TEST(packed_chain_continuation_not_available)
{
	struct h h;
	setup(&h, 1, 0);
	hdr(&h, VBLK_T_IN, 0);
	pdesc(&h, h.hdr_gpa, 16, 0, 1);
	pdesc(&h, h.status_gpa, 1, 0, 2);
	vstd_put_le16(h.vq.desc + 16 + 14, 2); /* second: AVAIL bit missing */
	expect_broken(&h, kick(&h), "not marked available");
	teardown(&h);
}
END_TEST

START_TEST(chain_straddles_regions)
{
	struct h h;
	uint64_t edge;
	uint8_t *lo, *hi;
	setup_ex(&h, 0, 0, 1, 0);
	edge = loopvm_edge(&h.vm);
	lo = loopvm_host(&h.vm, edge - 256);
	hi = loopvm_host(&h.vm, edge);
	ck_assert_ptr_nonnull(lo);
	ck_assert_ptr_nonnull(hi);
	ck_assert_ptr_ne(lo + 256, hi); /* really two separate mappings */
	memset(lo, 0x11, 256);
	memset(hi, 0x22, 256);
	hdr(&h, VBLK_T_OUT, 4);
	sdesc(&h, 0, h.hdr_gpa, 16, 1, 1);
	sdesc(&h, 1, edge - 256, 512, 1, 2);
	sdesc(&h, 2, h.status_gpa, 1, 2, 0);
	spublish(&h, 0);
	ck_assert_int_eq(kick(&h), 0);
	ck_assert_uint_eq(*h.status, VBLK_S_OK);
	memset(lo, 0, 256);
	memset(hi, 0, 256);
	hdr(&h, VBLK_T_IN, 4);
	sdesc(&h, 1, edge - 256, 512, 3, 2);
	spublish(&h, 0);
	ck_assert_int_eq(kick(&h), 0);
	ck_assert_uint_eq(lo[0], 0x11);
	ck_assert_uint_eq(lo[255], 0x11);
	ck_assert_uint_eq(hi[0], 0x22);
	ck_assert_uint_eq(hi[255], 0x22);
	teardown(&h);
}
END_TEST

START_TEST(ring_outside_memory_or_misaligned)
{
	struct h h;
	setup(&h, 0, 0);
	/* Reset, set a queue up with a descriptor table past the end of RAM. */
	vdrv_negotiate(&h.vm.drv, ~0ULL & ~VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED));
	ck_assert_int_lt(vdrv_queue_setup(&h.vm.drv, 0, QS, h.vm.end, h.vq.driver_gpa,
	                                  h.vq.device_gpa, 0xffff),
	                 0);
	ck_assert(broken(&h));
	vdrv_negotiate(&h.vm.drv, ~0ULL & ~VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED));
	ck_assert(!broken(&h)); /* reset cleared it */
	ck_assert_int_lt(vdrv_queue_setup(&h.vm.drv, 0, QS, h.vq.desc_gpa + 8, h.vq.driver_gpa,
	                                  h.vq.device_gpa, 0xffff),
	                 0);
	ck_assert(strstr(vstd_virtio_dev_broken_reason(h.vm.dev), "aligned") != NULL);
	vdrv_negotiate(&h.vm.drv, ~0ULL & ~VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED));
	ck_assert_int_lt(vdrv_queue_setup(&h.vm.drv, 0, 12, h.vq.desc_gpa, h.vq.driver_gpa,
	                                  h.vq.device_gpa, 0xffff),
	                 0); /* split rings need a power of two */
	teardown(&h);
}
END_TEST

START_TEST(needs_reset_then_reset_recovers)
{
	struct h h;
	struct vx_cfg c = {0};
	char msg[256];
	setup(&h, 0, 0);
	spublish(&h, QS + 3);
	ck_assert_int_eq(kick(&h), VSTD_ECORRUPT);
	ck_assert(broken(&h));
	/* The driver resets and starts over; everything works again. */
	ck_assert_int_eq(vx_start(&h.vm, &c, &h.vq, 1, msg, sizeof(msg)), 0);
	ck_assert(!broken(&h));
	h.avail_idx = 0;
	good_read_split(&h, 0);
	spublish(&h, 0);
	ck_assert_int_eq(kick(&h), 0);
	ck_assert_uint_eq(*h.status, VBLK_S_OK);
	teardown(&h);
}
END_TEST

START_TEST(notify_before_driver_ok_or_bad_queue)
{
	struct h h;
	setup(&h, 0, 0);
	ck_assert_int_eq(vstd_virtio_notify(h.vm.dev, 5), VSTD_ERANGE);
	vdrv_reset(&h.vm.drv);
	ck_assert_int_eq(kick(&h), VSTD_ESTATE);
	teardown(&h);
}
END_TEST

START_TEST(features_not_offered_are_refused)
{
	struct h h;
	setup(&h, 0, 0);
	vdrv_reset(&h.vm.drv);
	vdrv_set_status(&h.vm.drv, 3);
	/* Accept bit 50 which the device never offered. */
	h.vm.drv.bus.write(h.vm.drv.bus.ctx, VDRV_SPACE_MMIO, 0x24, 1, 4);
	h.vm.drv.bus.write(h.vm.drv.bus.ctx, VDRV_SPACE_MMIO, 0x20, 1u | (1u << 18), 4);
	vdrv_set_status(&h.vm.drv, 3 | 8);
	ck_assert_uint_eq(vdrv_status(&h.vm.drv) & 8, 0);
	/* Without VERSION_1 a modern device refuses too. */
	vdrv_reset(&h.vm.drv);
	vdrv_set_status(&h.vm.drv, 3);
	vdrv_set_status(&h.vm.drv, 3 | 8);
	ck_assert_uint_eq(vdrv_status(&h.vm.drv) & 8, 0);
	/* DRIVER_OK without FEATURES_OK is ignored. */
	vdrv_set_status(&h.vm.drv, 3 | 4);
	ck_assert_uint_eq(vdrv_status(&h.vm.drv) & 4, 0);
	teardown(&h);
}
END_TEST

/* ------------------------------------------------------------ notification data */

struct nd {
	struct loopvm vm;
	vstd_virtio_dev *dev;
	struct vdrv_vq vq;
	uint8_t *buf;
	uint64_t gpa;
};

/* An rng device (queue size 8) on mmio (0) or pci (1); with_feature: the
 * device offers and the driver takes NOTIFICATION_DATA. */
static void nd_setup(struct nd *n, int transport, int packed, int with_feature)
{
	vstd_virtio_opts o = VSTD_VIRTIO_OPTS_INIT;
	struct vx_cfg c = {0};
	char msg[256];
	memset(n, 0, sizeof(*n));
	vt_ok(loopvm_init(&n->vm, 1 << 20, 0));
	o.features_on = VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED) |
	                (with_feature ? VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_NOTIFICATION_DATA) : 0);
	vt_ok(vstd_virtio_rng_new(&n->dev, n->vm.gm, &o));
	vt_ok(loopvm_attach(&n->vm, n->dev, transport));
	c.transport = transport;
	c.packed = packed;
	c.flags = with_feature ? VX_NOTIF_DATA : 0;
	ck_assert_msg(vx_start(&n->vm, &c, &n->vq, 1, msg, sizeof(msg)) == 0, "%s", msg);
	n->buf = loopvm_alloc(&n->vm, 64, 16, &n->gpa);
}

/* Post one buffer without notifying. */
static void nd_post(struct nd *n)
{
	struct vdrv_sg sg = {n->gpa, 64};
	ck_assert_int_eq(vdrv_vq_add(&n->vq, NULL, 0, &sg, 1, n->buf), 0);
}

START_TEST(notification_data_naming_another_queue_is_ignored)
{
	/* pci: the notify address names the queue; data whose vqn names
	 * another queue is not recorded (and the device stays up). */
	for (int packed = 0; packed < 2; packed++) {
		struct nd n;
		uint32_t l;
		nd_setup(&n, 1, packed, 1);
		nd_post(&n);
		vdrv_notify_data(&n.vm.drv, 0, (vdrv_vq_notify_data(&n.vq) & 0xffff0000u) | 5);
		ck_assert_uint_eq(n.dev->vq[0].notif_ignored, 1);
		ck_assert(!n.dev->vq[0].notif_valid);
		ck_assert_ptr_eq(vdrv_vq_get(&n.vq, &l), n.buf);
		ck_assert_ptr_null(vstd_virtio_dev_broken_reason(n.dev));
		loopvm_fini(&n.vm);
	}
}
END_TEST

START_TEST(notification_data_outside_the_ring_is_ignored)
{
	/* split: an available index more than a queue size ahead; packed: an
	 * offset past the ring.  A hint, not trusted: ignored, ring decides. */
	for (int t = 0; t < 2; t++)
		for (int packed = 0; packed < 2; packed++) {
			struct nd n;
			uint32_t l, bogus;
			nd_setup(&n, t, packed, 1);
			bogus = packed ? 0x7fffu : 9u + n.vq.num;
			nd_post(&n);
			vdrv_notify_data(&n.vm.drv, 0, bogus << 16);
			ck_assert_uint_eq(n.dev->vq[0].notif_ignored, 1);
			ck_assert(!n.dev->vq[0].notif_valid);
			ck_assert_ptr_eq(vdrv_vq_get(&n.vq, &l), n.buf);
			ck_assert_ptr_null(vstd_virtio_dev_broken_reason(n.dev));
			loopvm_fini(&n.vm);
		}
}
END_TEST

START_TEST(queue_notify_without_data_names_the_whole_value)
{
	/* mmio without NOTIFICATION_DATA: QueueNotify holds a queue index, so
	 * 0x10000 names no queue (not queue 0); with the feature the low 16
	 * bits are the queue. */
	struct nd n;
	uint32_t l;
	nd_setup(&n, 0, 0, 0);
	nd_post(&n);
	vdrv_notify_data(&n.vm.drv, 0, 0x10000u);
	ck_assert_ptr_null(vdrv_vq_get(&n.vq, &l));
	vdrv_notify(&n.vm.drv, 0);
	ck_assert_ptr_eq(vdrv_vq_get(&n.vq, &l), n.buf);
	ck_assert_uint_eq(n.dev->vq[0].notif_count, 0);
	loopvm_fini(&n.vm);
	nd_setup(&n, 0, 0, 1);
	nd_post(&n);
	vdrv_notify_data(&n.vm.drv, 0, 0x10000u);
	ck_assert_ptr_eq(vdrv_vq_get(&n.vq, &l), n.buf);
	ck_assert_uint_eq(n.dev->vq[0].notif_count, 1);
	ck_assert_uint_eq(n.dev->vq[0].notif_next, 1);
	loopvm_fini(&n.vm);
}
END_TEST

/* ------------------------------------------------------------ virtio-net */

static const uint8_t nmac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static void net_open(struct vx_net *t, uint16_t pairs, uint64_t drop)
{
	struct vx_cfg c = {0};
	char msg[256];
	c.transport = 1;
	ck_assert_msg(vx_net_open(t, &c, pairs, 0, drop, msg, sizeof(msg)) == 0, "%s", msg);
}

static void net_stats(struct vx_net *t, vstd_virtio_net_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->version = VSTD_VIRTIO_NET_STATS_VERSION;
	vt_ok(vstd_virtio_net_get_stats(t->dev, st));
}

/* A 60-byte IPv4/UDP frame to the device's MAC. */
static void net_frame(uint8_t *f, uint16_t sport)
{
	memset(f, 0, 60);
	memcpy(f, nmac, 6);
	memcpy(f + 6, "\x02\0\0\0\0\x09", 6);
	vstd_put_be16(f + 12, 0x0800);
	f[14] = 0x45;
	vstd_put_be16(f + 16, 46);
	f[23] = 17;
	vstd_put_be32(f + 26, 0x0a000001);
	vstd_put_be32(f + 30, 0x0a000002);
	vstd_put_be16(f + 34, sport);
	vstd_put_be16(f + 36, 53);
}

static int net_rx(struct vx_net *t, unsigned pair)
{
	uint8_t f[2048];
	int n = 0;
	while (vx_net_recv(t, pair, NULL, f, sizeof(f)) >= 0)
		n++;
	return n;
}

/* virtio_net_hdr {flags, gso_type, hdr_len, gso_size, csum_start, csum_offset}. */
static void nhdr(uint8_t *h, uint8_t flags, uint8_t gso, uint16_t hdr_len, uint16_t gso_size,
                 uint16_t cs, uint16_t co)
{
	memset(h, 0, 12);
	h[0] = flags;
	h[1] = gso;
	vstd_put_le16(h + 2, hdr_len);
	vstd_put_le16(h + 4, gso_size);
	vstd_put_le16(h + 6, cs);
	vstd_put_le16(h + 8, co);
}

/* The frame with header h is dropped and counted, the transmit buffer
 * comes back, the device stays up and a plain frame still goes through. */
static void expect_bad_hdr(const uint8_t *h, uint64_t drop)
{
	struct vx_net t;
	vstd_virtio_net_stats st;
	uint8_t f[60];
	net_open(&t, 1, drop);
	net_frame(f, 1);
	ck_assert_int_eq(vx_net_send(&t, 0, h, f, 60), 0);
	ck_assert_int_eq(net_rx(&t, 0), 0);
	net_stats(&t, &st);
	ck_assert_uint_eq(st.tx_bad_hdr, 1);
	ck_assert_int_eq(vx_net_send(&t, 0, NULL, f, 60), 0);
	ck_assert_int_eq(net_rx(&t, 0), 1);
	ck_assert_ptr_null(vstd_virtio_dev_broken_reason(t.dev));
	vx_net_close(&t);
}

#define HOST_OFFLOADS                                                                              \
	(VSTD_VIRTIO_BIT(VNET_F_HOST_TSO4) | VSTD_VIRTIO_BIT(VNET_F_HOST_TSO6) |                   \
	 VSTD_VIRTIO_BIT(VNET_F_HOST_UFO) | VSTD_VIRTIO_BIT(VNET_F_HOST_ECN))

START_TEST(net_hdr_good_gso_frame_passes)
{
	/* The control: a well-formed TSO header goes through (to a guest
	 * that takes GUEST_TSO4) with its header intact. */
	struct vx_net t;
	uint8_t h[12], f[60], rh[12], rf[2048];
	net_open(&t, 1, 0);
	net_frame(f, 1);
	f[23] = 6;
	nhdr(h, 1, 1, 54, 1448, 34, 16);
	ck_assert_int_eq(vx_net_send(&t, 0, h, f, 60), 0);
	ck_assert_int_eq(vx_net_recv(&t, 0, rh, rf, sizeof(rf)), 60);
	ck_assert_uint_eq(rh[1], 1);
	ck_assert_uint_eq(vstd_le16(rh + 4), 1448);
	vx_net_close(&t);
}
END_TEST

START_TEST(net_hdr_checksum_offsets_inside_frame)
{
	uint8_t h[12];
	nhdr(h, 1, 0, 0, 0, 50, 16); /* 50 + 16 + 2 > 60 */
	expect_bad_hdr(h, 0);
	nhdr(h, 1, 0, 0, 0, 0xffff, 0xffff);
	expect_bad_hdr(h, 0);
}
END_TEST

START_TEST(net_hdr_checksum_needs_csum_feature)
{
	uint8_t h[12];
	nhdr(h, 1, 0, 0, 0, 34, 6);
	expect_bad_hdr(h, VSTD_VIRTIO_BIT(VNET_F_CSUM) | HOST_OFFLOADS);
}
END_TEST

START_TEST(net_hdr_no_receive_only_flags)
{
	uint8_t h[12];
	nhdr(h, 2, 0, 0, 0, 0, 0); /* DATA_VALID */
	expect_bad_hdr(h, 0);
	nhdr(h, 4, 0, 0, 0, 0, 0); /* RSC_INFO */
	expect_bad_hdr(h, 0);
}
END_TEST

START_TEST(net_hdr_unknown_gso_type)
{
	uint8_t h[12];
	nhdr(h, 1, 2, 54, 1448, 34, 16);
	expect_bad_hdr(h, 0);
	nhdr(h, 1, 0x7f, 54, 1448, 34, 16);
	expect_bad_hdr(h, 0);
}
END_TEST

START_TEST(net_hdr_gso_needs_host_offload)
{
	uint8_t h[12];
	nhdr(h, 1, 1, 54, 1448, 34, 16);
	expect_bad_hdr(h, VSTD_VIRTIO_BIT(VNET_F_HOST_TSO4));
	nhdr(h, 1, 4, 54, 1448, 34, 16);
	expect_bad_hdr(h, VSTD_VIRTIO_BIT(VNET_F_HOST_TSO6));
	nhdr(h, 1, 3, 42, 1448, 34, 6);
	expect_bad_hdr(h, VSTD_VIRTIO_BIT(VNET_F_HOST_UFO));
	nhdr(h, 1, 0x81, 54, 1448, 34, 16);
	expect_bad_hdr(h, VSTD_VIRTIO_BIT(VNET_F_HOST_ECN));
}
END_TEST

START_TEST(net_hdr_gso_size_nonzero)
{
	uint8_t h[12];
	nhdr(h, 1, 1, 54, 0, 34, 16);
	expect_bad_hdr(h, 0);
}
END_TEST

START_TEST(net_hdr_gso_needs_csum)
{
	uint8_t h[12];
	nhdr(h, 0, 1, 54, 1448, 0, 0);
	expect_bad_hdr(h, 0);
	nhdr(h, 0, 0x80, 0, 0, 0, 0); /* ECN without a GSO type */
	expect_bad_hdr(h, 0);
}
END_TEST

START_TEST(net_hdr_len_inside_frame)
{
	uint8_t h[12];
	nhdr(h, 1, 1, 61, 1448, 34, 16);
	expect_bad_hdr(h, 0);
	nhdr(h, 1, 1, 0xffff, 1448, 34, 16);
	expect_bad_hdr(h, 0);
}
END_TEST

/* Control queue: every malformed command is answered VIRTIO_NET_ERR (1),
 * changes nothing and leaves the device up. */
START_TEST(net_ctrl_mac_table_counts_bounded)
{
	struct vx_net t;
	uint8_t tbl[64];
	uint8_t f[60];
	net_open(&t, 1, 0);
	ck_assert_int_eq(vx_net_ctrl(&t, 0, 0, "\0", 1), 0); /* promiscuous off */
	memset(tbl, 0, sizeof(tbl));
	vstd_put_le32(tbl, 0xffffffffu); /* far past the command */
	ck_assert_int_eq(vx_net_ctrl(&t, 1, 0, tbl, 8), 1);
	vstd_put_le32(tbl, 0x2aaaaaabu); /* 6 x n wraps 32 bits */
	ck_assert_int_eq(vx_net_ctrl(&t, 1, 0, tbl, 20), 1);
	vstd_put_le32(tbl, 3); /* three entries announced, two present */
	ck_assert_int_eq(vx_net_ctrl(&t, 1, 0, tbl, 4 + 12), 1);
	vstd_put_le32(tbl, 1);
	vstd_put_le32(tbl + 10, 2); /* multicast count past the end */
	ck_assert_int_eq(vx_net_ctrl(&t, 1, 0, tbl, 4 + 6 + 4 + 6), 1);
	vstd_put_le32(tbl + 10, 0); /* trailing bytes after the tables */
	ck_assert_int_eq(vx_net_ctrl(&t, 1, 0, tbl, 4 + 6 + 4 + 3), 1);
	ck_assert_int_eq(vx_net_ctrl(&t, 1, 0, tbl, 2), 1); /* no multicast count */
	/* The filter is unchanged: our MAC passes, another does not. */
	net_frame(f, 1);
	ck_assert_int_eq(vx_net_send(&t, 0, NULL, f, 60), 0);
	ck_assert_int_eq(net_rx(&t, 0), 1);
	f[5] = 0;
	ck_assert_int_eq(vx_net_send(&t, 0, NULL, f, 60), 0);
	ck_assert_int_eq(net_rx(&t, 0), 0);
	ck_assert_ptr_null(vstd_virtio_dev_broken_reason(t.dev));
	vx_net_close(&t);
}
END_TEST

START_TEST(net_ctrl_vq_pairs_within_1_and_max)
{
	struct vx_net t;
	vstd_virtio_net_stats st;
	static const uint16_t bad[] = {0, 5, 0x8000, 0xffff};
	net_open(&t, 4, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t v[2];
		vstd_put_le16(v, bad[i]);
		ck_assert_int_eq(vx_net_ctrl(&t, 4, 0, v, 2), 1);
	}
	ck_assert_int_eq(vx_net_ctrl(&t, 4, 1, "\0\0", 2), 1); /* RSS_CONFIG: not offered */
	net_stats(&t, &st);
	ck_assert_uint_eq(st.pairs, 1);
	vx_net_close(&t);
}
END_TEST

START_TEST(net_ctrl_vlan_id_below_4096)
{
	struct vx_net t;
	uint8_t v[2];
	net_open(&t, 1, 0);
	vstd_put_le16(v, 4096);
	ck_assert_int_eq(vx_net_ctrl(&t, 2, 0, v, 2), 1);
	vstd_put_le16(v, 0xffff);
	ck_assert_int_eq(vx_net_ctrl(&t, 2, 1, v, 2), 1);
	vstd_put_le16(v, 4095);
	ck_assert_int_eq(vx_net_ctrl(&t, 2, 0, v, 2), 0);
	vx_net_close(&t);
}
END_TEST

START_TEST(net_ctrl_data_length_exact)
{
	struct vx_net t;
	uint8_t z[16] = {0};
	net_open(&t, 2, 0);
	ck_assert_int_eq(vx_net_ctrl(&t, 0, 0, z, 0), 1); /* RX: 1 byte */
	ck_assert_int_eq(vx_net_ctrl(&t, 0, 0, z, 2), 1);
	ck_assert_int_eq(vx_net_ctrl(&t, 1, 1, z, 5), 1); /* MAC_ADDR_SET: 6 */
	ck_assert_int_eq(vx_net_ctrl(&t, 1, 1, z, 7), 1);
	ck_assert_int_eq(vx_net_ctrl(&t, 2, 0, z, 1), 1); /* VLAN: 2 */
	ck_assert_int_eq(vx_net_ctrl(&t, 2, 0, z, 3), 1);
	ck_assert_int_eq(vx_net_ctrl(&t, 3, 0, z, 1), 1); /* ANNOUNCE_ACK: 0 */
	z[0] = 1;
	ck_assert_int_eq(vx_net_ctrl(&t, 4, 0, z, 1), 1); /* VQ_PAIRS_SET: 2 */
	ck_assert_int_eq(vx_net_ctrl(&t, 4, 0, z, 3), 1);
	z[0] = 0;
	ck_assert_int_eq(vx_net_ctrl(&t, 5, 0, z, 7), 1); /* GUEST_OFFLOADS_SET: 8 */
	ck_assert_int_eq(vx_net_ctrl(&t, 5, 0, z, 9), 1);
	ck_assert_int_eq(vx_net_ctrl(&t, 9, 0, z, 0), 1); /* unknown class */
	ck_assert_ptr_null(vstd_virtio_dev_broken_reason(t.dev));
	vx_net_close(&t);
}
END_TEST

START_TEST(net_ctrl_without_ack_byte)
{
	/* No device-writable byte: nothing to answer; the chain comes back
	 * with nothing written and the next command works. */
	struct vx_net t;
	vstd_virtio_net_stats st;
	struct vdrv_sg out;
	uint32_t l = 99;
	net_open(&t, 1, 0);
	t.cmd[0] = 0;
	t.cmd[1] = 0;
	t.cmd[2] = 0;
	out = (struct vdrv_sg){t.cmd_gpa, 3};
	ck_assert_int_eq(vdrv_vq_add(&t.q[t.ctrl], &out, 1, NULL, 0, t.cmd), 0);
	vdrv_vq_kick(&t.q[t.ctrl]);
	ck_assert_ptr_eq(vx_wait(&t.q[t.ctrl], &l), t.cmd);
	ck_assert_uint_eq(l, 0);
	net_stats(&t, &st);
	ck_assert_uint_eq(st.ctrl_err, 1);
	ck_assert_int_eq(vx_net_ctrl(&t, 0, 0, "\0", 1), 0);
	ck_assert_ptr_null(vstd_virtio_dev_broken_reason(t.dev));
	vx_net_close(&t);
}
END_TEST

START_TEST(net_ctrl_only_negotiated_commands)
{
	struct vx_net t;
	uint8_t off[8], v[2] = {5, 0};
	/* Without GUEST_TSO4 the offload cannot be switched on; without
	 * CTRL_VLAN / CTRL_RX_EXTRA their commands are refused. */
	net_open(&t, 1,
	         VSTD_VIRTIO_BIT(VNET_F_GUEST_TSO4) | VSTD_VIRTIO_BIT(VNET_F_CTRL_VLAN) |
	                 VSTD_VIRTIO_BIT(VNET_F_CTRL_RX_EXTRA));
	vstd_put_le64(off, VSTD_VIRTIO_BIT(VNET_F_GUEST_CSUM) | VSTD_VIRTIO_BIT(VNET_F_GUEST_TSO4));
	ck_assert_int_eq(vx_net_ctrl(&t, 5, 0, off, 8), 1);
	vstd_put_le64(off, VSTD_VIRTIO_BIT(VNET_F_MQ)); /* not an offload at all */
	ck_assert_int_eq(vx_net_ctrl(&t, 5, 0, off, 8), 1);
	ck_assert_int_eq(vx_net_ctrl(&t, 2, 0, v, 2), 1);
	ck_assert_int_eq(vx_net_ctrl(&t, 0, 2, "\1", 1), 1);
	ck_assert_int_eq(vx_net_ctrl(&t, 0, 1, "\1", 1), 0); /* plain CTRL_RX is there */
	vx_net_close(&t);
}
END_TEST

START_TEST(net_ctrl_announce_ack_needs_announcement)
{
	struct vx_net t;
	net_open(&t, 1, 0);
	ck_assert_int_eq(vx_net_ctrl(&t, 3, 0, NULL, 0), 1);
	vt_ok(vstd_virtio_net_announce(t.dev));
	ck_assert_int_eq(vx_net_ctrl(&t, 3, 1, NULL, 0), 1); /* unknown ANNOUNCE command */
	ck_assert_int_eq(vx_net_ctrl(&t, 3, 0, NULL, 0), 0);
	ck_assert_int_eq(vx_net_ctrl(&t, 3, 0, NULL, 0), 1);
	vx_net_close(&t);
}
END_TEST

START_TEST(net_rx_not_queued_beyond_active_pairs)
{
	struct vx_net t;
	uint8_t f[60], v[2];
	net_open(&t, 4, 0);
	vstd_put_le16(v, 3);
	ck_assert_int_eq(vx_net_ctrl(&t, 4, 0, v, 2), 0);
	net_frame(f, 77);
	ck_assert_int_eq(vx_net_send(&t, 2, NULL, f, 60), 0); /* flow on pair 2 */
	ck_assert_int_eq(net_rx(&t, 2), 1);
	vstd_put_le16(v, 1);
	ck_assert_int_eq(vx_net_ctrl(&t, 4, 0, v, 2), 0);
	/* The flow's reply, and a frame the guest sends on pair 2 anyway:
	 * neither may land in receive queue 2 now. */
	vstd_put_be32(f + 26, 0x0a000002);
	vstd_put_be32(f + 30, 0x0a000001);
	vstd_put_be16(f + 34, 53);
	vstd_put_be16(f + 36, 77);
	vt_ok(vstd_virtio_net_receive(t.dev, NULL, f, 60));
	ck_assert_int_eq(vx_net_send(&t, 2, NULL, f, 60), 0);
	ck_assert_int_eq(net_rx(&t, 2), 0);
	ck_assert_int_eq(net_rx(&t, 0), 2);
	ck_assert_int_eq(vstd_virtio_net_receive_pair(t.dev, 2, NULL, f, 60), VSTD_ERANGE);
	vx_net_close(&t);
}
END_TEST

/* ------------------------------------------------------------ blk: zones, secure erase */

/* A zoned device: 4 MiB, zones of 256 KiB (512 sectors), zone 0
 * conventional, at most 2 open / 4 active. */
static void zoned_open(struct vx_blkdev *t, int zoned, int secure)
{
	struct vx_cfg c = {0};
	vstd_virtio_blk_opts bo = VSTD_VIRTIO_BLK_OPTS_INIT;
	char msg[256];
	c.transport = 1;
	if (zoned) {
		bo.zone_sectors = 512;
		bo.conventional_zones = 1;
		bo.max_open_zones = 2;
		bo.max_active_zones = 4;
	}
	bo.secure_erase = secure;
	ck_assert_msg(vx_blkdev_open(t, &c, &bo, 4 << 20, 0, msg, sizeof(msg)) == 0, "%s", msg);
}

static void zoned_close(struct vx_blkdev *t)
{
	ck_assert_ptr_null(vstd_virtio_dev_broken_reason(t->dev));
	vx_blkdev_close(t);
}

START_TEST(zone_commands_need_the_feature)
{
	struct vx_blkdev t;
	static const uint32_t types[] = {15, 16, 18, 20, 22, 24, 26};
	zoned_open(&t, 0, 0);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		ck_assert_int_eq(vx_blkdev_req(&t, types[i], 0, 0, 128, NULL), VBLK_S_UNSUPP);
	zoned_close(&t);
}
END_TEST

START_TEST(zone_command_names_a_sequential_zone_start)
{
	struct vx_blkdev t;
	static const uint64_t bad[] = {1, 513, 0, 8192, 1ULL << 40, ~0ULL, ~0ULL - 511};
	zoned_open(&t, 1, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(vx_blkdev_req(&t, 18, bad[i], 0, 0, NULL),
		                 VBLK_S_ZONE_INVALID_CMD);
		ck_assert_int_eq(vx_blkdev_req(&t, 24, bad[i], 0, 0, NULL),
		                 VBLK_S_ZONE_INVALID_CMD);
		ck_assert_int_eq(vx_blkdev_req(&t, 15, bad[i], 512, 8, NULL),
		                 VBLK_S_ZONE_INVALID_CMD);
	}
	zoned_close(&t);
}
END_TEST

START_TEST(zone_management_takes_no_data)
{
	struct vx_blkdev t;
	zoned_open(&t, 1, 0);
	ck_assert_int_eq(vx_blkdev_req(&t, 18, 512, 512, 0, NULL), VBLK_S_IOERR);
	ck_assert_int_eq(vx_blkdev_req(&t, 20, 512, 0, 16, NULL), VBLK_S_IOERR);
	ck_assert_int_eq(vx_blkdev_req(&t, 26, 0, 16, 0, NULL), VBLK_S_IOERR);
	ck_assert_int_eq(vx_blkdev_req(&t, 16, 0, 16, 128, NULL), VBLK_S_IOERR); /* report */
	zoned_close(&t);
}
END_TEST

START_TEST(zone_write_at_the_write_pointer_only)
{
	struct vx_blkdev t;
	zoned_open(&t, 1, 0);
	ck_assert_int_eq(vx_blkdev_req(&t, 1, 513, 512, 0, NULL), VBLK_S_ZONE_UNALIGNED_WP);
	ck_assert_int_eq(vx_blkdev_req(&t, 1, 512, 512, 0, NULL), VBLK_S_OK);
	ck_assert_int_eq(vx_blkdev_req(&t, 1, 512, 512, 0, NULL), VBLK_S_ZONE_UNALIGNED_WP);
	ck_assert_int_eq(vx_blkdev_req(&t, 1, 1000, 512, 0, NULL), VBLK_S_ZONE_UNALIGNED_WP);
	/* Past the zone end, and from the conventional zone into zone 1. */
	ck_assert_int_eq(vx_blkdev_req(&t, 1, 513, 512 * 512, 0, NULL), VBLK_S_IOERR);
	ck_assert_int_eq(vx_blkdev_req(&t, 1, 511, 1024, 0, NULL), VBLK_S_IOERR);
	zoned_close(&t);
}
END_TEST

START_TEST(zone_append_shape_checked)
{
	struct vx_blkdev t;
	zoned_open(&t, 1, 0);
	/* The writable part is the 8-byte sector and the status. */
	ck_assert_int_eq(vx_blkdev_req(&t, 15, 512, 512, 0, NULL), VBLK_S_IOERR);
	ck_assert_int_eq(vx_blkdev_req(&t, 15, 512, 512, 16, NULL), VBLK_S_IOERR);
	/* No data, a partial block, more than the zone. */
	ck_assert_int_eq(vx_blkdev_req(&t, 15, 512, 0, 8, NULL), VBLK_S_IOERR);
	ck_assert_int_eq(vx_blkdev_req(&t, 15, 512, 100, 8, NULL), VBLK_S_IOERR);
	ck_assert_int_eq(vx_blkdev_req(&t, 15, 512, 513 * 512, 8, NULL), VBLK_S_IOERR);
	/* Does not fit behind the write pointer. */
	ck_assert_int_eq(vx_blkdev_req(&t, 15, 512, 512, 8, NULL), VBLK_S_OK);
	ck_assert_int_eq(vx_blkdev_req(&t, 15, 512, 512 * 512, 8, NULL), VBLK_S_IOERR);
	/* A full zone takes no append. */
	ck_assert_int_eq(vx_blkdev_req(&t, 22, 512, 0, 0, NULL), VBLK_S_OK);
	ck_assert_int_eq(vx_blkdev_req(&t, 15, 512, 512, 8, NULL), VBLK_S_ZONE_INVALID_CMD);
	zoned_close(&t);
}
END_TEST

START_TEST(zone_report_bounded_by_buffer)
{
	struct vx_blkdev t;
	uint32_t used;
	zoned_open(&t, 1, 0);
	ck_assert_int_eq(vx_blkdev_req(&t, 16, 0, 0, 63, NULL), VBLK_S_IOERR);
	ck_assert_int_eq(vx_blkdev_req(&t, 16, 0, 0, 0, NULL), VBLK_S_IOERR);
	ck_assert_int_eq(vx_blkdev_req(&t, 16, 8192, 0, 4096, NULL), VBLK_S_IOERR);
	ck_assert_int_eq(vx_blkdev_req(&t, 16, ~0ULL, 0, 4096, NULL), VBLK_S_IOERR);
	/* Room for 2.5 descriptors: exactly 2, nothing written past them. */
	memset(t.buf, 0xcc, 4096);
	ck_assert_int_eq(vx_blkdev_req(&t, 16, 512, 0, 64 + 160, &used), VBLK_S_OK);
	ck_assert_uint_eq(vstd_le64(t.buf), 2);
	ck_assert_uint_eq(used, 64 + 128 + 1);
	ck_assert_uint_eq(t.buf[64 + 128], 0xcc);
	/* A big buffer: only the 16 zones there are. */
	ck_assert_int_eq(vx_blkdev_req(&t, 16, 0, 0, 65536, &used), VBLK_S_OK);
	ck_assert_uint_eq(vstd_le64(t.buf), 16);
	ck_assert_uint_eq(used, 64 + 64 * 16 + 1);
	zoned_close(&t);
}
END_TEST

START_TEST(zone_open_and_active_limits)
{
	struct vx_blkdev t;
	zoned_open(&t, 1, 0);
	/* Two explicitly open zones: no implicit close possible. */
	ck_assert_int_eq(vx_blkdev_req(&t, 18, 512, 0, 0, NULL), VBLK_S_OK);
	ck_assert_int_eq(vx_blkdev_req(&t, 18, 1024, 0, 0, NULL), VBLK_S_OK);
	ck_assert_int_eq(vx_blkdev_req(&t, 18, 1536, 0, 0, NULL), VBLK_S_ZONE_OPEN_RESOURCE);
	ck_assert_int_eq(vx_blkdev_req(&t, 1, 1536, 512, 0, NULL), VBLK_S_ZONE_OPEN_RESOURCE);
	/* Write and close them: 2 closed; open 2 more: 4 active, the fifth refused. */
	ck_assert_int_eq(vx_blkdev_req(&t, 1, 512, 512, 0, NULL), VBLK_S_OK);
	ck_assert_int_eq(vx_blkdev_req(&t, 1, 1024, 512, 0, NULL), VBLK_S_OK);
	ck_assert_int_eq(vx_blkdev_req(&t, 20, 512, 0, 0, NULL), VBLK_S_OK);
	ck_assert_int_eq(vx_blkdev_req(&t, 20, 1024, 0, 0, NULL), VBLK_S_OK);
	ck_assert_int_eq(vx_blkdev_req(&t, 18, 1536, 0, 0, NULL), VBLK_S_OK);
	ck_assert_int_eq(vx_blkdev_req(&t, 18, 2048, 0, 0, NULL), VBLK_S_OK);
	ck_assert_int_eq(vx_blkdev_req(&t, 18, 2560, 0, 0, NULL), VBLK_S_ZONE_ACTIVE_RESOURCE);
	zoned_close(&t);
}
END_TEST

START_TEST(secure_erase_segment_checked)
{
	struct vx_blkdev t;
	zoned_open(&t, 0, 1);
	vstd_put_le64(t.buf, 0);
	vstd_put_le32(t.buf + 8, 8);
	vstd_put_le32(t.buf + 12, 1); /* UNMAP is not for secure erase */
	ck_assert_int_eq(vx_blkdev_req(&t, 14, 0, 16, 0, NULL), VBLK_S_UNSUPP);
	vstd_put_le32(t.buf + 12, 0);
	vstd_put_le64(t.buf, 8191); /* past the end */
	ck_assert_int_eq(vx_blkdev_req(&t, 14, 0, 16, 0, NULL), VBLK_S_IOERR);
	vstd_put_le64(t.buf, ~0ULL - 3); /* wraps */
	ck_assert_int_eq(vx_blkdev_req(&t, 14, 0, 16, 0, NULL), VBLK_S_IOERR);
	vstd_put_le64(t.buf, 0);
	vstd_put_le32(t.buf + 8, 0x400000); /* over max_secure_erase_sectors */
	ck_assert_int_eq(vx_blkdev_req(&t, 14, 0, 16, 0, NULL), VBLK_S_IOERR);
	vstd_put_le32(t.buf + 8, 8); /* two segments: max_secure_erase_seg is 1 */
	ck_assert_int_eq(vx_blkdev_req(&t, 14, 0, 32, 0, NULL), VBLK_S_IOERR);
	ck_assert_int_eq(vx_blkdev_req(&t, 14, 0, 16, 0, NULL), VBLK_S_OK);
	zoned_close(&t);
}
END_TEST

/* ------------------------------------------------------------ random */

START_TEST(random_rings_never_crash)
{
	struct h h;
	uint8_t junk[16 * QS + 64];
	uint64_t brk = 0;
	for (int packed = 0; packed < 2; packed++) {
		for (uint64_t seed = 1; seed <= 400; seed++) {
			struct vx_cfg c = {0};
			char msg[256];
			if (seed == 1) {
				setup(&h, packed, 1);
				brk = h.vm.brk;
			}
			h.vm.brk = brk; /* the same rings again */
			c.packed = packed;
			c.indirect = 1;
			ck_assert_int_eq(vx_start(&h.vm, &c, &h.vq, 1, msg, sizeof(msg)), 0);
			vt_fill_random(junk, sizeof(junk), seed);
			/* Mostly-plausible addresses: point some inside RAM. */
			for (unsigned i = 0; i < QS; i++) {
				if (junk[16 * i + 15] & 1)
					vstd_put_le64(junk + 16 * i,
					              LOOPVM_BASE + (vstd_le32(junk + 16 * i) %
					                             (2u << 20)));
				if (junk[16 * i + 14] & 1)
					vstd_put_le32(junk + 16 * i + 8, junk[16 * i + 9] * 16u);
			}
			memcpy(h.vq.desc, junk, 16 * QS);
			if (!packed) {
				memcpy(h.vq.avail, junk + 16 * QS, 4 + 2 * QS);
				vstd_put_le16(h.vq.avail + 2, (uint16_t)(junk[3] % (QS + 2)));
			}
			(void)kick(&h);
			/* Whatever happened, the device state is sane. */
			ck_assert(!(vstd_virtio_dev_status(h.vm.dev) &
			            VSTD_VIRTIO_STATUS_NEEDS_RESET) ||
			          broken(&h));
		}
		teardown(&h);
	}
}
END_TEST

struct mut {
	struct h *h;
	volatile int stop;
};

static void *mutator(void *arg)
{
	struct mut *m = arg;
	uint64_t x = 88172645463325252ULL;
	while (!m->stop) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Flip a random byte of the descriptor table. */
		__atomic_store_n(&m->h->vq.desc[x % (16 * QS)], (uint8_t)(x >> 40),
		                 __ATOMIC_RELAXED);
	}
	return NULL;
}

START_TEST(descriptors_mutated_concurrently)
{
	struct h h;
	struct mut m;
	pthread_t t;
	setup(&h, 0, 0);
	m.h = &h;
	m.stop = 0;
	ck_assert_int_eq(pthread_create(&t, NULL, mutator, &m), 0);
	for (unsigned i = 0; i < 20000 && !broken(&h); i++) {
		good_read_split(&h, 3 * (i % 5));
		spublish(&h, (uint16_t)(3 * (i % 5)));
		(void)kick(&h);
	}
	m.stop = 1;
	pthread_join(t, NULL);
	/* Survived (ASan and the guard pages would have stopped us). */
	teardown(&h);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("paravirt/hostile");
	TCase *tc = tcase_create("must");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, head_index_below_queue_size);
	tcase_add_test(tc, next_index_below_queue_size);
	tcase_add_test(tc, chain_loop_is_bounded_by_queue_size);
	tcase_add_test(tc, chain_longer_than_queue_packed);
	tcase_add_test(tc, no_nested_indirect_tables);
	tcase_add_test(tc, indirect_length_multiple_of_16);
	tcase_add_test(tc, indirect_length_nonzero);
	tcase_add_test(tc, indirect_needs_the_feature);
	tcase_add_test(tc, indirect_and_next_together);
	tcase_add_test(tc, indirect_table_longer_than_queue);
	tcase_add_test(tc, readable_before_writable);
	tcase_add_test(tc, readable_before_writable_packed_indirect);
	tcase_add_test(tc, avail_index_jump_marks_needs_reset);
	tcase_add_test(tc, buffer_outside_guest_memory);
	tcase_add_test(tc, buffer_below_guest_memory);
	tcase_add_test(tc, buffer_address_wraps);
	tcase_add_test(tc, length_4gib);
	tcase_add_test(tc, zero_length_descriptors);
	tcase_add_test(tc, writable_where_readable_is_due);
	tcase_add_test(tc, writable_buffer_in_read_only_memory);
	tcase_add_test(tc, descriptors_changed_after_fetch);
	tcase_add_test(tc, packed_chain_continuation_not_available);
	tcase_add_test(tc, chain_straddles_regions);
	tcase_add_test(tc, ring_outside_memory_or_misaligned);
	tcase_add_test(tc, needs_reset_then_reset_recovers);
	tcase_add_test(tc, notify_before_driver_ok_or_bad_queue);
	tcase_add_test(tc, features_not_offered_are_refused);
	tcase_add_test(tc, notification_data_naming_another_queue_is_ignored);
	tcase_add_test(tc, notification_data_outside_the_ring_is_ignored);
	tcase_add_test(tc, queue_notify_without_data_names_the_whole_value);
	tcase_add_test(tc, net_hdr_good_gso_frame_passes);
	tcase_add_test(tc, net_hdr_checksum_offsets_inside_frame);
	tcase_add_test(tc, net_hdr_checksum_needs_csum_feature);
	tcase_add_test(tc, net_hdr_no_receive_only_flags);
	tcase_add_test(tc, net_hdr_unknown_gso_type);
	tcase_add_test(tc, net_hdr_gso_needs_host_offload);
	tcase_add_test(tc, net_hdr_gso_size_nonzero);
	tcase_add_test(tc, net_hdr_gso_needs_csum);
	tcase_add_test(tc, net_hdr_len_inside_frame);
	tcase_add_test(tc, net_ctrl_mac_table_counts_bounded);
	tcase_add_test(tc, net_ctrl_vq_pairs_within_1_and_max);
	tcase_add_test(tc, net_ctrl_vlan_id_below_4096);
	tcase_add_test(tc, net_ctrl_data_length_exact);
	tcase_add_test(tc, net_ctrl_without_ack_byte);
	tcase_add_test(tc, net_ctrl_only_negotiated_commands);
	tcase_add_test(tc, net_ctrl_announce_ack_needs_announcement);
	tcase_add_test(tc, net_rx_not_queued_beyond_active_pairs);
	tcase_add_test(tc, zone_commands_need_the_feature);
	tcase_add_test(tc, zone_command_names_a_sequential_zone_start);
	tcase_add_test(tc, zone_management_takes_no_data);
	tcase_add_test(tc, zone_write_at_the_write_pointer_only);
	tcase_add_test(tc, zone_append_shape_checked);
	tcase_add_test(tc, zone_report_bounded_by_buffer);
	tcase_add_test(tc, zone_open_and_active_limits);
	tcase_add_test(tc, secure_erase_segment_checked);
	tcase_add_test(tc, random_rings_never_crash);
	tcase_add_test(tc, descriptors_mutated_concurrently);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
