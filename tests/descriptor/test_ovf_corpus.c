/*
 * tests/descriptor/test_ovf_corpus.c - the third-party OVF corpus, read in
 * place: every descriptor marked valid parses, validates (lax, descriptor
 * only: their disks are not stored) and round-trips; every invalid one is
 * rejected for the reason its source gives; and our strict structural
 * verdict agrees with xmllint --schema (the DMTF XSDs as oracle) on every
 * descriptor.
 *
 * Known differences with xmllint (docs/formats/ovf.md, "Strict mode"):
 * none on the structure.  Where xmllint fails before validating (not
 * well-formed, a DOCTYPE with entities, a false encoding declaration), we
 * refuse the document too, or report the encoding as an error in strict
 * mode; the test counts both as "invalid".
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vstd/ovf.h"
#include "vtest.h"

static const char *const valid_descriptors[] = {"cloudinit-ubuntu-server.ovf",
                                                "cot-csr1000v.ovf",
                                                "cot-csr1000v_2017.ovf",
                                                "cot-input.ovf",
                                                "cot-iosv.ovf",
                                                "cot-minimal.ovf",
                                                "cot-ubuntu.2.0.ovf",
                                                "cot-v0.9.ovf",
                                                "cot-vmware.ovf",
                                                "ganeti-empty.ovf",
                                                "ganeti-ganeti.ovf",
                                                "ganeti-gzip_disk.ovf",
                                                "ganeti-virtualbox.ovf",
                                                "glance-testserver.ovf",
                                                "govcd-descriptor.ovf",
                                                "govcd-template_with_custom_chunk_size.ovf",
                                                "govcd-vapp_with_3_vms.ovf",
                                                "openovf-examples-someOVF.ovf",
                                                "openovf-ourOVF.ovf",
                                                "openovf-someOVF.ovf",
                                                "pve-Win10-Liz.ovf",
                                                "pve-Win10-Liz_no_default_ns.ovf",
                                                "pve-Win_2008_R2_two-disks.ovf",
                                                "v2v-test-i-ova-as-root.ovf",
                                                "v2v-test-i-ova-formats.ovf",
                                                "v2v-test-i-ova-gz.ovf",
                                                "v2v-test-i-ova-snapshots.ovf",
                                                "v2v-test-i-ova-two-disks.ovf",
                                                "v2v-test-i-ova.ovf",
                                                "v2v-test-o-ovirt.ovf",
                                                "v2v-test-o-vdsm-options.ovf",
                                                "vbox-WinXP-audio-nodisks.ovf",
                                                "vbox-joomla-1.1.4-ovf.ovf",
                                                "vbox-tdAppliance1-t1.ovf",
                                                "vbox-tdAppliance1-t4-ovftool-4.1.0.ovf",
                                                "vbox-winxp-sharedfolders.ovf",
                                                "virtmgr-CentOS-6.4-i386-Gnome.ovf",
                                                "virtmgr-test1.ovf",
                                                "virtmgr-test2.ovf",
                                                "virtmgr-test_gzip.ovf",
                                                "xenadmin-sample_app.ovf",
                                                "nova-ovf.xml",
                                                NULL};

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	ck_assert(fread(b, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	b[n] = 0;
	*len = (size_t)n;
	return b;
}

static size_t count_items(const vstd_vm *vm)
{
	if (vm == NULL)
		return 0;
	size_t n = vm->n_items;
	for (size_t i = 0; i < vm->n_children; i++)
		n += count_items(vm->children[i]);
	return n;
}

START_TEST(valid_parse_validate_roundtrip)
{
	const char *name = valid_descriptors[_i];
	char rel[512];
	snprintf(rel, sizeof(rel), "corpus/ovf/%s", name);
	const char *path = vt_shared(rel);
	vstd_ovf *ovf = NULL;
	vt_ok(vstd_ovf_open(&ovf, path, NULL));
	const vstd_ovf_model *m = vstd_ovf_model_get(ovf);
	ck_assert_ptr_nonnull(m);

	vstd_ovf_validate_opts vo = VSTD_OVF_VALIDATE_OPTS_INIT;
	vo.flags = VSTD_OVF_DESCRIPTOR_ONLY;
	vstd_ovf_report *rep = NULL;
	vt_ok(vstd_ovf_validate(ovf, &vo, &rep));
	for (size_t i = 0; i < vstd_ovf_report_count(rep); i++) {
		const vstd_ovf_diag *d = vstd_ovf_report_get(rep, i);
		if (d->severity == VSTD_OVF_ERROR)
			fprintf(stderr, "%s:%u: %s [%s]\n", name, d->line, d->message, d->rule);
	}
	ck_assert_msg(vstd_ovf_report_errors(rep) == 0, "%s: %zu errors in lax mode", name,
	              vstd_ovf_report_errors(rep));
	vstd_ovf_report_free(rep);

	/* Round trip: write, parse again, the model and the bytes are stable. */
	char *out = NULL, *out2 = NULL;
	size_t len = 0, len2 = 0;
	vt_ok(vstd_ovf_write(ovf, &out, &len));
	vstd_ovf *again = NULL;
	vt_ok(vstd_ovf_parse(&again, out, len, name, NULL));
	const vstd_ovf_model *m2 = vstd_ovf_model_get(again);
	ck_assert_uint_eq(m->n_files, m2->n_files);
	ck_assert_uint_eq(m->n_disks, m2->n_disks);
	ck_assert_uint_eq(m->n_networks, m2->n_networks);
	ck_assert_uint_eq(m->n_configs, m2->n_configs);
	ck_assert_uint_eq(m->n_vms, m2->n_vms);
	ck_assert_uint_eq(m->n_other_sections, m2->n_other_sections);
	ck_assert_uint_eq(count_items(m->root), count_items(m2->root));
	for (size_t i = 0; i < m->n_disks; i++)
		ck_assert_uint_eq(m->disks[i].capacity_bytes, m2->disks[i].capacity_bytes);
	if (m->root != NULL)
		ck_assert_uint_eq(m->root->n_other_sections, m2->root->n_other_sections);
	vt_ok(vstd_ovf_write(again, &out2, &len2));
	ck_assert_uint_eq(len, len2);
	ck_assert(memcmp(out, out2, len) == 0);
	/* Every vendor element of the input is still there, verbatim. */
	size_t in_len = 0;
	char *in = slurp(path, &in_len);
	const char *vendor[] = {
	        "vbox:Machine", "vmw:Config", "gnt:GanetiSection", "vcloud:", "xenovf:",
	        "ovirt:",       NULL};
	for (size_t k = 0; vendor[k]; k++)
		ck_assert_msg((strstr(in, vendor[k]) != NULL) == (strstr(out, vendor[k]) != NULL),
		              "%s: extension %s lost in the round trip", name, vendor[k]);
	free(in);
	vstd_ovf_buffer_free(out);
	vstd_ovf_buffer_free(out2);
	vstd_ovf_free(again);
	vstd_ovf_free(ovf);
}
END_TEST

/* invalid/ descriptors: (file, expected error code from parse or 0, message or finding substring)
 */
static const struct {
	const char *file;
	int parse_code;     /* expected vstd_ovf_open result */
	const char *needle; /* in the error message or one finding */
	int strict_only;    /* the finding is an error in strict mode only */
	int check_files;    /* validate with the referenced files looked up */
} invalid_cases[] = {
        {"invalid/cot-ersatz_ovf_3.0.ovf", VSTD_ENOTSUP, "envelope/3", 0, 0},
        {"invalid/cot-invalid.ovf", 0, "fileRef 'flash2'", 0, 0},
        {"invalid/cot-invalid.ovf", 0, "HostResource 'nonexistent.vmdk'", 0, 0},
        {"invalid/cot-invalid.ovf", 0, "Parent '27'", 0, 0},
        {"invalid/ganeti-corrupted_resources.ovf", 0, "does not exist in the package", 0, 1},
        {"invalid/ganeti-no_disk_in_ref.ovf", 0, "is not found in References", 0, 0},
        {"invalid/ganeti-wrong_extension.ovd", 0, "extension .ovf", 1, 0},
        {"invalid/ganeti-wrong_xml.ovf", VSTD_ECORRUPT, "not well-formed", 0, 0},
        {"invalid/pve-XEE.ovf", VSTD_EPERM, "entity", 0, 0},
        {"invalid/vbox-tdAppliance1-t7-bad-instance.ovf", 0, "InstanceID '%iid%'", 0, 0},
};

START_TEST(invalid_rejected)
{
	char rel[512];
	snprintf(rel, sizeof(rel), "corpus/ovf/%s", invalid_cases[_i].file);
	const char *path = vt_shared(rel);
	vstd_ovf *ovf = NULL;
	int rc = vstd_ovf_open(&ovf, path, NULL);
	if (invalid_cases[_i].parse_code != 0) {
		ck_assert_int_eq(rc, invalid_cases[_i].parse_code);
		ck_assert_msg(strstr(vstd_error_last()->message, invalid_cases[_i].needle) != NULL,
		              "message '%s' lacks '%s'", vstd_error_last()->message,
		              invalid_cases[_i].needle);
		return;
	}
	vt_ok(rc);
	vstd_ovf_validate_opts vo = VSTD_OVF_VALIDATE_OPTS_INIT;
	vo.flags = (invalid_cases[_i].strict_only ? VSTD_OVF_STRICT : 0) |
	           (invalid_cases[_i].check_files ? 0 : VSTD_OVF_DESCRIPTOR_ONLY);
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = 0;
	vo.base_dir = dir;
	vstd_ovf_report *rep = NULL;
	vt_ok(vstd_ovf_validate(ovf, &vo, &rep));
	int found = 0;
	for (size_t i = 0; i < vstd_ovf_report_count(rep); i++) {
		const vstd_ovf_diag *d = vstd_ovf_report_get(rep, i);
		if (d->severity == VSTD_OVF_ERROR && strstr(d->message, invalid_cases[_i].needle)) {
			found = 1;
			ck_assert_msg(d->rule[0] != '\0' && (d->line > 0 || strstr(d->rule, "5.1")),
			              "finding without rule or line");
		}
	}
	ck_assert_msg(found, "%s: no error mentioning '%s'", invalid_cases[_i].file,
	              invalid_cases[_i].needle);
	ck_assert_uint_gt(vstd_ovf_report_errors(rep), 0);
	vstd_ovf_report_free(rep);
	vstd_ovf_free(ovf);
}
END_TEST

/* ---------------------------------------------------------- xmllint oracle */

static const char *schema_for(const char *path)
{
	size_t len;
	char *b = slurp(path, &len);
	const char *x = NULL;
	if (strstr(b, "\"http://schemas.dmtf.org/ovf/envelope/1\"") ||
	    strstr(b, "'http://schemas.dmtf.org/ovf/envelope/1'"))
		x = "xsd/ovf-1.1.1/dsp8023_1.1.1.xsd";
	else if (strstr(b, "\"http://schemas.dmtf.org/ovf/envelope/2\""))
		x = "xsd/ovf-2.0.1/dsp8023_2.0.1.xsd";
	free(b);
	return x;
}

/* Our strict structural verdict: 1 invalid (refused, or DSP8023 / XML errors). */
static int our_structural_verdict(const char *path)
{
	vstd_ovf *ovf = NULL;
	vstd_ovf_parse_opts po = VSTD_OVF_PARSE_OPTS_INIT;
	po.flags = VSTD_OVF_PARSE_STRICT_ENCODING;
	if (vstd_ovf_open(&ovf, path, &po) < 0)
		return 1;
	vstd_ovf_validate_opts vo = VSTD_OVF_VALIDATE_OPTS_INIT;
	vo.flags = VSTD_OVF_STRICT | VSTD_OVF_DESCRIPTOR_ONLY;
	vstd_ovf_report *rep = NULL;
	ck_assert_int_eq(vstd_ovf_validate(ovf, &vo, &rep), 0);
	int bad = 0;
	for (size_t i = 0; i < vstd_ovf_report_count(rep); i++) {
		const vstd_ovf_diag *d = vstd_ovf_report_get(rep, i);
		if (d->severity == VSTD_OVF_ERROR && strcmp(d->rule, "DSP8023") == 0)
			bad = 1;
	}
	vstd_ovf_report_free(rep);
	vstd_ovf_free(ovf);
	return bad;
}

START_TEST(strict_agrees_with_xmllint)
{
	const char *dirs[] = {"corpus/ovf", "corpus/ovf/invalid"};
	int compared = 0, agreed = 0;
	for (int d = 0; d < 2; d++) {
		DIR *dir = opendir(vt_shared(dirs[d]));
		ck_assert_ptr_nonnull(dir);
		struct dirent *e;
		while ((e = readdir(dir)) != NULL) {
			size_t l = strlen(e->d_name);
			if (l < 5 || (strcmp(e->d_name + l - 4, ".ovf") &&
			              strcmp(e->d_name + l - 4, ".xml") &&
			              strcmp(e->d_name + l - 4, ".ovd")))
				continue;
			char rel[512];
			snprintf(rel, sizeof(rel), "%s/%s", dirs[d], e->d_name);
			char path[1024];
			snprintf(path, sizeof(path), "%s", vt_shared(rel));
			const char *x = schema_for(path);
			if (x == NULL)
				continue; /* 0.9 and unknown namespaces: no DMTF schema */
			int st = vt_run("xmllint --nonet --noout --schema '%s' '%s'", vt_shared(x),
			                path);
			int theirs = st != 0;
			int ours = our_structural_verdict(path);
			compared++;
			if (theirs == ours)
				agreed++;
			else
				fprintf(stderr, "DISAGREE %s: xmllint %s, vstd strict %s\n", rel,
				        theirs ? "invalid" : "valid", ours ? "invalid" : "valid");
		}
		closedir(dir);
	}
	fprintf(stderr, "strict structure vs xmllint: %d/%d descriptors agree\n", agreed, compared);
	ck_assert_int_gt(compared, 30);
	ck_assert_int_eq(agreed, compared);
}
END_TEST

int main(void)
{
	vt_require_tool("xmllint", "libxml2-utils");
	vt_require_file(vt_shared("corpus/ovf/cot-minimal.ovf"), "the shared OVF corpus");
	Suite *s = suite_create("ovf_corpus");
	TCase *tc = tcase_create("corpus");
	size_t nv = 0;
	while (valid_descriptors[nv])
		nv++;
	static char pref[64];
	(void)pref;
	tcase_add_loop_test(tc, valid_parse_validate_roundtrip, 0, (int)nv);
	tcase_add_loop_test(tc, invalid_rejected, 0,
	                    (int)(sizeof(invalid_cases) / sizeof(invalid_cases[0])));
	tcase_add_test(tc, strict_agrees_with_xmllint);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
