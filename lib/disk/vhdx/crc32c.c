/*
 * disk/vhdx/crc32c.c - CRC-32C (Castagnoli, reflected polynomial
 * 0x82F63B78), the checksum of VHDX headers, region tables and log entries.
 */
#include "disk/vhdx/vhdx_internal.h"

static uint32_t table[256];
static int table_ready;

static void build_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		table[i] = c;
	}
	table_ready = 1;
}

uint32_t vhdx_crc32c(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t c = 0xFFFFFFFFu;
	if (!table_ready)
		build_table(); /* idempotent: racing threads write the same values */
	while (len--)
		c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

/* The checksum of a structure whose 4-byte checksum field (at `field`)
 * counts as zero. */
uint32_t vhdx_crc32c_skip(const uint8_t *data, size_t len, size_t field)
{
	static const uint8_t zero[4];
	uint32_t c = 0xFFFFFFFFu;
	const uint8_t *parts[3] = {data, zero, data + field + 4};
	size_t lens[3] = {field, 4, len - field - 4};
	if (!table_ready)
		build_table();
	for (int k = 0; k < 3; k++) {
		const uint8_t *p = parts[k];
		for (size_t i = 0; i < lens[k]; i++)
			c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	}
	return c ^ 0xFFFFFFFFu;
}
