/*
 * tests/disk/test_chain.c - backing chains, made by qemu-img, opened by vstd:
 * read-through and map depth, relative names, the backing-format rules,
 * missing files, loops and depth limits.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vtest.h"

#define MiB (1 << 20)

static void qemu_img(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void qemu_img(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ck_assert_msg(vt_run("cd '%s' && qemu-img %s", vt_tmpdir(), cmd) == 0, "qemu-img %s: %s",
	              cmd, vt_output());
}

static void qemu_io(const char *args)
{
	ck_assert_msg(vt_run("cd '%s' && qemu-io %s", vt_tmpdir(), args) == 0, "qemu-io %s: %s",
	              args, vt_output());
}

/* qemu-img 7 always records a backing format; remove the header extension
 * (magic 0xE2792ACA) to make an image as older tools wrote them. */
static void drop_backing_format(const char *path)
{
	uint8_t buf[4096];
	FILE *f = fopen(path, "r+b");
	size_t n;
	int found = 0;
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf), f);
	for (size_t i = 104; i + 4 <= n && !found; i += 4) {
		if (buf[i] == 0xE2 && buf[i + 1] == 0x79 && buf[i + 2] == 0x2A &&
		    buf[i + 3] == 0xCA) {
			ck_assert_int_eq(fseek(f, (long)i, SEEK_SET), 0);
			ck_assert_uint_eq(fwrite("\0\0\0\0", 1, 4, f), 4);
			found = 1;
		}
	}
	fclose(f);
	ck_assert_msg(found, "no backing format extension in %s", path);
}

/* base.raw <- mid.qcow2 <- top.qcow2, each layer writing its own MiB. */
static void make_chain(void)
{
	qemu_img("create -q -f raw base.raw 8M");
	qemu_io("-f raw -c 'write -P 0x11 0 1M' -c 'write -P 0x12 2M 1M' base.raw");
	qemu_img("create -q -f qcow2 -b base.raw -F raw mid.qcow2");
	qemu_io("-f qcow2 -c 'write -P 0x22 1M 1M' -c 'write -z 2M 512k' mid.qcow2");
	qemu_img("create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2");
	qemu_io("-f qcow2 -c 'write -P 0x33 3M 1M' top.qcow2");
}

static int all_bytes(const uint8_t *b, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != v)
			return 0;
	return 1;
}

START_TEST(read_through_and_map)
{
	vstd_disk *d = NULL;
	vstd_block_status st;
	uint8_t *buf = malloc(MiB);
	make_chain();
	vt_ok(vstd_disk_open(&d, vt_path("top.qcow2"), NULL));
	ck_assert_str_eq(vstd_disk_format(d), "qcow2");
	ck_assert_ptr_nonnull(vstd_disk_backing(d));
	ck_assert_str_eq(vstd_disk_format(vstd_disk_backing(d)), "qcow2");
	ck_assert_str_eq(vstd_disk_format(vstd_disk_backing(vstd_disk_backing(d))), "raw");
	vt_ok(vstd_disk_read(d, 0, buf, MiB));
	ck_assert(all_bytes(buf, MiB, 0x11));
	vt_ok(vstd_disk_read(d, MiB, buf, MiB));
	ck_assert(all_bytes(buf, MiB, 0x22));
	vt_ok(vstd_disk_read(d, 2 * MiB, buf, MiB));
	ck_assert(all_bytes(buf, MiB / 2, 0x00));
	ck_assert(all_bytes(buf + MiB / 2, MiB / 2, 0x12));
	vt_ok(vstd_disk_read(d, 3 * MiB, buf, MiB));
	ck_assert(all_bytes(buf, MiB, 0x33));
	vt_ok(vstd_disk_map(d, 3 * MiB, MiB, &st));
	ck_assert_uint_eq(st.depth, 0);
	ck_assert(st.flags & VSTD_BLOCK_DATA);
	vt_ok(vstd_disk_map(d, MiB, MiB, &st));
	ck_assert_uint_eq(st.depth, 1);
	vt_ok(vstd_disk_map(d, 0, MiB, &st));
	ck_assert_uint_eq(st.depth, 2);
	/* the whole chain reads like qemu-img's flattened copy */
	qemu_img("convert -f qcow2 -O raw top.qcow2 flat.raw");
	ck_assert_int_eq(vt_run("'%s' img compare -f qcow2 -F raw '%s' '%s'", vt_cli(),
	                        vt_path("top.qcow2"), vt_path("flat.raw")),
	                 0);
	vstd_disk_close(d);
	free(buf);
}
END_TEST

START_TEST(no_backing_flag)
{
	vstd_disk *d = NULL;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	uint8_t buf[512];
	make_chain();
	oo.flags = VSTD_DISK_NO_BACKING;
	vt_ok(vstd_disk_open(&d, vt_path("top.qcow2"), &oo));
	ck_assert_ptr_null(vstd_disk_backing(d));
	vt_ok(vstd_disk_read(d, 0, buf, sizeof(buf)));
	ck_assert(all_bytes(buf, sizeof(buf), 0));
	vstd_disk_close(d);
}
END_TEST

START_TEST(missing_backing_is_named)
{
	vstd_disk *d = NULL;
	make_chain();
	ck_assert_int_eq(vt_run("mv '%s' '%s'", vt_path("mid.qcow2"), vt_path("moved.qcow2")), 0);
	ck_assert_int_eq(vstd_disk_open(&d, vt_path("top.qcow2"), NULL), VSTD_ENOENT);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "mid.qcow2"));
	ck_assert_ptr_null(d);
}
END_TEST

START_TEST(backing_format_must_be_known)
{
	vstd_disk *d = NULL;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	qemu_img("create -q -f qcow2 base.qcow2 4M");
	qemu_img("create -q -f raw base.raw 4M");
	/* an overlay that records no backing format */
	qemu_img("create -q -f qcow2 -b base.qcow2 -F qcow2 over.qcow2");
	drop_backing_format(vt_path("over.qcow2"));
	ck_assert_int_eq(vstd_disk_open(&d, vt_path("over.qcow2"), NULL), VSTD_EPERM);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "does not record the format"));
	oo.flags = VSTD_DISK_PROBE_BACKING;
	vt_ok(vstd_disk_open(&d, vt_path("over.qcow2"), &oo));
	ck_assert_str_eq(vstd_disk_format(vstd_disk_backing(d)), "qcow2");
	vstd_disk_close(d);
	d = NULL;
	/* probing is never allowed to conclude "raw" */
	qemu_img("create -q -f qcow2 -b base.raw -F raw over.qcow2");
	drop_backing_format(vt_path("over.qcow2"));
	ck_assert_int_eq(vstd_disk_open(&d, vt_path("over.qcow2"), &oo), VSTD_EPERM);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "probes as raw"));
	/* the caller may say what it is */
	oo.backing_format = "raw";
	oo.flags = 0;
	vt_ok(vstd_disk_open(&d, vt_path("over.qcow2"), &oo));
	ck_assert_str_eq(vstd_disk_format(vstd_disk_backing(d)), "raw");
	vstd_disk_close(d);
}
END_TEST

START_TEST(loops_are_refused)
{
	vstd_disk *d = NULL;
	qemu_img("create -q -f qcow2 a.qcow2 4M");
	qemu_img("create -q -f qcow2 -b a.qcow2 -F qcow2 b.qcow2");
	qemu_img("rebase -q -u -b b.qcow2 -F qcow2 a.qcow2");
	ck_assert_int_eq(vstd_disk_open(&d, vt_path("b.qcow2"), NULL), VSTD_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "loops"));
	/* an image naming itself */
	qemu_img("rebase -q -u -b a.qcow2 -F qcow2 a.qcow2");
	ck_assert_int_eq(vstd_disk_open(&d, vt_path("a.qcow2"), NULL), VSTD_ECORRUPT);
}
END_TEST

START_TEST(depth_is_bounded)
{
	vstd_disk *d = NULL;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	/* 300 layers: above the default limit of 256 */
	ck_assert_msg(vt_run("cd '%s' && qemu-img create -q -f qcow2 l0.qcow2 1M && "
	                     "for i in $(seq 1 300); do qemu-img create -q -f qcow2 "
	                     "-b l$((i - 1)).qcow2 -F qcow2 -u l$i.qcow2 1M || exit 1; done",
	                     vt_tmpdir()) == 0,
	              "making the chain: %s", vt_output());
	ck_assert_int_eq(vstd_disk_open(&d, vt_path("l300.qcow2"), NULL), VSTD_ELIMIT);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "deeper than 256"));
	vt_ok(vstd_disk_open(&d, vt_path("l200.qcow2"), NULL));
	vstd_disk_close(d);
	d = NULL;
	oo.max_chain_depth = 5;
	ck_assert_int_eq(vstd_disk_open(&d, vt_path("l6.qcow2"), &oo), VSTD_ELIMIT);
	vt_ok(vstd_disk_open(&d, vt_path("l5.qcow2"), &oo));
	vstd_disk_close(d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("disk/chain");
	TCase *tc = tcase_create("chain");
	vt_require_tool("qemu-img", "qemu-utils");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, read_through_and_map);
	tcase_add_test(tc, no_backing_flag);
	tcase_add_test(tc, missing_backing_is_named);
	tcase_add_test(tc, backing_format_must_be_known);
	tcase_add_test(tc, loops_are_refused);
	tcase_add_test(tc, depth_is_bounded);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
