/*
 * disk/vpc/driver.c - the VHD driver: probe, open, read, write, map,
 * resize and information.  Creation and measuring are in create.c, the
 * consistency check in check.c.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "core/uuid.h"
#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "disk/disk_internal.h"
#include "disk/vpc/vpc.h"

const struct vstd_disk_driver vstd_driver_vpc;

/* A fixed VHD is only a footer at the end of the disk's bytes. */
static int vpc_probe_tail(const uint8_t *tail, size_t tail_len, uint64_t file_size,
                          const char *name)
{
	(void)name;
	(void)file_size;
	if (tail_len == VPC_FOOTER_SIZE && vpc_footer_looks_valid(tail) &&
	    vstd_be32(tail + 60) == VPC_FIXED)
		return 90;
	return 0;
}

static int vpc_probe(const uint8_t *head, size_t head_len, uint64_t file_size, const char *name)
{
	(void)name;
	if (head_len >= VPC_FOOTER_SIZE && memcmp(head, "conectix", 8) == 0)
		return 100;
	/* a fixed VHD is recognised by its footer when the head reaches it */
	if (file_size >= VPC_FOOTER_SIZE && head_len == file_size &&
	    vpc_footer_looks_valid(head + head_len - VPC_FOOTER_SIZE))
		return 100;
	return 0;
}

int vpc_write_footers(vstd_disk *d, struct vpc_state *s)
{
	int rc;
	vpc_footer_write(&s->footer, s->footer_raw);
	if ((rc = vstd_io_pwrite(d->io, s->footer_raw, VPC_FOOTER_SIZE, s->footer_off)) < 0)
		return rc;
	if (s->footer.type != VPC_FIXED)
		rc = vstd_io_pwrite(d->io, s->footer_raw, VPC_FOOTER_SIZE, 0);
	return rc;
}

static void vpc_free(struct vpc_state *s)
{
	if (s == NULL)
		return;
	vstd_free(s->bat);
	vstd_free(s->bat_bad);
	vstd_free(s->bat_dirty_map);
	vstd_free(s->bitmap);
	vstd_free(s);
}

/*
 * The parent must be the image the child was made from: its footer UUID is
 * recorded in the child's header.  Checked here, before disk.c opens the
 * chain, so that a wrong or missing parent fails the open with its name.
 * The recorded timestamp is only compared with a warning: tools that touch
 * the parent (Hyper-V's own, qemu) update it without breaking the link.
 */
static int vpc_check_parent(vstd_disk *d, struct vpc_state *s, const char *name, const char *which)
{
	struct vpc_footer pf;
	uint8_t raw[VPC_FOOTER_SIZE];
	uint64_t foff, fsize;
	vstd_io *io = NULL;
	char *path;
	int rc;
	static const uint8_t nil[16];
	if ((d->flags & VSTD_DISK_NO_BACKING) || strcmp(vstd_io_kind(d->io), "file") != 0)
		return 0;
	path = vstd_disk_resolve_backing(d->filename, name);
	if (path == NULL)
		return vstd_err_code();
	rc = vstd_io_file_open(&io, path, VSTD_IO_READ);
	if (rc < 0) {
		vstd_err_prefix("%s: parent '%s' (from locator %s) of the differencing VHD: ",
		                d->filename, name, which);
		vstd_free(path);
		return rc;
	}
	rc = vpc_footer_load(io, path, &pf, raw, &foff, &fsize);
	vstd_io_close(io);
	if (rc < 0) {
		vstd_err_prefix("%s: parent '%s': ", d->filename, name);
		vstd_free(path);
		return rc;
	}
	if (memcmp(s->dyn.parent_uuid, nil, 16) != 0 &&
	    memcmp(s->dyn.parent_uuid, pf.uuid, 16) != 0) {
		rc = vstd_err(
		        VSTD_ECORRUPT,
		        "%s: parent '%s' is not this image's parent: its UUID differs from the "
		        "parent UUID in the dynamic header at offset 0x%" PRIx64,
		        d->filename, path, s->dyn_off + 40);
		vstd_free(path);
		return rc;
	}
	if (s->dyn.parent_timestamp != pf.timestamp)
		vstd_warn("vpc",
		          "%s: parent '%s' time stamp %" PRIu32
		          " differs from the recorded %" PRIu32
		          " (the parent may have been modified)",
		          d->filename, path, pf.timestamp, s->dyn.parent_timestamp);
	vstd_free(path);
	return 0;
}

static int vpc_open(vstd_disk *d)
{
	struct vpc_state *s = vstd_calloc(1, sizeof(*s));
	uint8_t raw[VPC_DYN_HEADER_SIZE];
	int rc, edited;
	if (s == NULL)
		return vstd_err_code();
	s->bitmap_block = UINT32_MAX;
	if ((rc = vpc_footer_load(d->io, d->filename, &s->footer, s->footer_raw, &s->footer_off,
	                          &s->file_size)) < 0)
		goto fail;
	edited = rc == 1;
	if (s->footer.type != VPC_FIXED && s->footer.type != VPC_DYNAMIC &&
	    s->footer.type != VPC_DIFF) {
		rc = vstd_err(VSTD_ECORRUPT,
		              "%s: VHD footer at offset 0x%" PRIx64 ": disk type %" PRIu32
		              " is not fixed (2), dynamic (3) or differencing (4)",
		              d->filename, s->footer_off, s->footer.type);
		goto fail;
	}
	d->size = vpc_virtual_size(&s->footer, &s->use_chs);
	if (d->size > (uint64_t)INT64_MAX) {
		rc = vstd_err(VSTD_ECORRUPT, "%s: VHD footer: disk size %" PRIu64 " is too large",
		              d->filename, d->size);
		goto fail;
	}
	if (s->footer.type == VPC_FIXED) {
		if (d->size > s->footer_off) {
			rc = vstd_err(VSTD_ECORRUPT,
			              "%s: fixed VHD footer at offset 0x%" PRIx64
			              " claims a disk of %" PRIu64
			              " bytes, more than the file holds",
			              d->filename, s->footer_off, d->size);
			goto fail;
		}
		d->priv = s;
		return 0;
	}
	if (s->footer_off == 0)
		vstd_warn("vpc",
		          "%s: the trailing VHD footer is missing or damaged; using the copy at "
		          "offset 0 (repair with check -r all)",
		          d->filename);
	s->dyn_off = s->footer.data_offset;
	if (s->dyn_off < VPC_FOOTER_SIZE ||
	    !vstd_range_inside(s->dyn_off, VPC_DYN_HEADER_SIZE, s->file_size)) {
		rc = vstd_err(VSTD_ECORRUPT,
		              "%s: VHD footer: dynamic header offset 0x%" PRIx64
		              " is outside the file of %" PRIu64 " bytes",
		              d->filename, s->dyn_off, s->file_size);
		goto fail;
	}
	if ((rc = vstd_io_pread(d->io, raw, VPC_DYN_HEADER_SIZE, s->dyn_off)) < 0 ||
	    (rc = vpc_dyn_parse(raw, &s->dyn, d->filename, s->dyn_off, edited)) < 0)
		goto fail;
	if (s->footer_off != 0) {
		uint8_t head[VPC_FOOTER_SIZE];
		if ((rc = vstd_io_pread(d->io, head, VPC_FOOTER_SIZE, 0)) < 0)
			goto fail;
		s->head_footer_differs = memcmp(head, s->footer_raw, VPC_FOOTER_SIZE) != 0;
	}
	if ((rc = vpc_bat_load(d, s)) < 0)
		goto fail;
	if (s->n_bad)
		vstd_warn("vpc",
		          "%s: %" PRIu64 " VHD BAT entries are invalid; reading those blocks "
		          "fails (see check)",
		          d->filename, s->n_bad);
	if (s->footer.type == VPC_DIFF) {
		char *name = NULL;
		const char *which = NULL;
		if ((rc = vpc_parent_name(d->io, d->filename, &s->dyn, s->file_size, &name,
		                          &which)) < 0)
			goto fail;
		if (name == NULL) {
			rc = vstd_err(VSTD_ECORRUPT,
			              "%s: differencing VHD names no parent (no locator at offset "
			              "0x%" PRIx64 " and no parent name)",
			              d->filename, s->dyn_off + 576);
			goto fail;
		}
		rc = vstd_disk_set_backing(d, name, "vpc");
		if (rc == 0)
			rc = vpc_check_parent(d, s, name, which);
		vstd_free(name);
		if (rc < 0)
			goto fail;
	}
	d->priv = s;
	return 0;
fail:
	vpc_free(s);
	return rc;
}

static void vpc_close(vstd_disk *d)
{
	struct vpc_state *s = d->priv;
	if (s != NULL && (d->flags & VSTD_DISK_RDWR) && s->bat_dirty) {
		if (vpc_bat_flush(d, s) < 0)
			vstd_warn("vpc", "%s: could not write the BAT on close: %s", d->filename,
			          vstd_error_last()->message);
	}
	vpc_free(s);
	d->priv = NULL;
}

static int bit_at(const uint8_t *bm, uint32_t i)
{
	return (bm[i / 8] >> (7 - (i & 7))) & 1;
}

static int below_or_zero(vstd_disk *d, struct vpc_state *s, uint64_t off, uint8_t *buf, size_t n)
{
	if (s->footer.type == VPC_DIFF)
		return vstd_disk_read_below(d, off, buf, n);
	memset(buf, 0, n);
	return 0;
}

static int vpc_read(vstd_disk *d, uint64_t off, void *vbuf, size_t len)
{
	struct vpc_state *s = d->priv;
	uint8_t *buf = vbuf;
	int rc;
	if (s->footer.type == VPC_FIXED)
		return vstd_io_pread(d->io, buf, len, off);
	while (len > 0) {
		uint32_t block = (uint32_t)(off / s->block_size);
		uint32_t inb = (uint32_t)(off % s->block_size);
		size_t n = s->block_size - inb < len ? s->block_size - inb : len;
		uint64_t data = (uint64_t)s->bat[block] * VPC_SECTOR + s->bitmap_size;
		const uint8_t *bm;
		if (s->bat[block] == VPC_BAT_UNUSED) {
			if ((rc = below_or_zero(d, s, off, buf, n)) < 0)
				return rc;
		} else if (s->bat_bad != NULL && s->bat_bad[block]) {
			return vpc_bad_entry_error(d, s, block);
		} else {
			uint32_t pos = inb, end = inb + (uint32_t)n;
			if ((rc = vpc_block_bitmap(d, s, block, &bm)) < 0)
				return rc;
			while (pos < end) {
				uint32_t sec = pos / VPC_SECTOR, run_end;
				int set = bit_at(bm, sec);
				while ((uint64_t)(sec + 1) * VPC_SECTOR < end &&
				       bit_at(bm, sec + 1) == set)
					sec++;
				run_end =
				        (sec + 1) * VPC_SECTOR < end ? (sec + 1) * VPC_SECTOR : end;
				if (set)
					rc = vstd_io_pread(d->io, buf + (pos - inb), run_end - pos,
					                   data + pos);
				else
					rc = below_or_zero(d, s, off - inb + pos, buf + (pos - inb),
					                   run_end - pos);
				if (rc < 0)
					return rc;
				pos = run_end;
			}
		}
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * A new block of a differencing image is written whole: the parent's data
 * around the write, and every bitmap bit set.  The spec would allow setting
 * only the written sectors (and we read such images, as Hyper-V writes
 * them), but libvhdi (20210425) reads clear sectors that follow set ones as
 * zeroes instead of the parent's data; whole blocks read the same
 * everywhere, at the cost of space.
 */
static int write_new_diff_block(vstd_disk *d, struct vpc_state *s, uint64_t off, const uint8_t *buf,
                                size_t n)
{
	uint32_t block = (uint32_t)(off / s->block_size);
	uint64_t base = (uint64_t)block * s->block_size;
	size_t have = d->size - base < s->block_size ? (size_t)(d->size - base) : s->block_size;
	uint8_t *tmp = vstd_calloc(1, s->block_size);
	int rc;
	if (tmp == NULL)
		return vstd_err_code();
	rc = vstd_disk_read_below(d, base, tmp, have);
	if (rc == 0) {
		memcpy(tmp + (off - base), buf, n);
		rc = vstd_io_pwrite(d->io, tmp, s->block_size,
		                    (uint64_t)s->bat[block] * VPC_SECTOR + s->bitmap_size);
	}
	vstd_free(tmp);
	if (rc < 0)
		return rc;
	return vpc_bitmap_set(d, s, block, 0, s->block_size / VPC_SECTOR);
}

/* Write sector-aligned data [off, off+n) inside one block. */
static int write_in_block(vstd_disk *d, struct vpc_state *s, uint64_t off, const uint8_t *buf,
                          size_t n)
{
	uint32_t block = (uint32_t)(off / s->block_size);
	uint32_t inb = (uint32_t)(off % s->block_size);
	int rc;
	if (s->bat[block] == VPC_BAT_UNUSED) {
		if ((rc = vpc_block_allocate(d, s, block)) < 0)
			return rc;
		if (s->footer.type == VPC_DIFF && n < s->block_size)
			return write_new_diff_block(d, s, off, buf, n);
	} else if (s->bat_bad != NULL && s->bat_bad[block]) {
		return vpc_bad_entry_error(d, s, block);
	}
	if ((rc = vstd_io_pwrite(d->io, buf, n,
	                         (uint64_t)s->bat[block] * VPC_SECTOR + s->bitmap_size + inb)) < 0)
		return rc;
	return vpc_bitmap_set(d, s, block, inb / VPC_SECTOR,
	                      (uint32_t)vstd_align_up(n, VPC_SECTOR) / VPC_SECTOR);
}

static int vpc_write(vstd_disk *d, uint64_t off, const void *vbuf, size_t len)
{
	struct vpc_state *s = d->priv;
	const uint8_t *buf = vbuf;
	uint8_t *tmp = NULL;
	int rc = 0;
	if (s->footer.type == VPC_FIXED)
		return vstd_io_pwrite(d->io, buf, len, off);
	while (len > 0 && rc == 0) {
		uint64_t block_base = off / s->block_size * s->block_size;
		uint64_t block_end = block_base + s->block_size;
		size_t n = block_end - off < len ? (size_t)(block_end - off) : len;
		uint64_t a0 = vstd_align_down(off, VPC_SECTOR),
		         a1 = vstd_align_up(off + n, VPC_SECTOR);
		if (a0 == off && a1 == off + n) {
			rc = write_in_block(d, s, off, buf, n);
		} else {
			/* partial sectors: merge with what the disk shows there now */
			size_t an = (size_t)(a1 - a0), have;
			tmp = vstd_malloc(an);
			if (tmp == NULL)
				return vstd_err_code();
			have = a1 <= d->size ? an : (size_t)(d->size - a0);
			memset(tmp, 0, an);
			rc = vpc_read(d, a0, tmp, have);
			if (rc == 0) {
				memcpy(tmp + (off - a0), buf, n);
				rc = write_in_block(d, s, a0, tmp, an);
			}
			vstd_free(tmp);
			tmp = NULL;
		}
		buf += n;
		off += n;
		len -= n;
	}
	return rc;
}

static int vpc_write_zeroes(vstd_disk *d, uint64_t off, uint64_t len, unsigned flags)
{
	struct vpc_state *s = d->priv;
	uint8_t *zero = NULL;
	int rc = 0;
	(void)flags;
	if (s->footer.type == VPC_FIXED)
		return vstd_io_write_zeroes(d->io, off, len, 0);
	while (len > 0 && rc == 0) {
		uint32_t block = (uint32_t)(off / s->block_size);
		uint64_t block_end = ((uint64_t)block + 1) * s->block_size;
		size_t n = block_end - off < len ? (size_t)(block_end - off) : (size_t)len;
		if (s->bat[block] != VPC_BAT_UNUSED || s->footer.type == VPC_DIFF) {
			if (zero == NULL && (zero = vstd_calloc(1, s->block_size)) == NULL)
				return vstd_err_code();
			rc = vpc_write(d, off, zero, n);
		}
		off += n;
		len -= n;
	}
	vstd_free(zero);
	return rc;
}

static int vpc_flush(vstd_disk *d)
{
	struct vpc_state *s = d->priv;
	int rc = vpc_bat_flush(d, s);
	return rc < 0 ? rc : vstd_io_flush(d->io);
}

static int vpc_block_status(vstd_disk *d, uint64_t off, uint64_t max_len, vstd_block_status *st)
{
	struct vpc_state *s = d->priv;
	uint32_t block;
	int rc;
	if (s->footer.type == VPC_FIXED) {
		uint64_t len = 0;
		int is_data = 1;
		if ((rc = vstd_io_extent(d->io, off, max_len, &len, &is_data)) < 0)
			return rc;
		if (len == 0 || len > max_len)
			len = max_len;
		st->length = len;
		st->flags = VSTD_BLOCK_ALLOCATED | VSTD_BLOCK_OFFSET_VALID |
		            (is_data ? VSTD_BLOCK_DATA : VSTD_BLOCK_ZERO);
		st->host_offset = off;
		return 0;
	}
	block = (uint32_t)(off / s->block_size);
	if (s->bat[block] == VPC_BAT_UNUSED) {
		uint64_t len = 0;
		uint32_t b = block;
		while (len < max_len && b < s->n_entries && s->bat[b] == VPC_BAT_UNUSED) {
			len = ((uint64_t)b + 1) * s->block_size - off;
			b++;
		}
		st->length = len < max_len ? len : max_len;
		st->flags = 0;
		return 0;
	}
	if (s->bat_bad != NULL && s->bat_bad[block])
		return vpc_bad_entry_error(d, s, block);
	{
		const uint8_t *bm;
		uint32_t inb = (uint32_t)(off % s->block_size), sec = inb / VPC_SECTOR;
		uint64_t end;
		int set;
		if ((rc = vpc_block_bitmap(d, s, block, &bm)) < 0)
			return rc;
		set = bit_at(bm, sec);
		while ((uint64_t)(sec + 1) * VPC_SECTOR < s->block_size &&
		       bit_at(bm, sec + 1) == set)
			sec++;
		end = (uint64_t)(sec + 1) * VPC_SECTOR - inb;
		st->length = end < max_len ? end : max_len;
		if (set) {
			st->flags =
			        VSTD_BLOCK_DATA | VSTD_BLOCK_ALLOCATED | VSTD_BLOCK_OFFSET_VALID;
			st->host_offset =
			        (uint64_t)s->bat[block] * VPC_SECTOR + s->bitmap_size + inb;
		} else {
			st->flags = 0;
		}
	}
	return 0;
}

/* The CHS geometry for a new size, and whether the image's size rule lets
 * it be exactly `size`. */
static int vpc_set_size(vstd_disk *d, struct vpc_state *s, uint64_t size)
{
	struct vpc_footer f = s->footer;
	int use_chs;
	if (size % VPC_SECTOR)
		return vstd_err(VSTD_EINVAL, "%s: a VHD's size must be a multiple of 512 bytes",
		                d->filename);
	if (size > VPC_MAX_SIZE)
		return vstd_err(VSTD_EINVAL, "%s: a VHD can hold at most 2040 GiB", d->filename);
	vpc_chs_for_size(size, &f.cylinders, &f.heads, &f.spt);
	f.current_size = size;
	f.original_size = size; /* libvhdi reports this one as the media size */
	if (vpc_virtual_size(&f, &use_chs) != size) {
		uint64_t up = size;
		uint16_t c;
		uint8_t h, sp;
		do {
			up += VPC_SECTOR;
			vpc_chs_for_size(up, &c, &h, &sp);
		} while ((uint64_t)c * h * sp * VPC_SECTOR < size);
		return vstd_err(VSTD_EINVAL,
		                "%s: this VHD (creator '%s') is sized by its CHS geometry, which "
		                "cannot describe %" PRIu64
		                " bytes; the next size it can is %" PRIu64,
		                d->filename, s->footer.creator_app, size,
		                (uint64_t)c * h * sp * VPC_SECTOR);
	}
	s->footer = f;
	return 0;
}

/* Move the BAT to the end of the file with room for n entries. */
static int vpc_grow_bat(vstd_disk *d, struct vpc_state *s, uint32_t n)
{
	uint64_t new_off = s->footer_off, bytes = vstd_align_up((uint64_t)n * 4, VPC_SECTOR);
	uint8_t *raw, hdr[VPC_DYN_HEADER_SIZE];
	uint32_t *bat;
	int rc;
	if (n > VPC_MAX_BAT_ENTRIES)
		return vstd_err(VSTD_ELIMIT, "%s: %" PRIu32 " BAT entries is too many", d->filename,
		                n);
	if ((rc = vpc_bat_flush(d, s)) < 0)
		return rc;
	raw = vstd_malloc((size_t)bytes);
	bat = vstd_realloc_array(s->bat, n, sizeof(uint32_t));
	if (raw == NULL || bat == NULL) {
		vstd_free(raw);
		return vstd_err_code();
	}
	s->bat = bat;
	if (s->bat_bad != NULL) {
		uint8_t *bad = vstd_realloc(s->bat_bad, n);
		if (bad == NULL) {
			vstd_free(raw);
			return vstd_err_code();
		}
		memset(bad + s->n_entries, 0, n - s->n_entries);
		s->bat_bad = bad;
	}
	vstd_free(s->bat_dirty_map);
	s->bat_dirty_map = NULL;
	memset(raw, 0xff, (size_t)bytes);
	for (uint32_t i = 0; i < n; i++) {
		if (i >= s->n_entries)
			s->bat[i] = VPC_BAT_UNUSED;
		vstd_put_be32(raw + 4 * (size_t)i, s->bat[i]);
	}
	/* new BAT and footer past everything, then the header points to it */
	rc = vstd_io_pwrite(d->io, raw, (size_t)bytes, new_off);
	vstd_free(raw);
	if (rc < 0 ||
	    (rc = vstd_io_pwrite(d->io, s->footer_raw, VPC_FOOTER_SIZE, new_off + bytes)) < 0 ||
	    (rc = vstd_io_flush(d->io)) < 0)
		return rc;
	s->dyn.table_offset = new_off;
	s->dyn.max_entries = n;
	s->n_entries = n;
	s->footer_off = new_off + bytes;
	s->used_end = s->footer_off;
	s->file_size = s->footer_off + VPC_FOOTER_SIZE;
	vpc_dyn_write(&s->dyn, hdr);
	if ((rc = vstd_io_pwrite(d->io, hdr, VPC_DYN_HEADER_SIZE, s->dyn_off)) < 0)
		return rc;
	return vstd_io_flush(d->io);
}

static int vpc_truncate(vstd_disk *d, uint64_t size, enum vstd_prealloc prealloc)
{
	struct vpc_state *s = d->priv;
	struct vpc_footer old = s->footer;
	int rc;
	if (prealloc != VSTD_PREALLOC_OFF)
		return vstd_err(VSTD_ENOTSUP, "%s: VHD resize supports only preallocation=off",
		                d->filename);
	if ((rc = vpc_set_size(d, s, size)) < 0)
		return rc;
	if (s->footer.type == VPC_FIXED) {
		uint64_t old_off = s->footer_off;
		uint8_t zero[VPC_FOOTER_SIZE];
		s->footer_off = size;
		vpc_footer_write(&s->footer, s->footer_raw);
		if ((rc = vstd_io_pwrite(d->io, s->footer_raw, VPC_FOOTER_SIZE, size)) < 0)
			goto fail;
		if (size > old_off) {
			memset(zero, 0, sizeof(zero));
			if ((rc = vstd_io_pwrite(d->io, zero, VPC_FOOTER_SIZE, old_off)) < 0)
				goto fail;
		}
		if ((rc = vstd_io_truncate(d->io, size + VPC_FOOTER_SIZE)) < 0)
			goto fail;
		s->file_size = size + VPC_FOOTER_SIZE;
		return 0;
	}
	if ((uint64_t)s->n_entries * s->block_size < size &&
	    (rc = vpc_grow_bat(d, s, (uint32_t)((size + s->block_size - 1) / s->block_size))) < 0)
		goto fail;
	if ((rc = vpc_write_footers(d, s)) < 0)
		goto fail;
	return vstd_io_flush(d->io);
fail:
	s->footer = old;
	vpc_footer_write(&s->footer, s->footer_raw);
	return rc;
}

static const char *vpc_type_name(uint32_t t)
{
	return t == VPC_FIXED ? "fixed" : t == VPC_DYNAMIC ? "dynamic" : "differencing";
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void add_int(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static int vpc_info(vstd_disk *d, vstd_disk_info *info, struct json_object *js)
{
	struct vpc_state *s = d->priv;
	char uuid[37], app[5], os[5];
	if (s->footer.type != VPC_FIXED)
		info->cluster_size = s->block_size;
	memcpy(app, s->footer.creator_app, 5);
	for (int i = 0; i < 4; i++) {
		if ((unsigned char)app[i] < 0x20 || (unsigned char)app[i] > 0x7e)
			app[i] = '?';
		os[i] = (char)(s->footer.creator_os >> (24 - 8 * i));
		if ((unsigned char)os[i] < 0x20 || (unsigned char)os[i] > 0x7e)
			os[i] = '?';
	}
	os[4] = '\0';
	add_str(js, "subformat", vpc_type_name(s->footer.type));
	add_str(js, "creator-app", app);
	{
		char v[16];
		snprintf(v, sizeof(v), "%u.%u", s->footer.creator_version >> 16,
		         s->footer.creator_version & 0xffff);
		add_str(js, "creator-version", v);
	}
	add_str(js, "creator-os", os);
	vstd_uuid_text(s->footer.uuid, uuid);
	add_str(js, "uuid", uuid);
	add_int(js, "current-size", (int64_t)s->footer.current_size);
	add_int(js, "original-size", (int64_t)s->footer.original_size);
	add_int(js, "cylinders", s->footer.cylinders);
	add_int(js, "heads", s->footer.heads);
	add_int(js, "sectors-per-track", s->footer.spt);
	add_str(js, "size-from", s->use_chs ? "chs" : "current-size");
	add_int(js, "timestamp", (int64_t)s->footer.timestamp + VPC_EPOCH_OFFSET);
	if (s->footer.type != VPC_FIXED) {
		add_int(js, "block-size", s->block_size);
		add_int(js, "max-table-entries", s->n_entries);
	}
	if (s->footer.type == VPC_DIFF) {
		vstd_uuid_text(s->dyn.parent_uuid, uuid);
		add_str(js, "parent-uuid", uuid);
		add_int(js, "parent-timestamp",
		        (int64_t)s->dyn.parent_timestamp + VPC_EPOCH_OFFSET);
	}
	return 0;
}

const struct vstd_disk_driver vstd_driver_vpc = {
        .version = 1,
        .name = "vpc",
        .description = "VHD (Virtual PC, Hyper-V, Azure): fixed, dynamic and differencing",
        .create_options = vpc_create_options,
        .n_create_options = 3,
        .probe = vpc_probe,
        .probe_tail = vpc_probe_tail,
        .open = vpc_open,
        .close = vpc_close,
        .create = vpc_create,
        .read = vpc_read,
        .write = vpc_write,
        .flush = vpc_flush,
        .write_zeroes = vpc_write_zeroes,
        .block_status = vpc_block_status,
        .truncate = vpc_truncate,
        .check = vpc_check,
        .info = vpc_info,
        .measure = vpc_measure,
        .set_backing = vpc_set_backing,
        .make_empty = vpc_make_empty,
};
