/*
 * vstd/disk.h - virtual disk images: open, read, write, create, inspect.
 *
 * A vstd_disk is one layer of a disk image (a raw file, a qcow2, a VMDK ...)
 * together with the chain of backing layers under it.  Reads are byte
 * granular and see through the chain; writes go to the top layer.  The
 * format of an image is found by probing its first bytes (each format driver
 * gives a confidence score; the best wins) unless the caller names it.
 *
 * Backing files are a security boundary: an image may name any path as its
 * backing file.  vstd follows qemu's rules (docs/formats/backing.md):
 *  - a relative name is resolved against the directory of the image naming it;
 *  - the backing format must be recorded in the image or given by the caller;
 *    probing the backing file's format happens only with
 *    VSTD_DISK_PROBE_BACKING, and even then a probe result of "raw" is refused
 *    (raw content could be made to look like anything);
 *  - a chain deeper than max_chain_depth, or one that comes back to a file
 *    already in it, fails with VSTD_ELIMIT / VSTD_ECORRUPT.
 *
 * Thread safety: one thread at a time per vstd_disk (and its chain).
 */
#ifndef VSTD_DISK_H
#define VSTD_DISK_H

#include "vstd/common.h"
#include "vstd/io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vstd_disk vstd_disk;

/* ------------------------------------------------------------ opening */

enum vstd_disk_open_flag {
	VSTD_DISK_RDWR = 0x01,            /* open the top layer for writing */
	VSTD_DISK_NO_BACKING = 0x02,      /* do not open backing files; unallocated
	                                     areas then read as zeroes */
	VSTD_DISK_PROBE_BACKING = 0x04,   /* allow probing a backing file's format
	                                     when the image does not record it */
	VSTD_DISK_DIRECT = 0x08,          /* O_DIRECT on every layer */
	VSTD_DISK_NO_REPLAY = 0x10,       /* open read-only images that would need
	                                     log replay or repair as they are */
	VSTD_DISK_EXTERNAL_EXTENTS = 0x20 /* VMDK: allow extent files outside the
	                                   descriptor's directory (absolute
	                                   names, "..", symbolic links out) */
};

#define VSTD_DISK_OPEN_OPTS_VERSION 1
#define VSTD_DISK_DEFAULT_MAX_CHAIN 256

typedef struct vstd_disk_open_opts {
	unsigned version;           /* VSTD_DISK_OPEN_OPTS_VERSION */
	const char *format;         /* NULL: probe */
	unsigned flags;             /* enum vstd_disk_open_flag */
	unsigned max_chain_depth;   /* 0: VSTD_DISK_DEFAULT_MAX_CHAIN */
	uint64_t cache_size;        /* metadata cache bytes, 0: format default */
	const char *backing_format; /* format of the backing file when the image
	                               does not record one (NULL: none) */
} vstd_disk_open_opts;

#define VSTD_DISK_OPEN_OPTS_INIT                                                                   \
	{                                                                                          \
		VSTD_DISK_OPEN_OPTS_VERSION, NULL, 0, 0, 0, NULL                                   \
	}

/**
 * vstd_disk_open - open an image file and its backing chain.
 *
 * opts may be NULL (read-only, probe).  Errors: those of vstd_io_file_open,
 * VSTD_ENOTSUP (unknown format name, or no driver recognises the file, or a
 * feature of the image this build cannot handle: the message names it),
 * VSTD_ECORRUPT (malformed image; message gives the structure and offset),
 * VSTD_EPERM (backing format missing and probing not allowed), VSTD_ELIMIT.
 */
VSTD_API int vstd_disk_open(vstd_disk **out, const char *path, const vstd_disk_open_opts *opts);

/**
 * vstd_disk_open_io - open an image held by an I/O object (borrowed: it must
 * outlive the disk).  `name` names it in messages and is the base for
 * relative backing names (NULL: backing files are not opened).
 */
VSTD_API int vstd_disk_open_io(vstd_disk **out, vstd_io *io, const char *name,
                               const vstd_disk_open_opts *opts);

/** vstd_disk_close - close the disk and its chain.  Does not flush.  NULL: no-op. */
VSTD_API void vstd_disk_close(vstd_disk *disk);

/** vstd_disk_size - the virtual size in bytes. */
VSTD_API uint64_t vstd_disk_size(const vstd_disk *disk);
/** vstd_disk_format - the driver's name: "raw", "qcow2", "vmdk", "vpc", "vhdx", "vdi". */
VSTD_API const char *vstd_disk_format(const vstd_disk *disk);
/** vstd_disk_filename - the name the disk was opened with. */
VSTD_API const char *vstd_disk_filename(const vstd_disk *disk);
/** vstd_disk_backing - the next layer down, or NULL.  Owned by `disk`. */
VSTD_API vstd_disk *vstd_disk_backing(const vstd_disk *disk);
/** vstd_disk_io - the I/O object of the top layer.  Owned by `disk`; valid
 * until the disk is closed or resized (resizing a VMDK replaces its
 * descriptor file, and with it this object). */
VSTD_API vstd_io *vstd_disk_io(const vstd_disk *disk);
/** vstd_disk_is_writable - 1 when opened with VSTD_DISK_RDWR. */
VSTD_API int vstd_disk_is_writable(const vstd_disk *disk);

/* ------------------------------------------------------------ data */

/**
 * vstd_disk_read - read len bytes at off (any alignment), through the chain.
 * Errors: VSTD_ERANGE when off+len passes the virtual size, VSTD_ECORRUPT,
 * VSTD_EIO.
 */
VSTD_API int vstd_disk_read(vstd_disk *disk, uint64_t off, void *buf, size_t len);

/** vstd_disk_write - write len bytes at off to the top layer.  VSTD_EPERM if read-only. */
VSTD_API int vstd_disk_write(vstd_disk *disk, uint64_t off, const void *buf, size_t len);

/** vstd_disk_flush - make every completed write durable, metadata included. */
VSTD_API int vstd_disk_flush(vstd_disk *disk);

/**
 * vstd_disk_write_zeroes - the range reads as zeroes afterwards.  With
 * VSTD_IO_ZERO_MAY_UNMAP the space may be released.
 */
VSTD_API int vstd_disk_write_zeroes(vstd_disk *disk, uint64_t off, uint64_t len, unsigned flags);

/** vstd_disk_discard - the range's contents become unspecified (guest TRIM). */
VSTD_API int vstd_disk_discard(vstd_disk *disk, uint64_t off, uint64_t len);

/* ------------------------------------------------------------ allocation map */

enum vstd_block_flag {
	VSTD_BLOCK_DATA = 0x01,         /* reads return stored data */
	VSTD_BLOCK_ZERO = 0x02,         /* reads return zeroes */
	VSTD_BLOCK_ALLOCATED = 0x04,    /* this layer defines the contents (else
	                                   they come from the backing chain) */
	VSTD_BLOCK_OFFSET_VALID = 0x08, /* host_offset is where the data is */
	VSTD_BLOCK_COMPRESSED = 0x10
};

typedef struct vstd_block_status {
	uint64_t length;        /* bytes from the offset asked with this status */
	unsigned flags;         /* enum vstd_block_flag */
	uint64_t host_offset;   /* with VSTD_BLOCK_OFFSET_VALID */
	unsigned depth;         /* vstd_disk_map: layer that answered, 0 = top */
	const vstd_disk *layer; /* vstd_disk_map: that layer */
} vstd_block_status;

/**
 * vstd_disk_block_status - status of the top layer alone at off, for at most
 * max_len bytes (st->length > 0 unless off is at the end).
 */
VSTD_API int vstd_disk_block_status(vstd_disk *disk, uint64_t off, uint64_t max_len,
                                    vstd_block_status *st);

/**
 * vstd_disk_map - status through the chain: which layer holds the data at
 * off, as `qemu-img map` reports it.  Unallocated everywhere: flags ZERO
 * only.
 */
VSTD_API int vstd_disk_map(vstd_disk *disk, uint64_t off, uint64_t max_len, vstd_block_status *st);

/* ------------------------------------------------------------ information */

typedef struct vstd_disk_info {
	const char *filename;
	const char *format;
	uint64_t virtual_size;
	uint64_t actual_size;              /* bytes the file(s) occupy on the host */
	uint64_t cluster_size;             /* allocation unit, 0 when not applicable */
	const char *backing_filename;      /* as recorded in the image, or NULL */
	const char *backing_filename_full; /* resolved path, or NULL */
	const char *backing_format;        /* as recorded, or NULL */
	int dirty;                         /* image not closed cleanly (needs check/replay) */
	int encrypted;
	int read_only;
	/* JSON object text {"type": format, "data": {...}} with the fields of
	 * qemu-img's format-specific info where the concepts match. */
	const char *format_specific_json;
} vstd_disk_info;

/** vstd_disk_info_get - describe the top layer.  Free with vstd_disk_info_free(). */
VSTD_API int vstd_disk_info_get(vstd_disk *disk, vstd_disk_info **out);
VSTD_API void vstd_disk_info_free(vstd_disk_info *info);

/* ------------------------------------------------------------ creation */

#define VSTD_DISK_CREATE_OPTS_VERSION 1

typedef struct vstd_disk_create_opts {
	unsigned version;           /* VSTD_DISK_CREATE_OPTS_VERSION */
	const char *format;         /* required */
	uint64_t size;              /* 0 with a backing file: its size */
	const char *backing_file;   /* NULL: none */
	const char *backing_format; /* required with backing_file (qemu's rule) */
	const char *options;        /* "key=value,key=value" as qemu-img -o; a
	                               comma inside a value is written ",," */
	unsigned flags;             /* enum vstd_disk_create_flag */
} vstd_disk_create_opts;

enum vstd_disk_create_flag {
	VSTD_DISK_CREATE_EXCL = 0x01,            /* fail if the file exists */
	VSTD_DISK_CREATE_NO_BACKING_CHECK = 0x02 /* do not open the backing file
	                                   (then size must be given) */
};

#define VSTD_DISK_CREATE_OPTS_INIT                                                                 \
	{                                                                                          \
		VSTD_DISK_CREATE_OPTS_VERSION, NULL, 0, NULL, NULL, NULL, 0                        \
	}

/**
 * vstd_disk_create - create an image file.  Unknown options, values out of
 * range and options the format does not have fail with VSTD_EINVAL naming
 * the option.  On failure no file claiming to be a finished image is left:
 * a file this call created is removed.
 */
VSTD_API int vstd_disk_create(const char *path, const vstd_disk_create_opts *opts);

/** Description of one creation option of a format (for `-o help`). */
typedef struct vstd_disk_option_desc {
	const char *name;
	const char *type; /* "size", "bool", "number", "string", "enum" */
	const char *help;
	const char *default_value; /* NULL: none */
} vstd_disk_option_desc;

/** vstd_disk_format_count / _name - the registered formats, in probe order. */
VSTD_API size_t vstd_disk_format_count(void);
VSTD_API const char *vstd_disk_format_name(size_t index);
/** vstd_disk_format_description - one line about the format, or NULL if unknown. */
VSTD_API const char *vstd_disk_format_description(const char *format);
/**
 * vstd_disk_format_options - the creation options of a format (static
 * storage); NULL and *count 0 for an unknown format.
 */
VSTD_API const vstd_disk_option_desc *vstd_disk_format_options(const char *format, size_t *count);

/**
 * vstd_disk_probe - which format is this file?  *format gets a static name,
 * *score the confidence 1-100.  VSTD_ENOTSUP when nothing claims it.
 */
VSTD_API int vstd_disk_probe(vstd_io *io, const char *name, const char **format, int *score);

/* ------------------------------------------------------------ resizing */

enum vstd_disk_resize_flag {
	VSTD_DISK_RESIZE_SHRINK = 0x01 /* allow shrinking (data past the end is lost) */
};

/**
 * vstd_disk_resize - change the virtual size.  `preallocation` is NULL or
 * "off", "metadata", "falloc", "full" for the new area.  Shrinking without
 * VSTD_DISK_RESIZE_SHRINK fails with VSTD_EPERM.
 */
VSTD_API int vstd_disk_resize(vstd_disk *disk, uint64_t new_size, unsigned flags,
                              const char *preallocation);

/* ------------------------------------------------------------ checking */

enum vstd_disk_check_flag {
	VSTD_CHECK_REPAIR_LEAKS = 0x01,  /* -r leaks */
	VSTD_CHECK_REPAIR_ERRORS = 0x02, /* with LEAKS: -r all */
	VSTD_CHECK_REPAIR_ALL = 0x03
};

typedef struct vstd_disk_check_result {
	uint64_t corruptions; /* found (and not fixed) */
	uint64_t leaks;
	uint64_t check_errors; /* the check itself could not complete a part */
	uint64_t corruptions_fixed;
	uint64_t leaks_fixed;
	uint64_t allocated_clusters;
	uint64_t total_clusters;
	uint64_t fragmented_clusters;
	uint64_t compressed_clusters;
	uint64_t image_end_offset;
	int supported; /* 0: the format has no consistency checks */
	char *report;  /* one problem per line, or NULL; capped */
} vstd_disk_check_result;

/**
 * vstd_disk_check - check (and with flags, repair) the top layer's
 * metadata.  Returns 0 when the check ran, whatever it found; the counts say
 * what.  Repair needs VSTD_DISK_RDWR and never makes an image worse: it
 * fixes what it can prove, and leaves the rest reported.
 * Free the result's report with vstd_disk_check_result_clear().
 */
VSTD_API int vstd_disk_check(vstd_disk *disk, unsigned flags, vstd_disk_check_result *result);
VSTD_API void vstd_disk_check_result_clear(vstd_disk_check_result *result);

/* ------------------------------------------------------------ whole-image operations */

/**
 * Progress callback of long operations: done and total in bytes of virtual
 * disk.  Return non-zero to stop (the call then fails with VSTD_ECANCELED).
 * Called from the thread that made the call.
 */
typedef int (*vstd_progress_fn)(uint64_t done, uint64_t total, void *opaque);

enum vstd_disk_convert_flag {
	VSTD_CONVERT_COMPRESS = 0x01,       /* -c: compress every data cluster */
	VSTD_CONVERT_NO_CREATE = 0x02,      /* -n: target exists; open it */
	VSTD_CONVERT_TARGET_IS_ZERO = 0x04, /* --target-is-zero: skip writing zeroes */
	VSTD_CONVERT_NO_ZERO_DETECT = 0x08, /* -S 0: write zero blocks as data */
	VSTD_CONVERT_COPY_RANGE = 0x10,     /* -C: offload copies (raw to raw) */
	VSTD_CONVERT_NO_FLUSH = 0x20        /* -t unsafe (qemu-img convert's default
	                                       cache mode): skip the final flush */
};

#define VSTD_DISK_CONVERT_OPTS_VERSION 1

typedef struct vstd_disk_convert_opts {
	unsigned version;           /* VSTD_DISK_CONVERT_OPTS_VERSION */
	const char *format;         /* target format; NULL: "raw" */
	const char *options;        /* target creation options (-o) */
	const char *backing_file;   /* -B: target's backing; areas equal to it
	                               are left unallocated */
	const char *backing_format; /* -F */
	unsigned flags;             /* enum vstd_disk_convert_flag */
	uint64_t sparse_size;       /* -S: zero-detection granularity; 0: 4 KiB */
	unsigned parallel;          /* -m: requests in flight, 0: 8 */
	unsigned threads;           /* compression threads, 0: online CPUs */
	const char *snapshot;       /* -l: convert this internal snapshot */
	vstd_progress_fn progress;
	void *progress_opaque;
} vstd_disk_convert_opts;

#define VSTD_DISK_CONVERT_OPTS_INIT                                                                \
	{                                                                                          \
		VSTD_DISK_CONVERT_OPTS_VERSION, NULL, NULL, NULL, NULL, 0, 0, 0, 0, NULL, NULL,    \
		        NULL                                                                       \
	}

/**
 * vstd_disk_convert - copy the guest-visible contents of `src` (through its
 * chain) into a new image at dst_path.  Holes in the source are never read,
 * zero blocks never written as data.  On failure a target this call created
 * is removed, so no partial image is left claiming success.
 */
VSTD_API int vstd_disk_convert(vstd_disk *src, const char *dst_path,
                               const vstd_disk_convert_opts *opts);

enum vstd_disk_compare_flag {
	VSTD_COMPARE_STRICT = 0x01 /* -s: different sizes, or allocated vs.
	                               unallocated zeroes, count as different */
};

typedef struct vstd_disk_compare_result {
	int identical;             /* 1 when the contents match */
	uint64_t first_difference; /* offset of the first differing byte */
	int size_mismatch;         /* the virtual sizes differ */
} vstd_disk_compare_result;

/**
 * vstd_disk_compare - compare guest-visible contents as qemu-img compare
 * does: without STRICT, a size difference is allowed if the extra part of
 * the larger image reads as zeroes.
 */
VSTD_API int vstd_disk_compare(vstd_disk *a, vstd_disk *b, unsigned flags,
                               vstd_progress_fn progress, void *opaque,
                               vstd_disk_compare_result *result);

typedef struct vstd_disk_measure_result {
	uint64_t required;        /* bytes the new image needs for src's data */
	uint64_t fully_allocated; /* bytes with every cluster allocated */
	uint64_t bitmaps;         /* bytes for persistent bitmaps (qcow2) */
} vstd_disk_measure_result;

/**
 * vstd_disk_measure - how large would an image of `format` with `options`
 * be, holding `src` (may be NULL, then `size` bytes of unwritten disk)?
 */
VSTD_API int vstd_disk_measure(const char *format, const char *options, uint64_t size,
                               vstd_disk *src, vstd_disk_measure_result *result);

enum vstd_disk_rebase_flag {
	VSTD_REBASE_UNSAFE = 0x01 /* -u: only rewrite the backing name */
};

/**
 * vstd_disk_rebase - give `disk` a new backing file (NULL: none).  Safe mode
 * copies into `disk` every area where old and new backing differ, so the
 * guest-visible contents stay the same.  `disk` must be writable.
 */
VSTD_API int vstd_disk_rebase(vstd_disk *disk, const char *backing_file, const char *backing_format,
                              unsigned flags, vstd_progress_fn progress, void *opaque);

/**
 * vstd_disk_commit - write the top layer's allocated areas into its backing
 * file (which is reopened writable), then empty the top layer unless
 * keep_top is set.
 */
VSTD_API int vstd_disk_commit(vstd_disk *disk, int keep_top, vstd_progress_fn progress,
                              void *opaque);

/**
 * vstd_disk_amend - change creation options of an existing image in place
 * (qcow2: compat, refcount_bits, lazy_refcounts ...).  VSTD_ENOTSUP for an
 * option the format cannot change.
 */
VSTD_API int vstd_disk_amend(vstd_disk *disk, const char *options, vstd_progress_fn progress,
                             void *opaque);

/* ------------------------------------------------------------ internal snapshots */

typedef struct vstd_disk_snapshot {
	char *id;
	char *name;
	uint64_t vm_state_size;
	uint64_t date_sec;
	uint32_t date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t disk_size; /* virtual size when taken */
	uint64_t icount;    /* UINT64_MAX when not recorded */
} vstd_disk_snapshot;

/**
 * vstd_disk_snapshot_list - the internal snapshots (qcow2).  *list is an
 * array of *count entries; free it with vstd_disk_snapshot_list_free().
 * Formats without internal snapshots give an empty list.
 */
VSTD_API int vstd_disk_snapshot_list(vstd_disk *disk, vstd_disk_snapshot **list, size_t *count);
VSTD_API void vstd_disk_snapshot_list_free(vstd_disk_snapshot *list, size_t count);
/** Create, apply (revert to) or delete the snapshot named or numbered `name`. */
VSTD_API int vstd_disk_snapshot_create(vstd_disk *disk, const char *name);
VSTD_API int vstd_disk_snapshot_apply(vstd_disk *disk, const char *name);
VSTD_API int vstd_disk_snapshot_delete(vstd_disk *disk, const char *name);
/**
 * vstd_disk_snapshot_open - a read-only view of the disk as it was when the
 * snapshot was taken.  The view borrows `disk`; close it first.
 */
VSTD_API int vstd_disk_snapshot_open(vstd_disk **out, vstd_disk *disk, const char *name);

#ifdef __cplusplus
}
#endif

#endif /* VSTD_DISK_H */
