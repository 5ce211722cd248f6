/*
 * mgmt/backend/qmp.c - one QMP command per connection: simple, and a
 * crashed guest never leaves a half-read stream behind.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "mgmt/backend/qmp.h"

#define QMP_MAX_LINE (1u << 20)

struct qmp_conn {
	int fd;
	char buf[65536];
	size_t len;
	const char *sock;
	struct timespec deadline;
};

static long ms_left(const struct qmp_conn *c)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (c->deadline.tv_sec - now.tv_sec) * 1000 +
	       (c->deadline.tv_nsec - now.tv_nsec) / 1000000;
}

static int qmp_connect(struct qmp_conn *c, const char *sock, unsigned timeout_ms)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof(sa.sun_path))
		return vstd_err(VSTD_ELIMIT, "qmp: socket path %s is too long", sock);
	strcpy(sa.sun_path, sock);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return vstd_err_errno(VSTD_EIO, errno, "qmp: socket");
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(c->fd);
		c->fd = -1;
		return vstd_err_errno(VSTD_EIO, e, "qmp: cannot connect to %s", sock);
	}
	c->sock = sock;
	c->len = 0;
	clock_gettime(CLOCK_MONOTONIC, &c->deadline);
	c->deadline.tv_sec += timeout_ms / 1000;
	c->deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (c->deadline.tv_nsec >= 1000000000) {
		c->deadline.tv_sec++;
		c->deadline.tv_nsec -= 1000000000;
	}
	return 0;
}

/* Read one JSON line into *obj. */
static int qmp_read(struct qmp_conn *c, json_object **obj)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			*nl = 0;
			*obj = json_tokener_parse(c->buf);
			size_t used = (size_t)(nl - c->buf) + 1;
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
			if (*obj == NULL)
				return vstd_err(VSTD_ECORRUPT,
				                "qmp: %s sent a line that is not JSON", c->sock);
			return 0;
		}
		if (c->len >= sizeof(c->buf) - 1)
			return vstd_err(VSTD_ELIMIT, "qmp: %s sent a line longer than %zu bytes",
			                c->sock, sizeof(c->buf));
		long left = ms_left(c);
		if (left <= 0)
			return vstd_err(VSTD_EBUSY, "qmp: %s did not answer in time", c->sock);
		struct pollfd p = {c->fd, POLLIN, 0};
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return vstd_err(VSTD_EBUSY, "qmp: %s did not answer in time", c->sock);
		ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return vstd_err(VSTD_EIO, "qmp: %s closed the connection", c->sock);
		c->len += (size_t)n;
	}
}

static int qmp_send(struct qmp_conn *c, const char *cmd, json_object *args)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(o, "arguments", json_object_get(args));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(s);
	int rc = 0;
	if (write(c->fd, s, len) != (ssize_t)len || write(c->fd, "\n", 1) != 1)
		rc = vstd_err_errno(VSTD_EIO, errno, "qmp: cannot write to %s", c->sock);
	json_object_put(o);
	return rc;
}

/* Wait for the reply to the last command (skipping events). */
static int qmp_reply(struct qmp_conn *c, const char *cmd, json_object **ret)
{
	for (;;) {
		json_object *o, *v;
		int rc = qmp_read(c, &o);
		if (rc < 0)
			return rc;
		if (json_object_object_get_ex(o, "return", &v)) {
			if (ret)
				*ret = json_object_get(v);
			json_object_put(o);
			return 0;
		}
		if (json_object_object_get_ex(o, "error", &v)) {
			json_object *d = NULL;
			json_object_object_get_ex(v, "desc", &d);
			rc = vstd_err(VSTD_EIO, "qmp: %s failed: %s", cmd,
			              d ? json_object_get_string(d) : "error");
			json_object_put(o);
			return rc;
		}
		json_object_put(o); /* an event or the greeting */
	}
}

int qmp_command(const char *sock, const char *cmd, json_object *args, json_object **reply,
                unsigned timeout_ms)
{
	struct qmp_conn *c = vstd_calloc(1, sizeof(*c));
	int rc;
	json_object *greet = NULL;
	if (c == NULL)
		return vstd_err(VSTD_ENOMEM, "qmp: out of memory");
	if ((rc = qmp_connect(c, sock, timeout_ms)) < 0)
		goto out;
	if ((rc = qmp_read(c, &greet)) < 0)
		goto out_close;
	json_object_put(greet);
	if ((rc = qmp_send(c, "qmp_capabilities", NULL)) < 0 ||
	    (rc = qmp_reply(c, "qmp_capabilities", NULL)) < 0)
		goto out_close;
	if ((rc = qmp_send(c, cmd, args)) < 0)
		goto out_close;
	rc = qmp_reply(c, cmd, reply);
out_close:
	close(c->fd);
out:
	vstd_free(c);
	return rc;
}

int qmp_ping(const char *sock)
{
	struct qmp_conn c;
	int rc = qmp_connect(&c, sock, 100);
	if (rc == 0)
		close(c.fd);
	return rc;
}
