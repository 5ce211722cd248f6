/*
 * disk/writebehind.c - a write-behind vstd_io for the convert engine.
 *
 * A format driver writes to its file through one thread (the convert
 * writer); most of that time is the kernel copying the data into the page
 * cache.  This wrapper lets that copy run on worker threads: a pwrite whose
 * buffer lies inside the window the caller declared (the convert request
 * being written, which stays valid until released) is queued and returns at
 * once; so is a small write from anywhere else (metadata: a bitmap, a
 * table entry, a footer), copied first, so that the driver thread never
 * waits on the file's inode lock while a worker copies a large request
 * (on 2 CPUs it spun there, taking the time the readers needed); anything
 * larger runs in the caller's thread as before.
 *
 * Order is kept where it is visible: a read or write waits for queued
 * writes it overlaps; size, truncate, flush, discard, write_zeroes, extent
 * and allocate wait for all of them.  The first failed queued write is
 * remembered and returned by every later call (and by vstd_wb_drain), so a
 * convert fails as it did with synchronous writes, only a little later.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "core/io_internal.h"
#include "disk/ops_internal.h"

#define WB_MAX_THREADS 8u
#define WB_MAX_REQS 256u
#define WB_SMALL ((size_t)64 << 10) /* copied and queued up to this size */

struct wb_req {
	const void *buf;
	size_t len;
	uint64_t off;
	void *tag;
	uint8_t *copy; /* a small write's own copy of the data, or NULL */
	int busy;      /* taken by a worker */
	struct wb_req *next;
};

struct vstd_wb {
	vstd_io *inner;
	pthread_mutex_t lock;
	pthread_cond_t work; /* workers: a request was queued, or stop */
	pthread_cond_t done; /* callers: a request finished, or room freed */
	struct wb_req reqs[WB_MAX_REQS];
	struct wb_req *free_list;
	struct wb_req *pending; /* queued and in progress, oldest first */
	unsigned npending;
	int stop;
	int err; /* the first failure of a queued write */
	char msg[1024];
	/* the window: buffers inside may be written later */
	const uint8_t *win_lo, *win_hi;
	void *win_tag;
	void (*hold)(void *tag, void *opaque);
	void (*release)(void *tag, void *opaque);
	void *opaque;
	pthread_t threads[WB_MAX_THREADS];
	unsigned nthreads;
};

/* ------------------------------------------------------------ workers */

static void *wb_worker(void *arg)
{
	struct vstd_wb *wb = arg;
	pthread_mutex_lock(&wb->lock);
	for (;;) {
		struct wb_req *r = NULL, **pp;
		int rc = 0, skip;
		for (struct wb_req *p = wb->pending; p != NULL; p = p->next) {
			if (!p->busy) {
				r = p;
				break;
			}
		}
		if (r == NULL) {
			if (wb->stop)
				break;
			pthread_cond_wait(&wb->work, &wb->lock);
			continue;
		}
		r->busy = 1;
		skip = wb->err != 0; /* after a failure, write nothing more */
		pthread_mutex_unlock(&wb->lock);
		if (!skip)
			rc = vstd_io_pwrite(wb->inner, r->buf, r->len, r->off);
		pthread_mutex_lock(&wb->lock);
		if (rc < 0 && wb->err == 0) {
			wb->err = rc;
			snprintf(wb->msg, sizeof(wb->msg), "%s", vstd_error_last()->message);
		}
		vstd_free(r->copy);
		r->copy = NULL;
		if (wb->release != NULL && r->tag != NULL) {
			/* the callback takes the caller's lock: not under ours;
			 * the request stays pending until it returned, so that
			 * vstd_wb_drain also waits for the callbacks */
			pthread_mutex_unlock(&wb->lock);
			wb->release(r->tag, wb->opaque);
			pthread_mutex_lock(&wb->lock);
		}
		for (pp = &wb->pending; *pp != r; pp = &(*pp)->next)
			;
		*pp = r->next;
		wb->npending--;
		r->next = wb->free_list;
		wb->free_list = r;
		pthread_cond_broadcast(&wb->done);
	}
	pthread_mutex_unlock(&wb->lock);
	return NULL;
}

/* ------------------------------------------------------------ waiting */

static int overlaps(const struct vstd_wb *wb, uint64_t off, uint64_t len)
{
	for (const struct wb_req *p = wb->pending; p != NULL; p = p->next)
		if (p->off < off + len && off < p->off + p->len)
			return 1;
	return 0;
}

/* With the lock held: wait until no queued write overlaps [off, off+len)
 * (len 0: until none is queued); the remembered failure, or 0. */
static int wait_locked(struct vstd_wb *wb, uint64_t off, uint64_t len)
{
	while (len == 0 ? wb->npending > 0 : overlaps(wb, off, len))
		pthread_cond_wait(&wb->done, &wb->lock);
	return wb->err;
}

static int failed(struct vstd_wb *wb, int err)
{
	return vstd_err(err, "%s", wb->msg);
}

static int wait_for(struct vstd_wb *wb, uint64_t off, uint64_t len)
{
	int err;
	pthread_mutex_lock(&wb->lock);
	err = wait_locked(wb, off, len);
	pthread_mutex_unlock(&wb->lock);
	return err ? failed(wb, err) : 0;
}

/* ------------------------------------------------------------ methods */

static int wb_pread(void *self, void *buf, size_t len, uint64_t off, size_t *done)
{
	struct vstd_wb *wb = self;
	int rc = wait_for(wb, off, len);
	return rc < 0 ? rc : vstd_io_pread_partial(wb->inner, buf, len, off, done);
}

static int wb_pwrite(void *self, const void *buf, size_t len, uint64_t off)
{
	struct vstd_wb *wb = self;
	const uint8_t *b = buf;
	struct wb_req *r;
	int err;
	uint8_t *copy = NULL;
	int in_window;
	pthread_mutex_lock(&wb->lock);
	err = wait_locked(wb, off, len);
	in_window = b >= wb->win_lo && b < wb->win_hi && len <= (size_t)(wb->win_hi - b);
	if (err == 0 && wb->nthreads > 0 && !in_window && len > 0 && len <= WB_SMALL) {
		pthread_mutex_unlock(&wb->lock);
		if ((copy = vstd_malloc(len)) == NULL)
			return vstd_err_code();
		memcpy(copy, buf, len);
		pthread_mutex_lock(&wb->lock);
		/* a write that came in meanwhile cannot overlap: this thread
		 * is the only writer */
		err = wb->err;
	}
	if (err == 0 && wb->nthreads > 0 && (in_window || copy != NULL)) {
		while (wb->free_list == NULL && wb->err == 0)
			pthread_cond_wait(&wb->done, &wb->lock);
		err = wb->err;
		if (err == 0) {
			struct wb_req **pp = &wb->pending;
			r = wb->free_list;
			wb->free_list = r->next;
			*r = (struct wb_req){copy != NULL ? copy : buf,
			                     len,
			                     off,
			                     copy != NULL ? NULL : wb->win_tag,
			                     copy,
			                     0,
			                     NULL};
			/* counted before a worker can see it (the callback takes
			 * the caller's lock: order ours, then theirs) */
			if (wb->hold != NULL && r->tag != NULL)
				wb->hold(r->tag, wb->opaque);
			while (*pp != NULL)
				pp = &(*pp)->next;
			*pp = r;
			wb->npending++;
			pthread_cond_signal(&wb->work);
			pthread_mutex_unlock(&wb->lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&wb->lock);
	vstd_free(copy);
	if (err)
		return failed(wb, err);
	return vstd_io_pwrite(wb->inner, buf, len, off);
}

static int wb_size(void *self, uint64_t *size)
{
	struct vstd_wb *wb = self;
	int rc = wait_for(wb, 0, 0);
	return rc < 0 ? rc : vstd_io_size(wb->inner, size);
}

static int wb_truncate(void *self, uint64_t size)
{
	struct vstd_wb *wb = self;
	int rc = wait_for(wb, 0, 0);
	return rc < 0 ? rc : vstd_io_truncate(wb->inner, size);
}

static int wb_flush(void *self)
{
	struct vstd_wb *wb = self;
	int rc = wait_for(wb, 0, 0);
	return rc < 0 ? rc : vstd_io_flush(wb->inner);
}

static int wb_discard(void *self, uint64_t off, uint64_t len)
{
	struct vstd_wb *wb = self;
	int rc = wait_for(wb, 0, 0);
	return rc < 0 ? rc : vstd_io_discard(wb->inner, off, len);
}

static int wb_write_zeroes(void *self, uint64_t off, uint64_t len, unsigned flags)
{
	struct vstd_wb *wb = self;
	int rc = wait_for(wb, 0, 0);
	return rc < 0 ? rc : vstd_io_write_zeroes(wb->inner, off, len, flags);
}

static int wb_extent(void *self, uint64_t off, uint64_t max_len, uint64_t *len, int *is_data)
{
	struct vstd_wb *wb = self;
	int rc = wait_for(wb, 0, 0);
	return rc < 0 ? rc : vstd_io_extent(wb->inner, off, max_len, len, is_data);
}

static int wb_allocate(void *self, uint64_t off, uint64_t len)
{
	struct vstd_wb *wb = self;
	int rc = wait_for(wb, 0, 0);
	return rc < 0 ? rc : vstd_io_allocate(wb->inner, off, len);
}

static void wb_close(void *self)
{
	struct vstd_wb *wb = self;
	pthread_mutex_lock(&wb->lock);
	(void)wait_locked(wb, 0, 0);
	wb->stop = 1;
	pthread_cond_broadcast(&wb->work);
	pthread_mutex_unlock(&wb->lock);
	for (unsigned i = 0; i < wb->nthreads; i++)
		pthread_join(wb->threads[i], NULL);
	pthread_cond_destroy(&wb->work);
	pthread_cond_destroy(&wb->done);
	pthread_mutex_destroy(&wb->lock);
	vstd_free(wb);
}

static const vstd_io_methods wb_methods = {
        VSTD_IO_METHODS_VERSION,
        "write-behind",
        wb_pread,
        wb_pwrite,
        wb_size,
        wb_truncate,
        wb_flush,
        wb_discard,
        wb_write_zeroes,
        wb_extent,
        wb_allocate,
        wb_close,
};

/* ------------------------------------------------------------ API */

int vstd_wb_new(vstd_io **out, struct vstd_wb **wbp, vstd_io *inner, unsigned threads)
{
	struct vstd_wb *wb = vstd_calloc(1, sizeof(*wb));
	int rc;
	if (wb == NULL)
		return vstd_err_code();
	wb->inner = inner;
	for (unsigned i = 0; i < WB_MAX_REQS; i++) {
		wb->reqs[i].next = wb->free_list;
		wb->free_list = &wb->reqs[i];
	}
	pthread_mutex_init(&wb->lock, NULL);
	pthread_cond_init(&wb->work, NULL);
	pthread_cond_init(&wb->done, NULL);
	if (threads > WB_MAX_THREADS)
		threads = WB_MAX_THREADS;
	for (unsigned i = 0; i < threads; i++) {
		if (pthread_create(&wb->threads[wb->nthreads], NULL, wb_worker, wb) != 0)
			break; /* fewer workers (none: all synchronous) */
		wb->nthreads++;
	}
	if ((rc = vstd_io_new(out, &wb_methods, wb, vstd_io_name(inner))) < 0) {
		wb_close(wb);
		return rc;
	}
	*wbp = wb;
	return 0;
}

void vstd_wb_callbacks(struct vstd_wb *wb, void (*hold)(void *tag, void *opaque),
                       void (*release)(void *tag, void *opaque), void *opaque)
{
	pthread_mutex_lock(&wb->lock);
	wb->hold = hold;
	wb->release = release;
	wb->opaque = opaque;
	pthread_mutex_unlock(&wb->lock);
}

void vstd_wb_window(struct vstd_wb *wb, const void *buf, size_t len, void *tag)
{
	pthread_mutex_lock(&wb->lock);
	wb->win_lo = buf;
	wb->win_hi = buf != NULL ? (const uint8_t *)buf + len : NULL;
	wb->win_tag = tag;
	pthread_mutex_unlock(&wb->lock);
}

int vstd_wb_error(struct vstd_wb *wb)
{
	int err;
	pthread_mutex_lock(&wb->lock);
	err = wb->err;
	pthread_mutex_unlock(&wb->lock);
	return err ? failed(wb, err) : 0;
}

int vstd_wb_drain(struct vstd_wb *wb)
{
	return wait_for(wb, 0, 0);
}
