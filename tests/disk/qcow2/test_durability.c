/*
 * tests/disk/qcow2/test_durability.c - crash safety with a model of what
 * must survive.  A workload (writes, zeroes, discards, flushes and internal
 * snapshot create/apply/delete) runs on an image in memory behind the fault
 * wrapper, which keeps writes until a flush and "crashes" just before write
 * number N.  For every N:
 *   - without lazy refcounts, `qemu-img check` must find the crashed image
 *     clean or with leaks only;
 *   - with lazy refcounts, the image may be dirty (refcounts stale); both
 *     vstd (opening it writable) and `qemu-img check -r all` (on a copy)
 *     must repair it to a clean image, and the two repaired images must
 *     have the same contents (`qemu-img compare`);
 *   - every byte not touched since the last flush that returned success
 *     reads back as the model says, and so does every snapshot known to be
 *     durable; snapshots known to be deleted are gone.
 */
#include <unistd.h>

#include "core/kv.h"
#include "qtest.h"

#define SIZE ((uint64_t)4 << 20)
#define MAX_SNAPS 4

enum op_kind { W, Z, D, F, SC, SA, SD };
struct op {
	enum op_kind k;
	uint64_t off, len;
	int arg; /* fill byte, or snapshot number */
};

/* writes, zeroes, discards and flushes over a 4 MiB disk */
static const struct op plain[] = {
        {W, 0, 300000, 1},       {W, 1000000, 70000, 2},  {F, 0, 0, 0}, {W, 65536, 5000, 3},
        {W, 3000000, 200000, 4}, {Z, 1000000, 65536, 0},  {F, 0, 0, 0}, {D, 0, 131072, 0},
        {W, 2000000, 123457, 5}, {W, 4000000, 194304, 6}, {F, 0, 0, 0}, {W, 100, 1, 7},
        {D, 2949120, 262144, 0}, {W, 3100000, 8192, 8},   {F, 0, 0, 0}, {W, 500000, 600000, 9},
};

/* the same with internal snapshots taken, applied and deleted */
static const struct op snaps[] = {
        {W, 0, 300000, 1},      {F, 0, 0, 0},  {SC, 0, 0, 0},  {W, 65536, 5000, 3},
        {W, 3000000, 70000, 4}, {F, 0, 0, 0},  {SC, 0, 0, 1},  {D, 0, 131072, 0},
        {F, 0, 0, 0},           {SA, 0, 0, 0}, {W, 100, 1, 7}, {F, 0, 0, 0},
        {SD, 0, 0, 1},          {F, 0, 0, 0},  {SD, 0, 0, 0},  {W, 3100000, 8192, 8},
};

struct setup {
	const char *options;
	const struct op *ops;
	size_t n_ops;
	int lazy;
};

static const struct setup setups[] = {
        {"lazy_refcounts=on,cluster_size=4096", plain, sizeof(plain) / sizeof(plain[0]), 1},
        {"cluster_size=65536,refcount_bits=4", snaps, sizeof(snaps) / sizeof(snaps[0]), 0},
        {"lazy_refcounts=on,cluster_size=4096", snaps, sizeof(snaps) / sizeof(snaps[0]), 1},
};

/* What the workload knows: current contents, contents at the last
 * successful flush, bytes touched since, snapshot states. */
struct model {
	uint8_t *cur, *durable, *touched;
	uint8_t *snap[MAX_SNAPS];  /* contents when taken */
	int snap_state[MAX_SNAPS]; /* 0 none, 1 maybe, 2 durable, 3 maybe deleted, 4 deleted */
};

static void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	m->cur = calloc(1, SIZE);
	m->durable = calloc(1, SIZE);
	m->touched = calloc(1, SIZE);
	ck_assert(m->cur && m->durable && m->touched);
}

static void model_free(struct model *m)
{
	free(m->cur);
	free(m->durable);
	free(m->touched);
	for (int i = 0; i < MAX_SNAPS; i++)
		free(m->snap[i]);
}

static void run_ops(vstd_disk *d, const struct setup *st, struct model *m)
{
	static uint8_t buf[1 << 20];
	char name[16];
	for (size_t i = 0; i < st->n_ops; i++) {
		const struct op *o = &st->ops[i];
		snprintf(name, sizeof(name), "s%d", o->arg);
		switch (o->k) {
		case W:
			memset(buf, o->arg, o->len);
			(void)vstd_disk_write(d, o->off, buf, o->len);
			memset(m->cur + o->off, o->arg, o->len);
			memset(m->touched + o->off, 1, o->len);
			break;
		case Z:
		case D:
			if (o->k == Z)
				(void)vstd_disk_write_zeroes(d, o->off, o->len,
				                             VSTD_IO_ZERO_MAY_UNMAP);
			else
				(void)vstd_disk_discard(d, o->off, o->len);
			memset(m->cur + o->off, 0, o->len);
			memset(m->touched + o->off, 1, o->len);
			break;
		case F:
			if (vstd_disk_flush(d) == 0) {
				memcpy(m->durable, m->cur, SIZE);
				memset(m->touched, 0, SIZE);
				for (int k = 0; k < MAX_SNAPS; k++)
					if (m->snap_state[k] == 1 || m->snap_state[k] == 3)
						m->snap_state[k]++;
			}
			break;
		case SC:
			if (vstd_disk_snapshot_create(d, name) == 0) {
				m->snap[o->arg] = malloc(SIZE);
				memcpy(m->snap[o->arg], m->cur, SIZE);
				m->snap_state[o->arg] = 1;
			}
			break;
		case SA:
			if (m->snap[o->arg] == NULL)
				break;
			(void)vstd_disk_snapshot_apply(d, name);
			memcpy(m->cur, m->snap[o->arg], SIZE);
			memset(m->touched, 1, SIZE);
			break;
		case SD:
			if (vstd_disk_snapshot_delete(d, name) == 0 || m->snap_state[o->arg] != 0)
				m->snap_state[o->arg] = 3;
			break;
		}
	}
	(void)vstd_disk_flush(d);
}

static uint8_t *create_in_memory(const struct setup *st, size_t *len)
{
	struct vstd_disk_create_args a;
	const struct vstd_disk_driver *drv = vstd_disk_driver_find("qcow2");
	vstd_io *io = NULL;
	const void *data;
	uint8_t *copy;
	memset(&a, 0, sizeof(a));
	a.path = "durability.qcow2";
	a.size = SIZE;
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

struct ops_args {
	const struct setup *st;
	struct model *m;
};

static void ops_op(vstd_disk *d, void *arg)
{
	struct ops_args *a = arg;
	run_ops(d, a->st, a->m);
}

/* Run the workload crashing before write n (0: never, closing cleanly). */
static unsigned long run(const uint8_t *base, size_t base_len, const struct setup *st,
                         unsigned long n, const char *save, struct model *m, unsigned long *flushes)
{
	struct ops_args a = {st, m};
	struct vt_crash c;
	/* with a crash point: a crash after the last write too, no close */
	vt_ok(vt_crash_run(base, base_len, "qcow2", NULL, n, n != 0, ops_op, &a, &c));
	vt_write_file(save, c.after, c.after_len);
	free(c.after);
	*flushes = c.flushes;
	return c.writes;
}

/* Incompatible feature bit 0 of the image's header. */
static int dirty_bit(const char *path)
{
	uint8_t h[80];
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(h, 1, sizeof(h), f), sizeof(h));
	fclose(f);
	return h[4] == 0 && h[7] == 3 && (h[79] & 1);
}

/* The repaired image read by vstd agrees with the model. */
static void verify(const char *path, const struct model *m, unsigned long n)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk_snapshot *list = NULL;
	vstd_disk *d = NULL;
	size_t count = 0;
	uint8_t *got = malloc(SIZE);
	ck_assert_ptr_nonnull(got);
	oo.format = "qcow2";
	vt_ok(vstd_disk_open(&d, path, &oo));
	ck_assert_uint_eq(vstd_disk_size(d), SIZE);
	vt_ok(vstd_disk_read(d, 0, got, SIZE));
	for (uint64_t i = 0; i < SIZE; i++)
		if (!m->touched[i] && got[i] != m->durable[i])
			ck_abort_msg("crash %lu: flushed byte %" PRIu64 " lost: %u != %u", n, i,
			             got[i], m->durable[i]);
	vt_ok(vstd_disk_snapshot_list(d, &list, &count));
	for (int k = 0; k < MAX_SNAPS; k++) {
		char name[16];
		int found = 0;
		snprintf(name, sizeof(name), "s%d", k);
		for (size_t j = 0; j < count; j++)
			found |= strcmp(list[j].name, name) == 0;
		if (m->snap_state[k] == 4)
			ck_assert_msg(!found, "crash %lu: deleted snapshot %s is back", n, name);
		if (m->snap_state[k] == 2) {
			vstd_disk *v = NULL;
			ck_assert_msg(found, "crash %lu: durable snapshot %s lost", n, name);
			vt_ok(vstd_disk_snapshot_open(&v, d, name));
			vt_ok(vstd_disk_read(v, 0, got, SIZE));
			ck_assert_msg(memcmp(got, m->snap[k], SIZE) == 0,
			              "crash %lu: snapshot %s contents differ", n, name);
			vstd_disk_close(v);
		} else if (found) {
			/* a snapshot that may exist must at least be readable */
			vstd_disk *v = NULL;
			vt_ok(vstd_disk_snapshot_open(&v, d, name));
			vt_ok(vstd_disk_read(v, 0, got, SIZE));
			vstd_disk_close(v);
		}
	}
	vstd_disk_snapshot_list_free(list, count);
	vstd_disk_close(d);
	free(got);
}

START_TEST(crash_every_write)
{
	const struct setup *st = &setups[_i];
	const char *p = vt_path("crashed.qcow2"), *q = vt_path("qemu-repaired.qcow2");
	size_t base_len;
	uint8_t *base = create_in_memory(st, &base_len);
	unsigned long total, stale = 0, leaks = 0, flushes, flushes_total;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	struct model m;
	model_init(&m);
	total = run(base, base_len, st, 0, p, &m, &flushes_total);
	model_free(&m);
	ck_assert_msg(qt_qemu_check(p) == 0, "no crash: %s", vt_output());
	{
		/* closed cleanly: the dirty bit (incompatible bit 0) is clear */
		size_t flen;
		uint8_t *img = qt_read_file(p, &flen);
		ck_assert_uint_eq(img[79] & 1, 0);
		free(img);
	}
	ck_assert_uint_gt(total, 10);
	oo.flags = VSTD_DISK_RDWR;
	for (unsigned long n = 1; n <= total + 1; n++) {
		vstd_disk *d = NULL;
		int rc, qrep = 0;
		model_init(&m);
		run(base, base_len, st, n, p, &m, &flushes);
		rc = qt_qemu_check(p);
		if (!st->lazy) {
			/* errors only inside a snapshot operation, which marks the
			 * image dirty for its length */
			ck_assert_msg(rc == 0 || rc == 3 || (rc == 2 && dirty_bit(p)),
			              "crash before write %lu of %lu: qemu-img check %d: %s", n,
			              total, rc, vt_output());
			leaks += rc == 3;
			stale += rc == 2;
		}
		if (st->lazy || rc == 2) {
			ck_assert_msg(rc == 0 || rc == 2 || rc == 3,
			              "crash before write %lu: qemu-img check %d: %s", n, rc,
			              vt_output());
			stale += st->lazy && rc == 2;
			/* qemu's repair on a copy */
			qrep = 1;
			ck_assert(vt_run("cp '%s' '%s'", p, q) == 0);
			ck_assert_msg(vt_run("qemu-img check -r all '%s'", q) == 0,
			              "crash before write %lu: qemu-img check -r all: %s", n,
			              vt_output());
		}
		/* vstd's repair: opening the image writable */
		vt_ok(vstd_disk_open(&d, p, &oo));
		vstd_disk_close(d);
		rc = qt_qemu_check(p);
		ck_assert_msg(rc == 0 || (!st->lazy && rc == 3),
		              "crash before write %lu: after vstd opened it: qemu-img check %d: %s",
		              n, rc, vt_output());
		if (qrep)
			ck_assert_msg(
			        vt_run("qemu-img compare '%s' '%s'", p, q) == 0,
			        "crash before write %lu: vstd's and qemu's repairs differ: %s", n,
			        vt_output());
		verify(p, &m, n);
		model_free(&m);
	}
	fprintf(stderr, "%s (%s): %lu crash points, %lu flushes, %lu stale refcounts, %lu leaks\n",
	        st->options, st->ops == snaps ? "snapshots" : "plain", total + 1, flushes_total,
	        stale, leaks);
	/* lazy refcounts really defer: some crash points leave stale refcounts */
	if (st->lazy)
		ck_assert_uint_gt(stale, 0);
	free(base);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("qcow2-durability");
	TCase *tc = tcase_create("durability");
	vt_require_tool("qemu-img", "qemu-utils");
	qt_link_driver();
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, crash_every_write, 0, (int)(sizeof(setups) / sizeof(setups[0])));
	suite_add_tcase(s, tc);
	return vt_main(s);
}
