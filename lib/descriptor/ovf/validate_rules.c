/*
 * descriptor/ovf/validate_rules.c - the rules of DSP0243 that a schema
 * cannot express: references resolve, identifiers are unique, chains are
 * acyclic, codes and units are valid, referenced files exist with their
 * declared size, unknown required sections are refused.
 *
 * Section numbers are those of DSP0243 1.1 (docs/formats/ovf.md lists each
 * rule); every finding names the line, the element and the rule.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/alloc_internal.h"
#include "descriptor/ovf/validate.h"

#define E VSTD_OVF_ERROR
#define W VSTD_OVF_WARNING

/* ------------------------------------------------------------ files */

static int member_size(ovf_vctx *v, const char *href, uint64_t *size)
{
	const vstd_ovf_validate_opts *o = v->opts;
	if (o->flags & VSTD_OVF_DESCRIPTOR_ONLY)
		return 1;
	if (o->file_size != NULL)
		return o->file_size(o->file_size_opaque, href, size);
	if (o->ova != NULL) {
		size_t i;
		if (vstd_ova_find(o->ova, href, &i) < 0)
			return VSTD_ENOENT;
		*size = vstd_ova_member_get(o->ova, i)->size;
		return 0;
	}
	if (o->base_dir != NULL) {
		char *p = vstd_asprintf("%s/%s", o->base_dir, href);
		if (p == NULL)
			return VSTD_ENOMEM;
		struct stat st;
		int rc = stat(p, &st);
		vstd_free(p);
		if (rc != 0 || !S_ISREG(st.st_mode))
			return VSTD_ENOENT;
		*size = (uint64_t)st.st_size;
		return 0;
	}
	return 1; /* nowhere to look */
}

static int href_is_remote(const char *h)
{
	return strncmp(h, "http://", 7) == 0 || strncmp(h, "https://", 8) == 0 ||
	       strncmp(h, "ftp://", 6) == 0;
}

static int href_escapes(const char *h)
{
	if (h[0] == '/' || strncmp(h, "file:", 5) == 0)
		return 1;
	for (const char *p = h; *p != '\0';) {
		const char *s = strchr(p, '/');
		size_t l = s ? (size_t)(s - p) : strlen(p);
		if (l == 2 && p[0] == '.' && p[1] == '.')
			return 1;
		if (s == NULL)
			break;
		p = s + 1;
	}
	return 0;
}

static void check_file_present(ovf_vctx *v, const xmlNode *n, const vstd_ovf_file *f)
{
	uint64_t size = 0;
	if (f->chunk_size > 0) {
		/* DSP0243 5.3 / 7.1: href.000000000, href.000000001, ... */
		uint64_t total = 0;
		unsigned long i;
		for (i = 0; i < 1000000; i++) {
			char *name = vstd_asprintf("%s.%09lu", f->href, i);
			if (name == NULL)
				return;
			int rc = member_size(v, name, &size);
			vstd_free(name);
			if (rc == 1)
				return;
			if (rc < 0)
				break;
			if (size > f->chunk_size)
				ovf_diag(v, E, n, "DSP0243 7.1 chunkSize",
				         "chunk %lu of '%s' is %" PRIu64
				         " bytes, more than chunkSize %" PRIu64,
				         i, f->href, size, f->chunk_size);
			total += size;
		}
		if (i == 0) {
			ovf_diag(v, E, n, "DSP0243 7.1 chunkSize",
			         "file '%s' is chunked but its first chunk '%s.000000000' is not "
			         "in the package",
			         f->href, f->href);
			return;
		}
		if (f->has_size && total != f->size)
			ovf_diag(v, E, n, "DSP0243 7.1 size",
			         "the %lu chunks of '%s' hold %" PRIu64
			         " bytes; ovf:size says %" PRIu64,
			         i, f->href, total, f->size);
		return;
	}
	int rc = member_size(v, f->href, &size);
	if (rc == 1)
		return;
	if (rc < 0) {
		ovf_diag(v, E, n, "DSP0243 7.1 References",
		         "file '%s' (id '%s') does not exist in the package", f->href,
		         f->id ? f->id : "");
		return;
	}
	if (f->has_size && size != f->size)
		ovf_diag(v, E, n, "DSP0243 7.1 size",
		         "file '%s' is %" PRIu64 " bytes; ovf:size declares %" PRIu64, f->href,
		         size, f->size);
}

static void check_references_inner(ovf_vctx *v, const xmlNode *refs);

enum { SORT_ID, SORT_HREF };

static const char *file_key(const vstd_ovf_file *f, int key)
{
	return key == SORT_ID ? f->id : f->href;
}

static int cmp_file_key(const void *a, const void *b, int key)
{
	const vstd_ovf_file *x = *(const vstd_ovf_file *const *)a,
	                    *y = *(const vstd_ovf_file *const *)b;
	int c = strcmp(file_key(x, key) ? file_key(x, key) : "",
	               file_key(y, key) ? file_key(y, key) : "");
	return c != 0 ? c : (x < y ? -1 : x > y);
}

static int cmp_file_id(const void *a, const void *b)
{
	return cmp_file_key(a, b, SORT_ID);
}

static int cmp_file_href(const void *a, const void *b)
{
	return cmp_file_key(a, b, SORT_HREF);
}

/* The first File (in document order) before f with f's key, or NULL. */
static const vstd_ovf_file *sorted_find(ovf_vctx *v, int key, const vstd_ovf_file *f)
{
	const vstd_ovf_model *m = &v->ovf->model;
	const vstd_ovf_file **s = v->sorted_files[key];
	const char *k = file_key(f, key);
	if (s == NULL || k == NULL)
		return NULL;
	size_t lo = 0, hi = m->n_files;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *mk = file_key(s[mid], key);
		if (strcmp(mk ? mk : "", k) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* entries with the key are in document (address) order: the first is the earliest */
	if (lo < m->n_files && s[lo] != f && file_key(s[lo], key) &&
	    strcmp(file_key(s[lo], key), k) == 0 && s[lo] < f)
		return s[lo];
	return NULL;
}

static void check_references(ovf_vctx *v, const xmlNode *refs)
{
	const vstd_ovf_model *fm = &v->ovf->model;
	for (int key = 0; key < 2; key++) {
		v->sorted_files[key] =
		        fm->n_files ? vstd_malloc_array(fm->n_files, sizeof(vstd_ovf_file *))
		                    : NULL;
		if (fm->n_files && v->sorted_files[key] == NULL) {
			v->r->oom = 1;
			continue;
		}
		for (size_t i = 0; i < fm->n_files; i++)
			v->sorted_files[key][i] = &fm->files[i];
		if (fm->n_files)
			qsort(v->sorted_files[key], fm->n_files, sizeof(vstd_ovf_file *),
			      key == SORT_ID ? cmp_file_id : cmp_file_href);
	}
	check_references_inner(v, refs);
	for (int key = 0; key < 2; key++) {
		vstd_free(v->sorted_files[key]);
		v->sorted_files[key] = NULL;
	}
}

static void check_references_inner(ovf_vctx *v, const xmlNode *refs)
{
	const vstd_ovf *ovf = v->ovf;
	size_t fi = 0;
	for (const xmlNode *n = refs->children; n != NULL; n = n->next) {
		if (!ovf_is(ovf, n, "File"))
			continue;
		if (fi >= ovf->model.n_files)
			break;
		const vstd_ovf_file *f = &ovf->model.files[fi++];
		if (f->id == NULL || f->href == NULL) {
			ovf_diag(v, E, n, "DSP0243 7.1", "File needs ovf:id and ovf:href");
			continue;
		}
		/* ids unique; two Files never name the same file (7.1); sorted
		 * look-ups so that 10^6 Files stay cheap */
		const vstd_ovf_file *other = sorted_find(v, SORT_ID, f);
		if (other != NULL)
			ovf_diag(v, E, n, "DSP0243 7.1",
			         "File id '%s' is not unique (also line %u)", f->id, other->line);
		other = sorted_find(v, SORT_HREF, f);
		if (other != NULL)
			ovf_diag(v, E, n, "DSP0243 7.1 href",
			         "File '%s' names the same file '%s' as File '%s' (line %u)", f->id,
			         f->href, other->id ? other->id : "", other->line);
		if (href_escapes(f->href)) {
			ovf_diag(v, E, n, "DSP0243 7.1 href",
			         "href '%s' is absolute or climbs out of the package with '..'",
			         f->href);
			continue;
		}
		if (f->compression != NULL && strcmp(f->compression, "gzip") != 0 &&
		    strcmp(f->compression, "identity") != 0)
			ovf_diag(v, E, n, "DSP0243 7.1 compression",
			         "compression '%s' is not supported (gzip is)", f->compression);
		if (href_is_remote(f->href)) {
			ovf_diag(v, W, n, "DSP0243 7.1 href",
			         "file '%s' is remote and was not fetched", f->href);
			continue;
		}
		check_file_present(v, n, f);
	}
}

/* ------------------------------------------------------------ disks */

static int property_declared(const vstd_vm *vm, const char *key)
{
	if (vm == NULL)
		return 0;
	for (size_t p = 0; p < vm->n_products; p++)
		for (size_t i = 0; i < vm->products[p].n_properties; i++)
			if (vm->products[p].properties[i].key &&
			    strcmp(vm->products[p].properties[i].key, key) == 0)
				return 1;
	for (size_t c = 0; c < vm->n_children; c++)
		if (property_declared(vm->children[c], key))
			return 1;
	return 0;
}

/* DiskSection or (shared) SharedDiskSection; *cursor walks m->disks across sections. */
static void check_disks(ovf_vctx *v, const xmlNode *sec, int shared, size_t *cursor)
{
	const vstd_ovf *ovf = v->ovf;
	const vstd_ovf_model *m = &ovf->model;
	size_t di = *cursor;
	for (const xmlNode *n = sec->children; n != NULL; n = n->next) {
		if (!ovf_is(ovf, n, shared ? "SharedDisk" : "Disk"))
			continue;
		while (di < m->n_disks && m->disks[di].shared != shared)
			di++;
		if (di >= m->n_disks)
			break;
		const vstd_ovf_disk *d = &m->disks[di++];
		*cursor = di;
		if (d->disk_id == NULL) {
			ovf_diag(v, E, n, "DSP0243 9.1", "Disk has no ovf:diskId");
			continue;
		}
		for (size_t j = 0; j + 1 < di; j++)
			if (m->disks[j].disk_id && strcmp(m->disks[j].disk_id, d->disk_id) == 0)
				ovf_diag(v, E, n, "DSP0243 9.1",
				         "diskId '%s' is not unique (also line %u)", d->disk_id,
				         m->disks[j].line);
		if (d->file_ref != NULL && vstd_ovf_find_file(ovf, d->file_ref) == NULL)
			ovf_diag(v, E, n, "DSP0243 9.1 fileRef",
			         "fileRef '%s' of disk '%s' is not found in References",
			         d->file_ref, d->disk_id);
		if (d->capacity_text == NULL) {
			/* Required by DSP8023; ganeti and VirtualBox 2.2 omit it.
			 * The structure layer reports it; here: lax warning. */
			ovf_diag(v, v->strict ? E : W, n, "DSP0243 9.1 capacity",
			         "disk '%s' has no ovf:capacity", d->disk_id);
		} else if (!d->capacity_known) {
			uint64_t unit, cap;
			const char *t = d->capacity_text;
			size_t tl = strlen(t);
			if (tl > 3 && t[0] == '$' && t[1] == '{' && t[tl - 1] == '}') {
				char key[256];
				snprintf(key, sizeof(key), "%.*s", (int)(tl - 3), t + 2);
				if (!property_declared(m->root, key))
					ovf_diag(v, E, n, "DSP0243 9.1 capacity",
					         "capacity '%s' names property '%s', which no "
					         "ProductSection declares",
					         t, key);
			} else if (d->capacity_units != NULL &&
			           vstd_ovf_parse_units(d->capacity_units, &unit) < 0) {
				ovf_diag(v, E, n, "DSP0243 9.1 capacityAllocationUnits",
				         "capacityAllocationUnits '%s' is not a byte unit (DSP0004 "
				         "Annex C)",
				         d->capacity_units);
			} else if (ovf_parse_u64(t, &cap) != 0) {
				ovf_diag(v, E, n, "DSP0243 9.1 capacity",
				         "capacity '%s' is neither a number nor a ${property} "
				         "reference",
				         t);
			} else {
				ovf_diag(v, E, n, "DSP0243 9.1 capacity",
				         "capacity %s %s does not fit 64 bits", t,
				         d->capacity_units ? d->capacity_units : "");
			}
		}
		if (d->has_populated_size && d->capacity_known &&
		    d->populated_size > d->capacity_bytes)
			ovf_diag(v, W, n, "DSP0243 9.1 populatedSize",
			         "populatedSize %" PRIu64 " exceeds the capacity %" PRIu64,
			         d->populated_size, d->capacity_bytes);
		if (d->parent_ref != NULL) {
			/* DSP0243 9.1: parentRef names another disk; follow the chain. */
			const vstd_ovf_disk *p = d;
			size_t steps = 0;
			while (p != NULL && p->parent_ref != NULL && steps <= m->n_disks) {
				const vstd_ovf_disk *q = vstd_ovf_find_disk(ovf, p->parent_ref);
				if (q == NULL) {
					ovf_diag(v, E, n, "DSP0243 9.1 parentRef",
					         "parentRef '%s' does not name a Disk",
					         p->parent_ref);
					break;
				}
				p = q;
				steps++;
			}
			if (steps > m->n_disks)
				ovf_diag(v, E, n, "DSP0243 9.1 parentRef",
				         "the parentRef chain of disk '%s' is a cycle", d->disk_id);
		}
	}
}

/* ------------------------------------------------------------ hardware */

static int is_known_section(const char *kind)
{
	static const char *const known[] = {"References",
	                                    "DiskSection",
	                                    "NetworkSection",
	                                    "DeploymentOptionSection",
	                                    "VirtualHardwareSection",
	                                    "ResourceAllocationSection",
	                                    "AnnotationSection",
	                                    "ProductSection",
	                                    "EulaSection",
	                                    "StartupSection",
	                                    "OperatingSystemSection",
	                                    "InstallSection",
	                                    "Strings",
	                                    "Info",
	                                    "Name",
	                                    "VirtualSystem",
	                                    "VirtualSystemCollection",
	                                    "EnvironmentFilesSection",
	                                    "BootDeviceSection",
	                                    "SharedDiskSection",
	                                    "ScaleOutSection",
	                                    "PlacementGroupSection",
	                                    "PlacementSection",
	                                    "EncryptionSection",
	                                    NULL};
	for (size_t i = 0; known[i] != NULL; i++)
		if (strcmp(known[i], kind) == 0)
			return 1;
	return 0;
}

static int config_declared(const vstd_ovf_model *m, const char *id)
{
	for (size_t i = 0; i < m->n_configs; i++)
		if (m->configs[i].id && strcmp(m->configs[i].id, id) == 0)
			return 1;
	return 0;
}

static void check_config_attr(ovf_vctx *v, const xmlNode *n, const char *cfg)
{
	const vstd_ovf_model *m = &v->ovf->model;
	char word[256];
	const char *p = cfg;
	while (*p != '\0') {
		while (isspace((unsigned char)*p))
			p++;
		const char *b = p;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
		if (p == b)
			break;
		snprintf(word, sizeof(word), "%.*s", (int)(p - b), b);
		if (!config_declared(m, word))
			ovf_diag(
			        v, E, n, "DSP0243 9.8 configuration",
			        "ovf:configuration '%s' is not declared in DeploymentOptionSection",
			        word);
	}
}

static int network_declared(const vstd_ovf_model *m, const char *name)
{
	for (size_t i = 0; i < m->n_networks; i++)
		if (m->networks[i].name && strcmp(m->networks[i].name, name) == 0)
			return 1;
	return 0;
}

/* Two items with one InstanceID conflict unless they are alternatives for
 * different deployment options (an item without ovf:configuration is the
 * default that a configuration-specific item overrides, DSP0243 9.8). */
static int same_config_set(const vstd_ovf_item *a, const vstd_ovf_item *b)
{
	if (a->configuration == NULL && b->configuration == NULL)
		return 1;
	if (a->configuration == NULL || b->configuration == NULL)
		return 0;
	return strcmp(a->configuration, b->configuration) == 0;
}

/* Items sorted by InstanceID, for O(log n) look-ups (descriptors with
 * 10,000 items are validated in well under 100 ms). */
static int cmp_iid(const void *a, const void *b)
{
	const vstd_ovf_item *x = *(const vstd_ovf_item *const *)a,
	                    *y = *(const vstd_ovf_item *const *)b;
	int c = strcmp(x->instance_id ? x->instance_id : "", y->instance_id ? y->instance_id : "");
	return c != 0 ? c : (x < y ? -1 : x > y);
}

static size_t lower_iid(const vstd_ovf_item **sorted, size_t n, const char *iid)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(sorted[mid]->instance_id ? sorted[mid]->instance_id : "", iid) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const vstd_ovf_item *lookup_iid(const vstd_ovf_item **sorted, size_t n, const char *iid)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(sorted[mid]->instance_id ? sorted[mid]->instance_id : "", iid);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && sorted[lo]->instance_id && strcmp(sorted[lo]->instance_id, iid) == 0
	               ? sorted[lo]
	               : NULL;
}

static void check_items(ovf_vctx *v, const vstd_ovf_hardware *vm, const xmlNode *vhs)
{
	const vstd_ovf_item **sorted =
	        vstd_malloc_array(vm->n_items ? vm->n_items : 1, sizeof(*sorted));
	if (sorted == NULL) {
		v->r->oom = 1;
		return;
	}
	for (size_t i = 0; i < vm->n_items; i++)
		sorted[i] = &vm->items[i];
	qsort(sorted, vm->n_items, sizeof(*sorted), cmp_iid);
	const vstd_ovf *ovf = v->ovf;
	const vstd_ovf_model *m = &ovf->model;
	size_t ii = 0;
	for (const xmlNode *n = vhs->children; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		const char *nm = (const char *)n->name;
		if (strcmp(nm, "Item") != 0 && strcmp(nm, "EthernetPortItem") != 0 &&
		    strcmp(nm, "StorageItem") != 0)
			continue;
		if (ii >= vm->n_items)
			break;
		const vstd_ovf_item *it = &vm->items[ii++];
		/* InstanceID: present, unique in the section (DSP0243 8.3); items
		 * for different configurations (9.8) or bounds (8.4) may share it. */
		if (it->instance_id == NULL || it->instance_id[0] == '\0') {
			ovf_diag(v, E, n, "DSP0243 8.3 InstanceID", "item has no InstanceID");
		} else {
			size_t k = lower_iid(sorted, vm->n_items, it->instance_id);
			for (; k < vm->n_items && sorted[k] < it &&
			       strcmp(sorted[k]->instance_id, it->instance_id) == 0;
			     k++) {
				const vstd_ovf_item *o = sorted[k];
				if (same_config_set(o, it) &&
				    (o->bound == NULL) == (it->bound == NULL) &&
				    (o->bound == NULL || strcmp(o->bound, it->bound) == 0)) {
					ovf_diag(v, E, n, "DSP0243 8.3 InstanceID",
					         "InstanceID '%s' is not unique (also line %u)",
					         it->instance_id, o->line);
					break;
				}
			}
		}
		/* vstd's rule (docs/formats/ovf.md): an InstanceID is a token, as
		 * every producer writes it; '%', '$', spaces... are an unexpanded
		 * template placeholder. */
		if (it->instance_id != NULL) {
			for (const char *q = it->instance_id; *q; q++) {
				if (!isalnum((unsigned char)*q) && *q != '-' && *q != '_' &&
				    *q != '.' && *q != ':') {
					ovf_diag(v, E, n, "DSP0243 8.3 InstanceID",
					         "InstanceID '%s' contains '%c'; InstanceIDs are "
					         "tokens of "
					         "letters, digits and . _ : - (an unexpanded "
					         "placeholder?)",
					         it->instance_id, *q);
					break;
				}
			}
		}
		/* ResourceType (DSP0243 8.3, CIM_ResourceAllocationSettingData). */
		char *rt = ovf_child_text(n, "ResourceType");
		uint64_t code = 0;
		if (rt == NULL) {
			ovf_diag(v, E, n, "DSP0243 8.3 ResourceType",
			         "item '%s' has no ResourceType",
			         it->instance_id ? it->instance_id : "?");
		} else if (ovf_parse_u64(rt, &code) != 0 || code == 0 || code > 65535) {
			ovf_diag(v, E, n, "DSP0243 8.3 ResourceType",
			         "ResourceType '%.32s' is not a CIM ResourceType code (1-65535)",
			         rt);
		} else if (code >= 34 && code <= 32767) {
			ovf_diag(v, W, n, "DSP0243 8.3 ResourceType",
			         "ResourceType %" PRIu64 " is in the DMTF-reserved range 34-32767",
			         code);
		}
		xmlFree(rt);
		/* Parent resolves within the section, and the chain ends. */
		if (it->parent != NULL && it->parent[0] != '\0') {
			const vstd_ovf_item *p = it;
			size_t steps = 0;
			while (p != NULL && p->parent != NULL && p->parent[0] != '\0' &&
			       steps <= vm->n_items) {
				const vstd_ovf_item *q = lookup_iid(sorted, vm->n_items, p->parent);
				if (q == NULL) {
					/* ganeti and VMware exports leave some dangling: lax
					 * warning */
					ovf_diag(v, v->strict ? E : W, n, "DSP0243 8.3 Parent",
					         "Parent '%s' is not the InstanceID of an item in "
					         "this section",
					         p->parent);
					break;
				}
				p = q;
				steps++;
			}
			if (steps > vm->n_items)
				ovf_diag(v, E, n, "DSP0243 8.3 Parent",
				         "the Parent chain of item '%s' is a cycle",
				         it->instance_id);
			/* A drive's Parent is a controller (DSP0243 8.3 and the CIM
			 * ResourceType values: 1 other, 5 IDE, 6 SCSI, 7 FC, 8 iSCSI,
			 * 9 IB, 20 other storage, 23 USB). */
			const vstd_ovf_item *par = lookup_iid(sorted, vm->n_items, it->parent);
			int drive = it->resource_type >= 14 && it->resource_type <= 17;
			int prt = par ? par->resource_type : 0;
			if (drive && par != NULL && prt != 1 && !(prt >= 5 && prt <= 9) &&
			    prt != 20 && prt != 23 && prt < 32768)
				ovf_diag(v, E, n, "DSP0243 8.3 Parent",
				         "Parent '%s' of this drive is a ResourceType %d item, not "
				         "a controller",
				         it->parent, prt);
		}
		/* HostResource ovf:/disk/<id>, ovf:/file/<id> (DSP0243 8.3, 9.1). */
		for (size_t h = 0; h < it->n_host_resources; h++) {
			const char *hr = it->host_resources[h];
			if (hr == NULL)
				continue;
			if (strncmp(hr, "ovf://disk/", 11) == 0 ||
			    strncmp(hr, "ovf://file/", 11) == 0) {
				/* pre-1.0 drafts wrote ovf://disk/<id> */
				int disk = hr[6] == 'd';
				const char *id = hr + 11;
				if (disk ? vstd_ovf_find_disk(ovf, id) == NULL
				         : vstd_ovf_find_file(ovf, id) == NULL)
					ovf_diag(v, E, n, "DSP0243 8.3 HostResource",
					         "HostResource '%s' names no %s", hr,
					         disk ? "Disk" : "File");
				else
					ovf_diag(v, v->strict ? E : W, n,
					         "DSP0243 8.3 HostResource",
					         "HostResource '%s' uses the pre-1.0 form; DSP0243 "
					         "writes ovf:/%s/%s",
					         hr, disk ? "disk" : "file", id);
				continue;
			}
			if (strncmp(hr, "ovf:/disk/", 10) == 0 || strncmp(hr, "/disk/", 6) == 0) {
				const char *id = hr + (hr[0] == 'o' ? 10 : 6);
				if (vstd_ovf_find_disk(ovf, id) == NULL)
					ovf_diag(v, E, n, "DSP0243 8.3 HostResource",
					         "HostResource '%s' names no Disk in DiskSection",
					         hr);
			} else if (strncmp(hr, "ovf:/file/", 10) == 0 ||
			           strncmp(hr, "/file/", 6) == 0) {
				const char *id = hr + (hr[0] == 'o' ? 10 : 6);
				if (vstd_ovf_find_file(ovf, id) == NULL)
					ovf_diag(v, E, n, "DSP0243 8.3 HostResource",
					         "HostResource '%s' names no File in References",
					         hr);
			} else if (it->resource_type == VSTD_RT_DISK && hr[0] != '\0' &&
			           ovf->version != VSTD_OVF_V0_9) {
				ovf_diag(v, E, n, "DSP0243 8.3 HostResource",
				         "disk item HostResource '%s' is not an ovf:/disk/ or "
				         "ovf:/file/ "
				         "reference",
				         hr);
			}
		}
		for (size_t c = 0; c < it->n_connections; c++) {
			const char *cn = it->connections[c];
			if (cn != NULL && cn[0] != '\0' && m->n_networks > 0 &&
			    !network_declared(m, cn))
				ovf_diag(v, W, n, "DSP0243 9.2 Connection",
				         "Connection '%s' names no Network in NetworkSection", cn);
		}
		if (it->configuration != NULL)
			check_config_attr(v, n, it->configuration);
		if (it->bound != NULL && strcmp(it->bound, "min") != 0 &&
		    strcmp(it->bound, "max") != 0 && strcmp(it->bound, "normal") != 0)
			ovf_diag(v, E, n, "DSP0243 8.4 bound",
			         "ovf:bound '%s' is not min, max or normal", it->bound);
		if (it->resource_type == VSTD_RT_MEMORY && it->allocation_units != NULL) {
			uint64_t unit;
			if (vstd_ovf_parse_units(it->allocation_units, &unit) < 0)
				ovf_diag(v, E, n, "DSP0243 8.3 AllocationUnits",
				         "memory AllocationUnits '%s' is not a byte unit (DSP0004 "
				         "Annex C)",
				         it->allocation_units);
		}
		if (it->virtual_quantity_text != NULL && !it->has_virtual_quantity &&
		    ovf->version != VSTD_OVF_V0_9)
			ovf_diag(v, E, n, "DSP0243 8.3 VirtualQuantity",
			         "VirtualQuantity '%s' is not an unsigned integer",
			         it->virtual_quantity_text);
	}
	vstd_free(sorted);
}

/* ------------------------------------------------------------ products */

static int type_ok(const char *type, const char *value)
{
	uint64_t u;
	if (value == NULL || value[0] == '\0' || value[0] == '$')
		return 1;
	if (strncmp(type, "uint", 4) == 0)
		return ovf_parse_u64(value, &u) == 0;
	if (strncmp(type, "sint", 4) == 0) {
		const char *p = value[0] == '-' ? value + 1 : value;
		return ovf_parse_u64(p, &u) == 0;
	}
	if (strcmp(type, "boolean") == 0) {
		int b;
		return ovf_parse_bool(value, &b) == 0;
	}
	return 1;
}

static void check_product(ovf_vctx *v, const xmlNode *sec, const vstd_ovf_product *p)
{
	static const char *const types[] = {"uint8",  "sint8",  "uint16", "sint16", "uint32",
	                                    "sint32", "uint64", "sint64", "string", "boolean",
	                                    "real32", "real64", NULL};
	size_t pi = 0;
	for (const xmlNode *n = sec->children; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "Property") != 0 ||
		    !ovf_is_ovf_ns(v->ovf, n))
			continue;
		if (pi >= p->n_properties)
			break;
		const vstd_ovf_property *pr = &p->properties[pi++];
		if (pr->key == NULL) {
			ovf_diag(v, E, n, "DSP0243 9.5 Property", "Property has no ovf:key");
			continue;
		}
		for (size_t j = 0; j + 1 < pi; j++)
			if (p->properties[j].key && strcmp(p->properties[j].key, pr->key) == 0)
				ovf_diag(v, v->strict ? E : W, n, "DSP0243 9.5 Property",
				         "property key '%s' is not unique in this ProductSection "
				         "(also line %u)",
				         pr->key, p->properties[j].line);
		if (pr->type == NULL)
			continue;
		int known = 0;
		for (size_t t = 0; types[t] != NULL; t++)
			known |= strcmp(types[t], pr->type) == 0;
		if (!known)
			ovf_diag(
			        v, W, n, "DSP0243 9.5 Property type",
			        "property '%s' has type '%s', which is not a DSP0243 property type",
			        pr->key, pr->type);
		else if (!type_ok(pr->type, pr->default_value))
			ovf_diag(v, E, n, "DSP0243 9.5 Property value",
			         "property '%s': value '%s' is not a valid %s", pr->key,
			         pr->default_value, pr->type);
	}
}

/* ------------------------------------------------------------ 2.x sections */

static int file_declared(const vstd_ovf_model *m, const char *id)
{
	for (size_t i = 0; id != NULL && i < m->n_files; i++)
		if (m->files[i].id && strcmp(m->files[i].id, id) == 0)
			return 1;
	return 0;
}

/* DSP0243 9.11: each File names a References/File and a path. */
static void check_env_files(ovf_vctx *v, const xmlNode *sec)
{
	const vstd_ovf *ovf = v->ovf;
	for (const xmlNode *n = sec->children; n != NULL; n = n->next) {
		if (!ovf_is(ovf, n, "File"))
			continue;
		char *ref = ovf_attr(ovf, n, "fileRef");
		char *path = ovf_attr(ovf, n, "path");
		if (ref == NULL || ref[0] == '\0')
			ovf_diag(v, E, n, "DSP0243 9.11 fileRef", "File has no ovf:fileRef");
		else if (!file_declared(&ovf->model, ref))
			ovf_diag(v, E, n, "DSP0243 9.11 fileRef",
			         "ovf:fileRef '%s' names no File in References", ref);
		if (path == NULL || path[0] == '\0')
			ovf_diag(v, E, n, "DSP0243 9.11 path", "File has no ovf:path");
		xmlFree(ref);
		xmlFree(path);
	}
}

/* DSP0243 9.14: only in a VirtualSystemCollection; ovf:id names one of its members. */
static void check_scale_out(ovf_vctx *v, const xmlNode *sec, const vstd_vm *vm)
{
	if (!vm->is_collection) {
		ovf_diag(v, E, sec, "DSP0243 9.14",
		         "ScaleOutSection is allowed only in a VirtualSystemCollection");
		return;
	}
	char *id = ovf_attr(v->ovf, sec, "id");
	int found = 0;
	for (size_t i = 0; id != NULL && i < vm->n_children; i++)
		if (vm->children[i]->id && strcmp(vm->children[i]->id, id) == 0)
			found = 1;
	if (id == NULL)
		ovf_diag(v, E, sec, "DSP0243 9.14 id", "ScaleOutSection has no ovf:id");
	else if (!found)
		ovf_diag(v, E, sec, "DSP0243 9.14 id",
		         "ScaleOutSection ovf:id '%s' names no VirtualSystem or collection in "
		         "this collection",
		         id);
	for (const xmlNode *n = sec->children; n != NULL; n = n->next) {
		if (!ovf_is(v->ovf, n, "InstanceCount"))
			continue;
		char *mn = ovf_attr(v->ovf, n, "minimum"), *df = ovf_attr(v->ovf, n, "default"),
		     *mx = ovf_attr(v->ovf, n, "maximum");
		uint64_t a = 1, d = 0, b = UINT64_MAX;
		int ok = (mn == NULL || ovf_parse_u64(mn, &a) == 0) && df != NULL &&
		         ovf_parse_u64(df, &d) == 0 && (mx == NULL || ovf_parse_u64(mx, &b) == 0);
		if (!ok)
			ovf_diag(v, E, n, "DSP0243 9.14 InstanceCount",
			         "InstanceCount needs a numeric ovf:default (and numeric "
			         "minimum/maximum)");
		else if (a > d || d > b)
			ovf_diag(v, E, n, "DSP0243 9.14 InstanceCount",
			         "InstanceCount wants minimum <= default <= maximum; here %" PRIu64
			         " / %" PRIu64 " / %s",
			         a, d, mx ? mx : "unbounded");
		xmlFree(mn);
		xmlFree(df);
		xmlFree(mx);
	}
	xmlFree(id);
}

static int group_declared(const vstd_ovf_model *m, const vstd_vm *vm, const char *id)
{
	if (vm == NULL) {
		for (size_t i = 0; i < m->n_placement_groups; i++)
			if (m->placement_groups[i].id && strcmp(m->placement_groups[i].id, id) == 0)
				return 1;
		return m->root != NULL && group_declared(m, m->root, id);
	}
	for (size_t i = 0; i < vm->n_placement_groups; i++)
		if (vm->placement_groups[i].id && strcmp(vm->placement_groups[i].id, id) == 0)
			return 1;
	for (size_t c = 0; c < vm->n_children; c++)
		if (group_declared(m, vm->children[c], id))
			return 1;
	return 0;
}

/* DSP0243 9.15: ovf:group names a PlacementGroupSection. */
static void check_placement(ovf_vctx *v, const xmlNode *sec)
{
	char *g = ovf_attr(v->ovf, sec, "group");
	if (g == NULL || g[0] == '\0')
		ovf_diag(v, E, sec, "DSP0243 9.15 group", "PlacementSection has no ovf:group");
	else if (!group_declared(&v->ovf->model, NULL, g))
		ovf_diag(v, E, sec, "DSP0243 9.15 group",
		         "PlacementSection ovf:group '%s' names no PlacementGroupSection", g);
	xmlFree(g);
}

/* DSP0243 9.12: a boot order of CIM_BootSourceSettings we can map. */
static void check_boot(ovf_vctx *v, const xmlNode *sec, const vstd_vm *vm, size_t bi)
{
	if (vm->is_collection)
		ovf_diag(v, E, sec, "DSP0243 9.12",
		         "BootDeviceSection belongs in a VirtualSystem, not a collection");
	if (bi >= vm->n_boot || vm->boot == NULL)
		return;
	const vstd_ovf_boot_config *bc = &vm->boot[bi];
	if (ovf_first_child(sec, "CIM_BootConfigSetting") == NULL)
		ovf_diag(v, E, sec, "DSP0243 9.12",
		         "BootDeviceSection has no CIM_BootConfigSetting");
	for (size_t i = 0; i < bc->n_sources; i++) {
		const vstd_ovf_boot_source *b = &bc->sources[i];
		if (b->structured != NULL && b->device == 0)
			ovf_diag(v, W, NULL, "DSP0243 9.12 StructuredBootString",
			         "line %u: StructuredBootString '%s' is not "
			         "<OrgID>:<Floppy|Hard-Disk|CD/DVD|Network|PCMCIA|USB>:<index>; "
			         "it is ignored for the boot order",
			         b->line, b->structured);
	}
}

/* ------------------------------------------------------------ sections */

static void check_unknown_section(ovf_vctx *v, const xmlNode *s)
{
	char buf[96];
	const char *kind = ovf_kind(s, buf, sizeof(buf));
	if (ovf_is_ovf_ns(v->ovf, s) && is_known_section(kind))
		return;
	char *req = ovf_attr(v->ovf, s, "required");
	int required = 1, explicit_attr = req != NULL;
	if (req != NULL)
		(void)ovf_parse_bool(req, &required);
	xmlFree(req);
	if (!required)
		return;
	if (explicit_attr)
		ovf_diag(v, E, s, "DSP0243 7.3 ovf:required",
		         "section <%s> is not understood and is marked ovf:required=\"true\"",
		         kind);
	else
		ovf_diag(v, v->strict ? E : W, s, "DSP0243 7.3 ovf:required",
		         "section <%s> is not understood and has no ovf:required=\"false\" (the "
		         "default "
		         "is true)",
		         kind);
}

static void check_vm(ovf_vctx *v, const xmlNode *n, const vstd_vm *vm, size_t *ids_n,
                     const char **ids, size_t ids_cap)
{
	const vstd_ovf *ovf = v->ovf;
	if (vm->id == NULL) {
		ovf_diag(v, v->strict ? E : W, n, "DSP0243 7.2", "<%s> has no ovf:id",
		         (const char *)n->name);
	} else {
		/* vCloud Director gives a collection and its only system one id:
		 * an error only between VirtualSystems, or in strict mode. */
		for (size_t i = 0; i < *ids_n; i++)
			if (strcmp(ids[i], vm->id) == 0)
				ovf_diag(
				        v,
				        v->strict || !vm->parent || !vm->parent->is_collection ||
				                        strcmp(vm->parent->id ? vm->parent->id : "",
				                               vm->id) != 0
				                ? E
				                : W,
				        n, "DSP0243 7.2",
				        "ovf:id '%s' is used by another VirtualSystem or "
				        "collection",
				        vm->id);
		if (*ids_n < ids_cap)
			ids[(*ids_n)++] = vm->id;
	}
	if (vm->info == NULL && ovf->version != VSTD_OVF_V0_9)
		ovf_diag(v, v->strict ? E : W, n, "DSP0243 7.2 Info", "<%s> has no <Info>",
		         (const char *)n->name);
	size_t ci = 0, pi = 0, bi = 0;
	int hw = 0;
	for (const xmlNode *c = n->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (ovf_is(ovf, c, "VirtualSystem") || ovf_is(ovf, c, "VirtualSystemCollection")) {
			if (ci < vm->n_children)
				check_vm(v, c, vm->children[ci++], ids_n, ids, ids_cap);
			continue;
		}
		if (ovf_is(ovf, c, "Info") || ovf_is(ovf, c, "Name"))
			continue;
		char buf[96];
		const char *kind = ovf_kind(c, buf, sizeof(buf));
		if (ovf_is_ovf_ns(ovf, c) && strstr(kind, "Section") != NULL &&
		    ovf_first_child(c, "Info") == NULL && ovf->version != VSTD_OVF_V0_9)
			ovf_diag(v, v->strict ? E : W, c, "DSP0243 9 Info", "<%s> has no <Info>",
			         kind);
		if (ovf_is(ovf, c, "VirtualHardwareSection")) {
			/* every section: each is a complete alternative (DSP0243 8.1) */
			if ((size_t)hw < vm->n_hardware_sections && vm->hardware != NULL)
				check_items(v, &vm->hardware[hw], c);
			hw++;
		} else if (ovf_is(ovf, c, "EnvironmentFilesSection")) {
			check_env_files(v, c);
		} else if (ovf_is(ovf, c, "ScaleOutSection")) {
			check_scale_out(v, c, vm);
		} else if (ovf_is(ovf, c, "PlacementSection")) {
			check_placement(v, c);
		} else if (ovf_is(ovf, c, "BootDeviceSection")) {
			check_boot(v, c, vm, bi++);
		} else if (ovf_is(ovf, c, "ProductSection")) {
			if (pi < vm->n_products)
				check_product(v, c, &vm->products[pi++]);
		} else if (ovf_is(ovf, c, "StartupSection")) {
			if (!vm->is_collection)
				ovf_diag(v, E, c, "DSP0243 9.7",
				         "StartupSection is allowed only in a "
				         "VirtualSystemCollection");
		} else if (ovf_is(ovf, c, "DiskSection") || ovf_is(ovf, c, "NetworkSection") ||
		           ovf_is(ovf, c, "DeploymentOptionSection")) {
			if (ovf->version != VSTD_OVF_V0_9)
				ovf_diag(v, W, c, "DSP0243 9",
				         "<%s> belongs to the Envelope; here it is ignored", kind);
		} else {
			check_unknown_section(v, c);
		}
	}
	if (!vm->is_collection && hw == 0)
		ovf_diag(v, ovf->version == VSTD_OVF_V0_9 ? W : E, n, "DSP0243 8.1",
		         "VirtualSystem '%s' has no VirtualHardwareSection", vm->id ? vm->id : "");
}

void ovf_validate_rules(ovf_vctx *v)
{
	const vstd_ovf *ovf = v->ovf;
	const vstd_ovf_model *m = &ovf->model;
	const xmlNode *content = NULL;
	int have_refs = 0;
	size_t disk_cursor = 0, shared_cursor = 0;
	for (const xmlNode *c = ovf->envelope->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (ovf_is(ovf, c, "References")) {
			have_refs = 1;
			check_references(v, c);
		} else if (ovf_is(ovf, c, "DiskSection")) {
			check_disks(v, c, 0, &disk_cursor);
		} else if (ovf_is(ovf, c, "SharedDiskSection")) {
			check_disks(v, c, 1, &shared_cursor);
		} else if (ovf_is(ovf, c, "VirtualSystem") ||
		           ovf_is(ovf, c, "VirtualSystemCollection")) {
			if (content == NULL)
				content = c;
		} else if (ovf_is(ovf, c, "DeploymentOptionSection")) {
			int defaults = 0;
			for (size_t i = 0; i < m->n_configs; i++) {
				defaults += m->configs[i].is_default;
				for (size_t j = 0; j < i; j++)
					if (m->configs[i].id && m->configs[j].id &&
					    strcmp(m->configs[i].id, m->configs[j].id) == 0)
						ovf_diag(v, E, c, "DSP0243 9.8",
						         "Configuration id '%s' is not unique",
						         m->configs[i].id);
			}
			if (defaults > 1)
				ovf_diag(v, E, c, "DSP0243 9.8",
				         "%d Configurations are marked default", defaults);
		} else if (ovf_is(ovf, c, "NetworkSection") || ovf_is(ovf, c, "Strings")) {
			/* nothing beyond structure */
		} else {
			check_unknown_section(v, c);
		}
		if (ovf_is_ovf_ns(ovf, c)) {
			char buf[96];
			const char *kind = ovf_kind(c, buf, sizeof(buf));
			if (strstr(kind, "Section") != NULL && ovf_first_child(c, "Info") == NULL &&
			    ovf->version != VSTD_OVF_V0_9)
				ovf_diag(v, v->strict ? E : W, c, "DSP0243 9 Info",
				         "<%s> has no <Info>", kind);
		}
	}
	/* DSP0243 5.1: the descriptor's file name ends in .ovf. */
	const char *nm = vstd_ovf_name(ovf);
	size_t nl = strlen(nm);
	const char *slash = strrchr(nm, '/');
	const char *base = slash ? slash + 1 : nm;
	if (v->opts->file_size == NULL && strchr(base, '.') != NULL &&
	    (nl < 4 || strcasecmp(nm + nl - 4, ".ovf") != 0) && strcmp(nm, "descriptor") != 0)
		ovf_diag(v, v->strict ? E : W, NULL, "DSP0243 5.1",
		         "the descriptor '%s' does not have the extension .ovf", nm);
	if (!have_refs && ovf->version != VSTD_OVF_V0_9)
		ovf_diag(v, v->strict ? E : W, ovf->envelope, "DSP0243 7.1",
		         "Envelope has no References element");
	if (content == NULL || m->root == NULL) {
		ovf_diag(v, ovf->version == VSTD_OVF_V0_9 ? W : E, ovf->envelope, "DSP0243 7.2",
		         "Envelope has no VirtualSystem or VirtualSystemCollection");
		return;
	}
	const char *ids[1024];
	size_t ids_n = 0;
	check_vm(v, content, m->root, &ids_n, ids, 1024);
}
