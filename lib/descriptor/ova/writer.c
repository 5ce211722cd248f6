/*
 * descriptor/ova/writer.c - writing an OVA (DSP0243 5.3): a ustar archive
 * whose first member is the descriptor, then the manifest and certificate,
 * then the files in the order given (References order).  The digests are
 * computed in a first pass over the inputs, since the manifest precedes
 * the files in the archive.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "descriptor/ova/ova_internal.h"
#include "descriptor/ova/tar.h"

#define COPY_CHUNK (1u << 20)

typedef struct tar_out {
	vstd_io *io;
	uint64_t off;
	uint64_t mtime;
	unsigned char *buf;
} tar_out;

static int put_member(tar_out *t, const char *name, vstd_io *src, const void *data, uint64_t size)
{
	unsigned char hdr[TAR_BLOCK];
	int rc = tar_encode(hdr, name, size, t->mtime, '0');
	if (rc < 0)
		return rc;
	rc = vstd_io_pwrite(t->io, hdr, TAR_BLOCK, t->off);
	if (rc < 0)
		return rc;
	t->off += TAR_BLOCK;
	if (src != NULL) {
		for (uint64_t o = 0; o < size;) {
			size_t n = size - o < COPY_CHUNK ? (size_t)(size - o) : COPY_CHUNK;
			rc = vstd_io_pread(src, t->buf, n, o);
			if (rc == 0)
				rc = vstd_io_pwrite(t->io, t->buf, n, t->off + o);
			if (rc < 0)
				return rc;
			o += n;
		}
	} else if (size > 0) {
		rc = vstd_io_pwrite(t->io, data, (size_t)size, t->off);
		if (rc < 0)
			return rc;
	}
	t->off += size;
	uint64_t pad = vstd_align_up(size, TAR_BLOCK) - size;
	if (pad > 0) {
		static const unsigned char zero[TAR_BLOCK];
		rc = vstd_io_pwrite(t->io, zero, (size_t)pad, t->off);
		if (rc < 0)
			return rc;
		t->off += pad;
	}
	return 0;
}

static int digest_input(const vstd_ova_input *in, const char *alg, char *hex, size_t hex_size)
{
	if (in->path != NULL)
		return ovf_digest_path(alg, in->path, hex, hex_size);
	return ovf_digest_mem(alg, in->data, in->len, hex, hex_size);
}

int vstd_ova_create(const char *path, const vstd_ova_input *inputs, size_t n_inputs,
                    const vstd_ova_create_opts *opts)
{
	vstd_ova_create_opts o = VSTD_OVA_CREATE_OPTS_INIT;
	if (opts != NULL)
		o = *opts;
	if (path == NULL || inputs == NULL || n_inputs == 0)
		return vstd_err(VSTD_EINVAL,
		                "vstd_ova_create: need a path and at least the descriptor");
	size_t dl = inputs[0].name ? strlen(inputs[0].name) : 0;
	if (dl < 5 || strcasecmp(inputs[0].name + dl - 4, ".ovf") != 0)
		return vstd_err(VSTD_EINVAL,
		                "vstd_ova_create: the first input must be the .ovf descriptor");
	for (size_t i = 0; i < n_inputs; i++)
		if (inputs[i].name == NULL || strchr(inputs[i].name, '/') != NULL ||
		    strcmp(inputs[i].name, "..") == 0 || inputs[i].name[0] == '\0')
			return vstd_err(VSTD_EINVAL,
			                "vstd_ova_create: input %zu: member name must be a "
			                "plain file name",
			                i);
	int manifest = !(o.digest != NULL && strcasecmp(o.digest, "none") == 0);
	const char *alg = manifest ? ovf_mf_alg_name(o.digest) : NULL;
	if (manifest && alg == NULL)
		return vstd_err(VSTD_EINVAL,
		                "vstd_ova_create: unknown digest '%s' (sha1, sha256, sha512)",
		                o.digest);
	if (o.sign_key != NULL && (!manifest || o.sign_cert == NULL))
		return vstd_err(VSTD_EINVAL,
		                "vstd_ova_create: signing needs a manifest and a certificate");

	char *mf = NULL, *cert = NULL, *mf_name = NULL, *cert_name = NULL;
	size_t mf_len = 0, cert_len = 0;
	int rc = 0;
	if (manifest) {
		size_t cap = 0;
		for (size_t i = 0; rc == 0 && i < n_inputs; i++) {
			char hex[129];
			rc = digest_input(&inputs[i], alg, hex, sizeof(hex));
			if (rc < 0)
				break;
			size_t need = strlen(alg) + strlen(inputs[i].name) + strlen(hex) + 8;
			if (mf_len + need > cap) {
				size_t nc = (cap + need) * 2;
				char *nb = vstd_realloc(mf, nc);
				if (nb == NULL) {
					rc = VSTD_ENOMEM;
					break;
				}
				mf = nb;
				cap = nc;
			}
			mf_len += (size_t)snprintf(mf + mf_len, cap - mf_len, "%s(%s)= %s\n", alg,
			                           inputs[i].name, hex);
		}
		mf_name = ovf_sibling_name(inputs[0].name, ".mf");
		cert_name = ovf_sibling_name(inputs[0].name, ".cert");
		if (rc == 0 && (mf_name == NULL || cert_name == NULL))
			rc = VSTD_ENOMEM;
		if (rc == 0 && o.sign_key != NULL)
			rc = ovf_cert_make(mf_name, mf, mf_len, alg, o.sign_key, o.sign_cert, &cert,
			                   &cert_len);
	}
	tar_out t;
	memset(&t, 0, sizeof(t));
	t.mtime = (uint64_t)time(NULL);
	int created = 0;
	if (rc == 0) {
		t.buf = vstd_malloc(COPY_CHUNK);
		rc = t.buf ? vstd_io_file_open(&t.io, path,
		                               VSTD_IO_WRITE | VSTD_IO_CREATE | VSTD_IO_TRUNC)
		           : VSTD_ENOMEM;
		created = rc == 0;
	}
	for (size_t i = 0; rc == 0 && i < n_inputs; i++) {
		const vstd_ova_input *in = &inputs[i];
		if (in->path != NULL) {
			vstd_io *src = NULL;
			uint64_t size = 0;
			rc = vstd_io_file_open(&src, in->path, VSTD_IO_READ);
			if (rc == 0)
				rc = vstd_io_size(src, &size);
			if (rc == 0)
				rc = put_member(&t, in->name, src, NULL, size);
			vstd_io_close(src);
		} else {
			rc = put_member(&t, in->name, NULL, in->data, in->len);
		}
		if (rc == 0 && i == 0 && manifest) {
			rc = put_member(&t, mf_name, NULL, mf, mf_len);
			if (rc == 0 && cert != NULL)
				rc = put_member(&t, cert_name, NULL, cert, cert_len);
		}
	}
	if (rc == 0) {
		/* two zero blocks end the archive; round up to 10 KiB records as tar does */
		uint64_t end = vstd_align_up(t.off + 2 * TAR_BLOCK, 20 * TAR_BLOCK);
		rc = vstd_io_write_zeroes(t.io, t.off, end - t.off, 0);
		if (rc == 0)
			rc = vstd_io_truncate(t.io, end);
		if (rc == 0)
			rc = vstd_io_flush(t.io);
	}
	vstd_io_close(t.io);
	if (rc < 0 && created)
		unlink(path);
	vstd_free(t.buf);
	vstd_free(mf);
	vstd_free(cert);
	vstd_free(mf_name);
	vstd_free(cert_name);
	return rc;
}
