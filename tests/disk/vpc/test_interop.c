/*
 * tests/disk/vpc/test_interop.c - VHD against real peers, both ways:
 * images qemu-img writes (dynamic, fixed, force_size) read back identically;
 * images vstd writes pass qemu-img compare and libyal's vhdiinfo (size,
 * parent); differencing images read through their parent the way libyal's
 * vhdimount does; the corpus of product-made images opens with the right
 * size and parent and reads like qemu (or libyal, for differencing).
 */
#include <sys/stat.h>

#include "core/bytes.h"
#include "disk/vpc/vpc.h"
#include "vhdtest.h"

#define DSIZE ((size_t)10 << 20)

static const char *const qemu_opts[] = {
        "subformat=dynamic",
        "subformat=fixed",
        "subformat=dynamic,force_size=on",
        "subformat=fixed,force_size=on",
};

START_TEST(qemu_writes_vstd_reads)
{
	uint8_t *pat = vh_pattern(DSIZE - 4096, 7 + (uint64_t)_i);
	const char *raw = vt_path("src.raw"), *img = vt_path("q.vhd"), *back = vt_path("q.raw");
	vstd_disk *d;
	size_t qlen;
	uint8_t *q;
	vt_write_file(raw, pat, DSIZE - 4096);
	ck_assert_msg(vt_run("qemu-img convert -f raw -O vpc -o %s '%s' '%s' && qemu-img convert "
	                     "-f vpc -O raw '%s' '%s'",
	                     qemu_opts[_i], raw, img, img, back) == 0,
	              "%s", vt_output());
	/* fixed VHDs are found by their footer (probe_tail) */
	d = vh_open(img, NULL, 0);
	ck_assert_str_eq(vstd_disk_format(d), "vpc");
	q = vh_read_file(back, &qlen);
	ck_assert_uint_eq(vstd_disk_size(d), qlen);
	vh_disk_equals(d, q, qlen);
	vh_disk_equals(d, pat, DSIZE - 4096);
	vstd_disk_close(d);
	free(q);
	free(pat);
}
END_TEST

static const char *const vstd_opts[] = {
        "", "subformat=fixed", "force_size=on", "subformat=fixed,force_size=on", "azure=on",
};

START_TEST(vstd_writes_qemu_reads)
{
	uint8_t *pat = vh_pattern(DSIZE, 70 + (uint64_t)_i);
	const char *raw = vt_path("src2.raw"), *img = vt_path("v.vhd");
	vstd_disk *d;
	uint64_t size;
	char want[64];
	vt_write_file(raw, pat, DSIZE);
	unlink(img);
	vh_create(img, "vpc", DSIZE, vstd_opts[_i], NULL, NULL);
	d = vh_open(img, "vpc", VSTD_DISK_RDWR);
	size = vstd_disk_size(d);
	ck_assert_uint_ge(size, DSIZE);
	if (_i >= 2)
		ck_assert_uint_eq(size, DSIZE);
	vh_write_pattern(d, pat, DSIZE);
	vstd_disk_close(d);
	ck_assert_msg(vt_run("qemu-img compare -f raw -F vpc '%s' '%s'", raw, img) == 0, "%s",
	              vt_output());
	ck_assert_msg(vt_run("qemu-img info -f vpc --output=json '%s'", img) == 0, "%s",
	              vt_output());
	snprintf(want, sizeof(want), "\"virtual-size\": %llu", (unsigned long long)size);
	ck_assert_msg(strstr(vt_output(), want) != NULL, "qemu size: %s", vt_output());
	ck_assert_msg(vt_run("vhdiinfo '%s'", img) == 0, "%s", vt_output());
	snprintf(want, sizeof(want), "(%llu bytes)", (unsigned long long)size);
	ck_assert_msg(strstr(vt_output(), want) != NULL, "vhdiinfo size: %s", vt_output());
	ck_assert(strstr(vt_output(), _i == 0 || _i == 2 ? "Dynamic" : "Fixed") != NULL);
	d = vh_open(img, NULL, 0);
	vh_disk_equals(d, pat, DSIZE);
	vstd_disk_close(d);
	free(pat);
}
END_TEST

START_TEST(azure_needs_whole_mib)
{
	vstd_disk_create_opts c = VSTD_DISK_CREATE_OPTS_INIT;
	c.format = "vpc";
	c.size = DSIZE + 512;
	c.options = "azure=on";
	ck_assert_int_eq(vstd_disk_create(vt_path("az.vhd"), &c), VSTD_EINVAL);
	ck_assert(strstr(vstd_error_last()->message, "whole number of MiB") != NULL);
	c.options = "azure=on,subformat=dynamic";
	c.size = DSIZE;
	ck_assert_int_eq(vstd_disk_create(vt_path("az.vhd"), &c), VSTD_EINVAL);
}
END_TEST

/* libyal's vhdimount exposes the chain as vhdi1 (base) .. vhdiN (top). */
static int libyal_top_equals(const char *img, const uint8_t *expect, size_t len, int layers)
{
	const char *mnt = vt_path("mnt");
	char top[1200];
	size_t got;
	uint8_t *b;
	int same;
	mkdir(mnt, 0755);
	if (vt_run("vhdimount '%s' '%s'", img, mnt) != 0)
		return -1; /* no FUSE here */
	snprintf(top, sizeof(top), "%s/vhdi%d", mnt, layers);
	b = vh_read_file(top, &got);
	same = got == len && memcmp(b, expect, len) == 0;
	if (!same) {
		size_t i = 0;
		while (i < len && i < got && b[i] == expect[i])
			i++;
		fprintf(stderr, "%s: %zu bytes, first difference at %zu\n", top, got, i);
	}
	free(b);
	vt_run("umount '%s' || fusermount -u '%s'", mnt, mnt);
	return same;
}

START_TEST(differencing_write_read_through)
{
	uint8_t *pat = vh_pattern(DSIZE, 11), *patch = malloc(3000000);
	const char *raw = vt_path("p.raw"), *parent = vt_path("parent.vhd");
	const char *child = vt_path("child.vhd");
	vstd_disk *d;
	vstd_disk_info *info;
	int lib;
	vt_write_file(raw, pat, DSIZE);
	ck_assert(vt_run("qemu-img convert -f raw -O vpc -o force_size=on '%s' '%s'", raw,
	                 parent) == 0);
	/* relative parent name: the W2ru locator */
	vh_create(child, "vpc", 0, NULL, "parent.vhd", "vpc");
	d = vh_open(child, NULL, VSTD_DISK_RDWR);
	ck_assert_uint_eq(vstd_disk_size(d), DSIZE);
	vh_disk_equals(d, pat, DSIZE); /* everything from the parent, not zeroes */
	vt_ok(vstd_disk_info_get(d, &info));
	ck_assert_str_eq(info->backing_filename, "parent.vhd");
	ck_assert_str_eq(info->backing_format, "vpc");
	vstd_disk_info_free(info);
	/* an unaligned write: sector bitmap bits, read-modify-write of edges */
	vt_fill_random(patch, 3000000, 99);
	vt_ok(vstd_disk_write(d, 1000001, patch, 3000000));
	memcpy(pat + 1000001, patch, 3000000);
	vt_ok(vstd_disk_flush(d));
	vh_disk_equals(d, pat, DSIZE);
	vstd_disk_close(d);
	d = vh_open(child, NULL, 0);
	vh_disk_equals(d, pat, DSIZE);
	vstd_disk_close(d);
	/* libyal agrees on size, parent and contents */
	ck_assert_msg(vt_run("vhdiinfo '%s'", child) == 0, "%s", vt_output());
	ck_assert(strstr(vt_output(), "Differential") != NULL);
	ck_assert_msg(strstr(vt_output(), "Parent filename\t\t: parent.vhd") != NULL, "%s",
	              vt_output());
	ck_assert(strstr(vt_output(), "(10485760 bytes)") != NULL);
	lib = libyal_top_equals(child, pat, DSIZE, 2);
	ck_assert_msg(lib != 0, "vhdimount reads different data");
	/* the parent's own data is untouched */
	d = vh_open(parent, NULL, 0);
	{
		uint8_t *orig = vh_pattern(DSIZE, 11);
		vh_disk_equals(d, orig, DSIZE);
		free(orig);
	}
	vstd_disk_close(d);
	free(patch);
	free(pat);
}
END_TEST

START_TEST(differencing_parent_checks)
{
	const char *parent = vt_path("par2.vhd"), *child = vt_path("ch2.vhd");
	const char *other = vt_path("other.vhd");
	vstd_disk_create_opts c = VSTD_DISK_CREATE_OPTS_INIT;
	vh_create(parent, "vpc", 4 << 20, "force_size=on", NULL, NULL);
	vh_create(child, "vpc", 0, NULL, parent, "vpc"); /* absolute: MacX locator */
	vstd_disk_close(vh_open(child, NULL, 0));
	/* another image under the parent's name: its UUID is wrong */
	ck_assert(vt_run("mv '%s' '%s'", parent, other) == 0);
	vh_create(parent, "vpc", 4 << 20, "force_size=on", NULL, NULL);
	vh_open_fails(child, NULL, VSTD_ECORRUPT, "is not this image's parent");
	/* parent absent: the error names it */
	unlink(parent);
	vh_open_fails(child, NULL, VSTD_ENOENT, "par2.vhd");
	/* a VHD child of a non-VHD parent is refused */
	vt_write_file(vt_path("r.raw"), "", 0);
	ck_assert(vt_run("truncate -s 1M '%s'", vt_path("r.raw")) == 0);
	c.format = "vpc";
	c.backing_file = vt_path("r.raw");
	c.backing_format = "raw";
	ck_assert_int_eq(vstd_disk_create(vt_path("bad.vhd"), &c), VSTD_ENOTSUP);
}
END_TEST

/* Product-made images: size, geometry rule, contents like qemu. */
static const struct {
	const char *file;
	uint64_t size;
	const char *creator;
} corpus[] = {
        {"corpus/disk/vhd/dissect-dynamic.vhd.gz", 10485760, "win "},
        {"corpus/disk/vhd/dissect-fixed.vhd.gz", 10485760, "win "},
        {"corpus/disk/vhd/qemu-d2v-zerofilled.vhd.bz2", 263454720, "d2v"},
        {"corpus/disk/vhd/qemu-hyperv2012r2-dynamic.vhd.bz2", 136365211648ull, "win "},
        /* Virtual PC: the CHS geometry decides (65278*16*255 sectors) */
        {"corpus/disk/vhd/qemu-virtualpc-dynamic.vhd.bz2", 136363130880ull, "vpc "},
};

START_TEST(corpus_reads_like_qemu)
{
	const char *img = vt_unpack(corpus[_i].file), *raw = vt_path("corpus.raw");
	vstd_disk *d = vh_open(img, "vpc", 0);
	vstd_disk_info *info;
	ck_assert_uint_eq(vstd_disk_size(d), corpus[_i].size);
	vt_ok(vstd_disk_info_get(d, &info));
	ck_assert_msg(strstr(info->format_specific_json, corpus[_i].creator) != NULL, "%s",
	              info->format_specific_json);
	vstd_disk_info_free(info);
	unlink(raw);
	ck_assert_msg(vt_run("qemu-img convert -f vpc -O raw '%s' '%s'", img, raw) == 0, "%s",
	              vt_output());
	if (_i == 1) /* qemu sees the footer as part of the fixed disk; drop it */
		ck_assert(vt_run("truncate -s %llu '%s'", (unsigned long long)corpus[_i].size,
		                 raw) == 0);
	vh_disk_equals_sparse_raw(d, raw);
	vstd_disk_close(d);
	unlink(raw);
	unlink(img);
}
END_TEST

START_TEST(corpus_differencing_pair)
{
	const char *child = vt_shared("corpus/disk/vhd/dfvfs-image-pair/image-differential.vhd");
	const char *parent = vt_shared("corpus/disk/vhd/dfvfs-image-pair/image.vhd");
	vstd_disk *d, *p;
	vstd_disk_info *info;
	size_t len = 104448;
	uint8_t *a = malloc(len), *b = malloc(len);
	vt_require_file(child, "corpus");
	/* footer and header checksums are wrong but both footer copies agree */
	d = vh_open(child, NULL, 0);
	ck_assert_uint_eq(vstd_disk_size(d), len);
	vt_ok(vstd_disk_info_get(d, &info));
	ck_assert_str_eq(info->backing_filename, "image.vhd");
	ck_assert(strstr(info->format_specific_json, "d49c5c80-350a-4a89-898a-5ad6d10f6578") !=
	          NULL);
	vstd_disk_info_free(info);
	ck_assert_ptr_nonnull(vstd_disk_backing(d));
	p = vh_open(parent, NULL, 0);
	vt_ok(vstd_disk_read(d, 0, a, len));
	vt_ok(vstd_disk_read(p, 0, b, len));
	ck_assert(memcmp(a, b, len) == 0);
	vstd_disk_close(p);
	vstd_disk_close(d);
	ck_assert(vt_run("vhdiinfo '%s'", child) == 0);
	ck_assert(strstr(vt_output(), "Parent filename\t\t: image.vhd") != NULL);
	ck_assert_msg(libyal_top_equals(child, a, len, 2) != 0, "vhdimount differs");
	free(a);
	free(b);
}
END_TEST

START_TEST(corpus_missing_parent)
{
	const char *child = vt_shared("corpus/disk/vhd/dfvfs-fat-differential.vhd");
	vstd_disk_open_opts o = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d;
	vt_require_file(child, "corpus");
	vh_open_fails(child, NULL, VSTD_ENOENT, "fat-parent.vhd");
	/* without the chain it opens and names its parent */
	o.flags = VSTD_DISK_NO_BACKING;
	vt_ok(vstd_disk_open(&d, child, &o));
	ck_assert_uint_eq(vstd_disk_size(d), 4194304);
	{
		vstd_disk_info *info;
		vt_ok(vstd_disk_info_get(d, &info));
		ck_assert_str_eq(info->backing_filename, "fat-parent.vhd");
		vstd_disk_info_free(info);
	}
	vstd_disk_close(d);
}
END_TEST

/* Single structures from libyal's tests. */
START_TEST(libyal_fragments)
{
	const char *ff = vt_shared("corpus/disk/fragments/libyal-libvhdi-file_footer.1");
	const char *dh = vt_shared("corpus/disk/fragments/libyal-libvhdi-dynamic_disk_header.1");
	uint8_t raw[1024];
	struct vpc_footer f;
	struct vpc_dyn_header h;
	size_t n;
	uint8_t *b;
	int use_chs;
	vt_require_file(ff, "corpus");
	b = vh_read_file(ff, &n);
	ck_assert_uint_eq(n, 512);
	ck_assert_int_eq(vpc_footer_parse(b, &f, 1), 0);
	ck_assert_uint_eq(f.type, VPC_DIFF);
	ck_assert_uint_eq(f.current_size, 0x20000000);
	ck_assert_uint_eq(vpc_virtual_size(&f, &use_chs), 1040ull * 16 * 63 * 512);
	ck_assert_int_eq(use_chs, 1); /* creator "vpc " */
	free(b);
	b = vh_read_file(dh, &n);
	ck_assert_uint_eq(n, 1024);
	memcpy(raw, b, 1024);
	vt_ok(vpc_dyn_parse(raw, &h, "fragment", 0, 0));
	ck_assert_uint_eq(h.block_size, 2 << 20);
	ck_assert_uint_eq(h.max_entries * (uint64_t)h.block_size, 0x20000000);
	free(b);
}
END_TEST

START_TEST(chs_geometry_spec)
{
	uint16_t c;
	uint8_t h, s;
	/* values from the VHD specification's algorithm */
	vpc_chs_for_size(10485760, &c, &h, &s);
	ck_assert(c == 301 && h == 4 && s == 17);
	vpc_chs_for_size(127ull << 30, &c, &h, &s);
	ck_assert(h == 16 && s == 255);
	vpc_chs_for_size(2040ull << 30, &c, &h, &s);
	ck_assert((uint64_t)c * h * s == VPC_MAX_CHS_SECTORS);
}
END_TEST

START_TEST(resize_and_measure)
{
	uint8_t *pat = vh_pattern(DSIZE, 5);
	const char *img = vt_path("rs.vhd"), *raw = vt_path("rs.raw");
	vstd_disk_measure_result m;
	vstd_disk *d, *src;
	struct stat st;
	uint8_t *big = calloc(1, (size_t)DSIZE * 8);
	ck_assert(big != NULL);
	memcpy(big, pat, DSIZE);
	memcpy(big + (size_t)DSIZE * 8 - 512, pat, 512);
	for (int fixed = 0; fixed < 2; fixed++) {
		unlink(img);
		vh_create(img, "vpc", DSIZE,
		          fixed ? "subformat=fixed,force_size=on" : "force_size=on", NULL, NULL);
		d = vh_open(img, "vpc", VSTD_DISK_RDWR);
		vh_write_pattern(d, pat, DSIZE);
		/* grow past the BAT (dynamic: the BAT moves to the end) */
		vt_ok(vstd_disk_resize(d, (uint64_t)DSIZE * 8, 0, NULL));
		vt_ok(vstd_disk_write(d, (uint64_t)DSIZE * 8 - 512, pat, 512));
		vstd_disk_close(d);
		d = vh_open(img, NULL, 0);
		ck_assert_uint_eq(vstd_disk_size(d), (uint64_t)DSIZE * 8);
		vh_disk_equals(d, big, (size_t)DSIZE * 8);
		vstd_disk_close(d);
		ck_assert_msg(vt_run("qemu-img info -f vpc '%s' | grep -q '%llu bytes'", img,
		                     (unsigned long long)DSIZE * 8) == 0,
		              "qemu size");
		ck_assert_msg(vt_run("vhdiinfo '%s' | grep -q '(%llu bytes)'", img,
		                     (unsigned long long)DSIZE * 8) == 0,
		              "vhdiinfo size");
		/* shrink back */
		d = vh_open(img, NULL, VSTD_DISK_RDWR);
		vt_ok(vstd_disk_resize(d, DSIZE, VSTD_DISK_RESIZE_SHRINK, NULL));
		vstd_disk_close(d);
		vt_write_file(raw, pat, DSIZE);
		ck_assert_msg(vt_run("qemu-img compare -f raw -F vpc '%s' '%s'", raw, img) == 0,
		              "%s", vt_output());
	}
	/* a CHS-sized image refuses a size its geometry cannot hold */
	unlink(img);
	vh_create(img, "vpc", DSIZE, NULL, NULL, NULL);
	d = vh_open(img, NULL, VSTD_DISK_RDWR);
	ck_assert_int_eq(vstd_disk_resize(d, (uint64_t)DSIZE * 2, 0, NULL), VSTD_EINVAL);
	ck_assert(strstr(vstd_error_last()->message, "next size") != NULL);
	vstd_disk_close(d);
	/* measure: what a dynamic copy of the pattern needs, vs. what it took */
	vt_write_file(raw, pat, DSIZE);
	src = vh_open(raw, "raw", 0);
	vt_ok(vstd_disk_measure("vpc", "force_size=on", DSIZE, src, &m));
	vstd_disk_close(src);
	unlink(img);
	vh_create(img, "vpc", DSIZE, "force_size=on", NULL, NULL);
	d = vh_open(img, NULL, VSTD_DISK_RDWR);
	vh_write_pattern(d, pat, DSIZE);
	vstd_disk_close(d);
	ck_assert(stat(img, &st) == 0);
	ck_assert_uint_eq(m.required, (uint64_t)st.st_size);
	ck_assert_uint_ge(m.fully_allocated, m.required);
	free(big);
	free(pat);
}
END_TEST

/* commit into the parent, then rebase onto another parent, then off it */
START_TEST(commit_and_rebase)
{
	uint8_t *pat = vh_pattern(DSIZE, 61), *patch = malloc(1 << 20);
	const char *raw = vt_path("cr.raw"), *p1 = vt_path("cr_p1.vhd"), *p2 = vt_path("cr_p2.vhd");
	const char *child = vt_path("cr_child.vhd");
	vstd_disk *d;
	struct stat st;
	vt_write_file(raw, pat, DSIZE);
	ck_assert(vt_run("qemu-img convert -f raw -O vpc -o force_size=on '%s' '%s'", raw, p1) ==
	          0);
	vh_create(child, "vpc", 0, NULL, "cr_p1.vhd", "vpc");
	d = vh_open(child, NULL, VSTD_DISK_RDWR);
	vt_fill_random(patch, 1 << 20, 8);
	vt_ok(vstd_disk_write(d, 3 << 20, patch, 1 << 20));
	memcpy(pat + (3 << 20), patch, 1 << 20);
	vt_ok(vstd_disk_commit(d, 0, NULL, NULL));
	vstd_disk_close(d);
	ck_assert(stat(child, &st) == 0);
	ck_assert_uint_lt((uint64_t)st.st_size, 1 << 20); /* emptied */
	vt_write_file(raw, pat, DSIZE);
	ck_assert_msg(vt_run("qemu-img compare -f raw -F vpc '%s' '%s'", raw, p1) == 0, "%s",
	              vt_output());
	d = vh_open(child, NULL, VSTD_DISK_RDWR);
	vh_disk_equals(d, pat, DSIZE);
	/* safe rebase onto an unrelated parent keeps what the guest sees */
	vh_create(p2, "vpc", DSIZE, "force_size=on", NULL, NULL);
	vt_ok(vstd_disk_rebase(d, "cr_p2.vhd", "vpc", 0, NULL, NULL));
	vh_disk_equals(d, pat, DSIZE);
	vstd_disk_close(d);
	d = vh_open(child, NULL, 0);
	vh_disk_equals(d, pat, DSIZE);
	vstd_disk_close(d);
	ck_assert(vt_run("vhdiinfo '%s'", child) == 0);
	ck_assert_msg(strstr(vt_output(), "Parent filename\t\t: cr_p2.vhd") != NULL, "%s",
	              vt_output());
	/* and off any parent: a dynamic image with the same contents */
	d = vh_open(child, NULL, VSTD_DISK_RDWR);
	vt_ok(vstd_disk_rebase(d, NULL, NULL, 0, NULL, NULL));
	vstd_disk_close(d);
	ck_assert_msg(vt_run("qemu-img compare -f raw -F vpc '%s' '%s'", raw, child) == 0, "%s",
	              vt_output());
	free(patch);
	free(pat);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vpc-interop");
	TCase *t = tcase_create("vpc");
	vh_link_drivers();
	vt_require_tool("qemu-img", "qemu-utils");
	vt_require_tool("vhdiinfo", "libvhdi-utils");
	vt_require_tool("vhdimount", "libvhdi-utils");
	tcase_set_timeout(t, 300);
	tcase_add_loop_test(t, qemu_writes_vstd_reads, 0, 4);
	tcase_add_loop_test(t, vstd_writes_qemu_reads, 0, 5);
	tcase_add_test(t, azure_needs_whole_mib);
	tcase_add_test(t, differencing_write_read_through);
	tcase_add_test(t, differencing_parent_checks);
	tcase_add_loop_test(t, corpus_reads_like_qemu, 0, 5);
	tcase_add_test(t, corpus_differencing_pair);
	tcase_add_test(t, corpus_missing_parent);
	tcase_add_test(t, libyal_fragments);
	tcase_add_test(t, chs_geometry_spec);
	tcase_add_test(t, resize_and_measure);
	tcase_add_test(t, commit_and_rebase);
	suite_add_tcase(s, t);
	return vt_main(s);
}
