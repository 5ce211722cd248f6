/*
 * core/io_mem.c - vstd_io over memory: a growable buffer or a read-only view.
 *
 * A memory object is all data (no holes); discard leaves the bytes as they
 * are (allowed: a discarded range is unspecified).
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/io_internal.h"

struct mem_io {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max;
	int writable;
	int owned; /* 0 for a view of caller memory */
	const char *name;
};

static int mem_pread(void *self, void *buf, size_t len, uint64_t off, size_t *done)
{
	struct mem_io *m = self;
	size_t n = 0;
	if (off < m->len) {
		n = m->len - (size_t)off;
		if (n > len)
			n = len;
		memcpy(buf, m->data + off, n);
	}
	*done = n;
	return 0;
}

static int mem_reserve(struct mem_io *m, uint64_t end)
{
	size_t cap;
	uint8_t *p;
	if (!m->writable)
		return vstd_err(VSTD_EPERM, "%s: memory object is read-only", m->name);
	if (end > m->max)
		return vstd_err(VSTD_ELIMIT,
		                "%s: growing memory object to %" PRIu64
		                " bytes passes its limit of %zu",
		                m->name, end, m->max);
	if (end <= m->cap)
		return 0;
	cap = m->cap ? m->cap : 4096;
	while (cap < end)
		cap = cap > m->max / 2 ? m->max : cap * 2;
	p = vstd_realloc(m->data, cap);
	if (p == NULL)
		return vstd_err_code();
	memset(p + m->cap, 0, cap - m->cap);
	m->data = p;
	m->cap = cap;
	return 0;
}

static int mem_pwrite(void *self, const void *buf, size_t len, uint64_t off)
{
	struct mem_io *m = self;
	int rc = mem_reserve(m, off + len);
	if (rc < 0)
		return rc;
	if (off > m->len)
		memset(m->data + m->len, 0, (size_t)off - m->len);
	memcpy(m->data + off, buf, len);
	if (off + len > m->len)
		m->len = (size_t)(off + len);
	return 0;
}

static int mem_size(void *self, uint64_t *size)
{
	*size = ((struct mem_io *)self)->len;
	return 0;
}

static int mem_truncate(void *self, uint64_t size)
{
	struct mem_io *m = self;
	int rc = mem_reserve(m, size);
	if (rc < 0)
		return rc;
	if (size > m->len)
		memset(m->data + m->len, 0, (size_t)size - m->len);
	m->len = (size_t)size;
	return 0;
}

static int mem_write_zeroes(void *self, uint64_t off, uint64_t len, unsigned flags)
{
	struct mem_io *m = self;
	int rc = mem_reserve(m, off + len);
	if (rc < 0)
		return rc;
	if (off > m->len)
		memset(m->data + m->len, 0, (size_t)off - m->len);
	memset(m->data + off, 0, (size_t)len);
	if (off + len > m->len)
		m->len = (size_t)(off + len);
	return 0;
}

static void mem_close(void *self)
{
	struct mem_io *m = self;
	if (m->owned)
		vstd_free(m->data);
	vstd_free(m);
}

const vstd_io_methods vstd_io_mem_methods = {
        VSTD_IO_METHODS_VERSION,
        "memory",
        mem_pread,
        mem_pwrite,
        mem_size,
        mem_truncate,
        NULL,
        NULL,
        mem_write_zeroes,
        NULL,
        NULL,
        mem_close,
};

static int mem_create(vstd_io **out, struct mem_io *m, const char *name)
{
	int rc = vstd_io_new(out, &vstd_io_mem_methods, m, name);
	if (rc < 0) {
		mem_close(m);
		return rc;
	}
	m->name = vstd_io_name(*out);
	return 0;
}

int vstd_io_mem_new(vstd_io **out, const void *data, size_t len, size_t max_size, unsigned flags)
{
	struct mem_io *m;
	if (out == NULL || (data == NULL && len != 0))
		return vstd_err(VSTD_EINVAL, "vstd_io_mem_new: no data for %zu bytes", len);
	if (max_size == 0)
		max_size = vstd_alloc_limit();
	if (len > max_size)
		return vstd_err(VSTD_ELIMIT, "memory object of %zu bytes passes its limit of %zu",
		                len, max_size);
	m = vstd_calloc(1, sizeof(*m));
	if (m == NULL)
		return vstd_err_code();
	m->owned = 1;
	m->max = max_size;
	m->writable = 1;
	m->name = "memory";
	if (len > 0) {
		if (mem_reserve(m, len) < 0) {
			mem_close(m);
			return vstd_err_code();
		}
		memcpy(m->data, data, len);
		m->len = len;
	}
	m->writable = (flags & VSTD_IO_WRITE) != 0;
	return mem_create(out, m, "memory");
}

int vstd_io_mem_view(vstd_io **out, const void *data, size_t len, const char *name)
{
	struct mem_io *m;
	if (out == NULL || (data == NULL && len != 0))
		return vstd_err(VSTD_EINVAL, "vstd_io_mem_view: no data for %zu bytes", len);
	m = vstd_calloc(1, sizeof(*m));
	if (m == NULL)
		return vstd_err_code();
	m->data = (uint8_t *)(uintptr_t)data;
	m->len = m->cap = m->max = len;
	m->name = "memory";
	return mem_create(out, m, name != NULL ? name : "memory");
}

int vstd_io_mem_contents(vstd_io *io, const void **data, size_t *len)
{
	struct mem_io *m;
	if (io == NULL || io->m != &vstd_io_mem_methods)
		return vstd_err(VSTD_EINVAL, "%s: not a memory object", vstd_io_name(io));
	m = io->self;
	*data = m->data;
	*len = m->len;
	return 0;
}
