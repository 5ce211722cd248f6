/*
 * tools/img/create.c - `vstd img create`.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/cli.h"

static const char help_text[] =
        "Create a new, empty image.\n\n"
        "  -f fmt         format of the new image (default: raw)\n"
        "  -o options     creation options key=value,...; '-o help' lists them\n"
        "  -b backing     backing file (its format must be given with -F)\n"
        "  -F fmt         format of the backing file\n"
        "  -u             do not open the backing file (then a size is required)\n"
        "  -q             quiet\n"
        "  size           virtual size in bytes, or with k, M, G, T, P, E;\n"
        "                 may be left out with -b (the backing file's size)\n";

/* "help" or "?" anywhere in an -o list asks for the option list. */
int cli_wants_option_help(const char *opts);
int cli_wants_option_help(const char *opts)
{
	return opts != NULL && (strcmp(opts, "help") == 0 || strcmp(opts, "?") == 0 ||
	                        strstr(opts, ",help") != NULL || strncmp(opts, "help,", 5) == 0);
}

int img_create(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"format", required_argument, NULL, 'f'},
	        {"options", required_argument, NULL, 'o'},
	        {"backing", required_argument, NULL, 'b'},
	        {"backing-format", required_argument, NULL, 'F'},
	        {NULL, 0, NULL, 0},
	};
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	int quiet = 0, opt;
	const char *path;
	co.format = "raw";
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "hf:o:b:F:uqU", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h': return cli_img_help("create", help_text);
		case 'f': co.format = optarg; break;
		case 'o': co.options = optarg; break;
		case 'b': co.backing_file = optarg; break;
		case 'F': co.backing_format = optarg; break;
		case 'u': co.flags |= VSTD_DISK_CREATE_NO_BACKING_CHECK; break;
		case 'q': quiet = 1; break;
		case 'U': break;
		default: return cli_bad_option(CLI_EXIT_ERROR, argc, argv);
		}
	}
	if (cli_wants_option_help(co.options))
		return cli_print_options_help(co.format);
	if (vstd_disk_format_description(co.format) == NULL)
		return cli_error(CLI_EXIT_ERROR, "unknown disk format '%s' (see 'vstd img --help')",
		                 co.format);
	if (optind >= argc)
		return cli_error(CLI_EXIT_ERROR, "expecting a file name (see --help)");
	path = argv[optind++];
	if (optind < argc) {
		if (cli_parse_size(argv[optind], "size", &co.size) < 0)
			return CLI_EXIT_ERROR;
		optind++;
	} else if (co.backing_file == NULL) {
		return cli_error(CLI_EXIT_ERROR, "expecting a size after the file name (e.g. 10G)");
	}
	if (optind < argc)
		return cli_error(CLI_EXIT_ERROR, "unexpected argument '%s' (see --help)",
		                 argv[optind]);
	if (co.backing_file != NULL && co.backing_format == NULL)
		return cli_error(
		        CLI_EXIT_ERROR,
		        "a backing file needs its format: add -F <format> (e.g. -F qcow2)");
	if (!quiet) {
		printf("Formatting '%s', fmt=%s", path, co.format);
		if (co.size)
			printf(" size=%llu", (unsigned long long)co.size);
		if (co.backing_file)
			printf(" backing_file=%s backing_fmt=%s", co.backing_file,
			       co.backing_format);
		if (co.options && co.options[0])
			printf(" %s", co.options);
		printf("\n");
		fflush(stdout);
	}
	if (vstd_disk_create(path, &co) < 0)
		return cli_lib_error(CLI_EXIT_ERROR, NULL);
	return CLI_EXIT_OK;
}
