/*
 * disk/qcow2/check.c - consistency check and repair.
 *
 * The check rebuilds every cluster's expected refcount by walking all
 * metadata (header, L1 tables of the image and its snapshots, L2 tables,
 * data and compressed clusters, refcount table and blocks, snapshot table,
 * bitmap directory and tables, encryption header) and compares it with the
 * stored refcounts:
 *   stored > expected: a leak (space wasted; -r leaks lowers the count);
 *   stored < expected: a corruption (-r all raises the count, which can
 *                      only turn the problem into a leak);
 * then it compares the COPIED flags of the active tables with the stored
 * refcounts (-r all rewrites the flags).  Problems it cannot prove safe to
 * fix (references past the end of the file, unaligned offsets, unreadable
 * refcount blocks) are reported and left alone.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/qcow2/qcow2.h"

#define MAX_REPORT_LINES 200
#define MAX_CHECK_CLUSTERS ((uint64_t)1 << 28)

struct chk {
	struct qcow2 *s;
	vstd_disk_check_result *res;
	uint32_t *ref;
	uint64_t n; /* clusters covered by ref */
	uint64_t fsize;
	char *report;
	size_t rlen;
	unsigned lines;
	uint8_t *bad_block; /* refcount table entries we cannot use */
	uint64_t next_contig;
	int incomplete; /* some structure could not be walked: its clusters look free */
};

static void say(struct chk *c, const char *fmt, ...) VSTD_PRINTF(2, 3);
static void say(struct chk *c, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	size_t n;
	char *r;
	if (c->lines >= MAX_REPORT_LINES)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->lines++;
	if (c->lines == MAX_REPORT_LINES)
		snprintf(line, sizeof(line), "(more problems not listed)");
	n = strlen(line);
	r = vstd_realloc(c->report, c->rlen + n + 2);
	if (r == NULL)
		return;
	memcpy(r + c->rlen, line, n);
	r[c->rlen + n] = '\n';
	r[c->rlen + n + 1] = '\0';
	c->rlen += n + 1;
	c->report = r;
}

static void corrupt(struct chk *c)
{
	c->res->corruptions++;
}

/* Count a reference to [off, off+len). */
static void count(struct chk *c, uint64_t off, uint64_t len, const char *what)
{
	struct qcow2 *s = c->s;
	uint64_t first, last;
	if (len == 0)
		return;
	if (off + len < off || off + len > qcow2_align(s, c->fsize)) {
		say(c, "ERROR %s at 0x%" PRIx64 " (%" PRIu64 " bytes) is past the end of the file",
		    what, off, len);
		corrupt(c);
		return;
	}
	first = off >> s->cluster_bits;
	last = (off + len - 1) >> s->cluster_bits;
	for (uint64_t i = first; i <= last && i < c->n; i++)
		if (c->ref[i] != UINT32_MAX)
			c->ref[i]++;
}

static int walk_l2(struct chk *c, uint64_t l2_off, int active)
{
	struct qcow2 *s = c->s;
	uint8_t *l2;
	int rc;
	for (uint64_t i = 0; i < s->l2_entries; i++) {
		uint64_t e, bm, host;
		if ((rc = qcow2_cache_get(s, &s->l2c, l2_off, 0, &l2)) < 0)
			return rc;
		e = qcow2_l2e_get(s, l2, i);
		bm = qcow2_l2e_bitmap(s, l2, i);
		if (e & QCOW2_OFLAG_COMPRESSED) {
			uint64_t co, nb;
			if (s->data_io != s->io || bm != 0) {
				say(c,
				    "ERROR L2 table 0x%" PRIx64 " entry %" PRIu64
				    ": invalid compressed cluster",
				    l2_off, i);
				corrupt(c);
				continue;
			}
			co = e & (((uint64_t)1 << s->csize_shift) - 1) & ~(uint64_t)511;
			nb = ((e >> s->csize_shift) & s->csize_mask) + 1;
			count(c, co, nb * 512, "compressed cluster");
			if (active) {
				c->res->allocated_clusters++;
				c->res->compressed_clusters++;
			}
			continue;
		}
		host = e & QCOW2_L2E_OFFSET_MASK;
		if (s->ext_l2 && ((uint32_t)bm & (uint32_t)(bm >> 32))) {
			say(c,
			    "ERROR L2 table 0x%" PRIx64 " entry %" PRIu64
			    ": subcluster both allocated and zero",
			    l2_off, i);
			corrupt(c);
		}
		if (host == 0)
			continue;
		if (host & (s->cluster_size - 1)) {
			say(c,
			    "ERROR L2 table 0x%" PRIx64 " entry %" PRIu64
			    ": unaligned cluster offset 0x%" PRIx64,
			    l2_off, i, host);
			corrupt(c);
			continue;
		}
		if (active) {
			c->res->allocated_clusters++;
			if (c->next_contig != 0 && host != c->next_contig)
				c->res->fragmented_clusters++;
			c->next_contig = host + s->cluster_size;
		}
		if (s->data_io == s->io)
			count(c, host, s->cluster_size, "data cluster");
	}
	return 0;
}

static int walk_l1(struct chk *c, const uint64_t *l1, uint32_t l1_size, int active)
{
	struct qcow2 *s = c->s;
	for (uint32_t k = 0; k < l1_size; k++) {
		uint64_t l2_off = l1[k] & QCOW2_L1E_OFFSET_MASK;
		int rc;
		if (l2_off == 0)
			continue;
		if ((l2_off & (s->cluster_size - 1)) || l2_off + s->cluster_size > c->fsize) {
			say(c,
			    "ERROR L1 entry %u: L2 table at 0x%" PRIx64
			    " is unaligned or past the end of the file",
			    k, l2_off);
			corrupt(c);
			c->incomplete = 1;
			continue;
		}
		count(c, l2_off, s->cluster_size, "L2 table");
		if ((rc = walk_l2(c, l2_off, active)) < 0) {
			say(c, "ERROR L2 table at 0x%" PRIx64 " cannot be read", l2_off);
			c->res->check_errors++;
			c->incomplete = 1;
		}
	}
	return 0;
}

static void walk_bitmaps(struct chk *c)
{
	struct qcow2 *s = c->s;
	uint8_t *dir;
	uint64_t pos = 0;
	/* with the autoclear bit clear the extension is stale and ignored,
	 * as qemu does (its clusters then show as leaks) */
	if (!s->has_bitmaps_ext || s->bm_dir_size == 0 || !(s->autoclear & QCOW2_AUTOCLEAR_BITMAPS))
		return;
	if (s->bm_dir_size > ((uint64_t)64 << 20) || s->bm_dir_off + s->bm_dir_size > c->fsize ||
	    s->bm_dir_off + s->bm_dir_size < s->bm_dir_off) {
		say(c, "ERROR bitmap directory at 0x%" PRIx64 " is invalid", s->bm_dir_off);
		corrupt(c);
		c->incomplete = 1;
		return;
	}
	count(c, s->bm_dir_off, s->bm_dir_size, "bitmap directory");
	dir = vstd_malloc(s->bm_dir_size);
	if (dir == NULL || vstd_io_pread(s->io, dir, s->bm_dir_size, s->bm_dir_off) < 0) {
		vstd_free(dir);
		c->res->check_errors++;
		c->incomplete = 1;
		return;
	}
	while (pos + 24 <= s->bm_dir_size) {
		uint64_t toff = vstd_be64(dir + pos);
		uint32_t tsize = vstd_be32(dir + pos + 8), extra = vstd_be32(dir + pos + 20);
		uint16_t nlen = vstd_be16(dir + pos + 18);
		if ((uint64_t)tsize * 8 <= ((uint64_t)64 << 20) && toff != 0 &&
		    toff + (uint64_t)tsize * 8 <= c->fsize) {
			uint8_t *t = vstd_malloc((uint64_t)tsize * 8 + 1);
			count(c, toff, (uint64_t)tsize * 8, "bitmap table");
			if (t != NULL && vstd_io_pread(s->io, t, (uint64_t)tsize * 8, toff) == 0)
				for (uint32_t j = 0; j < tsize; j++) {
					uint64_t o = vstd_be64(t + 8 * (uint64_t)j) &
					             QCOW2_L2E_OFFSET_MASK;
					if (o)
						count(c, o, s->cluster_size, "bitmap data");
				}
			vstd_free(t);
		}
		pos += vstd_align_up(24 + (uint64_t)extra + nlen, 8);
	}
	vstd_free(dir);
}

/*
 * -r all, before the walk: entries whose target cannot exist (unaligned,
 * or past the end of the file) are rewritten so the cluster reads as
 * zeroes, where the format can say that without changing anything else:
 *   - a zero entry that keeps an (impossible) host cluster becomes a plain
 *     zero entry (reads the same; qemu-img does this too);
 *   - extended L2: allocated subclusters become zero subclusters, zero and
 *     backing ones stay as they are;
 *   - a compressed entry with a subcluster bitmap gets the bitmap cleared
 *     (the data stays readable);
 *   - a data cluster (its data is unrecoverable: reading it fails) or a
 *     compressed one past the end becomes a zero cluster (version 3) or
 *     unallocated (version 2 without a backing file); with a version 2
 *     image over a backing file nothing reads as zeroes, so it is left;
 *   - an L1 entry naming an impossible L2 table gets a fresh table of zero
 *     entries (version 3), or 0 (version 2 without a backing file).
 * Done before the walk, so what it allocates is counted like the rest.
 */
static int fix_l2(struct chk *c, uint64_t l2_off, uint64_t end)
{
	struct qcow2 *s = c->s;
	int backing = s->d->backing_name != NULL, rc;
	for (uint64_t i = 0; i < s->l2_entries; i++) {
		uint8_t *l2;
		uint64_t e, bm, host, ne, nbm;
		const char *what;
		if ((rc = qcow2_cache_get(s, &s->l2c, l2_off, 0, &l2)) < 0)
			return rc;
		e = qcow2_l2e_get(s, l2, i);
		bm = qcow2_l2e_bitmap(s, l2, i);
		nbm = bm;
		if (s->data_io != s->io)
			return 0;
		if (e & QCOW2_OFLAG_COMPRESSED) {
			uint64_t co = e & (((uint64_t)1 << s->csize_shift) - 1) & ~(uint64_t)511;
			uint64_t nb = ((e >> s->csize_shift) & s->csize_mask) + 1;
			if (co + nb * 512 <= end || co == 0) {
				if (bm == 0)
					continue;
				ne = e;
				nbm = 0;
				what = "compressed cluster with a subcluster bitmap: bitmap "
				       "cleared";
			} else if (s->version >= 3) {
				ne = s->ext_l2 ? 0 : QCOW2_OFLAG_ZERO;
				nbm = s->ext_l2 ? 0xffffffff00000000ull : 0;
				what = "compressed data past the end of the file: lost, reads as "
				       "zeroes";
			} else if (!backing) {
				ne = 0;
				what = "compressed data past the end of the file: lost, reads as "
				       "zeroes";
			} else {
				continue;
			}
		} else {
			host = e & QCOW2_L2E_OFFSET_MASK;
			if (host == 0 ||
			    (!(host & (s->cluster_size - 1)) && host + s->cluster_size <= end))
				continue;
			if (s->ext_l2) {
				ne = 0;
				nbm = ((uint64_t)((uint32_t)bm | (uint32_t)(bm >> 32))) << 32;
				what = (uint32_t)bm
				               ? "cluster unaligned or past the end of the file: "
				                 "its subclusters' data is lost, they read as "
				                 "zeroes"
				               : "cluster unaligned or past the end of the file "
				                 "(no data in it): offset dropped";
			} else if ((e & QCOW2_OFLAG_ZERO) && s->version >= 3) {
				ne = QCOW2_OFLAG_ZERO;
				what = "preallocated zero cluster unaligned or past the end of the "
				       "file: now a plain zero cluster";
			} else if (s->version >= 3 || !backing) {
				ne = s->version >= 3 ? QCOW2_OFLAG_ZERO : 0;
				what = "data cluster unaligned or past the end of the file: its "
				       "data is "
				       "lost, it reads as zeroes";
			} else {
				continue;
			}
		}
		say(c, "Repairing L2 table 0x%" PRIx64 " entry %" PRIu64 " (0x%" PRIx64 "): %s",
		    l2_off, i, e, what);
		if ((rc = qcow2_cache_get(s, &s->l2c, l2_off, 0, &l2)) < 0)
			return rc;
		qcow2_l2e_set(s, l2, i, ne, nbm);
		qcow2_cache_mark_dirty(&s->l2c, l2_off);
		s->meta_dirty = 1;
		c->res->corruptions_fixed++;
	}
	return 0;
}

static int fix_entries(struct chk *c)
{
	struct qcow2 *s = c->s;
	uint64_t end = qcow2_align(s, c->fsize);
	int backing = s->d->backing_name != NULL, rc;
	for (uint32_t k = 0; k < s->l1_size; k++) {
		uint64_t l2_off = s->l1[k] & QCOW2_L1E_OFFSET_MASK, nw;
		uint8_t *t;
		if (l2_off == 0)
			continue;
		if (!(l2_off & (s->cluster_size - 1)) && l2_off + s->cluster_size <= end) {
			if ((rc = fix_l2(c, l2_off, end)) < 0)
				return rc;
			continue;
		}
		if (s->version >= 3) {
			if ((rc = qcow2_alloc_clusters(s, 1, &nw)) < 0 ||
			    (rc = qcow2_cache_get(s, &s->l2c, nw, 1, &t)) < 0)
				return rc;
			for (uint64_t i = 0; i < s->l2_entries; i++)
				qcow2_l2e_set(s, t, i, s->ext_l2 ? 0 : QCOW2_OFLAG_ZERO,
				              s->ext_l2 ? 0xffffffff00000000ull : 0);
			qcow2_cache_mark_dirty(&s->l2c, nw);
			qcow2_l1_set(s, k, nw | QCOW2_OFLAG_COPIED);
		} else if (!backing) {
			qcow2_l1_set(s, k, 0);
		} else {
			continue;
		}
		say(c,
		    "Repairing L1 entry %u: L2 table at 0x%" PRIx64 " is unaligned or past the end "
		    "of the file; the data it mapped is lost and reads as zeroes",
		    k, l2_off);
		c->res->corruptions_fixed++;
	}
	/* snapshots' L2 tables (their L1 tables are left as they are) */
	for (uint32_t n = 0; n < s->nb_snapshots; n++) {
		uint64_t *l1 = NULL;
		if (qcow2_l1_load(s, s->snaps[n].l1_off, s->snaps[n].l1_size, c->fsize, &l1,
		                  "snapshot L1 table") < 0)
			continue;
		for (uint32_t k = 0; k < s->snaps[n].l1_size; k++) {
			uint64_t l2_off = l1[k] & QCOW2_L1E_OFFSET_MASK;
			if (l2_off == 0 || (l2_off & (s->cluster_size - 1)) ||
			    l2_off + s->cluster_size > end)
				continue;
			if ((rc = fix_l2(c, l2_off, end)) < 0) {
				vstd_free(l1);
				return rc;
			}
		}
		vstd_free(l1);
	}
	if ((rc = qcow2_flush_metadata(s)) < 0)
		return rc;
	return vstd_io_size(s->io, &c->fsize);
}

/* Stored refcount, or UINT64_MAX when its block is unusable. */
static int stored(struct chk *c, uint64_t cl, uint64_t *v)
{
	uint64_t b = cl >> c->s->rb_bits;
	if (b < c->s->rt_entries && c->bad_block[b]) {
		*v = UINT64_MAX;
		return 0;
	}
	return qcow2_refcount_get(c->s, cl, v);
}

static int check_copied(struct chk *c, int repair)
{
	struct qcow2 *s = c->s;
	uint64_t fixes = 0;
	int rc;
	for (uint32_t k = 0; k < s->l1_size; k++) {
		uint64_t l2_off = s->l1[k] & QCOW2_L1E_OFFSET_MASK, r;
		if (l2_off == 0 || (l2_off & (s->cluster_size - 1)) ||
		    l2_off + s->cluster_size > c->fsize)
			continue;
		if ((rc = stored(c, l2_off >> s->cluster_bits, &r)) < 0)
			return rc;
		if (r != UINT64_MAX && (r == 1) != ((s->l1[k] & QCOW2_OFLAG_COPIED) != 0)) {
			say(c, "ERROR OFLAG_COPIED L2 table at 0x%" PRIx64 ": refcount=%" PRIu64,
			    l2_off, r);
			fixes++;
		}
		for (uint64_t i = 0; i < s->l2_entries; i++) {
			uint8_t *l2;
			uint64_t e, host;
			if ((rc = qcow2_cache_get(s, &s->l2c, l2_off, 0, &l2)) < 0)
				break;
			e = qcow2_l2e_get(s, l2, i);
			host = e & QCOW2_L2E_OFFSET_MASK;
			if ((e & QCOW2_OFLAG_COMPRESSED) || host == 0 || s->data_io != s->io ||
			    (host & (s->cluster_size - 1)) || host >= c->fsize)
				continue;
			if ((rc = stored(c, host >> s->cluster_bits, &r)) < 0)
				return rc;
			if (r != UINT64_MAX && (r == 1) != ((e & QCOW2_OFLAG_COPIED) != 0)) {
				say(c,
				    "ERROR OFLAG_COPIED data cluster: l2_entry=%" PRIx64
				    " refcount=%" PRIu64,
				    e, r);
				fixes++;
			}
		}
	}
	if (fixes == 0)
		return 0;
	if (repair) {
		if ((rc = qcow2_update_tree(s, s->l1, s->l1_size, 0, 1)) < 0)
			return rc;
		c->res->corruptions_fixed += fixes;
	} else {
		c->res->corruptions += fixes;
	}
	return 0;
}

int qcow2_check(vstd_disk *d, unsigned flags, vstd_disk_check_result *res)
{
	struct qcow2 *s = qcow2_of(d);
	struct chk c;
	uint64_t end = 0, scan;
	int rc, repair_leaks = (flags & VSTD_CHECK_REPAIR_LEAKS) && s->writable;
	int repair_errors = (flags & VSTD_CHECK_REPAIR_ERRORS) && s->writable;
	if (s->parent != NULL)
		return vstd_err(VSTD_ENOTSUP, "%s: cannot check a snapshot view", s->name);
	memset(&c, 0, sizeof(c));
	c.s = s;
	c.res = res;
	if ((rc = qcow2_flush_metadata(s)) < 0 || (rc = vstd_io_size(s->io, &c.fsize)) < 0)
		return rc;
	if (repair_errors && (rc = fix_entries(&c)) < 0) {
		vstd_free(c.report);
		return rc;
	}
	c.n = qcow2_size_to_clusters(s, c.fsize);
	if (c.n > MAX_CHECK_CLUSTERS) {
		vstd_free(c.report);
		return vstd_err(VSTD_ELIMIT, "%s: too many clusters to check (%" PRIu64 ")",
		                s->name, c.n);
	}
	c.ref = vstd_calloc(c.n ? c.n : 1, sizeof(uint32_t));
	c.bad_block = vstd_calloc(s->rt_entries ? s->rt_entries : 1, 1);
	if (c.ref == NULL || c.bad_block == NULL) {
		rc = vstd_err_code();
		goto out;
	}
	/* the fixed structures */
	count(&c, 0, s->cluster_size, "header");
	count(&c, s->l1_off, (uint64_t)s->l1_size * 8, "L1 table");
	count(&c, s->rt_off, (uint64_t)s->rt_clusters << s->cluster_bits, "refcount table");
	for (uint64_t b = 0; b < s->rt_entries; b++) {
		uint64_t o = s->rt[b] & QCOW2_REFT_OFFSET_MASK;
		if (o == 0)
			continue;
		if ((o & (s->cluster_size - 1)) || o + s->cluster_size > qcow2_align(s, c.fsize)) {
			say(&c,
			    "ERROR refcount block %" PRIu64 " at 0x%" PRIx64
			    " is unaligned or past the end of the file",
			    b, o);
			corrupt(&c);
			c.bad_block[b] = 1;
			continue;
		}
		count(&c, o, s->cluster_size, "refcount block");
	}
	if (s->has_crypto_ext)
		count(&c, s->crypto_off, s->crypto_len, "encryption header");
	walk_bitmaps(&c);
	walk_l1(&c, s->l1, s->l1_size, 1);
	if (s->nb_snapshots > 0) {
		uint64_t len = 0;
		for (uint32_t i = 0; i < s->nb_snapshots; i++) {
			struct qcow2_snapshot *sn = &s->snaps[i];
			uint64_t *l1 = NULL;
			len += vstd_align_up(
			        40 + sn->extra_size + strlen(sn->id) + strlen(sn->name), 8);
			count(&c, sn->l1_off, (uint64_t)sn->l1_size * 8, "snapshot L1 table");
			if (qcow2_l1_load(s, sn->l1_off, sn->l1_size, c.fsize, &l1, "snapshot L1") <
			    0) {
				say(&c, "ERROR snapshot %s: L1 table cannot be read", sn->id);
				corrupt(&c);
				c.incomplete = 1;
				continue;
			}
			walk_l1(&c, l1, sn->l1_size, 0);
			vstd_free(l1);
		}
		count(&c, s->snapshots_off, len, "snapshot table");
	}
	/* compare with the stored refcounts */
	if ((rc = qcow2_image_end(s, &end)) < 0) {
		/* an unreadable block: compare what we can */
		end = c.fsize;
	}
	scan = qcow2_size_to_clusters(s, end);
	if (scan < c.n)
		scan = c.n;
	if (repair_leaks && c.incomplete) {
		/* clusters under the unwalked structure would look leaked:
		 * freeing them could destroy data */
		say(&c, "Leaks are not repaired: some metadata could not be walked");
		repair_leaks = 0;
	}
	/* leaked clusters freed by the repair go back to the host file */
	s->free_punch = repair_leaks;
	for (uint64_t i = 0; i < scan; i++) {
		uint64_t want = i < c.n ? c.ref[i] : 0, have;
		if ((rc = stored(&c, i, &have)) < 0) {
			c.res->check_errors++;
			say(&c, "ERROR cannot read the refcount of cluster %" PRIu64, i);
			i = ((i >> s->rb_bits) + 1) << s->rb_bits;
			i--;
			continue;
		}
		if (have == UINT64_MAX || have == want)
			continue;
		if (have > want) {
			if (repair_leaks && qcow2_refcount_update(s, i << s->cluster_bits, 1,
			                                          -(int64_t)(have - want)) == 0) {
				res->leaks_fixed++;
			} else {
				say(&c,
				    "Leaked cluster %" PRIu64 " refcount=%" PRIu64
				    " reference=%" PRIu64,
				    i, have, want);
				res->leaks++;
			}
		} else {
			if (repair_errors && want <= s->refcount_max &&
			    qcow2_refcount_update(s, i << s->cluster_bits, 1,
			                          (int64_t)(want - have)) == 0) {
				res->corruptions_fixed++;
			} else {
				say(&c,
				    "ERROR cluster %" PRIu64 " refcount=%" PRIu64
				    " reference=%" PRIu64,
				    i, have, want);
				corrupt(&c);
			}
		}
	}
	s->free_punch = 0;
	if ((rc = check_copied(&c, repair_errors)) < 0)
		goto out;
	if ((repair_leaks || repair_errors) && (rc = qcow2_flush_metadata(s)) < 0)
		goto out;
	if (repair_leaks || repair_errors)
		vstd_io_flush(s->io);
	res->total_clusters = qcow2_size_to_clusters(s, s->size);
	if (qcow2_image_end(s, &end) == 0)
		res->image_end_offset = end;
	rc = 0;
out:
	res->report = c.report;
	vstd_free(c.ref);
	vstd_free(c.bad_block);
	return rc;
}

int qcow2_expected_refcounts(struct qcow2 *s, uint32_t **out, uint64_t *n, uint64_t *problems)
{
	vstd_disk_check_result res;
	struct chk c;
	uint64_t len = 0;
	memset(&res, 0, sizeof(res));
	memset(&c, 0, sizeof(c));
	c.s = s;
	c.res = &res;
	*out = NULL;
	if (vstd_io_size(s->io, &c.fsize) < 0)
		return vstd_err_code();
	c.n = qcow2_size_to_clusters(s, c.fsize);
	if (c.n > MAX_CHECK_CLUSTERS)
		return vstd_err(VSTD_ELIMIT, "%s: too many clusters (%" PRIu64 ")", s->name, c.n);
	c.ref = vstd_calloc(c.n ? c.n : 1, sizeof(uint32_t));
	c.bad_block = vstd_calloc(s->rt_entries ? s->rt_entries : 1, 1);
	if (c.ref == NULL || c.bad_block == NULL) {
		vstd_free(c.ref);
		vstd_free(c.bad_block);
		return vstd_err_code();
	}
	count(&c, 0, s->cluster_size, "header");
	count(&c, s->l1_off, (uint64_t)s->l1_size * 8, "L1 table");
	count(&c, s->rt_off, (uint64_t)s->rt_clusters << s->cluster_bits, "refcount table");
	for (uint64_t b = 0; b < s->rt_entries; b++) {
		uint64_t o = s->rt[b] & QCOW2_REFT_OFFSET_MASK;
		if (o != 0)
			count(&c, o, s->cluster_size, "refcount block");
	}
	if (s->has_crypto_ext)
		count(&c, s->crypto_off, s->crypto_len, "encryption header");
	walk_bitmaps(&c);
	walk_l1(&c, s->l1, s->l1_size, 1);
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		struct qcow2_snapshot *sn = &s->snaps[i];
		uint64_t *l1 = NULL;
		len += vstd_align_up(40 + sn->extra_size + strlen(sn->id) + strlen(sn->name), 8);
		count(&c, sn->l1_off, (uint64_t)sn->l1_size * 8, "snapshot L1 table");
		if (qcow2_l1_load(s, sn->l1_off, sn->l1_size, c.fsize, &l1, "snapshot L1") < 0) {
			res.corruptions++;
			continue;
		}
		walk_l1(&c, l1, sn->l1_size, 0);
		vstd_free(l1);
	}
	if (len > 0)
		count(&c, s->snapshots_off, len, "snapshot table");
	vstd_free(c.bad_block);
	vstd_free(c.report);
	*out = c.ref;
	*n = c.n;
	*problems = res.corruptions + res.check_errors;
	return 0;
}
