/*
 * tests/support/vtest.h - helpers shared by the Check test programs.
 *
 *  vt_tmpdir()        a fresh directory for this test program, removed at exit
 *  vt_path(name)      vt_tmpdir()/name (static buffer ring, 8 deep)
 *  vt_shared(rel)     ../shared/rel (the third-party corpus, read in place)
 *  vt_require_tool()  the program must be on PATH, else the whole test
 *                     program is skipped by name (exit 77), or fails when
 *                     VSTD_TEST_REQUIRE_ALL=1 (as in CI).  Call it from
 *                     main() before vt_main(): Check forks a child per test,
 *                     and a skip from inside a test would count as an error.
 *  vt_run(...)        run a shell command, capture stdout+stderr, return
 *                     its exit status; vt_output() gives the capture
 *  vt_cli()           path of the built `vstd` program
 *  vt_main(suite)     run a suite the usual way; returns the exit status
 */
#ifndef VSTD_TEST_SUPPORT_H
#define VSTD_TEST_SUPPORT_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "vstd/vstd.h"

const char *vt_tmpdir(void);
const char *vt_path(const char *name);
const char *vt_shared(const char *rel);
const char *vt_cli(void);
void vt_require_tool(const char *tool, const char *package);
void vt_require_file(const char *path, const char *why);
void vt_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
int vt_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *vt_output(void);
/* Write len pseudo-random bytes (seeded) to a buffer. */
void vt_fill_random(void *buf, size_t len, uint64_t seed);
/* Write a file from memory; ck_assert on failure. */
void vt_write_file(const char *path, const void *data, size_t len);
/*
 * Crash testing, one run: open a copy of the image base[0..len) for
 * writing (format NULL: probed; name NULL: no backing file is looked for)
 * through a fault-injecting layer that holds unflushed writes and drops
 * them at a crash before write crash_at (1-based; 0: never), run op on it
 * unless the open failed, with crash_after crash after op if no crash came
 * yet (no clean close), then close.  out: the writes, flushes and whether
 * a crash came; out->after (malloc'd, the caller frees) the bytes left.
 * Fails the test when the run made crash_at writes without crashing.
 * Returns 0, or the open's error.
 */
struct vt_crash {
	unsigned long writes, flushes;
	int crashed;
	uint8_t *after;
	size_t after_len;
};
int vt_crash_run(const void *base, size_t len, const char *format, const char *name,
                 unsigned long crash_at, int crash_after, void (*op)(vstd_disk *d, void *arg),
                 void *arg, struct vt_crash *out);
/* Decompress a .gz or .bz2 corpus file into the tmpdir; returns the path. */
const char *vt_unpack(const char *shared_rel);
/* Fail the current test with the last vstd error if rc < 0. */
#define vt_ok(expr)                                                                                \
	do {                                                                                       \
		int vt_rc_ = (expr);                                                               \
		ck_assert_msg(vt_rc_ >= 0, "%s failed: %d %s", #expr, vt_rc_,                      \
		              vstd_error_last()->message);                                         \
	} while (0)
int vt_main(Suite *suite);

#endif
