#!/bin/bash
# The conformance guest as an ELF kernel (vstd-conform-guest.elf):
#  - its Xen PVH entry (XEN_ELFNOTE_PHYS32_ENTRY note, 32-bit, EBX = an
#    hvm_start_info) under `vstd vmm run` with a qcow2 disk, an initrd (PVH
#    module 0) and a command line, and under QEMU's -kernel (PVH option ROM,
#    machines pc and q35);
#  - the same file without its note, through the plain 64-bit ELF entry;
#  - the same image as an ELF32 (objcopy -O elf32-i386): PVH under both;
# every run gives the same compared report lines ("R ...") as the bzImage
# form under QEMU.  The vmm runs happen on the host's /dev/kvm when usable,
# else in one nested run (tests/vmm/lib.sh).
. "$(dirname "$0")/lib.sh"
need qemu-system-x86_64 qemu-system-x86
need qemu-img qemu-utils
need objcopy binutils
ELF=$BUILD/conformance/guest/vstd-conform-guest.elf
[ -f "$GUEST" ] || fail "the conformance guest was not built ($GUEST)"
[ -f "$ELF" ] || fail "the conformance guest's ELF form was not built ($ELF)"
APPEND="vstd.test=pvh console=none"

head -c 131072 /dev/urandom >"$T/disk.raw"
qemu-img convert -f raw -O qcow2 "$T/disk.raw" "$T/disk.qcow2" || fail "qemu-img convert"
cp "$T/disk.raw" "$T/disk.orig"
head -c 12345 /dev/urandom >"$T/initrd.img"
objcopy -R .note.Xen "$ELF" "$T/plain.elf" || fail "objcopy -R .note.Xen"
readelf -n "$T/plain.elf" 2>/dev/null | grep -q Xen && fail "the plain ELF still has the Xen note"
objcopy -O elf32-i386 "$ELF" "$T/elf32.elf" || fail "objcopy -O elf32-i386"

qemu() { # out kernel machine [extra...]
	local out=$1 k=$2 m=$3
	shift 3
	timeout 60 qemu-system-x86_64 -accel tcg -machine "$m" -m 256 -nographic -no-reboot -nodefaults \
		-serial stdio -device isa-debug-exit \
		-drive file="$T/disk.raw",format=raw,if=none,id=d0,snapshot=on \
		-device virtio-blk-pci,drive=d0,disable-legacy=on -kernel "$k" -append "$APPEND" "$@" \
		</dev/null >"$out" 2>&1
	local rc=$?
	[ $rc = 1 ] || { cat "$out"; fail "QEMU $m -kernel $(basename "$k"): exit status $rc, expected 1"; }
}
qemu "$T/q-bz.txt" "$GUEST" pc
qemu "$T/q-pvh.txt" "$ELF" pc -initrd "$T/initrd.img"
qemu "$T/q-pvh35.txt" "$ELF" q35 -initrd "$T/initrd.img"
qemu "$T/q-elf32.txt" "$T/elf32.elf" pc
compared "$T/q-bz.txt" >"$T/ref.r"
[ "$(wc -l <"$T/ref.r")" -ge 10 ] || { cat "$T/q-bz.txt"; fail "no report from the bzImage under QEMU"; }

# the vmm runs: one script, on the host or in the nested guest
cat >"$T/inner.sh" <<'IN'
V=${VSTD_IN:-/bin/vstd}
echo # the console's first line may carry the firmware's escape codes
echo "=== pvh"
$V vmm run --kernel vstd-conform-guest.elf --disk disk.qcow2 --snapshot --initrd initrd.img \
	--append "vstd.test=pvh console=none" --timeout 30 2>&1
echo "=== rc=$?"
echo "=== elf64"
$V vmm run --kernel plain.elf --disk disk.qcow2 --snapshot --append "vstd.test=pvh console=none" \
	--timeout 30 2>&1
echo "=== rc=$?"
echo "=== elf32"
$V vmm run --kernel elf32.elf --disk disk.qcow2 --snapshot --append "vstd.test=pvh console=none" \
	--timeout 30 2>&1
echo "=== rc=$?"
IN
if host_kvm_usable; then
	where=host
	(cd "$T" && cp "$ELF" . && VSTD_IN=$VSTD sh inner.sh) >"$T/vmm.txt" 2>&1
else
	where=nested
	nested_run "$T/vmm.txt" "$T/inner.sh" "$ELF" "$T/plain.elf" "$T/elf32.elf" "$T/disk.qcow2" \
		"$T/initrd.img"
	[ $? = 125 ] && fail "nested KVM setup failed"
fi
tr -d '\r' <"$T/vmm.txt" | awk '/^=== pvh/{f="pvh"} /^=== elf64/{f="elf64"} /^=== elf32/{f="elf32"} f{print > "'"$T"'/v-" f ".txt"}'
for v in pvh elf64 elf32; do
	[ -f "$T/v-$v.txt" ] || { cat "$T/vmm.txt"; fail "vmm ($where): no output for the $v run"; }
	grep -q '^=== rc=1$' "$T/v-$v.txt" || { cat "$T/v-$v.txt"; fail "vmm ($where) $v: exit status not 1"; }
done

check() { # name file entry modules
	local n=$1 f=$2
	compared "$f" >"$T/$n.r"
	diff -u "$T/ref.r" "$T/$n.r" || fail "$n: compared lines differ from the bzImage's under QEMU"
	grep -q "^I boot.entry=$3\$" "$f" || fail "$n: not entered through the $3 entry"
	grep -q "^I boot.cmdline=$APPEND\$" "$f" || fail "$n: the command line did not arrive"
	if [ -n "${4:-}" ]; then
		grep -q "^I boot.pvh_modules=$4\$" "$f" || fail "$n: hvm_start_info does not list $4 module(s)"
	fi
}
check qemu-pvh "$T/q-pvh.txt" pvh 1
check qemu-pvh-q35 "$T/q-pvh35.txt" pvh 1
check vmm-pvh "$T/v-pvh.txt" pvh 1
check vmm-elf64 "$T/v-elf64.txt" elf64
check qemu-elf32 "$T/q-elf32.txt" pvh
check vmm-elf32 "$T/v-elf32.txt" pvh
grep -q '^R disk.0.marker=ok' "$T/vmm-pvh.r" || fail "vmm pvh: the marker was not written and read back"
qemu-img compare -q "$T/disk.qcow2" "$T/disk.orig" || fail "--snapshot let the guest write the qcow2 image"
echo "pvh boot: $(wc -l <"$T/ref.r") compared lines equal for bzImage (QEMU), PVH (QEMU pc, q35; vmm $where), plain ELF64 (vmm $where), ELF32 PVH (QEMU, vmm $where)"
