#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The agent's HTTP listener and `status` on a fixture cgroup copy (no root needed):
# - `promtool check metrics` on GET /metrics reports nothing at all, with a batch loaded after a
#   few ticks, and again after a trip (when every family of DESIGN.md has samples: the canary's
#   runtime endpoint feeds oombreaker_gc_per_second, the rollback feeds action_attempts);
# - the figures in /metrics agree with the fixture (working set, ratio, one trip, one ok attempt);
# - oombreaker_tick_duration_seconds is one histogram per batch (a second batch b2, 250 ms, that
#   never trips): every series has a batch label, each batch's +Inf bucket equals its count;
# - GET /healthz is 200 "ok" while ticking, GET /status is JSON with the phase, unknown paths 404;
# - `oombreaker status` (text and --json) reports the same phase, the trip and exit code 2, and
#   with the daemon stopped reads the state file instead (same phase, exit 2).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/agent.sh"
need_cmd curl jq promtool
tmpdir_setup

# A Go runtime's /metrics, as far as the go preset reads it: the GC count grows by 2 per scrape.
cat >"$TEST_TMP/gc.py" <<'EOF'
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class H(BaseHTTPRequestHandler):
    n = 100
    def do_GET(self):
        H.n += 2
        body = ("# TYPE go_gc_duration_seconds summary\n"
                "go_gc_duration_seconds_sum 0.5\ngo_gc_duration_seconds_count %d\n" % H.n).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

s = HTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
EOF
spawn gc "$PYTHON" "$TEST_TMP/gc.py" "$TEST_TMP/gc.port"
_wait_port_file "$TEST_TMP/gc.port" "$SPAWN_PID" || fail "the runtime metrics server did not start"
gc_port=$(cat "$TEST_TMP/gc.port")

receiver_start pipeline
agent_fixture
policy=$TEST_TMP/b1.ini
agent_policy "$policy" b1 500ms 0.9 "http://127.0.0.1:$RECEIVER_PORT/rollback"
# The runtime endpoint goes into the target section (after its cgroup line).
sed -i "/^cgroup = /a metrics_url = http://127.0.0.1:$gc_port/metrics\ngc_preset = go" "$policy"
# b2 watches the same canary more often, with a limit it never reaches.
agent_policy "$TEST_TMP/b2.ini" b2 250ms 0.99
agent_start --policy "$policy" --policy "$TEST_TMP/b2.ini"

metric() { prom_value "$AGENT_URL/metrics" "$1"; }

# check_metrics LABEL: promtool must exit 0 and print nothing (no lint remark either).
check_metrics() {
	curl -sf --max-time 5 "$AGENT_URL/metrics" >"$TEST_TMP/metrics-$1.txt" ||
		fail "$1: GET /metrics failed"
	if ! promtool check metrics <"$TEST_TMP/metrics-$1.txt" >"$TEST_TMP/promtool-$1.out" 2>&1; then
		cat "$TEST_TMP/promtool-$1.out" >&2
		fail "$1: promtool check metrics failed"
	fi
	[ ! -s "$TEST_TMP/promtool-$1.out" ] || {
		cat "$TEST_TMP/promtool-$1.out" >&2
		fail "$1: promtool check metrics has remarks"
	}
	log "$1: promtool check metrics: clean ($(grep -vc '^#' "$TEST_TMP/metrics-$1.txt") samples)"
}

# sample_of FILE SERIES: the value of the exact series (name{labels}) in FILE.
sample_of() { awk -v s="$2" '$1 == s { print $2; found = 1 } END { exit !found }' "$1"; }

# --- healthy, after a few ticks -----------------------------------------------------------
wait_until 10 _agent_ticks_at_least 4 || fail "fewer than 4 ticks within 10 s"
# Two GC scrapes are needed for a per-minute figure.
has_gc() { grep -q '^oombreaker_gc_per_second{' <<<"$(curl -sf "$AGENT_URL/metrics")"; }
wait_until 10 has_gc ||
	fail "no oombreaker_gc_per_second sample"
check_metrics armed
m=$TEST_TMP/metrics-armed.txt
[ "$(sample_of "$m" 'oombreaker_batch_state{batch="b1",state="armed"}')" = 1 ] ||
	fail "armed: oombreaker_batch_state{state=armed} is not 1"
[ "$(grep -c '^oombreaker_batch_state{batch="b1",' "$m")" = 7 ] ||
	fail "armed: expected one oombreaker_batch_state series per phase (7)"
[ "$(sample_of "$m" 'oombreaker_memory_working_set_bytes{batch="b1",instance="canary-1"}')" = \
	$((AGENT_CURRENT_LOW - 104857600)) ] || fail "armed: working set differs from the fixture's"
ratio=$(sample_of "$m" 'oombreaker_memory_ratio{batch="b1",instance="canary-1"}')
awk -v r="$ratio" 'BEGIN { exit !(r > 0.549 && r < 0.551) }' || fail "armed: memory ratio $ratio, not 0.55"
gcps=$(sample_of "$m" 'oombreaker_gc_per_second{batch="b1",instance="canary-1"}')
# 2 cycles per 500 ms tick = 4 per second (240 per minute in the policy's unit).
awk -v g="$gcps" 'BEGIN { exit !(g > 3.3 && g < 4.7) }' || fail "armed: gc_per_second $gcps, not ~4"
# tick_histogram FILE BATCH: the batch's histogram has its 10 buckets and +Inf == count > 0.
tick_histogram() {
	local n=oombreaker_tick_duration_seconds inf count
	[ "$(grep -c "^${n}_bucket{batch=\"$2\",le=" "$1")" = 10 ] || return 1
	inf=$(sample_of "$1" "${n}_bucket{batch=\"$2\",le=\"+Inf\"}") || return 1
	count=$(sample_of "$1" "${n}_count{batch=\"$2\"}") || return 1
	sample_of "$1" "${n}_sum{batch=\"$2\"}" >/dev/null || return 1
	[ "$inf" = "$count" ] && [ "$count" -gt 0 ]
}
for b in b1 b2; do
	tick_histogram "$m" "$b" || fail "armed: no tick histogram of batch $b: $(grep tick_duration "$m")"
done
! grep -E '^oombreaker_tick_duration_seconds_[a-z]+(\{le=|\{\}| )' "$m" ||
	fail "armed: a tick-duration series without its batch label"
log "armed: one tick histogram per batch ($(sample_of "$m" 'oombreaker_tick_duration_seconds_count{batch="b1"}') and $(sample_of "$m" 'oombreaker_tick_duration_seconds_count{batch="b2"}') ticks)"
grep -Eq '^oombreaker_build_info\{version="[0-9.]+",commit="([0-9a-f]{12}|unknown)"\} 1$' "$m" ||
	fail "no oombreaker_build_info{version,commit} 1: $(grep build_info "$m")"

# --- /healthz, /status, 404, status CLI while armed -----------------------------------------
[ "$(curl -s -o "$TEST_TMP/healthz" -w '%{http_code}' "$AGENT_URL/healthz")" = 200 ] ||
	fail "/healthz is not 200 while ticking"
grep -qx ok "$TEST_TMP/healthz" || fail "/healthz body is not 'ok'"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$AGENT_URL/nope")" = 404 ] || fail "/nope is not 404"
ctype=$(curl -s -o /dev/null -w '%{content_type}' "$AGENT_URL/metrics")
[[ $ctype == text/plain*version=0.0.4* ]] || fail "/metrics Content-Type is '$ctype'"
agent_status_json b1 | jq -e '.phase == "armed" and .interval_ms == 500 and
	(.instances[0].streaks[0] | .rule == "mem" and .limit == 2)' >/dev/null ||
	fail "/status: unexpected $(agent_status_json b1)"
out=$("$BIN" status --socket "$AGENT_SOCK" --state-dir "$AGENT_STATE") || fail "status exited $?"
grep -q '^b1: armed$' <<<"$out" || fail "status text: $out"
grep -Eq 'canary-1 +memory 55\.0%.*streaks: mem 0/2' <<<"$out" || fail "status text: $out"

# --- trip -------------------------------------------------------------------------------------
agent_set_ratio high
wait_until 10 agent_phase_is b1 rolled_back || fail "no rolled_back 10 s after raising the ratio"
check_metrics tripped
m=$TEST_TMP/metrics-tripped.txt
for fam in oombreaker_batch_state oombreaker_breach_streak oombreaker_trips_total \
	oombreaker_action_attempts_total oombreaker_memory_working_set_bytes oombreaker_memory_ratio \
	oombreaker_gc_per_second oombreaker_sample_errors_total oombreaker_tick_duration_seconds_bucket; do
	grep -q "^$fam{" "$m" || fail "tripped: family $fam has no sample"
done
[ "$(sample_of "$m" 'oombreaker_batch_state{batch="b1",state="rolled_back"}')" = 1 ] ||
	fail "tripped: state rolled_back is not 1"
[ "$(sample_of "$m" 'oombreaker_trips_total{batch="b1"}')" = 1 ] || fail "tripped: trips_total != 1"
[ "$(sample_of "$m" 'oombreaker_action_attempts_total{batch="b1",action="rollback",result="ok"}')" = 1 ] ||
	fail "tripped: action_attempts_total{ok} != 1"
[ "$(jq -s 'map(select(.path == "/rollback")) | length' "$RECEIVER_LOG")" = 1 ] ||
	fail "the receiver did not get exactly one rollback"

rc=0
out=$("$BIN" status b1 --socket "$AGENT_SOCK") || rc=$?
[ "$rc" = 2 ] || fail "status of a rolled-back batch exited $rc, not 2"
grep -q '^b1: rolled_back$' <<<"$out" || fail "status text: $out"
grep -Eq 'trip: instance canary-1, rule mem, 2/2 in a row: memory_ratio 0\.9' <<<"$out" ||
	fail "status text lacks the trip: $out"
grep -q 'action rollback: done, 1 attempt(s), HTTP 200' <<<"$out" || fail "status text lacks the action: $out"
rc=0
"$BIN" status b1 --json --socket "$AGENT_SOCK" >"$TEST_TMP/status.json" || rc=$?
[ "$rc" = 2 ] || fail "status --json exited $rc, not 2"
jq -e '.batch == "b1" and .phase == "rolled_back" and .trip.rule == "mem"' \
	"$TEST_TMP/status.json" >/dev/null || fail "status --json: $(cat "$TEST_TMP/status.json")"
log "metrics, /healthz, /status and status agree"

# --- no daemon: status falls back to the state files ------------------------------------------
spawn_kill "$AGENT_PID" || fail "the agent did not stop cleanly on SIGTERM"
rc=0
out=$("$BIN" status --socket "$AGENT_SOCK" --state-dir "$AGENT_STATE" 2>"$TEST_TMP/fallback.err") || rc=$?
[ "$rc" = 2 ] || fail "status from the state files exited $rc, not 2"
grep -q "no daemon answers on $AGENT_SOCK; reading $AGENT_STATE" "$TEST_TMP/fallback.err" ||
	fail "status does not say it reads the state files: $(cat "$TEST_TMP/fallback.err")"
grep -q '^b1: rolled_back$' <<<"$out" || fail "status from the state files: $out"
log "without a daemon, status reads the state file: b1 rolled_back (exit 2)"
