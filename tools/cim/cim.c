/*
 * tools/cim/cim.c - `vstd cim`: serve the CIM model over WBEM, manage the
 * password file.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cli.h"
#include "vstd/mgmt.h"

int vstd_cmd_cim(int argc, char **argv);
int cim_client_main(int argc, char **argv);

static const char usage_text[] =
        "usage: vstd cim serve --listen ADDR:PORT --state-dir DIR\n"
        "                      (--passwd FILE | --pam SERVICE | both)\n"
        "                      [--tls-cert F --tls-key F | --insecure-http]\n"
        "                      [--backend qemu|vmm] [--qemu BIN] [--accel tcg|kvm]\n"
        "                      [--max-memory SIZE] [--threads N] [--timeout S]\n"
        "                      [--trace-dir DIR]  (every request and response body)\n"
        "       vstd cim passwd FILE USER      (password read from stdin)\n"
        "       vstd cim ls|define|start|stop|shutdown|pause|reset|modify|destroy --server "
        "HOST:PORT\n"
        "                --user USER [...]     (client; 'vstd cim ls --help')\n"
        "\n"
        "serve: a DSP0200 CIM-XML server (POST /cimom, namespace root/virtualization)\n"
        "  for the DMTF System Virtualization profiles; HTTPS and loopback by default.\n"
        "  Stops on SIGINT/SIGTERM.  Clients: wbemcli, pywbem, ...; see docs/mgmt.md.\n"
        "  HTTP Basic logins are checked in the --passwd file, then (if given) through\n"
        "  the PAM service /etc/pam.d/SERVICE.\n";

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void log_to_stderr(int level, const char *module, const char *message, void *opaque)
{
	(void)opaque;
	fprintf(stderr, "vstd cim: %s%s: %s\n", level == VSTD_LOG_ERROR ? "error: " : "", module,
	        message);
}

static int cim_serve(int argc, char **argv)
{
	static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
	                                     {"state-dir", required_argument, NULL, 's'},
	                                     {"passwd", required_argument, NULL, 'p'},
	                                     {"pam", required_argument, NULL, 'P'},
	                                     {"trace-dir", required_argument, NULL, 'D'},
	                                     {"tls-cert", required_argument, NULL, 'c'},
	                                     {"tls-key", required_argument, NULL, 'k'},
	                                     {"insecure-http", no_argument, NULL, 'i'},
	                                     {"backend", required_argument, NULL, 'b'},
	                                     {"qemu", required_argument, NULL, 'q'},
	                                     {"accel", required_argument, NULL, 'a'},
	                                     {"max-memory", required_argument, NULL, 'm'},
	                                     {"threads", required_argument, NULL, 't'},
	                                     {"timeout", required_argument, NULL, 'T'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	vstd_mgmt_opts mo = VSTD_MGMT_OPTS_INIT;
	vstd_cim_server_opts so = VSTD_CIM_SERVER_OPTS_INIT;
	char addr[256] = "127.0.0.1";
	char self[4096];
	unsigned long v;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': {
			const char *colon = strrchr(optarg, ':');
			if (colon == NULL || (size_t)(colon - optarg) >= sizeof(addr))
				return cli_error(CLI_EXIT_USAGE,
				                 "--listen wants ADDR:PORT, got '%s'", optarg);
			size_t l = (size_t)(colon - optarg);
			memcpy(addr, optarg, l);
			addr[l] = 0;
			if (addr[0] == '[' && l > 2 && addr[l - 1] == ']') {
				memmove(addr, addr + 1, l - 2);
				addr[l - 2] = 0;
			}
			if (cli_parse_uint(colon + 1, "port", 65535, &v) < 0)
				return CLI_EXIT_USAGE;
			so.port = (unsigned)v;
			break;
		}
		case 's': mo.state_dir = optarg; break;
		case 'p': so.passwd_file = optarg; break;
		case 'P': so.pam_service = optarg; break;
		case 'D': so.trace_dir = optarg; break;
		case 'c': so.tls_cert_file = optarg; break;
		case 'k': so.tls_key_file = optarg; break;
		case 'i': so.insecure_http = 1; break;
		case 'b': mo.backend = optarg; break;
		case 'q': mo.qemu_binary = optarg; break;
		case 'a': mo.qemu_accel = optarg; break;
		case 'm':
			if (cli_parse_size(optarg, "--max-memory", &mo.max_memory) < 0)
				return CLI_EXIT_USAGE;
			break;
		case 't':
			if (cli_parse_uint(optarg, "--threads", 256, &v) < 0)
				return CLI_EXIT_USAGE;
			so.threads = (unsigned)v;
			break;
		case 'T':
			if (cli_parse_uint(optarg, "--timeout", 3600, &v) < 0)
				return CLI_EXIT_USAGE;
			so.timeout_s = (unsigned)v;
			break;
		case 'h': return cli_usage(usage_text);
		default: return cli_bad_option(CLI_EXIT_USAGE, argc, argv);
		}
	}
	if (mo.state_dir == NULL || (so.passwd_file == NULL && so.pam_service == NULL))
		return cli_error(CLI_EXIT_USAGE,
		                 "--state-dir and --passwd FILE or --pam SERVICE are required");
	if (!so.insecure_http && (so.tls_cert_file == NULL || so.tls_key_file == NULL))
		return cli_error(CLI_EXIT_USAGE, "HTTPS needs --tls-cert and --tls-key (or "
		                                 "--insecure-http for plain HTTP)");
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		mo.vmm_program = self;
	}
	so.address = addr;
	vstd_log_set(log_to_stderr, NULL, VSTD_LOG_WARN);
	vstd_mgmt *m;
	int rc = vstd_mgmt_open(&m, &mo);
	if (rc == VSTD_ECORRUPT)
		fprintf(stderr,
		        "vstd cim: warning: some definitions were not loaded (see above)\n");
	else if (rc < 0)
		return cli_lib_error(CLI_EXIT_ERROR, NULL);
	vstd_cim_server *srv;
	if (vstd_cim_server_start(&srv, m, &so) < 0) {
		cli_lib_error(CLI_EXIT_ERROR, NULL);
		vstd_mgmt_free(m);
		return CLI_EXIT_ERROR;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr,
	        "vstd cim: serving %s://%s:%u/root/virtualization (%zu systems, backend %s)\n",
	        so.insecure_http ? "http" : "https", addr, vstd_cim_server_port(srv),
	        vstd_mgmt_count(m), mo.backend ? mo.backend : "qemu");
	while (!stop_flag)
		pause();
	vstd_cim_server_stop(srv);
	vstd_mgmt_free(m);
	return CLI_EXIT_OK;
}

static int cim_passwd(int argc, char **argv)
{
	char pw[1100];
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return cli_usage(usage_text);
	if (argc != 3)
		return cli_error(CLI_EXIT_USAGE,
		                 "usage: vstd cim passwd FILE USER (password on stdin)");
	if (fgets(pw, sizeof(pw), stdin) == NULL)
		return cli_error(CLI_EXIT_USAGE, "no password on standard input");
	pw[strcspn(pw, "\r\n")] = 0;
	if (pw[0] == 0)
		return cli_error(CLI_EXIT_USAGE, "the password is empty");
	if (vstd_cim_passwd_set(argv[1], argv[2], pw) < 0)
		return cli_lib_error(CLI_EXIT_ERROR, NULL);
	memset(pw, 0, sizeof(pw));
	return CLI_EXIT_OK;
}

int vstd_cmd_cim(int argc, char **argv)
{
	if (argc < 2)
		return cli_error(CLI_EXIT_USAGE,
		                 "a subcommand is needed (serve, passwd; see --help)");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cli_usage(usage_text);
	if (strcmp(argv[1], "serve") == 0)
		return cim_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "passwd") == 0)
		return cim_passwd(argc - 1, argv + 1);
	return cim_client_main(argc - 1, argv + 1);
}
