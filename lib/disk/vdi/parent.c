/*
 * disk/vdi/parent.c - finding a differencing VDI's parent.
 *
 * A VDI does not record its parent's file name: VirtualBox keeps that in
 * its media registry.  The child records the parent's creation UUID
 * (uuid_link) and modification UUID (uuid_parent_modify).  We look for a
 * .vdi whose creation UUID is uuid_link in the child's directory and the
 * directory above it (VirtualBox keeps snapshots in <vm>/Snapshots/ and the
 * base disk in <vm>/), reading only the first 512 bytes of at most
 * VDI_SCAN_LIMIT files.  A modification UUID that differs is only a
 * warning: the parent was written after the child was made, as VirtualBox
 * itself would report.
 */
#include <dirent.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/uuid.h"
#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "disk/vdi/vdi.h"

#define VDI_SCAN_LIMIT 4096

/* Is `path` the parent?  1 yes, 0 no. */
static int is_parent(const char *path, const struct vdi_state *s, const struct stat *self,
                     uint8_t modify[16])
{
	uint8_t raw[VDI_HEADER_END];
	struct vdi_header h;
	struct stat st;
	vstd_io *io = NULL;
	size_t got = 0;
	int rc;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_dev == self->st_dev && st.st_ino == self->st_ino))
		return 0;
	if (vstd_io_file_open(&io, path, VSTD_IO_READ) < 0)
		return 0;
	memset(raw, 0, sizeof(raw));
	rc = vstd_io_pread_partial(io, raw, sizeof(raw), 0, &got);
	vstd_io_close(io);
	if (rc < 0 || got < sizeof(raw) || vdi_header_parse(raw, &h, path) < 0)
		return 0;
	if (memcmp(h.uuid_create, s->h.uuid_link, 16) != 0)
		return 0;
	memcpy(modify, h.uuid_modify, 16);
	return 1;
}

static char *scan_dir(const char *dir, const char *prefix, const struct vdi_state *s,
                      const struct stat *self, unsigned *budget, uint8_t modify[16])
{
	DIR *dh = opendir(dir);
	struct dirent *e;
	char *found = NULL;
	if (dh == NULL)
		return NULL;
	while (found == NULL && *budget > 0 && (e = readdir(dh)) != NULL) {
		size_t n = strlen(e->d_name);
		char *path;
		if (n < 5 || strcasecmp(e->d_name + n - 4, ".vdi") != 0)
			continue;
		(*budget)--;
		path = vstd_asprintf("%s/%s", dir, e->d_name);
		if (path == NULL)
			break;
		if (is_parent(path, s, self, modify))
			found = vstd_asprintf("%s%s", prefix, e->d_name);
		vstd_free(path);
	}
	closedir(dh);
	return found;
}

int vdi_find_parent(vstd_disk *d, struct vdi_state *s)
{
	const char *slash = strrchr(d->filename, '/');
	char *dir, *up, *name;
	char text[37];
	uint8_t modify[16];
	unsigned budget = VDI_SCAN_LIMIT;
	struct stat self;
	int rc;
	if ((d->flags & VSTD_DISK_NO_BACKING) || strcmp(vstd_io_kind(d->io), "file") != 0)
		return 0;
	if (stat(d->filename, &self) != 0)
		memset(&self, 0, sizeof(self));
	dir = slash != NULL ? vstd_strndup(d->filename, (size_t)(slash - d->filename))
	                    : vstd_strdup(".");
	if (dir == NULL)
		return vstd_err_code();
	if (dir[0] == '\0') {
		vstd_free(dir);
		if ((dir = vstd_strdup("/")) == NULL)
			return vstd_err_code();
	}
	name = scan_dir(dir, "", s, &self, &budget, modify);
	if (name == NULL) {
		up = vstd_asprintf("%s/..", dir);
		if (up == NULL) {
			vstd_free(dir);
			return vstd_err_code();
		}
		name = scan_dir(up, "../", s, &self, &budget, modify);
		vstd_free(up);
	}
	vstd_free(dir);
	vstd_uuid_text(s->h.uuid_link, text);
	if (name == NULL)
		return vstd_err(
		        VSTD_ENOENT,
		        "%s: the parent of this differencing VDI (creation UUID %s) is not in "
		        "the image's directory or the one above it",
		        d->filename, text);
	if (memcmp(modify, s->h.uuid_parent_modify, 16) != 0)
		vstd_warn("vdi",
		          "%s: parent '%s' was modified after this differencing image was made "
		          "(its modification UUID differs)",
		          d->filename, name);
	rc = vstd_disk_set_backing(d, name, "vdi");
	vstd_free(name);
	return rc;
}
