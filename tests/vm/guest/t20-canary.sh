#!/bin/bash
# SPDX-License-Identifier: MIT
# 2. A real canary: the leaky Go service as a systemd service with MemoryMax=256M, named in a
# policy by its real cgroup. The leak trips the heap/memory rule; the cut goes to a real HAProxy
# over its admin socket (reached through the documented SupplementaryGroups=haproxy drop-in), the
# rollback to the receiver. Read back over the control socket, the state file, /metrics and the
# real journal: `journalctl -o json OOMBREAKER_BATCH=canary` finds the agent's entries (arming,
# then the trip with OOMBREAKER_RULE and OOMBREAKER_PHASE, each action with OOMBREAKER_ACTION).
# The policy samples every 3s, not the demo's 1s: under TCG a scrape of the Go service's /metrics
# can take more than a second, and a scrape still out at the next tick is cancelled (no GC data).
source "$(dirname "$0")/lib.sh"

receiver_up
cat >/run/obvm/haproxy.cfg <<CFG
global
    nbthread 1
    stats socket /run/haproxy/admin.sock mode 660 level admin group haproxy
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:18000
    default_backend app
backend app
    server stable 127.0.0.1:18081 weight 95
    server canary 127.0.0.1:18080 weight 5
CFG
systemd-run -q --unit=obvm-haproxy -p RuntimeDirectory=haproxy -p RuntimeDirectoryMode=0755 \
	/usr/sbin/haproxy -db -f /run/obvm/haproxy.cfg
systemd-run -q --unit=leaky-stable "$LEAKY" --name stable --listen 127.0.0.1:18081 --memory-limit off
systemd-run -q --unit=leaky-canary -p MemoryMax=256M -p MemorySwapMax=0 "$LEAKY" --name canary \
	--listen 127.0.0.1:18080 --leak-mb-per-sec 16 --leak-max-mb 205
wait_until 30 test -S /run/haproxy/admin.sock || fail "haproxy made no admin socket"
[ "$(stat -c %G:%a /run/haproxy/admin.sock)" = haproxy:660 ] || fail "admin.sock is $(stat -c %G:%a /run/haproxy/admin.sock)"
wait_until 30 curl -sf --max-time 2 http://127.0.0.1:18080/metrics || fail "the canary does not answer"
cg=/sys/fs/cgroup/system.slice/leaky-canary.service
[ "$(cat $cg/memory.max)" = 268435456 ] || fail "the canary's memory.max is $(cat $cg/memory.max)"
ok "peers up: haproxy (admin.sock haproxy:660), leaky stable and canary (memory.max 268435456)"

# The documented drop-in that lets the agent reach HAProxy's admin socket.
mkdir -p /etc/systemd/system/oombreaker.service.d
printf '[Service]\nSupplementaryGroups=haproxy\n' >/etc/systemd/system/oombreaker.service.d/haproxy.conf
systemctl daemon-reload
systemctl restart oombreaker
awk -v g="$(getent group haproxy | cut -d: -f3)" '$1 == "Groups:" { for (i = 2; i <= NF; i++) if ($i == g) ok = 1 }
	END { exit !ok }' "/proc/$(main_pid)/status" ||
	fail "the drop-in did not add the haproxy group: $(grep ^Groups: "/proc/$(main_pid)/status")"

policy_install canary <<INI
$(policy_head canary 3s)
consecutive = 3

[target canary]
cgroup = /system.slice/leaky-canary.service
metrics_url = http://127.0.0.1:18080/metrics
metrics_timeout = 2s
gc_preset = go

[rule heap-pressure]
memory_ratio_above = 0.85
gc_per_minute_above = 15

[action drain]
type = haproxy
socket = /run/haproxy/admin.sock
server = app/canary
state = maint

[action rollback]
type = http
url = $RECEIVER_URL/rollback
timeout = 5s
retries = 3
INI
oombreaker check "$BATCHES/canary.ini"
systemctl reload oombreaker
wait_until 20 phase_is canary armed || fail "canary not armed: $(batch_json canary)"
wait_until 20 eval 'batch_json canary | jq -e ".instances[0].limit == 268435456"' ||
	fail "no sample of the real cgroup: $(batch_json canary)"
ok "armed on /system.slice/leaky-canary.service: $(batch_json canary | jq -c .instances[0])"
# The agent's own entries, found by their field, with the unit journald saw them come from.
armed_entry() {
	journal_batch canary | jq -se 'map(select(._SYSTEMD_UNIT == "oombreaker.service"
		and .SYSLOG_IDENTIFIER == "oombreaker" and .OOMBREAKER_PHASE == "armed"
		and (.MESSAGE | test("canary: armed")))) | length > 0'
}
wait_until 20 armed_entry || fail "journalctl OOMBREAKER_BATCH=canary has no arming entry: $(journal_batch canary)"
ok "journal: $(journal_batch canary | jq -r 'select(.OOMBREAKER_PHASE == "armed") | .MESSAGE' | tail -n 1)"

t0=$EPOCHREALTIME
curl -sf -X POST http://127.0.0.1:18080/leak >/dev/null || fail "could not start the leak"
wait_until 200 phase_is canary rolled_back || fail "no trip: $(batch_json canary)"
ok "rolled_back $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s after the leak started"

# Over the control socket, as a pipeline reads it (`status` exits 2 for a tripped batch).
rc=0
json=$(oombreaker status canary --json) || rc=$?
[ "$rc" = 2 ] || fail "oombreaker status exited $rc, not 2"
echo "status: $json"
[ -S /run/oombreaker/control.sock ] || fail "no control socket"
jq -e '.trip.rule == "heap-pressure"' <<<"$json" >/dev/null || fail "trip is not heap-pressure"
jq -e '[.actions[] | [.action, .status]] == [["drain", "done"], ["rollback", "done"]]' \
	<<<"$json" >/dev/null || fail "actions: $(jq -c .actions <<<"$json")"
state=$(echo "show servers state app" | socat -t 5 - UNIX-CONNECT:/run/haproxy/admin.sock |
	awk '$4 == "canary" { print $7 }')
[ "$state" = 1 ] || fail "app/canary admin_state is '$state', not 1 (maintenance)"
[ "$(received_count /rollback 200)" = 1 ] || fail "rollbacks: $(received /rollback)"
received /rollback | jq -e '.json.batch == "canary"' >/dev/null || fail "rollback body: $(received /rollback)"
ok "HAProxy has app/canary in maintenance; the receiver got one rollback (200)"

# The trip and both actions in the real journal, each with its fields.
trip_entries() {
	journal_batch canary | jq -se 'map(select(._SYSTEMD_UNIT == "oombreaker.service")) as $e
		| ($e | any(.OOMBREAKER_RULE == "heap-pressure" and .OOMBREAKER_PHASE == "tripped"
			and .OOMBREAKER_TARGET == "canary"))
		and ($e | any(.OOMBREAKER_ACTION == "drain"))
		and ($e | any(.OOMBREAKER_ACTION == "rollback" and (.MESSAGE | test("done"))))
		and ($e | any(.OOMBREAKER_PHASE == "rolled_back"))
		and ($e | all(.OOMBREAKER_BATCH == "canary"))'
}
wait_until 20 trip_entries || fail "journalctl OOMBREAKER_BATCH=canary lacks the trip or an action: $(journal_batch canary | jq -c '{MESSAGE, OOMBREAKER_RULE, OOMBREAKER_PHASE, OOMBREAKER_ACTION}')"
journal_batch canary | jq -r '"journal: \(.MESSAGE) [\(to_entries | map(select(.key | startswith("OOMBREAKER_"))) | map("\(.key)=\(.value)") | join(" "))]"'
ok "journalctl OOMBREAKER_BATCH=canary: the trip (rule, phase, target) and each action's entries"

f=$STATE_DIR/canary.json
[ "$(stat -c %U:%a "$f")" = oombreaker:600 ] || echo "note: state file is $(stat -c %U:%a "$f")"
[ "$(stat -c %U "$f")" = oombreaker ] || fail "state file owned by $(stat -c %U "$f")"
jq -e '.phase == "rolled_back"' "$f" >/dev/null || fail "state file: $(cat "$f")"
metrics=$(curl -sf "$AGENT_URL/metrics")
grep -E '^oombreaker_trips_total\{[^}]*batch="canary"[^}]*\} 1$' <<<"$metrics" ||
	fail "no trip in /metrics: $(grep trips_total <<<"$metrics")"
grep -E '^oombreaker_memory_working_set_bytes\{[^}]*batch="canary"' <<<"$metrics"
ok "state file $f says rolled_back; /metrics counts the trip"
systemctl stop leaky-canary leaky-stable
rm -f "$BATCHES/canary.ini"
