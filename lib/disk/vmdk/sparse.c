/*
 * disk/vmdk/sparse.c - hosted sparse extents ("KDMV"): header, grain
 * directory, grain tables (and their redundant copies), grain allocation.
 *
 * A guest offset inside the extent gives a grain number; grain / entries
 * per table gives the directory entry (the sector of a grain table),
 * grain % entries the table entry (the sector of the grain; 0 unallocated,
 * 1 a zero grain when the header's zeroed-grain flag is set).  Tables are
 * loaded on first use and kept (bounded by VMDK_MAX_METADATA).
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/vmdk/vmdk_internal.h"

void vmdk_sparse_build_header(uint8_t *h, uint32_t version, uint32_t flags, uint64_t capacity,
                              uint64_t grain, uint64_t desc_off, uint64_t desc_size,
                              uint64_t rgd_off, uint64_t gd_off, uint64_t overhead)
{
	memset(h, 0, VMDK_SECTOR);
	vstd_put_le32(h, VMDK4_MAGIC);
	vstd_put_le32(h + 4, version);
	vstd_put_le32(h + 8, flags);
	vstd_put_le64(h + 12, capacity / VMDK_SECTOR);
	vstd_put_le64(h + 20, grain / VMDK_SECTOR);
	vstd_put_le64(h + 28, desc_off);
	vstd_put_le64(h + 36, desc_size);
	vstd_put_le32(h + 44, 512);
	vstd_put_le64(h + 48, rgd_off);
	vstd_put_le64(h + 56, gd_off);
	vstd_put_le64(h + 64, overhead);
	h[72] = 0;
	h[73] = '\n';
	h[74] = ' ';
	h[75] = '\r';
	h[76] = '\n';
	vstd_put_le16(h + 77, (flags & VMDK4_FLAG_COMPRESS) ? 1 : 0);
}

int vmdk_sparse_parse_header(const char *name, const uint8_t *h, uint64_t file_size,
                             struct vmdk_extent *e)
{
	uint64_t cap = vstd_le64(h + 12), grain = vstd_le64(h + 20);
	uint64_t gd = vstd_le64(h + 56), rgd = vstd_le64(h + 48);
	uint64_t per_gd, n_gd;
	e->version = vstd_le32(h + 4);
	e->flags = vstd_le32(h + 8);
	if (vstd_le32(h) != VMDK4_MAGIC)
		return vstd_err(VSTD_ECORRUPT, "%s: sparse extent header: bad magic", name);
	if (e->version < 1 || e->version > 3)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: sparse extent header: version %u is not 1, 2 "
		                "or 3",
		                name, e->version);
	if (grain == 0 || grain > VMDK_MAX_GRAIN / VMDK_SECTOR)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: sparse extent header at offset 0x0: grain "
		                "size %" PRIu64 " sectors is 0 or above the limit",
		                name, grain);
	e->ngte = vstd_le32(h + 44);
	if (e->ngte == 0 || e->ngte > VMDK_MAX_GTES)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: sparse extent header: %u grain table entries "
		                "per table is out of range (1-%u)",
		                name, e->ngte, VMDK_MAX_GTES);
	if (cap > ((uint64_t)1 << 44))
		return vstd_err(VSTD_ECORRUPT,
		                "%s: sparse extent header: capacity %" PRIu64
		                " sectors is too large",
		                name, cap);
	e->capacity = cap * VMDK_SECTOR;
	e->grain = grain * VMDK_SECTOR;
	e->compressed = vstd_le16(h + 77) == 1;
	e->markers = (e->flags & VMDK4_FLAG_MARKER) != 0;
	e->zeroed_grain = (e->flags & VMDK4_FLAG_ZERO_GRAIN) != 0;
	e->unclean = h[72] != 0;
	if (vstd_le16(h + 77) > 1)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: sparse extent header: compression algorithm %u "
		                "unknown",
		                name, vstd_le16(h + 77));
	per_gd = grain * e->ngte;
	n_gd = (cap + per_gd - 1) / per_gd;
	if (n_gd > VMDK_MAX_METADATA / 4 / e->ngte)
		return vstd_err(VSTD_ELIMIT,
		                "%s: sparse extent: grain tables would need more than "
		                "%" PRIu64 " bytes",
		                name, VMDK_MAX_METADATA);
	e->n_gd = n_gd;
	e->desc_off = vstd_le64(h + 28);
	e->desc_size = vstd_le64(h + 36);
	if (e->desc_off > file_size / VMDK_SECTOR ||
	    e->desc_size > VMDK_MAX_DESC_SIZE / VMDK_SECTOR)
		e->desc_off = e->desc_size = 0;
	else {
		e->desc_off *= VMDK_SECTOR;
		e->desc_size *= VMDK_SECTOR;
	}
	if (gd == VMDK_GD_AT_END) {
		e->gd_off = VMDK_GD_AT_END;
		e->rgd_off = 0;
		return 0;
	}
	if (gd == 0 || gd > file_size / VMDK_SECTOR || n_gd * 4 > file_size - gd * VMDK_SECTOR)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: grain directory at sector %" PRIu64 " (%" PRIu64
		                " entries) is outside the file (%" PRIu64 " bytes)",
		                name, gd, n_gd, file_size);
	e->gd_off = gd * VMDK_SECTOR;
	e->rgd_off = 0;
	if ((e->flags & VMDK4_FLAG_RGD) && rgd != 0 && rgd <= file_size / VMDK_SECTOR &&
	    n_gd * 4 <= file_size - rgd * VMDK_SECTOR)
		e->rgd_off = rgd * VMDK_SECTOR;
	return 0;
}

/*
 * ESX "COWD" sparse extent (vmfsSparse): magic, version, flags, capacity
 * (sectors), grain size (sectors), grain directory offset (sectors) and
 * entry count, all u32; tables of 4096 u32 entries; no compression, no
 * zero grains, no redundant directory.
 */
static int cowd_parse_header(const char *name, const uint8_t *h, uint64_t file_size,
                             struct vmdk_extent *e)
{
	uint64_t cap = vstd_le32(h + 12), grain = vstd_le32(h + 16);
	uint64_t gd = vstd_le32(h + 20), n_gd = vstd_le32(h + 24), need;
	e->version = vstd_le32(h + 4);
	e->flags = 0;
	e->ngte = 4096;
	if (grain == 0 || grain > VMDK_MAX_GRAIN / VMDK_SECTOR)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: COWD header: grain size %" PRIu64 " sectors is 0 "
		                "or above the limit",
		                name, grain);
	need = (cap + grain * 4096 - 1) / (grain * 4096);
	if (n_gd < need || n_gd > VMDK_MAX_METADATA / 4 / 4096)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: COWD header: %" PRIu64 " directory entries for "
		                "%" PRIu64 " sectors (%" PRIu64 " needed, or above the limit)",
		                name, n_gd, cap, need);
	if (gd == 0 || gd > file_size / VMDK_SECTOR || n_gd * 4 > file_size - gd * VMDK_SECTOR)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: COWD grain directory at sector %" PRIu64 " is "
		                "outside the file",
		                name, gd);
	e->capacity = cap * VMDK_SECTOR;
	e->grain = grain * VMDK_SECTOR;
	e->n_gd = n_gd;
	e->gd_off = gd * VMDK_SECTOR;
	e->rgd_off = 0;
	e->compressed = e->markers = e->zeroed_grain = 0;
	e->unclean = 0;
	e->desc_off = e->desc_size = 0;
	e->type_name = "VMFSSPARSE";
	return 0;
}

static int read_dir(vstd_disk *d, struct vmdk_extent *e, uint64_t off, uint32_t **out)
{
	uint8_t *raw;
	uint32_t *t;
	int rc;
	raw = vstd_malloc_array((size_t)e->n_gd, 4);
	t = vstd_malloc_array((size_t)e->n_gd, sizeof(uint32_t));
	if (raw == NULL || t == NULL) {
		vstd_free(raw);
		vstd_free(t);
		return vstd_err_code();
	}
	rc = vstd_io_pread(e->io, raw, (size_t)e->n_gd * 4, off);
	if (rc == 0)
		for (uint64_t i = 0; i < e->n_gd; i++)
			t[i] = vstd_le32(raw + 4 * i);
	vstd_free(raw);
	if (rc < 0) {
		vstd_free(t);
		return vstd_err_prefix("%s: grain directory at offset 0x%" PRIx64 ": ", d->filename,
		                       off);
	}
	*out = t;
	return 0;
}

/* For a header whose directory is at the end: the footer's header. */
static int read_footer(vstd_disk *d, struct vmdk_extent *e, uint64_t file_size)
{
	uint8_t f[3 * VMDK_SECTOR];
	uint64_t at;
	int rc;
	if (file_size < 4 * VMDK_SECTOR)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: streamOptimized extent: directory at the end "
		                "but the file is too short for a footer",
		                d->filename);
	at = vstd_align_down(file_size, VMDK_SECTOR) - 3 * VMDK_SECTOR;
	if ((rc = vstd_io_pread(e->io, f, sizeof(f), at)) < 0)
		return rc;
	if (vstd_le32(f + 8) != 0 || vstd_le32(f + 12) != VMDK_MARKER_FOOTER ||
	    vstd_le32(f + 1024 + 8) != 0 || vstd_le32(f + 1024 + 12) != VMDK_MARKER_EOS)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: streamOptimized footer at offset 0x%" PRIx64
		                ": footer or end-of-stream marker missing",
		                d->filename, at);
	{
		uint64_t cap0 = e->capacity, grain0 = e->grain;
		if ((rc = vmdk_sparse_parse_header(d->filename, f + VMDK_SECTOR, file_size, e)) < 0)
			return vstd_err_prefix("footer: ");
		if (e->gd_off == VMDK_GD_AT_END)
			return vstd_err(VSTD_ECORRUPT,
			                "%s: streamOptimized footer at offset 0x%" PRIx64
			                " points to itself for the grain directory",
			                d->filename, at + VMDK_SECTOR);
		if (e->capacity != cap0 || e->grain != grain0)
			return vstd_err(VSTD_ECORRUPT,
			                "%s: streamOptimized footer at offset 0x%" PRIx64
			                " disagrees with the header (capacity or grain size)",
			                d->filename, at + VMDK_SECTOR);
	}
	e->footer = 1;
	return 0;
}

int vmdk_sparse_open(vstd_disk *d, struct vmdk_extent *e)
{
	uint64_t file_size;
	int rc;
	if ((rc = vstd_io_size(e->io, &file_size)) < 0)
		return rc;
	if (file_size < VMDK_SECTOR)
		return vstd_err(VSTD_ECORRUPT, "%s: sparse extent shorter than its header",
		                d->filename);
	if ((rc = vstd_io_pread(e->io, e->hdr, VMDK_SECTOR, 0)) < 0)
		return rc;
	if (vstd_le32(e->hdr) == VMDK3_MAGIC)
		rc = cowd_parse_header(d->filename, e->hdr, file_size, e);
	else
		rc = vmdk_sparse_parse_header(d->filename, e->hdr, file_size, e);
	if (rc < 0)
		return rc;
	if (e->gd_off == VMDK_GD_AT_END && (rc = read_footer(d, e, file_size)) < 0)
		return rc;
	if (e->version == 3 && (d->flags & VSTD_DISK_RDWR) && !e->markers)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: VMDK version 3 sparse extents (changed block "
		                "tracking) can only be opened read-only",
		                d->filename);
	if ((rc = read_dir(d, e, e->gd_off, &e->gd)) < 0)
		return rc;
	if (e->rgd_off != 0 && (d->flags & VSTD_DISK_RDWR) &&
	    (rc = read_dir(d, e, e->rgd_off, &e->rgd)) < 0)
		return rc;
	e->gt = vstd_calloc((size_t)e->n_gd, sizeof(*e->gt));
	if (e->gt == NULL)
		return vstd_err_code();
	e->file_end = vstd_align_up(file_size, VMDK_SECTOR);
	if (e->compressed) {
		e->cache = vstd_malloc((size_t)e->grain);
		if (e->cache == NULL)
			return vstd_err_code();
	}
	return 0;
}

int vmdk_sparse_load_gt(vstd_disk *d, struct vmdk_extent *e, uint64_t gdi)
{
	uint64_t off = (uint64_t)e->gd[gdi] * VMDK_SECTOR, size;
	size_t n = (size_t)e->ngte * 4;
	uint8_t *raw;
	uint32_t *t;
	int rc;
	if ((rc = vstd_io_size(e->io, &size)) < 0)
		return rc;
	if (!vstd_range_inside(off, n, size))
		return vstd_err(VSTD_ECORRUPT,
		                "%s: grain directory entry %" PRIu64 ": grain table "
		                "at offset 0x%" PRIx64 " is past the end of the file",
		                d->filename, gdi, off);
	raw = vstd_malloc(n);
	t = vstd_malloc_array(e->ngte, sizeof(uint32_t));
	if (raw == NULL || t == NULL) {
		vstd_free(raw);
		vstd_free(t);
		return vstd_err_code();
	}
	rc = vstd_io_pread(e->io, raw, n, off);
	for (uint32_t i = 0; rc == 0 && i < e->ngte; i++)
		t[i] = vstd_le32(raw + 4 * i);
	vstd_free(raw);
	if (rc < 0) {
		vstd_free(t);
		return rc;
	}
	e->gt[gdi] = t;
	e->gt_bytes += n;
	return 0;
}

int vmdk_sparse_lookup(vstd_disk *d, struct vmdk_extent *e, uint64_t gi, enum vmdk_grain_kind *kind,
                       uint64_t *host)
{
	uint64_t gdi = gi / e->ngte;
	uint32_t gte;
	int rc;
	*kind = VMDK_GRAIN_UNALLOC;
	*host = 0;
	if (gdi >= e->n_gd)
		return 0;
	if (e->gt[gdi] == NULL) {
		if (e->gd[gdi] == 0)
			return 0;
		if ((rc = vmdk_sparse_load_gt(d, e, gdi)) < 0)
			return rc;
	}
	gte = e->gt[gdi][gi % e->ngte];
	if (gte == 0)
		return 0;
	if (gte == 1 && e->zeroed_grain) {
		*kind = VMDK_GRAIN_ZERO;
		return 0;
	}
	*host = (uint64_t)gte * VMDK_SECTOR;
	*kind = e->compressed ? VMDK_GRAIN_COMPRESSED : VMDK_GRAIN_DATA;
	return 0;
}

/* A new zeroed grain table for directory entry gdi (and its redundant copy). */
int vmdk_sparse_alloc_gt(vstd_disk *d, struct vmdk_extent *e, uint64_t gdi)
{
	size_t n = (size_t)e->ngte * 4;
	uint64_t bytes = vstd_align_up(n, VMDK_SECTOR);
	uint8_t le[4];
	int rc;
	for (int copy = 0; copy < (e->rgd != NULL ? 2 : 1); copy++) {
		uint64_t at = e->file_end;
		if (at / VMDK_SECTOR + bytes / VMDK_SECTOR > UINT32_MAX)
			return vstd_err(VSTD_ELIMIT, "%s: sparse extent is full (4 G sectors)",
			                d->filename);
		if ((rc = vstd_io_write_zeroes(e->io, at, bytes, 0)) < 0)
			return rc;
		e->file_end += bytes;
		vstd_put_le32(le, (uint32_t)(at / VMDK_SECTOR));
		if (copy == 0) {
			if ((rc = vstd_io_pwrite(e->io, le, 4, e->gd_off + gdi * 4)) < 0)
				return rc;
			e->gd[gdi] = (uint32_t)(at / VMDK_SECTOR);
		} else {
			if ((rc = vstd_io_pwrite(e->io, le, 4, e->rgd_off + gdi * 4)) < 0)
				return rc;
			e->rgd[gdi] = (uint32_t)(at / VMDK_SECTOR);
		}
	}
	e->gt[gdi] = vstd_calloc(e->ngte, sizeof(uint32_t));
	if (e->gt[gdi] == NULL)
		return vstd_err_code();
	e->gt_bytes += n;
	return 0;
}

int vmdk_sparse_set_gte(vstd_disk *d, struct vmdk_extent *e, uint64_t gi, uint32_t val)
{
	uint64_t gdi = gi / e->ngte, idx = gi % e->ngte;
	uint8_t le[4];
	int rc;
	if (gdi >= e->n_gd)
		return vstd_err(VSTD_ERANGE, "%s: grain %" PRIu64 " is past the extent's capacity",
		                d->filename, gi);
	if (e->gt[gdi] == NULL) {
		if (e->gd[gdi] != 0)
			rc = vmdk_sparse_load_gt(d, e, gdi);
		else if (e->markers)
			rc = (e->gt[gdi] = vstd_calloc(e->ngte, sizeof(uint32_t)))
			             ? 0
			             : vstd_err_code();
		else
			rc = vmdk_sparse_alloc_gt(d, e, gdi);
		if (rc < 0)
			return rc;
	}
	e->gt[gdi][idx] = val;
	if (e->markers) {
		e->gt_dirty[gdi] = 1;
		e->stream_dirty = 1;
		return 0;
	}
	vstd_put_le32(le, val);
	if ((rc = vstd_io_pwrite(e->io, le, 4, (uint64_t)e->gd[gdi] * VMDK_SECTOR + idx * 4)) < 0)
		return rc;
	if (e->rgd != NULL && e->rgd[gdi] != 0 && e->rgd[gdi] != e->gd[gdi])
		rc = vstd_io_pwrite(e->io, le, 4, (uint64_t)e->rgd[gdi] * VMDK_SECTOR + idx * 4);
	return rc;
}

int vmdk_sparse_read(vstd_disk *d, struct vmdk_extent *e, uint64_t rel, void *buf, size_t len)
{
	uint8_t *out = buf;
	while (len > 0) {
		uint64_t gi = rel / e->grain, in = rel % e->grain, host;
		size_t n = e->grain - in < len ? (size_t)(e->grain - in) : len;
		enum vmdk_grain_kind kind;
		int rc;
		if (rel >= e->capacity) {
			memset(out, 0, len);
			return 0;
		}
		if (e->pend_valid && e->pend_grain == gi) {
			memcpy(out, e->pend + in, n);
			goto next;
		}
		if ((rc = vmdk_sparse_lookup(d, e, gi, &kind, &host)) < 0)
			return rc;
		switch (kind) {
		case VMDK_GRAIN_UNALLOC:
			rc = vstd_disk_read_below(d, e->vstart + rel, out, n);
			break;
		case VMDK_GRAIN_ZERO: memset(out, 0, n); break;
		case VMDK_GRAIN_DATA:
			/* one read for grains that follow each other in the file */
			while (n < len && rel + n < e->capacity && n < ((size_t)8 << 20) &&
			       !(e->pend_valid && e->pend_grain == gi + (in + n) / e->grain)) {
				enum vmdk_grain_kind k2;
				uint64_t h2, g2 = gi + (in + n) / e->grain;
				size_t more;
				if (vmdk_sparse_lookup(d, e, g2, &k2, &h2) < 0 ||
				    k2 != VMDK_GRAIN_DATA || h2 != host + (g2 - gi) * e->grain)
					break;
				more = e->grain < len - n ? (size_t)e->grain : len - n;
				if (rel + n + more > e->capacity)
					more = (size_t)(e->capacity - rel - n);
				n += more;
			}
			rc = vstd_io_pread(e->io, out, n, host + in);
			if (rc < 0)
				vstd_err_prefix("%s: grain %" PRIu64 " at offset 0x%" PRIx64 ": ",
				                d->filename, gi, host);
			break;
		case VMDK_GRAIN_COMPRESSED:
			if (!e->cache_valid || e->cache_grain != gi) {
				e->cache_valid = 0;
				rc = vmdk_stream_read_grain(d, e, gi, host, e->cache);
				if (rc == 0) {
					e->cache_valid = 1;
					e->cache_grain = gi;
				}
			}
			if (rc == 0)
				memcpy(out, e->cache + in, n);
			break;
		}
		if (rc < 0)
			return rc;
	next:
		out += n;
		rel += n;
		len -= n;
	}
	return 0;
}

/* Fill a whole grain buffer with the current contents of grain gi. */
static int grain_base(vstd_disk *d, struct vmdk_extent *e, uint64_t gi, enum vmdk_grain_kind kind,
                      uint64_t host, uint8_t *g)
{
	uint64_t start = gi * e->grain;
	size_t n = (size_t)e->grain;
	if (start + n > e->vlen)
		n = (size_t)(e->vlen - start);
	memset(g + n, 0, (size_t)e->grain - n);
	switch (kind) {
	case VMDK_GRAIN_UNALLOC: return vstd_disk_read_below(d, e->vstart + start, g, n);
	case VMDK_GRAIN_ZERO: memset(g, 0, n); return 0;
	case VMDK_GRAIN_DATA: return vstd_io_pread(e->io, g, (size_t)e->grain, host);
	case VMDK_GRAIN_COMPRESSED: return vmdk_stream_read_grain(d, e, gi, host, g);
	}
	return 0;
}

int vmdk_sparse_write(vstd_disk *d, struct vmdk_extent *e, uint64_t rel, const void *buf,
                      size_t len)
{
	const uint8_t *in = buf;
	uint8_t *g = NULL;
	int rc = 0;
	if (e->markers || e->compressed)
		return vmdk_stream_write(d, e, rel, buf, len);
	while (len > 0 && rc == 0) {
		uint64_t gi = rel / e->grain, off = rel % e->grain, host;
		size_t n = e->grain - off < len ? (size_t)(e->grain - off) : len;
		enum vmdk_grain_kind kind;
		if (rel + n > e->capacity) {
			rc = vstd_err(VSTD_ECORRUPT,
			              "%s: write past the sparse extent's capacity "
			              "(descriptor and header disagree)",
			              d->filename);
			break;
		}
		if ((rc = vmdk_sparse_lookup(d, e, gi, &kind, &host)) < 0)
			break;
		if (kind == VMDK_GRAIN_DATA) {
			rc = vstd_io_pwrite(e->io, in, n, host + off);
		} else {
			const uint8_t *src = in;
			uint64_t at = e->file_end;
			if (at / VMDK_SECTOR + e->grain / VMDK_SECTOR > UINT32_MAX) {
				rc = vstd_err(VSTD_ELIMIT,
				              "%s: sparse extent is full (grain offsets "
				              "pass 2^32 sectors)",
				              d->filename);
				break;
			}
			if (n < e->grain) {
				if (g == NULL && (g = vstd_malloc((size_t)e->grain)) == NULL) {
					rc = vstd_err_code();
					break;
				}
				if ((rc = grain_base(d, e, gi, kind, host, g)) < 0)
					break;
				memcpy(g + off, in, n);
				src = g;
			}
			if ((rc = vstd_io_pwrite(e->io, src, (size_t)e->grain, at)) < 0)
				break;
			e->file_end += e->grain;
			rc = vmdk_sparse_set_gte(d, e, gi, (uint32_t)(at / VMDK_SECTOR));
		}
		in += n;
		rel += n;
		len -= n;
	}
	vstd_free(g);
	return rc;
}

int vmdk_sparse_create_layout(vstd_io *io, uint64_t capacity, const struct vmdk_sparse_layout *l,
                              const char *desc)
{
	uint64_t grain = l->grain, ngte = l->ngte;
	uint64_t sectors = (capacity + VMDK_SECTOR - 1) / VMDK_SECTOR, per, n_gd;
	uint64_t gd_sectors, gt_sectors, desc_off, desc_size = l->desc_sectors, rgd, gd, overhead;
	uint8_t h[VMDK_SECTOR];
	uint8_t *dir;
	int rc = 0, copies = l->redundant ? 2 : 1;
	if (grain < VMDK_SECTOR || grain % VMDK_SECTOR != 0 || grain > VMDK_MAX_GRAIN ||
	    ngte == 0 || ngte > VMDK_MAX_GTES || desc_size > VMDK_MAX_DESC_SIZE / VMDK_SECTOR)
		return vstd_err(VSTD_EINVAL,
		                "VMDK sparse extent layout out of range (grain %" PRIu64
		                " bytes, %" PRIu64 " entries per table)",
		                grain, ngte);
	if (capacity > ((uint64_t)64 << 40))
		return vstd_err(VSTD_ERANGE, "VMDK sparse extent of %" PRIu64 " bytes is too large",
		                capacity);
	per = grain / VMDK_SECTOR * ngte;
	n_gd = (sectors + per - 1) / per;
	gd_sectors = (n_gd * 4 + VMDK_SECTOR - 1) / VMDK_SECTOR;
	gt_sectors = (ngte * 4 + VMDK_SECTOR - 1) / VMDK_SECTOR;
	if (desc != NULL && strlen(desc) > desc_size * VMDK_SECTOR)
		return vstd_err(VSTD_ERANGE,
		                "VMDK descriptor is longer than its %" PRIu64 " sectors",
		                desc_size);
	desc_off = desc_size > 0 ? 1 : 0;
	rgd = 1 + desc_size;
	gd = l->redundant ? rgd + gd_sectors + n_gd * gt_sectors : rgd;
	overhead = vstd_align_up(gd + gd_sectors + n_gd * gt_sectors, grain / VMDK_SECTOR);
	if (overhead > UINT32_MAX)
		return vstd_err(VSTD_ERANGE, "VMDK sparse extent of %" PRIu64 " bytes is too large",
		                capacity);
	vmdk_sparse_build_header(h, l->version, l->flags, sectors * VMDK_SECTOR, grain, desc_off,
	                         desc_size, l->redundant ? rgd : 0, gd, overhead);
	vstd_put_le32(h + 44, (uint32_t)ngte);
	if ((rc = vstd_io_truncate(io, overhead * VMDK_SECTOR)) < 0)
		return rc;
	if ((rc = vstd_io_pwrite(io, h, sizeof(h), 0)) < 0)
		return rc;
	if (desc != NULL &&
	    (rc = vstd_io_pwrite(io, desc, strlen(desc), desc_off * VMDK_SECTOR)) < 0)
		return rc;
	dir = vstd_calloc((size_t)gd_sectors, VMDK_SECTOR);
	if (dir == NULL)
		return vstd_err_code();
	for (int copy = 0; copy < copies && rc == 0; copy++) {
		uint64_t base = copy == 0 ? rgd : gd;
		for (uint64_t i = 0; i < n_gd; i++)
			vstd_put_le32(dir + 4 * i, (uint32_t)(base + gd_sectors + i * gt_sectors));
		rc = vstd_io_pwrite(io, dir, (size_t)(gd_sectors * VMDK_SECTOR),
		                    base * VMDK_SECTOR);
	}
	vstd_free(dir);
	return rc;
}

int vmdk_sparse_create(vstd_io *io, uint64_t capacity, int zeroed_grain, const char *desc)
{
	struct vmdk_sparse_layout l;
	l.grain = 65536;
	l.ngte = 512;
	l.redundant = 1;
	l.version = zeroed_grain ? 2 : 1;
	l.flags =
	        VMDK4_FLAG_NL_DETECT | VMDK4_FLAG_RGD | (zeroed_grain ? VMDK4_FLAG_ZERO_GRAIN : 0);
	l.desc_sectors = 20;
	return vmdk_sparse_create_layout(io, capacity, &l, desc);
}

/*
 * Shrink a hosted sparse extent (monolithicSparse and the like) to new_len
 * bytes.  In order, each step flushed: the tail of a grain the new end cuts
 * is zeroed in the file, the grain table entries past the new end become 0
 * (both tables), the directory entries past the new end become 0 (both
 * directories; a later grow needs that slack zero), then the header's
 * capacity changes.  A crash before the last step leaves the old capacity
 * reading zeroes past the new end.  The grains dropped are not given back
 * to the file system (their space stays as unreferenced bytes).
 */
int vmdk_sparse_shrink(vstd_disk *d, struct vmdk_extent *e, uint64_t new_len)
{
	uint64_t per = e->grain * e->ngte, n_gd = (new_len + per - 1) / per;
	uint64_t first_gone = (new_len + e->grain - 1) / e->grain;
	uint8_t cap[8], zero4[4] = {0, 0, 0, 0};
	int rc;
	if (new_len % e->grain != 0) {
		enum vmdk_grain_kind kind;
		uint64_t host, in = new_len % e->grain;
		if ((rc = vmdk_sparse_lookup(d, e, new_len / e->grain, &kind, &host)) < 0)
			return rc;
		if (kind == VMDK_GRAIN_DATA) {
			uint64_t fsize;
			if ((rc = vstd_io_size(e->io, &fsize)) < 0)
				return rc;
			if (!vstd_range_inside(host, e->grain, fsize))
				return vstd_err(VSTD_ECORRUPT,
				                "%s: grain %" PRIu64 " at offset 0x%" PRIx64
				                " passes the end of the file",
				                d->filename, new_len / e->grain, host);
			if ((rc = vstd_io_write_zeroes(e->io, host + in, e->grain - in, 0)) < 0)
				return rc;
		}
	}
	for (uint64_t gdi = first_gone / e->ngte; gdi < e->n_gd; gdi++) {
		if (e->gd[gdi] == 0)
			continue;
		if (e->gt[gdi] == NULL && (rc = vmdk_sparse_load_gt(d, e, gdi)) < 0)
			return rc;
		for (uint32_t j = 0; j < e->ngte; j++) {
			uint64_t gi = gdi * e->ngte + j;
			if (gi >= first_gone && e->gt[gdi][j] != 0 &&
			    (rc = vmdk_sparse_set_gte(d, e, gi, 0)) < 0)
				return rc;
		}
	}
	if ((rc = vstd_io_flush(e->io)) < 0)
		return rc;
	for (uint64_t gdi = n_gd; gdi < e->n_gd; gdi++) {
		if (e->gd_off != 0 && e->gd_off != VMDK_GD_AT_END &&
		    (rc = vstd_io_pwrite(e->io, zero4, 4, e->gd_off + gdi * 4)) < 0)
			return rc;
		if (e->rgd_off != 0 &&
		    (rc = vstd_io_pwrite(e->io, zero4, 4, e->rgd_off + gdi * 4)) < 0)
			return rc;
		e->gd[gdi] = 0;
		if (e->rgd != NULL)
			e->rgd[gdi] = 0;
		vstd_free(e->gt[gdi]);
		e->gt[gdi] = NULL;
	}
	if ((rc = vstd_io_flush(e->io)) < 0)
		return rc;
	vstd_put_le64(cap, new_len / VMDK_SECTOR);
	if ((rc = vstd_io_pwrite(e->io, cap, 8, 12)) < 0 || (rc = vstd_io_flush(e->io)) < 0)
		return rc;
	memcpy(e->hdr + 12, cap, 8);
	e->capacity = new_len;
	e->n_gd = n_gd;
	return 0;
}

/*
 * A hosted sparse extent whose header capacity passes the length its
 * descriptor line gives, with no grain allocated past that length: what a
 * resize interrupted after filling the extent and before switching the
 * descriptor leaves.  The header is brought back to the descriptor's
 * length (vmdk_sparse_shrink), so the extent can be resized again and
 * qemu (which follows the header) sees the descriptor's size again.  Data
 * past the descriptor's length is refused: which length is right is then
 * unclear, and nothing is changed.
 */
int vmdk_sparse_reconcile(vstd_disk *d, struct vmdk_extent *e)
{
	uint64_t first, end;
	if (e->type != VMDK_EXT_SPARSE || e->markers || e->compressed || e->read_only ||
	    e->capacity <= e->vlen || e->vlen == 0 || vstd_le32(e->hdr) != VMDK4_MAGIC ||
	    e->gd_off == 0 || e->gd_off == VMDK_GD_AT_END)
		return 0;
	first = (e->vlen + e->grain - 1) / e->grain;
	end = (e->capacity + e->grain - 1) / e->grain;
	for (uint64_t gi = first; gi < end;) {
		uint64_t gdi = gi / e->ngte, host;
		enum vmdk_grain_kind kind;
		int rc;
		if (gdi < e->n_gd && e->gd[gdi] == 0 && e->gt[gdi] == NULL) {
			gi = (gdi + 1) * e->ngte; /* no table: nothing allocated */
			continue;
		}
		if ((rc = vmdk_sparse_lookup(d, e, gi, &kind, &host)) < 0)
			return rc;
		if (kind == VMDK_GRAIN_DATA || kind == VMDK_GRAIN_COMPRESSED)
			return vstd_err(VSTD_ENOTSUP,
			                "%s: extent '%s': its header holds %" PRIu64
			                " sectors, its descriptor line %" PRIu64
			                ", and grain %" PRIu64 " past the line's end holds data; "
			                "not resized (which length is right is unclear)",
			                d->filename, e->name, e->capacity / VMDK_SECTOR,
			                e->vlen / VMDK_SECTOR, gi);
		gi++;
	}
	return vmdk_sparse_shrink(d, e, e->vlen);
}
