/*
 * mgmt/providers/providers.h - instances of the model built from the
 * manager's state (systems, resources, pools, jobs), for one request.
 * The manager's lock must be held while providers run.
 */
#ifndef VSTD_MGMT_PROVIDERS_H
#define VSTD_MGMT_PROVIDERS_H

#include "mgmt/mgmt_internal.h"
#include "mgmt/model/model.h"

struct inst_list {
	struct cim_instance **v;
	size_t n, cap;
	arena *ar;
};

/* All instances of classes that are (or derive from) classname. */
int prov_enumerate(vstd_mgmt *m, arena *ar, const char *classname, struct inst_list *out);
/* The instance at path, or NULL (VSTD_ENOENT recorded). */
struct cim_instance *prov_get(vstd_mgmt *m, arena *ar, const struct cim_path *path);
int inst_list_add(struct inst_list *l, struct cim_instance *in);

/* Names used in paths. */
#define PROV_NS "root/virtualization"
struct cim_path *prov_host_path(vstd_mgmt *m, arena *ar);
struct cim_path *prov_cs_path(arena *ar, const char *uuid);
struct cim_path *prov_vssd_path(arena *ar, const char *uuid);
struct cim_path *prov_job_path(arena *ar, const char *job_id);
struct cim_path *prov_rasd_path(arena *ar, const struct mgmt_vm *vm, const struct mgmt_res *r);
const char *prov_rasd_class(uint16_t type);

#endif
