# shellcheck shell=bash
# shellcheck disable=SC2034 # AGENT_*, HOG_* are this library's outputs
# Helpers for the tests of `oombreaker run` against a real memory cgroup (source after common.sh):
# a hog that holds anonymous memory in a limited cgroup, a policy writer, and the agent started
# with its own state dir, control socket and trace.
#
#   run_test_setup                       # root + memory cgroup + jq/curl, else exit 77
#   hog_start hog 128MiB 80              # cgroup "hog" limited to 128 MiB, 80 MiB held in it
#   policy_write "$TEST_TMP/p.ini" b1 300ms "$(http_action drain "$url/drain")"
#   agent_start agent "$TEST_TMP/p.ini" "$TEST_TMP/state"
#   wait_until 10 state_is b1 rolled_back || fail "..."

OOMBREAKER=${OOMBREAKER:-${OOMBREAKER_BINARY_DIR:-$SOURCE_DIR/build}/oombreaker}
AGENT_PID=
AGENT_STATE_DIR=
AGENT_SOCKET=
HOG_CGROUP=

# run_test_setup: skips unless root, a memory cgroup controller, jq and curl are here; makes
# $TEST_TMP with its cleanup traps.
run_test_setup() {
	need_memory_cgroup
	need_cmd jq curl
	[ -x "$OOMBREAKER" ] || fail "no oombreaker binary at $OOMBREAKER (set OOMBREAKER)"
	tmpdir_setup
}

# cg_usage NAME: the cgroup's memory usage in bytes (v1 or v2).
cg_usage() {
	if [ "$CG_VERSION" = 2 ]; then
		cat "$(cg_path "$1")/memory.current"
	else
		cat "$(cg_path "$1")/memory.usage_in_bytes"
	fi
}

_usage_at_least() { [ "$(cg_usage "$1")" -ge "$2" ]; }

# hog_start NAME LIMIT MIB: a memory cgroup NAME limited to LIMIT holding MIB MiB of touched
# anonymous memory (a Python process); waits until the cgroup is charged. Sets HOG_CGROUP (the
# path below the memory root, for a policy's `cgroup =`).
hog_start() {
	local name=$1 limit=$2 mib=$3
	HOG_CGROUP=$(cg_create "$name" "$limit") || fail "cannot create the cgroup $name"
	cg_spawn "$name" "$name" "$PYTHON" -c 'import signal, sys
held = b"\x01" * (int(sys.argv[1]) << 20)
signal.pause()' "$mib"
	wait_until 10 _usage_at_least "$name" $((mib << 20)) ||
		fail "the hog in $name never held $mib MiB (usage $(cg_usage "$name"))"
}

# http_action NAME URL [EXTRA_LINE...]: an [action] section of type http.
http_action() {
	local name=$1 url=$2 line
	shift 2
	printf '[action %s]\ntype = http\nurl = %s\n' "$name" "$url"
	for line; do
		printf '%s\n' "$line"
	done
	printf '\n'
}

# policy_write FILE BATCH INTERVAL [SECTION...]: a policy with one target on $HOG_CGROUP and a
# rule memory_ratio_above = 0.5 (consecutive 3); SECTIONs (actions, more targets) follow.
policy_write() {
	local file=$1 batch=$2 interval=$3 section
	shift 3
	{
		printf '[batch]\nname = %s\nimage = registry.example.com/order-svc:v2.4.1-rc3\n' "$batch"
		printf 'stable_image = registry.example.com/order-svc:v2.4.0\ntraffic_percent = 5\n'
		printf 'interval = %s\nconsecutive = 3\n\n' "$interval"
		printf '[target canary-1]\ncgroup = %s\n\n' "$HOG_CGROUP"
		printf '[rule ratio]\nmemory_ratio_above = 0.5\n\n'
		for section; do
			printf '%s\n' "$section"
		done
	} >"$file"
}

# agent_start NAME POLICY STATE_DIR [run options...]: spawns `oombreaker run --debug` with its log
# in $TEST_TMP/NAME.log, the control socket $TEST_TMP/NAME.sock, no HTTP listener, the memory root
# found by cg_detect; waits until its control socket answers. Sets AGENT_PID, AGENT_STATE_DIR and
# AGENT_SOCKET.
agent_start() {
	local name=$1 policy=$2 state=$3
	shift 3
	AGENT_STATE_DIR=$state
	AGENT_SOCKET=$TEST_TMP/$name.sock
	rm -f "$AGENT_SOCKET"
	spawn "$name" "$OOMBREAKER" run --policy "$policy" --state-dir "$state" \
		--socket "$AGENT_SOCKET" --listen none --cgroup-root "$CG_ROOT" --debug "$@"
	AGENT_PID=$SPAWN_PID
	wait_until 10 eval "test -S '$AGENT_SOCKET' || ! _group_alive $AGENT_PID" || true
	if [ ! -S "$AGENT_SOCKET" ]; then
		fail "the agent $name did not start: $(tail -n 5 "$TEST_TMP/$name.log")"
	fi
}

# agent_sigkill: SIGKILLs the agent at once (no chance to flush anything) and reaps it.
agent_sigkill() {
	kill -KILL "$AGENT_PID" 2>/dev/null || true
	wait "$AGENT_PID" 2>/dev/null || true
	_spawn_forget "$AGENT_PID"
}

# agent_stop: SIGTERM; fails unless the agent exits 0 within 5 s.
agent_stop() {
	local rc=0
	spawn_kill "$AGENT_PID" 5 || rc=$?
	[ "$rc" = 0 ] || fail "the agent exited $rc on SIGTERM"
}

# agent_status BATCH: the daemon's `status BATCH --json` object.
agent_status() { "$OOMBREAKER" status "$1" --json --socket "$AGENT_SOCKET" --state-dir "$AGENT_STATE_DIR"; }

# state_file BATCH: the batch's state file in $AGENT_STATE_DIR.
state_file() { echo "$AGENT_STATE_DIR/$1.json"; }

# state_is BATCH PHASE: true when the state file says PHASE.
state_is() { jq -e --arg p "$2" '.phase == $p' "$(state_file "$1")" >/dev/null 2>&1; }

# recv_requests [PATH]: the receiver's records since its last reset (of PATH only when given), as
# one JSON array.
recv_requests() {
	curl -sf --max-time 5 "http://127.0.0.1:$RECEIVER_PORT/_receiver/requests" |
		jq -c --arg p "${1:-}" '[.[] | select($p == "" or .path == $p)]'
}

# recv_count PATH: how many requests to PATH the receiver recorded since its last reset.
recv_count() { recv_requests "$1" | jq length; }

recv_reset() { curl -sf --max-time 5 -X POST "http://127.0.0.1:$RECEIVER_PORT/_receiver/reset" >/dev/null; }
