/*
 * tests/descriptor/test_ova_gzip.c - a gzip-wrapped OVA larger than any
 * in-memory limit (330 MiB inflated) is streamed: it opens, its manifest
 * verifies while the members are read in order, random reads (back and
 * forth, through the access points) return the right bytes, a wrong digest
 * is named, and the peak RSS grows by far less than the package (getrusage).
 * GNU tar + gzip + sha256sum read the same file (the real peers).
 *
 * The package is generated here, streamed through zlib: a position-dependent
 * but very compressible disk (every 4 KiB block holds its number), so the
 * .ova stays small on disk and the test stays fast.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "vstd/ovf.h"
#include "vtest.h"

#define DISK_BYTES (330ull << 20)
#define BLK 4096u

static void pattern_block(uint64_t blkno, unsigned char *b)
{
	for (unsigned i = 0; i < BLK; i += 8)
		memcpy(b + i, &blkno, 8);
}

typedef struct gzw {
	FILE *f;
	z_stream zs;
	unsigned char out[1 << 16];
} gzw;

static void gzw_put(gzw *w, const void *data, size_t len, int flush)
{
	w->zs.next_in = (unsigned char *)data;
	w->zs.avail_in = (uInt)len;
	do {
		w->zs.next_out = w->out;
		w->zs.avail_out = sizeof(w->out);
		int zrc = deflate(&w->zs, flush);
		ck_assert(zrc != Z_STREAM_ERROR);
		size_t n = sizeof(w->out) - w->zs.avail_out;
		ck_assert_uint_eq(fwrite(w->out, 1, n, w->f), n);
	} while (w->zs.avail_out == 0 || (flush == Z_FINISH && w->zs.avail_in > 0));
}

/* A ustar header for a regular file. */
static void tar_header(unsigned char *h, const char *name, uint64_t size)
{
	memset(h, 0, 512);
	snprintf((char *)h, 100, "%s", name);
	snprintf((char *)h + 100, 8, "%07o", 0644);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
	snprintf((char *)h + 136, 12, "%011o", 0);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

static void put_member(gzw *w, const char *name, const void *data, size_t len)
{
	unsigned char h[512], pad[512] = {0};
	tar_header(h, name, len);
	gzw_put(w, h, 512, Z_NO_FLUSH);
	gzw_put(w, data, len, Z_NO_FLUSH);
	if (len % 512)
		gzw_put(w, pad, 512 - len % 512, Z_NO_FLUSH);
}

static void hex(const unsigned char *d, unsigned n, char *out)
{
	for (unsigned i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static char disk_hex[65];
static uint64_t disk_bytes = DISK_BYTES;

/* Write pkg.ova (gzip of a tar: x.ovf, x.mf, disk.img); `bad`: wrong disk digest. */
static const char *make_ova(const char *file, int bad, int two_members)
{
	static unsigned char blk[BLK];
	if (disk_hex[0] == '\0') {
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		EVP_DigestInit_ex(c, EVP_sha256(), NULL);
		for (uint64_t b = 0; b < disk_bytes / BLK; b++) {
			pattern_block(b, blk);
			EVP_DigestUpdate(c, blk, BLK);
		}
		unsigned char d[32];
		unsigned dl = 0;
		EVP_DigestFinal_ex(c, d, &dl);
		EVP_MD_CTX_free(c);
		hex(d, 32, disk_hex);
	}
	char ovf[2048];
	snprintf(ovf, sizeof(ovf),
	         "<?xml version=\"1.0\"?>\n"
	         "<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" "
	         "xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\">\n"
	         "<References><File ovf:id=\"f1\" ovf:href=\"disk.img\" ovf:size=\"%llu\"/>"
	         "</References>\n"
	         "<DiskSection><Info>d</Info><Disk ovf:diskId=\"d1\" ovf:fileRef=\"f1\" "
	         "ovf:capacity=\"%llu\" ovf:format=\"http://www.vmware.com/interfaces/"
	         "specifications/vmdk.html#sparse\"/></DiskSection>\n"
	         "<VirtualSystem ovf:id=\"vm\"><Info>v</Info></VirtualSystem>\n"
	         "</Envelope>\n",
	         (unsigned long long)disk_bytes, (unsigned long long)disk_bytes);
	unsigned char d[32];
	unsigned dl = 0;
	EVP_Digest(ovf, strlen(ovf), d, &dl, EVP_sha256(), NULL);
	char ovf_hex[65];
	hex(d, 32, ovf_hex);
	char mf[512];
	snprintf(mf, sizeof(mf), "SHA256(x.ovf)= %s\nSHA256(disk.img)= %s\n", ovf_hex,
	         bad ? "00000000000000000000000000000000000000000000000000000000000000ff"
	             : disk_hex);
	const char *path = vt_path(file);
	gzw *w = calloc(1, sizeof(*w));
	ck_assert_ptr_nonnull(w);
	w->f = fopen(path, "wb");
	ck_assert_ptr_nonnull(w->f);
	ck_assert_int_eq(deflateInit2(&w->zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
	                 Z_OK);
	put_member(w, "x.ovf", ovf, strlen(ovf));
	put_member(w, "x.mf", mf, strlen(mf));
	unsigned char h[512];
	tar_header(h, "disk.img", disk_bytes);
	gzw_put(w, h, 512, Z_NO_FLUSH);
	for (uint64_t b = 0; b < disk_bytes / BLK; b++) {
		pattern_block(b, blk);
		if (two_members && b == disk_bytes / BLK / 2) {
			/* end this gzip member, start another (RFC 1952 2.2) */
			gzw_put(w, blk, 0, Z_FINISH);
			ck_assert_int_eq(deflateReset(&w->zs), Z_OK);
		}
		gzw_put(w, blk, BLK, Z_NO_FLUSH);
	}
	unsigned char zero[1024] = {0};
	gzw_put(w, zero, sizeof(zero), Z_FINISH);
	deflateEnd(&w->zs);
	fclose(w->f);
	free(w);
	return path;
}

static long rss_now_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;
	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static long rss_peak_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

typedef struct sink {
	EVP_MD_CTX *c;
	uint64_t bytes;
} sink;

static int to_sink(const void *data, size_t len, void *opaque)
{
	sink *s = opaque;
	EVP_DigestUpdate(s->c, data, len);
	s->bytes += len;
	return 0;
}

START_TEST(big_gzip_ova_streams_in_bounded_memory)
{
	const char *path = make_ova("big.ova", 0, _i);
	long before = rss_now_kib();
	vstd_ova *ova = NULL;
	vt_ok(vstd_ova_open(&ova, path, NULL));
	ck_assert_uint_eq(vstd_ova_member_count(ova), 3);
	size_t idx;
	vt_ok(vstd_ova_find(ova, "disk.img", &idx));
	ck_assert_uint_eq(vstd_ova_member_get(ova, idx)->size, DISK_BYTES);
	/* the manifest verifies, members read forward in archive order */
	vstd_ovf_verify_result vr;
	vt_ok(vstd_ova_verify(ova, NULL, &vr));
	ck_assert_int_eq(vr.has_manifest, 1);
	ck_assert_uint_eq(vr.files_checked, 2);
	vstd_ovf_verify_result_clear(&vr);
	/* streaming the References file gives the same digest */
	sink s = {EVP_MD_CTX_new(), 0};
	EVP_DigestInit_ex(s.c, EVP_sha256(), NULL);
	vt_ok(vstd_ova_stream_file(ova, "f1", 0, to_sink, &s));
	unsigned char d[32];
	unsigned dl = 0;
	char h[65];
	EVP_DigestFinal_ex(s.c, d, &dl);
	EVP_MD_CTX_free(s.c);
	hex(d, 32, h);
	ck_assert_uint_eq(s.bytes, DISK_BYTES);
	ck_assert_str_eq(h, disk_hex);
	/* random reads, backwards and forwards, across access points */
	static const uint64_t blocks[] = {80000, 3, 84479, 40000, 40001, 12345, 0, 70000, 20000};
	unsigned char got[BLK], want[BLK];
	for (size_t k = 0; k < sizeof(blocks) / sizeof(blocks[0]); k++) {
		uint64_t b = blocks[k];
		vt_ok(vstd_ova_read(ova, idx, b * BLK, got, BLK));
		pattern_block(b, want);
		ck_assert_msg(memcmp(got, want, BLK) == 0, "block %llu differs",
		              (unsigned long long)b);
	}
	/* an unaligned read spanning two blocks */
	static unsigned char two[2 * BLK];
	pattern_block(5000, two);
	pattern_block(5001, two + BLK);
	vt_ok(vstd_ova_read(ova, idx, 5000ull * BLK + 100, got, BLK));
	ck_assert(memcmp(got, two + 100, BLK) == 0);
	vstd_ova_close(ova);
	long peak = rss_peak_kib();
	/* the package inflates to 330 MiB: held in memory it would show */
	ck_assert_msg(peak - before < 48 * 1024, "peak RSS grew by %ld KiB (before %ld KiB)",
	              peak - before, before);
	fprintf(stderr, "gzip OVA %s: %llu MiB inflated, peak RSS +%ld KiB\n",
	        _i ? "(2 gzip members)" : "", (unsigned long long)(disk_bytes >> 20),
	        peak - before);
	/* the peers agree: GNU tar + gzip read it, sha256sum of the disk */
	if (_i == 0) {
		ck_assert_int_eq(vt_run("tar -xzOf '%s' disk.img | sha256sum", path), 0);
		ck_assert_msg(strncmp(vt_output(), disk_hex, 64) == 0, "peer: %s", vt_output());
	}
	unlink(path);
}
END_TEST

START_TEST(big_gzip_ova_wrong_digest_named)
{
	disk_bytes = 8u << 20;
	const char *path = make_ova("bad.ova", 1, 0);
	vstd_ova *ova = NULL;
	vt_ok(vstd_ova_open(&ova, path, NULL));
	vstd_ovf_verify_result vr;
	ck_assert_int_eq(vstd_ova_verify(ova, NULL, &vr), VSTD_EVERIFY);
	ck_assert_str_eq(vr.failed_file, "disk.img");
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "disk.img"));
	vstd_ovf_verify_result_clear(&vr);
	vstd_ova_close(ova);
	/* a limit below the inflated size is refused by name */
	vstd_ova_open_opts oo = VSTD_OVA_OPEN_OPTS_INIT;
	oo.max_gzip_tar = 4u << 20;
	ck_assert_int_eq(vstd_ova_open(&ova, path, &oo), VSTD_ELIMIT);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "max_gzip_tar"));
	/* truncated gzip: refused, not hung */
	ck_assert_int_eq(vt_run("head -c 10000 '%s' > '%s'", path, vt_path("trunc.ova")), 0);
	ck_assert_int_eq(vstd_ova_open(&ova, vt_path("trunc.ova"), NULL), VSTD_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "gzip"));
	unlink(path);
}
END_TEST

int main(void)
{
	vt_require_tool("tar", "tar");
	vt_require_tool("gzip", "gzip");
	vt_require_tool("sha256sum", "coreutils");
	Suite *s = suite_create("ova_gzip");
	TCase *tc = tcase_create("ova_gzip");
	tcase_add_loop_test(tc, big_gzip_ova_streams_in_bounded_memory, 0, 2);
	tcase_add_test(tc, big_gzip_ova_wrong_digest_named);
	tcase_set_timeout(tc, 240);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
