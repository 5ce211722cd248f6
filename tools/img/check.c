/*
 * tools/img/check.c - `vstd img check`, with qemu-img's exit codes:
 * 0 clean, 1 the check could not run, 2 corruptions, 3 leaks only,
 * 63 the format has no checks.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "common/cli.h"

#define CHECK_EXIT_CORRUPT 2
#define CHECK_EXIT_LEAKS 3
#define CHECK_EXIT_NOTSUP 63

static const char help_text[] =
        "Check an image's metadata for consistency, and optionally repair it.\n\n"
        "  -f fmt               the image's format (default: probe)\n"
        "  -r leaks|all         repair leaked clusters, or everything that can be proven\n"
        "  --output=human|json  JSON uses qemu-img's field names\n"
        "  -q                   quiet\n"
        "  -U, --force-share    accepted for qemu-img compatibility\n\n"
        "Exit status: 0 no errors, 1 the check could not run, 2 corruptions,\n"
        "3 leaked clusters only, 63 the format has no checks.\n";

static void add_u64(json_object *o, const char *key, uint64_t v, int always)
{
	if (always || v != 0)
		json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

int img_check(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"help", no_argument, NULL, 'h'},         {"format", required_argument, NULL, 'f'},
	        {"output", required_argument, NULL, 'o'}, {"repair", required_argument, NULL, 'r'},
	        {"force-share", no_argument, NULL, 'U'},  {NULL, 0, NULL, 0},
	};
	enum cli_output out = CLI_OUTPUT_HUMAN;
	const char *format = NULL;
	unsigned flags = 0;
	int quiet = 0, opt, rc;
	vstd_disk *d = NULL;
	vstd_disk_check_result r;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "hf:r:qUT:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h': return cli_img_help("check", help_text);
		case 'f': format = optarg; break;
		case 'o':
			if (cli_parse_output(optarg, &out) < 0)
				return CLI_EXIT_ERROR;
			break;
		case 'r':
			if (strcmp(optarg, "leaks") == 0)
				flags = VSTD_CHECK_REPAIR_LEAKS;
			else if (strcmp(optarg, "all") == 0)
				flags = VSTD_CHECK_REPAIR_ALL;
			else
				return cli_error(CLI_EXIT_ERROR, "-r '%s': give 'leaks' or 'all'",
				                 optarg);
			break;
		case 'q': quiet = 1; break;
		case 'U':
		case 'T': break;
		default: return cli_bad_option(CLI_EXIT_ERROR, argc, argv);
		}
	}
	if (optind != argc - 1)
		return cli_error(CLI_EXIT_ERROR, "expecting one image file name (see --help)");
	if (cli_open(&d, argv[optind], format,
	             VSTD_DISK_NO_BACKING | VSTD_DISK_NO_REPLAY | (flags ? VSTD_DISK_RDWR : 0),
	             NULL) < 0)
		return CLI_EXIT_ERROR;
	if (vstd_disk_check(d, flags, &r) < 0) {
		rc = cli_lib_error(CLI_EXIT_ERROR, NULL);
		vstd_disk_close(d);
		return rc;
	}
	if (!r.supported) {
		rc = cli_error(CHECK_EXIT_NOTSUP, "the %s format has no consistency checks",
		               vstd_disk_format(d));
		vstd_disk_check_result_clear(&r);
		vstd_disk_close(d);
		return rc;
	}
	if (out == CLI_OUTPUT_JSON) {
		json_object *o = json_object_new_object();
		if (o == NULL) {
			vstd_disk_check_result_clear(&r);
			vstd_disk_close(d);
			return cli_error(CLI_EXIT_ERROR, "out of memory");
		}
		add_u64(o, "image-end-offset", r.image_end_offset, 0);
		add_u64(o, "total-clusters", r.total_clusters, 0);
		add_u64(o, "check-errors", r.check_errors, 1);
		add_u64(o, "leaks", r.leaks, 0);
		add_u64(o, "leaks-fixed", r.leaks_fixed, 0);
		add_u64(o, "corruptions", r.corruptions, 0);
		add_u64(o, "corruptions-fixed", r.corruptions_fixed, 0);
		add_u64(o, "allocated-clusters", r.allocated_clusters, 0);
		add_u64(o, "fragmented-clusters", r.fragmented_clusters, 0);
		add_u64(o, "compressed-clusters", r.compressed_clusters, 0);
		json_object_object_add(o, "filename",
		                       json_object_new_string(vstd_disk_filename(d)));
		json_object_object_add(o, "format", json_object_new_string(vstd_disk_format(d)));
		cli_print_json(o);
	} else if (!quiet) {
		if (r.report != NULL && r.report[0] != '\0')
			printf("%s%s", r.report,
			       r.report[strlen(r.report) - 1] == '\n' ? "" : "\n");
		if (r.corruptions_fixed || r.leaks_fixed)
			printf("The following inconsistencies were found and repaired:\n\n"
			       "    %llu leaked clusters\n    %llu corruptions\n\n",
			       (unsigned long long)r.leaks_fixed,
			       (unsigned long long)r.corruptions_fixed);
		if (r.corruptions == 0 && r.leaks == 0 && r.check_errors == 0)
			printf("No errors were found on the image.\n");
		if (r.corruptions)
			printf("\n%llu errors were found on the image.\nData may be corrupted, or "
			       "further writes to the image may corrupt it.\n",
			       (unsigned long long)r.corruptions);
		if (r.leaks)
			printf("\n%llu leaked clusters were found on the image.\nThis means waste "
			       "of "
			       "disk space, but no harm to data.\n",
			       (unsigned long long)r.leaks);
		if (r.check_errors)
			printf("\n%llu internal errors have occurred during the check.\n",
			       (unsigned long long)r.check_errors);
		if (r.total_clusters)
			printf("%llu/%llu = %.2f%% allocated, %.2f%% fragmented, %.2f%% compressed "
			       "clusters\n",
			       (unsigned long long)r.allocated_clusters,
			       (unsigned long long)r.total_clusters,
			       100.0 * (double)r.allocated_clusters / (double)r.total_clusters,
			       r.allocated_clusters ? 100.0 * (double)r.fragmented_clusters /
			                                      (double)r.allocated_clusters
			                            : 0.0,
			       r.allocated_clusters ? 100.0 * (double)r.compressed_clusters /
			                                      (double)r.allocated_clusters
			                            : 0.0);
		if (r.image_end_offset)
			printf("Image end offset: %llu\n", (unsigned long long)r.image_end_offset);
	}
	if (r.check_errors)
		rc = CLI_EXIT_ERROR;
	else if (r.corruptions)
		rc = CHECK_EXIT_CORRUPT;
	else if (r.leaks)
		rc = CHECK_EXIT_LEAKS;
	else
		rc = CLI_EXIT_OK;
	vstd_disk_check_result_clear(&r);
	vstd_disk_close(d);
	return rc;
}
