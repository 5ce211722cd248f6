/*
 * disk/create.c - vstd_disk_create: option checks, the backing file, the
 * target file, and cleanup so that a failed create leaves no image behind.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "disk/disk_internal.h"

/* Every option given must be one the driver declares. */
static int check_option_names(const struct vstd_disk_driver *drv, vstd_kv *kv)
{
	for (size_t i = 0; i < vstd_kv_count(kv); i++) {
		const char *key = vstd_kv_key(kv, i);
		int known = 0;
		for (size_t j = 0; j < drv->n_create_options && !known; j++)
			known = strcmp(drv->create_options[j].name, key) == 0;
		if (!known)
			return vstd_err(VSTD_EINVAL,
			                "the %s format has no option '%s' (see -o help)", drv->name,
			                key);
	}
	return 0;
}

int vstd_disk_create(const char *path, const vstd_disk_create_opts *opts)
{
	const struct vstd_disk_driver *drv;
	struct vstd_disk_create_args args;
	vstd_kv *kv = NULL;
	vstd_disk *backing = NULL;
	vstd_io *io = NULL;
	const char *v;
	struct stat st;
	int existed, rc;
	if (path == NULL || opts == NULL || opts->version != VSTD_DISK_CREATE_OPTS_VERSION)
		return vstd_err(VSTD_EINVAL, "vstd_disk_create: missing path or options");
	if (opts->format == NULL)
		return vstd_err(VSTD_EINVAL, "%s: no format given for the new image", path);
	drv = vstd_disk_driver_find(opts->format);
	if (drv == NULL)
		return vstd_disk_unknown_format(opts->format);
	if (drv->create == NULL)
		return vstd_err(VSTD_ENOTSUP, "the %s driver cannot create images", drv->name);
	if ((rc = vstd_kv_parse(&kv, opts->options, "-o")) < 0)
		return rc;
	if ((rc = check_option_names(drv, kv)) < 0)
		goto out;
	memset(&args, 0, sizeof(args));
	args.path = path;
	args.size = opts->size;
	args.options = kv;
	args.backing_file = opts->backing_file;
	args.backing_format = opts->backing_format;
	if ((v = vstd_kv_get(kv, "preallocation")) != NULL &&
	    (rc = vstd_disk_parse_prealloc(v, &args.prealloc)) < 0)
		goto out;
	if (args.size > (uint64_t)INT64_MAX) {
		rc = vstd_err(VSTD_ERANGE, "%s: size %" PRIu64 " is too large", path, args.size);
		goto out;
	}
	if (opts->backing_file != NULL) {
		vstd_disk_open_opts bo = VSTD_DISK_OPEN_OPTS_INIT;
		char *bpath;
		if (opts->backing_format == NULL) {
			rc = vstd_err(
			        VSTD_EINVAL,
			        "%s: a backing file needs its format (-F), as probing it later "
			        "would be unsafe",
			        path);
			goto out;
		}
		if (vstd_disk_driver_find(opts->backing_format) == NULL) {
			rc = vstd_disk_unknown_format(opts->backing_format);
			goto out;
		}
		if (!(opts->flags & VSTD_DISK_CREATE_NO_BACKING_CHECK)) {
			bpath = vstd_disk_resolve_backing(path, opts->backing_file);
			if (bpath == NULL) {
				rc = vstd_err_code();
				goto out;
			}
			bo.format = opts->backing_format;
			rc = vstd_disk_open(&backing, bpath, &bo);
			vstd_free(bpath);
			if (rc < 0) {
				vstd_err_prefix("%s: cannot open backing file: ", path);
				goto out;
			}
			args.backing = backing;
			if (args.size == 0)
				args.size = vstd_disk_size(backing);
		} else if (args.size == 0) {
			rc = vstd_err(VSTD_EINVAL,
			              "%s: give a size when the backing file is not opened", path);
			goto out;
		}
	}
	existed = stat(path, &st) == 0;
	if (existed && S_ISDIR(st.st_mode)) {
		rc = vstd_err(VSTD_EINVAL, "%s: is a directory", path);
		goto out;
	}
	rc = vstd_io_file_open(&io, path,
	                       VSTD_IO_WRITE | VSTD_IO_CREATE |
	                               ((opts->flags & VSTD_DISK_CREATE_EXCL) ? VSTD_IO_EXCL : 0) |
	                               (existed && S_ISBLK(st.st_mode) ? 0 : VSTD_IO_TRUNC));
	if (rc < 0) {
		/* the open may have created the file before failing */
		if (!existed && rc != VSTD_EEXIST)
			unlink(path);
		goto out;
	}
	rc = drv->create(io, &args);
	if (rc == 0)
		rc = vstd_io_flush(io);
	vstd_io_close(io);
	if (rc < 0 && !(existed && S_ISBLK(st.st_mode))) {
		int saved = vstd_err_code();
		/* Leave nothing that could pass for an image. */
		if (unlink(path) != 0 && errno != ENOENT)
			vstd_err_prefix("(could not remove the partial file) ");
		rc = saved;
	}
out:
	vstd_disk_close(backing);
	vstd_kv_free(kv);
	return rc;
}
