/*
 * mgmt/service.c - the extrinsic methods: VirtualSystemManagementService
 * (DSP1042 8.3: DefineSystem, DestroySystem, AddResourceSettings,
 * ModifyResourceSettings, RemoveResourceSettings, ModifySystemSettings,
 * and the vstd extension DefineSystemFromOVF) and RequestStateChange of a
 * virtual system (DSP1057 8.2; returns 4096 and a ConcreteJob).
 *
 * Parameter faults (malformed embedded instances, limits such as memory
 * beyond the host) are CIM errors with a description, so a client sees
 * what was wrong; method outcomes are the profiles' return values.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "mgmt/wbem/wbem.h"
#include "mgmt/ovf_pkg.h"

static void ret_value(struct wbem_ctx *c, unsigned v)
{
	sbuf_printf(c->out, "<RETURNVALUE PARAMTYPE=\"uint32\"><VALUE>%u</VALUE></RETURNVALUE>\n",
	            v);
}

static void out_ref(struct wbem_ctx *c, const char *name, const struct cim_path *p)
{
	sbuf_printf(c->out, "<PARAMVALUE NAME=\"%s\" PARAMTYPE=\"reference\">", name);
	enc_value_reference(c->out, p, c->host);
	sbuf_puts(c->out, "</PARAMVALUE>\n");
}

static void out_refs(struct wbem_ctx *c, const char *name, struct cim_path **p, size_t n)
{
	sbuf_printf(c->out, "<PARAMVALUE NAME=\"%s\" PARAMTYPE=\"reference\"><VALUE.REFARRAY>",
	            name);
	for (size_t i = 0; i < n; i++)
		enc_value_reference(c->out, p[i], c->host);
	sbuf_puts(c->out, "</VALUE.REFARRAY></PARAMVALUE>\n");
}

static void fail(struct wbem_ctx *c, int code, const char *desc)
{
	enc_error(c->out, code, desc);
}

static int code_of(int rc)
{
	switch (rc) {
	case VSTD_ENOENT: return CIM_ERR_NOT_FOUND;
	case VSTD_EEXIST: return CIM_ERR_ALREADY_EXISTS;
	case VSTD_ENOTSUP: return CIM_ERR_NOT_SUPPORTED;
	case VSTD_EINVAL:
	case VSTD_ERANGE:
	case VSTD_ECORRUPT:
	case VSTD_ELIMIT: return CIM_ERR_INVALID_PARAMETER;
	default: return CIM_ERR_FAILED;
	}
}

static void fail_rc(struct wbem_ctx *c, int rc)
{
	fail(c, code_of(rc), vstd_error_last()->message);
}

/* "1024" -> value; refuses junk and overflow. */
static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	if (s == NULL || *s == 0 || *s == '-')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* Bytes per unit of a DSP0004 programmatic unit for memory. */
static int mem_units(const char *u, uint64_t *mul)
{
	if (u == NULL || *u == 0 || strcasecmp(u, "byte*2^20") == 0 || strcasecmp(u, "MB") == 0 ||
	    strcasecmp(u, "MegaBytes") == 0)
		*mul = 1ull << 20;
	else if (strcasecmp(u, "byte") == 0 || strcasecmp(u, "bytes") == 0)
		*mul = 1;
	else if (strcasecmp(u, "byte*2^10") == 0 || strcasecmp(u, "KiloBytes") == 0)
		*mul = 1ull << 10;
	else if (strcasecmp(u, "byte*2^30") == 0 || strcasecmp(u, "GigaBytes") == 0)
		*mul = 1ull << 30;
	else
		return -1;
	return 0;
}

/* Fill a resource from a client RASD; r->type already set by the caller or from it. */
static int res_from_pinst(struct wbem_ctx *c, const struct cim_pinst *pi, struct mgmt_res *r,
                          int modify)
{
	const struct cim_pprop *p;
	uint64_t v;
	if (!cim_class_known(pi->classname) ||
	    !(cim_class_is_a(cim_class_find(pi->classname) ? cim_class_find(pi->classname)
	                                                   : cim_classes[3],
	                     "CIM_ResourceAllocationSettingData")))
		return vstd_err(VSTD_EINVAL, "cim: %s is not a resource allocation class",
		                pi->classname);
	if (!modify) {
		p = cimxml_pinst_get(pi, "ResourceType");
		if (p == NULL || parse_u64(p->value, &v) < 0 || v == 0 || v > 65535)
			return vstd_err(VSTD_EINVAL, "cim: a %s lacks a valid ResourceType",
			                pi->classname);
		r->type = (uint16_t)v;
	}
	if ((p = cimxml_pinst_get(pi, "VirtualQuantity")) && p->value) {
		if (parse_u64(p->value, &v) < 0)
			return vstd_err(VSTD_EINVAL, "cim: VirtualQuantity '%s' is not a number",
			                p->value);
		if (r->type == 4) {
			uint64_t mul;
			const struct cim_pprop *u = cimxml_pinst_get(pi, "AllocationUnits");
			if (mem_units(u ? u->value : NULL, &mul) < 0)
				return vstd_err(
				        VSTD_EINVAL,
				        "cim: memory AllocationUnits '%s' not "
				        "understood (byte, byte*2^10, byte*2^20, byte*2^30)",
				        u->value);
			if (v > UINT64_MAX / mul)
				return vstd_err(VSTD_ERANGE,
				                "cim: memory of %" PRIu64 " x %" PRIu64
				                " bytes overflows",
				                v, mul);
			v = v * mul;
			r->quantity = v / (1 << 20) + (v % (1 << 20) != 0);
		} else {
			r->quantity = v;
		}
	}
	if ((p = cimxml_pinst_get(pi, "HostResource"))) {
		const char *hr = p->is_array ? (p->n ? p->a[0] : NULL) : p->value;
		if (hr &&
		    mgmt_copy(r->host_resource, sizeof(r->host_resource), hr, "HostResource") < 0)
			return VSTD_ELIMIT;
	}
	if ((p = cimxml_pinst_get(pi, "Address")) && p->value &&
	    mgmt_copy(r->address, sizeof(r->address), p->value, "Address") < 0)
		return VSTD_ELIMIT;
	if ((p = cimxml_pinst_get(pi, "ResourceSubType")) && p->value) {
		if (mgmt_copy(r->subtype, sizeof(r->subtype), p->value, "ResourceSubType") < 0)
			return VSTD_ELIMIT;
		for (const char *s = r->subtype; *s; s++)
			if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
			      *s == '_'))
				return vstd_err(VSTD_EINVAL,
				                "cim: ResourceSubType '%s' has characters "
				                "other than [a-z0-9_-]",
				                r->subtype);
	}
	if ((p = cimxml_pinst_get(pi, "Connection"))) {
		const char *cn = p->is_array ? (p->n ? p->a[0] : NULL) : p->value;
		if (cn && mgmt_copy(r->connection, sizeof(r->connection), cn, "Connection") < 0)
			return VSTD_ELIMIT;
	}
	if ((p = cimxml_pinst_get(pi, "ElementName")) && p->value &&
	    mgmt_copy(r->element_name, sizeof(r->element_name), p->value, "ElementName") < 0)
		return VSTD_ELIMIT;
	if (r->address[0]) {
		for (const char *s = r->address; *s; s++)
			if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
			      (*s >= 'A' && *s <= 'F') || *s == ':'))
				return vstd_err(VSTD_EINVAL,
				                "cim: Address '%s' is not a MAC address",
				                r->address);
	}
	(void)c;
	return 0;
}

static int vssd_into(struct wbem_ctx *c, const struct cim_pinst *pi, struct mgmt_vm *vm)
{
	const struct cim_pprop *p;
	if (!cim_class_is_a(cim_class_find("VSTD_VirtualSystemSettingData"), pi->classname))
		return vstd_err(VSTD_EINVAL,
		                "cim: SystemSettings is a %s, not a "
		                "VirtualSystemSettingData",
		                pi->classname);
	if ((p = cimxml_pinst_get(pi, "ElementName")) && p->value &&
	    mgmt_copy(vm->name, sizeof(vm->name), p->value, "ElementName") < 0)
		return VSTD_ELIMIT;
	if ((p = cimxml_pinst_get(pi, "KernelPath")) && p->value &&
	    mgmt_copy(vm->kernel, sizeof(vm->kernel), p->value, "KernelPath") < 0)
		return VSTD_ELIMIT;
	if ((p = cimxml_pinst_get(pi, "KernelCommandLine")) && p->value &&
	    mgmt_copy(vm->cmdline, sizeof(vm->cmdline), p->value, "KernelCommandLine") < 0)
		return VSTD_ELIMIT;
	if ((p = cimxml_pinst_get(pi, "Notes"))) {
		const char *n = p->is_array ? (p->n ? p->a[0] : NULL) : p->value;
		if (n && mgmt_copy(vm->notes, sizeof(vm->notes), n, "Notes") < 0)
			return VSTD_ELIMIT;
	}
	if ((p = cimxml_pinst_get(pi, "VirtualSystemType")) && p->value && p->value[0] &&
	    strcmp(p->value, "vstd-qemu") != 0 && strcmp(p->value, "vstd-vmm") != 0)
		return vstd_err(VSTD_ENOTSUP,
		                "cim: VirtualSystemType '%s' is not supported "
		                "(vstd-qemu, vstd-vmm)",
		                p->value);
	(void)c;
	return 0;
}

static int add_resources(struct wbem_ctx *c, struct mgmt_vm *vm, const char **texts, size_t n)
{
	struct cim_pinst *pi = arena_alloc(c->ar, sizeof(*pi));
	if (pi == NULL)
		return VSTD_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int rc = cimxml_embedded_instance(c->ar, texts[i], pi);
		if (rc < 0)
			return vstd_err_prefix("ResourceSettings[%zu]: ", i);
		if (vm->n_res >= MGMT_MAX_RES)
			return vstd_err(VSTD_ELIMIT, "cim: at most %d resources per system",
			                MGMT_MAX_RES);
		struct mgmt_res *r = &vm->res[vm->n_res];
		mgmt_res_init(vm, r, 0);
		if ((rc = res_from_pinst(c, pi, r, 0)) < 0)
			return vstd_err_prefix("ResourceSettings[%zu]: ", i);
		vm->n_res++;
	}
	return 0;
}

static void m_define(struct wbem_ctx *c, const struct cim_req *req)
{
	static struct mgmt_vm zero;
	struct mgmt_vm *t = arena_alloc(c->ar, sizeof(*t)), *vm;
	struct cim_pinst *pi = arena_alloc(c->ar, sizeof(*pi));
	xmlNode *ss = cimxml_param(req, "SystemSettings"),
	        *rs = cimxml_param(req, "ResourceSettings");
	const char **texts = NULL;
	size_t n = 0;
	int rc;
	if (t == NULL || pi == NULL)
		return fail(c, CIM_ERR_FAILED, "out of memory");
	*t = zero;
	if (cimxml_param(req, "ReferenceConfiguration"))
		return fail(c, CIM_ERR_NOT_SUPPORTED, "ReferenceConfiguration is not supported");
	if (ss == NULL)
		return fail(c, CIM_ERR_INVALID_PARAMETER,
		            "SystemSettings (an embedded "
		            "VSTD_VirtualSystemSettingData) is required");
	if ((rc = cimxml_embedded_instance(c->ar, cimxml_param_text(c->ar, ss), pi)) < 0 ||
	    (rc = vssd_into(c, pi, t)) < 0)
		return fail_rc(c, rc);
	if (rs && (rc = cimxml_param_array(c->ar, rs, &texts, &n)) < 0)
		return fail_rc(c, rc);
	if ((rc = add_resources(c, t, texts, n)) < 0)
		return fail_rc(c, rc);
	if (mgmt_vm_vcpus(t) == 0 && t->n_res < MGMT_MAX_RES) {
		struct mgmt_res *r = &t->res[t->n_res++];
		mgmt_res_init(t, r, 3);
		r->quantity = 1;
	}
	if ((rc = mgmt_vm_add(c->m, t, &vm)) < 0)
		return fail_rc(c, rc);
	ret_value(c, 0);
	out_ref(c, "ResultingSystem", prov_cs_path(c->ar, vm->uuid));
}

/* The items of VirtualSystem v into t; disks and CD/DVD images through the
 * package when there is one (else their HostResource is kept as written). */
static int ovf_items(struct wbem_ctx *c, struct ovf_pkg *pkg, const vstd_vm *v, struct mgmt_vm *t,
                     int have_package)
{
	int rc = mgmt_copy(t->name, sizeof(t->name), v->name ? v->name : v->id,
	                   "VirtualSystem name");
	for (size_t i = 0; rc == 0 && i < v->n_items; i++) {
		const vstd_ovf_item *it = &v->items[i];
		int rt = it->resource_type;
		if (t->n_res >= MGMT_MAX_RES)
			return vstd_err(VSTD_ELIMIT, "cim: at most %d resources", MGMT_MAX_RES);
		if (rt != 3 && rt != 4 && rt != 10 && rt != 33 && rt != 17 && rt != 31 &&
		    rt != 15 && rt != 16)
			continue; /* controllers etc. are implied */
		if (vstd_ovf_item_active(pkg->ovf, it, NULL) == 0)
			continue; /* another DeploymentOptionSection configuration */
		struct mgmt_res *r = &t->res[t->n_res];
		mgmt_res_init(t, r, (uint16_t)rt);
		r->quantity = it->has_virtual_quantity ? it->virtual_quantity : 1;
		if (rt == 4) {
			uint64_t mul = 1ull << 20;
			if (it->allocation_units &&
			    vstd_ovf_parse_units(it->allocation_units, &mul) < 0)
				mul = 1ull << 20;
			if (mul && r->quantity > UINT64_MAX / mul)
				return vstd_err(VSTD_ERANGE, "cim: OVF memory overflows");
			uint64_t bytes = r->quantity * mul;
			r->quantity = bytes / (1 << 20) + (bytes % (1 << 20) != 0);
		}
		if (rt == 17 || rt == 31 || rt == 15 || rt == 16) {
			if (rt == 17)
				r->type = 31;
			r->quantity = 1;
			if (it->n_host_resources == 0) {
				if (rt == 15 || rt == 16)
					continue; /* an empty drive */
				return vstd_err(VSTD_EINVAL,
				                "cim: disk Item %s has no HostResource",
				                it->instance_id ? it->instance_id : "?");
			}
			const char *hr = it->host_resources[0];
			if (have_package)
				rc = mgmt_ovf_resolve(pkg, c->m->state_dir, t->uuid, hr,
				                      r->host_resource, sizeof(r->host_resource),
				                      r->subtype, sizeof(r->subtype));
			else
				rc = mgmt_copy(r->host_resource, sizeof(r->host_resource), hr,
				               "HostResource");
			if (rc < 0)
				return rc;
		}
		if (it->element_name)
			mgmt_copy(r->element_name, sizeof(r->element_name), it->element_name,
			          "ElementName");
		t->n_res++;
	}
	return rc;
}

static void m_define_ovf(struct wbem_ctx *c, const struct cim_req *req)
{
	static struct mgmt_vm zero;
	xmlNode *od = cimxml_param(req, "OVFDescriptor"), *pp = cimxml_param(req, "PackagePath"),
	        *vp = cimxml_param(req, "VirtualSystemID");
	const char *text = od ? cimxml_param_text(c->ar, od) : NULL;
	const char *package = pp ? cimxml_param_text(c->ar, pp) : NULL;
	const char *vsid = vp ? cimxml_param_text(c->ar, vp) : NULL;
	struct ovf_pkg *pkg = arena_alloc(c->ar, sizeof(*pkg));
	struct mgmt_vm *t = arena_alloc(c->ar, sizeof(*t)), *vm;
	if (pkg == NULL || t == NULL)
		return fail(c, CIM_ERR_FAILED, "out of memory");
	if (package && package[0] == 0)
		package = NULL;
	int rc = mgmt_ovf_pkg_open(pkg, package, text, text ? strlen(text) : 0);
	if (rc < 0) {
		fail(c,
		     rc == VSTD_ECORRUPT || rc == VSTD_EINVAL || rc == VSTD_ENOENT
		             ? CIM_ERR_INVALID_PARAMETER
		             : code_of(rc),
		     vstd_error_last()->message);
		mgmt_ovf_pkg_close(pkg);
		return;
	}
	const vstd_ovf_model *mo = vstd_ovf_model_get(pkg->ovf);
	const vstd_vm *v = NULL;
	if (vsid && vsid[0]) {
		v = vstd_ovf_find_vm(pkg->ovf, vsid);
		if (v == NULL || v->is_collection) {
			mgmt_ovf_pkg_close(pkg);
			return fail(c, CIM_ERR_INVALID_PARAMETER,
			            "VirtualSystemID names no VirtualSystem of the descriptor");
		}
	} else {
		v = mo ? mo->root : NULL;
		while (v && v->is_collection && v->n_children)
			v = v->children[0];
	}
	if (v == NULL || v->is_collection) {
		mgmt_ovf_pkg_close(pkg);
		return fail(c, CIM_ERR_INVALID_PARAMETER, "the descriptor has no VirtualSystem");
	}
	*t = zero;
	mgmt_uuid(t->uuid); /* known before the images are made: they go under it */
	rc = ovf_items(c, pkg, v, t, package != NULL);
	if (rc == 0 && mgmt_vm_vcpus(t) == 0 && t->n_res < MGMT_MAX_RES) {
		struct mgmt_res *r = &t->res[t->n_res++];
		mgmt_res_init(t, r, 3);
		r->quantity = 1;
	}
	if (rc == 0)
		rc = mgmt_vm_add(c->m, t, &vm);
	mgmt_ovf_pkg_close(pkg);
	if (rc < 0) {
		mgmt_images_remove(c->m->state_dir, t->uuid);
		return fail_rc(c, rc);
	}
	ret_value(c, 0);
	out_ref(c, "ResultingSystem", prov_cs_path(c->ar, vm->uuid));
}

/* The system a path names: VSTD_ComputerSystem Name, VSSD "vstd:<uuid>", RASD "vstd:<uuid>/<id>".
 */
static struct mgmt_vm *vm_of_path(struct wbem_ctx *c, const struct cim_path *p, const char **res_id)
{
	const char *v;
	char uuid[VSTD_MGMT_ID_LEN];
	if (p == NULL)
		return NULL;
	if (strcasecmp(p->classname, "VSTD_ComputerSystem") == 0)
		return mgmt_vm_find(c->m, cim_path_get(p, "Name"));
	v = cim_path_get(p, "InstanceID");
	if (v == NULL || strncmp(v, "vstd:", 5) != 0 || strlen(v + 5) < 36)
		return NULL;
	memcpy(uuid, v + 5, 36);
	uuid[36] = 0;
	if (res_id)
		*res_id = v[41] == '/' ? v + 42 : NULL;
	return mgmt_vm_find(c->m, uuid);
}

static void m_destroy(struct wbem_ctx *c, const struct cim_req *req)
{
	xmlNode *p = cimxml_param(req, "AffectedSystem");
	struct cim_path *path = p ? cimxml_reference(c->ar, p, 0) : NULL;
	struct mgmt_vm *vm = vm_of_path(c, path, NULL);
	if (path == NULL)
		return fail(c, CIM_ERR_INVALID_PARAMETER,
		            "AffectedSystem (a reference) is required");
	if (vm == NULL)
		return fail(c, CIM_ERR_NOT_FOUND,
		            arena_printf(c->ar, "no system %s", cim_path_text(c->ar, path)));
	int rc = mgmt_vm_remove(c->m, vm->uuid);
	if (rc < 0)
		return fail_rc(c, rc);
	ret_value(c, 0);
}

static int vm_modifiable(struct wbem_ctx *c, struct mgmt_vm *vm)
{
	if (vm->busy) {
		fail(c, CIM_ERR_FAILED,
		     arena_printf(c->ar, "system %s is changing state", vm->name));
		return 0;
	}
	return 1;
}

static void m_add_res(struct wbem_ctx *c, const struct cim_req *req)
{
	xmlNode *ac = cimxml_param(req, "AffectedConfiguration"),
	        *rs = cimxml_param(req, "ResourceSettings");
	struct cim_path *path = ac ? cimxml_reference(c->ar, ac, 0) : NULL;
	struct mgmt_vm *vm = vm_of_path(c, path, NULL), *copy;
	const char **texts;
	size_t n;
	int rc;
	if (vm == NULL)
		return fail(c, path ? CIM_ERR_NOT_FOUND : CIM_ERR_INVALID_PARAMETER,
		            "AffectedConfiguration must name an existing system's VSSD");
	if (!vm_modifiable(c, vm))
		return;
	if (rs == NULL || (rc = cimxml_param_array(c->ar, rs, &texts, &n)) < 0 || n == 0)
		return fail(c, CIM_ERR_INVALID_PARAMETER, "ResourceSettings is required");
	if ((copy = arena_alloc(c->ar, sizeof(*copy))) == NULL)
		return fail(c, CIM_ERR_FAILED, "out of memory");
	*copy = *vm;
	unsigned first = copy->n_res;
	if ((rc = add_resources(c, copy, texts, n)) < 0 ||
	    (rc = mgmt_vm_validate(c->m, copy)) < 0 || (rc = mgmt_store_save(c->m, copy)) < 0)
		return fail_rc(c, rc);
	*vm = *copy;
	struct cim_path **refs = arena_array(c->ar, n, sizeof(*refs));
	for (unsigned i = first; refs && i < vm->n_res; i++)
		refs[i - first] = prov_rasd_path(c->ar, vm, &vm->res[i]);
	ret_value(c, 0);
	if (refs)
		out_refs(c, "ResultingResourceSettings", refs, vm->n_res - first);
}

static void m_mod_res(struct wbem_ctx *c, const struct cim_req *req)
{
	xmlNode *rs = cimxml_param(req, "ResourceSettings");
	const char **texts;
	size_t n;
	int rc;
	if (rs == NULL || (rc = cimxml_param_array(c->ar, rs, &texts, &n)) < 0 || n == 0)
		return fail(c, CIM_ERR_INVALID_PARAMETER, "ResourceSettings is required");
	struct cim_pinst *pi = arena_alloc(c->ar, sizeof(*pi));
	struct mgmt_vm *copy = arena_alloc(c->ar, sizeof(*copy));
	struct cim_path **refs = arena_array(c->ar, n, sizeof(*refs));
	if (pi == NULL || copy == NULL || refs == NULL)
		return fail(c, CIM_ERR_FAILED, "out of memory");
	/* all items must name resources of one system; applied together */
	struct mgmt_vm *vm = NULL;
	for (size_t i = 0; i < n; i++) {
		if ((rc = cimxml_embedded_instance(c->ar, texts[i], pi)) < 0)
			return fail_rc(c, rc);
		const struct cim_pprop *id = cimxml_pinst_get(pi, "InstanceID");
		struct cim_path *p = cim_path_new(c->ar, "VSTD_ResourceAllocationSettingData");
		const char *rid = NULL;
		cim_path_key(p, "InstanceID", id ? id->value : NULL, "string");
		struct mgmt_vm *v = id && id->value ? vm_of_path(c, p, &rid) : NULL;
		if (v == NULL || rid == NULL)
			return fail(c, CIM_ERR_NOT_FOUND,
			            arena_printf(c->ar,
			                         "ResourceSettings[%zu]: "
			                         "InstanceID does not name a resource",
			                         i));
		if (vm == NULL) {
			vm = v;
			if (!vm_modifiable(c, vm))
				return;
			*copy = *vm;
		} else if (v != vm) {
			return fail(c, CIM_ERR_INVALID_PARAMETER, "ResourceSettings span systems");
		}
		struct mgmt_res *r = NULL;
		for (unsigned k = 0; k < copy->n_res; k++)
			if (strcmp(copy->res[k].id, rid) == 0)
				r = &copy->res[k];
		if (r == NULL)
			return fail(c, CIM_ERR_NOT_FOUND,
			            arena_printf(c->ar, "no resource %s", rid));
		if ((rc = res_from_pinst(c, pi, r, 1)) < 0)
			return fail_rc(c, rc);
		refs[i] = prov_rasd_path(c->ar, copy, r);
	}
	if ((rc = mgmt_vm_validate(c->m, copy)) < 0 || (rc = mgmt_store_save(c->m, copy)) < 0)
		return fail_rc(c, rc);
	*vm = *copy;
	ret_value(c, 0);
	out_refs(c, "ResultingResourceSettings", refs, n);
}

static void m_rm_res(struct wbem_ctx *c, const struct cim_req *req)
{
	xmlNode *rs = cimxml_param(req, "ResourceSettings");
	struct cim_path **refs;
	size_t n;
	int rc;
	if (rs == NULL || (rc = cimxml_refarray(c->ar, rs, &refs, &n)) < 0 || n == 0)
		return fail(c, CIM_ERR_INVALID_PARAMETER,
		            "ResourceSettings (references) is required");
	struct mgmt_vm *copy = arena_alloc(c->ar, sizeof(*copy)), *vm = NULL;
	if (copy == NULL)
		return fail(c, CIM_ERR_FAILED, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *rid = NULL;
		struct mgmt_vm *v = vm_of_path(c, refs[i], &rid);
		if (v == NULL || rid == NULL)
			return fail(c, CIM_ERR_NOT_FOUND,
			            arena_printf(c->ar,
			                         "ResourceSettings[%zu] "
			                         "names no resource",
			                         i));
		if (vm == NULL) {
			vm = v;
			if (!vm_modifiable(c, vm))
				return;
			*copy = *vm;
		} else if (v != vm) {
			return fail(c, CIM_ERR_INVALID_PARAMETER, "ResourceSettings span systems");
		}
		unsigned k;
		for (k = 0; k < copy->n_res; k++)
			if (strcmp(copy->res[k].id, rid) == 0)
				break;
		if (k == copy->n_res)
			return fail(c, CIM_ERR_NOT_FOUND,
			            arena_printf(c->ar, "no resource %s", rid));
		memmove(&copy->res[k], &copy->res[k + 1],
		        (copy->n_res - k - 1) * sizeof(copy->res[0]));
		copy->n_res--;
	}
	if ((rc = mgmt_vm_validate(c->m, copy)) < 0 || (rc = mgmt_store_save(c->m, copy)) < 0)
		return fail_rc(c, rc);
	*vm = *copy;
	ret_value(c, 0);
}

static void m_mod_sys(struct wbem_ctx *c, const struct cim_req *req)
{
	xmlNode *ss = cimxml_param(req, "SystemSettings");
	struct cim_pinst *pi = arena_alloc(c->ar, sizeof(*pi));
	struct mgmt_vm *copy = arena_alloc(c->ar, sizeof(*copy));
	int rc;
	if (pi == NULL || copy == NULL)
		return fail(c, CIM_ERR_FAILED, "out of memory");
	if (ss == NULL)
		return fail(c, CIM_ERR_INVALID_PARAMETER, "SystemSettings is required");
	if ((rc = cimxml_embedded_instance(c->ar, cimxml_param_text(c->ar, ss), pi)) < 0)
		return fail_rc(c, rc);
	const struct cim_pprop *id = cimxml_pinst_get(pi, "InstanceID");
	struct cim_path *p = cim_path_new(c->ar, "VSTD_VirtualSystemSettingData");
	cim_path_key(p, "InstanceID", id ? id->value : NULL, "string");
	struct mgmt_vm *vm = id && id->value ? vm_of_path(c, p, NULL) : NULL;
	if (vm == NULL)
		return fail(c, CIM_ERR_NOT_FOUND, "SystemSettings InstanceID names no system");
	if (!vm_modifiable(c, vm))
		return;
	*copy = *vm;
	if ((rc = vssd_into(c, pi, copy)) < 0)
		return fail_rc(c, rc);
	for (size_t i = 0; i < c->m->n_vms; i++)
		if (c->m->vms[i] != vm && strcmp(c->m->vms[i]->name, copy->name) == 0)
			return fail(c, CIM_ERR_ALREADY_EXISTS,
			            "another system has that ElementName");
	if ((rc = mgmt_vm_validate(c->m, copy)) < 0 || (rc = mgmt_store_save(c->m, copy)) < 0)
		return fail_rc(c, rc);
	*vm = *copy;
	ret_value(c, 0);
}

static void m_request_state(struct wbem_ctx *c, const struct cim_req *req)
{
	struct mgmt_vm *vm = req->target_is_class ? NULL : vm_of_path(c, req->target, NULL);
	xmlNode *p = cimxml_param(req, "RequestedState");
	const char *t = p ? cimxml_param_text(c->ar, p) : NULL;
	uint64_t st;
	struct mgmt_job *job;
	if (req->target_is_class)
		return fail(c, CIM_ERR_INVALID_PARAMETER,
		            "RequestStateChange needs an instance path");
	if (vm == NULL)
		return fail(c, CIM_ERR_NOT_FOUND,
		            arena_printf(c->ar, "no system %s", cim_path_text(c->ar, req->target)));
	if (t == NULL || parse_u64(t, &st) < 0 || st > 65535)
		return fail(c, CIM_ERR_INVALID_PARAMETER, "RequestedState (uint16) is required");
	int rc = mgmt_job_state_change(c->m, vm, (unsigned)st, 0, &job);
	if (rc == VSTD_ESTATE)
		return ret_value(c, 4097); /* Invalid State Transition */
	if (rc == VSTD_EBUSY)
		return ret_value(c, 4099); /* Busy */
	if (rc == VSTD_ENOTSUP && (st < 2 || st > 11 || st == 5 || st == 6 || st == 7 || st == 8))
		return ret_value(c, 1); /* Not Supported */
	if (rc < 0)
		return fail_rc(c, rc);
	ret_value(c, 4096);
	out_ref(c, "Job", prov_job_path(c->ar, job->id));
}

void wbem_extrinsic(struct wbem_ctx *c, const struct cim_req *req)
{
	const struct cim_class *cls = cim_class_find(req->target->classname);
	const char *m = req->method;
	if (cls == NULL)
		return fail(c, CIM_ERR_INVALID_CLASS,
		            arena_printf(c->ar, "class %s does not exist", req->target->classname));
	if (cim_method_find(cls, m) == NULL)
		return fail(c, CIM_ERR_METHOD_NOT_FOUND,
		            arena_printf(c->ar, "class %s has no method %s", cls->name, m));
	if (!req->target_is_class &&
	    strcmp(cls->name, "VSTD_VirtualSystemManagementService") == 0 &&
	    prov_get(c->m, c->ar, req->target) == NULL)
		return fail(c, CIM_ERR_NOT_FOUND, "no such service instance");
	if (strcasecmp(m, "RequestStateChange") == 0)
		m_request_state(c, req);
	else if (strcasecmp(m, "DefineSystem") == 0)
		m_define(c, req);
	else if (strcasecmp(m, "DefineSystemFromOVF") == 0)
		m_define_ovf(c, req);
	else if (strcasecmp(m, "DestroySystem") == 0)
		m_destroy(c, req);
	else if (strcasecmp(m, "AddResourceSettings") == 0)
		m_add_res(c, req);
	else if (strcasecmp(m, "ModifyResourceSettings") == 0)
		m_mod_res(c, req);
	else if (strcasecmp(m, "RemoveResourceSettings") == 0)
		m_rm_res(c, req);
	else if (strcasecmp(m, "ModifySystemSettings") == 0)
		m_mod_sys(c, req);
	else
		fail(c, CIM_ERR_METHOD_NOT_AVAILABLE, m);
}
