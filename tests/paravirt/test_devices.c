/*
 * tests/paravirt/test_devices.c - every device driven end to end by the
 * driver-side library over virtio-mmio, modern virtio-pci and transitional
 * virtio-pci, with split and packed rings and the feature combinations the
 * specification allows (EVENT_IDX, INDIRECT_DESC, IN_ORDER, MSI-X).
 */
#include <stdio.h>

#include "paravirt/exercise.h"
#include "vtest.h"

typedef int (*scenario_fn)(const struct vx_cfg *c, char *msg, size_t len);

/* Run fn over all 3 transports x 2 layouts x event_idx x indirect (+ MSI-X
 * and IN_ORDER on some). */
static void all_combinations(scenario_fn fn, const char *name, unsigned requests, unsigned depth)
{
	char msg[512];
	unsigned n = 0;
	for (int t = 0; t < 3; t++)
		for (int packed = 0; packed < 2; packed++)
			for (int ev = 0; ev < 2; ev++)
				for (int ind = 0; ind < 2; ind++) {
					struct vx_cfg c = {0};
					c.transport = t;
					c.packed = packed;
					c.event_idx = ev;
					c.indirect = ind;
					c.msix = t == 1 && ev;
					c.in_order = ind && !ev;
					c.requests = requests;
					c.depth = depth;
					int rc = fn(&c, msg, sizeof(msg));
					ck_assert_msg(rc == 0,
						      "%s transport=%d packed=%d event_idx=%d indirect=%d msix=%d: %s",
						      name, t, packed, ev, ind, c.msix, msg);
					n++;
				}
	ck_assert_uint_eq(n, 24);
}

START_TEST(blk_all_combinations)
{
	all_combinations(vx_blk, "blk", 300, 8);
}
END_TEST

START_TEST(rng_all_combinations)
{
	all_combinations(vx_rng, "rng", 10, 1);
}
END_TEST

START_TEST(net_all_combinations)
{
	all_combinations(vx_net, "net", 100, 1);
}
END_TEST

START_TEST(net_without_mergeable_buffers)
{
	char msg[512];
	for (int packed = 0; packed < 2; packed++) {
		struct vx_cfg c = {0};
		c.packed = packed;
		c.event_idx = 1;
		c.flags = VX_NO_MRG;
		c.requests = 50;
		ck_assert_msg(vx_net(&c, msg, sizeof(msg)) == 0, "packed=%d: %s", packed, msg);
	}
}
END_TEST

START_TEST(console_all_combinations)
{
	all_combinations(vx_console, "console", 0, 1);
}
END_TEST

START_TEST(console_single_port)
{
	char msg[512];
	for (int t = 0; t < 2; t++) {
		struct vx_cfg c = {0};
		c.transport = t;
		c.flags = VX_SINGLE_PORT;
		ck_assert_msg(vx_console(&c, msg, sizeof(msg)) == 0, "transport=%d: %s", t, msg);
	}
}
END_TEST

START_TEST(net_index_wrap)
{
	char msg[512];
	struct vx_cfg c = {0};
	c.packed = 1;
	c.event_idx = 1;
	c.qsize = 64;
	c.requests = 66000;
	ck_assert_msg(vx_net(&c, msg, sizeof(msg)) == 0, "%s", msg);
}
END_TEST

START_TEST(blk_index_wrap_split)
{
	char msg[512];
	struct vx_cfg c = {0};
	c.requests = 70000; /* past 65,535: the 16-bit indices wrap */
	c.depth = 64;
	c.event_idx = 1;
	c.indirect = 1;
	c.qsize = 128;
	ck_assert_msg(vx_blk(&c, msg, sizeof(msg)) == 0, "%s", msg);
}
END_TEST

START_TEST(blk_index_wrap_packed)
{
	char msg[512];
	struct vx_cfg c = {0};
	c.packed = 1;
	c.requests = 70000;
	c.depth = 32; /* 3 descriptors each, direct: 96 of 100 slots */
	c.event_idx = 1;
	c.transport = 1;
	c.qsize = 100; /* packed rings need not be a power of two */
	ck_assert_msg(vx_blk(&c, msg, sizeof(msg)) == 0, "%s", msg);
}
END_TEST

START_TEST(blk_queue_depth_1_and_64)
{
	char msg[512];
	for (unsigned d = 1; d <= 64; d *= 4) {
		struct vx_cfg c = {0};
		c.requests = 1000;
		c.depth = d;
		ck_assert_msg(vx_blk(&c, msg, sizeof(msg)) == 0, "depth %u: %s", d, msg);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("paravirt/devices");
	TCase *tc = tcase_create("devices");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, blk_all_combinations);
	tcase_add_test(tc, rng_all_combinations);
	tcase_add_test(tc, net_all_combinations);
	tcase_add_test(tc, net_without_mergeable_buffers);
	tcase_add_test(tc, net_index_wrap);
	tcase_add_test(tc, console_all_combinations);
	tcase_add_test(tc, console_single_port);
	tcase_add_test(tc, blk_index_wrap_split);
	tcase_add_test(tc, blk_index_wrap_packed);
	tcase_add_test(tc, blk_queue_depth_1_and_64);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
