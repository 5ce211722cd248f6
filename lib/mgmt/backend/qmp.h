/*
 * mgmt/backend/qmp.h - a minimal QMP client (QEMU Machine Protocol: JSON
 * lines over a unix socket; greeting, qmp_capabilities, then commands whose
 * replies are {"return": ...} or {"error": {...}}, with asynchronous
 * {"event": ...} lines interleaved).
 */
#ifndef VSTD_MGMT_QMP_H
#define VSTD_MGMT_QMP_H

struct json_object;

/* Connect, negotiate, run one command (args may be NULL), disconnect.
 * *reply (if not NULL) gets the "return" value (caller puts it). */
int qmp_command(const char *sock, const char *cmd, struct json_object *args,
                struct json_object **reply, unsigned timeout_ms);
/* 0 when something accepts connections on sock. */
int qmp_ping(const char *sock);

#endif
