/*
 * disk/vhdx/bat.c - the block allocation table.
 *
 * 64-bit entries: state in bits 0-2, file offset in MiB in bits 20-63.
 * Payload entries come in chunks of chunk_ratio = 2^23 * logical sector
 * size / block size, each chunk followed by the entry of its sector bitmap
 * block (1 MiB, one bit per logical sector, for differencing disks).
 * Changed pages of the table are written through the log at flush.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/vhdx/vhdx_internal.h"

uint64_t vhdx_bat_payload_index(const struct vhdx_state *s, uint64_t block)
{
	return block + block / s->chunk_ratio;
}

uint64_t vhdx_bat_sb_index(const struct vhdx_state *s, uint64_t block)
{
	return (block / s->chunk_ratio) * (s->chunk_ratio + 1) + s->chunk_ratio;
}

static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

int vhdx_bat_read(vstd_disk *d, struct vhdx_state *s, uint64_t file_size)
{
	uint64_t bytes;
	uint8_t *raw;
	int rc;
	s->chunk_ratio = ((uint64_t)1 << 23) * s->lsec / s->block_size;
	s->n_payload = (s->vsize + s->block_size - 1) / s->block_size;
	s->n_sb = (s->n_payload + s->chunk_ratio - 1) / s->chunk_ratio;
	s->n_entries = s->has_parent ? s->n_sb * (s->chunk_ratio + 1)
	                             : s->n_payload + (s->n_payload - 1) / s->chunk_ratio;
	bytes = s->n_entries * 8;
	if (bytes > s->bat_len)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: BAT region of %" PRIu64 " bytes is too small "
		                "for %" PRIu64 " entries",
		                d->filename, s->bat_len, s->n_entries);
	if (bytes > VHDX_MAX_BAT)
		return vstd_err(VSTD_ELIMIT, "%s: BAT of %" PRIu64 " bytes is above the limit",
		                d->filename, bytes);
	raw = vstd_malloc((size_t)vstd_align_up(bytes, 4096));
	s->bat = vstd_malloc_array((size_t)s->n_entries, 8);
	s->bat_dirty = vstd_calloc((size_t)(vstd_align_up(bytes, 4096) / 4096), 1);
	if (raw == NULL || s->bat == NULL || s->bat_dirty == NULL) {
		vstd_free(raw);
		return vstd_err_code();
	}
	rc = vstd_io_pread(s->io, raw, (size_t)bytes, s->bat_off);
	for (uint64_t i = 0; rc == 0 && i < s->n_entries; i++) {
		uint64_t e = vstd_le64(raw + 8 * i), st = e & 7, off = (e >> 20) * VHDX_MIB;
		int is_sb = (i % (s->chunk_ratio + 1)) == s->chunk_ratio;
		uint64_t len = is_sb ? VHDX_MIB : s->block_size;
		s->bat[i] = e;
		if (is_sb) {
			if (st != VHDX_SB_NOT_PRESENT && st != VHDX_SB_PRESENT)
				rc = vstd_err(VSTD_ECORRUPT,
				              "%s: BAT entry %" PRIu64 " (sector bitmap)"
				              ": state %u invalid",
				              d->filename, i, (unsigned)st);
			if (st != VHDX_SB_PRESENT)
				continue;
		} else {
			if (st == 4 || st == 5 ||
			    (st == VHDX_PAYLOAD_PARTIALLY_PRESENT && !s->has_parent))
				rc = vstd_err(VSTD_ECORRUPT,
				              "%s: BAT entry %" PRIu64 ": payload state "
				              "%u invalid here",
				              d->filename, i, (unsigned)st);
			if (st != VHDX_PAYLOAD_FULLY_PRESENT &&
			    st != VHDX_PAYLOAD_PARTIALLY_PRESENT)
				continue;
		}
		if (rc < 0)
			break;
		if (off < VHDX_MIB || !vstd_range_inside(off, len, file_size) ||
		    overlaps(off, len, s->bat_off, s->bat_len) ||
		    overlaps(off, len, s->meta_off, s->meta_len) ||
		    overlaps(off, len, s->hdr.log_offset, s->hdr.log_length))
			rc = vstd_err(VSTD_ECORRUPT,
			              "%s: BAT entry %" PRIu64 ": block at offset 0x%" PRIx64
			              " is past the end of the file (%" PRIu64 " bytes) or "
			              "overlaps the headers, log, BAT or metadata",
			              d->filename, i, off, file_size);
	}
	vstd_free(raw);
	return rc;
}

int vhdx_bat_set(vstd_disk *d, struct vhdx_state *s, uint64_t idx, uint64_t entry)
{
	if (idx >= s->n_entries)
		return vstd_err(VSTD_ERANGE, "%s: BAT index %" PRIu64 " out of range", d->filename,
		                idx);
	s->bat[idx] = entry;
	s->bat_dirty[idx * 8 / 4096] = 1;
	s->dirty_any = 1;
	return 0;
}

/* Count the 4 KiB bitmap pages that blocks in sb_pending touch. */
static uint64_t sb_page_span(const struct vhdx_state *s, uint64_t b, uint64_t *first)
{
	uint64_t sb = s->bat[vhdx_bat_sb_index(s, b)], per = s->block_size / s->lsec;
	uint64_t bit0 = (b % s->chunk_ratio) * per;
	uint64_t start = (sb >> 20) * VHDX_MIB + bit0 / 8;
	uint64_t end = (sb >> 20) * VHDX_MIB + (bit0 + per + 7) / 8;
	*first = vstd_align_down(start, 4096);
	return (vstd_align_up(end, 4096) - *first) / 4096;
}

int vhdx_bat_flush(vstd_disk *d, struct vhdx_state *s)
{
	uint64_t pages = vstd_align_up(s->n_entries * 8, 4096) / 4096, n = 0, nsb = 0;
	uint64_t *offs;
	uint8_t **bufs, *data;
	int rc = 0;
	uint64_t size;
	if (!s->dirty_any)
		return 0;
	/* blocks allocated since the last flush get their file space first:
	 * metadata never points past the end of the file */
	if ((rc = vstd_io_size(s->io, &size)) < 0 ||
	    (size < s->file_end && (rc = vstd_io_truncate(s->io, s->file_end)) < 0))
		return rc;
	for (uint64_t p = 0; p < pages; p++)
		n += s->bat_dirty[p];
	for (size_t i = 0; i < s->n_sb_pending; i++) {
		uint64_t first;
		nsb += sb_page_span(s, s->sb_pending[i], &first);
	}
	offs = vstd_malloc_array((size_t)(n + nsb), sizeof(*offs));
	bufs = vstd_malloc_array((size_t)(n + nsb), sizeof(*bufs));
	data = vstd_calloc((size_t)(n + nsb), 4096);
	if (offs == NULL || bufs == NULL || data == NULL) {
		vstd_free(offs);
		vstd_free(bufs);
		vstd_free(data);
		return vstd_err_code();
	}
	n = 0;
	for (uint64_t p = 0; p < pages; p++) {
		if (!s->bat_dirty[p])
			continue;
		offs[n] = s->bat_off + p * 4096;
		bufs[n] = data + n * 4096;
		for (uint64_t k = 0; k < 512 && p * 512 + k < s->n_entries; k++)
			vstd_put_le64(bufs[n] + 8 * k, s->bat[p * 512 + k]);
		n++;
	}
	/* sector bitmap pages: every sector of a now present block is marked
	 * present (readers that consult the bitmap of fully present blocks
	 * see the same as those that do not) */
	for (size_t i = 0; i < s->n_sb_pending && rc == 0; i++) {
		uint64_t b = s->sb_pending[i], first, span = sb_page_span(s, b, &first);
		uint64_t per = s->block_size / s->lsec, bit0 = (b % s->chunk_ratio) * per;
		uint64_t base = (s->bat[vhdx_bat_sb_index(s, b)] >> 20) * VHDX_MIB;
		for (uint64_t pg = 0; pg < span && rc == 0; pg++) {
			uint64_t off = first + pg * 4096, j;
			uint8_t *page = NULL;
			for (j = 0; j < n; j++)
				if (offs[j] == off)
					page = bufs[j];
			if (page == NULL) {
				page = data + n * 4096;
				if ((rc = vhdx_read_host(s, page, 4096, off)) < 0)
					break;
				offs[n] = off;
				bufs[n++] = page;
			}
			for (uint64_t bit = bit0; bit < bit0 + per; bit++) {
				uint64_t at = base + bit / 8;
				if (at >= off && at < off + 4096)
					page[at - off] |= (uint8_t)(1u << (bit % 8));
			}
		}
	}
	if (rc == 0)
		rc = vhdx_log_write(d, s, offs, bufs, (size_t)n);
	if (rc == 0) {
		memset(s->bat_dirty, 0, (size_t)pages);
		s->dirty_any = 0;
		s->n_sb_pending = 0;
	}
	vstd_free(offs);
	vstd_free(bufs);
	vstd_free(data);
	return rc;
}

int vhdx_bat_mark_present(vstd_disk *d, struct vhdx_state *s, uint64_t b, uint64_t *file_end)
{
	uint64_t sbi = vhdx_bat_sb_index(s, b);
	int rc;
	if ((s->bat[sbi] & 7) != VHDX_SB_PRESENT) {
		uint64_t at = *file_end;
		*file_end = at + VHDX_MIB; /* the file grows at the next flush */
		if ((rc = vhdx_bat_set(d, s, sbi, (at / VHDX_MIB) << 20 | VHDX_SB_PRESENT)) < 0)
			return rc;
	}
	if (s->n_sb_pending == s->cap_sb_pending) {
		size_t nc = s->cap_sb_pending ? s->cap_sb_pending * 2 : 16;
		uint64_t *np = vstd_realloc_array(s->sb_pending, nc, sizeof(*np));
		if (np == NULL)
			return vstd_err_code();
		s->sb_pending = np;
		s->cap_sb_pending = nc;
	}
	s->sb_pending[s->n_sb_pending++] = b;
	s->dirty_any = 1;
	return 0;
}
