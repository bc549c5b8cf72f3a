#!/usr/bin/env bash
# Exposition parse throughput on a 1 MiB text-format body, in one run: the agent's parser
# (agent/core/promtext.c via tests/tools/promtext-sum, asked for the go preset's two series while it
# validates every line), python3-prometheus-client's text parser, and Go's expfmt.TextParser
# (Debian golang-github-prometheus-common-dev). Prints the three figures (MB/s, 10^6 bytes per
# second) and the ratios; the goals are >= 20x python and >= 2x expfmt.
#   usage: scripts/bench-promtext.sh [SECONDS_PER_PARSER]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3}
build=${OOMBREAKER_BENCH_BUILD:-build-bench}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target promtext-sum -j2 >/dev/null
GO111MODULE=off GOPATH=/usr/share/gocode go build -o "$tmp/expfmt-bench" ./tests/bench/expfmt-bench
/usr/bin/python3 tests/bench/gen-exposition.py $((1 << 20)) >"$tmp/body.txt"
bytes=$(stat -c %s "$tmp/body.txt")

# The agent's parser: calibrate the repeat count to last about $seconds.
sum=("$build/promtext-sum" --repeat)
sels=(go_gc_duration_seconds_count go_memstats_heap_inuse_bytes)
"${sum[@]}" 3 "$tmp/body.txt" "${sels[@]}" >/dev/null 2>"$tmp/cal"
repeat=$(awk -v s="$seconds" -F'[ =]' '{ n = int(s / ($4 / 3)); print (n < 3 ? 3 : n) }' "$tmp/cal")
"${sum[@]}" "$repeat" "$tmp/body.txt" "${sels[@]}" >/dev/null 2>"$tmp/c"
c=$(sed -n 's/.*mb_per_s=\([0-9.]*\).*/\1/p' "$tmp/c")

py=$(/usr/bin/python3 tests/bench/bench_python.py "$tmp/body.txt" "$seconds" | sed -n 's/.*mb_per_s=\([0-9.]*\).*/\1/p')
go=$("$tmp/expfmt-bench" "$tmp/body.txt" "$seconds" | sed -n 's/.*mb_per_s=\([0-9.]*\).*/\1/p')

echo "promtext parse throughput on a $bytes-byte exposition (MB/s = 10^6 bytes/s):"
printf '  %-40s %10.1f MB/s\n' "oombreaker promtext (C)" "$c" \
	"python3-prometheus-client text parser" "$py" "Go expfmt.TextParser" "$go"
awk -v c="$c" -v py="$py" -v go="$go" 'BEGIN {
	printf "  ratio vs python: %.1fx (goal >= 20x)\n  ratio vs expfmt: %.1fx (goal >= 2x)\n", c / py, c / go
	exit (c / py >= 20 && c / go >= 2) ? 0 : 1
}'
