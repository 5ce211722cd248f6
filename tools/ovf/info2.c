/*
 * tools/ovf/info2.c - the parts of `vstd ovf info` for every
 * VirtualHardwareSection (with its fit per target) and for the OVF 2.x
 * sections: shared disks, placement, encryption, environment files, boot
 * order, scale-out.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "ovf/info2.h"

static json_object *js(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static const char *fit_name(int f)
{
	return f == 2 ? "native" : f == 1 ? "translated" : "unsuitable";
}

static const char boot_names[][8] = {"disk", "cdrom", "network", "floppy", "usb", "pcmcia"};

static const char *boot_dev_name(char d)
{
	switch (d) {
	case 'd': return boot_names[0];
	case 'c': return boot_names[1];
	case 'n': return boot_names[2];
	case 'f': return boot_names[3];
	case 'u': return boot_names[4];
	case 'p': return boot_names[5];
	default: return "unknown";
	}
}

json_object *info2_hardware_json(const vstd_ovf *ovf, const vstd_vm *vm, int target,
                                 json_object *(*items_json)(const vstd_ovf_hardware *))
{
	json_object *arr = json_object_new_array();
	for (size_t i = 0; vm->hardware != NULL && i < vm->n_hardware_sections; i++) {
		const vstd_ovf_hardware *hw = &vm->hardware[i];
		json_object *j = json_object_new_object();
		json_object_object_add(j, "id", js(hw->id));
		json_object_object_add(j, "system_type", js(hw->system_type));
		json_object_object_add(j, "system_identifier", js(hw->system_name));
		json_object_object_add(j, "transport", js(hw->transport));
		json_object_object_add(j, "line", json_object_new_int((int)hw->line));
		json_object *fit = json_object_new_object();
		for (int t = VSTD_OVF_TARGET_LIBVIRT; t <= VSTD_OVF_TARGET_VMM; t++)
			json_object_object_add(
			        fit, vstd_ovf_target_name(t),
			        json_object_new_string(fit_name(vstd_ovf_hardware_fit(hw, t))));
		json_object_object_add(j, "fit", fit);
		json_object_object_add(j, "items", items_json(hw));
		json_object_array_add(arr, j);
	}
	(void)ovf;
	(void)target;
	return arr;
}

int info2_select(const vstd_ovf *ovf, const vstd_vm *vm, int target, json_object *o)
{
	const vstd_ovf_hardware *hw = NULL;
	if (vm->is_collection || target <= 0)
		return 0;
	int rc = vstd_ovf_select_hardware(ovf, vm, target, NULL, &hw);
	size_t idx = rc == 0 ? (size_t)(hw - vm->hardware) : 0;
	if (o != NULL) {
		json_object *s = json_object_new_object();
		json_object_object_add(s, "target", js(vstd_ovf_target_name(target)));
		if (rc == 0)
			json_object_object_add(s, "hardware", json_object_new_int((int)idx));
		else
			json_object_object_add(s, "refused", js(vstd_error_last()->message));
		json_object_object_add(o, "selected", s);
	} else if (rc == 0) {
		printf("  selected for %s: hardware #%zu (%s)\n", vstd_ovf_target_name(target), idx,
		       hw->system_type ? hw->system_type : "no type");
	} else {
		printf("  selected for %s: none: %s\n", vstd_ovf_target_name(target),
		       vstd_error_last()->message);
	}
	return rc < 0 ? 1 : 0;
}

void info2_vm_json(const vstd_vm *vm, json_object *o)
{
	json_object *ef = json_object_new_array();
	for (size_t i = 0; i < vm->n_env_files; i++) {
		json_object *j = json_object_new_object();
		json_object_object_add(j, "file_ref", js(vm->env_files[i].file_ref));
		json_object_object_add(j, "path", js(vm->env_files[i].path));
		json_object_array_add(ef, j);
	}
	json_object_object_add(o, "environment_files", ef);
	json_object_object_add(o, "environment_files_transport", js(vm->env_files_transport));
	json_object *boot = json_object_new_array();
	for (size_t i = 0; i < vm->n_boot; i++) {
		const vstd_ovf_boot_config *b = &vm->boot[i];
		json_object *j = json_object_new_object();
		json_object_object_add(j, "element_name", js(b->element_name));
		json_object_object_add(j, "instance_id", js(b->instance_id));
		json_object_object_add(j, "configuration", js(b->configuration));
		json_object *src = json_object_new_array();
		for (size_t k = 0; k < b->n_sources; k++) {
			json_object *s = json_object_new_object();
			json_object_object_add(s, "structured", js(b->sources[k].structured));
			json_object_object_add(s, "device",
			                       js(boot_dev_name(b->sources[k].device)));
			json_object_object_add(s, "index",
			                       json_object_new_int((int)b->sources[k].index));
			json_object_object_add(s, "element_name", js(b->sources[k].element_name));
			json_object_array_add(src, s);
		}
		json_object_object_add(j, "sources", src);
		json_object_array_add(boot, j);
	}
	json_object_object_add(o, "boot", boot);
	json_object *so = json_object_new_array();
	for (size_t i = 0; i < vm->n_scale_out; i++) {
		const vstd_ovf_scale_out *s = &vm->scale_out[i];
		json_object *j = json_object_new_object();
		json_object_object_add(j, "id", js(s->id));
		json_object_object_add(j, "description", js(s->description));
		json_object *cs = json_object_new_array();
		for (size_t k = 0; k < s->n_counts; k++) {
			json_object *c = json_object_new_object();
			json_object_object_add(c, "minimum",
			                       json_object_new_int64(s->counts[k].minimum));
			json_object_object_add(c, "default",
			                       json_object_new_int64(s->counts[k].deflt));
			if (s->counts[k].has_maximum)
				json_object_object_add(c, "maximum",
				                       json_object_new_int64(s->counts[k].maximum));
			json_object_object_add(c, "configuration", js(s->counts[k].configuration));
			json_object_array_add(cs, c);
		}
		json_object_object_add(j, "instance_counts", cs);
		json_object_array_add(so, j);
	}
	json_object_object_add(o, "scale_out", so);
	json_object_object_add(o, "placement_group", js(vm->placement_group));
	json_object_object_add(o, "placement_groups",
	                       info2_groups_json(vm->placement_groups, vm->n_placement_groups));
}

json_object *info2_groups_json(const vstd_ovf_placement_group *g, size_t n)
{
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *j = json_object_new_object();
		json_object_object_add(j, "id", js(g[i].id));
		json_object_object_add(j, "policy", js(g[i].policy));
		json_object_object_add(j, "description", js(g[i].description));
		json_object_array_add(arr, j);
	}
	return arr;
}

void info2_model_json(const vstd_ovf_model *m, json_object *o)
{
	json_object_object_add(o, "placement_groups",
	                       info2_groups_json(m->placement_groups, m->n_placement_groups));
	json_object *enc = json_object_new_object();
	json_object_object_add(enc, "present", json_object_new_boolean(m->has_encryption));
	json_object *keys = json_object_new_array();
	for (size_t i = 0; i < m->n_keys; i++) {
		const vstd_ovf_key *k = &m->keys[i];
		json_object *j = json_object_new_object();
		json_object_object_add(j, "kind", js(k->kind));
		json_object_object_add(j, "id", js(k->id));
		json_object_object_add(j, "algorithm", js(k->algorithm));
		json_object *r = json_object_new_array();
		for (size_t x = 0; x < k->n_data_refs; x++)
			json_object_array_add(r, js(k->data_refs[x]));
		json_object_object_add(j, "data_references", r);
		json_object_array_add(keys, j);
	}
	json_object_object_add(enc, "keys", keys);
	json_object_object_add(o, "encryption", enc);
}

void info2_model_print(const vstd_ovf_model *m)
{
	for (size_t i = 0; i < m->n_placement_groups; i++)
		printf("placement group %s: policy %s\n",
		       m->placement_groups[i].id ? m->placement_groups[i].id : "?",
		       m->placement_groups[i].policy ? m->placement_groups[i].policy : "?");
	if (m->has_encryption)
		printf("encryption: %zu key%s\n", m->n_keys, m->n_keys == 1 ? "" : "s");
	for (size_t i = 0; i < m->n_keys; i++) {
		const vstd_ovf_key *k = &m->keys[i];
		printf("  %s %s: %s", k->kind, k->id ? k->id : "-",
		       k->algorithm ? k->algorithm : "?");
		for (size_t x = 0; x < k->n_data_refs; x++)
			printf(" -> %s", k->data_refs[x]);
		printf("\n");
	}
}

void info2_vm_print(const vstd_vm *vm, int depth)
{
	int ind = depth * 2;
	for (size_t i = 0; i < vm->n_env_files; i++)
		printf("%*s  environment file: %s -> %s%s%s\n", ind, "",
		       vm->env_files[i].file_ref ? vm->env_files[i].file_ref : "?",
		       vm->env_files[i].path ? vm->env_files[i].path : "?",
		       vm->env_files_transport ? " transport " : "",
		       vm->env_files_transport ? vm->env_files_transport : "");
	for (size_t i = 0; i < vm->n_boot; i++) {
		const vstd_ovf_boot_config *b = &vm->boot[i];
		printf("%*s  boot order%s%s:", ind, "", b->configuration ? " for " : "",
		       b->configuration ? b->configuration : "");
		for (size_t k = 0; k < b->n_sources; k++)
			printf(" %s%s%s", boot_dev_name(b->sources[k].device),
			       b->sources[k].structured ? "=" : "",
			       b->sources[k].structured ? b->sources[k].structured : "");
		printf("\n");
	}
	for (size_t i = 0; i < vm->n_scale_out; i++) {
		const vstd_ovf_scale_out *s = &vm->scale_out[i];
		for (size_t k = 0; k < s->n_counts; k++) {
			printf("%*s  scale out %s: default %u, minimum %u", ind, "",
			       s->id ? s->id : "?", s->counts[k].deflt, s->counts[k].minimum);
			if (s->counts[k].has_maximum)
				printf(", maximum %u", s->counts[k].maximum);
			if (s->counts[k].configuration)
				printf(" [config %s]", s->counts[k].configuration);
			printf("\n");
		}
	}
	for (size_t i = 0; i < vm->n_placement_groups; i++)
		printf("%*s  placement group %s: policy %s\n", ind, "",
		       vm->placement_groups[i].id ? vm->placement_groups[i].id : "?",
		       vm->placement_groups[i].policy ? vm->placement_groups[i].policy : "?");
	if (vm->placement_group)
		printf("%*s  placement: group %s\n", ind, "", vm->placement_group);
}

void info2_hardware_print(const vstd_vm *vm, size_t i, int depth)
{
	const vstd_ovf_hardware *hw = &vm->hardware[i];
	printf("%*s  hardware #%zu%s%s: type %s%s%s, %zu items; fit:", depth * 2, "", i,
	       hw->id ? " id " : "", hw->id ? hw->id : "",
	       hw->system_type ? hw->system_type : "(none)", hw->transport ? ", transport " : "",
	       hw->transport ? hw->transport : "", hw->n_items);
	for (int t = VSTD_OVF_TARGET_LIBVIRT; t <= VSTD_OVF_TARGET_VMM; t++)
		printf(" %s %s", vstd_ovf_target_name(t), fit_name(vstd_ovf_hardware_fit(hw, t)));
	printf("\n");
}
