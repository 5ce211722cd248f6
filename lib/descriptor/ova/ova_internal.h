/*
 * descriptor/ova/ova_internal.h - package access shared by the OVA reader,
 * the manifest/certificate code and the CLI helpers: a package is either an
 * OVA (tar) or a directory holding the descriptor and its files.
 */
#ifndef VSTD_DESCRIPTOR_OVA_INTERNAL_H
#define VSTD_DESCRIPTOR_OVA_INTERNAL_H

#include "vstd/ovf.h"

typedef struct ovf_pkg {
	vstd_ova *ova;   /* or NULL */
	const char *dir; /* with ova NULL: the directory */
} ovf_pkg;

/* Size of a file of the package; VSTD_ENOENT naming it when absent. */
int ovf_pkg_size(const ovf_pkg *pkg, const char *name, uint64_t *size);
/* Stream the stored bytes of a file (no decompression). */
int ovf_pkg_stream(const ovf_pkg *pkg, const char *name, vstd_ova_data_fn fn, void *opaque);
/* Read a small file whole (at most max bytes); *data from vstd_malloc, NUL-terminated. */
int ovf_pkg_read_all(const ovf_pkg *pkg, const char *name, size_t max, char **data, size_t *len);

/*
 * A read-only vstd_io over the gzip stream in src (borrowed), inflated on
 * demand with bounded memory (gzio.c).  Scans the stream once; more than
 * limit inflated bytes: VSTD_ELIMIT.
 */
int ova_gzio_open(vstd_io **out, vstd_io *src, const char *name, uint64_t limit);

/* Manifest (manifest.c). */
typedef struct ovf_mf_entry {
	char alg[16]; /* "SHA1", "SHA256", "SHA512" */
	char *name;
	char hex[129];
	unsigned line;
} ovf_mf_entry;

typedef struct ovf_mf {
	ovf_mf_entry *e;
	size_t n;
} ovf_mf;

int ovf_mf_parse(ovf_mf *mf, const char *data, size_t len, const char *what);
void ovf_mf_free(ovf_mf *mf);
/* Hex digest of a package file with the named algorithm ("SHA256"). */
int ovf_pkg_digest(const ovf_pkg *pkg, const char *name, const char *alg, char *hex,
                   size_t hex_size);
/* Hex digest of memory or a file path. */
int ovf_digest_mem(const char *alg, const void *data, size_t len, char *hex, size_t hex_size);
int ovf_digest_path(const char *alg, const char *path, char *hex, size_t hex_size);
/* "sha256" -> "SHA256"; NULL if unknown. */
const char *ovf_mf_alg_name(const char *digest);

/* Certificate (cert.c). */
int ovf_cert_make(const char *mf_name, const void *mf, size_t mf_len, const char *alg,
                  const char *key_pem, const char *cert_pem, char **out, size_t *out_len);
int ovf_cert_verify(const char *cert_name, const char *cert, size_t cert_len, const char *mf_name,
                    const void *mf, size_t mf_len, const vstd_ovf_verify_opts *opts,
                    vstd_ovf_verify_result *res);

/* The descriptor's name ("x.ovf") to "x.mf" / "x.cert" (vstd_malloc). */
char *ovf_sibling_name(const char *ovf_name, const char *ext);

#endif
