/*
 * core/alloc_internal.h - allocation inside the library.
 *
 * Every allocation goes through these.  On failure they record an error
 * (VSTD_ENOMEM, or VSTD_ELIMIT past the single-allocation limit) and return
 * NULL; the caller returns vstd_err_code() or VSTD_ENOMEM.  vstd_malloc_array
 * and vstd_realloc_array check n*size for overflow.
 */
#ifndef VSTD_CORE_ALLOC_INTERNAL_H
#define VSTD_CORE_ALLOC_INTERNAL_H

#include <stddef.h>

#include "vstd/alloc.h"

void *vstd_malloc(size_t size);
void *vstd_calloc(size_t n, size_t size);
void *vstd_realloc(void *ptr, size_t size);
void *vstd_malloc_array(size_t n, size_t size);
void *vstd_realloc_array(void *ptr, size_t n, size_t size);
char *vstd_strdup(const char *s);
char *vstd_strndup(const char *s, size_t n);
/* printf into a new string. */
char *vstd_asprintf(const char *fmt, ...) VSTD_PRINTF(1, 2);
void vstd_free(void *ptr);
/* Page-aligned allocation for O_DIRECT buffers; free with vstd_aligned_free. */
void *vstd_aligned_alloc(size_t align, size_t size);
void vstd_aligned_free(void *ptr);
size_t vstd_alloc_limit(void);

#endif
