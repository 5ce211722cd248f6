/*
 * tools/ovf/ovf.c - `vstd ovf`: dispatch, input opening, validate, info.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "common/cli.h"
#include "ovf/info2.h"
#include "ovf/ovf.h"

static const char ovf_usage[] =
        "usage: vstd ovf <command> [<args>]\n"
        "\n"
        "Commands:\n"
        "  validate [--strict|--lax] [--descriptor-only] [--output=json] INPUT\n"
        "        check an .ovf, a directory holding one, or an .ova\n"
        "        exit 0 valid (warnings allowed), 1 invalid, 2 could not check\n"
        "  info [--output=json] [--target libvirt|qemu|vmm] INPUT  describe the appliance\n"
        "  pack [options] -o OUT.ova DISK... build an OVA from disks (see pack --help)\n"
        "  unpack INPUT.ova DIR               extract an OVA safely\n"
        "  sign --key KEY.pem --cert CERT.pem [--digest sha256] [-o OUT.ova] INPUT\n"
        "  verify [--ca-file F] [--ca-dir D] [--require-signature] [--ignore-time] INPUT\n"
        "  env [--vm ID] [--set KEY=VALUE]... [-o ovf-env.xml] [--iso OUT.iso] INPUT\n"
        "  convert --to libvirt|qemu|ovf [--target T] [--hardware ID] [--disk-dir D]\n"
        "          [--config ID] [--vm ID] INPUT\n";

int ovf_fail(int code)
{
	return cli_error(code, "%s", vstd_error_last()->message);
}

int ovf_error_is_invalid(int code)
{
	return code == VSTD_ECORRUPT || code == VSTD_EPERM || code == VSTD_ENOTSUP ||
	       code == VSTD_ELIMIT || code == VSTD_EVERIFY || code == VSTD_ERANGE;
}

static int is_ova_file(const char *path)
{
	size_t l = strlen(path);
	if (l > 4 && strcasecmp(path + l - 4, ".ova") == 0)
		return 1;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return 0;
	unsigned char b[512];
	size_t n = fread(b, 1, sizeof(b), f);
	fclose(f);
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return 1;
	return n == 512 && memcmp(b + 257, "ustar", 5) == 0;
}

static char *dir_of(const char *path)
{
	const char *s = strrchr(path, '/');
	if (s == NULL)
		return strdup(".");
	if (s == path)
		return strdup("/");
	return strndup(path, (size_t)(s - path));
}

int ovf_input_open(ovf_input *in, const char *path)
{
	memset(in, 0, sizeof(*in));
	struct stat st;
	if (stat(path, &st) != 0)
		return cli_error(OVF_EXIT_CANNOT, "%s: %s", path, strerror(errno));
	int rc;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (d == NULL)
			return cli_error(OVF_EXIT_CANNOT, "%s: %s", path, strerror(errno));
		char *best = NULL;
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			size_t l = strlen(e->d_name);
			if (l > 4 && strcasecmp(e->d_name + l - 4, ".ovf") == 0 &&
			    (best == NULL || strcmp(e->d_name, best) < 0)) {
				free(best);
				best = strdup(e->d_name);
			}
		}
		closedir(d);
		if (best == NULL)
			return cli_error(OVF_EXIT_INVALID,
			                 "%s: no .ovf descriptor in this directory", path);
		size_t n = strlen(path) + strlen(best) + 2;
		in->ovf_path = malloc(n);
		snprintf(in->ovf_path, n, "%s/%s", path, best);
		free(best);
		in->dir = strdup(path);
	} else if (is_ova_file(path)) {
		rc = vstd_ova_open(&in->ova, path, NULL);
		if (rc == 0)
			rc = vstd_ova_descriptor(in->ova, &in->doc);
		if (rc < 0) {
			int code = ovf_error_is_invalid(rc) || rc == VSTD_ENOENT ? OVF_EXIT_INVALID
			                                                         : OVF_EXIT_CANNOT;
			cli_lib_error(code, NULL);
			ovf_input_close(in);
			return code;
		}
		return 0;
	} else {
		in->ovf_path = strdup(path);
		in->dir = dir_of(path);
	}
	rc = vstd_ovf_open(&in->ovf, in->ovf_path, NULL);
	if (rc < 0) {
		int code = ovf_error_is_invalid(rc) ? OVF_EXIT_INVALID : OVF_EXIT_CANNOT;
		cli_lib_error(code, NULL);
		ovf_input_close(in);
		return code;
	}
	in->doc = in->ovf;
	return 0;
}

void ovf_input_close(ovf_input *in)
{
	vstd_ovf_free(in->ovf);
	vstd_ova_close(in->ova);
	free(in->dir);
	free(in->ovf_path);
	memset(in, 0, sizeof(*in));
}

/* ------------------------------------------------------------ validate */

int ovf_cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {{"strict", no_argument, NULL, 's'},
	                                     {"lax", no_argument, NULL, 'l'},
	                                     {"descriptor-only", no_argument, NULL, 'd'},
	                                     {"output", required_argument, NULL, 'O'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	unsigned flags = 0;
	enum cli_output out = CLI_OUTPUT_HUMAN;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': flags |= VSTD_OVF_STRICT; break;
		case 'l': flags &= ~(unsigned)VSTD_OVF_STRICT; break;
		case 'd': flags |= VSTD_OVF_DESCRIPTOR_ONLY; break;
		case 'O':
			if (cli_parse_output(optarg, &out) < 0)
				return OVF_EXIT_CANNOT;
			break;
		case 'h':
			return cli_usage(
			        "usage: vstd ovf validate [--strict|--lax] [--descriptor-only] "
			        "[--output=json] INPUT\n"
			        "exit 0 valid (warnings allowed), 1 invalid, 2 could not check\n");
		default: return OVF_EXIT_CANNOT;
		}
	}
	if (optind + 1 != argc)
		return cli_error(OVF_EXIT_CANNOT, "expected one INPUT (see --help)");
	const char *path = argv[optind];
	ovf_input in;
	int rc = ovf_input_open(&in, path);
	if (rc != 0) {
		if (out == CLI_OUTPUT_JSON) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "input", json_object_new_string(path));
			json_object_object_add(o, "valid", json_object_new_boolean(0));
			json_object_object_add(o, "checked",
			                       json_object_new_boolean(rc == OVF_EXIT_INVALID));
			json_object_object_add(o, "error",
			                       json_object_new_string(vstd_error_last()->message));
			cli_print_json(o);
		}
		return rc;
	}
	vstd_ovf_validate_opts vo = VSTD_OVF_VALIDATE_OPTS_INIT;
	vo.flags = flags;
	vo.ova = in.ova;
	vo.base_dir = in.ova ? NULL : in.dir;
	vstd_ovf_report *rep = NULL;
	rc = vstd_ovf_validate(in.doc, &vo, &rep);
	if (rc < 0) {
		ovf_input_close(&in);
		return ovf_fail(OVF_EXIT_CANNOT);
	}
	/* The manifest and certificate, when the package has them. */
	vstd_ovf_verify_result vr;
	memset(&vr, 0, sizeof(vr));
	int vrc = 0;
	char vmsg[1100] = "";
	if (!(flags & VSTD_OVF_DESCRIPTOR_ONLY)) {
		vstd_ovf_verify_opts vopts = VSTD_OVF_VERIFY_OPTS_INIT;
		vrc = in.ova ? vstd_ova_verify(in.ova, &vopts, &vr)
		             : vstd_ovf_dir_verify(in.ovf_path, &vopts, &vr);
		if (vrc < 0)
			snprintf(vmsg, sizeof(vmsg), "%s", vstd_error_last()->message);
	}
	/* An untrusted chain is a warning for validation (verify makes it an error). */
	int manifest_error = vrc < 0 && !(vr.signature_valid && !vr.chain_trusted);
	int manifest_warning = vrc < 0 && !manifest_error;
	size_t errors = vstd_ovf_report_errors(rep) + (manifest_error ? 1 : 0);
	size_t warnings = vstd_ovf_report_warnings(rep) + (manifest_warning ? 1 : 0) +
	                  (vr.n_unlisted ? 1 : 0);
	char umsg[600] = "";
	if (vr.n_unlisted)
		snprintf(umsg, sizeof(umsg),
		         "the manifest does not list %zu file%s of the package "
		         "(first: '%s')",
		         vr.n_unlisted, vr.n_unlisted == 1 ? "" : "s",
		         vr.unlisted_file ? vr.unlisted_file : "?");
	const char *name = vstd_ovf_name(in.doc);
	if (out == CLI_OUTPUT_JSON) {
		json_object *o = json_object_new_object();
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < vstd_ovf_report_count(rep); i++) {
			const vstd_ovf_diag *d = vstd_ovf_report_get(rep, i);
			json_object *f = json_object_new_object();
			json_object_object_add(f, "severity",
			                       json_object_new_string(d->severity == VSTD_OVF_ERROR
			                                                      ? "error"
			                                                      : "warning"));
			json_object_object_add(f, "line", json_object_new_int((int)d->line));
			json_object_object_add(f, "element", json_object_new_string(d->element));
			json_object_object_add(f, "rule", json_object_new_string(d->rule));
			json_object_object_add(f, "message", json_object_new_string(d->message));
			json_object_array_add(arr, f);
		}
		if (vrc < 0) {
			json_object *f = json_object_new_object();
			json_object_object_add(
			        f, "severity",
			        json_object_new_string(manifest_error ? "error" : "warning"));
			json_object_object_add(f, "line", json_object_new_int(0));
			json_object_object_add(f, "element", json_object_new_string("manifest"));
			json_object_object_add(f, "rule", json_object_new_string("DSP0243 5.1"));
			json_object_object_add(f, "message", json_object_new_string(vmsg));
			if (vr.failed_file)
				json_object_object_add(f, "file",
				                       json_object_new_string(vr.failed_file));
			json_object_array_add(arr, f);
		}
		if (vr.n_unlisted) {
			json_object *f = json_object_new_object();
			json_object_object_add(f, "severity", json_object_new_string("warning"));
			json_object_object_add(f, "line", json_object_new_int(0));
			json_object_object_add(f, "element", json_object_new_string("manifest"));
			json_object_object_add(f, "rule", json_object_new_string("DSP0243 5.1"));
			json_object_object_add(f, "message", json_object_new_string(umsg));
			json_object_array_add(arr, f);
		}
		json_object_object_add(o, "input", json_object_new_string(path));
		json_object_object_add(o, "descriptor", json_object_new_string(name));
		json_object_object_add(
		        o, "mode",
		        json_object_new_string(flags & VSTD_OVF_STRICT ? "strict" : "lax"));
		json_object_object_add(o, "valid", json_object_new_boolean(errors == 0));
		json_object_object_add(o, "checked", json_object_new_boolean(1));
		json_object_object_add(o, "errors", json_object_new_int64((int64_t)errors));
		json_object_object_add(o, "warnings", json_object_new_int64((int64_t)warnings));
		json_object_object_add(o, "manifest", json_object_new_boolean(vr.has_manifest));
		json_object_object_add(o, "signed", json_object_new_boolean(vr.has_certificate));
		json_object_object_add(o, "findings", arr);
		cli_print_json(o);
	} else {
		for (size_t i = 0; i < vstd_ovf_report_count(rep); i++) {
			const vstd_ovf_diag *d = vstd_ovf_report_get(rep, i);
			printf("%s:%u: %s: <%s>: %s [%s]\n", name, d->line,
			       d->severity == VSTD_OVF_ERROR ? "error" : "warning", d->element,
			       d->message, d->rule);
		}
		if (vrc < 0)
			printf("%s: %s: %s [DSP0243 5.1]\n", name,
			       manifest_error ? "error" : "warning", vmsg);
		if (vr.n_unlisted)
			printf("%s: warning: %s [DSP0243 5.1]\n", name, umsg);
		printf("%s: %s (%zu error%s, %zu warning%s, %s mode)\n", name,
		       errors ? "invalid" : "valid", errors, errors == 1 ? "" : "s", warnings,
		       warnings == 1 ? "" : "s", flags & VSTD_OVF_STRICT ? "strict" : "lax");
	}
	vstd_ovf_verify_result_clear(&vr);
	vstd_ovf_report_free(rep);
	ovf_input_close(&in);
	return errors ? OVF_EXIT_INVALID : OVF_EXIT_VALID;
}

/* ------------------------------------------------------------ info */

static const char *version_name(int v)
{
	return v == VSTD_OVF_V2 ? "2.x" : v == VSTD_OVF_V1 ? "1.x" : "0.9";
}

static json_object *jstr(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static int info_target, info_refused;

static json_object *items_json(const vstd_ovf_hardware *hw)
{
	json_object *items = json_object_new_array();
	for (size_t i = 0; i < hw->n_items; i++) {
		const vstd_ovf_item *it = &hw->items[i];
		json_object *j = json_object_new_object();
		json_object_object_add(
		        j, "kind",
		        json_object_new_string(it->kind == VSTD_OVF_ITEM_EPASD  ? "epasd"
		                               : it->kind == VSTD_OVF_ITEM_SASD ? "sasd"
		                                                                : "rasd"));
		json_object_object_add(j, "instance_id", jstr(it->instance_id));
		json_object_object_add(j, "resource_type", json_object_new_int(it->resource_type));
		json_object_object_add(j, "resource_sub_type", jstr(it->resource_sub_type));
		json_object_object_add(j, "element_name", jstr(it->element_name));
		if (it->has_virtual_quantity)
			json_object_object_add(
			        j, "virtual_quantity",
			        json_object_new_int64((int64_t)it->virtual_quantity));
		json_object_object_add(j, "allocation_units", jstr(it->allocation_units));
		json_object_object_add(j, "parent", jstr(it->parent));
		json_object_object_add(j, "address_on_parent", jstr(it->address_on_parent));
		json_object *hr = json_object_new_array();
		for (size_t k = 0; k < it->n_host_resources; k++)
			json_object_array_add(hr, jstr(it->host_resources[k]));
		json_object_object_add(j, "host_resources", hr);
		json_object *cn = json_object_new_array();
		for (size_t k = 0; k < it->n_connections; k++)
			json_object_array_add(cn, jstr(it->connections[k]));
		json_object_object_add(j, "connections", cn);
		json_object_object_add(j, "configuration", jstr(it->configuration));
		json_object_object_add(j, "required", json_object_new_boolean(it->required));
		json_object_array_add(items, j);
	}
	return items;
}

static json_object *vm_json(const vstd_ovf *ovf, const vstd_vm *vm)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", jstr(vm->id));
	json_object_object_add(o, "name", jstr(vm->name));
	json_object_object_add(o, "info", jstr(vm->info));
	json_object_object_add(o, "collection", json_object_new_boolean(vm->is_collection));
	json_object_object_add(o, "line", json_object_new_int((int)vm->line));
	info2_vm_json(vm, o);
	if (vm->is_collection) {
		json_object *ch = json_object_new_array();
		for (size_t i = 0; i < vm->n_children; i++)
			json_object_array_add(ch, vm_json(ovf, vm->children[i]));
		json_object_object_add(o, "systems", ch);
		return o;
	}
	json_object_object_add(o, "system_type", jstr(vm->system_type));
	json_object_object_add(o, "hardware",
	                       info2_hardware_json(ovf, vm, info_target, items_json));
	info_refused |= info2_select(ovf, vm, info_target, o);
	if (vm->has_os) {
		json_object_object_add(o, "os_id", json_object_new_int(vm->os_id));
		json_object_object_add(o, "os_description", jstr(vm->os_description));
	}
	static const vstd_ovf_hardware none;
	json_object *items = items_json(vm->hardware ? &vm->hardware[0] : &none);
	json_object_object_add(o, "items", items);
	json_object *prods = json_object_new_array();
	for (size_t p = 0; p < vm->n_products; p++) {
		const vstd_ovf_product *pr = &vm->products[p];
		json_object *j = json_object_new_object();
		json_object_object_add(j, "class", jstr(pr->class_name));
		json_object_object_add(j, "instance", jstr(pr->instance));
		json_object_object_add(j, "product", jstr(pr->product));
		json_object_object_add(j, "vendor", jstr(pr->vendor));
		json_object_object_add(j, "version", jstr(pr->version));
		json_object *props = json_object_new_array();
		for (size_t i = 0; i < pr->n_properties; i++) {
			const vstd_ovf_property *q = &pr->properties[i];
			json_object *k = json_object_new_object();
			json_object_object_add(k, "key", jstr(q->key));
			json_object_object_add(k, "type", jstr(q->type));
			json_object_object_add(k, "value", jstr(q->default_value));
			json_object_object_add(k, "user_configurable",
			                       json_object_new_boolean(q->user_configurable));
			json_object_object_add(k, "label", jstr(q->label));
			json_object_array_add(props, k);
		}
		json_object_object_add(j, "properties", props);
		json_object_array_add(prods, j);
	}
	json_object_object_add(o, "products", prods);
	json_object *others = json_object_new_array();
	for (size_t i = 0; i < vm->n_other_sections; i++)
		json_object_array_add(others, jstr(vm->other_sections[i]));
	json_object_object_add(o, "other_sections", others);
	return o;
}

static void items_print(const vstd_ovf_item *items, size_t n, int depth)
{
	for (size_t i = 0; i < n; i++) {
		const vstd_ovf_item *it = &items[i];
		printf("%*s  item %s: type %d %s", depth * 2, "",
		       it->instance_id ? it->instance_id : "?", it->resource_type,
		       it->element_name ? it->element_name : "");
		if (it->has_virtual_quantity)
			printf(" quantity %llu%s%s", (unsigned long long)it->virtual_quantity,
			       it->allocation_units ? " " : "",
			       it->allocation_units ? it->allocation_units : "");
		for (size_t k = 0; k < it->n_host_resources; k++)
			printf(" -> %s", it->host_resources[k]);
		for (size_t k = 0; k < it->n_connections; k++)
			printf(" network %s", it->connections[k]);
		if (it->configuration)
			printf(" [config %s]", it->configuration);
		printf("\n");
	}
}

static void vm_print(const vstd_ovf *ovf, const vstd_vm *vm, int depth)
{
	printf("%*s%s '%s'%s%s\n", depth * 2, "",
	       vm->is_collection ? "VirtualSystemCollection" : "VirtualSystem",
	       vm->id ? vm->id : "", vm->name ? " name: " : "", vm->name ? vm->name : "");
	info2_vm_print(vm, depth);
	if (vm->is_collection) {
		for (size_t i = 0; i < vm->n_children; i++)
			vm_print(ovf, vm->children[i], depth + 1);
		return;
	}
	if (vm->system_type)
		printf("%*s  system type: %s\n", depth * 2, "", vm->system_type);
	if (vm->has_os)
		printf("%*s  operating system: %d%s%s\n", depth * 2, "", vm->os_id,
		       vm->os_description ? " " : "", vm->os_description ? vm->os_description : "");
	for (size_t h = 0; vm->hardware != NULL && h < vm->n_hardware_sections; h++) {
		info2_hardware_print(vm, h, depth);
		items_print(vm->hardware[h].items, vm->hardware[h].n_items, depth + 1);
	}
	info_refused |= info2_select(ovf, vm, info_target, NULL);
	for (size_t p = 0; p < vm->n_products; p++) {
		const vstd_ovf_product *pr = &vm->products[p];
		printf("%*s  product: %s %s %s (%zu properties)\n", depth * 2, "",
		       pr->vendor ? pr->vendor : "", pr->product ? pr->product : "",
		       pr->version ? pr->version : "", pr->n_properties);
	}
	for (size_t i = 0; i < vm->n_other_sections; i++)
		printf("%*s  extension section: %s\n", depth * 2, "", vm->other_sections[i]);
}

int ovf_cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {{"output", required_argument, NULL, 'O'},
	                                     {"target", required_argument, NULL, 'T'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	enum cli_output out = CLI_OUTPUT_HUMAN;
	int c;
	optind = 1;
	info_target = 0;
	info_refused = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'O') {
			if (cli_parse_output(optarg, &out) < 0)
				return CLI_EXIT_USAGE;
		} else if (c == 'T') {
			info_target = vstd_ovf_target_parse(optarg);
			if (info_target < 0)
				return cli_error(CLI_EXIT_USAGE,
				                 "--target must be libvirt, qemu or vmm");
		} else if (c == 'h') {
			return cli_usage("usage: vstd ovf info [--output=json] [--target "
			                 "libvirt|qemu|vmm] INPUT\n"
			                 "--target also shows which VirtualHardwareSection that "
			                 "target would use (exit 1 when none fits)\n");
		} else {
			return CLI_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc)
		return cli_error(CLI_EXIT_USAGE, "expected one INPUT");
	ovf_input in;
	int rc = ovf_input_open(&in, argv[optind]);
	if (rc != 0)
		return CLI_EXIT_ERROR;
	const vstd_ovf_model *m = vstd_ovf_model_get(in.doc);
	if (out == CLI_OUTPUT_JSON) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "descriptor",
		                       json_object_new_string(vstd_ovf_name(in.doc)));
		json_object_object_add(o, "ovf_version",
		                       json_object_new_string(version_name(m->version)));
		json_object_object_add(o, "namespace", jstr(m->ns));
		json_object *files = json_object_new_array();
		for (size_t i = 0; i < m->n_files; i++) {
			const vstd_ovf_file *f = &m->files[i];
			json_object *j = json_object_new_object();
			json_object_object_add(j, "id", jstr(f->id));
			json_object_object_add(j, "href", jstr(f->href));
			if (f->has_size)
				json_object_object_add(j, "size",
				                       json_object_new_int64((int64_t)f->size));
			if (f->chunk_size)
				json_object_object_add(
				        j, "chunk_size",
				        json_object_new_int64((int64_t)f->chunk_size));
			json_object_object_add(j, "compression", jstr(f->compression));
			json_object_array_add(files, j);
		}
		json_object_object_add(o, "files", files);
		json_object *disks = json_object_new_array();
		for (size_t i = 0; i < m->n_disks; i++) {
			const vstd_ovf_disk *d = &m->disks[i];
			json_object *j = json_object_new_object();
			json_object_object_add(j, "disk_id", jstr(d->disk_id));
			json_object_object_add(j, "file_ref", jstr(d->file_ref));
			json_object_object_add(j, "format", jstr(d->format));
			json_object_object_add(j, "parent_ref", jstr(d->parent_ref));
			if (d->capacity_known)
				json_object_object_add(
				        j, "capacity_bytes",
				        json_object_new_int64((int64_t)d->capacity_bytes));
			json_object_object_add(j, "capacity", jstr(d->capacity_text));
			json_object_object_add(j, "capacity_units", jstr(d->capacity_units));
			json_object_object_add(j, "shared", json_object_new_boolean(d->shared));
			if (d->shared)
				json_object_object_add(j, "read_only",
				                       json_object_new_boolean(d->read_only));
			json_object_array_add(disks, j);
		}
		json_object_object_add(o, "disks", disks);
		json_object *nets = json_object_new_array();
		for (size_t i = 0; i < m->n_networks; i++)
			json_object_array_add(nets, jstr(m->networks[i].name));
		json_object_object_add(o, "networks", nets);
		json_object *cfg = json_object_new_array();
		for (size_t i = 0; i < m->n_configs; i++) {
			json_object *j = json_object_new_object();
			json_object_object_add(j, "id", jstr(m->configs[i].id));
			json_object_object_add(j, "label", jstr(m->configs[i].label));
			json_object_object_add(j, "default",
			                       json_object_new_boolean(m->configs[i].is_default));
			json_object_array_add(cfg, j);
		}
		json_object_object_add(o, "deployment_options", cfg);
		info2_model_json(m, o);
		if (m->root)
			json_object_object_add(o, "content", vm_json(in.doc, m->root));
		cli_print_json(o);
	} else {
		printf("descriptor: %s\nOVF version: %s (%s)\n", vstd_ovf_name(in.doc),
		       version_name(m->version), m->ns);
		for (size_t i = 0; i < m->n_files; i++)
			printf("file %s: %s%s%llu bytes%s%s\n",
			       m->files[i].id ? m->files[i].id : "?",
			       m->files[i].href ? m->files[i].href : "?",
			       m->files[i].has_size ? ", " : "",
			       (unsigned long long)m->files[i].size,
			       m->files[i].compression ? ", compression " : "",
			       m->files[i].compression ? m->files[i].compression : "");
		for (size_t i = 0; i < m->n_disks; i++)
			printf("%sdisk %s: capacity %llu bytes, file %s, format %s%s\n",
			       m->disks[i].shared ? "shared " : "",
			       m->disks[i].disk_id ? m->disks[i].disk_id : "?",
			       (unsigned long long)m->disks[i].capacity_bytes,
			       m->disks[i].file_ref ? m->disks[i].file_ref : "(none)",
			       m->disks[i].format ? m->disks[i].format : "?",
			       m->disks[i].read_only ? ", read-only" : "");
		info2_model_print(m);
		for (size_t i = 0; i < m->n_networks; i++)
			printf("network: %s\n", m->networks[i].name ? m->networks[i].name : "?");
		for (size_t i = 0; i < m->n_configs; i++)
			printf("deployment option: %s%s\n",
			       m->configs[i].id ? m->configs[i].id : "?",
			       m->configs[i].is_default ? " (default)" : "");
		if (m->root)
			vm_print(in.doc, m->root, 0);
	}
	ovf_input_close(&in);
	return info_refused ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}

/* ------------------------------------------------------------ dispatch */

int vstd_cmd_ovf(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} subs[] = {
	        {"validate", ovf_cmd_validate}, {"info", ovf_cmd_info},
	        {"pack", ovf_cmd_pack},         {"unpack", ovf_cmd_unpack},
	        {"sign", ovf_cmd_sign},         {"verify", ovf_cmd_verify},
	        {"env", ovf_cmd_env},           {"convert", ovf_cmd_convert},
	};
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(ovf_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(argv[1], subs[i].name) == 0) {
			static char prog[64];
			snprintf(prog, sizeof(prog), "vstd ovf %s", subs[i].name);
			cli_set_prog(prog);
			return subs[i].fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "vstd ovf: unknown command '%s'\n%s", argv[1], ovf_usage);
	return CLI_EXIT_USAGE;
}
