/*
 * mgmt/model/instance.c - instances and object paths, built in an arena.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/alloc_internal.h"
#include "mgmt/model/model.h"

struct cim_instance *cim_inst_new(arena *ar, const struct cim_class *cls)
{
	struct cim_instance *in = arena_alloc(ar, sizeof(*in));
	if (in == NULL)
		return NULL;
	in->v = arena_array(ar, cls->n_props ? cls->n_props : 1, sizeof(*in->v));
	if (in->v == NULL)
		return NULL;
	in->cls = cls;
	in->ar = ar;
	return in;
}

/* value in decimal, in the arena (no printf: this is on every response's path) */
static char *u64_text(arena *ar, uint64_t value)
{
	char tmp[24];
	size_t i = sizeof(tmp) - 1;
	tmp[i] = 0;
	do {
		tmp[--i] = (char)('0' + value % 10);
		value /= 10;
	} while (value);
	return arena_strndup(ar, tmp + i, sizeof(tmp) - 1 - i);
}

static struct cim_value *slot(struct cim_instance *in, const char *prop)
{
	int i;
	if (in == NULL || (i = cim_prop_index(in->cls, prop)) < 0)
		return NULL;
	in->v[i].type = in->cls->props[i].type;
	in->v[i].is_array = (in->cls->props[i].flags & CIM_F_ARRAY) != 0;
	return &in->v[i];
}

void cim_inst_str(struct cim_instance *in, const char *prop, const char *value)
{
	struct cim_value *v = slot(in, prop);
	if (v == NULL || value == NULL)
		return;
	v->s = arena_strdup(in->ar, value);
	v->set = v->s != NULL;
}

void cim_inst_u64(struct cim_instance *in, const char *prop, uint64_t value)
{
	struct cim_value *v = slot(in, prop);
	if (v == NULL)
		return;
	v->s = u64_text(in->ar, value);
	v->set = v->s != NULL;
}

void cim_inst_bool(struct cim_instance *in, const char *prop, int value)
{
	struct cim_value *v = slot(in, prop);
	if (v == NULL)
		return;
	v->s = value ? "TRUE" : "FALSE";
	v->set = 1;
}

void cim_inst_strs(struct cim_instance *in, const char *prop, const char *const *values, size_t n)
{
	struct cim_value *v = slot(in, prop);
	if (v == NULL)
		return;
	v->a = arena_array(in->ar, n ? n : 1, sizeof(char *));
	if (v->a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		v->a[i] = arena_strdup(in->ar, values[i]);
	v->n = n;
	v->set = 1;
}

void cim_inst_u16s(struct cim_instance *in, const char *prop, const uint16_t *values, size_t n)
{
	struct cim_value *v = slot(in, prop);
	if (v == NULL)
		return;
	v->a = arena_array(in->ar, n ? n : 1, sizeof(char *));
	if (v->a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		v->a[i] = u64_text(in->ar, values[i]);
	v->n = n;
	v->set = 1;
}

void cim_inst_ref(struct cim_instance *in, const char *prop, struct cim_path *ref)
{
	struct cim_value *v = slot(in, prop);
	if (v == NULL || ref == NULL)
		return;
	v->ref = ref;
	v->set = 1;
}

const struct cim_value *cim_inst_get(const struct cim_instance *in, const char *prop)
{
	int i = cim_prop_index(in->cls, prop);
	return i < 0 || !in->v[i].set ? NULL : &in->v[i];
}

static const char *vtype_of(int type)
{
	switch (type) {
	case CIM_T_STRING:
	case CIM_T_DATETIME: return "string";
	case CIM_T_BOOLEAN: return "boolean";
	default: return "numeric";
	}
}

struct cim_path *cim_inst_path(const struct cim_instance *in)
{
	struct cim_path *p = cim_path_new(in->ar, in->cls->name);
	if (p == NULL)
		return NULL;
	for (size_t i = 0; i < in->cls->n_props; i++) {
		const struct cim_prop *pr = &in->cls->props[i];
		if (!(pr->flags & CIM_F_KEY) || p->n_keys >= CIM_MAX_KEYS)
			continue;
		struct cim_keybinding *k = &p->keys[p->n_keys++];
		k->name = pr->name;
		if (pr->type == CIM_T_REF) {
			k->ref = in->v[i].ref;
		} else {
			k->value = in->v[i].s ? in->v[i].s : "";
			k->value_type = vtype_of(pr->type);
		}
	}
	return p;
}

struct cim_path *cim_path_new(arena *ar, const char *classname)
{
	struct cim_path *p = arena_alloc(ar, sizeof(*p));
	if (p)
		p->classname = classname;
	return p;
}

void cim_path_key(struct cim_path *p, const char *name, const char *value, const char *vtype)
{
	if (p == NULL || p->n_keys >= CIM_MAX_KEYS)
		return;
	struct cim_keybinding *k = &p->keys[p->n_keys++];
	k->name = name;
	k->value = value;
	k->value_type = vtype ? vtype : "string";
}

const char *cim_path_get(const struct cim_path *p, const char *key)
{
	for (int i = 0; i < p->n_keys; i++)
		if (strcasecmp(p->keys[i].name, key) == 0)
			return p->keys[i].value;
	return NULL;
}

static const struct cim_keybinding *find_key(const struct cim_path *p, const char *name)
{
	for (int i = 0; i < p->n_keys; i++)
		if (strcasecmp(p->keys[i].name, name) == 0)
			return &p->keys[i];
	return NULL;
}

static int path_equal_depth(const struct cim_path *a, const struct cim_path *b, int depth)
{
	if (a == NULL || b == NULL || depth > 4)
		return 0;
	if (strcasecmp(a->classname, b->classname) != 0 || a->n_keys != b->n_keys)
		return 0;
	for (int i = 0; i < a->n_keys; i++) {
		const struct cim_keybinding *ka = &a->keys[i], *kb = find_key(b, ka->name);
		if (kb == NULL || (ka->ref == NULL) != (kb->ref == NULL))
			return 0;
		if (ka->ref) {
			if (!path_equal_depth(ka->ref, kb->ref, depth + 1))
				return 0;
		} else if (strcmp(ka->value ? ka->value : "", kb->value ? kb->value : "") != 0) {
			/* booleans compare without case */
			if (!(ka->value_type && strcmp(ka->value_type, "boolean") == 0 &&
			      ka->value && kb->value && strcasecmp(ka->value, kb->value) == 0))
				return 0;
		}
	}
	return 1;
}

int cim_path_equal(const struct cim_path *a, const struct cim_path *b)
{
	return path_equal_depth(a, b, 0);
}

static void path_text(sbuf *b, const struct cim_path *p, int depth)
{
	if (depth > 4)
		return;
	sbuf_puts(b, p->classname);
	for (int i = 0; i < p->n_keys; i++) {
		const struct cim_keybinding *k = &p->keys[i];
		sbuf_printf(b, "%c%s=", i ? ',' : '.', k->name);
		if (k->ref) {
			sbuf_puts(b, "\"");
			path_text(b, k->ref, depth + 1);
			sbuf_puts(b, "\"");
		} else if (k->value_type && strcmp(k->value_type, "string") != 0) {
			sbuf_puts(b, k->value ? k->value : "");
		} else {
			sbuf_printf(b, "\"%s\"", k->value ? k->value : "");
		}
	}
}

char *cim_path_text(arena *ar, const struct cim_path *p)
{
	sbuf b;
	size_t len;
	sbuf_init(&b, 1 << 16);
	path_text(&b, p, 0);
	char *s = sbuf_take(&b, &len);
	char *r = s ? arena_strndup(ar, s, len) : arena_strdup(ar, "");
	sbuf_free(&b);
	vstd_free(s);
	return r;
}

char *cim_datetime(arena *ar, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL)
		return arena_strdup(ar, "00000000000000.000000+000");
	return arena_printf(ar, "%04d%02d%02d%02d%02d%02d.000000+000", tm.tm_year + 1900,
	                    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
