/*
 * conformance/guest/lib.c - the few C library functions the compiler may
 * call, and the serial console (COM1, polled: no interrupts in this guest).
 */
#include "guest.h"

void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;
	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *a = d;
	const unsigned char *b = s;
	while (n--)
		*a++ = *b++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

#define COM1 0x3f8

void serial_init(void)
{
	outb(COM1 + 1, 0x00); /* no interrupts */
	outb(COM1 + 3, 0x80); /* DLAB */
	outb(COM1 + 0, 0x01); /* 115200 */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 2, 0x07); /* FIFO on, cleared */
	outb(COM1 + 4, 0x03); /* DTR RTS */
}

void serial_putc(char c)
{
	for (unsigned i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		;
	outb(COM1, (uint8_t)c);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

void put_str(const char *s)
{
	serial_puts(s);
}

void put_dec(uint64_t v)
{
	char b[24];
	int i = 23;
	b[i] = 0;
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	serial_puts(b + i);
}

void put_hex(uint64_t v, int digits)
{
	static const char hx[] = "0123456789abcdef";
	char b[17];
	if (digits < 1 || digits > 16)
		digits = 16;
	for (int i = digits - 1; i >= 0; i--) {
		b[i] = hx[v & 15];
		v >>= 4;
	}
	b[digits] = 0;
	serial_puts(b);
}

static void key(char kind, const char *k)
{
	serial_putc(kind);
	serial_putc(' ');
	serial_puts(k);
	serial_putc('=');
}

void report_str(char kind, const char *k, const char *val)
{
	key(kind, k);
	serial_puts(val);
	serial_putc('\n');
}

void report_dec(char kind, const char *k, uint64_t v)
{
	key(kind, k);
	put_dec(v);
	serial_putc('\n');
}

void report_hex(char kind, const char *k, uint64_t v, int digits)
{
	key(kind, k);
	put_hex(v, digits);
	serial_putc('\n');
}
