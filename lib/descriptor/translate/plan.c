/*
 * descriptor/translate/plan.c - from a VirtualSystem's hardware items (under
 * one deployment option) to a machine plan.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "descriptor/translate/plan.h"

static const char *format_of_uri(const char *uri)
{
	if (uri == NULL)
		return "raw";
	if (strstr(uri, "vmdk") != NULL)
		return "vmdk";
	if (strstr(uri, "qcow") != NULL)
		return "qcow2";
	if (strstr(uri, "vhdx") != NULL)
		return "vhdx";
	if (strstr(uri, "vhd") != NULL || strstr(uri, "VHD") != NULL)
		return "vpc";
	if (strstr(uri, "vdi") != NULL)
		return "vdi";
	return "raw";
}

static const char *nic_model(const char *sub)
{
	if (sub == NULL)
		return "e1000";
	if (strcasecmp(sub, "VmxNet3") == 0)
		return "vmxnet3";
	if (strncasecmp(sub, "PCNet", 5) == 0)
		return "pcnet";
	if (strncasecmp(sub, "virtio", 6) == 0)
		return "virtio";
	if (strncasecmp(sub, "rtl8139", 7) == 0)
		return "rtl8139";
	return "e1000";
}

static void set_mac(char out[18], const char *in)
{
	out[0] = 0;
	if (in == NULL || strlen(in) != 17)
		return;
	for (int i = 0; i < 17; i++) {
		char c = in[i];
		if (i % 3 == 2) {
			if (c != ':' && c != '-')
				return;
		} else if (!isxdigit((unsigned char)c)) {
			return;
		}
	}
	for (int i = 0; i < 17; i++)
		out[i] = (char)(i % 3 == 2 ? ':' : tolower((unsigned char)in[i]));
	out[17] = 0;
}

static const vstd_ovf_item *find_item(const vstd_ovf_hardware *hw, const char *iid)
{
	for (size_t i = 0; iid != NULL && i < hw->n_items; i++)
		if (hw->items[i].instance_id && strcmp(hw->items[i].instance_id, iid) == 0)
			return &hw->items[i];
	return NULL;
}

static int bus_of(const vstd_ovf_hardware *hw, const vstd_ovf_item *it, int cdrom)
{
	const vstd_ovf_item *c = find_item(hw, it->parent);
	if (c == NULL)
		return cdrom ? PLAN_BUS_IDE : PLAN_BUS_SCSI;
	switch (c->resource_type) {
	case VSTD_RT_IDE: return PLAN_BUS_IDE;
	case VSTD_RT_SCSI: return PLAN_BUS_SCSI;
	case VSTD_RT_OTHER_STORAGE:
		if (c->resource_sub_type && strncasecmp(c->resource_sub_type, "virtio", 6) == 0)
			return PLAN_BUS_VIRTIO;
		return PLAN_BUS_SATA;
	default: return PLAN_BUS_IDE;
	}
}

static char *join_path(const char *dir, const char *href)
{
	if (href[0] == '/')
		return vstd_strdup(href);
	char cwd[4096];
	if (dir == NULL)
		dir = ".";
	if (dir[0] != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return vstd_asprintf("%s/%s", dir, href);
		if (strcmp(dir, ".") == 0)
			return vstd_asprintf("%s/%s", cwd, href);
		return vstd_asprintf("%s/%s/%s", cwd, dir, href);
	}
	return vstd_asprintf("%s/%s", dir, href);
}

static int add_disk(plan *p, const vstd_ovf_translate_opts *o, const char *href, const char *fmt,
                    int bus, int cdrom, int compressed, const vstd_ovf_disk *src)
{
	if (p->n_disks >= PLAN_MAX_DISKS)
		return vstd_err(VSTD_ELIMIT, "more than %d disks", PLAN_MAX_DISKS);
	plan_disk *d = &p->disks[p->n_disks];
	memset(d, 0, sizeof(*d));
	if (href != NULL) {
		d->path = join_path(o->disk_dir, href);
		if (d->path == NULL)
			return VSTD_ENOMEM;
	}
	d->format = fmt;
	d->bus = bus;
	d->cdrom = cdrom;
	d->compressed = compressed;
	d->shareable = src != NULL && src->shared;
	d->readonly = cdrom || (src != NULL && src->shared && src->read_only);
	d->unit = p->bus_count[bus]++;
	p->n_disks++;
	return 0;
}

/* The boot order of the first BootDeviceSection that applies under config. */
static void boot_order(plan *p, const vstd_ovf *ovf, const vstd_vm *vm, const char *config)
{
	const vstd_ovf_boot_config *bc = NULL;
	for (size_t i = 0; i < vm->n_boot && bc == NULL; i++) {
		const vstd_ovf_boot_config *b = &vm->boot[i];
		if (b->configuration == NULL)
			bc = b;
		else {
			/* same rule as items: configuration lists option ids */
			vstd_ovf_item probe;
			memset(&probe, 0, sizeof(probe));
			probe.configuration = b->configuration;
			if (vstd_ovf_item_active(ovf, &probe, config))
				bc = b;
		}
	}
	size_t n = 0;
	for (size_t i = 0; bc != NULL && i < bc->n_sources && n + 1 < sizeof(p->boot); i++) {
		char d = bc->sources[i].device;
		if (d != 'd' && d != 'c' && d != 'n' && d != 'f')
			continue; /* USB/PCMCIA/unknown: no libvirt/QEMU boot class */
		if (memchr(p->boot, d, n) == NULL)
			p->boot[n++] = d;
	}
	p->boot[n] = '\0';
}

int plan_build(plan *p, const vstd_ovf *ovf, const vstd_ovf_translate_opts *opts, int target)
{
	vstd_ovf_translate_opts o = VSTD_OVF_TRANSLATE_OPTS_INIT;
	if (opts != NULL) {
		/* a version-1 caller's struct ends before hardware_id */
		memcpy(&o, opts,
		       opts->version >= 2 ? sizeof(o)
		                          : offsetof(vstd_ovf_translate_opts, hardware_id));
		if (opts->version < 2) {
			o.hardware_id = NULL;
			o.target = 0;
		}
	}
	if (o.target != 0)
		target = o.target;
	memset(p, 0, sizeof(*p));
	const vstd_vm *vm = vstd_ovf_find_vm(ovf, o.vm_id);
	if (vm == NULL || vm->is_collection)
		return vstd_err(VSTD_ENOENT, "%s: no VirtualSystem%s%s", vstd_ovf_name(ovf),
		                o.vm_id ? " with id " : "", o.vm_id ? o.vm_id : "");
	p->name = vm->name ? vm->name : vm->id ? vm->id : "vm";
	p->cpus = 1;
	p->memory_mib = 512;
	static const vstd_ovf_hardware none;
	const vstd_ovf_hardware *hw = &none;
	if (vm->n_hardware_sections > 0 || o.hardware_id != NULL) {
		int src = vstd_ovf_select_hardware(ovf, vm, target, o.hardware_id, &hw);
		if (src < 0)
			return src;
	}
	p->hw = hw;
	boot_order(p, ovf, vm, o.config);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < hw->n_items; i++) {
		const vstd_ovf_item *it = &hw->items[i];
		if (!vstd_ovf_item_active(ovf, it, o.config) ||
		    (it->bound && strcmp(it->bound, "normal")))
			continue;
		switch (it->resource_type) {
		case VSTD_RT_PROCESSOR:
			if (it->has_virtual_quantity && it->virtual_quantity > 0 &&
			    it->virtual_quantity <= 1024)
				p->cpus = (unsigned)it->virtual_quantity;
			break;
		case VSTD_RT_MEMORY: {
			uint64_t unit = 1u << 20, bytes;
			if (it->allocation_units &&
			    vstd_ovf_parse_units(it->allocation_units, &unit) < 0)
				unit = 1u << 20;
			if (it->has_virtual_quantity &&
			    !__builtin_mul_overflow(it->virtual_quantity, unit, &bytes) &&
			    bytes >= (1u << 20))
				p->memory_mib = bytes >> 20;
			break;
		}
		case VSTD_RT_DISK: {
			const char *hr = it->n_host_resources ? it->host_resources[0] : NULL;
			const char *id = hr && strncmp(hr, "ovf:/disk/", 10) == 0 ? hr + 10
			                 : hr && strncmp(hr, "/disk/", 6) == 0    ? hr + 6
			                                                          : NULL;
			const vstd_ovf_disk *d = vstd_ovf_find_disk(ovf, id);
			const vstd_ovf_file *f = d ? vstd_ovf_find_file(ovf, d->file_ref) : NULL;
			if (f == NULL || f->href == NULL)
				break; /* a blank disk: nothing to attach without creating it */
			rc = add_disk(p, &o, f->href,
			              o.disk_format ? o.disk_format : format_of_uri(d->format),
			              bus_of(hw, it, 0), 0, f->compression != NULL, d);
			break;
		}
		case VSTD_RT_CDROM:
		case VSTD_RT_DVD: {
			const char *hr = it->n_host_resources ? it->host_resources[0] : NULL;
			const char *id = hr && strncmp(hr, "ovf:/file/", 10) == 0 ? hr + 10 : NULL;
			const vstd_ovf_file *f = vstd_ovf_find_file(ovf, id);
			rc = add_disk(p, &o, f ? f->href : NULL, "raw", bus_of(hw, it, 1), 1, 0,
			              NULL);
			break;
		}
		case VSTD_RT_ETHERNET:
			if (p->n_nics >= PLAN_MAX_NICS) {
				rc = vstd_err(VSTD_ELIMIT, "more than %d network adapters",
				              PLAN_MAX_NICS);
				break;
			}
			p->nics[p->n_nics].network =
			        it->n_connections ? it->connections[0] : "default";
			p->nics[p->n_nics].model = nic_model(it->resource_sub_type);
			set_mac(p->nics[p->n_nics].mac, it->address);
			p->n_nics++;
			break;
		default: break;
		}
	}
	if (rc == 0 && o.env_iso != NULL) {
		char *abs = join_path(".", o.env_iso);
		rc = abs ? add_disk(p, &o, abs, "raw", PLAN_BUS_IDE, 1, 0, NULL) : VSTD_ENOMEM;
		vstd_free(abs);
	}
	if (rc < 0)
		plan_free(p);
	return rc;
}

void plan_free(plan *p)
{
	for (size_t i = 0; i < p->n_disks; i++)
		vstd_free(p->disks[i].path);
	p->n_disks = 0;
}
