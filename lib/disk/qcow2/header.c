/*
 * disk/qcow2/header.c - the qcow2 header (versions 2 and 3), its extensions
 * and feature bits.
 *
 * Unknown extensions are kept and written back unchanged; the bitmaps
 * extension is preserved (its autoclear bit is honoured: when a writer that
 * does not understand bitmaps opens the image, the bit is cleared, which is
 * what we do, since we do not update bitmaps).
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/qcow2/qcow2.h"

static const char *const incompat_names[] = {"dirty bit", "corrupt bit", "external data file",
                                             "compression type", "extended L2 entries"};

const char *qcow2_feature_name(const struct qcow2 *s, int type, unsigned bit, char *buf, size_t len)
{
	for (uint32_t i = 0; s->feature_table != NULL && i + 48 <= s->feature_table_len; i += 48) {
		const uint8_t *e = s->feature_table + i;
		if (e[0] == type && e[1] == bit) {
			size_t n = strnlen((const char *)e + 2, 46);
			snprintf(buf, len, "%.*s", (int)n, (const char *)e + 2);
			for (char *p = buf; *p; p++)
				if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
					*p = '?';
			return buf;
		}
	}
	if (type == 0 && bit < sizeof(incompat_names) / sizeof(incompat_names[0]))
		snprintf(buf, len, "%s", incompat_names[bit]);
	else
		snprintf(buf, len, "unknown feature bit %u", bit);
	return buf;
}

int qcow2_geometry(struct qcow2 *s)
{
	s->cluster_size = (uint64_t)1 << s->cluster_bits;
	s->l2_entry_size = s->ext_l2 ? 16 : 8;
	s->l2_bits = s->cluster_bits - (s->ext_l2 ? 4 : 3);
	s->l2_entries = (uint64_t)1 << s->l2_bits;
	s->sc_size = s->ext_l2 ? s->cluster_size / 32 : s->cluster_size;
	s->refcount_bits = 1u << s->refcount_order;
	s->rb_bits = s->cluster_bits + 3 - s->refcount_order;
	s->rb_entries = (uint64_t)1 << s->rb_bits;
	s->refcount_max =
	        s->refcount_bits == 64 ? UINT64_MAX : ((uint64_t)1 << s->refcount_bits) - 1;
	s->csize_shift = 62 - (s->cluster_bits - 8);
	s->csize_mask = ((uint64_t)1 << (s->cluster_bits - 8)) - 1;
	return 0;
}

static int read_string(struct qcow2 *s, const uint8_t *p, uint32_t len, char **out,
                       const char *what, uint64_t off)
{
	if (memchr(p, 0, len) != NULL)
		return vstd_err(VSTD_ECORRUPT, "%s: %s at offset 0x%" PRIx64 " contains a NUL byte",
		                s->name, what, off);
	vstd_free(*out);
	*out = vstd_strndup((const char *)p, len);
	return *out == NULL ? vstd_err_code() : 0;
}

static int parse_extensions(struct qcow2 *s, const uint8_t *buf, uint64_t start, uint64_t end)
{
	uint64_t off = start;
	int rc;
	while (off + 8 <= end) {
		uint32_t type = vstd_be32(buf + off), len = vstd_be32(buf + off + 4);
		const uint8_t *p = buf + off + 8;
		if (type == QCOW2_EXT_END)
			return 0;
		if (len > end - off - 8)
			return vstd_err(VSTD_ECORRUPT,
			                "%s: header extension 0x%08x at offset 0x%" PRIx64
			                " has length %u, past the end of the header cluster",
			                s->name, type, off, len);
		switch (type) {
		case QCOW2_EXT_BACKING_FORMAT:
			if ((rc = read_string(s, p, len, &s->backing_format,
			                      "backing format extension", off)) < 0)
				return rc;
			break;
		case QCOW2_EXT_DATA_FILE:
			if ((rc = read_string(s, p, len, &s->data_file_name,
			                      "external data file extension", off)) < 0)
				return rc;
			break;
		case QCOW2_EXT_FEATURE_TABLE:
			vstd_free(s->feature_table);
			s->feature_table = vstd_malloc(len ? len : 1);
			if (s->feature_table == NULL)
				return vstd_err_code();
			memcpy(s->feature_table, p, len);
			s->feature_table_len = len;
			break;
		case QCOW2_EXT_CRYPTO:
			if (len < 16)
				return vstd_err(VSTD_ECORRUPT,
				                "%s: encryption header extension at 0x%" PRIx64
				                " is %u bytes, needs 16",
				                s->name, off, len);
			s->has_crypto_ext = 1;
			s->crypto_off = vstd_be64(p);
			s->crypto_len = vstd_be64(p + 8);
			goto keep;
		case QCOW2_EXT_BITMAPS:
			if (len < 24)
				return vstd_err(VSTD_ECORRUPT,
				                "%s: bitmaps extension at 0x%" PRIx64
				                " is %u bytes, needs 24",
				                s->name, off, len);
			s->has_bitmaps_ext = 1;
			s->bm_count = vstd_be32(p);
			s->bm_dir_size = vstd_be64(p + 8);
			s->bm_dir_off = vstd_be64(p + 16);
			goto keep;
		default:
		keep : {
			struct qcow2_unknown_ext *n;
			if (s->n_exts >= 64)
				return vstd_err(VSTD_ELIMIT, "%s: more than 64 header extensions",
				                s->name);
			n = vstd_realloc_array(s->exts, s->n_exts + 1, sizeof(*n));
			if (n == NULL)
				return vstd_err_code();
			s->exts = n;
			n[s->n_exts].type = type;
			n[s->n_exts].len = len;
			n[s->n_exts].data = vstd_malloc(len ? len : 1);
			if (n[s->n_exts].data == NULL)
				return vstd_err_code();
			memcpy(n[s->n_exts].data, p, len);
			s->n_exts++;
		}
		}
		off += 8 + vstd_align_up(len, 8);
	}
	return 0;
}

int qcow2_header_read(struct qcow2 *s, vstd_io *io, uint64_t file_size)
{
	uint8_t head[112];
	uint8_t *buf = NULL;
	uint64_t ext_start, l1_bytes, need;
	char fname[64];
	int rc;
	memset(head, 0, sizeof(head));
	if (file_size < 72)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: file of %" PRIu64 " bytes is too short for a "
		                "qcow2 header",
		                s->name, file_size);
	if ((rc = vstd_io_pread(io, head, file_size < 112 ? 72 : 112, 0)) < 0)
		return rc;
	if (vstd_be32(head) != QCOW2_MAGIC)
		return vstd_err(VSTD_ECORRUPT, "%s: no qcow2 magic at offset 0", s->name);
	s->version = vstd_be32(head + 4);
	if (s->version != 2 && s->version != 3)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: qcow2 header version %u is not supported (2 or 3)", s->name,
		                s->version);
	s->backing_off = vstd_be64(head + 8);
	s->backing_len = vstd_be32(head + 16);
	s->cluster_bits = vstd_be32(head + 20);
	s->size = vstd_be64(head + 24);
	s->crypt_method = vstd_be32(head + 32);
	s->l1_size = vstd_be32(head + 36);
	s->l1_off = vstd_be64(head + 40);
	s->rt_off = vstd_be64(head + 48);
	s->rt_clusters = vstd_be32(head + 56);
	s->nb_snapshots = vstd_be32(head + 60);
	s->snapshots_off = vstd_be64(head + 64);
	if (s->cluster_bits < QCOW2_MIN_CLUSTER_BITS || s->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: header at offset 0x14: cluster_bits %u is outside 9..21 "
		                "(512 B..2 MiB clusters)",
		                s->name, s->cluster_bits);
	if (s->version == 2) {
		s->refcount_order = 4;
		s->header_length = 72;
	} else {
		if (file_size < 104)
			return vstd_err(VSTD_ECORRUPT, "%s: file too short for a version 3 header",
			                s->name);
		s->incompat = vstd_be64(head + 72);
		s->compat = vstd_be64(head + 80);
		s->autoclear = vstd_be64(head + 88);
		s->refcount_order = vstd_be32(head + 96);
		s->header_length = vstd_be32(head + 100);
		if (s->header_length < 104 || s->header_length % 8 != 0 ||
		    s->header_length > ((uint64_t)1 << s->cluster_bits))
			return vstd_err(VSTD_ECORRUPT,
			                "%s: header at offset 0x64: header_length %u is invalid "
			                "(>= 104, multiple of 8, within the first cluster)",
			                s->name, s->header_length);
		if (s->header_length > 104)
			s->compression_type = head[104];
		if (s->refcount_order > 6)
			return vstd_err(VSTD_ECORRUPT,
			                "%s: header at offset 0x60: refcount_order %u is above 6",
			                s->name, s->refcount_order);
	}
	s->ext_l2 = (s->incompat & QCOW2_INCOMPAT_EXTL2) != 0;
	if (s->ext_l2 && s->cluster_bits < 14)
		/* qemu creates these only from 16 KiB, but reads them from 512 B?
		 * No: a subcluster must be at least 512 bytes. */
		if (s->cluster_bits < 14)
			return vstd_err(VSTD_ECORRUPT,
			                "%s: extended L2 entries need clusters of at least 16 KiB "
			                "(cluster_bits %u)",
			                s->name, s->cluster_bits);
	qcow2_geometry(s);

	/* the header cluster (may be shorter than a cluster at the file's end) */
	buf = vstd_calloc(1, s->cluster_size);
	if (buf == NULL)
		return vstd_err_code();
	{
		size_t got = 0;
		if ((rc = vstd_io_pread_partial(io, buf, s->cluster_size, 0, &got)) < 0)
			goto out;
	}
	ext_start = s->version == 2 ? 72 : s->header_length;
	if ((rc = parse_extensions(s, buf, ext_start, s->cluster_size)) < 0)
		goto out;

	/* feature bits */
	if (s->incompat & ~QCOW2_INCOMPAT_KNOWN) {
		for (unsigned bit = 0; bit < 64; bit++) {
			if ((s->incompat & ~QCOW2_INCOMPAT_KNOWN) & (1ull << bit)) {
				rc = vstd_err(VSTD_ENOTSUP,
				              "%s: unsupported incompatible feature '%s' (bit %u "
				              "of the header at offset 0x48)",
				              s->name,
				              qcow2_feature_name(s, 0, bit, fname, sizeof(fname)),
				              bit);
				goto out;
			}
		}
	}
	if (s->compression_type > 1) {
		rc = vstd_err(VSTD_ENOTSUP, "%s: unknown compression type %u (header offset 0x68)",
		              s->name, s->compression_type);
		goto out;
	}
	if (s->compression_type != 0 && !(s->incompat & QCOW2_INCOMPAT_COMPRESSION)) {
		rc = vstd_err(
		        VSTD_ECORRUPT,
		        "%s: compression type %u set without the compression type feature bit",
		        s->name, s->compression_type);
		goto out;
	}
	if (s->crypt_method > 2) {
		rc = vstd_err(VSTD_ENOTSUP, "%s: unknown encryption method %u (header offset 0x20)",
		              s->name, s->crypt_method);
		goto out;
	}
	if ((s->incompat & QCOW2_INCOMPAT_DATA_FILE) && s->data_file_name == NULL) {
		/* qemu requires the caller to name it then; we cannot guess */
		rc = vstd_err(VSTD_ENOTSUP,
		              "%s: the image uses an external data file but does not record its "
		              "name (no data file extension)",
		              s->name);
		goto out;
	}
	if (!(s->incompat & QCOW2_INCOMPAT_DATA_FILE) && s->data_file_name != NULL) {
		vstd_free(s->data_file_name);
		s->data_file_name = NULL;
	}
	if ((s->autoclear & QCOW2_AUTOCLEAR_DATA_FILE_RAW) &&
	    !(s->incompat & QCOW2_INCOMPAT_DATA_FILE))
		s->autoclear &= ~QCOW2_AUTOCLEAR_DATA_FILE_RAW;

	/* sizes and offsets */
	if (s->size > QCOW2_MAX_SIZE) {
		rc = vstd_err(VSTD_ECORRUPT,
		              "%s: header at offset 0x18: virtual size %" PRIu64
		              " is larger than qcow2 can address (2^56)",
		              s->name, s->size);
		goto out;
	}
	l1_bytes = (uint64_t)s->l1_size * 8;
	if (l1_bytes > QCOW2_MAX_L1_BYTES) {
		rc = vstd_err(VSTD_ELIMIT,
		              "%s: header at offset 0x24: L1 table of %u entries is "
		              "larger than the 32 MiB limit",
		              s->name, s->l1_size);
		goto out;
	}
	need = (s->size + (s->cluster_size << s->l2_bits) - 1) >> (s->cluster_bits + s->l2_bits);
	if (s->l1_size < need) {
		rc = vstd_err(VSTD_ECORRUPT,
		              "%s: header at offset 0x24: L1 table of %u entries is too small for "
		              "a virtual size of %" PRIu64 " (needs %" PRIu64 ")",
		              s->name, s->l1_size, s->size, need);
		goto out;
	}
	if (s->l1_size > 0 && (s->l1_off % s->cluster_size != 0 || s->l1_off == 0 ||
	                       !vstd_range_inside(s->l1_off, l1_bytes, file_size))) {
		rc = vstd_err(VSTD_ECORRUPT,
		              "%s: L1 table at offset 0x%" PRIx64 " (%u entries) is unaligned or "
		              "past the end of the file (%" PRIu64 " bytes)",
		              s->name, s->l1_off, s->l1_size, file_size);
		goto out;
	}
	if (s->rt_off == 0 || s->rt_off % s->cluster_size != 0 || s->rt_clusters == 0 ||
	    ((uint64_t)s->rt_clusters << s->cluster_bits) > QCOW2_MAX_REFTABLE_BYTES ||
	    !vstd_range_inside(s->rt_off, (uint64_t)s->rt_clusters << s->cluster_bits,
	                       vstd_align_up(file_size, s->cluster_size))) {
		rc = vstd_err(VSTD_ECORRUPT,
		              "%s: refcount table at offset 0x%" PRIx64 " (%u clusters) is "
		              "unaligned, too large or past the end of the file",
		              s->name, s->rt_off, s->rt_clusters);
		goto out;
	}
	if (s->backing_off != 0) {
		char *name = NULL;
		if (s->backing_len == 0 || s->backing_len > 1023 ||
		    !vstd_range_inside(s->backing_off, s->backing_len, s->cluster_size)) {
			rc = vstd_err(VSTD_ECORRUPT,
			              "%s: backing file name at offset 0x%" PRIx64 " (%u bytes) is "
			              "longer than 1023 bytes or outside the header cluster",
			              s->name, s->backing_off, s->backing_len);
			goto out;
		}
		if ((rc = read_string(s, buf + s->backing_off, s->backing_len, &name,
		                      "backing file name", s->backing_off)) < 0)
			goto out;
		rc = vstd_disk_set_backing(s->d, name, s->backing_format);
		vstd_free(name);
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	vstd_free(buf);
	return rc;
}

int qcow2_header_build(const struct qcow2 *s, const char *backing, uint8_t *buf)
{
	uint64_t off, blen = backing != NULL ? strlen(backing) : 0;
	uint8_t *p;
	memset(buf, 0, s->cluster_size);
	vstd_put_be32(buf, QCOW2_MAGIC);
	vstd_put_be32(buf + 4, s->version);
	vstd_put_be32(buf + 20, s->cluster_bits);
	vstd_put_be64(buf + 24, s->size);
	vstd_put_be32(buf + 32, s->crypt_method);
	vstd_put_be32(buf + 36, s->l1_size);
	vstd_put_be64(buf + 40, s->l1_off);
	vstd_put_be64(buf + 48, s->rt_off);
	vstd_put_be32(buf + 56, s->rt_clusters);
	vstd_put_be32(buf + 60, s->nb_snapshots);
	vstd_put_be64(buf + 64, s->snapshots_off);
	if (s->version >= 3) {
		uint32_t hl = 112;
		vstd_put_be64(buf + 72, s->incompat);
		vstd_put_be64(buf + 80, s->compat);
		vstd_put_be64(buf + 88, s->autoclear);
		vstd_put_be32(buf + 96, s->refcount_order);
		vstd_put_be32(buf + 100, hl);
		buf[104] = s->compression_type;
		off = hl;
	} else {
		off = 72;
	}
#define ROOM(n)                                                                                    \
	do {                                                                                       \
		if (off + 8 + vstd_align_up((n), 8) + 8 + blen > s->cluster_size)                  \
			return vstd_err(VSTD_ELIMIT,                                               \
			                "%s: header extensions and backing name "                  \
			                "do not fit in one cluster",                               \
			                s->name);                                                  \
	} while (0)
	if (s->backing_format != NULL && backing != NULL) {
		size_t n = strlen(s->backing_format);
		ROOM(n);
		p = buf + off;
		vstd_put_be32(p, QCOW2_EXT_BACKING_FORMAT);
		vstd_put_be32(p + 4, (uint32_t)n);
		memcpy(p + 8, s->backing_format, n);
		off += 8 + vstd_align_up(n, 8);
	}
	if (s->data_file_name != NULL) {
		size_t n = strlen(s->data_file_name);
		ROOM(n);
		p = buf + off;
		vstd_put_be32(p, QCOW2_EXT_DATA_FILE);
		vstd_put_be32(p + 4, (uint32_t)n);
		memcpy(p + 8, s->data_file_name, n);
		off += 8 + vstd_align_up(n, 8);
	}
	for (size_t i = 0; i < s->n_exts; i++) {
		ROOM(s->exts[i].len);
		p = buf + off;
		vstd_put_be32(p, s->exts[i].type);
		vstd_put_be32(p + 4, s->exts[i].len);
		memcpy(p + 8, s->exts[i].data, s->exts[i].len);
		off += 8 + vstd_align_up(s->exts[i].len, 8);
	}
	if (s->version >= 3) {
		/* our feature name table */
		static const struct {
			uint8_t type, bit;
			const char *name;
		} names[] = {{0, 0, "dirty bit"},
		             {0, 1, "corrupt bit"},
		             {0, 2, "external data file"},
		             {0, 3, "compression type"},
		             {0, 4, "extended L2 entries"},
		             {1, 0, "lazy refcounts"},
		             {2, 0, "bitmaps"},
		             {2, 1, "raw external data"}};
		size_t n = sizeof(names) / sizeof(names[0]);
		if (off + 8 + n * 48 + 8 + blen <= s->cluster_size) {
			p = buf + off;
			vstd_put_be32(p, QCOW2_EXT_FEATURE_TABLE);
			vstd_put_be32(p + 4, (uint32_t)(n * 48));
			for (size_t i = 0; i < n; i++) {
				p[8 + i * 48] = names[i].type;
				p[9 + i * 48] = names[i].bit;
				memcpy(p + 10 + i * 48, names[i].name, strlen(names[i].name));
			}
			off += 8 + n * 48;
		}
	}
	if (off + 8 + blen > s->cluster_size)
		return vstd_err(VSTD_ELIMIT,
		                "%s: header extensions and backing name do not fit in "
		                "one cluster",
		                s->name);
	off += 8; /* end marker (zeroes) */
	if (backing != NULL) {
		vstd_put_be64(buf + 8, off);
		vstd_put_be32(buf + 16, (uint32_t)blen);
		memcpy(buf + off, backing, blen);
	}
#undef ROOM
	return 0;
}

int qcow2_header_write(struct qcow2 *s, const char *backing)
{
	uint8_t *buf = vstd_malloc(s->cluster_size);
	int rc;
	if (buf == NULL)
		return vstd_err_code();
	rc = qcow2_header_build(s, backing, buf);
	if (rc == 0)
		rc = vstd_io_pwrite(s->io, buf, s->cluster_size, 0);
	vstd_free(buf);
	return rc;
}

int qcow2_header_write_incompat(struct qcow2 *s)
{
	uint8_t b[8];
	if (s->version < 3)
		return 0;
	vstd_put_be64(b, s->incompat);
	return vstd_io_pwrite(s->io, b, 8, 72);
}

void qcow2_header_free(struct qcow2 *s)
{
	vstd_free(s->backing_format);
	vstd_free(s->data_file_name);
	vstd_free(s->feature_table);
	for (size_t i = 0; i < s->n_exts; i++)
		vstd_free(s->exts[i].data);
	vstd_free(s->exts);
	s->exts = NULL;
	s->n_exts = 0;
}
