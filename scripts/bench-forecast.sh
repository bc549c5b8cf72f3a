#!/usr/bin/env bash
# The forecast against the memory ratio rule and the kernel's OOM kill, on the real traces in
# tests/fixtures/traces/real (issue 16; docs/BENCHMARKS.md "Forecast"). For each trace it replays
# two policies made from the recorded one (its [batch] and [target], dry run off, consecutive 3):
#   ratio     memory_ratio_above = 0.85
#   forecast  time_to_limit_below = 30s, forecast_window = 2m (the default)
# with `oombreaker replay --json`, and prints a Markdown table: for a leak, when each trips, the
# kernel's OOM kill (the `; oom_kill_t_ms` line of the .ini), the forecast's lead over both, and
# whether the leak is fast (the ratio threshold to the kill in less than the forecast threshold);
# for a benign trace, the trips. Both columns come from the shipped code path: the agent's
# rules and breaker, through replay.
#
#   [FORECAST_BELOW_S=30] [FORECAST_WINDOW=2m] scripts/bench-forecast.sh [--check]
#
# --check: exit 1 unless every leak trips before its OOM kill, every fast leak trips before
# the ratio rule, and no benign trace trips.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${OOMBREAKER_BINARY_DIR:-build}
OOMBREAKER=${OOMBREAKER:-$BUILD/oombreaker}
TRACES=tests/fixtures/traces/real
BELOW_S=${FORECAST_BELOW_S:-30} # the forecast threshold, seconds
WINDOW=${FORECAST_WINDOW:-2m}   # forecast_window
RATIO=0.85
check=false
[ "${1:-}" != --check ] || check=true
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-forecast.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# policy REC RULE...: the recorded policy's [batch] and [target] with the given rule lines
# (and forecast_window in [batch] for a forecast rule).
policy() {
	local rec=$1 window=
	shift
	case "$*" in *time_to_limit_below*) window="\nforecast_window = $WINDOW" ;; esac
	sed -e '/^\[rule /,$d' -e 's/^dry_run = true$/dry_run = false/' \
		-e "s/^\[batch\]\$/[batch]$window/" "$rec"
	printf '[rule r]\n'
	printf '%s\n' "$@"
}

# first_trip POLICY TRACE: t_ms of the first trip, or "null". (replay exits like wait: 0 no
# trip, 2 tripped, 3 inconclusive; anything else is an error.)
first_trip() {
	local rc=0
	"$OOMBREAKER" replay "$1" --trace "$2" --json >"$tmp/replay.json" || rc=$?
	[ $rc = 0 ] || [ $rc = 2 ] || [ $rc = 3 ] || { echo "replay $1 $2 failed ($rc)" >&2; exit 1; }
	jq '.trip.t_ms // null' "$tmp/replay.json"
}

# forecast_trip REC TRACE: the forecast rule's first trip (t_ms or null).
forecast_trip() {
	policy "$1" "time_to_limit_below = ${BELOW_S}s" >"$tmp/f.ini"
	first_trip "$tmp/f.ini" "$2"
}

# ratio_cross TRACE: the first tick whose working set is above RATIO of the limit (or null).
ratio_cross() {
	jq -s --argjson r "$RATIO" 'map(select(.memory.current != null and .memory.max != null and
		(.memory.current - .memory.inactive_file) > $r * .memory.max)) | first | .t_ms // null' "$1"
}

# s MS: "12.3 s", or "never" for null. lead A B: B - A as "+1.5 s", or "–" when either is null.
s() {
	if [ "$1" = null ]; then echo never; else awk -v v="$1" 'BEGIN { printf "%.1f s", v / 1000 }'; fi
}
lead() {
	if [ "$1" = null ] || [ "$2" = null ]; then
		echo "–"
	else
		awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f s", (b - a) / 1000 }'
	fi
}

ok=true
echo "Forecast: time_to_limit_below = ${BELOW_S}s, forecast_window = $WINDOW; ratio: memory_ratio_above = $RATIO;"
echo "consecutive = 3, interval 1 s. Both from oombreaker replay."
echo
echo "| leak trace | forecast trip | ratio trip | kernel OOM kill | lead over ratio | lead over OOM kill | ratio threshold → kill | fast (< ${BELOW_S} s)? |"
echo "|---|---|---|---|---|---|---|---|"
benign=()
for rec in "$TRACES"/*.ini; do
	name=$(basename "$rec" .ini)
	trace=$TRACES/$name.jsonl
	oom=$(awk '/^; oom_kill_t_ms = / { print $4 }' "$rec")
	if [ "$oom" = none ]; then
		benign+=("$name")
		continue
	fi
	policy "$rec" "memory_ratio_above = $RATIO" >"$tmp/r.ini"
	rt=$(first_trip "$tmp/r.ini" "$trace")
	ft=$(forecast_trip "$rec" "$trace")
	cross=$(ratio_cross "$trace")
	fast=no
	[ "$cross" = null ] || [ $((oom - cross)) -ge $((BELOW_S * 1000)) ] || fast=yes
	echo "| $name | $(s "$ft") | $(s "$rt") | $(s "$oom") | $(lead "$ft" "$rt") | $(lead "$ft" "$oom") | $(lead "$cross" "$oom" | tr -d +) | $fast |"
	if [ "$ft" = null ] || [ "$ft" -ge "$oom" ]; then ok=false; fi
	if [ $fast = yes ] && { [ "$ft" = null ] || { [ "$rt" != null ] && [ "$ft" -ge "$rt" ]; }; }; then ok=false; fi
done
echo
echo "| benign trace | forecast trips | ratio trips |"
echo "|---|---|---|"
for name in "${benign[@]}"; do
	rec=$TRACES/$name.ini
	trace=$TRACES/$name.jsonl
	policy "$rec" "memory_ratio_above = $RATIO" >"$tmp/r.ini"
	rt=$(first_trip "$tmp/r.ini" "$trace")
	ft=$(forecast_trip "$rec" "$trace")
	n_f=0 n_r=0
	[ "$ft" = null ] || n_f=1
	[ "$rt" = null ] || n_r=1
	echo "| $name | $n_f | $n_r |"
	[ "$ft" = null ] || ok=false
done
if $check && ! $ok; then
	echo "FAIL: a target was missed (see the tables)" >&2
	exit 1
fi
