#!/usr/bin/env bash
# The main job: one disk, every format, checked by the peers.
# Sets up everything (packages, build), then:
#   1. makes a 256 MiB raw disk (random data, zero runs, holes);
#   2. converts it with `vstd img convert` to every format this build has;
#   3. checks each result with the peers: `qemu-img check`, `qemu-img compare`
#      against the source, and the libyal tool for the format;
#   4. converts each back with qemu-img and compares again through vstd;
#   5. prints a table.  Exit status 0 only when every check passed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j"$(nproc)" >/dev/null
VSTD=$PWD/build/vstd
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
src=$work/source.raw

echo "== source: 256 MiB raw disk (random data, zeroes, holes)"
truncate -s 256M "$src"
for i in 0 3 7 11 20 33 47 64 100 150 200 255; do
	head -c 1M /dev/urandom | dd of="$src" bs=1M seek=$i conv=notrunc status=none
done
dd if=/dev/zero of="$src" bs=1M seek=120 count=8 conv=notrunc status=none
"$VSTD" img info "$src"

declare -A SUB=([raw]="" [qcow2]="" [vmdk]="" [vpc]="" [vhdx]="" [vdi]="")
declare -A LIBYAL=([qcow2]=qcowinfo [vmdk]=vmdkinfo [vpc]=vhdiinfo [vhdx]=vhdiinfo)
fail=0
printf '\n%-8s %-10s %-14s %-14s %-12s %-14s\n' format convert "qemu-img check" "qemu-img cmp" libyal "back via qemu"
for fmt in raw qcow2 vmdk vpc vhdx vdi; do
	out=$work/disk.$fmt
	if ! "$VSTD" img create -f "$fmt" "$work/probe.$fmt" 1M >/dev/null 2>&1; then
		printf '%-8s %s\n' "$fmt" "not in this build (see issues)"
		continue
	fi
	t0=$(date +%s.%N)
	if ! "$VSTD" img convert -f raw -O "$fmt" "$src" "$out" 2>"$work/err"; then
		printf '%-8s FAILED: %s\n' "$fmt" "$(head -1 "$work/err")"; fail=1; continue
	fi
	t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2fs", b - a }')
	qfmt=$fmt
	chk="n/a"
	if [ "$fmt" != raw ] && [ "$fmt" != vpc ]; then
		if qemu-img check -f "$qfmt" "$out" >/dev/null 2>&1; then chk=clean; else chk=FAILED; fail=1; fi
	fi
	if qemu-img compare -f raw -F "$qfmt" "$src" "$out" >/dev/null 2>&1; then cmp=identical; else cmp=DIFFERENT; fail=1; fi
	ly="n/a"
	if [ -n "${LIBYAL[$fmt]:-}" ] && command -v "${LIBYAL[$fmt]}" >/dev/null; then
		if "${LIBYAL[$fmt]}" "$out" >/dev/null 2>&1; then ly=reads; else ly=FAILED; fail=1; fi
	fi
	qemu-img convert -f "$qfmt" -O raw "$out" "$work/back.raw"
	if "$VSTD" img compare -f raw -F raw "$src" "$work/back.raw" >/dev/null 2>&1; then back=identical; else back=DIFFERENT; fail=1; fi
	printf '%-8s %-10s %-14s %-14s %-12s %-14s\n' "$fmt" "$t" "$chk" "$cmp" "$ly" "$back"
	rm -f "$work/back.raw"
done
echo
[ $fail -eq 0 ] && echo "demo: every check passed" || echo "demo: some checks FAILED"
exit $fail
