/*
 * disk/vdi/driver.c - the VDI driver: probe, open, read, write, map, resize
 * and information.  Creation, measure and check are in create.c/check.c.
 */
#include <json-c/json.h>
#include <string.h>

#include "core/uuid.h"
#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "disk/vdi/vdi.h"

int vdi_create(vstd_io *io, const struct vstd_disk_create_args *args);
int vdi_measure(const struct vstd_disk_create_args *args, vstd_disk *src,
                vstd_disk_measure_result *res);
int vdi_check(vstd_disk *d, unsigned flags, vstd_disk_check_result *res);
extern const vstd_disk_option_desc vdi_create_options[1];
int vdi_set_backing(vstd_disk *d, const char *backing, const char *format);
int vdi_make_empty(vstd_disk *d);

static int vdi_probe(const uint8_t *head, size_t head_len, uint64_t file_size, const char *name)
{
	(void)file_size;
	(void)name;
	return vdi_header_probe(head, head_len);
}

static void vdi_free(struct vdi_state *s)
{
	if (s == NULL)
		return;
	vstd_free(s->bmap);
	vstd_free(s->bad);
	vstd_free(s->dirty);
	vstd_free(s);
}

static int vdi_open(vstd_disk *d)
{
	struct vdi_state *s = vstd_calloc(1, sizeof(*s));
	uint8_t raw[VDI_HEADER_END];
	int rc;
	if (s == NULL)
		return vstd_err_code();
	if ((rc = vstd_io_size(d->io, &s->file_size)) < 0)
		goto fail;
	if (s->file_size < VDI_HEADER_END) {
		rc = vstd_err(VSTD_ECORRUPT,
		              "%s: file of %" PRIu64 " bytes is too short for a VDI header",
		              d->filename, s->file_size);
		goto fail;
	}
	if ((rc = vstd_io_pread(d->io, raw, sizeof(raw), 0)) < 0 ||
	    (rc = vdi_header_parse(raw, &s->h, d->filename)) < 0)
		goto fail;
	if (s->h.type == VDI_RESIZING) {
		/* a grow was interrupted: finish it (read-write) or refuse */
		if (!vdi_resize_pending(&s->h)) {
			rc = vstd_err(VSTD_ECORRUPT,
			              "%s: VDI image type 0x%" PRIx32 " (at offset 0x4c) is not "
			              "normal, fixed, undo or diff",
			              d->filename, s->h.type);
			goto fail;
		}
		if ((rc = vdi_resize_resume(d, &s->h, s->file_size)) < 0 ||
		    (rc = vstd_io_size(d->io, &s->file_size)) < 0 ||
		    (rc = vstd_io_pread(d->io, raw, sizeof(raw), 0)) < 0 ||
		    (rc = vdi_header_parse(raw, &s->h, d->filename)) < 0)
			goto fail;
		if (s->h.type == VDI_RESIZING) {
			rc = vstd_err(VSTD_ECORRUPT, "%s: VDI resize journal names another journal",
			              d->filename);
			goto fail;
		}
	}
	if ((rc = vdi_bmap_load(d, s)) < 0)
		goto fail;
	d->size = s->h.disk_size;
	if (s->n_bad)
		vstd_warn("vdi",
		          "%s: %" PRIu64 " VDI block map entries are invalid; reading those "
		          "blocks fails (see check)",
		          d->filename, s->n_bad);
	if (s->h.type == VDI_DIFF && (rc = vdi_find_parent(d, s)) < 0)
		goto fail;
	d->priv = s;
	return 0;
fail:
	vdi_free(s);
	return rc;
}

static void vdi_close(vstd_disk *d)
{
	struct vdi_state *s = d->priv;
	if (s != NULL && (d->flags & VSTD_DISK_RDWR) && s->meta_dirty && vdi_meta_flush(d, s) < 0)
		vstd_warn("vdi", "%s: could not write the block map on close: %s", d->filename,
		          vstd_error_last()->message);
	vdi_free(s);
	d->priv = NULL;
}

static int vdi_read(vstd_disk *d, uint64_t off, void *vbuf, size_t len)
{
	struct vdi_state *s = d->priv;
	uint8_t *buf = vbuf;
	int rc;
	while (len > 0) {
		uint32_t block = (uint32_t)(off / s->h.block_size);
		uint32_t inb = (uint32_t)(off % s->h.block_size);
		size_t n = s->h.block_size - inb < len ? s->h.block_size - inb : len;
		uint32_t v = s->bmap[block];
		if (v == VDI_BLOCK_FREE && s->h.type == VDI_DIFF)
			rc = vstd_disk_read_below(d, off, buf, n);
		else if (v == VDI_BLOCK_FREE || v == VDI_BLOCK_ZERO)
			memset(buf, 0, n), rc = 0;
		else if (s->bad != NULL && s->bad[block])
			return vdi_bad_block_error(d, s, block);
		else
			rc = vstd_io_pread(d->io, buf, n, vdi_block_offset(s, v) + inb);
		if (rc < 0)
			return rc;
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int vdi_write(vstd_disk *d, uint64_t off, const void *vbuf, size_t len)
{
	struct vdi_state *s = d->priv;
	const uint8_t *buf = vbuf;
	int rc;
	while (len > 0) {
		uint32_t block = (uint32_t)(off / s->h.block_size);
		uint32_t inb = (uint32_t)(off % s->h.block_size);
		size_t n = s->h.block_size - inb < len ? s->h.block_size - inb : len;
		uint32_t v = s->bmap[block];
		if (v != VDI_BLOCK_FREE && v != VDI_BLOCK_ZERO) {
			if (s->bad != NULL && s->bad[block])
				return vdi_bad_block_error(d, s, block);
			if ((rc = vstd_io_pwrite(d->io, buf, n, vdi_block_offset(s, v) + inb)) < 0)
				return rc;
		} else {
			uint64_t base = (uint64_t)block * s->h.block_size;
			uint32_t idx = s->next_index;
			if (idx >= s->h.blocks)
				return vstd_err(VSTD_ECORRUPT,
				                "%s: no free VDI block index left (%" PRIu32
				                " of %" PRIu32 " in use) for block %" PRIu32,
				                d->filename, idx, s->h.blocks, block);
			if (n == s->h.block_size) {
				rc = vstd_io_pwrite(d->io, buf, n, vdi_block_offset(s, idx));
			} else {
				/* a new block is written whole: the rest is what reads gave */
				uint8_t *tmp = vstd_calloc(1, s->h.block_size);
				size_t have = d->size - base < s->h.block_size
				                      ? (size_t)(d->size - base)
				                      : s->h.block_size;
				if (tmp == NULL)
					return vstd_err_code();
				rc = 0;
				if (v == VDI_BLOCK_FREE && s->h.type == VDI_DIFF)
					rc = vstd_disk_read_below(d, base, tmp, have);
				if (rc == 0) {
					memcpy(tmp + inb, buf, n);
					rc = vstd_io_pwrite(d->io, tmp, s->h.block_size,
					                    vdi_block_offset(s, idx));
				}
				vstd_free(tmp);
			}
			if (rc < 0 || (rc = vdi_bmap_set(d, s, block, idx)) < 0)
				return rc;
			s->next_index = idx + 1;
			if (vdi_block_offset(s, idx) + s->h.block_size > s->file_size)
				s->file_size = vdi_block_offset(s, idx) + s->h.block_size;
		}
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int vdi_write_zeroes(vstd_disk *d, uint64_t off, uint64_t len, unsigned flags)
{
	struct vdi_state *s = d->priv;
	uint8_t *zero = NULL;
	int rc = 0;
	(void)flags;
	while (len > 0 && rc == 0) {
		uint32_t block = (uint32_t)(off / s->h.block_size);
		uint32_t inb = (uint32_t)(off % s->h.block_size);
		size_t n = s->h.block_size - inb < len ? s->h.block_size - inb : (size_t)len;
		uint32_t v = s->bmap[block];
		if (v == VDI_BLOCK_ZERO || (v == VDI_BLOCK_FREE && s->h.type != VDI_DIFF)) {
			/* already zeroes */
		} else if (v == VDI_BLOCK_FREE && n == s->h.block_size) {
			rc = vdi_bmap_set(d, s, block, VDI_BLOCK_ZERO);
		} else {
			if (zero == NULL && (zero = vstd_calloc(1, s->h.block_size)) == NULL)
				return vstd_err_code();
			rc = vdi_write(d, off, zero, n);
		}
		off += n;
		len -= n;
	}
	vstd_free(zero);
	return rc;
}

static int vdi_flush(vstd_disk *d)
{
	int rc = vdi_meta_flush(d, d->priv);
	return rc < 0 ? rc : vstd_io_flush(d->io);
}

static int vdi_block_status(vstd_disk *d, uint64_t off, uint64_t max_len, vstd_block_status *st)
{
	struct vdi_state *s = d->priv;
	uint32_t block = (uint32_t)(off / s->h.block_size), b = block;
	uint32_t v = s->bmap[block];
	uint64_t len;
	if (v != VDI_BLOCK_FREE && v != VDI_BLOCK_ZERO) {
		if (s->bad != NULL && s->bad[block])
			return vdi_bad_block_error(d, s, block);
		len = ((uint64_t)block + 1) * s->h.block_size - off;
		/* the following blocks stored right after this one (as
		 * VirtualBox and qemu allocate them) are one extent */
		while (s->h.block_extra == 0 && len < max_len && b + 1 < s->h.blocks &&
		       s->bmap[b + 1] == s->bmap[b] + 1 && s->bmap[b + 1] != VDI_BLOCK_FREE &&
		       s->bmap[b + 1] != VDI_BLOCK_ZERO && (s->bad == NULL || !s->bad[b + 1])) {
			b++;
			len += s->h.block_size;
		}
		st->length = len < max_len ? len : max_len;
		st->flags = VSTD_BLOCK_DATA | VSTD_BLOCK_ALLOCATED | VSTD_BLOCK_OFFSET_VALID;
		st->host_offset = vdi_block_offset(s, v) + off % s->h.block_size;
		return 0;
	}
	len = 0;
	while (len < max_len && b < s->h.blocks && s->bmap[b] == v) {
		len = ((uint64_t)b + 1) * s->h.block_size - off;
		b++;
	}
	st->length = len < max_len ? len : max_len;
	st->flags = v == VDI_BLOCK_ZERO ? VSTD_BLOCK_ZERO | VSTD_BLOCK_ALLOCATED : 0;
	return 0;
}

static int vdi_truncate(vstd_disk *d, uint64_t size, enum vstd_prealloc prealloc)
{
	return vdi_resize(d, d->priv, size, prealloc); /* grow.c */
}

static int vdi_info(vstd_disk *d, vstd_disk_info *info, struct json_object *js)
{
	static const char *const types[] = {"", "dynamic", "static", "undo", "differencing"};
	struct vdi_state *s = d->priv;
	char u[37];
	info->cluster_size = s->h.block_size;
	json_object_object_add(js, "image-type", json_object_new_string(types[s->h.type]));
	json_object_object_add(js, "header-version", json_object_new_string("1.1"));
	json_object_object_add(js, "block-size", json_object_new_int64(s->h.block_size));
	json_object_object_add(js, "blocks", json_object_new_int64(s->h.blocks));
	json_object_object_add(js, "blocks-allocated", json_object_new_int64(s->next_index));
	vstd_uuid_text(s->h.uuid_create, u);
	json_object_object_add(js, "uuid", json_object_new_string(u));
	vstd_uuid_text(s->h.uuid_modify, u);
	json_object_object_add(js, "modification-uuid", json_object_new_string(u));
	if (s->h.type == VDI_DIFF) {
		vstd_uuid_text(s->h.uuid_link, u);
		json_object_object_add(js, "parent-uuid", json_object_new_string(u));
		vstd_uuid_text(s->h.uuid_parent_modify, u);
		json_object_object_add(js, "parent-modification-uuid", json_object_new_string(u));
	}
	return 0;
}

const struct vstd_disk_driver vstd_driver_vdi = {
        .version = 1,
        .name = "vdi",
        .description = "VirtualBox VDI (header 1.1): dynamic, static and differencing",
        .create_options = vdi_create_options,
        .n_create_options = 1,
        .probe = vdi_probe,
        .open = vdi_open,
        .close = vdi_close,
        .create = vdi_create,
        .read = vdi_read,
        .write = vdi_write,
        .flush = vdi_flush,
        .write_zeroes = vdi_write_zeroes,
        .block_status = vdi_block_status,
        .truncate = vdi_truncate,
        .check = vdi_check,
        .info = vdi_info,
        .measure = vdi_measure,
        .set_backing = vdi_set_backing,
        .make_empty = vdi_make_empty,
};
