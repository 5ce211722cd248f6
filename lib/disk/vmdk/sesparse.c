/*
 * disk/vmdk/sesparse.c - seSparse extents (ESXi 6.5+ snapshots), read only.
 *
 * Constant header (sector 0, little endian): magic 0x00000000cafebabe,
 * version 0x200000001, capacity, grain size (sectors, must be 8), grain
 * table size (sectors, 64), flags, four reserved words, then from byte 80
 * offset/size pairs (in sectors) of the volatile header, journal header,
 * journal, grain directory, grain tables, free bitmap, backmap and grains.
 *
 * A grain directory entry is 0 (unallocated) or 0x1000000000000000 | index
 * of a grain table (each table 64 sectors = 4096 entries of 8 bytes).  A
 * grain table entry's top nibble says: 0 unallocated (parent), 1 unmapped
 * and 2 zeroed (both read as zeroes), 3 allocated; for 3 the grain index
 * takes its low 12 bits from bits 48-59 and the rest from bits 0-47.  The grain is at grains_offset
 * + index * grain size.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/vmdk/vmdk_internal.h"

#define SE_MAGIC 0x00000000cafebabeull
#define SE_VERSION 0x0000000200000001ull

int vmdk_sesparse_open(vstd_disk *d, struct vmdk_extent *e)
{
	uint8_t h[VMDK_SECTOR];
	uint64_t size, gd_off, gd_len, gt_off, gt_len, grains_off, grains_len;
	int rc;
	if ((rc = vstd_io_size(e->io, &size)) < 0 ||
	    (rc = vstd_io_pread(e->io, h, sizeof(h), 0)) < 0)
		return rc;
	if (vstd_le64(h) != SE_MAGIC)
		return vstd_err(VSTD_ECORRUPT, "%s: seSparse extent: bad magic", d->filename);
	if (vstd_le64(h + 8) != SE_VERSION)
		return vstd_err(VSTD_ENOTSUP, "%s: seSparse extent: version 0x%" PRIx64 " unknown",
		                d->filename, vstd_le64(h + 8));
	e->capacity = vstd_le64(h + 16);
	if (vstd_le64(h + 24) != 8 || vstd_le64(h + 32) != 64)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: seSparse extent: grain size %" PRIu64 " or grain "
		                "table size %" PRIu64 " sectors unsupported (need 8 and 64)",
		                d->filename, vstd_le64(h + 24), vstd_le64(h + 32));
	if (e->capacity > ((uint64_t)1 << 44))
		return vstd_err(VSTD_ECORRUPT, "%s: seSparse extent: capacity too large",
		                d->filename);
	e->capacity *= VMDK_SECTOR;
	e->grain = 8 * VMDK_SECTOR;
	/* offset/size pairs start at byte 80: volatile header, journal header,
	 * journal, grain directory, grain tables, free bitmap, backmap, grains */
	gd_off = vstd_le64(h + 80 + 3 * 16);
	gd_len = vstd_le64(h + 80 + 3 * 16 + 8);
	gt_off = vstd_le64(h + 80 + 4 * 16);
	gt_len = vstd_le64(h + 80 + 4 * 16 + 8);
	grains_off = vstd_le64(h + 80 + 7 * 16);
	grains_len = vstd_le64(h + 80 + 7 * 16 + 8);
	if (gd_off > size / VMDK_SECTOR || gd_len > (size / VMDK_SECTOR) - gd_off ||
	    gt_off > size / VMDK_SECTOR || gt_len > ((uint64_t)1 << 40) ||
	    grains_off > ((uint64_t)1 << 50) || grains_len > ((uint64_t)1 << 50))
		return vstd_err(VSTD_ECORRUPT,
		                "%s: seSparse extent: directory or tables outside "
		                "the file",
		                d->filename);
	e->se_gd_off = gd_off * VMDK_SECTOR;
	e->se_gd_len = gd_len * VMDK_SECTOR;
	e->se_gt_off = gt_off * VMDK_SECTOR;
	e->se_gt_len = gt_len * VMDK_SECTOR;
	e->se_grain_off = grains_off * VMDK_SECTOR;
	e->se_n_gd = e->se_gd_len / 8;
	if (e->se_n_gd * 4096 * e->grain < e->capacity)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: seSparse extent: grain directory (%" PRIu64
		                " entries) does not cover the capacity",
		                d->filename, e->se_n_gd);
	return 0;
}

/* kind of the grain gi and the byte offset of its data. */
static int se_lookup(vstd_disk *d, struct vmdk_extent *e, uint64_t gi, enum vmdk_grain_kind *kind,
                     uint64_t *host)
{
	uint64_t gdi = gi / 4096, gde, gte, gt_idx, pos;
	uint8_t b[8];
	int rc;
	*kind = VMDK_GRAIN_UNALLOC;
	if (gdi >= e->se_n_gd)
		return 0;
	if ((rc = vstd_io_pread(e->io, b, 8, e->se_gd_off + gdi * 8)) < 0)
		return rc;
	gde = vstd_le64(b);
	if (gde == 0)
		return 0;
	if ((gde >> 60) != 1)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: seSparse grain directory entry %" PRIu64 " (0x%" PRIx64
		                ") has an unknown type",
		                d->filename, gdi, gde);
	gt_idx = gde & 0x0fffffffffffffffull;
	if (gt_idx >= e->se_gt_len / (4096 * 8))
		return vstd_err(VSTD_ECORRUPT,
		                "%s: seSparse grain directory entry %" PRIu64 ": table %" PRIu64
		                " is outside the table area",
		                d->filename, gdi, gt_idx);
	pos = e->se_gt_off + gt_idx * 4096 * 8 + (gi % 4096) * 8;
	if ((rc = vstd_io_pread(e->io, b, 8, pos)) < 0)
		return rc;
	gte = vstd_le64(b);
	switch (gte >> 60) {
	case 0: return 0;
	case 1: /* unmapped: zeroes */
	case 2: *kind = VMDK_GRAIN_ZERO; return 0;
	case 3: {
		uint64_t idx = ((gte & 0x0fff000000000000ull) >> 48) |
		               ((gte & 0x0000ffffffffffffull) << 12);
		if (idx > ((uint64_t)1 << 50) / e->grain)
			return vstd_err(VSTD_ECORRUPT,
			                "%s: seSparse grain %" PRIu64 " index "
			                "out of range",
			                d->filename, gi);
		*kind = VMDK_GRAIN_DATA;
		*host = e->se_grain_off + idx * e->grain;
		return 0;
	}
	default:
		return vstd_err(VSTD_ECORRUPT,
		                "%s: seSparse grain table entry for grain %" PRIu64 " (0x%" PRIx64
		                ") has an unknown type",
		                d->filename, gi, gte);
	}
}

int vmdk_sesparse_read(vstd_disk *d, struct vmdk_extent *e, uint64_t rel, void *buf, size_t len)
{
	uint8_t *out = buf;
	while (len > 0) {
		uint64_t gi = rel / e->grain, in = rel % e->grain, host = 0;
		size_t n = e->grain - in < len ? (size_t)(e->grain - in) : len;
		enum vmdk_grain_kind kind;
		int rc;
		if (rel >= e->capacity) {
			memset(out, 0, len);
			return 0;
		}
		if ((rc = se_lookup(d, e, gi, &kind, &host)) < 0)
			return rc;
		if (kind == VMDK_GRAIN_UNALLOC)
			rc = vstd_disk_read_below(d, e->vstart + rel, out, n);
		else if (kind == VMDK_GRAIN_ZERO)
			memset(out, 0, n);
		else
			rc = vstd_io_pread(e->io, out, n, host + in);
		if (rc < 0)
			return rc;
		out += n;
		rel += n;
		len -= n;
	}
	return 0;
}

int vmdk_sesparse_status(vstd_disk *d, struct vmdk_extent *e, uint64_t rel, uint64_t max,
                         vstd_block_status *st)
{
	uint64_t gi = rel / e->grain, host = 0;
	enum vmdk_grain_kind kind;
	int rc;
	if (rel >= e->capacity) {
		st->length = max;
		st->flags = VSTD_BLOCK_ZERO | VSTD_BLOCK_ALLOCATED;
		return 0;
	}
	if ((rc = se_lookup(d, e, gi, &kind, &host)) < 0)
		return rc;
	st->length = e->grain - rel % e->grain;
	if (st->length > max)
		st->length = max;
	if (kind == VMDK_GRAIN_UNALLOC)
		st->flags = 0;
	else if (kind == VMDK_GRAIN_ZERO)
		st->flags = VSTD_BLOCK_ZERO | VSTD_BLOCK_ALLOCATED;
	else {
		st->flags = VSTD_BLOCK_DATA | VSTD_BLOCK_ALLOCATED | VSTD_BLOCK_OFFSET_VALID;
		st->host_offset = host + rel % e->grain;
	}
	return 0;
}
