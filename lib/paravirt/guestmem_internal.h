/*
 * paravirt/guestmem_internal.h - the guest memory map's insides.
 */
#ifndef VSTD_PARAVIRT_GUESTMEM_INTERNAL_H
#define VSTD_PARAVIRT_GUESTMEM_INTERNAL_H

#include "vstd/virtio.h"

struct vstd_gm_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
	int readonly;
};

struct vstd_guestmem {
	unsigned n;
	struct vstd_gm_region r[VSTD_GUESTMEM_MAX_REGIONS]; /* sorted by gpa */
};

/* The region holding gpa, or NULL. */
const struct vstd_gm_region *vstd_gm_find(const vstd_guestmem *gm, uint64_t gpa);
/* 0 when [gpa, gpa+len) is all mapped (and writable if asked); else records
 * VSTD_ERANGE / VSTD_EPERM. */
int vstd_gm_check(const vstd_guestmem *gm, uint64_t gpa, uint64_t len, int writable);

#endif
