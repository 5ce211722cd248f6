/*
 * mgmt/wbem/handle.c - one CIM-XML request in, one response out
 * (DSP0200 7: CIMOperation/CIMMethod/CIMObject headers checked against the
 * body; protocol faults are HTTP 400 with a CIMError header, operation
 * faults are CIM errors inside a 200 response).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "mgmt/wbem/wbem.h"

#define REQUEST_ARENA_LIMIT (256u << 20)
#define RESPONSE_LIMIT (256u << 20)

static int ns_ok(const char *ns)
{
	return ns && strcasecmp(ns, "root/virtualization") == 0;
}

/* "root%2Fvirtualization" or "root/virtualization" (CIMObject header). */
static int header_ns_matches(const char *hdr, const char *ns)
{
	char dec[512];
	size_t j = 0;
	for (size_t i = 0; hdr[i] && j < sizeof(dec) - 1; i++) {
		if (hdr[i] == '%' && hdr[i + 1] && hdr[i + 2]) {
			char h[3] = {hdr[i + 1], hdr[i + 2], 0};
			dec[j++] = (char)strtol(h, NULL, 16);
			i += 2;
		} else {
			dec[j++] = hdr[i];
		}
	}
	dec[j] = 0;
	/* for METHODCALL the header holds "ns:Class.keys": compare the namespace part */
	char *colon = strchr(dec, ':');
	if (colon)
		*colon = 0;
	return strcasecmp(dec, ns) == 0;
}

int vstd_cim_handle(vstd_mgmt *m, const vstd_cim_request *rq, vstd_cim_reply *reply)
{
	arena ar;
	sbuf out;
	struct cim_req req;
	const char *cim_error = NULL;
	int http = 200;
	memset(reply, 0, sizeof(*reply));
	arena_init(&ar, REQUEST_ARENA_LIMIT);
	sbuf_init(&out, RESPONSE_LIMIT);
	if (rq->cim_operation && strcasecmp(rq->cim_operation, "MethodCall") != 0) {
		reply->http_status = 400;
		reply->cim_error = "unsupported-operation";
		return 0;
	}
	if (cimxml_parse(&ar, rq->body, rq->len, &req, &cim_error, &http) < 0) {
		reply->http_status = http;
		reply->cim_error = cim_error;
		cimxml_req_free(&req);
		arena_clear(&ar);
		return 0;
	}
	/* DSP0200 7.4: the headers must agree with the body */
	if ((rq->cim_method && strcasecmp(rq->cim_method, req.method) != 0) ||
	    (rq->cim_object && req.ns && !header_ns_matches(rq->cim_object, req.ns))) {
		reply->http_status = 400;
		reply->cim_error = "header-mismatch";
		cimxml_req_free(&req);
		arena_clear(&ar);
		return 0;
	}
	struct wbem_ctx c = {m, &ar, &out, m->host_name};
	enc_header(&out, req.msg_id, req.intrinsic, req.method);
	if (!ns_ok(req.ns)) {
		enc_error(&out, CIM_ERR_INVALID_NAMESPACE,
		          arena_printf(&ar,
		                       "namespace '%s' does not exist (use root/virtualization)",
		                       req.ns ? req.ns : ""));
	} else {
		pthread_mutex_lock(&m->lock);
		if (req.intrinsic)
			wbem_intrinsic(&c, &req);
		else
			wbem_extrinsic(&c, &req);
		pthread_mutex_unlock(&m->lock);
	}
	enc_trailer(&out, req.intrinsic);
	cimxml_req_free(&req);
	if (out.failed || ar.failed) {
		/* too large or out of memory: answer with a short error instead */
		sbuf_free(&out);
		sbuf_init(&out, 0);
		out.failed = 0;
		enc_header(&out, "0", 1, "error");
		enc_error(&out, CIM_ERR_FAILED,
		          "the response could not be built (limit or memory)");
		enc_trailer(&out, 1);
	}
	arena_clear(&ar);
	if (out.failed) {
		sbuf_free(&out);
		return VSTD_ENOMEM;
	}
	reply->http_status = 200;
	reply->body = sbuf_take(&out, &reply->len);
	return 0;
}

void vstd_cim_reply_clear(vstd_cim_reply *reply)
{
	if (reply == NULL)
		return;
	vstd_free(reply->body);
	reply->body = NULL;
	reply->len = 0;
}
