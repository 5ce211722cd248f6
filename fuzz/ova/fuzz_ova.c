/*
 * fuzz/ova/fuzz_ova.c - the OVA reader on one memory buffer: tar index,
 * descriptor, streaming of every referenced file (chunks, gzip), manifest
 * and certificate verification.  Never extracts (no file system writes).
 */
#include <stdint.h>
#include <stdlib.h>

#include "vstd/ovf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sink(const void *d, size_t len, void *opaque)
{
	*(uint64_t *)opaque += len;
	return *(uint64_t *)opaque > (64u << 20); /* stop runaway inflation */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vstd_io *io = NULL;
	if (vstd_io_mem_view(&io, data, size, "fuzz.ova") != 0)
		return 0;
	vstd_ova *ova = NULL;
	vstd_ova_open_opts oo = VSTD_OVA_OPEN_OPTS_INIT;
	oo.max_gzip_tar = 16u << 20;
	oo.max_members = 256;
	if (vstd_ova_open_io(&ova, io, "fuzz.ova", &oo) == 0) {
		const vstd_ovf *ovf = NULL;
		if (vstd_ova_descriptor(ova, &ovf) == 0) {
			const vstd_ovf_model *m = vstd_ovf_model_get(ovf);
			for (size_t i = 0; i < m->n_files && i < 8; i++) {
				uint64_t n = 0;
				if (m->files[i].id)
					(void)vstd_ova_stream_file(ova, m->files[i].id, 0, sink,
					                           &n);
			}
			vstd_ovf_validate_opts vo = VSTD_OVF_VALIDATE_OPTS_INIT;
			vo.ova = ova;
			vstd_ovf_report *rep = NULL;
			if (vstd_ovf_validate(ovf, &vo, &rep) == 0)
				vstd_ovf_report_free(rep);
			vstd_ovf_verify_opts vf = VSTD_OVF_VERIFY_OPTS_INIT;
			vf.ca_file = "/nonexistent";
			vstd_ovf_verify_result r = {0};
			(void)vstd_ova_verify(ova, &vf, &r);
			vstd_ovf_verify_result_clear(&r);
		}
		vstd_ova_close(ova);
	}
	vstd_io_close(io);
	return 0;
}
