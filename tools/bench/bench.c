/*
 * tools/bench/bench.c - `vstd bench`: run the benchmark programs.
 *
 * Each benchmark is its own installed program, vstd-bench-<name>, built from
 * bench/<name>/.  `vstd bench <name> [args]` runs the one beside the vstd
 * binary (a build tree or an installed bin/ directory) or, failing that, the
 * one on PATH; `vstd bench --list` lists the ones it can find.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cli.h"

int vstd_cmd_bench(int argc, char **argv);

#define PREFIX "vstd-bench-"

/* Directory of the running vstd binary, or "" when unknown. */
static void self_dir(char *dir, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", dir, size - 1);
	char *slash;
	if (n <= 0) {
		dir[0] = '\0';
		return;
	}
	dir[n] = '\0';
	slash = strrchr(dir, '/');
	if (slash != NULL)
		*slash = '\0';
}

static int list_benchmarks(void)
{
	char dir[PATH_MAX];
	DIR *d;
	struct dirent *e;
	int found = 0;
	self_dir(dir, sizeof(dir));
	d = dir[0] ? opendir(dir) : NULL;
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) == 0) {
			printf("%s\n", e->d_name + strlen(PREFIX));
			found++;
		}
	}
	if (d != NULL)
		closedir(d);
	if (!found)
		fprintf(stderr,
		        "vstd bench: no vstd-bench-* programs beside %s "
		        "(build with -DVSTD_BUILD_BENCH=ON)\n",
		        dir[0] ? dir : "vstd");
	return found ? 0 : 1;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: vstd bench <name> [args...]   run vstd-bench-<name> (see its --help)\n"
	        "       vstd bench --list             list the benchmarks of this build\n"
	        "\nBenchmarks run vstd and its peer (qemu-img, QEMU, sha256sum ...) on the same\n"
	        "inputs in one run, repeat, and print min and median with the ratio vstd/peer.\n");
}

int vstd_cmd_bench(int argc, char **argv)
{
	char dir[PATH_MAX], path[PATH_MAX + 64], prog[128];
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "--list") == 0)
		return list_benchmarks();
	if (strchr(argv[1], '/') != NULL || strlen(argv[1]) > 64) {
		fprintf(stderr,
		        "vstd bench: '%s' is not a benchmark name (see vstd bench --list)\n",
		        argv[1]);
		return 2;
	}
	snprintf(prog, sizeof(prog), PREFIX "%s", argv[1]);
	self_dir(dir, sizeof(dir));
	if (snprintf(path, sizeof(path), "%s/%s", dir, prog) >= (int)sizeof(path))
		dir[0] = '\0'; /* too long to be ours: use PATH */
	argv[1] = prog;
	if (dir[0] && access(path, X_OK) == 0)
		execv(path, argv + 1);
	execvp(prog, argv + 1);
	fprintf(stderr, "vstd bench: cannot run %s: %s (see vstd bench --list)\n", prog,
	        strerror(errno));
	return errno == ENOENT ? 2 : 1;
}
