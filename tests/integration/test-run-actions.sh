#!/usr/bin/env bash
# `oombreaker run` on a real memory cgroup (a process holding 80 MiB under a 128 MiB limit, so
# memory_ratio_above = 0.5 trips after 3 ticks of 300 ms) against a real HTTP receiver on loopback:
#  (a) the trip sends the traffic cut (/drain), then the rollback (/rollback), each once, with the
#      default envelope, Idempotency-Key <batch>:<release>:<generation>:<action> and the bearer token of a 0600
#      token_file; the token appears nowhere in the agent's log, status, state file or trace;
#  (b) 503 three times then 200: each action is done after 4 attempts, with one key and one body,
#      the retries backed off (>= 0.5 s, 1 s, 2 s: 1 s doubling, jitter in [d/2, d]);
#  (c) 503 for good (retries = 1): the traffic cut fails after 2 attempts, and the rollback goes
#      out all the same (on_failure = continue, the default); the phase is `failed` and status,
#      the state file and /metrics show the cut as failed, the rollback as done;
#  (d) 400 on a cut that is a gate (on_failure = stop): it fails after 1 attempt, the phase is
#      `failed`, no rollback is sent.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "${OOMBREAKER_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/common.sh"
# shellcheck source=../lib/run.sh
source "$SOURCE_DIR/tests/lib/run.sh"

run_test_setup
hog_start hog 128MiB 80
token=secret-$RANDOM$RANDOM-$$
printf '%s\n' "$token" >"$TEST_TMP/ci.token"
chmod 0600 "$TEST_TMP/ci.token"

# start_case NAME [receiver options...]: a receiver and an agent with a fresh state dir whose
# policy has the two http actions (token and all) aimed at that receiver; DRAIN holds the drain's
# keys (default retries = 5), LISTEN the agent's --listen (default none).
start_case() {
	local name=$1
	shift
	receiver_start "recv-$name" "$@"
	local url=http://127.0.0.1:$RECEIVER_PORT
	policy_write "$TEST_TMP/$name.ini" b1 300ms \
		"$(http_action drain "$url/drain" "token_file = $TEST_TMP/ci.token" "${DRAIN:-retries = 5}")" \
		"$(http_action rollback "$url/rollback" "token_file = $TEST_TMP/ci.token" "retries = 5")"
	agent_start "agent-$name" "$TEST_TMP/$name.ini" "$TEST_TMP/state-$name" \
		--trace "$TEST_TMP/$name.trace" --listen "${LISTEN:-none}"
}

# expect JQ_FILTER JSON WHAT: fails with WHAT and the JSON unless the filter yields true.
expect() {
	jq -e "$1" <<<"$2" >/dev/null || fail "$3: $(jq -c . <<<"$2" | head -c 3000)"
}

echo "== (a) a trip sends the traffic cut, then the rollback, with envelope, key and token"
start_case a
wait_until 20 state_is b1 rolled_back || fail "(a) not rolled_back: $(cat "$(state_file b1)")"
state=$(cat "$(state_file b1)")
reqs=$(recv_requests)
trip_id=$(jq -r .trip.id <<<"$state")
expect '[.[].path] == ["/drain", "/rollback"]' "$reqs" "(a) want /drain then /rollback, once each"
expect '.[0].answer == 200 and .[0].seq < .[1].seq' "$reqs" "(a) the rollback came before the cut was done"
host=$(hostname)
for i in 0 1; do
	r=$(jq -c ".[$i]" <<<"$reqs")
	action=$(jq -r '.path | ltrimstr("/")' <<<"$r")
	jq -e --arg id "$trip_id" --arg a "$action" --arg host "$host" --arg tok "$token" \
		--argjson st "$state" '
		.method == "POST"
		and .headers["Idempotency-Key"] == "b1:\($st.release.id):0:\($a)"
		and ($st.release.id | test("^[0-9a-f]{16}$"))
		and .headers.Authorization == "Bearer \($tok)"
		and .headers["Content-Type"] == "application/json"
		and (.json | keys_unsorted) == ["schema", "batch", "phase", "action", "trip_id", "host",
			"image", "stable_image", "traffic_percent", "timestamp", "reason", "release",
			"generation"]
		and .json.schema == 1
		and .json.release == $st.release.id and .json.generation == 0
		and .json.batch == "b1" and .json.phase == "tripped" and .json.action == $a
		and .json.trip_id == $id and .json.host == $host
		and .json.image == "registry.example.com/order-svc:v2.4.1-rc3"
		and .json.stable_image == "registry.example.com/order-svc:v2.4.0"
		and .json.traffic_percent == 5
		and .json.timestamp == $st.trip.time
		and (.json.timestamp | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"))
		and .json.reason.instance == "canary-1" and .json.reason.rule == "ratio"
		and .json.reason.consecutive == 3 and .json.reason.limit == 3
		and (.json.reason.conditions | length) == 1
		and .json.reason.conditions[0].metric == "memory_ratio"
		and .json.reason.conditions[0].threshold == 0.5
		and .json.reason.conditions[0].value > 0.5
		and .json.reason == $st.trip.reason' <<<"$r" >/dev/null ||
		fail "(a) request $i is not as specified: $r"
done
expect '.phase == "rolled_back" and ([.actions[] | [.name, .status, .attempts]] ==
	[["drain", "done", 1], ["rollback", "done", 1]])' "$state" "(a) state file"
status=$(agent_status b1) || true
expect '.phase == "rolled_back" and .trip_id == "'"$trip_id"'"' "$status" "(a) status"
# The daemon's status (JSON and table) and the state-file fallback's.
{
	echo "$status"
	"$OOMBREAKER" status --socket "$AGENT_SOCKET" || true
	"$OOMBREAKER" status b1 --json --state-dir "$AGENT_STATE_DIR" --socket "$TEST_TMP/none.sock" || true
} >"$TEST_TMP/a.status" 2>&1
grep -q rolled_back "$TEST_TMP/a.status" || fail "(a) status: $(cat "$TEST_TMP/a.status")"
for f in "$TEST_TMP/agent-a.log" "$(state_file b1)" "$TEST_TMP/a.trace" "$TEST_TMP/a.status"; do
	! grep -qF "$token" "$f" || fail "(a) the token leaked into $f"
done
grep -qF "action drain: attempt 1 of 6 (Idempotency-Key $(jq -r '.actions[0].key' <<<"$state"))" \
	"$TEST_TMP/agent-a.log" ||
	fail "(a) no log line for the drain attempt"
agent_stop
spawn_kill "$RECEIVER_PID"

echo "== (b) 503, 503, 503, 200: each action done once, after 4 attempts, one key, one body"
start_case b --script '/drain=503,503,503,200' --script '/rollback=503,503,503,200'
wait_until 60 state_is b1 rolled_back || fail "(b) not rolled_back: $(cat "$(state_file b1)")"
state=$(cat "$(state_file b1)")
trip_id=$(jq -r .trip.id <<<"$state")
expect '[.actions[] | [.name, .status, .attempts]] == [["drain", "done", 4], ["rollback", "done", 4]]' \
	"$state" "(b) state file"
reqs=$(recv_requests)
expect '[.[].path] == ["/drain", "/drain", "/drain", "/drain",
	"/rollback", "/rollback", "/rollback", "/rollback"]' "$reqs" "(b) want 4 drains, then 4 rollbacks"
for a in drain rollback; do
	r=$(jq -c --arg p "/$a" '[.[] | select(.path == $p)]' <<<"$reqs")
	expect '[.[].answer] == [503, 503, 503, 200]' "$r" "(b) $a answers"
	key=$(jq -r --arg a "$a" '.actions[] | select(.name == $a) | .key' <<<"$state")
	expect '([.[].headers["Idempotency-Key"]] | unique) == ["'"$key"'"]' "$r" "(b) $a keys"
	expect '([.[].body] | unique | length) == 1' "$r" "(b) $a bodies differ between attempts"
	# Back-off: 1 s doubling, each delay jittered into [d/2, d] (less 20 ms of clock slack).
	expect '[.[].mono_ns] as $t | ($t[1] - $t[0]) >= 480e6 and ($t[2] - $t[1]) >= 980e6
		and ($t[3] - $t[2]) >= 1980e6 and ($t[3] - $t[0]) <= 9e9' "$r" "(b) $a back-off"
done
grep -q "action drain attempt 3 failed: HTTP 503" "$TEST_TMP/agent-b.log" || fail "(b) no retry log line"
agent_stop
spawn_kill "$RECEIVER_PID"

echo "== (c) the cut fails for good: the rollback goes out all the same"
port=$(free_port)
DRAIN="retries = 1" LISTEN=127.0.0.1:$port start_case c --script '/drain=503'
wait_until 20 state_is b1 failed || fail "(c) not failed: $(cat "$(state_file b1)")"
state=$(cat "$(state_file b1)")
expect '[.actions[] | [.name, .status, .attempts]] == [["drain", "failed", 2], ["rollback", "done", 1]]
	and (.actions[0].result | startswith("HTTP 503"))' "$state" "(c) state file"
expect '[.[].path] == ["/drain", "/drain", "/rollback"]' "$(recv_requests)" "(c) requests"
rc=0
agent_status b1 >"$TEST_TMP/c.status" || rc=$?
[ "$rc" = 2 ] || fail "(c) status should exit 2 for failed, not $rc"
expect '.phase == "failed" and ([.actions[] | [.action, .status, .on_failure]] ==
	[["drain", "failed", null], ["rollback", "done", null]])' \
	"$(cat "$TEST_TMP/c.status")" "(c) status"
metrics=$(curl -sf --max-time 5 "http://127.0.0.1:$port/metrics") || fail "(c) no /metrics"
for want in 'action="drain",status="failed"} 1' 'action="rollback",status="done"} 1' \
	'action="drain",status="done"} 0'; do
	grep -qF "oombreaker_action_status{batch=\"b1\",$want" <<<"$metrics" ||
		fail "(c) /metrics lacks $want: $(grep action_status <<<"$metrics")"
done
grep -q "failed: action(s) drain did not succeed" "$TEST_TMP/agent-c.log" || fail "(c) no failed log line"
agent_stop
spawn_kill "$RECEIVER_PID"

echo "== (d) 400 on a gate: the cut fails at once, the phase is failed, no rollback is sent"
DRAIN="on_failure = stop" start_case d --script '/drain=400'
wait_until 20 state_is b1 failed || fail "(d) not failed: $(cat "$(state_file b1)")"
state=$(cat "$(state_file b1)")
expect '.actions[0] | .name == "drain" and .status == "failed" and .attempts == 1
	and .on_failure == "stop" and (.result | startswith("HTTP 400"))' "$state" "(d) the drain action"
expect '.actions[1] | .name == "rollback" and .status != "done" and .attempts == 0' "$state" \
	"(d) the rollback action"
rc=0
agent_status b1 >"$TEST_TMP/d.status" || rc=$?
[ "$rc" = 2 ] || fail "(d) status should exit 2 for failed, not $rc"
expect '.phase == "failed" and .actions[0].on_failure == "stop"' "$(cat "$TEST_TMP/d.status")" "(d) status"
# Three more ticks go by (the trace shows them) and still nothing else reaches the receiver.
ticks=$(wc -l <"$TEST_TMP/d.trace")
wait_until 5 eval "[ \"\$(wc -l <'$TEST_TMP/d.trace')\" -ge $((ticks + 3)) ]" || fail "(d) the ticks stopped"
expect '[.[].path] == ["/drain"]' "$(recv_requests)" "(d) want the one /drain only"
grep -q "action drain failed after 1 attempt(s): HTTP 400" "$TEST_TMP/agent-d.log" ||
	fail "(d) no log line for the failure"
agent_stop
echo "PASS"
