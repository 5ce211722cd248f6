/*
 * tools/img/info.c - `vstd img info`: what qemu-img info prints, with the
 * same JSON field names.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"

static const char help_text[] =
        "Describe an image: format, virtual size, disk usage, backing file and\n"
        "format-specific details.\n\n"
        "  -f fmt               the image's format (default: probe)\n"
        "  --output=human|json  output format; JSON uses qemu-img's field names\n"
        "  --backing-chain      describe every image of the backing chain\n"
        "  -U, --force-share    accepted for qemu-img compatibility\n";

/* The backing file's path as the chain opener resolves it. */
static char *resolve(const char *image, const char *backing)
{
	const char *slash = strrchr(image, '/');
	size_t n;
	char *s;
	if (backing[0] == '/' || slash == NULL)
		return strdup(backing);
	n = (size_t)(slash - image) + 1 + strlen(backing) + 1;
	s = malloc(n);
	if (s != NULL)
		snprintf(s, n, "%.*s/%s", (int)(slash - image), image, backing);
	return s;
}

static json_object *info_json(const vstd_disk_info *in)
{
	json_object *o = json_object_new_object();
	if (o == NULL)
		return NULL;
	json_object_object_add(o, "virtual-size", json_object_new_int64((int64_t)in->virtual_size));
	json_object_object_add(o, "filename", json_object_new_string(in->filename));
	if (in->cluster_size != 0)
		json_object_object_add(o, "cluster-size",
		                       json_object_new_int64((int64_t)in->cluster_size));
	json_object_object_add(o, "format", json_object_new_string(in->format));
	json_object_object_add(o, "actual-size", json_object_new_int64((int64_t)in->actual_size));
	if (in->encrypted)
		json_object_object_add(o, "encrypted", json_object_new_boolean(1));
	if (in->backing_filename != NULL) {
		char *full = resolve(in->filename, in->backing_filename);
		json_object_object_add(o, "backing-filename",
		                       json_object_new_string(in->backing_filename));
		json_object_object_add(o, "full-backing-filename",
		                       json_object_new_string(in->backing_filename_full != NULL
		                                                      ? in->backing_filename_full
		                                              : full != NULL ? full
		                                                             : ""));
		free(full);
		if (in->backing_format != NULL)
			json_object_object_add(o, "backing-filename-format",
			                       json_object_new_string(in->backing_format));
	}
	if (in->format_specific_json != NULL) {
		json_object *fs = json_tokener_parse(in->format_specific_json), *data = NULL;
		if (fs != NULL && json_object_object_get_ex(fs, "data", &data) &&
		    json_object_is_type(data, json_type_object) &&
		    json_object_object_length(data) > 0)
			json_object_object_add(o, "format-specific", fs);
		else
			json_object_put(fs);
	}
	json_object_object_add(o, "dirty-flag", json_object_new_boolean(in->dirty != 0));
	return o;
}

static void print_specific(json_object *obj, int indent)
{
	json_object_object_foreach(obj, key, val)
	{
		if (json_object_is_type(val, json_type_object)) {
			printf("%*s%s:\n", indent, "", key);
			print_specific(val, indent + 4);
		} else if (json_object_is_type(val, json_type_array)) {
			printf("%*s%s:\n", indent, "", key);
			for (size_t i = 0; i < json_object_array_length(val); i++) {
				json_object *e = json_object_array_get_idx(val, i);
				if (json_object_is_type(e, json_type_object)) {
					printf("%*s[%zu]:\n", indent + 4, "", i);
					print_specific(e, indent + 8);
				} else {
					printf("%*s[%zu]: %s\n", indent + 4, "", i,
					       json_object_get_string(e));
				}
			}
		} else {
			printf("%*s%s: %s\n", indent, "", key, json_object_get_string(val));
		}
	}
}

static void info_human(const vstd_disk_info *in, vstd_disk *d)
{
	char vs[32], ds[32];
	vstd_disk_snapshot *snaps = NULL;
	size_t nsnaps = 0;
	cli_format_size(in->virtual_size, vs, sizeof(vs));
	cli_format_size(in->actual_size, ds, sizeof(ds));
	printf("image: %s\n", in->filename);
	printf("file format: %s\n", in->format);
	printf("virtual size: %s (%llu bytes)\n", vs, (unsigned long long)in->virtual_size);
	printf("disk size: %s\n", ds);
	if (in->cluster_size != 0)
		printf("cluster_size: %llu\n", (unsigned long long)in->cluster_size);
	if (in->encrypted)
		printf("encrypted: yes\n");
	if (in->backing_filename != NULL) {
		char *full = resolve(in->filename, in->backing_filename);
		printf("backing file: %s", in->backing_filename);
		if (full != NULL && strcmp(full, in->backing_filename) != 0)
			printf(" (actual path: %s)", full);
		printf("\n");
		free(full);
		if (in->backing_format != NULL)
			printf("backing file format: %s\n", in->backing_format);
	}
	if (in->dirty)
		printf("dirty flag: yes\n");
	if (vstd_disk_snapshot_list(d, &snaps, &nsnaps) == 0 && nsnaps > 0) {
		printf("Snapshot list:\n%-10s%-20s%12s\n", "ID", "TAG", "VM SIZE");
		for (size_t i = 0; i < nsnaps; i++)
			printf("%-10s%-20s%12llu\n", snaps[i].id ? snaps[i].id : "",
			       snaps[i].name ? snaps[i].name : "",
			       (unsigned long long)snaps[i].vm_state_size);
	}
	vstd_disk_snapshot_list_free(snaps, nsnaps);
	if (in->format_specific_json != NULL) {
		json_object *fs = json_tokener_parse(in->format_specific_json), *data = NULL;
		if (fs != NULL && json_object_object_get_ex(fs, "data", &data) &&
		    json_object_is_type(data, json_type_object) &&
		    json_object_object_length(data) > 0) {
			printf("Format specific information:\n");
			print_specific(data, 4);
		}
		json_object_put(fs);
	}
}

int img_info(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"format", required_argument, NULL, 'f'},
	        {"output", required_argument, NULL, 'o'},
	        {"backing-chain", no_argument, NULL, 'c'},
	        {"force-share", no_argument, NULL, 'U'},
	        {"image-opts", no_argument, NULL, 'i'},
	        {NULL, 0, NULL, 0},
	};
	enum cli_output out = CLI_OUTPUT_HUMAN;
	const char *format = NULL, *backing_format = NULL;
	int chain = 0, opt, rc = CLI_EXIT_OK;
	json_object *list = NULL;
	char *path;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "hf:U", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h': return cli_img_help("info", help_text);
		case 'f': format = optarg; break;
		case 'o':
			if (cli_parse_output(optarg, &out) < 0)
				return CLI_EXIT_ERROR;
			break;
		case 'c': chain = 1; break;
		case 'U': break;
		case 'i':
			return cli_error(CLI_EXIT_ERROR,
			                 "--image-opts is not supported; give a file name");
		default: return cli_bad_option(CLI_EXIT_ERROR, argc, argv);
		}
	}
	if (optind != argc - 1)
		return cli_error(CLI_EXIT_ERROR, "expecting one image file name (see --help)");
	if (chain && out == CLI_OUTPUT_JSON && (list = json_object_new_array()) == NULL)
		return cli_error(CLI_EXIT_ERROR, "out of memory");
	path = strdup(argv[optind]);
	for (unsigned depth = 0; path != NULL; depth++) {
		vstd_disk *d = NULL;
		vstd_disk_info *in = NULL;
		char *next = NULL;
		if (depth > 256) {
			rc = cli_error(CLI_EXIT_ERROR, "backing chain is deeper than 256 images");
			break;
		}
		/* Each layer alone: a missing backing file does not stop info. */
		if (cli_open(&d, path, format, VSTD_DISK_NO_BACKING, NULL) < 0) {
			rc = CLI_EXIT_ERROR;
			break;
		}
		if (vstd_disk_info_get(d, &in) < 0) {
			rc = cli_lib_error(CLI_EXIT_ERROR, NULL);
			vstd_disk_close(d);
			break;
		}
		if (out == CLI_OUTPUT_JSON) {
			json_object *o = info_json(in);
			if (o == NULL)
				rc = cli_error(CLI_EXIT_ERROR, "out of memory");
			else if (list != NULL)
				json_object_array_add(list, o);
			else
				rc = cli_print_json(o);
		} else {
			if (depth > 0)
				printf("\n");
			info_human(in, d);
		}
		if (chain && in->backing_filename != NULL && in->backing_filename[0] != '\0') {
			next = resolve(path, in->backing_filename);
			format = in->backing_format ? in->backing_format : backing_format;
			if (format == NULL) {
				rc = cli_error(CLI_EXIT_ERROR,
				               "%s: the backing file's format is not recorded; not "
				               "probing it "
				               "(record it with 'vstd img rebase -u -F <fmt>')",
				               path);
				free(next);
				next = NULL;
			} else {
				/* the format string belongs to `in`; keep a copy */
				static char fmtbuf[32];
				snprintf(fmtbuf, sizeof(fmtbuf), "%s", format);
				format = fmtbuf;
			}
		}
		vstd_disk_info_free(in);
		vstd_disk_close(d);
		free(path);
		path = next;
		if (rc != CLI_EXIT_OK)
			break;
	}
	free(path);
	if (list != NULL) {
		if (rc == CLI_EXIT_OK)
			rc = cli_print_json(list);
		else
			json_object_put(list);
	}
	return rc;
}
