#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Every JSON output against docs/json.md, field by field (tests/tools/json-schema-check.py reads
# the doc's tables): an agent on a fixture cgroup copy, --log-format=json and --trace, trips a
# batch and rolls back; then `status --json` (all, and one batch), GET /status, `status --json`
# from the state directory with no daemon, `replay --json` of the trace, every log line, and
# the webhook envelope the rollback sent (as the loopback receiver got it) must match the tables: each member documented with its type (whole numbers as integers, not
# 54013952.0), each required member there, "schema": 1 at the top. The policy directory holds an
# invalid file too, so both live status outputs carry policy_errors, with the same members.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/agent.sh"
need_cmd curl jq python3
tmpdir_setup

doc=$SOURCE_DIR/docs/json.md
# conforms KIND FILE: FILE's JSON matches the KIND tables of docs/json.md and has schema 1.
conforms() {
	python3 "$TOOLS_DIR/json-schema-check.py" "$doc" "$1" "$2" || fail "$1 output differs from docs/json.md: $(head -c 600 "$2")"
	jq -se 'all(.schema == 1)' "$2" >/dev/null || fail "$1 output without \"schema\": 1"
}

receiver_start recv
agent_fixture
mkdir "$TEST_TMP/pol"
agent_policy "$TEST_TMP/pol/b1.ini" b1 200ms 0.9 "http://127.0.0.1:$RECEIVER_PORT/rollback"
# A forecast rule too, so status shows time_to_limit_ms and forecast (it never breaches here).
printf '\n[rule fc]\ntime_to_limit_below = 30s\n' >>"$TEST_TMP/pol/b1.ini"
printf '[batch]\nname = bad\ninterval = soon\n' >"$TEST_TMP/pol/bad.ini"
agent_start --policy-dir "$TEST_TMP/pol" --log-format=json --trace "$TEST_TMP/trace.jsonl"
wait_until 5 agent_log_has '"message":"oombreaker running' || fail "no JSON start line"
"$BIN" status --socket "$AGENT_SOCK" --json b1 >"$TEST_TMP/armed.json" || true
conforms batch "$TEST_TMP/armed.json"
jq -e '.instances[0] | has("time_to_limit_ms") and .forecast == "warming up"' "$TEST_TMP/armed.json" >/dev/null ||
	fail "no forecast in the status: $(cat "$TEST_TMP/armed.json")"
agent_set_ratio high
wait_until 10 agent_phase_is b1 rolled_back || fail "no rollback: $(agent_phase b1)"

# The default body of the rollback, as it reached the receiver.
jq -c 'select(.path == "/rollback") | .json' "$RECEIVER_LOG" >"$TEST_TMP/envelope.jsonl"
[ -s "$TEST_TMP/envelope.jsonl" ] || fail "the receiver got no rollback: $(cat "$RECEIVER_LOG")"
conforms envelope "$TEST_TMP/envelope.jsonl"
jq -se 'all(.batch == "b1" and .action == "rollback" and .reason.rule == "mem")' \
	"$TEST_TMP/envelope.jsonl" >/dev/null || fail "not b1's rollback: $(cat "$TEST_TMP/envelope.jsonl")"

"$BIN" status --socket "$AGENT_SOCK" --json >"$TEST_TMP/status.json" || true
conforms status "$TEST_TMP/status.json"
jq -e '.batches[0].trip.conditions[0].threshold | type == "number"' "$TEST_TMP/status.json" >/dev/null ||
	fail "no trip condition in the status"
"$BIN" status --socket "$AGENT_SOCK" --json b1 >"$TEST_TMP/b1.json" || true
conforms batch "$TEST_TMP/b1.json"
curl -sf --max-time 2 "$AGENT_URL/status" >"$TEST_TMP/http.json"
conforms status "$TEST_TMP/http.json"
for f in status http; do
	jq -e '.policy_errors | length == 1 and (.[0] | test("/bad\\.ini:3: "))' "$TEST_TMP/$f.json" >/dev/null ||
		fail "$f.json: no policy_errors for bad.ini: $(cat "$TEST_TMP/$f.json")"
done
[ "$(jq -c keys "$TEST_TMP/status.json")" = "$(jq -c keys "$TEST_TMP/http.json")" ] ||
	fail "status --json has $(jq -c keys "$TEST_TMP/status.json"), GET /status $(jq -c keys "$TEST_TMP/http.json")"
grep -q '"limit":2147483648[,}]' "$TEST_TMP/http.json" || fail "the limit is not an integer: $(cat "$TEST_TMP/http.json")"
spawn_kill "$AGENT_PID"

grep '^{' "$AGENT_LOG" >"$TEST_TMP/log.jsonl"
[ "$(grep -c . "$AGENT_LOG")" = "$(grep -c . "$TEST_TMP/log.jsonl")" ] ||
	fail "a log line that is not JSON: $(grep -v '^{' "$AGENT_LOG" | head -n 3)"
conforms log "$TEST_TMP/log.jsonl"
jq -se 'any(.batch == "b1" and .target == "canary-1" and .rule == "mem" and .phase == "tripped")
	and any(.action == "rollback")' "$TEST_TMP/log.jsonl" >/dev/null ||
	fail "the trip and action lines lack their fields: $(grep -E 'TRIPPED|rollback' "$TEST_TMP/log.jsonl")"

"$BIN" status --state-dir "$AGENT_STATE" --socket "$TEST_TMP/none.sock" --json >"$TEST_TMP/offline.json" || true
conforms status "$TEST_TMP/offline.json"

rc=0
"$BIN" replay "$TEST_TMP/pol/b1.ini" --trace "$TEST_TMP/trace.jsonl" --json >"$TEST_TMP/replay.json" || rc=$?
[ "$rc" = 2 ] || fail "replay exited $rc, want 2 (tripped)"
conforms replay "$TEST_TMP/replay.json"

# The checker itself: a real written as 1.0, an undocumented member, a missing one all fail.
jq -c '.batches[0].interval_ms = 200.5' "$TEST_TMP/status.json" >"$TEST_TMP/bad1.json"
jq -c '.batches[0].trip_ids = .batches[0].trip_id | del(.batches[0].trip_id)' "$TEST_TMP/status.json" >"$TEST_TMP/bad2.json"
for f in bad1 bad2; do
	! python3 "$TOOLS_DIR/json-schema-check.py" "$doc" status "$TEST_TMP/$f.json" >/dev/null ||
		fail "the checker accepts $f.json"
done
# The envelope: a renamed member and a retyped one fail as well.
head -n 1 "$TEST_TMP/envelope.jsonl" | jq -c '.host_name = .host | del(.host)' >"$TEST_TMP/bad4.json"
head -n 1 "$TEST_TMP/envelope.jsonl" | jq -c '.traffic_percent |= tostring' >"$TEST_TMP/bad5.json"
for f in bad4 bad5; do
	! python3 "$TOOLS_DIR/json-schema-check.py" "$doc" envelope "$TEST_TMP/$f.json" >/dev/null ||
		fail "the checker accepts $f.json"
done
sed 's/"limit":2147483648/"limit":2147483648.0/' "$TEST_TMP/http.json" >"$TEST_TMP/bad3.json"
! python3 "$TOOLS_DIR/json-schema-check.py" "$doc" status "$TEST_TMP/bad3.json" >/dev/null ||
	fail "the checker accepts 2147483648.0 for an integer"
log "status, batch, offline status, replay, the webhook envelope and $(wc -l <"$TEST_TMP/log.jsonl") log lines match docs/json.md"
