/*
 * descriptor/translate/from_libvirt.c - a libvirt domain XML to an OVF
 * descriptor: name, memory, vCPUs, file-backed disks and CD-ROMs, network
 * interfaces.  The XML is loaded with the same hardening as descriptors.
 * Disk capacities come from opening the files with vstd_disk (the file
 * size when no driver recognises them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "descriptor/ovf/ovf_internal.h"
#include "vstd/disk.h"

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
			return c;
	return NULL;
}

static char *prop(xmlNodePtr n, const char *name)
{
	return n ? (char *)xmlGetProp(n, (const xmlChar *)name) : NULL;
}

static uint64_t unit_factor(const char *u)
{
	if (u == NULL || strcmp(u, "KiB") == 0 || strcmp(u, "k") == 0 || strcmp(u, "K") == 0)
		return 1024;
	if (strcmp(u, "b") == 0 || strcmp(u, "bytes") == 0)
		return 1;
	if (strcmp(u, "KB") == 0)
		return 1000;
	if (strcmp(u, "MiB") == 0 || strcmp(u, "M") == 0)
		return 1u << 20;
	if (strcmp(u, "MB") == 0)
		return 1000000;
	if (strcmp(u, "GiB") == 0 || strcmp(u, "G") == 0)
		return 1u << 30;
	if (strcmp(u, "GB") == 0)
		return 1000000000;
	return 0;
}

static const char *format_uri(const char *type)
{
	if (type == NULL || strcmp(type, "raw") == 0)
		return "http://en.wikipedia.org/wiki/Byte";
	if (strcmp(type, "qcow2") == 0)
		return "http://www.gnome.org/~markmc/qcow-image-format.html";
	if (strcmp(type, "vmdk") == 0)
		return "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized";
	if (strcmp(type, "vpc") == 0)
		return "http://go.microsoft.com/fwlink/?LinkId=137171";
	return "http://en.wikipedia.org/wiki/Byte";
}

#define MAX_DEV 64

int vstd_ovf_from_libvirt(vstd_ovf **out, const void *xml, size_t len, const char *name)
{
	if (out == NULL || xml == NULL)
		return vstd_err(VSTD_EINVAL, "vstd_ovf_from_libvirt: NULL argument");
	const char *nm = name ? name : "domain.xml";
	vstd_ovf_parse_opts po;
	ovf_parse_opts_defaults(&po, NULL);
	xmlDocPtr doc = NULL;
	int fixed = 0;
	int rc = ovf_xml_read(&doc, xml, len, nm, &po, &fixed);
	if (rc < 0)
		return rc;
	xmlNodePtr dom = xmlDocGetRootElement(doc);
	if (dom == NULL || strcmp((const char *)dom->name, "domain") != 0) {
		xmlFreeDoc(doc);
		return vstd_err(VSTD_ECORRUPT, "%s: root element is not <domain>", nm);
	}
	vstd_ovf_build_spec spec;
	memset(&spec, 0, sizeof(spec));
	spec.version = VSTD_OVF_BUILD_SPEC_VERSION;
	spec.ovf_version = VSTD_OVF_V1;
	char *dname = NULL, *mem = NULL, *munit = NULL, *vcpu = NULL;
	xmlNodePtr n = child(dom, "name");
	dname = n ? (char *)xmlNodeGetContent(n) : NULL;
	spec.name = dname;
	spec.vm_id = dname;
	n = child(dom, "memory");
	mem = n ? (char *)xmlNodeGetContent(n) : NULL;
	munit = prop(n, "unit");
	if (mem != NULL) {
		uint64_t v, f = unit_factor(munit);
		if (ovf_parse_u64(mem, &v) < 0 || f == 0 || v > UINT64_MAX / f)
			rc = vstd_err(VSTD_ECORRUPT, "%s: <memory> '%s %s' is not a size", nm, mem,
			              munit ? munit : "KiB");
		else
			spec.memory_mib = v * f >> 20;
	}
	n = child(dom, "vcpu");
	vcpu = n ? (char *)xmlNodeGetContent(n) : NULL;
	if (vcpu != NULL) {
		uint64_t v;
		if (ovf_parse_u64(vcpu, &v) < 0 || v == 0 || v > 4096)
			rc = vstd_err(VSTD_ECORRUPT, "%s: <vcpu> '%s' is not a CPU count", nm,
			              vcpu);
		else
			spec.cpus = (unsigned)v;
	}
	vstd_ovf_build_disk disks[MAX_DEV];
	vstd_ovf_build_nic nics[MAX_DEV];
	char *strs[MAX_DEV * 8];
	size_t n_strs = 0;
	xmlNodePtr devs = child(dom, "devices");
	for (xmlNodePtr c = devs ? devs->children : NULL; rc == 0 && c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *)c->name, "disk") == 0) {
			char *dev = prop(c, "device");
			char *src = prop(child(c, "source"), "file");
			char *type = prop(child(c, "driver"), "type");
			char *bus = prop(child(c, "target"), "bus");
			strs[n_strs++] = dev;
			strs[n_strs++] = src;
			strs[n_strs++] = type;
			strs[n_strs++] = bus;
			if (src == NULL || (dev && strcmp(dev, "disk") && strcmp(dev, "cdrom")))
				continue; /* not file-backed, or a floppy/lun */
			if (spec.n_disks >= MAX_DEV) {
				rc = vstd_err(VSTD_ELIMIT, "%s: more than %d disks", nm, MAX_DEV);
				break;
			}
			vstd_ovf_build_disk *d = &disks[spec.n_disks];
			memset(d, 0, sizeof(*d));
			const char *base = strrchr(src, '/');
			d->href = base ? base + 1 : src;
			d->cdrom = dev && strcmp(dev, "cdrom") == 0;
			d->controller =
			        bus && (strcmp(bus, "ide") == 0 || strcmp(bus, "sata") == 0 ||
			                strcmp(bus, "scsi") == 0 || strcmp(bus, "virtio") == 0)
			                ? bus
			                : (d->cdrom ? "ide" : "scsi");
			d->format_uri = format_uri(type);
			struct stat st;
			if (stat(src, &st) == 0)
				d->file_size = (uint64_t)st.st_size;
			d->capacity = d->file_size;
			if (!d->cdrom) {
				vstd_disk *disk = NULL;
				vstd_disk_open_opts oo = VSTD_DISK_OPEN_OPTS_INIT;
				oo.format = type;
				oo.flags = VSTD_DISK_NO_BACKING;
				if (vstd_disk_open(&disk, src, &oo) == 0) {
					d->capacity = vstd_disk_size(disk);
					vstd_disk_close(disk);
				}
				vstd_error_clear();
				if (d->capacity == 0)
					d->capacity = 1u << 20;
			}
			spec.n_disks++;
		} else if (strcmp((const char *)c->name, "interface") == 0) {
			if (spec.n_nics >= MAX_DEV)
				continue;
			xmlNodePtr s = child(c, "source");
			char *net = prop(s, "network");
			char *br = prop(s, "bridge");
			char *model = prop(child(c, "model"), "type");
			char *mac = prop(child(c, "mac"), "address");
			strs[n_strs++] = net;
			strs[n_strs++] = br;
			strs[n_strs++] = model;
			strs[n_strs++] = mac;
			vstd_ovf_build_nic *w = &nics[spec.n_nics++];
			memset(w, 0, sizeof(*w));
			w->network = net ? net : br ? br : "default";
			w->model = model == NULL                   ? "E1000"
			           : strcmp(model, "virtio") == 0  ? "virtio"
			           : strcmp(model, "vmxnet3") == 0 ? "VmxNet3"
			           : strcmp(model, "e1000") == 0   ? "E1000"
			                                           : model;
			w->mac = mac;
		}
		if (n_strs + 8 > MAX_DEV * 8)
			break;
	}
	spec.disks = disks;
	spec.nics = nics;
	if (rc == 0)
		rc = vstd_ovf_build(out, &spec);
	for (size_t i = 0; i < n_strs; i++)
		xmlFree(strs[i]);
	xmlFree(dname);
	xmlFree(mem);
	xmlFree(munit);
	xmlFree(vcpu);
	xmlFreeDoc(doc);
	return rc;
}
