/*
 * tests/disk/vdi/test_vdi.c - VDI against qemu-img both ways (static on
 * and off), the corpus image, differencing images linked by UUID, resize,
 * measure, and hostile images (versions, block map past EOF, shared
 * indexes, huge counts) with check and repair.
 */
#include <sys/stat.h>

#include "core/bytes.h"
#include "disk/vdi/vdi.h"
#include "../vpc/vhdtest.h"

#define DSIZE ((size_t)10 << 20)

START_TEST(qemu_writes_vstd_reads)
{
	uint8_t *pat = vh_pattern(DSIZE - 512, 21 + (uint64_t)_i);
	const char *raw = vt_path("s.raw"), *img = vt_path("q.vdi");
	vstd_disk *d;
	vt_write_file(raw, pat, DSIZE - 512);
	ck_assert_msg(vt_run("qemu-img convert -f raw -O vdi -o static=%s '%s' '%s'",
	                     _i ? "on" : "off", raw, img) == 0,
	              "%s", vt_output());
	d = vh_open(img, NULL, 0);
	ck_assert_str_eq(vstd_disk_format(d), "vdi");
	ck_assert_uint_eq(vstd_disk_size(d), DSIZE - 512);
	vh_disk_equals(d, pat, DSIZE - 512);
	vstd_disk_close(d);
	free(pat);
}
END_TEST

START_TEST(vstd_writes_qemu_reads)
{
	uint8_t *pat = vh_pattern(DSIZE, 31 + (uint64_t)_i);
	const char *raw = vt_path("s2.raw"), *img = vt_path("v.vdi");
	vstd_disk *d;
	vt_write_file(raw, pat, DSIZE);
	unlink(img);
	vh_create(img, "vdi", DSIZE, _i ? "static=on" : NULL, NULL, NULL);
	d = vh_open(img, NULL, VSTD_DISK_RDWR);
	vh_write_pattern(d, pat, DSIZE);
	/* an unaligned write into a new block: the rest of the block stays zero */
	vt_ok(vstd_disk_write(d, (1 << 20) + 777, pat, 1000));
	memcpy(pat + (1 << 20) + 777, pat, 1000);
	vt_ok(vstd_disk_flush(d));
	vstd_disk_close(d);
	vt_write_file(raw, pat, DSIZE);
	ck_assert_msg(vt_run("qemu-img compare -f raw -F vdi '%s' '%s'", raw, img) == 0, "%s",
	              vt_output());
	ck_assert_msg(vt_run("qemu-img check -f vdi '%s'", img) == 0, "%s", vt_output());
	ck_assert_msg(vt_run("qemu-img info -f vdi '%s' | grep -q '10485760 bytes'", img) == 0,
	              "size");
	free(pat);
}
END_TEST

START_TEST(corpus_basic)
{
	const char *img = vt_unpack("corpus/disk/vdi/dissect-basic.vdi.gz"),
	           *raw = vt_path("b.raw");
	size_t len;
	uint8_t *q;
	vstd_disk *d = vh_open(img, NULL, 0);
	ck_assert_msg(vt_run("qemu-img convert -f vdi -O raw '%s' '%s'", img, raw) == 0, "%s",
	              vt_output());
	q = vh_read_file(raw, &len);
	ck_assert_uint_eq(vstd_disk_size(d), len);
	vh_disk_equals(d, q, len);
	vstd_disk_close(d);
	free(q);
}
END_TEST

START_TEST(differencing_by_uuid)
{
	uint8_t *pat = vh_pattern(DSIZE, 41), *patch = malloc(3000000);
	const char *raw = vt_path("dp.raw");
	char dir[1100], base[1200], child[1200];
	vstd_disk *d;
	vstd_disk_info *info;
	snprintf(dir, sizeof(dir), "%s/vm", vt_tmpdir());
	snprintf(base, sizeof(base), "%s/base.vdi", dir);
	snprintf(child, sizeof(child), "%s/Snapshots/{child}.vdi", dir);
	ck_assert(vt_run("mkdir -p '%s/Snapshots'", dir) == 0);
	vt_write_file(raw, pat, DSIZE);
	ck_assert(vt_run("qemu-img convert -f raw -O vdi '%s' '%s'", raw, base) == 0);
	vh_create(child, "vdi", 0, NULL, "../base.vdi", "vdi");
	d = vh_open(child, NULL, VSTD_DISK_RDWR);
	vh_disk_equals(d, pat, DSIZE);
	vt_ok(vstd_disk_info_get(d, &info));
	ck_assert_str_eq(info->backing_filename, "../base.vdi");
	ck_assert(strstr(info->format_specific_json, "\"image-type\":\"differencing\"") != NULL);
	vstd_disk_info_free(info);
	vt_fill_random(patch, 3000000, 5);
	vt_ok(vstd_disk_write(d, 1000001, patch, 3000000));
	memcpy(pat + 1000001, patch, 3000000);
	vt_ok(vstd_disk_flush(d));
	vstd_disk_close(d);
	d = vh_open(child, NULL, 0);
	vh_disk_equals(d, pat, DSIZE);
	vstd_disk_close(d);
	/* round trip through raw: the chain's contents */
	d = vh_open(child, NULL, 0);
	{
		vstd_disk_convert_opts co = VSTD_DISK_CONVERT_OPTS_INIT;
		const char *out = vt_path("rt.raw");
		size_t len;
		uint8_t *b;
		if (vstd_disk_convert(d, out, &co) == 0) {
			b = vh_read_file(out, &len);
			ck_assert(len == DSIZE && memcmp(b, pat, DSIZE) == 0);
			free(b);
		}
	}
	vstd_disk_close(d);
	/* the parent gone: the error names the UUID it looked for */
	ck_assert(vt_run("mv '%s' '%s.away'", base, base) == 0);
	vh_open_fails(child, NULL, VSTD_ENOENT, "creation UUID");
	/* a parent elsewhere cannot be recorded */
	{
		vstd_disk_create_opts c = VSTD_DISK_CREATE_OPTS_INIT;
		ck_assert(vt_run("mkdir -p '%s/a/b/c' && qemu-img create -q -f vdi '%s/p.vdi' 1M",
		                 dir, dir) == 0);
		c.format = "vdi";
		c.backing_file = "../../../p.vdi";
		c.backing_format = "vdi";
		snprintf(child, sizeof(child), "%s/a/b/c/x.vdi", dir);
		ck_assert_int_eq(vstd_disk_create(child, &c), VSTD_EINVAL);
	}
	free(patch);
	free(pat);
}
END_TEST

START_TEST(resize_and_measure)
{
	uint8_t *pat = vh_pattern(DSIZE, 51);
	const char *img = vt_path("r.vdi"), *raw = vt_path("r.raw");
	vstd_disk_measure_result m;
	vstd_disk *d, *src;
	struct stat st;
	unlink(img);
	/* empty image: the data area moves to make room for the map */
	vh_create(img, "vdi", DSIZE, NULL, NULL, NULL);
	d = vh_open(img, NULL, VSTD_DISK_RDWR);
	vt_ok(vstd_disk_resize(d, (uint64_t)DSIZE * 200, 0, NULL));
	vh_write_pattern(d, pat, DSIZE);
	vt_ok(vstd_disk_resize(d, DSIZE, VSTD_DISK_RESIZE_SHRINK, NULL));
	vstd_disk_close(d);
	vt_write_file(vt_path("r0.raw"), pat, DSIZE);
	/* a sparse source, so that measure sees the zero MiBs as holes */
	ck_assert(vt_run("cp --sparse=always '%s' '%s'", vt_path("r0.raw"), raw) == 0);
	ck_assert_msg(vt_run("qemu-img compare -f raw -F vdi '%s' '%s' && qemu-img check '%s'", raw,
	                     img, img) == 0,
	              "%s", vt_output());
	/* with data and no room in the map: the first blocks move (test_grow.c) */
	d = vh_open(img, NULL, VSTD_DISK_RDWR);
	vt_ok(vstd_disk_resize(d, (uint64_t)DSIZE * 10000, 0, NULL));
	vstd_disk_close(d);
	d = vh_open(img, NULL, 0);
	ck_assert_uint_eq(vstd_disk_size(d), (uint64_t)DSIZE * 10000);
	{
		uint8_t *got = malloc(DSIZE);
		vt_ok(vstd_disk_read(d, 0, got, DSIZE));
		ck_assert(memcmp(got, pat, DSIZE) == 0);
		free(got);
	}
	vstd_disk_close(d);
	ck_assert_msg(vt_run("qemu-img check '%s'", img) == 0, "%s", vt_output());
	src = vh_open(raw, "raw", 0);
	vt_ok(vstd_disk_measure("vdi", NULL, DSIZE, src, &m));
	vstd_disk_close(src);
	unlink(img);
	vh_create(img, "vdi", DSIZE, NULL, NULL, NULL);
	d = vh_open(img, NULL, VSTD_DISK_RDWR);
	vh_write_pattern(d, pat, DSIZE);
	vstd_disk_close(d);
	ck_assert(stat(img, &st) == 0);
	ck_assert_uint_eq(m.required, (uint64_t)st.st_size);
	free(pat);
}
END_TEST

static const char *small_vdi(const char *name)
{
	const char *img = vt_path(name);
	uint8_t buf[4096];
	vstd_disk *d;
	unlink(img);
	vh_create(img, "vdi", 4 << 20, NULL, NULL, NULL);
	d = vh_open(img, NULL, VSTD_DISK_RDWR);
	vt_fill_random(buf, sizeof(buf), 1);
	vt_ok(vstd_disk_write(d, 0, buf, sizeof(buf)));
	vt_ok(vstd_disk_write(d, 2 << 20, buf, sizeof(buf)));
	vt_ok(vstd_disk_flush(d));
	vstd_disk_close(d);
	return img;
}

static void put32(const char *img, uint64_t off, uint32_t v)
{
	uint8_t b[4];
	vstd_put_le32(b, v);
	vh_patch_file(img, off, b, 4);
}

START_TEST(hostile)
{
	const char *img;
	vstd_disk_check_result r;
	uint8_t buf[512];
	vstd_disk *d;
	img = small_vdi("ver.vdi");
	put32(img, 68, 0x00000001);
	vh_open_fails(img, "vdi", VSTD_ENOTSUP, "version 0.1");
	img = small_vdi("ver2.vdi");
	put32(img, 68, 0x00020000);
	vh_open_fails(img, "vdi", VSTD_ENOTSUP, "only version 1.1");
	img = small_vdi("bs.vdi");
	put32(img, 376, 3 << 20);
	vh_open_fails(img, "vdi", VSTD_ECORRUPT, "not a power of two");
	img = small_vdi("n.vdi");
	put32(img, 384, 0x7fffffff);
	vh_open_fails(img, "vdi", VSTD_ECORRUPT, "more than the limit");
	img = small_vdi("n2.vdi");
	put32(img, 384, 1u << 27); /* plausible count, map passes the file end */
	vh_open_fails(img, "vdi", VSTD_ECORRUPT, "0x");
	img = small_vdi("few.vdi");
	put32(img, 384, 1);
	vh_open_fails(img, "vdi", VSTD_ECORRUPT, "cannot hold the disk size");
	img = small_vdi("undo.vdi");
	put32(img, 76, VDI_UNDO);
	vh_open_fails(img, "vdi", VSTD_ENOTSUP, "undo");
	/* block map past EOF: open, fail the read with the offset, repair */
	img = small_vdi("eof.vdi");
	put32(img, 0x200 + 4 * 1, 2); /* index 2 is past the end */
	d = vh_open(img, "vdi", 0);
	ck_assert_int_eq(vstd_disk_read(d, 1 << 20, buf, 512), VSTD_ECORRUPT);
	ck_assert(strstr(vstd_error_last()->message, "offset 0x204") != NULL);
	vt_ok(vstd_disk_check(d, 0, &r));
	ck_assert_uint_eq(r.corruptions, 1);
	vstd_disk_check_result_clear(&r);
	vstd_disk_close(d);
	d = vh_open(img, "vdi", VSTD_DISK_RDWR);
	vt_ok(vstd_disk_check(d, VSTD_CHECK_REPAIR_ALL, &r));
	ck_assert_uint_ge(r.corruptions_fixed, 1);
	vstd_disk_check_result_clear(&r);
	vstd_disk_close(d);
	d = vh_open(img, "vdi", 0);
	vt_ok(vstd_disk_read(d, 1 << 20, buf, 512));
	ck_assert(vstd_is_zero_buf(buf, 512));
	vstd_disk_close(d);
	ck_assert_msg(vt_run("qemu-img check -f vdi '%s'", img) == 0, "%s", vt_output());
	/* two blocks sharing one index */
	img = small_vdi("dup.vdi");
	put32(img, 0x200 + 4 * 3, 0);
	d = vh_open(img, "vdi", 0);
	ck_assert_int_eq(vstd_disk_read(d, 3 << 20, buf, 512), VSTD_ECORRUPT);
	vt_ok(vstd_disk_check(d, 0, &r));
	ck_assert_uint_eq(r.corruptions, 1);
	vstd_disk_check_result_clear(&r);
	vstd_disk_close(d);
}
END_TEST

START_TEST(commit_and_rebase)
{
	uint8_t *pat = vh_pattern(DSIZE, 62), *patch = malloc(1 << 20);
	const char *raw = vt_path("cr.raw"), *p1 = vt_path("cr_p1.vdi"), *p2 = vt_path("cr_p2.vdi");
	const char *child = vt_path("cr_child.vdi");
	vstd_disk *d;
	vt_write_file(raw, pat, DSIZE);
	ck_assert(vt_run("qemu-img convert -f raw -O vdi '%s' '%s'", raw, p1) == 0);
	vh_create(child, "vdi", 0, NULL, "cr_p1.vdi", "vdi");
	d = vh_open(child, NULL, VSTD_DISK_RDWR);
	vt_fill_random(patch, 1 << 20, 9);
	vt_ok(vstd_disk_write(d, 3 << 20, patch, 1 << 20));
	memcpy(pat + (3 << 20), patch, 1 << 20);
	vt_ok(vstd_disk_commit(d, 0, NULL, NULL));
	vstd_disk_close(d);
	vt_write_file(raw, pat, DSIZE);
	ck_assert_msg(vt_run("qemu-img compare -f raw -F vdi '%s' '%s' && qemu-img check '%s'", raw,
	                     p1, p1) == 0,
	              "%s", vt_output());
	d = vh_open(child, NULL, VSTD_DISK_RDWR);
	vh_disk_equals(d, pat, DSIZE);
	vh_create(p2, "vdi", DSIZE, NULL, NULL, NULL);
	vt_ok(vstd_disk_rebase(d, "cr_p2.vdi", "vdi", 0, NULL, NULL));
	vstd_disk_close(d);
	d = vh_open(child, NULL, 0);
	ck_assert_str_eq(vstd_disk_filename(vstd_disk_backing(d)) + strlen(vt_tmpdir()) + 1,
	                 "cr_p2.vdi");
	vh_disk_equals(d, pat, DSIZE);
	vstd_disk_close(d);
	d = vh_open(child, NULL, VSTD_DISK_RDWR);
	vt_ok(vstd_disk_rebase(d, NULL, NULL, 0, NULL, NULL));
	vstd_disk_close(d);
	ck_assert_msg(vt_run("qemu-img compare -f raw -F vdi '%s' '%s' && qemu-img check '%s'", raw,
	                     child, child) == 0,
	              "%s", vt_output());
	free(patch);
	free(pat);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vdi");
	TCase *t = tcase_create("vdi");
	vh_link_drivers();
	vt_require_tool("qemu-img", "qemu-utils");
	tcase_set_timeout(t, 300);
	tcase_add_loop_test(t, qemu_writes_vstd_reads, 0, 2);
	tcase_add_loop_test(t, vstd_writes_qemu_reads, 0, 2);
	tcase_add_test(t, corpus_basic);
	tcase_add_test(t, differencing_by_uuid);
	tcase_add_test(t, resize_and_measure);
	tcase_add_test(t, hostile);
	tcase_add_test(t, commit_and_rebase);
	suite_add_tcase(s, t);
	return vt_main(s);
}
