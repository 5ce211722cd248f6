/*
 * mgmt/mgmt_internal.h - the manager's state shared by the model providers,
 * the service methods, the backends and the WBEM front.
 */
#ifndef VSTD_MGMT_INTERNAL_H
#define VSTD_MGMT_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "vstd/mgmt.h"

#define MGMT_MAX_RES 64
#define MGMT_MAX_JOBS 256
#define MGMT_STR 256

/* One resource allocation (RASD / SASD / EPASD) of a system. */
struct mgmt_res {
	char id[64];                  /* local part of the InstanceID */
	uint16_t type;                /* CIM ResourceType */
	uint64_t quantity;            /* VirtualQuantity (count, MiB) */
	char host_resource[MGMT_STR]; /* image path for disks */
	char address[64];             /* MAC for NICs */
	char subtype[64];             /* ResourceSubType (disk format, NIC model) */
	char connection[64];          /* network for NICs */
	char element_name[MGMT_STR];
};

struct mgmt_vm {
	char uuid[VSTD_MGMT_ID_LEN];
	char name[MGMT_STR];
	char kernel[MGMT_STR];
	char cmdline[MGMT_STR];
	char notes[MGMT_STR];
	struct mgmt_res res[MGMT_MAX_RES];
	unsigned n_res;
	unsigned next_res;
	int64_t created;
	/* state */
	int enabled_state;   /* enum vstd_mgmt_state */
	int requested_state; /* last RequestedState, 12 (Not Applicable) initially */
	int64_t state_time;
	int busy; /* a job works on it: no changes */
	/* runtime, owned by the backend */
	pid_t pid;
	char sock[108]; /* QMP socket (qemu) */
	char backend[16];
};

struct mgmt_job {
	char id[40];
	char name[64];
	char vm[VSTD_MGMT_ID_LEN];
	int state; /* CIM JobState: 2 new, 4 running, 7 completed, 10 exception */
	int percent;
	int error_code;
	char error[MGMT_STR];
	int64_t submitted, started, changed;
	unsigned requested;
	unsigned timeout_ms;
};

struct mgmt_backend {
	const char *name;
	const char *system_type; /* VirtualSystemType */
	int (*check)(vstd_mgmt *m);
	/* The system's lock is NOT held; vm->busy is set, so the config is stable. */
	int (*start)(vstd_mgmt *m, struct mgmt_vm *vm);
	int (*poweroff)(vstd_mgmt *m, struct mgmt_vm *vm);
	int (*shutdown)(vstd_mgmt *m, struct mgmt_vm *vm, unsigned timeout_ms);
	int (*pause)(vstd_mgmt *m, struct mgmt_vm *vm);
	int (*resume)(vstd_mgmt *m, struct mgmt_vm *vm);
	int (*reset)(vstd_mgmt *m, struct mgmt_vm *vm);
	/* The live state: VSTD_MGMT_ENABLED, _QUIESCE or _DISABLED (process gone). */
	int (*status)(vstd_mgmt *m, struct mgmt_vm *vm, int *state);
};

extern const struct mgmt_backend mgmt_backend_qemu;
extern const struct mgmt_backend mgmt_backend_vmm;
extern const struct mgmt_backend *const mgmt_backends[];

struct vstd_mgmt {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *state_dir;
	char *qemu_binary;
	char *qemu_accel;
	char *vmm_program;
	const struct mgmt_backend *backend;
	uint64_t max_memory;
	unsigned max_vcpus;
	unsigned max_systems;
	int lock_fd;
	char host_name[128];
	struct mgmt_vm **vms;
	size_t n_vms, cap_vms;
	struct mgmt_job jobs[MGMT_MAX_JOBS];
	size_t n_jobs; /* total created; slot = n % MGMT_MAX_JOBS */
	unsigned running_jobs;
	int64_t started;
};

struct mgmt_vm *mgmt_vm_find(vstd_mgmt *m, const char *uuid);
/* Persist one system (atomically) / remove its file.  Lock held. */
int mgmt_store_save(vstd_mgmt *m, const struct mgmt_vm *vm);
int mgmt_store_remove(vstd_mgmt *m, const char *uuid);
int mgmt_store_load(vstd_mgmt *m);
/* Write data to path atomically: temp file, fsync, rename, fsync dir. */
int mgmt_write_atomic(const char *path, const void *data, size_t len, int mode);

/* Validate and add a new system (lock held); takes a filled template. */
int mgmt_vm_add(vstd_mgmt *m, struct mgmt_vm *tmpl, struct mgmt_vm **out);
int mgmt_vm_remove(vstd_mgmt *m, const char *uuid);
/* Check limits of a system's configuration: VSTD_ERANGE with a message. */
int mgmt_vm_validate(vstd_mgmt *m, const struct mgmt_vm *vm);
/* Totals of a system */
uint64_t mgmt_vm_memory_mib(const struct mgmt_vm *vm);
unsigned mgmt_vm_vcpus(const struct mgmt_vm *vm);
void mgmt_res_init(struct mgmt_vm *vm, struct mgmt_res *r, uint16_t type);

/* Start a state change as a job (lock held): 0 with *job set, or an error. */
int mgmt_job_state_change(vstd_mgmt *m, struct mgmt_vm *vm, unsigned requested, unsigned timeout_ms,
                          struct mgmt_job **job);
struct mgmt_job *mgmt_job_find(vstd_mgmt *m, const char *id);
/* Refresh the live state of a system from the backend (lock held). */
void mgmt_vm_refresh(vstd_mgmt *m, struct mgmt_vm *vm);

int64_t mgmt_now(void);
void mgmt_uuid(char out[VSTD_MGMT_ID_LEN]);
/* Copy with truncation check: VSTD_ELIMIT naming what. */
int mgmt_copy(char *dst, size_t cap, const char *src, const char *what);

/* Process helpers (backend/proc.c). */
int mgmt_proc_alive(pid_t pid, const char *must_contain);
int mgmt_proc_spawn_daemon(char *const argv[], const char *log_path, pid_t *pid_out);
int mgmt_proc_wait_gone(pid_t pid, unsigned timeout_ms);

#endif
