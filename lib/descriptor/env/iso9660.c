/*
 * descriptor/env/iso9660.c - a minimal ISO 9660 (ECMA-119) image writer for
 * the OVF environment's ISO transport (DSP0243 11.2): one root directory,
 * a primary volume descriptor and a terminator, files stored contiguously.
 *
 * Layout (2048-byte logical sectors):
 *   0-15  system area (zero)          16  primary volume descriptor
 *   17    descriptor set terminator   18  path table, little endian
 *   19    path table, big endian      20  root directory
 *   21..  file data, each file starting on a sector
 * Numbers in descriptors and directory records are "both-endian" (the
 * little-endian value then the big-endian one, ECMA-119 7.2.3 / 7.3.3).
 * File identifiers are level 1 (8.3, upper case, ";1"); '-' is kept as is
 * (genisoimage's -relaxed-filenames) so that "ovf-env.xml" keeps its name.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "vstd/ovf.h"

#define SECTOR 2048
#define MAX_ISO_FILES 32
#define MAX_ISO_FILE (64u << 20)

static void both16(uint8_t *p, uint16_t v)
{
	vstd_put_le16(p, v);
	vstd_put_be16(p + 2, v);
}

static void both32(uint8_t *p, uint32_t v)
{
	vstd_put_le32(p, v);
	vstd_put_be32(p + 4, v);
}

static void fill(uint8_t *p, size_t n, const char *s)
{
	memset(p, ' ', n);
	size_t l = strlen(s);
	memcpy(p, s, l < n ? l : n);
}

/* 7-byte directory record date (ECMA-119 9.1.5), UTC. */
static void dir_date(uint8_t *p, const struct tm *t)
{
	p[0] = (uint8_t)t->tm_year;
	p[1] = (uint8_t)(t->tm_mon + 1);
	p[2] = (uint8_t)t->tm_mday;
	p[3] = (uint8_t)t->tm_hour;
	p[4] = (uint8_t)t->tm_min;
	p[5] = (uint8_t)t->tm_sec;
	p[6] = 0;
}

/* 17-byte volume descriptor date (ECMA-119 8.4.26.1). */
static void vd_date(uint8_t *p, const struct tm *t)
{
	char b[64];
	snprintf(b, sizeof(b), "%04d%02d%02d%02d%02d%02d00", t->tm_year + 1900, t->tm_mon + 1,
	         t->tm_mday, t->tm_hour, t->tm_min, t->tm_sec);
	memcpy(p, b, 16);
	p[16] = 0;
}

static size_t dir_record(uint8_t *p, uint32_t extent, uint32_t size, int dir, const char *id,
                         size_t id_len, const struct tm *t)
{
	size_t len = 33 + id_len + ((id_len & 1) ? 0 : 1);
	memset(p, 0, len);
	p[0] = (uint8_t)len;
	both32(p + 2, extent);
	both32(p + 10, size);
	dir_date(p + 18, t);
	p[25] = dir ? 2 : 0;
	both16(p + 28, 1);
	p[32] = (uint8_t)id_len;
	memcpy(p + 33, id, id_len);
	return len;
}

static int iso_name(const char *in, char *out, size_t out_size)
{
	/* NAME.EXT;1 with up to 8 + 3 characters */
	const char *dot = strrchr(in, '.');
	size_t bl = dot ? (size_t)(dot - in) : strlen(in);
	size_t el = dot ? strlen(dot + 1) : 0;
	if (bl == 0 || bl > 8 || el > 3)
		return vstd_err(VSTD_EINVAL, "ISO 9660: '%s' is not an 8.3 file name", in);
	size_t k = 0;
	for (size_t i = 0; i < bl + (dot ? 1 + el : 0); i++) {
		char c = in[i];
		if (c == '.') {
			out[k++] = '.';
			continue;
		}
		c = (char)toupper((unsigned char)c);
		if (!(isupper((unsigned char)c) || isdigit((unsigned char)c) || c == '_' ||
		      c == '-'))
			return vstd_err(VSTD_EINVAL,
			                "ISO 9660: '%s' has a character outside A-Z 0-9 _ -", in);
		out[k++] = c;
	}
	if (!dot)
		out[k++] = '.';
	snprintf(out + k, out_size - k, ";1");
	return 0;
}

int vstd_iso9660_write(const char *path, const char *volume_id, const vstd_iso_file *files,
                       size_t n_files)
{
	if (path == NULL || (n_files > 0 && files == NULL))
		return vstd_err(VSTD_EINVAL, "vstd_iso9660_write: NULL argument");
	if (n_files > MAX_ISO_FILES)
		return vstd_err(VSTD_ELIMIT, "ISO 9660: at most %d files", MAX_ISO_FILES);
	const char *vol = volume_id ? volume_id : "OVF_ENV";
	if (strlen(vol) > 32)
		return vstd_err(VSTD_EINVAL, "ISO 9660: volume id '%s' longer than 32", vol);
	for (const char *c = vol; *c; c++)
		if (!(isupper((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_'))
			return vstd_err(VSTD_EINVAL, "ISO 9660: volume id '%s' is not d-characters",
			                vol);
	char names[MAX_ISO_FILES][16];
	size_t order[MAX_ISO_FILES];
	for (size_t i = 0; i < n_files; i++) {
		if (files[i].name == NULL || files[i].len > MAX_ISO_FILE ||
		    (files[i].len > 0 && files[i].data == NULL))
			return vstd_err(VSTD_EINVAL,
			                "ISO 9660: file %zu has no name or is too large", i);
		int rc = iso_name(files[i].name, names[i], sizeof(names[i]));
		if (rc < 0)
			return rc;
		order[i] = i;
	}
	/* Directory records are sorted by identifier (ECMA-119 9.3). */
	for (size_t i = 1; i < n_files; i++)
		for (size_t j = i; j > 0 && strcmp(names[order[j - 1]], names[order[j]]) > 0; j--) {
			size_t t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (size_t i = 1; i < n_files; i++)
		if (strcmp(names[order[i - 1]], names[order[i]]) == 0)
			return vstd_err(VSTD_EINVAL, "ISO 9660: two files named %s",
			                names[order[i]]);

	time_t now = time(NULL);
	struct tm t;
	gmtime_r(&now, &t);
	uint32_t extent[MAX_ISO_FILES];
	uint32_t next = 21;
	for (size_t i = 0; i < n_files; i++) {
		extent[i] = next;
		next += (uint32_t)((files[i].len + SECTOR - 1) / SECTOR);
	}
	uint32_t total = next;

	uint8_t *img = vstd_calloc(21, SECTOR);
	if (img == NULL)
		return VSTD_ENOMEM;
	/* Root directory (sector 20). */
	uint8_t *root = img + 20 * SECTOR;
	size_t off = 0;
	static const char self = 0, parent = 1;
	off += dir_record(root + off, 20, SECTOR, 1, &self, 1, &t);
	off += dir_record(root + off, 20, SECTOR, 1, &parent, 1, &t);
	for (size_t k = 0; k < n_files; k++) {
		size_t i = order[k];
		off += dir_record(root + off, extent[i], (uint32_t)files[i].len, 0, names[i],
		                  strlen(names[i]), &t);
	}
	/* Path tables (sectors 18 and 19): the root only. */
	uint8_t *lpt = img + 18 * SECTOR, *mpt = img + 19 * SECTOR;
	lpt[0] = 1;
	vstd_put_le32(lpt + 2, 20);
	vstd_put_le16(lpt + 6, 1);
	mpt[0] = 1;
	vstd_put_be32(mpt + 2, 20);
	vstd_put_be16(mpt + 6, 1);
	/* Primary volume descriptor (sector 16). */
	uint8_t *pvd = img + 16 * SECTOR;
	pvd[0] = 1;
	memcpy(pvd + 1, "CD001", 5);
	pvd[6] = 1;
	fill(pvd + 8, 32, "LINUX");
	fill(pvd + 40, 32, vol);
	both32(pvd + 80, total);
	both16(pvd + 120, 1);
	both16(pvd + 124, 1);
	both16(pvd + 128, SECTOR);
	both32(pvd + 132, 10);
	vstd_put_le32(pvd + 140, 18);
	vstd_put_be32(pvd + 148, 19);
	dir_record(pvd + 156, 20, SECTOR, 1, &self, 1, &t);
	fill(pvd + 190, 128, "");
	fill(pvd + 318, 128, "");
	fill(pvd + 446, 128, "");
	fill(pvd + 574, 128, "VSTD");
	fill(pvd + 702, 37, "");
	fill(pvd + 739, 37, "");
	fill(pvd + 776, 37, "");
	vd_date(pvd + 813, &t);
	vd_date(pvd + 830, &t);
	memset(pvd + 847, '0', 16);
	memset(pvd + 864, '0', 16);
	pvd[881] = 1;
	/* Terminator (sector 17). */
	uint8_t *term = img + 17 * SECTOR;
	term[0] = 255;
	memcpy(term + 1, "CD001", 5);
	term[6] = 1;

	vstd_io *io = NULL;
	int rc = vstd_io_file_open(&io, path, VSTD_IO_WRITE | VSTD_IO_CREATE | VSTD_IO_TRUNC);
	if (rc == 0)
		rc = vstd_io_pwrite(io, img, 21 * SECTOR, 0);
	for (size_t i = 0; rc == 0 && i < n_files; i++)
		if (files[i].len > 0)
			rc = vstd_io_pwrite(io, files[i].data, files[i].len,
			                    (uint64_t)extent[i] * SECTOR);
	if (rc == 0)
		rc = vstd_io_truncate(io, (uint64_t)total * SECTOR);
	if (rc == 0)
		rc = vstd_io_flush(io);
	vstd_io_close(io);
	if (rc < 0)
		unlink(path);
	vstd_free(img);
	return rc;
}
