/*
 * paravirt/virtq/area.c - mapping a ring area (descriptor table or ring,
 * driver area, device area) of either layout into the host: aligned as the
 * spec requires, inside one guest memory region, writable where the device
 * writes.
 */
#include "core/error_internal.h"
#include "paravirt/virtq/virtq.h"

int vq_map_area(struct vstd_vq *vq, uint64_t gpa, uint64_t len, unsigned align, int writable,
                const char *what, uint8_t **out)
{
	uint8_t *p;
	if (gpa % align != 0)
		return vstd_err(VSTD_ECORRUPT,
		                "virtq %u: %s at 0x%" PRIx64 " is not %u-byte aligned", vq->index,
		                what, gpa, align);
	p = vstd_guestmem_ptr(vq->gm, gpa, len, writable);
	if (p == NULL)
		return vstd_err(VSTD_ECORRUPT,
		                "virtq %u: %s 0x%" PRIx64 "+0x%" PRIx64
		                " is not inside one %sguest memory region",
		                vq->index, what, gpa, len, writable ? "writable " : "");
	if ((uintptr_t)p % align != 0)
		return vstd_err(VSTD_ENOTSUP, "virtq %u: %s is mapped at a misaligned host address",
		                vq->index, what);
	*out = p;
	return 0;
}
