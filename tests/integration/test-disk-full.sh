#!/usr/bin/env bash
# A trip on a full disk: the agent's state dir is a small tmpfs, filled up before the canary
# breaches. The trip cannot be recorded, so no action may go out; the record is retried every
# tick. Once space is freed, the trip is recorded and the cut and the rollback are each sent
# exactly once, in that order, under the recorded trip's keys. Needs root (mount); skips
# otherwise.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/agent.sh"

TMPFS=

need_cmd curl jq
[ "$(id -u)" = 0 ] || skip "mounting a tmpfs for the state dir needs root"
tmpdir_setup
agent_fixture

# common.sh's EXIT trap removes $TEST_TMP: the tmpfs inside it goes first (lazily: the agent
# may still hold it; the cleanup stops the agent next).
_disk_exit() {
	local rc=$?
	set +e
	[ -z "$TMPFS" ] || umount -l "$TMPFS" 2>/dev/null
	(exit "$rc")
	_cleanup
}
trap _disk_exit EXIT

st=$TEST_TMP/state
mkdir "$st"
mount -t tmpfs -o size=256k,mode=0750 oombreaker-disk-full "$st" || skip "cannot mount a tmpfs here"
TMPFS=$st

receiver_start recv
agent_policy "$TEST_TMP/b1.ini" b1 200ms 0.9
printf '\n[action cut]\ntype = http\nurl = http://127.0.0.1:%s/cut\ntimeout = 2s\n' \
	"$RECEIVER_PORT" >>"$TEST_TMP/b1.ini"
printf '\n[action rollback]\ntype = http\nurl = http://127.0.0.1:%s/rollback\ntimeout = 2s\n' \
	"$RECEIVER_PORT" >>"$TEST_TMP/b1.ini"

recv_count() {
	curl -sf --max-time 5 "http://127.0.0.1:$RECEIVER_PORT/_receiver/requests" |
		jq --arg p "$1" '[.[] | select(.path == $p)] | length'
}
state_matches() { jq -e "$1" "$st/b1.json" >/dev/null 2>&1; }

agent_start --policy "$TEST_TMP/b1.ini"
agent_wait_ticks 2 10 || fail "the agent does not tick"
state_matches '.phase == "armed"' || fail "no armed state file at start"

# Fill the disk: dd stops at ENOSPC (the tmpfs caps it at 256 KiB).
[ -n "$st" ] && mountpoint -q "$st" || fail "the state dir is not the tmpfs"
dd if=/dev/zero of="$st/filler" bs=4k count=128 status=none 2>/dev/null || true
[ "$(df --output=avail -B1 "$st" | tail -n 1)" -lt 4096 ] || fail "the tmpfs is not full"

agent_set_ratio high
wait_until 10 agent_log_has 'b1 TRIPPED' || fail "the canary did not trip"
wait_until 10 agent_log_has 'the actions wait until the trip is saved' ||
	fail "no word that the trip waits for its record: $(tail -n 5 "$AGENT_LOG")"
# Ten more ticks on a full disk: nothing may go out, and the file still says armed.
agent_wait_ticks 10 10 || fail "the agent stopped ticking on a full disk"
[ "$(recv_count /cut)" = 0 ] || fail "the cut was sent before the trip was recorded"
[ "$(recv_count /rollback)" = 0 ] || fail "the rollback was sent before the trip was recorded"
state_matches '.phase == "armed" and .trip == null' || fail "the state file changed on a full disk"
log "full disk: tripped, nothing sent, state file untouched"

rm -f "$st/filler"
wait_until 10 state_matches '.phase == "rolled_back"' ||
	fail "the trip never reached rolled_back after space was freed: $(cat "$st/b1.json")"
agent_wait_ticks 5 10 || fail "the agent stopped ticking"
[ "$(recv_count /cut)" = 1 ] || fail "cut sent $(recv_count /cut) times, want 1"
[ "$(recv_count /rollback)" = 1 ] || fail "rollback sent $(recv_count /rollback) times, want 1"
requests=$(curl -sf --max-time 5 "http://127.0.0.1:$RECEIVER_PORT/_receiver/requests")
order=$(jq -r '[.[] | .path] | join(" ")' <<<"$requests")
[ "$order" = "/cut /rollback" ] || fail "requests in order '$order', want '/cut /rollback'"
id=$(jq -r .trip.id "$st/b1.json")
rel=$(jq -r '"\(.release.id):\(.release.generation)"' "$st/b1.json")
keys=$(jq -r '[.[] | .headers | to_entries[] | select(.key | ascii_downcase == "idempotency-key")
	| .value] | join(" ")' <<<"$requests")
[ "$keys" = "b1:$rel:cut b1:$rel:rollback" ] ||
	fail "keys '$keys', want 'b1:$rel:cut b1:$rel:rollback' (the recorded release)"
log "space freed: trip $id recorded, cut and rollback sent once each"

spawn_kill "$AGENT_PID" 5
umount "$st" || fail "cannot unmount $st"
TMPFS=
echo "PASS"
