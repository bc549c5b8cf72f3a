#!/bin/bash
# time_to_limit_below on a real memory cgroup (issue 16): a Python process leaking 4 MiB/s in a
# 128 MiB cgroup with swap off, an agent at interval 1s with two rules: the forecast
# (time_to_limit_below = 30s) and the kernel's own verdict (oom_kills_at_least = 1, one in a
# row, brought forward by the kernel's OOM event). The forecast must trip first: the trip's
# rule is "leak" and the cgroup's OOM kill counter is still 0 then. The leak goes on after the
# trip (nothing is acted on), and the kernel's kill, when it comes, is logged with the lead.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/run.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/run.sh"
run_test_setup

LEAK=$(cg_create leak 128MiB) || fail "cannot create the leak cgroup"
cat >"$TEST_TMP/fc.ini" <<INI
[batch]
name = fc-live
interval = 1s
consecutive = 3

[target canary-1]
cgroup = $LEAK

[rule leak]
time_to_limit_below = 30s

[rule oom]
oom_kills_at_least = 1
consecutive = 1
INI
chmod 0644 "$TEST_TMP/fc.ini"

# oom_kills: the cgroup's OOM kill counter (v1 memory.oom_control, v2 memory.events).
oom_kills() {
	local f=memory.events
	[ "$CG_VERSION" = 2 ] || f=memory.oom_control
	awk '$1 == "oom_kill" { print $2 }' "$(cg_path leak)/$f"
}
[ -n "$(oom_kills)" ] || skip "this kernel's memory cgroup has no oom_kill counter"

agent_start agent "$TEST_TMP/fc.ini" "$TEST_TMP/state" --trace "$TEST_TMP/trace.jsonl"
start_ns=$(date +%s%N)
cg_spawn leak leaker "$PYTHON" -c 'import time
held = []
while True:
    held.append(b"\x01" * (4 << 20))  # touched: charged at once
    time.sleep(1)'
status() { agent_status fc-live || true; } # exits 2 once tripped
tripped() { status | jq -e '.trip != null' >/dev/null; }
wait_until 90 tripped || fail "no trip within 90 s: $(status | jq -c .)"
trip_ns=$(date +%s%N)
kills=$(oom_kills)
status >"$TEST_TMP/trip.json"
rule=$(jq -r .trip.rule "$TEST_TMP/trip.json")
[ "$rule" = leak ] || fail "the trip is rule $rule, not the forecast's: $(jq -c .trip "$TEST_TMP/trip.json")"
[ "$kills" = 0 ] || fail "the kernel had already OOM-killed ($kills) when the forecast tripped"
ttl=$(jq '.trip.conditions[0].value' "$TEST_TMP/trip.json")
log "the forecast tripped $(((trip_ns - start_ns) / 1000000)) ms after the leak began, predicting the limit in $ttl ms"
killed() { [ "$(oom_kills)" -gt 0 ]; }
if wait_until 60 killed; then
	kill_ns=$(date +%s%N)
	log "the kernel OOM-killed the leak $(((kill_ns - trip_ns) / 1000000)) ms after the trip was seen"
else
	log "no OOM kill within 60 s of the trip"
fi
agent_stop
log "PASS: the forecast tripped before the kernel's OOM kill"
