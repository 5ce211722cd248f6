/*
 * fuzz/vmdk/fuzz_vmdk.c - open a VMDK held in memory, read it and walk its
 * allocation map.  Descriptors naming extent files are refused (a memory
 * image never opens files), so this exercises the descriptor parser, the
 * sparse and stream headers, grain tables and compressed grains.  A text
 * that parses as a descriptor also goes through the edits a resize makes
 * (extent lines added and dropped, an extent's length, the geometry).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "disk/vmdk/vmdk_internal.h"
#include "vstd/disk.h"
#include "vstd/io.h"

static void edit_descriptor(const uint8_t *data, size_t size)
{
	struct vmdk_desc desc;
	char *text, *t;
	if (size > ((size_t)1 << 20) || (text = vstd_malloc(size + 1)) == NULL)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	if (vmdk_desc_parse(text, size, "fuzz", &desc) == 0) {
		size_t n = strlen(text);
		vstd_free(vmdk_desc_edit_extents(text, n, desc.n_ext, "RW 1 FLAT \"f\" 0\n"));
		vstd_free(vmdk_desc_edit_extents(text, n, 1, ""));
		vstd_free(vmdk_desc_set_cylinders(text, n, (uint64_t)1 << 33));
		t = vmdk_desc_set_extent_sectors(text, n, desc.n_ext - 1, 12345);
		vstd_free(t);
		vmdk_desc_clear(&desc);
	}
	vstd_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_io *io = NULL;
	vstd_disk *d = NULL;
	static uint8_t buf[256 * 1024];
	oo.format = "vmdk";
	if (vstd_io_mem_view(&io, data, size, "fuzz.vmdk") < 0)
		return 0;
	if (vstd_disk_open_io(&d, io, NULL, &oo) == 0) {
		uint64_t off = 0, dsize = vstd_disk_size(d), done = 0;
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
		vstd_disk_close(d);
	}
	vstd_io_close(io);
	edit_descriptor(data, size);
	return 0;
}
