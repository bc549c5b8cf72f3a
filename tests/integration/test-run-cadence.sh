#!/usr/bin/env bash
# `oombreaker run` keeps its tick cadence while a webhook hangs (issue 5, must show 3d): the
# receiver accepts the traffic cut and never answers; during the hang (the action's timeout is
# 20 s) the trace (--trace, one line per tick for one instance) gets a line every 500 ms, each
# spacing within ±10 % of the interval, and the control socket answers `status` at once.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "${OOMBREAKER_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/common.sh"
# shellcheck source=../lib/run.sh
source "$SOURCE_DIR/tests/lib/run.sh"

interval_ms=500
hang_ticks=12

run_test_setup
hog_start hog 128MiB 80
receiver_start recv --script '/drain=hang'
policy_write "$TEST_TMP/p.ini" b1 "${interval_ms}ms" \
	"$(http_action drain "http://127.0.0.1:$RECEIVER_PORT/drain" "timeout = 20s" "retries = 0")"
trace=$TEST_TMP/trace.jsonl
agent_start agent "$TEST_TMP/p.ini" "$TEST_TMP/state" --trace "$trace"

wait_until 20 test -s "$RECEIVER_LOG" || fail "the traffic cut never reached the receiver"
jq -e '.path == "/drain" and .answer == "hang"' "$RECEIVER_LOG" >/dev/null || fail "not the hang: $(cat "$RECEIVER_LOG")"
first=$(wc -l <"$trace")
trace_has() { [ "$(wc -l <"$trace")" -ge "$1" ]; }

# The control socket answers while the webhook hangs.
t0=$EPOCHREALTIME
status=$(agent_status b1) || [ $? = 2 ] || fail "status failed during the hang"
t1=$EPOCHREALTIME
jq -e '.phase == "tripped" and .actions[0].status == "in_progress"' <<<"$status" >/dev/null ||
	fail "status during the hang: $status"
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 1.0) }' || fail "status took $t0 → $t1 during the hang"

wait_until 20 trace_has $((first + hang_ticks)) ||
	fail "only $(($(wc -l <"$trace") - first)) ticks in the hang, want $hang_ticks"
# The webhook still hangs: one request, the action still in flight.
jq -e '.actions[0] | .status == "in_progress" and .attempts == 1' "$(state_file b1)" >/dev/null ||
	fail "the drain is not in flight any more: $(cat "$(state_file b1)")"
[ "$(wc -l <"$RECEIVER_LOG")" = 1 ] || fail "more than one request: $(cat "$RECEIVER_LOG")"

# Spacing of consecutive ticks from just before the hang on.
tail -n +"$first" "$trace" | jq -s -r --argjson iv "$interval_ms" '
	[.[].t_ms] as $t | [range(1; $t | length) | $t[.] - $t[. - 1]] as $d
	| "ticks \($t | length), spacing min \($d | min) max \($d | max) mean \(($d | add) / ($d | length))",
	  (if all($d[]; . >= 0.9 * $iv and . <= 1.1 * $iv) then empty
	   else "BAD: spacings \($d)" end)' | tee "$TEST_TMP/cadence.txt"
! grep -q BAD "$TEST_TMP/cadence.txt" || fail "a tick drifted by more than 10 % during the hang"
agent_stop
echo "PASS"
