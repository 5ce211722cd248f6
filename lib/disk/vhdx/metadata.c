/*
 * disk/vhdx/metadata.c - the metadata region: file parameters, virtual
 * disk size, page 83 data, logical and physical sector sizes, parent
 * locator.
 *
 * Table header (32 bytes): "metadata", reserved, entry count (<= 2047).
 * Entries (32 bytes): item GUID, offset and length inside the region
 * (offset >= 64 KiB), flags (bit 0 user, bit 1 virtual disk, bit 2
 * required).  An unknown required item cannot be ignored.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "disk/vhdx/vhdx_internal.h"

static const uint8_t g_file_params[16] = {0x37, 0x67, 0xA1, 0xCA, 0x36, 0xFA, 0x43, 0x4D,
                                          0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B};
static const uint8_t g_vdisk_size[16] = {0x24, 0x42, 0xA5, 0x2F, 0x1B, 0xCD, 0x76, 0x48,
                                         0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8};
static const uint8_t g_page83[16] = {0xAB, 0x12, 0xCA, 0xBE, 0xE6, 0xB2, 0x23, 0x45,
                                     0x93, 0xEF, 0xC3, 0x09, 0xE0, 0x00, 0xC7, 0x46};
static const uint8_t g_lsec[16] = {0x1D, 0xBF, 0x41, 0x81, 0x6F, 0xA9, 0x09, 0x47,
                                   0xBA, 0x47, 0xF2, 0x33, 0xA8, 0xFA, 0xAB, 0x5F};
static const uint8_t g_psec[16] = {0xC7, 0x48, 0xA3, 0xCD, 0x5D, 0x44, 0x71, 0x44,
                                   0x9C, 0xC9, 0xE9, 0x88, 0x52, 0x51, 0xC5, 0x56};
static const uint8_t g_parent[16] = {0x2D, 0x5F, 0xD3, 0xA8, 0x0B, 0xB3, 0x4D, 0x45,
                                     0xAB, 0xF7, 0xD3, 0xD8, 0x48, 0x34, 0xAB, 0x0C};
static const uint8_t g_loc_vhdx[16] = {0xB7, 0xEF, 0x4A, 0xB0, 0x9E, 0xD1, 0x81, 0x4A,
                                       0xB7, 0x89, 0x25, 0xB8, 0xE9, 0x44, 0x59, 0x13};

/* UTF-16LE to UTF-8 (new string); unpaired surrogates become U+FFFD. */
static char *utf16_to_utf8(const uint8_t *p, size_t bytes)
{
	size_t n = bytes / 2, o = 0;
	char *s = vstd_malloc(n * 3 + 1);
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = vstd_le16(p + 2 * i);
		if (c >= 0xD800 && c < 0xDC00 && i + 1 < n) {
			uint32_t c2 = vstd_le16(p + 2 * i + 2);
			if (c2 >= 0xDC00 && c2 < 0xE000) {
				c = 0x10000 + ((c - 0xD800) << 10) + (c2 - 0xDC00);
				i++;
			} else {
				c = 0xFFFD;
			}
		} else if (c >= 0xD800 && c < 0xE000) {
			c = 0xFFFD;
		}
		if (c == 0)
			break;
		if (c < 0x80) {
			s[o++] = (char)c;
		} else if (c < 0x800) {
			s[o++] = (char)(0xC0 | (c >> 6));
			s[o++] = (char)(0x80 | (c & 0x3F));
		} else if (c < 0x10000) {
			s[o++] = (char)(0xE0 | (c >> 12));
			s[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
			s[o++] = (char)(0x80 | (c & 0x3F));
		} else {
			/* 4-byte sequence needs one more byte than reserved per unit
			 * pair (6 bytes for 2 units), so it fits */
			s[o++] = (char)(0xF0 | (c >> 18));
			s[o++] = (char)(0x80 | ((c >> 12) & 0x3F));
			s[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
			s[o++] = (char)(0x80 | (c & 0x3F));
		}
	}
	s[o] = '\0';
	return s;
}

static int parse_locator(vstd_disk *d, struct vhdx_state *s, const uint8_t *p, uint32_t len)
{
	uint32_t count;
	if (len < 20)
		return vstd_err(VSTD_ECORRUPT, "%s: parent locator of %u bytes is too short",
		                d->filename, len);
	if (memcmp(p, g_loc_vhdx, 16) != 0)
		return vstd_err(VSTD_ENOTSUP, "%s: parent locator of an unknown type", d->filename);
	count = vstd_le16(p + 18);
	if (count > (len - 20) / 12)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: parent locator: %u entries do not fit its %u "
		                "bytes",
		                d->filename, count, len);
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *e = p + 20 + 12 * (size_t)i;
		uint32_t ko = vstd_le32(e), vo = vstd_le32(e + 4);
		uint32_t kl = vstd_le16(e + 8), vl = vstd_le16(e + 10);
		char *key, *val, **slot = NULL;
		if (!vstd_range_inside(ko, kl, len) || !vstd_range_inside(vo, vl, len))
			return vstd_err(VSTD_ECORRUPT,
			                "%s: parent locator entry %u points outside "
			                "the locator",
			                d->filename, i);
		key = utf16_to_utf8(p + ko, kl);
		val = utf16_to_utf8(p + vo, vl);
		if (key == NULL || val == NULL) {
			vstd_free(key);
			vstd_free(val);
			return vstd_err_code();
		}
		if (strcmp(key, "parent_linkage") == 0)
			slot = &s->parent_linkage;
		else if (strcmp(key, "relative_path") == 0)
			slot = &s->parent_rel;
		else if (strcmp(key, "absolute_win32_path") == 0)
			slot = &s->parent_abs;
		else if (strcmp(key, "volume_path") == 0)
			slot = &s->parent_vol;
		vstd_free(key);
		if (slot != NULL) {
			vstd_free(*slot);
			*slot = val;
		} else {
			vstd_free(val);
		}
	}
	return 0;
}

int vhdx_metadata_read(vstd_disk *d, struct vhdx_state *s)
{
	uint8_t *m;
	uint32_t n, found = 0;
	int rc;
	if (s->meta_len > ((uint64_t)32 << 20))
		return vstd_err(VSTD_ELIMIT,
		                "%s: metadata region of %" PRIu64 " bytes is above the "
		                "32 MiB limit",
		                d->filename, s->meta_len);
	m = vstd_malloc((size_t)s->meta_len);
	if (m == NULL)
		return vstd_err_code();
	if ((rc = vstd_io_pread(s->io, m, (size_t)s->meta_len, s->meta_off)) < 0)
		goto out;
	rc = VSTD_ECORRUPT;
	if (memcmp(m, "metadata", 8) != 0) {
		vstd_err(rc, "%s: metadata region at offset 0x%" PRIx64 ": bad signature",
		         d->filename, s->meta_off);
		goto out;
	}
	n = vstd_le16(m + 10);
	if (n > 2047) {
		vstd_err(rc, "%s: metadata table: %u entries (at most 2047)", d->filename, n);
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = m + 32 + 32 * (size_t)i;
		uint32_t off = vstd_le32(e + 16), len = vstd_le32(e + 20), fl = vstd_le32(e + 24);
		const uint8_t *v = m + off;
		if (len != 0 && (off < 65536 || !vstd_range_inside(off, len, s->meta_len))) {
			vstd_err(rc,
			         "%s: metadata entry %u at 0x%x (%u bytes) lies outside the "
			         "metadata region",
			         d->filename, i, off, len);
			goto out;
		}
		if (memcmp(e, g_file_params, 16) == 0 && len >= 8) {
			s->block_size = vstd_le32(v);
			s->leave_alloc = vstd_le32(v + 4) & 1;
			s->has_parent = (vstd_le32(v + 4) >> 1) & 1;
			found |= 1;
		} else if (memcmp(e, g_vdisk_size, 16) == 0 && len >= 8) {
			s->vsize = vstd_le64(v);
			s->vsize_at = s->meta_off + off;
			found |= 2;
		} else if (memcmp(e, g_page83, 16) == 0 && len >= 16) {
			vhdx_guid_load(&s->page83, v);
			found |= 4;
		} else if (memcmp(e, g_lsec, 16) == 0 && len >= 4) {
			s->lsec = vstd_le32(v);
			found |= 8;
		} else if (memcmp(e, g_psec, 16) == 0 && len >= 4) {
			s->psec = vstd_le32(v);
			found |= 16;
		} else if (memcmp(e, g_parent, 16) == 0) {
			if ((rc = parse_locator(d, s, v, len)) < 0)
				goto out;
			rc = VSTD_ECORRUPT;
			found |= 32;
		} else if (fl & 4) {
			char g[39];
			vhdx_guid guid;
			vhdx_guid_load(&guid, e);
			vhdx_guid_format(&guid, g);
			rc = vstd_err(VSTD_ENOTSUP, "%s: unknown required metadata item %s",
			              d->filename, g);
			goto out;
		}
	}
	if ((found & 0x1f) != 0x1f) {
		vstd_err(rc,
		         "%s: metadata region lacks a required item (file parameters, disk "
		         "size, page 83 data or sector sizes)",
		         d->filename);
		goto out;
	}
	if (s->block_size < VHDX_MIB || s->block_size > 256 * VHDX_MIB ||
	    (s->block_size & (s->block_size - 1)) != 0) {
		vstd_err(rc, "%s: block size %u is not a power of two of 1 to 256 MiB", d->filename,
		         s->block_size);
		goto out;
	}
	if ((s->lsec != 512 && s->lsec != 4096) || (s->psec != 512 && s->psec != 4096)) {
		vstd_err(rc, "%s: sector sizes %u/%u: only 512 and 4096 are valid", d->filename,
		         s->lsec, s->psec);
		goto out;
	}
	if (s->vsize == 0 || s->vsize > ((uint64_t)64 << 40) || s->vsize % s->lsec != 0) {
		vstd_err(rc,
		         "%s: virtual disk size %" PRIu64 " is 0, above 64 TiB or not a "
		         "multiple of the sector size",
		         d->filename, s->vsize);
		goto out;
	}
	if (s->has_parent && !(found & 32)) {
		vstd_err(rc, "%s: differencing disk without a parent locator", d->filename);
		goto out;
	}
	rc = 0;
out:
	vstd_free(m);
	return rc;
}

/* UTF-16LE of an ASCII/UTF-8 subset (ASCII only here). */
static size_t put_utf16(uint8_t *p, const char *s)
{
	size_t n = 0;
	for (; *s; s++, n += 2)
		vstd_put_le16(p + n, (uint16_t)(unsigned char)*s);
	return n;
}

size_t vhdx_metadata_build(uint8_t *buf, size_t cap, uint32_t block_size, int leave_alloc,
                           uint64_t vsize, uint32_t lsec, uint32_t psec, const char *parent_rel,
                           const char *parent_abs, const vhdx_guid *parent_link)
{
	const uint8_t *ids[6] = {g_file_params, g_vdisk_size, g_page83, g_lsec, g_psec, g_parent};
	uint32_t offs[6], lens[6] = {8, 8, 16, 4, 4, 0};
	uint32_t flags[6] = {4, 6, 6, 6, 6, 4};
	size_t n = parent_rel ? 6 : 5, at = 65536;
	vhdx_guid page;
	memset(buf, 0, cap);
	memcpy(buf, "metadata", 8);
	vstd_put_le16(buf + 10, (uint16_t)n);
	for (size_t i = 0; i < 5; i++) {
		offs[i] = (uint32_t)at;
		at += 4096 > lens[i] ? 4096 : lens[i];
	}
	vstd_put_le32(buf + offs[0], block_size);
	vstd_put_le32(buf + offs[0] + 4, (leave_alloc ? 1u : 0u) | (parent_rel ? 2u : 0u));
	vstd_put_le64(buf + offs[1], vsize);
	vhdx_guid_random(&page);
	memcpy(buf + offs[2], page.b, 16);
	vstd_put_le32(buf + offs[3], lsec);
	vstd_put_le32(buf + offs[4], psec);
	if (parent_rel != NULL) {
		uint8_t *p = buf + at;
		char link[39];
		/* the keys in Hyper-V's order (volume_path: there is no volume
		 * GUID path here); parent_linkage2 is the zero GUID, as Hyper-V
		 * leaves it */
		const char *keys[4] = {"parent_linkage", "absolute_win32_path", "relative_path",
		                       "parent_linkage2"};
		const char *vals[4];
		const int nk = 4;
		size_t pos = 20 + 12 * (size_t)nk;
		vhdx_guid_format(parent_link, link);
		vals[0] = link;
		vals[1] = parent_abs != NULL ? parent_abs : parent_rel;
		vals[2] = parent_rel;
		vals[3] = "{00000000-0000-0000-0000-000000000000}";
		offs[5] = (uint32_t)at;
		memcpy(p, g_loc_vhdx, 16);
		vstd_put_le16(p + 18, (uint16_t)nk);
		for (int k = 0; k < nk; k++) {
			size_t kl, vl;
			kl = put_utf16(p + pos, keys[k]);
			vstd_put_le32(p + 20 + 12 * k, (uint32_t)pos);
			vstd_put_le16(p + 20 + 12 * k + 8, (uint16_t)kl);
			pos += kl;
			vl = put_utf16(p + pos, vals[k]);
			vstd_put_le32(p + 20 + 12 * k + 4, (uint32_t)pos);
			vstd_put_le16(p + 20 + 12 * k + 10, (uint16_t)vl);
			pos += vl;
		}
		lens[5] = (uint32_t)pos;
		at += vstd_align_up(pos, 4096);
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t *e = buf + 32 + 32 * i;
		memcpy(e, ids[i], 16);
		vstd_put_le32(e + 16, offs[i]);
		vstd_put_le32(e + 20, lens[i]);
		vstd_put_le32(e + 24, flags[i]);
	}
	return at;
}
