#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Logging to the journal: with stderr connected to the journal (JOURNAL_STREAM names stderr's
# device and inode, as systemd sets it), `oombreaker run` sends native journal entries with
# PRIORITY and the OOMBREAKER_* fields instead of writing stderr. No journald runs here, so the
# test mounts a tmpfs on /run in a private mount namespace and puts a fake one
# (tests/tools/fake-journald.py) on /run/systemd/journal/socket; the agent trips a batch and
# the entries must carry OOMBREAKER_BATCH (every batch line), OOMBREAKER_TARGET, OOMBREAKER_RULE
# and OOMBREAKER_PHASE (the trip), OOMBREAKER_ACTION (the action's lines), while stderr stays
# empty of them. Without a matching JOURNAL_STREAM the same lines are plain text, no "<N>".
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
need_root "a private mount namespace with a fake journald on /run"
need_cmd curl jq python3 unshare
if [ -z "${OOMBREAKER_IN_NS:-}" ]; then
	unshare -m --propagation private true 2>/dev/null || skip "cannot create a mount namespace"
	OOMBREAKER_IN_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
mount -t tmpfs tmpfs /run || skip "cannot mount a tmpfs on /run in the namespace"
mkdir -p /run/systemd/journal

# shellcheck source-path=SCRIPTDIR source=../lib/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/agent.sh"
tmpdir_setup
journal=$TEST_TMP/journal.jsonl
: >"$journal"
spawn journald python3 "$SOURCE_DIR/tests/tools/fake-journald.py" /run/systemd/journal/socket "$journal"
wait_until 10 test -S /run/systemd/journal/socket || fail "the fake journald did not bind"

receiver_start recv
agent_fixture
agent_policy "$TEST_TMP/b1.ini" b1 200ms 0.9 "http://127.0.0.1:$RECEIVER_PORT/rollback"
: >"$TEST_TMP/agent.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$TEST_TMP/agent.log")
export JOURNAL_STREAM
agent_start --policy "$TEST_TMP/b1.ini"
agent_set_ratio high
wait_until 10 agent_phase_is b1 rolled_back || fail "no rollback: $(agent_phase b1)"
entry() { jq -sc "map(select($1)) | first // empty" "$journal"; }
wait_until 5 eval '[ -n "$(entry ".MESSAGE | test(\"rolled_back\")")" ]' ||
	fail "no rolled_back entry in the journal: $(tail -n 5 "$journal")"

trip=$(entry '.MESSAGE | test("^batch b1 TRIPPED")')
[ -n "$trip" ] || fail "no trip entry: $(cat "$journal")"
jq -e '.PRIORITY == "3" and .SYSLOG_IDENTIFIER == "oombreaker" and .OOMBREAKER_BATCH == "b1"
	and .OOMBREAKER_TARGET == "canary-1" and .OOMBREAKER_RULE == "mem"
	and .OOMBREAKER_PHASE == "tripped" and (has("OOMBREAKER_ACTION") | not)' <<<"$trip" >/dev/null ||
	fail "the trip entry lacks its fields: $trip"
done_=$(entry '.MESSAGE | test("action rollback done")')
jq -e '.PRIORITY == "5" and .OOMBREAKER_BATCH == "b1" and .OOMBREAKER_ACTION == "rollback"' \
	<<<"$done_" >/dev/null || fail "the action entry lacks its fields: $done_"
jq -se 'map(select(.MESSAGE | startswith("batch b1"))) | length > 3 and
	all(.OOMBREAKER_BATCH == "b1")' "$journal" >/dev/null ||
	fail "a batch line without OOMBREAKER_BATCH: $(cat "$journal")"
! grep -q 'TRIPPED' "$AGENT_LOG" || fail "the trip went to stderr too: $(cat "$AGENT_LOG")"
spawn_kill "$AGENT_PID"
log "journal: $trip"

# Stderr is not the journal stream: plain lines, no "<N>" prefix, nothing sent to the journal.
n=$(wc -l <"$journal")
rm -rf "$TEST_TMP/state" "$TEST_TMP/ctl.sock"
agent_set_ratio low
JOURNAL_STREAM=1:1 agent_start --policy "$TEST_TMP/b1.ini"
wait_until 5 agent_log_has '^batch b1: armed from ' ||
	fail "no plain 'armed' line: $(head -n 5 "$AGENT_LOG")"
! grep -q '^<[0-9]>' "$AGENT_LOG" || fail "a <N> prefix on stderr: $(head -n 5 "$AGENT_LOG")"
[ "$(wc -l <"$journal")" = "$n" ] || fail "lines went to the journal: $(tail -n +"$((n + 1))" "$journal")"
log "plain: $(grep -m1 'armed from' "$AGENT_LOG")"
