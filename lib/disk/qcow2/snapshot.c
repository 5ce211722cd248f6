/*
 * disk/qcow2/snapshot.c - internal snapshots: the snapshot table, create,
 * apply, delete, and read-only views of a snapshot.
 *
 * A snapshot is a copy of the L1 table; the L2 tables and data clusters
 * are shared, each reference counted once per L1 table that reaches it,
 * and shared ones lose the COPIED flag, so the next write to them copies.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/qcow2/qcow2.h"

#define MAX_EXTRA 1024

void qcow2_snapshots_free(struct qcow2 *s)
{
	for (uint32_t i = 0; s->snaps != NULL && i < s->nb_snapshots; i++) {
		vstd_free(s->snaps[i].id);
		vstd_free(s->snaps[i].name);
		vstd_free(s->snaps[i].extra);
	}
	vstd_free(s->snaps);
	s->snaps = NULL;
}

int qcow2_snapshots_read(struct qcow2 *s, uint64_t file_size)
{
	uint64_t off = s->snapshots_off, total = 0;
	uint8_t h[40];
	int rc;
	if (s->nb_snapshots == 0)
		return 0;
	if (s->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
		return vstd_err(VSTD_ELIMIT, "%s: header at offset 0x3c: %u snapshots (limit %u)",
		                s->name, s->nb_snapshots, QCOW2_MAX_SNAPSHOTS);
	if (off == 0 || (off & (s->cluster_size - 1)) || off >= file_size)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: snapshot table at offset 0x%" PRIx64
		                " is unaligned or past the "
		                "end of the file",
		                s->name, off);
	s->snaps = vstd_calloc(s->nb_snapshots, sizeof(*s->snaps));
	if (s->snaps == NULL)
		return vstd_err_code();
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		struct qcow2_snapshot *sn = &s->snaps[i];
		uint32_t extra, idl, namel;
		uint64_t len;
		uint8_t *buf;
		if ((rc = vstd_io_pread(s->io, h, 40, off)) < 0)
			return vstd_err_prefix("%s: snapshot table entry %u: ", s->name, i);
		sn->l1_off = vstd_be64(h);
		sn->l1_size = vstd_be32(h + 8);
		idl = vstd_be16(h + 12);
		namel = vstd_be16(h + 14);
		sn->date_sec = vstd_be32(h + 16);
		sn->date_nsec = vstd_be32(h + 20);
		sn->vm_clock_nsec = vstd_be64(h + 24);
		sn->vm_state_size = vstd_be32(h + 32);
		extra = vstd_be32(h + 36);
		sn->icount = UINT64_MAX;
		sn->disk_size = s->size;
		if (extra > MAX_EXTRA)
			return vstd_err(VSTD_ECORRUPT,
			                "%s: snapshot table entry %u at 0x%" PRIx64
			                " has %u bytes of extra data (limit %u)",
			                s->name, i, off, extra, MAX_EXTRA);
		len = 40 + (uint64_t)extra + idl + namel;
		total += vstd_align_up(len, 8);
		if (total > QCOW2_MAX_SNAPSHOT_TABLE || !vstd_range_inside(off, len, file_size))
			return vstd_err(VSTD_ECORRUPT,
			                "%s: snapshot table entry %u at 0x%" PRIx64
			                " passes the end of the file or the table size limit",
			                s->name, i, off);
		if ((uint64_t)sn->l1_size * 8 > QCOW2_MAX_L1_BYTES ||
		    (sn->l1_size > 0 &&
		     ((sn->l1_off & (s->cluster_size - 1)) ||
		      !vstd_range_inside(sn->l1_off, (uint64_t)sn->l1_size * 8, file_size))))
			return vstd_err(
			        VSTD_ECORRUPT,
			        "%s: snapshot %u: L1 table at 0x%" PRIx64
			        " (%u entries) is unaligned, too large or past the end of the file",
			        s->name, i, sn->l1_off, sn->l1_size);
		buf = vstd_malloc(len - 40 + 1);
		if (buf == NULL)
			return vstd_err_code();
		if ((rc = vstd_io_pread(s->io, buf, len - 40, off + 40)) < 0) {
			vstd_free(buf);
			return rc;
		}
		sn->extra_size = extra;
		sn->extra = vstd_malloc(extra + 1);
		sn->id = vstd_strndup((const char *)buf + extra, idl);
		sn->name = vstd_strndup((const char *)buf + extra + idl, namel);
		if (sn->extra == NULL || sn->id == NULL || sn->name == NULL) {
			vstd_free(buf);
			return vstd_err_code();
		}
		memcpy(sn->extra, buf, extra);
		if (extra >= 8)
			sn->vm_state_size = vstd_be64(buf);
		if (extra >= 16)
			sn->disk_size = vstd_be64(buf + 8);
		if (extra >= 24)
			sn->icount = vstd_be64(buf + 16);
		vstd_free(buf);
		off += vstd_align_up(len, 8);
	}
	return 0;
}

static int find(struct qcow2 *s, const char *name)
{
	for (uint32_t i = 0; i < s->nb_snapshots; i++)
		if (strcmp(s->snaps[i].id, name) == 0)
			return (int)i;
	for (uint32_t i = 0; i < s->nb_snapshots; i++)
		if (strcmp(s->snaps[i].name, name) == 0)
			return (int)i;
	return vstd_err(VSTD_ENOENT, "%s: no snapshot '%s'", s->name, name);
}

int qcow2_snapshot_list(vstd_disk *d, vstd_disk_snapshot **list, size_t *count)
{
	struct qcow2 *s = qcow2_of(d);
	vstd_disk_snapshot *l;
	if (s->parent != NULL)
		s = s->parent;
	*list = NULL;
	*count = 0;
	if (s->nb_snapshots == 0)
		return 0;
	l = vstd_calloc(s->nb_snapshots, sizeof(*l));
	if (l == NULL)
		return vstd_err_code();
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		struct qcow2_snapshot *sn = &s->snaps[i];
		l[i].id = vstd_strdup(sn->id);
		l[i].name = vstd_strdup(sn->name);
		if (l[i].id == NULL || l[i].name == NULL) {
			vstd_disk_snapshot_list_free(l, s->nb_snapshots);
			return vstd_err_code();
		}
		l[i].vm_state_size = sn->vm_state_size;
		l[i].date_sec = sn->date_sec;
		l[i].date_nsec = sn->date_nsec;
		l[i].vm_clock_nsec = sn->vm_clock_nsec;
		l[i].disk_size = sn->disk_size;
		l[i].icount = sn->icount;
	}
	*list = l;
	*count = s->nb_snapshots;
	return 0;
}

int qcow2_update_tree(struct qcow2 *s, const uint64_t *l1, uint32_t l1_size, int64_t addend,
                      int fix_copied)
{
	int rc;
	for (uint32_t k = 0; k < l1_size; k++) {
		uint64_t l2_off = l1[k] & QCOW2_L1E_OFFSET_MASK, l2rc;
		uint8_t *l2;
		int l2_changed = 0;
		if (l2_off == 0)
			continue;
		if (l2_off & (s->cluster_size - 1))
			return vstd_err(VSTD_ECORRUPT,
			                "%s: L1 entry %u: unaligned L2 offset 0x%" PRIx64, s->name,
			                k, l2_off);
		if (addend != 0 &&
		    (rc = qcow2_refcount_get(s, l2_off >> s->cluster_bits, &l2rc)) < 0)
			return rc;
		for (uint64_t i = 0; i < s->l2_entries; i++) {
			uint64_t e, host, n = 1, r;
			if ((rc = qcow2_cache_get(s, &s->l2c, l2_off, 0, &l2)) < 0)
				return rc;
			e = qcow2_l2e_get(s, l2, i);
			if (e & QCOW2_OFLAG_COMPRESSED) {
				uint64_t co, cl;
				qcow2_compressed_loc(s, e, &co, &cl);
				co &= ~(uint64_t)511;
				host = co & ~(s->cluster_size - 1);
				n = ((co + ((e >> s->csize_shift & s->csize_mask) + 1) * 512 - 1) >>
				     s->cluster_bits) -
				    (co >> s->cluster_bits) + 1;
				(void)cl;
			} else {
				host = e & QCOW2_L2E_OFFSET_MASK;
			}
			if (host == 0 || s->data_io != s->io)
				continue;
			if (addend != 0 && (rc = qcow2_refcount_update(s, host, n, addend)) < 0)
				return rc;
			if (fix_copied && !(e & QCOW2_OFLAG_COMPRESSED)) {
				uint64_t ne;
				if ((rc = qcow2_refcount_get(s, host >> s->cluster_bits, &r)) < 0)
					return rc;
				ne = r == 1 ? e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED;
				if (ne != e) {
					if ((rc = qcow2_cache_get(s, &s->l2c, l2_off, 0, &l2)) < 0)
						return rc;
					qcow2_l2e_set(s, l2, i, ne, qcow2_l2e_bitmap(s, l2, i));
					l2_changed = 1;
				}
			}
		}
		if (l2_changed) {
			qcow2_cache_mark_dirty(&s->l2c, l2_off);
			s->meta_dirty = 1;
		}
		if (addend != 0 && (rc = qcow2_refcount_update(s, l2_off, 1, addend)) < 0)
			return rc;
		if (fix_copied) {
			uint64_t r, ne;
			if ((rc = qcow2_refcount_get(s, l2_off >> s->cluster_bits, &r)) < 0)
				return rc;
			ne = r == 1 ? l1[k] | QCOW2_OFLAG_COPIED : l1[k] & ~QCOW2_OFLAG_COPIED;
			if (ne != l1[k])
				qcow2_l1_set(s, k, ne);
		}
		(void)l2rc;
	}
	return 0;
}

/* Write the snapshot table from s->snaps (n entries) to new clusters and
 * point the header at it; free the old table. */
static int write_table(struct qcow2 *s, struct qcow2_snapshot *snaps, uint32_t n)
{
	uint64_t total = 0, pos = 0, off = 0, old_off = s->snapshots_off, old_len = 0;
	uint8_t *buf, hdr[12];
	int rc;
	for (uint32_t i = 0; i < s->nb_snapshots; i++)
		old_len += vstd_align_up(40 + s->snaps[i].extra_size + strlen(s->snaps[i].id) +
		                                 strlen(s->snaps[i].name),
		                         8);
	for (uint32_t i = 0; i < n; i++)
		total += vstd_align_up(
		        40 + snaps[i].extra_size + strlen(snaps[i].id) + strlen(snaps[i].name), 8);
	if (total > QCOW2_MAX_SNAPSHOT_TABLE)
		return vstd_err(VSTD_ELIMIT, "%s: the snapshot table would pass 64 MiB", s->name);
	buf = vstd_calloc(1, total ? total : 1);
	if (buf == NULL)
		return vstd_err_code();
	for (uint32_t i = 0; i < n; i++) {
		struct qcow2_snapshot *sn = &snaps[i];
		size_t idl = strlen(sn->id), nl = strlen(sn->name);
		uint8_t *p = buf + pos;
		vstd_put_be64(p, sn->l1_off);
		vstd_put_be32(p + 8, sn->l1_size);
		vstd_put_be16(p + 12, (uint16_t)idl);
		vstd_put_be16(p + 14, (uint16_t)nl);
		vstd_put_be32(p + 16, sn->date_sec);
		vstd_put_be32(p + 20, sn->date_nsec);
		vstd_put_be64(p + 24, sn->vm_clock_nsec);
		vstd_put_be32(p + 32,
		              sn->vm_state_size > UINT32_MAX ? 0 : (uint32_t)sn->vm_state_size);
		vstd_put_be32(p + 36, sn->extra_size);
		memcpy(p + 40, sn->extra, sn->extra_size);
		if (sn->extra_size >= 8)
			vstd_put_be64(p + 40, sn->vm_state_size);
		if (sn->extra_size >= 16)
			vstd_put_be64(p + 48, sn->disk_size);
		if (sn->extra_size >= 24)
			vstd_put_be64(p + 56, sn->icount);
		memcpy(p + 40 + sn->extra_size, sn->id, idl);
		memcpy(p + 40 + sn->extra_size + idl, sn->name, nl);
		pos += vstd_align_up(40 + sn->extra_size + idl + nl, 8);
	}
	if (total > 0 &&
	    ((rc = qcow2_alloc_clusters(s, qcow2_size_to_clusters(s, total), &off)) < 0 ||
	     (rc = vstd_io_pwrite(s->io, buf, total, off)) < 0))
		goto out;
	if ((rc = qcow2_flush_metadata(s)) < 0 || (rc = vstd_io_flush(s->io)) < 0)
		goto out;
	vstd_put_be32(hdr, n);
	vstd_put_be64(hdr + 4, off);
	if ((rc = vstd_io_pwrite(s->io, hdr, 12, 60)) < 0 || (rc = vstd_io_flush(s->io)) < 0)
		goto out;
	s->snapshots_off = off;
	if (old_len > 0 && old_off != 0)
		rc = qcow2_refcount_update(s, old_off, qcow2_size_to_clusters(s, old_len), -1);
out:
	vstd_free(buf);
	return rc;
}

/*
 * Snapshot operations cannot keep every intermediate state consistent: a
 * cluster's refcount and the COPIED flag of the entry pointing to it live
 * in different sectors, and they must change together when a cluster
 * becomes shared (create) or unshared (apply, delete).  So, as QEMU's
 * lazy refcounts do, a version 3 image is marked dirty (incompatible bit 0,
 * durable) for the length of the operation: after a crash the next writer
 * rebuilds refcounts and flags from the tables.  The steps are still
 * ordered so that the window only ever holds a leak or a COPIED flag that
 * is clear on a cluster with refcount 1 (which costs a needless copy, never
 * a shared cluster written in place).
 */
static int op_begin(struct qcow2 *s, int *marked)
{
	int rc;
	*marked = 0;
	if ((rc = qcow2_flush_metadata(s)) < 0 || (rc = vstd_io_flush(s->io)) < 0)
		return rc;
	if (s->version < 3 || (s->incompat & QCOW2_INCOMPAT_DIRTY))
		return 0;
	s->incompat |= QCOW2_INCOMPAT_DIRTY;
	if ((rc = qcow2_header_write_incompat(s)) < 0 || (rc = vstd_io_flush(s->io)) < 0)
		return rc;
	*marked = 1;
	s->keep_dirty = 1; /* until the operation completes */
	return 0;
}

static int op_end(struct qcow2 *s, int marked, int rc)
{
	if (rc < 0)
		return rc;
	if (marked)
		s->keep_dirty = 0;
	if (marked && !s->lazy)
		return qcow2_mark_clean(s);
	if ((rc = qcow2_flush_metadata(s)) < 0)
		return rc;
	return vstd_io_flush(s->io);
}

/* Clear the COPIED flags of the active tree (what a snapshot will share),
 * and make that durable before any refcount rises. */
static int clear_copied(struct qcow2 *s)
{
	int rc;
	for (uint32_t k = 0; k < s->l1_size; k++) {
		uint64_t l2_off = s->l1[k] & QCOW2_L1E_OFFSET_MASK;
		uint8_t *l2;
		int changed = 0;
		if (l2_off == 0)
			continue;
		if (l2_off & (s->cluster_size - 1))
			return vstd_err(VSTD_ECORRUPT,
			                "%s: L1 entry %u: unaligned L2 offset 0x%" PRIx64, s->name,
			                k, l2_off);
		for (uint64_t i = 0; i < s->l2_entries && s->data_io == s->io; i++) {
			uint64_t e;
			if ((rc = qcow2_cache_get(s, &s->l2c, l2_off, 0, &l2)) < 0)
				return rc;
			e = qcow2_l2e_get(s, l2, i);
			if ((e & QCOW2_OFLAG_COMPRESSED) || !(e & QCOW2_OFLAG_COPIED) ||
			    (e & QCOW2_L2E_OFFSET_MASK) == 0)
				continue;
			qcow2_l2e_set(s, l2, i, e & ~QCOW2_OFLAG_COPIED,
			              qcow2_l2e_bitmap(s, l2, i));
			changed = 1;
		}
		if (changed) {
			qcow2_cache_mark_dirty(&s->l2c, l2_off);
			s->meta_dirty = 1;
		}
		if (s->l1[k] & QCOW2_OFLAG_COPIED)
			qcow2_l1_set(s, k, s->l1[k] & ~QCOW2_OFLAG_COPIED);
	}
	if ((rc = qcow2_flush_metadata(s)) < 0)
		return rc;
	return vstd_io_flush(s->io);
}

int qcow2_snapshot_create(vstd_disk *d, const char *name)
{
	struct qcow2 *s = qcow2_of(d);
	struct qcow2_snapshot *n, *sn;
	uint64_t l1_off = 0, max_id = 0, bytes = (uint64_t)s->l1_size * 8;
	uint8_t *raw = NULL;
	struct timespec ts;
	int rc, marked;
	if (name == NULL || strlen(name) > 65535)
		return vstd_err(VSTD_EINVAL, "%s: invalid snapshot name", s->name);
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		if (strcmp(s->snaps[i].name, name) == 0)
			return vstd_err(VSTD_EEXIST, "%s: a snapshot named '%s' exists", s->name,
			                name);
		uint64_t v = strtoull(s->snaps[i].id, NULL, 10);
		if (v > max_id)
			max_id = v;
	}
	if (s->refcount_bits == 1)
		return vstd_err(VSTD_ERANGE,
		                "%s: with refcount_bits=1 no cluster can be shared by a "
		                "snapshot",
		                s->name);
	if (s->nb_snapshots >= QCOW2_MAX_SNAPSHOTS)
		return vstd_err(VSTD_ELIMIT, "%s: too many snapshots", s->name);
	if ((rc = op_begin(s, &marked)) < 0)
		return rc;
	/* flags first (harmless while refcounts are 1), then every cluster of
	 * the active tree gains a reference */
	if ((rc = clear_copied(s)) < 0 || (rc = qcow2_update_tree(s, s->l1, s->l1_size, 1, 1)) < 0)
		return rc;
	/* the copy of the L1 table */
	raw = vstd_calloc(1, bytes ? bytes : 1);
	if (raw == NULL)
		return vstd_err_code();
	for (uint32_t i = 0; i < s->l1_size; i++)
		vstd_put_be64(raw + 8 * (uint64_t)i, s->l1[i]);
	if (bytes > 0 &&
	    ((rc = qcow2_alloc_clusters(s, qcow2_size_to_clusters(s, bytes), &l1_off)) < 0 ||
	     (rc = vstd_io_pwrite(s->io, raw, bytes, l1_off)) < 0)) {
		vstd_free(raw);
		return rc;
	}
	vstd_free(raw);
	n = vstd_calloc(s->nb_snapshots + 1, sizeof(*n));
	if (n == NULL)
		return vstd_err_code();
	if (s->nb_snapshots > 0)
		memcpy(n, s->snaps, s->nb_snapshots * sizeof(*n));
	sn = &n[s->nb_snapshots];
	clock_gettime(CLOCK_REALTIME, &ts);
	sn->l1_off = l1_off;
	sn->l1_size = s->l1_size;
	sn->id = vstd_asprintf("%" PRIu64, max_id + 1);
	sn->name = vstd_strdup(name);
	sn->extra = vstd_calloc(1, 24);
	sn->extra_size = 24;
	sn->date_sec = (uint32_t)ts.tv_sec;
	sn->date_nsec = (uint32_t)ts.tv_nsec;
	sn->disk_size = s->size;
	sn->icount = UINT64_MAX;
	if (sn->id == NULL || sn->name == NULL || sn->extra == NULL) {
		vstd_free(sn->id);
		vstd_free(sn->name);
		vstd_free(sn->extra);
		vstd_free(n);
		return vstd_err_code();
	}
	if ((rc = write_table(s, n, s->nb_snapshots + 1)) < 0) {
		vstd_free(sn->id);
		vstd_free(sn->name);
		vstd_free(sn->extra);
		vstd_free(n);
		return rc;
	}
	vstd_free(s->snaps);
	s->snaps = n;
	s->nb_snapshots++;
	return op_end(s, marked, 0);
}

int qcow2_snapshot_apply(vstd_disk *d, const char *name)
{
	struct qcow2 *s = qcow2_of(d);
	uint64_t *sl1 = NULL, *old = NULL, fsize;
	uint32_t old_size = s->l1_size;
	int idx = find(s, name), rc, marked;
	struct qcow2_snapshot *sn;
	if (idx < 0)
		return idx;
	sn = &s->snaps[idx];
	if ((rc = qcow2_before_change(s)) < 0)
		return rc;
	if ((rc = op_begin(s, &marked)) < 0 || (rc = vstd_io_size(s->io, &fsize)) < 0 ||
	    (rc = qcow2_l1_load(s, sn->l1_off, sn->l1_size, fsize, &sl1, "snapshot L1 table")) < 0)
		return rc;
	if ((rc = qcow2_update_tree(s, sl1, sn->l1_size, 1, 0)) < 0)
		goto out;
	if (sn->l1_size > s->l1_size && (rc = qcow2_l1_grow(s, sn->l1_size)) < 0)
		goto out;
	old = vstd_malloc_array(s->l1_size ? s->l1_size : 1, sizeof(uint64_t));
	if (old == NULL) {
		rc = vstd_err_code();
		goto out;
	}
	memcpy(old, s->l1, (size_t)s->l1_size * 8);
	old_size = s->l1_size;
	for (uint32_t i = 0; i < s->l1_size; i++)
		qcow2_l1_set(s, i, i < sn->l1_size ? sl1[i] : 0);
	if ((rc = qcow2_flush_metadata(s)) < 0 || (rc = vstd_io_flush(s->io)) < 0)
		goto out;
	s->free_punch = 1; /* clusters only the old state used: give the space back */
	rc = qcow2_update_tree(s, old, old_size, -1, 0);
	s->free_punch = 0;
	if (rc < 0)
		goto out;
	if ((rc = qcow2_update_tree(s, s->l1, s->l1_size, 0, 1)) < 0)
		goto out;
	if (sn->disk_size != s->size) {
		uint8_t b[8];
		vstd_put_be64(b, sn->disk_size);
		if ((rc = qcow2_flush_metadata(s)) < 0 ||
		    (rc = vstd_io_pwrite(s->io, b, 8, 24)) < 0)
			goto out;
		s->size = sn->disk_size;
		d->size = s->size;
	}
	s->cached_cluster_off = 0;
	rc = op_end(s, marked, 0);
out:
	vstd_free(sl1);
	vstd_free(old);
	return rc;
}

int qcow2_snapshot_delete(vstd_disk *d, const char *name)
{
	struct qcow2 *s = qcow2_of(d);
	int idx = find(s, name), rc, marked;
	struct qcow2_snapshot sn, *n;
	uint64_t *sl1 = NULL, fsize;
	if (idx < 0)
		return idx;
	sn = s->snaps[idx];
	if ((rc = op_begin(s, &marked)) < 0 || (rc = vstd_io_size(s->io, &fsize)) < 0 ||
	    (rc = qcow2_l1_load(s, sn.l1_off, sn.l1_size, fsize, &sl1, "snapshot L1 table")) < 0)
		return rc;
	n = vstd_calloc(s->nb_snapshots, sizeof(*n));
	if (n == NULL) {
		vstd_free(sl1);
		return vstd_err_code();
	}
	memcpy(n, s->snaps, (size_t)idx * sizeof(*n));
	memcpy(n + idx, s->snaps + idx + 1, (s->nb_snapshots - (uint32_t)idx - 1) * sizeof(*n));
	if ((rc = write_table(s, n, s->nb_snapshots - 1)) < 0) {
		vstd_free(n);
		vstd_free(sl1);
		return rc;
	}
	vstd_free(s->snaps);
	s->snaps = n;
	s->nb_snapshots--;
	vstd_free(sn.id);
	vstd_free(sn.name);
	vstd_free(sn.extra);
	s->free_punch = 1; /* clusters only the snapshot used: give the space back */
	rc = qcow2_update_tree(s, sl1, sn.l1_size, -1, 0);
	if (rc == 0 && sn.l1_size > 0)
		rc = qcow2_refcount_update(s, sn.l1_off,
		                           qcow2_size_to_clusters(s, (uint64_t)sn.l1_size * 8), -1);
	s->free_punch = 0;
	if (rc == 0)
		rc = qcow2_update_tree(s, s->l1, s->l1_size, 0, 1);
	vstd_free(sl1);
	return op_end(s, marked, rc);
}

int qcow2_snapshot_open(vstd_disk *view, vstd_disk *d, const char *name)
{
	struct qcow2 *s = qcow2_of(d), *v;
	uint64_t fsize;
	int idx = find(s, name), rc;
	if (idx < 0)
		return idx;
	v = vstd_calloc(1, sizeof(*v));
	if (v == NULL)
		return vstd_err_code();
	if ((rc = vstd_io_size(s->io, &fsize)) < 0 ||
	    (rc = qcow2_l1_load(s, s->snaps[idx].l1_off, s->snaps[idx].l1_size, fsize, &v->view_l1,
	                        "snapshot L1 table")) < 0) {
		vstd_free(v);
		return rc;
	}
	v->parent = s;
	v->parent_disk = d;
	v->view_l1_size = s->snaps[idx].l1_size;
	v->name = view->filename;
	view->priv = v;
	view->size = s->snaps[idx].disk_size;
	return 0;
}
