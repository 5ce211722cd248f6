/*
 * tools/common/open.c - opening images and listing creation options.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cli.h"

int cli_open(vstd_disk **out, const char *path, const char *format, unsigned flags,
             const char *backing_format)
{
	vstd_disk_open_opts o = VSTD_DISK_OPEN_OPTS_INIT;
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		cli_error(CLI_EXIT_ERROR, "%s: is a directory, not an image file", path);
		return -1;
	}
	o.format = format;
	o.flags = flags;
	o.backing_format = backing_format;
	if (vstd_disk_open(out, path, &o) < 0) {
		cli_lib_error(CLI_EXIT_ERROR, NULL);
		return -1;
	}
	return 0;
}

static void print_format_options(const char *format)
{
	size_t n = 0;
	const vstd_disk_option_desc *d = vstd_disk_format_options(format, &n);
	printf("Supported options (%s):\n", format);
	printf("  %-24s %-7s %s\n", "size", "size", "Virtual disk size");
	for (size_t i = 0; i < n; i++) {
		printf("  %-24s %-7s %s", d[i].name, d[i].type, d[i].help ? d[i].help : "");
		if (d[i].default_value != NULL)
			printf(" (default: %s)", d[i].default_value);
		putchar('\n');
	}
}

int cli_print_options_help(const char *format)
{
	if (format != NULL) {
		if (vstd_disk_format_description(format) == NULL) {
			vstd_disk_open_opts o = VSTD_DISK_OPEN_OPTS_INIT;
			(void)o;
			return cli_error(CLI_EXIT_ERROR,
			                 "unknown disk format '%s' (see 'vstd img --help')",
			                 format);
		}
		print_format_options(format);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < vstd_disk_format_count(); i++) {
		if (i)
			putchar('\n');
		print_format_options(vstd_disk_format_name(i));
	}
	return CLI_EXIT_OK;
}
