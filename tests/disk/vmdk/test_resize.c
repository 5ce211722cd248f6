/*
 * tests/disk/vmdk/test_resize.c - growing streamOptimized VMDKs, shrinking
 * hosted sparse ones (monolithicSparse, twoGbMaxExtentSparse), checked
 * with qemu-img and vmdkinfo; the seSparse write refusal; a damaged grain
 * met by a shrink.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bytes.h"
#include "disk/vmdk/vmdk_internal.h"
#include "vtest.h"

#define MIB ((size_t)1 << 20)
#define DSIZE ((size_t)12 << 20)

static uint8_t *pattern(uint64_t seed)
{
	uint8_t *p = malloc(DSIZE);
	vt_fill_random(p, DSIZE, seed);
	memset(p + 4 * MIB, 0, 2 * MIB); /* holes stay holes */
	return p;
}

static void read_equal(vstd_disk *d, uint64_t at, const uint8_t *want, size_t len)
{
	uint8_t *got = malloc(len);
	vt_ok(vstd_disk_read(d, at, got, len));
	for (size_t i = 0; i < len; i++)
		if (got[i] != want[i])
			ck_abort_msg("byte %" PRIu64 " differs: %u != %u", at + i, got[i], want[i]);
	free(got);
}

START_TEST(stream_grow)
{
	uint8_t *pat = pattern(1), tail[8192];
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	const char *raw = vt_path("s.raw");
	char img[512];
	snprintf(img, sizeof(img), "%s", vt_path("s.vmdk"));
	vt_write_file(raw, pat, DSIZE);
	ck_assert_int_eq(vt_run("qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "
	                        "%s %s",
	                        raw, img),
	                 0);
	ck_assert_msg(vt_run("%s img resize %s 100M", vt_cli(), img) == 0, "%s", vt_output());
	ck_assert_int_eq(truncate(raw, 100 * MIB), 0);
	ck_assert_msg(vt_run("qemu-img check -f vmdk %s && qemu-img compare -f vmdk -F raw %s %s",
	                     img, img, raw) == 0,
	              "%s", vt_output());
	ck_assert_int_eq(vt_run("vmdkinfo %s", img), 0);
	ck_assert_msg(strstr(vt_output(), "Stream optimized") != NULL &&
	                      strstr(vt_output(), "(104857600 bytes)") != NULL,
	              "%s", vt_output());
	/* write into the new part, grow again, shrink is refused */
	vt_fill_random(tail, sizeof(tail), 2);
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	vt_ok(vstd_disk_write(d, 90 * MIB + 512, tail, sizeof(tail)));
	vt_ok(vstd_disk_resize(d, 200 * MIB, 0, NULL));
	ck_assert_int_eq(vstd_disk_resize(d, 10 * MIB, VSTD_DISK_RESIZE_SHRINK, NULL),
	                 VSTD_ENOTSUP);
	vstd_disk_close(d);
	vt_ok(vstd_disk_open(&d, img, NULL));
	ck_assert_uint_eq(vstd_disk_size(d), 200 * MIB);
	read_equal(d, 0, pat, DSIZE);
	read_equal(d, 90 * MIB + 512, tail, sizeof(tail));
	vstd_disk_close(d);
	{
		FILE *f = fopen(raw, "r+b");
		ck_assert_int_eq(fseek(f, (long)(90 * MIB + 512), SEEK_SET), 0);
		ck_assert_uint_eq(fwrite(tail, 1, sizeof(tail), f), sizeof(tail));
		fclose(f);
	}
	ck_assert_int_eq(truncate(raw, 200 * MIB), 0);
	ck_assert_msg(vt_run("qemu-img check -f vmdk %s && qemu-img compare -f vmdk -F raw %s %s",
	                     img, img, raw) == 0,
	              "%s", vt_output());
	ck_assert_int_eq(vt_run("vmdkinfo %s", img), 0);
	ck_assert_msg(strstr(vt_output(), "(209715200 bytes)") != NULL, "%s", vt_output());
	free(pat);
}
END_TEST

/* _i = 0: monolithicSparse, 1: twoGbMaxExtentSparse (qemu-made) */
START_TEST(sparse_shrink)
{
	static const char *const subs[] = {"monolithicSparse", "twoGbMaxExtentSparse"};
	uint8_t *pat = pattern(3 + (uint64_t)_i);
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	const uint64_t cut = 3 * MIB - 3 * 512; /* inside a 64 KiB grain of data */
	const char *raw = vt_path("m.raw");
	char img[512];
	snprintf(img, sizeof(img), "%s", vt_path("m.vmdk"));
	vt_write_file(raw, pat, DSIZE);
	ck_assert_int_eq(
	        vt_run("qemu-img convert -f raw -O vmdk -o subformat=%s %s %s", subs[_i], raw, img),
	        0);
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	/* like qemu-img: shrinking needs to be asked for */
	ck_assert_int_eq(vstd_disk_resize(d, cut, 0, NULL), VSTD_EPERM);
	vt_ok(vstd_disk_resize(d, cut, VSTD_DISK_RESIZE_SHRINK, NULL));
	vstd_disk_close(d);
	ck_assert_int_eq(truncate(raw, (off_t)cut), 0);
	ck_assert_msg(vt_run("qemu-img check -f vmdk %s && qemu-img compare -f vmdk -F raw %s %s",
	                     img, img, raw) == 0,
	              "%s", vt_output());
	ck_assert_int_eq(vt_run("vmdkinfo %s", img), 0);
	ck_assert_msg(strstr(vt_output(), "(3144192 bytes)") != NULL, "%s", vt_output());
	/* grow back: what was cut reads as zeroes, in vstd and qemu */
	vt_ok(vstd_disk_open(&d, img, &oo));
	vt_ok(vstd_disk_resize(d, DSIZE, 0, NULL));
	vstd_disk_close(d);
	memset(pat + cut, 0, DSIZE - cut);
	vt_ok(vstd_disk_open(&d, img, NULL));
	read_equal(d, 0, pat, DSIZE);
	vstd_disk_close(d);
	ck_assert_int_eq(truncate(raw, (off_t)DSIZE), 0);
	ck_assert_msg(vt_run("qemu-img check -f vmdk %s && qemu-img compare -f vmdk -F raw %s %s",
	                     img, img, raw) == 0,
	              "%s", vt_output());
	free(pat);
}
END_TEST

/* seSparse: a write is refused naming why, and nothing in the file changes */
START_TEST(sesparse_refused)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	char se[512], sum0[128], sum1[128];
	uint8_t buf[512];
	FILE *f;
	snprintf(se, sizeof(se), "%s", vt_unpack("corpus/disk/vmdk/dissect-sesparse.vmdk.gz"));
	f = fopen(vt_path("se-desc.vmdk"), "w");
	fprintf(f,
	        "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
	        "createType=\"seSparse\"\n\nRW 1048576 SESPARSE \"%s\"\n",
	        strrchr(se, '/') + 1);
	fclose(f);
	ck_assert_int_eq(vt_run("cat %s %s | md5sum", vt_path("se-desc.vmdk"), se), 0);
	snprintf(sum0, sizeof(sum0), "%s", vt_output());
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, vt_path("se-desc.vmdk"), &oo));
	memset(buf, 0x11, sizeof(buf));
	ck_assert_int_eq(vstd_disk_write(d, 4096, buf, sizeof(buf)), VSTD_ENOTSUP);
	ck_assert_msg(strstr(vstd_error_last()->message, "seSparse") &&
	                      strstr(vstd_error_last()->message, "read-only"),
	              "%s", vstd_error_last()->message);
	ck_assert_int_eq(vstd_disk_write_zeroes(d, 0, 65536, 0), VSTD_ENOTSUP);
	ck_assert_int_eq(vstd_disk_resize(d, 1 << 30, 0, NULL), VSTD_ENOTSUP);
	vstd_disk_close(d);
	ck_assert_int_eq(vt_run("cat %s %s | md5sum", vt_path("se-desc.vmdk"), se), 0);
	snprintf(sum1, sizeof(sum1), "%s", vt_output());
	ck_assert_str_eq(sum0, sum1);
}
END_TEST

/* A shrink meeting a grain that points past the end of the file: a clear
 * error, the file not extended, the capacity unchanged. */
START_TEST(hostile_shrink)
{
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	uint8_t buf[65536], h[512], gte[4];
	char img[512];
	FILE *f;
	long size0, size1;
	uint64_t gd_sec, gt_sec;
	snprintf(img, sizeof(img), "%s", vt_path("h.vmdk"));
	co.format = "vmdk";
	co.size = DSIZE;
	vt_ok(vstd_disk_create(img, &co));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	memset(buf, 0x42, sizeof(buf));
	vt_ok(vstd_disk_write(d, 5 * MIB, buf, sizeof(buf))); /* grain 80 */
	vstd_disk_close(d);
	f = fopen(img, "r+b");
	ck_assert_uint_eq(fread(h, 1, sizeof(h), f), sizeof(h));
	gd_sec = vstd_le64(h + 56);
	ck_assert_int_eq(fseek(f, (long)(gd_sec * 512), SEEK_SET), 0);
	ck_assert_uint_eq(fread(gte, 1, 4, f), 4);
	gt_sec = vstd_le32(gte);
	vstd_put_le32(gte, 0x7fffff00); /* grain 80 far past the end */
	ck_assert_int_eq(fseek(f, (long)(gt_sec * 512 + 80 * 4), SEEK_SET), 0);
	ck_assert_uint_eq(fwrite(gte, 1, 4, f), 4);
	fseek(f, 0, SEEK_END);
	size0 = ftell(f);
	fclose(f);
	vt_ok(vstd_disk_open(&d, img, &oo));
	ck_assert_int_eq(vstd_disk_resize(d, 5 * MIB + 512, VSTD_DISK_RESIZE_SHRINK, NULL),
	                 VSTD_ECORRUPT);
	ck_assert_msg(strstr(vstd_error_last()->message, "h.vmdk") &&
	                      strstr(vstd_error_last()->message, "end of the file"),
	              "%s", vstd_error_last()->message);
	vstd_disk_close(d);
	f = fopen(img, "rb");
	fseek(f, 0, SEEK_END);
	size1 = ftell(f);
	fclose(f);
	ck_assert_int_eq(size0, size1);
	vt_ok(vstd_disk_open(&d, img, NULL));
	ck_assert_uint_eq(vstd_disk_size(d), DSIZE);
	vstd_disk_close(d);
}
END_TEST

int main(void)
{
	static const void *volatile force_link = &vmdk_sparse_shrink;
	Suite *s = suite_create("disk/vmdk/resize");
	TCase *tc = tcase_create("resize");
	(void)force_link;
	vt_require_tool("qemu-img", "qemu-utils");
	vt_require_tool("vmdkinfo", "libvmdk-utils");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, stream_grow);
	tcase_add_loop_test(tc, sparse_shrink, 0, 2);
	tcase_add_test(tc, sesparse_refused);
	tcase_add_test(tc, hostile_shrink);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
