#!/usr/bin/env bash
# Slow and broken endpoints: one that accepts and hangs forever, one that answers 500, one
# that streams 50 MiB. Each is reported as no-data with its reason, every tick, while a
# scrape loop shaped like the agent's (tests/tools/scrape-loop.c: timerfd at a 200 ms
# interval, absolute deadlines, http_poll as the only wait) keeps its cadence: the median
# and every measured tick period stay within +-10 %. A healthy endpoint in the same loop
# keeps delivering data.
set -euo pipefail

src=${OOMBREAKER_SOURCE_DIR:?set OOMBREAKER_SOURCE_DIR}
build=${OOMBREAKER_BINARY_DIR:?set OOMBREAKER_BINARY_DIR}
loop=$build/scrape-loop
[ -x "$loop" ] || { echo "SKIP: $loop is not built"; exit 77; }

ticks=50
interval_ms=200
tmp=$(mktemp -d /tmp/test-bad-endpoints.XXXXXX)
peer_pid=
cleanup() {
	local rc=$?
	if [ -n "$peer_pid" ]; then
		kill "$peer_pid" 2>/dev/null || true
		wait "$peer_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

/usr/bin/python3 "$src/tests/tools/bad-endpoints.py" >"$tmp/peer.log" 2>&1 &
peer_pid=$!
for _ in $(seq 50); do
	grep -q '^hang=' "$tmp/peer.log" && break
	kill -0 "$peer_pid" 2>/dev/null || fail "peer exited: $(cat "$tmp/peer.log")"
	sleep 0.1
done
read -r hang err big ok < <(sed -n 's/^hang=\([0-9]*\) err=\([0-9]*\) big=\([0-9]*\) ok=\([0-9]*\)$/\1 \2 \3 \4/p' "$tmp/peer.log")
[ -n "${ok:-}" ] || fail "peer did not report its ports: $(cat "$tmp/peer.log")"

url() { echo "http://127.0.0.1:$1/metrics"; }
echo "== $ticks ticks at ${interval_ms} ms: hang (1 s timeout), hang (100 ms), 500, 50 MiB, healthy"
set +e
"$loop" --interval-ms "$interval_ms" --ticks "$ticks" \
	--timeout-ms 1000 hang="$(url "$hang")" err="$(url "$err")" big="$(url "$big")" \
	ok="$(url "$ok")" --timeout-ms 100 hang-100ms="$(url "$hang")" >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
grep -E '^(periods|summary)' "$tmp/out"
[ "$rc" -le 1 ] || fail "scrape-loop failed to run (exit $rc): $(cat "$tmp/err")"

# expect TARGET REASON: every result of TARGET is no-data with exactly REASON (a fixed
# string, after normalising the figures libcurl puts in its messages).
expect() {
	local target=$1 reason=$2 n bad
	n=$(grep -c "^result target=$target tick=" "$tmp/out" || true)
	bad=$(grep "^result target=$target tick=" "$tmp/out" |
		sed -E 's/after [0-9]+ milliseconds/after N milliseconds/' |
		grep -vcF "data=no reason=\"$reason\"" || true)
	echo "$target: $n results, reason \"$reason\""
	[ "$n" -ge $((ticks - 1)) ] || fail "$target: only $n results for $ticks ticks"
	[ "$bad" = 0 ] || fail "$target: $bad results differ: $(grep "^result target=$target " "$tmp/out" | sort | uniq -c | head)"
}
expect hang "scrape still running at the next tick, cancelled"
expect hang-100ms "Operation timed out after N milliseconds with 0 bytes received"
expect err "HTTP 500: internal error: database is on fire"
expect big "response exceeds 8388608 bytes"

# The healthy endpoint shares the loop (and a Python process with the 50 MiB streamer, so
# allow for a slow answer now and then): most ticks carry data, and its counter rises.
with_data=$(grep -c '^result target=ok tick=[0-9]* data=yes' "$tmp/out" || true)
echo "ok: $with_data of $((ticks - 1)) ticks with data"
[ "$with_data" -ge $(((ticks - 1) * 8 / 10)) ] || fail "ok: only $with_data ticks with data"
first=$(sed -n 's/^result target=ok .* gc_count=\([0-9]*\) .*/\1/p' "$tmp/out" | head -1)
last=$(sed -n 's/^result target=ok .* gc_count=\([0-9]*\) .*/\1/p' "$tmp/out" | tail -1)
[ "$last" -gt "$first" ] || fail "ok: gc_count did not rise ($first, $last)"

# The cadence: scrape-loop exits 1 when the median or any period leaves +-10 % (or a timer
# expiration was missed); show the worst periods either way.
echo "slowest periods (ms): $(sed -n 's/^tick [0-9]* period_ms=//p' "$tmp/out" | sort -rn | head -3 | tr '\n' ' ')"
[ "$rc" = 0 ] || fail "tick cadence left +-10 % of ${interval_ms} ms: $(grep '^periods' "$tmp/out")"
echo "PASS"
