/*
 * fuzz/cimxml/fuzz_cimxml.c - the CIM-XML request parser on memory: the
 * request structure, instance paths, references, arrays and embedded
 * instances of every parameter, and the whole operation dispatch against
 * an empty in-memory model (no state directory is touched: a manager is
 * opened once on a private temporary directory).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mgmt/wbem/wbem.h"

static vstd_mgmt *m;
static char dir[] = "/tmp/vstd-fuzz-cimxml-XXXXXX";

static void cleanup(void)
{
	char path[512];
	vstd_mgmt_free(m);
	snprintf(path, sizeof(path), "%s/systems", dir);
	DIR *d = opendir(path);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "%s/systems/%s", dir, e->d_name);
		if (e->d_name[0] != '.')
			unlink(path);
	}
	if (d)
		closedir(d);
	snprintf(path, sizeof(path), "%s/systems", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/lock", dir);
	unlink(path);
	rmdir(dir);
}

static vstd_mgmt *model(void)
{
	if (m == NULL && dir[sizeof(dir) - 2] == 'X' && mkdtemp(dir) != NULL) {
		atexit(cleanup);
		vstd_mgmt_opts o = VSTD_MGMT_OPTS_INIT;
		o.state_dir = dir;
		o.qemu_binary = "/nonexistent/qemu";
		if (vstd_mgmt_open(&m, &o) < 0)
			m = NULL;
	}
	return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	arena ar;
	struct cim_req req;
	const char *cim_error;
	int http;
	arena_init(&ar, 64u << 20);
	if (cimxml_parse(&ar, data, size, &req, &cim_error, &http) == 0) {
		for (int i = 0; i < req.n_params; i++) {
			xmlNode *p = req.params[i].node;
			const char **v;
			size_t n;
			struct cim_path **refs;
			struct cim_pinst pi;
			(void)cimxml_reference(&ar, p, 0);
			(void)cimxml_classname(p);
			if (cimxml_param_array(&ar, p, &v, &n) == 0)
				for (size_t k = 0; k < n && k < 4; k++)
					(void)cimxml_embedded_instance(&ar, v[k], &pi);
			(void)cimxml_refarray(&ar, p, &refs, &n);
			(void)cimxml_embedded_instance(&ar, cimxml_param_text(&ar, p), &pi);
		}
	}
	cimxml_req_free(&req);
	arena_clear(&ar);
	/* the whole request path; methods that would start guests cannot here */
	vstd_mgmt *m = model();
	if (m) {
		vstd_cim_request rq = {NULL, NULL, NULL, data, size};
		vstd_cim_reply rep;
		if (vstd_cim_handle(m, &rq, &rep) == 0)
			vstd_cim_reply_clear(&rep);
	}
	return 0;
}
