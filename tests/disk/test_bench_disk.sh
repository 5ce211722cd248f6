#!/bin/bash
# vstd-bench-disk --smoke: every part of the disk benchmark (convert to and
# from every format, random I/O at depth 1 and 16, peak RSS) runs on tiny
# inputs, checks vstd's outputs with qemu-img compare, and writes its JSON
# (and the SVG when gnuplot is there).  The timings are not judged here.
set -u
VSTD=${VSTD_CLI:-vstd}
BENCH=$(dirname "$VSTD")/vstd-bench-disk
if ! command -v qemu-img >/dev/null; then
	echo "SKIP disk/bench_disk: qemu-img not installed (qemu-utils)"
	exit 77
fi
if [ ! -x "$BENCH" ]; then
	echo "FAIL: $BENCH not built"
	exit 1
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/vstd-test-XXXXXX")
trap 'rm -rf "$T"' EXIT
if ! "$BENCH" --smoke --dir "$T/work" --json "$T/b.json" --svg "$T/b.svg" >"$T/out.txt" 2>"$T/err.txt"; then
	echo "FAIL: vstd-bench-disk --smoke failed:"
	cat "$T/out.txt" "$T/err.txt"
	exit 1
fi
fails=0
for kind in convert io rss; do
	n=$(jq "[.results[] | select(.kind == \"$kind\")] | length" "$T/b.json")
	want=$([ $kind = convert ] && echo 15 || ([ $kind = io ] && echo 4 || echo 2))
	if [ "$n" != "$want" ]; then
		echo "FAIL: $n $kind results in the JSON, expected $want"
		fails=$((fails + 1))
	fi
done
# every time, IOPS and RSS figure is a positive number
bad=$(jq '[.results[] | (.vstd_min_s, .qemu_img_min_s, .iops_ratio_median,
	.vstd_peak_rss_kib, .qemu_img_peak_rss_kib) | select(. != null and . <= 0)] | length' "$T/b.json")
if [ "$bad" != 0 ]; then
	echo "FAIL: $bad non-positive figures in the JSON"
	fails=$((fails + 1))
fi
if command -v gnuplot >/dev/null && ! grep -q '<svg' "$T/b.svg" 2>/dev/null; then
	echo "FAIL: gnuplot is installed but no SVG was written"
	fails=$((fails + 1))
fi
[ $fails = 0 ] && echo "PASS: bench smoke" && exit 0
cat "$T/out.txt"
exit 1
