/*
 * tests/descriptor/test_ovf_rules.c - our own descriptors, one per rule,
 * positive and negative; the model accessors; units; the builder's output
 * checked by xmllint against the DMTF schemas (1.1.1 and 2.0.1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vstd/ovf.h"
#include "vtest.h"

#define NS                                                                                         \
	"xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" "                                        \
	"xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\" "                                    \
	"xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"                          \
	"CIM_ResourceAllocationSettingData\" "                                                     \
	"xmlns:vssd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"                          \
	"CIM_VirtualSystemSettingData\""

#define ITEM(extra, iid, rt)                                                                       \
	"<Item " extra "><rasd:ElementName>x</rasd:ElementName><rasd:InstanceID>" iid              \
	"</rasd:InstanceID><rasd:ResourceType>" rt "</rasd:ResourceType></Item>"

/* A valid descriptor with one disk; parts replaced per case. */
static char *make(const char *refs, const char *sections, const char *vs_sections,
                  const char *items)
{
	char *b = malloc(65536);
	snprintf(b, 65536,
	         "<?xml version=\"1.0\"?>\n<Envelope " NS ">\n"
	         "<References>%s</References>\n"
	         "<DiskSection><Info>disks</Info>"
	         "<Disk ovf:diskId=\"d1\" ovf:fileRef=\"f1\" ovf:capacity=\"1\" "
	         "ovf:capacityAllocationUnits=\"byte * 2^30\"/></DiskSection>\n"
	         "<NetworkSection><Info>nets</Info><Network "
	         "ovf:name=\"lan\"/></NetworkSection>\n%s\n"
	         "<VirtualSystem ovf:id=\"vm\"><Info>a vm</Info>%s\n"
	         "<VirtualHardwareSection><Info>hw</Info>\n"
	         "<Item><rasd:AllocationUnits>byte * "
	         "2^20</rasd:AllocationUnits><rasd:ElementName>mem"
	         "</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>4</"
	         "rasd:ResourceType>"
	         "<rasd:VirtualQuantity>256</rasd:VirtualQuantity></Item>\n"
	         "<Item><rasd:ElementName>scsi</rasd:ElementName><rasd:InstanceID>2</"
	         "rasd:InstanceID>"
	         "<rasd:ResourceType>6</rasd:ResourceType></Item>\n"
	         "<Item><rasd:ElementName>disk</rasd:ElementName><rasd:HostResource>ovf:/disk/d1"
	         "</rasd:HostResource><rasd:InstanceID>3</rasd:InstanceID><rasd:Parent>2</"
	         "rasd:Parent>"
	         "<rasd:ResourceType>17</rasd:ResourceType></Item>\n%s"
	         "</VirtualHardwareSection></VirtualSystem></Envelope>\n",
	         refs ? refs : "<File ovf:id=\"f1\" ovf:href=\"disk.vmdk\" ovf:size=\"10\"/>",
	         sections ? sections : "", vs_sections ? vs_sections : "", items ? items : "");
	return b;
}

typedef struct rule_case {
	const char *what;
	const char *refs, *sections, *vs_sections, *items;
	const char *needle; /* NULL: valid in both modes */
	int strict_only;
} rule_case;

static const rule_case cases[] = {
        {"valid", NULL, NULL, NULL, NULL, NULL, 0},
        {"dangling fileRef", "<File ovf:id=\"other\" ovf:href=\"x.vmdk\"/>", NULL, NULL, NULL,
         "fileRef 'f1'", 0},
        {"duplicate File id",
         "<File ovf:id=\"f1\" ovf:href=\"a\"/><File ovf:id=\"f1\" ovf:href=\"b\"/>", NULL, NULL,
         NULL, "File id 'f1' is not unique", 0},
        {"href escapes", "<File ovf:id=\"f1\" ovf:href=\"../../etc/passwd\"/>", NULL, NULL, NULL,
         "climbs out", 0},
        {"absolute href", "<File ovf:id=\"f1\" ovf:href=\"/etc/passwd\"/>", NULL, NULL, NULL,
         "absolute", 0},
        {"unknown compression", "<File ovf:id=\"f1\" ovf:href=\"a\" ovf:compression=\"lzma\"/>",
         NULL, NULL, NULL, "compression 'lzma'", 0},
        {"bad disk HostResource", NULL, NULL, NULL,
         "<Item><rasd:ElementName>d2</rasd:ElementName><rasd:HostResource>ovf:/disk/nope</"
         "rasd:HostResource>"
         "<rasd:InstanceID>9</rasd:InstanceID><rasd:Parent>2</rasd:Parent><rasd:ResourceType>17</"
         "rasd:ResourceType></Item>",
         "names no Disk", 0},
        {"bad file HostResource", NULL, NULL, NULL,
         "<Item><rasd:ElementName>cd</rasd:ElementName><rasd:HostResource>ovf:/file/nope</"
         "rasd:HostResource>"
         "<rasd:InstanceID>9</rasd:InstanceID><rasd:ResourceType>15</rasd:ResourceType></Item>",
         "names no File", 0},
        {"duplicate InstanceID", NULL, NULL, NULL, ITEM("", "3", "10"),
         "InstanceID '3' is not unique", 0},
        {"InstanceID per configuration is fine", NULL,
         "<DeploymentOptionSection><Info>o</Info><Configuration ovf:id=\"big\"><Label>b</Label>"
         "<Description>b</Description></Configuration></DeploymentOptionSection>",
         NULL, ITEM("ovf:configuration=\"big\"", "1", "4"), NULL, 0},
        {"undeclared configuration", NULL, NULL, NULL, ITEM("ovf:configuration=\"huge\"", "8", "3"),
         "'huge' is not declared", 0},
        {"unresolved Parent (strict)", NULL, NULL, NULL,
         "<Item><rasd:ElementName>n</rasd:ElementName><rasd:InstanceID>8</rasd:InstanceID>"
         "<rasd:Parent>77</rasd:Parent><rasd:ResourceType>10</rasd:ResourceType></Item>",
         "Parent '77'", 1},
        {"Parent cycle", NULL, NULL, NULL,
         "<Item><rasd:ElementName>a</rasd:ElementName><rasd:InstanceID>8</rasd:InstanceID>"
         "<rasd:Parent>9</rasd:Parent><rasd:ResourceType>6</rasd:ResourceType></Item>"
         "<Item><rasd:ElementName>b</rasd:ElementName><rasd:InstanceID>9</rasd:InstanceID>"
         "<rasd:Parent>8</rasd:Parent><rasd:ResourceType>6</rasd:ResourceType></Item>",
         "is a cycle", 0},
        {"ResourceType 0", NULL, NULL, NULL, ITEM("", "8", "0"), "not a CIM ResourceType", 0},
        {"ResourceType text", NULL, NULL, NULL, ITEM("", "8", "disk"), "not a CIM ResourceType", 0},
        {"bad bound", NULL, NULL, NULL, ITEM("ovf:bound=\"most\"", "8", "3"), "ovf:bound 'most'",
         0},
        {"bad memory units", NULL, NULL, NULL,
         "<Item><rasd:AllocationUnits>furlongs</rasd:AllocationUnits><rasd:ElementName>m</"
         "rasd:ElementName>"
         "<rasd:InstanceID>8</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType></Item>",
         "'furlongs' is not a byte unit", 0},
        {"unknown required section", NULL, NULL,
         "<x:Magic xmlns:x=\"urn:x\" ovf:required=\"true\"><Info>m</Info></x:Magic>", NULL,
         "not understood and is marked", 0},
        {"unknown optional section kept", NULL, NULL,
         "<x:Magic xmlns:x=\"urn:x\" ovf:required=\"false\"><Info>m</Info></x:Magic>", NULL,
         "substitution group", 1},
        {"section without Info (strict)", NULL, NULL,
         "<AnnotationSection><Annotation>hi</Annotation></AnnotationSection>", NULL, "Info", 1},
        {"duplicate property", NULL, NULL,
         "<ProductSection><Info>p</Info><Property ovf:key=\"a\" ovf:type=\"string\"/>"
         "<Property ovf:key=\"a\" ovf:type=\"string\"/></ProductSection>",
         NULL, "key 'a' is not unique", 1},
        {"property value type", NULL, NULL,
         "<ProductSection><Info>p</Info><Property ovf:key=\"n\" ovf:type=\"uint8\" "
         "ovf:value=\"x\"/>"
         "</ProductSection>",
         NULL, "not a valid uint8", 0},
        {"RASD order (strict, DSP8023)", NULL, NULL, NULL,
         "<Item><rasd:InstanceID>8</rasd:InstanceID><rasd:ElementName>x</rasd:ElementName>"
         "<rasd:ResourceType>3</rasd:ResourceType></Item>",
         "out of order", 1},
        {"StartupSection in a VirtualSystem", NULL, NULL,
         "<StartupSection><Info>s</Info></StartupSection>", NULL,
         "only in a VirtualSystemCollection", 0},
        {"two defaults", NULL,
         "<DeploymentOptionSection><Info>o</Info>"
         "<Configuration ovf:id=\"a\" "
         "ovf:default=\"true\"><Label>a</Label><Description>a</Description></Configuration>"
         "<Configuration ovf:id=\"b\" "
         "ovf:default=\"true\"><Label>b</Label><Description>b</Description></Configuration>"
         "</DeploymentOptionSection>",
         NULL, NULL, "marked default", 0},
        {"drive under a NIC", NULL, NULL, NULL,
         "<Item><rasd:ElementName>n</rasd:ElementName><rasd:InstanceID>8</rasd:InstanceID>"
         "<rasd:ResourceType>10</rasd:ResourceType></Item>"
         "<Item><rasd:ElementName>cd</rasd:ElementName><rasd:InstanceID>9</rasd:InstanceID>"
         "<rasd:Parent>8</rasd:Parent><rasd:ResourceType>15</rasd:ResourceType></Item>",
         "not a controller", 0},
};

START_TEST(rule)
{
	const rule_case *c = &cases[_i];
	char *x = make(c->refs, c->sections, c->vs_sections, c->items);
	vstd_ovf *ovf = NULL;
	vt_ok(vstd_ovf_parse(&ovf, x, strlen(x), "case.ovf", NULL));
	for (int strict = 0; strict <= 1; strict++) {
		vstd_ovf_validate_opts vo = VSTD_OVF_VALIDATE_OPTS_INIT;
		vo.flags = VSTD_OVF_DESCRIPTOR_ONLY | (strict ? VSTD_OVF_STRICT : 0);
		vstd_ovf_report *rep = NULL;
		vt_ok(vstd_ovf_validate(ovf, &vo, &rep));
		int expect_error = c->needle != NULL && (strict || !c->strict_only);
		int found = 0;
		for (size_t i = 0; i < vstd_ovf_report_count(rep); i++) {
			const vstd_ovf_diag *d = vstd_ovf_report_get(rep, i);
			if (d->severity == VSTD_OVF_ERROR && c->needle &&
			    strstr(d->message, c->needle)) {
				found = 1;
				ck_assert_uint_gt(d->line, 0);
				ck_assert(strncmp(d->rule, "DSP", 3) == 0);
			}
			if (d->severity == VSTD_OVF_ERROR && !expect_error)
				fprintf(stderr, "%s (%s): unexpected: %s\n", c->what,
				        strict ? "strict" : "lax", d->message);
		}
		if (expect_error)
			ck_assert_msg(found, "%s (%s): no error with '%s'", c->what,
			              strict ? "strict" : "lax", c->needle);
		else
			ck_assert_msg(vstd_ovf_report_errors(rep) == 0, "%s (%s): %zu errors",
			              c->what, strict ? "strict" : "lax",
			              vstd_ovf_report_errors(rep));
		vstd_ovf_report_free(rep);
	}
	vstd_ovf_free(ovf);
	free(x);
}
END_TEST

START_TEST(model_and_units)
{
	char *x = make(
	        NULL, NULL,
	        "<ProductSection ovf:class=\"com.acme\"><Info>p</Info><Product>Widget</Product>"
	        "<Category>net</Category><Property ovf:key=\"ip\" ovf:type=\"string\" "
	        "ovf:userConfigurable=\"true\" ovf:value=\"dhcp\"><Label>IP</Label></Property>"
	        "</ProductSection><x:Vendor xmlns:x=\"urn:x\" ovf:required=\"false\"><Info>v</Info>"
	        "<x:Blob a=\"1\">keep me</x:Blob></x:Vendor>",
	        NULL);
	vstd_ovf *ovf = NULL;
	vt_ok(vstd_ovf_parse(&ovf, x, strlen(x), "m.ovf", NULL));
	const vstd_ovf_model *m = vstd_ovf_model_get(ovf);
	ck_assert_int_eq(m->version, VSTD_OVF_V1);
	ck_assert_uint_eq(m->disks[0].capacity_bytes, 1ull << 30);
	ck_assert_str_eq(m->files[0].href, "disk.vmdk");
	ck_assert_uint_eq(m->files[0].size, 10);
	const vstd_vm *vm = vstd_ovf_find_vm(ovf, "vm");
	ck_assert_ptr_nonnull(vm);
	ck_assert_uint_eq(vm->n_items, 3);
	ck_assert_int_eq(vm->items[0].resource_type, VSTD_RT_MEMORY);
	ck_assert_uint_eq(vm->items[0].virtual_quantity, 256);
	ck_assert_str_eq(vm->items[2].host_resources[0], "ovf:/disk/d1");
	ck_assert_str_eq(vm->products[0].properties[0].category, "net");
	ck_assert_int_eq(vm->products[0].properties[0].user_configurable, 1);
	ck_assert_uint_eq(vm->n_other_sections, 1);
	ck_assert_str_eq(vm->other_sections[0], "{urn:x}Vendor");
	char *out;
	size_t len;
	vt_ok(vstd_ovf_write(ovf, &out, &len));
	ck_assert(strstr(out, "<x:Blob a=\"1\">keep me</x:Blob>") != NULL);
	vstd_ovf_buffer_free(out);
	/* environment: class-qualified key, override, refusal of unknown keys */
	const char *k[] = {"com.acme.ip"}, *v[] = {"10.0.0.1"};
	vt_ok(vstd_ovf_env_build(ovf, NULL, k, v, 1, &out, &len));
	ck_assert(strstr(out, "oe:key=\"com.acme.ip\" oe:value=\"10.0.0.1\"") != NULL);
	vstd_ovf_buffer_free(out);
	const char *bad[] = {"nope"};
	ck_assert_int_eq(vstd_ovf_env_build(ovf, NULL, bad, v, 1, &out, &len), VSTD_EINVAL);
	vstd_ovf_free(ovf);
	free(x);

	uint64_t u;
	vt_ok(vstd_ovf_parse_units("byte * 2^30", &u));
	ck_assert_uint_eq(u, 1ull << 30);
	vt_ok(vstd_ovf_parse_units("byte*10^9", &u));
	ck_assert_uint_eq(u, 1000000000ull);
	vt_ok(vstd_ovf_parse_units("MegaBytes", &u));
	ck_assert_uint_eq(u, 1u << 20);
	vt_ok(vstd_ovf_parse_units("byte * 2^20 * 4", &u));
	ck_assert_uint_eq(u, 4u << 20);
	ck_assert_int_eq(vstd_ovf_parse_units("byte * 2^64", &u), VSTD_ERANGE);
	ck_assert_int_eq(vstd_ovf_parse_units("hertz * 10^6", &u), VSTD_EINVAL);
	ck_assert_int_eq(vstd_ovf_parse_units("byte * ", &u), VSTD_EINVAL);
}
END_TEST

START_TEST(builder_validates_with_xmllint)
{
	static const char *const xsd[] = {"xsd/ovf-1.1.1/dsp8023_1.1.1.xsd",
	                                  "xsd/ovf-2.0.1/dsp8023_2.0.1.xsd"};
	vstd_ovf_build_disk disks[2] = {{"a.vmdk", 1000, 1ull << 30, NULL, "scsi", 0},
	                                {"b.iso", 2048, 0, NULL, "ide", 1}};
	vstd_ovf_build_nic nics[2] = {{"lan", "VmxNet3", "00:50:56:aa:bb:cc"}, {"wan", NULL, NULL}};
	vstd_ovf_build_property props[1] = {
	        {"hostname", "string", "box", "Host name", "The name", 1}};
	for (int v2 = 0; v2 <= 1; v2++) {
		vstd_ovf_build_spec spec = {VSTD_OVF_BUILD_SPEC_VERSION};
		spec.ovf_version = v2 ? VSTD_OVF_V2 : VSTD_OVF_V1;
		spec.name = "built";
		spec.cpus = 2;
		spec.memory_mib = 2048;
		spec.disks = disks;
		spec.n_disks = 2;
		spec.nics = nics;
		spec.n_nics = 2;
		spec.product = "Thing";
		spec.vendor = "ACME";
		spec.product_version = "1.0";
		spec.properties = props;
		spec.n_properties = 1;
		spec.annotation = "note";
		spec.eula = "be nice";
		spec.transport = "iso";
		vstd_ovf *ovf = NULL;
		vt_ok(vstd_ovf_build(&ovf, &spec));
		char path[64];
		snprintf(path, sizeof(path), "built%d.ovf", v2);
		vt_ok(vstd_ovf_save(ovf, vt_path(path)));
		int st = vt_run("xmllint --nonet --noout --schema '%s' '%s'", vt_shared(xsd[v2]),
		                vt_path(path));
		ck_assert_msg(st == 0, "xmllint rejects our %s output:\n%s", v2 ? "2.x" : "1.x",
		              vt_output());
		vstd_ovf_validate_opts vo = VSTD_OVF_VALIDATE_OPTS_INIT;
		vo.flags = VSTD_OVF_STRICT | VSTD_OVF_DESCRIPTOR_ONLY;
		vstd_ovf_report *rep = NULL;
		vt_ok(vstd_ovf_validate(ovf, &vo, &rep));
		ck_assert_uint_eq(vstd_ovf_report_errors(rep), 0);
		ck_assert_uint_eq(vstd_ovf_report_warnings(rep), 0);
		vstd_ovf_report_free(rep);
		const vstd_ovf_model *m = vstd_ovf_model_get(ovf);
		ck_assert_int_eq(m->version, v2 ? VSTD_OVF_V2 : VSTD_OVF_V1);
		ck_assert_uint_eq(m->root->n_items, 2 + 2 + 2 + 2);
		vstd_ovf_free(ovf);
	}
	/* Mutations of our output are caught by xmllint and by us alike. */
	ck_assert_int_eq(vt_run("sed 's/<rasd:ElementName>virtual "
	                        "CPU(s)<\\/rasd:ElementName>/<rasd:Bogus>x<\\/rasd:Bogus>/' "
	                        "'%s' > '%s' && grep -q Bogus '%s'",
	                        vt_path("built0.ovf"), vt_path("mut.ovf"), vt_path("mut.ovf")),
	                 0);
	int st = vt_run("xmllint --nonet --noout --schema '%s' '%s'", vt_shared(xsd[0]),
	                vt_path("mut.ovf"));
	vstd_ovf *ovf = NULL;
	vt_ok(vstd_ovf_open(&ovf, vt_path("mut.ovf"), NULL));
	vstd_ovf_validate_opts vo = VSTD_OVF_VALIDATE_OPTS_INIT;
	vo.flags = VSTD_OVF_STRICT | VSTD_OVF_DESCRIPTOR_ONLY;
	vstd_ovf_report *rep = NULL;
	vt_ok(vstd_ovf_validate(ovf, &vo, &rep));
	ck_assert_int_ne(st, 0);
	ck_assert_uint_gt(vstd_ovf_report_errors(rep), 0);
	vstd_ovf_report_free(rep);
	vstd_ovf_free(ovf);
}
END_TEST

int main(void)
{
	vt_require_tool("xmllint", "libxml2-utils");
	Suite *s = suite_create("ovf_rules");
	TCase *tc = tcase_create("rules");
	tcase_add_loop_test(tc, rule, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, model_and_units);
	tcase_add_test(tc, builder_validates_with_xmllint);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
