/*
 * disk/rebase.c - vstd_disk_rebase: give an image a new backing file.
 *
 * Safe mode keeps the guest-visible contents: wherever the top layer does
 * not define the data itself and the old and new backing chains differ, the
 * old contents are copied into the top layer first.  Only then is the new
 * backing name recorded (the driver's set_backing), and the disk object
 * switches to the new chain.  Unsafe mode (-u) only records the name.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/disk_internal.h"

#define RB_CHUNK ((size_t)1 << 20)
#define RB_UNIT ((size_t)4096)

static int copy_differences(vstd_disk *d, vstd_disk *nb, vstd_progress_fn progress, void *opaque)
{
	uint64_t off = 0, size = d->size;
	uint8_t *old = vstd_malloc(RB_CHUNK), *neu = vstd_malloc(RB_CHUNK);
	int rc = 0;
	if (old == NULL || neu == NULL) {
		rc = vstd_err_code();
		goto out;
	}
	while (off < size) {
		vstd_block_status st;
		uint64_t n;
		if ((rc = vstd_disk_block_status(d, off, size - off, &st)) < 0)
			goto out;
		n = st.length;
		if (n == 0) {
			rc = vstd_err(VSTD_ERROR, "%s: no block status at offset %" PRIu64,
			              d->filename, off);
			goto out;
		}
		if (!(st.flags & VSTD_BLOCK_ALLOCATED)) {
			size_t i = 0, len;
			if (n > RB_CHUNK - off % RB_CHUNK)
				n = RB_CHUNK - off % RB_CHUNK;
			len = (size_t)n;
			if ((rc = vstd_disk_read_below(d, off, old, len)) < 0)
				goto out;
			if (nb == NULL) {
				memset(neu, 0, len);
			} else {
				size_t have = off < nb->size ? (size_t)(nb->size - off < len
				                                                ? nb->size - off
				                                                : len)
				                             : 0;
				memset(neu + have, 0, len - have);
				if (have && (rc = vstd_disk_read(nb, off, neu, have)) < 0)
					goto out;
			}
			/* write the runs of units that differ */
			while (i < len) {
				size_t u = len - i < RB_UNIT ? len - i : RB_UNIT, j;
				if (memcmp(old + i, neu + i, u) == 0) {
					i += u;
					continue;
				}
				j = i + u;
				while (j < len) {
					size_t v = len - j < RB_UNIT ? len - j : RB_UNIT;
					if (memcmp(old + j, neu + j, v) == 0)
						break;
					j += v;
				}
				if (vstd_is_zero(old + i, j - i))
					rc = vstd_disk_write_zeroes(d, off + i, j - i, 0);
				else
					rc = vstd_disk_write(d, off + i, old + i, j - i);
				if (rc < 0)
					goto out;
				i = j;
			}
		}
		off += n;
		if (progress != NULL && progress(off, size, opaque)) {
			rc = vstd_err(VSTD_ECANCELED, "rebase: canceled at offset %" PRIu64, off);
			goto out;
		}
	}
out:
	vstd_free(old);
	vstd_free(neu);
	return rc;
}

int vstd_disk_rebase(vstd_disk *d, const char *backing_file, const char *backing_format,
                     unsigned flags, vstd_progress_fn progress, void *opaque)
{
	vstd_disk *nb = NULL;
	char *path = NULL;
	int rc;
	if (d == NULL)
		return vstd_err(VSTD_EINVAL, "vstd_disk_rebase: no disk given");
	if (!(d->flags & VSTD_DISK_RDWR))
		return vstd_err(VSTD_EPERM, "%s: cannot rebase: the disk is open read-only",
		                d->filename);
	if (backing_file != NULL && backing_file[0] == '\0')
		backing_file = NULL;
	if (d->drv->set_backing == NULL)
		return vstd_err(VSTD_ENOTSUP, "%s: the %s format cannot record a backing file",
		                d->filename, d->drv->name);
	if (backing_file != NULL && backing_format == NULL)
		return vstd_err(VSTD_EINVAL,
		                "%s: give the new backing file's format (-F %s <format>)",
		                d->filename, backing_file);
	if (backing_format != NULL && vstd_disk_driver_find(backing_format) == NULL)
		return vstd_disk_unknown_format(backing_format);
	if (!(flags & VSTD_REBASE_UNSAFE)) {
		if (d->backing_name != NULL && d->backing == NULL &&
		    !(d->flags & VSTD_DISK_NO_BACKING))
			return vstd_err(VSTD_ESTATE, "%s: the old backing file is not open",
			                d->filename);
		if (d->flags & VSTD_DISK_NO_BACKING && d->backing_name != NULL)
			return vstd_err(
			        VSTD_ESTATE,
			        "%s: safe rebase needs the old backing chain open (or use -u)",
			        d->filename);
		if (backing_file != NULL) {
			vstd_disk_open_opts o = VSTD_DISK_OPEN_OPTS_INIT;
			o.format = backing_format;
			if ((path = vstd_disk_resolve_backing(d->filename, backing_file)) == NULL)
				return vstd_err_code();
			rc = vstd_disk_open(&nb, path, &o);
			if (rc < 0) {
				vstd_err_prefix("%s: cannot open the new backing file: ",
				                d->filename);
				goto out;
			}
		}
		if ((rc = copy_differences(d, nb, progress, opaque)) < 0)
			goto out;
	}
	if ((rc = d->drv->set_backing(d, backing_file, backing_file ? backing_format : NULL)) < 0)
		goto out;
	if ((rc = vstd_disk_set_backing(d, backing_file, backing_file ? backing_format : NULL)) < 0)
		goto out;
	if ((rc = vstd_disk_flush(d)) < 0)
		goto out;
	/* the disk now reads through the new chain (or unsafe: none we know) */
	vstd_disk_close(d->backing);
	d->backing = nb;
	nb = NULL;
	vstd_free(d->backing_path);
	d->backing_path = path;
	path = NULL;
	if (d->backing != NULL)
		d->backing->depth = d->depth + 1;
out:
	vstd_disk_close(nb);
	vstd_free(path);
	return rc;
}
