#!/bin/bash
# SPDX-License-Identifier: MIT
# 3. A real v2 OOM kill in a MemoryMax=64M unit trips an oom_kills_at_least rule, with
# OOMPolicy=continue (the unit and its cgroup stay) and with the default OOMPolicy=stop (systemd
# stops the unit after the kill and removes its cgroup, memory.events with it).
source "$(dirname "$0")/lib.sh"
receiver_up

hog='head -c 256M /dev/zero | tail -n 1 >/dev/null; exec sleep infinity'
for p in continue stop; do
	props=(MemoryMax=64M MemorySwapMax=0)
	[ "$p" = stop ] || props+=(OOMPolicy=continue) # stop is systemd's default
	gate_unit "oom-$p" "${props[@]}" -- /bin/sh -c "$hog"
	policy_install "oom-$p" <<INI
$(policy_head "oom-$p" 1s)

[target app]
cgroup = /system.slice/oom-$p.service

[rule oom]
oom_kills_at_least = 1
consecutive = 1

[action rollback]
type = http
url = $RECEIVER_URL/oom-$p
timeout = 5s
retries = 2
INI
done
systemctl reload oombreaker
for p in continue stop; do
	wait_until 20 phase_is "oom-$p" armed || fail "oom-$p not armed: $(batch_json "oom-$p")"
	wait_until 20 eval "batch_json oom-$p | jq -e '.instances[0].limit == 67108864'" ||
		fail "oom-$p: no sample of the unit's cgroup: $(batch_json "oom-$p")"
done
ok "oom-continue and oom-stop armed on their units (memory.max 67108864)"

for p in continue stop; do
	gate_open "oom-$p"
	wait_until 60 phase_is "oom-$p" rolled_back || {
		batch_json "oom-$p"
		systemctl status "oom-$p" --no-pager || true
		fail "OOMPolicy=$p: no trip"
	}
	json=$(batch_json "oom-$p")
	echo "oom-$p: $json"
	jq -e '.trip.rule == "oom"' <<<"$json" >/dev/null || fail "oom-$p: trip is not the oom rule"
	[ "$(received_count "/oom-$p" 200)" = 1 ] || fail "oom-$p: rollbacks $(received "/oom-$p")"
	ok "OOMPolicy=$p: the kill tripped the oom rule, one rollback"
done

# What the kernel and systemd say, for the record and the operations guide.
cg=/sys/fs/cgroup/system.slice
grep -qx 'oom_kill 1' "$cg/oom-continue.service/memory.events" ||
	fail "oom-continue: memory.events: $(cat "$cg/oom-continue.service/memory.events")"
systemctl is-active -q oom-continue || fail "OOMPolicy=continue: the unit did not stay active"
wait_until 20 eval '! test -d $cg/oom-stop.service' || fail "OOMPolicy=stop: the cgroup stayed"
[ "$(systemctl show -p Result --value oom-stop)" = oom-kill ] ||
	echo "note: oom-stop Result=$(systemctl show -p Result --value oom-stop)"
awk '$1 == "oom_kill" && $2 >= 2 { ok = 1 } END { exit !ok }' "$cg/memory.events" ||
	fail "system.slice memory.events: $(cat "$cg/memory.events")"
ok "continue: unit active, oom_kill 1; stop: unit $(systemctl show -p Result --value oom-stop), cgroup gone; system.slice counts $(awk '$1 == "oom_kill" { print $2 }' "$cg/memory.events") kills"
wait_until 10 eval 'batch_json oom-stop | jq -e ".targets[0].gone"' &&
	ok "oom-stop: the agent reports the target gone: $(batch_json oom-stop | jq -c .targets[0])"
systemctl stop oom-continue 2>/dev/null || true
rm -f "$BATCHES"/oom-*.ini
