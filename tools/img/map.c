/*
 * tools/img/map.c - `vstd img map`: the allocation map through the chain,
 * merged and printed as qemu-img map does.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "common/cli.h"

static const char help_text[] =
        "Print which parts of the image hold data, which read as zeroes and which\n"
        "layer of the backing chain answers.\n\n"
        "  -f fmt               the image's format (default: probe)\n"
        "  --output=human|json  human: the data extents; json: every extent, as qemu-img\n"
        "  -s, --start-offset=N start here\n"
        "  -l, --max-length=N   stop after N bytes\n"
        "  -U, --force-share    accepted for qemu-img compatibility\n";

struct extent {
	uint64_t start, length, offset;
	unsigned depth;
	int present, zero, data, has_offset;
	const char *file;
};

static void print_extent(const struct extent *e, enum cli_output out, int *first)
{
	if (out == CLI_OUTPUT_JSON) {
		printf("%s{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", \"depth\": %u"
		       ", \"present\": %s, \"zero\": %s, \"data\": %s",
		       *first ? "[" : ",\n", e->start, e->length, e->depth,
		       e->present ? "true" : "false", e->zero ? "true" : "false",
		       e->data ? "true" : "false");
		if (e->has_offset)
			printf(", \"offset\": %" PRIu64, e->offset);
		printf("}");
	} else if (e->data && e->has_offset) {
		if (*first)
			printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
		printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n", e->start, e->length,
		       e->offset, e->file);
	} else {
		if (*first)
			printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
	}
	*first = 0;
}

/* qemu-img's rule: adjacent extents merge when everything but the length
 * matches and host offsets (if any) continue. */
static int can_merge(const struct extent *a, const struct extent *b)
{
	return a->start + a->length == b->start && a->depth == b->depth &&
	       a->present == b->present && a->zero == b->zero && a->data == b->data &&
	       a->has_offset == b->has_offset && a->file == b->file &&
	       (!a->has_offset || a->offset + a->length == b->offset);
}

int img_map(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"format", required_argument, NULL, 'f'},
	        {"output", required_argument, NULL, 'o'},
	        {"start-offset", required_argument, NULL, 's'},
	        {"max-length", required_argument, NULL, 'l'},
	        {"force-share", no_argument, NULL, 'U'},
	        {NULL, 0, NULL, 0},
	};
	enum cli_output out = CLI_OUTPUT_HUMAN;
	const char *format = NULL;
	uint64_t start = 0, maxlen = UINT64_MAX, off, end;
	struct extent cur = {0};
	int have = 0, first = 1, opt, rc = CLI_EXIT_OK;
	vstd_disk *d = NULL;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "hf:s:l:U", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h': return cli_img_help("map", help_text);
		case 'f': format = optarg; break;
		case 'o':
			if (cli_parse_output(optarg, &out) < 0)
				return CLI_EXIT_ERROR;
			break;
		case 's':
			if (cli_parse_size(optarg, "--start-offset", &start) < 0)
				return CLI_EXIT_ERROR;
			break;
		case 'l':
			if (cli_parse_size(optarg, "--max-length", &maxlen) < 0)
				return CLI_EXIT_ERROR;
			break;
		case 'U': break;
		default: return cli_bad_option(CLI_EXIT_ERROR, argc, argv);
		}
	}
	if (optind != argc - 1)
		return cli_error(CLI_EXIT_ERROR, "expecting one image file name (see --help)");
	if (cli_open(&d, argv[optind], format, 0, NULL) < 0)
		return CLI_EXIT_ERROR;
	end = vstd_disk_size(d);
	if (start > end)
		start = end;
	if (maxlen < end - start)
		end = start + maxlen;
	for (off = start; off < end;) {
		vstd_block_status st;
		struct extent e;
		if (vstd_disk_map(d, off, end - off, &st) < 0) {
			rc = cli_lib_error(CLI_EXIT_ERROR, NULL);
			break;
		}
		if (st.length == 0)
			break;
		e.start = off;
		e.length = st.length;
		e.depth = st.depth;
		e.present = (st.flags & VSTD_BLOCK_ALLOCATED) != 0;
		e.zero = (st.flags & VSTD_BLOCK_ZERO) != 0;
		e.data = (st.flags & VSTD_BLOCK_DATA) != 0;
		e.has_offset = (st.flags & VSTD_BLOCK_OFFSET_VALID) != 0;
		e.offset = st.host_offset;
		e.file = st.layer != NULL ? vstd_disk_filename(st.layer) : vstd_disk_filename(d);
		if (have && can_merge(&cur, &e)) {
			cur.length += e.length;
		} else {
			if (have)
				print_extent(&cur, out, &first);
			cur = e;
			have = 1;
		}
		off += st.length;
	}
	if (rc == CLI_EXIT_OK) {
		if (have)
			print_extent(&cur, out, &first);
		if (out == CLI_OUTPUT_JSON)
			printf("%s]\n", first ? "[" : "");
	}
	vstd_disk_close(d);
	return rc;
}
