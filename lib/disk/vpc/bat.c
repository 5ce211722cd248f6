/*
 * disk/vpc/bat.c - the block allocation table and the sector bitmaps.
 *
 * The BAT is an array of big-endian 32-bit sector numbers, one per block
 * (0xffffffff: not allocated).  An allocated block starts with a sector
 * bitmap (one bit per 512-byte sector, most significant bit first, padded
 * to whole sectors) followed by the block's data.  A set bit means this
 * image holds the sector; a clear bit means zeroes (dynamic) or the
 * parent's data (differencing).
 *
 * Entries that point past the end of the file or overlap another block or
 * the BAT are remembered as bad: opening still works (so check can report
 * and repair), reading such a block fails with VSTD_ECORRUPT.
 *
 * Updates to the BAT are kept in memory and written by vpc_bat_flush after
 * the data they point to has been flushed, so a crash can leak space but
 * never leaves the BAT pointing at unwritten blocks.
 */
#include <stdlib.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/vpc/vpc.h"

struct span {
	uint64_t off;
	uint32_t idx;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

int vpc_bad_entry_error(vstd_disk *d, struct vpc_state *s, uint32_t block)
{
	uint64_t off = (uint64_t)s->bat[block] * VPC_SECTOR;
	return vstd_err(VSTD_ECORRUPT,
	                "%s: VHD BAT entry %" PRIu32 " (at offset 0x%" PRIx64
	                ") points to a block at 0x%" PRIx64 " that %s",
	                d->filename, block, s->dyn.table_offset + (uint64_t)block * 4, off,
	                s->bat_bad[block] == 1 ? "passes the end of the file"
	                                       : "overlaps another block or the BAT");
}

int vpc_bat_load(vstd_disk *d, struct vpc_state *s)
{
	uint64_t bat_bytes, data_end, end = s->dyn_off + VPC_DYN_HEADER_SIZE, block_span;
	struct span *spans = NULL;
	size_t n_spans = 0;
	uint8_t *raw;
	int rc;
	s->block_size = s->dyn.block_size;
	s->bitmap_size = (uint32_t)vstd_align_up(s->block_size / VPC_SECTOR / 8, VPC_SECTOR);
	s->n_entries = s->dyn.max_entries;
	block_span = (uint64_t)s->bitmap_size + s->block_size;
	bat_bytes = (uint64_t)s->n_entries * 4;
	if ((uint64_t)s->n_entries * s->block_size < d->size)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VHD dynamic header at offset 0x%" PRIx64 ": %" PRIu32
		                " BAT entries of %" PRIu32
		                " bytes cannot hold the disk size %" PRIu64,
		                d->filename, s->dyn_off, s->n_entries, s->block_size, d->size);
	if (!vstd_range_inside(s->dyn.table_offset, bat_bytes, s->file_size) ||
	    s->dyn.table_offset < VPC_FOOTER_SIZE)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VHD BAT at offset 0x%" PRIx64 " (%" PRIu64
		                " bytes) is outside the file of %" PRIu64 " bytes",
		                d->filename, s->dyn.table_offset, bat_bytes, s->file_size);
	s->bat = vstd_malloc_array(s->n_entries ? s->n_entries : 1, sizeof(uint32_t));
	raw = vstd_malloc(bat_bytes ? (size_t)bat_bytes : 1);
	if (s->bat == NULL || raw == NULL) {
		vstd_free(raw);
		return vstd_err_code();
	}
	if ((rc = vstd_io_pread(d->io, raw, (size_t)bat_bytes, s->dyn.table_offset)) < 0) {
		vstd_free(raw);
		return rc;
	}
	for (uint32_t i = 0; i < s->n_entries; i++) {
		s->bat[i] = vstd_be32(raw + 4 * (size_t)i);
		if (s->bat[i] != VPC_BAT_UNUSED)
			n_spans++;
	}
	vstd_free(raw);
	if (end < s->dyn.table_offset + vstd_align_up(bat_bytes, VPC_SECTOR))
		end = s->dyn.table_offset + vstd_align_up(bat_bytes, VPC_SECTOR);
	/* the data may not run into the trailing footer */
	data_end = s->footer_off != 0 ? s->footer_off : s->file_size;
	if (n_spans > 0) {
		spans = vstd_malloc_array(n_spans, sizeof(*spans));
		if (spans == NULL)
			return vstd_err_code();
		n_spans = 0;
		for (uint32_t i = 0; i < s->n_entries; i++)
			if (s->bat[i] != VPC_BAT_UNUSED)
				spans[n_spans++] =
				        (struct span){(uint64_t)s->bat[i] * VPC_SECTOR, i};
		qsort(spans, n_spans, sizeof(*spans), span_cmp);
	}
	for (size_t k = 0; k < n_spans; k++) {
		uint64_t off = spans[k].off;
		int bad = 0;
		if (off + block_span > data_end)
			bad = 1;
		else if (off < VPC_FOOTER_SIZE ||
		         (off < s->dyn_off + VPC_DYN_HEADER_SIZE &&
		          off + block_span > s->dyn_off) ||
		         (off < s->dyn.table_offset + bat_bytes &&
		          off + block_span > s->dyn.table_offset) ||
		         (k > 0 && spans[k - 1].off + block_span > off) ||
		         (k + 1 < n_spans && off + block_span > spans[k + 1].off))
			bad = 2;
		if (bad) {
			if (s->bat_bad == NULL &&
			    (s->bat_bad = vstd_calloc(s->n_entries, 1)) == NULL) {
				vstd_free(spans);
				return vstd_err_code();
			}
			s->bat_bad[spans[k].idx] = (uint8_t)bad;
			s->n_bad++;
		} else if (off + block_span > end) {
			end = off + block_span;
		}
	}
	vstd_free(spans);
	for (int i = 0; i < 8; i++) {
		const struct vpc_locator *l = &s->dyn.loc[i];
		if (l->code != 0 && l->length > 0 &&
		    vstd_range_inside(l->offset, l->length, data_end) &&
		    l->offset + vstd_align_up(l->length, VPC_SECTOR) > end)
			end = l->offset + vstd_align_up(l->length, VPC_SECTOR);
	}
	/* new blocks go where the trailing footer is (or after everything) */
	end = vstd_align_up(end, VPC_SECTOR);
	s->used_end = end;
	if (s->footer_off == 0 || s->footer_off < end || s->footer_off % VPC_SECTOR)
		s->footer_off = end;
	s->bitmap_block = UINT32_MAX;
	return 0;
}

int vpc_block_bitmap(vstd_disk *d, struct vpc_state *s, uint32_t block, const uint8_t **bm)
{
	int rc;
	if (s->bitmap_block != block) {
		if (s->bitmap == NULL && (s->bitmap = vstd_malloc(s->bitmap_size)) == NULL)
			return vstd_err_code();
		s->bitmap_block = UINT32_MAX;
		if ((rc = vstd_io_pread(d->io, s->bitmap, s->bitmap_size,
		                        (uint64_t)s->bat[block] * VPC_SECTOR)) < 0)
			return rc;
		s->bitmap_block = block;
	}
	*bm = s->bitmap;
	return 0;
}

int vpc_block_allocate(vstd_disk *d, struct vpc_state *s, uint32_t block)
{
	uint64_t off = s->footer_off, new_end, sector;
	uint8_t *zero;
	int rc;
	if (vstd_add_overflow_u64(off, (uint64_t)s->bitmap_size + s->block_size, &new_end) ||
	    (sector = off / VPC_SECTOR) >= VPC_BAT_UNUSED)
		return vstd_err(VSTD_ELIMIT,
		                "%s: VHD block %" PRIu32
		                " would lie past the 2 TiB a BAT entry can address",
		                d->filename, block);
	/* 1. the footer moves past the new block (the file grows, sparse) */
	if ((rc = vstd_io_pwrite(d->io, s->footer_raw, VPC_FOOTER_SIZE, new_end)) < 0)
		return rc;
	/* 2. an empty sector bitmap where the old footer was */
	zero = vstd_calloc(1, s->bitmap_size);
	if (zero == NULL)
		return vstd_err_code();
	rc = vstd_io_pwrite(d->io, zero, s->bitmap_size, off);
	vstd_free(zero);
	if (rc < 0)
		return rc;
	s->footer_off = new_end;
	s->file_size = new_end + VPC_FOOTER_SIZE;
	/* 3. the BAT entry, written at the next flush, after the data */
	s->bat[block] = (uint32_t)sector;
	if (s->bat_dirty_map == NULL &&
	    (s->bat_dirty_map = vstd_calloc((size_t)s->n_entries * 4 / VPC_SECTOR + 1, 1)) == NULL)
		return vstd_err_code();
	s->bat_dirty_map[(size_t)block * 4 / VPC_SECTOR] = 1;
	s->bat_dirty = 1;
	s->bitmap_block = UINT32_MAX;
	return 0;
}

int vpc_bitmap_set(vstd_disk *d, struct vpc_state *s, uint32_t block, uint32_t first, uint32_t n)
{
	const uint8_t *bm;
	uint32_t lo, hi;
	int rc, changed = 0;
	if ((rc = vpc_block_bitmap(d, s, block, &bm)) < 0)
		return rc;
	for (uint32_t i = first; i < first + n; i++) {
		uint8_t bit = (uint8_t)(0x80 >> (i & 7));
		if (!(s->bitmap[i / 8] & bit)) {
			s->bitmap[i / 8] |= bit;
			changed = 1;
		}
	}
	if (!changed)
		return 0;
	/* rewrite only the bitmap sectors that changed */
	lo = first / 8 / VPC_SECTOR * VPC_SECTOR;
	hi = (uint32_t)vstd_align_up((first + n + 7) / 8, VPC_SECTOR);
	if (hi > s->bitmap_size)
		hi = s->bitmap_size;
	rc = vstd_io_pwrite(d->io, s->bitmap + lo, hi - lo,
	                    (uint64_t)s->bat[block] * VPC_SECTOR + lo);
	if (rc < 0)
		s->bitmap_block = UINT32_MAX;
	return rc;
}

int vpc_bat_flush(vstd_disk *d, struct vpc_state *s)
{
	uint64_t bat_bytes = (uint64_t)s->n_entries * 4;
	uint8_t buf[VPC_SECTOR];
	int rc;
	if (!s->bat_dirty)
		return 0;
	if ((rc = vstd_io_flush(d->io)) < 0)
		return rc;
	for (size_t sec = 0; sec * VPC_SECTOR < bat_bytes; sec++) {
		size_t first = sec * VPC_SECTOR / 4, n;
		if (!s->bat_dirty_map[sec])
			continue;
		n = bat_bytes - sec * VPC_SECTOR < VPC_SECTOR
		            ? (size_t)(bat_bytes - sec * VPC_SECTOR) / 4
		            : VPC_SECTOR / 4;
		for (size_t i = 0; i < n; i++)
			vstd_put_be32(buf + 4 * i, s->bat[first + i]);
		if ((rc = vstd_io_pwrite(d->io, buf, n * 4,
		                         s->dyn.table_offset + sec * VPC_SECTOR)) < 0)
			return rc;
		s->bat_dirty_map[sec] = 0;
	}
	s->bat_dirty = 0;
	return vstd_io_flush(d->io);
}
