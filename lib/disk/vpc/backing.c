/*
 * disk/vpc/backing.c - changing a VHD's parent (rebase) and emptying it
 * (after commit).
 *
 * Rebase writes the new locator data past everything (the footer moves
 * after it, each step flushed), then the sparse header with the new
 * parent's UUID, time stamp and name, then the footers with the new type.
 * A crash leaves either the old parent recorded or the new one.  Removing
 * the parent makes a differencing image dynamic; only a VHD can be a
 * VHD's parent.
 *
 * make_empty clears the BAT (written and flushed first: the blocks become
 * unreferenced space), then moves the footer back over the freed space and
 * truncates the file.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/disk_internal.h"
#include "disk/vpc/vpc.h"

extern const struct vstd_disk_driver vstd_driver_vpc;

static int write_header(vstd_disk *d, struct vpc_state *s)
{
	uint8_t hdr[VPC_DYN_HEADER_SIZE];
	vpc_dyn_write(&s->dyn, hdr);
	return vstd_io_pwrite(d->io, hdr, VPC_DYN_HEADER_SIZE, s->dyn_off);
}

int vpc_set_backing(vstd_disk *d, const char *backing, const char *format)
{
	struct vpc_state *s = d->priv;
	struct vpc_dyn_header h = s->dyn;
	uint64_t next;
	int rc;
	if (s->footer.type == VPC_FIXED)
		return vstd_err(VSTD_ENOTSUP, "%s: a fixed VHD cannot have a parent", d->filename);
	if ((rc = vpc_bat_flush(d, s)) < 0)
		return rc;
	if (backing == NULL) {
		memset(h.parent_uuid, 0, 16);
		h.parent_timestamp = 0;
		memset(h.parent_name, 0, sizeof(h.parent_name));
		memset(h.loc, 0, sizeof(h.loc));
		s->dyn = h;
		s->footer.type = VPC_DYNAMIC;
	} else {
		struct vpc_footer pf;
		uint8_t raw[VPC_FOOTER_SIZE];
		uint64_t foff, fsize;
		vstd_io *io = NULL;
		char *path;
		if (format == NULL || vstd_disk_driver_find(format) != &vstd_driver_vpc)
			return vstd_err(VSTD_ENOTSUP, "%s: a VHD's parent must be a VHD, not %s",
			                d->filename, format != NULL ? format : "(unknown)");
		if ((path = vstd_disk_resolve_backing(d->filename, backing)) == NULL)
			return vstd_err_code();
		rc = vstd_io_file_open(&io, path, VSTD_IO_READ);
		if (rc == 0)
			rc = vpc_footer_load(io, path, &pf, raw, &foff, &fsize);
		vstd_io_close(io);
		vstd_free(path);
		if (rc < 0) {
			vstd_err_prefix("%s: new parent '%s': ", d->filename, backing);
			return rc;
		}
		/* locator data where the footer is; the footer moves after it */
		next = s->footer_off;
		if ((rc = vpc_write_parent_info(d->io, d->filename, backing, pf.uuid, pf.timestamp,
		                                &h, &next)) < 0)
			return rc;
		if ((rc = vstd_io_pwrite(d->io, s->footer_raw, VPC_FOOTER_SIZE, next)) < 0 ||
		    (rc = vstd_io_flush(d->io)) < 0)
			return rc;
		s->footer_off = next;
		s->used_end = next;
		s->file_size = next + VPC_FOOTER_SIZE;
		s->dyn = h;
		s->footer.type = VPC_DIFF;
	}
	if ((rc = write_header(d, s)) < 0 || (rc = vstd_io_flush(d->io)) < 0)
		return rc;
	return vpc_write_footers(d, s);
}

int vpc_make_empty(vstd_disk *d)
{
	struct vpc_state *s = d->priv;
	uint64_t bytes, end;
	uint8_t *raw;
	int rc;
	if (s->footer.type == VPC_FIXED)
		return vstd_err(VSTD_ENOTSUP, "%s: a fixed VHD cannot be emptied", d->filename);
	bytes = (uint64_t)s->n_entries * 4;
	raw = vstd_malloc(bytes ? (size_t)bytes : 1);
	if (raw == NULL)
		return vstd_err_code();
	memset(raw, 0xff, (size_t)bytes);
	rc = vstd_io_pwrite(d->io, raw, (size_t)bytes, s->dyn.table_offset);
	vstd_free(raw);
	if (rc < 0 || (rc = vstd_io_flush(d->io)) < 0)
		return rc;
	for (uint32_t i = 0; i < s->n_entries; i++)
		s->bat[i] = VPC_BAT_UNUSED;
	vstd_free(s->bat_bad);
	s->bat_bad = NULL;
	s->n_bad = 0;
	s->bat_dirty = 0;
	s->bitmap_block = UINT32_MAX;
	/* the end of the metadata: header, BAT, locator data */
	end = s->dyn_off + VPC_DYN_HEADER_SIZE;
	if (s->dyn.table_offset + vstd_align_up(bytes, VPC_SECTOR) > end)
		end = s->dyn.table_offset + vstd_align_up(bytes, VPC_SECTOR);
	for (int i = 0; i < 8; i++) {
		const struct vpc_locator *l = &s->dyn.loc[i];
		if (l->code != 0 && l->length > 0 &&
		    l->offset + vstd_align_up(l->length, VPC_SECTOR) > end &&
		    l->offset < s->footer_off)
			end = l->offset + vstd_align_up(l->length, VPC_SECTOR);
	}
	end = vstd_align_up(end, VPC_SECTOR);
	if ((rc = vstd_io_pwrite(d->io, s->footer_raw, VPC_FOOTER_SIZE, end)) < 0 ||
	    (rc = vstd_io_flush(d->io)) < 0 ||
	    (rc = vstd_io_truncate(d->io, end + VPC_FOOTER_SIZE)) < 0)
		return rc;
	s->footer_off = end;
	s->used_end = end;
	s->file_size = end + VPC_FOOTER_SIZE;
	return 0;
}
