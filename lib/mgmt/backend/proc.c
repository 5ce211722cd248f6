/*
 * mgmt/backend/proc.c - guest processes: started detached (double fork, own
 * session, output to a log file) so they outlive the server and never
 * become its zombies; found again by pid plus a word of their command line
 * (the system's UUID), so a reused pid is never mistaken for a guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/error_internal.h"
#include "mgmt/mgmt_internal.h"

static int read_small(const char *path, char *buf, size_t cap, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	*len = (size_t)n;
	return 0;
}

/* The state letter of /proc/<pid>/stat ('R', 'S', 'T', 'Z', ...), or 0. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512];
	size_t len;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (read_small(path, buf, sizeof(buf), &len) < 0)
		return 0;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

int mgmt_proc_alive(pid_t pid, const char *must_contain)
{
	char path[64], buf[8192];
	size_t len;
	if (pid <= 0 || kill(pid, 0) < 0)
		return 0;
	char st = proc_state(pid);
	if (st == 0 || st == 'Z' || st == 'X')
		return 0;
	if (must_contain == NULL)
		return st == 'T' || st == 't' ? 2 : 1;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	if (read_small(path, buf, sizeof(buf), &len) < 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (buf[i] == 0)
			buf[i] = ' ';
	if (strstr(buf, must_contain) == NULL)
		return 0;
	return st == 'T' || st == 't' ? 2 : 1;
}

int mgmt_proc_spawn_daemon(char *const argv[], const char *log_path, pid_t *pid_out)
{
	int pidpipe[2], errpipe[2];
	if (pipe2(pidpipe, O_CLOEXEC) < 0)
		return vstd_err_errno(VSTD_EIO, errno, "mgmt: pipe");
	if (pipe2(errpipe, O_CLOEXEC) < 0) {
		close(pidpipe[0]);
		close(pidpipe[1]);
		return vstd_err_errno(VSTD_EIO, errno, "mgmt: pipe");
	}
	pid_t child = fork();
	if (child < 0) {
		int e = errno;
		close(pidpipe[0]);
		close(pidpipe[1]);
		close(errpipe[0]);
		close(errpipe[1]);
		return vstd_err_errno(VSTD_EIO, e, "mgmt: fork");
	}
	if (child == 0) {
		/* only async-signal-safe calls from here to exec */
		setsid();
		pid_t g = fork();
		if (g < 0)
			_exit(1);
		if (g > 0) {
			ssize_t w = write(pidpipe[1], &g, sizeof(g));
			(void)w;
			_exit(0);
		}
		int fd = open("/dev/null", O_RDONLY);
		if (fd >= 0) {
			dup2(fd, 0);
			close(fd);
		}
		fd = open(log_path ? log_path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		int e = errno;
		ssize_t w = write(errpipe[1], &e, sizeof(e));
		(void)w;
		_exit(127);
	}
	close(pidpipe[1]);
	close(errpipe[1]);
	int status;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	pid_t g = 0;
	ssize_t n = read(pidpipe[0], &g, sizeof(g));
	close(pidpipe[0]);
	int e = 0;
	ssize_t k = read(errpipe[0], &e, sizeof(e)); /* EOF: exec succeeded */
	close(errpipe[0]);
	if (n != (ssize_t)sizeof(g) || g <= 0)
		return vstd_err(VSTD_EIO, "mgmt: could not start %s", argv[0]);
	if (k == (ssize_t)sizeof(e))
		return vstd_err_errno(VSTD_EIO, e, "mgmt: cannot run %s", argv[0]);
	*pid_out = g;
	return 0;
}

int mgmt_proc_wait_gone(pid_t pid, unsigned timeout_ms)
{
	struct timespec ts = {0, 20 * 1000 * 1000};
	for (unsigned waited = 0;; waited += 20) {
		char st = proc_state(pid);
		if (kill(pid, 0) < 0 || st == 0 || st == 'Z' || st == 'X')
			return 0;
		if (waited >= timeout_ms)
			return vstd_err(VSTD_EBUSY, "mgmt: process %ld did not exit within %u ms",
			                (long)pid, timeout_ms);
		nanosleep(&ts, NULL);
	}
}
