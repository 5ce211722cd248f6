/*
 * tools/cim/client.c - `vstd cim ls|define|start|stop|shutdown|pause|reset|
 * modify|destroy`: the client side, through a running `vstd cim serve`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/cli.h"
#include "vstd/mgmt.h"

int cim_client_main(int argc, char **argv);

static const char client_usage[] =
        "usage: vstd cim <command> --server HOST:PORT --user USER [--insecure-http]\n"
        "                [--no-verify | --cacert FILE] [--output=human|json] ...\n"
        "  ls                          list virtual systems\n"
        "  define FILE.ovf             define a system from an OVF descriptor\n"
        "  start|stop|shutdown|pause|reset ID\n"
        "                              RequestStateChange 2|3|4|9|11, waits for the job\n"
        "  modify ID [--name N] [--memory MiB] [--cpus N]\n"
        "  destroy ID\n"
        "The password comes from the environment variable VSTD_CIM_PASSWORD.\n";

static const char *state_name(unsigned s)
{
	switch (s) {
	case 2: return "running";
	case 3: return "stopped";
	case 4: return "shutting-down";
	case 9: return "paused";
	case 10: return "starting";
	default: return "unknown";
	}
}

int cim_client_main(int argc, char **argv)
{
	static const struct option opts[] = {{"server", required_argument, NULL, 's'},
	                                     {"user", required_argument, NULL, 'u'},
	                                     {"insecure-http", no_argument, NULL, 'i'},
	                                     {"no-verify", no_argument, NULL, 'k'},
	                                     {"cacert", required_argument, NULL, 'c'},
	                                     {"output", required_argument, NULL, 'o'},
	                                     {"name", required_argument, NULL, 'n'},
	                                     {"memory", required_argument, NULL, 'm'},
	                                     {"cpus", required_argument, NULL, 'p'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	vstd_cim_client_opts co = VSTD_CIM_CLIENT_OPTS_INIT;
	enum cli_output out = CLI_OUTPUT_HUMAN;
	const char *cmd = argv[0], *name = NULL;
	char host[256] = "127.0.0.1";
	unsigned long v, mem = 0, cpus = 0;
	int c, rc = 0;
	co.tls = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': {
			const char *colon = strrchr(optarg, ':');
			if (colon == NULL || (size_t)(colon - optarg) >= sizeof(host))
				return cli_error(CLI_EXIT_USAGE, "--server wants HOST:PORT");
			memcpy(host, optarg, (size_t)(colon - optarg));
			host[colon - optarg] = 0;
			if (cli_parse_uint(colon + 1, "port", 65535, &v) < 0)
				return CLI_EXIT_USAGE;
			co.port = (unsigned)v;
			break;
		}
		case 'u': co.user = optarg; break;
		case 'i': co.tls = 0; break;
		case 'k': co.no_verify = 1; break;
		case 'c': co.ca_file = optarg; break;
		case 'o':
			if (cli_parse_output(optarg, &out) < 0)
				return CLI_EXIT_USAGE;
			break;
		case 'n': name = optarg; break;
		case 'm':
			if (cli_parse_uint(optarg, "--memory", 1ul << 40, &mem) < 0)
				return CLI_EXIT_USAGE;
			break;
		case 'p':
			if (cli_parse_uint(optarg, "--cpus", 4096, &cpus) < 0)
				return CLI_EXIT_USAGE;
			break;
		case 'h': return cli_usage(client_usage);
		default: return cli_bad_option(CLI_EXIT_USAGE, argc, argv);
		}
	}
	co.host = host;
	co.password = getenv("VSTD_CIM_PASSWORD");
	const char *arg = optind < argc ? argv[optind] : NULL;
	if (strcmp(cmd, "ls") != 0 && arg == NULL)
		return cli_error(CLI_EXIT_USAGE, "'%s' needs an argument (see --help)", cmd);
	vstd_cim_client *cl;
	if (vstd_cim_client_open(&cl, &co) < 0)
		return cli_lib_error(CLI_EXIT_ERROR, NULL);
	json_object *j = NULL;
	if (strcmp(cmd, "ls") == 0) {
		vstd_cim_system_info *l;
		size_t n;
		if ((rc = vstd_cim_client_systems(cl, &l, &n)) == 0) {
			if (out == CLI_OUTPUT_JSON) {
				j = json_object_new_array();
				for (size_t i = 0; i < n; i++) {
					json_object *o = json_object_new_object();
					json_object_object_add(o, "id",
					                       json_object_new_string(l[i].id));
					json_object_object_add(o, "name",
					                       json_object_new_string(l[i].name));
					json_object_object_add(
					        o, "enabled_state",
					        json_object_new_int((int)l[i].enabled_state));
					json_object_object_add(o, "state",
					                       json_object_new_string(state_name(
					                               l[i].enabled_state)));
					json_object_array_add(j, o);
				}
			} else {
				for (size_t i = 0; i < n; i++)
					printf("%s  %-14s %s\n", l[i].id,
					       state_name(l[i].enabled_state), l[i].name);
			}
			vstd_cim_client_free_buffer(l);
		}
	} else if (strcmp(cmd, "define") == 0) {
		FILE *f = fopen(arg, "re");
		char *text = f ? malloc(32u << 20) : NULL;
		size_t len = text ? fread(text, 1, (32u << 20) - 1, f) : 0;
		if (f)
			fclose(f);
		if (text == NULL) {
			vstd_cim_client_close(cl);
			free(text);
			return cli_error(CLI_EXIT_ERROR, "cannot read %s", arg);
		}
		text[len] = 0;
		char id[VSTD_MGMT_ID_LEN];
		if ((rc = vstd_cim_client_define_ovf(cl, text, id)) == 0) {
			if (out == CLI_OUTPUT_JSON) {
				j = json_object_new_object();
				json_object_object_add(j, "id", json_object_new_string(id));
			} else {
				printf("%s\n", id);
			}
		}
		free(text);
	} else if (strcmp(cmd, "destroy") == 0) {
		rc = vstd_cim_client_destroy(cl, arg);
	} else if (strcmp(cmd, "modify") == 0) {
		rc = vstd_cim_client_modify(cl, arg, name, mem, (unsigned)cpus);
	} else {
		unsigned st = strcmp(cmd, "start") == 0      ? 2
		              : strcmp(cmd, "stop") == 0     ? 3
		              : strcmp(cmd, "shutdown") == 0 ? 4
		              : strcmp(cmd, "pause") == 0    ? 9
		              : strcmp(cmd, "reset") == 0    ? 11
		                                             : 0;
		if (st == 0) {
			vstd_cim_client_close(cl);
			return cli_error(CLI_EXIT_USAGE, "unknown command '%s'", cmd);
		}
		rc = vstd_cim_client_request_state(cl, arg, st, 120000);
	}
	vstd_cim_client_close(cl);
	if (rc < 0) {
		json_object_put(j);
		return cli_lib_error(CLI_EXIT_ERROR, NULL);
	}
	if (out == CLI_OUTPUT_JSON) {
		if (j == NULL) {
			j = json_object_new_object();
			json_object_object_add(j, "ok", json_object_new_boolean(1));
		}
		cli_print_json(j);
	}
	return CLI_EXIT_OK;
}
