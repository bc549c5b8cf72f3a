#!/usr/bin/env bash
# Self-test of the peers the integration tests and scripts/demo stand on: tests/lib/common.sh
# (deadlines, spawn, cleanup on exit and on Ctrl-C, memory cgroups), tests/tools/receiver.py (a
# scripted HTTP receiver) and tests/tools/leaky (the incident's leaking Go service, run in a real
# memory cgroup). The receiver part runs as anyone; the cgroup parts need root (else exit 77).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

need_cmd curl setsid pgrep env "$PYTHON"
tmpdir_setup

MiB=$((1 << 20))

check_helpers() {
	local c in want port t0 elapsed_ms
	local cases=("268435456 268435456" "256M 268435456" "256MiB 268435456" "1G 1073741824"
		"512k 524288" "2GiB 2147483648")
	for c in "${cases[@]}"; do
		read -r in want <<<"$c"
		[ "$(size_to_bytes "$in")" = "$want" ] || fail "size_to_bytes $in: got $(size_to_bytes "$in"), want $want"
	done
	! size_to_bytes 12X 2>/dev/null || fail "size_to_bytes accepted 12X"

	wait_until 1 true || fail "wait_until 1 true failed"
	wait_for --timeout 1 true || fail "wait_for --timeout 1 true failed"
	wait_for test -d "$TEST_TMP" --timeout 1 || fail "wait_for CMD --timeout 1 failed"
	t0=$(_now_us)
	! wait_until 0.3 false 2>/dev/null || fail "wait_until 0.3 false succeeded"
	elapsed_ms=$((($(_now_us) - t0) / 1000))
	if [ "$elapsed_ms" -lt 300 ] || [ "$elapsed_ms" -ge 3000 ]; then
		fail "wait_until 0.3 false took ${elapsed_ms} ms, want 300..3000"
	fi

	port=$(free_port)
	[[ $port =~ ^[1-9][0-9]*$ ]] || fail "free_port printed '$port'"
	log "helpers: ok"
}

# post URL BODY: POSTs a JSON body with an idempotency key; prints the HTTP status.
post() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Content-Type: application/json' \
		-H 'Idempotency-Key: trip-1-rollback' --data-binary "$2" "$1"
}

check_receiver() {
	local url codes=() i hang_pid rc=0
	receiver_start pipeline --verbose --script '/rollback=503,503,200' --script '/hang=hang' \
		--retry-after '/rollback=1'
	url=http://127.0.0.1:$RECEIVER_PORT

	for i in 1 2 3 4; do
		codes+=("$(post "$url/rollback" "{\"stable_image\":\"order-svc:v2.4.0\",\"n\":$i}")")
	done
	[ "${codes[*]}" = "503 503 200 200" ] || fail "receiver answered ${codes[*]}, want 503 503 200 200"
	curl -s -D "$TEST_TMP/headers" -o /dev/null -X POST "$url/other" || fail "POST /other failed"
	grep -q '^HTTP/1.1 200' "$TEST_TMP/headers" || fail "unscripted path not answered 200"

	# A hanging answer: the client times out, the request is still recorded.
	rc=0
	curl -s --max-time 1 "$url/hang" >/dev/null || rc=$?
	[ "$rc" = 28 ] || fail "GET /hang: curl exit $rc, want 28 (timeout)"

	# Re-scripting at run time restarts the path's count.
	printf '/rollback=400\n' | curl -sf --data-binary @- "$url/_receiver/script" >/dev/null ||
		fail "control: setting a script failed"
	[ "$(post "$url/rollback" '{"n":5}')" = 400 ] || fail "re-scripted /rollback did not answer 400"

	wait_until 5 eval "[ \$(wc -l <'$RECEIVER_LOG') -ge 7 ]" || fail "receiver log has too few lines"
	"$PYTHON" - "$RECEIVER_LOG" <<'EOF' || fail "receiver log does not hold what was sent (above)"
import json, sys
recs = [json.loads(line) for line in open(sys.argv[1])]
got = [(r["method"], r["path"], r["attempt"], r["answer"]) for r in recs]
want = [("POST", "/rollback", 1, 503), ("POST", "/rollback", 2, 503), ("POST", "/rollback", 3, 200),
        ("POST", "/rollback", 4, 200), ("POST", "/other", 1, 200), ("GET", "/hang", 1, "hang"),
        ("POST", "/rollback", 1, 400)]
assert got == want, f"records {got}, want {want}"
first = recs[0]
assert first["headers"]["Idempotency-Key"] == "trip-1-rollback", first["headers"]
assert first["json"] == {"stable_image": "order-svc:v2.4.0", "n": 1}, first["json"]
assert [r["seq"] for r in recs] == list(range(1, 8)), "seq not 1..7"
assert all(r["mono_ns"] > 0 and r["time"] > 1.6e9 for r in recs), "bad timestamps"
EOF
	# Retry-After on the scripted 503s, and the demo's human line.
	printf '/rollback=503\n' | curl -sf --data-binary @- "$url/_receiver/script" >/dev/null
	curl -s -D "$TEST_TMP/headers" -o /dev/null -d '{}' "$url/rollback"
	grep -qi '^Retry-After: 1' "$TEST_TMP/headers" || fail "no Retry-After: 1 on a 503"
	grep -qF 'rollback received: {"stable_image":"order-svc:v2.4.0","n":1}' "$TEST_TMP/pipeline.log" ||
		fail "no 'rollback received: {payload}' line in the verbose output"

	# SIGTERM while a request hangs: exits 0, promptly.
	curl -s --max-time 30 "$url/hang" >/dev/null &
	hang_pid=$!
	wait_until 5 grep -q '"attempt": 2, "answer": "hang"' "$RECEIVER_LOG" || fail "second hang not recorded"
	rc=0
	spawn_kill "$RECEIVER_PID" 3 || rc=$?
	[ "$rc" = 0 ] || fail "receiver exit status $rc on SIGTERM, want 0"
	wait "$hang_pid" || true
	log "receiver: scripted 503,503,200 then 200; hang; run-time script; Retry-After; SIGTERM: ok"
}

# metric NAME: the leaky instance's current value of NAME.
metric() { prom_value "http://127.0.0.1:$LEAKY_PORT/metrics" "$1"; }

# metric_above NAME MIN: true when NAME > MIN.
metric_above() {
	local v
	v=$(metric "$1") && [ "$v" -gt "$2" ]
}

cg_working_set() {
	local dir
	dir=$(cg_path "$1")
	if [ "$CG_VERSION" = 2 ]; then cat "$dir/memory.current"; else cat "$dir/memory.usage_in_bytes"; fi
}

check_leaky_in_cgroup() {
	local rel limit_file canary_pid canary_port gc0 heap0 heap i ws
	rel=$(cg_create canary 256MiB)
	[ "$rel" = "/$CG_PARENT/canary" ] || fail "cg_create printed '$rel'"
	limit_file=$(cg_path canary)/memory.limit_in_bytes
	[ "$CG_VERSION" = 1 ] || limit_file=$(cg_path canary)/memory.max
	[ "$(cat "$limit_file")" = $((256 * MiB)) ] || fail "$limit_file holds $(cat "$limit_file")"

	LEAKY_CGROUP=canary leaky_start canary --leak-mb-per-sec 16 --leak-max-mb 150
	canary_pid=$LEAKY_PID canary_port=$LEAKY_PORT
	cg_procs canary | grep -qx "$canary_pid" || fail "leaky canary (pid $canary_pid) is not in $rel"
	grep -q 'Go soft memory limit 230 MiB' "$TEST_TMP/canary.log" ||
		fail "leaky did not derive its soft limit from the cgroup (log above)"
	leaky_start stable
	[ "$(curl -sf "http://127.0.0.1:$LEAKY_PORT/")" = stable ] || fail "stable did not answer its name"
	! cg_procs canary | grep -qx "$LEAKY_PID" || fail "stable landed in the canary cgroup"
	LEAKY_PORT=$canary_port
	[ "$(curl -sf "http://127.0.0.1:$LEAKY_PORT/")" = canary ] || fail "canary did not answer its name"
	metric process_resident_memory_bytes >/dev/null || fail "no process collector metrics"

	gc0=$(metric go_gc_duration_seconds_count) || fail "no go_gc_duration_seconds_count"
	heap0=$(metric go_memstats_heap_inuse_bytes) || fail "no go_memstats_heap_inuse_bytes"
	curl -sf -X POST "http://127.0.0.1:$LEAKY_PORT/leak" | grep -q '"leaking":true' || fail "POST /leak"
	heap=$heap0
	for i in 1 2 3; do # climbing: three successive rises of at least 24 MiB each
		wait_until 20 metric_above go_memstats_heap_inuse_bytes $((heap + 24 * MiB)) ||
			fail "heap stuck at $(metric go_memstats_heap_inuse_bytes) after rise $((i - 1))"
		heap=$(metric go_memstats_heap_inuse_bytes)
	done
	wait_until 20 metric_above go_gc_duration_seconds_count $((gc0 + 2)) ||
		fail "GC count did not rise from $gc0"
	ws=$(cg_working_set canary)
	[ "$ws" -gt $((64 * MiB)) ] || fail "the cgroup is charged only $ws bytes: the leak is not in it"
	log "leaky in $rel: heap $((heap0 / MiB)) -> $((heap / MiB)) MiB, GC count $gc0 ->" \
		"$(metric go_gc_duration_seconds_count), cgroup usage $((ws / MiB)) MiB: ok"

	cg_destroy canary || fail "cg_destroy canary failed"
	[ ! -d "$(cg_path canary)" ] || fail "cg_destroy left $(cg_path canary)"
	! _group_alive "$canary_pid" || fail "leaky canary survived cg_destroy"
	spawn_kill "$canary_pid" 1 || true
	log "cg_destroy: canary killed, cgroup removed: ok"
}

# The child below is a test in miniature: it starts processes (one in a cgroup, one ignoring
# SIGTERM, one with a grandchild, one in the cgroup behind spawn's back), records what it made,
# then ends by MODE: exit 0, fail, or wait to be interrupted (INT or TERM).
write_child() {
	cat >"$TEST_TMP/child.sh" <<'EOF'
set -euo pipefail
source "$COMMON_SH"
out=$1 mode=$2
tmpdir_setup
SPAWN_KILL_SECS=1
cg_create box 64MiB >/dev/null
LEAKY_CGROUP=box leaky_start app --leak --leak-mb-per-sec 4 --leak-max-mb 16
spawn stubborn sh -c 'trap "" TERM; while :; do sleep 0.1; done'
stubborn=$SPAWN_PID
spawn tree sh -c 'sleep 300 & echo $! >"$0"; wait' "$TEST_TMP/grandchild.pid"
tree=$SPAWN_PID
untracked=$(cg_run box sh -c 'setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!')
wait_until 5 test -s "$TEST_TMP/grandchild.pid"
{
	echo "pids $LEAKY_PID $stubborn $tree $(cat "$TEST_TMP/grandchild.pid") $untracked"
	echo "dirs $TEST_TMP $(cg_path box) $CG_ROOT/$CG_PARENT"
} >"$out.tmp"
mv "$out.tmp" "$out"
case $mode in
exit) exit 0 ;;
fail) fail "deliberate failure" ;;
*) wait_until 60 test -e "$TEST_TMP/never" ;;
esac
EOF
}

# check_cleanup MODE WANT_RC: runs the child, ends it by MODE, and asserts it exited WANT_RC
# leaving no process, cgroup or temp dir behind.
check_cleanup() {
	local mode=$1 want_rc=$2 out=$TEST_TMP/child-$1.out pid rc=0 p d
	spawn "child-$mode" env --default-signal=INT COMMON_SH="$COMMON_SH_DIR/common.sh" LEAKY="$LEAKY" \
		bash "$TEST_TMP/child.sh" "$out" "$mode"
	pid=$SPAWN_PID
	wait_until 20 test -s "$out" || fail "child ($mode) did not start its processes"
	case $mode in
	int) kill -INT "$pid" ;; # only the shell, as when a Ctrl-C finds it between commands
	term) kill -TERM "$pid" ;;
	esac
	wait_until 20 eval "! _group_alive $pid" || fail "child ($mode) did not finish"
	wait "$pid" || rc=$?
	_spawn_forget "$pid"
	[ "$rc" = "$want_rc" ] || fail "child ($mode) exited $rc, want $want_rc"
	read -r _ pids <<<"$(grep '^pids ' "$out")"
	for p in $pids; do
		! _pid_alive "$p" || fail "child ($mode) left process $p: $(tr '\0' ' ' <"/proc/$p/cmdline")"
	done
	read -r _ dirs <<<"$(grep '^dirs ' "$out")"
	for d in $dirs; do
		[ ! -e "$d" ] || fail "child ($mode) left $d behind"
	done
	log "cleanup after $mode (exit $rc): 5 processes gone, cgroup and temp dir removed: ok"
}

check_helpers
check_receiver
need_memory_cgroup # the rest needs root and a memory controller
log "memory cgroup v$CG_VERSION at $CG_ROOT"
leaky_build
check_leaky_in_cgroup
write_child
check_cleanup exit 0
check_cleanup fail 1
check_cleanup int 130
check_cleanup term 143
log "all peers ok"
