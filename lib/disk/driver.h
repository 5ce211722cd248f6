/*
 * disk/driver.h - the format driver interface (private to lib/).
 *
 * Each format is one `const struct vstd_disk_driver` in its own folder
 * (lib/disk/<format>/), listed in lib/disk/registry.c.  The generic layer
 * (disk.c) owns the vstd_disk object, opens files and backing chains, checks
 * arguments (ranges, read-only) and then calls the driver, so drivers may
 * assume:
 *   - read/write/zeroes/discard ranges are inside [0, d->size), len > 0;
 *   - write paths are only called on a disk opened writable;
 *   - one thread at a time per disk, except `compress`, which must be pure.
 * Drivers report errors with vstd_err() (core/error_internal.h), naming
 * d->filename, the structure and the offset.
 *
 * Optional members may be NULL; disk.c then gives the behaviour noted.
 * The table is only ever appended to (keep `version` 1 until an ABI for
 * external drivers is published).
 */
#ifndef VSTD_DISK_DRIVER_H
#define VSTD_DISK_DRIVER_H

#include <stdint.h>

#include "core/kv.h"
#include "vstd/disk.h"

struct json_object;

/* Preallocation modes, parsed by disk.c from the "preallocation" option. */
enum vstd_prealloc {
	VSTD_PREALLOC_OFF,
	VSTD_PREALLOC_METADATA,
	VSTD_PREALLOC_FALLOC,
	VSTD_PREALLOC_FULL
};

/* What disk.c hands to create(). */
struct vstd_disk_create_args {
	const char *path; /* target path (sibling files go beside it) */
	uint64_t size;
	const char *backing_file; /* NULL: none */
	const char *backing_format;
	vstd_disk *backing; /* opened backing (NULL when not opened) */
	vstd_kv *options;   /* remaining -o options: take with vstd_kv_get_* */
	enum vstd_prealloc prealloc;
};

struct vstd_disk {
	const struct vstd_disk_driver *drv;
	void *priv;  /* the driver's state */
	vstd_io *io; /* top-layer file */
	int owns_io;
	char *filename;         /* as opened */
	unsigned flags;         /* vstd_disk_open_opts flags */
	uint64_t size;          /* virtual size, set by open */
	uint64_t cache_size;    /* requested metadata cache, 0: default */
	char *backing_name;     /* as recorded in the image (driver sets) */
	char *backing_format;   /* as recorded, or NULL */
	char *backing_path;     /* resolved by disk.c */
	vstd_disk *backing;     /* opened by disk.c after open() */
	vstd_disk *snapshot_of; /* for snapshot views: the disk they borrow */
	unsigned depth;         /* 0 = top */
};

struct vstd_disk_driver {
	unsigned version;
	const char *name;        /* "qcow2"; what -f/-O take */
	const char *description; /* one line */
	const vstd_disk_option_desc *create_options;
	size_t n_create_options;

	/* Confidence 0..100 that `head` (the first head_len bytes, up to 64 KiB,
	 * of a file of file_size bytes) is this format.  raw answers 1. */
	int (*probe)(const uint8_t *head, size_t head_len, uint64_t file_size,
	             const char *filename);
	/* Parse d->io, set d->priv and d->size and, if the image has one, the
	 * backing name and format (vstd_disk_set_backing).  d->flags tells
	 * whether writes will come.  On failure free everything. */
	int (*open)(vstd_disk *d);
	void (*close)(vstd_disk *d);
	/* Write a new, empty image into `io` (freshly created, size 0). */
	int (*create)(vstd_io *io, const struct vstd_disk_create_args *args);

	int (*read)(vstd_disk *d, uint64_t off, void *buf, size_t len);
	int (*write)(vstd_disk *d, uint64_t off, const void *buf, size_t len);
	int (*flush)(vstd_disk *d); /* optional: vstd_io_flush */
	/* optional: writes zero buffers through write() */
	int (*write_zeroes)(vstd_disk *d, uint64_t off, uint64_t len, unsigned flags);
	int (*discard)(vstd_disk *d, uint64_t off, uint64_t len); /* optional: no-op */
	/* optional: everything DATA|ALLOCATED.  st->length <= max_len, > 0. */
	int (*block_status)(vstd_disk *d, uint64_t off, uint64_t max_len, vstd_block_status *st);
	/* optional: VSTD_ENOTSUP.  disk.c checks SHRINK and updates d->size. */
	int (*truncate)(vstd_disk *d, uint64_t size, enum vstd_prealloc prealloc);
	/* optional: result->supported stays 0. */
	int (*check)(vstd_disk *d, unsigned flags, vstd_disk_check_result *result);
	/* optional: fill what the generic layer cannot know (cluster_size,
	 * dirty, encrypted) and add fields to `specific` (a json object). */
	int (*info)(vstd_disk *d, vstd_disk_info *info, struct json_object *specific);
	/* optional: VSTD_ENOTSUP.  args->size is the virtual size. */
	int (*measure)(const struct vstd_disk_create_args *args, vstd_disk *src,
	               vstd_disk_measure_result *result);

	/* Compressed writes for convert -c (optional: -c refused).
	 * compress_unit: bytes per compressed unit (cluster or grain);
	 * compress: thread-safe, touches no state but reads d's settings;
	 *   returns VSTD_ERANGE when compression does not shrink the unit;
	 * write_compressed: store a compressed unit at the aligned offset. */
	uint64_t (*compress_unit)(vstd_disk *d);
	int (*compress)(vstd_disk *d, const void *in, size_t in_len, void *out, size_t out_cap,
	                size_t *out_len);
	int (*write_compressed)(vstd_disk *d, uint64_t off, const void *data, size_t len);

	/* optional: VSTD_ENOTSUP.  Rewrite the recorded backing (NULL: none). */
	int (*set_backing)(vstd_disk *d, const char *backing, const char *format);
	/* optional (commit): make the top layer empty again. */
	int (*make_empty)(vstd_disk *d);
	/* optional: VSTD_ENOTSUP. */
	int (*amend)(vstd_disk *d, vstd_kv *options, vstd_progress_fn progress, void *opaque);

	/* Internal snapshots (optional: empty list / VSTD_ENOTSUP). */
	int (*snapshot_list)(vstd_disk *d, vstd_disk_snapshot **list, size_t *count);
	int (*snapshot_create)(vstd_disk *d, const char *name);
	int (*snapshot_apply)(vstd_disk *d, const char *name);
	int (*snapshot_delete)(vstd_disk *d, const char *name);
	/* Fill view (already allocated by disk.c, drv/io/filename set) as a
	 * read-only disk showing the snapshot. */
	int (*snapshot_open)(vstd_disk *view, vstd_disk *d, const char *name);

	/* optional: confidence 0..100 from the last tail_len (up to 512) bytes
	 * of the file, for formats recognised by a footer (fixed VHD).  The
	 * higher of probe and probe_tail counts. */
	int (*probe_tail)(const uint8_t *tail, size_t tail_len, uint64_t file_size,
	                  const char *filename);
};

/* ---- helpers for drivers (disk.c) ---- */

/* Record the backing name and format found in the image (copied). */
int vstd_disk_set_backing(vstd_disk *d, const char *name, const char *format);
/* Read from the layers below d: the backing chain, or zeroes where there is
 * none or past the backing's end. */
int vstd_disk_read_below(vstd_disk *d, uint64_t off, void *buf, size_t len);
/* The driver table of a format name, or NULL. */
const struct vstd_disk_driver *vstd_disk_driver_find(const char *name);

/* registry.c: vstd_disk_driver_slots entries, NULL ones to be skipped. */
extern const struct vstd_disk_driver *const vstd_disk_drivers[];
extern const size_t vstd_disk_driver_slots;

#endif
