#!/usr/bin/env bash
# OOM kill → traffic-cut request (issue 15, must show 1): from the moment the kernel OOM-kills a
# memory hog in a real memory cgroup (the hog's parent returns from waitpid:
# tests/bench/oom-hog.py) to the arrival of the agent's cut request at a loopback receiver (its
# record's mono_ns, taken when the request line arrived). Both are CLOCK_MONOTONIC.
#
#   scripts/bench-oom.sh [-n KILLS] [-i INTERVAL]   (root: real memory cgroup; default 20, 5s)
#
# One agent, one cgroup limited to 64 MiB (swap off), one policy: interval INTERVAL,
# `consecutive = 1`, a rule `oom_kills_at_least = 1`, actions cut then rollback (http, to
# tests/tools/receiver.py). Each round waits a random 0 to INTERVAL (so kills fall at uniformly
# random points of the tick), starts a hog that is OOM-killed, waits for /cut, waits until the
# batch is rolled back and re-arms it with `oombreaker reset`. A polling agent reacts at its next tick (0 to one
# interval later, plus the durable state write); kernel OOM events make it milliseconds.
# Prints each kill's figure, then median, p90, p99 (the largest of fewer than 100) and max.
set -euo pipefail
cd "$(dirname "$0")/.."
kills=20
interval=5s
while getopts n:i: opt; do
	case $opt in
	n) kills=$OPTARG ;;
	i) interval=$OPTARG ;;
	*)
		echo "usage: $0 [-n KILLS] [-i INTERVAL]" >&2
		exit 1
		;;
	esac
done
[[ $kills =~ ^[1-9][0-9]*$ ]] || { echo "$0: -n wants a positive number" >&2; exit 1; }
case $interval in
*ms) interval_ms=${interval%ms} ;;
*s) interval_ms=$((${interval%s} * 1000)) ;;
*) interval_ms=$((interval * 1000)) ;;
esac
[[ $interval_ms =~ ^[1-9][0-9]*$ ]] || { echo "$0: -i wants 500ms, 5s or 5" >&2; exit 1; }
# shellcheck source=../tests/lib/common.sh
source tests/lib/common.sh
# shellcheck source=../tests/lib/run.sh
source tests/lib/run.sh
if [ ! -x "$OOMBREAKER" ]; then
	cmake -S . -B build >/dev/null
	nice cmake --build build -j2 --target oombreaker >/dev/null
fi

run_test_setup
HOG_CGROUP=$(cg_create hog 64MiB) || fail "cannot create the hog cgroup"
receiver_start recv
url=http://127.0.0.1:$RECEIVER_PORT
cat >"$TEST_TMP/oom.ini" <<EOF
[batch]
name = oom-bench
interval = $interval
consecutive = 1

[target hog]
cgroup = $HOG_CGROUP
memory_limit = 64MiB

[rule oom]
oom_kills_at_least = 1

$(http_action cut "$url/cut")
$(http_action rollback "$url/rollback")
EOF
chmod 0644 "$TEST_TMP/oom.ini"
agent_start agent "$TEST_TMP/oom.ini" "$TEST_TMP/state"
# phase_is PHASE: the daemon reports the batch in PHASE (wherever `status --json` nests it).
phase_is() { agent_status oom-bench | jq -e --arg p "$1" '[.. | .phase? // empty] | index($p)'; }
wait_until 20 phase_is armed ||
	fail "the batch never armed: $(tail -n 3 "$TEST_TMP/agent.log")"

# cut_ns N: the mono_ns of the receiver's Nth /cut request (1-based), once it is there.
cut_ns() {
	jq -r 'select(.path == "/cut") | .mono_ns' "$RECEIVER_LOG" | sed -n "${1}p" | grep .
}

: >"$TEST_TMP/figures"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$kills"); do
	sleep "$(awk -v s="$RANDOM" -v ms="$interval_ms" 'BEGIN { printf "%.3f", s % ms / 1000 }')"
	out=$("$PYTHON" tests/bench/oom-hog.py "$(cg_path hog)/cgroup.procs" 1024) ||
		fail "kill $i: the hog was not killed"
	kill_ns=${out#mono_ns=}
	kill_ns=${kill_ns%% *}
	[ "${out##*signal=}" = 9 ] || fail "kill $i: the hog died of signal ${out##*signal=}, not SIGKILL"
	wait_until 30 cut_ns "$i" || fail "kill $i: no cut request"
	recv_ns=$(cut_ns "$i")
	ms=$(awk -v a="$kill_ns" -v b="$recv_ns" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')
	printf 'kill %2d  %10s ms\n' "$i" "$ms"
	echo "$ms" >>"$TEST_TMP/figures"
	wait_until 30 state_is oom-bench rolled_back || fail "kill $i: not rolled back"
	"$OOMBREAKER" reset oom-bench --socket "$AGENT_SOCKET" >/dev/null || fail "reset failed"
	wait_until 10 phase_is armed || fail "kill $i: not re-armed"
done
agent_stop
sort -g "$TEST_TMP/figures" | awk -v iv="$interval" '{ v[NR] = $1 } END {
	med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	p90 = v[int(NR * 0.9 + 0.999999)]
	p99 = v[int(NR * 0.99 + 0.999999)]
	printf "OOM kill -> cut over %d kills (interval %s): median %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (min %.1f ms)\n",
		NR, iv, med, p90, p99, v[NR], v[1]
}'
echo "cgroup v$CG_VERSION at $CG_ROOT; load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
