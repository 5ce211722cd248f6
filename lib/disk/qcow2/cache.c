/*
 * disk/qcow2/cache.c - the metadata cache for L2 tables and refcount blocks.
 *
 * A fixed number of slots, each one table (a cluster); tables are read on
 * first use and kept until the clock hand evicts them.  Slot memory is
 * allocated when a slot is first filled, so a large cache costs nothing
 * until an image is large enough to use it.  Lookup is a hash of the host
 * offset.  Dirty tables are written back by qcow2_cache_writeback (driver.c
 * orders that against the other metadata); evicting a dirty table runs the
 * metadata flush sequence first, so a table never reaches the file before
 * the refcounts it relies on.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "disk/qcow2/qcow2.h"

int qcow2_cache_init(struct qcow2_cache *c, unsigned max, size_t table_size, const char *what)
{
	unsigned nb = 16;
	memset(c, 0, sizeof(*c));
	if (max < 4)
		max = 4;
	while (nb < max * 2)
		nb *= 2;
	c->e = vstd_calloc(max, sizeof(*c->e));
	c->buckets = vstd_malloc_array(nb, sizeof(int));
	if (c->e == NULL || c->buckets == NULL) {
		vstd_free(c->e);
		vstd_free(c->buckets);
		c->e = NULL;
		c->buckets = NULL;
		return vstd_err_code();
	}
	for (unsigned i = 0; i < nb; i++)
		c->buckets[i] = -1;
	c->nbuckets = nb;
	c->max = max;
	c->table_size = table_size;
	c->what = what;
	return 0;
}

void qcow2_cache_free(struct qcow2_cache *c)
{
	if (c->e != NULL)
		for (unsigned i = 0; i < c->used; i++)
			vstd_aligned_free(c->e[i].data);
	vstd_free(c->e);
	vstd_free(c->buckets);
	memset(c, 0, sizeof(*c));
}

static unsigned hash_off(const struct qcow2_cache *c, uint64_t off)
{
	uint64_t h = (off >> 9) * 0x9e3779b97f4a7c15ull;
	return (unsigned)(h >> 32) & (c->nbuckets - 1);
}

static void unlink_entry(struct qcow2_cache *c, int idx)
{
	int *pp = &c->buckets[hash_off(c, c->e[idx].off)];
	while (*pp != -1) {
		if (*pp == idx) {
			*pp = c->e[idx].next;
			break;
		}
		pp = &c->e[*pp].next;
	}
	c->e[idx].off = 0;
	c->e[idx].dirty = 0;
}

static int lookup(const struct qcow2_cache *c, uint64_t off)
{
	int i = c->buckets[hash_off(c, off)];
	while (i != -1 && c->e[i].off != off)
		i = c->e[i].next;
	return i;
}

static int write_entry(struct qcow2 *s, struct qcow2_cache *c, int i)
{
	int rc = vstd_io_pwrite(s->io, c->e[i].data, c->table_size, c->e[i].off);
	if (rc < 0)
		return vstd_err_prefix("%s: writing %s at 0x%" PRIx64 ": ", s->name, c->what,
		                       c->e[i].off);
	c->e[i].dirty = 0;
	return 0;
}

/* A slot to (re)use: a never-used one, or the clock's victim. */
static int victim(struct qcow2 *s, struct qcow2_cache *c, int *out)
{
	int rc;
	if (c->used < c->max) {
		struct qcow2_cache_entry *e = &c->e[c->used];
		e->data = vstd_aligned_alloc(4096, c->table_size);
		if (e->data == NULL)
			return vstd_err_code();
		*out = (int)c->used++;
		return 0;
	}
	for (unsigned spins = 0;; spins++) {
		struct qcow2_cache_entry *e = &c->e[c->hand];
		int idx = (int)c->hand;
		c->hand = (c->hand + 1) % c->max;
		if (e->pinned)
			continue;
		if (e->ref && spins < 2 * c->max) {
			e->ref = 0;
			continue;
		}
		if (e->dirty) {
			/* an L2 table may only reach the file after the refcounts of
			 * what it points to: run the ordered flush */
			if (c == &s->l2c) {
				if ((rc = qcow2_flush_metadata(s)) < 0)
					return rc;
			} else if ((rc = write_entry(s, c, idx)) < 0) {
				return rc;
			}
		}
		if (e->off != 0)
			unlink_entry(c, idx);
		*out = idx;
		return 0;
	}
}

int qcow2_cache_get(struct qcow2 *s, struct qcow2_cache *c, uint64_t off, int fresh, uint8_t **out)
{
	int i = lookup(c, off), rc;
	unsigned h;
	if (i >= 0) {
		c->e[i].ref = 1;
		if (fresh)
			memset(c->e[i].data, 0, c->table_size);
		*out = c->e[i].data;
		return 0;
	}
	if ((rc = victim(s, c, &i)) < 0)
		return rc;
	if (fresh) {
		memset(c->e[i].data, 0, c->table_size);
	} else {
		rc = vstd_io_pread(s->io, c->e[i].data, c->table_size, off);
		if (rc < 0)
			return vstd_err_prefix("%s: reading %s at 0x%" PRIx64 ": ", s->name,
			                       c->what, off);
	}
	c->e[i].off = off;
	c->e[i].ref = 1;
	c->e[i].dirty = 0;
	h = hash_off(c, off);
	c->e[i].next = c->buckets[h];
	c->buckets[h] = i;
	*out = c->e[i].data;
	return 0;
}

void qcow2_cache_mark_dirty(struct qcow2_cache *c, uint64_t off)
{
	int i = lookup(c, off);
	if (i >= 0)
		c->e[i].dirty = 1;
}

int qcow2_cache_writeback(struct qcow2 *s, struct qcow2_cache *c)
{
	int n = 0;
	for (unsigned i = 0; i < c->used; i++) {
		if (c->e[i].dirty && c->e[i].off != 0) {
			int rc = write_entry(s, c, (int)i);
			if (rc < 0)
				return rc;
			n++;
		}
	}
	return n;
}

void qcow2_cache_discard(struct qcow2_cache *c, uint64_t off)
{
	int i = lookup(c, off);
	if (i >= 0)
		unlink_entry(c, i);
}

void qcow2_cache_clear(struct qcow2_cache *c)
{
	for (unsigned i = 0; i < c->used; i++)
		if (c->e[i].off != 0)
			unlink_entry(c, (int)i);
}
