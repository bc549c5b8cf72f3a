#!/usr/bin/env bash
# agent/io/haproxy.c against a real HAProxy on loopback: MAINT, DRAIN and weight 0 over the
# unix socket and over TCP, read back with `show servers state`; HAProxy's refusals, a
# refused connection and a peer that never answers fail with the right reason.
set -uo pipefail

src=${OOMBREAKER_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
HAPROXY_CMD=${HAPROXY_CMD:-${OOMBREAKER_BINARY_DIR:-$src/build}/haproxy-cmd}
# shellcheck source=tests/lib/haproxy.sh
source "$src/tests/lib/haproxy.sh"

if ! command -v haproxy >/dev/null; then
	echo "SKIP: haproxy is not installed (apt-get install haproxy)"
	exit 77
fi
if [ ! -x "$HAPROXY_CMD" ]; then
	echo "SKIP: $HAPROXY_CMD is not built"
	exit 77
fi

tmp=$(mktemp -d /tmp/test-haproxy.XXXXXX)
silent_pid=
cleanup() {
	haproxy_stop
	[ -n "$silent_pid" ] && kill "$silent_pid" 2>/dev/null && wait "$silent_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

expect_state() { # TRANSPORT SERVER WANT [ADMIN_MASK]
	local got
	got=$("$HAPROXY_CMD" "${transport[@]}" state "app/$2") || fail "$1: state app/$2 failed"
	if [ "${got%% *}" != "$3" ]; then
		fail "$1: app/$2 is '$got', want $3"
	elif [ -n "${4:-}" ] && [ "$(cut -d' ' -f2 <<<"$got")" != "$4" ]; then
		fail "$1: app/$2 admin state is '$got', want mask $4"
	else
		echo "ok: $1: app/$2 is $got"
	fi
}

expect_failure() { # WHAT FRAGMENT COMMAND...
	local what=$1 fragment=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -ne 1 ]; then
		fail "$what: exit $rc, want 1 (output: $out)"
	elif ! grep -qF -- "$fragment" <<<"$out"; then
		fail "$what: '$out' lacks '$fragment'"
	else
		echo "ok: $what: $out"
	fi
}

haproxy_start "$tmp" || {
	echo "FAIL: haproxy did not start" >&2
	exit 1
}
echo "haproxy $HAPROXY_PID: socket $HAPROXY_SOCKET, admin port $HAPROXY_ADMIN_PORT"

# The library's own read-back agrees before anything changes.
[ "$(haproxy_server_state app canary)" = READY ] || fail "haproxy_server_state: canary not READY"

for name in unix tcp; do
	if [ "$name" = unix ]; then
		transport=(--socket "$HAPROXY_SOCKET")
	else
		transport=(--address "127.0.0.1:$HAPROXY_ADMIN_PORT")
	fi
	expect_state "$name" canary READY 0x00
	"$HAPROXY_CMD" "${transport[@]}" set app/canary maint || fail "$name: set maint failed"
	expect_state "$name" canary MAINT 0x01
	expect_state "$name" stable READY 0x00
	[ "$(haproxy_server_state app canary)" = MAINT ] || fail "$name: haproxy_server_state not MAINT"
	"$HAPROXY_CMD" "${transport[@]}" set app/canary drain || fail "$name: set drain failed"
	expect_state "$name" canary DRAIN 0x08
	[ "$(haproxy_server_state app canary)" = DRAIN ] || fail "$name: haproxy_server_state not DRAIN"
	"$HAPROXY_CMD" "${transport[@]}" set app/canary weight0 || fail "$name: set weight0 failed"
	weight=$("$HAPROXY_CMD" "${transport[@]}" raw "get weight app/canary")
	if [[ "$weight" == "0 "* ]]; then
		echo "ok: $name: weight0: get weight says '$weight'"
	else
		fail "$name: weight after weight0 is '$weight'"
	fi
	# Back to ready and weight 1 for the next transport.
	"$HAPROXY_CMD" "${transport[@]}" raw --expect-empty "set server app/canary state ready" ||
		fail "$name: set ready failed"
	"$HAPROXY_CMD" "${transport[@]}" raw --expect-empty "set weight app/canary 1" ||
		fail "$name: set weight 1 failed"
	expect_state "$name" canary READY 0x00

	expect_failure "$name: unknown server" "HAProxy: No such server." \
		"$HAPROXY_CMD" "${transport[@]}" set app/nosuch maint
	expect_failure "$name: unknown backend" "HAProxy: No such" \
		"$HAPROXY_CMD" "${transport[@]}" set nosuch/canary drain
	expect_failure "$name: server without backend" "HAProxy: Require 'backend/server'." \
		"$HAPROXY_CMD" "${transport[@]}" raw --expect-empty "set server canary state maint"
	expect_failure "$name: unknown command" "HAProxy: Unknown command" \
		"$HAPROXY_CMD" "${transport[@]}" raw --expect-empty "frobnicate app/canary"
done

# Nothing listening: the kernel refuses, and the reason says so.
port=$(haproxy_free_port)
expect_failure "tcp: nothing listening" "127.0.0.1:$port: Connection refused" \
	"$HAPROXY_CMD" --address "127.0.0.1:$port" set app/canary maint
expect_failure "unix: no socket" "No such file or directory" \
	"$HAPROXY_CMD" --socket "$tmp/none.sock" set app/canary maint
rm -f "$tmp/refused.sock"
/usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$tmp/refused.sock"
expect_failure "unix: stale socket" "Connection refused" \
	"$HAPROXY_CMD" --socket "$tmp/refused.sock" set app/canary maint

# A peer that accepts and never answers: the request times out on its deadline.
port=$(haproxy_free_port)
/usr/bin/python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
open(sys.argv[2], "w").close()
conns = []
while True:
    conns.append(s.accept()[0])' "$port" "$tmp/silent.ready" &
silent_pid=$!
for ((i = 0; i < 100; i++)); do
	[ -e "$tmp/silent.ready" ] && break
	sleep 0.1
done
[ -e "$tmp/silent.ready" ] || fail "silent peer did not start"
start=$(date +%s%N)
expect_failure "tcp: silent peer" "did not reply within 300 ms" \
	"$HAPROXY_CMD" --timeout 300 --address "127.0.0.1:$port" set app/canary maint
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
if [ "$elapsed_ms" -lt 300 ] || [ "$elapsed_ms" -gt 3000 ]; then
	fail "silent peer: gave up after $elapsed_ms ms, want 300..3000"
else
	echo "ok: silent peer: gave up after $elapsed_ms ms"
fi

# HAProxy is still up and the canary untouched by the failed attempts.
expect_state final canary READY 0x00

if [ "$failures" -ne 0 ]; then
	echo "$failures failure(s)" >&2
	exit 1
fi
echo "all haproxy checks passed"
