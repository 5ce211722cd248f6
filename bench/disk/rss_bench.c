/*
 * bench/disk/rss_bench.c - peak RSS of `vstd img convert` and `qemu-img
 * convert` on a sparse image (--rss-size, default 64 GiB): a raw file with
 * 4 x 16 MiB of random data spread over it and holes elsewhere, converted to
 * qcow2, and the qcow2 (made by qemu-img) converted back to raw.  The peak
 * RSS is the program's ru_maxrss from wait4(2), taken by a fresh copy of the
 * bench (`--rss-exec`, see main.c); each program runs --runs times and the
 * largest peak counts.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static int make_sparse(const char *path, uint64_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), rc = 0;
	uint8_t *buf = malloc(16 << 20);
	uint64_t x = 0x2545f4914f6cdd1dull;
	if (fd < 0 || buf == NULL || ftruncate(fd, (off_t)size) != 0)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < (16u << 20); i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + i, &x, 8);
	}
	for (unsigned k = 0; rc == 0 && k < 4; k++) {
		uint64_t off = size / 4 * k;
		size_t n = size - off < (16u << 20) ? (size_t)(size - off) : (16u << 20);
		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
			rc = -1;
	}
	free(buf);
	if (fd >= 0 && close(fd) != 0)
		rc = -1;
	if (rc < 0)
		fprintf(stderr, "vstd-bench-disk: cannot make the sparse image %s\n", path);
	return rc;
}

static int rss_case(const struct config *c, const char *name, const char *src, const char *sfmt,
                    const char *dfmt, json_object *results)
{
	char out[PATH_MAX], rssf[PATH_MAX];
	long vpeak = 0, qpeak = 0;
	double vt = 0, qt = 0;
	json_object *o;
	snprintf(out, sizeof(out), "%.3000s/rss-out.%s", c->dir, dfmt);
	snprintf(rssf, sizeof(rssf), "%.3000s/rss-kib", c->dir);
	for (unsigned r = 0; r < c->runs; r++) {
		for (int i = 0; i < 2; i++) {
			int is_vstd = (i == 0) == (r % 2 == 0);
			char *va[] = {(char *)c->self,
			              "--rss-exec",
			              rssf,
			              (char *)c->vstd,
			              "img",
			              "convert",
			              "-f",
			              (char *)sfmt,
			              "-O",
			              (char *)dfmt,
			              (char *)src,
			              out,
			              NULL};
			char *qa[] = {(char *)c->self,     "--rss-exec", rssf,
			              (char *)c->qemu_img, "convert",    "-f",
			              (char *)sfmt,        "-O",         (char *)dfmt,
			              (char *)src,         out,          NULL};
			struct run_result rr;
			FILE *f = NULL;
			long kib = 0;
			unlink(out);
			if (bench_run(is_vstd ? va : qa, NULL, &rr) != 0 ||
			    (f = fopen(rssf, "r")) == NULL) {
				fprintf(stderr, "vstd-bench-disk: %s: %s failed (status %d)\n",
				        name, is_vstd ? c->vstd : c->qemu_img, rr.status);
				unlink(out);
				return 1;
			}
			if (fscanf(f, "%ld", &kib) != 1)
				kib = 0;
			fclose(f);
			if (is_vstd) {
				vpeak = kib > vpeak ? kib : vpeak;
				vt = rr.wall_s;
			} else {
				qpeak = kib > qpeak ? kib : qpeak;
				qt = rr.wall_s;
			}
		}
	}
	unlink(out);
	unlink(rssf);
	printf("%-20s peak RSS vstd %.1f MiB, qemu-img %.1f MiB: ratio %.2f (last run %.2f s vs "
	       "%.2f s)\n",
	       name, vpeak / 1024.0, qpeak / 1024.0, (double)vpeak / (double)qpeak, vt, qt);
	fflush(stdout);
	o = json_object_new_object();
	json_object_object_add(o, "case", json_object_new_string(name));
	json_object_object_add(o, "kind", json_object_new_string("rss"));
	json_object_object_add(o, "image_bytes", json_object_new_int64((int64_t)c->rss_size));
	json_object_object_add(o, "vstd_peak_rss_kib", json_object_new_int64(vpeak));
	json_object_object_add(o, "qemu_img_peak_rss_kib", json_object_new_int64(qpeak));
	json_object_object_add(o, "rss_ratio",
	                       json_object_new_double((double)vpeak / (double)qpeak));
	json_object_object_add(o, "vstd_last_s", json_object_new_double(vt));
	json_object_object_add(o, "qemu_img_last_s", json_object_new_double(qt));
	json_object_array_add(results, o);
	return 0;
}

int bench_rss(const struct config *c, json_object *results)
{
	char raw[PATH_MAX], qcow[PATH_MAX], name[64];
	struct run_result rr;
	int failed = 0;
	snprintf(raw, sizeof(raw), "%.3000s/rss.raw", c->dir);
	snprintf(qcow, sizeof(qcow), "%.3000s/rss.qcow2", c->dir);
	fprintf(stderr, "rss: %" PRIu64 " GiB sparse raw with 64 MiB of data\n", c->rss_size >> 30);
	if (make_sparse(raw, c->rss_size) < 0)
		return 1;
	snprintf(name, sizeof(name), "rss %" PRIu64 "G raw->qcow2", c->rss_size >> 30);
	failed += rss_case(c, name, raw, "raw", "qcow2", results);
	{
		char *argv[] = {(char *)c->qemu_img,
		                "convert",
		                "-f",
		                "raw",
		                "-O",
		                "qcow2",
		                raw,
		                qcow,
		                NULL};
		if (bench_run(argv, NULL, &rr) != 0) {
			fprintf(stderr, "vstd-bench-disk: qemu-img could not make %s\n", qcow);
			failed++;
		} else {
			snprintf(name, sizeof(name), "rss %" PRIu64 "G qcow2->raw",
			         c->rss_size >> 30);
			failed += rss_case(c, name, qcow, "qcow2", "raw", results);
		}
	}
	unlink(raw);
	unlink(qcow);
	return failed;
}
