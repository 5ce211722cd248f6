/*
 * fuzz/vhdx/fuzz_vhdx.c - open a VHDX held in memory (read-only, with the
 * log replayed in memory), read it and walk its allocation map.
 *
 * A VHDX is megabytes of mostly zeroes, so an input may also be a sparse
 * page list: "VSPARSE1", u32 size in 4 KiB pages (<= 16384), then records
 * of u32 page number + 4096 bytes (little endian).  Other inputs are
 * taken as the image itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vstd/disk.h"
#include "vstd/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_io *io = NULL;
	vstd_disk *d = NULL;
	static uint8_t buf[256 * 1024];
	uint8_t *expanded = NULL;
	if (size >= 12 && memcmp(data, "VSPARSE1", 8) == 0) {
		uint32_t pages = (uint32_t)data[8] | (uint32_t)data[9] << 8 |
		                 (uint32_t)data[10] << 16 | (uint32_t)data[11] << 24;
		size_t at = 12;
		if (pages == 0 || pages > 16384 || (expanded = calloc(pages, 4096)) == NULL)
			return 0;
		while (size - at >= 4 + 4096) {
			uint32_t pg = (uint32_t)data[at] | (uint32_t)data[at + 1] << 8 |
			              (uint32_t)data[at + 2] << 16 | (uint32_t)data[at + 3] << 24;
			if (pg < pages)
				memcpy(expanded + (size_t)pg * 4096, data + at + 4, 4096);
			at += 4 + 4096;
		}
		data = expanded;
		size = (size_t)pages * 4096;
	}
	oo.format = "vhdx";
	oo.flags = VSTD_DISK_NO_REPLAY | VSTD_DISK_NO_BACKING; /* parents read as zeroes */
	if (vstd_io_mem_view(&io, data, size, "fuzz.vhdx") < 0) {
		free(expanded);
		return 0;
	}
	if (vstd_disk_open_io(&d, io, NULL, &oo) == 0) {
		uint64_t off = 0, dsize = vstd_disk_size(d), done = 0;
		vstd_disk_check_result cr = {0};
		for (int i = 0; i < 64 && off < dsize; i++) {
			vstd_block_status st;
			size_t n;
			if (vstd_disk_block_status(d, off, dsize - off, &st) < 0 || st.length == 0)
				break;
			n = st.length < sizeof(buf) ? (size_t)st.length : sizeof(buf);
			if (done < ((uint64_t)4 << 20)) {
				(void)vstd_disk_read(d, off, buf, n);
				done += n;
			}
			off += st.length;
		}
		(void)vstd_disk_check(d, 0, &cr);
		vstd_disk_check_result_clear(&cr);
		vstd_disk_close(d);
	}
	vstd_io_close(io);
	free(expanded);
	return 0;
}
