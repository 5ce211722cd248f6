/*
 * vstd/log.h - where the library's messages go.
 *
 * The library never writes to stdout or stderr.  It hands messages (warnings
 * about repaired or suspicious input, progress notes, debug traces) to one
 * process-wide callback.  Without a callback, messages are dropped.
 */
#ifndef VSTD_LOG_H
#define VSTD_LOG_H

#include "vstd/common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum vstd_log_level {
	VSTD_LOG_ERROR = 0,
	VSTD_LOG_WARN = 1,
	VSTD_LOG_INFO = 2,
	VSTD_LOG_DEBUG = 3
};

/** The callback gets a level, a module name ("qcow2", "ovf") and the text. */
typedef void (*vstd_log_fn)(int level, const char *module, const char *message, void *opaque);

/**
 * vstd_log_set - install the callback (NULL to drop messages) and the most
 * verbose level it receives.  May be called at any time; the callback may be
 * called from any thread that uses vstd and must be thread-safe.
 */
VSTD_API void vstd_log_set(vstd_log_fn fn, void *opaque, int max_level);

#ifdef __cplusplus
}
#endif

#endif /* VSTD_LOG_H */
