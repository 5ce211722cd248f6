/*
 * tests/disk/vdi/test_grow.c - growing a VDI whose block map is followed by
 * data: the first blocks move to the end (as VirtualBox does), qemu-img
 * checks and reads the result; a crash at every write of the grow leaves
 * the old image or one that vstd finishes, also for static images and
 * preallocated growth (the new blocks allocated); damaged resize journals.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "core/bytes.h"
#include "disk/vdi/vdi.h"
#include "../vpc/vhdtest.h"

#define DSIZE ((size_t)12 << 20)
#define BIG ((uint64_t)1 << 30) /* a 4 KiB map: more than qemu's 512 bytes */

START_TEST(grow_qemu_image)
{
	uint8_t *pat = vh_pattern(DSIZE, 61);
	const char *raw = vt_path("g.raw"), *img = vt_path("g.vdi");
	uint8_t hb[512];
	uint32_t allocated;
	vstd_disk *d;
	vt_write_file(raw, pat, DSIZE);
	ck_assert_msg(vt_run("qemu-img convert -f raw -O vdi '%s' '%s'", raw, img) == 0, "%s",
	              vt_output());
	vh_read_at(img, 0, hb, sizeof(hb));
	ck_assert_uint_eq(vstd_le32(hb + 344), 1024); /* qemu: data right after the map */
	allocated = vstd_le32(hb + 388);
	ck_assert_uint_gt(allocated, 2);
	ck_assert_msg(vt_run("%s img resize '%s' %llu", vt_cli(), img, (unsigned long long)BIG) ==
	                      0,
	              "%s", vt_output());
	vh_read_at(img, 0, hb, sizeof(hb));
	ck_assert_uint_eq(vstd_le32(hb + 340), 512);            /* the map stayed */
	ck_assert_uint_eq(vstd_le32(hb + 344), 1024 + 1048576); /* 1 block moved */
	ck_assert_uint_eq(vstd_le32(hb + 388), allocated);
	d = vh_open(img, NULL, 0);
	ck_assert_uint_eq(vstd_disk_size(d), BIG);
	vh_disk_equals(d, pat, DSIZE);
	vstd_disk_close(d);
	ck_assert_int_eq(truncate(raw, (off_t)BIG), 0);
	ck_assert_msg(vt_run("qemu-img check -f vdi '%s' && qemu-img compare -f vdi -F raw '%s' "
	                     "'%s'",
	                     img, img, raw) == 0,
	              "%s", vt_output());
	/* qemu allocates after the moved blocks, vstd reads it */
	ck_assert_msg(vt_run("qemu-io -f vdi -c 'write -P 0x6b 900M 1M' '%s' && qemu-img check "
	                     "-f vdi '%s'",
	                     img, img) == 0,
	              "%s", vt_output());
	d = vh_open(img, NULL, 0);
	{
		uint8_t b[4096], want[4096];
		memset(want, 0x6b, sizeof(want));
		vt_ok(vstd_disk_read(d, 900 << 20, b, sizeof(b)));
		ck_assert(memcmp(b, want, sizeof(b)) == 0);
		vt_ok(vstd_disk_read(d, DSIZE - sizeof(b), b, sizeof(b)));
		ck_assert(memcmp(b, pat + DSIZE - sizeof(b), sizeof(b)) == 0);
	}
	vstd_disk_close(d);
	free(pat);
}
END_TEST

struct resize_args {
	uint64_t size;
	const char *prealloc;
};

static void resize_op(vstd_disk *d, void *arg)
{
	const struct resize_args *a = arg;
	(void)vstd_disk_resize(d, a->size, VSTD_DISK_RESIZE_SHRINK, a->prealloc);
}

static void crash_grow_to(const uint8_t *base, size_t len, unsigned long crash_at,
                          uint64_t new_size, const char *prealloc, unsigned long *writes,
                          uint8_t **after, size_t *after_len)
{
	struct resize_args a = {new_size, prealloc};
	struct vt_crash c;
	(void)vt_crash_run(base, len, "vdi", "crash.vdi", crash_at, 0, resize_op, &a, &c);
	*writes = c.writes;
	*after = c.after;
	*after_len = c.after_len;
}

static void crash_grow(const uint8_t *base, size_t len, unsigned long crash_at,
                       unsigned long *writes, uint8_t **after, size_t *after_len)
{
	crash_grow_to(base, len, crash_at, BIG, NULL, writes, after, after_len);
}

/*
 * The image a crash at write k left (after[0..alen)): read-only it opens,
 * or, where may_refuse, is refused with VSTD_ESTATE (an interrupted
 * operation the next writer finishes); for writing it opens (finishing
 * that), checks without corruptions (nor leaks, where no_leaks) and has
 * size_a or size_b bytes.  Returns the writable disk on its memory I/O
 * object (*io; the caller closes both); *refused: the read-only open was.
 */
static vstd_disk *open_after_crash(const uint8_t *after, size_t alen, int c, unsigned long k,
                                   int may_refuse, int no_leaks, uint64_t size_a, uint64_t size_b,
                                   vstd_io **io, int *refused)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk_check_result cr;
	vstd_disk *d = NULL;
	uint64_t size;
	int ro;
	vt_ok(vstd_io_mem_view(io, after, alen, "after-crash.vdi"));
	oo.format = "vdi";
	ro = vstd_disk_open_io(&d, *io, NULL, &oo);
	if (ro == 0)
		vstd_disk_close(d);
	else
		ck_assert_msg(ro == VSTD_ESTATE && may_refuse, "case %d crash at write %lu: %s", c,
		              k, vstd_error_last()->message);
	vstd_io_close(*io);
	vt_ok(vstd_io_mem_new(io, after, alen, 0, VSTD_IO_WRITE));
	oo.flags = VSTD_DISK_RDWR;
	ck_assert_msg(vstd_disk_open_io(&d, *io, "after-crash.vdi", &oo) == 0,
	              "case %d crash at write %lu: %s", c, k, vstd_error_last()->message);
	memset(&cr, 0, sizeof(cr));
	vt_ok(vstd_disk_check(d, 0, &cr));
	ck_assert_msg(cr.corruptions == 0 && (!no_leaks || cr.leaks == 0),
	              "case %d crash at write %lu: %s", c, k, cr.report ? cr.report : "");
	vstd_disk_check_result_clear(&cr);
	size = vstd_disk_size(d);
	ck_assert_msg(size == size_a || size == size_b, "case %d crash at write %lu: size %llu", c,
	              k, (unsigned long long)size);
	*refused = ro != 0;
	return d;
}

START_TEST(grow_crash)
{
	uint8_t *pat = vh_pattern(DSIZE, 62), *base, *after;
	const char *raw = vt_path("c.raw"), *img = vt_path("c.vdi");
	size_t len, alen;
	unsigned long total = 0, w, old = 0, grown = 0, finished = 0;
	vt_write_file(raw, pat, DSIZE);
	ck_assert(vt_run("qemu-img convert -f raw -O vdi '%s' '%s'", raw, img) == 0);
	base = vh_read_file(img, &len);
	crash_grow(base, len, 0, &total, &after, &alen);
	free(after);
	ck_assert_uint_gt(total, 4);
	for (unsigned long k = 1; k <= total; k++) {
		vstd_io *io = NULL;
		vstd_disk *d;
		int ro;
		crash_grow(base, len, k, &w, &after, &alen);
		/* read-only: the old image, the new one, or "finish it" */
		d = open_after_crash(after, alen, 0, k, 1, 0, DSIZE, BIG, &io, &ro);
		if (ro != 0)
			finished++;
		else if (vstd_disk_size(d) == BIG)
			grown++;
		else
			old++;
		vh_disk_equals(d, pat, DSIZE);
		vstd_disk_close(d);
		vstd_io_close(io);
		free(after);
	}
	ck_assert_msg(old > 0 && finished > 0, "old %lu grown %lu finished %lu", old, grown,
	              finished);
	free(base);
	free(pat);
}
END_TEST

/* The bytes of an image written to a file, leaving zero stretches as holes. */
static void write_sparse(const char *path, const uint8_t *b, size_t len)
{
	const size_t chunk = 65536;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert(fd >= 0);
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		if (!vstd_is_zero_buf(b + off, n))
			ck_assert(pwrite(fd, b + off, n, (off_t)off) == (ssize_t)n);
	}
	ck_assert(ftruncate(fd, (off_t)len) == 0);
	close(fd);
}

/*
 * Growths that allocate their new blocks (static images, preallocation on
 * dynamic ones), with the map in room and with the map moving into the data
 * area: a crash at every write leaves the old image or the grown one (or
 * one vstd finishes), data intact, the new blocks allocated and reading as
 * zeroes, vstd's and qemu-img's check clean, qemu-img compare equal.
 */
static const struct {
	const char *create, *prealloc;
	uint64_t size;
	int journal; /* the map moves: a journal is kept */
} alloc_cases[] = {
        {"-o static=on", NULL, (uint64_t)100 << 20, 0},
        {"-o static=on", NULL, (uint64_t)129 << 20, 1},
        {"", "falloc", (uint64_t)129 << 20, 1},
        {"", "metadata", (uint64_t)60 << 20, 0},
};

#define SSIZE ((size_t)6 << 20)

START_TEST(grow_crash_alloc)
{
	uint8_t *pat = vh_pattern(SSIZE, 64 + (uint64_t)_i), *base, *after;
	const char *raw = vt_path("a.raw"), *img = vt_path("a.vdi"), *out = vt_path("a-out.vdi");
	const char *raw_big = vt_path("a-big.raw");
	uint64_t new_size = alloc_cases[_i].size;
	size_t len, alen;
	unsigned long total = 0, w, old = 0, grown = 0, finished = 0;
	vt_write_file(raw, pat, SSIZE);
	vt_write_file(raw_big, pat, SSIZE);
	ck_assert_int_eq(truncate(raw_big, (off_t)new_size), 0);
	ck_assert_msg(vt_run("qemu-img convert -f raw -O vdi %s '%s' '%s'", alloc_cases[_i].create,
	                     raw, img) == 0,
	              "%s", vt_output());
	base = vh_read_file(img, &len);
	crash_grow_to(base, len, 0, new_size, alloc_cases[_i].prealloc, &total, &after, &alen);
	/* the grown image: every block allocated */
	ck_assert_uint_eq(vstd_le32(after + 384), new_size >> 20);
	ck_assert_uint_eq(vstd_le32(after + 388),
	                  alloc_cases[_i].prealloc != NULL
	                          ? vstd_le32(base + 388) + (new_size - SSIZE) / (1 << 20)
	                          : new_size >> 20);
	free(after);
	ck_assert_uint_gt(total, 2);
	for (unsigned long k = 1; k <= total + 1; k++) { /* total + 1: no crash */
		vstd_io *io = NULL;
		vstd_disk *d;
		const void *data;
		size_t n;
		uint64_t size;
		int ro;
		crash_grow_to(base, len, k, new_size, alloc_cases[_i].prealloc, &w, &after, &alen);
		d = open_after_crash(after, alen, _i, k, alloc_cases[_i].journal != 0, 1, SSIZE,
		                     new_size, &io, &ro);
		size = vstd_disk_size(d);
		if (ro != 0)
			finished++;
		else if (size == new_size)
			grown++;
		else
			old++;
		vh_disk_equals(d, pat, SSIZE);
		vstd_disk_close(d);
		/* qemu-img agrees */
		vt_ok(vstd_io_mem_contents(io, &data, &n));
		write_sparse(out, data, n);
		vstd_io_close(io);
		ck_assert_msg(vt_run("qemu-img check -f vdi '%s' && qemu-img compare -f vdi -F raw "
		                     "'%s' '%s'",
		                     out, out, size == SSIZE ? raw : raw_big) == 0,
		              "case %d crash at write %lu: %s", _i, k, vt_output());
		free(after);
	}
	ck_assert_msg(old > 0 && (grown > 0 || finished > 0) &&
	                      (finished > 0) == (alloc_cases[_i].journal != 0),
	              "case %d: old %lu grown %lu finished %lu", _i, old, grown, finished);
	free(base);
	free(pat);
}
END_TEST

/* A 20 MiB dynamic image (and raw) written out of order: blocks 0, 15, 1,
 * 17, 2 get the indexes 0..4. */
static void out_of_order(const char *img, const char *raw)
{
	ck_assert_msg(
	        vt_run("rm -f '%s' '%s' && qemu-img create -f vdi '%s' 20M && qemu-img create "
	               "-f raw '%s' 20M",
	               img, raw, img, raw) == 0,
	        "%s", vt_output());
	ck_assert_msg(
	        vt_run("for f in vdi raw; do i='%s'; [ $f = raw ] && i='%s'; qemu-io -f $f -c "
	               "'write -P 1 0 1M' -c 'write -P 2 15M 1M' -c 'write -P 3 1M 1M' -c "
	               "'write -P 4 17M 1M' -c 'write -P 5 2M 512K' \"$i\" || exit 1; done",
	               img, raw) == 0,
	        "%s", vt_output());
}

/*
 * Shrinks whose remaining blocks do not use the first indexes: a dynamic
 * image written out of order, and a static image whose map a grow rotated.
 * The blocks past the new count move into the free indexes (journalled); a
 * crash at every write leaves the old image or the shrunk one (or one vstd
 * finishes), with the allocated count qemu-img check wants.
 */
START_TEST(shrink_crash)
{
	const char *img = vt_path("s.vdi"), *raw = vt_path("s.raw"),
	           *raw_new = vt_path("s-new.raw");
	const char *out = vt_path("s-out.vdi");
	uint64_t old_size, new_size = _i == 0 ? 8 << 20 : 3 << 20;
	uint8_t *base, *after, *want_old, *want_new;
	size_t len, alen, olen, nlen;
	unsigned long total = 0, w, old = 0, shrunk = 0, finished = 0;
	if (_i == 0) {
		old_size = 20 << 20;
		out_of_order(img, raw);
	} else {
		uint8_t *pat = vh_pattern(SSIZE, 65);
		old_size = 129 << 20;
		vt_write_file(raw, pat, SSIZE);
		free(pat);
		ck_assert(vt_run("qemu-img convert -f raw -O vdi -o static=on '%s' '%s' && %s img "
		                 "resize '%s' 129M",
		                 raw, img, vt_cli(), img) == 0);
		ck_assert_int_eq(truncate(raw, (off_t)old_size), 0);
	}
	want_old = vh_read_file(raw, &olen);
	ck_assert_uint_eq(olen, old_size);
	vt_write_file(raw_new, want_old, (size_t)new_size);
	want_new = vh_read_file(raw_new, &nlen);
	base = vh_read_file(img, &len);
	crash_grow_to(base, len, 0, new_size, NULL, &total, &after, &alen);
	ck_assert_uint_eq(vstd_le32(after + 384), new_size >> 20);
	ck_assert_uint_eq(vstd_le32(after + 388), 3); /* the 3 blocks that stay */
	free(after);
	for (unsigned long k = 1; k <= total + 1; k++) {
		vstd_io *io = NULL;
		vstd_disk *d;
		const void *data;
		size_t n;
		uint64_t size;
		int ro;
		crash_grow_to(base, len, k, new_size, NULL, &w, &after, &alen);
		d = open_after_crash(after, alen, _i, k, 1, 1, old_size, new_size, &io, &ro);
		size = vstd_disk_size(d);
		if (ro != 0)
			finished++;
		else if (size == new_size)
			shrunk++;
		else
			old++;
		vh_disk_equals(d, size == old_size ? want_old : want_new, (size_t)size);
		vstd_disk_close(d);
		vt_ok(vstd_io_mem_contents(io, &data, &n));
		write_sparse(out, data, n);
		vstd_io_close(io);
		ck_assert_msg(vt_run("qemu-img check -f vdi '%s' && qemu-img compare -f vdi -F raw "
		                     "'%s' '%s'",
		                     out, out, size == old_size ? raw : raw_new) == 0,
		              "case %d crash at write %lu: %s", _i, k, vt_output());
		free(after);
	}
	ck_assert_msg(old > 0 && shrunk > 0 && finished > 0,
	              "case %d: old %lu shrunk %lu finished %lu", _i, old, shrunk, finished);
	free(want_old);
	free(want_new);
	free(base);
}
END_TEST

/* An interrupted resize whose journal is damaged: clear errors. */
START_TEST(hostile_journal)
{
	uint8_t *pat = vh_pattern(DSIZE, 63), *base, *after, *m;
	const char *raw = vt_path("h.raw"), *img = vt_path("h.vdi");
	size_t len, alen;
	unsigned long w, k;
	vt_write_file(raw, pat, DSIZE);
	ck_assert(vt_run("qemu-img convert -f raw -O vdi '%s' '%s'", raw, img) == 0);
	base = vh_read_file(img, &len);
	/* find a crash point inside the window (the type field says resizing) */
	for (k = 1;; k++) {
		crash_grow(base, len, k, &w, &after, &alen);
		ck_assert_uint_le(k, w + 1);
		if (vstd_le32(after + 76) == VDI_RESIZING)
			break;
		free(after);
	}
	m = malloc(alen);
	for (int mode = 0; mode < 4; mode++) {
		vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
		vstd_io *io = NULL;
		vstd_disk *d = NULL;
		int rc;
		memcpy(m, after, alen);
		switch (mode) {
		case 0: /* journal offset past the end */
			snprintf((char *)m + 84, 256, "vstd: interrupted resize, journal at 0x%llx",
			         (unsigned long long)alen * 4);
			break;
		case 1: /* not a number */
			snprintf((char *)m + 84, 256, "vstd: interrupted resize, journal at 0xzz");
			break;
		case 2: { /* the journal's header names another map place */
			unsigned long long j = strtoull(
			        (char *)m + 84 + strlen("vstd: interrupted resize, journal at 0x"),
			        NULL, 16);
			vstd_put_le32(m + j + 340, 0x100000);
			break;
		}
		case 3: /* an unknown type without the journal text */
			memset(m + 84, 0, 256);
			break;
		}
		vt_ok(vstd_io_mem_new(&io, m, alen, 0, VSTD_IO_WRITE));
		oo.flags = VSTD_DISK_RDWR;
		oo.format = "vdi";
		rc = vstd_disk_open_io(&d, io, "bad-journal.vdi", &oo);
		ck_assert_msg(rc == VSTD_ECORRUPT &&
		                      strstr(vstd_error_last()->message, "bad-journal.vdi"),
		              "mode %d: %d %s", mode, rc, vstd_error_last()->message);
		vstd_io_close(io);
	}
	free(m);
	free(after);
	free(base);
	free(pat);
}
END_TEST

/* An interrupted shrink whose journalled moves are damaged: clear errors,
 * nothing copied over data that stays. */
START_TEST(hostile_moves)
{
	const char *img = vt_path("hm.vdi"), *raw = vt_path("hm.raw");
	uint8_t *base, *after, *m;
	size_t len, alen;
	unsigned long w, k;
	unsigned long long j;
	out_of_order(img, raw);
	base = vh_read_file(img, &len);
	for (k = 1;; k++) {
		crash_grow_to(base, len, k, 8 << 20, NULL, &w, &after, &alen);
		ck_assert_uint_le(k, w + 1);
		if (vstd_le32(after + 76) == VDI_RESIZING)
			break;
		free(after);
	}
	ck_assert_msg(strstr((char *)after + 84, ", moves 1") != NULL, "%s", (char *)after + 84);
	j = strtoull((char *)after + 84 + strlen("vstd: interrupted resize, journal at 0x"), NULL,
	             16);
	m = malloc(alen);
	for (int mode = 0; mode < 5; mode++) {
		vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
		uint64_t list = j + 512 + 512; /* header, a 512-byte map (8 blocks) */
		vstd_io *io = NULL;
		vstd_disk *d = NULL;
		int rc;
		memcpy(m, after, alen);
		switch (mode) {
		case 0: /* more moves than blocks */
			snprintf((char *)m + 84, 256,
			         "vstd: interrupted resize, journal at 0x%llx, moves 1000", j);
			break;
		case 1: /* not a count */
			snprintf((char *)m + 84, 256,
			         "vstd: interrupted resize, journal at 0x%llx, moves x", j);
			break;
		case 2: /* a move from an index that stays: it would be overwritten */
			vstd_put_le32(m + list, 0);
			break;
		case 3: /* a move to an index past the allocated count */
			vstd_put_le32(m + list + 4, 7);
			break;
		case 4: /* a move from past the end of the data */
			vstd_put_le32(m + list, 0x7fffffff);
			break;
		}
		vt_ok(vstd_io_mem_new(&io, m, alen, 0, VSTD_IO_WRITE));
		oo.flags = VSTD_DISK_RDWR;
		oo.format = "vdi";
		rc = vstd_disk_open_io(&d, io, "bad-moves.vdi", &oo);
		ck_assert_msg(rc == VSTD_ECORRUPT &&
		                      strstr(vstd_error_last()->message, "bad-moves.vdi"),
		              "mode %d: %d %s", mode, rc, vstd_error_last()->message);
		vstd_io_close(io);
	}
	free(m);
	free(after);
	free(base);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("disk/vdi/grow");
	TCase *t = tcase_create("grow");
	vh_link_drivers();
	vt_require_tool("qemu-img", "qemu-utils");
	vt_require_tool("qemu-io", "qemu-utils");
	tcase_set_timeout(t, 60);
	tcase_add_test(t, grow_qemu_image);
	tcase_add_test(t, grow_crash);
	tcase_add_test(t, hostile_journal);
	tcase_add_loop_test(t, shrink_crash, 0, 2);
	tcase_add_test(t, hostile_moves);
	tcase_add_loop_test(t, grow_crash_alloc, 0,
	                    (int)(sizeof(alloc_cases) / sizeof(alloc_cases[0])));
	suite_add_tcase(s, t);
	return vt_main(s);
}
