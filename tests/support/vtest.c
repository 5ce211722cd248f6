/*
 * tests/support/vtest.c - see vtest.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vtest.h"

static char tmpdir[512];
static pid_t tmpdir_owner;
static char output[1 << 16];

static void remove_tmpdir(void)
{
	char cmd[600];
	/* Check forks a child per test: only the creating process cleans up. */
	if (tmpdir[0] != '\0' && getpid() == tmpdir_owner && getenv("VSTD_TEST_KEEP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
}

const char *vt_tmpdir(void)
{
	if (tmpdir[0] == '\0') {
		const char *base = getenv("TMPDIR");
		snprintf(tmpdir, sizeof(tmpdir), "%s/vstd-test-XXXXXX", base ? base : "/tmp");
		if (mkdtemp(tmpdir) == NULL) {
			perror("mkdtemp");
			exit(1);
		}
		tmpdir_owner = getpid();
		atexit(remove_tmpdir);
	}
	return tmpdir;
}

const char *vt_path(const char *name)
{
	static char ring[8][1024];
	static int next;
	char *p = ring[next++ % 8];
	snprintf(p, 1024, "%s/%s", vt_tmpdir(), name);
	return p;
}

const char *vt_shared(const char *rel)
{
	static char ring[8][1024];
	static int next;
	const char *base = getenv("VSTD_SHARED_DIR");
	char *p = ring[next++ % 8];
	snprintf(p, 1024, "%s/%s", base ? base : "../shared", rel);
	return p;
}

const char *vt_cli(void)
{
	const char *c = getenv("VSTD_CLI");
	return c ? c : "vstd";
}

void vt_skip(const char *fmt, ...)
{
	char msg[512];
	const char *prog = getenv("CK_RUN_SUITE");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)prog;
	if (getenv("VSTD_TEST_REQUIRE_ALL") != NULL &&
	    strcmp(getenv("VSTD_TEST_REQUIRE_ALL"), "1") == 0) {
		fprintf(stderr, "FAIL (required, would skip): %s\n", msg);
		exit(1);
	}
	fprintf(stderr, "SKIP %s: %s\n", program_invocation_short_name, msg);
	exit(77);
}

void vt_require_tool(const char *tool, const char *package)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "command -v '%s' >/dev/null 2>&1", tool);
	if (system(cmd) != 0)
		vt_skip("needs %s (Debian package %s), not installed", tool, package);
}

void vt_require_file(const char *path, const char *why)
{
	if (access(path, R_OK) != 0)
		vt_skip("needs %s (%s), not found", path, why);
}

int vt_run(const char *fmt, ...)
{
	char cmd[8192], full[8300];
	FILE *p;
	size_t n;
	int status;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "( %s ) 2>&1", cmd);
	p = popen(full, "r");
	if (p == NULL)
		return -1;
	n = fread(output, 1, sizeof(output) - 1, p);
	output[n] = '\0';
	while (fread(cmd, 1, sizeof(cmd), p) > 0)
		; /* drain */
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

const char *vt_output(void)
{
	return output;
}

void vt_fill_random(void *buf, size_t len, uint64_t seed)
{
	uint8_t *b = buf;
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (uint8_t)x;
	}
}

void vt_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	ck_assert_msg(f != NULL, "cannot create %s: %s", path, strerror(errno));
	ck_assert(fwrite(data, 1, len, f) == len);
	ck_assert(fclose(f) == 0);
}

const char *vt_unpack(const char *shared_rel)
{
	static char ring[8][1024];
	static int next;
	char *out = ring[next++ % 8];
	const char *src = vt_shared(shared_rel);
	const char *base = strrchr(shared_rel, '/');
	size_t len;
	vt_require_file(src, "third-party corpus in ../shared");
	base = base ? base + 1 : shared_rel;
	snprintf(out, 1024, "%s/%s", vt_tmpdir(), base);
	len = strlen(out);
	if (len > 3 && strcmp(out + len - 3, ".gz") == 0) {
		out[len - 3] = '\0';
		ck_assert_msg(vt_run("gzip -dc '%s' > '%s'", src, out) == 0, "gunzip %s", src);
	} else if (len > 4 && strcmp(out + len - 4, ".bz2") == 0) {
		out[len - 4] = '\0';
		ck_assert_msg(vt_run("bzip2 -dc '%s' > '%s'", src, out) == 0, "bunzip2 %s", src);
	} else {
		ck_assert_msg(vt_run("cp '%s' '%s'", src, out) == 0, "copy %s", src);
	}
	return out;
}

int vt_main(Suite *suite)
{
	SRunner *sr = srunner_create(suite);
	int failed;
	vt_tmpdir();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

int vt_crash_run(const void *base, size_t len, const char *format, const char *name,
                 unsigned long crash_at, int crash_after, void (*op)(vstd_disk *d, void *arg),
                 void *arg, struct vt_crash *out)
{
	vstd_io_fault_opts fo = VSTD_IO_FAULT_OPTS_INIT;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_io *mem = NULL, *fault = NULL;
	vstd_io_fault_stats st;
	vstd_disk *d = NULL;
	const void *data;
	size_t n;
	int rc;
	ck_assert_int_eq(vstd_io_mem_new(&mem, base, len, 0, VSTD_IO_WRITE), 0);
	fo.hold_unflushed = 1;
	fo.crash_at_write = crash_at;
	ck_assert_int_eq(vstd_io_fault_new(&fault, mem, &fo), 0);
	oo.flags = VSTD_DISK_RDWR;
	oo.format = format;
	rc = vstd_disk_open_io(&d, fault, name, &oo);
	if (rc == 0) {
		op(d, arg);
		if (crash_after && vstd_io_fault_get_stats(fault, &st) == 0 && !st.crashed)
			vstd_io_fault_crash(fault);
		vstd_disk_close(d);
	}
	ck_assert_int_eq(vstd_io_fault_get_stats(fault, &st), 0);
	out->writes = st.writes;
	out->flushes = st.flushes;
	out->crashed = st.crashed;
	/* a run that reached its crash point must have crashed: else the
	 * loops over crash points would test nothing */
	ck_assert_msg(crash_at == 0 || st.crashed || st.writes < crash_at,
	              "crash point %lu passed (%lu writes) without a crash", crash_at, st.writes);
	vstd_io_close(fault);
	ck_assert_int_eq(vstd_io_mem_contents(mem, &data, &n), 0);
	out->after = malloc(n > 0 ? n : 1);
	ck_assert_ptr_nonnull(out->after);
	memcpy(out->after, data, n);
	out->after_len = n;
	vstd_io_close(mem);
	return rc;
}
