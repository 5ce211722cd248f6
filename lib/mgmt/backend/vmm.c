/*
 * mgmt/backend/vmm.c - the vmm backend: each running system is a
 * `vstd vmm run --mem --cpus --serial [--kernel --append --disk]` process
 * (the KVM monitor of vmm/), started detached
 * and tracked by pid.  Power off is SIGTERM (then SIGKILL), pause and
 * resume are SIGSTOP and SIGCONT, reset is not offered by the process
 * interface and is done as power off + start.
 *
 * Whether the vmm command exists is asked of the program itself
 * (`<program> vmm --help` exits 0 only when vmm is part of the build).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/error_internal.h"
#include "mgmt/mgmt_internal.h"

#define MAX_ARGS (32 + 2 * MGMT_MAX_RES)

static int vmm_check(vstd_mgmt *m)
{
	if (m->vmm_program == NULL)
		return vstd_err(VSTD_ENOTSUP,
		                "vmm: no vstd program configured for the vmm backend");
	pid_t pid = fork();
	if (pid < 0)
		return vstd_err_errno(VSTD_EIO, errno, "vmm: fork");
	if (pid == 0) {
		int fd = open("/dev/null", 2);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(m->vmm_program, m->vmm_program, "vmm", "--help", (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return vstd_err(VSTD_ENOTSUP,
		                "vmm: the vmm command is not part of this build of %s (`vstd vmm "
		                "--help` exits %d); use the qemu backend",
		                m->vmm_program, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	if (access("/dev/kvm", R_OK | W_OK) < 0)
		return vstd_err(VSTD_ENOTSUP, "vmm: /dev/kvm is not usable here (%s)",
		                strerror(errno));
	return 0;
}

static int vmm_status(vstd_mgmt *m, struct mgmt_vm *vm, int *state)
{
	(void)m;
	int a = mgmt_proc_alive(vm->pid, vm->uuid);
	*state = a == 0 ? VSTD_MGMT_DISABLED : a == 2 ? VSTD_MGMT_QUIESCE : VSTD_MGMT_ENABLED;
	return 0;
}

static int vmm_start(vstd_mgmt *m, struct mgmt_vm *vm)
{
	char *argv[MAX_ARGS];
	char bufs[MAX_ARGS][600];
	char logp[4096];
	int n = 0, rc;
#define ARG(...)                                                                                   \
	do {                                                                                       \
		snprintf(bufs[n], sizeof(bufs[n]), __VA_ARGS__);                                   \
		argv[n] = bufs[n];                                                                 \
		n++;                                                                               \
	} while (0)
	ARG("%s", m->vmm_program);
	ARG("vmm");
	ARG("run");
	ARG("--mem");
	ARG("%" PRIu64 "M", mgmt_vm_memory_mib(vm));
	ARG("--cpus");
	ARG("%u", mgmt_vm_vcpus(vm));
	/* the console file carries the UUID, which is how the process is
	 * recognised again (mgmt_proc_alive) */
	ARG("--serial");
	ARG("%s/systems/%s.console", m->state_dir, vm->uuid);
	if (vm->kernel[0]) {
		ARG("--kernel");
		ARG("%s", vm->kernel);
	}
	if (vm->cmdline[0]) {
		ARG("--append");
		ARG("%s", vm->cmdline);
	}
	for (unsigned i = 0; i < vm->n_res && n < MAX_ARGS - 3; i++)
		if (vm->res[i].type == 17 || vm->res[i].type == 31) {
			ARG("--disk");
			if (vm->res[i].subtype[0])
				ARG("%s,format=%s", vm->res[i].host_resource, vm->res[i].subtype);
			else
				ARG("%s", vm->res[i].host_resource);
		}
	argv[n] = NULL;
#undef ARG
	snprintf(logp, sizeof(logp), "%s/systems/%s.log", m->state_dir, vm->uuid);
	pid_t pid;
	if ((rc = mgmt_proc_spawn_daemon(argv, logp, &pid)) < 0)
		return rc;
	vm->pid = pid;
	vm->sock[0] = 0;
	struct timespec ts = {0, 200 * 1000 * 1000};
	nanosleep(&ts, NULL);
	if (!mgmt_proc_alive(pid, vm->uuid)) {
		vm->pid = 0;
		return vstd_err(VSTD_EIO, "vmm: `vstd vmm run` for %s exited at once (see %s)",
		                vm->name, logp);
	}
	return 0;
}

static int vmm_poweroff(vstd_mgmt *m, struct mgmt_vm *vm)
{
	(void)m;
	if (mgmt_proc_alive(vm->pid, vm->uuid)) {
		kill(vm->pid, SIGCONT);
		kill(vm->pid, SIGTERM);
		if (mgmt_proc_wait_gone(vm->pid, 5000) < 0) {
			kill(vm->pid, SIGKILL);
			mgmt_proc_wait_gone(vm->pid, 5000);
		}
	}
	vm->pid = 0;
	return 0;
}

static int vmm_shutdown(vstd_mgmt *m, struct mgmt_vm *vm, unsigned timeout_ms)
{
	(void)timeout_ms;
	return vmm_poweroff(m, vm);
}

static int vmm_signal(struct mgmt_vm *vm, int sig)
{
	if (!mgmt_proc_alive(vm->pid, vm->uuid))
		return vstd_err(VSTD_ESTATE, "vmm: system %s is not running", vm->name);
	if (kill(vm->pid, sig) < 0)
		return vstd_err_errno(VSTD_EIO, errno, "vmm: cannot signal %ld", (long)vm->pid);
	return 0;
}

static int vmm_pause(vstd_mgmt *m, struct mgmt_vm *vm)
{
	(void)m;
	return vmm_signal(vm, SIGSTOP);
}

static int vmm_resume(vstd_mgmt *m, struct mgmt_vm *vm)
{
	(void)m;
	return vmm_signal(vm, SIGCONT);
}

static int vmm_reset(vstd_mgmt *m, struct mgmt_vm *vm)
{
	int rc = vmm_poweroff(m, vm);
	return rc < 0 ? rc : vmm_start(m, vm);
}

const struct mgmt_backend mgmt_backend_vmm = {
        "vmm",        "vstd-vmm", vmm_check,  vmm_start, vmm_poweroff,
        vmm_shutdown, vmm_pause,  vmm_resume, vmm_reset, vmm_status,
};
