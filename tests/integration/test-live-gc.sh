#!/usr/bin/env bash
# Live GC statistics: a real Go process (tests/tools/gcload, client_golang's own go_*
# metrics) allocates garbage without pause; `oombreaker sample --json` run twice shows
# gc_count rising, plus heap_used from go_memstats_heap_inuse_bytes. A second target whose
# endpoint refuses connections is no-data with its reason, never zero. Falls back to a
# Python prometheus_client process (gc collector) when Go cannot build the tool.
set -euo pipefail

bin=${OOMBREAKER:?set OOMBREAKER to the oombreaker binary}
src=${OOMBREAKER_SOURCE_DIR:?set OOMBREAKER_SOURCE_DIR}
command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }

tmp=$(mktemp -d /tmp/test-live-gc.XXXXXX)
peer_pid=
cleanup() {
	local rc=$?
	if [ -n "$peer_pid" ]; then
		kill "$peer_pid" 2>/dev/null || true
		wait "$peer_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	[ -f "$tmp/peer.log" ] && sed 's/^/peer: /' "$tmp/peer.log" >&2
	exit 1
}

# start_peer CMD...: runs a peer that prints "port N" first; sets $port (5 s deadline).
start_peer() {
	"$@" >"$tmp/peer.log" 2>&1 &
	peer_pid=$!
	for _ in $(seq 50); do
		port=$(awk '$1 == "port" { print $2; exit }' "$tmp/peer.log")
		[ -n "$port" ] && return 0
		kill -0 "$peer_pid" 2>/dev/null || fail "peer exited: $(cat "$tmp/peer.log")"
		sleep 0.1
	done
	fail "peer did not report its port within 5 s"
}

preset=go
if command -v go >/dev/null &&
	(cd "$src/tests/tools/gcload" && GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= \
		GOCACHE="${OOMBREAKER_BINARY_DIR:-$tmp}/go-cache" go build -o "$tmp/gcload" . 2>"$tmp/go-build.log"); then
	echo "== peer: Go client_golang (tests/tools/gcload)"
	start_peer "$tmp/gcload" -port 0
elif /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null; then
	echo "== peer: Python prometheus_client (Go build failed: $(head -c 300 "$tmp/go-build.log"))"
	preset=python
	cat >"$tmp/gcload.py" <<'EOF'
import gc, sys, time
from prometheus_client import start_http_server
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
start_http_server(port, addr="127.0.0.1")
print("port %d" % port, flush=True)
while True:
    junk = [[i] * 8 for i in range(20000)]  # cyclic-GC-tracked containers
    del junk
    time.sleep(0.005)
EOF
	start_peer /usr/bin/python3 "$tmp/gcload.py"
else
	echo "SKIP: neither Go (client_golang) nor python3-prometheus-client can run a peer"
	exit 77
fi

# A closed port: bind to learn a free one, then let it go.
closed=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

cp -a "$src/tests/fixtures/cgroup-v2" "$tmp/"
cat >"$tmp/policy.ini" <<EOF
[batch]
name = live-gc
image = registry.example.com/order-svc:v2.4.1-rc3
stable_image = registry.example.com/order-svc:v2.4.0
traffic_percent = 5

[target canary-1]
cgroup = /system.slice/order-canary@1.service
metrics_url = http://127.0.0.1:$port/metrics
metrics_timeout = 2s
gc_preset = $preset

[target refused]
cgroup = /system.slice/order-canary@1.service
metrics_url = http://127.0.0.1:$closed/metrics
metrics_timeout = 2s
gc_preset = $preset

[rule gc]
gc_per_minute_above = 15
EOF

# sample_json N: one `sample --json`, output in $tmp/out.N, stderr in $tmp/err.N.
sample_json() {
	"$bin" sample "$tmp/policy.ini" --json --cgroup-root "$tmp/cgroup-v2" \
		>"$tmp/out.$1" 2>"$tmp/err.$1" || fail "sample exited $?: $(cat "$tmp/err.$1")"
}
field() { jq -cr --arg i "$2" "select(.instance == \$i) | $3" "$tmp/out.$1"; }

sample_json 1
g1=$(field 1 canary-1 '.runtime.gc_count // "none"')
# The peer allocates continuously; wait (bounded) until at least one more GC happened.
g2=$g1
for attempt in $(seq 20); do
	sleep 0.25
	sample_json 2
	g2=$(field 2 canary-1 '.runtime.gc_count // "none"')
	[ "$g1" != none ] && [ "$g2" != none ] && [ "$g2" -gt "$g1" ] && break
done
echo "gc_count: first $g1, second $g2 (after $attempt attempts)"
echo "trace 1: $(field 1 canary-1 '.')"
echo "trace 2: $(field 2 canary-1 '.')"
[ "$g1" != none ] || fail "first sample has no gc_count: $(cat "$tmp/out.1") $(cat "$tmp/err.1")"
[ "$g2" -gt "$g1" ] || fail "gc_count did not rise: $g1 then $g2"

if [ "$preset" = go ]; then
	used=$(field 2 canary-1 '.runtime.heap_used // "none"')
	[ "$used" != none ] && [ "$used" -gt 0 ] || fail "no heap_used: $(cat "$tmp/out.2")"
	# Debian's client_golang 1.14 exports no GOMEMLIMIT series: heap_max is no-data.
	[ "$(field 2 canary-1 '.runtime.heap_max // "none"')" = none ] || fail "heap_max invented"
	echo "heap_used $used bytes; heap_max absent as expected"
fi
# The memory half still comes from the fixture cgroup.
[ "$(field 2 canary-1 '.memory.current // "none"')" != none ] || fail "memory figures missing"

# The refused endpoint: no runtime object figures at all, and the reason on stderr.
[ "$(field 2 refused '.runtime.gc_count // "none"')" = none ] || fail "refused target has a gc_count"
grep -q "target refused: runtime: .*\(onnect\|refused\)" "$tmp/err.2" ||
	fail "no reason for the refused target: $(cat "$tmp/err.2")"
echo "refused: $(grep 'target refused' "$tmp/err.2")"

echo "== table output names the runtime figures"
"$bin" sample "$tmp/policy.ini" --cgroup-root "$tmp/cgroup-v2" >"$tmp/table" 2>&1 ||
	fail "table sample failed: $(cat "$tmp/table")"
grep -q "^canary-1: runtime: gc_count [0-9]" "$tmp/table" || fail "table: $(cat "$tmp/table")"
grep "runtime:" "$tmp/table"
echo "PASS"
