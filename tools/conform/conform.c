/*
 * tools/conform/conform.c - `vstd conform guest`: run the conformance
 * guest (conformance/guest/, a bzImage) on hypervisors and compare the
 * report lines every conforming hypervisor must print the same way
 * ("R key=value"), plus the exit status.
 *
 *   vstd conform guest [--guest FILE] [--disk RAW] [--on vmm,qemu]
 *                      [--accel kvm|tcg] [--append TEXT] [--output=json]
 *
 * The guest file defaults to $VSTD_CONFORM_GUEST, else the installed
 * share/vstd/vstd-conform-guest.bin next to this program.  QEMU gets the
 * disk raw with snapshot=on; `vstd vmm run` gets it with --snapshot.
 * Exit status: 0 all reports equal, 1 they differ or a run failed, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cli.h"

int vstd_cmd_conform(int argc, char **argv);

#define MAX_LINES 512

struct report {
	const char *who;
	int status;
	char *lines[MAX_LINES]; /* "R ..." lines, sorted */
	size_t n;
	char *info[MAX_LINES];
	size_t ninfo;
};

static const char usage_text[] =
        "usage: vstd conform guest [--guest FILE] [--disk RAW] [--on vmm,qemu] [--accel kvm|tcg]\n"
        "                          [--append TEXT] [--output=json]\n"
        "\n"
        "Runs the conformance guest under each hypervisor and compares the lines\n"
        "a conforming hypervisor must report identically.  Exit 0: identical.\n";

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run argv with stdout+stderr to `out`; return the exit status (or -1). */
static int run_to(char *const argv[], const char *out)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		FILE *f = freopen(out, "w", stdout);
		if (!f || dup2(1, 2) < 0)
			_exit(127);
		int nul = open("/dev/null", 0);
		if (nul >= 0)
			dup2(nul, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void parse_report(struct report *r, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int in = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = 0;
		if (strncmp(line, "VSTD-CONFORM-BEGIN", 18) == 0)
			in = 1;
		else if (strncmp(line, "VSTD-CONFORM-END", 16) == 0)
			in = 0;
		else if (in && line[0] == 'R' && line[1] == ' ' && r->n < MAX_LINES)
			r->lines[r->n++] = strdup(line + 2);
		else if (in && line[0] == 'I' && line[1] == ' ' && r->ninfo < MAX_LINES)
			r->info[r->ninfo++] = strdup(line + 2);
	}
	fclose(f);
	qsort(r->lines, r->n, sizeof(r->lines[0]), cmp_str);
}

static void free_report(struct report *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->lines[i]);
	for (size_t i = 0; i < r->ninfo; i++)
		free(r->info[i]);
}

static int default_guest(char *buf, size_t cap)
{
	const char *env = getenv("VSTD_CONFORM_GUEST");
	if (env && *env) {
		snprintf(buf, cap, "%s", env);
		return 0;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -1;
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = 0;
	struct stat st;
	/* installed: <prefix>/bin/vstd -> <prefix>/share/vstd/; build tree: conformance/guest/ */
	int m = snprintf(buf, cap, "%s/../share/vstd/vstd-conform-guest.bin", self);
	if (m > 0 && (size_t)m < cap && stat(buf, &st) == 0)
		return 0;
	m = snprintf(buf, cap, "%s/conformance/guest/vstd-conform-guest.bin", self);
	return m > 0 && (size_t)m < cap && stat(buf, &st) == 0 ? 0 : -1;
}

static int cmd_guest(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"help", no_argument, NULL, 'h'},         {"guest", required_argument, NULL, 'g'},
	        {"disk", required_argument, NULL, 'd'},   {"on", required_argument, NULL, 'O'},
	        {"accel", required_argument, NULL, 'a'},  {"append", required_argument, NULL, 'A'},
	        {"output", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0},
	};
	char guest[PATH_MAX] = "";
	const char *disk = NULL, *on = "vmm,qemu", *accel = NULL, *append = "";
	enum cli_output out = CLI_OUTPUT_HUMAN;
	int opt;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h': return cli_usage(usage_text);
		case 'g': snprintf(guest, sizeof(guest), "%s", optarg); break;
		case 'd': disk = optarg; break;
		case 'O': on = optarg; break;
		case 'a': accel = optarg; break;
		case 'A': append = optarg; break;
		case 'o':
			if (cli_parse_output(optarg, &out) < 0)
				return CLI_EXIT_USAGE;
			break;
		default: return cli_bad_option(CLI_EXIT_USAGE, argc, argv);
		}
	}
	if (!guest[0] && default_guest(guest, sizeof(guest)) < 0)
		return cli_error(
		        CLI_EXIT_USAGE,
		        "no conformance guest found (give --guest FILE or set VSTD_CONFORM_GUEST)");
	if (!accel)
		accel = access("/dev/kvm", R_OK | W_OK) == 0 ? "kvm" : "tcg";
	char self[PATH_MAX];
	ssize_t sn = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sn <= 0)
		return cli_error(CLI_EXIT_ERROR, "cannot find this program (/proc/self/exe)");
	self[sn] = 0;

	struct report reps[2];
	memset(reps, 0, sizeof(reps));
	size_t nrep = 0;
	char tmp[] = "/tmp/vstd-conform-XXXXXX";
	int fd = mkstemp(tmp);
	if (fd < 0)
		return cli_error(CLI_EXIT_ERROR, "cannot create a temporary file: %s",
		                 strerror(errno));
	close(fd);
	char drive[PATH_MAX + 64], accel_arg[32];
	snprintf(accel_arg, sizeof(accel_arg), "%s", accel);
	if (strstr(on, "vmm")) {
		char *av[16];
		int n = 0;
		av[n++] = self;
		av[n++] = "vmm";
		av[n++] = "run";
		av[n++] = "--kernel";
		av[n++] = guest;
		av[n++] = "--timeout";
		av[n++] = "60";
		av[n++] = "--append";
		av[n++] = (char *)append;
		if (disk) {
			av[n++] = "--disk";
			av[n++] = (char *)disk;
			av[n++] = "--snapshot";
		}
		av[n] = NULL;
		reps[nrep].who = "vmm";
		reps[nrep].status = run_to(av, tmp);
		parse_report(&reps[nrep++], tmp);
	}
	if (strstr(on, "qemu")) {
		char *av[32];
		int n = 0;
		av[n++] = "qemu-system-x86_64";
		av[n++] = "-accel";
		av[n++] = accel_arg;
		av[n++] = "-m";
		av[n++] = "256";
		av[n++] = "-nographic";
		av[n++] = "-no-reboot";
		av[n++] = "-nodefaults";
		av[n++] = "-serial";
		av[n++] = "stdio";
		av[n++] = "-device";
		av[n++] = "isa-debug-exit";
		av[n++] = "-kernel";
		av[n++] = guest;
		av[n++] = "-append";
		av[n++] = (char *)append;
		if (disk) {
			snprintf(drive, sizeof(drive),
			         "file=%s,format=raw,if=none,id=d0,snapshot=on", disk);
			av[n++] = "-drive";
			av[n++] = drive;
			av[n++] = "-device";
			av[n++] = "virtio-blk-pci,drive=d0,disable-legacy=on";
		}
		av[n] = NULL;
		reps[nrep].who = "qemu";
		reps[nrep].status = run_to(av, tmp);
		parse_report(&reps[nrep++], tmp);
	}
	unlink(tmp);
	if (nrep == 0)
		return cli_error(CLI_EXIT_USAGE, "--on: name vmm, qemu or both");

	int same = 1;
	char diff[4096] = "";
	size_t dl = 0;
	for (size_t i = 0; i < nrep; i++)
		if (reps[i].n == 0 || reps[i].status != 1)
			same = 0;
	if (nrep == 2) {
		size_t a = 0, b = 0;
		while (a < reps[0].n || b < reps[1].n) {
			int c = a >= reps[0].n   ? 1
			        : b >= reps[1].n ? -1
			                         : strcmp(reps[0].lines[a], reps[1].lines[b]);
			if (c == 0) {
				a++, b++;
				continue;
			}
			same = 0;
			const char *l = c < 0 ? reps[0].lines[a++] : reps[1].lines[b++];
			if (dl < sizeof(diff) - 1)
				dl += (size_t)snprintf(diff + dl, sizeof(diff) - dl,
				                       "  only %s: %s\n",
				                       c < 0 ? reps[0].who : reps[1].who, l);
		}
	}
	if (out == CLI_OUTPUT_JSON) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "identical", json_object_new_boolean(same));
		for (size_t i = 0; i < nrep; i++) {
			json_object *r = json_object_new_object(), *arr = json_object_new_array();
			json_object_object_add(r, "exit_status",
			                       json_object_new_int(reps[i].status));
			for (size_t j = 0; j < reps[i].n; j++)
				json_object_array_add(arr,
				                      json_object_new_string(reps[i].lines[j]));
			json_object_object_add(r, "compared", arr);
			arr = json_object_new_array();
			for (size_t j = 0; j < reps[i].ninfo; j++)
				json_object_array_add(arr, json_object_new_string(reps[i].info[j]));
			json_object_object_add(r, "info", arr);
			json_object_object_add(o, reps[i].who, r);
		}
		cli_print_json(o);
	} else {
		for (size_t i = 0; i < nrep; i++)
			printf("%s: exit status %d, %zu compared lines\n", reps[i].who,
			       reps[i].status, reps[i].n);
		if (dl)
			fputs(diff, stdout);
		printf("%s\n", same ? "conformance guest: reports identical"
		                    : "conformance guest: reports DIFFER");
	}
	for (size_t i = 0; i < nrep; i++)
		free_report(&reps[i]);
	return same ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}

int vstd_cmd_conform(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		if (argc < 2) {
			fputs(usage_text, stderr);
			return CLI_EXIT_USAGE;
		}
		return cli_usage(usage_text);
	}
	optind = 0;
	if (strcmp(argv[1], "guest") == 0) {
		cli_set_prog("vstd conform guest");
		return cmd_guest(argc - 1, argv + 1);
	}
	return cli_error(CLI_EXIT_USAGE, "'%s' is not a conform suite (guest)", argv[1]);
}
