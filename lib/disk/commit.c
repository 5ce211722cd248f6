/*
 * disk/commit.c - vstd_disk_commit: fold the top layer into its backing
 * file.
 *
 * The backing layer was opened read-only with the chain; commit opens the
 * same file again for writing (that layer alone: its own backing chain is
 * handed over), swaps it into the chain, copies every area the top layer
 * defines, flushes, and then empties the top layer unless asked to keep it.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "disk/disk_internal.h"

#define COMMIT_CHUNK ((size_t)2 << 20)

/* Replace d->backing (read-only) by the same file opened writable. */
static int reopen_backing_writable(vstd_disk *d)
{
	vstd_disk *old = d->backing, *nb = NULL;
	vstd_io *io = NULL;
	int rc;
	if (old->flags & VSTD_DISK_RDWR)
		return 0;
	if ((rc = vstd_io_file_open(&io, old->filename, VSTD_IO_WRITE)) < 0) {
		vstd_err_prefix("%s: cannot open the backing file for writing: ", d->filename);
		return rc;
	}
	rc = vstd_disk_open_layer(&nb, io, 1, old->filename, old->drv->name,
	                          (old->flags & ~(unsigned)VSTD_DISK_NO_REPLAY) | VSTD_DISK_RDWR |
	                                  VSTD_DISK_NO_BACKING,
	                          old->cache_size);
	if (rc < 0)
		return rc;
	nb->flags &= ~(unsigned)VSTD_DISK_NO_BACKING;
	nb->depth = old->depth;
	nb->backing = old->backing;
	nb->backing_path = old->backing_path;
	old->backing = NULL;
	old->backing_path = NULL;
	vstd_disk_close(old);
	d->backing = nb;
	return 0;
}

int vstd_disk_commit(vstd_disk *d, int keep_top, vstd_progress_fn progress, void *opaque)
{
	vstd_disk *b;
	uint8_t *buf = NULL;
	uint64_t off = 0;
	int rc;
	if (d == NULL)
		return vstd_err(VSTD_EINVAL, "vstd_disk_commit: no disk given");
	if (d->backing == NULL)
		return vstd_err(VSTD_ESTATE,
		                "%s: the image has no (open) backing file to commit into",
		                d->filename);
	if (!keep_top && !(d->flags & VSTD_DISK_RDWR))
		return vstd_err(VSTD_EPERM,
		                "%s: emptying the image after commit needs it open for writing",
		                d->filename);
	if ((rc = reopen_backing_writable(d)) < 0)
		return rc;
	b = d->backing;
	if (b->size < d->size && (rc = vstd_disk_resize(b, d->size, 0, NULL)) < 0) {
		vstd_err_prefix("%s: the backing file is smaller than the image: ", d->filename);
		return rc;
	}
	if ((buf = vstd_malloc(COMMIT_CHUNK)) == NULL)
		return vstd_err_code();
	while (off < d->size) {
		vstd_block_status st;
		uint64_t n;
		if ((rc = vstd_disk_block_status(d, off, d->size - off, &st)) < 0)
			goto out;
		n = st.length;
		if (n == 0) {
			rc = vstd_err(VSTD_ERROR, "%s: no block status at offset %" PRIu64,
			              d->filename, off);
			goto out;
		}
		if (st.flags & VSTD_BLOCK_ALLOCATED) {
			if (n > COMMIT_CHUNK)
				n = COMMIT_CHUNK;
			if ((st.flags & VSTD_BLOCK_ZERO) || !(st.flags & VSTD_BLOCK_DATA)) {
				rc = vstd_disk_write_zeroes(b, off, n, VSTD_IO_ZERO_MAY_UNMAP);
			} else {
				if ((rc = vstd_disk_read(d, off, buf, (size_t)n)) < 0)
					goto out;
				rc = vstd_disk_write(b, off, buf, (size_t)n);
			}
			if (rc < 0)
				goto out;
		}
		off += n;
		if (progress != NULL && progress(off, d->size, opaque)) {
			rc = vstd_err(VSTD_ECANCELED, "commit: canceled at offset %" PRIu64, off);
			goto out;
		}
	}
	if ((rc = vstd_disk_flush(b)) < 0)
		goto out;
	if (!keep_top) {
		if (d->drv->make_empty != NULL) {
			if ((rc = d->drv->make_empty(d)) < 0 || (rc = vstd_disk_flush(d)) < 0)
				goto out;
		} else {
			rc = vstd_err(
			        VSTD_ENOTSUP,
			        "%s: data committed, but the %s format cannot empty the image "
			        "(use -d to keep it)",
			        d->filename, d->drv->name);
		}
	}
out:
	vstd_free(buf);
	return rc;
}
