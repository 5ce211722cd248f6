#!/bin/bash
# The conformance guest under `vstd vmm run` and under QEMU gives the same
# compared report lines ("R ...") and the same exit status (debug-exit 0 =
# status 1); on the host's /dev/kvm when usable, else inside the nested TCG
# guest (tests/vmm/lib.sh).
. "$(dirname "$0")/lib.sh"
need qemu-system-x86_64 qemu-system-x86
[ -f "$GUEST" ] || fail "the conformance guest was not built ($GUEST)"

# a disk: QEMU reads it raw, vmm reads a qcow2 copy (converted by qemu-img):
# the same checksum proves the qcow2 path; both run with throw-away writes
need qemu-img qemu-utils
head -c 131072 /dev/urandom >"$T/disk.raw"
qemu-img convert -f raw -O qcow2 "$T/disk.raw" "$T/disk.qcow2" || fail "qemu-img convert"
cp "$T/disk.raw" "$T/disk.orig"

# the peer: QEMU with KVM when it works here, else TCG
accel=tcg
if [ -w /dev/kvm ]; then accel=kvm; fi
timeout 60 qemu-system-x86_64 -accel $accel -m 256 -nographic -no-reboot -nodefaults -serial stdio \
	-device isa-debug-exit -drive file="$T/disk.raw",format=raw,if=none,id=d0,snapshot=on \
	-device virtio-blk-pci,drive=d0,disable-legacy=on -kernel "$GUEST" </dev/null >"$T/qemu.txt" 2>&1
qrc=$?
[ $qrc = 1 ] || { cat "$T/qemu.txt"; fail "QEMU ($accel): exit status $qrc, expected 1"; }
compared "$T/qemu.txt" >"$T/qemu.r"
[ -s "$T/qemu.r" ] || fail "no report from the guest under QEMU"

if host_kvm_usable; then
	where=host
	timeout 60 "$VSTD" vmm run --kernel "$GUEST" --disk "$T/disk.qcow2" --snapshot --timeout 30 \
		>"$T/vmm.txt" 2>"$T/vmm.err"
	vrc=$?
else
	where=nested
	cat >"$T/inner.sh" <<'IN'
/bin/vstd vmm run --kernel /t/vstd-conform-guest.bin --disk /t/disk.qcow2 --snapshot --timeout 30 2>/t/err
rc=$?
cat /t/err
exit $rc
IN
	nested_run "$T/vmm.txt" "$T/inner.sh" "$GUEST" "$T/disk.qcow2"
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
grep -q '^R disk.0.marker=ok' "$T/vmm.r" || fail "the guest could not write and read back its marker"
grep -q '^R disk.0.fnv1a64=' "$T/vmm.r" || fail "the guest did not checksum the disk"
cmp -s "$T/disk.raw" "$T/disk.orig" || fail "QEMU -snapshot let the guest write the image"
qemu-img compare -q "$T/disk.qcow2" "$T/disk.orig" || fail "--snapshot let the guest write the qcow2 image"
echo "conformance guest: $(wc -l <"$T/vmm.r") compared lines equal (QEMU $accel, vmm $where)"
