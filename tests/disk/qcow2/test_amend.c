/*
 * tests/disk/qcow2/test_amend.c - amend compat=0.10 (version 3 -> 2) next to
 * qemu-img amend: images qemu made (zero clusters with and without a host
 * cluster, snapshots, backing files, lazy refcounts, zstd without
 * compressed clusters) are downgraded by vstd and, on a copy, by qemu-img;
 * ours must pass qemu-img check, say compat 0.10 with a 72-byte header,
 * and read like qemu's (active state and snapshots).  Features version 2
 * cannot hold are refused with their name and the file is left unchanged.
 */
#include <unistd.h>

#include "qtest.h"

static const char *P, *Q;

static void make(const char *opts, int backing)
{
	P = vt_path("am.qcow2");
	Q = vt_path("am-qemu.qcow2");
	unlink(P);
	if (backing) {
		const char *b = vt_path("base.raw");
		ck_assert(vt_run("qemu-img create -q -f raw '%s' 4M && qemu-io -f raw -c 'write -P "
		                 "0x33 0 4M' '%s' >/dev/null",
		                 b, b) == 0);
		ck_assert_msg(vt_run("qemu-img create -q -f qcow2 -b '%s' -F raw -o %s '%s' 4M", b,
		                     opts, P) == 0,
		              "%s", vt_output());
	} else {
		ck_assert_msg(vt_run("qemu-img create -q -f qcow2 -o %s '%s' 4M", opts, P) == 0,
		              "%s", vt_output());
	}
	/* data, a zero cluster keeping its host cluster (write -z without
	 * unmap over data), zero clusters without one, a snapshot, more */
	ck_assert_msg(vt_run("qemu-io -c 'write -P 1 0 256k' -c 'write -z 64k 64k' "
	                     "-c 'write -z 1M 128k' '%s' >/dev/null",
	                     P) == 0,
	              "%s", vt_output());
	if (strstr(opts, "data_file") == NULL) /* qemu: no snapshots with a data file */
		ck_assert(vt_run("qemu-img snapshot -c s1 '%s'", P) == 0);
	ck_assert(vt_run("qemu-io -c 'write -z 0 64k' -c 'write -P 2 2M 64k' -c 'write -z -u 3M "
	                 "64k' '%s' >/dev/null",
	                 P) == 0);
	ck_assert(vt_run("cp '%s' '%s'", P, Q) == 0);
}

static int version_and_ext(const char *path, uint32_t *first_ext)
{
	size_t len;
	uint8_t *h = qt_read_file(path, &len);
	int v = h[7];
	*first_ext =
	        ((uint32_t)h[72] << 24) | ((uint32_t)h[73] << 16) | ((uint32_t)h[74] << 8) | h[75];
	free(h);
	return v;
}

START_TEST(downgrade_like_qemu)
{
	static const struct {
		const char *opts;
		int backing;
	} cases[] = {
	        {"compat=1.1", 0},        {"compat=1.1,cluster_size=4096", 0},
	        {"lazy_refcounts=on", 0}, {"compression_type=zstd", 0},
	        {"compat=1.1", 1},        {"compat=1.1,cluster_size=16384", 1},
	};
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	uint32_t ext;
	make(cases[_i].opts, cases[_i].backing);
	ck_assert_msg(vt_run("qemu-img amend -o compat=0.10 '%s'", Q) == 0, "%s", vt_output());
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, P, &oo));
	vt_ok(vstd_disk_amend(d, "compat=0.10", NULL, NULL));
	vstd_disk_close(d);
	ck_assert_msg(qt_qemu_check(P) == 0, "%s: %s", cases[_i].opts, vt_output());
	ck_assert(vt_run("qemu-img info '%s' | grep -q 'compat: 0.10'", P) == 0);
	ck_assert_int_eq(version_and_ext(P, &ext), 2);
	/* the extension list starts right after the 72-byte header */
	ck_assert(ext == 0 || ext == 0xe2792acau);
	ck_assert_msg(vt_run("qemu-img compare '%s' '%s'", P, Q) == 0, "%s: %s", cases[_i].opts,
	              vt_output());
	/* the snapshot reads the same too */
	ck_assert(vt_run("qemu-img convert -l snapshot.name=s1 -O raw '%s' '%s.s1' && "
	                 "qemu-img convert -l snapshot.name=s1 -O raw '%s' '%s.s1' && "
	                 "cmp '%s.s1' '%s.s1'",
	                 P, P, Q, Q, P, Q) == 0);
	/* and vstd reads what qemu reads */
	qt_same_as_qemu(P);
	/* upgrading again works, and qemu agrees */
	vt_ok(vstd_disk_open(&d, P, &oo));
	vt_ok(vstd_disk_amend(d, "compat=1.1", NULL, NULL));
	vstd_disk_close(d);
	ck_assert_msg(qt_qemu_check(P) == 0, "%s", vt_output());
	ck_assert_msg(vt_run("qemu-img compare '%s' '%s'", P, Q) == 0, "%s", vt_output());
}
END_TEST

START_TEST(downgrade_refused)
{
	static const struct {
		const char *opts;
		const char *extra; /* shell run on the image before */
		const char *reason;
	} cases[] = {
	        {"extended_l2=on", NULL, "extended L2"},
	        {"refcount_bits=8", NULL, "refcount_bits=16"},
	        {"compat=1.1", "qemu-img bitmap --add \"$F\" b0", "bitmap"},
	        {"compression_type=zstd", "qemu-io -c 'write -c -P 5 3584k 64k' \"$F\"", "zstd"},
	        {"data_file=am.data", NULL, "external data file"},
	};
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	const char *copy = vt_path("am-before.qcow2");
	int rc, qrc;
	char opts[512];
	if (strncmp(cases[_i].opts, "data_file=", 10) == 0)
		snprintf(opts, sizeof(opts), "data_file=%s", vt_path(cases[_i].opts + 10));
	else
		snprintf(opts, sizeof(opts), "%s", cases[_i].opts);
	make(opts, 0);
	if (cases[_i].extra != NULL)
		ck_assert_msg(vt_run("F='%s'; %s", P, cases[_i].extra) == 0, "%s", vt_output());
	ck_assert(vt_run("cp '%s' '%s' && cp '%s' '%s'", P, copy, P, Q) == 0);
	qrc = vt_run("qemu-img amend -o compat=0.10 '%s'", Q);
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, P, &oo));
	rc = vstd_disk_amend(d, "compat=0.10", NULL, NULL);
	ck_assert_int_eq(rc, VSTD_ENOTSUP);
	ck_assert_msg(strstr(vstd_error_last()->message, cases[_i].reason) != NULL, "%s",
	              vstd_error_last()->message);
	fprintf(stderr, "refused (%s): %s; qemu-img amend exit %d\n", cases[_i].opts,
	        vstd_error_last()->message, qrc);
	vstd_disk_close(d);
	/* nothing changed */
	ck_assert_msg(vt_run("cmp '%s' '%s'", P, copy) == 0, "%s", vt_output());
	ck_assert_msg(qt_qemu_check(P) == 0, "%s", vt_output());
}
END_TEST

int main(void)
{
	Suite *s = suite_create("qcow2-amend");
	TCase *tc = tcase_create("amend");
	vt_require_tool("qemu-img", "qemu-utils");
	vt_require_tool("qemu-io", "qemu-utils");
	qt_link_driver();
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, downgrade_like_qemu, 0, 6);
	tcase_add_loop_test(tc, downgrade_refused, 0, 5);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
