/*
 * disk/compare.c - vstd_disk_compare: are two disks' guest-visible contents
 * the same?  Follows qemu-img compare: areas that read as zeroes in both
 * (by block status) are not read; without STRICT a size difference is fine
 * when the larger disk's extra part reads as zeroes; with STRICT, sizes and
 * allocation (allocated in one chain, unallocated in the other) must match.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "disk/driver.h"

#define CMP_CHUNK ((size_t)1 << 20)

/* The first index where a and b differ, or len. */
static size_t first_diff(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t i = 0;
	while (i + 64 <= len && memcmp(a + i, b + i, 64) == 0)
		i += 64;
	while (i < len && a[i] == b[i])
		i++;
	return i;
}

static size_t first_nonzero(const uint8_t *a, size_t len)
{
	size_t i = 0;
	while (i + 4096 <= len && vstd_is_zero(a + i, 4096))
		i += 4096;
	while (i < len && a[i] == 0)
		i++;
	return i;
}

static int is_zero_status(const vstd_block_status *st)
{
	return (st->flags & VSTD_BLOCK_ZERO) || !(st->flags & VSTD_BLOCK_DATA);
}

static int report(vstd_progress_fn progress, void *opaque, uint64_t done, uint64_t total)
{
	if (progress != NULL && progress(done, total, opaque))
		return vstd_err(VSTD_ECANCELED, "compare: canceled at offset %" PRIu64, done);
	return 0;
}

int vstd_disk_compare(vstd_disk *a, vstd_disk *b, unsigned flags, vstd_progress_fn progress,
                      void *opaque, vstd_disk_compare_result *res)
{
	uint64_t sa, sb, common, off = 0, total;
	uint8_t *ba = NULL, *bb = NULL;
	int rc = 0;
	if (a == NULL || b == NULL || res == NULL)
		return vstd_err(VSTD_EINVAL, "vstd_disk_compare: missing disk or result");
	memset(res, 0, sizeof(*res));
	res->identical = 1;
	sa = vstd_disk_size(a);
	sb = vstd_disk_size(b);
	common = sa < sb ? sa : sb;
	total = sa > sb ? sa : sb;
	res->size_mismatch = sa != sb;
	if (res->size_mismatch && (flags & VSTD_COMPARE_STRICT)) {
		res->identical = 0;
		res->first_difference = common;
		return 0;
	}
	ba = vstd_malloc(CMP_CHUNK);
	bb = vstd_malloc(CMP_CHUNK);
	if (ba == NULL || bb == NULL) {
		rc = vstd_err_code();
		goto out;
	}
	while (off < common) {
		vstd_block_status st1, st2;
		uint64_t n;
		size_t d;
		if ((rc = vstd_disk_map(a, off, common - off, &st1)) < 0 ||
		    (rc = vstd_disk_map(b, off, common - off, &st2)) < 0)
			goto out;
		n = st1.length < st2.length ? st1.length : st2.length;
		if (n == 0) {
			rc = vstd_err(VSTD_ERROR, "compare: no block status at offset %" PRIu64,
			              off);
			goto out;
		}
		if ((flags & VSTD_COMPARE_STRICT) &&
		    (st1.flags & VSTD_BLOCK_ALLOCATED) != (st2.flags & VSTD_BLOCK_ALLOCATED)) {
			res->identical = 0;
			res->first_difference = off;
			goto out;
		}
		if (is_zero_status(&st1) && is_zero_status(&st2)) {
			off += n;
			if ((rc = report(progress, opaque, off, total)) < 0)
				goto out;
			continue;
		}
		if (n > CMP_CHUNK)
			n = CMP_CHUNK;
		if (is_zero_status(&st1))
			memset(ba, 0, (size_t)n);
		else if ((rc = vstd_disk_read(a, off, ba, (size_t)n)) < 0)
			goto out;
		if (is_zero_status(&st2))
			memset(bb, 0, (size_t)n);
		else if ((rc = vstd_disk_read(b, off, bb, (size_t)n)) < 0)
			goto out;
		d = first_diff(ba, bb, (size_t)n);
		if (d < n) {
			res->identical = 0;
			res->first_difference = off + d;
			goto out;
		}
		off += n;
		if ((rc = report(progress, opaque, off, total)) < 0)
			goto out;
	}
	/* The extra part of the larger disk must read as zeroes. */
	{
		vstd_disk *big = sa > sb ? a : b;
		while (off < total) {
			vstd_block_status st;
			uint64_t n;
			size_t d;
			if ((rc = vstd_disk_map(big, off, total - off, &st)) < 0)
				goto out;
			n = st.length;
			if (n == 0) {
				rc = vstd_err(VSTD_ERROR,
				              "compare: no block status at offset %" PRIu64, off);
				goto out;
			}
			if (!is_zero_status(&st)) {
				if (n > CMP_CHUNK)
					n = CMP_CHUNK;
				if ((rc = vstd_disk_read(big, off, ba, (size_t)n)) < 0)
					goto out;
				d = first_nonzero(ba, (size_t)n);
				if (d < n) {
					res->identical = 0;
					res->first_difference = off + d;
					goto out;
				}
			}
			off += n;
			if ((rc = report(progress, opaque, off, total)) < 0)
				goto out;
		}
	}
out:
	vstd_free(ba);
	vstd_free(bb);
	return rc;
}
