# tests/vmm/lib.sh - what the vmm shell tests share (sourced, not a test).
#
# Where the tests run: on the host's /dev/kvm when it can run the guest,
# otherwise inside a QEMU TCG guest (-cpu max emulates AMD SVM) running
# Debian's cloud kernel with kvm-amd loaded: nested_run() builds that
# initramfs at test time from installed Debian packages (linux-image-cloud-
# amd64, busybox-static, cpio, qemu-system-x86) with the `vstd` binary and
# its shared libraries, runs a script there and reads the results back
# over the serial console.
set -u
VSTD=${VSTD_CLI:?VSTD_CLI not set (run through ctest)}
BUILD=${VSTD_BUILD_DIR:?VSTD_BUILD_DIR not set (run through ctest)}
GUEST=$BUILD/conformance/guest/vstd-conform-guest.bin
NAME=$(basename "$0" .sh)

skip() {
	echo "SKIP $NAME: $*"
	if [ "${VSTD_TEST_REQUIRE_ALL:-0}" = 1 ]; then exit 1; fi
	exit 77
}
fail() {
	echo "FAIL $NAME: $*"
	exit 1
}
need() { command -v "$1" >/dev/null 2>&1 || skip "$1 not installed (Debian package $2)"; }

T=$(mktemp -d "${TMPDIR:-/tmp}/vstd-$NAME.XXXXXX")
trap 'rm -rf "$T"' EXIT

cloud_kernel() { ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -1; }
# VSTD_VMM_FORCE_NESTED=1: take the nested path even where the host could run the guest
host_kvm_usable() { [ "${VSTD_VMM_FORCE_NESTED:-0}" != 1 ] && "$VSTD" vmm check >/dev/null 2>&1; }

# The report between the BEGIN and END lines, without carriage returns.
report() { tr -d '\r' <"$1" | sed -n '/^VSTD-CONFORM-BEGIN/,/^VSTD-CONFORM-END/p'; }
# The lines every conforming hypervisor must print the same way.
compared() { report "$1" | grep '^R ' | sort; }

# busybox_root DIR: a root with busybox and the applets used by our inits.
busybox_root() {
	mkdir -p "$1/bin" "$1/dev" "$1/proc" "$1/sys" "$1/mnt" "$1/t" "$1/tmp"
	cp /bin/busybox "$1/bin/busybox"
	for a in sh echo cat mount insmod poweroff reboot sha256sum grep head dd sync mkdir ls \
		ip ping hexdump od sleep tr wc sed kill cut touch rm; do
		ln -sf busybox "$1/bin/$a"
	done
}

# cpio_of DIR OUT: a gzip'd newc archive of DIR.
cpio_of() { (cd "$1" && find . | cpio -o -H newc 2>/dev/null) | gzip -1 >"$2"; }

# nested_run LOG SCRIPT [FILE...]: run SCRIPT (a sh script, in /t with the
# FILEs) inside the TCG guest with /dev/kvm; the console goes to LOG.
# Returns the script's exit status, 125 when the nested setup failed.
nested_run() {
	local log=$1 script=$2
	shift 2
	need qemu-system-x86_64 qemu-system-x86
	need cpio cpio
	[ -x /bin/busybox ] || skip "busybox not installed (Debian package busybox-static)"
	local k
	k=$(cloud_kernel)
	[ -n "$k" ] || skip "no /boot/vmlinuz-*-cloud-amd64 (Debian package linux-image-cloud-amd64)"
	local kver=${k#/boot/vmlinuz-}
	local mods=/lib/modules/$kver/kernel
	[ -f "$mods/arch/x86/kvm/kvm-amd.ko" ] || skip "kvm-amd.ko missing for $kver"
	local r=$T/nested-root
	rm -rf "$r"
	busybox_root "$r"
	mkdir -p "$r/m"
	cp "$mods/virt/lib/irqbypass.ko" "$mods/arch/x86/kvm/kvm.ko" "$mods/arch/x86/kvm/kvm-amd.ko" "$r/m/"
	# NESTED_MODULES: more modules (paths under kernel/) loaded after kvm
	local extra=""
	for m in ${NESTED_MODULES:-}; do
		cp "$mods/$m" "$r/m/" || skip "module $m missing for $kver"
		extra="$extra $(basename "$m" .ko)"
	done
	echo "$extra" >"$r/m/extra"
	cp "$VSTD" "$r/bin/vstd"
	# the dynamic libraries of vstd, at their own paths
	for lib in $(ldd "$VSTD" | awk '/=>/ {print $3} /^\t\/lib/ {print $1}'); do
		mkdir -p "$r$(dirname "$lib")"
		cp -L "$lib" "$r$lib"
	done
	cp "$script" "$r/t/inner.sh"
	for f in "$@"; do cp "$f" "$r/t/"; done
	cat >"$r/init" <<'INIT'
#!/bin/sh
mount -t proc p /proc
mount -t devtmpfs d /dev
mount -t sysfs s /sys
for m in irqbypass kvm kvm-amd $(cat /m/extra); do insmod /m/$m.ko || echo "NESTED-SETUP: insmod $m failed"; done
[ -c /dev/kvm ] || echo "NESTED-SETUP: no /dev/kvm"
cd /t
sh /t/inner.sh
echo "NESTED-RC=$?"
poweroff -f
INIT
	chmod +x "$r/init"
	cpio_of "$r" "$T/nested-initrd.gz"
	timeout "${NESTED_TIMEOUT:-300}" qemu-system-x86_64 -accel tcg -cpu max -m 2048 -smp 1 -nographic -no-reboot \
		-nodefaults -serial stdio -kernel "$k" -initrd "$T/nested-initrd.gz" \
		-append "console=ttyS0 quiet panic=-1 no_timer_check" </dev/null >"$log" 2>&1
	local rc
	rc=$(tr -d '\r' <"$log" | sed -n 's/^NESTED-RC=\([0-9]*\)$/\1/p' | tail -1)
	if [ -z "$rc" ]; then
		echo "nested run did not finish; console tail:" >&2
		tail -20 "$log" >&2
		return 125
	fi
	return "$rc"
}
