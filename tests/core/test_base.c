/*
 * tests/core/test_base.c - errors, allocator and failure injection, log
 * callback, option lists and size parsing, thread pool, version.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/kv.h"
#include "core/log_internal.h"
#include "core/threadpool.h"
#include "vtest.h"

START_TEST(errors)
{
	vstd_error_clear();
	ck_assert_int_eq(vstd_error_last()->code, VSTD_OK);
	ck_assert_str_eq(vstd_error_last()->message, "");
	ck_assert_int_eq(vstd_err(VSTD_ECORRUPT, "img: L1 at 0x%x", 0x50000), VSTD_ECORRUPT);
	ck_assert_str_eq(vstd_error_last()->message, "img: L1 at 0x50000");
	vstd_err_prefix("opening %s: ", "x");
	ck_assert_str_eq(vstd_error_last()->message, "opening x: img: L1 at 0x50000");
	ck_assert_int_eq(vstd_error_last()->code, VSTD_ECORRUPT);
	ck_assert_int_eq(vstd_err_errno(0, 2, "f"), VSTD_ENOENT);
	ck_assert_int_eq(vstd_error_last()->os_errno, 2);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "No such file"));
	ck_assert_str_eq(vstd_strerror(VSTD_ELIMIT), "exceeds a limit");
	ck_assert_str_eq(vstd_strerror(12345), "unknown error");
	ck_assert_str_eq(vstd_error_name(VSTD_EVERIFY), "VSTD_EVERIFY");
	for (int c = 0; c >= VSTD_ECANCELED; c--)
		ck_assert_str_ne(vstd_error_name(c), "VSTD_E?");
	/* long messages are truncated, not overflowed */
	{
		char big[3000];
		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		vstd_err(VSTD_EINVAL, "%s", big);
		ck_assert_uint_eq(strlen(vstd_error_last()->message), 1023);
		vstd_err_prefix("%s", big);
		ck_assert_uint_eq(strlen(vstd_error_last()->message), 1023);
	}
}
END_TEST

static void *other_thread(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)vstd_error_last()->code;
}

START_TEST(errors_are_thread_local)
{
	pthread_t t;
	void *code;
	vstd_err(VSTD_EIO, "here");
	ck_assert_int_eq(pthread_create(&t, NULL, other_thread, NULL), 0);
	pthread_join(t, &code);
	ck_assert_int_eq((int)(intptr_t)code, VSTD_OK);
	ck_assert_int_eq(vstd_error_last()->code, VSTD_EIO);
}
END_TEST

static size_t counted_bytes;
static void *count_malloc(size_t n, void *o)
{
	counted_bytes += n;
	return malloc(n);
}
static void *count_realloc(void *p, size_t n, void *o)
{
	return realloc(p, n);
}
static void count_free(void *p, void *o)
{
	free(p);
}

START_TEST(allocator)
{
	vstd_allocator a = {VSTD_ALLOCATOR_VERSION, count_malloc, count_realloc, count_free, NULL};
	vstd_allocator bad = {99, count_malloc, count_realloc, count_free, NULL};
	char *p;
	ck_assert_int_eq(vstd_allocator_set(&bad), VSTD_EINVAL);
	vt_ok(vstd_allocator_set(&a));
	p = vstd_strdup("hello");
	ck_assert_str_eq(p, "hello");
	ck_assert_uint_eq(counted_bytes, 6);
	vstd_free(p);
	vt_ok(vstd_allocator_set(NULL));
	/* the limit refuses input-driven giants */
	ck_assert_ptr_null(vstd_malloc((size_t)1 << 40));
	ck_assert_int_eq(vstd_error_last()->code, VSTD_ELIMIT);
	ck_assert_ptr_null(vstd_calloc(SIZE_MAX / 2, 4));
	ck_assert_int_eq(vstd_error_last()->code, VSTD_ELIMIT);
	ck_assert_ptr_null(vstd_malloc_array(SIZE_MAX / 2, 4));
	vstd_alloc_limit_set(100);
	ck_assert_ptr_null(vstd_malloc(101));
	p = vstd_malloc(100);
	ck_assert_ptr_nonnull(p);
	vstd_free(p);
	ck_assert_uint_eq(vstd_alloc_limit_set(0), 100);
	p = vstd_asprintf("%d-%s", 42, "x");
	ck_assert_str_eq(p, "42-x");
	vstd_free(p);
	vstd_free(NULL);
}
END_TEST

START_TEST(fail_nth)
{
	void *a, *b, *c;
	vstd_alloc_fail_nth(3);
	a = vstd_malloc(1);
	b = vstd_malloc(1);
	c = vstd_malloc(1);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(vstd_error_last()->code, VSTD_ENOMEM);
	ck_assert_ptr_null(vstd_strdup("x")); /* and every later one */
	ck_assert_uint_eq(vstd_alloc_fail_nth(0), 4);
	c = vstd_malloc(1);
	ck_assert_ptr_nonnull(c);
	vstd_free(a);
	vstd_free(b);
	vstd_free(c);
}
END_TEST

static int fail_big(size_t n, void *o)
{
	return n > 1000;
}

START_TEST(fail_hook)
{
	void *p;
	vstd_alloc_fail_hook_set(fail_big, NULL);
	ck_assert_ptr_null(vstd_malloc(2000));
	p = vstd_malloc(10);
	ck_assert_ptr_nonnull(p);
	vstd_free(p);
	vstd_alloc_fail_hook_set(NULL, NULL);
	p = vstd_malloc(2000);
	ck_assert_ptr_nonnull(p);
	vstd_free(p);
}
END_TEST

/* Every allocation failure of a whole operation: a clean error, never a crash. */
START_TEST(fail_every_allocation_of_kv_parse)
{
	unsigned long n;
	for (n = 1; n < 1000; n++) {
		vstd_kv *kv = NULL;
		int rc;
		vstd_alloc_fail_nth(n);
		rc = vstd_kv_parse(&kv, "a=1,b=x,,y,cluster_size=64k", "-o");
		if (vstd_alloc_fail_nth(0) < n) {
			vt_ok(rc);
			ck_assert_str_eq(vstd_kv_get(kv, "b"), "x,y");
			vstd_kv_free(kv);
			break;
		}
		ck_assert_int_eq(rc, VSTD_ENOMEM);
		ck_assert_ptr_null(kv);
	}
	ck_assert_uint_gt(n, 3);
	ck_assert_uint_lt(n, 1000);
}
END_TEST

static int log_calls;
static char log_last[256];
static void log_cb(int level, const char *module, const char *msg, void *o)
{
	log_calls++;
	snprintf(log_last, sizeof(log_last), "%d %s %s", level, module, msg);
}

START_TEST(logging)
{
	vstd_log(VSTD_LOG_WARN, "t", "dropped"); /* no callback: nothing */
	vstd_log_set(log_cb, NULL, VSTD_LOG_INFO);
	vstd_log(VSTD_LOG_WARN, "qcow2", "leak at %d", 5);
	ck_assert_str_eq(log_last, "1 qcow2 leak at 5");
	vstd_log(VSTD_LOG_DEBUG, "qcow2", "too verbose");
	ck_assert_int_eq(log_calls, 1);
	ck_assert_int_eq(vstd_log_enabled(VSTD_LOG_DEBUG), 0);
	vstd_log_set(NULL, NULL, 0);
}
END_TEST

START_TEST(kv_lists)
{
	vstd_kv *kv = NULL;
	uint64_t v;
	int b;
	size_t i;
	static const char *const choices[] = {"off", "metadata", "full", NULL};
	vt_ok(vstd_kv_parse(&kv, "cluster_size=2M,lazy_refcounts=on,preallocation=full,x=7", "-o"));
	vt_ok(vstd_kv_get_size(kv, "cluster_size", 0, &v));
	ck_assert_uint_eq(v, 2 << 20);
	vt_ok(vstd_kv_get_bool(kv, "lazy_refcounts", 0, &b));
	ck_assert_int_eq(b, 1);
	vt_ok(vstd_kv_get_enum(kv, "preallocation", choices, 0, &i));
	ck_assert_uint_eq(i, 2);
	vt_ok(vstd_kv_get_u64(kv, "absent", 9, &v));
	ck_assert_uint_eq(v, 9);
	ck_assert_str_eq(vstd_kv_unused(kv), "x");
	vt_ok(vstd_kv_set(kv, "preallocation", "bogus"));
	ck_assert_int_eq(vstd_kv_get_enum(kv, "preallocation", choices, 0, &i), VSTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "off, metadata, full"));
	vstd_kv_free(kv);
	ck_assert_int_eq(vstd_kv_parse(&kv, "a=1,a=2", "-o"), VSTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "given twice"));
	ck_assert_int_eq(vstd_kv_parse(&kv, "novalue", "-o"), VSTD_EINVAL);
	ck_assert_int_eq(vstd_kv_parse(&kv, "=x", "-o"), VSTD_EINVAL);
	vt_ok(vstd_kv_parse(&kv, "", "-o"));
	ck_assert_uint_eq(vstd_kv_count(kv), 0);
	vstd_kv_free(kv);
	vt_ok(vstd_kv_parse(&kv, NULL, "-o"));
	vstd_kv_free(kv);
}
END_TEST

START_TEST(sizes)
{
	uint64_t v;
	vt_ok(vstd_parse_size("65536", 0, "size", &v));
	ck_assert_uint_eq(v, 65536);
	vt_ok(vstd_parse_size("64k", 0, "size", &v));
	ck_assert_uint_eq(v, 65536);
	vt_ok(vstd_parse_size("1.5G", 0, "size", &v));
	ck_assert_uint_eq(v, 3ull << 29);
	vt_ok(vstd_parse_size("2T", 0, "size", &v));
	ck_assert_uint_eq(v, 2ull << 40);
	vt_ok(vstd_parse_size("1GiB", 0, "size", &v));
	ck_assert_uint_eq(v, 1ull << 30);
	vt_ok(vstd_parse_size("512b", 0, "size", &v));
	ck_assert_uint_eq(v, 512);
	ck_assert_int_eq(vstd_parse_size("-1", 0, "size", &v), VSTD_EINVAL);
	ck_assert_int_eq(vstd_parse_size("1e30", 0, "size", &v), VSTD_EINVAL);
	ck_assert_int_eq(vstd_parse_size("12Q", 0, "size", &v), VSTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(vstd_error_last()->message, "'Q'"));
	ck_assert_int_eq(vstd_parse_size("", 0, "size", &v), VSTD_EINVAL);
	ck_assert_int_eq(vstd_parse_size("abc", 0, "size", &v), VSTD_EINVAL);
	ck_assert_int_eq(vstd_parse_size("16E", 0, "size", &v), VSTD_ERANGE);
	ck_assert_int_eq(vstd_parse_size("99999999999999999999999", 0, "size", &v), VSTD_ERANGE);
	ck_assert_int_eq(vstd_parse_size("0.3k", 0, "size", &v), VSTD_ERANGE);
	ck_assert_int_eq(vstd_parse_size("2G", 1 << 30, "size", &v), VSTD_ERANGE);
}
END_TEST

static void add_job(void *arg)
{
	__atomic_fetch_add((int *)arg, 1, __ATOMIC_SEQ_CST);
}

START_TEST(pool)
{
	vstd_pool *p = NULL;
	int counter = 0;
	vt_ok(vstd_pool_new(&p, 3, 2));
	ck_assert_uint_eq(vstd_pool_threads(p), 3);
	for (int i = 0; i < 1000; i++)
		vt_ok(vstd_pool_submit(p, add_job, &counter));
	vstd_pool_wait(p);
	ck_assert_int_eq(counter, 1000);
	vstd_pool_free(p);
	vstd_pool_free(NULL);
	ck_assert_uint_ge(vstd_cpu_count(), 1);
}
END_TEST

START_TEST(bytes)
{
	uint8_t b[8];
	uint64_t r;
	vstd_put_be32(b, 0x51464900u);
	ck_assert_uint_eq(vstd_be32(b), 0x51464900u);
	ck_assert_uint_eq(b[0], 0x51);
	vstd_put_le64(b, 0x0102030405060708ull);
	ck_assert_uint_eq(b[0], 8);
	ck_assert_uint_eq(vstd_le64(b), 0x0102030405060708ull);
	vstd_put_be64(b, 0x0102030405060708ull);
	ck_assert_uint_eq(vstd_be64(b), 0x0102030405060708ull);
	vstd_put_le16(b, 0xabcd);
	ck_assert_uint_eq(vstd_le16(b), 0xabcd);
	vstd_put_be16(b, 0xabcd);
	ck_assert_uint_eq(vstd_be16(b), 0xabcd);
	ck_assert(vstd_add_overflow_u64(UINT64_MAX, 1, &r));
	ck_assert(vstd_mul_overflow_u64(1ull << 32, 1ull << 32, &r));
	ck_assert(vstd_range_inside(10, 5, 15));
	ck_assert(!vstd_range_inside(10, 6, 15));
	ck_assert(!vstd_range_inside(UINT64_MAX, 2, UINT64_MAX));
	ck_assert(vstd_is_pow2(4096) && !vstd_is_pow2(0) && !vstd_is_pow2(12));
	{
		static uint8_t z[1000];
		ck_assert(vstd_is_zero(z + 1, 999));
		z[998] = 1;
		ck_assert(!vstd_is_zero(z + 1, 999));
		ck_assert(vstd_is_zero(z, 0));
	}
}
END_TEST

START_TEST(version)
{
	int a, b, c;
	ck_assert_str_eq(vstd_version(&a, &b, &c), VSTD_VERSION_STRING);
	ck_assert_int_eq(a, VSTD_VERSION_MAJOR);
	ck_assert_int_eq(b, VSTD_VERSION_MINOR);
	ck_assert_int_eq(c, VSTD_VERSION_PATCH);
	ck_assert_ptr_nonnull(vstd_version(NULL, NULL, NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core/base");
	TCase *tc = tcase_create("base");
	tcase_add_test(tc, errors);
	tcase_add_test(tc, errors_are_thread_local);
	tcase_add_test(tc, allocator);
	tcase_add_test(tc, fail_nth);
	tcase_add_test(tc, fail_hook);
	tcase_add_test(tc, fail_every_allocation_of_kv_parse);
	tcase_add_test(tc, logging);
	tcase_add_test(tc, kv_lists);
	tcase_add_test(tc, sizes);
	tcase_add_test(tc, pool);
	tcase_add_test(tc, bytes);
	tcase_add_test(tc, version);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
