/*
 * descriptor/manifest/cert.c - the package certificate (.cert, DSP0243 5.1):
 * a line "ALG(name.mf)= hex-signature" (the signature over the manifest's
 * bytes with the signer's private key and that digest), followed by the
 * signer's X.509 certificate and any intermediates, PEM-encoded.
 *
 * Verification checks the signature with the first certificate's public key,
 * then the chain against a CA store (the system default, or the caller's
 * file / directory); the remaining certificates of the file serve as
 * untrusted intermediates.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "descriptor/ova/ova_internal.h"

static const EVP_MD *md_of(const char *alg)
{
	if (strcmp(alg, "SHA1") == 0)
		return EVP_sha1();
	if (strcmp(alg, "SHA256") == 0)
		return EVP_sha256();
	if (strcmp(alg, "SHA512") == 0)
		return EVP_sha512();
	if (strcmp(alg, "SHA384") == 0)
		return EVP_sha384();
	return NULL;
}

static const char *ssl_reason(void)
{
	unsigned long e = ERR_get_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	ERR_clear_error();
	return r ? r : "unknown OpenSSL error";
}

static int read_pem_file(const char *path, char **out, size_t *len)
{
	vstd_io *io = NULL;
	uint64_t size = 0;
	int rc = vstd_io_file_open(&io, path, VSTD_IO_READ);
	if (rc == 0)
		rc = vstd_io_size(io, &size);
	if (rc == 0 && size > (1u << 20))
		rc = vstd_err(VSTD_ELIMIT, "%s: larger than 1 MiB", path);
	char *buf = NULL;
	if (rc == 0) {
		buf = vstd_malloc((size_t)size + 1);
		rc = buf ? vstd_io_pread(io, buf, (size_t)size, 0) : VSTD_ENOMEM;
	}
	vstd_io_close(io);
	if (rc < 0) {
		vstd_free(buf);
		return rc;
	}
	buf[size] = '\0';
	*out = buf;
	*len = (size_t)size;
	return 0;
}

int ovf_cert_make(const char *mf_name, const void *mf, size_t mf_len, const char *alg,
                  const char *key_pem, const char *cert_pem, char **out, size_t *out_len)
{
	const EVP_MD *md = md_of(alg);
	if (md == NULL)
		return vstd_err(VSTD_EINVAL, "unknown digest %s", alg);
	char *cert_text = NULL;
	size_t cert_len = 0;
	int rc = read_pem_file(cert_pem, &cert_text, &cert_len);
	if (rc < 0)
		return rc;
	EVP_PKEY *key = NULL;
	BIO *kb = BIO_new_file(key_pem, "r");
	if (kb != NULL) {
		key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
		BIO_free(kb);
	}
	if (key == NULL) {
		vstd_free(cert_text);
		return vstd_err(VSTD_EINVAL, "%s: cannot read a PEM private key (%s)", key_pem,
		                ssl_reason());
	}
	/* The certificate must match the key. */
	BIO *cb = BIO_new_mem_buf(cert_text, (int)cert_len);
	X509 *x = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
	BIO_free(cb);
	if (x == NULL) {
		rc = vstd_err(VSTD_EINVAL, "%s: no PEM certificate (%s)", cert_pem, ssl_reason());
	} else if (X509_check_private_key(x, key) != 1) {
		rc = vstd_err(VSTD_EINVAL, "%s: the certificate does not match the key %s",
		              cert_pem, key_pem);
	}
	X509_free(x);
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	EVP_MD_CTX *ctx = rc == 0 ? EVP_MD_CTX_new() : NULL;
	if (rc == 0 && (ctx == NULL || EVP_DigestSignInit(ctx, NULL, md, NULL, key) != 1 ||
	                EVP_DigestSign(ctx, NULL, &sig_len, mf, mf_len) != 1))
		rc = vstd_err(VSTD_ERROR, "signing %s failed (%s)", mf_name, ssl_reason());
	if (rc == 0) {
		sig = vstd_malloc(sig_len);
		if (sig == NULL)
			rc = VSTD_ENOMEM;
		else if (EVP_DigestSign(ctx, sig, &sig_len, mf, mf_len) != 1)
			rc = vstd_err(VSTD_ERROR, "signing %s failed (%s)", mf_name, ssl_reason());
	}
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	if (rc == 0) {
		size_t total = strlen(alg) + strlen(mf_name) + 2 * sig_len + 8 + cert_len + 1;
		char *o = vstd_malloc(total);
		if (o == NULL) {
			rc = VSTD_ENOMEM;
		} else {
			size_t k = (size_t)snprintf(o, total, "%s(%s)= ", alg, mf_name);
			for (size_t i = 0; i < sig_len; i++)
				k += (size_t)snprintf(o + k, total - k, "%02x", sig[i]);
			k += (size_t)snprintf(o + k, total - k, "\n");
			memcpy(o + k, cert_text, cert_len);
			k += cert_len;
			*out = o;
			*out_len = k;
		}
	}
	vstd_free(sig);
	vstd_free(cert_text);
	return rc;
}

int ovf_cert_verify(const char *cert_name, const char *cert, size_t cert_len, const char *mf_name,
                    const void *mf, size_t mf_len, const vstd_ovf_verify_opts *opts,
                    vstd_ovf_verify_result *res)
{
	/* First line: ALG(name)= hex */
	const char *nl = memchr(cert, '\n', cert_len);
	size_t ll = nl ? (size_t)(nl - cert) : cert_len;
	const char *lp = memchr(cert, '(', ll);
	const char *rp = lp ? memchr(lp, ')', ll - (size_t)(lp - cert)) : NULL;
	if (lp == NULL || rp == NULL || (size_t)(lp - cert) >= 16 || rp + 2 > cert + ll ||
	    rp[1] != '=')
		return vstd_err(VSTD_ECORRUPT,
		                "%s: line 1 is not 'ALG(name.mf)= signature' (DSP0243 5.1)",
		                cert_name);
	char alg[16];
	memcpy(alg, cert, (size_t)(lp - cert));
	alg[lp - cert] = '\0';
	const EVP_MD *md = md_of(alg);
	if (md == NULL)
		return vstd_err(VSTD_ENOTSUP, "%s: signature digest '%s' is not supported",
		                cert_name, alg);
	if ((size_t)(rp - lp - 1) != strlen(mf_name) ||
	    memcmp(lp + 1, mf_name, strlen(mf_name)) != 0)
		return vstd_err(VSTD_EVERIFY,
		                "%s: the signature is over '%.*s', not the manifest '%s'",
		                cert_name, (int)(rp - lp - 1), lp + 1, mf_name);
	const char *h = rp + 2;
	while (h < cert + ll && *h == ' ')
		h++;
	size_t hl = (size_t)(cert + ll - h);
	while (hl > 0 && (h[hl - 1] == '\r' || h[hl - 1] == ' '))
		hl--;
	if (hl == 0 || hl % 2 != 0 || hl > 8192)
		return vstd_err(VSTD_ECORRUPT, "%s: signature is not hexadecimal", cert_name);
	unsigned char sig[4096];
	size_t sig_len = hl / 2;
	for (size_t i = 0; i < sig_len; i++) {
		int hi = isxdigit((unsigned char)h[2 * i]),
		    lo = isxdigit((unsigned char)h[2 * i + 1]);
		if (!hi || !lo)
			return vstd_err(VSTD_ECORRUPT, "%s: signature is not hexadecimal",
			                cert_name);
		char pair[3] = {h[2 * i], h[2 * i + 1], 0};
		sig[i] = (unsigned char)strtoul(pair, NULL, 16);
	}
	/* Certificates that follow. */
	size_t rest = nl ? cert_len - ll - 1 : 0;
	BIO *b = BIO_new_mem_buf(nl ? nl + 1 : "", (int)rest);
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *signer = NULL;
	int rc = 0;
	if (b == NULL || chain == NULL) {
		rc = VSTD_ENOMEM;
		goto out;
	}
	for (;;) {
		X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		if (x == NULL)
			break;
		if (signer == NULL)
			signer = x;
		else if (!sk_X509_push(chain, x)) {
			X509_free(x);
			rc = VSTD_ENOMEM;
			goto out;
		}
		if (sk_X509_num(chain) > 16) {
			rc = vstd_err(VSTD_ELIMIT, "%s: more than 16 certificates", cert_name);
			goto out;
		}
	}
	ERR_clear_error();
	if (signer == NULL) {
		rc = vstd_err(VSTD_ECORRUPT, "%s: no PEM certificate after the signature line",
		              cert_name);
		goto out;
	}
	char subject[512];
	X509_NAME_oneline(X509_get_subject_name(signer), subject, sizeof(subject));
	res->signer = vstd_strdup(subject);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL) {
		rc = VSTD_ENOMEM;
		goto out;
	}
	int ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, X509_get0_pubkey(signer)) == 1 &&
	         EVP_DigestVerify(ctx, sig, sig_len, mf, mf_len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	if (!ok) {
		rc = vstd_err(VSTD_EVERIFY,
		              "%s: the signature of '%s' does not verify with the key of %s",
		              cert_name, mf_name, subject);
		goto out;
	}
	res->signature_valid = 1;
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *sctx = X509_STORE_CTX_new();
	if (store == NULL || sctx == NULL) {
		X509_STORE_free(store);
		X509_STORE_CTX_free(sctx);
		rc = VSTD_ENOMEM;
		goto out;
	}
	if (opts->ca_file != NULL || opts->ca_dir != NULL) {
		if (X509_STORE_load_locations(store, opts->ca_file, opts->ca_dir) != 1)
			rc = vstd_err(VSTD_EINVAL, "cannot load the CA store %s%s (%s)",
			              opts->ca_file ? opts->ca_file : "",
			              opts->ca_dir ? opts->ca_dir : "", ssl_reason());
	} else {
		X509_STORE_set_default_paths(store);
	}
	if (rc == 0 && X509_STORE_CTX_init(sctx, store, signer, chain) == 1) {
		if (opts->ignore_time)
			X509_STORE_CTX_set_flags(sctx, X509_V_FLAG_NO_CHECK_TIME);
		if (X509_verify_cert(sctx) == 1) {
			res->chain_trusted = 1;
		} else {
			int e = X509_STORE_CTX_get_error(sctx);
			rc = vstd_err(VSTD_EVERIFY, "%s: the certificate of %s is not trusted: %s",
			              cert_name, subject, X509_verify_cert_error_string(e));
		}
	}
	ERR_clear_error();
	X509_STORE_CTX_free(sctx);
	X509_STORE_free(store);
out:
	X509_free(signer);
	sk_X509_pop_free(chain, X509_free);
	BIO_free(b);
	return rc;
}
