/*
 * disk/vdi/create.c - new VDIs and measure.
 *
 * Layout as qemu and VirtualBox write it: header (0), block map at 0x200,
 * data from the next 512-byte boundary, blocks of 1 MiB.  static=on makes a
 * fixed image (every block mapped to itself, the file sized in full,
 * sparse); a backing file makes a differencing image linked to the parent
 * by its UUIDs.  A VDI cannot record where its parent is, so the parent
 * must be in the child's directory or the one above (see parent.c).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/uuid.h"
#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/disk_internal.h"
#include "disk/vdi/vdi.h"

extern const struct vstd_disk_driver vstd_driver_vdi;
int vdi_create(vstd_io *io, const struct vstd_disk_create_args *args);
int vdi_measure(const struct vstd_disk_create_args *args, vstd_disk *src,
                vstd_disk_measure_result *res);

const vstd_disk_option_desc vdi_create_options[1] = {
        {"static", "bool", "a fixed image: every block allocated (the file is sized in full)",
         "off"},
};

static int vdi_plan(const struct vstd_disk_create_args *args, struct vdi_header *h, int *is_static)
{
	uint64_t size = vstd_align_up(args->size, 512), blocks;
	int rc;
	if ((rc = vstd_kv_get_bool(args->options, "static", 0, is_static)) < 0)
		return rc;
	if (*is_static && args->backing_file != NULL)
		return vstd_err(VSTD_EINVAL, "%s: a static VDI cannot have a parent", args->path);
	blocks = (size + VDI_DEFAULT_BLOCK_SIZE - 1) / VDI_DEFAULT_BLOCK_SIZE;
	if (blocks > VDI_MAX_BLOCKS)
		return vstd_err(VSTD_EINVAL, "%s: %" PRIu64 " bytes is too large for a VDI",
		                args->path, args->size);
	memset(h, 0, sizeof(*h));
	strcpy(h->text, "<<< Oracle VM VirtualBox Disk Image >>>\n");
	h->signature = VDI_SIGNATURE;
	h->version = VDI_VERSION_1_1;
	h->header_size = VDI_HEADER_SIZE_V11;
	h->type = *is_static ? VDI_FIXED : args->backing_file != NULL ? VDI_DIFF : VDI_NORMAL;
	h->offset_bmap = 0x200;
	h->offset_data = (uint32_t)vstd_align_up(0x200 + blocks * 4, 512);
	h->sector_size = 512;
	h->disk_size = size;
	h->block_size = VDI_DEFAULT_BLOCK_SIZE;
	h->blocks = (uint32_t)blocks;
	vstd_uuid_random(h->uuid_create);
	vstd_uuid_random(h->uuid_modify);
	return 0;
}

/* The parent must be where vdi_find_parent will look. */
static int check_parent_place(const char *image, const char *backing)
{
	char *bpath = vstd_disk_resolve_backing(image, backing), *img_dir, *par_dir, *slash;
	char *rb = NULL, *ri = NULL;
	int ok = 0;
	if (bpath == NULL)
		return vstd_err_code();
	img_dir = vstd_strdup(image);
	par_dir = bpath;
	if (img_dir == NULL) {
		vstd_free(bpath);
		return vstd_err_code();
	}
	slash = strrchr(img_dir, '/');
	if (slash != NULL)
		*slash = '\0';
	else
		strcpy(img_dir, ".");
	slash = strrchr(par_dir, '/');
	if (slash != NULL)
		*slash = '\0';
	rb = realpath(slash != NULL ? (par_dir[0] ? par_dir : "/") : ".", NULL);
	ri = realpath(img_dir[0] ? img_dir : "/", NULL);
	if (rb != NULL && ri != NULL) {
		size_t n = strlen(rb);
		ok = strcmp(rb, ri) == 0 || (strncmp(ri, rb, n) == 0 && (n == 1 || ri[n] == '/') &&
		                             strchr(ri + n + (n == 1 ? 0 : 1), '/') == NULL);
	}
	free(rb);
	free(ri);
	vstd_free(img_dir);
	vstd_free(bpath);
	if (!ok)
		return vstd_err(
		        VSTD_EINVAL,
		        "%s: a VDI does not record its parent's path; the parent '%s' must be "
		        "in the same directory or the one above it to be found by its UUID",
		        image, backing);
	return 0;
}

int vdi_create(vstd_io *io, const struct vstd_disk_create_args *args)
{
	struct vdi_header h;
	uint8_t hdr[VDI_HEADER_END], *map;
	int is_static, rc;
	if (args->prealloc != VSTD_PREALLOC_OFF)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: VDI creation supports preallocation=off (use "
		                "static=on for a fixed image)",
		                args->path);
	if ((rc = vdi_plan(args, &h, &is_static)) < 0)
		return rc;
	if (args->backing_file != NULL) {
		const struct vdi_state *ps;
		if (args->backing == NULL || args->backing->drv != &vstd_driver_vdi)
			return vstd_err(
			        VSTD_ENOTSUP,
			        "%s: a differencing VDI needs an opened VDI parent ('%s' is %s)",
			        args->path, args->backing_file,
			        args->backing != NULL ? args->backing->drv->name : "not opened");
		if ((rc = check_parent_place(args->path, args->backing_file)) < 0)
			return rc;
		ps = args->backing->priv;
		memcpy(h.uuid_link, ps->h.uuid_create, 16);
		memcpy(h.uuid_parent_modify, ps->h.uuid_modify, 16);
	}
	map = vstd_malloc((size_t)h.blocks * 4 + 4);
	if (map == NULL)
		return vstd_err_code();
	for (uint32_t i = 0; i < h.blocks; i++)
		vstd_put_le32(map + 4 * (size_t)i, is_static ? i : VDI_BLOCK_FREE);
	if (is_static)
		h.blocks_allocated = h.blocks;
	rc = vstd_io_pwrite(io, map, (size_t)h.blocks * 4, h.offset_bmap);
	vstd_free(map);
	if (rc < 0)
		return rc;
	vdi_header_write(&h, hdr);
	if ((rc = vstd_io_pwrite(io, hdr, sizeof(hdr), 0)) < 0)
		return rc;
	return vstd_io_truncate(io, h.offset_data +
	                                    (is_static ? (uint64_t)h.blocks * h.block_size : 0));
}

int vdi_measure(const struct vstd_disk_create_args *args, vstd_disk *src,
                vstd_disk_measure_result *res)
{
	struct vdi_header h;
	uint64_t used = 0, off = 0;
	int is_static, rc;
	memset(res, 0, sizeof(*res));
	if ((rc = vdi_plan(args, &h, &is_static)) < 0)
		return rc;
	res->fully_allocated = h.offset_data + (uint64_t)h.blocks * h.block_size;
	if (is_static) {
		res->required = res->fully_allocated;
		return 0;
	}
	while (src != NULL && off < h.disk_size && off < vstd_disk_size(src)) {
		vstd_block_status st;
		uint64_t end = (off / h.block_size + 1) * h.block_size;
		if ((rc = vstd_disk_map(src, off, end - off, &st)) < 0)
			return rc;
		if (st.length == 0)
			break;
		if (st.flags & VSTD_BLOCK_DATA) {
			used++;
			off = end;
		} else {
			off += st.length;
		}
	}
	res->required = h.offset_data + used * h.block_size;
	return 0;
}
