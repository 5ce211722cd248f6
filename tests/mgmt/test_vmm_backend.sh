#!/bin/bash
# tests/mgmt/test_vmm_backend.sh - the vmm backend end to end through
# wbemcli (tests/mgmt/vmm_body.sh): DefineSystem with a kernel,
# RequestStateChange start / pause / resume / power off of a real `vstd vmm
# run` KVM guest, DestroySystem; and a system defined from an OVA whose disk
# holds a known pattern, read back by the conformance guest under vmm.
#
# On the host's /dev/kvm when `vstd vmm check` accepts it; otherwise (or
# with VSTD_TEST_NESTED=1) inside the nested TCG guest of tests/vmm/lib.sh
# (Debian's cloud kernel with kvm-amd under QEMU -cpu max), with the server,
# wbemcli and its libraries copied in: the vmm backend is proven wherever
# the tests run.
. "$(dirname "$0")/../vmm/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
need wbemcli sblim-wbemcli
need qemu-img qemu-utils
need python3 python3
[ -r "$GUEST" ] || skip "the conformance guest is not built ($GUEST)"
"$VSTD" vmm --help >/dev/null 2>&1 || skip "vstd vmm is not part of this build"
. "$HERE/ovf_pkg.sh"

SUM=$(pattern_disk "$T/pattern.raw")
ovf_package "$T/pkg" vmova "$T/pattern.raw" || fail "cannot build the OVF package"
# the long-running guest: the conformance guest with its 64-bit entry
# (0x100200, file offset 0xc00 after the 0xa00-byte setup) replaced by
# "sti; hlt; jmp hlt": it idles in HLT (blocked in KVM, no CPU) until killed
cp "$GUEST" "$T/idle.bin"
printf '\xfb\xf4\xeb\xfd' | dd of="$T/idle.bin" bs=1 seek=$((0xc00)) conv=notrunc status=none

if [ "${VSTD_TEST_NESTED:-0}" != 1 ] && host_kvm_usable; then
	W=$T/w
	mkdir -p "$W"
	SRV=
	reap() { # guests the body left running (it failed half-way)
		[ -n "${SRV:-}" ] && kill "$SRV" 2>/dev/null
		for f in "$W"/st/systems/*.json; do
			[ -e "$f" ] || continue
			p=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$f")
			u=$(basename "$f" .json)
			[ -n "$p" ] && [ "$p" != 0 ] && tr '\0' ' ' </proc/$p/cmdline 2>/dev/null | grep -q "$u" && kill -9 "$p"
		done
		rm -rf "$T"
	}
	trap reap EXIT
	CLI=$VSTD KERNEL=$T/idle.bin OVA=$T/pkg/vmova.ova
	PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
	. "$HERE/vmm_body.sh" | tee "$T/body.txt"
	where="host /dev/kvm"
else
	# everything the body needs, for the nested guest: wbemcli and its
	# libraries at their paths, a few busybox applets, loopback up
	WB=$(command -v wbemcli)
	{ echo "$WB"; ldd "$WB" | awk '/=>/ {print $3} /^\t\/lib/ {print $1}'; } | sed 's|^/||' >"$T/wbem.list"
	tar -C / -chf "$T/wbem.tar" -T "$T/wbem.list" || fail "cannot pack wbemcli"
	cat >"$T/inner.sh" <<IN
for a in sed tr seq sleep hostname tar kill wc tee ifconfig basename; do ln -sf busybox /bin/\$a; done
tar -xf /t/wbem.tar -C /
ifconfig lo 127.0.0.1 up
hostname vstd-nested
mkdir -p /tmp/w
export PATH=/bin:/usr/bin
CLI=/bin/vstd KERNEL=/t/idle.bin GUEST=/t/vstd-conform-guest.bin OVA=/t/vmova.ova SUM=$SUM W=/tmp/w PORT=5988
. /t/vmm_body.sh
IN
	nested_run "$T/nested.txt" "$T/inner.sh" "$HERE/vmm_body.sh" "$T/wbem.tar" "$T/idle.bin" "$GUEST" \
		"$T/pkg/vmova.ova"
	[ $? = 125 ] && fail "nested KVM setup failed"
	tr -d '\r' <"$T/nested.txt" | grep -a -E '^(ok|FAIL|VMM-BODY|     )' | tee "$T/body.txt"
	grep -a "NESTED-SETUP" "$T/nested.txt"
	where="nested KVM under QEMU TCG"
fi
n=$(sed -n 's/^VMM-BODY-FAILS=//p' "$T/body.txt" | tail -1)
[ -n "$n" ] || fail "the checks did not finish ($where)"
[ "$n" = 0 ] || fail "$n check(s) failed ($where)"
echo "all vmm backend checks passed ($where)"
