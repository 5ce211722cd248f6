# tests/mgmt/vmm_body.sh - the vmm backend checks of test_vmm_backend.sh,
# in POSIX sh so that they run the same on the host and inside the nested
# TCG guest (busybox sh) of tests/vmm/lib.sh.  Sourced, not a test.
# In: CLI KERNEL (a guest that runs until killed) GUEST (the conformance guest) OVA (a package whose disk
# holds the pattern) SUM (the pattern's FNV-1a 64) W (a work directory).
# Out: "ok   ..." / "FAIL ..." lines and "VMM-BODY-FAILS=<n>".
FAILS=0
PORT=${PORT:-5988}
check() {
	w=$1
	shift
	if "$@" >"$W/out" 2>&1; then echo "ok   $w"; else
		echo "FAIL $w"
		head -20 "$W/out"
		FAILS=$((FAILS + 1))
	fi
}
echo 'VmmPass1' | "$CLI" cim passwd "$W/passwd" admin
"$CLI" cim serve --listen 127.0.0.1:$PORT --state-dir "$W/st" --passwd "$W/passwd" --insecure-http \
	--backend vmm 2>"$W/server.log" &
SRV=$!
B="http://admin:VmmPass1@127.0.0.1:$PORT/root/virtualization"
for i in $(seq 100); do wbemcli ecn "$B" >/dev/null 2>&1 && break; sleep 0.1; done
H=$(hostname)
SVC="$B:VSTD_VirtualSystemManagementService.SystemCreationClassName=\"VSTD_HostSystem\",SystemName=\"$H\",CreationClassName=\"VSTD_VirtualSystemManagementService\",Name=\"vstd-vsms\""
VSSD="<INSTANCE CLASSNAME=\"VSTD_VirtualSystemSettingData\"><PROPERTY NAME=\"ElementName\" TYPE=\"string\"><VALUE>kvm1</VALUE></PROPERTY><PROPERTY NAME=\"KernelPath\" TYPE=\"string\"><VALUE>$KERNEL</VALUE></PROPERTY><PROPERTY NAME=\"KernelCommandLine\" TYPE=\"string\"><VALUE>console=ttyS0</VALUE></PROPERTY></INSTANCE>"
MEM='<INSTANCE CLASSNAME="VSTD_ResourceAllocationSettingData"><PROPERTY NAME="ResourceType" TYPE="uint16"><VALUE>4</VALUE></PROPERTY><PROPERTY NAME="VirtualQuantity" TYPE="uint64"><VALUE>256</VALUE></PROPERTY></INSTANCE>'
pid_of() { sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$W/st/systems/$1.json"; }
running() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q "vmm run.*$2"; }
state() { wbemcli gi "$B:VSTD_ComputerSystem.CreationClassName=\"VSTD_ComputerSystem\",Name=\"$1\"" | sed -n 's/.*,EnabledState=\([0-9]*\).*/\1/p'; }
req() { # req ID STATE -> the final JobState
	job=$(wbemcli cm "$B:VSTD_ComputerSystem.CreationClassName=\"VSTD_ComputerSystem\",Name=\"$1\"" "RequestStateChange.RequestedState=$2" | sed -n 's/.*VSTD_ConcreteJob.InstanceID="\([^"]*\)".*/\1/p')
	for i in $(seq 300); do
		s=$(wbemcli gi "$B:VSTD_ConcreteJob.InstanceID=\"$job\"" | sed -n 's/.*JobState=\([0-9]*\).*/\1/p')
		if [ "$s" = 7 ] || [ "$s" = 10 ]; then
			echo "$s"
			return
		fi
		sleep 0.1
	done
}
destroy() { wbemcli cm "$SVC" "DestroySystem.AffectedSystem=VSTD_ComputerSystem.CreationClassName=\"VSTD_ComputerSystem\",Name=\"$1\"" | grep -q 'DestroySystem: 0'; }

# a long-running guest: start, pause, resume, power off
check "DefineSystem" sh -c "wbemcli cm '$SVC' 'DefineSystem.SystemSettings=$VSSD,ResourceSettings=$MEM' | grep -q 'DefineSystem: 0'"
ID=$(ls "$W/st/systems/" | sed -n 's/\.json$//p' | head -1)
check "start: job completes" test "$(req "$ID" 2)" = 7
PID=$(pid_of "$ID")
check "a vstd vmm run process runs the guest" running "$PID" "$ID"
check "EnabledState 2" test "$(state "$ID")" = 2
check "pause: job completes" test "$(req "$ID" 9)" = 7
check "EnabledState 9 (process stopped)" test "$(state "$ID")" = 9
check "resume: job completes" test "$(req "$ID" 2)" = 7
check "EnabledState 2 again" test "$(state "$ID")" = 2
check "power off: job completes" test "$(req "$ID" 3)" = 7
check "EnabledState 3" test "$(state "$ID")" = 3
check "the process is gone" sh -c "! tr '\\0' ' ' </proc/$PID/cmdline 2>/dev/null | grep -q '$ID'"
check "DestroySystem" destroy "$ID"

# a system defined from an OVA: the vmm guest reads the unpacked disk
check "DefineSystemFromOVF from the OVA" sh -c "wbemcli cm '$SVC' 'DefineSystemFromOVF.PackagePath=$OVA' | grep -q 'DefineSystemFromOVF: 0'"
ID=$(ls "$W/st/systems/" | sed -n 's/\.json$//p' | head -1)
check "ModifySystemSettings: the conformance guest as kernel" sh -c "wbemcli cm '$SVC' 'ModifySystemSettings.SystemSettings=<INSTANCE CLASSNAME=\"VSTD_VirtualSystemSettingData\"><PROPERTY NAME=\"InstanceID\" TYPE=\"string\"><VALUE>vstd:$ID</VALUE></PROPERTY><PROPERTY NAME=\"KernelPath\" TYPE=\"string\"><VALUE>$GUEST</VALUE></PROPERTY></INSTANCE>' | grep -q ': 0'"
check "the disk is the image unpacked from the OVA" sh -c "wbemcli ei '$B:VSTD_StorageAllocationSettingData' | grep -q 'HostResource=\"$W/st/images/$ID/0-disk1.vmdk\"'"
check "start under vmm: job completes" test "$(req "$ID" 2)" = 7
for i in $(seq 300); do
	tr -d '\r' <"$W/st/systems/$ID.console" 2>/dev/null | grep -q '^R disk.count=' && break
	sleep 0.1
done
GOT=$(tr -d '\r' <"$W/st/systems/$ID.console" 2>/dev/null | sed -n 's/^R disk.0.fnv1a64=//p')
check "the vmm guest read the OVF disk's pattern (fnv1a64 $SUM, got '$GOT')" test "$GOT" = "$SUM"
for i in $(seq 50); do [ "$(state "$ID")" = 3 ] && break; sleep 0.1; done
[ "$(state "$ID")" = 3 ] || req "$ID" 3 >/dev/null # the guest did not halt: power off
check "DestroySystem removes the system and its images" sh -c "wbemcli cm '$SVC' 'DestroySystem.AffectedSystem=VSTD_ComputerSystem.CreationClassName=\"VSTD_ComputerSystem\",Name=\"$ID\"' | grep -q 'DestroySystem: 0' && [ ! -e '$W/st/images/$ID' ]"
kill "$SRV" 2>/dev/null
wait "$SRV" 2>/dev/null
SRV=
echo "VMM-BODY-FAILS=$FAILS"
