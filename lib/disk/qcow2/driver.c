/*
 * disk/qcow2/driver.c - opening and closing qcow2 images, the ordered
 * metadata flush, information, resizing and the driver table.
 */
#include <json-c/json.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "disk/disk_internal.h"
#include "disk/qcow2/qcow2.h"

#define DEFAULT_L2_CACHE ((uint64_t)128 << 20) /* a 1 TiB image's L2 at 64 KiB clusters */

static int qcow2_probe(const uint8_t *head, size_t head_len, uint64_t file_size, const char *name)
{
	(void)file_size;
	(void)name;
	/* any version: open() then names the version it cannot read */
	if (head_len >= 8 && vstd_be32(head) == QCOW2_MAGIC && vstd_be32(head + 4) >= 2)
		return 100;
	return 0;
}

/*
 * The flush sequence (each step made durable before the next):
 *   1. refcount blocks          (increases reach the file first)
 *   2. refcount table entries   (naming the blocks written in 1)
 *   3. L2 tables                (pointing at clusters counted in 1-2)
 *   4. L1 entries               (pointing at tables written in 3)
 *   5. deferred refcount decreases, now that no reference remains.
 *
 * With lazy refcounts (compatible bit 0) the image is first marked dirty
 * (incompatible bit 0, durable before any table is written); then steps 1-2
 * are skipped unless the refcount table changed (new refcount blocks must
 * exist on disk so that a rebuild after a crash has somewhere to count), so
 * a flush costs the L2/L1 writes only.  The refcount blocks reach the file
 * when the image is marked clean (close, amend, or a cache eviction).
 */
static int rt_is_dirty(const struct qcow2 *s)
{
	for (uint32_t c = 0; c < s->rt_clusters; c++)
		if (s->rt_dirty[c])
			return 1;
	return 0;
}

static int flush_sequence(struct qcow2 *s, int full)
{
	int rc, n;
	if (!s->writable || !s->meta_dirty)
		return 0;
	if (!full && !(s->incompat & QCOW2_INCOMPAT_DIRTY)) {
		s->incompat |= QCOW2_INCOMPAT_DIRTY;
		if ((rc = qcow2_header_write_incompat(s)) < 0 || (rc = vstd_io_flush(s->io)) < 0)
			return rc;
	}
	if (full || rt_is_dirty(s)) {
		if ((n = qcow2_cache_writeback(s, &s->rbc)) < 0)
			return n;
		if (n > 0 && (rc = vstd_io_flush(s->io)) < 0)
			return rc;
		if ((n = qcow2_rt_writeback(s)) < 0)
			return n;
		if (n > 0 && (rc = vstd_io_flush(s->io)) < 0)
			return rc;
	}
	if (s->data_io != s->io && (rc = vstd_io_flush(s->data_io)) < 0)
		return rc;
	if ((n = qcow2_cache_writeback(s, &s->l2c)) < 0)
		return n;
	if (n > 0 && (rc = vstd_io_flush(s->io)) < 0)
		return rc;
	if ((n = qcow2_l1_writeback(s)) < 0)
		return n;
	if (n > 0 && (rc = vstd_io_flush(s->io)) < 0)
		return rc;
	if (s->n_pending > 0) {
		if ((rc = qcow2_apply_pending_frees(s)) < 0)
			return rc;
		if (full && (n = qcow2_cache_writeback(s, &s->rbc)) < 0)
			return n;
	}
	s->meta_dirty = 0;
	return 0;
}

int qcow2_flush_metadata(struct qcow2 *s)
{
	return flush_sequence(s, !s->lazy);
}

int qcow2_mark_clean(struct qcow2 *s)
{
	int rc;
	if (!s->writable)
		return 0;
	if (s->lazy || (s->incompat & QCOW2_INCOMPAT_DIRTY))
		s->meta_dirty = 1; /* refcount blocks may be waiting in the cache */
	if ((rc = flush_sequence(s, 1)) < 0)
		return rc;
	if (!(s->incompat & QCOW2_INCOMPAT_DIRTY) || s->keep_dirty)
		return 0;
	if ((rc = vstd_io_flush(s->io)) < 0)
		return rc;
	s->incompat &= ~QCOW2_INCOMPAT_DIRTY;
	if ((rc = qcow2_header_write_incompat(s)) < 0)
		return rc;
	return vstd_io_flush(s->io);
}

int qcow2_mark_corrupt(struct qcow2 *s)
{
	if (!s->writable || s->version < 3)
		return 0;
	s->incompat |= QCOW2_INCOMPAT_CORRUPT;
	return qcow2_header_write_incompat(s);
}

static int qcow2_flush(vstd_disk *d)
{
	struct qcow2 *s = qcow2_of(d);
	int rc = qcow2_flush_metadata(s);
	if (rc == 0 && s->data_io != s->io)
		rc = vstd_io_flush(s->data_io);
	if (rc == 0)
		rc = vstd_io_flush(s->io);
	return rc;
}

static void qcow2_free_state(struct qcow2 *s)
{
	if (s == NULL)
		return;
	qcow2_cache_free(&s->l2c);
	qcow2_cache_free(&s->rbc);
	if (s->data_io != NULL && s->data_io != s->io)
		vstd_io_close(s->data_io);
	qcow2_snapshots_free(s);
	qcow2_header_free(s);
	vstd_free(s->l1);
	vstd_free(s->l1_dirty);
	vstd_free(s->rt);
	vstd_free(s->rt_dirty);
	vstd_free(s->pending);
	vstd_free(s->cbuf);
	vstd_free(s->cluster_buf);
	vstd_free(s->cow_buf);
	vstd_free(s->zero_buf);
	vstd_free(s);
}

static void qcow2_close(vstd_disk *d)
{
	struct qcow2 *s = qcow2_of(d);
	if (s == NULL)
		return;
	if (s->parent != NULL) {
		vstd_free(s->view_l1);
		vstd_free(s);
		d->priv = NULL;
		return;
	}
	if (s->writable && qcow2_mark_clean(s) < 0)
		vstd_warn("qcow2", "%s: writing metadata at close failed: %s", s->name,
		          vstd_error_last()->message);
	qcow2_free_state(s);
	d->priv = NULL;
}

static int open_data_file(struct qcow2 *s, vstd_disk *d)
{
	char *path;
	int rc;
	/* an image held in memory (fuzzers, tests) never opens files by name */
	if (strcmp(vstd_io_kind(d->io), "file") != 0)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: the image needs its external data file '%s', which is not "
		                "opened for a %s image",
		                s->name, s->data_file_name, vstd_io_kind(d->io));
	path = vstd_disk_resolve_backing(d->filename, s->data_file_name);
	if (path == NULL)
		return vstd_err_code();
	rc = vstd_io_file_open(&s->data_io, path,
	                       VSTD_IO_READ | (s->writable ? VSTD_IO_WRITE : 0) |
	                               ((d->flags & VSTD_DISK_DIRECT) ? VSTD_IO_DIRECT : 0));
	if (rc < 0) {
		s->data_io = s->io;
		vstd_err_prefix("%s: external data file '%s' (resolved to '%s'): ", s->name,
		                s->data_file_name, path);
	}
	vstd_free(path);
	return rc;
}

static int setup_buffers(struct qcow2 *s, uint64_t cache_size)
{
	uint64_t l2_max, rb_max;
	int rc;
	if (cache_size == 0) {
		uint64_t need = (uint64_t)s->l1_size + 1;
		l2_max = DEFAULT_L2_CACHE >> s->cluster_bits;
		if (l2_max > need)
			l2_max = need;
	} else {
		l2_max = cache_size >> s->cluster_bits;
	}
	if (l2_max < 16)
		l2_max = 16;
	if (l2_max > 1u << 20)
		l2_max = 1u << 20;
	rb_max = l2_max / 4 < 16 ? 16 : l2_max / 4;
	if ((rc = qcow2_cache_init(&s->l2c, (unsigned)l2_max, s->cluster_size, "L2 table")) < 0 ||
	    (rc = qcow2_cache_init(&s->rbc, (unsigned)rb_max, s->cluster_size, "refcount block")) <
	            0)
		return rc;
	s->cbuf = vstd_malloc(2 * s->cluster_size + 512);
	s->cluster_buf = vstd_malloc(s->cluster_size);
	s->cow_buf = vstd_malloc(s->cluster_size);
	s->zero_buf = vstd_calloc(1, s->cluster_size);
	if (s->cbuf == NULL || s->cluster_buf == NULL || s->cow_buf == NULL || s->zero_buf == NULL)
		return vstd_err_code();
	return 0;
}

static int qcow2_open(vstd_disk *d)
{
	struct qcow2 *s = vstd_calloc(1, sizeof(*s));
	uint64_t file_size;
	int rc;
	if (s == NULL)
		return vstd_err_code();
	s->d = d;
	s->name = d->filename;
	s->io = d->io;
	s->data_io = d->io;
	s->writable = (d->flags & VSTD_DISK_RDWR) != 0;
	if ((rc = vstd_io_size(d->io, &file_size)) < 0 ||
	    (rc = qcow2_header_read(s, d->io, file_size)) < 0)
		goto fail;
	if ((s->incompat & QCOW2_INCOMPAT_CORRUPT) && s->writable) {
		rc = vstd_err(VSTD_ECORRUPT,
		              "%s: the image is marked corrupt (incompatible feature bit 1); it "
		              "can only be opened read-only (repair it with check -r all)",
		              s->name);
		goto fail;
	}
	s->corrupt = (s->incompat & QCOW2_INCOMPAT_CORRUPT) != 0;
	if ((rc = qcow2_l1_load(s, s->l1_off, s->l1_size, file_size, &s->l1, "L1 table")) < 0)
		goto fail;
	s->l1_dirty_n = ((uint64_t)s->l1_size * 8 + 511) / 512;
	s->l1_dirty = vstd_calloc(s->l1_dirty_n + 1, 1);
	if (s->l1_dirty == NULL || (s->l1 == NULL && (s->l1 = vstd_calloc(1, 8)) == NULL)) {
		rc = vstd_err_code();
		goto fail;
	}
	if ((rc = qcow2_refcount_open(s, file_size)) < 0 ||
	    (rc = setup_buffers(s, d->cache_size)) < 0 ||
	    (rc = qcow2_snapshots_read(s, file_size)) < 0)
		goto fail;
	if (s->data_file_name != NULL && (rc = open_data_file(s, d)) < 0)
		goto fail;
	d->priv = s;
	d->size = s->size;
	if (s->writable) {
		if (s->incompat & QCOW2_INCOMPAT_DIRTY) {
			/* lazy refcounts left unfinished: rebuild them */
			vstd_disk_check_result res;
			memset(&res, 0, sizeof(res));
			rc = qcow2_check(d, VSTD_CHECK_REPAIR_ALL, &res);
			vstd_free(res.report);
			if (rc < 0)
				goto fail_priv;
			if (res.corruptions > 0) {
				rc = vstd_err(VSTD_ECORRUPT,
				              "%s: the dirty image could not be repaired (%" PRIu64
				              " corruptions left)",
				              s->name, res.corruptions);
				goto fail_priv;
			}
			if ((rc = qcow2_mark_clean(s)) < 0)
				goto fail_priv;
		}
		/* lazy refcounts: refcount updates wait for close (dirty bit set
		 * at the first flush) */
		s->lazy = s->version >= 3 && (s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS);
		if (s->autoclear & ~(QCOW2_AUTOCLEAR_DATA_FILE_RAW | QCOW2_AUTOCLEAR_BITMAPS)) {
			/* autoclear bits we do not know: a writer clears them.  The
			 * bitmaps bit stays: bitmaps are marked in use (stale) at
			 * the first change instead (qcow2_before_change) */
			uint8_t b[8];
			s->autoclear &= QCOW2_AUTOCLEAR_DATA_FILE_RAW | QCOW2_AUTOCLEAR_BITMAPS;
			vstd_put_be64(b, s->autoclear);
			if (s->version >= 3 && (rc = vstd_io_pwrite(s->io, b, 8, 88)) < 0)
				goto fail_priv;
		}
	} else {
		s->dirty_on_open = (s->incompat & QCOW2_INCOMPAT_DIRTY) != 0;
	}
	return 0;
fail_priv:
	d->priv = NULL;
fail:
	qcow2_free_state(s);
	return rc;
}

static int qcow2_info(vstd_disk *d, vstd_disk_info *info, struct json_object *o)
{
	struct qcow2 *s = qcow2_of(d);
	if (s->parent != NULL)
		s = s->parent;
	info->cluster_size = s->cluster_size;
	info->dirty = (s->incompat & QCOW2_INCOMPAT_DIRTY) != 0;
	info->encrypted = s->crypt_method != 0;
	json_object_object_add(o, "compat",
	                       json_object_new_string(s->version == 2 ? "0.10" : "1.1"));
	json_object_object_add(o, "compression-type",
	                       json_object_new_string(s->compression_type ? "zstd" : "zlib"));
	if (s->version >= 3)
		json_object_object_add(
		        o, "lazy-refcounts",
		        json_object_new_boolean((s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS) != 0));
	json_object_object_add(o, "refcount-bits", json_object_new_int((int)s->refcount_bits));
	if (s->version >= 3) {
		json_object_object_add(
		        o, "corrupt",
		        json_object_new_boolean((s->incompat & QCOW2_INCOMPAT_CORRUPT) != 0));
		json_object_object_add(o, "extended-l2", json_object_new_boolean(s->ext_l2));
	}
	if (s->data_file_name != NULL) {
		json_object_object_add(o, "data-file", json_object_new_string(s->data_file_name));
		json_object_object_add(
		        o, "data-file-raw",
		        json_object_new_boolean((s->autoclear & QCOW2_AUTOCLEAR_DATA_FILE_RAW) !=
		                                0));
	}
	if (s->crypt_method != 0) {
		json_object *enc = json_object_new_object();
		json_object_object_add(
		        enc, "format",
		        json_object_new_string(s->crypt_method == 1 ? "aes" : "luks"));
		json_object_object_add(o, "encrypt", enc);
	}
	if (s->has_bitmaps_ext)
		json_object_object_add(o, "bitmaps-count",
		                       json_object_new_int64((int64_t)s->bm_count));
	return 0;
}

/* Allocate host clusters for every unallocated cluster of guest [from, to). */
int qcow2_preallocate(vstd_disk *d, uint64_t from, uint64_t to, enum vstd_prealloc mode)
{
	struct qcow2 *s = qcow2_of(d);
	uint64_t off = from & ~(s->cluster_size - 1), end = 0, fsize;
	int rc;
	if (mode == VSTD_PREALLOC_OFF)
		return 0;
	if ((rc = vstd_io_size(s->data_io, &fsize)) < 0)
		return rc;
	while (off < to) {
		uint64_t i = (off >> s->cluster_bits) & (s->l2_entries - 1), n = 0, host, l2_off;
		uint64_t left = qcow2_size_to_clusters(s, to - off);
		uint8_t *l2;
		if ((rc = qcow2_l2_for_write(s, off, &l2, &l2_off)) < 0)
			return rc;
		while (i + n < s->l2_entries && n < left &&
		       (qcow2_l2e_get(s, l2, i + n) & QCOW2_L2E_OFFSET_MASK) == 0 &&
		       !(qcow2_l2e_get(s, l2, i + n) & QCOW2_OFLAG_COMPRESSED))
			n++;
		if (n == 0) {
			off += s->cluster_size;
			continue;
		}
		if (s->data_io != s->io) {
			host = off;
		} else if ((rc = qcow2_alloc_clusters(s, n, &host)) < 0) {
			return rc;
		}
		if ((rc = qcow2_l2_for_write(s, off, &l2, &l2_off)) < 0)
			return rc;
		for (uint64_t j = 0; j < n; j++)
			qcow2_l2e_set(s, l2, i + j,
			              (host + j * s->cluster_size) | QCOW2_OFLAG_COPIED,
			              0xffffffffull);
		qcow2_cache_mark_dirty(&s->l2c, l2_off);
		s->meta_dirty = 1;
		/* reused clusters hold old data: the new area must read as zeroes */
		if (mode != VSTD_PREALLOC_FULL && host < fsize &&
		    (rc = vstd_io_write_zeroes(s->data_io, host,
		                               (fsize - host < n * s->cluster_size
		                                        ? fsize - host
		                                        : n * s->cluster_size),
		                               0)) < 0)
			return rc;
		if (mode == VSTD_PREALLOC_FALLOC &&
		    (rc = vstd_io_allocate(s->data_io, host, n * s->cluster_size)) < 0)
			return rc;
		if (mode == VSTD_PREALLOC_FULL &&
		    (rc = vstd_io_write_zeroes(s->data_io, host, n * s->cluster_size, 0)) < 0)
			return rc;
		if (host + n * s->cluster_size > end)
			end = host + n * s->cluster_size;
		off += n * s->cluster_size;
	}
	if ((rc = vstd_io_size(s->data_io, &fsize)) < 0)
		return rc;
	if (end > fsize && (rc = vstd_io_truncate(s->data_io, end)) < 0)
		return rc;
	return qcow2_flush_metadata(s);
}

static int truncate_body(vstd_disk *d, uint64_t size, enum vstd_prealloc prealloc)
{
	struct qcow2 *s = qcow2_of(d);
	uint8_t b[8];
	uint64_t need, old = s->size;
	int rc;
	if (size > QCOW2_MAX_SIZE)
		return vstd_err(VSTD_ERANGE, "%s: qcow2 cannot hold %" PRIu64 " bytes", s->name,
		                size);
	need = (size + (s->cluster_size << s->l2_bits) - 1) >> (s->cluster_bits + s->l2_bits);
	if (size < old) {
		uint64_t from = qcow2_align(s, size);
		if (s->nb_snapshots > 0)
			return vstd_err(VSTD_ENOTSUP,
			                "%s: cannot shrink an image with internal "
			                "snapshots",
			                s->name);
		/* drop every cluster past the new end */
		for (uint64_t off = from; off < old; off += s->cluster_size) {
			uint64_t l1i = off >> (s->cluster_bits + s->l2_bits), i, l2_off, e;
			uint8_t *l2;
			if ((s->l1[l1i] & QCOW2_L1E_OFFSET_MASK) == 0) {
				off = ((l1i + 1) << (s->cluster_bits + s->l2_bits)) -
				      s->cluster_size;
				continue;
			}
			if ((rc = qcow2_l2_for_write(s, off, &l2, &l2_off)) < 0)
				return rc;
			i = (off >> s->cluster_bits) & (s->l2_entries - 1);
			e = qcow2_l2e_get(s, l2, i);
			if (e == 0 && qcow2_l2e_bitmap(s, l2, i) == 0)
				continue;
			if (s->data_io == s->io && (e & QCOW2_L2E_OFFSET_MASK) != 0 &&
			    !(e & QCOW2_OFLAG_COMPRESSED))
				rc = qcow2_free_deferred(s, e & QCOW2_L2E_OFFSET_MASK, 1);
			else if (e & QCOW2_OFLAG_COMPRESSED) {
				uint64_t co, cl;
				qcow2_compressed_loc(s, e, &co, &cl);
				co &= ~(uint64_t)511;
				rc = qcow2_free_deferred(s, co & ~(s->cluster_size - 1),
				                         ((co + cl + 511 - 1) >> s->cluster_bits) -
				                                 (co >> s->cluster_bits) + 1);
			}
			if (rc < 0)
				return rc;
			if ((rc = qcow2_l2_for_write(s, off, &l2, &l2_off)) < 0)
				return rc;
			qcow2_l2e_set(s, l2, i, 0, 0);
			qcow2_cache_mark_dirty(&s->l2c, l2_off);
			s->meta_dirty = 1;
		}
		/* L2 tables wholly past the new end go too (the L1 entry
		 * first, the table at the next flush) */
		for (uint64_t l1i = need; l1i < s->l1_size; l1i++) {
			uint64_t l2_off = s->l1[l1i] & QCOW2_L1E_OFFSET_MASK;
			if (l2_off == 0)
				continue;
			qcow2_l1_set(s, l1i, 0);
			if ((rc = qcow2_free_deferred(s, l2_off, 1)) < 0)
				return rc;
		}
	} else if ((rc = qcow2_l1_grow(s, need)) < 0) {
		return rc;
	}
	if ((rc = qcow2_flush_metadata(s)) < 0 || (rc = vstd_io_flush(s->io)) < 0)
		return rc;
	vstd_put_be64(b, size);
	if ((rc = vstd_io_pwrite(s->io, b, 8, 24)) < 0 || (rc = vstd_io_flush(s->io)) < 0)
		return rc;
	s->size = size;
	d->size = size;
	if (size > old && prealloc != VSTD_PREALLOC_OFF)
		return qcow2_preallocate(d, old, size, prealloc);
	return 0;
}

/*
 * Cut free clusters off the end of the file (qemu does this after a
 * shrink): refcounts are made durable first, then the file ends after the
 * last cluster with a nonzero refcount.
 */
static int trim_file(struct qcow2 *s)
{
	uint64_t end, fsize;
	int rc;
	if ((rc = qcow2_mark_clean(s)) < 0 || (rc = vstd_io_flush(s->io)) < 0 ||
	    (rc = qcow2_image_end(s, &end)) < 0 || (rc = vstd_io_size(s->io, &fsize)) < 0)
		return rc;
	if (end < s->cluster_size || end >= fsize)
		return 0;
	if ((rc = vstd_io_truncate(s->io, end)) < 0 || (rc = vstd_io_flush(s->io)) < 0)
		return rc;
	s->comp_off = 0;
	return 0;
}

static int qcow2_truncate(vstd_disk *d, uint64_t size, enum vstd_prealloc prealloc)
{
	struct qcow2 *s = qcow2_of(d);
	int shrink = size < s->size, rc;
	if ((rc = qcow2_before_change(s)) < 0)
		return rc;
	s->free_punch = shrink; /* freed clusters go back to the host file */
	rc = truncate_body(d, size, prealloc);
	s->free_punch = 0;
	if (rc == 0 && shrink)
		rc = trim_file(s);
	return rc;
}

static int make_empty_body(vstd_disk *d);

static int qcow2_make_empty(vstd_disk *d)
{
	struct qcow2 *s = qcow2_of(d);
	int rc;
	if ((rc = qcow2_before_change(s)) < 0)
		return rc;
	s->free_punch = 1;
	rc = make_empty_body(d);
	s->free_punch = 0;
	return rc;
}

static uint64_t qcow2_compress_unit(vstd_disk *d)
{
	return qcow2_of(d)->cluster_size;
}

static int qcow2_compress(vstd_disk *d, const void *in, size_t in_len, void *out, size_t out_cap,
                          size_t *out_len)
{
	const struct qcow2 *s = qcow2_of(d);
	int rc;
	if (in_len < s->cluster_size) {
		uint8_t *pad = vstd_calloc(1, s->cluster_size);
		if (pad == NULL)
			return vstd_err_code();
		memcpy(pad, in, in_len);
		rc = qcow2_compress_buf(s->compression_type, pad, s->cluster_size, out, out_cap,
		                        out_len);
		vstd_free(pad);
		return rc;
	}
	return qcow2_compress_buf(s->compression_type, in, in_len, out, out_cap, out_len);
}

static int qcow2_set_backing(vstd_disk *d, const char *backing, const char *format)
{
	struct qcow2 *s = qcow2_of(d);
	char *f = NULL;
	int rc;
	if (backing != NULL && strlen(backing) > 1023)
		return vstd_err(VSTD_EINVAL, "%s: backing file name longer than 1023 bytes",
		                s->name);
	if (format != NULL && (f = vstd_strdup(format)) == NULL)
		return vstd_err_code();
	vstd_free(s->backing_format);
	s->backing_format = f;
	if ((rc = qcow2_flush_metadata(s)) < 0 || (rc = vstd_io_flush(s->io)) < 0 ||
	    (rc = qcow2_header_write(s, backing)) < 0 || (rc = vstd_io_flush(s->io)) < 0)
		return rc;
	return vstd_disk_set_backing(d, backing, backing != NULL ? format : NULL);
}

static int make_empty_body(vstd_disk *d)
{
	struct qcow2 *s = qcow2_of(d);
	uint64_t cs = s->cluster_size;
	int rc;
	for (uint64_t off = 0; off < s->size; off += cs) {
		uint64_t l1i = off >> (s->cluster_bits + s->l2_bits), i, l2_off, e;
		uint8_t *l2;
		if ((s->l1[l1i] & QCOW2_L1E_OFFSET_MASK) == 0) {
			off = ((l1i + 1) << (s->cluster_bits + s->l2_bits)) - cs;
			continue;
		}
		if ((rc = qcow2_l2_for_write(s, off, &l2, &l2_off)) < 0)
			return rc;
		i = (off >> s->cluster_bits) & (s->l2_entries - 1);
		e = qcow2_l2e_get(s, l2, i);
		if (e == 0 && qcow2_l2e_bitmap(s, l2, i) == 0)
			continue;
		if (s->data_io == s->io) {
			if (e & QCOW2_OFLAG_COMPRESSED) {
				uint64_t co, cl;
				qcow2_compressed_loc(s, e, &co, &cl);
				rc = qcow2_free_deferred(s, co & ~(cs - 1),
				                         ((co + cl - 1) >> s->cluster_bits) -
				                                 (co >> s->cluster_bits) + 1);
			} else if ((e & QCOW2_L2E_OFFSET_MASK) != 0) {
				rc = qcow2_free_deferred(s, e & QCOW2_L2E_OFFSET_MASK, 1);
			}
			if (rc < 0)
				return rc;
		}
		if ((rc = qcow2_l2_for_write(s, off, &l2, &l2_off)) < 0)
			return rc;
		qcow2_l2e_set(s, l2, i, 0, 0);
		qcow2_cache_mark_dirty(&s->l2c, l2_off);
		s->meta_dirty = 1;
	}
	return qcow2_flush(d);
}

const struct vstd_disk_driver vstd_driver_qcow2 = {
        .version = 1,
        .name = "qcow2",
        .description = "QEMU copy-on-write image, versions 2 and 3",
        .create_options = qcow2_create_options,
        .n_create_options = QCOW2_N_CREATE_OPTIONS,
        .probe = qcow2_probe,
        .open = qcow2_open,
        .close = qcow2_close,
        .create = qcow2_create,
        .read = qcow2_read,
        .write = qcow2_write,
        .flush = qcow2_flush,
        .write_zeroes = qcow2_write_zeroes,
        .discard = qcow2_discard,
        .block_status = qcow2_block_status,
        .truncate = qcow2_truncate,
        .check = qcow2_check,
        .info = qcow2_info,
        .measure = qcow2_measure,
        .compress_unit = qcow2_compress_unit,
        .compress = qcow2_compress,
        .write_compressed = qcow2_write_compressed,
        .set_backing = qcow2_set_backing,
        .make_empty = qcow2_make_empty,
        .amend = qcow2_amend,
        .snapshot_list = qcow2_snapshot_list,
        .snapshot_create = qcow2_snapshot_create,
        .snapshot_apply = qcow2_snapshot_apply,
        .snapshot_delete = qcow2_snapshot_delete,
        .snapshot_open = qcow2_snapshot_open,
};
