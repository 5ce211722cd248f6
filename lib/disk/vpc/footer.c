/*
 * disk/vpc/footer.c - the 512-byte VHD footer ("conectix"): every VHD ends
 * with one; sparse images also keep a copy at offset 0.  Big-endian fields,
 * a one's complement byte-sum checksum (docs/formats/vhd.md).
 */
#include <string.h>

#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "disk/vpc/vpc.h"

uint32_t vpc_checksum(const uint8_t *buf, size_t len, size_t csum_off)
{
	uint32_t sum = 0;
	for (size_t i = 0; i < len; i++) {
		if (i >= csum_off && i < csum_off + 4)
			continue;
		sum += buf[i];
	}
	return ~sum;
}

int vpc_footer_looks_valid(const uint8_t *raw)
{
	return memcmp(raw, "conectix", 8) == 0 &&
	       vpc_checksum(raw, VPC_FOOTER_SIZE, 64) == vstd_be32(raw + 64);
}

int vpc_footer_parse(const uint8_t raw[VPC_FOOTER_SIZE], struct vpc_footer *f, int check_sum)
{
	if (memcmp(raw, "conectix", 8) != 0)
		return -1;
	memset(f, 0, sizeof(*f));
	f->features = vstd_be32(raw + 8);
	f->version = vstd_be32(raw + 12);
	f->data_offset = vstd_be64(raw + 16);
	f->timestamp = vstd_be32(raw + 24);
	memcpy(f->creator_app, raw + 28, 4);
	f->creator_app[4] = '\0';
	f->creator_version = vstd_be32(raw + 32);
	f->creator_os = vstd_be32(raw + 36);
	f->original_size = vstd_be64(raw + 40);
	f->current_size = vstd_be64(raw + 48);
	f->cylinders = vstd_be16(raw + 56);
	f->heads = raw[58];
	f->spt = raw[59];
	f->type = vstd_be32(raw + 60);
	f->checksum = vstd_be32(raw + 64);
	memcpy(f->uuid, raw + 68, 16);
	f->saved_state = raw[84];
	if (check_sum && vpc_checksum(raw, VPC_FOOTER_SIZE, 64) != f->checksum)
		return -2;
	return 0;
}

void vpc_footer_write(const struct vpc_footer *f, uint8_t raw[VPC_FOOTER_SIZE])
{
	memset(raw, 0, VPC_FOOTER_SIZE);
	memcpy(raw, "conectix", 8);
	vstd_put_be32(raw + 8, f->features);
	vstd_put_be32(raw + 12, f->version);
	vstd_put_be64(raw + 16, f->data_offset);
	vstd_put_be32(raw + 24, f->timestamp);
	memcpy(raw + 28, f->creator_app, 4);
	vstd_put_be32(raw + 32, f->creator_version);
	vstd_put_be32(raw + 36, f->creator_os);
	vstd_put_be64(raw + 40, f->original_size);
	vstd_put_be64(raw + 48, f->current_size);
	vstd_put_be16(raw + 56, f->cylinders);
	raw[58] = f->heads;
	raw[59] = f->spt;
	vstd_put_be32(raw + 60, f->type);
	memcpy(raw + 68, f->uuid, 16);
	raw[84] = f->saved_state;
	vstd_put_be32(raw + 64, vpc_checksum(raw, VPC_FOOTER_SIZE, 64));
}

/*
 * The footer is at the end of the file.  Older Virtual PC images kept it in
 * the last 511 bytes (an off-by-one), and a sparse image whose trailing
 * footer was lost (a crash while a block was being added) still has the
 * copy at offset 0: both are accepted, the copy with a warning left to the
 * caller via *footer_off == 0.
 */
int vpc_footer_load(vstd_io *io, const char *name, struct vpc_footer *f,
                    uint8_t raw[VPC_FOOTER_SIZE], uint64_t *footer_off, uint64_t *file_size)
{
	uint8_t head[VPC_FOOTER_SIZE];
	uint64_t size, off;
	int rc, tail_rc = -1, head_rc;
	if ((rc = vstd_io_size(io, &size)) < 0)
		return rc;
	*file_size = size;
	if (size < VPC_FOOTER_SIZE)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: file of %" PRIu64 " bytes is too short for a VHD footer", name,
		                size);
	off = size - VPC_FOOTER_SIZE;
	if ((rc = vstd_io_pread(io, raw, VPC_FOOTER_SIZE, off)) < 0)
		return rc;
	tail_rc = vpc_footer_parse(raw, f, 1);
	if (tail_rc == -1 && size >= VPC_FOOTER_SIZE + 1) {
		/* the 511-byte footer of old Virtual PC versions */
		uint8_t alt[VPC_FOOTER_SIZE];
		memset(alt, 0, sizeof(alt));
		if ((rc = vstd_io_pread(io, alt, VPC_FOOTER_SIZE - 1,
		                        size - (VPC_FOOTER_SIZE - 1))) < 0)
			return rc;
		if (vpc_footer_parse(alt, f, 1) == 0) {
			memcpy(raw, alt, VPC_FOOTER_SIZE);
			*footer_off = size - (VPC_FOOTER_SIZE - 1);
			return 0;
		}
	}
	if (tail_rc == 0) {
		*footer_off = off;
		return 0;
	}
	if ((rc = vstd_io_pread(io, head, VPC_FOOTER_SIZE, 0)) < 0)
		return rc;
	if (tail_rc == -2 && off != 0 && memcmp(head, raw, VPC_FOOTER_SIZE) == 0 &&
	    vstd_be32(raw + 60) != VPC_FIXED) {
		/*
		 * Both copies agree byte for byte but the checksum does not: a
		 * tool edited the footer (seen in the wild: a dynamic image made
		 * differencing by hand) rather than the disk rotting in two
		 * places.  libvhdi reads such images; so do we, with a warning.
		 */
		vstd_warn("vpc",
		          "%s: VHD footer at offset 0x%" PRIx64
		          " has a bad checksum (stored 0x%08x, computed 0x%08x), but its copy at "
		          "offset 0 is identical; using it",
		          name, off, vstd_be32(raw + 64), vpc_checksum(raw, VPC_FOOTER_SIZE, 64));
		vpc_footer_parse(raw, f, 0);
		*footer_off = off;
		return 1;
	}
	head_rc = vpc_footer_parse(head, f, 1);
	if (head_rc == 0 && f->type != VPC_FIXED) {
		memcpy(raw, head, VPC_FOOTER_SIZE);
		*footer_off = 0; /* the caller finds the image end from the BAT */
		return 0;
	}
	if (tail_rc == -2 || head_rc == -2)
		return vstd_err(VSTD_ECORRUPT,
		                "%s: VHD footer at offset 0x%" PRIx64
		                " has a bad checksum (stored 0x%08x, computed 0x%08x)",
		                name, tail_rc == -2 ? off : (uint64_t)0,
		                vstd_be32((tail_rc == -2 ? raw : head) + 64),
		                vpc_checksum(tail_rc == -2 ? raw : head, VPC_FOOTER_SIZE, 64));
	return vstd_err(VSTD_ECORRUPT,
	                "%s: no VHD footer ('conectix') at offset 0x%" PRIx64 " or 0", name, off);
}
