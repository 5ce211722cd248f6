/*
 * fuzz/common/disk_fuzz.h - the body shared by the disk-format fuzz targets.
 *
 * fuzz_disk_walk: walk the allocation map (bounded: 64 extents, 4 MiB read),
 * read the end, check, describe.
 * fuzz_disk_image: open the input read-only as `format` and walk it; small
 * inputs (<= 1 MiB) are also opened writable on a private, bounded copy and
 * written, flushed, repaired and walked again, so the allocation paths see
 * hostile metadata too.  A memory image never opens a parent or an extent
 * file (no name is given), so differencing images read as if alone.
 */
#ifndef VSTD_FUZZ_DISK_FUZZ_H
#define VSTD_FUZZ_DISK_FUZZ_H

#include <stdint.h>
#include <stdlib.h>

#include "vstd/disk.h"
#include "vstd/io.h"

static inline void fuzz_disk_walk(vstd_disk *d)
{
	static uint8_t buf[256 * 1024];
	uint64_t off = 0, dsize = vstd_disk_size(d), done = 0;
	vstd_disk_check_result cr;
	vstd_disk_info *info = NULL;
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
	if (dsize > 4096)
		(void)vstd_disk_read(d, dsize - 4096, buf, 4096);
	if (vstd_disk_check(d, 0, &cr) == 0)
		vstd_disk_check_result_clear(&cr);
	if (vstd_disk_info_get(d, &info) == 0)
		vstd_disk_info_free(info);
}

static inline int fuzz_disk_image(const uint8_t *data, size_t size, const char *format,
                                  const char *name)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_io *io = NULL;
	vstd_disk *d = NULL;
	oo.format = format;
	if (vstd_io_mem_view(&io, data, size, name) < 0)
		return 0;
	if (vstd_disk_open_io(&d, io, NULL, &oo) == 0) {
		fuzz_disk_walk(d);
		vstd_disk_close(d);
	}
	vstd_io_close(io);
	if (size > ((size_t)1 << 20))
		return 0;
	/* writable copy: allocation, bitmap/map updates, flush, repair */
	if (vstd_io_mem_new(&io, data, size, size + ((size_t)8 << 20),
	                    VSTD_IO_READ | VSTD_IO_WRITE) < 0)
		return 0;
	oo.flags = VSTD_DISK_RDWR;
	if (vstd_disk_open_io(&d, io, NULL, &oo) == 0) {
		static uint8_t w[4096 + 3];
		uint64_t dsize = vstd_disk_size(d);
		vstd_disk_check_result cr;
		for (size_t i = 0; i < sizeof(w); i++)
			w[i] = (uint8_t)(i * 7);
		if (dsize > sizeof(w)) {
			(void)vstd_disk_write(d, 1, w, sizeof(w));
			(void)vstd_disk_write(d, dsize / 2 - 100, w, sizeof(w));
			(void)vstd_disk_write_zeroes(d, dsize - sizeof(w), sizeof(w), 0);
		}
		(void)vstd_disk_flush(d);
		if (vstd_disk_check(d, VSTD_CHECK_REPAIR_ALL, &cr) == 0)
			vstd_disk_check_result_clear(&cr);
		fuzz_disk_walk(d);
		vstd_disk_close(d);
	}
	vstd_io_close(io);
	return 0;
}

#endif
