/*
 * disk/vdi/blockmap.c - the VDI block map: one little-endian 32-bit entry
 * per block of the disk, giving the index of the block in the data area
 * (data at offset_data + index * (block_size + block_extra) + block_extra),
 * or FREE (0xffffffff) / ZERO (0xfffffffe).
 *
 * Entries whose data would pass the end of the file, indexes past the
 * block count and indexes used twice are remembered as bad: the image
 * opens (so check can report them), reading such a block fails with
 * VSTD_ECORRUPT.  New entries and the allocated count are written at the
 * next flush, after the data (a crash leaks space, never exposes garbage).
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/vdi/vdi.h"

uint64_t vdi_block_offset(const struct vdi_state *s, uint32_t index)
{
	return (uint64_t)s->h.offset_data +
	       (uint64_t)index * ((uint64_t)s->h.block_size + s->h.block_extra) + s->h.block_extra;
}

int vdi_bad_block_error(vstd_disk *d, struct vdi_state *s, uint32_t block)
{
	return vstd_err(VSTD_ECORRUPT,
	                "%s: VDI block map entry %" PRIu32 " (at offset 0x%" PRIx64
	                ") holds index %" PRIu32 ", which %s",
	                d->filename, block, (uint64_t)s->h.offset_bmap + (uint64_t)block * 4,
	                s->bmap[block],
	                s->bad[block] == 1 ? "points past the end of the file"
	                                   : "is out of range or used by another block");
}

int vdi_bmap_load(vstd_disk *d, struct vdi_state *s)
{
	uint64_t bytes = (uint64_t)s->h.blocks * 4;
	uint8_t *raw, *seen;
	int rc;
	if (!vstd_range_inside(s->h.offset_bmap, bytes, s->file_size))
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VDI block map at offset 0x%" PRIx32 " (%" PRIu64
		                " bytes) passes the end of the file (%" PRIu64 " bytes)",
		                d->filename, s->h.offset_bmap, bytes, s->file_size);
	s->bmap = vstd_malloc_array(s->h.blocks ? s->h.blocks : 1, sizeof(uint32_t));
	raw = vstd_malloc(bytes ? (size_t)bytes : 1);
	seen = vstd_calloc((size_t)s->h.blocks / 8 + 1, 1);
	if (s->bmap == NULL || raw == NULL || seen == NULL) {
		vstd_free(raw);
		vstd_free(seen);
		return vstd_err_code();
	}
	if ((rc = vstd_io_pread(d->io, raw, (size_t)bytes, s->h.offset_bmap)) < 0) {
		vstd_free(raw);
		vstd_free(seen);
		return rc;
	}
	s->next_index = s->h.blocks_allocated;
	for (uint32_t i = 0; i < s->h.blocks; i++) {
		uint32_t v = vstd_le32(raw + 4 * (size_t)i);
		int bad = 0;
		s->bmap[i] = v;
		if (v == VDI_BLOCK_FREE || v == VDI_BLOCK_ZERO)
			continue;
		if (v >= s->h.blocks || (seen[v / 8] & (1u << (v & 7))))
			bad = 2;
		else if (vdi_block_offset(s, v) + s->h.block_size > s->file_size)
			bad = 1;
		if (v < s->h.blocks)
			seen[v / 8] |= (uint8_t)(1u << (v & 7));
		if (bad) {
			if (s->bad == NULL && (s->bad = vstd_calloc(s->h.blocks, 1)) == NULL) {
				vstd_free(raw);
				vstd_free(seen);
				return vstd_err_code();
			}
			s->bad[i] = (uint8_t)bad;
			s->n_bad++;
		} else if (v + 1 > s->next_index)
			s->next_index = v + 1;
	}
	vstd_free(raw);
	vstd_free(seen);
	return 0;
}

int vdi_bmap_set(vstd_disk *d, struct vdi_state *s, uint32_t block, uint32_t value)
{
	if (s->dirty == NULL &&
	    (s->dirty = vstd_calloc((size_t)s->h.blocks * 4 / 512 + 1, 1)) == NULL)
		return vstd_err_code();
	s->bmap[block] = value;
	s->dirty[(size_t)block * 4 / 512] = 1;
	s->meta_dirty = 1;
	return 0;
}

int vdi_meta_flush(vstd_disk *d, struct vdi_state *s)
{
	uint64_t bytes = (uint64_t)s->h.blocks * 4;
	uint8_t buf[512], hdr[VDI_HEADER_END];
	int rc;
	if (!s->meta_dirty)
		return 0;
	if ((rc = vstd_io_flush(d->io)) < 0)
		return rc;
	/* the count first: a crash then leaks a block instead of reusing one */
	if (s->next_index > s->h.blocks_allocated) {
		s->h.blocks_allocated = s->next_index;
		vdi_header_write(&s->h, hdr);
		if ((rc = vstd_io_pwrite(d->io, hdr + 64, 72 + s->h.header_size - 64, 64)) < 0)
			return rc;
	}
	for (size_t sec = 0; s->dirty != NULL && sec * 512 < bytes; sec++) {
		size_t first = sec * 512 / 4, n;
		if (!s->dirty[sec])
			continue;
		n = bytes - sec * 512 < 512 ? (size_t)(bytes - sec * 512) / 4 : 128;
		for (size_t i = 0; i < n; i++)
			vstd_put_le32(buf + 4 * i, s->bmap[first + i]);
		if ((rc = vstd_io_pwrite(d->io, buf, n * 4, s->h.offset_bmap + sec * 512)) < 0)
			return rc;
		s->dirty[sec] = 0;
	}
	s->meta_dirty = 0;
	return vstd_io_flush(d->io);
}
