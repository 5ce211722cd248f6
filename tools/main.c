/*
 * tools/main.c - the `vstd` command: top-level dispatch, in the style of
 * git and qemu-img: `vstd <command> [args]`, `vstd img <sub> [args]`.
 *
 * Commands other than `img` live with the parts they drive: tools/ovf,
 * tools/virtio, vmm/cmd_vmm.c, tools/cim, tools/bench, tools/conform.
 */
#include <stdio.h>
#include <string.h>

#include "common/cli.h"

int vstd_cmd_ovf(int argc, char **argv);
int vstd_cmd_virtio(int argc, char **argv);
int vstd_cmd_vmm(int argc, char **argv);
int vstd_cmd_cim(int argc, char **argv);
int vstd_cmd_bench(int argc, char **argv);
int vstd_cmd_conform(int argc, char **argv);

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
        {"img", vstd_cmd_img, "inspect, create, convert and check disk images (qemu-img style)"},
        {"ovf", vstd_cmd_ovf, "read, validate and write OVF descriptors and OVA packages"},
        {"virtio", vstd_cmd_virtio, "VIRTIO devices and rings: inspect and exercise"},
        {"vmm", vstd_cmd_vmm, "run a virtual machine (KVM) from an OVA or disk images"},
        {"cim", vstd_cmd_cim, "the CIM/WBEM management model and server"},
        {"bench", vstd_cmd_bench, "benchmarks against the reference implementations"},
        {"conform", vstd_cmd_conform, "conformance suites"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char usage_text[] = "usage: vstd [--version] [--help] <command> [<args>]\n"
                                 "\n"
                                 "Commands:\n";

static const char exit_text[] =
        "\n"
        "'vstd help <command>' or 'vstd <command> --help' describes a command.\n"
        "\n"
        "Exit status: 0 success; 1 error; 2 usage error or command not in this build.\n"
        "  vstd img compare: 0 identical, 1 different, 2 error.\n"
        "  vstd img check: 0 no errors, 1 check could not run, 2 corruptions,\n"
        "                  3 leaks only, 63 the format has no checks.\n"
        "Errors are one line on stderr: \"vstd <command>: <what went wrong> (<what to do>)\".\n";

static void print_usage(FILE *f)
{
	fputs(usage_text, f);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fputs(exit_text, f);
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int run_command(const struct command *c, int argc, char **argv)
{
	static char prog[64];
	snprintf(prog, sizeof(prog), "vstd %s", c->name);
	cli_set_prog(prog);
	return c->fn(argc, argv);
}

int main(int argc, char **argv)
{
	const struct command *c;
	if (argc < 2) {
		fprintf(stderr, "vstd: expecting a command such as 'img' (see 'vstd --help')\n");
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("vstd %s\n", vstd_version(NULL, NULL, NULL));
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0) {
		char help[] = "--help";
		char *sub[3];
		if (argc < 3) {
			print_usage(stdout);
			return CLI_EXIT_OK;
		}
		if ((c = find_command(argv[2])) == NULL) {
			fprintf(stderr, "vstd: '%s' is not a vstd command (see 'vstd --help')\n",
			        argv[2]);
			return CLI_EXIT_USAGE;
		}
		/* `vstd help img convert` == `vstd img convert --help` */
		if (argc >= 4) {
			sub[0] = argv[2];
			sub[1] = argv[3];
			sub[2] = help;
			return run_command(c, 3, sub);
		}
		sub[0] = argv[2];
		sub[1] = help;
		return run_command(c, 2, sub);
	}
	if ((c = find_command(argv[1])) == NULL) {
		fprintf(stderr, "vstd: '%s' is not a vstd command (see 'vstd --help')\n", argv[1]);
		return CLI_EXIT_USAGE;
	}
	return run_command(c, argc - 1, argv + 1);
}
