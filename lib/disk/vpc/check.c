/*
 * disk/vpc/check.c - consistency check and safe repairs of a VHD.
 *
 * Found: the footer copy at offset 0 disagreeing with the trailing footer,
 * BAT entries past the end of the file, blocks overlapping each other or
 * the BAT, space after the last block that nothing references (leaks, e.g.
 * from a crash between adding a block and writing the BAT).
 * Repaired (-r all): the footer copy is rewritten from the good footer,
 * entries past the end are cleared (their data was never there).
 * Repaired (-r leaks): the footer moves back to the end of the used space
 * and the file is truncated.  Overlapping blocks are only reported: which
 * of the two blocks owns the data cannot be proven.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "disk/vpc/vpc.h"

static void report(vstd_disk_check_result *res, const char *fmt, ...) VSTD_PRINTF(2, 3);

static void report(vstd_disk_check_result *res, const char *fmt, ...)
{
	char line[256];
	size_t old = res->report != NULL ? strlen(res->report) : 0;
	char *n;
	va_list ap;
	if (old > 16384)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = vstd_realloc(res->report, old + strlen(line) + 2);
	if (n == NULL)
		return;
	memcpy(n + old, line, strlen(line));
	n[old + strlen(line)] = '\n';
	n[old + strlen(line) + 1] = '\0';
	res->report = n;
}

int vpc_check(vstd_disk *d, unsigned flags, vstd_disk_check_result *res)
{
	struct vpc_state *s = d->priv;
	int rc;
	if (s->footer.type == VPC_FIXED) {
		res->image_end_offset = s->footer_off + VPC_FOOTER_SIZE;
		return 0;
	}
	res->total_clusters = (d->size + s->block_size - 1) / s->block_size;
	for (uint32_t i = 0; i < s->n_entries; i++) {
		if (s->bat[i] == VPC_BAT_UNUSED)
			continue;
		if (s->bat_bad != NULL && s->bat_bad[i]) {
			int past = s->bat_bad[i] == 1;
			report(res, "BAT entry %" PRIu32 " points to 0x%" PRIx64 ", %s", i,
			       (uint64_t)s->bat[i] * VPC_SECTOR,
			       past ? "past the end of the file"
			            : "overlapping another block or the BAT");
			if (past && (flags & VSTD_CHECK_REPAIR_ERRORS)) {
				s->bat[i] = VPC_BAT_UNUSED;
				s->bat_bad[i] = 0;
				s->n_bad--;
				if (s->bat_dirty_map == NULL &&
				    (s->bat_dirty_map = vstd_calloc(
				             (size_t)s->n_entries * 4 / VPC_SECTOR + 1, 1)) == NULL)
					return vstd_err_code();
				s->bat_dirty_map[(size_t)i * 4 / VPC_SECTOR] = 1;
				s->bat_dirty = 1;
				res->corruptions_fixed++;
			} else {
				res->corruptions++;
			}
			continue;
		}
		res->allocated_clusters++;
	}
	if ((rc = vpc_bat_flush(d, s)) < 0)
		return rc;
	if (s->head_footer_differs) {
		report(res, "the footer copy at offset 0 differs from the footer at 0x%" PRIx64,
		       s->footer_off);
		if (flags & VSTD_CHECK_REPAIR_ERRORS) {
			if ((rc = vstd_io_pwrite(d->io, s->footer_raw, VPC_FOOTER_SIZE, 0)) < 0)
				return rc;
			s->head_footer_differs = 0;
			res->corruptions_fixed++;
		} else {
			res->corruptions++;
		}
	}
	if (s->file_size < s->footer_off + VPC_FOOTER_SIZE ||
	    !vpc_footer_looks_valid(s->footer_raw)) {
		report(res, "the trailing footer is missing; only the copy at offset 0 is valid");
		if (flags & VSTD_CHECK_REPAIR_ERRORS) {
			if ((rc = vstd_io_pwrite(d->io, s->footer_raw, VPC_FOOTER_SIZE,
			                         s->footer_off)) < 0)
				return rc;
			s->file_size = s->footer_off + VPC_FOOTER_SIZE;
			res->corruptions_fixed++;
		} else {
			res->corruptions++;
		}
	}
	if (s->footer_off > s->used_end) {
		uint64_t leaked = s->footer_off - s->used_end;
		report(res, "%" PRIu64 " bytes between 0x%" PRIx64 " and the footer are not used",
		       leaked, s->used_end);
		if (flags & VSTD_CHECK_REPAIR_LEAKS) {
			uint64_t old = s->footer_off;
			s->footer_off = s->used_end;
			if ((rc = vstd_io_pwrite(d->io, s->footer_raw, VPC_FOOTER_SIZE,
			                         s->footer_off)) < 0 ||
			    (rc = vstd_io_flush(d->io)) < 0 ||
			    (rc = vstd_io_truncate(d->io, s->footer_off + VPC_FOOTER_SIZE)) < 0) {
				s->footer_off = old;
				return rc;
			}
			s->file_size = s->footer_off + VPC_FOOTER_SIZE;
			res->leaks_fixed += (leaked + s->block_size - 1) / s->block_size;
		} else {
			res->leaks += (leaked + s->block_size - 1) / s->block_size;
		}
	}
	res->image_end_offset = s->footer_off + VPC_FOOTER_SIZE;
	if (flags & VSTD_CHECK_REPAIR_ALL)
		return vstd_io_flush(d->io);
	return 0;
}
