/*
 * descriptor/ova/tar.h - ustar headers (POSIX.1-1988 ustar as DSP0243 5.3
 * requires for OVA), with the GNU and pax extensions read for names and
 * sizes that do not fit.
 */
#ifndef VSTD_DESCRIPTOR_OVA_TAR_H
#define VSTD_DESCRIPTOR_OVA_TAR_H

#include <stddef.h>
#include <stdint.h>

#define TAR_BLOCK 512

typedef struct tar_header {
	char name[256 + 1]; /* prefix + "/" + name (before long-name extensions) */
	uint64_t size;
	char type; /* typeflag; '\0' is mapped to '0' */
	int is_ustar;
} tar_header;

/* 1 when the block is all zeroes (end of archive). */
int tar_is_end(const unsigned char *block);
/* Decode a header block; VSTD_ECORRUPT naming `where` on a bad checksum or field. */
int tar_decode(const unsigned char *block, tar_header *h, const char *where, uint64_t off);
/* Encode a regular-file header (name up to 255 bytes, split into prefix/name). */
int tar_encode(unsigned char *block, const char *name, uint64_t size, uint64_t mtime, char type);
/* Parse a pax extended header's records: path and size overrides. */
int tar_pax_parse(const char *data, size_t len, char *path, size_t path_size, uint64_t *size,
                  int *has_size);
/* Is a member name safe to extract: relative, no "..", no empty component? */
int tar_name_safe(const char *name);

#endif
