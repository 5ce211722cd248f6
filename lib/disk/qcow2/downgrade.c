/*
 * disk/qcow2/downgrade.c - amend compat=0.10: rewrite a version 3 image as
 * version 2, as qemu-img amend does.
 *
 * Refused, naming the reason, when something in use has no version 2 form:
 * extended L2 entries, an external data file, refcount widths other than
 * 16 bits, persistent bitmaps, LUKS encryption, zstd-compressed clusters.
 * Otherwise: the image is made clean first (refcounts complete on disk, the
 * dirty bit of lazy refcounts cleared), zero clusters are expanded (version
 * 2 has no zero flag) in the active tables and in every snapshot's, then
 * the header is rewritten in its 72-byte form with the feature words gone.
 *
 * Expansion of one zero entry:
 *   - with a host cluster (preallocated zero): the cluster is filled with
 *     zeroes, then the flag is dropped;
 *   - without one and with no backing file: the entry becomes unallocated,
 *     which reads as zeroes too;
 *   - without one over a backing file: a new cluster is allocated and
 *     zero-filled, counted once per L1 table that reaches the L2 table.
 * Zeroes reach the file before the entries change and the entries before
 * the header, so a crash leaves a version 3 image that reads the same.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "disk/qcow2/qcow2.h"

static int has_compressed(struct qcow2 *s, const uint64_t *l1, uint32_t l1_size, int *yes)
{
	int rc;
	for (uint32_t k = 0; k < l1_size && !*yes; k++) {
		uint64_t l2_off = l1[k] & QCOW2_L1E_OFFSET_MASK;
		uint8_t *l2;
		if (l2_off == 0)
			continue;
		if ((rc = qcow2_cache_get(s, &s->l2c, l2_off, 0, &l2)) < 0)
			return rc;
		for (uint64_t i = 0; i < s->l2_entries; i++)
			if (qcow2_l2e_get(s, l2, i) & QCOW2_OFLAG_COMPRESSED) {
				*yes = 1;
				break;
			}
	}
	return 0;
}

/* Expand the zero entries of the tree under one L1 table. */
static int expand_tree(struct qcow2 *s, const uint64_t *l1, uint32_t l1_size, int backing)
{
	int rc;
	for (uint32_t k = 0; k < l1_size; k++) {
		uint64_t l2_off = l1[k] & QCOW2_L1E_OFFSET_MASK, l2rc;
		uint8_t *l2;
		if (l2_off == 0)
			continue;
		if (l2_off & (s->cluster_size - 1))
			return vstd_err(VSTD_ECORRUPT,
			                "%s: L1 entry %u: unaligned L2 offset 0x%" PRIx64, s->name,
			                k, l2_off);
		if ((rc = qcow2_refcount_get(s, l2_off >> s->cluster_bits, &l2rc)) < 0)
			return rc;
		if (l2rc == 0)
			return vstd_err(VSTD_ECORRUPT,
			                "%s: L2 table at 0x%" PRIx64 " has refcount 0; repair the "
			                "image (check -r all) first",
			                s->name, l2_off);
		for (uint64_t i = 0; i < s->l2_entries; i++) {
			uint64_t e, host, ne;
			if ((rc = qcow2_cache_get(s, &s->l2c, l2_off, 0, &l2)) < 0)
				return rc;
			e = qcow2_l2e_get(s, l2, i);
			if ((e & QCOW2_OFLAG_COMPRESSED) || !(e & QCOW2_OFLAG_ZERO))
				continue;
			host = e & QCOW2_L2E_OFFSET_MASK;
			if (host & (s->cluster_size - 1))
				return vstd_err(VSTD_ECORRUPT,
				                "%s: L2 table at 0x%" PRIx64 " entry %" PRIu64
				                ": unaligned cluster offset 0x%" PRIx64,
				                s->name, l2_off, i, host);
			if (host != 0) {
				ne = e & ~QCOW2_OFLAG_ZERO;
				if ((rc = vstd_io_write_zeroes(s->io, host, s->cluster_size, 0)) <
				    0)
					return rc;
			} else if (!backing) {
				ne = 0;
			} else {
				if ((rc = qcow2_alloc_clusters(s, 1, &host)) < 0 ||
				    (l2rc > 1 && (rc = qcow2_refcount_update(
				                          s, host, 1, (int64_t)l2rc - 1)) < 0) ||
				    (rc = vstd_io_write_zeroes(s->io, host, s->cluster_size, 0)) <
				            0)
					return rc;
				ne = host | (l2rc == 1 ? QCOW2_OFLAG_COPIED : 0);
			}
			/* the allocation may have evicted the table: fetch it again */
			if ((rc = qcow2_cache_get(s, &s->l2c, l2_off, 0, &l2)) < 0)
				return rc;
			qcow2_l2e_set(s, l2, i, ne, 0);
			qcow2_cache_mark_dirty(&s->l2c, l2_off);
			s->meta_dirty = 1;
		}
	}
	return 0;
}

int qcow2_downgrade_check(struct qcow2 *s, uint32_t refcount_bits)
{
	uint64_t fsize;
	int rc, comp = 0;
	/* what version 2 cannot express */
	if (s->ext_l2)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: cannot downgrade to compat=0.10: the image uses extended L2 "
		                "entries (incompatible feature bit 4)",
		                s->name);
	if (s->incompat & QCOW2_INCOMPAT_DATA_FILE)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: cannot downgrade to compat=0.10: the image uses an external "
		                "data file (incompatible feature bit 2)",
		                s->name);
	if (refcount_bits != 16)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: cannot downgrade to compat=0.10: it requires refcount_bits=16 "
		                "(the image has %u)",
		                s->name, refcount_bits);
	if (s->has_bitmaps_ext && s->bm_count > 0)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: cannot downgrade to compat=0.10: the image has %" PRIu64
		                " persistent bitmap(s), which version 2 cannot keep",
		                s->name, s->bm_count);
	if (s->crypt_method == 2)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: cannot downgrade to compat=0.10: LUKS encryption needs "
		                "version 3",
		                s->name);
	if (s->incompat & QCOW2_INCOMPAT_CORRUPT)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: cannot downgrade to compat=0.10: the image is marked corrupt",
		                s->name);
	if (s->incompat & ~(uint64_t)(QCOW2_INCOMPAT_COMPRESSION | QCOW2_INCOMPAT_DIRTY))
		return vstd_err(VSTD_ENOTSUP,
		                "%s: cannot downgrade to compat=0.10: incompatible features "
		                "0x%" PRIx64 " are set",
		                s->name, s->incompat);
	if (s->compression_type != QCOW2_COMPRESS_ZLIB) {
		if ((rc = has_compressed(s, s->l1, s->l1_size, &comp)) < 0 ||
		    (rc = vstd_io_size(s->io, &fsize)) < 0)
			return rc;
		for (uint32_t i = 0; i < s->nb_snapshots && !comp; i++) {
			uint64_t *l1 = NULL;
			if ((rc = qcow2_l1_load(s, s->snaps[i].l1_off, s->snaps[i].l1_size, fsize,
			                        &l1, "snapshot L1 table")) < 0)
				return rc;
			rc = has_compressed(s, l1, s->snaps[i].l1_size, &comp);
			vstd_free(l1);
			if (rc < 0)
				return rc;
		}
		if (comp)
			return vstd_err(VSTD_ENOTSUP,
			                "%s: cannot downgrade to compat=0.10: the image has "
			                "zstd-compressed clusters (version 2 only knows zlib)",
			                s->name);
	}
	return 0;
}

int qcow2_downgrade(struct qcow2 *s, vstd_disk *d)
{
	uint64_t fsize;
	int rc, backing = d->backing_name != NULL;
	if (s->version == 2)
		return 0;
	if ((rc = qcow2_downgrade_check(s, s->refcount_bits)) < 0 || (rc = qcow2_mark_clean(s)) < 0)
		return rc;
	/* zero clusters, active and in every snapshot (a table shared by
	 * several is expanded at its first visit; later visits find nothing) */
	if ((rc = expand_tree(s, s->l1, s->l1_size, backing)) < 0 ||
	    (rc = vstd_io_size(s->io, &fsize)) < 0)
		return rc;
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		uint64_t *l1 = NULL;
		if ((rc = qcow2_l1_load(s, s->snaps[i].l1_off, s->snaps[i].l1_size, fsize, &l1,
		                        "snapshot L1 table")) < 0)
			return rc;
		rc = expand_tree(s, l1, s->snaps[i].l1_size, backing);
		vstd_free(l1);
		if (rc < 0)
			return rc;
	}
	/* zeroes and refcounts, then entries, durable before the header */
	if ((rc = vstd_io_flush(s->io)) < 0 || (rc = qcow2_flush_metadata(s)) < 0 ||
	    (rc = qcow2_mark_clean(s)) < 0)
		return rc;
	s->version = 2;
	s->header_length = 72;
	s->incompat = 0;
	s->compat = 0;
	s->autoclear = 0;
	s->compression_type = QCOW2_COMPRESS_ZLIB;
	s->lazy = 0;
	if ((rc = qcow2_header_write(s, d->backing_name)) < 0)
		return rc;
	return vstd_io_flush(s->io);
}
