/*
 * core/bytes.h - endian loads/stores and checked arithmetic for parsers.
 *
 * On-disk and in-guest structures are read as byte arrays with these, never
 * by casting to packed structs, so alignment and endianness never matter.
 */
#ifndef VSTD_CORE_BYTES_H
#define VSTD_CORE_BYTES_H

#include <stdint.h>
#include <string.h>

static inline uint16_t vstd_le16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] | (b[1] << 8));
}
static inline uint32_t vstd_le32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
	       ((uint32_t)b[3] << 24);
}
static inline uint64_t vstd_le64(const void *p)
{
	const uint8_t *b = p;
	return (uint64_t)vstd_le32(b) | ((uint64_t)vstd_le32(b + 4) << 32);
}
static inline uint16_t vstd_be16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)((b[0] << 8) | b[1]);
}
static inline uint32_t vstd_be32(const void *p)
{
	const uint8_t *b = p;
	return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) |
	       (uint32_t)b[3];
}
static inline uint64_t vstd_be64(const void *p)
{
	const uint8_t *b = p;
	return ((uint64_t)vstd_be32(b) << 32) | (uint64_t)vstd_be32(b + 4);
}
static inline void vstd_put_le16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}
static inline void vstd_put_le32(void *p, uint32_t v)
{
	uint8_t *b = p;
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}
static inline void vstd_put_le64(void *p, uint64_t v)
{
	uint8_t *b = p;
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}
static inline void vstd_put_be16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}
static inline void vstd_put_be32(void *p, uint32_t v)
{
	uint8_t *b = p;
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (24 - 8 * i));
}
static inline void vstd_put_be64(void *p, uint64_t v)
{
	uint8_t *b = p;
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* Checked arithmetic: return 1 on overflow (the result is then unspecified). */
static inline int vstd_add_overflow_u64(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_add_overflow(a, b, r);
}
static inline int vstd_mul_overflow_u64(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_mul_overflow(a, b, r);
}
/* 1 when [off, off+len) lies inside [0, size). */
static inline int vstd_range_inside(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}
static inline uint64_t vstd_align_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) / align * align;
}
static inline uint64_t vstd_align_down(uint64_t v, uint64_t align)
{
	return v / align * align;
}
static inline int vstd_is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}
/* 1 when len bytes at p are all zero. */
int vstd_is_zero(const void *p, size_t len);

#endif
