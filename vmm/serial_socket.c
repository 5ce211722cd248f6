/*
 * vmm/serial_socket.c - `--serial unix:PATH` and `--serial tcp:HOST:PORT`:
 * the serial console on a stream socket, as a server that waits for one
 * client before the guest starts (QEMU's server=on,wait=on).  The client's
 * connection carries both directions: the guest's output and what the
 * client types.  A client that goes away only loses output (SIGPIPE is
 * ignored by the monitor).
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm.h"

static int listen_unix(const char *path)
{
	struct sockaddr_un a;
	struct stat st;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a.sun_path))
		return vmm_fail("--serial unix:%s: path longer than %zu bytes", path,
		                sizeof(a.sun_path) - 1);
	memcpy(a.sun_path, path, strlen(path));
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return vmm_fail(
			        "--serial unix:%s: exists and is not a socket (not replaced)",
			        path);
		unlink(path); /* a stale socket of an earlier run */
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return vmm_fail("--serial unix:%s: %s", path, strerror(e));
	}
	return fd;
}

static int listen_tcp(const char *spec)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	if (colon == NULL || colon == spec || (size_t)(colon - spec) >= sizeof(host) ||
	    colon[1] == '\0')
		return vmm_fail("--serial tcp:%s: expecting tcp:HOST:PORT", spec);
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	int gai = getaddrinfo(host, colon + 1, &hints, &res);
	if (gai != 0)
		return vmm_fail("--serial tcp:%s: %s", spec, gai_strerror(gai));
	int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 1) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return vmm_fail("--serial tcp:%s: %s", spec, strerror(e));
	}
	freeaddrinfo(res);
	return fd;
}

int vmm_serial_socket(const char *spec, double timeout, int *fd_out)
{
	int lfd;
	const char *path = NULL;
	if (strncmp(spec, "unix:", 5) == 0) {
		path = spec + 5;
		lfd = listen_unix(path);
	} else if (strncmp(spec, "tcp:", 4) == 0) {
		lfd = listen_tcp(spec + 4);
	} else {
		return vmm_fail("--serial %s: not a socket (unix:PATH or tcp:HOST:PORT)", spec);
	}
	if (lfd < 0)
		return -1;
	fprintf(stderr, "vstd vmm: serial console: waiting for a client on %s\n", spec);
	struct pollfd p = {lfd, POLLIN, 0};
	int n;
	do
		n = poll(&p, 1, timeout > 0 ? (int)(timeout * 1000) : -1);
	while (n < 0 && errno == EINTR);
	int cfd = n > 0 ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) : -1;
	int e = n == 0 ? ETIMEDOUT : errno;
	close(lfd);
	if (path)
		unlink(path);
	if (cfd < 0)
		return vmm_fail("--serial %s: no client connected: %s", spec, strerror(e));
	*fd_out = cfd;
	return 0;
}
