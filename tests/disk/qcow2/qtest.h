/*
 * tests/disk/qcow2/qtest.h - helpers shared by the qcow2 test programs.
 */
#ifndef VSTD_TEST_QCOW2_H
#define VSTD_TEST_QCOW2_H

#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "disk/driver.h"
#include "vtest.h"

/* The registry references drivers weakly; make sure ours is linked in. */
extern const struct vstd_disk_driver vstd_driver_qcow2;
static inline void qt_link_driver(void)
{
	if (vstd_driver_qcow2.open == NULL)
		vt_skip("qcow2 driver table empty");
	if (vstd_disk_driver_find("qcow2") == NULL)
		vt_skip("qcow2 driver not registered");
}

/* A disk pattern: random islands (partial clusters too), zeroes elsewhere. */
static inline uint8_t *qt_pattern(size_t size, uint64_t seed)
{
	uint8_t *b = calloc(1, size);
	ck_assert_ptr_nonnull(b);
	vt_fill_random(b, size / 8, seed);
	vt_fill_random(b + size / 4 + 777, 5000, seed + 1);
	vt_fill_random(b + size / 2, 65536 * 3 + 100, seed + 2);
	vt_fill_random(b + size - 1000, 1000, seed + 3);
	return b;
}

static inline uint8_t *qt_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	long n;
	ck_assert_msg(f != NULL, "open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

/* Read the whole disk through vstd in odd-sized pieces, compare with want. */
static inline void qt_disk_equals(vstd_disk *d, const uint8_t *want, size_t len)
{
	uint8_t *got = malloc(len + 1);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(vstd_disk_size(d), len);
	for (size_t off = 0; off < len;) {
		size_t n = len - off < 200003 ? len - off : 200003;
		vt_ok(vstd_disk_read(d, off, got + off, n));
		off += n;
	}
	if (memcmp(got, want, len) != 0)
		for (size_t i = 0; i < len; i++)
			if (got[i] != want[i])
				ck_abort_msg("byte %zu differs: %u != %u", i, got[i], want[i]);
	free(got);
}

/* 1 when the disk reads as zeroes over [off, off+len). */
static inline int vstd_is_zero_test(vstd_disk *d, uint64_t off, uint64_t len)
{
	static uint8_t b[1 << 16];
	while (len > 0) {
		size_t n = len < sizeof(b) ? (size_t)len : sizeof(b);
		vt_ok(vstd_disk_read(d, off, b, n));
		for (size_t i = 0; i < n; i++)
			if (b[i])
				return 0;
		off += n;
		len -= n;
	}
	return 1;
}

/* The image read by vstd equals qemu-img's raw conversion of it (streamed). */
static inline void qt_same_as_qemu(const char *img)
{
	const char *ref = vt_path("qemu-ref.raw");
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	size_t chunk = (size_t)4 << 20;
	uint8_t *want = malloc(chunk), *got = malloc(chunk);
	uint64_t off = 0;
	FILE *f;
	ck_assert(want != NULL && got != NULL);
	uint64_t data_end = 0, mib;
	const char *p;
	/* only up to the end of the last data qemu reports: large sparse
	 * corpus images would otherwise cost seconds of file I/O */
	ck_assert_msg(vt_run("qemu-img map --output=json '%s'", img) == 0, "%s", vt_output());
	for (p = vt_output(); (p = strstr(p, "\"start\": ")) != NULL; p++) {
		uint64_t start = strtoull(p + 9, NULL, 10), len;
		const char *l = strstr(p, "\"length\": "), *dt = strstr(p, "\"data\": ");
		ck_assert(l != NULL && dt != NULL);
		len = strtoull(l + 10, NULL, 10);
		if (strncmp(dt + 8, "true", 4) == 0 && start + len > data_end)
			data_end = start + len;
	}
	mib = (data_end + (1 << 20) - 1) >> 20;
	ck_assert_msg(vt_run("qemu-img dd -O raw bs=1M count=%" PRIu64 " if='%s' of='%s'",
	                     mib ? mib : 1, img, ref) == 0,
	              "%s", vt_output());
	vt_ok(vstd_disk_open(&d, img, &oo));
	ck_assert_str_eq(vstd_disk_format(d), "qcow2");
	f = fopen(ref, "rb");
	ck_assert_ptr_nonnull(f);
	for (;;) {
		size_t n = fread(want, 1, chunk, f);
		if (n == 0)
			break;
		vt_ok(vstd_disk_read(d, off, got, n));
		if (memcmp(want, got, n) != 0)
			for (size_t i = 0; i < n; i++)
				if (got[i] != want[i])
					ck_abort_msg("%s: byte %" PRIu64 " differs: %u != %u", img,
					             off + i, got[i], want[i]);
		off += n;
	}
	ck_assert_uint_ge(off, data_end < vstd_disk_size(d) ? data_end : vstd_disk_size(d));
	/* past the data: vstd must see no data either */
	while (off < vstd_disk_size(d)) {
		vstd_block_status st;
		vt_ok(vstd_disk_map(d, off, vstd_disk_size(d) - off, &st));
		ck_assert_msg(!(st.flags & VSTD_BLOCK_DATA) || vstd_is_zero_test(d, off, st.length),
		              "%s: data at %" PRIu64 " past qemu's last data", img, off);
		off += st.length;
	}
	fclose(f);
	vstd_disk_close(d);
	unlink(ref);
	free(want);
	free(got);
}

/* qemu-img check exit status (0 clean, 2 corrupt, 3 leaks). */
static inline int qt_qemu_check(const char *img)
{
	return vt_run("qemu-img check '%s'", img);
}

#endif
