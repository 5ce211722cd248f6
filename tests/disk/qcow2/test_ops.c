/*
 * tests/disk/qcow2/test_ops.c - whole-image hooks: measure (numbers equal
 * to qemu-img measure), amend, set_backing, make_empty, and images vstd
 * can only describe (encryption).
 */
#include <inttypes.h>
#include <unistd.h>

#include "qtest.h"

static uint64_t field(const char *text, const char *name)
{
	const char *p = strstr(text, name);
	ck_assert_msg(p != NULL, "no '%s' in %s", name, text);
	return strtoull(p + strlen(name), NULL, 10);
}

START_TEST(measure_like_qemu)
{
	static const char *const opts[] = {"",
	                                   "cluster_size=512",
	                                   "cluster_size=2M",
	                                   "refcount_bits=64,cluster_size=4096",
	                                   "extended_l2=on",
	                                   "refcount_bits=1"};
	static const uint64_t sizes[] = {1ull << 30, 100ull << 30, 12345678};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		vstd_disk_measure_result r;
		ck_assert(vt_run("qemu-img measure -O qcow2 %s%s --size %" PRIu64,
		                 opts[_i][0] ? "-o " : "", opts[_i], sizes[i]) == 0);
		vt_ok(vstd_disk_measure("qcow2", opts[_i], sizes[i], NULL, &r));
		ck_assert_uint_eq(r.required, field(vt_output(), "required size: "));
		ck_assert_uint_eq(r.fully_allocated, field(vt_output(), "fully allocated size: "));
	}
}
END_TEST

START_TEST(measure_source)
{
	const char *p = vt_path("src.qcow2");
	vstd_disk_measure_result r;
	vstd_disk *d = NULL;
	ck_assert(vt_run("qemu-img create -f qcow2 '%s' 10M", p) == 0);
	ck_assert(vt_run("qemu-io -c 'write -P 1 0 1M' -c 'write -z 5M 1M' -c 'write -P 2 8M 3000' "
	                 "'%s'",
	                 p) == 0);
	ck_assert(vt_run("qemu-img measure -O qcow2 -o cluster_size=4096 '%s'", p) == 0);
	vt_ok(vstd_disk_open(&d, p, NULL));
	vt_ok(vstd_disk_measure("qcow2", "cluster_size=4096", vstd_disk_size(d), d, &r));
	ck_assert_uint_eq(r.required, field(vt_output(), "required size: "));
	ck_assert_uint_eq(r.fully_allocated, field(vt_output(), "fully allocated size: "));
	vstd_disk_close(d);
	ck_assert_int_eq(vstd_disk_measure("qcow2", "cluster_size=512", 3ull << 40, NULL, &r),
	                 VSTD_EINVAL);
}
END_TEST

START_TEST(amend)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	const char *p = vt_path("am.qcow2");
	vstd_disk *d = NULL;
	ck_assert(vt_run("qemu-img create -f qcow2 -o compat=0.10 '%s' 4M", p) == 0);
	ck_assert(vt_run("qemu-io -c 'write -P 9 0 100k' '%s'", p) == 0);
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, p, &oo));
	vt_ok(vstd_disk_amend(d, "compat=1.1,lazy_refcounts=on", NULL, NULL));
	ck_assert_int_eq(vstd_disk_amend(d, "compat=0.10,refcount_bits=8", NULL, NULL),
	                 VSTD_ENOTSUP);
	vstd_disk_close(d);
	ck_assert_msg(qt_qemu_check(p) == 0, "%s", vt_output());
	ck_assert(vt_run("qemu-img info '%s' | grep -q 'compat: 1.1'", p) == 0);
	ck_assert(vt_run("qemu-img info '%s' | grep -q 'lazy refcounts: true'", p) == 0);
	ck_assert(vt_run("qemu-io -r -c 'read -P 9 0 100k' '%s'", p) == 0);
	/* refcount width: every size, data kept, qemu agrees */
	{
		static const char *const widths[] = {"8", "1", "64", "2", "16"};
		for (size_t i = 0; i < 5; i++) {
			char o[32];
			snprintf(o, sizeof(o), "refcount_bits=%s", widths[i]);
			vt_ok(vstd_disk_open(&d, p, &oo));
			vt_ok(vstd_disk_amend(d, o, NULL, NULL));
			vstd_disk_close(d);
			ck_assert_msg(qt_qemu_check(p) == 0, "%s: %s", o, vt_output());
			ck_assert(vt_run("qemu-img info '%s' | grep -q 'refcount bits: %s$'", p,
			                 widths[i]) == 0);
			ck_assert(vt_run("qemu-io -r -c 'read -P 9 0 100k' '%s'", p) == 0);
		}
	}
	/* a snapshot shares clusters: 1-bit refcounts cannot hold that */
	ck_assert(vt_run("qemu-img snapshot -c s '%s'", p) == 0);
	vt_ok(vstd_disk_open(&d, p, &oo));
	ck_assert_int_eq(vstd_disk_amend(d, "refcount_bits=1", NULL, NULL), VSTD_ERANGE);
	vt_ok(vstd_disk_amend(d, "refcount_bits=4", NULL, NULL));
	vstd_disk_close(d);
	ck_assert_msg(qt_qemu_check(p) == 0, "%s", vt_output());
}
END_TEST

START_TEST(set_backing_and_make_empty)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	const char *base = vt_path("b.raw"), *top = vt_path("t.qcow2");
	vstd_disk *d = NULL;
	uint8_t b[65536];
	memset(b, 0x3c, sizeof(b));
	vt_write_file(base, b, sizeof(b));
	ck_assert(vt_run("qemu-img create -f qcow2 -o cluster_size=4096 '%s' 64k", top) == 0);
	ck_assert(vt_run("qemu-io -c 'write -P 0x11 0 4k' '%s'", top) == 0);
	oo.flags = VSTD_DISK_RDWR | VSTD_DISK_NO_BACKING;
	vt_ok(vstd_disk_open(&d, top, &oo));
	vt_ok(d->drv->set_backing(d, "b.raw", "raw"));
	vstd_disk_close(d);
	ck_assert_msg(qt_qemu_check(top) == 0, "%s", vt_output());
	ck_assert(vt_run("qemu-img info '%s' | grep -q 'backing file format: raw'", top) == 0);
	ck_assert(vt_run("qemu-io -r -c 'read -P 0x3c 4k 60k' -c 'read -P 0x11 0 4k' '%s'", top) ==
	          0);
	qt_same_as_qemu(top);
	vt_ok(vstd_disk_open(&d, top, &oo));
	vt_ok(d->drv->make_empty(d));
	vstd_disk_close(d);
	ck_assert_msg(qt_qemu_check(top) == 0, "%s", vt_output());
	ck_assert(vt_run("qemu-io -r -c 'read -P 0x3c 0 64k' '%s'", top) == 0);
	/* and no backing at all */
	vt_ok(vstd_disk_open(&d, top, &oo));
	vt_ok(d->drv->set_backing(d, NULL, NULL));
	vstd_disk_close(d);
	ck_assert(vt_run("qemu-img info '%s' | grep -q 'backing file'", top) != 0);
	ck_assert_msg(qt_qemu_check(top) == 0, "%s", vt_output());
}
END_TEST

START_TEST(encrypted_reported)
{
	const char *p = vt_path("enc.qcow2");
	vstd_disk_info *info = NULL;
	vstd_disk *d = NULL;
	uint8_t b[512];
	ck_assert(
	        vt_run("qemu-img create --object secret,id=s0,data=pw -f qcow2 "
	               "-o encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10 '%s' 1M",
	               p) == 0);
	ck_assert(
	        vt_run("qemu-io --object secret,id=s0,data=pw --image-opts "
	               "-c 'write -P 1 0 4k' driver=qcow2,file.filename='%s',encrypt.key-secret=s0",
	               p) == 0);
	vt_ok(vstd_disk_open(&d, p, NULL));
	vt_ok(vstd_disk_info_get(d, &info));
	ck_assert_int_eq(info->encrypted, 1);
	ck_assert_ptr_nonnull(strstr(info->format_specific_json, "luks"));
	vstd_disk_info_free(info);
	ck_assert_int_eq(vstd_disk_read(d, 0, b, sizeof(b)), VSTD_ENOTSUP);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "encrypted"));
	vstd_disk_close(d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("qcow2-ops");
	TCase *tc = tcase_create("ops");
	vt_require_tool("qemu-img", "qemu-utils");
	vt_require_tool("qemu-io", "qemu-utils");
	qt_link_driver();
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, measure_like_qemu, 0, 6);
	tcase_add_test(tc, measure_source);
	tcase_add_test(tc, amend);
	tcase_add_test(tc, set_backing_and_make_empty);
	tcase_add_test(tc, encrypted_reported);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
