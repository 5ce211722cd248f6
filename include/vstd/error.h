/*
 * vstd/error.h - return codes and the per-thread last error.
 *
 * Every fallible vstd call returns 0 or one of the negative codes below.  The
 * list is short on purpose: the code says what kind of failure it was (what a
 * program may react to), the message says exactly what and where (what a
 * person needs to fix it): the object (file, element, device), the offset
 * or line, and the rule that was broken, e.g.
 *
 *   "disk.qcow2: L2 table at offset 0x50000 lies past the end of the file
 *    (file size 0x40000)"
 *
 * The last error is thread-local: it stays until the next failing vstd call
 * on the same thread or vstd_error_clear().
 */
#ifndef VSTD_ERROR_H
#define VSTD_ERROR_H

#include "vstd/common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum vstd_error_code {
	VSTD_OK = 0,
	VSTD_ERROR = -1,     /* failure without a better code */
	VSTD_ENOMEM = -2,    /* an allocation failed */
	VSTD_EINVAL = -3,    /* the caller passed an invalid argument or option */
	VSTD_EIO = -4,       /* the operating system reported an I/O error */
	VSTD_ECORRUPT = -5,  /* input (image, XML, ring, request) is malformed */
	VSTD_ENOTSUP = -6,   /* valid input that this build does not support */
	VSTD_ENOENT = -7,    /* a file, element or object does not exist */
	VSTD_EEXIST = -8,    /* it already exists */
	VSTD_EPERM = -9,     /* not allowed: permission, read-only, policy */
	VSTD_ERANGE = -10,   /* a value or offset is out of its valid range */
	VSTD_ELIMIT = -11,   /* input exceeds a safety limit (size, depth, count) */
	VSTD_EVERIFY = -12,  /* a checksum, digest, signature or password failed */
	VSTD_EBUSY = -13,    /* the object is in use or locked */
	VSTD_ESTATE = -14,   /* the object is in the wrong state for this call */
	VSTD_ECANCELED = -15 /* the caller's callback asked to stop */
};

/** The details of a failure.  Valid until the next vstd call on the thread. */
typedef struct vstd_error {
	int code;            /* one of enum vstd_error_code */
	int os_errno;        /* errno behind the failure, or 0 */
	const char *message; /* never NULL; "" when no error is recorded */
} vstd_error;

/**
 * vstd_error_last - the last error recorded on the calling thread.
 *
 * Never returns NULL: with no error recorded, code is VSTD_OK and message
 * is "".  The storage belongs to the library.
 */
VSTD_API const vstd_error *vstd_error_last(void);

/** vstd_error_clear - forget the calling thread's last error. */
VSTD_API void vstd_error_clear(void);

/**
 * vstd_strerror - a short constant description of a code ("corrupt
 * input"), for any int; unknown codes give "unknown error".
 */
VSTD_API const char *vstd_strerror(int code);

/**
 * vstd_error_name - the symbolic name of a code ("VSTD_ECORRUPT"), or
 * "VSTD_E?" for unknown codes.  Stable; used in JSON output.
 */
VSTD_API const char *vstd_error_name(int code);

/**
 * vstd_error_set - record an error on the calling thread and return code.
 * For code that plugs into vstd (custom vstd_io methods, log or allocation
 * hooks); os_errno may be 0.  The message is truncated at 1 KiB.
 */
VSTD_API int vstd_error_set(int code, int os_errno, const char *fmt, ...) VSTD_PRINTF(3, 4);

#ifdef __cplusplus
}
#endif

#endif /* VSTD_ERROR_H */
