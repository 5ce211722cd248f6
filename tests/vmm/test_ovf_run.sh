#!/bin/bash
# `vstd vmm run appliance.ovf|.ova`: the machine comes from the descriptor.
# A hand-written OVF offers two VirtualHardwareSections, a SPARC one (sun4v,
# 4 CPUs, 64 MiB) first and an x86 one (vmx-07: 2 CPUs, 96 MiB, a
# streamOptimized VMDK made by qemu-img, a required NIC); vmm must take the
# x86 one.  The conformance guest's report from the package equals its
# report from the same machine given by hand (--cpus 2 --mem 96M --disk
# --net), as .ovf and as .ova.  Refused by name: the NIC without --net, a
# descriptor whose only hardware is SPARC.  Runs use --snapshot: the guest
# writes a marker to its disk.
. "$(dirname "$0")/lib.sh"
[ -f "$GUEST" ] || fail "the conformance guest was not built ($GUEST)"
need qemu-img qemu-utils
need tar tar
host_kvm_usable || skip "needs a /dev/kvm that runs the conformance guest (the OVF plan itself is covered by mgmt/vmm_backend nested)"

mkdir -p "$T/pkg"
# a disk with a pattern the guest checksums
for i in $(seq 0 255); do printf 'vstd-ovf-run block %04d %s\n' $i "$(printf '%0480d' $i)"; done >"$T/pattern"
head -c 4194304 /dev/zero >"$T/disk.raw"
dd if="$T/pattern" of="$T/disk.raw" conv=notrunc status=none
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$T/disk.raw" "$T/pkg/disk.vmdk" || fail "qemu-img convert"

item() { # type id name [extra rasd elements, alphabetical]
	printf '      <Item>%s<rasd:ElementName>%s</rasd:ElementName><rasd:InstanceID>%s</rasd:InstanceID><rasd:ResourceType>%s</rasd:ResourceType></Item>\n' "$4" "$3" "$2" "$1"
}
hw() { # info type cpus mem_mib [with_disk_and_nic]
	echo "    <VirtualHardwareSection>"
	echo "      <Info>$1</Info>"
	echo "      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemType>$2</vssd:VirtualSystemType></System>"
	item 3 1 "$3 virtual CPUs" "<rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>" | sed "s#<rasd:ResourceType>3</rasd:ResourceType>#<rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>$3</rasd:VirtualQuantity>#"
	item 4 2 "$4 MB of memory" "<rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>" | sed "s#<rasd:ResourceType>4</rasd:ResourceType>#<rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>$4</rasd:VirtualQuantity>#"
	if [ -n "${5:-}" ]; then
		item 6 3 "SCSI controller" "" | sed 's#<rasd:ResourceType>6</rasd:ResourceType>#<rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType>#'
		item 17 4 "disk0" "<rasd:AddressOnParent>0</rasd:AddressOnParent>" | sed 's#<rasd:ElementName>disk0</rasd:ElementName>#<rasd:ElementName>disk0</rasd:ElementName><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>#; s#<rasd:InstanceID>4</rasd:InstanceID>#<rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent>#'
		item 10 5 "ethernet0" "<rasd:AutomaticAllocation>true</rasd:AutomaticAllocation><rasd:Connection>lan</rasd:Connection>"
	fi
	echo "    </VirtualHardwareSection>"
}
descriptor() { # sections...
	cat <<XML
<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References><File ovf:href="disk.vmdk" ovf:id="file1"/></References>
  <DiskSection><Info>disks</Info><Disk ovf:capacity="4194304" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>
  <NetworkSection><Info>networks</Info><Network ovf:name="lan"><Description>the LAN</Description></Network></NetworkSection>
  <VirtualSystem ovf:id="appliance">
    <Info>a test appliance</Info>
$("$@")
  </VirtualSystem>
</Envelope>
XML
}
both() { hw "SPARC hardware" sun4v 4 64 disk; hw "x86 hardware" vmx-07 2 96 disk; }
sparc() { hw "SPARC hardware" sun4v 4 64 disk; }
descriptor both >"$T/pkg/app.ovf"
"$VSTD" ovf validate "$T/pkg/app.ovf" >"$T/validate.txt" 2>&1 || { cat "$T/validate.txt"; fail "our test descriptor is not valid OVF"; }
(cd "$T/pkg" && tar -cf "$T/app.ova" app.ovf disk.vmdk) || fail "tar"

run() { # log args...
	local log=$1
	shift
	timeout 90 "$VSTD" vmm run --kernel "$GUEST" --snapshot --timeout 60 "$@" >"$log" 2>"$log.err"
}
run "$T/hand.txt" --cpus 2 --mem 96M --disk "$T/pkg/disk.vmdk" --net loopback
compared "$T/hand.txt" >"$T/hand.R"
grep -q "^R disk" "$T/hand.R" || { cat "$T/hand.txt"; fail "the hand-made machine's report has no disk lines"; }
for pkg in "$T/pkg/app.ovf" "$T/app.ova"; do
	run "$T/nonet.txt" "$pkg"
	[ $? = 1 ] && grep -q "network adapter 'ethernet0'.*--net" "$T/nonet.txt.err" ||
		{ cat "$T/nonet.txt.err"; fail "$(basename "$pkg"): a required NIC without --net must be refused by name"; }
	run "$T/pkg.txt" "$pkg" --net loopback
	compared "$T/pkg.txt" | diff - "$T/hand.R" ||
		{ cat "$T/pkg.txt.err"; fail "$(basename "$pkg"): the report differs from the same machine given by hand"; }
done
descriptor sparc >"$T/pkg/sparc.ovf"
run "$T/sparc.txt" "$T/pkg/sparc.ovf" --net loopback
[ $? = 1 ] && grep -q "sun4v" "$T/sparc.txt.err" ||
	{ cat "$T/sparc.txt.err"; fail "a SPARC-only descriptor must be refused naming its type"; }
echo "vstd vmm run .ovf/.ova: the x86 hardware of two chosen, $(wc -l <"$T/hand.R") report lines equal to the machine by hand; NIC without --net and SPARC-only refused by name"
