/*
 * bench/ovf/big.c - the large-OVA benchmark (opt-in; never in CI):
 * a SIZE-GiB disk (default 4) of pseudo-random bytes is
 *   pack:          put into an OVA with a SHA-256 manifest
 *                  vstd:  vstd_ova_create (digest pass + tar copy)
 *                  peer:  sha256sum > x.mf && tar --format=ustar -cf
 *   verify:        the OVA's manifest checked (streaming SHA-256 of the members)
 *                  vstd:  vstd_ova_open + vstd_ovf_validate + vstd_ova_verify
 *                  peer:  tar -xOf OVA disk.img | sha256sum (and the descriptor)
 *   unpack+verify: extracted into an empty directory and verified
 *                  vstd:  vstd_ova_open + vstd_ova_verify + vstd_ova_extract
 *                  peer:  tar -xf OVA -C DIR && sha256sum -c x.mf
 * Each step runs R times alternating vstd and peer; reported are min and
 * median seconds and the ratio vstd/peer of the medians (below 1: vstd is
 * faster; the goal for verify is <= 1.1).  The page cache is not
 * dropped (no root needed): both sides read the same, mostly cached, files.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vstd/ovf.h"

double bench_now(void);
int bench_cmp_double(const void *a, const void *b);
int bench_big(const char *workdir, unsigned gib, unsigned long runs);

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[16384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	if (st != 0)
		fprintf(stderr, "bench: command failed (%d): %s\n", st, cmd);
	return st;
}

static int make_disk(const char *path, uint64_t bytes)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	static uint64_t buf[1 << 17]; /* 1 MiB */
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (uint64_t done = 0; done < bytes; done += sizeof(buf)) {
		for (size_t i = 0; i < sizeof(buf) / 8; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = x;
		}
		if (fwrite(buf, 1, sizeof(buf), f) != sizeof(buf)) {
			fclose(f);
			return -1;
		}
	}
	return fclose(f);
}

static void report(const char *what, double *ours, double *peer, unsigned long runs)
{
	qsort(ours, runs, sizeof(double), bench_cmp_double);
	qsort(peer, runs, sizeof(double), bench_cmp_double);
	printf("%-14s vstd min %7.2f s median %7.2f s | peer min %7.2f s median %7.2f s | "
	       "ratio vstd/peer (median) %.2f, (min) %.2f\n",
	       what, ours[0], ours[runs / 2], peer[0], peer[runs / 2],
	       ours[runs / 2] / peer[runs / 2], ours[0] / peer[0]);
}

int bench_big(const char *workdir, unsigned gib, unsigned long runs)
{
	char dir[1024], p_disk[1100], p_ovf[1100], p_ova[1100], p_peer[1100], p_out[1100];
	snprintf(dir, sizeof(dir), "%s/vstd-bench-ovf-big-XXXXXX", workdir);
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	snprintf(p_disk, sizeof(p_disk), "%s/disk.img", dir);
	snprintf(p_ovf, sizeof(p_ovf), "%s/x.ovf", dir);
	snprintf(p_ova, sizeof(p_ova), "%s/vstd.ova", dir);
	snprintf(p_peer, sizeof(p_peer), "%s/peer.ova", dir);
	snprintf(p_out, sizeof(p_out), "%s/out", dir);
	uint64_t bytes = (uint64_t)gib << 30;
	double t0 = bench_now();
	if (make_disk(p_disk, bytes) != 0) {
		perror(p_disk);
		return 1;
	}
	printf("generated %u GiB disk in %.1f s (%s)\n", gib, bench_now() - t0, dir);
	vstd_ovf_build_disk d = {"disk.img", bytes, bytes, "http://en.wikipedia.org/wiki/Byte",
	                         "virtio",   0};
	vstd_ovf_build_spec spec = {VSTD_OVF_BUILD_SPEC_VERSION};
	spec.name = "big";
	spec.disks = &d;
	spec.n_disks = 1;
	vstd_ovf *ovf = NULL;
	if (vstd_ovf_build(&ovf, &spec) != 0 || vstd_ovf_save(ovf, p_ovf) != 0) {
		fprintf(stderr, "build: %s\n", vstd_error_last()->message);
		return 1;
	}
	char *xml = NULL;
	size_t xl = 0;
	vstd_ovf_write(ovf, &xml, &xl);
	vstd_ovf_free(ovf);
	double ours[3][100], peer[3][100];
	int rc = 0;
	for (unsigned long r = 0; r < runs && rc == 0; r++) {
		/* pack */
		unlink(p_ova);
		unlink(p_peer);
		vstd_ova_input in[2] = {{"x.ovf", NULL, xml, xl}, {"disk.img", p_disk, NULL, 0}};
		vstd_ova_create_opts co = VSTD_OVA_CREATE_OPTS_INIT;
		co.digest = "sha256";
		t0 = bench_now();
		if (vstd_ova_create(p_ova, in, 2, &co) != 0) {
			fprintf(stderr, "pack: %s\n", vstd_error_last()->message);
			rc = 1;
			break;
		}
		ours[0][r] = bench_now() - t0;
		t0 = bench_now();
		rc |= sh("cd '%s' && sha256sum x.ovf disk.img > x.mf && tar --format=ustar -cf "
		         "'%s' x.ovf x.mf disk.img",
		         dir, p_peer);
		peer[0][r] = bench_now() - t0;
		/* verify (the "validate and hash") */
		t0 = bench_now();
		vstd_ova *ova = NULL;
		const vstd_ovf *doc = NULL;
		vstd_ovf_report *rep = NULL;
		vstd_ovf_verify_result res;
		memset(&res, 0, sizeof(res));
		vstd_ovf_validate_opts vo = VSTD_OVF_VALIDATE_OPTS_INIT;
		if (vstd_ova_open(&ova, p_ova, NULL) != 0 || vstd_ova_descriptor(ova, &doc) != 0 ||
		    (vo.ova = ova, vstd_ovf_validate(doc, &vo, &rep)) != 0 ||
		    vstd_ovf_report_errors(rep) != 0 || vstd_ova_verify(ova, NULL, &res) != 0 ||
		    res.files_checked != 2) {
			fprintf(stderr, "verify: %s\n", vstd_error_last()->message);
			rc = 1;
		}
		vstd_ovf_report_free(rep);
		vstd_ovf_verify_result_clear(&res);
		vstd_ova_close(ova);
		ours[1][r] = bench_now() - t0;
		t0 = bench_now();
		rc |= sh("tar -xOf '%s' x.ovf | sha256sum > /dev/null && tar -xOf '%s' disk.img | "
		         "sha256sum > /dev/null",
		         p_peer, p_peer);
		peer[1][r] = bench_now() - t0;
		/* unpack + verify */
		sh("rm -rf '%s' && mkdir '%s'", p_out, p_out);
		t0 = bench_now();
		ova = NULL;
		memset(&res, 0, sizeof(res));
		if (vstd_ova_open(&ova, p_ova, NULL) != 0 ||
		    vstd_ova_verify(ova, NULL, &res) != 0 || vstd_ova_extract(ova, p_out) != 0) {
			fprintf(stderr, "unpack: %s\n", vstd_error_last()->message);
			rc = 1;
		}
		vstd_ovf_verify_result_clear(&res);
		vstd_ova_close(ova);
		ours[2][r] = bench_now() - t0;
		sh("rm -rf '%s' && mkdir '%s'", p_out, p_out);
		t0 = bench_now();
		rc |= sh("tar -xf '%s' -C '%s'", p_peer, p_out);
		rc |= sh("cd '%s' && sha256sum -c --quiet x.mf", p_out);
		peer[2][r] = bench_now() - t0;
		sh("rm -rf '%s'", p_out);
		fprintf(stderr, "run %lu/%lu: pack %.2f/%.2f verify %.2f/%.2f unpack %.2f/%.2f s\n",
		        r + 1, runs, ours[0][r], peer[0][r], ours[1][r], peer[1][r], ours[2][r],
		        peer[2][r]);
	}
	vstd_ovf_buffer_free(xml);
	if (rc == 0) {
		printf("%u GiB OVA, %lu runs (peer: GNU tar + sha256sum)\n", gib, runs);
		report("pack", ours[0], peer[0], runs);
		report("verify", ours[1], peer[1], runs);
		report("unpack+verify", ours[2], peer[2], runs);
	}
	sh("rm -rf '%s'", dir);
	return rc;
}
