/*
 * disk/vdi/resize.c - growing a VDI whose block map has no room left
 * because data blocks follow it, and finishing such a grow that a crash
 * interrupted.
 *
 * As VirtualBox does, the map stays where it is and grows into the data
 * area: the first data blocks move to the end of the file, the data area
 * then starts `kk` blocks later, and every block index shifts down by kk.
 * The map and the header cannot change together, so vstd keeps a small
 * journal (docs/formats/vdi.md):
 *   1. the blocks in the way are copied after the last block (flush);
 *   2. the final header and the final map are written after them, the
 *      journal (flush);
 *   3. the header becomes "resize in progress": type VDI_RESIZING, which
 *      no reader accepts, and a description naming the journal (flush);
 *   4. the final map is written in place (flush), then the final header
 *      (flush), and the journal is cut off the file.
 * A crash before 3 leaves the old image (plus unused bytes at the end); a
 * crash after it leaves an image that every reader refuses and that vstd
 * finishes at the next read-write open (vdi_resize_resume).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/vdi/vdi.h"

#define JOURNAL_TEXT "vstd: interrupted resize, journal at 0x"
#define MOVES_TEXT ", moves "

static int copy_range(vstd_io *io, uint64_t from, uint64_t to, uint64_t len, uint8_t *buf,
                      size_t cap)
{
	while (len > 0) {
		size_t n = len < cap ? (size_t)len : cap;
		int rc;
		if ((rc = vstd_io_pread(io, buf, n, from)) < 0 ||
		    (rc = vstd_io_pwrite(io, buf, n, to)) < 0)
			return rc;
		from += n;
		to += n;
		len -= n;
	}
	return 0;
}

static int write_map(vstd_io *io, const uint32_t *map, uint32_t n, uint64_t at)
{
	uint64_t bytes = vstd_align_up((uint64_t)n * 4, 512);
	uint8_t *raw = vstd_calloc(1, (size_t)bytes);
	int rc;
	if (raw == NULL)
		return vstd_err_code();
	for (uint32_t i = 0; i < n; i++)
		vstd_put_le32(raw + 4 * (size_t)i, map[i]);
	rc = vstd_io_pwrite(io, raw, (size_t)bytes, at);
	vstd_free(raw);
	return rc;
}

/* Copy the data of index moves[2i] to index moves[2i+1]. */
static int do_moves(vstd_io *io, const struct vdi_header *h, const uint32_t *moves, uint32_t n,
                    uint64_t bs)
{
	size_t cap = bs < ((size_t)1 << 20) ? (size_t)bs : (size_t)1 << 20;
	uint8_t *buf = vstd_malloc(cap);
	int rc = 0;
	if (buf == NULL)
		return vstd_err_code();
	for (uint32_t i = 0; i < n && rc == 0; i++)
		rc = copy_range(io, h->offset_data + moves[2 * (size_t)i] * bs,
		                h->offset_data + moves[2 * (size_t)i + 1] * bs, bs, buf, cap);
	vstd_free(buf);
	return rc;
}

/* Journal a size change and carry it out (steps 2-4 above): the final
 * header, the final map and the block moves (pairs of le32: from index, to
 * index) after the file; the header marked; the moves copied; the map and
 * the header in place; the file cut at `cut`. */
static int journal_commit(vstd_disk *d, const struct vdi_header *hf, const uint32_t *map,
                          uint32_t nb, uint64_t j_at, const uint32_t *moves, uint32_t n_moves,
                          uint64_t cut)
{
	uint64_t bs = (uint64_t)hf->block_size + hf->block_extra;
	uint64_t map_bytes = vstd_align_up((uint64_t)nb * 4, 512);
	struct vdi_header hm = *hf;
	uint8_t hdr[VDI_HEADER_END];
	int rc;
	vdi_header_write(hf, hdr);
	if ((rc = vstd_io_pwrite(d->io, hdr, sizeof(hdr), j_at)) < 0 ||
	    (rc = write_map(d->io, map, nb, j_at + VDI_HEADER_END)) < 0 ||
	    (n_moves > 0 &&
	     (rc = write_map(d->io, moves, 2 * n_moves, j_at + VDI_HEADER_END + map_bytes)) < 0) ||
	    (rc = vstd_io_flush(d->io)) < 0)
		return rc;
	hm.type = VDI_RESIZING;
	memset(hm.description, 0, sizeof(hm.description));
	if (n_moves > 0)
		snprintf(hm.description, sizeof(hm.description),
		         JOURNAL_TEXT "%llx" MOVES_TEXT "%lu", (unsigned long long)j_at,
		         (unsigned long)n_moves);
	else
		snprintf(hm.description, sizeof(hm.description), JOURNAL_TEXT "%llx",
		         (unsigned long long)j_at);
	vdi_header_write(&hm, hdr);
	if ((rc = vstd_io_pwrite(d->io, hdr, sizeof(hdr), 0)) < 0 ||
	    (rc = vstd_io_flush(d->io)) < 0)
		return rc;
	if (n_moves > 0) {
		if ((rc = do_moves(d->io, hf, moves, n_moves, bs)) < 0 ||
		    (rc = vstd_io_flush(d->io)) < 0)
			return rc;
	}
	vdi_header_write(hf, hdr);
	if ((rc = write_map(d->io, map, nb, hf->offset_bmap)) < 0 ||
	    (rc = vstd_io_flush(d->io)) < 0 ||
	    (rc = vstd_io_pwrite(d->io, hdr, sizeof(hdr), 0)) < 0 ||
	    (rc = vstd_io_flush(d->io)) < 0 || (rc = vstd_io_truncate(d->io, cut)) < 0)
		return rc;
	return 0;
}

int vdi_grow_map(vstd_disk *d, struct vdi_state *s, uint32_t nb, uint64_t size, uint32_t add,
                 enum vstd_prealloc pa)
{
	uint64_t bs = (uint64_t)s->h.block_size + s->h.block_extra, d0 = s->h.offset_data;
	uint64_t need = vstd_align_up((uint64_t)nb * 4, 512), kk, moved, base, j_at, end, new_end;
	uint32_t alloc = s->next_index, *map = NULL;
	struct vdi_header hf = s->h;
	uint8_t *buf = NULL;
	size_t cap;
	int rc;
	if (s->n_bad > 0)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: the VDI block map has invalid entries; repair it (check -r) "
		                "before growing",
		                d->filename);
	if ((rc = vdi_meta_flush(d, s)) < 0)
		return rc;
	kk = (s->h.offset_bmap + need - d0 + bs - 1) / bs;
	moved = kk < alloc ? kk : alloc;
	base = kk > alloc ? kk : alloc;
	if (d0 + kk * bs > UINT32_MAX)
		return vstd_err(VSTD_ELIMIT,
		                "%s: the VDI data area would start past 4 GiB (offset_data is "
		                "32 bits)",
		                d->filename);
	end = d0 + (base + moved) * bs; /* = the final offset_data + alloc * bs */
	new_end = end + (uint64_t)add * bs;
	j_at = vstd_align_up(new_end > s->file_size ? new_end : s->file_size, 512);
	/* the final header and map */
	hf.offset_data = (uint32_t)(d0 + kk * bs);
	hf.blocks = nb;
	hf.disk_size = size;
	hf.blocks_allocated = alloc + add;
	if ((map = vstd_malloc_array(nb, sizeof(uint32_t))) == NULL)
		return vstd_err_code();
	for (uint32_t i = 0; i < nb; i++) {
		uint32_t e = i < s->h.blocks ? s->bmap[i] : VDI_BLOCK_FREE;
		if (e != VDI_BLOCK_FREE && e != VDI_BLOCK_ZERO)
			e = (uint32_t)(e < kk ? base + e - kk : e - kk);
		if (i >= s->h.blocks && i - s->h.blocks < add) /* new, allocated in order */
			e = alloc + (i - s->h.blocks);
		map[i] = e;
	}
	cap = bs < ((size_t)1 << 20) ? (size_t)bs : (size_t)1 << 20;
	if ((buf = vstd_malloc(cap)) == NULL) {
		rc = vstd_err_code();
		goto out;
	}
	/* 1. the blocks in the way, after the last one; the new allocated
	 * blocks (static image, preallocation) after them, reading as zeroes */
	for (uint64_t j = 0; j < moved; j++)
		if ((rc = copy_range(d->io, d0 + j * bs, d0 + (base + j) * bs, bs, buf, cap)) < 0)
			goto out;
	if (add > 0 && (rc = vdi_fill_new(d->io, end, new_end, s->file_size, pa)) < 0)
		goto out;
	if ((rc = vstd_io_flush(d->io)) < 0)
		goto out;
	/* 2.-4. */
	if ((rc = journal_commit(d, &hf, map, nb, j_at, NULL, 0, j_at)) < 0)
		goto out;
	vstd_free(s->bmap);
	s->bmap = map;
	map = NULL;
	vstd_free(s->dirty);
	s->dirty = NULL;
	vstd_free(s->bad); /* no entry was bad (checked above); the map is longer */
	s->bad = NULL;
	s->h = hf;
	s->next_index = alloc + add;
	s->file_size = j_at;
out:
	vstd_free(map);
	vstd_free(buf);
	return rc;
}

/*
 * Shrink to nb blocks when the blocks that stay do not use exactly the
 * indexes 0..k-1: those at or past k move into the free indexes below k
 * (journalled: the old data there belongs to dropped blocks), then the
 * allocated count becomes k and the file is cut after index k-1.
 */
int vdi_shrink_moves(vstd_disk *d, struct vdi_state *s, uint32_t nb, uint64_t size)
{
	uint64_t bs = (uint64_t)s->h.block_size + s->h.block_extra, j_at, cut;
	uint32_t k = 0, n_moves = 0, slot = 0, *map = NULL, *moves = NULL;
	struct vdi_header hf = s->h;
	uint8_t *used = NULL;
	int rc;
	if ((uint64_t)s->h.offset_bmap + vstd_align_up((uint64_t)nb * 4, 512) > s->h.offset_data)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: the VDI data area (offset 0x%" PRIx32 ") is not 512-byte "
		                "aligned after the block map; cannot shrink it",
		                d->filename, s->h.offset_data);
	for (uint32_t i = 0; i < nb; i++)
		k += s->bmap[i] != VDI_BLOCK_FREE && s->bmap[i] != VDI_BLOCK_ZERO;
	map = vstd_malloc_array(nb ? nb : 1, sizeof(uint32_t));
	moves = vstd_malloc_array(2 * (size_t)k + 1, sizeof(uint32_t));
	used = vstd_calloc((size_t)k / 8 + 1, 1);
	if (map == NULL || moves == NULL || used == NULL) {
		rc = vstd_err_code();
		goto out;
	}
	for (uint32_t i = 0; i < nb; i++) {
		uint32_t v = s->bmap[i];
		map[i] = v;
		if (v != VDI_BLOCK_FREE && v != VDI_BLOCK_ZERO && v < k)
			used[v / 8] |= (uint8_t)(1u << (v & 7));
	}
	for (uint32_t i = 0; i < nb; i++) {
		uint32_t v = map[i];
		if (v == VDI_BLOCK_FREE || v == VDI_BLOCK_ZERO || v < k)
			continue;
		while (used[slot / 8] & (1u << (slot & 7)))
			slot++; /* there are as many free indexes below k as blocks above */
		used[slot / 8] |= (uint8_t)(1u << (slot & 7));
		moves[2 * (size_t)n_moves] = v;
		moves[2 * (size_t)n_moves + 1] = slot;
		map[i] = slot;
		n_moves++;
	}
	hf.blocks = nb;
	hf.disk_size = size;
	hf.blocks_allocated = k;
	cut = hf.offset_data + (uint64_t)k * bs;
	j_at = vstd_align_up(s->file_size, 512);
	if ((rc = journal_commit(d, &hf, map, nb, j_at, moves, n_moves, cut)) < 0)
		goto out;
	memcpy(s->bmap, map, (size_t)nb * sizeof(uint32_t));
	s->h = hf;
	s->next_index = k;
	s->file_size = cut;
out:
	vstd_free(map);
	vstd_free(moves);
	vstd_free(used);
	return rc;
}

int vdi_resize_pending(const struct vdi_header *h)
{
	return h->type == VDI_RESIZING &&
	       strncmp(h->description, JOURNAL_TEXT, strlen(JOURNAL_TEXT)) == 0;
}

/* Redo the journalled moves, each checked first (all of them, before any
 * copy): from an index at or past the final allocated count (never
 * overwritten), inside the file before the journal, to an index below it. */
static int resume_moves(vstd_disk *d, const struct vdi_header *hf, uint64_t at, uint64_t n,
                        uint64_t j)
{
	uint64_t bs = (uint64_t)hf->block_size + hf->block_extra;
	uint8_t raw[512];
	uint32_t pair[2];
	int rc = 0;
	for (int pass = 0; pass < 2; pass++)
		for (uint64_t i = 0; i < n && rc == 0; i++) {
			if (i % 64 == 0 &&
			    (rc = vstd_io_pread(d->io, raw, sizeof(raw), at + (i / 64) * 512)) < 0)
				return rc;
			pair[0] = vstd_le32(raw + (i % 64) * 8);
			pair[1] = vstd_le32(raw + (i % 64) * 8 + 4);
			if (pass == 1)
				rc = do_moves(d->io, hf, pair, 1, bs);
			else if (pair[1] >= hf->blocks_allocated ||
			         pair[0] < hf->blocks_allocated ||
			         hf->offset_data + ((uint64_t)pair[0] + 1) * bs > j)
				return vstd_err(VSTD_ECORRUPT,
				                "%s: VDI resize journal move %" PRIu64
				                " (at offset 0x%" PRIx64 ") from index %" PRIu32
				                " to %" PRIu32
				                " is outside the data area or the allocated count",
				                d->filename, i, at + i * 8, pair[0], pair[1]);
		}
	return rc;
}

int vdi_resize_resume(vstd_disk *d, const struct vdi_header *hm, uint64_t file_size)
{
	const char *hex = hm->description + strlen(JOURNAL_TEXT), *dec;
	char *endp = NULL;
	unsigned long long j = strtoull(hex, &endp, 16), n_moves = 0;
	uint8_t raw[VDI_HEADER_END], *map = NULL;
	struct vdi_header hf;
	uint64_t bytes, cut;
	int rc;
	if (!(d->flags & VSTD_DISK_RDWR))
		return vstd_err(VSTD_ESTATE,
		                "%s: a VDI resize was interrupted; open the image read-write "
		                "to finish it (e.g. 'vstd img check -r all')",
		                d->filename);
	if (endp != hex && strncmp(endp, MOVES_TEXT, strlen(MOVES_TEXT)) == 0) {
		dec = endp + strlen(MOVES_TEXT);
		n_moves = *dec >= '0' && *dec <= '9' ? strtoull(dec, &endp, 10) : 0;
		if (endp == dec || n_moves == 0)
			endp = (char *)dec - 1; /* not a count: refused below */
	}
	if (endp == hex || *endp != '\0' || j % 512 || j < VDI_HEADER_END ||
	    !vstd_range_inside(j, VDI_HEADER_END, file_size))
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VDI resize journal offset '%s' is invalid or past the end "
		                "of the file",
		                d->filename, hex);
	if ((rc = vstd_io_pread(d->io, raw, sizeof(raw), j)) < 0 ||
	    (rc = vdi_header_parse(raw, &hf, d->filename)) < 0)
		return rc;
	bytes = vstd_align_up((uint64_t)hf.blocks * 4, 512);
	cut = n_moves == 0 ? j
	                   : hf.offset_data + (uint64_t)hf.blocks_allocated *
	                                              ((uint64_t)hf.block_size + hf.block_extra);
	if (hf.offset_bmap != hm->offset_bmap || hf.blocks > VDI_MAX_BLOCKS ||
	    hf.offset_bmap + bytes > hf.offset_data || hf.offset_data > j ||
	    !vstd_range_inside(j + VDI_HEADER_END, bytes, file_size) ||
	    n_moves > hf.blocks_allocated || cut > j ||
	    !vstd_range_inside(j + VDI_HEADER_END + bytes, vstd_align_up(n_moves * 8, 512),
	                       file_size))
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VDI resize journal at offset 0x%llx disagrees with the "
		                "header or passes the end of the file",
		                d->filename, j);
	if (n_moves > 0 &&
	    ((rc = resume_moves(d, &hf, j + VDI_HEADER_END + bytes, n_moves, j)) < 0 ||
	     (rc = vstd_io_flush(d->io)) < 0))
		return rc;
	if ((map = vstd_malloc((size_t)bytes)) == NULL)
		return vstd_err_code();
	if ((rc = vstd_io_pread(d->io, map, (size_t)bytes, j + VDI_HEADER_END)) == 0 &&
	    (rc = vstd_io_pwrite(d->io, map, (size_t)bytes, hf.offset_bmap)) == 0 &&
	    (rc = vstd_io_flush(d->io)) == 0 &&
	    (rc = vstd_io_pwrite(d->io, raw, sizeof(raw), 0)) == 0 &&
	    (rc = vstd_io_flush(d->io)) == 0)
		rc = vstd_io_truncate(d->io, cut);
	vstd_free(map);
	return rc;
}
