/*
 * core/kv.c - option lists and size parsing.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "core/kv.h"

#define KV_MAX_ENTRIES 256

struct kv_entry {
	char *key;
	char *value;
	int used;
};

struct vstd_kv {
	struct kv_entry *e;
	size_t n;
	char *what;
};

void vstd_kv_free(vstd_kv *kv)
{
	if (kv == NULL)
		return;
	for (size_t i = 0; i < kv->n; i++) {
		vstd_free(kv->e[i].key);
		vstd_free(kv->e[i].value);
	}
	vstd_free(kv->e);
	vstd_free(kv->what);
	vstd_free(kv);
}

static struct kv_entry *kv_find(const vstd_kv *kv, const char *key)
{
	for (size_t i = 0; i < kv->n; i++)
		if (strcmp(kv->e[i].key, key) == 0)
			return &kv->e[i];
	return NULL;
}

static int kv_add(vstd_kv *kv, char *key, char *value)
{
	struct kv_entry *e;
	if (kv->n >= KV_MAX_ENTRIES) {
		vstd_free(key);
		vstd_free(value);
		return vstd_err(VSTD_ELIMIT, "%s: more than %d options", kv->what, KV_MAX_ENTRIES);
	}
	e = vstd_realloc_array(kv->e, kv->n + 1, sizeof(*e));
	if (e == NULL) {
		vstd_free(key);
		vstd_free(value);
		return vstd_err_code();
	}
	kv->e = e;
	kv->e[kv->n++] = (struct kv_entry){key, value, 0};
	return 0;
}

int vstd_kv_set(vstd_kv *kv, const char *key, const char *value)
{
	struct kv_entry *e = kv_find(kv, key);
	char *v = vstd_strdup(value), *k;
	if (v == NULL)
		return vstd_err_code();
	if (e != NULL) {
		vstd_free(e->value);
		e->value = v;
		return 0;
	}
	k = vstd_strdup(key);
	if (k == NULL) {
		vstd_free(v);
		return vstd_err_code();
	}
	return kv_add(kv, k, v);
}

int vstd_kv_parse(vstd_kv **out, const char *text, const char *what)
{
	vstd_kv *kv = vstd_calloc(1, sizeof(*kv));
	const char *p = text;
	int rc = 0;
	if (kv == NULL)
		return vstd_err_code();
	kv->what = vstd_strdup(what != NULL ? what : "options");
	if (kv->what == NULL) {
		vstd_free(kv);
		return vstd_err_code();
	}
	while (p != NULL && *p != '\0' && rc == 0) {
		const char *eq = p;
		char *key, *value;
		size_t vlen = 0, cap;
		while (*eq != '\0' && *eq != '=' && *eq != ',')
			eq++;
		if (*eq != '=' || eq == p) {
			rc = vstd_err(VSTD_EINVAL, "%s: expected key=value at \"%.40s\"", kv->what,
			              p);
			break;
		}
		key = vstd_strndup(p, (size_t)(eq - p));
		cap = strlen(eq + 1) + 1;
		value = key != NULL ? vstd_malloc(cap) : NULL;
		if (value == NULL) {
			vstd_free(key);
			rc = vstd_err_code();
			break;
		}
		for (p = eq + 1; *p != '\0'; p++) {
			if (*p == ',') {
				if (p[1] == ',') {
					value[vlen++] = ',';
					p++;
					continue;
				}
				break;
			}
			value[vlen++] = *p;
		}
		value[vlen] = '\0';
		if (*p == ',')
			p++;
		if (kv_find(kv, key) != NULL) {
			rc = vstd_err(VSTD_EINVAL, "%s: option '%s' given twice", kv->what, key);
			vstd_free(key);
			vstd_free(value);
			break;
		}
		rc = kv_add(kv, key, value);
	}
	if (rc < 0) {
		vstd_kv_free(kv);
		return rc;
	}
	*out = kv;
	return 0;
}

const char *vstd_kv_get(vstd_kv *kv, const char *key)
{
	struct kv_entry *e = kv != NULL ? kv_find(kv, key) : NULL;
	if (e == NULL)
		return NULL;
	e->used = 1;
	return e->value;
}

int vstd_parse_size(const char *text, uint64_t max, const char *what, uint64_t *out)
{
	char *end = NULL;
	double d;
	unsigned long long whole;
	int shift = 0;
	const char *s = text;
	if (s == NULL || *s == '\0')
		return vstd_err(VSTD_EINVAL, "%s: empty size", what);
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '-' || *s == '+')
		return vstd_err(VSTD_EINVAL, "%s: invalid size '%s' (must be a positive number)",
		                what, text);
	if (!isdigit((unsigned char)*s))
		return vstd_err(VSTD_EINVAL, "%s: invalid size '%s'", what, text);
	errno = 0;
	whole = strtoull(s, &end, 10);
	if (*end == '.') { /* fractional with suffix, e.g. 1.5G */
		d = strtod(s, &end);
	} else {
		d = -1;
	}
	if (errno == ERANGE)
		return vstd_err(VSTD_ERANGE, "%s: size '%s' is too large", what, text);
	switch (*end) {
	case '\0': shift = 0; break;
	case 'b':
	case 'B':
		shift = 0;
		end++;
		break;
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 't':
	case 'T':
		shift = 40;
		end++;
		break;
	case 'p':
	case 'P':
		shift = 50;
		end++;
		break;
	case 'e':
	case 'E':
		shift = 60;
		end++;
		break;
	default:
		return vstd_err(VSTD_EINVAL,
		                "%s: invalid size '%s': unknown suffix '%c' (use k, M, G, T, P, E)",
		                what, text, *end);
	}
	if (*end == 'i' && shift) /* accept KiB-style "Gi" too */
		end++;
	if ((*end == 'B' || *end == 'b') && shift)
		end++;
	if (*end != '\0')
		return vstd_err(VSTD_EINVAL, "%s: invalid size '%s': junk after the number", what,
		                text);
	if (d >= 0) {
		double v = ldexp(d, shift);
		if (!(v < 18446744073709551616.0) || v != floor(v))
			return vstd_err(VSTD_ERANGE,
			                "%s: size '%s' is not a whole number of bytes "
			                "or is too large",
			                what, text);
		*out = (uint64_t)v;
	} else {
		if (shift && whole > (UINT64_MAX >> shift))
			return vstd_err(VSTD_ERANGE, "%s: size '%s' is too large", what, text);
		*out = (uint64_t)whole << shift;
	}
	if (max != 0 && *out > max)
		return vstd_err(VSTD_ERANGE,
		                "%s: size '%s' exceeds the maximum of %" PRIu64 " bytes", what,
		                text, max);
	return 0;
}

int vstd_kv_get_size(vstd_kv *kv, const char *key, uint64_t def, uint64_t *out)
{
	const char *v = vstd_kv_get(kv, key);
	if (v == NULL) {
		*out = def;
		return 0;
	}
	return vstd_parse_size(v, 0, key, out);
}

int vstd_kv_get_u64(vstd_kv *kv, const char *key, uint64_t def, uint64_t *out)
{
	const char *v = vstd_kv_get(kv, key);
	char *end;
	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (!isdigit((unsigned char)v[0]))
		return vstd_err(VSTD_EINVAL, "option %s: '%s' is not a number", key, v);
	errno = 0;
	*out = strtoull(v, &end, 0);
	if (errno != 0 || *end != '\0')
		return vstd_err(VSTD_EINVAL, "option %s: '%s' is not a number", key, v);
	return 0;
}

int vstd_kv_get_bool(vstd_kv *kv, const char *key, int def, int *out)
{
	const char *v = vstd_kv_get(kv, key);
	if (v == NULL)
		*out = def;
	else if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
		*out = 0;
	else
		return vstd_err(VSTD_EINVAL, "option %s: '%s' is not on/off", key, v);
	return 0;
}

int vstd_kv_get_enum(vstd_kv *kv, const char *key, const char *const *choices, size_t def,
                     size_t *index)
{
	const char *v = vstd_kv_get(kv, key);
	char list[256] = "";
	if (v == NULL) {
		*index = def;
		return 0;
	}
	for (size_t i = 0; choices[i] != NULL; i++) {
		if (strcmp(v, choices[i]) == 0) {
			*index = i;
			return 0;
		}
		if (strlen(list) + strlen(choices[i]) + 3 < sizeof(list)) {
			if (i)
				strcat(list, ", ");
			strcat(list, choices[i]);
		}
	}
	return vstd_err(VSTD_EINVAL, "option %s: '%s' is not one of %s", key, v, list);
}

const char *vstd_kv_unused(const vstd_kv *kv)
{
	for (size_t i = 0; kv != NULL && i < kv->n; i++)
		if (!kv->e[i].used)
			return kv->e[i].key;
	return NULL;
}

size_t vstd_kv_count(const vstd_kv *kv)
{
	return kv != NULL ? kv->n : 0;
}

const char *vstd_kv_key(const vstd_kv *kv, size_t i)
{
	return kv != NULL && i < kv->n ? kv->e[i].key : NULL;
}
