/*
 * core/error_internal.h - recording errors from inside the library.
 *
 * Usage:  return vstd_err(VSTD_ECORRUPT, "%s: L1 table at 0x%" PRIx64
 *                         " is past the end of the file", name, off);
 * vstd_err_errno() adds strerror(errno) and maps errno to a code.
 * vstd_err_prefix() prepends context ("opening backing file x: ") to the
 * message already recorded and returns its code.
 */
#ifndef VSTD_CORE_ERROR_INTERNAL_H
#define VSTD_CORE_ERROR_INTERNAL_H

#include <inttypes.h>

#include "vstd/error.h"

int vstd_err(int code, const char *fmt, ...) VSTD_PRINTF(2, 3);
/* code 0: derive it from os_errno (vstd_code_from_errno). */
int vstd_err_errno(int code, int os_errno, const char *fmt, ...) VSTD_PRINTF(3, 4);
int vstd_err_prefix(const char *fmt, ...) VSTD_PRINTF(1, 2);
int vstd_code_from_errno(int os_errno);
/* The code of the last error (VSTD_OK if none). */
int vstd_err_code(void);

#endif
