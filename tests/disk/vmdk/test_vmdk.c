/*
 * tests/disk/vmdk/test_vmdk.c - the VMDK driver against qemu-img and
 * libyal's vmdkinfo, both directions, the shared corpus, and hostile
 * descriptors and headers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bytes.h"
#include "disk/vmdk/vmdk_internal.h"
#include "vtest.h"

#define DSIZE ((size_t)6 << 20)

static const char *const subformats[] = {"monolithicSparse", "monolithicFlat",
                                         "twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
                                         "streamOptimized"};

/* A disk pattern: random data islands (partial grains too), zero elsewhere. */
static uint8_t *make_pattern(uint64_t seed)
{
	uint8_t *b = calloc(1, DSIZE);
	ck_assert_ptr_nonnull(b);
	vt_fill_random(b, 300000, seed);
	vt_fill_random(b + 1048576 + 777, 5000, seed + 1);
	vt_fill_random(b + 4 * 1048576, 65536 * 3, seed + 2);
	vt_fill_random(b + DSIZE - 1000, 1000, seed + 3);
	return b;
}

static void read_all_equal(vstd_disk *d, const uint8_t *want, size_t len)
{
	uint8_t *got = malloc(len);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(vstd_disk_size(d), len);
	/* odd-sized reads that cross grains and extents */
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

static void read_all_equal_n(vstd_disk *d, const uint8_t *want, size_t len)
{
	uint8_t *got = malloc(len);
	ck_assert_uint_eq(vstd_disk_size(d), len);
	vt_ok(vstd_disk_read(d, 0, got, len));
	ck_assert(memcmp(got, want, len) == 0);
	free(got);
}

static void write_raw(const char *path, const uint8_t *b)
{
	vt_write_file(path, b, DSIZE);
}

/* images qemu-img writes read back byte-identical */
START_TEST(qemu_to_vstd)
{
	const char *sub = subformats[_i];
	uint8_t *pat = make_pattern(10 + (uint64_t)_i);
	char img[512];
	vstd_disk *d = NULL;
	write_raw(vt_path("q.raw"), pat);
	snprintf(img, sizeof(img), "%s", vt_path("q.vmdk"));
	ck_assert_int_eq(vt_run("qemu-img convert -f raw -O vmdk -o subformat=%s %s %s", sub,
	                        vt_path("q.raw"), img),
	                 0);
	vt_ok(vstd_disk_open(&d, img, NULL));
	ck_assert_str_eq(vstd_disk_format(d), "vmdk");
	read_all_equal(d, pat, DSIZE);
	vstd_disk_close(d);
	free(pat);
}
END_TEST

/* images vstd writes pass qemu-img compare/check and vmdkinfo */
START_TEST(vstd_to_qemu)
{
	const char *sub = subformats[_i];
	uint8_t *pat = make_pattern(20 + (uint64_t)_i);
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	char opts[128], img[512];
	vstd_disk *d = NULL;
	snprintf(opts, sizeof(opts), "subformat=%s,adapter_type=lsilogic,hwversion=6", sub);
	snprintf(img, sizeof(img), "%s", vt_path("v.vmdk"));
	co.format = "vmdk";
	co.size = DSIZE;
	co.options = opts;
	vt_ok(vstd_disk_create(img, &co));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	/* write in uneven pieces, skipping zero runs */
	for (size_t off = 0; off < DSIZE;) {
		size_t n = DSIZE - off < 12345 ? DSIZE - off : 12345;
		if (!vstd_is_zero(pat + off, n))
			vt_ok(vstd_disk_write(d, off, pat + off, n));
		off += n;
	}
	vt_ok(vstd_disk_flush(d));
	read_all_equal(d, pat, DSIZE);
	vstd_disk_close(d);
	write_raw(vt_path("v.raw"), pat);
	ck_assert_msg(vt_run("qemu-img compare -f vmdk -F raw %s %s", img, vt_path("v.raw")) == 0,
	              "%s", vt_output());
	ck_assert_msg(vt_run("qemu-img check -f vmdk %s", img) == 0, "%s", vt_output());
	ck_assert_int_eq(vt_run("vmdkinfo %s", img), 0);
	ck_assert_msg(strstr(vt_output(), "(6291456 bytes)") != NULL, "%s", vt_output());
	ck_assert_int_eq(vt_run("qemu-img info %s", img), 0);
	ck_assert_msg(strstr(vt_output(), "lsilogic") != NULL || strstr(vt_output(), sub) != NULL,
	              "%s", vt_output());
	free(pat);
}
END_TEST

/* random rewrites of a streamOptimized image (qemu 7.2 fails with EIO) */
START_TEST(stream_rewrite)
{
	uint8_t *pat = make_pattern(30);
	uint8_t chunk[70000];
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	char img[512];
	vstd_disk *d = NULL;
	snprintf(img, sizeof(img), "%s", vt_path("s.vmdk"));
	write_raw(vt_path("s.raw"), pat);
	ck_assert_int_eq(
	        vt_run("qemu-img convert -f raw -O vmdk -o subformat=streamOptimized %s %s",
	               vt_path("s.raw"), img),
	        0);
	oo.flags = VSTD_DISK_RDWR;
	for (int round = 0; round < 3; round++) {
		static const uint64_t offs[] = {100, 65536 * 7 + 5, 2000000, 5 * 1048576 + 3, 0};
		vt_ok(vstd_disk_open(&d, img, &oo));
		for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
			uint64_t off = offs[k] + (uint64_t)round * 4096;
			vt_fill_random(chunk, sizeof(chunk), 100 + k + (uint64_t)round * 10);
			vt_ok(vstd_disk_write(d, off, chunk, sizeof(chunk)));
			memcpy(pat + off, chunk, sizeof(chunk));
		}
		read_all_equal(d, pat, DSIZE);
		vt_ok(vstd_disk_flush(d));
		vstd_disk_close(d);
		write_raw(vt_path("s.raw"), pat);
		ck_assert_msg(
		        vt_run("qemu-img compare -f vmdk -F raw %s %s", img, vt_path("s.raw")) == 0,
		        "round %d: %s", round, vt_output());
		ck_assert_msg(vt_run("qemu-img check -f vmdk %s", img) == 0, "%s", vt_output());
	}
	ck_assert_int_eq(vt_run("vmdkinfo %s", img), 0);
	free(pat);
}
END_TEST

/* parentFileNameHint chains: a qemu-made child reads through its parent */
START_TEST(parent_chain)
{
	uint8_t *pat = make_pattern(40), *want;
	vstd_disk *d = NULL;
	int rc;
	write_raw(vt_path("p.raw"), pat);
	ck_assert_int_eq(vt_run("qemu-img convert -f raw -O vmdk %s %s", vt_path("p.raw"),
	                        vt_path("base.vmdk")),
	                 0);
	ck_assert_int_eq(
	        vt_run("cd %s && qemu-img create -q -f vmdk -b base.vmdk -F vmdk child.vmdk "
	               "&& qemu-io -c 'write -P 0x5a 1000 70000' child.vmdk",
	               vt_tmpdir()),
	        0);
	want = malloc(DSIZE);
	memcpy(want, pat, DSIZE);
	memset(want + 1000, 0x5a, 70000);
	vt_ok(vstd_disk_open(&d, vt_path("child.vmdk"), NULL));
	ck_assert_ptr_nonnull(vstd_disk_backing(d));
	read_all_equal(d, want, DSIZE);
	vstd_disk_close(d);
	/* missing parent: the error names it */
	ck_assert_int_eq(vt_run("mv %s %s", vt_path("base.vmdk"), vt_path("gone.vmdk")), 0);
	rc = vstd_disk_open(&d, vt_path("child.vmdk"), NULL);
	ck_assert_int_lt(rc, 0);
	ck_assert_msg(strstr(vstd_error_last()->message, "base.vmdk") != NULL, "%s",
	              vstd_error_last()->message);
	free(want);
	free(pat);
}
END_TEST

/* growing sparse and flat images; qemu writes past the old end afterwards */
START_TEST(resize)
{
	static const char *const subs[] = {"monolithicSparse", "monolithicFlat",
	                                   "twoGbMaxExtentSparse"};
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	char opts[64], img[512];
	vstd_disk *d = NULL;
	uint8_t buf[4096];
	snprintf(opts, sizeof(opts), "subformat=%s", subs[_i]);
	snprintf(img, sizeof(img), "%s", vt_path("grow.vmdk"));
	co.format = "vmdk";
	co.size = DSIZE;
	co.options = opts;
	vt_ok(vstd_disk_create(img, &co));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	memset(buf, 0x77, sizeof(buf));
	vt_ok(vstd_disk_write(d, 4096, buf, sizeof(buf)));
	vt_ok(vstd_disk_resize(d, (uint64_t)200 << 20, 0, NULL));
	vt_ok(vstd_disk_write(d, (uint64_t)150 << 20, buf, sizeof(buf)));
	vstd_disk_close(d);
	ck_assert_msg(
	        vt_run("qemu-io -c 'write -P 0x33 190M 1M' %s && qemu-img check %s", img, img) == 0,
	        "%s", vt_output());
	ck_assert_int_eq(vt_run("vmdkinfo %s", img), 0);
	ck_assert_msg(strstr(vt_output(), "(209715200 bytes)") != NULL, "%s", vt_output());
	vt_ok(vstd_disk_open(&d, img, NULL));
	ck_assert_uint_eq(vstd_disk_size(d), (uint64_t)200 << 20);
	vt_ok(vstd_disk_read(d, (uint64_t)150 << 20, buf, sizeof(buf)));
	ck_assert_uint_eq(buf[0], 0x77);
	vt_ok(vstd_disk_read(d, (uint64_t)190 << 20, buf, sizeof(buf)));
	ck_assert_uint_eq(buf[4095], 0x33);
	vstd_disk_close(d);
}
END_TEST

/* convert -c: grains compressed on worker threads through the driver hooks */
START_TEST(convert_compressed)
{
	uint8_t *pat = make_pattern(70);
	write_raw(vt_path("cc.raw"), pat);
	ck_assert_msg(vt_run("%s img convert -c -O vmdk -o subformat=streamOptimized %s %s",
	                     vt_cli(), vt_path("cc.raw"), vt_path("cc.vmdk")) == 0,
	              "%s", vt_output());
	ck_assert_msg(vt_run("qemu-img compare -f raw -F vmdk %s %s && qemu-img check %s",
	                     vt_path("cc.raw"), vt_path("cc.vmdk"), vt_path("cc.vmdk")) == 0,
	              "%s", vt_output());
	ck_assert_int_eq(vt_run("vmdkinfo %s", vt_path("cc.vmdk")), 0);
	/* a non-stream VMDK says why it takes no compressed grains */
	ck_assert_int_ne(vt_run("%s img convert -c -O vmdk %s %s", vt_cli(), vt_path("cc.raw"),
	                        vt_path("cc2.vmdk")),
	                 0);
	ck_assert_msg(strstr(vt_output(), "streamOptimized") != NULL, "%s", vt_output());
	free(pat);
}
END_TEST

/* vmfsSparse: an ESX "COWD" extent built here; qemu reads it too (qemu
 * 7.2 counts the extent twice, so only the first 4 MiB are compared) */
START_TEST(vmfs_sparse)
{
	const size_t sec = 512, gran = 16, cap = 8192;
	static const uint32_t grains[] = {0, 5, 100, 511};
	size_t len = 40 * sec + 4 * gran * sec;
	uint8_t *img = calloc(1, len), *want = calloc(1, cap * sec), *q;
	const char *desc = "# Disk DescriptorFile\nversion=1\nCID=aaaaaaaa\nparentCID=ffffffff\n"
	                   "createType=\"vmfsSparse\"\n\nRW 8192 VMFSSPARSE \"cw-delta.vmdk\"\n";
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	uint8_t chunk[3000];
	FILE *f;
	vstd_put_le32(img, VMDK3_MAGIC);
	vstd_put_le32(img + 4, 1);
	vstd_put_le32(img + 8, 3);
	vstd_put_le32(img + 12, (uint32_t)cap);
	vstd_put_le32(img + 16, (uint32_t)gran);
	vstd_put_le32(img + 20, 4);
	vstd_put_le32(img + 24, 1);
	vstd_put_le32(img + 4 * sec, 8);
	for (size_t i = 0; i < 4; i++) {
		uint32_t at = (uint32_t)(40 + i * gran);
		vstd_put_le32(img + 8 * sec + 4 * grains[i], at);
		vt_fill_random(img + at * sec, gran * sec, 200 + i);
		memcpy(want + grains[i] * gran * sec, img + at * sec, gran * sec);
	}
	vt_write_file(vt_path("cw-delta.vmdk"), img, len);
	vt_write_file(vt_path("cw.vmdk"), desc, strlen(desc));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, vt_path("cw.vmdk"), &oo));
	read_all_equal_n(d, want, cap * sec);
	vt_fill_random(chunk, sizeof(chunk), 300);
	vt_ok(vstd_disk_write(d, 3 * 8192 + 100, chunk, sizeof(chunk))); /* grain 3: new */
	memcpy(want + 3 * 8192 + 100, chunk, sizeof(chunk));
	vt_ok(vstd_disk_write(d, 5 * 8192 + 10, chunk, 100)); /* grain 5: in place */
	memcpy(want + 5 * 8192 + 10, chunk, 100);
	vstd_disk_close(d);
	ck_assert_int_eq(
	        vt_run("qemu-img convert -O raw %s %s", vt_path("cw.vmdk"), vt_path("cw.raw")), 0);
	q = malloc(cap * sec);
	f = fopen(vt_path("cw.raw"), "rb");
	ck_assert_uint_eq(fread(q, 1, cap * sec, f), cap * sec);
	fclose(f);
	ck_assert(memcmp(q, want, cap * sec) == 0);
	free(q);
	free(want);
	free(img);
}
END_TEST

/* the unclean-shutdown byte: reported as dirty, cleared by check -r */
START_TEST(unclean_flag)
{
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk_check_result cr;
	vstd_disk_info *info = NULL;
	vstd_disk *d = NULL;
	uint8_t one = 1, b = 0;
	FILE *f;
	co.format = "vmdk";
	co.size = 1 << 20;
	vt_ok(vstd_disk_create(vt_path("uc.vmdk"), &co));
	f = fopen(vt_path("uc.vmdk"), "r+b");
	fseek(f, 72, SEEK_SET);
	fwrite(&one, 1, 1, f);
	fclose(f);
	vt_ok(vstd_disk_open(&d, vt_path("uc.vmdk"), NULL));
	vt_ok(vstd_disk_info_get(d, &info));
	ck_assert_int_eq(info->dirty, 1);
	vstd_disk_info_free(info);
	vstd_disk_close(d);
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, vt_path("uc.vmdk"), &oo));
	memset(&cr, 0, sizeof(cr));
	vt_ok(vstd_disk_check(d, VSTD_CHECK_REPAIR_ALL, &cr));
	ck_assert_uint_eq(cr.corruptions, 0);
	vstd_disk_check_result_clear(&cr);
	vstd_disk_close(d);
	f = fopen(vt_path("uc.vmdk"), "rb");
	fseek(f, 72, SEEK_SET);
	ck_assert_uint_eq(fread(&b, 1, 1, f), 1);
	fclose(f);
	ck_assert_uint_eq(b, 0);
	ck_assert_msg(vt_run("qemu-img check %s", vt_path("uc.vmdk")) == 0, "%s", vt_output());
}
END_TEST

static int open_desc(const char *text, unsigned flags)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	int rc;
	vt_write_file(vt_path("h.vmdk"), text, strlen(text));
	oo.flags = flags;
	rc = vstd_disk_open(&d, vt_path("h.vmdk"), &oo);
	vstd_disk_close(d);
	return rc;
}

START_TEST(hostile_descriptors)
{
	const char *hdr = "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
	                  "createType=\"monolithicFlat\"\n";
	char buf[1024];
	size_t big = (size_t)70000 * 10 + 400;
	char *many;
	vt_write_file(vt_path("inside-flat.vmdk"), "x", 1);
	snprintf(buf, sizeof(buf), "%sRW 8 FLAT \"../etc-passwd\" 0\n", hdr);
	ck_assert_int_eq(open_desc(buf, 0), VSTD_EPERM);
	ck_assert_msg(strstr(vstd_error_last()->message, "../etc-passwd") != NULL, "%s",
	              vstd_error_last()->message);
	snprintf(buf, sizeof(buf), "%sRW 8 FLAT \"/etc/passwd\" 0\n", hdr);
	ck_assert_int_eq(open_desc(buf, 0), VSTD_EPERM);
	/* a symbolic link leading out of the directory */
	ck_assert_int_eq(vt_run("ln -sf /etc/passwd %s", vt_path("link-out")), 0);
	snprintf(buf, sizeof(buf), "%sRW 8 FLAT \"link-out\" 0\n", hdr);
	ck_assert_int_eq(open_desc(buf, 0), VSTD_EPERM);
	/* with the opt-in flag the absolute name is accepted */
	snprintf(buf, sizeof(buf), "%sRW 8 FLAT \"%s\" 0\n", hdr, vt_path("inside-flat.vmdk"));
	ck_assert_int_eq(open_desc(buf, 0), VSTD_EPERM);
	ck_assert_int_eq(open_desc(buf, VSTD_DISK_EXTERNAL_EXTENTS), 0);
	/* a name inside the directory is fine */
	snprintf(buf, sizeof(buf), "%sRW 8 FLAT \"inside-flat.vmdk\" 0\n", hdr);
	ck_assert_int_eq(open_desc(buf, 0), 0);
	/* parent loops: a -> b -> a */
	vt_write_file(vt_path("loop-flat.vmdk"), "", 0);
	{
		const char *a =
		        "# Disk DescriptorFile\nversion=1\nCID=11111111\nparentCID=22222222\n"
		        "createType=\"monolithicFlat\"\nparentFileNameHint=\"loop-b.vmdk\"\n"
		        "RW 8 FLAT \"loop-flat.vmdk\" 0\n";
		const char *b =
		        "# Disk DescriptorFile\nversion=1\nCID=22222222\nparentCID=11111111\n"
		        "createType=\"monolithicFlat\"\nparentFileNameHint=\"loop-a.vmdk\"\n"
		        "RW 8 FLAT \"loop-flat.vmdk\" 0\n";
		vstd_disk *d = NULL;
		vt_write_file(vt_path("loop-a.vmdk"), a, strlen(a));
		vt_write_file(vt_path("loop-b.vmdk"), b, strlen(b));
		ck_assert_int_lt(vstd_disk_open(&d, vt_path("loop-a.vmdk"), NULL), 0);
		ck_assert_msg(strstr(vstd_error_last()->message, "loop") != NULL, "%s",
		              vstd_error_last()->message);
	}
	/* malformed extent lines */
	snprintf(buf, sizeof(buf), "%sRW x FLAT \"inside-flat.vmdk\" 0\n", hdr);
	ck_assert_int_eq(open_desc(buf, 0), VSTD_ECORRUPT);
	snprintf(buf, sizeof(buf), "%sRW 8 FLOP \"inside-flat.vmdk\" 0\n", hdr);
	ck_assert_int_eq(open_desc(buf, 0), VSTD_ENOTSUP);
	snprintf(buf, sizeof(buf), "%s", hdr);
	ck_assert_int_eq(open_desc(buf, 0), VSTD_ECORRUPT);
	/* 70 000 extents: bounded */
	many = malloc(big);
	strcpy(many, hdr);
	{
		size_t at = strlen(many);
		for (int i = 0; i < 70000; i++, at += 10)
			memcpy(many + at, "RW 1 ZERO\n", 10);
		many[at] = '\0';
	}
	ck_assert_int_eq(open_desc(many, 0), VSTD_ELIMIT);
	free(many);
	/* 10^6 extents: the descriptor itself is over the size limit */
	many = malloc((size_t)11 << 20);
	strcpy(many, hdr);
	{
		size_t at = strlen(many);
		for (int i = 0; i < 1000000; i++, at += 10)
			memcpy(many + at, "RW 1 ZERO\n", 10);
		many[at] = '\0';
	}
	ck_assert_int_eq(open_desc(many, 0), VSTD_ELIMIT);
	free(many);
}
END_TEST

/* damaged sparse headers and tables: clean errors, never a crash */
START_TEST(hostile_sparse)
{
	uint8_t *pat = make_pattern(50), *img;
	size_t len;
	FILE *f;
	vstd_disk *d = NULL;
	uint8_t buf[65536];
	write_raw(vt_path("c.raw"), pat);
	ck_assert_int_eq(vt_run("qemu-img convert -f raw -O vmdk %s %s", vt_path("c.raw"),
	                        vt_path("c.vmdk")),
	                 0);
	f = fopen(vt_path("c.vmdk"), "rb");
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	rewind(f);
	img = malloc(len);
	ck_assert_uint_eq(fread(img, 1, len, f), len);
	fclose(f);
	for (int mode = 0; mode < 6; mode++) {
		uint8_t *m = malloc(len);
		vstd_io *io = NULL;
		int rc, rrc = 0;
		memcpy(m, img, len);
		switch (mode) {
		case 0: /* grain directory past EOF */ vstd_put_le64(m + 56, 0x7fffffff); break;
		case 1: /* grain table past EOF */
			vstd_put_le32(m + vstd_le64(m + 56) * 512, 0x7ffffff0);
			break;
		case 2: /* grain past EOF */
			vstd_put_le32(m + vstd_le32(m + vstd_le64(m + 56) * 512) * 512, 0x7ffffff0);
			break;
		case 3: /* grain size 0 */ vstd_put_le64(m + 20, 0); break;
		case 4: /* huge capacity with tiny grains */
			vstd_put_le64(m + 12, (uint64_t)1 << 43);
			vstd_put_le64(m + 20, 1);
			break;
		case 5: /* version 9 */ vstd_put_le32(m + 4, 9); break;
		}
		vt_ok(vstd_io_mem_view(&io, m, len, "hostile.vmdk"));
		rc = vstd_disk_open_io(&d, io, NULL, NULL);
		if (rc == 0) {
			rrc = vstd_disk_read(d, 0, buf, sizeof(buf));
			vstd_disk_close(d);
		}
		ck_assert_msg(rc < 0 || rrc < 0, "mode %d accepted", mode);
		ck_assert_msg(strstr(vstd_error_last()->message, "hostile.vmdk") != NULL, "%s",
		              vstd_error_last()->message);
		vstd_io_close(io);
		free(m);
	}
	free(img);
	free(pat);
}
END_TEST

/* a streamOptimized footer that disagrees with the header */
START_TEST(hostile_footer)
{
	uint8_t *pat = make_pattern(80), *img;
	size_t len;
	FILE *f;
	vstd_io *io = NULL;
	vstd_disk *d = NULL;
	write_raw(vt_path("fo.raw"), pat);
	ck_assert_msg(vt_run("%s img convert -O vmdk -o subformat=streamOptimized %s %s", vt_cli(),
	                     vt_path("fo.raw"), vt_path("fo.vmdk")) == 0,
	              "%s", vt_output());
	f = fopen(vt_path("fo.vmdk"), "rb");
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	rewind(f);
	img = malloc(len);
	ck_assert_uint_eq(fread(img, 1, len, f), len);
	fclose(f);
	ck_assert_uint_eq(vstd_le64(img + 56), UINT64_MAX); /* directory at the end */
	vt_ok(vstd_io_mem_view(&io, img, len, "footer.vmdk"));
	vt_ok(vstd_disk_open_io(&d, io, NULL, NULL));
	vstd_disk_close(d);
	vstd_put_le64(img + len - 1024 + 12, 12345); /* footer capacity */
	ck_assert_int_eq(vstd_disk_open_io(&d, io, NULL, NULL), VSTD_ECORRUPT);
	ck_assert_msg(strstr(vstd_error_last()->message, "disagrees") != NULL, "%s",
	              vstd_error_last()->message);
	vstd_put_le64(img + len - 1024 + 12, vstd_le64(img + 12));
	vstd_put_le32(img + len - 512 + 12, 7); /* end-of-stream marker damaged */
	ck_assert_int_eq(vstd_disk_open_io(&d, io, NULL, NULL), VSTD_ECORRUPT);
	vstd_io_close(io);
	free(img);
	free(pat);
}
END_TEST

/* the corpus: sizes as qemu reports them, contents as qemu reads them */
START_TEST(corpus)
{
	static const struct {
		const char *file;
		uint64_t size;
	} c[] = {
	        {"corpus/disk/vmdk/cot-blank.vmdk", 536870912},
	        {"corpus/disk/vmdk/cot-input.vmdk", 1073741824},
	        {"corpus/disk/vmdk/cot-ubuntu.2.0-disk1.vmdk", 8589934592},
	        {"corpus/disk/vmdk/dfvfs-ext2.vmdk", 4194304},
	        {"corpus/disk/vmdk/qemu-iotest-version3.vmdk.bz2", 17179869184},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char p[512];
		vstd_disk *d = NULL;
		snprintf(p, sizeof(p), "%s",
		         strstr(c[i].file, ".bz2") ? vt_unpack(c[i].file) : vt_shared(c[i].file));
		vt_ok(vstd_disk_open(&d, p, NULL));
		ck_assert_uint_eq(vstd_disk_size(d), c[i].size);
		vstd_disk_close(d);
		/* read through: a raw copy written by vstd equals qemu's view */
		ck_assert_msg(vt_run("%s img convert -O raw %s %s", vt_cli(), p,
		                     vt_path("corp.raw")) == 0,
		              "%s", vt_output());
		ck_assert_msg(vt_run("qemu-img compare -f vmdk -F raw %s %s", p,
		                     vt_path("corp.raw")) == 0,
		              "%s: %s", p, vt_output());
		unlink(vt_path("corp.raw"));
	}
	/* seSparse: compare through a descriptor qemu accepts */
	{
		char se[512];
		vstd_disk *d = NULL;
		snprintf(se, sizeof(se), "%s",
		         vt_unpack("corpus/disk/vmdk/dissect-sesparse.vmdk.gz"));
		FILE *f;
		vt_ok(vstd_disk_open(&d, se, NULL));
		ck_assert_uint_eq(vstd_disk_size(d), 536870912);
		vstd_disk_close(d);
		f = fopen(vt_path("se-desc.vmdk"), "w");
		fprintf(f,
		        "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
		        "createType=\"seSparse\"\n\nRW 1048576 SESPARSE \"%s\"\n",
		        strrchr(se, '/') + 1);
		fclose(f);
		ck_assert_msg(vt_run("%s img convert -O raw %s %s", vt_cli(),
		                     vt_path("se-desc.vmdk"), vt_path("corp.raw")) == 0,
		              "%s", vt_output());
		ck_assert_msg(vt_run("qemu-img compare -f vmdk -F raw %s %s",
		                     vt_path("se-desc.vmdk"), vt_path("corp.raw")) == 0 ||
		                      strstr(vt_output(), "mismatch at offset 536870912") != NULL,
		              "%s", vt_output());
		unlink(vt_path("corp.raw"));
	}
	/* qemu's fuzzed image: refused cleanly */
	{
		vstd_disk *d = NULL;
		ck_assert_int_lt(vstd_disk_open(&d,
		                                vt_unpack("corpus/disk/invalid/qemu-afl9.vmdk.bz2"),
		                                NULL),
		                 0);
	}
}
END_TEST

/* raw device mappings (VMFSRDM, VMFSRAW): the mapped device's contents
 * under the extent's name read as a flat extent; without that file the
 * open fails with ENOTSUP naming the extent type */
START_TEST(rdm_extents)
{
	const char *types[] = {"VMFSRDM", "VMFSRAW"};
	char buf[512];
	uint8_t *dev = malloc(1 << 20), *got = malloc(1 << 20);
	ck_assert_ptr_nonnull(dev);
	ck_assert_ptr_nonnull(got);
	vt_fill_random(dev, 1 << 20, 77);
	vt_write_file(vt_path("lun-rdm.vmdk"), dev, 1 << 20);
	for (int t = 0; t < 2; t++) {
		vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
		vstd_disk *d = NULL;
		snprintf(buf, sizeof(buf),
		         "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
		         "createType=\"%s\"\nRW 2048 %s \"missing-rdm.vmdk\"\n",
		         t ? "vmfsRaw" : "vmfsRawDeviceMap", types[t]);
		ck_assert_int_eq(open_desc(buf, 0), VSTD_ENOTSUP);
		ck_assert_msg(strstr(vstd_error_last()->message, types[t]) != NULL &&
		                      strstr(vstd_error_last()->message, "raw device mapping") !=
		                              NULL,
		              "%s", vstd_error_last()->message);
		snprintf(buf, sizeof(buf),
		         "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
		         "createType=\"%s\"\nRW 2048 %s \"lun-rdm.vmdk\"\n",
		         t ? "vmfsRaw" : "vmfsRawDeviceMap", types[t]);
		vt_write_file(vt_path("rdm.vmdk"), buf, strlen(buf));
		vt_ok(vstd_disk_open(&d, vt_path("rdm.vmdk"), &oo));
		ck_assert_uint_eq(vstd_disk_size(d), 1 << 20);
		vt_ok(vstd_disk_read(d, 0, got, 1 << 20));
		ck_assert(memcmp(got, dev, 1 << 20) == 0);
		vstd_disk_close(d);
	}
	free(dev);
	free(got);
}
END_TEST

/* shrink a monolithicFlat image qemu-img made: qemu-img reads the cut
 * image as the raw cut, vmdkinfo accepts it, the flat file gets smaller;
 * sparse images refuse with ENOTSUP */
START_TEST(shrink_flat)
{
	uint8_t *pat = make_pattern(91);
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	const size_t cut = 1048576 + 512 * 7;
	char img[512], raw[512];
	struct stat st;
	snprintf(img, sizeof(img), "%s", vt_path("sf.vmdk"));
	snprintf(raw, sizeof(raw), "%s", vt_path("sf.raw"));
	write_raw(raw, pat);
	ck_assert_msg(vt_run("qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat %s %s",
	                     raw, img) == 0,
	              "%s", vt_output());
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	vt_ok(vstd_disk_resize(d, cut, VSTD_DISK_RESIZE_SHRINK, NULL));
	ck_assert_uint_eq(vstd_disk_size(d), cut);
	read_all_equal(d, pat, cut);
	vstd_disk_close(d);
	ck_assert_int_eq(stat(vt_path("sf-flat.vmdk"), &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, cut);
	ck_assert_int_eq(truncate(raw, (off_t)cut), 0);
	ck_assert_msg(vt_run("qemu-img compare -f raw -F vmdk %s %s", raw, img) == 0, "%s",
	              vt_output());
	ck_assert_msg(vt_run("vmdkinfo %s", img) == 0, "%s", vt_output());
	/* a streamOptimized image: refused, unchanged (sparse: test_resize.c) */
	ck_assert_msg(vt_run("qemu-img convert -f raw -O vmdk -o subformat=streamOptimized %s %s",
	                     raw, vt_path("ss.vmdk")) == 0,
	              "%s", vt_output());
	vt_ok(vstd_disk_open(&d, vt_path("ss.vmdk"), &oo));
	ck_assert_int_eq(vstd_disk_resize(d, 65536, VSTD_DISK_RESIZE_SHRINK, NULL), VSTD_ENOTSUP);
	vstd_disk_close(d);
	ck_assert_msg(vt_run("qemu-img compare -f raw -F vmdk %s %s", raw, vt_path("ss.vmdk")) == 0,
	              "%s", vt_output());
	free(pat);
}
END_TEST

int main(void)
{
	/* the registry references drivers weakly: pull this one in from the archive */
	static const void *volatile force_link = &vstd_driver_vmdk;
	(void)force_link;
	Suite *s = suite_create("disk/vmdk");
	TCase *tc = tcase_create("vmdk");
	vt_require_tool("qemu-img", "qemu-utils");
	vt_require_tool("qemu-io", "qemu-utils");
	vt_require_tool("vmdkinfo", "libvmdk-utils");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, qemu_to_vstd, 0, 5);
	tcase_add_loop_test(tc, vstd_to_qemu, 0, 5);
	tcase_add_test(tc, stream_rewrite);
	tcase_add_loop_test(tc, resize, 0, 3);
	tcase_add_test(tc, convert_compressed);
	tcase_add_test(tc, vmfs_sparse);
	tcase_add_test(tc, unclean_flag);
	tcase_add_test(tc, parent_chain);
	tcase_add_test(tc, hostile_descriptors);
	tcase_add_test(tc, hostile_sparse);
	tcase_add_test(tc, rdm_extents);
	tcase_add_test(tc, shrink_flat);
	tcase_add_test(tc, hostile_footer);
	tcase_add_test(tc, corpus);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
