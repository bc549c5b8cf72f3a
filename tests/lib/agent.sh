# shellcheck shell=bash
# shellcheck disable=SC2034 # AGENT_* are this library's outputs
# Helpers for the integration tests of `oombreaker run` on a copy of the v2 fixture cgroup tree
# (no root needed): the tests drive the memory figures by rewriting the copy's files between
# ticks. Source tests/lib/common.sh first and call tmpdir_setup.
#
#   agent_fixture                       # $TEST_TMP/cg, canary at 55 % of its 2 GiB limit
#   agent_policy "$TEST_TMP/b1.ini" b1 500ms 0.9 "http://127.0.0.1:$RECEIVER_PORT/rollback"
#   agent_start --policy "$TEST_TMP/b1.ini"
#   agent_set_ratio high                # 92 % from the next tick on
#   wait_until 10 agent_phase_is b1 rolled_back

BIN=${OOMBREAKER:?set OOMBREAKER to the oombreaker binary}
AGENT_CANARY=
AGENT_PID=
AGENT_PORT=
AGENT_URL=
AGENT_SOCK=
AGENT_STATE=
AGENT_LOG=

# The canary's memory.current values (10 digits each, so an in-place rewrite of the same length
# is one write(2) and a concurrent pread never sees a truncated file). The fixture's limit is
# 2147483648 and its inactive_file 104857600: low = 0.55 of the limit, high = 0.92.
AGENT_CURRENT_LOW=1286602752
AGENT_CURRENT_HIGH=2080374784

# agent_fixture: copies tests/fixtures/cgroup-v2 to $TEST_TMP/cg. Sets AGENT_CANARY (the
# directory of /system.slice/order-canary@1.service in the copy).
agent_fixture() {
	cp -a "$SOURCE_DIR/tests/fixtures/cgroup-v2" "$TEST_TMP/cg"
	AGENT_CANARY=$TEST_TMP/cg/system.slice/order-canary@1.service
	agent_set_ratio low
}

# agent_set_ratio low|high: rewrites the canary's memory.current in place (see above).
agent_set_ratio() {
	local v
	case $1 in
	low) v=$AGENT_CURRENT_LOW ;;
	high) v=$AGENT_CURRENT_HIGH ;;
	*) fail "agent_set_ratio: low or high, not '$1'" ;;
	esac
	printf '%s\n' "$v" | dd of="$AGENT_CANARY/memory.current" conv=notrunc status=none
}

# agent_policy FILE NAME INTERVAL RATIO [URL]: writes a policy for batch NAME watching the
# fixture canary, one rule `mem` (memory_ratio_above = RATIO, 2 breaches in a row) and, with URL,
# one http action `rollback` to it.
agent_policy() {
	cat >"$1" <<EOF
[batch]
name = $2
image = registry.example.com/order-svc:v2.4.1-rc3
stable_image = registry.example.com/order-svc:v2.4.0
traffic_percent = 5
interval = $3
consecutive = 2

[target canary-1]
cgroup = /system.slice/order-canary@1.service

[rule mem]
memory_ratio_above = $4
EOF
	[ -z "${5:-}" ] || cat >>"$1" <<EOF

[action rollback]
type = http
url = $5
method = POST
timeout = 2s
retries = 2
EOF
}

# agent_start [run options...]: spawns `oombreaker run` on the fixture copy with its state, socket
# and listener in $TEST_TMP (extra options are appended, so they may add --policy, --debug...);
# waits until /healthz answers 200. A listener port taken between free_port and the bind is
# retried with another port (3 tries). Sets AGENT_PID, AGENT_PORT, AGENT_URL, AGENT_SOCK,
# AGENT_STATE, AGENT_LOG.
agent_start() {
	local try
	AGENT_SOCK=${AGENT_SOCK:-$TEST_TMP/ctl.sock}
	AGENT_STATE=$TEST_TMP/state
	AGENT_LOG=$TEST_TMP/agent.log
	for try in 1 2 3; do
		AGENT_PORT=$(free_port)
		AGENT_URL=http://127.0.0.1:$AGENT_PORT
		spawn agent "$BIN" run --state-dir "$AGENT_STATE" --socket "$AGENT_SOCK" \
			--listen "127.0.0.1:$AGENT_PORT" --cgroup-root "$TEST_TMP/cg" "$@"
		AGENT_PID=$SPAWN_PID
		wait_until 10 eval "_agent_healthy || ! _group_alive $AGENT_PID" || true
		_agent_healthy && return 0
		_group_alive "$AGENT_PID" && fail "oombreaker run did not become healthy within 10 s"
		spawn_kill "$AGENT_PID" || true
		grep -q -- "--listen 127.0.0.1:$AGENT_PORT: Address already in use" "$AGENT_LOG" ||
			fail "oombreaker run exited at start (see agent.log)"
		log "port $AGENT_PORT was taken (try $try): another one"
	done
	fail "oombreaker run found no free port in 3 tries"
}

_agent_healthy() { curl -sf --max-time 2 -o /dev/null "$AGENT_URL/healthz"; }

# agent_status_json BATCH: prints the batch's object from GET /status.
agent_status_json() {
	curl -sf --max-time 2 "$AGENT_URL/status" |
		jq -ce --arg b "$1" '.batches[] | select(.batch == $b)'
}

# agent_phase BATCH: prints the batch's phase from GET /status.
agent_phase() { agent_status_json "$1" | jq -r .phase; }

# agent_phase_is BATCH PHASE: true when the batch is in PHASE.
agent_phase_is() { [ "$(agent_phase "$1")" = "$2" ]; }

# agent_log_has REGEX: true once the agent's log has a line matching the extended REGEX.
agent_log_has() { grep -Eq -- "$1" "$AGENT_LOG"; }

# agent_ticks: ticks the agent has completed (all batches), from its /metrics.
agent_ticks() { prom_sum "$AGENT_URL/metrics" oombreaker_tick_duration_seconds_count; }
_agent_ticks_at_least() { [ "$(agent_ticks)" -ge "$1" ]; }

# agent_wait_ticks N SECS: waits (SECS at most) until N more ticks have completed.
agent_wait_ticks() {
	local from
	from=$(agent_ticks) || return 1
	wait_until "$2" _agent_ticks_at_least $((from + $1))
}
