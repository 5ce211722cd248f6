/*
 * tests/disk/test_convert.c - the convert engine (lib/disk/convert.c):
 * contents, sparseness, zero handling, -n, cancellation, failure injection
 * on the target's I/O (no file left behind), the allocation-failure loop,
 * and the interoperability check against qemu-img.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vtest.h"
#include "core/bytes.h"
#include "disk/disk_internal.h"
#include "disk/ops_internal.h"

#define MIB ((uint64_t)1 << 20)

/* A raw source of `size` bytes: random data in some places, explicit zero
 * data in others, holes elsewhere. */
static void make_source(const char *path, uint64_t size)
{
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	static const uint64_t offs[] = {0, 5000, 3 * MIB + 17, 7 * MIB, 9 * MIB - 3};
	uint8_t *buf = malloc(MIB);
	co.format = "raw";
	co.size = size;
	vt_ok(vstd_disk_create(path, &co));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, path, &oo));
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		size_t n = 300000;
		if (offs[i] >= size)
			continue;
		if (offs[i] + n > size)
			n = (size_t)(size - offs[i]);
		vt_fill_random(buf, n, i + 1);
		vt_ok(vstd_disk_write(d, offs[i], buf, n));
	}
	/* explicit zero data (not a hole) */
	memset(buf, 0, MIB);
	if (size > 6 * MIB)
		vt_ok(vstd_disk_write(d, 5 * MIB, buf, MIB));
	vt_ok(vstd_disk_flush(d));
	vstd_disk_close(d);
	free(buf);
}

static vstd_disk *open_ro(const char *path)
{
	vstd_disk *d = NULL;
	vt_ok(vstd_disk_open(&d, path, NULL));
	return d;
}

static void assert_same(const char *a, const char *b)
{
	vstd_disk *da = open_ro(a), *db = open_ro(b);
	vstd_disk_compare_result r;
	vt_ok(vstd_disk_compare(da, db, VSTD_COMPARE_STRICT, NULL, NULL, &r));
	ck_assert_msg(r.identical, "%s and %s differ at %llu", a, b,
	              (unsigned long long)r.first_difference);
	vstd_disk_close(da);
	vstd_disk_close(db);
}

/* Same guest contents and size (allocation may differ: another format). */
static void assert_same_content(const char *a, const char *b)
{
	vstd_disk *da = open_ro(a), *db = open_ro(b);
	vstd_disk_compare_result r;
	vt_ok(vstd_disk_compare(da, db, 0, NULL, NULL, &r));
	ck_assert_msg(r.identical, "%s and %s differ at %llu", a, b,
	              (unsigned long long)r.first_difference);
	ck_assert_uint_eq(vstd_disk_size(da), vstd_disk_size(db));
	vstd_disk_close(da);
	vstd_disk_close(db);
}

static uint64_t allocated(const char *path)
{
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

START_TEST(convert_raw_contents_and_sparseness)
{
	static const uint64_t sizes[] = {10 * MIB + 123, 1, 512, 2 * MIB, 2 * MIB + 1, 4095};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		vstd_disk *src;
		vstd_disk_convert_opts o = VSTD_DISK_CONVERT_OPTS_INIT;
		struct stat st;
		make_source(vt_path("src.raw"), sizes[i]);
		src = open_ro(vt_path("src.raw"));
		o.format = "raw";
		vt_ok(vstd_disk_convert(src, vt_path("dst.raw"), &o));
		vstd_disk_close(src);
		ck_assert_int_eq(stat(vt_path("dst.raw"), &st), 0);
		ck_assert_uint_eq((uint64_t)st.st_size, sizes[i]);
		assert_same(vt_path("src.raw"), vt_path("dst.raw"));
		ck_assert_int_eq(vt_run("cmp '%s' '%s'", vt_path("src.raw"), vt_path("dst.raw")),
		                 0);
		/* the explicit zero MiB became a hole */
		if (sizes[i] > 6 * MIB)
			ck_assert_uint_lt(allocated(vt_path("dst.raw")),
			                  allocated(vt_path("src.raw")));
		unlink(vt_path("dst.raw"));
	}
}
END_TEST

static int count_progress(uint64_t done, uint64_t total, void *opaque)
{
	uint64_t *calls = opaque;
	ck_assert_uint_le(done, total);
	calls[0]++;
	calls[1] = done;
	return 0;
}

START_TEST(convert_options)
{
	vstd_disk_convert_opts o = VSTD_DISK_CONVERT_OPTS_INIT;
	vstd_disk *src;
	uint64_t calls[2] = {0, 0};
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	make_source(vt_path("src.raw"), 10 * MIB);
	src = open_ro(vt_path("src.raw"));
	/* -S 0: every byte written, nothing sparse */
	o.flags = VSTD_CONVERT_NO_ZERO_DETECT;
	o.progress = count_progress;
	o.progress_opaque = calls;
	vt_ok(vstd_disk_convert(src, vt_path("full.raw"), &o));
	ck_assert_uint_ge(allocated(vt_path("full.raw")), 10 * MIB);
	ck_assert_uint_gt(calls[0], 0);
	ck_assert_uint_eq(calls[1], 10 * MIB);
	assert_same(vt_path("src.raw"), vt_path("full.raw"));
	/* -n into an existing target full of junk: zeroes are written */
	o = (vstd_disk_convert_opts)VSTD_DISK_CONVERT_OPTS_INIT;
	o.flags = VSTD_CONVERT_NO_CREATE;
	o.parallel = 1;
	o.sparse_size = 65536;
	ck_assert_int_eq(vt_run("head -c %llu /dev/urandom > '%s'", (unsigned long long)(11 * MIB),
	                        vt_path("junk.raw")),
	                 0);
	vt_ok(vstd_disk_convert(src, vt_path("junk.raw"), &o));
	{
		vstd_disk *a = open_ro(vt_path("src.raw")), *b = open_ro(vt_path("junk.raw"));
		vstd_disk_compare_result r;
		vt_ok(vstd_disk_compare(a, b, 0, NULL, NULL, &r));
		ck_assert_int_eq(r.identical, 0); /* the extra MiB is junk */
		ck_assert_uint_ge(r.first_difference, 10 * MIB);
		vstd_disk_close(a);
		vstd_disk_close(b);
	}
	/* -n into a smaller target fails and leaves it alone */
	co.format = "raw";
	co.size = MIB;
	vt_ok(vstd_disk_create(vt_path("small.raw"), &co));
	ck_assert_int_eq(vstd_disk_convert(src, vt_path("small.raw"), &o), VSTD_ERANGE);
	ck_assert_int_eq(access(vt_path("small.raw"), F_OK), 0);
	/* -c to raw: not supported, and no file left */
	o = (vstd_disk_convert_opts)VSTD_DISK_CONVERT_OPTS_INIT;
	o.flags = VSTD_CONVERT_COMPRESS;
	ck_assert_int_eq(vstd_disk_convert(src, vt_path("c.raw"), &o), VSTD_ENOTSUP);
	ck_assert_int_ne(access(vt_path("c.raw"), F_OK), 0);
	/* bad sparse size, unknown format, version */
	o = (vstd_disk_convert_opts)VSTD_DISK_CONVERT_OPTS_INIT;
	o.sparse_size = 100;
	ck_assert_int_eq(vstd_disk_convert(src, vt_path("s.raw"), &o), VSTD_EINVAL);
	ck_assert_int_ne(access(vt_path("s.raw"), F_OK), 0);
	o.sparse_size = 0;
	o.format = "nosuch";
	ck_assert_int_eq(vstd_disk_convert(src, vt_path("s.raw"), &o), VSTD_ENOTSUP);
	o.format = NULL;
	o.version = 99;
	ck_assert_int_eq(vstd_disk_convert(src, vt_path("s.raw"), &o), VSTD_EINVAL);
	ck_assert_int_ne(access(vt_path("s.raw"), F_OK), 0);
	vstd_disk_close(src);
}
END_TEST

static int cancel_at_half(uint64_t done, uint64_t total, void *opaque)
{
	return done >= total / 2;
}

START_TEST(convert_cancel_removes_target)
{
	vstd_disk_convert_opts o = VSTD_DISK_CONVERT_OPTS_INIT;
	vstd_disk *src;
	make_source(vt_path("src.raw"), 10 * MIB);
	src = open_ro(vt_path("src.raw"));
	o.progress = cancel_at_half;
	o.flags = VSTD_CONVERT_NO_ZERO_DETECT;
	ck_assert_int_eq(vstd_disk_convert(src, vt_path("cancel.raw"), &o), VSTD_ECANCELED);
	ck_assert_int_ne(access(vt_path("cancel.raw"), F_OK), 0);
	vstd_disk_close(src);
}
END_TEST

/* ---- failure injection on the target's I/O */

struct fault_hook {
	unsigned long fail_at;
	unsigned count_ops;
	vstd_io_fault_stats stats;
};

static int wrap_fault(vstd_io **io, void *opaque)
{
	struct fault_hook *h = opaque;
	vstd_io_fault_opts fo = VSTD_IO_FAULT_OPTS_INIT;
	vstd_io *w = NULL;
	int rc;
	fo.count_ops = h->count_ops;
	fo.fail_at = h->fail_at;
	if ((rc = vstd_io_fault_new(&w, *io, &fo)) < 0)
		return rc;
	*io = w;
	return 0;
}

static void unwrap_fault(vstd_io *w, void *opaque)
{
	struct fault_hook *h = opaque;
	vstd_io_fault_get_stats(w, &h->stats);
	vstd_io_close(w);
}

/* raw: several writer threads; qcow2: one writer whose data writes run on
 * the write-behind workers (lib/disk/writebehind.c), failing there. */
static const char *const fault_formats[] = {"raw", "qcow2"};

START_TEST(convert_fails_at_every_write)
{
	const char *fmt = fault_formats[_i];
	static const unsigned masks[] = {
	        VSTD_IO_OP_WRITE | VSTD_IO_OP_ZEROES | VSTD_IO_OP_TRUNCATE,
	        VSTD_IO_OP_FLUSH,
	        VSTD_IO_OP_EXTENT | VSTD_IO_OP_SIZE | VSTD_IO_OP_READ,
	};
	vstd_disk *src;
	make_source(vt_path("src.raw"), 10 * MIB + 512);
	src = open_ro(vt_path("src.raw"));
	for (size_t m = 0; m < sizeof(masks) / sizeof(masks[0]); m++) {
		unsigned long n, failures = 0;
		for (n = 1; n < 1000; n++) {
			struct fault_hook h = {n, masks[m], {0}};
			struct vstd_convert_io_hook hook = {wrap_fault, unwrap_fault, &h};
			vstd_disk_convert_opts o = VSTD_DISK_CONVERT_OPTS_INIT;
			int rc;
			o.parallel = 3;
			o.format = fmt;
			o.flags = masks[m] == VSTD_IO_OP_FLUSH ? 0 : VSTD_CONVERT_NO_FLUSH;
			rc = vstd_disk_convert_hooked(src, vt_path("f.img"), &o, &hook);
			if (h.stats.failed == 0) {
				ck_assert_msg(rc == 0,
				              "convert failed without an injected fault: %s",
				              vstd_error_last()->message);
				break;
			}
			failures++;
			ck_assert_msg(rc < 0, "%s: op %lu of mask %#x failed but convert succeeded",
			              fmt, n, masks[m]);
			ck_assert_int_eq(vstd_error_last()->code, rc);
			ck_assert_msg(
			        access(vt_path("f.img"), F_OK) != 0,
			        "%s: a failed convert (fault at op %lu) left the target behind",
			        fmt, n);
		}
		ck_assert_uint_lt(n, 1000);
		ck_assert_msg(failures > 0, "mask %#x: no operation was ever failed", masks[m]);
		if (strcmp(fmt, "raw") == 0)
			assert_same(vt_path("src.raw"), vt_path("f.img"));
		else
			assert_same_content(vt_path("src.raw"), vt_path("f.img"));
		unlink(vt_path("f.img"));
	}
	vstd_disk_close(src);
}
END_TEST

/* ---- allocation failures: open + info + convert */

static int open_info_convert(const char *src_path, const char *dst_path)
{
	vstd_disk_convert_opts o = VSTD_DISK_CONVERT_OPTS_INIT;
	vstd_disk *d = NULL;
	vstd_disk_info *info = NULL;
	int rc = vstd_disk_open(&d, src_path, NULL);
	if (rc < 0)
		return rc;
	if ((rc = vstd_disk_info_get(d, &info)) == 0) {
		o.parallel = 2;
		rc = vstd_disk_convert(d, dst_path, &o);
	}
	vstd_disk_info_free(info);
	vstd_disk_close(d);
	return rc;
}

START_TEST(convert_allocation_failures)
{
	unsigned long n;
	make_source(vt_path("src.raw"), 3 * MIB + 7);
	for (n = 1; n < 5000; n++) {
		int rc;
		unsigned long count;
		vstd_alloc_fail_nth(n);
		rc = open_info_convert(vt_path("src.raw"), vt_path("a.raw"));
		count = vstd_alloc_fail_nth(0);
		if (count < n) {
			ck_assert_msg(rc == 0, "convert failed without an injected failure: %s",
			              vstd_error_last()->message);
			break;
		}
		ck_assert_msg(rc == VSTD_ENOMEM || rc == VSTD_ELIMIT,
		              "allocation %lu: expected VSTD_ENOMEM, got %d (%s)", n, rc,
		              vstd_error_last()->message);
		ck_assert_msg(access(vt_path("a.raw"), F_OK) != 0,
		              "allocation %lu: a failed convert left its target (%s)", n,
		              vstd_error_last()->message);
	}
	ck_assert_uint_lt(n, 5000);
	ck_assert_uint_gt(n, 3);
	assert_same(vt_path("src.raw"), vt_path("a.raw"));
}
END_TEST

/* A raw source is read through a mapping of its file (convert.c); a file
 * that shrank after the disk was opened must read as zeroes past its new
 * end, as pread gives them, for a raw and a qcow2 target alike. */
START_TEST(convert_source_file_shrank)
{
	static const char *const fmts[] = {"raw", "qcow2"};
	const uint64_t size = 10 * MIB + 1536, cut = 3 * MIB + 100;
	make_source(vt_path("src.raw"), size);
	ck_assert_int_eq(vt_run("cp '%s' '%s' && truncate -s %llu '%s' && truncate -s %llu '%s'",
	                        vt_path("src.raw"), vt_path("want.raw"), (unsigned long long)cut,
	                        vt_path("want.raw"), (unsigned long long)size, vt_path("want.raw")),
	                 0);
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		vstd_disk_convert_opts o = VSTD_DISK_CONVERT_OPTS_INIT;
		vstd_disk *src = open_ro(vt_path("src.raw"));
		ck_assert_int_eq(truncate(vt_path("src.raw"), (off_t)cut), 0);
		o.format = fmts[i];
		vt_ok(vstd_disk_convert(src, vt_path("dst.img"), &o));
		vstd_disk_close(src);
		assert_same_content(vt_path("want.raw"), vt_path("dst.img"));
		unlink(vt_path("dst.img"));
		make_source(vt_path("src.raw"), size);
	}
}
END_TEST

/* vdi, vhdx and vhd sources made by qemu-img are read through a mapping of
 * their file at the offsets their block status gives (convert.c): every
 * target must hold the same contents. */
static const char *const mapped_formats[] = {"vdi", "vhdx", "vpc"};

START_TEST(convert_mapped_format_sources)
{
	const char *fmt = mapped_formats[_i];
	static const char *const targets[] = {"raw", "qcow2", "vdi"};
	make_source(vt_path("src.raw"), 10 * MIB + 512);
	ck_assert_int_eq(vt_run("qemu-img convert -f raw -O %s '%s' '%s'", fmt, vt_path("src.raw"),
	                        vt_path("src.img")),
	                 0);
	for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
		vstd_disk_convert_opts o = VSTD_DISK_CONVERT_OPTS_INIT;
		vstd_disk *src = open_ro(vt_path("src.img"));
		vstd_disk *a, *b;
		vstd_disk_compare_result r;
		o.format = targets[t];
		vt_ok(vstd_disk_convert(src, vt_path("dst.img"), &o));
		vstd_disk_close(src);
		/* the source's size may be rounded up (vhd geometry): compare
		 * the original's bytes */
		a = open_ro(vt_path("src.raw"));
		b = open_ro(vt_path("dst.img"));
		vt_ok(vstd_disk_compare(a, b, 0, NULL, NULL, &r));
		ck_assert_msg(r.identical, "%s -> %s differs at %llu", fmt, targets[t],
		              (unsigned long long)r.first_difference);
		vstd_disk_close(a);
		vstd_disk_close(b);
		ck_assert_int_eq(vt_run("qemu-img compare -q -f %s -F %s '%s' '%s'", fmt,
		                        targets[t], vt_path("src.img"), vt_path("dst.img")),
		                 0);
		unlink(vt_path("dst.img"));
	}
}
END_TEST

START_TEST(interop_qemu_img)
{
	vstd_disk_convert_opts o = VSTD_DISK_CONVERT_OPTS_INIT;
	vstd_disk *src;
	make_source(vt_path("src.raw"), 10 * MIB + 1);
	src = open_ro(vt_path("src.raw"));
	vt_ok(vstd_disk_convert(src, vt_path("v.raw"), &o));
	vstd_disk_close(src);
	ck_assert_int_eq(vt_run("qemu-img compare -f raw -F raw '%s' '%s'", vt_path("src.raw"),
	                        vt_path("v.raw")),
	                 0);
	ck_assert_int_eq(vt_run("qemu-img convert -f raw -O raw '%s' '%s'", vt_path("src.raw"),
	                        vt_path("q.raw")),
	                 0);
	/* qemu rounds a raw target up to whole sectors: compare non-strictly */
	{
		vstd_disk *a = open_ro(vt_path("q.raw")), *b = open_ro(vt_path("v.raw"));
		vstd_disk_compare_result r;
		vt_ok(vstd_disk_compare(a, b, 0, NULL, NULL, &r));
		ck_assert(r.identical);
		vstd_disk_close(a);
		vstd_disk_close(b);
	}
}
END_TEST

/* ---- parallel readers: each on its own reopen of the source chain */

static void write_pattern(const char *path, const char *fmt, const uint64_t *offs, size_t n,
                          size_t len, uint64_t seed)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	uint8_t *buf = malloc(len);
	oo.format = fmt;
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, path, &oo));
	for (size_t i = 0; i < n; i++) {
		vt_fill_random(buf, len, seed + i);
		vt_ok(vstd_disk_write(d, offs[i], buf, len));
	}
	vt_ok(vstd_disk_flush(d));
	vstd_disk_close(d);
	free(buf);
}

/* A qcow2 chain: compressed base made by qemu-img, a top with writes
 * across the 2 MiB request boundaries. */
static void make_chain(void)
{
	static const uint64_t offs[] = {2 * MIB - 700, 4 * MIB - 1, 6 * MIB + 4096, 9 * MIB};
	make_source(vt_path("base.raw"), 12 * MIB);
	ck_assert_int_eq(vt_run("qemu-img convert -c -f raw -O qcow2 '%s' '%s' && "
	                        "qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 '%s'",
	                        vt_path("base.raw"), vt_path("base.qcow2"), vt_path("top.qcow2")),
	                 0);
	write_pattern(vt_path("top.qcow2"), "qcow2", offs, 4, 300000, 50);
}

START_TEST(convert_parallel_readers)
{
	static const unsigned readers[] = {1, 2, 4};
	static const unsigned slots[] = {2, 3, 8};
	make_chain();
	ck_assert_int_eq(vt_run("qemu-img convert -f qcow2 -O raw '%s' '%s'", vt_path("top.qcow2"),
	                        vt_path("want.raw")),
	                 0);
	for (size_t i = 0; i < 3; i++) {
		for (size_t j = 0; j < 3; j++) {
			vstd_disk_convert_opts o = VSTD_DISK_CONVERT_OPTS_INIT;
			vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
			vstd_disk *src = NULL;
			/* a source open for writing is never reopened: one
			 * reader on it, same result */
			oo.flags = j == 2 ? VSTD_DISK_RDWR : 0;
			vt_ok(vstd_disk_open(&src, vt_path("top.qcow2"), &oo));
			vstd_convert_readers_override = readers[i];
			/* several writers on a raw target too (the engine
			 * picks them for block devices and O_DIRECT only) */
			vstd_convert_writers_override = readers[i];
			o.parallel = slots[j];
			o.format = j == 1 ? "qcow2" : "raw";
			vt_ok(vstd_disk_convert(src, vt_path("out.img"), &o));
			vstd_convert_readers_override = 0;
			vstd_convert_writers_override = 0;
			vstd_disk_close(src);
			assert_same_content(vt_path("want.raw"), vt_path("out.img"));
			ck_assert_int_eq(vt_run("qemu-img compare -q -f qcow2 -F %s '%s' '%s'",
			                        o.format, vt_path("top.qcow2"), vt_path("out.img")),
			                 0);
			unlink(vt_path("out.img"));
		}
	}
}
END_TEST

START_TEST(convert_parallel_reader_fails)
{
	vstd_disk_convert_opts o = VSTD_DISK_CONVERT_OPTS_INIT;
	vstd_disk *src = NULL;
	uint8_t be[8];
	uint64_t l1, l2;
	FILE *f;
	int rc;
	/* a qcow2 whose data cluster at 5 MiB lies past the end of the file */
	make_source(vt_path("s.raw"), 12 * MIB);
	ck_assert_int_eq(vt_run("qemu-img convert -f raw -O qcow2 '%s' '%s'", vt_path("s.raw"),
	                        vt_path("bad.qcow2")),
	                 0);
	f = fopen(vt_path("bad.qcow2"), "r+b");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 40, SEEK_SET), 0);
	ck_assert_uint_eq(fread(be, 1, 8, f), 8);
	l1 = vstd_be64(be);
	ck_assert_int_eq(fseek(f, (long)l1, SEEK_SET), 0);
	ck_assert_uint_eq(fread(be, 1, 8, f), 8);
	l2 = vstd_be64(be) & 0x00fffffffffffe00ull;
	ck_assert_uint_ne(l2, 0);
	vstd_put_be64(be, (1ull << 63) | ((uint64_t)1 << 40));
	ck_assert_int_eq(fseek(f, (long)(l2 + 8 * (5 * MIB / 65536)), SEEK_SET), 0);
	ck_assert_uint_eq(fwrite(be, 1, 8, f), 8);
	ck_assert_int_eq(fclose(f), 0);
	for (unsigned readers = 1; readers <= 4; readers *= 2) {
		vt_ok(vstd_disk_open(&src, vt_path("bad.qcow2"), NULL));
		vstd_convert_readers_override = readers;
		o.parallel = 4;
		rc = vstd_disk_convert(src, vt_path("o.raw"), &o);
		vstd_convert_readers_override = 0;
		vstd_disk_close(src);
		ck_assert_msg(rc < 0, "%u readers: a cluster past the end converted", readers);
		ck_assert_msg(strstr(vstd_error_last()->message, "bad.qcow2") != NULL,
		              "%u readers: '%s'", readers, vstd_error_last()->message);
		ck_assert_int_ne(access(vt_path("o.raw"), F_OK), 0);
	}
}
END_TEST

START_TEST(reopen_rules)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL, *r = NULL;
	make_chain();
	/* the reopened chain reads the same bytes */
	vt_ok(vstd_disk_open(&d, vt_path("top.qcow2"), NULL));
	vt_ok(vstd_disk_reopen_readonly(d, &r));
	ck_assert_ptr_nonnull(vstd_disk_backing(r));
	ck_assert_ptr_ne(vstd_disk_backing(r), vstd_disk_backing(d));
	{
		vstd_disk_compare_result cr;
		vt_ok(vstd_disk_compare(d, r, VSTD_COMPARE_STRICT, NULL, NULL, &cr));
		ck_assert(cr.identical);
	}
	vstd_disk_close(r);
	/* the name now leads to another file: refused */
	make_source(vt_path("other.qcow2"), MIB);
	ck_assert_int_eq(rename(vt_path("top.qcow2"), vt_path("moved.qcow2")), 0);
	ck_assert_int_eq(rename(vt_path("other.qcow2"), vt_path("top.qcow2")), 0);
	ck_assert_int_eq(vstd_disk_reopen_readonly(d, &r), VSTD_ENOTSUP);
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "another file"));
	vstd_disk_close(d);
	/* open for writing: refused */
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, vt_path("moved.qcow2"), &oo));
	ck_assert_int_eq(vstd_disk_reopen_readonly(d, &r), VSTD_ENOTSUP);
	vstd_disk_close(d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("disk/convert");
	TCase *tc = tcase_create("convert");
	vt_require_tool("qemu-img", "qemu-utils");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, convert_raw_contents_and_sparseness);
	tcase_add_test(tc, convert_options);
	tcase_add_test(tc, convert_cancel_removes_target);
	tcase_add_loop_test(tc, convert_fails_at_every_write, 0,
	                    (int)(sizeof(fault_formats) / sizeof(fault_formats[0])));
	tcase_add_test(tc, convert_allocation_failures);
	tcase_add_test(tc, convert_source_file_shrank);
	tcase_add_loop_test(tc, convert_mapped_format_sources, 0,
	                    (int)(sizeof(mapped_formats) / sizeof(mapped_formats[0])));
	tcase_add_test(tc, interop_qemu_img);
	tcase_add_test(tc, convert_parallel_readers);
	tcase_add_test(tc, convert_parallel_reader_fails);
	tcase_add_test(tc, reopen_rules);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
