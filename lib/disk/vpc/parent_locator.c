/*
 * disk/vpc/parent_locator.c - where a differencing VHD's parent is.
 *
 * The dynamic header has eight locator entries, each naming a platform and
 * pointing to platform data elsewhere in the file: W2ru (Windows relative
 * path, UTF-16LE), W2ku (Windows absolute path, UTF-16LE), MacX (a file://
 * URL, UTF-8).  The header also holds the parent's file name (UTF-16BE).
 * We try them in the order W2ru, MacX, W2ku, name: the first that exists
 * wins; if none exists, the first one found is reported so that the error
 * names what the image asked for.
 */
#include <string.h>
#include <sys/stat.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "disk/disk_internal.h"
#include "disk/vpc/vpc.h"

#define LOC_W2RU 0x57327275u /* "W2ru" */
#define LOC_W2KU 0x57326b75u /* "W2ku" */
#define LOC_MACX 0x4d616358u /* "MacX" */
#define LOC_MAX_DATA 4096u   /* longest path we accept */

static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* UTF-16 to a new UTF-8 string, stopping at a NUL; bad surrogates become '?'. */
static char *utf16_decode(const uint8_t *in, size_t len, int big_endian)
{
	char *out = vstd_malloc(len / 2 * 3 + 1), *p = out;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i + 1 < len; i += 2) {
		uint32_t cp = big_endian ? vstd_be16(in + i) : vstd_le16(in + i);
		if (cp == 0)
			break;
		if (cp >= 0xd800 && cp < 0xdc00 && i + 3 < len) {
			uint32_t lo = big_endian ? vstd_be16(in + i + 2) : vstd_le16(in + i + 2);
			if (lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i += 2;
			} else {
				cp = '?';
			}
		} else if (cp >= 0xd800 && cp < 0xe000) {
			cp = '?';
		}
		p += put_utf8(p, cp);
	}
	*p = '\0';
	return out;
}

int vpc_utf16_encode(const char *s, uint8_t *out, size_t cap, int big_endian)
{
	size_t n = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		uint32_t cp;
		int extra;
		if (*p < 0x80) {
			cp = *p;
			extra = 0;
		} else if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f;
			extra = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f;
			extra = 2;
		} else {
			cp = *p & 0x07;
			extra = 3;
		}
		p++;
		for (int i = 0; i < extra; i++) {
			if ((*p & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (*p++ & 0x3f);
		}
		if (cp >= 0x10000) {
			uint32_t v = cp - 0x10000;
			if (n + 4 > cap)
				return -1;
			if (big_endian) {
				vstd_put_be16(out + n, (uint16_t)(0xd800 + (v >> 10)));
				vstd_put_be16(out + n + 2, (uint16_t)(0xdc00 + (v & 0x3ff)));
			} else {
				vstd_put_le16(out + n, (uint16_t)(0xd800 + (v >> 10)));
				vstd_put_le16(out + n + 2, (uint16_t)(0xdc00 + (v & 0x3ff)));
			}
			n += 4;
			continue;
		}
		if (n + 2 > cap)
			return -1;
		if (big_endian)
			vstd_put_be16(out + n, (uint16_t)cp);
		else
			vstd_put_le16(out + n, (uint16_t)cp);
		n += 2;
	}
	return (int)n;
}

int vpc_locator_data(uint32_t code, const char *path, uint8_t *out, size_t cap)
{
	if (code == LOC_MACX) {
		static const char hex[] = "0123456789ABCDEF";
		size_t n = 0;
		const char *pre = "file://";
		if (strlen(pre) > cap)
			return -1;
		memcpy(out, pre, strlen(pre));
		n = strlen(pre);
		for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
			int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			            (*p >= '0' && *p <= '9') || strchr("/-._~", *p) != NULL;
			if (n + 3 > cap)
				return -1;
			if (plain) {
				out[n++] = *p;
			} else {
				out[n++] = '%';
				out[n++] = (uint8_t)hex[*p >> 4];
				out[n++] = (uint8_t)hex[*p & 15];
			}
		}
		return (int)n;
	} else {
		char *win = vstd_strdup(path);
		int n;
		if (win == NULL)
			return -1;
		for (char *p = win; *p; p++)
			if (*p == '/')
				*p = '\\';
		n = vpc_utf16_encode(win, out, cap, 0);
		vstd_free(win);
		return n;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A locator's data as a POSIX-style path (new string), or NULL. */
static char *locator_path(uint32_t code, const uint8_t *data, size_t len)
{
	char *s, *out;
	if (code == LOC_MACX) {
		size_t i = 0, o = 0;
		s = vstd_strndup((const char *)data, len);
		if (s == NULL)
			return NULL;
		if (strncmp(s, "file://", 7) == 0)
			i = 7;
		if (strncmp(s + i, "localhost/", 10) == 0)
			i += 9;
		for (; s[i]; i++) {
			if (s[i] == '%' && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
				s[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
				i += 2;
			} else {
				s[o++] = s[i];
			}
		}
		s[o] = '\0';
		return s;
	}
	s = utf16_decode(data, len, 0);
	if (s == NULL)
		return NULL;
	for (char *p = s; *p; p++)
		if (*p == '\\')
			*p = '/';
	out = s;
	while (strncmp(out, "./", 2) == 0)
		out += 2;
	if (out != s)
		memmove(s, out, strlen(out) + 1);
	return s;
}

static int exists_beside(const char *image, const char *name)
{
	struct stat st;
	char *p;
	int ok;
	if (image == NULL)
		return 0;
	p = vstd_disk_resolve_backing(image, name);
	if (p == NULL)
		return 0;
	ok = stat(p, &st) == 0 && S_ISREG(st.st_mode);
	vstd_free(p);
	return ok;
}

int vpc_parent_name(vstd_io *io, const char *image, const struct vpc_dyn_header *h,
                    uint64_t file_size, char **out, const char **which)
{
	static const uint32_t order[] = {LOC_W2RU, LOC_MACX, LOC_W2KU};
	static const char *const names[] = {"W2ru", "MacX", "W2ku"};
	char *first = NULL;
	const char *first_which = NULL;
	int rc;
	*out = NULL;
	*which = NULL;
	for (size_t k = 0; k < 3; k++) {
		for (int i = 0; i < 8; i++) {
			const struct vpc_locator *l = &h->loc[i];
			uint8_t *data;
			char *path;
			if (l->code != order[k] || l->length == 0)
				continue;
			if (l->length > LOC_MAX_DATA ||
			    !vstd_range_inside(l->offset, l->length, file_size)) {
				vstd_warn("vpc",
				          "%s: parent locator %d (%s) at 0x%" PRIx64 " of %" PRIu32
				          " bytes is outside the file or too long; ignored",
				          image, i, names[k], l->offset, l->length);
				continue;
			}
			data = vstd_malloc(l->length);
			if (data == NULL) {
				vstd_free(first);
				return vstd_err_code();
			}
			if ((rc = vstd_io_pread(io, data, l->length, l->offset)) < 0) {
				vstd_free(data);
				vstd_free(first);
				return rc;
			}
			path = locator_path(l->code, data, l->length);
			vstd_free(data);
			if (path == NULL) {
				vstd_free(first);
				return vstd_err_code();
			}
			if (path[0] == '\0') {
				vstd_free(path);
				continue;
			}
			if (exists_beside(image, path)) {
				vstd_free(first);
				*out = path;
				*which = names[k];
				return 0;
			}
			if (first == NULL) {
				first = path;
				first_which = names[k];
			} else {
				vstd_free(path);
			}
		}
	}
	if (first == NULL) {
		/* no usable locator: the parent's file name from the header */
		char *name = utf16_decode(h->parent_name, sizeof(h->parent_name), 1);
		if (name == NULL)
			return vstd_err_code();
		if (name[0] == '\0') {
			vstd_free(name);
			return 0;
		}
		first = name;
		first_which = "parent name";
	}
	*out = first;
	*which = first_which;
	return 0;
}
