/*
 * disk/vdi/check.c - consistency check and safe repairs of a VDI.
 *
 * Found: block map entries pointing past the end of the file, indexes out
 * of range or shared by two blocks, an allocated count below the indexes in
 * use, block indexes allocated but referenced by no entry (leaks).
 * Repaired (-r all): entries past the end are cleared (their data was never
 * written), the allocated count is raised to cover every index in use.
 * Shared indexes are only reported: which block owns the data cannot be
 * proven.  Leaked indexes at the end of the data area are handed back
 * (-r leaks: the allocated count shrinks); leaks between used blocks are
 * left (the data area cannot be compacted safely in place).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "disk/vdi/vdi.h"

int vdi_check(vstd_disk *d, unsigned flags, vstd_disk_check_result *res);

static void report(vstd_disk_check_result *res, const char *fmt, ...) VSTD_PRINTF(2, 3);

static void report(vstd_disk_check_result *res, const char *fmt, ...)
{
	char line[256];
	size_t old = res->report != NULL ? strlen(res->report) : 0, n;
	char *r;
	va_list ap;
	if (old > 16384)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	r = vstd_realloc(res->report, old + n + 2);
	if (r == NULL)
		return;
	memcpy(r + old, line, n);
	r[old + n] = '\n';
	r[old + n + 1] = '\0';
	res->report = r;
}

int vdi_check(vstd_disk *d, unsigned flags, vstd_disk_check_result *res)
{
	struct vdi_state *s = d->priv;
	uint8_t *used = vstd_calloc((size_t)s->h.blocks / 8 + 1, 1);
	int rc;
	if (used == NULL)
		return vstd_err_code();
	res->total_clusters = s->h.blocks;
	for (uint32_t i = 0; i < s->h.blocks; i++) {
		uint32_t v = s->bmap[i];
		if (v == VDI_BLOCK_FREE || v == VDI_BLOCK_ZERO)
			continue;
		if (s->bad != NULL && s->bad[i]) {
			int past = s->bad[i] == 1;
			report(res, "block map entry %" PRIu32 " holds index %" PRIu32 ", which %s",
			       i, v,
			       past ? "points past the end of the file"
			            : "is out of range or used by another block");
			if (past && (flags & VSTD_CHECK_REPAIR_ERRORS)) {
				if ((rc = vdi_bmap_set(d, s, i, VDI_BLOCK_FREE)) < 0) {
					vstd_free(used);
					return rc;
				}
				s->bad[i] = 0;
				s->n_bad--;
				res->corruptions_fixed++;
			} else {
				res->corruptions++;
			}
			if (!past)
				continue;
		}
		if (v < s->h.blocks)
			used[v / 8] |= (uint8_t)(1u << (v & 7));
		res->allocated_clusters++;
	}
	if (s->next_index > s->h.blocks_allocated) {
		report(res,
		       "the header counts %" PRIu32 " allocated blocks, but index %" PRIu32
		       " is in use",
		       s->h.blocks_allocated, s->next_index - 1);
		if (flags & VSTD_CHECK_REPAIR_ERRORS) {
			s->meta_dirty = 1; /* the flush writes the count */
			res->corruptions_fixed++;
		} else {
			res->corruptions++;
		}
	}
	{
		uint32_t top = 0; /* one past the highest index in use */
		int tail_only = 1;
		for (uint32_t v = 0; v < s->next_index && v < s->h.blocks; v++)
			if (used[v / 8] & (1u << (v & 7)))
				top = v + 1;
		for (uint32_t v = 0; v < s->next_index && v < s->h.blocks; v++) {
			if (used[v / 8] & (1u << (v & 7)))
				continue;
			res->leaks++;
			if (v < top)
				tail_only = 0;
		}
		if (res->leaks)
			report(res, "%" PRIu64 " allocated block indexes are used by no block",
			       res->leaks);
		/* unused indexes at the end can be handed back: nothing follows them */
		if (res->leaks && tail_only && (flags & VSTD_CHECK_REPAIR_LEAKS) && s->n_bad == 0) {
			uint8_t hdr[VDI_HEADER_END];
			s->h.blocks_allocated = top;
			s->next_index = top;
			vdi_header_write(&s->h, hdr);
			if ((rc = vstd_io_pwrite(d->io, hdr + 64, 72 + s->h.header_size - 64, 64)) <
			    0) {
				vstd_free(used);
				return rc;
			}
			res->leaks_fixed = res->leaks;
			res->leaks = 0;
		}
	}
	vstd_free(used);
	res->image_end_offset = vdi_block_offset(s, s->next_index) - s->h.block_extra;
	if (flags & VSTD_CHECK_REPAIR_ALL) {
		if ((rc = vdi_meta_flush(d, s)) < 0)
			return rc;
		return vstd_io_flush(d->io);
	}
	return 0;
}
