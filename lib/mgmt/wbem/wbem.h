/*
 * mgmt/wbem/wbem.h - DSP0200/DSP0201 CIM-XML: the request parser (hardened
 * libxml2 parse, bounded size and depth, no network, no entities), the
 * response encoder, the operation dispatch and the extrinsic methods.
 */
#ifndef VSTD_MGMT_WBEM_H
#define VSTD_MGMT_WBEM_H

#include <libxml/tree.h>

#include "mgmt/providers/providers.h"

#define CIMXML_MAX_DEPTH 40
#define CIMXML_MAX_PARAMS 32

/* CIM status codes (DSP0200 / DSP0201). */
enum {
	CIM_ERR_FAILED = 1,
	CIM_ERR_ACCESS_DENIED = 2,
	CIM_ERR_INVALID_NAMESPACE = 3,
	CIM_ERR_INVALID_PARAMETER = 4,
	CIM_ERR_INVALID_CLASS = 5,
	CIM_ERR_NOT_FOUND = 6,
	CIM_ERR_NOT_SUPPORTED = 7,
	CIM_ERR_ALREADY_EXISTS = 11,
	CIM_ERR_TYPE_MISMATCH = 13,
	CIM_ERR_METHOD_NOT_AVAILABLE = 16,
	CIM_ERR_METHOD_NOT_FOUND = 17
};

struct cim_param {
	const char *name;
	xmlNode *node; /* the IPARAMVALUE / PARAMVALUE element */
};

struct cim_req {
	xmlDoc *doc;
	const char *msg_id;
	int intrinsic; /* IMETHODCALL (1) or METHODCALL (0) */
	const char *method;
	const char *ns;          /* "root/virtualization" */
	struct cim_path *target; /* METHODCALL: instance path, or class path with no keys */
	int target_is_class;
	struct cim_param params[CIMXML_MAX_PARAMS];
	int n_params;
};

/* An instance as a client sent it (embedded instance, INSTANCE element). */
struct cim_pprop {
	const char *name;
	const char *value; /* scalar; NULL when NULL or array */
	const char **a;
	size_t n;
	int is_array;
};

struct cim_pinst {
	const char *classname;
	struct cim_pprop props[96];
	int n;
};

/* Parse a request body.  On failure returns <0 and sets *cim_error to a
 * DSP0200 CIMError header value ("request-not-well-formed", "request-not-
 * valid", "unsupported-operation") and *http to the status. */
int cimxml_parse(arena *ar, const void *body, size_t len, struct cim_req *req,
                 const char **cim_error, int *http);
void cimxml_req_free(struct cim_req *req);

/* Parameter access (NULL when absent). */
xmlNode *cimxml_param(const struct cim_req *req, const char *name);
/* The text of the VALUE child of a (I)PARAMVALUE, or NULL. */
const char *cimxml_param_text(arena *ar, xmlNode *pv);
/* VALUE.ARRAY of a PARAMVALUE: texts. */
int cimxml_param_array(arena *ar, xmlNode *pv, const char ***out, size_t *n);
/* A CLASSNAME child's NAME, an INSTANCENAME, a VALUE.REFERENCE child. */
const char *cimxml_classname(xmlNode *pv);
struct cim_path *cimxml_instancename(arena *ar, xmlNode *node, int depth);
struct cim_path *cimxml_reference(arena *ar, xmlNode *pv, int depth);
int cimxml_refarray(arena *ar, xmlNode *pv, struct cim_path ***out, size_t *n);
/* Booleans of IPARAMVALUEs with a default. */
int cimxml_param_bool(arena *ar, const struct cim_req *req, const char *name, int def);
/* Parse an embedded instance text (CIM-XML INSTANCE). */
int cimxml_embedded_instance(arena *ar, const char *text, struct cim_pinst *out);
const struct cim_pprop *cimxml_pinst_get(const struct cim_pinst *pi, const char *name);

/* ------------------------------------------------------------ encoder */
struct cim_enc_opts {
	const char *const *props; /* PropertyList or NULL: all */
	size_t n_props;
	int qualifiers;
	int class_origin;
	const char *host;
};

void enc_header(sbuf *b, const char *msg_id, int intrinsic, const char *method);
void enc_trailer(sbuf *b, int intrinsic);
void enc_error(sbuf *b, int code, const char *desc);
void enc_instancename(sbuf *b, const struct cim_path *p);
void enc_instancepath(sbuf *b, const struct cim_path *p, const char *host);
void enc_value_reference(sbuf *b, const struct cim_path *p, const char *host);
void enc_instance(sbuf *b, const struct cim_instance *in, const struct cim_enc_opts *o);
void enc_class(sbuf *b, const struct cim_class *cls, const struct cim_enc_opts *o);
void enc_localnamespacepath(sbuf *b);
const char *cim_status_name(int code);

/* ------------------------------------------------------------ operations */
struct wbem_ctx {
	vstd_mgmt *m;
	arena *ar;
	sbuf *out;
	const char *host;
};

/* Run an intrinsic operation: writes IMETHODRESPONSE content or an ERROR. */
void wbem_intrinsic(struct wbem_ctx *c, const struct cim_req *req);
/* Run an extrinsic method: writes METHODRESPONSE content or an ERROR. */
void wbem_extrinsic(struct wbem_ctx *c, const struct cim_req *req);

#endif
