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

/* virtio_blk.c */
void virtio_blk_probe(void);

#endif
