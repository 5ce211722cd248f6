/*
 * disk/vdi/grow.c - changing a VDI's size: growing with the new blocks
 * free (dynamic) or allocated in order after the existing data (static
 * images, and --preallocation on dynamic ones), and shrinking.
 *
 * When the block map has room before the data area, a grow is three
 * steps, each invisible to the old image until the last: the new blocks'
 * data area is zeroed or extended (flush with the next step), the new map
 * entries are written past the old block count (flush), then one write of
 * the header makes the new size, block count and allocated count live.
 * Without room the map grows into the data area (resize.c, journalled).
 * A shrink writes the header (one write), then cuts the file, when the
 * blocks that stay use the indexes 0..k-1; otherwise the blocks past k
 * move into the free indexes below k first, journalled (resize.c).  --preallocation: metadata
 * extends the file sparse (as a static image), falloc reserves it, full writes zeroes.
 * docs/formats/vdi.md "Resize".
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/vdi/vdi.h"

static int is_index(uint32_t v)
{
	return v != VDI_BLOCK_FREE && v != VDI_BLOCK_ZERO;
}

/* A static image is grown or shrunk only if its map holds every index below
 * the block count exactly once: the new blocks then take the indexes after
 * the last one, and their data follows the existing data. */
static int static_map_check(vstd_disk *d, struct vdi_state *s)
{
	uint8_t *seen;
	int rc = 0;
	if (s->h.type != VDI_FIXED)
		return 0;
	if ((seen = vstd_calloc((size_t)s->h.blocks / 8 + 1, 1)) == NULL)
		return vstd_err_code();
	for (uint32_t i = 0; i < s->h.blocks && rc == 0; i++) {
		uint32_t v = s->bmap[i];
		const char *why = NULL;
		if (!is_index(v))
			why = "is not allocated (a static image allocates every block)";
		else if (v >= s->h.blocks)
			why = "is at or past the block count";
		else if (seen[v / 8] & (1u << (v & 7)))
			why = "is used by another block";
		else if (s->bad != NULL && s->bad[i])
			why = "points past the end of the file";
		if (why != NULL)
			rc = vstd_err(VSTD_ECORRUPT,
			              "%s: static VDI block %" PRIu32 " (block map entry at offset "
			              "0x%" PRIx64 ") holds 0x%" PRIx32 ", which %s; the map of a "
			              "static image must hold each index below %" PRIu32
			              " once, not resizing",
			              d->filename, i, (uint64_t)s->h.offset_bmap + 4 * (uint64_t)i,
			              v, why, s->h.blocks);
		else
			seen[v / 8] |= (uint8_t)(1u << (v & 7));
	}
	vstd_free(seen);
	return rc;
}

int vdi_fill_new(vstd_io *io, uint64_t from, uint64_t to, uint64_t file_size, enum vstd_prealloc pa)
{
	uint64_t z = file_size < to ? file_size : to, size;
	int rc;
	/* below the old end of the file: bytes of an earlier interrupted grow,
	 * or of blocks dropped by a shrink; they must read as zeroes */
	if (from < z && (rc = vstd_io_write_zeroes(io, from, z - from, 0)) < 0)
		return rc;
	if (to <= file_size)
		return 0;
	if (from < file_size)
		from = file_size;
	if (pa == VSTD_PREALLOC_FULL) {
		const size_t chunk = (size_t)1 << 20;
		uint8_t *zero = vstd_calloc(1, chunk);
		if (zero == NULL)
			return vstd_err_code();
		rc = 0;
		for (uint64_t off = from; off < to && rc == 0; off += chunk)
			rc = vstd_io_pwrite(io, zero, to - off < chunk ? (size_t)(to - off) : chunk,
			                    off);
		vstd_free(zero);
		return rc;
	}
	if (pa == VSTD_PREALLOC_FALLOC && (rc = vstd_io_allocate(io, from, to - from)) < 0)
		return rc;
	if ((rc = vstd_io_size(io, &size)) < 0)
		return rc;
	return size < to ? vstd_io_truncate(io, to) : 0;
}

/* The bytes of the last block past the old disk size become visible: an
 * earlier shrink may have left data there. */
static int zero_tail(vstd_disk *d, struct vdi_state *s, uint64_t size)
{
	uint32_t inb = (uint32_t)(s->h.disk_size % s->h.block_size);
	uint32_t last = (uint32_t)(s->h.disk_size / s->h.block_size), v;
	uint64_t end;
	int rc;
	if (inb == 0 || size <= s->h.disk_size || last >= s->h.blocks)
		return 0;
	v = s->bmap[last];
	if (!is_index(v) || (s->bad != NULL && s->bad[last]))
		return 0;
	end = size - (uint64_t)last * s->h.block_size;
	if (end > s->h.block_size)
		end = s->h.block_size;
	/* durable before the header makes the bytes visible */
	if ((rc = vstd_io_write_zeroes(d->io, vdi_block_offset(s, v) + inb, end - inb, 0)) < 0)
		return rc;
	return vstd_io_flush(d->io);
}

/* The in-memory map grows to nb entries: entries past the old count are
 * `first, first + 1, ...` (allocated) or free. */
static int extend_state(struct vdi_state *s, uint32_t nb, int allocate, uint32_t first)
{
	uint32_t *m;
	if (nb <= s->h.blocks)
		return 0;
	if ((m = vstd_realloc_array(s->bmap, nb, sizeof(uint32_t))) == NULL)
		return vstd_err_code();
	s->bmap = m;
	if (s->bad != NULL) {
		uint8_t *bad = vstd_realloc(s->bad, nb);
		if (bad == NULL)
			return vstd_err_code();
		memset(bad + s->h.blocks, 0, nb - s->h.blocks);
		s->bad = bad;
	}
	for (uint32_t i = s->h.blocks; i < nb; i++)
		s->bmap[i] = allocate ? first + (i - s->h.blocks) : VDI_BLOCK_FREE;
	vstd_free(s->dirty);
	s->dirty = NULL;
	return 0;
}

static int write_header(vstd_disk *d, const struct vdi_header *h)
{
	uint8_t hdr[VDI_HEADER_END];
	int rc;
	vdi_header_write(h, hdr);
	if ((rc = vstd_io_pwrite(d->io, hdr, sizeof(hdr), 0)) < 0)
		return rc;
	return vstd_io_flush(d->io);
}

/* Grow with room in the map (or, with no block allocated and none to
 * allocate, by moving the empty data area). */
static int grow_in_place(vstd_disk *d, struct vdi_state *s, uint32_t nb, uint64_t size,
                         uint32_t add, enum vstd_prealloc pa)
{
	struct vdi_header h = s->h;
	uint32_t first = s->next_index, room = (s->h.offset_data - s->h.offset_bmap) / 4;
	uint64_t bs = (uint64_t)s->h.block_size + s->h.block_extra, end = s->file_size;
	uint8_t *raw = NULL;
	int rc;
	if (nb > room) /* nothing allocated: the data area moves */
		h.offset_data =
		        (uint32_t)vstd_align_up((uint64_t)h.offset_bmap + 4 * (uint64_t)nb, 512);
	if (add > 0) {
		uint64_t from = h.offset_data + (uint64_t)first * bs;
		end = from + (uint64_t)add * bs;
		if ((rc = vdi_fill_new(d->io, from, end, s->file_size, pa)) < 0)
			return rc;
		if (end < s->file_size)
			end = s->file_size;
	}
	if (nb > s->h.blocks) {
		if ((raw = vstd_malloc((size_t)(nb - s->h.blocks) * 4)) == NULL)
			return vstd_err_code();
		for (uint32_t i = s->h.blocks; i < nb; i++)
			vstd_put_le32(raw + 4 * (size_t)(i - s->h.blocks),
			              i - s->h.blocks < add ? first + (i - s->h.blocks)
			                                    : VDI_BLOCK_FREE);
		rc = vstd_io_pwrite(d->io, raw, (size_t)(nb - s->h.blocks) * 4,
		                    s->h.offset_bmap + 4 * (uint64_t)s->h.blocks);
		vstd_free(raw);
		if (rc < 0 || (rc = vstd_io_flush(d->io)) < 0)
			return rc;
	}
	h.blocks = nb;
	h.disk_size = size;
	h.blocks_allocated = first + add > h.blocks_allocated ? first + add : h.blocks_allocated;
	if ((rc = write_header(d, &h)) < 0 || (rc = extend_state(s, nb, add > 0, first)) < 0)
		return rc;
	s->h = h;
	s->next_index = first + add;
	s->file_size = end;
	return 0;
}

/* Drop the blocks past nb.  When the k blocks that stay use the indexes
 * 0..k-1, the data area is simply cut after index k-1; otherwise some move
 * first (journalled).  Either way the allocated count becomes k, as qemu's
 * check wants. */
static int shrink(vstd_disk *d, struct vdi_state *s, uint32_t nb, uint64_t size)
{
	struct vdi_header h = s->h;
	uint32_t k = 0, top = 0;
	uint64_t cut;
	int rc;
	if (s->n_bad > 0)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: the VDI block map has invalid entries; repair it (check -r) "
		                "before shrinking",
		                d->filename);
	for (uint32_t i = 0; i < nb; i++)
		if (is_index(s->bmap[i])) {
			k++;
			if (s->bmap[i] + 1 > top)
				top = s->bmap[i] + 1;
		}
	h.blocks = nb;
	h.disk_size = size;
	if (top != k) /* blocks move into the free indexes below k (resize.c) */
		return vdi_shrink_moves(d, s, nb, size);
	h.blocks_allocated = k;
	cut = h.offset_data + (uint64_t)k * ((uint64_t)h.block_size + h.block_extra);
	if ((rc = write_header(d, &h)) < 0)
		return rc;
	s->h = h;
	s->next_index = k;
	if (s->file_size > cut) {
		if ((rc = vstd_io_truncate(d->io, cut)) < 0 || (rc = vstd_io_flush(d->io)) < 0)
			return rc;
		s->file_size = cut;
	}
	return 0;
}

int vdi_resize(vstd_disk *d, struct vdi_state *s, uint64_t size, enum vstd_prealloc pa)
{
	uint64_t nb64 = (size + s->h.block_size - 1) / s->h.block_size;
	uint32_t nb, room, add = 0;
	struct vdi_header old = s->h;
	int rc;
	if (size % 512)
		return vstd_err(VSTD_EINVAL, "%s: a VDI's size must be a multiple of 512 bytes",
		                d->filename);
	if (nb64 > VDI_MAX_BLOCKS)
		return vstd_err(VSTD_EINVAL,
		                "%s: %" PRIu64 " bytes needs more VDI blocks than the "
		                "limit of %" PRIu32,
		                d->filename, size, VDI_MAX_BLOCKS);
	nb = (uint32_t)nb64;
	if ((rc = vdi_meta_flush(d, s)) < 0 || (rc = static_map_check(d, s)) < 0)
		return rc;
	if (size < s->h.disk_size) {
		if ((rc = shrink(d, s, nb, size)) < 0)
			s->h = old;
		return rc;
	}
	if (nb > s->h.blocks && (s->h.type == VDI_FIXED || pa != VSTD_PREALLOC_OFF)) {
		add = nb - s->h.blocks;
		if (s->n_bad > 0)
			return vstd_err(VSTD_ECORRUPT,
			                "%s: the VDI block map has invalid entries; repair it "
			                "(check -r) before growing",
			                d->filename);
	}
	if ((rc = zero_tail(d, s, size)) < 0)
		return rc;
	room = (s->h.offset_data - s->h.offset_bmap) / 4;
	if (nb > room && (s->next_index > 0 || add > 0)) {
		/* data follows the map: move the first blocks (resize.c) */
		if ((rc = vdi_grow_map(d, s, nb, size, add, pa)) < 0)
			s->h = old;
		return rc;
	}
	if ((rc = grow_in_place(d, s, nb, size, add, pa)) < 0)
		s->h = old;
	return rc;
}
