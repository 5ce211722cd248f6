/*
 * bench/mgmt/bench_mgmt.c - vstd-bench-mgmt: the WBEM server's throughput
 * and latency next to the limit of its HTTP library, and the cost of the
 * virtual system life cycle.
 *
 *  1. EnumerateInstances(VSTD_ComputerSystem, 10 systems defined) and
 *     GetInstance(VSTD_HostSystem): requests/s and p99 latency over HTTP
 *     keep-alive with 1, 4, 16 and 64 client threads, and the same client
 *     against libmicrohttpd answering a static page with the same threads
 *     and polling mode (the limit).  The ratio is vstd / static.
 *  2. define + start + stop (+ destroy) of N systems through the C API
 *     with the QEMU backend (TCG, 32 MiB, no disk), one after the other.
 *
 *     Each point is the best of --reps runs (vstd and the static page
 *     alternate, so a noisy machine hurts both alike), and the process CPU
 *     time per request is shown beside the rates: a ratio of costs that
 *     noise from other processes barely moves.
 *
 * Usage: vstd-bench-mgmt [--seconds S] [--reps N] [--vms N] [--clients 1,4,16,64]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "vstd/mgmt.h"
#include "vstd/vstd.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned free_port(void)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &l) < 0) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	close(fd);
	return ntohs(a.sin_port);
}

/* ------------------------------------------------------------ static page */
static char static_page[2048];

static enum MHD_Result static_handler(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version, const char *upload,
                                      size_t *upload_size, void **con_cls)
{
	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload;
	if (*con_cls == NULL) {
		*con_cls = (void *)1;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(static_page), static_page,
	                                                         MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

/* ------------------------------------------------------------ load */
struct load {
	unsigned port;
	const char *method, *body;
	double until;
	double *lat;
	size_t n, cap;
	int errors;
};

static void *load_thread(void *p)
{
	struct load *l = p;
	vstd_cim_client_opts o = VSTD_CIM_CLIENT_OPTS_INIT;
	vstd_cim_client *c;
	o.port = l->port;
	o.user = "bench";
	o.password = "bench-pass";
	if (vstd_cim_client_open(&c, &o) < 0) {
		l->errors++;
		return NULL;
	}
	while (now_s() < l->until) {
		int st;
		char *resp;
		size_t len;
		double t0 = now_s();
		if (vstd_cim_client_call(c, l->method, "root%2Fvirtualization", l->body,
		                         strlen(l->body), &st, &resp, &len) < 0 ||
		    st != 200) {
			l->errors++;
			continue;
		}
		vstd_cim_client_free_buffer(resp);
		if (l->n < l->cap)
			l->lat[l->n++] = now_s() - t0;
	}
	vstd_cim_client_close(c);
	return NULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* CPU time (user + system) of the whole process: server and client threads. */
static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void run_load(unsigned port, const char *method, const char *body, unsigned clients,
                     double seconds, double *rps, double *p99, double *cpu_us, int *errors)
{
	double cpu0 = cpu_s();
	struct load *l = calloc(clients, sizeof(*l));
	pthread_t *t = calloc(clients, sizeof(*t));
	double start = now_s(), until = start + seconds;
	size_t total = 0;
	for (unsigned i = 0; i < clients; i++) {
		l[i].port = port;
		l[i].method = method;
		l[i].body = body;
		l[i].until = until;
		l[i].cap = 2000000 / clients + 1000;
		l[i].lat = malloc(l[i].cap * sizeof(double));
		pthread_create(&t[i], NULL, load_thread, &l[i]);
	}
	for (unsigned i = 0; i < clients; i++) {
		pthread_join(t[i], NULL);
		total += l[i].n;
	}
	double el = now_s() - start;
	double cpu = cpu_s() - cpu0;
	double *all = malloc((total + 1) * sizeof(double));
	size_t k = 0;
	*errors = 0;
	for (unsigned i = 0; i < clients; i++) {
		memcpy(all + k, l[i].lat, l[i].n * sizeof(double));
		k += l[i].n;
		*errors += l[i].errors;
		free(l[i].lat);
	}
	qsort(all, k, sizeof(double), cmp_d);
	*rps = (double)k / el;
	*cpu_us = k ? cpu * 1e6 / (double)k : 0;
	*p99 = k ? all[(size_t)((double)k * 0.99)] * 1e3 : 0;
	free(all);
	free(l);
	free(t);
}

#define NS                                                                                         \
	"<LOCALNAMESPACEPATH><NAMESPACE NAME=\"root\"/><NAMESPACE "                                \
	"NAME=\"virtualization\"/></LOCALNAMESPACEPATH>"
#define HEAD                                                                                       \
	"<?xml version=\"1.0\" encoding=\"utf-8\"?><CIM CIMVERSION=\"2.0\" "                       \
	"DTDVERSION=\"2.0\"><MESSAGE ID=\"1\" PROTOCOLVERSION=\"1.0\"><SIMPLEREQ>"
#define TAIL "</SIMPLEREQ></MESSAGE></CIM>"

int main(int argc, char **argv)
{
	double seconds = 1;
	unsigned reps = 3;
	unsigned vms = 100;
	unsigned clients[8] = {1, 4, 16, 64};
	size_t n_clients = 4;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
			reps = (unsigned)atoi(argv[++i]) ? (unsigned)atoi(argv[i]) : 1;
		else if (strcmp(argv[i], "--vms") == 0 && i + 1 < argc)
			vms = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--clients") == 0 && i + 1 < argc) {
			n_clients = 0;
			for (char *s = strtok(argv[++i], ","); s && n_clients < 8;
			     s = strtok(NULL, ","))
				clients[n_clients++] = (unsigned)atoi(s);
		} else {
			fprintf(stderr, "usage: vstd-bench-mgmt [--seconds S] [--reps N] [--vms N] "
			                "[--clients 1,4,16,64]\n");
			return 2;
		}
	}
	char dir[] = "/tmp/vstd-bench-mgmt-XXXXXX", path[256];
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/passwd", dir);
	vstd_cim_passwd_set(path, "bench", "bench-pass");
	vstd_mgmt_opts mo = VSTD_MGMT_OPTS_INIT;
	char state[256];
	snprintf(state, sizeof(state), "%s/state", dir);
	mo.state_dir = state;
	mo.max_memory = 1ull << 34;
	vstd_mgmt *m;
	if (vstd_mgmt_open(&m, &mo) < 0) {
		fprintf(stderr, "bench: %s\n", vstd_error_last()->message);
		return 1;
	}
	for (int i = 0; i < 10; i++) {
		vstd_mgmt_system s = VSTD_MGMT_SYSTEM_INIT;
		char name[32], id[VSTD_MGMT_ID_LEN];
		snprintf(name, sizeof(name), "bench-%d", i);
		s.name = name;
		s.memory = 64ull << 20;
		s.n_nics = 1;
		vstd_mgmt_define(m, &s, id);
	}
	vstd_cim_server_opts so = VSTD_CIM_SERVER_OPTS_INIT;
	so.insecure_http = 1;
	so.passwd_file = path;
	so.port = free_port();
	vstd_cim_server *srv;
	if (vstd_cim_server_start(&srv, m, &so) < 0) {
		fprintf(stderr, "bench: %s\n", vstd_error_last()->message);
		return 1;
	}
	/* the static page is an EnumerateInstanceNames-sized answer */
	memset(static_page, 'x', 1024);
	unsigned sport = free_port();
	struct MHD_Daemon *d =
	        MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD, (uint16_t)sport, NULL, NULL,
	                         static_handler, NULL, MHD_OPTION_THREAD_POOL_SIZE, 4u,
	                         MHD_OPTION_CONNECTION_LIMIT, 2048u, MHD_OPTION_END);
	static const char *ops[][2] = {
	        {"EnumerateInstances", HEAD "<IMETHODCALL NAME=\"EnumerateInstances\">" NS
	                                    "<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME "
	                                    "NAME=\"VSTD_ComputerSystem\"/></IPARAMVALUE>"
	                                    "</IMETHODCALL>" TAIL},
	        {"GetInstance", NULL},
	};
	char gi[2048];
	char host[128];
	gethostname(host, sizeof(host));
	snprintf(gi, sizeof(gi),
	         HEAD "<IMETHODCALL NAME=\"GetInstance\">" NS "<IPARAMVALUE NAME=\"InstanceName\">"
	              "<INSTANCENAME CLASSNAME=\"VSTD_HostSystem\"><KEYBINDING "
	              "NAME=\"CreationClassName\">"
	              "<KEYVALUE>VSTD_HostSystem</KEYVALUE></KEYBINDING><KEYBINDING "
	              "NAME=\"Name\"><KEYVALUE>%s"
	              "</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE></IMETHODCALL>" TAIL,
	         host);
	ops[1][1] = gi;
	printf("# vstd-bench-mgmt: best of %u runs of %.1f s per point (vstd and the static page "
	       "alternate), HTTP keep-alive, 4 server threads, %ld CPUs\n",
	       reps, seconds, sysconf(_SC_NPROCESSORS_ONLN));
	printf("# cpu us/req: process CPU time (server + client threads) per answered request\n");
	printf("%-20s %7s %10s %8s %10s %8s %6s %9s %9s %6s\n", "operation", "clients",
	       "vstd req/s", "p99 ms", "static r/s", "p99 ms", "ratio", "vstd cpu", "stat cpu",
	       "cpu x");
	for (size_t o = 0; o < 2; o++)
		for (size_t i = 0; i < n_clients; i++) {
			double r1 = 0, p1 = 0, c1 = 1e9, r2 = 0, p2 = 0, c2 = 1e9;
			int e = 0;
			for (unsigned k = 0; k < reps; k++) {
				double r, p, c;
				int e1;
				run_load(vstd_cim_server_port(srv), ops[o][0], ops[o][1],
				         clients[i], seconds, &r, &p, &c, &e1);
				e += e1;
				if (r > r1)
					r1 = r, p1 = p;
				if (c < c1)
					c1 = c;
				run_load(sport, ops[o][0], ops[o][1], clients[i], seconds, &r, &p,
				         &c, &e1);
				e += e1;
				if (r > r2)
					r2 = r, p2 = p;
				if (c < c2)
					c2 = c;
			}
			printf("%-20s %7u %10.0f %8.3f %10.0f %8.3f %6.2f %9.1f %9.1f %6.2f%s\n",
			       ops[o][0], clients[i], r1, p1, r2, p2, r2 > 0 ? r1 / r2 : 0, c1, c2,
			       c2 > 0 ? c1 / c2 : 0, e ? " (errors)" : "");
			fflush(stdout);
		}
	MHD_stop_daemon(d);
	vstd_cim_server_stop(srv);

	/* life cycle */
	if (vms) {
		double t_def = 0, t_start = 0, t_stop = 0, t_destroy = 0;
		unsigned done = 0;
		for (unsigned i = 0; i < vms; i++) {
			vstd_mgmt_system s = VSTD_MGMT_SYSTEM_INIT;
			char name[32], id[VSTD_MGMT_ID_LEN];
			snprintf(name, sizeof(name), "life-%u", i);
			s.name = name;
			s.memory = 32ull << 20;
			double t0 = now_s();
			if (vstd_mgmt_define(m, &s, id) < 0)
				break;
			double t1 = now_s();
			if (vstd_mgmt_request_state(m, id, VSTD_MGMT_REQ_ENABLED, 0) < 0) {
				fprintf(stderr, "bench: start: %s\n", vstd_error_last()->message);
				break;
			}
			double t2 = now_s();
			vstd_mgmt_request_state(m, id, VSTD_MGMT_REQ_DISABLED, 0);
			double t3 = now_s();
			vstd_mgmt_destroy(m, id);
			double t4 = now_s();
			t_def += t1 - t0;
			t_start += t2 - t1;
			t_stop += t3 - t2;
			t_destroy += t4 - t3;
			done++;
		}
		printf("\n# life cycle of %u systems (QEMU TCG, 32 MiB, no disk), sequential\n",
		       done);
		printf("define %.3f s (%.2f ms each), start %.3f s (%.1f ms each), stop %.3f s "
		       "(%.1f ms "
		       "each), destroy %.3f s; total %.2f s\n",
		       t_def, done ? t_def * 1e3 / done : 0, t_start,
		       done ? t_start * 1e3 / done : 0, t_stop, done ? t_stop * 1e3 / done : 0,
		       t_destroy, t_def + t_start + t_stop + t_destroy);
	}
	vstd_mgmt_free(m);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: could not remove %s\n", dir);
	return 0;
}
