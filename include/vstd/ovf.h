/*
 * vstd/ovf.h - DMTF OVF descriptors (0.9, 1.x, 2.x), OVA packages,
 * manifests and signatures, the OVF environment, and translation to and
 * from libvirt and QEMU.
 *
 * A vstd_ovf is one parsed descriptor.  It keeps the XML tree it was parsed
 * from, so that writing it back (vstd_ovf_write) keeps every element,
 * attribute, namespace and vendor extension, understood or not.  Beside the
 * tree it holds a neutral model (vstd_ovf_model, vstd_vm, ...): plain const
 * structs that belong to the document and stay valid until vstd_ovf_free().
 * Every string in the model is UTF-8, NUL-terminated, or NULL when absent.
 *
 * Parsing is hardened (docs/formats/ovf.md, "Security"): the input is
 * parsed from memory, no network access, no DTD loading, no entity
 * substitution; a DOCTYPE declaring entities (billion laughs, XXE) is
 * rejected; input size, element count, nesting depth and item count are
 * bounded by vstd_ovf_parse_opts.
 *
 * Validation (vstd_ovf_validate) has two layers: the structure of DSP8023
 * (checked by C code written from the schema's text) and the semantic rules
 * of DSP0243 that a schema cannot express.  Each finding names the line,
 * the element and the rule with its DSP0243 section.
 *
 * Thread safety: a vstd_ovf, vstd_ova or report is used by one thread at a
 * time; different objects may be used from different threads.
 */
#ifndef VSTD_OVF_H
#define VSTD_OVF_H

#include "vstd/common.h"
#include "vstd/error.h"
#include "vstd/io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vstd_ovf vstd_ovf;
typedef struct vstd_ova vstd_ova;

/* ------------------------------------------------------------ the model */

enum vstd_ovf_version {
	VSTD_OVF_V0_9 = 9, /* VMware-era 0.9 namespace or the pre-1.0 DMTF draft */
	VSTD_OVF_V1 = 10,  /* http://schemas.dmtf.org/ovf/envelope/1 (1.0, 1.1) */
	VSTD_OVF_V2 = 20   /* http://schemas.dmtf.org/ovf/envelope/2 (2.0, 2.1) */
};

/** References/File (DSP0243 7.1). */
typedef struct vstd_ovf_file {
	const char *id;   /* ovf:id */
	const char *href; /* ovf:href, relative to the descriptor */
	uint64_t size;    /* ovf:size, valid when has_size */
	int has_size;
	uint64_t chunk_size;     /* ovf:chunkSize; 0: not chunked */
	const char *compression; /* ovf:compression ("gzip"), or NULL */
	unsigned line;
} vstd_ovf_file;

/** DiskSection/Disk (DSP0243 9.1). */
typedef struct vstd_ovf_disk {
	const char *disk_id;
	const char *file_ref;       /* NULL: a blank disk created at deployment */
	const char *format;         /* format URI */
	const char *parent_ref;     /* differencing disk: diskId of the parent */
	const char *capacity_text;  /* ovf:capacity as written (may be ${prop}) */
	const char *capacity_units; /* ovf:capacityAllocationUnits or NULL (bytes) */
	uint64_t capacity_bytes;    /* valid when capacity_known */
	int capacity_known;
	uint64_t populated_size; /* valid when has_populated_size */
	int has_populated_size;
	unsigned line;
	/* 2.x SharedDiskSection/SharedDisk (DSP0243 9.13): listed with the other
	 * disks (ovf:/disk/id references reach both); shared is 1 for these. */
	int shared;
	int read_only; /* ovf:readOnly of a SharedDisk (default 0) */
} vstd_ovf_disk;

/** NetworkSection/Network (DSP0243 9.2). */
typedef struct vstd_ovf_network {
	const char *name;
	const char *description;
	unsigned line;
} vstd_ovf_network;

/** DeploymentOptionSection/Configuration (DSP0243 9.8). */
typedef struct vstd_ovf_config {
	const char *id;
	const char *label;
	const char *description;
	int is_default;
	unsigned line;
} vstd_ovf_config;

enum vstd_ovf_item_kind {
	VSTD_OVF_ITEM_RASD = 0,  /* Item: CIM_ResourceAllocationSettingData */
	VSTD_OVF_ITEM_EPASD = 1, /* EthernetPortItem (2.x) */
	VSTD_OVF_ITEM_SASD = 2   /* StorageItem (2.x) */
};

/* CIM ResourceType codes (DSP0243 8.3, CIM_ResourceAllocationSettingData). */
enum vstd_ovf_resource_type {
	VSTD_RT_OTHER = 1,
	VSTD_RT_COMPUTER_SYSTEM = 2,
	VSTD_RT_PROCESSOR = 3,
	VSTD_RT_MEMORY = 4,
	VSTD_RT_IDE = 5,
	VSTD_RT_SCSI = 6,
	VSTD_RT_FC = 7,
	VSTD_RT_ISCSI = 8,
	VSTD_RT_IB = 9,
	VSTD_RT_ETHERNET = 10,
	VSTD_RT_OTHER_NET = 11,
	VSTD_RT_IO_SLOT = 12,
	VSTD_RT_IO_DEVICE = 13,
	VSTD_RT_FLOPPY = 14,
	VSTD_RT_CDROM = 15,
	VSTD_RT_DVD = 16,
	VSTD_RT_DISK = 17,
	VSTD_RT_TAPE = 18,
	VSTD_RT_STORAGE_EXTENT = 19,
	VSTD_RT_OTHER_STORAGE = 20,
	VSTD_RT_SERIAL = 21,
	VSTD_RT_PARALLEL = 22,
	VSTD_RT_USB = 23,
	VSTD_RT_GRAPHICS = 24,
	VSTD_RT_IEEE1394 = 25,
	VSTD_RT_PARTITIONABLE_UNIT = 26,
	VSTD_RT_BASE_PARTITIONABLE_UNIT = 27,
	VSTD_RT_POWER = 28,
	VSTD_RT_COOLING = 29,
	VSTD_RT_ETHERNET_SWITCH_PORT = 30,
	VSTD_RT_LOGICAL_DISK = 31,
	VSTD_RT_STORAGE_VOLUME = 32,
	VSTD_RT_ETHERNET_CONNECTION = 33 /* 34..32767 DMTF reserved, 32768..65535 vendor */
};

/** VirtualHardwareSection/Item, EthernetPortItem or StorageItem (DSP0243 8.3). */
typedef struct vstd_ovf_item {
	int kind;          /* enum vstd_ovf_item_kind */
	int resource_type; /* 0 when absent or not a number */
	const char *resource_sub_type;
	const char *other_resource_type;
	const char *instance_id;
	const char *element_name;
	const char *description;
	const char *parent; /* InstanceID of the controller */
	const char *address;
	const char *address_on_parent;
	const char *allocation_units;
	const char *virtual_quantity_text;
	uint64_t virtual_quantity; /* valid when has_virtual_quantity */
	int has_virtual_quantity;
	int automatic_allocation;          /* -1 absent, 0 false, 1 true */
	const char *const *host_resources; /* "ovf:/disk/id", "ovf:/file/id", ... */
	size_t n_host_resources;
	const char *const *connections;
	size_t n_connections;
	int required;              /* ovf:required (default 1) */
	const char *configuration; /* ovf:configuration (space-separated ids) */
	const char *bound;         /* ovf:bound ("min", "max", "normal") */
	unsigned line;
} vstd_ovf_item;

/** ProductSection/Property (DSP0243 9.5). */
typedef struct vstd_ovf_property {
	const char *key;
	const char *type; /* "string", "uint16", "boolean", ... */
	const char *qualifiers;
	const char *default_value; /* ovf:value */
	const char *label;
	const char *description;
	const char *category; /* the Category heading in force, or NULL */
	int user_configurable;
	int password;
	unsigned line;
} vstd_ovf_property;

/** ProductSection (DSP0243 9.5). */
typedef struct vstd_ovf_product {
	const char *class_name; /* ovf:class */
	const char *instance;   /* ovf:instance */
	const char *product, *vendor, *version, *full_version;
	const char *product_url, *vendor_url;
	const vstd_ovf_property *properties;
	size_t n_properties;
	unsigned line;
} vstd_ovf_product;

/** StartupSection/Item (DSP0243 9.7). */
typedef struct vstd_ovf_startup {
	const char *id;
	int order;
	int start_delay, stop_delay;
	const char *start_action, *stop_action;
	int wait_for_guest;
	unsigned line;
} vstd_ovf_startup;

/**
 * One VirtualHardwareSection (DSP0243 8.1).  A VirtualSystem may carry
 * several, e.g. one per virtualization platform ("vmx-07" and
 * "virtualbox-2.2") or per transport; vstd_ovf_select_hardware() picks one.
 */
typedef struct vstd_ovf_hardware {
	const char *id;          /* ovf:id (2.x) or NULL */
	const char *transport;   /* ovf:transport or NULL */
	const char *system_type; /* vssd:VirtualSystemType (may list several, space-separated) */
	const char *system_name; /* vssd:VirtualSystemIdentifier or NULL */
	const vstd_ovf_item *items;
	size_t n_items;
	unsigned line;
} vstd_ovf_hardware;

/** EnvironmentFilesSection/File (DSP0243 9.11, 2.x): a file given to the guest with the
 * environment. */
typedef struct vstd_ovf_env_file {
	const char *file_ref; /* ovf:fileRef: a References/File id */
	const char *path;     /* ovf:path: where the transport puts it */
	unsigned line;
} vstd_ovf_env_file;

/** A CIM_BootSourceSetting inside a BootDeviceSection (DSP0243 9.12, 2.x). */
typedef struct vstd_ovf_boot_source {
	const char *structured; /* StructuredBootString, e.g. "CIM:Hard-Disk:1" */
	const char *boot_string;
	const char *bios_boot_string;
	const char *element_name;
	const char *instance_id;
	/* StructuredBootString's device class mapped: 'd' disk, 'c' CD/DVD,
	 * 'n' network, 'f' floppy, 'u' USB, 0 unknown; index from 1, 0 unknown */
	char device;
	unsigned index;
	unsigned line;
} vstd_ovf_boot_source;

/** BootDeviceSection (DSP0243 9.12, 2.x): a boot order (CIM_BootConfigSetting). */
typedef struct vstd_ovf_boot_config {
	const char *element_name;
	const char *instance_id;
	const char *configuration;           /* ovf:configuration of the section, or NULL */
	const vstd_ovf_boot_source *sources; /* in boot order */
	size_t n_sources;
	unsigned line;
} vstd_ovf_boot_config;

/** ScaleOutSection/InstanceCount (DSP0243 9.14, 2.x). */
typedef struct vstd_ovf_instance_count {
	unsigned minimum; /* default 1 */
	unsigned deflt;   /* ovf:default (required) */
	unsigned maximum; /* valid when has_maximum */
	int has_maximum;
	const char *configuration;
	unsigned line;
} vstd_ovf_instance_count;

/** ScaleOutSection (DSP0243 9.14, 2.x): replicate a collection's prototype. */
typedef struct vstd_ovf_scale_out {
	const char *id; /* ovf:id: the prototype's id */
	const char *description;
	const vstd_ovf_instance_count *counts;
	size_t n_counts;
	unsigned line;
} vstd_ovf_scale_out;

/** PlacementGroupSection (DSP0243 9.15, 2.x). */
typedef struct vstd_ovf_placement_group {
	const char *id;
	const char *policy; /* "affinity", "availability", or another value */
	const char *description;
	unsigned line;
} vstd_ovf_placement_group;

/** One xenc:EncryptedKey or xenc11:DerivedKey of an EncryptionSection (DSP0243 9.16, 2.x). */
typedef struct vstd_ovf_key {
	const char *kind;             /* "EncryptedKey" or "DerivedKey" */
	const char *id;               /* Id attribute, or NULL */
	const char *algorithm;        /* EncryptionMethod/KeyDerivationMethod Algorithm URI */
	const char *const *data_refs; /* ReferenceList/DataReference/@URI: what it encrypts */
	size_t n_data_refs;
	unsigned line;
} vstd_ovf_key;

/**
 * A VirtualSystem or a VirtualSystemCollection (DSP0243 8).  The sections
 * it carries are summarised here; sections vstd does not model are named in
 * other_sections and kept verbatim in the document.
 */
typedef struct vstd_vm {
	const char *id;
	const char *info;
	const char *name;
	int is_collection;
	const struct vstd_vm *parent;          /* NULL at the top */
	const struct vstd_vm *const *children; /* collections only */
	size_t n_children;
	/* VirtualHardwareSection (the first one; n_hardware_sections counts all) */
	size_t n_hardware_sections;
	const char *system_type; /* vssd:VirtualSystemType, e.g. "vmx-11" */
	const char *transport;   /* ovf:transport ("iso", "com.vmware.guestInfo") */
	const vstd_ovf_item *items;
	size_t n_items;
	/* OperatingSystemSection */
	int has_os;
	int os_id; /* CIM OperatingSystem type code */
	const char *os_version;
	const char *os_description;
	const vstd_ovf_product *products;
	size_t n_products;
	const char *const *eulas; /* License texts */
	size_t n_eulas;
	const char *annotation;
	int has_install;   /* InstallSection present */
	int install_delay; /* ovf:initialBootStopDelay, seconds */
	const vstd_ovf_startup *startup;
	size_t n_startup;
	const char *const *other_sections; /* "{ns}Name" of unmodelled sections */
	size_t n_other_sections;
	unsigned line;
	/* Every VirtualHardwareSection in document order (system_type,
	 * transport and items above are those of hardware[0]). */
	const vstd_ovf_hardware *hardware;
	/* 2.x sections */
	const vstd_ovf_env_file *env_files; /* EnvironmentFilesSection */
	size_t n_env_files;
	const char *env_files_transport;
	const vstd_ovf_boot_config *boot; /* BootDeviceSections */
	size_t n_boot;
	const vstd_ovf_scale_out *scale_out; /* ScaleOutSections (collections) */
	size_t n_scale_out;
	const char *placement_group;                      /* PlacementSection ovf:group, or NULL */
	const vstd_ovf_placement_group *placement_groups; /* PlacementGroupSections here */
	size_t n_placement_groups;
} vstd_vm;

/** The whole descriptor. */
typedef struct vstd_ovf_model {
	int version;              /* enum vstd_ovf_version */
	const char *ns;           /* the envelope namespace URI as written */
	const char *version_attr; /* ovf:version on the Envelope, or NULL */
	const vstd_ovf_file *files;
	size_t n_files;
	const vstd_ovf_disk *disks;
	size_t n_disks;
	const vstd_ovf_network *networks;
	size_t n_networks;
	const vstd_ovf_config *configs;
	size_t n_configs;
	const vstd_vm *root;               /* the VirtualSystem or top collection; NULL if none */
	size_t n_vms;                      /* VirtualSystems and collections, all levels */
	const char *const *other_sections; /* envelope-level unmodelled sections */
	size_t n_other_sections;
	/* 2.x envelope-level sections */
	size_t n_shared_disks; /* disks[] entries with shared = 1 */
	const vstd_ovf_placement_group *placement_groups;
	size_t n_placement_groups;
	const vstd_ovf_key *keys; /* EncryptionSection */
	size_t n_keys;
	int has_encryption;
} vstd_ovf_model;

/* ------------------------------------------------------------ parsing */

enum vstd_ovf_parse_flag {
	/* Refuse an encoding declaration that does not match the bytes (by
	 * default a "utf-16" declaration over ASCII bytes, as XenCenter writes,
	 * is read as UTF-8 with a warning). */
	VSTD_OVF_PARSE_STRICT_ENCODING = 0x01
};

#define VSTD_OVF_PARSE_OPTS_VERSION 1

typedef struct vstd_ovf_parse_opts {
	unsigned version;              /* VSTD_OVF_PARSE_OPTS_VERSION */
	unsigned flags;                /* enum vstd_ovf_parse_flag */
	size_t max_input;              /* bytes; 0: 32 MiB */
	unsigned long max_elements;    /* 0: 1,000,000 */
	unsigned max_depth;            /* element nesting; 0: 64 */
	unsigned long max_items;       /* hardware items in the whole file; 0: 100,000 */
	unsigned max_collection_depth; /* nested VirtualSystemCollections; 0: 16 */
} vstd_ovf_parse_opts;

#define VSTD_OVF_PARSE_OPTS_INIT                                                                   \
	{                                                                                          \
		VSTD_OVF_PARSE_OPTS_VERSION, 0, 0, 0, 0, 0, 0                                      \
	}

/**
 * vstd_ovf_parse - parse a descriptor held in memory (not retained).
 *
 * `name` names the input in messages (may be NULL).  opts may be NULL.
 * Errors: VSTD_ECORRUPT (not well-formed XML, not an OVF Envelope; the
 * message has the line), VSTD_EPERM (a DOCTYPE declaring entities or an
 * external subset: refused), VSTD_ENOTSUP (unknown OVF namespace such as
 * envelope/3), VSTD_ELIMIT (a limit of opts), VSTD_ENOMEM.
 */
VSTD_API int vstd_ovf_parse(vstd_ovf **out, const void *data, size_t len, const char *name,
                            const vstd_ovf_parse_opts *opts);

/** vstd_ovf_open - read a file (at most max_input bytes) and parse it. */
VSTD_API int vstd_ovf_open(vstd_ovf **out, const char *path, const vstd_ovf_parse_opts *opts);

/** vstd_ovf_free - free the document and its model.  NULL: no-op. */
VSTD_API void vstd_ovf_free(vstd_ovf *ovf);

/** vstd_ovf_model_get - the model; owned by ovf, never NULL for a parsed document. */
VSTD_API const vstd_ovf_model *vstd_ovf_model_get(const vstd_ovf *ovf);

/** vstd_ovf_name - the name given at parse time ("" if none). */
VSTD_API const char *vstd_ovf_name(const vstd_ovf *ovf);

/**
 * vstd_ovf_find_vm - the VirtualSystem with ovf:id == id (NULL: the first
 * VirtualSystem found depth first), or NULL.
 */
VSTD_API const vstd_vm *vstd_ovf_find_vm(const vstd_ovf *ovf, const char *id);

/** Translation targets for vstd_ovf_select_hardware. */
enum vstd_ovf_target {
	VSTD_OVF_TARGET_LIBVIRT = 1,
	VSTD_OVF_TARGET_QEMU = 2,
	VSTD_OVF_TARGET_VMM = 3 /* vstd's own monitor (virtio devices only) */
};

/**
 * vstd_ovf_hardware_fit - how well one VirtualHardwareSection suits a
 * target: 2 native (its VirtualSystemType names that platform: "kvm",
 * "qemu", "libvirt", "vstd-N"; for vmm only "vstd-N", "kvm"), 1 foreign but
 * translated (x86 platforms: "vmx-N", "virtualbox-N", "xen-N", "hyperv",
 * and a section without a type), 0 unsuitable (any other type, e.g.
 * "sun4v").  With several types listed the best counts.  Thread-safe.
 */
VSTD_API int vstd_ovf_hardware_fit(const vstd_ovf_hardware *hw, int target);

/**
 * vstd_ovf_select_hardware - the VirtualHardwareSection of vm to use for
 * target: the one with ovf:id == hardware_id if given, else the best fit
 * (first in document order among equals).  VSTD_ENOTSUP naming the
 * VirtualSystem, the target and every type offered when none fits;
 * VSTD_ENOENT when hardware_id is not there or vm has no hardware.
 */
VSTD_API int vstd_ovf_select_hardware(const vstd_ovf *ovf, const vstd_vm *vm, int target,
                                      const char *hardware_id, const vstd_ovf_hardware **out);

/** vstd_ovf_target_name - "libvirt", "qemu", "vmm"; vstd_ovf_target_parse the reverse (-1). */
VSTD_API const char *vstd_ovf_target_name(int target);
VSTD_API int vstd_ovf_target_parse(const char *name);

/** vstd_ovf_find_disk / _file - look up by diskId / file id; NULL if absent. */
VSTD_API const vstd_ovf_disk *vstd_ovf_find_disk(const vstd_ovf *ovf, const char *disk_id);
VSTD_API const vstd_ovf_file *vstd_ovf_find_file(const vstd_ovf *ovf, const char *file_id);

/**
 * vstd_ovf_item_active - 1 when the item applies under deployment option
 * `config` (NULL: the default option, or none declared).
 */
VSTD_API int vstd_ovf_item_active(const vstd_ovf *ovf, const vstd_ovf_item *item,
                                  const char *config);

/**
 * vstd_ovf_parse_units - bytes per unit of a programmatic unit such as
 * "byte", "byte * 2^20", "MegaBytes", "KB", "GB" (DSP0004 Annex C as
 * DSP0243 9.1 uses it).  VSTD_EINVAL for anything else, VSTD_ERANGE if it
 * does not fit 64 bits.  Thread-safe.
 */
VSTD_API int vstd_ovf_parse_units(const char *units, uint64_t *bytes_per_unit);

/* ------------------------------------------------------------ writing */

/**
 * vstd_ovf_write - serialise the document (UTF-8, with XML declaration).
 * For a parsed document this is the tree as parsed: every extension is
 * written back unchanged.  *data is allocated by the library; free it with
 * vstd_ovf_buffer_free().
 */
VSTD_API int vstd_ovf_write(const vstd_ovf *ovf, char **data, size_t *len);
VSTD_API int vstd_ovf_save(const vstd_ovf *ovf, const char *path);
VSTD_API void vstd_ovf_buffer_free(void *data);

/** A disk for vstd_ovf_build. */
typedef struct vstd_ovf_build_disk {
	const char *href;       /* file name in the package */
	uint64_t file_size;     /* bytes of that file */
	uint64_t capacity;      /* virtual size in bytes */
	const char *format_uri; /* NULL: streamOptimized VMDK */
	const char *controller; /* "ide", "scsi", "sata", "virtio"; NULL: "scsi" */
	int cdrom;              /* 1: an ISO attached as CD-ROM (capacity unused) */
} vstd_ovf_build_disk;

typedef struct vstd_ovf_build_nic {
	const char *network; /* network name */
	const char *model;   /* ResourceSubType: "E1000", "VmxNet3", "virtio" */
	const char *mac;     /* NULL: none */
} vstd_ovf_build_nic;

typedef struct vstd_ovf_build_property {
	const char *key, *type, *value, *label, *description;
	int user_configurable;
} vstd_ovf_build_property;

#define VSTD_OVF_BUILD_SPEC_VERSION 1

/** What vstd_ovf_build writes: one VirtualSystem. */
typedef struct vstd_ovf_build_spec {
	unsigned version;        /* VSTD_OVF_BUILD_SPEC_VERSION */
	int ovf_version;         /* VSTD_OVF_V1 (default) or VSTD_OVF_V2 */
	const char *vm_id;       /* NULL: "vm" */
	const char *name;        /* NULL: vm_id */
	unsigned cpus;           /* 0: 1 */
	uint64_t memory_mib;     /* 0: 512 */
	const char *system_type; /* NULL: "vstd-1" */
	int os_id;               /* CIM OS type; 0: 1 ("Other") */
	const char *os_description;
	const vstd_ovf_build_disk *disks;
	size_t n_disks;
	const vstd_ovf_build_nic *nics;
	size_t n_nics;
	/* ProductSection (written when product != NULL or properties given) */
	const char *product, *vendor, *product_version;
	const vstd_ovf_build_property *properties;
	size_t n_properties;
	const char *annotation;
	const char *eula;
	const char *transport; /* ovf:transport, e.g. "iso" */
} vstd_ovf_build_spec;

/**
 * vstd_ovf_build - a new descriptor from a spec.  The result is a normal
 * document (model, validate, write).  Errors: VSTD_EINVAL naming the bad
 * field, VSTD_ENOMEM.
 */
VSTD_API int vstd_ovf_build(vstd_ovf **out, const vstd_ovf_build_spec *spec);

/* ------------------------------------------------------------ validation */

enum vstd_ovf_severity { VSTD_OVF_WARNING = 1, VSTD_OVF_ERROR = 2 };

/** One finding. */
typedef struct vstd_ovf_diag {
	int severity;        /* enum vstd_ovf_severity */
	unsigned line;       /* 0 when not tied to a line */
	const char *element; /* e.g. "Disk", "Item" */
	const char *rule;    /* e.g. "DSP0243 9.1 capacity" */
	const char *message;
} vstd_ovf_diag;

typedef struct vstd_ovf_report vstd_ovf_report;

enum vstd_ovf_validate_flag {
	VSTD_OVF_STRICT = 0x01,         /* DSP8023 structure violations are errors
	                                   (lax: warnings, as ovftool --lax) */
	VSTD_OVF_DESCRIPTOR_ONLY = 0x02 /* do not look at the referenced files */
};

/**
 * Where the referenced files are looked up: a callback (size of a member
 * named href; VSTD_ENOENT when absent), a directory, or an OVA.  With none
 * set, file checks are skipped.
 */
typedef int (*vstd_ovf_file_size_fn)(void *opaque, const char *href, uint64_t *size);

#define VSTD_OVF_VALIDATE_OPTS_VERSION 1

typedef struct vstd_ovf_validate_opts {
	unsigned version;     /* VSTD_OVF_VALIDATE_OPTS_VERSION */
	unsigned flags;       /* enum vstd_ovf_validate_flag */
	const char *base_dir; /* directory holding the files, or NULL */
	vstd_ova *ova;        /* package holding the files, or NULL */
	vstd_ovf_file_size_fn file_size;
	void *file_size_opaque;
} vstd_ovf_validate_opts;

#define VSTD_OVF_VALIDATE_OPTS_INIT                                                                \
	{                                                                                          \
		VSTD_OVF_VALIDATE_OPTS_VERSION, 0, NULL, NULL, NULL, NULL                          \
	}

/**
 * vstd_ovf_validate - check the document.  Returns 0 when the checks ran
 * (whatever they found; see vstd_ovf_report_errors) with *out set, or an
 * error code when they could not run (VSTD_ENOMEM).  Free with
 * vstd_ovf_report_free().
 */
VSTD_API int vstd_ovf_validate(const vstd_ovf *ovf, const vstd_ovf_validate_opts *opts,
                               vstd_ovf_report **out);
VSTD_API size_t vstd_ovf_report_count(const vstd_ovf_report *report);
VSTD_API size_t vstd_ovf_report_errors(const vstd_ovf_report *report);
VSTD_API size_t vstd_ovf_report_warnings(const vstd_ovf_report *report);
/** The i-th finding (in document order per layer), owned by the report. */
VSTD_API const vstd_ovf_diag *vstd_ovf_report_get(const vstd_ovf_report *report, size_t i);
VSTD_API void vstd_ovf_report_free(vstd_ovf_report *report);

/* ------------------------------------------------------------ OVA packages */

/** A member of the tar. */
typedef struct vstd_ova_member {
	const char *name;
	uint64_t size;
	uint64_t offset; /* of the data in the (decompressed) tar */
	char type;       /* ustar typeflag: '0' regular (others are refused) */
} vstd_ova_member;

#define VSTD_OVA_OPEN_OPTS_VERSION 1
typedef struct vstd_ova_open_opts {
	unsigned version;                 /* VSTD_OVA_OPEN_OPTS_VERSION */
	unsigned long max_members;        /* 0: 10,000 */
	uint64_t max_gzip_tar;            /* a gzip-wrapped OVA is streamed with bounded
	                                     memory (about 5 MiB); it may inflate to at
	                                     most this many bytes; 0: 1 TiB */
	const vstd_ovf_parse_opts *parse; /* for the descriptor; NULL: defaults */
} vstd_ova_open_opts;
#define VSTD_OVA_OPEN_OPTS_INIT                                                                    \
	{                                                                                          \
		VSTD_OVA_OPEN_OPTS_VERSION, 0, 0, NULL                                             \
	}

/**
 * vstd_ova_open - index an OVA (tar headers only; data is read on demand).
 * A gzip-wrapped tar (as ganeti writes) is accepted: it is inflated once
 * at open to index it (nothing is kept but access points every few MiB),
 * then read on demand; reads in member order stream forward.  Members whose name
 * is absolute, contains "..", or whose type is not a regular file (links,
 * devices, directories are skipped with a warning, links and devices are
 * refused) make the open fail with VSTD_EPERM naming the member.
 * Errors: VSTD_ECORRUPT (not a tar, bad checksum, member past the end),
 * VSTD_ENOENT (no .ovf member), VSTD_ELIMIT.
 */
VSTD_API int vstd_ova_open(vstd_ova **out, const char *path, const vstd_ova_open_opts *opts);
/** vstd_ova_open_io - the same over an I/O object (borrowed; must outlive the OVA). */
VSTD_API int vstd_ova_open_io(vstd_ova **out, vstd_io *io, const char *name,
                              const vstd_ova_open_opts *opts);
VSTD_API void vstd_ova_close(vstd_ova *ova);
VSTD_API size_t vstd_ova_member_count(const vstd_ova *ova);
VSTD_API const vstd_ova_member *vstd_ova_member_get(const vstd_ova *ova, size_t i);
/** vstd_ova_find - index of the member called name, or VSTD_ENOENT. */
VSTD_API int vstd_ova_find(const vstd_ova *ova, const char *name, size_t *index);
/** vstd_ova_read - read len bytes at off of member i.  VSTD_ERANGE past its end. */
VSTD_API int vstd_ova_read(vstd_ova *ova, size_t i, uint64_t off, void *buf, size_t len);
/**
 * vstd_ova_descriptor - the parsed descriptor (the first .ovf member, which
 * DSP0243 5.3 says must be first), owned by the OVA.  A descriptor that is
 * not the first member is accepted with a warning.
 */
VSTD_API int vstd_ova_descriptor(vstd_ova *ova, const vstd_ovf **out);
/** vstd_ova_descriptor_name - member name of the descriptor. */
VSTD_API const char *vstd_ova_descriptor_name(const vstd_ova *ova);

/** Receives the bytes of a file, in order.  Non-zero return: stop (VSTD_ECANCELED). */
typedef int (*vstd_ova_data_fn)(const void *data, size_t len, void *opaque);

enum vstd_ova_stream_flag {
	VSTD_OVA_STREAM_RAW = 0x01 /* do not inflate ovf:compression="gzip" */
};

/**
 * vstd_ova_stream_file - stream the contents of References/File `file_id`:
 * the chunks href.000000000, href.000000001 ... joined when chunkSize is
 * set, inflated when compression is gzip.  Memory stays bounded whatever
 * the size.  VSTD_ENOENT names the missing member.
 */
VSTD_API int vstd_ova_stream_file(vstd_ova *ova, const char *file_id, unsigned flags,
                                  vstd_ova_data_fn fn, void *opaque);

/**
 * vstd_ova_extract - write every member into dir (which must exist).  A
 * member is only ever created inside dir (O_NOFOLLOW, O_EXCL; names were
 * checked at open); an existing file is not overwritten (VSTD_EEXIST).
 */
VSTD_API int vstd_ova_extract(vstd_ova *ova, const char *dir);

/** A file to put into a package. */
typedef struct vstd_ova_input {
	const char *name; /* member name (plain name, no '/') */
	const char *path; /* file to copy, or NULL with data */
	const void *data; /* in-memory contents when path is NULL */
	size_t len;
} vstd_ova_input;

#define VSTD_OVA_CREATE_OPTS_VERSION 1
typedef struct vstd_ova_create_opts {
	unsigned version;      /* VSTD_OVA_CREATE_OPTS_VERSION */
	const char *digest;    /* manifest digest: "sha1", "sha256" (default), "sha512"; "none": no
	                          manifest */
	const char *sign_key;  /* PEM private key: also write a .cert; NULL: unsigned */
	const char *sign_cert; /* PEM certificate (chain) matching the key */
} vstd_ova_create_opts;
#define VSTD_OVA_CREATE_OPTS_INIT                                                                  \
	{                                                                                          \
		VSTD_OVA_CREATE_OPTS_VERSION, NULL, NULL, NULL                                     \
	}

/**
 * vstd_ova_create - write an OVA at path: the descriptor (inputs[0], must
 * end in .ovf) first, then the manifest and certificate, then the other
 * inputs in the given order (give them in References order).  ustar
 * format; names longer than 100 bytes use the ustar prefix field.  On
 * failure the partial file is removed.
 */
VSTD_API int vstd_ova_create(const char *path, const vstd_ova_input *inputs, size_t n_inputs,
                             const vstd_ova_create_opts *opts);

/* ------------------------------------------------------------ manifest and signature */

#define VSTD_OVF_VERIFY_OPTS_VERSION 1
typedef struct vstd_ovf_verify_opts {
	unsigned version;    /* VSTD_OVF_VERIFY_OPTS_VERSION */
	const char *ca_file; /* PEM CA bundle; NULL with ca_dir NULL: system default */
	const char *ca_dir;
	int require_signature; /* 1: a missing .cert is an error */
	int ignore_time;       /* 1: accept expired certificates */
} vstd_ovf_verify_opts;
#define VSTD_OVF_VERIFY_OPTS_INIT                                                                  \
	{                                                                                          \
		VSTD_OVF_VERIFY_OPTS_VERSION, NULL, NULL, 0, 0                                     \
	}

/** What vstd_ova_verify / vstd_ovf_dir_verify found. */
typedef struct vstd_ovf_verify_result {
	int has_manifest;
	int has_certificate;
	size_t files_checked; /* manifest entries whose digest matched */
	int signature_valid;  /* the .cert signature matches the manifest */
	int chain_trusted;    /* the certificate chains to the CA store */
	char *signer;         /* subject of the signing certificate, or NULL */
	char *failed_file;    /* the first member that failed, or NULL */
	size_t n_unlisted;    /* package files the manifest does not list
	                         (DSP0243 5.1 wants all; VirtualBox blanks the
	                         descriptor's line): reported, not failed */
	char *unlisted_file;  /* the first of them, or NULL */
} vstd_ovf_verify_result;

/**
 * vstd_ova_verify - check the manifest's digest of every listed member (and
 * that the manifest covers the descriptor and each referenced file) and the
 * certificate's signature and chain.  Returns 0 when everything present
 * verifies; VSTD_EVERIFY naming the file (and failed_file set) for a digest
 * mismatch, a bad signature or an untrusted chain.  Free the result with
 * vstd_ovf_verify_result_clear().
 */
VSTD_API int vstd_ova_verify(vstd_ova *ova, const vstd_ovf_verify_opts *opts,
                             vstd_ovf_verify_result *result);
/** vstd_ovf_dir_verify - the same for an unpacked package: descriptor path; .mf/.cert beside it. */
VSTD_API int vstd_ovf_dir_verify(const char *ovf_path, const vstd_ovf_verify_opts *opts,
                                 vstd_ovf_verify_result *result);
VSTD_API void vstd_ovf_verify_result_clear(vstd_ovf_verify_result *result);

/**
 * vstd_ovf_dir_sign - for an unpacked package (descriptor path): write the
 * manifest (digest "sha1"/"sha256"/"sha512" of the descriptor and every
 * referenced file) and, with key and cert, the .cert beside it.
 */
VSTD_API int vstd_ovf_dir_sign(const char *ovf_path, const char *digest, const char *key_pem,
                               const char *cert_pem);

/* ------------------------------------------------------------ OVF environment */

/**
 * vstd_ovf_env_build - the ovf-env.xml (DSP0243 11, DSP8027) for VirtualSystem
 * vm_id (NULL: the first): every ProductSection property with its default,
 * overridden by values[i] for keys[i].  A key that is not a property, or a
 * value for a non-user-configurable property, fails with VSTD_EINVAL
 * naming it.  Keys of a ProductSection with ovf:class / ovf:instance are
 * written class.key.instance as DSP0243 9.5 says.  Free *xml with
 * vstd_ovf_buffer_free().
 */
VSTD_API int vstd_ovf_env_build(const vstd_ovf *ovf, const char *vm_id, const char *const *keys,
                                const char *const *values, size_t n, char **xml, size_t *len);

/** A file placed into an ISO image. */
typedef struct vstd_iso_file {
	const char *name; /* ISO 9660 level-1 compatible after upper-casing, e.g. "ovf-env.xml" */
	const void *data;
	size_t len;
} vstd_iso_file;

/**
 * vstd_iso9660_write - write an ISO 9660 image (one directory, primary
 * volume descriptor only) holding the files.  volume_id: up to 32 of
 * A-Z 0-9 _ (NULL: "OVF_ENV").  This is the ISO transport of DSP0243 11.
 */
VSTD_API int vstd_iso9660_write(const char *path, const char *volume_id, const vstd_iso_file *files,
                                size_t n_files);

/* ------------------------------------------------------------ translation */

#define VSTD_OVF_TRANSLATE_OPTS_VERSION 2
typedef struct vstd_ovf_translate_opts {
	unsigned version;        /* VSTD_OVF_TRANSLATE_OPTS_VERSION */
	const char *vm_id;       /* NULL: the first VirtualSystem */
	const char *config;      /* deployment option; NULL: the default */
	const char *disk_dir;    /* where the disks live (paths are disk_dir/href) */
	const char *disk_format; /* format of those files for the emulator; NULL:
	                            from the Disk's format URI */
	const char *emulator;    /* libvirt <emulator>; NULL: omitted */
	const char *env_iso;     /* an ISO with ovf-env.xml attached as CD-ROM, or NULL */
	/* version 2: */
	const char *hardware_id; /* VirtualHardwareSection ovf:id to use; NULL: the best fit
	                            for the target (vstd_ovf_select_hardware) */
	int target;              /* enum vstd_ovf_target; 0: the one of the function called */
} vstd_ovf_translate_opts;
#define VSTD_OVF_TRANSLATE_OPTS_INIT                                                               \
	{                                                                                          \
		VSTD_OVF_TRANSLATE_OPTS_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0       \
	}

/** vstd_ovf_to_libvirt - a libvirt <domain type="kvm"> document.  Free with vstd_ovf_buffer_free().
 */
VSTD_API int vstd_ovf_to_libvirt(const vstd_ovf *ovf, const vstd_ovf_translate_opts *opts,
                                 char **xml, size_t *len);
/**
 * vstd_ovf_to_qemu_argv - a qemu-system-x86_64 argument vector (argv[0] is
 * the program).  Free with vstd_ovf_argv_free().
 */
VSTD_API int vstd_ovf_to_qemu_argv(const vstd_ovf *ovf, const vstd_ovf_translate_opts *opts,
                                   char ***argv, size_t *argc);
VSTD_API void vstd_ovf_argv_free(char **argv);
/**
 * vstd_ovf_from_libvirt - a descriptor from a libvirt domain XML (hardened
 * parse as above).  Disks become References/Disk entries named by the
 * basename of their source file; sizes are taken from the files when they
 * can be opened with vstd_disk, else left out.
 */
VSTD_API int vstd_ovf_from_libvirt(vstd_ovf **out, const void *xml, size_t len, const char *name);

#ifdef __cplusplus
}
#endif

#endif /* VSTD_OVF_H */
