#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Who may change a batch's phase over the control socket (needs root, to act as other users):
# - the socket is mode 0660 root:root, so `nobody` (uid/gid 65534, no supplementary groups)
#   cannot even connect: `reset` exits 1 with "permission denied ... run as root or as a member
#   of the socket's group", and the batch stays rolled_back;
# - with the socket opened to everyone (chmod 0666) the request reaches the daemon, which checks
#   SO_PEERCRED and answers "permission denied: reset needs root or membership in the control
#   socket's group" (reset and promote refused, logged with the uid; status still allowed);
# - root's `reset` re-arms the batch: phase armed, no trip, and it stays armed while healthy;
# - a non-root member of the socket's group (supplementary gid 0) may reset too, also when it
#   is listed after 80 other supplementary groups (more than a fixed 64-entry buffer holds);
#   80 groups without 0 are still refused by the daemon.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/agent.sh"
need_root "running reset as another user"
need_cmd curl jq setpriv
tmpdir_setup
# nobody must reach the socket (and the binary) to be refused by permissions, not by the path.
chmod 0711 "$TEST_TMP"
setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN" --version >/dev/null 2>&1 ||
	skip "user nobody cannot run $BIN (a directory on its path is not traversable)"

nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
group_member=(setpriv --reuid=65534 --regid=65534 --groups=0)
many_groups=$(seq -s, 1000 1079)
many_groups_member=(setpriv --reuid=65534 --regid=65534 "--groups=$many_groups,0")
many_groups_stranger=(setpriv --reuid=65534 --regid=65534 "--groups=$many_groups")

receiver_start pipeline
agent_fixture
agent_policy "$TEST_TMP/b1.ini" b1 500ms 0.9 "http://127.0.0.1:$RECEIVER_PORT/rollback"
agent_start --policy "$TEST_TMP/b1.ini"
[ "$(stat -c '%a %u %g' "$AGENT_SOCK")" = "660 0 0" ] ||
	fail "the control socket is $(stat -c '%a %U:%G' "$AGENT_SOCK"), not 660 root:root"

trip() {
	agent_set_ratio high
	wait_until 10 agent_phase_is b1 rolled_back || fail "no trip within 10 s of raising the ratio"
	agent_set_ratio low
}

# expect_refused NAME PATTERN CMD...: CMD exits 1, its stderr matches PATTERN, b1 stays latched.
expect_refused() {
	local name=$1 pattern=$2 rc=0
	shift 2
	timeout 10 "$@" >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err" || rc=$?
	[ "$rc" = 1 ] || fail "$name: exit $rc, not 1 ($(cat "$TEST_TMP/$name.err"))"
	grep -q -- "$pattern" "$TEST_TMP/$name.err" || fail "$name: message: $(cat "$TEST_TMP/$name.err")"
	agent_phase_is b1 rolled_back || fail "$name: b1 is $(agent_phase b1) after a refused request"
	log "$name: refused: $(cat "$TEST_TMP/$name.err")"
}

trip
# --- nobody, socket 0660: the kernel refuses the connect --------------------------------------
expect_refused nobody-connect \
	"oombreaker reset: permission denied on $AGENT_SOCK: run as root or as a member of the socket's group" \
	"${nobody[@]}" "$BIN" reset b1 --socket "$AGENT_SOCK"

# --- nobody, socket 0666: the daemon refuses --------------------------------------------------
chmod 0666 "$AGENT_SOCK"
expect_refused nobody-reset \
	"oombreaker reset: permission denied: reset needs root or membership in the control socket's group" \
	"${nobody[@]}" "$BIN" reset b1 --socket "$AGENT_SOCK"
expect_refused stranger-reset \
	"oombreaker reset: permission denied: reset needs root or membership in the control socket's group" \
	"${many_groups_stranger[@]}" "$BIN" reset b1 --socket "$AGENT_SOCK"
expect_refused nobody-promote \
	"oombreaker promote: permission denied: promote needs root or membership" \
	"${nobody[@]}" "$BIN" promote b1 --socket "$AGENT_SOCK"
agent_log_has 'control: reset of batch b1 refused for uid 65534' || fail "the refusal is not logged"
rc=0
"${nobody[@]}" "$BIN" status b1 --socket "$AGENT_SOCK" >"$TEST_TMP/nobody-status.out" 2>&1 || rc=$?
{ [ "$rc" = 2 ] && grep -q '^b1: rolled_back$' "$TEST_TMP/nobody-status.out"; } ||
	fail "status as nobody: exit $rc: $(cat "$TEST_TMP/nobody-status.out")"
chmod 0660 "$AGENT_SOCK"

# --- root re-arms -------------------------------------------------------------------------------
out=$(timeout 10 "$BIN" reset b1 --socket "$AGENT_SOCK") || fail "reset as root exited $?"
[[ $out == "b1: armed (the next trip's keys: release "*", generation "[0-9]*")" ]] || fail "reset as root printed '$out'"
agent_status_json b1 | jq -e '.phase == "armed" and .trip == null and .trip_id == null' >/dev/null ||
	fail "after reset: $(agent_status_json b1)"
jq -e '.phase == "armed"' "$AGENT_STATE/b1.json" >/dev/null || fail "the state file is not armed"
agent_log_has 'control: reset of batch b1 requested by uid 0' || fail "the reset is not logged"
# Still armed after a few healthy ticks (the reset is not undone by a stale latch).
agent_wait_ticks 3 5 ||
	fail "the agent stopped ticking after the reset"
agent_phase_is b1 armed || fail "b1 is $(agent_phase b1) three ticks after the reset"

# --- a member of the socket's group re-arms too -----------------------------------------------
trip
out=$(timeout 10 "${group_member[@]}" "$BIN" reset b1 --socket "$AGENT_SOCK") ||
	fail "reset by a member of the socket's group exited $?"
[[ $out == "b1: armed (the next trip's keys: release "*", generation "[0-9]*")" ]] || fail "reset by a group member printed '$out'"
agent_phase_is b1 armed || fail "b1 is $(agent_phase b1) after the group member's reset"

# --- ... also with 80 other supplementary groups listed before it ---------------------------
trip
out=$(timeout 10 "${many_groups_member[@]}" "$BIN" reset b1 --socket "$AGENT_SOCK") ||
	fail "reset by a group member with 81 supplementary groups exited $?"
[[ $out == "b1: armed (the next trip's keys: release "*", generation "[0-9]*")" ]] || fail "reset by a group member with 81 groups printed '$out'"
agent_phase_is b1 armed || fail "b1 is $(agent_phase b1) after the reset by a member with 81 groups"
[ "$(jq -s '[.[] | select(.path == "/rollback") | .headers["Idempotency-Key"]] | unique | length' \
	"$RECEIVER_LOG")" = 3 ] || fail "expected three rollbacks with distinct idempotency keys"
log "root and a group member re-armed b1; nobody was refused twice (connect, then the daemon)"
