/*
 * tools/ovf/info2.h - `vstd ovf info` output for every VirtualHardwareSection
 * and for the OVF 2.x sections (info2.c).
 */
#ifndef VSTD_TOOLS_OVF_INFO2_H
#define VSTD_TOOLS_OVF_INFO2_H

#include <json-c/json.h>

#include "vstd/ovf.h"

json_object *info2_hardware_json(const vstd_ovf *ovf, const vstd_vm *vm, int target,
                                 json_object *(*items_json)(const vstd_ovf_hardware *));
/* The section chosen for target (0: none asked); into o (JSON) or printed.  1 when refused. */
int info2_select(const vstd_ovf *ovf, const vstd_vm *vm, int target, json_object *o);
void info2_vm_json(const vstd_vm *vm, json_object *o);
json_object *info2_groups_json(const vstd_ovf_placement_group *g, size_t n);
void info2_model_json(const vstd_ovf_model *m, json_object *o);
void info2_model_print(const vstd_ovf_model *m);
void info2_vm_print(const vstd_vm *vm, int depth);
void info2_hardware_print(const vstd_vm *vm, size_t i, int depth);

#endif
