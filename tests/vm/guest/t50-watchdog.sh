#!/bin/bash
# SPDX-License-Identifier: MIT
# 5. The watchdog: a SIGSTOPped agent is killed and restarted by systemd within WatchdogSec plus a
# margin; the restarted agent resumes the pending trip from its state file and sends nothing
# twice. The shipped WatchdogSec=30s is shortened to 6s by a drop-in to keep the suite short (the
# agent pings every WatchdogSec/2 whatever its batches' intervals).
source "$(dirname "$0")/lib.sh"
receiver_up
wd_secs=${VM_WATCHDOG_SECS:-6}

dropin=/etc/systemd/system/oombreaker.service.d/watchdog-test.conf
mkdir -p "${dropin%/*}"
printf '[Service]\nWatchdogSec=%s\n' "$wd_secs" >"$dropin"
trap 'rm -f "$dropin"; systemctl daemon-reload; systemctl restart oombreaker' EXIT
systemctl daemon-reload
systemctl restart oombreaker
# VM_WATCHDOG_SECS=0 (no watchdog) shows that the test fails when nothing restarts the agent.
[ "$wd_secs" = 0 ] || [ "$(systemctl show -p WatchdogUSec --value oombreaker)" = "${wd_secs}s" ] ||
	fail "WatchdogUSec is $(systemctl show -p WatchdogUSec --value oombreaker)"

# The rollback fails until the agent has been restarted: the trip stays pending across it.
curl -sf -X POST --data-binary '/wd-rollback=503' "$RECEIVER_URL/_receiver/script" >/dev/null
systemd-run -q --unit=wd-app /bin/sleep infinity
policy_install wd <<INI
$(policy_head wd 1s)

[target app]
cgroup = /system.slice/wd-app.service

[rule always]
memory_bytes_above = 1
consecutive = 1

[action drain]
type = http
url = $RECEIVER_URL/wd-drain
timeout = 2s
retries = 0

[action rollback]
type = http
url = $RECEIVER_URL/wd-rollback
timeout = 2s
retries = 20
INI
systemctl reload oombreaker
wait_until 30 eval '[ "$(received_count /wd-rollback 503)" -ge 1 ]' ||
	fail "the rollback was never tried: $(batch_json wd)"
[ "$(received_count /wd-drain 200)" = 1 ] || fail "drain: $(received /wd-drain)"
ok "tripped: drain done, rollback pending (503): $(batch_json wd | jq -c '[.actions[] | [.action, .status, .attempts]]')"

pid=$(main_pid)
restarts=$(systemctl show -p NRestarts --value oombreaker)
kill -STOP "$pid"
t0=$EPOCHREALTIME
limit=$((wd_secs + 2 + 15)) # WatchdogSec + RestartSec + a margin for TCG
wait_until "$limit" eval '[ "$(main_pid)" != "$pid" ] && [ "$(main_pid)" != 0 ] &&
	systemctl is-active -q oombreaker' || fail "not restarted within ${limit}s of SIGSTOP"
took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
[ "$(systemctl show -p NRestarts --value oombreaker)" = $((restarts + 1)) ] ||
	fail "NRestarts: $(systemctl show -p NRestarts --value oombreaker), was $restarts"
wait_until 10 eval 'journalctl -u oombreaker -q --no-pager | grep -q "Watchdog timeout"' ||
	fail "no 'Watchdog timeout' in the journal"
ok "SIGSTOPped pid $pid: watchdog timeout, restarted as pid $(main_pid) after ${took}s"

curl -sf -X POST --data-binary '/wd-rollback=200' "$RECEIVER_URL/_receiver/script" >/dev/null
wait_until 60 phase_is wd rolled_back || fail "the restarted agent did not finish: $(batch_json wd)"
echo "wd: $(batch_json wd)"
[ "$(received_count /wd-drain)" = 1 ] || fail "the drain was sent again: $(received /wd-drain)"
[ "$(received_count /wd-rollback 200)" = 1 ] || fail "rollbacks answered 200: $(received /wd-rollback)"
keys=$(received /wd-rollback | jq -r '.headers["Idempotency-Key"]' | sort -u)
[ "$(wc -l <<<"$keys")" = 1 ] && [ -n "$keys" ] || fail "idempotency keys: $keys"
ok "resumed from the state file: drain sent once, rollback done once," \
	"$(received_count /wd-rollback) attempts all with key $keys"
systemctl stop wd-app
rm -f "$BATCHES/wd.ini"
