/*
 * disk/qcow2/rw.c - the data path: read, write (allocation and
 * copy-on-write), write-zeroes, discard, block status and compressed
 * writes.
 *
 * Writes that span clusters are done as one large write where the host
 * clusters are contiguous (allocation hands out contiguous runs).  A new
 * cluster is written in full (the parts outside the request come from the
 * old contents: backing file, zeroes, a compressed or shared cluster)
 * before its L2 entry changes, and L2 entries reach the file only through
 * the ordered flush of driver.c.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "disk/qcow2/qcow2.h"

static int encrypted(struct qcow2 *s)
{
	return vstd_err(VSTD_ENOTSUP,
	                "%s: the image is encrypted (%s); encrypted qcow2 data is not supported",
	                s->name, s->crypt_method == 1 ? "AES" : "LUKS");
}

int qcow2_read_l1(struct qcow2 *s, vstd_disk *below, const uint64_t *l1, uint32_t l1_size,
                  uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len > 0) {
		struct qcow2_map m;
		int rc = qcow2_map_range(s, l1, l1_size, off, len, &m);
		size_t n;
		if (rc < 0)
			return rc;
		n = (size_t)m.len;
		switch (m.type) {
		case QCOW2_C_NORMAL:
			if (s->crypt_method)
				return encrypted(s);
			if ((rc = vstd_io_pread(s->data_io, p, n, m.host)) < 0)
				return vstd_err_prefix("%s: data cluster at 0x%" PRIx64 ": ",
				                       s->name, m.host);
			break;
		case QCOW2_C_ZERO:
		case QCOW2_C_ZERO_ALLOC: memset(p, 0, n); break;
		case QCOW2_C_UNALLOC:
			if (below != NULL && below->backing != NULL) {
				if ((rc = vstd_disk_read_below(below, off, p, n)) < 0)
					return rc;
			} else {
				memset(p, 0, n);
			}
			break;
		case QCOW2_C_COMPRESSED:
			if (s->crypt_method)
				return encrypted(s);
			if (s->cached_cluster_off != m.host) {
				s->cached_cluster_off = 0;
				if ((rc = qcow2_decompress(s, m.host, s->cluster_buf)) < 0)
					return rc;
				s->cached_cluster_off = m.host;
			}
			memcpy(p, s->cluster_buf + (off & (s->cluster_size - 1)), n);
			break;
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int qcow2_read(vstd_disk *d, uint64_t off, void *buf, size_t len)
{
	struct qcow2 *s = qcow2_of(d);
	if (s->parent != NULL)
		return qcow2_read_l1(s->parent, s->parent_disk, s->view_l1, s->view_l1_size, off,
		                     buf, len);
	return qcow2_read_l1(s, d, s->l1, s->l1_size, off, buf, len);
}

/* The guest view of the whole cluster at goff (zeroes past the disk's end). */
static int read_guest_cluster(vstd_disk *d, uint64_t goff, uint8_t *buf)
{
	struct qcow2 *s = qcow2_of(d);
	uint64_t n = d->size - goff < s->cluster_size ? d->size - goff : s->cluster_size;
	if (n < s->cluster_size)
		memset(buf + n, 0, s->cluster_size - n);
	return qcow2_read(d, goff, buf, (size_t)n);
}

/* Drop the old entry's reference to its host clusters (at the next flush). */
static int release(struct qcow2 *s, uint64_t e)
{
	uint64_t host;
	if (s->data_io != s->io)
		return 0;
	if (e & QCOW2_OFLAG_COMPRESSED) {
		uint64_t off, len, first, last;
		qcow2_compressed_loc(s, e, &off, &len);
		first = (off & ~(uint64_t)511) >> s->cluster_bits;
		last = ((off & ~(uint64_t)511) + ((off & 511) + len) - 1) >> s->cluster_bits;
		return qcow2_free_deferred(s, first << s->cluster_bits, last - first + 1);
	}
	host = e & QCOW2_L2E_OFFSET_MASK;
	if (host == 0)
		return 0;
	return qcow2_free_deferred(s, host, 1);
}

/* A host cluster that may be written as it is. */
static int in_place(const struct qcow2 *s, uint64_t e, uint64_t bm, uint64_t in_cl, uint64_t n)
{
	if ((e & QCOW2_OFLAG_COMPRESSED) || !(e & QCOW2_OFLAG_COPIED))
		return 0;
	/* an impossible offset is never written through (the copy path reads
	 * the old cluster first and reports it) */
	if ((e & QCOW2_L2E_OFFSET_MASK) & (s->cluster_size - 1))
		return 0;
	if (s->ext_l2) {
		unsigned a = (unsigned)(in_cl / s->sc_size),
		         b = (unsigned)((in_cl + n - 1) / s->sc_size);
		uint32_t mask =
		        (uint32_t)((((uint64_t)1 << (b + 1)) - 1) & ~(((uint64_t)1 << a) - 1));
		return ((uint32_t)bm & mask) == mask;
	}
	if (e & QCOW2_OFLAG_ZERO)
		return 0;
	return (e & QCOW2_L2E_OFFSET_MASK) != 0 || s->data_io != s->io;
}

int qcow2_write(vstd_disk *d, uint64_t off, const void *buf, size_t len)
{
	struct qcow2 *s = qcow2_of(d);
	const uint8_t *p = buf;
	uint64_t cs = s->cluster_size;
	int rc;
	if (s->crypt_method)
		return encrypted(s);
	if (!s->bitmaps_marked && (rc = qcow2_before_change(s)) < 0)
		return rc;
	while (len > 0) {
		uint64_t goff = off & ~(cs - 1), in_cl = off - goff, i, e, bm, l2_off, host, k,
		         done;
		uint64_t chunk = cs - in_cl < len ? cs - in_cl : len;
		uint8_t *l2;
		if ((rc = qcow2_l2_for_write(s, off, &l2, &l2_off)) < 0)
			return rc;
		i = (off >> s->cluster_bits) & (s->l2_entries - 1);
		e = qcow2_l2e_get(s, l2, i);
		bm = qcow2_l2e_bitmap(s, l2, i);
		if (in_place(s, e, bm, in_cl, chunk)) {
			host = (e & QCOW2_L2E_OFFSET_MASK);
			done = chunk;
			/* extend over following clusters contiguous on the host */
			while (done < len && i + 1 < s->l2_entries) {
				uint64_t e2 = qcow2_l2e_get(s, l2, i + 1);
				uint64_t n2 = len - done < cs ? len - done : cs;
				if ((e2 & QCOW2_L2E_OFFSET_MASK) != host + in_cl + done ||
				    !in_place(s, e2, qcow2_l2e_bitmap(s, l2, i + 1), 0, n2))
					break;
				done += n2;
				i++;
			}
			if ((rc = vstd_io_pwrite(s->data_io, p, done, host + in_cl)) < 0)
				return rc;
			p += done;
			off += done;
			len -= done;
			continue;
		}
		/* clusters i .. i+k-1 need new host clusters */
		k = 1;
		done = chunk;
		while (done < len && i + k < s->l2_entries && (in_cl + done) % cs == 0) {
			uint64_t e2 = qcow2_l2e_get(s, l2, i + k),
			         n2 = len - done < cs ? len - done : cs;
			if (in_place(s, e2, qcow2_l2e_bitmap(s, l2, i + k), 0, n2))
				break;
			/* a partial last cluster ends the run (it needs copy-on-write) */
			done += n2;
			k++;
			if (n2 < cs)
				break;
		}
		if (s->data_io != s->io) {
			host = goff;
		} else if (s->ext_l2 && k == 1 && (e & QCOW2_OFLAG_COPIED) &&
		           !(e & QCOW2_OFLAG_COMPRESSED) && (e & QCOW2_L2E_OFFSET_MASK) != 0) {
			host = e & QCOW2_L2E_OFFSET_MASK; /* fill in missing subclusters */
		} else if ((rc = qcow2_alloc_clusters(s, k, &host)) < 0) {
			return rc;
		}
		/* the L2 pointer may move while reading old contents: look it up again after */
		{
			uint64_t pos = 0, first_n = chunk;
			/* head */
			if (first_n < cs) {
				if ((rc = read_guest_cluster(d, goff, s->cow_buf)) < 0)
					return rc;
				memcpy(s->cow_buf + in_cl, p, first_n);
				if ((rc = vstd_io_pwrite(s->data_io, s->cow_buf, cs, host)) < 0)
					return rc;
				pos = 1;
			}
			/* full clusters in one write */
			{
				uint64_t full = 0;
				uint64_t src = pos == 1 ? first_n : 0;
				while (pos + full < k && done - src - full * cs >= cs)
					full++;
				if (full > 0 && (rc = vstd_io_pwrite(s->data_io, p + src, full * cs,
				                                     host + pos * cs)) < 0)
					return rc;
				pos += full;
				if (pos < k) {
					/* partial tail */
					uint64_t toff = src + full * cs, tn = done - toff;
					if ((rc = read_guest_cluster(d, goff + pos * cs,
					                             s->cow_buf)) < 0)
						return rc;
					memcpy(s->cow_buf, p + toff, tn);
					if ((rc = vstd_io_pwrite(s->data_io, s->cow_buf, cs,
					                         host + pos * cs)) < 0)
						return rc;
				}
			}
		}
		if ((rc = qcow2_l2_for_write(s, off, &l2, &l2_off)) < 0)
			return rc;
		for (uint64_t j = 0; j < k; j++) {
			uint64_t old = qcow2_l2e_get(s, l2, i + j);
			uint64_t nh = host + j * cs;
			if ((old & QCOW2_L2E_OFFSET_MASK) != nh || (old & QCOW2_OFLAG_COMPRESSED))
				if ((rc = release(s, old)) < 0)
					return rc;
			qcow2_l2e_set(s, l2, i + j, nh | QCOW2_OFLAG_COPIED, 0xffffffffull);
		}
		qcow2_cache_mark_dirty(&s->l2c, l2_off);
		s->meta_dirty = 1;
		p += done;
		off += done;
		len -= done;
	}
	return 0;
}

/* Whole clusters [off, off+n*cs): make them read as zeroes in metadata. */
static int zero_clusters(vstd_disk *d, uint64_t off, uint64_t n, int unmap, int discard)
{
	struct qcow2 *s = qcow2_of(d);
	while (n > 0) {
		uint64_t i = (off >> s->cluster_bits) & (s->l2_entries - 1), l2_off, cnt;
		uint8_t *l2;
		int rc;
		uint64_t l1_index = off >> (s->cluster_bits + s->l2_bits);
		cnt = s->l2_entries - i < n ? s->l2_entries - i : n;
		if (discard && d->backing_name == NULL &&
		    (l1_index >= s->l1_size || (s->l1[l1_index] & QCOW2_L1E_OFFSET_MASK) == 0)) {
			/* nothing allocated and nothing below: already zero */
			off += cnt << s->cluster_bits;
			n -= cnt;
			continue;
		}
		if ((rc = qcow2_l2_for_write(s, off, &l2, &l2_off)) < 0)
			return rc;
		for (uint64_t j = 0; j < cnt; j++) {
			uint64_t e = qcow2_l2e_get(s, l2, i + j), ne, nb;
			uint64_t host = e & QCOW2_L2E_OFFSET_MASK;
			int keep = !unmap && !(e & QCOW2_OFLAG_COMPRESSED) &&
			           (e & QCOW2_OFLAG_COPIED) && host != 0 &&
			           (s->version >= 3 || s->ext_l2);
			if (s->ext_l2) {
				ne = keep ? e : 0;
				nb = (discard && d->backing_name == NULL) ? 0
				                                          : 0xffffffff00000000ull;
			} else {
				ne = keep ? (host | QCOW2_OFLAG_COPIED | QCOW2_OFLAG_ZERO)
				          : (s->version >= 3 ? QCOW2_OFLAG_ZERO : 0);
				if (discard && d->backing_name == NULL)
					ne = 0;
				nb = 0;
			}
			if (!keep && (rc = release(s, e)) < 0)
				return rc;
			qcow2_l2e_set(s, l2, i + j, ne, nb);
		}
		qcow2_cache_mark_dirty(&s->l2c, l2_off);
		s->meta_dirty = 1;
		off += cnt << s->cluster_bits;
		n -= cnt;
	}
	return 0;
}

static int write_zero_data(vstd_disk *d, uint64_t off, uint64_t len)
{
	struct qcow2 *s = qcow2_of(d);
	while (len > 0) {
		uint64_t n = len < s->cluster_size ? len : s->cluster_size;
		int rc = qcow2_write(d, off, s->zero_buf, (size_t)n);
		if (rc < 0)
			return rc;
		off += n;
		len -= n;
	}
	return 0;
}

/* Does [off, off+len) already read as zeroes in this layer with nothing below? */
static int already_zero(vstd_disk *d, uint64_t off, uint64_t len, int *yes)
{
	struct qcow2 *s = qcow2_of(d);
	*yes = 1;
	while (len > 0) {
		struct qcow2_map m;
		int rc = qcow2_map_range(s, s->l1, s->l1_size, off, len, &m);
		if (rc < 0)
			return rc;
		if (!(m.type == QCOW2_C_ZERO || m.type == QCOW2_C_ZERO_ALLOC ||
		      (m.type == QCOW2_C_UNALLOC && d->backing_name == NULL))) {
			*yes = 0;
			return 0;
		}
		off += m.len;
		len -= m.len;
	}
	return 0;
}

static int zero_or_discard(vstd_disk *d, uint64_t off, uint64_t len, unsigned flags, int discard)
{
	struct qcow2 *s = qcow2_of(d);
	uint64_t cs = s->cluster_size;
	int meta_ok = s->data_io == s->io && (s->version >= 3 || d->backing_name == NULL);
	while (len > 0) {
		uint64_t in_cl = off & (cs - 1), chunk = cs - in_cl < len ? cs - in_cl : len;
		int whole = in_cl == 0 && (chunk == cs || off + chunk == d->size);
		int rc, z;
		if (whole && meta_ok) {
			/* as many whole clusters as possible */
			uint64_t n = len / cs, bytes;
			if (n == 0 || off + n * cs > d->size)
				n = 1;
			bytes = n * cs < len ? n * cs : len;
			if ((rc = zero_clusters(d, off, n,
			                        discard || (flags & VSTD_IO_ZERO_MAY_UNMAP),
			                        discard)) < 0)
				return rc;
			off += bytes;
			len -= bytes;
			continue;
		}
		if (!discard) {
			if ((rc = already_zero(d, off, chunk, &z)) < 0)
				return rc;
			if (!z && (rc = write_zero_data(d, off, chunk)) < 0)
				return rc;
		}
		off += chunk;
		len -= chunk;
	}
	return 0;
}

int qcow2_write_zeroes(vstd_disk *d, uint64_t off, uint64_t len, unsigned flags)
{
	struct qcow2 *s = qcow2_of(d);
	int rc;
	if (s->crypt_method)
		return encrypted(s);
	if ((rc = qcow2_before_change(s)) < 0)
		return rc;
	/* with MAY_UNMAP, clusters whose refcount drops to 0 are punched */
	s->free_punch = (flags & VSTD_IO_ZERO_MAY_UNMAP) != 0;
	rc = zero_or_discard(d, off, len, flags, 0);
	s->free_punch = 0;
	return rc;
}

int qcow2_discard(vstd_disk *d, uint64_t off, uint64_t len)
{
	struct qcow2 *s = qcow2_of(d);
	int rc;
	if (s->data_io != s->io)
		return 0;
	if ((rc = qcow2_before_change(s)) < 0)
		return rc;
	s->free_punch = 1;
	rc = zero_or_discard(d, off, len, VSTD_IO_ZERO_MAY_UNMAP, 1);
	s->free_punch = 0;
	return rc;
}

int qcow2_block_status(vstd_disk *d, uint64_t off, uint64_t max_len, vstd_block_status *st)
{
	struct qcow2 *s = qcow2_of(d);
	struct qcow2_map m;
	int rc;
	if (s->parent != NULL) {
		rc = qcow2_map_range(s->parent, s->view_l1, s->view_l1_size, off, max_len, &m);
		d = s->parent_disk;
	} else {
		rc = qcow2_map_range(s, s->l1, s->l1_size, off, max_len, &m);
	}
	if (rc < 0)
		return rc;
	st->length = m.len;
	switch (m.type) {
	case QCOW2_C_NORMAL:
		st->flags = VSTD_BLOCK_DATA | VSTD_BLOCK_ALLOCATED | VSTD_BLOCK_OFFSET_VALID;
		st->host_offset = m.host;
		break;
	case QCOW2_C_ZERO_ALLOC:
		st->flags = VSTD_BLOCK_ZERO | VSTD_BLOCK_ALLOCATED | VSTD_BLOCK_OFFSET_VALID;
		st->host_offset = m.host;
		break;
	case QCOW2_C_ZERO: st->flags = VSTD_BLOCK_ZERO | VSTD_BLOCK_ALLOCATED; break;
	case QCOW2_C_COMPRESSED:
		st->flags = VSTD_BLOCK_DATA | VSTD_BLOCK_ALLOCATED | VSTD_BLOCK_COMPRESSED;
		break;
	case QCOW2_C_UNALLOC: st->flags = d->backing_name == NULL ? VSTD_BLOCK_ZERO : 0; break;
	}
	return 0;
}

int qcow2_write_compressed(vstd_disk *d, uint64_t off, const void *data, size_t len)
{
	struct qcow2 *s = qcow2_of(d);
	uint64_t cs = s->cluster_size, host = 0, avail, l2_off, i, e, nsect;
	uint8_t *l2;
	int rc;
	if (s->data_io != s->io)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: compressed clusters cannot go to an external "
		                "data file",
		                s->name);
	if (s->crypt_method)
		return encrypted(s);
	if ((rc = qcow2_before_change(s)) < 0)
		return rc;
	if ((off & (cs - 1)) || len == 0 || len >= cs)
		return vstd_err(VSTD_EINVAL,
		                "%s: compressed write at 0x%" PRIx64
		                " of %zu bytes: needs a cluster-"
		                "aligned offset and less than a cluster of data",
		                s->name, off, len);
	avail = (s->comp_off & (cs - 1)) ? cs - (s->comp_off & (cs - 1)) : 0;
	if (avail >= len) {
		host = s->comp_off;
		if ((rc = qcow2_refcount_update(s, host & ~(cs - 1), 1, 1)) < 0)
			return rc;
	} else {
		uint64_t extra = (len - avail + cs - 1) / cs, got = 0;
		if (avail > 0) {
			uint64_t next = (s->comp_off & ~(cs - 1)) + cs;
			if ((rc = qcow2_alloc_clusters_at(s, next, extra, &got)) < 0)
				return rc;
			if (got == extra) {
				host = s->comp_off;
				if ((rc = qcow2_refcount_update(s, host & ~(cs - 1), 1, 1)) < 0)
					return rc;
			} else if (got > 0 && (rc = qcow2_refcount_update(s, next, got, -1)) < 0) {
				return rc;
			}
		}
		if (host == 0 && (rc = qcow2_alloc_clusters(s, (len + cs - 1) / cs, &host)) < 0)
			return rc;
	}
	if ((rc = vstd_io_pwrite(s->io, data, len, host)) < 0)
		return rc;
	s->comp_off = host + len;
	nsect = ((host + len - 1) >> 9) - (host >> 9);
	if ((rc = qcow2_l2_for_write(s, off, &l2, &l2_off)) < 0)
		return rc;
	i = (off >> s->cluster_bits) & (s->l2_entries - 1);
	e = qcow2_l2e_get(s, l2, i);
	if ((rc = release(s, e)) < 0)
		return rc;
	/* re-fetch: release may have flushed, the table stays cached */
	if ((rc = qcow2_l2_for_write(s, off, &l2, &l2_off)) < 0)
		return rc;
	qcow2_l2e_set(s, l2, i, QCOW2_OFLAG_COMPRESSED | (nsect << s->csize_shift) | host, 0);
	qcow2_cache_mark_dirty(&s->l2c, l2_off);
	s->meta_dirty = 1;
	return 0;
}
