/*
 * vstd/common.h - definitions every vstd header shares.
 *
 * Conventions (see docs/api.md for the long form):
 *  - Objects are opaque handles: vstd_<module> *.  Constructors take the
 *    out-pointer first (vstd_x_open(&x, ...)) and set it only on success.
 *    Every destructor accepts NULL and does nothing then.
 *  - Every call that can fail returns int: 0 (VSTD_OK) or a negative
 *    VSTD_E* code from vstd/error.h.  Details of the last failure on the
 *    calling thread are in vstd_error_last().
 *  - Option structs carry a `version` field first and are initialised with
 *    their *_INIT macro; fields are only ever appended, so a program built
 *    against an older header keeps working with a newer library.
 *  - Unless a function says otherwise, a handle may be used by one thread
 *    at a time; different handles may be used from different threads.
 *  - The library never prints, never exits and never aborts: messages go to
 *    the log callback of vstd/log.h.
 */
#ifndef VSTD_COMMON_H
#define VSTD_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "vstd/version.h"

#if defined(VSTD_STATIC)
#define VSTD_API
#elif defined(VSTD_BUILDING)
#define VSTD_API __attribute__((visibility("default")))
#else
#define VSTD_API
#endif

#if defined(__GNUC__) || defined(__clang__)
#define VSTD_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define VSTD_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define VSTD_PRINTF(fmt, args)
#define VSTD_WARN_UNUSED
#endif

#ifdef __cplusplus
extern "C" {
#endif

/**
 * vstd_version - version of the library loaded at run time.
 *
 * Returns a static string such as "0.1.0"; fills the three numbers when the
 * pointers are not NULL.  Thread-safe.
 */
VSTD_API const char *vstd_version(int *major, int *minor, int *patch);

#ifdef __cplusplus
}
#endif

#endif /* VSTD_COMMON_H */
