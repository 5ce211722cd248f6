/*
 * tools/ovf/package.c - `vstd ovf pack | unpack | sign | verify`.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/cli.h"
#include "ovf/ovf.h"

#define MAX_ITEMS 64

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (d != NULL) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char p[4096];
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			struct stat st;
			if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
				remove_tree(p);
			else
				unlink(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* A fresh directory beside `near` (the output), so big files stay on its file system. */
static char *temp_dir_near(const char *near)
{
	size_t n = strlen(near) + 16;
	char *t = malloc(n);
	snprintf(t, n, "%s.tmpXXXXXX", near);
	if (mkdtemp(t) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

static int format_registered(const char *fmt)
{
	for (size_t i = 0; i < vstd_disk_format_count(); i++)
		if (strcmp(vstd_disk_format_name(i), fmt) == 0)
			return 1;
	return 0;
}

/* ------------------------------------------------------------ pack */

static const char pack_help[] =
        "usage: vstd ovf pack -o OUT.ova [options] DISK...\n"
        "  --name NAME               virtual machine name (default: vm)\n"
        "  --cpus N, --memory MIB    hardware (default 1 CPU, 512 MiB)\n"
        "  --disk-format F           vmdk (streamOptimized, default), qcow2 or raw\n"
        "  --controller C            ide, scsi (default), sata or virtio\n"
        "  --nic NETWORK[:MODEL]     a network adapter (MODEL E1000, VmxNet3, virtio)\n"
        "  --iso FILE                attach FILE as a CD-ROM\n"
        "  --product P --vendor V --product-version X   ProductSection\n"
        "  --property KEY=VALUE      a user-configurable string property\n"
        "  --annotation TEXT, --eula TEXT, --os-id N, --ovf-version 1|2\n"
        "  --digest sha1|sha256|sha512|none   manifest (default sha256)\n"
        "  --sign-key KEY.pem --sign-cert CERT.pem    also sign\n";

int ovf_cmd_pack(int argc, char **argv)
{
	enum {
		O_NAME = 256,
		O_CPUS,
		O_MEM,
		O_FMT,
		O_CTRL,
		O_NIC,
		O_ISO,
		O_PRODUCT,
		O_VENDOR,
		O_PVER,
		O_PROP,
		O_ANN,
		O_EULA,
		O_OSID,
		O_OVFV,
		O_DIGEST,
		O_KEY,
		O_CERT
	};
	static const struct option opts[] = {{"name", required_argument, NULL, O_NAME},
	                                     {"cpus", required_argument, NULL, O_CPUS},
	                                     {"memory", required_argument, NULL, O_MEM},
	                                     {"disk-format", required_argument, NULL, O_FMT},
	                                     {"controller", required_argument, NULL, O_CTRL},
	                                     {"nic", required_argument, NULL, O_NIC},
	                                     {"iso", required_argument, NULL, O_ISO},
	                                     {"product", required_argument, NULL, O_PRODUCT},
	                                     {"vendor", required_argument, NULL, O_VENDOR},
	                                     {"product-version", required_argument, NULL, O_PVER},
	                                     {"property", required_argument, NULL, O_PROP},
	                                     {"annotation", required_argument, NULL, O_ANN},
	                                     {"eula", required_argument, NULL, O_EULA},
	                                     {"os-id", required_argument, NULL, O_OSID},
	                                     {"ovf-version", required_argument, NULL, O_OVFV},
	                                     {"digest", required_argument, NULL, O_DIGEST},
	                                     {"sign-key", required_argument, NULL, O_KEY},
	                                     {"sign-cert", required_argument, NULL, O_CERT},
	                                     {"output", required_argument, NULL, 'o'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	vstd_ovf_build_spec spec;
	memset(&spec, 0, sizeof(spec));
	spec.version = VSTD_OVF_BUILD_SPEC_VERSION;
	spec.ovf_version = VSTD_OVF_V1;
	const char *out = NULL, *fmt = "vmdk", *ctrl = NULL, *digest = NULL, *key = NULL,
	           *cert = NULL;
	vstd_ovf_build_nic nics[MAX_ITEMS];
	vstd_ovf_build_property props[MAX_ITEMS];
	const char *isos[MAX_ITEMS];
	size_t n_isos = 0;
	unsigned long v;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case O_NAME:
			spec.name = optarg;
			spec.vm_id = optarg;
			break;
		case O_CPUS:
			if (cli_parse_uint(optarg, "--cpus", 1024, &v) < 0 || v == 0)
				return CLI_EXIT_USAGE;
			spec.cpus = (unsigned)v;
			break;
		case O_MEM:
			if (cli_parse_uint(optarg, "--memory", 1ul << 24, &v) < 0 || v == 0)
				return CLI_EXIT_USAGE;
			spec.memory_mib = v;
			break;
		case O_FMT: fmt = optarg; break;
		case O_CTRL: ctrl = optarg; break;
		case O_NIC: {
			if (spec.n_nics >= MAX_ITEMS)
				return cli_error(CLI_EXIT_USAGE, "too many --nic");
			char *colon = strchr(optarg, ':');
			if (colon)
				*colon = 0;
			nics[spec.n_nics].network = optarg;
			nics[spec.n_nics].model = colon ? colon + 1 : NULL;
			nics[spec.n_nics].mac = NULL;
			spec.n_nics++;
			break;
		}
		case O_ISO:
			if (n_isos >= MAX_ITEMS)
				return cli_error(CLI_EXIT_USAGE, "too many --iso");
			isos[n_isos++] = optarg;
			break;
		case O_PRODUCT: spec.product = optarg; break;
		case O_VENDOR: spec.vendor = optarg; break;
		case O_PVER: spec.product_version = optarg; break;
		case O_PROP: {
			char *eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg || spec.n_properties >= MAX_ITEMS)
				return cli_error(CLI_EXIT_USAGE, "--property wants KEY=VALUE");
			*eq = 0;
			memset(&props[spec.n_properties], 0, sizeof(props[0]));
			props[spec.n_properties].key = optarg;
			props[spec.n_properties].value = eq + 1;
			props[spec.n_properties].type = "string";
			props[spec.n_properties].user_configurable = 1;
			spec.n_properties++;
			break;
		}
		case O_ANN: spec.annotation = optarg; break;
		case O_EULA: spec.eula = optarg; break;
		case O_OSID:
			if (cli_parse_uint(optarg, "--os-id", 65535, &v) < 0)
				return CLI_EXIT_USAGE;
			spec.os_id = (int)v;
			break;
		case O_OVFV:
			spec.ovf_version = strcmp(optarg, "2") == 0 ? VSTD_OVF_V2 : VSTD_OVF_V1;
			break;
		case O_DIGEST: digest = optarg; break;
		case O_KEY: key = optarg; break;
		case O_CERT: cert = optarg; break;
		case 'h': return cli_usage(pack_help);
		default: return CLI_EXIT_USAGE;
		}
	}
	if (out == NULL || optind >= argc)
		return cli_error(CLI_EXIT_USAGE,
		                 "need -o OUT.ova and at least one DISK (see --help)");
	if (strcmp(fmt, "vmdk") && strcmp(fmt, "qcow2") && strcmp(fmt, "raw"))
		return cli_error(CLI_EXIT_USAGE, "--disk-format must be vmdk, qcow2 or raw");
	if (!format_registered(fmt))
		return cli_error(CLI_EXIT_ERROR,
		                 "disk format '%s' is not registered in this build; "
		                 "use --disk-format raw or another registered format",
		                 fmt);
	size_t n_disks = (size_t)(argc - optind);
	if (n_disks + n_isos > MAX_ITEMS)
		return cli_error(CLI_EXIT_USAGE, "too many disks");
	const char *vm = spec.name ? spec.name : "vm";
	char *tmp = temp_dir_near(out);
	if (tmp == NULL)
		return cli_error(CLI_EXIT_ERROR, "cannot create a temporary directory near %s: %s",
		                 out, strerror(errno));
	vstd_ovf_build_disk disks[MAX_ITEMS];
	char *paths[MAX_ITEMS], *names[MAX_ITEMS];
	size_t n = 0;
	int rc = 0;
	const char *ext = strcmp(fmt, "raw") == 0 ? "img" : fmt;
	const char *uri = strcmp(fmt, "vmdk") == 0 ? "http://www.vmware.com/interfaces/"
	                                             "specifications/vmdk.html#streamOptimized"
	                  : strcmp(fmt, "qcow2") == 0
	                          ? "http://www.gnome.org/~markmc/qcow-image-format.html"
	                          : "http://en.wikipedia.org/wiki/Byte";
	for (int i = optind; rc == 0 && i < argc; i++, n++) {
		vstd_disk *src = NULL;
		if (cli_open(&src, argv[i], NULL, 0, NULL) < 0) {
			rc = CLI_EXIT_ERROR;
			break;
		}
		names[n] = malloc(strlen(vm) + 32);
		snprintf(names[n], strlen(vm) + 32, "%s-disk%zu.%s", vm, n + 1, ext);
		for (char *p = names[n]; *p; p++)
			if (*p == '/' || *p == ' ')
				*p = '_';
		paths[n] = malloc(strlen(tmp) + strlen(names[n]) + 2);
		sprintf(paths[n], "%s/%s", tmp, names[n]);
		vstd_disk_convert_opts co = VSTD_DISK_CONVERT_OPTS_INIT;
		co.format = fmt;
		if (strcmp(fmt, "vmdk") == 0)
			co.options = "subformat=streamOptimized";
		memset(&disks[n], 0, sizeof(disks[n]));
		disks[n].capacity = vstd_disk_size(src);
		if (vstd_disk_convert(src, paths[n], &co) < 0)
			rc = cli_lib_error(CLI_EXIT_ERROR, "converting %s to %s", argv[i], fmt);
		vstd_disk_close(src);
		struct stat st;
		if (rc == 0 && stat(paths[n], &st) == 0)
			disks[n].file_size = (uint64_t)st.st_size;
		disks[n].href = names[n];
		disks[n].format_uri = uri;
		disks[n].controller = ctrl;
	}
	for (size_t k = 0; rc == 0 && k < n_isos; k++, n++) {
		struct stat st;
		if (stat(isos[k], &st) != 0) {
			rc = cli_error(CLI_EXIT_ERROR, "%s: %s", isos[k], strerror(errno));
			break;
		}
		const char *b = strrchr(isos[k], '/');
		names[n] = strdup(b ? b + 1 : isos[k]);
		paths[n] = strdup(isos[k]);
		memset(&disks[n], 0, sizeof(disks[n]));
		disks[n].href = names[n];
		disks[n].file_size = (uint64_t)st.st_size;
		disks[n].cdrom = 1;
	}
	spec.disks = disks;
	spec.n_disks = n;
	spec.nics = nics;
	spec.properties = props;
	vstd_ovf *ovf = NULL;
	char *desc = NULL;
	size_t desc_len = 0;
	if (rc == 0 && vstd_ovf_build(&ovf, &spec) < 0)
		rc = ovf_fail(CLI_EXIT_ERROR);
	if (rc == 0 && vstd_ovf_write(ovf, &desc, &desc_len) < 0)
		rc = ovf_fail(CLI_EXIT_ERROR);
	if (rc == 0) {
		vstd_ova_input in[MAX_ITEMS + 1];
		char dname[300];
		snprintf(dname, sizeof(dname), "%s.ovf", vm);
		for (char *p = dname; *p; p++)
			if (*p == '/' || *p == ' ')
				*p = '_';
		in[0] = (vstd_ova_input){dname, NULL, desc, desc_len};
		for (size_t k = 0; k < n; k++)
			in[k + 1] = (vstd_ova_input){names[k], paths[k], NULL, 0};
		vstd_ova_create_opts oo = VSTD_OVA_CREATE_OPTS_INIT;
		oo.digest = digest;
		oo.sign_key = key;
		oo.sign_cert = cert;
		if (vstd_ova_create(out, in, n + 1, &oo) < 0)
			rc = ovf_fail(CLI_EXIT_ERROR);
	}
	vstd_ovf_buffer_free(desc);
	vstd_ovf_free(ovf);
	for (size_t k = 0; k < n; k++) {
		free(names[k]);
		free(paths[k]);
	}
	remove_tree(tmp);
	free(tmp);
	if (rc == 0)
		printf("%s: %zu file%s packed\n", out, n + 1, n ? "s" : "");
	return rc;
}

/* ------------------------------------------------------------ unpack */

int ovf_cmd_unpack(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--help") == 0)
		return cli_usage(
		        "usage: vstd ovf unpack INPUT.ova DIR\n"
		        "Extract every member into DIR (created if missing); refuses links, "
		        "devices, absolute names and '..'; never overwrites.\n");
	if (argc != 3)
		return cli_error(CLI_EXIT_USAGE, "usage: vstd ovf unpack INPUT.ova DIR");
	vstd_ova *ova = NULL;
	if (vstd_ova_open(&ova, argv[1], NULL) < 0)
		return ovf_fail(CLI_EXIT_ERROR);
	if (mkdir(argv[2], 0755) != 0 && errno != EEXIST) {
		vstd_ova_close(ova);
		return cli_error(CLI_EXIT_ERROR, "%s: %s", argv[2], strerror(errno));
	}
	int rc = vstd_ova_extract(ova, argv[2]) < 0 ? ovf_fail(CLI_EXIT_ERROR) : 0;
	if (rc == 0)
		printf("%s: %zu members extracted into %s\n", argv[1], vstd_ova_member_count(ova),
		       argv[2]);
	vstd_ova_close(ova);
	return rc;
}

/* ------------------------------------------------------------ sign */

int ovf_cmd_sign(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"key", required_argument, NULL, 'k'},    {"cert", required_argument, NULL, 'c'},
	        {"digest", required_argument, NULL, 'd'}, {"output", required_argument, NULL, 'o'},
	        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
	const char *key = NULL, *cert = NULL, *digest = "sha256", *out = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 'c': cert = optarg; break;
		case 'd': digest = optarg; break;
		case 'o': out = optarg; break;
		case 'h':
			return cli_usage(
			        "usage: vstd ovf sign --key KEY.pem --cert CERT.pem "
			        "[--digest sha1|sha256|sha512] [-o OUT.ova] INPUT\n"
			        "INPUT .ovf or directory: writes the .mf and .cert beside it.\n"
			        "INPUT .ova: writes a signed copy to OUT.ova.\n");
		default: return CLI_EXIT_USAGE;
		}
	}
	if (key == NULL || cert == NULL || optind + 1 != argc)
		return cli_error(CLI_EXIT_USAGE, "need --key, --cert and one INPUT");
	ovf_input in;
	int rc = ovf_input_open(&in, argv[optind]);
	if (rc != 0)
		return CLI_EXIT_ERROR;
	if (in.ova == NULL) {
		rc = vstd_ovf_dir_sign(in.ovf_path, digest, key, cert) < 0
		             ? ovf_fail(CLI_EXIT_ERROR)
		             : 0;
		if (rc == 0)
			printf("%s: manifest and certificate written\n", in.ovf_path);
		ovf_input_close(&in);
		return rc;
	}
	if (out == NULL) {
		ovf_input_close(&in);
		return cli_error(CLI_EXIT_USAGE, "signing an .ova needs -o OUT.ova");
	}
	char *tmp = temp_dir_near(out);
	if (tmp == NULL) {
		ovf_input_close(&in);
		return cli_error(CLI_EXIT_ERROR, "cannot create a temporary directory: %s",
		                 strerror(errno));
	}
	if (vstd_ova_extract(in.ova, tmp) < 0)
		rc = ovf_fail(CLI_EXIT_ERROR);
	size_t nm = vstd_ova_member_count(in.ova);
	vstd_ova_input *inputs = calloc(nm + 1, sizeof(*inputs));
	char **paths = calloc(nm + 1, sizeof(char *));
	size_t k = 0;
	const char *dname = vstd_ova_descriptor_name(in.ova);
	for (int pass = 0; rc == 0 && pass < 2; pass++) {
		for (size_t i = 0; i < nm; i++) {
			const char *name = vstd_ova_member_get(in.ova, i)->name;
			int is_desc = strcmp(name, dname) == 0;
			size_t l = strlen(name);
			int skip = (l > 3 && strcasecmp(name + l - 3, ".mf") == 0) ||
			           (l > 5 && strcasecmp(name + l - 5, ".cert") == 0) ||
			           strchr(name, '/');
			if ((pass == 0) != is_desc || (pass == 1 && skip))
				continue;
			paths[k] = malloc(strlen(tmp) + l + 2);
			sprintf(paths[k], "%s/%s", tmp, name);
			inputs[k].name = name;
			inputs[k].path = paths[k];
			k++;
		}
	}
	vstd_ova_create_opts oo = VSTD_OVA_CREATE_OPTS_INIT;
	oo.digest = digest;
	oo.sign_key = key;
	oo.sign_cert = cert;
	if (rc == 0 && vstd_ova_create(out, inputs, k, &oo) < 0)
		rc = ovf_fail(CLI_EXIT_ERROR);
	if (rc == 0)
		printf("%s: signed copy of %s\n", out, argv[optind]);
	for (size_t i = 0; i < k; i++)
		free(paths[i]);
	free(paths);
	free(inputs);
	remove_tree(tmp);
	free(tmp);
	ovf_input_close(&in);
	return rc;
}

/* ------------------------------------------------------------ verify */

int ovf_cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {{"ca-file", required_argument, NULL, 'f'},
	                                     {"ca-dir", required_argument, NULL, 'd'},
	                                     {"require-signature", no_argument, NULL, 'r'},
	                                     {"ignore-time", no_argument, NULL, 't'},
	                                     {"output", required_argument, NULL, 'O'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	vstd_ovf_verify_opts vo = VSTD_OVF_VERIFY_OPTS_INIT;
	enum cli_output out = CLI_OUTPUT_HUMAN;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': vo.ca_file = optarg; break;
		case 'd': vo.ca_dir = optarg; break;
		case 'r': vo.require_signature = 1; break;
		case 't': vo.ignore_time = 1; break;
		case 'O':
			if (cli_parse_output(optarg, &out) < 0)
				return OVF_EXIT_CANNOT;
			break;
		case 'h':
			return cli_usage(
			        "usage: vstd ovf verify [--ca-file F] [--ca-dir D] "
			        "[--require-signature] [--ignore-time] [--output=json] INPUT\n"
			        "exit 0 verified, 1 a digest, signature or chain failed, 2 could "
			        "not check\n");
		default: return OVF_EXIT_CANNOT;
		}
	}
	if (optind + 1 != argc)
		return cli_error(OVF_EXIT_CANNOT, "expected one INPUT");
	ovf_input in;
	int rc = ovf_input_open(&in, argv[optind]);
	if (rc != 0)
		return rc;
	vstd_ovf_verify_result r;
	memset(&r, 0, sizeof(r));
	rc = in.ova ? vstd_ova_verify(in.ova, &vo, &r) : vstd_ovf_dir_verify(in.ovf_path, &vo, &r);
	int code = rc == 0                                           ? OVF_EXIT_VALID
	           : (ovf_error_is_invalid(rc) || rc == VSTD_ENOENT) ? OVF_EXIT_INVALID
	                                                             : OVF_EXIT_CANNOT;
	const char *msg = rc < 0 ? vstd_error_last()->message : "";
	if (out == CLI_OUTPUT_JSON) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "input", json_object_new_string(argv[optind]));
		json_object_object_add(o, "verified", json_object_new_boolean(rc == 0));
		json_object_object_add(o, "manifest", json_object_new_boolean(r.has_manifest));
		json_object_object_add(o, "files_checked",
		                       json_object_new_int64((int64_t)r.files_checked));
		json_object_object_add(o, "signed", json_object_new_boolean(r.has_certificate));
		json_object_object_add(o, "signature_valid",
		                       json_object_new_boolean(r.signature_valid));
		json_object_object_add(o, "chain_trusted",
		                       json_object_new_boolean(r.chain_trusted));
		if (r.signer)
			json_object_object_add(o, "signer", json_object_new_string(r.signer));
		if (r.failed_file)
			json_object_object_add(o, "failed_file",
			                       json_object_new_string(r.failed_file));
		if (r.unlisted_file)
			json_object_object_add(o, "unlisted_file",
			                       json_object_new_string(r.unlisted_file));
		if (rc < 0)
			json_object_object_add(o, "error", json_object_new_string(msg));
		cli_print_json(o);
	} else {
		if (rc < 0)
			fprintf(stderr, "%s: %s\n", cli_prog(), msg);
		printf("%s: manifest %s, %zu file%s verified, %s%s%s%s\n", argv[optind],
		       r.has_manifest ? "present" : "absent", r.files_checked,
		       r.files_checked == 1 ? "" : "s",
		       !r.has_certificate  ? "not signed"
		       : r.signature_valid ? "signature valid"
		                           : "signature BAD",
		       r.has_certificate && r.signature_valid
		               ? (r.chain_trusted ? ", chain trusted" : ", chain NOT trusted")
		               : "",
		       r.signer ? ", signer " : "", r.signer ? r.signer : "");
		if (r.failed_file)
			printf("%s: failed: %s\n", argv[optind], r.failed_file);
		if (r.unlisted_file)
			printf("%s: warning: %zu file(s) not in the manifest, first '%s'\n",
			       argv[optind], r.n_unlisted, r.unlisted_file);
	}
	vstd_ovf_verify_result_clear(&r);
	ovf_input_close(&in);
	return code;
}
