/*
 * descriptor/ovf/parse.c - from the XML tree to the neutral model.
 *
 * The tree stays the source of truth (it is what vstd_ovf_write writes);
 * the model is a read-only summary in the document's arena.  Elements are
 * matched by local name within the envelope namespace (or unqualified, as
 * oVirt writes them); CIM properties (rasd:, vssd:, epasd:, sasd:) by local
 * name in any namespace, since some producers use non-standard CIM
 * namespace URIs (docs/formats/ovf.md).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "descriptor/ovf/ovf_internal.h"

typedef struct build_ctx {
	vstd_ovf *ovf;
	unsigned long items;
	size_t vms;
} build_ctx;

/* Copy a libxml string into the arena and free it. */
static const char *keep(vstd_ovf *ovf, xmlChar *s, int *oom)
{
	if (s == NULL)
		return NULL;
	char *r = ovf_arena_strdup(&ovf->arena, (const char *)s);
	xmlFree(s);
	if (r == NULL)
		*oom = 1;
	return r;
}

#define KEEP(x) keep(ovf, (xmlChar *)(x), &oom)

static int parse_references(vstd_ovf *ovf, xmlNodePtr sec, ovf_vec *files)
{
	int oom = 0;
	for (xmlNodePtr n = sec->children; n != NULL; n = n->next) {
		if (!ovf_is(ovf, n, "File"))
			continue;
		vstd_ovf_file f;
		memset(&f, 0, sizeof(f));
		f.id = KEEP(ovf_attr(ovf, n, "id"));
		f.href = KEEP(ovf_attr(ovf, n, "href"));
		f.compression = KEEP(ovf_attr(ovf, n, "compression"));
		if (f.compression != NULL && f.compression[0] == '\0')
			f.compression = NULL;
		char *s = ovf_attr(ovf, n, "size");
		if (s != NULL && ovf_parse_u64(s, &f.size) == 0)
			f.has_size = 1;
		xmlFree(s);
		s = ovf_attr(ovf, n, "chunkSize");
		if (s != NULL)
			(void)ovf_parse_u64(s, &f.chunk_size);
		xmlFree(s);
		f.line = ovf_line(n);
		if (oom || ovf_vec_push(files, &f) < 0)
			return VSTD_ENOMEM;
	}
	return 0;
}

static int parse_disks(vstd_ovf *ovf, xmlNodePtr sec, ovf_vec *disks, int shared)
{
	int oom = 0;
	for (xmlNodePtr n = sec->children; n != NULL; n = n->next) {
		if (!ovf_is(ovf, n, shared ? "SharedDisk" : "Disk"))
			continue;
		vstd_ovf_disk d;
		memset(&d, 0, sizeof(d));
		d.shared = shared;
		if (shared) {
			char *ro = ovf_attr(ovf, n, "readOnly");
			if (ro != NULL)
				(void)ovf_parse_bool(ro, &d.read_only);
			xmlFree(ro);
		}
		d.disk_id = KEEP(ovf_attr(ovf, n, "diskId"));
		d.file_ref = KEEP(ovf_attr(ovf, n, "fileRef"));
		d.format = KEEP(ovf_attr(ovf, n, "format"));
		d.parent_ref = KEEP(ovf_attr(ovf, n, "parentRef"));
		if (d.parent_ref != NULL && d.parent_ref[0] == '\0')
			d.parent_ref = NULL;
		d.capacity_text = KEEP(ovf_attr(ovf, n, "capacity"));
		d.capacity_units = KEEP(ovf_attr(ovf, n, "capacityAllocationUnits"));
		uint64_t cap = 0, unit = 1;
		if (d.capacity_text != NULL && ovf_parse_u64(d.capacity_text, &cap) == 0 &&
		    (d.capacity_units == NULL ||
		     vstd_ovf_parse_units(d.capacity_units, &unit) == 0) &&
		    !__builtin_mul_overflow(cap, unit, &d.capacity_bytes))
			d.capacity_known = 1;
		char *s = ovf_attr(ovf, n, "populatedSize");
		if (s != NULL && ovf_parse_u64(s, &d.populated_size) == 0)
			d.has_populated_size = 1;
		xmlFree(s);
		d.line = ovf_line(n);
		if (oom || ovf_vec_push(disks, &d) < 0)
			return VSTD_ENOMEM;
	}
	return 0;
}

static int parse_networks(vstd_ovf *ovf, xmlNodePtr sec, ovf_vec *nets)
{
	int oom = 0;
	for (xmlNodePtr n = sec->children; n != NULL; n = n->next) {
		if (!ovf_is(ovf, n, "Network"))
			continue;
		vstd_ovf_network w;
		memset(&w, 0, sizeof(w));
		w.name = KEEP(ovf_attr(ovf, n, "name"));
		w.description = KEEP(ovf_child_text(n, "Description"));
		w.line = ovf_line(n);
		if (oom || ovf_vec_push(nets, &w) < 0)
			return VSTD_ENOMEM;
	}
	return 0;
}

static int parse_configs(vstd_ovf *ovf, xmlNodePtr sec, ovf_vec *cfgs)
{
	int oom = 0;
	for (xmlNodePtr n = sec->children; n != NULL; n = n->next) {
		if (!ovf_is(ovf, n, "Configuration"))
			continue;
		vstd_ovf_config c;
		memset(&c, 0, sizeof(c));
		c.id = KEEP(ovf_attr(ovf, n, "id"));
		c.label = KEEP(ovf_child_text(n, "Label"));
		c.description = KEEP(ovf_child_text(n, "Description"));
		char *s = ovf_attr(ovf, n, "default");
		if (s != NULL)
			(void)ovf_parse_bool(s, &c.is_default);
		xmlFree(s);
		c.line = ovf_line(n);
		if (oom || ovf_vec_push(cfgs, &c) < 0)
			return VSTD_ENOMEM;
	}
	return 0;
}

/* One pass over an item's children: the first element of each name. */
enum {
	P_RT,
	P_RST,
	P_ORT,
	P_IID,
	P_IID09,
	P_EN,
	P_DESC,
	P_PAR,
	P_ADDR,
	P_AOP,
	P_AU,
	P_VQ,
	P_AA,
	P_N
};
static const char *const prop_names[P_N] = {
        "ResourceType",       "ResourceSubType", "OtherResourceType",
        "InstanceID",         "InstanceId",      "ElementName",
        "Description",        "Parent",          "Address",
        "AddressOnParent",    "AllocationUnits", "VirtualQuantity",
        "AutomaticAllocation"};

static char *node_text(xmlNodePtr c)
{
	if (c == NULL)
		return NULL;
	xmlChar *t = xmlNodeGetContent(c);
	if (t == NULL)
		return NULL;
	char *s = (char *)t;
	size_t b = 0, e = strlen(s);
	while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\n' || s[b] == '\r'))
		b++;
	while (e > b &&
	       (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n' || s[e - 1] == '\r'))
		e--;
	memmove(s, s + b, e - b);
	s[e - b] = '\0';
	return s;
}

static int parse_item(build_ctx *bc, xmlNodePtr n, int kind, ovf_vec *items)
{
	vstd_ovf *ovf = bc->ovf;
	int oom = 0;
	if (++bc->items > ovf->opts.max_items)
		return vstd_err(VSTD_ELIMIT,
		                "%s: line %u: more than %lu hardware items (limit max_items)",
		                vstd_ovf_name(ovf), ovf_line(n), ovf->opts.max_items);
	vstd_ovf_item it;
	memset(&it, 0, sizeof(it));
	it.kind = kind;
	it.required = 1;
	it.automatic_allocation = -1;
	xmlNodePtr pn[P_N] = {NULL};
	for (xmlNodePtr c = n->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		for (int k = 0; k < P_N; k++)
			if (pn[k] == NULL && strcmp((const char *)c->name, prop_names[k]) == 0) {
				pn[k] = c;
				break;
			}
	}
	char *s = node_text(pn[P_RT]);
	uint64_t v;
	if (s != NULL && ovf_parse_u64(s, &v) == 0 && v <= 0x7fffffff)
		it.resource_type = (int)v;
	xmlFree(s);
	it.resource_sub_type = KEEP(node_text(pn[P_RST]));
	it.other_resource_type = KEEP(node_text(pn[P_ORT]));
	it.instance_id = KEEP(node_text(pn[P_IID] ? pn[P_IID] : pn[P_IID09])); /* 0.9: InstanceId */
	it.element_name = KEEP(node_text(pn[P_EN]));
	it.description = KEEP(node_text(pn[P_DESC]));
	it.parent = KEEP(node_text(pn[P_PAR]));
	it.address = KEEP(node_text(pn[P_ADDR]));
	it.address_on_parent = KEEP(node_text(pn[P_AOP]));
	it.allocation_units = KEEP(node_text(pn[P_AU]));
	it.virtual_quantity_text = KEEP(node_text(pn[P_VQ]));
	if (it.virtual_quantity_text != NULL &&
	    ovf_parse_u64(it.virtual_quantity_text, &it.virtual_quantity) == 0)
		it.has_virtual_quantity = 1;
	s = node_text(pn[P_AA]);
	if (s != NULL)
		(void)ovf_parse_bool(s, &it.automatic_allocation);
	xmlFree(s);
	/* HostResource and Connection repeat. */
	ovf_vec hr = {NULL, 0, 0, sizeof(char *)}, cn = {NULL, 0, 0, sizeof(char *)};
	for (xmlNodePtr c = n->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		ovf_vec *dst = NULL;
		if (strcmp((const char *)c->name, "HostResource") == 0)
			dst = &hr;
		else if (strcmp((const char *)c->name, "Connection") == 0)
			dst = &cn;
		if (dst == NULL)
			continue;
		xmlChar *t = xmlNodeGetContent(c);
		const char *k = KEEP(t);
		if (oom || ovf_vec_push(dst, &k) < 0) {
			ovf_vec_free(&hr);
			ovf_vec_free(&cn);
			return VSTD_ENOMEM;
		}
	}
	it.n_host_resources = hr.n;
	it.host_resources = ovf_vec_finish(&hr, &ovf->arena);
	it.n_connections = cn.n;
	it.connections = ovf_vec_finish(&cn, &ovf->arena);
	s = ovf_attr(ovf, n, "required");
	if (s != NULL)
		(void)ovf_parse_bool(s, &it.required);
	xmlFree(s);
	it.configuration = KEEP(ovf_attr(ovf, n, "configuration"));
	it.bound = KEEP(ovf_attr(ovf, n, "bound"));
	it.line = ovf_line(n);
	if (oom || ovf_vec_push(items, &it) < 0)
		return VSTD_ENOMEM;
	return 0;
}

static int parse_product(vstd_ovf *ovf, xmlNodePtr sec, ovf_vec *products)
{
	int oom = 0;
	vstd_ovf_product p;
	memset(&p, 0, sizeof(p));
	p.class_name = KEEP(ovf_attr(ovf, sec, "class"));
	p.instance = KEEP(ovf_attr(ovf, sec, "instance"));
	p.product = KEEP(ovf_child_text(sec, "Product"));
	p.vendor = KEEP(ovf_child_text(sec, "Vendor"));
	p.version = KEEP(ovf_child_text(sec, "Version"));
	p.full_version = KEEP(ovf_child_text(sec, "FullVersion"));
	p.product_url = KEEP(ovf_child_text(sec, "ProductUrl"));
	p.vendor_url = KEEP(ovf_child_text(sec, "VendorUrl"));
	p.line = ovf_line(sec);
	ovf_vec props = {NULL, 0, 0, sizeof(vstd_ovf_property)};
	const char *category = NULL;
	for (xmlNodePtr n = sec->children; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE || !ovf_is_ovf_ns(ovf, n))
			continue;
		if (strcmp((const char *)n->name, "Category") == 0) {
			category = KEEP(xmlNodeGetContent(n));
			continue;
		}
		if (strcmp((const char *)n->name, "Property") != 0)
			continue;
		vstd_ovf_property pr;
		memset(&pr, 0, sizeof(pr));
		pr.key = KEEP(ovf_attr(ovf, n, "key"));
		pr.type = KEEP(ovf_attr(ovf, n, "type"));
		pr.qualifiers = KEEP(ovf_attr(ovf, n, "qualifiers"));
		pr.default_value = KEEP(ovf_attr(ovf, n, "value"));
		pr.label = KEEP(ovf_child_text(n, "Label"));
		pr.description = KEEP(ovf_child_text(n, "Description"));
		pr.category = category;
		char *s = ovf_attr(ovf, n, "userConfigurable");
		if (s != NULL)
			(void)ovf_parse_bool(s, &pr.user_configurable);
		xmlFree(s);
		s = ovf_attr(ovf, n, "password");
		if (s != NULL)
			(void)ovf_parse_bool(s, &pr.password);
		xmlFree(s);
		pr.line = ovf_line(n);
		if (oom || ovf_vec_push(&props, &pr) < 0) {
			ovf_vec_free(&props);
			return VSTD_ENOMEM;
		}
	}
	p.n_properties = props.n;
	p.properties = ovf_vec_finish(&props, &ovf->arena);
	if (oom || ovf_vec_push(products, &p) < 0)
		return VSTD_ENOMEM;
	return 0;
}

static int int_attr(vstd_ovf *ovf, xmlNodePtr n, const char *name, int def)
{
	char *s = ovf_attr(ovf, n, name);
	uint64_t v;
	int r = def;
	if (s != NULL && ovf_parse_u64(s, &v) == 0 && v <= 0x7fffffff)
		r = (int)v;
	xmlFree(s);
	return r;
}

static int parse_startup(vstd_ovf *ovf, xmlNodePtr sec, ovf_vec *st)
{
	int oom = 0;
	for (xmlNodePtr n = sec->children; n != NULL; n = n->next) {
		if (!ovf_is(ovf, n, "Item"))
			continue;
		vstd_ovf_startup e;
		memset(&e, 0, sizeof(e));
		e.id = KEEP(ovf_attr(ovf, n, "id"));
		e.order = int_attr(ovf, n, "order", 0);
		e.start_delay = int_attr(ovf, n, "startDelay", 0);
		e.stop_delay = int_attr(ovf, n, "stopDelay", 0);
		e.start_action = KEEP(ovf_attr(ovf, n, "startAction"));
		e.stop_action = KEEP(ovf_attr(ovf, n, "stopAction"));
		char *s = ovf_attr(ovf, n, "waitingForGuest");
		if (s != NULL)
			(void)ovf_parse_bool(s, &e.wait_for_guest);
		xmlFree(s);
		e.line = ovf_line(n);
		if (oom || ovf_vec_push(st, &e) < 0)
			return VSTD_ENOMEM;
	}
	return 0;
}

static unsigned uint_attr(vstd_ovf *ovf, xmlNodePtr n, const char *name, unsigned def, int *has)
{
	char *s = ovf_attr(ovf, n, name);
	uint64_t v;
	unsigned r = def;
	if (s != NULL && ovf_parse_u64(s, &v) == 0 && v <= 0xffffffffu) {
		r = (unsigned)v;
		if (has != NULL)
			*has = 1;
	}
	xmlFree(s);
	return r;
}

/* EnvironmentFilesSection (DSP0243 9.11). */
static int parse_env_files(vstd_ovf *ovf, xmlNodePtr sec, vstd_vm *vm, ovf_vec *files)
{
	int oom = 0;
	vm->env_files_transport = KEEP(ovf_attr(ovf, sec, "transport"));
	for (xmlNodePtr n = sec->children; n != NULL; n = n->next) {
		if (!ovf_is(ovf, n, "File"))
			continue;
		vstd_ovf_env_file f;
		memset(&f, 0, sizeof(f));
		f.file_ref = KEEP(ovf_attr(ovf, n, "fileRef"));
		f.path = KEEP(ovf_attr(ovf, n, "path"));
		f.line = ovf_line(n);
		if (oom || ovf_vec_push(files, &f) < 0)
			return VSTD_ENOMEM;
	}
	return oom ? VSTD_ENOMEM : 0;
}

/*
 * StructuredBootString "<OrgID>:<identifier>:<index>" (CIM_BootSourceSetting;
 * DMTF identifiers Floppy, Hard-Disk, CD/DVD, Network, PCMCIA, USB).
 */
static void boot_device(vstd_ovf_boot_source *b)
{
	const char *s = b->structured;
	if (s == NULL)
		return;
	const char *c1 = strchr(s, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (c1 == NULL || c2 == NULL)
		return;
	static const struct {
		const char *name;
		char dev;
	} ids[] = {{"Hard-Disk", 'd'}, {"CD/DVD", 'c'}, {"Network", 'n'},
	           {"Floppy", 'f'},    {"USB", 'u'},    {"PCMCIA", 'p'}};
	size_t l = (size_t)(c2 - c1 - 1);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (strlen(ids[i].name) == l && strncasecmp(c1 + 1, ids[i].name, l) == 0)
			b->device = ids[i].dev;
	uint64_t v;
	if (ovf_parse_u64(c2 + 1, &v) == 0 && v > 0 && v <= 0xffff)
		b->index = (unsigned)v;
}

/* BootDeviceSection (DSP0243 9.12): one CIM_BootConfigSetting holding CIM_BootSourceSettings. */
static int parse_boot(vstd_ovf *ovf, xmlNodePtr sec, ovf_vec *boots)
{
	int oom = 0;
	vstd_ovf_boot_config bc;
	memset(&bc, 0, sizeof(bc));
	bc.configuration = KEEP(ovf_attr(ovf, sec, "configuration"));
	bc.line = ovf_line(sec);
	xmlNodePtr cfg = ovf_first_child(sec, "CIM_BootConfigSetting");
	ovf_vec src = {NULL, 0, 0, sizeof(vstd_ovf_boot_source)};
	if (cfg != NULL) {
		bc.element_name = KEEP(ovf_child_text(cfg, "ElementName"));
		bc.instance_id = KEEP(ovf_child_text(cfg, "InstanceID"));
		for (xmlNodePtr n = cfg->children; n != NULL; n = n->next) {
			if (n->type != XML_ELEMENT_NODE ||
			    strcmp((const char *)n->name, "CIM_BootSourceSetting") != 0)
				continue;
			vstd_ovf_boot_source b;
			memset(&b, 0, sizeof(b));
			b.structured = KEEP(ovf_child_text(n, "StructuredBootString"));
			b.boot_string = KEEP(ovf_child_text(n, "BootString"));
			b.bios_boot_string = KEEP(ovf_child_text(n, "BIOSBootString"));
			b.element_name = KEEP(ovf_child_text(n, "ElementName"));
			b.instance_id = KEEP(ovf_child_text(n, "InstanceID"));
			b.line = ovf_line(n);
			boot_device(&b);
			if (oom || ovf_vec_push(&src, &b) < 0) {
				ovf_vec_free(&src);
				return VSTD_ENOMEM;
			}
		}
	}
	bc.n_sources = src.n;
	bc.sources = ovf_vec_finish(&src, &ovf->arena);
	if (oom || ovf_vec_push(boots, &bc) < 0)
		return VSTD_ENOMEM;
	return 0;
}

/* ScaleOutSection (DSP0243 9.14). */
static int parse_scale_out(vstd_ovf *ovf, xmlNodePtr sec, ovf_vec *outs)
{
	int oom = 0;
	vstd_ovf_scale_out so;
	memset(&so, 0, sizeof(so));
	so.id = KEEP(ovf_attr(ovf, sec, "id"));
	so.description = KEEP(ovf_child_text(sec, "Description"));
	so.line = ovf_line(sec);
	ovf_vec cnt = {NULL, 0, 0, sizeof(vstd_ovf_instance_count)};
	for (xmlNodePtr n = sec->children; n != NULL; n = n->next) {
		if (!ovf_is(ovf, n, "InstanceCount"))
			continue;
		vstd_ovf_instance_count c;
		memset(&c, 0, sizeof(c));
		c.minimum = uint_attr(ovf, n, "minimum", 1, NULL);
		c.deflt = uint_attr(ovf, n, "default", 0, NULL);
		c.maximum = uint_attr(ovf, n, "maximum", 0, &c.has_maximum);
		c.configuration = KEEP(ovf_attr(ovf, n, "configuration"));
		c.line = ovf_line(n);
		if (oom || ovf_vec_push(&cnt, &c) < 0) {
			ovf_vec_free(&cnt);
			return VSTD_ENOMEM;
		}
	}
	so.n_counts = cnt.n;
	so.counts = ovf_vec_finish(&cnt, &ovf->arena);
	if (oom || ovf_vec_push(outs, &so) < 0)
		return VSTD_ENOMEM;
	return 0;
}

/* PlacementGroupSection (DSP0243 9.15). */
static int parse_placement_group(vstd_ovf *ovf, xmlNodePtr sec, ovf_vec *groups)
{
	int oom = 0;
	vstd_ovf_placement_group g;
	memset(&g, 0, sizeof(g));
	g.id = KEEP(ovf_attr(ovf, sec, "id"));
	g.policy = KEEP(ovf_attr(ovf, sec, "policy"));
	g.description = KEEP(ovf_child_text(sec, "Description"));
	g.line = ovf_line(sec);
	if (oom || ovf_vec_push(groups, &g) < 0)
		return VSTD_ENOMEM;
	return 0;
}

/* EncryptionSection (DSP0243 9.16): xenc:EncryptedKey / xenc11:DerivedKey entries. */
static int parse_encryption(vstd_ovf *ovf, xmlNodePtr sec, ovf_vec *keys)
{
	int oom = 0;
	for (xmlNodePtr n = sec->children; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		const char *local = (const char *)n->name;
		if (strcmp(local, "EncryptedKey") != 0 && strcmp(local, "DerivedKey") != 0)
			continue;
		vstd_ovf_key k;
		memset(&k, 0, sizeof(k));
		k.kind = local[0] == 'E' ? "EncryptedKey" : "DerivedKey";
		k.id = KEEP(xmlGetNoNsProp(n, (const xmlChar *)"Id"));
		xmlNodePtr m = ovf_first_child(n, local[0] == 'E' ? "EncryptionMethod"
		                                                  : "KeyDerivationMethod");
		if (m != NULL)
			k.algorithm = KEEP(xmlGetNoNsProp(m, (const xmlChar *)"Algorithm"));
		ovf_vec refs = {NULL, 0, 0, sizeof(char *)};
		xmlNodePtr rl = ovf_first_child(n, "ReferenceList");
		for (xmlNodePtr r = rl ? rl->children : NULL; r != NULL; r = r->next) {
			if (r->type != XML_ELEMENT_NODE ||
			    strcmp((const char *)r->name, "DataReference") != 0)
				continue;
			const char *u = KEEP(xmlGetNoNsProp(r, (const xmlChar *)"URI"));
			if (u != NULL && ovf_vec_push(&refs, &u) < 0)
				oom = 1;
			if (oom)
				break;
		}
		k.n_data_refs = refs.n;
		k.data_refs = ovf_vec_finish(&refs, &ovf->arena);
		k.line = ovf_line(n);
		if (oom || ovf_vec_push(keys, &k) < 0)
			return VSTD_ENOMEM;
	}
	return 0;
}

/* One VirtualHardwareSection (DSP0243 8.1). */
static int parse_hardware(build_ctx *bc, xmlNodePtr c, ovf_vec *hws)
{
	vstd_ovf *ovf = bc->ovf;
	int oom = 0, rc = 0;
	vstd_ovf_hardware hw;
	memset(&hw, 0, sizeof(hw));
	hw.id = KEEP(ovf_attr(ovf, c, "id"));
	if (hw.id != NULL && hw.id[0] == '\0')
		hw.id = NULL;
	hw.transport = KEEP(ovf_attr(ovf, c, "transport"));
	hw.line = ovf_line(c);
	ovf_vec items = {NULL, 0, 0, sizeof(vstd_ovf_item)};
	for (xmlNodePtr i = c->children; i != NULL && rc == 0; i = i->next) {
		if (i->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *)i->name, "System") == 0) {
			if (hw.system_type == NULL)
				hw.system_type = KEEP(ovf_child_text(i, "VirtualSystemType"));
			if (hw.system_name == NULL)
				hw.system_name = KEEP(ovf_child_text(i, "VirtualSystemIdentifier"));
		} else if (strcmp((const char *)i->name, "Item") == 0)
			rc = parse_item(bc, i, VSTD_OVF_ITEM_RASD, &items);
		else if (strcmp((const char *)i->name, "EthernetPortItem") == 0)
			rc = parse_item(bc, i, VSTD_OVF_ITEM_EPASD, &items);
		else if (strcmp((const char *)i->name, "StorageItem") == 0)
			rc = parse_item(bc, i, VSTD_OVF_ITEM_SASD, &items);
	}
	hw.n_items = items.n;
	hw.items = ovf_vec_finish(&items, &ovf->arena);
	if (rc == 0 && (oom || ovf_vec_push(hws, &hw) < 0))
		rc = VSTD_ENOMEM;
	return rc;
}

static char *qualified_name(const xmlNode *n)
{
	char buf[96];
	const char *kind = ovf_kind(n, buf, sizeof(buf));
	if (n->ns != NULL && n->ns->href != NULL)
		return vstd_asprintf("{%s}%s", (const char *)n->ns->href, kind);
	return vstd_strdup(kind);
}

static int push_other(vstd_ovf *ovf, const xmlNode *n, ovf_vec *v)
{
	char *q = qualified_name(n);
	if (q == NULL)
		return VSTD_ENOMEM;
	const char *k = ovf_arena_strdup(&ovf->arena, q);
	vstd_free(q);
	if (k == NULL || ovf_vec_push(v, &k) < 0)
		return VSTD_ENOMEM;
	return 0;
}

static int is_content(vstd_ovf *ovf, xmlNodePtr n, int *collection)
{
	if (ovf_is(ovf, n, "VirtualSystem")) {
		*collection = 0;
		return 1;
	}
	if (ovf_is(ovf, n, "VirtualSystemCollection")) {
		*collection = 1;
		return 1;
	}
	return 0;
}

static int parse_vm(build_ctx *bc, xmlNodePtr n, int collection, vstd_vm *parent, unsigned depth,
                    vstd_vm **out)
{
	vstd_ovf *ovf = bc->ovf;
	int oom = 0, rc;
	if (depth > ovf->opts.max_collection_depth)
		return vstd_err(VSTD_ELIMIT,
		                "%s: line %u: VirtualSystemCollections nested deeper than %u "
		                "(limit max_collection_depth)",
		                vstd_ovf_name(ovf), ovf_line(n), ovf->opts.max_collection_depth);
	vstd_vm *vm = ovf_arena_alloc(&ovf->arena, sizeof(*vm));
	if (vm == NULL)
		return VSTD_ENOMEM;
	bc->vms++;
	vm->id = KEEP(ovf_attr(ovf, n, "id"));
	vm->info = KEEP(ovf_child_text(n, "Info"));
	vm->name = KEEP(ovf_child_text(n, "Name"));
	vm->is_collection = collection;
	vm->parent = parent;
	vm->line = ovf_line(n);
	ovf_vec hws = {NULL, 0, 0, sizeof(vstd_ovf_hardware)};
	ovf_vec envf = {NULL, 0, 0, sizeof(vstd_ovf_env_file)};
	ovf_vec boots = {NULL, 0, 0, sizeof(vstd_ovf_boot_config)};
	ovf_vec scale = {NULL, 0, 0, sizeof(vstd_ovf_scale_out)};
	ovf_vec groups = {NULL, 0, 0, sizeof(vstd_ovf_placement_group)};
	ovf_vec products = {NULL, 0, 0, sizeof(vstd_ovf_product)};
	ovf_vec eulas = {NULL, 0, 0, sizeof(char *)};
	ovf_vec startup = {NULL, 0, 0, sizeof(vstd_ovf_startup)};
	ovf_vec others = {NULL, 0, 0, sizeof(char *)};
	ovf_vec children = {NULL, 0, 0, sizeof(vstd_vm *)};
	rc = 0;
	for (xmlNodePtr c = n->children; c != NULL && rc == 0; c = c->next) {
		int coll;
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (ovf_is_ovf_ns(ovf, c) && (strcmp((const char *)c->name, "Info") == 0 ||
		                              strcmp((const char *)c->name, "Name") == 0))
			continue;
		if (is_content(ovf, c, &coll)) {
			vstd_vm *child = NULL;
			rc = parse_vm(bc, c, coll, vm, depth + (coll ? 1 : 0), &child);
			if (rc == 0)
				rc = ovf_vec_push(&children, &child);
			continue;
		}
		if (ovf_is(ovf, c, "VirtualHardwareSection")) {
			vm->n_hardware_sections++;
			rc = parse_hardware(bc, c, &hws);
		} else if (ovf_is(ovf, c, "EnvironmentFilesSection")) {
			rc = parse_env_files(ovf, c, vm, &envf);
		} else if (ovf_is(ovf, c, "BootDeviceSection")) {
			rc = parse_boot(ovf, c, &boots);
		} else if (ovf_is(ovf, c, "ScaleOutSection")) {
			rc = parse_scale_out(ovf, c, &scale);
		} else if (ovf_is(ovf, c, "PlacementGroupSection")) {
			rc = parse_placement_group(ovf, c, &groups);
		} else if (ovf_is(ovf, c, "PlacementSection")) {
			if (vm->placement_group == NULL)
				vm->placement_group = KEEP(ovf_attr(ovf, c, "group"));
		} else if (ovf_is(ovf, c, "OperatingSystemSection")) {
			vm->has_os = 1;
			vm->os_id = int_attr(ovf, c, "id", 0);
			vm->os_version = KEEP(ovf_attr(ovf, c, "version"));
			vm->os_description = KEEP(ovf_child_text(c, "Description"));
		} else if (ovf_is(ovf, c, "ProductSection")) {
			rc = parse_product(ovf, c, &products);
		} else if (ovf_is(ovf, c, "EulaSection")) {
			const char *l = KEEP(ovf_child_text(c, "License"));
			if (l != NULL)
				rc = ovf_vec_push(&eulas, &l);
		} else if (ovf_is(ovf, c, "AnnotationSection")) {
			vm->annotation = KEEP(ovf_child_text(c, "Annotation"));
		} else if (ovf_is(ovf, c, "InstallSection")) {
			vm->has_install = 1;
			vm->install_delay = int_attr(ovf, c, "initialBootStopDelay", 0);
		} else if (ovf_is(ovf, c, "StartupSection")) {
			rc = parse_startup(ovf, c, &startup);
		} else {
			rc = push_other(ovf, c, &others);
		}
	}
	if (oom && rc == 0)
		rc = VSTD_ENOMEM;
	vm->hardware = ovf_vec_finish(&hws, &ovf->arena);
	if (vm->hardware != NULL) {
		vm->system_type = vm->hardware[0].system_type;
		vm->transport = vm->hardware[0].transport;
		vm->items = vm->hardware[0].items;
		vm->n_items = vm->hardware[0].n_items;
	}
	vm->n_env_files = envf.n;
	vm->env_files = ovf_vec_finish(&envf, &ovf->arena);
	vm->n_boot = boots.n;
	vm->boot = ovf_vec_finish(&boots, &ovf->arena);
	vm->n_scale_out = scale.n;
	vm->scale_out = ovf_vec_finish(&scale, &ovf->arena);
	vm->n_placement_groups = groups.n;
	vm->placement_groups = ovf_vec_finish(&groups, &ovf->arena);
	vm->n_products = products.n;
	vm->products = ovf_vec_finish(&products, &ovf->arena);
	vm->n_eulas = eulas.n;
	vm->eulas = ovf_vec_finish(&eulas, &ovf->arena);
	vm->n_startup = startup.n;
	vm->startup = ovf_vec_finish(&startup, &ovf->arena);
	vm->n_other_sections = others.n;
	vm->other_sections = ovf_vec_finish(&others, &ovf->arena);
	vm->n_children = children.n;
	vm->children = ovf_vec_finish(&children, &ovf->arena);
	if (rc < 0)
		return rc;
	*out = vm;
	return 0;
}

static int detect_version(vstd_ovf *ovf, xmlNodePtr env, const char *nm)
{
	if (env == NULL || strcmp((const char *)env->name, "Envelope") != 0)
		return vstd_err(
		        VSTD_ECORRUPT,
		        "%s: line %u: root element is <%s>, not an OVF <Envelope> (DSP0243 7)", nm,
		        env ? ovf_line(env) : 0, env ? (const char *)env->name : "?");
	if (env->ns == NULL || env->ns->href == NULL)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: line %u: <Envelope> has no namespace; OVF needs %s or %s "
		                "(DSP0243 6)",
		                nm, ovf_line(env), OVF_NS_V1, OVF_NS_V2);
	const char *ns = (const char *)env->ns->href;
	ovf->ns = ns;
	char *ver = ovf_attr(ovf, env, "version");
	if (strcmp(ns, OVF_NS_V1) == 0)
		ovf->version = VSTD_OVF_V1;
	else if (strcmp(ns, OVF_NS_V2) == 0)
		ovf->version = VSTD_OVF_V2;
	else if (strcmp(ns, OVF_NS_V09_VMW) == 0 || strcmp(ns, OVF_NS_V09_DRAFT) == 0 ||
	         strcmp(ns, OVF_NS_V1 "/") == 0)
		ovf->version = VSTD_OVF_V0_9;
	else {
		xmlFree(ver);
		if (strstr(ns, "ovf/envelope") != NULL)
			return vstd_err(
			        VSTD_ENOTSUP,
			        "%s: line %u: unknown OVF envelope namespace '%s' (known: 0.9, "
			        "envelope/1, envelope/2)",
			        nm, ovf_line(env), ns);
		return vstd_err(VSTD_ECORRUPT, "%s: line %u: namespace '%s' is not an OVF envelope",
		                nm, ovf_line(env), ns);
	}
	if (ver != NULL && strncmp(ver, "0.9", 3) == 0)
		ovf->version = VSTD_OVF_V0_9;
	xmlFree(ver);
	return 0;
}

int ovf_model_build(vstd_ovf *ovf)
{
	const char *nm = vstd_ovf_name(ovf);
	xmlNodePtr env = xmlDocGetRootElement(ovf->doc);
	int rc = detect_version(ovf, env, nm), oom = 0;
	if (rc < 0)
		return rc;
	ovf->envelope = env;
	build_ctx bc = {ovf, 0, 0};
	vstd_ovf_model *m = &ovf->model;
	m->version = ovf->version;
	m->ns = ovf->ns;
	m->version_attr = KEEP(ovf_attr(ovf, env, "version"));
	ovf_vec files = {NULL, 0, 0, sizeof(vstd_ovf_file)};
	ovf_vec disks = {NULL, 0, 0, sizeof(vstd_ovf_disk)};
	ovf_vec nets = {NULL, 0, 0, sizeof(vstd_ovf_network)};
	ovf_vec cfgs = {NULL, 0, 0, sizeof(vstd_ovf_config)};
	ovf_vec others = {NULL, 0, 0, sizeof(char *)};
	ovf_vec groups = {NULL, 0, 0, sizeof(vstd_ovf_placement_group)};
	ovf_vec keys = {NULL, 0, 0, sizeof(vstd_ovf_key)};
	vstd_vm *root = NULL;
	for (xmlNodePtr c = env->children; c != NULL && rc == 0; c = c->next) {
		int coll;
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (ovf_is(ovf, c, "References"))
			rc = parse_references(ovf, c, &files);
		else if (ovf_is(ovf, c, "DiskSection"))
			rc = parse_disks(ovf, c, &disks, 0);
		else if (ovf_is(ovf, c, "SharedDiskSection"))
			rc = parse_disks(ovf, c, &disks, 1);
		else if (ovf_is(ovf, c, "PlacementGroupSection"))
			rc = parse_placement_group(ovf, c, &groups);
		else if (ovf_is(ovf, c, "EncryptionSection")) {
			m->has_encryption = 1;
			rc = parse_encryption(ovf, c, &keys);
		} else if (ovf_is(ovf, c, "NetworkSection"))
			rc = parse_networks(ovf, c, &nets);
		else if (ovf_is(ovf, c, "DeploymentOptionSection"))
			rc = parse_configs(ovf, c, &cfgs);
		else if (is_content(ovf, c, &coll)) {
			if (root == NULL)
				rc = parse_vm(&bc, c, coll, NULL, coll ? 1 : 0, &root);
		} else if (ovf_is(ovf, c, "Strings"))
			continue;
		else
			rc = push_other(ovf, c, &others);
	}
	m->n_files = files.n;
	m->files = ovf_vec_finish(&files, &ovf->arena);
	m->n_disks = disks.n;
	m->disks = ovf_vec_finish(&disks, &ovf->arena);
	for (size_t i = 0; m->disks != NULL && i < m->n_disks; i++)
		m->n_shared_disks += m->disks[i].shared ? 1 : 0;
	m->n_placement_groups = groups.n;
	m->placement_groups = ovf_vec_finish(&groups, &ovf->arena);
	m->n_keys = keys.n;
	m->keys = ovf_vec_finish(&keys, &ovf->arena);
	m->n_networks = nets.n;
	m->networks = ovf_vec_finish(&nets, &ovf->arena);
	m->n_configs = cfgs.n;
	m->configs = ovf_vec_finish(&cfgs, &ovf->arena);
	m->n_other_sections = others.n;
	m->other_sections = ovf_vec_finish(&others, &ovf->arena);
	m->root = root;
	m->n_vms = bc.vms;
	if (rc == 0 && oom)
		rc = vstd_err(VSTD_ENOMEM, "%s: out of memory building the model", nm);
	return rc;
}

int ovf_from_doc(vstd_ovf **out, xmlDocPtr doc, const char *name, const vstd_ovf_parse_opts *opts,
                 int encoding_fixed)
{
	vstd_ovf *ovf = vstd_calloc(1, sizeof(*ovf));
	if (ovf == NULL) {
		xmlFreeDoc(doc);
		return VSTD_ENOMEM;
	}
	ovf->doc = doc;
	ovf->encoding_fixed = encoding_fixed;
	ovf_parse_opts_defaults(&ovf->opts, opts);
	ovf->name = vstd_strdup(name != NULL ? name : "descriptor");
	if (ovf->name == NULL) {
		vstd_ovf_free(ovf);
		return VSTD_ENOMEM;
	}
	int rc = ovf_model_build(ovf);
	if (rc < 0) {
		vstd_ovf_free(ovf);
		return rc;
	}
	*out = ovf;
	return 0;
}

int vstd_ovf_parse(vstd_ovf **out, const void *data, size_t len, const char *name,
                   const vstd_ovf_parse_opts *opts)
{
	if (out == NULL || (data == NULL && len > 0))
		return vstd_err(VSTD_EINVAL, "vstd_ovf_parse: NULL argument");
	vstd_ovf_parse_opts o;
	ovf_parse_opts_defaults(&o, opts);
	xmlDocPtr doc = NULL;
	int fixed = 0;
	int rc = ovf_xml_read(&doc, data, len, name, &o, &fixed);
	if (rc < 0)
		return rc;
	return ovf_from_doc(out, doc, name, &o, fixed);
}

int vstd_ovf_open(vstd_ovf **out, const char *path, const vstd_ovf_parse_opts *opts)
{
	vstd_ovf_parse_opts o;
	ovf_parse_opts_defaults(&o, opts);
	vstd_io *io = NULL;
	int rc = vstd_io_file_open(&io, path, VSTD_IO_READ);
	if (rc < 0)
		return rc;
	uint64_t size = 0;
	rc = vstd_io_size(io, &size);
	if (rc == 0 && size > o.max_input)
		rc = vstd_err(VSTD_ELIMIT,
		              "%s: descriptor is %" PRIu64 " bytes, more than the limit of %zu",
		              path, size, o.max_input);
	void *buf = NULL;
	if (rc == 0) {
		buf = vstd_malloc(size ? (size_t)size : 1);
		if (buf == NULL)
			rc = VSTD_ENOMEM;
	}
	if (rc == 0)
		rc = vstd_io_pread(io, buf, (size_t)size, 0);
	vstd_io_close(io);
	if (rc == 0)
		rc = vstd_ovf_parse(out, buf, (size_t)size, path, &o);
	vstd_free(buf);
	return rc;
}
