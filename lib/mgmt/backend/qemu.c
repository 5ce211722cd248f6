/*
 * mgmt/backend/qemu.c - the QEMU backend: each running system is a
 * qemu-system-x86_64 process (TCG by default) with a QMP socket in the state
 * directory; state changes are QMP commands (cont, stop, system_reset,
 * system_powerdown, quit), the live state is query-status.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "core/error_internal.h"
#include "core/log_internal.h"
#include "mgmt/backend/qmp.h"
#include "mgmt/mgmt_internal.h"

#define QMP_TIMEOUT 5000
#define MAX_ARGS (40 + 4 * MGMT_MAX_RES)

static int qemu_check(vstd_mgmt *m)
{
	char path[4096];
	const char *bin = m->qemu_binary;
	if (strchr(bin, '/'))
		return access(bin, X_OK) == 0
		               ? 0
		               : vstd_err(VSTD_ENOTSUP, "qemu: %s is not an executable", bin);
	const char *env = getenv("PATH");
	if (env == NULL)
		env = "/usr/bin:/bin";
	while (*env) {
		const char *c = strchr(env, ':');
		size_t l = c ? (size_t)(c - env) : strlen(env);
		snprintf(path, sizeof(path), "%.*s/%s", (int)l, env, bin);
		if (access(path, X_OK) == 0)
			return 0;
		env += l + (c != NULL);
	}
	return vstd_err(VSTD_ENOTSUP, "qemu: %s is not on PATH (install qemu-system-x86)", bin);
}

static int qemu_status(vstd_mgmt *m, struct mgmt_vm *vm, int *state)
{
	json_object *r = NULL, *st;
	(void)m;
	if (!mgmt_proc_alive(vm->pid, vm->uuid)) {
		*state = VSTD_MGMT_DISABLED;
		return 0;
	}
	if (qmp_command(vm->sock, "query-status", NULL, &r, QMP_TIMEOUT) < 0) {
		*state = VSTD_MGMT_ENABLED; /* alive but not answering: still running */
		return 0;
	}
	const char *s =
	        json_object_object_get_ex(r, "status", &st) ? json_object_get_string(st) : "";
	if (strcmp(s, "paused") == 0 || strcmp(s, "suspended") == 0)
		*state = VSTD_MGMT_QUIESCE;
	else if (strcmp(s, "shutdown") == 0)
		*state = VSTD_MGMT_DISABLED;
	else
		*state = VSTD_MGMT_ENABLED;
	json_object_put(r);
	return 0;
}

static int qemu_start(vstd_mgmt *m, struct mgmt_vm *vm)
{
	char *argv[MAX_ARGS];
	char bufs[MAX_ARGS][600];
	int n = 0, rc;
	char logp[4096];
	unsigned disk = 0, nic = 0;
#define ARG(...)                                                                                   \
	do {                                                                                       \
		snprintf(bufs[n], sizeof(bufs[n]), __VA_ARGS__);                                   \
		argv[n] = bufs[n];                                                                 \
		n++;                                                                               \
	} while (0)
	if (snprintf(vm->sock, sizeof(vm->sock), "%s/systems/%.8s.qmp", m->state_dir, vm->uuid) >=
	    (int)sizeof(vm->sock))
		return vstd_err(VSTD_ELIMIT,
		                "qemu: state directory path too long for a unix socket");
	unlink(vm->sock);
	snprintf(logp, sizeof(logp), "%s/systems/%s.log", m->state_dir, vm->uuid);
	ARG("%s", m->qemu_binary);
	ARG("-name");
	ARG("guest=%s", vm->name);
	ARG("-uuid");
	ARG("%s", vm->uuid);
	ARG("-machine");
	ARG("pc,accel=%s", m->qemu_accel);
	ARG("-m");
	ARG("%" PRIu64 "M", mgmt_vm_memory_mib(vm));
	ARG("-smp");
	ARG("%u", mgmt_vm_vcpus(vm));
	ARG("-nodefaults");
	ARG("-display");
	ARG("none");
	ARG("-serial");
	ARG("file:%s/systems/%s.console", m->state_dir, vm->uuid);
	ARG("-qmp");
	ARG("unix:%s,server=on,wait=off", vm->sock);
	if (vm->kernel[0]) {
		ARG("-kernel");
		ARG("%s", vm->kernel);
		if (vm->cmdline[0]) {
			ARG("-append");
			ARG("%s", vm->cmdline);
		}
	}
	for (unsigned i = 0; i < vm->n_res && n < MAX_ARGS - 4; i++) {
		const struct mgmt_res *r = &vm->res[i];
		if (r->type == 17 || r->type == 31) {
			ARG("-drive");
			if (strchr(r->host_resource, ','))
				return vstd_err(VSTD_EINVAL, "qemu: disk path %s contains a comma",
				                r->host_resource);
			if (r->subtype[0])
				ARG("file=%s,if=virtio,format=%s,index=%u", r->host_resource,
				    r->subtype, disk++);
			else
				ARG("file=%s,if=virtio,index=%u", r->host_resource, disk++);
		} else if (r->type == 15 || r->type == 16) {
			ARG("-drive");
			ARG("file=%s,media=cdrom,readonly=on", r->host_resource);
		} else if (r->type == 10 || r->type == 33) {
			ARG("-nic");
			if (r->address[0])
				ARG("user,model=virtio-net-pci,mac=%s,id=nic%u", r->address, nic++);
			else
				ARG("user,model=virtio-net-pci,id=nic%u", nic++);
		}
	}
	argv[n] = NULL;
#undef ARG
	pid_t pid;
	if ((rc = mgmt_proc_spawn_daemon(argv, logp, &pid)) < 0)
		return rc;
	vm->pid = pid;
	/* wait for the QMP socket */
	struct timespec ts = {0, 20 * 1000 * 1000};
	for (int i = 0; i < 1000; i++) {
		if (qmp_ping(vm->sock) == 0) {
			int st;
			qemu_status(m, vm, &st);
			if (st == VSTD_MGMT_ENABLED)
				return 0;
		}
		if (!mgmt_proc_alive(pid, vm->uuid)) {
			char tail[300] = "";
			FILE *f = fopen(logp, "re");
			if (f) {
				if (fseek(f, -(long)(sizeof(tail) - 1), SEEK_END) < 0)
					rewind(f);
				size_t k = fread(tail, 1, sizeof(tail) - 1, f);
				tail[k] = 0;
				fclose(f);
				for (char *p = tail; *p; p++)
					if (*p == '\n')
						*p = ' ';
			}
			vm->pid = 0;
			return vstd_err(VSTD_EIO, "qemu: %s exited at start: %s", m->qemu_binary,
			                tail);
		}
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	vm->pid = 0;
	return vstd_err(VSTD_EBUSY, "qemu: no QMP answer on %s within 20 s", vm->sock);
}

static int qemu_simple(struct mgmt_vm *vm, const char *cmd)
{
	if (!mgmt_proc_alive(vm->pid, vm->uuid))
		return vstd_err(VSTD_ESTATE, "qemu: system %s is not running", vm->name);
	return qmp_command(vm->sock, cmd, NULL, NULL, QMP_TIMEOUT);
}

static int qemu_poweroff(vstd_mgmt *m, struct mgmt_vm *vm)
{
	(void)m;
	if (!mgmt_proc_alive(vm->pid, vm->uuid))
		goto gone;
	if (qmp_command(vm->sock, "quit", NULL, NULL, QMP_TIMEOUT) < 0 ||
	    mgmt_proc_wait_gone(vm->pid, 5000) < 0) {
		kill(vm->pid, SIGKILL);
		mgmt_proc_wait_gone(vm->pid, 5000);
	}
gone:
	unlink(vm->sock);
	vm->pid = 0;
	vm->sock[0] = 0;
	return 0;
}

static int qemu_shutdown(vstd_mgmt *m, struct mgmt_vm *vm, unsigned timeout_ms)
{
	if (mgmt_proc_alive(vm->pid, vm->uuid) &&
	    qmp_command(vm->sock, "system_powerdown", NULL, NULL, QMP_TIMEOUT) == 0 &&
	    mgmt_proc_wait_gone(vm->pid, timeout_ms) == 0) {
		unlink(vm->sock);
		vm->pid = 0;
		vm->sock[0] = 0;
		return 0;
	}
	vstd_info("qemu", "system %s ignored the power button for %u ms: powering off", vm->name,
	          timeout_ms);
	return qemu_poweroff(m, vm);
}

static int qemu_pause(vstd_mgmt *m, struct mgmt_vm *vm)
{
	(void)m;
	return qemu_simple(vm, "stop");
}

static int qemu_resume(vstd_mgmt *m, struct mgmt_vm *vm)
{
	(void)m;
	return qemu_simple(vm, "cont");
}

static int qemu_reset(vstd_mgmt *m, struct mgmt_vm *vm)
{
	(void)m;
	return qemu_simple(vm, "system_reset");
}

const struct mgmt_backend mgmt_backend_qemu = {
        "qemu",        "vstd-qemu", qemu_check,  qemu_start, qemu_poweroff,
        qemu_shutdown, qemu_pause,  qemu_resume, qemu_reset, qemu_status,
};
