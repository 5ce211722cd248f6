#!/bin/bash
# Debian's cloud kernel with a busybox initramfs boots to its init under
# `vstd vmm run` with 2 vCPUs (ACPI MADT, in-kernel irqchip and PIT, e820,
# command line, initramfs, 8250 console), loads the virtio-pci and
# virtio-blk modules, mounts an ext4 file system from a qcow2 disk (through
# vstd_disk, with --snapshot) and prints a file from it; the init then
# reboots (ACPI reset register -> i8042), which ends the run with status 0.
# On the host's /dev/kvm when it boots Linux there, else in the nested TCG
# guest (tests/vmm/lib.sh).
. "$(dirname "$0")/lib.sh"
need cpio cpio
need qemu-img qemu-utils
need mke2fs e2fsprogs
[ -x /bin/busybox ] || skip "busybox not installed (Debian package busybox-static)"
K=$(cloud_kernel)
[ -n "$K" ] || skip "no /boot/vmlinuz-*-cloud-amd64 (Debian package linux-image-cloud-amd64)"
KVER=${K#/boot/vmlinuz-}
MODS=/lib/modules/$KVER/kernel/drivers

# the disk: ext4 with one file, as qcow2
mkdir -p "$T/fs"
echo "hello from a qcow2 disk $$" >"$T/fs/hello.txt"
mke2fs -q -t ext4 -d "$T/fs" "$T/disk.raw" 16M || fail "mke2fs"
qemu-img convert -f raw -O qcow2 "$T/disk.raw" "$T/disk.qcow2" || fail "qemu-img convert"
EXPECT="hello from a qcow2 disk $$"

# the inner guest's initramfs
busybox_root "$T/root"
mkdir -p "$T/root/m"
for m in virtio/virtio_ring virtio/virtio virtio/virtio_pci_legacy_dev virtio/virtio_pci_modern_dev \
	virtio/virtio_pci block/virtio_blk; do
	cp "$MODS/$m.ko" "$T/root/m/" || fail "module $m.ko missing for $KVER"
done
cat >"$T/root/init" <<'INIT'
#!/bin/sh
mount -t proc p /proc
mount -t sysfs s /sys
mount -t devtmpfs d /dev
echo "VSTD-LINUX-INIT cpus=$(grep -c ^processor /proc/cpuinfo) cmdline=$(cat /proc/cmdline)"
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk; do
	insmod /m/$m.ko || echo "VSTD-LINUX: insmod $m failed"
done
sleep 1
mount -t ext4 -o ro /dev/vda /mnt && echo "VSTD-LINUX-FILE $(cat /mnt/hello.txt)" ||
	{ for f in /sys/bus/pci/devices/*; do echo "VSTD-DIAG $f $(cat $f/vendor $f/device) $(head -6 $f/resource | tr '\n' ' ')"; done
	  grep -i -E "pci|c0000|virtio" /proc/iomem | sed 's/^/VSTD-DIAG iomem /'; grep -i virtio /proc/interrupts | sed 's/^/VSTD-DIAG irq /'; }
reboot -f
INIT
chmod +x "$T/root/init"
cpio_of "$T/root" "$T/initrd.gz"
cp "$K" "$T/vmlinuz"
APPEND="console=ttyS0 quiet panic=-1 no_timer_check vstd.marker=42"

check() { # log where
	grep -a -q "VSTD-LINUX-INIT cpus=2 cmdline=.*vstd.marker=42" "$1" ||
		{ grep -a -E "VSTD|vstd vmm|smp|CPU" "$1" | tail -20; tail -5 "$1"; fail "Linux did not reach its init with 2 CPUs under vstd vmm ($2)"; }
	grep -a -q "VSTD-DIAG /sys/bus/pci/devices/0000:00:01.0 0x1af4" "$1" ||
		grep -a -q "VSTD-LINUX-FILE" "$1" || fail "Linux did not find the virtio-blk PCI function ($2)"
	grep -a -q "VSTD-LINUX-FILE $EXPECT" "$1" ||
		{ grep -a -i -E "virtio|vda|VSTD|pci" "$1" | tail -40; fail "Linux did not read the file from the qcow2 disk ($2)"; }
	# the kicks came through ioeventfds and the interrupts through irqfds
	# (KVM offers both; the fallbacks exist for hosts that do not)
	local st
	st=$(grep -a "vstd vmm: virtio:" "$1" | tail -1)
	echo "$st" | grep -q -E ": [1-9][0-9]* kicks by ioeventfd, [1-9][0-9]* interrupts by irqfd" ||
		fail "virtio notifications did not use ioeventfd and irqfd ($2): '$st'"
	echo "Linux reached init with 2 CPUs and read the qcow2 disk under vstd vmm ($2); $st"
}

if host_kvm_usable; then
	timeout 30 "$VSTD" vmm run --kernel "$T/vmlinuz" --initrd "$T/initrd.gz" --mem 256M --cpus 2 \
		--disk "$T/disk.qcow2" --snapshot --append "$APPEND" --timeout 10 >"$T/host.txt" 2>&1
	if grep -a -q "VSTD-LINUX-FILE" "$T/host.txt"; then
		check "$T/host.txt" host
		exit 0
	fi
	echo "host /dev/kvm did not boot Linux in 10 s ($(tail -c 200 "$T/host.txt" | tr '\n' ' ')); trying nested"
fi
cat >"$T/inner.sh" <<IN
/bin/vstd vmm run --kernel /t/vmlinuz --initrd /t/initrd.gz --mem 256M --cpus 2 --disk /t/disk.qcow2 \\
	--snapshot --append "$APPEND" --timeout 120
echo "VMM-RC=\$?"
IN
nested_run "$T/nested.txt" "$T/inner.sh" "$T/vmlinuz" "$T/initrd.gz" "$T/disk.qcow2"
[ $? = 125 ] && fail "nested KVM setup failed"
check "$T/nested.txt" nested
grep -a -q "VMM-RC=0" "$T/nested.txt" || { grep -a "vstd vmm" "$T/nested.txt"; fail "vstd vmm did not end with status 0 after the guest's reboot"; }
qemu-img compare -q "$T/disk.qcow2" "$T/disk.raw" || fail "--snapshot let the guest change the disk"
