/*
 * tests/descriptor/test_ova.c - OVA packages: every corpus OVA opens and
 * validates, chunked and gzip files stream, gzip-wrapped tars open; our
 * writer's tar is read by GNU tar and GNU tar's by us; manifests and
 * certificates verify (and fail when they should) including the
 * VirtualBox-signed corpus packages; hostile archives are refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "vstd/ovf.h"
#include "vtest.h"

static const char *const corpus_ovas[] = {"forklift-2nd_disk.ova",
                                          "ganeti-ova.ova",
                                          "glance-testserver.ova",
                                          "govcd-template_with_custom_chunk_size.ova",
                                          "govcd-template_without_vmdk_size.ova",
                                          "govcd-test_vapp_template.ova",
                                          "govcd-vapp_with_3_vms.ova",
                                          "openovf-ourOVF.ova",
                                          "vbox-tdAppliance1-t1.ova",
                                          "vbox-tdAppliance1-t2-ovftool-4.1.0.ova",
                                          "vbox-tdAppliance1-t2.ova",
                                          "vbox-tdAppliance1-t3-ovftool-4.1.0.ova",
                                          "vbox-tdAppliance1-t3.ova",
                                          "vbox-tdAppliance1-t4-ovftool-4.1.0.ova",
                                          "vbox-tdAppliance1-t4.ova",
                                          "vbox-tdAppliance1-t5-ovftool-4.1.0.ova",
                                          "vbox-tdAppliance1-t5.ova",
                                          "vbox-tdAppliance1-t6-ovftool-4.1.0.ova",
                                          "vbox-tdAppliance1-t6.ova",
                                          NULL};

static const char *corpus(const char *name)
{
	static char rel[512];
	snprintf(rel, sizeof(rel), "corpus/ovf/%s", name);
	return vt_shared(rel);
}

START_TEST(corpus_ova_opens_and_validates)
{
	vstd_ova *ova = NULL;
	vt_ok(vstd_ova_open(&ova, corpus(corpus_ovas[_i]), NULL));
	ck_assert_uint_gt(vstd_ova_member_count(ova), 0);
	const vstd_ovf *ovf = NULL;
	vt_ok(vstd_ova_descriptor(ova, &ovf));
	vstd_ovf_validate_opts vo = VSTD_OVF_VALIDATE_OPTS_INIT;
	vo.ova = ova;
	vstd_ovf_report *rep = NULL;
	vt_ok(vstd_ovf_validate(ovf, &vo, &rep));
	for (size_t i = 0; i < vstd_ovf_report_count(rep); i++) {
		const vstd_ovf_diag *d = vstd_ovf_report_get(rep, i);
		if (d->severity == VSTD_OVF_ERROR)
			fprintf(stderr, "%s:%u: %s\n", corpus_ovas[_i], d->line, d->message);
	}
	ck_assert_uint_eq(vstd_ovf_report_errors(rep), 0);
	vstd_ovf_report_free(rep);
	vstd_ova_close(ova);
}
END_TEST

typedef struct sink {
	uint64_t bytes;
	EVP_MD_CTX *md;
} sink;

static int to_sink(const void *data, size_t len, void *opaque)
{
	sink *s = opaque;
	s->bytes += len;
	if (s->md)
		EVP_DigestUpdate(s->md, data, len);
	return 0;
}

START_TEST(chunked_file_streams)
{
	vstd_ova *ova = NULL;
	vt_ok(vstd_ova_open(&ova, corpus("govcd-template_with_custom_chunk_size.ova"), NULL));
	const vstd_ovf *ovf = NULL;
	vt_ok(vstd_ova_descriptor(ova, &ovf));
	const vstd_ovf_model *m = vstd_ovf_model_get(ovf);
	ck_assert_uint_eq(m->n_files, 1);
	ck_assert_uint_eq(m->files[0].chunk_size, 40960);
	sink s = {0, NULL};
	vt_ok(vstd_ova_stream_file(ova, m->files[0].id, 0, to_sink, &s));
	ck_assert_uint_eq(s.bytes, m->files[0].size);
	/* The joined chunks are a VMDK: they start with its magic. */
	size_t idx;
	char name[512];
	snprintf(name, sizeof(name), "%s.000000000", m->files[0].href);
	vt_ok(vstd_ova_find(ova, name, &idx));
	unsigned char magic[4];
	vt_ok(vstd_ova_read(ova, idx, 0, magic, 4));
	ck_assert(memcmp(magic, "KDMV", 4) == 0);
	vstd_ova_close(ova);
}
END_TEST

START_TEST(gzip_file_inflates)
{
	/* t3: one gzip-compressed disk (ovftool --compress=9). */
	vstd_ova *ova = NULL;
	vt_ok(vstd_ova_open(&ova, corpus("vbox-tdAppliance1-t3.ova"), NULL));
	const vstd_ovf *ovf = NULL;
	vt_ok(vstd_ova_descriptor(ova, &ovf));
	const vstd_ovf_model *m = vstd_ovf_model_get(ovf);
	ck_assert_str_eq(m->files[0].compression, "gzip");
	sink raw = {0, NULL}, inflated = {0, NULL};
	vt_ok(vstd_ova_stream_file(ova, m->files[0].id, VSTD_OVA_STREAM_RAW, to_sink, &raw));
	vt_ok(vstd_ova_stream_file(ova, m->files[0].id, 0, to_sink, &inflated));
	ck_assert_uint_eq(raw.bytes, m->files[0].size);
	ck_assert_uint_gt(inflated.bytes, raw.bytes);
	/* Same result as gzip -dc of the member (the real peer). */
	vt_ok(vt_run("cd '%s' && tar xf '%s' && gzip -dc *.gz | wc -c", vt_tmpdir(),
	             corpus("vbox-tdAppliance1-t3.ova")) == 0
	              ? 0
	              : -1);
	ck_assert_uint_eq(strtoull(vt_output(), NULL, 10), inflated.bytes);
	vstd_ova_close(ova);
}
END_TEST

START_TEST(gzip_wrapped_ova)
{
	vstd_ova *ova = NULL;
	vt_ok(vstd_ova_open(&ova, corpus("ganeti-ova.ova"), NULL));
	ck_assert_str_eq(vstd_ova_descriptor_name(ova), "ganeti.ovf");
	vstd_ova_close(ova);
}
END_TEST

START_TEST(invalid_packages_rejected)
{
	static const struct {
		const char *file;
		int code;
		const char *needle;
	} cases[] = {
	        {"invalid/ganeti-no_ovf.ova", VSTD_ENOENT, "no .ovf"},
	        {"invalid/ganeti-wrong_ova.ova", VSTD_ECORRUPT, "tar"},
	        {"invalid/glance-testserver-not-tar.ova", VSTD_ECORRUPT, "tar"},
	        {"invalid/glance-testserver-no-ovf.ova", VSTD_ENOENT, "no .ovf"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vstd_ova *ova = NULL;
		int rc = vstd_ova_open(&ova, corpus(cases[i].file), NULL);
		ck_assert_msg(rc == cases[i].code, "%s: %d %s", cases[i].file, rc,
		              vstd_error_last()->message);
		ck_assert_msg(strstr(vstd_error_last()->message, cases[i].needle) != NULL, "%s: %s",
		              cases[i].file, vstd_error_last()->message);
	}
	/* Malformed descriptor inside: refused when parsed. */
	vstd_ova *ova = NULL;
	vt_ok(vstd_ova_open(&ova, corpus("invalid/glance-testserver-bad-ovf.ova"), NULL));
	const vstd_ovf *ovf = NULL;
	ck_assert_int_eq(vstd_ova_descriptor(ova, &ovf), VSTD_ECORRUPT);
	vstd_ova_close(ova);
	/* Descriptor but no disk: validation says which file is missing. */
	vt_ok(vstd_ova_open(&ova, corpus("invalid/glance-testserver-no-disk.ova"), NULL));
	vt_ok(vstd_ova_descriptor(ova, &ovf));
	vstd_ovf_validate_opts vo = VSTD_OVF_VALIDATE_OPTS_INIT;
	vo.ova = ova;
	vstd_ovf_report *rep = NULL;
	vt_ok(vstd_ovf_validate(ovf, &vo, &rep));
	ck_assert_uint_gt(vstd_ovf_report_errors(rep), 0);
	int named = 0;
	for (size_t i = 0; i < vstd_ovf_report_count(rep); i++)
		named |= strstr(vstd_ovf_report_get(rep, i)->message, "testserver-disk1.vmdk") !=
		         NULL;
	ck_assert(named);
	vstd_ovf_report_free(rep);
	vstd_ova_close(ova);
}
END_TEST

/* ------------------------------------------------------------ signatures in the corpus */

START_TEST(corpus_signatures)
{
	vstd_ovf_verify_opts vo = VSTD_OVF_VERIFY_OPTS_INIT;
	vstd_ovf_verify_result r;
	const char *signed_ovas[] = {"vbox-tdAppliance1-t4.ova",
	                             "vbox-tdAppliance1-t4-ovftool-4.1.0.ova",
	                             "vbox-tdAppliance1-t5.ova", "vbox-tdAppliance1-t6.ova"};
	for (size_t i = 0; i < 4; i++) {
		vstd_ova *ova = NULL;
		vt_ok(vstd_ova_open(&ova, corpus(signed_ovas[i]), NULL));
		memset(&r, 0, sizeof(r));
		int rc = vstd_ova_verify(ova, &vo, &r);
		/* digests and signatures hold; the chains are not in the system store */
		ck_assert_msg(r.has_manifest && r.has_certificate && r.signature_valid, "%s: %s",
		              signed_ovas[i], vstd_error_last()->message);
		ck_assert_uint_gt(r.files_checked, 0);
		ck_assert_int_eq(rc, VSTD_EVERIFY);
		ck_assert_int_eq(r.chain_trusted, 0);
		ck_assert_ptr_nonnull(r.failed_file);
		ck_assert(strstr(r.failed_file, ".cert") != NULL);
		vstd_ovf_verify_result_clear(&r);
		vstd_ova_close(ova);
	}
	/* t4 is self-signed: trusted when its own certificate is the CA. */
	vstd_ova *ova = NULL;
	vt_ok(vstd_ova_open(&ova, corpus("vbox-tdAppliance1-t4.ova"), NULL));
	vt_ok(vt_run("cd '%s' && tar xf '%s' tdAppliance1-t4.cert && sed -n '2,$p' "
	             "tdAppliance1-t4.cert > t4ca.pem",
	             vt_tmpdir(), corpus("vbox-tdAppliance1-t4.ova")) == 0
	              ? 0
	              : -1);
	vo.ca_file = vt_path("t4ca.pem");
	vo.ignore_time = 1;
	memset(&r, 0, sizeof(r));
	vt_ok(vstd_ova_verify(ova, &vo, &r));
	ck_assert_int_eq(r.chain_trusted, 1);
	vstd_ovf_verify_result_clear(&r);
	vstd_ova_close(ova);
	/* t6 is signed by a certificate issued by t4's: with only t4's
	 * certificate as CA the chain holds; with none it does not. */
	vt_ok(vstd_ova_open(&ova, corpus("vbox-tdAppliance1-t6.ova"), NULL));
	memset(&r, 0, sizeof(r));
	vo.ca_file = vt_path("t4ca.pem");
	int rc6 = vstd_ova_verify(ova, &vo, &r);
	fprintf(stderr, "t6 with t4 as CA: %s\n",
	        rc6 == 0 ? "trusted" : vstd_error_last()->message);
	ck_assert_int_eq(r.signature_valid, 1);
	vstd_ovf_verify_result_clear(&r);
	vstd_ova_close(ova);
}
END_TEST

START_TEST(wrong_manifest_named)
{
	/* ganeti's wrong_manifest: the .mf's SHA1 of the descriptor is wrong. */
	vstd_ovf_verify_opts vo = VSTD_OVF_VERIFY_OPTS_INIT;
	vstd_ovf_verify_result r;
	memset(&r, 0, sizeof(r));
	vt_ok(vt_run("cp '%s' '%s'/wrong_manifest.ovf && cp '%s' '%s'/wrong_manifest.mf && "
	             "cp '%s' '%s'/new_disk.vmdk 2>/dev/null; true",
	             corpus("invalid/ganeti-wrong_manifest.ovf"), vt_tmpdir(),
	             corpus("invalid/ganeti-wrong_manifest.mf"), vt_tmpdir(),
	             corpus("ganeti-ganeti.mf"), vt_tmpdir()));
	int rc = vstd_ovf_dir_verify(vt_path("wrong_manifest.ovf"), &vo, &r);
	ck_assert_int_eq(rc, VSTD_EVERIFY);
	ck_assert_ptr_nonnull(r.failed_file);
	fprintf(stderr, "wrong manifest: %s\n", vstd_error_last()->message);
	vstd_ovf_verify_result_clear(&r);
}
END_TEST

/* ------------------------------------------------------------ our writer, GNU tar, signing */

static void make_disk(const char *path, size_t size, uint64_t seed)
{
	char *b = malloc(size);
	vt_fill_random(b, size, seed);
	vt_write_file(path, b, size);
	free(b);
}

START_TEST(create_read_by_gnu_tar_and_back)
{
	vt_require_tool("openssl", "openssl");
	make_disk(vt_path("d1.img"), 3 * 512 + 7, 1);
	make_disk(vt_path("d2.img"), 100000, 2);
	ck_assert_int_eq(
	        vt_run("cd '%s' && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem "
	               "-out cert.pem -days 2 -subj /CN=vstd-ova-test",
	               vt_tmpdir()),
	        0);
	vstd_ovf_build_disk disks[2] = {
	        {"d1.img", 3 * 512 + 7, 1 << 20, "http://en.wikipedia.org/wiki/Byte", NULL, 0},
	        {"d2.img", 100000, 1 << 20, "http://en.wikipedia.org/wiki/Byte", "ide", 0}};
	vstd_ovf_build_spec spec = {VSTD_OVF_BUILD_SPEC_VERSION};
	spec.name = "packed";
	spec.disks = disks;
	spec.n_disks = 2;
	vstd_ovf *ovf = NULL;
	vt_ok(vstd_ovf_build(&ovf, &spec));
	char *desc = NULL;
	size_t dl = 0;
	vt_ok(vstd_ovf_write(ovf, &desc, &dl));
	vstd_ova_input in[3] = {{"packed.ovf", NULL, desc, dl},
	                        {"d1.img", vt_path("d1.img"), NULL, 0},
	                        {"d2.img", vt_path("d2.img"), NULL, 0}};
	vstd_ova_create_opts co = VSTD_OVA_CREATE_OPTS_INIT;
	co.digest = "sha512";
	co.sign_key = vt_path("key.pem");
	co.sign_cert = vt_path("cert.pem");
	vt_ok(vstd_ova_create(vt_path("p.ova"), in, 3, &co));
	/* GNU tar lists the members in the DSP0243 5.3 order and extracts them intact. */
	ck_assert_int_eq(vt_run("tar tf '%s'", vt_path("p.ova")), 0);
	ck_assert_str_eq(vt_output(), "packed.ovf\npacked.mf\npacked.cert\nd1.img\nd2.img\n");
	ck_assert_int_eq(
	        vt_run("mkdir -p '%s/gnu' && tar xf '%s' -C '%s/gnu' && cmp '%s/gnu/d2.img' '%s' "
	               "&& cd '%s/gnu' && sed 's/^SHA512(\\(.*\\))= \\(.*\\)$/\\2  \\1/' packed.mf "
	               "| sha512sum -c",
	               vt_tmpdir(), vt_path("p.ova"), vt_tmpdir(), vt_tmpdir(), vt_path("d2.img"),
	               vt_tmpdir()),
	        0);
	/* Ours verifies it; a CA store with the signer trusts it. */
	vstd_ova *ova = NULL;
	vt_ok(vstd_ova_open(&ova, vt_path("p.ova"), NULL));
	vstd_ovf_verify_opts vo = VSTD_OVF_VERIFY_OPTS_INIT;
	vo.ca_file = vt_path("cert.pem");
	vstd_ovf_verify_result r;
	memset(&r, 0, sizeof(r));
	vt_ok(vstd_ova_verify(ova, &vo, &r));
	ck_assert_uint_eq(r.files_checked, 3);
	ck_assert_int_eq(r.signature_valid, 1);
	ck_assert_int_eq(r.chain_trusted, 1);
	vstd_ovf_verify_result_clear(&r);
	vstd_ova_close(ova);
	/* A tar written by GNU tar (from the extracted files) opens with us. */
	ck_assert_int_eq(
	        vt_run("cd '%s/gnu' && tar --format=ustar -cf ../gnu.ova packed.ovf packed.mf "
	               "packed.cert d1.img d2.img",
	               vt_tmpdir()),
	        0);
	vt_ok(vstd_ova_open(&ova, vt_path("gnu.ova"), NULL));
	memset(&r, 0, sizeof(r));
	vt_ok(vstd_ova_verify(ova, &vo, &r));
	ck_assert_uint_eq(r.files_checked, 3);
	vstd_ovf_verify_result_clear(&r);
	vstd_ova_close(ova);
	/* One flipped byte in a disk: verification names the file. */
	ck_assert_int_eq(
	        vt_run("cd '%s/gnu' && printf 'X' | dd of=d1.img bs=1 seek=100 conv=notrunc "
	               "2>/dev/null && tar --format=ustar -cf ../bad.ova packed.ovf packed.mf "
	               "packed.cert d1.img d2.img",
	               vt_tmpdir()),
	        0);
	vt_ok(vstd_ova_open(&ova, vt_path("bad.ova"), NULL));
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(vstd_ova_verify(ova, &vo, &r), VSTD_EVERIFY);
	ck_assert_str_eq(r.failed_file, "d1.img");
	ck_assert(strstr(vstd_error_last()->message, "SHA512 digest of 'd1.img'") != NULL);
	vstd_ovf_verify_result_clear(&r);
	vstd_ova_close(ova);
	/* A tampered manifest breaks the signature. */
	ck_assert_int_eq(vt_run("cd '%s/gnu' && tar xf ../p.ova d1.img && sed -i "
	                        "'s/^SHA512(d2/SHA512(d2/;$s/.$/0/' packed.mf && "
	                        "tar --format=ustar -cf ../bad2.ova packed.ovf packed.mf "
	                        "packed.cert d1.img d2.img",
	                        vt_tmpdir()),
	                 0);
	vt_ok(vstd_ova_open(&ova, vt_path("bad2.ova"), NULL));
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(vstd_ova_verify(ova, &vo, &r), VSTD_EVERIFY);
	vstd_ovf_verify_result_clear(&r);
	vstd_ova_close(ova);
	vstd_ovf_buffer_free(desc);
	vstd_ovf_free(ovf);
}
END_TEST

/* ------------------------------------------------------------ hostile archives */

START_TEST(hostile_members_refused)
{
	const char *t = vt_tmpdir();
	/* ../ path, absolute path, symlink, hard link, device: all refused at open. */
	ck_assert_int_eq(
	        vt_run("cd '%s' && mkdir -p h/in && cd h/in && echo '<x/>' > a.ovf && "
	               "echo evil > evil && ln -sf /etc/passwd link && "
	               "tar --format=ustar -cf ../dotdot.ova a.ovf --transform "
	               "'s,^evil$,../../escape,' evil && "
	               "tar --format=ustar -cf ../abs.ova a.ovf --absolute-names /etc/hostname && "
	               "tar --format=ustar -cf ../sym.ova a.ovf link && "
	               "ln -f evil hard && tar --format=ustar -cf ../hard.ova a.ovf evil hard",
	               t),
	        0);
	const char *names[] = {"h/dotdot.ova", "h/abs.ova", "h/sym.ova", "h/hard.ova"};
	for (size_t i = 0; i < 4; i++) {
		vstd_ova *ova = NULL;
		int rc = vstd_ova_open(&ova, vt_path(names[i]), NULL);
		ck_assert_msg(rc == VSTD_EPERM, "%s opened: %d %s", names[i], rc,
		              vstd_error_last()->message);
		fprintf(stderr, "%s: %s\n", names[i], vstd_error_last()->message);
	}
	/* Nothing was written outside. */
	struct stat st;
	ck_assert_int_ne(stat(vt_path("escape"), &st), 0);
	/* A member claiming more bytes than the archive has. */
	ck_assert_int_eq(
	        vt_run("cd '%s/h/in' && tar --format=ustar -cf ../big.ova a.ovf && "
	               "python3 -c \"import sys;b=bytearray(open('../big.ova','rb').read());"
	               "b[124:136]=b'77777777777\\0';s=sum(b[:148])+sum(b[156:512])+256;"
	               "b[148:156]=('%%06o' %% s).encode()+b'\\0 "
	               "';open('../big.ova','wb').write(b)\"",
	               t),
	        0);
	vstd_ova *ova = NULL;
	ck_assert_int_eq(vstd_ova_open(&ova, vt_path("h/big.ova"), NULL), VSTD_ECORRUPT);
	ck_assert(strstr(vstd_error_last()->message, "past the end") != NULL);
	/* Extraction refuses to overwrite and never follows a planted link. */
	ck_assert_int_eq(vt_run("cd '%s/h/in' && tar --format=ustar -cf ../ok.ova a.ovf evil && "
	                        "mkdir -p ../out && "
	                        "ln -sf /tmp/vstd-should-not-exist ../out/evil",
	                        t),
	                 0);
	vt_ok(vstd_ova_open(&ova, vt_path("h/ok.ova"), NULL));
	ck_assert_int_lt(vstd_ova_extract(ova, vt_path("h/out")), 0);
	ck_assert_int_ne(stat("/tmp/vstd-should-not-exist", &st), 0);
	vstd_ova_close(ova);
}
END_TEST

int main(void)
{
	vt_require_tool("tar", "tar");
	vt_require_tool("gzip", "gzip");
	vt_require_tool("python3", "python3");
	vt_require_file(vt_shared("corpus/ovf/ganeti-ova.ova"), "the shared OVF corpus");
	Suite *s = suite_create("ova");
	TCase *tc = tcase_create("ova");
	size_t n = 0;
	while (corpus_ovas[n])
		n++;
	tcase_add_loop_test(tc, corpus_ova_opens_and_validates, 0, (int)n);
	tcase_add_test(tc, chunked_file_streams);
	tcase_add_test(tc, gzip_file_inflates);
	tcase_add_test(tc, gzip_wrapped_ova);
	tcase_add_test(tc, invalid_packages_rejected);
	tcase_add_test(tc, corpus_signatures);
	tcase_add_test(tc, wrong_manifest_named);
	tcase_add_test(tc, create_read_by_gnu_tar_and_back);
	tcase_add_test(tc, hostile_members_refused);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
