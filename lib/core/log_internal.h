/*
 * core/log_internal.h - sending messages to the program's log callback.
 */
#ifndef VSTD_CORE_LOG_INTERNAL_H
#define VSTD_CORE_LOG_INTERNAL_H

#include "vstd/log.h"

void vstd_log(int level, const char *module, const char *fmt, ...) VSTD_PRINTF(3, 4);
/* 1 when a message of this level would reach a callback (skip costly formatting). */
int vstd_log_enabled(int level);

#define vstd_warn(module, ...) vstd_log(VSTD_LOG_WARN, module, __VA_ARGS__)
#define vstd_info(module, ...) vstd_log(VSTD_LOG_INFO, module, __VA_ARGS__)
#define vstd_debug(module, ...) vstd_log(VSTD_LOG_DEBUG, module, __VA_ARGS__)

#endif
