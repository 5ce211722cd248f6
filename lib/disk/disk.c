/*
 * disk/disk.c - the vstd_disk object: probing, opening, argument checks and
 * dispatch of data operations to the format driver.
 *
 * Backing chains are opened in chain.c, creation in create.c, information
 * and checks in info.c.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/disk_internal.h"

#define PROBE_HEAD_SIZE ((size_t)64 * 1024)
#define PROBE_TAIL_SIZE ((size_t)512)

const struct vstd_disk_driver *vstd_disk_driver_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < vstd_disk_driver_slots; i++) {
		const struct vstd_disk_driver *drv = vstd_disk_drivers[i];
		if (drv != NULL && strcmp(drv->name, name) == 0)
			return drv;
	}
	/* qemu's alias for VHD */
	if (strcmp(name, "vhd") == 0)
		return vstd_disk_driver_find("vpc");
	return NULL;
}

size_t vstd_disk_format_count(void)
{
	size_t n = 0;
	for (size_t i = 0; i < vstd_disk_driver_slots; i++)
		n += vstd_disk_drivers[i] != NULL;
	return n;
}

const char *vstd_disk_format_name(size_t index)
{
	for (size_t i = 0; i < vstd_disk_driver_slots; i++) {
		if (vstd_disk_drivers[i] == NULL)
			continue;
		if (index-- == 0)
			return vstd_disk_drivers[i]->name;
	}
	return NULL;
}

const char *vstd_disk_format_description(const char *format)
{
	const struct vstd_disk_driver *drv = vstd_disk_driver_find(format);
	return drv != NULL ? drv->description : NULL;
}

const vstd_disk_option_desc *vstd_disk_format_options(const char *format, size_t *count)
{
	const struct vstd_disk_driver *drv = vstd_disk_driver_find(format);
	*count = drv != NULL ? drv->n_create_options : 0;
	return drv != NULL ? drv->create_options : NULL;
}

int vstd_disk_unknown_format(const char *format)
{
	char list[256] = "";
	for (size_t i = 0; i < vstd_disk_format_count(); i++) {
		const char *n = vstd_disk_format_name(i);
		if (strlen(list) + strlen(n) + 3 < sizeof(list)) {
			if (i)
				strcat(list, ", ");
			strcat(list, n);
		}
	}
	return vstd_err(VSTD_ENOTSUP, "unknown disk format '%s' (known: %s)", format, list);
}

int vstd_disk_probe_driver(vstd_io *io, const char *name, const struct vstd_disk_driver **out,
                           int *score)
{
	uint8_t *head, tail[PROBE_TAIL_SIZE];
	uint64_t size;
	size_t got = 0, tail_got = 0;
	int best = 0, rc;
	const struct vstd_disk_driver *winner = NULL;
	if ((rc = vstd_io_size(io, &size)) < 0)
		return rc;
	head = vstd_malloc(PROBE_HEAD_SIZE);
	if (head == NULL)
		return vstd_err_code();
	rc = vstd_io_pread_partial(io, head, PROBE_HEAD_SIZE, 0, &got);
	if (rc < 0) {
		vstd_free(head);
		return rc;
	}
	if (size >= PROBE_TAIL_SIZE) {
		rc = vstd_io_pread_partial(io, tail, PROBE_TAIL_SIZE, size - PROBE_TAIL_SIZE,
		                           &tail_got);
		if (rc < 0) {
			vstd_free(head);
			return rc;
		}
	}
	for (size_t i = 0; i < vstd_disk_driver_slots; i++) {
		const struct vstd_disk_driver *drv = vstd_disk_drivers[i];
		int s = 0, t;
		if (drv == NULL)
			continue;
		if (drv->probe != NULL)
			s = drv->probe(head, got, size, name);
		if (drv->probe_tail != NULL && tail_got > 0 &&
		    (t = drv->probe_tail(tail, tail_got, size, name)) > s)
			s = t;
		if (s > best) {
			best = s;
			winner = drv;
		}
	}
	vstd_free(head);
	if (winner == NULL)
		return vstd_err(VSTD_ENOTSUP, "%s: no disk format recognises this file", name);
	*out = winner;
	if (score != NULL)
		*score = best;
	return 0;
}

int vstd_disk_probe(vstd_io *io, const char *name, const char **format, int *score)
{
	const struct vstd_disk_driver *drv = NULL;
	int rc = vstd_disk_probe_driver(io, name != NULL ? name : vstd_io_name(io), &drv, score);
	if (rc == 0)
		*format = drv->name;
	return rc;
}

static void disk_free_fields(vstd_disk *d)
{
	vstd_free(d->filename);
	vstd_free(d->backing_name);
	vstd_free(d->backing_format);
	vstd_free(d->backing_path);
}

void vstd_disk_close(vstd_disk *d)
{
	while (d != NULL) {
		/* a snapshot view borrows its disk's chain */
		vstd_disk *below = d->snapshot_of != NULL ? NULL : d->backing;
		if (d->drv != NULL && d->drv->close != NULL && d->priv != NULL)
			d->drv->close(d);
		if (d->owns_io)
			vstd_io_close(d->io);
		disk_free_fields(d);
		vstd_free(d);
		d = below;
	}
}

int vstd_disk_set_backing(vstd_disk *d, const char *name, const char *format)
{
	char *n = NULL, *f = NULL;
	if (name != NULL && (n = vstd_strdup(name)) == NULL)
		return vstd_err_code();
	if (format != NULL && (f = vstd_strdup(format)) == NULL) {
		vstd_free(n);
		return vstd_err_code();
	}
	vstd_free(d->backing_name);
	vstd_free(d->backing_format);
	d->backing_name = n;
	d->backing_format = f;
	return 0;
}

int vstd_disk_open_layer(vstd_disk **out, vstd_io *io, int owns_io, const char *name,
                         const char *format, unsigned flags, uint64_t cache_size)
{
	const struct vstd_disk_driver *drv = NULL;
	vstd_disk *d;
	int rc;
	if (format != NULL) {
		drv = vstd_disk_driver_find(format);
		if (drv == NULL)
			rc = vstd_disk_unknown_format(format);
		else
			rc = 0;
	} else {
		rc = vstd_disk_probe_driver(io, name, &drv, NULL);
	}
	if (rc < 0) {
		if (owns_io)
			vstd_io_close(io);
		return rc;
	}
	d = vstd_calloc(1, sizeof(*d));
	if (d == NULL || (d->filename = vstd_strdup(name)) == NULL) {
		vstd_free(d);
		if (owns_io)
			vstd_io_close(io);
		return vstd_err_code();
	}
	d->drv = drv;
	d->io = io;
	d->owns_io = owns_io;
	d->flags = flags;
	d->cache_size = cache_size;
	rc = drv->open(d);
	if (rc < 0) {
		d->priv = NULL; /* the driver freed its state */
		vstd_disk_close(d);
		return rc;
	}
	*out = d;
	return 0;
}

int vstd_disk_open_io(vstd_disk **out, vstd_io *io, const char *name,
                      const vstd_disk_open_opts *opts)
{
	vstd_disk_open_opts def = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	int rc;
	if (out == NULL || io == NULL)
		return vstd_err(VSTD_EINVAL, "vstd_disk_open_io: no I/O object");
	if (opts == NULL)
		opts = &def;
	if (opts->version != VSTD_DISK_OPEN_OPTS_VERSION)
		return vstd_err(VSTD_EINVAL, "vstd_disk_open_io: options version %u unknown",
		                opts->version);
	rc = vstd_disk_open_layer(&d, io, 0, name != NULL ? name : vstd_io_name(io), opts->format,
	                          opts->flags, opts->cache_size);
	if (rc < 0)
		return rc;
	if (name == NULL)
		d->flags |= VSTD_DISK_NO_BACKING;
	rc = vstd_disk_open_chain(d, opts);
	if (rc < 0) {
		vstd_disk_close(d);
		return rc;
	}
	*out = d;
	return 0;
}

int vstd_disk_open(vstd_disk **out, const char *path, const vstd_disk_open_opts *opts)
{
	vstd_disk_open_opts def = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	vstd_io *io = NULL;
	unsigned ioflags;
	int rc;
	if (out == NULL || path == NULL)
		return vstd_err(VSTD_EINVAL, "vstd_disk_open: no path given");
	if (opts == NULL)
		opts = &def;
	if (opts->version != VSTD_DISK_OPEN_OPTS_VERSION)
		return vstd_err(VSTD_EINVAL, "vstd_disk_open: options version %u unknown",
		                opts->version);
	ioflags = VSTD_IO_READ | ((opts->flags & VSTD_DISK_RDWR) ? VSTD_IO_WRITE : 0) |
	          ((opts->flags & VSTD_DISK_DIRECT) ? VSTD_IO_DIRECT : 0);
	rc = vstd_io_file_open(&io, path, ioflags);
	if (rc < 0)
		return rc;
	rc = vstd_disk_open_layer(&d, io, 1, path, opts->format, opts->flags, opts->cache_size);
	if (rc < 0)
		return rc;
	rc = vstd_disk_open_chain(d, opts);
	if (rc < 0) {
		vstd_disk_close(d);
		return rc;
	}
	*out = d;
	return 0;
}

uint64_t vstd_disk_size(const vstd_disk *d)
{
	return d->size;
}

const char *vstd_disk_format(const vstd_disk *d)
{
	return d->drv->name;
}

const char *vstd_disk_filename(const vstd_disk *d)
{
	return d->filename;
}

vstd_disk *vstd_disk_backing(const vstd_disk *d)
{
	return d->backing;
}

vstd_io *vstd_disk_io(const vstd_disk *d)
{
	return d->io;
}

int vstd_disk_is_writable(const vstd_disk *d)
{
	return (d->flags & VSTD_DISK_RDWR) != 0;
}

/* ------------------------------------------------------------ data */

static int check_range(const vstd_disk *d, uint64_t off, uint64_t len, const char *what)
{
	if (!vstd_range_inside(off, len, d->size))
		return vstd_err(VSTD_ERANGE,
		                "%s: %s of %" PRIu64 " bytes at offset %" PRIu64
		                " passes the end of the disk (virtual size %" PRIu64 ")",
		                d->filename, what, len, off, d->size);
	return 0;
}

static int check_writable(const vstd_disk *d, const char *what)
{
	if (!(d->flags & VSTD_DISK_RDWR))
		return vstd_err(VSTD_EPERM, "%s: cannot %s: the disk is open read-only",
		                d->filename, what);
	return 0;
}

int vstd_disk_read(vstd_disk *d, uint64_t off, void *buf, size_t len)
{
	int rc = check_range(d, off, len, "read");
	if (rc < 0 || len == 0)
		return rc;
	return d->drv->read(d, off, buf, len);
}

int vstd_disk_write(vstd_disk *d, uint64_t off, const void *buf, size_t len)
{
	int rc;
	if ((rc = check_writable(d, "write")) < 0 || (rc = check_range(d, off, len, "write")) < 0)
		return rc;
	if (len == 0)
		return 0;
	if (d->drv->write == NULL)
		return vstd_err(VSTD_ENOTSUP, "%s: the %s driver cannot write", d->filename,
		                d->drv->name);
	return d->drv->write(d, off, buf, len);
}

int vstd_disk_flush(vstd_disk *d)
{
	if (!(d->flags & VSTD_DISK_RDWR))
		return 0;
	if (d->drv->flush != NULL)
		return d->drv->flush(d);
	return vstd_io_flush(d->io);
}

int vstd_disk_write_zeroes(vstd_disk *d, uint64_t off, uint64_t len, unsigned flags)
{
	int rc;
	if ((rc = check_writable(d, "write zeroes")) < 0 ||
	    (rc = check_range(d, off, len, "write-zeroes")) < 0)
		return rc;
	if (len == 0)
		return 0;
	if (d->drv->write_zeroes != NULL)
		return d->drv->write_zeroes(d, off, len, flags);
	{
		size_t chunk = len < ((uint64_t)1 << 20) ? (size_t)len : (size_t)1 << 20;
		void *zero = vstd_calloc(1, chunk);
		if (zero == NULL)
			return vstd_err_code();
		while (len > 0 && rc == 0) {
			size_t n = len < chunk ? (size_t)len : chunk;
			rc = d->drv->write(d, off, zero, n);
			off += n;
			len -= n;
		}
		vstd_free(zero);
		return rc;
	}
}

int vstd_disk_discard(vstd_disk *d, uint64_t off, uint64_t len)
{
	int rc;
	if ((rc = check_writable(d, "discard")) < 0 ||
	    (rc = check_range(d, off, len, "discard")) < 0)
		return rc;
	if (len == 0 || d->drv->discard == NULL)
		return 0;
	return d->drv->discard(d, off, len);
}

int vstd_disk_read_below(vstd_disk *d, uint64_t off, void *buf, size_t len)
{
	vstd_disk *b = d->backing;
	size_t n = 0;
	int rc;
	if (b != NULL && off < b->size) {
		n = b->size - off < len ? (size_t)(b->size - off) : len;
		if ((rc = b->drv->read(b, off, buf, n)) < 0)
			return rc;
	}
	memset((uint8_t *)buf + n, 0, len - n);
	return 0;
}

/* ------------------------------------------------------------ allocation map */

int vstd_disk_block_status(vstd_disk *d, uint64_t off, uint64_t max_len, vstd_block_status *st)
{
	int rc;
	memset(st, 0, sizeof(*st));
	st->layer = d;
	if (off >= d->size || max_len == 0)
		return off > d->size ? check_range(d, off, 0, "block status") : 0;
	if (max_len > d->size - off)
		max_len = d->size - off;
	if (d->drv->block_status == NULL) {
		st->length = max_len;
		st->flags = VSTD_BLOCK_DATA | VSTD_BLOCK_ALLOCATED;
		return 0;
	}
	rc = d->drv->block_status(d, off, max_len, st);
	if (rc < 0)
		return rc;
	if (st->length == 0 || st->length > max_len)
		return vstd_err(VSTD_ERROR,
		                "%s: the %s driver reported a block status of %" PRIu64
		                " bytes for a request of %" PRIu64,
		                d->filename, d->drv->name, st->length, max_len);
	st->layer = d;
	return 0;
}

int vstd_disk_map(vstd_disk *d, uint64_t off, uint64_t max_len, vstd_block_status *st)
{
	vstd_disk *layer = d;
	unsigned depth = 0;
	int rc;
	if ((rc = vstd_disk_block_status(d, off, max_len, st)) < 0 || st->length == 0)
		return rc;
	max_len = st->length;
	for (;;) {
		if ((st->flags & VSTD_BLOCK_ALLOCATED) || layer->backing == NULL) {
			st->depth = depth;
			if (!(st->flags & VSTD_BLOCK_ALLOCATED))
				st->flags = VSTD_BLOCK_ZERO;
			return 0;
		}
		layer = layer->backing;
		depth++;
		if (off >= layer->size) {
			/* past the backing's end: zeroes that no layer stores */
			memset(st, 0, sizeof(*st));
			st->length = max_len;
			st->flags = VSTD_BLOCK_ZERO;
			st->depth = depth;
			st->layer = layer;
			return 0;
		}
		if ((rc = vstd_disk_block_status(layer, off, max_len, st)) < 0)
			return rc;
		max_len = st->length;
	}
}

/* ------------------------------------------------------------ resize, snapshots */

static const char *const prealloc_names[] = {"off", "metadata", "falloc", "full", NULL};

int vstd_disk_parse_prealloc(const char *text, enum vstd_prealloc *out)
{
	for (size_t i = 0; prealloc_names[i] != NULL; i++) {
		if (strcmp(text, prealloc_names[i]) == 0) {
			*out = (enum vstd_prealloc)i;
			return 0;
		}
	}
	return vstd_err(VSTD_EINVAL, "preallocation '%s' is not one of off, metadata, falloc, full",
	                text);
}

int vstd_disk_resize(vstd_disk *d, uint64_t new_size, unsigned flags, const char *preallocation)
{
	enum vstd_prealloc pa = VSTD_PREALLOC_OFF;
	int rc;
	if ((rc = check_writable(d, "resize")) < 0)
		return rc;
	if (preallocation != NULL && (rc = vstd_disk_parse_prealloc(preallocation, &pa)) < 0)
		return rc;
	if (new_size < d->size && !(flags & VSTD_DISK_RESIZE_SHRINK))
		return vstd_err(VSTD_EPERM,
		                "%s: shrinking from %" PRIu64 " to %" PRIu64
		                " bytes loses data; use --shrink to confirm",
		                d->filename, d->size, new_size);
	if (new_size > (uint64_t)INT64_MAX)
		return vstd_err(VSTD_ERANGE, "%s: size %" PRIu64 " is too large", d->filename,
		                new_size);
	if (new_size == d->size)
		return 0;
	if (d->drv->truncate == NULL)
		return vstd_err(VSTD_ENOTSUP, "%s: the %s driver cannot resize images", d->filename,
		                d->drv->name);
	if ((rc = d->drv->truncate(d, new_size, pa)) < 0)
		return rc;
	d->size = new_size;
	return 0;
}

int vstd_disk_snapshot_list(vstd_disk *d, vstd_disk_snapshot **list, size_t *count)
{
	*list = NULL;
	*count = 0;
	if (d->drv->snapshot_list == NULL)
		return 0;
	return d->drv->snapshot_list(d, list, count);
}

void vstd_disk_snapshot_list_free(vstd_disk_snapshot *list, size_t count)
{
	for (size_t i = 0; list != NULL && i < count; i++) {
		vstd_free(list[i].id);
		vstd_free(list[i].name);
	}
	vstd_free(list);
}

static int snapshot_unsupported(const vstd_disk *d)
{
	return vstd_err(VSTD_ENOTSUP, "%s: the %s format has no internal snapshots", d->filename,
	                d->drv->name);
}

int vstd_disk_snapshot_create(vstd_disk *d, const char *name)
{
	int rc = check_writable(d, "create a snapshot");
	if (rc < 0)
		return rc;
	if (d->drv->snapshot_create == NULL)
		return snapshot_unsupported(d);
	return d->drv->snapshot_create(d, name);
}

int vstd_disk_snapshot_apply(vstd_disk *d, const char *name)
{
	int rc = check_writable(d, "apply a snapshot");
	if (rc < 0)
		return rc;
	if (d->drv->snapshot_apply == NULL)
		return snapshot_unsupported(d);
	return d->drv->snapshot_apply(d, name);
}

int vstd_disk_snapshot_delete(vstd_disk *d, const char *name)
{
	int rc = check_writable(d, "delete a snapshot");
	if (rc < 0)
		return rc;
	if (d->drv->snapshot_delete == NULL)
		return snapshot_unsupported(d);
	return d->drv->snapshot_delete(d, name);
}

int vstd_disk_snapshot_open(vstd_disk **out, vstd_disk *d, const char *name)
{
	vstd_disk *v;
	int rc;
	if (d->drv->snapshot_open == NULL)
		return snapshot_unsupported(d);
	v = vstd_calloc(1, sizeof(*v));
	if (v == NULL || (v->filename = vstd_asprintf("%s@%s", d->filename, name)) == NULL) {
		vstd_free(v);
		return vstd_err_code();
	}
	v->drv = d->drv;
	v->io = d->io;
	v->owns_io = 0;
	v->flags = d->flags & ~(unsigned)VSTD_DISK_RDWR;
	v->snapshot_of = d;
	rc = d->drv->snapshot_open(v, d, name);
	if (rc < 0) {
		v->priv = NULL;
		disk_free_fields(v);
		vstd_free(v);
		return rc;
	}
	*out = v;
	return 0;
}
