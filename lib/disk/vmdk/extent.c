/*
 * disk/vmdk/extent.c - the extent list: opening extent files safely,
 * finding the extent of a guest offset, FLAT extents.
 *
 * Extent file names come from the descriptor, which is hostile: a name must
 * be relative, without "..", and (after symbolic links) stay inside the
 * directory of the descriptor, unless the caller opened the disk with
 * VSTD_DISK_EXTERNAL_EXTENTS.  An image held in memory (fuzzers, tests)
 * never opens files.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/disk_internal.h"
#include "disk/vmdk/vmdk_internal.h"

static int name_is_safe(const char *f)
{
	const char *p = f;
	if (f[0] == '/' || f[0] == '\0')
		return 0;
	while (*p) {
		const char *s = strchr(p, '/');
		size_t n = s ? (size_t)(s - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 0;
		if (s == NULL)
			break;
		p = s + 1;
	}
	return 1;
}

/* 1 when `path` (existing) lies inside the directory of `image`. */
static int inside_dir(const char *image, const char *path)
{
	char *dir = vstd_strdup(image), *slash;
	char rd[PATH_MAX], rp[PATH_MAX];
	int ok = 0;
	if (dir == NULL)
		return 0;
	slash = strrchr(dir, '/');
	if (slash == NULL) {
		vstd_free(dir);
		dir = vstd_strdup(".");
		if (dir == NULL)
			return 0;
	} else if (slash == dir) {
		slash[1] = '\0';
	} else {
		*slash = '\0';
	}
	if (realpath(dir, rd) != NULL && realpath(path, rp) != NULL) {
		size_t n = strlen(rd);
		if (n == 1 && rd[0] == '/')
			ok = 1;
		else
			ok = strncmp(rd, rp, n) == 0 && rp[n] == '/';
	}
	vstd_free(dir);
	return ok;
}

int vmdk_extent_open_file(vstd_disk *d, struct vmdk_extent *e, const char *file, int writable)
{
	int external = (d->flags & VSTD_DISK_EXTERNAL_EXTENTS) != 0;
	int rc;
	if (strcmp(vstd_io_kind(d->io), "file") != 0)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: extent file '%s': the descriptor is not a file, "
		                "so extent files are not opened",
		                d->filename, file);
	if (!external && !name_is_safe(file))
		return vstd_err(VSTD_EPERM,
		                "%s: extent file name '%s' leaves the image's directory "
		                "(absolute or '..'); refused (open with external extents allowed "
		                "to accept it)",
		                d->filename, file);
	e->path = vstd_disk_resolve_backing(d->filename, file);
	if (e->path == NULL)
		return vstd_err_code();
	rc = vstd_io_file_open(&e->io, e->path,
	                       VSTD_IO_READ | (writable ? VSTD_IO_WRITE : 0) |
	                               ((d->flags & VSTD_DISK_DIRECT) ? VSTD_IO_DIRECT : 0));
	if (rc < 0)
		return vstd_err_prefix("%s: extent file '%s': ", d->filename, file);
	e->owns_io = 1;
	if (!external && !inside_dir(d->filename, e->path))
		return vstd_err(VSTD_EPERM,
		                "%s: extent file '%s' resolves (through a symbolic link) "
		                "outside the image's directory; refused",
		                d->filename, file);
	return 0;
}

void vmdk_extent_free(struct vmdk_extent *e)
{
	if (e->owns_io)
		vstd_io_close(e->io);
	if (e->gt != NULL) {
		for (uint64_t i = 0; i < e->n_gd; i++)
			vstd_free(e->gt[i]);
	}
	vstd_free(e->gt);
	vstd_free(e->gt_dirty);
	vstd_free(e->gd);
	vstd_free(e->rgd);
	vstd_free(e->pend);
	vstd_free(e->zbuf);
	vmdk_stream_free_inflater(e);
	vstd_free(e->cache);
	vstd_free(e->path);
	vstd_free(e->name);
	memset(e, 0, sizeof(*e));
}

struct vmdk_extent *vmdk_extent_find(struct vmdk_state *s, uint64_t off)
{
	size_t lo = 0, hi = s->n_ext;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct vmdk_extent *e = &s->ext[mid];
		if (off < e->vstart)
			hi = mid;
		else if (off - e->vstart >= e->vlen)
			lo = mid + 1;
		else
			return e;
	}
	return NULL;
}

int vmdk_flat_read(vstd_disk *d, struct vmdk_extent *e, uint64_t rel, void *buf, size_t len)
{
	size_t got = 0;
	uint64_t off;
	int rc;
	if (vstd_add_overflow_u64(e->flat_off, rel, &off))
		return vstd_err(VSTD_ECORRUPT, "%s: flat extent offset overflows", d->filename);
	rc = vstd_io_pread_partial(e->io, buf, len, off, &got);
	if (rc < 0)
		return rc;
	/* a flat file shorter than the descriptor says reads as zeroes */
	memset((uint8_t *)buf + got, 0, len - got);
	return 0;
}
