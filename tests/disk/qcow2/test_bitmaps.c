/*
 * tests/disk/qcow2/test_bitmaps.c - persistent bitmaps made by qemu-img
 * bitmap --add, then written through vstd.  vstd does not track writes in
 * bitmaps, so before its first change it flags them "in use" (the spec's
 * "may be inconsistent"); qemu-img info must then show them in use,
 * qemu-img check must stay clean, and qemu must still be able to remove
 * them.  Opening writable without writing changes nothing.  An image
 * whose bitmaps autoclear bit a legacy writer cleared is judged like qemu
 * judges it (the stale bitmap clusters are leaks).
 */
#include <unistd.h>

#include "qtest.h"

static const char *P;

static void make(void)
{
	P = vt_path("bm.qcow2");
	unlink(P);
	ck_assert(vt_run("qemu-img create -q -f qcow2 '%s' 4M", P) == 0);
	ck_assert(vt_run("qemu-io -c 'write -P 1 0 256k' '%s' >/dev/null", P) == 0);
	ck_assert_msg(vt_run("qemu-img bitmap --add '%s' b0 && qemu-img bitmap --add -g 128k "
	                     "--disable '%s' b1",
	                     P, P) == 0,
	              "%s", vt_output());
	ck_assert(vt_run("qemu-io -c 'write -P 2 1M 64k' '%s' >/dev/null", P) == 0);
	ck_assert(vt_run("qemu-img info '%s' | grep -q 'in-use'", P) != 0);
}

START_TEST(write_marks_in_use)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	const char *copy = vt_path("bm-before.qcow2");
	vstd_disk *d = NULL;
	uint8_t b[4096];
	make();
	ck_assert(vt_run("cp '%s' '%s'", P, copy) == 0);
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, P, &oo));
	vt_ok(vstd_disk_read(d, 0, b, sizeof(b)));
	vstd_disk_close(d);
	ck_assert_msg(vt_run("cmp '%s' '%s'", P, copy) == 0, "opened, not written: %s",
	              vt_output());
	vt_ok(vstd_disk_open(&d, P, &oo));
	memset(b, 7, sizeof(b));
	vt_ok(vstd_disk_write(d, 2 << 20, b, sizeof(b)));
	vstd_disk_close(d);
	ck_assert_msg(qt_qemu_check(P) == 0, "%s", vt_output());
	ck_assert_msg(vt_run("qemu-img info --output=json '%s' | jq -e '[.\"format-specific\"."
	                     "data.bitmaps[].flags | index(\"in-use\")] | all'",
	                     P) == 0,
	              "%s", vt_output());
	ck_assert(vt_run("qemu-io -r -c 'read -P 7 2M 4k' -c 'read -P 2 1M 64k' '%s'", P) == 0);
	/* qemu can still drop them, leaving a clean image */
	ck_assert_msg(vt_run("qemu-img bitmap --remove '%s' b0 && qemu-img bitmap --remove '%s' b1",
	                     P, P) == 0,
	              "%s", vt_output());
	ck_assert_msg(qt_qemu_check(P) == 0, "%s", vt_output());
}
END_TEST

START_TEST(legacy_writer_leaks_like_qemu)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk_check_result r;
	vstd_disk *d = NULL;
	FILE *f;
	uint8_t z = 0;
	make();
	/* a writer that knows no bitmaps clears the autoclear bits */
	f = fopen(P, "r+b");
	ck_assert_ptr_nonnull(f);
	ck_assert(fseek(f, 95, SEEK_SET) == 0);
	ck_assert_uint_eq(fwrite(&z, 1, 1, f), 1);
	fclose(f);
	ck_assert_int_eq(qt_qemu_check(P), 3);
	vt_ok(vstd_disk_open(&d, P, &oo));
	memset(&r, 0, sizeof(r));
	vt_ok(vstd_disk_check(d, 0, &r));
	ck_assert_uint_gt(r.leaks, 0);
	ck_assert_uint_eq(r.corruptions, 0);
	vstd_disk_check_result_clear(&r);
	vstd_disk_close(d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("qcow2-bitmaps");
	TCase *tc = tcase_create("bitmaps");
	vt_require_tool("qemu-img", "qemu-utils");
	vt_require_tool("jq", "jq");
	qt_link_driver();
	tcase_add_test(tc, write_marks_in_use);
	tcase_add_test(tc, legacy_writer_leaks_like_qemu);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
