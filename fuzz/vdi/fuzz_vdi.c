/*
 * fuzz/vdi/fuzz_vdi.c - open a VDI held in memory, walk its allocation map,
 * read it, check it, describe it; small inputs also opened writable and
 * written (fuzz/common/disk_fuzz.h), then grown (allocating the new blocks,
 * which moves the map into the data area of small-block images) and shrunk.
 */
#include "common/disk_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_resize(const uint8_t *data, size_t size)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_io *io = NULL;
	vstd_disk *d = NULL;
	if (size > ((size_t)1 << 20) || vstd_io_mem_new(&io, data, size, size + ((size_t)8 << 20),
	                                                VSTD_IO_READ | VSTD_IO_WRITE) < 0)
		return;
	oo.format = "vdi";
	oo.flags = VSTD_DISK_RDWR;
	if (vstd_disk_open_io(&d, io, NULL, &oo) == 0) {
		uint64_t dsize = vstd_disk_size(d);
		vstd_disk_check_result cr;
		(void)vstd_disk_resize(d, dsize + ((uint64_t)2 << 20), 0, "metadata");
		(void)vstd_disk_resize(d, (vstd_disk_size(d) / 3) & ~(uint64_t)511,
		                       VSTD_DISK_RESIZE_SHRINK, NULL);
		if (vstd_disk_check(d, 0, &cr) == 0)
			vstd_disk_check_result_clear(&cr);
		fuzz_disk_walk(d);
		vstd_disk_close(d);
	}
	vstd_io_close(io);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_disk_image(data, size, "vdi", "fuzz.vdi");
	fuzz_resize(data, size);
	return 0;
}
