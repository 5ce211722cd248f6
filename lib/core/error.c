/*
 * core/error.c - the thread-local last error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error_internal.h"

#define VSTD_ERROR_MSG_MAX 1024

static _Thread_local char tls_message[VSTD_ERROR_MSG_MAX];
static _Thread_local vstd_error tls_error = {VSTD_OK, 0, ""};

static void error_store(int code, int os_errno, const char *fmt, va_list ap, const char *suffix)
        VSTD_PRINTF(3, 0);

static void error_store(int code, int os_errno, const char *fmt, va_list ap, const char *suffix)
{
	int n = vsnprintf(tls_message, sizeof(tls_message), fmt, ap);
	if (n < 0)
		tls_message[0] = '\0';
	if (suffix != NULL) {
		size_t used = strlen(tls_message);
		snprintf(tls_message + used, sizeof(tls_message) - used, "%s", suffix);
	}
	tls_error.code = code;
	tls_error.os_errno = os_errno;
	tls_error.message = tls_message;
}

int vstd_err(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	error_store(code, 0, fmt, ap, NULL);
	va_end(ap);
	return code;
}

int vstd_error_set(int code, int os_errno, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	error_store(code, os_errno, fmt, ap, NULL);
	va_end(ap);
	return code;
}

int vstd_code_from_errno(int os_errno)
{
	switch (os_errno) {
	case ENOMEM: return VSTD_ENOMEM;
	case ENOENT:
	case ENOTDIR: return VSTD_ENOENT;
	case EEXIST: return VSTD_EEXIST;
	case EACCES:
	case EPERM:
	case EROFS: return VSTD_EPERM;
	case EINVAL:
	case EISDIR: return VSTD_EINVAL;
	case EFBIG:
	case ENOSPC:
	case EDQUOT: return VSTD_ELIMIT;
	case EBUSY:
	case EWOULDBLOCK: return VSTD_EBUSY;
	case EOPNOTSUPP: return VSTD_ENOTSUP;
	default: return VSTD_EIO;
	}
}

int vstd_err_errno(int code, int os_errno, const char *fmt, ...)
{
	char suffix[160];
	va_list ap;
	if (code == 0)
		code = vstd_code_from_errno(os_errno);
	snprintf(suffix, sizeof(suffix), ": %s", strerror(os_errno));
	va_start(ap, fmt);
	error_store(code, os_errno, fmt, ap, suffix);
	va_end(ap);
	return code;
}

int vstd_err_prefix(const char *fmt, ...)
{
	char old[VSTD_ERROR_MSG_MAX];
	char prefix[VSTD_ERROR_MSG_MAX];
	va_list ap;
	snprintf(old, sizeof(old), "%s", tls_message);
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	{
		size_t plen = strnlen(prefix, sizeof(tls_message) - 1);
		memcpy(tls_message, prefix, plen);
		snprintf(tls_message + plen, sizeof(tls_message) - plen, "%.*s",
		         (int)(sizeof(tls_message) - 1 - plen), old);
	}
	tls_error.message = tls_message;
	return tls_error.code;
}

int vstd_err_code(void)
{
	return tls_error.code;
}

const vstd_error *vstd_error_last(void)
{
	tls_error.message = tls_message;
	return &tls_error;
}

void vstd_error_clear(void)
{
	tls_message[0] = '\0';
	tls_error.code = VSTD_OK;
	tls_error.os_errno = 0;
	tls_error.message = tls_message;
}

static const struct {
	int code;
	const char *name;
	const char *text;
} error_table[] = {
        {VSTD_OK, "VSTD_OK", "success"},
        {VSTD_ERROR, "VSTD_ERROR", "error"},
        {VSTD_ENOMEM, "VSTD_ENOMEM", "out of memory"},
        {VSTD_EINVAL, "VSTD_EINVAL", "invalid argument"},
        {VSTD_EIO, "VSTD_EIO", "input/output error"},
        {VSTD_ECORRUPT, "VSTD_ECORRUPT", "corrupt or malformed input"},
        {VSTD_ENOTSUP, "VSTD_ENOTSUP", "not supported"},
        {VSTD_ENOENT, "VSTD_ENOENT", "not found"},
        {VSTD_EEXIST, "VSTD_EEXIST", "already exists"},
        {VSTD_EPERM, "VSTD_EPERM", "not permitted"},
        {VSTD_ERANGE, "VSTD_ERANGE", "out of range"},
        {VSTD_ELIMIT, "VSTD_ELIMIT", "exceeds a limit"},
        {VSTD_EVERIFY, "VSTD_EVERIFY", "verification failed"},
        {VSTD_EBUSY, "VSTD_EBUSY", "busy"},
        {VSTD_ESTATE, "VSTD_ESTATE", "wrong state"},
        {VSTD_ECANCELED, "VSTD_ECANCELED", "canceled"},
};

const char *vstd_strerror(int code)
{
	for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++)
		if (error_table[i].code == code)
			return error_table[i].text;
	return "unknown error";
}

const char *vstd_error_name(int code)
{
	for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++)
		if (error_table[i].code == code)
			return error_table[i].name;
	return "VSTD_E?";
}
