/*
 * tests/disk/test_compare.c - vstd_disk_compare: identical contents, the
 * first differing byte, size differences with and without STRICT, holes
 * against explicit zeroes, and agreement with qemu-img compare.
 */
#include <stdlib.h>
#include <string.h>

#include "vtest.h"

#define MIB ((uint64_t)1 << 20)

static void make(const char *name, uint64_t size, uint64_t data_off, size_t data_len, uint64_t seed)
{
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	co.format = "raw";
	co.size = size;
	vt_ok(vstd_disk_create(vt_path(name), &co));
	if (data_len) {
		uint8_t *buf = malloc(data_len);
		vt_fill_random(buf, data_len, seed);
		oo.flags = VSTD_DISK_RDWR;
		vt_ok(vstd_disk_open(&d, vt_path(name), &oo));
		vt_ok(vstd_disk_write(d, data_off, buf, data_len));
		vstd_disk_close(d);
		free(buf);
	}
}

static void poke(const char *name, uint64_t off, const void *data, size_t len)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, vt_path(name), &oo));
	vt_ok(vstd_disk_write(d, off, data, len));
	vstd_disk_close(d);
}

static vstd_disk_compare_result cmp(const char *a, const char *b, unsigned flags)
{
	vstd_disk *da = NULL, *db = NULL;
	vstd_disk_compare_result r;
	vt_ok(vstd_disk_open(&da, vt_path(a), NULL));
	vt_ok(vstd_disk_open(&db, vt_path(b), NULL));
	vt_ok(vstd_disk_compare(da, db, flags, NULL, NULL, &r));
	vstd_disk_close(da);
	vstd_disk_close(db);
	return r;
}

START_TEST(identical_and_first_difference)
{
	vstd_disk_compare_result r;
	make("a.raw", 8 * MIB, 3 * MIB, 100000, 1);
	make("b.raw", 8 * MIB, 3 * MIB, 100000, 1);
	r = cmp("a.raw", "b.raw", 0);
	ck_assert_int_eq(r.identical, 1);
	r = cmp("a.raw", "b.raw", VSTD_COMPARE_STRICT);
	ck_assert_int_eq(r.identical, 1);
	ck_assert_int_eq(vt_run("qemu-img compare '%s' '%s'", vt_path("a.raw"), vt_path("b.raw")),
	                 0);
	/* one byte in a hole of a, data in b */
	poke("b.raw", 7 * MIB + 3, "x", 1);
	r = cmp("a.raw", "b.raw", 0);
	ck_assert_int_eq(r.identical, 0);
	ck_assert_uint_eq(r.first_difference, 7 * MIB + 3);
	ck_assert_int_eq(vt_run("qemu-img compare '%s' '%s'", vt_path("a.raw"), vt_path("b.raw")),
	                 1);
	/* an earlier change inside the data wins */
	poke("a.raw", 3 * MIB + 5000, "\x01\x02", 2);
	r = cmp("b.raw", "a.raw", 0);
	ck_assert_int_eq(r.identical, 0);
	ck_assert_uint_le(r.first_difference, 3 * MIB + 5001);
	ck_assert_uint_ge(r.first_difference, 3 * MIB + 5000);
}
END_TEST

START_TEST(sizes)
{
	vstd_disk_compare_result r;
	static const uint8_t zero[4096];
	make("s.raw", 4 * MIB, 0, 5000, 7);
	make("l.raw", 6 * MIB + 100, 0, 5000, 7);
	/* the larger one's extra part is a hole: identical unless strict */
	r = cmp("s.raw", "l.raw", 0);
	ck_assert_int_eq(r.identical, 1);
	ck_assert_int_eq(r.size_mismatch, 1);
	r = cmp("l.raw", "s.raw", VSTD_COMPARE_STRICT);
	ck_assert_int_eq(r.identical, 0);
	ck_assert_int_eq(r.size_mismatch, 1);
	ck_assert_int_eq(
	        vt_run("qemu-img compare -s '%s' '%s'", vt_path("s.raw"), vt_path("l.raw")), 1);
	/* explicit zero data in the extra part is still zero */
	poke("l.raw", 5 * MIB, zero, sizeof(zero));
	r = cmp("l.raw", "s.raw", 0);
	ck_assert_int_eq(r.identical, 1);
	/* data in the extra part differs at its first byte */
	poke("l.raw", 5 * MIB + 77, "q", 1);
	r = cmp("l.raw", "s.raw", 0);
	ck_assert_int_eq(r.identical, 0);
	ck_assert_uint_eq(r.first_difference, 5 * MIB + 77);
	ck_assert_int_eq(vt_run("qemu-img compare '%s' '%s'", vt_path("s.raw"), vt_path("l.raw")),
	                 1);
}
END_TEST

static int stop_now(uint64_t done, uint64_t total, void *opaque)
{
	return 1;
}

START_TEST(cancel_and_errors)
{
	vstd_disk *a = NULL;
	vstd_disk_compare_result r;
	make("c.raw", 4 * MIB, MIB, 1000, 3);
	vt_ok(vstd_disk_open(&a, vt_path("c.raw"), NULL));
	ck_assert_int_eq(vstd_disk_compare(a, a, 0, stop_now, NULL, &r), VSTD_ECANCELED);
	ck_assert_int_eq(vstd_disk_compare(a, NULL, 0, NULL, NULL, &r), VSTD_EINVAL);
	vt_ok(vstd_disk_compare(a, a, VSTD_COMPARE_STRICT, NULL, NULL, &r));
	ck_assert_int_eq(r.identical, 1);
	vstd_disk_close(a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("disk/compare");
	TCase *tc = tcase_create("compare");
	vt_require_tool("qemu-img", "qemu-utils");
	tcase_add_test(tc, identical_and_first_difference);
	tcase_add_test(tc, sizes);
	tcase_add_test(tc, cancel_and_errors);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
