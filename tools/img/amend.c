/*
 * tools/img/amend.c - `vstd img amend`.
 */
#include <getopt.h>
#include <stdio.h>

#include "common/cli.h"

int cli_wants_option_help(const char *opts);

static const char help_text[] =
        "Change creation options of an existing image in place (qcow2: compat,\n"
        "refcount_bits, lazy_refcounts, ...).\n\n"
        "  -o options  key=value,...; '-o help' lists the format's options\n"
        "  -f fmt      the image's format (default: probe)\n"
        "  -p          show progress on stderr\n"
        "  -q          quiet\n"
        "  --force     accepted for qemu-img compatibility\n";

int img_amend(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"force", no_argument, NULL, 'X'},
	        {NULL, 0, NULL, 0},
	};
	const char *format = NULL, *options = NULL;
	int progress = 0, opt, rc = CLI_EXIT_OK;
	vstd_disk *d = NULL;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "hf:o:pqt:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h': return cli_img_help("amend", help_text);
		case 'f': format = optarg; break;
		case 'o': options = optarg; break;
		case 'p': progress = 1; break;
		case 'q': progress = 0; break;
		case 't':
		case 'X': break;
		default: return cli_bad_option(CLI_EXIT_ERROR, argc, argv);
		}
	}
	if (cli_wants_option_help(options))
		return cli_print_options_help(format != NULL ? format : NULL);
	if (options == NULL)
		return cli_error(CLI_EXIT_ERROR, "give the options to change with -o");
	if (optind != argc - 1)
		return cli_error(CLI_EXIT_ERROR, "expecting one image file name (see --help)");
	if (cli_open(&d, argv[optind], format, VSTD_DISK_RDWR | VSTD_DISK_NO_BACKING, NULL) < 0)
		return CLI_EXIT_ERROR;
	if (vstd_disk_amend(d, options, progress ? cli_progress : NULL, NULL) < 0 ||
	    vstd_disk_flush(d) < 0)
		rc = cli_lib_error(CLI_EXIT_ERROR, NULL);
	cli_progress_done();
	vstd_disk_close(d);
	return rc;
}
