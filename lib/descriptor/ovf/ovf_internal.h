/*
 * descriptor/ovf/ovf_internal.h - the parsed document and helpers shared by
 * the OVF parser, validator, writer and translators.
 */
#ifndef VSTD_DESCRIPTOR_OVF_INTERNAL_H
#define VSTD_DESCRIPTOR_OVF_INTERNAL_H

#include <libxml/tree.h>

#include "vstd/ovf.h"

/* Envelope namespaces (DSP0243 5.x, Annex C). */
#define OVF_NS_V1 "http://schemas.dmtf.org/ovf/envelope/1"
#define OVF_NS_V2 "http://schemas.dmtf.org/ovf/envelope/2"
#define OVF_NS_V09_VMW "http://www.vmware.com/schema/ovf/1/envelope"
#define OVF_NS_V09_DRAFT "http://schemas.dmtf.org/ovf/envelope"
#define OVF_NS_ENV_V1 "http://schemas.dmtf.org/ovf/environment/1"
#define OVF_NS_RASD                                                                                \
	"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
#define OVF_NS_VSSD "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
#define OVF_NS_EPASD                                                                               \
	"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_EthernetPortAllocationSettingData"
#define OVF_NS_SASD                                                                                \
	"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_StorageAllocationSettingData"
#define OVF_NS_XSI "http://www.w3.org/2001/XMLSchema-instance"
#define OVF_NS_CIM "http://schemas.dmtf.org/wbem/wscim/1/common"

/* A bump allocator: every string and array of the model lives here. */
typedef struct ovf_arena_chunk {
	struct ovf_arena_chunk *next;
	size_t used, size;
	unsigned char data[];
} ovf_arena_chunk;

typedef struct ovf_arena {
	ovf_arena_chunk *head;
} ovf_arena;

void *ovf_arena_alloc(ovf_arena *a, size_t size);
char *ovf_arena_strdup(ovf_arena *a, const char *s);
void ovf_arena_free(ovf_arena *a);

/* Growable array used while building the model (elements copied into the arena at the end). */
typedef struct ovf_vec {
	void *data;
	size_t n, cap, elem;
} ovf_vec;

int ovf_vec_push(ovf_vec *v, const void *elem);
void *ovf_vec_finish(ovf_vec *v, ovf_arena *a); /* copies into the arena, frees v */
void ovf_vec_free(ovf_vec *v);

struct vstd_ovf {
	xmlDocPtr doc;
	xmlNodePtr envelope;
	char *name;
	const char *ns; /* envelope namespace (points into doc) */
	int version;
	int encoding_fixed; /* a false utf-16 declaration was overridden */
	ovf_arena arena;
	vstd_ovf_model model;
	vstd_ovf_parse_opts opts;
};

/* Safe XML loading (xml.c). */
int ovf_xml_read(xmlDocPtr *out, const void *data, size_t len, const char *name,
                 const vstd_ovf_parse_opts *opts, int *encoding_fixed);
/* Fill opts defaults. */
void ovf_parse_opts_defaults(vstd_ovf_parse_opts *o, const vstd_ovf_parse_opts *in);

/* Build the model of a freshly loaded document (parse.c). */
int ovf_model_build(vstd_ovf *ovf);
/* Wrap a loaded doc into a vstd_ovf (takes the doc). */
int ovf_from_doc(vstd_ovf **out, xmlDocPtr doc, const char *name, const vstd_ovf_parse_opts *opts,
                 int encoding_fixed);

/* Element helpers (model.c). */
int ovf_is_ovf_ns(const vstd_ovf *ovf, const xmlNode *n);
/* The section kind: local name, or for 0.9 <Section xsi:type="ovf:X_Type">, "X". */
const char *ovf_kind(const xmlNode *n, char *buf, size_t size);
int ovf_is(const vstd_ovf *ovf, const xmlNode *n, const char *kind);
/* Attribute in the envelope namespace (or unqualified as lax fallback). */
char *ovf_attr(const vstd_ovf *ovf, const xmlNode *n, const char *name); /* xmlFree it */
/* Text of the first child element with the local name, trimmed; xmlFree it. */
char *ovf_child_text(const xmlNode *n, const char *local);
xmlNodePtr ovf_first_child(const xmlNode *n, const char *local);
int ovf_parse_u64(const char *s, uint64_t *out);
int ovf_parse_bool(const char *s, int *out);
unsigned ovf_line(const xmlNode *n);

#endif
