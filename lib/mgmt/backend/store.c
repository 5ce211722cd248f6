/*
 * mgmt/backend/store.c - definitions on disk: one JSON file per system in
 * <state_dir>/systems/<uuid>.json, always replaced atomically (write a
 * temporary file, fsync it, rename it over the old one, fsync the
 * directory), so a crash leaves the old or the new file, never half of one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "mgmt/mgmt_internal.h"

#define STORE_MAX_FILE (1u << 20)

int mgmt_write_atomic(const char *path, const void *data, size_t len, int mode)
{
	char tmp[4200], dir[4096];
	int fd, rc = 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return vstd_err(VSTD_ELIMIT, "mgmt: path %s is too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return vstd_err_errno(VSTD_EIO, errno, "mgmt: cannot create %s", tmp);
	const char *p = data;
	size_t left = len;
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = vstd_err_errno(VSTD_EIO, errno, "mgmt: cannot write %s", tmp);
			break;
		}
		p += n;
		left -= (size_t)n;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = vstd_err_errno(VSTD_EIO, errno, "mgmt: cannot fsync %s", tmp);
	close(fd);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = vstd_err_errno(VSTD_EIO, errno, "mgmt: cannot rename %s to %s", tmp, path);
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		if ((fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			fsync(fd);
			close(fd);
		}
	}
	return 0;
}

static void sys_path(const vstd_mgmt *m, const char *uuid, char *out, size_t cap)
{
	snprintf(out, cap, "%s/systems/%s.json", m->state_dir, uuid);
}

int mgmt_store_save(vstd_mgmt *m, const struct mgmt_vm *vm)
{
	char path[4096];
	int rc;
	json_object *o = json_object_new_object(), *res = json_object_new_array();
	if (o == NULL || res == NULL) {
		json_object_put(o);
		json_object_put(res);
		return vstd_err(VSTD_ENOMEM, "mgmt: out of memory saving %s", vm->uuid);
	}
	json_object_object_add(o, "format", json_object_new_string("vstd-system-1"));
	json_object_object_add(o, "uuid", json_object_new_string(vm->uuid));
	json_object_object_add(o, "name", json_object_new_string(vm->name));
	json_object_object_add(o, "kernel", json_object_new_string(vm->kernel));
	json_object_object_add(o, "cmdline", json_object_new_string(vm->cmdline));
	json_object_object_add(o, "notes", json_object_new_string(vm->notes));
	json_object_object_add(o, "created", json_object_new_int64(vm->created));
	json_object_object_add(o, "next_res", json_object_new_int64(vm->next_res));
	for (unsigned i = 0; i < vm->n_res; i++) {
		const struct mgmt_res *r = &vm->res[i];
		json_object *e = json_object_new_object();
		json_object_object_add(e, "id", json_object_new_string(r->id));
		json_object_object_add(e, "type", json_object_new_int(r->type));
		json_object_object_add(e, "quantity", json_object_new_uint64(r->quantity));
		json_object_object_add(e, "host_resource",
		                       json_object_new_string(r->host_resource));
		json_object_object_add(e, "address", json_object_new_string(r->address));
		json_object_object_add(e, "subtype", json_object_new_string(r->subtype));
		json_object_object_add(e, "connection", json_object_new_string(r->connection));
		json_object_object_add(e, "element_name", json_object_new_string(r->element_name));
		json_object_array_add(res, e);
	}
	json_object_object_add(o, "resources", res);
	json_object *rt = json_object_new_object();
	json_object_object_add(rt, "backend", json_object_new_string(vm->backend));
	json_object_object_add(rt, "pid", json_object_new_int64(vm->pid));
	json_object_object_add(rt, "socket", json_object_new_string(vm->sock));
	json_object_object_add(rt, "enabled_state", json_object_new_int(vm->enabled_state));
	json_object_object_add(rt, "requested_state", json_object_new_int(vm->requested_state));
	json_object_object_add(o, "runtime", rt);
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	sys_path(m, vm->uuid, path, sizeof(path));
	rc = text ? mgmt_write_atomic(path, text, strlen(text), 0600)
	          : vstd_err(VSTD_ENOMEM, "mgmt: out of memory saving %s", vm->uuid);
	json_object_put(o);
	return rc;
}

int mgmt_store_remove(vstd_mgmt *m, const char *uuid)
{
	char path[4096];
	sys_path(m, uuid, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		return vstd_err_errno(VSTD_EIO, errno, "mgmt: cannot remove %s", path);
	return 0;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

static int64_t jint(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_int64(v);
}

static int load_one(vstd_mgmt *m, const char *path)
{
	static struct mgmt_vm zero;
	struct mgmt_vm *vm = NULL;
	json_object *o = NULL, *res, *rt;
	int rc = 0;
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return vstd_err_errno(VSTD_EIO, errno, "mgmt: cannot open %s", path);
	char *buf = vstd_malloc(STORE_MAX_FILE + 1);
	size_t n = buf ? fread(buf, 1, STORE_MAX_FILE + 1, f) : 0;
	fclose(f);
	if (buf == NULL)
		return vstd_err_code();
	if (n > STORE_MAX_FILE) {
		rc = vstd_err(VSTD_ELIMIT, "mgmt: %s is larger than 1 MiB", path);
		goto out;
	}
	buf[n] = 0;
	o = json_tokener_parse(buf);
	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    strcmp(jstr(o, "format"), "vstd-system-1") != 0) {
		rc = vstd_err(VSTD_ECORRUPT, "mgmt: %s is not a vstd system definition", path);
		goto out;
	}
	if ((vm = vstd_malloc(sizeof(*vm))) == NULL) {
		rc = vstd_err_code();
		goto out;
	}
	*vm = zero;
	if (mgmt_copy(vm->uuid, sizeof(vm->uuid), jstr(o, "uuid"), "uuid") < 0 ||
	    mgmt_copy(vm->name, sizeof(vm->name), jstr(o, "name"), "name") < 0 ||
	    mgmt_copy(vm->kernel, sizeof(vm->kernel), jstr(o, "kernel"), "kernel") < 0 ||
	    mgmt_copy(vm->cmdline, sizeof(vm->cmdline), jstr(o, "cmdline"), "cmdline") < 0 ||
	    mgmt_copy(vm->notes, sizeof(vm->notes), jstr(o, "notes"), "notes") < 0 ||
	    strlen(vm->uuid) != 36) {
		rc = vstd_err(VSTD_ECORRUPT, "mgmt: %s: bad uuid, name or paths", path);
		goto out;
	}
	vm->created = jint(o, "created");
	vm->next_res = (unsigned)jint(o, "next_res");
	if (json_object_object_get_ex(o, "resources", &res) &&
	    json_object_is_type(res, json_type_array)) {
		size_t k = json_object_array_length(res);
		if (k > MGMT_MAX_RES) {
			rc = vstd_err(VSTD_ECORRUPT, "mgmt: %s has %zu resources (limit %d)", path,
			              k, MGMT_MAX_RES);
			goto out;
		}
		for (size_t i = 0; i < k; i++) {
			json_object *e = json_object_array_get_idx(res, i);
			struct mgmt_res *r = &vm->res[vm->n_res++];
			int64_t t = jint(e, "type");
			if (t <= 0 || t > 65535 ||
			    mgmt_copy(r->id, sizeof(r->id), jstr(e, "id"), "id") < 0 ||
			    mgmt_copy(r->host_resource, sizeof(r->host_resource),
			              jstr(e, "host_resource"), "host resource") < 0 ||
			    mgmt_copy(r->address, sizeof(r->address), jstr(e, "address"),
			              "address") < 0 ||
			    mgmt_copy(r->subtype, sizeof(r->subtype), jstr(e, "subtype"),
			              "subtype") < 0 ||
			    mgmt_copy(r->connection, sizeof(r->connection), jstr(e, "connection"),
			              "connection") < 0 ||
			    mgmt_copy(r->element_name, sizeof(r->element_name),
			              jstr(e, "element_name"), "element name") < 0) {
				rc = vstd_err(VSTD_ECORRUPT, "mgmt: %s: resource %zu is malformed",
				              path, i);
				goto out;
			}
			r->type = (uint16_t)t;
			json_object *q;
			if (json_object_object_get_ex(e, "quantity", &q))
				r->quantity = json_object_get_uint64(q);
		}
	}
	vm->enabled_state = VSTD_MGMT_DISABLED;
	vm->requested_state = 12;
	if (json_object_object_get_ex(o, "runtime", &rt)) {
		mgmt_copy(vm->backend, sizeof(vm->backend), jstr(rt, "backend"), "backend");
		int64_t pid = jint(rt, "pid");
		vm->pid = pid > 0 && pid < INT32_MAX ? (pid_t)pid : 0;
		if (mgmt_copy(vm->sock, sizeof(vm->sock), jstr(rt, "socket"), "socket") < 0)
			vm->sock[0] = 0;
		int64_t rs = jint(rt, "requested_state");
		vm->requested_state = rs > 0 && rs < 13 ? (int)rs : 12;
		int64_t es = jint(rt, "enabled_state");
		if (es == VSTD_MGMT_ENABLED || es == VSTD_MGMT_QUIESCE)
			vm->enabled_state = (int)es;
	}
	if (vm->backend[0] == 0)
		mgmt_copy(vm->backend, sizeof(vm->backend), m->backend->name, "backend");
	vm->state_time = mgmt_now();
	if (mgmt_vm_find(m, vm->uuid)) {
		rc = vstd_err(VSTD_ECORRUPT, "mgmt: %s repeats system %s", path, vm->uuid);
		goto out;
	}
	if (m->n_vms == m->cap_vms) {
		size_t cap = m->cap_vms ? m->cap_vms * 2 : 16;
		struct mgmt_vm **v = vstd_realloc_array(m->vms, cap, sizeof(*v));
		if (v == NULL) {
			rc = vstd_err_code();
			goto out;
		}
		m->vms = v;
		m->cap_vms = cap;
	}
	m->vms[m->n_vms++] = vm;
	vm = NULL;
	/* a system recorded as running: is it still? */
	mgmt_vm_refresh(m, m->vms[m->n_vms - 1]);
out:
	vstd_free(vm);
	json_object_put(o);
	vstd_free(buf);
	return rc;
}

int mgmt_store_load(vstd_mgmt *m)
{
	char dirp[4096], path[4400];
	int rc = 0;
	snprintf(dirp, sizeof(dirp), "%s/systems", m->state_dir);
	DIR *d = opendir(dirp);
	if (d == NULL)
		return vstd_err_errno(VSTD_EIO, errno, "mgmt: cannot read %s", dirp);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (strstr(e->d_name, ".tmp.")) {
			/* an interrupted write: the old file (if any) is intact */
			snprintf(path, sizeof(path), "%s/%s", dirp, e->d_name);
			unlink(path);
			continue;
		}
		if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirp, e->d_name);
		int r = load_one(m, path);
		if (r < 0) {
			vstd_warn("mgmt", "%s", vstd_error_last()->message);
			if (r != VSTD_ECORRUPT && r != VSTD_ELIMIT) {
				rc = r;
				break;
			}
			rc = VSTD_ECORRUPT;
		}
	}
	closedir(d);
	return rc;
}
