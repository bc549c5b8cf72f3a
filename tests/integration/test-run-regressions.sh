#!/usr/bin/env bash
# Regressions from the review of `oombreaker run` (each case failed before commit f5cbb4d). The
# agent runs on a copy of the v2 fixture cgroup tree (no root needed), its canary's memory driven
# by rewriting memory.current, its actions aimed at tests/tools/receiver.py:
#  dry_run          a trip restored from the state file is not acted upon under --dry-run;
#  big_body         a 2xx answer with a body over 64 KiB is a success, after one attempt;
#  one_agent        a second `run` on the same control socket or state dir exits 1 saying why,
#                   and the first keeps answering and ticking;
#  reload_interval  a reload from `interval = 1h` to 300ms ticks again at once;
#  phase_breaching, phase_inconclusive
#                   after a restart, the state file follows the live phase (breaching or
#                   inconclusive before, armed now), and so does `status` with the daemon stopped;
#  retry_after      a huge Retry-After (2^63 ms) neither overflows (UBSan) nor kills the agent: the
#                   retry waits the 10 min cap;
#  pipelined        three requests in one write on the control socket (one of them not JSON) get
#                   three replies, the garbage one an error;
#  save_retry       the outcome of an action whose save failed (b1.json briefly replaced by a
#                   directory) reaches the state file, so a restart does not send it again;
#  save_retry_ro    the same with the state dir a tmpfs remounted read-only mid-request (root
#                   only, else this case alone is skipped): the agent must not pin it writable.
# Usage: test-run-regressions.sh [CASE...] (all cases by default).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/agent.sh"

ALL_CASES=(dry_run big_body one_agent reload_interval phase_breaching phase_inconclusive retry_after
	pipelined save_retry save_retry_ro)
CASE=
TMPFS= # a tmpfs mounted by save_retry_ro, unmounted on exit

need_cmd curl jq
for c in "$@"; do
	[[ " ${ALL_CASES[*]} " == *" $c "* ]] || fail "unknown case '$c' (cases: ${ALL_CASES[*]})"
done
tmpdir_setup
agent_fixture

# common.sh's EXIT trap removes $TEST_TMP: a tmpfs inside it goes first (lazily: an agent may
# still hold it; the cleanup stops the agent next).
_regress_exit() {
	local rc=$?
	set +e # the status is handed on to _cleanup through $?
	[ -z "$TMPFS" ] || umount -l "$TMPFS" 2>/dev/null
	(exit "$rc")
	_cleanup
}
trap _regress_exit EXIT

# --- helpers ------------------------------------------------------------------------------------

# case_begin NAME: a fresh state dir and agent log; the canary back at 55 %.
case_begin() {
	echo "== $1"
	[ -z "$CASE" ] || [ ! -e "$TEST_TMP/agent.log" ] || mv "$TEST_TMP/agent.log" "$TEST_TMP/$CASE.agent.txt"
	CASE=$1
	rm -rf "$TEST_TMP/state"
	agent_set_ratio low
}

# write_policy FILE INTERVAL CONSECUTIVE [SECTION...]: batch b1 on the fixture canary, rule
# `mem` (memory_ratio_above = 0.9: the canary is at 0.55 low, 0.92 high), then the SECTIONs.
write_policy() {
	local file=$1 section
	{
		printf '[batch]\nname = b1\ninterval = %s\nconsecutive = %s\n\n' "$2" "$3"
		printf '[target canary-1]\ncgroup = /system.slice/order-canary@1.service\n\n'
		printf '[rule mem]\nmemory_ratio_above = 0.9\n\n'
		for section in "${@:4}"; do
			printf '%s\n\n' "$section"
		done
	} >"$file"
}

# rollback_action URL [LINE...]: an http action `rollback` to URL.
rollback_action() {
	printf '[action rollback]\ntype = http\nurl = %s\n' "$1"
	[ $# -lt 2 ] || printf '%s\n' "${@:2}"
}

# stop_agent: SIGTERM; fails unless the agent exits 0 within 5 s.
stop_agent() {
	local rc=0
	spawn_kill "$AGENT_PID" 5 || rc=$?
	[ "$rc" = 0 ] || fail "the agent exited $rc on SIGTERM"
}

state_json() { jq -c '{phase, actions}' "$AGENT_STATE/b1.json" 2>&1 || true; }
# state_matches JQ: the state file of b1 satisfies the jq filter.
state_matches() { jq -e "$1" "$AGENT_STATE/b1.json" >/dev/null 2>&1; }

recv_requests() {
	curl -sf --max-time 5 "http://127.0.0.1:$RECEIVER_PORT/_receiver/requests" |
		jq -c --arg p "$1" '[.[] | select(.path == $p)]'
}
recv_count() { recv_requests "$1" | jq length; }
recv_at_least() { [ "$(recv_count "$1")" -ge "$2" ]; }
recv_reset() { curl -sf --max-time 5 -X POST "http://127.0.0.1:$RECEIVER_PORT/_receiver/reset" >/dev/null; }
recv_script() {
	curl -sf --max-time 5 -X POST --data-binary "$1" \
		"http://127.0.0.1:$RECEIVER_PORT/_receiver/script" >/dev/null
}

lines_at_least() { [ "$(wc -l <"$1")" -ge "$2" ]; }

# --- cases --------------------------------------------------------------------------------------

case_dry_run() {
	local n
	case_begin dry_run
	receiver_start recv-dry_run --script '/rollback=hang'
	write_policy "$TEST_TMP/dry.ini" 200ms 2 \
		"$(rollback_action "http://127.0.0.1:$RECEIVER_PORT/rollback" "timeout = 30s")"
	agent_start --policy "$TEST_TMP/dry.ini"
	agent_set_ratio high
	wait_until 10 recv_at_least /rollback 1 || fail "the trip sent no rollback"
	stop_agent
	state_matches '.phase == "tripped" and .actions[0].status != "done"' ||
		fail "the trip is not pending in the state file: $(state_json)"
	recv_script '/rollback=200'
	recv_reset
	agent_set_ratio low
	agent_start --policy "$TEST_TMP/dry.ini" --dry-run
	# The actions run from the loop's first turns on: three ticks are plenty to have sent one.
	agent_wait_ticks 3 10 || fail "the dry run does not tick"
	n=$(recv_count /rollback)
	[ "$n" = 0 ] || fail "--dry-run sent the restored trip's rollback ($n request(s)): $(state_json)"
	state_matches '.phase == "tripped" and .actions[0].status != "done"' ||
		fail "the dry run changed the trip: $(state_json)"
	agent_phase_is b1 tripped || fail "the dry run says $(agent_phase b1), not tripped"
	log "dry run: $(grep -m1 'not sent' "$AGENT_LOG" || echo 'no log line')"
	stop_agent
	spawn_kill "$RECEIVER_PID"
}

case_big_body() {
	local n
	case_begin big_body
	receiver_start recv-big_body --body-size '/rollback=100000'
	write_policy "$TEST_TMP/big.ini" 200ms 2 \
		"$(rollback_action "http://127.0.0.1:$RECEIVER_PORT/rollback" "timeout = 5s" "retries = 1")"
	agent_start --policy "$TEST_TMP/big.ini"
	agent_set_ratio high
	wait_until 15 state_matches '.phase == "rolled_back" or .phase == "failed"' ||
		fail "the rollback never settled: $(state_json)"
	state_matches '.phase == "rolled_back" and ([.actions[] | [.name, .status, .attempts]] ==
		[["rollback", "done", 1]])' || fail "a 2xx with a 100 kB body is not one success: $(state_json)"
	n=$(recv_count /rollback)
	[ "$n" = 1 ] || fail "$n rollback requests, want 1"
	log "big body: $(jq -c '.actions[0] | {status, attempts, result}' "$AGENT_STATE/b1.json")"
	stop_agent
	spawn_kill "$RECEIVER_PID"
}

# refused NAME STATE_DIR SOCKET MESSAGE: a second `run` on STATE_DIR and SOCKET exits 1 within 10 s
# with MESSAGE in its log.
refused() {
	local name=$1 pid rc=0
	spawn "$name" "$BIN" run --policy "$TEST_TMP/one.ini" --state-dir "$2" --socket "$3" \
		--listen none --cgroup-root "$TEST_TMP/cg"
	pid=$SPAWN_PID
	wait_until 10 eval "! _group_alive $pid" ||
		fail "$name: a second run was not refused (still running after 10 s): $(tail -n 5 "$TEST_TMP/$name.log")"
	wait "$pid" || rc=$?
	_spawn_forget "$pid"
	[ "$rc" = 1 ] || fail "$name: the second run exited $rc, want 1: $(cat "$TEST_TMP/$name.log")"
	grep -qF -- "$4" "$TEST_TMP/$name.log" ||
		fail "$name: no '$4' in its log: $(cat "$TEST_TMP/$name.log")"
	log "$name: exit $rc, $(grep -F -- "$4" "$TEST_TMP/$name.log")"
}

case_one_agent() {
	local st
	case_begin one_agent
	write_policy "$TEST_TMP/one.ini" 200ms 2
	agent_start --policy "$TEST_TMP/one.ini"
	refused second-both "$AGENT_STATE" "$AGENT_SOCK" "is in use by another oombreaker run"
	refused second-socket "$TEST_TMP/state-other" "$AGENT_SOCK" "another oombreaker answers on it"
	refused second-state "$AGENT_STATE" "$TEST_TMP/other.sock" "is in use by another oombreaker run"
	[ ! -e "$TEST_TMP/other.sock" ] || fail "the refused run left $TEST_TMP/other.sock"
	# The first agent still owns its socket and its batch, and still ticks.
	_group_alive "$AGENT_PID" || fail "the first agent died"
	st=$("$BIN" status b1 --json --socket "$AGENT_SOCK") || fail "the first agent's socket does not answer"
	jq -e '.phase == "armed"' <<<"$st" >/dev/null || fail "status after the refusals: $st"
	agent_wait_ticks 2 5 || fail "the first agent stopped ticking"
	stop_agent
}

case_reload_interval() {
	local trace=$TEST_TMP/reload.trace n mark
	case_begin reload_interval
	write_policy "$TEST_TMP/reload.ini" 1h 2
	agent_start --policy "$TEST_TMP/reload.ini" --trace "$trace"
	wait_until 5 lines_at_least "$trace" 1 || fail "no first tick"
	n=$(wc -l <"$trace")
	mark=$(wc -l <"$AGENT_LOG")
	sed -i 's/^interval = 1h$/interval = 300ms/' "$TEST_TMP/reload.ini"
	kill -HUP "$AGENT_PID"
	wait_until 10 eval "tail -n +$((mark + 1)) '$AGENT_LOG' | grep -q 'policy reloaded.*every 300ms'" ||
		fail "no reload to 300 ms in the log: $(tail -n 5 "$AGENT_LOG")"
	# Two new ticks take 300-600 ms; 5 s leaves room for a loaded machine (the bug waited 1 h).
	wait_until 5 lines_at_least "$trace" $((n + 2)) ||
		fail "$(($(wc -l <"$trace") - n)) tick(s) within 5 s of the reload to 300 ms, want 2"
	_agent_healthy || fail "/healthz is not 200 after the reload"
	stop_agent
}

# phase_from PHASE: the state file said PHASE when the agent stopped; after a restart with the
# canary back to normal it must say armed, live and after another stop.
phase_from() {
	local phase=$1 dead out rc=0
	dead=$(free_port)
	if [ "$phase" = breaching ]; then
		write_policy "$TEST_TMP/phase.ini" 200ms 1000
		agent_set_ratio high
	else
		# A GC rule whose metrics endpoint is a closed port: no data, inconclusive after 2 ticks.
		printf '[batch]\nname = b1\ninterval = 200ms\nmax_errors = 2\n\n[target canary-1]\n%s\n%s\n%s\n\n%s\n' \
			'cgroup = /system.slice/order-canary@1.service' \
			"metrics_url = http://127.0.0.1:$dead/metrics" 'metrics_timeout = 200ms' \
			$'[rule gc]\ngc_per_minute_above = 1000' >"$TEST_TMP/phase.ini"
	fi
	"$BIN" check "$TEST_TMP/phase.ini" >/dev/null || fail "bad policy: $("$BIN" check "$TEST_TMP/phase.ini" 2>&1)"
	agent_start --policy "$TEST_TMP/phase.ini"
	wait_until 10 state_matches ".phase == \"$phase\"" || fail "never $phase: $(state_json)"
	stop_agent
	agent_set_ratio low
	write_policy "$TEST_TMP/phase.ini" 200ms 2
	agent_start --policy "$TEST_TMP/phase.ini"
	agent_wait_ticks 2 5 || fail "the restarted agent does not tick"
	agent_phase_is b1 armed || fail "the restarted agent says $(agent_phase b1)"
	wait_until 5 state_matches '.phase == "armed"' ||
		fail "after a restart from $phase, live armed, the state file says $(jq -r .phase "$AGENT_STATE/b1.json")"
	stop_agent
	out=$("$BIN" status b1 --json --socket "$TEST_TMP/none.sock" --state-dir "$AGENT_STATE") || rc=$?
	{ [ "$rc" = 0 ] && jq -e '.phase == "armed"' <<<"$out" >/dev/null; } ||
		fail "status from the state file (daemon stopped): exit $rc, $out"
	log "from $phase: state file armed, status without the daemon: $(jq -r .phase <<<"$out"), exit $rc"
}

case_phase_breaching() {
	case_begin phase_breaching
	phase_from breaching
}

case_phase_inconclusive() {
	case_begin phase_inconclusive
	phase_from inconclusive
}

case_retry_after() {
	local line n
	case_begin retry_after
	receiver_start recv-retry_after --script '/rollback=503:9223372036854776,200'
	write_policy "$TEST_TMP/ra.ini" 200ms 2 \
		"$(rollback_action "http://127.0.0.1:$RECEIVER_PORT/rollback" "timeout = 5s" "retries = 2")"
	agent_start --policy "$TEST_TMP/ra.ini"
	agent_set_ratio high
	wait_until 10 agent_log_has 'action rollback attempt 1 failed: HTTP 503.*retrying in [0-9hms.]+' ||
		fail "no retry after the 503: $(tail -n 5 "$AGENT_LOG")"
	line=$(grep -E -m1 'action rollback attempt 1 failed' "$AGENT_LOG")
	[ "${line##*retrying in }" = 10m ] || fail "Retry-After 9223372036854776 s: want the 10m cap, got: $line"
	! agent_log_has 'runtime error|Sanitizer' || fail "sanitizer report: $(grep -E -A3 'runtime error|Sanitizer' "$AGENT_LOG")"
	_agent_healthy || fail "the agent is not healthy after the huge Retry-After"
	state_matches '.phase == "tripped" and .actions[0].attempts == 1 and .actions[0].status != "done"' ||
		fail "the rollback is not waiting for its retry: $(state_json)"
	stop_agent
	n=$(recv_count /rollback)
	[ "$n" = 1 ] || fail "$n rollback requests, want 1 (the retry is 10 min away)"
	log "retry after: $line"
	spawn_kill "$RECEIVER_PID"
}

case_pipelined() {
	local out
	case_begin pipelined
	write_policy "$TEST_TMP/pipe.ini" 200ms 2
	agent_start --policy "$TEST_TMP/pipe.ini"
	out=$(/usr/bin/python3 - "$AGENT_SOCK" <<'PY'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b'{"cmd":"status","batch":"b1"}\nnope\n{"cmd":"status","batch":"b1"}\n')
buf, deadline = b"", time.monotonic() + 5
while buf.count(b"\n") < 3 and time.monotonic() < deadline:
    s.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        d = s.recv(65536)
    except socket.timeout:
        break
    if not d:
        break
    buf += d
replies = [json.loads(line) for line in buf.split(b"\n") if line]
print(len(replies), " ".join(",".join(b["phase"] for b in r.get("batches", [])) or
      r.get("error", "none").replace(" ", "_") for r in replies))
PY
	)
	[ "$out" = "3 armed request_is_not_a_JSON_object armed" ] ||
		fail "pipelined status, garbage, status: got '$out', want '3 armed request_is_not_a_JSON_object armed'"
	log "pipelined: $out"
	stop_agent
}

case_save_retry() {
	local st n
	case_begin save_retry
	receiver_start recv-save_retry --delay '/rollback=4'
	write_policy "$TEST_TMP/save.ini" 200ms 2 \
		"$(rollback_action "http://127.0.0.1:$RECEIVER_PORT/rollback" "timeout = 30s")"
	agent_start --policy "$TEST_TMP/save.ini"
	st=$AGENT_STATE
	agent_set_ratio high
	wait_until 10 recv_at_least /rollback 1 || fail "the trip sent no rollback"
	# The rollback is in flight (answered 4 s later): the file cannot be replaced in the meantime.
	mv "$st/b1.json" "$st/b1.json.before"
	mkdir "$st/b1.json"
	wait_until 10 agent_log_has 'action rollback done after' || fail "the rollback is not done"
	agent_log_has 'action rollback: cannot save the state file' ||
		fail "the save did not fail: $(tail -n 5 "$AGENT_LOG")"
	# The old file comes back, unless a retried save was first (then ln fails, which is fine).
	mv "$st/b1.json" "$st/blocker"
	ln "$st/b1.json.before" "$st/b1.json" 2>/dev/null || true
	rm -rf "$st/blocker" "$st/b1.json.before"
	wait_until 5 state_matches '.phase == "rolled_back" and .actions[0].status == "done"' ||
		fail "the rollback's outcome never reached the state file: $(state_json)"
	stop_agent
	recv_reset
	agent_set_ratio low
	agent_start --policy "$TEST_TMP/save.ini"
	agent_wait_ticks 3 10 || fail "the restarted agent does not tick"
	n=$(recv_count /rollback)
	[ "$n" = 0 ] || fail "the restart sent the rollback again ($n request(s))"
	agent_phase_is b1 rolled_back || fail "the restarted agent says $(agent_phase b1)"
	stop_agent
	spawn_kill "$RECEIVER_PID"
}

# save_retry_ro: like save_retry, with the save failing on a read-only remount of a tmpfs.
case_save_retry_ro() {
	local st n
	case_begin save_retry_ro
	if [ "$(id -u)" != 0 ]; then
		echo "skipped: mounting a tmpfs needs root"
		return 0
	fi
	st=$TEST_TMP/state
	mkdir "$st"
	mount -t tmpfs -o size=4m,mode=0750 oombreaker-test "$st" || fail "cannot mount a tmpfs on $st"
	TMPFS=$st
	receiver_start recv-save_retry_ro --delay '/rollback=4'
	write_policy "$TEST_TMP/save-ro.ini" 200ms 2 \
		"$(rollback_action "http://127.0.0.1:$RECEIVER_PORT/rollback" "timeout = 30s")"
	agent_start --policy "$TEST_TMP/save-ro.ini"
	agent_set_ratio high
	wait_until 10 recv_at_least /rollback 1 || fail "the trip sent no rollback"
	wait_until 2 mount -o remount,ro "$st" ||
		fail "cannot remount the state dir read-only while the agent runs: $(mount -o remount,ro "$st" 2>&1)"
	wait_until 10 agent_log_has 'action rollback done after' || fail "the rollback is not done"
	agent_log_has 'action rollback: cannot save the state file' ||
		fail "the save did not fail: $(tail -n 5 "$AGENT_LOG")"
	mount -o remount,rw "$st" || fail "cannot remount the state dir read-write"
	wait_until 5 state_matches '.phase == "rolled_back" and .actions[0].status == "done"' ||
		fail "the rollback's outcome never reached the state file: $(state_json)"
	stop_agent
	recv_reset
	agent_set_ratio low
	agent_start --policy "$TEST_TMP/save-ro.ini"
	agent_wait_ticks 3 10 || fail "the restarted agent does not tick"
	n=$(recv_count /rollback)
	[ "$n" = 0 ] || fail "the restart sent the rollback again ($n request(s))"
	stop_agent
	spawn_kill "$RECEIVER_PID"
	umount "$st" || fail "cannot unmount $st"
	TMPFS=
}

cases=("$@")
[ $# -gt 0 ] || cases=("${ALL_CASES[@]}")
for c in "${cases[@]}"; do
	"case_$c"
done
echo "PASS"
