/*
 * tests/disk/qcow2/qtest.h - helpers shared by the qcow2 test programs.
 */
#ifndef VSTD_TEST_QCOW2_H
#define VSTD_TEST_QCOW2_H

#include <stdio.h>
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
	for (size_t i = 0; i < len; i++)
		if (got[i] != want[i])
			ck_abort_msg("byte %zu differs: %u != %u", i, got[i], want[i]);
	free(got);
}

/* The image read by vstd equals qemu-img's raw conversion of it. */
static inline void qt_same_as_qemu(const char *img)
{
	const char *ref = vt_path("qemu-ref.raw");
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	uint8_t *want;
	size_t len;
	ck_assert_msg(vt_run("qemu-img convert -O raw '%s' '%s'", img, ref) == 0, "%s",
		      vt_output());
	want = qt_read_file(ref, &len);
	vt_ok(vstd_disk_open(&d, img, &oo));
	ck_assert_str_eq(vstd_disk_format(d), "qcow2");
	qt_disk_equals(d, want, len);
	vstd_disk_close(d);
	free(want);
}

/* qemu-img check exit status (0 clean, 2 corrupt, 3 leaks). */
static inline int qt_qemu_check(const char *img)
{
	return vt_run("qemu-img check '%s'", img);
}

#endif
