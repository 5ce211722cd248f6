/*
 * mgmt/wbem/request.c - parsing CIM-XML operation requests (DSP0200 5.3,
 * DSP0201).  The body is hostile: size is checked before parsing, a
 * document type with entity declarations is refused before libxml2 sees
 * it, libxml2 runs with no network and no entity substitution, and the
 * element tree is walked with a depth bound.
 */
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "mgmt/wbem/wbem.h"

static const char *attr(xmlNode *n, const char *name)
{
	for (xmlAttr *a = n->properties; a; a = a->next)
		if (strcmp((const char *)a->name, name) == 0 && a->children &&
		    a->children->type == XML_TEXT_NODE)
			return (const char *)a->children->content;
		else if (strcmp((const char *)a->name, name) == 0)
			return "";
	return NULL;
}

static int is(xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static xmlNode *child(xmlNode *n, const char *name)
{
	for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (is(c, name))
			return c;
	return NULL;
}

static xmlNode *first_elem(xmlNode *n)
{
	for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return c;
	return NULL;
}

static int depth_ok(xmlNode *n, int depth)
{
	if (depth > CIMXML_MAX_DEPTH)
		return 0;
	for (xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !depth_ok(c, depth + 1))
			return 0;
		else if (c->type == XML_ENTITY_REF_NODE || c->type == XML_ENTITY_NODE)
			return 0;
	return 1;
}

/* Text content of an element (concatenated text children), in the arena. */
static const char *text_of(arena *ar, xmlNode *n)
{
	size_t len = 0;
	/* wbemcli sends embedded instances as markup inside VALUE instead of
	 * escaped text: hand the markup back as text */
	for (xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE) {
			xmlBuffer *xb = xmlBufferCreate();
			const char *r = NULL;
			if (xb == NULL)
				return NULL;
			for (xmlNode *d = n->children; d; d = d->next)
				if (xmlNodeDump(xb, n->doc, d, 0, 0) < 0)
					break;
			if (xmlBufferLength(xb) >= 0 &&
			    (size_t)xmlBufferLength(xb) <= VSTD_CIM_MAX_REQUEST)
				r = arena_strndup(ar, (const char *)xmlBufferContent(xb),
				                  (size_t)xmlBufferLength(xb));
			xmlBufferFree(xb);
			return r;
		}
	for (xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE)
			len += strlen((const char *)c->content);
	char *s = arena_alloc(ar, len + 1), *p = s;
	if (s == NULL)
		return NULL;
	for (xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
			size_t l = strlen((const char *)c->content);
			memcpy(p, c->content, l);
			p += l;
		}
	*p = 0;
	return s;
}

static const char *namespace_of(arena *ar, xmlNode *lnp)
{
	sbuf b;
	size_t len;
	int first = 1;
	sbuf_init(&b, 4096);
	for (xmlNode *c = lnp ? lnp->children : NULL; c; c = c->next) {
		if (!is(c, "NAMESPACE"))
			continue;
		const char *nm = attr(c, "NAME");
		if (!first)
			sbuf_puts(&b, "/");
		sbuf_puts(&b, nm ? nm : "");
		first = 0;
	}
	char *s = sbuf_take(&b, &len);
	const char *r = s ? arena_strndup(ar, s, len) : "";
	sbuf_free(&b);
	vstd_free(s);
	return r;
}

static int libxml_init_done;

static xmlDoc *safe_parse(const void *body, size_t len)
{
	/* refuse entity declarations outright: CIM-XML never needs them */
	if (len >= 8 && memmem(body, len, "<!ENTITY", 8) != NULL)
		return NULL;
	if (!libxml_init_done) {
		xmlInitParser();
		libxml_init_done = 1;
	}
	int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
	xmlDoc *doc = xmlReadMemory(body, (int)len, "cimxml", NULL, opts);
	if (doc == NULL)
		return NULL;
	xmlDtd *dtd = xmlGetIntSubset(doc);
	if ((dtd && dtd->entities) || doc->extSubset || xmlDocGetRootElement(doc) == NULL ||
	    !depth_ok(xmlDocGetRootElement(doc), 0)) {
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

int cimxml_parse(arena *ar, const void *body, size_t len, struct cim_req *req,
                 const char **cim_error, int *http)
{
	memset(req, 0, sizeof(*req));
	*http = 400;
	*cim_error = "request-not-well-formed";
	if (len > VSTD_CIM_MAX_REQUEST) {
		*http = 413;
		return vstd_err(VSTD_ELIMIT, "cimxml: request of %zu bytes exceeds %u", len,
		                VSTD_CIM_MAX_REQUEST);
	}
	if (len == 0 || len > INT32_MAX)
		return vstd_err(VSTD_ECORRUPT, "cimxml: empty request");
	req->doc = safe_parse(body, len);
	if (req->doc == NULL)
		return vstd_err(VSTD_ECORRUPT,
		                "cimxml: request is not well-formed XML (or uses "
		                "entities, or nests deeper than %d)",
		                CIMXML_MAX_DEPTH);
	*cim_error = "request-not-valid";
	xmlNode *cim = xmlDocGetRootElement(req->doc);
	xmlNode *msg = child(cim, "MESSAGE");
	if (!is(cim, "CIM") || msg == NULL)
		return vstd_err(VSTD_ECORRUPT, "cimxml: root is not CIM/MESSAGE");
	req->msg_id = attr(msg, "ID");
	if (req->msg_id == NULL || attr(msg, "PROTOCOLVERSION") == NULL)
		return vstd_err(VSTD_ECORRUPT, "cimxml: MESSAGE lacks ID or PROTOCOLVERSION");
	xmlNode *sreq = child(msg, "SIMPLEREQ");
	if (sreq == NULL) {
		*cim_error = child(msg, "MULTIREQ") ? "unsupported-operation" : "request-not-valid";
		return vstd_err(VSTD_ENOTSUP, "cimxml: only SIMPLEREQ is supported");
	}
	xmlNode *call = child(sreq, "IMETHODCALL");
	if (call) {
		req->intrinsic = 1;
		req->ns = namespace_of(ar, child(call, "LOCALNAMESPACEPATH"));
	} else if ((call = child(sreq, "METHODCALL")) != NULL) {
		xmlNode *lip = child(call, "LOCALINSTANCEPATH"),
		        *lcp = child(call, "LOCALCLASSPATH");
		if (lip) {
			req->ns = namespace_of(ar, child(lip, "LOCALNAMESPACEPATH"));
			req->target = cimxml_instancename(ar, child(lip, "INSTANCENAME"), 0);
		} else if (lcp) {
			req->ns = namespace_of(ar, child(lcp, "LOCALNAMESPACEPATH"));
			xmlNode *cn = child(lcp, "CLASSNAME");
			const char *name = cn ? attr(cn, "NAME") : NULL;
			req->target = name ? cim_path_new(ar, arena_strdup(ar, name)) : NULL;
			req->target_is_class = 1;
		}
		if (req->target == NULL)
			return vstd_err(VSTD_ECORRUPT,
			                "cimxml: METHODCALL without a valid target path");
	} else {
		return vstd_err(VSTD_ECORRUPT, "cimxml: SIMPLEREQ holds no (I)METHODCALL");
	}
	req->method = attr(call, "NAME");
	if (req->method == NULL || req->method[0] == 0)
		return vstd_err(VSTD_ECORRUPT, "cimxml: method call without NAME");
	for (xmlNode *c = call->children; c; c = c->next) {
		if (!is(c, req->intrinsic ? "IPARAMVALUE" : "PARAMVALUE"))
			continue;
		if (req->n_params >= CIMXML_MAX_PARAMS)
			return vstd_err(VSTD_ELIMIT, "cimxml: more than %d parameters",
			                CIMXML_MAX_PARAMS);
		const char *nm = attr(c, "NAME");
		if (nm == NULL)
			return vstd_err(VSTD_ECORRUPT, "cimxml: parameter without NAME");
		req->params[req->n_params].name = nm;
		req->params[req->n_params].node = c;
		req->n_params++;
	}
	*cim_error = NULL;
	*http = 200;
	return 0;
}

void cimxml_req_free(struct cim_req *req)
{
	if (req->doc)
		xmlFreeDoc(req->doc);
	req->doc = NULL;
}

xmlNode *cimxml_param(const struct cim_req *req, const char *name)
{
	for (int i = 0; i < req->n_params; i++)
		if (strcasecmp(req->params[i].name, name) == 0)
			return req->params[i].node;
	return NULL;
}

const char *cimxml_param_text(arena *ar, xmlNode *pv)
{
	xmlNode *v = child(pv, "VALUE");
	return v ? text_of(ar, v) : NULL;
}

int cimxml_param_array(arena *ar, xmlNode *pv, const char ***out, size_t *n)
{
	xmlNode *va = child(pv, "VALUE.ARRAY");
	size_t k = 0, i = 0;
	*out = NULL;
	*n = 0;
	if (va == NULL) {
		/* a single VALUE is accepted as a one-element array */
		const char *t = cimxml_param_text(ar, pv);
		if (t == NULL)
			return 0;
		*out = arena_array(ar, 1, sizeof(char *));
		if (*out == NULL)
			return VSTD_ENOMEM;
		(*out)[0] = t;
		*n = 1;
		return 0;
	}
	for (xmlNode *c = va->children; c; c = c->next)
		k += is(c, "VALUE");
	if (k > 4096)
		return vstd_err(VSTD_ELIMIT, "cimxml: array of %zu values (limit 4096)", k);
	*out = arena_array(ar, k ? k : 1, sizeof(char *));
	if (*out == NULL)
		return VSTD_ENOMEM;
	for (xmlNode *c = va->children; c; c = c->next)
		if (is(c, "VALUE"))
			(*out)[i++] = text_of(ar, c);
	*n = i;
	return 0;
}

const char *cimxml_classname(xmlNode *pv)
{
	xmlNode *cn = child(pv, "CLASSNAME");
	return cn ? attr(cn, "NAME") : NULL;
}

static struct cim_path *instancepath_any(arena *ar, xmlNode *n, int depth)
{
	if (is(n, "INSTANCENAME"))
		return cimxml_instancename(ar, n, depth);
	if (is(n, "INSTANCEPATH") || is(n, "LOCALINSTANCEPATH"))
		return cimxml_instancename(ar, child(n, "INSTANCENAME"), depth);
	if (is(n, "CLASSNAME") && attr(n, "NAME"))
		return cim_path_new(ar, arena_strdup(ar, attr(n, "NAME")));
	if (is(n, "CLASSPATH") || is(n, "LOCALCLASSPATH")) {
		xmlNode *cn = child(n, "CLASSNAME");
		return cn && attr(cn, "NAME") ? cim_path_new(ar, arena_strdup(ar, attr(cn, "NAME")))
		                              : NULL;
	}
	return NULL;
}

struct cim_path *cimxml_instancename(arena *ar, xmlNode *n, int depth)
{
	if (!is(n, "INSTANCENAME") || depth > 4)
		return NULL;
	const char *cn = attr(n, "CLASSNAME");
	if (cn == NULL || cn[0] == 0)
		return NULL;
	struct cim_path *p = cim_path_new(ar, arena_strdup(ar, cn));
	if (p == NULL)
		return NULL;
	for (xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (p->n_keys >= CIM_MAX_KEYS)
			return NULL;
		struct cim_keybinding *k = &p->keys[p->n_keys];
		xmlNode *kv;
		if (is(c, "KEYBINDING")) {
			k->name = attr(c, "NAME");
			if (k->name == NULL)
				return NULL;
			kv = first_elem(c);
		} else if (is(c, "KEYVALUE") || is(c, "VALUE.REFERENCE")) {
			k->name = ""; /* single unnamed key */
			kv = c;
		} else {
			return NULL;
		}
		if (is(kv, "KEYVALUE")) {
			const char *vt = attr(kv, "VALUETYPE");
			k->value = text_of(ar, kv);
			k->value_type = vt ? vt : "string";
		} else if (is(kv, "VALUE.REFERENCE")) {
			k->ref = instancepath_any(ar, first_elem(kv), depth + 1);
			if (k->ref == NULL)
				return NULL;
		} else {
			return NULL;
		}
		p->n_keys++;
	}
	return p;
}

struct cim_path *cimxml_reference(arena *ar, xmlNode *pv, int depth)
{
	xmlNode *vr = child(pv, "VALUE.REFERENCE");
	if (vr == NULL) {
		/* IPARAMVALUE ObjectName/InstanceName hold INSTANCENAME or CLASSNAME directly */
		xmlNode *e = first_elem(pv);
		return e ? instancepath_any(ar, e, depth) : NULL;
	}
	return instancepath_any(ar, first_elem(vr), depth);
}

int cimxml_refarray(arena *ar, xmlNode *pv, struct cim_path ***out, size_t *n)
{
	xmlNode *ra = child(pv, "VALUE.REFARRAY");
	size_t k = 0, i = 0;
	*n = 0;
	*out = NULL;
	if (ra == NULL) {
		struct cim_path *p = cimxml_reference(ar, pv, 0);
		if (p == NULL)
			return 0;
		*out = arena_array(ar, 1, sizeof(**out));
		if (*out == NULL)
			return VSTD_ENOMEM;
		(*out)[0] = p;
		*n = 1;
		return 0;
	}
	for (xmlNode *c = ra->children; c; c = c->next)
		k += is(c, "VALUE.REFERENCE");
	if (k > 4096)
		return vstd_err(VSTD_ELIMIT, "cimxml: reference array of %zu (limit 4096)", k);
	*out = arena_array(ar, k ? k : 1, sizeof(**out));
	if (*out == NULL)
		return VSTD_ENOMEM;
	for (xmlNode *c = ra->children; c; c = c->next)
		if (is(c, "VALUE.REFERENCE")) {
			struct cim_path *p = instancepath_any(ar, first_elem(c), 0);
			if (p == NULL)
				return vstd_err(VSTD_ECORRUPT, "cimxml: bad reference in array");
			(*out)[i++] = p;
		}
	*n = i;
	return 0;
}

int cimxml_param_bool(arena *ar, const struct cim_req *req, const char *name, int def)
{
	xmlNode *p = cimxml_param(req, name);
	const char *t = p ? cimxml_param_text(ar, p) : NULL;
	if (t == NULL)
		return def;
	return strcasecmp(t, "true") == 0;
}

int cimxml_embedded_instance(arena *ar, const char *text, struct cim_pinst *out)
{
	memset(out, 0, sizeof(*out));
	if (text == NULL)
		return vstd_err(VSTD_EINVAL, "cimxml: missing embedded instance");
	size_t len = strlen(text);
	xmlDoc *doc = safe_parse(text, len);
	if (doc == NULL)
		return vstd_err(VSTD_ECORRUPT, "cimxml: embedded instance is not well-formed "
		                               "CIM-XML");
	xmlNode *in = xmlDocGetRootElement(doc);
	int rc = 0;
	if (!is(in, "INSTANCE") || attr(in, "CLASSNAME") == NULL) {
		rc = vstd_err(VSTD_ECORRUPT, "cimxml: embedded object is not an INSTANCE");
		goto out;
	}
	out->classname = arena_strdup(ar, attr(in, "CLASSNAME"));
	for (xmlNode *c = in->children; c; c = c->next) {
		int arr = is(c, "PROPERTY.ARRAY");
		if (!is(c, "PROPERTY") && !arr && !is(c, "PROPERTY.REFERENCE"))
			continue;
		if (out->n >= (int)(sizeof(out->props) / sizeof(out->props[0]))) {
			rc = vstd_err(VSTD_ELIMIT,
			              "cimxml: embedded instance has too many properties");
			goto out;
		}
		const char *nm = attr(c, "NAME");
		if (nm == NULL) {
			rc = vstd_err(VSTD_ECORRUPT, "cimxml: embedded PROPERTY without NAME");
			goto out;
		}
		struct cim_pprop *p = &out->props[out->n++];
		p->name = arena_strdup(ar, nm);
		p->is_array = arr;
		if (arr) {
			if ((rc = cimxml_param_array(ar, c, &p->a, &p->n)) < 0)
				goto out;
		} else {
			p->value = cimxml_param_text(ar, c);
		}
	}
	if (ar->failed)
		rc = VSTD_ENOMEM;
out:
	xmlFreeDoc(doc);
	return rc;
}

const struct cim_pprop *cimxml_pinst_get(const struct cim_pinst *pi, const char *name)
{
	for (int i = 0; i < pi->n; i++)
		if (strcasecmp(pi->props[i].name, name) == 0)
			return &pi->props[i];
	return NULL;
}
