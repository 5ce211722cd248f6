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

static void crash_grow_to(const uint8_t *base, size_t len, unsigned long crash_at,
                          uint64_t new_size, const char *prealloc, unsigned long *writes,
                          uint8_t **after, size_t *after_len)
{
	vstd_io_fault_opts fo = VSTD_IO_FAULT_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_io *mem = NULL, *fault = NULL;
	vstd_io_fault_stats st;
	vstd_disk *d = NULL;
	const void *data;
	size_t n;
	vt_ok(vstd_io_mem_new(&mem, base, len, 0, VSTD_IO_WRITE));
	fo.hold_unflushed = 1;
	fo.crash_at_write = crash_at;
	vt_ok(vstd_io_fault_new(&fault, mem, &fo));
	oo.flags = VSTD_DISK_RDWR;
	oo.format = "vdi";
	if (vstd_disk_open_io(&d, fault, "crash.vdi", &oo) == 0) {
		(void)vstd_disk_resize(d, new_size, 0, prealloc);
		vstd_disk_close(d);
	}
	vt_ok(vstd_io_fault_get_stats(fault, &st));
	*writes = st.writes;
	vstd_io_close(fault);
	vt_ok(vstd_io_mem_contents(mem, &data, &n));
	*after = malloc(n);
	memcpy(*after, data, n);
	*after_len = n;
	vstd_io_close(mem);
}

static void crash_grow(const uint8_t *base, size_t len, unsigned long crash_at,
                       unsigned long *writes, uint8_t **after, size_t *after_len)
{
	crash_grow_to(base, len, crash_at, BIG, NULL, writes, after, after_len);
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
		vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
		vstd_disk_check_result cr;
		vstd_io *io = NULL;
		vstd_disk *d = NULL;
		int ro;
		crash_grow(base, len, k, &w, &after, &alen);
		/* read-only: the old image, the new one, or "finish it" */
		vt_ok(vstd_io_mem_view(&io, after, alen, "after-crash.vdi"));
		oo.format = "vdi";
		ro = vstd_disk_open_io(&d, io, NULL, &oo);
		if (ro == 0)
			vstd_disk_close(d);
		else
			ck_assert_msg(ro == VSTD_ESTATE, "crash at write %lu: %s", k,
			              vstd_error_last()->message);
		vstd_io_close(io);
		vt_ok(vstd_io_mem_new(&io, after, alen, 0, VSTD_IO_WRITE));
		oo.flags = VSTD_DISK_RDWR;
		ck_assert_msg(vstd_disk_open_io(&d, io, "after-crash.vdi", &oo) == 0,
		              "crash at write %lu: %s", k, vstd_error_last()->message);
		memset(&cr, 0, sizeof(cr));
		vt_ok(vstd_disk_check(d, 0, &cr));
		ck_assert_msg(cr.corruptions == 0, "crash at write %lu: %s", k,
		              cr.report ? cr.report : "");
		vstd_disk_check_result_clear(&cr);
		ck_assert_msg(vstd_disk_size(d) == DSIZE || vstd_disk_size(d) == BIG,
		              "crash at write %lu: size %llu", k,
		              (unsigned long long)vstd_disk_size(d));
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
		vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
		vstd_disk_check_result cr;
		vstd_io *io = NULL;
		vstd_disk *d = NULL;
		const void *data;
		size_t n;
		uint64_t size;
		int ro;
		crash_grow_to(base, len, k, new_size, alloc_cases[_i].prealloc, &w, &after, &alen);
		vt_ok(vstd_io_mem_view(&io, after, alen, "after-crash.vdi"));
		oo.format = "vdi";
		ro = vstd_disk_open_io(&d, io, NULL, &oo);
		if (ro == 0)
			vstd_disk_close(d);
		else
			ck_assert_msg(ro == VSTD_ESTATE && alloc_cases[_i].journal,
			              "case %d crash at write %lu: %s", _i, k,
			              vstd_error_last()->message);
		vstd_io_close(io);
		vt_ok(vstd_io_mem_new(&io, after, alen, 0, VSTD_IO_WRITE));
		oo.flags = VSTD_DISK_RDWR;
		ck_assert_msg(vstd_disk_open_io(&d, io, "after-crash.vdi", &oo) == 0,
		              "case %d crash at write %lu: %s", _i, k, vstd_error_last()->message);
		memset(&cr, 0, sizeof(cr));
		vt_ok(vstd_disk_check(d, 0, &cr));
		ck_assert_msg(cr.corruptions == 0 && cr.leaks == 0,
		              "case %d crash at write %lu: %s", _i, k, cr.report ? cr.report : "");
		vstd_disk_check_result_clear(&cr);
		size = vstd_disk_size(d);
		ck_assert_msg(size == SSIZE || size == new_size,
		              "case %d crash at write %lu: size %llu", _i, k,
		              (unsigned long long)size);
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
	tcase_add_loop_test(t, grow_crash_alloc, 0,
	                    (int)(sizeof(alloc_cases) / sizeof(alloc_cases[0])));
	suite_add_tcase(s, t);
	return vt_main(s);
}
