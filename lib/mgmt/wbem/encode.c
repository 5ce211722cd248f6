/*
 * mgmt/wbem/encode.c - writing DSP0201 CIM-XML responses.
 */
#include <string.h>
#include <strings.h>

#include "mgmt/wbem/wbem.h"

static const char *const status_names[] = {"CIM_ERR_OK",
                                           "CIM_ERR_FAILED",
                                           "CIM_ERR_ACCESS_DENIED",
                                           "CIM_ERR_INVALID_NAMESPACE",
                                           "CIM_ERR_INVALID_PARAMETER",
                                           "CIM_ERR_INVALID_CLASS",
                                           "CIM_ERR_NOT_FOUND",
                                           "CIM_ERR_NOT_SUPPORTED",
                                           "CIM_ERR_CLASS_HAS_CHILDREN",
                                           "CIM_ERR_CLASS_HAS_INSTANCES",
                                           "CIM_ERR_INVALID_SUPERCLASS",
                                           "CIM_ERR_ALREADY_EXISTS",
                                           "CIM_ERR_NO_SUCH_PROPERTY",
                                           "CIM_ERR_TYPE_MISMATCH",
                                           "CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED",
                                           "CIM_ERR_INVALID_QUERY",
                                           "CIM_ERR_METHOD_NOT_AVAILABLE",
                                           "CIM_ERR_METHOD_NOT_FOUND"};

const char *cim_status_name(int code)
{
	return code >= 0 && code <= 17 ? status_names[code] : "CIM_ERR_FAILED";
}

void enc_header(sbuf *b, const char *msg_id, int intrinsic, const char *method)
{
	sbuf_puts(b, "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n"
	             "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\">\n<MESSAGE ID=\"");
	sbuf_xml(b, msg_id);
	sbuf_puts(b, "\" PROTOCOLVERSION=\"1.0\">\n<SIMPLERSP>\n");
	sbuf_puts(b, intrinsic ? "<IMETHODRESPONSE NAME=\"" : "<METHODRESPONSE NAME=\"");
	sbuf_xml(b, method);
	sbuf_puts(b, "\">\n");
}

void enc_trailer(sbuf *b, int intrinsic)
{
	sbuf_puts(b, intrinsic ? "</IMETHODRESPONSE>\n" : "</METHODRESPONSE>\n");
	sbuf_puts(b, "</SIMPLERSP>\n</MESSAGE>\n</CIM>\n");
}

void enc_error(sbuf *b, int code, const char *desc)
{
	sbuf_printf(b, "<ERROR CODE=\"%d\" DESCRIPTION=\"", code);
	sbuf_xml(b, cim_status_name(code));
	if (desc && desc[0]) {
		sbuf_puts(b, ": ");
		sbuf_xml(b, desc);
	}
	sbuf_puts(b, "\"/>\n");
}

void enc_localnamespacepath(sbuf *b)
{
	sbuf_puts(b, "<LOCALNAMESPACEPATH><NAMESPACE NAME=\"root\"/>"
	             "<NAMESPACE NAME=\"virtualization\"/></LOCALNAMESPACEPATH>");
}

static void enc_keyvalue(sbuf *b, const struct cim_keybinding *k)
{
	sbuf_puts(b, "<KEYVALUE VALUETYPE=\"");
	sbuf_puts(b, k->value_type ? k->value_type : "string");
	sbuf_puts(b, "\">");
	sbuf_xml(b, k->value);
	sbuf_puts(b, "</KEYVALUE>");
}

static void enc_instancename_d(sbuf *b, const struct cim_path *p, int depth);

static void enc_ref_d(sbuf *b, const struct cim_path *p, const char *host, int depth)
{
	sbuf_puts(b, "<VALUE.REFERENCE>");
	if (host) {
		sbuf_puts(b, "<INSTANCEPATH><NAMESPACEPATH><HOST>");
		sbuf_xml(b, host);
		sbuf_puts(b, "</HOST>");
		enc_localnamespacepath(b);
		sbuf_puts(b, "</NAMESPACEPATH>");
		enc_instancename_d(b, p, depth + 1);
		sbuf_puts(b, "</INSTANCEPATH>");
	} else {
		enc_instancename_d(b, p, depth + 1);
	}
	sbuf_puts(b, "</VALUE.REFERENCE>");
}

static void enc_instancename_d(sbuf *b, const struct cim_path *p, int depth)
{
	sbuf_puts(b, "<INSTANCENAME CLASSNAME=\"");
	sbuf_xml(b, p->classname);
	sbuf_puts(b, "\">");
	for (int i = 0; i < p->n_keys && depth < 4; i++) {
		const struct cim_keybinding *k = &p->keys[i];
		sbuf_puts(b, "<KEYBINDING NAME=\"");
		sbuf_xml(b, k->name);
		sbuf_puts(b, "\">");
		if (k->ref)
			enc_ref_d(b, k->ref, NULL, depth);
		else
			enc_keyvalue(b, k);
		sbuf_puts(b, "</KEYBINDING>");
	}
	sbuf_puts(b, "</INSTANCENAME>");
}

void enc_instancename(sbuf *b, const struct cim_path *p)
{
	enc_instancename_d(b, p, 0);
}

void enc_instancepath(sbuf *b, const struct cim_path *p, const char *host)
{
	sbuf_puts(b, "<INSTANCEPATH><NAMESPACEPATH><HOST>");
	sbuf_xml(b, host ? host : "localhost");
	sbuf_puts(b, "</HOST>");
	enc_localnamespacepath(b);
	sbuf_puts(b, "</NAMESPACEPATH>");
	enc_instancename(b, p);
	sbuf_puts(b, "</INSTANCEPATH>");
}

void enc_value_reference(sbuf *b, const struct cim_path *p, const char *host)
{
	enc_ref_d(b, p, host, 0);
}

static int wanted(const struct cim_enc_opts *o, const char *name)
{
	if (o == NULL || o->props == NULL)
		return 1;
	for (size_t i = 0; i < o->n_props; i++)
		if (strcasecmp(o->props[i], name) == 0)
			return 1;
	return 0;
}

static void enc_qualifier(sbuf *b, const char *name, const char *type, const char *value)
{
	sbuf_printf(b, "<QUALIFIER NAME=\"%s\" TYPE=\"%s\"><VALUE>", name, type);
	sbuf_xml(b, value);
	sbuf_puts(b, "</VALUE></QUALIFIER>");
}

static void enc_qualifier_array(sbuf *b, const char *name, const char *list, char sep)
{
	sbuf_printf(b, "<QUALIFIER NAME=\"%s\" TYPE=\"string\"><VALUE.ARRAY>", name);
	const char *s = list;
	while (s && *s) {
		const char *e = strchr(s, sep);
		size_t l = e ? (size_t)(e - s) : strlen(s);
		sbuf_puts(b, "<VALUE>");
		char tmp[128];
		if (l >= sizeof(tmp))
			l = sizeof(tmp) - 1;
		memcpy(tmp, s, l);
		tmp[l] = 0;
		sbuf_xml(b, tmp);
		sbuf_puts(b, "</VALUE>");
		s = e ? e + 1 : NULL;
	}
	sbuf_puts(b, "</VALUE.ARRAY></QUALIFIER>");
}

static void enc_prop_quals(sbuf *b, const struct cim_prop *p, const struct cim_enc_opts *o)
{
	if (o == NULL || !o->qualifiers)
		return;
	if (p->flags & CIM_F_KEY)
		enc_qualifier(b, "Key", "boolean", "true");
	if (p->description)
		enc_qualifier(b, "Description", "string", p->description);
	if (p->flags & CIM_F_EMBEDDED)
		enc_qualifier(b, "EmbeddedInstance", "string", p->ref_class);
	if (p->value_map)
		enc_qualifier_array(b, "ValueMap", p->value_map, ',');
	if (p->values)
		enc_qualifier_array(b, "Values", p->values, '|');
}

static void enc_prop_open(sbuf *b, const char *elem, const struct cim_prop *p,
                          const struct cim_class *cls, const struct cim_enc_opts *o)
{
	/* names and types come from the class tables: no escaping needed */
	sbuf_puts(b, "<");
	sbuf_puts(b, elem);
	sbuf_puts(b, " NAME=\"");
	sbuf_puts(b, p->name);
	if (p->type == CIM_T_REF) {
		sbuf_puts(b, "\" REFERENCECLASS=\"");
		sbuf_puts(b, p->ref_class);
	} else {
		sbuf_puts(b, "\" TYPE=\"");
		sbuf_puts(b, cim_type_name(p->type));
	}
	if (o && o->class_origin) {
		sbuf_puts(b, "\" CLASSORIGIN=\"");
		sbuf_puts(b, cls->name);
	}
	sbuf_puts(b, "\">");
}

void enc_instance(sbuf *b, const struct cim_instance *in, const struct cim_enc_opts *o)
{
	const struct cim_class *cls = in->cls;
	sbuf_puts(b, "<INSTANCE CLASSNAME=\"");
	sbuf_puts(b, cls->name);
	sbuf_puts(b, "\">");
	for (size_t i = 0; i < cls->n_props; i++) {
		const struct cim_prop *p = &cls->props[i];
		const struct cim_value *v = &in->v[i];
		if (!wanted(o, p->name))
			continue;
		if (p->type == CIM_T_REF) {
			enc_prop_open(b, "PROPERTY.REFERENCE", p, cls, o);
			if (v->set && v->ref)
				enc_value_reference(b, v->ref, NULL);
			sbuf_puts(b, "</PROPERTY.REFERENCE>");
		} else if (p->flags & CIM_F_ARRAY) {
			enc_prop_open(b, "PROPERTY.ARRAY", p, cls, o);
			if (v->set) {
				sbuf_puts(b, "<VALUE.ARRAY>");
				for (size_t k = 0; k < v->n; k++) {
					sbuf_puts(b, "<VALUE>");
					sbuf_xml(b, v->a[k]);
					sbuf_puts(b, "</VALUE>");
				}
				sbuf_puts(b, "</VALUE.ARRAY>");
			}
			sbuf_puts(b, "</PROPERTY.ARRAY>");
		} else {
			enc_prop_open(b, "PROPERTY", p, cls, o);
			if (v->set) {
				sbuf_puts(b, "<VALUE>");
				sbuf_xml(b, v->s);
				sbuf_puts(b, "</VALUE>");
			}
			sbuf_puts(b, "</PROPERTY>");
		}
	}
	sbuf_puts(b, "</INSTANCE>");
}

static void enc_param(sbuf *b, const struct cim_prop *p, const struct cim_enc_opts *o)
{
	const char *elem =
	        p->type == CIM_T_REF
	                ? (p->flags & CIM_F_ARRAY ? "PARAMETER.REFARRAY" : "PARAMETER.REFERENCE")
	                : (p->flags & CIM_F_ARRAY ? "PARAMETER.ARRAY" : "PARAMETER");
	sbuf_printf(b, "<%s NAME=\"%s\"", elem, p->name);
	if (p->type == CIM_T_REF)
		sbuf_printf(b, " REFERENCECLASS=\"%s\"", p->ref_class);
	else
		sbuf_printf(b, " TYPE=\"%s\"", cim_type_name(p->type));
	sbuf_puts(b, ">");
	if (o && o->qualifiers) {
		enc_qualifier(b, "In", "boolean", p->flags & CIM_F_IN ? "true" : "false");
		if (p->flags & CIM_F_OUT)
			enc_qualifier(b, "Out", "boolean", "true");
		if (p->description)
			enc_qualifier(b, "Description", "string", p->description);
		if (p->flags & CIM_F_EMBEDDED)
			enc_qualifier(b, "EmbeddedInstance", "string", p->ref_class);
	}
	sbuf_printf(b, "</%s>", elem);
}

void enc_class(sbuf *b, const struct cim_class *cls, const struct cim_enc_opts *o)
{
	sbuf_printf(b, "<CLASS NAME=\"%s\" SUPERCLASS=\"%s\">", cls->name, cls->superclass);
	if (o && o->qualifiers) {
		if (cls->is_association)
			enc_qualifier(b, "Association", "boolean", "true");
		enc_qualifier(b, "Description", "string", cls->description);
	}
	for (size_t i = 0; i < cls->n_props; i++) {
		const struct cim_prop *p = &cls->props[i];
		if (!wanted(o, p->name))
			continue;
		const char *elem = p->type == CIM_T_REF     ? "PROPERTY.REFERENCE"
		                   : p->flags & CIM_F_ARRAY ? "PROPERTY.ARRAY"
		                                            : "PROPERTY";
		enc_prop_open(b, elem, p, cls, o);
		enc_prop_quals(b, p, o);
		sbuf_printf(b, "</%s>", elem);
	}
	for (size_t i = 0; i < cls->n_methods; i++) {
		const struct cim_method *m = &cls->methods[i];
		sbuf_printf(b, "<METHOD NAME=\"%s\" TYPE=\"%s\">", m->name,
		            cim_type_name(m->return_type));
		if (o && o->qualifiers && m->description)
			enc_qualifier(b, "Description", "string", m->description);
		for (size_t k = 0; k < m->n_params; k++)
			enc_param(b, &m->params[k], o);
		sbuf_puts(b, "</METHOD>");
	}
	sbuf_puts(b, "</CLASS>");
}
