/*
 * tests/disk/vmdk/test_stream_grain.c - reading a streamOptimized grain: the
 * zlib header, the deflate data and the Adler-32 trailer are each checked
 * (vstd inflates raw deflate and verifies the trailer itself), on a grain
 * qemu-img wrote; a damaged grain fails with an error naming it, the
 * intact one reads back exactly.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bytes.h"
#include "vtest.h"

#define GRAIN 65536u

static uint8_t data[2 * GRAIN];

/* The file offset of the marker of the grain at LBA 0. */
static off_t find_marker(int fd)
{
	uint8_t m[16];
	for (off_t off = 512; pread(fd, m, sizeof(m), off) == (ssize_t)sizeof(m); off += 512) {
		uint32_t size = vstd_le32(m + 8);
		if (vstd_le64(m) == 0 && size > 16 && size < 2 * GRAIN && m[12] == 0x78 &&
		    ((unsigned)m[12] << 8 | m[13]) % 31 == 0)
			return off;
	}
	ck_abort_msg("no grain marker for LBA 0 found");
	return -1;
}

/* Read the disk; return its result code. */
static int read_disk(const char *img, uint8_t *out)
{
	vstd_disk_open_opts o = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	int rc;
	o.format = "vmdk";
	vt_ok(vstd_disk_open(&d, img, &o));
	rc = vstd_disk_read(d, 0, out, sizeof(data));
	vstd_disk_close(d);
	return rc;
}

/* Damage one byte at off (xor), expect a read error mentioning `what`,
 * then restore it. */
static void damaged(const char *img, int fd, off_t off, const char *what)
{
	static uint8_t got[sizeof(data)];
	uint8_t b, x;
	int rc;
	ck_assert_int_eq(pread(fd, &b, 1, off), 1);
	x = b ^ 0x5a;
	ck_assert_int_eq(pwrite(fd, &x, 1, off), 1);
	rc = read_disk(img, got);
	ck_assert_msg(rc == VSTD_ECORRUPT, "byte at 0x%llx damaged: got %d (%s)",
	              (unsigned long long)off, rc, vstd_error_last()->message);
	ck_assert_msg(strstr(vstd_error_last()->message, what) != NULL,
	              "byte at 0x%llx: message '%s' lacks '%s'", (unsigned long long)off,
	              vstd_error_last()->message, what);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "grain 0"));
	ck_assert_int_eq(pwrite(fd, &b, 1, off), 1);
}

START_TEST(grain_checks)
{
	static uint8_t got[sizeof(data)];
	char raw[512], img[512];
	off_t m;
	uint32_t zlen;
	uint8_t hdr[12];
	int fd;
	/* random bytes: deflate stores them, so a changed payload byte
	 * inflates fine and only the checksum can notice */
	vt_fill_random(data, sizeof(data), 42);
	snprintf(raw, sizeof(raw), "%s", vt_path("g.raw"));
	snprintf(img, sizeof(img), "%s", vt_path("g.vmdk"));
	vt_write_file(raw, data, sizeof(data));
	ck_assert_int_eq(vt_run("qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "
	                        "'%s' '%s'",
	                        raw, img),
	                 0);
	ck_assert_int_eq(read_disk(img, got), 0);
	ck_assert(memcmp(got, data, sizeof(data)) == 0);
	fd = open(img, O_RDWR);
	ck_assert_int_ge(fd, 0);
	m = find_marker(fd);
	ck_assert_int_eq(pread(fd, hdr, sizeof(hdr), m), (ssize_t)sizeof(hdr));
	zlen = vstd_le32(hdr + 8);
	damaged(img, fd, m + 12 + 2 + 3000, "Adler-32 checksum mismatch");
	damaged(img, fd, m + 12 + zlen - 1, "Adler-32 checksum mismatch");
	damaged(img, fd, m + 12, "zlib header");
	/* intact again: reads back exactly */
	ck_assert_int_eq(read_disk(img, got), 0);
	ck_assert(memcmp(got, data, sizeof(data)) == 0);
	close(fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("disk/vmdk/stream_grain");
	TCase *tc = tcase_create("grain");
	vt_require_tool("qemu-img", "qemu-utils");
	tcase_add_test(tc, grain_checks);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
