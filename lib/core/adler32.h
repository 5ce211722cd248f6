/*
 * core/adler32.h - Adler-32 (RFC 1950 section 8.2), the checksum that ends
 * every zlib stream.
 *
 * zlib computes it byte by byte while inflating; vstd inflates raw deflate
 * data and checks the trailer itself with this vectorised version (SSSE3
 * where the CPU has it, chosen at run time), an order of magnitude faster on
 * the 64 KiB grains of a streamOptimized VMDK.
 */
#ifndef VSTD_CORE_ADLER32_H
#define VSTD_CORE_ADLER32_H

#include <stddef.h>
#include <stdint.h>

/* The Adler-32 of adler's data followed by buf[0..len); start with 1.
 * Same results as zlib's adler32(). */
uint32_t vstd_adler32(uint32_t adler, const void *buf, size_t len);

#endif
