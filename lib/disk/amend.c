/*
 * disk/amend.c - vstd_disk_amend: change creation options in place.  The
 * options are parsed here; the format's amend hook takes the ones it can
 * change, and any option nobody took is an error naming it.
 */
#include "core/error_internal.h"
#include "disk/driver.h"

int vstd_disk_amend(vstd_disk *d, const char *options, vstd_progress_fn progress, void *opaque)
{
	vstd_kv *kv = NULL;
	const char *unused;
	int rc;
	if (d == NULL)
		return vstd_err(VSTD_EINVAL, "vstd_disk_amend: no disk given");
	if (!(d->flags & VSTD_DISK_RDWR))
		return vstd_err(VSTD_EPERM, "%s: cannot amend: the disk is open read-only",
		                d->filename);
	if (d->drv->amend == NULL)
		return vstd_err(VSTD_ENOTSUP, "%s: the %s format has no options to amend",
		                d->filename, d->drv->name);
	if ((rc = vstd_kv_parse(&kv, options, "-o")) < 0)
		return rc;
	if (vstd_kv_count(kv) == 0) {
		vstd_kv_free(kv);
		return vstd_err(VSTD_EINVAL, "%s: amend needs at least one option (-o)",
		                d->filename);
	}
	rc = d->drv->amend(d, kv, progress, opaque);
	if (rc == 0 && (unused = vstd_kv_unused(kv)) != NULL)
		rc = vstd_err(VSTD_ENOTSUP, "%s: the %s format cannot amend option '%s'",
		              d->filename, d->drv->name, unused);
	vstd_kv_free(kv);
	return rc;
}
