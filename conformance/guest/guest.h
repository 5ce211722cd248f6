/*
 * conformance/guest/guest.h - what the freestanding conformance guest's
 * files share: port and MMIO access, CPUID, the serial console and the
 * report printer.  No libc: everything here is the guest's own.
 */
#ifndef VSTD_GUEST_H
#define VSTD_GUEST_H

#include <stddef.h>
#include <stdint.h>

static inline void outb(uint16_t p, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(p));
}
static inline void outw(uint16_t p, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(p));
}
static inline void outl(uint16_t p, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(p));
}
static inline uint8_t inb(uint16_t p)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p));
	return v;
}
static inline uint16_t inw(uint16_t p)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p));
	return v;
}
static inline uint32_t inl(uint16_t p)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p));
	return v;
}
static inline uint32_t mmio_read32(uint64_t a)
{
	return *(volatile uint32_t *)(uintptr_t)a;
}
static inline void mmio_write32(uint64_t a, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)a = v;
}
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
	                 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
	                 : "a"(leaf), "c"(sub));
}

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* serial.c: COM1, 115200 8N1, polled */
void serial_init(void);
void serial_putc(char c);
void serial_puts(const char *s);

/* print.c: report lines.  "R key=value" is compared across hypervisors,
 * "I key=value" is information only. */
void put_str(const char *s);
void put_dec(uint64_t v);
void put_hex(uint64_t v, int digits);
void report_str(char kind, const char *key, const char *val);
void report_dec(char kind, const char *key, uint64_t v);
void report_hex(char kind, const char *key, uint64_t v, int digits);

/* pci.c */
uint32_t pci_read32(unsigned dev, unsigned fn, unsigned off);
void pci_write32(unsigned dev, unsigned fn, unsigned off, uint32_t v);
void pci_probe(void);

/* virtio_blk.c: a virtio-blk PCI function (BARs assigned by blk_setup_bars,
 * which also enables memory decoding and bus mastering) and its bus for
 * lib/paravirt/driver (struct vdrv_bus: blk_bus_read/blk_bus_write, ctx =
 * the struct blk_fn). */
struct blk_fn {
	unsigned dev;
	uint64_t bar[6];
};
void blk_setup_bars(struct blk_fn *f);
uint64_t blk_bus_read(void *ctx, int space, uint64_t off, unsigned size);
void blk_bus_write(void *ctx, int space, uint64_t off, uint64_t v, unsigned size);
void virtio_blk_probe(void);

/* main.c: the end of the highest usable e820 range (0 when none) */
extern uint64_t guest_ram_top;
void sort64(uint64_t *v, unsigned n);

/* rawq.c: queue 0 of the first virtio-blk, descriptors written by hand */
int rawq_open(void);
int rawq_start(uint64_t features);
void rawq_reset(void);
uint8_t rawq_status(void);
uint64_t rawq_features(void);
uint64_t rawq_sectors(void);
uint16_t rawq_num(void);
void rawq_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);
void rawq_publish(uint16_t head, uint16_t count);
int rawq_wait(uint64_t cycles, uint32_t *len);
int rawq_io(uint32_t type, uint64_t sector, void *buf, uint32_t len);

/* hostile.c: vstd.hostile=1 - hostile rings against the first virtio-blk */
void hostile_run(void);
/* iops.c: vstd.iops=1 - timed 4 KiB random reads from the first virtio-blk */
void iops_run(void);

#endif
