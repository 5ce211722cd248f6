/*
 * bench/disk/convert_bench.c - `vstd img convert` against `qemu-img convert`
 * on the same input, run alternately.
 *
 * The input is a raw image of random data followed by explicit zero data.
 * The sources of the "<fmt>->raw" cases are made from it by qemu-img (the
 * peer's own images), untimed.  Each case runs both programs --runs times,
 * alternating which goes first, removing the output before each run (and
 * sync(2) with --sync); the first vstd output of each case is checked with
 * `qemu-img compare` against the source.  Reported: min and median wall
 * time of each, the ratios vstd/qemu-img of the mins and of the medians, and
 * the median of the per-pair ratios (each vstd run against the qemu-img
 * run next to it: robust against load changing during the case).
 *
 * For the "->raw" cases a third, in-process contender runs in the same
 * rotation: the copy floor, the least any converter must do there: write
 * the input's data once into a new file (one pwrite per non-zero 2 MiB
 * piece of the mapped input, one thread, zero pieces left as holes).
 * Where qemu-img is already close to it, no ratio far below 1 is possible.
 * Each case starts with one untimed floor copy as a warm-up (see
 * bench_case).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

#define MAX_OPTS 4

struct conv_case {
	const char *name;
	const char *src; /* NULL: the raw input, else a prepared source's key */
	const char *src_fmt, *dst_fmt;
	const char *opts[MAX_OPTS + 1]; /* given to both programs */
	double goal;                    /* time ratio to stay at or below */
};

/* Sources of the "<fmt>->raw" cases, made from the input by qemu-img. */
struct prepared {
	const char *key, *fmt;
	const char *opts[MAX_OPTS + 1];
	int state; /* 0: not made, 1: made, -1: failed */
};

static struct prepared sources[] = {
        {"qcow2", "qcow2", {NULL}, 0},
        {"vmdk", "vmdk", {NULL}, 0},
        {"vmdk-stream", "vmdk", {"-o", "subformat=streamOptimized", NULL}, 0},
        {"vhd", "vpc", {NULL}, 0},
        {"vhdx", "vhdx", {NULL}, 0},
        {"vdi", "vdi", {NULL}, 0},
};

static const struct conv_case cases[] = {
        {"raw->raw", NULL, "raw", "raw", {NULL}, 0.8},
        {"raw->qcow2", NULL, "raw", "qcow2", {NULL}, 0.8},
        {"qcow2->raw", "qcow2", "qcow2", "raw", {NULL}, 0.8},
        {"raw->qcow2 zlib", NULL, "raw", "qcow2", {"-c", NULL}, 0.5},
        {"raw->qcow2 zstd", NULL, "raw", "qcow2", {"-c", "-o", "compression_type=zstd", NULL}, 0.5},
        {"raw->vmdk", NULL, "raw", "vmdk", {NULL}, 0.8},
        {"vmdk->raw", "vmdk", "vmdk", "raw", {NULL}, 0.8},
        {"raw->vmdk stream", NULL, "raw", "vmdk", {"-o", "subformat=streamOptimized", NULL}, 0.5},
        {"vmdk stream->raw", "vmdk-stream", "vmdk", "raw", {NULL}, 0.8},
        {"raw->vhd", NULL, "raw", "vpc", {NULL}, 0.8},
        {"vhd->raw", "vhd", "vpc", "raw", {NULL}, 0.8},
        {"raw->vhdx", NULL, "raw", "vhdx", {NULL}, 0.8},
        {"vhdx->raw", "vhdx", "vhdx", "raw", {NULL}, 0.8},
        {"raw->vdi", NULL, "raw", "vdi", {NULL}, 0.8},
        {"vdi->raw", "vdi", "vdi", "raw", {NULL}, 0.8},
};

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

/* The copy floor (see the top): seconds, or -1.  Untimed: mapping the
 * input, faulting it in and finding its data pieces; timed: creating the
 * file and one pwrite per data piece. */
static double copy_floor(const char *input, const char *out)
{
	const size_t piece = (size_t)2 << 20;
	struct stat st;
	double t0, t1 = -1;
	uint8_t *map, *is_data;
	size_t len, npieces;
	int in = open(input, O_RDONLY), fd;
	if (in < 0 || fstat(in, &st) != 0 || st.st_size <= 0) {
		if (in >= 0)
			close(in);
		return -1;
	}
	len = (size_t)st.st_size;
	map = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, in, 0);
	close(in);
	if (map == MAP_FAILED)
		return -1;
	npieces = (len + piece - 1) / piece;
	is_data = calloc(npieces, 1);
	for (size_t k = 0; is_data != NULL && k < npieces; k++) {
		size_t off = k * piece, n = len - off < piece ? len - off : piece;
		is_data[k] = !(map[off] == 0 && memcmp(map + off, map + off + 1, n - 1) == 0);
	}
	unlink(out);
	t0 = bench_now();
	fd = is_data != NULL ? open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
	if (fd >= 0 && ftruncate(fd, st.st_size) == 0) {
		size_t k = 0;
		for (; k < npieces; k++) {
			size_t off = k * piece, n = len - off < piece ? len - off : piece;
			if (is_data[k] && pwrite(fd, map + off, n, (off_t)off) != (ssize_t)n)
				break;
		}
		if (k == npieces)
			t1 = bench_now() - t0;
	}
	if (fd >= 0)
		close(fd);
	free(is_data);
	munmap(map, len);
	unlink(out);
	return t1;
}

/* argv of `<prog> [img] convert -f F -O O <opts> src dst` */
static void convert_argv(char **argv, const char *prog, int is_vstd, const char *src_fmt,
                         const char *dst_fmt, const char *const *opts, const char *src,
                         const char *dst)
{
	size_t n = 0;
	argv[n++] = (char *)prog;
	if (is_vstd)
		argv[n++] = "img";
	argv[n++] = "convert";
	argv[n++] = "-f";
	argv[n++] = (char *)src_fmt;
	argv[n++] = "-O";
	argv[n++] = (char *)dst_fmt;
	for (size_t i = 0; i < MAX_OPTS && opts[i] != NULL; i++)
		argv[n++] = (char *)opts[i];
	argv[n++] = (char *)src;
	argv[n++] = (char *)dst;
	argv[n] = NULL;
}

static const char *source_path(const struct config *c, const char *key, const char *input,
                               char *buf, size_t len)
{
	struct prepared *p = NULL;
	char *argv[16];
	struct run_result r;
	if (key == NULL)
		return input;
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
		if (strcmp(sources[i].key, key) == 0)
			p = &sources[i];
	if (p == NULL)
		return NULL;
	snprintf(buf, len, "%.3000s/src.%s", c->dir, key);
	if (p->state == 0) {
		fprintf(stderr, "  preparing %s source with qemu-img\n", key);
		convert_argv(argv, c->qemu_img, 0, "raw", p->fmt, p->opts, input, buf);
		p->state = bench_run(argv, NULL, &r) == 0 ? 1 : -1;
		if (p->state < 0)
			fprintf(stderr, "vstd-bench-disk: qemu-img could not make the %s source\n",
			        key);
	}
	return p->state > 0 ? buf : NULL;
}

static void drop_sources(const struct config *c)
{
	char path[PATH_MAX];
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		snprintf(path, sizeof(path), "%.3000s/src.%s", c->dir, sources[i].key);
		if (sources[i].state > 0)
			unlink(path);
		sources[i].state = 0;
	}
}

static json_object *double_array(const double *v, unsigned n)
{
	json_object *a = json_object_new_array();
	for (unsigned i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_double(v[i]));
	return a;
}

/* One case: returns a JSON object, or NULL when it failed. */
static json_object *bench_case(const struct config *c, const struct conv_case *k, const char *src,
                               const char *input)
{
	char out[PATH_MAX];
	double tv[100], tq[100], cv[100], cq[100], pr[100], tf[100];
	int floor_ok = strcmp(k->dst_fmt, "raw") == 0;
	double vmin, qmin, vmed, qmed, prmed;
	char *va[16], *qa[16];
	json_object *o;
	snprintf(out, sizeof(out), "%.3000s/out.%s", c->dir, k->dst_fmt);
	convert_argv(va, c->vstd, 1, k->src_fmt, k->dst_fmt, k->opts, src, out);
	convert_argv(qa, c->qemu_img, 0, k->src_fmt, k->dst_fmt, k->opts, src, out);
	/* Warm-up, untimed: write (and free) an output's worth of data first.
	 * On a VM whose free pages go back to the host (free page reporting,
	 * as on this machine) the first program to allocate after a quiet
	 * spell pays the host's faults: up to 3x the CPU time of the run,
	 * always landing on whoever runs first. */
	(void)copy_floor(input, out);
	for (unsigned r = 0; r < c->runs; r++) {
		for (int i = 0; i < 2; i++) {
			int is_vstd = (i == 0) == (r % 2 == 0);
			struct run_result rr;
			unlink(out);
			if (c->sync_disk)
				sync();
			if (bench_run(is_vstd ? va : qa, NULL, &rr) != 0) {
				fprintf(stderr, "vstd-bench-disk: %s: %s failed (status %d)\n",
				        k->name, is_vstd ? c->vstd : c->qemu_img, rr.status);
				unlink(out);
				return NULL;
			}
			(is_vstd ? tv : tq)[r] = rr.wall_s;
			(is_vstd ? cv : cq)[r] = rr.cpu_s;
			if (is_vstd && r == 0) {
				/* the output must hold the source's contents */
				char *ca[] = {(char *)c->qemu_img,
				              "compare",
				              "-q",
				              "-f",
				              (char *)k->src_fmt,
				              "-F",
				              (char *)k->dst_fmt,
				              (char *)src,
				              out,
				              NULL};
				struct run_result cr;
				if (bench_run(ca, NULL, &cr) != 0) {
					fprintf(stderr,
					        "vstd-bench-disk: %s: qemu-img compare finds "
					        "vstd's "
					        "output different from the source (status %d)\n",
					        k->name, cr.status);
					unlink(out);
					return NULL;
				}
			}
		}
		pr[r] = tv[r] / tq[r];
		if (floor_ok) {
			tf[r] = copy_floor(input, out);
			floor_ok = tf[r] > 0;
		}
		fprintf(stderr,
		        "  %-18s run %u: vstd %.3f s (cpu %.3f), qemu-img %.3f s (cpu %.3f)",
		        k->name, r + 1, tv[r], cv[r], tq[r], cq[r]);
		if (floor_ok)
			fprintf(stderr, ", copy floor %.3f s", tf[r]);
		fprintf(stderr, "\n");
	}
	unlink(out);
	vmin = bench_min(tv, c->runs);
	qmin = bench_min(tq, c->runs);
	vmed = bench_median(tv, c->runs);
	qmed = bench_median(tq, c->runs);
	prmed = bench_median(pr, c->runs);
	printf("%-18s vstd %.3f/%.3f s  qemu-img %.3f/%.3f s  ratio min %.3f median %.3f "
	       "pairs %.3f  goal <= %.1f: %s\n",
	       k->name, vmin, vmed, qmin, qmed, vmin / qmin, vmed / qmed, prmed, k->goal,
	       vmed / qmed <= k->goal   ? "met"
	       : vmin / qmin <= k->goal ? "min only"
	                                : "NOT met");
	if (floor_ok) {
		double fmin = bench_min(tf, c->runs), fmed = bench_median(tf, c->runs);
		printf("%-18s copy floor %.3f/%.3f s: vstd/floor %.2f, qemu-img/floor %.2f "
		       "(medians)\n",
		       "", fmin, fmed, vmed / fmed, qmed / fmed);
	}
	fflush(stdout);
	o = json_object_new_object();
	json_object_object_add(o, "case", json_object_new_string(k->name));
	json_object_object_add(o, "kind", json_object_new_string("convert"));
	json_object_object_add(o, "runs", json_object_new_int((int)c->runs));
	json_object_object_add(o, "vstd_s", double_array(tv, c->runs));
	json_object_object_add(o, "qemu_img_s", double_array(tq, c->runs));
	json_object_object_add(o, "vstd_cpu_s", double_array(cv, c->runs));
	json_object_object_add(o, "qemu_img_cpu_s", double_array(cq, c->runs));
	json_object_object_add(o, "vstd_min_s", json_object_new_double(vmin));
	json_object_object_add(o, "vstd_median_s", json_object_new_double(vmed));
	json_object_object_add(o, "qemu_img_min_s", json_object_new_double(qmin));
	json_object_object_add(o, "qemu_img_median_s", json_object_new_double(qmed));
	json_object_object_add(o, "ratio_min", json_object_new_double(vmin / qmin));
	json_object_object_add(o, "ratio_median", json_object_new_double(vmed / qmed));
	json_object_object_add(o, "ratio_pairs_median", json_object_new_double(prmed));
	json_object_object_add(o, "goal", json_object_new_double(k->goal));
	json_object_object_add(o, "met_median", json_object_new_boolean(vmed / qmed <= k->goal));
	json_object_object_add(o, "met_min", json_object_new_boolean(vmin / qmin <= k->goal));
	if (floor_ok) {
		json_object_object_add(o, "copy_floor_s", double_array(tf, c->runs));
		json_object_object_add(o, "copy_floor_median_s",
		                       json_object_new_double(bench_median(tf, c->runs)));
	}
	return o;
}

/* cases: NULL, or names separated by commas, each matching exactly or,
 * ending in '*', as a prefix */
static int case_wanted(const char *list, const char *name)
{
	const char *p = list;
	if (list == NULL)
		return 1;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len > 0 && p[len - 1] == '*'
		            ? strncmp(name, p, len - 1) == 0
		            : strlen(name) == len && strncmp(name, p, len) == 0)
			return 1;
		p += len + (e != NULL);
	}
	return 0;
}

int bench_convert(const struct config *c, json_object *results)
{
	char input[PATH_MAX], srcbuf[PATH_MAX];
	int failed = 0;
	snprintf(input, sizeof(input), "%.3000s/input.raw", c->dir);
	fprintf(stderr, "convert: input %lu MiB random + %lu MiB zero\n", c->random_mib,
	        c->zero_mib);
	if (make_input(input, c->random_mib, c->zero_mib) < 0)
		return 1;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct conv_case *k = &cases[i];
		const char *src;
		json_object *o;
		if (!case_wanted(c->cases, k->name))
			continue;
		src = source_path(c, k->src, input, srcbuf, sizeof(srcbuf));
		if (src == NULL) {
			failed++;
			continue;
		}
		o = bench_case(c, k, src, input);
		if (o == NULL)
			failed++;
		else
			json_object_array_add(results, o);
	}
	drop_sources(c);
	if (!c->keep)
		unlink(input);
	return failed;
}
