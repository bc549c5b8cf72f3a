# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2034 # DEMO_* are this library's outputs
# The demo scenario, shared by scripts/demo and tests/integration/test-demo.sh: a leaking Go
# canary in a 256 MiB memory cgroup next to a stable instance, HAProxy on loopback sending ~5 % of
# the traffic to the canary, a receiver standing in for the deployment pipeline, and
# `oombreaker run` watching the canary with policies/demo.ini (ports and cgroup filled in).
#
# Source tests/lib/common.sh first and call tmpdir_setup: every process here is started with
# `spawn` (HAProxy, started by tests/lib/haproxy.sh, is adopted with `spawn_adopt`) and the cgroup
# with `cg_create`, so the EXIT/INT/TERM traps of common.sh stop and remove them all. Needs root,
# a memory cgroup controller, haproxy, socat, curl, jq, go.
#
#   demo_play && demo_report && demo_verify    # scripts/demo
#   demo_play; <assertions on the live peers>  # tests/integration/test-demo.sh

DEMO_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEMO_POLICY_SOURCE=${DEMO_POLICY_SOURCE:-$DEMO_LIB_DIR/../../policies/demo.ini}
DEMO_BATCH=demo
DEMO_CG_LIMIT=256MiB
# The canary leaks 16 MiB of orders a second and stops adding at 205 MiB: its working set then
# holds at ~93 % of the limit with the collector running back to back, instead of being OOM-killed
# (it would be ~14 s after the leak starts) before the breaker has seen three breaches in a row.
DEMO_LEAK_MB_PER_SEC=${DEMO_LEAK_MB_PER_SEC:-16}
DEMO_LEAK_MAX_MB=${DEMO_LEAK_MAX_MB:-205}
# Everything the agent did must be over by then (the leak takes ~13 s to reach the threshold).
DEMO_WATCH_TIMEOUT=${DEMO_WATCH_TIMEOUT:-40}

DEMO_BOLD='' DEMO_RED='' DEMO_GREEN='' DEMO_OFF=''

# demo_colors: bold/red/green escapes when stdout is a terminal and DEMO_NONINTERACTIVE is unset.
demo_colors() {
	[ -t 1 ] && [ -z "${DEMO_NONINTERACTIVE:-}" ] || return 0
	DEMO_BOLD=$'\e[1m' DEMO_RED=$'\e[1;31m' DEMO_GREEN=$'\e[1;32m' DEMO_OFF=$'\e[0m'
}

# demo_step TEXT: a section heading of the demo's output.
demo_step() { printf '\n%s== %s%s\n' "$DEMO_BOLD" "$*" "$DEMO_OFF"; }

# demo_say TEXT: one indented line of the demo's output.
demo_say() { printf '   %s\n' "$*"; }

# demo_record NAME VALUE: leaves VALUE in $TEST_TMP/NAME, for the tests and for a post-mortem.
demo_record() { printf '%s\n' "$2" >"$TEST_TMP/$1"; }

# demo_record_pid PID: appends a spawned process to $TEST_TMP/pids (what must be gone at the end).
demo_record_pid() { printf '%s\n' "$1" >>"$TEST_TMP/pids"; }

# --- HAProxy ---------------------------------------------------------------------------------

# shellcheck source=../../tests/lib/haproxy.sh
source "$DEMO_LIB_DIR/../../tests/lib/haproxy.sh"

# demo_haproxy_raw COMMAND: one runtime API command over the TCP admin address oombreaker uses;
# prints HAProxy's reply.
demo_haproxy_raw() {
	printf '%s\n' "$1" | socat -t 2 - "TCP:127.0.0.1:$DEMO_HAPROXY_API_PORT"
}

# demo_server_status BACKEND/SERVER: the server's status column of `show stat` (MAINT, DRAIN,
# "no check", ...), in HAProxy's own words.
demo_server_status() {
	local be=${1%/*} srv=${1#*/}
	demo_haproxy_raw "show stat" | awk -F, -v be="$be" -v srv="$srv" \
		'$1 == be && $2 == srv { print $18; found = 1 } END { exit !found }'
}

# demo_admin_state BACKEND/SERVER: srv_admin_state from `show servers state BACKEND`, a bit field
# (0x01: forced into maintenance over the runtime API, 0x08: forced drain).
demo_admin_state() {
	local be=${1%/*} srv=${1#*/}
	demo_haproxy_raw "show servers state $be" | awk -v srv="$srv" \
		'$1 !~ /^#/ && $4 == srv { print $7; found = 1 } END { exit !found }'
}

# demo_haproxy_start: HAProxy (tests/lib/haproxy.sh) in front of the two instances, weights 95/5,
# stopped by common.sh's cleanup. Sets DEMO_HAPROXY_PORT (the frontend), DEMO_HAPROXY_API_PORT
# (the runtime API over TCP) and DEMO_HAPROXY_PID.
demo_haproxy_start() {
	HAPROXY_STABLE_PORT=$DEMO_STABLE_PORT HAPROXY_CANARY_PORT=$DEMO_CANARY_PORT
	HAPROXY_STABLE_WEIGHT=95 HAPROXY_CANARY_WEIGHT=5
	haproxy_start "$TEST_TMP" || fail "haproxy did not start on loopback"
	spawn_adopt "$HAPROXY_PID" haproxy
	DEMO_HAPROXY_PID=$HAPROXY_PID
	DEMO_HAPROXY_PORT=$HAPROXY_FRONTEND_PORT
	DEMO_HAPROXY_API_PORT=$HAPROXY_ADMIN_PORT
	demo_record_pid "$HAPROXY_PID"
	wait_until 10 curl -sf --max-time 2 "http://127.0.0.1:$DEMO_HAPROXY_PORT/" ||
		fail "haproxy does not forward requests (see haproxy.log)"
}

# demo_requests N: sends N requests through HAProxy (one curl, kept-alive connection; HAProxy
# balances each request); prints one instance name per answer.
demo_requests() {
	local url=http://127.0.0.1:$DEMO_HAPROXY_PORT/ i args=()
	for ((i = 0; i < $1; i++)); do
		args+=("$url")
	done
	curl -s --max-time 10 "${args[@]}"
}

# demo_split FILE: "stable 95, canary 5" from a file of instance names.
demo_split() {
	awk '{ n[$1]++ } END { printf "stable %d, canary %d", n["stable"], n["canary"]
		for (k in n) if (k != "stable" && k != "canary") printf ", %s %d", k, n[k]
		printf "\n" }' "$1"
}

# --- the peers -------------------------------------------------------------------------------

# demo_start_peers: the canary's memory cgroup, the stable and canary leaky instances (the canary
# inside the cgroup, with Go's soft limit at 90 % of it), the pipeline's receiver and HAProxy.
# Sets DEMO_CG (the cgroup below the memory root), DEMO_STABLE_PORT, DEMO_CANARY_PORT,
# DEMO_RECEIVER_PORT and the DEMO_HAPROXY_* variables.
demo_start_peers() {
	cg_detect || fail "no memory cgroup controller is mounted (neither v2 nor v1)"
	DEMO_CG=$(cg_create canary "$DEMO_CG_LIMIT")
	demo_record cgroup "$(cg_path canary)"
	demo_say "memory cgroup v$CG_VERSION $DEMO_CG, limit $DEMO_CG_LIMIT, swap off"

	leaky_build
	leaky_start stable --memory-limit off
	DEMO_STABLE_PORT=$LEAKY_PORT
	demo_record_pid "$LEAKY_PID"
	LEAKY_CGROUP=canary leaky_start canary --leak-mb-per-sec "$DEMO_LEAK_MB_PER_SEC" \
		--leak-max-mb "$DEMO_LEAK_MAX_MB"
	DEMO_CANARY_PORT=$LEAKY_PORT
	demo_record_pid "$LEAKY_PID"
	grep -qx "$LEAKY_PID" "$(cg_path canary)/cgroup.procs" || fail "the canary is not in its cgroup"
	demo_say "leaky stable on 127.0.0.1:$DEMO_STABLE_PORT, leaky canary on" \
		"127.0.0.1:$DEMO_CANARY_PORT (pid $LEAKY_PID, in the cgroup)"

	receiver_start pipeline --verbose --label pipeline
	DEMO_RECEIVER_PORT=$RECEIVER_PORT
	demo_record_pid "$RECEIVER_PID"
	demo_say "pipeline receiver on 127.0.0.1:$DEMO_RECEIVER_PORT (stands in for CI's rollback API)"

	demo_haproxy_start
	demo_say "haproxy: frontend 127.0.0.1:$DEMO_HAPROXY_PORT -> app/stable weight 95," \
		"app/canary weight 5; runtime API 127.0.0.1:$DEMO_HAPROXY_API_PORT"
}

# demo_policy: writes $TEST_TMP/policy/demo.ini, policies/demo.ini with this run's cgroup and
# ports (its thresholds as they are), mode 0644; sets DEMO_POLICY and DEMO_STABLE_IMAGE.
demo_policy() {
	local dir=$TEST_TMP/policy want
	mkdir -p "$dir"
	DEMO_POLICY=$dir/demo.ini
	sed -E -e "s#^cgroup = .*#cgroup = $DEMO_CG#" \
		-e "s#^(metrics_url = http://127\.0\.0\.1:)[0-9]+/#\1$DEMO_CANARY_PORT/#" \
		-e "s#^(address = 127\.0\.0\.1:)[0-9]+#\1$DEMO_HAPROXY_API_PORT#" \
		-e "s#^(url = http://127\.0\.0\.1:)[0-9]+/#\1$DEMO_RECEIVER_PORT/#" \
		"$DEMO_POLICY_SOURCE" >"$DEMO_POLICY"
	chmod 0644 "$DEMO_POLICY"
	for want in "cgroup = $DEMO_CG" "metrics_url = http://127.0.0.1:$DEMO_CANARY_PORT/" \
		"address = 127.0.0.1:$DEMO_HAPROXY_API_PORT" "url = http://127.0.0.1:$DEMO_RECEIVER_PORT/"; do
		grep -q "^$want" "$DEMO_POLICY" || fail "$DEMO_POLICY_SOURCE: no line to turn into '$want'"
	done
	DEMO_STABLE_IMAGE=$(sed -n 's/^stable_image = *//p' "$DEMO_POLICY")
	"$OOMBREAKER" check "$DEMO_POLICY" | sed 's/^/   /'
}

# demo_agent_start: `oombreaker run` on the generated policy, with a state dir, control socket
# and trace file of its own and no HTTP listener; waits until it answers `status` (armed) and has
# sampled the canary once. Sets DEMO_AGENT_PID, DEMO_SOCKET, DEMO_STATE_DIR, DEMO_TRACE.
demo_agent_start() {
	DEMO_STATE_DIR=$TEST_TMP/state
	DEMO_SOCKET=$TEST_TMP/control.sock
	DEMO_TRACE=$TEST_TMP/trace.jsonl
	mkdir -p "$DEMO_STATE_DIR"
	# The policy ticks every second so the demo is over in seconds; production policies use 5s.
	spawn agent "$OOMBREAKER" run --policy "$DEMO_POLICY" --state-dir "$DEMO_STATE_DIR" \
		--socket "$DEMO_SOCKET" --listen none --trace "$DEMO_TRACE"
	DEMO_AGENT_PID=$SPAWN_PID
	demo_record_pid "$SPAWN_PID"
	if ! wait_until 10 eval "! _group_alive $SPAWN_PID || { demo_status_json |
		grep -q '\"phase\":\"armed\"' && test -s '$DEMO_TRACE'; }" || ! _group_alive "$SPAWN_PID"; then
		fail "oombreaker run did not come up armed (see agent.log)"
	fi
	demo_say "oombreaker run (pid $DEMO_AGENT_PID) is armed, sampling every second" \
		"(production: every 5s)"
}

# demo_status_json: the batch's status from the agent, as JSON.
demo_status_json() {
	"$OOMBREAKER" status "$DEMO_BATCH" --json --socket "$DEMO_SOCKET" --state-dir "$DEMO_STATE_DIR"
}

# demo_traffic_start: a client sending ~25 requests a second through HAProxy for the whole run;
# the answers (instance names) go to $TEST_TMP/traffic.txt.
demo_traffic_start() {
	local url=http://127.0.0.1:$DEMO_HAPROXY_PORT/
	# shellcheck disable=SC2016 # expanded by the child bash
	spawn traffic bash -c 'while :; do curl -s --max-time 2 "$0" "$0" "$0" "$0" "$0" >>"$1"; sleep 0.2; done' \
		"$url" "$TEST_TMP/traffic.txt"
	demo_record_pid "$SPAWN_PID"
}

# demo_watch: the live timeline (scripts/lib/demo-timeline.py) until the batch is rolled back or
# failed; it turns the canary's leak on after two baseline ticks. Returns its exit status.
demo_watch() {
	local rc=0
	"$PYTHON" "$DEMO_LIB_DIR/demo-timeline.py" --oombreaker "$OOMBREAKER" --batch "$DEMO_BATCH" \
		--instance canary --socket "$DEMO_SOCKET" --state-dir "$DEMO_STATE_DIR" \
		--trace "$DEMO_TRACE" --agent-log "$TEST_TMP/agent.log" --agent-pid "$DEMO_AGENT_PID" \
		--receiver-log "$RECEIVER_LOG" --timeout "$DEMO_WATCH_TIMEOUT" \
		--leak-url "http://127.0.0.1:$DEMO_CANARY_PORT/leak" --leak-marker "$TEST_TMP/leak-on" ||
		rc=$?
	return "$rc"
}

# --- what happened ---------------------------------------------------------------------------

# demo_report: reads back what the agent did, from the peers themselves: the servers' state in
# HAProxy, where 100 requests through HAProxy now land, the rollback the pipeline received, and
# the agent's verdict. Leaves haproxy-state.txt, after-drain.txt and status.json in $TEST_TMP.
demo_report() {
	local srv
	demo_step "HAProxy, read back over its runtime API"
	for srv in app/stable app/canary; do
		printf '%s status=%s admin_state=%s\n' "$srv" "$(demo_server_status "$srv")" \
			"$(demo_admin_state "$srv")"
	done | tee "$TEST_TMP/haproxy-state.txt" | sed 's/^/   /'
	demo_say "(show stat: MAINT = in maintenance, no traffic; show servers state: admin_state 1 =" \
		"forced into maintenance over the runtime API)"

	demo_requests 100 >"$TEST_TMP/after-drain.txt" || true
	demo_say "100 requests through HAProxy now: $(demo_split "$TEST_TMP/after-drain.txt")"

	demo_step "What the pipeline received"
	demo_rollbacks | jq -r '"   \(.method) \(.path), attempt \(.attempt), answered \(.answer),
   Idempotency-Key: \(.headers["Idempotency-Key"] // "-")"' || true
	demo_rollbacks | jq '.json' | sed 's/^/   /' || true

	demo_step "Verdict: oombreaker status $DEMO_BATCH"
	demo_status_json >"$TEST_TMP/status.json" || true
	"$OOMBREAKER" status "$DEMO_BATCH" --socket "$DEMO_SOCKET" --state-dir "$DEMO_STATE_DIR" |
		sed 's/^/   /' || true
}

# demo_rollbacks: the requests the pipeline's receiver got on /rollback, one JSON object a line.
demo_rollbacks() {
	jq -c 'select(.path == "/rollback")' "$RECEIVER_LOG"
}

# demo_verify: 0 when the breaker tripped and both actions landed: the agent says rolled_back
# with a trip, HAProxy has app/canary in MAINT and sends every request to app/stable, and the
# pipeline got exactly one rollback (answered 200) naming the stable image. Says what failed.
demo_verify() {
	local problems=() n
	jq -e '.phase == "rolled_back" and .trip != null' "$TEST_TMP/status.json" >/dev/null 2>&1 ||
		problems+=("the agent's verdict is $(jq -c '{phase, tripped: (.trip != null)}' "$TEST_TMP/status.json" 2>/dev/null || echo unknown), want rolled_back with a trip")
	grep -q '^app/canary status=MAINT ' "$TEST_TMP/haproxy-state.txt" ||
		problems+=("HAProxy does not have app/canary in MAINT: $(grep canary "$TEST_TMP/haproxy-state.txt")")
	n=$(grep -cx stable "$TEST_TMP/after-drain.txt" || true)
	[ "$n" = 100 ] || problems+=("$n of 100 requests after the drain reached app/stable")
	n=$(demo_rollbacks | wc -l)
	[ "$n" = 1 ] || problems+=("the pipeline got $n rollback requests, want exactly 1")
	demo_rollbacks | jq -e --arg img "$DEMO_STABLE_IMAGE" \
		'.answer == 200 and .json.stable_image == $img' >/dev/null ||
		problems+=("the rollback does not name stable_image '$DEMO_STABLE_IMAGE' or was not answered 200")
	if [ ${#problems[@]} -gt 0 ]; then
		printf '\n%sFAILED:%s\n' "$DEMO_RED" "$DEMO_OFF"
		printf '   - %s\n' "${problems[@]}"
		return 1
	fi
	printf '\n%sOK:%s tripped, canary drained in HAProxy (MAINT, 100/100 requests to stable),\n' \
		"$DEMO_GREEN" "$DEMO_OFF"
	printf '    rollback to %s received once by the pipeline.\n' "$DEMO_STABLE_IMAGE"
}

# demo_play: the whole scenario up to the verdict: peers, policy, 100 requests to show the split,
# the agent, background traffic, then the live timeline (which turns the leak on). Returns the
# timeline's exit status (0 once the batch is rolled back).
demo_play() {
	local rc=0
	demo_step "Setting the scene (work dir $TEST_TMP)"
	demo_start_peers
	demo_policy
	demo_requests 100 >"$TEST_TMP/before.txt" || true
	demo_say "100 requests through HAProxy: $(demo_split "$TEST_TMP/before.txt")"
	demo_agent_start
	demo_traffic_start
	demo_say "a client sends ~25 requests a second through HAProxy"

	demo_step "Timeline (seconds since the agent came up)"
	demo_watch || rc=$?
	case $rc in
	0 | 130 | 143) ;;
	*) echo "${DEMO_RED}the breaker did not roll the canary back (timeline exit $rc)$DEMO_OFF" ;;
	esac
	return "$rc"
}
