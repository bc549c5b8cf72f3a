#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# sd_notify as systemd would see it, without systemd: the test binds its own datagram socket,
# passes it as NOTIFY_SOCKET with WATCHDOG_USEC=2000000 (WATCHDOG_PID unset) to `oombreaker run`
# on a fixture cgroup copy (batch ticking every 500 ms), and records every datagram:
# - READY=1 comes first, then STATUS=1 batch(es): b1 armed;
# - WATCHDOG=1 arrives after completed ticks (4 more within 5 s, i.e. about one per 500 ms tick);
# - SIGHUP: RELOADING=1 with MONOTONIC_USEC= within 1 s of the receiver's CLOCK_MONOTONIC,
#   then READY=1;
# - after a forced trip STATUS= says rolled_back;
# - SIGTERM: STOPPING=1, and the agent exits 0;
# - without WATCHDOG_USEC no WATCHDOG=1 is sent (READY=1 still is);
# - a batch ticking every minute still keeps a 2 s watchdog fed (pings at half the timeout while
#   its ticks are on schedule), so systemd does not kill an agent with long intervals, and its
#   /healthz stays 200 between ticks (staleness is measured in the batch's interval).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/agent.sh"
need_cmd curl jq
tmpdir_setup
unset WATCHDOG_PID WATCHDOG_USEC NOTIFY_SOCKET

# The notify socket: one JSON line per datagram, with CLOCK_MONOTONIC (µs) at receipt.
cat >"$TEST_TMP/notify.py" <<'EOF'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as out:
    open(sys.argv[2] + ".ready", "w").close()
    while True:
        msg = s.recv(65536).decode("utf-8", "replace")
        out.write(json.dumps({"mono_us": time.monotonic_ns() // 1000, "msg": msg}) + "\n")
        out.flush()
EOF

# notify_start NAME: binds $TEST_TMP/NAME.sock; datagrams go to $TEST_TMP/NAME.jsonl (NOTES).
notify_start() {
	NOTES=$TEST_TMP/$1.jsonl
	spawn "$1" "$PYTHON" "$TEST_TMP/notify.py" "$TEST_TMP/$1.sock" "$NOTES"
	wait_until 10 eval "test -e '$NOTES.ready' || ! _group_alive $SPAWN_PID" || true
	test -e "$NOTES.ready" || fail "the notify socket server did not start"
}
# count REGEX: how many datagrams match REGEX (jq test()).
count() { jq -s --arg re "$1" 'map(select(.msg | test($re))) | length' "$NOTES"; }
has() { [ "$(count "$1")" -ge "${2:-1}" ]; }
msgs() { jq -r '.msg | gsub("\n"; "\\n")' "$NOTES"; }

receiver_start pipeline
agent_fixture
agent_policy "$TEST_TMP/b1.ini" b1 500ms 0.9 "http://127.0.0.1:$RECEIVER_PORT/rollback"
notify_start notify
NOTIFY_SOCKET=$TEST_TMP/notify.sock WATCHDOG_USEC=2000000 agent_start --policy "$TEST_TMP/b1.ini"

wait_until 5 has '^READY=1$' || fail "no READY=1"
[ "$(jq -rs '.[0].msg' "$NOTES")" = READY=1 ] || fail "the first datagram is not READY=1: $(msgs)"
wait_until 5 has '^STATUS=1 batch\(es\): b1 armed$' || fail "no STATUS=1 batch(es): b1 armed: $(msgs)"
t0=$(_now_us)
n0=$(count '^WATCHDOG=1$')
wait_until 5 has '^WATCHDOG=1$' $((n0 + 4)) || fail "fewer than 4 WATCHDOG=1 within 5 s: $(msgs)"
log "READY=1, STATUS=, $(count '^WATCHDOG=1$') WATCHDOG=1 so far ($((($(_now_us) - t0) / 1000)) ms for the last 4)"

# --- reload -------------------------------------------------------------------------------------
n_ready=$(count '^READY=1$')
kill -HUP "$AGENT_PID"
wait_until 5 has '^RELOADING=1\nMONOTONIC_USEC=[0-9]+$' || fail "no RELOADING=1 on SIGHUP: $(msgs)"
wait_until 5 has '^READY=1$' $((n_ready + 1)) || fail "no READY=1 after the reload: $(msgs)"
jq -se 'map(.msg) | (rindex("READY=1")) > (map(test("^RELOADING=1")) | rindex(true))' "$NOTES" \
	>/dev/null || fail "READY=1 does not follow RELOADING=1: $(msgs)"
skew=$(jq -s 'map(select(.msg | startswith("RELOADING=1"))) | last |
	(.mono_us - (.msg | capture("MONOTONIC_USEC=(?<u>[0-9]+)").u | tonumber)) | fabs' "$NOTES")
log "RELOADING=1 then READY=1; MONOTONIC_USEC is ${skew} µs from the receiver's clock"
[ "${skew%.*}" -lt 1000000 ] || fail "MONOTONIC_USEC is off by ${skew} µs"

# --- trip: STATUS follows the phase ---------------------------------------------------------
agent_set_ratio high
wait_until 10 has '^STATUS=1 batch\(es\): b1 rolled_back$' || fail "STATUS never said rolled_back: $(msgs)"

# --- stop ---------------------------------------------------------------------------------------
rc=0
spawn_kill "$AGENT_PID" || rc=$?
[ "$rc" = 0 ] || fail "the agent exited $rc on SIGTERM, not 0"
wait_until 5 has '^STOPPING=1$' || fail "no STOPPING=1 on SIGTERM: $(msgs)"
[ "$(jq -rs 'last.msg' "$NOTES")" = STOPPING=1 ] || fail "STOPPING=1 is not the last datagram: $(msgs)"

# --- no watchdog requested: no WATCHDOG=1 ---------------------------------------------------
notify_start notify-nowd
NOTIFY_SOCKET=$TEST_TMP/notify-nowd.sock agent_start --policy "$TEST_TMP/b1.ini"
wait_until 5 has '^READY=1$' || fail "no READY=1 without a watchdog"
agent_set_ratio low
"$BIN" reset b1 --socket "$AGENT_SOCK" >/dev/null || fail "reset failed"
agent_wait_ticks 3 5 ||
	fail "the second agent does not tick"
[ "$(count '^WATCHDOG=1$')" = 0 ] || fail "WATCHDOG=1 sent without WATCHDOG_USEC: $(msgs)"
has '^STATUS=1 batch\(es\): b1 armed$' || fail "no STATUS after the reset: $(msgs)"
log "without WATCHDOG_USEC: READY=1 and STATUS=, no WATCHDOG=1 over 3 ticks"

# --- a tick interval longer than the watchdog timeout ------------------------------------------
spawn_kill "$AGENT_PID" || fail "the second agent did not stop cleanly"
agent_policy "$TEST_TMP/slow.ini" slow 1m 0.9
notify_start notify-slow
NOTIFY_SOCKET=$TEST_TMP/notify-slow.sock WATCHDOG_USEC=2000000 agent_start --policy "$TEST_TMP/slow.ini"
# For 17 s after the first tick (more than 3 × the 5 s idle heartbeat, less than the interval),
# /healthz must stay 200 on every poll and the watchdog must keep hearing from the agent.
t0=$(_now_us)
n0=$(count '^WATCHDOG=1$')
polls=0
while [ "$(_now_us)" -lt $((t0 + 17000000)) ]; do
	code=$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$AGENT_URL/healthz") || true
	[ "$code" = 200 ] || fail "/healthz answered $code $((($(_now_us) - t0) / 1000)) ms after the start with interval 1m"
	polls=$((polls + 1))
	sleep 0.5
done
n=$(($(count '^WATCHDOG=1$') - n0))
log "interval 1m, WatchdogSec 2s: /healthz 200 on $polls polls over 17 s, $n WATCHDOG=1"
[ "$n" -ge 8 ] || fail "a 1-minute interval starves a 2 s watchdog: $n pings in 17 s: $(msgs)"
