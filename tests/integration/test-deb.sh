#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The .deb, installed and purged for real on this host:
#  1. `cpack -G DEB` from the build directory (into a scratch directory) makes the package;
#  2. lintian reports no error and no warning on it (every tag is printed, counted by level);
#  3. `dpkg -i` succeeds, also where PID 1 is not systemd (the maintainer scripts then leave
#     deb-systemd-invoke alone); the system user, the directories and the unit's enablement exist;
#     the files are in place (binary, unit, sysusers.d, tmpfiles.d, copyright in DEP-5 format,
#     changelog.Debian.gz, gzipped man page found by man, bash and zsh completion, docs, example
#     policies), gzipped without name or timestamp; the installed binary is hardened and
#     `oombreaker check` accepts the installed example policies;
#  4. `dpkg -P` succeeds and leaves nothing behind: every file, directory, deb-systemd-helper
#     state and /etc entry is gone, exactly what existed before the install remains; the system
#     user stays, as documented (the test removes it afterwards).
# Needs root, and refuses (skips) when an oombreaker package or its directories already exist:
# it never touches an installation it did not make. The EXIT trap purges the package and removes
# the user it created, also on failure or Ctrl-C.
set -euo pipefail

source "${OOMBREAKER_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/common.sh"
build=${OOMBREAKER_BINARY_DIR:?OOMBREAKER_BINARY_DIR is not set}

need_root "dpkg -i installs into this host's /usr"
need_cmd cpack dpkg dpkg-deb lintian readelf gzip systemd-sysusers systemd-tmpfiles \
	deb-systemd-helper deb-systemd-invoke
[ -f "$build/CPackConfig.cmake" ] || fail "$build/CPackConfig.cmake is missing: configure first"
if dpkg-query -W -f='${Status}' oombreaker 2>/dev/null | grep -qv 'not-installed'; then
	skip "the oombreaker package is on this host ($(dpkg-query -W -f='${Status}' oombreaker)); not touching it"
fi
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
for p in /usr/bin/oombreaker /etc/oombreaker /var/lib/oombreaker "$unitdir/oombreaker.service" \
	/usr/lib/sysusers.d/oombreaker.conf /usr/share/doc/oombreaker; do
	[ ! -e "$p" ] || skip "$p exists on this host (not from this test); not touching it"
done
user_existed=
getent passwd oombreaker >/dev/null && user_existed=1
group_existed=
getent group oombreaker >/dev/null && group_existed=1

tmpdir_setup

# dpkg_locked ARGS...: dpkg ARGS, waiting (at most 300 s) while apt or dpkg run elsewhere holds the
# dpkg lock; any other failure is returned at once. Output in $TEST_TMP/dpkg.log.
dpkg_locked() {
	local deadline=$(($(_now_us) + 300000000)) rc
	while :; do
		rc=0
		dpkg "$@" >"$TEST_TMP/dpkg.out" 2>&1 || rc=$?
		cat "$TEST_TMP/dpkg.out" >>"$TEST_TMP/dpkg.log"
		if [ "$rc" = 0 ] || ! grep -q 'lock.*held by\|locked by another process' "$TEST_TMP/dpkg.out"; then
			return "$rc"
		fi
		[ "$(_now_us)" -lt "$deadline" ] || {
			echo "dpkg lock still held after 300 s" >&2
			return "$rc"
		}
		sleep 1
	done
}

# The cleanup, before common.sh's: purge whatever of the package is left, remove the user and
# group if this test created them, and the directories it made.
deb_cleanup() {
	local status
	status=$(dpkg-query -W -f='${Status}' oombreaker 2>/dev/null || true)
	if [ -n "$status" ] && [[ $status != *not-installed* ]]; then
		echo "cleanup: purging the oombreaker package ($status)" >&2
		dpkg_locked --purge oombreaker || echo "cleanup: dpkg --purge oombreaker failed" >&2
	fi
	[ -n "$user_existed" ] || ! getent passwd oombreaker >/dev/null || userdel oombreaker || true
	[ -n "$group_existed" ] || ! getent group oombreaker >/dev/null || groupdel oombreaker || true
	rm -rf /etc/oombreaker /var/lib/oombreaker
}
on_exit() {
	local rc=$?
	deb_cleanup
	(exit "$rc")
	_cleanup
}
trap on_exit EXIT

# Everything named like the package in the places a package installs to or a maintainer script
# writes, so that "nothing left behind" means: the same as before the install.
snapshot() {
	find /etc /usr /lib /var/lib /run -xdev -name '*oombreaker*' -not -path '/var/lib/dpkg/*' \
		2>/dev/null | sort
}
snapshot >"$TEST_TMP/before"

# --- 1. cpack ---------------------------------------------------------------------------------
(cd "$TEST_TMP" && cpack --config "$build/CPackConfig.cmake" -G DEB -B "$TEST_TMP/pkg") \
	>"$TEST_TMP/cpack.log" 2>&1 || fail "cpack -G DEB failed"
debs=("$TEST_TMP"/pkg/oombreaker_*.deb)
{ [ ${#debs[@]} = 1 ] && [ -f "${debs[0]}" ]; } || fail "cpack made no single oombreaker_*.deb"
deb=${debs[0]}
version=$(dpkg-deb -f "$deb" Version)
upstream=$("$build/oombreaker" --version | awk '{ print $2 }')
{ [ "${version%-*}" = "$upstream" ] && [ "$version" != "$upstream" ]; } ||
	fail "Version $version: not $upstream-REVISION (a non-native package, for changelog.Debian.gz)"
echo "ok: cpack built $(basename "$deb")"

# --- 2. lintian -------------------------------------------------------------------------------
# --pedantic and --display-info show every tag, --show-overrides the overridden ones (O:, with
# their justification as N: lines); only errors and warnings fail the test. Its exit status says
# nothing more: stderr must be empty but for the note that root runs it.
rc=0
lintian --pedantic --display-info --show-overrides --tag-display-limit 0 "$deb" \
	>"$TEST_TMP/lintian.out" 2>"$TEST_TMP/lintian.err" || rc=$?
if grep -vqxF 'running with root privileges is not recommended!' "$TEST_TMP/lintian.err" ||
	grep -vqE '^[EWIPXCNOM]: ' "$TEST_TMP/lintian.out"; then
	cat "$TEST_TMP/lintian.out" "$TEST_TMP/lintian.err" >&2
	fail "lintian did not run cleanly (exit $rc, output above)"
fi
sed 's/^/  lintian: /' "$TEST_TMP/lintian.out"
count() { grep -c "^$1: " "$TEST_TMP/lintian.out" || true; }
summary="E $(count E), W $(count W), I $(count I), P $(count P), overridden $(count O)"
{ [ "$(count E)" = 0 ] && [ "$(count W)" = 0 ]; } || fail "lintian: $summary"
echo "ok: lintian: $summary"

# --- 3. dpkg -i -------------------------------------------------------------------------------
dpkg_locked --install "$deb" || {
	cat "$TEST_TMP/dpkg.log" >&2
	fail "dpkg -i failed"
}
if [ -d /run/systemd/system ]; then
	echo "note: systemd is PID 1 here; postinst started the agent through deb-systemd-invoke"
	wait_for --timeout 30 systemctl is-active --quiet oombreaker.service ||
		fail "oombreaker.service did not become active: $(systemctl status oombreaker.service 2>&1 | tail -5)"
else
	echo "ok: dpkg -i succeeds where PID 1 ($(ps -p 1 -o comm=)) is not systemd"
fi
[ "$(dpkg-query -W -f='${Status}' oombreaker)" = "install ok installed" ] ||
	fail "dpkg status: $(dpkg-query -W -f='${Status}' oombreaker)"
dpkg-query -L oombreaker | sort >"$TEST_TMP/listed"

doc=/usr/share/doc/oombreaker
want=(/usr/bin/oombreaker "$unitdir/oombreaker.service" /usr/lib/sysusers.d/oombreaker.conf
	/usr/lib/tmpfiles.d/oombreaker.conf /usr/share/man/man8/oombreaker.8.gz
	/usr/share/bash-completion/completions/oombreaker /usr/share/zsh/vendor-completions/_oombreaker
	/usr/share/lintian/overrides/oombreaker
	"$doc/copyright" "$doc/changelog.Debian.gz" "$doc/policy.md" "$doc/operations.md")
for e in "$SOURCE_DIR"/policies/*.ini; do
	want+=("$doc/examples/${e##*/}")
done
for f in "${want[@]}"; do
	[ -f "$f" ] || fail "$f is not installed"
	grep -qxF "$f" "$TEST_TMP/listed" || fail "$f is not listed by dpkg -L oombreaker"
done
echo "ok: ${#want[@]} files in place"

# Gzipped with -n: no file name, no timestamp (FLG and MTIME zero), so the .deb is reproducible.
for gz in /usr/share/man/man8/oombreaker.8.gz "$doc/changelog.Debian.gz"; do
	gzip -t "$gz" || fail "$gz is not valid gzip"
	[ "$(od -An -tx1 -j3 -N5 "$gz" | tr -d ' \n')" = 0000000000 ] ||
		fail "$gz has a file name or timestamp in its gzip header (not gzip -n)"
done
if command -v man >/dev/null 2>&1; then
	[ "$(man -w oombreaker)" = /usr/share/man/man8/oombreaker.8.gz ] ||
		fail "man -w oombreaker: '$(man -w oombreaker 2>&1)'"
fi
head -1 "$doc/copyright" |
	grep -qxF 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' ||
	fail "$doc/copyright is not in the machine-readable format"
top=$(zcat "$doc/changelog.Debian.gz" | head -1)
[[ $top == "oombreaker ($version) "* ]] || fail "changelog.Debian.gz starts '$top', not version $version"
# The licence text of LICENSE, as DEP-5 holds it (indented, '.' for blank lines).
diff <(sed -n '/^Permission/,$p' "$SOURCE_DIR/LICENSE" | sed 's/^$/./') \
	<(sed -n '/^License: Expat$/,$p' "$doc/copyright" | sed -n '/^ Permission/,$p' | sed 's/^ //') \
	>"$TEST_TMP/licence.diff" || fail "copyright's licence is not LICENSE's: $(cat "$TEST_TMP/licence.diff")"
echo "ok: copyright (DEP-5, LICENSE's text), changelog.Debian.gz ($version), man page, gzip -n"

if [ -f /usr/share/bash-completion/bash_completion ]; then
	# bash-completion's loader finds the completion by the command's name.
	bash --norc -c 'source /usr/share/bash-completion/bash_completion
		_completion_loader oombreaker; complete -p oombreaker' 2>&1 | grep -q -- '-F _oombreaker' ||
		fail "bash-completion does not load the installed completion"
	echo "ok: bash-completion loads /usr/share/bash-completion/completions/oombreaker"
fi

# The hardening lintian looks for, on the installed (stripped) binary.
readelf -h /usr/bin/oombreaker | grep -q 'DYN (Position-Independent' || fail "the binary is not PIE"
readelf -d /usr/bin/oombreaker | grep -q 'BIND_NOW' || fail "the binary is not linked -z now"
readelf -lW /usr/bin/oombreaker | grep -q GNU_RELRO || fail "the binary has no RELRO segment"
readelf --dyn-syms -W /usr/bin/oombreaker >"$TEST_TMP/syms"
grep -q '__stack_chk_fail' "$TEST_TMP/syms" || fail "the binary has no stack protector"
grep -qE '__[a-z]+_chk' "$TEST_TMP/syms" || fail "the binary uses no fortified function"
echo "ok: /usr/bin/oombreaker is PIE, full RELRO (bindnow), stack-protected, fortified"

[ "$(/usr/bin/oombreaker --version)" = "oombreaker $upstream" ] || fail "the installed binary"
/usr/bin/oombreaker check "$doc"/examples/*.ini >"$TEST_TMP/check.log" 2>&1 ||
	fail "oombreaker check rejects the installed examples: $(cat "$TEST_TMP/check.log")"
installed_examples=("$doc"/examples/*.ini)
echo "ok: oombreaker check accepts the ${#installed_examples[@]} installed example policies"

# What postinst made: the user (sysusers.d), the directories (tmpfiles.d), the enablement.
pw=$(getent passwd oombreaker) || fail "postinst created no oombreaker user"
IFS=: read -r _ _ uid gid _ home shell <<<"$pw"
{ [ "$uid" -lt 1000 ] && [ "$home" = /var/lib/oombreaker ] && [[ $shell == */nologin ]]; } ||
	fail "the oombreaker user is not a system user: $pw"
[ "$(stat -c '%a %U %G' /etc/oombreaker/batches.d)" = "750 root oombreaker" ] ||
	fail "/etc/oombreaker/batches.d: $(stat -c '%a %U %G' /etc/oombreaker/batches.d)"
[ "$(stat -c '%a %U %G' /var/lib/oombreaker)" = "750 oombreaker oombreaker" ] ||
	fail "/var/lib/oombreaker: $(stat -c '%a %U %G' /var/lib/oombreaker)"
# deb-systemd-helper only answers maintainer scripts: read its state file instead.
[ -f /var/lib/systemd/deb-systemd-helper-enabled/oombreaker.service.dsh-also ] ||
	fail "deb-systemd-helper has no record of enabling oombreaker.service"
[ "$(readlink /etc/systemd/system/multi-user.target.wants/oombreaker.service)" = \
	"$unitdir/oombreaker.service" ] || fail "no multi-user.target.wants symlink to the unit"
echo "ok: postinst: system user $uid:$gid, batches.d and /var/lib/oombreaker 0750, unit enabled"

# --- 4. dpkg -P -------------------------------------------------------------------------------
dpkg_locked --purge oombreaker || {
	cat "$TEST_TMP/dpkg.log" >&2
	fail "dpkg -P failed"
}
status=$(dpkg-query -W -f='${Status}' oombreaker 2>/dev/null || true)
[ -z "$status" ] || [[ $status == *not-installed* ]] || fail "after dpkg -P, the status is '$status'"
while read -r f; do
	[ ! -e "$f" ] || [ "$f" = /. ] || [ -n "$(dpkg-query -S "$f" 2>/dev/null)" ] ||
		fail "dpkg -P left $f behind"
done <"$TEST_TMP/listed"
snapshot >"$TEST_TMP/after"
if ! diff -u "$TEST_TMP/before" "$TEST_TMP/after" >"$TEST_TMP/left.diff"; then
	cat "$TEST_TMP/left.diff" >&2
	fail "dpkg -P left files behind (+ lines above)"
fi
# The system user stays after a purge, as Debian packages do and docs/operations.md says.
getent passwd oombreaker >/dev/null || fail "dpkg -P removed the oombreaker user (documented: it stays)"
echo "ok: dpkg -P: no file, directory, /etc entry or deb-systemd-helper state left; the user stays"
