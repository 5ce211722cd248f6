/*
 * mgmt/jobs.c - state changes run as jobs (CIM_ConcreteJob): the method
 * returns 4096 at once, a thread drives the backend, the client polls
 * JobState.  The last MGMT_MAX_JOBS jobs stay visible.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "mgmt/mgmt_internal.h"

struct mgmt_job *mgmt_job_find(vstd_mgmt *m, const char *id)
{
	size_t first = m->n_jobs > MGMT_MAX_JOBS ? m->n_jobs - MGMT_MAX_JOBS : 0;
	if (id == NULL)
		return NULL;
	for (size_t i = first; i < m->n_jobs; i++) {
		struct mgmt_job *j = &m->jobs[i % MGMT_MAX_JOBS];
		if (strcmp(j->id, id) == 0)
			return j;
	}
	return NULL;
}

static const struct mgmt_backend *backend_of(vstd_mgmt *m, const struct mgmt_vm *vm)
{
	for (size_t i = 0; mgmt_backends[i]; i++)
		if (strcmp(mgmt_backends[i]->name, vm->backend) == 0)
			return mgmt_backends[i];
	return m->backend;
}

struct job_arg {
	vstd_mgmt *m;
	char job[40];
	char vm[VSTD_MGMT_ID_LEN];
	unsigned requested, timeout_ms;
	int from_state;
};

static void *job_thread(void *p)
{
	struct job_arg a = *(struct job_arg *)p;
	vstd_mgmt *m = a.m;
	struct mgmt_vm *vm;
	const struct mgmt_backend *be;
	int rc, final;
	vstd_free(p);

	pthread_mutex_lock(&m->lock);
	vm = mgmt_vm_find(m, a.vm); /* busy: it cannot go away */
	be = backend_of(m, vm);
	struct mgmt_job *j = mgmt_job_find(m, a.job);
	if (j) {
		j->state = 4;
		j->started = j->changed = mgmt_now();
	}
	pthread_mutex_unlock(&m->lock);

	switch (a.requested) {
	case VSTD_MGMT_REQ_ENABLED:
		rc = a.from_state == VSTD_MGMT_QUIESCE ? be->resume(m, vm) : be->start(m, vm);
		final = VSTD_MGMT_ENABLED;
		break;
	case VSTD_MGMT_REQ_DISABLED:
		rc = be->poweroff(m, vm);
		final = VSTD_MGMT_DISABLED;
		break;
	case VSTD_MGMT_REQ_SHUTDOWN:
		rc = be->shutdown(m, vm, a.timeout_ms ? a.timeout_ms : 30000);
		final = VSTD_MGMT_DISABLED;
		break;
	case VSTD_MGMT_REQ_QUIESCE:
		rc = be->pause(m, vm);
		final = VSTD_MGMT_QUIESCE;
		break;
	default: /* reboot, reset */
		rc = be->reset(m, vm);
		final = VSTD_MGMT_ENABLED;
		break;
	}

	pthread_mutex_lock(&m->lock);
	j = mgmt_job_find(m, a.job);
	if (rc < 0) {
		vstd_warn("mgmt", "system %s: state change to %u failed: %s", vm->name, a.requested,
		          vstd_error_last()->message);
		if (j) {
			j->state = 10;
			j->error_code = rc;
			snprintf(j->error, sizeof(j->error), "%s", vstd_error_last()->message);
		}
		vm->enabled_state = a.from_state;
		vm->busy = 0;
		mgmt_vm_refresh(m, vm);
	} else {
		if (j) {
			j->state = 7;
			j->percent = 100;
		}
		vm->enabled_state = final;
		vm->busy = 0;
	}
	if (j)
		j->changed = mgmt_now();
	vm->state_time = mgmt_now();
	mgmt_store_save(m, vm);
	m->running_jobs--;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

int mgmt_job_state_change(vstd_mgmt *m, struct mgmt_vm *vm, unsigned requested, unsigned timeout_ms,
                          struct mgmt_job **job)
{
	int from, valid;
	if (vm->busy)
		return vstd_err(VSTD_EBUSY, "mgmt: system %s is already changing state", vm->name);
	mgmt_vm_refresh(m, vm);
	from = vm->enabled_state;
	switch (requested) {
	case VSTD_MGMT_REQ_ENABLED:
		valid = from == VSTD_MGMT_DISABLED || from == VSTD_MGMT_QUIESCE;
		break;
	case VSTD_MGMT_REQ_DISABLED:
	case VSTD_MGMT_REQ_SHUTDOWN:
		valid = from == VSTD_MGMT_ENABLED || from == VSTD_MGMT_QUIESCE;
		break;
	case VSTD_MGMT_REQ_QUIESCE:
	case VSTD_MGMT_REQ_REBOOT:
	case VSTD_MGMT_REQ_RESET: valid = from == VSTD_MGMT_ENABLED; break;
	default:
		return vstd_err(
		        VSTD_ENOTSUP,
		        "mgmt: RequestedState %u is not supported (2 enabled, 3 disabled, 4 "
		        "shut down, 9 quiesce, 10 reboot, 11 reset)",
		        requested);
	}
	if (!valid)
		return vstd_err(
		        VSTD_ESTATE,
		        "mgmt: system %s cannot go to RequestedState %u from EnabledState %d",
		        vm->name, requested, from);
	if (requested == VSTD_MGMT_REQ_ENABLED && from == VSTD_MGMT_DISABLED) {
		int rc = backend_of(m, vm)->check(m);
		if (rc < 0)
			return rc;
	}
	struct job_arg *a = vstd_calloc(1, sizeof(*a));
	if (a == NULL)
		return vstd_err_code();
	struct mgmt_job *j = &m->jobs[m->n_jobs % MGMT_MAX_JOBS];
	memset(j, 0, sizeof(*j));
	snprintf(j->id, sizeof(j->id), "vstd:job:%zu:%lld", m->n_jobs + 1, (long long)m->started);
	snprintf(j->name, sizeof(j->name), "RequestStateChange(%u)", requested);
	memcpy(j->vm, vm->uuid, sizeof(j->vm));
	j->state = 2;
	j->submitted = j->changed = mgmt_now();
	j->requested = requested;
	j->timeout_ms = timeout_ms;
	m->n_jobs++;
	a->m = m;
	memcpy(a->job, j->id, sizeof(a->job));
	memcpy(a->vm, vm->uuid, sizeof(a->vm));
	a->requested = requested;
	a->timeout_ms = timeout_ms;
	a->from_state = from;
	vm->busy = 1;
	vm->requested_state = (int)requested;
	vm->enabled_state =
	        requested == VSTD_MGMT_REQ_ENABLED && from == VSTD_MGMT_DISABLED
	                ? VSTD_MGMT_STARTING
	        : (requested == VSTD_MGMT_REQ_DISABLED || requested == VSTD_MGMT_REQ_SHUTDOWN)
	                ? VSTD_MGMT_SHUTTING_DOWN
	                : from;
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	m->running_jobs++;
	if (pthread_create(&t, &attr, job_thread, a) != 0) {
		pthread_attr_destroy(&attr);
		m->running_jobs--;
		vm->busy = 0;
		vm->enabled_state = from;
		j->state = 10;
		snprintf(j->error, sizeof(j->error), "cannot create a thread");
		vstd_free(a);
		return vstd_err(VSTD_ENOMEM, "mgmt: cannot create a job thread");
	}
	pthread_attr_destroy(&attr);
	*job = j;
	return 0;
}
