/*
 * disk/vpc/vpc.h - the VHD ("vpc") driver's private structures.
 *
 * docs/formats/vhd.md describes the format.  One file per on-disk
 * structure: footer.c (the 512-byte footer and its checksum), geometry.c
 * (CHS and the virtual size rule), dynamic_header.c (the sparse header),
 * parent_locator.c (where a differencing image's parent is), bat.c (block
 * allocation table and sector bitmaps), create.c, check.c, driver.c.
 */
#ifndef VSTD_DISK_VPC_H
#define VSTD_DISK_VPC_H

#include <stdint.h>

#include "disk/driver.h"

#define VPC_SECTOR 512u
#define VPC_FOOTER_SIZE 512u
#define VPC_DYN_HEADER_SIZE 1024u
#define VPC_BAT_UNUSED 0xffffffffu
#define VPC_NO_OFFSET UINT64_C(0xffffffffffffffff)

enum vpc_type { VPC_FIXED = 2, VPC_DYNAMIC = 3, VPC_DIFF = 4 };

/* Largest CHS product (cylinders 65535, 16 heads, 255 sectors per track). */
#define VPC_MAX_CHS_SECTORS (UINT64_C(65535) * 16 * 255)
/* The spec's limit on a sparse image: 2040 GiB. */
#define VPC_MAX_SIZE (UINT64_C(2040) << 30)
/* Our bound on the BAT (entries) and block size. */
#define VPC_MAX_BAT_ENTRIES (UINT32_C(1) << 28)
#define VPC_MAX_BLOCK_SIZE (UINT32_C(256) << 20)
#define VPC_DEFAULT_BLOCK_SIZE (UINT32_C(2) << 20)

/* Seconds between the Unix epoch and 2000-01-01 00:00:00 UTC. */
#define VPC_EPOCH_OFFSET 946684800u

struct vpc_footer {
	uint32_t features;
	uint32_t version;
	uint64_t data_offset;
	uint32_t timestamp;
	char creator_app[5];
	uint32_t creator_version;
	uint32_t creator_os;
	uint64_t original_size;
	uint64_t current_size;
	uint16_t cylinders;
	uint8_t heads;
	uint8_t spt;
	uint32_t type;
	uint32_t checksum;
	uint8_t uuid[16];
	uint8_t saved_state;
};

struct vpc_locator {
	uint32_t code;   /* 'W2ru', 'W2ku', 'MacX', ... */
	uint32_t space;  /* as recorded (sectors by the spec, bytes by some writers) */
	uint32_t length; /* bytes of platform data */
	uint64_t offset; /* where the data is */
};

struct vpc_dyn_header {
	uint64_t data_offset;
	uint64_t table_offset;
	uint32_t version;
	uint32_t max_entries;
	uint32_t block_size;
	uint32_t checksum;
	uint8_t parent_uuid[16];
	uint32_t parent_timestamp;
	uint8_t parent_name[512]; /* UTF-16BE as stored */
	struct vpc_locator loc[8];
};

struct vpc_state {
	struct vpc_footer footer;
	uint8_t footer_raw[VPC_FOOTER_SIZE];
	uint64_t footer_off; /* the trailing footer's offset (dynamic: image end) */
	int use_chs;         /* the virtual size comes from the CHS geometry */
	struct vpc_dyn_header dyn;
	uint64_t dyn_off;
	uint32_t *bat;    /* host sector of each block, VPC_BAT_UNUSED */
	uint8_t *bat_bad; /* per entry: 1 past EOF, 2 overlapping (NULL: none) */
	uint64_t n_bad;
	uint32_t n_entries;
	uint32_t block_size;
	uint32_t bitmap_size; /* bytes before each block's data (sector aligned) */
	uint64_t file_size;
	uint64_t used_end;       /* end of everything the metadata references */
	int head_footer_differs; /* the copy at 0 disagrees with the trailing footer */
	int bat_dirty;           /* in-memory BAT newer than the file */
	uint8_t *bat_dirty_map;  /* per 512-byte BAT sector */
	uint8_t *bitmap;         /* cache of one block's sector bitmap */
	uint32_t bitmap_block;   /* which block, UINT32_MAX: none */
	int parent_checked;
};

/* footer.c */
uint32_t vpc_checksum(const uint8_t *buf, size_t len, size_t csum_off);
int vpc_footer_parse(const uint8_t raw[VPC_FOOTER_SIZE], struct vpc_footer *f, int check_sum);
void vpc_footer_write(const struct vpc_footer *f, uint8_t raw[VPC_FOOTER_SIZE]);
int vpc_footer_looks_valid(const uint8_t *raw);
/* Read and check the footer of io (tail, or the head copy); *footer_off gets
 * where.  Returns 1 (not an error) when both copies are identical but their
 * checksum is wrong: an image edited by hand. */
int vpc_footer_load(vstd_io *io, const char *name, struct vpc_footer *f,
                    uint8_t raw[VPC_FOOTER_SIZE], uint64_t *footer_off, uint64_t *file_size);

/* geometry.c */
void vpc_chs_for_size(uint64_t size, uint16_t *cyl, uint8_t *heads, uint8_t *spt);
int vpc_creator_uses_chs(const char creator_app[5]);
uint64_t vpc_virtual_size(const struct vpc_footer *f, int *use_chs);

/* dynamic_header.c */
/* edited: the footer was edited by hand (see vpc_footer_load); then a bad
 * checksum here is a warning too. */
int vpc_dyn_parse(const uint8_t raw[VPC_DYN_HEADER_SIZE], struct vpc_dyn_header *h,
                  const char *name, uint64_t off, int edited);
void vpc_dyn_write(const struct vpc_dyn_header *h, uint8_t raw[VPC_DYN_HEADER_SIZE]);

/* parent_locator.c */
/* The parent's path to try, relative to the image's directory or absolute
 * (new string in *out), or NULL when the image names none. */
int vpc_parent_name(vstd_io *io, const char *image, const struct vpc_dyn_header *h,
                    uint64_t file_size, char **out, const char **which);
/* UTF-8 to UTF-16 (LE or BE) into out (cap bytes); returns bytes or -1. */
int vpc_utf16_encode(const char *s, uint8_t *out, size_t cap, int big_endian);
/* Encode locator data for `code` naming `path` (image-relative or absolute). */
int vpc_locator_data(uint32_t code, const char *path, uint8_t *out, size_t cap);

/* bat.c */
int vpc_bat_load(vstd_disk *d, struct vpc_state *s);
int vpc_bat_flush(vstd_disk *d, struct vpc_state *s);
int vpc_block_bitmap(vstd_disk *d, struct vpc_state *s, uint32_t block, const uint8_t **bm);
int vpc_bad_entry_error(vstd_disk *d, struct vpc_state *s, uint32_t block);
/* Allocate block `block` at the image end (data not yet written). */
int vpc_block_allocate(vstd_disk *d, struct vpc_state *s, uint32_t block);
int vpc_bitmap_set(vstd_disk *d, struct vpc_state *s, uint32_t block, uint32_t first_sector,
                   uint32_t n_sectors);

/* create.c */
int vpc_create(vstd_io *io, const struct vstd_disk_create_args *args);
int vpc_measure(const struct vstd_disk_create_args *args, vstd_disk *src,
                vstd_disk_measure_result *res);
extern const vstd_disk_option_desc vpc_create_options[];
extern const size_t vpc_n_create_options;
uint32_t vpc_now(void);

/* Record a parent (UUID, time stamp, name, W2ru/MacX locators whose data
 * goes at *next, which advances) in h. */
int vpc_write_parent_info(vstd_io *io, const char *image, const char *backing_file,
                          const uint8_t uuid[16], uint32_t timestamp, struct vpc_dyn_header *h,
                          uint64_t *next);

/* backing.c */
int vpc_set_backing(vstd_disk *d, const char *backing, const char *format);
int vpc_make_empty(vstd_disk *d);

/* check.c */
int vpc_check(vstd_disk *d, unsigned flags, vstd_disk_check_result *res);

/* driver.c */
int vpc_write_footers(vstd_disk *d, struct vpc_state *s);

#endif
