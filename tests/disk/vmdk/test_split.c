/*
 * tests/disk/vmdk/test_split.c - resizing split VMDKs (twoGbMaxExtentSparse,
 * twoGbMaxExtentFlat) across extents: growth fills the last extent and adds
 * extent files named like the existing ones; shrinking drops whole trailing
 * extents.  Images made by qemu-img and by vstd; results checked with
 * qemu-img (check, compare, convert, qemu-io reads) and vmdkinfo against a
 * raw file given the same writes.  Hostile cases: an extent file name that
 * already exists, a directory that takes no new files.
 *
 * Everything stays sparse: a few MiB of data in images of several GiB.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bytes.h"
#include "vtest.h"

#define KIB ((uint64_t)1 << 10)
#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)

/* the same bytes written to the image (through vstd) and to the raw twin */
static void write_both(vstd_disk *d, const char *raw, uint64_t at, size_t len, uint64_t seed)
{
	uint8_t *buf = malloc(len);
	FILE *f = fopen(raw, "r+b");
	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(f);
	vt_fill_random(buf, len, seed);
	vt_ok(vstd_disk_write(d, at, buf, len));
	ck_assert_int_eq(fseeko(f, (off_t)at, SEEK_SET), 0);
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	fclose(f);
	free(buf);
}

static void read_equal(vstd_disk *d, uint64_t at, size_t len, uint64_t seed)
{
	uint8_t *want = malloc(len), *got = malloc(len);
	vt_fill_random(want, len, seed);
	vt_ok(vstd_disk_read(d, at, got, len));
	ck_assert_msg(memcmp(want, got, len) == 0, "data at %" PRIu64 " differs", at);
	free(want);
	free(got);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 16);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_gt(fread(buf, 1, (1 << 16) - 1, f), 0);
	fclose(f);
	return buf;
}

static int count_extent_lines(const char *text)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, "\nRW ")) != NULL; p++)
		n++;
	return n;
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

/* qemu agrees with the raw twin: check (sparse), compare, vmdkinfo's size */
static void peers_agree(const char *img, const char *raw, uint64_t size, int flat)
{
	char want[64];
	if (!flat)
		ck_assert_msg(vt_run("qemu-img check -f vmdk %s", img) == 0, "%s", vt_output());
	ck_assert_msg(vt_run("qemu-img compare -f vmdk -F raw %s %s", img, raw) == 0, "%s",
	              vt_output());
	ck_assert_int_eq(vt_run("qemu-img info --output=json -f vmdk %s", img), 0);
	snprintf(want, sizeof(want), "\"virtual-size\": %" PRIu64 ",", size);
	ck_assert_msg(strstr(vt_output(), want) != NULL, "want %s in %s", want, vt_output());
	ck_assert_int_eq(vt_run("vmdkinfo %s", img), 0);
	snprintf(want, sizeof(want), "(%" PRIu64 " bytes)", size);
	ck_assert_msg(strstr(vt_output(), want) != NULL, "want %s in %s", want, vt_output());
}

static void make_split(const char *img, uint64_t size, int flat, int by_qemu)
{
	const char *sub = flat ? "twoGbMaxExtentFlat" : "twoGbMaxExtentSparse";
	if (by_qemu) {
		ck_assert_msg(vt_run("qemu-img create -q -f vmdk -o subformat=%s %s %" PRIu64, sub,
		                     img, size) == 0,
		              "%s", vt_output());
	} else {
		ck_assert_msg(vt_run("%s img create -f vmdk -o subformat=%s %s %" PRIu64, vt_cli(),
		                     sub, img, size) == 0,
		              "%s", vt_output());
	}
}

/*
 * _i bit 0: made by vstd (else qemu-img); bit 1: flat (else sparse).
 * 3 GiB (2 GiB + 1 GiB) -> 7 GiB with the CLI: the last extent filled,
 * two extents added; writes past the old end and across the new extent
 * boundary; -> 8 GiB only fills the last extent; all checked by peers.
 */
START_TEST(grow)
{
	int by_qemu = !(_i & 1), flat = (_i & 2) != 0;
	char c = flat ? 'f' : 's';
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	char img[512], raw[512], p3[512], p4[512], p5[512], conv[512], line[128];
	char *text;
	snprintf(img, sizeof(img), "%s/g%d.vmdk", vt_tmpdir(), _i);
	snprintf(raw, sizeof(raw), "%s/g%d.raw", vt_tmpdir(), _i);
	snprintf(conv, sizeof(conv), "%s/g%d-conv.raw", vt_tmpdir(), _i);
	snprintf(p3, sizeof(p3), "%s/g%d-%c003.vmdk", vt_tmpdir(), _i, c);
	snprintf(p4, sizeof(p4), "%s/g%d-%c004.vmdk", vt_tmpdir(), _i, c);
	snprintf(p5, sizeof(p5), "%s/g%d-%c005.vmdk", vt_tmpdir(), _i, c);
	make_split(img, 3 * GIB, flat, by_qemu);
	ck_assert_int_eq(vt_run("truncate -s %" PRIu64 " %s", 3 * GIB, raw), 0);
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	write_both(d, raw, 3 * GIB - 96 * KIB, 96 * KIB, 1);   /* the old end */
	write_both(d, raw, 2 * GIB - 8 * KIB, 16 * KIB, 2);    /* extents 1|2 */
	write_both(d, raw, 3 * GIB - 1 * MIB + 1000, 3000, 3); /* odd place */
	vstd_disk_close(d);

	ck_assert_msg(vt_run("%s img resize %s 7G", vt_cli(), img) == 0, "%s", vt_output());
	text = slurp(img);
	ck_assert_int_eq(count_extent_lines(text), 4);
	snprintf(line, sizeof(line), "RW 4194304 %s \"g%d-%c002.vmdk\"%s\n",
	         flat ? "FLAT" : "SPARSE", _i, c, flat ? " 0" : "");
	ck_assert_msg(strstr(text, line) != NULL, "want %s in %s", line, text);
	snprintf(line, sizeof(line), "RW 4194304 %s \"g%d-%c003.vmdk\"%s\n",
	         flat ? "FLAT" : "SPARSE", _i, c, flat ? " 0" : "");
	ck_assert_msg(strstr(text, line) != NULL, "want %s in %s", line, text);
	snprintf(line, sizeof(line), "RW 2097152 %s \"g%d-%c004.vmdk\"%s\n",
	         flat ? "FLAT" : "SPARSE", _i, c, flat ? " 0" : "");
	ck_assert_msg(strstr(text, line) != NULL, "want %s in %s", line, text);
	/* 7 GiB / (16 heads * 63 sectors * 512) */
	ck_assert_msg(strstr(text, "ddb.geometry.cylinders = \"14563\"") != NULL, "%s", text);
	free(text);
	ck_assert(exists(p3) && exists(p4) && !exists(p5));
	if (flat)
		ck_assert_uint_eq(file_size(p4), 1 * GIB);
	else
		ck_assert_uint_lt(file_size(p4), 1 * MIB); /* sparse: metadata only */
	ck_assert_int_eq(vt_run("truncate -s %" PRIu64 " %s", 7 * GIB, raw), 0);
	peers_agree(img, raw, 7 * GIB, flat);

	/* data past the old end, across the new extent boundary, then a
	 * grow that only fills the last extent */
	vt_ok(vstd_disk_open(&d, img, &oo));
	ck_assert_uint_eq(vstd_disk_size(d), 7 * GIB);
	read_equal(d, 3 * GIB - 96 * KIB, 96 * KIB, 1);
	write_both(d, raw, 3 * GIB + 512, 64 * KIB, 4);
	write_both(d, raw, 6 * GIB - 24 * KIB, 64 * KIB, 5);
	write_both(d, raw, 7 * GIB - 4 * KIB, 4 * KIB, 6);
	vt_ok(vstd_disk_resize(d, 8 * GIB, 0, NULL));
	ck_assert_uint_eq(vstd_disk_size(d), 8 * GIB);
	write_both(d, raw, 8 * GIB - 64 * KIB, 64 * KIB, 7);
	read_equal(d, 6 * GIB - 24 * KIB, 64 * KIB, 5);
	vstd_disk_close(d);
	ck_assert(!exists(p5));
	text = slurp(img);
	ck_assert_int_eq(count_extent_lines(text), 4);
	snprintf(line, sizeof(line), "RW 4194304 %s \"g%d-%c004.vmdk\"%s\n",
	         flat ? "FLAT" : "SPARSE", _i, c, flat ? " 0" : "");
	ck_assert_msg(strstr(text, line) != NULL, "want %s in %s", line, text);
	free(text);
	ck_assert_int_eq(vt_run("truncate -s %" PRIu64 " %s", 8 * GIB, raw), 0);
	peers_agree(img, raw, 8 * GIB, flat);
	/* qemu reads what vstd wrote past the old end */
	ck_assert_msg(vt_run("qemu-img convert -f vmdk -O raw %s %s && "
	                     "qemu-img compare -f raw -F raw %s %s",
	                     img, conv, conv, raw) == 0,
	              "%s", vt_output());
	unlink(conv);
}
END_TEST

/* VMware's extent size (4192256 sectors) and a name with text after the
 * number are kept; a descriptor with CR LF lines. */
START_TEST(vmware_layout)
{
	char img[512], raw[512];
	char *text;
	FILE *f;
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	const uint64_t ext = 4192256 * 512ull;
	snprintf(img, sizeof(img), "%s", vt_path("w.vmdk"));
	snprintf(raw, sizeof(raw), "%s", vt_path("w.raw"));
	f = fopen(img, "w");
	fprintf(f, "# Disk DescriptorFile\r\nversion=1\r\nCID=fffffffe\r\nparentCID=ffffffff\r\n"
	           "createType=\"twoGbMaxExtentFlat\"\r\n\r\n# Extent description\r\n"
	           "RW 4192256 FLAT \"w-f001-data.vmdk\" 0\r\n"
	           "RW 2048 FLAT \"w-f002-data.vmdk\" 0\r\n\r\n"
	           "# The Disk Data Base\r\n#DDB\r\n\r\nddb.adapterType = \"lsilogic\"\r\n"
	           "ddb.geometry.cylinders = \"261\"\r\nddb.geometry.heads = \"255\"\r\n"
	           "ddb.geometry.sectors = \"63\"\r\n");
	fclose(f);
	ck_assert_int_eq(vt_run("cd %s && truncate -s %" PRIu64 " w-f001-data.vmdk && "
	                        "truncate -s 1M w-f002-data.vmdk && truncate -s %" PRIu64 " %s",
	                        vt_tmpdir(), ext, ext + MIB, raw),
	                 0);
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	write_both(d, raw, ext + 4096, 8192, 11);
	vt_ok(vstd_disk_resize(d, 3 * ext, 0, NULL));
	write_both(d, raw, 3 * ext - 512, 512, 12);
	vstd_disk_close(d);
	text = slurp(img);
	ck_assert_msg(strstr(text, "RW 4192256 FLAT \"w-f002-data.vmdk\" 0\r\n"
	                           "RW 4192256 FLAT \"w-f003-data.vmdk\" 0\r\n") != NULL,
	              "%s", text);
	/* 3 * 4192256 sectors / (255 * 63) */
	ck_assert_msg(strstr(text, "ddb.geometry.cylinders = \"782\"\r\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "ddb.adapterType = \"lsilogic\"\r\n") != NULL, "%s", text);
	free(text);
	ck_assert_int_eq(vt_run("truncate -s %" PRIu64 " %s", 3 * ext, raw), 0);
	peers_agree(img, raw, 3 * ext, 1);
}
END_TEST

/* _i = 0 sparse, 1 flat: 7 GiB -> 2.5 GiB drops two extents and cuts one;
 * a later grow reads zeroes where data was cut. */
START_TEST(shrink)
{
	int flat = _i;
	char c = flat ? 'f' : 's';
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	char img[512], raw[512], p2[512], p3[512], p4[512];
	const uint64_t cut = 2 * GIB + 512 * MIB + 3 * 512; /* inside a grain */
	char *text;
	snprintf(img, sizeof(img), "%s/k%d.vmdk", vt_tmpdir(), _i);
	snprintf(raw, sizeof(raw), "%s/k%d.raw", vt_tmpdir(), _i);
	snprintf(p2, sizeof(p2), "%s/k%d-%c002.vmdk", vt_tmpdir(), _i, c);
	snprintf(p3, sizeof(p3), "%s/k%d-%c003.vmdk", vt_tmpdir(), _i, c);
	snprintf(p4, sizeof(p4), "%s/k%d-%c004.vmdk", vt_tmpdir(), _i, c);
	make_split(img, 7 * GIB, flat, 1);
	ck_assert_int_eq(vt_run("truncate -s %" PRIu64 " %s", 7 * GIB, raw), 0);
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	write_both(d, raw, cut - 64 * KIB, 128 * KIB, 21);
	write_both(d, raw, 5 * GIB, 64 * KIB, 22);
	/* like qemu-img: shrinking must be asked for, and nothing changes */
	ck_assert_int_eq(vstd_disk_resize(d, cut, 0, NULL), VSTD_EPERM);
	ck_assert(exists(p4));
	vt_ok(vstd_disk_resize(d, cut, VSTD_DISK_RESIZE_SHRINK, NULL));
	ck_assert_uint_eq(vstd_disk_size(d), cut);
	read_equal(d, cut - 64 * KIB, 64 * KIB, 21);
	vstd_disk_close(d);
	ck_assert(exists(p2) && !exists(p3) && !exists(p4));
	text = slurp(img);
	ck_assert_int_eq(count_extent_lines(text), 2);
	free(text);
	ck_assert_int_eq(vt_run("truncate -s %" PRIu64 " %s", cut, raw), 0);
	peers_agree(img, raw, cut, flat);
	/* the CLI refuses without --shrink */
	ck_assert_int_ne(vt_run("%s img resize %s 1G", vt_cli(), img), 0);
	ck_assert_msg(strstr(vt_output(), "--shrink") != NULL, "%s", vt_output());
	/* grow back: what was cut reads zeroes, in vstd and qemu */
	ck_assert_msg(vt_run("%s img resize %s 5G", vt_cli(), img) == 0, "%s", vt_output());
	ck_assert_int_eq(vt_run("truncate -s %" PRIu64 " %s", 5 * GIB, raw), 0);
	ck_assert(exists(p3) && !exists(p4));
	peers_agree(img, raw, 5 * GIB, flat);
}
END_TEST

/* A new extent's name already taken: refused naming it, the file kept,
 * nothing else left behind, the image unchanged. */
START_TEST(name_taken)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	char img[512], p3[512], p4[512], sum0[256];
	char *text;
	snprintf(img, sizeof(img), "%s", vt_path("t.vmdk"));
	snprintf(p3, sizeof(p3), "%s/t-s003.vmdk", vt_tmpdir());
	snprintf(p4, sizeof(p4), "%s/t-s004.vmdk", vt_tmpdir());
	make_split(img, 3 * GIB, 0, 1);
	vt_write_file(p4, "keep me", 7);
	ck_assert_int_eq(vt_run("cd %s && md5sum t.vmdk t-s00*.vmdk", vt_tmpdir()), 0);
	snprintf(sum0, sizeof(sum0), "%s", vt_output());
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	ck_assert_int_eq(vstd_disk_resize(d, 7 * GIB, 0, NULL), VSTD_EEXIST);
	ck_assert_msg(strstr(vstd_error_last()->message, "t-s004.vmdk") != NULL &&
	                      strstr(vstd_error_last()->message, "already exists") != NULL,
	              "%s", vstd_error_last()->message);
	ck_assert_uint_eq(vstd_disk_size(d), 3 * GIB);
	vstd_disk_close(d);
	ck_assert(!exists(p3));
	ck_assert_int_eq(vt_run("cd %s && md5sum t.vmdk t-s00*.vmdk", vt_tmpdir()), 0);
	ck_assert_str_eq(sum0, vt_output());
	text = slurp(p4);
	ck_assert_str_eq(text, "keep me");
	free(text);
	ck_assert_msg(vt_run("qemu-img check -f vmdk %s", img) == 0, "%s", vt_output());
	/* the CLI says the same */
	ck_assert_int_ne(vt_run("%s img resize %s 7G", vt_cli(), img), 0);
	ck_assert_msg(strstr(vt_output(), "t-s004.vmdk") != NULL, "%s", vt_output());
}
END_TEST

/* The descriptor's directory takes no new files: a clear error, the old
 * image intact (the last extent not filled either). */
START_TEST(dir_readonly)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	char dir[512], img[600], sum0[256], probe[600], msg[1024] = "";
	int immutable = 0, rc;
	snprintf(dir, sizeof(dir), "%s", vt_path("ro"));
	snprintf(img, sizeof(img), "%s/r.vmdk", dir);
	snprintf(probe, sizeof(probe), "%s/probe", dir);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	make_split(img, 3 * GIB, 0, 0);
	ck_assert_int_eq(vt_run("cd %s && md5sum r.vmdk r-s00*.vmdk", dir), 0);
	snprintf(sum0, sizeof(sum0), "%s", vt_output());
	ck_assert_int_eq(chmod(dir, 0555), 0);
	if (geteuid() == 0) /* root ignores modes: an immutable directory */
		immutable = vt_run("chattr +i %s", dir) == 0;
	if (vt_run("touch %s", probe) == 0) {
		unlink(probe);
		chmod(dir, 0755);
		fprintf(stderr, "dir_readonly: cannot make a directory refuse new files here "
		                "(root without chattr +i); the case is not exercised\n");
		return;
	}
	oo.flags = VSTD_DISK_RDWR;
	rc = vstd_disk_open(&d, img, &oo);
	if (rc == 0) {
		rc = vstd_disk_resize(d, 7 * GIB, 0, NULL);
		snprintf(msg, sizeof(msg), "%s", vstd_error_last()->message);
		vstd_disk_close(d);
	}
	/* the directory writable again before any assertion */
	if (immutable)
		ck_assert_int_eq(vt_run("chattr -i %s", dir), 0);
	ck_assert_int_eq(rc, VSTD_EPERM);
	ck_assert_msg(strstr(msg, "r-s003.vmdk") != NULL, "%s", msg);
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(vt_run("cd %s && md5sum r.vmdk r-s00*.vmdk", dir), 0);
	ck_assert_str_eq(sum0, vt_output());
	ck_assert_msg(vt_run("qemu-img check -f vmdk %s", img) == 0, "%s", vt_output());
}
END_TEST

/*
 * A crash just before the descriptor switch: the last extent already
 * filled (its header longer than its line), the new extent files there,
 * the old descriptor.  The old image reads as before in vstd, vmdkinfo and
 * qemu; the next grow refuses the leftover files by name; once they are
 * removed it brings the header back and grows.
 */
START_TEST(crash_window)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	char img[512], raw[512], p3[512], p4[512];
	char *old;
	snprintf(img, sizeof(img), "%s", vt_path("c.vmdk"));
	snprintf(raw, sizeof(raw), "%s", vt_path("c.raw"));
	snprintf(p3, sizeof(p3), "%s/c-s003.vmdk", vt_tmpdir());
	snprintf(p4, sizeof(p4), "%s/c-s004.vmdk", vt_tmpdir());
	make_split(img, 3 * GIB, 0, 1);
	ck_assert_int_eq(vt_run("truncate -s %" PRIu64 " %s", 3 * GIB, raw), 0);
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	write_both(d, raw, 3 * GIB - 64 * KIB, 64 * KIB, 31);
	vstd_disk_close(d);
	old = slurp(img); /* CID changed by the write: taken after it */
	vt_ok(vstd_disk_open(&d, img, &oo));
	vt_ok(vstd_disk_resize(d, 7 * GIB, 0, NULL));
	vstd_disk_close(d);
	vt_write_file(img, old, strlen(old)); /* the switch "did not happen" */
	ck_assert(exists(p3) && exists(p4));

	vt_ok(vstd_disk_open(&d, img, NULL));
	ck_assert_uint_eq(vstd_disk_size(d), 3 * GIB);
	read_equal(d, 3 * GIB - 64 * KIB, 64 * KIB, 31);
	vstd_disk_close(d);
	ck_assert_int_eq(vt_run("vmdkinfo %s", img), 0);
	ck_assert_msg(strstr(vt_output(), "(3221225472 bytes)") != NULL, "%s", vt_output());
	/* qemu follows the filled header (4 GiB), zeroes past the old end */
	ck_assert_msg(vt_run("qemu-img check -f vmdk %s && qemu-img compare -f vmdk -F raw %s %s",
	                     img, img, raw) == 0,
	              "%s", vt_output());

	vt_ok(vstd_disk_open(&d, img, &oo));
	ck_assert_int_eq(vstd_disk_resize(d, 7 * GIB, 0, NULL), VSTD_EEXIST);
	ck_assert_msg(strstr(vstd_error_last()->message, "c-s003.vmdk") != NULL, "%s",
	              vstd_error_last()->message);
	vstd_disk_close(d);
	ck_assert_int_eq(unlink(p3), 0);
	ck_assert_int_eq(unlink(p4), 0);
	vt_ok(vstd_disk_open(&d, img, &oo));
	vt_ok(vstd_disk_resize(d, 7 * GIB, 0, NULL));
	vstd_disk_close(d);
	ck_assert_int_eq(vt_run("truncate -s %" PRIu64 " %s", 7 * GIB, raw), 0);
	peers_agree(img, raw, 7 * GIB, 0);
	free(old);
}
END_TEST

/* A header longer than its descriptor line with data past the line's end:
 * no resize guesses which is right; nothing changes. */
START_TEST(header_longer_with_data)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	char img[512], sum0[256];
	uint8_t buf[4096];
	snprintf(img, sizeof(img), "%s", vt_path("h.vmdk"));
	make_split(img, 3 * GIB, 0, 1);
	memset(buf, 0x77, sizeof(buf));
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	vt_ok(vstd_disk_write(d, 3 * GIB - MIB / 2, buf, sizeof(buf)));
	vstd_disk_close(d);
	/* the line now ends 1 MiB before the written grain */
	ck_assert_int_eq(vt_run("sed -i 's/RW 2097152 SPARSE/RW 2095104 SPARSE/' %s", img), 0);
	ck_assert_int_eq(vt_run("cd %s && md5sum h.vmdk h-s00*.vmdk", vt_tmpdir()), 0);
	snprintf(sum0, sizeof(sum0), "%s", vt_output());
	vt_ok(vstd_disk_open(&d, img, &oo));
	ck_assert_uint_eq(vstd_disk_size(d), 3 * GIB - MIB);
	ck_assert_int_eq(vstd_disk_resize(d, 7 * GIB, 0, NULL), VSTD_ENOTSUP);
	ck_assert_msg(strstr(vstd_error_last()->message, "h-s002.vmdk") != NULL &&
	                      strstr(vstd_error_last()->message, "holds data") != NULL,
	              "%s", vstd_error_last()->message);
	ck_assert_int_eq(vstd_disk_resize(d, GIB, VSTD_DISK_RESIZE_SHRINK, NULL), VSTD_ENOTSUP);
	vstd_disk_close(d);
	ck_assert_int_eq(vt_run("cd %s && md5sum h.vmdk h-s00*.vmdk", vt_tmpdir()), 0);
	ck_assert_str_eq(sum0, vt_output());
}
END_TEST

/* Sizes that are not whole sectors are refused as for every VMDK resize;
 * a grow ending one sector into a new extent (inside its first grain). */
START_TEST(odd_sizes)
{
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	char img[512], raw[512], p4[512];
	char *text;
	snprintf(img, sizeof(img), "%s", vt_path("o.vmdk"));
	snprintf(raw, sizeof(raw), "%s", vt_path("o.raw"));
	snprintf(p4, sizeof(p4), "%s/o-s004.vmdk", vt_tmpdir());
	make_split(img, 3 * GIB, 0, 1);
	ck_assert_int_eq(vt_run("truncate -s %" PRIu64 " %s", 4 * GIB + 512, raw), 0);
	oo.flags = VSTD_DISK_RDWR;
	vt_ok(vstd_disk_open(&d, img, &oo));
	ck_assert_int_eq(vstd_disk_resize(d, 5 * GIB + 100, 0, NULL), VSTD_EINVAL);
	ck_assert_uint_eq(vstd_disk_size(d), 3 * GIB);
	vt_ok(vstd_disk_resize(d, 4 * GIB + 512, 0, NULL));
	write_both(d, raw, 4 * GIB, 512, 41);
	vstd_disk_close(d);
	text = slurp(img);
	ck_assert_msg(strstr(text, "RW 4194304 SPARSE \"o-s002.vmdk\"\n"
	                           "RW 1 SPARSE \"o-s003.vmdk\"\n") != NULL,
	              "%s", text);
	free(text);
	ck_assert(!exists(p4));
	peers_agree(img, raw, 4 * GIB + 512, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("disk/vmdk/split");
	TCase *tc = tcase_create("split");
	vt_require_tool("qemu-img", "qemu-utils");
	vt_require_tool("vmdkinfo", "libvmdk-utils");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, grow, 0, 4);
	tcase_add_test(tc, vmware_layout);
	tcase_add_loop_test(tc, shrink, 0, 2);
	tcase_add_test(tc, name_taken);
	tcase_add_test(tc, dir_readonly);
	tcase_add_test(tc, crash_window);
	tcase_add_test(tc, header_longer_with_data);
	tcase_add_test(tc, odd_sizes);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
