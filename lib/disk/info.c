/*
 * disk/info.c - vstd_disk_info_get and vstd_disk_check.
 */
#include <json-c/json.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "core/io_internal.h"
#include "disk/disk_internal.h"

/* The info and the strings it points to live in one allocation set. */
struct info_box {
	vstd_disk_info info;
	char *strings[6];
};

static const char *keep(struct info_box *box, int slot, const char *s)
{
	if (s == NULL)
		return NULL;
	box->strings[slot] = vstd_strdup(s);
	return box->strings[slot];
}

int vstd_disk_info_get(vstd_disk *d, vstd_disk_info **out)
{
	struct info_box *box = vstd_calloc(1, sizeof(*box));
	json_object *root = NULL, *data = NULL;
	struct stat st;
	int fd, rc = 0;
	if (box == NULL)
		return vstd_err_code();
	box->info.virtual_size = d->size;
	box->info.read_only = !(d->flags & VSTD_DISK_RDWR);
	fd = vstd_io_file_fd(d->io, NULL);
	if (fd >= 0 && fstat(fd, &st) == 0)
		box->info.actual_size = (uint64_t)st.st_blocks * 512;
	else if (vstd_io_size(d->io, &box->info.actual_size) < 0)
		box->info.actual_size = 0;
	data = json_object_new_object();
	if (data == NULL) {
		rc = vstd_err(VSTD_ENOMEM, "out of memory building image information");
		goto fail;
	}
	if (d->drv->info != NULL && (rc = d->drv->info(d, &box->info, data)) < 0)
		goto fail;
	root = json_object_new_object();
	if (root == NULL ||
	    json_object_object_add(root, "type", json_object_new_string(d->drv->name)) != 0) {
		rc = vstd_err(VSTD_ENOMEM, "out of memory building image information");
		goto fail;
	}
	json_object_object_add(root, "data", data);
	data = NULL;
	box->info.filename = keep(box, 0, d->filename);
	box->info.format = d->drv->name;
	box->info.backing_filename = keep(box, 1, d->backing_name);
	box->info.backing_filename_full = keep(box, 2, d->backing_path);
	box->info.backing_format = keep(box, 3, d->backing_format);
	box->info.format_specific_json =
	        keep(box, 4, json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	if (box->info.filename == NULL || box->info.format_specific_json == NULL ||
	    (d->backing_name != NULL && box->info.backing_filename == NULL) ||
	    (d->backing_path != NULL && box->info.backing_filename_full == NULL) ||
	    (d->backing_format != NULL && box->info.backing_format == NULL)) {
		rc = vstd_err_code();
		goto fail;
	}
	json_object_put(root);
	*out = &box->info;
	return 0;
fail:
	json_object_put(data);
	json_object_put(root);
	vstd_disk_info_free(&box->info);
	return rc;
}

void vstd_disk_info_free(vstd_disk_info *info)
{
	struct info_box *box = (struct info_box *)info;
	if (box == NULL)
		return;
	for (size_t i = 0; i < sizeof(box->strings) / sizeof(box->strings[0]); i++)
		vstd_free(box->strings[i]);
	vstd_free(box);
}

int vstd_disk_check(vstd_disk *d, unsigned flags, vstd_disk_check_result *result)
{
	memset(result, 0, sizeof(*result));
	if ((flags & VSTD_CHECK_REPAIR_ALL) && !(d->flags & VSTD_DISK_RDWR))
		return vstd_err(VSTD_EPERM, "%s: repair needs the image opened for writing",
		                d->filename);
	if (d->drv->check == NULL)
		return 0;
	result->supported = 1;
	return d->drv->check(d, flags, result);
}

void vstd_disk_check_result_clear(vstd_disk_check_result *result)
{
	if (result == NULL)
		return;
	vstd_free(result->report);
	result->report = NULL;
}
