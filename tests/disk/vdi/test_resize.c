/*
 * tests/disk/vdi/test_resize.c - resizing static (fixed) VDIs and growing
 * dynamic ones with --preallocation: qemu-made and vstd-made images, the
 * map in room and the map moving into the data area, shrinking with
 * --shrink (blocks moving into the first indexes when needed), and static
 * images whose block map is not one index per block.
 * qemu-img checks, compares and reads every result.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "core/bytes.h"
#include "disk/vdi/vdi.h"
#include "../vpc/vhdtest.h"

#define MIB ((uint64_t)1 << 20)
#define DSIZE ((size_t)(20 * MIB - 1536)) /* the last block is partial */

static uint32_t hdr32(const char *img, uint64_t off)
{
	uint8_t b[4];
	vh_read_at(img, off, b, sizeof(b));
	return vstd_le32(b);
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	ck_assert(stat(path, &st) == 0);
	return (uint64_t)st.st_size;
}

/* A qemu-made VDI (static or dynamic) of the pattern, and the same raw. */
static uint8_t *make_qemu(const char *img, const char *raw, int is_static, uint64_t seed)
{
	uint8_t *pat = vh_pattern(DSIZE, seed);
	vt_write_file(raw, pat, DSIZE);
	ck_assert_msg(vt_run("qemu-img convert -f raw -O vdi -o static=%s '%s' '%s'",
	                     is_static ? "on" : "off", raw, img) == 0,
	              "%s", vt_output());
	return pat;
}

/* qemu-img: check clean, the size it reports, the same bytes as the raw. */
static void qemu_agrees(const char *img, const char *raw, uint64_t size)
{
	ck_assert_int_eq(truncate(raw, (off_t)size), 0);
	ck_assert_msg(vt_run("qemu-img check -f vdi '%s' && qemu-img info --output=json -f vdi "
	                     "'%s' | grep -q '\"virtual-size\": %llu,' && qemu-img compare -f vdi "
	                     "-F raw '%s' '%s'",
	                     img, img, (unsigned long long)size, img, raw) == 0,
	              "%s: %s", img, vt_output());
	ck_assert_msg(vt_run("%s img check '%s'", vt_cli(), img) == 0, "%s", vt_output());
}

/* vstd writes into the grown area (unaligned, across blocks) and qemu-img
 * reads it back; the same bytes go into the raw. */
static void write_new_area(const char *img, const char *raw, uint64_t at)
{
	uint8_t *buf = malloc(MIB + 4096);
	vstd_disk *d = vh_open(img, "vdi", VSTD_DISK_RDWR);
	int fd;
	vt_fill_random(buf, MIB + 4096, at);
	vt_ok(vstd_disk_write(d, at, buf, MIB + 4096));
	vstd_disk_close(d);
	fd = open(raw, O_WRONLY);
	ck_assert(fd >= 0 && pwrite(fd, buf, MIB + 4096, (off_t)at) == (ssize_t)(MIB + 4096));
	close(fd);
	free(buf);
	ck_assert_msg(vt_run("qemu-img compare -f vdi -F raw '%s' '%s' && qemu-img check -f vdi "
	                     "'%s'",
	                     img, raw, img) == 0,
	              "%s", vt_output());
}

/* A static image's map holds every block; the file holds every block. */
static void static_shape(const char *img, uint64_t size)
{
	uint32_t nb = (uint32_t)((size + MIB - 1) / MIB);
	ck_assert_uint_eq(hdr32(img, 76), VDI_FIXED);
	ck_assert_uint_eq(hdr32(img, 384), nb);
	ck_assert_uint_eq(hdr32(img, 388), nb);
	ck_assert_uint_eq(file_size(img), hdr32(img, 344) + (uint64_t)nb * MIB);
}

/* qemu-made static image: grown with the map in room (40 MiB), with the map
 * moving into the data area (200 MiB), and twice (200 then 300 MiB). */
START_TEST(static_grow_qemu)
{
	static const uint64_t sizes[3][2] = {
	        {40 * MIB, 0}, {200 * MIB, 0}, {200 * MIB, 300 * MIB - 512}};
	const char *img = vt_path("sq.vdi"), *raw = vt_path("sq.raw");
	uint8_t *pat = make_qemu(img, raw, 1, 70);
	uint64_t size = 0;
	for (int j = 0; j < 2 && sizes[_i][j] != 0; j++) {
		size = sizes[_i][j];
		ck_assert_msg(vt_run("%s img resize '%s' %llu", vt_cli(), img,
		                     (unsigned long long)size) == 0,
		              "%s", vt_output());
		static_shape(img, size);
		qemu_agrees(img, raw, size);
	}
	/* the new area reads as zeroes through qemu; vstd's writes there read back */
	ck_assert_msg(vt_run("qemu-io -f vdi -r -c 'read -P 0 %llu %llu' '%s'",
	                     (unsigned long long)DSIZE, (unsigned long long)(size - DSIZE),
	                     img) == 0,
	              "%s", vt_output());
	write_new_area(img, raw, size - 3 * MIB + 100);
	write_new_area(img, raw, DSIZE - 4096); /* across the old end */
	static_shape(img, size);
	free(pat);
}
END_TEST

/* vstd-made static image, grown through the API to a size that is not a
 * whole number of blocks (the map moves). */
START_TEST(static_grow_vstd)
{
	const char *img = vt_path("sv.vdi"), *raw = vt_path("sv.raw");
	uint8_t *pat = vh_pattern(DSIZE, 71);
	uint64_t size = 150 * MIB + 512;
	vstd_disk *d;
	unlink(img);
	vh_create(img, "vdi", DSIZE, "static=on", NULL, NULL);
	d = vh_open(img, NULL, VSTD_DISK_RDWR);
	vh_write_pattern(d, pat, DSIZE);
	vt_ok(vstd_disk_resize(d, size, 0, NULL));
	ck_assert_uint_eq(vstd_disk_size(d), size);
	vh_disk_equals(d, pat, DSIZE);
	vstd_disk_close(d);
	static_shape(img, size);
	vt_write_file(raw, pat, DSIZE);
	qemu_agrees(img, raw, size);
	write_new_area(img, raw, size - MIB - 4096 - 512); /* up to the last byte */
	free(pat);
}
END_TEST

/* A static image grown with --preallocation=full/falloc: its new blocks
 * take space in the file, and qemu reads them as zeroes. */
START_TEST(static_prealloc)
{
	static const char *const modes[] = {"falloc", "full"};
	const char *img = vt_path("spa.vdi"), *raw = vt_path("spa.raw");
	uint8_t *pat = make_qemu(img, raw, 1, 77 + (uint64_t)_i);
	struct stat st;
	ck_assert_msg(
	        vt_run("%s img resize --preallocation=%s '%s' 60M", vt_cli(), modes[_i], img) == 0,
	        "%s", vt_output());
	static_shape(img, 60 * MIB);
	qemu_agrees(img, raw, 60 * MIB);
	ck_assert(stat(img, &st) == 0);
	ck_assert_uint_ge((uint64_t)st.st_blocks * 512, 40 * MIB);
	free(pat);
}
END_TEST

/* A dynamic image grown with --preallocation: the new blocks are allocated
 * in order (map in room, then map moving); falloc and full reserve them. */
START_TEST(dynamic_prealloc)
{
	static const char *const modes[] = {"metadata", "falloc", "full"};
	const char *img = vt_path("dp.vdi"), *raw = vt_path("dp.raw");
	uint8_t *pat = make_qemu(img, raw, 0, 72 + (uint64_t)_i);
	uint32_t before = hdr32(img, 388);
	struct stat st;
	ck_assert_msg(
	        vt_run("%s img resize --preallocation=%s '%s' 60M", vt_cli(), modes[_i], img) == 0,
	        "%s", vt_output());
	ck_assert_uint_eq(hdr32(img, 76), VDI_NORMAL);
	ck_assert_uint_eq(hdr32(img, 388), before + 40);
	qemu_agrees(img, raw, 60 * MIB);
	ck_assert_msg(
	        vt_run("%s img resize --preallocation=%s '%s' 200M", vt_cli(), modes[_i], img) == 0,
	        "%s", vt_output());
	ck_assert_uint_eq(hdr32(img, 384), 200);
	ck_assert_uint_eq(hdr32(img, 388), before + 180);
	ck_assert_uint_eq(file_size(img), hdr32(img, 344) + (uint64_t)(before + 180) * MIB);
	qemu_agrees(img, raw, 200 * MIB);
	ck_assert(stat(img, &st) == 0);
	if (_i == 0) /* sparse */
		ck_assert_uint_lt((uint64_t)st.st_blocks * 512, 100 * MIB);
	else /* reserved */
		ck_assert_uint_ge((uint64_t)st.st_blocks * 512, 180 * MIB);
	/* a plain grow after it leaves the new blocks free */
	ck_assert_msg(vt_run("%s img resize '%s' +10M", vt_cli(), img) == 0, "%s", vt_output());
	ck_assert_uint_eq(hdr32(img, 388), before + 180);
	qemu_agrees(img, raw, 210 * MIB);
	write_new_area(img, raw, 150 * MIB + 7);
	free(pat);
}
END_TEST

START_TEST(shrink)
{
	const char *img = vt_path("sh.vdi"), *raw = vt_path("sh.raw");
	uint8_t *pat = make_qemu(img, raw, 1, 73);
	vstd_disk *d;
	/* refused without --shrink, the image untouched */
	ck_assert(vt_run("%s img resize '%s' 10M", vt_cli(), img) != 0);
	ck_assert_msg(strstr(vt_output(), "--shrink") != NULL, "%s", vt_output());
	static_shape(img, DSIZE);
	ck_assert_msg(vt_run("%s img resize --shrink '%s' 10M", vt_cli(), img) == 0, "%s",
	              vt_output());
	static_shape(img, 10 * MIB);
	qemu_agrees(img, raw, 10 * MIB);
	/* grown again: the dropped data does not come back */
	ck_assert_msg(vt_run("%s img resize '%s' 30M", vt_cli(), img) == 0, "%s", vt_output());
	static_shape(img, 30 * MIB);
	qemu_agrees(img, raw, 30 * MIB);
	/* a size inside the last block: the tail past it reads as zeroes later */
	ck_assert_msg(vt_run("qemu-io -f vdi -c 'write -P 0x5a 29M 1M' '%s'", img) == 0, "%s",
	              vt_output());
	d = vh_open(img, "vdi", VSTD_DISK_RDWR);
	vt_ok(vstd_disk_resize(d, 29 * MIB + 4096, VSTD_DISK_RESIZE_SHRINK, NULL));
	vt_ok(vstd_disk_resize(d, 31 * MIB, 0, NULL));
	vstd_disk_close(d);
	{
		uint8_t b[4096];
		int fd = open(raw, O_WRONLY);
		memset(b, 0x5a, sizeof(b));
		ck_assert(fd >= 0 && pwrite(fd, b, sizeof(b), 29 * MIB) == (ssize_t)sizeof(b));
		close(fd);
		ck_assert_int_eq(truncate(raw, 29 * MIB + 4096), 0);
	}
	qemu_agrees(img, raw, 31 * MIB);
	/* a dynamic image whose remaining blocks use the first indexes: the
	 * data area is cut and qemu's check agrees with the allocated count */
	free(pat);
	pat = make_qemu(img, raw, 0, 74);
	ck_assert_msg(vt_run("%s img resize --shrink '%s' 8M", vt_cli(), img) == 0, "%s",
	              vt_output());
	qemu_agrees(img, raw, 8 * MIB);
	ck_assert_uint_eq(file_size(img), hdr32(img, 344) + (uint64_t)hdr32(img, 388) * MIB);
	free(pat);
}
END_TEST

/* After a grow that moved the first block, a static image's map is rotated;
 * a dynamic image written out of order has its blocks' indexes in write
 * order.  Shrinking moves the blocks that stay into the first indexes. */
START_TEST(shrink_moves)
{
	const char *img = vt_path("sr.vdi"), *raw = vt_path("sr.raw");
	uint8_t *pat = make_qemu(img, raw, 1, 75);
	ck_assert(vt_run("%s img resize '%s' 200M", vt_cli(), img) == 0);
	ck_assert_uint_eq(hdr32(img, 512), 19); /* block 0 moved after the last */
	ck_assert_msg(vt_run("%s img resize --shrink '%s' 100M", vt_cli(), img) == 0, "%s",
	              vt_output());
	static_shape(img, 100 * MIB);
	qemu_agrees(img, raw, 100 * MIB);
	ck_assert_msg(vt_run("%s img resize --shrink '%s' 10M", vt_cli(), img) == 0, "%s",
	              vt_output());
	static_shape(img, 10 * MIB);
	qemu_agrees(img, raw, 10 * MIB);
	for (uint32_t i = 0; i < 10; i++) /* every index below 10 once */
		ck_assert_uint_lt(hdr32(img, 512 + 4 * i), 10);
	write_new_area(img, raw, 5 * MIB);
	/* dynamic, written out of order: blocks 0, 15, 1, 17, 2 */
	ck_assert_msg(
	        vt_run("rm -f '%s' '%s' && qemu-img create -f vdi '%s' 20M && qemu-img create "
	               "-f raw '%s' 20M",
	               img, raw, img, raw) == 0,
	        "%s", vt_output());
	ck_assert_msg(
	        vt_run("for f in vdi raw; do i='%s'; [ $f = raw ] && i='%s'; qemu-io -f $f -c "
	               "'write -P 1 0 1M' -c 'write -P 2 15M 1M' -c 'write -P 3 1M 1M' -c "
	               "'write -P 4 17M 1M' -c 'write -P 5 2M 512K' \"$i\" || exit 1; done",
	               img, raw) == 0,
	        "%s", vt_output());
	ck_assert_msg(vt_run("%s img resize --shrink '%s' 8M", vt_cli(), img) == 0, "%s",
	              vt_output());
	ck_assert_uint_eq(hdr32(img, 388), 3);
	ck_assert_uint_eq(file_size(img), hdr32(img, 344) + 3 * MIB);
	qemu_agrees(img, raw, 8 * MIB);
	/* qemu allocates the next block at the allocated count: no collision */
	ck_assert_msg(vt_run("qemu-io -f vdi -c 'write -P 6 6M 1M' '%s' && qemu-io -f raw -c "
	                     "'write -P 6 6M 1M' '%s'",
	                     img, raw) == 0,
	              "%s", vt_output());
	qemu_agrees(img, raw, 8 * MIB);
	free(pat);
}
END_TEST

/* A static image whose map is not one index per block: refused, naming the
 * block, the file unchanged. */
START_TEST(static_bad_map)
{
	static const struct {
		uint32_t value;
		const char *needle;
	} cases[] = {
	        {VDI_BLOCK_FREE, "static VDI block 5 "},
	        {VDI_BLOCK_ZERO, "static VDI block 5 "},
	        {7, "static VDI block 7 "}, /* 7 is now used twice */
	        {1000, "static VDI block 5 "},
	};
	const char *img = vt_path("bad.vdi"), *raw = vt_path("bad.raw");
	uint8_t *pat = make_qemu(img, raw, 1, 76), v[4], *before, *after;
	size_t blen, alen;
	vstd_disk *d;
	int rc;
	vstd_put_le32(v, cases[_i].value);
	vh_patch_file(img, 512 + 5 * 4, v, sizeof(v));
	before = vh_read_file(img, &blen);
	d = vh_open(img, "vdi", VSTD_DISK_RDWR);
	rc = vstd_disk_resize(d, 200 * MIB, 0, NULL);
	ck_assert_msg(rc == VSTD_ECORRUPT && strstr(vstd_error_last()->message, cases[_i].needle) &&
	                      strstr(vstd_error_last()->message, "bad.vdi"),
	              "%d %s", rc, vstd_error_last()->message);
	rc = vstd_disk_resize(d, 40 * MIB, 0, NULL);
	ck_assert_int_eq(rc, VSTD_ECORRUPT);
	vstd_disk_close(d);
	ck_assert(vt_run("%s img resize '%s' 40M", vt_cli(), img) != 0);
	ck_assert_msg(strstr(vt_output(), cases[_i].needle) != NULL, "%s", vt_output());
	after = vh_read_file(img, &alen);
	ck_assert(alen == blen && memcmp(before, after, blen) == 0);
	free(before);
	free(after);
	free(pat);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("disk/vdi/resize");
	TCase *t = tcase_create("resize");
	vh_link_drivers();
	vt_require_tool("qemu-img", "qemu-utils");
	vt_require_tool("qemu-io", "qemu-utils");
	tcase_set_timeout(t, 60);
	tcase_add_loop_test(t, static_grow_qemu, 0, 3);
	tcase_add_test(t, static_grow_vstd);
	tcase_add_loop_test(t, static_prealloc, 0, 2);
	tcase_add_loop_test(t, dynamic_prealloc, 0, 3);
	tcase_add_test(t, shrink);
	tcase_add_test(t, shrink_moves);
	tcase_add_loop_test(t, static_bad_map, 0, 4);
	suite_add_tcase(s, t);
	return vt_main(s);
}
