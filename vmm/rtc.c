/*
 * vmm/rtc.c - the MC146818 RTC / CMOS at ports 0x70-0x71: the clock reads
 * the host's UTC time in BCD (or binary when the guest sets DM), 24-hour
 * mode; status A never shows an update in progress; status D reports a
 * good battery; the rest of the 128 bytes of CMOS is plain storage.  No
 * alarm or periodic interrupts.
 */
#include <string.h>
#include <time.h>

#include "vmm.h"

struct rtc {
	uint8_t index;
	uint8_t cmos[128];
};

static struct rtc the_rtc; /* one machine per process */

static uint8_t bcd(int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static void rtc_io(void *opaque, uint64_t off, void *data, unsigned size, int is_write)
{
	struct rtc *r = opaque;
	uint8_t *v = data;
	if (is_write) {
		if (off == 0)
			r->index = v[0] & 0x7f;
		else if (r->index == 0x0b)
			r->cmos[0x0b] = (uint8_t)((v[0] & 0x06) | 0x02);
		else if (r->index >= 0x0e)
			r->cmos[r->index] = v[0];
		return;
	}
	memset(data, 0, size);
	if (off == 0) {
		v[0] = 0xff;
		return;
	}
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	int binary = r->cmos[0x0b] & 0x04;
#define CONV(x) (binary ? (uint8_t)(x) : bcd(x))
	switch (r->index) {
	case 0x00: v[0] = CONV(tm.tm_sec); break;
	case 0x02: v[0] = CONV(tm.tm_min); break;
	case 0x04: v[0] = CONV(tm.tm_hour); break;
	case 0x06: v[0] = CONV(tm.tm_wday + 1); break;
	case 0x07: v[0] = CONV(tm.tm_mday); break;
	case 0x08: v[0] = CONV(tm.tm_mon + 1); break;
	case 0x09: v[0] = CONV(tm.tm_year % 100); break;
	case 0x32: v[0] = CONV((tm.tm_year + 1900) / 100); break;
	case 0x0a: v[0] = 0x26; break; /* 32.768 kHz, 1024 Hz, no update in progress */
	case 0x0b: v[0] = r->cmos[0x0b]; break;
	case 0x0c: v[0] = 0; break;
	case 0x0d: v[0] = 0x80; break; /* valid RAM and time */
	default: v[0] = r->cmos[r->index]; break;
	}
#undef CONV
}

int vmm_rtc_init(struct vmm *vm)
{
	memset(&the_rtc, 0, sizeof(the_rtc));
	the_rtc.cmos[0x0b] = 0x02;
	return vmm_bus_add_pio(vm, 0x70, 2, rtc_io, &the_rtc);
}
