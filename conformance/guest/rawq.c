/*
 * conformance/guest/rawq.c - queue 0 of the first virtio-blk function,
 * driven by hand: the transport comes from lib/paravirt/driver (probe,
 * feature negotiation, queue programming, notify, status), but the split
 * ring's descriptors and indices are written here directly, so that the
 * hostile-ring cases (hostile.c) can break every rule and the IOPS timing
 * (iops.c) has no library bookkeeping in its loop.  Polled, no interrupts.
 *
 * Memory (identity-mapped, outside the image): 0x1200000 descriptor table,
 * +0x1000 available ring, +0x2000 used ring, +0x3000.. scratch for the
 * callers (RAWQ_SCRATCH).
 */
#include "guest.h"
#include "paravirt/driver/vdrv.h"

static struct blk_fn fn;
static struct vdrv_dev vd;
static int opened;
static uint16_t qnum, avail_idx, last_used;

#define RING_BASE 0x1200000ULL
static volatile uint8_t *const desc = (volatile uint8_t *)(uintptr_t)RING_BASE;
static volatile uint16_t *const avail = (volatile uint16_t *)(uintptr_t)(RING_BASE + 0x1000);
static volatile uint8_t *const used = (volatile uint8_t *)(uintptr_t)(RING_BASE + 0x2000);

uint16_t rawq_num(void)
{
	return qnum;
}

int rawq_open(void)
{
	if (opened)
		return 0;
	for (unsigned dev = 0; dev < 32; dev++) {
		outl(0xcf8, 0x80000000u | dev << 11);
		uint32_t id = inl(0xcfc);
		if (id == 0x10421af4u || id == 0x10011af4u) {
			fn.dev = dev;
			blk_setup_bars(&fn);
			struct vdrv_bus bus = {blk_bus_read, blk_bus_write, &fn};
			if (vdrv_probe(&vd, VDRV_PCI, &bus) < 0)
				return -1;
			opened = 1;
			return 0;
		}
	}
	return -1;
}

int rawq_start(uint64_t features)
{
	if (vdrv_negotiate(&vd, features | 1ULL << VDRV_F_VERSION_1) < 0)
		return -1;
	uint16_t max = vdrv_queue_max(&vd, 0);
	qnum = max < 16 ? max : 16;
	if (qnum == 0)
		return -1;
	memset((void *)(uintptr_t)RING_BASE, 0, 0x3000);
	avail_idx = last_used = 0;
	if (vdrv_queue_setup(&vd, 0, qnum, RING_BASE, RING_BASE + 0x1000, RING_BASE + 0x2000,
	                     0xffff) < 0)
		return -1;
	vdrv_set_status(&vd, vdrv_status(&vd) | VDRV_S_DRIVER_OK);
	return 0;
}

void rawq_reset(void)
{
	vdrv_reset(&vd);
}

uint8_t rawq_status(void)
{
	return vdrv_status(&vd);
}

uint64_t rawq_features(void)
{
	return vd.features;
}

uint64_t rawq_sectors(void)
{
	return vdrv_config_read(&vd, 0, 8);
}

void rawq_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	volatile uint8_t *d = desc + 16 * (size_t)i;
	*(volatile uint64_t *)(d) = addr;
	*(volatile uint32_t *)(d + 8) = len;
	*(volatile uint16_t *)(d + 12) = flags;
	*(volatile uint16_t *)(d + 14) = next;
}

/* Publish `count` more available entries (the slots hold `head`) and notify. */
void rawq_publish(uint16_t head, uint16_t count)
{
	for (uint16_t i = 0; i < count && i < qnum; i++)
		avail[2 + (uint16_t)(avail_idx + i) % qnum] = head;
	__asm__ volatile("mfence" ::: "memory");
	avail_idx = (uint16_t)(avail_idx + count);
	avail[1] = avail_idx;
	__asm__ volatile("mfence" ::: "memory");
	vdrv_notify(&vd, 0);
}

/* Wait up to `cycles` TSC cycles for a used entry: 1 (its length in *len),
 * 2 when the device set NEEDS_RESET instead, 0 when nothing happened. */
int rawq_wait(uint64_t cycles, uint32_t *len)
{
	uint64_t t0 = rdtsc(), next_status = 0;
	for (;;) {
		uint16_t u = *(volatile uint16_t *)(used + 2);
		if (u != last_used) {
			__asm__ volatile("lfence" ::: "memory");
			if (len)
				*len = *(volatile uint32_t *)(used + 4 + 8 * (last_used % qnum) +
				                              4);
			last_used++;
			return 1;
		}
		uint64_t t = rdtsc() - t0;
		if (t >= next_status) {
			if (vdrv_status(&vd) & VDRV_S_NEEDS_RESET)
				return 2;
			next_status = t + cycles / 16;
		}
		if (t > cycles)
			return 0;
		__asm__ volatile("pause");
	}
}

/* A well-formed request in descriptors 0-2: header, data, status. 0 or -1. */
int rawq_io(uint32_t type, uint64_t sector, void *buf, uint32_t len)
{
	static struct {
		uint32_t type, reserved;
		uint64_t sector;
	} hdr;
	static volatile uint8_t st;
	hdr.type = type;
	hdr.reserved = 0;
	hdr.sector = sector;
	st = 0xff;
	rawq_desc(0, (uint64_t)(uintptr_t)&hdr, 16, 1, 1);
	rawq_desc(1, (uint64_t)(uintptr_t)buf, len, type == 0 ? 3 : 1, 2);
	rawq_desc(2, (uint64_t)(uintptr_t)&st, 1, 2, 0);
	rawq_publish(0, 1);
	if (rawq_wait(20000000000ULL, 0) != 1)
		return -1;
	return st == 0 ? 0 : -1;
}
