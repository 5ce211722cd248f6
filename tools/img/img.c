/*
 * tools/img/img.c - `vstd img <subcommand>`: dispatch and the overview.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/cli.h"

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *synopsis;
};

static const struct subcommand subs[] = {
        {"info", img_info, "info [-f fmt] [--output=human|json] [--backing-chain] [-U] file"},
        {"create", img_create,
         "create [-f fmt] [-o options] [-b backing -F backing_fmt] [-u] [-q] file [size]"},
        {"convert", img_convert,
         "convert [-c] [-p] [-q] [-n] [-f fmt] [-O fmt] [-o options] [-B backing [-F "
         "backing_fmt]]\n"
         "          [-S sparse_size] [-m num] [-l snapshot] [--target-is-zero] [-U] src dst"},
        {"compare", img_compare, "compare [-f fmt] [-F fmt] [-p] [-q] [-s] [-U] file1 file2"},
        {"map", img_map,
         "map [-f fmt] [--output=human|json] [--start-offset=N] [--max-length=N] [-U] file"},
        {"check", img_check, "check [-f fmt] [--output=human|json] [-r leaks|all] [-q] [-U] file"},
        {"resize", img_resize,
         "resize [-f fmt] [--preallocation=mode] [--shrink] [-q] file [+|-]size"},
        {"measure", img_measure,
         "measure [--output=human|json] [-O fmt] [-o options] [--size N | [-f fmt] [-l snap] "
         "file]"},
        {"rebase", img_rebase,
         "rebase [-f fmt] [-F backing_fmt] [-u] [-p] [-q] [-U] -b backing file"},
        {"commit", img_commit, "commit [-f fmt] [-d] [-p] [-q] [-b base] file"},
        {"amend", img_amend, "amend [-f fmt] -o options [-p] [-q] file"},
        {"snapshot", img_snapshot,
         "snapshot [-l | -a snap | -c snap | -d snap] [-f fmt] [-q] [-U] file"},
};

#define N_SUBS (sizeof(subs) / sizeof(subs[0]))

static void print_usage(FILE *f)
{
	fprintf(f, "usage: vstd img <command> [options]\n\nCommands:\n");
	for (size_t i = 0; i < N_SUBS; i++)
		fprintf(f, "  %s\n", subs[i].synopsis);
	fprintf(f, "\nFormats:");
	for (size_t i = 0; i < vstd_disk_format_count(); i++)
		fprintf(f, " %s", vstd_disk_format_name(i));
	fprintf(f,
	        "\n\n"
	        "Sizes take the suffixes k, M, G, T, P, E (powers of 1024).\n"
	        "'vstd img <command> --help' describes a command; 'man vstd-img-<command>' in "
	        "full.\n"
	        "Exit status: 0 success, 1 error (compare: 0 identical, 1 different, 2 error;\n"
	        "check: 0 clean, 1 check failed to run, 2 corruptions, 3 leaks, 63 no checks).\n");
}

int vstd_cmd_img(int argc, char **argv)
{
	static char prog[64];
	if (argc < 2) {
		fprintf(stderr,
		        "vstd img: expecting a command such as info or convert (see 'vstd img "
		        "--help')\n");
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		print_usage(stdout);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < N_SUBS; i++) {
		if (strcmp(subs[i].name, argv[1]) == 0) {
			snprintf(prog, sizeof(prog), "vstd img %s", subs[i].name);
			cli_set_prog(prog);
			optind = 0; /* reset getopt for the subcommand */
			return subs[i].fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "vstd img: '%s' is not an img command (see 'vstd img --help')\n", argv[1]);
	return CLI_EXIT_USAGE;
}

const char *img_synopsis(const char *name)
{
	for (size_t i = 0; i < N_SUBS; i++)
		if (strcmp(subs[i].name, name) == 0)
			return subs[i].synopsis;
	return "";
}
