/*
 * tests/core/test_io.c - the I/O layer: file, memory and fault objects.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vtest.h"

static void roundtrip(vstd_io *io)
{
	uint8_t in[10000], out[10000];
	uint64_t size = 0;
	vt_fill_random(in, sizeof(in), 1);
	vt_ok(vstd_io_pwrite(io, in, sizeof(in), 12345));
	vt_ok(vstd_io_size(io, &size));
	ck_assert_uint_eq(size, 12345 + sizeof(in));
	vt_ok(vstd_io_pread(io, out, sizeof(out), 12345));
	ck_assert(memcmp(in, out, sizeof(in)) == 0);
	/* the gap before the write reads as zeroes */
	vt_ok(vstd_io_pread(io, out, 100, 0));
	for (int i = 0; i < 100; i++)
		ck_assert_uint_eq(out[i], 0);
	/* past the end: exact read fails naming the object and the range */
	ck_assert_int_eq(vstd_io_pread(io, out, 10, size - 5), VSTD_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "passes the end"));
	vt_ok(vstd_io_write_zeroes(io, 12345 + 10, 50, 0));
	vt_ok(vstd_io_pread(io, out, 60, 12345));
	ck_assert(memcmp(out, in, 10) == 0);
	for (int i = 10; i < 60; i++)
		ck_assert_uint_eq(out[i], 0);
	vt_ok(vstd_io_truncate(io, 100));
	vt_ok(vstd_io_size(io, &size));
	ck_assert_uint_eq(size, 100);
	vt_ok(vstd_io_flush(io));
}

START_TEST(file_roundtrip)
{
	vstd_io *io = NULL;
	vt_ok(vstd_io_file_open(&io, vt_path("rt.img"), VSTD_IO_WRITE | VSTD_IO_CREATE));
	ck_assert_str_eq(vstd_io_kind(io), "file");
	ck_assert_str_eq(vstd_io_name(io), vt_path("rt.img"));
	roundtrip(io);
	vstd_io_close(io);
}
END_TEST

START_TEST(mem_roundtrip)
{
	vstd_io *io = NULL;
	vt_ok(vstd_io_mem_new(&io, NULL, 0, 0, VSTD_IO_WRITE));
	roundtrip(io);
	vstd_io_close(io);
}
END_TEST

START_TEST(mem_limits)
{
	vstd_io *io = NULL;
	uint8_t b[16] = {0};
	const void *data;
	size_t len;
	vt_ok(vstd_io_mem_new(&io, "abc", 3, 64, VSTD_IO_WRITE));
	ck_assert_int_eq(vstd_io_pwrite(io, b, 16, 60), VSTD_ELIMIT);
	vt_ok(vstd_io_mem_contents(io, &data, &len));
	ck_assert_uint_eq(len, 3);
	ck_assert(memcmp(data, "abc", 3) == 0);
	vstd_io_close(io);
	/* read-only view refuses writes */
	vt_ok(vstd_io_mem_view(&io, "hello", 5, "view"));
	ck_assert_int_eq(vstd_io_pwrite(io, b, 1, 0), VSTD_EPERM);
	ck_assert_int_eq(vstd_io_mem_contents(io, &data, &len), 0);
	vstd_io_close(io);
}
END_TEST

START_TEST(file_errors)
{
	vstd_io *io = NULL;
	ck_assert_int_eq(vstd_io_file_open(&io, vt_path("missing"), VSTD_IO_READ), VSTD_ENOENT);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "missing"));
	ck_assert_int_eq(vstd_io_file_open(&io, vt_tmpdir(), VSTD_IO_READ), VSTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "directory"));
	vt_ok(vstd_io_file_open(&io, vt_path("x"), VSTD_IO_WRITE | VSTD_IO_CREATE));
	vstd_io_close(io);
	io = NULL;
	ck_assert_int_eq(
	        vstd_io_file_open(&io, vt_path("x"), VSTD_IO_WRITE | VSTD_IO_CREATE | VSTD_IO_EXCL),
	        VSTD_EEXIST);
	ck_assert_ptr_null(io);
	/* a FIFO (as a hostile backing name could point to) is refused, not waited on */
	ck_assert_int_eq(mkfifo(vt_path("fifo"), 0600), 0);
	ck_assert_int_eq(vstd_io_file_open(&io, vt_path("fifo"), VSTD_IO_READ), VSTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "FIFO"));
	ck_assert_int_eq(vstd_io_file_open(&io, "/dev/zero", VSTD_IO_READ), VSTD_EINVAL);
	/* offsets that overflow are refused before reaching the OS */
	vt_ok(vstd_io_file_open(&io, vt_path("x"), VSTD_IO_WRITE));
	ck_assert_int_eq(vstd_io_pwrite(io, "a", 1, UINT64_MAX), VSTD_ERANGE);
	ck_assert_int_eq(vstd_io_truncate(io, (uint64_t)1 << 63), VSTD_ERANGE);
	vstd_io_close(io);
	vstd_io_close(NULL);
}
END_TEST

START_TEST(file_extents_and_holes)
{
	vstd_io *io = NULL;
	uint8_t buf[65536];
	uint64_t len = 0;
	int is_data = -1;
	struct stat st;
	vt_ok(vstd_io_file_open(&io, vt_path("sparse"), VSTD_IO_WRITE | VSTD_IO_CREATE));
	vt_ok(vstd_io_truncate(io, 16 << 20));
	vt_fill_random(buf, sizeof(buf), 7);
	vt_ok(vstd_io_pwrite(io, buf, sizeof(buf), 8 << 20));
	vt_ok(vstd_io_extent(io, 0, 16 << 20, &len, &is_data));
	if (is_data == 1 && len == (16 << 20)) {
		vstd_io_close(io);
		return; /* file system without SEEK_HOLE: nothing more to see */
	}
	ck_assert_int_eq(is_data, 0);
	ck_assert_uint_eq(len, 8 << 20);
	vt_ok(vstd_io_extent(io, 8 << 20, 16 << 20, &len, &is_data));
	ck_assert_int_eq(is_data, 1);
	ck_assert_uint_ge(len, sizeof(buf));
	/* punching zeroes makes a hole again */
	vt_ok(vstd_io_write_zeroes(io, 8 << 20, sizeof(buf), VSTD_IO_ZERO_MAY_UNMAP));
	vt_ok(vstd_io_pread(io, buf, sizeof(buf), 8 << 20));
	ck_assert(buf[0] == 0 && buf[sizeof(buf) - 1] == 0);
	ck_assert_int_eq(stat(vt_path("sparse"), &st), 0);
	ck_assert_int_lt(st.st_blocks * 512, 1 << 20);
	/* allocate reserves blocks */
	vt_ok(vstd_io_allocate(io, 0, 4 << 20));
	ck_assert_int_eq(stat(vt_path("sparse"), &st), 0);
	ck_assert_int_ge(st.st_blocks * 512, 4 << 20);
	vstd_io_close(io);
}
END_TEST

START_TEST(file_direct_unaligned)
{
	vstd_io *io = NULL;
	uint8_t in[5000], out[5000];
	uint64_t size;
	int rc = vstd_io_file_open(&io, vt_path("direct"),
	                           VSTD_IO_WRITE | VSTD_IO_CREATE | VSTD_IO_DIRECT);
	if (rc == VSTD_EINVAL) /* tmpfs has no O_DIRECT */
		return;
	vt_ok(rc);
	vt_fill_random(in, sizeof(in), 3);
	vt_ok(vstd_io_pwrite(io, in, sizeof(in), 777));
	vt_ok(vstd_io_size(io, &size));
	ck_assert_uint_eq(size, 777 + sizeof(in));
	vt_ok(vstd_io_pread(io, out, sizeof(out), 777));
	ck_assert(memcmp(in, out, sizeof(in)) == 0);
	vstd_io_close(io);
}
END_TEST

START_TEST(copy_range)
{
	vstd_io *a = NULL, *b = NULL, *m = NULL;
	uint8_t in[300000], out[300000];
	vt_fill_random(in, sizeof(in), 9);
	vt_ok(vstd_io_file_open(&a, vt_path("cra"), VSTD_IO_WRITE | VSTD_IO_CREATE));
	vt_ok(vstd_io_file_open(&b, vt_path("crb"), VSTD_IO_WRITE | VSTD_IO_CREATE));
	vt_ok(vstd_io_pwrite(a, in, sizeof(in), 0));
	vt_ok(vstd_io_copy_range(b, 4096, a, 100, 200000));
	vt_ok(vstd_io_pread(b, out, 200000, 4096));
	ck_assert(memcmp(in + 100, out, 200000) == 0);
	/* file to memory goes through a buffer */
	vt_ok(vstd_io_mem_new(&m, NULL, 0, 0, VSTD_IO_WRITE));
	vt_ok(vstd_io_copy_range(m, 0, a, 0, sizeof(in)));
	vt_ok(vstd_io_pread(m, out, sizeof(out), 0));
	ck_assert(memcmp(in, out, sizeof(in)) == 0);
	/* copying past the source's end fails */
	ck_assert_int_eq(vstd_io_copy_range(m, 0, a, sizeof(in) - 10, 100), VSTD_ECORRUPT);
	vstd_io_close(a);
	vstd_io_close(b);
	vstd_io_close(m);
}
END_TEST

START_TEST(fault_fail_nth)
{
	vstd_io *inner = NULL, *io = NULL;
	vstd_io_fault_opts o = VSTD_IO_FAULT_OPTS_INIT;
	vstd_io_fault_stats st;
	uint8_t b[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	vt_ok(vstd_io_mem_new(&inner, NULL, 0, 0, VSTD_IO_WRITE));
	o.count_ops = VSTD_IO_OP_WRITE;
	o.fail_at = 3;
	o.fail_count = 1;
	vt_ok(vstd_io_fault_new(&io, inner, &o));
	vt_ok(vstd_io_pwrite(io, b, 8, 0));
	vt_ok(vstd_io_pread(io, b, 8, 0)); /* reads are not counted */
	vt_ok(vstd_io_pwrite(io, b, 8, 8));
	ck_assert_int_eq(vstd_io_pwrite(io, b, 8, 16), VSTD_EIO);
	ck_assert_ptr_nonnull(
	        strstr(vstd_error_last()->message, "injected failure of write number 3"));
	vt_ok(vstd_io_pwrite(io, b, 8, 24));
	vt_ok(vstd_io_fault_get_stats(io, &st));
	ck_assert_uint_eq(st.failed, 1);
	ck_assert_uint_eq(st.writes, 4);
	ck_assert_int_eq(vstd_io_fault_get_stats(inner, &st), VSTD_EINVAL);
	vstd_io_close(io);
	vstd_io_close(inner);
}
END_TEST

START_TEST(fault_short_read)
{
	vstd_io *inner = NULL, *io = NULL;
	vstd_io_fault_opts o = VSTD_IO_FAULT_OPTS_INIT;
	uint8_t b[100] = {0};
	size_t done = 0;
	vt_ok(vstd_io_mem_new(&inner, b, sizeof(b), 0, VSTD_IO_WRITE));
	o.short_read_at = 2;
	vt_ok(vstd_io_fault_new(&io, inner, &o));
	vt_ok(vstd_io_pread(io, b, 100, 0));
	vt_ok(vstd_io_pread_partial(io, b, 100, 0, &done));
	ck_assert_uint_eq(done, 50);
	ck_assert_int_eq(vstd_io_pread(io, b, 100, 0), 0);
	vstd_io_close(io);
	vstd_io_close(inner);
}
END_TEST

START_TEST(fault_crash_drops_unflushed)
{
	vstd_io *inner = NULL, *io = NULL;
	vstd_io_fault_opts o = VSTD_IO_FAULT_OPTS_INIT;
	uint8_t a[16], b[16], out[16];
	const void *data;
	size_t len;
	uint64_t size;
	memset(a, 0xaa, sizeof(a));
	memset(b, 0xbb, sizeof(b));
	vt_ok(vstd_io_mem_new(&inner, NULL, 0, 0, VSTD_IO_WRITE));
	o.hold_unflushed = 1;
	vt_ok(vstd_io_fault_new(&io, inner, &o));
	vt_ok(vstd_io_pwrite(io, a, 16, 0));
	vt_ok(vstd_io_flush(io));                 /* a is durable */
	vt_ok(vstd_io_pwrite(io, b, 16, 8));      /* b is held */
	vt_ok(vstd_io_write_zeroes(io, 0, 4, 0)); /* held */
	vt_ok(vstd_io_pread(io, out, 16, 0));     /* reads see held writes */
	ck_assert(out[0] == 0 && out[4] == 0xaa && out[8] == 0xbb);
	vt_ok(vstd_io_size(io, &size));
	ck_assert_uint_eq(size, 24);
	vt_ok(vstd_io_truncate(io, 10));
	vt_ok(vstd_io_pwrite(io, b, 2, 20));
	vt_ok(vstd_io_pread(io, out, 12, 10)); /* truncated area comes back zero */
	ck_assert(out[0] == 0 && out[9] == 0 && out[10] == 0xbb);
	vt_ok(vstd_io_fault_crash(io));
	ck_assert_int_eq(vstd_io_pwrite(io, b, 1, 0), VSTD_EIO);
	vt_ok(vstd_io_mem_contents(inner, &data, &len));
	ck_assert_uint_eq(len, 16);
	ck_assert(memcmp(data, a, 16) == 0);
	vstd_io_close(io);
	vstd_io_close(inner);
}
END_TEST

START_TEST(fault_crash_at_write)
{
	vstd_io *inner = NULL, *io = NULL;
	vstd_io_fault_opts o = VSTD_IO_FAULT_OPTS_INIT;
	vstd_io_fault_stats st;
	uint8_t b[4] = {1, 2, 3, 4};
	const void *data;
	size_t len;
	vt_ok(vstd_io_mem_new(&inner, NULL, 0, 0, VSTD_IO_WRITE));
	o.hold_unflushed = 1;
	o.crash_at_write = 3;
	vt_ok(vstd_io_fault_new(&io, inner, &o));
	vt_ok(vstd_io_pwrite(io, b, 4, 0));
	vt_ok(vstd_io_flush(io));
	vt_ok(vstd_io_pwrite(io, b, 4, 4));
	ck_assert_int_eq(vstd_io_pwrite(io, b, 4, 8), VSTD_EIO);
	ck_assert_int_eq(vstd_io_flush(io), VSTD_EIO);
	vt_ok(vstd_io_fault_get_stats(io, &st));
	ck_assert_int_eq(st.crashed, 1);
	vt_ok(vstd_io_mem_contents(inner, &data, &len));
	ck_assert_uint_eq(len, 4);
	vstd_io_close(io);
	vstd_io_close(inner);
}
END_TEST

static int custom_pread(void *self, void *buf, size_t len, uint64_t off, size_t *done)
{
	memset(buf, 'x', len);
	*done = len;
	return 0;
}
static int custom_pwrite(void *self, const void *buf, size_t len, uint64_t off)
{
	return vstd_error_set(VSTD_EPERM, 0, "custom: no writes at %llu", (unsigned long long)off);
}
static int custom_size(void *self, uint64_t *size)
{
	*size = 1000;
	return 0;
}
static int closed;
static void custom_close(void *self)
{
	closed++;
}

START_TEST(custom_methods)
{
	static const vstd_io_methods m = {VSTD_IO_METHODS_VERSION, "custom", custom_pread,
	                                  custom_pwrite, custom_size};
	static const vstd_io_methods bad = {VSTD_IO_METHODS_VERSION, "bad", NULL};
	vstd_io_methods withclose = m;
	vstd_io *io = NULL;
	char b[4];
	uint64_t len;
	int is_data;
	ck_assert_int_eq(vstd_io_new(&io, &bad, NULL, "bad"), VSTD_EINVAL);
	vt_ok(vstd_io_new(&io, &m, NULL, "c"));
	vt_ok(vstd_io_pread(io, b, 4, 0));
	ck_assert(b[0] == 'x');
	ck_assert_int_eq(vstd_io_pwrite(io, b, 1, 5), VSTD_EPERM);
	ck_assert_str_eq(vstd_error_last()->message, "custom: no writes at 5");
	ck_assert_int_eq(vstd_io_truncate(io, 5), VSTD_ENOTSUP);
	vt_ok(vstd_io_flush(io));
	vt_ok(vstd_io_extent(io, 10, 5000, &len, &is_data)); /* generic: all data, clamped */
	ck_assert_uint_eq(len, 990);
	ck_assert_int_eq(is_data, 1);
	vt_ok(vstd_io_write_zeroes(io, 0, 0, 0));
	vstd_io_close(io);
	withclose.close = custom_close;
	vt_ok(vstd_io_new(&io, &withclose, NULL, "c"));
	vstd_io_close(io);
	ck_assert_int_eq(closed, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core/io");
	TCase *tc = tcase_create("io");
	tcase_add_test(tc, file_roundtrip);
	tcase_add_test(tc, mem_roundtrip);
	tcase_add_test(tc, mem_limits);
	tcase_add_test(tc, file_errors);
	tcase_add_test(tc, file_extents_and_holes);
	tcase_add_test(tc, file_direct_unaligned);
	tcase_add_test(tc, copy_range);
	tcase_add_test(tc, fault_fail_nth);
	tcase_add_test(tc, fault_short_read);
	tcase_add_test(tc, fault_crash_drops_unflushed);
	tcase_add_test(tc, fault_crash_at_write);
	tcase_add_test(tc, custom_methods);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
