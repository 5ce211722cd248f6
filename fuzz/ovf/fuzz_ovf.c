/*
 * fuzz/ovf/fuzz_ovf.c - the OVF parser, validator, writer, environment and
 * translators on one memory buffer.
 */
#include <stdint.h>
#include <stdlib.h>

#include "vstd/ovf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vstd_ovf *ovf = NULL;
	vstd_ovf_parse_opts po = VSTD_OVF_PARSE_OPTS_INIT;
	po.max_input = 1u << 20;
	if (vstd_ovf_parse(&ovf, data, size, "fuzz.ovf", &po) != 0)
		return 0;
	for (int strict = 0; strict <= 1; strict++) {
		vstd_ovf_validate_opts vo = VSTD_OVF_VALIDATE_OPTS_INIT;
		vo.flags = VSTD_OVF_DESCRIPTOR_ONLY | (strict ? VSTD_OVF_STRICT : 0);
		vstd_ovf_report *rep = NULL;
		if (vstd_ovf_validate(ovf, &vo, &rep) == 0)
			vstd_ovf_report_free(rep);
	}
	char *out = NULL;
	size_t len = 0;
	if (vstd_ovf_write(ovf, &out, &len) == 0)
		vstd_ovf_buffer_free(out);
	if (vstd_ovf_env_build(ovf, NULL, NULL, NULL, 0, &out, &len) == 0)
		vstd_ovf_buffer_free(out);
	/* every VirtualSystem's hardware choice, for every target */
	const vstd_ovf_model *m = vstd_ovf_model_get(ovf);
	const vstd_vm *stack[32];
	size_t sp = 0;
	if (m->root != NULL)
		stack[sp++] = m->root;
	while (sp > 0) {
		const vstd_vm *vm = stack[--sp];
		for (size_t i = 0; i < vm->n_children && sp < 32; i++)
			stack[sp++] = vm->children[i];
		for (int t = VSTD_OVF_TARGET_LIBVIRT; t <= VSTD_OVF_TARGET_VMM; t++) {
			const vstd_ovf_hardware *hw = NULL;
			(void)vstd_ovf_select_hardware(ovf, vm, t, NULL, &hw);
			for (size_t i = 0; vm->hardware != NULL && i < vm->n_hardware_sections; i++)
				(void)vstd_ovf_hardware_fit(&vm->hardware[i], t);
		}
	}
	vstd_ovf_translate_opts to = VSTD_OVF_TRANSLATE_OPTS_INIT;
	to.disk_dir = "/nonexistent";
	if (vstd_ovf_to_libvirt(ovf, &to, &out, &len) == 0)
		vstd_ovf_buffer_free(out);
	char **argv = NULL;
	if (vstd_ovf_to_qemu_argv(ovf, &to, &argv, NULL) == 0)
		vstd_ovf_argv_free(argv);
	vstd_ovf_free(ovf);
	return 0;
}
