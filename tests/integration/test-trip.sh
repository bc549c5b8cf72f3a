#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# `oombreaker trip BATCH --reason TEXT`, a manual trip, against a running agent on the v2 fixture
# tree (a healthy canary) and a real HTTP receiver on loopback:
# - it exits 0 with the trip id; the rollback reaches the receiver once, under the trip's
#   Idempotency-Key, with "rule": "manual" and the reason as "text" in the payload's reason;
#   the state file and status show it, and `wait` exits 2;
# - a second trip, and a restart of the agent, send nothing again (exactly once);
# - without --reason, with a reason that is not printable ASCII, or for an unknown batch: exit 1;
#   with no daemon: exit 4.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/agent.sh"
need_cmd curl jq

tmpdir_setup
receiver_start pipeline
agent_fixture
agent_policy "$TEST_TMP/b1.ini" b1 500ms 0.9 "http://127.0.0.1:$RECEIVER_PORT/rollback"
agent_start --policy "$TEST_TMP/b1.ini"
agent_wait_ticks 2 10 || fail "the agent does not tick"
agent_phase_is b1 armed || fail "b1 is not armed before the trip"

rc=0
"$BIN" trip b1 --reason bad >"$TEST_TMP/none.out" 2>&1 --socket "$TEST_TMP/none.sock" || rc=$?
[ "$rc" = 4 ] || fail "trip with no daemon exited $rc, not 4: $(cat "$TEST_TMP/none.out")"
for args in "b1" "b1 --reason $(printf 'tab\there')" "nope --reason x"; do
	rc=0
	# shellcheck disable=SC2086 # the words are the arguments
	"$BIN" trip $args --socket "$AGENT_SOCK" >"$TEST_TMP/bad.out" 2>&1 || rc=$?
	[ "$rc" = 1 ] || fail "trip $args exited $rc, not 1: $(cat "$TEST_TMP/bad.out")"
done
[ "$(curl -sf "http://127.0.0.1:$RECEIVER_PORT/_receiver/requests" | jq length)" = 0 ] ||
	fail "a refused trip sent something"

reason='on-call: heap dump shows a "leak" in v2.4.1'
out=$("$BIN" trip b1 --reason "$reason" --socket "$AGENT_SOCK") || fail "trip exited $?: $out"
trip_id=$(sed -n 's/^b1: [a-z_]*, trip \([A-Za-z0-9-]*\)$/\1/p' <<<"$out")
[ -n "$trip_id" ] || fail "no trip id in: $out"
wait_until 10 agent_phase_is b1 rolled_back || fail "b1 not rolled_back: $(agent_status_json b1)"
reqs=$(curl -sf "http://127.0.0.1:$RECEIVER_PORT/_receiver/requests")
jq -e --arg id "$trip_id" --arg text "$reason" 'length == 1 and .[0].path == "/rollback"
	and (.[0].headers["Idempotency-Key"] | test("^b1:[0-9a-f]{16}:0:rollback$"))
	and .[0].json.trip_id == $id and .[0].json.reason.rule == "manual"
	and .[0].json.reason.instance == "*" and .[0].json.reason.text == $text' <<<"$reqs" >/dev/null ||
	fail "the manual trip's request is not as specified: $reqs"
jq -e --arg text "$reason" '.trip.reason.text == $text and .trip.reason.rule == "manual"' \
	"$AGENT_STATE/b1.json" >/dev/null || fail "state file: $(cat "$AGENT_STATE/b1.json")"
agent_status_json b1 | jq -e --arg text "$reason" '.trip.text == $text' >/dev/null ||
	fail "status: $(agent_status_json b1)"
rc=0
"$BIN" wait b1 --socket "$AGENT_SOCK" >"$TEST_TMP/wait.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "wait after a manual trip exited $rc, not 2"

# Exactly once: a second trip keeps the first, and a restart resends nothing.
out=$("$BIN" trip b1 --reason again --socket "$AGENT_SOCK") || fail "second trip exited $?: $out"
grep -q "trip $trip_id (already tripped" <<<"$out" || fail "second trip: $out"
spawn_kill "$AGENT_PID"
agent_start --policy "$TEST_TMP/b1.ini"
agent_wait_ticks 2 10 || fail "the restarted agent does not tick"
agent_phase_is b1 rolled_back || fail "after the restart: $(agent_status_json b1)"
[ "$(curl -sf "http://127.0.0.1:$RECEIVER_PORT/_receiver/requests" | jq length)" = 1 ] ||
	fail "the manual trip was sent again"
echo PASS
