/*
 * tests/disk/qcow2/test_write.c - images vstd writes pass `qemu-img check`,
 * `qemu-img compare` against the data written, and libyal's qcowinfo;
 * every creation option, backing files with copy-on-write of partial
 * clusters, zeroes, discard, compressed clusters, resize.
 */
#include <unistd.h>

#include "qtest.h"

#define DSIZE ((size_t)3 << 20)

static uint64_t rnd_state;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Random writes, zeroes and discards on d, mirrored in ref. */
static void workload(vstd_disk *d, uint8_t *ref, size_t size, uint64_t seed, int ops)
{
	uint8_t *buf = malloc(400000);
	ck_assert_ptr_nonnull(buf);
	rnd_state = seed * 0x9e3779b97f4a7c15ull + 1;
	for (int i = 0; i < ops; i++) {
		uint64_t kind = rnd() % 10, len = 1 + rnd() % 300000, off = rnd() % size;
		if (rnd() % 3 == 0) { /* aligned */
			off &= ~(uint64_t)4095;
			len = (len + 4095) & ~(uint64_t)4095;
		}
		if (off + len > size)
			len = size - off;
		if (kind < 7) {
			vt_fill_random(buf, len, seed + (uint64_t)i);
			vt_ok(vstd_disk_write(d, off, buf, len));
			memcpy(ref + off, buf, len);
		} else if (kind < 9) {
			vt_ok(vstd_disk_write_zeroes(d, off, len,
			                             kind == 8 ? VSTD_IO_ZERO_MAY_UNMAP : 0));
			memset(ref + off, 0, len);
		} else {
			vt_ok(vstd_disk_discard(d, off, len));
			/* the contents are unspecified: take what the disk says */
			vt_ok(vstd_disk_read(d, off, ref + off, len));
		}
		if (i % 17 == 0)
			vt_ok(vstd_disk_flush(d));
	}
	free(buf);
}

static void check_with_peers(const char *img, const uint8_t *ref, size_t size)
{
	const char *raw = vt_path("ref.raw");
	vstd_disk *d = NULL;
	ck_assert_msg(qt_qemu_check(img) == 0, "qemu-img check: %s", vt_output());
	vt_write_file(raw, ref, size);
	ck_assert_msg(vt_run("qemu-img compare -f raw -F qcow2 '%s' '%s'", raw, img) == 0, "%s",
	              vt_output());
	/* libqcow 20201213 knows neither extended L2 nor zstd */
	if (vt_run("qemu-img info '%s' | grep -q -e 'extended l2: true' -e 'compression type: "
	           "zstd'",
	           img) != 0)
		ck_assert_msg(vt_run("qcowinfo '%s'", img) == 0, "qcowinfo: %s", vt_output());
	vt_ok(vstd_disk_open(&d, img, NULL));
	qt_disk_equals(d, ref, size);
	vstd_disk_close(d);
}

static const char *const create_opts[] = {
        "",
        "compat=0.10",
        "cluster_size=512",
        "cluster_size=4096,refcount_bits=1",
        "cluster_size=2M",
        "refcount_bits=2",
        "refcount_bits=4,cluster_size=1024",
        "refcount_bits=8",
        "refcount_bits=32",
        "refcount_bits=64,cluster_size=512",
        "extended_l2=on",
        "extended_l2=on,cluster_size=16k",
        "lazy_refcounts=on",
        "compression_type=zstd",
        "preallocation=metadata",
        "preallocation=falloc",
        "preallocation=full",
        "compat=0.10,cluster_size=4096",
};

START_TEST(create_write_check)
{
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	const char *img = vt_path("w.qcow2");
	uint8_t *ref = calloc(1, DSIZE);
	vstd_disk *d = NULL;
	co.format = "qcow2";
	co.size = DSIZE;
	co.options = create_opts[_i];
	vt_ok(vstd_disk_create(img, &co));
	ck_assert_msg(qt_qemu_check(img) == 0, "fresh image: %s", vt_output());
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	workload(d, ref, DSIZE, 1000 + (uint64_t)_i, 60);
	vt_ok(vstd_disk_flush(d));
	vstd_disk_close(d);
	check_with_peers(img, ref, DSIZE);
	free(ref);
}
END_TEST

/* A size that is not a whole number of 512-byte sectors is rounded up, as
 * qemu-img create does: qemu reads a qcow2's size rounded down to sectors,
 * so an unrounded size would lose the tail in qemu. */
START_TEST(unaligned_size)
{
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk *d = NULL;
	const char *img = vt_path("odd.qcow2");
	co.format = "qcow2";
	co.size = 1000000;
	vt_ok(vstd_disk_create(img, &co));
	vt_ok(vstd_disk_open(&d, img, NULL));
	ck_assert_uint_eq(vstd_disk_size(d), 1000448);
	vstd_disk_close(d);
	ck_assert_msg(
	        vt_run("qemu-img info --output=json '%s' | grep -q '\"virtual-size\": 1000448'",
	               img) == 0,
	        "qemu-img sees another size: %s", vt_output());
	ck_assert_msg(qt_qemu_check(img) == 0, "%s", vt_output());
}
END_TEST

/* Overlays over a raw and a qcow2 backing: partial writes copy the rest. */
START_TEST(overlay_cow)
{
	static const char *const opts[] = {"", "extended_l2=on", "compat=0.10",
	                                   "cluster_size=4096"};
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	const char *base = vt_path("base.raw"), *top = vt_path("top.qcow2");
	uint8_t *ref = qt_pattern(DSIZE, 33);
	vstd_disk *d = NULL;
	vt_write_file(base, ref, DSIZE);
	co.format = "qcow2";
	co.backing_file = "base.raw";
	co.backing_format = "raw";
	co.options = opts[_i];
	vt_ok(vstd_disk_create(top, &co));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, top, &oo));
	ck_assert_uint_eq(vstd_disk_size(d), DSIZE);
	workload(d, ref, DSIZE, 77 + (uint64_t)_i, 40);
	vstd_disk_close(d);
	ck_assert_msg(qt_qemu_check(top) == 0, "%s", vt_output());
	vt_write_file(vt_path("ref.raw"), ref, DSIZE);
	ck_assert_msg(
	        vt_run("qemu-img compare -f raw -F qcow2 '%s' '%s'", vt_path("ref.raw"), top) == 0,
	        "%s", vt_output());
	vt_ok(vstd_disk_open(&d, top, NULL));
	qt_disk_equals(d, ref, DSIZE);
	vstd_disk_close(d);
	free(ref);
}
END_TEST

/* Compressed clusters through the driver hooks convert uses. */
START_TEST(compressed_writes)
{
	static const char *const opts[] = {"compression_type=zlib", "compression_type=zstd",
	                                   "cluster_size=4096", "compat=0.10,cluster_size=2M"};
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	const char *img = vt_path("cw.qcow2");
	uint8_t *ref = calloc(1, DSIZE), *out;
	vstd_disk *d = NULL;
	uint64_t unit, compressed = 0;
	co.format = "qcow2";
	co.size = DSIZE;
	co.options = opts[_i];
	vt_ok(vstd_disk_create(img, &co));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	unit = d->drv->compress_unit(d);
	out = malloc(unit * 2);
	for (uint64_t off = 0; off < DSIZE; off += unit) {
		size_t n = 0;
		uint64_t len = DSIZE - off < unit ? DSIZE - off : unit;
		int rc;
		/* compressible text, and now and then incompressible noise */
		if ((off / unit) % 5 == 3)
			vt_fill_random(ref + off, len, off);
		else
			for (uint64_t j = 0; j < len; j++)
				ref[off + j] =
				        (uint8_t)("vstd qcow2 "[(off + j) % 11] + (off / unit) % 3);
		rc = d->drv->compress(d, ref + off, len, out, unit * 2, &n);
		if (rc == VSTD_ERANGE) {
			vt_ok(vstd_disk_write(d, off, ref + off, len));
			continue;
		}
		vt_ok(rc);
		vt_ok(d->drv->write_compressed(d, off, out, n));
		compressed++;
	}
	ck_assert_uint_gt(compressed, 0);
	/* overwrite parts of compressed clusters: copy-on-write decompresses */
	vt_fill_random(ref + 1000, 3000, 5);
	vt_ok(vstd_disk_write(d, 1000, ref + 1000, 3000));
	memset(ref + DSIZE / 2 + 100, 0, 200);
	vt_ok(vstd_disk_write_zeroes(d, DSIZE / 2 + 100, 200, 0));
	vstd_disk_close(d);
	check_with_peers(img, ref, DSIZE);
	ck_assert_msg(vt_run("qemu-img check '%s' | grep -q '[1-9][0-9.]*%% compressed'", img) == 0,
	              "no compressed clusters: %s", vt_output());
	free(out);
	free(ref);
}
END_TEST

START_TEST(resize)
{
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	const char *img = vt_path("rs.qcow2");
	size_t big = (size_t)40 << 20;
	uint8_t *ref = calloc(1, big);
	vstd_disk *d = NULL;
	co.format = "qcow2";
	co.size = 1 << 20;
	co.options = "cluster_size=4096"; /* small L2 coverage: the L1 table must grow */
	vt_ok(vstd_disk_create(img, &co));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	workload(d, ref, 1 << 20, 5, 10);
	vt_ok(vstd_disk_resize(d, big, 0, NULL));
	ck_assert_uint_eq(vstd_disk_size(d), big);
	vt_fill_random(ref + big - 70000, 70000, 9);
	vt_ok(vstd_disk_write(d, big - 70000, ref + big - 70000, 70000));
	vstd_disk_close(d);
	check_with_peers(img, ref, big);
	/* shrink needs the flag, then drops the tail */
	vt_ok(vstd_disk_open(&d, img, &oo));
	ck_assert_int_eq(vstd_disk_resize(d, 3 << 20, 0, NULL), VSTD_EPERM);
	vt_ok(vstd_disk_resize(d, 3 << 20, VSTD_DISK_RESIZE_SHRINK, NULL));
	vstd_disk_close(d);
	check_with_peers(img, ref, 3 << 20);
	/* grow with preallocation */
	vt_ok(vstd_disk_open(&d, img, &oo));
	vt_ok(vstd_disk_resize(d, 6 << 20, 0, "metadata"));
	vstd_disk_close(d);
	memset(ref + (3 << 20), 0, 3 << 20);
	check_with_peers(img, ref, 6 << 20);
	free(ref);
}
END_TEST

/* Many small clusters with wide refcounts: the refcount table grows. */
START_TEST(refcount_table_growth)
{
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	const char *img = vt_path("rt.qcow2");
	size_t size = (size_t)12 << 20;
	uint8_t *ref = malloc(size);
	vstd_disk *d = NULL;
	co.format = "qcow2";
	co.size = size;
	co.options = "cluster_size=512,refcount_bits=64";
	vt_ok(vstd_disk_create(img, &co));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	vt_fill_random(ref, size, 4);
	for (size_t off = 0; off < size; off += 1 << 20)
		vt_ok(vstd_disk_write(d, off, ref + off, 1 << 20));
	vstd_disk_close(d);
	check_with_peers(img, ref, size);
	free(ref);
}
END_TEST

/* qemu-io writes into an image vstd made, and vstd into one qemu made. */
START_TEST(both_directions)
{
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	const char *a = vt_path("a.qcow2"), *b = vt_path("b.qcow2");
	uint8_t *ref = calloc(1, DSIZE);
	vstd_disk *d = NULL;
	co.format = "qcow2";
	co.size = DSIZE;
	vt_ok(vstd_disk_create(a, &co));
	ck_assert(vt_run("qemu-io -c 'write -P 0x5a 100000 200000' '%s'", a) == 0);
	memset(ref + 100000, 0x5a, 200000);
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, a, &oo));
	workload(d, ref, DSIZE, 3, 30);
	vstd_disk_close(d);
	check_with_peers(a, ref, DSIZE);
	ck_assert(vt_run("qemu-img create -f qcow2 -o extended_l2=on '%s' %zu", b, DSIZE) == 0);
	ck_assert(vt_run("qemu-io -c 'write -P 0x11 0 %zu' -c 'write -z 1M 100k' '%s'", DSIZE, b) ==
	          0);
	memset(ref, 0x11, DSIZE);
	memset(ref + (1 << 20), 0, 100 * 1024);
	vt_ok(vstd_disk_open(&d, b, &oo));
	workload(d, ref, DSIZE, 4, 30);
	vstd_disk_close(d);
	check_with_peers(b, ref, DSIZE);
	free(ref);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("qcow2-write");
	TCase *tc = tcase_create("write");
	vt_require_tool("qemu-img", "qemu-utils");
	vt_require_tool("qemu-io", "qemu-utils");
	vt_require_tool("qcowinfo", "libqcow-utils");
	qt_link_driver();
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, create_write_check, 0,
	                    (int)(sizeof(create_opts) / sizeof(create_opts[0])));
	tcase_add_loop_test(tc, overlay_cow, 0, 4);
	tcase_add_loop_test(tc, compressed_writes, 0, 4);
	tcase_add_test(tc, resize);
	tcase_add_test(tc, unaligned_size);
	tcase_add_test(tc, refcount_table_growth);
	tcase_add_test(tc, both_directions);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
