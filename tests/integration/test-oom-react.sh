#!/bin/bash
# An OOM kill in a real memory cgroup reaches the traffic cut in well under the interval: the
# agent registers the kernel's OOM event (v1 eventfd, v2 memory.events) and ticks at once
# instead of at the next 5 s tick. Each of KILLS kills must put the /cut request on the
# loopback receiver within LIMIT_MS of the hog's death (the clock starts at its waitpid, which
# can come after the event: negative figures are fine). Status says "events": "kernel".
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/run.sh"
run_test_setup

KILLS=${KILLS:-3}
LIMIT_MS=1000

HOG_CGROUP=$(cg_create hog 64MiB) || fail "cannot create the hog cgroup"
receiver_start recv
url=http://127.0.0.1:$RECEIVER_PORT
cat >"$TEST_TMP/oom.ini" <<INI
[batch]
name = oom-react
interval = 5s
consecutive = 1

[target hog]
cgroup = $HOG_CGROUP
memory_limit = 64MiB

[rule oom]
oom_kills_at_least = 1

$(http_action cut "$url/cut")
$(http_action rollback "$url/rollback")
INI
chmod 0644 "$TEST_TMP/oom.ini"
agent_start agent "$TEST_TMP/oom.ini" "$TEST_TMP/state"
phase_is() { agent_status oom-react | jq -e --arg p "$1" '[.. | .phase? // empty] | index($p)'; }
wait_until 20 phase_is armed || fail "the batch never armed: $(tail -n 3 "$TEST_TMP/agent.log")"
events=$(agent_status oom-react | jq -r '[.. | .events? // empty][0]')
[ "$events" = kernel ] || fail "status says events: $events, not kernel ($(agent_status oom-react |
	jq -c '[.. | .events_error? // empty]'))"

cut_ns() { jq -r 'select(.path == "/cut") | .mono_ns' "$RECEIVER_LOG" | sed -n "${1}p" | grep .; }
for i in $(seq "$KILLS"); do
	sleep "0.$((RANDOM % 10))" # kills at different points of the 5 s tick phase
	out=$("$PYTHON" "$SOURCE_DIR/tests/bench/oom-hog.py" "$(cg_path hog)/cgroup.procs" 1024) ||
		fail "kill $i: the hog was not killed"
	kill_ns=${out#mono_ns=}
	kill_ns=${kill_ns%% *}
	wait_until 10 cut_ns "$i" || fail "kill $i: no cut request within 10 s"
	ms=$(awk -v a="$kill_ns" -v b="$(cut_ns "$i")" 'BEGIN { printf "%.0f", (b - a) / 1e6 }')
	log "kill $i: the cut arrived $ms ms after the hog's death"
	[ "$ms" -le "$LIMIT_MS" ] || fail "kill $i: the cut came $ms ms after the kill (limit $LIMIT_MS)"
	wait_until 30 state_is oom-react rolled_back || fail "kill $i: not rolled back"
	"$OOMBREAKER" reset oom-react --socket "$AGENT_SOCKET" >/dev/null || fail "reset failed"
	wait_until 10 phase_is armed || fail "kill $i: not re-armed"
done
agent_stop
log "PASS: $KILLS OOM kills, each cut within $LIMIT_MS ms with a 5 s interval"
