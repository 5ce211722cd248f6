/*
 * disk/convert.c - vstd_disk_convert: copy the guest-visible contents of one
 * disk into another.
 *
 * The data path:
 *
 *   reader threads                         calling thread (+ writers)
 *   --------------                         --------------------------
 *   claim the next request in order  slot  zero runs: skip (target reads as
 *   (a hole: one request, never read) ring zeroes) or write_zeroes
 *   read data runs, split them   ------->  data runs: write, or compress on
 *   into data / zero / "same as            the thread pool and store the
 *   backing" runs at sparse_size           units in order
 *   granularity                            progress callback, flush
 *
 * The ring has `parallel` slots of CHUNK bytes each, so memory stays bounded
 * and reading overlaps writing; slots are filled and written in sequence
 * order whatever thread fills them.  Each disk handle is used by one thread
 * at a time: every reader has its own read-only handle on the source chain
 * (reopen.c) when there are several, the source handle itself decides the
 * requests under the lock, and the target's top layer is the writers'.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/io_internal.h"
#include "core/threadpool.h"
#include "disk/disk_internal.h"
#include "disk/ops_internal.h"

#define CHUNK ((uint64_t)2 << 20) /* bytes per request */
#define DEFAULT_SPARSE ((uint64_t)4096)
#define DEFAULT_PARALLEL 8u
#define MAX_PARALLEL 64u
#define MAX_WRITERS 4u
#define MAX_READERS 4u
/* write-behind workers for a format target: one.  Buffered writes to one
 * file take its inode lock for the whole copy, so a second worker only
 * spins on it (measured: 10% of the CPU of raw -> vdi); the one worker
 * still lets the driver thread run ahead of the copies. */
#define WB_THREADS 1u

enum run_kind { RUN_DATA, RUN_ZERO, RUN_SKIP };

struct run {
	uint64_t off; /* guest offset */
	uint64_t len;
	enum run_kind kind;
	const uint8_t *ptr; /* DATA: where the bytes are (slot buffer or mapping) */
};

enum slot_state { SLOT_FREE, SLOT_FILLING, SLOT_FULL, SLOT_WRITING, SLOT_END };

struct slot {
	enum slot_state state;
	uint8_t *buf;     /* CHUNK bytes of source data */
	int mapped;       /* some of its data runs point into the mapped source */
	unsigned pending; /* its writes still queued in the write-behind */
	int writer_done;  /* the writer is through with it */
	uint8_t *below;   /* -B: CHUNK bytes of the target's backing */
	uint64_t off, len;
	struct run *runs;
	size_t nruns, cap_runs;
};

/* A reader thread: its own read-only handle on the source (drivers are not
 * thread-safe), or the source itself when it is the only reader, and the
 * block status it last saw. */
struct reader {
	struct convert *c;
	vstd_disk *src;
	int owns_src;
	vstd_block_status st;
	uint64_t st_start, st_end; /* what st covers */
	pthread_t thread;
	int started;
};

struct compress_job {
	vstd_disk *dst;
	const uint8_t *in;
	size_t in_len;
	uint8_t *out;
	size_t out_cap, out_len;
	int rc;
	int err_code;
	char err_msg[256];
};

struct convert {
	vstd_disk *src, *dst;
	const vstd_disk_convert_opts *o;
	uint64_t size;      /* bytes to copy: the source's virtual size */
	uint64_t sparse;    /* zero-detection unit, 0: none */
	int target_is_zero; /* zero runs need no write */
	int compare_below;  /* -B: leave areas equal to the backing alone */
	/* a raw source file read through a mapping instead of pread (one
	 * copy less): the mapping of its first map_len bytes, or NULL;
	 * use_map turns to 0 when it fails */
	uint8_t *map;
	size_t map_len;
	int use_map;
	int map_host; /* a format: data runs at their block status' host offset */
	uint64_t page;
	unsigned nslots;
	struct slot *slots;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop; /* the writer failed: the readers quit */

	/* readers: each claims the next request in order (claim()) and
	 * fills its slot; several run in parallel where the source can be
	 * opened again (decompression, zero detection on several CPUs) */
	struct reader readers[MAX_READERS];
	unsigned nreaders;
	struct reader cursor; /* claim()'s block status, on src itself */
	unsigned next_fill;   /* sequence number of the next request */
	uint64_t next_off;    /* where the next request starts */
	int fill_done;        /* the END slot is placed: no more requests */

	/* the readers' first failure, handed to the calling thread */
	int rd_code;
	char rd_msg[1024];

	/* writers: the calling thread, plus helpers where the target allows
	 * concurrent writes to disjoint ranges (raw files) */
	unsigned nwriters;
	unsigned next_write; /* sequence number of the next slot to write */
	uint64_t done_bytes; /* bytes of requests completed */
	uint64_t reported;   /* the last progress the callback saw */
	int wr_code;         /* a helper writer's failure */
	char wr_msg[1024];

	/* the target's write-behind (writebehind.c), or NULL */
	struct vstd_wb *wb;

	/* compression */
	vstd_pool *pool;
	uint64_t unit;
	struct compress_job *jobs;
	size_t njobs_cap;
	uint8_t *zbuf; /* compressed output, CHUNK + slack */
	size_t zbuf_cap;
};

/* ------------------------------------------------------------ reader */

static int add_run(struct slot *s, uint64_t off, uint64_t len, enum run_kind kind,
                   const uint8_t *ptr)
{
	struct run *last = s->nruns ? &s->runs[s->nruns - 1] : NULL;
	if (len == 0)
		return 0;
	if (last != NULL && last->kind == kind && last->off + last->len == off &&
	    (kind != RUN_DATA || last->ptr + last->len == ptr)) {
		last->len += len;
		return 0;
	}
	if (s->nruns == s->cap_runs)
		return vstd_err(VSTD_ERROR, "convert: run table of a request is full");
	s->runs[s->nruns++] = (struct run){off, len, kind, ptr};
	return 0;
}

/* Classify [off, off+len) whose source bytes are in buf (NULL: all zero)
 * and, with compare_below, whose backing bytes are in below. */
static int classify(struct convert *c, struct slot *s, uint64_t off, uint64_t len,
                    const uint8_t *buf, const uint8_t *below)
{
	uint64_t unit = c->sparse ? c->sparse : len;
	uint64_t pos = off, end = off + len;
	int rc = 0;
	while (pos < end && rc == 0) {
		uint64_t next = c->sparse ? vstd_align_down(pos, unit) + unit : end;
		uint64_t n;
		size_t i = (size_t)(pos - off);
		enum run_kind kind;
		if (next > end)
			next = end;
		n = next - pos;
		if (buf == NULL) {
			kind = RUN_ZERO;
			if (below != NULL && vstd_is_zero(below + i, (size_t)n))
				kind = RUN_SKIP;
		} else if (below != NULL && memcmp(buf + i, below + i, (size_t)n) == 0) {
			kind = RUN_SKIP;
		} else if (c->sparse && vstd_is_zero(buf + i, (size_t)n)) {
			kind = RUN_ZERO;
		} else {
			kind = RUN_DATA;
		}
		if (kind == RUN_ZERO && c->target_is_zero)
			kind = RUN_SKIP;
		rc = add_run(s, pos, n, kind, buf != NULL ? buf + i : NULL);
		pos = next;
	}
	return rc;
}

/*
 * The mapped source.  A raw source file, or the file of a format listed in
 * host_mapped_formats, is mapped whole (address space only) instead of read
 * into the slots (for a format, data runs point at the host offset its
 * block status gives): zero detection looks at the page
 * cache directly and the target's write copies from it, one copy of every
 * byte instead of two.  Each data run is faulted in with
 * MADV_POPULATE_READ first, so a file that shrank since convert began shows
 * as an error there (the request is then read with pread, which gives
 * zeroes past the end as raw does) rather than as SIGBUS on access (a
 * truncation by another process between the fault-in and the use, a few
 * microseconds, still raises SIGBUS, as for any mapped file), and its
 * pages are dropped from the mapping again once written (MADV_DONTNEED:
 * memory use stays at the requests in flight).  Only the page tables are
 * touched in the process: mmap_lock is taken shared, never exclusively.
 */
#define FILL_RETRY 1 /* fill_slot_once: mapping failed, read instead */

/* Fault in [pos, pos + n) of the mapped source: 0, or FILL_RETRY. */
static int map_populate(struct convert *c, uint64_t pos, uint64_t n)
{
#ifdef MADV_POPULATE_READ
	uint64_t a = vstd_align_down(pos, c->page);
	if (pos + n <= c->map_len &&
	    madvise(c->map + a, (size_t)(pos + n - a), MADV_POPULATE_READ) == 0)
		return 0;
#endif
	return FILL_RETRY;
}

/* A written request's pages leave the mapping (the whole pages inside its
 * data runs: a page shared with a neighbour stays until the end).  The
 * reader that takes the slot next does it, before filling it: the zap and
 * its TLB shootdown stay off the writer, the one serial stage. */
static void unmap_slot(struct convert *c, struct slot *s)
{
	if (!s->mapped)
		return;
	s->mapped = 0;
	for (size_t i = 0; i < s->nruns; i++) {
		const struct run *r = &s->runs[i];
		uint64_t a, e;
		if (r->kind != RUN_DATA || r->ptr < c->map || r->ptr >= c->map + c->map_len)
			continue;
		a = vstd_align_up((uint64_t)(r->ptr - c->map), c->page);
		e = (uint64_t)(r->ptr - c->map) + r->len;
		e = e >= c->map_len ? c->map_len : vstd_align_down(e, c->page);
		if (e > a)
			(void)madvise(c->map + a, (size_t)(e - a), MADV_DONTNEED);
	}
}

/* A format's data at st is stored as it is in the mapped file. */
static int host_mapped(const struct reader *r, const vstd_block_status *st)
{
	return (st->flags & (VSTD_BLOCK_DATA | VSTD_BLOCK_OFFSET_VALID | VSTD_BLOCK_COMPRESSED)) ==
	               (VSTD_BLOCK_DATA | VSTD_BLOCK_OFFSET_VALID) &&
	       st->layer == r->src;
}

/* Whether the mapped source may still be used (a failed fault-in turns
 * it off for every reader). */
static int map_usable(const struct convert *c)
{
	return __atomic_load_n(&c->use_map, __ATOMIC_RELAXED);
}

/* The block status at pos through reader r's handle, cached: the status
 * covers [r->st_start, r->st_end). */
static int reader_status(struct convert *c, struct reader *r, uint64_t pos)
{
	int rc;
	if (pos >= r->st_start && pos < r->st_end)
		return 0;
	if ((rc = vstd_disk_map(r->src, pos, c->size - pos, &r->st)) < 0)
		return rc;
	if (r->st.length == 0)
		return vstd_err(VSTD_ERROR, "%s: no block status at offset %" PRIu64,
		                vstd_disk_filename(r->src), pos);
	r->st_start = pos;
	r->st_end = pos + r->st.length;
	return 0;
}

/* Fill slot s with the request [off, end) read through reader r: 0,
 * FILL_RETRY, or an error.  Holes inside it become zero runs. */
static int fill_slot_once(struct convert *c, struct reader *r, struct slot *s, uint64_t off,
                          uint64_t end)
{
	uint64_t pos = off;
	size_t used = 0;
	int mapped =
	        map_usable(c) && !c->compare_below && !(c->o->flags & VSTD_CONVERT_NO_ZERO_DETECT);
	int rc = 0;
	s->off = off;
	s->len = end - off;
	s->nruns = 0;
	s->mapped = 0;
	while (pos < end && rc == 0) {
		const vstd_block_status *st = &r->st;
		uint64_t n;
		int is_zero;
		if ((rc = reader_status(c, r, pos)) < 0)
			return rc;
		is_zero = (st->flags & VSTD_BLOCK_ZERO) || !(st->flags & VSTD_BLOCK_DATA);
		n = (r->st_end < end ? r->st_end : end) - pos;
		if (is_zero && !c->compare_below) {
			if (c->o->flags & VSTD_CONVERT_NO_ZERO_DETECT) {
				memset(s->buf + used, 0, (size_t)n);
				rc = add_run(s, pos, n, RUN_DATA, s->buf + used);
				used += (size_t)n;
			} else {
				rc = add_run(s, pos, n, c->target_is_zero ? RUN_SKIP : RUN_ZERO,
				             NULL);
			}
		} else {
			uint8_t *below = NULL;
			if (c->compare_below) {
				below = s->below + used;
				if ((rc = vstd_disk_read_below(c->dst, pos, below, (size_t)n)) < 0)
					return rc;
			}
			if (is_zero) {
				rc = classify(c, s, pos, n, NULL, below);
			} else if (mapped && (!c->map_host || host_mapped(r, st))) {
				/* raw: the file offset is the guest offset; a
				 * format: where the block status puts it */
				uint64_t host =
				        c->map_host ? st->host_offset + (pos - r->st_start) : pos;
				if ((rc = map_populate(c, host, n)) != 0)
					return rc;
				s->mapped = 1;
				rc = classify(c, s, pos, n, c->map + host, NULL);
			} else {
				if ((rc = vstd_disk_read(r->src, pos, s->buf + used, (size_t)n)) <
				    0)
					return rc;
				rc = classify(c, s, pos, n, s->buf + used, below);
			}
			used += (size_t)n;
		}
		pos += n;
	}
	return rc;
}

static int fill_slot(struct convert *c, struct reader *r, struct slot *s, uint64_t off,
                     uint64_t end, int hole)
{
	int rc;
	unmap_slot(c, s); /* what the slot held before */
	if (hole) {
		s->off = off;
		s->len = end - off;
		s->nruns = 0;
		s->mapped = 0;
		return add_run(s, off, end - off, c->target_is_zero ? RUN_SKIP : RUN_ZERO, NULL);
	}
	rc = fill_slot_once(c, r, s, off, end);
	if (rc == FILL_RETRY) {
		/* from here on, every reader reads the source as any other */
		s->mapped = 0;
		__atomic_store_n(&c->use_map, 0, __ATOMIC_RELAXED);
		rc = fill_slot_once(c, r, s, off, end);
	}
	return rc;
}

/* Under c->lock: the request reader failure or the end ends the run; the
 * writers stop at the slot marked SLOT_END. */
static void end_requests(struct convert *c, struct slot *s, int rc)
{
	if (rc < 0 && c->rd_code == 0) {
		c->rd_code = rc;
		snprintf(c->rd_msg, sizeof(c->rd_msg), "%s", vstd_error_last()->message);
	}
	s->len = 0;
	s->nruns = 0;
	s->state = SLOT_END;
	c->fill_done = 1;
	pthread_cond_broadcast(&c->cond);
}

/*
 * Under c->lock: take the next request, in order, for a reader: its slot
 * (free again), [*off, *end), and whether it is one hole (never read).  A
 * hole starting at the request is one request as long as the hole; any
 * other request ends at the next CHUNK boundary.  The main source handle
 * decides (block status only); the readers read through their own.
 * Returns 1, or 0 when nothing is left (the end, a failure, a stop).
 */
static int claim(struct convert *c, struct reader *r, struct slot **sp, uint64_t *off,
                 uint64_t *end, int *hole)
{
	struct slot *s;
	uint64_t pos, limit;
	int is_zero, rc;
	for (;;) {
		if (c->stop || c->fill_done)
			return 0;
		s = &c->slots[c->next_fill % c->nslots];
		if (s->state == SLOT_FREE)
			break;
		pthread_cond_wait(&c->cond, &c->lock);
	}
	c->next_fill++;
	pos = c->next_off;
	if (pos >= c->size) {
		end_requests(c, s, 0);
		return 0;
	}
	if ((rc = reader_status(c, &c->cursor, pos)) < 0) {
		end_requests(c, s, rc);
		return 0;
	}
	is_zero = (c->cursor.st.flags & VSTD_BLOCK_ZERO) || !(c->cursor.st.flags & VSTD_BLOCK_DATA);
	*hole = is_zero && !c->compare_below && !(c->o->flags & VSTD_CONVERT_NO_ZERO_DETECT);
	if (*hole) {
		limit = c->cursor.st_end;
	} else {
		limit = vstd_align_down(pos, CHUNK) + CHUNK;
		if (limit > c->size)
			limit = c->size;
	}
	/* the reader starts from this status (one SEEK_HOLE walk, or one
	 * table lookup, per extent rather than one per reader) */
	if (r != &c->cursor) {
		r->st = c->cursor.st;
		r->st_start = c->cursor.st_start;
		r->st_end = c->cursor.st_end;
		if (r->st.layer == c->src)
			r->st.layer = r->src;
	}
	s->state = SLOT_FILLING;
	c->next_off = limit;
	*sp = s;
	*off = pos;
	*end = limit;
	return 1;
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct convert *c = r->c;
	for (;;) {
		struct slot *s = NULL;
		uint64_t off = 0, end = 0;
		int hole = 0, rc;
		pthread_mutex_lock(&c->lock);
		rc = claim(c, r, &s, &off, &end, &hole);
		pthread_mutex_unlock(&c->lock);
		if (rc == 0)
			break;
		rc = fill_slot(c, r, s, off, end, hole);
		pthread_mutex_lock(&c->lock);
		if (rc < 0) {
			end_requests(c, s, rc);
		} else {
			s->state = SLOT_FULL;
			pthread_cond_broadcast(&c->cond);
		}
		pthread_mutex_unlock(&c->lock);
		if (rc < 0)
			break;
	}
	return NULL;
}

/* ------------------------------------------------------------ writer */

/*
 * Whether a unit is not worth compressing: data that looks random (already
 * compressed or encrypted) costs a compressor its full time and then does
 * not shrink, so the driver would refuse it anyway (VSTD_ERANGE) and the
 * unit is stored as it is.  A sample of SAMPLES pieces of PIECE bytes,
 * spread over the unit, is judged:
 *   - its byte histogram must be near-uniform: the sum of squared counts of
 *     a uniform source is about n + n(n-1)/256; skewed data (text, code,
 *     tables, sparse structures: anything an entropy coder can shrink) is
 *     far above, so 1/16 above is allowed;
 *   - no two pieces may be equal (a pattern repeating across the unit that
 *     a byte histogram cannot see, but LZ77 can).
 * Only random-looking data passes; a unit judged wrongly is merely stored
 * uncompressed, never wrongly.
 */
#define SAMPLE_PIECES 16u
#define SAMPLE_PIECE 256u

static int looks_incompressible(const uint8_t *in, size_t len)
{
	uint32_t count[256];
	const size_t n = SAMPLE_PIECES * SAMPLE_PIECE;
	const size_t step = len / SAMPLE_PIECES;
	uint64_t sq = 0, uniform;
	if (len < 2 * n)
		return 0;
	memset(count, 0, sizeof(count));
	for (unsigned p = 0; p < SAMPLE_PIECES; p++) {
		const uint8_t *q = in + p * step;
		for (unsigned i = 0; i < SAMPLE_PIECE; i++)
			count[q[i]]++;
	}
	for (unsigned b = 0; b < 256; b++)
		sq += (uint64_t)count[b] * count[b];
	uniform = n + (uint64_t)n * (n - 1) / 256;
	if (sq > uniform + uniform / 16)
		return 0;
	for (unsigned p = 0; p < SAMPLE_PIECES; p++)
		for (unsigned r = p + 1; r < SAMPLE_PIECES; r++)
			if (memcmp(in + p * step, in + r * step, SAMPLE_PIECE) == 0)
				return 0;
	return 1;
}

static void compress_job_run(void *arg)
{
	struct compress_job *j = arg;
	if (looks_incompressible(j->in, j->in_len)) {
		j->rc = VSTD_ERANGE; /* stored as it is */
		return;
	}
	j->rc = j->dst->drv->compress(j->dst, j->in, j->in_len, j->out, j->out_cap, &j->out_len);
	if (j->rc < 0 && j->rc != VSTD_ERANGE) {
		j->err_code = j->rc;
		snprintf(j->err_msg, sizeof(j->err_msg), "%s", vstd_error_last()->message);
	}
}

static int write_compressed_run(struct convert *c, const struct slot *s, const struct run *r)
{
	const uint8_t *data = r->ptr;
	/* Only whole, aligned units are compressed; a partial unit at either
	 * end of the run (next to a hole, or at the end of a disk whose size is
	 * no multiple of the unit) is stored uncompressed. */
	uint64_t first = vstd_align_up(r->off, c->unit), end = r->off + r->len;
	uint64_t last = vstd_align_down(end, c->unit);
	size_t head, n, per = c->zbuf_cap / c->njobs_cap;
	int rc = 0;
	if (first >= last || first > end)
		return vstd_disk_write(c->dst, r->off, data, (size_t)r->len);
	head = (size_t)(first - r->off);
	n = (size_t)((last - first) / c->unit);
	if (n > c->njobs_cap)
		return vstd_err(VSTD_ERROR, "convert: request larger than the compression table");
	if (head > 0 && (rc = vstd_disk_write(c->dst, r->off, data, head)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct compress_job *j = &c->jobs[i];
		*j = (struct compress_job){.dst = c->dst,
		                           .in = data + head + i * c->unit,
		                           .in_len = (size_t)c->unit,
		                           .out = c->zbuf + i * per,
		                           .out_cap = per};
		if ((rc = vstd_pool_submit(c->pool, compress_job_run, j)) < 0) {
			vstd_pool_wait(c->pool);
			return rc;
		}
	}
	vstd_pool_wait(c->pool);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct compress_job *j = &c->jobs[i];
		uint64_t off = first + i * c->unit;
		if (j->rc == 0)
			rc = c->dst->drv->write_compressed(c->dst, off, j->out, j->out_len);
		else if (j->rc == VSTD_ERANGE)
			rc = vstd_disk_write(c->dst, off, j->in, j->in_len);
		else
			rc = vstd_err(j->err_code, "%s", j->err_msg);
	}
	if (rc == 0 && last < end)
		rc = vstd_disk_write(c->dst, last, data + (last - r->off), (size_t)(end - last));
	return rc;
}

static int write_slot(struct convert *c, const struct slot *s)
{
	int rc = 0;
	for (size_t i = 0; i < s->nruns && rc == 0; i++) {
		const struct run *r = &s->runs[i];
		switch (r->kind) {
		case RUN_SKIP: break;
		case RUN_ZERO:
			rc = vstd_disk_write_zeroes(c->dst, r->off, r->len,
			                            (c->o->flags & VSTD_CONVERT_NO_ZERO_DETECT)
			                                    ? 0
			                                    : VSTD_IO_ZERO_MAY_UNMAP);
			break;
		case RUN_DATA:
			if (c->pool != NULL)
				rc = write_compressed_run(c, s, r);
			else
				rc = vstd_disk_write(c->dst, r->off, r->ptr, (size_t)r->len);
			break;
		}
	}
	return rc;
}

/*
 * Writers take FULL slots in sequence.  The calling thread is always one
 * (it alone calls the progress callback); helpers join it when the target
 * takes concurrent writes to disjoint ranges and gains from them: a raw
 * block device, or a raw file written with O_DIRECT (pwrite() calls that
 * run in parallel).  Buffered writes to a regular file do not: each holds
 * the inode's lock for its whole copy, and a second writer only spins on
 * it (measured on 2 CPUs: raw -> raw 0.67-0.78 s with one writer, 0.76-0.77
 * with two, and a third more CPU).
 */
/* Writes to the target may run in parallel at all: a raw target (plain
 * pwrites to disjoint ranges), without backing, not compressing. */
static int raw_writes_independent(const struct convert *c)
{
	return c->pool == NULL && strcmp(c->dst->drv->name, "raw") == 0 &&
	       vstd_disk_backing(c->dst) == NULL;
}

static int concurrent_writes_ok(const struct convert *c)
{
	struct stat st;
	int direct = 0, fd;
	if (!raw_writes_independent(c))
		return 0;
	fd = vstd_io_file_fd(c->dst->io, &direct);
	if (fd < 0 || fstat(fd, &st) != 0)
		return 0;
	return S_ISBLK(st.st_mode) || direct;
}

/* A written request whose queued writes are all done: free for the
 * reader again. */
static void release_slot(struct convert *c, struct slot *s)
{
	pthread_mutex_lock(&c->lock);
	s->writer_done = 0;
	s->state = SLOT_FREE;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void wb_hold(void *tag, void *opaque)
{
	struct convert *c = opaque;
	struct slot *s = tag;
	pthread_mutex_lock(&c->lock);
	s->pending++;
	pthread_mutex_unlock(&c->lock);
}

static void wb_release(void *tag, void *opaque)
{
	struct convert *c = opaque;
	struct slot *s = tag;
	int release;
	pthread_mutex_lock(&c->lock);
	release = --s->pending == 0 && s->writer_done;
	pthread_mutex_unlock(&c->lock);
	if (release)
		release_slot(c, s);
}

static int writer_loop(struct convert *c, int is_main)
{
	const vstd_disk_convert_opts *o = c->o;
	int rc = 0;
	for (;;) {
		struct slot *s;
		uint64_t done;
		int release;
		pthread_mutex_lock(&c->lock);
		for (;;) {
			s = &c->slots[c->next_write % c->nslots];
			if (c->stop || s->state == SLOT_FULL || s->state == SLOT_END)
				break;
			pthread_cond_wait(&c->cond, &c->lock);
		}
		if (c->stop || s->state == SLOT_END) {
			pthread_mutex_unlock(&c->lock);
			break;
		}
		s->state = SLOT_WRITING;
		c->next_write++;
		pthread_mutex_unlock(&c->lock);
		if (c->wb != NULL)
			vstd_wb_window(c->wb, s->mapped ? c->map : s->buf,
			               s->mapped ? c->map_len : (size_t)CHUNK, s);
		rc = write_slot(c, s);
		if (c->wb != NULL) {
			vstd_wb_window(c->wb, NULL, 0, NULL);
			if (rc == 0)
				rc = vstd_wb_error(c->wb);
		}
		pthread_mutex_lock(&c->lock);
		s->writer_done = 1;
		release = s->pending == 0;
		c->done_bytes += s->len;
		done = c->done_bytes;
		if (rc < 0) {
			c->stop = 1;
			if (!is_main && c->wr_code == 0) {
				c->wr_code = rc;
				snprintf(c->wr_msg, sizeof(c->wr_msg), "%s",
				         vstd_error_last()->message);
			}
		}
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
		if (release)
			release_slot(c, s);
		if (rc < 0)
			break;
		if (is_main)
			c->reported = done;
		if (is_main && o->progress != NULL &&
		    o->progress(done, c->size, o->progress_opaque)) {
			rc = vstd_err(VSTD_ECANCELED, "convert: canceled at offset %" PRIu64, done);
			break;
		}
	}
	return rc;
}

static void *writer_main(void *arg)
{
	(void)writer_loop(arg, 0);
	return NULL;
}

/* ------------------------------------------------------------ setup */

static void free_slots(struct convert *c)
{
	for (unsigned i = 0; c->slots != NULL && i < c->nslots; i++) {
		vstd_aligned_free(c->slots[i].buf);
		vstd_aligned_free(c->slots[i].below);
		vstd_free(c->slots[i].runs);
	}
	vstd_free(c->slots);
	if (c->map != NULL)
		munmap(c->map, c->map_len);
	c->map = NULL;
	vstd_pool_free(c->pool);
	vstd_free(c->jobs);
	vstd_free(c->zbuf);
}

/*
 * Formats whose block status gives, with OFFSET_VALID and neither ZERO nor
 * COMPRESSED, the offset in the image's own file (d->io) where the guest
 * data is stored as it is: one file per image, no encryption.  (qcow2 may
 * keep data in an external file or encrypted, vmdk in extent files: those
 * are read through their drivers.)
 */
static const char *const host_mapped_formats[] = {"vdi", "vhdx", "vpc"};

/* Map a raw source file, or the file of a format listed above (see
 * map_populate). */
static void setup_map(struct convert *c)
{
	struct stat st;
	long page = sysconf(_SC_PAGESIZE);
	int direct = 0, fd = vstd_io_file_fd(c->src->io, &direct), host = 0;
	uint64_t len;
	void *p;
	c->map = NULL;
	c->use_map = 0;
	for (size_t i = 0; i < sizeof(host_mapped_formats) / sizeof(host_mapped_formats[0]); i++)
		if (strcmp(c->src->drv->name, host_mapped_formats[i]) == 0)
			host = 1;
#ifdef MADV_POPULATE_READ
	if (fd < 0 || direct || page <= 0 || !vstd_is_pow2((uint64_t)page) ||
	    (!host && strcmp(c->src->drv->name, "raw") != 0) || vstd_disk_backing(c->src) != NULL ||
	    c->src->snapshot_of != NULL || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size <= 0)
		return;
	len = (uint64_t)st.st_size;
	if (!host && len > c->size)
		len = c->size;
	if (len > SIZE_MAX / 2)
		return;
	p = mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return;
	c->map = p;
	c->map_len = (size_t)len;
	c->page = (uint64_t)page;
	c->use_map = 1;
	c->map_host = host;
#else
	(void)st, (void)page, (void)direct, (void)fd, (void)len, (void)p, (void)host;
#endif
}

static int setup(struct convert *c)
{
	size_t cap_runs;
	c->slots = vstd_calloc(c->nslots, sizeof(*c->slots));
	if (c->slots == NULL)
		return vstd_err_code();
	/* runs per request: at most one per 512-byte sector (zero detection
	 * by sparse_size units, or block status alternating that finely
	 * between data and holes), plus the partial ones at the ends */
	cap_runs = (size_t)(CHUNK / 512) + 4;
	for (unsigned i = 0; i < c->nslots; i++) {
		struct slot *s = &c->slots[i];
		s->buf = vstd_aligned_alloc(4096, (size_t)CHUNK);
		s->runs = vstd_calloc(cap_runs, sizeof(*s->runs));
		s->cap_runs = cap_runs;
		if (s->buf == NULL || s->runs == NULL)
			return vstd_err_code();
		if (c->compare_below &&
		    (s->below = vstd_aligned_alloc(4096, (size_t)CHUNK)) == NULL)
			return vstd_err_code();
	}
	if (c->o->flags & VSTD_CONVERT_COMPRESS) {
		const struct vstd_disk_driver *drv = c->dst->drv;
		int rc;
		if (drv->compress_unit == NULL || drv->compress == NULL ||
		    drv->write_compressed == NULL)
			return vstd_err(VSTD_ENOTSUP,
			                "%s: the %s format cannot store compressed data (drop -c)",
			                vstd_disk_filename(c->dst), drv->name);
		c->unit = drv->compress_unit(c->dst);
		if (c->unit < 512 || c->unit > CHUNK || !vstd_is_pow2(c->unit))
			return vstd_err(VSTD_ENOTSUP,
			                "%s: compressed units of %" PRIu64
			                " bytes are not supported",
			                vstd_disk_filename(c->dst), c->unit);
		c->njobs_cap = (size_t)(CHUNK / c->unit);
		c->jobs = vstd_calloc(c->njobs_cap, sizeof(*c->jobs));
		/* each unit may grow a little when compressed badly: the driver
		 * returns VSTD_ERANGE rather than overflow the unit's room */
		c->zbuf_cap = (size_t)CHUNK;
		c->zbuf = vstd_malloc(c->zbuf_cap);
		if (c->jobs == NULL || c->zbuf == NULL)
			return vstd_err_code();
		if ((rc = vstd_pool_new(&c->pool, c->o->threads, 0)) < 0)
			return rc;
	}
	return 0;
}

/*
 * Readers: one per CPU (at most MAX_READERS, at most one per slot), each on
 * its own read-only handle of the source chain; one reader on the source
 * itself where it cannot be opened again (open for writing, a snapshot
 * view, not on plain files) or where the target's backing chain is read
 * too (-B: it is one handle).
 */
unsigned vstd_convert_readers_override;
unsigned vstd_convert_writers_override;

static unsigned online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1u : n > 64 ? 64u : (unsigned)n;
}

static unsigned want_readers(const struct convert *c)
{
	unsigned n = vstd_convert_readers_override ? vstd_convert_readers_override : online_cpus();
	if (n > MAX_READERS)
		n = MAX_READERS;
	if (c->compare_below || c->o->parallel == 1)
		return 1;
	return n < c->nslots ? n : c->nslots;
}

/* 0, or an error: out of memory (a source that cannot be opened again
 * has one reader instead), or no thread could start. */
static int start_readers(struct convert *c)
{
	unsigned want = want_readers(c), n = 0;
	int rc = 0;
	c->cursor = (struct reader){.c = c, .src = c->src};
	if (want > 1) {
		for (; n < want; n++) {
			struct reader *r = &c->readers[n];
			*r = (struct reader){.c = c};
			if ((rc = vstd_disk_reopen_readonly(c->src, &r->src)) < 0)
				break;
			r->owns_src = 1;
		}
		c->nreaders = n;
		if (rc == VSTD_ENOMEM)
			return rc;
		vstd_error_clear();
		if (n < 2) {
			/* one reader: it may as well use the source itself */
			for (unsigned i = 0; i < n; i++)
				vstd_disk_close(c->readers[i].src);
			n = 0;
			c->nreaders = 0;
		}
	}
	if (n == 0) {
		c->readers[0] = (struct reader){.c = c, .src = c->src};
		n = 1;
	}
	c->nreaders = n;
	for (unsigned i = 0; i < n; i++) {
		struct reader *r = &c->readers[i];
		if (pthread_create(&r->thread, NULL, reader_main, r) != 0) {
			if (i == 0)
				return vstd_err_errno(0, errno,
				                      "convert: cannot start the reader thread");
			break; /* fewer readers: still correct */
		}
		r->started = 1;
	}
	return 0;
}

/* Wait for the readers (the writers stopped or c->stop is set) and close
 * their handles. */
static void stop_readers(struct convert *c)
{
	pthread_mutex_lock(&c->lock);
	c->stop = 1;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	for (unsigned i = 0; i < c->nreaders; i++) {
		struct reader *r = &c->readers[i];
		if (r->started)
			pthread_join(r->thread, NULL);
		r->started = 0;
		if (r->owns_src)
			vstd_disk_close(r->src);
		r->owns_src = 0;
	}
	c->nreaders = 0;
}

static int copy_into(vstd_disk *src, vstd_disk *dst, const vstd_disk_convert_opts *o,
                     int target_is_zero, struct vstd_wb *wb, int write_back)
{
	struct convert c;
	pthread_t helpers[MAX_WRITERS];
	unsigned nhelpers = 0;
	uint64_t done = 0;
	int rc;
	memset(&c, 0, sizeof(c));
	c.src = src;
	c.dst = dst;
	c.o = o;
	c.size = vstd_disk_size(src);
	if (c.size > vstd_disk_size(dst))
		return vstd_err(VSTD_ERANGE,
		                "%s: the target (%" PRIu64
		                " bytes) is smaller than the source %s (%" PRIu64 " bytes)",
		                vstd_disk_filename(dst), vstd_disk_size(dst),
		                vstd_disk_filename(src), c.size);
	c.sparse = (o->flags & VSTD_CONVERT_NO_ZERO_DETECT) ? 0
	           : o->sparse_size                         ? o->sparse_size
	                                                    : DEFAULT_SPARSE;
	if (c.sparse != 0 && (c.sparse > CHUNK || c.sparse % 512 != 0))
		return vstd_err(VSTD_EINVAL,
		                "convert: sparse size %" PRIu64
		                " must be a multiple of 512 bytes and at most %" PRIu64,
		                c.sparse, CHUNK);
	c.target_is_zero = target_is_zero && !(o->flags & VSTD_CONVERT_NO_ZERO_DETECT);
	c.compare_below = vstd_disk_backing(dst) != NULL;
	c.wb = wb;
	setup_map(&c);
	c.nslots = o->parallel ? o->parallel : DEFAULT_PARALLEL;
	if (c.nslots < 2)
		c.nslots = 2;
	if (c.nslots > MAX_PARALLEL)
		c.nslots = MAX_PARALLEL;
	if (o->flags & VSTD_CONVERT_COMPRESS) {
		/* zero detection by whole compressed units keeps data runs aligned */
		const struct vstd_disk_driver *drv = dst->drv;
		if (drv->compress_unit != NULL) {
			uint64_t u = drv->compress_unit(dst);
			if (u >= 512 && u <= CHUNK && vstd_is_pow2(u))
				c.sparse = u;
		}
	}
	if ((rc = setup(&c)) < 0) {
		free_slots(&c);
		return rc;
	}
	pthread_mutex_init(&c.lock, NULL);
	pthread_cond_init(&c.cond, NULL);
	if (c.wb != NULL)
		vstd_wb_callbacks(c.wb, wb_hold, wb_release, &c);
	/* several writers only where writes run in parallel (see
	 * concurrent_writes_ok), and never more than the CPUs */
	c.nwriters = concurrent_writes_ok(&c) ? c.nslots / 2 : 1;
	if (c.nwriters > MAX_WRITERS)
		c.nwriters = MAX_WRITERS;
	if (c.nwriters > online_cpus())
		c.nwriters = online_cpus();
	if (vstd_convert_writers_override && raw_writes_independent(&c))
		c.nwriters = vstd_convert_writers_override < MAX_WRITERS
		                     ? vstd_convert_writers_override
		                     : MAX_WRITERS;
	if (c.nwriters < 1)
		c.nwriters = 1;
	if ((rc = start_readers(&c)) < 0)
		goto out;
	for (unsigned i = 1; i < c.nwriters; i++) {
		if (pthread_create(&helpers[nhelpers], NULL, writer_main, &c) != 0)
			break; /* fewer helpers: still correct */
		nhelpers++;
	}
	rc = writer_loop(&c, 1);
	pthread_mutex_lock(&c.lock);
	if (rc < 0)
		c.stop = 1;
	pthread_cond_broadcast(&c.cond);
	pthread_mutex_unlock(&c.lock);
	for (unsigned i = 0; i < nhelpers; i++)
		pthread_join(helpers[i], NULL);
	if (c.wb != NULL) {
		/* every queued write done, every slot released */
		int wrc = vstd_wb_drain(c.wb);
		if (rc == 0 && wrc < 0)
			rc = wrc;
	}
	done = c.reported;
	if (rc == 0 && c.wr_code < 0)
		rc = vstd_err(c.wr_code, "%s", c.wr_msg);
	stop_readers(&c);
	if (rc == 0 && c.rd_code < 0)
		rc = vstd_err(c.rd_code, "%s", c.rd_msg);
	/* write_back: the target's file ignores flushes (-t unsafe), but the
	 * format's cached metadata must still be written here, where a failure
	 * is seen: vstd_disk_close cannot report one */
	if (rc == 0 && (write_back || !(o->flags & VSTD_CONVERT_NO_FLUSH)))
		rc = vstd_disk_flush(dst);
	if (rc == 0 && o->progress != NULL && done < c.size &&
	    o->progress(c.size, c.size, o->progress_opaque))
		rc = vstd_err(VSTD_ECANCELED, "convert: canceled at the end");
out:
	stop_readers(&c);
	if (c.wb != NULL) {
		(void)vstd_wb_drain(c.wb);
		vstd_wb_callbacks(c.wb, NULL, NULL, NULL);
	}
	pthread_cond_destroy(&c.cond);
	pthread_mutex_destroy(&c.lock);
	free_slots(&c);
	return rc;
}

int vstd_disk_copy_into(vstd_disk *src, vstd_disk *dst, const vstd_disk_convert_opts *o,
                        int target_is_zero)
{
	return copy_into(src, dst, o, target_is_zero, NULL, 0);
}

/* ------------------------------------------------------------ vstd_disk_convert */

static int remove_target(const char *path, int rc)
{
	if (unlink(path) != 0 && errno != ENOENT)
		vstd_err_prefix("(could not remove the partial target: %s) ", strerror(errno));
	return rc;
}

int vstd_disk_convert_hooked(vstd_disk *src, const char *dst_path,
                             const vstd_disk_convert_opts *opts,
                             const struct vstd_convert_io_hook *hook)
{
	vstd_disk_convert_opts o = VSTD_DISK_CONVERT_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *view = NULL, *dst = NULL;
	vstd_io *io = NULL, *wrapped = NULL, *wbio = NULL;
	struct vstd_wb *wb = NULL;
	struct stat st;
	int created = 0, rc;
	if (src == NULL || dst_path == NULL)
		return vstd_err(VSTD_EINVAL, "vstd_disk_convert: no source or target given");
	if (opts != NULL) {
		if (opts->version != VSTD_DISK_CONVERT_OPTS_VERSION)
			return vstd_err(VSTD_EINVAL,
			                "vstd_disk_convert: options version %u unknown",
			                opts->version);
		o = *opts;
	}
	if (o.format == NULL)
		o.format = "raw";
	if (vstd_disk_driver_find(o.format) == NULL)
		return vstd_disk_unknown_format(o.format);
	if (o.backing_file != NULL && (o.flags & VSTD_CONVERT_NO_CREATE))
		return vstd_err(
		        VSTD_EINVAL,
		        "convert: a backing file (-B) cannot be set on an existing target (-n)");
	/* Creating the target over a file of the source's chain would destroy
	 * the data being read. */
	if (stat(dst_path, &st) == 0) {
		for (vstd_disk *l = src; l != NULL; l = vstd_disk_backing(l)) {
			struct stat ls;
			if (stat(vstd_disk_filename(l), &ls) == 0 && ls.st_dev == st.st_dev &&
			    ls.st_ino == st.st_ino)
				return vstd_err(
				        VSTD_EINVAL,
				        "%s: the target is the source image '%s' (or in its "
				        "backing chain); give another target file",
				        dst_path, vstd_disk_filename(l));
		}
	}
	if (o.snapshot != NULL) {
		if ((rc = vstd_disk_snapshot_open(&view, src, o.snapshot)) < 0)
			return rc;
		src = view;
	}
	if (!(o.flags & VSTD_CONVERT_NO_CREATE)) {
		vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
		if (stat(dst_path, &st) == 0 && S_ISDIR(st.st_mode)) {
			rc = vstd_err(VSTD_EINVAL, "%s: is a directory", dst_path);
			goto out;
		}
		int existed = lstat(dst_path, &st) == 0;
		co.format = o.format;
		co.size = vstd_disk_size(src);
		co.options = o.options;
		co.backing_file = o.backing_file;
		co.backing_format = o.backing_format;
		if ((rc = vstd_disk_create(dst_path, &co)) < 0) {
			/* a file that appeared during the failed create is ours */
			if (!existed && lstat(dst_path, &st) == 0 && S_ISREG(st.st_mode))
				remove_target(dst_path, rc);
			goto out;
		}
		created = 1;
	} else if (o.options != NULL && o.options[0] != '\0') {
		rc = vstd_err(
		        VSTD_EINVAL,
		        "convert: creation options (-o) cannot apply to an existing target (-n)");
		goto out;
	}
	oo.format = (o.flags & VSTD_CONVERT_NO_CREATE) && opts != NULL ? opts->format : o.format;
	oo.flags = VSTD_DISK_RDWR;
	oo.backing_format = o.backing_format;
	/* -t unsafe: the format's own ordering flushes cost real syncs of
	 * the whole target; like qemu-img's cache=unsafe, skip them all. */
	if ((rc = vstd_io_file_open(
	             &io, dst_path,
	             VSTD_IO_WRITE | ((o.flags & VSTD_CONVERT_NO_FLUSH) ? VSTD_IO_NO_FLUSH : 0))) <
	    0)
		goto fail;
	wrapped = io;
	if (hook != NULL && hook->wrap != NULL && (rc = hook->wrap(&wrapped, hook->opaque)) < 0) {
		wrapped = NULL;
		goto fail;
	}
	/* A format driver writes through one thread: let the kernel's copy of
	 * the data run on workers (a raw target has several writers instead;
	 * compressed units are small). */
	if (strcmp(o.format, "raw") != 0 && !(o.flags & VSTD_CONVERT_COMPRESS)) {
		if ((rc = vstd_wb_new(&wbio, &wb, wrapped, WB_THREADS)) < 0)
			goto fail;
	}
	if ((rc = vstd_disk_open_io(&dst, wbio != NULL ? wbio : wrapped, dst_path, &oo)) < 0)
		goto fail;
	rc = copy_into(src, dst, &o,
	               (created && o.backing_file == NULL) ||
	                       (o.flags & VSTD_CONVERT_TARGET_IS_ZERO),
	               wb, 1);
	if (rc < 0)
		goto fail;
	vstd_disk_close(dst);
	dst = NULL;
	if (wb != NULL && (rc = vstd_wb_drain(wb)) < 0)
		goto fail;
	goto out;
fail:
	vstd_disk_close(dst);
	dst = NULL;
	vstd_io_close(wbio);
	wbio = NULL;
	if (created)
		remove_target(dst_path, rc);
out:
	vstd_disk_close(dst);
	vstd_io_close(wbio);
	if (wrapped != NULL && wrapped != io && hook != NULL && hook->unwrap != NULL)
		hook->unwrap(wrapped, hook->opaque);
	vstd_io_close(io);
	vstd_disk_close(view);
	return rc;
}

int vstd_disk_convert(vstd_disk *src, const char *dst_path, const vstd_disk_convert_opts *opts)
{
	return vstd_disk_convert_hooked(src, dst_path, opts, NULL);
}
