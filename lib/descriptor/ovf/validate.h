/*
 * descriptor/ovf/validate.h - the findings list shared by the two
 * validation layers.
 */
#ifndef VSTD_DESCRIPTOR_OVF_VALIDATE_H
#define VSTD_DESCRIPTOR_OVF_VALIDATE_H

#include "descriptor/ovf/ovf_internal.h"

struct vstd_ovf_report {
	vstd_ovf_diag *d;
	size_t n, cap;
	size_t errors, warnings;
	int oom;
	size_t limit; /* findings kept at most (the rest are counted) */
	size_t dropped;
	ovf_arena arena;
};

typedef struct ovf_vctx {
	const vstd_ovf *ovf;
	const vstd_ovf_validate_opts *opts;
	vstd_ovf_report *r;
	int strict;
	const vstd_ovf_file **sorted_files[2]; /* References/File by id, by href (rules) */
} ovf_vctx;

/* Record a finding on node n (may be NULL). */
void ovf_diag(ovf_vctx *v, int severity, const xmlNode *n, const char *rule, const char *fmt, ...)
        VSTD_PRINTF(5, 6);
/* Structure per DSP8023 (validate_schema.c): errors in strict mode, warnings in lax. */
void ovf_validate_schema(ovf_vctx *v);
/* Semantic rules of DSP0243 (validate_rules.c). */
void ovf_validate_rules(ovf_vctx *v);

#endif
