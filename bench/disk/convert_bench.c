/*
 * bench/disk/convert_bench.c - vstd-bench-disk: `vstd img convert` against
 * `qemu-img convert` on the same input, run alternately.
 *
 * The input is a raw image of --random-mib MiB of random data followed by
 * --zero-mib MiB of explicit zero data (default 1024 + 1024: 2 GiB).  Each
 * case (raw->raw, raw->qcow2) runs both programs --runs times (default 3),
 * alternating, removing the output after each run; the report gives the
 * min and median wall time of each and the ratio vstd/qemu-img (below 1:
 * vstd is faster).  Results also go to a JSON file (--json, default
 * bench-disk.json).  The qcow2 case is skipped when this vstd cannot create
 * qcow2 images.  Opt-in: never part of ctest.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct config {
	const char *vstd, *qemu_img, *dir, *json;
	unsigned runs;
	unsigned long random_mib, zero_mib;
	int keep;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run argv quietly; returns the exit status, or -1. */
static int run(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status, rc;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		fprintf(stderr, "vstd-bench-disk: cannot run %s: %s\n", argv[0], strerror(rc));
		return -1;
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int make_input(const char *path, unsigned long random_mib, unsigned long zero_mib)
{
	FILE *f = fopen(path, "wb");
	unsigned char *buf = malloc(1 << 20);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	int rc = 0;
	if (f == NULL || buf == NULL) {
		fprintf(stderr, "vstd-bench-disk: cannot create %s: %s\n", path, strerror(errno));
		free(buf);
		if (f)
			fclose(f);
		return -1;
	}
	for (unsigned long m = 0; m < random_mib + zero_mib && rc == 0; m++) {
		if (m < random_mib) {
			for (size_t i = 0; i < (1 << 20); i += 8) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				memcpy(buf + i, &x, 8);
			}
		} else {
			memset(buf, 0, 1 << 20);
		}
		if (fwrite(buf, 1, 1 << 20, f) != (1 << 20))
			rc = -1;
	}
	if (fclose(f) != 0)
		rc = -1;
	free(buf);
	if (rc < 0)
		fprintf(stderr, "vstd-bench-disk: writing %s failed\n", path);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One case: returns a JSON object, or NULL when skipped/failed. */
static json_object *bench_case(const struct config *c, const char *input, const char *fmt)
{
	char out[PATH_MAX];
	double *tv = calloc(c->runs, sizeof(double)), *tq = calloc(c->runs, sizeof(double));
	double vmin = 1e30, qmin = 1e30, vmed, qmed;
	json_object *o;
	snprintf(out, sizeof(out), "%.3000s/out.%.16s", c->dir, fmt);
	if (tv == NULL || tq == NULL)
		goto fail;
	for (unsigned r = 0; r < c->runs; r++) {
		char *va[] = {(char *)c->vstd, "img",         "convert", "-f", "raw", "-O",
		              (char *)fmt,     (char *)input, out,       NULL};
		char *qa[] = {(char *)c->qemu_img, "convert",     "-f", "raw", "-O",
		              (char *)fmt,         (char *)input, out,  NULL};
		/* alternate which program goes first */
		for (int k = 0; k < 2; k++) {
			int is_vstd = (k == 0) == (r % 2 == 0);
			double t0;
			int rc;
			unlink(out);
			sync();
			t0 = now();
			rc = run(is_vstd ? va : qa);
			(is_vstd ? tv : tq)[r] = now() - t0;
			if (rc != 0) {
				fprintf(stderr,
				        "vstd-bench-disk: %s convert to %s failed (status %d)\n",
				        is_vstd ? c->vstd : c->qemu_img, fmt, rc);
				goto fail;
			}
		}
		if (tv[r] < vmin)
			vmin = tv[r];
		if (tq[r] < qmin)
			qmin = tq[r];
		fprintf(stderr, "  raw->%s run %u: vstd %.3f s, qemu-img %.3f s\n", fmt, r + 1,
		        tv[r], tq[r]);
	}
	unlink(out);
	vmed = median(tv, c->runs);
	qmed = median(tq, c->runs);
	printf("raw->%-6s vstd min %.3f s median %.3f s | qemu-img min %.3f s median %.3f s | "
	       "ratio min %.3f median %.3f\n",
	       fmt, vmin, vmed, qmin, qmed, vmin / qmin, vmed / qmed);
	o = json_object_new_object();
	json_object_object_add(o, "case", json_object_new_string(fmt));
	json_object_object_add(o, "runs", json_object_new_int((int)c->runs));
	json_object_object_add(o, "vstd_min_s", json_object_new_double(vmin));
	json_object_object_add(o, "vstd_median_s", json_object_new_double(vmed));
	json_object_object_add(o, "qemu_img_min_s", json_object_new_double(qmin));
	json_object_object_add(o, "qemu_img_median_s", json_object_new_double(qmed));
	json_object_object_add(o, "ratio_min", json_object_new_double(vmin / qmin));
	json_object_object_add(o, "ratio_median", json_object_new_double(vmed / qmed));
	free(tv);
	free(tq);
	return o;
fail:
	unlink(out);
	free(tv);
	free(tq);
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vstd-bench-disk [--runs N] [--random-mib N] [--zero-mib N] [--dir DIR]\n"
	           "                       [--vstd PATH] [--qemu-img PATH] [--json FILE] [--keep]\n"
	           "Times `vstd img convert` against `qemu-img convert` (raw->raw, raw->qcow2).\n");
}

int main(int argc, char **argv)
{
	struct config c = {NULL, "qemu-img", NULL, "bench-disk.json", 3, 1024, 1024, 0};
	char tmpl[PATH_MAX], input[PATH_MAX], vstd_guess[PATH_MAX], probe[PATH_MAX];
	json_object *root, *cases;
	const char *fmts[] = {"raw", "qcow2"};
	int failed = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--keep") == 0) {
			c.keep = 1;
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
		else {
			usage(stderr);
			return 2;
		}
		i++;
	}
	if (c.runs == 0 || c.runs > 100 || c.random_mib + c.zero_mib == 0) {
		fprintf(stderr, "vstd-bench-disk: --runs must be 1-100 and the input non-empty\n");
		return 2;
	}
	if (c.vstd == NULL) {
		/* the vstd built beside this program (build/bench/ -> build/), else PATH */
		const char *slash = strrchr(argv[0], '/');
		c.vstd = "vstd";
		if (slash != NULL) {
			snprintf(vstd_guess, sizeof(vstd_guess), "%.*s/../vstd",
			         (int)(slash - argv[0]), argv[0]);
			if (access(vstd_guess, X_OK) == 0)
				c.vstd = vstd_guess;
		}
		if (getenv("VSTD_CLI") != NULL)
			c.vstd = getenv("VSTD_CLI");
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
	if (strlen(c.dir) > PATH_MAX - 64) {
		fprintf(stderr, "vstd-bench-disk: --dir path too long\n");
		return 2;
	}
	snprintf(input, sizeof(input), "%.3000s/input.raw", c.dir);
	fprintf(stderr, "vstd-bench-disk: %s vs %s, input %lu MiB random + %lu MiB zero in %s\n",
	        c.vstd, c.qemu_img, c.random_mib, c.zero_mib, c.dir);
	if (make_input(input, c.random_mib, c.zero_mib) < 0)
		return 1;
	root = json_object_new_object();
	cases = json_object_new_array();
	json_object_object_add(root, "benchmark", json_object_new_string("convert"));
	json_object_object_add(root, "random_mib", json_object_new_int64((int64_t)c.random_mib));
	json_object_object_add(root, "zero_mib", json_object_new_int64((int64_t)c.zero_mib));
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		json_object *o;
		if (strcmp(fmts[i], "raw") != 0) {
			char *pa[] = {(char *)c.vstd,  "img", "create", "-q", "-f",
			              (char *)fmts[i], probe, "1M",     NULL};
			snprintf(probe, sizeof(probe), "%.3000s/probe.%.16s", c.dir, fmts[i]);
			if (run(pa) != 0) {
				printf("raw->%-6s skipped: this vstd cannot create %s images\n",
				       fmts[i], fmts[i]);
				unlink(probe);
				continue;
			}
			unlink(probe);
		}
		o = bench_case(&c, input, fmts[i]);
		if (o == NULL)
			failed = 1;
		else
			json_object_array_add(cases, o);
	}
	json_object_object_add(root, "cases", cases);
	if (json_object_to_file_ext(c.json, root, JSON_C_TO_STRING_PRETTY) != 0)
		fprintf(stderr, "vstd-bench-disk: cannot write %s\n", c.json);
	else
		fprintf(stderr, "vstd-bench-disk: results in %s\n", c.json);
	json_object_put(root);
	if (!c.keep) {
		unlink(input);
		if (c.dir == tmpl)
			rmdir(c.dir);
	}
	return failed;
}
