/*
 * disk/vmdk/driver.c - the VMDK driver: probe, open (descriptor or
 * monolithic sparse file), data paths dispatched by extent, create, info,
 * check, measure and the compressed-write hooks.
 */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "disk/disk_internal.h"
#include "disk/vmdk/vmdk_internal.h"

static const char *const subformats[] = {"monolithicSparse",     "monolithicFlat",
                                         "twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
                                         "streamOptimized",      NULL};
static const char *const adapters[] = {"ide", "buslogic", "lsilogic", "legacyESX", NULL};

static const vstd_disk_option_desc vmdk_options[] = {
        {"subformat", "enum",
         "monolithicSparse, monolithicFlat, twoGbMaxExtentSparse, twoGbMaxExtentFlat or "
         "streamOptimized",
         "monolithicSparse"},
        {"adapter_type", "enum", "ide, buslogic, lsilogic or legacyESX", "ide"},
        {"hwversion", "string", "virtual hardware version recorded in the descriptor", "4"},
        {"toolsversion", "string", "VMware Tools version recorded in the descriptor", "2147483647"},
        {"compat6", "bool", "VMDK version 6 (hwversion=6)", "off"},
        {"zeroed_grain", "bool", "mark zero grains in the grain tables (header version 2)", "off"},
};

static int vmdk_probe(const uint8_t *head, size_t head_len, uint64_t file_size, const char *name)
{
	if (head_len >= 4 && (vstd_le32(head) == VMDK4_MAGIC || vstd_le32(head) == VMDK3_MAGIC))
		return 100;
	if (head_len >= 16 && vstd_le64(head) == 0xcafebabeull &&
	    vstd_le64(head + 8) == 0x200000001ull)
		return 100;
	if (head_len >= 21 &&
	    memmem(head, head_len < 1024 ? head_len : 1024, "# Disk DescriptorFile", 21) != NULL)
		return 100;
	if (head_len >= 16 &&
	    memmem(head, head_len < 4096 ? head_len : 4096, "createType=", 11) != NULL &&
	    memmem(head, head_len < 4096 ? head_len : 4096, "version=", 8) != NULL)
		return 60;
	return 0;
}

static void vmdk_free_state(struct vmdk_state *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_ext; i++)
		vmdk_extent_free(&s->ext[i]);
	vstd_free(s->ext);
	vmdk_desc_clear(&s->desc);
	vstd_free(s->desc_text);
	vstd_free(s);
}

static int is_stream(const struct vmdk_extent *e)
{
	return e->type == VMDK_EXT_SPARSE && e->markers;
}

static int vmdk_flush(vstd_disk *d)
{
	struct vmdk_state *s = d->priv;
	int rc = 0;
	for (size_t i = 0; i < s->n_ext && rc == 0; i++) {
		struct vmdk_extent *e = &s->ext[i];
		if (e->io == NULL)
			continue;
		if (is_stream(e) && (e->stream_dirty || e->pend_valid))
			rc = vmdk_stream_flush(d, e);
		if (rc == 0 && e->owns_io)
			rc = vstd_io_flush(e->io);
	}
	if (rc == 0)
		rc = vstd_io_flush(d->io);
	return rc;
}

static void vmdk_close(vstd_disk *d)
{
	struct vmdk_state *s = d->priv;
	if (s == NULL)
		return;
	/* a streamOptimized extent without its tail metadata is unreadable:
	 * finish it even though close does not otherwise flush */
	for (size_t i = 0; (d->flags & VSTD_DISK_RDWR) && i < s->n_ext; i++) {
		struct vmdk_extent *e = &s->ext[i];
		if (is_stream(e) && (e->stream_dirty || e->pend_valid) &&
		    vmdk_stream_flush(d, e) < 0)
			vstd_warn("vmdk", "%s: finishing the stream on close failed: %s",
			          d->filename, vstd_error_last()->message);
	}
	if ((d->flags & VSTD_DISK_RDWR) && s->cid_updated && vmdk_flush(d) == 0) {
		for (size_t i = 0; i < s->n_ext; i++) {
			struct vmdk_extent *e = &s->ext[i];
			static const uint8_t zero;
			if (e->type == VMDK_EXT_SPARSE && !e->markers && !e->read_only &&
			    vstd_le32(e->hdr) == VMDK4_MAGIC &&
			    vstd_io_pwrite(e->io, &zero, 1, 72) < 0)
				vstd_warn("vmdk", "%s: clearing the unclean-shutdown flag failed",
				          d->filename);
		}
	}
	vmdk_free_state(s);
	d->priv = NULL;
}

/* Open the file of one descriptor extent (type by magic). */
static int open_sparse_file(vstd_disk *d, struct vmdk_extent *e)
{
	uint8_t m[8];
	int rc;
	if ((rc = vstd_io_pread(e->io, m, sizeof(m), 0)) < 0)
		return vstd_err_prefix("%s: extent '%s': ", d->filename, e->name);
	if (vstd_le32(m) == VMDK4_MAGIC) {
		e->type = VMDK_EXT_SPARSE;
		return vmdk_sparse_open(d, e);
	}
	if (vstd_le64(m) == 0xcafebabeull) {
		e->type = VMDK_EXT_SESPARSE;
		return vmdk_sesparse_open(d, e);
	}
	if (vstd_le32(m) == VMDK3_MAGIC) {
		e->type = VMDK_EXT_SPARSE;
		return vmdk_sparse_open(d, e);
	}
	return vstd_err(VSTD_ECORRUPT,
	                "%s: extent '%s' is listed as sparse but has no sparse "
	                "header",
	                d->filename, e->name);
}

static int open_descriptor_extents(vstd_disk *d, struct vmdk_state *s)
{
	uint64_t vstart = 0;
	int writable = (d->flags & VSTD_DISK_RDWR) != 0;
	s->ext = vstd_calloc(s->desc.n_ext, sizeof(*s->ext));
	if (s->ext == NULL)
		return vstd_err_code();
	for (size_t i = 0; i < s->desc.n_ext; i++) {
		struct vmdk_desc_extent *x = &s->desc.ext[i];
		struct vmdk_extent *e = &s->ext[i];
		int rc;
		s->n_ext = i + 1;
		e->vstart = vstart;
		e->vlen = x->sectors * VMDK_SECTOR;
		if (vstd_add_overflow_u64(vstart, e->vlen, &vstart) || vstart > ((uint64_t)1 << 62))
			return vstd_err(VSTD_ECORRUPT, "%s: extents add up to more than 2^62 bytes",
			                d->filename);
		e->read_only = strcmp(x->access, "RW") != 0;
		e->no_access = strcmp(x->access, "NOACCESS") == 0;
		if ((e->name = vstd_strdup(x->file ? x->file : "")) == NULL)
			return vstd_err_code();
		if (strcmp(x->type, "ZERO") == 0) {
			e->type = VMDK_EXT_ZERO;
			e->type_name = "ZERO";
			continue;
		}
		if (x->file == NULL)
			return vstd_err(VSTD_ECORRUPT, "%s: extent %zu (%s) names no file",
			                d->filename, i + 1, x->type);
		if (strcmp(x->type, "VMFSRDM") == 0 || strcmp(x->type, "VMFSRAW") == 0) {
			/* raw device mapping / raw disk: on ESXi the named file is
			 * a mapping that VMFS redirects to a LUN; elsewhere only a
			 * copy of the device's contents (or the device) can be
			 * read, as a flat extent at offset 0 */
			e->type = VMDK_EXT_FLAT;
			e->type_name = strcmp(x->type, "VMFSRDM") == 0 ? "VMFSRDM" : "VMFSRAW";
			if (x->offset > ((uint64_t)1 << 53))
				return vstd_err(VSTD_ECORRUPT, "%s: extent %zu offset too large",
				                d->filename, i + 1);
			e->flat_off = x->offset * VMDK_SECTOR;
			if ((rc = vmdk_extent_open_file(d, e, x->file, writable && !e->read_only)) <
			    0) {
				if (rc != VSTD_ENOENT)
					return rc;
				return vstd_err(
				        VSTD_ENOTSUP,
				        "%s: extent %zu is a %s extent (raw device "
				        "mapping) whose file '%s' is not here: the mapped device "
				        "is only reachable through VMFS on the ESXi host; copy "
				        "the device's contents to that name to read it",
				        d->filename, i + 1, e->type_name, x->file);
			}
			continue;
		}
		if (strcmp(x->type, "FLAT") == 0 || strcmp(x->type, "VMFS") == 0) {
			e->type = VMDK_EXT_FLAT;
			e->type_name = strcmp(x->type, "FLAT") == 0 ? "FLAT" : "VMFS";
			if (x->offset > ((uint64_t)1 << 53))
				return vstd_err(VSTD_ECORRUPT, "%s: extent %zu offset too large",
				                d->filename, i + 1);
			e->flat_off = x->offset * VMDK_SECTOR;
		} else if (strcmp(x->type, "SPARSE") == 0 || strcmp(x->type, "VMFSSPARSE") == 0 ||
		           strcmp(x->type, "SESPARSE") == 0) {
			e->type = VMDK_EXT_SPARSE;
			e->type_name = strcmp(x->type, "SPARSE") == 0     ? "SPARSE"
			               : strcmp(x->type, "SESPARSE") == 0 ? "SESPARSE"
			                                                  : "VMFSSPARSE";
		} else {
			return vstd_err(VSTD_ENOTSUP,
			                "%s: extent %zu has type '%s', which this build "
			                "does not support",
			                d->filename, i + 1, x->type);
		}
		if ((rc = vmdk_extent_open_file(d, e, x->file, writable && !e->read_only)) < 0)
			return rc;
		if (e->type == VMDK_EXT_SPARSE && (rc = open_sparse_file(d, e)) < 0)
			return rc;
	}
	d->size = vstart;
	return 0;
}

/* Open a file that starts with a sparse header (monolithicSparse,
 * streamOptimized, or one extent of a split image opened directly). */
static int open_monolithic(vstd_disk *d, struct vmdk_state *s)
{
	struct vmdk_extent *e;
	int rc;
	s->ext = vstd_calloc(1, sizeof(*s->ext));
	if (s->ext == NULL)
		return vstd_err_code();
	s->n_ext = 1;
	e = &s->ext[0];
	e->io = d->io;
	e->type = VMDK_EXT_SPARSE;
	e->type_name = "SPARSE";
	if ((e->name = vstd_strdup(d->filename)) == NULL)
		return vstd_err_code();
	if ((rc = vmdk_sparse_open(d, e)) < 0)
		return rc;
	e->vlen = e->capacity;
	d->size = e->capacity;
	if (e->desc_size > 0) {
		s->desc_text = vstd_malloc((size_t)e->desc_size + 1);
		if (s->desc_text == NULL)
			return vstd_err_code();
		if ((rc = vstd_io_pread(d->io, s->desc_text, (size_t)e->desc_size, e->desc_off)) <
		    0)
			return vstd_err_prefix("%s: embedded descriptor: ", d->filename);
		s->desc_text[e->desc_size] = '\0';
		s->desc_len = strlen(s->desc_text);
		s->desc_embedded = 1;
		if (vmdk_desc_parse(s->desc_text, s->desc_len, d->filename, &s->desc) < 0) {
			/* the extent is usable without its descriptor */
			vstd_warn("vmdk", "%s: embedded descriptor ignored: %s", d->filename,
			          vstd_error_last()->message);
			memset(&s->desc, 0, sizeof(s->desc));
			s->desc.parent_cid = UINT32_MAX;
		}
	}
	return 0;
}

/* A seSparse extent opened without its descriptor (read only). */
static int open_bare_sesparse(vstd_disk *d, struct vmdk_state *s)
{
	struct vmdk_extent *e;
	int rc;
	s->ext = vstd_calloc(1, sizeof(*s->ext));
	if (s->ext == NULL)
		return vstd_err_code();
	s->n_ext = 1;
	e = &s->ext[0];
	e->io = d->io;
	e->type = VMDK_EXT_SESPARSE;
	e->type_name = "SESPARSE";
	e->read_only = 1;
	if ((e->name = vstd_strdup(d->filename)) == NULL)
		return vstd_err_code();
	if ((rc = vmdk_sesparse_open(d, e)) < 0)
		return rc;
	e->vlen = e->capacity;
	d->size = e->capacity;
	s->desc.parent_cid = UINT32_MAX;
	return 0;
}

static int vmdk_open(vstd_disk *d)
{
	struct vmdk_state *s = vstd_calloc(1, sizeof(*s));
	uint8_t m[4];
	uint64_t size;
	int rc;
	if (s == NULL)
		return vstd_err_code();
	d->priv = s;
	if ((rc = vstd_io_size(d->io, &size)) < 0)
		goto fail;
	if (size >= 4 && (rc = vstd_io_pread(d->io, m, 4, 0)) < 0)
		goto fail;
	if (size >= 4 && vstd_le32(m) == VMDK4_MAGIC) {
		rc = open_monolithic(d, s);
	} else if (size >= 8 && vstd_le32(m) == 0xcafebabeu) {
		rc = open_bare_sesparse(d, s);
	} else if (size >= 4 && vstd_le32(m) == VMDK3_MAGIC) {
		rc = open_monolithic(d, s); /* a COWD extent opened directly */
	} else {
		if (size > VMDK_MAX_DESC_SIZE) {
			rc = vstd_err(VSTD_ELIMIT,
			              "%s: VMDK descriptor file of %" PRIu64 " bytes is "
			              "larger than the %" PRIu64 " byte limit",
			              d->filename, size, VMDK_MAX_DESC_SIZE);
			goto fail;
		}
		s->desc_text = vstd_malloc((size_t)size + 1);
		if (s->desc_text == NULL) {
			rc = vstd_err_code();
			goto fail;
		}
		if ((rc = vstd_io_pread(d->io, s->desc_text, (size_t)size, 0)) < 0)
			goto fail;
		s->desc_text[size] = '\0';
		s->desc_len = (size_t)size;
		if ((rc = vmdk_desc_parse(s->desc_text, s->desc_len, d->filename, &s->desc)) < 0)
			goto fail;
		rc = open_descriptor_extents(d, s);
	}
	if (rc < 0)
		goto fail;
	if (s->desc.parent_hint != NULL && s->desc.parent_hint[0] != '\0' &&
	    (rc = vstd_disk_set_backing(d, s->desc.parent_hint, "vmdk")) < 0)
		goto fail;
	return 0;
fail:
	vmdk_free_state(s);
	d->priv = NULL;
	return rc;
}

/* The parent's CID must be the parentCID this image recorded. */
static void check_parent_cid(vstd_disk *d, struct vmdk_state *s)
{
	struct vmdk_state *ps;
	if (s->parent_checked || d->backing == NULL || d->backing->drv != &vstd_driver_vmdk)
		return;
	s->parent_checked = 1;
	ps = d->backing->priv;
	if (ps != NULL && ps->desc.cid != s->desc.parent_cid)
		vstd_warn("vmdk",
		          "%s: parentCID %08x does not match the CID %08x of parent '%s' "
		          "(the parent changed after this image was made)",
		          d->filename, s->desc.parent_cid, ps->desc.cid, d->backing->filename);
}

static int vmdk_read(vstd_disk *d, uint64_t off, void *buf, size_t len)
{
	struct vmdk_state *s = d->priv;
	uint8_t *out = buf;
	check_parent_cid(d, s);
	while (len > 0) {
		struct vmdk_extent *e = vmdk_extent_find(s, off);
		uint64_t rel;
		size_t n;
		int rc = 0;
		if (e == NULL)
			return vstd_err(VSTD_ERANGE, "%s: offset %" PRIu64 " is in no extent",
			                d->filename, off);
		rel = off - e->vstart;
		n = e->vlen - rel < len ? (size_t)(e->vlen - rel) : len;
		switch (e->type) {
		case VMDK_EXT_FLAT: rc = vmdk_flat_read(d, e, rel, out, n); break;
		case VMDK_EXT_ZERO: memset(out, 0, n); break;
		case VMDK_EXT_SPARSE: rc = vmdk_sparse_read(d, e, rel, out, n); break;
		case VMDK_EXT_SESPARSE: rc = vmdk_sesparse_read(d, e, rel, out, n); break;
		case VMDK_EXT_COWD:
			rc = vstd_err(VSTD_ENOTSUP, "%s: COWD extents are not readable",
			              d->filename);
			break;
		}
		if (rc < 0)
			return rc;
		out += n;
		off += n;
		len -= n;
	}
	return 0;
}

static uint32_t new_cid(void)
{
	static unsigned counter;
	uint64_t x = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20) ^ (uint64_t)clock() ^
	             ((uint64_t)++counter * 0x9e3779b97f4a7c15ull) ^ (uint64_t)(uintptr_t)&x;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (uint32_t)x ? (uint32_t)x : 1;
}

/* Like VMware and qemu: the first write gives the image a new CID, so that
 * children made against the old contents notice. */
static int update_cid(vstd_disk *d, struct vmdk_state *s)
{
	uint32_t cid;
	if (s->cid_updated)
		return 0;
	s->cid_updated = 1;
	/* hosted sparse extents carry an unclean-shutdown byte: set while
	 * written, cleared by close */
	for (size_t i = 0; i < s->n_ext; i++) {
		struct vmdk_extent *e = &s->ext[i];
		static const uint8_t one = 1;
		int rc;
		if (e->type == VMDK_EXT_SPARSE && !e->markers && !e->read_only &&
		    vstd_le32(e->hdr) == VMDK4_MAGIC &&
		    (rc = vstd_io_pwrite(e->io, &one, 1, 72)) < 0)
			return rc;
	}
	if (s->desc_text == NULL)
		return 0;
	cid = new_cid();
	if (vmdk_desc_set_cid(s->desc_text, s->desc_len, cid) < 0)
		return 0;
	s->desc.cid = cid;
	if (s->desc_embedded)
		return vstd_io_pwrite(d->io, s->desc_text, s->desc_len, s->ext[0].desc_off);
	return vstd_io_pwrite(d->io, s->desc_text, s->desc_len, 0);
}

/*
 * seSparse extents are read only: a write would have to keep ESXi's free
 * bitmap, back map (grain -> table entry) and metadata journal consistent,
 * whose layouts are not publicly specified (docs/formats/vmdk.md).  Refused
 * before anything (the CID) changes.
 */
static int refuse_sesparse(vstd_disk *d, struct vmdk_state *s, uint64_t off, uint64_t len)
{
	for (size_t i = 0; i < s->n_ext; i++) {
		struct vmdk_extent *e = &s->ext[i];
		if (e->type == VMDK_EXT_SESPARSE && off < e->vstart + e->vlen &&
		    e->vstart < off + len)
			return vstd_err(VSTD_ENOTSUP,
			                "%s: seSparse extent '%s' is read-only: writing it needs "
			                "ESXi's free bitmap, back map and journal kept consistent, "
			                "which are not publicly specified; convert the disk (e.g. "
			                "to monolithicSparse or qcow2) to change it",
			                d->filename, e->name ? e->name : "(embedded)");
	}
	return 0;
}

static int vmdk_write(vstd_disk *d, uint64_t off, const void *buf, size_t len)
{
	struct vmdk_state *s = d->priv;
	const uint8_t *in = buf;
	int rc;
	if ((rc = refuse_sesparse(d, s, off, len)) < 0 || (rc = update_cid(d, s)) < 0)
		return rc;
	while (len > 0) {
		struct vmdk_extent *e = vmdk_extent_find(s, off);
		uint64_t rel;
		size_t n;
		if (e == NULL)
			return vstd_err(VSTD_ERANGE, "%s: offset %" PRIu64 " is in no extent",
			                d->filename, off);
		rel = off - e->vstart;
		n = e->vlen - rel < len ? (size_t)(e->vlen - rel) : len;
		if (e->read_only)
			return vstd_err(VSTD_EPERM, "%s: extent '%s' is %s", d->filename, e->name,
			                e->no_access ? "NOACCESS" : "read-only (RDONLY)");
		switch (e->type) {
		case VMDK_EXT_FLAT: rc = vstd_io_pwrite(e->io, in, n, e->flat_off + rel); break;
		case VMDK_EXT_SPARSE: rc = vmdk_sparse_write(d, e, rel, in, n); break;
		default:
			rc = vstd_err(VSTD_ENOTSUP, "%s: %s extent '%s' cannot be written",
			              d->filename, e->type_name, e->name);
		}
		if (rc < 0)
			return rc;
		in += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int vmdk_write_zeroes(vstd_disk *d, uint64_t off, uint64_t len, unsigned flags)
{
	struct vmdk_state *s = d->priv;
	uint8_t *zero = NULL;
	int rc;
	if ((rc = refuse_sesparse(d, s, off, len)) < 0 || (rc = update_cid(d, s)) < 0)
		return rc;
	while (len > 0) {
		struct vmdk_extent *e = vmdk_extent_find(s, off);
		uint64_t rel, n;
		if (e == NULL) {
			rc = vstd_err(VSTD_ERANGE, "%s: offset %" PRIu64 " is in no extent",
			              d->filename, off);
			break;
		}
		rel = off - e->vstart;
		n = e->vlen - rel < len ? e->vlen - rel : len;
		if (e->type == VMDK_EXT_FLAT && !e->read_only) {
			rc = vstd_io_write_zeroes(e->io, e->flat_off + rel, n, flags);
		} else if (e->type == VMDK_EXT_SPARSE && !e->read_only) {
			uint64_t gi = rel / e->grain, in = rel % e->grain;
			enum vmdk_grain_kind kind;
			uint64_t host;
			if (n > e->grain - in)
				n = e->grain - in;
			if (e->pend_valid && e->pend_grain == gi)
				kind = VMDK_GRAIN_DATA;
			else if ((rc = vmdk_sparse_lookup(d, e, gi, &kind, &host)) < 0)
				break;
			if (n == e->grain && (kind == VMDK_GRAIN_ZERO ||
			                      (kind == VMDK_GRAIN_UNALLOC && d->backing == NULL))) {
				rc = 0; /* already reads as zeroes */
			} else if (n == e->grain && e->zeroed_grain && !e->markers) {
				rc = vmdk_sparse_set_gte(d, e, gi, 1);
			} else {
				if (zero == NULL &&
				    (zero = vstd_calloc(1, (size_t)e->grain)) == NULL) {
					rc = vstd_err_code();
					break;
				}
				rc = vmdk_sparse_write(d, e, rel, zero, (size_t)n);
			}
		} else {
			if (zero == NULL && (zero = vstd_calloc(1, 65536)) == NULL) {
				rc = vstd_err_code();
				break;
			}
			if (n > 65536)
				n = 65536;
			rc = vmdk_write(d, off, zero, (size_t)n);
		}
		if (rc < 0)
			break;
		off += n;
		len -= n;
	}
	vstd_free(zero);
	return rc;
}

static int vmdk_block_status(vstd_disk *d, uint64_t off, uint64_t max_len, vstd_block_status *st)
{
	struct vmdk_state *s = d->priv;
	struct vmdk_extent *e = vmdk_extent_find(s, off);
	uint64_t rel, avail;
	int rc;
	if (e == NULL)
		return vstd_err(VSTD_ERANGE, "%s: offset %" PRIu64 " is in no extent", d->filename,
		                off);
	rel = off - e->vstart;
	avail = e->vlen - rel < max_len ? e->vlen - rel : max_len;
	switch (e->type) {
	case VMDK_EXT_FLAT:
		st->length = avail;
		st->flags = VSTD_BLOCK_DATA | VSTD_BLOCK_ALLOCATED | VSTD_BLOCK_OFFSET_VALID;
		st->host_offset = e->flat_off + rel;
		return 0;
	case VMDK_EXT_ZERO:
	case VMDK_EXT_COWD:
		st->length = avail;
		st->flags = VSTD_BLOCK_ZERO | VSTD_BLOCK_ALLOCATED;
		return 0;
	case VMDK_EXT_SESPARSE: return vmdk_sesparse_status(d, e, rel, avail, st);
	case VMDK_EXT_SPARSE: break;
	}
	if (rel >= e->capacity) {
		st->length = avail;
		st->flags = VSTD_BLOCK_ZERO | VSTD_BLOCK_ALLOCATED;
		return 0;
	}
	st->length = 0;
	while (st->length < avail) {
		uint64_t r = rel + st->length, gi = r / e->grain, host = 0, n;
		enum vmdk_grain_kind kind;
		unsigned flags;
		if (r >= e->capacity)
			break;
		if (e->pend_valid && e->pend_grain == gi)
			kind = VMDK_GRAIN_COMPRESSED;
		else if ((rc = vmdk_sparse_lookup(d, e, gi, &kind, &host)) < 0)
			return rc;
		switch (kind) {
		case VMDK_GRAIN_UNALLOC: flags = 0; break;
		case VMDK_GRAIN_ZERO: flags = VSTD_BLOCK_ZERO | VSTD_BLOCK_ALLOCATED; break;
		case VMDK_GRAIN_COMPRESSED:
			flags = VSTD_BLOCK_DATA | VSTD_BLOCK_ALLOCATED | VSTD_BLOCK_COMPRESSED;
			break;
		default:
			flags = VSTD_BLOCK_DATA | VSTD_BLOCK_ALLOCATED | VSTD_BLOCK_OFFSET_VALID;
			break;
		}
		if (st->length == 0) {
			st->flags = flags;
			st->host_offset = host + r % e->grain;
		} else if (flags != st->flags ||
		           ((flags & VSTD_BLOCK_OFFSET_VALID) &&
		            host + r % e->grain != st->host_offset + st->length)) {
			break;
		}
		n = e->grain - r % e->grain;
		st->length += n;
		if (st->length >= ((uint64_t)1 << 30))
			break;
	}
	if (st->length > avail)
		st->length = avail;
	if (st->length == 0) {
		st->length = avail;
		st->flags = VSTD_BLOCK_ZERO | VSTD_BLOCK_ALLOCATED;
	}
	return 0;
}

/* ------------------------------------------------------------ resize */

/* Rewrite the descriptor with the last extent's new length (and the
 * geometry for the new size). */
static int store_descriptor(vstd_disk *d, struct vmdk_state *s, uint64_t sectors)
{
	char *t0 = vmdk_desc_set_extent_sectors(s->desc_text, s->desc_len, s->n_ext - 1, sectors);
	char *t;
	if (t0 == NULL)
		return vstd_err_code();
	t = vmdk_desc_set_cylinders(t0, strlen(t0),
	                            s->ext[s->n_ext - 1].vstart + sectors * VMDK_SECTOR);
	vstd_free(t0);
	if (t == NULL)
		return vstd_err_code();
	return vmdk_desc_store(d, s, t);
}

/*
 * Shrink within the last extent when it is flat: the descriptor records the
 * new sector count first, then the file gives back what lies past the
 * extent's new end (when the extent ended the file).  A crash in between
 * leaves a flat file longer than its extent, which every reader accepts.
 */
static int shrink_flat(vstd_disk *d, struct vmdk_state *s, uint64_t size,
                       enum vstd_prealloc prealloc)
{
	struct vmdk_extent *e = &s->ext[s->n_ext - 1];
	uint64_t cut = d->size - size, new_len, fsize;
	int rc;
	if (size % VMDK_SECTOR != 0 || size == 0)
		return vstd_err(VSTD_EINVAL, "%s: VMDK sizes are whole 512-byte sectors (not 0)",
		                d->filename);
	if (prealloc != VSTD_PREALLOC_OFF)
		return vstd_err(VSTD_ENOTSUP, "%s: VMDK resize takes no preallocation",
		                d->filename);
	/* whole extents dropped: split.c */
	if (cut >= e->vlen)
		return vmdk_split_shrink(d, s, size);
	int sparse = e->type == VMDK_EXT_SPARSE && !e->markers && !e->compressed &&
	             e->vlen == e->capacity && vstd_le32(e->hdr) == VMDK4_MAGIC;
	if ((e->type != VMDK_EXT_FLAT && !sparse) || s->desc_text == NULL || e->read_only)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: shrinking is supported for images whose last extent is a "
		                "writable flat or hosted sparse extent, not %s",
		                d->filename, e->markers ? "streamOptimized" : e->type_name);
	new_len = e->vlen - cut;
	if (sparse) {
		/* the extent first (zeroes past the new end), then the descriptor */
		if ((rc = vmdk_sparse_shrink(d, e, new_len)) < 0 ||
		    (rc = store_descriptor(d, s, new_len / VMDK_SECTOR)) < 0)
			return rc;
		e->vlen = new_len;
		return 0;
	}
	if ((rc = vstd_io_size(e->io, &fsize)) < 0)
		return rc;
	if ((rc = store_descriptor(d, s, new_len / VMDK_SECTOR)) < 0)
		return rc;
	e->vlen = new_len;
	if (fsize == e->flat_off + new_len + cut && e->flat_off + new_len > 0 &&
	    ((rc = vstd_io_flush(d->io)) < 0 ||
	     (rc = vstd_io_truncate(e->io, e->flat_off + new_len)) < 0))
		return rc;
	return 0;
}

/*
 * Grow the last extent in place to new_len bytes (the descriptor is the
 * caller's): a flat file is extended, a hosted sparse extent gets new
 * directory entries with zeroed tables and then its new header capacity,
 * a streamOptimized one new tail metadata.  e->vlen is left to the caller.
 */
int vmdk_grow_last(vstd_disk *d, struct vmdk_state *s, uint64_t new_len)
{
	struct vmdk_extent *e = &s->ext[s->n_ext - 1];
	uint64_t sectors = new_len / VMDK_SECTOR;
	uint64_t size = e->vstart + new_len;
	int rc;
	if (e->type == VMDK_EXT_FLAT) {
		uint64_t fsize;
		if ((rc = vstd_io_size(e->io, &fsize)) < 0)
			return rc;
		if (fsize < e->flat_off + new_len &&
		    (rc = vstd_io_truncate(e->io, e->flat_off + new_len)) < 0)
			return rc;
	} else if (e->type == VMDK_EXT_SPARSE && !e->markers && !e->compressed &&
	           e->vlen == e->capacity && vstd_le32(e->hdr) == VMDK4_MAGIC) {
		uint64_t per = e->grain * e->ngte, n_gd = (new_len + per - 1) / per;
		uint64_t room = vstd_align_up(e->n_gd * 4, VMDK_SECTOR) / 4;
		uint8_t cap[8];
		uint32_t *ngd, *nrgd = NULL;
		uint32_t **ngt;
		if (n_gd > room)
			return vstd_err(VSTD_ENOTSUP,
			                "%s: growing to %" PRIu64 " bytes needs a larger "
			                "grain directory than the file has room for",
			                d->filename, size);
		ngd = vstd_realloc_array(e->gd, (size_t)n_gd, 4);
		if (ngd == NULL)
			return vstd_err_code();
		e->gd = ngd;
		if (e->rgd != NULL) {
			nrgd = vstd_realloc_array(e->rgd, (size_t)n_gd, 4);
			if (nrgd == NULL)
				return vstd_err_code();
			e->rgd = nrgd;
		}
		ngt = vstd_realloc_array(e->gt, (size_t)n_gd, sizeof(*ngt));
		if (ngt == NULL)
			return vstd_err_code();
		e->gt = ngt;
		/* the new directory entries: zero on disk (the area was padded) */
		for (uint64_t i = e->n_gd; i < n_gd; i++) {
			uint8_t le[4];
			e->gd[i] = 0;
			if (e->rgd != NULL)
				e->rgd[i] = 0;
			e->gt[i] = NULL;
			if ((rc = vstd_io_pread(e->io, le, 4, e->gd_off + i * 4)) < 0)
				return rc;
			e->gd[i] = vstd_le32(le);
			if (e->gd[i] != 0)
				return vstd_err(VSTD_ECORRUPT,
				                "%s: grain directory slack is not zero",
				                d->filename);
		}
		{
			uint64_t old = e->n_gd;
			e->n_gd = n_gd;
			/* tables for the new entries, as VMware and qemu expect every
			 * table to exist */
			for (uint64_t i = old; i < n_gd; i++)
				if ((rc = vmdk_sparse_alloc_gt(d, e, i)) < 0)
					return rc;
		}
		e->capacity = sectors * VMDK_SECTOR;
		vstd_put_le64(cap, sectors);
		if ((rc = vstd_io_pwrite(e->io, cap, 8, 12)) < 0)
			return rc;
		memcpy(e->hdr + 12, cap, 8);
	} else if (e->type == VMDK_EXT_SPARSE && e->markers && e->vlen == e->capacity &&
	           vstd_le32(e->hdr) == VMDK4_MAGIC) {
		/* streamOptimized: new tail metadata, then the descriptor */
		if ((rc = vmdk_stream_grow(d, e, sectors * VMDK_SECTOR)) < 0)
			return rc;
	} else {
		return vstd_err(VSTD_ENOTSUP, "%s: resizing a %s extent is not supported",
		                d->filename, e->markers ? "streamOptimized" : e->type_name);
	}
	return 0;
}

static int vmdk_truncate(vstd_disk *d, uint64_t size, enum vstd_prealloc prealloc)
{
	struct vmdk_state *s = d->priv;
	struct vmdk_extent *e = &s->ext[s->n_ext - 1];
	uint64_t new_len, sectors;
	int rc;
	/* a resize interrupted before its descriptor switch may have left the
	 * last extent's header longer than its line */
	if (s->desc_text != NULL && (rc = vmdk_sparse_reconcile(d, e)) < 0)
		return rc;
	if (size < d->size)
		return shrink_flat(d, s, size, prealloc);
	if (size % VMDK_SECTOR != 0)
		return vstd_err(VSTD_EINVAL, "%s: VMDK sizes are whole 512-byte sectors",
		                d->filename);
	if (prealloc != VSTD_PREALLOC_OFF)
		return vstd_err(VSTD_ENOTSUP, "%s: VMDK resize takes no preallocation",
		                d->filename);
	if (s->desc_text == NULL || e->read_only)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: this VMDK has no descriptor to record a new size",
		                d->filename);
	new_len = e->vlen + (size - d->size);
	sectors = new_len / VMDK_SECTOR;
	/* split images: fill the last extent, then add extents */
	if (vmdk_split_type(s) && new_len > e->vlen && new_len > vmdk_split_extent_max(s))
		return vmdk_split_grow(d, s, size);
	if ((rc = vmdk_grow_last(d, s, new_len)) < 0 || (rc = store_descriptor(d, s, sectors)) < 0)
		return rc;
	e->vlen = new_len;
	return 0;
}

/* ------------------------------------------------------------ compressed writes */

static struct vmdk_extent *stream_extent(vstd_disk *d)
{
	struct vmdk_state *s = d->priv;
	for (size_t i = 0; s != NULL && i < s->n_ext; i++)
		if (is_stream(&s->ext[i]))
			return &s->ext[i];
	return NULL;
}

/* Non-stream images answer a grain too, so that compress() can say why
 * they take no compressed grains. */
static uint64_t vmdk_compress_unit(vstd_disk *d)
{
	struct vmdk_state *s = d->priv;
	struct vmdk_extent *e = stream_extent(d);
	if (e != NULL)
		return e->grain;
	for (size_t i = 0; s != NULL && i < s->n_ext; i++)
		if (s->ext[i].type == VMDK_EXT_SPARSE)
			return s->ext[i].grain;
	return 65536;
}

static int vmdk_compress(vstd_disk *d, const void *in, size_t in_len, void *out, size_t out_cap,
                         size_t *out_len)
{
	struct vmdk_extent *e = stream_extent(d);
	uint8_t *pad = NULL;
	int rc;
	if (e == NULL)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: only streamOptimized VMDKs hold compressed "
		                "grains (use -o subformat=streamOptimized)",
		                d->filename);
	if (in_len > e->grain)
		return vstd_err(VSTD_EINVAL, "%s: compressed unit larger than a grain",
		                d->filename);
	if (in_len < e->grain) {
		/* readers inflate whole grains: pad the last one */
		if ((pad = vstd_calloc(1, (size_t)e->grain)) == NULL)
			return vstd_err_code();
		memcpy(pad, in, in_len);
		in = pad;
	}
	/* random-looking data does not shrink: say so at once (the plain
	 * write stores it cheaply) */
	if (vmdk_looks_random(in, (size_t)e->grain))
		rc = VSTD_ERANGE;
	else
		rc = vmdk_deflate(in, (size_t)e->grain, out, out_cap, out_len);
	vstd_free(pad);
	return rc;
}

static int vmdk_write_compressed(vstd_disk *d, uint64_t off, const void *data, size_t len)
{
	struct vmdk_state *s = d->priv;
	struct vmdk_extent *e = vmdk_extent_find(s, off);
	int rc;
	if (e == NULL || !is_stream(e) || (off - e->vstart) % e->grain != 0)
		return vstd_err(VSTD_EINVAL,
		                "%s: compressed write at %" PRIu64 " is not at a grain "
		                "of a streamOptimized extent",
		                d->filename, off);
	if ((rc = update_cid(d, s)) < 0 || (rc = vmdk_stream_begin_write(d, e)) < 0)
		return rc;
	if (e->pend_valid && e->pend_grain == (off - e->vstart) / e->grain)
		e->pend_valid = 0;
	return vmdk_stream_put_compressed(d, e, (off - e->vstart) / e->grain, data, len);
}

/* ------------------------------------------------------------ create */

static char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	size_t n;
	b = b ? b + 1 : path;
	n = strlen(b);
	if (n > 5 && strcmp(b + n - 5, ".vmdk") == 0)
		n -= 5;
	return vstd_strndup(b, n);
}

static char *sibling_path(const char *path, const char *file)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return vstd_strdup(file);
	return vstd_asprintf("%.*s/%s", (int)(slash - path), path, file);
}

static void remove_siblings(const char *path, struct vmdk_desc *desc, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *p = sibling_path(path, desc->ext[i].file);
		if (p != NULL)
			unlink(p);
		vstd_free(p);
	}
}

static int vmdk_create(vstd_io *io, const struct vstd_disk_create_args *a)
{
	struct vmdk_desc desc;
	size_t sub = 0, adapter = 0;
	int compat6 = 0, zeroed = 0, rc, split, flat;
	uint64_t size = vstd_align_up(a->size, VMDK_SECTOR), ext_max, left;
	const char *hw = vstd_kv_get(a->options, "hwversion");
	const char *tools = vstd_kv_get(a->options, "toolsversion");
	char *base = NULL, *text = NULL;
	size_t made = 0;
	memset(&desc, 0, sizeof(desc));
	if ((rc = vstd_kv_get_enum(a->options, "subformat", subformats, 0, &sub)) < 0 ||
	    (rc = vstd_kv_get_enum(a->options, "adapter_type", adapters, 0, &adapter)) < 0 ||
	    (rc = vstd_kv_get_bool(a->options, "compat6", 0, &compat6)) < 0 ||
	    (rc = vstd_kv_get_bool(a->options, "zeroed_grain", 0, &zeroed)) < 0)
		return rc;
	if (a->prealloc != VSTD_PREALLOC_OFF)
		return vstd_err(VSTD_EINVAL, "%s: the vmdk format takes no preallocation option",
		                a->path);
	if (compat6 && hw != NULL)
		return vstd_err(VSTD_EINVAL, "%s: compat6 and hwversion cannot both be given",
		                a->path);
	if (hw != NULL && (strlen(hw) > 16 || strpbrk(hw, "\"\n\r") != NULL))
		return vstd_err(VSTD_EINVAL, "hwversion '%s' is not a short version string", hw);
	if (tools != NULL && (strlen(tools) > 32 || strpbrk(tools, "\"\n\r") != NULL))
		return vstd_err(VSTD_EINVAL, "toolsversion '%s' is not a short version string",
		                tools);
	if (size > ((uint64_t)64 << 40))
		return vstd_err(VSTD_ERANGE,
		                "%s: %" PRIu64 " bytes is larger than the VMDK limit "
		                "of 64 TiB",
		                a->path, a->size);
	desc.version = 1;
	desc.cid = new_cid();
	desc.parent_cid = UINT32_MAX;
	if (a->backing_file != NULL) {
		if (a->backing_format != NULL && strcmp(a->backing_format, "vmdk") != 0)
			return vstd_err(VSTD_ENOTSUP,
			                "%s: a VMDK can only have a VMDK parent, not %s", a->path,
			                a->backing_format);
		if (sub == 4)
			return vstd_err(VSTD_ENOTSUP,
			                "%s: a streamOptimized VMDK cannot have a "
			                "parent",
			                a->path);
		if (strchr(a->backing_file, '"') != NULL || strchr(a->backing_file, '\n') != NULL)
			return vstd_err(VSTD_EINVAL, "%s: parent name contains a quote or newline",
			                a->path);
		if (a->backing != NULL && a->backing->drv == &vstd_driver_vmdk)
			desc.parent_cid = ((struct vmdk_state *)a->backing->priv)->desc.cid;
		desc.parent_hint = (char *)a->backing_file;
	}
	desc.create_type = (char *)subformats[sub];
	desc.adapter_type = (char *)adapters[adapter];
	desc.hwversion = (char *)(compat6 ? "6" : hw != NULL ? hw : "4");
	desc.toolsversion = (char *)(tools != NULL ? tools : "2147483647");
	split = sub == 2 || sub == 3;
	flat = sub == 1 || sub == 3;
	ext_max = split ? (uint64_t)2 << 30 : size;
	base = base_name(a->path);
	if (base == NULL)
		return vstd_err_code();
	if (strchr(base, '"') != NULL) {
		vstd_free(base);
		return vstd_err(VSTD_EINVAL, "%s: file name contains a quote", a->path);
	}
	/* the extent list */
	{
		size_t n = (sub == 0 || sub == 4 || size == 0)
		                   ? 1
		                   : (size_t)((size + ext_max - 1) / ext_max);
		desc.ext = vstd_calloc(n, sizeof(*desc.ext));
		if (desc.ext == NULL) {
			rc = vstd_err_code();
			goto out;
		}
		desc.n_ext = n;
		left = size;
		for (size_t i = 0; i < n; i++) {
			struct vmdk_desc_extent *x = &desc.ext[i];
			uint64_t len = left < ext_max ? left : ext_max;
			strcpy(x->access, "RW");
			strcpy(x->type, flat ? "FLAT" : "SPARSE");
			x->sectors = len / VMDK_SECTOR;
			if (sub == 0 || sub == 4) {
				const char *b = strrchr(a->path, '/');
				x->file = vstd_strdup(b ? b + 1 : a->path);
			} else if (sub == 1) {
				x->file = vstd_asprintf("%s-flat.vmdk", base);
			} else {
				x->file = vstd_asprintf("%s-%c%03zu.vmdk", base, flat ? 'f' : 's',
				                        i + 1);
			}
			if (x->file == NULL) {
				rc = vstd_err_code();
				goto out;
			}
			left -= len;
		}
	}
	text = vmdk_desc_format(&desc, size);
	if (text == NULL) {
		rc = vstd_err_code();
		goto out;
	}
	if (sub == 0) {
		rc = vmdk_sparse_create(io, size, zeroed, text);
		goto out;
	}
	if (sub == 4) {
		rc = vmdk_stream_create(io, size, text);
		goto out;
	}
	for (made = 0; made < desc.n_ext; made++) {
		struct vmdk_desc_extent *x = &desc.ext[made];
		char *p = sibling_path(a->path, x->file);
		vstd_io *eio = NULL;
		if (p == NULL) {
			rc = vstd_err_code();
			goto out;
		}
		rc = vstd_io_file_open(&eio, p, VSTD_IO_WRITE | VSTD_IO_CREATE | VSTD_IO_TRUNC);
		vstd_free(p);
		if (rc < 0)
			goto out;
		if (flat)
			rc = vstd_io_truncate(eio, x->sectors * VMDK_SECTOR);
		else
			rc = vmdk_sparse_create(eio, x->sectors * VMDK_SECTOR, zeroed, NULL);
		if (rc == 0)
			rc = vstd_io_flush(eio);
		vstd_io_close(eio);
		if (rc < 0) {
			made++;
			goto out;
		}
	}
	rc = vstd_io_pwrite(io, text, strlen(text), 0);
out:
	if (rc < 0 && made > 0)
		remove_siblings(a->path, &desc, made);
	for (size_t i = 0; i < desc.n_ext; i++)
		vstd_free(desc.ext[i].file);
	vstd_free(desc.ext);
	vstd_free(text);
	vstd_free(base);
	return rc;
}

/* ------------------------------------------------------------ info, check, measure */

static int vmdk_info(vstd_disk *d, vstd_disk_info *info, struct json_object *specific)
{
	struct vmdk_state *s = d->priv;
	json_object *arr = json_object_new_array();
	if (arr == NULL)
		return vstd_err(VSTD_ENOMEM, "out of memory");
	json_object_object_add(specific, "cid", json_object_new_int64(s->desc.cid));
	json_object_object_add(specific, "parent-cid", json_object_new_int64(s->desc.parent_cid));
	json_object_object_add(specific, "create-type",
	                       json_object_new_string(s->desc.create_type ? s->desc.create_type
	                                                                  : "monolithicSparse"));
	for (size_t i = 0; i < s->n_ext; i++) {
		struct vmdk_extent *e = &s->ext[i];
		json_object *x = json_object_new_object();
		if (x == NULL)
			break;
		if (e->type == VMDK_EXT_SPARSE && e->compressed)
			json_object_object_add(x, "compressed", json_object_new_boolean(1));
		json_object_object_add(x, "virtual-size", json_object_new_int64((int64_t)e->vlen));
		json_object_object_add(x, "filename",
		                       json_object_new_string(e->path ? e->path : d->filename));
		if (e->type == VMDK_EXT_SPARSE || e->type == VMDK_EXT_SESPARSE)
			json_object_object_add(x, "cluster-size",
			                       json_object_new_int64((int64_t)e->grain));
		json_object_object_add(
		        x, "format",
		        json_object_new_string(e->type == VMDK_EXT_SPARSE && e->markers ? ""
		                               : e->type_name ? e->type_name
		                                              : ""));
		json_object_array_add(arr, x);
		if (info->cluster_size == 0 && e->grain != 0)
			info->cluster_size = e->grain;
		if (e->unclean)
			info->dirty = 1;
	}
	json_object_object_add(specific, "extents", arr);
	return 0;
}

static void report(vstd_disk_check_result *r, const char *fmt, ...) VSTD_PRINTF(2, 3);
static void report(vstd_disk_check_result *r, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	size_t old = r->report ? strlen(r->report) : 0, n;
	char *nr;
	if (old > 64 * 1024)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	nr = vstd_realloc(r->report, old + n + 2);
	if (nr == NULL)
		return;
	memcpy(nr + old, line, n);
	nr[old + n] = '\n';
	nr[old + n + 1] = '\0';
	r->report = nr;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int check_sparse(vstd_disk *d, struct vmdk_extent *e, vstd_disk_check_result *r)
{
	uint64_t size, n = 0, cap = 0;
	uint64_t *hosts = NULL;
	int rc;
	if ((rc = vstd_io_size(e->io, &size)) < 0)
		return rc;
	r->total_clusters += (e->capacity + e->grain - 1) / e->grain;
	for (uint64_t i = 0; i < e->n_gd; i++) {
		if (e->gd[i] == 0)
			continue;
		if (e->gt[i] == NULL && vmdk_sparse_load_gt(d, e, i) < 0) {
			r->corruptions++;
			report(r,
			       "ERROR: %s: grain table %" PRIu64 " at sector %u is unreadable: %s",
			       e->name, i, e->gd[i], vstd_error_last()->message);
			continue;
		}
		for (uint32_t j = 0; j < e->ngte; j++) {
			uint64_t g = e->gt[i][j], host = g * VMDK_SECTOR;
			if (g == 0 || (g == 1 && e->zeroed_grain))
				continue;
			r->allocated_clusters++;
			if (e->compressed)
				r->compressed_clusters++;
			if (host >= size || (!e->compressed && host + e->grain > size)) {
				r->corruptions++;
				report(r,
				       "ERROR: %s: grain %" PRIu64 " at offset 0x%" PRIx64
				       " is past the end of the file",
				       e->name, i * e->ngte + j, host);
				continue;
			}
			if (!e->compressed) {
				if (n == cap) {
					uint64_t *nh = vstd_realloc_array(
					        hosts, cap ? cap * 2 : 1024, sizeof(*nh));
					if (nh == NULL) {
						vstd_free(hosts);
						return vstd_err_code();
					}
					hosts = nh;
					cap = cap ? cap * 2 : 1024;
				}
				hosts[n++] = host;
			}
		}
	}
	if (n > 1) {
		qsort(hosts, (size_t)n, sizeof(*hosts), cmp_u64);
		for (uint64_t k = 1; k < n; k++) {
			if (hosts[k] < hosts[k - 1] + e->grain) {
				r->corruptions++;
				report(r,
				       "ERROR: %s: grains at offsets 0x%" PRIx64 " and 0x%" PRIx64
				       " overlap",
				       e->name, hosts[k - 1], hosts[k]);
			}
		}
	}
	vstd_free(hosts);
	if (size > r->image_end_offset)
		r->image_end_offset = size;
	return 0;
}

static int vmdk_check(vstd_disk *d, unsigned flags, vstd_disk_check_result *r)
{
	struct vmdk_state *s = d->priv;
	int rc;
	r->supported = 1;
	for (size_t i = 0; i < s->n_ext; i++) {
		struct vmdk_extent *e = &s->ext[i];
		if (e->type == VMDK_EXT_SPARSE && (rc = check_sparse(d, e, r)) < 0)
			return rc;
		if (e->unclean && (flags & VSTD_CHECK_REPAIR_LEAKS) &&
		    (d->flags & VSTD_DISK_RDWR) && vstd_le32(e->hdr) == VMDK4_MAGIC &&
		    r->corruptions == 0) {
			static const uint8_t zero;
			if ((rc = vstd_io_pwrite(e->io, &zero, 1, 72)) < 0)
				return rc;
			e->unclean = 0;
			report(r, "Repaired: %s: unclean-shutdown flag cleared (tables checked)",
			       e->name);
		} else if (e->unclean) {
			report(r, "Warning: %s: the unclean-shutdown flag is set", e->name);
		}
	}
	if (d->backing != NULL && d->backing->drv == &vstd_driver_vmdk) {
		struct vmdk_state *ps = d->backing->priv;
		if (ps->desc.cid != s->desc.parent_cid) {
			r->corruptions++;
			report(r, "ERROR: parentCID %08x does not match the parent's CID %08x",
			       s->desc.parent_cid, ps->desc.cid);
		}
	}
	return 0;
}

static int vmdk_measure(const struct vstd_disk_create_args *a, vstd_disk *src,
                        vstd_disk_measure_result *res)
{
	const uint64_t grain = 65536;
	size_t sub = 0;
	uint64_t size = vstd_align_up(a->size, VMDK_SECTOR), n_gd, meta, data = 0;
	int rc;
	if ((rc = vstd_kv_get_enum(a->options, "subformat", subformats, 0, &sub)) < 0)
		return rc;
	memset(res, 0, sizeof(*res));
	n_gd = (size / grain + 511) / 512 + 1;
	meta = vstd_align_up(
	        21 * VMDK_SECTOR + 2 * (vstd_align_up(n_gd * 4, VMDK_SECTOR) + n_gd * 2048), grain);
	if (sub == 1 || sub == 3) {
		res->required = res->fully_allocated = size + 4096;
		return 0;
	}
	if (src != NULL) {
		for (uint64_t off = 0; off < size && off < vstd_disk_size(src);) {
			vstd_block_status st;
			if ((rc = vstd_disk_map(src, off, size - off, &st)) < 0)
				return rc;
			if (st.length == 0)
				break;
			if (st.flags & VSTD_BLOCK_DATA) {
				uint64_t a0 = vstd_align_down(off, grain);
				uint64_t a1 = vstd_align_up(off + st.length, grain);
				data += a1 - a0;
			}
			off += st.length;
		}
		if (data > vstd_align_up(size, grain))
			data = vstd_align_up(size, grain);
	}
	res->required = meta + data;
	res->fully_allocated = meta + vstd_align_up(size, grain);
	return 0;
}

const struct vstd_disk_driver vstd_driver_vmdk = {
        .version = 1,
        .name = "vmdk",
        .description = "VMware virtual disk (VMDK): sparse, flat, split and streamOptimized",
        .create_options = vmdk_options,
        .n_create_options = sizeof(vmdk_options) / sizeof(vmdk_options[0]),
        .probe = vmdk_probe,
        .open = vmdk_open,
        .close = vmdk_close,
        .create = vmdk_create,
        .read = vmdk_read,
        .write = vmdk_write,
        .flush = vmdk_flush,
        .write_zeroes = vmdk_write_zeroes,
        .block_status = vmdk_block_status,
        .truncate = vmdk_truncate,
        .check = vmdk_check,
        .info = vmdk_info,
        .measure = vmdk_measure,
        .compress_unit = vmdk_compress_unit,
        .compress = vmdk_compress,
        .write_compressed = vmdk_write_compressed,
};
