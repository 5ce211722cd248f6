#!/bin/bash
# Bad kernels, initrds and disks end with one clear error line and exit
# status 1, before any vCPU runs: truncated image, wrong magic, too-old
# protocol, no 64-bit entry, initrd too large for guest memory, missing
# file, a corrupt or missing disk, a missing backing file, more virtio-mmio
# devices than windows; plus the usage errors.  Needs /dev/kvm to get that far (the checks run after the
# VM is created); without it the error must name /dev/kvm.
. "$(dirname "$0")/lib.sh"
[ -f "$GUEST" ] || fail "the conformance guest was not built ($GUEST)"

expect_error() { # pattern args...
	local pat=$1
	shift
	timeout 20 "$VSTD" vmm run "$@" --timeout 5 >"$T/out" 2>"$T/err"
	local rc=$?
	if ! host_kvm_usable; then
		grep -q "/dev/kvm" "$T/err" || { cat "$T/err"; fail "without KVM the error must name /dev/kvm"; }
		return
	fi
	[ $rc = 1 ] || { cat "$T/out" "$T/err"; fail "'$*': exit status $rc, expected 1"; }
	grep -q -- "$pat" "$T/err" || { cat "$T/err"; fail "'$*': error does not say '$pat'"; }
	[ "$(wc -l <"$T/err")" -le 2 ] || { cat "$T/err"; fail "'$*': more than one error line"; }
}

size=$(stat -c %s "$GUEST")
head -c 3000 "$GUEST" >"$T/truncated.bin"
expect_error "truncated" --kernel "$T/truncated.bin"
head -c 1000 "$GUEST" >"$T/tiny.bin"
expect_error "truncated\|setup" --kernel "$T/tiny.bin"
cp "$GUEST" "$T/magic.bin"
printf 'XXXX' | dd of="$T/magic.bin" bs=1 seek=$((0x202)) conv=notrunc status=none
expect_error "HdrS" --kernel "$T/magic.bin"
cp "$GUEST" "$T/sig.bin"
printf '\x00\x00' | dd of="$T/sig.bin" bs=1 seek=$((0x1fe)) conv=notrunc status=none
expect_error "0xAA55" --kernel "$T/sig.bin"
cp "$GUEST" "$T/old.bin"
printf '\x01\x02' | dd of="$T/old.bin" bs=1 seek=$((0x206)) conv=notrunc status=none
expect_error "too old" --kernel "$T/old.bin"
cp "$GUEST" "$T/no64.bin"
printf '\x00\x00' | dd of="$T/no64.bin" bs=1 seek=$((0x236)) conv=notrunc status=none
expect_error "XLF_KERNEL_64" --kernel "$T/no64.bin"
truncate -s 100M "$T/big.initrd"
expect_error "initrd.*too large" --kernel "$GUEST" --initrd "$T/big.initrd" --mem 64M
expect_error "No such file" --kernel "$T/none.bin"
expect_error "command line" --kernel "$GUEST" --append "$(head -c 300 /dev/zero | tr '\0' x)"

# bad disks: the error names the disk and what is wrong with it
printf 'QFI\xfbgarbage' >"$T/bad.qcow2"
truncate -s 1M "$T/bad.qcow2"
expect_error "bad.qcow2" --kernel "$GUEST" --disk "$T/bad.qcow2,format=qcow2"
expect_error "No such file" --kernel "$GUEST" --disk "$T/nodisk.qcow2"
truncate -s 1M "$T/gone.raw"
qemu-img create -q -f qcow2 -b "$T/gone.raw" -F raw "$T/orphan.qcow2" || fail "qemu-img create"
rm "$T/gone.raw"
expect_error "gone.raw" --kernel "$GUEST" --disk "$T/orphan.qcow2"
truncate -s 1M "$T/d.raw"
mmio9=()
for i in 1 2 3 4 5 6 7; do mmio9+=(--disk "$T/d.raw,format=raw"); done
expect_error "at most 8 virtio-mmio" --kernel "$GUEST" --transport mmio "${mmio9[@]}" --rng \
	--virtio-console --read-only

# usage errors: exit 2
timeout 5 "$VSTD" vmm run --kernel "$GUEST" --transport isa >/dev/null 2>"$T/err"; [ $? = 2 ] || fail "--transport isa: expected exit 2"
timeout 5 "$VSTD" vmm run --kernel "$GUEST" --net "" >/dev/null 2>"$T/err"; [ $? = 2 ] || fail "--net '': expected exit 2"
timeout 5 "$VSTD" vmm run --kernel "$GUEST" --net a --net b --net c --net d --net e >/dev/null 2>"$T/err"; [ $? = 2 ] || fail "5 --net: expected exit 2"
timeout 5 "$VSTD" vmm run >/dev/null 2>"$T/err"; [ $? = 2 ] || fail "no kernel: expected exit 2"
timeout 5 "$VSTD" vmm run --kernel "$GUEST" --cpus 0 >/dev/null 2>"$T/err"; [ $? = 2 ] || fail "--cpus 0: expected exit 2"
timeout 5 "$VSTD" vmm run --kernel "$GUEST" --mem 12Q >/dev/null 2>"$T/err"; [ $? = 2 ] || fail "--mem 12Q: expected exit 2"
timeout 5 "$VSTD" vmm frobnicate >/dev/null 2>"$T/err"; [ $? = 2 ] || fail "unknown subcommand: expected exit 2"
echo "bad kernels: all refused with a clear error (size of the good guest: $size bytes)"
