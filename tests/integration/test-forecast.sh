#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The forecast on the real traces in tests/fixtures/traces/real (scripts/bench-forecast.sh
# --check, the same run as docs/BENCHMARKS.md's table): every leak trips before the kernel's
# OOM kill, every fast leak before a 0.85 ratio rule, and no benign trace trips, all through
# `oombreaker replay` with a time_to_limit_below policy (the shipped code path). Then the
# check itself must be able to fail: with a 1 s threshold the leaks no longer trip in time.
set -euo pipefail

: "${OOMBREAKER:?set OOMBREAKER to the oombreaker binary}"
: "${OOMBREAKER_SOURCE_DIR:?set OOMBREAKER_SOURCE_DIR to the source tree}"
command -v jq >/dev/null || { echo "SKIP: jq is not installed (scripts/lib/deps.sh lists it)"; exit 77; }
bench=$OOMBREAKER_SOURCE_DIR/scripts/bench-forecast.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

"$bench" --check >"$tmp/table.md" 2>"$tmp/err" || fail "targets missed: $(cat "$tmp/table.md" "$tmp/err")"
cat "$tmp/table.md"
grep -q '^consecutive = 3, interval 1 s. Both from oombreaker replay.$' "$tmp/table.md" ||
	fail "the forecast column does not come from replay"
# Every recorded trace is in a table: four leaks, four benign.
[ "$(grep -c '^| go-leak-\|^| py-slow-leak' "$tmp/table.md")" = 4 ] || fail "not four leak rows"
[ "$(grep -c '^| \(gc-sawtooth\|page-cache\|spike\|restart\) ' "$tmp/table.md")" = 4 ] ||
	fail "not four benign rows"

if FORECAST_BELOW_S=1 "$bench" --check >"$tmp/neg.md" 2>&1; then
	fail "a 1 s threshold still met every target: the check cannot fail"
fi
grep -q 'never' "$tmp/neg.md" || fail "with a 1 s threshold a leak should never trip: $(cat "$tmp/neg.md")"
echo "PASS"
