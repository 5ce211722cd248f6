/*
 * tools/img/convert.c - `vstd img convert`.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/cli.h"

int cli_wants_option_help(const char *opts);

static const char help_text[] =
        "Copy an image's guest-visible contents into a new image, possibly of another\n"
        "format.  Holes in the source are never read; zero blocks become holes.\n\n"
        "  -f fmt            the source's format (default: probe)\n"
        "  -O fmt            the target's format (default: raw)\n"
        "  -o options        the target's creation options; '-o help' lists them\n"
        "  -B backing        the target gets this backing file; areas equal to it stay\n"
        "                    unallocated\n"
        "  -F fmt            format of the -B backing file\n"
        "  -c                compress the target's data (formats that support it)\n"
        "  -n                the target exists: do not create it\n"
        "  -S size           zero-detection granularity (default 4k; 0: write zeroes as data)\n"
        "  -m num            requests in flight (default 8)\n"
        "  -l snapshot       convert this internal snapshot of the source\n"
        "  --target-is-zero  with -n: the target already reads as zeroes\n"
        "  -C                use copy offloading where possible\n"
        "  -p                show progress on stderr\n"
        "  -q                quiet\n"
        "  -t cache          unsafe (default, as qemu-img: no final flush), writeback,\n"
        "                    none, writethrough, directsync (flush the target at the end)\n"
        "  -U, -W, -T        accepted for qemu-img compatibility\n";

int img_convert(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"target-is-zero", no_argument, NULL, 'z'},
	        {"force-share", no_argument, NULL, 'U'},
	        {"salvage", no_argument, NULL, 'v'},
	        {NULL, 0, NULL, 0},
	};
	vstd_disk_convert_opts o = VSTD_DISK_CONVERT_OPTS_INIT;
	const char *src_format = NULL, *snapshot = NULL;
	int progress = 0, opt, rc;
	vstd_disk *src = NULL;
	uint64_t v;
	unsigned long m;
	o.format = "raw";
	o.flags = VSTD_CONVERT_NO_FLUSH; /* as qemu-img: -t unsafe unless told */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "hcpqnf:O:o:B:F:S:m:l:CUWt:T:r:", longopts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'h': return cli_img_help("convert", help_text);
		case 'c': o.flags |= VSTD_CONVERT_COMPRESS; break;
		case 'p': progress = 1; break;
		case 'q': progress = 0; break;
		case 'n': o.flags |= VSTD_CONVERT_NO_CREATE; break;
		case 'f': src_format = optarg; break;
		case 'O': o.format = optarg; break;
		case 'o': o.options = optarg; break;
		case 'B': o.backing_file = optarg; break;
		case 'F': o.backing_format = optarg; break;
		case 'S':
			if (cli_parse_size(optarg, "-S", &v) < 0)
				return CLI_EXIT_ERROR;
			if (v == 0)
				o.flags |= VSTD_CONVERT_NO_ZERO_DETECT;
			else if (v % 512 != 0 || v > ((uint64_t)2 << 20))
				return cli_error(
				        CLI_EXIT_ERROR,
				        "-S %s: the sparse size must be a multiple of 512 up to 2M",
				        optarg);
			o.sparse_size = v;
			break;
		case 'm':
			if (cli_parse_uint(optarg, "-m", 64, &m) < 0)
				return CLI_EXIT_ERROR;
			if (m < 1)
				return cli_error(CLI_EXIT_ERROR,
				                 "-m: give 1 to 64 requests in flight");
			o.parallel = (unsigned)m;
			break;
		case 'l':
			/* qemu-img's "snapshot.name=x" / "snapshot.id=x" forms too */
			snapshot = optarg;
			if (strncmp(snapshot, "snapshot.name=", 14) == 0)
				snapshot += 14;
			else if (strncmp(snapshot, "snapshot.id=", 12) == 0)
				snapshot += 12;
			break;
		case 'C': o.flags |= VSTD_CONVERT_COPY_RANGE; break;
		case 'z': o.flags |= VSTD_CONVERT_TARGET_IS_ZERO; break;
		case 't':
			/* qemu-img convert's default cache mode is "unsafe": no
			 * final flush.  Every other mode flushes. */
			if (strcmp(optarg, "unsafe") == 0)
				o.flags |= VSTD_CONVERT_NO_FLUSH;
			else if (strcmp(optarg, "writeback") == 0 || strcmp(optarg, "none") == 0 ||
			         strcmp(optarg, "writethrough") == 0 ||
			         strcmp(optarg, "directsync") == 0)
				o.flags &= ~(unsigned)VSTD_CONVERT_NO_FLUSH;
			else
				return cli_error(
				        CLI_EXIT_ERROR,
				        "-t '%s': give none, writeback, writethrough, directsync "
				        "or unsafe",
				        optarg);
			break;
		case 'U':
		case 'W':
		case 'T':
		case 'r': break;
		case 'v': return cli_error(CLI_EXIT_ERROR, "--salvage is not supported");
		default: return cli_bad_option(CLI_EXIT_ERROR, argc, argv);
		}
	}
	if (cli_wants_option_help(o.options))
		return cli_print_options_help(o.format);
	if (vstd_disk_format_description(o.format) == NULL)
		return cli_error(CLI_EXIT_ERROR,
		                 "unknown target format '%s' (see 'vstd img --help')", o.format);
	if (argc - optind < 2)
		return cli_error(CLI_EXIT_ERROR,
		                 "expecting a source and a target file (see --help)");
	if (argc - optind > 2)
		return cli_error(CLI_EXIT_ERROR,
		                 "only one source image is supported (got %d file names)",
		                 argc - optind);
	if ((o.flags & VSTD_CONVERT_TARGET_IS_ZERO) && !(o.flags & VSTD_CONVERT_NO_CREATE))
		return cli_error(CLI_EXIT_ERROR, "--target-is-zero needs -n (an existing target)");
	if (o.backing_file != NULL && o.backing_format == NULL)
		return cli_error(CLI_EXIT_ERROR,
		                 "-B needs the backing file's format: add -F <format>");
	if (o.flags & VSTD_CONVERT_NO_CREATE) {
		/* -n: the target's format is -O when given, else probed */
		int named = 0;
		for (int i = 1; i < optind; i++)
			named |= strcmp(argv[i], "-O") == 0 || strncmp(argv[i], "-O", 2) == 0;
		if (!named)
			o.format = NULL;
	}
	if (cli_open(&src, argv[optind], src_format, 0, NULL) < 0)
		return CLI_EXIT_ERROR;
	o.snapshot = snapshot;
	if (progress) {
		o.progress = cli_progress;
		cli_progress(0, vstd_disk_size(src), NULL);
	}
	rc = vstd_disk_convert(src, argv[optind + 1], &o);
	cli_progress_done();
	if (rc < 0)
		rc = cli_lib_error(CLI_EXIT_ERROR, NULL);
	vstd_disk_close(src);
	return rc < 0 ? CLI_EXIT_ERROR : rc;
}
