/*
 * mgmt/ovf_pkg.h - an OVF package (directory or OVA) and the resolution of
 * its disks' host resources to image files (see ovf_pkg.c).
 */
#ifndef VSTD_MGMT_OVF_PKG_H
#define VSTD_MGMT_OVF_PKG_H

#include <limits.h>
#include <stddef.h>

#include "vstd/ovf.h"

struct ovf_pkg {
	const vstd_ovf *ovf;   /* the descriptor */
	vstd_ovf *owned;       /* parsed here (text or .ovf) */
	vstd_ova *ova;         /* an OVA package */
	char dir[PATH_MAX];    /* a directory package (real path), else "" */
	char images[PATH_MAX]; /* <state>/images/<uuid> once created, else "" */
	unsigned n_files;
};

/* package: NULL (text only, host resources kept as written), an .ovf or .ova
 * file, or a directory (with text).  text: the descriptor or NULL. */
int mgmt_ovf_pkg_open(struct ovf_pkg *p, const char *package, const char *text, size_t len);
void mgmt_ovf_pkg_close(struct ovf_pkg *p);
/* host resource hr -> image path and format name ("" when unknown). */
int mgmt_ovf_resolve(struct ovf_pkg *p, const char *state_dir, const char *uuid, const char *hr,
                     char *path, size_t cap, char *format, size_t fcap);
/* Remove <state>/images/<uuid>/ and the files in it. */
void mgmt_images_remove(const char *state_dir, const char *uuid);

#endif
