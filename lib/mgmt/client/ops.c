/*
 * mgmt/client/ops.c - the client's operations: build a CIM-XML request,
 * send it, read the answer (parsed like any input: no network, no
 * entities, bounded).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "mgmt/client/client.h"
#include "mgmt/util/util.h"

#define NS                                                                                         \
	"<LOCALNAMESPACEPATH><NAMESPACE NAME=\"root\"/><NAMESPACE "                                \
	"NAME=\"virtualization\"/></LOCALNAMESPACEPATH>"
#define HEAD                                                                                       \
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<CIM CIMVERSION=\"2.0\" "                     \
	"DTDVERSION=\"2.0\"><MESSAGE ID=\"1\" PROTOCOLVERSION=\"1.0\"><SIMPLEREQ>"
#define TAIL "</SIMPLEREQ></MESSAGE></CIM>\n"
#define VSMS_PATH                                                                                  \
	"<LOCALCLASSPATH>" NS                                                                      \
	"<CLASSNAME NAME=\"VSTD_VirtualSystemManagementService\"/></LOCALCLASSPATH>"

static int is(xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* Depth-first search for the first element named name. */
static xmlNode *find(xmlNode *n, const char *name, int depth)
{
	for (; n && depth < 40; n = n->next) {
		if (is(n, name))
			return n;
		xmlNode *r = find(n->children, name, depth + 1);
		if (r)
			return r;
	}
	return NULL;
}

static const char *attr(xmlNode *n, const char *name)
{
	xmlAttr *a = n ? xmlHasProp(n, (const xmlChar *)name) : NULL;
	return a && a->children ? (const char *)a->children->content : NULL;
}

static int code_from_cim(int cim)
{
	switch (cim) {
	case 6: return VSTD_ENOENT;
	case 4:
	case 5:
	case 13: return VSTD_EINVAL;
	case 11: return VSTD_EEXIST;
	case 7:
	case 16:
	case 17: return VSTD_ENOTSUP;
	case 2: return VSTD_EPERM;
	default: return VSTD_ERROR;
	}
}

/* Send, parse; *doc owned by the caller on success (CIM ERROR -> error code). */
static int call(vstd_cim_client *c, const char *method, const char *object, const char *body,
                xmlDoc **doc)
{
	int status;
	char *resp;
	size_t len;
	int rc = vstd_cim_client_call(c, method, object, body, strlen(body), &status, &resp, &len);
	if (rc < 0)
		return rc;
	if (status == 401) {
		vstd_free(resp);
		return vstd_err(VSTD_EPERM, "cim client: the server refused the user or password");
	}
	if (status != 200) {
		vstd_free(resp);
		return vstd_err(VSTD_ERROR, "cim client: the server answered HTTP %d", status);
	}
	if (len > INT32_MAX || memmem(resp, len, "<!ENTITY", 8)) {
		vstd_free(resp);
		return vstd_err(VSTD_ECORRUPT, "cim client: unacceptable response");
	}
	*doc = xmlReadMemory(resp, (int)len, "response", NULL,
	                     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	vstd_free(resp);
	if (*doc == NULL)
		return vstd_err(VSTD_ECORRUPT, "cim client: the response is not XML");
	xmlNode *err = find(xmlDocGetRootElement(*doc), "ERROR", 0);
	if (err) {
		const char *code = attr(err, "CODE"), *desc = attr(err, "DESCRIPTION");
		rc = vstd_err(code_from_cim(code ? atoi(code) : 1), "%s",
		              desc ? desc : "CIM error");
		xmlFreeDoc(*doc);
		*doc = NULL;
		return rc;
	}
	return 0;
}

static unsigned return_value(xmlDoc *doc)
{
	xmlNode *rv = find(xmlDocGetRootElement(doc), "RETURNVALUE", 0);
	xmlNode *v = rv ? find(rv->children, "VALUE", 0) : NULL;
	xmlChar *t = v ? xmlNodeGetContent(v) : NULL;
	unsigned r = t ? (unsigned)strtoul((const char *)t, NULL, 10) : 2;
	xmlFree(t);
	return r;
}

/* The text of KEYVALUE of key `key` anywhere under n. */
static int key_value(xmlNode *n, const char *key, char *out, size_t cap)
{
	for (xmlNode *kb = n; kb; kb = kb->next) {
		if (is(kb, "KEYBINDING") && attr(kb, "NAME") &&
		    strcasecmp(attr(kb, "NAME"), key) == 0) {
			xmlNode *kv = find(kb->children, "KEYVALUE", 0);
			xmlChar *t = kv ? xmlNodeGetContent(kv) : NULL;
			int ok = t && strlen((const char *)t) < cap;
			if (ok)
				strcpy(out, (const char *)t);
			xmlFree(t);
			return ok ? 0 : -1;
		}
		if (kb->children && key_value(kb->children, key, out, cap) == 0)
			return 0;
	}
	return -1;
}

static void prop_text(xmlNode *inst, const char *name, char *out, size_t cap)
{
	out[0] = 0;
	for (xmlNode *p = inst->children; p; p = p->next)
		if (is(p, "PROPERTY") && attr(p, "NAME") && strcmp(attr(p, "NAME"), name) == 0) {
			xmlNode *v = find(p->children, "VALUE", 0);
			xmlChar *t = v ? xmlNodeGetContent(v) : NULL;
			if (t)
				snprintf(out, cap, "%s", (const char *)t);
			xmlFree(t);
		}
}

int vstd_cim_client_systems(vstd_cim_client *c, vstd_cim_system_info **list, size_t *n)
{
	xmlDoc *doc;
	*list = NULL;
	*n = 0;
	int rc = call(c, "EnumerateInstances", "root%2Fvirtualization",
	              HEAD
	              "<IMETHODCALL NAME=\"EnumerateInstances\">" NS
	              "<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"VSTD_ComputerSystem\"/>"
	              "</IPARAMVALUE></IMETHODCALL>" TAIL,
	              &doc);
	if (rc < 0)
		return rc;
	xmlNode *ret = find(xmlDocGetRootElement(doc), "IRETURNVALUE", 0);
	size_t k = 0;
	for (xmlNode *i = ret ? ret->children : NULL; i; i = i->next)
		k += is(i, "VALUE.NAMEDINSTANCE");
	if (k > 100000) {
		xmlFreeDoc(doc);
		return vstd_err(VSTD_ELIMIT, "cim client: %zu systems listed", k);
	}
	vstd_cim_system_info *l = vstd_calloc(k ? k : 1, sizeof(*l));
	if (l == NULL) {
		xmlFreeDoc(doc);
		return vstd_err_code();
	}
	size_t j = 0;
	for (xmlNode *i = ret ? ret->children : NULL; i; i = i->next) {
		xmlNode *inst =
		        is(i, "VALUE.NAMEDINSTANCE") ? find(i->children, "INSTANCE", 0) : NULL;
		if (inst == NULL)
			continue;
		char t[32];
		prop_text(inst, "Name", l[j].id, sizeof(l[j].id));
		prop_text(inst, "ElementName", l[j].name, sizeof(l[j].name));
		prop_text(inst, "EnabledState", t, sizeof(t));
		l[j].enabled_state = (unsigned)strtoul(t, NULL, 10);
		prop_text(inst, "RequestedState", t, sizeof(t));
		l[j].requested_state = (unsigned)strtoul(t, NULL, 10);
		j++;
	}
	xmlFreeDoc(doc);
	*list = l;
	*n = j;
	return 0;
}

static int method(vstd_cim_client *c, const char *name, const char *params, xmlDoc **doc)
{
	sbuf b;
	sbuf_init(&b, 0);
	sbuf_printf(&b, HEAD "<METHODCALL NAME=\"%s\">" VSMS_PATH "%s</METHODCALL>" TAIL, name,
	            params);
	if (b.failed) {
		sbuf_free(&b);
		return VSTD_ENOMEM;
	}
	int rc = call(c, name, "root%2Fvirtualization%3AVSTD_VirtualSystemManagementService",
	              b.data, doc);
	sbuf_free(&b);
	if (rc == 0 && return_value(*doc) != 0 && return_value(*doc) != 4096) {
		rc = vstd_err(VSTD_ERROR, "cim client: %s returned %u", name, return_value(*doc));
		xmlFreeDoc(*doc);
	}
	return rc;
}

int vstd_cim_client_define_ovf(vstd_cim_client *c, const char *ovf_text, char id[VSTD_MGMT_ID_LEN])
{
	sbuf p;
	xmlDoc *doc;
	sbuf_init(&p, 0);
	sbuf_puts(&p, "<PARAMVALUE NAME=\"OVFDescriptor\" PARAMTYPE=\"string\"><VALUE>");
	sbuf_xml(&p, ovf_text);
	sbuf_puts(&p, "</VALUE></PARAMVALUE>");
	if (p.failed) {
		sbuf_free(&p);
		return VSTD_ENOMEM;
	}
	int rc = method(c, "DefineSystemFromOVF", p.data, &doc);
	sbuf_free(&p);
	if (rc < 0)
		return rc;
	if (key_value(xmlDocGetRootElement(doc), "Name", id, VSTD_MGMT_ID_LEN) < 0)
		rc = vstd_err(VSTD_ECORRUPT, "cim client: no ResultingSystem in the answer");
	xmlFreeDoc(doc);
	return rc;
}

static void cs_path(sbuf *b, const char *id)
{
	sbuf_puts(b, "<INSTANCENAME CLASSNAME=\"VSTD_ComputerSystem\"><KEYBINDING "
	             "NAME=\"CreationClassName\">"
	             "<KEYVALUE VALUETYPE=\"string\">VSTD_ComputerSystem</KEYVALUE></KEYBINDING>"
	             "<KEYBINDING NAME=\"Name\"><KEYVALUE VALUETYPE=\"string\">");
	sbuf_xml(b, id);
	sbuf_puts(b, "</KEYVALUE></KEYBINDING></INSTANCENAME>");
}

int vstd_cim_client_request_state(vstd_cim_client *c, const char *id, unsigned state,
                                  unsigned timeout_ms)
{
	sbuf b;
	xmlDoc *doc;
	char job[128];
	sbuf_init(&b, 0);
	sbuf_puts(&b, HEAD "<METHODCALL NAME=\"RequestStateChange\"><LOCALINSTANCEPATH>" NS);
	cs_path(&b, id);
	sbuf_printf(&b,
	            "</LOCALINSTANCEPATH><PARAMVALUE NAME=\"RequestedState\" PARAMTYPE=\"uint16\">"
	            "<VALUE>%u</VALUE></PARAMVALUE></METHODCALL>" TAIL,
	            state);
	int rc = b.failed ? VSTD_ENOMEM
	                  : call(c, "RequestStateChange", "root%2Fvirtualization", b.data, &doc);
	sbuf_free(&b);
	if (rc < 0)
		return rc;
	unsigned rv = return_value(doc);
	if (rv != 4096 && rv != 0) {
		xmlFreeDoc(doc);
		return vstd_err(rv == 4097   ? VSTD_ESTATE
		                : rv == 4099 ? VSTD_EBUSY
		                             : VSTD_ERROR,
		                "cim client: RequestStateChange(%u) returned %u%s", state, rv,
		                rv == 4097   ? " (invalid state transition)"
		                : rv == 4099 ? " (busy)"
		                             : "");
	}
	rc = key_value(xmlDocGetRootElement(doc), "InstanceID", job, sizeof(job));
	xmlFreeDoc(doc);
	if (rv == 0 || timeout_ms == 0 || rc < 0)
		return 0;
	/* poll the job */
	struct timespec ts = {0, 50 * 1000 * 1000};
	for (unsigned waited = 0; waited <= timeout_ms; waited += 50) {
		sbuf_init(&b, 0);
		sbuf_puts(&b, HEAD "<IMETHODCALL NAME=\"GetInstance\">" NS
		                   "<IPARAMVALUE NAME=\"InstanceName\">"
		                   "<INSTANCENAME CLASSNAME=\"VSTD_ConcreteJob\"><KEYBINDING "
		                   "NAME=\"InstanceID\">"
		                   "<KEYVALUE VALUETYPE=\"string\">");
		sbuf_xml(&b, job);
		sbuf_puts(
		        &b,
		        "</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE></IMETHODCALL>" TAIL);
		rc = b.failed ? VSTD_ENOMEM
		              : call(c, "GetInstance", "root%2Fvirtualization", b.data, &doc);
		sbuf_free(&b);
		if (rc < 0)
			return rc;
		char st[16], desc[512];
		xmlNode *inst = find(xmlDocGetRootElement(doc), "INSTANCE", 0);
		if (inst) {
			prop_text(inst, "JobState", st, sizeof(st));
			prop_text(inst, "ErrorDescription", desc, sizeof(desc));
		} else {
			st[0] = 0;
		}
		xmlFreeDoc(doc);
		if (strcmp(st, "7") == 0)
			return 0;
		if (strcmp(st, "10") == 0)
			return vstd_err(VSTD_EIO, "cim client: the job failed: %s", desc);
		nanosleep(&ts, NULL);
	}
	return vstd_err(VSTD_EBUSY, "cim client: job %s still running after %u ms", job,
	                timeout_ms);
}

int vstd_cim_client_destroy(vstd_cim_client *c, const char *id)
{
	sbuf p;
	xmlDoc *doc;
	sbuf_init(&p, 0);
	sbuf_puts(&p,
	          "<PARAMVALUE NAME=\"AffectedSystem\" PARAMTYPE=\"reference\"><VALUE.REFERENCE>");
	cs_path(&p, id);
	sbuf_puts(&p, "</VALUE.REFERENCE></PARAMVALUE>");
	int rc = p.failed ? VSTD_ENOMEM : method(c, "DestroySystem", p.data, &doc);
	sbuf_free(&p);
	if (rc == 0)
		xmlFreeDoc(doc);
	return rc;
}

static void embedded(sbuf *p, const char *cls, const char *const *kv, size_t n)
{
	sbuf e;
	sbuf_init(&e, 0);
	sbuf_printf(&e, "<INSTANCE CLASSNAME=\"%s\">", cls);
	for (size_t i = 0; i + 1 < n; i += 2) {
		sbuf_printf(&e, "<PROPERTY NAME=\"%s\" TYPE=\"string\"><VALUE>", kv[i]);
		sbuf_xml(&e, kv[i + 1]);
		sbuf_puts(&e, "</VALUE></PROPERTY>");
	}
	sbuf_puts(&e, "</INSTANCE>");
	sbuf_puts(p, "<VALUE>");
	sbuf_xml(p, e.data);
	sbuf_puts(p, "</VALUE>");
	sbuf_free(&e);
}

int vstd_cim_client_modify(vstd_cim_client *c, const char *id, const char *name,
                           uint64_t memory_mib, unsigned vcpus)
{
	xmlDoc *doc;
	char iid[64], num[32], rid[128];
	int rc = 0;
	snprintf(iid, sizeof(iid), "vstd:%s", id);
	if (name) {
		sbuf p;
		const char *kv[] = {"InstanceID", iid, "ElementName", name};
		sbuf_init(&p, 0);
		sbuf_puts(&p, "<PARAMVALUE NAME=\"SystemSettings\" PARAMTYPE=\"string\">");
		embedded(&p, "VSTD_VirtualSystemSettingData", kv, 4);
		sbuf_puts(&p, "</PARAMVALUE>");
		rc = p.failed ? VSTD_ENOMEM : method(c, "ModifySystemSettings", p.data, &doc);
		sbuf_free(&p);
		if (rc < 0)
			return rc;
		xmlFreeDoc(doc);
	}
	for (int pass = 0; pass < 2; pass++) {
		uint64_t q = pass ? vcpus : memory_mib;
		unsigned type = pass ? 3 : 4;
		if (q == 0)
			continue;
		/* find the RASD of that type through the VSSD's components */
		sbuf b;
		sbuf_init(&b, 0);
		sbuf_puts(&b, HEAD
		          "<IMETHODCALL NAME=\"Associators\">" NS
		          "<IPARAMVALUE NAME=\"ObjectName\">"
		          "<INSTANCENAME CLASSNAME=\"VSTD_VirtualSystemSettingData\"><KEYBINDING "
		          "NAME=\"InstanceID\">"
		          "<KEYVALUE VALUETYPE=\"string\">");
		sbuf_xml(&b, iid);
		sbuf_puts(&b, "</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE><IPARAMVALUE "
		              "NAME=\"AssocClass\">"
		              "<CLASSNAME "
		              "NAME=\"VSTD_VirtualSystemSettingDataComponent\"/></IPARAMVALUE></"
		              "IMETHODCALL>" TAIL);
		rc = b.failed ? VSTD_ENOMEM
		              : call(c, "Associators", "root%2Fvirtualization", b.data, &doc);
		sbuf_free(&b);
		if (rc < 0)
			return rc;
		rid[0] = 0;
		for (xmlNode *o = find(xmlDocGetRootElement(doc), "VALUE.OBJECTWITHPATH", 0); o;
		     o = o->next) {
			xmlNode *inst = is(o, "VALUE.OBJECTWITHPATH")
			                        ? find(o->children, "INSTANCE", 0)
			                        : NULL;
			char t[16];
			if (inst == NULL)
				continue;
			prop_text(inst, "ResourceType", t, sizeof(t));
			if ((unsigned)atoi(t) == type)
				prop_text(inst, "InstanceID", rid, sizeof(rid));
		}
		xmlFreeDoc(doc);
		if (rid[0] == 0)
			return vstd_err(VSTD_ENOENT, "cim client: system %s has no %s allocation",
			                id, pass ? "processor" : "memory");
		snprintf(num, sizeof(num), "%llu", (unsigned long long)q);
		const char *kv[] = {"InstanceID", rid, "VirtualQuantity", num};
		sbuf p;
		sbuf_init(&p, 0);
		sbuf_puts(
		        &p,
		        "<PARAMVALUE NAME=\"ResourceSettings\" PARAMTYPE=\"string\"><VALUE.ARRAY>");
		embedded(&p, "VSTD_ResourceAllocationSettingData", kv, 4);
		sbuf_puts(&p, "</VALUE.ARRAY></PARAMVALUE>");
		rc = p.failed ? VSTD_ENOMEM : method(c, "ModifyResourceSettings", p.data, &doc);
		sbuf_free(&p);
		if (rc < 0)
			return rc;
		xmlFreeDoc(doc);
	}
	return 0;
}
