/*
 * vmm/ovf_plan.c - the machine an OVF descriptor or an OVA package asks
 * for (through include/vstd/ovf.h): the first VirtualSystem, and of its
 * VirtualHardwareSections the one that suits this monitor
 * (vstd_ovf_select_hardware: "vstd-N" or "kvm" first, then the other x86
 * types; refused by name when none fits).  Its items under the default
 * deployment option give the vCPU count (ResourceType 3), the memory (4,
 * VirtualQuantity x AllocationUnits), the disks (17, whose HostResource
 * names an ovf:/disk/ whose file is the image) and the NICs (10, each on
 * the next --net backend).  An OVA is extracted to a private directory
 * under $TMPDIR first, removed at exit.  What this monitor cannot provide
 * is refused by name when the item is required: NICs without a --net,
 * CD/DVD and floppy drives, other devices.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm.h"
#include "vstd/ovf.h"
#include "vstd/vstd.h"

int vmm_plan_from_ovf(struct vmm_config *cfg, const char *path, char *why, size_t cap);

static char extract_dir[4096];
static char disk_paths[VMM_MAX_DISKS][4096];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void cleanup(void)
{
	if (extract_dir[0])
		nftw(extract_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

static int plan_vm(struct vmm_config *cfg, const vstd_ovf *ovf, const char *dir, char *why,
                   size_t cap)
{
	const vstd_vm *vm = vstd_ovf_find_vm(ovf, NULL);
	if (!vm) {
		snprintf(why, cap, "the descriptor has no VirtualSystem");
		return -1;
	}
	if (vm->is_collection) {
		snprintf(why, cap,
		         "VirtualSystemCollection '%s': this monitor runs one virtual system",
		         vm->id ? vm->id : "?");
		return -1;
	}
	/* of the VirtualHardwareSections, the one that suits this monitor */
	const vstd_ovf_hardware *hw = NULL;
	if (vstd_ovf_select_hardware(ovf, vm, VSTD_OVF_TARGET_VMM, NULL, &hw) < 0) {
		snprintf(why, cap, "%s", vstd_error_last()->message);
		return -1;
	}
	unsigned nics = 0;
	for (size_t i = 0; i < hw->n_items; i++) {
		const vstd_ovf_item *it = &hw->items[i];
		if (!vstd_ovf_item_active(ovf, it, NULL))
			continue;
		const char *name = it->element_name ? it->element_name
		                                    : (it->instance_id ? it->instance_id : "?");
		switch (it->resource_type) {
		case VSTD_RT_PROCESSOR:
			if (!it->has_virtual_quantity || it->virtual_quantity < 1 ||
			    it->virtual_quantity > VMM_MAX_CPUS) {
				snprintf(why, cap,
				         "item '%s' (line %u): %s virtual CPUs; this monitor runs "
				         "1 to %d",
				         name, it->line,
				         it->virtual_quantity_text ? it->virtual_quantity_text
				                                   : "no",
				         VMM_MAX_CPUS);
				return -1;
			}
			cfg->cpus = (unsigned)it->virtual_quantity;
			break;
		case VSTD_RT_MEMORY: {
			uint64_t unit = 1ULL
			                << 20; /* MB when no units are given (common practice) */
			if (it->allocation_units &&
			    vstd_ovf_parse_units(it->allocation_units, &unit) < 0) {
				snprintf(why, cap,
				         "item '%s' (line %u): memory units '%s' not understood",
				         name, it->line, it->allocation_units);
				return -1;
			}
			if (!it->has_virtual_quantity || it->virtual_quantity == 0 ||
			    it->virtual_quantity > (1ULL << 40) / unit) {
				snprintf(why, cap,
				         "item '%s' (line %u): memory size missing or above 1 TiB",
				         name, it->line);
				return -1;
			}
			cfg->mem = it->virtual_quantity * unit;
			break;
		}
		case VSTD_RT_DISK: {
			const char *hr = it->n_host_resources ? it->host_resources[0] : NULL;
			const char *id = NULL;
			if (hr && strncmp(hr, "ovf:/disk/", 10) == 0)
				id = hr + 10;
			else if (hr && strncmp(hr, "/disk/", 6) == 0)
				id = hr + 6;
			const vstd_ovf_disk *d = id ? vstd_ovf_find_disk(ovf, id) : NULL;
			if (!d) {
				snprintf(
				        why, cap,
				        "disk item '%s' (line %u): HostResource '%s' names no disk",
				        name, it->line, hr ? hr : "(none)");
				return -1;
			}
			const vstd_ovf_file *f =
			        d->file_ref ? vstd_ovf_find_file(ovf, d->file_ref) : NULL;
			if (!f || !f->href) {
				snprintf(why, cap,
				         "disk '%s': blank disks (no file) are not provided by "
				         "this monitor",
				         d->disk_id);
				return -1;
			}
			if (strstr(f->href, "://") || strchr(f->href, '/') ||
			    strcmp(f->href, "..") == 0) {
				snprintf(why, cap,
				         "disk '%s': file '%s' is not a plain name in the package",
				         d->disk_id, f->href);
				return -1;
			}
			if (cfg->ndisks >= VMM_MAX_DISKS) {
				snprintf(why, cap, "more than %d disks", VMM_MAX_DISKS);
				return -1;
			}
			int n = snprintf(disk_paths[cfg->ndisks], sizeof(disk_paths[0]), "%s/%s",
			                 dir, f->href);
			if (n < 0 || (size_t)n >= sizeof(disk_paths[0])) {
				snprintf(why, cap, "disk '%s': path too long", d->disk_id);
				return -1;
			}
			cfg->disks[cfg->ndisks] = disk_paths[cfg->ndisks];
			cfg->disk_formats[cfg->ndisks] =
			        NULL; /* probed: the format URI is advisory */
			cfg->ndisks++;
			break;
		}
		case VSTD_RT_IDE:
		case VSTD_RT_SCSI:
		case VSTD_RT_OTHER_STORAGE:
		case VSTD_RT_USB:
		case VSTD_RT_GRAPHICS:
		case VSTD_RT_SERIAL:
		case 0: break; /* controllers: disks become virtio-blk; a console exists */
		case VSTD_RT_ETHERNET:
		case VSTD_RT_OTHER_NET:
			/* each NIC becomes a virtio-net on the next --net backend */
			if (nics < cfg->nnets) {
				nics++;
			} else if (it->required) {
				snprintf(why, cap,
				         "network adapter '%s' (line %u) needs a host network: "
				         "give --net TAP (or --net loopback), one per adapter, or "
				         "mark it ovf:required=\"false\" to run without it",
				         name, it->line);
				return -1;
			}
			break;
		default:
			if (it->required) {
				snprintf(why, cap,
				         "item '%s' (line %u): ResourceType %d is not provided by "
				         "this monitor",
				         name, it->line, it->resource_type);
				return -1;
			}
		}
	}
	return 0;
}

int vmm_plan_from_ovf(struct vmm_config *cfg, const char *path, char *why, size_t cap)
{
	vstd_ovf *own = NULL;
	const vstd_ovf *ovf = NULL;
	vstd_ova *ova = NULL;
	char dir[4096];
	int rc = -1;
	if (ends_with(path, ".ova")) {
		if (vstd_ova_open(&ova, path, NULL) < 0 || vstd_ova_descriptor(ova, &ovf) < 0) {
			snprintf(why, cap, "%s", vstd_error_last()->message);
			goto out;
		}
		const char *tmp = getenv("TMPDIR");
		snprintf(extract_dir, sizeof(extract_dir), "%s/vstd-vmm-ova-XXXXXX",
		         tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(extract_dir)) {
			snprintf(why, cap, "cannot create a directory to extract into (%s)",
			         extract_dir);
			extract_dir[0] = 0;
			goto out;
		}
		atexit(cleanup);
		if (vstd_ova_extract(ova, extract_dir) < 0) {
			snprintf(why, cap, "extracting: %s", vstd_error_last()->message);
			goto out;
		}
		snprintf(dir, sizeof(dir), "%s", extract_dir);
	} else {
		if (vstd_ovf_open(&own, path, NULL) < 0) {
			snprintf(why, cap, "%s", vstd_error_last()->message);
			goto out;
		}
		ovf = own;
		const char *slash = strrchr(path, '/');
		if (slash)
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
		else
			snprintf(dir, sizeof(dir), ".");
	}
	rc = plan_vm(cfg, ovf, dir, why, cap);
out:
	vstd_ovf_free(own);
	vstd_ova_close(ova);
	return rc;
}
