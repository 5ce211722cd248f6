/*
 * disk/vmdk/vmdk_internal.h - state shared by the VMDK driver's files.
 *
 * A VMDK disk is a text descriptor (embedded in a sparse extent or a file
 * of its own) listing extents in guest order.  Each extent is FLAT (plain
 * bytes in a file at an offset), ZERO, a hosted SPARSE extent (header
 * "KDMV", grain directory and grain tables; streamOptimized ones hold
 * compressed grains and markers), VMFSSPARSE ("COWD") or SESPARSE.
 * docs/formats/vmdk.md describes the layouts.
 */
#ifndef VSTD_DISK_VMDK_INTERNAL_H
#define VSTD_DISK_VMDK_INTERNAL_H

#include <stdint.h>

#include "disk/driver.h"

#define VMDK_SECTOR 512u
#define VMDK4_MAGIC 0x564d444bu /* "KDMV" little endian */
#define VMDK3_MAGIC 0x44574f43u /* "COWD" little endian */
#define VMDK_GD_AT_END UINT64_MAX

#define VMDK4_FLAG_NL_DETECT 0x1u
#define VMDK4_FLAG_RGD 0x2u
#define VMDK4_FLAG_ZERO_GRAIN 0x4u
#define VMDK4_FLAG_COMPRESS 0x10000u
#define VMDK4_FLAG_MARKER 0x20000u

#define VMDK_MARKER_EOS 0
#define VMDK_MARKER_GT 1
#define VMDK_MARKER_GD 2
#define VMDK_MARKER_FOOTER 3

/* Safety limits (hostile images). */
#define VMDK_MAX_EXTENTS 65536u
#define VMDK_MAX_DESC_SIZE ((uint64_t)4 << 20)
#define VMDK_MAX_GRAIN ((uint64_t)64 << 20)
#define VMDK_MAX_GTES (1u << 16)
#define VMDK_MAX_METADATA ((uint64_t)1 << 30) /* grain tables held in memory */

enum vmdk_ext_type {
	VMDK_EXT_FLAT,
	VMDK_EXT_ZERO,
	VMDK_EXT_SPARSE, /* hosted sparse, also streamOptimized */
	VMDK_EXT_COWD,   /* vmfsSparse / ESX 2 "COWD" */
	VMDK_EXT_SESPARSE,
};

/* Where a grain is. */
enum vmdk_grain_kind {
	VMDK_GRAIN_UNALLOC,
	VMDK_GRAIN_ZERO,
	VMDK_GRAIN_DATA,
	VMDK_GRAIN_COMPRESSED
};

struct vmdk_extent {
	enum vmdk_ext_type type;
	const char *type_name; /* as in the descriptor: "SPARSE", "FLAT" ... */
	char *path;            /* resolved path (NULL: the descriptor's io) */
	char *name;            /* as written in the descriptor */
	vstd_io *io;
	int owns_io;
	int read_only; /* RDONLY / NOACCESS access */
	int no_access;
	uint64_t vstart;   /* guest byte offset of the extent */
	uint64_t vlen;     /* bytes */
	uint64_t flat_off; /* FLAT: byte offset in the file */

	/* sparse extents */
	uint32_t version;
	uint32_t flags;
	uint64_t capacity;        /* bytes the header covers */
	uint64_t grain;           /* grain size in bytes */
	uint32_t ngte;            /* entries per grain table */
	uint64_t gd_off, rgd_off; /* bytes; 0: none */
	uint64_t n_gd;            /* grain directory entries */
	uint32_t *gd, *rgd;       /* sector numbers of the tables */
	uint32_t **gt;            /* loaded tables, by directory index */
	uint8_t *gt_dirty;        /* stream: tables to write at flush */
	uint64_t gt_bytes;        /* memory held by gt */
	int compressed, markers, zeroed_grain, unclean;
	uint64_t file_end;            /* where the next allocation goes */
	uint64_t desc_off, desc_size; /* embedded descriptor (bytes) */
	uint8_t hdr[VMDK_SECTOR];     /* the header as read (for rewriting) */

	/* streamOptimized writing */
	int footer;       /* GD_AT_END: metadata at the tail */
	int stream_dirty; /* metadata must be rewritten at flush */
	uint8_t *pend;    /* one-grain write buffer */
	uint64_t pend_grain;
	int pend_valid;
	uint8_t *zbuf; /* compressed-grain buffer */
	size_t zbuf_cap;
	void *inflater; /* z_stream for reading grains (stream.c), or NULL */
	uint8_t *cache; /* last decompressed grain */
	uint64_t cache_grain;
	int cache_valid;

	/* seSparse */
	uint64_t se_gd_off, se_gd_len, se_gt_off, se_grain_off; /* bytes */
	uint64_t se_gt_len;
	uint64_t se_n_gd;
};

struct vmdk_desc_extent {
	char access[16];
	uint64_t sectors;
	char type[24];
	char *file;      /* NULL for ZERO */
	uint64_t offset; /* sectors (FLAT) */
};

struct vmdk_desc {
	uint32_t cid, parent_cid;
	int has_cid;
	int version;
	char *create_type;
	char *parent_hint;
	char *adapter_type;
	char *hwversion;
	char *toolsversion;
	struct vmdk_desc_extent *ext;
	size_t n_ext;
};

struct vmdk_state {
	struct vmdk_desc desc;
	char *desc_text; /* raw descriptor */
	size_t desc_len;
	int desc_embedded; /* inside extent 0's sparse file */
	struct vmdk_extent *ext;
	size_t n_ext;
	int cid_updated;
	int parent_checked;
};

/* descriptor.c */
int vmdk_desc_parse(const char *text, size_t len, const char *name, struct vmdk_desc *out);
void vmdk_desc_clear(struct vmdk_desc *desc);
/* A new descriptor text (caller frees with vstd_free). */
char *vmdk_desc_format(const struct vmdk_desc *desc, uint64_t size);
/* Replace the CID value in a descriptor text in place (same width). */
int vmdk_desc_set_cid(char *text, size_t len, uint32_t cid);
/* A copy of the descriptor with extent `index`'s sector count replaced. */
char *vmdk_desc_set_extent_sectors(const char *text, size_t len, size_t index, uint64_t sectors);
/* A copy of the descriptor keeping its first `keep` (>= 1) extent lines,
 * `lines` (whole extent lines, may be empty) inserted after them, the
 * extent lines after them left out; everything else unchanged. */
char *vmdk_desc_edit_extents(const char *text, size_t len, size_t keep, const char *lines);
/* A copy with ddb.geometry.cylinders recomputed for `size` bytes (heads
 * and sectors from the descriptor; unchanged when it has no such line). */
char *vmdk_desc_set_cylinders(const char *text, size_t len, uint64_t size);

/* extent.c */
int vmdk_extent_open_file(vstd_disk *d, struct vmdk_extent *e, const char *file, int writable);
struct vmdk_extent *vmdk_extent_find(struct vmdk_state *s, uint64_t off);
void vmdk_extent_free(struct vmdk_extent *e);
int vmdk_flat_read(vstd_disk *d, struct vmdk_extent *e, uint64_t rel, void *buf, size_t len);

/* sparse.c */
int vmdk_sparse_parse_header(const char *name, const uint8_t *h, uint64_t file_size,
                             struct vmdk_extent *e);
int vmdk_sparse_open(vstd_disk *d, struct vmdk_extent *e);
int vmdk_sparse_lookup(vstd_disk *d, struct vmdk_extent *e, uint64_t grain_idx,
                       enum vmdk_grain_kind *kind, uint64_t *host);
int vmdk_sparse_set_gte(vstd_disk *d, struct vmdk_extent *e, uint64_t grain_idx, uint32_t val);
int vmdk_sparse_read(vstd_disk *d, struct vmdk_extent *e, uint64_t rel, void *buf, size_t len);
int vmdk_sparse_write(vstd_disk *d, struct vmdk_extent *e, uint64_t rel, const void *buf,
                      size_t len);
/* A new zeroed grain table (and redundant copy) for directory entry gdi. */
int vmdk_sparse_alloc_gt(vstd_disk *d, struct vmdk_extent *e, uint64_t gdi);
int vmdk_sparse_load_gt(vstd_disk *d, struct vmdk_extent *e, uint64_t gdi);
/* Shrink a hosted sparse extent (grains past the end dropped). */
int vmdk_sparse_shrink(vstd_disk *d, struct vmdk_extent *e, uint64_t new_len);
/* Header capacity past the descriptor's length with nothing allocated
 * there (an interrupted resize): the capacity brought back (0: done or
 * nothing to do). */
int vmdk_sparse_reconcile(vstd_disk *d, struct vmdk_extent *e);
void vmdk_sparse_build_header(uint8_t *h, uint32_t version, uint32_t flags, uint64_t capacity,
                              uint64_t grain, uint64_t desc_off, uint64_t desc_size,
                              uint64_t rgd_off, uint64_t gd_off, uint64_t overhead);
/* Write an empty hosted sparse extent (non-stream) holding `desc` if given. */
int vmdk_sparse_create(vstd_io *io, uint64_t capacity, int zeroed_grain, const char *desc);
/* The same with a given layout (split growth copies an existing extent's):
 * header, optional descriptor area at sector 1, redundant directory and
 * its tables (when `redundant`), directory and tables, all tables
 * preallocated and zero, the first grain at a grain boundary. */
struct vmdk_sparse_layout {
	uint64_t grain; /* bytes, a multiple of 512 */
	uint64_t ngte;  /* entries per grain table */
	int redundant;  /* a redundant grain directory */
	uint32_t version, flags;
	uint64_t desc_sectors; /* embedded descriptor area (0: none) */
};
int vmdk_sparse_create_layout(vstd_io *io, uint64_t capacity, const struct vmdk_sparse_layout *l,
                              const char *desc);

/* stream.c */
/* Free the extent's grain inflater (vmdk_extent_free). */
void vmdk_stream_free_inflater(struct vmdk_extent *e);
int vmdk_stream_read_grain(vstd_disk *d, struct vmdk_extent *e, uint64_t grain_idx, uint64_t host,
                           uint8_t *out);
int vmdk_stream_write(vstd_disk *d, struct vmdk_extent *e, uint64_t rel, const void *buf,
                      size_t len);
int vmdk_stream_flush(vstd_disk *d, struct vmdk_extent *e);
/* Grow a streamOptimized extent (directory, header, footer rewritten). */
int vmdk_stream_grow(vstd_disk *d, struct vmdk_extent *e, uint64_t new_len);
int vmdk_stream_put_compressed(vstd_disk *d, struct vmdk_extent *e, uint64_t grain_idx,
                               const void *z, size_t zlen);
int vmdk_stream_create(vstd_io *io, uint64_t capacity, const char *desc);
int vmdk_looks_random(const void *in, size_t len);
int vmdk_deflate(const void *in, size_t in_len, void *out, size_t out_cap, size_t *out_len);
int vmdk_stream_begin_write(vstd_disk *d, struct vmdk_extent *e);

/* driver.c */
int vmdk_grow_last(vstd_disk *d, struct vmdk_state *s, uint64_t new_len);

/* split.c */
/* 1 for createType twoGbMaxExtentSparse / twoGbMaxExtentFlat. */
int vmdk_split_type(const struct vmdk_state *s);
/* The most bytes one extent of this split image may hold. */
uint64_t vmdk_split_extent_max(const struct vmdk_state *s);
/* Grow a split image past its last extent (fill it, add extents). */
int vmdk_split_grow(vstd_disk *d, struct vmdk_state *s, uint64_t size);
/* Shrink a split image, dropping whole trailing extents. */
int vmdk_split_shrink(vstd_disk *d, struct vmdk_state *s, uint64_t size);
/* Make `text` (taken over, freed on failure) the image's descriptor:
 * embedded ones are rewritten in their area, a descriptor file is
 * replaced in one step (temporary file, flush, rename). */
int vmdk_desc_store(vstd_disk *d, struct vmdk_state *s, char *text);

/* sesparse.c */
int vmdk_sesparse_open(vstd_disk *d, struct vmdk_extent *e);
int vmdk_sesparse_read(vstd_disk *d, struct vmdk_extent *e, uint64_t rel, void *buf, size_t len);
int vmdk_sesparse_status(vstd_disk *d, struct vmdk_extent *e, uint64_t rel, uint64_t max,
                         vstd_block_status *st);

extern const struct vstd_disk_driver vstd_driver_vmdk;

#endif
