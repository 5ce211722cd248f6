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

int main(void)
{
	Suite *s = suite_create("disk/vmdk/descriptor");
	TCase *tc = tcase_create("descriptor");
	vt_require_file(vt_shared("corpus/disk/fragments/libyal-libvmdk-descriptor_file.1"),
	                "the shared corpus");
	tcase_add_test(tc, libyal_descriptor_file);
	tcase_add_test(tc, libyal_extent_values);
	tcase_add_test(tc, edge_cases);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
