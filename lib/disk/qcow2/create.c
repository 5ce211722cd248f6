/*
 * disk/qcow2/create.c - new images, size estimates (measure) and amend.
 *
 * create writes a minimal image (header, a one-cluster refcount table, one
 * refcount block, no L1 table, virtual size 0), opens it with the driver
 * and grows it to the requested size, so that the L1 table, any further
 * refcount structures and preallocation come from the same allocator the
 * write path uses.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/disk_internal.h"
#include "disk/qcow2/qcow2.h"

const vstd_disk_option_desc qcow2_create_options[QCOW2_N_CREATE_OPTIONS] = {
        {"compat", "enum", "0.10 (version 2) or 1.1 (version 3)", "1.1"},
        {"cluster_size", "size", "cluster size, a power of two from 512 to 2M", "65536"},
        {"refcount_bits", "number", "width of a refcount: 1, 2, 4, 8, 16, 32 or 64", "16"},
        {"lazy_refcounts", "bool", "postpone refcount updates (version 3)", "off"},
        {"extended_l2", "bool", "32 subclusters per cluster (version 3, clusters >= 16K)", "off"},
        {"compression_type", "enum", "zlib or zstd (zstd needs version 3)", "zlib"},
        {"preallocation", "enum", "off, metadata, falloc or full", "off"},
        {"data_file", "string", "external file holding the guest data", NULL},
        {"data_file_raw", "bool", "the data file is a valid raw image", "off"},
        {"backing_file", "string", "backing file name", NULL},
        {"backing_fmt", "string", "backing file format", NULL},
        {"encryption", "bool", "encryption (not supported)", "off"},
};

struct create_params {
	uint32_t version, cluster_bits, refcount_order;
	int lazy, ext_l2, data_raw;
	uint8_t compression;
};

static int parse_params(const struct vstd_disk_create_args *a, struct create_params *p)
{
	static const char *const compat[] = {"0.10", "1.1", "v2", "v3", NULL};
	static const char *const ctype[] = {"zlib", "zstd", NULL};
	uint64_t cs, rb;
	size_t idx;
	int rc, enc;
	memset(p, 0, sizeof(*p));
	if ((rc = vstd_kv_get_enum(a->options, "compat", compat, 1, &idx)) < 0)
		return rc;
	p->version = (idx == 0 || idx == 2) ? 2 : 3;
	if ((rc = vstd_kv_get_size(a->options, "cluster_size", 65536, &cs)) < 0 ||
	    (rc = vstd_kv_get_u64(a->options, "refcount_bits", 16, &rb)) < 0 ||
	    (rc = vstd_kv_get_bool(a->options, "lazy_refcounts", 0, &p->lazy)) < 0 ||
	    (rc = vstd_kv_get_bool(a->options, "extended_l2", 0, &p->ext_l2)) < 0 ||
	    (rc = vstd_kv_get_bool(a->options, "data_file_raw", 0, &p->data_raw)) < 0 ||
	    (rc = vstd_kv_get_bool(a->options, "encryption", 0, &enc)) < 0 ||
	    (rc = vstd_kv_get_enum(a->options, "compression_type", ctype, 0, &idx)) < 0)
		return rc;
	p->compression = (uint8_t)idx;
	if (enc)
		return vstd_err(VSTD_ENOTSUP, "%s: qcow2 encryption is not supported", a->path);
	if (!vstd_is_pow2(cs) || cs < 512 || cs > ((uint64_t)2 << 20))
		return vstd_err(VSTD_EINVAL,
		                "%s: cluster_size %" PRIu64
		                " must be a power of two from 512 to 2M",
		                a->path, cs);
	p->cluster_bits = (uint32_t)__builtin_ctzll(cs);
	if (!vstd_is_pow2(rb) || rb > 64)
		return vstd_err(VSTD_EINVAL,
		                "%s: refcount_bits %" PRIu64 " must be 1, 2, 4, 8, 16, 32 or 64",
		                a->path, rb);
	p->refcount_order = (uint32_t)__builtin_ctzll(rb);
	if (p->version == 2) {
		if (rb != 16)
			return vstd_err(VSTD_EINVAL, "%s: compat=0.10 needs refcount_bits=16",
			                a->path);
		if (p->lazy || p->ext_l2 || p->compression ||
		    vstd_kv_get(a->options, "data_file") != NULL)
			return vstd_err(
			        VSTD_EINVAL,
			        "%s: lazy_refcounts, extended_l2, compression_type=zstd and "
			        "data_file need compat=1.1",
			        a->path);
	}
	if (p->ext_l2 && cs < 16384)
		return vstd_err(VSTD_EINVAL, "%s: extended_l2 needs a cluster size of at least 16K",
		                a->path);
	if (p->data_raw && vstd_kv_get(a->options, "data_file") == NULL)
		return vstd_err(VSTD_EINVAL, "%s: data_file_raw needs data_file", a->path);
	return 0;
}

/* The L1 table a virtual size needs must stay within the limit. */
static int check_l1(const struct vstd_disk_create_args *a, const struct create_params *p)
{
	uint64_t cs = (uint64_t)1 << p->cluster_bits, l2e = cs / (p->ext_l2 ? 16 : 8);
	uint64_t nl2 = ((a->size + cs - 1) / cs + l2e - 1) / l2e;
	if (nl2 * 8 > QCOW2_MAX_L1_BYTES)
		return vstd_err(VSTD_EINVAL,
		                "%s: a virtual size of %" PRIu64 " needs an L1 table over 32 MiB "
		                "(try a larger cluster size)",
		                a->path, a->size);
	return 0;
}

int qcow2_create(vstd_io *io, const struct vstd_disk_create_args *a)
{
	struct create_params p;
	struct qcow2 t;
	const char *backing = a->backing_file, *bfmt = a->backing_format, *df;
	uint8_t *buf = NULL;
	vstd_disk *d = NULL;
	vstd_io *dio = NULL;
	int rc;
	/* qemu-img creates whole 512-byte sectors and reads a qcow2's size
	 * rounded down to them: round up here, as it does. */
	uint64_t vsize = a->size > UINT64_MAX - 511 ? a->size : vstd_align_up(a->size, 512);
	if ((rc = parse_params(a, &p)) < 0 || (rc = check_l1(a, &p)) < 0)
		return rc;
	if (backing == NULL)
		backing = vstd_kv_get(a->options, "backing_file");
	if (bfmt == NULL)
		bfmt = vstd_kv_get(a->options, "backing_fmt");
	df = vstd_kv_get(a->options, "data_file");
	if (backing != NULL && strlen(backing) > 1023)
		return vstd_err(VSTD_EINVAL, "%s: backing file name longer than 1023 bytes",
		                a->path);
	memset(&t, 0, sizeof(t));
	t.name = a->path;
	t.version = p.version;
	t.cluster_bits = p.cluster_bits;
	t.refcount_order = p.refcount_order;
	t.ext_l2 = p.ext_l2;
	qcow2_geometry(&t);
	t.rt_off = t.cluster_size;
	t.rt_clusters = 1;
	t.compression_type = p.compression;
	if (p.compression)
		t.incompat |= QCOW2_INCOMPAT_COMPRESSION;
	if (p.ext_l2)
		t.incompat |= QCOW2_INCOMPAT_EXTL2;
	if (p.lazy)
		t.compat |= QCOW2_COMPAT_LAZY_REFCOUNTS;
	if (df != NULL) {
		t.incompat |= QCOW2_INCOMPAT_DATA_FILE;
		if (p.data_raw)
			t.autoclear |= QCOW2_AUTOCLEAR_DATA_FILE_RAW;
		t.data_file_name = (char *)df;
	}
	t.backing_format = (char *)bfmt;
	buf = vstd_calloc(1, t.cluster_size);
	if (buf == NULL)
		return vstd_err_code();
	if ((rc = qcow2_header_build(&t, backing, buf)) < 0 ||
	    (rc = vstd_io_pwrite(io, buf, t.cluster_size, 0)) < 0)
		goto out;
	memset(buf, 0, t.cluster_size);
	vstd_put_be64(buf, 2 * t.cluster_size);
	if ((rc = vstd_io_pwrite(io, buf, t.cluster_size, t.cluster_size)) < 0)
		goto out;
	memset(buf, 0, t.cluster_size);
	/* refcount 1 for clusters 0, 1, 2 in the first block */
	for (int c = 0; c < 3; c++) {
		switch (t.refcount_order) {
		case 0: buf[0] |= (uint8_t)(1u << c); break;
		case 1: buf[0] |= (uint8_t)(1u << (2 * c)); break;
		case 2: buf[c / 2] |= (uint8_t)(1u << (4 * (c % 2))); break;
		case 3: buf[c] = 1; break;
		case 4: vstd_put_be16(buf + 2 * c, 1); break;
		case 5: vstd_put_be32(buf + 4 * c, 1); break;
		default: vstd_put_be64(buf + 8 * c, 1);
		}
	}
	if ((rc = vstd_io_pwrite(io, buf, t.cluster_size, 2 * t.cluster_size)) < 0 ||
	    (rc = vstd_io_flush(io)) < 0)
		goto out;
	if (df != NULL) {
		char *path = vstd_disk_resolve_backing(a->path, df);
		if (path == NULL) {
			rc = vstd_err_code();
			goto out;
		}
		rc = vstd_io_file_open(&dio, path, VSTD_IO_WRITE | VSTD_IO_CREATE | VSTD_IO_TRUNC);
		vstd_free(path);
		if (rc < 0 || (rc = vstd_io_truncate(dio, 0)) < 0)
			goto out;
		vstd_io_close(dio);
		dio = NULL;
	}
	if ((rc = vstd_disk_open_layer(&d, io, 0, a->path, "qcow2",
	                               VSTD_DISK_RDWR | VSTD_DISK_NO_BACKING, 0)) < 0)
		goto out;
	{
		struct qcow2 *s = qcow2_of(d);
		/* grow from 0 to the size: the L1 table, refcounts, preallocation */
		if ((rc = d->drv->truncate(d, vsize, VSTD_PREALLOC_OFF)) < 0)
			goto out;
		d->size = vsize;
		if (a->prealloc != VSTD_PREALLOC_OFF &&
		    (rc = qcow2_preallocate(d, 0, vsize, a->prealloc)) < 0)
			goto out;
		if (df != NULL && p.data_raw) {
			uint64_t dsz;
			if ((rc = vstd_io_size(s->data_io, &dsz)) < 0)
				goto out;
			if (dsz < vsize && (rc = vstd_io_truncate(s->data_io, vsize)) < 0)
				goto out;
		}
		rc = d->drv->flush(d);
	}
out:
	vstd_disk_close(d);
	vstd_io_close(dio);
	vstd_free(buf);
	return rc;
}

/* Bytes of metadata for a fully allocated image of `size`. */
static uint64_t meta_size(uint64_t size, uint32_t cb, uint32_t rorder, int ext_l2)
{
	uint64_t cs = (uint64_t)1 << cb, l2e = cs / (ext_l2 ? 16 : 8);
	uint64_t data = (size + cs - 1) / cs, nl2 = (data + l2e - 1) / l2e;
	uint64_t l1c = (nl2 * 8 + cs - 1) / cs, rbe = (cs * 8) >> rorder;
	uint64_t clusters = 1 + nl2 + l1c + data, rb = 0, rt = 0, prev;
	do {
		prev = rb + rt;
		rb = (clusters + rb + rt + rbe - 1) / rbe;
		rt = (rb * 8 + cs - 1) / cs;
	} while (rb + rt != prev);
	return (1 + nl2 + l1c + rb + rt) * cs;
}

int qcow2_measure(const struct vstd_disk_create_args *a, vstd_disk *src,
                  vstd_disk_measure_result *res)
{
	struct create_params p;
	uint64_t cs, data = 0, meta;
	int rc;
	if ((rc = parse_params(a, &p)) < 0 || (rc = check_l1(a, &p)) < 0)
		return rc;
	cs = (uint64_t)1 << p.cluster_bits;
	memset(res, 0, sizeof(res[0]));
	meta = meta_size(a->size, p.cluster_bits, p.refcount_order, p.ext_l2);
	res->fully_allocated = meta + vstd_align_up(a->size, cs);
	if (a->prealloc == VSTD_PREALLOC_FALLOC || a->prealloc == VSTD_PREALLOC_FULL) {
		res->required = res->fully_allocated;
		return 0;
	}
	if (src != NULL) {
		uint64_t off = 0,
		         end = a->size < vstd_disk_size(src) ? a->size : vstd_disk_size(src);
		while (off < end) {
			vstd_block_status st;
			uint64_t lo, hi;
			if ((rc = vstd_disk_map(src, off, end - off, &st)) < 0)
				return rc;
			if (st.length == 0)
				break;
			if (st.flags & VSTD_BLOCK_DATA) {
				lo = vstd_align_down(off, cs);
				hi = vstd_align_up(off + st.length, cs);
				/* do not count a cluster twice */
				if (lo < vstd_align_up(off, cs) && off % cs != 0 && data > 0)
					lo += cs;
				if (hi > lo)
					data += hi - lo;
			}
			off += st.length;
		}
	}
	res->required = meta + data;
	return 0;
}

/* Rewrite the refcount structures with 2^order-bit entries (amend). */
static int change_refcount_order(struct qcow2 *s, vstd_disk *d, uint32_t order)
{
	struct qcow2 t = *s;
	uint32_t *ref = NULL;
	uint64_t n, problems, end, k = 0, tc = 0, start, max;
	uint8_t *buf = NULL;
	int rc;
	if ((rc = qcow2_flush_metadata(s)) < 0 || (rc = vstd_io_flush(s->io)) < 0 ||
	    (rc = qcow2_expected_refcounts(s, &ref, &n, &problems)) < 0)
		return rc;
	if (problems > 0) {
		rc = vstd_err(VSTD_ECORRUPT,
		              "%s: the image has metadata problems; repair it (check "
		              "-r all) before changing refcount_bits",
		              s->name);
		goto out;
	}
	/* the old refcount structures go away */
	for (uint64_t c = 0; c < s->rt_clusters; c++)
		if ((s->rt_off >> s->cluster_bits) + c < n)
			ref[(s->rt_off >> s->cluster_bits) + c]--;
	for (uint64_t b = 0; b < s->rt_entries; b++) {
		uint64_t o = (s->rt[b] & QCOW2_REFT_OFFSET_MASK) >> s->cluster_bits;
		if (o != 0 && o < n)
			ref[o]--;
	}
	t.refcount_order = order;
	qcow2_geometry(&t);
	max = t.refcount_max;
	for (uint64_t c = 0; c < n; c++)
		if (ref[c] > max) {
			rc = vstd_err(VSTD_ERANGE,
			              "%s: cluster at 0x%" PRIx64 " has %u references, "
			              "more than %u-bit refcounts hold",
			              s->name, c << s->cluster_bits, ref[c], t.refcount_bits);
			goto out;
		}
	/* the new table and blocks go after everything else */
	end = n;
	for (;;) {
		uint64_t k2 = (end + k + tc + t.rb_entries - 1) / t.rb_entries;
		uint64_t t2 = (k2 * 8 + s->cluster_size - 1) / s->cluster_size;
		if (k2 == k && t2 == tc)
			break;
		k = k2;
		tc = t2;
	}
	if ((tc << s->cluster_bits) > QCOW2_MAX_REFTABLE_BYTES) {
		rc = vstd_err(VSTD_ELIMIT, "%s: the new refcount table would pass 8 MiB", s->name);
		goto out;
	}
	start = end;
	buf = vstd_malloc(s->cluster_size);
	if (buf == NULL) {
		rc = vstd_err_code();
		goto out;
	}
	for (uint64_t b = 0; b < k; b++) {
		memset(buf, 0, s->cluster_size);
		for (uint64_t i = 0; i < t.rb_entries; i++) {
			uint64_t c = b * t.rb_entries + i, v = c < n ? ref[c] : 0;
			if (c >= start && c < start + tc + k)
				v++;
			if (v == 0)
				continue;
			switch (order) {
			case 0: buf[i / 8] |= (uint8_t)(v << (i % 8)); break;
			case 1: buf[i / 4] |= (uint8_t)(v << (2 * (i % 4))); break;
			case 2: buf[i / 2] |= (uint8_t)(v << (4 * (i % 2))); break;
			case 3: buf[i] = (uint8_t)v; break;
			case 4: vstd_put_be16(buf + 2 * i, (uint16_t)v); break;
			case 5: vstd_put_be32(buf + 4 * i, (uint32_t)v); break;
			default: vstd_put_be64(buf + 8 * i, v);
			}
		}
		if ((rc = vstd_io_pwrite(s->io, buf, s->cluster_size,
		                         (start + tc + b) << s->cluster_bits)) < 0)
			goto out;
	}
	for (uint64_t c = 0; c < tc; c++) {
		memset(buf, 0, s->cluster_size);
		for (uint64_t i = 0; i < s->cluster_size / 8; i++) {
			uint64_t b = c * (s->cluster_size / 8) + i;
			if (b < k)
				vstd_put_be64(buf + 8 * i, (start + tc + b) << s->cluster_bits);
		}
		if ((rc = vstd_io_pwrite(s->io, buf, s->cluster_size,
		                         (start + c) << s->cluster_bits)) < 0)
			goto out;
	}
	if ((rc = vstd_io_flush(s->io)) < 0)
		goto out;
	/* one header write switches to the new structures */
	s->refcount_order = order;
	s->rt_off = start << s->cluster_bits;
	s->rt_clusters = (uint32_t)tc;
	qcow2_geometry(s);
	if ((rc = qcow2_header_write(s, d->backing_name)) < 0 || (rc = vstd_io_flush(s->io)) < 0)
		goto out;
	/* reload the refcount state */
	vstd_free(s->rt);
	vstd_free(s->rt_dirty);
	s->rt = NULL;
	s->rt_dirty = NULL;
	{
		unsigned slots = s->rbc.max;
		qcow2_cache_free(&s->rbc);
		if ((rc = qcow2_cache_init(&s->rbc, slots, s->cluster_size, "refcount block")) < 0)
			goto out;
	}
	if ((rc = vstd_io_size(s->io, &end)) < 0 || (rc = qcow2_refcount_open(s, end)) < 0)
		goto out;
	s->free_hint = 0;
	s->comp_off = 0;
out:
	vstd_free(buf);
	vstd_free(ref);
	return rc;
}

int qcow2_amend(vstd_disk *d, vstd_kv *options, vstd_progress_fn progress, void *opaque)
{
	struct qcow2 *s = qcow2_of(d);
	static const char *const compat[] = {"0.10", "1.1", "v2", "v3", NULL};
	size_t idx;
	int lazy, rc, downgrade = 0;
	uint64_t rb;
	(void)progress;
	(void)opaque;
	/* work on a clean image: refcounts complete on disk, dirty bit clear */
	if ((rc = qcow2_mark_clean(s)) < 0)
		return rc;
	if (vstd_kv_get(options, "compat") != NULL) {
		if ((rc = vstd_kv_get_enum(options, "compat", compat, 1, &idx)) < 0)
			return rc;
		if ((idx == 1 || idx == 3) && s->version == 2) {
			s->version = 3;
			s->header_length = 112;
		} else if ((idx == 0 || idx == 2) && s->version == 3) {
			/* refuse before changing anything */
			uint64_t want = s->refcount_bits;
			if (vstd_kv_get(options, "refcount_bits") != NULL &&
			    (rc = vstd_kv_get_u64(options, "refcount_bits", 16, &want)) < 0)
				return rc;
			if ((rc = qcow2_downgrade_check(s, (uint32_t)want)) < 0)
				return rc;
			downgrade = 1;
		}
	}
	if (vstd_kv_get(options, "lazy_refcounts") != NULL) {
		if ((rc = vstd_kv_get_bool(options, "lazy_refcounts", 0, &lazy)) < 0)
			return rc;
		if (lazy && s->version < 3)
			return vstd_err(VSTD_EINVAL, "%s: lazy_refcounts needs compat=1.1",
			                s->name);
		s->compat = lazy ? s->compat | QCOW2_COMPAT_LAZY_REFCOUNTS
		                 : s->compat & ~QCOW2_COMPAT_LAZY_REFCOUNTS;
	}
	if (vstd_kv_get(options, "refcount_bits") != NULL) {
		if ((rc = vstd_kv_get_u64(options, "refcount_bits", 16, &rb)) < 0)
			return rc;
		if (!vstd_is_pow2(rb) || rb > 64)
			return vstd_err(VSTD_EINVAL,
			                "%s: refcount_bits %" PRIu64 " must be a power "
			                "of two up to 64",
			                s->name, rb);
		if (rb != s->refcount_bits && s->version < 3)
			return vstd_err(VSTD_EINVAL,
			                "%s: refcount_bits other than 16 need compat=1.1", s->name);
		if (rb != s->refcount_bits &&
		    (rc = change_refcount_order(s, d, (uint32_t)__builtin_ctzll(rb))) < 0)
			return rc;
	}
	for (size_t i = 0; i < vstd_kv_count(options); i++) {
		const char *k = vstd_kv_key(options, i);
		if (strcmp(k, "compat") && strcmp(k, "lazy_refcounts") &&
		    strcmp(k, "refcount_bits"))
			return vstd_err(VSTD_ENOTSUP, "%s: option '%s' cannot be changed by amend",
			                s->name, k);
	}
	if (downgrade) {
		/* last, after refcount_bits=16 or lazy_refcounts=off were applied */
		if (s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS &&
		    vstd_kv_get(options, "lazy_refcounts") != NULL)
			return vstd_err(VSTD_EINVAL, "%s: lazy_refcounts needs compat=1.1",
			                s->name);
		return qcow2_downgrade(s, d);
	}
	if ((rc = qcow2_flush_metadata(s)) < 0 || (rc = vstd_io_flush(s->io)) < 0 ||
	    (rc = qcow2_header_write(s, d->backing_name)) < 0)
		return rc;
	s->lazy = s->version >= 3 && (s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS);
	return vstd_io_flush(s->io);
}
