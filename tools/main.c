/*
 * tools/main.c - the `vstd` command: top-level dispatch.
 */
#include <stdio.h>
#include <string.h>

#include "vstd/vstd.h"

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("vstd %s\n", vstd_version(NULL, NULL, NULL));
		return 0;
	}
	fprintf(stderr, "usage: vstd <command> [args]\n");
	return 2;
}
