/*
 * descriptor/ova/gzio.c - a read-only vstd_io over a gzip-wrapped tar
 * (ganeti writes OVAs as .ova = tar.gz), streamed with bounded memory.
 *
 * Opening scans the whole gzip stream once (inflating into a small scratch
 * buffer) to learn the inflated size and to record access points: at a
 * deflate block boundary (RFC 1951 3.2.3) the decoder state is only the
 * input bit position and the last 32 KiB of output, so a raw inflater
 * primed with those bits and given that window as its dictionary resumes
 * there.  Reads move forward from the current position; a read behind it,
 * or far ahead of it, restarts from the nearest access point.  At most
 * GZIO_MAX_POINTS points are kept: when full, every other one is dropped
 * and the spacing doubles, so memory stays under about 4 MiB whatever the
 * size, and a backward seek inflates at most one spacing.
 *
 * Concatenated gzip members (RFC 1952 2.2) are followed; bytes after the
 * last member that do not start another member are ignored with a warning
 * (GNU tar does the same).
 */
#include <string.h>

#include <zlib.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "descriptor/ova/ova_internal.h"

#define GZIO_WINDOW 32768u
#define GZIO_MAX_POINTS 128u
#define GZIO_FIRST_SPACING (1ull << 20)
#define GZIO_IN_CHUNK (256u << 10)
#define GZIO_SCRATCH (256u << 10)

typedef struct gz_point {
	uint64_t out;  /* inflated offset */
	uint64_t in;   /* offset of the first whole input byte after the boundary */
	int bits;      /* bits of the byte before `in` still to be used (0..7) */
	unsigned wlen; /* bytes of window */
	unsigned char *window;
} gz_point;

typedef struct gzio {
	vstd_io *src;
	char *name;
	uint64_t src_size;
	uint64_t total; /* inflated size (after the scan) */
	uint64_t limit; /* the scan refuses more than this */
	gz_point pts[GZIO_MAX_POINTS];
	unsigned n_pts;
	uint64_t spacing;
	/* the cursor */
	z_stream zs;
	int zs_init;
	int raw;          /* raw deflate (resumed from a point) rather than gzip framing */
	int ended;        /* no more data: the last member ended */
	uint64_t in_off;  /* offset in src of the next byte to load */
	uint64_t cur_out; /* inflated offset of the next output byte */
	unsigned char *in;
	unsigned char *scratch;
	uint64_t peak_out; /* for the scan */
} gzio;

static void gz_free(gzio *g)
{
	if (g == NULL)
		return;
	if (g->zs_init)
		inflateEnd(&g->zs);
	for (unsigned i = 0; i < g->n_pts; i++)
		vstd_free(g->pts[i].window);
	vstd_free(g->in);
	vstd_free(g->scratch);
	vstd_free(g->name);
	vstd_free(g);
}

static int zerr(gzio *g, const char *what)
{
	return vstd_err(VSTD_ECORRUPT,
	                "%s: gzip data is corrupt near input offset 0x%" PRIx64 " (%s)", g->name,
	                g->in_off - g->zs.avail_in, what);
}

static int refill(gzio *g)
{
	if (g->zs.avail_in > 0)
		return 0;
	size_t want = GZIO_IN_CHUNK;
	if (g->src_size - g->in_off < want)
		want = (size_t)(g->src_size - g->in_off);
	size_t done = 0;
	if (want > 0) {
		int rc = vstd_io_pread_partial(g->src, g->in, want, g->in_off, &done);
		if (rc < 0)
			return rc;
	}
	g->in_off += done;
	g->zs.next_in = g->in;
	g->zs.avail_in = (uInt)done;
	return 0;
}

/* Restart at the beginning of the stream (gzip framing). */
static int restart(gzio *g)
{
	int zrc = g->zs_init ? inflateReset2(&g->zs, 16 + MAX_WBITS)
	                     : inflateInit2(&g->zs, 16 + MAX_WBITS);
	if (zrc != Z_OK)
		return vstd_err(VSTD_ENOMEM, "%s: cannot initialise zlib", g->name);
	g->zs_init = 1;
	g->raw = 0;
	g->ended = 0;
	g->in_off = 0;
	g->cur_out = 0;
	g->zs.avail_in = 0;
	g->zs.next_in = g->in;
	return 0;
}

/* Resume at access point p (raw deflate). */
static int resume(gzio *g, const gz_point *p)
{
	int zrc = g->zs_init ? inflateReset2(&g->zs, -MAX_WBITS) : inflateInit2(&g->zs, -MAX_WBITS);
	if (zrc != Z_OK)
		return vstd_err(VSTD_ENOMEM, "%s: cannot initialise zlib", g->name);
	g->zs_init = 1;
	g->raw = 1;
	g->ended = 0;
	g->zs.avail_in = 0;
	g->zs.next_in = g->in;
	if (p->bits > 0) {
		unsigned char b;
		int rc = vstd_io_pread(g->src, &b, 1, p->in - 1);
		if (rc < 0)
			return rc;
		if (inflatePrime(&g->zs, p->bits, b >> (8 - p->bits)) != Z_OK)
			return zerr(g, "cannot prime the inflater");
	}
	if (p->wlen > 0 && inflateSetDictionary(&g->zs, p->window, p->wlen) != Z_OK)
		return zerr(g, "cannot set the window");
	g->in_off = p->in;
	g->cur_out = p->out;
	return 0;
}

/* A member ended: skip its trailer when raw, then look for another member. */
static int member_end(gzio *g)
{
	if (g->raw) {
		/* RFC 1952 2.3: CRC32 and ISIZE follow the deflate data. */
		for (int k = 0; k < 8; k++) {
			int rc = refill(g);
			if (rc < 0)
				return rc;
			if (g->zs.avail_in == 0)
				return vstd_err(VSTD_ECORRUPT, "%s: gzip trailer is truncated",
				                g->name);
			g->zs.next_in++;
			g->zs.avail_in--;
		}
	}
	unsigned char magic[2];
	size_t have = 0;
	uint64_t at = g->in_off - g->zs.avail_in;
	if (at < g->src_size) {
		int rc = vstd_io_pread_partial(g->src, magic, 2, at, &have);
		if (rc < 0)
			return rc;
	}
	if (have == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
		if (inflateReset2(&g->zs, 16 + MAX_WBITS) != Z_OK)
			return zerr(g, "cannot reset the inflater");
		g->raw = 0;
		return 0;
	}
	g->ended = 1;
	return 0;
}

static int add_point(gzio *g)
{
	if (g->n_pts == GZIO_MAX_POINTS) {
		/* keep every other point, double the spacing */
		unsigned k = 0;
		for (unsigned i = 0; i < g->n_pts; i++) {
			if (i % 2 == 1) {
				g->pts[k++] = g->pts[i];
			} else {
				vstd_free(g->pts[i].window);
			}
		}
		g->n_pts = k;
		g->spacing *= 2;
		if (g->cur_out - g->pts[k - 1].out < g->spacing)
			return 0;
	}
	gz_point *p = &g->pts[g->n_pts];
	memset(p, 0, sizeof(*p));
	p->window = vstd_malloc(GZIO_WINDOW);
	if (p->window == NULL)
		return VSTD_ENOMEM;
	uInt wlen = GZIO_WINDOW;
	if (inflateGetDictionary(&g->zs, p->window, &wlen) != Z_OK) {
		vstd_free(p->window);
		return zerr(g, "cannot read the window");
	}
	p->wlen = wlen;
	p->out = g->cur_out;
	p->in = g->in_off - g->zs.avail_in;
	p->bits = g->zs.data_type & 7;
	g->n_pts++;
	return 0;
}

/*
 * Inflate up to len bytes into dst (NULL: discard into scratch) from the
 * cursor; *done is short only at the end of the data.  With scan set, stop
 * at block boundaries to record access points.
 */
static int gz_read(gzio *g, unsigned char *dst, size_t len, size_t *done, int scan)
{
	*done = 0;
	while (*done < len && !g->ended) {
		int rc = refill(g);
		if (rc < 0)
			return rc;
		if (g->zs.avail_in == 0)
			return vstd_err(VSTD_ECORRUPT,
			                "%s: gzip stream ends early (truncated at %" PRIu64
			                " bytes)",
			                g->name, g->src_size);
		size_t want = len - *done;
		unsigned char *out = dst != NULL ? dst + *done : g->scratch;
		if (dst == NULL && want > GZIO_SCRATCH)
			want = GZIO_SCRATCH;
		if (want > (1u << 30))
			want = 1u << 30;
		g->zs.next_out = out;
		g->zs.avail_out = (uInt)want;
		int zrc = inflate(&g->zs, scan ? Z_BLOCK : Z_NO_FLUSH);
		size_t got = want - g->zs.avail_out;
		*done += got;
		g->cur_out += got;
		if (zrc == Z_STREAM_END) {
			rc = member_end(g);
			if (rc < 0)
				return rc;
			continue;
		}
		if (zrc == Z_BUF_ERROR && got == 0 && g->zs.avail_in > 0)
			return zerr(g, "no progress");
		if (zrc != Z_OK && zrc != Z_BUF_ERROR)
			return zerr(g, g->zs.msg ? g->zs.msg : "inflate error");
		if (scan && (g->zs.data_type & 128) && !(g->zs.data_type & 64) &&
		    g->cur_out >= (g->n_pts ? g->pts[g->n_pts - 1].out : 0) + g->spacing) {
			rc = add_point(g);
			if (rc < 0)
				return rc;
		}
		if (scan && g->cur_out > g->limit)
			return vstd_err(VSTD_ELIMIT,
			                "%s: gzip-wrapped OVA inflates to more than %" PRIu64
			                " bytes (limit max_gzip_tar)",
			                g->name, g->limit);
	}
	return 0;
}

static int gz_pread(void *self, void *buf, size_t len, uint64_t off, size_t *done)
{
	gzio *g = self;
	*done = 0;
	if (off >= g->total || len == 0)
		return 0;
	if (len > g->total - off)
		len = (size_t)(g->total - off);
	/* the last point at or before off */
	const gz_point *best = NULL;
	for (unsigned i = 0; i < g->n_pts && g->pts[i].out <= off; i++)
		best = &g->pts[i];
	int rc = 0;
	if (off < g->cur_out || g->ended) {
		rc = best != NULL ? resume(g, best) : restart(g);
	} else if (best != NULL && best->out > g->cur_out) {
		rc = resume(g, best);
	}
	if (rc < 0)
		return rc;
	while (g->cur_out < off) {
		size_t skipped;
		uint64_t gap = off - g->cur_out;
		rc = gz_read(g, NULL, gap < GZIO_SCRATCH ? (size_t)gap : GZIO_SCRATCH, &skipped, 0);
		if (rc < 0)
			return rc;
		if (skipped == 0)
			return vstd_err(VSTD_ECORRUPT, "%s: gzip data ends before 0x%" PRIx64,
			                g->name, off);
	}
	return gz_read(g, buf, len, done, 0);
}

static int gz_pwrite(void *self, const void *buf, size_t len, uint64_t off)
{
	gzio *g = self;
	(void)buf;
	(void)len;
	(void)off;
	return vstd_err(VSTD_EPERM, "%s: a gzip-wrapped OVA is read-only", g->name);
}

static int gz_size(void *self, uint64_t *size)
{
	*size = ((gzio *)self)->total;
	return 0;
}

static void gz_close(void *self)
{
	gz_free(self);
}

static const vstd_io_methods gz_methods = {VSTD_IO_METHODS_VERSION,
                                           "gzip",
                                           gz_pread,
                                           gz_pwrite,
                                           gz_size,
                                           NULL,
                                           NULL,
                                           NULL,
                                           NULL,
                                           NULL,
                                           NULL,
                                           gz_close};

int ova_gzio_open(vstd_io **out, vstd_io *src, const char *name, uint64_t limit)
{
	gzio *g = vstd_calloc(1, sizeof(*g));
	if (g == NULL)
		return VSTD_ENOMEM;
	g->src = src;
	g->limit = limit;
	g->spacing = GZIO_FIRST_SPACING;
	g->name = vstd_strdup(name != NULL ? name : "package");
	g->in = vstd_malloc(GZIO_IN_CHUNK);
	g->scratch = vstd_malloc(GZIO_SCRATCH);
	int rc = g->name && g->in && g->scratch ? 0 : VSTD_ENOMEM;
	if (rc == 0)
		rc = vstd_io_size(src, &g->src_size);
	if (rc == 0)
		rc = restart(g);
	while (rc == 0 && !g->ended) {
		size_t got;
		rc = gz_read(g, NULL, GZIO_SCRATCH, &got, 1);
	}
	if (rc == 0) {
		uint64_t used = g->in_off - g->zs.avail_in;
		if (used < g->src_size)
			vstd_warn("ova",
			          "%s: %" PRIu64 " bytes after the end of the gzip data ignored",
			          g->name, g->src_size - used);
		g->total = g->cur_out;
		rc = vstd_io_new(out, &gz_methods, g, g->name);
	}
	if (rc < 0) {
		gz_free(g);
		return rc;
	}
	return 0;
}
