/*
 * mgmt/util/sbuf.c - a growing string buffer for responses and files.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "mgmt/util/util.h"

void sbuf_init(sbuf *b, size_t limit)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit;
}

void sbuf_free(sbuf *b)
{
	vstd_free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *sbuf_take(sbuf *b, size_t *len)
{
	char *d = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}

static int sbuf_grow(sbuf *b, size_t n)
{
	if (b->failed)
		return -1;
	if (n > SIZE_MAX - b->len - 1 || (b->limit && b->len + n > b->limit)) {
		b->failed = 1;
		vstd_err(VSTD_ELIMIT, "mgmt: response larger than %zu bytes", b->limit);
		return -1;
	}
	if (b->len + n + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 16384; /* most responses fit the first block */
	while (cap < b->len + n + 1)
		cap = cap > SIZE_MAX / 2 ? b->len + n + 1 : cap * 2;
	char *d = vstd_realloc(b->data, cap);
	if (d == NULL) {
		b->failed = 1;
		return -1;
	}
	b->data = d;
	b->cap = cap;
	return 0;
}

void sbuf_add_slow(sbuf *b, const char *s, size_t n)
{
	if (sbuf_grow(b, n) < 0)
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = 0;
}

void sbuf_printf(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	char small[512];
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		sbuf_add(b, small, (size_t)n);
		return;
	}
	if (sbuf_grow(b, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* 1 for the bytes sbuf_xml replaces: & < > " ' and control characters
 * other than tab, newline and carriage return. */
static const unsigned char xml_special[256] = {
        [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1, [0x07] = 1,
        [0x08] = 1, [0x0b] = 1, [0x0c] = 1, [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1,
        [0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1,
        [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1,
        ['&'] = 1,  ['<'] = 1,  ['>'] = 1,  ['"'] = 1,  ['\''] = 1};

void sbuf_xml(sbuf *b, const char *s)
{
	const char *run = s;
	if (s == NULL)
		return;
	for (;; s++) {
		unsigned char c = (unsigned char)*s;
		if (!xml_special[c]) {
			if (c == 0)
				break;
			continue;
		}
		const char *rep;
		size_t rl;
		switch (c) {
		case '&': rep = "&amp;", rl = 5; break;
		case '<': rep = "&lt;", rl = 4; break;
		case '>': rep = "&gt;", rl = 4; break;
		case '"': rep = "&quot;", rl = 6; break;
		case '\'': rep = "&apos;", rl = 6; break;
		default: rep = "?", rl = 1; /* not an XML character */
		}
		sbuf_add(b, run, (size_t)(s - run));
		sbuf_add(b, rep, rl);
		run = s + 1;
	}
	sbuf_add(b, run, (size_t)(s - run));
}

void sbuf_u64(sbuf *b, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	sbuf_add(b, tmp + i, sizeof(tmp) - i);
}
