#!/bin/bash
# Bad input to `vstd img`: every failure is one line on stderr, the
# documented exit code (docs/cli.md), never a crash (status < 128).
set -u
VSTD=${VSTD_CLI:-vstd}
T=$(mktemp -d "${TMPDIR:-/tmp}/vstd-test-XXXXXX")
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT
cd "$T"
fails=0
pass=0

# expect <exit code> <description> <args...>
expect() {
	local want=$1 d=$2
	shift 2
	"$VSTD" "$@" >out.txt 2>err.txt
	local rc=$? lines
	lines=$(wc -l <err.txt)
	if [ $rc -ge 128 ]; then
		echo "FAIL: $d: crashed (status $rc): $(cat err.txt)"
		fails=$((fails + 1))
	elif [ $rc != "$want" ]; then
		echo "FAIL: $d: exit $rc, expected $want: $(cat err.txt)"
		fails=$((fails + 1))
	elif [ "$want" != 0 ] && [ "$lines" != 1 ]; then
		echo "FAIL: $d: $lines lines on stderr, expected exactly one:"
		cat err.txt
		fails=$((fails + 1))
	elif [ "$want" != 0 ] && ! grep -q "^vstd" err.txt; then
		echo "FAIL: $d: message does not name the command: $(cat err.txt)"
		fails=$((fails + 1))
	else
		pass=$((pass + 1))
	fi
}

truncate -s 1M ok.raw
mkdir adir
printf 'QFI\373\0\0\0\3' >trunc.img # a qcow2 magic and version, then nothing
head -c 1000 /dev/urandom >junk.img

expect 1 "info of a missing file" img info missing.raw
expect 1 "info of a directory" img info adir
expect 1 "info with an unknown format" img info -f nosuch ok.raw
expect 1 "info with a bad --output" img info --output=xml ok.raw
expect 1 "info with two files" img info ok.raw ok.raw
expect 1 "info -f qcow2 of a truncated file" img info -f qcow2 trunc.img
"$VSTD" img info trunc.img >/dev/null 2>err.txt
rc=$?
if [ $rc -ge 128 ] || { [ $rc != 0 ] && [ "$(wc -l <err.txt)" != 1 ]; }; then
	echo "FAIL: info of a truncated qcow2: status $rc: $(cat err.txt)"
	fails=$((fails + 1))
else pass=$((pass + 1)); fi
expect 1 "create with an unknown format" img create -f nosuch x.img 1M
expect 1 "create with size -1" img create -f raw x.img -- -1
expect 1 "create with size 1e30" img create -f raw x.img 1e30
expect 1 "create with size 12Q" img create -f raw x.img 12Q
expect 1 "create with an empty size" img create -f raw x.img ""
expect 1 "create with size 99E" img create -f raw x.img 99E
expect 1 "create without a size" img create -f raw x.img
expect 1 "create with an unknown option" img create -f raw -o nosuch=1 x.img 1M
expect 1 "create with a bad option value" img create -f raw -o preallocation=maybe x.img 1M
expect 1 "create in a directory that does not exist" img create -f raw nodir/x.img 1M
expect 1 "create over a directory" img create -f raw adir 1M
expect 1 "create with -b but no -F" img create -f raw -b ok.raw x.img
[ -e x.img ] && { echo "FAIL: a failed create left x.img behind"; fails=$((fails + 1)); }
expect 1 "convert of a missing file" img convert missing.raw out.raw
expect 1 "convert to an unknown format" img convert -O nosuch ok.raw out.raw
expect 1 "convert with -S 12Q" img convert -S 12Q ok.raw out.raw
expect 1 "convert with -S 100" img convert -S 100 ok.raw out.raw
expect 1 "convert with -m 0" img convert -m 0 ok.raw out.raw
expect 1 "convert with -m -1" img convert -m -1 ok.raw out.raw
expect 1 "convert with one file name" img convert ok.raw
expect 1 "convert into a directory" img convert ok.raw adir
expect 1 "convert -n into a missing target" img convert -n ok.raw missing-target.raw
expect 1 "convert with an unknown option" img convert --bogus ok.raw out.raw
expect 1 "convert -c to raw (no compression)" img convert -c -O raw ok.raw out.raw
cp ok.raw same.raw
expect 1 "convert onto the source itself" img convert same.raw same.raw
[ "$(stat -c %s same.raw)" = 1048576 ] || { echo "FAIL: convert onto itself changed the source"; fails=$((fails + 1)); }
[ -e out.raw ] && { echo "FAIL: a failed convert left out.raw behind"; fails=$((fails + 1)); }
# an unwritable target: a read-only directory (root ignores modes: use /proc)
mkdir ro && chmod 555 ro
if [ "$(id -u)" = 0 ]; then rodir=/proc; else rodir=ro; fi
expect 1 "convert into a read-only directory" img convert ok.raw $rodir/vstd-out.raw
expect 1 "create in a read-only directory" img create -f raw $rodir/vstd-out.raw 1M
expect 2 "compare with a missing file" img compare ok.raw missing.raw
expect 2 "compare with one file" img compare ok.raw
expect 2 "compare with an unknown format" img compare -f nosuch ok.raw ok.raw
expect 0 "compare of the same file" img compare ok.raw ok.raw
expect 1 "check of a missing file" img check missing.raw
expect 63 "check of a raw file (no checks)" img check ok.raw
expect 1 "check -r bogus" img check -r bogus ok.raw
expect 1 "map of a missing file" img map missing.raw
expect 1 "map with --max-length -1" img map --max-length=-1 ok.raw
expect 1 "resize of a missing file" img resize missing.raw 1M
expect 1 "resize with size 12Q" img resize ok.raw 12Q
expect 1 "resize shrinking without --shrink" img resize ok.raw 1k
expect 1 "resize by -2M of a 1M file" img resize --shrink ok.raw -2M
expect 1 "measure with no input" img measure -O raw
expect 1 "measure with size 1e30" img measure -O raw --size 1e30
expect 1 "measure to an unknown format" img measure -O nosuch --size 1M
expect 1 "rebase without -b" img rebase ok.raw
expect 1 "rebase -b without -F" img rebase -b ok.raw ok.raw
expect 1 "rebase of a raw file (no backing files)" img rebase -u -b x -F raw ok.raw
expect 1 "commit of an image without a backing file" img commit ok.raw
expect 1 "amend of a raw file" img amend -o size=1M ok.raw
expect 1 "amend without -o" img amend ok.raw
expect 1 "snapshot -c on raw" img snapshot -c s1 ok.raw
expect 1 "info of random junk with -f qcow2" img info -f qcow2 junk.img
expect 2 "an unknown img subcommand" img bogus
expect 2 "an unknown command" bogus
expect 2 "img without a subcommand" img
expect 0 "vstd --help" --help
expect 0 "vstd --version" --version
expect 0 "vstd help img" help img
expect 0 "vstd img --help" img --help
for sub in info create convert compare map check resize measure rebase commit amend snapshot; do
	expect 0 "img $sub --help" img $sub --help
done
for cmd in ovf virtio vmm cim bench conform; do
	"$VSTD" $cmd --help >/dev/null 2>err.txt
	rc=$?
	if [ $rc = 0 ]; then pass=$((pass + 1));
	else echo "FAIL: vstd $cmd --help exited $rc"; fails=$((fails + 1)); fi
done

echo "tools/img_errors: $pass passed, $fails failed"
[ $fails = 0 ]
