/*
 * tests/descriptor/test_ovf_hostile.c - hostile descriptors: entity
 * expansion, external entities and DTDs, network fetches, huge values and
 * counts, deep nesting, overflowing sizes.  Each is refused with a clear
 * message (or read harmlessly), quickly and in bounded memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "vstd/ovf.h"
#include "vtest.h"

#define ENV_OPEN                                                                                   \
	"<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" "                              \
	"xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\" "                                    \
	"xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"                          \
	"CIM_ResourceAllocationSettingData\">"

static int parse(const char *x, size_t len, const vstd_ovf_parse_opts *o)
{
	vstd_ovf *ovf = NULL;
	int rc = vstd_ovf_parse(&ovf, x, len, "hostile.ovf", o);
	if (rc == 0) {
		/* nothing secret may have been pulled in */
		char *out;
		size_t l;
		ck_assert_int_eq(vstd_ovf_write(ovf, &out, &l), 0);
		ck_assert_msg(strstr(out, "root:") == NULL,
		              "file content leaked into the document");
		vstd_ovf_buffer_free(out);
		vstd_ovf_free(ovf);
	}
	return rc;
}

START_TEST(billion_laughs)
{
	const char *x =
	        "<?xml version=\"1.0\"?><!DOCTYPE Envelope [<!ENTITY a \"lol\">"
	        "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c "
	        "\"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
	        "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"><!ENTITY e "
	        "\"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">"
	        "<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\"><!ENTITY g "
	        "\"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">"
	        "<!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\"><!ENTITY i "
	        "\"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">]>" ENV_OPEN "<References/><VirtualSystem "
	        "ovf:id=\"x\"><Info>&i;</Info></VirtualSystem></Envelope>";
	clock_t t0 = clock();
	ck_assert_int_eq(parse(x, strlen(x), NULL), VSTD_EPERM);
	ck_assert(strstr(vstd_error_last()->message, "billion-laughs") != NULL);
	ck_assert(clock() - t0 < CLOCKS_PER_SEC);
}
END_TEST

START_TEST(external_entities_and_dtds)
{
	const char *cases[] = {
	        /* XXE: classic file read */
	        "<?xml version=\"1.0\"?><!DOCTYPE e [<!ENTITY x SYSTEM "
	        "\"file:///etc/passwd\">]>" ENV_OPEN "<References/><VirtualSystem "
	        "ovf:id=\"v\"><Info>&x;</Info></VirtualSystem></Envelope>",
	        /* parameter entity pulling an external DTD */
	        "<?xml version=\"1.0\"?><!DOCTYPE e [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> "
	        "%p;]>" ENV_OPEN "<References/></Envelope>",
	        /* external DTD over the network */
	        "<?xml version=\"1.0\"?><!DOCTYPE Envelope SYSTEM "
	        "\"http://127.0.0.1:9/evil.dtd\">" ENV_OPEN "<References/></Envelope>",
	        /* public id + network */
	        "<?xml version=\"1.0\"?><!DOCTYPE Envelope PUBLIC \"-//X//Y\" "
	        "\"http://127.0.0.1:9/x.dtd\">" ENV_OPEN "<References/></Envelope>",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(cases[i], strlen(cases[i]), NULL);
		ck_assert_msg(rc == VSTD_EPERM, "case %zu: %d %s", i, rc,
		              vstd_error_last()->message);
	}
	/* XInclude is not processed: the element stays an element. */
	const char *xi =
	        "<?xml version=\"1.0\"?>" ENV_OPEN "<References/><VirtualSystem ovf:id=\"v\"><Info>"
	        "<xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" href=\"/etc/passwd\" "
	        "parse=\"text\"/></Info></VirtualSystem></Envelope>";
	ck_assert_int_eq(parse(xi, strlen(xi), NULL), 0);
	/* The corpus XXE sample. */
	vstd_ovf *ovf = NULL;
	ck_assert_int_eq(vstd_ovf_open(&ovf, vt_shared("corpus/ovf/invalid/pve-XEE.ovf"), NULL),
	                 VSTD_EPERM);
}
END_TEST

START_TEST(huge_attribute)
{
	/* 100 MB attribute: refused by the input limit (default 32 MiB) ... */
	size_t n = 100u << 20;
	char *x = malloc(n + 512);
	int k = snprintf(x, 512,
	                 "<?xml version=\"1.0\"?>" ENV_OPEN
	                 "<References><File ovf:id=\"a\" ovf:href=\"");
	memset(x + k, 'A', n);
	strcpy(x + k + n, "\"/></References></Envelope>");
	size_t len = strlen(x);
	ck_assert_int_eq(parse(x, len, NULL), VSTD_ELIMIT);
	/* ... and by the 8 MiB limit on one value when the caller raises ours. */
	vstd_ovf_parse_opts o = VSTD_OVF_PARSE_OPTS_INIT;
	o.max_input = 200u << 20;
	int rc = parse(x, len, &o);
	ck_assert_int_eq(rc, VSTD_ELIMIT);
	ck_assert(strstr(vstd_error_last()->message, "a value or text of more than") != NULL);
	free(x);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr, "huge attribute: max RSS %ld MiB\n", ru.ru_maxrss / 1024);
}
END_TEST

START_TEST(million_items)
{
	size_t n = 1000000;
	const char *item = "<Item/>";
	char *x = malloc(n * 7 + 1024);
	size_t k = (size_t)sprintf(x, "<?xml version=\"1.0\"?>" ENV_OPEN
	                              "<References/><VirtualSystem ovf:id=\"v\">"
	                              "<Info>i</Info><VirtualHardwareSection><Info>h</Info>");
	for (size_t i = 0; i < n; i++, k += 7)
		memcpy(x + k, item, 7);
	k += (size_t)sprintf(x + k, "</VirtualHardwareSection></VirtualSystem></Envelope>");
	clock_t t0 = clock();
	ck_assert_int_eq(parse(x, k, NULL), VSTD_ELIMIT);
	ck_assert(strstr(vstd_error_last()->message, "max_items") != NULL);
	ck_assert(clock() - t0 < 5 * CLOCKS_PER_SEC);
	free(x);
}
END_TEST

START_TEST(deep_nesting)
{
	/* 100,000 nested elements */
	size_t n = 100000;
	char *x = malloc(n * 7 + 1024);
	size_t k = (size_t)sprintf(x, "<?xml version=\"1.0\"?>" ENV_OPEN "<References/>");
	for (size_t i = 0; i < n; i++, k += 3)
		memcpy(x + k, "<a>", 3);
	for (size_t i = 0; i < n; i++, k += 4)
		memcpy(x + k, "</a>", 4);
	k += (size_t)sprintf(x + k, "</Envelope>");
	int rc = parse(x, k, NULL);
	ck_assert_msg(rc == VSTD_ELIMIT || rc == VSTD_ECORRUPT, "%d %s", rc,
	              vstd_error_last()->message);
	free(x);
	/* 20 nested VirtualSystemCollections (within the element depth limit) */
	char buf[16384];
	k = (size_t)sprintf(buf, "<?xml version=\"1.0\"?>" ENV_OPEN "<References/>");
	for (int i = 0; i < 20; i++)
		k += (size_t)sprintf(buf + k,
		                     "<VirtualSystemCollection ovf:id=\"c%d\"><Info>c</Info>", i);
	k += (size_t)sprintf(buf + k, "<VirtualSystem ovf:id=\"v\"><Info>v</Info></VirtualSystem>");
	for (int i = 0; i < 20; i++)
		k += (size_t)sprintf(buf + k, "</VirtualSystemCollection>");
	k += (size_t)sprintf(buf + k, "</Envelope>");
	ck_assert_int_eq(parse(buf, k, NULL), VSTD_ELIMIT);
	ck_assert(strstr(vstd_error_last()->message, "VirtualSystemCollections nested") != NULL);
	/* 10 levels are fine */
	vstd_ovf_parse_opts o = VSTD_OVF_PARSE_OPTS_INIT;
	o.max_collection_depth = 32;
	ck_assert_int_eq(parse(buf, k, &o), 0);
}
END_TEST

START_TEST(overflowing_sizes)
{
	const char *x =
	        "<?xml version=\"1.0\"?>" ENV_OPEN
	        "<References><File ovf:id=\"f\" ovf:href=\"a\" ovf:size=\"18446744073709551615\" "
	        "ovf:chunkSize=\"99999999999999999999999\"/></References>"
	        "<DiskSection><Info>d</Info><Disk ovf:diskId=\"d\" ovf:fileRef=\"f\" "
	        "ovf:capacity=\"18446744073709551615\" ovf:capacityAllocationUnits=\"byte * "
	        "2^40\"/>"
	        "<Disk ovf:diskId=\"e\" ovf:capacity=\"1\" ovf:capacityAllocationUnits=\"byte * "
	        "2^99999999999\"/>"
	        "</DiskSection><VirtualSystem "
	        "ovf:id=\"v\"><Info>v</Info><VirtualHardwareSection><Info>h</Info>"
	        "<Item><rasd:ElementName>m</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID>"
	        "<rasd:ResourceType>4</"
	        "rasd:ResourceType><rasd:VirtualQuantity>99999999999999999999999"
	        "</rasd:VirtualQuantity></Item></VirtualHardwareSection></VirtualSystem></"
	        "Envelope>";
	vstd_ovf *ovf = NULL;
	vt_ok(vstd_ovf_parse(&ovf, x, strlen(x), "sizes.ovf", NULL));
	const vstd_ovf_model *m = vstd_ovf_model_get(ovf);
	ck_assert_int_eq(m->disks[0].capacity_known, 0);
	ck_assert_int_eq(m->disks[1].capacity_known, 0);
	vstd_ovf_validate_opts vo = VSTD_OVF_VALIDATE_OPTS_INIT;
	vo.flags = VSTD_OVF_DESCRIPTOR_ONLY;
	vstd_ovf_report *rep = NULL;
	vt_ok(vstd_ovf_validate(ovf, &vo, &rep));
	int cap = 0, vq = 0;
	for (size_t i = 0; i < vstd_ovf_report_count(rep); i++) {
		const char *msg = vstd_ovf_report_get(rep, i)->message;
		cap |= strstr(msg, "does not fit 64 bits") != NULL ||
		       strstr(msg, "not a byte unit") != NULL;
		vq |= strstr(msg, "VirtualQuantity") != NULL;
	}
	ck_assert(cap && vq);
	vstd_ovf_report_free(rep);
	/* Translating it does not believe the sizes either. */
	char *dom;
	size_t dl;
	vt_ok(vstd_ovf_to_libvirt(ovf, NULL, &dom, &dl));
	ck_assert(strstr(dom, "<memory unit=\"KiB\">524288</memory>") != NULL);
	vstd_ovf_buffer_free(dom);
	vstd_ovf_free(ovf);
}
END_TEST

START_TEST(not_ovf)
{
	const char *cases[] = {"",
	                       "<",
	                       "<a/>",
	                       "<Envelope/>",
	                       "<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/3\"/>",
	                       "<?xml version=\"1.0\" encoding=\"utf-16\"?><Envelope/>"};
	int codes[] = {VSTD_ECORRUPT, VSTD_ECORRUPT, VSTD_ECORRUPT,
	               VSTD_ECORRUPT, VSTD_ENOTSUP,  VSTD_ECORRUPT};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(cases[i], strlen(cases[i]), NULL);
		ck_assert_msg(rc == codes[i], "case %zu: %d (%s)", i, rc,
		              vstd_error_last()->message);
	}
}
END_TEST

START_TEST(alloc_failures)
{
	/* Every allocation failing in turn: a clean error, never a crash. */
	vstd_ovf_build_disk disks[1] = {{"a.vmdk", 1000, 1ull << 30, NULL, NULL, 0}};
	vstd_ovf_build_spec spec = {VSTD_OVF_BUILD_SPEC_VERSION};
	spec.disks = disks;
	spec.n_disks = 1;
	vstd_ovf *ovf = NULL;
	vt_ok(vstd_ovf_build(&ovf, &spec));
	char *x;
	size_t len;
	vt_ok(vstd_ovf_write(ovf, &x, &len));
	vstd_ovf_free(ovf);
	unsigned long n;
	for (n = 1; n < 100000; n++) {
		vstd_alloc_fail_nth(n);
		vstd_ovf *o = NULL;
		int rc = vstd_ovf_parse(&o, x, len, "a.ovf", NULL);
		vstd_ovf_report *rep = NULL;
		if (rc == 0)
			rc = vstd_ovf_validate(o, NULL, &rep);
		unsigned long used = vstd_alloc_fail_nth(0);
		vstd_ovf_report_free(rep);
		vstd_ovf_free(o);
		if (rc == 0 && used < n)
			break;
		ck_assert_msg(rc == 0 || rc == VSTD_ENOMEM, "allocation %lu: %d", n, rc);
	}
	ck_assert_uint_lt(n, 100000);
	vstd_ovf_buffer_free(x);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ovf_hostile");
	TCase *tc = tcase_create("hostile");
	tcase_add_test(tc, billion_laughs);
	tcase_add_test(tc, external_entities_and_dtds);
	tcase_add_test(tc, huge_attribute);
	tcase_add_test(tc, million_items);
	tcase_add_test(tc, deep_nesting);
	tcase_add_test(tc, overflowing_sizes);
	tcase_add_test(tc, not_ovf);
	tcase_add_test(tc, alloc_failures);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
