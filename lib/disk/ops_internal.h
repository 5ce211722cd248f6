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

/* Copy the contents of src into the open disk dst (the convert engine). */
int vstd_disk_copy_into(vstd_disk *src, vstd_disk *dst, const vstd_disk_convert_opts *opts,
                        int target_is_zero);

#endif
