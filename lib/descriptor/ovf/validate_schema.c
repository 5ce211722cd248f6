/*
 * descriptor/ovf/validate_schema.c - the structure DSP8023 (the OVF XML
 * schema, versions 1.1 and 2.0) defines, checked by C code written from
 * the schema's text (docs/formats/ovf.md, "Structure").  No XSD is carried
 * or loaded.
 *
 * A content model is a sequence of particles (element name in the envelope
 * namespace, minimum, maximum); after them an element type may allow any
 * number of elements from other namespaces (xs:any ##other).  Elements of
 * the CIM classes (System, Item, EthernetPortItem, StorageItem) hold their
 * properties in the class namespace in the schema's (alphabetical) order,
 * ElementName and InstanceID required.
 *
 * In strict mode every finding is an error; in lax mode a warning, as
 * ovftool's --lax does.  OVF 0.9 has no DMTF schema and is only checked
 * by the semantic layer.
 */
#include <stdio.h>
#include <string.h>

#include "descriptor/ovf/validate.h"

#define UNB 0xffffffffu
#define ANY_OTHER 0x1 /* xs:any namespace="##other" at the end */
#define V2_ONLY 0x2
#define FOREIGN_BOOTC 0x4 /* exactly one bootc:CIM_BootConfigSetting (BootDeviceSection) */
#define FOREIGN_XENC 0x8  /* one or more xenc:EncryptedKey | xenc11:DerivedKey */
#define NS_BOOTC "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_BootConfigSetting"
#define NS_BOOTS "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_BootSourceSetting"
#define NS_XENC "http://www.w3.org/2001/04/xmlenc#"
#define NS_XENC11 "http://www.w3.org/2009/xmlenc11#"

typedef struct particle {
	const char *name; /* "A|B" is a choice */
	unsigned min, max;
	unsigned flags; /* V2_ONLY */
} particle;

typedef struct model {
	const char *element; /* section/element kind */
	unsigned flags;      /* ANY_OTHER, V2_ONLY */
	const char *required_attrs[4];
	particle p[12];
} model;

/* Sections start with Info (Section_Type); listed here after it. */
static const model section_models[] = {
        {"AnnotationSection", ANY_OTHER, {NULL}, {{"Annotation", 1, 1, 0}}},
        {"ProductSection",
         ANY_OTHER,
         {NULL},
         {{"Product", 0, 1, 0},
          {"Vendor", 0, 1, 0},
          {"Version", 0, 1, 0},
          {"FullVersion", 0, 1, 0},
          {"ProductUrl", 0, 1, 0},
          {"VendorUrl", 0, 1, 0},
          {"AppUrl", 0, 1, 0},
          {"Icon", 0, UNB, 0},
          {"Category|Property", 0, UNB, 0}}},
        {"NetworkSection", ANY_OTHER, {NULL}, {{"Network", 0, UNB, 0}}},
        {"DiskSection", ANY_OTHER, {NULL}, {{"Disk", 0, UNB, 0}}},
        {"OperatingSystemSection", ANY_OTHER, {"id"}, {{"Description", 0, 1, 0}}},
        {"EulaSection", ANY_OTHER, {NULL}, {{"License", 1, 1, 0}}},
        {"VirtualHardwareSection",
         ANY_OTHER,
         {NULL},
         {{"System", 0, 1, 0},
          {"Item", 0, UNB, 0},
          {"EthernetPortItem", 0, UNB, V2_ONLY},
          {"StorageItem", 0, UNB, V2_ONLY}}},
        {"ResourceAllocationSection",
         ANY_OTHER,
         {NULL},
         {{"Item", 0, UNB, 0},
          {"EthernetPortItem", 0, UNB, V2_ONLY},
          {"StorageItem", 0, UNB, V2_ONLY}}},
        {"InstallSection", ANY_OTHER, {"initialBootStopDelay"}, {{NULL, 0, 0, 0}}},
        {"StartupSection", ANY_OTHER, {NULL}, {{"Item", 0, UNB, 0}}},
        {"DeploymentOptionSection", ANY_OTHER, {NULL}, {{"Configuration", 1, UNB, 0}}},
        {"EnvironmentFilesSection", ANY_OTHER | V2_ONLY, {NULL}, {{"File", 0, UNB, 0}}},
        {"BootDeviceSection", V2_ONLY | FOREIGN_BOOTC, {NULL}, {{NULL, 0, 0, 0}}},
        {"SharedDiskSection", ANY_OTHER | V2_ONLY, {NULL}, {{"SharedDisk", 1, UNB, 0}}},
        {"ScaleOutSection",
         ANY_OTHER | V2_ONLY,
         {"id"},
         {{"Description", 0, 1, 0}, {"InstanceCount", 1, UNB, 0}}},
        {"PlacementGroupSection",
         ANY_OTHER | V2_ONLY,
         {"id", "policy"},
         {{"Description", 0, 1, 0}}},
        {"PlacementSection", ANY_OTHER | V2_ONLY, {"group"}, {{NULL, 0, 0, 0}}},
        {"EncryptionSection", V2_ONLY | FOREIGN_XENC, {NULL}, {{NULL, 0, 0, 0}}},
};

/* Inner elements with a content model of their own. */
static const model inner_models[] = {
        {"References", ANY_OTHER, {NULL}, {{"File", 0, UNB, 0}}},
        {"File", ANY_OTHER, {"id", "href"}, {{NULL, 0, 0, 0}}},
        {"Disk", ANY_OTHER, {"diskId", "capacity"}, {{NULL, 0, 0, 0}}},
        {"SharedDisk", ANY_OTHER, {"diskId", "capacity"}, {{NULL, 0, 0, 0}}},
        {"Network",
         0,
         {"name"},
         {{"Description", 0, 1, 0}, {"NetworkPortProfile|NetworkPortProfileURI", 0, UNB, V2_ONLY}}},
        {"Configuration", 0, {"id"}, {{"Label", 1, 1, 0}, {"Description", 1, 1, 0}}},
        {"Property",
         0,
         {"key", "type"},
         {{"Label", 0, 1, 0}, {"Description", 0, 1, 0}, {"Value", 0, UNB, 0}}},
        {"Icon", 0, {"fileRef"}, {{NULL, 0, 0, 0}}},
        {"Strings", 0, {NULL}, {{"Msg", 0, UNB, 0}}},
        /* EnvironmentFilesSection/File (EnvironmentFile_Type), looked up as "EnvFile" */
        {"EnvFile", ANY_OTHER | V2_ONLY, {"fileRef", "path"}, {{NULL, 0, 0, 0}}},
        {"InstanceCount", V2_ONLY, {"default"}, {{NULL, 0, 0, 0}}},
};

/* CIM_BootConfigSetting and CIM_BootSourceSetting properties (DSP8023 2.x imports). */
static const char *const bootc_props[] = {"Caption",
                                          "ChangeableType",
                                          "ComponentSetting",
                                          "ConfigurationName",
                                          "Description",
                                          "ElementName",
                                          "Generation",
                                          "InstanceID",
                                          "SoID",
                                          "SoOrgID",
                                          NULL};
static const char *const boots_props[] = {
        "BIOSBootString", "BootString",           "Caption",
        "ChangeableType", "ComponentSetting",     "ConfigurationName",
        "Description",    "ElementName",          "FailThroughSupported",
        "Generation",     "InstanceID",           "SoID",
        "SoOrgID",        "StructuredBootString", NULL};

/* CIM class property names in DSP8023's sequence order. */
static const char *const rasd_v1[] = {"Address",
                                      "AddressOnParent",
                                      "AllocationUnits",
                                      "AutomaticAllocation",
                                      "AutomaticDeallocation",
                                      "Caption",
                                      "Connection",
                                      "ConsumerVisibility",
                                      "Description",
                                      "ElementName",
                                      "HostResource",
                                      "InstanceID",
                                      "Limit",
                                      "MappingBehavior",
                                      "OtherResourceType",
                                      "Parent",
                                      "PoolID",
                                      "Reservation",
                                      "ResourceSubType",
                                      "ResourceType",
                                      "VirtualQuantity",
                                      "VirtualQuantityUnits",
                                      "Weight",
                                      NULL};
static const char *const rasd_v2[] = {"Address",
                                      "AddressOnParent",
                                      "AllocationUnits",
                                      "AutomaticAllocation",
                                      "AutomaticDeallocation",
                                      "Caption",
                                      "ChangeableType",
                                      "ComponentSetting",
                                      "ConfigurationName",
                                      "Connection",
                                      "ConsumerVisibility",
                                      "Description",
                                      "ElementName",
                                      "Generation",
                                      "HostResource",
                                      "InstanceID",
                                      "Limit",
                                      "MappingBehavior",
                                      "OtherResourceType",
                                      "Parent",
                                      "PoolID",
                                      "Reservation",
                                      "ResourceSubType",
                                      "ResourceType",
                                      "SoID",
                                      "SoOrgID",
                                      "VirtualQuantity",
                                      "VirtualQuantityUnits",
                                      "Weight",
                                      NULL};
static const char *const vssd_v1[] = {"AutomaticRecoveryAction",
                                      "AutomaticShutdownAction",
                                      "AutomaticStartupAction",
                                      "AutomaticStartupActionDelay",
                                      "AutomaticStartupActionSequenceNumber",
                                      "Caption",
                                      "ConfigurationDataRoot",
                                      "ConfigurationFile",
                                      "ConfigurationID",
                                      "CreationTime",
                                      "Description",
                                      "ElementName",
                                      "InstanceID",
                                      "LogDataRoot",
                                      "Notes",
                                      "RecoveryFile",
                                      "SnapshotDataRoot",
                                      "SuspendDataRoot",
                                      "SwapFileDataRoot",
                                      "VirtualSystemIdentifier",
                                      "VirtualSystemType",
                                      NULL};
static const char *const vssd_v2[] = {"AutomaticRecoveryAction",
                                      "AutomaticShutdownAction",
                                      "AutomaticStartupAction",
                                      "AutomaticStartupActionDelay",
                                      "AutomaticStartupActionSequenceNumber",
                                      "Caption",
                                      "ChangeableType",
                                      "ComponentSetting",
                                      "ConfigurationDataRoot",
                                      "ConfigurationFile",
                                      "ConfigurationID",
                                      "ConfigurationName",
                                      "CreationTime",
                                      "Description",
                                      "ElementName",
                                      "Generation",
                                      "InstanceID",
                                      "LogDataRoot",
                                      "Notes",
                                      "RecoveryFile",
                                      "SnapshotDataRoot",
                                      "SoID",
                                      "SoOrgID",
                                      "SuspendDataRoot",
                                      "SwapFileDataRoot",
                                      "VirtualSystemIdentifier",
                                      "VirtualSystemType",
                                      NULL};
static const char *const epasd_v2[] = {"Address",
                                       "AddressOnParent",
                                       "AllocationUnits",
                                       "AllowedPriorities",
                                       "AllowedToReceiveMACAddresses",
                                       "AllowedToReceiveVLANs",
                                       "AllowedToTransmitMACAddresses",
                                       "AllowedToTransmitVLANs",
                                       "AutomaticAllocation",
                                       "AutomaticDeallocation",
                                       "Caption",
                                       "ChangeableType",
                                       "ComponentSetting",
                                       "ConfigurationName",
                                       "Connection",
                                       "ConsumerVisibility",
                                       "DefaultPortVID",
                                       "DefaultPriority",
                                       "Description",
                                       "DesiredVLANEndpointMode",
                                       "ElementName",
                                       "Generation",
                                       "GroupID",
                                       "HostResource",
                                       "InstanceID",
                                       "Limit",
                                       "ManagerID",
                                       "MappingBehavior",
                                       "NetworkPortProfileID",
                                       "NetworkPortProfileIDType",
                                       "OtherEndpointMode",
                                       "OtherNetworkPortProfileIDTypeInfo",
                                       "OtherResourceType",
                                       "Parent",
                                       "PoolID",
                                       "PortCorrelationID",
                                       "PortVID",
                                       "Promiscuous",
                                       "ReceiveBandwidthLimit",
                                       "ReceiveBandwidthReservation",
                                       "Reservation",
                                       "ResourceSubType",
                                       "ResourceType",
                                       "SoID",
                                       "SoOrgID",
                                       "SourceMACFilteringEnabled",
                                       "VSITypeID",
                                       "VSITypeIDVersion",
                                       "VirtualQuantity",
                                       "VirtualQuantityUnits",
                                       "Weight",
                                       NULL};
static const char *const sasd_v2[] = {"Access",
                                      "Address",
                                      "AddressOnParent",
                                      "AllocationUnits",
                                      "AutomaticAllocation",
                                      "AutomaticDeallocation",
                                      "Caption",
                                      "ChangeableType",
                                      "ComponentSetting",
                                      "ConfigurationName",
                                      "Connection",
                                      "ConsumerVisibility",
                                      "Description",
                                      "ElementName",
                                      "Generation",
                                      "HostExtentName",
                                      "HostExtentNameFormat",
                                      "HostExtentNameNamespace",
                                      "HostExtentStartingAddress",
                                      "HostResource",
                                      "HostResourceBlockSize",
                                      "InstanceID",
                                      "Limit",
                                      "MappingBehavior",
                                      "OtherHostExtentNameFormat",
                                      "OtherHostExtentNameNamespace",
                                      "OtherResourceType",
                                      "Parent",
                                      "PoolID",
                                      "Reservation",
                                      "ResourceSubType",
                                      "ResourceType",
                                      "SoID",
                                      "SoOrgID",
                                      "VirtualQuantity",
                                      "VirtualQuantityUnits",
                                      "VirtualResourceBlockSize",
                                      "Weight",
                                      NULL};

#define RULE_SCHEMA "DSP8023"

static int sev(ovf_vctx *v)
{
	return v->strict ? VSTD_OVF_ERROR : VSTD_OVF_WARNING;
}

static int in_ovf_ns(ovf_vctx *v, const xmlNode *n)
{
	return n->ns != NULL && n->ns->href != NULL && v->ovf->ns != NULL &&
	       strcmp((const char *)n->ns->href, v->ovf->ns) == 0;
}

static const char *ns_of(const xmlNode *n)
{
	return n->ns != NULL && n->ns->href != NULL ? (const char *)n->ns->href : "(none)";
}

static int name_matches(const char *pattern, const char *name)
{
	size_t nl = strlen(name);
	const char *p = pattern;
	while (*p != '\0') {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);
		if (l == nl && strncmp(p, name, l) == 0)
			return 1;
		if (bar == NULL)
			break;
		p = bar + 1;
	}
	return 0;
}

static void check_required_attrs(ovf_vctx *v, const xmlNode *n, const char *const *attrs)
{
	for (size_t i = 0; i < 4 && attrs[i] != NULL; i++) {
		xmlChar *a = NULL;
		if (v->ovf->ns != NULL)
			a = xmlGetNsProp(n, (const xmlChar *)attrs[i], (const xmlChar *)v->ovf->ns);
		if (a == NULL)
			ovf_diag(v, sev(v), n, RULE_SCHEMA,
			         "the attribute ovf:%s is required but missing", attrs[i]);
		xmlFree(a);
	}
}

static void check_u64_attr(ovf_vctx *v, const xmlNode *n, const char *name, uint64_t max)
{
	xmlChar *a = v->ovf->ns
	                     ? xmlGetNsProp(n, (const xmlChar *)name, (const xmlChar *)v->ovf->ns)
	                     : NULL;
	uint64_t x;
	if (a != NULL && (ovf_parse_u64((const char *)a, &x) != 0 || x > max))
		ovf_diag(v, sev(v), n, RULE_SCHEMA, "ovf:%s='%.64s' is not a valid %s", name,
		         (const char *)a,
		         max == 0xffff        ? "xs:unsignedShort"
		         : max == 0xffffffffu ? "xs:unsignedInt"
		         : max == INT64_MAX   ? "xs:long (non-negative)"
		                              : "xs:unsignedLong");
	xmlFree(a);
}

static void check_bool_attr(ovf_vctx *v, const xmlNode *n, const char *name)
{
	xmlChar *a = v->ovf->ns
	                     ? xmlGetNsProp(n, (const xmlChar *)name, (const xmlChar *)v->ovf->ns)
	                     : NULL;
	int b;
	if (a != NULL && strcmp((const char *)a, "true") != 0 &&
	    strcmp((const char *)a, "false") != 0 && ovf_parse_bool((const char *)a, &b) != 0)
		ovf_diag(v, sev(v), n, RULE_SCHEMA, "ovf:%s='%.64s' is not an xs:boolean", name,
		         (const char *)a);
	xmlFree(a);
}

static void check_cim(ovf_vctx *v, const xmlNode *n, const char *class_ns,
                      const char *const *names);
static void check_element(ovf_vctx *v, const xmlNode *n, const model *m, int has_info);

/* bootc:CIM_BootConfigSetting, then its boots:CIM_BootSourceSetting extensions (lax, but
 * the schema declares them, so a validator checks them). */
static void check_boot_config(ovf_vctx *v, const xmlNode *cfg)
{
	check_cim(v, cfg, NS_BOOTC, bootc_props);
	for (const xmlNode *c = cfg->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE && c->ns != NULL && c->ns->href != NULL &&
		    strcmp((const char *)c->ns->href, NS_BOOTS) == 0 &&
		    strcmp((const char *)c->name, "CIM_BootSourceSetting") == 0)
			check_cim(v, c, NS_BOOTS, boots_props);
}

static const model *find_model(const model *tab, size_t count, const char *name, int v2)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(tab[i].element, name) == 0 && (v2 || !(tab[i].flags & V2_ONLY)))
			return &tab[i];
	return NULL;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Check one child per its own model, where it has one. */
static void check_child(ovf_vctx *v, const xmlNode *c)
{
	int v2 = v->ovf->version == VSTD_OVF_V2;
	const char *name = (const char *)c->name;
	const xmlNode *parent = c->parent;
	const char *pname = parent ? (const char *)parent->name : "";
	if (!in_ovf_ns(v, c))
		return; /* ##other content is lax */
	if (strcmp(name, "Item") == 0 && strcmp(pname, "StartupSection") != 0) {
		check_cim(v, c, OVF_NS_RASD, v2 ? rasd_v2 : rasd_v1);
		check_bool_attr(v, c, "required");
		return;
	}
	if (strcmp(name, "Item") == 0) {
		static const char *const st_attrs[] = {"id", "order", NULL, NULL};
		check_required_attrs(v, c, st_attrs);
		check_u64_attr(v, c, "order", 0xffff);
		check_u64_attr(v, c, "startDelay", 0xffff);
		check_u64_attr(v, c, "stopDelay", 0xffff);
		check_bool_attr(v, c, "waitingForGuest");
		return;
	}
	if (strcmp(name, "System") == 0) {
		check_cim(v, c, OVF_NS_VSSD, v2 ? vssd_v2 : vssd_v1);
		return;
	}
	if (v2 && strcmp(name, "EthernetPortItem") == 0) {
		check_cim(v, c, OVF_NS_EPASD, epasd_v2);
		return;
	}
	if (v2 && strcmp(name, "StorageItem") == 0) {
		check_cim(v, c, OVF_NS_SASD, sasd_v2);
		return;
	}
	const model *m = find_model(inner_models, N(inner_models),
	                            strcmp(name, "File") == 0 &&
	                                            strcmp(pname, "EnvironmentFilesSection") == 0
	                                    ? "EnvFile"
	                                    : name,
	                            v2);
	if (m != NULL)
		check_element(v, c, m, 0);
	if (strcmp(name, "File") == 0) {
		check_u64_attr(v, c, "size", UINT64_MAX);
		check_u64_attr(v, c, "chunkSize", INT64_MAX);
	} else if (strcmp(name, "Disk") == 0) {
		check_u64_attr(v, c, "populatedSize", INT64_MAX);
	} else if (strcmp(name, "SharedDisk") == 0) {
		check_u64_attr(v, c, "populatedSize", INT64_MAX);
		check_bool_attr(v, c, "readOnly");
	} else if (strcmp(name, "InstanceCount") == 0) {
		check_u64_attr(v, c, "minimum", 0xffffffffu);
		check_u64_attr(v, c, "default", 0xffffffffu);
		check_u64_attr(v, c, "maximum", 0xffffffffu);
	} else if (strcmp(name, "Property") == 0) {
		check_bool_attr(v, c, "userConfigurable");
		check_bool_attr(v, c, "password");
	} else if (strcmp(name, "Configuration") == 0) {
		check_bool_attr(v, c, "default");
	}
}

/* Match the element children of n against m's particles (after Info when has_info). */
static void check_element(ovf_vctx *v, const xmlNode *n, const model *m, int has_info)
{
	int v2 = v->ovf->version == VSTD_OVF_V2;
	check_required_attrs(v, n, m->required_attrs);
	const xmlNode *c = n->children;
	while (c != NULL && c->type != XML_ELEMENT_NODE)
		c = c->next;
	if (has_info) {
		if (c == NULL || !in_ovf_ns(v, c) || strcmp((const char *)c->name, "Info") != 0) {
			ovf_diag(v, sev(v), c ? c : n, RULE_SCHEMA,
			         "<%s> must begin with <Info> (Section_Type)",
			         (const char *)n->name);
		} else {
			c = c->next;
		}
	}
	size_t pi = 0;
	unsigned count = 0, foreign = 0;
	int seen_other = 0;
	for (; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		const char *name = (const char *)c->name;
		if (!in_ovf_ns(v, c) && (m->flags & (FOREIGN_BOOTC | FOREIGN_XENC))) {
			const char *ns = ns_of(c);
			int ok = (m->flags & FOREIGN_BOOTC)
			                 ? foreign == 0 && strcmp(ns, NS_BOOTC) == 0 &&
			                           strcmp(name, "CIM_BootConfigSetting") == 0
			                 : (strcmp(ns, NS_XENC) == 0 &&
			                    strcmp(name, "EncryptedKey") == 0) ||
			                           (strcmp(ns, NS_XENC11) == 0 &&
			                            strcmp(name, "DerivedKey") == 0);
			if (!ok)
				ovf_diag(v, sev(v), c, RULE_SCHEMA,
				         "element {%s}%s is not expected inside <%s>", ns, name,
				         (const char *)n->name);
			else if (m->flags & FOREIGN_BOOTC)
				check_boot_config(v, c);
			foreign++;
			continue;
		}
		if (!in_ovf_ns(v, c)) {
			if (!(m->flags & ANY_OTHER))
				ovf_diag(v, sev(v), c, RULE_SCHEMA,
				         "element {%s}%s is not expected inside <%s>", ns_of(c),
				         name, (const char *)n->name);
			seen_other = 1;
			continue;
		}
		if (seen_other) {
			ovf_diag(v, sev(v), c, RULE_SCHEMA,
			         "<%s> is not expected after extension elements inside <%s>", name,
			         (const char *)n->name);
			continue;
		}
		/* Advance to a particle that accepts name. */
		for (;;) {
			const particle *p = &m->p[pi];
			if (pi >= N(m->p) || p->name == NULL) {
				ovf_diag(v, sev(v), c, RULE_SCHEMA,
				         "<%s> is not expected inside <%s>", name,
				         (const char *)n->name);
				goto next;
			}
			if ((p->flags & V2_ONLY) && !v2) {
				pi++;
				count = 0;
				continue;
			}
			if (name_matches(p->name, name) && count < p->max) {
				count++;
				break;
			}
			if (count < p->min)
				ovf_diag(v, sev(v), c, RULE_SCHEMA,
				         "<%s> found where <%s> is required inside <%s>", name,
				         p->name, (const char *)n->name);
			pi++;
			count = 0;
		}
		check_child(v, c);
	next:;
	}
	if ((m->flags & (FOREIGN_BOOTC | FOREIGN_XENC)) && foreign == 0)
		ovf_diag(v, sev(v), n, RULE_SCHEMA, "<%s> is missing the required child <%s>",
		         (const char *)n->name,
		         (m->flags & FOREIGN_BOOTC) ? "bootc:CIM_BootConfigSetting"
		                                    : "xenc:EncryptedKey or xenc11:DerivedKey");
	for (; pi < N(m->p) && m->p[pi].name != NULL; pi++, count = 0) {
		if ((m->p[pi].flags & V2_ONLY) && !v2)
			continue;
		if (count < m->p[pi].min)
			ovf_diag(v, sev(v), n, RULE_SCHEMA,
			         "<%s> is missing the required child <%s>", (const char *)n->name,
			         m->p[pi].name);
	}
}

static void check_cim(ovf_vctx *v, const xmlNode *n, const char *class_ns, const char *const *names)
{
	int have_en = 0, have_id = 0, seen_other = 0;
	const char *last = NULL;
	for (const xmlNode *c = n->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		const char *name = (const char *)c->name;
		const char *ns = ns_of(c);
		if (in_ovf_ns(v, c)) {
			ovf_diag(v, sev(v), c, RULE_SCHEMA,
			         "<%s> in the OVF namespace is not a property of <%s>", name,
			         (const char *)n->name);
			continue;
		}
		if (strcmp(ns, class_ns) != 0) {
			/* a property name in a non-standard class namespace is a
			 * producer bug, not an extension */
			int known = 0;
			for (size_t i = 0; names[i] != NULL; i++)
				known |= strcmp(names[i], name) == 0;
			if (known && strstr(ns, "CIM_") != NULL)
				ovf_diag(v, sev(v), c, RULE_SCHEMA,
				         "<%s> is in namespace %s; the CIM class namespace is %s",
				         name, ns, class_ns);
			seen_other = 1;
			continue;
		}
		if (seen_other) {
			ovf_diag(v, sev(v), c, RULE_SCHEMA,
			         "<%s> is not expected after extension elements in <%s>", name,
			         (const char *)n->name);
			continue;
		}
		size_t i;
		for (i = 0; names[i] != NULL; i++)
			if (strcmp(names[i], name) == 0)
				break;
		if (names[i] == NULL) {
			ovf_diag(v, sev(v), c, RULE_SCHEMA, "<%s> is not a property of %s", name,
			         class_ns);
			continue;
		}
		if (last != NULL && strcmp(name, last) < 0)
			ovf_diag(
			        v, sev(v), c, RULE_SCHEMA,
			        "<%s> is out of order: CIM properties follow the schema's sequence "
			        "(alphabetical), and it comes after <%s>",
			        name, last);
		else if (last != NULL && strcmp(name, last) == 0 &&
		         strcmp(name, "Connection") != 0 && strcmp(name, "HostResource") != 0 &&
		         strcmp(name, "ComponentSetting") != 0 && strncmp(name, "Allowed", 7) != 0)
			ovf_diag(v, sev(v), c, RULE_SCHEMA, "<%s> may appear only once", name);
		last = name;
		have_en |= strcmp(name, "ElementName") == 0;
		have_id |= strcmp(name, "InstanceID") == 0;
	}
	if (!have_en)
		ovf_diag(v, sev(v), n, RULE_SCHEMA,
		         "<%s> is missing the required property ElementName",
		         (const char *)n->name);
	if (!have_id)
		ovf_diag(v, sev(v), n, RULE_SCHEMA,
		         "<%s> is missing the required property InstanceID", (const char *)n->name);
}

static void check_section(ovf_vctx *v, const xmlNode *s)
{
	int v2 = v->ovf->version == VSTD_OVF_V2;
	const char *name = (const char *)s->name;
	if (!in_ovf_ns(v, s)) {
		ovf_diag(v, sev(v), s, RULE_SCHEMA,
		         "element {%s}%s is not a member of the ovf:Section substitution group "
		         "(the schema has no extension point here)",
		         ns_of(s), name);
		return;
	}
	const model *m = find_model(section_models, N(section_models), name, v2);
	if (m == NULL) {
		ovf_diag(v, sev(v), s, RULE_SCHEMA, "<%s> is not an OVF %s section", name,
		         v2 ? "2.x" : "1.x");
		return;
	}
	check_bool_attr(v, s, "required");
	if (strcmp(name, "OperatingSystemSection") == 0)
		check_u64_attr(v, s, "id", 0xffff);
	if (strcmp(name, "InstallSection") == 0)
		check_u64_attr(v, s, "initialBootStopDelay", 0xffff);
	check_element(v, s, m, 1);
}

static int is_content_name(const char *n)
{
	return strcmp(n, "VirtualSystem") == 0 || strcmp(n, "VirtualSystemCollection") == 0;
}

static void check_content(ovf_vctx *v, const xmlNode *n)
{
	static const char *const id_attr[] = {"id", NULL, NULL, NULL};
	check_required_attrs(v, n, id_attr);
	int collection = strcmp((const char *)n->name, "VirtualSystemCollection") == 0;
	int state = 0; /* 0: Info, 1: Name, 2: sections, 3: contents */
	for (const xmlNode *c = n->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		const char *name = (const char *)c->name;
		if (state == 0) {
			if (in_ovf_ns(v, c) && strcmp(name, "Info") == 0) {
				state = 1;
				continue;
			}
			ovf_diag(v, sev(v), c, RULE_SCHEMA, "<%s> must begin with <Info>",
			         (const char *)n->name);
			state = 1;
		}
		if (state == 1 && in_ovf_ns(v, c) && strcmp(name, "Name") == 0) {
			state = 2;
			continue;
		}
		if (in_ovf_ns(v, c) && is_content_name(name)) {
			if (!collection)
				ovf_diag(v, sev(v), c, RULE_SCHEMA,
				         "<%s> is not expected inside a VirtualSystem", name);
			state = 3;
			check_content(v, c);
			continue;
		}
		if (state == 3) {
			ovf_diag(v, sev(v), c, RULE_SCHEMA,
			         "<%s> is not expected after the VirtualSystems of a collection",
			         name);
			continue;
		}
		state = 2;
		check_section(v, c);
	}
	if (state == 0)
		ovf_diag(v, sev(v), n, RULE_SCHEMA, "<%s> is missing the required child <Info>",
		         (const char *)n->name);
}

void ovf_validate_schema(ovf_vctx *v)
{
	const vstd_ovf *ovf = v->ovf;
	if (ovf->version == VSTD_OVF_V0_9) {
		if (v->strict)
			ovf_diag(
			        v, VSTD_OVF_WARNING, ovf->envelope, RULE_SCHEMA,
			        "OVF 0.9 has no DMTF schema; only the semantic rules were checked");
		return;
	}
	const xmlNode *env = ovf->envelope;
	int state = 0; /* 0: References, 1: sections, 2: after content, 3: strings */
	for (const xmlNode *c = env->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		const char *name = (const char *)c->name;
		int ovfns = in_ovf_ns(v, c);
		if (state == 0) {
			if (ovfns && strcmp(name, "References") == 0) {
				check_element(v, c, &inner_models[0], 0);
				state = 1;
				continue;
			}
			ovf_diag(v, sev(v), c, RULE_SCHEMA,
			         "<%s> found where <References> is required (first child of "
			         "Envelope)",
			         name);
			state = 1;
		}
		if (ovfns && is_content_name(name)) {
			if (state >= 2)
				ovf_diag(v, sev(v), c, RULE_SCHEMA,
				         "a second <%s>: Envelope holds exactly one VirtualSystem "
				         "or "
				         "VirtualSystemCollection",
				         name);
			state = 2;
			check_content(v, c);
			continue;
		}
		if (ovfns && strcmp(name, "Strings") == 0) {
			if (state < 2)
				ovf_diag(v, sev(v), c, RULE_SCHEMA,
				         "<Strings> is not expected before the "
				         "VirtualSystem or VirtualSystemCollection");
			state = 3;
			check_element(v, c, find_model(inner_models, N(inner_models), "Strings", 1),
			              0);
			continue;
		}
		if (state >= 2) {
			ovf_diag(v, sev(v), c, RULE_SCHEMA,
			         "<%s> is not expected after the VirtualSystem or "
			         "VirtualSystemCollection",
			         name);
			continue;
		}
		check_section(v, c);
	}
	if (state < 2)
		ovf_diag(v, sev(v), env, RULE_SCHEMA,
		         "Envelope has no VirtualSystem or VirtualSystemCollection");
}
