#!/bin/bash
# SPDX-License-Identifier: MIT
# 7. Sandboxing: under the unit's hardening the agent reads every cgroup file it samples (memory,
# limit, events, PSI) of units in any slice, writes its state, and reaches its peers (HAProxy's
# admin socket through the drop-in: test t20); `systemd-analyze security` on the real systemd
# rates the unit at 1.5 or less.
source "$(dirname "$0")/lib.sh"
max=1.5

systemd-run -q --unit=sb-app -p MemoryMax=128M /bin/sleep infinity
systemd-run -q --slice=obvm.slice --unit=sb-other /bin/sleep infinity
policy_install sb <<INI
$(policy_head sb 1s)

[target app]
cgroup = /system.slice/sb-app.service

[target other]
cgroup = /obvm.slice/sb-other.service
memory_limit = 1GiB

[rule never]
memory_bytes_above = 1TiB
INI
systemctl reload oombreaker
wait_until 20 eval 'batch_json sb | jq -e "[.instances[] | select(.working_set > 0 and
	.psi_some_avg10 != null and .oom_kills != null and .error == null)] | length == 2"' ||
	fail "the agent cannot read every file: $(batch_json sb)"
ok "reads both cgroups: $(batch_json sb | jq -c '[.instances[] | del(.streaks)]')"
f=$STATE_DIR/sb.json
wait_until 10 test -s "$f" || fail "no state file $f"
[ "$(stat -c %U "$f")" = oombreaker ] || fail "$f is owned by $(stat -c %U "$f")"
ok "writes its state: $(stat -c '%n %U:%G %a' "$f")"
rm -f "$BATCHES/sb.ini"
systemctl stop sb-app sb-other

out=$(systemd-analyze security --no-pager oombreaker.service 2>&1) || fail "systemd-analyze: $out"
grep -E ' [0-9]+\.[0-9]+ *$' <<<"$out" | sed -E 's/  +/  /g; s/^/  /'
exposure=$(sed -nE 's/.*Overall exposure level for oombreaker\.service: ([0-9.]+) .*/\1/p' <<<"$out")
[ -n "$exposure" ] || fail "no exposure level in: $out"
awk -v e="$exposure" -v m="$max" 'BEGIN { exit !(e <= m) }' || fail "exposure $exposure > $max"
ok "systemd-analyze security oombreaker.service: exposure $exposure (limit $max)"
