#!/bin/bash
# Debian's cloud kernel under `vstd vmm run` finds and uses every virtio
# device the monitor offers, over virtio-pci (found by PCI enumeration,
# MSI-X, ioeventfd kicks) and again over virtio-mmio (found through the
# ACPI DSDT, no command-line options): virtio-blk (an ext4 file read from a
# qcow2 disk), virtio-net on a TAP interface (the guest pings the host side
# of the TAP), virtio-rng (the kernel's current hwrng, bytes read from
# /dev/hwrng) and virtio-console (a line written to /dev/hvc0 reaches the
# monitor's console output); and a line typed on the monitor's stdin
# (--console-in) is read by the guest from ttyS0.
# Always runs in the nested TCG guest of lib.sh: its kernel gives the TAP a
# private network stack, so the host's network is never touched.
. "$(dirname "$0")/lib.sh"
need cpio cpio
need qemu-img qemu-utils
need mke2fs e2fsprogs
[ -x /bin/busybox ] || skip "busybox not installed (Debian package busybox-static)"
K=$(cloud_kernel)
[ -n "$K" ] || skip "no /boot/vmlinuz-*-cloud-amd64 (Debian package linux-image-cloud-amd64)"
KVER=${K#/boot/vmlinuz-}
MODS=/lib/modules/$KVER/kernel

mkdir -p "$T/fs"
echo "devices test $$" >"$T/fs/hello.txt"
mke2fs -q -t ext4 -d "$T/fs" "$T/disk.raw" 16M || fail "mke2fs"
qemu-img convert -f raw -O qcow2 "$T/disk.raw" "$T/disk.qcow2" || fail "qemu-img convert"

# the Linux guest's initramfs
busybox_root "$T/root"
mkdir -p "$T/root/m"
MODLIST="net/core/failover drivers/net/net_failover drivers/virtio/virtio_ring drivers/virtio/virtio
	drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci
	drivers/virtio/virtio_mmio drivers/block/virtio_blk drivers/net/virtio_net
	drivers/char/hw_random/virtio-rng drivers/char/virtio_console"
for m in $MODLIST; do
	cp "$MODS/$m.ko" "$T/root/m/" || fail "module $m.ko missing for $KVER"
done
cat >"$T/root/init" <<'INIT'
#!/bin/sh
mount -t proc p /proc
mount -t sysfs s /sys
mount -t devtmpfs d /dev
for m in failover net_failover virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev \
	virtio_pci virtio_mmio virtio_blk virtio_net virtio-rng virtio_console; do
	insmod /m/$m.ko || echo "VSTD-LINUX: insmod $m failed"
done
sleep 1
echo "VSTD-RNG $(cat /sys/class/misc/hw_random/rng_current)"
echo "VSTD-RNGBYTES $(dd if=/dev/hwrng bs=16 count=1 2>/dev/null | hexdump -v -e '16/1 "%02x"')"
echo "VSTD-HVC-HELLO from hvc0" >/dev/hvc0
mount -t ext4 -o ro /dev/vda /mnt && echo "VSTD-LINUX-FILE $(cat /mnt/hello.txt)"
echo "VSTD-MAC $(cat /sys/class/net/eth0/address)"
ip link set eth0 up && ip addr add 10.99.0.2/24 dev eth0
ping -c 3 -W 3 10.99.0.1 >/dev/null 2>&1 && echo "VSTD-PING-OK"
for d in /sys/bus/virtio/devices/*; do echo "VSTD-VIRTIO $(cat $d/device) $(basename $(readlink $d/driver))"; done
echo "VSTD-READY-FOR-INPUT"
read -t 30 line </dev/ttyS0 && echo "VSTD-GOT $line"
reboot -f
INIT
chmod +x "$T/root/init"
cpio_of "$T/root" "$T/initrd.gz"
cp "$K" "$T/vmlinuz"

cat >"$T/inner.sh" <<'IN'
run() {
	rm -f /t/out-$1.txt
	# stdin typed into the serial console (--console-in) once the guest reads it
	( i=0
	  while ! grep -q VSTD-READY-FOR-INPUT /t/out-$1.txt 2>/dev/null && [ $i -lt 900 ]; do
		sleep 0.1; i=$((i + 1))
	  done
	  echo "typed-into-ttyS0-$1"; sleep 30 ) |
	/bin/vstd vmm run --kernel /t/vmlinuz --initrd /t/initrd.gz --mem 256M --cpus 1 \
		--disk /t/disk.qcow2 --snapshot --net vt0 --rng --virtio-console --transport $1 \
		--console-in --append "console=ttyS0 quiet panic=-1 no_timer_check" --timeout 200 >/t/out-$1.txt 2>&1 &
	pid=$!
	i=0
	while [ ! -e /sys/class/net/vt0 ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
	ip addr add 10.99.0.1/24 dev vt0 && ip link set vt0 up || echo "[$1] no vt0 TAP"
	wait $pid
	echo "[$1] VMM-RC=$?"
	sed "s/^/[$1] /" /t/out-$1.txt
}
run pci
run mmio
IN
NESTED_MODULES="drivers/net/tun.ko" NESTED_TIMEOUT=600 \
	nested_run "$T/nested.txt" "$T/inner.sh" "$T/vmlinuz" "$T/initrd.gz" "$T/disk.qcow2"
[ $? = 125 ] && fail "nested KVM setup failed"
tr -d '\r' <"$T/nested.txt" >"$T/log"

for tr in pci mmio; do
	ok() { grep -a -q -- "^\[$tr\] $1" "$T/log" || { grep -a "^\[$tr\]" "$T/log" | grep -a -i -E "VSTD|virtio|vmm|error" | tail -30; fail "$tr: $2"; }; }
	ok "VMM-RC=0" "vstd vmm did not end with status 0 after the guest's reboot"
	ok "VSTD-LINUX-FILE devices test $$" "Linux did not read the file from the qcow2 disk"
	ok "VSTD-RNG virtio_rng" "virtio-rng is not the kernel's current hwrng"
	bytes=$(sed -n "s/^\[$tr\] VSTD-RNGBYTES \([0-9a-f]*\)$/\1/p" "$T/log")
	[ ${#bytes} = 32 ] && [ "$bytes" != 00000000000000000000000000000000 ] ||
		fail "$tr: 16 bytes from /dev/hwrng expected, got '$bytes'"
	ok "VSTD-HVC-HELLO from hvc0" "the line written to /dev/hvc0 did not reach the console output"
	ok "VSTD-MAC 52:54:00:12:34:56" "eth0 does not have the device's MAC"
	ok "VSTD-PING-OK" "the guest could not ping the host end of the TAP through virtio-net"
	ok "VSTD-GOT typed-into-ttyS0-$tr" "a line on the monitor's stdin (--console-in) did not reach the guest's ttyS0"
	for id in 0x0001 0x0002 0x0003 0x0004; do
		grep -a -q "^\[$tr\] VSTD-VIRTIO $id virtio_" "$T/log" || fail "$tr: no driver bound to virtio device $id"
	done
	echo "$tr: Linux used virtio-blk, -net (ping over TAP), -rng ($bytes) and -console under vstd vmm"
done
