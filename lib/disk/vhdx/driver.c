/*
 * disk/vhdx/driver.c - the VHDX driver: probe, open (with log replay),
 * reads and writes through the BAT, block status, trim, resize, create,
 * info, check, measure.
 */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "disk/vhdx/vhdx_internal.h"

static const vstd_disk_option_desc vhdx_options[] = {
        {"subformat", "enum", "dynamic or fixed", "dynamic"},
        {"block_size", "size", "block size, a power of two of 1-256 MiB (0: by disk size)", "0"},
        {"log_size", "size", "log size, a multiple of 1 MiB", "1M"},
        {"block_state_zero", "bool",
         "accepted for qemu compatibility (fixed images are "
         "written fully present)",
         "on"},
        {"logical_sector_size", "number", "512 or 4096", "512"},
};

static int vhdx_probe(const uint8_t *head, size_t head_len, uint64_t file_size, const char *name)
{
	return head_len >= 8 && memcmp(head, "vhdxfile", 8) == 0 ? 100 : 0;
}

static void free_state(struct vhdx_state *s)
{
	if (s == NULL)
		return;
	if (s->overlay != NULL)
		vstd_io_close(s->overlay);
	vhdx_log_replay_clear(&s->replayed);
	vstd_free(s->bat);
	vstd_free(s->bat_dirty);
	vhdx_sb_pages_free(s);
	vstd_free(s->parent_linkage);
	vstd_free(s->parent_rel);
	vstd_free(s->parent_abs);
	vstd_free(s->parent_vol);
	vstd_free(s);
}

/* The parent's name as a relative or absolute POSIX path (new string). */
static char *parent_name(struct vhdx_state *s)
{
	const char *src = s->parent_rel;
	char *p, *q;
	if (src == NULL && s->parent_abs != NULL) {
		/* a Windows absolute path cannot be followed here: look for the
		 * file beside the child */
		const char *b = strrchr(s->parent_abs, '\\');
		src = b ? b + 1 : s->parent_abs;
		vstd_warn("vhdx",
		          "parent has only an absolute Windows path '%s'; looking for '%s' "
		          "beside the image",
		          s->parent_abs, src);
	}
	if (src == NULL)
		return NULL;
	p = vstd_strdup(src);
	if (p == NULL)
		return NULL;
	for (q = p; *q; q++)
		if (*q == '\\')
			*q = '/';
	if (p[0] == '.' && p[1] == '/')
		memmove(p, p + 2, strlen(p + 2) + 1);
	return p;
}

static int vhdx_open(vstd_disk *d)
{
	struct vhdx_state *s = vstd_calloc(1, sizeof(*s));
	uint8_t id[8];
	uint64_t size;
	int rc;
	if (s == NULL)
		return vstd_err_code();
	d->priv = s;
	s->io = d->io;
	if ((rc = vstd_io_size(d->io, &size)) < 0)
		goto fail;
	if (size < 3 * VHDX_MIB) {
		rc = vstd_err(VSTD_ECORRUPT, "%s: %" PRIu64 " bytes is too short for a VHDX",
		              d->filename, size);
		goto fail;
	}
	if ((rc = vstd_io_pread(d->io, id, 8, 0)) < 0)
		goto fail;
	if (memcmp(id, "vhdxfile", 8) != 0) {
		rc = vstd_err(VSTD_ECORRUPT, "%s: no VHDX file identifier at offset 0",
		              d->filename);
		goto fail;
	}
	if ((rc = vhdx_headers_read(d, s)) < 0)
		goto fail;
	if (s->hdr.log_length != 0 &&
	    !vstd_range_inside(s->hdr.log_offset, s->hdr.log_length, size)) {
		rc = vstd_err(VSTD_ECORRUPT,
		              "%s: VHDX log at offset 0x%" PRIx64 " is past the end "
		              "of the file",
		              d->filename, s->hdr.log_offset);
		goto fail;
	}
	if (!vhdx_guid_is_zero(&s->hdr.log_guid)) {
		struct vhdx_log_replay r;
		if ((rc = vhdx_log_find(d, s, d->io, size, &r)) < 0)
			goto fail;
		if (r.n > 0 || r.last_file_offset > size) {
			if (d->flags & VSTD_DISK_RDWR) {
				rc = vhdx_log_apply(d, s, &r);
				vhdx_log_replay_clear(&r);
				if (rc < 0)
					goto fail;
				if ((rc = vstd_io_size(d->io, &size)) < 0)
					goto fail;
			} else if (d->flags & VSTD_DISK_NO_REPLAY) {
				s->replayed = r;
				if ((rc = vhdx_log_overlay(d, s)) < 0)
					goto fail;
				if ((rc = vstd_io_size(s->io, &size)) < 0)
					goto fail;
			} else {
				vhdx_log_replay_clear(&r);
				rc = vstd_err(
				        VSTD_ESTATE,
				        "%s: the VHDX log holds writes that were not "
				        "applied (the image was not closed cleanly); open it "
				        "read-write to replay the log (e.g. 'vstd img check -r "
				        "all')",
				        d->filename);
				goto fail;
			}
		}
	}
	if ((rc = vhdx_regions_read(d, s, size)) < 0 || (rc = vhdx_metadata_read(d, s)) < 0 ||
	    (rc = vhdx_bat_read(d, s, size)) < 0)
		goto fail;
	d->size = s->vsize;
	s->file_end = vstd_align_up(size, VHDX_MIB);
	if (s->has_parent) {
		char *p = parent_name(s);
		if (p == NULL) {
			rc = vstd_err(VSTD_ECORRUPT,
			              "%s: differencing VHDX whose parent locator has "
			              "no relative_path or absolute_win32_path",
			              d->filename);
			goto fail;
		}
		rc = vstd_disk_set_backing(d, p, "vhdx");
		vstd_free(p);
		if (rc < 0)
			goto fail;
	}
	return 0;
fail:
	free_state(s);
	d->priv = NULL;
	return rc;
}

static int check_parent(vstd_disk *d, struct vhdx_state *s)
{
	struct vhdx_state *ps;
	char g[39];
	if (s->parent_checked || d->backing == NULL)
		return 0;
	s->parent_checked = 1;
	if (d->backing->drv != &vstd_driver_vhdx || s->parent_linkage == NULL)
		return 0;
	ps = d->backing->priv;
	vhdx_guid_format(&ps->hdr.data_write, g);
	if (strcasecmp(g, s->parent_linkage) != 0) {
		s->parent_checked = 0;
		return vstd_err(VSTD_ECORRUPT,
		                "%s: parent '%s' has data write GUID %s, but the "
		                "image was made against %s (the parent changed)",
		                d->filename, d->backing->filename, g, s->parent_linkage);
	}
	return 0;
}

/* Read file data of a present block.  Blocks allocated in this session
 * may lie past the end of the file until the next flush extends it: that
 * part reads as zeroes.  Anything else past the end is an error. */
int vhdx_read_host(struct vhdx_state *s, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	int rc = vstd_io_pread_partial(s->io, buf, len, off, &got);
	if (rc < 0)
		return rc;
	if (got < len) {
		if (off + len > s->file_end)
			return vstd_io_pread(s->io, buf, len, off); /* the usual error */
		memset((uint8_t *)buf + got, 0, len - got);
	}
	return 0;
}

static int bit_set(const uint8_t *bm, uint64_t i)
{
	return (bm[i / 8] >> (i % 8)) & 1;
}

/* Read sectors of a partially present block: bits set come from the file,
 * the others from the layers below. */
static int read_partial(vstd_disk *d, struct vhdx_state *s, uint64_t b, uint64_t in, uint8_t *out,
                        size_t n)
{
	uint64_t base = (s->bat[vhdx_bat_payload_index(s, b)] >> 20) * VHDX_MIB;
	uint64_t bit0 = (b % s->chunk_ratio) * (s->block_size / s->lsec);
	uint64_t first = bit0 + in / s->lsec, last = bit0 + (in + n - 1) / s->lsec;
	size_t bytes = (size_t)(last / 8 - first / 8 + 1);
	uint8_t *bm = vstd_malloc(bytes);
	int rc;
	if (bm == NULL)
		return vstd_err_code();
	if ((rc = vhdx_sb_read(d, s, b, first / 8, bm, bytes)) == 0) {
		uint64_t pos = in, end = in + n;
		uint64_t bm0 = first & ~(uint64_t)7;
		while (pos < end && rc == 0) {
			uint64_t sec = bit0 + pos / s->lsec;
			int set = bit_set(bm, sec - bm0);
			uint64_t run_end = (pos / s->lsec + 1) * s->lsec;
			while (run_end < end && bit_set(bm, bit0 + run_end / s->lsec - bm0) == set)
				run_end += s->lsec;
			if (run_end > end)
				run_end = end;
			if (set)
				rc = vhdx_read_host(s, out + (pos - in), (size_t)(run_end - pos),
				                    base + pos);
			else
				rc = vstd_disk_read_below(d, b * s->block_size + pos,
				                          out + (pos - in),
				                          (size_t)(run_end - pos));
			pos = run_end;
		}
	}
	vstd_free(bm);
	return rc;
}

/* The current content of [in, in + n) of block b, whatever its state. */
static int read_block(vstd_disk *d, struct vhdx_state *s, uint64_t b, uint64_t in, uint8_t *out,
                      size_t n)
{
	uint64_t e = s->bat[vhdx_bat_payload_index(s, b)];
	switch (e & 7) {
	case VHDX_PAYLOAD_FULLY_PRESENT:
		return vhdx_read_host(s, out, n, (e >> 20) * VHDX_MIB + in);
	case VHDX_PAYLOAD_PARTIALLY_PRESENT: return read_partial(d, s, b, in, out, n);
	case VHDX_PAYLOAD_ZERO: memset(out, 0, n); return 0;
	default: /* not present, undefined, unmapped */
		if (s->has_parent)
			return vstd_disk_read_below(d, b * s->block_size + in, out, n);
		memset(out, 0, n);
		return 0;
	}
}

static int vhdx_read(vstd_disk *d, uint64_t off, void *buf, size_t len)
{
	struct vhdx_state *s = d->priv;
	uint8_t *out = buf;
	int rc;
	if ((rc = check_parent(d, s)) < 0)
		return rc;
	while (len > 0) {
		uint64_t b = off / s->block_size, in = off % s->block_size;
		size_t n = s->block_size - in < len ? (size_t)(s->block_size - in) : len;
		rc = read_block(d, s, b, in, out, n);
		if (rc < 0)
			return rc;
		out += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* First write: new file and data write GUIDs (the parent linkage of any
 * child made before no longer matches). */
static int begin_write(vstd_disk *d, struct vhdx_state *s)
{
	if (s->headers_updated)
		return 0;
	s->headers_updated = 1;
	vhdx_guid_random(&s->hdr.file_write);
	vhdx_guid_random(&s->hdr.data_write);
	return vhdx_header_update(d, s);
}

/* Differencing: write [in, in + n) of block b, whose data lives at
 * `base`, sector by sector; the sectors cut by the range keep their other
 * bytes (read as they are before anything changes), and the bitmap bits of
 * every sector touched are set. */
static int write_sectors(vstd_disk *d, struct vhdx_state *s, uint64_t b, uint64_t base, uint64_t in,
                         const uint8_t *data, size_t n)
{
	uint64_t a = vstd_align_down(in, s->lsec), z = vstd_align_up(in + n, s->lsec);
	uint8_t sec[4096];
	int rc;
	if (a != in) { /* head sector */
		size_t k = a + s->lsec - in < n ? (size_t)(a + s->lsec - in) : n;
		if ((rc = read_block(d, s, b, a, sec, s->lsec)) < 0)
			return rc;
		memcpy(sec + (in - a), data, k);
		if ((rc = vstd_io_pwrite(s->io, sec, s->lsec, base + a)) < 0)
			return rc;
		data += k;
		in += k;
		n -= k;
	}
	if (n > 0 && (in + n) % s->lsec != 0) { /* tail sector */
		uint64_t t = vstd_align_down(in + n, s->lsec);
		if ((rc = read_block(d, s, b, t, sec, s->lsec)) < 0)
			return rc;
		memcpy(sec, data + (t - in), (size_t)(in + n - t));
		if ((rc = vstd_io_pwrite(s->io, sec, s->lsec, base + t)) < 0)
			return rc;
		n = (size_t)(t - in);
	}
	if (n > 0 && (rc = vstd_io_pwrite(s->io, data, n, base + in)) < 0)
		return rc;
	return vhdx_sb_set(d, s, b, a / s->lsec, (z - a) / s->lsec);
}

/* A new block at the end of the file (the file is extended at the next
 * flush: writing into a hole made by truncating first is much slower on
 * common file systems). */
static int alloc_block(vstd_disk *d, struct vhdx_state *s, uint64_t *base)
{
	*base = s->file_end;
	if (*base / VHDX_MIB >= ((uint64_t)1 << 44))
		return vstd_err(VSTD_ELIMIT, "%s: file offset too large", d->filename);
	s->file_end = *base + s->block_size;
	return 0;
}

/* Bitmap pages pile up in memory until a flush: bound them. */
static int maybe_flush_bitmaps(vstd_disk *d, struct vhdx_state *s)
{
	return s->n_sb_pages >= 256 ? vhdx_bat_flush(d, s) : 0;
}

static int write_block(vstd_disk *d, struct vhdx_state *s, uint64_t b, uint64_t in,
                       const uint8_t *data, size_t n)
{
	uint64_t idx = vhdx_bat_payload_index(s, b), e = s->bat[idx], st = e & 7, base;
	uint64_t per = s->block_size / s->lsec;
	int whole = in == 0 && (n == s->block_size || b * s->block_size + n >= d->size);
	int rc;
	if (st == VHDX_PAYLOAD_FULLY_PRESENT)
		return vstd_io_pwrite(s->io, data, n, (e >> 20) * VHDX_MIB + in);
	if (s->has_parent && st == VHDX_PAYLOAD_PARTIALLY_PRESENT) {
		/* in place: the written sectors become present */
		base = (e >> 20) * VHDX_MIB;
		if ((rc = write_sectors(d, s, b, base, in, data, n)) < 0)
			return rc;
		if (whole &&
		    (rc = vhdx_bat_set(d, s, idx,
		                       (base / VHDX_MIB) << 20 | VHDX_PAYLOAD_FULLY_PRESENT)) < 0)
			return rc;
		return maybe_flush_bitmaps(d, s);
	}
	if ((rc = alloc_block(d, s, &base)) < 0)
		return rc;
	if (s->has_parent && st != VHDX_PAYLOAD_ZERO && !whole) {
		/* a partially present block: only the written sectors are here,
		 * the others still come from the parent */
		if ((rc = write_sectors(d, s, b, base, in, data, n)) < 0 ||
		    (rc = vhdx_bat_set(d, s, idx,
		                       (base / VHDX_MIB) << 20 | VHDX_PAYLOAD_PARTIALLY_PRESENT)) <
		            0)
			return rc;
		return maybe_flush_bitmaps(d, s);
	}
	/* a fully present block; what is not written reads as zeroes (the
	 * new file space), as the block did (not present without a parent,
	 * or ZERO) */
	if ((rc = vstd_io_pwrite(s->io, data, n, base + in)) < 0)
		return rc;
	if (s->has_parent &&
	    ((rc = vhdx_sb_set(d, s, b, 0, per)) < 0 || (rc = maybe_flush_bitmaps(d, s)) < 0))
		return rc;
	return vhdx_bat_set(d, s, idx, (base / VHDX_MIB) << 20 | VHDX_PAYLOAD_FULLY_PRESENT);
}

static int vhdx_write(vstd_disk *d, uint64_t off, const void *buf, size_t len)
{
	struct vhdx_state *s = d->priv;
	const uint8_t *in = buf;
	int rc;
	if ((rc = begin_write(d, s)) < 0 || (rc = check_parent(d, s)) < 0)
		return rc;
	while (len > 0) {
		uint64_t b = off / s->block_size, o = off % s->block_size;
		size_t n = s->block_size - o < len ? (size_t)(s->block_size - o) : len;
		if ((rc = write_block(d, s, b, o, in, n)) < 0)
			return rc;
		in += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Whole blocks become ZERO (or not present) without data; space is punched. */
static int zero_or_trim(vstd_disk *d, uint64_t off, uint64_t len, int trim)
{
	struct vhdx_state *s = d->priv;
	uint8_t *zero = NULL;
	int rc;
	if ((rc = begin_write(d, s)) < 0)
		return rc;
	while (len > 0) {
		uint64_t b = off / s->block_size, o = off % s->block_size;
		uint64_t n = s->block_size - o < len ? s->block_size - o : len;
		uint64_t idx = vhdx_bat_payload_index(s, b), e = s->bat[idx];
		int whole = o == 0 && (n == s->block_size || off + n == d->size);
		if (whole && !trim && s->has_parent) {
			/* in a differencing disk a zeroed block is a present block of
			 * zeroes (readers disagree on the ZERO state there) */
			uint64_t st = e & 7, base = (e >> 20) * VHDX_MIB;
			if (st == VHDX_PAYLOAD_FULLY_PRESENT ||
			    st == VHDX_PAYLOAD_PARTIALLY_PRESENT)
				rc = vstd_io_write_zeroes(s->io, base, s->block_size, 0);
			else
				rc = alloc_block(d, s, &base);
			if (rc == 0)
				rc = vhdx_sb_set(d, s, b, 0, s->block_size / s->lsec);
			if (rc == 0)
				rc = vhdx_bat_set(d, s, idx,
				                  (base / VHDX_MIB) << 20 |
				                          VHDX_PAYLOAD_FULLY_PRESENT);
			if (rc == 0)
				rc = maybe_flush_bitmaps(d, s);
		} else if (whole) {
			uint64_t st = e & 7;
			if (st == VHDX_PAYLOAD_FULLY_PRESENT ||
			    st == VHDX_PAYLOAD_PARTIALLY_PRESENT)
				(void)vstd_io_discard(s->io, (e >> 20) * VHDX_MIB, s->block_size);
			if (trim && !s->has_parent)
				rc = vhdx_bat_set(d, s, idx, VHDX_PAYLOAD_NOT_PRESENT);
			else if (!trim)
				rc = vhdx_bat_set(d, s, idx, VHDX_PAYLOAD_ZERO);
			else
				rc = 0; /* trim in a differencing disk: keep (contents unspecified)
				         */
		} else if (!trim) {
			if (zero == NULL && (zero = vstd_calloc(1, (size_t)VHDX_MIB)) == NULL) {
				rc = vstd_err_code();
				break;
			}
			if (n > VHDX_MIB)
				n = VHDX_MIB;
			rc = write_block(d, s, b, o, zero, (size_t)n);
		} else {
			rc = 0;
		}
		if (rc < 0)
			break;
		off += n;
		len -= n;
	}
	vstd_free(zero);
	return rc;
}

static int vhdx_write_zeroes(vstd_disk *d, uint64_t off, uint64_t len, unsigned flags)
{
	return zero_or_trim(d, off, len, 0);
}

static int vhdx_discard(vstd_disk *d, uint64_t off, uint64_t len)
{
	return zero_or_trim(d, off, len, 1);
}

static int vhdx_flush(vstd_disk *d)
{
	struct vhdx_state *s = d->priv;
	int rc = vhdx_bat_flush(d, s);
	if (rc == 0)
		rc = vstd_io_flush(s->io);
	return rc;
}

static void vhdx_close(vstd_disk *d)
{
	struct vhdx_state *s = d->priv;
	if (s == NULL)
		return;
	if ((d->flags & VSTD_DISK_RDWR) && s->overlay == NULL) {
		/* metadata must not be left half written: finish it, and leave
		 * the log empty */
		int rc = vhdx_bat_flush(d, s);
		if (rc == 0 && !vhdx_guid_is_zero(&s->hdr.log_guid)) {
			memset(&s->hdr.log_guid, 0, sizeof(s->hdr.log_guid));
			rc = vhdx_header_update(d, s);
		}
		if (rc < 0)
			vstd_warn("vhdx", "%s: finishing metadata on close failed: %s", d->filename,
			          vstd_error_last()->message);
	}
	free_state(s);
	d->priv = NULL;
}

static int vhdx_block_status(vstd_disk *d, uint64_t off, uint64_t max_len, vstd_block_status *st)
{
	struct vhdx_state *s = d->priv;
	st->length = 0;
	while (st->length < max_len) {
		uint64_t pos = off + st->length, b = pos / s->block_size, in = pos % s->block_size;
		uint64_t e = s->bat[vhdx_bat_payload_index(s, b)], host = 0, n = s->block_size - in;
		unsigned flags;
		switch (e & 7) {
		case VHDX_PAYLOAD_FULLY_PRESENT:
			flags = VSTD_BLOCK_DATA | VSTD_BLOCK_ALLOCATED | VSTD_BLOCK_OFFSET_VALID;
			host = (e >> 20) * VHDX_MIB + in;
			break;
		case VHDX_PAYLOAD_ZERO: flags = VSTD_BLOCK_ZERO | VSTD_BLOCK_ALLOCATED; break;
		case VHDX_PAYLOAD_PARTIALLY_PRESENT:
			/* report sector by sector runs via a one-sector probe */
			{
				int bit = vhdx_sb_get(d, s, b, in / s->lsec);
				if (bit < 0)
					return bit;
				n = s->lsec - in % s->lsec;
				if (bit) {
					flags = VSTD_BLOCK_DATA | VSTD_BLOCK_ALLOCATED |
					        VSTD_BLOCK_OFFSET_VALID;
					host = (e >> 20) * VHDX_MIB + in;
				} else {
					flags = 0;
				}
			}
			break;
		default:
			flags = 0; /* a hole: zeroes, or the parent's data */
			break;
		}
		if (st->length == 0) {
			st->flags = flags;
			st->host_offset = host;
		} else if (flags != st->flags || ((flags & VSTD_BLOCK_OFFSET_VALID) &&
		                                  host != st->host_offset + st->length)) {
			break;
		}
		st->length += n;
		if ((e & 7) == VHDX_PAYLOAD_PARTIALLY_PRESENT && st->length >= 64 * 4096)
			break;
	}
	if (st->length > max_len)
		st->length = max_len;
	return 0;
}

/* Write the disk size item through the log. */
static int write_vsize(vstd_disk *d, struct vhdx_state *s, uint64_t size)
{
	uint8_t page[4096], *pp = page;
	uint64_t at = vstd_align_down(s->vsize_at, 4096);
	int rc;
	if ((rc = vstd_io_pread(s->io, page, sizeof(page), at)) < 0)
		return rc;
	vstd_put_le64(page + (s->vsize_at - at), size);
	if ((rc = vhdx_log_write(d, s, &at, &pp, 1)) < 0)
		return rc;
	s->vsize = size;
	return 0;
}

/* Resizing a differencing image: the new size must not let the parent's
 * data show where the disk had no sectors before.  [from, to) is made a
 * present range of zeroes wherever the parent has data there. */
static int hide_parent(vstd_disk *d, struct vhdx_state *s, uint64_t from, uint64_t to)
{
	uint64_t psize = d->backing != NULL ? vstd_disk_size(d->backing) : 0;
	if (!s->has_parent || psize <= from)
		return 0;
	if (to > psize)
		to = psize;
	return from < to ? zero_or_trim(d, from, to - from, 0) : 0;
}

/*
 * Shrink: the tail of a block cut in two is zeroed in the file (a later
 * grow must read zeroes there; in a differencing image the tail sectors of
 * a partially present block become present zeroes), the entries of blocks
 * past the new end become "not present" through the log, then the size
 * item changes; a crash in between leaves the old size with zeroes past
 * the new end.  File space past the last block still used is given back.
 */
static int vhdx_shrink(vstd_disk *d, struct vhdx_state *s, uint64_t size,
                       enum vstd_prealloc prealloc)
{
	uint64_t np, ne, end, fsize;
	int rc;
	if (size == 0 || size % s->lsec != 0)
		return vstd_err(VSTD_EINVAL, "%s: size %" PRIu64 " is zero or not a multiple of %u",
		                d->filename, size, s->lsec);
	if (prealloc != VSTD_PREALLOC_OFF)
		return vstd_err(VSTD_ENOTSUP, "%s: VHDX resize takes no preallocation",
		                d->filename);
	if ((rc = begin_write(d, s)) < 0 || (rc = check_parent(d, s)) < 0)
		return rc;
	np = (size + s->block_size - 1) / s->block_size;
	ne = vhdx_bat_entries(s, np);
	if (size % s->block_size != 0) {
		uint64_t e = s->bat[vhdx_bat_payload_index(s, np - 1)], in = size % s->block_size;
		if ((e & 7) == VHDX_PAYLOAD_FULLY_PRESENT &&
		    (rc = vstd_io_write_zeroes(s->io, (e >> 20) * VHDX_MIB + in, s->block_size - in,
		                               0)) < 0)
			return rc;
		if ((e & 7) == VHDX_PAYLOAD_PARTIALLY_PRESENT) {
			uint8_t *zero = vstd_calloc(1, (size_t)VHDX_MIB);
			if (zero == NULL)
				return vstd_err_code();
			for (uint64_t pos = in; pos < s->block_size && rc == 0;) {
				size_t k = s->block_size - pos < VHDX_MIB
				                   ? (size_t)(s->block_size - pos)
				                   : (size_t)VHDX_MIB;
				rc = write_sectors(d, s, np - 1, (e >> 20) * VHDX_MIB, pos, zero,
				                   k);
				pos += k;
			}
			vstd_free(zero);
			if (rc < 0)
				return rc;
		}
	}
	for (uint64_t i = ne; i < s->n_entries; i++)
		if (s->bat[i] != 0 && (rc = vhdx_bat_set(d, s, i, 0)) < 0)
			return rc;
	if ((rc = vhdx_bat_flush(d, s)) < 0 || (rc = write_vsize(d, s, size)) < 0)
		return rc;
	s->n_entries = ne;
	s->n_payload = np;
	s->n_sb = (np + s->chunk_ratio - 1) / s->chunk_ratio;
	/* give back the file space past everything still in use */
	end = s->bat_off + s->bat_len;
	if (s->meta_off + s->meta_len > end)
		end = s->meta_off + s->meta_len;
	if (s->hdr.log_offset + s->hdr.log_length > end)
		end = s->hdr.log_offset + s->hdr.log_length;
	for (uint64_t i = 0; i < ne; i++) {
		uint64_t st = s->bat[i] & 7, off = (s->bat[i] >> 20) * VHDX_MIB;
		int is_sb = (i % (s->chunk_ratio + 1)) == s->chunk_ratio;
		if (is_sb ? st == VHDX_SB_PRESENT
		          : st == VHDX_PAYLOAD_FULLY_PRESENT ||
		                    st == VHDX_PAYLOAD_PARTIALLY_PRESENT) {
			uint64_t bend = off + (is_sb ? VHDX_MIB : s->block_size);
			if (bend > end)
				end = bend;
		}
	}
	end = vstd_align_up(end, VHDX_MIB);
	if ((rc = vstd_io_size(s->io, &fsize)) == 0 && fsize > end) {
		if ((rc = vstd_io_flush(s->io)) < 0 || (rc = vstd_io_truncate(s->io, end)) < 0)
			return rc;
	}
	if (rc == 0 && s->file_end > end)
		s->file_end = end;
	return rc;
}

/*
 * Grow: the BAT gets entries for the new blocks (zero: not present).  When
 * they do not fit its region, the whole BAT moves to the end of the file
 * first (vhdx_bat_relocate: written, flushed, then the region tables
 * switched).  New chunks of a differencing image get a zeroed sector bitmap
 * block, as at creation; a differencing image grows up to its parent's
 * size at most (after a shrink), the regrown part made present zeroes.
 * The entries go through the log, then the disk
 * size item, also through the log: a crash at any point leaves the old
 * size or the new one, each with a BAT that covers it.
 */
static int vhdx_grow(vstd_disk *d, struct vhdx_state *s, uint64_t size)
{
	uint64_t old = s->vsize, old_ne = s->n_entries, np, ne;
	int rc;
	if (s->has_parent && d->backing != NULL && size > vstd_disk_size(d->backing))
		return vstd_err(VSTD_ENOTSUP,
		                "%s: a differencing VHDX cannot grow past its parent's size "
		                "(%" PRIu64 " bytes): Hyper-V expands only fixed and dynamic "
		                "disks, and readers fail past the parent's end",
		                d->filename, vstd_disk_size(d->backing));
	if (s->has_parent && d->backing == NULL)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: growing a differencing VHDX needs its parent opened",
		                d->filename);
	np = (size + s->block_size - 1) / s->block_size;
	ne = vhdx_bat_entries(s, np);
	if ((rc = begin_write(d, s)) < 0 || (rc = check_parent(d, s)) < 0 ||
	    (rc = vhdx_bat_flush(d, s)) < 0 || (rc = vhdx_bat_resize(d, s, ne)) < 0)
		return rc;
	if (ne * 8 > s->bat_len && (rc = vhdx_bat_relocate(d, s)) < 0) {
		s->n_entries = old_ne;
		return rc;
	}
	if (s->has_parent) {
		for (uint64_t i = old_ne; i < ne && rc == 0; i++) {
			if (i % (s->chunk_ratio + 1) == s->chunk_ratio) {
				uint64_t at = s->file_end;
				s->file_end += VHDX_MIB;
				rc = vhdx_bat_set(d, s, i, (at / VHDX_MIB) << 20 | VHDX_SB_PRESENT);
			}
		}
		if (rc < 0)
			return rc;
	}
	if ((rc = vhdx_bat_flush(d, s)) < 0 || (rc = write_vsize(d, s, size)) < 0)
		return rc;
	s->n_payload = np;
	s->n_sb = (np + s->chunk_ratio - 1) / s->chunk_ratio;
	d->size = size;
	if ((rc = hide_parent(d, s, old, size)) < 0)
		return rc;
	return vhdx_bat_flush(d, s);
}

static int vhdx_truncate(vstd_disk *d, uint64_t size, enum vstd_prealloc prealloc)
{
	struct vhdx_state *s = d->priv;
	if (size % s->lsec != 0 || size > ((uint64_t)64 << 40))
		return vstd_err(VSTD_EINVAL,
		                "%s: size %" PRIu64 " is not a multiple of %u or above "
		                "64 TiB",
		                d->filename, size, s->lsec);
	if (prealloc != VSTD_PREALLOC_OFF)
		return vstd_err(VSTD_ENOTSUP, "%s: VHDX resize takes no preallocation",
		                d->filename);
	if (size < s->vsize)
		return vhdx_shrink(d, s, size, prealloc);
	return vhdx_grow(d, s, size);
}

/* ------------------------------------------------------------ create */

static uint32_t default_block(uint64_t size)
{
	if (size > ((uint64_t)32 << 40))
		return 64u << 20;
	if (size > ((uint64_t)100 << 30))
		return 32u << 20;
	if (size > ((uint64_t)1 << 30))
		return 16u << 20;
	return 8u << 20;
}

/* Hyper-V's parent paths: `relative_path` from the child's directory
 * (".\\name", "..\\dir\\name"), and `absolute_win32_path`: the parent's
 * absolute path with backslashes (there is no drive letter here; readers
 * that cannot follow it take the file name from it, as libvhdi does). */
static int locator_paths(const char *child, const char *parent, char **rel, char **abs_out)
{
	char *cdir = NULL, *pabs = NULL, *slash, *r = NULL;
	size_t common = 0, ups = 0;
	int rc = 0;
	*rel = *abs_out = NULL;
	if (parent[0] == '/') {
		pabs = vstd_strdup(parent);
	} else {
		/* relative names are relative to the child's directory */
		const char *cs = strrchr(child, '/');
		char *cd = cs ? vstd_strndup(child, (size_t)(cs - child)) : vstd_strdup(".");
		char *rp = cd ? realpath(cd, NULL) : NULL;
		if (rp != NULL)
			pabs = vstd_asprintf("%s/%s", rp, parent);
		free(rp); /* realpath's buffer comes from malloc */
		vstd_free(cd);
	}
	{
		char *rp = realpath(child, NULL);
		if (rp != NULL) {
			cdir = vstd_strdup(rp);
			free(rp);
		}
	}
	if (pabs == NULL || cdir == NULL) {
		rc = vstd_err(VSTD_EIO, "%s: cannot resolve the path of the image or its parent",
		              child);
		goto out;
	}
	if ((slash = strrchr(cdir, '/')) != NULL)
		slash[1] = '\0'; /* the child's directory, with its slash */
	/* common leading directories */
	for (size_t i = 0; cdir[i] && cdir[i] == pabs[i]; i++)
		if (cdir[i] == '/')
			common = i + 1;
	for (size_t i = common; cdir[i]; i++)
		if (cdir[i] == '/')
			ups++;
	{
		size_t need = 3 + 3 * ups + strlen(pabs + common);
		char *q = r = vstd_malloc(need);
		if (r == NULL) {
			rc = vstd_err_code();
			goto out;
		}
		if (ups == 0) {
			memcpy(q, ".\\", 2);
			q += 2;
		}
		for (size_t i = 0; i < ups; i++, q += 3)
			memcpy(q, "..\\", 3);
		strcpy(q, pabs + common);
	}
	for (char *q = r; *q; q++)
		if (*q == '/')
			*q = '\\';
	for (char *q = pabs; *q; q++)
		if (*q == '/')
			*q = '\\';
	*rel = r;
	*abs_out = pabs;
	pabs = NULL;
out:
	vstd_free(pabs);
	vstd_free(cdir);
	return rc;
}

static int vhdx_create(vstd_io *io, const struct vstd_disk_create_args *a)
{
	static const char *const subs[] = {"dynamic", "fixed", NULL};
	size_t sub = 0;
	uint64_t bs = 0, log_size = VHDX_MIB, lsec = 512, size, np, nsb, ne, meta_off, bat_off,
	         bat_len, data_off;
	int bsz = 1, rc, has_parent = a->backing_file != NULL;
	struct vhdx_header h;
	vhdx_guid link;
	uint8_t *buf = NULL;
	char *rel = NULL, *abs_path = NULL;
	if ((rc = vstd_kv_get_enum(a->options, "subformat", subs, 0, &sub)) < 0 ||
	    (rc = vstd_kv_get_size(a->options, "block_size", 0, &bs)) < 0 ||
	    (rc = vstd_kv_get_size(a->options, "log_size", VHDX_MIB, &log_size)) < 0 ||
	    (rc = vstd_kv_get_bool(a->options, "block_state_zero", 1, &bsz)) < 0 ||
	    (rc = vstd_kv_get_u64(a->options, "logical_sector_size", 512, &lsec)) < 0)
		return rc;
	if (lsec != 512 && lsec != 4096)
		return vstd_err(VSTD_EINVAL, "logical_sector_size %" PRIu64 " is not 512 or 4096",
		                lsec);
	size = vstd_align_up(a->size, lsec);
	if (size == 0 || size > ((uint64_t)64 << 40))
		return vstd_err(VSTD_ERANGE,
		                "%s: a VHDX holds 1 sector to 64 TiB, not %" PRIu64 " bytes",
		                a->path, a->size);
	if (bs == 0)
		bs = default_block(size);
	if (bs < VHDX_MIB || bs > 256 * VHDX_MIB || (bs & (bs - 1)) != 0)
		return vstd_err(VSTD_EINVAL,
		                "block_size %" PRIu64 " is not a power of two of 1 to "
		                "256 MiB",
		                bs);
	if (log_size < VHDX_MIB || log_size % VHDX_MIB != 0 || log_size > VHDX_MAX_LOG)
		return vstd_err(VSTD_EINVAL,
		                "log_size %" PRIu64 " is not a multiple of 1 MiB "
		                "between 1 MiB and 256 MiB",
		                log_size);
	if (a->prealloc != VSTD_PREALLOC_OFF)
		return vstd_err(VSTD_EINVAL,
		                "%s: vhdx has no preallocation option (use "
		                "subformat=fixed)",
		                a->path);
	if (has_parent) {
		struct vhdx_state *ps;
		if (sub == 1)
			return vstd_err(VSTD_EINVAL, "%s: a fixed VHDX cannot have a parent",
			                a->path);
		if (a->backing == NULL || a->backing->drv != &vstd_driver_vhdx)
			return vstd_err(VSTD_ENOTSUP,
			                "%s: a differencing VHDX needs an openable "
			                "VHDX parent (format vhdx)",
			                a->path);
		ps = a->backing->priv;
		link = ps->hdr.data_write;
		if (strlen(a->backing_file) > 1000)
			return vstd_err(VSTD_EINVAL, "%s: parent name too long", a->path);
		if ((rc = locator_paths(a->path, a->backing_file, &rel, &abs_path)) < 0)
			return rc;
	}
	np = (size + bs - 1) / bs;
	{
		uint64_t cr = ((uint64_t)1 << 23) * lsec / bs;
		nsb = (np + cr - 1) / cr;
		ne = has_parent ? nsb * (cr + 1) : np + (np - 1) / cr;
	}
	meta_off = VHDX_MIB + log_size;
	bat_off = meta_off + VHDX_MIB;
	bat_len = vstd_align_up(ne * 8, VHDX_MIB);
	data_off = bat_off + bat_len;
	if (bat_len > UINT32_MAX) {
		vstd_free(rel);
		vstd_free(abs_path);
		return vstd_err(VSTD_ERANGE, "%s: BAT too large", a->path);
	}
	buf = vstd_calloc(1, (size_t)VHDX_MIB);
	if (buf == NULL) {
		vstd_free(rel);
		vstd_free(abs_path);
		return vstd_err_code();
	}
	/* file identifier */
	memcpy(buf, "vhdxfile", 8);
	{
		const char *creator = "vstd";
		for (size_t i = 0; creator[i]; i++)
			vstd_put_le16(buf + 8 + 2 * i, (uint16_t)creator[i]);
	}
	vhdx_region_build(buf + VHDX_REGION1, bat_off, (uint32_t)bat_len, meta_off,
	                  (uint32_t)VHDX_MIB);
	memcpy(buf + VHDX_REGION2, buf + VHDX_REGION1, VHDX_REGION_SIZE);
	memset(&h, 0, sizeof(h));
	vhdx_guid_random(&h.file_write);
	vhdx_guid_random(&h.data_write);
	h.version = 1;
	h.log_length = (uint32_t)log_size;
	h.log_offset = VHDX_MIB;
	h.seq = 1;
	vhdx_header_build(buf + VHDX_HEADER1, &h);
	h.seq = 2;
	vhdx_header_build(buf + VHDX_HEADER2, &h);
	if ((rc = vstd_io_pwrite(io, buf, (size_t)VHDX_MIB, 0)) < 0)
		goto out;
	/* metadata */
	vhdx_metadata_build(buf, (size_t)VHDX_MIB, (uint32_t)bs, sub == 1, size, (uint32_t)lsec,
	                    4096, rel, abs_path, &link);
	if ((rc = vstd_io_pwrite(io, buf, (size_t)VHDX_MIB, meta_off)) < 0)
		goto out;
	/* BAT: fixed images get every block, in order */
	if ((rc = vstd_io_truncate(io, data_off)) < 0)
		goto out;
	if (has_parent) {
		/* a (zeroed) sector bitmap block for every chunk, after the BAT:
		 * some readers (libvhdi) consult the bitmap even where the BAT
		 * says "not present" */
		uint64_t cr = ((uint64_t)1 << 23) * lsec / bs;
		for (uint64_t c = 0; c < nsb && rc == 0; c++) {
			uint8_t le[8];
			vstd_put_le64(le, ((data_off + c * VHDX_MIB) / VHDX_MIB) << 20 |
			                          VHDX_SB_PRESENT);
			rc = vstd_io_pwrite(io, le, 8, bat_off + 8 * (c * (cr + 1) + cr));
		}
		if (rc == 0)
			rc = vstd_io_truncate(io, data_off + nsb * VHDX_MIB);
	}
	if (sub == 1) {
		uint64_t cr = ((uint64_t)1 << 23) * lsec / bs;
		for (uint64_t chunk = 0; chunk * 512 < ne && rc == 0; chunk++) {
			/* 512 entries per 4 KiB page */
			uint8_t page[4096];
			memset(page, 0, sizeof(page));
			for (uint64_t k = 0; k < 512 && chunk * 512 + k < ne; k++) {
				uint64_t i = chunk * 512 + k;
				if (i % (cr + 1) == cr)
					continue; /* sector bitmap: not present */
				{
					uint64_t blk = i - i / (cr + 1);
					uint64_t off = data_off + blk * bs;
					vstd_put_le64(page + 8 * k,
					              (off / VHDX_MIB) << 20 |
					                      VHDX_PAYLOAD_FULLY_PRESENT);
				}
			}
			rc = vstd_io_pwrite(io, page, sizeof(page), bat_off + chunk * 4096);
		}
		if (rc == 0)
			rc = vstd_io_truncate(io, data_off + np * bs);
	}
out:
	vstd_free(buf);
	vstd_free(rel);
	vstd_free(abs_path);
	return rc;
}

/* ------------------------------------------------------------ info, check, measure */

static int vhdx_info(vstd_disk *d, vstd_disk_info *info, struct json_object *specific)
{
	struct vhdx_state *s = d->priv;
	char g[39];
	info->cluster_size = s->block_size;
	info->dirty = s->overlay != NULL;
	json_object_object_add(specific, "block-size", json_object_new_int64(s->block_size));
	json_object_object_add(specific, "logical-sector-size", json_object_new_int64(s->lsec));
	json_object_object_add(specific, "physical-sector-size", json_object_new_int64(s->psec));
	json_object_object_add(specific, "log-size", json_object_new_int64(s->hdr.log_length));
	json_object_object_add(specific, "leave-blocks-allocated",
	                       json_object_new_boolean(s->leave_alloc));
	json_object_object_add(specific, "has-parent", json_object_new_boolean(s->has_parent));
	vhdx_guid_format(&s->hdr.data_write, g);
	json_object_object_add(specific, "data-write-guid", json_object_new_string(g));
	vhdx_guid_format(&s->page83, g);
	json_object_object_add(specific, "page83", json_object_new_string(g));
	if (s->parent_linkage != NULL)
		json_object_object_add(specific, "parent-linkage",
		                       json_object_new_string(s->parent_linkage));
	if (s->parent_rel != NULL)
		json_object_object_add(specific, "parent-relative-path",
		                       json_object_new_string(s->parent_rel));
	if (s->parent_abs != NULL)
		json_object_object_add(specific, "parent-absolute-win32-path",
		                       json_object_new_string(s->parent_abs));
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void report_add(vstd_disk_check_result *r, const char *line)
{
	size_t old = r->report ? strlen(r->report) : 0;
	char *nr;
	if (r->corruptions > 20)
		return;
	nr = vstd_realloc(r->report, old + strlen(line) + 1);
	if (nr != NULL) {
		memcpy(nr + old, line, strlen(line) + 1);
		r->report = nr;
	}
}

static int vhdx_check(vstd_disk *d, unsigned flags, vstd_disk_check_result *r)
{
	struct vhdx_state *s = d->priv;
	uint64_t *offs = vstd_malloc_array((size_t)s->n_entries + 1, 8), n = 0;
	char line[200];
	if (offs == NULL)
		return vstd_err_code();
	r->supported = 1;
	r->total_clusters = s->n_payload;
	for (uint64_t i = 0; i < s->n_entries; i++) {
		uint64_t e = s->bat[i], st = e & 7;
		if ((i % (s->chunk_ratio + 1)) == s->chunk_ratio) {
			if (st == VHDX_SB_PRESENT)
				offs[n++] = (e >> 20) * VHDX_MIB | 1; /* 1 MiB sector bitmap */
			continue;
		}
		if (st == VHDX_PAYLOAD_PARTIALLY_PRESENT &&
		    (s->bat[vhdx_bat_sb_index(s, i - i / (s->chunk_ratio + 1))] & 7) !=
		            VHDX_SB_PRESENT) {
			r->corruptions++;
			snprintf(line, sizeof(line),
			         "ERROR: BAT entry %" PRIu64 ": partially present block "
			         "without a sector bitmap block\n",
			         i);
			report_add(r, line);
		}
		if (st == VHDX_PAYLOAD_FULLY_PRESENT || st == VHDX_PAYLOAD_PARTIALLY_PRESENT) {
			r->allocated_clusters++;
			offs[n++] = (e >> 20) * VHDX_MIB;
		}
	}
	qsort(offs, (size_t)n, 8, cmp_u64);
	for (uint64_t k = 1; k < n; k++) {
		uint64_t prev = offs[k - 1] & ~(uint64_t)1;
		uint64_t plen = (offs[k - 1] & 1) ? VHDX_MIB : s->block_size;
		if ((offs[k] & ~(uint64_t)1) < prev + plen) {
			r->corruptions++;
			if (r->corruptions <= 20) {
				size_t old = r->report ? strlen(r->report) : 0;
				char *nr;
				snprintf(line, sizeof(line),
				         "ERROR: blocks at offsets 0x%" PRIx64 " and 0x%" PRIx64
				         " overlap\n",
				         prev, offs[k] & ~(uint64_t)1);
				nr = vstd_realloc(r->report, old + strlen(line) + 1);
				if (nr != NULL) {
					memcpy(nr + old, line, strlen(line) + 1);
					r->report = nr;
				}
			}
		}
	}
	vstd_free(offs);
	r->image_end_offset = s->file_end;
	if (s->overlay != NULL) {
		r->corruptions++;
		snprintf(line, sizeof(line),
		         "ERROR: the log holds %zu writes not yet replayed "
		         "(open read-write to replay)\n",
		         s->replayed.n);
		{
			size_t old = r->report ? strlen(r->report) : 0;
			char *nr = vstd_realloc(r->report, old + strlen(line) + 1);
			if (nr != NULL) {
				memcpy(nr + old, line, strlen(line) + 1);
				r->report = nr;
			}
		}
	}
	return 0;
}

static int vhdx_measure(const struct vstd_disk_create_args *a, vstd_disk *src,
                        vstd_disk_measure_result *res)
{
	uint64_t bs = 0, log_size = VHDX_MIB, size = vstd_align_up(a->size, 512), np, ne, data = 0;
	int rc;
	if ((rc = vstd_kv_get_size(a->options, "block_size", 0, &bs)) < 0 ||
	    (rc = vstd_kv_get_size(a->options, "log_size", VHDX_MIB, &log_size)) < 0)
		return rc;
	if (bs == 0)
		bs = default_block(size);
	if (bs < VHDX_MIB || (bs & (bs - 1)) != 0)
		return vstd_err(VSTD_EINVAL, "block_size %" PRIu64 " invalid", bs);
	np = (size + bs - 1) / bs;
	ne = np + np / (((uint64_t)1 << 23) * 512 / bs) + 1;
	memset(res, 0, sizeof(*res));
	if (src != NULL) {
		uint64_t last = UINT64_MAX;
		for (uint64_t off = 0; off < size && off < vstd_disk_size(src);) {
			vstd_block_status st;
			if ((rc = vstd_disk_map(src, off, size - off, &st)) < 0)
				return rc;
			if (st.length == 0)
				break;
			if (st.flags & VSTD_BLOCK_DATA) {
				for (uint64_t b = off / bs; b <= (off + st.length - 1) / bs; b++)
					if (b != last)
						data += bs, last = b;
			}
			off += st.length;
		}
	}
	res->required = 2 * VHDX_MIB + log_size + vstd_align_up(ne * 8, VHDX_MIB) + data;
	res->fully_allocated = 2 * VHDX_MIB + log_size + vstd_align_up(ne * 8, VHDX_MIB) + np * bs;
	return 0;
}

const struct vstd_disk_driver vstd_driver_vhdx = {
        .version = 1,
        .name = "vhdx",
        .description = "Hyper-V virtual hard disk v2 (VHDX): dynamic, fixed, differencing",
        .create_options = vhdx_options,
        .n_create_options = sizeof(vhdx_options) / sizeof(vhdx_options[0]),
        .probe = vhdx_probe,
        .open = vhdx_open,
        .close = vhdx_close,
        .create = vhdx_create,
        .read = vhdx_read,
        .write = vhdx_write,
        .flush = vhdx_flush,
        .write_zeroes = vhdx_write_zeroes,
        .discard = vhdx_discard,
        .block_status = vhdx_block_status,
        .truncate = vhdx_truncate,
        .check = vhdx_check,
        .info = vhdx_info,
        .measure = vhdx_measure,
};
