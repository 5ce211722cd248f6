/*
 * disk/disk_internal.h - what the generic disk files share.
 */
#ifndef VSTD_DISK_INTERNAL_H
#define VSTD_DISK_INTERNAL_H

#include "disk/driver.h"

/* Open one layer (no chain).  With owns_io the io is closed on failure too. */
int vstd_disk_open_layer(vstd_disk **out, vstd_io *io, int owns_io, const char *name,
                         const char *format, unsigned flags, uint64_t cache_size);
/* Open d's backing chain as opts allow (chain.c). */
int vstd_disk_open_chain(vstd_disk *d, const vstd_disk_open_opts *opts);
/* Resolve a backing name against the directory of the image naming it (new string). */
char *vstd_disk_resolve_backing(const char *image, const char *backing);
/* Probe the format of io. */
int vstd_disk_probe_driver(vstd_io *io, const char *name, const struct vstd_disk_driver **out,
                           int *score);
int vstd_disk_unknown_format(const char *format);
int vstd_disk_parse_prealloc(const char *text, enum vstd_prealloc *out);
/*
 * reopen.c: a new handle on the same files as d's whole chain, read-only,
 * for use by another thread; close it with vstd_disk_close.  Refused
 * (VSTD_ENOTSUP, nothing opened) for a disk open for writing, a snapshot
 * view, a layer not on a plain file, or a file replaced since d opened it.
 */
int vstd_disk_reopen_readonly(vstd_disk *d, vstd_disk **out);

#endif
