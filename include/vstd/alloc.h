/*
 * vstd/alloc.h - the library's allocator, its safety limit and failure
 * injection.
 *
 * All memory the library allocates goes through one process-wide allocator.
 * A program may replace it (before any other vstd call; not thread-safe to
 * change while other threads use vstd).  Each single allocation is also
 * checked against a limit (default 1 GiB) so that no size read from an image,
 * descriptor or guest can make the library ask for unbounded memory; a larger
 * request fails with VSTD_ELIMIT.
 *
 * The failure hook exists for tests: it is asked before every allocation and
 * may make it fail, which is how the test suite proves that every failing
 * allocation yields a clean error and no leak.
 */
#ifndef VSTD_ALLOC_H
#define VSTD_ALLOC_H

#include "vstd/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VSTD_ALLOCATOR_VERSION 1

typedef struct vstd_allocator {
	unsigned version; /* VSTD_ALLOCATOR_VERSION */
	void *(*malloc_fn)(size_t size, void *opaque);
	void *(*realloc_fn)(void *ptr, size_t size, void *opaque);
	void (*free_fn)(void *ptr, void *opaque);
	void *opaque;
} vstd_allocator;

/**
 * vstd_allocator_set - replace the allocator; NULL restores malloc/realloc/
 * free.  Returns VSTD_EINVAL for an unknown version or a missing function.
 */
VSTD_API int vstd_allocator_set(const vstd_allocator *allocator);

/**
 * vstd_alloc_limit_set - the largest single allocation the library makes
 * (bytes; 0 restores the default of 1 GiB).  Returns the previous limit.
 */
VSTD_API size_t vstd_alloc_limit_set(size_t limit);

/**
 * The failure hook: called before each allocation with its size; returning
 * non-zero makes that allocation fail as if the allocator returned NULL.
 */
typedef int (*vstd_alloc_fail_fn)(size_t size, void *opaque);

/** vstd_alloc_fail_hook_set - install (or with NULL remove) the hook. */
VSTD_API void vstd_alloc_fail_hook_set(vstd_alloc_fail_fn hook, void *opaque);

/**
 * vstd_alloc_fail_nth - convenience hook: let n-1 allocations succeed, fail
 * the n-th and every later one until vstd_alloc_fail_nth(0) disarms it.
 * Returns the number of allocations counted since the last arming, which is
 * how a test loop learns when an operation completed without reaching n.
 */
VSTD_API unsigned long vstd_alloc_fail_nth(unsigned long n);

#ifdef __cplusplus
}
#endif

#endif /* VSTD_ALLOC_H */
