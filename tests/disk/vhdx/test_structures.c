/*
 * tests/disk/vhdx/test_structures.c - region table and metadata parsing on
 * libyal's fragments (read in place), CRC-32C known answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "disk/vhdx/vhdx_internal.h"
#include "vtest.h"

static size_t slurp_into(const char *rel, uint8_t *dst, size_t cap)
{
	FILE *f = fopen(vt_shared(rel), "rb");
	size_t n;
	ck_assert_ptr_nonnull(f);
	n = fread(dst, 1, cap, f);
	fclose(f);
	return n;
}

START_TEST(crc32c_known)
{
	/* RFC 3720 B.4 test vectors */
	uint8_t z[32] = {0}, o[32], inc[32];
	memset(o, 0xff, sizeof(o));
	for (int i = 0; i < 32; i++)
		inc[i] = (uint8_t)i;
	ck_assert_uint_eq(vhdx_crc32c(z, 32), 0x8A9136AA);
	ck_assert_uint_eq(vhdx_crc32c(o, 32), 0x62A8AB43);
	ck_assert_uint_eq(vhdx_crc32c(inc, 32), 0x46DD794E);
	ck_assert_uint_eq(vhdx_crc32c("123456789", 9), 0xE3069283);
}
END_TEST

/* libyal's region table: checksum (over 64 KiB, zero padded), both regions */
START_TEST(libyal_region_table)
{
	uint8_t *img = calloc(1, 5 << 20);
	struct vstd_disk d;
	struct vhdx_state s;
	vstd_io *io = NULL;
	size_t n = slurp_into("corpus/disk/fragments/libyal-libvhdi-region_table.1",
	                      img + VHDX_REGION1, 65536);
	ck_assert_uint_eq(n, 80);
	memset(&d, 0, sizeof(d));
	memset(&s, 0, sizeof(s));
	d.filename = (char *)"region_table.1";
	vt_ok(vstd_io_mem_view(&io, img, 5 << 20, "region_table.1"));
	s.io = io;
	vt_ok(vhdx_regions_read(&d, &s, 5 << 20));
	ck_assert_uint_eq(s.bat_off, 3 << 20);
	ck_assert_uint_eq(s.bat_len, 1 << 20);
	ck_assert_uint_eq(s.meta_off, 2 << 20);
	ck_assert_uint_eq(s.meta_len, 1 << 20);
	/* a flipped bit is caught by the CRC-32C */
	img[VHDX_REGION1 + 40] ^= 1;
	ck_assert_int_eq(vhdx_regions_read(&d, &s, 5 << 20), VSTD_ECORRUPT);
	vstd_io_close(io);
	free(img);
}
END_TEST

/* libyal's metadata table header and file-parameters entry, completed with
 * the other required items */
START_TEST(libyal_metadata)
{
	uint8_t *m = calloc(1, 1 << 20);
	uint8_t *img = calloc(1, 4 << 20);
	struct vstd_disk d;
	struct vhdx_state s;
	vstd_io *io = NULL;
	ck_assert_uint_eq(
	        slurp_into("corpus/disk/fragments/libyal-libvhdi-metadata_table_header.1", m, 32),
	        32);
	ck_assert_uint_eq(slurp_into("corpus/disk/fragments/libyal-libvhdi-metadata_table_entry.1",
	                             m + 32, 32),
	                  32);
	ck_assert_uint_eq(vstd_le16(m + 10), 5);
	ck_assert_uint_eq(vstd_le32(m + 32 + 16), 0x10000);
	/* the other four entries, from a table vstd builds */
	{
		uint8_t *ref = calloc(1, 1 << 20);
		vhdx_guid link;
		memset(&link, 0, sizeof(link));
		vhdx_metadata_build(ref, 1 << 20, 1 << 21, 0, 10 << 20, 512, 4096, NULL, NULL,
		                    &link);
		memcpy(m + 64, ref + 64, 4 * 32);
		memcpy(m + 0x10000, ref + 0x10000, 0x10000);
		free(ref);
	}
	memcpy(img + (2 << 20), m, 1 << 20);
	memset(&d, 0, sizeof(d));
	memset(&s, 0, sizeof(s));
	d.filename = (char *)"metadata";
	vt_ok(vstd_io_mem_view(&io, img, 4 << 20, "metadata"));
	s.io = io;
	s.meta_off = 2 << 20;
	s.meta_len = 1 << 20;
	vt_ok(vhdx_metadata_read(&d, &s));
	ck_assert_uint_eq(s.block_size, 1 << 21);
	ck_assert_uint_eq(s.vsize, 10 << 20);
	ck_assert_uint_eq(s.lsec, 512);
	ck_assert_uint_eq(s.psec, 4096);
	ck_assert_int_eq(s.has_parent, 0);
	vstd_io_close(io);
	free(img);
	free(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("disk/vhdx/structures");
	TCase *tc = tcase_create("structures");
	vt_require_file(vt_shared("corpus/disk/fragments/libyal-libvhdi-region_table.1"),
	                "the shared corpus");
	tcase_add_test(tc, crc32c_known);
	tcase_add_test(tc, libyal_region_table);
	tcase_add_test(tc, libyal_metadata);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
