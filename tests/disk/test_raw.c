/*
 * tests/disk/test_raw.c - the disk framework through the raw driver:
 * create (preallocation modes), open by probe and by name, byte-granular
 * read/write, zeroes, discard, block status, resize, info, errors, and
 * interoperability with qemu-img in both directions.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vtest.h"

static void create_raw(const char *path, uint64_t size, const char *options)
{
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	co.format = "raw";
	co.size = size;
	co.options = options;
	vt_ok(vstd_disk_create(path, &co));
}

static vstd_disk *open_rw(const char *path)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, path, &oo));
	return d;
}

START_TEST(create_and_probe)
{
	vstd_disk *d = NULL;
	struct stat st;
	create_raw(vt_path("a.raw"), 64 << 20, NULL);
	ck_assert_int_eq(stat(vt_path("a.raw"), &st), 0);
	ck_assert_int_eq(st.st_size, 64 << 20);
	ck_assert_int_lt(st.st_blocks * 512, 1 << 20); /* sparse */
	vt_ok(vstd_disk_open(&d, vt_path("a.raw"), NULL));
	ck_assert_str_eq(vstd_disk_format(d), "raw");
	ck_assert_uint_eq(vstd_disk_size(d), 64 << 20);
	ck_assert_ptr_null(vstd_disk_backing(d));
	ck_assert_int_eq(vstd_disk_is_writable(d), 0);
	ck_assert_int_eq(vstd_disk_write(d, 0, "x", 1), VSTD_EPERM);
	vstd_disk_close(d);
	vstd_disk_close(NULL);
}
END_TEST

START_TEST(preallocation)
{
	struct stat st;
	create_raw(vt_path("f.raw"), 8 << 20, "preallocation=falloc");
	ck_assert_int_eq(stat(vt_path("f.raw"), &st), 0);
	ck_assert_int_ge(st.st_blocks * 512, 8 << 20);
	create_raw(vt_path("full.raw"), 8 << 20, "preallocation=full");
	ck_assert_int_eq(stat(vt_path("full.raw"), &st), 0);
	ck_assert_int_ge(st.st_blocks * 512, 8 << 20);
	ck_assert_int_eq(st.st_size, 8 << 20);
}
END_TEST

START_TEST(byte_granular_io)
{
	vstd_disk *d;
	uint8_t in[70001], out[70001];
	create_raw(vt_path("b.raw"), 1 << 20, NULL);
	d = open_rw(vt_path("b.raw"));
	vt_fill_random(in, sizeof(in), 5);
	vt_ok(vstd_disk_write(d, 12345, in, sizeof(in)));
	vt_ok(vstd_disk_read(d, 12345, out, sizeof(out)));
	ck_assert(memcmp(in, out, sizeof(in)) == 0);
	vt_ok(vstd_disk_write_zeroes(d, 12346, 10, 0));
	vt_ok(vstd_disk_read(d, 12345, out, 12));
	ck_assert(out[0] == in[0] && out[1] == 0 && out[10] == 0 && out[11] == in[11]);
	vt_ok(vstd_disk_discard(d, 0, 4096));
	vt_ok(vstd_disk_flush(d));
	/* the end of the disk is a hard limit, no growth by writing */
	ck_assert_int_eq(vstd_disk_write(d, (1 << 20) - 1, in, 2), VSTD_ERANGE);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "virtual size 1048576"));
	ck_assert_int_eq(vstd_disk_read(d, UINT64_MAX, out, 2), VSTD_ERANGE);
	vt_ok(vstd_disk_read(d, 1 << 20, out, 0));
	vstd_disk_close(d);
}
END_TEST

START_TEST(block_status_sees_holes)
{
	vstd_disk *d;
	vstd_block_status st;
	uint8_t buf[65536];
	create_raw(vt_path("s.raw"), 16 << 20, NULL);
	d = open_rw(vt_path("s.raw"));
	vt_fill_random(buf, sizeof(buf), 1);
	vt_ok(vstd_disk_write(d, 4 << 20, buf, sizeof(buf)));
	vt_ok(vstd_disk_flush(d));
	vt_ok(vstd_disk_block_status(d, 0, 16 << 20, &st));
	ck_assert(st.flags & VSTD_BLOCK_ALLOCATED);
	if (st.flags & VSTD_BLOCK_ZERO) { /* the file system reports holes */
		ck_assert_uint_eq(st.length, 4 << 20);
		vt_ok(vstd_disk_map(d, 4 << 20, 16 << 20, &st));
		ck_assert(st.flags & VSTD_BLOCK_DATA);
		ck_assert(st.flags & VSTD_BLOCK_OFFSET_VALID);
		ck_assert_uint_eq(st.host_offset, 4 << 20);
		ck_assert_uint_eq(st.depth, 0);
	}
	/* at the end: length 0 */
	vt_ok(vstd_disk_block_status(d, 16 << 20, 100, &st));
	ck_assert_uint_eq(st.length, 0);
	vstd_disk_close(d);
}
END_TEST

START_TEST(resize)
{
	vstd_disk *d;
	struct stat st;
	create_raw(vt_path("r.raw"), 1 << 20, NULL);
	d = open_rw(vt_path("r.raw"));
	vt_ok(vstd_disk_resize(d, 4 << 20, 0, NULL));
	ck_assert_uint_eq(vstd_disk_size(d), 4 << 20);
	ck_assert_int_eq(vstd_disk_resize(d, 1 << 20, 0, NULL), VSTD_EPERM);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "--shrink"));
	vt_ok(vstd_disk_resize(d, 2 << 20, VSTD_DISK_RESIZE_SHRINK, NULL));
	ck_assert_int_eq(vstd_disk_resize(d, 3 << 20, 0, "bogus"), VSTD_EINVAL);
	vt_ok(vstd_disk_resize(d, 3 << 20, 0, "falloc"));
	vstd_disk_close(d);
	ck_assert_int_eq(stat(vt_path("r.raw"), &st), 0);
	ck_assert_int_eq(st.st_size, 3 << 20);
	ck_assert_int_ge(st.st_blocks * 512, 1 << 20);
}
END_TEST

START_TEST(info_and_check)
{
	vstd_disk *d = NULL;
	vstd_disk_info *info = NULL;
	vstd_disk_check_result res;
	create_raw(vt_path("i.raw"), 1 << 20, NULL);
	vt_ok(vstd_disk_open(&d, vt_path("i.raw"), NULL));
	vt_ok(vstd_disk_info_get(d, &info));
	ck_assert_str_eq(info->format, "raw");
	ck_assert_str_eq(info->filename, vt_path("i.raw"));
	ck_assert_uint_eq(info->virtual_size, 1 << 20);
	ck_assert_ptr_null(info->backing_filename);
	ck_assert_str_eq(info->format_specific_json, "{\"type\":\"raw\",\"data\":{}}");
	vstd_disk_info_free(info);
	vt_ok(vstd_disk_check(d, 0, &res));
	ck_assert_int_eq(res.supported, 0);
	ck_assert_int_eq(vstd_disk_check(d, VSTD_CHECK_REPAIR_ALL, &res), VSTD_EPERM);
	vstd_disk_check_result_clear(&res);
	vstd_disk_close(d);
}
END_TEST

START_TEST(errors)
{
	vstd_disk *d = NULL;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	ck_assert_int_eq(vstd_disk_open(&d, vt_path("nope"), NULL), VSTD_ENOENT);
	ck_assert_int_eq(vstd_disk_open(&d, vt_tmpdir(), NULL), VSTD_EINVAL);
	oo.format = "qcow9";
	vt_write_file(vt_path("x.raw"), "abc", 3);
	ck_assert_int_eq(vstd_disk_open(&d, vt_path("x.raw"), &oo), VSTD_ENOTSUP);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "unknown disk format 'qcow9'"));
	ck_assert_ptr_null(d);
	oo.version = 77;
	ck_assert_int_eq(vstd_disk_open(&d, vt_path("x.raw"), &oo), VSTD_EINVAL);
	co.format = "raw";
	co.size = 100;
	co.options = "cluster_size=64k";
	ck_assert_int_eq(vstd_disk_create(vt_path("c.raw"), &co), VSTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "no option 'cluster_size'"));
	co.options = "preallocation=metadata";
	ck_assert_int_eq(vstd_disk_create(vt_path("c.raw"), &co), VSTD_EINVAL);
	ck_assert_int_eq(access(vt_path("c.raw"), F_OK), -1); /* nothing left behind */
	co.options = NULL;
	co.size = (uint64_t)1 << 63;
	ck_assert_int_eq(vstd_disk_create(vt_path("c.raw"), &co), VSTD_ERANGE);
	co.size = 100;
	co.backing_file = "base.raw";
	ck_assert_int_eq(vstd_disk_create(vt_path("c.raw"), &co), VSTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "-F"));
	co.backing_file = NULL;
	ck_assert_int_eq(vstd_disk_create("/proc/no/such/dir/x.raw", &co), VSTD_ENOENT);
	co.format = "vmdk9";
	ck_assert_int_eq(vstd_disk_create(vt_path("c.raw"), &co), VSTD_ENOTSUP);
}
END_TEST

START_TEST(formats_listed)
{
	size_t n = vstd_disk_format_count(), count;
	int raw_seen = 0;
	const vstd_disk_option_desc *o;
	for (size_t i = 0; i < n; i++)
		raw_seen |= strcmp(vstd_disk_format_name(i), "raw") == 0;
	ck_assert(raw_seen);
	ck_assert_ptr_null(vstd_disk_format_name(n));
	o = vstd_disk_format_options("raw", &count);
	ck_assert_uint_eq(count, 1);
	ck_assert_str_eq(o[0].name, "preallocation");
	ck_assert_ptr_nonnull(vstd_disk_format_description("raw"));
	ck_assert_ptr_null(vstd_disk_format_options("nope", &count));
	ck_assert_uint_eq(count, 0);
}
END_TEST

START_TEST(memory_io_disk)
{
	vstd_io *io = NULL;
	vstd_disk *d = NULL;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	const char *fmt;
	int score;
	uint8_t buf[512] = {0};
	vt_ok(vstd_io_mem_new(&io, buf, sizeof(buf), 0, VSTD_IO_WRITE));
	vt_ok(vstd_disk_probe(io, "mem", &fmt, &score));
	ck_assert_str_eq(fmt, "raw");
	ck_assert_int_eq(score, 1);
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open_io(&d, io, NULL, &oo));
	vt_ok(vstd_disk_write(d, 510, "hi", 2));
	vt_ok(vstd_disk_read(d, 510, buf, 2));
	ck_assert(buf[0] == 'h');
	ck_assert_uint_eq(vstd_disk_size(d), 512);
	vstd_disk_close(d);
	vstd_io_close(io);
}
END_TEST

/* Images made by qemu-img read back through vstd, and ours through qemu-img. */
START_TEST(interop_qemu_img)
{
	uint8_t *buf = malloc(1 << 20), *out = malloc(1 << 20);
	vstd_disk *d;
	ck_assert_int_eq(vt_run("qemu-img create -f raw '%s' 5M", vt_path("q.raw")), 0);
	d = open_rw(vt_path("q.raw"));
	ck_assert_uint_eq(vstd_disk_size(d), 5 << 20);
	vt_fill_random(buf, 1 << 20, 11);
	vt_ok(vstd_disk_write(d, 3 << 20, buf, 1 << 20));
	vt_ok(vstd_disk_flush(d));
	vstd_disk_close(d);
	/* qemu-img writes into our image, we read what it wrote */
	create_raw(vt_path("v.raw"), 5 << 20, NULL);
	ck_assert_int_eq(vt_run("qemu-img convert -n -f raw -O raw '%s' '%s'", vt_path("q.raw"),
	                        vt_path("v.raw")),
	                 0);
	ck_assert_int_eq(vt_run("qemu-img compare -f raw -F raw '%s' '%s'", vt_path("q.raw"),
	                        vt_path("v.raw")),
	                 0);
	vt_ok(vstd_disk_open(&d, vt_path("v.raw"), NULL));
	vt_ok(vstd_disk_read(d, 3 << 20, out, 1 << 20));
	ck_assert(memcmp(buf, out, 1 << 20) == 0);
	vstd_disk_close(d);
	/* one byte changed: qemu-img compare sees it in the sector we wrote */
	d = open_rw(vt_path("v.raw"));
	vt_ok(vstd_disk_write(d, 1234567, "Z", 1));
	vstd_disk_close(d);
	ck_assert_int_eq(vt_run("qemu-img compare -f raw -F raw '%s' '%s'", vt_path("q.raw"),
	                        vt_path("v.raw")),
	                 1);
	ck_assert_ptr_nonnull(strstr(vt_output(), "offset 1234432")); /* 1234567 & ~511 */
	free(buf);
	free(out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("disk/raw");
	TCase *tc = tcase_create("raw");
	vt_require_tool("qemu-img", "qemu-utils");
	tcase_add_test(tc, create_and_probe);
	tcase_add_test(tc, preallocation);
	tcase_add_test(tc, byte_granular_io);
	tcase_add_test(tc, block_status_sees_holes);
	tcase_add_test(tc, resize);
	tcase_add_test(tc, info_and_check);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, formats_listed);
	tcase_add_test(tc, memory_io_disk);
	tcase_add_test(tc, interop_qemu_img);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
