/*
 * descriptor/manifest/manifest.c - the manifest (.mf) of an OVF package
 * (DSP0243 5.1): one line per file, "ALG(name)= hexdigest", ALG one of
 * SHA1, SHA256, SHA512.  Verifying a package checks every listed digest
 * over the stored bytes of the file (compressed files as stored), that the
 * descriptor and every referenced file are listed, and the certificate.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "descriptor/ova/ova_internal.h"

#define MF_MAX_ENTRIES 100000
#define MF_MAX_SIZE (16u << 20)

static const EVP_MD *md_of(const char *alg)
{
	if (strcasecmp(alg, "SHA1") == 0)
		return EVP_sha1();
	if (strcasecmp(alg, "SHA256") == 0)
		return EVP_sha256();
	if (strcasecmp(alg, "SHA512") == 0)
		return EVP_sha512();
	if (strcasecmp(alg, "SHA384") == 0)
		return EVP_sha384();
	return NULL;
}

const char *ovf_mf_alg_name(const char *digest)
{
	if (digest == NULL || strcasecmp(digest, "sha256") == 0)
		return "SHA256";
	if (strcasecmp(digest, "sha1") == 0)
		return "SHA1";
	if (strcasecmp(digest, "sha512") == 0)
		return "SHA512";
	return NULL;
}

void ovf_mf_free(ovf_mf *mf)
{
	for (size_t i = 0; i < mf->n; i++)
		vstd_free(mf->e[i].name);
	vstd_free(mf->e);
	mf->e = NULL;
	mf->n = 0;
}

int ovf_mf_parse(ovf_mf *mf, const char *data, size_t len, const char *what)
{
	memset(mf, 0, sizeof(*mf));
	size_t cap = 0;
	unsigned line = 0;
	for (size_t off = 0; off < len;) {
		const char *l = data + off;
		const char *nl = memchr(l, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - l) : len - off;
		off += ll + (nl ? 1 : 0);
		line++;
		while (ll > 0 && (l[ll - 1] == '\r' || l[ll - 1] == ' '))
			ll--;
		if (ll == 0)
			continue;
		/* ALG(name)= hex */
		const char *lp = memchr(l, '(', ll);
		const char *rp = NULL;
		for (size_t k = ll; k > 0; k--)
			if (l[k - 1] == ')') {
				rp = l + k - 1;
				break;
			}
		if (lp == NULL || rp == NULL || rp < lp || (size_t)(lp - l) >= 16 ||
		    rp + 2 > l + ll || rp[1] != '=') {
			ovf_mf_free(mf);
			return vstd_err(VSTD_ECORRUPT,
			                "%s: line %u is not 'ALG(name)= digest' (DSP0243 5.1)",
			                what, line);
		}
		ovf_mf_entry e;
		memset(&e, 0, sizeof(e));
		e.line = line;
		memcpy(e.alg, l, (size_t)(lp - l));
		if (md_of(e.alg) == NULL) {
			ovf_mf_free(mf);
			return vstd_err(VSTD_ENOTSUP,
			                "%s: line %u: digest '%s' is not SHA1, SHA256 or SHA512",
			                what, line, e.alg);
		}
		const char *h = rp + 2;
		while (h < l + ll && *h == ' ')
			h++;
		size_t hl = (size_t)(l + ll - h);
		if (hl == 0 || hl >= sizeof(e.hex)) {
			ovf_mf_free(mf);
			return vstd_err(VSTD_ECORRUPT, "%s: line %u: digest has %zu characters",
			                what, line, hl);
		}
		for (size_t k = 0; k < hl; k++) {
			if (!isxdigit((unsigned char)h[k])) {
				ovf_mf_free(mf);
				return vstd_err(VSTD_ECORRUPT,
				                "%s: line %u: digest is not hexadecimal", what,
				                line);
			}
			e.hex[k] = (char)tolower((unsigned char)h[k]);
		}
		if (mf->n >= MF_MAX_ENTRIES) {
			ovf_mf_free(mf);
			return vstd_err(VSTD_ELIMIT, "%s: more than %d entries", what,
			                MF_MAX_ENTRIES);
		}
		e.name = vstd_strndup(lp + 1, (size_t)(rp - lp - 1));
		if (e.name == NULL) {
			ovf_mf_free(mf);
			return VSTD_ENOMEM;
		}
		if (mf->n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			ovf_mf_entry *ne = vstd_realloc_array(mf->e, nc, sizeof(*ne));
			if (ne == NULL) {
				vstd_free(e.name);
				ovf_mf_free(mf);
				return VSTD_ENOMEM;
			}
			mf->e = ne;
			cap = nc;
		}
		mf->e[mf->n++] = e;
	}
	return 0;
}

static void to_hex(const unsigned char *d, unsigned n, char *hex, size_t hex_size)
{
	static const char digits[] = "0123456789abcdef";
	size_t k = 0;
	for (unsigned i = 0; i < n && k + 2 < hex_size; i++) {
		hex[k++] = digits[d[i] >> 4];
		hex[k++] = digits[d[i] & 15];
	}
	hex[k] = '\0';
}

static int hash_cb(const void *data, size_t len, void *opaque)
{
	return EVP_DigestUpdate(opaque, data, len) == 1 ? 0 : 1;
}

int ovf_pkg_digest(const ovf_pkg *pkg, const char *name, const char *alg, char *hex,
                   size_t hex_size)
{
	const EVP_MD *md = md_of(alg);
	if (md == NULL)
		return vstd_err(VSTD_ENOTSUP, "digest '%s' is not supported", alg);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return vstd_err(VSTD_ENOMEM, "cannot initialise %s", alg);
	}
	int rc = ovf_pkg_stream(pkg, name, hash_cb, ctx);
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dl = 0;
	if (rc == 0 && EVP_DigestFinal_ex(ctx, d, &dl) != 1)
		rc = vstd_err(VSTD_ERROR, "%s: digest failed", name);
	EVP_MD_CTX_free(ctx);
	if (rc == 0)
		to_hex(d, dl, hex, hex_size);
	return rc;
}

int ovf_digest_mem(const char *alg, const void *data, size_t len, char *hex, size_t hex_size)
{
	const EVP_MD *md = md_of(alg);
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dl = 0;
	if (md == NULL)
		return vstd_err(VSTD_ENOTSUP, "digest '%s' is not supported", alg);
	if (EVP_Digest(data, len, d, &dl, md, NULL) != 1)
		return vstd_err(VSTD_ERROR, "digest failed");
	to_hex(d, dl, hex, hex_size);
	return 0;
}

int ovf_digest_path(const char *alg, const char *path, char *hex, size_t hex_size)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? vstd_strndup(path, (size_t)(slash - path)) : vstd_strdup(".");
	if (dir == NULL)
		return VSTD_ENOMEM;
	ovf_pkg pkg = {NULL, slash == path ? "/" : dir};
	int rc = ovf_pkg_digest(&pkg, slash ? slash + 1 : path, alg, hex, hex_size);
	vstd_free(dir);
	return rc;
}

/* ------------------------------------------------------------ verification */

static int listed(const ovf_mf *mf, const char *name)
{
	for (size_t i = 0; i < mf->n; i++)
		if (strcmp(mf->e[i].name, name) == 0)
			return 1;
	return 0;
}

static int fail_file(vstd_ovf_verify_result *res, const char *name)
{
	if (res->failed_file == NULL)
		res->failed_file = vstd_strdup(name);
	return VSTD_EVERIFY;
}

/* Offset of a member in the OVA (UINT64_MAX when absent or a directory). */
static uint64_t member_offset(const ovf_pkg *pkg, const char *name)
{
	size_t idx;
	if (pkg->ova == NULL || vstd_ova_find(pkg->ova, name, &idx) < 0) {
		vstd_error_clear();
		return UINT64_MAX;
	}
	return vstd_ova_member_get(pkg->ova, idx)->offset;
}

static int verify_pkg(const ovf_pkg *pkg, const char *ovf_name, const vstd_ovf *ovf,
                      const vstd_ovf_verify_opts *opts, vstd_ovf_verify_result *res)
{
	vstd_ovf_verify_opts o = VSTD_OVF_VERIFY_OPTS_INIT;
	if (opts != NULL)
		o = *opts;
	memset(res, 0, sizeof(*res));
	char *mf_name = ovf_sibling_name(ovf_name, ".mf");
	char *cert_name = ovf_sibling_name(ovf_name, ".cert");
	char *mf_data = NULL, *cert_data = NULL;
	size_t mf_len = 0, cert_len = 0;
	ovf_mf mf = {NULL, 0};
	size_t *order = NULL;
	int rc = mf_name && cert_name ? 0 : VSTD_ENOMEM;
	uint64_t sz;
	if (rc == 0 && ovf_pkg_size(pkg, mf_name, &sz) < 0) {
		vstd_error_clear();
		if (o.require_signature)
			rc = vstd_err(VSTD_EVERIFY,
			              "%s: the package has no manifest '%s' (required)", ovf_name,
			              mf_name);
		goto out;
	}
	res->has_manifest = 1;
	if (rc == 0)
		rc = ovf_pkg_read_all(pkg, mf_name, MF_MAX_SIZE, &mf_data, &mf_len);
	if (rc == 0)
		rc = ovf_mf_parse(&mf, mf_data, mf_len, mf_name);
	/* In an OVA, check the members in archive order: a gzip-wrapped OVA
	 * is then read forward once (gzio.c) instead of seeking back. */
	if (rc == 0 && mf.n > 0) {
		order = vstd_malloc_array(mf.n, sizeof(*order));
		if (order == NULL)
			rc = VSTD_ENOMEM;
	}
	for (size_t i = 0; rc == 0 && i < mf.n; i++) {
		size_t j = i;
		uint64_t key = member_offset(pkg, mf.e[i].name);
		while (j > 0 && member_offset(pkg, mf.e[order[j - 1]].name) > key) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	for (size_t i = 0; rc == 0 && i < mf.n; i++) {
		char hex[129];
		const ovf_mf_entry *e = &mf.e[order[i]];
		if (ovf_pkg_size(pkg, e->name, &sz) < 0) {
			rc = vstd_err(VSTD_EVERIFY,
			              "%s: line %u lists '%s', which is not in the package",
			              mf_name, e->line, e->name);
			fail_file(res, e->name);
			break;
		}
		rc = ovf_pkg_digest(pkg, e->name, e->alg, hex, sizeof(hex));
		if (rc < 0)
			break;
		if (strcmp(hex, e->hex) != 0) {
			rc = vstd_err(VSTD_EVERIFY,
			              "%s: %s digest of '%s' is %s, but the manifest "
			              "(line %u) says %s",
			              mf_name, e->alg, e->name, hex, e->line, e->hex);
			fail_file(res, e->name);
			break;
		}
		res->files_checked++;
	}
	/* DSP0243 5.1: the manifest covers the descriptor and every file. */
	if (rc == 0 && !listed(&mf, ovf_name)) {
		res->n_unlisted++;
		res->unlisted_file = vstd_strdup(ovf_name);
	}
	if (rc == 0 && ovf != NULL) {
		const vstd_ovf_model *m = vstd_ovf_model_get(ovf);
		for (size_t i = 0; rc == 0 && i < m->n_files; i++) {
			const vstd_ovf_file *f = &m->files[i];
			if (f->href == NULL || f->chunk_size > 0 || strstr(f->href, "://") != NULL)
				continue;
			if (ovf_pkg_size(pkg, f->href, &sz) < 0) {
				vstd_error_clear();
				continue; /* absence is the validator's finding */
			}
			if (!listed(&mf, f->href)) {
				if (res->n_unlisted++ == 0)
					res->unlisted_file = vstd_strdup(f->href);
			}
		}
	}
	if (rc == 0 && ovf_pkg_size(pkg, cert_name, &sz) == 0) {
		res->has_certificate = 1;
		rc = ovf_pkg_read_all(pkg, cert_name, MF_MAX_SIZE, &cert_data, &cert_len);
		if (rc == 0)
			rc = ovf_cert_verify(cert_name, cert_data, cert_len, mf_name, mf_data,
			                     mf_len, &o, res);
		if (rc < 0)
			fail_file(res, cert_name);
	} else if (rc == 0) {
		vstd_error_clear();
		if (o.require_signature)
			rc = vstd_err(VSTD_EVERIFY, "%s: the package is not signed (no '%s')",
			              ovf_name, cert_name);
	}
out:
	vstd_free(order);
	ovf_mf_free(&mf);
	vstd_free(mf_data);
	vstd_free(cert_data);
	vstd_free(mf_name);
	vstd_free(cert_name);
	return rc;
}

int vstd_ova_verify(vstd_ova *ova, const vstd_ovf_verify_opts *opts, vstd_ovf_verify_result *result)
{
	if (ova == NULL || result == NULL)
		return vstd_err(VSTD_EINVAL, "vstd_ova_verify: NULL argument");
	const vstd_ovf *ovf = NULL;
	int rc = vstd_ova_descriptor(ova, &ovf);
	if (rc < 0)
		return rc;
	ovf_pkg pkg = {ova, NULL};
	return verify_pkg(&pkg, vstd_ova_descriptor_name(ova), ovf, opts, result);
}

static int split_path(const char *path, char **dir, const char **base)
{
	const char *slash = strrchr(path, '/');
	*dir = slash ? (slash == path ? vstd_strdup("/")
	                              : vstd_strndup(path, (size_t)(slash - path)))
	             : vstd_strdup(".");
	*base = slash ? slash + 1 : path;
	return *dir ? 0 : VSTD_ENOMEM;
}

int vstd_ovf_dir_verify(const char *ovf_path, const vstd_ovf_verify_opts *opts,
                        vstd_ovf_verify_result *result)
{
	if (ovf_path == NULL || result == NULL)
		return vstd_err(VSTD_EINVAL, "vstd_ovf_dir_verify: NULL argument");
	char *dir;
	const char *base;
	int rc = split_path(ovf_path, &dir, &base);
	if (rc < 0)
		return rc;
	vstd_ovf *ovf = NULL;
	rc = vstd_ovf_open(&ovf, ovf_path, NULL);
	if (rc == 0) {
		ovf_pkg pkg = {NULL, dir};
		rc = verify_pkg(&pkg, base, ovf, opts, result);
	}
	vstd_ovf_free(ovf);
	vstd_free(dir);
	return rc;
}

void vstd_ovf_verify_result_clear(vstd_ovf_verify_result *r)
{
	if (r == NULL)
		return;
	vstd_free(r->signer);
	vstd_free(r->failed_file);
	vstd_free(r->unlisted_file);
	memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------ signing a directory */

static int write_file(const char *path, const void *data, size_t len)
{
	vstd_io *io = NULL;
	int rc = vstd_io_file_open(&io, path, VSTD_IO_WRITE | VSTD_IO_CREATE | VSTD_IO_TRUNC);
	if (rc == 0)
		rc = vstd_io_pwrite(io, data, len, 0);
	if (rc == 0)
		rc = vstd_io_flush(io);
	vstd_io_close(io);
	return rc;
}

int vstd_ovf_dir_sign(const char *ovf_path, const char *digest, const char *key_pem,
                      const char *cert_pem)
{
	const char *alg = ovf_mf_alg_name(digest);
	if (ovf_path == NULL || alg == NULL)
		return vstd_err(VSTD_EINVAL,
		                "vstd_ovf_dir_sign: unknown digest '%s' (sha1, sha256, sha512)",
		                digest ? digest : "(null)");
	if ((key_pem == NULL) != (cert_pem == NULL))
		return vstd_err(VSTD_EINVAL,
		                "vstd_ovf_dir_sign: give both the key and the certificate");
	char *dir;
	const char *base;
	int rc = split_path(ovf_path, &dir, &base);
	if (rc < 0)
		return rc;
	vstd_ovf *ovf = NULL;
	char *mf = NULL, *mf_name = ovf_sibling_name(base, ".mf"), *cert = NULL;
	char *cert_name = ovf_sibling_name(base, ".cert");
	char *mf_path = NULL, *cert_path = NULL;
	size_t mf_len = 0, mf_cap = 0, cert_len = 0;
	ovf_pkg pkg = {NULL, dir};
	rc = mf_name && cert_name ? vstd_ovf_open(&ovf, ovf_path, NULL) : VSTD_ENOMEM;
	const vstd_ovf_model *m = rc == 0 ? vstd_ovf_model_get(ovf) : NULL;
	for (size_t i = 0; rc == 0 && i <= m->n_files; i++) {
		const char *names[1];
		const char *name = i == 0 ? base : m->files[i - 1].href;
		(void)names;
		if (name == NULL || strstr(name, "://") != NULL)
			continue;
		unsigned long chunks = (i > 0 && m->files[i - 1].chunk_size > 0) ? 1000000ul : 0;
		for (unsigned long c = 0; rc == 0 && c <= chunks; c++) {
			char cname[4200];
			if (chunks)
				snprintf(cname, sizeof(cname), "%s.%09lu", name, c);
			else
				snprintf(cname, sizeof(cname), "%s", name);
			uint64_t sz;
			if (chunks && ovf_pkg_size(&pkg, cname, &sz) < 0) {
				vstd_error_clear();
				break;
			}
			char hex[129];
			rc = ovf_pkg_digest(&pkg, cname, alg, hex, sizeof(hex));
			if (rc < 0)
				break;
			size_t need = strlen(alg) + strlen(cname) + strlen(hex) + 8;
			if (mf_len + need + 1 > mf_cap) {
				size_t nc = (mf_cap + need + 1) * 2;
				char *nb = vstd_realloc(mf, nc);
				if (nb == NULL) {
					rc = VSTD_ENOMEM;
					break;
				}
				mf = nb;
				mf_cap = nc;
			}
			mf_len += (size_t)snprintf(mf + mf_len, mf_cap - mf_len, "%s(%s)= %s\n",
			                           alg, cname, hex);
		}
	}
	if (rc == 0) {
		mf_path = vstd_asprintf("%s/%s", dir, mf_name);
		rc = mf_path ? write_file(mf_path, mf ? mf : "", mf_len) : VSTD_ENOMEM;
	}
	if (rc == 0 && key_pem != NULL) {
		rc = ovf_cert_make(mf_name, mf ? mf : "", mf_len, alg, key_pem, cert_pem, &cert,
		                   &cert_len);
		if (rc == 0) {
			cert_path = vstd_asprintf("%s/%s", dir, cert_name);
			rc = cert_path ? write_file(cert_path, cert, cert_len) : VSTD_ENOMEM;
		}
	}
	vstd_ovf_free(ovf);
	vstd_free(mf);
	vstd_free(cert);
	vstd_free(mf_name);
	vstd_free(cert_name);
	vstd_free(mf_path);
	vstd_free(cert_path);
	vstd_free(dir);
	return rc;
}
