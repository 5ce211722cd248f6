/*
 * core/bytes.c - zero detection, the hot loop of convert and compare.
 */
#include "core/bytes.h"

int vstd_is_zero(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t acc = 0;
	size_t i = 0;
	while (i < len && ((uintptr_t)(b + i) & 7) != 0)
		if (b[i++] != 0)
			return 0;
	for (; i + 64 <= len; i += 64) {
		uint64_t w[8];
		memcpy(w, b + i, 64);
		acc = w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7];
		if (acc != 0)
			return 0;
	}
	for (; i < len; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}
