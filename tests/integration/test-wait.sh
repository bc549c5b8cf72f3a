#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# `oombreaker wait`, the pipeline gate, against a running agent on a fixture cgroup copy:
# - a healthy batch (interval 500 ms) with --bake 3s exits 0 after 2.5–5 s, saying so;
# - --timeout 1s on a batch without a verdict exits 124 after about a second;
# - an unknown batch exits 1 at once, naming it;
# - a promotion ends a wait without --bake with 0;
# - a batch that trips (interval 1 s) exits 2 within one interval of the trip (the moment the
#   rollback reached the receiver), after a progress line per change and the trip reason;
# - with no daemon (no socket file, or a stale one) it exits 4 at once with a clear message;
# - the agent killed during a bake: the bake clock stops while it is down (wait --bake 3s takes
#   the down time longer), and an agent that stays down past --timeout gives exit 4, not 124.
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
agent_policy "$TEST_TMP/b2.ini" b2 1s 0.9 "http://127.0.0.1:$RECEIVER_PORT/rollback"
agent_start --policy "$TEST_TMP/b1.ini" --policy "$TEST_TMP/b2.ini"

# timed NAME CMD...: runs CMD under `timeout 10` (a hang fails, never blocks the test), its
# stdout in $TEST_TMP/NAME.out and stderr in NAME.err; sets RC and MS (elapsed milliseconds).
timed() {
	local name=$1 t0
	shift
	t0=$(_now_us)
	RC=0
	timeout 10 "$@" >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err" || RC=$?
	MS=$((($(_now_us) - t0) / 1000))
	log "$name: exit $RC after $MS ms"
}
between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

# --- healthy for the bake time ------------------------------------------------------------
timed bake "$BIN" wait b1 --bake 3s --socket "$AGENT_SOCK"
[ "$RC" = 0 ] || fail "wait --bake 3s on a healthy batch exited $RC: $(cat "$TEST_TMP/bake.err")"
between "$MS" 2500 5000 || fail "wait --bake 3s took $MS ms, not 2.5–5 s"
grep -qx 'b1: armed' "$TEST_TMP/bake.out" || fail "no progress line: $(cat "$TEST_TMP/bake.out")"
grep -Eqx 'b1: healthy for [0-9]+ ms of observed ticks' "$TEST_TMP/bake.out" || fail "no verdict line: $(cat "$TEST_TMP/bake.out")"

# --- timeout ----------------------------------------------------------------------------------
timed timeout "$BIN" wait b1 --timeout 1s --socket "$AGENT_SOCK"
[ "$RC" = 124 ] || fail "wait --timeout 1s exited $RC, not 124"
between "$MS" 900 3000 || fail "wait --timeout 1s took $MS ms"
grep -q 'b1: no verdict within the timeout' "$TEST_TMP/timeout.err" ||
	fail "timeout message: $(cat "$TEST_TMP/timeout.err")"

# --- unknown batch ----------------------------------------------------------------------------
timed unknown "$BIN" wait nope --socket "$AGENT_SOCK"
[ "$RC" = 1 ] || fail "wait on an unknown batch exited $RC, not 1"
grep -q 'no batch named nope' "$TEST_TMP/unknown.err" || fail "unknown: $(cat "$TEST_TMP/unknown.err")"

# --- promotion ends the wait with 0 ------------------------------------------------------------
# shellcheck disable=SC2016 # expanded by the inner bash
spawn promoted bash -c '"$0" wait b1 --timeout 20s --socket "$1"; echo "rc=$?"' "$BIN" "$AGENT_SOCK"
wait_until 5 grep -qx 'b1: armed' "$TEST_TMP/promoted.log" || fail "the waiter on b1 printed no phase"
"$BIN" promote b1 --socket "$AGENT_SOCK" >/dev/null || fail "promote b1 failed"
wait_until 5 grep -q '^rc=' "$TEST_TMP/promoted.log" || fail "wait did not end within 5 s of the promotion"
grep -qx 'rc=0' "$TEST_TMP/promoted.log" || fail "wait on a promoted batch: $(cat "$TEST_TMP/promoted.log")"
grep -qx 'b1: promoted' "$TEST_TMP/promoted.log" || fail "no promoted line: $(cat "$TEST_TMP/promoted.log")"

# --- trip ---------------------------------------------------------------------------------------
# The waiter writes its exit status and wall-clock end time, to compare with the receiver's.
# shellcheck disable=SC2016 # expanded by the inner bash
spawn waiter bash -c '"$0" wait b2 --timeout 30s --socket "$1"; echo "rc=$? end=$EPOCHREALTIME"' \
	"$BIN" "$AGENT_SOCK"
waiter=$SPAWN_PID
wait_until 5 grep -qx 'b2: armed' "$TEST_TMP/waiter.log" || fail "the waiter printed no phase"
agent_set_ratio high
wait_until 15 grep -q '^rc=' "$TEST_TMP/waiter.log" || fail "wait did not end within 15 s of the trip"
spawn_kill "$waiter" || true
grep -qx 'rc=2 end=.*' "$TEST_TMP/waiter.log" || fail "wait on a tripping batch: $(cat "$TEST_TMP/waiter.log")"
end=$(sed -n 's/^rc=2 end=//p' "$TEST_TMP/waiter.log")
trip=$(jq -rs 'map(select(.path == "/rollback" and .json.batch == "b2"))[0].time // empty' "$RECEIVER_LOG")
[ -n "$trip" ] || fail "the receiver got no rollback for b2"
lag_ms=$(awk -v e="$end" -v t="$trip" 'BEGIN { printf "%d", (e - t) * 1000 }')
log "wait exited 2, $lag_ms ms after b2's rollback reached the receiver (interval 1000 ms)"
between "$lag_ms" -100 1000 || fail "wait exited $lag_ms ms after the trip: more than one tick"
grep -Eq '^b2: (tripped|rolled_back)( |$)' "$TEST_TMP/waiter.log" || fail "no tripped line: $(cat "$TEST_TMP/waiter.log")"
grep -q '^  trip: instance canary-1, rule mem, 2/2 in a row: memory_ratio' "$TEST_TMP/waiter.log" ||
	fail "no trip reason: $(cat "$TEST_TMP/waiter.log")"
# A finished verdict: wait on the latched batch answers at once.
timed latched "$BIN" wait b2 --socket "$AGENT_SOCK"
{ [ "$RC" = 2 ] && [ "$MS" -lt 2000 ]; } || fail "wait on a latched batch: exit $RC after $MS ms"

# --- no daemon ----------------------------------------------------------------------------------
timed nosock "$BIN" wait b1 --socket "$TEST_TMP/none.sock"
{ [ "$RC" = 4 ] && [ "$MS" -lt 5000 ]; } || fail "wait without a daemon: exit $RC after $MS ms"
grep -q "no daemon answers on $TEST_TMP/none.sock" "$TEST_TMP/nosock.err" ||
	fail "no-daemon message: $(cat "$TEST_TMP/nosock.err")"
# A socket file nobody listens on (a daemon that died): ECONNREFUSED, the same answer.
"$PYTHON" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$TEST_TMP/stale.sock"
timed stale "$BIN" wait b1 --socket "$TEST_TMP/stale.sock"
{ [ "$RC" = 4 ] && [ "$MS" -lt 5000 ]; } || fail "wait on a stale socket: exit $RC after $MS ms"
grep -q "no daemon answers on $TEST_TMP/stale.sock" "$TEST_TMP/stale.err" ||
	fail "stale-socket message: $(cat "$TEST_TMP/stale.err")"

# --- the agent killed during a bake: the bake clock stops while it is down ---------------------
# baker: wait --bake 3s; the agent dies once the bake has begun and stays down DOWN_S seconds.
DOWN_S=4
agent_set_ratio low
"$BIN" reset b1 --socket "$AGENT_SOCK" >/dev/null || fail "reset b1 (promoted above) failed"
# shellcheck disable=SC2016 # expanded by the inner bash
spawn baker bash -c 't0=$EPOCHREALTIME; "$0" wait b1 --bake 3s --timeout 40s --socket "$1";
	echo "rc=$? t0=$t0 end=$EPOCHREALTIME"' "$BIN" "$AGENT_SOCK"
wait_until 5 grep -qx 'b1: armed' "$TEST_TMP/baker.log" || fail "baker: no armed line"
agent_wait_ticks 2 10 || fail "baker: the agent did not tick"
spawn_kill "$AGENT_PID"
killed=$EPOCHREALTIME
sleep "$DOWN_S" # the outage under test, not a wait for something to happen
grep -q '^rc=' "$TEST_TMP/baker.log" && fail "wait ended while the agent was down: $(cat "$TEST_TMP/baker.log")"
agent_start --policy "$TEST_TMP/b1.ini" --policy "$TEST_TMP/b2.ini"
up=$EPOCHREALTIME
wait_until 15 grep -q '^rc=' "$TEST_TMP/baker.log" || fail "baker did not end within 15 s of the restart"
grep -q '^rc=0 ' "$TEST_TMP/baker.log" || fail "baker: $(cat "$TEST_TMP/baker.log")"
read -r t0 end < <(sed -n 's/^rc=0 t0=\([0-9.]*\) end=\([0-9.]*\)$/\1 \2/p' "$TEST_TMP/baker.log")
total_ms=$("$PYTHON" -c 'import sys; print(int((float(sys.argv[2]) - float(sys.argv[1])) * 1000))' "$t0" "$end")
down_ms=$("$PYTHON" -c 'import sys; print(int((float(sys.argv[2]) - float(sys.argv[1])) * 1000))' "$killed" "$up")
log "wait --bake 3s took $total_ms ms with the agent down for $down_ms ms"
# Only observed ticks count: the outage adds to the wall time (less a tick of slack).
[ "$total_ms" -ge $((3000 + down_ms - 500)) ] || fail "the bake counted the outage: $total_ms ms in all, $down_ms ms down"

# --- the agent stays down past --timeout: exit 4, not 124 -------------------------------------
# shellcheck disable=SC2016 # expanded by the inner bash
spawn downer bash -c '"$0" wait b1 --bake 60s --timeout 3s --socket "$1"; echo "rc=$?"' "$BIN" "$AGENT_SOCK"
wait_until 5 grep -qx 'b1: armed' "$TEST_TMP/downer.log" || fail "downer: no armed line"
spawn_kill "$AGENT_PID"
wait_until 10 grep -q '^rc=' "$TEST_TMP/downer.log" || fail "downer did not end within 10 s"
grep -qx 'rc=4' "$TEST_TMP/downer.log" || fail "down past --timeout: $(cat "$TEST_TMP/downer.log")"
grep -q 'the agent stayed unreachable' "$TEST_TMP/downer.log" || fail "downer: no message"
echo PASS
