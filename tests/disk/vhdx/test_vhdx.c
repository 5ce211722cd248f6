/*
 * tests/disk/vhdx/test_vhdx.c - the VHDX driver against qemu-img and
 * libyal's vhdiinfo both ways, log replay (qemu's dirty image, and qemu
 * replaying a log vstd wrote), differencing disks, trim, resize, the
 * corpus and damaged images.
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

static uint8_t *make_pattern(uint64_t seed)
{
	uint8_t *b = calloc(1, DSIZE);
	ck_assert_ptr_nonnull(b);
	vt_fill_random(b, 300000, seed);
	vt_fill_random(b + 3 * 1048576 + 777, 5000, seed + 1);
	vt_fill_random(b + 8 * 1048576, 65536 * 3, seed + 2);
	vt_fill_random(b + DSIZE - 1000, 1000, seed + 3);
	return b;
}

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

static const char *const qopts[] = {"subformat=dynamic", "subformat=fixed",
                                    "subformat=dynamic,block_size=1M,log_size=2M",
                                    "subformat=dynamic,block_size=64M"};

START_TEST(qemu_to_vstd)
{
	uint8_t *pat = make_pattern(1 + (uint64_t)_i);
	char img[512];
	vstd_disk *d = NULL;
	vt_write_file(vt_path("q.raw"), pat, DSIZE);
	snprintf(img, sizeof(img), "%s", vt_path("q.vhdx"));
	ck_assert_int_eq(vt_run("qemu-img convert -f raw -O vhdx -o %s %s %s", qopts[_i],
	                        vt_path("q.raw"), img),
	                 0);
	vt_ok(vstd_disk_open(&d, img, NULL));
	ck_assert_str_eq(vstd_disk_format(d), "vhdx");
	ck_assert_uint_eq(vstd_disk_size(d), DSIZE);
	read_equal(d, pat, DSIZE);
	vstd_disk_close(d);
	free(pat);
}
END_TEST

START_TEST(vstd_to_qemu)
{
	static const char *const vopts[] = {"subformat=dynamic", "subformat=fixed",
	                                    "subformat=dynamic,block_size=1M,log_size=2M",
	                                    "block_size=2M,logical_sector_size=4096"};
	uint8_t *pat = make_pattern(10 + (uint64_t)_i);
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_block_status st;
	char img[512];
	vstd_disk *d = NULL;
	snprintf(img, sizeof(img), "%s", vt_path("v.vhdx"));
	co.format = "vhdx";
	co.size = DSIZE;
	co.options = vopts[_i];
	vt_ok(vstd_disk_create(img, &co));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	for (size_t off = 0; off < DSIZE;) {
		size_t n = DSIZE - off < 12345 ? DSIZE - off : 12345;
		if (!vstd_is_zero(pat + off, n))
			vt_ok(vstd_disk_write(d, off, pat + off, n));
		off += n;
	}
	vt_ok(vstd_disk_flush(d));
	read_equal(d, pat, DSIZE);
	/* an untouched block of a dynamic image is a hole, not data */
	if (_i >= 2) { /* blocks of 1-2 MiB: [5 MiB, 6 MiB) was never written */
		vt_ok(vstd_disk_block_status(d, 5 * 1048576, 1048576, &st));
		ck_assert_msg((st.flags & VSTD_BLOCK_DATA) == 0,
		              "flags %u len %" PRIu64 " host %" PRIx64, st.flags, st.length,
		              st.host_offset);
	}
	vstd_disk_close(d);
	vt_write_file(vt_path("v.raw"), pat, DSIZE);
	if (_i != 3) { /* qemu 7.2 does not open 4096-byte logical sectors */
		ck_assert_msg(
		        vt_run("qemu-img compare -f vhdx -F raw %s %s", img, vt_path("v.raw")) == 0,
		        "%s", vt_output());
		ck_assert_msg(vt_run("qemu-img check -f vhdx %s", img) == 0, "%s", vt_output());
	}
	ck_assert_int_eq(vt_run("vhdiinfo %s", img), 0);
	ck_assert_msg(strstr(vt_output(), "(12582912 bytes)") != NULL, "%s", vt_output());
	free(pat);
}
END_TEST

/* a log vstd wrote (image copied after a flush, as a crash would leave it)
 * is accepted and replayed by qemu, and by vstd */
START_TEST(own_log_replayed)
{
	uint8_t *pat = make_pattern(20);
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	char img[512];
	vstd_disk *d = NULL;
	snprintf(img, sizeof(img), "%s", vt_path("l.vhdx"));
	co.format = "vhdx";
	co.size = DSIZE;
	co.options = "block_size=1M";
	vt_ok(vstd_disk_create(img, &co));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	vt_ok(vstd_disk_write(d, 0, pat, DSIZE));
	vt_ok(vstd_disk_flush(d));
	ck_assert_int_eq(vt_run("cp %s %s && cp %s %s", img, vt_path("crash-q.vhdx"), img,
	                        vt_path("crash-v.vhdx")),
	                 0);
	vstd_disk_close(d);
	/* the copy has a live log: read-only opens refuse it, as qemu does */
	ck_assert_int_eq(vstd_disk_open(&d, vt_path("crash-v.vhdx"), NULL), VSTD_ESTATE);
	ck_assert_msg(strstr(vstd_error_last()->message, "log") != NULL, "%s",
	              vstd_error_last()->message);
	ck_assert_int_ne(vt_run("qemu-img info %s", vt_path("crash-q.vhdx")), 0);
	ck_assert_msg(vt_run("qemu-img check -r all %s", vt_path("crash-q.vhdx")) == 0, "%s",
	              vt_output());
	vt_write_file(vt_path("l.raw"), pat, DSIZE);
	ck_assert_msg(vt_run("qemu-img compare -f vhdx -F raw %s %s", vt_path("crash-q.vhdx"),
	                     vt_path("l.raw")) == 0,
	              "%s", vt_output());
	/* read-only with NO_REPLAY: replayed in memory, file untouched */
	oo.flags = VSTD_DISK_NO_REPLAY;
	vt_ok(vstd_disk_open(&d, vt_path("crash-v.vhdx"), &oo));
	read_equal(d, pat, DSIZE);
	vstd_disk_close(d);
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, vt_path("crash-v.vhdx"), &oo));
	vstd_disk_close(d);
	vt_ok(vstd_disk_open(&d, vt_path("crash-v.vhdx"), NULL));
	read_equal(d, pat, DSIZE);
	vstd_disk_close(d);
	free(pat);
}
END_TEST

/* qemu's dirty-log test image: replay gives what qemu's replay gives */
START_TEST(dirty_log_corpus)
{
	char orig[512];
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *a = NULL, *b = NULL;
	uint8_t *x = malloc(1 << 20), *y = malloc(1 << 20);
	snprintf(orig, sizeof(orig), "%s",
	         vt_unpack("corpus/disk/vhdx/qemu-iotest-dirtylog-10G-4M.vhdx.bz2"));
	ck_assert_int_eq(vstd_disk_open(&a, orig, NULL), VSTD_ESTATE);
	ck_assert_int_eq(vt_run("cp %s %s && cp %s %s && qemu-img check -r all %s", orig,
	                        vt_path("dq.vhdx"), orig, vt_path("dv.vhdx"), vt_path("dq.vhdx")),
	                 0);
	/* in memory, read-only */
	oo.flags = VSTD_DISK_NO_REPLAY;
	vt_ok(vstd_disk_open(&a, orig, &oo));
	vt_ok(vstd_disk_open(&b, vt_path("dq.vhdx"), NULL));
	ck_assert_uint_eq(vstd_disk_size(a), vstd_disk_size(b));
	for (uint64_t off = 0; off < vstd_disk_size(b);) {
		vstd_block_status st;
		vt_ok(vstd_disk_block_status(b, off, vstd_disk_size(b) - off, &st));
		if (st.flags & VSTD_BLOCK_DATA) {
			for (uint64_t p = off; p < off + st.length; p += 1 << 20) {
				vt_ok(vstd_disk_read(a, p, x, 1 << 20));
				vt_ok(vstd_disk_read(b, p, y, 1 << 20));
				ck_assert_msg(memcmp(x, y, 1 << 20) == 0, "differs at %" PRIu64, p);
			}
		}
		off += st.length;
	}
	vstd_disk_close(a);
	vstd_disk_close(b);
	/* in the file, read-write */
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&a, vt_path("dv.vhdx"), &oo));
	vstd_disk_close(a);
	ck_assert_msg(vt_run("qemu-img check %s && qemu-img compare %s %s", vt_path("dv.vhdx"),
	                     vt_path("dq.vhdx"), vt_path("dv.vhdx")) == 0,
	              "%s", vt_output());
	free(x);
	free(y);
}
END_TEST

/* differencing: vstd makes a child of a qemu-made parent */
START_TEST(differencing)
{
	uint8_t *pat = make_pattern(30), *want = malloc(DSIZE), chunk[5000];
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	char child[512];
	vt_write_file(vt_path("p.raw"), pat, DSIZE);
	ck_assert_int_eq(vt_run("qemu-img convert -f raw -O vhdx -o block_size=1M %s %s",
	                        vt_path("p.raw"), vt_path("parent.vhdx")),
	                 0);
	snprintf(child, sizeof(child), "%s", vt_path("child.avhdx"));
	co.format = "vhdx";
	co.backing_file = "parent.vhdx";
	co.backing_format = "vhdx";
	co.options = "block_size=1M";
	vt_ok(vstd_disk_create(child, &co));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, child, &oo));
	ck_assert_ptr_nonnull(vstd_disk_backing(d));
	memcpy(want, pat, DSIZE);
	vt_fill_random(chunk, sizeof(chunk), 99);
	vt_ok(vstd_disk_write(d, 1048576 - 100, chunk, sizeof(chunk)));
	memcpy(want + 1048576 - 100, chunk, sizeof(chunk));
	vt_ok(vstd_disk_write_zeroes(d, 8 * 1048576, 1048576, 0));
	memset(want + 8 * 1048576, 0, 1048576);
	vt_ok(vstd_disk_flush(d));
	read_equal(d, want, DSIZE);
	vstd_disk_close(d);
	vt_ok(vstd_disk_open(&d, child, NULL));
	read_equal(d, want, DSIZE);
	vstd_disk_close(d);
	ck_assert_int_eq(vt_run("vhdiinfo %s", child), 0);
	ck_assert_msg(strstr(vt_output(), "Differential") != NULL &&
	                      strstr(vt_output(), "Parent filename") != NULL,
	              "%s", vt_output());
	/* libyal's read-through of the chain (FUSE; skipped where it cannot mount) */
	vt_write_file(vt_path("want.raw"), want, DSIZE);
	if (vt_run("mkdir -p %s && timeout 20 vhdimount %s %s", vt_path("mnt"), child,
	           vt_path("mnt")) == 0) {
		/* vhdi1 is the parent, vhdi2 the child read through it */
		int same = vt_run("cmp %s/vhdi2 %s", vt_path("mnt"), vt_path("want.raw"));
		char out[4096];
		snprintf(out, sizeof(out), "%s", vt_output());
		vt_run("umount %s || fusermount -u %s", vt_path("mnt"), vt_path("mnt"));
		ck_assert_msg(same == 0, "vhdimount read-through differs: %s", out);
	} else {
		fprintf(stderr, "note: vhdimount could not mount (%s); read-through not checked\n",
		        vt_output());
	}
	/* the parent changes: the child notices (parent linkage GUID) */
	vt_ok(vstd_disk_open(&d, vt_path("parent.vhdx"), &oo));
	vt_ok(vstd_disk_write(d, 0, chunk, 512));
	vstd_disk_close(d);
	vt_ok(vstd_disk_open(&d, child, NULL));
	ck_assert_int_eq(vstd_disk_read(d, 0, chunk, 512), VSTD_ECORRUPT);
	ck_assert_msg(strstr(vstd_error_last()->message, "parent") != NULL, "%s",
	              vstd_error_last()->message);
	vstd_disk_close(d);
	/* and a missing parent is named */
	unlink(vt_path("parent.vhdx"));
	ck_assert_int_lt(vstd_disk_open(&d, child, NULL), 0);
	ck_assert_msg(strstr(vstd_error_last()->message, "parent.vhdx") != NULL, "%s",
	              vstd_error_last()->message);
	free(want);
	free(pat);
}
END_TEST

START_TEST(trim_zero_resize)
{
	uint8_t *pat = make_pattern(40), buf[4096];
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_block_status st;
	vstd_disk *d = NULL;
	char img[512];
	snprintf(img, sizeof(img), "%s", vt_path("t.vhdx"));
	co.format = "vhdx";
	co.size = DSIZE;
	co.options = "block_size=1M";
	vt_ok(vstd_disk_create(img, &co));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	vt_ok(vstd_disk_write(d, 0, pat, DSIZE));
	vt_ok(vstd_disk_discard(d, 2 * 1048576, 2 * 1048576));
	vt_ok(vstd_disk_write_zeroes(d, 5 * 1048576, 1048576, 0));
	memset(pat + 2 * 1048576, 0, 2 * 1048576);
	memset(pat + 5 * 1048576, 0, 1048576);
	vt_ok(vstd_disk_block_status(d, 2 * 1048576, 1048576, &st));
	ck_assert_uint_eq(st.flags & (VSTD_BLOCK_DATA | VSTD_BLOCK_ALLOCATED), 0);
	vt_ok(vstd_disk_block_status(d, 5 * 1048576, 1048576, &st));
	ck_assert_uint_eq(st.flags, VSTD_BLOCK_ZERO | VSTD_BLOCK_ALLOCATED);
	read_equal(d, pat, DSIZE);
	vt_ok(vstd_disk_resize(d, DSIZE * 2, 0, NULL));
	vt_ok(vstd_disk_write(d, DSIZE * 2 - 4096, pat, 4096));
	vstd_disk_close(d);
	vt_ok(vstd_disk_open(&d, img, NULL));
	ck_assert_uint_eq(vstd_disk_size(d), DSIZE * 2);
	read_equal(d, pat, DSIZE);
	vt_ok(vstd_disk_read(d, DSIZE * 2 - 4096, buf, 4096));
	ck_assert(memcmp(buf, pat, 4096) == 0);
	vstd_disk_close(d);
	ck_assert_msg(vt_run("qemu-img check %s", img) == 0, "%s", vt_output());
	ck_assert_int_eq(vt_run("qemu-img info %s", img), 0);
	ck_assert_msg(strstr(vt_output(), "25165824") != NULL, "%s", vt_output());
	free(pat);
}
END_TEST

/* shrink images qemu-img made (dynamic, fixed) to a size that cuts a block:
 * qemu-img checks them clean and reads what vstd reads; growing again
 * reads zeroes past the cut; the file gets smaller */
START_TEST(shrink)
{
	static const char *const o[] = {"subformat=dynamic,block_size=1M", "subformat=fixed",
	                                "subformat=dynamic"};
	uint8_t *pat = make_pattern(50 + (uint64_t)_i);
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	const size_t cut = 3 * 1048576 + 3 * 512; /* inside the data at 3 MiB + 777 */
	char img[512], raw[512];
	struct stat st0, st1;
	snprintf(img, sizeof(img), "%s", vt_path("s.vhdx"));
	snprintf(raw, sizeof(raw), "%s", vt_path("s.raw"));
	vt_write_file(raw, pat, DSIZE);
	ck_assert_msg(vt_run("qemu-img convert -f raw -O vhdx -o %s %s %s", o[_i], raw, img) == 0,
	              "%s", vt_output());
	ck_assert_int_eq(stat(img, &st0), 0);
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	ck_assert_int_eq(vstd_disk_resize(d, cut, 0, NULL), VSTD_EPERM); /* needs SHRINK */
	vt_ok(vstd_disk_resize(d, cut, VSTD_DISK_RESIZE_SHRINK, NULL));
	ck_assert_uint_eq(vstd_disk_size(d), cut);
	read_equal(d, pat, cut);
	vstd_disk_close(d);
	ck_assert_int_eq(stat(img, &st1), 0);
	ck_assert_msg(st1.st_size < st0.st_size, "%lld !< %lld", (long long)st1.st_size,
	              (long long)st0.st_size);
	ck_assert_msg(vt_run("qemu-img check %s", img) == 0, "%s", vt_output());
	ck_assert_int_eq(truncate(raw, (off_t)cut), 0);
	ck_assert_msg(vt_run("qemu-img compare -f raw -F vhdx %s %s", raw, img) == 0, "%s",
	              vt_output());
	/* grow back: the cut part reads as zeroes, in vstd and qemu-img */
	vt_ok(vstd_disk_open(&d, img, &oo));
	vt_ok(vstd_disk_resize(d, DSIZE, 0, NULL));
	vstd_disk_close(d);
	memset(pat + cut, 0, DSIZE - cut);
	vt_ok(vstd_disk_open(&d, img, NULL));
	read_equal(d, pat, DSIZE);
	vstd_disk_close(d);
	ck_assert_msg(vt_run("qemu-img check %s", img) == 0, "%s", vt_output());
	ck_assert_int_eq(truncate(raw, (off_t)DSIZE), 0);
	ck_assert_msg(vt_run("qemu-img compare -f raw -F vhdx %s %s", raw, img) == 0, "%s",
	              vt_output());
	free(pat);
}
END_TEST

START_TEST(corpus)
{
	static const struct {
		const char *file;
		uint64_t size;
	} c[] = {
	        {"corpus/disk/vhdx/dissect-dynamic.vhdx.gz", 10485760},
	        {"corpus/disk/vhdx/dissect-fixed.vhdx.gz", 10485760},
	        {"corpus/disk/vhdx/qemu-iotest-dynamic-1G.vhdx.bz2", 1073741824},
	        {"corpus/disk/vhdx/qemu-test-disk2vhd.vhdx.bz2", 268435456},
	};
	vstd_disk *d = NULL;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char p[512];
		snprintf(p, sizeof(p), "%s", vt_unpack(c[i].file));
		vt_ok(vstd_disk_open(&d, p, NULL));
		ck_assert_uint_eq(vstd_disk_size(d), c[i].size);
		vstd_disk_close(d);
		ck_assert_msg(
		        vt_run("%s img convert -O raw %s %s", vt_cli(), p, vt_path("c.raw")) == 0,
		        "%s", vt_output());
		ck_assert_msg(
		        vt_run("qemu-img compare -f vhdx -F raw %s %s", p, vt_path("c.raw")) == 0,
		        "%s: %s", p, vt_output());
		unlink(vt_path("c.raw"));
		unlink(p);
	}
	/* the AVHDX checkpoint: its parent is not in the corpus, and is named */
	{
		char p[512];
		snprintf(p, sizeof(p), "%s",
		         vt_unpack("corpus/disk/vhdx/dissect-differencing.avhdx.gz"));
		ck_assert_int_lt(vstd_disk_open(&d, p, NULL), 0);
		ck_assert_msg(strstr(vstd_error_last()->message, "Generation 1_49C4BAF3") != NULL,
		              "%s", vstd_error_last()->message);
		vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
		oo.flags = VSTD_DISK_NO_BACKING;
		vt_ok(vstd_disk_open(&d, p, &oo));
		ck_assert_uint_eq(vstd_disk_size(d), 8589934592ull);
		vstd_disk_close(d);
		unlink(p);
	}
}
END_TEST

/* damaged images, in memory */
START_TEST(hostile)
{
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	uint8_t *img, *pat = make_pattern(50);
	size_t len;
	FILE *f;
	vstd_disk *d = NULL;
	co.format = "vhdx";
	co.size = 4 << 20;
	co.options = "block_size=1M";
	vt_ok(vstd_disk_create(vt_path("h.vhdx"), &co));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, vt_path("h.vhdx"), &oo));
	vt_ok(vstd_disk_write(d, 0, pat, 3 << 20));
	vstd_disk_close(d);
	f = fopen(vt_path("h.vhdx"), "rb");
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	rewind(f);
	img = malloc(len);
	ck_assert_uint_eq(fread(img, 1, len, f), len);
	fclose(f);
	for (int mode = 0; mode < 7; mode++) {
		uint8_t *m = malloc(len);
		vstd_io *io = NULL;
		uint64_t bat = 3 << 20; /* 1 MiB header area + 1 MiB log + 1 MiB metadata */
		int rc, rrc = 0, expect_ok = 0;
		vstd_disk_check_result cr;
		memcpy(m, img, len);
		switch (mode) {
		case 0: /* both headers broken */
			m[0x10000 + 100] ^= 1;
			m[0x20000 + 100] ^= 1;
			break;
		case 1: /* one header broken: the other one is used */
			m[0x20000 + 100] ^= 1;
			expect_ok = 1;
			break;
		case 2: /* both region tables broken */
			m[0x30000 + 20] ^= 1;
			m[0x40000 + 20] ^= 1;
			break;
		case 3: /* a block past the end of the file */
			vstd_put_le64(m + bat, ((uint64_t)100000 << 20) | 6);
			break;
		case 4: /* overlapping blocks: found by check */
			vstd_put_le64(m + bat + 8, vstd_le64(m + bat));
			expect_ok = 2;
			break;
		case 5: /* block size not a power of two */
			vstd_put_le32(m + (2 << 20) + 65536, 3 << 20);
			break;
		case 6: /* BAT overlapping the metadata region (region table rewritten) */
			vstd_put_le64(m + 0x30000 + 32, 2 << 20);
			vstd_put_le32(m + 0x30000 + 4, vhdx_crc32c_skip(m + 0x30000, 65536, 4));
			memcpy(m + 0x40000, m + 0x30000, 65536);
			break;
		}
		vt_ok(vstd_io_mem_view(&io, m, len, "hostile.vhdx"));
		rc = vstd_disk_open_io(&d, io, NULL, NULL);
		if (rc == 0) {
			uint8_t buf[4096];
			rrc = vstd_disk_read(d, 0, buf, sizeof(buf));
			memset(&cr, 0, sizeof(cr));
			vt_ok(vstd_disk_check(d, 0, &cr));
			if (expect_ok == 2)
				ck_assert_msg(cr.corruptions > 0, "overlap not found");
			vstd_disk_check_result_clear(&cr);
			vstd_disk_close(d);
		}
		if (expect_ok)
			ck_assert_msg(rc == 0 && rrc == 0, "mode %d: %s", mode,
			              vstd_error_last()->message);
		else
			ck_assert_msg(rc < 0 && strstr(vstd_error_last()->message, "hostile.vhdx"),
			              "mode %d accepted or unnamed: %s", mode,
			              vstd_error_last()->message);
		vstd_io_close(io);
		free(m);
	}
	free(img);
	free(pat);
}
END_TEST

/* a log entry that writes into the first MiB is refused, never applied */
START_TEST(hostile_log)
{
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	uint8_t *pat = make_pattern(60), *m;
	const void *data;
	size_t len;
	vstd_io *fio = NULL, *mio = NULL;
	vstd_disk *d = NULL;
	FILE *f;
	co.format = "vhdx";
	co.size = 4 << 20;
	co.options = "block_size=1M";
	vt_ok(vstd_disk_create(vt_path("hl.vhdx"), &co));
	f = fopen(vt_path("hl.vhdx"), "rb");
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	rewind(f);
	m = malloc(len);
	ck_assert_uint_eq(fread(m, 1, len, f), len);
	fclose(f);
	vt_ok(vstd_io_mem_new(&mio, m, len, 0, VSTD_IO_WRITE));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open_io(&d, mio, "hl-mem.vhdx", &oo));
	vt_ok(vstd_disk_write(d, 0, pat, 1 << 20));
	vt_ok(vstd_disk_flush(d)); /* the log now holds an entry */
	vt_ok(vstd_io_mem_contents(mio, &data, &len));
	free(m);
	m = malloc(len);
	memcpy(m, data, len);
	vstd_disk_close(d);
	vstd_io_close(mio);
	{
		uint8_t *e = m + (1 << 20); /* the first entry */
		uint32_t elen = vstd_le32(e + 8);
		ck_assert_uint_eq(vstd_le32(e), VHDX_SIG_LOGE);
		vstd_put_le64(e + 64 + 16, 0x10000); /* over header 1 */
		vstd_put_le32(e + 4, vhdx_crc32c_skip(e, elen, 4));
	}
	vt_write_file(vt_path("hl2.vhdx"), m, len);
	vt_ok(vstd_io_file_open(&fio, vt_path("hl2.vhdx"), VSTD_IO_WRITE));
	ck_assert_int_eq(vstd_disk_open_io(&d, fio, "hl2.vhdx", &oo), VSTD_ECORRUPT);
	ck_assert_msg(strstr(vstd_error_last()->message, "outside the file") != NULL, "%s",
	              vstd_error_last()->message);
	vstd_io_close(fio);
	free(m);
	free(pat);
}
END_TEST

/* Crash at every write of an allocate-write-flush sequence: after replay the
 * image opens, checks clean, and every block reads all old or all new. */
static void write_flush_op(vstd_disk *d, void *arg)
{
	const uint8_t *pat = arg;
	if (vstd_disk_write(d, 0, pat, 1536 * 1024) == 0 &&
	    vstd_disk_write(d, 3 << 20, pat, 4096) == 0)
		(void)vstd_disk_flush(d);
}

static int crash_run(const uint8_t *base, size_t len, unsigned long crash_at, const uint8_t *pat,
                     unsigned long *writes, uint8_t **after, size_t *after_len)
{
	struct vt_crash c;
	(void)vt_crash_run(base, len, NULL, "crash.vhdx", crash_at, 0, write_flush_op,
	                   (void *)(uintptr_t)pat, &c);
	*writes = c.writes;
	*after = c.after;
	*after_len = c.after_len;
	return c.crashed;
}

START_TEST(crash_consistency)
{
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	uint8_t *pat = make_pattern(90), *base, *after, *zero = calloc(1, 1 << 20),
	        *buf = malloc(1 << 20);
	size_t len, alen;
	unsigned long total = 0, w;
	FILE *f;
	co.format = "vhdx";
	co.size = 4 << 20;
	co.options = "block_size=1M";
	vt_ok(vstd_disk_create(vt_path("cr.vhdx"), &co));
	f = fopen(vt_path("cr.vhdx"), "rb");
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	rewind(f);
	base = malloc(len);
	ck_assert_uint_eq(fread(base, 1, len, f), len);
	fclose(f);
	crash_run(base, len, 0, pat, &total, &after, &alen);
	free(after);
	ck_assert_uint_gt(total, 5);
	for (unsigned long k = 1; k <= total; k++) {
		vstd_io *io = NULL;
		vstd_disk *d = NULL;
		vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
		vstd_disk_check_result cr;
		crash_run(base, len, k, pat, &w, &after, &alen);
		vt_ok(vstd_io_mem_new(&io, after, alen, 0, VSTD_IO_WRITE));
		oo.flags = VSTD_DISK_RDWR;
		ck_assert_msg(vstd_disk_open_io(&d, io, "after-crash.vhdx", &oo) == 0,
		              "crash at write %lu: %s", k, vstd_error_last()->message);
		memset(&cr, 0, sizeof(cr));
		vt_ok(vstd_disk_check(d, 0, &cr));
		ck_assert_uint_eq(cr.corruptions, 0);
		vstd_disk_check_result_clear(&cr);
		for (int b = 0; b < 4; b++) {
			const uint8_t *want = b == 0 ? pat : b == 1 ? pat + (1 << 20) : NULL;
			size_t wl = b == 1 ? 512 * 1024 : b == 3 ? 4096 : 1 << 20;
			vt_ok(vstd_disk_read(d, (uint64_t)b << 20, buf, 1 << 20));
			if (memcmp(buf, zero, 1 << 20) == 0)
				continue; /* old */
			ck_assert_msg(b != 2, "crash at write %lu: block 2 was never written", k);
			if (b == 3)
				want = pat;
			ck_assert_msg(memcmp(buf, want, wl) == 0 &&
			                      memcmp(buf + wl, zero, (1 << 20) - wl) == 0,
			              "crash at write %lu: block %d is neither old nor new", k, b);
		}
		vstd_disk_close(d);
		vstd_io_close(io);
		free(after);
	}
	free(base);
	free(buf);
	free(zero);
	free(pat);
}
END_TEST

int main(void)
{
	static const void *volatile force_link = &vstd_driver_vhdx;
	Suite *s = suite_create("disk/vhdx");
	TCase *tc = tcase_create("vhdx");
	(void)force_link;
	vt_require_tool("qemu-img", "qemu-utils");
	vt_require_tool("vhdiinfo", "libvhdi-utils");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, qemu_to_vstd, 0, 4);
	tcase_add_loop_test(tc, vstd_to_qemu, 0, 4);
	tcase_add_test(tc, own_log_replayed);
	tcase_add_test(tc, dirty_log_corpus);
	tcase_add_test(tc, differencing);
	tcase_add_test(tc, trim_zero_resize);
	tcase_add_loop_test(tc, shrink, 0, 3);
	tcase_add_test(tc, corpus);
	tcase_add_test(tc, hostile);
	tcase_add_test(tc, hostile_log);
	tcase_add_test(tc, crash_consistency);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
