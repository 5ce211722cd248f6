/*
 * tests/disk/vhdx/test_diff.c - VHDX differencing images vstd writes:
 * partially present blocks with their sector bitmaps, the parent locator as
 * Hyper-V lays it out, libyal's view (vhdiinfo, vhdimount read-through),
 * round trips through raw, damaged bitmaps, and resizing.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bytes.h"
#include "disk/vhdx/vhdx_internal.h"
#include "vtest.h"

#define DSIZE ((size_t)12 << 20)
#define MIB ((size_t)1 << 20)

static void read_equal(vstd_disk *d, const uint8_t *want, size_t len)
{
	uint8_t *got = malloc(len);
	ck_assert_ptr_nonnull(got);
	for (size_t off = 0; off < len;) {
		size_t n = len - off < 300007 ? len - off : 300007;
		vt_ok(vstd_disk_read(d, off, got + off, n));
		off += n;
	}
	for (size_t i = 0; i < len; i++)
		if (got[i] != want[i])
			ck_abort_msg("byte %zu differs: %u != %u", i, got[i], want[i]);
	free(got);
}

static void wr(vstd_disk *d, uint8_t *want, uint64_t off, size_t len, uint64_t seed)
{
	uint8_t *b = malloc(len);
	vt_fill_random(b, len, seed);
	vt_ok(vstd_disk_write(d, off, b, len));
	memcpy(want + off, b, len);
	free(b);
}

/* BAT state of the payload block holding `off` (read from the file). */
static unsigned bat_state(const char *img, uint64_t off, uint64_t bs, uint32_t lsec)
{
	FILE *f = fopen(img, "rb");
	uint8_t e[8];
	uint64_t cr = ((uint64_t)1 << 23) * lsec / bs, b = off / bs;
	ck_assert_ptr_nonnull(f);
	/* vstd's layout: BAT after 1 MiB header area + 1 MiB log + 1 MiB metadata */
	ck_assert_int_eq(fseek(f, (long)(3 * MIB + 8 * (b + b / cr)), SEEK_SET), 0);
	ck_assert_uint_eq(fread(e, 1, 8, f), 8);
	fclose(f);
	return (unsigned)(vstd_le64(e) & 7);
}

static int vhdimount_cmp(const char *img, const char *want_raw, char *out, size_t cap)
{
	int same;
	if (vt_run("mkdir -p %s && timeout 20 vhdimount %s %s", vt_path("mnt"), img,
	           vt_path("mnt")) != 0) {
		snprintf(out, cap, "%s", vt_output());
		return -1;
	}
	/* vhdi1 is the bottom of the chain, the last one the image itself */
	same = vt_run("cmp $(ls -d %s/vhdi* | sort -V | tail -1) %s", vt_path("mnt"), want_raw);
	snprintf(out, cap, "%s", vt_output());
	vt_run("fusermount -u %s || umount %s", vt_path("mnt"), vt_path("mnt"));
	return same;
}

/* _i = 0: 512-byte sectors, qemu-made parent with 1 MiB blocks, child with
 * 2 MiB blocks; _i = 1: 4096-byte sectors, vstd-made parent. */
START_TEST(partial_blocks)
{
	uint32_t lsec = _i == 0 ? 512 : 4096;
	uint64_t cbs = 2 * MIB;
	uint8_t *pat = malloc(DSIZE), *want = malloc(DSIZE);
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk_check_result cr;
	vstd_block_status st;
	vstd_disk *d = NULL;
	char child[512], out[4096];
	vt_fill_random(pat, DSIZE, 100 + (uint64_t)_i);
	memset(pat + 6 * MIB, 0, 2 * MIB); /* a hole in the parent */
	vt_write_file(vt_path("p.raw"), pat, DSIZE);
	if (_i == 0) {
		ck_assert_int_eq(vt_run("qemu-img convert -f raw -O vhdx -o block_size=1M %s %s",
		                        vt_path("p.raw"), vt_path("parent.vhdx")),
		                 0);
	} else {
		ck_assert_msg(vt_run("%s img convert -f raw -O vhdx -o "
		                     "block_size=1M,logical_sector_size=4096 %s %s",
		                     vt_cli(), vt_path("p.raw"), vt_path("parent.vhdx")) == 0,
		              "%s", vt_output());
	}
	snprintf(child, sizeof(child), "%s", vt_path("child.avhdx"));
	ck_assert_msg(vt_run("%s img create -f vhdx -b parent.vhdx -F vhdx -o block_size=2M %s",
	                     vt_cli(), child) == 0,
	              "%s", vt_output());
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, child, &oo));
	memcpy(want, pat, DSIZE);
	wr(d, want, MIB - 100, 5000, 1);       /* unaligned, inside block 0 */
	wr(d, want, 3 * MIB + 7, 10, 2);       /* inside one sector */
	wr(d, want, 3 * MIB + 70000, 4096, 3); /* same block again */
	wr(d, want, 4 * MIB, cbs, 4);          /* a whole block */
	wr(d, want, 6 * MIB + 4096, 8192, 5);  /* over the parent's hole */
	wr(d, want, 2 * MIB - 300, 600, 6);    /* across two blocks */
	wr(d, want, DSIZE - lsec, lsec, 7);    /* the last sector */
	vt_ok(vstd_disk_write_zeroes(d, 9 * MIB + 512 * 3, 40000, 0));
	memset(want + 9 * MIB + 512 * 3, 0, 40000);
	/* before any flush: the bitmap changes are in memory only */
	read_equal(d, want, DSIZE);
	vt_ok(vstd_disk_block_status(d, 3 * MIB, lsec, &st));
	ck_assert_msg(st.flags & VSTD_BLOCK_DATA, "written sector not data: %u", st.flags);
	vt_ok(vstd_disk_block_status(d, 2 * MIB + 512 * 1024, lsec, &st));
	ck_assert_msg((st.flags & VSTD_BLOCK_DATA) == 0, "unwritten sector is data");
	vstd_disk_close(d);
	ck_assert_uint_eq(bat_state(child, 0, cbs, lsec), VHDX_PAYLOAD_PARTIALLY_PRESENT);
	ck_assert_uint_eq(bat_state(child, 3 * MIB, cbs, lsec), VHDX_PAYLOAD_PARTIALLY_PRESENT);
	ck_assert_uint_eq(bat_state(child, 4 * MIB, cbs, lsec), VHDX_PAYLOAD_FULLY_PRESENT);
	ck_assert_uint_eq(bat_state(child, 8 * MIB, cbs, lsec), VHDX_PAYLOAD_PARTIALLY_PRESENT);
	vt_ok(vstd_disk_open(&d, child, NULL));
	read_equal(d, want, DSIZE);
	memset(&cr, 0, sizeof(cr));
	vt_ok(vstd_disk_check(d, 0, &cr));
	ck_assert_msg(cr.corruptions == 0, "%s", cr.report ? cr.report : "");
	vstd_disk_check_result_clear(&cr);
	vstd_disk_close(d);
	/* libyal: the parent is named, and its read-through equals ours */
	ck_assert_int_eq(vt_run("vhdiinfo %s", child), 0);
	ck_assert_msg(strstr(vt_output(), "Differential") != NULL &&
	                      strstr(vt_output(), "parent.vhdx") != NULL,
	              "%s", vt_output());
	vt_write_file(vt_path("want.raw"), want, DSIZE);
	{
		int r = vhdimount_cmp(child, vt_path("want.raw"), out, sizeof(out));
		ck_assert_msg(r != 1, "vhdimount read-through differs: %s", out);
		if (r < 0)
			fprintf(stderr, "note: vhdimount could not mount: %s\n", out);
	}
	/* round trip through raw, and back into a vhdx qemu-img reads */
	ck_assert_msg(vt_run("%s img convert -O raw %s %s && cmp %s %s", vt_cli(), child,
	                     vt_path("rt.raw"), vt_path("rt.raw"), vt_path("want.raw")) == 0,
	              "%s", vt_output());
	if (_i == 0)
		ck_assert_msg(vt_run("%s img convert -O vhdx %s %s && qemu-img check %s && "
		                     "qemu-img compare -F raw %s %s",
		                     vt_cli(), child, vt_path("flat.vhdx"), vt_path("flat.vhdx"),
		                     vt_path("flat.vhdx"), vt_path("want.raw")) == 0,
		              "%s", vt_output());
	/* a write that covers a partially present block makes it fully present */
	vt_ok(vstd_disk_open(&d, child, &oo));
	wr(d, want, 0, cbs, 8);
	vstd_disk_close(d);
	ck_assert_uint_eq(bat_state(child, 0, cbs, lsec), VHDX_PAYLOAD_FULLY_PRESENT);
	vt_ok(vstd_disk_open(&d, child, NULL));
	read_equal(d, want, DSIZE);
	vstd_disk_close(d);
	free(pat);
	free(want);
}
END_TEST

/* Many small writes spread over a large child: the pending bitmap pages are
 * flushed on the way (bounded memory), and a crash-free reopen reads all. */
START_TEST(many_partial)
{
	const uint64_t size = (uint64_t)5 << 30; /* bitmap pages cover 16 MiB each */
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	uint8_t sec[512], got[512];
	co.format = "vhdx";
	co.size = size;
	co.options = "block_size=1M";
	vt_ok(vstd_disk_create(vt_path("bigp.vhdx"), &co));
	co.size = 0;
	co.backing_file = "bigp.vhdx";
	co.backing_format = "vhdx";
	co.options = "block_size=32M";
	vt_ok(vstd_disk_create(vt_path("bigc.vhdx"), &co));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, vt_path("bigc.vhdx"), &oo));
	for (uint64_t k = 0; k < 300; k++) {
		memset(sec, (int)(k + 1), sizeof(sec));
		vt_ok(vstd_disk_write(d, k * (16 << 20) + 512 * k, sec, sizeof(sec)));
	}
	vstd_disk_close(d);
	vt_ok(vstd_disk_open(&d, vt_path("bigc.vhdx"), NULL));
	for (uint64_t k = 0; k < 300; k++) {
		memset(sec, (int)(k + 1), sizeof(sec));
		vt_ok(vstd_disk_read(d, k * (16 << 20) + 512 * k, got, sizeof(got)));
		ck_assert_msg(memcmp(got, sec, 512) == 0, "sector %" PRIu64 " lost", k);
		vt_ok(vstd_disk_read(d, k * (16 << 20) + 512 * k + 512, got, sizeof(got)));
		ck_assert_msg(vstd_is_zero(got, 512), "sector after %" PRIu64 " not zero", k);
	}
	vstd_disk_close(d);
}
END_TEST

/* A partially present block whose chunk has no sector bitmap block: reads
 * of it fail naming the rule, check reports it, nothing crashes. */
START_TEST(hostile_bitmap)
{
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk_check_result cr;
	vstd_disk *d = NULL;
	uint8_t buf[4096];
	FILE *f;
	uint8_t e[8];
	co.format = "vhdx";
	co.size = 8 << 20;
	co.options = "block_size=1M";
	vt_ok(vstd_disk_create(vt_path("hp.vhdx"), &co));
	co.size = 0;
	co.backing_file = "hp.vhdx";
	co.backing_format = "vhdx";
	vt_ok(vstd_disk_create(vt_path("hc.vhdx"), &co));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, vt_path("hc.vhdx"), &oo));
	memset(buf, 0x5a, sizeof(buf));
	vt_ok(vstd_disk_write(d, 4096, buf, 4096));
	vstd_disk_close(d);
	ck_assert_uint_eq(bat_state(vt_path("hc.vhdx"), 0, MIB, 512),
	                  VHDX_PAYLOAD_PARTIALLY_PRESENT);
	/* chunk ratio 4096 with 1 MiB blocks: the sector bitmap entry is 4096 */
	f = fopen(vt_path("hc.vhdx"), "r+b");
	ck_assert_ptr_nonnull(f);
	memset(e, 0, sizeof(e));
	ck_assert_int_eq(fseek(f, (long)(3 * MIB + 8 * 4096), SEEK_SET), 0);
	ck_assert_uint_eq(fwrite(e, 1, 8, f), 8);
	fclose(f);
	vt_ok(vstd_disk_open(&d, vt_path("hc.vhdx"), NULL));
	ck_assert_int_eq(vstd_disk_read(d, 0, buf, sizeof(buf)), VSTD_ECORRUPT);
	ck_assert_msg(strstr(vstd_error_last()->message, "sector bitmap") != NULL &&
	                      strstr(vstd_error_last()->message, "hc.vhdx") != NULL,
	              "%s", vstd_error_last()->message);
	memset(&cr, 0, sizeof(cr));
	vt_ok(vstd_disk_check(d, 0, &cr));
	ck_assert_uint_gt(cr.corruptions, 0);
	ck_assert_msg(cr.report && strstr(cr.report, "sector bitmap"), "%s",
	              cr.report ? cr.report : "");
	vstd_disk_check_result_clear(&cr);
	vstd_disk_close(d);
}
END_TEST

int main(void)
{
	static const void *volatile force_link = &vstd_driver_vhdx;
	Suite *s = suite_create("disk/vhdx/diff");
	TCase *tc = tcase_create("diff");
	(void)force_link;
	vt_require_tool("qemu-img", "qemu-utils");
	vt_require_tool("vhdiinfo", "libvhdi-utils");
	vt_require_tool("vhdimount", "libvhdi-utils");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, partial_blocks, 0, 2);
	tcase_add_test(tc, many_partial);
	tcase_add_test(tc, hostile_bitmap);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
