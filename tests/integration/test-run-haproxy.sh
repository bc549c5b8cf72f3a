#!/usr/bin/env bash
# `oombreaker run` against a real HAProxy (issue 5, must show 4): Debian's haproxy on loopback,
# backend `app` with servers `stable` and `canary`, runtime API on a unix socket and on TCP. A
# trip on a real memory cgroup runs the `haproxy` action, then an http rollback:
#  run 1 (unix socket, state = maint): the canary goes to MAINT, the stable server stays READY;
#  run 2 (TCP address, state = drain): the canary goes to DRAIN.
# Each is read back with `show servers state` over socat (not the agent's own parser), at the
# moment the rollback reaches the receiver (so the cut came first) and again at the end.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "${OOMBREAKER_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/common.sh"
# shellcheck source=../lib/run.sh
source "$SOURCE_DIR/tests/lib/run.sh"
# shellcheck source=../lib/haproxy.sh
source "$SOURCE_DIR/tests/lib/haproxy.sh"

need_cmd haproxy socat
run_test_setup
# haproxy is not spawned through common.sh: stop it first, then the usual cleanup, keeping $?.
# shellcheck disable=SC2154 # rc is assigned inside the trap
trap 'rc=$?; haproxy_stop; (exit $rc); _cleanup' EXIT
hog_start hog 128MiB 80
haproxy_start "$TEST_TMP" || fail "haproxy did not start"
receiver_start recv --delay '/rollback=1'

# admin_state SERVER: MAINT, DRAIN or READY from srv_admin_state (column 7) of `show servers
# state app`: 0x01/0x02/0x04/0x20 are maintenance, 0x08/0x10 drain.
admin_state() {
	echo "show servers state app" | socat -t 5 - "UNIX-CONNECT:$HAPROXY_SOCKET" |
		awk -v s="$1" '$1 !~ /^#/ && $2 == "app" && $4 == s {
			a = $7 + 0; found = 1
			m = a % 2 || int(a / 2) % 2 || int(a / 4) % 2 || int(a / 32) % 2
			d = int(a / 8) % 2 || int(a / 16) % 2
			print (m ? "MAINT" : d ? "DRAIN" : "READY") }
			END { exit !found }'
}

# run_case NAME WHERE STATE WANT: a trip whose cut is `haproxy` (WHERE: its socket or address
# line) setting STATE, then the rollback; the canary must read WANT when the rollback arrives.
run_case() {
	local name=$1 where=$2 state=$3 want=$4 at_rollback
	recv_reset
	[ "$(admin_state canary)" = READY ] || fail "$name: the canary is not READY to begin with"
	policy_write "$TEST_TMP/$name.ini" b1 200ms \
		"$(printf '[action cut]\ntype = haproxy\n%s\nserver = app/canary\nstate = %s\ntimeout = 2s\n' "$where" "$state")" \
		"$(http_action rollback "http://127.0.0.1:$RECEIVER_PORT/rollback")"
	agent_start "agent-$name" "$TEST_TMP/$name.ini" "$TEST_TMP/state-$name"
	wait_until 20 eval '[ "$(recv_count /rollback)" -ge 1 ]' || fail "$name: no rollback arrived"
	at_rollback=$(admin_state canary)
	[ "$at_rollback" = "$want" ] || fail "$name: the canary was $at_rollback when the rollback arrived, want $want"
	wait_until 20 state_is b1 rolled_back || fail "$name: not rolled_back: $(cat "$(state_file b1)")"
	jq -e '[.actions[] | [.name, .status, .attempts]] == [["cut", "done", 1], ["rollback", "done", 1]]
		and .actions[0].result == "HAProxy accepted the command"' "$(state_file b1)" >/dev/null ||
		fail "$name: state file: $(cat "$(state_file b1)")"
	[ "$(admin_state canary)" = "$want" ] || fail "$name: the canary is $(admin_state canary), want $want"
	[ "$(admin_state stable)" = READY ] || fail "$name: the stable server left READY"
	[ "$(haproxy_server_state app canary)" = "$want" ] || fail "$name: haproxy_server_state disagrees"
	agent_stop
	echo "$name: canary $want (state = $state), stable READY, rollback after the cut"
}

run_case unix-maint "socket = $HAPROXY_SOCKET" maint MAINT
echo "set server app/canary state ready" | socat -t 5 - "UNIX-CONNECT:$HAPROXY_SOCKET" >/dev/null
run_case tcp-drain "address = 127.0.0.1:$HAPROXY_ADMIN_PORT" drain DRAIN
echo "PASS"
