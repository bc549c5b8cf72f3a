#!/bin/bash
# SPDX-License-Identifier: MIT
# 1. Install as an operator would (cmake --install to /usr, the shipped unit, sysusers.d and
# tmpfiles.d files unchanged), start the unit: Type=notify reaches active, the agent runs as
# oombreaker with the status line it sends (STATUS=) in `systemctl status`.
source "$(dirname "$0")/lib.sh"
# Most tests need the receiver; python starts slowly under TCG, so get it going now.
receiver_up --no-wait

# A fresh node: whatever the host's root holds under the agent's paths (the guest sees the host's
# /var/lib through the overlay) is not this node's.
rm -rf /etc/oombreaker /var/lib/oombreaker /run/oombreaker

cmake --install "$OOMBREAKER_BINARY_DIR" --prefix /usr >/run/obvm/install.log ||
	fail "cmake --install failed: $(tail -n 5 /run/obvm/install.log)"
unit=/usr/lib/systemd/system/oombreaker.service
cmp -s "$OOMBREAKER_SOURCE_DIR/systemd/oombreaker.service" "$unit" ||
	fail "the installed unit differs from systemd/oombreaker.service"
# The guest masks systemd-sysusers.service to boot faster: apply the two files as boot would.
systemd-sysusers /usr/lib/sysusers.d/oombreaker.conf
systemd-tmpfiles --create /usr/lib/tmpfiles.d/oombreaker.conf
[ "$(stat -c %U:%G:%a /etc/oombreaker/batches.d)" = root:oombreaker:750 ] ||
	fail "batches.d is $(stat -c %U:%G:%a /etc/oombreaker/batches.d)"
ok "installed: $(oombreaker --version 2>/dev/null || echo oombreaker), unit unchanged, user $(id oombreaker)"

systemctl daemon-reload
# Type=notify: start returns once the agent sent READY=1, and fails if it never does.
systemctl start oombreaker || fail "systemctl start oombreaker failed"
systemctl is-active -q oombreaker || fail "not active after start"
pid=$(main_pid)
[ "$(stat -c %U "/proc/$pid")" = oombreaker ] || fail "the agent runs as $(stat -c %U "/proc/$pid")"
grep -q '^CapEff:[[:space:]]*0*$' "/proc/$pid/status" || fail "the agent has capabilities"
status=$(systemctl show -p StatusText --value oombreaker)
[ -n "$status" ] || fail "the agent sent no STATUS="
wait_until 10 eval 'systemctl status oombreaker --no-pager | grep -q "Status: \""' ||
	fail "systemctl status shows no Status: line"
systemctl status oombreaker --no-pager | sed -n '1,/CGroup/p'
ok "active (Type=notify), pid $pid as oombreaker, no capabilities, STATUS=\"$status\""
wait_until 10 curl -sf --max-time 2 "$AGENT_URL/healthz" || fail "no /healthz on $AGENT_URL"
grep -qx "0::/system.slice/oombreaker.service" "/proc/$pid/cgroup" ||
	fail "the agent is in $(cat "/proc/$pid/cgroup")"
ok "healthz answers; cgroup $(cat "/proc/$pid/cgroup")"
