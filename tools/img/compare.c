/*
 * tools/img/compare.c - `vstd img compare`: exit 0 identical, 1 different,
 * 2 error (qemu-img's codes).
 */
#include <getopt.h>
#include <stdio.h>

#include "common/cli.h"

#define CMP_DIFFERENT 1
#define CMP_ERROR 2

static const char help_text[] =
        "Compare the guest-visible contents of two images.  Without -s, images of\n"
        "different sizes are identical if the larger one's extra part reads as zeroes.\n\n"
        "  -f fmt   format of the first image (default: probe)\n"
        "  -F fmt   format of the second image (default: probe)\n"
        "  -s       strict: sizes and allocation must match too\n"
        "  -p       show progress on stderr\n"
        "  -q       quiet: only the exit status\n"
        "  -U       accepted for qemu-img compatibility\n\n"
        "Exit status: 0 identical, 1 different, 2 error.\n";

int img_compare(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"force-share", no_argument, NULL, 'U'},
	        {NULL, 0, NULL, 0},
	};
	const char *fa = NULL, *fb = NULL;
	unsigned flags = 0;
	int quiet = 0, progress = 0, opt, rc;
	vstd_disk *a = NULL, *b = NULL;
	vstd_disk_compare_result res;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "hf:F:spqUT:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h': return cli_img_help("compare", help_text);
		case 'f': fa = optarg; break;
		case 'F': fb = optarg; break;
		case 's': flags |= VSTD_COMPARE_STRICT; break;
		case 'p': progress = 1; break;
		case 'q': quiet = 1; break;
		case 'U':
		case 'T': break;
		default: return cli_bad_option(CMP_ERROR, argc, argv);
		}
	}
	if (argc - optind != 2)
		return cli_error(CMP_ERROR, "expecting two image file names (see --help)");
	if (cli_open(&a, argv[optind], fa, 0, NULL) < 0)
		return CMP_ERROR;
	if (cli_open(&b, argv[optind + 1], fb, 0, NULL) < 0) {
		vstd_disk_close(a);
		return CMP_ERROR;
	}
	rc = vstd_disk_compare(a, b, flags, progress && !quiet ? cli_progress : NULL, NULL, &res);
	cli_progress_done();
	if (rc < 0) {
		rc = cli_lib_error(CMP_ERROR, NULL);
	} else if (res.identical) {
		if (!quiet)
			printf("Images are identical.\n");
		rc = 0;
	} else {
		if (!quiet) {
			if (res.size_mismatch && (flags & VSTD_COMPARE_STRICT))
				printf("Strict mode: Image size mismatch!\n");
			else
				printf("Content mismatch at offset %llu!\n",
				       (unsigned long long)res.first_difference);
		}
		rc = CMP_DIFFERENT;
	}
	vstd_disk_close(a);
	vstd_disk_close(b);
	return rc;
}
