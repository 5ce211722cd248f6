/*
 * disk/qcow2/qcow2.h - private declarations of the qcow2 driver.
 *
 * The format is described in docs/formats/qcow2.md.  Files:
 *   header.c    header v2/v3, extensions, feature bits, header rewrite
 *   cache.c     the metadata cache (L2 tables, refcount blocks)
 *   refcount.c  refcount table/blocks, cluster allocation and freeing
 *   l1l2.c      the guest -> host mapping (L1, L2, extended L2)
 *   rw.c        read / write / zeroes / discard / block status
 *   compress.c  zlib (raw deflate) and zstd clusters
 *   snapshot.c  internal snapshots
 *   check.c     consistency check and repair
 *   create.c    new images, measure
 *   driver.c    open/close/flush/info/truncate and the driver table
 */
#ifndef VSTD_DISK_QCOW2_H
#define VSTD_DISK_QCOW2_H

#include <stdint.h>

#include "disk/driver.h"

#define QCOW2_MAGIC 0x514649fbu

/* incompatible feature bits */
#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN 0x1full
/* compatible */
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)
/* autoclear */
#define QCOW2_AUTOCLEAR_BITMAPS (1ull << 0)
#define QCOW2_AUTOCLEAR_DATA_FILE_RAW (1ull << 1)

/* header extension types */
#define QCOW2_EXT_END 0x00000000u
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_FEATURE_TABLE 0x6803f857u
#define QCOW2_EXT_BITMAPS 0x23852875u
#define QCOW2_EXT_CRYPTO 0x0537be77u
#define QCOW2_EXT_DATA_FILE 0x44415441u

/* L1/L2 entry bits */
#define QCOW2_OFLAG_COPIED (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO (1ull << 0)
#define QCOW2_L1E_OFFSET_MASK 0x00fffffffffffe00ull
#define QCOW2_L2E_OFFSET_MASK 0x00fffffffffffe00ull
#define QCOW2_REFT_OFFSET_MASK 0xfffffffffffffe00ull

/* limits (safety bounds on what an image may ask us to allocate) */
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MAX_L1_BYTES ((uint64_t)32 << 20)
#define QCOW2_MAX_REFTABLE_BYTES ((uint64_t)8 << 20)
#define QCOW2_MAX_SNAPSHOTS 65536
#define QCOW2_MAX_SNAPSHOT_TABLE ((uint64_t)64 << 20)
#define QCOW2_MAX_SIZE ((uint64_t)1 << 56) /* host offsets have 56 bits */
#define QCOW2_MAX_PENDING_FREES 4096

enum qcow2_compression { QCOW2_COMPRESS_ZLIB = 0, QCOW2_COMPRESS_ZSTD = 1 };

/* ---- cache.c ---- */
struct qcow2_cache_entry {
	uint64_t off; /* host offset of the table, 0: empty slot */
	uint8_t *data;
	int next; /* hash chain */
	uint8_t dirty;
	uint8_t ref; /* clock bit */
	uint8_t pinned;
};

struct qcow2_cache {
	struct qcow2_cache_entry *e;
	int *buckets;
	unsigned nbuckets; /* power of two */
	unsigned max;      /* entries */
	unsigned used;
	unsigned hand;
	size_t table_size;
	const char *what; /* "L2 table", "refcount block" */
};

struct qcow2;

int qcow2_cache_init(struct qcow2_cache *c, unsigned max, size_t table_size, const char *what);
void qcow2_cache_free(struct qcow2_cache *c);
/* Table at host offset `off`, read from the file when not cached (or zero
 * filled with `fresh`).  The pointer stays valid until the next get. */
int qcow2_cache_get(struct qcow2 *s, struct qcow2_cache *c, uint64_t off, int fresh, uint8_t **out);
void qcow2_cache_mark_dirty(struct qcow2_cache *c, uint64_t off);
/* Write every dirty table (no io flush); returns how many were written. */
int qcow2_cache_writeback(struct qcow2 *s, struct qcow2_cache *c);
/* Forget a table (its cluster was freed), dirty or not. */
void qcow2_cache_discard(struct qcow2_cache *c, uint64_t off);
/* Forget everything (after writeback). */
void qcow2_cache_clear(struct qcow2_cache *c);

/* ---- the driver state ---- */
struct qcow2_snapshot {
	uint64_t l1_off;
	uint32_t l1_size;
	char *id;
	char *name;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t vm_state_size;
	uint64_t disk_size;
	uint64_t icount;
	uint8_t *extra;      /* extra data beyond what we interpret (preserved) */
	uint32_t extra_size; /* total extra data size */
};

struct qcow2_unknown_ext {
	uint32_t type;
	uint32_t len;
	uint8_t *data;
};

struct qcow2_extent {
	uint64_t off, n;
	int punch; /* give the space back to the host file when the refcount reaches 0 */
};

struct qcow2 {
	/* header fields */
	uint32_t version;
	uint64_t backing_off;
	uint32_t backing_len;
	uint32_t cluster_bits;
	uint64_t size;
	uint32_t crypt_method;
	uint32_t l1_size;
	uint64_t l1_off;
	uint64_t rt_off;
	uint32_t rt_clusters;
	uint32_t nb_snapshots;
	uint64_t snapshots_off;
	uint64_t incompat, compat, autoclear;
	uint32_t refcount_order;
	uint32_t header_length;
	uint8_t compression_type;

	/* derived */
	uint64_t cluster_size;
	uint32_t l2_bits; /* log2 entries per L2 table */
	uint64_t l2_entries;
	unsigned l2_entry_size; /* 8, or 16 with extended L2 */
	int ext_l2;
	uint64_t sc_size; /* subcluster size (extended L2) */
	uint32_t refcount_bits;
	uint32_t rb_bits; /* log2 entries per refcount block */
	uint64_t rb_entries;
	uint64_t refcount_max;
	unsigned csize_shift; /* compressed descriptor: offset bits */
	uint64_t csize_mask;

	/* extensions */
	char *backing_format;
	char *data_file_name;
	struct qcow2_unknown_ext *exts; /* preserved as they are */
	size_t n_exts;
	uint8_t *feature_table; /* raw feature name table */
	uint32_t feature_table_len;
	int has_bitmaps_ext;
	uint64_t bm_count, bm_dir_size, bm_dir_off;
	int has_crypto_ext;
	uint64_t crypto_off, crypto_len;

	/* tables */
	uint64_t *l1;      /* host order */
	uint8_t *l1_dirty; /* one flag per 512-byte block of the L1 table */
	size_t l1_dirty_n;
	uint64_t *rt; /* refcount table, host order */
	uint64_t rt_entries;
	struct qcow2_cache l2c, rbc;
	struct qcow2_snapshot *snaps;

	/* allocation */
	uint64_t free_hint; /* cluster index below which all are used */
	uint64_t comp_off;  /* byte offset where the next compressed data may go (0: none) */
	struct qcow2_extent *pending; /* clusters whose refcount drops at the next flush */
	size_t n_pending;
	uint8_t *rt_dirty;  /* one flag per refcount table cluster */
	int meta_dirty;     /* something needs the flush sequence */
	int lazy;           /* lazy refcounts in use: refcount blocks reach the file at close */
	int free_punch;     /* frees made now punch holes when a refcount reaches 0 */
	int keep_dirty;     /* an operation failed half-way: leave the dirty bit for repair */
	int bitmaps_marked; /* persistent bitmaps flagged in use (stale) */

	vstd_io *io;      /* metadata file */
	vstd_io *data_io; /* data: io, or the external data file */
	int writable;
	int corrupt; /* opened read-only because of the corrupt bit */
	int dirty_on_open;

	uint8_t *cbuf;               /* compressed-input scratch (2 clusters + 512) */
	uint8_t *cluster_buf;        /* one cluster of scratch (COW, decompression) */
	uint8_t *cow_buf;            /* one cluster for copy-on-write */
	uint8_t *zero_buf;           /* one cluster of zeroes */
	uint64_t cached_cluster_off; /* host descriptor of the cluster in cluster_buf, 0: none */
	const char *name;
	vstd_disk *d;

	/* snapshot views: read-only windows on the parent's state */
	struct qcow2 *parent;
	vstd_disk *parent_disk;
	uint64_t *view_l1;
	uint32_t view_l1_size;
};

static inline struct qcow2 *qcow2_of(vstd_disk *d)
{
	return d->priv;
}
static inline uint64_t qcow2_align(const struct qcow2 *s, uint64_t v)
{
	return (v + s->cluster_size - 1) & ~(s->cluster_size - 1);
}
static inline uint64_t qcow2_size_to_clusters(const struct qcow2 *s, uint64_t v)
{
	return (v + s->cluster_size - 1) >> s->cluster_bits;
}

/* ---- header.c ---- */
/* Parse and validate the header and extensions from io (sets geometry). */
int qcow2_header_read(struct qcow2 *s, vstd_io *io, uint64_t file_size);
/* Derive geometry from cluster_bits/refcount_order/ext_l2 (also used by create). */
int qcow2_geometry(struct qcow2 *s);
/* Serialize header + extensions + backing name into buf (cluster_size
 * bytes).  VSTD_ELIMIT when they do not fit. */
int qcow2_header_build(const struct qcow2 *s, const char *backing, uint8_t *buf);
/* Rewrite the whole header cluster from s (and backing name). */
int qcow2_header_write(struct qcow2 *s, const char *backing);
/* Rewrite only the incompatible-feature word (v3). */
int qcow2_header_write_incompat(struct qcow2 *s);
void qcow2_header_free(struct qcow2 *s);
/* Name of an incompatible feature bit, from the image's table or ours. */
const char *qcow2_feature_name(const struct qcow2 *s, int type, unsigned bit, char *buf,
                               size_t len);

/* ---- refcount.c ---- */
int qcow2_refcount_open(struct qcow2 *s, uint64_t file_size);
int qcow2_refcount_get(struct qcow2 *s, uint64_t cluster, uint64_t *rc);
/* Add delta (+1/-1...) to the refcount of `n` clusters starting at host offset. */
int qcow2_refcount_update(struct qcow2 *s, uint64_t off, uint64_t n, int64_t delta);
/* Allocate n contiguous clusters (refcount 1 each); *off gets the first. */
int qcow2_alloc_clusters(struct qcow2 *s, uint64_t n, uint64_t *off);
/* Allocate exactly at `off` as many of n clusters as are free (*got). */
int qcow2_alloc_clusters_at(struct qcow2 *s, uint64_t off, uint64_t n, uint64_t *got);
/* Drop a reference at the next flush (crash safe ordering). */
int qcow2_free_deferred(struct qcow2 *s, uint64_t off, uint64_t n);
/* Apply deferred frees now (after the references are durable). */
int qcow2_apply_pending_frees(struct qcow2 *s);
/* End of the last used cluster (bytes). */
int qcow2_image_end(struct qcow2 *s, uint64_t *end);
/* Write dirty refcount table clusters; returns how many. */
int qcow2_rt_writeback(struct qcow2 *s);

/* ---- l1l2.c ---- */
enum qcow2_ctype {
	QCOW2_C_UNALLOC,    /* read from backing */
	QCOW2_C_ZERO,       /* reads as zeroes (zero flag, or unallocated+no backing ... ) */
	QCOW2_C_ZERO_ALLOC, /* zero flag with preallocated host cluster */
	QCOW2_C_NORMAL,
	QCOW2_C_COMPRESSED
};
struct qcow2_map {
	enum qcow2_ctype type;
	uint64_t host; /* host offset of the byte asked (NORMAL), descriptor (COMPRESSED) */
	uint64_t len;  /* bytes with this mapping, contiguous on the host for NORMAL */
};
/* Map guest [off, off+max) with the given L1 (its first run). */
int qcow2_map_range(struct qcow2 *s, const uint64_t *l1, uint32_t l1_size, uint64_t off,
                    uint64_t max, struct qcow2_map *m);
/* L2 table for guest offset off, made writable (allocated/COWed as needed). */
int qcow2_l2_for_write(struct qcow2 *s, uint64_t off, uint8_t **l2, uint64_t *l2_off);
void qcow2_l1_set(struct qcow2 *s, uint64_t idx, uint64_t val);
int qcow2_l1_writeback(struct qcow2 *s); /* returns blocks written */
int qcow2_l1_grow(struct qcow2 *s, uint64_t min_size);
static inline uint64_t qcow2_l2e_get(const struct qcow2 *s, const uint8_t *l2, uint64_t i)
{
	uint64_t v;
	const uint8_t *p = l2 + i * s->l2_entry_size;
	v = ((uint64_t)p[0] << 56) | ((uint64_t)p[1] << 48) | ((uint64_t)p[2] << 40) |
	    ((uint64_t)p[3] << 32) | ((uint64_t)p[4] << 24) | ((uint64_t)p[5] << 16) |
	    ((uint64_t)p[6] << 8) | p[7];
	return v;
}
static inline uint64_t qcow2_l2e_bitmap(const struct qcow2 *s, const uint8_t *l2, uint64_t i)
{
	const uint8_t *p = l2 + i * s->l2_entry_size + 8;
	if (!s->ext_l2)
		return 0;
	return ((uint64_t)p[0] << 56) | ((uint64_t)p[1] << 48) | ((uint64_t)p[2] << 40) |
	       ((uint64_t)p[3] << 32) | ((uint64_t)p[4] << 24) | ((uint64_t)p[5] << 16) |
	       ((uint64_t)p[6] << 8) | p[7];
}
void qcow2_l2e_set(const struct qcow2 *s, uint8_t *l2, uint64_t i, uint64_t e, uint64_t bitmap);
/* Compressed descriptor -> host offset and byte length. */
void qcow2_compressed_loc(const struct qcow2 *s, uint64_t e, uint64_t *off, uint64_t *len);

/* ---- compress.c ---- */
int qcow2_decompress(struct qcow2 *s, uint64_t descriptor, uint8_t *out);
int qcow2_compress_buf(int type, const void *in, size_t in_len, void *out, size_t out_cap,
                       size_t *out_len);

/* ---- rw.c ---- */
int qcow2_read(vstd_disk *d, uint64_t off, void *buf, size_t len);
int qcow2_write(vstd_disk *d, uint64_t off, const void *buf, size_t len);
int qcow2_write_zeroes(vstd_disk *d, uint64_t off, uint64_t len, unsigned flags);
int qcow2_discard(vstd_disk *d, uint64_t off, uint64_t len);
int qcow2_block_status(vstd_disk *d, uint64_t off, uint64_t max_len, vstd_block_status *st);
int qcow2_write_compressed(vstd_disk *d, uint64_t off, const void *data, size_t len);
/* Read through an arbitrary L1 (snapshot views). */
int qcow2_read_l1(struct qcow2 *s, vstd_disk *below, const uint64_t *l1, uint32_t l1_size,
                  uint64_t off, void *buf, size_t len);

/* ---- driver.c ---- */
/* The crash-safe flush sequence: refcounts, L2, L1, deferred frees.  With
 * lazy refcounts, the refcount blocks are left in the cache (the dirty bit
 * is set first) unless new blocks were made. */
int qcow2_flush_metadata(struct qcow2 *s);
/* Everything to the file in order, then clear the dirty bit (lazy refcounts). */
int qcow2_mark_clean(struct qcow2 *s);
int qcow2_mark_corrupt(struct qcow2 *s);

/* ---- bitmaps.c ---- */
/* Before the first change of guest-visible contents: flag every persistent
 * bitmap "in use" (we do not track writes in them), durable. */
int qcow2_before_change(struct qcow2 *s);

/* ---- snapshot.c ---- */
int qcow2_snapshots_read(struct qcow2 *s, uint64_t file_size);
void qcow2_snapshots_free(struct qcow2 *s);
int qcow2_snapshot_list(vstd_disk *d, vstd_disk_snapshot **list, size_t *count);
int qcow2_snapshot_create(vstd_disk *d, const char *name);
int qcow2_snapshot_apply(vstd_disk *d, const char *name);
int qcow2_snapshot_delete(vstd_disk *d, const char *name);
int qcow2_snapshot_open(vstd_disk *view, vstd_disk *d, const char *name);
/* Read an L1 table of l1_size entries at off (validated). */
int qcow2_l1_load(struct qcow2 *s, uint64_t off, uint32_t l1_size, uint64_t file_size,
                  uint64_t **out, const char *what);

/* Walk the tree of an L1 table adding `addend` to the refcount of every L2
 * table and data cluster; with fix_copied, set the COPIED flags of the
 * active tables from the resulting refcounts. */
int qcow2_update_tree(struct qcow2 *s, const uint64_t *l1, uint32_t l1_size, int64_t addend,
                      int fix_copied);

/* ---- check.c ---- */
int qcow2_check(vstd_disk *d, unsigned flags, vstd_disk_check_result *res);
/* The refcount every cluster of the file should have (an array of *n,
 * saturating); *problems counts what the walk could not account for. */
int qcow2_expected_refcounts(struct qcow2 *s, uint32_t **out, uint64_t *n, uint64_t *problems);

/* ---- create.c ---- */
#define QCOW2_N_CREATE_OPTIONS 12
extern const vstd_disk_option_desc qcow2_create_options[QCOW2_N_CREATE_OPTIONS];
int qcow2_preallocate(vstd_disk *d, uint64_t from, uint64_t to, enum vstd_prealloc mode);
int qcow2_create(vstd_io *io, const struct vstd_disk_create_args *args);
int qcow2_measure(const struct vstd_disk_create_args *args, vstd_disk *src,
                  vstd_disk_measure_result *res);
int qcow2_amend(vstd_disk *d, vstd_kv *options, vstd_progress_fn progress, void *opaque);

/* ---- downgrade.c ---- */
/* amend compat=0.10: refuse what version 2 cannot hold, expand zero
 * clusters, rewrite the header in its version 2 form. */
int qcow2_downgrade(struct qcow2 *s, vstd_disk *d);
/* The refusals alone (refcount_bits: the width the image will have). */
int qcow2_downgrade_check(struct qcow2 *s, uint32_t refcount_bits);

#endif
