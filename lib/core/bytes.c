/*
 * core/bytes.c - zero detection, the hot loop of convert and compare.
 */
#include <string.h>

#include "core/bytes.h"

static uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

int vstd_is_zero(const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i = 0;
	while (i < len && ((uintptr_t)(b + i) & 7) != 0)
		if (b[i++] != 0)
			return 0;
	/* The first 16 bytes alone: data that is not zero usually shows it
	 * at once, without loading a whole block. */
	if (i + 16 <= len) {
		if ((load64(b + i) | load64(b + i + 8)) != 0)
			return 0;
		i += 16;
	}
	/* Then 128 bytes per step into independent registers (no array: it
	 * would live on the stack), so the loop runs at memory speed. */
	for (; i + 128 <= len; i += 128) {
		const uint8_t *q = b + i;
		uint64_t a0 = load64(q) | load64(q + 8), a1 = load64(q + 16) | load64(q + 24),
		         a2 = load64(q + 32) | load64(q + 40), a3 = load64(q + 48) | load64(q + 56),
		         a4 = load64(q + 64) | load64(q + 72), a5 = load64(q + 80) | load64(q + 88),
		         a6 = load64(q + 96) | load64(q + 104),
		         a7 = load64(q + 112) | load64(q + 120);
		if ((a0 | a1 | a2 | a3 | a4 | a5 | a6 | a7) != 0)
			return 0;
	}
	for (; i + 8 <= len; i += 8)
		if (load64(b + i) != 0)
			return 0;
	for (; i < len; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}
