/*
 * paravirt/decode.c - vstd_virtio_ring_decode: a ring in guest memory as
 * text, chains validated with the device's own rules (virtq/), nothing
 * written to guest memory.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/bytes.h"
#include "core/error_internal.h"
#include "paravirt/virtq/virtq.h"

static void out(void (*line)(void *, const char *), void *opaque, const char *fmt, ...)
        VSTD_PRINTF(3, 4);
static void out(void (*line)(void *, const char *), void *opaque, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	line(opaque, buf);
}

static const char *flag_text(uint16_t fl, int packed, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s", fl & 1 ? " NEXT" : "", fl & 2 ? " WRITE" : "",
	         fl & 4 ? " INDIRECT" : "", packed && (fl & 0x80) ? " AVAIL" : "",
	         packed && (fl & 0x8000) ? " USED" : "");
	return buf;
}

int vstd_virtio_ring_decode(const vstd_guestmem *gm, const vstd_virtio_ring *r,
                            void (*line)(void *opaque, const char *text), void *opaque)
{
	struct vstd_vq vq;
	struct vq_features f;
	int rc, valid = 0;
	char fb[64];
	if (gm == NULL || r == NULL || line == NULL || r->version != VSTD_VIRTIO_RING_VERSION)
		return vstd_err(VSTD_EINVAL, "virtio: invalid ring description");
	vq_init(&vq, 0, r->num ? r->num : 1);
	vq_reset(&vq);
	vq.num = r->num;
	vq.desc_gpa = r->desc;
	vq.driver_gpa = r->driver;
	vq.device_gpa = r->device;
	f.packed = r->packed;
	f.event_idx = 1;
	f.indirect = r->indirect;
	{
		/* Enabling a packed ring initialises the device event area:
		 * keep the dump's bytes as they were. */
		uint8_t keep[4] = {0};
		int kept = r->packed && vstd_guestmem_read(gm, r->device, keep, 4) == 0;
		rc = vq_enable(&vq, gm, &f);
		if (kept && rc == 0)
			(void)vstd_guestmem_write(gm, r->device, keep, 4);
	}
	if (rc < 0) {
		vq_destroy(&vq);
		return rc;
	}
	out(line, opaque,
	    "%s ring, %u entries: descriptors 0x%" PRIx64 ", driver area 0x%" PRIx64
	    ", device area 0x%" PRIx64,
	    r->packed ? "packed" : "split", r->num, r->desc, r->driver, r->device);
	for (unsigned i = 0; i < r->num; i++) {
		const uint8_t *d = vq.desc + 16 * (size_t)i;
		uint16_t fl = vstd_le16(d + (r->packed ? 14 : 12));
		if (vstd_is_zero(d, 16))
			continue;
		if (r->packed)
			out(line, opaque,
			    "  desc[%u] addr 0x%" PRIx64 " len %u id %u flags 0x%04x%s", i,
			    vstd_le64(d), vstd_le32(d + 8), vstd_le16(d + 12), fl,
			    flag_text(fl, 1, fb, sizeof(fb)));
		else
			out(line, opaque,
			    "  desc[%u] addr 0x%" PRIx64 " len %u flags 0x%04x%s next %u", i,
			    vstd_le64(d), vstd_le32(d + 8), fl, flag_text(fl, 0, fb, sizeof(fb)),
			    vstd_le16(d + 14));
	}
	if (r->packed) {
		out(line, opaque, "  driver event: off_wrap 0x%04x flags %u", vstd_le16(vq.driver),
		    vstd_le16(vq.driver + 2));
		out(line, opaque, "  device event: off_wrap 0x%04x flags %u", vstd_le16(vq.device),
		    vstd_le16(vq.device + 2));
	} else {
		uint16_t aidx = vstd_le16(vq.driver + 2), uidx = vstd_le16(vq.device + 2);
		out(line, opaque, "  avail: flags 0x%x idx %u used_event %u", vstd_le16(vq.driver),
		    aidx, vstd_le16(vq.driver + 4 + 2 * (size_t)r->num));
		for (uint16_t k = 0; k < r->num && k < (uint16_t)(aidx - r->last_avail); k++)
			out(line, opaque, "    ring[%u] = %u", (r->last_avail + k) % r->num,
			    vstd_le16(vq.driver + 4 + 2 * (size_t)((r->last_avail + k) % r->num)));
		out(line, opaque, "  used: flags 0x%x idx %u avail_event %u", vstd_le16(vq.device),
		    uidx, vstd_le16(vq.device + 4 + 8 * (size_t)r->num));
		vq.last_avail = r->last_avail;
	}
	/* Walk the available chains as the device would (nothing is pushed). */
	for (unsigned n = 0; n < r->num; n++) {
		struct vq_chain *c;
		int p = vq_pop(&vq, &c);
		if (p == 0)
			break;
		if (p < 0) {
			out(line, opaque, "  chain %u: INVALID: %s", n, vstd_error_last()->message);
			break;
		}
		out(line, opaque,
		    "  chain %u: %s %u, %u descriptors, %" PRIu64 " bytes readable, %" PRIu64
		    " bytes writable",
		    n, r->packed ? "id" : "head", c->head, c->ndescs, c->out_len, c->in_len);
		valid++;
	}
	vq_destroy(&vq);
	return valid;
}
