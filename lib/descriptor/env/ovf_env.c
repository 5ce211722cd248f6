/*
 * descriptor/env/ovf_env.c - the OVF environment document (DSP0243 11.1,
 * schema DSP8027): what a guest reads at boot to learn the values of its
 * ProductSection properties.
 *
 *   <Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" oe:id="vm">
 *     <PlatformSection> Kind Version Vendor Locale </PlatformSection>
 *     <PropertySection> <Property oe:key="k" oe:value="v"/> ... </PropertySection>
 *   </Environment>
 *
 * Keys are written as DSP0243 9.5 qualifies them: "class.key.instance",
 * with the class and instance parts left out when the ProductSection has
 * none.  A value given by the user must be for a user-configurable
 * property and must suit its type and MinLen/MaxLen/ValueMap qualifiers.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "descriptor/ovf/ovf_internal.h"

static char *qualified_key(const vstd_ovf_product *p, const vstd_ovf_property *pr)
{
	int has_class = p->class_name != NULL && p->class_name[0] != '\0';
	int has_inst = p->instance != NULL && p->instance[0] != '\0';
	return vstd_asprintf("%s%s%s%s%s", has_class ? p->class_name : "", has_class ? "." : "",
	                     pr->key, has_inst ? "." : "", has_inst ? p->instance : "");
}

static int qualifier_number(const char *q, const char *name, uint64_t *out)
{
	const char *p = q ? strstr(q, name) : NULL;
	if (p == NULL)
		return 0;
	p += strlen(name);
	if (*p != '(')
		return 0;
	*out = strtoull(p + 1, NULL, 10);
	return 1;
}

static int check_value(const vstd_ovf_property *pr, const char *key, const char *value)
{
	const char *type = pr->type ? pr->type : "string";
	uint64_t n;
	if (strncmp(type, "uint", 4) == 0 || strncmp(type, "sint", 4) == 0) {
		const char *p = value;
		if (type[0] == 's' && *p == '-')
			p++;
		if (*p == '\0')
			return vstd_err(VSTD_EINVAL, "property '%s': '%s' is not a %s", key, value,
			                type);
		for (; *p; p++)
			if (!isdigit((unsigned char)*p))
				return vstd_err(VSTD_EINVAL, "property '%s': '%s' is not a %s", key,
				                value, type);
	} else if (strcmp(type, "boolean") == 0) {
		if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
			return vstd_err(VSTD_EINVAL, "property '%s': '%s' is not true or false",
			                key, value);
	}
	if (qualifier_number(pr->qualifiers, "MaxLen", &n) && strlen(value) > n)
		return vstd_err(VSTD_EINVAL, "property '%s': value longer than MaxLen(%" PRIu64 ")",
		                key, n);
	if (qualifier_number(pr->qualifiers, "MinLen", &n) && strlen(value) < n)
		return vstd_err(VSTD_EINVAL,
		                "property '%s': value shorter than MinLen(%" PRIu64 ")", key, n);
	const char *vm = pr->qualifiers ? strstr(pr->qualifiers, "ValueMap{") : NULL;
	if (vm != NULL) {
		/* ValueMap{"a", "b"}: the value must be one of them */
		const char *end = strchr(vm, '}');
		int found = 0;
		for (const char *p = vm + 9; end != NULL && p < end; p++) {
			if (*p != '"')
				continue;
			const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
			if (q == NULL)
				break;
			if ((size_t)(q - p - 1) == strlen(value) &&
			    strncmp(p + 1, value, strlen(value)) == 0)
				found = 1;
			p = q;
		}
		if (end != NULL && !found)
			return vstd_err(VSTD_EINVAL, "property '%s': '%s' is not in its ValueMap",
			                key, value);
	}
	return 0;
}

static int add_property(xmlNodePtr sec, xmlNsPtr oe, const char *key, const char *value)
{
	xmlNodePtr p = xmlNewChild(sec, NULL, (const xmlChar *)"Property", NULL);
	if (p == NULL ||
	    xmlNewNsProp(p, oe, (const xmlChar *)"key", (const xmlChar *)key) == NULL ||
	    xmlNewNsProp(p, oe, (const xmlChar *)"value", (const xmlChar *)(value ? value : "")) ==
	            NULL)
		return VSTD_ENOMEM;
	return 0;
}

int vstd_ovf_env_build(const vstd_ovf *ovf, const char *vm_id, const char *const *keys,
                       const char *const *values, size_t n, char **xml, size_t *len)
{
	if (ovf == NULL || xml == NULL || len == NULL ||
	    (n > 0 && (keys == NULL || values == NULL)))
		return vstd_err(VSTD_EINVAL, "vstd_ovf_env_build: NULL argument");
	const vstd_vm *vm = vstd_ovf_find_vm(ovf, vm_id);
	if (vm == NULL)
		return vstd_err(VSTD_ENOENT, "%s: no VirtualSystem%s%s", vstd_ovf_name(ovf),
		                vm_id ? " with id " : "", vm_id ? vm_id : "");
	/* Every user value must name a property. */
	unsigned char *used = n ? vstd_calloc(n, 1) : NULL;
	if (n && used == NULL)
		return VSTD_ENOMEM;
	xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNodePtr env =
	        doc ? xmlNewDocNode(doc, NULL, (const xmlChar *)"Environment", NULL) : NULL;
	int rc = env ? 0 : VSTD_ENOMEM;
	xmlNsPtr def = NULL, oe = NULL;
	if (rc == 0) {
		xmlDocSetRootElement(doc, env);
		def = xmlNewNs(env, (const xmlChar *)OVF_NS_ENV_V1, NULL);
		oe = xmlNewNs(env, (const xmlChar *)OVF_NS_ENV_V1, (const xmlChar *)"oe");
		if (def == NULL || oe == NULL)
			rc = VSTD_ENOMEM;
		xmlSetNs(env, def);
		if (rc == 0 && vm->id != NULL &&
		    xmlNewNsProp(env, oe, (const xmlChar *)"id", (const xmlChar *)vm->id) == NULL)
			rc = VSTD_ENOMEM;
	}
	if (rc == 0) {
		xmlNodePtr plat = xmlNewChild(env, NULL, (const xmlChar *)"PlatformSection", NULL);
		if (plat == NULL ||
		    !xmlNewChild(plat, NULL, (const xmlChar *)"Kind", (const xmlChar *)"vstd") ||
		    !xmlNewChild(plat, NULL, (const xmlChar *)"Version",
		                 (const xmlChar *)vstd_version(NULL, NULL, NULL)) ||
		    !xmlNewChild(plat, NULL, (const xmlChar *)"Vendor", (const xmlChar *)"vstd") ||
		    !xmlNewChild(plat, NULL, (const xmlChar *)"Locale", (const xmlChar *)"en"))
			rc = VSTD_ENOMEM;
	}
	xmlNodePtr props = NULL;
	if (rc == 0) {
		props = xmlNewChild(env, NULL, (const xmlChar *)"PropertySection", NULL);
		if (props == NULL)
			rc = VSTD_ENOMEM;
	}
	for (size_t p = 0; rc == 0 && p < vm->n_products; p++) {
		const vstd_ovf_product *prod = &vm->products[p];
		for (size_t i = 0; rc == 0 && i < prod->n_properties; i++) {
			const vstd_ovf_property *pr = &prod->properties[i];
			if (pr->key == NULL)
				continue;
			char *q = qualified_key(prod, pr);
			if (q == NULL) {
				rc = VSTD_ENOMEM;
				break;
			}
			const char *value = pr->default_value;
			for (size_t k = 0; k < n; k++) {
				if (keys[k] == NULL ||
				    (strcmp(keys[k], q) != 0 && strcmp(keys[k], pr->key) != 0))
					continue;
				used[k] = 1;
				if (!pr->user_configurable) {
					rc = vstd_err(VSTD_EINVAL,
					              "property '%s' is not user-configurable "
					              "(ovf:userConfigurable is false)",
					              q);
					break;
				}
				rc = check_value(pr, q, values[k] ? values[k] : "");
				value = values[k];
			}
			if (rc == 0)
				rc = add_property(props, oe, q, value);
			vstd_free(q);
		}
	}
	for (size_t k = 0; rc == 0 && k < n; k++)
		if (!used[k])
			rc = vstd_err(VSTD_EINVAL, "'%s' is not a property of VirtualSystem '%s'",
			              keys[k] ? keys[k] : "(null)", vm->id ? vm->id : "");
	if (rc == 0) {
		xmlChar *mem = NULL;
		int sz = 0;
		xmlDocDumpFormatMemoryEnc(doc, &mem, &sz, "UTF-8", 1);
		char *o = mem ? vstd_malloc((size_t)sz + 1) : NULL;
		if (o == NULL) {
			rc = VSTD_ENOMEM;
		} else {
			memcpy(o, mem, (size_t)sz);
			o[sz] = 0;
			*xml = o;
			*len = (size_t)sz;
		}
		xmlFree(mem);
	}
	xmlFreeDoc(doc);
	vstd_free(used);
	return rc;
}
