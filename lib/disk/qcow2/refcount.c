/*
 * disk/qcow2/refcount.c - refcount table and blocks; allocating and freeing
 * clusters.
 *
 * Crash-safety rules followed here (with the flush sequence of driver.c):
 *  - a refcount increase reaches the file before anything that points to
 *    the cluster (refcount blocks are flushed before L2 tables and L1);
 *  - a refcount decrease is deferred (qcow2_free_deferred) until the
 *    reference to the cluster is gone from the file, so a crash in between
 *    leaves a leak, never a cluster in use with refcount 0;
 *  - a new refcount block is written before the table entry naming it; a
 *    grown refcount table is written before the header names it.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/qcow2/qcow2.h"

static uint64_t rb_get(const struct qcow2 *s, const uint8_t *p, uint64_t i)
{
	switch (s->refcount_order) {
	case 0: return (p[i / 8] >> (i % 8)) & 1;
	case 1: return (p[i / 4] >> (2 * (i % 4))) & 3;
	case 2: return (p[i / 2] >> (4 * (i % 2))) & 15;
	case 3: return p[i];
	case 4: return vstd_be16(p + 2 * i);
	case 5: return vstd_be32(p + 4 * i);
	default: return vstd_be64(p + 8 * i);
	}
}

static void rb_set(const struct qcow2 *s, uint8_t *p, uint64_t i, uint64_t v)
{
	unsigned shift;
	switch (s->refcount_order) {
	case 0:
	case 1:
	case 2: {
		unsigned per = 8u >> s->refcount_order;
		uint8_t mask = (uint8_t)((1u << s->refcount_bits) - 1);
		shift = (unsigned)(i % per) * s->refcount_bits;
		p[i / per] = (uint8_t)((p[i / per] & ~(mask << shift)) | ((v & mask) << shift));
		break;
	}
	case 3: p[i] = (uint8_t)v; break;
	case 4: vstd_put_be16(p + 2 * i, (uint16_t)v); break;
	case 5: vstd_put_be32(p + 4 * i, (uint32_t)v); break;
	default: vstd_put_be64(p + 8 * i, v);
	}
}

int qcow2_refcount_open(struct qcow2 *s, uint64_t file_size)
{
	uint64_t bytes = (uint64_t)s->rt_clusters << s->cluster_bits;
	uint8_t *raw = vstd_malloc(bytes);
	size_t got = 0;
	int rc;
	(void)file_size;
	if (raw == NULL)
		return vstd_err_code();
	if ((rc = vstd_io_pread_partial(s->io, raw, bytes, s->rt_off, &got)) < 0) {
		vstd_free(raw);
		return rc;
	}
	memset(raw + got, 0, bytes - got);
	s->rt_entries = bytes / 8;
	s->rt = vstd_malloc_array(s->rt_entries, sizeof(uint64_t));
	s->rt_dirty = vstd_calloc(s->rt_clusters, 1);
	if (s->rt == NULL || s->rt_dirty == NULL) {
		vstd_free(raw);
		return vstd_err_code();
	}
	for (uint64_t i = 0; i < s->rt_entries; i++)
		s->rt[i] = vstd_be64(raw + 8 * i);
	vstd_free(raw);
	return 0;
}

/* The refcount block covering cluster index `cl`: *p NULL when none. */
static int get_block(struct qcow2 *s, uint64_t cl, uint8_t **p, uint64_t *rb_off)
{
	uint64_t idx = cl >> s->rb_bits, off;
	*p = NULL;
	*rb_off = 0;
	if (idx >= s->rt_entries)
		return 0;
	off = s->rt[idx] & QCOW2_REFT_OFFSET_MASK;
	if (off == 0)
		return 0;
	if (off & (s->cluster_size - 1))
		return vstd_err(VSTD_ECORRUPT,
		                "%s: refcount table entry %" PRIu64
		                " points to unaligned offset 0x%" PRIx64,
		                s->name, idx, off);
	*rb_off = off;
	return qcow2_cache_get(s, &s->rbc, off, 0, p);
}

int qcow2_refcount_get(struct qcow2 *s, uint64_t cl, uint64_t *rc_out)
{
	uint8_t *p;
	uint64_t rb_off;
	int rc = get_block(s, cl, &p, &rb_off);
	if (rc < 0)
		return rc;
	*rc_out = p != NULL ? rb_get(s, p, cl & (s->rb_entries - 1)) : 0;
	return 0;
}

static void rt_set(struct qcow2 *s, uint64_t idx, uint64_t val)
{
	s->rt[idx] = val;
	s->rt_dirty[(idx * 8) >> s->cluster_bits] = 1;
	s->meta_dirty = 1;
}

int qcow2_rt_writeback(struct qcow2 *s)
{
	uint64_t per = s->cluster_size / 8;
	uint8_t *buf = NULL;
	int n = 0;
	for (uint32_t c = 0; c < s->rt_clusters; c++) {
		int rc;
		if (!s->rt_dirty[c])
			continue;
		if (buf == NULL && (buf = vstd_malloc(s->cluster_size)) == NULL)
			return vstd_err_code();
		for (uint64_t i = 0; i < per; i++)
			vstd_put_be64(buf + 8 * i, s->rt[c * per + i]);
		rc = vstd_io_pwrite(s->io, buf, s->cluster_size, s->rt_off + c * s->cluster_size);
		if (rc < 0) {
			vstd_free(buf);
			return rc;
		}
		s->rt_dirty[c] = 0;
		n++;
	}
	vstd_free(buf);
	return n;
}

static void forget_cluster(struct qcow2 *s, uint64_t cl)
{
	uint64_t off = cl << s->cluster_bits;
	qcow2_cache_discard(&s->l2c, off);
	qcow2_cache_discard(&s->rbc, off);
	s->cached_cluster_off = 0;
	if (cl < s->free_hint)
		s->free_hint = cl;
}

/* Give freed clusters' space back to the host file (qemu's discard
 * pass-through).  A hint: failures are ignored. */
static void punch(struct qcow2 *s, uint64_t first, uint64_t n)
{
	if (n > 0)
		(void)vstd_io_discard(s->io, first << s->cluster_bits, n << s->cluster_bits);
}

int qcow2_refcount_update(struct qcow2 *s, uint64_t off, uint64_t n, int64_t delta)
{
	uint64_t cl = off >> s->cluster_bits, run = 0, run_start = 0;
	for (uint64_t i = 0; i < n; i++, cl++) {
		uint8_t *p;
		uint64_t rb_off, old, nv, idx;
		int rc = get_block(s, cl, &p, &rb_off);
		if (rc < 0)
			return rc;
		if (p == NULL)
			return vstd_err(VSTD_ECORRUPT,
			                "%s: no refcount block covers cluster at 0x%" PRIx64
			                " (refcount table entry %" PRIu64 ")",
			                s->name, cl << s->cluster_bits, cl >> s->rb_bits);
		idx = cl & (s->rb_entries - 1);
		old = rb_get(s, p, idx);
		if (delta < 0 && old < (uint64_t)-delta)
			return vstd_err(VSTD_ECORRUPT,
			                "%s: refcount of cluster at 0x%" PRIx64
			                " would drop below zero (refcount block at 0x%" PRIx64 ")",
			                s->name, cl << s->cluster_bits, rb_off);
		if (delta > 0 && s->refcount_max - old < (uint64_t)delta)
			return vstd_err(VSTD_ERANGE,
			                "%s: refcount of cluster at 0x%" PRIx64
			                " would overflow %u-bit refcounts",
			                s->name, cl << s->cluster_bits, s->refcount_bits);
		nv = old + (uint64_t)delta;
		rb_set(s, p, idx, nv);
		qcow2_cache_mark_dirty(&s->rbc, rb_off);
		s->meta_dirty = 1;
		if (nv == 0) {
			forget_cluster(s, cl);
			if (s->free_punch && delta < 0) {
				if (run > 0 && run_start + run != cl) {
					punch(s, run_start, run);
					run = 0;
				}
				if (run == 0)
					run_start = cl;
				run++;
			}
		}
	}
	punch(s, run_start, run);
	return 0;
}

int qcow2_image_end(struct qcow2 *s, uint64_t *end)
{
	for (uint64_t b = s->rt_entries; b-- > 0;) {
		uint8_t *p;
		uint64_t rb_off;
		int rc;
		if ((s->rt[b] & QCOW2_REFT_OFFSET_MASK) == 0)
			continue;
		if ((rc = get_block(s, b << s->rb_bits, &p, &rb_off)) < 0)
			return rc;
		for (uint64_t i = s->rb_entries; i-- > 0;) {
			if (rb_get(s, p, i) != 0) {
				*end = ((b << s->rb_bits) + i + 1) << s->cluster_bits;
				return 0;
			}
		}
	}
	*end = 0;
	return 0;
}

/* Grow the refcount table so that block index `need` has an entry. */
static int grow_table(struct qcow2 *s, uint64_t need)
{
	uint64_t per_cluster = s->cluster_size / 8, new_entries, new_clusters, t, k = 0, end;
	uint64_t file_size, *new_rt = NULL, old_off = s->rt_off, old_clusters = s->rt_clusters;
	uint8_t *buf = NULL, hdr[12];
	int rc;
	new_entries = s->rt_entries * 2;
	if (new_entries < need + 1)
		new_entries = need + 1;
	if ((rc = qcow2_image_end(s, &end)) < 0 || (rc = vstd_io_size(s->io, &file_size)) < 0)
		return rc;
	if (end < qcow2_align(s, file_size))
		end = qcow2_align(s, file_size);
	t = end >> s->cluster_bits;
	for (;;) {
		uint64_t missing = 0, last;
		new_clusters = (new_entries + per_cluster - 1) / per_cluster;
		if ((new_clusters << s->cluster_bits) > QCOW2_MAX_REFTABLE_BYTES)
			return vstd_err(VSTD_ELIMIT, "%s: the refcount table would pass 8 MiB",
			                s->name);
		/* blocks needed to describe [t, t + new_clusters + k) */
		for (uint64_t b = t >> s->rb_bits; b <= (t + new_clusters + k - 1) >> s->rb_bits;
		     b++)
			if (b >= s->rt_entries || (s->rt[b] & QCOW2_REFT_OFFSET_MASK) == 0)
				missing++;
		last = (t + new_clusters + missing - 1) >> s->rb_bits;
		if (missing == k && last < new_entries)
			break;
		if (missing != k)
			k = missing;
		if (last >= new_entries)
			new_entries = last + 1;
	}
	new_entries = new_clusters * per_cluster;
	new_rt = vstd_calloc(new_entries, sizeof(uint64_t));
	buf = vstd_malloc(s->cluster_size);
	if (new_rt == NULL || buf == NULL) {
		rc = vstd_err_code();
		goto out;
	}
	memcpy(new_rt, s->rt, s->rt_entries * sizeof(uint64_t));
	{
		/* new refcount blocks at t + new_clusters + j */
		uint64_t j = 0, first = t, last = t + new_clusters + k; /* [first, last) used */
		for (uint64_t b = first >> s->rb_bits; b <= (last - 1) >> s->rb_bits; b++) {
			uint64_t lo = b << s->rb_bits, hi = lo + s->rb_entries;
			if (b < s->rt_entries && (s->rt[b] & QCOW2_REFT_OFFSET_MASK) != 0) {
				/* existing block: count the new clusters in it */
				uint64_t a = first > lo ? first : lo, z = last < hi ? last : hi;
				if ((rc = qcow2_refcount_update(s, a << s->cluster_bits, z - a,
				                                1)) < 0)
					goto out;
				continue;
			}
			memset(buf, 0, s->cluster_size);
			for (uint64_t c = first > lo ? first : lo; c < (last < hi ? last : hi); c++)
				rb_set(s, buf, c - lo, 1);
			new_rt[b] = (t + new_clusters + j) << s->cluster_bits;
			if ((rc = vstd_io_pwrite(s->io, buf, s->cluster_size, new_rt[b])) < 0)
				goto out;
			j++;
		}
	}
	/* refcount blocks first, then the table, then the header */
	if ((rc = qcow2_cache_writeback(s, &s->rbc)) < 0 || (rc = vstd_io_flush(s->io)) < 0)
		goto out;
	for (uint64_t c = 0; c < new_clusters; c++) {
		for (uint64_t i = 0; i < per_cluster; i++)
			vstd_put_be64(buf + 8 * i, new_rt[c * per_cluster + i]);
		if ((rc = vstd_io_pwrite(s->io, buf, s->cluster_size, (t + c) << s->cluster_bits)) <
		    0)
			goto out;
	}
	if ((rc = vstd_io_flush(s->io)) < 0)
		goto out;
	vstd_put_be64(hdr, t << s->cluster_bits);
	vstd_put_be32(hdr + 8, (uint32_t)new_clusters);
	if ((rc = vstd_io_pwrite(s->io, hdr, 12, 48)) < 0 || (rc = vstd_io_flush(s->io)) < 0)
		goto out;
	{
		uint8_t *nd = vstd_calloc(new_clusters, 1);
		if (nd == NULL) {
			rc = vstd_err_code();
			goto out;
		}
		vstd_free(s->rt_dirty);
		s->rt_dirty = nd;
	}
	vstd_free(s->rt);
	s->rt = new_rt;
	new_rt = NULL;
	s->rt_entries = new_entries;
	s->rt_off = t << s->cluster_bits;
	s->rt_clusters = (uint32_t)new_clusters;
	/* nothing points to the old table any more */
	rc = qcow2_refcount_update(s, old_off, old_clusters, -1);
out:
	vstd_free(new_rt);
	vstd_free(buf);
	return rc;
}

/* A new, empty refcount block for block index b, stored at cluster `at`. */
static int new_block(struct qcow2 *s, uint64_t b, uint64_t at)
{
	uint8_t *p;
	uint64_t off = at << s->cluster_bits;
	int rc = qcow2_cache_get(s, &s->rbc, off, 1, &p);
	if (rc < 0)
		return rc;
	qcow2_cache_mark_dirty(&s->rbc, off);
	rt_set(s, b, off);
	return 0;
}

static int block_missing(const struct qcow2 *s, uint64_t b)
{
	return b >= s->rt_entries || (s->rt[b] & QCOW2_REFT_OFFSET_MASK) == 0;
}

/* Missing refcount blocks covering [start, start+len). */
static uint64_t count_missing(const struct qcow2 *s, uint64_t start, uint64_t len)
{
	uint64_t m = 0;
	for (uint64_t b = start >> s->rb_bits; b <= (start + len - 1) >> s->rb_bits; b++)
		m += block_missing(s, b);
	return m;
}

/*
 * Allocation: find `n + m` free clusters, where m is the number of refcount
 * blocks that do not exist yet for that range; the new blocks go first (in
 * the run, so the data stays contiguous), then the data clusters.
 */
int qcow2_alloc_clusters(struct qcow2 *s, uint64_t n, uint64_t *off_out)
{
	uint64_t m = 0;
	if (n == 0)
		return vstd_err(VSTD_EINVAL, "%s: allocation of zero clusters", s->name);
	for (;;) {
		uint64_t c = s->free_hint, run = 0, start = c, want = n + m, m2, last;
		int rc;
		while (run < want) {
			uint64_t v;
			if ((start + want) > (QCOW2_MAX_SIZE >> s->cluster_bits))
				return vstd_err(VSTD_ELIMIT, "%s: image file would pass 2^56 bytes",
				                s->name);
			if (block_missing(s, c >> s->rb_bits)) {
				/* a whole block without refcounts: free */
				uint64_t next = ((c >> s->rb_bits) + 1) << s->rb_bits;
				run += next - c;
				c = next;
				continue;
			}
			if ((rc = qcow2_refcount_get(s, c, &v)) < 0)
				return rc;
			if (v != 0) {
				if (c == s->free_hint && run == 0)
					s->free_hint = c + 1;
				run = 0;
				start = c + 1;
			} else {
				run++;
			}
			c++;
		}
		m2 = 0;
		for (;;) {
			uint64_t x = count_missing(s, start, n + m2);
			if (x == m2)
				break;
			m2 = x;
		}
		if (m2 > m) {
			m = m2;
			continue;
		}
		last = (start + n + m2 - 1) >> s->rb_bits;
		if (last >= s->rt_entries) {
			if ((rc = grow_table(s, last)) < 0)
				return rc;
			continue;
		}
		if (m2 > 0) {
			uint64_t j = 0;
			for (uint64_t b = start >> s->rb_bits; b <= last; b++)
				if (block_missing(s, b) && (rc = new_block(s, b, start + j++)) < 0)
					return rc;
			if ((rc = qcow2_refcount_update(s, start << s->cluster_bits, m2, 1)) < 0)
				return rc;
		}
		if ((rc = qcow2_refcount_update(s, (start + m2) << s->cluster_bits, n, 1)) < 0)
			return rc;
		if (start == s->free_hint)
			s->free_hint = start + m2 + n;
		*off_out = (start + m2) << s->cluster_bits;
		return 0;
	}
}

int qcow2_alloc_clusters_at(struct qcow2 *s, uint64_t off, uint64_t n, uint64_t *got)
{
	uint64_t cl = off >> s->cluster_bits, i;
	int rc;
	for (i = 0; i < n; i++) {
		uint64_t v, b = (cl + i) >> s->rb_bits;
		if (b >= s->rt_entries || (s->rt[b] & QCOW2_REFT_OFFSET_MASK) == 0)
			break;
		if ((rc = qcow2_refcount_get(s, cl + i, &v)) < 0)
			return rc;
		if (v != 0)
			break;
	}
	*got = i;
	if (i == 0)
		return 0;
	return qcow2_refcount_update(s, off, i, 1);
}

int qcow2_free_deferred(struct qcow2 *s, uint64_t off, uint64_t n)
{
	int rc;
	if (n == 0)
		return 0;
	if (s->n_pending > 0) {
		struct qcow2_extent *l = &s->pending[s->n_pending - 1];
		if (l->off + (l->n << s->cluster_bits) == off && l->punch == s->free_punch) {
			l->n += n;
			return 0;
		}
	}
	if (s->n_pending >= QCOW2_MAX_PENDING_FREES && (rc = qcow2_flush_metadata(s)) < 0)
		return rc;
	if (s->pending == NULL) {
		s->pending = vstd_malloc_array(QCOW2_MAX_PENDING_FREES, sizeof(*s->pending));
		if (s->pending == NULL)
			return vstd_err_code();
	}
	s->pending[s->n_pending].off = off;
	s->pending[s->n_pending].n = n;
	s->pending[s->n_pending].punch = s->free_punch;
	s->n_pending++;
	s->meta_dirty = 1;
	return 0;
}

int qcow2_apply_pending_frees(struct qcow2 *s)
{
	int rc = 0, saved = s->free_punch;
	while (s->n_pending > 0 && rc == 0) {
		struct qcow2_extent e = s->pending[--s->n_pending];
		s->free_punch = e.punch;
		rc = qcow2_refcount_update(s, e.off, e.n, -1);
	}
	s->free_punch = saved;
	return rc;
}
