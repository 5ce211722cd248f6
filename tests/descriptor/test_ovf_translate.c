/*
 * tests/descriptor/test_ovf_translate.c - the faces of the model, checked by
 * real peers: libvirt domain XML by virt-xml-validate, the QEMU command line
 * by qemu-system-x86_64 itself (started paused and quit), the ISO transport
 * by isoinfo, the environment by xmllint with DSP8027; libvirt XML back to
 * OVF by xmllint with DSP8023.  Corpus descriptors translate too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vstd/ovf.h"
#include "vtest.h"

static vstd_ovf *built(void)
{
	static vstd_ovf_build_disk disks[2] = {
	        {"d1.img", 0, 64 << 20, "http://en.wikipedia.org/wiki/Byte", "sata", 0},
	        {"d2.img", 0, 64 << 20, "http://en.wikipedia.org/wiki/Byte", "ide", 0}};
	static vstd_ovf_build_nic nics[1] = {{"default", "virtio", "52:54:00:12:34:56"}};
	static vstd_ovf_build_property props[2] = {{"hostname", "string", "box", "Host", NULL, 1},
	                                           {"port", "uint16", "22", "Port", NULL, 1}};
	vstd_ovf_build_spec spec = {VSTD_OVF_BUILD_SPEC_VERSION};
	spec.name = "tr";
	spec.cpus = 2;
	spec.memory_mib = 256;
	spec.disks = disks;
	spec.n_disks = 2;
	spec.nics = nics;
	spec.n_nics = 1;
	spec.properties = props;
	spec.n_properties = 2;
	spec.transport = "iso";
	vstd_ovf *ovf = NULL;
	vt_ok(vstd_ovf_build(&ovf, &spec));
	return ovf;
}

START_TEST(libvirt_validates)
{
	vstd_ovf *ovf = built();
	ck_assert_int_eq(vt_run("cd '%s' && qemu-img create -f raw d1.img 64M && qemu-img create "
	                        "-f raw d2.img 64M",
	                        vt_tmpdir()),
	                 0);
	vstd_ovf_translate_opts o = VSTD_OVF_TRANSLATE_OPTS_INIT;
	o.disk_dir = vt_tmpdir();
	char *xml;
	size_t len;
	vt_ok(vstd_ovf_to_libvirt(ovf, &o, &xml, &len));
	vt_write_file(vt_path("dom.xml"), xml, len);
	ck_assert_msg(vt_run("virt-xml-validate '%s' domain", vt_path("dom.xml")) == 0, "%s\n%s",
	              vt_output(), xml);
	ck_assert(strstr(xml, "<vcpu>2</vcpu>") && strstr(xml, "262144") &&
	          strstr(xml, "bus=\"sata\""));
	ck_assert(strstr(xml, "52:54:00:12:34:56") != NULL);
	/* and back to OVF, which xmllint accepts */
	vstd_ovf *back = NULL;
	vt_ok(vstd_ovf_from_libvirt(&back, xml, len, "dom.xml"));
	vt_ok(vstd_ovf_save(back, vt_path("back.ovf")));
	ck_assert_msg(vt_run("xmllint --nonet --noout --schema '%s' '%s'",
	                     vt_shared("xsd/ovf-1.1.1/dsp8023_1.1.1.xsd"),
	                     vt_path("back.ovf")) == 0,
	              "%s", vt_output());
	const vstd_vm *vm = vstd_ovf_find_vm(back, NULL);
	ck_assert_uint_eq(vm->n_items, 2 + 2 + 2 + 1);
	const vstd_ovf_model *m = vstd_ovf_model_get(back);
	ck_assert_uint_eq(m->n_disks, 2);
	ck_assert_uint_eq(m->disks[0].capacity_bytes, 64 << 20); /* sized through vstd_disk */
	vstd_ovf_free(back);
	vstd_ovf_buffer_free(xml);
	/* every corpus VirtualSystem translates to a valid domain */
	const char *samples[] = {"cot-csr1000v.ovf",
	                         "pve-Win10-Liz.ovf",
	                         "vbox-winxp-sharedfolders.ovf",
	                         "cot-ubuntu.2.0.ovf",
	                         "v2v-test-i-ova-two-disks.ovf",
	                         "virtmgr-test1.ovf"};
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		char rel[256];
		snprintf(rel, sizeof(rel), "corpus/ovf/%s", samples[i]);
		vstd_ovf *c = NULL;
		vt_ok(vstd_ovf_open(&c, vt_shared(rel), NULL));
		vt_ok(vstd_ovf_to_libvirt(c, &o, &xml, &len));
		vt_write_file(vt_path("c.xml"), xml, len);
		ck_assert_msg(vt_run("virt-xml-validate '%s' domain", vt_path("c.xml")) == 0,
		              "%s: %s\n%s", samples[i], vt_output(), xml);
		vstd_ovf_buffer_free(xml);
		vstd_ovf_free(c);
	}
	vstd_ovf_free(ovf);
}
END_TEST

START_TEST(qemu_accepts_command_line)
{
	vstd_ovf *ovf = built();
	ck_assert_int_eq(vt_run("cd '%s' && qemu-img create -f raw d1.img 64M && qemu-img create "
	                        "-f raw d2.img 64M",
	                        vt_tmpdir()),
	                 0);
	vstd_ovf_translate_opts o = VSTD_OVF_TRANSLATE_OPTS_INIT;
	o.disk_dir = vt_tmpdir();
	char **argv;
	size_t argc;
	vt_ok(vstd_ovf_to_qemu_argv(ovf, &o, &argv, &argc));
	char cmd[8192];
	size_t k = 0;
	for (size_t i = 0; i < argc; i++)
		k += (size_t)snprintf(cmd + k, sizeof(cmd) - k, "'%s' ", argv[i]);
	ck_assert_int_eq(strcmp(argv[0], "qemu-system-x86_64"), 0);
	int st = vt_run("echo quit | timeout 20 %s -S -display none -nodefaults -monitor stdio",
	                cmd);
	ck_assert_msg(st == 0, "qemu refused: %s\n%s", cmd, vt_output());
	vstd_ovf_argv_free(argv);
	vstd_ovf_free(ovf);
}
END_TEST

START_TEST(environment_and_iso)
{
	vstd_ovf *ovf = built();
	const char *keys[] = {"hostname", "port"}, *values[] = {"web1", "2222"};
	char *xml;
	size_t len;
	vt_ok(vstd_ovf_env_build(ovf, NULL, keys, values, 2, &xml, &len));
	vt_write_file(vt_path("env.xml"), xml, len);
	ck_assert_msg(vt_run("xmllint --nonet --noout --schema '%s' '%s'",
	                     vt_shared("xsd/ovf-env-1.0.0/ovf-environment.xsd"),
	                     vt_path("env.xml")) == 0,
	              "%s", vt_output());
	ck_assert(strstr(xml, "oe:key=\"port\" oe:value=\"2222\"") != NULL);
	const char *bad_values[] = {"web1", "many"};
	ck_assert_int_eq(vstd_ovf_env_build(ovf, NULL, keys, bad_values, 2, &xml, &len),
	                 VSTD_EINVAL);
	ck_assert(strstr(vstd_error_last()->message, "uint16") != NULL);
	vstd_iso_file f = {"ovf-env.xml", xml, len};
	vt_ok(vstd_iso9660_write(vt_path("env.iso"), "OVF_ENV", &f, 1));
	ck_assert_int_eq(vt_run("isoinfo -d -i '%s'", vt_path("env.iso")), 0);
	ck_assert(strstr(vt_output(), "Volume id: OVF_ENV") != NULL);
	ck_assert_int_eq(vt_run("isoinfo -i '%s' -x '/OVF-ENV.XML;1' > '%s' && cmp '%s' '%s'",
	                        vt_path("env.iso"), vt_path("out.xml"), vt_path("out.xml"),
	                        vt_path("env.xml")),
	                 0);
	/* Linux's iso9660 reader sees the same through blkid's probe. */
	vstd_ovf_buffer_free(xml);
	vstd_ovf_free(ovf);
}
END_TEST

START_TEST(cli_exit_codes)
{
	const char *cli = vt_cli();
	ck_assert_int_eq(vt_run("'%s' ovf validate '%s'", cli,
	                        vt_shared("corpus/ovf/vbox-tdAppliance1-t2-ovftool-4.1.0.ova")),
	                 0);
	ck_assert_int_eq(vt_run("'%s' ovf validate --descriptor-only '%s'", cli,
	                        vt_shared("corpus/ovf/cot-ubuntu.2.0.ovf")),
	                 0);
	ck_assert_int_eq(vt_run("'%s' ovf validate '%s'", cli,
	                        vt_shared("corpus/ovf/invalid/ganeti-no_disk_in_ref.ovf")),
	                 1);
	ck_assert_int_eq(
	        vt_run("'%s' ovf validate '%s'", cli, vt_shared("corpus/ovf/invalid/pve-XEE.ovf")),
	        1);
	ck_assert_int_eq(vt_run("'%s' ovf validate /nonexistent/x.ovf", cli), 2);
	ck_assert_int_eq(vt_run("'%s' ovf validate", cli), 2);
	ck_assert_int_eq(
	        vt_run("'%s' ovf validate --strict --output=json '%s' | jq -e '.valid == false and "
	               ".errors > 0 and (.findings[0].line > 0)'",
	               cli, vt_shared("corpus/ovf/invalid/vbox-tdAppliance1-t7-bad-instance.ovf")),
	        0);
	ck_assert_int_eq(
	        vt_run("'%s' ovf info --output=json '%s' | jq -e '.content.items | length == 14'",
	               cli, vt_shared("corpus/ovf/vbox-tdAppliance1-t4-ovftool-4.1.0.ovf")),
	        0);
	/* pack -> validate -> verify -> unpack -> convert */
	ck_assert_int_eq(
	        vt_run("cd '%s' && qemu-img create -f raw src.img 32M >/dev/null && "
	               "'%s' ovf pack -o p.ova --name p --disk-format raw --nic lan --property "
	               "host=a src.img && "
	               "'%s' ovf validate --strict p.ova && '%s' ovf verify p.ova && mkdir u && "
	               "'%s' ovf unpack p.ova u && '%s' ovf convert --to libvirt u/p.ovf > d.xml "
	               "&& "
	               "virt-xml-validate d.xml domain && '%s' ovf env --set host=b --iso e.iso "
	               "p.ova",
	               vt_tmpdir(), cli, cli, cli, cli, cli, cli),
	        0);
	/* unpacking twice never overwrites */
	ck_assert_int_eq(vt_run("cd '%s' && '%s' ovf unpack p.ova u", vt_tmpdir(), cli), 1);
}
END_TEST

int main(void)
{
	vt_require_tool("virt-xml-validate", "libvirt-clients");
	vt_require_tool("isoinfo", "genisoimage");
	vt_require_tool("xmllint", "libxml2-utils");
	vt_require_tool("qemu-system-x86_64", "qemu-system-x86");
	vt_require_tool("qemu-img", "qemu-utils");
	vt_require_tool("jq", "jq");
	Suite *s = suite_create("ovf_translate");
	TCase *tc = tcase_create("translate");
	tcase_add_test(tc, libvirt_validates);
	tcase_add_test(tc, qemu_accepts_command_line);
	tcase_add_test(tc, environment_and_iso);
	tcase_add_test(tc, cli_exit_codes);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
