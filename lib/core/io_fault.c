/*
 * core/io_fault.c - a vstd_io wrapper that injects failures and crashes.
 *
 * Failures: the counted operation number fail_at (and fail_count-1 after it)
 * returns an error without touching the inner object.  Short reads: one read
 * returns half its bytes.  Crashes: with hold_unflushed, every modifying
 * operation is queued (reads see the queue applied over the inner object) and
 * only a flush passes the queue on; a crash drops the queue, which is what a
 * power loss does to writes not yet made durable by a flush.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "core/io_internal.h"

enum held_kind { HELD_WRITE, HELD_ZEROES, HELD_DISCARD, HELD_TRUNCATE };

struct held_op {
	enum held_kind kind;
	uint64_t off;
	uint64_t len; /* for TRUNCATE: the new size */
	uint8_t *data;
	struct held_op *next;
};

struct fault_io {
	vstd_io *inner;
	vstd_io_fault_opts o;
	vstd_io_fault_stats st;
	unsigned long counted;
	unsigned long reads;
	struct held_op *head, *tail;
};

static const char *op_name(unsigned op)
{
	switch (op) {
	case VSTD_IO_OP_READ: return "read";
	case VSTD_IO_OP_WRITE: return "write";
	case VSTD_IO_OP_FLUSH: return "flush";
	case VSTD_IO_OP_TRUNCATE: return "truncate";
	case VSTD_IO_OP_DISCARD: return "discard";
	case VSTD_IO_OP_ZEROES: return "write-zeroes";
	case VSTD_IO_OP_SIZE: return "size";
	case VSTD_IO_OP_EXTENT: return "extent";
	default: return "allocate";
	}
}

static void drop_held(struct fault_io *f)
{
	struct held_op *h = f->head;
	while (h != NULL) {
		struct held_op *next = h->next;
		vstd_free(h->data);
		vstd_free(h);
		h = next;
	}
	f->head = f->tail = NULL;
}

static int crash(struct fault_io *f)
{
	drop_held(f);
	f->st.crashed = 1;
	return 0;
}

/* Decide the fate of one operation; returns 0 to go ahead. */
static int gate(struct fault_io *f, unsigned op, uint64_t off)
{
	unsigned mask = f->o.count_ops ? f->o.count_ops : VSTD_IO_OP_ALL;
	int modifies = op == VSTD_IO_OP_WRITE || op == VSTD_IO_OP_ZEROES ||
	               op == VSTD_IO_OP_DISCARD || op == VSTD_IO_OP_TRUNCATE ||
	               op == VSTD_IO_OP_ALLOCATE;
	f->st.ops++;
	if (modifies) {
		f->st.writes++;
		if (f->o.hold_unflushed && f->o.crash_at_write != 0 && !f->st.crashed &&
		    f->st.writes >= f->o.crash_at_write)
			crash(f);
	}
	if (op == VSTD_IO_OP_FLUSH)
		f->st.flushes++;
	if (f->st.crashed) {
		f->st.failed++;
		return vstd_err(VSTD_EIO, "%s: %s at offset %" PRIu64 " after simulated crash",
		                vstd_io_name(f->inner), op_name(op), off);
	}
	if (mask & op) {
		f->counted++;
		if (f->o.fail_at != 0 && f->counted >= f->o.fail_at &&
		    (f->o.fail_count == 0 || f->counted < f->o.fail_at + f->o.fail_count)) {
			f->st.failed++;
			return vstd_err(f->o.fail_code ? f->o.fail_code : VSTD_EIO,
			                "%s: injected failure of %s number %lu at offset %" PRIu64,
			                vstd_io_name(f->inner), op_name(op), f->counted, off);
		}
	}
	return 0;
}

/* The size the object has with the held operations applied. */
static int held_size(struct fault_io *f, uint64_t *size)
{
	int rc = vstd_io_size(f->inner, size);
	if (rc < 0)
		return rc;
	for (struct held_op *h = f->head; h != NULL; h = h->next) {
		if (h->kind == HELD_TRUNCATE)
			*size = h->len;
		else if (h->kind != HELD_DISCARD && h->off + h->len > *size)
			*size = h->off + h->len;
	}
	return 0;
}

static int hold(struct fault_io *f, enum held_kind kind, uint64_t off, uint64_t len,
                const void *data)
{
	struct held_op *h = vstd_calloc(1, sizeof(*h));
	if (h == NULL)
		return vstd_err_code();
	h->kind = kind;
	h->off = off;
	h->len = len;
	if (data != NULL) {
		h->data = vstd_malloc((size_t)len);
		if (h->data == NULL) {
			vstd_free(h);
			return vstd_err_code();
		}
		memcpy(h->data, data, (size_t)len);
	}
	if (f->tail != NULL)
		f->tail->next = h;
	else
		f->head = h;
	f->tail = h;
	return 0;
}

static int fault_pread(void *self, void *buf, size_t len, uint64_t off, size_t *done)
{
	struct fault_io *f = self;
	uint64_t size;
	size_t got = 0;
	int rc = gate(f, VSTD_IO_OP_READ, off);
	if (rc < 0)
		return rc;
	f->reads++;
	if (f->head == NULL) {
		rc = vstd_io_pread_partial(f->inner, buf, len, off, &got);
	} else {
		if ((rc = held_size(f, &size)) < 0)
			return rc;
		if (off >= size) {
			*done = 0;
			return 0;
		}
		if (len > size - off)
			len = (size_t)(size - off);
		rc = vstd_io_pread_partial(f->inner, buf, len, off, &got);
		if (rc < 0)
			return rc;
		memset((uint8_t *)buf + got, 0, len - got);
		got = len;
		for (struct held_op *h = f->head; h != NULL; h = h->next) {
			uint64_t a, b;
			if (h->kind == HELD_TRUNCATE) {
				if (h->len < off + len)
					memset((uint8_t *)buf + (h->len > off ? h->len - off : 0),
					       0,
					       (size_t)(off + len - (h->len > off ? h->len : off)));
				continue;
			}
			if (h->kind == HELD_DISCARD)
				continue;
			a = h->off > off ? h->off : off;
			b = h->off + h->len < off + len ? h->off + h->len : off + len;
			if (a >= b)
				continue;
			if (h->kind == HELD_WRITE)
				memcpy((uint8_t *)buf + (a - off), h->data + (a - h->off),
				       (size_t)(b - a));
			else
				memset((uint8_t *)buf + (a - off), 0, (size_t)(b - a));
		}
	}
	if (rc == 0 && f->o.short_read_at != 0 && f->reads == f->o.short_read_at)
		got /= 2;
	*done = got;
	return rc;
}

static int fault_pwrite(void *self, const void *buf, size_t len, uint64_t off)
{
	struct fault_io *f = self;
	int rc = gate(f, VSTD_IO_OP_WRITE, off);
	if (rc < 0)
		return rc;
	if (f->o.hold_unflushed)
		return hold(f, HELD_WRITE, off, len, buf);
	return vstd_io_pwrite(f->inner, buf, len, off);
}

static int fault_size(void *self, uint64_t *size)
{
	struct fault_io *f = self;
	int rc = gate(f, VSTD_IO_OP_SIZE, 0);
	if (rc < 0)
		return rc;
	return held_size(f, size);
}

static int fault_truncate(void *self, uint64_t size)
{
	struct fault_io *f = self;
	int rc = gate(f, VSTD_IO_OP_TRUNCATE, size);
	if (rc < 0)
		return rc;
	if (f->o.hold_unflushed)
		return hold(f, HELD_TRUNCATE, 0, size, NULL);
	return vstd_io_truncate(f->inner, size);
}

static int apply_held(struct fault_io *f)
{
	int rc = 0;
	for (struct held_op *h = f->head; h != NULL && rc == 0; h = h->next) {
		switch (h->kind) {
		case HELD_WRITE:
			rc = vstd_io_pwrite(f->inner, h->data, (size_t)h->len, h->off);
			break;
		case HELD_ZEROES: rc = vstd_io_write_zeroes(f->inner, h->off, h->len, 0); break;
		case HELD_DISCARD: rc = vstd_io_discard(f->inner, h->off, h->len); break;
		case HELD_TRUNCATE: rc = vstd_io_truncate(f->inner, h->len); break;
		}
	}
	drop_held(f);
	return rc;
}

static int fault_flush(void *self)
{
	struct fault_io *f = self;
	int rc = gate(f, VSTD_IO_OP_FLUSH, 0);
	if (rc < 0)
		return rc;
	if ((rc = apply_held(f)) < 0)
		return rc;
	return vstd_io_flush(f->inner);
}

static int fault_discard(void *self, uint64_t off, uint64_t len)
{
	struct fault_io *f = self;
	int rc = gate(f, VSTD_IO_OP_DISCARD, off);
	if (rc < 0)
		return rc;
	if (f->o.hold_unflushed)
		return hold(f, HELD_DISCARD, off, len, NULL);
	return vstd_io_discard(f->inner, off, len);
}

static int fault_write_zeroes(void *self, uint64_t off, uint64_t len, unsigned flags)
{
	struct fault_io *f = self;
	int rc = gate(f, VSTD_IO_OP_ZEROES, off);
	if (rc < 0)
		return rc;
	if (f->o.hold_unflushed)
		return hold(f, HELD_ZEROES, off, len, NULL);
	return vstd_io_write_zeroes(f->inner, off, len, flags);
}

static int fault_extent(void *self, uint64_t off, uint64_t max_len, uint64_t *len, int *is_data)
{
	struct fault_io *f = self;
	int rc = gate(f, VSTD_IO_OP_EXTENT, off);
	if (rc < 0)
		return rc;
	if (f->head != NULL) { /* held changes: report data, which is always correct */
		*is_data = 1;
		*len = max_len;
		return 0;
	}
	return vstd_io_extent(f->inner, off, max_len, len, is_data);
}

static int fault_allocate(void *self, uint64_t off, uint64_t len)
{
	struct fault_io *f = self;
	int rc = gate(f, VSTD_IO_OP_ALLOCATE, off);
	if (rc < 0)
		return rc;
	if (f->o.hold_unflushed)
		return hold(f, HELD_ZEROES, off, len, NULL);
	return vstd_io_allocate(f->inner, off, len);
}

static void fault_close(void *self)
{
	struct fault_io *f = self;
	drop_held(f);
	vstd_free(f);
}

const vstd_io_methods vstd_io_fault_methods = {
        VSTD_IO_METHODS_VERSION, "fault",     fault_pread,   fault_pwrite,       fault_size,
        fault_truncate,          fault_flush, fault_discard, fault_write_zeroes, fault_extent,
        fault_allocate,          fault_close,
};

int vstd_io_fault_new(vstd_io **out, vstd_io *inner, const vstd_io_fault_opts *opts)
{
	struct fault_io *f;
	int rc;
	if (out == NULL || inner == NULL || opts == NULL ||
	    opts->version != VSTD_IO_FAULT_OPTS_VERSION)
		return vstd_err(VSTD_EINVAL, "vstd_io_fault_new: missing inner object or options");
	f = vstd_calloc(1, sizeof(*f));
	if (f == NULL)
		return vstd_err_code();
	f->inner = inner;
	f->o = *opts;
	rc = vstd_io_new(out, &vstd_io_fault_methods, f, vstd_io_name(inner));
	if (rc < 0)
		vstd_free(f);
	return rc;
}

int vstd_io_fault_get_stats(vstd_io *io, vstd_io_fault_stats *stats)
{
	if (io == NULL || io->m != &vstd_io_fault_methods)
		return vstd_err(VSTD_EINVAL, "%s: not a fault-injecting object", vstd_io_name(io));
	*stats = ((struct fault_io *)io->self)->st;
	return 0;
}

int vstd_io_fault_crash(vstd_io *io)
{
	if (io == NULL || io->m != &vstd_io_fault_methods)
		return vstd_err(VSTD_EINVAL, "%s: not a fault-injecting object", vstd_io_name(io));
	return crash(io->self);
}
