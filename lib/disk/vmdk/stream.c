/*
 * disk/vmdk/stream.c - streamOptimized extents: compressed grains, markers,
 * the footer, and random writes.
 *
 * A compressed grain starts with its guest sector (8 bytes) and the length
 * of the zlib data after it (4 bytes).  A marker is a sector whose length
 * field is 0, with a type: end of stream, grain table, grain directory,
 * footer.  VMware writes the grain directory after the grains and points to
 * it from a footer (a copy of the header) just before the end-of-stream
 * marker; the header at offset 0 then says "directory at the end".
 *
 * Random writes use an appended-grain layout: a rewritten grain is
 * compressed and appended where the tail metadata began (the old grain
 * becomes unreferenced), and flush writes the changed grain tables, a new
 * directory, footer and end-of-stream marker after it.  The file stays a
 * valid stream a sequential reader accepts.  Between the first write and
 * the flush the tail metadata is being rewritten: a crash there loses the
 * directory (docs/formats/vmdk.md).
 */
#include <string.h>
#include <zlib.h>

#include "core/adler32.h"
#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/vmdk/vmdk_internal.h"

static int ensure_zbuf(struct vmdk_extent *e)
{
	size_t need = (size_t)e->grain + (size_t)e->grain / 2 + 8192;
	if (e->zbuf_cap >= need)
		return 0;
	vstd_free(e->zbuf);
	e->zbuf_cap = 0;
	e->zbuf = vstd_malloc(need);
	if (e->zbuf == NULL)
		return vstd_err_code();
	e->zbuf_cap = need;
	return 0;
}

/*
 * Inflate one grain: a zlib stream (RFC 1950: a 2-byte header, raw deflate
 * data, the Adler-32 of the output big-endian).  The deflate data goes
 * through the extent's inflater (reset, not rebuilt, per grain) without
 * zlib's byte-at-a-time checksum; the trailer is checked here with
 * vstd_adler32.  *olen: the bytes produced.
 */
static int inflate_grain(vstd_disk *d, struct vmdk_extent *e, uint64_t gi, uint64_t host,
                         const uint8_t *z, size_t zlen, uint8_t *out, size_t *olen)
{
	z_stream *zs = e->inflater;
	int zr;
	if (zlen < 2 || (z[0] & 0x0f) != 8 || (z[0] >> 4) > 7 || (z[1] & 0x20) ||
	    ((unsigned)z[0] << 8 | z[1]) % 31 != 0)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: compressed grain %" PRIu64 " at offset 0x%" PRIx64
		                " does not start with a zlib header (bytes %02x %02x)",
		                d->filename, gi, host, zlen > 0 ? z[0] : 0, zlen > 1 ? z[1] : 0);
	if (zs == NULL) {
		if ((zs = vstd_calloc(1, sizeof(*zs))) == NULL)
			return vstd_err_code();
		if (inflateInit2(zs, -MAX_WBITS) != Z_OK) {
			vstd_free(zs);
			return vstd_err(VSTD_ENOMEM, "%s: cannot set up the inflater", d->filename);
		}
		e->inflater = zs;
	} else if (inflateReset(zs) != Z_OK) {
		return vstd_err(VSTD_ERROR, "%s: cannot reset the inflater", d->filename);
	}
	zs->next_in = (Bytef *)(uintptr_t)(z + 2);
	zs->avail_in = (uInt)(zlen - 2);
	zs->next_out = out;
	zs->avail_out = (uInt)e->grain;
	zr = inflate(zs, Z_FINISH);
	*olen = (size_t)e->grain - zs->avail_out;
	if (zr == Z_STREAM_END) {
		if (zs->avail_in < 4)
			return vstd_err(VSTD_ECORRUPT,
			                "%s: compressed grain %" PRIu64 " at offset 0x%" PRIx64
			                " ends before its Adler-32 checksum",
			                d->filename, gi, host);
		if (vstd_be32(zs->next_in) != vstd_adler32(1, out, *olen))
			return vstd_err(VSTD_ECORRUPT,
			                "%s: compressed grain %" PRIu64 " at offset 0x%" PRIx64
			                ": Adler-32 checksum mismatch",
			                d->filename, gi, host);
		return 0;
	}
	/* a compressed extent without markers has no stored length: a stream
	 * that fills the grain exactly is taken as it is */
	if (!e->markers && zs->avail_out == 0 && (zr == Z_OK || zr == Z_BUF_ERROR))
		return 0;
	return vstd_err(VSTD_ECORRUPT,
	                "%s: compressed grain %" PRIu64 " at offset 0x%" PRIx64
	                " does not inflate (zlib error %d%s%s)",
	                d->filename, gi, host, zr, zs->msg != NULL ? ": " : "",
	                zs->msg != NULL ? zs->msg : "");
}

void vmdk_stream_free_inflater(struct vmdk_extent *e)
{
	if (e->inflater != NULL) {
		inflateEnd(e->inflater);
		vstd_free(e->inflater);
		e->inflater = NULL;
	}
}

int vmdk_stream_read_grain(vstd_disk *d, struct vmdk_extent *e, uint64_t gi, uint64_t host,
                           uint8_t *out)
{
	size_t got = 0, zlen, hdr = e->markers ? 12 : 0, olen = 0;
	/* a marker grain made by zlib fits in compressBound(grain): read that
	 * much first, the whole buffer only for a longer one */
	size_t want = (size_t)compressBound((uLong)e->grain) + 12;
	int rc;
	if ((rc = ensure_zbuf(e)) < 0)
		return rc;
	if (!e->markers || want > e->zbuf_cap)
		want = e->zbuf_cap;
	rc = vstd_io_pread_partial(e->io, e->zbuf, want, host, &got);
	if (rc < 0)
		return rc;
	if (e->markers) {
		if (got < 12)
			return vstd_err(VSTD_ECORRUPT,
			                "%s: compressed grain %" PRIu64 " at offset 0x%" PRIx64
			                " is past the end of the file",
			                d->filename, gi, host);
		zlen = vstd_le32(e->zbuf + 8);
		if (zlen > got - 12 && got == want && want < e->zbuf_cap) {
			rc = vstd_io_pread_partial(e->io, e->zbuf, e->zbuf_cap, host, &got);
			if (rc < 0)
				return rc;
		}
		if (zlen == 0 || zlen > got - 12)
			return vstd_err(VSTD_ECORRUPT,
			                "%s: compressed grain %" PRIu64 " at offset 0x%" PRIx64
			                ": length %zu is 0, too large or past the end of "
			                "the file",
			                d->filename, gi, host, zlen);
	} else {
		zlen = got;
	}
	if ((rc = inflate_grain(d, e, gi, host, e->zbuf + hdr, zlen, out, &olen)) < 0)
		return rc;
	if (olen < e->grain)
		memset(out + olen, 0, (size_t)(e->grain - olen));
	return 0;
}

/* 1 when the bytes look random (already compressed or encrypted data):
 * a byte histogram close to uniform (chi-square against 256 equal buckets
 * below 2x its expected value).  Deflate cannot shrink such data, and
 * trying costs the most there. */
int vmdk_looks_random(const void *in, size_t len)
{
	const uint8_t *p = in;
	uint32_t hist[256] = {0};
	uint64_t chi = 0, e;
	if (len < 4096)
		return 0;
	for (size_t i = 0; i < len; i++)
		hist[p[i]]++;
	e = len / 256;
	for (int i = 0; i < 256; i++) {
		int64_t dlt = (int64_t)hist[i] - (int64_t)e;
		chi += (uint64_t)(dlt * dlt);
	}
	/* chi-square = chi / e; random data gives about 255 */
	return chi / (e ? e : 1) < 512;
}

int vmdk_deflate(const void *in, size_t in_len, void *out, size_t out_cap, size_t *out_len)
{
	uLongf olen = (uLongf)out_cap;
	/* random-looking grains are stored (deflate level 0): still a valid
	 * zlib stream, as streamOptimized requires, at memcpy speed */
	int zr = compress2(out, &olen, in, (uLong)in_len, vmdk_looks_random(in, in_len) ? 0 : 6);
	if (zr == Z_BUF_ERROR)
		return vstd_err(VSTD_ERANGE, "compressed grain does not fit its buffer");
	if (zr != Z_OK)
		return vstd_err(VSTD_ERROR, "zlib compression failed (%d)", zr);
	*out_len = olen;
	return 0;
}

static void put_marker(uint8_t *m, uint64_t val, uint32_t type)
{
	memset(m, 0, VMDK_SECTOR);
	vstd_put_le64(m, val);
	vstd_put_le32(m + 12, type);
}

/* Is the last sector of the file an end-of-stream marker? */
static int ends_with_eos(struct vmdk_extent *e, uint64_t size)
{
	uint8_t m[VMDK_SECTOR];
	if (size < 2 * VMDK_SECTOR || size % VMDK_SECTOR != 0 ||
	    vstd_io_pread(e->io, m, sizeof(m), size - VMDK_SECTOR) < 0)
		return 0;
	return vstd_is_zero(m, sizeof(m));
}

int vmdk_stream_begin_write(vstd_disk *d, struct vmdk_extent *e)
{
	uint64_t size, append;
	int rc;
	if (e->gt_dirty != NULL)
		return 0;
	if (!e->markers)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: compressed sparse extents without markers are "
		                "read-only",
		                d->filename);
	if ((rc = vstd_io_size(e->io, &size)) < 0)
		return rc;
	append = vstd_align_up(size, VMDK_SECTOR);
	if (e->footer && e->gd_off >= VMDK_SECTOR) {
		/* reuse the tail when every table and grain lies before the
		 * directory's marker */
		uint64_t cand = e->gd_off - VMDK_SECTOR;
		int ok = 1;
		for (uint64_t i = 0; i < e->n_gd && ok; i++) {
			if (e->gd[i] == 0)
				continue;
			if ((uint64_t)e->gd[i] * VMDK_SECTOR >= cand) {
				ok = 0;
				break;
			}
			if (e->gt[i] == NULL && (rc = vmdk_sparse_load_gt(d, e, i)) < 0)
				return rc;
			for (uint32_t j = 0; j < e->ngte; j++)
				if ((uint64_t)e->gt[i][j] * VMDK_SECTOR >= cand)
					ok = 0;
		}
		if (ok)
			append = cand;
	} else if (ends_with_eos(e, size)) {
		append = size - VMDK_SECTOR;
	}
	e->gt_dirty = vstd_calloc((size_t)e->n_gd ? (size_t)e->n_gd : 1, 1);
	e->pend = vstd_malloc((size_t)e->grain);
	if (e->gt_dirty == NULL || e->pend == NULL || (rc = ensure_zbuf(e)) < 0)
		return vstd_err_code();
	if (e->cache == NULL && (e->cache = vstd_malloc((size_t)e->grain)) == NULL)
		return vstd_err_code();
	e->file_end = append;
	e->stream_dirty = 1;
	return 0;
}

int vmdk_stream_put_compressed(vstd_disk *d, struct vmdk_extent *e, uint64_t gi, const void *z,
                               size_t zlen)
{
	uint64_t at = e->file_end, total = vstd_align_up(12 + (uint64_t)zlen, VMDK_SECTOR);
	uint8_t *buf;
	int rc;
	if (zlen > e->zbuf_cap || at / VMDK_SECTOR + total / VMDK_SECTOR > UINT32_MAX)
		return vstd_err(VSTD_ELIMIT, "%s: compressed grain does not fit the extent",
		                d->filename);
	buf = vstd_calloc(1, (size_t)total);
	if (buf == NULL)
		return vstd_err_code();
	vstd_put_le64(buf, gi * (e->grain / VMDK_SECTOR));
	vstd_put_le32(buf + 8, (uint32_t)zlen);
	memcpy(buf + 12, z, zlen);
	rc = vstd_io_pwrite(e->io, buf, (size_t)total, at);
	vstd_free(buf);
	if (rc < 0)
		return rc;
	e->file_end += total;
	if (e->cache_valid && e->cache_grain == gi)
		e->cache_valid = 0;
	return vmdk_sparse_set_gte(d, e, gi, (uint32_t)(at / VMDK_SECTOR));
}

static int commit_pending(vstd_disk *d, struct vmdk_extent *e)
{
	size_t zlen = 0;
	int rc;
	if (!e->pend_valid)
		return 0;
	e->pend_valid = 0;
	if (d->backing == NULL && vstd_is_zero(e->pend, (size_t)e->grain)) {
		enum vmdk_grain_kind kind;
		uint64_t host;
		if ((rc = vmdk_sparse_lookup(d, e, e->pend_grain, &kind, &host)) < 0)
			return rc;
		if (kind == VMDK_GRAIN_UNALLOC)
			return 0;
		if (e->cache_valid && e->cache_grain == e->pend_grain)
			e->cache_valid = 0;
		return vmdk_sparse_set_gte(d, e, e->pend_grain, 0);
	}
	if ((rc = vmdk_deflate(e->pend, (size_t)e->grain, e->zbuf, e->zbuf_cap, &zlen)) < 0)
		return rc;
	return vmdk_stream_put_compressed(d, e, e->pend_grain, e->zbuf, zlen);
}

int vmdk_stream_write(vstd_disk *d, struct vmdk_extent *e, uint64_t rel, const void *buf,
                      size_t len)
{
	const uint8_t *in = buf;
	int rc;
	if ((rc = vmdk_stream_begin_write(d, e)) < 0)
		return rc;
	while (len > 0) {
		uint64_t gi = rel / e->grain, off = rel % e->grain;
		size_t n = e->grain - off < len ? (size_t)(e->grain - off) : len;
		if (rel + n > e->capacity)
			return vstd_err(VSTD_ECORRUPT,
			                "%s: write past the stream extent's capacity", d->filename);
		if (e->pend_valid && e->pend_grain != gi && (rc = commit_pending(d, e)) < 0)
			return rc;
		if (!e->pend_valid) {
			if (n < e->grain) {
				enum vmdk_grain_kind kind;
				uint64_t host, start = gi * e->grain;
				size_t have = (size_t)e->grain;
				if (start + have > e->vlen)
					have = (size_t)(e->vlen - start);
				memset(e->pend + have, 0, (size_t)e->grain - have);
				if ((rc = vmdk_sparse_lookup(d, e, gi, &kind, &host)) < 0)
					return rc;
				if (kind == VMDK_GRAIN_UNALLOC)
					rc = vstd_disk_read_below(d, e->vstart + start, e->pend,
					                          have);
				else if (kind == VMDK_GRAIN_ZERO)
					memset(e->pend, 0, have);
				else
					rc = vmdk_stream_read_grain(d, e, gi, host, e->pend);
				if (rc < 0)
					return rc;
			}
			e->pend_grain = gi;
			e->pend_valid = 1;
		}
		memcpy(e->pend + off, in, n);
		if (off + n == e->grain && (rc = commit_pending(d, e)) < 0)
			return rc;
		in += n;
		rel += n;
		len -= n;
	}
	return 0;
}

int vmdk_stream_flush(vstd_disk *d, struct vmdk_extent *e)
{
	uint64_t gt_bytes = vstd_align_up((uint64_t)e->ngte * 4, VMDK_SECTOR);
	uint64_t gd_bytes = vstd_align_up(e->n_gd * 4, VMDK_SECTOR);
	uint64_t at, gd_at, size;
	uint8_t *buf = NULL, m[VMDK_SECTOR], h[VMDK_SECTOR];
	int rc;
	if ((rc = commit_pending(d, e)) < 0)
		return rc;
	if (!e->stream_dirty)
		return 0;
	buf = vstd_calloc(1, (size_t)(gt_bytes > gd_bytes ? gt_bytes : gd_bytes));
	if (buf == NULL)
		return vstd_err_code();
	at = e->file_end;
	for (uint64_t i = 0; i < e->n_gd; i++) {
		if (!e->gt_dirty[i])
			continue;
		put_marker(m, gt_bytes / VMDK_SECTOR, VMDK_MARKER_GT);
		memset(buf, 0, (size_t)gt_bytes);
		for (uint32_t j = 0; j < e->ngte; j++)
			vstd_put_le32(buf + 4 * j, e->gt[i][j]);
		if ((rc = vstd_io_pwrite(e->io, m, sizeof(m), at)) < 0 ||
		    (rc = vstd_io_pwrite(e->io, buf, (size_t)gt_bytes, at + VMDK_SECTOR)) < 0)
			goto out;
		e->gd[i] = (uint32_t)((at + VMDK_SECTOR) / VMDK_SECTOR);
		at += VMDK_SECTOR + gt_bytes;
		e->gt_dirty[i] = 0;
	}
	/* directory */
	gd_at = at;
	put_marker(m, gd_bytes / VMDK_SECTOR, VMDK_MARKER_GD);
	memset(buf, 0, (size_t)gd_bytes);
	for (uint64_t i = 0; i < e->n_gd; i++)
		vstd_put_le32(buf + 4 * i, e->gd[i]);
	if ((rc = vstd_io_pwrite(e->io, m, sizeof(m), at)) < 0 ||
	    (rc = vstd_io_pwrite(e->io, buf, (size_t)gd_bytes, at + VMDK_SECTOR)) < 0)
		goto out;
	at += VMDK_SECTOR + gd_bytes;
	/* footer: the header with the directory's place */
	put_marker(m, 1, VMDK_MARKER_FOOTER);
	memcpy(h, e->hdr, sizeof(h));
	vstd_put_le32(h + 8, (vstd_le32(h + 8) & ~VMDK4_FLAG_RGD) | VMDK4_FLAG_COMPRESS |
	                             VMDK4_FLAG_MARKER | VMDK4_FLAG_NL_DETECT);
	vstd_put_le64(h + 48, 0);
	vstd_put_le64(h + 56, (gd_at + VMDK_SECTOR) / VMDK_SECTOR);
	if ((rc = vstd_io_pwrite(e->io, m, sizeof(m), at)) < 0 ||
	    (rc = vstd_io_pwrite(e->io, h, sizeof(h), at + VMDK_SECTOR)) < 0)
		goto out;
	at += 2 * VMDK_SECTOR;
	memset(m, 0, sizeof(m));
	if ((rc = vstd_io_pwrite(e->io, m, sizeof(m), at)) < 0)
		goto out;
	at += VMDK_SECTOR;
	if ((rc = vstd_io_size(e->io, &size)) < 0 ||
	    (size > at && (rc = vstd_io_truncate(e->io, at)) < 0))
		goto out;
	/* the header at 0 now says "directory at the end" */
	vstd_put_le32(h + 8, vstd_le32(h + 8));
	vstd_put_le64(h + 56, VMDK_GD_AT_END);
	if ((rc = vstd_io_pwrite(e->io, h, sizeof(h), 0)) < 0)
		goto out;
	memcpy(e->hdr, h, sizeof(h));
	e->gd_off = gd_at + VMDK_SECTOR;
	e->rgd_off = 0;
	e->footer = 1;
	e->file_end = gd_at; /* later writes reuse the tail */
	e->stream_dirty = 0;
	rc = 0;
out:
	vstd_free(buf);
	return rc;
}

int vmdk_stream_create(vstd_io *io, uint64_t capacity, const char *desc)
{
	const uint64_t grain = 65536, ngte = 512, overhead = 128;
	uint64_t sectors = (capacity + VMDK_SECTOR - 1) / VMDK_SECTOR;
	uint64_t n_gd = (sectors + grain / VMDK_SECTOR * ngte - 1) / (grain / VMDK_SECTOR * ngte);
	uint64_t gd_bytes = vstd_align_up(n_gd * 4, VMDK_SECTOR);
	uint64_t at = overhead * VMDK_SECTOR;
	uint8_t h[VMDK_SECTOR], m[VMDK_SECTOR];
	uint32_t flags = VMDK4_FLAG_NL_DETECT | VMDK4_FLAG_COMPRESS | VMDK4_FLAG_MARKER;
	int rc;
	if (capacity > ((uint64_t)64 << 40))
		return vstd_err(VSTD_ERANGE, "VMDK stream extent of %" PRIu64 " bytes is too large",
		                capacity);
	if (desc != NULL && strlen(desc) > 20 * VMDK_SECTOR)
		return vstd_err(VSTD_ERANGE, "VMDK descriptor is longer than 20 sectors");
	vmdk_sparse_build_header(h, 3, flags, sectors * VMDK_SECTOR, grain, 1, 20, 0,
	                         VMDK_GD_AT_END, overhead);
	if ((rc = vstd_io_pwrite(io, h, sizeof(h), 0)) < 0)
		return rc;
	if (desc != NULL && (rc = vstd_io_pwrite(io, desc, strlen(desc), VMDK_SECTOR)) < 0)
		return rc;
	put_marker(m, gd_bytes / VMDK_SECTOR, VMDK_MARKER_GD);
	if ((rc = vstd_io_pwrite(io, m, sizeof(m), at)) < 0 ||
	    (rc = vstd_io_write_zeroes(io, at + VMDK_SECTOR, gd_bytes, 0)) < 0)
		return rc;
	vstd_put_le64(h + 56, (at + VMDK_SECTOR) / VMDK_SECTOR);
	at += VMDK_SECTOR + gd_bytes;
	put_marker(m, 1, VMDK_MARKER_FOOTER);
	if ((rc = vstd_io_pwrite(io, m, sizeof(m), at)) < 0 ||
	    (rc = vstd_io_pwrite(io, h, sizeof(h), at + VMDK_SECTOR)) < 0)
		return rc;
	memset(m, 0, sizeof(m));
	return vstd_io_pwrite(io, m, sizeof(m), at + 2 * VMDK_SECTOR);
}

/*
 * Grow a streamOptimized extent to new_len bytes: the directory gets zero
 * entries (no grain table: unallocated, as VMware omits empty tables),
 * the header and footer the new capacity, and the tail metadata is
 * rewritten at once (flush).  The grains stay where they are.
 */
int vmdk_stream_grow(vstd_disk *d, struct vmdk_extent *e, uint64_t new_len)
{
	uint64_t per = e->grain * e->ngte, n_gd = (new_len + per - 1) / per;
	uint32_t *ngd;
	uint32_t **ngt;
	uint8_t *nd;
	int rc;
	if ((rc = vmdk_stream_begin_write(d, e)) < 0 || (rc = commit_pending(d, e)) < 0)
		return rc;
	if (n_gd * 4 > VMDK_MAX_METADATA || new_len / VMDK_SECTOR > ((uint64_t)1 << 37))
		return vstd_err(VSTD_ELIMIT, "%s: %" PRIu64 " bytes is too large for a VMDK extent",
		                d->filename, new_len);
	if (n_gd > e->n_gd) {
		if ((ngd = vstd_realloc_array(e->gd, (size_t)n_gd, 4)) == NULL)
			return vstd_err_code();
		e->gd = ngd;
		if ((ngt = vstd_realloc_array(e->gt, (size_t)n_gd, sizeof(*ngt))) == NULL)
			return vstd_err_code();
		e->gt = ngt;
		if ((nd = vstd_realloc(e->gt_dirty, (size_t)n_gd)) == NULL)
			return vstd_err_code();
		e->gt_dirty = nd;
		for (uint64_t i = e->n_gd; i < n_gd; i++) {
			e->gd[i] = 0;
			e->gt[i] = NULL;
			e->gt_dirty[i] = 0;
		}
		e->n_gd = n_gd;
	}
	e->capacity = new_len;
	vstd_put_le64(e->hdr + 12, new_len / VMDK_SECTOR);
	e->stream_dirty = 1;
	return vmdk_stream_flush(d, e);
}
