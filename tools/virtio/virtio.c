/*
 * tools/virtio/virtio.c - `vstd virtio`: inspect and exercise the VIRTIO
 * device library.
 *
 *   vstd virtio features <blk|net|console|rng> [--json]
 *   vstd virtio decode <dump> --base GPA --size N --desc GPA --driver GPA
 *                      --device GPA [--packed] [--no-indirect] [--last-avail N]
 *   vstd virtio selftest [--quiet]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vstd/vstd.h"
#include "vstd/virtio.h"

int vstd_cmd_virtio(int argc, char **argv);

static const char usage_text[] =
        "usage: vstd virtio features <blk|net|console|rng> [--json]\n"
        "       vstd virtio decode <dump> --base GPA --size N --desc GPA --driver "
        "GPA --device GPA\n"
        "                          [--packed] [--no-indirect] [--last-avail N]\n"
        "       vstd virtio selftest [--quiet]\n"
        "\n"
        "features  the feature bits vstd's device offers, and its config layout\n"
        "decode    print a split or packed ring found in a guest-memory dump\n"
        "selftest  drive every device over every transport and ring layout\n";

static int usage(void)
{
	fputs(usage_text, stderr);
	return 2;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno == 0 && end != s && *end == '\0' ? 0 : -1;
}

static int cmd_features(int argc, char **argv)
{
	unsigned type;
	uint64_t f;
	int json = argc > 2 && strcmp(argv[2], "--json") == 0, first = 1;
	if (argc < 2)
		return usage();
	type = vstd_virtio_type_from_name(argv[1]);
	if (type == 0) {
		fprintf(stderr, "vstd virtio: unknown device type '%s' (blk, net, console, rng)\n",
		        argv[1]);
		return 2;
	}
	f = vstd_virtio_default_features(type);
	if (json)
		printf("{\"type\": \"%s\", \"device_id\": %u, \"features\": 0x%llx, \"offered\": [",
		       argv[1], type, (unsigned long long)f);
	else
		printf("virtio-%s (device ID %u) offers by default (0x%016llx):\n", argv[1], type,
		       (unsigned long long)f);
	for (unsigned b = 0; b < 64; b++) {
		const char *n;
		if (!(f >> b & 1))
			continue;
		n = vstd_virtio_feature_name(type, b);
		if (json) {
			printf("%s{\"bit\": %u, \"name\": \"%s\"}", first ? "" : ", ", b,
			       n ? n : "?");
			first = 0;
		} else {
			printf("  %2u  %s\n", b, n ? n : "?");
		}
	}
	if (json)
		printf("]}\n");
	return 0;
}

static void print_line(void *opaque, const char *text)
{
	(void)opaque;
	printf("%s\n", text);
}

static int cmd_decode(int argc, char **argv)
{
	vstd_virtio_ring ring = VSTD_VIRTIO_RING_INIT;
	uint64_t base = 0, size = 0, v;
	const char *path = NULL;
	vstd_guestmem *gm = NULL;
	FILE *f;
	uint8_t *mem;
	int rc;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--packed") == 0) {
			ring.packed = 1;
		} else if (strcmp(a, "--no-indirect") == 0) {
			ring.indirect = 0;
		} else if (a[0] == '-' && a[1] == '-' && i + 1 < argc) {
			if (parse_u64(argv[++i], &v) < 0) {
				fprintf(stderr, "vstd virtio decode: bad number '%s' for %s\n",
				        argv[i], a);
				return 2;
			}
			if (strcmp(a, "--base") == 0)
				base = v;
			else if (strcmp(a, "--size") == 0 && v > 0 && v <= 32768)
				ring.num = (uint16_t)v;
			else if (strcmp(a, "--desc") == 0)
				ring.desc = v;
			else if (strcmp(a, "--driver") == 0)
				ring.driver = v;
			else if (strcmp(a, "--device") == 0)
				ring.device = v;
			else if (strcmp(a, "--last-avail") == 0 && v <= 0xffff)
				ring.last_avail = (uint16_t)v;
			else
				return usage();
		} else if (path == NULL) {
			path = a;
		} else {
			return usage();
		}
	}
	if (path == NULL || ring.num == 0)
		return usage();
	f = fopen(path, "rb");
	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (long)(size = (uint64_t)ftell(f)) < 0 ||
	    size == 0 || size > (1ULL << 32) || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "vstd virtio decode: cannot read %s\n", path);
		if (f)
			fclose(f);
		return 1;
	}
	mem = malloc((size_t)size);
	if (mem == NULL || fread(mem, 1, (size_t)size, f) != size) {
		fprintf(stderr, "vstd virtio decode: cannot read %s\n", path);
		fclose(f);
		free(mem);
		return 1;
	}
	fclose(f);
	if (vstd_guestmem_new(&gm) < 0 || vstd_guestmem_add(gm, base, mem, size, 0) < 0) {
		fprintf(stderr, "vstd virtio decode: %s\n", vstd_error_last()->message);
		vstd_guestmem_free(gm);
		free(mem);
		return 1;
	}
	rc = vstd_virtio_ring_decode(gm, &ring, print_line, NULL);
	if (rc < 0)
		fprintf(stderr, "vstd virtio decode: %s\n", vstd_error_last()->message);
	vstd_guestmem_free(gm);
	free(mem);
	return rc < 0 ? 1 : 0;
}

static void report(void *opaque, const char *line, int ok)
{
	int quiet = *(int *)opaque;
	if (!quiet || !ok)
		printf("%s %s\n", ok ? "PASS" : "FAIL", line);
}

int vstd_cmd_virtio(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(argv[1], "features") == 0)
		return cmd_features(argc - 1, argv + 1);
	if (strcmp(argv[1], "decode") == 0)
		return cmd_decode(argc - 1, argv + 1);
	if (strcmp(argv[1], "selftest") == 0) {
		int quiet = argc > 2 && strcmp(argv[2], "--quiet") == 0;
		int rc = vstd_virtio_selftest(report, &quiet);
		if (rc < 0)
			fprintf(stderr, "vstd virtio: %s\n", vstd_error_last()->message);
		else if (!quiet)
			printf("all virtio self-tests passed\n");
		return rc < 0 ? 1 : 0;
	}
	return usage();
}
