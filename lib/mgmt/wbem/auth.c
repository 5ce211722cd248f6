/*
 * mgmt/wbem/auth.c - the password file: lines "user:pbkdf2-sha256:
 * <iterations>:<salt hex>:<hash hex>".  Checking is constant-time over the
 * hash; verified credentials are remembered (as a keyed digest, never the
 * password) so PBKDF2 runs once per user and password, not per request.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "mgmt/mgmt_internal.h"
#include "mgmt/util/util.h"
#include "mgmt/wbem/auth.h"

#define ITERATIONS 100000
#define SALT_LEN 16
#define HASH_LEN 32
#define MAX_FILE (1u << 20)

static int user_ok(const char *u)
{
	size_t n = strlen(u);
	if (n == 0 || n > 64)
		return 0;
	for (; *u; u++)
		if (!((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') ||
		      (*u >= '0' && *u <= '9') || *u == '.' || *u == '_' || *u == '-'))
			return 0;
	return 1;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static int unhex(const char *s, unsigned char *b, size_t n)
{
	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		b[i] = (unsigned char)v;
	}
	return 0;
}

static int read_file(const char *file, char **out)
{
	FILE *f = fopen(file, "re");
	*out = NULL;
	if (f == NULL)
		return errno == ENOENT
		               ? VSTD_ENOENT
		               : vstd_err_errno(VSTD_EIO, errno, "cim: cannot read %s", file);
	char *buf = vstd_malloc(MAX_FILE + 1);
	if (buf == NULL) {
		fclose(f);
		return vstd_err_code();
	}
	size_t n = fread(buf, 1, MAX_FILE + 1, f);
	fclose(f);
	if (n > MAX_FILE) {
		vstd_free(buf);
		return vstd_err(VSTD_ELIMIT, "cim: password file %s is larger than 1 MiB", file);
	}
	buf[n] = 0;
	*out = buf;
	return 0;
}

int vstd_cim_passwd_set(const char *file, const char *user, const char *password)
{
	unsigned char salt[SALT_LEN], hash[HASH_LEN];
	char line[512], sh[2 * SALT_LEN + 1], hh[2 * HASH_LEN + 1];
	char *old = NULL;
	int rc;
	if (file == NULL || user == NULL || password == NULL || !user_ok(user))
		return vstd_err(VSTD_EINVAL, "cim: user names are 1-64 of [A-Za-z0-9._-]");
	if (strlen(password) > 1024)
		return vstd_err(VSTD_EINVAL, "cim: password longer than 1024 bytes");
	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, sizeof(salt), ITERATIONS,
	                      EVP_sha256(), sizeof(hash), hash) != 1)
		return vstd_err(VSTD_ERROR, "cim: OpenSSL could not hash the password");
	hex(salt, sizeof(salt), sh);
	hex(hash, sizeof(hash), hh);
	snprintf(line, sizeof(line), "%s:pbkdf2-sha256:%d:%s:%s\n", user, ITERATIONS, sh, hh);
	rc = read_file(file, &old);
	if (rc < 0 && rc != VSTD_ENOENT)
		return rc;
	sbuf b;
	sbuf_init(&b, MAX_FILE);
	size_t ul = strlen(user);
	for (char *p = old; p && *p;) {
		char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) + 1 : strlen(p);
		if (!(l > ul && strncmp(p, user, ul) == 0 && p[ul] == ':'))
			sbuf_add(&b, p, l);
		if (l && p[l - 1] != '\n')
			sbuf_puts(&b, "\n");
		p += l;
	}
	sbuf_puts(&b, line);
	vstd_free(old);
	if (b.failed) {
		sbuf_free(&b);
		return vstd_err(VSTD_ELIMIT, "cim: password file too large");
	}
	rc = mgmt_write_atomic(file, b.data, b.len, 0600);
	sbuf_free(&b);
	OPENSSL_cleanse(hash, sizeof(hash));
	return rc;
}

int vstd_cim_passwd_check(const char *file, const char *user, const char *password)
{
	char *buf;
	int rc = read_file(file, &buf);
	if (rc < 0)
		return rc == VSTD_ENOENT ? vstd_err(VSTD_ENOENT, "cim: no password file %s", file)
		                         : rc;
	rc = vstd_err(VSTD_EVERIFY, "cim: wrong user or password");
	size_t ul = user ? strlen(user) : 0;
	int found = 0;
	for (char *p = buf; user && password && *p;) {
		char *e = strchr(p, '\n');
		if (e)
			*e = 0;
		if (strncmp(p, user, ul) == 0 && p[ul] == ':' && ul > 0) {
			char alg[32], shx[2 * SALT_LEN + 2], hhx[2 * HASH_LEN + 2];
			int iter;
			unsigned char salt[SALT_LEN], want[HASH_LEN], got[HASH_LEN];
			if (sscanf(p + ul + 1, "%31[^:]:%d:%33[0-9a-f]:%65[0-9a-f]", alg, &iter,
			           shx, hhx) == 4 &&
			    strcmp(alg, "pbkdf2-sha256") == 0 && iter > 0 && iter <= 10000000 &&
			    unhex(shx, salt, SALT_LEN) == 0 && unhex(hhx, want, HASH_LEN) == 0 &&
			    PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, SALT_LEN, iter,
			                      EVP_sha256(), HASH_LEN, got) == 1 &&
			    CRYPTO_memcmp(got, want, HASH_LEN) == 0)
				rc = 0;
			found = 1;
			break;
		}
		if (!e)
			break;
		p = e + 1;
	}
	if (!found && password != NULL) {
		/* an unknown user costs the same PBKDF2 as a known one, so the time
		 * of an answer does not tell which user names exist */
		unsigned char salt[SALT_LEN] = {0}, got[HASH_LEN];
		PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, SALT_LEN, ITERATIONS,
		                  EVP_sha256(), HASH_LEN, got);
		OPENSSL_cleanse(got, sizeof(got));
	}
	vstd_free(buf);
	return rc;
}

/* ------------------------------------------------------------ cache */

void auth_cache_init(struct auth_cache *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	RAND_bytes(c->key, sizeof(c->key));
}

void auth_cache_destroy(struct auth_cache *c)
{
	pthread_mutex_destroy(&c->lock);
	OPENSSL_cleanse(c, sizeof(*c));
}

static void digest(const struct auth_cache *c, char src, const char *user, const char *pw,
                   unsigned char out[32])
{
	unsigned int len = 32;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL) {
		memset(out, 0, 32);
		return;
	}
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, c->key, sizeof(c->key));
	EVP_DigestUpdate(ctx, &src, 1);
	EVP_DigestUpdate(ctx, user, strlen(user) + 1);
	EVP_DigestUpdate(ctx, pw, strlen(pw));
	EVP_DigestFinal_ex(ctx, out, &len);
	EVP_MD_CTX_free(ctx);
}

static int64_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* 1 when d is remembered; PAM entries (ttl > 0) only for ttl seconds. */
static int cache_has(struct auth_cache *c, const unsigned char d[32], int64_t ttl)
{
	int hit = 0;
	int64_t t = now_s();
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n; i++)
		if (CRYPTO_memcmp(c->ok[i], d, 32) == 0 && (ttl == 0 || t - c->when[i] < ttl))
			hit = 1; /* no early exit: every entry is compared */
	pthread_mutex_unlock(&c->lock);
	return hit;
}

static void cache_add(struct auth_cache *c, const unsigned char d[32])
{
	pthread_mutex_lock(&c->lock);
	size_t i = c->n < AUTH_CACHE_N ? c->n++ : (size_t)(c->next++ % AUTH_CACHE_N);
	memcpy(c->ok[i], d, 32);
	c->when[i] = now_s();
	pthread_mutex_unlock(&c->lock);
}

int auth_check(struct auth_cache *c, const char *file, const char *pam_service, const char *user,
               const char *pw)
{
	unsigned char d[32];
	struct stat st;
	int rc = VSTD_EVERIFY;
	if (user == NULL || pw == NULL)
		return VSTD_EVERIFY;
	if (file != NULL) {
		int64_t mtime = stat(file, &st) == 0
		                        ? (int64_t)st.st_mtime * 1000000000 + st.st_mtim.tv_nsec
		                        : 0;
		pthread_mutex_lock(&c->lock);
		if (c->file_mtime != mtime) {
			c->n = 0; /* the file changed: forget everything */
			c->file_mtime = mtime;
		}
		pthread_mutex_unlock(&c->lock);
		digest(c, 'F', user, pw, d);
		if (cache_has(c, d, 0))
			return 0;
		rc = vstd_cim_passwd_check(file, user, pw);
		if (rc == 0) {
			cache_add(c, d);
			return 0;
		}
	}
	if (pam_service != NULL) {
		digest(c, 'P', user, pw, d);
		if (cache_has(c, d, AUTH_PAM_TTL_S))
			return 0;
		rc = auth_pam_check(pam_service, user, pw);
		if (rc == 0)
			cache_add(c, d);
	}
	OPENSSL_cleanse(d, sizeof(d));
	return rc;
}
