/*
 * disk/qcow2/compress.c - compressed clusters.
 *
 * zlib clusters hold a raw deflate stream (no zlib header, window 4 KiB
 * as qemu writes them; any window up to 32 KiB inflates); zstd clusters
 * hold zstd frames.  A compressed descriptor gives the host offset and a
 * length in 512-byte sectors that may run past the real data: decoders
 * stop when the cluster is full.
 *
 * qcow2_compress_buf is pure and thread-safe (convert runs it on workers).
 */
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "disk/qcow2/qcow2.h"

static int inflate_raw(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	z_stream z;
	int ret;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -15) != Z_OK)
		return -1;
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)in_len;
	z.next_out = out;
	z.avail_out = (uInt)out_len;
	ret = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	if (ret == Z_STREAM_END || (ret == Z_BUF_ERROR && z.avail_out == 0)) {
		memset(z.next_out, 0, z.avail_out);
		return 0;
	}
	return -1;
}

static int unzstd(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	ZSTD_DStream *ds = ZSTD_createDStream();
	ZSTD_inBuffer ib = {in, in_len, 0};
	ZSTD_outBuffer ob = {out, out_len, 0};
	int rc = -1;
	if (ds == NULL)
		return -1;
	while (ob.pos < ob.size) {
		size_t r = ZSTD_decompressStream(ds, &ob, &ib);
		if (ZSTD_isError(r))
			break;
		if (r == 0 && ob.pos < ob.size) {
			/* a frame ended: another may follow; stop when input is used up */
			if (ib.pos >= ib.size)
				break;
			continue;
		}
		if (ib.pos >= ib.size && ob.pos < ob.size)
			break;
	}
	if (ob.pos == ob.size)
		rc = 0;
	ZSTD_freeDStream(ds);
	return rc;
}

int qcow2_decompress(struct qcow2 *s, uint64_t descriptor, uint8_t *out)
{
	uint64_t off, len, fsize;
	size_t got = 0;
	int rc, bad;
	qcow2_compressed_loc(s, descriptor, &off, &len);
	if (len > 2 * s->cluster_size + 512)
		len = 2 * s->cluster_size + 512;
	if ((rc = vstd_io_size(s->io, &fsize)) < 0)
		return rc;
	if (off >= fsize || off < s->cluster_size)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: compressed cluster data at 0x%" PRIx64
		                " is in the header or past the end of the file (%" PRIu64 " bytes)",
		                s->name, off, fsize);
	if ((rc = vstd_io_pread_partial(s->io, s->cbuf, len, off, &got)) < 0)
		return rc;
	if (s->compression_type == QCOW2_COMPRESS_ZSTD)
		bad = unzstd(s->cbuf, got, out, s->cluster_size);
	else
		bad = inflate_raw(s->cbuf, got, out, s->cluster_size);
	if (bad)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: compressed cluster at 0x%" PRIx64 " (%" PRIu64
		                " bytes) does not decompress (%s)",
		                s->name, off, len,
		                s->compression_type == QCOW2_COMPRESS_ZSTD ? "zstd" : "deflate");
	return 0;
}

int qcow2_compress_buf(int type, const void *in, size_t in_len, void *out, size_t out_cap,
                       size_t *out_len)
{
	if (type == QCOW2_COMPRESS_ZSTD) {
		size_t r = ZSTD_compress(out, out_cap, in, in_len, 1);
		if (ZSTD_isError(r)) /* mostly: the output did not fit */
			return vstd_err(VSTD_ERANGE, "data does not compress (zstd: %s)",
			                ZSTD_getErrorName(r));
		*out_len = r;
	} else {
		z_stream z;
		int ret;
		memset(&z, 0, sizeof(z));
		/* raw deflate with a 4 KiB window, as qemu writes */
		if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
		                 Z_DEFAULT_STRATEGY) != Z_OK)
			return vstd_err(VSTD_ENOMEM, "zlib: cannot initialise deflate");
		z.next_in = (Bytef *)(uintptr_t)in;
		z.avail_in = (uInt)in_len;
		z.next_out = out;
		z.avail_out = (uInt)out_cap;
		ret = deflate(&z, Z_FINISH);
		*out_len = out_cap - z.avail_out;
		deflateEnd(&z);
		if (ret != Z_STREAM_END)
			return vstd_err(VSTD_ERANGE, "data does not compress");
	}
	if (*out_len >= in_len)
		return vstd_err(VSTD_ERANGE, "data does not compress");
	return 0;
}
