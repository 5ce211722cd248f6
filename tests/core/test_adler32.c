/*
 * tests/core/test_adler32.c - vstd_adler32 (vectorised and scalar) against
 * zlib's adler32 for every length up to a few NMAX runs, odd alignments,
 * worst-case bytes (all 0xff: the largest sums, where an overflow would
 * show) and chained calls.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/adler32.h"
#include "vtest.h"

static uint8_t *pattern(size_t n, unsigned seed)
{
	uint8_t *p = malloc(n);
	uint32_t x = seed * 2654435761u + 1;
	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
	return p;
}

START_TEST(matches_zlib_every_length)
{
	const size_t max = 3 * 5552 + 100;
	uint8_t *p = pattern(max + 16, 7);
	for (size_t n = 0; n <= max; n += (n < 300 ? 1 : 37)) {
		for (size_t a = 0; a < 3; a++) {
			uint32_t want = (uint32_t)adler32(1, p + a, (uInt)n);
			ck_assert_msg(vstd_adler32(1, p + a, n) == want,
			              "length %zu, offset %zu: 0x%08x, zlib 0x%08x", n, a,
			              vstd_adler32(1, p + a, n), want);
		}
	}
	free(p);
}
END_TEST

START_TEST(worst_case_bytes)
{
	size_t sizes[] = {5552, 5553, 5536, 65536, 65536 * 4 + 31, 1 << 20};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *p = malloc(sizes[i]);
		ck_assert_ptr_nonnull(p);
		memset(p, 0xff, sizes[i]);
		/* start from the largest sums too */
		uint32_t start = (65520u << 16) | 65520u;
		ck_assert_uint_eq(vstd_adler32(1, p, sizes[i]), adler32(1, p, (uInt)sizes[i]));
		ck_assert_uint_eq(vstd_adler32(start, p, sizes[i]),
		                  adler32(start, p, (uInt)sizes[i]));
		free(p);
	}
}
END_TEST

START_TEST(chained)
{
	const size_t n = 200000;
	uint8_t *p = pattern(n, 3);
	uint32_t a = 1, z = (uint32_t)adler32(1, p, (uInt)n);
	size_t pos = 0, step = 1;
	while (pos < n) {
		size_t k = n - pos < step ? n - pos : step;
		a = vstd_adler32(a, p + pos, k);
		pos += k;
		step = step * 3 + 1;
	}
	ck_assert_uint_eq(a, z);
	/* a changed byte changes the sum */
	p[n / 2] ^= 1;
	ck_assert_uint_ne(vstd_adler32(1, p, n), z);
	free(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core/adler32");
	TCase *tc = tcase_create("adler32");
	tcase_add_test(tc, matches_zlib_every_length);
	tcase_add_test(tc, worst_case_bytes);
	tcase_add_test(tc, chained);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
