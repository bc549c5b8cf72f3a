#!/usr/bin/env bash
# Reaction time of `oombreaker run` (issue 5, must show 5): from the end of the tick that
# completes the Nth breach (the agent's debug line "trip ... evaluated at mono_ns=...") to the
# arrival of the first action request at a loopback receiver (its record's mono_ns, taken when
# the request line arrived). Both are CLOCK_MONOTONIC. The span includes writing the trip to the
# state file (fsync, rename, fsync of the directory) before anything is sent.
#
#   scripts/bench-reaction.sh [-n TRIPS]     (root: it makes a real memory cgroup; default 20)
#
# One agent, one cgroup that keeps breaching (80 MiB held under 128 MiB, memory_ratio_above =
# 0.5, 3 ticks of 200 ms); after each trip is rolled back, `oombreaker reset` arms it again.
# Prints each trip's figure, then median, p90 and max, and the cost of one durable write (temp
# file, fsync, rename, fsync of the directory) in the same directory, measured right after: the
# floor that exactly-once puts under the reaction. The goal is a median under 5 ms. The state
# dir is under $TMPDIR (default /tmp); TMPDIR=/dev/shm shows the agent's cost without the disk.
set -euo pipefail
cd "$(dirname "$0")/.."
trips=20
while getopts n: opt; do
	case $opt in
	n) trips=$OPTARG ;;
	*)
		echo "usage: $0 [-n TRIPS]" >&2
		exit 1
		;;
	esac
done
[[ $trips =~ ^[1-9][0-9]*$ ]] || { echo "$0: -n wants a positive number" >&2; exit 1; }
# shellcheck source=../tests/lib/common.sh
source tests/lib/common.sh
# shellcheck source=../tests/lib/run.sh
source tests/lib/run.sh
if [ ! -x "$OOMBREAKER" ]; then
	cmake -S . -B build >/dev/null
	cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
fi

run_test_setup
hog_start hog 128MiB 80
receiver_start recv
url=http://127.0.0.1:$RECEIVER_PORT
policy_write "$TEST_TMP/p.ini" bench 200ms "$(http_action drain "$url/drain")" \
	"$(http_action rollback "$url/rollback")"
agent_start agent "$TEST_TMP/p.ini" "$TEST_TMP/state"

# reaction_ms ID: the reaction of trip ID in ms (3 decimals), once both ends are recorded.
reaction_ms() {
	local eval_ns recv_ns
	eval_ns=$(sed -n "s/.*trip $1 evaluated at mono_ns=\([0-9]*\).*/\1/p" "$TEST_TMP/agent.log")
	recv_ns=$(jq -r --arg id "$1" 'select(.json.trip_id == $id and .path == "/drain") | .mono_ns' \
		"$RECEIVER_LOG" | head -n 1)
	[ -n "$eval_ns" ] && [ -n "$recv_ns" ] || return 1
	awk -v a="$eval_ns" -v b="$recv_ns" 'BEGIN { printf "%.3f\n", (b - a) / 1e6 }'
}

# new_trip_done PREV_ID: the state file holds a rolled-back trip other than PREV_ID.
new_trip_done() {
	jq -e --arg prev "$1" '.phase == "rolled_back" and .trip.id != $prev' "$(state_file bench)"
}

: >"$TEST_TMP/figures"
id=
for i in $(seq "$trips"); do
	wait_until 20 new_trip_done "$id" || fail "trip $i: not rolled back"
	id=$(jq -r .trip.id "$(state_file bench)")
	ms=$(reaction_ms "$id") || fail "trip $i: no mono_ns for $id in the log or at the receiver"
	printf 'trip %2d  %s  %8s ms\n' "$i" "$id" "$ms"
	echo "$ms" >>"$TEST_TMP/figures"
	"$OOMBREAKER" reset bench --socket "$AGENT_SOCKET" >/dev/null || fail "reset failed"
done
agent_stop
sort -g "$TEST_TMP/figures" | awk '{ v[NR] = $1 } END {
	med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	p90 = v[int(NR * 0.9 + 0.999999)]
	printf "reaction over %d trips: median %.3f ms, p90 %.3f ms, max %.3f ms (min %.3f ms)\n",
		NR, med, p90, v[NR], v[1]
}'
# The floor: 20 atomic, durable writes of a state-sized file where the agent wrote its state.
"$PYTHON" - "$AGENT_STATE_DIR" <<'PY'
import os, statistics, sys, time
d, ts = sys.argv[1], []
for _ in range(20):
    t = time.monotonic_ns()
    fd = os.open(f"{d}/floor.tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, b"x" * 1024)
    os.fsync(fd)
    os.close(fd)
    os.rename(f"{d}/floor.tmp", f"{d}/floor.json")
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(dfd)
    os.close(dfd)
    ts.append((time.monotonic_ns() - t) / 1e6)
    time.sleep(0.05)
ts.sort()
print(f"one durable write there: median {statistics.median(ts):.3f} ms, p90 {ts[17]:.3f} ms")
PY
echo "state dir on: $(df --output=source,fstype "$TEST_TMP" | tail -n 1), load average $(cut -d' ' -f1-3 /proc/loadavg)"
