/*
 * tests/disk/qcow2/test_repair.c - check -r all on entries whose target
 * cannot exist: L2 entries with unaligned offsets or past the end of the
 * file (data, preallocated zero, compressed), L1 entries naming such L2
 * tables.  Each corrupt image is also repaired by `qemu-img check -r all`
 * on a copy; vstd's result must pass `qemu-img check` whenever qemu's does
 * (and here also where qemu leaves errors), must read as the original with
 * only the unrecoverable clusters as zeroes, and is never left worse.
 */
#include <unistd.h>

#include "qtest.h"

#define CS 65536u

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void put64(FILE *f, uint64_t off, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	ck_assert(fseek(f, (long)off, SEEK_SET) == 0);
	ck_assert_uint_eq(fwrite(b, 1, 8, f), 8);
}

static uint64_t get64(FILE *f, uint64_t off)
{
	uint8_t b[8];
	ck_assert(fseek(f, (long)off, SEEK_SET) == 0);
	ck_assert_uint_eq(fread(b, 1, 8, f), 8);
	return be64(b);
}

enum what { L2_UNALIGNED, L2_PAST_EOF, ZERO_ALLOC_UNALIGNED, L1_PAST_EOF, L1_UNALIGNED };

static const struct {
	const char *opts;
	int backing;
	enum what w;
	int repaired; /* 1: vstd must leave a clean image */
} cases[] = {
        {"compat=1.1", 0, L2_UNALIGNED, 1},         {"compat=1.1", 0, L2_PAST_EOF, 1},
        {"compat=1.1", 0, ZERO_ALLOC_UNALIGNED, 1}, {"compat=1.1", 0, L1_PAST_EOF, 1},
        {"compat=1.1", 0, L1_UNALIGNED, 1},         {"compat=0.10", 0, L2_PAST_EOF, 1},
        {"compat=1.1", 1, L2_PAST_EOF, 1},          {"compat=0.10", 1, L2_PAST_EOF, 0},
        {"extended_l2=on", 0, L2_PAST_EOF, 1},
};

START_TEST(repair_impossible_entries)
{
	const char *p = vt_path("rep.qcow2"), *q = vt_path("rep-qemu.qcow2");
	const char *e = vt_path("rep-expected.raw"), *b = vt_path("rep-base.raw");
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk_check_result r;
	vstd_disk *d = NULL;
	uint64_t l1, l2, zero_from = 0, zero_len = 0;
	int qrc, qafter, after;
	FILE *f;
	unlink(p);
	if (cases[_i].backing) {
		ck_assert(vt_run("qemu-img create -q -f raw '%s' 4M && qemu-io -f raw -c 'write -P "
		                 "0x33 0 4M' '%s' >/dev/null && qemu-img create -q -f qcow2 -o %s "
		                 "-b '%s' -F raw '%s' 4M",
		                 b, b, cases[_i].opts, b, p) == 0);
	} else {
		ck_assert(vt_run("qemu-img create -q -f qcow2 -o %s '%s' 4M", cases[_i].opts, p) ==
		          0);
	}
	ck_assert_msg(vt_run("qemu-io -c 'write -P 1 0 256k' -c 'write -z 128k 64k' '%s' "
	                     ">/dev/null",
	                     p) == 0,
	              "%s", vt_output());
	ck_assert(vt_run("qemu-img convert -O raw '%s' '%s'", p, e) == 0);
	/* patch */
	f = fopen(p, "r+b");
	ck_assert_ptr_nonnull(f);
	l1 = get64(f, 40);
	l2 = get64(f, l1) & 0x00fffffffffffe00ull;
	{
		unsigned esz = strstr(cases[_i].opts, "extended_l2") ? 16 : 8;
		uint64_t e1 = get64(f, l2 + esz), e2 = get64(f, l2 + 2 * esz);
		switch (cases[_i].w) {
		case L2_UNALIGNED:
			put64(f, l2 + esz, e1 | 0x200);
			zero_from = CS;
			zero_len = CS;
			break;
		case L2_PAST_EOF:
			put64(f, l2 + esz, ((uint64_t)1 << 40) | (e1 & (1ull << 63)));
			zero_from = CS;
			zero_len = CS;
			break;
		case ZERO_ALLOC_UNALIGNED:
			ck_assert(e2 & 1); /* qemu kept the host cluster of the zero cluster */
			put64(f, l2 + 2 * esz, e2 | 0x200);
			break;
		case L1_PAST_EOF:
			put64(f, l1, ((uint64_t)1 << 40) | (1ull << 63));
			zero_from = 0;
			zero_len = 4u << 20;
			break;
		case L1_UNALIGNED:
			put64(f, l1, get64(f, l1) | 0x200);
			zero_from = 0;
			zero_len = 4u << 20;
			break;
		}
	}
	fclose(f);
	ck_assert_int_eq(qt_qemu_check(p), 2);
	/* qemu's repair on a copy */
	ck_assert(vt_run("cp '%s' '%s'", p, q) == 0);
	qrc = vt_run("qemu-img check -r all '%s'", q);
	qafter = qt_qemu_check(q);
	/* ours */
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, p, &oo));
	memset(&r, 0, sizeof(r));
	vt_ok(vstd_disk_check(d, VSTD_CHECK_REPAIR_LEAKS | VSTD_CHECK_REPAIR_ERRORS, &r));
	vstd_disk_close(d);
	after = qt_qemu_check(p);
	fprintf(stderr,
	        "case %d (%s%s, %d): qemu -r all exit %d then check %d; vstd fixed %" PRIu64
	        ", left %" PRIu64 ", then qemu-img check %d\n",
	        _i, cases[_i].opts, cases[_i].backing ? ", backing" : "", cases[_i].w, qrc, qafter,
	        r.corruptions_fixed, r.corruptions, after);
	/* never worse than qemu's repair */
	if (qafter == 0)
		ck_assert_int_eq(after, 0);
	if (cases[_i].repaired) {
		ck_assert_msg(after == 0, "%s\n%s", r.report ? r.report : "", vt_output());
		ck_assert_uint_gt(r.corruptions_fixed, 0);
		ck_assert_ptr_nonnull(strstr(r.report, "Repairing"));
		/* contents: the original, unrecoverable clusters as zeroes (v3 or
		 * no backing), read by qemu */
		if (zero_len > 0) {
			f = fopen(e, "r+b");
			ck_assert_ptr_nonnull(f);
			ck_assert(fseek(f, (long)zero_from, SEEK_SET) == 0);
			for (uint64_t i = 0; i < zero_len; i++)
				fputc(0, f);
			fclose(f);
		}
		ck_assert_msg(vt_run("qemu-img compare -F raw '%s' '%s'", p, e) == 0, "%s",
		              vt_output());
		if (qafter == 0)
			ck_assert(vt_run("qemu-img compare '%s' '%s'", p, q) == 0);
	} else {
		/* nothing can read as zeroes there: left as it was, still reported */
		ck_assert_int_eq(after, 2);
		ck_assert_uint_gt(r.corruptions, 0);
	}
	vstd_disk_check_result_clear(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("qcow2-repair");
	TCase *tc = tcase_create("repair");
	vt_require_tool("qemu-img", "qemu-utils");
	vt_require_tool("qemu-io", "qemu-utils");
	qt_link_driver();
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, repair_impossible_entries, 0,
	                    (int)(sizeof(cases) / sizeof(cases[0])));
	suite_add_tcase(s, tc);
	return vt_main(s);
}
