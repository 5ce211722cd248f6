/*
 * fuzz/qcow2/fuzz_qcow2.c - open a qcow2 image held in memory, walk its
 * allocation map, read it (plain, zero, compressed, subcluster clusters),
 * list and open its snapshots, and run the consistency check.  Backing
 * and external data files are never opened from a memory image.
 */
#include <stdint.h>
#include <stdlib.h>

#include "vstd/disk.h"
#include "vstd/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_io *io = NULL;
	vstd_disk *d = NULL;
	static uint8_t buf[256 * 1024];
	oo.format = "qcow2";
	oo.cache_size = 1 << 20;
	if (vstd_io_mem_view(&io, data, size, "fuzz.qcow2") < 0)
		return 0;
	if (vstd_disk_open_io(&d, io, NULL, &oo) == 0) {
		uint64_t off = 0, dsize = vstd_disk_size(d), done = 0;
		vstd_disk_check_result res;
		vstd_disk_snapshot *list = NULL;
		size_t n = 0;
		for (int i = 0; i < 64 && off < dsize; i++) {
			vstd_block_status st;
			size_t len;
			if (vstd_disk_block_status(d, off, dsize - off, &st) < 0 || st.length == 0)
				break;
			len = st.length < sizeof(buf) ? (size_t)st.length : sizeof(buf);
			if (done < ((uint64_t)4 << 20)) {
				(void)vstd_disk_read(d, off, buf, len);
				done += len;
			}
			off += st.length;
		}
		if (dsize > 4096)
			(void)vstd_disk_read(d, dsize - 4096, buf, 4096);
		if (vstd_disk_snapshot_list(d, &list, &n) == 0 && n > 0) {
			vstd_disk *v = NULL;
			if (vstd_disk_snapshot_open(&v, d, list[0].id) == 0) {
				if (vstd_disk_size(v) > 0)
					(void)vstd_disk_read(v, 0, buf,
					                     vstd_disk_size(v) < 65536
					                             ? (size_t)vstd_disk_size(v)
					                             : 65536);
				vstd_disk_close(v);
			}
		}
		vstd_disk_snapshot_list_free(list, n);
		if (vstd_disk_check(d, 0, &res) == 0)
			vstd_disk_check_result_clear(&res);
		vstd_disk_close(d);
	}
	vstd_io_close(io);
	return 0;
}
