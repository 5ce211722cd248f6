/*
 * tools/common/args.c - parsing sizes, numbers and --output values.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
/* vstd_parse_size: the library's own parser, so the CLI and -o options agree */
#include "../lib/core/kv.h"

int cli_parse_size(const char *text, const char *what, uint64_t *out)
{
	if (vstd_parse_size(text, (uint64_t)INT64_MAX, what, out) < 0) {
		cli_error(CLI_EXIT_ERROR, "%s (sizes are bytes or a number with k, M, G, T, P, E)",
		          vstd_error_last()->message);
		return -1;
	}
	return 0;
}

int cli_parse_uint(const char *text, const char *what, unsigned long max, unsigned long *out)
{
	char *end = NULL;
	unsigned long v;
	errno = 0;
	if (text == NULL || text[0] < '0' || text[0] > '9')
		goto bad;
	v = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	cli_error(CLI_EXIT_ERROR, "%s: invalid value '%s' (a number from 0 to %lu)", what,
	          text ? text : "", max);
	return -1;
}

int cli_parse_output(const char *text, enum cli_output *out)
{
	if (strcmp(text, "human") == 0)
		*out = CLI_OUTPUT_HUMAN;
	else if (strcmp(text, "json") == 0)
		*out = CLI_OUTPUT_JSON;
	else {
		cli_error(CLI_EXIT_ERROR, "--output: '%s' is not 'human' or 'json'", text);
		return -1;
	}
	return 0;
}
