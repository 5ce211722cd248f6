/*
 * disk/qcow2/bitmaps.c - persistent dirty bitmaps, as a writer that does
 * not track writes in them.
 *
 * The bitmaps extension names a directory of entries: bitmap table offset
 * (8), table entries (4), flags (4; bit 0 in use, bit 1 auto/enabled, bit
 * 2 extra data compatible), type (1), granularity bits (1), name length
 * (2), extra data length (4), extra data, name, padding to 8 bytes.  The
 * spec's "in use" flag says the bitmap may be inconsistent with the data:
 * QEMU sets it while it has a bitmap loaded and clears it when it stores it
 * back.  vstd does not update bitmaps, so before the first change to what
 * the guest sees it sets "in use" on every bitmap and makes that durable;
 * the structures stay intact (qemu-img check stays clean, qemu reports the
 * bitmaps as inconsistent and can remove them).  An image opened writable
 * but not changed is left as it was.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/qcow2/qcow2.h"

#define MAX_DIR ((uint64_t)64 << 20)

int qcow2_before_change(struct qcow2 *s)
{
	uint64_t pos = 0, fsize;
	uint8_t *dir;
	int rc, changed = 0;
	if (s->bitmaps_marked || !s->writable)
		return 0;
	s->bitmaps_marked = 1;
	/* with the autoclear bit clear, the bitmaps are already known stale */
	if (!s->has_bitmaps_ext || s->bm_count == 0 || s->bm_dir_size == 0 ||
	    !(s->autoclear & QCOW2_AUTOCLEAR_BITMAPS))
		return 0;
	if ((rc = vstd_io_size(s->io, &fsize)) < 0)
		return rc;
	if (s->bm_dir_size > MAX_DIR || !vstd_range_inside(s->bm_dir_off, s->bm_dir_size, fsize))
		return vstd_err(VSTD_ECORRUPT,
		                "%s: bitmap directory at 0x%" PRIx64 " (%" PRIu64
		                " bytes) is too large or past the end of the file",
		                s->name, s->bm_dir_off, s->bm_dir_size);
	dir = vstd_malloc(s->bm_dir_size);
	if (dir == NULL)
		return vstd_err_code();
	if ((rc = vstd_io_pread(s->io, dir, s->bm_dir_size, s->bm_dir_off)) < 0)
		goto out;
	while (pos + 24 <= s->bm_dir_size) {
		uint32_t flags = vstd_be32(dir + pos + 12), extra = vstd_be32(dir + pos + 20);
		uint16_t nlen = vstd_be16(dir + pos + 18);
		if (!(flags & 1)) {
			vstd_put_be32(dir + pos + 12, flags | 1);
			changed = 1;
		}
		pos += vstd_align_up(24 + (uint64_t)extra + nlen, 8);
	}
	if (changed && ((rc = vstd_io_pwrite(s->io, dir, s->bm_dir_size, s->bm_dir_off)) < 0 ||
	                (rc = vstd_io_flush(s->io)) < 0))
		goto out;
	rc = 0;
out:
	vstd_free(dir);
	return rc;
}
