/*
 * conformance/guest/hostile.c - vstd.hostile=1: the guest breaks the split
 * ring rules of VIRTIO 1.2 (2.7) against the first virtio-blk device, one
 * case at a time, and checks what the device did:
 *   - its reaction: NEEDS_RESET in the device status (what the spec asks
 *     of a device that meets an error it cannot recover from, 2.1.2), a
 *     used entry (with the request's status byte), or nothing;
 *   - that nothing was written outside the buffers it was given (guard
 *     pages around the data buffer, the pattern of the status byte);
 *   - that after a reset the device works and the disk reads as before.
 * Lines: "I hostile.<case>.reaction=needs-reset|used:<status>|none" and
 * "R hostile.<case>=contained" (or "breached:<why>"), "R hostile.cases=N",
 * "R hostile.contained=N".
 */
#include "guest.h"
#include "paravirt/driver/vdrv.h"

#define F_NEXT 1
#define F_WRITE 2
#define F_INDIRECT 4

#define SCRATCH 0x1203000ULL
#define ITABLE (SCRATCH)           /* indirect tables: 0x1203000, +0x100 */
#define HDR (SCRATCH + 0x1000)     /* request header */
#define STATUS (SCRATCH + 0x1100)  /* status byte */
#define GUARD0 (SCRATCH + 0x2000)  /* guard page */
#define DATA (SCRATCH + 0x3000)    /* 4 KiB data buffer */
#define GUARD1 (SCRATCH + 0x4000)  /* guard page */
#define VERIFY (SCRATCH + 0x10000) /* the disk read-back */
#define VERIFY_LEN 4096u
#define GUARD_BYTE 0xa5
#define WAIT_CYCLES 3000000000ULL

static uint16_t qn;

static void *P(uint64_t a)
{
	return (void *)(uintptr_t)a;
}

static void header(uint32_t type, uint64_t sector)
{
	uint32_t *h = P(HDR);
	h[0] = type;
	h[1] = 0;
	*(uint64_t *)P(HDR + 8) = sector;
	*(volatile uint8_t *)P(STATUS) = 0xff;
}

static void itable(unsigned t, unsigned i, uint64_t addr, uint32_t len, uint16_t fl, uint16_t nx)
{
	uint8_t *d = P(ITABLE + 0x100 * t + 16 * i);
	*(uint64_t *)d = addr;
	*(uint32_t *)(d + 8) = len;
	*(uint16_t *)(d + 12) = fl;
	*(uint16_t *)(d + 14) = nx;
}

/* a read of 8 sectors from sector 0 into DATA: header, data, status */
static void good_chain(void)
{
	header(0, 0);
	rawq_desc(0, HDR, 16, F_NEXT, 1);
	rawq_desc(1, DATA, 4096, F_WRITE | F_NEXT, 2);
	rawq_desc(2, STATUS, 1, F_WRITE, 0);
}

static void c_desc_loop(void)
{
	header(0, 0);
	rawq_desc(0, HDR, 16, F_NEXT, 1);
	rawq_desc(1, DATA, 512, F_WRITE | F_NEXT, 2);
	rawq_desc(2, DATA + 512, 512, F_WRITE | F_NEXT, 0); /* back to 0 */
	rawq_publish(0, 1);
}
static void c_self_loop(void)
{
	header(0, 0);
	rawq_desc(0, HDR, 16, F_NEXT, 0);
	rawq_publish(0, 1);
}
static void c_head_oob(void)
{
	good_chain();
	rawq_publish((uint16_t)(qn + 3), 1);
}
static void c_head_ffff(void)
{
	good_chain();
	rawq_publish(0xffff, 1);
}
static void c_next_oob(void)
{
	header(0, 0);
	rawq_desc(0, HDR, 16, F_NEXT, (uint16_t)(qn + 5));
	rawq_publish(0, 1);
}
static void c_out_of_ram(void)
{
	header(0, 0);
	rawq_desc(0, HDR, 16, F_NEXT, 1);
	rawq_desc(1, guest_ram_top - 512, 4096, F_WRITE | F_NEXT, 2);
	rawq_desc(2, STATUS, 1, F_WRITE, 0);
	rawq_publish(0, 1);
}
static void c_hdr_out_of_ram(void)
{
	rawq_desc(0, guest_ram_top - 8, 16, F_NEXT, 1);
	rawq_desc(1, DATA, 4096, F_WRITE | F_NEXT, 2);
	rawq_desc(2, STATUS, 1, F_WRITE, 0);
	*(volatile uint8_t *)P(STATUS) = 0xff;
	rawq_publish(0, 1);
}
static void c_len_4g(void)
{
	header(0, 0);
	rawq_desc(0, HDR, 16, F_NEXT, 1);
	rawq_desc(1, DATA, 0xffffffffu, F_WRITE | F_NEXT, 2);
	rawq_desc(2, STATUS, 1, F_WRITE, 0);
	rawq_publish(0, 1);
}
static void c_addr_wrap(void)
{
	header(0, 0);
	rawq_desc(0, HDR, 16, F_NEXT, 1);
	rawq_desc(1, 0xfffffffffffff000ULL, 0x2000, F_WRITE | F_NEXT, 2);
	rawq_desc(2, STATUS, 1, F_WRITE, 0);
	rawq_publish(0, 1);
}
static void c_indirect_nested(void)
{
	header(0, 0);
	itable(0, 0, HDR, 16, F_NEXT, 1);
	itable(0, 1, ITABLE + 0x100, 48, F_INDIRECT, 0);
	itable(1, 0, DATA, 4096, F_WRITE | F_NEXT, 1);
	itable(1, 1, STATUS, 1, F_WRITE, 0);
	rawq_desc(0, ITABLE, 32, F_INDIRECT, 0);
	rawq_publish(0, 1);
}
static void c_indirect_badlen(void)
{
	header(0, 0);
	itable(0, 0, HDR, 16, F_NEXT, 1);
	itable(0, 1, DATA, 4096, F_WRITE | F_NEXT, 2);
	itable(0, 2, STATUS, 1, F_WRITE, 0);
	rawq_desc(0, ITABLE, 40, F_INDIRECT, 0); /* not a multiple of 16 */
	rawq_publish(0, 1);
}
static void c_indirect_zero(void)
{
	rawq_desc(0, ITABLE, 0, F_INDIRECT, 0);
	rawq_publish(0, 1);
}
static void c_indirect_huge(void)
{
	/* 2^28 - 16 bytes: millions of entries, more than any queue size */
	rawq_desc(0, ITABLE, 0xffffff0u, F_INDIRECT, 0);
	rawq_publish(0, 1);
}
static void c_indirect_loop(void)
{
	header(0, 0);
	itable(0, 0, HDR, 16, F_NEXT, 1);
	itable(0, 1, DATA, 512, F_WRITE | F_NEXT, 0);
	rawq_desc(0, ITABLE, 32, F_INDIRECT, 0);
	rawq_publish(0, 1);
}
static void c_indirect_and_next(void)
{
	header(0, 0);
	itable(0, 0, HDR, 16, F_NEXT, 1);
	itable(0, 1, DATA, 4096, F_WRITE | F_NEXT, 2);
	itable(0, 2, STATUS, 1, F_WRITE, 0);
	rawq_desc(0, ITABLE, 48, F_INDIRECT | F_NEXT, 1);
	rawq_desc(1, STATUS, 1, F_WRITE, 0);
	rawq_publish(0, 1);
}
static void c_avail_jump(void)
{
	good_chain();
	rawq_publish(0, (uint16_t)(qn + 5));
}
static void c_readable_after_writable(void)
{
	header(0, 0);
	rawq_desc(0, HDR, 16, F_NEXT, 1);
	rawq_desc(1, DATA, 4096, F_WRITE | F_NEXT, 2);
	rawq_desc(2, HDR, 16, F_NEXT, 3); /* device-readable after writable */
	rawq_desc(3, STATUS, 1, F_WRITE, 0);
	rawq_publish(0, 1);
}
static void c_write_after_notify(void)
{
	good_chain();
	rawq_publish(0, 1);
	/* the request is out: now point it elsewhere (a device reads each
	 * descriptor once, so this either lands too late or is seen whole) */
	rawq_desc(1, 0xfff00000000ULL, 0xffffffffu, F_WRITE | F_NEXT, 7);
	rawq_desc(0, HDR, 16, F_NEXT, 0);
}
static void c_write_over_end(void)
{
	/* a read past the disk's end: the device must refuse it (IOERR) */
	header(0, rawq_sectors());
	rawq_desc(0, HDR, 16, F_NEXT, 1);
	rawq_desc(1, DATA, 4096, F_WRITE | F_NEXT, 2);
	rawq_desc(2, STATUS, 1, F_WRITE, 0);
	rawq_publish(0, 1);
}
static void c_no_status(void)
{
	header(0, 0);
	rawq_desc(0, HDR, 16, 0, 0); /* no writable status byte at all */
	rawq_publish(0, 1);
}

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
        {"desc_loop", c_desc_loop},
        {"desc_self_loop", c_self_loop},
        {"head_out_of_range", c_head_oob},
        {"head_ffff", c_head_ffff},
        {"next_out_of_range", c_next_oob},
        {"buffer_crosses_ram_end", c_out_of_ram},
        {"header_crosses_ram_end", c_hdr_out_of_ram},
        {"len_4g", c_len_4g},
        {"addr_wraps", c_addr_wrap},
        {"indirect_nested", c_indirect_nested},
        {"indirect_bad_len", c_indirect_badlen},
        {"indirect_zero_len", c_indirect_zero},
        {"indirect_huge_len", c_indirect_huge},
        {"indirect_loop", c_indirect_loop},
        {"indirect_and_next", c_indirect_and_next},
        {"avail_jump", c_avail_jump},
        {"readable_after_writable", c_readable_after_writable},
        {"write_after_notify", c_write_after_notify},
        {"read_past_disk_end", c_write_over_end},
        {"no_status_byte", c_no_status},
};

static uint64_t fnv(const uint8_t *p, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (uint32_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int guards_ok(void)
{
	const uint8_t *g0 = P(GUARD0), *g1 = P(GUARD1);
	for (unsigned i = 0; i < 4096; i++)
		if (g0[i] != GUARD_BYTE || g1[i] != GUARD_BYTE)
			return 0;
	return 1;
}

/* reset, start again, read the first VERIFY_LEN bytes: 0 and their hash, or < 0 */
static int verify(uint32_t len, uint64_t *h)
{
	rawq_reset();
	if (rawq_start(1ULL << VDRV_F_INDIRECT_DESC) < 0)
		return -1;
	memset(P(VERIFY), 0, len);
	if (rawq_io(0, 0, P(VERIFY), len) < 0)
		return -2;
	*h = fnv(P(VERIFY), len);
	return 0;
}

static void key(const char *kind, const char *name, const char *suffix)
{
	put_str(kind);
	put_str(" hostile.");
	put_str(name);
	put_str(suffix);
}

void hostile_run(void)
{
	uint64_t base = 0, h = 0;
	if (rawq_open() < 0 || rawq_start(1ULL << VDRV_F_INDIRECT_DESC) < 0) {
		report_str('R', "hostile", "no-virtio-blk");
		return;
	}
	qn = rawq_num();
	uint64_t sectors = rawq_sectors();
	uint32_t vlen = sectors * 512 < VERIFY_LEN ? (uint32_t)(sectors * 512) : VERIFY_LEN;
	if (vlen == 0 || verify(vlen, &base) < 0) {
		report_str('R', "hostile", "baseline-read-failed");
		return;
	}
	report_dec('I', "hostile.queue_size", qn);
	report_dec('I', "hostile.indirect", (rawq_features() >> VDRV_F_INDIRECT_DESC) & 1);
	unsigned n = sizeof(cases) / sizeof(cases[0]), contained = 0;
	for (unsigned i = 0; i < n; i++) {
		memset(P(GUARD0), GUARD_BYTE, 4096);
		memset(P(GUARD1), GUARD_BYTE, 4096);
		memset(P(DATA), 0, 4096);
		memset(P(ITABLE), 0, 0x200);
		uint32_t len = 0;
		cases[i].fn();
		int r = rawq_wait(WAIT_CYCLES, &len);
		uint8_t st = rawq_status(), sb = *(volatile uint8_t *)P(STATUS);
		key("I", cases[i].name, ".reaction=");
		if (r == 2 || (st & VDRV_S_NEEDS_RESET)) {
			put_str("needs-reset");
		} else if (r == 1) {
			put_str("used:");
			put_dec(sb);
		} else {
			put_str("none");
		}
		put_str("\n");
		const char *why = 0;
		int g = guards_ok();
		int v = verify(vlen, &h);
		if (!g)
			why = "wrote-outside-the-buffer";
		else if (v == -1)
			why = "no-restart-after-reset";
		else if (v < 0)
			why = "disk-read-failed-after-reset";
		else if (h != base)
			why = "disk-changed";
		key("R", cases[i].name, "=");
		if (why) {
			put_str("breached:");
			put_str(why);
		} else {
			put_str("contained");
			contained++;
		}
		put_str("\n");
	}
	report_dec('R', "hostile.cases", n);
	report_dec('R', "hostile.contained", contained);
}
