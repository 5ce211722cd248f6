/*
 * bench/disk/main.c - vstd-bench-disk: vstd against qemu-img on the same
 * inputs in the same run, reported as ratios (issues 3 and 4).
 *
 * Parts (--only convert,io,rss; all by default):
 *   convert  `vstd img convert` vs `qemu-img convert` on a raw image of
 *            --random-mib MiB of random data and --zero-mib MiB of zero data
 *            (default 1024 + 1024), to and from every format, plain and
 *            compressed; runs alternate between the two programs
 *            (convert.c);
 *   io       random 4 KiB reads and writes at queue depth 1 and 16 on a
 *            qcow2 image vs `qemu-img bench` with the same offsets (io.c);
 *   rss      peak RSS of both programs converting a sparse 64 GiB image
 *            (rss.c).
 * Results: a JSON file and a gnuplot SVG (default: beside this program, i.e.
 * the build directory).  Opt-in: never part of ctest; --smoke runs every
 * part on tiny inputs (tests/disk/test_bench_disk.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int bench_run(char *const argv[], const char *out_path, struct run_result *r)
{
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	pid_t pid;
	int status, rc;
	double t0;
	memset(r, 0, sizeof(*r));
	r->status = -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out_path ? out_path : "/dev/null",
	                                 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	t0 = bench_now();
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		fprintf(stderr, "vstd-bench-disk: cannot run %s: %s\n", argv[0], strerror(rc));
		return -1;
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR)
			return -1;
	}
	r->wall_s = bench_now() - t0;
	r->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	r->maxrss_kib = ru.ru_maxrss;
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return r->status;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double bench_median(double *v, unsigned n)
{
	double *s;
	double m;
	if (n == 0)
		return 0;
	s = malloc(n * sizeof(*s));
	if (s == NULL)
		return 0;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	free(s);
	return m;
}

double bench_min(const double *v, unsigned n)
{
	double m = n ? v[0] : 0;
	for (unsigned i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

/* ------------------------------------------------------------ plot */

void bench_plot(const struct config *c, json_object *results)
{
	char dat[PATH_MAX], gp[PATH_MAX];
	struct run_result r;
	FILE *f;
	size_t n = json_object_array_length(results), rows = 0;
	snprintf(dat, sizeof(dat), "%.4000s.dat", c->svg);
	snprintf(gp, sizeof(gp), "%.4000s.gp", c->svg);
	f = fopen(dat, "w");
	if (f == NULL) {
		fprintf(stderr, "vstd-bench-disk: cannot write %s: %s\n", dat, strerror(errno));
		return;
	}
	/* one row per result with a ratio: label, min, median, goal.  The I/O
	 * ratios are IOPS ratios (higher is better): plotted as their inverse
	 * so that below the goal mark is good everywhere. */
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(results, i), *v;
		const char *name;
		double rmin, rmed, goal = 0;
		int inverse = 0;
		if (!json_object_object_get_ex(o, "case", &v))
			continue;
		name = json_object_get_string(v);
		if (json_object_object_get_ex(o, "ratio_min", &v)) {
			rmin = json_object_get_double(v);
			json_object_object_get_ex(o, "ratio_median", &v);
			rmed = json_object_get_double(v);
		} else if (json_object_object_get_ex(o, "iops_ratio_max", &v)) {
			rmin = json_object_get_double(v);
			json_object_object_get_ex(o, "iops_ratio_median", &v);
			rmed = json_object_get_double(v);
			inverse = 1;
		} else if (json_object_object_get_ex(o, "rss_ratio", &v)) {
			rmin = rmed = json_object_get_double(v);
		} else {
			continue;
		}
		if (json_object_object_get_ex(o, "goal", &v))
			goal = json_object_get_double(v);
		if (inverse) {
			rmin = rmin > 0 ? 1 / rmin : 0;
			rmed = rmed > 0 ? 1 / rmed : 0;
			goal = goal > 0 ? 1 / goal : 0;
		}
		if (goal > 0)
			fprintf(f, "\"%s%s\" %.4f %.4f %.4f\n", name, inverse ? " (1/IOPS)" : "",
			        rmin, rmed, goal);
		else
			fprintf(f, "\"%s%s\" %.4f %.4f NaN\n", name, inverse ? " (1/IOPS)" : "",
			        rmin, rmed);
		rows++;
	}
	fclose(f);
	if (rows == 0) {
		unlink(dat);
		return;
	}
	f = fopen(gp, "w");
	if (f == NULL) {
		fprintf(stderr, "vstd-bench-disk: cannot write %s: %s\n", gp, strerror(errno));
		return;
	}
	fprintf(f,
	        "set terminal svg size %zu,480 dynamic\n"
	        "set output '%s'\n"
	        "set title 'vstd / qemu-img (time; I/O: inverse IOPS) - lower is better'\n"
	        "set style data histograms\n"
	        "set style histogram clustered gap 1\n"
	        "set style fill solid 0.7 border -1\n"
	        "set boxwidth 0.9\n"
	        "set xtics rotate by 45 right font ',9'\n"
	        "set bmargin 9\n"
	        "set yrange [0:*]\n"
	        "set grid ytics\n"
	        "set key top left\n"
	        "plot '%s' using 2:xtic(1) title 'ratio (min)', '' using 3 title 'ratio "
	        "(median)', '' using 0:4 with points pt 9 ps 1.2 lc rgb 'red' title 'goal', 1 "
	        "with lines lc rgb 'gray' notitle\n",
	        600 + rows * 40, c->svg, dat);
	fclose(f);
	{
		char *argv[] = {"gnuplot", gp, NULL};
		if (bench_run(argv, NULL, &r) != 0)
			fprintf(stderr,
			        "vstd-bench-disk: gnuplot not found or failed: no plot (%s "
			        "skipped; "
			        "install gnuplot-nox)\n",
			        c->svg);
		else
			fprintf(stderr, "vstd-bench-disk: plot in %s\n", c->svg);
	}
}

/* ------------------------------------------------------------ main */

static void usage(FILE *f)
{
	fprintf(f, "usage: vstd-bench-disk [--runs N] [--random-mib N] [--zero-mib N] [--dir DIR]\n"
	           "          [--vstd PATH] [--qemu-img PATH] [--json FILE] [--svg FILE]\n"
	           "          [--only convert,io,rss] [--cases LIST] [--io-size MIB]\n"
	           "          [--io-count N] [--rss-size GIB] [--sync] [--keep] [--smoke]\n"
	           "vstd against qemu-img in the same run (ratios vstd/qemu-img, min and median):\n"
	           "  convert  raw <-> raw/qcow2/vmdk/vhd/vhdx/vdi, qcow2 zlib/zstd, vmdk\n"
	           "           streamOptimized (--cases A,B*: only these cases, * ends a prefix)\n"
	           "  io       random 4 KiB read/write, queue depth 1 and 16, vs qemu-img bench\n"
	           "  rss      peak RSS converting a sparse image (default 64 GiB)\n"
	           "--sync: sync(2) before every timed run (for a disk-backed --dir).\n"
	           "--smoke: tiny inputs, one run: checks that every part works.\n");
}

static int want_part(const struct config *c, const char *part)
{
	const char *p = c->only;
	size_t n = strlen(part);
	if (p == NULL)
		return 1;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && strncmp(p, part, n) == 0)
			return 1;
		p += len + (e != NULL);
	}
	return 0;
}

/*
 * `--rss-exec FILE PROG ARGS...`: run PROG and write its peak RSS (KiB) to
 * FILE.  The peak RSS wait4() reports for a child includes the memory of the
 * process it was spawned from (up to its exec), so bench_rss runs the
 * programs through this fresh, small copy of the bench rather than from the
 * bench itself, whose memory grew during the other parts.
 */
static int rss_exec(char **argv)
{
	struct rusage ru;
	int status;
	pid_t pid;
	FILE *f;
	if (posix_spawnp(&pid, argv[1], NULL, NULL, argv + 1, environ) != 0)
		return 127;
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			return 127;
	f = fopen(argv[0], "w");
	if (f == NULL || fprintf(f, "%ld\n", ru.ru_maxrss) < 0 || fclose(f) != 0)
		return 126;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 125;
}

int main(int argc, char **argv)
{
	struct config c = {.qemu_img = "qemu-img",
	                   .self = "/proc/self/exe",
	                   .runs = 3,
	                   .random_mib = 1024,
	                   .zero_mib = 1024,
	                   .io_size = (uint64_t)4 << 30,
	                   .io_count = 100000,
	                   .rss_size = (uint64_t)64 << 30};
	char tmpl[PATH_MAX], here[PATH_MAX], vstd_guess[PATH_MAX + 16], json_guess[PATH_MAX + 32],
	        svg_guess[PATH_MAX + 32];
	json_object *root, *results;
	const char *slash = strrchr(argv[0], '/');
	int failed = 0;
	if (argc > 3 && strcmp(argv[1], "--rss-exec") == 0)
		return rss_exec(argv + 2);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--keep") == 0) {
			c.keep = 1;
			continue;
		} else if (strcmp(a, "--sync") == 0) {
			c.sync_disk = 1;
			continue;
		} else if (strcmp(a, "--smoke") == 0) {
			c.smoke = 1;
			continue;
		} else if (v == NULL) {
			usage(stderr);
			return 2;
		}
		if (strcmp(a, "--runs") == 0)
			c.runs = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--random-mib") == 0)
			c.random_mib = strtoul(v, NULL, 10);
		else if (strcmp(a, "--zero-mib") == 0)
			c.zero_mib = strtoul(v, NULL, 10);
		else if (strcmp(a, "--dir") == 0)
			c.dir = v;
		else if (strcmp(a, "--vstd") == 0)
			c.vstd = v;
		else if (strcmp(a, "--qemu-img") == 0)
			c.qemu_img = v;
		else if (strcmp(a, "--json") == 0)
			c.json = v;
		else if (strcmp(a, "--svg") == 0)
			c.svg = v;
		else if (strcmp(a, "--only") == 0)
			c.only = v;
		else if (strcmp(a, "--cases") == 0)
			c.cases = v;
		else if (strcmp(a, "--io-size") == 0)
			c.io_size = (uint64_t)strtoull(v, NULL, 10) << 20;
		else if (strcmp(a, "--io-count") == 0)
			c.io_count = strtoul(v, NULL, 10);
		else if (strcmp(a, "--rss-size") == 0)
			c.rss_size = (uint64_t)strtoull(v, NULL, 10) << 30;
		else {
			usage(stderr);
			return 2;
		}
		i++;
	}
	if (c.smoke) {
		c.runs = 1;
		c.random_mib = 4;
		c.zero_mib = 4;
		c.io_size = (uint64_t)64 << 20;
		c.io_count = 2000;
		c.rss_size = (uint64_t)1 << 30;
	}
	if (c.runs == 0 || c.runs > 100 || c.random_mib + c.zero_mib == 0 ||
	    c.io_size < ((uint64_t)1 << 20) || c.io_count == 0 || c.rss_size == 0) {
		fprintf(stderr, "vstd-bench-disk: --runs must be 1-100, the input, --io-size, "
		                "--io-count and --rss-size non-zero\n");
		return 2;
	}
	/* beside this program (the build directory), else the current one */
	if (slash != NULL)
		snprintf(here, sizeof(here), "%.*s", (int)(slash - argv[0]), argv[0]);
	else
		snprintf(here, sizeof(here), ".");
	if (c.vstd == NULL) {
		snprintf(vstd_guess, sizeof(vstd_guess), "%s/vstd", here);
		c.vstd = access(vstd_guess, X_OK) == 0 ? vstd_guess : "vstd";
		if (getenv("VSTD_CLI") != NULL)
			c.vstd = getenv("VSTD_CLI");
	}
	if (c.json == NULL) {
		snprintf(json_guess, sizeof(json_guess), "%s/bench-disk%s.json", here,
		         c.smoke ? "-smoke" : "");
		c.json = json_guess;
	}
	if (c.svg == NULL) {
		snprintf(svg_guess, sizeof(svg_guess), "%s/bench-disk%s.svg", here,
		         c.smoke ? "-smoke" : "");
		c.svg = svg_guess;
	}
	if (c.dir == NULL) {
		snprintf(tmpl, sizeof(tmpl), "%s/vstd-bench-XXXXXX",
		         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if (mkdtemp(tmpl) == NULL) {
			perror("vstd-bench-disk: mkdtemp");
			return 1;
		}
		c.dir = tmpl;
	}
	if (mkdir(c.dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "vstd-bench-disk: cannot make %s: %s\n", c.dir, strerror(errno));
		return 1;
	}
	if (strlen(c.dir) > 3000) {
		fprintf(stderr, "vstd-bench-disk: --dir path too long\n");
		return 2;
	}
	fprintf(stderr, "vstd-bench-disk: %s vs %s in %s, %u run(s) each\n", c.vstd, c.qemu_img,
	        c.dir, c.runs);
	root = json_object_new_object();
	results = json_object_new_array();
	json_object_object_add(root, "benchmark", json_object_new_string("disk"));
	json_object_object_add(root, "dir", json_object_new_string(c.dir));
	json_object_object_add(root, "runs", json_object_new_int((int)c.runs));
	json_object_object_add(root, "time", json_object_new_int64((int64_t)time(NULL)));
	json_object_object_add(root, "cpus",
	                       json_object_new_int((int)sysconf(_SC_NPROCESSORS_ONLN)));
	if (want_part(&c, "convert"))
		failed += bench_convert(&c, results);
	if (want_part(&c, "io"))
		failed += bench_io(&c, results);
	if (want_part(&c, "rss"))
		failed += bench_rss(&c, results);
	json_object_object_add(root, "results", json_object_get(results));
	if (json_object_to_file_ext(c.json, root, JSON_C_TO_STRING_PRETTY) != 0)
		fprintf(stderr, "vstd-bench-disk: cannot write %s\n", c.json);
	else
		fprintf(stderr, "vstd-bench-disk: results in %s\n", c.json);
	bench_plot(&c, results);
	json_object_put(results);
	json_object_put(root);
	if (!c.keep && c.dir == tmpl)
		rmdir(c.dir);
	return failed ? 1 : 0;
}
