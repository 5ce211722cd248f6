/*
 * disk/vmdk/descriptor.c - the VMDK text descriptor: parse and write.
 *
 * The descriptor is lines of "key = value" (values may be quoted), extent
 * lines "ACCESS SECTORS TYPE ["FILE" [OFFSET]]" and '#' comments.  It is
 * hostile input: its size is bounded by the caller, the number of extents
 * by VMDK_MAX_EXTENTS, and every number is range checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "disk/vmdk/vmdk_internal.h"

void vmdk_desc_clear(struct vmdk_desc *desc)
{
	for (size_t i = 0; i < desc->n_ext; i++)
		vstd_free(desc->ext[i].file);
	vstd_free(desc->ext);
	vstd_free(desc->create_type);
	vstd_free(desc->parent_hint);
	vstd_free(desc->adapter_type);
	vstd_free(desc->hwversion);
	vstd_free(desc->toolsversion);
	memset(desc, 0, sizeof(*desc));
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Parse an unsigned decimal number (or hex with 0x) filling the whole token. */
static int parse_u64(const char *s, size_t n, int base, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	if (base == 16 && n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		i = 2;
	if (i >= n)
		return -1;
	for (; i < n; i++) {
		unsigned dgt;
		char c = s[i];
		if (c >= '0' && c <= '9')
			dgt = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			dgt = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			dgt = (unsigned)(c - 'A' + 10);
		else
			return -1;
		if (v > (UINT64_MAX - dgt) / (unsigned)base)
			return -1;
		v = v * (unsigned)base + dgt;
	}
	*out = v;
	return 0;
}

static char *dup_value(const char *v, size_t n)
{
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v++;
		n -= 2;
	}
	return vstd_strndup(v, n);
}

static int set_str(char **dst, const char *v, size_t n)
{
	char *s = dup_value(v, n);
	if (s == NULL)
		return vstd_err_code();
	vstd_free(*dst);
	*dst = s;
	return 0;
}

static int parse_extent(const char *line, size_t n, const char *name, size_t lineno,
                        struct vmdk_desc *out)
{
	struct vmdk_desc_extent x;
	const char *p = line, *end = line + n, *tok;
	uint64_t v;
	memset(&x, 0, sizeof(x));
	/* access */
	tok = p;
	while (p < end && !is_space(*p))
		p++;
	if ((size_t)(p - tok) >= sizeof(x.access))
		goto bad;
	memcpy(x.access, tok, (size_t)(p - tok));
	while (p < end && is_space(*p))
		p++;
	tok = p;
	while (p < end && !is_space(*p))
		p++;
	if (parse_u64(tok, (size_t)(p - tok), 10, &v) < 0 || v > ((uint64_t)1 << 53))
		goto bad;
	x.sectors = v;
	while (p < end && is_space(*p))
		p++;
	tok = p;
	while (p < end && !is_space(*p))
		p++;
	if (p == tok || (size_t)(p - tok) >= sizeof(x.type))
		goto bad;
	memcpy(x.type, tok, (size_t)(p - tok));
	while (p < end && is_space(*p))
		p++;
	if (p < end) {
		const char *q;
		if (*p != '"')
			goto bad;
		q = memchr(p + 1, '"', (size_t)(end - p - 1));
		if (q == NULL || q == p + 1)
			goto bad;
		x.file = vstd_strndup(p + 1, (size_t)(q - p - 1));
		if (x.file == NULL)
			return vstd_err_code();
		p = q + 1;
		while (p < end && is_space(*p))
			p++;
		tok = p;
		while (p < end && !is_space(*p))
			p++;
		if (p > tok) {
			if (parse_u64(tok, (size_t)(p - tok), 10, &v) < 0 ||
			    v > ((uint64_t)1 << 53)) {
				vstd_free(x.file);
				goto bad;
			}
			x.offset = v;
		}
		/* anything after (e.g. a partition UUID of VMFSRDM) is ignored */
	}
	if (out->n_ext >= VMDK_MAX_EXTENTS) {
		vstd_free(x.file);
		return vstd_err(VSTD_ELIMIT, "%s: descriptor line %zu: more than %u extents", name,
		                lineno, VMDK_MAX_EXTENTS);
	}
	if ((out->n_ext & (out->n_ext - 1)) == 0) {
		size_t cap = out->n_ext ? out->n_ext * 2 : 4;
		struct vmdk_desc_extent *ne = vstd_realloc_array(out->ext, cap, sizeof(*ne));
		if (ne == NULL) {
			vstd_free(x.file);
			return vstd_err_code();
		}
		out->ext = ne;
	}
	out->ext[out->n_ext++] = x;
	return 0;
bad:
	return vstd_err(VSTD_ECORRUPT, "%s: descriptor line %zu: malformed extent line '%.*s'",
	                name, lineno, (int)(n > 80 ? 80 : n), line);
}

int vmdk_desc_parse(const char *text, size_t len, const char *name, struct vmdk_desc *out)
{
	const char *p = text, *end;
	size_t lineno = 0;
	int rc = 0, seen_header = 0;
	const char *nul = memchr(text, '\0', len);
	memset(out, 0, sizeof(*out));
	out->parent_cid = UINT32_MAX;
	out->version = 1;
	end = nul != NULL ? nul : text + len;
	while (p < end && rc == 0) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol != NULL ? eol : end, *ls = p, *eq;
		p = eol != NULL ? eol + 1 : end;
		lineno++;
		while (ls < le && is_space(*ls))
			ls++;
		while (le > ls && is_space(le[-1]))
			le--;
		if (ls == le)
			continue;
		if (*ls == '#') {
			if ((size_t)(le - ls) >= 21 && memcmp(ls, "# Disk DescriptorFile", 21) == 0)
				seen_header = 1;
			continue;
		}
		if ((le - ls > 3 && memcmp(ls, "RW ", 3) == 0) ||
		    (le - ls > 7 && memcmp(ls, "RDONLY ", 7) == 0) ||
		    (le - ls > 9 && memcmp(ls, "NOACCESS ", 9) == 0)) {
			rc = parse_extent(ls, (size_t)(le - ls), name, lineno, out);
			continue;
		}
		eq = memchr(ls, '=', (size_t)(le - ls));
		if (eq == NULL) {
			rc = vstd_err(VSTD_ECORRUPT,
			              "%s: descriptor line %zu is neither a setting "
			              "nor an extent: '%.*s'",
			              name, lineno, (int)(le - ls > 80 ? 80 : le - ls), ls);
			break;
		}
		{
			const char *ke = eq, *vs = eq + 1;
			size_t kn, vn;
			uint64_t v;
			while (ke > ls && is_space(ke[-1]))
				ke--;
			while (vs < le && is_space(*vs))
				vs++;
			kn = (size_t)(ke - ls);
			vn = (size_t)(le - vs);
			if (kn == 3 && memcmp(ls, "CID", 3) == 0) {
				if (parse_u64(vs, vn, 16, &v) < 0 || v > UINT32_MAX)
					rc = vstd_err(VSTD_ECORRUPT,
					              "%s: descriptor line %zu: CID "
					              "is not a 32-bit hex number",
					              name, lineno);
				out->cid = (uint32_t)v;
				out->has_cid = 1;
			} else if (kn == 9 && memcmp(ls, "parentCID", 9) == 0) {
				if (parse_u64(vs, vn, 16, &v) < 0 || v > UINT32_MAX)
					rc = vstd_err(VSTD_ECORRUPT,
					              "%s: descriptor line %zu: "
					              "parentCID is not a 32-bit hex number",
					              name, lineno);
				out->parent_cid = (uint32_t)v;
			} else if (kn == 7 && memcmp(ls, "version", 7) == 0) {
				if (parse_u64(vs, vn, 10, &v) == 0 && v < 100)
					out->version = (int)v;
			} else if (kn == 10 && memcmp(ls, "createType", 10) == 0) {
				rc = set_str(&out->create_type, vs, vn);
			} else if (kn == 18 && memcmp(ls, "parentFileNameHint", 18) == 0) {
				rc = set_str(&out->parent_hint, vs, vn);
			} else if (kn == 15 && memcmp(ls, "ddb.adapterType", 15) == 0) {
				rc = set_str(&out->adapter_type, vs, vn);
			} else if (kn == 20 && memcmp(ls, "ddb.virtualHWVersion", 20) == 0) {
				rc = set_str(&out->hwversion, vs, vn);
			} else if (kn == 16 && memcmp(ls, "ddb.toolsVersion", 16) == 0) {
				rc = set_str(&out->toolsversion, vs, vn);
			}
		}
	}
	if (rc == 0 && out->create_type == NULL && !seen_header && out->n_ext == 0)
		rc = vstd_err(VSTD_ECORRUPT,
		              "%s: not a VMDK descriptor (no createType, no "
		              "'# Disk DescriptorFile' line, no extents)",
		              name);
	if (rc == 0 && out->n_ext == 0)
		rc = vstd_err(VSTD_ECORRUPT, "%s: the VMDK descriptor lists no extents", name);
	if (rc < 0)
		vmdk_desc_clear(out);
	return rc;
}

char *vmdk_desc_format(const struct vmdk_desc *desc, uint64_t size)
{
	size_t cap = 1024, used = 0;
	char *buf = NULL;
	const char *adapter = desc->adapter_type ? desc->adapter_type : "ide";
	uint64_t heads = strcmp(adapter, "ide") == 0 ? 16 : 255;
	uint64_t cyl = size / (heads * 63 * VMDK_SECTOR);
	for (size_t i = 0; i < desc->n_ext; i++)
		cap += 64 + (desc->ext[i].file ? strlen(desc->ext[i].file) : 0);
	if (desc->parent_hint != NULL)
		cap += strlen(desc->parent_hint) + 64;
	if (cyl > 16383)
		cyl = 16383;
	buf = vstd_malloc(cap);
	if (buf == NULL)
		return NULL;
#define OUT(...) used += (size_t)snprintf(buf + used, cap - used, __VA_ARGS__)
	OUT("# Disk DescriptorFile\nversion=%d\nCID=%08x\nparentCID=%08x\ncreateType=\"%s\"\n",
	    desc->version, desc->cid, desc->parent_cid, desc->create_type);
	if (desc->parent_hint != NULL)
		OUT("parentFileNameHint=\"%s\"\n", desc->parent_hint);
	OUT("\n# Extent description\n");
	for (size_t i = 0; i < desc->n_ext; i++) {
		const struct vmdk_desc_extent *x = &desc->ext[i];
		OUT("%s %" PRIu64 " %s", x->access, x->sectors, x->type);
		if (x->file != NULL) {
			OUT(" \"%s\"", x->file);
			if (strcmp(x->type, "FLAT") == 0 || strcmp(x->type, "VMFS") == 0)
				OUT(" %" PRIu64, x->offset);
		}
		OUT("\n");
	}
	OUT("\n# The Disk Data Base\n#DDB\n\n");
	OUT("ddb.virtualHWVersion = \"%s\"\n", desc->hwversion ? desc->hwversion : "4");
	OUT("ddb.geometry.cylinders = \"%" PRIu64 "\"\n", cyl);
	OUT("ddb.geometry.heads = \"%" PRIu64 "\"\n", heads);
	OUT("ddb.geometry.sectors = \"63\"\n");
	OUT("ddb.adapterType = \"%s\"\n", adapter);
	OUT("ddb.toolsVersion = \"%s\"\n", desc->toolsversion ? desc->toolsversion : "2147483647");
#undef OUT
	if (used >= cap) {
		vstd_free(buf);
		vstd_err(VSTD_ERROR, "VMDK descriptor longer than expected");
		return NULL;
	}
	return buf;
}

int vmdk_desc_set_cid(char *text, size_t len, uint32_t cid)
{
	size_t i = 0;
	while (i + 4 < len) {
		if ((i == 0 || text[i - 1] == '\n') && memcmp(text + i, "CID=", 4) == 0) {
			size_t j = i + 4, n = 0;
			char hex[9];
			while (j + n < len && n < 8 &&
			       ((text[j + n] >= '0' && text[j + n] <= '9') ||
			        (text[j + n] >= 'a' && text[j + n] <= 'f') ||
			        (text[j + n] >= 'A' && text[j + n] <= 'F')))
				n++;
			if (n != 8)
				return -1;
			snprintf(hex, sizeof(hex), "%08x", cid);
			memcpy(text + j, hex, 8);
			return 0;
		}
		i++;
	}
	return -1;
}

char *vmdk_desc_set_extent_sectors(const char *text, size_t len, size_t index, uint64_t sectors)
{
	size_t i = 0, seen = 0;
	while (i < len) {
		const char *line = text + i, *eol = memchr(line, '\n', len - i);
		size_t n = eol ? (size_t)(eol - line) : len - i;
		const char *p = line;
		while (p < line + n && is_space(*p))
			p++;
		if ((line + n - p > 3 && memcmp(p, "RW ", 3) == 0) ||
		    (line + n - p > 7 && memcmp(p, "RDONLY ", 7) == 0) ||
		    (line + n - p > 9 && memcmp(p, "NOACCESS ", 9) == 0)) {
			if (seen++ == index) {
				const char *a = p, *b;
				while (a < line + n && !is_space(*a))
					a++;
				while (a < line + n && is_space(*a))
					a++;
				b = a;
				while (b < line + n && !is_space(*b))
					b++;
				return vstd_asprintf("%.*s%" PRIu64 "%.*s", (int)(a - text), text,
				                     sectors, (int)(len - (size_t)(b - text)), b);
			}
		}
		i += n + 1;
	}
	vstd_err(VSTD_ECORRUPT, "descriptor has no extent %zu", index + 1);
	return NULL;
}

/* 1 when the line [p, e) (leading blanks skipped) is an extent line. */
static int is_extent_line(const char *p, const char *e)
{
	while (p < e && is_space(*p))
		p++;
	return (e - p > 3 && memcmp(p, "RW ", 3) == 0) ||
	       (e - p > 7 && memcmp(p, "RDONLY ", 7) == 0) ||
	       (e - p > 9 && memcmp(p, "NOACCESS ", 9) == 0);
}

char *vmdk_desc_edit_extents(const char *text, size_t len, size_t keep, const char *lines)
{
	size_t i = 0, seen = 0, cut_from = SIZE_MAX, cut_to = 0, after_last = SIZE_MAX;
	int last_has_nl = 1;
	if (lines == NULL)
		lines = "";
	while (i < len) {
		const char *line = text + i, *eol = memchr(line, '\n', len - i);
		size_t n = eol ? (size_t)(eol - line) : len - i;
		size_t next = eol ? i + n + 1 : len;
		if (is_extent_line(line, line + n)) {
			if (seen == keep)
				cut_from = i;
			if (seen >= keep)
				cut_to = next;
			else
				after_last = next;
			if (seen < keep)
				last_has_nl = eol != NULL;
			seen++;
		}
		i = next;
	}
	if (keep == 0 || seen < keep || after_last == SIZE_MAX) {
		vstd_err(VSTD_ECORRUPT, "descriptor has %zu extent lines, not at least %zu", seen,
		         keep);
		return NULL;
	}
	if (cut_from == SIZE_MAX)
		cut_from = cut_to = after_last;
	/* text before the kept extents' end, the new lines, then the rest
	 * with the dropped extent lines (which follow the kept ones) left out */
	return vstd_asprintf("%.*s%s%s%.*s%.*s", (int)after_last, text, last_has_nl ? "" : "\n",
	                     lines, (int)(cut_from - after_last), text + after_last,
	                     (int)(len - cut_to), text + cut_to);
}

/* The quoted or bare number of `key = "N"` in the text, or 0. */
static uint64_t ddb_number(const char *text, size_t len, const char *key)
{
	size_t i = 0, kn = strlen(key);
	while (i < len) {
		const char *line = text + i, *eol = memchr(line, '\n', len - i);
		size_t n = eol ? (size_t)(eol - line) : len - i;
		const char *p = line, *e = line + n;
		uint64_t v;
		while (p < e && is_space(*p))
			p++;
		if ((size_t)(e - p) > kn && memcmp(p, key, kn) == 0 &&
		    (is_space(p[kn]) || p[kn] == '=')) {
			const char *q = memchr(p, '=', (size_t)(e - p)), *qe;
			if (q == NULL)
				return 0;
			q++;
			while (q < e && (is_space(*q) || *q == '"'))
				q++;
			qe = q;
			while (qe < e && *qe >= '0' && *qe <= '9')
				qe++;
			return parse_u64(q, (size_t)(qe - q), 10, &v) == 0 ? v : 0;
		}
		i += n + 1;
	}
	return 0;
}

char *vmdk_desc_set_cylinders(const char *text, size_t len, uint64_t size)
{
	static const char key[] = "ddb.geometry.cylinders";
	uint64_t heads = ddb_number(text, len, "ddb.geometry.heads");
	uint64_t secs = ddb_number(text, len, "ddb.geometry.sectors"), cyl;
	size_t i = 0;
	if (heads == 0 || heads > 255)
		heads = 16;
	if (secs == 0 || secs > 63)
		secs = 63;
	cyl = size / (heads * secs * VMDK_SECTOR);
	if (cyl > 16383)
		cyl = 16383;
	while (i < len) {
		const char *line = text + i, *eol = memchr(line, '\n', len - i);
		size_t n = eol ? (size_t)(eol - line) : len - i;
		const char *p = line, *e = line + n;
		while (p < e && is_space(*p))
			p++;
		if ((size_t)(e - p) > sizeof(key) - 1 && memcmp(p, key, sizeof(key) - 1) == 0 &&
		    (is_space(p[sizeof(key) - 1]) || p[sizeof(key) - 1] == '=')) {
			/* keep a CR of a CR LF line */
			const char *keep = (e > p && e[-1] == '\r') ? e - 1 : e;
			return vstd_asprintf("%.*s%s = \"%" PRIu64 "\"%.*s", (int)(p - text), text,
			                     key, cyl, (int)(len - (size_t)(keep - text)), keep);
		}
		i += n + 1;
	}
	return vstd_strndup(text, len);
}
