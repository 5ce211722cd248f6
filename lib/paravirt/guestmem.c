/*
 * paravirt/guestmem.c - the guest memory map: guest-physical regions mapped
 * to host pointers.  Every device access goes through here and is checked
 * against the map; a range may straddle adjacent regions.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "paravirt/guestmem_internal.h"

int vstd_guestmem_new(vstd_guestmem **out)
{
	vstd_guestmem *gm;
	if (out == NULL)
		return vstd_err(VSTD_EINVAL, "guestmem: NULL out pointer");
	gm = vstd_calloc(1, sizeof(*gm));
	if (gm == NULL)
		return VSTD_ENOMEM;
	*out = gm;
	return 0;
}

void vstd_guestmem_free(vstd_guestmem *gm)
{
	vstd_free(gm);
}

int vstd_guestmem_add(vstd_guestmem *gm, uint64_t gpa, void *host, uint64_t size, unsigned flags)
{
	uint64_t end;
	unsigned i, pos;
	if (gm == NULL || host == NULL || size == 0 || vstd_add_overflow_u64(gpa, size, &end) ||
	    (flags & ~VSTD_GUESTMEM_READONLY) != 0 || size > SIZE_MAX)
		return vstd_err(VSTD_EINVAL, "guestmem: invalid region 0x%" PRIx64 "+0x%" PRIx64,
		                gpa, size);
	if (gm->n >= VSTD_GUESTMEM_MAX_REGIONS)
		return vstd_err(VSTD_ELIMIT, "guestmem: more than %d regions",
		                VSTD_GUESTMEM_MAX_REGIONS);
	for (i = 0; i < gm->n; i++) {
		const struct vstd_gm_region *r = &gm->r[i];
		if (gpa < r->gpa + r->size && r->gpa < end)
			return vstd_err(VSTD_EINVAL,
			                "guestmem: region 0x%" PRIx64 "+0x%" PRIx64
			                " overlaps region 0x%" PRIx64 "+0x%" PRIx64,
			                gpa, size, r->gpa, r->size);
	}
	for (pos = 0; pos < gm->n && gm->r[pos].gpa < gpa; pos++)
		;
	memmove(&gm->r[pos + 1], &gm->r[pos], (gm->n - pos) * sizeof(gm->r[0]));
	gm->r[pos].gpa = gpa;
	gm->r[pos].size = size;
	gm->r[pos].host = host;
	gm->r[pos].readonly = (flags & VSTD_GUESTMEM_READONLY) != 0;
	gm->n++;
	return 0;
}

const struct vstd_gm_region *vstd_gm_find(const vstd_guestmem *gm, uint64_t gpa)
{
	unsigned lo = 0, hi = gm->n;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		const struct vstd_gm_region *r = &gm->r[mid];
		if (gpa < r->gpa)
			hi = mid;
		else if (gpa - r->gpa >= r->size)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

void *vstd_guestmem_ptr(const vstd_guestmem *gm, uint64_t gpa, uint64_t len, int writable)
{
	const struct vstd_gm_region *r;
	if (gm == NULL)
		return NULL;
	r = vstd_gm_find(gm, gpa);
	if (r == NULL || (writable && r->readonly) ||
	    !vstd_range_inside(gpa - r->gpa, len, r->size))
		return NULL;
	return r->host + (gpa - r->gpa);
}

/* Checks the whole range first so that a failing copy copies nothing. */
int vstd_gm_check(const vstd_guestmem *gm, uint64_t gpa, uint64_t len, int writable)
{
	uint64_t end;
	if (vstd_add_overflow_u64(gpa, len, &end))
		return vstd_err(VSTD_ERANGE, "guestmem: range 0x%" PRIx64 "+0x%" PRIx64 " wraps",
		                gpa, len);
	while (len > 0) {
		const struct vstd_gm_region *r = vstd_gm_find(gm, gpa);
		uint64_t n;
		if (r == NULL)
			return vstd_err(VSTD_ERANGE,
			                "guestmem: guest address 0x%" PRIx64
			                " is not in guest memory",
			                gpa);
		if (writable && r->readonly)
			return vstd_err(VSTD_EPERM,
			                "guestmem: guest address 0x%" PRIx64 " is read-only", gpa);
		n = r->size - (gpa - r->gpa);
		if (n > len)
			n = len;
		gpa += n;
		len -= n;
	}
	return 0;
}

int vstd_guestmem_read(const vstd_guestmem *gm, uint64_t gpa, void *buf, size_t len)
{
	uint8_t *p = buf;
	int rc;
	if (gm == NULL || (buf == NULL && len))
		return vstd_err(VSTD_EINVAL, "guestmem: NULL argument");
	if ((rc = vstd_gm_check(gm, gpa, len, 0)) < 0)
		return rc;
	while (len > 0) {
		const struct vstd_gm_region *r = vstd_gm_find(gm, gpa);
		uint64_t n = r->size - (gpa - r->gpa);
		if (n > len)
			n = len;
		memcpy(p, r->host + (gpa - r->gpa), (size_t)n);
		p += n;
		gpa += n;
		len -= (size_t)n;
	}
	return 0;
}

int vstd_guestmem_write(const vstd_guestmem *gm, uint64_t gpa, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int rc;
	if (gm == NULL || (buf == NULL && len))
		return vstd_err(VSTD_EINVAL, "guestmem: NULL argument");
	if ((rc = vstd_gm_check(gm, gpa, len, 1)) < 0)
		return rc;
	while (len > 0) {
		const struct vstd_gm_region *r = vstd_gm_find(gm, gpa);
		uint64_t n = r->size - (gpa - r->gpa);
		if (n > len)
			n = len;
		memcpy(r->host + (gpa - r->gpa), p, (size_t)n);
		p += n;
		gpa += n;
		len -= (size_t)n;
	}
	return 0;
}
