/*
 * disk/chain.c - opening backing chains safely.
 *
 * Rules (docs/formats/backing.md): relative names resolve against the
 * directory of the image that names them; the format must be recorded or
 * given, probing only with VSTD_DISK_PROBE_BACKING and never to "raw"; the
 * chain is bounded in depth and may not revisit a file (same device and
 * inode); every backing layer is opened read-only.
 */
#include <string.h>
#include <sys/stat.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "disk/disk_internal.h"

char *vstd_disk_resolve_backing(const char *image, const char *backing)
{
	const char *slash;
	if (backing[0] == '/' || image == NULL || (slash = strrchr(image, '/')) == NULL)
		return vstd_strdup(backing);
	return vstd_asprintf("%.*s/%s", (int)(slash - image), image, backing);
}

struct chain_id {
	dev_t dev;
	ino_t ino;
};

int vstd_disk_open_chain(vstd_disk *top, const vstd_disk_open_opts *opts)
{
	unsigned max_depth =
	        opts->max_chain_depth ? opts->max_chain_depth : VSTD_DISK_DEFAULT_MAX_CHAIN;
	struct chain_id *ids;
	size_t nids = 0;
	struct stat st;
	vstd_disk *d = top;
	int rc = 0;
	if (top->flags & VSTD_DISK_NO_BACKING)
		return 0;
	ids = vstd_calloc((size_t)max_depth + 1, sizeof(*ids));
	if (ids == NULL)
		return vstd_err_code();
	if (stat(top->filename, &st) == 0)
		ids[nids++] = (struct chain_id){st.st_dev, st.st_ino};
	while (d->backing_name != NULL && d->backing_name[0] != '\0') {
		const char *fmt = d->backing_format;
		unsigned layer_flags = (d->flags & (VSTD_DISK_DIRECT | VSTD_DISK_PROBE_BACKING)) |
		                       VSTD_DISK_NO_REPLAY;
		vstd_io *io = NULL;
		vstd_disk *b = NULL;
		char *path;
		if (d->depth + 1 > max_depth) {
			rc = vstd_err(VSTD_ELIMIT,
			              "%s: backing chain is deeper than %u images (at '%s')",
			              top->filename, max_depth, d->backing_name);
			break;
		}
		path = vstd_disk_resolve_backing(d->filename, d->backing_name);
		if (path == NULL) {
			rc = vstd_err_code();
			break;
		}
		d->backing_path = path;
		if (stat(path, &st) == 0) {
			for (size_t i = 0; i < nids; i++) {
				if (ids[i].dev == st.st_dev && ids[i].ino == st.st_ino) {
					rc = vstd_err(VSTD_ECORRUPT,
					              "%s: backing chain loops: '%s' is already in "
					              "the chain",
					              d->filename, path);
					goto out;
				}
			}
			ids[nids++] = (struct chain_id){st.st_dev, st.st_ino};
		}
		if (fmt == NULL && d == top)
			fmt = opts->backing_format;
		if ((rc = vstd_io_file_open(&io, path,
		                            VSTD_IO_READ | ((layer_flags & VSTD_DISK_DIRECT)
		                                                    ? VSTD_IO_DIRECT
		                                                    : 0))) < 0) {
			vstd_err_prefix("%s: cannot open backing file '%s': ", d->filename,
			                d->backing_name);
			break;
		}
		if (fmt == NULL) {
			const struct vstd_disk_driver *drv = NULL;
			if (!(opts->flags & VSTD_DISK_PROBE_BACKING)) {
				vstd_io_close(io);
				rc = vstd_err(
				        VSTD_EPERM,
				        "%s: the image does not record the format of its backing "
				        "file '%s'; probing it is unsafe. Record it with "
				        "'vstd img rebase -u -b %s -F <format>', or allow probing "
				        "explicitly",
				        d->filename, d->backing_name, d->backing_name);
				break;
			}
			if ((rc = vstd_disk_probe_driver(io, path, &drv, NULL)) < 0) {
				vstd_io_close(io);
				break;
			}
			if (strcmp(drv->name, "raw") == 0) {
				vstd_io_close(io);
				rc = vstd_err(
				        VSTD_EPERM,
				        "%s: backing file '%s' has no recorded format and probes "
				        "as raw; refusing to guess (give the backing format)",
				        d->filename, d->backing_name);
				break;
			}
			fmt = drv->name;
		}
		rc = vstd_disk_open_layer(&b, io, 1, path, fmt, layer_flags, opts->cache_size);
		if (rc < 0) {
			vstd_err_prefix("%s: backing file '%s': ", d->filename, d->backing_name);
			break;
		}
		b->depth = d->depth + 1;
		d->backing = b;
		d = b;
	}
out:
	vstd_free(ids);
	return rc;
}
