/*
 * mgmt/model/model.h - the CIM model served by vstd: class definitions
 * (properties with CIM types, keys, qualifiers, methods with parameters),
 * instances, object paths.
 *
 * Classes carry the VSTD_ prefix and name their DMTF parent chain (e.g.
 * VSTD_ComputerSystem -> CIM_ComputerSystem -> ... -> CIM_ManagedElement),
 * so a client enumerating CIM_ResourceAllocationSettingData gets the VSTD
 * subclasses, as DSP1041 clients expect.  Values are held as text, the way
 * CIM-XML carries them.
 */
#ifndef VSTD_MGMT_MODEL_H
#define VSTD_MGMT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "mgmt/util/util.h"

enum cim_type {
	CIM_T_STRING,
	CIM_T_BOOLEAN,
	CIM_T_UINT8,
	CIM_T_UINT16,
	CIM_T_UINT32,
	CIM_T_UINT64,
	CIM_T_SINT32,
	CIM_T_SINT64,
	CIM_T_DATETIME,
	CIM_T_REF
};

/* Property / parameter flags. */
#define CIM_F_KEY 0x01
#define CIM_F_ARRAY 0x02
#define CIM_F_IN 0x04
#define CIM_F_OUT 0x08
#define CIM_F_REQUIRED 0x10
#define CIM_F_EMBEDDED 0x20 /* string holding an EmbeddedInstance (ref_class names it) */
#define CIM_F_WRITE 0x40

struct cim_prop {
	const char *name;
	int type;              /* enum cim_type */
	unsigned flags;        /* CIM_F_* */
	const char *ref_class; /* REF: the class referenced; EMBEDDED: the embedded class */
	const char *description;
	const char *value_map; /* "2,3,4" or NULL: ValueMap qualifier */
	const char *values;    /* "Enabled|Disabled|..." : Values qualifier */
};

struct cim_method {
	const char *name;
	int return_type;
	const struct cim_prop *params;
	size_t n_params;
	const char *description;
};

struct cim_class {
	const char *name;
	const char *superclass;     /* the DMTF class it derives from */
	const char *const *parents; /* DMTF chain above superclass, NULL-terminated */
	const char *description;
	const char *profile; /* the DSP that defines its use */
	int is_association;
	const struct cim_prop *props;
	size_t n_props;
	const struct cim_method *methods;
	size_t n_methods;
};

/* The table of classes, NULL-terminated (model/classes.c). */
extern const struct cim_class *const cim_classes[];
const struct cim_class *cim_class_find(const char *name);
/* 1 when cls is named name or derives from a class named name. */
int cim_class_is_a(const struct cim_class *cls, const char *name);
/* 1 when name is a VSTD class or one of their DMTF ancestors. */
int cim_class_known(const char *name);
int cim_prop_index(const struct cim_class *cls, const char *name);
const struct cim_method *cim_method_find(const struct cim_class *cls, const char *name);
const char *cim_type_name(int type);
int cim_type_parse(const char *name);

/* ------------------------------------------------------------ values, paths */

struct cim_path;

struct cim_keybinding {
	const char *name;
	const char *value;      /* text, when ref == NULL */
	const char *value_type; /* "string", "numeric", "boolean" */
	struct cim_path *ref;   /* VALUE.REFERENCE keys (associations) */
};

#define CIM_MAX_KEYS 8

struct cim_path {
	const char *classname;
	struct cim_keybinding keys[CIM_MAX_KEYS];
	int n_keys;
};

struct cim_value {
	int set; /* 0: NULL */
	int type;
	int is_array;
	const char *s;  /* scalar text */
	const char **a; /* array elements */
	size_t n;
	struct cim_path *ref;   /* REF scalar */
	struct cim_path **refs; /* REF array */
};

struct cim_instance {
	const struct cim_class *cls;
	struct cim_value *v; /* one per property of cls */
	arena *ar;
};

struct cim_instance *cim_inst_new(arena *ar, const struct cim_class *cls);
void cim_inst_str(struct cim_instance *in, const char *prop, const char *value);
void cim_inst_u64(struct cim_instance *in, const char *prop, uint64_t value);
void cim_inst_bool(struct cim_instance *in, const char *prop, int value);
void cim_inst_strs(struct cim_instance *in, const char *prop, const char *const *values, size_t n);
void cim_inst_u16s(struct cim_instance *in, const char *prop, const uint16_t *values, size_t n);
void cim_inst_ref(struct cim_instance *in, const char *prop, struct cim_path *ref);
const struct cim_value *cim_inst_get(const struct cim_instance *in, const char *prop);
/* The instance's object path from its key properties. */
struct cim_path *cim_inst_path(const struct cim_instance *in);

/* Paths: build, compare (class names and key names case-insensitively,
 * values exactly; reference keys recursively). */
struct cim_path *cim_path_new(arena *ar, const char *classname);
void cim_path_key(struct cim_path *p, const char *name, const char *value, const char *vtype);
int cim_path_equal(const struct cim_path *a, const struct cim_path *b);
const char *cim_path_get(const struct cim_path *p, const char *key);
/* "VSTD_X.A=\"1\",B=2" for messages and the CLI. */
char *cim_path_text(arena *ar, const struct cim_path *p);

/* A CIM datetime (yyyymmddhhmmss.mmmmmm+utc) for a time_t. */
char *cim_datetime(arena *ar, int64_t t);

#endif
