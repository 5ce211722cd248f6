/*
 * tests/disk/test_ops_chain.c - the whole-image operations on backing
 * chains (qcow2 over raw), through the `vstd img` command and checked with
 * qemu-img / qemu-io: info --backing-chain and map JSON equal to qemu-img's,
 * convert -B (areas equal to the backing stay unallocated), convert -c,
 * rebase (safe and -u, and onto nothing), commit, amend.
 */
#include <stdio.h>
#include <string.h>

#include "vtest.h"

#define Q(name) vt_path(name)

static void sh_ok(const char *what, int rc)
{
	ck_assert_msg(rc == 0, "%s failed (%d): %s", what, rc, vt_output());
}

/* base.raw: 8 MiB, 0x11 in the first 4 MiB; ov.qcow2 over it with 0x22 at 1M. */
static void make_chain(void)
{
	sh_ok("base",
	      vt_run("cd '%s' && rm -f base.raw ov.qcow2 && qemu-img create -q -f raw base.raw 8M "
	             "&& qemu-io -f raw -c 'write -P 0x11 0 4M' base.raw",
	             vt_tmpdir()));
	sh_ok("overlay",
	      vt_run("cd '%s' && '%s' img create -q -f qcow2 -b base.raw -F raw ov.qcow2 && "
	             "qemu-io -f qcow2 -c 'write -P 0x22 1M 1M' ov.qcow2",
	             vt_tmpdir(), vt_cli()));
}

START_TEST(info_and_map_like_qemu)
{
	make_chain();
	/* the same fields and values for every image of the chain */
	sh_ok("info chain",
	      vt_run("cd '%s' && '%s' img info --backing-chain --output=json ov.qcow2 | jq -S "
	             "'[.[] | del(.\"actual-size\")]' > v.json && qemu-img info --backing-chain "
	             "--output=json ov.qcow2 | jq -S '[.[] | del(.\"actual-size\")]' > q.json && "
	             "diff "
	             "v.json q.json",
	             vt_tmpdir(), vt_cli()));
	sh_ok("map",
	      vt_run("cd '%s' && '%s' img map --output=json ov.qcow2 | jq -c . > v.json && "
	             "qemu-img map --output=json ov.qcow2 | jq -c . > q.json && diff v.json q.json",
	             vt_tmpdir(), vt_cli()));
	sh_ok("info keys",
	      vt_run("cd '%s' && '%s' img info --output=json ov.qcow2 | jq -e "
	             "'has(\"cluster-size\") "
	             "and has(\"format-specific\") and .\"backing-filename-format\" == \"raw\"'",
	             vt_tmpdir(), vt_cli()));
}
END_TEST

START_TEST(convert_with_backing_and_compression)
{
	make_chain();
	sh_ok("flatten",
	      vt_run("cd '%s' && '%s' img convert -O raw ov.qcow2 flat.raw && qemu-img compare "
	             "ov.qcow2 flat.raw",
	             vt_tmpdir(), vt_cli()));
	/* -B: only the MiB that differs from base.raw is allocated in the top */
	sh_ok("convert -B",
	      vt_run("cd '%s' && rm -f nb.qcow2 && '%s' img convert -O qcow2 -B base.raw -F raw "
	             "flat.raw "
	             "nb.qcow2 && qemu-img compare flat.raw nb.qcow2 && qemu-img check nb.qcow2",
	             vt_tmpdir(), vt_cli()));
	sh_ok("-B allocation", vt_run("cd '%s' && test \"$(qemu-img map --output=json nb.qcow2 | "
	                              "jq '[.[] | select(.depth "
	                              "== 0) | .length] | add')\" = 1048576",
	                              vt_tmpdir()));
	/* -c: compressed clusters, valid for qemu-img */
	sh_ok("convert -c",
	      vt_run("cd '%s' && rm -f c.qcow2 && '%s' img convert -c -O qcow2 flat.raw c.qcow2 && "
	             "qemu-img check --output=json c.qcow2 | jq -e '.\"compressed-clusters\" > 0' "
	             "&& "
	             "qemu-img compare flat.raw c.qcow2",
	             vt_tmpdir(), vt_cli()));
	/* -c with holes that split clusters: partial units stored plainly */
	sh_ok("convert -c holes", vt_run("cd '%s' && rm -f h2.raw hc2.qcow2 && truncate -s 8M "
	                                 "h2.raw && qemu-io -f raw -c "
	                                 "'write -P 0x41 69632 8192' -c 'write -P 0x42 1003520 "
	                                 "300000' -c 'write -P 0x43 "
	                                 "8384512 4096' h2.raw && '%s' img convert -c -O qcow2 "
	                                 "h2.raw hc2.qcow2 && qemu-img "
	                                 "compare h2.raw hc2.qcow2 && qemu-img check hc2.qcow2",
	                                 vt_tmpdir(), vt_cli()));
	/* measure: the same numbers as qemu-img for qcow2 */
	sh_ok("measure", vt_run("cd '%s' && '%s' img measure --output=json -O qcow2 flat.raw | jq "
	                        "-S . > vm.json && "
	                        "qemu-img measure --output=json -O qcow2 flat.raw | jq -S . > "
	                        "qm.json && diff vm.json "
	                        "qm.json && '%s' img measure --output=json -O qcow2 --size 1G | jq "
	                        "-S . > vm.json && "
	                        "qemu-img measure --output=json -O qcow2 --size 1G | jq -S . > "
	                        "qm.json && diff "
	                        "vm.json qm.json",
	                        vt_tmpdir(), vt_cli(), vt_cli()));
	/* and qemu-img's qcow2 read back by vstd */
	sh_ok("qemu qcow2",
	      vt_run("cd '%s' && rm -f q.qcow2 && qemu-img convert -c -O qcow2 flat.raw q.qcow2 && "
	             "'%s' img compare flat.raw q.qcow2 && '%s' img check q.qcow2",
	             vt_tmpdir(), vt_cli(), vt_cli()));
}
END_TEST

START_TEST(rebase_safe_unsafe_none)
{
	make_chain();
	sh_ok("base2",
	      vt_run("cd '%s' && rm -f base2.raw && qemu-img create -q -f raw base2.raw 8M && "
	             "qemu-io -f raw -c 'write -P 0x33 3M 2M' base2.raw && '%s' img convert -O raw "
	             "ov.qcow2 before.raw",
	             vt_tmpdir(), vt_cli()));
	/* safe: the guest sees the same disk over the new base */
	sh_ok("rebase",
	      vt_run("cd '%s' && cp ov.qcow2 r1.qcow2 && '%s' img rebase -b base2.raw -F raw "
	             "r1.qcow2 "
	             "&& qemu-img compare before.raw r1.qcow2 && qemu-img check r1.qcow2 && "
	             "qemu-img info --output=json r1.qcow2 | jq -e '.\"backing-filename\" == "
	             "\"base2.raw\"'",
	             vt_tmpdir(), vt_cli()));
	/* unsafe: only the name changes, so the contents do */
	sh_ok("rebase -u",
	      vt_run("cd '%s' && cp ov.qcow2 r2.qcow2 && '%s' img rebase -u -b base2.raw -F raw "
	             "r2.qcow2 && qemu-img info --output=json r2.qcow2 | jq -e "
	             "'.\"backing-filename\" == \"base2.raw\"'",
	             vt_tmpdir(), vt_cli()));
	ck_assert_int_eq(vt_run("cd '%s' && qemu-img compare before.raw r2.qcow2", vt_tmpdir()), 1);
	/* onto nothing: the base's data is copied in */
	sh_ok("rebase none",
	      vt_run("cd '%s' && cp ov.qcow2 r3.qcow2 && '%s' img rebase -b '' r3.qcow2 && "
	             "qemu-img compare before.raw r3.qcow2 && ! qemu-img info r3.qcow2 | grep "
	             "-q backing",
	             vt_tmpdir(), vt_cli()));
}
END_TEST

START_TEST(commit_and_amend)
{
	make_chain();
	sh_ok("commit",
	      vt_run("cd '%s' && qemu-io -f qcow2 -c 'write -P 0x44 6M 1M' -c 'write -z 0 64k' "
	             "ov.qcow2 && '%s' img convert -O raw ov.qcow2 want.raw && '%s' img commit "
	             "ov.qcow2 && qemu-img compare want.raw base.raw && qemu-img check ov.qcow2 && "
	             "qemu-img compare want.raw ov.qcow2",
	             vt_tmpdir(), vt_cli(), vt_cli()));
	/* the overlay is empty again */
	sh_ok("emptied",
	      vt_run("cd '%s' && test \"$(qemu-img map --output=json ov.qcow2 | jq '[.[] | "
	             "select(.depth == 0)] | length')\" = 0",
	             vt_tmpdir()));
	sh_ok("amend",
	      vt_run("cd '%s' && '%s' img amend -o lazy_refcounts=on ov.qcow2 && qemu-img info "
	             "--output=json ov.qcow2 | jq -e "
	             "'.\"format-specific\".data.\"lazy-refcounts\"'",
	             vt_tmpdir(), vt_cli()));
	ck_assert_int_eq(
	        vt_run("cd '%s' && '%s' img amend -o nosuch=1 ov.qcow2", vt_tmpdir(), vt_cli()), 1);
}
END_TEST

START_TEST(snapshots)
{
	sh_ok("snapshot",
	      vt_run("cd '%s' && rm -f s.qcow2 && qemu-img create -q -f qcow2 s.qcow2 4M && "
	             "qemu-io -c "
	             "'write -P 0x55 0 1M' s.qcow2 && '%s' img snapshot -c snap1 s.qcow2 && "
	             "qemu-io -c "
	             "'write -P 0x66 0 1M' s.qcow2 && qemu-img snapshot -l s.qcow2 | grep -q snap1 "
	             "&& "
	             "'%s' img snapshot -l s.qcow2 | grep -q snap1 && qemu-img check s.qcow2",
	             vt_tmpdir(), vt_cli(), vt_cli()));
	/* convert -l gives the snapshot's contents, as qemu-img's does */
	sh_ok("convert -l", vt_run("cd '%s' && '%s' img convert -l snapshot.name=snap1 -O raw "
	                           "s.qcow2 snap.raw && "
	                           "qemu-img convert -l snapshot.name=snap1 -O raw s.qcow2 "
	                           "qsnap.raw && cmp snap.raw "
	                           "qsnap.raw && ! qemu-img compare -q s.qcow2 snap.raw",
	                           vt_tmpdir(), vt_cli()));
	sh_ok("apply and delete", vt_run("cd '%s' && '%s' img snapshot -a snap1 s.qcow2 && "
	                                 "qemu-img compare s.qcow2 snap.raw "
	                                 "&& '%s' img snapshot -d snap1 s.qcow2 && ! qemu-img "
	                                 "snapshot -l s.qcow2 | grep -q "
	                                 "snap1 && qemu-img check s.qcow2",
	                                 vt_tmpdir(), vt_cli(), vt_cli()));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("disk/ops_chain");
	TCase *tc = tcase_create("ops_chain");
	vt_require_tool("qemu-img", "qemu-utils");
	vt_require_tool("qemu-io", "qemu-utils");
	vt_require_tool("jq", "jq");
	/* the CLI links every driver; ask it (a test binary links weak ones only
	 * once the registry references them strongly) */
	if (vt_run("'%s' img create -q -f qcow2 '%s' 1M", vt_cli(), vt_path("probe.qcow2")) != 0)
		vt_skip("the qcow2 driver is not in this build");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, info_and_map_like_qemu);
	tcase_add_test(tc, convert_with_backing_and_compression);
	tcase_add_test(tc, rebase_safe_unsafe_none);
	tcase_add_test(tc, commit_and_amend);
	tcase_add_test(tc, snapshots);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
