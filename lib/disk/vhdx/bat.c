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

int vhdx_bat_flush(vstd_disk *d, struct vhdx_state *s)
{
	uint64_t pages = vstd_align_up(s->n_entries * 8, 4096) / 4096, n = 0, nsb = s->n_sb_pages;
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
	/* sector bitmap pages changed since the last flush, in the same
	 * batch as the BAT entries that make their blocks present */
	for (size_t i = 0; i < s->n_sb_pages; i++) {
		offs[n] = s->sb_pages[i].off;
		bufs[n++] = s->sb_pages[i].data;
	}
	if (rc == 0)
		rc = vhdx_log_write(d, s, offs, bufs, (size_t)n);
	if (rc == 0) {
		memset(s->bat_dirty, 0, (size_t)pages);
		s->dirty_any = 0;
		vhdx_sb_pages_free(s);
	}
	vstd_free(offs);
	vstd_free(bufs);
	vstd_free(data);
	return rc;
}

void vhdx_sb_pages_free(struct vhdx_state *s)
{
	for (size_t i = 0; i < s->n_sb_pages; i++)
		vstd_free(s->sb_pages[i].data);
	vstd_free(s->sb_pages);
	s->sb_pages = NULL;
	s->n_sb_pages = s->cap_sb_pages = 0;
}

/* The pending copy of the bitmap page at file offset `off`, or NULL. */
static uint8_t *sb_page_find(const struct vhdx_state *s, uint64_t off)
{
	for (size_t i = s->n_sb_pages; i-- > 0;)
		if (s->sb_pages[i].off == off)
			return s->sb_pages[i].data;
	return NULL;
}

/* The pending copy of a bitmap page, loaded from the file if new. */
static int sb_page_get(vstd_disk *d, struct vhdx_state *s, uint64_t off, uint8_t **out)
{
	uint8_t *p = sb_page_find(s, off);
	int rc;
	if (p != NULL) {
		*out = p;
		return 0;
	}
	if (s->n_sb_pages == s->cap_sb_pages) {
		size_t nc = s->cap_sb_pages ? s->cap_sb_pages * 2 : 16;
		struct vhdx_sb_page *np = vstd_realloc_array(s->sb_pages, nc, sizeof(*np));
		if (np == NULL)
			return vstd_err_code();
		s->sb_pages = np;
		s->cap_sb_pages = nc;
	}
	if ((p = vstd_malloc(4096)) == NULL)
		return vstd_err_code();
	if ((rc = vhdx_read_host(s, p, 4096, off)) < 0) {
		vstd_free(p);
		return rc;
	}
	s->sb_pages[s->n_sb_pages].off = off;
	s->sb_pages[s->n_sb_pages++].data = p;
	s->dirty_any = 1;
	*out = p;
	return 0;
}

/* File offset of the bitmap bit of sector `sec` of block b, and its bit. */
static uint64_t sb_bit_at(const struct vhdx_state *s, uint64_t b, uint64_t sec, unsigned *bit)
{
	uint64_t i = (b % s->chunk_ratio) * (s->block_size / s->lsec) + sec;
	*bit = (unsigned)(i % 8);
	return (s->bat[vhdx_bat_sb_index(s, b)] >> 20) * VHDX_MIB + i / 8;
}

int vhdx_sb_set(vstd_disk *d, struct vhdx_state *s, uint64_t b, uint64_t first, uint64_t count)
{
	uint64_t sbi = vhdx_bat_sb_index(s, b), per = s->block_size / s->lsec;
	int rc;
	if (first > per || count > per - first)
		return vstd_err(VSTD_ERANGE, "%s: sectors %" PRIu64 "+%" PRIu64 " outside block",
		                d->filename, first, count);
	if ((s->bat[sbi] & 7) != VHDX_SB_PRESENT) {
		uint64_t at = s->file_end;
		s->file_end = at + VHDX_MIB; /* the file grows at the next flush */
		if ((rc = vhdx_bat_set(d, s, sbi, (at / VHDX_MIB) << 20 | VHDX_SB_PRESENT)) < 0)
			return rc;
	}
	for (uint64_t sec = first; sec < first + count;) {
		unsigned bit;
		uint64_t at = sb_bit_at(s, b, sec, &bit), pg = at & ~(uint64_t)4095;
		uint8_t *page = NULL;
		if ((rc = sb_page_get(d, s, pg, &page)) < 0)
			return rc;
		/* whole bytes where possible */
		while (sec < first + count && at < pg + 4096) {
			if (bit == 0 && first + count - sec >= 8) {
				page[at - pg] = 0xff;
				sec += 8;
				at++;
			} else {
				page[at - pg] |= (uint8_t)(1u << bit);
				sec++;
				if (++bit == 8)
					bit = 0, at++;
			}
		}
	}
	s->dirty_any = 1;
	return 0;
}

int vhdx_sb_read(vstd_disk *d, struct vhdx_state *s, uint64_t b, uint64_t byte, uint8_t *out,
                 size_t len)
{
	uint64_t sb = s->bat[vhdx_bat_sb_index(s, b)], base = (sb >> 20) * VHDX_MIB;
	int rc;
	if ((sb & 7) != VHDX_SB_PRESENT)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: block %" PRIu64 " is partially present but its "
		                "sector bitmap block is not",
		                d->filename, b);
	if (byte > VHDX_MIB || len > VHDX_MIB - byte)
		return vstd_err(VSTD_ERANGE, "%s: sector bitmap read outside its block",
		                d->filename);
	if ((rc = vhdx_read_host(s, out, len, base + byte)) < 0)
		return rc;
	for (size_t i = 0; i < s->n_sb_pages; i++) {
		uint64_t po = s->sb_pages[i].off, lo = base + byte, hi = base + byte + len;
		uint64_t a = po > lo ? po : lo, z = po + 4096 < hi ? po + 4096 : hi;
		if (a < z)
			memcpy(out + (a - lo), s->sb_pages[i].data + (a - po), (size_t)(z - a));
	}
	return 0;
}

int vhdx_sb_get(vstd_disk *d, struct vhdx_state *s, uint64_t b, uint64_t sec)
{
	unsigned bit;
	uint64_t i = (b % s->chunk_ratio) * (s->block_size / s->lsec) + sec;
	uint8_t byte;
	int rc;
	if ((rc = vhdx_sb_read(d, s, b, i / 8, &byte, 1)) < 0)
		return rc;
	bit = (unsigned)(i % 8);
	return (byte >> bit) & 1;
}

uint64_t vhdx_bat_entries(const struct vhdx_state *s, uint64_t np)
{
	uint64_t nsb = (np + s->chunk_ratio - 1) / s->chunk_ratio;
	return s->has_parent ? nsb * (s->chunk_ratio + 1) : np + (np - 1) / s->chunk_ratio;
}

int vhdx_bat_resize(vstd_disk *d, struct vhdx_state *s, uint64_t ne)
{
	uint64_t old_pages = vstd_align_up(s->n_entries * 8, 4096) / 4096;
	uint64_t pages = vstd_align_up(ne * 8, 4096) / 4096;
	uint64_t *nb;
	uint8_t *nd;
	if (ne * 8 > VHDX_MAX_BAT)
		return vstd_err(VSTD_ELIMIT, "%s: BAT of %" PRIu64 " entries is above the limit",
		                d->filename, ne);
	if (ne <= s->n_entries) {
		s->n_entries = ne;
		return 0;
	}
	if ((nb = vstd_realloc_array(s->bat, (size_t)ne, 8)) == NULL)
		return vstd_err_code();
	s->bat = nb;
	if ((nd = vstd_realloc(s->bat_dirty, (size_t)pages)) == NULL)
		return vstd_err_code();
	s->bat_dirty = nd;
	memset(nd + old_pages, 0, (size_t)(pages - old_pages));
	memset(nb + s->n_entries, 0, (size_t)(ne - s->n_entries) * 8);
	/* the page holding the old end gets the new zero entries written */
	for (uint64_t i = s->n_entries; i < ne; i++)
		s->bat_dirty[i * 8 / 4096] = 1;
	s->dirty_any = 1;
	s->n_entries = ne;
	return 0;
}

/*
 * Move the BAT to the end of the file with room for s->n_entries entries:
 * the whole new table is written into space nothing points to yet and
 * flushed, then the region tables are switched (vhdx_region_set_bat).  A
 * crash before the switch leaves the old BAT in use and the new one as
 * unused space; after it, the new one, describing the same blocks.  The
 * old BAT's space is not reused.  Pending BAT changes must have been
 * flushed before (the new table is written from memory as it stands).
 */
int vhdx_bat_relocate(vstd_disk *d, struct vhdx_state *s)
{
	uint64_t len = vstd_align_up(s->n_entries * 8, VHDX_MIB), at = s->file_end;
	uint8_t *buf;
	int rc = 0;
	if (len > UINT32_MAX || len > VHDX_MAX_BAT)
		return vstd_err(VSTD_ELIMIT, "%s: a BAT of %" PRIu64 " bytes is above the limit",
		                d->filename, len);
	if (at / VHDX_MIB >= ((uint64_t)1 << 44))
		return vstd_err(VSTD_ELIMIT, "%s: file offset too large", d->filename);
	if ((buf = vstd_malloc((size_t)VHDX_MIB)) == NULL)
		return vstd_err_code();
	for (uint64_t piece = 0; piece < len && rc == 0; piece += VHDX_MIB) {
		memset(buf, 0, (size_t)VHDX_MIB);
		for (uint64_t k = 0; k < VHDX_MIB / 8; k++) {
			uint64_t i = piece / 8 + k;
			if (i >= s->n_entries)
				break;
			vstd_put_le64(buf + 8 * k, s->bat[i]);
		}
		rc = vstd_io_pwrite(s->io, buf, (size_t)VHDX_MIB, at + piece);
	}
	vstd_free(buf);
	if (rc == 0)
		rc = vstd_io_flush(s->io);
	if (rc < 0)
		return rc;
	s->file_end = at + len;
	if ((rc = vhdx_region_set_bat(d, s, at, (uint32_t)len)) < 0)
		return rc;
	/* everything in memory is now on disk at the new place */
	memset(s->bat_dirty, 0, (size_t)(vstd_align_up(s->n_entries * 8, 4096) / 4096));
	return 0;
}
