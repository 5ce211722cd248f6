/*
 * disk/reopen.c - a second, read-only handle on an open disk's chain, for
 * another thread (convert's parallel readers).
 *
 * A vstd_disk is used by one thread at a time (its drivers cache metadata
 * without locks).  vstd_disk_reopen_readonly opens every layer's file again
 * with the driver the layer has, and links the new layers in the same
 * order: no probing, no backing-name resolution, no parent search, so the
 * copy is the same chain, not whatever the names lead to today.  Each file
 * opened must be the very file the layer has open (same device and inode):
 * a file renamed or replaced since refuses the copy.  Only disks opened
 * read-only, on regular files or block devices, qualify: a writable disk
 * may hold changes its files do not have yet, and a pipe or character
 * device opened again need not give the same bytes.
 */
#include <string.h>
#include <sys/stat.h>

#include "core/error_internal.h"
#include "core/io_internal.h"
#include "disk/disk_internal.h"

/* The layer's file, opened again: 0, or an error (the copy is refused). */
static int reopen_file(const vstd_disk *l, vstd_io **out)
{
	struct stat a, b;
	int direct = 0, fd = vstd_io_file_fd(l->io, &direct), nfd, rc;
	vstd_io *io = NULL;
	/* a regular file or a block device: anything else (a pipe, a
	 * character device) opened again might not give the same bytes */
	if (fd < 0 || fstat(fd, &a) != 0 || !(S_ISREG(a.st_mode) || S_ISBLK(a.st_mode)))
		return vstd_err(VSTD_ENOTSUP,
		                "%s: not a regular file or block device; cannot open it again",
		                l->filename);
	if ((rc = vstd_io_file_open(&io, l->filename,
	                            VSTD_IO_READ | (direct ? VSTD_IO_DIRECT : 0))) < 0)
		return rc;
	nfd = vstd_io_file_fd(io, &direct);
	if (nfd < 0 || fstat(nfd, &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		vstd_io_close(io);
		return vstd_err(VSTD_ENOTSUP,
		                "%s: the name now leads to another file than the open one",
		                l->filename);
	}
	*out = io;
	return 0;
}

int vstd_disk_reopen_readonly(vstd_disk *d, vstd_disk **out)
{
	vstd_disk *top = NULL, *prev = NULL;
	int rc = 0;
	*out = NULL;
	if (d->flags & VSTD_DISK_RDWR)
		return vstd_err(VSTD_ENOTSUP, "%s: open for writing; not reopened", d->filename);
	for (const vstd_disk *l = d; l != NULL; l = l->backing) {
		vstd_disk *n = NULL;
		vstd_io *io = NULL;
		if (l->snapshot_of != NULL) {
			rc = vstd_err(VSTD_ENOTSUP, "%s: a snapshot view; not reopened",
			              l->filename);
			break;
		}
		if ((rc = reopen_file(l, &io)) < 0)
			break;
		rc = vstd_disk_open_layer(&n, io, 1, l->filename, l->drv->name,
		                          (l->flags & ~(unsigned)VSTD_DISK_RDWR) |
		                                  VSTD_DISK_NO_BACKING,
		                          l->cache_size);
		if (rc < 0)
			break;
		n->flags = l->flags & ~(unsigned)VSTD_DISK_RDWR;
		n->depth = l->depth;
		if (n->size != l->size) {
			vstd_disk_close(n);
			rc = vstd_err(VSTD_ENOTSUP, "%s: changed size since it was opened",
			              l->filename);
			break;
		}
		if (prev == NULL)
			top = n;
		else
			prev->backing = n;
		prev = n;
	}
	if (rc < 0) {
		vstd_disk_close(top);
		return rc;
	}
	*out = top;
	return 0;
}
