/*
 * bench/vmm/bench_vmm.c - vstd-bench-vmm: `vstd vmm run` against QEMU with
 * the same accelerator, both booting the conformance guest with "bench" on
 * its command line, N runs each:
 *   - start -> the guest's report begins on the serial port (first output)
 *   - start -> process exit after the guest's power-off
 *   - the monitor's peak RSS (ru_maxrss; guest RAM the guest touched is in it)
 *   - I/O-port and MMIO exit round trips as the guest measures them (TSC
 *     cycles: a UART scratch-register read, a read of unassigned MMIO)
 * Prints min and median of each and the ratio vmm/QEMU of the medians.
 *
 *   vstd-bench-vmm --vstd PATH --guest PATH [--runs N] [--accel kvm|tcg]
 */
#include <errno.h>
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
	double first_ms, exit_ms, rss_mib, pio, mmio;
};

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
	s->first_ms = -1;
	for (;;) {
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
	close(pfd[0]);
	int st;
	struct rusage ru;
	if (wait4(pid, &st, 0, &ru) < 0)
		return -1;
	s->exit_ms = now_ms() - t0;
	s->rss_mib = (double)ru.ru_maxrss / 1024.0;
	s->pio = field(buf, "bench.pio_cycles_median=");
	s->mmio = field(buf, "bench.mmio_cycles_median=");
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

int main(int argc, char **argv)
{
	const char *vstd = NULL, *guest = NULL, *accel = "kvm";
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
	}
	if (!vstd || !guest || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr,
		        "usage: vstd-bench-vmm --vstd PATH --guest PATH [--runs 1-%d] [--accel "
		        "kvm|tcg]\n",
		        MAX_RUNS);
		return 2;
	}
	char *vmm_argv[] = {(char *)vstd, "vmm",      "run",   "--kernel",  (char *)guest, "--mem",
	                    "256M",       "--append", "bench", "--timeout", "60",          NULL};
	char *qemu_argv[] = {"qemu-system-x86_64",
	                     "-accel",
	                     (char *)accel,
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
	                     (char *)guest,
	                     "-append",
	                     "bench",
	                     NULL};
	static struct sample sv[MAX_RUNS], sq[MAX_RUNS];
	for (int i = 0; i < runs; i++) {
		if (run_once(vmm_argv, &sv[i]) < 0 || run_once(qemu_argv, &sq[i]) < 0) {
			fprintf(stderr, "vstd-bench-vmm: run %d failed\n", i);
			return 1;
		}
	}
	static const struct {
		const char *name;
		size_t off;
	} m[] = {
	        {"start -> first guest output (ms)", offsetof(struct sample, first_ms)},
	        {"start -> exit after power-off (ms)", offsetof(struct sample, exit_ms)},
	        {"peak RSS (MiB)", offsetof(struct sample, rss_mib)},
	        {"I/O-port exit round trip (cycles)", offsetof(struct sample, pio)},
	        {"MMIO exit round trip (cycles)", offsetof(struct sample, mmio)},
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
	return 0;
}
