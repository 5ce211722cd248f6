/*
 * mgmt/ovf_pkg.c - OVF packages for DefineSystemFromOVF: the descriptor of
 * an .ovf file (its directory is the package) or of an .ova, and the
 * resolution of the host resources of its disks (DSP0243 8.3: "ovf:/disk/
 * <DiskSection Disk ovf:diskId>" and "ovf:/file/<References File ovf:id>")
 * to image files the backends open:
 *
 * - a directory package: the File's href, relative to the descriptor's
 *   directory, used in place.  The href must be a relative path without
 *   "..", "." or empty components, without a scheme and without '\'; the
 *   resolved path (symbolic links followed) must still lie inside the
 *   directory and be a regular file.  Compressed or chunked files are
 *   refused (they cannot be opened in place).
 * - an OVA: the File is streamed out of the tar (chunks joined, gzip
 *   inflated, by lib/descriptor) into <state>/images/<uuid>/, bounded by
 *   the disk's capacity.
 * - a Disk without a fileRef: a sparse raw image of its capacity, created
 *   in <state>/images/<uuid>/.
 *
 * <state>/images/<uuid>/ belongs to the system and is removed with it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "mgmt/ovf_pkg.h"

#define MAX_BLANK (16ull << 40)   /* a blank disk's capacity: 16 TiB */
#define MAX_UNKNOWN (64ull << 30) /* an extracted file when the capacity is unknown */
#define HREF_MAX 255

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

int mgmt_ovf_pkg_open(struct ovf_pkg *p, const char *package, const char *text, size_t len)
{
	char dir[PATH_MAX];
	struct stat st;
	int rc;
	memset(p, 0, sizeof(*p));
	if (package == NULL) {
		if (text == NULL)
			return vstd_err(VSTD_EINVAL,
			                "cim: OVFDescriptor (the descriptor text) or PackagePath "
			                "(an .ovf, .ova or package directory) is required");
		rc = vstd_ovf_parse(&p->owned, text, len, "OVFDescriptor", NULL);
		p->ovf = p->owned;
		return rc;
	}
	if (package[0] != '/' || strlen(package) >= PATH_MAX - HREF_MAX - 2)
		return vstd_err(VSTD_EINVAL, "cim: PackagePath '%s' must be an absolute path",
		                package);
	if (stat(package, &st) < 0)
		return vstd_err_errno(VSTD_ENOENT, errno, "cim: PackagePath %s", package);
	if (S_ISDIR(st.st_mode)) {
		if (text == NULL)
			return vstd_err(VSTD_EINVAL,
			                "cim: PackagePath %s is a directory: give the "
			                "descriptor as OVFDescriptor, or the .ovf file",
			                package);
		snprintf(dir, sizeof(dir), "%s", package);
		rc = vstd_ovf_parse(&p->owned, text, len, "OVFDescriptor", NULL);
		p->ovf = p->owned;
	} else if (!S_ISREG(st.st_mode)) {
		return vstd_err(VSTD_EINVAL, "cim: PackagePath %s is not a file", package);
	} else if (text != NULL) {
		return vstd_err(VSTD_EINVAL, "cim: give OVFDescriptor or an .ovf/.ova PackagePath, "
		                             "not both");
	} else if (ends_with(package, ".ova")) {
		if ((rc = vstd_ova_open(&p->ova, package, NULL)) < 0)
			return rc;
		rc = vstd_ova_descriptor(p->ova, &p->ovf);
		dir[0] = 0;
	} else {
		rc = vstd_ovf_open(&p->owned, package, NULL);
		p->ovf = p->owned;
		snprintf(dir, sizeof(dir), "%s", package);
		char *slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = 0;
		else
			*slash = 0;
	}
	if (rc < 0)
		return rc;
	if (dir[0] && realpath(dir, p->dir) == NULL)
		return vstd_err_errno(VSTD_EIO, errno, "cim: package directory %s", dir);
	return 0;
}

void mgmt_ovf_pkg_close(struct ovf_pkg *p)
{
	if (p->owned)
		vstd_ovf_free(p->owned);
	if (p->ova)
		vstd_ova_close(p->ova);
	memset(p, 0, sizeof(*p));
}

/* A File href we accept: relative, plain components, no scheme. */
static int href_ok(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > HREF_MAX || h[0] == '/' || strchr(h, '\\') || strchr(h, ':'))
		return 0;
	for (const char *c = h; *c;) {
		const char *e = strchr(c, '/');
		size_t l = e ? (size_t)(e - c) : strlen(c);
		if (l == 0 || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		for (size_t i = 0; i < l; i++)
			if ((unsigned char)c[i] < 0x20)
				return 0;
		if (!e)
			break;
		c = e + 1;
	}
	return 1;
}

/* The qemu/vstd format name of a DiskSection format URI, "" when unknown. */
static const char *format_of(const char *uri)
{
	if (uri == NULL)
		return "";
	if (strstr(uri, "vmdk"))
		return "vmdk";
	if (strstr(uri, "qcow2") || strstr(uri, "qcow"))
		return "qcow2";
	if (ends_with(uri, "raw") || strstr(uri, "#raw"))
		return "raw";
	return "";
}

static int images_dir(struct ovf_pkg *p, const char *state_dir, const char *uuid)
{
	if (p->images[0])
		return 0;
	char base[PATH_MAX];
	snprintf(base, sizeof(base), "%s/images", state_dir);
	if (mkdir(base, 0700) < 0 && errno != EEXIST)
		return vstd_err_errno(VSTD_EIO, errno, "cim: cannot create %s", base);
	if ((size_t)snprintf(p->images, sizeof(p->images), "%s/%s", base, uuid) >=
	    sizeof(p->images) - HREF_MAX - 16)
		return vstd_err(VSTD_ELIMIT, "cim: state directory path too long");
	if (mkdir(p->images, 0700) < 0) {
		int e = errno;
		p->images[0] = 0;
		return vstd_err_errno(VSTD_EIO, e, "cim: cannot create %s/%s", base, uuid);
	}
	return 0;
}

struct sink {
	int fd;
	uint64_t n, limit;
	int err;
};

static int sink_write(const void *data, size_t len, void *opaque)
{
	struct sink *s = opaque;
	const char *b = data;
	if (len > s->limit - s->n) {
		s->err = VSTD_ELIMIT;
		return 1;
	}
	while (len) {
		ssize_t w = write(s->fd, b, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			s->err = errno ? errno : EIO;
			return 1;
		}
		b += w;
		len -= (size_t)w;
		s->n += (uint64_t)w;
	}
	return 0;
}

/* Stream File f of the OVA into the images directory as "<n>-<base name>". */
static int extract(struct ovf_pkg *p, const vstd_ovf_file *f, uint64_t limit, char *out, size_t cap)
{
	const char *base = strrchr(f->href, '/') ? strrchr(f->href, '/') + 1 : f->href;
	if ((size_t)snprintf(out, cap, "%s/%u-%s", p->images, p->n_files++, base) >= cap)
		return vstd_err(VSTD_ELIMIT, "cim: image path for %s too long", f->href);
	struct sink s = {open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600), 0,
	                 limit, 0};
	if (s.fd < 0)
		return vstd_err_errno(VSTD_EIO, errno, "cim: cannot create %s", out);
	int rc = vstd_ova_stream_file(p->ova, f->id, 0, sink_write, &s);
	if (close(s.fd) < 0 && rc == 0)
		rc = vstd_err_errno(VSTD_EIO, errno, "cim: writing %s", out);
	if (s.err == VSTD_ELIMIT)
		return vstd_err(VSTD_ELIMIT,
		                "cim: OVA file %s unpacks to more than %llu bytes (the disk's "
		                "capacity)",
		                f->href, (unsigned long long)limit);
	if (s.err)
		return vstd_err_errno(VSTD_EIO, s.err, "cim: writing %s", out);
	return rc;
}

/* File f of a directory package, in place. */
static int in_place(struct ovf_pkg *p, const vstd_ovf_file *f, char *out, size_t cap)
{
	char joined[PATH_MAX], real[PATH_MAX];
	struct stat st;
	if (f->compression || f->chunk_size)
		return vstd_err(VSTD_ENOTSUP,
		                "cim: File %s (%s) is %s: a package directory's disks are used in "
		                "place; unpack it first or define from the .ova",
		                f->id, f->href, f->compression ? "compressed" : "chunked");
	if ((size_t)snprintf(joined, sizeof(joined), "%s/%s", p->dir, f->href) >= sizeof(joined))
		return vstd_err(VSTD_ELIMIT, "cim: File %s: path too long", f->id);
	if (realpath(joined, real) == NULL)
		return vstd_err_errno(VSTD_ENOENT, errno, "cim: File %s: %s", f->id, joined);
	size_t dl = strlen(p->dir);
	if (strncmp(real, p->dir, dl) != 0 || (real[dl] != '/' && strcmp(p->dir, "/") != 0))
		return vstd_err(VSTD_EINVAL,
		                "cim: File %s (%s) leads to %s, outside the package directory %s",
		                f->id, f->href, real, p->dir);
	if (stat(real, &st) < 0 || !S_ISREG(st.st_mode))
		return vstd_err(VSTD_EINVAL, "cim: File %s (%s) is not a regular file", f->id,
		                f->href);
	if ((size_t)snprintf(out, cap, "%s", real) >= cap)
		return vstd_err(VSTD_ELIMIT, "cim: image path %s too long", real);
	return 0;
}

int mgmt_ovf_resolve(struct ovf_pkg *p, const char *state_dir, const char *uuid, const char *hr,
                     char *path, size_t cap, char *format, size_t fcap)
{
	const vstd_ovf_disk *d = NULL;
	const vstd_ovf_file *f = NULL;
	format[0] = 0;
	if (strncmp(hr, "ovf:/disk/", 10) == 0) {
		if ((d = vstd_ovf_find_disk(p->ovf, hr + 10)) == NULL)
			return vstd_err(VSTD_EINVAL,
			                "cim: HostResource %s names no Disk of the DiskSection",
			                hr);
		snprintf(format, fcap, "%s", format_of(d->format));
		if (d->parent_ref)
			return vstd_err(VSTD_ENOTSUP,
			                "cim: Disk %s is a differencing disk (parentRef %s); not "
			                "supported",
			                d->disk_id, d->parent_ref);
		if (d->file_ref == NULL) {
			/* a blank disk, made at deployment */
			if (!d->capacity_known || d->capacity_bytes == 0 ||
			    d->capacity_bytes > MAX_BLANK)
				return vstd_err(VSTD_EINVAL,
				                "cim: blank Disk %s needs a capacity of 1 byte to "
				                "16 TiB",
				                d->disk_id);
			int rc = images_dir(p, state_dir, uuid);
			if (rc < 0)
				return rc;
			if ((size_t)snprintf(path, cap, "%s/%u-blank.raw", p->images,
			                     p->n_files++) >= cap)
				return vstd_err(VSTD_ELIMIT, "cim: image path too long");
			int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			              0600);
			if (fd < 0 || ftruncate(fd, (off_t)d->capacity_bytes) < 0) {
				int e = errno;
				if (fd >= 0)
					close(fd);
				return vstd_err_errno(VSTD_EIO, e, "cim: cannot create %s", path);
			}
			close(fd);
			snprintf(format, fcap, "raw");
			return 0;
		}
		if ((f = vstd_ovf_find_file(p->ovf, d->file_ref)) == NULL)
			return vstd_err(VSTD_EINVAL,
			                "cim: Disk %s refers to File %s, which References does "
			                "not list",
			                d->disk_id, d->file_ref);
	} else if (strncmp(hr, "ovf:/file/", 10) == 0) {
		if ((f = vstd_ovf_find_file(p->ovf, hr + 10)) == NULL)
			return vstd_err(VSTD_EINVAL,
			                "cim: HostResource %s names no File of References", hr);
	} else {
		return vstd_err(VSTD_EINVAL,
		                "cim: HostResource '%s' of a package must be ovf:/disk/<id> or "
		                "ovf:/file/<id>",
		                hr);
	}
	if (f->href == NULL || !href_ok(f->href))
		return vstd_err(VSTD_EINVAL,
		                "cim: File %s href '%s' is not a plain relative path inside the "
		                "package",
		                f->id, f->href ? f->href : "");
	if (p->ova == NULL)
		return in_place(p, f, path, cap);
	int rc = images_dir(p, state_dir, uuid);
	if (rc < 0)
		return rc;
	uint64_t limit = MAX_UNKNOWN;
	if (d && d->capacity_known && d->capacity_bytes < MAX_UNKNOWN - (1u << 20))
		limit = d->capacity_bytes + d->capacity_bytes / 8 + (1u << 20);
	return extract(p, f, limit, path, cap);
}

void mgmt_images_remove(const char *state_dir, const char *uuid)
{
	char dir[PATH_MAX], f[PATH_MAX + 256];
	snprintf(dir, sizeof(dir), "%s/images/%s", state_dir, uuid);
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s", dir, e->d_name);
		unlink(f);
	}
	closedir(d);
	rmdir(dir);
}
