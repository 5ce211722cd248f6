/*
 * mgmt/wbem/auth.h - HTTP Basic credentials against the password file,
 * with a small cache of verified (user, password) digests.
 */
#ifndef VSTD_MGMT_AUTH_H
#define VSTD_MGMT_AUTH_H

#include <pthread.h>
#include <stdint.h>

#define AUTH_CACHE_N 64

struct auth_cache {
	pthread_mutex_t lock;
	unsigned char key[32];
	unsigned char ok[AUTH_CACHE_N][32];
	size_t n;
	int64_t file_mtime;
};

void auth_cache_init(struct auth_cache *c);
void auth_cache_destroy(struct auth_cache *c);
/* 0 when the credentials are good. */
int auth_check(struct auth_cache *c, const char *file, const char *user, const char *pw);

#endif
