#!/bin/bash
# tests/paravirt/test_cli.sh - `vstd virtio`: features, decode, selftest.
set -u
CLI=${VSTD_CLI:?}
SRC=${VSTD_SOURCE_DIR:?}
T=$(mktemp -d "${TMPDIR:-/tmp}/vstd-virtio-cli-XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$CLI" virtio features blk > "$T/f" || fail "features blk"
grep -q "^   2  BLK_F_SEG_MAX" "$T/f" || fail "blk features lack SEG_MAX"
grep -q "VERSION_1" "$T/f" || fail "blk features lack VERSION_1"
grep -q "RING_PACKED" "$T/f" && fail "blk offers RING_PACKED by default (QEMU does not)"
"$CLI" virtio features net --json > "$T/j" || fail "features net --json"
grep -q '"name": "NET_F_MRG_RXBUF"' "$T/j" || fail "net JSON lacks MRG_RXBUF"
"$CLI" virtio features floppy 2>/dev/null && fail "unknown type accepted"

# The fuzz seeds are a 4-byte header followed by guest memory at 0x10000.
for layout in split packed; do
  tail -c +5 "$SRC/fuzz/virtq_$layout/corpus/blk_read" > "$T/$layout.mem"
  extra=""; [ $layout = packed ] && extra=--packed
  "$CLI" virtio decode "$T/$layout.mem" --base 0x10000 --size 8 --desc 0x10000 --driver 0x11000 \
    --device 0x12000 $extra > "$T/d" || fail "decode $layout"
  grep -q "chain 0: .* 3 descriptors, 16 bytes readable, 513 bytes writable" "$T/d" ||
    { cat "$T/d"; fail "decode $layout: chain not shown"; }
done
tail -c +5 "$SRC/fuzz/virtq_split/corpus/loop" > "$T/loop.mem"
"$CLI" virtio decode "$T/loop.mem" --base 0x10000 --size 8 --desc 0x10000 --driver 0x11000 \
  --device 0x12000 > "$T/d" || fail "decode loop"
grep -q "INVALID: .*longer than the queue size" "$T/d" || { cat "$T/d"; fail "loop not reported"; }
"$CLI" virtio decode "$T/loop.mem" --base 0x10000 --size 8 --desc 0x90000 --driver 0x11000 \
  --device 0x12000 2>/dev/null && fail "ring outside the dump accepted"

"$CLI" virtio selftest > "$T/s" || { cat "$T/s"; fail "selftest"; }
[ "$(grep -c '^PASS' "$T/s")" = 48 ] || fail "selftest: expected 48 PASS lines"
echo "virtio CLI ok"
