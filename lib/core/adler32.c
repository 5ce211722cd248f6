/*
 * core/adler32.c - Adler-32, scalar and SSSE3.
 *
 * s1 = 1 + sum of the bytes, s2 = sum of the successive s1 values, both
 * modulo 65521; the checksum is s2 << 16 | s1.  Both sums may run unreduced
 * for NMAX bytes: 255 n (n + 1) / 2 + (n + 1) (BASE - 1) stays below 2^32
 * for n = 5552.
 *
 * Vectorised over blocks of 32 bytes b[0..31], entered with s1: s1 grows
 * by the byte sum and s2 by 32 s1 + sum (32 - i) b[i].  The byte sums come
 * from PSADBW against zero, the weighted sums from PMADDUBSW (weights 32..1)
 * and PMADDWD, and the "32 s1" terms from a running total of the partial
 * s1 vectors, multiplied by 32 once per NMAX run.
 */
#include "core/adler32.h"

#define BASE 65521u
#define NMAX 5552u

static uint32_t adler32_scalar(uint32_t s1, uint32_t s2, const uint8_t *p, size_t len)
{
	while (len > 0) {
		size_t k = len < NMAX ? len : NMAX;
		len -= k;
		while (k >= 8) {
			s1 += p[0];
			s2 += s1;
			s1 += p[1];
			s2 += s1;
			s1 += p[2];
			s2 += s1;
			s1 += p[3];
			s2 += s1;
			s1 += p[4];
			s2 += s1;
			s1 += p[5];
			s2 += s1;
			s1 += p[6];
			s2 += s1;
			s1 += p[7];
			s2 += s1;
			p += 8;
			k -= 8;
		}
		while (k-- > 0) {
			s1 += *p++;
			s2 += s1;
		}
		s1 %= BASE;
		s2 %= BASE;
	}
	return s1 | (s2 << 16);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

/* Sum of the four 32-bit lanes, without overflow. */
__attribute__((target("ssse3"))) static uint64_t lanes_sum(__m128i v)
{
	uint32_t l[4];
	_mm_storeu_si128((__m128i *)l, v);
	return (uint64_t)l[0] + l[1] + l[2] + l[3];
}

__attribute__((target("ssse3"))) static uint32_t adler32_ssse3(uint32_t s1, uint32_t s2,
                                                               const uint8_t *p, size_t len)
{
	const __m128i w_first =
	        _mm_setr_epi8(32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17);
	const __m128i w_second =
	        _mm_setr_epi8(16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
	const __m128i ones = _mm_set1_epi16(1), zero = _mm_setzero_si128();
	while (len >= 32) {
		size_t blocks = len / 32;
		__m128i vs1 = zero, vs2 = zero, vps = zero;
		uint64_t t1, t2;
		if (blocks > NMAX / 32)
			blocks = NMAX / 32;
		len -= blocks * 32;
		s2 += (uint32_t)(blocks * 32) * s1;
		do {
			__m128i a = _mm_loadu_si128((const __m128i *)p);
			__m128i b = _mm_loadu_si128((const __m128i *)(p + 16));
			__m128i w = _mm_add_epi16(_mm_maddubs_epi16(a, w_first),
			                          _mm_maddubs_epi16(b, w_second));
			vps = _mm_add_epi32(vps, vs1);
			vs1 = _mm_add_epi32(
			        vs1, _mm_add_epi32(_mm_sad_epu8(a, zero), _mm_sad_epu8(b, zero)));
			vs2 = _mm_add_epi32(vs2, _mm_madd_epi16(w, ones));
			p += 32;
		} while (--blocks > 0);
		t1 = lanes_sum(vs1);
		t2 = 32 * lanes_sum(vps) + lanes_sum(vs2);
		s1 = (uint32_t)((s1 + t1) % BASE);
		s2 = (uint32_t)((s2 + t2) % BASE);
	}
	return adler32_scalar(s1, s2, p, len);
}

static int have_ssse3(void)
{
	static int known = -1;
	int v = __atomic_load_n(&known, __ATOMIC_RELAXED);
	if (v < 0) {
		__builtin_cpu_init();
		v = __builtin_cpu_supports("ssse3") ? 1 : 0;
		__atomic_store_n(&known, v, __ATOMIC_RELAXED);
	}
	return v;
}
#endif

uint32_t vstd_adler32(uint32_t adler, const void *buf, size_t len)
{
	uint32_t s1 = adler & 0xffff, s2 = adler >> 16;
	const uint8_t *p = buf;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	if (len >= 64 && have_ssse3())
		return adler32_ssse3(s1 % BASE, s2 % BASE, p, len);
#endif
	return adler32_scalar(s1, s2, p, len);
}
