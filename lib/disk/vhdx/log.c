/*
 * disk/vhdx/log.c - the VHDX metadata log: finding the active sequence,
 * replaying it (in the file, or in memory for a read-only open), and
 * writing metadata changes through it.
 *
 * An entry is a 4 KiB header sector ("loge", CRC-32C of the whole entry,
 * length, tail, sequence number, descriptor count, log GUID, flushed and
 * last file offsets), descriptors of 32 bytes ("desc": a 4 KiB page to
 * write, "zero": a range to zero), padded to 4 KiB, then one 4 KiB "data"
 * sector per data descriptor.  A data sector keeps bytes 8-4091 of the
 * page; the first 8 and last 4 bytes live in the descriptor.  The log is
 * circular; entries carry consecutive sequence numbers; the newest valid
 * entry whose GUID matches the header's log GUID is the head, and its tail
 * field names the first entry of the active sequence.
 *
 * Writes in the log are hostile: each must lie past the first MiB and
 * inside the entry's last-file-offset, which may grow the file by at most
 * VHDX_MAX_GROWTH.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "disk/vhdx/vhdx_internal.h"

#define LOG_PAGE 4096u
#define VHDX_MAX_GROWTH ((uint64_t)1 << 40)

void vhdx_log_replay_clear(struct vhdx_log_replay *r)
{
	for (size_t i = 0; i < r->n; i++)
		vstd_free(r->w[i].data);
	vstd_free(r->w);
	memset(r, 0, sizeof(*r));
}

struct log_ctx {
	vstd_disk *d;
	struct vhdx_state *s;
	vstd_io *io;
	uint64_t file_size;
	uint8_t *buf; /* one entry */
	size_t cap;
};

/* Read `len` bytes of the circular log starting at log offset `o`. */
static int log_read(struct log_ctx *c, uint64_t o, uint8_t *out, uint64_t len)
{
	uint64_t L = c->s->hdr.log_length;
	while (len > 0) {
		uint64_t n = L - o < len ? L - o : len;
		int rc = vstd_io_pread(c->io, out, (size_t)n, c->s->hdr.log_offset + o);
		if (rc < 0)
			return rc;
		out += n;
		len -= n;
		o = 0;
	}
	return 0;
}

/* Validate the entry at log offset o; on success c->buf holds it. */
static int entry_valid(struct log_ctx *c, uint64_t o, uint64_t *seq, uint64_t *len, uint32_t *tail)
{
	uint8_t h[LOG_PAGE];
	uint64_t L = c->s->hdr.log_length, elen, sq, pages;
	uint32_t count, ndata = 0, desc_pages;
	if (log_read(c, o, h, LOG_PAGE) < 0)
		return 0;
	if (vstd_le32(h) != VHDX_SIG_LOGE || memcmp(h + 32, c->s->hdr.log_guid.b, 16) != 0)
		return 0;
	elen = vstd_le32(h + 8);
	sq = vstd_le64(h + 16);
	count = vstd_le32(h + 24);
	if (elen < LOG_PAGE || elen % LOG_PAGE || elen > L || vstd_le32(h + 12) % LOG_PAGE ||
	    vstd_le32(h + 12) >= L)
		return 0;
	pages = elen / LOG_PAGE;
	desc_pages = (uint32_t)((64 + 32 * (uint64_t)count + LOG_PAGE - 1) / LOG_PAGE);
	if (desc_pages > pages)
		return 0;
	if (c->cap < elen) {
		vstd_free(c->buf);
		c->buf = vstd_malloc((size_t)elen);
		c->cap = c->buf ? (size_t)elen : 0;
		if (c->buf == NULL)
			return 0;
	}
	if (log_read(c, o, c->buf, elen) < 0)
		return 0;
	if (vstd_le32(c->buf + 4) != vhdx_crc32c_skip(c->buf, (size_t)elen, 4))
		return 0;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *de = c->buf + 64 + 32 * (size_t)i;
		uint32_t sig = vstd_le32(de);
		if (vstd_le64(de + 24) != sq || vstd_le64(de + 16) % LOG_PAGE)
			return 0;
		if (sig == VHDX_SIG_DESC) {
			const uint8_t *ds;
			ndata++;
			if (desc_pages + ndata > pages)
				return 0;
			ds = c->buf + (size_t)(desc_pages + ndata - 1) * LOG_PAGE;
			if (vstd_le32(ds) != VHDX_SIG_DATA ||
			    (((uint64_t)vstd_le32(ds + 4) << 32) | vstd_le32(ds + 4092)) != sq)
				return 0;
		} else if (sig == VHDX_SIG_ZERO) {
			if (vstd_le64(de + 8) % LOG_PAGE)
				return 0;
		} else {
			return 0;
		}
	}
	if (desc_pages + ndata != pages)
		return 0;
	*seq = sq;
	*len = elen;
	*tail = vstd_le32(h + 12);
	return 1;
}

static int add_write(struct log_ctx *c, struct vhdx_log_replay *r, uint64_t off, uint64_t len,
                     const uint8_t *data, uint64_t last)
{
	uint64_t end;
	if (off < VHDX_MIB || vstd_add_overflow_u64(off, len, &end) || end > last ||
	    last > c->file_size + VHDX_MAX_GROWTH)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VHDX log entry writes %" PRIu64 " bytes at "
		                "offset 0x%" PRIx64 ", outside the file (first MiB, or past its "
		                "last file offset 0x%" PRIx64 ")",
		                c->d->filename, len, off, last);
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 64;
		struct vhdx_log_write *nw = vstd_realloc_array(r->w, nc, sizeof(*nw));
		if (nw == NULL)
			return vstd_err_code();
		r->w = nw;
		r->cap = nc;
	}
	r->w[r->n].off = off;
	r->w[r->n].len = len;
	r->w[r->n].data = NULL;
	if (data != NULL) {
		r->w[r->n].data = vstd_malloc(LOG_PAGE);
		if (r->w[r->n].data == NULL)
			return vstd_err_code();
		memcpy(r->w[r->n].data, data, LOG_PAGE);
	}
	r->n++;
	return 0;
}

/* Turn the validated entry in c->buf into writes. */
static int collect(struct log_ctx *c, struct vhdx_log_replay *r)
{
	uint32_t count = vstd_le32(c->buf + 24), ndata = 0;
	uint32_t desc_pages = (uint32_t)((64 + 32 * (uint64_t)count + LOG_PAGE - 1) / LOG_PAGE);
	uint64_t last = vstd_le64(c->buf + 56), flushed = vstd_le64(c->buf + 48);
	uint8_t page[LOG_PAGE];
	int rc;
	if (last > r->last_file_offset)
		r->last_file_offset = last;
	if (flushed > r->flushed_file_offset)
		r->flushed_file_offset = flushed;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *de = c->buf + 64 + 32 * (size_t)i;
		if (vstd_le32(de) == VHDX_SIG_DESC) {
			const uint8_t *ds = c->buf + (size_t)(desc_pages + ndata++) * LOG_PAGE;
			memcpy(page, de + 8, 8);
			memcpy(page + 8, ds + 8, 4084);
			memcpy(page + 4092, de + 4, 4);
			rc = add_write(c, r, vstd_le64(de + 16), LOG_PAGE, page, last);
		} else {
			rc = add_write(c, r, vstd_le64(de + 16), vstd_le64(de + 8), NULL, last);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

int vhdx_log_find(vstd_disk *d, struct vhdx_state *s, vstd_io *io, uint64_t file_size,
                  struct vhdx_log_replay *out)
{
	struct log_ctx c = {d, s, io, file_size, NULL, 0};
	uint64_t L = s->hdr.log_length, best_seq = 0, best_off = 0, seq, len;
	uint32_t tail, best_tail = 0;
	int found = 0, rc = 0;
	memset(out, 0, sizeof(*out));
	if (vhdx_guid_is_zero(&s->hdr.log_guid) || L == 0)
		return 0;
	if (L > VHDX_MAX_LOG)
		return vstd_err(VSTD_ELIMIT,
		                "%s: VHDX log of %" PRIu64 " bytes is above the %" PRIu64
		                " byte limit",
		                d->filename, L, VHDX_MAX_LOG);
	for (uint64_t o = 0; o < L; o += LOG_PAGE) {
		if (entry_valid(&c, o, &seq, &len, &tail) && (!found || seq > best_seq)) {
			found = 1;
			best_seq = seq;
			best_off = o;
			best_tail = tail;
		}
	}
	if (!found)
		goto done; /* a GUID but no entry: nothing to replay */
	{
		/* walk tail -> head */
		uint64_t o = best_tail, expect = 0;
		uint64_t steps = 0;
		for (;;) {
			if (!entry_valid(&c, o, &seq, &len, &tail) || (steps && seq != expect) ||
			    ++steps > L / LOG_PAGE) {
				rc = vstd_err(VSTD_ECORRUPT,
				              "%s: VHDX log: the active sequence from "
				              "offset 0x%x to the head at 0x%" PRIx64
				              " (sequence %" PRIu64 ") is broken",
				              d->filename, best_tail, best_off, best_seq);
				break;
			}
			if ((rc = collect(&c, out)) < 0)
				break;
			if (o == best_off)
				break;
			expect = seq + 1;
			o = (o + len) % L;
		}
	}
	out->seq = best_seq;
done:
	vstd_free(c.buf);
	if (rc < 0)
		vhdx_log_replay_clear(out);
	return rc;
}

int vhdx_log_apply(vstd_disk *d, struct vhdx_state *s, const struct vhdx_log_replay *r)
{
	uint64_t size;
	int rc = 0;
	for (size_t i = 0; i < r->n && rc == 0; i++) {
		if (r->w[i].data != NULL)
			rc = vstd_io_pwrite(s->io, r->w[i].data, (size_t)r->w[i].len, r->w[i].off);
		else
			rc = vstd_io_write_zeroes(s->io, r->w[i].off, r->w[i].len, 0);
	}
	if (rc == 0)
		rc = vstd_io_flush(s->io);
	if (rc == 0 && (rc = vstd_io_size(s->io, &size)) == 0 && size < r->last_file_offset)
		rc = vstd_io_truncate(s->io, r->last_file_offset);
	if (rc == 0) {
		memset(&s->hdr.log_guid, 0, sizeof(s->hdr.log_guid));
		rc = vhdx_header_update(d, s);
	}
	if (rc == 0)
		vstd_info("vhdx", "%s: replayed %zu log writes", d->filename, r->n);
	return rc;
}

/* ---- read-only replay: an I/O object showing the file as replayed ---- */

struct overlay {
	vstd_io *base;
	const struct vhdx_log_replay *r;
};

static int ov_pread(void *self, void *buf, size_t len, uint64_t off, size_t *done)
{
	struct overlay *o = self;
	uint64_t size = o->r->last_file_offset;
	size_t got = 0;
	int rc = vstd_io_pread_partial(o->base, buf, len, off, &got);
	if (rc < 0)
		return rc;
	if (got < len && off + got < size) {
		size_t more = (size_t)(size - off - got < len - got ? size - off - got : len - got);
		memset((uint8_t *)buf + got, 0, more);
		got += more;
	}
	for (size_t i = 0; i < o->r->n; i++) {
		const struct vhdx_log_write *w = &o->r->w[i];
		uint64_t a = w->off > off ? w->off : off;
		uint64_t b = w->off + w->len < off + got ? w->off + w->len : off + got;
		if (a >= b)
			continue;
		if (w->data != NULL)
			memcpy((uint8_t *)buf + (a - off), w->data + (a - w->off), (size_t)(b - a));
		else
			memset((uint8_t *)buf + (a - off), 0, (size_t)(b - a));
	}
	*done = got;
	return 0;
}

static int ov_pwrite(void *self, const void *buf, size_t len, uint64_t off)
{
	return vstd_err(VSTD_EPERM, "VHDX log replay view is read-only");
}

static int ov_size(void *self, uint64_t *size)
{
	struct overlay *o = self;
	int rc = vstd_io_size(o->base, size);
	if (rc == 0 && *size < o->r->last_file_offset)
		*size = o->r->last_file_offset;
	return rc;
}

static void ov_close(void *self)
{
	vstd_free(self);
}

static const vstd_io_methods overlay_methods = {
        .version = VSTD_IO_METHODS_VERSION,
        .kind = "vhdx-replay",
        .pread = ov_pread,
        .pwrite = ov_pwrite,
        .size = ov_size,
        .close = ov_close,
};

int vhdx_log_overlay(vstd_disk *d, struct vhdx_state *s)
{
	struct overlay *o = vstd_calloc(1, sizeof(*o));
	int rc;
	if (o == NULL)
		return vstd_err_code();
	o->base = d->io;
	o->r = &s->replayed;
	rc = vstd_io_new(&s->overlay, &overlay_methods, o, d->filename);
	if (rc < 0) {
		vstd_free(o);
		return rc;
	}
	s->io = s->overlay;
	return 0;
}

/* ---- writing through the log ---- */

#define DESC_PER_ENTRY 126u /* (4096 - 64) / 32: one descriptor page */

int vhdx_log_write(vstd_disk *d, struct vhdx_state *s, const uint64_t *offs, uint8_t *const *pages,
                   size_t n)
{
	uint64_t L = s->hdr.log_length, size;
	uint8_t *entry = NULL;
	int rc = 0;
	if (n == 0)
		return 0;
	if (L < 2 * LOG_PAGE)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VHDX image has no log to write metadata through", d->filename);
	/* data before the metadata that points to it */
	if ((rc = vstd_io_flush(s->io)) < 0 || (rc = vstd_io_size(s->io, &size)) < 0)
		return rc;
	if (vhdx_guid_is_zero(&s->hdr.log_guid)) {
		vhdx_guid_random(&s->hdr.log_guid);
		s->log_seq = 0;
		if ((rc = vhdx_header_update(d, s)) < 0)
			return rc;
	}
	entry = vstd_malloc((size_t)(LOG_PAGE * (DESC_PER_ENTRY + 1)));
	if (entry == NULL)
		return vstd_err_code();
	while (n > 0 && rc == 0) {
		/* one batch: entries from log offset 0 while they fit */
		uint64_t o = 0;
		size_t batch_start_n = n;
		const uint64_t *boffs = offs;
		uint8_t *const *bpages = pages;
		while (n > 0) {
			size_t k = n < DESC_PER_ENTRY ? n : DESC_PER_ENTRY;
			uint64_t elen = LOG_PAGE * (uint64_t)(k + 1), seq;
			if (o + elen > L) {
				if (o == 0)
					k = (size_t)(L / LOG_PAGE - 1);
				else
					break;
				elen = LOG_PAGE * (uint64_t)(k + 1);
			}
			seq = ++s->log_seq;
			memset(entry, 0, (size_t)elen);
			vstd_put_le32(entry, VHDX_SIG_LOGE);
			vstd_put_le32(entry + 8, (uint32_t)elen);
			vstd_put_le32(entry + 12, 0); /* tail: the batch starts at 0 */
			vstd_put_le64(entry + 16, seq);
			vstd_put_le32(entry + 24, (uint32_t)k);
			memcpy(entry + 32, s->hdr.log_guid.b, 16);
			vstd_put_le64(entry + 48, size);
			vstd_put_le64(entry + 56, size);
			for (size_t i = 0; i < k; i++) {
				uint8_t *de = entry + 64 + 32 * i, *ds = entry + LOG_PAGE * (i + 1);
				vstd_put_le32(de, VHDX_SIG_DESC);
				memcpy(de + 4, pages[i] + 4092, 4);
				memcpy(de + 8, pages[i], 8);
				vstd_put_le64(de + 16, offs[i]);
				vstd_put_le64(de + 24, seq);
				vstd_put_le32(ds, VHDX_SIG_DATA);
				vstd_put_le32(ds + 4, (uint32_t)(seq >> 32));
				memcpy(ds + 8, pages[i] + 8, 4084);
				vstd_put_le32(ds + 4092, (uint32_t)seq);
			}
			vstd_put_le32(entry + 4, vhdx_crc32c(entry, (size_t)elen));
			if ((rc = vstd_io_pwrite(s->io, entry, (size_t)elen,
			                         s->hdr.log_offset + o)) < 0)
				break;
			o += elen;
			offs += k;
			pages += k;
			n -= k;
		}
		if (rc < 0 || (rc = vstd_io_flush(s->io)) < 0)
			break;
		/* now in place */
		for (size_t i = 0; i < batch_start_n - n && rc == 0; i++)
			rc = vstd_io_pwrite(s->io, bpages[i], LOG_PAGE, boffs[i]);
		if (rc == 0)
			rc = vstd_io_flush(s->io);
	}
	vstd_free(entry);
	return rc;
}
