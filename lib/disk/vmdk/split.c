/*
 * disk/vmdk/split.c - resizing split images (twoGbMaxExtentSparse,
 * twoGbMaxExtentFlat) across extents, and replacing a descriptor file in
 * one step.
 *
 * Growth fills the last extent up to the image's extent size, then adds
 * extent files named like the existing ones (the number in the last
 * extent's name continued), each a fresh hosted sparse extent with the
 * last extent's layout or a flat file of the right length.  Order: the new
 * files are created (never over an existing file) and flushed, the last
 * extent is filled, then the descriptor is replaced (temporary file,
 * flush, rename): that rename is the commit point.  A crash before it
 * leaves the old image plus unreferenced files.  Shrinking drops whole
 * trailing extents: the descriptor first, the files after it.
 * docs/formats/vmdk.md states the rules.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "disk/disk_internal.h"
#include "disk/vmdk/vmdk_internal.h"

#define GIB ((uint64_t)1 << 30)
#define SPLIT_MAX_SIZE ((uint64_t)64 << 40) /* what vmdk create accepts */

int vmdk_split_type(const struct vmdk_state *s)
{
	return s->desc.create_type != NULL &&
	       (strcmp(s->desc.create_type, "twoGbMaxExtentSparse") == 0 ||
	        strcmp(s->desc.create_type, "twoGbMaxExtentFlat") == 0);
}

/*
 * VMware writes extents of 4192256 sectors (2 GiB - 1 MiB) and, in newer
 * products, 8323072 (4064 MiB); qemu and vstd write 4194304 (2 GiB).  An
 * image with more than one extent shows its size in its largest non-last
 * extent; an image of one extent (or odd sizes) gets 2 GiB.
 */
uint64_t vmdk_split_extent_max(const struct vmdk_state *s)
{
	uint64_t m = 0;
	for (size_t i = 0; i + 1 < s->n_ext; i++)
		if (s->ext[i].vlen > m)
			m = s->ext[i].vlen;
	if (m >= GIB && m <= 4 * GIB && m % VMDK_SECTOR == 0)
		return m;
	return 2 * GIB;
}

/* ------------------------------------------------------------ descriptor */

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd;
	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return 0;
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* some file systems cannot: the rename still happened */
	(void)fsync(fd);
	close(fd);
	return 0;
}

/* 1 when the descriptor is replaced through a temporary file and a rename;
 * a descriptor whose I/O object the disk does not own (the caller opened
 * it) cannot be reopened, so it is rewritten in place instead. */
static int by_rename(vstd_disk *d, struct vmdk_state *s)
{
	return !s->desc_embedded && d->owns_io && strcmp(vstd_io_kind(d->io), "file") == 0;
}

/*
 * Step one of replacing a descriptor file: a temporary file beside it
 * (same directory, so the rename stays on one file system) holding the
 * new text, flushed, with the old file's mode.  *tmp_out gets its path
 * (NULL when the descriptor is not replaced by rename).
 */
static int prepare_text(vstd_disk *d, struct vmdk_state *s, const char *text, char **tmp_out)
{
	char real[PATH_MAX];
	char *tmp;
	vstd_io *io = NULL;
	struct stat st;
	int rc;
	*tmp_out = NULL;
	if (!by_rename(d, s))
		return 0;
	if (realpath(d->filename, real) == NULL)
		return vstd_err_errno(VSTD_EIO, errno, "%s: cannot resolve the descriptor's path",
		                      d->filename);
	if ((tmp = vstd_asprintf("%s.vstd-new", real)) == NULL)
		return vstd_err_code();
	/* a temporary file left by a crash is ours to replace */
	if (unlink(tmp) < 0 && errno != ENOENT) {
		rc = vstd_err_errno(VSTD_EIO, errno, "%s: cannot remove the old temporary file %s",
		                    d->filename, tmp);
		vstd_free(tmp);
		return rc;
	}
	rc = vstd_io_file_open(&io, tmp, VSTD_IO_WRITE | VSTD_IO_CREATE | VSTD_IO_EXCL);
	if (rc < 0) {
		vstd_free(tmp);
		return vstd_err_prefix("%s: writing the new descriptor: ", d->filename);
	}
	if ((rc = vstd_io_pwrite(io, text, strlen(text), 0)) < 0 || (rc = vstd_io_flush(io)) < 0) {
		vstd_io_close(io);
		unlink(tmp);
		vstd_free(tmp);
		return rc;
	}
	vstd_io_close(io);
	if (stat(real, &st) == 0)
		(void)chmod(tmp, st.st_mode & 07777);
	*tmp_out = tmp;
	return 0;
}

/*
 * Step two, the commit: the temporary file renamed over the real path (a
 * descriptor reached through a symbolic link keeps the link), the
 * directory flushed, d->io reopened on the new file (the old handle reads
 * the unlinked old one).  Without a temporary file the text is written in
 * its place (embedded area, or the caller's I/O object).  *committed says
 * whether the new text is the image's descriptor now.  `text` is taken
 * over; `tmp` is removed when not renamed, and freed.
 */
static int commit_text(vstd_disk *d, struct vmdk_state *s, char *text, char *tmp, int *committed)
{
	size_t n = strlen(text);
	vstd_io *io = NULL;
	int rc = 0;
	*committed = 0;
	if (tmp != NULL) {
		char *real = vstd_strndup(tmp, strlen(tmp) - strlen(".vstd-new"));
		if (real == NULL) {
			rc = vstd_err_code();
		} else if (rename(tmp, real) < 0) {
			rc = vstd_err_errno(VSTD_EIO, errno,
			                    "%s: cannot rename %s over the descriptor", d->filename,
			                    tmp);
		} else {
			*committed = 1;
			fsync_dir_of(real);
			rc = vstd_io_file_open(
			        &io, d->filename,
			        VSTD_IO_READ | ((d->flags & VSTD_DISK_RDWR) ? VSTD_IO_WRITE : 0) |
			                ((d->flags & VSTD_DISK_DIRECT) ? VSTD_IO_DIRECT : 0));
			if (rc < 0) {
				rc = vstd_err_prefix("%s: reopening the new descriptor: ",
				                     d->filename);
			} else {
				vstd_io_close(d->io);
				d->io = io;
			}
		}
		if (!*committed)
			unlink(tmp);
		vstd_free(real);
		vstd_free(tmp);
	} else if (s->desc_embedded) {
		struct vmdk_extent *e = &s->ext[0];
		uint8_t *area;
		if (n > e->desc_size) {
			rc = vstd_err(VSTD_ENOTSUP,
			              "%s: the new descriptor does not fit the embedded "
			              "descriptor area",
			              d->filename);
		} else if ((area = vstd_calloc(1, (size_t)e->desc_size)) == NULL) {
			rc = vstd_err_code();
		} else {
			memcpy(area, text, n);
			rc = vstd_io_pwrite(d->io, area, (size_t)e->desc_size, e->desc_off);
			vstd_free(area);
			*committed = rc == 0;
		}
	} else {
		if ((rc = vstd_io_pwrite(d->io, text, n, 0)) == 0 &&
		    (rc = vstd_io_truncate(d->io, n)) == 0 && (rc = vstd_io_flush(d->io)) == 0)
			*committed = 1;
	}
	if (*committed) {
		vstd_free(s->desc_text);
		s->desc_text = text;
		s->desc_len = n;
	} else {
		vstd_free(text);
	}
	return rc;
}

int vmdk_desc_store(vstd_disk *d, struct vmdk_state *s, char *text)
{
	char *tmp = NULL;
	int committed, rc;
	if ((rc = prepare_text(d, s, text, &tmp)) < 0) {
		vstd_free(text);
		return rc;
	}
	return commit_text(d, s, text, tmp, &committed);
}

/* ------------------------------------------------------------ names */

struct name_pattern {
	char *prefix, *suffix;
	int width;
	uint64_t next;
};

/*
 * The last extent's name with its last run of digits (before any '/' it
 * has none) as a counter: "disk-s003.vmdk" gives "disk-s", 3 digits,
 * ".vmdk", next 4.  A name without digits gives "<descriptor base>-s" or
 * "-f", 3 digits, ".vmdk", numbered after the extent count.
 */
static int make_pattern(vstd_disk *d, struct vmdk_state *s, int flat, struct name_pattern *p)
{
	const char *name = s->ext[s->n_ext - 1].name, *base = strrchr(name, '/');
	size_t n = strlen(name), b, a;
	memset(p, 0, sizeof(*p));
	base = base ? base + 1 : name;
	for (b = n; b > (size_t)(base - name) && !(name[b - 1] >= '0' && name[b - 1] <= '9'); b--)
		;
	for (a = b; a > (size_t)(base - name) && name[a - 1] >= '0' && name[a - 1] <= '9'; a--)
		;
	if (b > a && b - a <= 9) {
		uint64_t v = 0;
		for (size_t i = a; i < b; i++)
			v = v * 10 + (uint64_t)(name[i] - '0');
		p->prefix = vstd_strndup(name, a);
		p->suffix = vstd_strdup(name + b);
		p->width = (int)(b - a);
		p->next = v + 1;
	} else {
		const char *f = strrchr(d->filename, '/');
		size_t fn;
		f = f ? f + 1 : d->filename;
		fn = strlen(f);
		if (fn > 5 && strcmp(f + fn - 5, ".vmdk") == 0)
			fn -= 5;
		if (memchr(f, '"', fn) != NULL || memchr(f, '\n', fn) != NULL ||
		    memchr(f, '\r', fn) != NULL)
			return vstd_err(
			        VSTD_EINVAL,
			        "%s: the descriptor's name holds a quote or line break; no extent "
			        "name can be made from it",
			        d->filename);
		p->prefix = vstd_asprintf("%.*s-%c", (int)fn, f, flat ? 'f' : 's');
		p->suffix = vstd_strdup(".vmdk");
		p->width = 3;
		p->next = s->n_ext + 1;
	}
	if (p->prefix == NULL || p->suffix == NULL) {
		vstd_free(p->prefix);
		vstd_free(p->suffix);
		return vstd_err_code();
	}
	return 0;
}

/* ------------------------------------------------------------ grow */

static int new_extent_file(vstd_disk *d, const char *name, const char *path, uint64_t len,
                           const struct vmdk_extent *like)
{
	vstd_io *io = NULL;
	int rc = vstd_io_file_open(&io, path, VSTD_IO_WRITE | VSTD_IO_CREATE | VSTD_IO_EXCL);
	if (rc == VSTD_EEXIST)
		return vstd_err(VSTD_EEXIST,
		                "%s: new extent file '%s' already exists; it is not "
		                "overwritten (remove or rename it to grow the image)",
		                d->filename, name);
	if (rc < 0)
		return vstd_err_prefix("%s: creating extent file '%s': ", d->filename, name);
	if (like->type == VMDK_EXT_FLAT) {
		rc = vstd_io_truncate(io, len);
	} else {
		struct vmdk_sparse_layout l;
		l.grain = like->grain;
		l.ngte = like->ngte;
		l.redundant = like->rgd_off != 0;
		l.version = like->version;
		l.flags = like->flags & (VMDK4_FLAG_NL_DETECT | VMDK4_FLAG_ZERO_GRAIN);
		if (l.redundant)
			l.flags |= VMDK4_FLAG_RGD;
		l.desc_sectors = like->desc_size / VMDK_SECTOR;
		if (l.desc_sectors > 20)
			l.desc_sectors = 20;
		rc = vmdk_sparse_create_layout(io, len, &l, NULL);
	}
	if (rc == 0)
		rc = vstd_io_flush(io);
	vstd_io_close(io);
	if (rc < 0)
		rc = vstd_err_prefix("%s: writing extent file '%s': ", d->filename, name);
	return rc;
}

/* Open extent `e` (zeroed, vstart/vlen set) as a new writable extent. */
static int open_new_extent(vstd_disk *d, struct vmdk_extent *e, int flat, const char *name)
{
	int rc;
	e->type = flat ? VMDK_EXT_FLAT : VMDK_EXT_SPARSE;
	e->type_name = flat ? "FLAT" : "SPARSE";
	if ((e->name = vstd_strdup(name)) == NULL)
		return vstd_err_code();
	if ((rc = vmdk_extent_open_file(d, e, name, 1)) < 0)
		return rc;
	if (!flat && (rc = vmdk_sparse_open(d, e)) < 0)
		return rc;
	return 0;
}

int vmdk_split_grow(vstd_disk *d, struct vmdk_state *s, uint64_t size)
{
	struct vmdk_extent *last = &s->ext[s->n_ext - 1];
	const uint64_t max = vmdk_split_extent_max(s);
	uint64_t fill = last->vlen < max ? max : last->vlen, rest, left;
	size_t k, made = 0, n_old = s->n_ext, lcap = 0, lused = 0;
	struct name_pattern pat;
	char **names = NULL, **paths = NULL, *lines = NULL, *t0 = NULL, *t1 = NULL, *text = NULL;
	char *tmp = NULL;
	int flat = last->type == VMDK_EXT_FLAT, rc, committed = 0, crlf;
	int sparse = last->type == VMDK_EXT_SPARSE && !last->markers && !last->compressed &&
	             last->vlen == last->capacity && vstd_le32(last->hdr) == VMDK4_MAGIC &&
	             last->type_name != NULL && strcmp(last->type_name, "SPARSE") == 0;

	if (last->read_only || (!flat && !sparse) ||
	    (flat && (last->type_name == NULL || strcmp(last->type_name, "FLAT") != 0)))
		return vstd_err(VSTD_ENOTSUP,
		                "%s: growing a split image needs a writable FLAT or hosted "
		                "SPARSE last extent, not %s",
		                d->filename, last->markers ? "streamOptimized" : last->type_name);
	if (s->desc_embedded || s->desc_text == NULL)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: a split image needs a descriptor file to list new extents",
		                d->filename);
	if (size > SPLIT_MAX_SIZE)
		return vstd_err(VSTD_ERANGE,
		                "%s: %" PRIu64 " bytes is larger than the VMDK limit of 64 TiB",
		                d->filename, size);
	rest = size - (last->vstart + fill);
	k = (size_t)((rest + max - 1) / max);
	if (k > VMDK_MAX_EXTENTS - n_old)
		return vstd_err(VSTD_ELIMIT,
		                "%s: growing to %" PRIu64 " bytes needs more than %u extents",
		                d->filename, size, VMDK_MAX_EXTENTS);
	if (sparse) {
		/* the new extents must be openable with the same layout */
		uint64_t per = last->grain * last->ngte;
		if ((max + per - 1) / per > VMDK_MAX_METADATA / 4 / last->ngte)
			return vstd_err(VSTD_ELIMIT,
			                "%s: a %" PRIu64 "-byte extent with %" PRIu64
			                "-byte grains needs too many grain tables",
			                d->filename, max, last->grain);
	}
	if ((rc = make_pattern(d, s, flat, &pat)) < 0)
		return rc;
	names = vstd_calloc(k, sizeof(*names));
	paths = vstd_calloc(k, sizeof(*paths));
	if (names == NULL || paths == NULL) {
		rc = vstd_err_code();
		goto out;
	}
	/* names, paths and descriptor lines (CR LF if the descriptor has them) */
	crlf = memmem(s->desc_text, s->desc_len, "\r\n", 2) != NULL;
	left = rest;
	for (size_t i = 0; i < k; i++) {
		uint64_t len = left < max ? left : max;
		char *line;
		size_t ln;
		names[i] = vstd_asprintf("%s%0*" PRIu64 "%s", pat.prefix, pat.width, pat.next + i,
		                         pat.suffix);
		if (names[i] == NULL ||
		    (paths[i] = vstd_disk_resolve_backing(d->filename, names[i])) == NULL) {
			rc = vstd_err_code();
			goto out;
		}
		line = vstd_asprintf("RW %" PRIu64 " %s \"%s\"%s%s", len / VMDK_SECTOR,
		                     flat ? "FLAT" : "SPARSE", names[i], flat ? " 0" : "",
		                     crlf ? "\r\n" : "\n");
		if (line == NULL) {
			rc = vstd_err_code();
			goto out;
		}
		ln = strlen(line);
		if (lused + ln + 1 > lcap) {
			size_t nc = (lused + ln + 1) * 2;
			char *nl = vstd_realloc(lines, nc);
			if (nl == NULL) {
				vstd_free(line);
				rc = vstd_err_code();
				goto out;
			}
			lines = nl;
			lcap = nc;
		}
		memcpy(lines + lused, line, ln + 1);
		lused += ln;
		vstd_free(line);
		left -= len;
	}
	/* the new descriptor text (a reader refuses one past the size limit) */
	if ((t0 = vmdk_desc_set_extent_sectors(s->desc_text, s->desc_len, n_old - 1,
	                                       fill / VMDK_SECTOR)) == NULL ||
	    (t1 = vmdk_desc_edit_extents(t0, strlen(t0), n_old, lines)) == NULL ||
	    (text = vmdk_desc_set_cylinders(t1, strlen(t1), size)) == NULL) {
		rc = vstd_err_code();
		goto out;
	}
	if (strlen(text) > VMDK_MAX_DESC_SIZE) {
		rc = vstd_err(VSTD_ELIMIT,
		              "%s: growing to %" PRIu64 " bytes makes the descriptor longer than "
		              "the %" PRIu64 "-byte limit",
		              d->filename, size, VMDK_MAX_DESC_SIZE);
		goto out;
	}
	/* 1: the new files, complete and flushed (orphans until the commit) */
	left = rest;
	for (made = 0; made < k; made++) {
		uint64_t len = left < max ? left : max;
		if ((rc = new_extent_file(d, names[made], paths[made], len, last)) < 0) {
			if (rc != VSTD_EEXIST)
				unlink(paths[made]);
			goto out;
		}
		left -= len;
	}
	/* 2: the new descriptor, written beside the old one */
	if ((rc = prepare_text(d, s, text, &tmp)) < 0)
		goto out;
	/* 3: the last extent filled (reads zeroes there) */
	if (fill > last->vlen) {
		if ((rc = vmdk_grow_last(d, s, fill)) < 0 || (rc = vstd_io_flush(last->io)) < 0)
			goto out;
	}
	/* 4: the commit */
	rc = commit_text(d, s, text, tmp, &committed);
	text = NULL;
	tmp = NULL;
	if (!committed)
		goto out;
	last->vlen = fill;
	/* 5: the in-memory extent list */
	{
		uint64_t vstart = last->vstart + fill; /* before `last` moves */
		struct vmdk_extent *ne = vstd_realloc_array(s->ext, n_old + k, sizeof(*ne));
		int rc2 = rc;
		if (ne == NULL) {
			rc = vstd_err_code();
			goto reopen_failed;
		}
		s->ext = ne;
		memset(ne + n_old, 0, k * sizeof(*ne));
		left = rest;
		for (size_t i = 0; i < k && rc2 == 0; i++) {
			struct vmdk_extent *e = &ne[n_old + i];
			e->vstart = vstart;
			e->vlen = left < max ? left : max;
			vstart += e->vlen;
			left -= e->vlen;
			rc2 = open_new_extent(d, e, flat, names[i]);
			if (rc2 < 0)
				vmdk_extent_free(e);
			else
				s->n_ext = n_old + i + 1;
		}
		if (rc2 < 0) {
			rc = rc2;
			goto reopen_failed;
		}
	}
	goto out;
reopen_failed:
	rc = vstd_err_prefix("%s: grown on disk to %" PRIu64 " bytes, but the new extents "
	                     "could not be opened (reopen the image): ",
	                     d->filename, size);
out:
	if (!committed)
		for (size_t i = 0; i < made && i < k; i++)
			unlink(paths[i]);
	for (size_t i = 0; names != NULL && i < k; i++) {
		vstd_free(names[i]);
		vstd_free(paths[i]);
	}
	vstd_free(names);
	vstd_free(paths);
	vstd_free(lines);
	vstd_free(t0);
	vstd_free(t1);
	vstd_free(text);
	if (tmp != NULL) {
		unlink(tmp);
		vstd_free(tmp);
	}
	vstd_free(pat.prefix);
	vstd_free(pat.suffix);
	return rc;
}

/* ------------------------------------------------------------ shrink */

int vmdk_split_shrink(vstd_disk *d, struct vmdk_state *s, uint64_t size)
{
	size_t j = 0, n_old = s->n_ext;
	struct vmdk_extent *e;
	uint64_t new_len;
	char *t0 = NULL, *t1 = NULL, *text = NULL, *tmp = NULL;
	int sparse, committed = 0, rc;
	while (j + 1 < n_old && s->ext[j].vstart + s->ext[j].vlen < size)
		j++;
	e = &s->ext[j];
	new_len = size - e->vstart;
	if (s->desc_embedded || s->desc_text == NULL || j + 1 >= n_old)
		return vstd_err(VSTD_ENOTSUP,
		                "%s: dropping extents needs a descriptor file listing more than "
		                "one extent",
		                d->filename);
	for (size_t i = j + 1; i < n_old; i++)
		if (s->ext[i].read_only)
			return vstd_err(VSTD_ENOTSUP,
			                "%s: shrinking to %" PRIu64
			                " bytes would drop extent '%s', "
			                "which is %s",
			                d->filename, size, s->ext[i].name,
			                s->ext[i].no_access ? "NOACCESS" : "read-only (RDONLY)");
	sparse = e->type == VMDK_EXT_SPARSE && !e->markers && !e->compressed &&
	         e->vlen == e->capacity && vstd_le32(e->hdr) == VMDK4_MAGIC;
	if (new_len < e->vlen && (e->read_only || (e->type != VMDK_EXT_FLAT && !sparse)))
		return vstd_err(VSTD_ENOTSUP,
		                "%s: shrinking to %" PRIu64 " bytes cuts extent '%s', which is "
		                "not a writable flat or hosted sparse extent",
		                d->filename, size, e->name);
	/* 1: the descriptor without the dropped extents (the commit) */
	if ((t0 = vmdk_desc_set_extent_sectors(s->desc_text, s->desc_len, j,
	                                       new_len / VMDK_SECTOR)) == NULL ||
	    (t1 = vmdk_desc_edit_extents(t0, strlen(t0), j + 1, "")) == NULL ||
	    (text = vmdk_desc_set_cylinders(t1, strlen(t1), size)) == NULL) {
		rc = vstd_err_code();
		goto out;
	}
	if ((rc = prepare_text(d, s, text, &tmp)) < 0)
		goto out;
	rc = commit_text(d, s, text, tmp, &committed);
	text = NULL;
	if (!committed)
		goto out;
	/* 2: the dropped extents' files (unless a kept extent uses the file) */
	for (size_t i = j + 1; i < n_old; i++) {
		struct vmdk_extent *x = &s->ext[i];
		int shared = x->path == NULL;
		for (size_t m = 0; m <= j && !shared; m++)
			shared = s->ext[m].path != NULL && strcmp(s->ext[m].path, x->path) == 0;
		for (size_t m = j + 1; m < i && !shared; m++)
			shared = s->ext[m].path != NULL && strcmp(s->ext[m].path, x->path) == 0;
		if (x->owns_io) {
			vstd_io_close(x->io);
			x->io = NULL;
			x->owns_io = 0;
		}
		if (!shared && unlink(x->path) < 0 && errno != ENOENT)
			vstd_warn("vmdk", "%s: dropped extent file '%s' could not be removed: %s",
			          d->filename, x->path, strerror(errno));
		vmdk_extent_free(x);
	}
	s->n_ext = j + 1;
	/* 3: the new last extent cut (a crash before leaves it longer than
	 * the descriptor says, which readers accept) */
	if (rc == 0 && new_len < e->vlen) {
		if (sparse) {
			rc = vmdk_sparse_shrink(d, e, new_len);
		} else {
			uint64_t fsize;
			if ((rc = vstd_io_size(e->io, &fsize)) == 0 &&
			    fsize == e->flat_off + e->vlen && e->flat_off + new_len > 0)
				rc = vstd_io_truncate(e->io, e->flat_off + new_len);
		}
		e->vlen = new_len;
	}
out:
	vstd_free(t0);
	vstd_free(t1);
	vstd_free(text);
	return rc;
}
