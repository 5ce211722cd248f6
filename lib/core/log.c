/*
 * core/log.c - the process-wide log callback.
 */
#include <stdarg.h>
#include <stdio.h>

#include "core/log_internal.h"

static vstd_log_fn log_fn;
static void *log_opaque;
static int log_max_level = VSTD_LOG_WARN;

void vstd_log_set(vstd_log_fn fn, void *opaque, int max_level)
{
	log_fn = fn;
	log_opaque = opaque;
	log_max_level = max_level;
}

int vstd_log_enabled(int level)
{
	return log_fn != NULL && level <= log_max_level;
}

void vstd_log(int level, const char *module, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	if (!vstd_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fn(level, module, msg, log_opaque);
}
