/*
 * mgmt/client/client.c - a small CIM-XML over HTTP(S) client: one
 * keep-alive connection, OpenSSL for TLS, Basic authentication, bounded
 * response size and timeouts (the server's answers are input too).
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "mgmt/client/client.h"
#include "mgmt/util/util.h"

#define MAX_HEADERS (64u << 10)
#define MAX_BODY (64u << 20)

struct vstd_cim_client {
	char host[256];
	unsigned port;
	int tls, no_verify;
	char *ca_file;
	char *auth; /* "Basic base64" */
	unsigned timeout_ms;
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	char buf[16384];
	size_t blen, bpos;
};

int vstd_cim_client_open(vstd_cim_client **out, const vstd_cim_client_opts *o)
{
	if (out == NULL || o == NULL || o->version != VSTD_CIM_CLIENT_OPTS_VERSION)
		return vstd_err(VSTD_EINVAL, "cim client: options need a version");
	vstd_cim_client *c = vstd_calloc(1, sizeof(*c));
	if (c == NULL)
		return vstd_err_code();
	c->fd = -1;
	if (mgmt_copy(c->host, sizeof(c->host), o->host ? o->host : "127.0.0.1", "host") < 0) {
		vstd_free(c);
		return VSTD_EINVAL;
	}
	c->tls = o->tls;
	c->no_verify = o->no_verify;
	c->port = o->port ? o->port : (o->tls ? 5989 : 5988);
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : 30000;
	c->ca_file = o->ca_file ? vstd_strdup(o->ca_file) : NULL;
	if (o->user) {
		char cred[600];
		unsigned char b64[820];
		int n = snprintf(cred, sizeof(cred), "%s:%s", o->user,
		                 o->password ? o->password : "");
		if (n < 0 || (size_t)n >= sizeof(cred)) {
			vstd_cim_client_close(c);
			return vstd_err(VSTD_EINVAL, "cim client: credentials too long");
		}
		EVP_EncodeBlock(b64, (const unsigned char *)cred, n);
		c->auth = vstd_asprintf("Basic %s", b64);
		OPENSSL_cleanse(cred, sizeof(cred));
	}
	*out = c;
	return 0;
}

static void disconnect(vstd_cim_client *c)
{
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->blen = c->bpos = 0;
}

void vstd_cim_client_close(vstd_cim_client *c)
{
	if (c == NULL)
		return;
	disconnect(c);
	if (c->ctx)
		SSL_CTX_free(c->ctx);
	vstd_free(c->ca_file);
	vstd_free(c->auth);
	vstd_free(c);
}

void vstd_cim_client_free_buffer(void *p)
{
	vstd_free(p);
}

static int wait_fd(vstd_cim_client *c, short ev)
{
	struct pollfd p = {c->fd, ev, 0};
	int r;
	while ((r = poll(&p, 1, (int)c->timeout_ms)) < 0 && errno == EINTR)
		;
	if (r <= 0)
		return vstd_err(VSTD_EIO, "cim client: %s:%u did not answer within %u ms", c->host,
		                c->port, c->timeout_ms);
	return 0;
}

static int do_connect(vstd_cim_client *c)
{
	struct addrinfo hints, *res = NULL;
	char port[16];
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%u", c->port);
	int e = getaddrinfo(c->host, port, &hints, &res);
	if (e != 0)
		return vstd_err(VSTD_EIO, "cim client: cannot resolve %s: %s", c->host,
		                gai_strerror(e));
	int rc = VSTD_EIO;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		c->fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (c->fd < 0)
			continue;
		if (connect(c->fd, a->ai_addr, a->ai_addrlen) == 0) {
			rc = 0;
			break;
		}
		close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	if (rc < 0)
		return vstd_err_errno(VSTD_EIO, errno, "cim client: cannot connect to %s:%u",
		                      c->host, c->port);
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct timeval tv = {c->timeout_ms / 1000, (c->timeout_ms % 1000) * 1000};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (!c->tls)
		return 0;
	if (c->ctx == NULL) {
		c->ctx = SSL_CTX_new(TLS_client_method());
		if (c->ctx == NULL)
			return vstd_err(VSTD_EIO, "cim client: cannot create a TLS context");
		SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
		if (c->no_verify) {
			SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
		} else {
			SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
			if ((c->ca_file ? SSL_CTX_load_verify_locations(c->ctx, c->ca_file, NULL)
			                : SSL_CTX_set_default_verify_paths(c->ctx)) != 1)
				return vstd_err(VSTD_EIO,
				                "cim client: cannot load CA certificates");
		}
	}
	c->ssl = SSL_new(c->ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return vstd_err(VSTD_EIO, "cim client: cannot start TLS");
	SSL_set_tlsext_host_name(c->ssl, c->host);
	if (!c->no_verify) {
		/* an IP literal is checked against the certificate's IP addresses */
		unsigned char ipbuf[16];
		if (inet_pton(AF_INET, c->host, ipbuf) == 1 ||
		    inet_pton(AF_INET6, c->host, ipbuf) == 1)
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->host);
		else
			SSL_set1_host(c->ssl, c->host);
	}
	if (SSL_connect(c->ssl) != 1) {
		unsigned long err = ERR_get_error();
		char msg[256];
		ERR_error_string_n(err, msg, sizeof(msg));
		return vstd_err(VSTD_EIO, "cim client: TLS handshake with %s:%u failed: %s",
		                c->host, c->port, msg);
	}
	return 0;
}

static int io_write(vstd_cim_client *c, const char *p, size_t n)
{
	while (n) {
		ssize_t w;
		if (c->ssl) {
			int k = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
			w = k > 0 ? k : -1;
		} else {
			w = send(c->fd, p, n, MSG_NOSIGNAL);
		}
		if (w < 0 && errno == EINTR && !c->ssl)
			continue;
		if (w <= 0)
			return VSTD_EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Fill the buffer; 0 bytes: closed. */
static ssize_t io_fill(vstd_cim_client *c)
{
	if (c->bpos == c->blen)
		c->bpos = c->blen = 0;
	if (c->blen == sizeof(c->buf))
		return -1;
	if (!c->ssl || SSL_pending(c->ssl) == 0)
		if (wait_fd(c, POLLIN) < 0)
			return -1;
	ssize_t r;
	if (c->ssl) {
		int k = SSL_read(c->ssl, c->buf + c->blen, (int)(sizeof(c->buf) - c->blen));
		r = k > 0 ? k : (SSL_get_error(c->ssl, k) == SSL_ERROR_ZERO_RETURN ? 0 : -1);
	} else {
		while ((r = recv(c->fd, c->buf + c->blen, sizeof(c->buf) - c->blen, 0)) < 0 &&
		       errno == EINTR)
			;
	}
	if (r > 0)
		c->blen += (size_t)r;
	return r;
}

static int roundtrip(vstd_cim_client *c, const char *head, size_t hlen, const char *body,
                     size_t len, int *status, char **resp, size_t *resp_len, int *retry)
{
	sbuf h;
	*retry = 0;
	/* one write for small requests: no Nagle / delayed-ACK stall between head and body */
	int wr;
	if (len <= sizeof(c->buf) && hlen <= sizeof(c->buf)) {
		char *one = vstd_malloc(hlen + len);
		if (one == NULL)
			return vstd_err_code();
		memcpy(one, head, hlen);
		memcpy(one + hlen, body, len);
		wr = io_write(c, one, hlen + len);
		vstd_free(one);
	} else {
		wr = io_write(c, head, hlen) < 0 ? -1 : io_write(c, body, len);
	}
	if (wr < 0) {
		*retry = 1;
		return vstd_err(VSTD_EIO, "cim client: connection to %s:%u lost", c->host, c->port);
	}
	/* headers */
	sbuf_init(&h, MAX_HEADERS);
	size_t got = 0;
	for (;;) {
		if (c->bpos == c->blen) {
			ssize_t r = io_fill(c);
			if (r <= 0) {
				*retry = got == 0 && r == 0;
				sbuf_free(&h);
				return vstd_err(VSTD_EIO, "cim client: %s:%u closed the connection",
				                c->host, c->port);
			}
		}
		char ch = c->buf[c->bpos++];
		sbuf_add(&h, &ch, 1);
		got++;
		if (h.failed) {
			sbuf_free(&h);
			return vstd_err(VSTD_ELIMIT, "cim client: response headers over 64 KiB");
		}
		if (h.len >= 4 && memcmp(h.data + h.len - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	int code = 0;
	if (sscanf(h.data, "HTTP/1.%*d %d", &code) != 1) {
		sbuf_free(&h);
		return vstd_err(VSTD_ECORRUPT, "cim client: the answer is not HTTP");
	}
	long long clen = -1;
	int close_after = 0;
	for (char *line = strstr(h.data, "\r\n"); line && line[2];
	     line = strstr(line + 2, "\r\n")) {
		char *l = line + 2;
		if (strncasecmp(l, "Content-Length:", 15) == 0)
			clen = atoll(l + 15);
		else if (strncasecmp(l, "Connection:", 11) == 0 && strstr(l, "close"))
			close_after = 1;
	}
	sbuf_free(&h);
	if (clen > (long long)MAX_BODY)
		return vstd_err(VSTD_ELIMIT, "cim client: response of %lld bytes (limit 64 MiB)",
		                clen);
	sbuf b;
	sbuf_init(&b, MAX_BODY);
	while (clen < 0 || b.len < (size_t)clen) {
		if (c->bpos == c->blen) {
			ssize_t r = io_fill(c);
			if (r == 0 && clen < 0)
				break;
			if (r <= 0) {
				sbuf_free(&b);
				return vstd_err(VSTD_EIO, "cim client: response cut short");
			}
		}
		size_t take = c->blen - c->bpos;
		if (clen >= 0 && take > (size_t)clen - b.len)
			take = (size_t)clen - b.len;
		sbuf_add(&b, c->buf + c->bpos, take);
		c->bpos += take;
		if (b.failed) {
			sbuf_free(&b);
			return vstd_err(VSTD_ELIMIT, "cim client: response over 64 MiB");
		}
	}
	if (b.data == NULL)
		sbuf_add(&b, "", 0);
	if (close_after || clen < 0)
		disconnect(c);
	*status = code;
	*resp = sbuf_take(&b, resp_len);
	return 0;
}

int vstd_cim_client_call(vstd_cim_client *c, const char *cim_method, const char *cim_object,
                         const char *body, size_t len, int *http_status, char **resp,
                         size_t *resp_len)
{
	sbuf h;
	int rc, retry;
	sbuf_init(&h, 0);
	sbuf_printf(&h,
	            "POST /cimom HTTP/1.1\r\nHost: %s:%u\r\n"
	            "Content-Type: application/xml; charset=\"utf-8\"\r\n"
	            "Content-Length: %zu\r\nCIMProtocolVersion: 1.0\r\nCIMOperation: MethodCall\r\n"
	            "CIMMethod: %s\r\nCIMObject: %s\r\n",
	            c->host, c->port, len, cim_method, cim_object);
	if (c->auth)
		sbuf_printf(&h, "Authorization: %s\r\n", c->auth);
	sbuf_puts(&h, "\r\n");
	if (h.failed) {
		sbuf_free(&h);
		return VSTD_ENOMEM;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (c->fd < 0 && (rc = do_connect(c)) < 0) {
			disconnect(c);
			break;
		}
		rc = roundtrip(c, h.data, h.len, body, len, http_status, resp, resp_len, &retry);
		if (rc == 0)
			break;
		disconnect(c);
		if (!retry || attempt)
			break;
	}
	sbuf_free(&h);
	return rc;
}
