/*
 * conformance/guest/iops.c - vstd.iops=1: 4 KiB reads at pseudo-random
 * 4 KiB-aligned offsets of the first virtio-blk disk, one at a time (queue
 * depth 1, polled), timed with the TSC; the TSC rate is measured against
 * the RTC's seconds (one full second), so the guest can print reads per
 * second.  "I bench.iops=N", "I bench.read_cycles_median=N".
 */
#include "guest.h"
#include "paravirt/driver/vdrv.h"

#define IOPS_N 2000
#define IOBUF 0x1204000ULL

static uint8_t rtc_sec(void)
{
	for (;;) {
		outb(0x70, 0x0a);
		if (!(inb(0x71) & 0x80)) { /* no update in progress */
			outb(0x70, 0x00);
			return inb(0x71);
		}
	}
}

static uint64_t tsc_hz(void)
{
	uint8_t s = rtc_sec();
	while (rtc_sec() == s)
		;
	uint64_t t0 = rdtsc();
	s = rtc_sec();
	while (rtc_sec() == s)
		;
	return rdtsc() - t0;
}

static uint64_t cyc[IOPS_N];

/* the k-th smallest of v[0..n) (quickselect: O(n), where an insertion
 * sort of 2000 samples costs seconds on a slow software monitor) */
static uint64_t select_k(uint64_t *v, unsigned n, unsigned k)
{
	unsigned lo = 0, hi = n - 1;
	while (lo < hi) {
		uint64_t p = v[lo + (hi - lo) / 2];
		unsigned i = lo, j = hi;
		while (i <= j) {
			while (v[i] < p)
				i++;
			while (v[j] > p)
				j--;
			if (i <= j) {
				uint64_t t = v[i];
				v[i] = v[j];
				v[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return v[k];
}

void iops_run(void)
{
	if (rawq_open() < 0 || rawq_start(0) < 0) {
		report_str('I', "bench.iops", "no-virtio-blk");
		return;
	}
	uint64_t blocks = rawq_sectors() / 8;
	if (blocks == 0) {
		report_str('I', "bench.iops", "empty-disk");
		return;
	}
	uint64_t x = 0x9e3779b97f4a7c15ULL, t_all = rdtsc();
	for (unsigned i = 0; i < IOPS_N; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint64_t t0 = rdtsc();
		if (rawq_io(0, (x % blocks) * 8, (void *)(uintptr_t)IOBUF, 4096) < 0) {
			report_dec('I', "bench.iops_error_at", i);
			return;
		}
		cyc[i] = rdtsc() - t0;
	}
	t_all = rdtsc() - t_all;
	uint64_t hz = tsc_hz();
	uint64_t mn = cyc[0];
	for (unsigned i = 1; i < IOPS_N; i++)
		if (cyc[i] < mn)
			mn = cyc[i];
	report_dec('I', "bench.tsc_hz", hz);
	report_dec('I', "bench.read_cycles_min", mn);
	report_dec('I', "bench.read_cycles_median", select_k(cyc, IOPS_N, IOPS_N / 2));
	report_dec('I', "bench.iops", t_all ? (uint64_t)IOPS_N * hz / t_all : 0);
}
