/*
 * bench/disk/bench.h - shared parts of vstd-bench-disk: configuration,
 * running a program with its wall time and resource use, statistics.
 */
#ifndef VSTD_BENCH_DISK_H
#define VSTD_BENCH_DISK_H

#include <json-c/json.h>
#include <stdint.h>

struct config {
	const char *vstd, *qemu_img, *dir, *json, *svg;
	const char *self; /* this program (for --rss-exec) */
	unsigned runs;
	unsigned long random_mib, zero_mib;
	const char *only;  /* comma-separated parts: convert,io,rss */
	const char *cases; /* convert cases: "a,b,c*" (see convert_bench.c), or NULL */
	uint64_t io_size;  /* random I/O image size */
	unsigned long io_count;
	uint64_t rss_size; /* sparse image of the memory measurement */
	int keep, sync_disk, smoke;
};

/* One child run. */
struct run_result {
	int status; /* exit status, -1: did not run or was killed */
	double wall_s, cpu_s;
	long maxrss_kib;
};

/* Run argv with stdout (and, if quiet_err, stderr) sent to /dev/null; out
 * gets stdout instead when out_path is not NULL. */
int bench_run(char *const argv[], const char *out_path, struct run_result *r);

double bench_now(void);
double bench_median(double *v, unsigned n);
double bench_min(const double *v, unsigned n);

/* The parts; each adds its results to `results` (a JSON array) and returns
 * the number of failures. */
int bench_convert(const struct config *c, json_object *results);
int bench_io(const struct config *c, json_object *results);
int bench_rss(const struct config *c, json_object *results);

/* Write the data and script for gnuplot beside c->svg and run it. */
void bench_plot(const struct config *c, json_object *results);

#endif
