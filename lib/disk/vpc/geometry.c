/*
 * disk/vpc/geometry.c - CHS geometry and which size is the disk's size.
 *
 * The footer holds both a byte size ("current size") and a CHS geometry.
 * Virtual PC (and qemu before 2.6, creator "qemu") size the disk by the
 * geometry, cylinders * heads * sectors * 512, which is at most the current
 * size; Hyper-V, Azure, Disk2vhd, XenServer and qemu with force_size
 * (creator "qem2") use the current size.  vstd follows the same table as
 * qemu, so both read the same number of bytes (docs/formats/vhd.md).
 */
#include <string.h>

#include "disk/vpc/vpc.h"

/* The algorithm of the VHD specification (appendix "CHS calculation"). */
void vpc_chs_for_size(uint64_t size, uint16_t *cyl, uint8_t *heads, uint8_t *spt)
{
	uint64_t total = size / VPC_SECTOR, cth;
	unsigned h, s;
	if (total > VPC_MAX_CHS_SECTORS)
		total = VPC_MAX_CHS_SECTORS;
	if (total >= UINT64_C(65535) * 16 * 63) {
		s = 255;
		h = 16;
		cth = total / s;
	} else {
		s = 17;
		cth = total / s;
		h = (unsigned)((cth + 1023) / 1024);
		if (h < 4)
			h = 4;
		if (cth >= (uint64_t)h * 1024 || h > 16) {
			s = 31;
			h = 16;
			cth = total / s;
		}
		if (cth >= (uint64_t)h * 1024) {
			s = 63;
			h = 16;
			cth = total / s;
		}
	}
	*cyl = (uint16_t)(cth / h);
	*heads = (uint8_t)h;
	*spt = (uint8_t)s;
}

int vpc_creator_uses_chs(const char creator_app[5])
{
	static const char *const by_size[] = {"win ", "qem2", "d2v ", "CTXS", NULL};
	for (size_t i = 0; by_size[i] != NULL; i++)
		if (memcmp(creator_app, by_size[i], 4) == 0)
			return 0;
	/* XenServer writes "tap" and a NUL */
	if (memcmp(creator_app, "tap\0", 4) == 0)
		return 0;
	return 1;
}

uint64_t vpc_virtual_size(const struct vpc_footer *f, int *use_chs)
{
	uint64_t chs = (uint64_t)f->cylinders * f->heads * f->spt;
	*use_chs = vpc_creator_uses_chs(f->creator_app);
	/* the largest geometry cannot describe larger disks: trust the size */
	if (chs == VPC_MAX_CHS_SECTORS)
		*use_chs = 0;
	return *use_chs ? chs * VPC_SECTOR : f->current_size;
}
