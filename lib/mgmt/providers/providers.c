/*
 * mgmt/providers/providers.c - one function per class turns the manager's
 * state into CIM instances (DSP1042/1057/1041/1043/1045/1047/1050/1052).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "mgmt/providers/providers.h"

#define VSMS_NAME "vstd-vsms"

int inst_list_add(struct inst_list *l, struct cim_instance *in)
{
	if (in == NULL)
		return VSTD_ENOMEM;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct cim_instance **v = arena_array(l->ar, cap, sizeof(*v));
		if (v == NULL)
			return VSTD_ENOMEM;
		if (l->n)
			memcpy(v, l->v, l->n * sizeof(*v));
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = in;
	return 0;
}

/* ------------------------------------------------------------ paths */

struct cim_path *prov_host_path(vstd_mgmt *m, arena *ar)
{
	struct cim_path *p = cim_path_new(ar, "VSTD_HostSystem");
	cim_path_key(p, "CreationClassName", "VSTD_HostSystem", "string");
	cim_path_key(p, "Name", m->host_name, "string");
	return p;
}

struct cim_path *prov_cs_path(arena *ar, const char *uuid)
{
	struct cim_path *p = cim_path_new(ar, "VSTD_ComputerSystem");
	cim_path_key(p, "CreationClassName", "VSTD_ComputerSystem", "string");
	cim_path_key(p, "Name", arena_strdup(ar, uuid), "string");
	return p;
}

struct cim_path *prov_vssd_path(arena *ar, const char *uuid)
{
	struct cim_path *p = cim_path_new(ar, "VSTD_VirtualSystemSettingData");
	cim_path_key(p, "InstanceID", arena_printf(ar, "vstd:%s", uuid), "string");
	return p;
}

struct cim_path *prov_job_path(arena *ar, const char *job_id)
{
	struct cim_path *p = cim_path_new(ar, "VSTD_ConcreteJob");
	cim_path_key(p, "InstanceID", arena_strdup(ar, job_id), "string");
	return p;
}

const char *prov_rasd_class(uint16_t type)
{
	switch (type) {
	case 15:
	case 16:
	case 17:
	case 31: return "VSTD_StorageAllocationSettingData";
	case 10:
	case 33: return "VSTD_EthernetPortAllocationSettingData";
	default: return "VSTD_ResourceAllocationSettingData";
	}
}

struct cim_path *prov_rasd_path(arena *ar, const struct mgmt_vm *vm, const struct mgmt_res *r)
{
	struct cim_path *p = cim_path_new(ar, prov_rasd_class(r->type));
	cim_path_key(p, "InstanceID", arena_printf(ar, "vstd:%s/%s", vm->uuid, r->id), "string");
	return p;
}

static struct cim_path *vsms_path(vstd_mgmt *m, arena *ar)
{
	struct cim_path *p = cim_path_new(ar, "VSTD_VirtualSystemManagementService");
	cim_path_key(p, "SystemCreationClassName", "VSTD_HostSystem", "string");
	cim_path_key(p, "SystemName", m->host_name, "string");
	cim_path_key(p, "CreationClassName", "VSTD_VirtualSystemManagementService", "string");
	cim_path_key(p, "Name", VSMS_NAME, "string");
	return p;
}

static struct cim_path *id_path(arena *ar, const char *cls, const char *id)
{
	struct cim_path *p = cim_path_new(ar, cls);
	cim_path_key(p, "InstanceID", arena_strdup(ar, id), "string");
	return p;
}

/* ------------------------------------------------------------ pools */

struct pool_def {
	const char *name;
	uint16_t type;
	const char *units;
};

static const struct pool_def pools[] = {
        {"Processor", 3, "count"},
        {"Memory", 4, "byte*2^20"},
        {"Storage", 31, "byte"},
        {"Ethernet", 10, "count"},
};
#define N_POOLS (sizeof(pools) / sizeof(pools[0]))

static const struct pool_def *pool_of(uint16_t type)
{
	if (type == 17 || type == 15 || type == 16)
		type = 31;
	if (type == 33)
		type = 10;
	for (size_t i = 0; i < N_POOLS; i++)
		if (pools[i].type == type)
			return &pools[i];
	return NULL;
}

static struct cim_path *pool_path(arena *ar, const struct pool_def *p)
{
	return id_path(ar, "VSTD_ResourcePool", arena_printf(ar, "vstd:pool/%s", p->name));
}

static struct cim_path *alloccap_path(arena *ar, const struct pool_def *p)
{
	return id_path(ar, "VSTD_AllocationCapabilities",
	               arena_printf(ar, "vstd:alloccap/%s", p->name));
}

/* ------------------------------------------------------------ instances */

typedef int (*prov_fn)(vstd_mgmt *m, arena *ar, const struct cim_class *cls, struct inst_list *out);

static int p_host(vstd_mgmt *m, arena *ar, const struct cim_class *cls, struct inst_list *out)
{
	static const uint16_t ops[] = {2}, ded[] = {0};
	struct cim_instance *in = cim_inst_new(ar, cls);
	cim_inst_str(in, "CreationClassName", cls->name);
	cim_inst_str(in, "Name", m->host_name);
	cim_inst_str(in, "ElementName", m->host_name);
	cim_inst_str(in, "Caption", "Host");
	cim_inst_str(in, "Description", "The host running vstd virtual systems");
	cim_inst_str(in, "NameFormat", "IP");
	cim_inst_u16s(in, "OperationalStatus", ops, 1);
	cim_inst_u64(in, "HealthState", 5);
	cim_inst_u64(in, "EnabledState", 2);
	cim_inst_u64(in, "RequestedState", 12);
	cim_inst_u16s(in, "Dedicated", ded, 1);
	return inst_list_add(out, in);
}

static int p_cs(vstd_mgmt *m, arena *ar, const struct cim_class *cls, struct inst_list *out)
{
	static const uint16_t ded[] = {0};
	for (size_t i = 0; i < m->n_vms; i++) {
		struct mgmt_vm *vm = m->vms[i];
		mgmt_vm_refresh(m, vm);
		uint16_t ops[2] = {2, 0};
		size_t nops = 1;
		if (vm->enabled_state == VSTD_MGMT_DISABLED)
			ops[0] = 10; /* Stopped */
		else if (vm->enabled_state == VSTD_MGMT_QUIESCE) {
			ops[0] = 2;
			ops[1] = 15; /* Dormant */
			nops = 2;
		} else if (vm->enabled_state == VSTD_MGMT_STARTING)
			ops[0] = 8;
		else if (vm->enabled_state == VSTD_MGMT_SHUTTING_DOWN)
			ops[0] = 9;
		struct cim_instance *in = cim_inst_new(ar, cls);
		cim_inst_str(in, "CreationClassName", cls->name);
		cim_inst_str(in, "Name", vm->uuid);
		cim_inst_str(in, "ElementName", vm->name);
		cim_inst_str(in, "Caption", "Virtual System");
		cim_inst_str(in, "Description", "Virtual System");
		cim_inst_str(in, "NameFormat", "Other");
		cim_inst_u16s(in, "OperationalStatus", ops, nops);
		cim_inst_u64(in, "HealthState", 5);
		cim_inst_u64(in, "EnabledState", (uint64_t)vm->enabled_state);
		cim_inst_u64(in, "RequestedState", (uint64_t)vm->requested_state);
		cim_inst_u64(in, "EnabledDefault", 2);
		cim_inst_str(in, "TimeOfLastStateChange", cim_datetime(ar, vm->state_time));
		cim_inst_u16s(in, "Dedicated", ded, 1);
		const char *other[] = {vm->uuid};
		const char *idesc[] = {"CIM:GUID"};
		cim_inst_strs(in, "OtherIdentifyingInfo", other, 1);
		cim_inst_strs(in, "IdentifyingDescriptions", idesc, 1);
		if (inst_list_add(out, in) < 0)
			return VSTD_ENOMEM;
	}
	return 0;
}

static int p_vssd(vstd_mgmt *m, arena *ar, const struct cim_class *cls, struct inst_list *out)
{
	for (size_t i = 0; i < m->n_vms; i++) {
		struct mgmt_vm *vm = m->vms[i];
		struct cim_instance *in = cim_inst_new(ar, cls);
		const struct mgmt_backend *be = m->backend;
		for (size_t k = 0; mgmt_backends[k]; k++)
			if (strcmp(mgmt_backends[k]->name, vm->backend) == 0)
				be = mgmt_backends[k];
		cim_inst_str(in, "InstanceID", arena_printf(ar, "vstd:%s", vm->uuid));
		cim_inst_str(in, "ElementName", vm->name);
		cim_inst_str(in, "Caption", "Virtual System Settings");
		cim_inst_str(in, "VirtualSystemIdentifier", vm->uuid);
		cim_inst_str(in, "VirtualSystemType", be->system_type);
		if (vm->notes[0]) {
			const char *notes[] = {vm->notes};
			cim_inst_strs(in, "Notes", notes, 1);
		}
		cim_inst_str(in, "CreationTime", cim_datetime(ar, vm->created));
		cim_inst_str(in, "ConfigurationDataRoot",
		             arena_printf(ar, "%s/systems", m->state_dir));
		cim_inst_u64(in, "AutomaticStartupAction", 2);
		cim_inst_u64(in, "AutomaticShutdownAction", 2);
		if (vm->kernel[0])
			cim_inst_str(in, "KernelPath", vm->kernel);
		if (vm->cmdline[0])
			cim_inst_str(in, "KernelCommandLine", vm->cmdline);
		if (inst_list_add(out, in) < 0)
			return VSTD_ENOMEM;
	}
	return 0;
}

static int p_rasd(vstd_mgmt *m, arena *ar, const struct cim_class *cls, struct inst_list *out)
{
	for (size_t i = 0; i < m->n_vms; i++) {
		struct mgmt_vm *vm = m->vms[i];
		for (unsigned k = 0; k < vm->n_res; k++) {
			const struct mgmt_res *r = &vm->res[k];
			if (strcmp(prov_rasd_class(r->type), cls->name) != 0)
				continue;
			const struct pool_def *pd = pool_of(r->type);
			struct cim_instance *in = cim_inst_new(ar, cls);
			cim_inst_str(in, "InstanceID",
			             arena_printf(ar, "vstd:%s/%s", vm->uuid, r->id));
			cim_inst_u64(in, "ResourceType", r->type);
			if (r->subtype[0])
				cim_inst_str(in, "ResourceSubType", r->subtype);
			if (pd)
				cim_inst_str(in, "PoolID",
				             arena_printf(ar, "vstd:pool/%s", pd->name));
			cim_inst_u64(in, "ConsumerVisibility", 3);
			cim_inst_bool(in, "AutomaticAllocation", 1);
			cim_inst_bool(in, "AutomaticDeallocation", 1);
			const char *en = r->element_name;
			switch (r->type) {
			case 3:
				cim_inst_str(in, "AllocationUnits", "count");
				cim_inst_u64(in, "VirtualQuantity", r->quantity);
				cim_inst_str(in, "VirtualQuantityUnits", "count");
				cim_inst_u64(in, "Reservation", 0);
				cim_inst_u64(in, "Limit", r->quantity);
				cim_inst_u64(in, "Weight", 100);
				if (!en[0])
					en = "Virtual processors";
				break;
			case 4:
				cim_inst_str(in, "AllocationUnits", "byte*2^20");
				cim_inst_u64(in, "VirtualQuantity", r->quantity);
				cim_inst_str(in, "VirtualQuantityUnits", "byte*2^20");
				cim_inst_u64(in, "Reservation", r->quantity);
				cim_inst_u64(in, "Limit", r->quantity);
				if (!en[0])
					en = "Memory";
				break;
			case 10:
			case 33:
				if (r->address[0])
					cim_inst_str(in, "Address", r->address);
				if (r->connection[0]) {
					const char *c[] = {r->connection};
					cim_inst_strs(in, "Connection", c, 1);
				}
				cim_inst_u64(in, "VirtualQuantity", 1);
				if (!en[0])
					en = "Ethernet port";
				break;
			default: {
				const char *hr[] = {r->host_resource};
				cim_inst_strs(in, "HostResource", hr, 1);
				cim_inst_u64(in, "Access", r->type == 15 || r->type == 16 ? 1 : 3);
				cim_inst_u64(in, "VirtualQuantity", r->quantity);
				cim_inst_str(in, "AllocationUnits", "byte");
				cim_inst_str(in, "AddressOnParent", r->id);
				if (!en[0])
					en = "Disk";
			}
			}
			cim_inst_str(in, "ElementName", en);
			if (inst_list_add(out, in) < 0)
				return VSTD_ENOMEM;
		}
	}
	return 0;
}

static int p_pool(vstd_mgmt *m, arena *ar, const struct cim_class *cls, struct inst_list *out)
{
	for (size_t i = 0; i < N_POOLS; i++) {
		const struct pool_def *pd = &pools[i];
		uint64_t reserved = 0, cap = 0;
		for (size_t k = 0; k < m->n_vms; k++)
			for (unsigned j = 0; j < m->vms[k]->n_res; j++)
				if (pool_of(m->vms[k]->res[j].type) == pd)
					reserved += pd->type == 10 || pd->type == 31
					                    ? 1
					                    : m->vms[k]->res[j].quantity;
		if (pd->type == 3)
			cap = m->max_vcpus;
		else if (pd->type == 4)
			cap = m->max_memory >> 20;
		else
			cap = UINT32_MAX;
		struct cim_instance *in = cim_inst_new(ar, cls);
		static const uint16_t ops[] = {2};
		cim_inst_str(in, "InstanceID", arena_printf(ar, "vstd:pool/%s", pd->name));
		cim_inst_str(in, "PoolID", arena_printf(ar, "vstd:pool/%s", pd->name));
		cim_inst_str(in, "ElementName", arena_printf(ar, "%s pool", pd->name));
		cim_inst_bool(in, "Primordial", 1);
		cim_inst_u64(in, "Capacity", cap);
		cim_inst_u64(in, "Reserved", reserved);
		cim_inst_u64(in, "ResourceType", pd->type);
		cim_inst_str(in, "AllocationUnits", pd->units);
		cim_inst_u16s(in, "OperationalStatus", ops, 1);
		if (inst_list_add(out, in) < 0)
			return VSTD_ENOMEM;
	}
	return 0;
}

static int p_alloccap(vstd_mgmt *m, arena *ar, const struct cim_class *cls, struct inst_list *out)
{
	static const uint16_t add[] = {3}, rm[] = {3};
	for (size_t i = 0; i < N_POOLS; i++) {
		struct cim_instance *in = cim_inst_new(ar, cls);
		cim_inst_str(in, "InstanceID", arena_printf(ar, "vstd:alloccap/%s", pools[i].name));
		cim_inst_str(in, "ElementName", arena_printf(ar, "%s allocation", pools[i].name));
		cim_inst_u64(in, "ResourceType", pools[i].type);
		cim_inst_u64(in, "RequestTypesSupported", 3);
		cim_inst_u64(in, "SharingMode", pools[i].type == 4 ? 2 : 3);
		cim_inst_u16s(in, "SupportedAddStates", add, 1);
		cim_inst_u16s(in, "SupportedRemoveStates", rm, 1);
		if (inst_list_add(out, in) < 0)
			return VSTD_ENOMEM;
	}
	return 0;
}

static int p_vsmcap(vstd_mgmt *m, arena *ar, const struct cim_class *cls, struct inst_list *out)
{
	static const uint16_t sync[] = {0, 1, 2, 3, 4, 5, 6};
	const char *types[] = {"vstd-qemu", "vstd-vmm"};
	struct cim_instance *in = cim_inst_new(ar, cls);
	cim_inst_str(in, "InstanceID", "vstd:vsmcap");
	cim_inst_str(in, "ElementName", "Virtual system management capabilities");
	cim_inst_u16s(in, "SynchronousMethodsSupported", sync, 7);
	cim_inst_u16s(in, "AsynchronousMethodsSupported", sync, 0);
	cim_inst_strs(in, "VirtualSystemTypesSupported", types, 2);
	return inst_list_add(out, in);
}

static int p_elecap(vstd_mgmt *m, arena *ar, const struct cim_class *cls, struct inst_list *out)
{
	static const uint16_t states[] = {2, 3, 4, 9, 10, 11};
	struct cim_instance *in = cim_inst_new(ar, cls);
	cim_inst_str(in, "InstanceID", "vstd:elecap");
	cim_inst_str(in, "ElementName", "Virtual system state capabilities");
	cim_inst_u16s(in, "RequestedStatesSupported", states, 6);
	cim_inst_bool(in, "ElementNameEditSupported", 1);
	cim_inst_u64(in, "MaxElementNameLen", MGMT_STR - 1);
	return inst_list_add(out, in);
}

static int p_profile(vstd_mgmt *m, arena *ar, const struct cim_class *cls, struct inst_list *out)
{
	static const char *const prof[][3] = {
	        {"DSP1042", "System Virtualization", "1.0.0"},
	        {"DSP1057", "Virtual System", "1.0.0"},
	        {"DSP1041", "Resource Allocation", "1.1.0"},
	        {"DSP1043", "Allocation Capabilities", "1.0.0"},
	        {"DSP1045", "Memory Resource Virtualization", "1.0.0"},
	        {"DSP1047", "Storage Resource Virtualization", "1.0.0"},
	        {"DSP1050", "Ethernet Port Resource Virtualization", "1.1.0"},
	        {"DSP1052", "Computer System", "1.0.0"},
	};
	static const uint16_t adv[] = {2};
	for (size_t i = 0; i < sizeof(prof) / sizeof(prof[0]); i++) {
		struct cim_instance *in = cim_inst_new(ar, cls);
		cim_inst_str(in, "InstanceID", arena_printf(ar, "vstd:profile/%s", prof[i][0]));
		cim_inst_str(in, "ElementName", prof[i][1]);
		cim_inst_u64(in, "RegisteredOrganization", 2);
		cim_inst_str(in, "RegisteredName", prof[i][1]);
		cim_inst_str(in, "RegisteredVersion", prof[i][2]);
		cim_inst_u16s(in, "AdvertiseTypes", adv, 1);
		if (inst_list_add(out, in) < 0)
			return VSTD_ENOMEM;
	}
	return 0;
}

static int p_vsms(vstd_mgmt *m, arena *ar, const struct cim_class *cls, struct inst_list *out)
{
	static const uint16_t ops[] = {2};
	struct cim_instance *in = cim_inst_new(ar, cls);
	cim_inst_str(in, "SystemCreationClassName", "VSTD_HostSystem");
	cim_inst_str(in, "SystemName", m->host_name);
	cim_inst_str(in, "CreationClassName", cls->name);
	cim_inst_str(in, "Name", VSMS_NAME);
	cim_inst_str(in, "ElementName", "vstd virtual system management");
	cim_inst_str(in, "Caption", arena_printf(ar, "backend %s", m->backend->name));
	cim_inst_u64(in, "EnabledState", 2);
	cim_inst_u16s(in, "OperationalStatus", ops, 1);
	cim_inst_bool(in, "Started", 1);
	return inst_list_add(out, in);
}

static int p_job(vstd_mgmt *m, arena *ar, const struct cim_class *cls, struct inst_list *out)
{
	size_t first = m->n_jobs > MGMT_MAX_JOBS ? m->n_jobs - MGMT_MAX_JOBS : 0;
	for (size_t i = first; i < m->n_jobs; i++) {
		const struct mgmt_job *j = &m->jobs[i % MGMT_MAX_JOBS];
		struct cim_instance *in = cim_inst_new(ar, cls);
		static const uint16_t ok[] = {2, 17}, err[] = {6, 17}, run[] = {2};
		cim_inst_str(in, "InstanceID", j->id);
		cim_inst_str(in, "Name", j->name);
		cim_inst_str(in, "ElementName", arena_printf(ar, "%s on %s", j->name, j->vm));
		cim_inst_u64(in, "JobState", (uint64_t)j->state);
		cim_inst_u64(in, "PercentComplete", (uint64_t)j->percent);
		cim_inst_u64(in, "ErrorCode", j->state == 10 ? 4 : 0);
		if (j->error[0])
			cim_inst_str(in, "ErrorDescription", j->error);
		cim_inst_str(in, "TimeSubmitted", cim_datetime(ar, j->submitted));
		if (j->started)
			cim_inst_str(in, "StartTime", cim_datetime(ar, j->started));
		cim_inst_str(in, "TimeOfLastStateChange", cim_datetime(ar, j->changed));
		cim_inst_str(in, "JobStatus",
		             j->state == 7    ? "Completed"
		             : j->state == 10 ? "Failed"
		                              : "Running");
		cim_inst_bool(in, "DeleteOnCompletion", 0);
		cim_inst_u16s(in, "OperationalStatus",
		              j->state == 7    ? ok
		              : j->state == 10 ? err
		                               : run,
		              j->state == 7 || j->state == 10 ? 2 : 1);
		if (inst_list_add(out, in) < 0)
			return VSTD_ENOMEM;
	}
	return 0;
}

/* ------------------------------------------------------------ associations */

static int assoc(arena *ar, const struct cim_class *cls, struct inst_list *out, const char *r1,
                 struct cim_path *p1, const char *r2, struct cim_path *p2)
{
	struct cim_instance *in = cim_inst_new(ar, cls);
	cim_inst_ref(in, r1, p1);
	cim_inst_ref(in, r2, p2);
	return inst_list_add(out, in);
}

static int p_hdep(vstd_mgmt *m, arena *ar, const struct cim_class *cls, struct inst_list *out)
{
	struct cim_path *h = prov_host_path(m, ar);
	for (size_t i = 0; i < m->n_vms; i++)
		if (assoc(ar, cls, out, "Antecedent", h, "Dependent",
		          prov_cs_path(ar, m->vms[i]->uuid)) < 0)
			return VSTD_ENOMEM;
	return 0;
}

static int p_sds(vstd_mgmt *m, arena *ar, const struct cim_class *cls, struct inst_list *out)
{
	for (size_t i = 0; i < m->n_vms; i++)
		if (assoc(ar, cls, out, "ManagedElement", prov_cs_path(ar, m->vms[i]->uuid),
		          "SettingData", prov_vssd_path(ar, m->vms[i]->uuid)) < 0)
			return VSTD_ENOMEM;
	return 0;
}

static int p_esd(vstd_mgmt *m, arena *ar, const struct cim_class *cls, struct inst_list *out)
{
	for (size_t i = 0; i < m->n_vms; i++) {
		struct cim_instance *in = cim_inst_new(ar, cls);
		cim_inst_ref(in, "ManagedElement", prov_cs_path(ar, m->vms[i]->uuid));
		cim_inst_ref(in, "SettingData", prov_vssd_path(ar, m->vms[i]->uuid));
		cim_inst_u64(in, "IsDefault", 1);
		cim_inst_u64(in, "IsCurrent", 1);
		if (inst_list_add(out, in) < 0)
			return VSTD_ENOMEM;
	}
	return 0;
}

static int p_vssdc(vstd_mgmt *m, arena *ar, const struct cim_class *cls, struct inst_list *out)
{
	for (size_t i = 0; i < m->n_vms; i++) {
		struct mgmt_vm *vm = m->vms[i];
		struct cim_path *vssd = prov_vssd_path(ar, vm->uuid);
		for (unsigned k = 0; k < vm->n_res; k++)
			if (assoc(ar, cls, out, "GroupComponent", vssd, "PartComponent",
			          prov_rasd_path(ar, vm, &vm->res[k])) < 0)
				return VSTD_ENOMEM;
	}
	return 0;
}

static int p_hsvc(vstd_mgmt *m, arena *ar, const struct cim_class *cls, struct inst_list *out)
{
	return assoc(ar, cls, out, "Antecedent", prov_host_path(m, ar), "Dependent",
	             vsms_path(m, ar));
}

static int p_hpool(vstd_mgmt *m, arena *ar, const struct cim_class *cls, struct inst_list *out)
{
	struct cim_path *h = prov_host_path(m, ar);
	for (size_t i = 0; i < N_POOLS; i++)
		if (assoc(ar, cls, out, "GroupComponent", h, "PartComponent",
		          pool_path(ar, &pools[i])) < 0)
			return VSTD_ENOMEM;
	return 0;
}

static int p_ecap(vstd_mgmt *m, arena *ar, const struct cim_class *cls, struct inst_list *out)
{
	if (assoc(ar, cls, out, "ManagedElement", vsms_path(m, ar), "Capabilities",
	          id_path(ar, "VSTD_VirtualSystemManagementCapabilities", "vstd:vsmcap")) < 0)
		return VSTD_ENOMEM;
	for (size_t i = 0; i < N_POOLS; i++)
		if (assoc(ar, cls, out, "ManagedElement", pool_path(ar, &pools[i]), "Capabilities",
		          alloccap_path(ar, &pools[i])) < 0)
			return VSTD_ENOMEM;
	struct cim_path *ec = id_path(ar, "VSTD_EnabledLogicalElementCapabilities", "vstd:elecap");
	for (size_t i = 0; i < m->n_vms; i++)
		if (assoc(ar, cls, out, "ManagedElement", prov_cs_path(ar, m->vms[i]->uuid),
		          "Capabilities", ec) < 0)
			return VSTD_ENOMEM;
	return 0;
}

static int p_aje(vstd_mgmt *m, arena *ar, const struct cim_class *cls, struct inst_list *out)
{
	size_t first = m->n_jobs > MGMT_MAX_JOBS ? m->n_jobs - MGMT_MAX_JOBS : 0;
	for (size_t i = first; i < m->n_jobs; i++) {
		const struct mgmt_job *j = &m->jobs[i % MGMT_MAX_JOBS];
		if (mgmt_vm_find(m, j->vm) == NULL)
			continue;
		if (assoc(ar, cls, out, "AffectedElement", prov_cs_path(ar, j->vm),
		          "AffectingElement", prov_job_path(ar, j->id)) < 0)
			return VSTD_ENOMEM;
	}
	return 0;
}

static int p_salloc(vstd_mgmt *m, arena *ar, const struct cim_class *cls, struct inst_list *out)
{
	for (size_t i = 0; i < m->n_vms; i++) {
		struct mgmt_vm *vm = m->vms[i];
		for (unsigned k = 0; k < vm->n_res; k++) {
			const struct pool_def *pd = pool_of(vm->res[k].type);
			if (pd && assoc(ar, cls, out, "Antecedent", pool_path(ar, pd), "Dependent",
			                prov_rasd_path(ar, vm, &vm->res[k])) < 0)
				return VSTD_ENOMEM;
		}
	}
	return 0;
}

static const struct {
	const char *cls;
	prov_fn fn;
} providers[] = {
        {"VSTD_HostSystem", p_host},
        {"VSTD_ComputerSystem", p_cs},
        {"VSTD_VirtualSystemSettingData", p_vssd},
        {"VSTD_ResourceAllocationSettingData", p_rasd},
        {"VSTD_StorageAllocationSettingData", p_rasd},
        {"VSTD_EthernetPortAllocationSettingData", p_rasd},
        {"VSTD_ResourcePool", p_pool},
        {"VSTD_AllocationCapabilities", p_alloccap},
        {"VSTD_VirtualSystemManagementCapabilities", p_vsmcap},
        {"VSTD_EnabledLogicalElementCapabilities", p_elecap},
        {"VSTD_RegisteredProfile", p_profile},
        {"VSTD_VirtualSystemManagementService", p_vsms},
        {"VSTD_ConcreteJob", p_job},
        {"VSTD_HostedDependency", p_hdep},
        {"VSTD_SettingsDefineState", p_sds},
        {"VSTD_VirtualSystemSettingDataComponent", p_vssdc},
        {"VSTD_ElementSettingData", p_esd},
        {"VSTD_HostedService", p_hsvc},
        {"VSTD_HostedResourcePool", p_hpool},
        {"VSTD_ElementCapabilities", p_ecap},
        {"VSTD_AffectedJobElement", p_aje},
        {"VSTD_ResourceAllocationFromPool", p_salloc},
};

int prov_enumerate(vstd_mgmt *m, arena *ar, const char *classname, struct inst_list *out)
{
	out->ar = ar;
	for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
		const struct cim_class *cls = cim_class_find(providers[i].cls);
		if (cls == NULL || !cim_class_is_a(cls, classname))
			continue;
		int rc = providers[i].fn(m, ar, cls, out);
		if (rc < 0 || ar->failed)
			return vstd_err(VSTD_ENOMEM, "mgmt: out of memory enumerating %s",
			                cls->name);
	}
	return 0;
}

struct cim_instance *prov_get(vstd_mgmt *m, arena *ar, const struct cim_path *path)
{
	struct inst_list l = {0};
	const struct cim_class *cls = cim_class_find(path->classname);
	if (cls == NULL) {
		vstd_err(VSTD_ENOENT, "mgmt: no class %s", path->classname);
		return NULL;
	}
	if (prov_enumerate(m, ar, cls->name, &l) < 0)
		return NULL;
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i]->cls != cls)
			continue;
		struct cim_path *p = cim_inst_path(l.v[i]);
		if (p && cim_path_equal(p, path))
			return l.v[i];
	}
	vstd_err(VSTD_ENOENT, "mgmt: no instance %s", cim_path_text(ar, path));
	return NULL;
}
