/*
 * tests/disk/qcow2/test_space.c - space given back to the host file.  When
 * a cluster's refcount drops to 0 by discard, write-zeroes with unmap,
 * snapshot delete or apply, shrink or a leak repair, vstd punches a hole
 * (qemu's discard pass-through); after a shrink the file is cut after the
 * last used cluster.  Measured with st_blocks; qemu-img check must stay
 * clean and qemu-img compare must match the expected contents.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qtest.h"

#define MIB ((uint64_t)1 << 20)
#define SIZE (16 * MIB)

static const char *P, *RAW;
static uint8_t *want;

static uint64_t allocated(const char *path)
{
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

/* Can the file system under vt_tmpdir() punch holes? */
static void require_punch(void)
{
	const char *t = vt_path("punch-probe");
	static uint8_t b[1 << 20];
	int fd = open(t, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd < 0)
		vt_skip("cannot create %s", t);
	memset(b, 1, sizeof(b));
	if (write(fd, b, sizeof(b)) != (ssize_t)sizeof(b) || fsync(fd) != 0 ||
	    fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, sizeof(b)) != 0) {
		close(fd);
		vt_skip("the temporary file system cannot punch holes");
	}
	close(fd);
	unlink(t);
}

/* A 16 MiB image with 8 MiB of random data at 0 (vstd-written). */
static vstd_disk *setup(const char *options)
{
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	P = vt_path("space.qcow2");
	RAW = vt_path("space.raw");
	unlink(P);
	co.format = "qcow2";
	co.size = SIZE;
	co.options = options;
	vt_ok(vstd_disk_create(P, &co));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, P, &oo));
	free(want);
	want = calloc(1, SIZE);
	ck_assert_ptr_nonnull(want);
	vt_fill_random(want, 8 * MIB, 42);
	vt_ok(vstd_disk_write(d, 0, want, 8 * MIB));
	vt_ok(vstd_disk_flush(d));
	return d;
}

/* Close, then qemu-img check clean and compare with `want`. */
static void finish(vstd_disk *d, uint64_t size)
{
	vstd_disk_close(d);
	ck_assert_msg(qt_qemu_check(P) == 0, "%s", vt_output());
	vt_write_file(RAW, want, size);
	ck_assert_msg(vt_run("qemu-img compare -f qcow2 -F raw '%s' '%s'", P, RAW) == 0, "%s",
	              vt_output());
}

START_TEST(discard_punches)
{
	vstd_disk *d = setup("cluster_size=65536");
	uint64_t before = allocated(P), after;
	vt_ok(vstd_disk_discard(d, 1 * MIB, 4 * MIB));
	vt_ok(vstd_disk_flush(d));
	after = allocated(P);
	memset(want + 1 * MIB, 0, 4 * MIB);
	fprintf(stderr, "discard 4 MiB: %" PRIu64 " -> %" PRIu64 " KiB allocated\n", before >> 10,
	        after >> 10);
	ck_assert_uint_ge(before - after, 4 * MIB - 128 * 1024);
	/* write-zeroes that may unmap frees and punches too; without unmap the
	 * clusters stay allocated (zero flag with an offset) */
	before = after;
	vt_ok(vstd_disk_write_zeroes(d, 5 * MIB, 2 * MIB, VSTD_IO_ZERO_MAY_UNMAP));
	vt_ok(vstd_disk_write_zeroes(d, 7 * MIB, 1 * MIB, 0));
	vt_ok(vstd_disk_flush(d));
	after = allocated(P);
	memset(want + 5 * MIB, 0, 3 * MIB);
	ck_assert_uint_ge(before - after, 2 * MIB - 128 * 1024);
	ck_assert_uint_lt(before - after, 3 * MIB - 128 * 1024);
	finish(d, SIZE);
}
END_TEST

START_TEST(snapshot_delete_punches)
{
	vstd_disk *d = setup("cluster_size=65536");
	uint64_t before, after;
	uint8_t *b = malloc(4 * MIB);
	ck_assert_ptr_nonnull(b);
	vt_ok(vstd_disk_snapshot_create(d, "old"));
	vt_fill_random(b, 4 * MIB, 7);
	vt_ok(vstd_disk_write(d, 0, b, 4 * MIB)); /* copies 4 MiB */
	vt_ok(vstd_disk_flush(d));
	memcpy(want, b, 4 * MIB);
	before = allocated(P);
	vt_ok(vstd_disk_snapshot_delete(d, "old"));
	after = allocated(P);
	fprintf(stderr, "snapshot delete: %" PRIu64 " -> %" PRIu64 " KiB allocated\n", before >> 10,
	        after >> 10);
	ck_assert_uint_ge(before - after, 4 * MIB - 128 * 1024);
	/* apply: what only the current state used goes */
	vt_ok(vstd_disk_snapshot_create(d, "s"));
	vt_ok(vstd_disk_write(d, 8 * MIB, b, 4 * MIB));
	vt_ok(vstd_disk_flush(d));
	before = allocated(P);
	vt_ok(vstd_disk_snapshot_apply(d, "s"));
	after = allocated(P);
	ck_assert_uint_ge(before - after, 4 * MIB - 128 * 1024);
	free(b);
	finish(d, SIZE);
}
END_TEST

START_TEST(shrink_trims_file)
{
	static const char *const opts[] = {"cluster_size=65536",
	                                   "cluster_size=4096,refcount_bits=8",
	                                   "extended_l2=on,lazy_refcounts=on"};
	vstd_disk *d = setup(opts[_i]);
	const char *q = vt_path("qemu-shrunk.qcow2");
	uint64_t ours, theirs;
	vstd_disk_close(d);
	ck_assert(vt_run("cp '%s' '%s'", P, q) == 0);
	ck_assert_msg(vt_run("qemu-img resize -f qcow2 --shrink '%s' 2M", q) == 0, "%s",
	              vt_output());
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, P, &oo));
	vt_ok(vstd_disk_resize(d, 2 * MIB, VSTD_DISK_RESIZE_SHRINK, NULL));
	vstd_disk_close(d);
	ours = file_size(P);
	theirs = file_size(q);
	fprintf(stderr, "shrink 16M->2M (%s): file %" PRIu64 " KiB (qemu-img %" PRIu64 " KiB)\n",
	        opts[_i], ours >> 10, theirs >> 10);
	ck_assert_uint_le(ours, theirs);
	ck_assert_uint_lt(ours, 3 * MIB);
	ck_assert_msg(vt_run("qemu-img compare '%s' '%s'", P, q) == 0, "%s", vt_output());
	vt_ok(vstd_disk_open(&d, P, &oo));
	finish(d, 2 * MIB);
}
END_TEST

START_TEST(leak_repair_punches)
{
	/* a crash-like leak: refcounts raised for clusters nothing uses */
	vstd_disk *d = setup("cluster_size=65536");
	vstd_disk_check_result r;
	uint64_t before, after;
	vstd_disk_close(d);
	/* qemu-io writes then we drop the L1 entry by hand: the clusters leak */
	{
		FILE *f = fopen(P, "r+b");
		uint8_t h[48], zero[8] = {0};
		uint64_t l1;
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fread(h, 1, 48, f), 48);
		l1 = ((uint64_t)h[40] << 56) | ((uint64_t)h[41] << 48) | ((uint64_t)h[42] << 40) |
		     ((uint64_t)h[43] << 32) | ((uint64_t)h[44] << 24) | ((uint64_t)h[45] << 16) |
		     ((uint64_t)h[46] << 8) | h[47];
		ck_assert(fseek(f, (long)l1, SEEK_SET) == 0);
		ck_assert_uint_eq(fwrite(zero, 1, 8, f), 8);
		fclose(f);
	}
	ck_assert_int_eq(qt_qemu_check(P), 3);
	before = allocated(P);
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, P, &oo));
	memset(&r, 0, sizeof(r));
	vt_ok(vstd_disk_check(d, VSTD_CHECK_REPAIR_LEAKS, &r));
	ck_assert_uint_ge(r.leaks_fixed, 128);
	vstd_disk_check_result_clear(&r);
	vstd_disk_close(d);
	after = allocated(P);
	ck_assert_uint_ge(before - after, 8 * MIB - 128 * 1024);
	memset(want, 0, SIZE);
	vt_ok(vstd_disk_open(&d, P, &oo));
	finish(d, SIZE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("qcow2-space");
	TCase *tc = tcase_create("space");
	vt_require_tool("qemu-img", "qemu-utils");
	qt_link_driver();
	require_punch();
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, discard_punches);
	tcase_add_test(tc, snapshot_delete_punches);
	tcase_add_loop_test(tc, shrink_trims_file, 0, 3);
	tcase_add_test(tc, leak_repair_punches);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
