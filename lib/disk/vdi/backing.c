/*
 * disk/vdi/backing.c - changing a VDI's parent (rebase) and emptying it
 * (after commit).
 *
 * A VDI links to its parent by UUIDs only (see parent.c): rebasing copies
 * the new parent's creation and modification UUIDs into the header and
 * makes the image differencing; removing the parent makes it a normal
 * (dynamic) image.  The new parent must be where parent.c will find it.
 * make_empty frees every block: the map is written and flushed first, then
 * the allocated count drops and the file is cut back to the data area.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/disk_internal.h"
#include "disk/vdi/vdi.h"

int vdi_set_backing(vstd_disk *d, const char *backing, const char *format);
int vdi_make_empty(vstd_disk *d);

extern const struct vstd_disk_driver vstd_driver_vdi;

static int write_header(vstd_disk *d, struct vdi_state *s)
{
	uint8_t hdr[VDI_HEADER_END];
	vdi_header_write(&s->h, hdr);
	return vstd_io_pwrite(d->io, hdr + 64, 72 + s->h.header_size - 64, 64);
}

int vdi_set_backing(vstd_disk *d, const char *backing, const char *format)
{
	struct vdi_state *s = d->priv;
	struct vdi_header old = s->h;
	int rc;
	if (s->h.type == VDI_FIXED)
		return vstd_err(VSTD_ENOTSUP, "%s: a static VDI cannot have a parent", d->filename);
	if ((rc = vdi_meta_flush(d, s)) < 0)
		return rc;
	if (backing == NULL) {
		s->h.type = VDI_NORMAL;
		memset(s->h.uuid_link, 0, 16);
		memset(s->h.uuid_parent_modify, 0, 16);
	} else {
		uint8_t raw[VDI_HEADER_END];
		struct vdi_header ph;
		vstd_io *io = NULL;
		char *path;
		const char *slash = strrchr(backing, '/');
		if (format == NULL || vstd_disk_driver_find(format) != &vstd_driver_vdi)
			return vstd_err(VSTD_ENOTSUP, "%s: a VDI's parent must be a VDI, not %s",
			                d->filename, format != NULL ? format : "(unknown)");
		if (slash != NULL && !(strncmp(backing, "../", 3) == 0 && slash == backing + 2))
			return vstd_err(
			        VSTD_EINVAL,
			        "%s: a VDI does not record its parent's path; name a parent in "
			        "the same directory or the one above ('x.vdi' or '../x.vdi')",
			        d->filename);
		if ((path = vstd_disk_resolve_backing(d->filename, backing)) == NULL)
			return vstd_err_code();
		rc = vstd_io_file_open(&io, path, VSTD_IO_READ);
		if (rc == 0)
			rc = vstd_io_pread(io, raw, sizeof(raw), 0);
		if (rc == 0)
			rc = vdi_header_parse(raw, &ph, path);
		vstd_io_close(io);
		vstd_free(path);
		if (rc < 0) {
			vstd_err_prefix("%s: new parent '%s': ", d->filename, backing);
			return rc;
		}
		s->h.type = VDI_DIFF;
		memcpy(s->h.uuid_link, ph.uuid_create, 16);
		memcpy(s->h.uuid_parent_modify, ph.uuid_modify, 16);
	}
	if ((rc = write_header(d, s)) < 0) {
		s->h = old;
		return rc;
	}
	return vstd_io_flush(d->io);
}

int vdi_make_empty(vstd_disk *d)
{
	struct vdi_state *s = d->priv;
	uint64_t bytes = (uint64_t)s->h.blocks * 4;
	uint8_t *raw;
	int rc;
	if (s->h.type == VDI_FIXED)
		return vstd_err(VSTD_ENOTSUP, "%s: a static VDI cannot be emptied", d->filename);
	raw = vstd_malloc(bytes ? (size_t)bytes : 1);
	if (raw == NULL)
		return vstd_err_code();
	memset(raw, 0xff, (size_t)bytes);
	rc = vstd_io_pwrite(d->io, raw, (size_t)bytes, s->h.offset_bmap);
	vstd_free(raw);
	if (rc < 0 || (rc = vstd_io_flush(d->io)) < 0)
		return rc;
	for (uint32_t i = 0; i < s->h.blocks; i++)
		s->bmap[i] = VDI_BLOCK_FREE;
	vstd_free(s->bad);
	s->bad = NULL;
	s->n_bad = 0;
	vstd_free(s->dirty);
	s->dirty = NULL;
	s->meta_dirty = 0;
	s->h.blocks_allocated = 0;
	s->next_index = 0;
	if ((rc = write_header(d, s)) < 0 || (rc = vstd_io_flush(d->io)) < 0 ||
	    (rc = vstd_io_truncate(d->io, s->h.offset_data)) < 0)
		return rc;
	s->file_size = s->h.offset_data;
	return 0;
}
