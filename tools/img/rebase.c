/*
 * tools/img/rebase.c - `vstd img rebase`.
 */
#include <getopt.h>
#include <stdio.h>

#include "common/cli.h"

static const char help_text[] =
        "Give an image a new backing file.  Safe mode (default) first copies into\n"
        "the image every area where the old and new backing files differ, so the\n"
        "guest sees the same disk; -u only rewrites the name.  -b \"\" removes the\n"
        "backing file (its contents are copied in first).\n\n"
        "  -b backing   the new backing file (relative to the image's directory)\n"
        "  -F fmt       its format (required with -b)\n"
        "  -f fmt       the image's format (default: probe)\n"
        "  -u           unsafe: only rewrite the backing name\n"
        "  -p           show progress on stderr\n"
        "  -q           quiet\n"
        "  -U           accepted for qemu-img compatibility\n";

int img_rebase(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"force-share", no_argument, NULL, 'U'},
	        {NULL, 0, NULL, 0},
	};
	const char *format = NULL, *backing = NULL, *bfmt = NULL;
	unsigned flags = 0;
	int progress = 0, opt, rc = CLI_EXIT_OK, have_b = 0;
	vstd_disk *d = NULL;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "hf:b:F:upqUt:T:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h': return cli_img_help("rebase", help_text);
		case 'f': format = optarg; break;
		case 'b':
			backing = optarg;
			have_b = 1;
			break;
		case 'F': bfmt = optarg; break;
		case 'u': flags |= VSTD_REBASE_UNSAFE; break;
		case 'p': progress = 1; break;
		case 'q': progress = 0; break;
		case 'U':
		case 't':
		case 'T': break;
		default: return cli_bad_option(CLI_EXIT_ERROR, argc, argv);
		}
	}
	if (!have_b)
		return cli_error(CLI_EXIT_ERROR,
		                 "give the new backing file with -b (or -b \"\" for none)");
	if (optind != argc - 1)
		return cli_error(CLI_EXIT_ERROR, "expecting one image file name (see --help)");
	if (backing != NULL && backing[0] != '\0' && bfmt == NULL)
		return cli_error(CLI_EXIT_ERROR,
		                 "give the new backing file's format with -F <format>");
	if (cli_open(&d, argv[optind], format,
	             VSTD_DISK_RDWR | ((flags & VSTD_REBASE_UNSAFE) ? VSTD_DISK_NO_BACKING : 0),
	             NULL) < 0)
		return CLI_EXIT_ERROR;
	if (vstd_disk_rebase(d, backing, bfmt, flags, progress ? cli_progress : NULL, NULL) < 0)
		rc = cli_lib_error(CLI_EXIT_ERROR, NULL);
	cli_progress_done();
	vstd_disk_close(d);
	return rc;
}
