/*
 * tests/disk/vpc/test_hostile.c - corrupt and hostile VHDs: clear
 * VSTD_ECORRUPT naming the structure and offset, no crash, no unbounded
 * allocation; check finds the damage and repairs what is safe; a crash at
 * any write while blocks are added leaves an image that opens and reads
 * either the old or the new data.
 */
#include <sys/stat.h>

#include "core/bytes.h"
#include "disk/vpc/vpc.h"
#include "vhdtest.h"

#define SZ ((uint64_t)8 << 20)

/* A dynamic image with blocks 0 and 2 written. */
static const char *make_image(const char *name)
{
	const char *img = vt_path(name);
	uint8_t buf[4096];
	vstd_disk *d;
	unlink(img);
	vh_create(img, "vpc", SZ, "force_size=on", NULL, NULL);
	d = vh_open(img, "vpc", VSTD_DISK_RDWR);
	vt_fill_random(buf, sizeof(buf), 3);
	vt_ok(vstd_disk_write(d, 0, buf, sizeof(buf)));
	vt_ok(vstd_disk_write(d, 4 << 20, buf, sizeof(buf)));
	vt_ok(vstd_disk_flush(d));
	vstd_disk_close(d);
	return img;
}

static void patch_dyn(const char *img, size_t field, uint32_t value, int fix_sum)
{
	uint8_t h[1024];
	vh_read_at(img, 512, h, sizeof(h));
	vstd_put_be32(h + field, value);
	if (fix_sum)
		vstd_put_be32(h + 36, vpc_checksum(h, sizeof(h), 36));
	vh_patch_file(img, 512, h, sizeof(h));
}

static void patch_bat(const char *img, uint32_t idx, uint32_t value)
{
	uint8_t h[1024], e[4];
	vh_read_at(img, 512, h, sizeof(h));
	vstd_put_be32(e, value);
	vh_patch_file(img, vstd_be64(h + 16) + 4 * (uint64_t)idx, e, 4);
}

START_TEST(bad_footer_checksum)
{
	const char *img = vt_path("fx.vhd");
	uint8_t f[512];
	unlink(img);
	vh_create(img, "vpc", SZ, "subformat=fixed,force_size=on", NULL, NULL);
	vh_read_at(img, SZ, f, 512);
	f[48] ^= 0x40; /* size changed, checksum not */
	vh_patch_file(img, SZ, f, 512);
	vh_open_fails(img, "vpc", VSTD_ECORRUPT, "bad checksum");
	ck_assert(strstr(vstd_error_last()->message, "0x800000") != NULL);
	/* sparse: the tail alone is damaged: the copy at 0 is used */
	img = make_image("dy.vhd");
	{
		struct stat st;
		vstd_disk *d;
		ck_assert(stat(img, &st) == 0);
		vh_read_at(img, (uint64_t)st.st_size - 512, f, 512);
		f[100] ^= 1;
		vh_patch_file(img, (uint64_t)st.st_size - 512, f, 512);
		d = vh_open(img, "vpc", 0);
		ck_assert_uint_eq(vstd_disk_size(d), SZ);
		vstd_disk_close(d);
		/* both damaged differently: refused */
		vh_read_at(img, 0, f, 512);
		f[101] ^= 1;
		vh_patch_file(img, 0, f, 512);
		vh_open_fails(img, "vpc", VSTD_ECORRUPT, "bad checksum");
	}
}
END_TEST

START_TEST(header_fields)
{
	const char *img = make_image("h.vhd");
	patch_dyn(img, 36, 0x12345678, 0);
	vh_open_fails(img, "vpc", VSTD_ECORRUPT,
	              "dynamic header at offset 0x200 has a bad checksum");
	img = make_image("h0.vhd");
	patch_dyn(img, 32, 0, 1);
	vh_open_fails(img, "vpc", VSTD_ECORRUPT, "block size 0 is not a power of two");
	img = make_image("h3.vhd");
	patch_dyn(img, 32, 3 << 20, 1);
	vh_open_fails(img, "vpc", VSTD_ECORRUPT, "not a power of two");
	img = make_image("hmax.vhd");
	patch_dyn(img, 28, 0x7fffffff, 1);
	vh_open_fails(img, "vpc", VSTD_ECORRUPT, "BAT entries is more than the limit");
	/* below the limit but larger than the file: no huge allocation */
	img = make_image("hbig.vhd");
	patch_dyn(img, 28, 1u << 27, 1);
	vh_open_fails(img, "vpc", VSTD_ECORRUPT, "is outside the file");
	/* too few entries for the size */
	img = make_image("hfew.vhd");
	patch_dyn(img, 28, 2, 1);
	vh_open_fails(img, "vpc", VSTD_ECORRUPT, "cannot hold the disk size");
	/* BAT offset beyond the end */
	img = make_image("hoff.vhd");
	{
		uint8_t h[1024];
		vh_read_at(img, 512, h, sizeof(h));
		vstd_put_be64(h + 16, UINT64_C(1) << 40);
		vstd_put_be32(h + 36, vpc_checksum(h, sizeof(h), 36));
		vh_patch_file(img, 512, h, sizeof(h));
	}
	vh_open_fails(img, "vpc", VSTD_ECORRUPT, "BAT at offset 0x10000000000");
}
END_TEST

START_TEST(bat_past_eof_and_repair)
{
	const char *img = make_image("eof.vhd");
	vstd_disk_check_result r;
	uint8_t buf[512];
	vstd_disk *d;
	patch_bat(img, 1, 0x00ffffff);
	d = vh_open(img, "vpc", 0);
	ck_assert_int_eq(vstd_disk_read(d, 2 << 20, buf, 512), VSTD_ECORRUPT);
	ck_assert(strstr(vstd_error_last()->message, "BAT entry 1") != NULL);
	ck_assert(strstr(vstd_error_last()->message, "passes the end of the file") != NULL);
	vt_ok(vstd_disk_read(d, 0, buf, 512)); /* the rest still reads */
	vt_ok(vstd_disk_check(d, 0, &r));
	ck_assert_uint_eq(r.corruptions, 1);
	vstd_disk_check_result_clear(&r);
	vstd_disk_close(d);
	d = vh_open(img, "vpc", VSTD_DISK_RDWR);
	vt_ok(vstd_disk_check(d, VSTD_CHECK_REPAIR_ALL, &r));
	ck_assert_uint_eq(r.corruptions_fixed, 1);
	vstd_disk_check_result_clear(&r);
	vstd_disk_close(d);
	d = vh_open(img, "vpc", 0);
	vt_ok(vstd_disk_read(d, 2 << 20, buf, 512));
	ck_assert(vstd_is_zero_buf(buf, 512));
	vt_ok(vstd_disk_check(d, 0, &r));
	ck_assert_uint_eq(r.corruptions, 0);
	vstd_disk_check_result_clear(&r);
	vstd_disk_close(d);
}
END_TEST

START_TEST(overlapping_blocks)
{
	const char *img = make_image("ov.vhd");
	uint8_t h[1024], e[4], buf[512];
	vstd_disk_check_result r;
	vstd_disk *d;
	vh_read_at(img, 512, h, sizeof(h));
	vh_read_at(img, vstd_be64(h + 16), e, 4); /* block 0's sector */
	patch_bat(img, 3, vstd_be32(e) + 8);      /* block 3 inside block 0 */
	d = vh_open(img, "vpc", 0);
	ck_assert_int_eq(vstd_disk_read(d, 0, buf, 512), VSTD_ECORRUPT);
	ck_assert(strstr(vstd_error_last()->message, "overlaps") != NULL);
	vt_ok(vstd_disk_check(d, 0, &r));
	ck_assert_uint_eq(r.corruptions, 3); /* block 3 runs over blocks 0 and 2 */
	vstd_disk_check_result_clear(&r);
	vstd_disk_close(d);
	/* a block over the BAT */
	img = make_image("ovbat.vhd");
	patch_bat(img, 3, 3);
	d = vh_open(img, "vpc", 0);
	ck_assert_int_eq(vstd_disk_read(d, 6 << 20, buf, 512), VSTD_ECORRUPT);
	vstd_disk_close(d);
}
END_TEST

START_TEST(footer_copy_mismatch_repair)
{
	const char *img = make_image("fm.vhd");
	vstd_disk_check_result r;
	uint8_t f[512];
	vstd_disk *d;
	vh_read_at(img, 0, f, 512);
	f[200] = 1; /* reserved byte: the copy differs but its checksum... */
	vstd_put_be32(f + 64, vpc_checksum(f, 512, 64));
	vh_patch_file(img, 0, f, 512);
	d = vh_open(img, "vpc", VSTD_DISK_RDWR);
	vt_ok(vstd_disk_check(d, 0, &r));
	ck_assert_uint_eq(r.corruptions, 1);
	vstd_disk_check_result_clear(&r);
	vt_ok(vstd_disk_check(d, VSTD_CHECK_REPAIR_ALL, &r));
	ck_assert_uint_eq(r.corruptions_fixed, 1);
	vstd_disk_check_result_clear(&r);
	vstd_disk_close(d);
	vh_read_at(img, 0, f, 512);
	ck_assert_uint_eq(f[200], 0);
}
END_TEST

START_TEST(parent_loop)
{
	const char *a = vt_path("loop_a.vhd"), *b = vt_path("loop_b.vhd");
	uint8_t hb[1024], fa[512];
	vh_create(a, "vpc", SZ, "force_size=on", NULL, NULL);
	vh_create(b, "vpc", 0, NULL, "loop_a.vhd", "vpc");
	/* make a a child of b: a is differencing with b's UUID and locators */
	vh_read_at(b, 512, hb, sizeof(hb));
	vh_read_at(a, 0, fa, 512);
	{
		uint8_t fb[512], ha[1024];
		struct stat st;
		vh_read_at(b, 0, fb, 512);
		vh_read_at(a, 512, ha, sizeof(ha));
		memcpy(ha + 40, fb + 68, 16); /* parent uuid = b's */
		vstd_put_be32(ha + 56, vstd_be32(fb + 24));
		memcpy(ha + 64, hb + 64, 512); /* parent name (to be replaced) */
		memset(ha + 576, 0, 192);      /* no locators: the name is used */
		ck_assert(vpc_utf16_encode("loop_b.vhd", ha + 64, 512, 1) > 0);
		memset(ha + 64 + 20, 0, 512 - 20);
		vstd_put_be32(ha + 36, vpc_checksum(ha, sizeof(ha), 36));
		vh_patch_file(a, 512, ha, sizeof(ha));
		vstd_put_be32(fa + 60, VPC_DIFF);
		vstd_put_be32(fa + 64, vpc_checksum(fa, 512, 64));
		vh_patch_file(a, 0, fa, 512);
		ck_assert(stat(a, &st) == 0);
		vh_patch_file(a, (uint64_t)st.st_size - 512, fa, 512);
	}
	vh_open_fails(b, NULL, VSTD_ECORRUPT, "loops");
}
END_TEST

START_TEST(qemu_afl_sample)
{
	const char *img = vt_unpack("corpus/disk/invalid/qemu-afl5.img.bz2");
	vstd_disk_open_opts o = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	int rc;
	o.format = "vpc";
	rc = vstd_disk_open(&d, img, &o);
	ck_assert_msg(rc == VSTD_ECORRUPT, "afl5: %d %s", rc, vstd_error_last()->message);
}
END_TEST

/* Crash at every write of a block-adding session: the image still opens
 * and each block reads as before or as written. */
START_TEST(crash_consistency)
{
	const char *img = make_image("cr.vhd");
	size_t len, n_writes = 0;
	uint8_t *base = vh_read_file(img, &len), data[8192], got[8192], old[8192];
	vstd_disk_open_opts o = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d;
	vt_fill_random(data, sizeof(data), 77);
	o.format = "vpc";
	for (unsigned long at = 1; at < 64; at++) {
		vstd_io *mem = NULL, *fault = NULL;
		vstd_io_fault_opts fo = VSTD_IO_FAULT_OPTS_INIT;
		vstd_io_fault_stats fs;
		const void *bytes;
		size_t blen;
		int rc;
		vt_ok(vstd_io_mem_new(&mem, base, len, 0, VSTD_IO_READ | VSTD_IO_WRITE));
		fo.hold_unflushed = 1;
		fo.crash_at_write = at;
		vt_ok(vstd_io_fault_new(&fault, mem, &fo));
		o.flags = VSTD_DISK_RDWR;
		vt_ok(vstd_disk_open_io(&d, fault, NULL, &o));
		vt_ok(vstd_disk_read(d, 2 << 20, old, sizeof(old)));
		rc = vstd_disk_write(d, (2 << 20) - 4096, data, sizeof(data));
		if (rc == 0)
			rc = vstd_disk_flush(d);
		vstd_io_fault_get_stats(fault, &fs);
		vstd_disk_close(d);
		vstd_io_close(fault);
		vt_ok(vstd_io_mem_contents(mem, &bytes, &blen));
		{
			vstd_io *view = NULL;
			o.flags = 0;
			vt_ok(vstd_io_mem_view(&view, bytes, blen, "crashed"));
			vt_ok(vstd_disk_open_io(&d, view, NULL, &o));
			vt_ok(vstd_disk_read(d, (2 << 20) - 4096, got, sizeof(got)));
			ck_assert(memcmp(got + 4096, data + 4096, 4096) == 0 ||
			          memcmp(got + 4096, old, 4096) == 0);
			vstd_disk_close(d);
			vstd_io_close(view);
		}
		vstd_io_close(mem);
		if (!fs.crashed) {
			n_writes = at;
			break;
		}
	}
	ck_assert_msg(n_writes > 1, "the session never got past its first write");
	free(base);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vpc-hostile");
	TCase *t = tcase_create("vpc");
	vh_link_drivers();
	tcase_add_test(t, bad_footer_checksum);
	tcase_add_test(t, header_fields);
	tcase_add_test(t, bat_past_eof_and_repair);
	tcase_add_test(t, overlapping_blocks);
	tcase_add_test(t, footer_copy_mismatch_repair);
	tcase_add_test(t, parent_loop);
	tcase_add_test(t, qemu_afl_sample);
	tcase_add_test(t, crash_consistency);
	suite_add_tcase(s, t);
	return vt_main(s);
}
