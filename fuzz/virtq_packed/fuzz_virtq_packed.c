/*
 * fuzz/virtq_packed/fuzz_virtq_packed.c - the packed virtqueue on untrusted guest
 * memory: the input is the queue configuration, the features, the device
 * and a guest memory image with the rings and buffers (lib/paravirt/memrun.c
 * describes the format).  The device must never crash, hang or touch
 * memory outside the image.
 */
#include <stddef.h>
#include <stdint.h>

#include "paravirt/memrun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return memrun(data, size, 1);
}
