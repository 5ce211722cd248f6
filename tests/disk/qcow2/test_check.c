/*
 * tests/disk/qcow2/test_check.c - check and repair against qemu-img check:
 * refcounts of a qemu image are damaged on purpose, vstd's verdict must
 * match qemu's, and after vstd's repair qemu-img check finds the image
 * clean with the guest data unchanged.
 */
#include <unistd.h>

#include "core/bytes.h"
#include "qtest.h"

static uint8_t *img;
static size_t img_len;

static void make_base(const char *opts)
{
	const char *p = vt_path("base.qcow2");
	ck_assert(vt_run("qemu-img create -f qcow2 -o %s '%s' 4M", opts, p) == 0);
	ck_assert(vt_run("qemu-io -c 'write -P 0x41 0 200k' -c 'write -P 0x42 2M 64k' '%s'", p) ==
	          0);
	ck_assert(vt_run("qemu-img convert -O raw '%s' '%s'", p, vt_path("before.raw")) == 0);
	img = qt_read_file(p, &img_len);
}

static uint64_t qemu_number(const char *pattern)
{
	const char *p = strstr(vt_output(), pattern);
	if (p == NULL)
		return 0;
	while (p > vt_output() && p[-1] >= '0' && p[-1] <= '9')
		p--;
	return strtoull(p, NULL, 10);
}

/* Set the 16-bit refcount of cluster `cl` in the first refcount block. */
static void set_refcount16(uint64_t cl, uint16_t v)
{
	uint64_t rb = vstd_be64(img + vstd_be64(img + 48));
	vstd_put_be16(img + rb + 2 * cl, v);
}

static void run_check(unsigned flags, vstd_disk_check_result *res)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	oo.flags = (flags ? VSTD_DISK_RDWR : 0) | VSTD_DISK_NO_BACKING;
	vt_ok(vstd_disk_open(&d, vt_path("x.qcow2"), &oo));
	vt_ok(vstd_disk_check(d, flags, res));
	vstd_disk_close(d);
}

static void data_unchanged(void)
{
	ck_assert_msg(vt_run("qemu-img compare -f raw '%s' '%s'", vt_path("before.raw"),
	                     vt_path("x.qcow2")) == 0,
	              "%s", vt_output());
}

START_TEST(clean_images)
{
	static const char *const opts[] = {"refcount_bits=16", "refcount_bits=2,cluster_size=4096",
	                                   "compat=0.10", "extended_l2=on"};
	vstd_disk_check_result r;
	make_base(opts[_i]);
	vt_write_file(vt_path("x.qcow2"), img, img_len);
	free(img);
	ck_assert(vt_run("qemu-img snapshot -c s1 '%s'", vt_path("x.qcow2")) == 0);
	ck_assert(vt_run("qemu-io -c 'write -P 0x43 100k 200k' '%s'", vt_path("x.qcow2")) == 0);
	ck_assert(vt_run("qemu-img check '%s'", vt_path("x.qcow2")) == 0);
	run_check(0, &r);
	ck_assert_msg(r.corruptions == 0 && r.leaks == 0 && r.check_errors == 0, "%s",
	              r.report ? r.report : "");
	{
		/* "48/128 = 37.50% allocated" and "Image end offset: N" */
		const char *o = vt_output(), *eq = strstr(o, " = "), *e = strstr(o, "end offset: ");
		const char *q = eq;
		ck_assert(eq != NULL && e != NULL);
		while (q > o && q[-1] != '\n')
			q--;
		ck_assert_uint_eq(r.allocated_clusters, strtoull(q, NULL, 10));
		ck_assert_uint_eq(r.image_end_offset, strtoull(e + 12, NULL, 10));
	}
	vstd_disk_check_result_clear(&r);
}
END_TEST

START_TEST(leak)
{
	vstd_disk_check_result r;
	uint64_t cs = 65536, n;
	make_base("refcount_bits=16");
	/* one more cluster in the file, counted but unused */
	n = (img_len + cs - 1) / cs;
	img = realloc(img, (n + 1) * cs);
	memset(img + img_len, 0, (n + 1) * cs - img_len);
	img_len = (n + 1) * cs;
	set_refcount16(n, 1);
	vt_write_file(vt_path("x.qcow2"), img, img_len);
	free(img);
	ck_assert_int_eq(qt_qemu_check(vt_path("x.qcow2")), 3);
	ck_assert_uint_eq(qemu_number(" leaked clusters"), 1);
	run_check(0, &r);
	ck_assert_uint_eq(r.leaks, 1);
	ck_assert_uint_eq(r.corruptions, 0);
	vstd_disk_check_result_clear(&r);
	run_check(VSTD_CHECK_REPAIR_LEAKS, &r);
	ck_assert_uint_eq(r.leaks_fixed, 1);
	vstd_disk_check_result_clear(&r);
	ck_assert_msg(qt_qemu_check(vt_path("x.qcow2")) == 0, "%s", vt_output());
	data_unchanged();
}
END_TEST

START_TEST(refcount_too_low)
{
	vstd_disk_check_result r;
	make_base("refcount_bits=16");
	/* the first data cluster loses its refcount */
	{
		uint64_t l2 = vstd_be64(img + vstd_be64(img + 40)) & 0x00fffffffffffe00ull;
		uint64_t data = vstd_be64(img + l2) & 0x00fffffffffffe00ull;
		set_refcount16(data / 65536, 0);
	}
	vt_write_file(vt_path("x.qcow2"), img, img_len);
	free(img);
	ck_assert_int_eq(qt_qemu_check(vt_path("x.qcow2")), 2);
	run_check(0, &r);
	ck_assert_uint_gt(r.corruptions, 0);
	ck_assert_ptr_nonnull(r.report);
	vstd_disk_check_result_clear(&r);
	/* read-only: repair refused */
	{
		vstd_disk *d = NULL;
		vt_ok(vstd_disk_open(&d, vt_path("x.qcow2"), NULL));
		ck_assert_int_eq(vstd_disk_check(d, VSTD_CHECK_REPAIR_ALL, &r), VSTD_EPERM);
		vstd_disk_close(d);
	}
	/* -r leaks does not touch errors */
	run_check(VSTD_CHECK_REPAIR_LEAKS, &r);
	ck_assert_uint_gt(r.corruptions, 0);
	vstd_disk_check_result_clear(&r);
	run_check(VSTD_CHECK_REPAIR_ALL, &r);
	ck_assert_uint_gt(r.corruptions_fixed, 0);
	ck_assert_uint_eq(r.corruptions, 0);
	vstd_disk_check_result_clear(&r);
	ck_assert_msg(qt_qemu_check(vt_path("x.qcow2")) == 0, "%s", vt_output());
	data_unchanged();
}
END_TEST

START_TEST(copied_flag)
{
	vstd_disk_check_result r;
	make_base("refcount_bits=16");
	{
		uint64_t l2 = vstd_be64(img + vstd_be64(img + 40)) & 0x00fffffffffffe00ull;
		img[l2] &= 0x7f; /* clear COPIED of the first data cluster */
	}
	vt_write_file(vt_path("x.qcow2"), img, img_len);
	free(img);
	ck_assert_int_eq(qt_qemu_check(vt_path("x.qcow2")), 2);
	run_check(0, &r);
	ck_assert_uint_eq(r.corruptions, 1);
	vstd_disk_check_result_clear(&r);
	run_check(VSTD_CHECK_REPAIR_ALL, &r);
	ck_assert_uint_eq(r.corruptions_fixed, 1);
	vstd_disk_check_result_clear(&r);
	ck_assert_msg(qt_qemu_check(vt_path("x.qcow2")) == 0, "%s", vt_output());
	data_unchanged();
}
END_TEST

/* An L2 table pointing at the header: reported, and repair makes nothing worse. */
START_TEST(overlap)
{
	vstd_disk_check_result r;
	int before;
	make_base("refcount_bits=16");
	{
		uint64_t l2 = vstd_be64(img + vstd_be64(img + 40)) & 0x00fffffffffffe00ull;
		vstd_put_be64(img + l2 + 8 * 10,
		              0x8000000000000000ull | 0x10000); /* refcount table */
	}
	vt_write_file(vt_path("x.qcow2"), img, img_len);
	free(img);
	before = qt_qemu_check(vt_path("x.qcow2"));
	ck_assert_int_eq(before, 2);
	run_check(0, &r);
	ck_assert_uint_gt(r.corruptions, 0);
	vstd_disk_check_result_clear(&r);
	run_check(VSTD_CHECK_REPAIR_ALL, &r);
	vstd_disk_check_result_clear(&r);
	ck_assert_int_ne(qt_qemu_check(vt_path("x.qcow2")), 1);
}
END_TEST

/* lazy refcounts left dirty by a crash: opening writable repairs */
START_TEST(dirty_lazy)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk_info *info = NULL;
	vstd_disk *d = NULL;
	const char *p = vt_path("x.qcow2");
	ck_assert(vt_run("qemu-img create -f qcow2 -o lazy_refcounts=on '%s' 4M", p) == 0);
	vt_run("qemu-io -c 'write -P 0x55 0 300k' -c abort '%s'", p);
	ck_assert_int_ne(qt_qemu_check(p), 0); /* dirty: refcounts missing */
	vt_ok(vstd_disk_open(&d, p, NULL));
	vt_ok(vstd_disk_info_get(d, &info));
	ck_assert_int_eq(info->dirty, 1);
	vstd_disk_info_free(info);
	vstd_disk_close(d);
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, p, &oo));
	vstd_disk_close(d);
	ck_assert_msg(qt_qemu_check(p) == 0, "%s", vt_output());
	ck_assert(vt_run("qemu-img info '%s' | grep -q 'dirty'", p) != 0 ||
	          vt_run("qemu-io -r -c 'read -P 0x55 0 300k' '%s'", p) == 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("qcow2-check");
	TCase *tc = tcase_create("check");
	vt_require_tool("qemu-img", "qemu-utils");
	vt_require_tool("qemu-io", "qemu-utils");
	qt_link_driver();
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, clean_images, 0, 4);
	tcase_add_test(tc, leak);
	tcase_add_test(tc, refcount_too_low);
	tcase_add_test(tc, copied_flag);
	tcase_add_test(tc, overlap);
	tcase_add_test(tc, dirty_lazy);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
