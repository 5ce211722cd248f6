/*
 * fuzz/vpc/fuzz_vpc.c - open a VHD held in memory, walk its allocation map,
 * read it, check it, describe it; small inputs also opened writable and
 * written (fuzz/common/disk_fuzz.h).
 */
#include "common/disk_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_disk_image(data, size, "vpc", "fuzz.vpc");
}
