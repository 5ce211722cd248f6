/*
 * mgmt/wbem/pam.c - HTTP Basic credentials checked through Linux-PAM:
 * pam_start(service, user), a conversation that answers the password
 * prompt (and nothing else), pam_authenticate + pam_acct_mgmt, pam_end.
 * The password is copied only into the reply PAM asks for (PAM frees and
 * wipes it); it is never logged.  Calls are serialised: modules such as
 * pam_unix use non-reentrant libc lookups, and one at a time also slows
 * password guessing.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

#include "core/error_internal.h"
#include "mgmt/wbem/auth.h"

static pthread_mutex_t pam_lock = PTHREAD_MUTEX_INITIALIZER;

/* The conversation: the password for every hidden prompt, the user name for
 * a visible one, nothing for messages.  Replies are malloc'd: PAM frees them. */
static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	const char *const *cred = data; /* [0] user, [1] password */
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		const char *v = NULL;
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF: v = cred[1]; break;
		case PAM_PROMPT_ECHO_ON: v = cred[0]; break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO: break;
		default: goto fail;
		}
		if (v != NULL && (r[i].resp = strdup(v)) == NULL)
			goto fail;
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (int i = 0; i < n; i++)
		if (r[i].resp) {
			explicit_bzero(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	free(r);
	return PAM_CONV_ERR;
}

int auth_pam_check(const char *service, const char *user, const char *pw)
{
	const char *cred[2] = {user, pw};
	struct pam_conv c = {conv, (void *)cred};
	pam_handle_t *h = NULL;
	if (service == NULL || user == NULL || pw == NULL || user[0] == 0)
		return VSTD_EVERIFY;
	pthread_mutex_lock(&pam_lock);
	int rc = pam_start(service, user, &c, &h);
	if (rc == PAM_SUCCESS)
		rc = pam_authenticate(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (h != NULL)
		pam_end(h, rc);
	pthread_mutex_unlock(&pam_lock);
	return rc == PAM_SUCCESS ? 0 : VSTD_EVERIFY;
}
