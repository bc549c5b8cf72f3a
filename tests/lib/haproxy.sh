# shellcheck shell=bash
# A throwaway HAProxy on loopback for integration tests, the demo and the bench.
#
#   haproxy_start DIR     writes DIR/haproxy.cfg (backend `app` with servers `stable` and
#                         `canary`, no health checks) and starts haproxy in the background.
#                         Sets HAPROXY_PID, HAPROXY_SOCKET (DIR/admin.sock, level admin),
#                         HAPROXY_ADMIN_PORT (the runtime API on 127.0.0.1 over TCP),
#                         HAPROXY_FRONTEND_PORT, HAPROXY_STABLE_PORT, HAPROXY_CANARY_PORT.
#                         Set HAPROXY_STABLE_PORT / HAPROXY_CANARY_PORT before the call to
#                         point the servers at your own listeners, and HAPROXY_STABLE_WEIGHT /
#                         HAPROXY_CANARY_WEIGHT (1..256) for a weighted split (the demo: 95/5).
#   haproxy_stop          stops it (safe to call twice, or when it never started).
#   haproxy_server_state BACKEND SERVER   prints MAINT, DRAIN or READY.
#   haproxy_cmd ARGS...   runs the haproxy-cmd test tool (see tests/tools/haproxy-cmd.c)
#                         against the unix socket.
#
# haproxy-cmd is looked up as $HAPROXY_CMD, else $OOMBREAKER_BINARY_DIR/haproxy-cmd; without
# it, haproxy_server_state falls back to socat. Ports are random free ports on 127.0.0.1.
# Safe under `set -euo pipefail`. haproxy is not started through common.sh's `spawn`: call
# haproxy_stop from your EXIT trap.

HAPROXY_PID=
HAPROXY_CMD=${HAPROXY_CMD:-${OOMBREAKER_BINARY_DIR:+$OOMBREAKER_BINARY_DIR/haproxy-cmd}}

# Prints a TCP port on 127.0.0.1 that was free a moment ago.
haproxy_free_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

_haproxy_write_config() {
	local dir=$1
	cat >"$dir/haproxy.cfg" <<EOF
global
    nbthread 1
    stats socket $dir/admin.sock mode 600 level admin
    stats socket ipv4@127.0.0.1:$HAPROXY_ADMIN_PORT level admin

defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:$HAPROXY_FRONTEND_PORT
    default_backend app

backend app
    server stable 127.0.0.1:$HAPROXY_STABLE_PORT${HAPROXY_STABLE_WEIGHT:+ weight $HAPROXY_STABLE_WEIGHT}
    server canary 127.0.0.1:$HAPROXY_CANARY_PORT${HAPROXY_CANARY_WEIGHT:+ weight $HAPROXY_CANARY_WEIGHT}
EOF
}

# Waits until the runtime API answers on the unix socket, at most 10 s.
_haproxy_wait_ready() {
	local i
	for ((i = 0; i < 100; i++)); do
		if [ -S "$HAPROXY_SOCKET" ] && _haproxy_raw "show info" >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$HAPROXY_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

_haproxy_raw() {
	if [ -x "$HAPROXY_CMD" ]; then
		"$HAPROXY_CMD" --socket "$HAPROXY_SOCKET" raw "$1"
	else
		echo "$1" | socat -t 5 - "UNIX-CONNECT:$HAPROXY_SOCKET"
	fi
}

# One try at starting; fails when a port was taken in the meantime.
_haproxy_try_start() {
	local dir=$1
	HAPROXY_SOCKET=$dir/admin.sock
	HAPROXY_ADMIN_PORT=$(haproxy_free_port)
	HAPROXY_FRONTEND_PORT=$(haproxy_free_port)
	HAPROXY_STABLE_PORT=${_haproxy_stable:-$(haproxy_free_port)}
	HAPROXY_CANARY_PORT=${_haproxy_canary:-$(haproxy_free_port)}
	_haproxy_write_config "$dir"
	rm -f "$HAPROXY_SOCKET"
	# -db keeps it in the foreground of a background job, so $! is haproxy itself.
	haproxy -db -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 &
	HAPROXY_PID=$!
	if _haproxy_wait_ready; then
		return 0
	fi
	haproxy_stop
	return 1
}

haproxy_start() {
	local dir=$1 try
	_haproxy_stable=${HAPROXY_STABLE_PORT:-}
	_haproxy_canary=${HAPROXY_CANARY_PORT:-}
	command -v haproxy >/dev/null || {
		echo "haproxy_start: haproxy is not installed" >&2
		return 1
	}
	for try in 1 2 3; do
		_haproxy_try_start "$dir" && return 0
		echo "haproxy_start: attempt $try failed:" >&2
		cat "$dir/haproxy.log" >&2 2>/dev/null
	done
	return 1
}

haproxy_stop() {
	local i
	[ -n "$HAPROXY_PID" ] || return 0
	kill "$HAPROXY_PID" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$HAPROXY_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$HAPROXY_PID" 2>/dev/null || true
	wait "$HAPROXY_PID" 2>/dev/null || true
	HAPROXY_PID=
	return 0
}

haproxy_cmd() {
	"$HAPROXY_CMD" --socket "$HAPROXY_SOCKET" "$@"
}

haproxy_server_state() {
	local backend=$1 server=$2
	if [ -x "$HAPROXY_CMD" ]; then
		haproxy_cmd state "$backend/$server" | cut -d' ' -f1
		return "${PIPESTATUS[0]}"
	fi
	# srv_admin_state is column 7: bits 0x01/0x02/0x04/0x20 are maintenance, 0x08/0x10 drain.
	_haproxy_raw "show servers state $backend" | awk -v b="$backend" -v s="$server" '
		NR > 1 && $1 !~ /^#/ && $2 == b && $4 == s {
			a = $7 + 0; found = 1
			m = a % 2 || int(a / 2) % 2 || int(a / 4) % 2 || int(a / 32) % 2
			d = int(a / 8) % 2 || int(a / 16) % 2
			print (m ? "MAINT" : d ? "DRAIN" : "READY")
		}
		END { exit !found }'
}
