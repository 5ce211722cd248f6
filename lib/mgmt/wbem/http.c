/*
 * mgmt/wbem/http.c - the WBEM server: libmicrohttpd (epoll, a small thread
 * pool), HTTPS through its GnuTLS support, HTTP Basic authentication,
 * POST /cimom (DSP0200 CIM-XML).  Requests larger than 16 MiB are refused
 * with 413 before they are read, idle connections time out (slowloris),
 * the number of connections is bounded.  M-POST gets 501 so clients fall
 * back to POST (DSP0200 7.2.2).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "mgmt/mgmt_internal.h"
#include "mgmt/util/util.h"
#include "mgmt/wbem/auth.h"

struct vstd_cim_server {
	struct MHD_Daemon *d;
	vstd_mgmt *m;
	char *passwd;      /* NULL: no password file */
	char *pam_service; /* NULL: no PAM */
	char *trace_dir;   /* NULL: no trace of requests and responses */
	unsigned long trace_n;
	char *cert, *key;
	struct auth_cache auth;
	unsigned port;
};

struct conn {
	char *body;
	size_t len, cap;
	int too_big;
	int auth_ok;
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return NULL;
	char *buf = vstd_malloc((1u << 20) + 1);
	size_t n = buf ? fread(buf, 1, 1u << 20, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = 0;
	return buf;
}

static void free_body(void *p)
{
	vstd_free(p);
}

static enum MHD_Result send_plain(struct MHD_Connection *c, unsigned status, const char *text,
                                  const char *cim_error)
{
	struct MHD_Response *r =
	        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain");
	if (cim_error) {
		MHD_add_response_header(r, "CIMError", cim_error);
		MHD_add_response_header(r, "CIMOperation", "MethodResponse");
	}
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* A refused login, with the user name (printable characters only, at
 * most 64) and the peer address; never the password. */
static void log_denied(struct MHD_Connection *c, const char *user)
{
	char u[65], a[INET6_ADDRSTRLEN] = "?";
	size_t n = 0;
	for (; user[n] && n < sizeof(u) - 1; n++)
		u[n] = (user[n] > 0x20 && user[n] < 0x7f) ? user[n] : '?';
	u[n] = 0;
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET,
			          &((const struct sockaddr_in *)(const void *)sa)->sin_addr, a,
			          sizeof(a));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
			          &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, a,
			          sizeof(a));
	}
	vstd_warn("cim", "authentication failed for user '%s' from %s", u, a);
}

static void trace_file(const char *dir, unsigned long n, const char *what, const char *data,
                       size_t len)
{
	char path[4096];
	if ((size_t)snprintf(path, sizeof(path), "%s/%06lu-%s.xml", dir, n, what) >= sizeof(path))
		return;
	FILE *f = fopen(path, "wxe");
	if (f == NULL)
		return;
	fwrite(data, 1, len, f);
	fclose(f);
}

/* The trace (tests, debugging): <n>-req.xml and <n>-rsp.xml for each
 * answered request, <n>-refused.xml (the body) for one answered 4xx. */
static void trace(struct vstd_cim_server *s, const char *body, size_t len,
                  const vstd_cim_reply *rep)
{
	unsigned long n = __atomic_add_fetch(&s->trace_n, 1, __ATOMIC_RELAXED);
	if (rep->body == NULL) {
		trace_file(s->trace_dir, n, "refused", body, len);
		return;
	}
	trace_file(s->trace_dir, n, "req", body, len);
	trace_file(s->trace_dir, n, "rsp", rep->body, rep->len);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
	struct vstd_cim_server *s = cls;
	struct conn *st = *con_cls;
	if (st == NULL) {
		/* first call: headers only */
		if (strcmp(method, "M-POST") == 0)
			return send_plain(c, MHD_HTTP_NOT_IMPLEMENTED, "use POST\n", NULL);
		if (strcmp(method, "POST") != 0)
			return send_plain(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			                  "CIM-XML needs POST /cimom\n", NULL);
		char *user = NULL, *pass = NULL;
		user = MHD_basic_auth_get_username_password(c, &pass);
		int ok = user && pass &&
		         auth_check(&s->auth, s->passwd, s->pam_service, user, pass) == 0;
		if (!ok && user)
			log_denied(c, user);
		if (user)
			MHD_free(user);
		if (pass)
			MHD_free(pass);
		if (!ok) {
			static const char deny[] = "authentication required\n";
			struct MHD_Response *r = MHD_create_response_from_buffer(
			        strlen(deny), (void *)deny, MHD_RESPMEM_PERSISTENT);
			enum MHD_Result ret = MHD_queue_basic_auth_fail_response(c, "vstd CIM", r);
			MHD_destroy_response(r);
			return ret;
		}
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > VSTD_CIM_MAX_REQUEST)
			return send_plain(c, MHD_HTTP_CONTENT_TOO_LARGE,
			                  "requests are limited to 16 MiB\n", NULL);
		st = vstd_calloc(1, sizeof(*st));
		if (st == NULL)
			return MHD_NO;
		*con_cls = st;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (st->too_big || n > VSTD_CIM_MAX_REQUEST - st->len) {
			st->too_big = 1;
			return MHD_YES; /* discard; answered at the end */
		}
		if (st->len + n + 1 > st->cap) {
			size_t cap = st->cap ? st->cap : 8192;
			while (cap < st->len + n + 1)
				cap *= 2;
			char *b = vstd_realloc(st->body, cap);
			if (b == NULL)
				return MHD_NO;
			st->body = b;
			st->cap = cap;
		}
		memcpy(st->body + st->len, upload, n);
		st->len += n;
		return MHD_YES;
	}
	if (st->too_big)
		return send_plain(c, MHD_HTTP_CONTENT_TOO_LARGE, "requests are limited to 16 MiB\n",
		                  NULL);
	(void)url;
	(void)version;
	vstd_cim_request rq = {MHD_lookup_connection_value(c, MHD_HEADER_KIND, "CIMOperation"),
	                       MHD_lookup_connection_value(c, MHD_HEADER_KIND, "CIMMethod"),
	                       MHD_lookup_connection_value(c, MHD_HEADER_KIND, "CIMObject"),
	                       st->body ? st->body : "", st->len};
	vstd_cim_reply rep;
	if (vstd_cim_handle(s->m, &rq, &rep) < 0)
		return send_plain(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
	if (s->trace_dir)
		trace(s, st->body ? st->body : "", st->len, &rep);
	if (rep.body == NULL) {
		unsigned code = (unsigned)rep.http_status;
		return send_plain(c, code,
		                  code == 413 ? "requests are limited to 16 MiB\n"
		                              : "not a valid CIM-XML request\n",
		                  rep.cim_error);
	}
	/* the response owns the body (no copy); freed when sent */
	struct MHD_Response *r =
	        MHD_create_response_from_buffer_with_free_callback(rep.len, rep.body, free_body);
	if (r == NULL) {
		vstd_cim_reply_clear(&rep);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/xml; charset=\"utf-8\"");
	MHD_add_response_header(r, "CIMOperation", "MethodResponse");
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
	struct conn *st = *con_cls;
	(void)cls;
	(void)c;
	(void)toe;
	if (st) {
		vstd_free(st->body);
		vstd_free(st);
		*con_cls = NULL;
	}
}

int vstd_cim_server_start(vstd_cim_server **out, vstd_mgmt *m, const vstd_cim_server_opts *o)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	if (out == NULL || m == NULL || o == NULL || o->version != VSTD_CIM_SERVER_OPTS_VERSION ||
	    (o->passwd_file == NULL && o->pam_service == NULL))
		return vstd_err(VSTD_EINVAL, "cim: server options need a version and a passwd_file "
		                             "or a pam_service");
	if (o->pam_service != NULL &&
	    (o->pam_service[0] == 0 || strlen(o->pam_service) > 64 || strchr(o->pam_service, '/')))
		return vstd_err(VSTD_EINVAL,
		                "cim: PAM service name '%s' is not a file name in "
		                "/etc/pam.d",
		                o->pam_service);
	if (!o->insecure_http && (o->tls_cert_file == NULL || o->tls_key_file == NULL))
		return vstd_err(VSTD_EINVAL, "cim: HTTPS needs tls_cert_file and tls_key_file (or "
		                             "ask for insecure_http)");
	if (!o->insecure_http && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return vstd_err(VSTD_ENOTSUP, "cim: this libmicrohttpd has no TLS support");
	unsigned port = o->port ? o->port : (o->insecure_http ? 5988 : 5989);
	const char *addr = o->address ? o->address : "127.0.0.1";
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	unsigned flags =
	        (o->insecure_http ? MHD_USE_EPOLL_INTERNAL_THREAD : MHD_USE_POLL_INTERNAL_THREAD);
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*s6);
		flags |= MHD_USE_IPv6;
	} else {
		return vstd_err(VSTD_EINVAL, "cim: listen address '%s' is not an IP literal", addr);
	}
	(void)sl;
	vstd_cim_server *s = vstd_calloc(1, sizeof(*s));
	if (s == NULL)
		return vstd_err_code();
	s->m = m;
	s->passwd = o->passwd_file ? vstd_strdup(o->passwd_file) : NULL;
	s->pam_service = o->pam_service ? vstd_strdup(o->pam_service) : NULL;
	s->trace_dir = o->trace_dir ? vstd_strdup(o->trace_dir) : NULL;
	if ((o->passwd_file && s->passwd == NULL) || (o->pam_service && s->pam_service == NULL) ||
	    (o->trace_dir && s->trace_dir == NULL)) {
		vstd_cim_server_stop(s);
		return vstd_err_code();
	}
	auth_cache_init(&s->auth);
	if (!o->insecure_http) {
		s->cert = slurp(o->tls_cert_file);
		s->key = slurp(o->tls_key_file);
		if (s->cert == NULL || s->key == NULL) {
			vstd_cim_server_stop(s);
			return vstd_err(VSTD_EIO, "cim: cannot read %s or %s", o->tls_cert_file,
			                o->tls_key_file);
		}
		flags |= MHD_USE_TLS;
	}
	struct MHD_OptionItem tls_opts[] = {
	        {MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert},
	        {MHD_OPTION_HTTPS_MEM_KEY, 0, s->key},
	        {MHD_OPTION_END, 0, NULL},
	};
	s->d = MHD_start_daemon(
	        flags, (uint16_t)port, NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR, &ss,
	        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(o->threads ? o->threads : 4),
	        MHD_OPTION_CONNECTION_LIMIT,
	        (unsigned)(o->max_connections ? o->max_connections : 2048),
	        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(o->timeout_s ? o->timeout_s : 15),
	        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
	        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)4096, MHD_OPTION_NOTIFY_COMPLETED,
	        completed, s, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_ARRAY,
	        o->insecure_http ? &tls_opts[2] : tls_opts, MHD_OPTION_END);
	if (s->d == NULL) {
		vstd_cim_server_stop(s);
		return vstd_err(VSTD_EIO,
		                "cim: cannot serve on %s port %u (in use, or bad TLS "
		                "certificate/key)",
		                addr, port);
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di && di->port ? di->port : port;
	*out = s;
	return 0;
}

unsigned vstd_cim_server_port(const vstd_cim_server *s)
{
	return s ? s->port : 0;
}

void vstd_cim_server_stop(vstd_cim_server *s)
{
	if (s == NULL)
		return;
	if (s->d)
		MHD_stop_daemon(s->d);
	auth_cache_destroy(&s->auth);
	vstd_free(s->passwd);
	vstd_free(s->pam_service);
	vstd_free(s->trace_dir);
	vstd_free(s->cert);
	vstd_free(s->key);
	vstd_free(s);
}
