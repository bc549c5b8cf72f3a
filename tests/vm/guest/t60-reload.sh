#!/bin/bash
# SPDX-License-Identifier: MIT
# 6. Reload: a new policy file plus `systemctl reload` arms the new batch without a restart; an
# invalid file keeps the old policy, and the error is in `journalctl -u oombreaker` at priority
# err (3).
source "$(dirname "$0")/lib.sh"

systemd-run -q --unit=rl-app /bin/sleep infinity
pid=$(main_pid)
restarts=$(systemctl show -p NRestarts --value oombreaker)
rl_policy() {
	cat <<INI
$(policy_head rl "$1")

[target app]
cgroup = /system.slice/rl-app.service

[rule never]
memory_bytes_above = $2
INI
}
rl_policy 2s 1TiB | policy_install rl
systemctl reload oombreaker
wait_until 20 phase_is rl armed || fail "rl not armed after reload: $(batch_json rl)"
[ "$(batch_json rl | jq .interval_ms)" = 2000 ] || fail "rl: $(batch_json rl)"
ok "new batch rl armed by systemctl reload"

journal_mark /run/obvm/rl.cursor
rl_policy 2s 1TiB | sed 's/^interval = 2s/interval = banana/' | policy_install rl
systemctl reload oombreaker
wait_until 20 eval 'journal_since /run/obvm/rl.cursor | grep -q "rl\.ini:6:"' || {
	journal_since /run/obvm/rl.cursor | jq -r .MESSAGE
	fail "no error about rl.ini:6 in the journal"
}
journal_since /run/obvm/rl.cursor | jq -r '"journal: <\(.PRIORITY)> \(.MESSAGE)"'
prio=$(journal_since /run/obvm/rl.cursor | jq -r 'select(.MESSAGE | test("rl\\.ini:6:")) | .PRIORITY' | head -n1)
[ "$prio" = 3 ] || fail "the error was logged at priority $prio, not 3 (err)"
journalctl -u oombreaker -p err -q --no-pager | grep -q 'rl\.ini:6:' ||
	fail "journalctl -p err does not show it"
phase_is rl armed && [ "$(batch_json rl | jq .interval_ms)" = 2000 ] ||
	fail "the old policy is not kept: $(batch_json rl)"
[ "$(main_pid)" = "$pid" ] && [ "$(systemctl show -p NRestarts --value oombreaker)" = "$restarts" ] ||
	fail "the agent was restarted"
ok "invalid file: old rl kept (interval 2s), error at priority 3, same pid $pid, no restart"
rm -f "$BATCHES/rl.ini"
systemctl stop rl-app
