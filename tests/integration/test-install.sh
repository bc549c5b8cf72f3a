#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Installation and packaging:
#  1. `cmake --install` of the test build into a scratch prefix installs exactly the binary, the
#     unit (its ExecStart pointing at that prefix), sysusers.d, tmpfiles.d, the example
#     policies, oombreaker(8) gzipped, bash and zsh completion, the lintian overrides, and the
#     doc directory (copyright, changelog.Debian.gz, policy.md, operations.md);
#  2. the man page renders without a single groff or man warning;
#  3. `cpack -G DEB` in a scratch build configured for /usr makes a .deb with exactly those
#     files at their Debian paths, dependencies computed by dpkg-shlibdeps, and the
#     maintainer scripts. Skipped (77) when cpack or dpkg-deb is missing.
# tests/integration/test-deb.sh installs and purges the package for real, and runs lintian.
set -euo pipefail

src=${OOMBREAKER_SOURCE_DIR:?OOMBREAKER_SOURCE_DIR is not set}
build=${OOMBREAKER_BINARY_DIR:?OOMBREAKER_BINARY_DIR is not set}

tmp=$(mktemp -d /tmp/test-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Compares two sorted file lists; prints the difference and fails when they differ.
same_files() { # what expected-file actual-file
	if ! diff -u "$2" "$3" >"$tmp/diff"; then
		cat "$tmp/diff" >&2
		fail "$1: file list differs (- expected, + installed)"
	fi
}

examples=()
for f in "$src"/policies/*.ini; do
	[ -e "$f" ] && examples+=("$(basename "$f")")
done
echo "example policies in the source tree: ${examples[*]:-(none yet)}"

# --- 1. cmake --install -----------------------------------------------------------------------
# DESTDIR as well as --prefix: a build configured for /usr installs the unit to the absolute
# /lib/systemd/system, which must land in the scratch tree and never on this host.
prefix=$tmp/prefix
stage=$tmp/stage
DESTDIR=$stage cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" ||
	{ cat "$tmp/install.log" >&2; fail "cmake --install failed"; }

# The unit (and zsh completion) directory follows the prefix installed to, never /usr here.
unitdir=$prefix/lib/systemd/system
{
	echo "$prefix/bin/oombreaker"
	echo "$unitdir/oombreaker.service"
	echo "$prefix/lib/sysusers.d/oombreaker.conf"
	echo "$prefix/lib/tmpfiles.d/oombreaker.conf"
	echo "$prefix/share/man/man8/oombreaker.8.gz"
	echo "$prefix/share/bash-completion/completions/oombreaker"
	echo "$prefix/share/zsh/site-functions/_oombreaker"
	echo "$prefix/share/lintian/overrides/oombreaker"
	for d in copyright changelog.Debian.gz policy.md operations.md; do
		echo "$prefix/share/doc/oombreaker/$d"
	done
	for e in "${examples[@]}"; do
		echo "$prefix/share/doc/oombreaker/examples/$e"
	done
} | sort >"$tmp/want"
(cd "$stage" && find . \( -type f -o -type l \) | sed 's|^\.||' | sort) >"$tmp/got"
same_files "cmake --install --prefix $prefix" "$tmp/want" "$tmp/got"

[ -x "$stage$prefix/bin/oombreaker" ] || fail "bin/oombreaker is not executable"
"$stage$prefix/bin/oombreaker" --version | grep -q '^oombreaker ' ||
	fail "the installed binary does not run"
cmp -s "$src/systemd/oombreaker.sysusers" "$stage$prefix/lib/sysusers.d/oombreaker.conf" ||
	fail "lib/sysusers.d/oombreaker.conf is not systemd/oombreaker.sysusers"
cmp -s "$src/systemd/oombreaker.tmpfiles" "$stage$prefix/lib/tmpfiles.d/oombreaker.conf" ||
	fail "lib/tmpfiles.d/oombreaker.conf is not systemd/oombreaker.tmpfiles"
for e in "${examples[@]}"; do
	cmp -s "$src/policies/$e" "$stage$prefix/share/doc/oombreaker/examples/$e" ||
		fail "examples/$e differs from policies/$e"
done
# The unit differs from the source only in ExecStart, which names the prefix's binary.
diff "$src/systemd/oombreaker.service" "$stage$unitdir/oombreaker.service" >"$tmp/unit.diff" || true
grep -qxF "> ExecStart=$prefix/bin/oombreaker run --policy-dir /etc/oombreaker/batches.d" \
	"$tmp/unit.diff" || fail "installed unit's ExecStart: $(cat "$tmp/unit.diff")"
[ "$(grep -c '^[<>]' "$tmp/unit.diff")" = 2 ] || fail "installed unit differs beyond ExecStart"
echo "ok: cmake --install: $(wc -l <"$tmp/got") files, unit ExecStart=$prefix/bin/oombreaker"

# --- 2. the man page --------------------------------------------------------------------------
page=$stage$prefix/share/man/man8/oombreaker.8.gz
zcat "$page" | cmp -s - "$src/docs/oombreaker.8" || fail "oombreaker.8.gz is not docs/oombreaker.8"
if command -v groff >/dev/null 2>&1; then
	zcat "$page" | groff -ww -z -man 2>"$tmp/groff.err" || fail "groff failed: $(cat "$tmp/groff.err")"
	[ ! -s "$tmp/groff.err" ] || fail "groff -ww warns: $(cat "$tmp/groff.err")"
	echo "ok: groff -ww -z -man: no warnings"
else
	echo "note: groff is not installed; warning check skipped"
fi
if command -v man >/dev/null 2>&1; then
	MANWIDTH=80 man --warnings -l "$page" >"$tmp/man.txt" 2>"$tmp/man.err" ||
		fail "man -l failed: $(cat "$tmp/man.err")"
	[ ! -s "$tmp/man.err" ] || fail "man -l warns: $(cat "$tmp/man.err")"
	head -1 "$tmp/man.txt" | grep -q '^OOMBREAKER(8) ' || fail "no OOMBREAKER(8) header"
	for section in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS "EXIT STATUS" SIGNALS ENVIRONMENT FILES; do
		grep -qx "$section" "$tmp/man.txt" || fail "the man page has no $section section"
	done
	# Every command and option of DESIGN.md's "Command line", and every exit code.
	for cmd in run check sample replay status wait reset promote; do
		grep -qE "^ +oombreaker +$cmd( |$)" "$tmp/man.txt" || fail "SYNOPSIS lacks '$cmd'"
	done
	for opt in --policy --policy-dir --state-dir --socket --listen --cgroup-root --dry-run \
		--json --trace --bake --timeout --help --version; do
		grep -qE "^ {7}(-[a-zA-Z], )?$opt( |,|$)" "$tmp/man.txt" || fail "OPTIONS lacks '$opt'"
	done
	for code in 0 1 2 3 124; do
		grep -qE "^ {7}$code( |$)" "$tmp/man.txt" || fail "EXIT STATUS lacks $code"
	done
	echo "ok: man -l renders oombreaker(8) with no warnings, all commands, options and exit codes"
else
	echo "note: man is not installed; rendering check skipped"
fi

# --- 3. cpack -G DEB --------------------------------------------------------------------------
for tool in cpack dpkg-deb dpkg-shlibdeps readelf; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool is not installed (packages cmake, dpkg, dpkg-dev, binutils): .deb not checked"
		exit 77
	fi
done
pkgbuild=$tmp/pkgbuild
cmake -S "$src" -B "$pkgbuild" -DCMAKE_INSTALL_PREFIX=/usr -DOOMBREAKER_TESTS=OFF \
	>"$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log" >&2; fail "configure failed"; }
cmake --build "$pkgbuild" -j2 >"$tmp/build.log" 2>&1 ||
	{ tail -30 "$tmp/build.log" >&2; fail "package build failed"; }
(cd "$pkgbuild" && cpack -G DEB) >"$tmp/cpack.log" 2>&1 ||
	{ cat "$tmp/cpack.log" >&2; fail "cpack -G DEB failed"; }
debs=("$pkgbuild"/oombreaker_*.deb)
if [ ${#debs[@]} != 1 ] || [ ! -f "${debs[0]}" ]; then
	fail "cpack made no single oombreaker_*.deb"
fi
deb=${debs[0]}
echo "built $(basename "$deb")"

debunit=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /usr/lib/systemd/system)
{
	echo "./usr/bin/oombreaker"
	echo ".$debunit/oombreaker.service"
	echo "./usr/lib/sysusers.d/oombreaker.conf"
	echo "./usr/lib/tmpfiles.d/oombreaker.conf"
	echo "./usr/share/man/man8/oombreaker.8.gz"
	echo "./usr/share/bash-completion/completions/oombreaker"
	echo "./usr/share/zsh/vendor-completions/_oombreaker"
	echo "./usr/share/lintian/overrides/oombreaker"
	for d in copyright changelog.Debian.gz policy.md operations.md; do
		echo "./usr/share/doc/oombreaker/$d"
	done
	for e in "${examples[@]}"; do
		echo "./usr/share/doc/oombreaker/examples/$e"
	done
} | sort >"$tmp/want.deb"
# dpkg-deb -c lists like tar -tv: keep non-directories, last field is the path.
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print $NF }' | sort >"$tmp/got.deb"
same_files "dpkg-deb -c $(basename "$deb")" "$tmp/want.deb" "$tmp/got.deb"
dpkg-deb -c "$deb" | awk '$NF == "./usr/bin/oombreaker" && $1 !~ /^-rwxr-xr-x/ { exit 1 }' ||
	fail "./usr/bin/oombreaker is not mode 0755 in the package"

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = oombreaker ] || fail "Package: $(field Package)"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
[ -n "$(field Description)" ] || fail "no Description"
# VERSION-REVISION, the revision from the top entry of packaging/deb/changelog.
revision=$(sed -n '1s/^oombreaker ([^)]*-\([^)-]*\)).*/\1/p' "$src/packaging/deb/changelog")
[ "$(field Version)" = "$("$pkgbuild/oombreaker" --version | awk '{ print $2 }')-$revision" ] ||
	fail "Version $(field Version) is not the binary's with revision '$revision'"
# dpkg-shlibdeps lists every shared library the binary needs; libc is always among them.
depends=$(field Depends)
grep -q 'libc6' <<<"$depends" || fail "Depends was not computed by dpkg-shlibdeps: '$depends'"
owner() { # library path -> the Debian package that ships it (dpkg knows one of its aliases)
	local p
	for p in "$1" "$(realpath "$1")" "${1#/usr}"; do
		dpkg -S "$p" 2>/dev/null | head -1 | cut -d: -f1 && return 0
	done
	return 0
}
needed_paths() { # binary -> paths of the libraries it links directly (DT_NEEDED), as ldd finds them
	local name
	readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' | while read -r name; do
		ldd "$1" | awk -v n="$name" '$1 == n && $3 ~ /^\// { print $3 }'
	done
}
checked=0
while read -r lib; do
	pkg=$(owner "$lib")
	[ -n "$pkg" ] || fail "no Debian package ships $lib"
	grep -qw "$pkg" <<<"$depends" || fail "Depends lacks $pkg (for $lib): '$depends'"
	checked=$((checked + 1))
done < <(needed_paths "$pkgbuild/oombreaker")
[ "$checked" -gt 0 ] || fail "found no shared library the binary needs"
mkdir -p "$tmp/control"
dpkg-deb -e "$deb" "$tmp/control"
for script in postinst prerm postrm; do
	[ -x "$tmp/control/$script" ] || fail "the package has no executable $script"
	sh -n "$tmp/control/$script" || fail "$script is not valid sh"
done
grep -qE 'systemd-sysusers .*oombreaker\.conf' "$tmp/control/postinst" ||
	fail "postinst does not create the system user"
dpkg-deb --fsys-tarfile "$deb" | tar -xO ".$debunit/oombreaker.service" |
	grep -qxF "ExecStart=/usr/bin/oombreaker run --policy-dir /etc/oombreaker/batches.d" ||
	fail "the packaged unit does not start /usr/bin/oombreaker"
echo "ok: $(basename "$deb"): $(wc -l <"$tmp/got.deb") files, Depends: $depends"
