#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# time_to_limit_below live, then replayed (issue 16): an agent on a fixture cgroup copy whose
# memory.current climbs ~80 MiB/s towards its 2 GiB limit, interval 500ms, a forecast rule only.
# It must warm up first (status: forecast "warming up", time_to_limit_ms null), then trip on the
# forecast. Then `replay` of its trace with the same policy must trip at the same tick with the
# same predicted time, which is also the time the trace line of that tick carries: replay
# rebuilds the forecast from the traced samples exactly.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/agent.sh"
need_cmd curl jq
tmpdir_setup

agent_fixture
cat >"$TEST_TMP/fc.ini" <<'INI'
[batch]
name = fc
interval = 500ms
consecutive = 2
forecast_window = 1m

[target canary-1]
cgroup = /system.slice/order-canary@1.service

[rule leak]
time_to_limit_below = 30s
INI
# The working set starts at 0.9 GiB (memory.current 1 GiB, 100 MiB inactive file).
printf '%s\n' 1073741824 | dd of="$AGENT_CANARY/memory.current" conv=notrunc status=none
agent_start --policy "$TEST_TMP/fc.ini" --trace "$TEST_TMP/trace.jsonl"
wait_until 5 eval 'agent_status_json fc | jq -e ".instances[0].forecast" >/dev/null' ||
	fail "no forecast in the status: $(agent_status_json fc)"
agent_status_json fc | jq -e '.instances[0] | .forecast == "warming up" and .time_to_limit_ms == null' >/dev/null ||
	fail "not warming up at the start: $(agent_status_json fc)"
"$BIN" status --socket "$AGENT_SOCK" fc | grep -q 'limit: warming up' ||
	fail "status does not say it is warming up: $("$BIN" status --socket "$AGENT_SOCK" fc)"

# The leak: 40 MiB every 0.5 s, ten digits throughout so the file is rewritten in place.
# shellcheck disable=SC2016 # expanded by the inner bash
spawn writer bash -c 'v=1073741824
	while [ "$v" -lt 2100000000 ]; do
		v=$((v + 41943040))
		printf "%s\n" "$v" | dd of="$1/memory.current" conv=notrunc status=none
		sleep 0.5
	done' writer "$AGENT_CANARY"
writer=$SPAWN_PID
wait_until 30 agent_phase_is fc tripped || fail "no trip on the forecast: $(agent_status_json fc)"
spawn_kill "$writer" || true
agent_status_json fc >"$TEST_TMP/live.json"
spawn_kill "$AGENT_PID"

jq -e '.trip.rule == "leak" and .trip.conditions[0].metric == "time_to_limit"' "$TEST_TMP/live.json" >/dev/null ||
	fail "the trip is not the forecast's: $(jq -c .trip "$TEST_TMP/live.json")"
live_t=$(jq '.trip.t_ms' "$TEST_TMP/live.json")
live_v=$(jq '.trip.conditions[0].value' "$TEST_TMP/live.json")
traced_v=$(jq -s --argjson t "$live_t" 'map(select(.t_ms == $t)) | .[0].forecast.time_to_limit_ms' "$TEST_TMP/trace.jsonl")
[ "$traced_v" = "$live_v" ] || fail "the trace line of the trip says $traced_v ms, the trip $live_v ms"
jq -se 'any(.forecast.state == "warming up") and any(.forecast.state == "rising" and .forecast.window.n >= 4)' \
	"$TEST_TMP/trace.jsonl" >/dev/null || fail "the trace lacks the forecast's warm-up or its fit"

rc=0
"$BIN" replay "$TEST_TMP/fc.ini" --trace "$TEST_TMP/trace.jsonl" --json >"$TEST_TMP/replay.json" || rc=$?
[ "$rc" = 2 ] || fail "replay exited $rc, want 2 (tripped)"
[ "$(jq '.trip.t_ms' "$TEST_TMP/replay.json")" = "$live_t" ] ||
	fail "replay trips at $(jq '.trip.t_ms' "$TEST_TMP/replay.json"), the agent at $live_t"
[ "$(jq '.trip.conditions[0].value' "$TEST_TMP/replay.json")" = "$live_v" ] ||
	fail "replay predicts $(jq '.trip.conditions[0].value' "$TEST_TMP/replay.json") ms, the agent $live_v ms"
log "tripped at t_ms=$live_t with $live_v ms to the limit; the trace and replay agree"
