/*
 * disk/ops_internal.h - internal entry points of the whole-image operations
 * (convert.c, compare.c, ...), for the tests that reach inside.
 */
#ifndef VSTD_DISK_OPS_INTERNAL_H
#define VSTD_DISK_OPS_INTERNAL_H

#include "disk/driver.h"

/*
 * Called by convert right after it opened the target file's I/O object:
 * may replace *io by a wrapper (e.g. a fault-injecting one).  The wrapper
 * must stay valid until convert calls `unwrap` (closing the wrapper only;
 * the inner object is closed by convert).
 */
struct vstd_convert_io_hook {
	int (*wrap)(vstd_io **io, void *opaque);
	void (*unwrap)(vstd_io *wrapper, void *opaque);
	void *opaque;
};

/* vstd_disk_convert with an optional hook on the target's I/O object. */
int vstd_disk_convert_hooked(vstd_disk *src, const char *dst_path,
                             const vstd_disk_convert_opts *opts,
                             const struct vstd_convert_io_hook *hook);

/* Tests: convert runs this many reader threads (still at most 4, one per
 * slot, and one where the source cannot be reopened); 0: one per CPU. */
extern unsigned vstd_convert_readers_override;
/* Tests: a raw target (no backing, no -c) gets this many writer threads
 * (at most 4) even where one would be chosen; 0: the engine's choice. */
extern unsigned vstd_convert_writers_override;

/* Copy the contents of src into the open disk dst (the convert engine). */
int vstd_disk_copy_into(vstd_disk *src, vstd_disk *dst, const vstd_disk_convert_opts *opts,
                        int target_is_zero);

/*
 * writebehind.c: a vstd_io over `inner` whose pwrites from inside a declared
 * window of memory run on `threads` worker threads (0: none, everything
 * synchronous).  Reads and writes wait for queued writes they overlap;
 * every other method waits for all.  The first failure of a queued write is
 * returned by every later call.  Closing the returned vstd_io waits for all
 * writes and stops the workers; `inner` stays open.
 */
struct vstd_wb;
int vstd_wb_new(vstd_io **out, struct vstd_wb **wb, vstd_io *inner, unsigned threads);
/* hold(tag) is called when a write tagged with the window's tag is queued
 * (in the writing thread), release(tag) when it finished (in a worker, no
 * lock of the wrapper held); vstd_wb_drain returns after the callbacks. */
void vstd_wb_callbacks(struct vstd_wb *wb, void (*hold)(void *tag, void *opaque),
                       void (*release)(void *tag, void *opaque), void *opaque);
/* Writes from [buf, buf+len) may be queued, tagged with tag, until the next
 * call (buf NULL: none). */
void vstd_wb_window(struct vstd_wb *wb, const void *buf, size_t len, void *tag);
/* The remembered failure (raised again as the current error), or 0. */
int vstd_wb_error(struct vstd_wb *wb);
/* Wait for all queued writes; the remembered failure, or 0. */
int vstd_wb_drain(struct vstd_wb *wb);

#endif
