/*
 * mgmt/util/util.h - small helpers of the management part: a per-request
 * arena (everything a request builds is freed at once) and a growing
 * string buffer with XML escaping.
 */
#ifndef VSTD_MGMT_UTIL_H
#define VSTD_MGMT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vstd/common.h"

/* ------------------------------------------------------------ arena */
struct arena_chunk;
typedef struct arena {
	struct arena_chunk *head;
	size_t used_total; /* bytes handed out, bounded by limit */
	size_t limit;      /* 0: no limit beyond the allocator's */
	int failed;        /* an allocation failed: the request is aborted */
} arena;

void arena_init(arena *a, size_t limit);
void arena_clear(arena *a);
/* Zeroed memory, 16-byte aligned; NULL (error recorded) on failure. */
void *arena_alloc(arena *a, size_t size);
void *arena_array(arena *a, size_t n, size_t size);
char *arena_strdup(arena *a, const char *s);
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_printf(arena *a, const char *fmt, ...) VSTD_PRINTF(2, 3);

/* ------------------------------------------------------------ string buffer */
typedef struct sbuf {
	char *data;
	size_t len, cap;
	size_t limit; /* 0: none */
	int failed;
} sbuf;

void sbuf_init(sbuf *b, size_t limit);
void sbuf_free(sbuf *b);
/* Hand over the data (NUL-terminated); the buffer is empty afterwards. */
char *sbuf_take(sbuf *b, size_t *len);
void sbuf_add_slow(sbuf *b, const char *s, size_t n);
/* Inline: most additions fit the buffer, and strlen of a literal folds. */
static inline void sbuf_add(sbuf *b, const char *s, size_t n)
{
	if (n < b->cap - b->len && (b->limit == 0 || n <= b->limit - b->len) && !b->failed) {
		memcpy(b->data + b->len, s, n);
		b->len += n;
		b->data[b->len] = 0;
		return;
	}
	sbuf_add_slow(b, s, n);
}
static inline void sbuf_puts(sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}
void sbuf_printf(sbuf *b, const char *fmt, ...) VSTD_PRINTF(2, 3);
/* Text with & < > " ' escaped for XML content and attribute values. */
void sbuf_xml(sbuf *b, const char *s);
/* v in decimal. */
void sbuf_u64(sbuf *b, uint64_t v);

#endif
