/*
 * tests/disk/vhdx/test_resize.c - growing a VHDX past the room of its BAT
 * region (the BAT moves to the end of the file, region tables switched),
 * with qemu-img and libyal reading the result; a crash at every write of
 * that grow; resizing differencing images.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bytes.h"
#include "disk/vhdx/vhdx_internal.h"
#include "vtest.h"

#define MIB ((size_t)1 << 20)
#define DSIZE ((size_t)12 << 20)
/* a 1 MiB BAT of 1 MiB blocks covers 131072 entries, 128 GiB minus the
 * sector bitmap entries: 130 GiB does not fit */
#define BIG ((uint64_t)130 << 30)

static void read_equal(vstd_disk *d, uint64_t at, const uint8_t *want, size_t len)
{
	uint8_t *got = malloc(len);
	ck_assert_ptr_nonnull(got);
	vt_ok(vstd_disk_read(d, at, got, len));
	for (size_t i = 0; i < len; i++)
		if (got[i] != want[i])
			ck_abort_msg("byte %" PRIu64 " differs: %u != %u", at + i, got[i], want[i]);
	free(got);
}

/* The BAT offset in region table copy `which` (1 or 2) of a file. */
static uint64_t region_bat(const char *img, int which)
{
	uint8_t t[64];
	FILE *f = fopen(img, "rb");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, (long)(which == 1 ? VHDX_REGION1 : VHDX_REGION2), SEEK_SET), 0);
	ck_assert_uint_eq(fread(t, 1, sizeof(t), f), sizeof(t));
	fclose(f);
	/* the BAT is the first entry in vstd's and qemu's tables */
	ck_assert_uint_eq(t[16], 0x66);
	return vstd_le64(t + 32);
}

START_TEST(grow_past_bat)
{
	uint8_t *pat = malloc(DSIZE), tail[4096];
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	char img[512];
	uint64_t bat0;
	vt_fill_random(pat, DSIZE, 7);
	vt_fill_random(tail, sizeof(tail), 8);
	vt_write_file(vt_path("g.raw"), pat, DSIZE);
	snprintf(img, sizeof(img), "%s", vt_path("g.vhdx"));
	ck_assert_int_eq(vt_run("qemu-img convert -f raw -O vhdx -o block_size=1M %s %s",
	                        vt_path("g.raw"), img),
	                 0);
	bat0 = region_bat(img, 1);
	ck_assert_msg(vt_run("%s img resize %s %" PRIu64, vt_cli(), img, BIG) == 0, "%s",
	              vt_output());
	ck_assert_uint_ne(region_bat(img, 1), bat0);
	ck_assert_uint_eq(region_bat(img, 1), region_bat(img, 2));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	ck_assert_uint_eq(vstd_disk_size(d), BIG);
	read_equal(d, 0, pat, DSIZE);
	vt_ok(vstd_disk_write(d, BIG - sizeof(tail), tail, sizeof(tail)));
	vstd_disk_close(d);
	/* qemu-img: clean, the new size, the old data, the new tail */
	ck_assert_msg(vt_run("qemu-img check -f vhdx %s", img) == 0, "%s", vt_output());
	ck_assert_int_eq(vt_run("qemu-img info -f vhdx %s", img), 0);
	ck_assert_msg(strstr(vt_output(), "139586437120 bytes") != NULL, "%s", vt_output());
	ck_assert_msg(vt_run("qemu-img dd -f vhdx -O raw bs=1M count=12 if=%s of=%s && cmp %s %s",
	                     img, vt_path("g2.raw"), vt_path("g2.raw"), vt_path("g.raw")) == 0,
	              "%s", vt_output());
	vt_write_file(vt_path("tail.bin"), tail, sizeof(tail));
	ck_assert_msg(vt_run("qemu-io -f vhdx -c 'write -P 0x5a 100G 64k' -c 'read -P 0x5a 100G "
	                     "64k' -c 'read -P 0 101G 64k' %s",
	                     img) == 0 &&
	                      strstr(vt_output(), "Pattern verification failed") == NULL,
	              "%s", vt_output());
	ck_assert_msg(vt_run("qemu-img check -f vhdx %s", img) == 0, "%s", vt_output());
	/* vstd reads what qemu wrote through the moved BAT; libyal the size */
	vt_ok(vstd_disk_open(&d, img, NULL));
	{
		uint8_t b[4096], want[4096];
		memset(want, 0x5a, sizeof(want));
		read_equal(d, BIG - sizeof(tail), tail, sizeof(tail));
		vt_ok(vstd_disk_read(d, (uint64_t)100 << 30, b, sizeof(b)));
		ck_assert(memcmp(b, want, sizeof(b)) == 0);
	}
	vstd_disk_close(d);
	ck_assert_int_eq(vt_run("vhdiinfo %s", img), 0);
	ck_assert_msg(strstr(vt_output(), "(139586437120 bytes)") != NULL, "%s", vt_output());
	free(pat);
}
END_TEST

/* Crash at every write of a grow that moves the BAT: after the replay at a
 * read-write open, the image opens, checks clean, has the old or the new
 * size, and its data is intact. */
static void grow_op(vstd_disk *d, void *arg)
{
	(void)arg;
	(void)vstd_disk_resize(d, BIG, 0, NULL);
}

static void crash_grow(const uint8_t *base, size_t len, unsigned long crash_at,
                       unsigned long *writes, uint8_t **after, size_t *after_len)
{
	struct vt_crash c;
	(void)vt_crash_run(base, len, NULL, "crash.vhdx", crash_at, 0, grow_op, NULL, &c);
	*writes = c.writes;
	*after = c.after;
	*after_len = c.after_len;
}

START_TEST(grow_crash)
{
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	uint8_t *pat = malloc(3 * MIB), *base, *after;
	size_t len, alen;
	unsigned long total = 0, w, saw_old = 0, saw_new = 0;
	vstd_disk *d = NULL;
	FILE *f;
	vt_fill_random(pat, 3 * MIB, 9);
	co.format = "vhdx";
	co.size = 4 << 20;
	co.options = "block_size=1M";
	vt_ok(vstd_disk_create(vt_path("cg.vhdx"), &co));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, vt_path("cg.vhdx"), &oo));
	vt_ok(vstd_disk_write(d, 0, pat, 3 * MIB));
	vstd_disk_close(d);
	f = fopen(vt_path("cg.vhdx"), "rb");
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	rewind(f);
	base = malloc(len);
	ck_assert_uint_eq(fread(base, 1, len, f), len);
	fclose(f);
	crash_grow(base, len, 0, &total, &after, &alen);
	free(after);
	ck_assert_uint_gt(total, 5);
	for (unsigned long k = 1; k <= total; k++) {
		vstd_io *io = NULL;
		vstd_disk_check_result cr;
		crash_grow(base, len, k, &w, &after, &alen);
		vt_ok(vstd_io_mem_new(&io, after, alen, 0, VSTD_IO_WRITE));
		ck_assert_msg(vstd_disk_open_io(&d, io, "after-crash.vhdx", &oo) == 0,
		              "crash at write %lu: %s", k, vstd_error_last()->message);
		memset(&cr, 0, sizeof(cr));
		vt_ok(vstd_disk_check(d, 0, &cr));
		ck_assert_msg(cr.corruptions == 0, "crash at write %lu: %s", k,
		              cr.report ? cr.report : "");
		vstd_disk_check_result_clear(&cr);
		ck_assert_msg(vstd_disk_size(d) == 4 << 20 || vstd_disk_size(d) == BIG,
		              "crash at write %lu: size %" PRIu64, k, vstd_disk_size(d));
		if (vstd_disk_size(d) == BIG)
			saw_new++;
		else
			saw_old++;
		read_equal(d, 0, pat, 3 * MIB);
		vstd_disk_close(d);
		vstd_io_close(io);
		free(after);
	}
	ck_assert(saw_old > 0 && saw_new > 0);
	free(base);
	free(pat);
}
END_TEST

/* A differencing child shrinks and grows back: the parent's data never
 * shows where the child had no sectors, in vstd and libyal; growing past
 * the parent is refused. */
START_TEST(diff_resize)
{
	uint8_t *pat = malloc(DSIZE), *want = calloc(1, DSIZE), sec[5000];
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk_check_result cr;
	vstd_disk *d = NULL;
	const uint64_t cut = 5 * MIB + 3 * 512;
	char child[512];
	vt_fill_random(pat, DSIZE, 11);
	vt_fill_random(sec, sizeof(sec), 12);
	vt_write_file(vt_path("dp.raw"), pat, DSIZE);
	ck_assert_int_eq(vt_run("qemu-img convert -f raw -O vhdx -o block_size=1M %s %s",
	                        vt_path("dp.raw"), vt_path("dp.vhdx")),
	                 0);
	snprintf(child, sizeof(child), "%s", vt_path("dc.vhdx"));
	ck_assert_msg(vt_run("%s img create -f vhdx -b dp.vhdx -F vhdx -o block_size=1M %s",
	                     vt_cli(), child) == 0,
	              "%s", vt_output());
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, child, &oo));
	/* a partially present block cut by the shrink */
	vt_ok(vstd_disk_write(d, 4 * MIB + 1000, sec, sizeof(sec)));
	vt_ok(vstd_disk_write(d, 5 * MIB + 512, sec, 2048));
	vt_ok(vstd_disk_resize(d, cut, VSTD_DISK_RESIZE_SHRINK, NULL));
	vt_ok(vstd_disk_resize(d, DSIZE, 0, NULL));
	vstd_disk_close(d);
	memcpy(want, pat, cut);
	memcpy(want + 4 * MIB + 1000, sec, sizeof(sec));
	memcpy(want + 5 * MIB + 512, sec, 1024); /* the rest was cut off */
	memset(want + cut, 0, DSIZE - cut);
	vt_ok(vstd_disk_open(&d, child, NULL));
	ck_assert_uint_eq(vstd_disk_size(d), DSIZE);
	read_equal(d, 0, want, DSIZE);
	memset(&cr, 0, sizeof(cr));
	vt_ok(vstd_disk_check(d, 0, &cr));
	ck_assert_uint_eq(cr.corruptions, 0);
	vstd_disk_check_result_clear(&cr);
	vstd_disk_close(d);
	vt_write_file(vt_path("dwant.raw"), want, DSIZE);
	if (vt_run("mkdir -p %s && timeout 20 vhdimount %s %s", vt_path("mnt"), child,
	           vt_path("mnt")) == 0) {
		int same = vt_run("cmp %s/vhdi2 %s", vt_path("mnt"), vt_path("dwant.raw"));
		char out[2048];
		snprintf(out, sizeof(out), "%s", vt_output());
		vt_run("fusermount -u %s || umount %s", vt_path("mnt"), vt_path("mnt"));
		ck_assert_msg(same == 0, "vhdimount read-through differs: %s", out);
	} else {
		fprintf(stderr, "note: vhdimount could not mount: %s\n", vt_output());
	}
	/* not past the parent's size: Hyper-V does not expand differencing
	 * disks, and libvhdi fails reading past the parent's end */
	vt_ok(vstd_disk_open(&d, child, &oo));
	ck_assert_int_eq(vstd_disk_resize(d, DSIZE + MIB, 0, NULL), VSTD_ENOTSUP);
	ck_assert_msg(strstr(vstd_error_last()->message, "parent") != NULL, "%s",
	              vstd_error_last()->message);
	vstd_disk_close(d);
	ck_assert_int_eq(vt_run("vhdiinfo %s", child), 0);
	ck_assert_msg(strstr(vt_output(), "(12582912 bytes)") != NULL &&
	                      strstr(vt_output(), "Differential") != NULL,
	              "%s", vt_output());
	free(pat);
	free(want);
}
END_TEST

/* Region tables naming a BAT that is too small for the disk: refused. */
START_TEST(hostile_small_bat)
{
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk *d = NULL;
	uint8_t *m;
	size_t len;
	FILE *f;
	vstd_io *io = NULL;
	co.format = "vhdx";
	co.size = (uint64_t)130 << 30;
	co.options = "block_size=1M";
	vt_ok(vstd_disk_create(vt_path("hs.vhdx"), &co));
	f = fopen(vt_path("hs.vhdx"), "rb");
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	rewind(f);
	m = malloc(len);
	ck_assert_uint_eq(fread(m, 1, len, f), len);
	fclose(f);
	for (int copy = 0; copy < 2; copy++) {
		uint8_t *t = m + (copy ? VHDX_REGION2 : VHDX_REGION1);
		vstd_put_le32(t + 40, 1 << 20); /* BAT length: 1 MiB */
		vstd_put_le32(t + 4, 0);
		vstd_put_le32(t + 4, vhdx_crc32c(t, VHDX_REGION_SIZE));
	}
	vt_ok(vstd_io_mem_view(&io, m, len, "small-bat.vhdx"));
	ck_assert_int_eq(vstd_disk_open_io(&d, io, NULL, NULL), VSTD_ECORRUPT);
	ck_assert_msg(strstr(vstd_error_last()->message, "small-bat.vhdx") &&
	                      strstr(vstd_error_last()->message, "too small"),
	              "%s", vstd_error_last()->message);
	vstd_io_close(io);
	free(m);
}
END_TEST

int main(void)
{
	static const void *volatile force_link = &vstd_driver_vhdx;
	Suite *s = suite_create("disk/vhdx/resize");
	TCase *tc = tcase_create("resize");
	(void)force_link;
	vt_require_tool("qemu-img", "qemu-utils");
	vt_require_tool("qemu-io", "qemu-utils");
	vt_require_tool("vhdiinfo", "libvhdi-utils");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, grow_past_bat);
	tcase_add_test(tc, grow_crash);
	tcase_add_test(tc, diff_resize);
	tcase_add_test(tc, hostile_small_bat);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
