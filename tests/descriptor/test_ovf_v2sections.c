/*
 * tests/descriptor/test_ovf_v2sections.c - the OVF 2.x-only sections
 * (SharedDiskSection, ScaleOutSection, PlacementGroupSection/
 * PlacementSection, EncryptionSection, EnvironmentFilesSection,
 * BootDeviceSection) and several VirtualHardwareSections per VirtualSystem:
 * modelled, round-tripped (parse -> model -> write -> parse equal, and the
 * written file validates with xmllint against DSP8023 2.0.1), checked by
 * the semantic rules (each finding names its DSP0243 section), our strict
 * verdict agrees with xmllint's on positive and negative variants, the
 * hardware chosen per target (libvirt, qemu, vmm) with a named refusal, and
 * exported: boot order and shared disks in libvirt XML (virt-xml-validate)
 * and on the QEMU command line (qemu-system-x86_64 accepts it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vstd/ovf.h"
#include "vtest.h"

#include "v2sections_doc.h"

/* v2_doc with the first `from` replaced by `to` (static buffer). */
static const char *variant(const char *from, const char *to)
{
	static char buf[sizeof(v2_doc) + 4096];
	const char *p = strstr(v2_doc, from);
	ck_assert_msg(p != NULL, "variant: '%s' not in the document", from);
	ck_assert_uint_lt(strlen(v2_doc) + strlen(to), sizeof(buf));
	size_t pre = (size_t)(p - v2_doc);
	memcpy(buf, v2_doc, pre);
	strcpy(buf + pre, to);
	strcat(buf, p + strlen(from));
	return buf;
}

static vstd_ovf *parse(const char *text)
{
	vstd_ovf *ovf = NULL;
	vt_ok(vstd_ovf_parse(&ovf, text, strlen(text), "v2.ovf", NULL));
	return ovf;
}

static const vstd_vm *node(const vstd_ovf *ovf)
{
	const vstd_vm *vm = vstd_ovf_find_vm(ovf, "node");
	ck_assert_ptr_nonnull(vm);
	return vm;
}

static void check_model(const vstd_ovf *ovf)
{
	const vstd_ovf_model *m = vstd_ovf_model_get(ovf);
	ck_assert_int_eq(m->version, VSTD_OVF_V2);
	/* SharedDiskSection: listed with the disks, marked shared */
	ck_assert_uint_eq(m->n_disks, 3);
	ck_assert_uint_eq(m->n_shared_disks, 2);
	const vstd_ovf_disk *q = vstd_ovf_find_disk(ovf, "quorum");
	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(q->shared, 1);
	ck_assert_int_eq(q->read_only, 0);
	ck_assert_str_eq(q->file_ref, "data");
	ck_assert_uint_eq(q->capacity_bytes, 1048576);
	const vstd_ovf_disk *md = vstd_ovf_find_disk(ovf, "media");
	ck_assert_int_eq(md->shared, 1);
	ck_assert_int_eq(md->read_only, 1);
	ck_assert_uint_eq(md->capacity_bytes, 64ull << 20);
	ck_assert_int_eq(vstd_ovf_find_disk(ovf, "d1")->shared, 0);
	/* PlacementGroupSection at the envelope */
	ck_assert_uint_eq(m->n_placement_groups, 1);
	ck_assert_str_eq(m->placement_groups[0].id, "spread");
	ck_assert_str_eq(m->placement_groups[0].policy, "availability");
	ck_assert_str_eq(m->placement_groups[0].description, "keep the nodes apart");
	/* EncryptionSection */
	ck_assert_int_eq(m->has_encryption, 1);
	ck_assert_uint_eq(m->n_keys, 1);
	ck_assert_str_eq(m->keys[0].kind, "EncryptedKey");
	ck_assert_str_eq(m->keys[0].id, "k1");
	ck_assert_str_eq(m->keys[0].algorithm, "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p");
	ck_assert_uint_eq(m->keys[0].n_data_refs, 1);
	ck_assert_str_eq(m->keys[0].data_refs[0], "#data");
	ck_assert_uint_eq(m->n_other_sections, 0);
	/* ScaleOutSection in the collection */
	const vstd_vm *col = m->root;
	ck_assert_int_eq(col->is_collection, 1);
	ck_assert_uint_eq(col->n_scale_out, 1);
	ck_assert_str_eq(col->scale_out[0].id, "node");
	ck_assert_str_eq(col->scale_out[0].description, "How many nodes");
	ck_assert_uint_eq(col->scale_out[0].n_counts, 1);
	ck_assert_uint_eq(col->scale_out[0].counts[0].minimum, 2);
	ck_assert_uint_eq(col->scale_out[0].counts[0].deflt, 3);
	ck_assert_int_eq(col->scale_out[0].counts[0].has_maximum, 1);
	ck_assert_uint_eq(col->scale_out[0].counts[0].maximum, 8);
	ck_assert_uint_eq(col->n_other_sections, 0);
	/* the VirtualSystem's sections */
	const vstd_vm *vm = node(ovf);
	ck_assert_str_eq(vm->placement_group, "spread");
	ck_assert_uint_eq(vm->n_env_files, 1);
	ck_assert_str_eq(vm->env_files[0].file_ref, "cfg");
	ck_assert_str_eq(vm->env_files[0].path, "conf/app.conf");
	ck_assert_str_eq(vm->env_files_transport, "iso");
	ck_assert_uint_eq(vm->n_boot, 1);
	ck_assert_str_eq(vm->boot[0].element_name, "Normal boot");
	ck_assert_uint_eq(vm->boot[0].n_sources, 2);
	ck_assert_int_eq(vm->boot[0].sources[0].device, 'n');
	ck_assert_uint_eq(vm->boot[0].sources[0].index, 1);
	ck_assert_str_eq(vm->boot[0].sources[0].structured, "CIM:Network:1");
	ck_assert_int_eq(vm->boot[0].sources[1].device, 'd');
	ck_assert_str_eq(vm->boot[0].sources[1].instance_id, "bs2");
	ck_assert_uint_eq(vm->n_other_sections, 0);
	/* both VirtualHardwareSections */
	ck_assert_uint_eq(vm->n_hardware_sections, 2);
	ck_assert_str_eq(vm->hardware[0].id, "vmware");
	ck_assert_str_eq(vm->hardware[0].system_type, "vmx-07");
	ck_assert_str_eq(vm->hardware[0].transport, "com.vmware.guestInfo");
	ck_assert_uint_eq(vm->hardware[0].n_items, 2);
	ck_assert_str_eq(vm->hardware[1].id, "kvm");
	ck_assert_str_eq(vm->hardware[1].system_type, "kvm");
	ck_assert_str_eq(vm->hardware[1].system_name, "node");
	ck_assert_uint_eq(vm->hardware[1].n_items, 6);
	ck_assert_str_eq(vm->hardware[1].items[4].host_resources[0], "ovf:/disk/quorum");
	/* the first is still the one the older fields summarise */
	ck_assert_str_eq(vm->system_type, "vmx-07");
	ck_assert_ptr_eq(vm->items, vm->hardware[0].items);
}

static int xmllint_ok(const char *path)
{
	return vt_run("out=$(xmllint --nonet --noout --schema '%s' '%s' 2>&1); rc=$?; "
	              "echo \"$out\" | grep -v 'parser warning'; exit $rc",
	              vt_shared("xsd/ovf-2.0.1/dsp8023_2.0.1.xsd"), path) == 0;
}

START_TEST(model_and_round_trip)
{
	vt_write_file(vt_path("in.ovf"), v2_doc, strlen(v2_doc));
	ck_assert_msg(xmllint_ok(vt_path("in.ovf")), "the test document itself: %s", vt_output());
	vstd_ovf *ovf = parse(v2_doc);
	check_model(ovf);
	vstd_ovf_validate_opts vo = VSTD_OVF_VALIDATE_OPTS_INIT;
	vo.flags = VSTD_OVF_STRICT | VSTD_OVF_DESCRIPTOR_ONLY;
	vstd_ovf_report *rep = NULL;
	vt_ok(vstd_ovf_validate(ovf, &vo, &rep));
	for (size_t i = 0; i < vstd_ovf_report_count(rep); i++)
		fprintf(stderr, "finding: %s %s\n", vstd_ovf_report_get(rep, i)->rule,
		        vstd_ovf_report_get(rep, i)->message);
	ck_assert_uint_eq(vstd_ovf_report_count(rep), 0);
	vstd_ovf_report_free(rep);
	/* write, xmllint, parse again: the same model */
	vt_ok(vstd_ovf_save(ovf, vt_path("out.ovf")));
	ck_assert_msg(xmllint_ok(vt_path("out.ovf")), "%s", vt_output());
	vstd_ovf *again = NULL;
	vt_ok(vstd_ovf_open(&again, vt_path("out.ovf"), NULL));
	check_model(again);
	vstd_ovf_free(again);
	vstd_ovf_free(ovf);
}
END_TEST

/* Variants: xmllint's verdict and our strict structure verdict agree. */
static const struct {
	const char *from, *to;
	int valid; /* under DSP8023 2.0.1 */
} schema_cases[] = {
        /* BootDeviceSection: only its one CIM_BootConfigSetting */
        {"<bootc:CIM_BootConfigSetting>", "<bootc:Nope/><bootc:CIM_BootConfigSetting>", 0},
        /* a boot source without the required InstanceID */
        {"<boots:InstanceID>bs1</boots:InstanceID>", "", 0},
        /* an EnvironmentFilesSection File needs ovf:path */
        {"ovf:path=\"conf/app.conf\"", "", 0},
        /* EncryptionSection admits only xenc:EncryptedKey / xenc11:DerivedKey */
        {"<xenc:EncryptedKey Id=\"k1\">", "<ds:KeyName>x</ds:KeyName><xenc:EncryptedKey Id=\"k1\">",
         0},
        /* PlacementGroupSection needs ovf:policy */
        {"ovf:policy=\"availability\"", "", 0},
        /* ScaleOutSection needs an InstanceCount */
        {"<InstanceCount ovf:minimum=\"2\" ovf:default=\"3\" ovf:maximum=\"8\"/>", "", 0},
        /* SharedDisk readOnly must be a boolean */
        {"ovf:readOnly=\"true\"", "ovf:readOnly=\"maybe\"", 0},
        /* a second BootDeviceSection is fine */
        {"<VirtualHardwareSection ovf:id=\"vmware\"",
         "<BootDeviceSection><Info>b</Info><bootc:CIM_BootConfigSetting><bootc:ElementName>x"
         "</bootc:ElementName><bootc:InstanceID>b2</bootc:InstanceID>"
         "</bootc:CIM_BootConfigSetting></BootDeviceSection><VirtualHardwareSection "
         "ovf:id=\"vmware\"",
         1},
};

START_TEST(schema_verdict_agrees_with_xmllint)
{
	const char *doc = variant(schema_cases[_i].from, schema_cases[_i].to);
	vt_write_file(vt_path("var.ovf"), doc, strlen(doc));
	int lint = xmllint_ok(vt_path("var.ovf"));
	ck_assert_msg(lint == schema_cases[_i].valid, "case %d: xmllint says %d: %s", _i, lint,
	              vt_output());
	vstd_ovf *ovf = parse(doc);
	vstd_ovf_validate_opts vo = VSTD_OVF_VALIDATE_OPTS_INIT;
	vo.flags = VSTD_OVF_STRICT | VSTD_OVF_DESCRIPTOR_ONLY;
	vstd_ovf_report *rep = NULL;
	vt_ok(vstd_ovf_validate(ovf, &vo, &rep));
	size_t schema_errors = 0;
	for (size_t i = 0; i < vstd_ovf_report_count(rep); i++) {
		const vstd_ovf_diag *d = vstd_ovf_report_get(rep, i);
		if (d->severity == VSTD_OVF_ERROR && strcmp(d->rule, "DSP8023") == 0)
			schema_errors++;
	}
	ck_assert_msg((schema_errors == 0) == schema_cases[_i].valid,
	              "case %d: %zu DSP8023 errors, xmllint valid=%d", _i, schema_errors,
	              schema_cases[_i].valid);
	vstd_ovf_report_free(rep);
	vstd_ovf_free(ovf);
}
END_TEST

/* Semantic rules xmllint cannot see: each names its DSP0243 section. */
static const struct {
	const char *from, *to;
	int severity;
	const char *rule;
	const char *needle;
} rule_cases[] = {
        {"ovf:group=\"spread\"", "ovf:group=\"nowhere\"", VSTD_OVF_ERROR, "DSP0243 9.15 group",
         "nowhere"},
        {"ovf:fileRef=\"cfg\"", "ovf:fileRef=\"nofile\"", VSTD_OVF_ERROR, "DSP0243 9.11 fileRef",
         "nofile"},
        {"<ScaleOutSection ovf:id=\"node\">", "<ScaleOutSection ovf:id=\"other\">", VSTD_OVF_ERROR,
         "DSP0243 9.14 id", "other"},
        {"ovf:minimum=\"2\" ovf:default=\"3\"", "ovf:minimum=\"4\" ovf:default=\"3\"",
         VSTD_OVF_ERROR, "DSP0243 9.14 InstanceCount", "minimum"},
        {"CIM:Network:1", "CIM:Teleport:1", VSTD_OVF_WARNING, "DSP0243 9.12 StructuredBootString",
         "Teleport"},
        /* a SharedDisk id clashing with a Disk id */
        {"ovf:diskId=\"quorum\"", "ovf:diskId=\"d1\"", VSTD_OVF_ERROR, "DSP0243 9.1", "d1"},
        /* rules run over the second hardware section too */
        {"<rasd:HostResource>ovf:/disk/quorum", "<rasd:HostResource>ovf:/disk/gone", VSTD_OVF_ERROR,
         "DSP0243 8.3 HostResource", "gone"},
        /* two Files naming the same file (DSP0243 7.1) */
        {"ovf:href=\"app.conf\"", "ovf:href=\"data.img\"", VSTD_OVF_ERROR, "DSP0243 7.1 href",
         "data.img"},
        {"<rasd:InstanceID>5</rasd:InstanceID>", "<rasd:InstanceID>4</rasd:InstanceID>",
         VSTD_OVF_ERROR, "DSP0243 8.3 InstanceID", "4"},
};

START_TEST(semantic_rules_named)
{
	const char *doc = variant(rule_cases[_i].from, rule_cases[_i].to);
	vstd_ovf *ovf = parse(doc);
	vstd_ovf_validate_opts vo = VSTD_OVF_VALIDATE_OPTS_INIT;
	vo.flags = VSTD_OVF_DESCRIPTOR_ONLY;
	vstd_ovf_report *rep = NULL;
	vt_ok(vstd_ovf_validate(ovf, &vo, &rep));
	int found = 0;
	for (size_t i = 0; i < vstd_ovf_report_count(rep); i++) {
		const vstd_ovf_diag *d = vstd_ovf_report_get(rep, i);
		if (d->severity == rule_cases[_i].severity &&
		    strcmp(d->rule, rule_cases[_i].rule) == 0 &&
		    strstr(d->message, rule_cases[_i].needle) != NULL)
			found = 1;
	}
	if (!found)
		for (size_t i = 0; i < vstd_ovf_report_count(rep); i++)
			fprintf(stderr, "case %d finding: %s: %s\n", _i,
			        vstd_ovf_report_get(rep, i)->rule,
			        vstd_ovf_report_get(rep, i)->message);
	ck_assert_msg(found, "case %d: no %s finding", _i, rule_cases[_i].rule);
	vstd_ovf_report_free(rep);
	vstd_ovf_free(ovf);
}
END_TEST

START_TEST(hardware_selected_per_target)
{
	vstd_ovf *ovf = parse(v2_doc);
	const vstd_vm *vm = node(ovf);
	const vstd_ovf_hardware *hw = NULL;
	for (int t = VSTD_OVF_TARGET_LIBVIRT; t <= VSTD_OVF_TARGET_VMM; t++) {
		vt_ok(vstd_ovf_select_hardware(ovf, vm, t, NULL, &hw));
		ck_assert_str_eq(hw->id, "kvm");
	}
	ck_assert_int_eq(vstd_ovf_hardware_fit(&vm->hardware[0], VSTD_OVF_TARGET_QEMU), 1);
	ck_assert_int_eq(vstd_ovf_hardware_fit(&vm->hardware[1], VSTD_OVF_TARGET_QEMU), 2);
	vt_ok(vstd_ovf_select_hardware(ovf, vm, VSTD_OVF_TARGET_QEMU, "vmware", &hw));
	ck_assert_str_eq(hw->system_type, "vmx-07");
	ck_assert_int_eq(vstd_ovf_select_hardware(ovf, vm, VSTD_OVF_TARGET_QEMU, "nope", &hw),
	                 VSTD_ENOENT);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "nope"));
	vstd_ovf_free(ovf);
	/* the kvm section made SPARC: the VMware one (translated) is chosen */
	ovf = parse(variant("<vssd:VirtualSystemType>kvm<", "<vssd:VirtualSystemType>sun4v<"));
	vm = node(ovf);
	vt_ok(vstd_ovf_select_hardware(ovf, vm, VSTD_OVF_TARGET_LIBVIRT, NULL, &hw));
	ck_assert_str_eq(hw->id, "vmware");
	vstd_ovf_free(ovf);
	/* several types in one VirtualSystemType: the best counts */
	ovf = parse(
	        variant("<vssd:VirtualSystemType>kvm<", "<vssd:VirtualSystemType>sun4v vstd-1<"));
	ck_assert_int_eq(vstd_ovf_hardware_fit(&node(ovf)->hardware[1], VSTD_OVF_TARGET_VMM), 2);
	vstd_ovf_free(ovf);
	/* nothing fits: a named refusal */
	char *two =
	        strdup(variant("<vssd:VirtualSystemType>kvm<", "<vssd:VirtualSystemType>sun4v<"));
	char *p = strstr(two, "<vssd:VirtualSystemType>vmx-07<");
	ck_assert_ptr_nonnull(p);
	memcpy(p + strlen("<vssd:VirtualSystemType>"), "ibm-71", 6);
	ovf = parse(two);
	vm = node(ovf);
	ck_assert_int_eq(vstd_ovf_select_hardware(ovf, vm, VSTD_OVF_TARGET_VMM, NULL, &hw),
	                 VSTD_ENOTSUP);
	const char *msg = vstd_error_last()->message;
	ck_assert_msg(strstr(msg, "'node'") && strstr(msg, "'vmm'") && strstr(msg, "sun4v") &&
	                      strstr(msg, "ibm-71"),
	              "%s", msg);
	char *xml = NULL;
	size_t len;
	vstd_ovf_translate_opts o = VSTD_OVF_TRANSLATE_OPTS_INIT;
	o.vm_id = "node";
	ck_assert_int_eq(vstd_ovf_to_libvirt(ovf, &o, &xml, &len), VSTD_ENOTSUP);
	vstd_ovf_free(ovf);
	/* the CLI: info shows every section and the refusal (exit 1) */
	vt_write_file(vt_path("bad.ovf"), two, strlen(two));
	free(two);
	ck_assert_int_eq(vt_run("'%s' ovf info --target qemu '%s'", vt_cli(), vt_path("bad.ovf")),
	                 1);
	ck_assert_msg(strstr(vt_output(), "hardware #1") &&
	                      strstr(vt_output(), "no VirtualHardwareSection fits target 'qemu'"),
	              "%s", vt_output());
	vt_write_file(vt_path("v2.ovf"), v2_doc, strlen(v2_doc));
	ck_assert_msg(
	        vt_run("'%s' ovf info --output=json --target vmm '%s' | jq -e '.content.systems[0] "
	               "| .selected.hardware == 1 and (.hardware | length) == 2 and "
	               ".hardware[0].fit.qemu == \"translated\" and "
	               ".hardware[1].items[4].host_resources[0] == \"ovf:/disk/quorum\" and "
	               ".boot[0].sources[0].device == \"network\" and "
	               ".placement_group == \"spread\" and "
	               ".environment_files[0].path == \"conf/app.conf\"'",
	               vt_cli(), vt_path("v2.ovf")) == 0,
	        "%s", vt_output());
	ck_assert_msg(vt_run("'%s' ovf info --output=json '%s' | jq -e '(.disks | "
	                     "map(select(.shared)) | length) == 2 and "
	                     ".encryption.keys[0].data_references[0] == \"#data\" and "
	                     ".placement_groups[0].policy == \"availability\" and "
	                     ".content.scale_out[0].instance_counts[0].default == 3'",
	                     vt_cli(), vt_path("v2.ovf")) == 0,
	              "%s", vt_output());
	ck_assert_int_eq(vt_run("'%s' ovf info '%s'", vt_cli(), vt_path("v2.ovf")), 0);
	ck_assert_msg(strstr(vt_output(), "shared disk quorum") &&
	                      strstr(vt_output(), "boot order: network") &&
	                      strstr(vt_output(), "scale out node: default 3") &&
	                      strstr(vt_output(), "EncryptedKey k1"),
	              "%s", vt_output());
}
END_TEST

START_TEST(exports_boot_order_and_shared_disks)
{
	ck_assert_int_eq(vt_run("cd '%s' && qemu-img create -f vmdk -o subformat=streamOptimized "
	                        "sys.vmdk 64M && qemu-img create -f raw data.img 1M",
	                        vt_tmpdir()),
	                 0);
	vstd_ovf *ovf = parse(v2_doc);
	vstd_ovf_translate_opts o = VSTD_OVF_TRANSLATE_OPTS_INIT;
	o.disk_dir = vt_tmpdir();
	o.vm_id = "node";
	char *xml;
	size_t len;
	vt_ok(vstd_ovf_to_libvirt(ovf, &o, &xml, &len));
	vt_write_file(vt_path("dom.xml"), xml, len);
	ck_assert_msg(vt_run("virt-xml-validate '%s' domain", vt_path("dom.xml")) == 0, "%s\n%s",
	              vt_output(), xml);
	/* kvm hardware chosen (2 CPUs), network then disk, quorum shareable */
	ck_assert_msg(strstr(xml, "<vcpu>2</vcpu>") != NULL, "%s", xml);
	const char *b1 = strstr(xml, "<boot dev=\"network\"/>");
	const char *b2 = strstr(xml, "<boot dev=\"hd\"/>");
	ck_assert_msg(b1 && b2 && b1 < b2 && !strstr(xml, "<boot dev=\"cdrom\"/>"), "%s", xml);
	const char *sh = strstr(xml, "<shareable/>");
	ck_assert_msg(sh && strstr(xml, "data.img") < sh && strstr(sh + 1, "<shareable/>") == NULL,
	              "%s", xml);
	vstd_ovf_buffer_free(xml);
	/* the VMware section on request: 1 CPU */
	o.hardware_id = "vmware";
	vt_ok(vstd_ovf_to_libvirt(ovf, &o, &xml, &len));
	ck_assert_msg(strstr(xml, "<vcpu>1</vcpu>") != NULL, "%s", xml);
	vstd_ovf_buffer_free(xml);
	o.hardware_id = NULL;
	/* QEMU: -boot order=nc, share-rw=on on the shared disk; QEMU accepts it */
	char **argv;
	size_t argc;
	vt_ok(vstd_ovf_to_qemu_argv(ovf, &o, &argv, &argc));
	char cmd[8192];
	size_t k = 0;
	int boot = 0, share = 0, smp2 = 0;
	for (size_t i = 0; i < argc; i++) {
		k += (size_t)snprintf(cmd + k, sizeof(cmd) - k, "'%s' ", argv[i]);
		if (i > 0 && strcmp(argv[i - 1], "-boot") == 0 && strcmp(argv[i], "order=nc") == 0)
			boot = 1;
		if (strstr(argv[i], "share-rw=on") != NULL)
			share++;
		if (i > 0 && strcmp(argv[i - 1], "-smp") == 0 && strcmp(argv[i], "2") == 0)
			smp2 = 1;
	}
	ck_assert_msg(boot && share == 1 && smp2, "%s", cmd);
	int st = vt_run("echo quit | timeout 20 %s -S -display none -nodefaults -monitor stdio",
	                cmd);
	ck_assert_msg(st == 0, "qemu refused: %s\n%s", cmd, vt_output());
	vstd_ovf_argv_free(argv);
	/* the CLI: --hardware and --target */
	vt_write_file(vt_path("in2.ovf"), v2_doc, strlen(v2_doc));
	ck_assert_msg(vt_run("cd '%s' && '%s' ovf convert --to qemu --hardware vmware --vm node "
	                     "'%s' | grep -- '-smp 1'",
	                     vt_tmpdir(), vt_cli(), vt_path("in2.ovf")) == 0,
	              "%s", vt_output());
	ck_assert_int_eq(vt_run("'%s' ovf convert --to qemu --target nonsense '%s'", vt_cli(),
	                        vt_path("in2.ovf")),
	                 2);
	vstd_ovf_free(ovf);
}
END_TEST

/* The section numbers checked against the published text (docs/formats/ovf.md). */
START_TEST(section_numbers_cited)
{
	static const char no_ns[] = "<?xml version=\"1.0\"?><Envelope><References/></Envelope>";
	vstd_ovf *ovf = NULL;
	ck_assert_int_eq(vstd_ovf_parse(&ovf, no_ns, strlen(no_ns), "x.ovf", NULL), VSTD_ECORRUPT);
	/* the namespace is the descriptor's (clause 6), not virtual disk formats (5.2) */
	ck_assert_msg(strstr(vstd_error_last()->message, "(DSP0243 6)") != NULL, "%s",
	              vstd_error_last()->message);
}
END_TEST

int main(void)
{
	vt_require_tool("xmllint", "libxml2-utils");
	vt_require_tool("jq", "jq");
	vt_require_tool("virt-xml-validate", "libvirt-clients");
	vt_require_tool("qemu-system-x86_64", "qemu-system-x86");
	vt_require_tool("qemu-img", "qemu-utils");
	vt_require_file(vt_shared("xsd/ovf-2.0.1/dsp8023_2.0.1.xsd"), "the DMTF schemas");
	Suite *s = suite_create("ovf_v2sections");
	TCase *tc = tcase_create("ovf_v2sections");
	tcase_add_test(tc, model_and_round_trip);
	tcase_add_loop_test(tc, schema_verdict_agrees_with_xmllint, 0,
	                    (int)(sizeof(schema_cases) / sizeof(schema_cases[0])));
	tcase_add_loop_test(tc, semantic_rules_named, 0,
	                    (int)(sizeof(rule_cases) / sizeof(rule_cases[0])));
	tcase_add_test(tc, hardware_selected_per_target);
	tcase_add_test(tc, section_numbers_cited);
	tcase_add_test(tc, exports_boot_order_and_shared_disks);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
