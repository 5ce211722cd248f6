/*
 * mgmt/wbem/auth.h - HTTP Basic credentials against the password file
 * and/or a PAM service, with a small cache of verified (user, password)
 * digests.
 */
#ifndef VSTD_MGMT_AUTH_H
#define VSTD_MGMT_AUTH_H

#include <pthread.h>
#include <stdint.h>

#define AUTH_CACHE_N 64
/* PAM answers are remembered this long (the password file's until it changes). */
#define AUTH_PAM_TTL_S 30

struct auth_cache {
	pthread_mutex_t lock;
	unsigned char key[32];
	unsigned char ok[AUTH_CACHE_N][32];
	int64_t when[AUTH_CACHE_N]; /* monotonic seconds the entry was verified */
	size_t n;
	uint64_t next; /* the entry replaced next once the cache is full */
	int64_t file_mtime;
};

void auth_cache_init(struct auth_cache *c);
void auth_cache_destroy(struct auth_cache *c);
/* 0 when the credentials are good: in the password file (if file is not
 * NULL), else through the PAM service (if pam_service is not NULL). */
int auth_check(struct auth_cache *c, const char *file, const char *pam_service, const char *user,
               const char *pw);
/* 0 when PAM's service accepts user and pw (authenticate + account). */
int auth_pam_check(const char *service, const char *user, const char *pw);

#endif
