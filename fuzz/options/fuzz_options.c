/*
 * fuzz/options/fuzz_options.c - the -o option-list and size parsers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/kv.h"
#include "vstd/vstd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	vstd_kv *kv = NULL;
	uint64_t v;
	int b;
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	(void)vstd_parse_size(text, 0, "size", &v);
	if (vstd_kv_parse(&kv, text, "fuzz") == 0) {
		for (size_t i = 0; i < vstd_kv_count(kv); i++) {
			const char *key = vstd_kv_key(kv, i);
			(void)vstd_kv_get_size(kv, key, 0, &v);
			(void)vstd_kv_get_bool(kv, key, 0, &b);
			(void)vstd_kv_get_u64(kv, key, 0, &v);
		}
		(void)vstd_kv_unused(kv);
		vstd_kv_free(kv);
	}
	free(text);
	return 0;
}
