/*
 * mgmt/util/arena.c - bump allocation in chunks, freed all at once.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "mgmt/util/util.h"

struct arena_chunk {
	struct arena_chunk *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
};

#define ARENA_CHUNK 16384

void arena_init(arena *a, size_t limit)
{
	memset(a, 0, sizeof(*a));
	a->limit = limit;
}

void arena_clear(arena *a)
{
	struct arena_chunk *c = a->head, *n;
	while (c) {
		n = c->next;
		vstd_free(c);
		c = n;
	}
	a->head = NULL;
	a->used_total = 0;
	a->failed = 0;
}

static void *arena_raw(arena *a, size_t size)
{
	struct arena_chunk *c = a->head;
	size_t need = (size + 15) & ~(size_t)15;
	if (need < size) {
		a->failed = 1;
		vstd_err(VSTD_ELIMIT, "mgmt: allocation of %zu bytes overflows", size);
		return NULL;
	}
	if (a->limit && (need > a->limit || a->used_total > a->limit - need)) {
		a->failed = 1;
		vstd_err(VSTD_ELIMIT, "mgmt: request needs more than its %zu byte budget",
		         a->limit);
		return NULL;
	}
	if (c == NULL || c->size - c->used < need) {
		size_t csize = need > ARENA_CHUNK ? need : ARENA_CHUNK;
		c = vstd_malloc(sizeof(*c) + csize);
		if (c == NULL) {
			a->failed = 1;
			return NULL;
		}
		c->size = csize;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += need;
	a->used_total += need;
	return p;
}

void *arena_alloc(arena *a, size_t size)
{
	void *p = arena_raw(a, size);
	if (p)
		memset(p, 0, size);
	return p;
}

void *arena_array(arena *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		a->failed = 1;
		vstd_err(VSTD_ELIMIT, "mgmt: array of %zu x %zu bytes overflows", n, size);
		return NULL;
	}
	return arena_alloc(a, n * size);
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
	char *p = n < SIZE_MAX ? arena_raw(a, n + 1) : NULL; /* every byte is written */
	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

char *arena_strdup(arena *a, const char *s)
{
	return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_printf(arena *a, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *p = arena_alloc(a, (size_t)n + 1);
	if (p == NULL)
		return NULL;
	if ((size_t)n < sizeof(small)) {
		memcpy(p, small, (size_t)n + 1);
	} else {
		va_start(ap, fmt);
		vsnprintf(p, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	return p;
}
