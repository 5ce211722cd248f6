/*
 * tests/disk/test_alloc_failures.c - fail every allocation of a disk
 * operation in turn (the curl "torture" idea): each failure must give a clean
 * VSTD_ENOMEM and leave nothing behind (the ASan build checks for leaks), and
 * the loop must reach a run where the operation succeeds.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vtest.h"

/* Runs op(arg) with the n-th allocation failing, n = 1, 2, ... until it
 * succeeds; returns how many allocations a full run makes. */
static unsigned long torture(int (*op)(void *), void *arg, void (*cleanup)(void *))
{
	for (unsigned long n = 1; n < 10000; n++) {
		int rc;
		vstd_alloc_fail_nth(n);
		rc = op(arg);
		if (vstd_alloc_fail_nth(0) < n) {
			ck_assert_msg(rc == 0, "op failed without an injected failure: %s",
			              vstd_error_last()->message);
			return n - 1;
		}
		ck_assert_msg(rc == VSTD_ENOMEM,
		              "allocation %lu: expected VSTD_ENOMEM, got %d (%s)", n, rc,
		              vstd_error_last()->message);
		ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "out of memory"));
		if (cleanup != NULL)
			cleanup(arg);
	}
	ck_abort_msg("operation never completed");
	return 0;
}

static int open_info_read(void *arg)
{
	vstd_disk *d = NULL;
	vstd_disk_info *info = NULL;
	char buf[4096];
	int rc = vstd_disk_open(&d, arg, NULL);
	if (rc < 0)
		return rc;
	rc = vstd_disk_info_get(d, &info);
	if (rc == 0)
		rc = vstd_disk_read(d, 1000, buf, sizeof(buf));
	vstd_disk_info_free(info);
	vstd_disk_close(d);
	return rc;
}

static int create_image(void *arg)
{
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	co.format = "raw";
	co.size = 1 << 20;
	co.options = "preallocation=full";
	return vstd_disk_create(arg, &co);
}

static void must_not_exist(void *arg)
{
	ck_assert_msg(access(arg, F_OK) != 0, "failed create left %s behind", (char *)arg);
}

START_TEST(open_info_read_every_failure)
{
	unsigned long n;
	vt_ok(create_image((void *)vt_path("t.raw")));
	n = torture(open_info_read, (void *)vt_path("t.raw"), NULL);
	ck_assert_uint_ge(n, 5);
}
END_TEST

START_TEST(create_every_failure)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s", vt_path("c.raw"));
	ck_assert_uint_ge(torture(create_image, path, must_not_exist), 2);
}
END_TEST

static int mem_probe_open(void *arg)
{
	vstd_io *io = NULL;
	vstd_disk *d = NULL;
	int rc = vstd_io_mem_new(&io, arg, 8192, 0, VSTD_IO_WRITE);
	if (rc < 0)
		return rc;
	rc = vstd_disk_open_io(&d, io, NULL, NULL);
	vstd_disk_close(d);
	vstd_io_close(io);
	return rc;
}

START_TEST(memory_disk_every_failure)
{
	static char zeros[8192];
	ck_assert_uint_ge(torture(mem_probe_open, zeros, NULL), 3);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("disk/alloc_failures");
	TCase *tc = tcase_create("torture");
	tcase_add_test(tc, open_info_read_every_failure);
	tcase_add_test(tc, create_every_failure);
	tcase_add_test(tc, memory_disk_every_failure);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
