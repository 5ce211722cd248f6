/*
 * disk/vpc/dynamic_header.c - the 1024-byte sparse header ("cxsparse") of
 * dynamic and differencing VHDs: where the BAT is, its size, the block
 * size, and for differencing images the parent's identity and locators.
 */
#include <string.h>

#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "disk/vpc/vpc.h"

int vpc_dyn_parse(const uint8_t raw[VPC_DYN_HEADER_SIZE], struct vpc_dyn_header *h,
                  const char *name, uint64_t off, int edited)
{
	uint32_t sum;
	if (memcmp(raw, "cxsparse", 8) != 0)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VHD dynamic header at offset 0x%" PRIx64
		                " has no 'cxsparse' cookie",
		                name, off);
	memset(h, 0, sizeof(*h));
	h->data_offset = vstd_be64(raw + 8);
	h->table_offset = vstd_be64(raw + 16);
	h->version = vstd_be32(raw + 24);
	h->max_entries = vstd_be32(raw + 28);
	h->block_size = vstd_be32(raw + 32);
	h->checksum = vstd_be32(raw + 36);
	memcpy(h->parent_uuid, raw + 40, 16);
	h->parent_timestamp = vstd_be32(raw + 56);
	memcpy(h->parent_name, raw + 64, 512);
	for (int i = 0; i < 8; i++) {
		const uint8_t *e = raw + 576 + 24 * i;
		h->loc[i].code = vstd_be32(e);
		h->loc[i].space = vstd_be32(e + 4);
		h->loc[i].length = vstd_be32(e + 8);
		h->loc[i].offset = vstd_be64(e + 16);
	}
	sum = vpc_checksum(raw, VPC_DYN_HEADER_SIZE, 36);
	if (sum != h->checksum && edited)
		vstd_warn("vpc",
		          "%s: VHD dynamic header at offset 0x%" PRIx64
		          " has a bad checksum (stored 0x%08x, computed 0x%08x) like the footer; "
		          "using it",
		          name, off, h->checksum, sum);
	else if (sum != h->checksum)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VHD dynamic header at offset 0x%" PRIx64
		                " has a bad checksum (stored 0x%08x, computed 0x%08x)",
		                name, off, h->checksum, sum);
	if (h->block_size < VPC_SECTOR || h->block_size > VPC_MAX_BLOCK_SIZE ||
	    !vstd_is_pow2(h->block_size))
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VHD dynamic header at offset 0x%" PRIx64
		                ": block size %" PRIu32
		                " is not a power of two between 512 bytes and 256 MiB",
		                name, off, h->block_size);
	if (h->max_entries > VPC_MAX_BAT_ENTRIES)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VHD dynamic header at offset 0x%" PRIx64 ": %" PRIu32
		                " BAT entries is more than the limit of %" PRIu32,
		                name, off, h->max_entries, VPC_MAX_BAT_ENTRIES);
	return 0;
}

void vpc_dyn_write(const struct vpc_dyn_header *h, uint8_t raw[VPC_DYN_HEADER_SIZE])
{
	memset(raw, 0, VPC_DYN_HEADER_SIZE);
	memcpy(raw, "cxsparse", 8);
	vstd_put_be64(raw + 8, h->data_offset);
	vstd_put_be64(raw + 16, h->table_offset);
	vstd_put_be32(raw + 24, h->version);
	vstd_put_be32(raw + 28, h->max_entries);
	vstd_put_be32(raw + 32, h->block_size);
	memcpy(raw + 40, h->parent_uuid, 16);
	vstd_put_be32(raw + 56, h->parent_timestamp);
	memcpy(raw + 64, h->parent_name, 512);
	for (int i = 0; i < 8; i++) {
		uint8_t *e = raw + 576 + 24 * i;
		vstd_put_be32(e, h->loc[i].code);
		vstd_put_be32(e + 4, h->loc[i].space);
		vstd_put_be32(e + 8, h->loc[i].length);
		vstd_put_be64(e + 16, h->loc[i].offset);
	}
	vstd_put_be32(raw + 36, vpc_checksum(raw, VPC_DYN_HEADER_SIZE, 36));
}
