#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# One batch on three nodes, one deduplicating pipeline (issue 16): three `oombreaker run` agents
# on loopback, each with its own fixture cgroup tree, state directory, control socket and
# listener, the same policy file (no `release`: its hash keys the actions), and one receiver.py
# --dedup that lets the first request with an Idempotency-Key take effect.
# - all three trip: 3 deliveries, ONE key, exactly one effect;
# - `reset` on all three (no --release), trip again: 3 more deliveries under a second, different
#   key (generation 1), a second effect (2 in all);
# - `reset --release r2` on all three, trip again: a third key (release r2, generation 0), a
#   third effect; every payload names the release and generation its key uses.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/agent.sh"
need_cmd curl jq
tmpdir_setup

NODES=(n1 n2 n3)
declare -A URL SOCK

receiver_start pipeline --dedup
agent_policy "$TEST_TMP/policy.ini" fleet 200ms 0.9 "http://127.0.0.1:$RECEIVER_PORT/rollback"
chmod 0644 "$TEST_TMP/policy.ini"
release=$(sha256sum "$TEST_TMP/policy.ini" | cut -c1-16)

# node_start NODE: one agent on its own copy of the fixture tree, the shared policy file.
node_start() {
	local d=$TEST_TMP/$1 port try
	mkdir -p "$d"
	cp -a "$SOURCE_DIR/tests/fixtures/cgroup-v2" "$d/cg"
	set_ratio "$1" low
	for try in 1 2 3; do
		port=$(free_port)
		spawn "agent-$1" "$BIN" run --state-dir "$d/state" --socket "$d/ctl.sock" \
			--listen "127.0.0.1:$port" --cgroup-root "$d/cg" --policy "$TEST_TMP/policy.ini"
		URL[$1]=http://127.0.0.1:$port
		SOCK[$1]=$d/ctl.sock
		wait_until 10 curl -sf --max-time 2 -o /dev/null "${URL[$1]}/healthz" && return 0
		spawn_kill "$SPAWN_PID" || true
		log "node $1: no /healthz on port $port (try $try)"
	done
	fail "node $1 did not start (see agent-$1.log)"
}

# set_ratio NODE low|high: the node's canary at 55 % or 92 % of its limit (agent.sh's values).
set_ratio() {
	local v=$AGENT_CURRENT_LOW
	[ "$2" = low ] || v=$AGENT_CURRENT_HIGH
	printf '%s\n' "$v" | dd of="$TEST_TMP/$1/cg/system.slice/order-canary@1.service/memory.current" \
		conv=notrunc status=none
}

phase_is() {
	curl -sf --max-time 2 "${URL[$1]}/status" | jq -e --arg p "$2" '.batches[0].phase == $p' >/dev/null
}

# trip_all: raises every canary, waits until each node rolled back, lowers them again.
trip_all() {
	local n
	for n in "${NODES[@]}"; do set_ratio "$n" high; done
	for n in "${NODES[@]}"; do
		wait_until 15 phase_is "$n" rolled_back || fail "node $n did not roll back"
	done
	for n in "${NODES[@]}"; do set_ratio "$n" low; done
}

# reset_all [--release ID]
reset_all() {
	local n out
	for n in "${NODES[@]}"; do
		out=$("$BIN" reset fleet --socket "${SOCK[$n]}" "$@") || fail "reset on $n: $out"
		log "node $n: $out"
		wait_until 5 phase_is "$n" armed || fail "node $n not armed after reset"
	done
}

# check_round N KEY: N*3 deliveries so far, the last 3 all under KEY, N effects, N distinct keys.
check_round() {
	local n=$1 key=$2 got
	got=$(jq -cs '[.[] | select(.path == "/rollback")]' "$RECEIVER_LOG")
	jq -e --argjson n "$n" --arg key "$key" '
		length == 3 * $n
		and ([.[-3:][].headers["Idempotency-Key"]] | unique) == [$key]
		and ([.[] | select(.effect)] | length) == $n
		and ([.[].headers["Idempotency-Key"]] | unique | length) == $n' <<<"$got" >/dev/null ||
		fail "round $n: want 3 deliveries under $key, $n effect(s) and $n key(s) in all; got: $(jq -c \
			'[.[] | {key: .headers["Idempotency-Key"], effect, host: .json.host}]' <<<"$got")"
}

for n in "${NODES[@]}"; do node_start "$n"; done

trip_all
key1="fleet:$release:0:rollback"
check_round 1 "$key1"
jq -se --arg r "$release" 'map(select(.path == "/rollback")) | all(.json.release == $r and .json.generation == 0)' \
	"$RECEIVER_LOG" >/dev/null || fail "the payloads do not name release $release, generation 0"
log "round 1: 3 nodes tripped, one key $key1, one effect"

reset_all
trip_all
key2="fleet:$release:1:rollback"
check_round 2 "$key2"
log "round 2: after a reset, a new key $key2 and a second effect"

reset_all --release r2
trip_all
check_round 3 "fleet:r2:0:rollback"
jq -se 'map(select(.path == "/rollback"))[-3:] | all(.json.release == "r2" and .json.generation == 0)' \
	"$RECEIVER_LOG" >/dev/null || fail "round 3's payloads do not name release r2"
log "round 3: reset --release r2, a third key and a third effect"

# The status says what the next trip's keys use; a bad --release is refused before it is sent.
curl -sf "${URL[n1]}/status" | jq -e '.batches[0].release == "r2" and .batches[0].generation == 0' >/dev/null ||
	fail "status lacks the release: $(curl -sf "${URL[n1]}/status")"
rc=0
"$BIN" reset fleet --socket "${SOCK[n1]}" --release 'r:3' 2>"$TEST_TMP/bad.err" || rc=$?
if [ "$rc" != 1 ] || ! grep -q -- '--release: "r:3" is not a release' "$TEST_TMP/bad.err"; then
	fail "reset --release r:3 exited $rc: $(cat "$TEST_TMP/bad.err")"
fi
log "3 nodes, 9 deliveries, 3 keys, 3 effects"
