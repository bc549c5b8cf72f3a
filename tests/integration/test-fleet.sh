#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The fleet with real parts: Debian's Prometheus server scrapes THREE agents on loopback, each
# with its own state dir, control socket, /metrics port and real memory cgroup holding a canary
# (a Python process with 20 MiB). The three agents run the same policy files (each its cgroup
# root), so the batch's actions carry one Idempotency-Key whichever node trips.
#  1. `wait --prometheus --batch fleet-a --min-nodes 3` sees the three nodes armed; then node 3's
#     canary leaks: the gate exits 2 within one scrape interval plus one tick of the trip
#     (measured from the rollback's arrival at the receiver), and the deduplicating receiver
#     has exactly one rollback effect.
#  2. Agent 1 also judges the batch-wide sum: a [target] with promql = sum(working sets of the
#     three nodes' fleet-b batch) trips its 150 MiB budget once the leak pushes the sum past it
#     (it was armed below it before); replaying its trace trips too.
#  3. Agent 2 stops: a gate on the healthy batch fleet-b reports that node missing (down) and
#     never says healthy: it times out (124) instead of exiting 0.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/run.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/run.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/prometheus.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prometheus.sh"
run_test_setup
need_cmd prometheus

SCRAPE_MS=1000
TICK_MS=500
LIMIT_MS=$((SCRAPE_MS + TICK_MS))

receiver_start pipeline --dedup
url=http://127.0.0.1:$RECEIVER_PORT

# The nodes' cgroups: nodeK/canary, each limited to 256 MiB, each with a 20 MiB canary.
for k in 1 2 3; do
	cg_create "node$k/canary" 256MiB >/dev/null || fail "cannot create the cgroup node$k/canary"
	cg_spawn "node$k/canary" "canary$k" "$PYTHON" -c 'import signal
held = b"\x01" * (20 << 20)
signal.pause()'
	wait_until 10 _usage_at_least "node$k/canary" $((20 << 20)) || fail "canary $k never held 20 MiB"
done

# The same files on every node: the leak batch, and a healthy one for the missing-node check.
mkdir -p "$TEST_TMP/policies"
cat >"$TEST_TMP/policies/fleet-a.ini" <<EOF
[batch]
name = fleet-a
interval = ${TICK_MS}ms
consecutive = 1

[target canary]
cgroup = /canary

[rule ratio]
memory_ratio_above = 0.5

$(http_action rollback "$url/rollback")
EOF
cat >"$TEST_TMP/policies/fleet-b.ini" <<EOF
[batch]
name = fleet-b
interval = ${TICK_MS}ms

[target canary]
cgroup = /canary

[rule never]
memory_bytes_above = 1GiB
EOF

ports=()
for k in 1 2 3; do ports[k]=$(free_port); done

# Prometheus, scraping the three agents' /metrics every SCRAPE_MS.
prometheus_start "$SCRAPE_MS" "127.0.0.1:${ports[1]}" "127.0.0.1:${ports[2]}" "127.0.0.1:${ports[3]}"

# Agent 1 also judges the sum of the three nodes' fleet-b working sets against 150 MiB.
cat >"$TEST_TMP/fleet-sum.ini" <<EOF
[batch]
name = fleet-sum
interval = ${TICK_MS}ms
consecutive = 2

[target fleet]
promql = sum(oombreaker_memory_working_set_bytes{batch="fleet-b"})
prometheus = $prom
memory_limit = 768MiB

[rule budget]
memory_bytes_above = 150MiB
EOF

pids=()
node_start() {
	local k=$1
	shift
	spawn "agent$k" "$OOMBREAKER" run --policy-dir "$TEST_TMP/policies" "$@" \
		--state-dir "$TEST_TMP/state$k" --socket "$TEST_TMP/agent$k.sock" \
		--listen "127.0.0.1:${ports[k]}" --cgroup-root "$(cg_path "node$k")"
	pids[k]=$SPAWN_PID
	wait_until 10 eval "curl -sf -o /dev/null http://127.0.0.1:${ports[k]}/healthz || ! _group_alive ${pids[k]}" ||
		true
	curl -sf -o /dev/null "http://127.0.0.1:${ports[k]}/healthz" ||
		fail "agent $k did not start: $(tail -n 5 "$TEST_TMP/agent$k.log")"
}
node_start 1 --policy "$TEST_TMP/fleet-sum.ini" --trace "$TEST_TMP/trace1.jsonl"
node_start 2
node_start 3

# status_of K BATCH: agent K's status of BATCH (status exits 2 on a trip: the JSON is what counts).
status_of() { "$OOMBREAKER" status "$2" --json --socket "$TEST_TMP/agent$1.sock" || true; }

# 1. The gate, started while the fleet is healthy.
"$OOMBREAKER" wait --prometheus "$prom" --batch fleet-a --min-nodes 3 --stale-after 3s \
	--timeout 90s >"$TEST_TMP/gate-a.out" 2>&1 &
gate=$!
three_armed() { grep -q "3 nodes (expected 3)\(, 127.0.0.1:[0-9]* armed\)\{3\}$" "$TEST_TMP/gate-a.out"; }
wait_until 60 three_armed || fail "the gate never saw three armed nodes: $(cat "$TEST_TMP/gate-a.out")"
log "gate: $(tail -n 1 "$TEST_TMP/gate-a.out")"
sum_armed() { status_of 1 fleet-sum | jq -e '.phase == "armed" and ([.. | .working_set? // empty] | length) > 0' >/dev/null; }
wait_until 30 sum_armed || fail "fleet-sum never armed with a working set: $(status_of 1 fleet-sum)"
log "fleet-sum armed below its budget: $(status_of 1 fleet-sum | jq -c '[.. | .working_set? // empty][0]')"

# Node 3's canary leaks 4 MiB every 100 ms, up to 200 MiB (beyond half its limit).
cg_spawn node3/canary leak3 "$PYTHON" -c 'import time
held = []
while True:
    if len(held) < 50:
        held.append(b"\x01" * (4 << 20))
    time.sleep(0.1)'

rc=0
wait "$gate" || rc=$?
t_gate=$(date +%s.%N)
cat "$TEST_TMP/gate-a.out" >&2
[ "$rc" = 2 ] || fail "the gate exited $rc, not 2 (tripped)"
grep -q "127.0.0.1:${ports[3]} \(tripped\|rolled_back\|failed\)" "$TEST_TMP/gate-a.out" ||
	fail "the gate did not name node 3 as tripped"
t_trip=$(recv_requests /rollback | jq -r '.[0].time // empty')
[ -n "$t_trip" ] || fail "no rollback reached the receiver"
ms=$(awk -v a="$t_trip" -v b="$t_gate" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
log "the gate said tripped $ms ms after the rollback left node 3 (limit: one scrape $SCRAPE_MS ms + one tick $TICK_MS ms = $LIMIT_MS ms)"
[ "$ms" -le "$LIMIT_MS" ] || fail "the gate took $ms ms after the trip (limit $LIMIT_MS ms)"
effects=$(recv_requests /rollback | jq '[.[] | select(.effect == true)] | length')
[ "$effects" = 1 ] || fail "$effects rollback effects at the receiver, not 1: $(recv_requests /rollback)"
log "the receiver has exactly one rollback effect ($(recv_count /rollback) request(s))"

# 2. The promql target: the sum of the three nodes passes the 150 MiB budget.
sum_tripped() { status_of 1 fleet-sum | jq -e '.phase == "tripped" or .phase == "rolled_back"' >/dev/null; }
wait_until 30 sum_tripped || fail "fleet-sum did not trip: $(status_of 1 fleet-sum)"
status_of 1 fleet-sum | jq -e '.trip.instance == "fleet" and .trip.rule == "budget"' >/dev/null ||
	fail "fleet-sum tripped for another reason: $(status_of 1 fleet-sum | jq -c .trip)"
log "fleet-sum tripped: $(status_of 1 fleet-sum | jq -c '.trip.conditions')"
# Its trace holds the sums (as memory.current), and replay reaches the same verdict.
jq -se '[.[] | select(.batch == "fleet-sum" and .memory.current > 0)] | length > 0' \
	"$TEST_TMP/trace1.jsonl" >/dev/null || fail "the trace has no fleet-sum working set"
jq -c 'select(.batch == "fleet-sum")' "$TEST_TMP/trace1.jsonl" >"$TEST_TMP/fleet-sum.jsonl"
rc=0
"$OOMBREAKER" replay "$TEST_TMP/fleet-sum.ini" --trace "$TEST_TMP/fleet-sum.jsonl" >"$TEST_TMP/replay.out" 2>&1 ||
	rc=$?
[ "$rc" = 2 ] || fail "replay of the fleet-sum trace exited $rc, not 2: $(cat "$TEST_TMP/replay.out")"
log "replay of the fleet-sum trace: tripped, as live"

# 3. Agent 2 stops: the gate on the healthy batch reports it missing and never says healthy.
spawn_kill "${pids[2]}" 5 || fail "agent 2 did not stop cleanly"
rc=0
"$OOMBREAKER" wait --prometheus "$prom" --batch fleet-b --min-nodes 3 --stale-after 3s \
	--bake 5s --timeout 10s >"$TEST_TMP/gate-b.out" 2>&1 || rc=$?
cat "$TEST_TMP/gate-b.out" >&2
[ "$rc" = 124 ] || fail "the gate on fleet-b exited $rc with a node down, not 124"
grep -q "127.0.0.1:${ports[2]} missing" "$TEST_TMP/gate-b.out" ||
	fail "the gate did not report node 2 (127.0.0.1:${ports[2]}) missing"
log "PASS: tripped in $ms ms, one rollback effect, the promql sum tripped, the stopped node was reported missing"
