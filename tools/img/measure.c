/*
 * tools/img/measure.c - `vstd img measure`.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "common/cli.h"

int cli_wants_option_help(const char *opts);

static const char help_text[] =
        "How large would an image of the output format be, holding the given image,\n"
        "or an empty disk of --size bytes?\n\n"
        "  -O fmt               the output format (default: raw)\n"
        "  -o options           its creation options; '-o help' lists them\n"
        "  --size N             measure an empty disk of N bytes instead of a file\n"
        "  -f fmt               the input image's format (default: probe)\n"
        "  -l snapshot          measure this internal snapshot of the input\n"
        "  --output=human|json  JSON: {\"required\", \"fully-allocated\"}\n"
        "  -U, --force-share    accepted for qemu-img compatibility\n";

int img_measure(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"output", required_argument, NULL, 'o' + 256},
	        {"size", required_argument, NULL, 's'},
	        {"force-share", no_argument, NULL, 'U'},
	        {NULL, 0, NULL, 0},
	};
	enum cli_output out = CLI_OUTPUT_HUMAN;
	const char *format = NULL, *out_format = "raw", *options = NULL, *snapshot = NULL;
	uint64_t size = 0;
	int have_size = 0, opt, rc = CLI_EXIT_OK;
	vstd_disk *d = NULL, *view = NULL;
	vstd_disk_measure_result r;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "hf:O:o:l:U", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h': return cli_img_help("measure", help_text);
		case 'f': format = optarg; break;
		case 'O': out_format = optarg; break;
		case 'o': options = optarg; break;
		case 'o' + 256:
			if (cli_parse_output(optarg, &out) < 0)
				return CLI_EXIT_ERROR;
			break;
		case 's':
			if (cli_parse_size(optarg, "--size", &size) < 0)
				return CLI_EXIT_ERROR;
			have_size = 1;
			break;
		case 'l':
			/* qemu-img's "snapshot.name=x" / "snapshot.id=x" forms too */
			snapshot = optarg;
			if (strncmp(snapshot, "snapshot.name=", 14) == 0)
				snapshot += 14;
			else if (strncmp(snapshot, "snapshot.id=", 12) == 0)
				snapshot += 12;
			break;
		case 'U': break;
		default: return cli_bad_option(CLI_EXIT_ERROR, argc, argv);
		}
	}
	if (cli_wants_option_help(options))
		return cli_print_options_help(out_format);
	if (have_size == (optind < argc))
		return cli_error(CLI_EXIT_ERROR,
		                 "give either --size or one image file (see --help)");
	if (optind < argc - 1)
		return cli_error(CLI_EXIT_ERROR, "expecting one image file name (see --help)");
	if (!have_size) {
		if (cli_open(&d, argv[optind], format, 0, NULL) < 0)
			return CLI_EXIT_ERROR;
		if (snapshot != NULL && vstd_disk_snapshot_open(&view, d, snapshot) < 0) {
			rc = cli_lib_error(CLI_EXIT_ERROR, NULL);
			vstd_disk_close(d);
			return rc;
		}
	}
	if (vstd_disk_measure(out_format, options, size, view ? view : d, &r) < 0) {
		rc = cli_lib_error(CLI_EXIT_ERROR, NULL);
	} else if (out == CLI_OUTPUT_JSON) {
		json_object *o = json_object_new_object();
		if (o == NULL) {
			rc = cli_error(CLI_EXIT_ERROR, "out of memory");
		} else {
			json_object_object_add(o, "required",
			                       json_object_new_int64((int64_t)r.required));
			json_object_object_add(o, "fully-allocated",
			                       json_object_new_int64((int64_t)r.fully_allocated));
			if (r.bitmaps)
				json_object_object_add(o, "bitmaps",
				                       json_object_new_int64((int64_t)r.bitmaps));
			cli_print_json(o);
		}
	} else {
		printf("required size: %llu\nfully allocated size: %llu\n",
		       (unsigned long long)r.required, (unsigned long long)r.fully_allocated);
		if (r.bitmaps)
			printf("bitmaps size: %llu\n", (unsigned long long)r.bitmaps);
	}
	vstd_disk_close(view);
	vstd_disk_close(d);
	return rc;
}
