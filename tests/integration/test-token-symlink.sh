#!/usr/bin/env bash
# A token_file laid out as Kubernetes mounts a Secret (token -> ..data/token, ..data ->
# ..<timestamp>), with `oombreaker run` on a real memory cgroup (as in test-run-actions.sh)
# against a real HTTP receiver on loopback:
#  (a) `check` accepts the policy, and a trip delivers the rollback with Authorization: Bearer
#      <token>; the receiver answers 503 with Retry-After: 3 first, the Secret is rotated
#      (..data swapped to a new dir) meanwhile, and the retry carries the new token;
#  (b) the Secret disappears between two attempts: the retry still goes out, with the token
#      read when the policy loaded, and the agent logs a warning saying so;
# the token appears nowhere in the agent's log or state file.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "${OOMBREAKER_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/common.sh"
# shellcheck source=../lib/run.sh
source "$SOURCE_DIR/tests/lib/run.sh"

run_test_setup
hog_start hog 128MiB 80

# secret_write DIR STAMP TOKEN: a new ..STAMP dir holding TOKEN, swapped in as ..data at once
# (a symlink renamed over the old one, as the kubelet does), with DIR/token -> ..data/token.
secret_write() {
	local dir=$1 stamp=..$2 token=$3
	mkdir -p "$dir/$stamp"
	printf '%s\n' "$token" >"$dir/$stamp/token"
	chmod 0600 "$dir/$stamp/token"
	ln -sfn "$stamp" "$dir/..data.tmp"
	mv -T "$dir/..data.tmp" "$dir/..data"
	[ -L "$dir/token" ] || ln -s ..data/token "$dir/token"
}

# start_case NAME [receiver options...]: a receiver and an agent whose policy has one rollback
# action with the Secret's token_file; the Secret starts with token $NAME-1.
start_case() {
	local name=$1
	shift
	SECRET=$TEST_TMP/secret-$name
	mkdir -m 0700 "$SECRET"
	secret_write "$SECRET" 2026_01_01_00_00_00.1 "$name-1-$RANDOM$RANDOM-$$"
	receiver_start "recv-$name" "$@"
	policy_write "$TEST_TMP/$name.ini" b1 300ms \
		"$(http_action rollback "http://127.0.0.1:$RECEIVER_PORT/rollback" \
			"token_file = $SECRET/token" "retries = 3")"
	"$OOMBREAKER" check "$TEST_TMP/$name.ini" >"$TEST_TMP/$name.check" 2>&1 ||
		fail "($name) check refused the policy: $(cat "$TEST_TMP/$name.check")"
	! grep -q token_file "$TEST_TMP/$name.check" || fail "($name) check: $(cat "$TEST_TMP/$name.check")"
	agent_start "agent-$name" "$TEST_TMP/$name.ini" "$TEST_TMP/state-$name"
}

# _rollbacks_at_least N: true once N rollbacks reached the receiver, or the batch has failed.
_rollbacks_at_least() { [ "$(recv_count /rollback)" -ge "$1" ] || state_is b1 failed; }

# auth_of N: the Authorization header of the Nth (0-based) rollback request.
auth_of() { recv_requests /rollback | jq -r --argjson n "$1" '.[$n].headers.Authorization'; }

echo "== (a) a symlinked token is sent, and a rotated one is sent on the retry"
start_case a --script '/rollback=503:3,200'
token1=$(cat "$SECRET/token")
wait_until 20 _rollbacks_at_least 1 && [ "$(recv_count /rollback)" -ge 1 ] ||
	fail "(a) no rollback reached the receiver: $(grep "action rollback" "$TEST_TMP/agent-a.log" | tail -n 3)"
[ "$(auth_of 0)" = "Bearer $token1" ] || fail "(a) first attempt: $(auth_of 0), want Bearer $token1"
token2=a-2-$RANDOM$RANDOM-$$
secret_write "$SECRET" 2026_01_02_00_00_00.2 "$token2"
rm -r "$SECRET/..2026_01_01_00_00_00.1"
wait_until 20 state_is b1 rolled_back || fail "(a) not rolled_back: $(cat "$(state_file b1)")"
[ "$(recv_count /rollback)" = 2 ] || fail "(a) want 2 rollback requests: $(recv_requests)"
[ "$(auth_of 1)" = "Bearer $token2" ] || fail "(a) the retry sent $(auth_of 1), want Bearer $token2"
for f in "$TEST_TMP/agent-a.log" "$(state_file b1)"; do
	! grep -qF -e "$token1" -e "$token2" "$f" || fail "(a) a token leaked into $f"
done
agent_stop
spawn_kill "$RECEIVER_PID"

echo "== (b) the Secret vanishes between attempts: the loaded token goes out, with a warning"
start_case b --script '/rollback=503:3,200'
token1=$(cat "$SECRET/token")
wait_until 20 _rollbacks_at_least 1 && [ "$(recv_count /rollback)" -ge 1 ] ||
	fail "(b) no rollback reached the receiver: $(grep "action rollback" "$TEST_TMP/agent-b.log" | tail -n 3)"
rm "$SECRET/..data"
wait_until 20 state_is b1 rolled_back || fail "(b) not rolled_back: $(cat "$(state_file b1)")"
[ "$(recv_count /rollback)" = 2 ] || fail "(b) want 2 rollback requests: $(recv_requests)"
[ "$(auth_of 1)" = "Bearer $token1" ] || fail "(b) the retry sent $(auth_of 1), want Bearer $token1"
grep -q "action rollback: token_file $SECRET/token: does not exist.*; sending the token read when the policy loaded" \
	"$TEST_TMP/agent-b.log" || fail "(b) no warning: $(grep rollback "$TEST_TMP/agent-b.log")"
for f in "$TEST_TMP/agent-b.log" "$(state_file b1)"; do
	! grep -qF "$token1" "$f" || fail "(b) the token leaked into $f"
done
agent_stop
echo "PASS"
