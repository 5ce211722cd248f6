/*
 * descriptor/translate/libvirt.c - machine plan to a libvirt domain XML
 * (https://libvirt.org/formatdomain.html): <domain type="kvm"> with name,
 * memory, vcpu, an hvm os, and disks, controllers and interfaces.
 */
#include <stdio.h>
#include <string.h>

#include <libxml/tree.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "descriptor/translate/plan.h"

static const char *bus_name(int bus)
{
	static const char *const n[] = {"ide", "scsi", "sata", "virtio"};
	return n[bus];
}

static void target_dev(char *buf, size_t size, int bus, unsigned unit)
{
	const char *prefix = bus == PLAN_BUS_IDE ? "hd" : bus == PLAN_BUS_VIRTIO ? "vd" : "sd";
	if (unit < 26)
		snprintf(buf, size, "%s%c", prefix, 'a' + unit);
	else
		snprintf(buf, size, "%s%c%c", prefix, 'a' + unit / 26 - 1, 'a' + unit % 26);
}

#define ADD(parent, name, text)                                                                    \
	xmlNewChild(parent, NULL, (const xmlChar *)(name), (const xmlChar *)(text))
#define ATTR(node, name, value) xmlNewProp(node, (const xmlChar *)(name), (const xmlChar *)(value))

int vstd_ovf_to_libvirt(const vstd_ovf *ovf, const vstd_ovf_translate_opts *opts, char **xml,
                        size_t *len)
{
	if (ovf == NULL || xml == NULL || len == NULL)
		return vstd_err(VSTD_EINVAL, "vstd_ovf_to_libvirt: NULL argument");
	plan p;
	int rc = plan_build(&p, ovf, opts, VSTD_OVF_TARGET_LIBVIRT);
	if (rc < 0)
		return rc;
	xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNodePtr dom = doc ? xmlNewDocNode(doc, NULL, (const xmlChar *)"domain", NULL) : NULL;
	if (dom == NULL) {
		xmlFreeDoc(doc);
		plan_free(&p);
		return VSTD_ENOMEM;
	}
	xmlDocSetRootElement(doc, dom);
	ATTR(dom, "type", "kvm");
	char name[256], num[64];
	snprintf(name, sizeof(name), "%s", p.name);
	for (char *c = name; *c; c++)
		if (*c == '/' || *c == '\n')
			*c = '_';
	if (name[0] == '\0')
		snprintf(name, sizeof(name), "vm");
	ADD(dom, "name", name);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)p.memory_mib * 1024);
	xmlNodePtr mem = ADD(dom, "memory", num);
	ATTR(mem, "unit", "KiB");
	snprintf(num, sizeof(num), "%u", p.cpus);
	ADD(dom, "vcpu", num);
	xmlNodePtr os = ADD(dom, "os", NULL);
	xmlNodePtr type = ADD(os, "type", "hvm");
	ATTR(type, "arch", "x86_64");
	if (p.boot[0] == '\0') {
		ATTR(ADD(os, "boot", NULL), "dev", "hd");
		ATTR(ADD(os, "boot", NULL), "dev", "cdrom");
	}
	for (const char *b = p.boot; *b; b++) /* BootDeviceSection order */
		ATTR(ADD(os, "boot", NULL), "dev",
		     *b == 'd'   ? "hd"
		     : *b == 'c' ? "cdrom"
		     : *b == 'n' ? "network"
		                 : "fd");
	xmlNodePtr feat = ADD(dom, "features", NULL);
	ADD(feat, "acpi", NULL);
	ADD(feat, "apic", NULL);
	xmlNodePtr dev = ADD(dom, "devices", NULL);
	const vstd_ovf_translate_opts *o = opts;
	if (o != NULL && o->emulator != NULL)
		ADD(dev, "emulator", o->emulator);
	for (size_t i = 0; i < p.n_disks; i++) {
		const plan_disk *d = &p.disks[i];
		xmlNodePtr disk = ADD(dev, "disk", NULL);
		ATTR(disk, "type", "file");
		ATTR(disk, "device", d->cdrom ? "cdrom" : "disk");
		xmlNodePtr drv = ADD(disk, "driver", NULL);
		ATTR(drv, "name", "qemu");
		ATTR(drv, "type", d->format);
		if (d->path != NULL)
			ATTR(ADD(disk, "source", NULL), "file", d->path);
		char tdev[16];
		target_dev(tdev, sizeof(tdev), d->bus, d->unit);
		xmlNodePtr tgt = ADD(disk, "target", NULL);
		ATTR(tgt, "dev", tdev);
		ATTR(tgt, "bus", bus_name(d->bus));
		if (d->readonly)
			ADD(disk, "readonly", NULL);
		if (d->shareable)
			ADD(disk, "shareable", NULL);
	}
	if (p.bus_count[PLAN_BUS_SCSI] > 0) {
		xmlNodePtr c = ADD(dev, "controller", NULL);
		ATTR(c, "type", "scsi");
		ATTR(c, "index", "0");
		ATTR(c, "model", "lsilogic");
	}
	for (size_t i = 0; i < p.n_nics; i++) {
		const plan_nic *n = &p.nics[i];
		xmlNodePtr ifc = ADD(dev, "interface", NULL);
		ATTR(ifc, "type", "network");
		if (n->mac[0])
			ATTR(ADD(ifc, "mac", NULL), "address", n->mac);
		ATTR(ADD(ifc, "source", NULL), "network", n->network);
		ATTR(ADD(ifc, "model", NULL), "type",
		     strcmp(n->model, "pcnet") == 0 ? "pcnet" : n->model);
	}
	xmlNodePtr ser = ADD(dev, "serial", NULL);
	ATTR(ser, "type", "pty");
	xmlNodePtr con = ADD(dev, "console", NULL);
	ATTR(con, "type", "pty");
	xmlChar *mbuf = NULL;
	int n = 0;
	xmlDocDumpFormatMemoryEnc(doc, &mbuf, &n, "UTF-8", 1);
	xmlFreeDoc(doc);
	plan_free(&p);
	char *out = mbuf ? vstd_malloc((size_t)n + 1) : NULL;
	if (out == NULL) {
		xmlFree(mbuf);
		return VSTD_ENOMEM;
	}
	memcpy(out, mbuf, (size_t)n);
	out[n] = 0;
	xmlFree(mbuf);
	*xml = out;
	*len = (size_t)n;
	return 0;
}
