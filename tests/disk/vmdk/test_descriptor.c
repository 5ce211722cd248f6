/*
 * tests/disk/vmdk/test_descriptor.c - the descriptor parser on libyal's
 * fragments (read in place) and on edge cases.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "disk/vmdk/vmdk_internal.h"
#include "vtest.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	b = malloc(*len + 1);
	ck_assert_uint_eq(fread(b, 1, *len, f), *len);
	b[*len] = '\0';
	fclose(f);
	return b;
}

START_TEST(libyal_descriptor_file)
{
	size_t len;
	char *t = slurp(vt_shared("corpus/disk/fragments/libyal-libvmdk-descriptor_file.1"), &len);
	struct vmdk_desc d;
	vt_ok(vmdk_desc_parse(t, len, "descriptor_file.1", &d));
	ck_assert_uint_eq(d.cid, 0xfffffffe);
	ck_assert_uint_eq(d.parent_cid, 0xffffffff);
	ck_assert_str_eq(d.create_type, "monolithicSparse");
	ck_assert_uint_eq(d.n_ext, 1);
	ck_assert_uint_eq(d.ext[0].sectors, 16777216);
	ck_assert_str_eq(d.ext[0].type, "SPARSE");
	ck_assert_str_eq(d.ext[0].file, "test1.vmdk");
	ck_assert_str_eq(d.hwversion, "9");
	ck_assert_str_eq(d.adapter_type, "ide");
	vmdk_desc_clear(&d);
	free(t);
}
END_TEST

START_TEST(libyal_extent_values)
{
	size_t len;
	char *t = slurp(vt_shared("corpus/disk/fragments/libyal-libvmdk-extent_values.1"), &len);
	struct vmdk_desc d;
	vt_ok(vmdk_desc_parse(t, len, "extent_values.1", &d));
	ck_assert_uint_eq(d.n_ext, 1);
	ck_assert_str_eq(d.ext[0].access, "RW");
	ck_assert_uint_eq(d.ext[0].sectors, 16777216);
	ck_assert_str_eq(d.ext[0].file, "test1.vmdk");
	vmdk_desc_clear(&d);
	free(t);
}
END_TEST

START_TEST(edge_cases)
{
	static const char *const bad[] = {
	        "",
	        "hello\n",
	        "# Disk DescriptorFile\nCID=xyz\nRW 1 ZERO\n",
	        "# Disk DescriptorFile\nRW 99999999999999999999 ZERO\n",
	        "# Disk DescriptorFile\nRW 8 FLAT \"unterminated\n",
	        "# Disk DescriptorFile\nRW 8 FLAT \"\" 0\n",
	        "# Disk DescriptorFile\nRW 8 FLAT \"a\" 12x\n",
	};
	struct vmdk_desc d;
	char *t;
	const char *ok = "# Disk DescriptorFile\r\nversion=1\r\nCID=0000abcd\r\n"
	                 "parentCID=12345678\r\ncreateType = \"twoGbMaxExtentFlat\"\r\n"
	                 "parentFileNameHint=\"base.vmdk\"\r\n  RW 4 FLAT \"a b.vmdk\" 7\r\n"
	                 "RDONLY 8 ZERO\r\nNOACCESS 2 VMFS \"c.vmdk\"\r\n";
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(vmdk_desc_parse(bad[i], strlen(bad[i]), "bad", &d) < 0, "case %zu",
		              i);
	vt_ok(vmdk_desc_parse(ok, strlen(ok), "ok", &d));
	ck_assert_uint_eq(d.cid, 0xabcd);
	ck_assert_uint_eq(d.parent_cid, 0x12345678);
	ck_assert_str_eq(d.parent_hint, "base.vmdk");
	ck_assert_uint_eq(d.n_ext, 3);
	ck_assert_str_eq(d.ext[0].file, "a b.vmdk");
	ck_assert_uint_eq(d.ext[0].offset, 7);
	ck_assert_ptr_null(d.ext[1].file);
	ck_assert_str_eq(d.ext[2].access, "NOACCESS");
	/* writing it back and parsing again keeps what matters */
	t = vmdk_desc_format(&d, 14 * 512);
	ck_assert_ptr_nonnull(t);
	vmdk_desc_clear(&d);
	vt_ok(vmdk_desc_parse(t, strlen(t), "again", &d));
	ck_assert_uint_eq(d.cid, 0xabcd);
	ck_assert_uint_eq(d.n_ext, 3);
	ck_assert_str_eq(d.ext[0].file, "a b.vmdk");
	vmdk_desc_clear(&d);
	vstd_free(t);
	/* the extent size can be rewritten */
	t = vmdk_desc_set_extent_sectors(ok, strlen(ok), 1, 1234);
	ck_assert_ptr_nonnull(strstr(t, "RDONLY 1234 ZERO"));
	vstd_free(t);
}
END_TEST

/* Extent lines added and dropped, the geometry recomputed, on texts with
 * and without a final newline, CR LF lines and too few extents. */
START_TEST(extent_edits)
{
	static const char two[] = "# Disk DescriptorFile\nversion=1\n"
	                          "RW 100 SPARSE \"a-s001.vmdk\"\n"
	                          "RW 50 SPARSE \"a-s002.vmdk\"\n"
	                          "\n#DDB\nddb.geometry.cylinders = \"5\"\n"
	                          "ddb.geometry.heads = \"255\"\nddb.geometry.sectors = \"63\"\n";
	static const char bare[] = "version=1\nRW 8 FLAT \"x\" 0";
	char *t;
	/* append after the last extent */
	t = vmdk_desc_edit_extents(two, strlen(two), 2, "RW 9 SPARSE \"a-s003.vmdk\"\n");
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(strstr(t, "RW 50 SPARSE \"a-s002.vmdk\"\nRW 9 SPARSE "
	                                "\"a-s003.vmdk\"\n\n#DDB"));
	vstd_free(t);
	/* drop the second */
	t = vmdk_desc_edit_extents(two, strlen(two), 1, "");
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_null(strstr(t, "a-s002"));
	ck_assert_ptr_nonnull(strstr(t, "RW 100 SPARSE \"a-s001.vmdk\"\n\n#DDB"));
	vstd_free(t);
	/* keep 0 or more than there are: refused */
	ck_assert_ptr_null(vmdk_desc_edit_extents(two, strlen(two), 0, ""));
	ck_assert_ptr_null(vmdk_desc_edit_extents(two, strlen(two), 3, ""));
	ck_assert_ptr_null(vmdk_desc_edit_extents("version=1\n", 10, 1, ""));
	/* no final newline: one is added before the new line */
	t = vmdk_desc_edit_extents(bare, strlen(bare), 1, "RW 8 FLAT \"y\" 0\n");
	ck_assert_str_eq(t, "version=1\nRW 8 FLAT \"x\" 0\nRW 8 FLAT \"y\" 0\n");
	vstd_free(t);
	/* geometry: heads and sectors from the text, capped at 16383 */
	t = vmdk_desc_set_cylinders(two, strlen(two), (uint64_t)255 * 63 * 512 * 1000 + 7);
	ck_assert_ptr_nonnull(strstr(t, "ddb.geometry.cylinders = \"1000\"\nddb.geometry.heads"));
	vstd_free(t);
	t = vmdk_desc_set_cylinders(two, strlen(two), (uint64_t)1 << 46);
	ck_assert_ptr_nonnull(strstr(t, "ddb.geometry.cylinders = \"16383\"\n"));
	vstd_free(t);
	/* CR LF kept; no cylinders line: unchanged */
	t = vmdk_desc_set_cylinders("ddb.geometry.cylinders=\"1\"\r\nx=1\r\n", 33,
	                            (uint64_t)16 * 63 * 512 * 20);
	ck_assert_str_eq(t, "ddb.geometry.cylinders = \"20\"\r\nx=1\r\n");
	vstd_free(t);
	t = vmdk_desc_set_cylinders(bare, strlen(bare), 1 << 30);
	ck_assert_str_eq(t, bare);
	vstd_free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("disk/vmdk/descriptor");
	TCase *tc = tcase_create("descriptor");
	vt_require_file(vt_shared("corpus/disk/fragments/libyal-libvmdk-descriptor_file.1"),
	                "the shared corpus");
	tcase_add_test(tc, libyal_descriptor_file);
	tcase_add_test(tc, libyal_extent_values);
	tcase_add_test(tc, edge_cases);
	tcase_add_test(tc, extent_edits);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
