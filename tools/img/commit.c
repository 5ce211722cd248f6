/*
 * tools/img/commit.c - `vstd img commit`.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/cli.h"

static const char help_text[] =
        "Write the image's own data into its backing file, then empty the image\n"
        "(unless -d).\n\n"
        "  -f fmt   the image's format (default: probe)\n"
        "  -b base  the backing file to commit into (only the direct backing file)\n"
        "  -d       keep the image's data (do not empty it)\n"
        "  -p       show progress on stderr\n"
        "  -q       quiet\n";

int img_commit(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *format = NULL, *base = NULL;
	int keep = 0, progress = 0, quiet = 0, opt, rc = CLI_EXIT_OK;
	vstd_disk *d = NULL;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "hf:b:dpqt:r:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h': return cli_img_help("commit", help_text);
		case 'f': format = optarg; break;
		case 'b': base = optarg; break;
		case 'd': keep = 1; break;
		case 'p': progress = 1; break;
		case 'q': quiet = 1; break;
		case 't':
		case 'r': break;
		default: return cli_bad_option(CLI_EXIT_ERROR, argc, argv);
		}
	}
	if (optind != argc - 1)
		return cli_error(CLI_EXIT_ERROR, "expecting one image file name (see --help)");
	if (cli_open(&d, argv[optind], format, VSTD_DISK_RDWR, NULL) < 0)
		return CLI_EXIT_ERROR;
	if (base != NULL && vstd_disk_backing(d) != NULL) {
		const char *bn = vstd_disk_filename(vstd_disk_backing(d));
		size_t lb = strlen(base), ln = strlen(bn);
		if (strcmp(bn, base) != 0 &&
		    !(ln > lb && strcmp(bn + ln - lb, base) == 0 && bn[ln - lb - 1] == '/')) {
			vstd_disk_close(d);
			return cli_error(
			        CLI_EXIT_ERROR,
			        "-b %s: only the image's direct backing file (%s) is supported",
			        base, bn);
		}
	}
	if (vstd_disk_commit(d, keep, progress && !quiet ? cli_progress : NULL, NULL) < 0)
		rc = cli_lib_error(CLI_EXIT_ERROR, NULL);
	else if (!quiet) {
		cli_progress_done();
		printf("Image committed.\n");
	}
	cli_progress_done();
	vstd_disk_close(d);
	return rc;
}
