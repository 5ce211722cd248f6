/*
 * mgmt/wbem/ops.c - the intrinsic operations of DSP0200 5.3.2: GetClass,
 * EnumerateClasses, EnumerateClassNames, GetInstance, EnumerateInstances,
 * EnumerateInstanceNames, Associators, AssociatorNames, References,
 * ReferenceNames.  Create/Modify/DeleteInstance and the rest are refused
 * with CIM_ERR_NOT_SUPPORTED: systems change through the service methods.
 */
#include <string.h>
#include <strings.h>

#include "core/error_internal.h"
#include "mgmt/wbem/wbem.h"

static void fail(struct wbem_ctx *c, int code, const char *desc)
{
	enc_error(c->out, code, desc);
}

static int property_list(struct wbem_ctx *c, const struct cim_req *req, struct cim_enc_opts *o)
{
	xmlNode *pl = cimxml_param(req, "PropertyList");
	o->props = NULL;
	o->n_props = 0;
	if (pl == NULL)
		return 0;
	const char **v;
	size_t n;
	if (cimxml_param_array(c->ar, pl, &v, &n) < 0)
		return -1;
	/* an IPARAMVALUE PropertyList with no VALUE.ARRAY means NULL: all */
	if (v == NULL)
		return 0;
	o->props = v;
	o->n_props = n;
	return 0;
}

static void enc_opts(struct wbem_ctx *c, const struct cim_req *req, struct cim_enc_opts *o,
                     int qual_default)
{
	memset(o, 0, sizeof(*o));
	o->qualifiers = cimxml_param_bool(c->ar, req, "IncludeQualifiers", qual_default);
	o->class_origin = cimxml_param_bool(c->ar, req, "IncludeClassOrigin", 0);
	o->host = c->host;
	property_list(c, req, o);
}

/* A CLASSNAME parameter naming a class we know; errors written. */
static const char *class_param(struct wbem_ctx *c, const struct cim_req *req, const char *pname,
                               int required)
{
	xmlNode *p = cimxml_param(req, pname);
	const char *cn = p ? cimxml_classname(p) : NULL;
	if (cn == NULL) {
		if (required)
			fail(c, CIM_ERR_INVALID_PARAMETER,
			     arena_printf(c->ar, "parameter %s (a CLASSNAME) is required", pname));
		return NULL;
	}
	if (!cim_class_known(cn)) {
		fail(c, CIM_ERR_INVALID_CLASS,
		     arena_printf(c->ar, "class %s does not exist in root/virtualization", cn));
		return NULL;
	}
	return cn;
}

static void op_get_class(struct wbem_ctx *c, const struct cim_req *req)
{
	struct cim_enc_opts o;
	xmlNode *p = cimxml_param(req, "ClassName");
	const char *cn = p ? cimxml_classname(p) : NULL;
	const struct cim_class *cls = cim_class_find(cn);
	if (cn == NULL)
		return fail(c, CIM_ERR_INVALID_PARAMETER, "ClassName is required");
	if (cls == NULL)
		return fail(
		        c, CIM_ERR_NOT_FOUND,
		        arena_printf(c->ar, "class %s is not defined in root/virtualization", cn));
	enc_opts(c, req, &o, 1);
	sbuf_puts(c->out, "<IRETURNVALUE>");
	enc_class(c->out, cls, &o);
	sbuf_puts(c->out, "</IRETURNVALUE>\n");
}

static void op_enum_classes(struct wbem_ctx *c, const struct cim_req *req, int names)
{
	struct cim_enc_opts o;
	xmlNode *p = cimxml_param(req, "ClassName");
	const char *cn = p ? cimxml_classname(p) : NULL;
	if (cn && !cim_class_known(cn))
		return fail(
		        c, CIM_ERR_INVALID_CLASS,
		        arena_printf(c->ar, "class %s does not exist in root/virtualization", cn));
	enc_opts(c, req, &o, 1);
	sbuf_puts(c->out, "<IRETURNVALUE>");
	for (size_t i = 0; cim_classes[i]; i++) {
		const struct cim_class *cls = cim_classes[i];
		/* the VSTD classes are the roots of this namespace; a DMTF parent
		 * name selects the VSTD classes derived from it */
		if (cn && (strcasecmp(cls->name, cn) == 0 || !cim_class_is_a(cls, cn)))
			continue;
		if (names)
			sbuf_printf(c->out, "<CLASSNAME NAME=\"%s\"/>", cls->name);
		else
			enc_class(c->out, cls, &o);
	}
	sbuf_puts(c->out, "</IRETURNVALUE>\n");
}

static void op_enum_instances(struct wbem_ctx *c, const struct cim_req *req, int names)
{
	struct cim_enc_opts o;
	struct inst_list l = {0};
	const char *cn = class_param(c, req, "ClassName", 1);
	if (cn == NULL)
		return;
	enc_opts(c, req, &o, 0);
	o.qualifiers = 0;
	o.class_origin = 0;
	if (prov_enumerate(c->m, c->ar, cn, &l) < 0)
		return fail(c, CIM_ERR_FAILED, vstd_error_last()->message);
	sbuf_puts(c->out, "<IRETURNVALUE>");
	for (size_t i = 0; i < l.n; i++) {
		struct cim_path *p = cim_inst_path(l.v[i]);
		if (p == NULL)
			break;
		if (names) {
			enc_instancename(c->out, p);
		} else {
			sbuf_puts(c->out, "<VALUE.NAMEDINSTANCE>");
			enc_instancename(c->out, p);
			enc_instance(c->out, l.v[i], &o);
			sbuf_puts(c->out, "</VALUE.NAMEDINSTANCE>");
		}
	}
	sbuf_puts(c->out, "</IRETURNVALUE>\n");
}

/* Validate an instance path: known class, exactly its key set.  Errors written. */
static const struct cim_class *check_path(struct wbem_ctx *c, const struct cim_path *p)
{
	const struct cim_class *cls = cim_class_find(p->classname);
	int nkeys = 0;
	if (cls == NULL) {
		fail(c, cim_class_known(p->classname) ? CIM_ERR_NOT_FOUND : CIM_ERR_INVALID_CLASS,
		     arena_printf(c->ar, "class %s has no instances here", p->classname));
		return NULL;
	}
	for (size_t i = 0; i < cls->n_props; i++)
		if (cls->props[i].flags & CIM_F_KEY) {
			nkeys++;
			int found = 0;
			for (int k = 0; k < p->n_keys; k++)
				found |= strcasecmp(p->keys[k].name, cls->props[i].name) == 0;
			if (!found && !(p->n_keys == 1 && p->keys[0].name[0] == 0 && nkeys == 1)) {
				fail(c, CIM_ERR_INVALID_PARAMETER,
				     arena_printf(c->ar, "instance path of %s lacks key %s",
				                  cls->name, cls->props[i].name));
				return NULL;
			}
		}
	if (p->n_keys != nkeys) {
		fail(c, CIM_ERR_INVALID_PARAMETER,
		     arena_printf(c->ar, "instance path of %s has %d keys, the class has %d",
		                  cls->name, p->n_keys, nkeys));
		return NULL;
	}
	return cls;
}

static void op_get_instance(struct wbem_ctx *c, const struct cim_req *req)
{
	struct cim_enc_opts o;
	xmlNode *pn = cimxml_param(req, "InstanceName");
	struct cim_path *p = pn ? cimxml_reference(c->ar, pn, 0) : NULL;
	if (p == NULL || p->n_keys == 0)
		return fail(c, CIM_ERR_INVALID_PARAMETER,
		            "InstanceName (an INSTANCENAME) is required");
	if (check_path(c, p) == NULL)
		return;
	struct cim_instance *in = prov_get(c->m, c->ar, p);
	if (in == NULL)
		return fail(c, CIM_ERR_NOT_FOUND, vstd_error_last()->message);
	enc_opts(c, req, &o, 0);
	o.qualifiers = 0;
	o.class_origin = 0;
	sbuf_puts(c->out, "<IRETURNVALUE>");
	enc_instance(c->out, in, &o);
	sbuf_puts(c->out, "</IRETURNVALUE>\n");
}

/* ------------------------------------------------------------ associations */

static const char *param_str(struct wbem_ctx *c, const struct cim_req *req, const char *name)
{
	xmlNode *p = cimxml_param(req, name);
	if (p == NULL)
		return NULL;
	const char *cn = cimxml_classname(p);
	return cn ? cn : cimxml_param_text(c->ar, p);
}

static void op_assoc(struct wbem_ctx *c, const struct cim_req *req, int associators, int names)
{
	struct cim_enc_opts o;
	struct inst_list assocs = {0};
	xmlNode *on = cimxml_param(req, "ObjectName");
	struct cim_path *obj = on ? cimxml_reference(c->ar, on, 0) : NULL;
	const char *assoc_class = param_str(c, req, associators ? "AssocClass" : "ResultClass");
	const char *result_class = associators ? param_str(c, req, "ResultClass") : NULL;
	const char *role = param_str(c, req, "Role");
	const char *result_role = associators ? param_str(c, req, "ResultRole") : NULL;
	if (obj == NULL)
		return fail(c, CIM_ERR_INVALID_PARAMETER, "ObjectName is required");
	if (obj->n_keys == 0)
		return fail(c, CIM_ERR_NOT_SUPPORTED,
		            "class-level association queries are not "
		            "supported; name an instance");
	if (check_path(c, obj) == NULL)
		return;
	if (assoc_class && !cim_class_known(assoc_class))
		return fail(c, CIM_ERR_INVALID_PARAMETER,
		            arena_printf(c->ar, "no association class %s", assoc_class));
	if (result_class && !cim_class_known(result_class))
		return fail(c, CIM_ERR_INVALID_PARAMETER,
		            arena_printf(c->ar, "no class %s", result_class));
	if (prov_get(c->m, c->ar, obj) == NULL)
		return fail(c, CIM_ERR_NOT_FOUND, vstd_error_last()->message);
	enc_opts(c, req, &o, 0);
	o.qualifiers = 0;
	o.class_origin = 0;
	for (size_t i = 0; cim_classes[i]; i++) {
		const struct cim_class *cls = cim_classes[i];
		if (!cls->is_association || (assoc_class && !cim_class_is_a(cls, assoc_class)))
			continue;
		if (prov_enumerate(c->m, c->ar, cls->name, &assocs) < 0)
			return fail(c, CIM_ERR_FAILED, vstd_error_last()->message);
	}
	struct cim_path **seen = arena_array(c->ar, assocs.n + 1, sizeof(*seen));
	size_t n_seen = 0;
	if (seen == NULL)
		return fail(c, CIM_ERR_FAILED, "out of memory");
	sbuf_puts(c->out, "<IRETURNVALUE>");
	for (size_t i = 0; i < assocs.n; i++) {
		struct cim_instance *a = assocs.v[i];
		if (a->cls != cim_class_find(a->cls->name))
			continue;
		/* which end is obj? */
		for (size_t k = 0; k < a->cls->n_props; k++) {
			const struct cim_prop *pk = &a->cls->props[k];
			if (pk->type != CIM_T_REF || !a->v[k].set ||
			    !cim_path_equal(a->v[k].ref, obj))
				continue;
			if (role && strcasecmp(role, pk->name) != 0)
				continue;
			if (!associators) {
				struct cim_path *ap = cim_inst_path(a);
				if (names) {
					sbuf_puts(c->out, "<OBJECTPATH>");
					enc_instancepath(c->out, ap, c->host);
					sbuf_puts(c->out, "</OBJECTPATH>");
				} else {
					sbuf_puts(c->out, "<VALUE.OBJECTWITHPATH>");
					enc_instancepath(c->out, ap, c->host);
					enc_instance(c->out, a, &o);
					sbuf_puts(c->out, "</VALUE.OBJECTWITHPATH>");
				}
				break;
			}
			for (size_t j = 0; j < a->cls->n_props; j++) {
				const struct cim_prop *pj = &a->cls->props[j];
				if (j == k || pj->type != CIM_T_REF || !a->v[j].set)
					continue;
				if (result_role && strcasecmp(result_role, pj->name) != 0)
					continue;
				struct cim_path *other = a->v[j].ref;
				const struct cim_class *oc = cim_class_find(other->classname);
				if (oc == NULL ||
				    (result_class && !cim_class_is_a(oc, result_class)))
					continue;
				/* an object reached through two associations is returned once */
				int dup = 0;
				for (size_t d = 0; d < n_seen && !dup; d++)
					dup = cim_path_equal(seen[d], other);
				if (dup)
					continue;
				if (n_seen < assocs.n)
					seen[n_seen++] = other;
				if (names) {
					sbuf_puts(c->out, "<OBJECTPATH>");
					enc_instancepath(c->out, other, c->host);
					sbuf_puts(c->out, "</OBJECTPATH>");
					continue;
				}
				struct cim_instance *oi = prov_get(c->m, c->ar, other);
				if (oi == NULL)
					continue;
				sbuf_puts(c->out, "<VALUE.OBJECTWITHPATH>");
				enc_instancepath(c->out, other, c->host);
				enc_instance(c->out, oi, &o);
				sbuf_puts(c->out, "</VALUE.OBJECTWITHPATH>");
			}
			break;
		}
	}
	sbuf_puts(c->out, "</IRETURNVALUE>\n");
}

void wbem_intrinsic(struct wbem_ctx *c, const struct cim_req *req)
{
	const char *m = req->method;
	if (strcasecmp(m, "GetClass") == 0)
		op_get_class(c, req);
	else if (strcasecmp(m, "EnumerateClasses") == 0)
		op_enum_classes(c, req, 0);
	else if (strcasecmp(m, "EnumerateClassNames") == 0)
		op_enum_classes(c, req, 1);
	else if (strcasecmp(m, "GetInstance") == 0)
		op_get_instance(c, req);
	else if (strcasecmp(m, "EnumerateInstances") == 0)
		op_enum_instances(c, req, 0);
	else if (strcasecmp(m, "EnumerateInstanceNames") == 0)
		op_enum_instances(c, req, 1);
	else if (strcasecmp(m, "Associators") == 0)
		op_assoc(c, req, 1, 0);
	else if (strcasecmp(m, "AssociatorNames") == 0)
		op_assoc(c, req, 1, 1);
	else if (strcasecmp(m, "References") == 0)
		op_assoc(c, req, 0, 0);
	else if (strcasecmp(m, "ReferenceNames") == 0)
		op_assoc(c, req, 0, 1);
	else
		fail(c, CIM_ERR_NOT_SUPPORTED,
		     arena_printf(c->ar,
		                  "operation %s is not supported (systems change through "
		                  "VSTD_VirtualSystemManagementService methods)",
		                  m));
}
