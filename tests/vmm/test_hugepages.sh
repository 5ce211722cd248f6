#!/bin/bash
# --hugepages: guest RAM from the 2 MiB hugetlb pool.  With no huge pages
# reserved the run is refused before the guest starts, with a message that
# names /proc/sys/vm/nr_hugepages and how many to reserve; with 40 reserved
# the conformance guest runs on them (the JSON summary says so, 32 pages of the
# pool were reserved or in use while it ran) and gives the same report as on
# ordinary memory.  On the host when its /dev/kvm runs the guest and the
# pool can be set (root), else in the nested TCG guest (lib.sh).
. "$(dirname "$0")/lib.sh"
[ -f "$GUEST" ] || fail "the conformance guest was not built ($GUEST)"

cat >"$T/inner.sh" <<'IN'
echo  # the console may start with escape codes: markers begin on a fresh line
V=${VSTD:-/bin/vstd}
G=${GUESTBIN:-/t/vstd-conform-guest.bin}
old=$(cat /proc/sys/vm/nr_hugepages)
echo 0 >/proc/sys/vm/nr_hugepages
$V vmm run --kernel $G --mem 64M --hugepages --timeout 60 >/dev/null 2>$TDIR/refused.txt
echo "HP-REFUSED-RC=$?"
sed 's/^/HP-REFUSED /' $TDIR/refused.txt
echo 40 >/proc/sys/vm/nr_hugepages
rm -f $TDIR/done
( max=0
  while [ ! -e $TDIR/done ]; do
	set -- $(grep -E '^HugePages_(Total|Free|Rsvd):' /proc/meminfo | tr -s ' ' | cut -d' ' -f2)
	used=$(($1 - $2 + $3))
	[ $used -gt $max ] && max=$used
	sleep 0.01
  done
  echo "HP-DURING $max" ) &
$V vmm run --kernel $G --mem 64M --hugepages --timeout 60 --output=json >$TDIR/hp.json 2>$TDIR/hp.txt
echo "HP-RC=$?"
touch $TDIR/done
wait
sed 's/^/HP-JSON /' $TDIR/hp.json
$V vmm run --kernel $G --mem 64M --timeout 60 --output=json >/dev/null 2>$TDIR/plain.txt
echo "$old" >/proc/sys/vm/nr_hugepages
for f in hp plain; do tr -d '\r' <$TDIR/$f.txt | grep '^R ' | sort | sed "s/^/HP-$f /"; done
IN

if host_kvm_usable && [ -w /proc/sys/vm/nr_hugepages ]; then
	where=host
	VSTD=$VSTD GUESTBIN=$GUEST TDIR=$T sh "$T/inner.sh" >"$T/log" 2>&1
else
	where=nested
	sed -i '1i TDIR=/tmp' "$T/inner.sh"
	nested_run "$T/nested.txt" "$T/inner.sh" "$GUEST"
	[ $? = 125 ] && fail "nested KVM setup failed"
	tr -d '\r' <"$T/nested.txt" >"$T/log"
fi
grep -q "^HP-REFUSED-RC=1$" "$T/log" || { grep HP- "$T/log"; fail "--hugepages without a pool: expected exit status 1"; }
grep -q "^HP-REFUSED .*--hugepages: .*reserve 32 in /proc/sys/vm/nr_hugepages" "$T/log" ||
	{ grep HP- "$T/log"; fail "--hugepages without a pool: the error must say what to reserve where"; }
grep -q "^HP-RC=1$" "$T/log" || { grep HP- "$T/log"; fail "the guest on huge pages did not power off as the conformance guest does"; }
grep -q '^HP-JSON .*"hugepages": *true' "$T/log" || { grep HP- "$T/log"; fail "JSON summary does not say hugepages"; }
used=$(sed -n 's/^HP-DURING \([0-9]*\)$/\1/p' "$T/log")
[ "$used" = 32 ] || { grep HP- "$T/log"; fail "expected 32 of 40 huge pages reserved or in use while the 64 MiB guest ran, saw '$used'"; }
diff <(sed -n 's/^HP-hp //p' "$T/log") <(sed -n 's/^HP-plain //p' "$T/log") >"$T/diff" ||
	{ cat "$T/diff"; fail "the report on huge pages differs from the report on ordinary memory"; }
n=$(grep -c '^HP-hp R ' "$T/log")
[ "$n" -gt 5 ] || fail "the conformance report has only $n R lines"
echo "--hugepages ($where): refused with a clear message without a pool; with one, 32 pages in use and the same $n report lines"
