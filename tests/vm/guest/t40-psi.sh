#!/bin/bash
# SPDX-License-Identifier: MIT
# 4. Real PSI: a service squeezed by MemoryHigh= (held over it, so the kernel throttles it) shows
# non-zero `some` and `full` figures in its memory.pressure, and a psi rule trips on them.
source "$(dirname "$0")/lib.sh"
receiver_up

gate_unit psi-hog MemoryHigh=16M MemoryMax=160M MemorySwapMax=0 -- \
	/bin/sh -c 'head -c 128M /dev/zero | tail -n 1 >/dev/null; exec sleep infinity'
policy_install psi <<INI
$(policy_head psi 1s)
consecutive = 2

[target app]
cgroup = /system.slice/psi-hog.service

[rule pressure]
psi_some_above = 5
psi_full_above = 5

[action rollback]
type = http
url = $RECEIVER_URL/psi
timeout = 5s
retries = 2
INI
systemctl reload oombreaker
wait_until 20 phase_is psi armed || fail "psi not armed: $(batch_json psi)"
wait_until 20 eval 'batch_json psi | jq -e ".instances[0].psi_some_avg10 == 0"' ||
	fail "no PSI figures before the squeeze: $(batch_json psi)"
ok "armed; before the squeeze: $(batch_json psi | jq -c .instances[0])"

gate_open psi-hog
cg=/sys/fs/cgroup/system.slice/psi-hog.service
wait_until 90 phase_is psi rolled_back || {
	grep -H . "$cg"/memory.{pressure,current,high,events} || true
	fail "no trip: $(batch_json psi)"
}
json=$(batch_json psi)
echo "psi: $json"
jq -e '.trip.rule == "pressure"' <<<"$json" >/dev/null || fail "the trip is not the psi rule"
p=$cg/memory.pressure
cat "$p"
awk '{ split($2, a, "="); if (a[2] + 0 <= 0) bad = 1 } END { exit bad }' "$p" ||
	fail "memory.pressure has a zero avg10"
[ "$(received_count /psi 200)" = 1 ] || fail "rollbacks: $(received /psi)"
ok "PSI some and full non-zero; the psi rule tripped, one rollback"
systemctl stop psi-hog
rm -f "$BATCHES/psi.ini"
