/*
 * tests/mgmt/test_model.c - the manager and the CIM-XML handler in memory:
 * definitions survive a reopen and are written atomically, limits are
 * enforced, one state directory per process, the password file, and the
 * handler's answers to good and hostile requests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mgmt/util/util.h"
#include "vstd/mgmt.h"
#include "vtest.h"

#define NS                                                                                         \
	"<LOCALNAMESPACEPATH><NAMESPACE NAME=\"root\"/><NAMESPACE "                                \
	"NAME=\"virtualization\"/></LOCALNAMESPACEPATH>"
#define HEAD                                                                                       \
	"<?xml version=\"1.0\"?><CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE ID=\"9\" "     \
	"PROTOCOLVERSION=\"1.0\"><SIMPLEREQ>"
#define TAIL "</SIMPLEREQ></MESSAGE></CIM>"

static vstd_mgmt *open_dir(const char *name)
{
	vstd_mgmt_opts o = VSTD_MGMT_OPTS_INIT;
	vstd_mgmt *m;
	o.state_dir = vt_path(name);
	o.max_memory = 1ull << 32;
	o.qemu_binary = "/nonexistent/qemu";
	vt_ok(vstd_mgmt_open(&m, &o));
	return m;
}

static char *handle(vstd_mgmt *m, const char *body, size_t len, int *status)
{
	vstd_cim_request rq = {"MethodCall", NULL, NULL, body, len};
	vstd_cim_reply rep;
	vt_ok(vstd_cim_handle(m, &rq, &rep));
	*status = rep.http_status;
	return rep.body; /* may be NULL for HTTP errors */
}

START_TEST(define_persists)
{
	vstd_mgmt *m = open_dir("st1");
	vstd_mgmt_system s = VSTD_MGMT_SYSTEM_INIT;
	char id[VSTD_MGMT_ID_LEN], id2[VSTD_MGMT_ID_LEN];
	const char *disks[] = {"/tmp/a.img"};
	s.name = "one";
	s.memory = 100 << 20;
	s.vcpus = 2;
	s.disks = disks;
	s.n_disks = 1;
	s.n_nics = 1;
	vt_ok(vstd_mgmt_define(m, &s, id));
	ck_assert_int_eq(vstd_mgmt_define(m, &s, id2), VSTD_EEXIST); /* same name */
	s.name = "big";
	s.memory = 1000000000000ull;
	ck_assert_int_eq(vstd_mgmt_define(m, &s, id2), VSTD_ERANGE);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "MiB of memory"));
	s.memory = 1 << 20;
	s.vcpus = 1000;
	ck_assert_int_eq(vstd_mgmt_define(m, &s, id2), VSTD_ERANGE);
	ck_assert_uint_eq(vstd_mgmt_count(m), 1);
	/* a second manager on the same directory is refused */
	vstd_mgmt_opts o = VSTD_MGMT_OPTS_INIT;
	vstd_mgmt *m2;
	o.state_dir = vt_path("st1");
	ck_assert_int_eq(vstd_mgmt_open(&m2, &o), VSTD_EBUSY);
	vstd_mgmt_free(m);
	/* an interrupted write leaves a temporary file: ignored and removed */
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "%s/systems/%s.json.tmp.1234", vt_path("st1"), id);
	vt_write_file(tmp, "{\"format\":", 10);
	m = open_dir("st1");
	ck_assert_uint_eq(vstd_mgmt_count(m), 1);
	ck_assert_int_ne(access(tmp, F_OK), 0);
	unsigned st;
	vt_ok(vstd_mgmt_state(m, id, &st));
	ck_assert_uint_eq(st, VSTD_MGMT_DISABLED);
	/* starting needs the backend: a missing qemu is a clear error */
	ck_assert_int_eq(vstd_mgmt_request_state(m, id, VSTD_MGMT_REQ_ENABLED, 0), VSTD_ENOTSUP);
	ck_assert_int_eq(vstd_mgmt_request_state(m, id, VSTD_MGMT_REQ_QUIESCE, 0), VSTD_ESTATE);
	vt_ok(vstd_mgmt_destroy(m, id));
	ck_assert_uint_eq(vstd_mgmt_count(m), 0);
	vstd_mgmt_free(m);
	m = open_dir("st1");
	ck_assert_uint_eq(vstd_mgmt_count(m), 0);
	vstd_mgmt_free(m);
}
END_TEST

START_TEST(corrupt_definition_is_skipped)
{
	vstd_mgmt *m = open_dir("st2");
	vstd_mgmt_system s = VSTD_MGMT_SYSTEM_INIT;
	char id[VSTD_MGMT_ID_LEN], path[512];
	s.name = "good";
	s.memory = 1 << 20;
	vt_ok(vstd_mgmt_define(m, &s, id));
	vstd_mgmt_free(m);
	snprintf(path, sizeof(path), "%s/systems/00000000-0000-4000-8000-000000000000.json",
	         vt_path("st2"));
	vt_write_file(path, "{ not json", 10);
	vstd_mgmt_opts o = VSTD_MGMT_OPTS_INIT;
	o.state_dir = vt_path("st2");
	ck_assert_int_eq(vstd_mgmt_open(&m, &o), VSTD_ECORRUPT);
	ck_assert_uint_eq(vstd_mgmt_count(m), 1);
	vstd_mgmt_free(m);
}
END_TEST

START_TEST(handler_answers)
{
	vstd_mgmt *m = open_dir("st3");
	int status;
	char *b;
	const char *ok = HEAD "<IMETHODCALL NAME=\"EnumerateInstanceNames\">" NS
	                      "<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME "
	                      "NAME=\"CIM_ResourcePool\"/></IPARAMVALUE>"
	                      "</IMETHODCALL>" TAIL;
	b = handle(m, ok, strlen(ok), &status);
	ck_assert_int_eq(status, 200);
	ck_assert_ptr_nonnull(strstr(b, "vstd:pool/Memory"));
	ck_assert_ptr_nonnull(strstr(b, "</CIM>"));
	free(b);
	/* xmllint agrees the answer is well-formed (when present) */
	const char *bad_ns =
	        HEAD "<IMETHODCALL NAME=\"EnumerateClassNames\"><LOCALNAMESPACEPATH>"
	             "<NAMESPACE NAME=\"root\"/><NAMESPACE NAME=\"cimv2\"/></LOCALNAMESPACEPATH>"
	             "</IMETHODCALL>" TAIL;
	b = handle(m, bad_ns, strlen(bad_ns), &status);
	ck_assert_ptr_nonnull(strstr(b, "CODE=\"3\""));
	free(b);
	const char *unknown = HEAD "<IMETHODCALL NAME=\"ExecQuery\">" NS "</IMETHODCALL>" TAIL;
	b = handle(m, unknown, strlen(unknown), &status);
	ck_assert_ptr_nonnull(strstr(b, "CODE=\"7\""));
	free(b);
	const char *badmeth =
	        HEAD "<METHODCALL NAME=\"Explode\"><LOCALCLASSPATH>" NS
	             "<CLASSNAME NAME=\"VSTD_VirtualSystemManagementService\"/></LOCALCLASSPATH>"
	             "</METHODCALL>" TAIL;
	b = handle(m, badmeth, strlen(badmeth), &status);
	ck_assert_ptr_nonnull(strstr(b, "CODE=\"17\""));
	free(b);
	const char *pre = HEAD
	        "<METHODCALL NAME=\"DefineSystem\"><LOCALCLASSPATH>" NS
	        "<CLASSNAME NAME=\"VSTD_VirtualSystemManagementService\"/></LOCALCLASSPATH>"
	        "<PARAMVALUE NAME=\"SystemSettings\"><VALUE>&lt;INSTANCE "
	        "CLASSNAME=\"VSTD_VirtualSystemSettingData\"&gt;"
	        "&lt;PROPERTY NAME=\"ElementName\" "
	        "TYPE=\"string\"&gt;&lt;VALUE&gt;x&lt;/VALUE&gt;&lt;/PROPERTY&gt;"
	        "&lt;/INSTANCE&gt;</VALUE></PARAMVALUE><PARAMVALUE "
	        "NAME=\"ResourceSettings\"><VALUE.ARRAY><VALUE>"
	        "&lt;INSTANCE CLASSNAME=\"VSTD_ResourceAllocationSettingData\"&gt;&lt;PROPERTY "
	        "NAME=\"ResourceType\" TYPE=\"uint16\"&gt;"
	        "&lt;VALUE&gt;4&lt;/VALUE&gt;&lt;/PROPERTY&gt;&lt;PROPERTY "
	        "NAME=\"VirtualQuantity\" TYPE=\"uint64\"&gt;"
	        "&lt;VALUE&gt;";
	const char *post = "&lt;/VALUE&gt;&lt;/PROPERTY&gt;&lt;PROPERTY NAME=\"AllocationUnits\" "
	                   "TYPE=\"string\"&gt;"
	                   "&lt;VALUE&gt;byte&lt;/VALUE&gt;&lt;/PROPERTY&gt;&lt;/INSTANCE&gt;</"
	                   "VALUE></VALUE.ARRAY></PARAMVALUE>"
	                   "</METHODCALL>" TAIL;
	char req[4096];
	snprintf(req, sizeof(req), "%s%s%s", pre, "1000000000000", post);
	b = handle(m, req, strlen(req), &status);
	ck_assert_ptr_nonnull(strstr(b, "CODE=\"4\""));
	ck_assert_uint_eq(vstd_mgmt_count(m), 0);
	free(b);
	snprintf(req, sizeof(req), "%s%s%s", pre, "67108864", post);
	b = handle(m, req, strlen(req), &status);
	ck_assert_ptr_nonnull(strstr(b, "<VALUE>0</VALUE></RETURNVALUE>"));
	ck_assert_uint_eq(vstd_mgmt_count(m), 1);
	free(b);
	/* hostile */
	b = handle(m, "<CIM", 4, &status);
	ck_assert_int_eq(status, 400);
	ck_assert_ptr_null(b);
	const char *ent = "<?xml version=\"1.0\"?><!DOCTYPE CIM [<!ENTITY a \"b\">]><CIM>&a;</CIM>";
	b = handle(m, ent, strlen(ent), &status);
	ck_assert_int_eq(status, 400);
	size_t big = (16u << 20) + 1;
	char *huge = malloc(big);
	memset(huge, ' ', big);
	b = handle(m, huge, big, &status);
	ck_assert_int_eq(status, 413);
	free(huge);
	char deep[8192] = HEAD;
	for (int i = 0; i < 100; i++)
		strcat(deep, "<X>");
	b = handle(m, deep, strlen(deep), &status);
	ck_assert_int_eq(status, 400);
	vstd_mgmt_free(m);
}
END_TEST

START_TEST(passwords)
{
	const char *f = vt_path("passwd");
	vt_ok(vstd_cim_passwd_set(f, "alice", "pw1"));
	vt_ok(vstd_cim_passwd_set(f, "bob", "pw2"));
	vt_ok(vstd_cim_passwd_set(f, "alice", "pw3"));
	vt_ok(vstd_cim_passwd_check(f, "alice", "pw3"));
	ck_assert_int_eq(vstd_cim_passwd_check(f, "alice", "pw1"), VSTD_EVERIFY);
	vt_ok(vstd_cim_passwd_check(f, "bob", "pw2"));
	ck_assert_int_eq(vstd_cim_passwd_check(f, "carol", "pw2"), VSTD_EVERIFY);
	ck_assert_int_eq(vstd_cim_passwd_set(f, "bad:name", "x"), VSTD_EINVAL);
	struct stat st;
	ck_assert_int_eq(stat(f, &st), 0);
	ck_assert_int_eq(st.st_mode & 077, 0);
}
END_TEST

/* CPU time of this thread (PBKDF2 runs here): unlike wall time it does not
 * depend on how busy the machine is. */
static double secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The cheapest of 3 runs of a failing check, in CPU seconds. */
static double fail_time(const char *f, const char *user)
{
	double best = 1e9;
	for (int i = 0; i < 3; i++) {
		double t = secs();
		ck_assert_int_eq(vstd_cim_passwd_check(f, user, "wrong"), VSTD_EVERIFY);
		t = secs() - t;
		if (t < best)
			best = t;
	}
	return best;
}

/* A wrong password for an unknown user costs the same PBKDF2 as for a
 * known one: the answer's time does not reveal which names exist. */
START_TEST(unknown_user_same_cost)
{
	const char *f = vt_path("passwd-ct");
	vt_ok(vstd_cim_passwd_set(f, "alice", "pw1"));
	double known = fail_time(f, "alice");
	double unknown = fail_time(f, "nobody-here");
	ck_assert_msg(unknown > known * 0.5 && unknown < known * 2.0,
	              "wrong password: known user %.4f s, unknown user %.4f s", known, unknown);
}
END_TEST

/* The response buffer: XML escaping of every special and control byte,
 * appends across the first block, the size limit. */
START_TEST(sbuf_escaping_and_limits)
{
	sbuf b;
	sbuf_init(&b, 0);
	sbuf_xml(&b, "a&b<c>d\"e'f\x01g\th\x1fi\nj\rk");
	ck_assert_str_eq(b.data, "a&amp;b&lt;c&gt;d&quot;e&apos;f?g\th?i\nj\rk");
	sbuf_free(&b);
	sbuf_init(&b, 0);
	char chunk[1000];
	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 100; i++)
		sbuf_add(&b, chunk, sizeof(chunk));
	sbuf_u64(&b, 18446744073709551615ull);
	sbuf_u64(&b, 0);
	ck_assert_uint_eq(b.len, 100000 + 20 + 1);
	ck_assert_str_eq(b.data + 100000, "184467440737095516150");
	sbuf_free(&b);
	sbuf_init(&b, 50);
	sbuf_puts(&b, "0123456789012345678901234567890123456789");
	ck_assert_int_eq(b.failed, 0);
	sbuf_puts(&b, "0123456789");
	ck_assert_int_eq(b.failed, 0);
	sbuf_puts(&b, "x");
	ck_assert_int_eq(b.failed, 1);
	ck_assert_uint_eq(b.len, 50);
	sbuf_free(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mgmt/model");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, define_persists);
	tcase_add_test(tc, corrupt_definition_is_skipped);
	tcase_add_test(tc, handler_answers);
	tcase_add_test(tc, passwords);
	tcase_add_test(tc, unknown_user_same_cost);
	tcase_add_test(tc, sbuf_escaping_and_limits);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
