/*
 * descriptor/ovf/model.c - the document object: its arena, element helpers
 * shared by parser and validator, and the public look-ups.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "descriptor/ovf/ovf_internal.h"

/* ------------------------------------------------------------ arena */

void *ovf_arena_alloc(ovf_arena *a, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	if (size == 0)
		size = 16;
	ovf_arena_chunk *c = a->head;
	if (c == NULL || c->size - c->used < size) {
		size_t csize = size > 16384 ? size : 16384;
		c = vstd_malloc(sizeof(*c) + csize);
		if (c == NULL)
			return NULL;
		c->size = csize;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

char *ovf_arena_strdup(ovf_arena *a, const char *s)
{
	if (s == NULL)
		return NULL;
	size_t n = strlen(s);
	char *p = ovf_arena_alloc(a, n + 1);
	if (p != NULL)
		memcpy(p, s, n + 1);
	return p;
}

void ovf_arena_free(ovf_arena *a)
{
	ovf_arena_chunk *c = a->head;
	while (c != NULL) {
		ovf_arena_chunk *next = c->next;
		vstd_free(c);
		c = next;
	}
	a->head = NULL;
}

int ovf_vec_push(ovf_vec *v, const void *elem)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		void *d = vstd_realloc_array(v->data, cap, v->elem);
		if (d == NULL)
			return vstd_err_code() ? vstd_err_code() : VSTD_ENOMEM;
		v->data = d;
		v->cap = cap;
	}
	memcpy((char *)v->data + v->n * v->elem, elem, v->elem);
	v->n++;
	return 0;
}

void *ovf_vec_finish(ovf_vec *v, ovf_arena *a)
{
	void *p = NULL;
	if (v->n > 0) {
		p = ovf_arena_alloc(a, v->n * v->elem);
		if (p != NULL)
			memcpy(p, v->data, v->n * v->elem);
	}
	vstd_free(v->data);
	v->data = NULL;
	v->cap = 0;
	return p;
}

void ovf_vec_free(ovf_vec *v)
{
	vstd_free(v->data);
	v->data = NULL;
	v->n = v->cap = 0;
}

/* ------------------------------------------------------------ element helpers */

int ovf_is_ovf_ns(const vstd_ovf *ovf, const xmlNode *n)
{
	if (n->ns == NULL || n->ns->href == NULL)
		return 1; /* oVirt writes unqualified elements: accept (lax) */
	return ovf->ns != NULL && strcmp((const char *)n->ns->href, ovf->ns) == 0;
}

const char *ovf_kind(const xmlNode *n, char *buf, size_t size)
{
	const char *local = (const char *)n->name;
	if (strcmp(local, "Section") != 0 && strcmp(local, "Content") != 0)
		return local;
	/* OVF 0.9: <Section xsi:type="ovf:DiskSection_Type"> (or xs:name in the
	 * pre-1.0 draft). */
	xmlChar *t = xmlGetNsProp(n, (const xmlChar *)"type", (const xmlChar *)OVF_NS_XSI);
	if (t == NULL) {
		for (xmlAttrPtr a = n->properties; a != NULL; a = a->next)
			if (strcmp((const char *)a->name, "name") == 0 && a->ns != NULL) {
				t = xmlNodeGetContent((xmlNodePtr)a);
				break;
			}
	}
	if (t == NULL)
		return local;
	const char *s = (const char *)t;
	const char *colon = strchr(s, ':');
	if (colon != NULL)
		s = colon + 1;
	snprintf(buf, size, "%s", s);
	xmlFree(t);
	size_t l = strlen(buf);
	if (l > 5 && strcmp(buf + l - 5, "_Type") == 0)
		buf[l - 5] = '\0';
	return buf;
}

int ovf_is(const vstd_ovf *ovf, const xmlNode *n, const char *kind)
{
	char buf[96];
	if (n->type != XML_ELEMENT_NODE || !ovf_is_ovf_ns(ovf, n))
		return 0;
	return strcmp(ovf_kind(n, buf, sizeof(buf)), kind) == 0;
}

char *ovf_attr(const vstd_ovf *ovf, const xmlNode *n, const char *name)
{
	xmlChar *v = NULL;
	if (ovf->ns != NULL)
		v = xmlGetNsProp(n, (const xmlChar *)name, (const xmlChar *)ovf->ns);
	if (v == NULL)
		v = xmlGetNoNsProp(n, (const xmlChar *)name);
	return (char *)v;
}

xmlNodePtr ovf_first_child(const xmlNode *n, const char *local)
{
	for (xmlNodePtr c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, local) == 0)
			return c;
	return NULL;
}

static char *trim_dup(xmlChar *t)
{
	if (t == NULL)
		return NULL;
	char *s = (char *)t;
	size_t b = 0, e = strlen(s);
	while (b < e && isspace((unsigned char)s[b]))
		b++;
	while (e > b && isspace((unsigned char)s[e - 1]))
		e--;
	memmove(s, s + b, e - b);
	s[e - b] = '\0';
	return s;
}

char *ovf_child_text(const xmlNode *n, const char *local)
{
	xmlNodePtr c = ovf_first_child(n, local);
	if (c == NULL)
		return NULL;
	return trim_dup(xmlNodeGetContent(c));
}

int ovf_parse_u64(const char *s, uint64_t *out)
{
	if (s == NULL)
		return VSTD_EINVAL;
	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s))
		return VSTD_EINVAL;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return VSTD_ERANGE;
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0')
		return VSTD_EINVAL;
	*out = v;
	return 0;
}

int ovf_parse_bool(const char *s, int *out)
{
	if (s == NULL)
		return VSTD_EINVAL;
	if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0) {
		*out = 1;
		return 0;
	}
	if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0 || strcasecmp(s, "false") == 0) {
		*out = 0;
		return 0;
	}
	return VSTD_EINVAL;
}

unsigned ovf_line(const xmlNode *n)
{
	long l = xmlGetLineNo(n);
	return l > 0 ? (unsigned)l : 0;
}

/* ------------------------------------------------------------ public look-ups */

const vstd_ovf_model *vstd_ovf_model_get(const vstd_ovf *ovf)
{
	return ovf != NULL ? &ovf->model : NULL;
}

const char *vstd_ovf_name(const vstd_ovf *ovf)
{
	return ovf != NULL && ovf->name != NULL ? ovf->name : "";
}

static const vstd_vm *find_vm(const vstd_vm *vm, const char *id)
{
	if (vm == NULL)
		return NULL;
	if (!vm->is_collection && (id == NULL || (vm->id != NULL && strcmp(vm->id, id) == 0)))
		return vm;
	if (id != NULL && vm->is_collection && vm->id != NULL && strcmp(vm->id, id) == 0)
		return vm;
	for (size_t i = 0; i < vm->n_children; i++) {
		const vstd_vm *r = find_vm(vm->children[i], id);
		if (r != NULL)
			return r;
	}
	return NULL;
}

const vstd_vm *vstd_ovf_find_vm(const vstd_ovf *ovf, const char *id)
{
	return ovf != NULL ? find_vm(ovf->model.root, id) : NULL;
}

const vstd_ovf_disk *vstd_ovf_find_disk(const vstd_ovf *ovf, const char *disk_id)
{
	if (ovf == NULL || disk_id == NULL)
		return NULL;
	for (size_t i = 0; i < ovf->model.n_disks; i++)
		if (ovf->model.disks[i].disk_id != NULL &&
		    strcmp(ovf->model.disks[i].disk_id, disk_id) == 0)
			return &ovf->model.disks[i];
	return NULL;
}

const vstd_ovf_file *vstd_ovf_find_file(const vstd_ovf *ovf, const char *file_id)
{
	if (ovf == NULL || file_id == NULL)
		return NULL;
	for (size_t i = 0; i < ovf->model.n_files; i++)
		if (ovf->model.files[i].id != NULL && strcmp(ovf->model.files[i].id, file_id) == 0)
			return &ovf->model.files[i];
	return NULL;
}

static int word_in(const char *list, const char *word)
{
	size_t wl = strlen(word);
	const char *p = list;
	while (*p != '\0') {
		while (isspace((unsigned char)*p))
			p++;
		const char *b = p;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
		if ((size_t)(p - b) == wl && strncmp(b, word, wl) == 0)
			return 1;
	}
	return 0;
}

int vstd_ovf_item_active(const vstd_ovf *ovf, const vstd_ovf_item *item, const char *config)
{
	if (item->configuration == NULL)
		return 1;
	if (config == NULL && ovf != NULL) {
		for (size_t i = 0; i < ovf->model.n_configs; i++)
			if (ovf->model.configs[i].is_default)
				config = ovf->model.configs[i].id;
		if (config == NULL && ovf->model.n_configs > 0)
			config = ovf->model.configs[0]
			                 .id; /* DSP0243 9.8: the first is the default */
	}
	if (config == NULL)
		return 0;
	return word_in(item->configuration, config);
}

void vstd_ovf_free(vstd_ovf *ovf)
{
	if (ovf == NULL)
		return;
	xmlFreeDoc(ovf->doc);
	ovf_arena_free(&ovf->arena);
	vstd_free(ovf->name);
	vstd_free(ovf);
}

void vstd_ovf_buffer_free(void *data)
{
	vstd_free(data);
}
