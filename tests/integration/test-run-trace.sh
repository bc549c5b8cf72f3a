#!/usr/bin/env bash
# `oombreaker run --trace FILE` (issue 5): on two real cgroups (one holding 80 MiB under 128 MiB,
# one idle), the trace gets exactly one line per instance per tick, ticks `interval` apart;
# `replay` accepts the file and decides like the live run: tripped at the same t_ms, same
# instance, rule, streak and values. A restart appends to the trace and keeps what was there.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "${OOMBREAKER_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/common.sh"
# shellcheck source=../lib/run.sh
source "$SOURCE_DIR/tests/lib/run.sh"

run_test_setup
quiet=$(cg_create quiet 128MiB)
cg_spawn quiet quiet sleep 600
hog_start hog 128MiB 80
policy_write "$TEST_TMP/p.ini" b1 200ms "$(printf '[target quiet]\ncgroup = %s\n' "$quiet")"
trace=$TEST_TMP/trace.jsonl
agent_start agent "$TEST_TMP/p.ini" "$TEST_TMP/state" --trace "$trace"
wait_until 20 state_is b1 tripped || fail "no trip: $(cat "$(state_file b1)" 2>&1)"
ticks_at_least() { [ "$(jq -s 'map(.t_ms) | unique | length' "$trace")" -ge "$1" ]; }
wait_until 10 ticks_at_least 6 || fail "fewer than 6 ticks traced"
agent_stop
state=$(cat "$(state_file b1)")

# One line per instance per tick, ticks 200 ms apart (±50 %: this checks the shape, not timing).
jq -s -e '
	group_by(.t_ms) | all(length == 2 and (map(.instance) | sort) == ["canary-1", "quiet"]
		and all(.batch == "b1" and (.memory.current > 0)))' "$trace" >/dev/null ||
	fail "not one line per instance per tick: $(head -c 2000 "$trace")"
jq -s -e '[.[] | .t_ms] | . == sort' "$trace" >/dev/null || fail "t_ms not in order"
jq -s -e '[.[] | .t_ms] | unique as $t | all(range(1; $t | length); ($t[.] - $t[. - 1]) as $d
	| $d >= 100 and $d <= 300)' "$trace" >/dev/null || fail "ticks not 200 ms apart"

rc=0
"$OOMBREAKER" replay "$TEST_TMP/p.ini" --trace "$trace" --json >"$TEST_TMP/replay.json" 2>"$TEST_TMP/replay.err" || rc=$?
[ "$rc" = 2 ] || fail "replay exited $rc, want 2 (tripped): $(cat "$TEST_TMP/replay.err")"
jq -e --argjson st "$state" '
	.verdict == "tripped" and .trip.t_ms == $st.trip.t_ms
	and .trip.instance == "canary-1" and .trip.rule == "ratio"
	and .trip.consecutive == $st.trip.reason.consecutive and .trip.limit == 3
	and (.trip.conditions | length) == 1
	and ((.trip.conditions[0].value - $st.trip.reason.conditions[0].value) | fabs) < 1e-9
	and [.transitions[] | .to] == ["breaching", "tripped"]
	and .transitions[-1].t_ms == $st.trip.t_ms' "$TEST_TMP/replay.json" >/dev/null ||
	fail "replay decides differently: $(cat "$TEST_TMP/replay.json") vs the live $(jq -c .trip <<<"$state")"
echo "live and replay both tripped at t_ms $(jq .trip.t_ms <<<"$state")"

# A restart appends: the first run's lines stay as they were.
cp "$trace" "$TEST_TMP/first.jsonl"
n=$(wc -l <"$trace")
agent_start agent2 "$TEST_TMP/p.ini" "$TEST_TMP/state" --trace "$trace"
wait_until 10 eval '[ "$(wc -l <"$trace")" -ge $((n + 4)) ]' || fail "the restart did not append"
agent_stop
head -n "$n" "$trace" | cmp -s - "$TEST_TMP/first.jsonl" || fail "the restart rewrote the trace"
echo "PASS"
