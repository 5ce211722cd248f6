/*
 * tools/img/resize.c - `vstd img resize`.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/cli.h"

static const char help_text[] =
        "Change an image's virtual size.  The size may be absolute or relative\n"
        "(+10G, -1G).  Shrinking loses the data past the new end and needs --shrink.\n\n"
        "  -f fmt                 the image's format (default: probe)\n"
        "  --preallocation=mode   off, metadata, falloc or full for the new area\n"
        "  --shrink               allow shrinking\n"
        "  -q                     quiet\n";

int img_resize(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"format", required_argument, NULL, 'f'},
	        {"preallocation", required_argument, NULL, 'P'},
	        {"shrink", no_argument, NULL, 'S'},
	        {NULL, 0, NULL, 0},
	};
	const char *format = NULL, *prealloc = NULL, *size_arg;
	unsigned flags = 0;
	int quiet = 0, opt, sign = 0, rc = CLI_EXIT_OK;
	uint64_t size, cur;
	vstd_disk *d = NULL;
	opterr = 0;
	/* "-1G" is a size here, not an option: stop option parsing at it */
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1] >= '0' && argv[i][1] <= '9' && i == argc - 1) {
			argc--;
			size_arg = argv[i];
			sign = -1;
			break;
		}
	}
	while ((opt = getopt_long(argc, argv, "hf:qU", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h': return cli_img_help("resize", help_text);
		case 'f': format = optarg; break;
		case 'P': prealloc = optarg; break;
		case 'S': flags |= VSTD_DISK_RESIZE_SHRINK; break;
		case 'q': quiet = 1; break;
		case 'U': break;
		default: return cli_bad_option(CLI_EXIT_ERROR, argc, argv);
		}
	}
	if (sign == 0) {
		if (argc - optind != 2)
			return cli_error(CLI_EXIT_ERROR,
			                 "expecting a file name and a size (see --help)");
		size_arg = argv[optind + 1];
		if (size_arg[0] == '+') {
			sign = 1;
		}
	} else if (argc - optind != 1) {
		return cli_error(CLI_EXIT_ERROR, "expecting a file name and a size (see --help)");
	}
	if (cli_parse_size(sign ? size_arg + 1 : size_arg, "size", &size) < 0)
		return CLI_EXIT_ERROR;
	if (cli_open(&d, argv[optind], format, VSTD_DISK_RDWR | VSTD_DISK_NO_BACKING, NULL) < 0)
		return CLI_EXIT_ERROR;
	cur = vstd_disk_size(d);
	if (sign < 0) {
		if (size > cur) {
			vstd_disk_close(d);
			return cli_error(CLI_EXIT_ERROR,
			                 "cannot shrink by %s: the image is only %llu bytes",
			                 size_arg + 1, (unsigned long long)cur);
		}
		size = cur - size;
	} else if (sign > 0) {
		if (size > (uint64_t)INT64_MAX - cur) {
			vstd_disk_close(d);
			return cli_error(CLI_EXIT_ERROR, "the new size would be too large");
		}
		size = cur + size;
	}
	if (vstd_disk_resize(d, size, flags, prealloc) < 0 || vstd_disk_flush(d) < 0)
		rc = cli_lib_error(CLI_EXIT_ERROR, NULL);
	else if (!quiet)
		printf("Image resized.\n");
	vstd_disk_close(d);
	return rc;
}
