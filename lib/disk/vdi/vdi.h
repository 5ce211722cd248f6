/*
 * disk/vdi/vdi.h - the VirtualBox VDI driver's private structures.
 *
 * docs/formats/vdi.md describes the format.  header.c: the pre-header and
 * the version 1.1 header; blockmap.c: the block map; driver.c: open, read,
 * write, map, create, resize, check, measure, info.
 */
#ifndef VSTD_DISK_VDI_H
#define VSTD_DISK_VDI_H

#include <stdint.h>

#include "disk/driver.h"

#define VDI_SIGNATURE 0xbeda107fu
#define VDI_VERSION_1_1 0x00010001u
#define VDI_HEADER_END 512u        /* we read (and write) the first 512 bytes */
#define VDI_HEADER_SIZE_MIN 0x180u /* what qemu writes (no LCHS) */
#define VDI_HEADER_SIZE_V11 0x190u /* what VirtualBox writes */
#define VDI_BLOCK_FREE 0xffffffffu /* not allocated: zeroes, or the parent's data */
#define VDI_BLOCK_ZERO 0xfffffffeu /* reads as zeroes */
#define VDI_DEFAULT_BLOCK_SIZE (UINT32_C(1) << 20)
#define VDI_MAX_BLOCK_SIZE (UINT32_C(256) << 20)
#define VDI_MAX_BLOCKS (UINT32_C(1) << 28)

enum vdi_type { VDI_NORMAL = 1, VDI_FIXED = 2, VDI_UNDO = 3, VDI_DIFF = 4 };
/* vstd's "resize in progress" marker in the type field (resize.c): no
 * reader accepts it, vstd finishes the resize at a read-write open */
#define VDI_RESIZING 0x7a697376u

struct vdi_header {
	char text[65];
	uint32_t signature;
	uint32_t version;
	uint32_t header_size;
	uint32_t type;
	uint32_t flags;
	char description[257];
	uint32_t offset_bmap;
	uint32_t offset_data;
	uint32_t cylinders, heads, sectors, sector_size; /* legacy geometry */
	uint64_t disk_size;
	uint32_t block_size;
	uint32_t block_extra;
	uint32_t blocks;
	uint32_t blocks_allocated;
	uint8_t uuid_create[16];
	uint8_t uuid_modify[16];
	uint8_t uuid_link[16];          /* differencing: the parent's uuid_create */
	uint8_t uuid_parent_modify[16]; /* the parent's uuid_modify when linked */
	uint32_t lchs_cylinders, lchs_heads, lchs_sectors, lchs_sector_size;
};

struct vdi_state {
	struct vdi_header h;
	uint32_t *bmap; /* block index per block, VDI_BLOCK_FREE/ZERO */
	uint8_t *bad;   /* per block: 1 past EOF, 2 shared/out of range (NULL: none) */
	uint64_t n_bad;
	uint64_t file_size;
	uint32_t next_index; /* next block index to allocate */
	uint8_t *dirty;      /* per 512-byte block map sector */
	int meta_dirty;      /* block map or header newer than the file */
};

/* header.c */
int vdi_header_parse(const uint8_t *raw, struct vdi_header *h, const char *name);
void vdi_header_write(const struct vdi_header *h, uint8_t raw[VDI_HEADER_END]);
int vdi_header_probe(const uint8_t *raw, size_t len);

/* blockmap.c */
int vdi_bmap_load(vstd_disk *d, struct vdi_state *s);
int vdi_bmap_set(vstd_disk *d, struct vdi_state *s, uint32_t block, uint32_t value);
int vdi_meta_flush(vstd_disk *d, struct vdi_state *s);
uint64_t vdi_block_offset(const struct vdi_state *s, uint32_t index);
int vdi_bad_block_error(vstd_disk *d, struct vdi_state *s, uint32_t block);

/* grow.c */
/* Change the disk size (the driver's truncate). */
int vdi_resize(vstd_disk *d, struct vdi_state *s, uint64_t size, enum vstd_prealloc pa);
/* New blocks' data [from, to): zeroes below file_size, then extended per pa. */
int vdi_fill_new(vstd_io *io, uint64_t from, uint64_t to, uint64_t file_size,
                 enum vstd_prealloc pa);

/* resize.c */
/* Grow the block map to nb entries when data blocks follow it; the first
 * `add` new blocks are allocated in order after the existing data. */
int vdi_grow_map(vstd_disk *d, struct vdi_state *s, uint32_t nb, uint64_t size, uint32_t add,
                 enum vstd_prealloc pa);
int vdi_resize_pending(const struct vdi_header *h);
/* Finish an interrupted grow from its journal (read-write opens only). */
int vdi_resize_resume(vstd_disk *d, const struct vdi_header *hm, uint64_t file_size);

/* parent.c */
int vdi_find_parent(vstd_disk *d, struct vdi_state *s);

#endif
