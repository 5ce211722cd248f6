/*
 * bench/vmm/bench_vmm.c - vstd-bench-vmm: `vstd vmm run` against QEMU with
 * the same accelerator, both booting the conformance guest with "bench" on
 * its command line, N runs each:
 *   - start -> the guest's report begins on the serial port (first output)
 *   - start -> process exit after the guest's power-off
 *   - the monitor's peak RSS (ru_maxrss; guest RAM the guest touched is in it)
 *   - I/O-port and MMIO exit round trips as the guest measures them (TSC
 *     cycles: a UART scratch-register read, a read of unassigned MMIO)
 *   - resident memory beyond guest RAM: /proc/<pid>/smaps sampled every
 *     10 ms while the monitor runs; the RSS of every mapping except guest
 *     RAM (the mappings at least as large as the guest's memory: vmm's one
 *     anonymous mapping, QEMU's pc.ram), the largest sample of the run;
 *     and the part of it private to the process (without the shared
 *     library pages, which a dynamically linked vstd has many of)
 *   - virtio-blk 4 KiB random-read IOPS measured inside the guest (its
 *     vstd.iops=1 mode: 2000 queue-depth-1 reads of a 64 MiB raw disk,
 *     timed with the TSC calibrated against the RTC), a second boot per run
 * Prints min and median of each and the ratio vmm/QEMU of the medians.
 *
 *   vstd-bench-vmm --vstd PATH --guest PATH [--runs N] [--accel kvm|tcg]
 *                  [--disk RAW]   (default: a 64 MiB random file in $TMPDIR)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS 50

struct sample {
	double first_ms, exit_ms, rss_mib, over_mib, priv_mib, pio, mmio, iops;
};

#define GUEST_MEM_MIB 256

/* KiB of pid's memory outside the guest-RAM mappings: resident (rss) and
 * resident private to it (Private_Clean + Private_Dirty: not the shared
 * library pages other processes use too). -1 when unreadable. */
static void beyond_ram(pid_t pid, long *rss, long *priv)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	*rss = *priv = -1;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	long size = 0, r = 0, p = 0;
	while (fgets(line, sizeof(line), f)) {
		long v;
		if (sscanf(line, "Size: %ld kB", &v) == 1)
			size = v;
		else if (size >= GUEST_MEM_MIB * 1024L)
			continue;
		else if (sscanf(line, "Rss: %ld kB", &v) == 1)
			r += v;
		else if (sscanf(line, "Private_Clean: %ld kB", &v) == 1 ||
		         sscanf(line, "Private_Dirty: %ld kB", &v) == 1)
			p += v;
	}
	fclose(f);
	*rss = r;
	*priv = p;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double field(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);
	return p ? strtod(p + strlen(key), NULL) : -1;
}

static int run_once(char *const argv[], struct sample *s)
{
	int pfd[2];
	if (pipe(pfd) < 0)
		return -1;
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	static char buf[1 << 16];
	size_t len = 0;
	long over = -1, priv = -1;
	s->first_ms = -1;
	for (;;) {
		struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
		int pr = poll(&pf, 1, 10);
		long o, pv;
		beyond_ram(pid, &o, &pv);
		if (o > over)
			over = o;
		if (pv > priv)
			priv = pv;
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0)
			continue;
		ssize_t n = read(pfd[0], buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = 0;
		if (s->first_ms < 0 && strstr(buf, "VSTD-CONFORM-BEGIN"))
			s->first_ms = now_ms() - t0;
		if (len >= sizeof(buf) - 1)
			len = 0;
	}
	s->over_mib = over >= 0 ? (double)over / 1024.0 : -1;
	s->priv_mib = priv >= 0 ? (double)priv / 1024.0 : -1;
	close(pfd[0]);
	int st;
	struct rusage ru;
	if (wait4(pid, &st, 0, &ru) < 0)
		return -1;
	s->exit_ms = now_ms() - t0;
	s->rss_mib = (double)ru.ru_maxrss / 1024.0;
	s->pio = field(buf, "bench.pio_cycles_median=");
	s->mmio = field(buf, "bench.mmio_cycles_median=");
	s->iops = field(buf, "bench.iops=");
	return WIFEXITED(st) && WEXITSTATUS(st) == 1 ? 0 : -1;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void stats(struct sample *s, int n, size_t off, double *mn, double *med)
{
	double v[MAX_RUNS];
	for (int i = 0; i < n; i++)
		v[i] = *(double *)(void *)((char *)&s[i] + off);
	qsort(v, (size_t)n, sizeof(v[0]), cmp_d);
	*mn = v[0];
	*med = v[n / 2];
}

/* QEMU's command line: the same machine as vmm's, then extra (NULL-ended). */
static void qemu_args(char **av, const char *accel, const char *guest, char *const *extra)
{
	static const char *const base[] = {"qemu-system-x86_64",
	                                   "-accel",
	                                   NULL,
	                                   "-m",
	                                   "256",
	                                   "-display",
	                                   "none",
	                                   "-no-reboot",
	                                   "-nodefaults",
	                                   "-serial",
	                                   "stdio",
	                                   "-device",
	                                   "isa-debug-exit",
	                                   "-kernel",
	                                   NULL};
	size_t n = 0;
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		av[n++] = (char *)(base[i] ? base[i] : i == 2 ? accel : guest);
	while (*extra)
		av[n++] = *extra++;
	av[n] = NULL;
}

/* a raw disk of 64 MiB of random bytes for the IOPS runs */
static int make_disk(char *path, size_t cap)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(path, cap, "%s/vstd-bench-vmm-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	static unsigned char blk[1 << 16];
	uint64_t x = 0x2545f4914f6cdd1dULL;
	for (int i = 0; i < 1024; i++) {
		for (size_t j = 0; j < sizeof(blk); j += 8) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(blk + j, &x, 8);
		}
		if (write(fd, blk, sizeof(blk)) != (ssize_t)sizeof(blk)) {
			close(fd);
			unlink(path);
			return -1;
		}
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *vstd = NULL, *guest = NULL, *accel = "kvm", *disk = NULL;
	int runs = 5;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--vstd"))
			vstd = argv[i + 1];
		else if (!strcmp(argv[i], "--guest"))
			guest = argv[i + 1];
		else if (!strcmp(argv[i], "--runs"))
			runs = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--accel"))
			accel = argv[i + 1];
		else if (!strcmp(argv[i], "--disk"))
			disk = argv[i + 1];
	}
	if (!vstd || !guest || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr,
		        "usage: vstd-bench-vmm --vstd PATH --guest PATH [--runs 1-%d] [--accel "
		        "kvm|tcg] [--disk RAW]\n",
		        MAX_RUNS);
		return 2;
	}
	char made[4096] = "";
	if (!disk) {
		if (make_disk(made, sizeof(made)) < 0) {
			fprintf(stderr, "vstd-bench-vmm: cannot write a 64 MiB disk in $TMPDIR\n");
			return 1;
		}
		disk = made;
	}
	char vdisk[4200], qdrive[4200];
	snprintf(vdisk, sizeof(vdisk), "%s,format=raw", disk);
	snprintf(qdrive, sizeof(qdrive), "file=%s,format=raw,if=none,id=d0,readonly=on", disk);
	char *vmm_argv[] = {(char *)vstd, "vmm",      "run",   "--kernel",  (char *)guest, "--mem",
	                    "256M",       "--append", "bench", "--timeout", "60",          NULL};
	char *vmm_iops_argv[] = {(char *)vstd,  "vmm",         "run",      "--kernel",
	                         (char *)guest, "--mem",       "256M",     "--disk",
	                         vdisk,         "--read-only", "--append", "vstd.iops=1",
	                         "--timeout",   "120",         NULL};
	char *qemu_argv[32], *qemu_iops_argv[32];
	char *bench_extra[] = {"-append", "bench", NULL};
	char *iops_extra[] = {
	        "-drive",  qdrive,        "-device", "virtio-blk-pci,drive=d0,disable-legacy=on",
	        "-append", "vstd.iops=1", NULL};
	qemu_args(qemu_argv, accel, guest, bench_extra);
	qemu_args(qemu_iops_argv, accel, guest, iops_extra);
	static struct sample sv[MAX_RUNS], sq[MAX_RUNS];
	int rc = 0;
	for (int i = 0; i < runs; i++) {
		struct sample t;
		if (run_once(vmm_argv, &sv[i]) < 0 || run_once(qemu_argv, &sq[i]) < 0 ||
		    run_once(vmm_iops_argv, &t) < 0) {
			fprintf(stderr, "vstd-bench-vmm: run %d failed\n", i);
			rc = 1;
			goto out;
		}
		sv[i].iops = t.iops;
		if (run_once(qemu_iops_argv, &t) < 0) {
			fprintf(stderr, "vstd-bench-vmm: run %d failed\n", i);
			rc = 1;
			goto out;
		}
		sq[i].iops = t.iops;
	}
	static const struct {
		const char *name;
		size_t off;
	} m[] = {
	        {"start -> first guest output (ms)", offsetof(struct sample, first_ms)},
	        {"start -> exit after power-off (ms)", offsetof(struct sample, exit_ms)},
	        {"peak RSS (MiB)", offsetof(struct sample, rss_mib)},
	        {"RSS beyond guest RAM (MiB)", offsetof(struct sample, over_mib)},
	        {"private RSS beyond guest RAM (MiB)", offsetof(struct sample, priv_mib)},
	        {"I/O-port exit round trip (cycles)", offsetof(struct sample, pio)},
	        {"MMIO exit round trip (cycles)", offsetof(struct sample, mmio)},
	        {"virtio-blk 4K random read (IOPS)", offsetof(struct sample, iops)},
	};
	printf("vstd vmm vs QEMU (-accel %s), conformance guest, %d runs each\n", accel, runs);
	printf("%-38s %12s %12s %12s %12s %8s\n", "metric", "vmm min", "vmm median", "qemu min",
	       "qemu median", "ratio");
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		double vmin, vmed, qmin, qmed;
		stats(sv, runs, m[i].off, &vmin, &vmed);
		stats(sq, runs, m[i].off, &qmin, &qmed);
		printf("%-38s %12.2f %12.2f %12.2f %12.2f %8.3f\n", m[i].name, vmin, vmed, qmin,
		       qmed, qmed > 0 ? vmed / qmed : 0.0);
	}
	printf("(IOPS: higher is better, the ratio above 1 favours vmm; memory goal: RSS beyond "
	       "guest RAM <= 2 MiB)\n");
out:
	if (made[0])
		unlink(made);
	return rc;
}
