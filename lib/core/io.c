/*
 * core/io.c - the vstd_io object: argument checks, generic fallbacks and
 * dispatch to an implementation's methods.
 */
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/io_internal.h"

/* Buffer for generic zero writes and copies. */
#define IO_CHUNK ((size_t)1 << 20)

int vstd_io_new(vstd_io **out, const vstd_io_methods *m, void *self, const char *name)
{
	vstd_io *io;
	if (out == NULL || m == NULL || m->version < 1 || m->pread == NULL || m->pwrite == NULL ||
	    m->size == NULL)
		return vstd_err(VSTD_EINVAL,
		                "vstd_io_new: methods table lacks pread, pwrite or size");
	io = vstd_calloc(1, sizeof(*io));
	if (io == NULL)
		return vstd_err_code();
	io->name = vstd_strdup(name != NULL ? name : "(unnamed)");
	if (io->name == NULL) {
		vstd_free(io);
		return vstd_err_code();
	}
	io->m = m;
	io->self = self;
	*out = io;
	return 0;
}

void vstd_io_close(vstd_io *io)
{
	if (io == NULL)
		return;
	if (io->m->close != NULL)
		io->m->close(io->self);
	vstd_free(io->name);
	vstd_free(io);
}

const char *vstd_io_name(const vstd_io *io)
{
	return io != NULL ? io->name : "(null)";
}

const char *vstd_io_kind(const vstd_io *io)
{
	return io != NULL && io->m->kind != NULL ? io->m->kind : "custom";
}

static int check_range(const vstd_io *io, uint64_t off, uint64_t len, const char *what)
{
	uint64_t end;
	if (vstd_add_overflow_u64(off, len, &end) || end > (uint64_t)INT64_MAX)
		return vstd_err(VSTD_ERANGE,
		                "%s: %s of %" PRIu64 " bytes at offset %" PRIu64
		                " passes the largest file offset",
		                io->name, what, len, off);
	return 0;
}

int vstd_io_pread_partial(vstd_io *io, void *buf, size_t len, uint64_t off, size_t *done)
{
	int rc = check_range(io, off, len, "read");
	*done = 0;
	if (rc < 0)
		return rc;
	if (len == 0)
		return 0;
	return io->m->pread(io->self, buf, len, off, done);
}

int vstd_io_pread(vstd_io *io, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	int rc = vstd_io_pread_partial(io, buf, len, off, &done);
	if (rc < 0)
		return rc;
	if (done < len) {
		uint64_t size = 0;
		if (io->m->size(io->self, &size) < 0)
			size = off + done;
		return vstd_err(VSTD_ECORRUPT,
		                "%s: read of %zu bytes at offset %" PRIu64 " (0x%" PRIx64
		                ") passes the end of the data (size %" PRIu64 ")",
		                io->name, len, off, off, size);
	}
	return 0;
}

int vstd_io_pwrite(vstd_io *io, const void *buf, size_t len, uint64_t off)
{
	int rc = check_range(io, off, len, "write");
	if (rc < 0 || len == 0)
		return rc;
	return io->m->pwrite(io->self, buf, len, off);
}

int vstd_io_size(vstd_io *io, uint64_t *size)
{
	return io->m->size(io->self, size);
}

int vstd_io_truncate(vstd_io *io, uint64_t size)
{
	if (size > (uint64_t)INT64_MAX)
		return vstd_err(VSTD_ERANGE, "%s: size %" PRIu64 " is too large", io->name, size);
	if (io->m->truncate == NULL)
		return vstd_err(VSTD_ENOTSUP, "%s: this %s object cannot change size", io->name,
		                vstd_io_kind(io));
	return io->m->truncate(io->self, size);
}

int vstd_io_flush(vstd_io *io)
{
	return io->m->flush != NULL ? io->m->flush(io->self) : 0;
}

int vstd_io_discard(vstd_io *io, uint64_t off, uint64_t len)
{
	int rc = check_range(io, off, len, "discard");
	if (rc < 0 || len == 0)
		return rc;
	return io->m->discard != NULL ? io->m->discard(io->self, off, len) : 0;
}

static int write_zero_buffers(vstd_io *io, uint64_t off, uint64_t len)
{
	size_t chunk = len < IO_CHUNK ? (size_t)len : IO_CHUNK;
	void *zero = vstd_calloc(1, chunk);
	int rc = 0;
	if (zero == NULL)
		return vstd_err_code();
	while (len > 0 && rc == 0) {
		size_t n = len < chunk ? (size_t)len : chunk;
		rc = io->m->pwrite(io->self, zero, n, off);
		off += n;
		len -= n;
	}
	vstd_free(zero);
	return rc;
}

int vstd_io_write_zeroes(vstd_io *io, uint64_t off, uint64_t len, unsigned flags)
{
	int rc = check_range(io, off, len, "write-zeroes");
	if (rc < 0 || len == 0)
		return rc;
	if (io->m->write_zeroes != NULL)
		return io->m->write_zeroes(io->self, off, len, flags);
	return write_zero_buffers(io, off, len);
}

int vstd_io_allocate(vstd_io *io, uint64_t off, uint64_t len)
{
	int rc = check_range(io, off, len, "allocate");
	if (rc < 0 || len == 0)
		return rc;
	if (io->m->allocate != NULL)
		return io->m->allocate(io->self, off, len);
	return vstd_io_write_zeroes(io, off, len, 0);
}

int vstd_io_extent(vstd_io *io, uint64_t off, uint64_t max_len, uint64_t *len, int *is_data)
{
	uint64_t size;
	int rc = vstd_io_size(io, &size);
	if (rc < 0)
		return rc;
	*is_data = 1;
	*len = 0;
	if (off >= size || max_len == 0)
		return 0;
	if (max_len > size - off)
		max_len = size - off;
	if (io->m->extent == NULL) {
		*len = max_len;
		return 0;
	}
	rc = io->m->extent(io->self, off, max_len, len, is_data);
	if (rc == 0 && (*len == 0 || *len > max_len))
		*len = max_len;
	return rc;
}

int vstd_io_copy_range(vstd_io *dst, uint64_t dst_off, vstd_io *src, uint64_t src_off, uint64_t len)
{
	int src_direct = 0, dst_direct = 0;
	int sfd = vstd_io_file_fd(src, &src_direct), dfd = vstd_io_file_fd(dst, &dst_direct);
	void *buf;
	int rc;
	if ((rc = check_range(src, src_off, len, "copy")) < 0 ||
	    (rc = check_range(dst, dst_off, len, "copy")) < 0)
		return rc;
	if (sfd >= 0 && dfd >= 0 && !src_direct && !dst_direct) {
		while (len > 0) {
			off64_t so = (off64_t)src_off, d = (off64_t)dst_off;
			ssize_t n = copy_file_range(sfd, &so, dfd, &d, len, 0);
			if (n <= 0)
				break; /* unsupported here, or EOF: fall back */
			src_off += (uint64_t)n;
			dst_off += (uint64_t)n;
			len -= (uint64_t)n;
		}
		if (len == 0)
			return 0;
	}
	buf = vstd_malloc(len < IO_CHUNK ? (size_t)len : IO_CHUNK);
	if (buf == NULL)
		return vstd_err_code();
	while (len > 0) {
		size_t n = len < IO_CHUNK ? (size_t)len : IO_CHUNK;
		if ((rc = vstd_io_pread(src, buf, n, src_off)) < 0 ||
		    (rc = vstd_io_pwrite(dst, buf, n, dst_off)) < 0)
			break;
		src_off += n;
		dst_off += n;
		len -= n;
	}
	vstd_free(buf);
	return rc;
}
