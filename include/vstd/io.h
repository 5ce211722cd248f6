/*
 * vstd/io.h - byte-addressed storage objects.
 *
 * Every format, descriptor and package parser in vstd reads and writes
 * through a vstd_io, never through file descriptors, so that a memory
 * buffer (tests, fuzzers) or a fault-injecting wrapper (crash-safety tests)
 * can stand in for a file.  Three implementations ship with the library:
 *
 *   file   - a POSIX file (O_DIRECT on request, fallocate, SEEK_DATA/
 *            SEEK_HOLE, copy_file_range);
 *   memory - a growable buffer, or a read-only view of caller memory;
 *   fault  - wraps another vstd_io and fails, shortens or "crashes" chosen
 *            operations.
 *
 * Programs may add their own with vstd_io_new() and a vstd_io_methods table
 * (the SQLite VFS idea: the table's `version` is only ever appended to).
 *
 * Offsets and lengths are bytes.  Every operation checks that offset+length
 * does not overflow.  A vstd_io is used by one thread at a time, except that
 * vstd_io_pread/vstd_io_pwrite on a file object are safe from several threads
 * at once (they map to pread/pwrite).
 */
#ifndef VSTD_IO_H
#define VSTD_IO_H

#include "vstd/common.h"
#include "vstd/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vstd_io vstd_io;

/* Open flags for vstd_io_file_open and vstd_io_mem_new. */
enum vstd_io_flag {
	VSTD_IO_READ = 0x01,    /* read access (always implied) */
	VSTD_IO_WRITE = 0x02,   /* read and write access */
	VSTD_IO_CREATE = 0x04,  /* create the file if missing (mode 0644) */
	VSTD_IO_EXCL = 0x08,    /* with CREATE: fail with VSTD_EEXIST if it exists */
	VSTD_IO_TRUNC = 0x10,   /* truncate to 0 on open */
	VSTD_IO_DIRECT = 0x20,  /* bypass the page cache (O_DIRECT); unaligned
	                           requests go through an aligned bounce buffer */
	VSTD_IO_SYNC = 0x40,    /* every write is durable on return (O_DSYNC) */
	VSTD_IO_NO_FLUSH = 0x80 /* flush does nothing (qemu's cache=unsafe): for
	                           scratch targets whose durability the caller
	                           does not need, e.g. `convert -t unsafe` */
};

/* Flags of vstd_io_write_zeroes. */
enum vstd_io_zero_flag {
	VSTD_IO_ZERO_MAY_UNMAP = 0x01 /* the range may become a hole */
};

/* Operation kinds, used as a bit mask by the fault wrapper. */
enum vstd_io_op {
	VSTD_IO_OP_READ = 0x001,
	VSTD_IO_OP_WRITE = 0x002,
	VSTD_IO_OP_FLUSH = 0x004,
	VSTD_IO_OP_TRUNCATE = 0x008,
	VSTD_IO_OP_DISCARD = 0x010,
	VSTD_IO_OP_ZEROES = 0x020,
	VSTD_IO_OP_SIZE = 0x040,
	VSTD_IO_OP_EXTENT = 0x080,
	VSTD_IO_OP_ALLOCATE = 0x100,
	VSTD_IO_OP_ALL = 0x1ff
};

#define VSTD_IO_METHODS_VERSION 1

/**
 * The operations of an I/O object.  `self` is the pointer given to
 * vstd_io_new().  Each returns 0 or a negative VSTD_E* code and sets the
 * last error (vstd_error_set() of vstd/error.h).  Members marked optional may be NULL;
 * the library then supplies the generic behaviour named beside them.
 */
typedef struct vstd_io_methods {
	unsigned version; /* VSTD_IO_METHODS_VERSION */
	const char *kind; /* "file", "memory", ... */
	/* Read up to len bytes at off; *done gets the count, which is short
	 * only at end of data. */
	int (*pread)(void *self, void *buf, size_t len, uint64_t off, size_t *done);
	int (*pwrite)(void *self, const void *buf, size_t len, uint64_t off);
	int (*size)(void *self, uint64_t *size);
	int (*truncate)(void *self, uint64_t size);             /* optional: ENOTSUP */
	int (*flush)(void *self);                               /* optional: no-op */
	int (*discard)(void *self, uint64_t off, uint64_t len); /* optional: no-op */
	/* optional: writes zero buffers */
	int (*write_zeroes)(void *self, uint64_t off, uint64_t len, unsigned flags);
	/* optional: everything is data.  Sets *len to the length of the run at
	 * off that is all data (*is_data=1) or all hole (*is_data=0). */
	int (*extent)(void *self, uint64_t off, uint64_t max_len, uint64_t *len, int *is_data);
	/* optional: write_zeroes without UNMAP; reserve space for the range */
	int (*allocate)(void *self, uint64_t off, uint64_t len);
	void (*close)(void *self); /* optional: free self */
} vstd_io_methods;

/**
 * vstd_io_new - wrap caller-provided methods into a vstd_io.
 *
 * `name` (copied) names the object in error messages, e.g. a file path.
 * On success the vstd_io owns `self` and calls methods->close(self) when
 * closed.  On failure nothing is owned.  Errors: VSTD_EINVAL (bad table),
 * VSTD_ENOMEM.
 */
VSTD_API int vstd_io_new(vstd_io **out, const vstd_io_methods *methods, void *self,
                         const char *name);

/**
 * vstd_io_file_open - open a file.
 *
 * flags from enum vstd_io_flag.  Errors: VSTD_ENOENT, VSTD_EEXIST,
 * VSTD_EPERM (permission or read-only file system), VSTD_EINVAL (a
 * directory, or O_DIRECT unsupported by the file system), VSTD_EIO.
 */
VSTD_API int vstd_io_file_open(vstd_io **out, const char *path, unsigned flags);

/**
 * vstd_io_mem_new - a growable memory buffer, initialised with a copy of
 * `len` bytes of `data` (data may be NULL when len is 0).  It never grows
 * past max_size bytes (0: the allocation limit of vstd/alloc.h); writes past
 * it fail with VSTD_ELIMIT.  Without VSTD_IO_WRITE in flags it is read-only.
 */
VSTD_API int vstd_io_mem_new(vstd_io **out, const void *data, size_t len, size_t max_size,
                             unsigned flags);

/**
 * vstd_io_mem_view - a read-only object over caller memory, without copying.
 * The memory must outlive the object.  Used by the fuzzers.
 */
VSTD_API int vstd_io_mem_view(vstd_io **out, const void *data, size_t len, const char *name);

/**
 * vstd_io_mem_contents - the current bytes of a memory object (not a copy;
 * valid until the next write or truncate).  VSTD_EINVAL for other kinds.
 */
VSTD_API int vstd_io_mem_contents(vstd_io *io, const void **data, size_t *len);

#define VSTD_IO_FAULT_OPTS_VERSION 1

/**
 * What the fault wrapper does.  Operations are counted from 1 among the
 * kinds in `count_ops`; the counted operation number `fail_at` and the
 * `fail_count - 1` after it (0: all later ones) fail with `fail_code`.
 */
typedef struct vstd_io_fault_opts {
	unsigned version;         /* VSTD_IO_FAULT_OPTS_VERSION */
	unsigned count_ops;       /* mask of enum vstd_io_op; 0 means all */
	unsigned long fail_at;    /* 0: never fail */
	unsigned long fail_count; /* 0: every operation from fail_at on */
	int fail_code;            /* 0 means VSTD_EIO */
	/* The read number short_read_at (counting reads only) returns half the
	 * requested bytes, as a file that ends there would. */
	unsigned long short_read_at;
	/* Crash simulation: writes, zeroes, discards and truncates are held in
	 * the wrapper (and visible to reads) until a flush passes them to the
	 * inner object.  A crash drops everything held since the last flush and
	 * fails every later operation with VSTD_EIO. */
	int hold_unflushed;
	/* With hold_unflushed: crash just before the crash_at_write-th write
	 * (counting writes, zeroes, discards and truncates); 0: never. */
	unsigned long crash_at_write;
} vstd_io_fault_opts;

#define VSTD_IO_FAULT_OPTS_INIT                                                                    \
	{                                                                                          \
		VSTD_IO_FAULT_OPTS_VERSION, 0, 0, 0, 0, 0, 0, 0                                    \
	}

/**
 * vstd_io_fault_new - wrap `inner`.  The wrapper borrows inner, which must
 * outlive it.  Closing the wrapper discards held writes (as a crash would).
 */
VSTD_API int vstd_io_fault_new(vstd_io **out, vstd_io *inner, const vstd_io_fault_opts *opts);

/** Counters of a fault wrapper, for tests. */
typedef struct vstd_io_fault_stats {
	unsigned long ops;    /* operations seen, any kind */
	unsigned long writes; /* writes, zeroes, discards, truncates */
	unsigned long flushes;
	unsigned long failed; /* operations made to fail */
	int crashed;          /* 1 once the simulated crash happened */
} vstd_io_fault_stats;

/** vstd_io_fault_stats - counters so far; VSTD_EINVAL if io is not a fault wrapper. */
VSTD_API int vstd_io_fault_get_stats(vstd_io *io, vstd_io_fault_stats *stats);

/** vstd_io_fault_crash - crash now (see hold_unflushed). */
VSTD_API int vstd_io_fault_crash(vstd_io *io);

/** vstd_io_close - flush nothing, release everything.  NULL is a no-op. */
VSTD_API void vstd_io_close(vstd_io *io);

/** vstd_io_name - the name given at creation (a path for files). */
VSTD_API const char *vstd_io_name(const vstd_io *io);

/** vstd_io_kind - "file", "memory", "fault" or the custom table's kind. */
VSTD_API const char *vstd_io_kind(const vstd_io *io);

/**
 * vstd_io_pread - read exactly len bytes at off.  Reading past the end fails
 * with VSTD_ECORRUPT and a message naming the object, the range and the size
 * (for an image, data it promises is missing).
 */
VSTD_API int vstd_io_pread(vstd_io *io, void *buf, size_t len, uint64_t off);

/** vstd_io_pread_partial - read up to len bytes; *done is short at end of data. */
VSTD_API int vstd_io_pread_partial(vstd_io *io, void *buf, size_t len, uint64_t off, size_t *done);

/** vstd_io_pwrite - write exactly len bytes at off, growing the object. */
VSTD_API int vstd_io_pwrite(vstd_io *io, const void *buf, size_t len, uint64_t off);

VSTD_API int vstd_io_size(vstd_io *io, uint64_t *size);
VSTD_API int vstd_io_truncate(vstd_io *io, uint64_t size);
/** vstd_io_flush - make every completed write durable. */
VSTD_API int vstd_io_flush(vstd_io *io);
/** vstd_io_discard - the range's contents become unspecified (hint). */
VSTD_API int vstd_io_discard(vstd_io *io, uint64_t off, uint64_t len);
/** vstd_io_write_zeroes - the range reads as zeroes afterwards; may grow the object. */
VSTD_API int vstd_io_write_zeroes(vstd_io *io, uint64_t off, uint64_t len, unsigned flags);
/** vstd_io_allocate - reserve space for the range (fallocate); zero-filled if new. */
VSTD_API int vstd_io_allocate(vstd_io *io, uint64_t off, uint64_t len);

/**
 * vstd_io_extent - is the data at off a hole or data, and for how long?
 * Looks at most max_len bytes ahead.  At or past the end: *len = 0.
 */
VSTD_API int vstd_io_extent(vstd_io *io, uint64_t off, uint64_t max_len, uint64_t *len,
                            int *is_data);

/**
 * vstd_io_copy_range - copy len bytes from src at src_off to dst at dst_off,
 * in the kernel (copy_file_range) when both are files, else through a
 * buffer.  Fails like the read and write it stands for.
 */
VSTD_API int vstd_io_copy_range(vstd_io *dst, uint64_t dst_off, vstd_io *src, uint64_t src_off,
                                uint64_t len);

#ifdef __cplusplus
}
#endif

#endif /* VSTD_IO_H */
