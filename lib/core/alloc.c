/*
 * core/alloc.c - the pluggable allocator, the size limit, failure injection.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"

#define VSTD_DEFAULT_ALLOC_LIMIT ((size_t)1 << 30)

static void *default_malloc(size_t size, void *opaque)
{
	(void)opaque;
	return malloc(size);
}

static void *default_realloc(void *ptr, size_t size, void *opaque)
{
	(void)opaque;
	return realloc(ptr, size);
}

static void default_free(void *ptr, void *opaque)
{
	(void)opaque;
	free(ptr);
}

static vstd_allocator current = {VSTD_ALLOCATOR_VERSION, default_malloc, default_realloc,
                                 default_free, NULL};
static _Atomic size_t alloc_limit = VSTD_DEFAULT_ALLOC_LIMIT;
static vstd_alloc_fail_fn fail_hook;
static void *fail_hook_opaque;
static _Atomic unsigned long nth_target;
static _Atomic unsigned long nth_count;

int vstd_allocator_set(const vstd_allocator *allocator)
{
	if (allocator == NULL) {
		current = (vstd_allocator){VSTD_ALLOCATOR_VERSION, default_malloc, default_realloc,
		                           default_free, NULL};
		return 0;
	}
	if (allocator->version != VSTD_ALLOCATOR_VERSION || allocator->malloc_fn == NULL ||
	    allocator->realloc_fn == NULL || allocator->free_fn == NULL)
		return vstd_err(VSTD_EINVAL, "allocator: version %u or a function is missing",
		                allocator->version);
	current = *allocator;
	return 0;
}

size_t vstd_alloc_limit_set(size_t limit)
{
	return atomic_exchange(&alloc_limit, limit ? limit : VSTD_DEFAULT_ALLOC_LIMIT);
}

size_t vstd_alloc_limit(void)
{
	return atomic_load(&alloc_limit);
}

void vstd_alloc_fail_hook_set(vstd_alloc_fail_fn hook, void *opaque)
{
	fail_hook = hook;
	fail_hook_opaque = opaque;
}

unsigned long vstd_alloc_fail_nth(unsigned long n)
{
	unsigned long counted = atomic_exchange(&nth_count, 0);
	atomic_store(&nth_target, n);
	return counted;
}

/* Returns 1 (and records the error) when this allocation must fail. */
static int alloc_refused(size_t size)
{
	size_t limit = atomic_load(&alloc_limit);
	unsigned long target = atomic_load(&nth_target);
	if (size > limit) {
		vstd_err(VSTD_ELIMIT, "allocation of %zu bytes exceeds the limit of %zu bytes",
		         size, limit);
		return 1;
	}
	if (target != 0) {
		unsigned long n = atomic_fetch_add(&nth_count, 1) + 1;
		if (n >= target) {
			vstd_err(VSTD_ENOMEM, "out of memory allocating %zu bytes (injected)",
			         size);
			return 1;
		}
	}
	if (fail_hook != NULL && fail_hook(size, fail_hook_opaque)) {
		vstd_err(VSTD_ENOMEM, "out of memory allocating %zu bytes (injected)", size);
		return 1;
	}
	return 0;
}

void *vstd_malloc(size_t size)
{
	void *p;
	if (size == 0)
		size = 1;
	if (alloc_refused(size))
		return NULL;
	p = current.malloc_fn(size, current.opaque);
	if (p == NULL)
		vstd_err(VSTD_ENOMEM, "out of memory allocating %zu bytes", size);
	return p;
}

void *vstd_calloc(size_t n, size_t size)
{
	void *p;
	if (size != 0 && n > SIZE_MAX / size) {
		vstd_err(VSTD_ELIMIT, "allocation of %zu x %zu bytes overflows", n, size);
		return NULL;
	}
	p = vstd_malloc(n * size);
	if (p != NULL)
		memset(p, 0, n * size);
	return p;
}

void *vstd_realloc(void *ptr, size_t size)
{
	void *p;
	if (size == 0)
		size = 1;
	if (alloc_refused(size))
		return NULL;
	p = current.realloc_fn(ptr, size, current.opaque);
	if (p == NULL)
		vstd_err(VSTD_ENOMEM, "out of memory allocating %zu bytes", size);
	return p;
}

void *vstd_malloc_array(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size) {
		vstd_err(VSTD_ELIMIT, "allocation of %zu x %zu bytes overflows", n, size);
		return NULL;
	}
	return vstd_malloc(n * size);
}

void *vstd_realloc_array(void *ptr, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size) {
		vstd_err(VSTD_ELIMIT, "allocation of %zu x %zu bytes overflows", n, size);
		return NULL;
	}
	return vstd_realloc(ptr, n * size);
}

char *vstd_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = vstd_malloc(len + 1);
	if (p != NULL) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

char *vstd_strdup(const char *s)
{
	return vstd_strndup(s, SIZE_MAX);
}

char *vstd_asprintf(const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		vstd_err(VSTD_EINVAL, "bad format string");
		return NULL;
	}
	p = vstd_malloc((size_t)n + 1);
	if (p == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void vstd_free(void *ptr)
{
	if (ptr != NULL)
		current.free_fn(ptr, current.opaque);
}

/* Aligned buffers bypass the pluggable allocator's realloc (none needed)
 * but still honour the limit and failure injection. */
void *vstd_aligned_alloc(size_t align, size_t size)
{
	void *p = NULL;
	if (size == 0)
		size = align;
	if (alloc_refused(size))
		return NULL;
	if (posix_memalign(&p, align, size) != 0) {
		vstd_err(VSTD_ENOMEM, "out of memory allocating %zu aligned bytes", size);
		return NULL;
	}
	return p;
}

void vstd_aligned_free(void *ptr)
{
	free(ptr);
}
