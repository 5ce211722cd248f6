/*
 * core/kv.h - "key=value,key=value" option lists (qemu-img -o syntax) and
 * size/number parsing shared by the library and the CLI.
 *
 * A comma inside a value is written ",,".  Keys are unique: a repeated key
 * is an error.  vstd_kv_get_* mark a key as used; vstd_kv_unused() names the
 * first key nobody asked for, so that "unknown option" errors are exact.
 */
#ifndef VSTD_CORE_KV_H
#define VSTD_CORE_KV_H

#include <stddef.h>
#include <stdint.h>

typedef struct vstd_kv vstd_kv;

/* Parse; an empty or NULL string gives an empty list.  what names the source in errors. */
int vstd_kv_parse(vstd_kv **out, const char *text, const char *what);
void vstd_kv_free(vstd_kv *kv);
/* Add key=value (replacing); used by callers that fold flags into options. */
int vstd_kv_set(vstd_kv *kv, const char *key, const char *value);
/* The raw value or NULL. */
const char *vstd_kv_get(vstd_kv *kv, const char *key);
/* Typed getters: 0 with *out set (def when absent), or VSTD_EINVAL naming key and value. */
int vstd_kv_get_size(vstd_kv *kv, const char *key, uint64_t def, uint64_t *out);
int vstd_kv_get_u64(vstd_kv *kv, const char *key, uint64_t def, uint64_t *out);
int vstd_kv_get_bool(vstd_kv *kv, const char *key, int def, int *out);
/* One of choices (NULL-terminated); *index gets its position. */
int vstd_kv_get_enum(vstd_kv *kv, const char *key, const char *const *choices, size_t def,
                     size_t *index);
/* The first key no getter asked for, or NULL. */
const char *vstd_kv_unused(const vstd_kv *kv);
size_t vstd_kv_count(const vstd_kv *kv);
const char *vstd_kv_key(const vstd_kv *kv, size_t i);

/*
 * vstd_parse_size - "65536", "64k", "1.5G", "2T", "512b" (suffixes k M G T P
 * E are binary; "b"/"B" bytes).  Rejects negatives, junk, overflow and
 * values above max, with a message naming `what`.
 */
int vstd_parse_size(const char *text, uint64_t max, const char *what, uint64_t *out);

#endif
