/*
 * disk/vhdx/region.c - the region table (two copies, 192 and 256 KiB):
 * where the BAT and the metadata region are.
 *
 * Header: "regi", CRC-32C of the 64 KiB table, entry count (<= 2047).
 * Entries of 32 bytes: GUID, file offset (u64), length (u32), required
 * flag (bit 0 of u32).  An unknown region marked required cannot be
 * ignored.  Regions are 1 MiB aligned and may not overlap each other, the
 * first MiB or the log.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/vhdx/vhdx_internal.h"

static const uint8_t guid_bat[16] = {0x66, 0x77, 0xC2, 0x2D, 0x23, 0xF6, 0x00, 0x42,
                                     0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08};
static const uint8_t guid_meta[16] = {0x06, 0xA2, 0x7C, 0x8B, 0x90, 0x47, 0x9A, 0x4B,
                                      0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E};

static int overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

static int parse_table(vstd_disk *d, struct vhdx_state *s, const uint8_t *t, uint64_t at,
                       uint64_t file_size)
{
	uint32_t n = vstd_le32(t + 8);
	int have_bat = 0, have_meta = 0;
	if (vstd_le32(t) != VHDX_SIG_REGI ||
	    vstd_le32(t + 4) != vhdx_crc32c_skip(t, VHDX_REGION_SIZE, 4))
		return vstd_err(VSTD_ECORRUPT,
		                "%s: region table at offset 0x%" PRIx64 ": bad "
		                "signature or CRC-32C",
		                d->filename, at);
	if (n > 2047)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: region table at offset 0x%" PRIx64 ": %u "
		                "entries (at most 2047)",
		                d->filename, at, n);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = t + 16 + 32 * (size_t)i;
		uint64_t off = vstd_le64(e + 16), len = vstd_le32(e + 24);
		int req = vstd_le32(e + 28) & 1;
		int is_bat = memcmp(e, guid_bat, 16) == 0, is_meta = memcmp(e, guid_meta, 16) == 0;
		if (!is_bat && !is_meta) {
			if (req)
				return vstd_err(VSTD_ENOTSUP,
				                "%s: region table entry %u: unknown "
				                "required region",
				                d->filename, i);
			continue;
		}
		if (off % VHDX_MIB || len % VHDX_MIB || len == 0 || off < VHDX_MIB ||
		    !vstd_range_inside(off, len, file_size))
			return vstd_err(VSTD_ECORRUPT,
			                "%s: region table entry %u (%s) at offset 0x%" PRIx64
			                ", %" PRIu64 " bytes: not 1 MiB aligned or past the "
			                "end of the file (%" PRIu64 " bytes)",
			                d->filename, i, is_bat ? "BAT" : "metadata", off, len,
			                file_size);
		if ((is_bat && have_bat) || (is_meta && have_meta))
			return vstd_err(VSTD_ECORRUPT, "%s: region table lists the %s twice",
			                d->filename, is_bat ? "BAT" : "metadata region");
		if (is_bat) {
			s->bat_off = off;
			s->bat_len = len;
			have_bat = 1;
		} else {
			s->meta_off = off;
			s->meta_len = len;
			have_meta = 1;
		}
	}
	if (!have_bat || !have_meta)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: region table at offset 0x%" PRIx64 " lacks the "
		                "%s",
		                d->filename, at, have_bat ? "metadata region" : "BAT");
	if (overlap(s->bat_off, s->bat_len, s->meta_off, s->meta_len) ||
	    overlap(s->bat_off, s->bat_len, s->hdr.log_offset, s->hdr.log_length) ||
	    overlap(s->meta_off, s->meta_len, s->hdr.log_offset, s->hdr.log_length))
		return vstd_err(VSTD_ECORRUPT, "%s: the BAT, metadata region and log overlap",
		                d->filename);
	return 0;
}

int vhdx_regions_read(vstd_disk *d, struct vhdx_state *s, uint64_t file_size)
{
	uint8_t *t = vstd_malloc(VHDX_REGION_SIZE);
	int rc;
	if (t == NULL)
		return vstd_err_code();
	rc = vstd_io_pread(s->io, t, VHDX_REGION_SIZE, VHDX_REGION1);
	if (rc == 0)
		rc = parse_table(d, s, t, VHDX_REGION1, file_size);
	if (rc == VSTD_ECORRUPT || rc == VSTD_ENOTSUP) {
		/* the second copy */
		int rc2 = vstd_io_pread(s->io, t, VHDX_REGION_SIZE, VHDX_REGION2);
		if (rc2 == 0)
			rc2 = parse_table(d, s, t, VHDX_REGION2, file_size);
		if (rc2 == 0)
			rc = 0;
	}
	vstd_free(t);
	if (rc == 0 && s->hdr.log_length != 0 &&
	    !vstd_range_inside(s->hdr.log_offset, s->hdr.log_length, file_size))
		rc = vstd_err(VSTD_ECORRUPT,
		              "%s: VHDX log at offset 0x%" PRIx64 " (%u bytes) is "
		              "past the end of the file",
		              d->filename, s->hdr.log_offset, s->hdr.log_length);
	return rc;
}

void vhdx_region_build(uint8_t *buf, uint64_t bat_off, uint32_t bat_len, uint64_t meta_off,
                       uint32_t meta_len)
{
	memset(buf, 0, VHDX_REGION_SIZE);
	vstd_put_le32(buf, VHDX_SIG_REGI);
	vstd_put_le32(buf + 8, 2);
	memcpy(buf + 16, guid_bat, 16);
	vstd_put_le64(buf + 32, bat_off);
	vstd_put_le32(buf + 40, bat_len);
	vstd_put_le32(buf + 44, 1);
	memcpy(buf + 48, guid_meta, 16);
	vstd_put_le64(buf + 64, meta_off);
	vstd_put_le32(buf + 72, meta_len);
	vstd_put_le32(buf + 76, 1);
	vstd_put_le32(buf + 4, vhdx_crc32c(buf, VHDX_REGION_SIZE));
}

/*
 * Point the BAT entry of both region tables at a new BAT.  The tables lie
 * in the first MiB, where log writes are not allowed (vstd refuses such a
 * log as hostile), so the two copies give the atomicity: copy 2 first,
 * then copy 1, each flushed.  A crash before copy 1 is complete leaves
 * copy 1 old (or torn: readers then take copy 2, already new).  Either BAT
 * describes the same data; the caller flushes the new BAT before.
 */
int vhdx_region_set_bat(vstd_disk *d, struct vhdx_state *s, uint64_t bat_off, uint32_t bat_len)
{
	uint8_t *t = vstd_malloc(VHDX_REGION_SIZE);
	struct vhdx_state probe;
	uint64_t size;
	uint32_t n;
	int rc, found = 0;
	if (t == NULL)
		return vstd_err_code();
	/* start from the copy the readers use, keeping its other entries */
	memset(&probe, 0, sizeof(probe));
	probe.hdr = s->hdr;
	if ((rc = vstd_io_size(s->io, &size)) < 0 ||
	    (rc = vstd_io_pread(s->io, t, VHDX_REGION_SIZE, VHDX_REGION1)) < 0)
		goto out;
	if (parse_table(d, &probe, t, VHDX_REGION1, size) < 0 &&
	    ((rc = vstd_io_pread(s->io, t, VHDX_REGION_SIZE, VHDX_REGION2)) < 0 ||
	     (rc = parse_table(d, &probe, t, VHDX_REGION2, size)) < 0))
		goto out;
	n = vstd_le32(t + 8);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *e = t + 16 + 32 * (size_t)i;
		if (memcmp(e, guid_bat, 16) == 0) {
			vstd_put_le64(e + 16, bat_off);
			vstd_put_le32(e + 24, bat_len);
			found = 1;
		}
	}
	if (!found) {
		rc = vstd_err(VSTD_ECORRUPT, "%s: region table lost its BAT entry", d->filename);
		goto out;
	}
	vstd_put_le32(t + 4, 0);
	vstd_put_le32(t + 4, vhdx_crc32c(t, VHDX_REGION_SIZE));
	if ((rc = vstd_io_pwrite(s->io, t, VHDX_REGION_SIZE, VHDX_REGION2)) < 0 ||
	    (rc = vstd_io_flush(s->io)) < 0 ||
	    (rc = vstd_io_pwrite(s->io, t, VHDX_REGION_SIZE, VHDX_REGION1)) < 0 ||
	    (rc = vstd_io_flush(s->io)) < 0)
		goto out;
	s->bat_off = bat_off;
	s->bat_len = bat_len;
out:
	vstd_free(t);
	return rc;
}
