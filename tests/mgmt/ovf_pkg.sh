# tests/mgmt/ovf_pkg.sh - OVF packages with a disk holding a known pattern,
# for the DefineSystemFromOVF tests (sourced, not a test).

# pattern_disk FILE: 1 MiB of numbered lines; prints its FNV-1a 64 (the
# checksum the conformance guest reports for the whole disk)
pattern_disk() {
	python3 - "$1" <<'PY'
import sys
data = b''.join(b'VSTD-OVF-PATTERN-%08d\n' % i for i in range(50000))[:1 << 20]
open(sys.argv[1], 'wb').write(data)
h = 0xcbf29ce484222325
for b in data:
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print('%016x' % h)
PY
}

# ovf_descriptor NAME HREF [DISK_HOSTRESOURCE]: an OVF 1.x descriptor, one
# VirtualSystem NAME (1 CPU, 64 MB) with one disk whose File is HREF
ovf_descriptor() {
	local name=$1 href=$2 hr=${3:-ovf:/disk/vmdisk1}
	cat <<XML
<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
  xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References><File ovf:id="file1" ovf:href="$href"/></References>
  <DiskSection><Info>disks</Info>
    <Disk ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:capacity="1048576"
      ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <VirtualSystem ovf:id="$name"><Info>a test system</Info><Name>$name</Name>
    <VirtualHardwareSection><Info>hardware</Info>
      <Item><rasd:ElementName>1 CPU</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>64 MB</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>64</rasd:VirtualQuantity></Item>
      <Item><rasd:ElementName>disk 1</rasd:ElementName><rasd:HostResource>$hr</rasd:HostResource>
        <rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceType>17</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
XML
}

# ovf_package DIR NAME RAW: DIR/NAME.ovf and DIR/disk1.vmdk (streamOptimized,
# made by qemu-img from RAW) and DIR/NAME.ova (the descriptor first)
ovf_package() {
	local dir=$1 name=$2 raw=$3
	mkdir -p "$dir"
	qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$raw" "$dir/disk1.vmdk" || return 1
	ovf_descriptor "$name" disk1.vmdk >"$dir/$name.ovf"
	(cd "$dir" && tar --format=ustar -cf "$name.ova" "$name.ovf" disk1.vmdk)
}
