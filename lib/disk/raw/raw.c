/*
 * disk/raw/raw.c - the raw format: the file is the disk, byte for byte.
 *
 * Sparse-aware: holes in the file are reported as zero blocks, zeroes may
 * punch holes, and preallocation off / falloc / full choose between a sparse
 * file, reserved blocks and written zeroes.  Probing answers 1 for any file,
 * so raw wins only when no other format recognises it.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/driver.h"

static const vstd_disk_option_desc raw_options[] = {
        {"preallocation", "enum", "off, falloc or full: how the file's blocks are reserved", "off"},
};

static int raw_probe(const uint8_t *head, size_t head_len, uint64_t file_size, const char *name)
{
	return 1;
}

static int raw_open(vstd_disk *d)
{
	return vstd_io_size(d->io, &d->size);
}

static void raw_close(vstd_disk *d)
{
	d->priv = NULL;
}

static int raw_read(vstd_disk *d, uint64_t off, void *buf, size_t len)
{
	size_t done = 0;
	int rc = vstd_io_pread_partial(d->io, buf, len, off, &done);
	if (rc < 0)
		return rc;
	/* The file shrank under us: the missing tail reads as zeroes. */
	memset((uint8_t *)buf + done, 0, len - done);
	return 0;
}

static int raw_write(vstd_disk *d, uint64_t off, const void *buf, size_t len)
{
	return vstd_io_pwrite(d->io, buf, len, off);
}

static int raw_write_zeroes(vstd_disk *d, uint64_t off, uint64_t len, unsigned flags)
{
	return vstd_io_write_zeroes(d->io, off, len, flags);
}

static int raw_discard(vstd_disk *d, uint64_t off, uint64_t len)
{
	return vstd_io_discard(d->io, off, len);
}

static int raw_block_status(vstd_disk *d, uint64_t off, uint64_t max_len, vstd_block_status *st)
{
	uint64_t len = 0;
	int is_data = 1, rc = vstd_io_extent(d->io, off, max_len, &len, &is_data);
	if (rc < 0)
		return rc;
	if (len == 0) /* the file is shorter than the disk: zeroes */
		len = max_len, is_data = 0;
	st->length = len;
	st->flags = VSTD_BLOCK_ALLOCATED | VSTD_BLOCK_OFFSET_VALID |
	            (is_data ? VSTD_BLOCK_DATA : VSTD_BLOCK_ZERO);
	st->host_offset = off;
	return 0;
}

/* Fill [from, to) according to the preallocation mode (the file is already
 * at least `from` long). */
static int raw_preallocate(vstd_io *io, uint64_t from, uint64_t to, enum vstd_prealloc mode)
{
	const size_t chunk = (size_t)1 << 20;
	uint8_t *zero;
	int rc = 0;
	switch (mode) {
	case VSTD_PREALLOC_OFF:
	case VSTD_PREALLOC_METADATA: return vstd_io_truncate(io, to);
	case VSTD_PREALLOC_FALLOC:
		if ((rc = vstd_io_allocate(io, from, to - from)) < 0)
			return rc;
		return vstd_io_truncate(io, to);
	case VSTD_PREALLOC_FULL:
		zero = vstd_calloc(1, chunk);
		if (zero == NULL)
			return vstd_err_code();
		for (uint64_t off = from; off < to && rc == 0; off += chunk)
			rc = vstd_io_pwrite(io, zero, to - off < chunk ? (size_t)(to - off) : chunk,
			                    off);
		vstd_free(zero);
		return rc;
	}
	return vstd_err(VSTD_EINVAL, "unknown preallocation mode %d", (int)mode);
}

static int raw_truncate(vstd_disk *d, uint64_t size, enum vstd_prealloc prealloc)
{
	if (size < d->size || prealloc == VSTD_PREALLOC_OFF)
		return vstd_io_truncate(d->io, size);
	return raw_preallocate(d->io, d->size, size, prealloc);
}

static int raw_create(vstd_io *io, const struct vstd_disk_create_args *args)
{
	if (args->backing_file != NULL)
		return vstd_err(VSTD_ENOTSUP, "%s: the raw format cannot have a backing file",
		                args->path);
	if (args->prealloc == VSTD_PREALLOC_METADATA)
		return vstd_err(VSTD_EINVAL,
		                "%s: preallocation=metadata is not a raw mode (off, falloc, full)",
		                args->path);
	return raw_preallocate(io, 0, args->size, args->prealloc);
}

static int raw_measure(const struct vstd_disk_create_args *args, vstd_disk *src,
                       vstd_disk_measure_result *res)
{
	uint64_t required = 0, off = 0;
	memset(res, 0, sizeof(*res));
	res->fully_allocated = args->size;
	if (src == NULL || args->prealloc != VSTD_PREALLOC_OFF) {
		res->required = args->prealloc == VSTD_PREALLOC_OFF ? 0 : args->size;
		return 0;
	}
	while (off < args->size && off < vstd_disk_size(src)) {
		vstd_block_status st;
		int rc = vstd_disk_map(src, off, args->size - off, &st);
		if (rc < 0)
			return rc;
		if (st.length == 0)
			break;
		if (st.flags & VSTD_BLOCK_DATA)
			required += st.length;
		off += st.length;
	}
	res->required = required;
	return 0;
}

const struct vstd_disk_driver vstd_driver_raw = {
        .version = 1,
        .name = "raw",
        .description = "raw disk image: the file holds the disk's bytes as they are",
        .create_options = raw_options,
        .n_create_options = sizeof(raw_options) / sizeof(raw_options[0]),
        .probe = raw_probe,
        .open = raw_open,
        .close = raw_close,
        .create = raw_create,
        .read = raw_read,
        .write = raw_write,
        .write_zeroes = raw_write_zeroes,
        .discard = raw_discard,
        .block_status = raw_block_status,
        .truncate = raw_truncate,
        .measure = raw_measure,
};
