/*
 * tests/disk/qcow2/test_read.c - images written by qemu-img / qemu-io with
 * every option combination read back byte-identically through vstd
 * (qemu-img's own raw conversion is the reference), block status agrees
 * with the data, and the third-party corpus reads.
 */
#include <unistd.h>

#include "qtest.h"

#define DSIZE ((size_t)3 << 20)

static const char *const convert_opts[] = {
        "cluster_size=512",
        "cluster_size=4096,refcount_bits=1",
        "cluster_size=65536,refcount_bits=2",
        "cluster_size=2M,refcount_bits=4",
        "refcount_bits=8",
        "refcount_bits=32",
        "cluster_size=1024,refcount_bits=64",
        "extended_l2=on",
        "extended_l2=on,cluster_size=16k",
        "extended_l2=on,cluster_size=2M",
        "compat=0.10",
        "compat=0.10,cluster_size=4096",
        "lazy_refcounts=on",
        "preallocation=metadata",
        "preallocation=falloc",
        "preallocation=full",
        "compression_type=zstd",
};

START_TEST(qemu_convert_options)
{
	uint8_t *pat = qt_pattern(DSIZE, 100 + (uint64_t)_i);
	const char *raw = vt_path("src.raw"), *img = vt_path("q.qcow2");
	vstd_disk *d = NULL;
	vt_write_file(raw, pat, DSIZE);
	ck_assert_msg(vt_run("qemu-img convert -f raw -O qcow2 -o %s '%s' '%s'", convert_opts[_i],
	                     raw, img) == 0,
	              "%s", vt_output());
	vt_ok(vstd_disk_open(&d, img, NULL));
	qt_disk_equals(d, pat, DSIZE);
	vstd_disk_close(d);
	free(pat);
}
END_TEST

/* convert -c: compressed clusters, zlib and zstd, several cluster sizes */
static const char *const compress_opts[] = {
        "compression_type=zlib",
        "compression_type=zstd",
        "compression_type=zlib,cluster_size=4096",
        "compression_type=zstd,cluster_size=2M",
        "compat=0.10",
        "extended_l2=on,compression_type=zstd",
        "cluster_size=512",
};

START_TEST(qemu_compressed)
{
	uint8_t *pat = calloc(1, DSIZE);
	const char *raw = vt_path("csrc.raw"), *img = vt_path("c.qcow2");
	vstd_disk *d = NULL;
	vstd_block_status st;
	/* compressible text-like data with random bits */
	for (size_t i = 0; i < DSIZE / 2; i++)
		pat[i] = (uint8_t)("qcow2 compressed cluster "[i % 25] ^ ((i % 7919) == 0));
	vt_fill_random(pat + DSIZE / 2 + 3000, 70000, 7);
	vt_write_file(raw, pat, DSIZE);
	ck_assert_msg(vt_run("qemu-img convert -c -f raw -O qcow2 -o %s '%s' '%s'",
	                     compress_opts[_i], raw, img) == 0,
	              "%s", vt_output());
	vt_ok(vstd_disk_open(&d, img, NULL));
	qt_disk_equals(d, pat, DSIZE);
	vt_ok(vstd_disk_block_status(d, 0, DSIZE, &st));
	ck_assert_msg(st.flags & VSTD_BLOCK_COMPRESSED, "flags %x", st.flags);
	ck_assert(st.flags & VSTD_BLOCK_ALLOCATED);
	vstd_disk_close(d);
	free(pat);
}
END_TEST

/* qemu-io partial writes: zero clusters, subclusters, discards */
static const char *const io_opts[] = {"cluster_size=65536", "extended_l2=on", "compat=0.10",
                                      "extended_l2=on,cluster_size=32k",
                                      "refcount_bits=1,cluster_size=4096"};

START_TEST(qemu_io_patterns)
{
	const char *base = vt_path("base.qcow2"), *top = vt_path("top.qcow2");
	ck_assert(vt_run("qemu-img create -f qcow2 '%s' 8M", base) == 0);
	ck_assert(vt_run("qemu-io -c 'write -P 0x11 0 8M' '%s'", base) == 0);
	ck_assert_msg(vt_run("qemu-img create -f qcow2 -o %s -b '%s' -F qcow2 '%s'", io_opts[_i],
	                     base, top) == 0,
	              "%s", vt_output());
	ck_assert_msg(
	        vt_run("qemu-io -c 'write -P 0x22 4096 4096' -c 'write -P 0x33 100000 300000' "
	               "-c 'write -z 1M 128k' -c 'write -z 2M 1000' -c 'discard 3M 64k' "
	               "-c 'write -P 0x44 8384512 4096' -c 'write -z -u 5M 64k' '%s'",
	               top) == 0,
	        "%s", vt_output());
	qt_same_as_qemu(top);
	/* without the backing, unallocated areas read as zero */
	{
		vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
		vstd_disk *d = NULL;
		uint8_t b[4096];
		oo.flags = VSTD_DISK_NO_BACKING;
		vt_ok(vstd_disk_open(&d, top, &oo));
		vt_ok(vstd_disk_read(d, 6 << 20, b, sizeof(b)));
		ck_assert(b[0] == 0 && b[4095] == 0);
		vt_ok(vstd_disk_read(d, 4096, b, sizeof(b)));
		ck_assert(b[0] == 0x22 && b[4095] == 0x22);
		vstd_disk_close(d);
	}
}
END_TEST

/* block status agrees with qemu-img map on which bytes hold data */
START_TEST(block_status_vs_qemu_map)
{
	const char *img = vt_path("m.qcow2");
	vstd_disk *d = NULL;
	uint64_t vstd_data = 0, qemu_data = 0, off = 0;
	const char *p;
	ck_assert(vt_run("qemu-img create -f qcow2 '%s' 16M", img) == 0);
	ck_assert(
	        vt_run("qemu-io -c 'write -P 1 0 64k' -c 'write -P 2 1M 200k' -c 'write -z 4M 1M' "
	               "-c 'write -P 3 15M 1M' '%s'",
	               img) == 0);
	ck_assert(vt_run("qemu-img map --output=json '%s'", img) == 0);
	for (p = vt_output(); (p = strstr(p, "\"length\": ")) != NULL; p++) {
		uint64_t len = strtoull(p + 10, NULL, 10);
		const char *data = strstr(p, "\"data\": ");
		if (data != NULL && strncmp(data + 8, "true", 4) == 0)
			qemu_data += len;
	}
	vt_ok(vstd_disk_open(&d, img, NULL));
	while (off < vstd_disk_size(d)) {
		vstd_block_status st;
		vt_ok(vstd_disk_block_status(d, off, vstd_disk_size(d) - off, &st));
		ck_assert_uint_gt(st.length, 0);
		if (st.flags & VSTD_BLOCK_DATA) {
			ck_assert(st.flags & VSTD_BLOCK_OFFSET_VALID);
			vstd_data += st.length;
		}
		if (off >= (4u << 20) && off < (5u << 20))
			ck_assert_msg((st.flags & VSTD_BLOCK_ZERO) &&
			                      (st.flags & VSTD_BLOCK_ALLOCATED),
			              "zero cluster flags %x", st.flags);
		off += st.length;
	}
	ck_assert_uint_eq(vstd_data, qemu_data);
	vstd_disk_close(d);
}
END_TEST

START_TEST(backing_chain)
{
	const char *b0 = vt_path("c0.raw"), *b1 = vt_path("c1.qcow2"), *b2 = vt_path("c2.qcow2");
	uint8_t *pat = qt_pattern(DSIZE, 5);
	vstd_disk *d = NULL;
	vt_write_file(b0, pat, DSIZE);
	ck_assert(vt_run("qemu-img create -f qcow2 -b c0.raw -F raw '%s'", b1) == 0);
	ck_assert(vt_run("qemu-io -c 'write -P 9 1M 100k' '%s'", b1) == 0);
	ck_assert(vt_run("qemu-img create -f qcow2 -o cluster_size=4096 -b c1.qcow2 -F qcow2 '%s'",
	                 b2) == 0);
	ck_assert(vt_run("qemu-io -c 'write -P 7 1050000 3000' '%s'", b2) == 0);
	qt_same_as_qemu(b2);
	vt_ok(vstd_disk_open(&d, b2, NULL));
	ck_assert_ptr_nonnull(vstd_disk_backing(d));
	ck_assert_ptr_nonnull(vstd_disk_backing(vstd_disk_backing(d)));
	ck_assert_str_eq(vstd_disk_format(vstd_disk_backing(vstd_disk_backing(d))), "raw");
	vstd_disk_close(d);
	free(pat);
}
END_TEST

/* A backing file without a recorded format is not probed by default. */
START_TEST(backing_without_format)
{
	const char *b0 = vt_path("nf.raw"), *b1 = vt_path("nf.qcow2");
	vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_disk *d = NULL;
	uint8_t z[65536] = {0}, *img;
	size_t len;
	vt_write_file(b0, z, sizeof(z));
	ck_assert(vt_run("qemu-img create -f qcow2 -b nf.raw -F raw '%s' 1M", b1) == 0);
	/* hide the backing format extension (turn it into an unknown one) */
	img = qt_read_file(b1, &len);
	for (size_t i = 72; i + 4 < 65536; i += 4) {
		if (img[i] == 0xe2 && img[i + 1] == 0x79 && img[i + 2] == 0x2a &&
		    img[i + 3] == 0xca) {
			img[i] = 0x12;
			break;
		}
	}
	vt_write_file(b1, img, len);
	free(img);
	ck_assert_int_eq(vstd_disk_open(&d, b1, NULL), VSTD_EPERM);
	/* probing on request works, but never to raw */
	oo.flags = VSTD_DISK_PROBE_BACKING;
	ck_assert_int_eq(vstd_disk_open(&d, b1, &oo), VSTD_EPERM);
	oo.flags = 0;
	oo.backing_format = "raw";
	vt_ok(vstd_disk_open(&d, b1, &oo));
	vstd_disk_close(d);
}
END_TEST

START_TEST(data_file)
{
	const char *img = vt_path("df.qcow2");
	vstd_disk_info *info = NULL;
	vstd_disk *d = NULL;
	ck_assert(vt_run("cd '%s' && qemu-img create -f qcow2 -o data_file=df.bin df.qcow2 4M",
	                 vt_tmpdir()) == 0);
	/* qemu 7 resolves a relative data file against its working directory */
	ck_assert(vt_run("cd '%s' && qemu-io -c 'write -P 5 0 4k' -c 'write -P 6 1M 70k' "
	                 "-c 'write -z 2M 64k' df.qcow2",
	                 vt_tmpdir()) == 0);
	ck_assert(chdir(vt_tmpdir()) == 0);
	qt_same_as_qemu(img);
	vt_ok(vstd_disk_open(&d, img, NULL));
	vt_ok(vstd_disk_info_get(d, &info));
	ck_assert_ptr_nonnull(strstr(info->format_specific_json, "\"data-file\":\"df.bin\""));
	vstd_disk_info_free(info);
	vstd_disk_close(d);
	/* a data file that does not exist is refused clearly */
	ck_assert(vt_run("rm '%s/df.bin'", vt_tmpdir()) == 0);
	ck_assert_int_eq(vstd_disk_open(&d, img, NULL), VSTD_ENOENT);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "df.bin"));
}
END_TEST

START_TEST(info_fields)
{
	const char *img = vt_path("i.qcow2");
	vstd_disk_info *info = NULL;
	vstd_disk *d = NULL;
	ck_assert(vt_run("qemu-img create -f qcow2 -o compression_type=zstd,lazy_refcounts=on,"
	                 "refcount_bits=8,extended_l2=on '%s' 1G",
	                 img) == 0);
	vt_ok(vstd_disk_open(&d, img, NULL));
	vt_ok(vstd_disk_info_get(d, &info));
	ck_assert_uint_eq(info->cluster_size, 65536);
	ck_assert_ptr_nonnull(strstr(info->format_specific_json, "\"compat\":\"1.1\""));
	ck_assert_ptr_nonnull(strstr(info->format_specific_json, "\"compression-type\":\"zstd\""));
	ck_assert_ptr_nonnull(strstr(info->format_specific_json, "\"lazy-refcounts\":true"));
	ck_assert_ptr_nonnull(strstr(info->format_specific_json, "\"refcount-bits\":8"));
	ck_assert_ptr_nonnull(strstr(info->format_specific_json, "\"extended-l2\":true"));
	ck_assert_ptr_nonnull(strstr(info->format_specific_json, "\"corrupt\":false"));
	vstd_disk_info_free(info);
	vstd_disk_close(d);
}
END_TEST

START_TEST(corpus_dfvfs)
{
	const char *files[] = {"corpus/disk/qcow2/dfvfs-ext2.qcow2",
	                       "corpus/disk/qcow2/dfvfs-image.qcow2"};
	qt_same_as_qemu(vt_unpack(files[_i]));
}
END_TEST

START_TEST(corpus_dissect)
{
	const char *files[] = {"corpus/disk/qcow2/dissect-basic.qcow2.gz",
	                       "corpus/disk/qcow2/dissect-basic-zstd.qcow2.gz"};
	qt_same_as_qemu(vt_unpack(files[_i]));
}
END_TEST

START_TEST(corpus_dissect_chain)
{
	vt_unpack("corpus/disk/qcow2/dissect-backing-chain/backing-chain-3.qcow2.gz");
	vt_unpack("corpus/disk/qcow2/dissect-backing-chain/backing-chain-2.qcow2.gz");
	qt_same_as_qemu(
	        vt_unpack("corpus/disk/qcow2/dissect-backing-chain/backing-chain-1.qcow2.gz"));
}
END_TEST

START_TEST(corpus_dissect_data_file)
{
	/* 512 MiB, mostly zero: unpack it sparse */
	vt_require_file(vt_shared("corpus/disk/qcow2/dissect-data-file/data-file.bin.gz"),
	                "corpus");
	ck_assert(vt_run("gzip -dc '%s' | cp --sparse=always /dev/stdin '%s/data-file.bin'",
	                 vt_shared("corpus/disk/qcow2/dissect-data-file/data-file.bin.gz"),
	                 vt_tmpdir()) == 0);
	ck_assert(chdir(vt_tmpdir()) == 0);
	qt_same_as_qemu(vt_unpack("corpus/disk/qcow2/dissect-data-file/data-file.qcow2.gz"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("qcow2-read");
	TCase *tc = tcase_create("read");
	vt_require_tool("qemu-img", "qemu-utils");
	vt_require_tool("qemu-io", "qemu-utils");
	qt_link_driver();
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, qemu_convert_options, 0,
	                    (int)(sizeof(convert_opts) / sizeof(convert_opts[0])));
	tcase_add_loop_test(tc, qemu_compressed, 0,
	                    (int)(sizeof(compress_opts) / sizeof(compress_opts[0])));
	tcase_add_loop_test(tc, qemu_io_patterns, 0, (int)(sizeof(io_opts) / sizeof(io_opts[0])));
	tcase_add_test(tc, block_status_vs_qemu_map);
	tcase_add_test(tc, backing_chain);
	tcase_add_test(tc, backing_without_format);
	tcase_add_test(tc, data_file);
	tcase_add_test(tc, info_fields);
	tcase_add_loop_test(tc, corpus_dfvfs, 0, 2);
	tcase_add_loop_test(tc, corpus_dissect, 0, 2);
	tcase_add_test(tc, corpus_dissect_chain);
	tcase_add_test(tc, corpus_dissect_data_file);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
