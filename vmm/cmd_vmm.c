/*
 * vmm/cmd_vmm.c - `vstd vmm`: run a virtual machine on KVM.
 *
 *   vstd vmm run --kernel bzImage [--initrd F] [--append S] [--mem 512M]
 *                [--cpus N] [--disk IMG[,format=F]]... [--snapshot] [--read-only]
 *                [--timeout SEC] [--serial FILE|unix:PATH|tcp:HOST:PORT]
 *                [--console-in] [--output=json]
 *                [--net TAP|loopback]... [--rng] [--virtio-console]
 *                [--transport pci|mmio]
 *   vstd vmm run appliance.ova|appliance.ovf  (the machine from the descriptor)
 *   vstd vmm check                            (can this host run guests?)
 *
 * The guest's serial console goes to stdout (or --serial FILE; with
 * --output=json to stderr, leaving stdout to the JSON summary).  Exit
 * status: the guest's debug-exit status ((v << 1) | 1, as QEMU's
 * isa-debug-exit), 0 when it reset or powered off otherwise, 124 on
 * --timeout, 1 on an error (the message names the exit and registers).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/cli.h"
#include "vmm.h"

int vstd_cmd_vmm(int argc, char **argv);
int vmm_plan_from_ovf(struct vmm_config *cfg, const char *path, char *why, size_t cap);

static const char usage_text[] =
        "usage: vstd vmm run [options] [appliance.ova]\n"
        "       vstd vmm check [--output=json]\n"
        "\n"
        "  --kernel FILE      a bzImage (Linux x86 boot protocol 2.12+, 64-bit entry)\n"
        "  --initrd FILE      initramfs\n"
        "  --append TEXT      kernel command line\n"
        "  --mem SIZE         guest memory (default 256M)\n"
        "  --cpus N           vCPUs (default 1)\n"
        "  --hugepages        guest memory in 2 MiB huge pages (reserved up front\n"
        "                     from /proc/sys/vm/nr_hugepages)\n"
        "  --disk IMG[,format=F]  a disk in any vstd format (repeatable)\n"
        "  --snapshot         guest writes go to a throw-away overlay\n"
        "  --read-only        disks are read-only\n"
        "  --net TAP          a virtio-net on TAP interface TAP (opened, or created as\n"
        "                     root); --net loopback: frames come back (repeatable)\n"
        "  --rng              a virtio-rng fed by the host's getrandom()\n"
        "  --virtio-console   a virtio-console (hvc0) writing where the serial does\n"
        "  --transport T      pci (default: found by PCI enumeration) or mmio\n"
        "                     (virtio-mmio devices described in the ACPI DSDT)\n"
        "  --timeout SEC      stop the guest after SEC seconds (exit 124)\n"
        "  --serial FILE      write the serial console to FILE\n"
        "  --serial unix:PATH | tcp:HOST:PORT\n"
        "                     the serial console (both ways) on a socket: waits for\n"
        "                     one client before the guest starts\n"
        "  --console-in       forward stdin to the serial console\n"
        "  --output=json      a JSON summary on stdout (console on stderr)\n"
        "\n"
        "Exit status: the guest's debug-exit status (port 0x501: (v << 1) | 1),\n"
        "0 after a reset or power-off, 124 on timeout, 1 on error.\n";

static int cmd_check(int argc, char **argv)
{
	enum cli_output out = CLI_OUTPUT_HUMAN;
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--output=", 9) == 0) {
			if (cli_parse_output(argv[i] + 9, &out) < 0)
				return CLI_EXIT_ERROR;
		} else {
			return cli_error(CLI_EXIT_USAGE, "unknown argument '%s'", argv[i]);
		}
	}
	struct vmm vm;
	memset(&vm, 0, sizeof(vm));
	vm.kvm_fd = vm.vm_fd = -1;
	int ok = vmm_kvm_open(&vm) == 0;
	if (out == CLI_OUTPUT_JSON) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "kvm", json_object_new_boolean(ok));
		json_object_object_add(o, "irqchip", json_object_new_boolean(ok && vm.has_irqchip));
		if (!ok)
			json_object_object_add(o, "error", json_object_new_string(vmm_error()));
		cli_print_json(o);
	} else if (ok) {
		printf("KVM: usable (API %d, in-kernel irqchip %s)\n", KVM_API_VERSION,
		       vm.has_irqchip ? "yes" : "no");
	} else {
		cli_error(CLI_EXIT_ERROR, "%s", vmm_error());
	}
	vmm_kvm_close(&vm);
	return ok ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}

static int parse_disk(struct vmm_config *cfg, char *arg)
{
	if (cfg->ndisks >= VMM_MAX_DISKS)
		return cli_error(CLI_EXIT_USAGE, "more than %d disks", VMM_MAX_DISKS);
	char *comma = strchr(arg, ',');
	const char *fmt = NULL;
	if (comma) {
		*comma = 0;
		if (strncmp(comma + 1, "format=", 7) != 0)
			return cli_error(CLI_EXIT_USAGE,
			                 "--disk %s: unknown option '%s' (format=F)", arg,
			                 comma + 1);
		fmt = comma + 8;
	}
	cfg->disks[cfg->ndisks] = arg;
	cfg->disk_formats[cfg->ndisks] = fmt;
	cfg->ndisks++;
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"kernel", required_argument, NULL, 'k'},
	        {"initrd", required_argument, NULL, 'i'},
	        {"append", required_argument, NULL, 'a'},
	        {"mem", required_argument, NULL, 'm'},
	        {"cpus", required_argument, NULL, 'c'},
	        {"disk", required_argument, NULL, 'd'},
	        {"snapshot", no_argument, NULL, 's'},
	        {"read-only", no_argument, NULL, 'r'},
	        {"timeout", required_argument, NULL, 't'},
	        {"serial", required_argument, NULL, 'S'},
	        {"console-in", no_argument, NULL, 'I'},
	        {"output", required_argument, NULL, 'o'},
	        {"net", required_argument, NULL, 'n'},
	        {"rng", no_argument, NULL, 'R'},
	        {"virtio-console", no_argument, NULL, 'C'},
	        {"transport", required_argument, NULL, 'T'},
	        {"hugepages", no_argument, NULL, 'H'},
	        {NULL, 0, NULL, 0},
	};
	struct vmm_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.mem = 256ULL << 20;
	cfg.cpus = 1;
	cfg.out_fd = 1;
	enum cli_output out = CLI_OUTPUT_HUMAN;
	const char *serial = NULL;
	int mem_given = 0, cpus_given = 0, opt;
	unsigned long n;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h': return cli_usage(usage_text);
		case 'k': cfg.kernel = optarg; break;
		case 'i': cfg.initrd = optarg; break;
		case 'a': cfg.append = optarg; break;
		case 'm':
			if (cli_parse_size(optarg, "--mem", &cfg.mem) < 0)
				return CLI_EXIT_USAGE;
			mem_given = 1;
			break;
		case 'c':
			if (cli_parse_uint(optarg, "--cpus", VMM_MAX_CPUS, &n) < 0 || n == 0)
				return n == 0 ? cli_error(CLI_EXIT_USAGE,
				                          "--cpus must be at least 1")
				              : CLI_EXIT_USAGE;
			cfg.cpus = (unsigned)n;
			cpus_given = 1;
			break;
		case 'd':
			if (parse_disk(&cfg, optarg) != 0)
				return CLI_EXIT_USAGE;
			break;
		case 's': cfg.snapshot = 1; break;
		case 'r': cfg.read_only = 1; break;
		case 't': {
			char *end;
			cfg.timeout = strtod(optarg, &end);
			if (*end || cfg.timeout <= 0)
				return cli_error(
				        CLI_EXIT_USAGE,
				        "--timeout: '%s' is not a positive number of seconds",
				        optarg);
			break;
		}
		case 'S': serial = optarg; break;
		case 'I': cfg.console_in = 1; break;
		case 'n':
			if (cfg.nnets >= VMM_MAX_NICS)
				return cli_error(CLI_EXIT_USAGE, "more than %d --net",
				                 VMM_MAX_NICS);
			if (*optarg == '\0' || strlen(optarg) >= 16 + 4)
				return cli_error(CLI_EXIT_USAGE,
				                 "--net '%s': expecting a TAP interface name (at "
				                 "most 15 characters) or 'loopback'",
				                 optarg);
			cfg.nets[cfg.nnets++] = optarg;
			break;
		case 'R': cfg.rng = 1; break;
		case 'H': cfg.hugepages = 1; break;
		case 'C': cfg.vconsole = 1; break;
		case 'T':
			if (strcmp(optarg, "pci") == 0)
				cfg.transport_mmio = 0;
			else if (strcmp(optarg, "mmio") == 0)
				cfg.transport_mmio = 1;
			else
				return cli_error(CLI_EXIT_USAGE,
				                 "--transport '%s': expecting pci or mmio", optarg);
			break;
		case 'o':
			if (cli_parse_output(optarg, &out) < 0)
				return CLI_EXIT_USAGE;
			break;
		default: return cli_bad_option(CLI_EXIT_USAGE, argc, argv);
		}
	}
	if (optind < argc) {
		if (optind != argc - 1)
			return cli_error(CLI_EXIT_USAGE,
			                 "expecting at most one OVA/OVF file (see --help)");
		char why[512];
		struct vmm_config plan = cfg;
		if (vmm_plan_from_ovf(&plan, argv[optind], why, sizeof(why)) < 0)
			return cli_error(CLI_EXIT_ERROR, "%s: %s", argv[optind], why);
		if (!mem_given)
			cfg.mem = plan.mem;
		if (!cpus_given)
			cfg.cpus = plan.cpus;
		for (unsigned i = 0; i < plan.ndisks && cfg.ndisks < VMM_MAX_DISKS; i++) {
			cfg.disks[cfg.ndisks] = plan.disks[i];
			cfg.disk_formats[cfg.ndisks++] = plan.disk_formats[i];
		}
		if (!cfg.kernel)
			cfg.kernel = plan.kernel;
	}
	if (!cfg.kernel)
		return cli_error(CLI_EXIT_USAGE,
		                 "no kernel: give --kernel FILE (this monitor has no firmware "
		                 "to boot a disk's boot loader)");
	if (out == CLI_OUTPUT_JSON)
		cfg.out_fd = 2;
	if (serial && (strncmp(serial, "unix:", 5) == 0 || strncmp(serial, "tcp:", 4) == 0)) {
		signal(SIGPIPE, SIG_IGN); /* a client that leaves costs output only */
		if (vmm_serial_socket(serial, cfg.timeout, &cfg.out_fd) < 0)
			return cli_error(CLI_EXIT_ERROR, "%s", vmm_error());
		cfg.in_fd = cfg.out_fd;
		cfg.console_in = 1;
	} else if (serial) {
		cfg.out_fd = open(serial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (cfg.out_fd < 0)
			return cli_error(CLI_EXIT_ERROR, "--serial %s: %s", serial,
			                 strerror(errno));
	}

	struct vmm *vm = NULL;
	int rc;
	uint64_t t0 = vmm_now_ns();
	if (vmm_machine_create(&vm, &cfg) < 0) {
		rc = cli_error(CLI_EXIT_ERROR, "%s", vmm_error());
		vmm_machine_free(vm);
		if (serial)
			close(cfg.out_fd);
		return rc;
	}
	uint64_t t_ready = vmm_now_ns();
	vmm_run(vm);
	uint64_t t_end = vm->t_stop ? vm->t_stop : vmm_now_ns();
	switch (vm->stop) {
	case VMM_STOP_POWEROFF:
	case VMM_STOP_RESET:
	case VMM_STOP_HALT:
	case VMM_STOP_TIMEOUT:
	case VMM_STOP_SIGNAL: rc = vm->exit_code; break;
	default: rc = CLI_EXIT_ERROR;
	}
	double setup_ms = (double)(t_ready - t0) / 1e6;
	double first_ms = vm->t_first_output ? (double)(vm->t_first_output - t0) / 1e6 : -1;
	double total_ms = (double)(t_end - t0) / 1e6;
	long hwm = vmm_proc_value("/proc/self/status", "VmHWM");
	long overhead = hwm >= 0 ? hwm - (long)(vm->ram_size >> 10) : -1;
	if (out == CLI_OUTPUT_JSON) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "stop", json_object_new_string(vmm_stop_name(vm->stop)));
		json_object_object_add(o, "message", json_object_new_string(vm->stop_msg));
		json_object_object_add(o, "exit_status", json_object_new_int(rc));
		json_object_object_add(o, "setup_ms", json_object_new_double(setup_ms));
		json_object_object_add(o, "first_output_ms", json_object_new_double(first_ms));
		json_object_object_add(o, "run_ms", json_object_new_double(total_ms));
		json_object_object_add(o, "max_rss_kib", json_object_new_int64(hwm));
		json_object_object_add(o, "hugepages", json_object_new_boolean(vm->cfg.hugepages));
		json_object_object_add(o, "io_exits", json_object_new_int64((int64_t)vm->exits_io));
		json_object_object_add(o, "mmio_exits",
		                       json_object_new_int64((int64_t)vm->exits_mmio));
		json_object_object_add(o, "virtio_kicks_ioeventfd",
		                       json_object_new_int64((int64_t)vm->kicks_ioeventfd));
		json_object_object_add(o, "virtio_msi_irqfd",
		                       json_object_new_int64((int64_t)vm->msi_irqfd));
		json_object_object_add(o, "virtio_msi_ioctl",
		                       json_object_new_int64((int64_t)vm->msi_ioctl));
		cli_print_json(o);
	} else {
		if (vm->stop == VMM_STOP_ERROR || vm->stop == VMM_STOP_TIMEOUT)
			cli_error(rc, "%s: %s", vmm_stop_name(vm->stop), vm->stop_msg);
		fprintf(stderr,
		        "vstd vmm: %s (%s); setup %.1f ms, first output %.1f ms, ran %.1f ms, exit "
		        "status %d, "
		        "max RSS %ld KiB (guest RAM touched included)\n",
		        vmm_stop_name(vm->stop), vm->stop_msg, setup_ms, first_ms, total_ms, rc,
		        hwm);
		if (vm->virtio)
			fprintf(stderr,
			        "vstd vmm: virtio: %" PRIu64 " kicks by ioeventfd, %" PRIu64
			        " interrupts by irqfd, %" PRIu64 " by KVM_SIGNAL_MSI\n",
			        vm->kicks_ioeventfd, vm->msi_irqfd, vm->msi_ioctl);
	}
	(void)overhead;
	vmm_machine_free(vm);
	if (serial)
		close(cfg.out_fd);
	return rc;
}

int vstd_cmd_vmm(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		if (argc < 2) {
			fputs(usage_text, stderr);
			return CLI_EXIT_USAGE;
		}
		return cli_usage(usage_text);
	}
	optind = 0;
	if (strcmp(argv[1], "run") == 0) {
		cli_set_prog("vstd vmm run");
		return cmd_run(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "check") == 0) {
		cli_set_prog("vstd vmm check");
		return cmd_check(argc - 1, argv + 1);
	}
	return cli_error(CLI_EXIT_USAGE, "'%s' is not a vmm command (run, check)", argv[1]);
}
