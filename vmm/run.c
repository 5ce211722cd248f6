/*
 * vmm/run.c - one thread per vCPU running KVM_RUN and handling its exits
 * (I/O ports and MMIO go to the bus; HLT, SHUTDOWN, system events, entry
 * failures and internal errors end the run with a message that names the
 * exit and carries the registers), and the main thread's wait for the end:
 * a device's power-off or reset, an error, --timeout, or SIGINT/SIGTERM.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "vmm.h"

#define SIG_KICK SIGUSR1

static volatile sig_atomic_t got_signal;

static void on_kick(int sig)
{
	(void)sig;
}

static void on_term(int sig)
{
	got_signal = sig;
}

void vmm_request_stop(struct vmm *vm, enum vmm_stop_reason why, int code, const char *fmt, ...)
{
	pthread_mutex_lock(&vm->stop_lock);
	if (vm->stop == VMM_RUNNING) {
		vm->stop = why;
		vm->exit_code = code;
		vm->t_stop = vmm_now_ns();
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(vm->stop_msg, sizeof(vm->stop_msg), fmt, ap);
		va_end(ap);
		pthread_cond_broadcast(&vm->stop_cond);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (vm->vcpus[i].run)
			vm->vcpus[i].run->immediate_exit = 1;
}

static int stopping(struct vmm *vm)
{
	pthread_mutex_lock(&vm->stop_lock);
	int s = vm->stop != VMM_RUNNING;
	pthread_mutex_unlock(&vm->stop_lock);
	return s;
}

static void fail_with_regs(struct vmm_vcpu *c, const char *what)
{
	char regs[1024];
	vmm_kvm_dump_regs(c, regs, sizeof(regs));
	vmm_request_stop(c->vm, VMM_STOP_ERROR, 1, "%s; %s", what, regs);
}

static int handle_exit(struct vmm_vcpu *c)
{
	struct kvm_run *run = c->run;
	struct vmm *vm = c->vm;
	char msg[256];
	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		uint8_t *p = (uint8_t *)run + run->io.data_offset;
		if (run->io.data_offset + (uint64_t)run->io.size * run->io.count > vm->run_size) {
			fail_with_regs(c, "KVM reported an I/O exit outside the run area");
			return -1;
		}
		for (uint32_t i = 0; i < run->io.count; i++, p += run->io.size)
			vmm_bus_pio(vm, run->io.port, p, run->io.size,
			            run->io.direction == KVM_EXIT_IO_OUT);
		return 0;
	}
	case KVM_EXIT_MMIO:
		if (run->mmio.len > 8) {
			fail_with_regs(c, "MMIO exit wider than 8 bytes");
			return -1;
		}
		vmm_bus_mmio(vm, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
		             run->mmio.is_write);
		return 0;
	case KVM_EXIT_INTR: return 0;
	case KVM_EXIT_HLT:
		vmm_request_stop(vm, VMM_STOP_HALT, 0,
		                 "vCPU %d halted (no interrupt controller to wake it)", c->id);
		return -1;
	case KVM_EXIT_SHUTDOWN: {
		char regs[1024];
		vmm_kvm_dump_regs(c, regs, sizeof(regs));
		vmm_request_stop(vm, VMM_STOP_RESET, 0,
		                 "vCPU %d: triple fault (shutdown), machine reset; %s", c->id,
		                 regs);
		return -1;
	}
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vmm_request_stop(vm, VMM_STOP_POWEROFF, 0, "the guest powered off");
			break;
		case KVM_SYSTEM_EVENT_RESET:
			vmm_request_stop(vm, VMM_STOP_RESET, 0, "the guest reset the machine");
			break;
		default:
			snprintf(msg, sizeof(msg), "system event %u (crash)",
			         run->system_event.type);
			fail_with_regs(c, msg);
		}
		return -1;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(msg, sizeof(msg),
		         "KVM could not enter the guest (hardware entry failure reason 0x%llx)",
		         (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		fail_with_regs(c, msg);
		return -1;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(msg, sizeof(msg), "KVM internal error, suberror %u%s",
		         run->internal.suberror,
		         run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
		                 ? " (instruction emulation failed)"
		                 : "");
		fail_with_regs(c, msg);
		return -1;
	default:
		snprintf(msg, sizeof(msg), "unhandled KVM exit reason %u", run->exit_reason);
		fail_with_regs(c, msg);
		return -1;
	}
}

static void *vcpu_main(void *arg)
{
	struct vmm_vcpu *c = arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	while (!stopping(c->vm)) {
		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				c->run->immediate_exit = 0;
				continue;
			}
			char msg[128];
			snprintf(msg, sizeof(msg), "KVM_RUN: %s", strerror(errno));
			fail_with_regs(c, msg);
			break;
		}
		if (handle_exit(c) < 0)
			break;
	}
	return NULL;
}

int vmm_run(struct vmm *vm)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_kick;
	sigaction(SIG_KICK, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	got_signal = 0;

	/* vCPU threads start with SIG_KICK blocked; they unblock it themselves */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	vm->t_start = vm->t_start ? vm->t_start : vmm_now_ns();
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		if (pthread_create(&vm->vcpus[i].thread, NULL, vcpu_main, &vm->vcpus[i]) != 0) {
			vmm_request_stop(vm, VMM_STOP_ERROR, 1, "cannot start vCPU thread %u", i);
			break;
		}
		vm->vcpus[i].started = 1;
	}

	pthread_mutex_lock(&vm->stop_lock);
	while (vm->stop == VMM_RUNNING) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&vm->stop_cond, &vm->stop_lock, &ts);
		if (vm->stop != VMM_RUNNING)
			break;
		pthread_mutex_unlock(&vm->stop_lock);
		if (got_signal)
			vmm_request_stop(vm, VMM_STOP_SIGNAL, 128 + got_signal,
			                 "stopped by signal %d", (int)got_signal);
		else if (vm->cfg.timeout > 0 &&
		         (double)(vmm_now_ns() - vm->t_start) / 1e9 > vm->cfg.timeout)
			vmm_request_stop(vm, VMM_STOP_TIMEOUT, 124,
			                 "the guest was still running after the %.1f s timeout",
			                 vm->cfg.timeout);
		pthread_mutex_lock(&vm->stop_lock);
	}
	pthread_mutex_unlock(&vm->stop_lock);

	for (unsigned i = 0; i < vm->nvcpus; i++) {
		if (!vm->vcpus[i].started)
			continue;
		vm->vcpus[i].run->immediate_exit = 1;
		pthread_kill(vm->vcpus[i].thread, SIG_KICK);
		pthread_join(vm->vcpus[i].thread, NULL);
		vm->vcpus[i].started = 0;
	}
	if (vm->stop == VMM_STOP_TIMEOUT || vm->stop == VMM_STOP_SIGNAL) {
		/* say where the guest was: a hang is never silent */
		size_t len = strlen(vm->stop_msg);
		for (unsigned i = 0; i < vm->nvcpus && len + 16 < sizeof(vm->stop_msg); i++) {
			char regs[1024];
			vmm_kvm_dump_regs(&vm->vcpus[i], regs, sizeof(regs));
			len += (size_t)snprintf(vm->stop_msg + len, sizeof(vm->stop_msg) - len,
			                        "; %s", regs);
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	return 0;
}
