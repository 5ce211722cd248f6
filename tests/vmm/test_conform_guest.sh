#!/bin/bash
# The conformance guest under `vstd vmm run` and under QEMU gives the same
# compared report lines ("R ...") and the same exit status (debug-exit 0 =
# status 1); on the host's /dev/kvm when usable, else inside the nested TCG
# guest (tests/vmm/lib.sh).
. "$(dirname "$0")/lib.sh"
need qemu-system-x86_64 qemu-system-x86
[ -f "$GUEST" ] || fail "the conformance guest was not built ($GUEST)"

# the peer: QEMU with KVM when it works here, else TCG
accel=tcg
if [ -w /dev/kvm ]; then accel=kvm; fi
timeout 60 qemu-system-x86_64 -accel $accel -m 256 -nographic -no-reboot -nodefaults -serial stdio \
	-device isa-debug-exit -kernel "$GUEST" </dev/null >"$T/qemu.txt" 2>&1
qrc=$?
[ $qrc = 1 ] || { cat "$T/qemu.txt"; fail "QEMU ($accel): exit status $qrc, expected 1"; }
compared "$T/qemu.txt" >"$T/qemu.r"
[ -s "$T/qemu.r" ] || fail "no report from the guest under QEMU"

if host_kvm_usable; then
	where=host
	timeout 60 "$VSTD" vmm run --kernel "$GUEST" --timeout 30 >"$T/vmm.txt" 2>"$T/vmm.err"
	vrc=$?
else
	where=nested
	cat >"$T/inner.sh" <<'IN'
/bin/vstd vmm run --kernel /t/vstd-conform-guest.bin --timeout 30 2>/t/err
rc=$?
cat /t/err
exit $rc
IN
	nested_run "$T/vmm.txt" "$T/inner.sh" "$GUEST"
	vrc=$?
	[ $vrc = 125 ] && fail "nested KVM setup failed"
	cp "$T/vmm.txt" "$T/vmm.err"
fi
[ $vrc = 1 ] || { cat "$T/vmm.txt" "$T/vmm.err"; fail "vstd vmm ($where): exit status $vrc, expected 1"; }
compared "$T/vmm.txt" >"$T/vmm.r"
if ! diff -u "$T/qemu.r" "$T/vmm.r"; then
	fail "the compared report lines differ between QEMU ($accel) and vstd vmm ($where)"
fi
grep -q '^R serial=ok' "$T/vmm.r" || fail "report lacks serial=ok"
echo "conformance guest: $(wc -l <"$T/vmm.r") compared lines equal (QEMU $accel, vmm $where)"
