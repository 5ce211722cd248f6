/*
 * disk/vhdx/header.c - the two VHDX headers (64 and 128 KiB): CRC-32C,
 * sequence numbers, GUIDs; and GUID helpers.
 *
 * The current header is the valid one (signature "head", checksum right)
 * with the larger sequence number.  Updates go to the other slot with
 * sequence + 1, so a torn write leaves the old header current.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/vhdx/vhdx_internal.h"

void vhdx_guid_load(vhdx_guid *g, const uint8_t *p)
{
	memcpy(g->b, p, 16);
}

int vhdx_guid_is_zero(const vhdx_guid *g)
{
	return vstd_is_zero(g->b, 16);
}

void vhdx_guid_random(vhdx_guid *g)
{
	if (getrandom(g->b, 16, 0) != 16) {
		static uint64_t ctr;
		uint64_t x = (uint64_t)time(NULL) ^ (++ctr * 0x9e3779b97f4a7c15ull) ^
		             (uint64_t)(uintptr_t)g;
		for (int i = 0; i < 16; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			g->b[i] = (uint8_t)x;
		}
	}
	g->b[7] = (uint8_t)((g->b[7] & 0x0f) | 0x40); /* version 4 (Data3 high nibble) */
	g->b[8] = (uint8_t)((g->b[8] & 0x3f) | 0x80);
}

void vhdx_guid_format(const vhdx_guid *g, char out[39])
{
	const uint8_t *b = g->b;
	snprintf(out, 39, "{%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x}", vstd_le32(b),
	         vstd_le16(b + 4), vstd_le16(b + 6), b[8], b[9], b[10], b[11], b[12], b[13], b[14],
	         b[15]);
}

static int parse_header(const uint8_t *h, struct vhdx_header *out)
{
	if (vstd_le32(h) != VHDX_SIG_HEAD)
		return -1;
	if (vstd_le32(h + 4) != vhdx_crc32c_skip(h, VHDX_HEADER_SIZE, 4))
		return -2;
	out->seq = vstd_le64(h + 8);
	vhdx_guid_load(&out->file_write, h + 16);
	vhdx_guid_load(&out->data_write, h + 32);
	vhdx_guid_load(&out->log_guid, h + 48);
	out->log_version = vstd_le16(h + 64);
	out->version = vstd_le16(h + 66);
	out->log_length = vstd_le32(h + 68);
	out->log_offset = vstd_le64(h + 72);
	return 0;
}

int vhdx_headers_read(vstd_disk *d, struct vhdx_state *s)
{
	uint8_t buf[VHDX_HEADER_SIZE];
	struct vhdx_header h[2];
	int ok[2], rc;
	for (int i = 0; i < 2; i++) {
		uint64_t off = i ? VHDX_HEADER2 : VHDX_HEADER1;
		if ((rc = vstd_io_pread(s->io, buf, sizeof(buf), off)) < 0)
			return rc;
		ok[i] = parse_header(buf, &h[i]) == 0;
	}
	if (!ok[0] && !ok[1])
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VHDX headers at offsets 0x10000 and 0x20000: "
		                "neither has a valid signature and CRC-32C",
		                d->filename);
	s->cur_header = (ok[0] && ok[1]) ? (h[1].seq > h[0].seq) : ok[1];
	s->hdr = h[s->cur_header];
	if (s->hdr.version != 1)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: VHDX header at offset 0x%x: version %u "
		                "unsupported (1 expected)",
		                d->filename, s->cur_header ? 0x20000 : 0x10000, s->hdr.version);
	if (s->hdr.log_version != 0)
		return vstd_err(VSTD_ENOTSUP, "%s: VHDX log version %u unsupported", d->filename,
		                s->hdr.log_version);
	if (s->hdr.log_length % VHDX_MIB != 0 || s->hdr.log_offset % VHDX_MIB != 0 ||
	    (s->hdr.log_length != 0 && s->hdr.log_offset < VHDX_MIB))
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VHDX log at offset 0x%" PRIx64 " length %u is "
		                "not 1 MiB aligned or overlaps the header area",
		                d->filename, s->hdr.log_offset, s->hdr.log_length);
	return 0;
}

void vhdx_header_build(uint8_t *buf, const struct vhdx_header *h)
{
	memset(buf, 0, VHDX_HEADER_SIZE);
	vstd_put_le32(buf, VHDX_SIG_HEAD);
	vstd_put_le64(buf + 8, h->seq);
	memcpy(buf + 16, h->file_write.b, 16);
	memcpy(buf + 32, h->data_write.b, 16);
	memcpy(buf + 48, h->log_guid.b, 16);
	vstd_put_le16(buf + 64, h->log_version);
	vstd_put_le16(buf + 66, h->version);
	vstd_put_le32(buf + 68, h->log_length);
	vstd_put_le64(buf + 72, h->log_offset);
	vstd_put_le32(buf + 4, vhdx_crc32c(buf, VHDX_HEADER_SIZE));
}

int vhdx_header_update(vstd_disk *d, struct vhdx_state *s)
{
	uint8_t buf[VHDX_HEADER_SIZE];
	int slot = 1 - s->cur_header, rc;
	s->hdr.seq++;
	vhdx_header_build(buf, &s->hdr);
	if ((rc = vstd_io_pwrite(s->io, buf, sizeof(buf), slot ? VHDX_HEADER2 : VHDX_HEADER1)) <
	            0 ||
	    (rc = vstd_io_flush(s->io)) < 0)
		return rc;
	s->cur_header = slot;
	return 0;
}
