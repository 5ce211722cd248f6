/*
 * tests/disk/qcow2/test_snapshot.c - internal snapshots, both ways with
 * qemu-img snapshot: list and read qemu's, create/apply/delete ours and
 * let qemu-img check, list and convert -l judge them.
 */
#include <unistd.h>

#include "qtest.h"

static const char *P;

static void qemu_made(const char *opts)
{
	P = vt_path("s.qcow2");
	ck_assert(vt_run("qemu-img create -f qcow2 -o %s '%s' 4M", opts, P) == 0);
	ck_assert(vt_run("qemu-io -c 'write -P 0x61 0 1M' '%s'", P) == 0);
	ck_assert(vt_run("qemu-img snapshot -c first '%s'", P) == 0);
	ck_assert(vt_run("qemu-io -c 'write -P 0x62 512k 1M' -c 'write -z 3M 64k' '%s'", P) == 0);
	ck_assert(vt_run("qemu-img snapshot -c second '%s'", P) == 0);
	ck_assert(vt_run("qemu-io -c 'write -P 0x63 100k 10k' '%s'", P) == 0);
}

/* vstd's view of snapshot `name` equals qemu-img convert -l name */
static void view_equals_qemu(vstd_disk *d, const char *name)
{
	const char *ref = vt_path("snap.raw");
	vstd_disk *v = NULL;
	uint8_t *want;
	size_t len;
	ck_assert_msg(
	        vt_run("qemu-img convert -l snapshot.name=%s -O raw '%s' '%s'", name, P, ref) == 0,
	        "%s", vt_output());
	want = qt_read_file(ref, &len);
	vt_ok(vstd_disk_snapshot_open(&v, d, name));
	qt_disk_equals(v, want, len);
	vstd_disk_close(v);
	free(want);
}

START_TEST(read_qemu_snapshots)
{
	static const char *const opts[] = {"cluster_size=65536", "compat=0.10", "extended_l2=on",
	                                   "cluster_size=4096,refcount_bits=4"};
	vstd_disk_snapshot *list = NULL;
	vstd_disk *d = NULL;
	size_t n = 0;
	qemu_made(opts[_i]);
	vt_ok(vstd_disk_open(&d, P, NULL));
	vt_ok(vstd_disk_snapshot_list(d, &list, &n));
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0].name, "first");
	ck_assert_str_eq(list[1].name, "second");
	ck_assert_uint_eq(list[0].disk_size, 4 << 20);
	vstd_disk_snapshot_list_free(list, n);
	view_equals_qemu(d, "first");
	view_equals_qemu(d, "second");
	vstd_disk_close(d);
	qt_same_as_qemu(P);
}
END_TEST

START_TEST(create_apply_delete)
{
	static const char *const opts[] = {"cluster_size=65536", "compat=0.10", "extended_l2=on",
	                                   "cluster_size=4096,refcount_bits=4"};
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	uint8_t buf[65536];
	qemu_made(opts[_i]);
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, P, &oo));
	vt_ok(vstd_disk_snapshot_create(d, "third"));
	ck_assert_int_eq(vstd_disk_snapshot_create(d, "third"), VSTD_EEXIST);
	/* write after the snapshot: copy-on-write of shared clusters */
	memset(buf, 0x77, sizeof(buf));
	vt_ok(vstd_disk_write(d, 5000, buf, sizeof(buf)));
	vt_ok(vstd_disk_write(d, 2 << 20, buf, sizeof(buf)));
	vstd_disk_close(d);
	ck_assert_msg(qt_qemu_check(P) == 0, "after create: %s", vt_output());
	ck_assert(vt_run("qemu-img snapshot -l '%s' | grep -q third", P) == 0);
	vt_ok(vstd_disk_open(&d, P, NULL));
	view_equals_qemu(d, "third");
	view_equals_qemu(d, "first");
	vstd_disk_close(d);
	qt_same_as_qemu(P);

	/* apply: the disk is the snapshot again */
	vt_ok(vstd_disk_open(&d, P, &oo));
	vt_ok(vstd_disk_snapshot_apply(d, "first"));
	vstd_disk_close(d);
	ck_assert_msg(qt_qemu_check(P) == 0, "after apply: %s", vt_output());
	ck_assert(vt_run("qemu-img convert -l snapshot.name=first -O raw '%s' '%s'", P,
	                 vt_path("first.raw")) == 0);
	ck_assert_msg(vt_run("qemu-img compare -f raw '%s' '%s'", vt_path("first.raw"), P) == 0,
	              "%s", vt_output());

	/* delete */
	vt_ok(vstd_disk_open(&d, P, &oo));
	vt_ok(vstd_disk_snapshot_delete(d, "second"));
	ck_assert_int_eq(vstd_disk_snapshot_delete(d, "second"), VSTD_ENOENT);
	vt_ok(vstd_disk_snapshot_delete(d, "third"));
	vstd_disk_close(d);
	ck_assert_msg(qt_qemu_check(P) == 0, "after delete: %s", vt_output());
	ck_assert(vt_run("qemu-img snapshot -l '%s' | grep -q -e second -e third", P) != 0);
	qt_same_as_qemu(P);
	/* qemu can still work with what we left */
	ck_assert(vt_run("qemu-img snapshot -d first '%s'", P) == 0);
	ck_assert_msg(qt_qemu_check(P) == 0, "qemu delete: %s", vt_output());
}
END_TEST

START_TEST(one_bit_refcounts)
{
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	uint8_t b[4096] = {1};
	P = vt_path("one.qcow2");
	co.format = "qcow2";
	co.size = 1 << 20;
	co.options = "refcount_bits=1";
	vt_ok(vstd_disk_create(P, &co));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, P, &oo));
	vt_ok(vstd_disk_write(d, 0, b, sizeof(b)));
	ck_assert_int_eq(vstd_disk_snapshot_create(d, "x"), VSTD_ERANGE);
	vstd_disk_close(d);
	ck_assert_msg(qt_qemu_check(P) == 0, "%s", vt_output());
}
END_TEST

int main(void)
{
	Suite *s = suite_create("qcow2-snapshot");
	TCase *tc = tcase_create("snapshot");
	vt_require_tool("qemu-img", "qemu-utils");
	vt_require_tool("qemu-io", "qemu-utils");
	qt_link_driver();
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, read_qemu_snapshots, 0, 4);
	tcase_add_loop_test(tc, create_apply_delete, 0, 4);
	tcase_add_test(tc, one_bit_refcounts);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
