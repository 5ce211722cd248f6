/*
 * tools/ovf/convert.c - `vstd ovf env` and `vstd ovf convert`.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "ovf/ovf.h"

#define MAX_SET 256

static int write_out(const char *path, const char *data, size_t len)
{
	FILE *f = path ? fopen(path, "wb") : stdout;
	if (f == NULL)
		return cli_error(CLI_EXIT_ERROR, "%s: cannot create", path);
	int ok = fwrite(data, 1, len, f) == len;
	if (path)
		ok &= fclose(f) == 0;
	return ok ? 0 : cli_error(CLI_EXIT_ERROR, "%s: write failed", path ? path : "stdout");
}

int ovf_cmd_env(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"vm", required_argument, NULL, 'v'},     {"set", required_argument, NULL, 's'},
	        {"output", required_argument, NULL, 'o'}, {"iso", required_argument, NULL, 'i'},
	        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
	const char *vm = NULL, *out = NULL, *iso = NULL;
	const char *keys[MAX_SET], *values[MAX_SET];
	size_t n = 0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'v': vm = optarg; break;
		case 's': {
			char *eq = strchr(optarg, '=');
			if (eq == NULL || n >= MAX_SET)
				return cli_error(CLI_EXIT_USAGE, "--set wants KEY=VALUE");
			*eq = 0;
			keys[n] = optarg;
			values[n++] = eq + 1;
			break;
		}
		case 'o': out = optarg; break;
		case 'i': iso = optarg; break;
		case 'h':
			return cli_usage(
			        "usage: vstd ovf env [--vm ID] [--set KEY=VALUE]... [-o FILE] "
			        "[--iso OUT.iso] INPUT\n"
			        "Write the OVF environment (ovf-env.xml) of INPUT's properties; "
			        "--iso also writes an ISO 9660 image holding it (ISO "
			        "transport).\n");
		default: return CLI_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc)
		return cli_error(CLI_EXIT_USAGE, "expected one INPUT");
	ovf_input in;
	if (ovf_input_open(&in, argv[optind]) != 0)
		return CLI_EXIT_ERROR;
	char *xml = NULL;
	size_t len = 0;
	int rc = vstd_ovf_env_build(in.doc, vm, keys, values, n, &xml, &len) < 0
	                 ? ovf_fail(CLI_EXIT_ERROR)
	                 : 0;
	if (rc == 0 && iso != NULL) {
		vstd_iso_file f = {"ovf-env.xml", xml, len};
		if (vstd_iso9660_write(iso, "OVF_ENV", &f, 1) < 0)
			rc = ovf_fail(CLI_EXIT_ERROR);
	}
	if (rc == 0 && (out != NULL || iso == NULL))
		rc = write_out(out, xml, len);
	vstd_ovf_buffer_free(xml);
	ovf_input_close(&in);
	return rc;
}

static void print_shell_word(FILE *f, const char *s)
{
	int plain = *s != 0;
	for (const char *p = s; *p; p++)
		if (!(isalnum((unsigned char)*p) || strchr("-_=,.:/+@%", *p)))
			plain = 0;
	if (plain) {
		fputs(s, f);
		return;
	}
	fputc('\'', f);
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			fputs("'\\''", f);
		else
			fputc(*p, f);
	}
	fputc('\'', f);
}

int ovf_cmd_convert(int argc, char **argv)
{
	static const struct option opts[] = {{"to", required_argument, NULL, 't'},
	                                     {"output", required_argument, NULL, 'o'},
	                                     {"disk-dir", required_argument, NULL, 'd'},
	                                     {"disk-format", required_argument, NULL, 'f'},
	                                     {"config", required_argument, NULL, 'c'},
	                                     {"vm", required_argument, NULL, 'v'},
	                                     {"env-iso", required_argument, NULL, 'i'},
	                                     {"emulator", required_argument, NULL, 'e'},
	                                     {"target", required_argument, NULL, 'T'},
	                                     {"hardware", required_argument, NULL, 'H'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *to = NULL, *out = NULL;
	vstd_ovf_translate_opts to_opts = VSTD_OVF_TRANSLATE_OPTS_INIT;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': to = optarg; break;
		case 'o': out = optarg; break;
		case 'd': to_opts.disk_dir = optarg; break;
		case 'f': to_opts.disk_format = optarg; break;
		case 'c': to_opts.config = optarg; break;
		case 'v': to_opts.vm_id = optarg; break;
		case 'i': to_opts.env_iso = optarg; break;
		case 'e': to_opts.emulator = optarg; break;
		case 'T':
			to_opts.target = vstd_ovf_target_parse(optarg);
			if (to_opts.target < 0)
				return cli_error(CLI_EXIT_USAGE,
				                 "--target must be libvirt, qemu or vmm");
			break;
		case 'H': to_opts.hardware_id = optarg; break;
		case 'h':
			return cli_usage("usage: vstd ovf convert --to libvirt|qemu|ovf [-o OUT] "
			                 "[--disk-dir D] [--disk-format F] [--config ID] [--vm ID] "
			                 "[--env-iso ISO] [--emulator PATH] [--target "
			                 "libvirt|qemu|vmm] [--hardware ID] INPUT\n"
			                 "libvirt, qemu: INPUT is an OVF/OVA; ovf: INPUT is a "
			                 "libvirt domain XML\n"
			                 "--target picks the VirtualHardwareSection whose "
			                 "VirtualSystemType fits (default: the --to target); "
			                 "--hardware names one by ovf:id\n");
		default: return CLI_EXIT_USAGE;
		}
	}
	if (to == NULL || optind + 1 != argc)
		return cli_error(CLI_EXIT_USAGE, "need --to and one INPUT");
	const char *input = argv[optind];
	if (strcmp(to, "ovf") == 0) {
		FILE *f = fopen(input, "rb");
		if (f == NULL)
			return cli_error(CLI_EXIT_ERROR, "%s: cannot open", input);
		char *buf = malloc(16u << 20);
		size_t len = buf ? fread(buf, 1, 16u << 20, f) : 0;
		fclose(f);
		vstd_ovf *ovf = NULL;
		int rc = buf && vstd_ovf_from_libvirt(&ovf, buf, len, input) == 0
		                 ? 0
		                 : ovf_fail(CLI_EXIT_ERROR);
		free(buf);
		char *xml = NULL;
		size_t xl = 0;
		if (rc == 0 && vstd_ovf_write(ovf, &xml, &xl) < 0)
			rc = ovf_fail(CLI_EXIT_ERROR);
		if (rc == 0)
			rc = write_out(out, xml, xl);
		vstd_ovf_buffer_free(xml);
		vstd_ovf_free(ovf);
		return rc;
	}
	ovf_input in;
	if (ovf_input_open(&in, input) != 0)
		return CLI_EXIT_ERROR;
	if (to_opts.disk_dir == NULL)
		to_opts.disk_dir = in.dir;
	int rc = 0;
	if (strcmp(to, "libvirt") == 0) {
		char *xml = NULL;
		size_t xl = 0;
		rc = vstd_ovf_to_libvirt(in.doc, &to_opts, &xml, &xl) < 0 ? ovf_fail(CLI_EXIT_ERROR)
		                                                          : write_out(out, xml, xl);
		vstd_ovf_buffer_free(xml);
	} else if (strcmp(to, "qemu") == 0) {
		char **av = NULL;
		size_t ac = 0;
		if (vstd_ovf_to_qemu_argv(in.doc, &to_opts, &av, &ac) < 0) {
			rc = ovf_fail(CLI_EXIT_ERROR);
		} else {
			FILE *f = out ? fopen(out, "w") : stdout;
			if (f == NULL) {
				rc = cli_error(CLI_EXIT_ERROR, "%s: cannot create", out);
			} else {
				for (size_t i = 0; i < ac; i++) {
					if (i)
						fputc(' ', f);
					print_shell_word(f, av[i]);
				}
				fputc('\n', f);
				if (out)
					fclose(f);
			}
			vstd_ovf_argv_free(av);
		}
	} else {
		rc = cli_error(CLI_EXIT_USAGE, "--to must be libvirt, qemu or ovf");
	}
	ovf_input_close(&in);
	return rc;
}
