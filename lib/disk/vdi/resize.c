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

int vdi_grow_map(vstd_disk *d, struct vdi_state *s, uint32_t nb, uint64_t size, uint32_t add,
                 enum vstd_prealloc pa)
{
	uint64_t bs = (uint64_t)s->h.block_size + s->h.block_extra, d0 = s->h.offset_data;
	uint64_t need = vstd_align_up((uint64_t)nb * 4, 512), kk, moved, base, j_at, end, new_end;
	uint32_t alloc = s->next_index, *map = NULL;
	struct vdi_header hf = s->h, hm = s->h;
	uint8_t hdr[VDI_HEADER_END], *buf = NULL;
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
	/* 2. the journal */
	vdi_header_write(&hf, hdr);
	if ((rc = vstd_io_pwrite(d->io, hdr, sizeof(hdr), j_at)) < 0 ||
	    (rc = write_map(d->io, map, nb, j_at + VDI_HEADER_END)) < 0 ||
	    (rc = vstd_io_flush(d->io)) < 0)
		goto out;
	/* 3. in progress */
	hm.type = VDI_RESIZING;
	memset(hm.description, 0, sizeof(hm.description));
	snprintf(hm.description, sizeof(hm.description), JOURNAL_TEXT "%llx",
	         (unsigned long long)j_at);
	vdi_header_write(&hm, hdr);
	if ((rc = vstd_io_pwrite(d->io, hdr, sizeof(hdr), 0)) < 0 ||
	    (rc = vstd_io_flush(d->io)) < 0)
		goto out;
	/* 4. in place, then the header; the journal goes */
	vdi_header_write(&hf, hdr);
	if ((rc = write_map(d->io, map, nb, s->h.offset_bmap)) < 0 ||
	    (rc = vstd_io_flush(d->io)) < 0 ||
	    (rc = vstd_io_pwrite(d->io, hdr, sizeof(hdr), 0)) < 0 ||
	    (rc = vstd_io_flush(d->io)) < 0 || (rc = vstd_io_truncate(d->io, j_at)) < 0)
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

int vdi_resize_pending(const struct vdi_header *h)
{
	return h->type == VDI_RESIZING &&
	       strncmp(h->description, JOURNAL_TEXT, strlen(JOURNAL_TEXT)) == 0;
}

int vdi_resize_resume(vstd_disk *d, const struct vdi_header *hm, uint64_t file_size)
{
	const char *hex = hm->description + strlen(JOURNAL_TEXT);
	char *endp = NULL;
	unsigned long long j = strtoull(hex, &endp, 16);
	uint8_t raw[VDI_HEADER_END], *map = NULL;
	struct vdi_header hf;
	uint64_t bytes;
	int rc;
	if (!(d->flags & VSTD_DISK_RDWR))
		return vstd_err(VSTD_ESTATE,
		                "%s: a VDI resize was interrupted; open the image read-write "
		                "to finish it (e.g. 'vstd img check -r all')",
		                d->filename);
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
	if (hf.offset_bmap != hm->offset_bmap || hf.blocks > VDI_MAX_BLOCKS ||
	    hf.offset_bmap + bytes > hf.offset_data || hf.offset_data > j ||
	    !vstd_range_inside(j + VDI_HEADER_END, bytes, file_size))
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VDI resize journal at offset 0x%llx disagrees with the "
		                "header or passes the end of the file",
		                d->filename, j);
	if ((map = vstd_malloc((size_t)bytes)) == NULL)
		return vstd_err_code();
	if ((rc = vstd_io_pread(d->io, map, (size_t)bytes, j + VDI_HEADER_END)) == 0 &&
	    (rc = vstd_io_pwrite(d->io, map, (size_t)bytes, hf.offset_bmap)) == 0 &&
	    (rc = vstd_io_flush(d->io)) == 0 &&
	    (rc = vstd_io_pwrite(d->io, raw, sizeof(raw), 0)) == 0 &&
	    (rc = vstd_io_flush(d->io)) == 0)
		rc = vstd_io_truncate(d->io, j);
	vstd_free(map);
	return rc;
}
