/*
 * descriptor/ovf/units.c - programmatic units of DSP0004 Annex C as used by
 * DSP0243 9.1 (capacityAllocationUnits) and 9.5 (AllocationUnits):
 *
 *   unit     := base { ws? "*" ws? factor }
 *   base     := "byte" | "bytes" | "Byte" | "Bytes"
 *   factor   := integer "^" integer   (e.g. 2^30, 10^9)  |  integer
 *
 * Producers also write the older names KiloBytes, MegaBytes, GigaBytes
 * (and KB, MB, GB, TB); those are accepted as powers of 1024 because that
 * is what every producer that writes them means.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/error_internal.h"
#include "vstd/ovf.h"

static const struct {
	const char *name;
	unsigned shift;
} named_units[] = {
        {"byte", 0}, {"bytes", 0},      {"b", 0},          {"kilobytes", 10}, {"kb", 10},
        {"kib", 10}, {"megabytes", 20}, {"mb", 20},        {"mib", 20},       {"gigabytes", 30},
        {"gb", 30},  {"gib", 30},       {"terabytes", 40}, {"tb", 40},        {"tib", 40},
};

static int read_uint(const char **p, uint64_t *v)
{
	const char *s = *p;
	if (!isdigit((unsigned char)*s))
		return VSTD_EINVAL;
	uint64_t r = 0;
	while (isdigit((unsigned char)*s)) {
		if (__builtin_mul_overflow(r, 10, &r) ||
		    __builtin_add_overflow(r, (uint64_t)(*s - '0'), &r))
			return VSTD_ERANGE;
		s++;
	}
	*p = s;
	*v = r;
	return 0;
}

int vstd_ovf_parse_units(const char *units, uint64_t *bytes_per_unit)
{
	if (units == NULL || bytes_per_unit == NULL)
		return vstd_err(VSTD_EINVAL, "units: NULL argument");
	const char *p = units;
	while (isspace((unsigned char)*p))
		p++;
	const char *b = p;
	while (isalpha((unsigned char)*p))
		p++;
	size_t bl = (size_t)(p - b);
	uint64_t value = 0;
	int found = 0;
	for (size_t i = 0; i < sizeof(named_units) / sizeof(named_units[0]); i++) {
		if (strlen(named_units[i].name) == bl &&
		    strncasecmp(b, named_units[i].name, bl) == 0) {
			value = (uint64_t)1 << named_units[i].shift;
			found = 1;
			break;
		}
	}
	if (!found)
		return vstd_err(VSTD_EINVAL,
		                "units '%s': unknown base unit (DSP0004 Annex C: byte)", units);
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		if (*p != '*')
			return vstd_err(VSTD_EINVAL, "units '%s': expected '*' at '%s'", units, p);
		p++;
		while (isspace((unsigned char)*p))
			p++;
		uint64_t base, exp = 1, factor = 1;
		int rc = read_uint(&p, &base);
		if (rc < 0)
			return vstd_err(rc, "units '%s': bad factor", units);
		if (*p == '^') {
			p++;
			rc = read_uint(&p, &exp);
			if (rc < 0)
				return vstd_err(rc, "units '%s': bad exponent", units);
		}
		for (uint64_t i = 0; i < exp; i++) {
			if (__builtin_mul_overflow(factor, base, &factor))
				return vstd_err(VSTD_ERANGE, "units '%s': does not fit 64 bits",
				                units);
			if (base <= 1)
				break;
		}
		if (__builtin_mul_overflow(value, factor, &value))
			return vstd_err(VSTD_ERANGE, "units '%s': does not fit 64 bits", units);
	}
	if (value == 0)
		return vstd_err(VSTD_EINVAL, "units '%s': zero", units);
	*bytes_per_unit = value;
	return 0;
}
