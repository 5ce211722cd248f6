/*
 * core/uuid.c - random UUIDs and their text form.
 */
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/uuid.h"

void vstd_uuid_random(uint8_t u[16])
{
	if (getrandom(u, 16, 0) != 16) {
		static _Atomic uint64_t counter;
		uint64_t x = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
		             (++counter * 0x9e3779b97f4a7c15ull) ^ (uint64_t)(uintptr_t)u;
		for (int i = 0; i < 16; i++) {
			x = x * 6364136223846793005u + 1442695040888963407u;
			u[i] = (uint8_t)(x >> 56);
		}
	}
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

void vstd_uuid_text(const uint8_t u[16], char out[VSTD_UUID_TEXT_LEN])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[u[i] >> 4];
		out[o++] = hex[u[i] & 15];
	}
	out[o] = '\0';
}
