#!/bin/bash
# Hostile ELF kernels end with one named error and exit status 1 before any
# vCPU runs: every program header and the Xen PVH note are bounded (against
# the file, guest RAM, the monitor's first MiB and the other segments).
# The cases are made from the conformance guest's ELF form by patching
# fields; the runs happen on the host's /dev/kvm when usable, else in one
# nested run (tests/vmm/lib.sh), since the checks run after the VM exists.
. "$(dirname "$0")/lib.sh"
need objcopy binutils
ELF=$BUILD/conformance/guest/vstd-conform-guest.elf
[ -f "$ELF" ] || fail "the conformance guest's ELF form was not built ($ELF)"

rd() { od -An -t u$2 -j "$1" -N "$2" "$ELF" | tr -d ' '; } # offset bytes
wr() {                                                      # file offset bytes value
	local f=$1 off=$2 n=$3 v=$4 s="" i
	for ((i = 0; i < n; i++)); do
		s+=$(printf '\\x%02x' $(((v >> (8 * i)) & 255)))
	done
	printf "$s" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}
mk() { cp "$ELF" "$T/$1.elf"; }

phoff=$(rd 32 8)
[ "$(rd 56 2)" = 2 ] || fail "expected the guest ELF to have 2 program headers"
ph0=$phoff ph1=$((phoff + 56))
[ "$(rd $ph0 4)" = 1 ] && [ "$(rd $ph1 4)" = 4 ] || fail "expected PT_LOAD then PT_NOTE"
note=$(rd $((ph1 + 8)) 8)   # the note's file offset
load_pa=$(rd $((ph0 + 24)) 8)

cases=()
add() { cases+=("$1|$2|$3"); } # name|expected pattern|extra args
head -c 100 "$ELF" >"$T/short.elf"
add short "truncated: program headers" ""
head -c $((note - 100)) "$ELF" >"$T/cut.elf"
add cut "truncated: program header 0" ""
mk phentsize; wr "$T/phentsize.elf" 54 2 32
add phentsize "e_phentsize" ""
mk phnum; wr "$T/phnum.elf" 56 2 1000
add phnum "e_phnum 1000" ""
mk class; wr "$T/class.elf" 4 1 3
add class "ELF class 3" ""
mk machine; wr "$T/machine.elf" 18 2 40
add machine "e_machine 40" ""
mk dyn; wr "$T/dyn.elf" 16 2 3
add dyn "e_type 3" ""
mk ram; wr "$T/ram.elf" $((ph0 + 24)) 8 $((0x3000000))
add ram "outside guest RAM" "--mem 32M"
mk hole; wr "$T/hole.elf" $((ph0 + 24)) 8 $((0xc0000000))
add hole "outside guest RAM" ""
mk memsz; wr "$T/memsz.elf" $((ph0 + 40)) 8 $((0x7fffffff00000000))
add memsz "outside guest RAM" ""
mk filesz; wr "$T/filesz.elf" $((ph0 + 40)) 8 $((0x100))
add filesz "is larger than p_memsz 0x100" ""
mk offset; wr "$T/offset.elf" $((ph0 + 8)) 8 $((0x7ffffffffffff000))
add offset "truncated: program header 0" ""
mk low; wr "$T/low.elf" $((ph0 + 24)) 8 $((0x8000))
add low "below 1 MiB" ""
# the note's header turned into a second PT_LOAD inside the first
mk overlap; wr "$T/overlap.elf" $ph1 4 1
add overlap "PT_LOAD 1 .* overlaps PT_LOAD 0" ""
mk notename; wr "$T/notename.elf" "$note" 4 $((0xfffffff0))
add notename "run past the segment" ""
mk notehdr; wr "$T/notehdr.elf" $((ph1 + 32)) 8 8
add notehdr "a note header needs 12" ""
mk notedesc; wr "$T/notedesc.elf" $((note + 4)) 4 2
add notedesc "descriptor of 2 bytes" ""
mk entry; wr "$T/entry.elf" $((note + 16)) 8 $((0x200000))
add entry "PVH entry 0x200000 is not inside" ""
mk entry64; wr "$T/entry64.elf" $((note + 20)) 4 1
add entry64 "not a 32-bit address" ""
mk twonotes; wr "$T/twonotes.elf" $((ph1 + 32)) 8 48; wr "$T/twonotes.elf" $((ph1 + 40)) 8 48
dd if="$ELF" of="$T/twonotes.elf" bs=1 skip="$note" seek=$((note + 24)) count=24 conv=notrunc status=none
add twonotes "ok-or-second" "" # a second note: either refused by name or past the data
cp "$ELF" "$T/plain.elf"; wr "$T/plain.elf" $((ph1)) 4 6 # PT_PHDR: no PVH note
wr "$T/plain.elf" 24 8 $((0x200000))
add plain "e_entry 0x200000 is not inside" ""
# an ELF32 needs the PVH note (no 32-bit entry otherwise)
objcopy -O elf32-i386 -R .note.Xen "$ELF" "$T/elf32plain.elf" || fail "objcopy"
add elf32plain "32-bit ELF without a Xen PVH note" ""
truncate -s 20M "$T/big.initrd"
add initrd "initrd.*too large" "--mem 16M --initrd big.initrd"

{
	echo 'V=${VSTD_IN:-/bin/vstd}'
	echo 'echo' # the console's first line may carry the firmware's escape codes
	for c in "${cases[@]}"; do
		IFS='|' read -r name pat args <<<"$c"
		k=$name.elf
		[ "$name" = initrd ] && k=vstd-conform-guest.elf
		echo "echo '=== $name'"
		echo "\$V vmm run --kernel $k $args --timeout 5 2>&1 </dev/null"
		echo "echo \"=== rc=\$?\""
	done
} >"$T/inner.sh"
files=()
for c in "${cases[@]}"; do files+=("$T/${c%%|*}.elf"); done
if host_kvm_usable; then
	where=host
	cp "$ELF" "$T/"
	(cd "$T" && VSTD_IN=$VSTD timeout 120 sh inner.sh) >"$T/out.txt" 2>&1
else
	where=nested
	[ -f "$T/initrd.elf" ] || cp "$ELF" "$T/initrd.elf"
	nested_run "$T/out.txt" "$T/inner.sh" "$ELF" "$T/big.initrd" "${files[@]}"
	[ $? = 125 ] && fail "nested KVM setup failed"
fi
tr -d '\r' <"$T/out.txt" >"$T/out.clean"
grep -q '^=== ' "$T/out.clean" || { tail -30 "$T/out.clean"; fail "no case ran (vmm $where)"; }
n=0
for c in "${cases[@]}"; do
	IFS='|' read -r name pat args <<<"$c"
	sed -n "/^=== $name\$/,/^=== rc=/p" "$T/out.clean" >"$T/case.txt"
	grep -q '^=== rc=1$' "$T/case.txt" || { cat "$T/case.txt"; fail "$name: exit status not 1"; }
	grep -q 'VSTD-CONFORM-BEGIN' "$T/case.txt" && { cat "$T/case.txt"; fail "$name: the guest ran"; }
	if [ "$pat" = ok-or-second ]; then
		grep -q 'second Xen PHYS32_ENTRY note' "$T/case.txt" || { cat "$T/case.txt"; fail "$name: a second note not refused"; }
	else
		grep -q -- "$pat" "$T/case.txt" || { cat "$T/case.txt"; fail "$name: error does not say '$pat'"; }
	fi
	[ "$(grep -vc '^===' "$T/case.txt")" -le 1 ] || { cat "$T/case.txt"; fail "$name: more than one error line"; }
	n=$((n + 1))
done
echo "bad ELF kernels: $n cases refused with a named error (vmm $where)"
