#!/bin/bash
# SPDX-License-Identifier: MIT
# The guest's job service (see tests/vm/vm.sh): waits for the boot to settle, records the uptime
# it took, runs OUT/boot/job with OUT as its argument, and leaves its output and exit status in
# OUT. The unit then powers the guest off.
out=$1
timeout 120 systemctl is-system-running --wait >/dev/null 2>&1
read -r up _ </proc/uptime
echo "$up" >"$out/started"
rc=0
bash "$out/boot/job" "$out" >"$out/output.log" 2>&1 || rc=$?
echo "$rc" >"$out/status"
sync
exit 0
