/*
 * descriptor/ovf/write.c - serialising a document, and building a new one
 * from a vstd_ovf_build_spec.
 *
 * Writing serialises the tree exactly as parsed (no reformatting), so every
 * vendor section, attribute and comment is written back unchanged.
 * Building writes elements in the order DSP8023 requires (References,
 * sections, content; CIM properties in the schema's alphabetical order) so
 * that the result validates against the DMTF schema.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <libxml/tree.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "descriptor/ovf/ovf_internal.h"

int vstd_ovf_write(const vstd_ovf *ovf, char **data, size_t *len)
{
	if (ovf == NULL || data == NULL || len == NULL)
		return vstd_err(VSTD_EINVAL, "vstd_ovf_write: NULL argument");
	xmlChar *mem = NULL;
	int n = 0;
	xmlDocDumpMemoryEnc(ovf->doc, &mem, &n, "UTF-8");
	if (mem == NULL || n < 0)
		return vstd_err(VSTD_ENOMEM, "%s: cannot serialise the descriptor",
		                vstd_ovf_name(ovf));
	char *out = vstd_malloc((size_t)n + 1);
	if (out == NULL) {
		xmlFree(mem);
		return VSTD_ENOMEM;
	}
	memcpy(out, mem, (size_t)n);
	out[n] = '\0';
	xmlFree(mem);
	*data = out;
	*len = (size_t)n;
	return 0;
}

int vstd_ovf_save(const vstd_ovf *ovf, const char *path)
{
	char *data = NULL;
	size_t len = 0;
	int rc = vstd_ovf_write(ovf, &data, &len);
	if (rc < 0)
		return rc;
	vstd_io *io = NULL;
	rc = vstd_io_file_open(&io, path, VSTD_IO_WRITE | VSTD_IO_CREATE | VSTD_IO_TRUNC);
	if (rc == 0)
		rc = vstd_io_pwrite(io, data, len, 0);
	if (rc == 0)
		rc = vstd_io_flush(io);
	vstd_io_close(io);
	vstd_free(data);
	return rc;
}

/* ------------------------------------------------------------ building */

typedef struct bld {
	xmlDocPtr doc;
	xmlNsPtr ovf, rasd, vssd;
	int oom;
} bld;

static xmlNodePtr el(bld *b, xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *text)
{
	xmlNodePtr n = xmlNewChild(parent, ns, (const xmlChar *)name, NULL);
	if (n == NULL) {
		b->oom = 1;
		return NULL;
	}
	if (text != NULL) {
		xmlNodePtr t = xmlNewText((const xmlChar *)text);
		if (t == NULL)
			b->oom = 1;
		else
			xmlAddChild(n, t);
	}
	return n;
}

static void at(bld *b, xmlNodePtr n, const char *name, const char *value)
{
	if (n == NULL || value == NULL)
		return;
	if (xmlNewNsProp(n, b->ovf, (const xmlChar *)name, (const xmlChar *)value) == NULL)
		b->oom = 1;
}

static xmlNodePtr section(bld *b, xmlNodePtr parent, const char *name, const char *info)
{
	xmlNodePtr s = el(b, parent, b->ovf, name, NULL);
	if (s != NULL)
		el(b, s, b->ovf, "Info", info);
	return s;
}

typedef struct rasd_fields {
	const char *address, *address_on_parent, *allocation_units, *automatic_allocation;
	const char *connection, *description, *element_name, *host_resource, *instance_id;
	const char *parent, *resource_sub_type, *resource_type, *virtual_quantity;
} rasd_fields;

/* RASD properties in DSP8023's (alphabetical) sequence order. */
static void item(bld *b, xmlNodePtr vhs, const rasd_fields *f)
{
	xmlNodePtr it = el(b, vhs, b->ovf, "Item", NULL);
	if (it == NULL)
		return;
	const struct {
		const char *name, *value;
	} props[] = {
	        {"Address", f->address},
	        {"AddressOnParent", f->address_on_parent},
	        {"AllocationUnits", f->allocation_units},
	        {"AutomaticAllocation", f->automatic_allocation},
	        {"Connection", f->connection},
	        {"Description", f->description},
	        {"ElementName", f->element_name},
	        {"HostResource", f->host_resource},
	        {"InstanceID", f->instance_id},
	        {"Parent", f->parent},
	        {"ResourceSubType", f->resource_sub_type},
	        {"ResourceType", f->resource_type},
	        {"VirtualQuantity", f->virtual_quantity},
	};
	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
		if (props[i].value != NULL)
			el(b, it, b->rasd, props[i].name, props[i].value);
}

static const char *default_format =
        "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized";

static int controller_of(const char *c, const char **rt, const char **sub, const char **name)
{
	if (c == NULL || strcmp(c, "scsi") == 0) {
		*rt = "6";
		*sub = "lsilogic";
		*name = "SCSI Controller";
	} else if (strcmp(c, "ide") == 0) {
		*rt = "5";
		*sub = NULL;
		*name = "IDE Controller";
	} else if (strcmp(c, "sata") == 0) {
		*rt = "20";
		*sub = "AHCI";
		*name = "SATA Controller";
	} else if (strcmp(c, "virtio") == 0) {
		*rt = "20";
		*sub = "virtio";
		*name = "VirtIO Controller";
	} else {
		return vstd_err(VSTD_EINVAL,
		                "vstd_ovf_build: unknown controller '%s' (ide, scsi, sata, virtio)",
		                c);
	}
	return 0;
}

int vstd_ovf_build(vstd_ovf **out, const vstd_ovf_build_spec *spec)
{
	if (out == NULL || spec == NULL || spec->version != VSTD_OVF_BUILD_SPEC_VERSION)
		return vstd_err(VSTD_EINVAL, "vstd_ovf_build: missing or unknown spec version");
	if ((spec->n_disks > 0 && spec->disks == NULL) ||
	    (spec->n_nics > 0 && spec->nics == NULL) ||
	    (spec->n_properties > 0 && spec->properties == NULL))
		return vstd_err(VSTD_EINVAL, "vstd_ovf_build: count without array");
	if (spec->n_disks > 1000 || spec->n_nics > 1000 || spec->n_properties > 10000)
		return vstd_err(VSTD_ELIMIT, "vstd_ovf_build: too many disks, NICs or properties");
	const char *ns = spec->ovf_version == VSTD_OVF_V2 ? OVF_NS_V2 : OVF_NS_V1;
	bld b;
	memset(&b, 0, sizeof(b));
	b.doc = xmlNewDoc((const xmlChar *)"1.0");
	if (b.doc == NULL)
		return VSTD_ENOMEM;
	xmlNodePtr env = xmlNewDocNode(b.doc, NULL, (const xmlChar *)"Envelope", NULL);
	if (env == NULL) {
		xmlFreeDoc(b.doc);
		return VSTD_ENOMEM;
	}
	xmlDocSetRootElement(b.doc, env);
	xmlNsPtr def = xmlNewNs(env, (const xmlChar *)ns, NULL);
	b.ovf = xmlNewNs(env, (const xmlChar *)ns, (const xmlChar *)"ovf");
	b.rasd = xmlNewNs(env, (const xmlChar *)OVF_NS_RASD, (const xmlChar *)"rasd");
	b.vssd = xmlNewNs(env, (const xmlChar *)OVF_NS_VSSD, (const xmlChar *)"vssd");
	if (def == NULL || b.ovf == NULL || b.rasd == NULL || b.vssd == NULL)
		b.oom = 1;
	xmlSetNs(env, b.ovf);
	at(&b, env, "version", spec->ovf_version == VSTD_OVF_V2 ? "2.0" : "1.0");
	char num[64], id[64];
	int rc = 0;

	xmlNodePtr refs = el(&b, env, b.ovf, "References", NULL);
	for (size_t i = 0; i < spec->n_disks; i++) {
		const vstd_ovf_build_disk *d = &spec->disks[i];
		if (d->href == NULL || d->href[0] == '\0' || strchr(d->href, '/') != NULL) {
			rc = vstd_err(VSTD_EINVAL,
			              "vstd_ovf_build: disk %zu: href must be a plain file name",
			              i);
			goto fail;
		}
		xmlNodePtr f = el(&b, refs, b.ovf, "File", NULL);
		snprintf(id, sizeof(id), "file%zu", i + 1);
		at(&b, f, "href", d->href);
		at(&b, f, "id", id);
		snprintf(num, sizeof(num), "%" PRIu64, d->file_size);
		at(&b, f, "size", num);
	}
	size_t n_hd = 0;
	for (size_t i = 0; i < spec->n_disks; i++)
		n_hd += spec->disks[i].cdrom ? 0 : 1;
	if (n_hd > 0) {
		xmlNodePtr ds = section(&b, env, "DiskSection", "Virtual disk information");
		for (size_t i = 0; i < spec->n_disks; i++) {
			const vstd_ovf_build_disk *d = &spec->disks[i];
			if (d->cdrom)
				continue;
			if (d->capacity == 0) {
				rc = vstd_err(VSTD_EINVAL,
				              "vstd_ovf_build: disk %zu (%s): capacity is 0", i,
				              d->href);
				goto fail;
			}
			xmlNodePtr dk = el(&b, ds, b.ovf, "Disk", NULL);
			snprintf(num, sizeof(num), "%" PRIu64, d->capacity);
			at(&b, dk, "capacity", num);
			at(&b, dk, "capacityAllocationUnits", "byte");
			snprintf(id, sizeof(id), "vmdisk%zu", i + 1);
			at(&b, dk, "diskId", id);
			snprintf(id, sizeof(id), "file%zu", i + 1);
			at(&b, dk, "fileRef", id);
			at(&b, dk, "format", d->format_uri ? d->format_uri : default_format);
		}
	}
	if (spec->n_nics > 0) {
		xmlNodePtr ns_ = section(&b, env, "NetworkSection", "The list of logical networks");
		for (size_t i = 0; i < spec->n_nics; i++) {
			const char *nw = spec->nics[i].network ? spec->nics[i].network : "default";
			int dup = 0;
			for (size_t j = 0; j < i; j++) {
				const char *o =
				        spec->nics[j].network ? spec->nics[j].network : "default";
				dup |= strcmp(o, nw) == 0;
			}
			if (dup)
				continue;
			xmlNodePtr w = el(&b, ns_, b.ovf, "Network", NULL);
			at(&b, w, "name", nw);
			el(&b, w, b.ovf, "Description", "Network used by the virtual machine");
		}
	}

	const char *vm_id = spec->vm_id ? spec->vm_id : "vm";
	xmlNodePtr vs = el(&b, env, b.ovf, "VirtualSystem", NULL);
	at(&b, vs, "id", vm_id);
	el(&b, vs, b.ovf, "Info", "A virtual machine");
	el(&b, vs, b.ovf, "Name", spec->name ? spec->name : vm_id);
	if (spec->annotation != NULL) {
		xmlNodePtr a = section(&b, vs, "AnnotationSection", "A human-readable annotation");
		el(&b, a, b.ovf, "Annotation", spec->annotation);
	}
	if (spec->product != NULL || spec->n_properties > 0) {
		xmlNodePtr p = section(&b, vs, "ProductSection",
		                       "Information about the installed software");
		if (spec->product)
			el(&b, p, b.ovf, "Product", spec->product);
		if (spec->vendor)
			el(&b, p, b.ovf, "Vendor", spec->vendor);
		if (spec->product_version)
			el(&b, p, b.ovf, "Version", spec->product_version);
		for (size_t i = 0; i < spec->n_properties; i++) {
			const vstd_ovf_build_property *pp = &spec->properties[i];
			if (pp->key == NULL || pp->key[0] == '\0') {
				rc = vstd_err(VSTD_EINVAL,
				              "vstd_ovf_build: property %zu has no key", i);
				goto fail;
			}
			xmlNodePtr pr = el(&b, p, b.ovf, "Property", NULL);
			at(&b, pr, "key", pp->key);
			at(&b, pr, "type", pp->type ? pp->type : "string");
			if (pp->user_configurable)
				at(&b, pr, "userConfigurable", "true");
			at(&b, pr, "value", pp->value ? pp->value : "");
			if (pp->label)
				el(&b, pr, b.ovf, "Label", pp->label);
			if (pp->description)
				el(&b, pr, b.ovf, "Description", pp->description);
		}
	}
	if (spec->eula != NULL) {
		xmlNodePtr e = section(&b, vs, "EulaSection", "License agreement");
		el(&b, e, b.ovf, "License", spec->eula);
	}
	xmlNodePtr os = section(&b, vs, "OperatingSystemSection", "The guest operating system");
	snprintf(num, sizeof(num), "%d", spec->os_id > 0 ? spec->os_id : 1);
	at(&b, os, "id", num);
	/* OperatingSystemSection_Type: Info then Description. */
	el(&b, os, b.ovf, "Description", spec->os_description ? spec->os_description : "Other");

	xmlNodePtr vhs = section(&b, vs, "VirtualHardwareSection", "Virtual hardware requirements");
	if (spec->transport != NULL)
		at(&b, vhs, "transport", spec->transport);
	xmlNodePtr sys = el(&b, vhs, b.ovf, "System", NULL);
	el(&b, sys, b.vssd, "ElementName", "Virtual Hardware Family");
	el(&b, sys, b.vssd, "InstanceID", "0");
	el(&b, sys, b.vssd, "VirtualSystemIdentifier", spec->name ? spec->name : vm_id);
	el(&b, sys, b.vssd, "VirtualSystemType", spec->system_type ? spec->system_type : "vstd-1");

	unsigned iid = 1;
	char iid_s[32], cpus[32], mem[32];
	snprintf(cpus, sizeof(cpus), "%u", spec->cpus ? spec->cpus : 1);
	snprintf(iid_s, sizeof(iid_s), "%u", iid++);
	rasd_fields cpu = {.allocation_units = "hertz * 10^6",
	                   .description = "Number of virtual CPUs",
	                   .element_name = "virtual CPU(s)",
	                   .instance_id = iid_s,
	                   .resource_type = "3",
	                   .virtual_quantity = cpus};
	item(&b, vhs, &cpu);
	snprintf(mem, sizeof(mem), "%" PRIu64, spec->memory_mib ? spec->memory_mib : 512);
	snprintf(iid_s, sizeof(iid_s), "%u", iid++);
	rasd_fields memory = {.allocation_units = "byte * 2^20",
	                      .description = "Memory size",
	                      .element_name = "Memory",
	                      .instance_id = iid_s,
	                      .resource_type = "4",
	                      .virtual_quantity = mem};
	item(&b, vhs, &memory);

	/* One controller per kind used, in order of first use. */
	const char *kinds[8];
	unsigned kind_iid[8], kind_next[8];
	size_t n_kinds = 0;
	for (size_t i = 0; i < spec->n_disks; i++) {
		const vstd_ovf_build_disk *d = &spec->disks[i];
		const char *kind = d->controller ? d->controller : (d->cdrom ? "ide" : "scsi");
		size_t k;
		for (k = 0; k < n_kinds; k++)
			if (strcmp(kinds[k], kind) == 0)
				break;
		const char *rt = NULL, *sub = NULL, *cname = NULL;
		rc = controller_of(kind, &rt, &sub, &cname);
		if (rc < 0)
			goto fail;
		if (k == n_kinds) {
			if (n_kinds == 8) {
				rc = vstd_err(VSTD_EINVAL,
				              "vstd_ovf_build: too many controller kinds");
				goto fail;
			}
			kinds[n_kinds] = kind;
			kind_iid[n_kinds] = iid++;
			kind_next[n_kinds] = 0;
			n_kinds++;
			char ci[32];
			snprintf(ci, sizeof(ci), "%u", kind_iid[k]);
			rasd_fields c = {.address = "0",
			                 .description = cname,
			                 .element_name = cname,
			                 .instance_id = ci,
			                 .resource_sub_type = sub,
			                 .resource_type = rt};
			item(&b, vhs, &c);
		}
		char aop[32], par[32], hr[96], ii[32];
		snprintf(aop, sizeof(aop), "%u", kind_next[k]++);
		snprintf(par, sizeof(par), "%u", kind_iid[k]);
		snprintf(ii, sizeof(ii), "%u", iid++);
		if (d->cdrom)
			snprintf(hr, sizeof(hr), "ovf:/file/file%zu", i + 1);
		else
			snprintf(hr, sizeof(hr), "ovf:/disk/vmdisk%zu", i + 1);
		char en[64];
		snprintf(en, sizeof(en), d->cdrom ? "CD-ROM %zu" : "Hard disk %zu", i + 1);
		rasd_fields f = {.address_on_parent = aop,
		                 .element_name = en,
		                 .host_resource = hr,
		                 .instance_id = ii,
		                 .parent = par,
		                 .resource_type = d->cdrom ? "15" : "17"};
		item(&b, vhs, &f);
	}
	for (size_t i = 0; i < spec->n_nics; i++) {
		const vstd_ovf_build_nic *nic = &spec->nics[i];
		char ii[32], en[64], aop[32];
		snprintf(ii, sizeof(ii), "%u", iid++);
		snprintf(en, sizeof(en), "Ethernet adapter %zu", i + 1);
		snprintf(aop, sizeof(aop), "%zu", i);
		rasd_fields f = {.address = nic->mac,
		                 .address_on_parent = aop,
		                 .automatic_allocation = "true",
		                 .connection = nic->network ? nic->network : "default",
		                 .element_name = en,
		                 .instance_id = ii,
		                 .resource_sub_type = nic->model ? nic->model : "E1000",
		                 .resource_type = "10"};
		item(&b, vhs, &f);
	}
	if (b.oom) {
		rc = VSTD_ENOMEM;
		goto fail;
	}
	xmlChar *mem_buf = NULL;
	int n = 0;
	xmlDocDumpFormatMemoryEnc(b.doc, &mem_buf, &n, "UTF-8", 1);
	xmlFreeDoc(b.doc);
	if (mem_buf == NULL)
		return VSTD_ENOMEM;
	rc = vstd_ovf_parse(out, mem_buf, (size_t)n, spec->name ? spec->name : vm_id, NULL);
	xmlFree(mem_buf);
	return rc;
fail:
	xmlFreeDoc(b.doc);
	return rc < 0 ? rc : VSTD_ENOMEM;
}
