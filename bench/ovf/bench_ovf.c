/*
 * bench/ovf/bench_ovf.c - vstd-bench-ovf: (1) parse and validate a
 * generated descriptor with N hardware items (default 10,000; goal: under
 * 100 ms); (2) with an OVA argument, verify its manifest (streaming SHA of
 * every file) against `sha256sum` of the same files extracted, min and
 * median of R runs, and print the ratio (goal <= 1.1).
 *
 * (3) with -b GIB, the large-OVA benchmark of big.c: pack, verify and
 * unpack+verify of a GIB-GiB OVA against GNU tar + sha256sum (in -d DIR,
 * default /var/tmp; needs about 4 x GIB of free space).
 *
 * usage: vstd-bench-ovf [-n ITEMS] [-r RUNS] [-b GIB [-d DIR]] [PACKAGE.ova]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vstd/ovf.h"

double bench_now(void);
int bench_cmp_double(const void *a, const void *b);
int bench_big(const char *workdir, unsigned gib, unsigned long runs);

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static char *make_descriptor(unsigned long n, size_t *len)
{
	size_t cap = 4096 + n * 400;
	char *b = malloc(cap);
	size_t k = (size_t)snprintf(
	        b, cap,
	        "<?xml version=\"1.0\"?><Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" "
	        "xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\" "
	        "xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
	        "CIM_ResourceAllocationSettingData\">"
	        "<References/><NetworkSection><Info>n</Info><Network "
	        "ovf:name=\"lan\"/></NetworkSection>"
	        "<VirtualSystem "
	        "ovf:id=\"big\"><Info>i</Info><VirtualHardwareSection><Info>h</Info>\n");
	for (unsigned long i = 0; i < n; i++)
		k += (size_t)snprintf(
		        b + k, cap - k,
		        "<Item><rasd:AddressOnParent>%lu</"
		        "rasd:AddressOnParent><rasd:Connection>lan</rasd:Connection>"
		        "<rasd:ElementName>nic "
		        "%lu</rasd:ElementName><rasd:InstanceID>%lu</rasd:InstanceID>"
		        "<rasd:ResourceSubType>E1000</rasd:ResourceSubType><rasd:ResourceType>10</"
		        "rasd:ResourceType></Item>\n",
		        i, i, i + 1);
	k += (size_t)snprintf(b + k, cap - k,
	                      "</VirtualHardwareSection></VirtualSystem></Envelope>\n");
	*len = k;
	return b;
}

int main(int argc, char **argv)
{
	unsigned long n = 10000, runs = 5, big = 0;
	const char *workdir = "/var/tmp";
	int c;
	while ((c = getopt(argc, argv, "n:r:b:d:")) != -1) {
		if (c == 'n')
			n = strtoul(optarg, NULL, 10);
		else if (c == 'b')
			big = strtoul(optarg, NULL, 10);
		else if (c == 'd')
			workdir = optarg;
		else if (c == 'r')
			runs = strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	if (runs == 0 || runs > 100)
		runs = 5;
	size_t len;
	char *x = make_descriptor(n, &len);
	double t[100], cpu[100];
	for (unsigned long r = 0; r < runs; r++) {
		double t0 = bench_now();
		clock_t c0 = clock();
		vstd_ovf *ovf = NULL;
		if (vstd_ovf_parse(&ovf, x, len, "bench.ovf", NULL) != 0) {
			fprintf(stderr, "parse: %s\n", vstd_error_last()->message);
			return 1;
		}
		vstd_ovf_validate_opts vo = VSTD_OVF_VALIDATE_OPTS_INIT;
		vo.flags = VSTD_OVF_DESCRIPTOR_ONLY;
		vstd_ovf_report *rep = NULL;
		if (vstd_ovf_validate(ovf, &vo, &rep) != 0)
			return 1;
		vstd_ovf_report_free(rep);
		vstd_ovf_free(ovf);
		t[r] = bench_now() - t0;
		cpu[r] = (double)(clock() - c0) / CLOCKS_PER_SEC;
	}
	qsort(t, runs, sizeof(double), bench_cmp_double);
	qsort(cpu, runs, sizeof(double), bench_cmp_double);
	/* CPU time too: on a loaded machine wall time measures the neighbours */
	printf("parse+validate %lu items (%zu bytes): wall min %.1f ms median %.1f ms; CPU min "
	       "%.1f ms "
	       "median %.1f ms (goal < 100 ms)\n",
	       n, len, t[0] * 1e3, t[runs / 2] * 1e3, cpu[0] * 1e3, cpu[runs / 2] * 1e3);
	free(x);
	if (big > 0 && big <= 64 && bench_big(workdir, (unsigned)big, runs) != 0)
		return 1;
	if (optind >= argc)
		return 0;

	const char *ova_path = argv[optind];
	double ours[100], theirs[100];
	char dir[] = "/tmp/vstd-bench-ovf-XXXXXX";
	if (mkdtemp(dir) == NULL)
		return 1;
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "tar xf '%s' -C '%s'", ova_path, dir);
	if (system(cmd) != 0)
		return 1;
	for (unsigned long r = 0; r < runs; r++) {
		double t0 = bench_now();
		vstd_ova *ova = NULL;
		if (vstd_ova_open(&ova, ova_path, NULL) != 0)
			return 1;
		vstd_ovf_verify_result res;
		memset(&res, 0, sizeof(res));
		int rc = vstd_ova_verify(ova, NULL, &res);
		if (rc != 0 && !res.signature_valid)
			fprintf(stderr, "verify: %s\n", vstd_error_last()->message);
		vstd_ovf_verify_result_clear(&res);
		vstd_ova_close(ova);
		ours[r] = bench_now() - t0;
		snprintf(cmd, sizeof(cmd),
		         "cd '%s' && sha256sum $(ls | grep -v '\\.mf$' | grep -v '\\.cert$') > "
		         "/dev/null",
		         dir);
		t0 = bench_now();
		if (system(cmd) != 0)
			return 1;
		theirs[r] = bench_now() - t0;
	}
	qsort(ours, runs, sizeof(double), bench_cmp_double);
	qsort(theirs, runs, sizeof(double), bench_cmp_double);
	printf("verify %s: vstd min %.3f s median %.3f s; sha256sum min %.3f s median %.3f s; "
	       "ratio (median) %.2f (goal <= 1.1)\n",
	       ova_path, ours[0], ours[runs / 2], theirs[0], theirs[runs / 2],
	       ours[runs / 2] / theirs[runs / 2]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}
