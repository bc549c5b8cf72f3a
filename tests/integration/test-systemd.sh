#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The systemd files: `systemd-analyze verify` is clean, `systemd-analyze security --offline=true`
# rates the unit at an exposure of 2.0 or less (printed), the unit keeps the settings the
# agent depends on, and the sysusers.d/tmpfiles.d files create the user and directories.
set -euo pipefail

src=${OOMBREAKER_SOURCE_DIR:?OOMBREAKER_SOURCE_DIR is not set}
bin=${OOMBREAKER:-${OOMBREAKER_BINARY_DIR:-}/oombreaker}
unit=$src/systemd/oombreaker.service
max_exposure=2.0

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIP: systemd-analyze is not installed (package systemd)"
	exit 77
fi
if [ ! -x "$bin" ]; then
	echo "FAIL: the oombreaker binary ($bin) is missing; build first" >&2
	exit 1
fi

tmp=$(mktemp -d /tmp/test-systemd.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# --- 1. systemd-analyze verify -----------------------------------------------------------------
# verify insists that ExecStart's binary exists and that Documentation=man:oombreaker(8)
# resolves. Neither is installed on a build host, so verify a copy whose ExecStart names the
# binary just built (the only line changed), with MANPATH pointing at the repo's man page.
mkdir -p "$tmp/verify" "$tmp/man/man8"
sed "s|^ExecStart=/usr/bin/oombreaker |ExecStart=$bin |" "$unit" >"$tmp/verify/oombreaker.service"
[ "$(diff "$unit" "$tmp/verify/oombreaker.service" | grep -c '^>')" = 1 ] ||
	fail "could not point exactly one ExecStart= line at $bin"
cp "$src/docs/oombreaker.8" "$tmp/man/man8/"
man_opt=--man=yes
if ! command -v man >/dev/null 2>&1; then
	echo "note: man is not installed; verify runs with --man=no"
	man_opt=--man=no
fi

# Known-benign output: warnings that verify prints about the host's own unit files, which it
# loads as dependencies of ours (network.target, sysinit.target, ...). They name that file
# and line; nothing in them is about oombreaker.service. Everything else fails the test.
benign='^/(usr/)?lib/systemd/system/[^:]+:[0-9]+: '

run_verify() { # unit file -> prints verify's output (stdout+stderr), returns verify's status
	MANPATH=$tmp/man SYSTEMD_LOG_COLOR=0 systemd-analyze verify "$man_opt" "$1" 2>&1
}

rc=0
out=$(run_verify "$tmp/verify/oombreaker.service") || rc=$?
unexpected=$(printf '%s\n' "$out" | grep -Ev "$benign" | grep -v '^$' || true)
if [ "$rc" != 0 ] || [ -n "$unexpected" ]; then
	printf '%s\n' "$out" >&2
	fail "systemd-analyze verify: rc=$rc, output above"
fi
echo "ok: systemd-analyze verify is clean (rc=0, no output about oombreaker.service)"

# The check can fail: a misspelt directive and a missing binary must both be reported.
sed -e 's/^NoNewPrivileges=yes/NoNewPrivilege=yes/' "$tmp/verify/oombreaker.service" \
	>"$tmp/verify/broken.service"
out=$(run_verify "$tmp/verify/broken.service") || true
printf '%s\n' "$out" | grep -q "Unknown key 'NoNewPrivilege'" ||
	fail "verify did not report a misspelt directive: $out"
if [ ! -e /usr/bin/oombreaker ]; then
	out=$(run_verify "$unit") && fail "verify accepted a unit whose ExecStart binary is missing"
	printf '%s\n' "$out" | grep -q "Command /usr/bin/oombreaker is not executable" ||
		fail "verify did not name the missing binary: $out"
fi
echo "ok: verify reports a misspelt directive and a missing ExecStart binary"

# --- 2. systemd-analyze security ---------------------------------------------------------------
out=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1) ||
	fail "systemd-analyze security failed: $out"
# "→ Overall …" in a UTF-8 locale, "-> Overall …" in the C locale.
line=$(printf '%s\n' "$out" | grep -E 'Overall exposure level for oombreaker\.service: ' || true)
exposure=$(printf '%s\n' "$line" | sed -E 's/.*oombreaker\.service: ([0-9]+\.[0-9]+) .*/\1/')
[[ "$exposure" =~ ^[0-9]+\.[0-9]+$ ]] || fail "no exposure level in: $out"
echo "remaining exposure items:"
# The failed checks are the lines that carry an exposure figure (marked ✗, or - in C locale).
printf '%s\n' "$out" | grep -E ' [0-9]+\.[0-9]+ *$' | sed -E 's/  +/  /g; s/^/  /'
echo "exposure: $exposure (limit $max_exposure) — $line"
awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }' ||
	fail "exposure $exposure is above $max_exposure"

# --- 3. settings the agent relies on ----------------------------------------------------------
require() { grep -qxF "$1" "$unit" || fail "the unit lacks '$1'"; }
require "Type=notify"
require "ExecStart=/usr/bin/oombreaker run --policy-dir /etc/oombreaker/batches.d"
# shellcheck disable=SC2016 # $MAINPID is systemd's, not ours
require 'ExecReload=/bin/kill -HUP $MAINPID'
require "Restart=on-failure"
require "User=oombreaker"
require "RuntimeDirectory=oombreaker"
require "RuntimeDirectoryMode=0750"
require "StateDirectory=oombreaker"
require "ConfigurationDirectory=oombreaker"
require "CapabilityBoundingSet="
require "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"
require "SystemCallFilter=@system-service"
grep -qE '^WatchdogSec=[1-9]' "$unit" || fail "the unit has no WatchdogSec="
# libcgroup 2.0.2's cgroup_init() fails when /proc/cgroups and /proc/mounts are hidden.
! grep -qE '^ProcSubset=pid' "$unit" || fail "ProcSubset=pid breaks libcgroup 2.0.2"
echo "ok: unit settings"

# --- 4. sysusers.d and tmpfiles.d, applied to a scratch root ---------------------------------
if ! command -v systemd-sysusers >/dev/null 2>&1; then
	echo "note: systemd-sysusers is not installed; sysusers/tmpfiles checks skipped"
	exit 0
fi
root=$tmp/root
mkdir -p "$root/etc"
systemd-sysusers --root="$root" - <"$src/systemd/oombreaker.sysusers" >/dev/null 2>&1 ||
	fail "systemd-sysusers rejected systemd/oombreaker.sysusers"
pw=$(grep '^oombreaker:' "$root/etc/passwd") || fail "sysusers created no oombreaker user"
IFS=: read -r _ _ uid gid gecos home shell <<<"$pw"
[ "$gecos" = "oombreaker canary guard" ] || fail "unexpected GECOS '$gecos'"
[ "$shell" = /usr/sbin/nologin ] || fail "the system user has a login shell: $shell"
[ "$uid" -lt 1000 ] || fail "uid $uid is not a system uid"
grep -q "^oombreaker:x:$gid:" "$root/etc/group" || fail "no oombreaker group with gid $gid"
echo "ok: sysusers: oombreaker uid=$uid gid=$gid home=$home shell=$shell"

if [ "$(id -u)" != 0 ]; then
	echo "note: not root, so the tmpfiles.d check (which chowns) is skipped"
	exit 0
fi
systemd-tmpfiles --root="$root" --create - <"$src/systemd/oombreaker.tmpfiles" ||
	fail "systemd-tmpfiles rejected systemd/oombreaker.tmpfiles"
check_dir() { # path mode uid gid
	local got
	got=$(stat -c '%a %u %g' "$root$1") || fail "$1 was not created"
	[ "$got" = "$2 $3 $4" ] || fail "$1 is '$got', want '$2 $3 $4'"
}
check_dir /etc/oombreaker/batches.d 750 0 "$gid"
check_dir /var/lib/oombreaker 750 "$uid" "$gid"
echo "ok: tmpfiles: batches.d 0750 root:oombreaker, /var/lib/oombreaker 0750 oombreaker:oombreaker"
