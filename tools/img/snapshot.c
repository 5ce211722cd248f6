/*
 * tools/img/snapshot.c - `vstd img snapshot`: list, create, apply, delete
 * internal snapshots.
 */
#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include "common/cli.h"

static const char help_text[] = "Internal snapshots (qcow2).\n\n"
                                "  -l        list them (the default)\n"
                                "  -c name   create one\n"
                                "  -a name   apply (revert the disk to) one\n"
                                "  -d name   delete one\n"
                                "  -f fmt    the image's format (default: probe)\n"
                                "  -q        quiet\n"
                                "  -U        accepted for qemu-img compatibility\n";

static void list(vstd_disk_snapshot *s, size_t n)
{
	printf("Snapshot list:\n%-10s%-20s%11s%20s%16s%11s\n", "ID", "TAG", "VM SIZE", "DATE",
	       "VM CLOCK", "ICOUNT");
	for (size_t i = 0; i < n; i++) {
		char date[32] = "", vs[32];
		time_t t = (time_t)s[i].date_sec;
		struct tm tm;
		uint64_t ms = s[i].vm_clock_nsec / 1000000;
		if (localtime_r(&t, &tm) != NULL)
			strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
		cli_format_size(s[i].vm_state_size, vs, sizeof(vs));
		printf("%-10s%-20s%11s%20s %02llu:%02llu:%02llu.%03llu", s[i].id ? s[i].id : "",
		       s[i].name ? s[i].name : "", vs, date, (unsigned long long)(ms / 3600000),
		       (unsigned long long)(ms / 60000 % 60), (unsigned long long)(ms / 1000 % 60),
		       (unsigned long long)(ms % 1000));
		if (s[i].icount != UINT64_MAX)
			printf("%11llu", (unsigned long long)s[i].icount);
		printf("\n");
	}
}

int img_snapshot(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"force-share", no_argument, NULL, 'U'},
	        {NULL, 0, NULL, 0},
	};
	const char *format = NULL, *name = NULL;
	int action = 'l', opt, rc = CLI_EXIT_OK, nact = 0;
	vstd_disk *d = NULL;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "hlc:a:d:f:qU", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h': return cli_img_help("snapshot", help_text);
		case 'l':
			action = 'l';
			nact++;
			break;
		case 'c':
		case 'a':
		case 'd':
			action = opt;
			name = optarg;
			nact++;
			break;
		case 'f': format = optarg; break;
		case 'q':
		case 'U': break;
		default: return cli_bad_option(CLI_EXIT_ERROR, argc, argv);
		}
	}
	if (nact > 1)
		return cli_error(CLI_EXIT_ERROR, "give only one of -l, -c, -a, -d");
	if (optind != argc - 1)
		return cli_error(CLI_EXIT_ERROR, "expecting one image file name (see --help)");
	if (cli_open(&d, argv[optind], format,
	             VSTD_DISK_NO_BACKING | (action == 'l' ? 0 : VSTD_DISK_RDWR), NULL) < 0)
		return CLI_EXIT_ERROR;
	if (action == 'l') {
		vstd_disk_snapshot *s = NULL;
		size_t n = 0;
		if (vstd_disk_snapshot_list(d, &s, &n) < 0)
			rc = cli_lib_error(CLI_EXIT_ERROR, NULL);
		else if (n > 0)
			list(s, n);
		vstd_disk_snapshot_list_free(s, n);
	} else {
		int r = action == 'c'   ? vstd_disk_snapshot_create(d, name)
		        : action == 'a' ? vstd_disk_snapshot_apply(d, name)
		                        : vstd_disk_snapshot_delete(d, name);
		if (r < 0 || vstd_disk_flush(d) < 0)
			rc = cli_lib_error(CLI_EXIT_ERROR, NULL);
	}
	vstd_disk_close(d);
	return rc;
}
