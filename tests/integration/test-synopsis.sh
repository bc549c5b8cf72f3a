#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The man page's SYNOPSIS and the binary agree: every command the SYNOPSIS shows answers --help
# (exit 0), every option the SYNOPSIS gives a command is in that command's --help, and every
# option a command's --help lists is in its SYNOPSIS line (--help and --version aside). Every
# command `oombreaker --help` lists has a SYNOPSIS line too.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

tmpdir_setup
bin=${OOMBREAKER:?set OOMBREAKER to the oombreaker binary}
[ -x "$bin" ] || fail "no binary at $bin"
page=$SOURCE_DIR/docs/oombreaker.8

# The SYNOPSIS as one line per command: "CMD --opt --opt ...", roff escapes undone.
sed -n '/^\.SH SYNOPSIS/,/^\.SH /p' "$page" | sed '1d;$d' | sed 's/\\-/-/g' |
	awk '/^\.br/ { print line; line = ""; next } { line = line " " $0 } END { print line }' |
	while read -r line; do
		cmd=$(grep -oE 'oombreaker [a-z]+' <<<"$line" | head -n 1 | cut -d' ' -f2) || true
		[ -n "$cmd" ] || continue
		printf '%s %s\n' "$cmd" "$(grep -oE -- '--[a-z][a-z-]*' <<<"$line" | sort -u | tr '\n' ' ')"
	done >"$TEST_TMP/synopsis"
[ -s "$TEST_TMP/synopsis" ] || fail "no SYNOPSIS lines found in $page"

# help_options CMD: the options CMD --help lists, sorted, --help and --version left out.
help_options() {
	"$bin" "$1" --help | grep -oE -- '--[a-z][a-z-]*' | grep -vx -e --help -e --version | sort -u |
		tr '\n' ' '
}

n=0
while read -r cmd opts; do
	rc=0
	"$bin" "$cmd" --help >/dev/null 2>&1 || rc=$?
	[ "$rc" = 0 ] || fail "oombreaker $cmd --help exited $rc"
	want=$(tr ' ' '\n' <<<"$opts" | grep . | sort -u | tr '\n' ' ') || true
	got=$(help_options "$cmd") || true
	[ "$want" = "$got" ] ||
		fail "oombreaker $cmd: the SYNOPSIS has [$want] but --help lists [$got]"
	n=$((n + 1))
done < <(grep -v '^ *$' "$TEST_TMP/synopsis" | grep -vE '^(oombreaker|--)' || true)
[ "$n" -ge 9 ] || fail "only $n commands checked: $(cat "$TEST_TMP/synopsis")"

# Every command of `oombreaker --help` has its SYNOPSIS line.
for cmd in $("$bin" --help | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p'); do
	grep -q "^$cmd " "$TEST_TMP/synopsis" || fail "oombreaker $cmd is missing from the SYNOPSIS"
done
echo "PASS: $n commands"
