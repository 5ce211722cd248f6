/*
 * descriptor/ovf/xml.c - loading hostile XML safely with libxml2.
 *
 * The document is parsed from memory with:
 *  - XML_PARSE_NONET: nothing is ever fetched from the network;
 *  - no XML_PARSE_NOENT (entities are not substituted) and no
 *    XML_PARSE_DTDLOAD / DTDATTR / DTDVALID (no external DTD is read);
 *  - a SAX hook that stops the parse at the first <!ENTITY declaration and
 *    at any DOCTYPE naming an external subset, so billion-laughs and XXE
 *    documents are refused before any expansion happens;
 *  - a SAX hook that counts elements and watches the nesting depth, so a
 *    document with millions of elements is refused while it is read, not
 *    after it filled memory;
 *  - no XML_PARSE_HUGE: libxml2 keeps its own 10 MB limit on one text or
 *    attribute value, and our input limit bounds everything else.
 * libxml2 messages are captured (never printed) and the first one becomes
 * the vstd error, with its line.
 */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>

#include "core/error_internal.h"
#include "descriptor/ovf/ovf_internal.h"

#define OVF_DEFAULT_MAX_INPUT (32u << 20)
#define OVF_DEFAULT_MAX_ELEMENTS 1000000ul
#define OVF_DEFAULT_MAX_DEPTH 64u
#define OVF_DEFAULT_MAX_ITEMS 100000ul
#define OVF_DEFAULT_MAX_COLLECTION_DEPTH 16u
#define OVF_MAX_RUN (8u << 20)

void ovf_parse_opts_defaults(vstd_ovf_parse_opts *o, const vstd_ovf_parse_opts *in)
{
	vstd_ovf_parse_opts d = VSTD_OVF_PARSE_OPTS_INIT;
	if (in != NULL)
		d = *in;
	if (d.max_input == 0)
		d.max_input = OVF_DEFAULT_MAX_INPUT;
	if (d.max_elements == 0)
		d.max_elements = OVF_DEFAULT_MAX_ELEMENTS;
	if (d.max_depth == 0)
		d.max_depth = OVF_DEFAULT_MAX_DEPTH;
	if (d.max_items == 0)
		d.max_items = OVF_DEFAULT_MAX_ITEMS;
	if (d.max_collection_depth == 0)
		d.max_collection_depth = OVF_DEFAULT_MAX_COLLECTION_DEPTH;
	*o = d;
}

typedef struct xml_guard {
	const vstd_ovf_parse_opts *opts;
	unsigned long elements;
	unsigned long items;
	int refused; /* error code of a policy refusal, 0 if none */
	char why[400];
	int line;
	int have_xml_error;
	char xml_error[512];
	int xml_error_line;
} xml_guard;

static void guard_refuse(xmlParserCtxtPtr ctxt, xml_guard *g, int code, const char *why)
{
	if (g->refused == 0) {
		g->refused = code;
		snprintf(g->why, sizeof(g->why), "%s", why);
		g->line = ctxt->input != NULL ? ctxt->input->line : 0;
	}
	xmlStopParser(ctxt);
}

static void hook_internal_subset(void *ctx, const xmlChar *name, const xmlChar *external_id,
                                 const xmlChar *system_id)
{
	xmlParserCtxtPtr ctxt = ctx;
	xml_guard *g = ctxt->_private;
	if (external_id != NULL || system_id != NULL) {
		guard_refuse(
		        ctxt, g, VSTD_EPERM,
		        "DOCTYPE names an external DTD (refused: no external resource is loaded)");
		return;
	}
	xmlSAX2InternalSubset(ctx, name, external_id, system_id);
}

static void hook_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                             const xmlChar *system_id, xmlChar *content)
{
	xmlParserCtxtPtr ctxt = ctx;
	xml_guard *g = ctxt->_private;
	char why[300];
	snprintf(why, sizeof(why),
	         "DOCTYPE declares entity '%.64s' (refused: entity declarations allow "
	         "billion-laughs "
	         "expansion and external-entity (XXE) reads; OVF descriptors never need them)",
	         name != NULL ? (const char *)name : "?");
	guard_refuse(ctxt, g, VSTD_EPERM, why);
}

static void hook_ignore_decl(void *ctx, const xmlChar *name, const xmlChar *public_id,
                             const xmlChar *system_id)
{
	xmlParserCtxtPtr ctxt = ctx;
	guard_refuse(ctxt, ctxt->_private, VSTD_EPERM, "DOCTYPE declares a notation (refused)");
}

static void hook_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                       const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                       int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
	xmlParserCtxtPtr ctxt = ctx;
	xml_guard *g = ctxt->_private;
	char why[160];
	if (++g->elements > g->opts->max_elements) {
		snprintf(why, sizeof(why), "more than %lu elements (limit max_elements)",
		         g->opts->max_elements);
		guard_refuse(ctxt, g, VSTD_ELIMIT, why);
		return;
	}
	if (localname != NULL &&
	    (strcmp((const char *)localname, "Item") == 0 ||
	     strcmp((const char *)localname, "EthernetPortItem") == 0 ||
	     strcmp((const char *)localname, "StorageItem") == 0) &&
	    ++g->items > g->opts->max_items) {
		snprintf(why, sizeof(why), "more than %lu items (limit max_items)",
		         g->opts->max_items);
		guard_refuse(ctxt, g, VSTD_ELIMIT, why);
		return;
	}
	if ((unsigned)ctxt->nodeNr >= g->opts->max_depth) {
		snprintf(why, sizeof(why), "elements nested deeper than %u (limit max_depth)",
		         g->opts->max_depth);
		guard_refuse(ctxt, g, VSTD_ELIMIT, why);
		return;
	}
	xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
	                      nb_defaulted, attributes);
}

static void hook_reference(void *ctx, const xmlChar *name)
{
	/* An entity reference to an undeclared entity: keep nothing. */
	(void)ctx;
	(void)name;
}

static void hook_serror(void *user, xmlErrorPtr err)
{
	/* The parser passes its userData, which is the context itself. */
	xmlParserCtxtPtr ctxt = user;
	xml_guard *g = ctxt != NULL ? ctxt->_private : NULL;
	if (g == NULL)
		return;
	if (err == NULL || g->have_xml_error || err->level < XML_ERR_ERROR)
		return;
	g->have_xml_error = 1;
	snprintf(g->xml_error, sizeof(g->xml_error), "%s", err->message ? err->message : "error");
	size_t n = strlen(g->xml_error);
	while (n > 0 && (g->xml_error[n - 1] == '\n' || g->xml_error[n - 1] == ' '))
		g->xml_error[--n] = '\0';
	g->xml_error_line = err->line;
}

/* A document that says "utf-16" in its declaration but has no BOM and
 * ASCII bytes (XenCenter writes those). */
static int false_utf16(const unsigned char *p, size_t len)
{
	if (len < 6 || memcmp(p, "<?xml", 5) != 0)
		return 0;
	size_t lim = len < 200 ? len : 200;
	const unsigned char *end = memchr(p, '>', lim);
	if (end == NULL)
		return 0;
	for (const unsigned char *q = p; q + 6 <= end; q++)
		if (strncasecmp((const char *)q, "utf-16", 6) == 0)
			return 1;
	return 0;
}

int ovf_xml_read(xmlDocPtr *out, const void *data, size_t len, const char *name,
                 const vstd_ovf_parse_opts *opts, int *encoding_fixed)
{
	const char *nm = name != NULL ? name : "descriptor";
	xml_guard g;
	memset(&g, 0, sizeof(g));
	g.opts = opts;
	*encoding_fixed = 0;

	if (len > opts->max_input)
		return vstd_err(VSTD_ELIMIT,
		                "%s: descriptor is %zu bytes, more than the limit of %zu", nm, len,
		                opts->max_input);
	if (len > (size_t)INT32_MAX)
		return vstd_err(VSTD_ELIMIT, "%s: descriptor too large", nm);
	if (len == 0)
		return vstd_err(VSTD_ECORRUPT, "%s: empty descriptor", nm);

	/* No single attribute value or text run may exceed OVF_MAX_RUN: both
	 * end at the next '<', so the distance between two '<' bounds them.
	 * (libxml2 2.9 mishandles values past its own 10 MB limit.) */
	const unsigned char *p = data, *end = p + len;
	while (p < end) {
		const unsigned char *lt = memchr(p, '<', (size_t)(end - p));
		const unsigned char *stop = lt ? lt : end;
		if ((size_t)(stop - p) > OVF_MAX_RUN)
			return vstd_err(VSTD_ELIMIT,
			                "%s: a value or text of more than %u bytes at offset "
			                "0x%zx (limit of one attribute value or text node)",
			                nm, (unsigned)OVF_MAX_RUN,
			                (size_t)(p - (const unsigned char *)data));
		if (lt == NULL)
			break;
		p = lt + 1;
	}

	const char *encoding = NULL;
	if (false_utf16(data, len)) {
		if (opts->flags & VSTD_OVF_PARSE_STRICT_ENCODING)
			return vstd_err(VSTD_ECORRUPT,
			                "%s: line 1: XML declaration says UTF-16 but the bytes are "
			                "single-byte (XML 1.0 4.3.3)",
			                nm);
		encoding = "UTF-8";
		*encoding_fixed = 1;
	}

	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
	if (ctxt == NULL)
		return vstd_err(VSTD_ENOMEM, "%s: cannot create the XML parser", nm);
	ctxt->_private = &g;
	ctxt->sax->internalSubset = hook_internal_subset;
	ctxt->sax->entityDecl = hook_entity_decl;
	ctxt->sax->notationDecl = hook_ignore_decl;
	ctxt->sax->startElementNs = hook_start;
	ctxt->sax->reference = hook_reference;
	ctxt->sax->serror = hook_serror;
	ctxt->sax->error = NULL;
	ctxt->sax->warning = NULL;
	ctxt->vctxt.error = NULL;
	ctxt->vctxt.warning = NULL;

	int flags = XML_PARSE_NONET | XML_PARSE_BIG_LINES;
#ifdef XML_PARSE_NO_XXE
	flags |= XML_PARSE_NO_XXE;
#endif
	xmlDocPtr doc = xmlCtxtReadMemory(ctxt, data, (int)len, NULL, encoding, flags);
	/* xmlCtxtReadMemory may re-install the handler table: keep the guard
	 * result whatever happened. */
	int wellformed = ctxt->wellFormed;
	xmlFreeParserCtxt(ctxt);

	if (g.refused != 0) {
		xmlFreeDoc(doc);
		return vstd_err(g.refused, "%s: line %d: %s", nm, g.line, g.why);
	}
	if (doc == NULL || !wellformed) {
		xmlFreeDoc(doc);
		if (g.have_xml_error)
			return vstd_err(VSTD_ECORRUPT, "%s: line %d: not well-formed XML: %s", nm,
			                g.xml_error_line, g.xml_error);
		return vstd_err(VSTD_ECORRUPT, "%s: not well-formed XML", nm);
	}
	/* Belt and braces: no entity may have been declared at all. */
	if (doc->intSubset != NULL) {
		for (xmlNodePtr n = doc->intSubset->children; n != NULL; n = n->next) {
			if (n->type == XML_ENTITY_DECL) {
				xmlFreeDoc(doc);
				return vstd_err(VSTD_EPERM,
				                "%s: DOCTYPE declares entities (refused)", nm);
			}
		}
	}
	*out = doc;
	return 0;
}
