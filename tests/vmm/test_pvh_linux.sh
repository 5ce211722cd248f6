#!/bin/bash
# Debian's cloud kernel as the ELF vmlinux (taken out of the bzImage: the
# LZ4 payload at payload_offset, unpacked with lz4) boots through its Xen
# PVH entry (XEN_ELFNOTE_PHYS32_ENTRY) under `vstd vmm run` with 2 vCPUs:
# hvm_start_info's memory map, command line, initrd (module 0) and RSDP
# (the MADT for the second CPU) take it to its init.  On the host's
# /dev/kvm when it boots Linux there, else in the nested TCG guest
# (tests/vmm/lib.sh).
. "$(dirname "$0")/lib.sh"
need cpio cpio
need lz4 lz4
need readelf binutils
[ -x /bin/busybox ] || skip "busybox not installed (Debian package busybox-static)"
K=$(cloud_kernel)
[ -n "$K" ] || skip "no /boot/vmlinuz-*-cloud-amd64 (Debian package linux-image-cloud-amd64)"

# vmlinux: the protected-mode part starts after (setup_sects + 1) * 512
# bytes; the compressed payload is at payload_offset (0x248) in it
u32() { od -An -t u4 -j "$2" -N 4 "$1" | tr -d ' '; }
sects=$(od -An -t u1 -j $((0x1f1)) -N 1 "$K" | tr -d ' ')
[ "$sects" = 0 ] && sects=4
poff=$(u32 "$K" $((0x248)))
plen=$(u32 "$K" $((0x24c)))
tail -c +$(((sects + 1) * 512 + poff + 1)) "$K" | head -c "$plen" >"$T/payload"
lz4 -dc "$T/payload" >"$T/vmlinux" 2>/dev/null
readelf -n "$T/vmlinux" 2>/dev/null | grep -q "0x00000012" ||
	skip "the kernel's payload is not an LZ4 vmlinux with a PVH note ($(file -b "$T/payload" | head -c 60))"
rm -f "$T/payload"

busybox_root "$T/root"
cat >"$T/root/init" <<'INIT'
#!/bin/sh
mount -t proc p /proc
echo "VSTD-PVH-INIT cpus=$(grep -c ^processor /proc/cpuinfo) cmdline=$(cat /proc/cmdline)"
/bin/busybox dmesg | grep -m1 -i "pvh" | while read -r l; do echo "VSTD-PVH-DMESG $l"; done
reboot -f
INIT
chmod +x "$T/root/init"
cpio_of "$T/root" "$T/initrd.gz"
APPEND="console=ttyS0 quiet panic=-1 no_timer_check vstd.marker=pvh42"

check() { # log where
	grep -a -q "VSTD-PVH-INIT cpus=2 cmdline=.*vstd.marker=pvh42" "$1" ||
		{ grep -a -E "VSTD|vstd vmm|smp|CPU|Linux version" "$1" | tail -20; tail -5 "$1"; fail "vmlinux did not reach its init with 2 CPUs through the PVH entry ($2)"; }
	echo "vmlinux (PVH entry) reached init with 2 CPUs and its command line under vstd vmm ($2)"
}

if host_kvm_usable; then
	timeout 30 "$VSTD" vmm run --kernel "$T/vmlinux" --initrd "$T/initrd.gz" --mem 256M --cpus 2 \
		--append "$APPEND" --timeout 10 >"$T/host.txt" 2>&1
	if grep -a -q "VSTD-PVH-INIT" "$T/host.txt"; then
		check "$T/host.txt" host
		exit 0
	fi
	echo "host /dev/kvm did not boot Linux in 10 s; trying nested"
fi
cat >"$T/inner.sh" <<IN
/bin/vstd vmm run --kernel /t/vmlinux --initrd /t/initrd.gz --mem 256M --cpus 2 \\
	--append "$APPEND" --timeout 120
echo "VMM-RC=\$?"
IN
nested_run "$T/nested.txt" "$T/inner.sh" "$T/vmlinux" "$T/initrd.gz"
[ $? = 125 ] && fail "nested KVM setup failed"
check "$T/nested.txt" nested
