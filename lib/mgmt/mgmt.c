/*
 * mgmt/mgmt.c - the manager: systems, limits, state changes as jobs.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "core/uuid.h"
#include "mgmt/ovf_pkg.h"
#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "mgmt/mgmt_internal.h"

const struct mgmt_backend *const mgmt_backends[] = {&mgmt_backend_qemu, &mgmt_backend_vmm, NULL};

int64_t mgmt_now(void)
{
	return (int64_t)time(NULL);
}

void mgmt_uuid(char out[VSTD_MGMT_ID_LEN])
{
	uint8_t b[16];
	vstd_uuid_random(b);
	vstd_uuid_text(b, out);
}

int mgmt_copy(char *dst, size_t cap, const char *src, const char *what)
{
	size_t n = src ? strlen(src) : 0;
	if (n >= cap)
		return vstd_err(VSTD_ELIMIT, "mgmt: %s is %zu bytes long, the limit is %zu", what,
		                n, cap - 1);
	memcpy(dst, src ? src : "", n + 1);
	return 0;
}

struct mgmt_vm *mgmt_vm_find(vstd_mgmt *m, const char *uuid)
{
	if (uuid == NULL)
		return NULL;
	for (size_t i = 0; i < m->n_vms; i++)
		if (strcasecmp(m->vms[i]->uuid, uuid) == 0)
			return m->vms[i];
	return NULL;
}

uint64_t mgmt_vm_memory_mib(const struct mgmt_vm *vm)
{
	uint64_t t = 0;
	for (unsigned i = 0; i < vm->n_res; i++)
		if (vm->res[i].type == 4 && vm->res[i].quantity < UINT64_MAX - t)
			t += vm->res[i].quantity;
	return t;
}

unsigned mgmt_vm_vcpus(const struct mgmt_vm *vm)
{
	uint64_t t = 0;
	for (unsigned i = 0; i < vm->n_res; i++)
		if (vm->res[i].type == 3 && vm->res[i].quantity < UINT32_MAX - t)
			t += vm->res[i].quantity;
	return (unsigned)t;
}

void mgmt_res_init(struct mgmt_vm *vm, struct mgmt_res *r, uint16_t type)
{
	memset(r, 0, sizeof(*r));
	r->type = type;
	snprintf(r->id, sizeof(r->id), "%u", vm->next_res++);
}

int mgmt_vm_validate(vstd_mgmt *m, const struct mgmt_vm *vm)
{
	uint64_t mib = mgmt_vm_memory_mib(vm);
	unsigned cpus = mgmt_vm_vcpus(vm);
	unsigned n_mem = 0, n_cpu = 0;
	if (vm->name[0] == 0)
		return vstd_err(VSTD_EINVAL, "mgmt: system %s has no ElementName", vm->uuid);
	for (unsigned i = 0; i < vm->n_res; i++) {
		const struct mgmt_res *r = &vm->res[i];
		n_mem += r->type == 4;
		n_cpu += r->type == 3;
		if ((r->type == 17 || r->type == 31 || r->type == 15 || r->type == 16) &&
		    r->host_resource[0] == 0)
			return vstd_err(VSTD_EINVAL,
			                "mgmt: system %s: disk allocation %s has no HostResource "
			                "(the image path)",
			                vm->name, r->id);
		if (r->type != 3 && r->type != 4 && r->type != 10 && r->type != 33 &&
		    r->type != 17 && r->type != 31 && r->type != 15 && r->type != 16)
			return vstd_err(VSTD_ENOTSUP,
			                "mgmt: system %s: ResourceType %u is not supported (3 "
			                "processor, 4 memory, 10/33 Ethernet, 15/16/17/31 storage)",
			                vm->name, r->type);
	}
	if (n_mem > 1 || n_cpu > 1)
		return vstd_err(VSTD_EINVAL,
		                "mgmt: system %s has %u memory and %u processor allocations (at "
		                "most one each)",
		                vm->name, n_mem, n_cpu);
	if (mib == 0)
		return vstd_err(VSTD_EINVAL,
		                "mgmt: system %s has no memory (a RASD with "
		                "ResourceType 4 and VirtualQuantity in MiB)",
		                vm->name);
	if (mib > m->max_memory / (1024 * 1024))
		return vstd_err(VSTD_ERANGE,
		                "mgmt: system %s asks for %" PRIu64 " MiB of memory, more than "
		                "the %" PRIu64 " MiB a system may have on this host",
		                vm->name, mib, m->max_memory / (1024 * 1024));
	if (cpus == 0 || cpus > m->max_vcpus)
		return vstd_err(VSTD_ERANGE,
		                "mgmt: system %s asks for %u processors, the range is 1..%u",
		                vm->name, cpus, m->max_vcpus);
	return 0;
}

int mgmt_vm_add(vstd_mgmt *m, struct mgmt_vm *tmpl, struct mgmt_vm **out)
{
	int rc;
	if (m->n_vms >= m->max_systems)
		return vstd_err(VSTD_ELIMIT, "mgmt: %zu systems are defined, the limit is %u",
		                m->n_vms, m->max_systems);
	if (tmpl->uuid[0] == 0)
		mgmt_uuid(tmpl->uuid);
	if (mgmt_vm_find(m, tmpl->uuid))
		return vstd_err(VSTD_EEXIST, "mgmt: system %s already exists", tmpl->uuid);
	for (size_t i = 0; i < m->n_vms; i++)
		if (strcmp(m->vms[i]->name, tmpl->name) == 0)
			return vstd_err(VSTD_EEXIST,
			                "mgmt: a system named '%s' already exists (%s)", tmpl->name,
			                m->vms[i]->uuid);
	if ((rc = mgmt_vm_validate(m, tmpl)) < 0)
		return rc;
	if (m->n_vms == m->cap_vms) {
		size_t cap = m->cap_vms ? m->cap_vms * 2 : 16;
		struct mgmt_vm **v = vstd_realloc_array(m->vms, cap, sizeof(*v));
		if (v == NULL)
			return vstd_err_code();
		m->vms = v;
		m->cap_vms = cap;
	}
	struct mgmt_vm *vm = vstd_malloc(sizeof(*vm));
	if (vm == NULL)
		return vstd_err_code();
	*vm = *tmpl;
	vm->created = vm->created ? vm->created : mgmt_now();
	vm->enabled_state = VSTD_MGMT_DISABLED;
	vm->requested_state = 12;
	vm->state_time = mgmt_now();
	vm->busy = 0;
	vm->pid = 0;
	mgmt_copy(vm->backend, sizeof(vm->backend), m->backend->name, "backend");
	if ((rc = mgmt_store_save(m, vm)) < 0) {
		vstd_free(vm);
		return rc;
	}
	m->vms[m->n_vms++] = vm;
	if (out)
		*out = vm;
	return 0;
}

int mgmt_vm_remove(vstd_mgmt *m, const char *uuid)
{
	for (size_t i = 0; i < m->n_vms; i++) {
		struct mgmt_vm *vm = m->vms[i];
		if (strcasecmp(vm->uuid, uuid) != 0)
			continue;
		if (vm->busy)
			return vstd_err(VSTD_EBUSY, "mgmt: system %s is changing state", vm->name);
		mgmt_vm_refresh(m, vm);
		if (vm->enabled_state != VSTD_MGMT_DISABLED)
			return vstd_err(VSTD_ESTATE,
			                "mgmt: system %s is not stopped (EnabledState "
			                "%d); stop it first",
			                vm->name, vm->enabled_state);
		int rc = mgmt_store_remove(m, vm->uuid);
		if (rc < 0)
			return rc;
		mgmt_images_remove(m->state_dir, vm->uuid); /* images unpacked from an OVA */
		memmove(&m->vms[i], &m->vms[i + 1], (m->n_vms - i - 1) * sizeof(*m->vms));
		m->n_vms--;
		vstd_free(vm);
		return 0;
	}
	return vstd_err(VSTD_ENOENT, "mgmt: no system %s", uuid);
}

void mgmt_vm_refresh(vstd_mgmt *m, struct mgmt_vm *vm)
{
	int st;
	const struct mgmt_backend *be = m->backend;
	if (vm->busy || vm->pid <= 0)
		return;
	for (size_t i = 0; mgmt_backends[i]; i++)
		if (strcmp(mgmt_backends[i]->name, vm->backend) == 0)
			be = mgmt_backends[i];
	if (be->status(m, vm, &st) < 0)
		st = VSTD_MGMT_DISABLED;
	if (st == VSTD_MGMT_DISABLED) {
		vm->pid = 0;
		vm->sock[0] = 0;
	}
	if (st != vm->enabled_state) {
		vm->enabled_state = st;
		vm->state_time = mgmt_now();
		mgmt_store_save(m, vm);
	}
}

/* ------------------------------------------------------------ open / free */

static uint64_t host_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	if (pages <= 0 || psize <= 0)
		return 1ull << 32;
	return (uint64_t)pages * (uint64_t)psize;
}

int vstd_mgmt_open(vstd_mgmt **out, const vstd_mgmt_opts *opts)
{
	int rc;
	char path[4096];
	if (out == NULL || opts == NULL || opts->version != VSTD_MGMT_OPTS_VERSION ||
	    opts->state_dir == NULL || opts->state_dir[0] == 0)
		return vstd_err(VSTD_EINVAL, "mgmt: options need a version and a state_dir");
	const struct mgmt_backend *be = NULL;
	const char *bname = opts->backend ? opts->backend : "qemu";
	for (size_t i = 0; mgmt_backends[i]; i++)
		if (strcmp(mgmt_backends[i]->name, bname) == 0)
			be = mgmt_backends[i];
	if (be == NULL)
		return vstd_err(VSTD_EINVAL, "mgmt: unknown backend '%s' (qemu, vmm)", bname);
	if (mkdir(opts->state_dir, 0700) < 0 && errno != EEXIST)
		return vstd_err_errno(VSTD_EIO, errno, "mgmt: cannot create state directory %s",
		                      opts->state_dir);
	snprintf(path, sizeof(path), "%s/systems", opts->state_dir);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return vstd_err_errno(VSTD_EIO, errno, "mgmt: cannot create %s", path);
	snprintf(path, sizeof(path), "%s/lock", opts->state_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return vstd_err_errno(VSTD_EIO, errno, "mgmt: cannot open %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return vstd_err(VSTD_EBUSY, "mgmt: state directory %s is in use by another process",
		                opts->state_dir);
	}
	vstd_mgmt *m = vstd_calloc(1, sizeof(*m));
	if (m == NULL) {
		close(fd);
		return vstd_err_code();
	}
	m->lock_fd = fd;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	m->backend = be;
	/* absolute, so guests started from here find their files whatever their cwd */
	char *abs = realpath(opts->state_dir, NULL);
	m->state_dir = vstd_strdup(abs ? abs : opts->state_dir);
	free(abs); /* realpath's buffer comes from libc malloc */
	m->qemu_binary = vstd_strdup(opts->qemu_binary ? opts->qemu_binary : "qemu-system-x86_64");
	m->qemu_accel = vstd_strdup(opts->qemu_accel ? opts->qemu_accel : "tcg");
	m->vmm_program = opts->vmm_program ? vstd_strdup(opts->vmm_program) : NULL;
	m->max_memory = opts->max_memory ? opts->max_memory : host_memory();
	m->max_vcpus = opts->max_vcpus ? opts->max_vcpus : 64;
	m->max_systems = opts->max_systems ? opts->max_systems : 4096;
	m->started = mgmt_now();
	if (gethostname(m->host_name, sizeof(m->host_name) - 1) < 0 || m->host_name[0] == 0)
		strcpy(m->host_name, "localhost");
	if (m->state_dir == NULL || m->qemu_binary == NULL || m->qemu_accel == NULL ||
	    (opts->vmm_program && m->vmm_program == NULL)) {
		vstd_mgmt_free(m);
		return VSTD_ENOMEM;
	}
	rc = mgmt_store_load(m);
	if (rc < 0 && rc != VSTD_ECORRUPT) {
		vstd_mgmt_free(m);
		return rc;
	}
	*out = m;
	return rc;
}

void vstd_mgmt_free(vstd_mgmt *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	while (m->running_jobs)
		pthread_cond_wait(&m->cond, &m->lock);
	pthread_mutex_unlock(&m->lock);
	for (size_t i = 0; i < m->n_vms; i++)
		vstd_free(m->vms[i]);
	vstd_free(m->vms);
	vstd_free(m->state_dir);
	vstd_free(m->qemu_binary);
	vstd_free(m->qemu_accel);
	vstd_free(m->vmm_program);
	if (m->lock_fd >= 0)
		close(m->lock_fd);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->cond);
	vstd_free(m);
}

int vstd_mgmt_backend_check(vstd_mgmt *m)
{
	return m->backend->check(m);
}

size_t vstd_mgmt_count(vstd_mgmt *m)
{
	pthread_mutex_lock(&m->lock);
	size_t n = m->n_vms;
	pthread_mutex_unlock(&m->lock);
	return n;
}

/* ------------------------------------------------------------ C API */

int vstd_mgmt_define(vstd_mgmt *m, const vstd_mgmt_system *sys, char id[VSTD_MGMT_ID_LEN])
{
	static struct mgmt_vm zero;
	struct mgmt_vm *t, *vm;
	int rc;
	if (m == NULL || sys == NULL || sys->version != VSTD_MGMT_SYSTEM_VERSION ||
	    sys->name == NULL)
		return vstd_err(VSTD_EINVAL, "mgmt: define needs a versioned system with a name");
	if (sys->n_disks + sys->n_nics + 2 > MGMT_MAX_RES)
		return vstd_err(VSTD_ELIMIT, "mgmt: at most %d resources per system", MGMT_MAX_RES);
	if ((t = vstd_malloc(sizeof(*t))) == NULL)
		return vstd_err_code();
	*t = zero;
	if ((rc = mgmt_copy(t->name, sizeof(t->name), sys->name, "name")) < 0 ||
	    (rc = mgmt_copy(t->kernel, sizeof(t->kernel), sys->kernel, "kernel path")) < 0 ||
	    (rc = mgmt_copy(t->cmdline, sizeof(t->cmdline), sys->cmdline, "kernel command line")) <
	            0)
		goto out;
	struct mgmt_res *r = &t->res[t->n_res++];
	mgmt_res_init(t, r, 3);
	r->quantity = sys->vcpus ? sys->vcpus : 1;
	r = &t->res[t->n_res++];
	mgmt_res_init(t, r, 4);
	r->quantity = sys->memory / (1024 * 1024) + (sys->memory % (1024 * 1024) != 0);
	for (size_t i = 0; i < sys->n_disks; i++) {
		r = &t->res[t->n_res++];
		mgmt_res_init(t, r, 31);
		if ((rc = mgmt_copy(r->host_resource, sizeof(r->host_resource), sys->disks[i],
		                    "disk path")) < 0)
			goto out;
	}
	for (unsigned i = 0; i < sys->n_nics; i++) {
		r = &t->res[t->n_res++];
		mgmt_res_init(t, r, 10);
	}
	pthread_mutex_lock(&m->lock);
	rc = mgmt_vm_add(m, t, &vm);
	if (rc == 0 && id)
		memcpy(id, vm->uuid, VSTD_MGMT_ID_LEN);
	pthread_mutex_unlock(&m->lock);
out:
	vstd_free(t);
	return rc;
}

int vstd_mgmt_destroy(vstd_mgmt *m, const char *id)
{
	pthread_mutex_lock(&m->lock);
	int rc = mgmt_vm_remove(m, id);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int vstd_mgmt_state(vstd_mgmt *m, const char *id, unsigned *state)
{
	int rc = 0;
	pthread_mutex_lock(&m->lock);
	struct mgmt_vm *vm = mgmt_vm_find(m, id);
	if (vm == NULL) {
		rc = vstd_err(VSTD_ENOENT, "mgmt: no system %s", id);
	} else {
		mgmt_vm_refresh(m, vm);
		*state = (unsigned)vm->enabled_state;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int vstd_mgmt_request_state(vstd_mgmt *m, const char *id, unsigned requested, unsigned timeout_ms)
{
	struct mgmt_job *job;
	char jid[40];
	int rc;
	pthread_mutex_lock(&m->lock);
	struct mgmt_vm *vm = mgmt_vm_find(m, id);
	if (vm == NULL) {
		pthread_mutex_unlock(&m->lock);
		return vstd_err(VSTD_ENOENT, "mgmt: no system %s", id);
	}
	rc = mgmt_job_state_change(m, vm, requested, timeout_ms, &job);
	if (rc == 0) {
		memcpy(jid, job->id, sizeof(jid));
		for (;;) {
			job = mgmt_job_find(m, jid);
			if (job == NULL || job->state == 7 || job->state == 10)
				break;
			pthread_cond_wait(&m->cond, &m->lock);
		}
		if (job && job->state == 10)
			rc = vstd_err(job->error_code ? job->error_code : VSTD_EIO, "%s",
			              job->error);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}
