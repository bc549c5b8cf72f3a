#!/usr/bin/env bash
# The nodejs preset against a real Node.js service (tests/tools/nodeload) using prom-client's
# own default metrics (npm prom-client, installed once per build tree). Without a leak,
# `oombreaker sample --json` shows gc_count (nodejs_gc_duration_seconds_count, summed over
# kind) rising and heap_used; heap_max comes from the service's own gauge of V8's heap limit
# through heap_max_metric, since the default metrics carry none. With a leak in a heap capped
# by --max-old-space-size, `oombreaker run` trips the heap-ratio rule; the same policy
# over a service that does not leak stays armed for as many ticks.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "${OOMBREAKER_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/common.sh"
# shellcheck source=../lib/agent.sh
source "$SOURCE_DIR/tests/lib/agent.sh"

need_cmd node npm jq curl
tmpdir_setup

# nodeload_install: prom-client into the build tree (once), from the npm registry.
nodeload_install() {
	NODELOAD=${OOMBREAKER_BINARY_DIR:-$TEST_TMP}/tests/nodeload
	if [ ! -f "$NODELOAD/node_modules/prom-client/package.json" ] ||
		! cmp -s "$SOURCE_DIR/tests/tools/nodeload/package.json" "$NODELOAD/package.json"; then
		mkdir -p "$NODELOAD"
		cp "$SOURCE_DIR/tests/tools/nodeload/package.json" "$NODELOAD/"
		(cd "$NODELOAD" && timeout 300 npm install --no-audit --no-fund --omit=dev \
			--loglevel=error) >"$TEST_TMP/npm.log" 2>&1 ||
			fail "npm install prom-client failed: $(tail -5 "$TEST_TMP/npm.log")"
	fi
	cp "$SOURCE_DIR/tests/tools/nodeload/server.js" "$NODELOAD/"
}

# nodeload_start NAME [node options] -- [server options]: sets NODE_PORT.
nodeload_start() {
	local name=$1 node_opts=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		node_opts+=("$1")
		shift
	done
	shift
	spawn "$name" node "${node_opts[@]}" "$NODELOAD/server.js" --port 0 "$@"
	wait_until 15 grep -q '^port ' "$TEST_TMP/$name.log" ||
		fail "nodeload $name did not start: $(cat "$TEST_TMP/$name.log")"
	NODE_PORT=$(awk '$1 == "port" { print $2; exit }' "$TEST_TMP/$name.log")
}

# policy FILE NAME PORT: the nodejs preset, the heap limit gauge, one heap-ratio rule.
policy() {
	cat >"$1" <<EOF2
[batch]
name = $2
image = registry.example.com/order-svc:v2.4.1-rc3
stable_image = registry.example.com/order-svc:v2.4.0
traffic_percent = 5
interval = 1s
consecutive = 2

[target canary-1]
cgroup = /system.slice/order-canary@1.service
metrics_url = http://127.0.0.1:$3/metrics
metrics_timeout = 2s
gc_preset = nodejs
heap_max_metric = nodeload_heap_size_limit_bytes

[rule heap]
heap_ratio_above = 0.4
EOF2
}

nodeload_install
agent_fixture

echo "== no leak: the preset's figures"
nodeload_start calm --
policy "$TEST_TMP/calm.ini" calm "$NODE_PORT"
sample() {
	"$BIN" sample "$TEST_TMP/calm.ini" --json --cgroup-root "$TEST_TMP/cg" >"$TEST_TMP/s.$1" 2>&1 ||
		fail "sample failed: $(cat "$TEST_TMP/s.$1")"
}
field() { jq -r "select(.instance == \"canary-1\") | .runtime.$2 // \"none\"" "$TEST_TMP/s.$1"; }
sample 1
g1=$(field 1 gc_count)
[ "$g1" != none ] || fail "no gc_count from prom-client: $(cat "$TEST_TMP/s.1")"
gc_rose() {
	sample 2
	[ "$(field 2 gc_count)" != none ] && [ "$(field 2 gc_count)" -gt "$g1" ]
}
wait_until 10 gc_rose || fail "gc_count did not rise from $g1: $(cat "$TEST_TMP/s.2")"
used=$(field 2 heap_used)
max=$(field 2 heap_max)
[ "$used" != none ] && [ "$used" -gt 0 ] || fail "no heap_used: $(cat "$TEST_TMP/s.2")"
[ "$max" != none ] && [ "$max" -gt "$used" ] || fail "no heap_max: $(cat "$TEST_TMP/s.2")"
echo "gc_count $g1 -> $(field 2 gc_count); heap_used $used of heap_max $max" \
	"(ratio $(jq -n "$used / $max * 1000 | floor / 1000"))"

echo "== a leak in a 128 MiB old space trips heap-ratio; the calm service does not"
nodeload_start leak --max-old-space-size=128 -- --leak-mib-per-s 4
policy "$TEST_TMP/leak.ini" leak "$NODE_PORT"
agent_start --policy "$TEST_TMP/calm.ini" --policy "$TEST_TMP/leak.ini"
wait_until 60 agent_phase_is leak tripped || wait_until 1 agent_phase_is leak rolled_back ||
	fail "the leak did not trip: $(agent_status_json leak)"
agent_status_json leak | jq -c '{phase, rule: .trip.rule, conditions: .trip.conditions,
	gc_per_minute: .instances[0].gc_per_minute, heap_ratio: .instances[0].heap_ratio}'
agent_status_json leak | jq -e '.trip.rule == "heap" and .instances[0].gc_per_minute > 0' >/dev/null ||
	fail "tripped on another rule: $(agent_status_json leak)"
# The calm batch has been judged on as many ticks, with data, and stayed armed.
agent_status_json calm | jq -e '.phase == "armed" and .instances[0].heap_ratio < 0.4' >/dev/null ||
	fail "the calm service tripped: $(agent_status_json calm)"
echo "PASS"
