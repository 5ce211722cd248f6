/*
 * descriptor/ova/tar.c - ustar header encoding and decoding.
 *
 * Header block (512 bytes): name[100] mode[8] uid[8] gid[8] size[12]
 * mtime[12] chksum[8] typeflag[1] linkname[100] magic[6] version[2]
 * uname[32] gname[32] devmajor[8] devminor[8] prefix[155].  Numbers are
 * octal text; sizes of 8 GiB and more use the base-256 form (first byte
 * 0x80) that GNU tar and libarchive read.  The checksum is the byte sum of
 * the block with the checksum field taken as spaces.
 */
#include <stdio.h>
#include <string.h>

#include "core/error_internal.h"
#include "descriptor/ova/tar.h"

int tar_is_end(const unsigned char *block)
{
	for (size_t i = 0; i < TAR_BLOCK; i++)
		if (block[i] != 0)
			return 0;
	return 1;
}

static int octal(const unsigned char *p, size_t n, uint64_t *out)
{
	if (p[0] & 0x80) {
		/* base-256, big endian, first byte's high bit is the marker */
		uint64_t v = p[0] & 0x7f;
		for (size_t i = 1; i < n; i++) {
			if (v >> 56)
				return VSTD_ERANGE;
			v = (v << 8) | p[i];
		}
		*out = v;
		return 0;
	}
	uint64_t v = 0;
	size_t i = 0;
	while (i < n && (p[i] == ' ' || p[i] == 0))
		i++;
	int digits = 0;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++, digits++) {
		if (v >> 61)
			return VSTD_ERANGE;
		v = (v << 3) | (uint64_t)(p[i] - '0');
	}
	for (; i < n; i++)
		if (p[i] != ' ' && p[i] != 0)
			return VSTD_EINVAL;
	*out = v;
	return digits > 0 || n == 0 ? 0 : 0;
}

int tar_decode(const unsigned char *b, tar_header *h, const char *where, uint64_t off)
{
	uint64_t sum_field, size;
	if (octal(b + 148, 8, &sum_field) < 0)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: tar header at offset 0x%" PRIx64
		                " has a malformed checksum field (not a tar archive?)",
		                where, off);
	uint64_t u = 0;
	int64_t s = 0;
	for (size_t i = 0; i < TAR_BLOCK; i++) {
		unsigned char c = (i >= 148 && i < 156) ? ' ' : b[i];
		u += c;
		s += (signed char)c;
	}
	if (u != sum_field && (uint64_t)s != sum_field)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: tar header at offset 0x%" PRIx64 " has checksum %" PRIu64
		                " but its bytes sum to %" PRIu64 " (not a tar archive, or damaged)",
		                where, off, sum_field, u);
	if (octal(b + 124, 12, &size) < 0)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: tar header at offset 0x%" PRIx64 " has a malformed size field",
		                where, off);
	memset(h, 0, sizeof(*h));
	h->size = size;
	h->type = b[156] == 0 ? '0' : (char)b[156];
	h->is_ustar = memcmp(b + 257, "ustar", 5) == 0;
	char name[101], prefix[156];
	memcpy(name, b, 100);
	name[100] = '\0';
	memcpy(prefix, b + 345, 155);
	prefix[155] = '\0';
	if (h->is_ustar && b[263] == '0' && prefix[0] != '\0') /* POSIX ustar "00" */
		snprintf(h->name, sizeof(h->name), "%s/%s", prefix, name);
	else
		snprintf(h->name, sizeof(h->name), "%s", name);
	return 0;
}

static void put_octal(unsigned char *p, size_t n, uint64_t v)
{
	/* n-1 digits and a NUL */
	char buf[32];
	snprintf(buf, sizeof(buf), "%0*llo", (int)(n - 1), (unsigned long long)v);
	memcpy(p, buf, n - 1);
	p[n - 1] = 0;
}

int tar_encode(unsigned char *b, const char *name, uint64_t size, uint64_t mtime, char type)
{
	memset(b, 0, TAR_BLOCK);
	size_t nl = strlen(name);
	if (nl == 0 || nl > 255)
		return vstd_err(VSTD_EINVAL,
		                "tar: member name '%s' is empty or longer than 255 bytes", name);
	if (nl <= 100) {
		memcpy(b, name, nl);
	} else {
		/* split at a '/' so that name <= 100 and prefix <= 155 */
		const char *split = NULL;
		for (const char *p = name; *p; p++)
			if (*p == '/' && (size_t)(p - name) <= 155 &&
			    nl - (size_t)(p - name) - 1 <= 100)
				split = p;
		if (split == NULL)
			return vstd_err(VSTD_EINVAL,
			                "tar: member name '%s' cannot be split for ustar", name);
		memcpy(b + 345, name, (size_t)(split - name));
		memcpy(b, split + 1, nl - (size_t)(split - name) - 1);
	}
	put_octal(b + 100, 8, 0644);
	put_octal(b + 108, 8, 0);
	put_octal(b + 116, 8, 0);
	if (size < ((uint64_t)1 << 33)) {
		put_octal(b + 124, 12, size);
	} else {
		b[124] = 0x80;
		for (int i = 0; i < 8; i++)
			b[135 - i] = (unsigned char)(size >> (8 * i));
	}
	put_octal(b + 136, 12, mtime & 077777777777ull);
	b[156] = (unsigned char)type;
	memcpy(b + 257, "ustar", 6); /* "ustar\0" */
	memcpy(b + 263, "00", 2);
	memcpy(b + 265, "root", 4);
	memcpy(b + 297, "root", 4);
	memset(b + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < TAR_BLOCK; i++)
		sum += b[i];
	char cs[8];
	snprintf(cs, sizeof(cs), "%06o", sum);
	memcpy(b + 148, cs, 6);
	b[154] = 0;
	b[155] = ' ';
	return 0;
}

int tar_pax_parse(const char *data, size_t len, char *path, size_t path_size, uint64_t *size,
                  int *has_size)
{
	size_t off = 0;
	while (off < len) {
		/* "%d %s=%s\n": the number counts the whole record */
		size_t rl = 0, i = off;
		while (i < len && data[i] >= '0' && data[i] <= '9' && rl < (1u << 24))
			rl = rl * 10 + (size_t)(data[i++] - '0');
		if (i >= len || data[i] != ' ' || rl == 0 || rl > len - off)
			return vstd_err(VSTD_ECORRUPT, "tar: malformed pax extended header record");
		const char *kv = data + i + 1;
		size_t kvl = off + rl - (i + 1);
		if (kvl == 0 || kv[kvl - 1] != '\n')
			return vstd_err(VSTD_ECORRUPT, "tar: pax record not ending in newline");
		kvl--;
		const char *eq = memchr(kv, '=', kvl);
		if (eq != NULL) {
			size_t kl = (size_t)(eq - kv), vl = kvl - kl - 1;
			if (kl == 4 && memcmp(kv, "path", 4) == 0) {
				if (vl >= path_size)
					return vstd_err(VSTD_ELIMIT,
					                "tar: pax path longer than %zu bytes",
					                path_size - 1);
				memcpy(path, eq + 1, vl);
				path[vl] = '\0';
			} else if (kl == 4 && memcmp(kv, "size", 4) == 0) {
				uint64_t v = 0;
				for (size_t k = 0; k < vl; k++) {
					char c = eq[1 + k];
					if (c < '0' || c > '9' || v > UINT64_MAX / 10)
						return vstd_err(VSTD_ECORRUPT, "tar: bad pax size");
					v = v * 10 + (uint64_t)(c - '0');
				}
				*size = v;
				*has_size = 1;
			}
		}
		off += rl;
	}
	return 0;
}

int tar_name_safe(const char *name)
{
	if (name[0] == '\0' || name[0] == '/' || strchr(name, '\\') != NULL)
		return 0;
	const char *p = name;
	for (;;) {
		const char *s = strchr(p, '/');
		size_t l = s ? (size_t)(s - p) : strlen(p);
		if (l == 2 && p[0] == '.' && p[1] == '.')
			return 0;
		if (s == NULL)
			return 1;
		p = s + 1;
	}
}
