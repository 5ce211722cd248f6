/*
 * disk/measure.c - vstd_disk_measure: how large would an image be?  The
 * generic part checks the options and the size; the format's measure hook
 * does the arithmetic.
 */
#include <string.h>

#include "core/error_internal.h"
#include "disk/disk_internal.h"

int vstd_disk_measure(const char *format, const char *options, uint64_t size, vstd_disk *src,
                      vstd_disk_measure_result *result)
{
	const struct vstd_disk_driver *drv;
	struct vstd_disk_create_args args;
	vstd_kv *kv = NULL;
	const char *v;
	int rc;
	if (format == NULL || result == NULL)
		return vstd_err(VSTD_EINVAL, "vstd_disk_measure: no format or result given");
	memset(result, 0, sizeof(*result));
	if ((drv = vstd_disk_driver_find(format)) == NULL)
		return vstd_disk_unknown_format(format);
	if (drv->measure == NULL)
		return vstd_err(VSTD_ENOTSUP, "the %s format cannot measure image sizes",
		                drv->name);
	if (src != NULL && size == 0)
		size = vstd_disk_size(src);
	if (size > (uint64_t)INT64_MAX)
		return vstd_err(VSTD_ERANGE, "measure: size %" PRIu64 " is too large", size);
	if ((rc = vstd_kv_parse(&kv, options, "-o")) < 0)
		return rc;
	for (size_t i = 0; i < vstd_kv_count(kv); i++) {
		const char *key = vstd_kv_key(kv, i);
		int known = 0;
		for (size_t j = 0; j < drv->n_create_options && !known; j++)
			known = strcmp(drv->create_options[j].name, key) == 0;
		if (!known) {
			rc = vstd_err(VSTD_EINVAL, "the %s format has no option '%s' (see -o help)",
			              drv->name, key);
			goto out;
		}
	}
	memset(&args, 0, sizeof(args));
	args.path = src != NULL ? vstd_disk_filename(src) : "(measure)";
	args.size = size;
	args.options = kv;
	if ((v = vstd_kv_get(kv, "preallocation")) != NULL &&
	    (rc = vstd_disk_parse_prealloc(v, &args.prealloc)) < 0)
		goto out;
	rc = drv->measure(&args, src, result);
out:
	vstd_kv_free(kv);
	return rc;
}
