/*
 * disk/vdi/header.c - the VDI pre-header (text, signature, version) and the
 * version 1.1 header, little-endian.  Other header versions (0.0 of
 * VirtualBox 1.x, later majors) are recognised and refused by name.
 */
#include <string.h>

#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/vdi/vdi.h"

int vdi_header_probe(const uint8_t *raw, size_t len)
{
	if (len < 72 || vstd_le32(raw + 64) != VDI_SIGNATURE)
		return 0;
	return 100;
}

int vdi_header_parse(const uint8_t *raw, struct vdi_header *h, const char *name)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->text, raw, 64);
	h->signature = vstd_le32(raw + 64);
	h->version = vstd_le32(raw + 68);
	if (h->signature != VDI_SIGNATURE)
		return vstd_err(VSTD_ECORRUPT, "%s: no VDI signature at offset 0x40", name);
	if (h->version != VDI_VERSION_1_1)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: VDI header version %u.%u (at offset 0x44) is not supported; "
		                "only version 1.1 (VirtualBox 1.1 and later) is",
		                name, h->version >> 16, h->version & 0xffff);
	h->header_size = vstd_le32(raw + 72);
	h->type = vstd_le32(raw + 76);
	h->flags = vstd_le32(raw + 80);
	memcpy(h->description, raw + 84, 256);
	h->offset_bmap = vstd_le32(raw + 340);
	h->offset_data = vstd_le32(raw + 344);
	h->cylinders = vstd_le32(raw + 348);
	h->heads = vstd_le32(raw + 352);
	h->sectors = vstd_le32(raw + 356);
	h->sector_size = vstd_le32(raw + 360);
	h->disk_size = vstd_le64(raw + 368);
	h->block_size = vstd_le32(raw + 376);
	h->block_extra = vstd_le32(raw + 380);
	h->blocks = vstd_le32(raw + 384);
	h->blocks_allocated = vstd_le32(raw + 388);
	memcpy(h->uuid_create, raw + 392, 16);
	memcpy(h->uuid_modify, raw + 408, 16);
	memcpy(h->uuid_link, raw + 424, 16);
	memcpy(h->uuid_parent_modify, raw + 440, 16);
	if (h->header_size >= VDI_HEADER_SIZE_V11) {
		h->lchs_cylinders = vstd_le32(raw + 456);
		h->lchs_heads = vstd_le32(raw + 460);
		h->lchs_sectors = vstd_le32(raw + 464);
		h->lchs_sector_size = vstd_le32(raw + 468);
	}
	if (h->header_size < VDI_HEADER_SIZE_MIN || h->header_size > VDI_HEADER_END - 72)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VDI header size %" PRIu32
		                " (at offset 0x48) is not between %u and %u",
		                name, h->header_size, VDI_HEADER_SIZE_MIN, VDI_HEADER_END - 72);
	if ((h->type < VDI_NORMAL || h->type > VDI_DIFF) && h->type != VDI_RESIZING)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VDI image type %" PRIu32
		                " (at offset 0x4c) is not normal, fixed, undo or diff",
		                name, h->type);
	if (h->type == VDI_UNDO)
		return vstd_err(VSTD_ENOTSUP, "%s: VDI 'undo' images are not supported", name);
	if (h->sector_size != 0 && h->sector_size != 512)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: VDI sector size %" PRIu32 " (at offset 0x168) is not 512",
		                name, h->sector_size);
	if (h->block_size < 512 || h->block_size > VDI_MAX_BLOCK_SIZE ||
	    !vstd_is_pow2(h->block_size))
		return vstd_err(
		        VSTD_ECORRUPT,
		        "%s: VDI block size %" PRIu32
		        " (at offset 0x178) is not a power of two between 512 bytes and 256 MiB",
		        name, h->block_size);
	if (h->block_extra > VDI_MAX_BLOCK_SIZE || h->block_extra % 512)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VDI block extra data %" PRIu32
		                " (at offset 0x17c) is not a multiple of 512 up to 256 MiB",
		                name, h->block_extra);
	if (h->blocks > VDI_MAX_BLOCKS)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VDI block count %" PRIu32
		                " (at offset 0x180) is more than the limit of %" PRIu32,
		                name, h->blocks, VDI_MAX_BLOCKS);
	if ((uint64_t)h->blocks * h->block_size < h->disk_size)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VDI header: %" PRIu32 " blocks of %" PRIu32
		                " bytes cannot hold the disk size %" PRIu64,
		                name, h->blocks, h->block_size, h->disk_size);
	if (h->blocks_allocated > h->blocks)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VDI header: %" PRIu32
		                " blocks allocated (at offset 0x184) of only %" PRIu32,
		                name, h->blocks_allocated, h->blocks);
	if (h->offset_bmap < 72 + h->header_size)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VDI block map offset 0x%" PRIx32
		                " (at offset 0x154) overlaps the header",
		                name, h->offset_bmap);
	if ((uint64_t)h->offset_bmap + (uint64_t)h->blocks * 4 > h->offset_data)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VDI data offset 0x%" PRIx32
		                " (at offset 0x158) overlaps the block map at 0x%" PRIx32,
		                name, h->offset_data, h->offset_bmap);
	return 0;
}

void vdi_header_write(const struct vdi_header *h, uint8_t raw[VDI_HEADER_END])
{
	memset(raw, 0, VDI_HEADER_END);
	memcpy(raw, h->text, strnlen(h->text, 64));
	vstd_put_le32(raw + 64, h->signature);
	vstd_put_le32(raw + 68, h->version);
	vstd_put_le32(raw + 72, h->header_size);
	vstd_put_le32(raw + 76, h->type);
	vstd_put_le32(raw + 80, h->flags);
	memcpy(raw + 84, h->description, strnlen(h->description, 256));
	vstd_put_le32(raw + 340, h->offset_bmap);
	vstd_put_le32(raw + 344, h->offset_data);
	vstd_put_le32(raw + 348, h->cylinders);
	vstd_put_le32(raw + 352, h->heads);
	vstd_put_le32(raw + 356, h->sectors);
	vstd_put_le32(raw + 360, h->sector_size);
	vstd_put_le64(raw + 368, h->disk_size);
	vstd_put_le32(raw + 376, h->block_size);
	vstd_put_le32(raw + 380, h->block_extra);
	vstd_put_le32(raw + 384, h->blocks);
	vstd_put_le32(raw + 388, h->blocks_allocated);
	memcpy(raw + 392, h->uuid_create, 16);
	memcpy(raw + 408, h->uuid_modify, 16);
	memcpy(raw + 424, h->uuid_link, 16);
	memcpy(raw + 440, h->uuid_parent_modify, 16);
	if (h->header_size >= VDI_HEADER_SIZE_V11) {
		vstd_put_le32(raw + 456, h->lchs_cylinders);
		vstd_put_le32(raw + 460, h->lchs_heads);
		vstd_put_le32(raw + 464, h->lchs_sectors);
		vstd_put_le32(raw + 468, h->lchs_sector_size);
	}
}
