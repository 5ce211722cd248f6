/*
 * fuzz/vdi/fuzz_vdi.c - open a VDI held in memory, walk its allocation map,
 * read it, check it, describe it; small inputs also opened writable and
 * written (fuzz/common/disk_fuzz.h).
 */
#include "common/disk_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_disk_image(data, size, "vdi", "fuzz.vdi");
}
