/*
 * core/io_file.c - vstd_io over a POSIX file.
 *
 * pread/pwrite loops (EINTR, short transfers), fallocate for zeroing,
 * punching and preallocation, SEEK_DATA/SEEK_HOLE for extents.  With
 * VSTD_IO_DIRECT, requests not aligned to the logical block size go through
 * an aligned bounce buffer (read-modify-write for writes).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/io_internal.h"

#define DIRECT_ALIGN 4096

struct file_io {
	int fd;
	int direct;
	int is_block;
	int no_punch; /* fallocate punch/zero unsupported: remembered */
	int no_zero_range;
	int no_flush; /* VSTD_IO_NO_FLUSH */
	char *path;
};

static int file_fail(const struct file_io *f, int err, const char *what, uint64_t off, uint64_t len)
{
	return vstd_err_errno(0, err, "%s: %s of %" PRIu64 " bytes at offset %" PRIu64 " failed",
	                      f->path, what, len, off);
}

static int plain_pread(struct file_io *f, void *buf, size_t len, uint64_t off, size_t *done)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(f->fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return file_fail(f, errno, "read", off, len);
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*done = got;
	return 0;
}

static int plain_pwrite(struct file_io *f, const void *buf, size_t len, uint64_t off)
{
	size_t put = 0;
	while (put < len) {
		ssize_t n = pwrite(f->fd, (const char *)buf + put, len - put, (off_t)(off + put));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return file_fail(f, errno, "write", off, len);
		}
		put += (size_t)n;
	}
	return 0;
}

static int is_aligned(const void *buf, size_t len, uint64_t off)
{
	return ((uintptr_t)buf % DIRECT_ALIGN) == 0 && len % DIRECT_ALIGN == 0 &&
	       off % DIRECT_ALIGN == 0;
}

static int file_pread(void *self, void *buf, size_t len, uint64_t off, size_t *done)
{
	struct file_io *f = self;
	uint64_t start, end;
	uint8_t *bounce;
	size_t got = 0;
	int rc;
	if (!f->direct || is_aligned(buf, len, off))
		return plain_pread(f, buf, len, off, done);
	start = vstd_align_down(off, DIRECT_ALIGN);
	end = vstd_align_up(off + len, DIRECT_ALIGN);
	bounce = vstd_aligned_alloc(DIRECT_ALIGN, (size_t)(end - start));
	if (bounce == NULL)
		return vstd_err_code();
	rc = plain_pread(f, bounce, (size_t)(end - start), start, &got);
	if (rc == 0) {
		size_t skip = (size_t)(off - start);
		size_t avail = got > skip ? got - skip : 0;
		*done = avail < len ? avail : len;
		memcpy(buf, bounce + skip, *done);
	}
	vstd_aligned_free(bounce);
	return rc;
}

static int file_pwrite(void *self, const void *buf, size_t len, uint64_t off)
{
	struct file_io *f = self;
	uint64_t start, end;
	uint8_t *bounce;
	size_t got = 0;
	int rc;
	if (!f->direct || is_aligned(buf, len, off))
		return plain_pwrite(f, buf, len, off);
	/* Read-modify-write of the covering aligned blocks. */
	start = vstd_align_down(off, DIRECT_ALIGN);
	end = vstd_align_up(off + len, DIRECT_ALIGN);
	bounce = vstd_aligned_alloc(DIRECT_ALIGN, (size_t)(end - start));
	if (bounce == NULL)
		return vstd_err_code();
	memset(bounce, 0, (size_t)(end - start));
	rc = plain_pread(f, bounce, (size_t)(end - start), start, &got);
	if (rc == 0) {
		/* The aligned write may pass the old end: trim back to what a
		 * plain write would have left. */
		uint64_t old_end = start + got, want_end = off + len;
		uint64_t new_end = old_end > want_end ? old_end : want_end;
		memcpy(bounce + (off - start), buf, len);
		rc = plain_pwrite(f, bounce, (size_t)(end - start), start);
		if (rc == 0 && !f->is_block && new_end < end &&
		    ftruncate(f->fd, (off_t)new_end) != 0)
			rc = file_fail(f, errno, "truncate after direct write", off, len);
	}
	vstd_aligned_free(bounce);
	return rc;
}

static int file_size(void *self, uint64_t *size)
{
	struct file_io *f = self;
	struct stat st;
	if (fstat(f->fd, &st) != 0)
		return vstd_err_errno(0, errno, "%s: stat failed", f->path);
	if (S_ISBLK(st.st_mode)) {
		uint64_t bytes = 0;
		if (ioctl(f->fd, BLKGETSIZE64, &bytes) != 0)
			return vstd_err_errno(0, errno, "%s: cannot read block device size",
			                      f->path);
		*size = bytes;
		return 0;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

static int file_truncate(void *self, uint64_t size)
{
	struct file_io *f = self;
	if (f->is_block)
		return vstd_err(VSTD_ENOTSUP, "%s: a block device cannot be resized", f->path);
	if (ftruncate(f->fd, (off_t)size) != 0)
		return vstd_err_errno(0, errno, "%s: truncate to %" PRIu64 " bytes failed", f->path,
		                      size);
	return 0;
}

static int file_flush(void *self)
{
	struct file_io *f = self;
	if (f->no_flush)
		return 0;
	if (fdatasync(f->fd) != 0 && errno != EINVAL && errno != EROFS)
		return vstd_err_errno(0, errno, "%s: flush (fdatasync) failed", f->path);
	return 0;
}

static int file_discard(void *self, uint64_t off, uint64_t len)
{
	struct file_io *f = self;
	if (f->no_punch)
		return 0;
	if (fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) !=
	    0) {
		if (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL) {
			f->no_punch = 1;
			return 0; /* discard is a hint */
		}
		return file_fail(f, errno, "discard", off, len);
	}
	return 0;
}

static int file_write_zeroes(void *self, uint64_t off, uint64_t len, unsigned flags)
{
	struct file_io *f = self;
	uint64_t size;
	int rc;
	if ((rc = file_size(f, &size)) < 0)
		return rc;
	/* Past the end of a regular file, growing it makes zeroes. */
	if (!f->is_block && off >= size && (flags & VSTD_IO_ZERO_MAY_UNMAP))
		return file_truncate(f, off + len);
	if ((flags & VSTD_IO_ZERO_MAY_UNMAP) && !f->no_punch && off + len <= size) {
		if (fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		              (off_t)len) == 0)
			return 0;
		if (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL)
			return file_fail(f, errno, "write-zeroes (punch)", off, len);
		f->no_punch = 1;
	}
	if (!f->no_zero_range) {
		if (fallocate(f->fd, FALLOC_FL_ZERO_RANGE, (off_t)off, (off_t)len) == 0)
			return 0;
		if (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL)
			return file_fail(f, errno, "write-zeroes", off, len);
		f->no_zero_range = 1;
	}
	/* Generic: write zero buffers. */
	{
		size_t chunk = len < ((uint64_t)1 << 20) ? (size_t)len : (size_t)1 << 20;
		uint8_t *zero =
		        vstd_aligned_alloc(DIRECT_ALIGN, vstd_align_up(chunk, DIRECT_ALIGN));
		if (zero == NULL)
			return vstd_err_code();
		memset(zero, 0, vstd_align_up(chunk, DIRECT_ALIGN));
		rc = 0;
		while (len > 0 && rc == 0) {
			size_t n = len < chunk ? (size_t)len : chunk;
			rc = file_pwrite(f, zero, n, off);
			off += n;
			len -= n;
		}
		vstd_aligned_free(zero);
		return rc;
	}
}

static int file_allocate(void *self, uint64_t off, uint64_t len)
{
	struct file_io *f = self;
	if (fallocate(f->fd, 0, (off_t)off, (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS)
		return file_fail(f, errno, "allocate", off, len);
	return file_write_zeroes(f, off, len, 0);
}

static int file_extent(void *self, uint64_t off, uint64_t max_len, uint64_t *len, int *is_data)
{
	struct file_io *f = self;
	off_t data, hole;
	if (f->is_block)
		goto all_data;
	data = lseek(f->fd, (off_t)off, SEEK_DATA);
	if (data < 0) {
		if (errno == ENXIO) { /* only a hole until the end */
			*is_data = 0;
			*len = max_len;
			return 0;
		}
		goto all_data; /* SEEK_DATA unsupported */
	}
	if ((uint64_t)data > off) {
		*is_data = 0;
		*len = (uint64_t)data - off;
		return 0;
	}
	hole = lseek(f->fd, (off_t)off, SEEK_HOLE);
	if (hole < 0 || (uint64_t)hole <= off)
		goto all_data;
	*is_data = 1;
	*len = (uint64_t)hole - off;
	return 0;
all_data:
	*is_data = 1;
	*len = max_len;
	return 0;
}

static void file_close(void *self)
{
	struct file_io *f = self;
	close(f->fd);
	vstd_free(f->path);
	vstd_free(f);
}

const vstd_io_methods vstd_io_file_methods = {
        VSTD_IO_METHODS_VERSION, "file",     file_pread,   file_pwrite,       file_size,
        file_truncate,           file_flush, file_discard, file_write_zeroes, file_extent,
        file_allocate,           file_close,
};

int vstd_io_file_fd(const vstd_io *io, int *is_direct)
{
	const struct file_io *f;
	if (io == NULL || io->m != &vstd_io_file_methods)
		return -1;
	f = io->self;
	if (is_direct != NULL)
		*is_direct = f->direct;
	return f->fd;
}

int vstd_io_file_open(vstd_io **out, const char *path, unsigned flags)
{
	int oflags = O_CLOEXEC | ((flags & VSTD_IO_WRITE) ? O_RDWR : O_RDONLY);
	struct file_io *f;
	struct stat st;
	int fd, rc;
	if (out == NULL || path == NULL || path[0] == '\0')
		return vstd_err(VSTD_EINVAL, "vstd_io_file_open: no path given");
	if (flags & VSTD_IO_CREATE)
		oflags |= O_CREAT;
	if (flags & VSTD_IO_EXCL)
		oflags |= O_EXCL;
	if (flags & VSTD_IO_TRUNC)
		oflags |= O_TRUNC;
	if (flags & VSTD_IO_DIRECT)
		oflags |= O_DIRECT;
	if (flags & VSTD_IO_SYNC)
		oflags |= O_DSYNC;
	/* O_NONBLOCK: opening a FIFO named by a hostile image must not hang;
	 * anything but a regular file or a block device is refused below. */
	fd = open(path, oflags | O_NONBLOCK, 0644);
	if (fd < 0) {
		int err = errno;
		if (err == EINVAL && (flags & VSTD_IO_DIRECT))
			return vstd_err_errno(VSTD_EINVAL, err,
			                      "%s: the file system does not support O_DIRECT",
			                      path);
		if (err == EISDIR)
			return vstd_err(VSTD_EINVAL, "%s: is a directory, not a disk image", path);
		return vstd_err_errno(0, err, "%s: cannot open%s", path,
		                      (flags & VSTD_IO_WRITE) ? " for writing" : "");
	}
	if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
		close(fd);
		return vstd_err(VSTD_EINVAL, "%s: is a directory, not a disk image", path);
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		close(fd);
		return vstd_err(VSTD_EINVAL,
		                "%s: not a regular file or block device (a FIFO, socket or "
		                "character device cannot hold a disk image)",
		                path);
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
		int err = errno;
		close(fd);
		return vstd_err_errno(0, err, "%s: cannot clear O_NONBLOCK", path);
	}
	f = vstd_calloc(1, sizeof(*f));
	if (f == NULL || (f->path = vstd_strdup(path)) == NULL) {
		vstd_free(f);
		close(fd);
		return vstd_err_code();
	}
	f->fd = fd;
	f->direct = (flags & VSTD_IO_DIRECT) != 0;
	f->is_block = S_ISBLK(st.st_mode);
	f->no_flush = (flags & VSTD_IO_NO_FLUSH) != 0;
	rc = vstd_io_new(out, &vstd_io_file_methods, f, path);
	if (rc < 0)
		file_close(f);
	return rc;
}
