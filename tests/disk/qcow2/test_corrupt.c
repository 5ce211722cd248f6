/*
 * tests/disk/qcow2/test_corrupt.c - hostile images: bytes of a qemu-made
 * image patched to break one rule each.  Every case must fail with
 * VSTD_ECORRUPT / VSTD_ENOTSUP / VSTD_ELIMIT naming the structure, never
 * crash or allocate without bound (the ASan build runs these too).
 */
#include <unistd.h>

#include "core/bytes.h"
#include "qtest.h"

static uint8_t *img;
static size_t img_len;

/* A small image: 4 MiB, data in the first clusters and at 2 MiB. */
static void make_base(void)
{
	const char *p = vt_path("base.qcow2");
	ck_assert(vt_run("qemu-img create -f qcow2 '%s' 4M", p) == 0);
	ck_assert(vt_run("qemu-io -c 'write -P 0x41 0 200k' -c 'write -P 0x42 2M 64k' '%s'", p) ==
	          0);
	img = qt_read_file(p, &img_len);
}

static uint64_t l1_entry(unsigned i)
{
	return vstd_be64(img + vstd_be64(img + 40) + 8 * i) & 0x00fffffffffffe00ull;
}

/* Write the patched image, open it and read all of it; return the first error. */
static int try_image(void)
{
	const char *p = vt_path("bad.qcow2");
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	static uint8_t buf[1 << 20];
	int rc;
	vt_write_file(p, img, img_len);
	oo.flags = VSTD_DISK_NO_BACKING;
	rc = vstd_disk_open(&d, p, &oo);
	if (rc < 0)
		return rc;
	for (uint64_t off = 0; off < vstd_disk_size(d) && rc == 0; off += sizeof(buf)) {
		uint64_t n = vstd_disk_size(d) - off < sizeof(buf) ? vstd_disk_size(d) - off
		                                                   : sizeof(buf);
		rc = vstd_disk_read(d, off, buf, n);
	}
	vstd_disk_close(d);
	return rc;
}

static void expect(int want, const char *word)
{
	int rc = try_image();
	ck_assert_msg(rc == want, "rc %d (%s), wanted %d", rc, vstd_error_last()->message, want);
	if (word != NULL)
		ck_assert_msg(strstr(vstd_error_last()->message, word) != NULL,
		              "message '%s' does not name '%s'", vstd_error_last()->message, word);
	free(img);
}

START_TEST(cluster_bits_31)
{
	make_base();
	vstd_put_be32(img + 20, 31);
	expect(VSTD_ECORRUPT, "cluster_bits");
}
END_TEST

START_TEST(size_2_63)
{
	make_base();
	vstd_put_be64(img + 24, (uint64_t)1 << 63);
	expect(VSTD_ECORRUPT, "virtual size");
}
END_TEST

START_TEST(huge_l1)
{
	make_base();
	vstd_put_be32(img + 36, 0x7fffffff);
	expect(VSTD_ELIMIT, "L1 table");
}
END_TEST

START_TEST(l1_small_for_size)
{
	make_base();
	vstd_put_be64(img + 24, (uint64_t)1 << 40);
	expect(VSTD_ECORRUPT, "L1 table");
}
END_TEST

START_TEST(l1_past_eof)
{
	make_base();
	vstd_put_be64(img + 40, (uint64_t)1 << 40);
	expect(VSTD_ECORRUPT, "L1 table");
}
END_TEST

START_TEST(reftable_past_eof)
{
	make_base();
	vstd_put_be64(img + 48, (uint64_t)1 << 40);
	expect(VSTD_ECORRUPT, "refcount table");
}
END_TEST

START_TEST(reftable_huge)
{
	make_base();
	vstd_put_be32(img + 56, 0xffffffff);
	expect(VSTD_ECORRUPT, "refcount table");
}
END_TEST

START_TEST(unknown_incompat_bit)
{
	make_base();
	img[79] |= 0x20; /* bit 5 */
	expect(VSTD_ENOTSUP, "bit 5");
}
END_TEST

START_TEST(version_4)
{
	make_base();
	vstd_put_be32(img + 4, 4);
	expect(VSTD_ENOTSUP, "version");
}
END_TEST

START_TEST(header_length_bad)
{
	make_base();
	vstd_put_be32(img + 100, 7);
	expect(VSTD_ECORRUPT, "header_length");
}
END_TEST

START_TEST(l2_offset_past_eof)
{
	make_base();
	vstd_put_be64(img + vstd_be64(img + 40), 0x8000000000000000ull | ((uint64_t)1 << 40));
	expect(VSTD_ECORRUPT, NULL);
}
END_TEST

START_TEST(l2_offset_unaligned)
{
	make_base();
	vstd_put_be64(img + vstd_be64(img + 40), 0x8000000000000000ull | (l1_entry(0) + 512));
	expect(VSTD_ECORRUPT, "unaligned");
}
END_TEST

START_TEST(data_offset_unaligned)
{
	uint64_t l2;
	make_base();
	l2 = l1_entry(0);
	vstd_put_be64(img + l2, vstd_be64(img + l2) + 512);
	expect(VSTD_ECORRUPT, "unaligned");
}
END_TEST

START_TEST(data_offset_past_eof)
{
	uint64_t l2;
	make_base();
	l2 = l1_entry(0);
	vstd_put_be64(img + l2 + 8, 0x8000000000000000ull | ((uint64_t)1 << 45));
	expect(VSTD_ECORRUPT, NULL);
}
END_TEST

START_TEST(compressed_garbage)
{
	uint64_t l2;
	make_base();
	l2 = l1_entry(0);
	/* a compressed descriptor pointing at the L2 table itself */
	vstd_put_be64(img + l2, 0x4000000000000000ull | l2 | (8ull << 54));
	expect(VSTD_ECORRUPT, "compressed");
}
END_TEST

START_TEST(truncated)
{
	make_base();
	img_len = (size_t)l1_entry(0) + 100; /* the L2 table is cut */
	expect(VSTD_ECORRUPT, NULL);
}
END_TEST

START_TEST(snapshots_huge_count)
{
	make_base();
	vstd_put_be32(img + 60, 0x7fffffff);
	vstd_put_be64(img + 64, 0x10000);
	expect(VSTD_ELIMIT, "snapshots");
}
END_TEST

START_TEST(backing_name_outside)
{
	make_base();
	vstd_put_be64(img + 8, 65530);
	vstd_put_be32(img + 16, 1000);
	expect(VSTD_ECORRUPT, "backing file name");
}
END_TEST

START_TEST(corrupt_bit_read_only)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	make_base();
	img[79] |= 0x02;
	vt_write_file(vt_path("cb.qcow2"), img, img_len);
	free(img);
	oo.flags = VSTD_DISK_RDWR;
	ck_assert_int_eq(vstd_disk_open(&d, vt_path("cb.qcow2"), &oo), VSTD_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "corrupt"));
	vt_ok(vstd_disk_open(&d, vt_path("cb.qcow2"), NULL));
	vstd_disk_close(d);
}
END_TEST

START_TEST(backing_loop)
{
	const char *a = vt_path("la.qcow2"), *b = vt_path("lb.qcow2");
	vstd_disk *d = NULL;
	ck_assert(vt_run("qemu-img create -f qcow2 '%s' 1M", b) == 0);
	ck_assert(vt_run("qemu-img create -f qcow2 -b lb.qcow2 -F qcow2 '%s'", a) == 0);
	ck_assert(vt_run("qemu-img rebase -u -b la.qcow2 -F qcow2 '%s'", b) == 0);
	ck_assert_int_eq(vstd_disk_open(&d, a, NULL), VSTD_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "loop"));
}
END_TEST

START_TEST(deep_chain)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	/* 30 layers against a depth limit of 16 */
	ck_assert(vt_run("cd '%s' && qemu-img create -f qcow2 d0.qcow2 1M >/dev/null && "
	                 "for i in $(seq 1 30); do "
	                 "qemu-img create -f qcow2 -u -b d$((i-1)).qcow2 -F qcow2 d$i.qcow2 1M "
	                 ">/dev/null || exit 1; done",
	                 vt_tmpdir()) == 0);
	oo.max_chain_depth = 16;
	ck_assert_int_eq(vstd_disk_open(&d, vt_path("d30.qcow2"), &oo), VSTD_ELIMIT);
	oo.max_chain_depth = 40;
	vt_ok(vstd_disk_open(&d, vt_path("d30.qcow2"), &oo));
	vstd_disk_close(d);
}
END_TEST

/* qemu's fuzzed sample (a VHD): as qcow2 it is refused cleanly */
START_TEST(qemu_afl5)
{
	const char *p = vt_unpack("corpus/disk/invalid/qemu-afl5.img.bz2");
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	oo.format = "qcow2";
	ck_assert_int_eq(vstd_disk_open(&d, p, &oo), VSTD_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "magic"));
}
END_TEST

/* writes on a damaged image fail cleanly too */
START_TEST(write_on_bad_l2)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	uint8_t b[4096] = {1};
	make_base();
	vstd_put_be64(img + vstd_be64(img + 40), 0x8000000000000000ull | (l1_entry(0) + 512));
	vt_write_file(vt_path("wb.qcow2"), img, img_len);
	free(img);
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, vt_path("wb.qcow2"), &oo));
	ck_assert_int_eq(vstd_disk_write(d, 4096, b, sizeof(b)), VSTD_ECORRUPT);
	vstd_disk_close(d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("qcow2-corrupt");
	TCase *tc = tcase_create("corrupt");
	vt_require_tool("qemu-img", "qemu-utils");
	vt_require_tool("qemu-io", "qemu-utils");
	qt_link_driver();
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, cluster_bits_31);
	tcase_add_test(tc, size_2_63);
	tcase_add_test(tc, huge_l1);
	tcase_add_test(tc, l1_small_for_size);
	tcase_add_test(tc, l1_past_eof);
	tcase_add_test(tc, reftable_past_eof);
	tcase_add_test(tc, reftable_huge);
	tcase_add_test(tc, unknown_incompat_bit);
	tcase_add_test(tc, version_4);
	tcase_add_test(tc, header_length_bad);
	tcase_add_test(tc, l2_offset_past_eof);
	tcase_add_test(tc, l2_offset_unaligned);
	tcase_add_test(tc, data_offset_unaligned);
	tcase_add_test(tc, data_offset_past_eof);
	tcase_add_test(tc, compressed_garbage);
	tcase_add_test(tc, truncated);
	tcase_add_test(tc, snapshots_huge_count);
	tcase_add_test(tc, backing_name_outside);
	tcase_add_test(tc, corrupt_bit_read_only);
	tcase_add_test(tc, backing_loop);
	tcase_add_test(tc, deep_chain);
	tcase_add_test(tc, qemu_afl5);
	tcase_add_test(tc, write_on_bad_l2);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
