#!/bin/bash
# tests/mgmt/test_pam.sh - `vstd cim serve --pam SERVICE`: HTTP Basic logins
# checked through Linux-PAM (pam_unix against /etc/shadow) for a user this
# test creates, driven by the real client wbemcli (and curl for the exact
# HTTP status): the right password is answered (200, instances listed), a
# wrong one, an unknown user and an expired account get 401, the password
# file and PAM work side by side, and no password reaches the server's log.
#
# Stock PAM reads its services from /etc/pam.d only, so the test writes a
# service file there (vstd-test-<pid>) and creates a system user; both are
# removed at exit.  Needs root: skips otherwise (CI runs as root).
set -u
CLI=${VSTD_CLI:?}
NAME=mgmt/pam
skip() {
	echo "SKIP $NAME: $*"
	if [ "${VSTD_TEST_REQUIRE_ALL:-0}" = 1 ]; then exit 1; fi
	exit 77
}
[ "$(id -u)" = 0 ] || { echo "SKIP $NAME: needs root (writes /etc/pam.d and adds a user)"; exit 77; }
command -v wbemcli >/dev/null || skip "wbemcli not installed (sblim-wbemcli)"
command -v curl >/dev/null || skip "curl not installed (curl)"
for t in useradd usermod userdel chpasswd; do command -v $t >/dev/null || skip "$t not installed (passwd)"; done
MOD=$(ls /lib/*/security/pam_unix.so /lib/security/pam_unix.so /usr/lib/*/security/pam_unix.so 2>/dev/null | head -1)
[ -n "$MOD" ] || skip "pam_unix.so not installed (libpam-modules)"

# A sanitizer build: ASan resolves its crypt_r interceptor when the program
# starts; pam_unix brings libcrypt in later (dlopen), and the interceptor
# then calls NULL.  Loading libcrypt at start avoids that runtime
# limitation: after libasan for GCC (shared runtime, must come first),
# alone for clang (the runtime is linked into the program).
ASAN_LIB=$(ldd "$CLI" 2>/dev/null | awk '/libasan/ {print $3}')
PRELOAD=""
if [ -n "$ASAN_LIB" ] || grep -q -a __asan_init "$CLI"; then
	CRYPT_LIB=$(ldconfig -p | awk '/libcrypt\.so\.1 / {print $NF; exit}')
	[ -n "$CRYPT_LIB" ] && PRELOAD=${ASAN_LIB:+$ASAN_LIB:}$CRYPT_LIB
fi

T=$(mktemp -d /tmp/vstd-mgmt-pam-XXXXXX)
SRVCLI=$CLI # the server (only it loads PAM)
if [ -n "$PRELOAD" ]; then
	printf '#!/bin/sh\nLD_PRELOAD=%s exec %s "$@"\n' "$PRELOAD" "$CLI" >"$T/vstd-serve"
	chmod +x "$T/vstd-serve"
	SRVCLI=$T/vstd-serve
fi
SVC_NAME=vstd-test-$$
U1=vstdpam$$a
U2=vstdpam$$b
P1="Pam$RANDOM$RANDOM$RANDOM"
P2="Exp$RANDOM$RANDOM$RANDOM"
PF="File$RANDOM$RANDOM$RANDOM"
SRV=
cleanup() {
	[ -n "$SRV" ] && kill "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null
	rm -f "/etc/pam.d/$SVC_NAME"
	userdel "$U1" 2>/dev/null
	userdel "$U2" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
FAILS=0
check() {
	local w=$1
	shift
	if "$@" >"$T/out" 2>&1; then echo "ok   $w"; else
		echo "FAIL $w"
		head -20 "$T/out"
		FAILS=$((FAILS + 1))
	fi
}

# the service: pam_unix for authentication and account checks, no failure
# delay (the test asks several wrong passwords)
printf 'auth required pam_unix.so nodelay\naccount required pam_unix.so\n' >"/etc/pam.d/$SVC_NAME"
useradd -M -N -s /usr/sbin/nologin "$U1" || skip "useradd failed"
useradd -M -N -s /usr/sbin/nologin "$U2" || skip "useradd failed"
printf '%s:%s\n%s:%s\n' "$U1" "$P1" "$U2" "$P2" | chpasswd || skip "chpasswd failed"
usermod -e 1970-01-02 "$U2" # expired: right password, refused by pam_acct_mgmt
echo "$PF" | "$CLI" cim passwd "$T/passwd" fileuser

PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null ||
	echo $((20000 + RANDOM % 20000)))
check "--pam with a path is refused" bash -c "! '$SRVCLI' cim serve --listen 127.0.0.1:$PORT --state-dir '$T/x' --pam ../etc/x --insecure-http"
"$SRVCLI" cim serve --listen 127.0.0.1:$PORT --state-dir "$T/st" --pam "$SVC_NAME" --passwd "$T/passwd" \
	--insecure-http 2>"$T/server.log" &
SRV=$!
for i in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done

B=127.0.0.1:$PORT/root/virtualization
code() { # code USER PASS -> the HTTP status of an EnumerateClassNames
	curl -s -o /dev/null -w '%{http_code}' -u "$1:$2" -H 'Content-Type: application/xml' \
		-H 'CIMOperation: MethodCall' -H 'CIMMethod: EnumerateClassNames' -H 'CIMObject: root/virtualization' \
		--data-binary '<?xml version="1.0"?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="EnumerateClassNames"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="virtualization"/></LOCALNAMESPACEPATH></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>' \
		"http://127.0.0.1:$PORT/cimom" 2>/dev/null
}
check "PAM user, right password: wbemcli lists the host" bash -c "wbemcli ein 'http://$U1:$P1@$B:VSTD_HostSystem' | grep -q 'VSTD_HostSystem'"
check "PAM user, right password: HTTP 200" test "$(code "$U1" "$P1")" = 200
check "PAM user, wrong password: wbemcli fails" bash -c "! wbemcli ein 'http://$U1:wrong$P1@$B:VSTD_HostSystem'"
check "PAM user, wrong password: HTTP 401" test "$(code "$U1" "wrong$P1")" = 401
check "unknown user: HTTP 401" test "$(code "nosuch$$" "$P1")" = 401
check "expired PAM account, right password: HTTP 401 (pam_acct_mgmt)" test "$(code "$U2" "$P2")" = 401
check "PAM user with an empty password: HTTP 401" test "$(code "$U1" "")" = 401
check "password-file user beside PAM: HTTP 200" test "$(code fileuser "$PF")" = 200
check "password-file user, wrong password: HTTP 401" test "$(code fileuser "x$PF")" = 401
check "PAM password is not accepted for the file user" test "$(code fileuser "$P1")" = 401
# after the password changes, the old one stops working (once the 30 s the
# answer is remembered have passed the new one is asked of PAM again; a
# wrong password is never remembered)
check "a changed password: the new one works" bash -c "echo '$U1:N$P1' | chpasswd && [ \$(curl -s -o /dev/null -w '%{http_code}' -u '$U1:N$P1' -H 'CIMOperation: MethodCall' -H 'CIMMethod: EnumerateClassNames' -H 'CIMObject: root/virtualization' --data-binary @/dev/null http://127.0.0.1:$PORT/cimom) != 401 ]"
check "the server logged the refusals with the user name" grep -q "authentication failed for user '$U1' from 127.0.0.1" "$T/server.log"
check "no password in the server log" bash -c "! grep -q -e '$P1' -e '$P2' -e '$PF' '$T/server.log'"
check "the server is still serving" test "$(code "$U1" "N$P1")" = 200
kill "$SRV"
wait "$SRV" 2>/dev/null
SRV=
check "--pam without --passwd is enough" bash -c "'$SRVCLI' cim serve --listen 127.0.0.1:$PORT --state-dir '$T/st2' --pam '$SVC_NAME' --insecure-http 2>/dev/null & p=\$!; sleep 0.5; c=\$(curl -s -o /dev/null -w '%{http_code}' -u '$U1:N$P1' -H 'CIMOperation: MethodCall' -H 'CIMMethod: EnumerateClassNames' -H 'CIMObject: root/virtualization' --data-binary @/dev/null http://127.0.0.1:$PORT/cimom); kill \$p; wait \$p; [ \"\$c\" != 401 ] && [ \"\$c\" != 000 ]"
echo "$FAILS failure(s)"
[ "$FAILS" = 0 ]
