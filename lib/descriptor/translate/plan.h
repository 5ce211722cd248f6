/*
 * descriptor/translate/plan.h - the machine plan: what one VirtualSystem
 * asks for, in the terms every face (libvirt XML, QEMU command line, vmm)
 * needs: CPUs, memory, disks on buses, NICs on networks.
 */
#ifndef VSTD_DESCRIPTOR_TRANSLATE_PLAN_H
#define VSTD_DESCRIPTOR_TRANSLATE_PLAN_H

#include "vstd/ovf.h"

#define PLAN_MAX_DISKS 64
#define PLAN_MAX_NICS 32

enum plan_bus { PLAN_BUS_IDE, PLAN_BUS_SCSI, PLAN_BUS_SATA, PLAN_BUS_VIRTIO };

typedef struct plan_disk {
	char *path;         /* NULL: empty CD-ROM drive */
	const char *format; /* "raw", "vmdk", "qcow2", "vpc", ... */
	int bus;            /* enum plan_bus */
	int cdrom;
	unsigned unit;  /* index on that bus kind */
	int compressed; /* the file is gzip-compressed in the package */
	int shareable;  /* a 2.x SharedDisk: other machines attach it too */
	int readonly;   /* CD-ROM, or a SharedDisk with ovf:readOnly */
} plan_disk;

typedef struct plan_nic {
	const char *network;
	const char *model; /* "e1000", "vmxnet3", "pcnet", "virtio" */
	char mac[18];      /* "" when none */
} plan_nic;

typedef struct plan {
	const char *name;
	unsigned cpus;
	uint64_t memory_mib;
	plan_disk disks[PLAN_MAX_DISKS];
	size_t n_disks;
	plan_nic nics[PLAN_MAX_NICS];
	size_t n_nics;
	unsigned bus_count[4];
	/* boot order from a 2.x BootDeviceSection: 'd' disk, 'c' CD/DVD, 'n'
	 * network, 'f' floppy, in order, each once; "" when none given */
	char boot[8];
	const vstd_ovf_hardware *hw; /* the VirtualHardwareSection used */
} plan;

/* target: enum vstd_ovf_target of the caller (opts->target overrides when set). */
int plan_build(plan *p, const vstd_ovf *ovf, const vstd_ovf_translate_opts *opts, int target);
void plan_free(plan *p);

#endif
