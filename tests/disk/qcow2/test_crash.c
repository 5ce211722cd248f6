/*
 * tests/disk/qcow2/test_crash.c - crash safety.  A write workload runs on
 * an image held in memory behind the fault wrapper, which keeps writes
 * until a flush and "crashes" just before write number N (dropping all
 * unflushed writes).  For every N the surviving bytes must pass
 * `qemu-img check` as clean or with leaks only (exit 0 or 3).
 */
#include <unistd.h>

#include "core/kv.h"
#include "qtest.h"

struct setup {
	const char *options;
	uint64_t size;
};

static const struct setup setups[] = {
        {"cluster_size=4096", 8u << 20},
        {"cluster_size=512,refcount_bits=64", 2u << 20}, /* refcount blocks and table grow */
        {"extended_l2=on,cluster_size=16k,refcount_bits=4", 8u << 20},
};

/* The workload; errors after the crash are expected and ignored. */
static void workload(vstd_disk *d, uint64_t size)
{
	static uint8_t buf[100000];
	uint64_t x = 12345;
	for (int i = 0; i < 25; i++) {
		uint64_t off, len;
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		off = (x >> 11) % size;
		len = 1 + (x >> 40) % sizeof(buf);
		if (off + len > size)
			len = size - off;
		memset(buf, (int)(i + 1), len);
		if (i % 9 == 8)
			(void)vstd_disk_write_zeroes(d, off, len, VSTD_IO_ZERO_MAY_UNMAP);
		else if (i % 11 == 10)
			(void)vstd_disk_discard(d, off, len);
		else
			(void)vstd_disk_write(d, off, buf, len);
		if (i % 5 == 4)
			(void)vstd_disk_flush(d);
	}
	(void)vstd_disk_flush(d);
}

/* Create an image in memory; returns its bytes. */
static uint8_t *create_in_memory(const struct setup *st, size_t *len)
{
	struct vstd_disk_create_args a;
	const struct vstd_disk_driver *drv = vstd_disk_driver_find("qcow2");
	vstd_io *io = NULL;
	const void *data;
	uint8_t *copy;
	memset(&a, 0, sizeof(a));
	a.path = "crash.qcow2";
	a.size = st->size;
	vt_ok(vstd_kv_parse(&a.options, st->options, "-o"));
	vt_ok(vstd_io_mem_new(&io, NULL, 0, 0, VSTD_IO_WRITE));
	vt_ok(drv->create(io, &a));
	vt_ok(vstd_io_mem_contents(io, &data, len));
	copy = malloc(*len);
	memcpy(copy, data, *len);
	vstd_io_close(io);
	vstd_kv_free(a.options);
	return copy;
}

static void workload_op(vstd_disk *d, void *arg)
{
	workload(d, *(const uint64_t *)arg);
}

/* Run the workload crashing before write n (0: never); returns writes seen. */
static unsigned long run(const uint8_t *base, size_t base_len, uint64_t size, unsigned long n,
                         const char *save)
{
	struct vt_crash c;
	vt_ok(vt_crash_run(base, base_len, "qcow2", NULL, n, 0, workload_op, &size, &c));
	vt_write_file(save, c.after, c.after_len);
	free(c.after);
	return c.writes;
}

START_TEST(crash_every_write)
{
	const struct setup *st = &setups[_i];
	const char *p = vt_path("crashed.qcow2");
	size_t base_len;
	uint8_t *base = create_in_memory(st, &base_len);
	unsigned long total = run(base, base_len, st->size, 0, p), leaks = 0;
	ck_assert_msg(qt_qemu_check(p) == 0, "no crash: %s", vt_output());
	ck_assert_uint_gt(total, 10);
	for (unsigned long n = 1; n <= total; n++) {
		int rc;
		run(base, base_len, st->size, n, p);
		rc = qt_qemu_check(p);
		ck_assert_msg(rc == 0 || rc == 3,
		              "crash before write %lu of %lu: qemu-img check %d: %s", n, total, rc,
		              vt_output());
		leaks += rc == 3;
	}
	fprintf(stderr, "%s: %lu crash points, %lu left leaks\n", st->options, total, leaks);
	free(base);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("qcow2-crash");
	TCase *tc = tcase_create("crash");
	vt_require_tool("qemu-img", "qemu-utils");
	qt_link_driver();
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, crash_every_write, 0, (int)(sizeof(setups) / sizeof(setups[0])));
	suite_add_tcase(s, tc);
	return vt_main(s);
}
