#!/bin/bash
# tests/mgmt/test_ovf_disks.sh - DefineSystemFromOVF with a PackagePath:
# the disk's ovf:/disk/... host resource is resolved to the package's image
# (a streamOptimized VMDK made by qemu-img holding a known pattern), in
# place for an .ovf directory and unpacked for an .ova; the system started
# on the QEMU backend (TCG) with the conformance guest as its kernel reads
# the whole disk and reports the pattern's FNV-1a 64.  Hostile packages
# (href with "..", absolute, a scheme, a symbolic link leaving the package,
# an unknown disk id, a gzip'd file in a directory) are refused with a CIM
# error and define nothing.  Driven through wbemcli.
set -u
CLI=${VSTD_CLI:?}
BUILD=${VSTD_BUILD_DIR:?}
NAME=mgmt/ovf_disks
skip() {
	echo "SKIP $NAME: $*"
	if [ "${VSTD_TEST_REQUIRE_ALL:-0}" = 1 ]; then exit 1; fi
	exit 77
}
command -v wbemcli >/dev/null || skip "wbemcli not installed (sblim-wbemcli)"
command -v qemu-img >/dev/null || skip "qemu-img not installed (qemu-utils)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed (qemu-system-x86)"
command -v python3 >/dev/null || skip "python3 not installed (python3)"
GUEST=$BUILD/conformance/guest/vstd-conform-guest.bin
[ -r "$GUEST" ] || skip "the conformance guest is not built ($GUEST)"
. "$(dirname "$0")/ovf_pkg.sh"

T=$(mktemp -d /tmp/vstd-mgmt-ovf-XXXXXX)
SRV=
cleanup() {
	[ -n "$SRV" ] && kill "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null
	for f in "$T"/st/systems/*.json; do
		[ -e "$f" ] || continue
		p=$(jq -r .runtime.pid "$f" 2>/dev/null)
		u=$(jq -r .uuid "$f" 2>/dev/null)
		[ -n "$p" ] && [ "$p" != 0 ] && tr '\0' ' ' </proc/$p/cmdline 2>/dev/null | grep -q "$u" && kill -9 "$p"
	done
	rm -rf "$T"
}
trap cleanup EXIT
FAILS=0
check() {
	local w=$1
	shift
	if "$@" >"$T/out" 2>&1; then echo "ok   $w"; else
		echo "FAIL $w"
		head -20 "$T/out"
		FAILS=$((FAILS + 1))
	fi
}

SUM=$(pattern_disk "$T/pattern.raw")
ovf_package "$T/pkg" vmovf "$T/pattern.raw" || skip "qemu-img could not write a streamOptimized VMDK"
ovf_package "$T/ova" vmova "$T/pattern.raw"
cp "$T/pkg/disk1.vmdk" "$T/pkg-orig.vmdk"
# hostile packages
mkdir -p "$T/bad" "$T/outside"
cp "$T/pkg/disk1.vmdk" "$T/outside/disk1.vmdk"
cp "$T/pkg/disk1.vmdk" "$T/bad/disk1.vmdk"
ovf_descriptor bad1 ../outside/disk1.vmdk >"$T/bad/dotdot.ovf"
ovf_descriptor bad2 "$T/outside/disk1.vmdk" >"$T/bad/absolute.ovf"
ovf_descriptor bad3 "file:///etc/passwd" >"$T/bad/scheme.ovf"
ln -s "$T/outside/disk1.vmdk" "$T/bad/link.vmdk"
ovf_descriptor bad4 link.vmdk >"$T/bad/symlink.ovf"
ovf_descriptor bad5 disk1.vmdk ovf:/disk/nosuchdisk >"$T/bad/nodisk.ovf"
ovf_descriptor bad6 disk1.vmdk /etc/passwd >"$T/bad/hostpath.ovf"
ovf_descriptor bad7 disk1.vmdk | sed 's|ovf:href="disk1.vmdk"|ovf:href="disk1.vmdk" ovf:compression="gzip"|' >"$T/bad/gzip.ovf"

PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
echo 'OvfPass1' | "$CLI" cim passwd "$T/passwd" admin
mkdir -p "$T/trace"
"$CLI" cim serve --listen 127.0.0.1:$PORT --state-dir "$T/st" --passwd "$T/passwd" --insecure-http \
	--backend qemu --accel tcg --trace-dir "$T/trace" 2>"$T/server.log" &
SRV=$!
for i in $(seq 50); do wbemcli ecn "http://admin:OvfPass1@127.0.0.1:$PORT/root/virtualization" >/dev/null 2>&1 && break; sleep 0.1; done
B="http://admin:OvfPass1@127.0.0.1:$PORT/root/virtualization"
H=$(hostname)
SVC="$B:VSTD_VirtualSystemManagementService.SystemCreationClassName=\"VSTD_HostSystem\",SystemName=\"$H\",CreationClassName=\"VSTD_VirtualSystemManagementService\",Name=\"vstd-vsms\""
define() { wbemcli cm "$SVC" "DefineSystemFromOVF.PackagePath=$1" 2>&1; }
nsys() { ls "$T/st/systems/" 2>/dev/null | grep -c '\.json$'; }
idof() { grep -l "\"name\": *\"$1\"" "$T"/st/systems/*.json 2>/dev/null | head -1 | xargs -r basename | sed 's/\.json$//'; }
state() { wbemcli gi "$B:VSTD_ComputerSystem.CreationClassName=\"VSTD_ComputerSystem\",Name=\"$1\"" | sed -n 's/.*,EnabledState=\([0-9]*\).*/\1/p'; }
req() { # req ID STATE -> the final JobState
	local job s
	job=$(wbemcli cm "$B:VSTD_ComputerSystem.CreationClassName=\"VSTD_ComputerSystem\",Name=\"$1\"" "RequestStateChange.RequestedState=$2" | sed -n 's/.*VSTD_ConcreteJob.InstanceID="\([^"]*\)".*/\1/p')
	for i in $(seq 200); do
		s=$(wbemcli gi "$B:VSTD_ConcreteJob.InstanceID=\"$job\"" | sed -n 's/.*JobState=\([0-9]*\).*/\1/p')
		[ "$s" = 7 ] || [ "$s" = 10 ] && { echo "$s"; return; }
		sleep 0.1
	done
}
kernel() { # kernel ID: boot the conformance guest
	wbemcli cm "$SVC" "ModifySystemSettings.SystemSettings=<INSTANCE CLASSNAME=\"VSTD_VirtualSystemSettingData\"><PROPERTY NAME=\"InstanceID\" TYPE=\"string\"><VALUE>vstd:$1</VALUE></PROPERTY><PROPERTY NAME=\"KernelPath\" TYPE=\"string\"><VALUE>$GUEST</VALUE></PROPERTY></INSTANCE>" | grep -q ': 0'
}
console_sum() { # console_sum ID: waits for the guest's disk checksum line
	for i in $(seq 300); do
		tr -d '\r' <"$T/st/systems/$1.console" 2>/dev/null | grep -q '^R disk.count=' && break
		sleep 0.1
	done
	tr -d '\r' <"$T/st/systems/$1.console" | sed -n 's/^R disk.0.fnv1a64=//p'
}

export -f define
export SVC T
for b in dotdot absolute scheme symlink nodisk hostpath; do
	check "hostile package ($b) is CIM_ERR_INVALID_PARAMETER" bash -c "define '$T/bad/$b.ovf' | grep -q CIM_ERR_INVALID_PARAMETER"
done
check "a compressed file in a package directory is CIM_ERR_NOT_SUPPORTED" bash -c "define '$T/bad/gzip.ovf' | grep -q 'CIM_ERR_NOT_SUPPORTED.*compressed'"
check "the symbolic link is named as leaving the package" bash -c "define '$T/bad/symlink.ovf' | grep -q 'outside the package directory'"
check "relative PackagePath is refused" bash -c "define bad/x.ovf | grep -q 'CIM_ERR_INVALID_PARAMETER.*absolute'"
check "no system was defined by the refused packages" test "$(nsys)" = 0
check "no image directory was left by them" bash -c "[ -z \"\$(ls -A '$T/st/images' 2>/dev/null)\" ]"

# the directory package: the disk is used in place
check "DefineSystemFromOVF from an .ovf file" bash -c "define '$T/pkg/vmovf.ovf' | grep -q 'DefineSystemFromOVF: 0'"
ID=$(idof vmovf)
check "the disk's host resource is the package's file, format vmdk" bash -c "wbemcli ei '$B:VSTD_StorageAllocationSettingData' | grep -q 'HostResource=\"$T/pkg/disk1.vmdk\".*' && jq -e '.resources[] | select(.type == 31) | .subtype == \"vmdk\"' '$T/st/systems/$ID.json'"
check "ModifySystemSettings sets the kernel" kernel "$ID"
check "start on QEMU: job completes" test "$(req "$ID" 2)" = 7
check "EnabledState 2" test "$(state "$ID")" = 2
S=$(console_sum "$ID")
check "the guest read the pattern from the OVF disk (fnv1a64 $SUM)" test "$S" = "$SUM"
check "power off" test "$(req "$ID" 3)" = 7
check "DestroySystem" bash -c "wbemcli cm '$SVC' 'DestroySystem.AffectedSystem=VSTD_ComputerSystem.CreationClassName=\"VSTD_ComputerSystem\",Name=\"$ID\"' | grep -q 'DestroySystem: 0'"
check "the package's disk stays (used in place, not removed)" test -s "$T/pkg/disk1.vmdk"

# the OVA: unpacked under the state directory
check "DefineSystemFromOVF from an .ova" bash -c "define '$T/ova/vmova.ova' | grep -q 'DefineSystemFromOVF: 0'"
ID2=$(idof vmova)
check "the OVA's disk was unpacked into images/<uuid>/" bash -c "cmp '$T/st/images/$ID2/0-disk1.vmdk' '$T/ova/disk1.vmdk'"
check "ModifySystemSettings sets the kernel" kernel "$ID2"
check "start the OVA system on QEMU" test "$(req "$ID2" 2)" = 7
S=$(console_sum "$ID2")
check "the guest read the pattern from the OVA's disk" test "$S" = "$SUM"
check "power off" test "$(req "$ID2" 3)" = 7
# a server restart keeps the resolved paths
kill "$SRV"
wait "$SRV" 2>/dev/null
"$CLI" cim serve --listen 127.0.0.1:$PORT --state-dir "$T/st" --passwd "$T/passwd" --insecure-http \
	--backend qemu --accel tcg 2>>"$T/server.log" &
SRV=$!
for i in $(seq 50); do wbemcli ecn "$B" >/dev/null 2>&1 && break; sleep 0.1; done
check "after a restart the disk is still the unpacked image" bash -c "wbemcli ei '$B:VSTD_StorageAllocationSettingData' | grep -q 'HostResource=\"$T/st/images/$ID2/0-disk1.vmdk\"'"
check "DestroySystem removes the unpacked images" bash -c "wbemcli cm '$SVC' 'DestroySystem.AffectedSystem=VSTD_ComputerSystem.CreationClassName=\"VSTD_ComputerSystem\",Name=\"$ID2\"' | grep -q 'DestroySystem: 0' && [ ! -e '$T/st/images/$ID2' ]"
check "every response (errors too) is valid DSP0201 CIM-XML ($(ls "$T/trace" | grep -c rsp) files)" bash -c "ls '$T/trace'/*-rsp.xml | xargs xmllint --noout --dtdvalid '$(dirname "$0")/cimxml.dtd'"
echo "$FAILS failure(s)"
[ "$FAILS" = 0 ]
