#!/bin/bash
# The conformance guest's hostile-ring mode (vstd.hostile=1) against vstd
# vmm's virtio-blk (lib/paravirt): descriptor loops, out-of-range heads and
# next indices, buffers crossing out of guest RAM, 4 GiB lengths, wrapping
# addresses, nested / bad-length / looping indirect tables, an available
# index jumping past the queue size, descriptors rewritten after the
# notify.  The monitor must neither crash nor hang (the guest powers off
# normally), the guest must find every case contained (nothing written
# outside its buffers, the device restarts after a reset and the disk reads
# as before), and every ring-rule case must have set NEEDS_RESET.  The same
# mode runs under QEMU for information only (its reactions differ).
. "$(dirname "$0")/lib.sh"
need qemu-img qemu-utils
[ -f "$GUEST" ] || fail "the conformance guest was not built ($GUEST)"

head -c 262144 /dev/urandom >"$T/disk.raw"
qemu-img convert -f raw -O qcow2 "$T/disk.raw" "$T/disk.qcow2" || fail "qemu-img convert"
cp "$T/disk.raw" "$T/disk.orig"

if host_kvm_usable; then
	where=host
	timeout 150 "$VSTD" vmm run --kernel "$GUEST" --disk "$T/disk.qcow2" --snapshot \
		--append vstd.hostile=1 --timeout 120 >"$T/vmm.txt" 2>"$T/vmm.err"
	vrc=$?
else
	where=nested
	cat >"$T/inner.sh" <<'IN'
/bin/vstd vmm run --kernel /t/vstd-conform-guest.bin --disk /t/disk.qcow2 --snapshot \
	--append vstd.hostile=1 --timeout 140 2>/t/err
rc=$?
cat /t/err
exit $rc
IN
	nested_run "$T/vmm.txt" "$T/inner.sh" "$GUEST" "$T/disk.qcow2"
	vrc=$?
	[ $vrc = 125 ] && fail "nested KVM setup failed"
	cp "$T/vmm.txt" "$T/vmm.err"
fi
[ $vrc = 1 ] || { tail -30 "$T/vmm.txt"; cat "$T/vmm.err"; fail "vstd vmm ($where): exit status $vrc, expected 1 (the guest's power-off)"; }
report "$T/vmm.txt" >"$T/vmm.rep"
grep -q '^VSTD-CONFORM-END status=0' "$T/vmm.rep" || { tail -20 "$T/vmm.txt"; fail "the report did not end"; }
n=$(sed -n 's/^R hostile.cases=//p' "$T/vmm.rep")
c=$(sed -n 's/^R hostile.contained=//p' "$T/vmm.rep")
[ -n "$n" ] && [ "$n" -ge 20 ] || { cat "$T/vmm.rep"; fail "the guest ran ${n:-no} hostile cases, expected 20 or more"; }
grep '^R hostile\.[a-z_0-9]*=breached' "$T/vmm.rep" && fail "cases not contained under vstd vmm"
[ "$c" = "$n" ] || fail "$c of $n cases contained"
[ "$(grep -c '^R hostile\.[a-z_0-9]*=contained$' "$T/vmm.rep")" = "$n" ] || fail "not one contained line per case"
# the reference device refuses every broken ring by setting NEEDS_RESET;
# a read past the disk's end is an I/O error in the status byte
for k in $(sed -n 's/^I hostile\.\([a-z_0-9]*\)\.reaction=.*/\1/p' "$T/vmm.rep"); do
	r=$(sed -n "s/^I hostile\.$k\.reaction=//p" "$T/vmm.rep")
	case $k in
	read_past_disk_end) [ "$r" = used:1 ] || fail "$k: reaction $r, expected an I/O error (used:1)" ;;
	write_after_notify | no_status_byte) ;; # either reaction is within the rules
	*) [ "$r" = needs-reset ] || fail "$k: reaction $r, expected needs-reset" ;;
	esac
done
qemu-img compare -q "$T/disk.qcow2" "$T/disk.orig" || fail "--snapshot let the guest write the qcow2 image"

# QEMU, for information
if command -v qemu-system-x86_64 >/dev/null 2>&1; then
	timeout 60 qemu-system-x86_64 -accel tcg -m 256 -nographic -no-reboot -nodefaults -serial stdio \
		-device isa-debug-exit -drive file="$T/disk.raw",format=raw,if=none,id=d0,snapshot=on \
		-device virtio-blk-pci,drive=d0,disable-legacy=on -kernel "$GUEST" -append vstd.hostile=1 \
		</dev/null >"$T/qemu.txt" 2>&1
	echo "QEMU (tcg, information only): exit status $?"
	echo "case vmm qemu:"
	for k in $(sed -n 's/^I hostile\.\([a-z_0-9]*\)\.reaction=.*/\1/p' "$T/vmm.rep"); do
		printf '  %-26s %-12s %s %s\n' "$k" "$(sed -n "s/^I hostile\.$k\.reaction=//p" "$T/vmm.rep")" \
			"$(tr -d '\r' <"$T/qemu.txt" | sed -n "s/^I hostile\.$k\.reaction=//p")" \
			"$(tr -d '\r' <"$T/qemu.txt" | sed -n "s/^R hostile\.$k=//p")"
	done
fi
echo "hostile guest: $c of $n cases contained under vstd vmm ($where)"
