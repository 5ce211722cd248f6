/*
 * tests/disk/vpc/vhdtest.h - helpers shared by the VHD and VDI tests.
 */
#ifndef VSTD_TEST_VHDTEST_H
#define VSTD_TEST_VHDTEST_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vtest.h"

/*
 * The registry references drivers weakly until every driver is in, and the
 * tests link the library through a static archive, from which a weak
 * reference pulls nothing: name the drivers here so they are linked.
 */
struct vstd_disk_driver;
extern const struct vstd_disk_driver vstd_driver_vpc;
extern const struct vstd_disk_driver vstd_driver_vdi;
static inline void vh_link_drivers(void)
{
	const void *volatile keep[2] = {&vstd_driver_vpc, &vstd_driver_vdi};
	(void)keep[0];
}

static inline int vstd_is_zero_buf(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* A pattern disk: random data with zero stretches (so sparseness shows). */
static inline uint8_t *vh_pattern(size_t len, uint64_t seed)
{
	uint8_t *p = malloc(len);
	ck_assert(p != NULL);
	vt_fill_random(p, len, seed);
	for (size_t off = (size_t)1 << 20; off < len; off += (size_t)3 << 20) {
		size_t n = len - off < ((size_t)1 << 20) ? len - off : (size_t)1 << 20;
		memset(p + off, 0, n);
	}
	return p;
}

static inline uint8_t *vh_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	long n;
	ck_assert_msg(f != NULL, "open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc(n ? (size_t)n : 1);
	ck_assert(b != NULL && fread(b, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

/* The whole disk reads as `expect` (len bytes; the rest of the disk zeroes). */
static inline void vh_disk_equals(vstd_disk *d, const uint8_t *expect, size_t len)
{
	size_t size = (size_t)vstd_disk_size(d), chunk = (size_t)1 << 20;
	uint8_t *buf = malloc(chunk);
	ck_assert(buf != NULL);
	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		size_t have = off >= len ? 0 : len - off < n ? len - off : n;
		vt_ok(vstd_disk_read(d, off, buf, n));
		if (memcmp(buf, expect + off, have) != 0 ||
		    !vstd_is_zero_buf(buf + have, n - have)) {
			size_t i = 0;
			while (i < n && buf[i] == (off + i < len ? expect[off + i] : 0))
				i++;
			ck_abort_msg("byte %zu: %02x, expected %02x", off + i, buf[i],
			             off + i < len ? expect[off + i] : 0);
		}
	}
	free(buf);
}

/* Compare a (possibly huge, sparse) disk with qemu's sparse raw conversion:
 * data ranges byte for byte; holes of either side must read as zeroes. */
static inline void vh_disk_equals_sparse_raw(vstd_disk *d, const char *raw)
{
	uint64_t size = vstd_disk_size(d), off = 0, checked = 0;
	size_t chunk = (size_t)1 << 20;
	uint8_t *a = malloc(chunk), *b = malloc(chunk);
	int fd = open(raw, O_RDONLY);
	ck_assert(a != NULL && b != NULL && fd >= 0);
	ck_assert_int_eq((uint64_t)lseek(fd, 0, SEEK_END), size);
	while (off < size) {
		vstd_block_status st;
		vt_ok(vstd_disk_map(d, off, size - off, &st));
		ck_assert(st.length > 0);
		if (st.flags & VSTD_BLOCK_DATA) {
			for (uint64_t p = off; p < off + st.length; p += chunk) {
				size_t n = off + st.length - p < chunk
				                   ? (size_t)(off + st.length - p)
				                   : chunk;
				vt_ok(vstd_disk_read(d, p, a, n));
				ck_assert(pread(fd, b, n, (off_t)p) == (ssize_t)n);
				ck_assert_msg(memcmp(a, b, n) == 0, "data differs near %llu",
				              (unsigned long long)p);
				checked += n;
			}
		} else {
			/* qemu's file must have no data there, or only zeroes */
			off_t q = lseek(fd, (off_t)off, SEEK_DATA);
			while (q >= 0 && (uint64_t)q < off + st.length) {
				off_t h = lseek(fd, q, SEEK_HOLE);
				uint64_t end = (uint64_t)h < off + st.length ? (uint64_t)h
				                                             : off + st.length;
				for (uint64_t p = (uint64_t)q; p < end; p += chunk) {
					size_t n = end - p < chunk ? (size_t)(end - p) : chunk;
					ck_assert(pread(fd, b, n, (off_t)p) == (ssize_t)n);
					ck_assert_msg(vstd_is_zero_buf(b, n),
					              "qemu has data at %llu, vstd a hole",
					              (unsigned long long)p);
				}
				q = lseek(fd, (off_t)end, SEEK_DATA);
			}
		}
		off += st.length;
	}
	close(fd);
	free(a);
	free(b);
	(void)checked;
}

static inline void vh_create(const char *path, const char *format, uint64_t size,
                             const char *options, const char *backing, const char *backing_fmt)
{
	vstd_disk_create_opts c = VSTD_DISK_CREATE_OPTS_INIT;
	c.format = format;
	c.size = size;
	c.options = options;
	c.backing_file = backing;
	c.backing_format = backing_fmt;
	vt_ok(vstd_disk_create(path, &c));
}

static inline vstd_disk *vh_open(const char *path, const char *format, unsigned flags)
{
	vstd_disk_open_opts o = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	o.format = format;
	o.flags = flags;
	vt_ok(vstd_disk_open(&d, path, &o));
	return d;
}

/* Open must fail with `code` and a message containing `needle`. */
static inline void vh_open_fails(const char *path, const char *format, int code, const char *needle)
{
	vstd_disk_open_opts o = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	int rc;
	o.format = format;
	rc = vstd_disk_open(&d, path, &o);
	ck_assert_msg(rc == code, "%s: open gave %d (%s), expected %d", path, rc,
	              rc < 0 ? vstd_error_last()->message : "success", code);
	ck_assert_msg(strstr(vstd_error_last()->message, needle) != NULL, "message '%s' lacks '%s'",
	              vstd_error_last()->message, needle);
}

/* Write a pattern into a disk, skipping zero MiBs (as convert does). */
static inline void vh_write_pattern(vstd_disk *d, const uint8_t *p, size_t len)
{
	size_t chunk = (size_t)1 << 20;
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		int zero = 1;
		for (size_t i = 0; i < n && zero; i++)
			zero = p[off + i] == 0;
		if (!zero)
			vt_ok(vstd_disk_write(d, off, p + off, n));
	}
	vt_ok(vstd_disk_flush(d));
}

static inline void vh_patch_file(const char *path, uint64_t off, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY);
	ck_assert(fd >= 0);
	ck_assert(pwrite(fd, data, len, (off_t)off) == (ssize_t)len);
	close(fd);
}

static inline void vh_read_at(const char *path, uint64_t off, void *data, size_t len)
{
	int fd = open(path, O_RDONLY);
	ck_assert(fd >= 0);
	ck_assert(pread(fd, data, len, (off_t)off) == (ssize_t)len);
	close(fd);
}

#endif
