/*
 * disk/qcow2/l1l2.c - the two-level map from guest offsets to host
 * clusters: the L1 table (in memory, written back by dirty 512-byte
 * blocks) and L2 tables (through the metadata cache), standard and
 * extended (subcluster) entries.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/qcow2/qcow2.h"

void qcow2_l2e_set(const struct qcow2 *s, uint8_t *l2, uint64_t i, uint64_t e, uint64_t bitmap)
{
	uint8_t *p = l2 + i * s->l2_entry_size;
	vstd_put_be64(p, e);
	if (s->ext_l2)
		vstd_put_be64(p + 8, bitmap);
}

void qcow2_compressed_loc(const struct qcow2 *s, uint64_t e, uint64_t *off, uint64_t *len)
{
	uint64_t host = e & (((uint64_t)1 << s->csize_shift) - 1);
	uint64_t nsect = ((e >> s->csize_shift) & s->csize_mask) + 1;
	*off = host;
	*len = nsect * 512 - (host & 511);
}

int qcow2_l1_load(struct qcow2 *s, uint64_t off, uint32_t l1_size, uint64_t file_size,
                  uint64_t **out, const char *what)
{
	uint64_t bytes = (uint64_t)l1_size * 8, *l1;
	uint8_t *raw;
	int rc;
	*out = NULL;
	if (bytes > QCOW2_MAX_L1_BYTES)
		return vstd_err(VSTD_ELIMIT, "%s: %s of %u entries passes the 32 MiB limit",
		                s->name, what, l1_size);
	if (l1_size == 0)
		return 0;
	if (off == 0 || (off & (s->cluster_size - 1)) || !vstd_range_inside(off, bytes, file_size))
		return vstd_err(VSTD_ECORRUPT,
		                "%s: %s at offset 0x%" PRIx64 " (%u entries) is unaligned or past "
		                "the end of the file",
		                s->name, what, off, l1_size);
	l1 = vstd_malloc_array(l1_size, sizeof(uint64_t));
	raw = vstd_malloc(bytes);
	if (l1 == NULL || raw == NULL) {
		vstd_free(l1);
		vstd_free(raw);
		return vstd_err_code();
	}
	if ((rc = vstd_io_pread(s->io, raw, bytes, off)) < 0) {
		vstd_free(l1);
		vstd_free(raw);
		return rc;
	}
	for (uint32_t i = 0; i < l1_size; i++)
		l1[i] = vstd_be64(raw + 8 * (uint64_t)i);
	vstd_free(raw);
	*out = l1;
	return 0;
}

static int l2_table(struct qcow2 *s, uint64_t l1e, uint64_t l1_index, uint8_t **l2)
{
	uint64_t l2_off = l1e & QCOW2_L1E_OFFSET_MASK;
	if (l2_off & (s->cluster_size - 1))
		return vstd_err(VSTD_ECORRUPT,
		                "%s: L1 entry %" PRIu64
		                " points to an L2 table at unaligned offset 0x%" PRIx64,
		                s->name, l1_index, l2_off);
	return qcow2_cache_get(s, &s->l2c, l2_off, 0, l2);
}

/* Classify subcluster/cluster unit `u` (cluster i, subcluster sc). */
static int classify(struct qcow2 *s, const uint8_t *l2, uint64_t i, unsigned sc, uint64_t l2_off,
                    enum qcow2_ctype *type, uint64_t *host)
{
	uint64_t e = qcow2_l2e_get(s, l2, i), off = e & QCOW2_L2E_OFFSET_MASK;
	*host = 0;
	if (e & QCOW2_OFLAG_COMPRESSED) {
		if (s->data_io != s->io)
			return vstd_err(VSTD_ECORRUPT,
			                "%s: compressed cluster in L2 table at 0x%" PRIx64
			                " entry %" PRIu64 " with an external data file",
			                s->name, l2_off, i);
		*type = QCOW2_C_COMPRESSED;
		*host = e & ~QCOW2_OFLAG_COPIED;
		return 0;
	}
	if (off & (s->cluster_size - 1))
		return vstd_err(VSTD_ECORRUPT,
		                "%s: L2 table at 0x%" PRIx64 " entry %" PRIu64
		                " has unaligned cluster offset 0x%" PRIx64,
		                s->name, l2_off, i, off);
	if (s->ext_l2) {
		uint64_t bm = qcow2_l2e_bitmap(s, l2, i);
		uint32_t alloc = (uint32_t)bm, zero = (uint32_t)(bm >> 32);
		if (alloc & zero)
			return vstd_err(VSTD_ECORRUPT,
			                "%s: L2 table at 0x%" PRIx64 " entry %" PRIu64
			                " marks a subcluster both allocated and zero",
			                s->name, l2_off, i);
		if (alloc & (1u << sc)) {
			if (off == 0 && !(s->data_io != s->io && (e & QCOW2_OFLAG_COPIED)))
				return vstd_err(VSTD_ECORRUPT,
				                "%s: L2 table at 0x%" PRIx64 " entry %" PRIu64
				                " has allocated subclusters but no cluster offset",
				                s->name, l2_off, i);
			*type = QCOW2_C_NORMAL;
			*host = off + (uint64_t)sc * s->sc_size;
		} else if (zero & (1u << sc)) {
			*type = QCOW2_C_ZERO;
		} else {
			*type = QCOW2_C_UNALLOC;
		}
		return 0;
	}
	if ((e & QCOW2_OFLAG_ZERO) && s->version >= 3) {
		*type = off ? QCOW2_C_ZERO_ALLOC : QCOW2_C_ZERO;
		*host = off;
		return 0;
	}
	if (off == 0 && !(s->data_io != s->io && (e & QCOW2_OFLAG_COPIED))) {
		*type = QCOW2_C_UNALLOC;
		return 0;
	}
	*type = QCOW2_C_NORMAL;
	*host = off;
	return 0;
}

int qcow2_map_range(struct qcow2 *s, const uint64_t *l1, uint32_t l1_size, uint64_t off,
                    uint64_t max, struct qcow2_map *m)
{
	uint64_t l1_index = off >> (s->cluster_bits + s->l2_bits);
	uint64_t l2_span = s->cluster_size << s->l2_bits;
	uint64_t in_table = l2_span - (off & (l2_span - 1));
	uint64_t unit = s->sc_size, i, len, host, l2_off;
	unsigned unit_bits = s->ext_l2 ? s->cluster_bits - 5 : s->cluster_bits;
	unsigned per = s->ext_l2 ? 32 : 1, sc;
	enum qcow2_ctype type = QCOW2_C_UNALLOC, t2 = QCOW2_C_UNALLOC; /* set by classify() */
	uint8_t *l2;
	int rc;
	if (max > in_table)
		max = in_table;
	if (l1_index >= l1_size || (l1[l1_index] & QCOW2_L1E_OFFSET_MASK) == 0) {
		m->type = QCOW2_C_UNALLOC;
		m->host = 0;
		m->len = max;
		return 0;
	}
	if ((rc = l2_table(s, l1[l1_index], l1_index, &l2)) < 0)
		return rc;
	l2_off = l1[l1_index] & QCOW2_L1E_OFFSET_MASK;
	i = (off >> s->cluster_bits) & (s->l2_entries - 1);
	sc = (unsigned)((off >> unit_bits) & (per - 1));
	if ((rc = classify(s, l2, i, sc, l2_off, &type, &host)) < 0)
		return rc;
	m->type = type;
	if (type == QCOW2_C_COMPRESSED) {
		m->host = host;
		len = s->cluster_size - (off & (s->cluster_size - 1));
		m->len = len < max ? len : max;
		return 0;
	}
	m->host = host ? host + (off & (unit - 1)) : 0;
	len = unit - (off & (unit - 1));
	/* extend over following units of the same kind */
	while (len < max) {
		uint64_t h2;
		if (++sc == per) {
			sc = 0;
			i++;
		}
		if ((rc = classify(s, l2, i, sc, l2_off, &t2, &h2)) < 0)
			return rc;
		if (t2 != type)
			break;
		if ((type == QCOW2_C_NORMAL || type == QCOW2_C_ZERO_ALLOC) && h2 != m->host + len)
			break;
		len += unit;
	}
	m->len = len < max ? len : max;
	return 0;
}

void qcow2_l1_set(struct qcow2 *s, uint64_t idx, uint64_t val)
{
	s->l1[idx] = val;
	s->l1_dirty[(idx * 8) / 512] = 1;
	s->meta_dirty = 1;
}

int qcow2_l1_writeback(struct qcow2 *s)
{
	uint8_t buf[512];
	uint64_t bytes = (uint64_t)s->l1_size * 8;
	int written = 0;
	for (size_t b = 0; b < s->l1_dirty_n; b++) {
		uint64_t start = (uint64_t)b * 512, n;
		int rc;
		if (!s->l1_dirty[b])
			continue;
		n = bytes - start < 512 ? bytes - start : 512;
		for (uint64_t j = 0; j < n / 8; j++)
			vstd_put_be64(buf + 8 * j, s->l1[start / 8 + j]);
		if ((rc = vstd_io_pwrite(s->io, buf, n, s->l1_off + start)) < 0)
			return rc;
		s->l1_dirty[b] = 0;
		written++;
	}
	return written;
}

int qcow2_l2_for_write(struct qcow2 *s, uint64_t off, uint8_t **l2, uint64_t *l2_off_out)
{
	uint64_t l1_index = off >> (s->cluster_bits + s->l2_bits), e, old, nw;
	uint8_t *t;
	int rc;
	if (l1_index >= s->l1_size)
		return vstd_err(VSTD_ERANGE, "%s: offset 0x%" PRIx64 " is past the L1 table",
		                s->name, off);
	e = s->l1[l1_index];
	old = e & QCOW2_L1E_OFFSET_MASK;
	if (old != 0 && (e & QCOW2_OFLAG_COPIED)) {
		if ((rc = l2_table(s, e, l1_index, l2)) < 0)
			return rc;
		*l2_off_out = old;
		return 0;
	}
	if ((rc = qcow2_alloc_clusters(s, 1, &nw)) < 0)
		return rc;
	if (old != 0) {
		/* shared with a snapshot: copy it */
		uint8_t *src;
		if ((rc = l2_table(s, e, l1_index, &src)) < 0)
			return rc;
		memcpy(s->cluster_buf, src, s->cluster_size);
		s->cached_cluster_off = 0;
		if ((rc = qcow2_cache_get(s, &s->l2c, nw, 1, &t)) < 0)
			return rc;
		memcpy(t, s->cluster_buf, s->cluster_size);
		if ((rc = qcow2_free_deferred(s, old, 1)) < 0)
			return rc;
	} else if ((rc = qcow2_cache_get(s, &s->l2c, nw, 1, &t)) < 0) {
		return rc;
	}
	qcow2_cache_mark_dirty(&s->l2c, nw);
	qcow2_l1_set(s, l1_index, nw | QCOW2_OFLAG_COPIED);
	*l2 = t;
	*l2_off_out = nw;
	return 0;
}

int qcow2_l1_grow(struct qcow2 *s, uint64_t min_size)
{
	uint64_t new_size = min_size, bytes, clusters, nw, *l1;
	uint8_t *dirty, *buf, hdr[12];
	int rc;
	if (min_size <= s->l1_size)
		return 0;
	bytes = new_size * 8;
	if (bytes > QCOW2_MAX_L1_BYTES)
		return vstd_err(VSTD_ELIMIT, "%s: L1 table would pass 32 MiB", s->name);
	clusters = qcow2_size_to_clusters(s, bytes);
	l1 = vstd_calloc(new_size, sizeof(uint64_t));
	dirty = vstd_calloc((bytes + 511) / 512, 1);
	buf = vstd_calloc(clusters, s->cluster_size);
	if (l1 == NULL || dirty == NULL || buf == NULL) {
		vstd_free(l1);
		vstd_free(dirty);
		vstd_free(buf);
		return vstd_err_code();
	}
	memcpy(l1, s->l1, (size_t)s->l1_size * 8);
	for (uint64_t i = 0; i < new_size; i++)
		vstd_put_be64(buf + 8 * i, l1[i]);
	/* everything the new table points to must be on disk first */
	if ((rc = qcow2_flush_metadata(s)) < 0 ||
	    (rc = qcow2_alloc_clusters(s, clusters, &nw)) < 0 ||
	    (rc = qcow2_flush_metadata(s)) < 0 ||
	    (rc = vstd_io_pwrite(s->io, buf, clusters * s->cluster_size, nw)) < 0 ||
	    (rc = vstd_io_flush(s->io)) < 0)
		goto fail;
	vstd_put_be32(hdr, (uint32_t)new_size);
	vstd_put_be64(hdr + 4, nw);
	if ((rc = vstd_io_pwrite(s->io, hdr, 12, 36)) < 0 || (rc = vstd_io_flush(s->io)) < 0)
		goto fail;
	if (s->l1_size > 0 &&
	    (rc = qcow2_free_deferred(s, s->l1_off,
	                              qcow2_size_to_clusters(s, (uint64_t)s->l1_size * 8))) < 0)
		goto fail;
	vstd_free(s->l1);
	vstd_free(s->l1_dirty);
	s->l1 = l1;
	s->l1_dirty = dirty;
	s->l1_dirty_n = (bytes + 511) / 512;
	s->l1_size = (uint32_t)new_size;
	s->l1_off = nw;
	vstd_free(buf);
	return 0;
fail:
	vstd_free(l1);
	vstd_free(dirty);
	vstd_free(buf);
	return rc;
}
