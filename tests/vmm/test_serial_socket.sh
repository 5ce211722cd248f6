#!/bin/bash
# --serial unix:PATH and tcp:HOST:PORT: the monitor waits for one client,
# then the guest's console goes to it: the conformance guest's report read
# from the socket equals the report on stdout.  No client within --timeout:
# one clear error, exit 1.  A regular file where the socket should be is
# not replaced.  On the host when its /dev/kvm runs the guest (python3 as
# the client), else nested (busybox nc as a tcp client; unix skipped there
# by name, the code path is the same after accept).
. "$(dirname "$0")/lib.sh"
[ -f "$GUEST" ] || fail "the conformance guest was not built ($GUEST)"
PORT=$((20000 + $$ % 20000))

if ! host_kvm_usable; then
	cat >"$T/inner.sh" <<IN
ip link set lo up
/bin/vstd vmm run --kernel /t/vstd-conform-guest.bin --serial tcp:127.0.0.1:$PORT --timeout 60 2>/tmp/err &
vmm=\$!
i=0; while ! grep -q "waiting for a client" /tmp/err && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done
# the client keeps its stdin open: busybox nc stops at stdin's end
sleep 30 | nc 127.0.0.1 $PORT >/tmp/sock.txt &
wait \$vmm
sleep 1
/bin/vstd vmm run --kernel /t/vstd-conform-guest.bin --timeout 60 >/tmp/plain.txt 2>/dev/null
for f in sock plain; do tr -d '\r' </tmp/\$f.txt | grep '^R ' | sort | sed "s/^/SS-\$f /"; done
IN
	nested_run "$T/nested.txt" "$T/inner.sh" "$GUEST"
	[ $? = 125 ] && fail "nested KVM setup failed"
	tr -d '\r' <"$T/nested.txt" >"$T/log"
	diff <(sed -n 's/^SS-sock //p' "$T/log") <(sed -n 's/^SS-plain //p' "$T/log") ||
		fail "tcp: the report read from the socket differs from stdout's"
	[ "$(grep -c '^SS-sock R ' "$T/log")" -gt 5 ] || fail "tcp: no report through the socket"
	echo "SKIP part: unix socket (no unix-socket client in the nested guest); tcp checked nested"
	exit 0
fi
need python3 python3

client() { # unix PATH | tcp PORT -> prints what the server sends
	python3 - "$@" <<'PY'
import socket, sys, time
kind, where = sys.argv[1], sys.argv[2]
for _ in range(100):
    try:
        if kind == "unix":
            s = socket.socket(socket.AF_UNIX); s.connect(where)
        else:
            s = socket.create_connection(("127.0.0.1", int(where)))
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("no server")
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode("latin-1"))
PY
}

"$VSTD" vmm run --kernel "$GUEST" --timeout 30 >"$T/plain.txt" 2>/dev/null
compared "$T/plain.txt" >"$T/plain.R"
[ "$(wc -l <"$T/plain.R")" -gt 5 ] || fail "no report on stdout"

"$VSTD" vmm run --kernel "$GUEST" --serial "unix:$T/con.sock" --timeout 30 2>"$T/unix.err" &
pid=$!
client unix "$T/con.sock" >"$T/unix.txt" || fail "unix: the client could not connect"
wait $pid
compared "$T/unix.txt" | diff - "$T/plain.R" || fail "unix: the report read from the socket differs from stdout's"
grep -q "waiting for a client on unix:" "$T/unix.err" || fail "unix: the monitor did not say where it waits"
[ -e "$T/con.sock" ] && fail "unix: the socket file was left behind"

"$VSTD" vmm run --kernel "$GUEST" --serial "tcp:127.0.0.1:$PORT" --timeout 30 2>/dev/null &
pid=$!
client tcp "$PORT" >"$T/tcp.txt" || fail "tcp: the client could not connect"
wait $pid
compared "$T/tcp.txt" | diff - "$T/plain.R" || fail "tcp: the report read from the socket differs from stdout's"

timeout 20 "$VSTD" vmm run --kernel "$GUEST" --serial "unix:$T/lonely.sock" --timeout 1 2>"$T/err"
[ $? = 1 ] || fail "no client: expected exit status 1"
grep -q "no client connected" "$T/err" || { cat "$T/err"; fail "no client: unclear error"; }
echo keep >"$T/file"
timeout 20 "$VSTD" vmm run --kernel "$GUEST" --serial "unix:$T/file" --timeout 1 2>"$T/err"
[ $? = 1 ] && grep -q "not a socket" "$T/err" && [ "$(cat "$T/file")" = keep ] ||
	{ cat "$T/err"; fail "a regular file in the socket's place must be refused and kept"; }
echo "serial console over unix and tcp sockets: same $(wc -l <"$T/plain.R") report lines as stdout; lonely and misplaced sockets refused"
