/*
 * disk/vpc/create.c - new VHDs (fixed, dynamic, differencing) and measure.
 *
 * Sizes follow qemu so that both tools agree on what they wrote: without
 * force_size the size is rounded up to the next CHS geometry and the
 * creator is "qemu" (sized by geometry); with force_size the size is kept
 * exactly and the creator is "qem2" (sized by the footer).  azure=on is
 * what Azure accepts: a fixed VHD, the exact size, a whole number of MiB.
 *
 * Layout of a sparse image: footer copy (0), dynamic header (512), BAT
 * (1536, sector padded), parent locator data (differencing), footer.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/uuid.h"
#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/disk_internal.h"
#include "disk/vpc/vpc.h"

extern const struct vstd_disk_driver vstd_driver_vpc;

const vstd_disk_option_desc vpc_create_options[3] = {
        {"subformat", "enum",
         "dynamic (sparse, default) or fixed (the disk's bytes, then a footer)", "dynamic"},
        {"force_size", "bool",
         "keep the exact size instead of rounding up to a CHS geometry (creator 'qem2')", "off"},
        {"azure", "bool",
         "Azure's rules: fixed, exact size, a whole number of MiB (implies subformat=fixed, "
         "force_size=on)",
         "off"},
};

const size_t vpc_n_create_options = 3;

uint32_t vpc_now(void)
{
	time_t t = time(NULL);
	return t > (time_t)VPC_EPOCH_OFFSET ? (uint32_t)(t - VPC_EPOCH_OFFSET) : 0;
}

struct vpc_plan {
	int fixed, force, azure;
	uint64_t size; /* final current size */
	struct vpc_footer f;
};

static int vpc_plan(const struct vstd_disk_create_args *args, struct vpc_plan *p)
{
	static const char *const subformats[] = {"dynamic", "fixed", NULL};
	size_t sub = 0;
	int rc;
	memset(p, 0, sizeof(*p));
	if ((rc = vstd_kv_get_enum(args->options, "subformat", subformats, 0, &sub)) < 0 ||
	    (rc = vstd_kv_get_bool(args->options, "force_size", 0, &p->force)) < 0 ||
	    (rc = vstd_kv_get_bool(args->options, "azure", 0, &p->azure)) < 0)
		return rc;
	p->fixed = sub == 1;
	if (p->azure) {
		if (vstd_kv_get(args->options, "subformat") != NULL && !p->fixed)
			return vstd_err(VSTD_EINVAL,
			                "%s: azure=on needs subformat=fixed (Azure "
			                "accepts only fixed VHDs)",
			                args->path);
		if (args->size % (UINT64_C(1) << 20) != 0)
			return vstd_err(
			        VSTD_EINVAL,
			        "%s: azure=on: Azure needs a size that is a whole number of "
			        "MiB; %" PRIu64 " is not (next: %" PRIu64 ")",
			        args->path, args->size,
			        vstd_align_up(args->size, UINT64_C(1) << 20));
		p->fixed = 1;
		p->force = 1;
	}
	if (args->backing_file != NULL && p->fixed)
		return vstd_err(VSTD_EINVAL, "%s: a fixed VHD cannot have a parent", args->path);
	/* a child has its parent's size exactly, whatever geometry that is */
	if (args->backing_file != NULL)
		p->force = 1;
	p->size = vstd_align_up(args->size, VPC_SECTOR);
	vpc_chs_for_size(p->size, &p->f.cylinders, &p->f.heads, &p->f.spt);
	if (!p->force) {
		/* round up to the next geometry that holds the size */
		uint64_t want = p->size / VPC_SECTOR, s = want;
		while ((uint64_t)p->f.cylinders * p->f.heads * p->f.spt < want &&
		       (uint64_t)p->f.cylinders * p->f.heads * p->f.spt != VPC_MAX_CHS_SECTORS) {
			s++;
			vpc_chs_for_size(s * VPC_SECTOR, &p->f.cylinders, &p->f.heads, &p->f.spt);
		}
		if ((uint64_t)p->f.cylinders * p->f.heads * p->f.spt != VPC_MAX_CHS_SECTORS)
			p->size = (uint64_t)p->f.cylinders * p->f.heads * p->f.spt * VPC_SECTOR;
	}
	if (p->size > VPC_MAX_SIZE)
		return vstd_err(VSTD_EINVAL,
		                "%s: a VHD can hold at most 2040 GiB (%" PRIu64 " bytes asked)",
		                args->path, args->size);
	p->f.features = 2;
	p->f.version = 0x00010000;
	p->f.data_offset = p->fixed ? VPC_NO_OFFSET : VPC_FOOTER_SIZE;
	p->f.timestamp = vpc_now();
	memcpy(p->f.creator_app, p->force ? "qem2" : "qemu", 5);
	p->f.creator_version = 0x00050003;
	p->f.creator_os = 0x5769326b; /* "Wi2k" */
	p->f.original_size = p->size;
	p->f.current_size = p->size;
	p->f.type = p->fixed ? VPC_FIXED : args->backing_file != NULL ? VPC_DIFF : VPC_DYNAMIC;
	vstd_uuid_random(p->f.uuid);
	return 0;
}

/* The relative name a W2ru locator should carry (new string) or NULL. */
static char *relative_parent(const char *image, const char *backing)
{
	const char *slash;
	size_t dirlen;
	if (backing[0] != '/')
		return vstd_strdup(backing);
	slash = strrchr(image, '/');
	dirlen = slash != NULL ? (size_t)(slash - image) : 0;
	if (slash != NULL && strncmp(backing, image, dirlen) == 0 && backing[dirlen] == '/' &&
	    strchr(backing + dirlen + 1, '/') == NULL)
		return vstd_strdup(backing + dirlen + 1);
	return NULL;
}

int vpc_write_parent_info(vstd_io *io, const char *image, const char *backing_file,
                          const uint8_t uuid[16], uint32_t timestamp, struct vpc_dyn_header *h,
                          uint64_t *next)
{
	const char *base;
	char *rel, *abs_path, *resolved;
	uint8_t *data;
	int n, nloc = 0, rc = 0;
	memcpy(h->parent_uuid, uuid, 16);
	h->parent_timestamp = timestamp;
	memset(h->parent_name, 0, sizeof(h->parent_name));
	memset(h->loc, 0, sizeof(h->loc));
	base = strrchr(backing_file, '/');
	base = base != NULL ? base + 1 : backing_file;
	if (vpc_utf16_encode(base, h->parent_name, sizeof(h->parent_name), 1) < 0)
		return vstd_err(VSTD_EINVAL, "%s: parent file name '%s' is too long or not UTF-8",
		                image, base);
	resolved = vstd_disk_resolve_backing(image, backing_file);
	if (resolved == NULL)
		return vstd_err_code();
	abs_path = realpath(resolved, NULL);
	vstd_free(resolved);
	rel = relative_parent(image, backing_file);
	data = vstd_calloc(1, 4096);
	if (data == NULL) {
		free(abs_path);
		vstd_free(rel);
		return vstd_err_code();
	}
	if (rel != NULL && (n = vpc_locator_data(0x57327275u, rel, data, 4096)) > 0) {
		h->loc[nloc] = (struct vpc_locator){
		        0x57327275u, (uint32_t)vstd_align_up(n, VPC_SECTOR) / VPC_SECTOR,
		        (uint32_t)n, *next};
		rc = vstd_io_pwrite(io, data, vstd_align_up(n, VPC_SECTOR), *next);
		*next += vstd_align_up(n, VPC_SECTOR);
		nloc++;
	}
	memset(data, 0, 4096);
	if (rc == 0 && abs_path != NULL &&
	    (n = vpc_locator_data(0x4d616358u, abs_path, data, 4096)) > 0) {
		h->loc[nloc] = (struct vpc_locator){
		        0x4d616358u, (uint32_t)vstd_align_up(n, VPC_SECTOR) / VPC_SECTOR,
		        (uint32_t)n, *next};
		rc = vstd_io_pwrite(io, data, vstd_align_up(n, VPC_SECTOR), *next);
		*next += vstd_align_up(n, VPC_SECTOR);
		nloc++;
	}
	free(abs_path);
	vstd_free(rel);
	vstd_free(data);
	if (rc == 0 && nloc == 0)
		rc = vstd_err(VSTD_EINVAL, "%s: cannot record where parent '%s' is", image,
		              backing_file);
	return rc;
}

static int write_diff_parent(vstd_io *io, const struct vstd_disk_create_args *args,
                             struct vpc_dyn_header *h, uint64_t *next)
{
	const struct vpc_state *ps;
	if (args->backing == NULL)
		return vstd_err(VSTD_EINVAL,
		                "%s: a differencing VHD records its parent's UUID, so the "
		                "parent must be opened",
		                args->path);
	if (args->backing->drv != &vstd_driver_vpc)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: a differencing VHD can only have a VHD parent, not %s ('%s')",
		                args->path, args->backing->drv->name, args->backing_file);
	ps = args->backing->priv;
	return vpc_write_parent_info(io, args->path, args->backing_file, ps->footer.uuid,
	                             ps->footer.timestamp, h, next);
}

int vpc_create(vstd_io *io, const struct vstd_disk_create_args *args)
{
	struct vpc_plan p;
	struct vpc_dyn_header h;
	uint8_t raw[VPC_FOOTER_SIZE], hdr[VPC_DYN_HEADER_SIZE], *bat;
	uint64_t bat_bytes, next;
	uint32_t entries;
	int rc;
	if (args->prealloc != VSTD_PREALLOC_OFF)
		return vstd_err(VSTD_ENOTSUP, "%s: VHD creation supports only preallocation=off",
		                args->path);
	if ((rc = vpc_plan(args, &p)) < 0)
		return rc;
	if (args->backing_file != NULL && args->backing_format != NULL &&
	    vstd_disk_driver_find(args->backing_format) != &vstd_driver_vpc)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: a differencing VHD can only have a VHD parent, not %s",
		                args->path, args->backing_format);
	vpc_footer_write(&p.f, raw);
	if (p.fixed) {
		if ((rc = vstd_io_truncate(io, p.size)) < 0)
			return rc;
		return vstd_io_pwrite(io, raw, VPC_FOOTER_SIZE, p.size);
	}
	memset(&h, 0, sizeof(h));
	h.data_offset = VPC_NO_OFFSET;
	h.table_offset = VPC_FOOTER_SIZE + VPC_DYN_HEADER_SIZE;
	h.version = 0x00010000;
	h.block_size = VPC_DEFAULT_BLOCK_SIZE;
	entries = (uint32_t)((p.size + h.block_size - 1) / h.block_size);
	h.max_entries = entries;
	bat_bytes = vstd_align_up((uint64_t)entries * 4, VPC_SECTOR);
	next = h.table_offset + bat_bytes;
	if (p.f.type == VPC_DIFF && (rc = write_diff_parent(io, args, &h, &next)) < 0)
		return rc;
	bat = vstd_malloc((size_t)bat_bytes);
	if (bat == NULL)
		return vstd_err_code();
	memset(bat, 0xff, (size_t)bat_bytes);
	rc = vstd_io_pwrite(io, bat, (size_t)bat_bytes, h.table_offset);
	vstd_free(bat);
	if (rc < 0)
		return rc;
	vpc_dyn_write(&h, hdr);
	if ((rc = vstd_io_pwrite(io, hdr, VPC_DYN_HEADER_SIZE, VPC_FOOTER_SIZE)) < 0 ||
	    (rc = vstd_io_pwrite(io, raw, VPC_FOOTER_SIZE, next)) < 0)
		return rc;
	return vstd_io_pwrite(io, raw, VPC_FOOTER_SIZE, 0);
}

int vpc_measure(const struct vstd_disk_create_args *args, vstd_disk *src,
                vstd_disk_measure_result *res)
{
	struct vpc_plan p;
	uint64_t entries, meta, span, off = 0, used = 0;
	int rc;
	memset(res, 0, sizeof(*res));
	if ((rc = vpc_plan(args, &p)) < 0)
		return rc;
	if (p.fixed) {
		res->required = res->fully_allocated = p.size + VPC_FOOTER_SIZE;
		return 0;
	}
	entries = (p.size + VPC_DEFAULT_BLOCK_SIZE - 1) / VPC_DEFAULT_BLOCK_SIZE;
	meta = 2 * VPC_FOOTER_SIZE + VPC_DYN_HEADER_SIZE + vstd_align_up(entries * 4, VPC_SECTOR);
	span = VPC_DEFAULT_BLOCK_SIZE +
	       vstd_align_up(VPC_DEFAULT_BLOCK_SIZE / VPC_SECTOR / 8, VPC_SECTOR);
	res->fully_allocated = meta + entries * span;
	/* blocks that hold any data of src */
	while (src != NULL && off < p.size && off < vstd_disk_size(src)) {
		vstd_block_status st;
		uint64_t block_end = (off / VPC_DEFAULT_BLOCK_SIZE + 1) * VPC_DEFAULT_BLOCK_SIZE;
		if ((rc = vstd_disk_map(src, off, block_end - off, &st)) < 0)
			return rc;
		if (st.length == 0)
			break;
		if (st.flags & VSTD_BLOCK_DATA) {
			used++;
			off = block_end;
		} else {
			off += st.length;
		}
	}
	res->required = meta + used * span;
	return 0;
}
