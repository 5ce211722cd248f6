/*
 * tools/common/json_out.c - JSON printing and human-readable sizes.
 */
#include <json-c/json.h>
#include <stdio.h>

#include "common/cli.h"

int cli_print_json(struct json_object *obj)
{
	const char *text = json_object_to_json_string_ext(
	        obj,
	        JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = 0;
	if (text == NULL)
		rc = cli_error(CLI_EXIT_ERROR, "out of memory printing JSON");
	else
		printf("%s\n", text);
	json_object_put(obj);
	return rc;
}

void cli_format_size(uint64_t bytes, char *buf, size_t cap)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v = (double)bytes;
	size_t u = 0;
	if (bytes < 1024) {
		snprintf(buf, cap, "%llu B", (unsigned long long)bytes);
		return;
	}
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	/* qemu prints up to three significant digits: 1 GiB, 1.5 GiB, 10.2 MiB */
	if (v == (double)(uint64_t)v)
		snprintf(buf, cap, "%llu %s", (unsigned long long)v, units[u]);
	else if (v < 10)
		snprintf(buf, cap, "%.3g %s", v, units[u]);
	else
		snprintf(buf, cap, "%.3g %s", v, units[u]);
}
