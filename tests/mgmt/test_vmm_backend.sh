#!/bin/bash
# tests/mgmt/test_vmm_backend.sh - the vmm backend end to end through
# wbemcli: DefineSystem with a kernel, RequestStateChange start / pause /
# resume / power off of a real `vstd vmm run` KVM guest, DestroySystem.
# Skips where KVM, a kernel or `vstd vmm` is missing.
set -u
CLI=${VSTD_CLI:?}
skip() { echo "SKIP mgmt/vmm_backend: $*"; exit 77; }
command -v wbemcli >/dev/null || skip "wbemcli not installed (sblim-wbemcli)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm not usable"
"$CLI" vmm --help >/dev/null 2>&1 || skip "vstd vmm is not part of this build"
KERNEL=${VSTD_TEST_KERNEL:-}
for k in /vmlinuz /boot/vmlinuz-*; do [ -z "$KERNEL" ] && [ -r "$k" ] && KERNEL=$k; done
[ -n "$KERNEL" ] || skip "no Linux kernel to boot (set VSTD_TEST_KERNEL)"

T=$(mktemp -d /tmp/vstd-mgmt-vmm-XXXXXX)
SRV=
cleanup() {
	[ -n "$SRV" ] && kill "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null
	for f in "$T"/st/systems/*.json; do
		[ -e "$f" ] || continue
		p=$(jq -r .runtime.pid "$f"); u=$(jq -r .uuid "$f")
		[ "$p" != 0 ] && tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null | grep -q "$u" && kill -9 "$p"
	done
	rm -rf "$T"
}
trap cleanup EXIT
FAILS=0
check() { local w=$1; shift; if "$@" >"$T/out" 2>&1; then echo "ok   $w"; else echo "FAIL $w"; head -20 "$T/out"; FAILS=$((FAILS + 1)); fi; }
PORT=$((30000 + RANDOM % 20000))
echo 'VmmPass1' | "$CLI" cim passwd "$T/passwd" admin
"$CLI" cim serve --listen 127.0.0.1:$PORT --state-dir "$T/st" --passwd "$T/passwd" --insecure-http \
	--backend vmm 2>"$T/server.log" &
SRV=$!
sleep 0.5
B="http://admin:VmmPass1@127.0.0.1:$PORT/root/virtualization"
H=$(hostname)
SVC="$B:VSTD_VirtualSystemManagementService.SystemCreationClassName=\"VSTD_HostSystem\",SystemName=\"$H\",CreationClassName=\"VSTD_VirtualSystemManagementService\",Name=\"vstd-vsms\""
VSSD="<INSTANCE CLASSNAME=\"VSTD_VirtualSystemSettingData\"><PROPERTY NAME=\"ElementName\" TYPE=\"string\"><VALUE>kvm1</VALUE></PROPERTY><PROPERTY NAME=\"KernelPath\" TYPE=\"string\"><VALUE>$KERNEL</VALUE></PROPERTY><PROPERTY NAME=\"KernelCommandLine\" TYPE=\"string\"><VALUE>console=ttyS0</VALUE></PROPERTY></INSTANCE>"
MEM='<INSTANCE CLASSNAME="VSTD_ResourceAllocationSettingData"><PROPERTY NAME="ResourceType" TYPE="uint16"><VALUE>4</VALUE></PROPERTY><PROPERTY NAME="VirtualQuantity" TYPE="uint64"><VALUE>256</VALUE></PROPERTY></INSTANCE>'
check "DefineSystem" bash -c "wbemcli cm '$SVC' 'DefineSystem.SystemSettings=$VSSD,ResourceSettings=$MEM' | grep -q 'DefineSystem: 0'"
ID=$(wbemcli ein "$B:VSTD_ComputerSystem" | sed -n 's/.*Name="\([0-9a-f-]*\)".*/\1/p' | head -1)
CS="$B:VSTD_ComputerSystem.CreationClassName=\"VSTD_ComputerSystem\",Name=\"$ID\""
state() { wbemcli gi "$CS" | sed -n 's/.*,EnabledState=\([0-9]*\).*/\1/p'; }
req() { # req STATE -> waits for the job, prints JobState
	local job=$(wbemcli cm "$CS" "RequestStateChange.RequestedState=$1" | sed -n 's/.*VSTD_ConcreteJob.InstanceID="\([^"]*\)".*/\1/p')
	for i in $(seq 100); do
		s=$(wbemcli gi "$B:VSTD_ConcreteJob.InstanceID=\"$job\"" | sed -n 's/.*JobState=\([0-9]*\).*/\1/p')
		[ "$s" = 7 ] || [ "$s" = 10 ] && { echo "$s"; return; }
		sleep 0.1
	done
}
check "start: job completes" test "$(req 2)" = 7
PID=$(jq -r .runtime.pid "$T/st/systems/$ID.json")
check "a vstd vmm run process runs the guest" bash -c "tr '\\0' ' ' < /proc/$PID/cmdline | grep -q 'vmm run.*$ID'"
check "EnabledState 2" test "$(state)" = 2
check "pause: job completes" test "$(req 9)" = 7
check "EnabledState 9 (process stopped)" test "$(state)" = 9
check "resume: job completes" test "$(req 2)" = 7
check "EnabledState 2 again" test "$(state)" = 2
check "power off: job completes" test "$(req 3)" = 7
check "EnabledState 3, process gone" bash -c "[ \$(wbemcli gi '$CS' | sed -n 's/.*,EnabledState=\\([0-9]*\\).*/\\1/p') = 3 ] && ! tr '\\0' ' ' < /proc/$PID/cmdline 2>/dev/null | grep -q '$ID'"
check "DestroySystem" bash -c "wbemcli cm '$SVC' 'DestroySystem.AffectedSystem=VSTD_ComputerSystem.CreationClassName=\"VSTD_ComputerSystem\",Name=\"$ID\"' | grep -q 'DestroySystem: 0'"
echo "$FAILS failure(s)"
[ "$FAILS" = 0 ]
