/*
 * descriptor/ovf/validate.c - the report and the entry point of validation.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "descriptor/ovf/validate.h"

#define OVF_REPORT_LIMIT 10000

void ovf_diag(ovf_vctx *v, int severity, const xmlNode *n, const char *rule, const char *fmt, ...)
{
	vstd_ovf_report *r = v->r;
	/* OVF 0.9 predates the standard: in lax mode its findings are warnings. */
	if (v->ovf->version == VSTD_OVF_V0_9 && !v->strict)
		severity = VSTD_OVF_WARNING;
	if (severity == VSTD_OVF_ERROR)
		r->errors++;
	else
		r->warnings++;
	if (r->n >= r->limit) {
		r->dropped++;
		return;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		vstd_ovf_diag *d = vstd_realloc_array(r->d, cap, sizeof(*d));
		if (d == NULL) {
			r->oom = 1;
			return;
		}
		r->d = d;
		r->cap = cap;
	}
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vstd_ovf_diag *d = &r->d[r->n];
	d->severity = severity;
	d->line = n != NULL ? ovf_line(n) : 0;
	d->element = ovf_arena_strdup(&r->arena, n != NULL && n->name ? (const char *)n->name : "");
	d->rule = ovf_arena_strdup(&r->arena, rule);
	d->message = ovf_arena_strdup(&r->arena, msg);
	if (d->element == NULL || d->rule == NULL || d->message == NULL) {
		r->oom = 1;
		return;
	}
	r->n++;
}

int vstd_ovf_validate(const vstd_ovf *ovf, const vstd_ovf_validate_opts *opts,
                      vstd_ovf_report **out)
{
	if (ovf == NULL || out == NULL)
		return vstd_err(VSTD_EINVAL, "vstd_ovf_validate: NULL argument");
	vstd_ovf_validate_opts o = VSTD_OVF_VALIDATE_OPTS_INIT;
	if (opts != NULL)
		o = *opts;
	vstd_ovf_report *r = vstd_calloc(1, sizeof(*r));
	if (r == NULL)
		return VSTD_ENOMEM;
	r->limit = OVF_REPORT_LIMIT;
	ovf_vctx v = {ovf, &o, r, (o.flags & VSTD_OVF_STRICT) != 0, {NULL, NULL}};
	if (ovf->encoding_fixed)
		ovf_diag(&v, v.strict ? VSTD_OVF_ERROR : VSTD_OVF_WARNING, NULL, "XML 1.0 4.3.3",
		         "the XML declaration says UTF-16 but the document is single-byte; read as "
		         "UTF-8");
	ovf_validate_schema(&v);
	ovf_validate_rules(&v);
	if (r->oom) {
		vstd_ovf_report_free(r);
		return vstd_err(VSTD_ENOMEM, "%s: out of memory while validating",
		                vstd_ovf_name(ovf));
	}
	*out = r;
	return 0;
}

size_t vstd_ovf_report_count(const vstd_ovf_report *r)
{
	return r != NULL ? r->n : 0;
}

size_t vstd_ovf_report_errors(const vstd_ovf_report *r)
{
	return r != NULL ? r->errors : 0;
}

size_t vstd_ovf_report_warnings(const vstd_ovf_report *r)
{
	return r != NULL ? r->warnings : 0;
}

const vstd_ovf_diag *vstd_ovf_report_get(const vstd_ovf_report *r, size_t i)
{
	return r != NULL && i < r->n ? &r->d[i] : NULL;
}

void vstd_ovf_report_free(vstd_ovf_report *r)
{
	if (r == NULL)
		return;
	vstd_free(r->d);
	ovf_arena_free(&r->arena);
	vstd_free(r);
}
