/*
 * descriptor/ova/reader.c - reading an OVA: index the tar members (headers
 * only), hand out member data on demand, stream References files (chunks
 * joined, gzip inflated) with bounded memory, and extract safely.
 *
 * Every member name is checked when the index is built: absolute names,
 * ".." components, links and device nodes make the open fail, so nothing
 * later can write outside a target directory.  A gzip-wrapped tar (ganeti)
 * is read through gzio.c: streamed, never held in memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "descriptor/ova/ova_internal.h"
#include "descriptor/ova/tar.h"
#include "descriptor/ovf/ovf_internal.h"

#define OVA_DEFAULT_MAX_MEMBERS 10000ul
#define OVA_DEFAULT_MAX_GZIP (1ull << 40)
#define OVA_IO_CHUNK (1u << 20)

struct vstd_ova {
	vstd_io *io;
	vstd_io *owned_io; /* closed with the OVA */
	vstd_io *file_io;  /* the file, when opened by path */
	char *name;
	vstd_ova_member *m;
	size_t n;
	size_t descriptor; /* index, or SIZE_MAX */
	vstd_ovf *ovf;
	vstd_ova_open_opts opts;
	vstd_ovf_parse_opts parse_opts;
};

static int ends_with_ci(const char *s, const char *suffix)
{
	size_t l = strlen(s), sl = strlen(suffix);
	return l >= sl && strcasecmp(s + l - sl, suffix) == 0;
}

static int add_member(vstd_ova *ova, size_t *cap, const char *name, uint64_t size, uint64_t off)
{
	if (ova->n >= ova->opts.max_members)
		return vstd_err(VSTD_ELIMIT, "%s: more than %lu members (limit max_members)",
		                ova->name, ova->opts.max_members);
	for (size_t i = 0; i < ova->n; i++)
		if (strcmp(ova->m[i].name, name) == 0)
			return vstd_err(VSTD_ECORRUPT, "%s: member '%s' appears twice", ova->name,
			                name);
	if (ova->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		vstd_ova_member *m = vstd_realloc_array(ova->m, nc, sizeof(*m));
		if (m == NULL)
			return VSTD_ENOMEM;
		ova->m = m;
		*cap = nc;
	}
	char *nm = vstd_strdup(name);
	if (nm == NULL)
		return VSTD_ENOMEM;
	ova->m[ova->n].name = nm;
	ova->m[ova->n].size = size;
	ova->m[ova->n].offset = off;
	ova->m[ova->n].type = '0';
	ova->n++;
	return 0;
}

static const char *type_name(char t)
{
	switch (t) {
	case '1': return "hard link";
	case '2': return "symbolic link";
	case '3': return "character device";
	case '4': return "block device";
	case '6': return "FIFO";
	default: return "special file";
	}
}

static int index_tar(vstd_ova *ova)
{
	uint64_t total, off = 0;
	int rc = vstd_io_size(ova->io, &total);
	if (rc < 0)
		return rc;
	unsigned char blk[TAR_BLOCK];
	char long_name[4097];
	char pax_path[4097];
	long_name[0] = pax_path[0] = '\0';
	uint64_t pax_size = 0;
	int pax_has_size = 0;
	size_t cap = 0;
	if (total < TAR_BLOCK)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: %" PRIu64 " bytes is too short for a tar archive "
		                "(an OVA is a ustar archive, DSP0243 5.3)",
		                ova->name, total);
	while (off + TAR_BLOCK <= total) {
		rc = vstd_io_pread(ova->io, blk, TAR_BLOCK, off);
		if (rc < 0)
			return rc;
		if (tar_is_end(blk))
			break;
		tar_header h;
		rc = tar_decode(blk, &h, ova->name, off);
		if (rc < 0)
			return rc;
		uint64_t data = off + TAR_BLOCK;
		uint64_t size = pax_has_size ? pax_size : h.size;
		if (size > total - data)
			return vstd_err(VSTD_ECORRUPT,
			                "%s: member '%s' at offset 0x%" PRIx64 " declares %" PRIu64
			                " bytes, past the end of the archive (%" PRIu64 " bytes)",
			                ova->name, h.name, off, size, total);
		uint64_t padded = vstd_align_up(size, TAR_BLOCK);
		if (h.type == 'L' || h.type == 'x' || h.type == 'K' || h.type == 'g') {
			if (h.type == 'g' || h.type == 'K') {
				off = data + vstd_align_up(h.size, TAR_BLOCK);
				continue;
			}
			if (h.size > 65536)
				return vstd_err(VSTD_ELIMIT,
				                "%s: extended header at 0x%" PRIx64 " is %" PRIu64
				                " bytes (limit 64 KiB)",
				                ova->name, off, h.size);
			char *ext = vstd_malloc((size_t)h.size + 1);
			if (ext == NULL)
				return VSTD_ENOMEM;
			rc = vstd_io_pread(ova->io, ext, (size_t)h.size, data);
			if (rc == 0) {
				ext[h.size] = '\0';
				if (h.type == 'L')
					snprintf(long_name, sizeof(long_name), "%s", ext);
				else
					rc = tar_pax_parse(ext, (size_t)h.size, pax_path,
					                   sizeof(pax_path), &pax_size,
					                   &pax_has_size);
			}
			vstd_free(ext);
			if (rc < 0)
				return rc;
			off = data + vstd_align_up(h.size, TAR_BLOCK);
			continue;
		}
		const char *name = pax_path[0] ? pax_path : long_name[0] ? long_name : h.name;
		while (strncmp(name, "./", 2) == 0)
			name += 2;
		if (h.type == '1' || h.type == '2' || h.type == '3' || h.type == '4' ||
		    h.type == '6')
			return vstd_err(VSTD_EPERM,
			                "%s: member '%s' is a %s; an OVA holds only regular "
			                "files (DSP0243 5.3), refused",
			                ova->name, name, type_name(h.type));
		if (name[0] != '\0' && !tar_name_safe(name))
			return vstd_err(VSTD_EPERM,
			                "%s: member name '%s' is absolute or contains '..' "
			                "(refused: it could write outside the target)",
			                ova->name, name);
		if (h.type == '5' || name[0] == '\0') {
			/* directories carry nothing */
		} else if (h.type != '0' && h.type != '7') {
			vstd_warn("ova", "%s: member '%s' has tar type '%c'; skipped", ova->name,
			          name, h.type);
		} else {
			rc = add_member(ova, &cap, name, size, data);
			if (rc < 0)
				return rc;
		}
		long_name[0] = pax_path[0] = '\0';
		pax_has_size = 0;
		off = data + padded;
	}
	if (ova->n == 0)
		return vstd_err(VSTD_ECORRUPT, "%s: the archive holds no files", ova->name);
	return 0;
}

void vstd_ova_close(vstd_ova *ova)
{
	if (ova == NULL)
		return;
	for (size_t i = 0; i < ova->n; i++)
		vstd_free((char *)ova->m[i].name);
	vstd_free(ova->m);
	vstd_ovf_free(ova->ovf);
	vstd_io_close(ova->owned_io);
	vstd_io_close(ova->file_io);
	vstd_free(ova->name);
	vstd_free(ova);
}

int vstd_ova_open_io(vstd_ova **out, vstd_io *io, const char *name, const vstd_ova_open_opts *opts)
{
	if (out == NULL || io == NULL)
		return vstd_err(VSTD_EINVAL, "vstd_ova_open_io: NULL argument");
	vstd_ova *ova = vstd_calloc(1, sizeof(*ova));
	if (ova == NULL)
		return VSTD_ENOMEM;
	vstd_ova_open_opts o = VSTD_OVA_OPEN_OPTS_INIT;
	if (opts != NULL)
		o = *opts;
	if (o.max_members == 0)
		o.max_members = OVA_DEFAULT_MAX_MEMBERS;
	if (o.max_gzip_tar == 0)
		o.max_gzip_tar = OVA_DEFAULT_MAX_GZIP;
	ovf_parse_opts_defaults(&ova->parse_opts, o.parse);
	o.parse = &ova->parse_opts;
	ova->opts = o;
	ova->descriptor = SIZE_MAX;
	ova->io = io;
	ova->name = vstd_strdup(name != NULL ? name : "package");
	int rc = ova->name ? 0 : VSTD_ENOMEM;
	unsigned char magic[2] = {0, 0};
	size_t done = 0;
	if (rc == 0)
		rc = vstd_io_pread_partial(io, magic, 2, 0, &done);
	if (rc == 0 && done == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
		rc = ova_gzio_open(&ova->owned_io, io, ova->name, o.max_gzip_tar);
		if (rc == 0)
			ova->io = ova->owned_io;
	}
	if (rc == 0)
		rc = index_tar(ova);
	if (rc == 0) {
		for (size_t i = 0; i < ova->n; i++)
			if (ends_with_ci(ova->m[i].name, ".ovf")) {
				ova->descriptor = i;
				break;
			}
		if (ova->descriptor == SIZE_MAX)
			rc = vstd_err(VSTD_ENOENT,
			              "%s: no .ovf descriptor in the package (DSP0243 5.3)",
			              ova->name);
		else if (ova->descriptor != 0)
			vstd_warn("ova",
			          "%s: the descriptor '%s' is not the first member (DSP0243 5.3)",
			          ova->name, ova->m[ova->descriptor].name);
	}
	if (rc < 0) {
		vstd_ova_close(ova);
		return rc;
	}
	*out = ova;
	return 0;
}

int vstd_ova_open(vstd_ova **out, const char *path, const vstd_ova_open_opts *opts)
{
	vstd_io *io = NULL;
	int rc = vstd_io_file_open(&io, path, VSTD_IO_READ);
	if (rc < 0)
		return rc;
	vstd_ova *ova = NULL;
	rc = vstd_ova_open_io(&ova, io, path, opts);
	if (rc < 0) {
		vstd_io_close(io);
		return rc;
	}
	ova->file_io = io;
	*out = ova;
	return 0;
}

size_t vstd_ova_member_count(const vstd_ova *ova)
{
	return ova != NULL ? ova->n : 0;
}

const vstd_ova_member *vstd_ova_member_get(const vstd_ova *ova, size_t i)
{
	return ova != NULL && i < ova->n ? &ova->m[i] : NULL;
}

int vstd_ova_find(const vstd_ova *ova, const char *name, size_t *index)
{
	if (ova == NULL || name == NULL)
		return vstd_err(VSTD_EINVAL, "vstd_ova_find: NULL argument");
	while (strncmp(name, "./", 2) == 0)
		name += 2;
	for (size_t i = 0; i < ova->n; i++)
		if (strcmp(ova->m[i].name, name) == 0) {
			if (index)
				*index = i;
			return 0;
		}
	return vstd_err(VSTD_ENOENT, "%s: no member '%s' in the package", ova->name, name);
}

int vstd_ova_read(vstd_ova *ova, size_t i, uint64_t off, void *buf, size_t len)
{
	if (ova == NULL || i >= ova->n)
		return vstd_err(VSTD_EINVAL, "vstd_ova_read: bad member index");
	const vstd_ova_member *m = &ova->m[i];
	if (!vstd_range_inside(off, len, m->size))
		return vstd_err(VSTD_ERANGE,
		                "%s: read of %zu bytes at 0x%" PRIx64 " passes the end of "
		                "member '%s' (%" PRIu64 " bytes)",
		                ova->name, len, off, m->name, m->size);
	return vstd_io_pread(ova->io, buf, len, m->offset + off);
}

int vstd_ova_descriptor(vstd_ova *ova, const vstd_ovf **out)
{
	if (ova == NULL || out == NULL)
		return vstd_err(VSTD_EINVAL, "vstd_ova_descriptor: NULL argument");
	if (ova->ovf == NULL) {
		const vstd_ova_member *m = &ova->m[ova->descriptor];
		if (m->size > ova->parse_opts.max_input)
			return vstd_err(VSTD_ELIMIT,
			                "%s: descriptor '%s' is %" PRIu64 " bytes (limit %zu)",
			                ova->name, m->name, m->size, ova->parse_opts.max_input);
		char *buf = vstd_malloc((size_t)m->size + 1);
		if (buf == NULL)
			return VSTD_ENOMEM;
		int rc = vstd_ova_read(ova, ova->descriptor, 0, buf, (size_t)m->size);
		char *nm = vstd_asprintf("%s/%s", ova->name, m->name);
		if (nm == NULL)
			rc = VSTD_ENOMEM;
		if (rc == 0)
			rc = vstd_ovf_parse(&ova->ovf, buf, (size_t)m->size, nm, &ova->parse_opts);
		vstd_free(nm);
		vstd_free(buf);
		if (rc < 0)
			return rc;
	}
	*out = ova->ovf;
	return 0;
}

const char *vstd_ova_descriptor_name(const vstd_ova *ova)
{
	return ova != NULL && ova->descriptor < ova->n ? ova->m[ova->descriptor].name : NULL;
}

/* ------------------------------------------------------------ streaming */

typedef struct inflater {
	z_stream zs;
	int active, ended;
	unsigned char *out;
	vstd_ova_data_fn fn;
	void *opaque;
	const char *what;
} inflater;

static int feed(inflater *z, const unsigned char *data, size_t len)
{
	if (!z->active)
		return z->fn(data, len, z->opaque)
		               ? vstd_err(VSTD_ECANCELED, "%s: stopped", z->what)
		               : 0;
	z->zs.next_in = (unsigned char *)data;
	z->zs.avail_in = (uInt)len;
	while (z->zs.avail_in > 0) {
		if (z->ended) {
			/* concatenated gzip members (RFC 1952 2.2) */
			if (inflateReset(&z->zs) != Z_OK)
				return vstd_err(VSTD_ECORRUPT, "%s: gzip reset failed", z->what);
			z->ended = 0;
		}
		z->zs.next_out = z->out;
		z->zs.avail_out = OVA_IO_CHUNK;
		int zrc = inflate(&z->zs, Z_NO_FLUSH);
		if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR)
			return vstd_err(VSTD_ECORRUPT, "%s: gzip data is corrupt (%s)", z->what,
			                z->zs.msg ? z->zs.msg : "inflate error");
		size_t produced = OVA_IO_CHUNK - z->zs.avail_out;
		if (produced > 0 && z->fn(z->out, produced, z->opaque))
			return vstd_err(VSTD_ECANCELED, "%s: stopped by the callback", z->what);
		if (zrc == Z_STREAM_END)
			z->ended = 1;
		if (zrc == Z_BUF_ERROR && produced == 0)
			break;
	}
	return 0;
}

static int stream_member(vstd_ova *ova, size_t idx, inflater *z, unsigned char *buf)
{
	const vstd_ova_member *m = &ova->m[idx];
	for (uint64_t off = 0; off < m->size;) {
		size_t n = m->size - off < OVA_IO_CHUNK ? (size_t)(m->size - off) : OVA_IO_CHUNK;
		int rc = vstd_io_pread(ova->io, buf, n, m->offset + off);
		if (rc < 0)
			return rc;
		rc = feed(z, buf, n);
		if (rc < 0)
			return rc;
		off += n;
	}
	return 0;
}

int vstd_ova_stream_file(vstd_ova *ova, const char *file_id, unsigned flags, vstd_ova_data_fn fn,
                         void *opaque)
{
	if (ova == NULL || file_id == NULL || fn == NULL)
		return vstd_err(VSTD_EINVAL, "vstd_ova_stream_file: NULL argument");
	const vstd_ovf *ovf = NULL;
	int rc = vstd_ova_descriptor(ova, &ovf);
	if (rc < 0)
		return rc;
	const vstd_ovf_file *f = vstd_ovf_find_file(ovf, file_id);
	if (f == NULL || f->href == NULL)
		return vstd_err(VSTD_ENOENT, "%s: References has no File with id '%s'", ova->name,
		                file_id);
	inflater z;
	memset(&z, 0, sizeof(z));
	z.fn = fn;
	z.opaque = opaque;
	z.what = f->href;
	unsigned char *buf = vstd_malloc(OVA_IO_CHUNK);
	if (buf == NULL)
		return VSTD_ENOMEM;
	if (f->compression != NULL && strcmp(f->compression, "gzip") == 0 &&
	    !(flags & VSTD_OVA_STREAM_RAW)) {
		z.out = vstd_malloc(OVA_IO_CHUNK);
		if (z.out == NULL || inflateInit2(&z.zs, 16 + MAX_WBITS) != Z_OK) {
			vstd_free(z.out);
			vstd_free(buf);
			return vstd_err(VSTD_ENOMEM, "%s: cannot initialise zlib", f->href);
		}
		z.active = 1;
	}
	if (f->chunk_size > 0) {
		for (unsigned long i = 0; rc == 0 && i < 1000000000ul; i++) {
			char name[4200];
			size_t idx;
			snprintf(name, sizeof(name), "%s.%09lu", f->href, i);
			if (vstd_ova_find(ova, name, &idx) < 0) {
				if (i == 0)
					rc = vstd_err(VSTD_ENOENT, "%s: chunk '%s' is missing",
					              ova->name, name);
				break;
			}
			rc = stream_member(ova, idx, &z, buf);
		}
	} else {
		size_t idx;
		rc = vstd_ova_find(ova, f->href, &idx);
		if (rc == 0)
			rc = stream_member(ova, idx, &z, buf);
	}
	if (rc == 0 && z.active && !z.ended)
		rc = vstd_err(VSTD_ECORRUPT, "%s: gzip stream is truncated", f->href);
	if (z.active)
		inflateEnd(&z.zs);
	vstd_free(z.out);
	vstd_free(buf);
	return rc;
}

/* ------------------------------------------------------------ extraction */

/* Walk the directories of name below dirfd, never following links. */
static int open_parent(int dirfd, const char *name, char *leaf, size_t leaf_size, int *owned)
{
	int fd = dirfd;
	*owned = 0;
	const char *p = name;
	for (;;) {
		const char *s = strchr(p, '/');
		if (s == NULL)
			break;
		char comp[256];
		size_t l = (size_t)(s - p);
		if (l == 0 || (l == 1 && p[0] == '.')) {
			p = s + 1;
			continue;
		}
		if (l >= sizeof(comp)) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		memcpy(comp, p, l);
		comp[l] = '\0';
		if (mkdirat(fd, comp, 0755) != 0 && errno != EEXIST)
			goto fail;
		int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0)
			goto fail;
		if (*owned)
			close(fd);
		fd = nfd;
		*owned = 1;
		p = s + 1;
	}
	snprintf(leaf, leaf_size, "%s", p);
	return fd;
fail:
	if (*owned)
		close(fd);
	*owned = 0;
	return -1;
}

int vstd_ova_extract(vstd_ova *ova, const char *dir)
{
	if (ova == NULL || dir == NULL)
		return vstd_err(VSTD_EINVAL, "vstd_ova_extract: NULL argument");
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return vstd_err_errno(0, errno, "%s: cannot open the target directory", dir);
	unsigned char *buf = vstd_malloc(OVA_IO_CHUNK);
	int rc = buf ? 0 : VSTD_ENOMEM;
	for (size_t i = 0; rc == 0 && i < ova->n; i++) {
		const vstd_ova_member *m = &ova->m[i];
		if (!tar_name_safe(m->name)) {
			rc = vstd_err(VSTD_EPERM, "%s: member '%s' refused", ova->name, m->name);
			break;
		}
		char leaf[4200];
		int owned = 0;
		int pfd = open_parent(dirfd, m->name, leaf, sizeof(leaf), &owned);
		if (pfd < 0) {
			rc = vstd_err_errno(0, errno, "%s: cannot create the directories of '%s'",
			                    dir, m->name);
			break;
		}
		int fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		                0644);
		if (fd < 0) {
			rc = vstd_err_errno(0, errno, "%s/%s: cannot create", dir, m->name);
		} else {
			for (uint64_t off = 0; rc == 0 && off < m->size;) {
				size_t n = m->size - off < OVA_IO_CHUNK ? (size_t)(m->size - off)
				                                        : OVA_IO_CHUNK;
				rc = vstd_io_pread(ova->io, buf, n, m->offset + off);
				for (size_t w = 0; rc == 0 && w < n;) {
					ssize_t k = write(fd, buf + w, n - w);
					if (k < 0) {
						if (errno == EINTR)
							continue;
						rc = vstd_err_errno(0, errno, "%s/%s: write failed",
						                    dir, m->name);
					} else {
						w += (size_t)k;
					}
				}
				off += n;
			}
			if (close(fd) != 0 && rc == 0)
				rc = vstd_err_errno(0, errno, "%s/%s: close failed", dir, m->name);
		}
		if (owned)
			close(pfd);
	}
	vstd_free(buf);
	close(dirfd);
	return rc;
}

/* ------------------------------------------------------------ package access */

int ovf_pkg_size(const ovf_pkg *pkg, const char *name, uint64_t *size)
{
	if (pkg->ova != NULL) {
		size_t i;
		int rc = vstd_ova_find(pkg->ova, name, &i);
		if (rc < 0)
			return rc;
		*size = pkg->ova->m[i].size;
		return 0;
	}
	if (!tar_name_safe(name))
		return vstd_err(VSTD_EPERM, "'%s' is absolute or contains '..'", name);
	char *p = vstd_asprintf("%s/%s", pkg->dir, name);
	if (p == NULL)
		return VSTD_ENOMEM;
	struct stat st;
	int rc = 0;
	if (stat(p, &st) != 0)
		rc = vstd_err_errno(0, errno, "%s: cannot stat", p);
	else if (!S_ISREG(st.st_mode))
		rc = vstd_err(VSTD_ENOENT, "%s: not a regular file", p);
	else
		*size = (uint64_t)st.st_size;
	vstd_free(p);
	return rc;
}

int ovf_pkg_stream(const ovf_pkg *pkg, const char *name, vstd_ova_data_fn fn, void *opaque)
{
	unsigned char *buf = vstd_malloc(OVA_IO_CHUNK);
	if (buf == NULL)
		return VSTD_ENOMEM;
	int rc = 0;
	vstd_io *io = NULL;
	uint64_t base = 0, size = 0;
	if (pkg->ova != NULL) {
		size_t i;
		rc = vstd_ova_find(pkg->ova, name, &i);
		if (rc == 0) {
			io = pkg->ova->io;
			base = pkg->ova->m[i].offset;
			size = pkg->ova->m[i].size;
		}
	} else {
		char *p = tar_name_safe(name) ? vstd_asprintf("%s/%s", pkg->dir, name) : NULL;
		if (p == NULL)
			rc = vstd_err(VSTD_EPERM,
			              "'%s': refused (absolute or '..') or out of memory", name);
		if (rc == 0)
			rc = vstd_io_file_open(&io, p, VSTD_IO_READ);
		if (rc == 0)
			rc = vstd_io_size(io, &size);
		vstd_free(p);
	}
	for (uint64_t off = 0; rc == 0 && off < size;) {
		size_t n = size - off < OVA_IO_CHUNK ? (size_t)(size - off) : OVA_IO_CHUNK;
		rc = vstd_io_pread(io, buf, n, base + off);
		if (rc == 0 && fn(buf, n, opaque))
			rc = vstd_err(VSTD_ECANCELED, "%s: stopped", name);
		off += n;
	}
	if (pkg->ova == NULL)
		vstd_io_close(io);
	vstd_free(buf);
	return rc;
}

int ovf_pkg_read_all(const ovf_pkg *pkg, const char *name, size_t max, char **data, size_t *len)
{
	uint64_t size = 0; /* set by ovf_pkg_size on success (gcc -O3 cannot tell) */
	int rc = ovf_pkg_size(pkg, name, &size);
	if (rc < 0)
		return rc;
	if (size > max)
		return vstd_err(VSTD_ELIMIT, "%s: %" PRIu64 " bytes, more than the limit of %zu",
		                name, size, max);
	char *buf = vstd_malloc((size_t)size + 1);
	if (buf == NULL)
		return VSTD_ENOMEM;
	if (pkg->ova != NULL) {
		size_t i;
		rc = vstd_ova_find(pkg->ova, name, &i);
		if (rc == 0)
			rc = vstd_ova_read(pkg->ova, i, 0, buf, (size_t)size);
	} else {
		char *p = vstd_asprintf("%s/%s", pkg->dir, name);
		vstd_io *io = NULL;
		rc = p ? vstd_io_file_open(&io, p, VSTD_IO_READ) : VSTD_ENOMEM;
		if (rc == 0)
			rc = vstd_io_pread(io, buf, (size_t)size, 0);
		vstd_io_close(io);
		vstd_free(p);
	}
	if (rc < 0) {
		vstd_free(buf);
		return rc;
	}
	buf[size] = '\0';
	*data = buf;
	*len = (size_t)size;
	return 0;
}

char *ovf_sibling_name(const char *ovf_name, const char *ext)
{
	size_t l = strlen(ovf_name);
	if (ends_with_ci(ovf_name, ".ovf"))
		l -= 4;
	return vstd_asprintf("%.*s%s", (int)l, ovf_name, ext);
}
