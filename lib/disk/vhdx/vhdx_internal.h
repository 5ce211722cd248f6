/*
 * disk/vhdx/vhdx_internal.h - state shared by the VHDX driver's files.
 *
 * Layout (docs/formats/vhdx.md): file identifier at 0, two headers at 64
 * and 128 KiB, two region tables at 192 and 256 KiB, then (anywhere, 1 MiB
 * aligned) the log, the metadata region and the BAT named by the region
 * table, and payload / sector-bitmap blocks named by the BAT.
 */
#ifndef VSTD_DISK_VHDX_INTERNAL_H
#define VSTD_DISK_VHDX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "disk/driver.h"

#define VHDX_MIB ((uint64_t)1 << 20)
#define VHDX_HEADER1 ((uint64_t)64 << 10)
#define VHDX_HEADER2 ((uint64_t)128 << 10)
#define VHDX_REGION1 ((uint64_t)192 << 10)
#define VHDX_REGION2 ((uint64_t)256 << 10)
#define VHDX_HEADER_SIZE 4096
#define VHDX_REGION_SIZE ((size_t)64 << 10)

#define VHDX_SIG_HEAD 0x64616568u /* "head" */
#define VHDX_SIG_REGI 0x69676572u /* "regi" */
#define VHDX_SIG_LOGE 0x65676f6cu /* "loge" */
#define VHDX_SIG_ZERO 0x6f72657au /* "zero" */
#define VHDX_SIG_DESC 0x63736564u /* "desc" */
#define VHDX_SIG_DATA 0x61746164u /* "data" */

/* BAT entry states */
#define VHDX_PAYLOAD_NOT_PRESENT 0
#define VHDX_PAYLOAD_UNDEFINED 1
#define VHDX_PAYLOAD_ZERO 2
#define VHDX_PAYLOAD_UNMAPPED 3
#define VHDX_PAYLOAD_FULLY_PRESENT 6
#define VHDX_PAYLOAD_PARTIALLY_PRESENT 7
#define VHDX_SB_NOT_PRESENT 0
#define VHDX_SB_PRESENT 6

/* Safety limits */
#define VHDX_MAX_LOG ((uint64_t)256 << 20)
#define VHDX_MAX_BAT ((uint64_t)1 << 30)

typedef struct {
	uint8_t b[16];
} vhdx_guid;

struct vhdx_header {
	uint64_t seq;
	vhdx_guid file_write, data_write, log_guid;
	uint16_t log_version, version;
	uint32_t log_length;
	uint64_t log_offset;
};

/* A write found in the log: `len` bytes at `off`, data NULL for zeroes. */
struct vhdx_log_write {
	uint64_t off, len;
	uint8_t *data;
};

struct vhdx_log_replay {
	struct vhdx_log_write *w;
	size_t n, cap;
	uint64_t last_file_offset, flushed_file_offset;
	uint64_t seq;
};

struct vhdx_sb_page {
	uint64_t off;
	uint8_t *data; /* 4 KiB */
};

struct vhdx_state {
	vstd_io *io;      /* d->io, or a replay overlay over it */
	vstd_io *overlay; /* owned overlay (read-only replay) */
	struct vhdx_log_replay replayed;
	struct vhdx_header hdr;
	int cur_header; /* 0 or 1: slot of hdr */
	uint64_t bat_off, bat_len, meta_off, meta_len;
	/* metadata */
	uint32_t block_size, lsec, psec;
	int leave_alloc, has_parent;
	uint64_t vsize;
	uint64_t vsize_at; /* file offset of the disk size item */
	vhdx_guid page83;
	char *parent_linkage; /* "{...}" as recorded */
	char *parent_rel, *parent_abs, *parent_vol;
	/* BAT */
	uint64_t chunk_ratio, n_payload, n_sb, n_entries;
	uint64_t *bat;
	uint8_t *bat_dirty; /* per 4 KiB page of the BAT */
	int dirty_any;
	/* differencing: sector bitmap pages changed since the last flush
	 * (file offset and 4 KiB content each), written through the log */
	struct vhdx_sb_page *sb_pages;
	size_t n_sb_pages, cap_sb_pages;
	uint64_t file_end; /* next allocation (1 MiB aligned) */
	int headers_updated;
	uint64_t log_seq; /* last log sequence used */
	int parent_checked;
};

/* crc32c.c */
uint32_t vhdx_crc32c(const void *data, size_t len);
uint32_t vhdx_crc32c_skip(const uint8_t *data, size_t len, size_t field);

/* header.c */
void vhdx_guid_load(vhdx_guid *g, const uint8_t *p);
int vhdx_guid_is_zero(const vhdx_guid *g);
void vhdx_guid_random(vhdx_guid *g);
void vhdx_guid_format(const vhdx_guid *g, char out[39]);
int vhdx_headers_read(vstd_disk *d, struct vhdx_state *s);
void vhdx_header_build(uint8_t *buf, const struct vhdx_header *h);
/* Write hdr (seq+1) into the older slot, and make it current. */
int vhdx_header_update(vstd_disk *d, struct vhdx_state *s);

/* region.c */
int vhdx_regions_read(vstd_disk *d, struct vhdx_state *s, uint64_t file_size);
/* Point both region tables at a BAT at bat_off (crash-safe order). */
int vhdx_region_set_bat(vstd_disk *d, struct vhdx_state *s, uint64_t bat_off, uint32_t bat_len);
void vhdx_region_build(uint8_t *buf, uint64_t bat_off, uint32_t bat_len, uint64_t meta_off,
                       uint32_t meta_len);

/* metadata.c */
int vhdx_metadata_read(vstd_disk *d, struct vhdx_state *s);
size_t vhdx_metadata_build(uint8_t *buf, size_t cap, uint32_t block_size, int leave_alloc,
                           uint64_t vsize, uint32_t lsec, uint32_t psec, const char *parent_rel,
                           const char *parent_abs, const vhdx_guid *parent_link);

/* bat.c */
int vhdx_bat_read(vstd_disk *d, struct vhdx_state *s, uint64_t file_size);
int vhdx_bat_set(vstd_disk *d, struct vhdx_state *s, uint64_t idx, uint64_t entry);
int vhdx_bat_flush(vstd_disk *d, struct vhdx_state *s);
/* Differencing: sectors [first, first + count) of block b (sector numbers
 * inside the block) became present in this file: allocate the chunk's
 * sector bitmap block if needed (at s->file_end) and set their bits (in
 * memory; written through the log at the next BAT flush). */
int vhdx_sb_set(vstd_disk *d, struct vhdx_state *s, uint64_t b, uint64_t first, uint64_t count);
/* The bitmap bit of sector `sec` (inside block b), pending changes
 * included: 1 present here, 0 not; < 0 error. */
int vhdx_sb_get(vstd_disk *d, struct vhdx_state *s, uint64_t b, uint64_t sec);
/* Bitmap bytes [byte, byte + len) of block b's chunk bitmap (pending
 * changes included) into out. */
int vhdx_sb_read(vstd_disk *d, struct vhdx_state *s, uint64_t b, uint64_t byte, uint8_t *out,
                 size_t len);
void vhdx_sb_pages_free(struct vhdx_state *s);
/* BAT entries for np payload blocks (sector bitmap entries included). */
uint64_t vhdx_bat_entries(const struct vhdx_state *s, uint64_t np);
/* Grow (new entries zero, marked dirty) or cut the in-memory BAT. */
int vhdx_bat_resize(vstd_disk *d, struct vhdx_state *s, uint64_t ne);
/* Write the whole in-memory BAT at the end of the file and switch the
 * region tables to it (for a BAT that outgrew its region). */
int vhdx_bat_relocate(vstd_disk *d, struct vhdx_state *s);
uint64_t vhdx_bat_payload_index(const struct vhdx_state *s, uint64_t block);
uint64_t vhdx_bat_sb_index(const struct vhdx_state *s, uint64_t block);

/* driver.c */
int vhdx_read_host(struct vhdx_state *s, void *buf, size_t len, uint64_t off);

/* log.c */
int vhdx_log_find(vstd_disk *d, struct vhdx_state *s, vstd_io *io, uint64_t file_size,
                  struct vhdx_log_replay *out);
int vhdx_log_apply(vstd_disk *d, struct vhdx_state *s, const struct vhdx_log_replay *r);
int vhdx_log_overlay(vstd_disk *d, struct vhdx_state *s);
void vhdx_log_replay_clear(struct vhdx_log_replay *r);
/* Write `n` 4 KiB pages (offsets offs[], data pages[]) through the log. */
int vhdx_log_write(vstd_disk *d, struct vhdx_state *s, const uint64_t *offs, uint8_t *const *pages,
                   size_t n);

extern const struct vstd_disk_driver vstd_driver_vhdx;

#endif
