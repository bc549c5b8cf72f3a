# SPDX-License-Identifier: MIT
# `oombreaker replay` on the fixture traces in tests/fixtures/traces: each one's verdict,
# exit code, transitions and trip reason, in both output forms; then malformed traces and
# policies, which must fail with exit 1 and name the file and line.
set -euo pipefail

: "${OOMBREAKER:?set OOMBREAKER to the oombreaker binary}"
: "${OOMBREAKER_SOURCE_DIR:?set OOMBREAKER_SOURCE_DIR to the source tree}"
command -v jq >/dev/null || { echo "SKIP: jq is not installed (scripts/lib/deps.sh lists it)"; exit 77; }

fixtures="$OOMBREAKER_SOURCE_DIR/tests/fixtures/traces"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

expect_eq() { # what expected actual
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

# Policies must not be writable by others; copy them with a known mode.
for f in "$fixtures"/*.ini "$fixtures"/*.jsonl; do
	install -m 0644 "$f" "$tmp/"
done

# name | exit | verdict | transitions (t_ms:from>to, "(dry)" for a would-trip) | trip
cases=(
	"leak|2|tripped|215000:armed>breaching 225000:breaching>tripped|225000 canary-1 heap-pressure 3/3 memory_ratio,gc_per_minute"
	"leak-dry-run|0|breaching|215000:armed>breaching 225000:breaching>tripped(dry)|null"
	"gc-sawtooth|0|armed||null"
	"page-cache|0|armed||null"
	"single-spike|0|armed|100000:armed>breaching 105000:breaching>armed|null"
	"breach-breach-pass|0|armed|50000:armed>breaching 60000:breaching>armed 65000:armed>breaching 75000:breaching>armed|null"
	"oom-kill|2|tripped|50000:armed>tripped|50000 canary-1 oom 1/1 oom_kills"
	"psi-some-only|2|tripped|50000:armed>breaching 60000:breaching>tripped|60000 canary-1 pressure 3/3 psi_some"
	"metrics-gap|2|tripped|215000:armed>breaching 240000:breaching>inconclusive 255000:inconclusive>tripped|255000 canary-1 heap-pressure 3/3 memory_ratio,gc_per_minute"
	"metrics-lost|3|inconclusive|215000:armed>breaching 235000:breaching>inconclusive|null"
)

transitions_q='[.transitions[] | "\(.t_ms):\(.from)>\(.to)\(if .dry_run then "(dry)" else "" end)"] | join(" ")'
trip_q='if .trip then "\(.trip.t_ms) \(.trip.instance) \(.trip.rule) \(.trip.consecutive)/\(.trip.limit) \([.trip.conditions[].metric] | join(","))" else "null" end'

for c in "${cases[@]}"; do
	IFS='|' read -r name want_exit want_verdict want_transitions want_trip <<<"$c"
	rc=0
	"$OOMBREAKER" replay "$tmp/$name.ini" --trace "$tmp/$name.jsonl" --json >"$tmp/out.json" 2>"$tmp/err" || rc=$?
	expect_eq "$name --json exit" "$want_exit" "$rc"
	[ -s "$tmp/err" ] && fail "$name: unexpected stderr: $(cat "$tmp/err")"
	expect_eq "$name batch" "$(sed -n 's/^name = //p' "$tmp/$name.ini")" "$(jq -r .batch "$tmp/out.json")"
	expect_eq "$name verdict" "$want_verdict" "$(jq -r .verdict "$tmp/out.json")"
	expect_eq "$name transitions" "$want_transitions" "$(jq -r "$transitions_q" "$tmp/out.json")"
	expect_eq "$name trip" "$want_trip" "$(jq -r "$trip_q" "$tmp/out.json")"
	expect_eq "$name keys" '["schema","batch","verdict","transitions","trip"]' \
		"$(jq -c '[keys_unsorted[] | select(. != "would_trip")]' "$tmp/out.json")"

	rc=0
	"$OOMBREAKER" replay "$tmp/$name.ini" --trace "$tmp/$name.jsonl" >"$tmp/out.txt" 2>"$tmp/err" || rc=$?
	expect_eq "$name exit" "$want_exit" "$rc"
	grep -qx "verdict: $want_verdict" "$tmp/out.txt" || fail "$name: no 'verdict: $want_verdict' line"
	if [ "$want_trip" != null ]; then
		grep -q "^tripped at t_ms=${want_trip%% *}: instance canary-1" "$tmp/out.txt" ||
			fail "$name: no trip reason line in: $(cat "$tmp/out.txt")"
	fi
done

# The incident's numbers: each condition's value against its threshold.
"$OOMBREAKER" replay "$tmp/leak.ini" --trace "$tmp/leak.jsonl" --json >"$tmp/out.json" || true
expect_eq "leak memory_ratio" "0.9375 0.92" \
	"$(jq -r '.trip.conditions[] | select(.metric == "memory_ratio") | "\(.value) \(.threshold)"' "$tmp/out.json")"
expect_eq "leak gc_per_minute > 15" "true" \
	"$(jq -r '.trip.conditions[] | select(.metric == "gc_per_minute") | .value > .threshold and .threshold == 15' "$tmp/out.json")"
"$OOMBREAKER" replay "$tmp/leak.ini" --trace "$tmp/leak.jsonl" >"$tmp/out.txt" || true
grep -qx "  memory_ratio 0.9375 > 0.92" "$tmp/out.txt" || fail "leak: no memory_ratio line in the reason"
grep -qx "t_ms=225000 breaching -> tripped (instance canary-1, rule heap-pressure)" "$tmp/out.txt" ||
	fail "leak: no trip transition line"

# Dry run: the would-trip is reported, the trip is not.
"$OOMBREAKER" replay "$tmp/leak-dry-run.ini" --trace "$tmp/leak-dry-run.jsonl" --json >"$tmp/out.json" || true
expect_eq "dry run would_trip" "225000 3/3" \
	"$(jq -r '.would_trip | "\(.t_ms) \(.consecutive)/\(.limit)"' "$tmp/out.json")"

# Malformed input: exit 1 and FILE:LINE: reason on stderr.
good=$(sed -n 1p "$tmp/leak.jsonl")
later=$(sed -n 2p "$tmp/leak.jsonl")
expect_error() { # what trace-text pattern
	local rc=0
	printf '%s\n' "$2" >"$tmp/bad.jsonl"
	"$OOMBREAKER" replay "$tmp/leak.ini" --trace "$tmp/bad.jsonl" >"$tmp/out.txt" 2>"$tmp/err" || rc=$?
	expect_eq "$1 exit" 1 "$rc"
	grep -q -- "$3" "$tmp/err" || fail "$1: stderr lacks '$3': $(cat "$tmp/err")"
}
expect_error "not JSON" "$good"$'\n''{"t_ms":' "bad.jsonl:2: not JSON"
expect_error "no t_ms" '{"batch":"fx-leak","instance":"canary-1"}' "bad.jsonl:1: \"t_ms\""
expect_error "other batch" "$good"$'\n'"${later/fx-leak/fx-other}" \
	"bad.jsonl:2: batch 'fx-other' is not this policy's batch 'fx-leak'"
expect_error "unknown instance" "${good/canary-1/canary-9}" "bad.jsonl:1: instance 'canary-9' is not a \[target\]"
expect_error "time goes back" "$later"$'\n'"$good" "bad.jsonl:2: t_ms 0 goes back"
expect_error "duplicate instance" "$good"$'\n'"$good" "bad.jsonl:2: second line for instance 'canary-1'"
expect_error "bad figure" '{"t_ms":0,"batch":"fx-leak","instance":"canary-1","memory":{"current":"x"}}' \
	"bad.jsonl:1: \"current\" is not a number"
expect_error "empty trace" "" "bad.jsonl: no trace lines"
head -c 5000 /dev/zero | tr '\0' ' ' >"$tmp/long.txt"
expect_error "overlong line" "$(cat "$tmp/long.txt")" "bad.jsonl:1: line longer than"

rc=0
"$OOMBREAKER" replay "$tmp/leak.ini" --trace "$tmp/missing.jsonl" 2>"$tmp/err" || rc=$?
expect_eq "missing trace exit" 1 "$rc"
grep -q "missing.jsonl: cannot open" "$tmp/err" || fail "missing trace: $(cat "$tmp/err")"

rc=0
"$OOMBREAKER" replay "$tmp/leak.ini" 2>"$tmp/err" || rc=$?
expect_eq "no --trace exit" 1 "$rc"

# --batch NAME: the leak trace (batch fx-leak) under another batch's policy. A copy of leak.ini
# named fx-other refuses the trace without --batch and trips exactly as leak.ini with it.
sed 's/^name = .*/name = fx-other/' "$tmp/leak.ini" >"$tmp/other.ini"
chmod 0644 "$tmp/other.ini"
rc=0
"$OOMBREAKER" replay "$tmp/other.ini" --trace "$tmp/leak.jsonl" 2>"$tmp/err" >/dev/null || rc=$?
expect_eq "other batch without --batch exit" 1 "$rc"
grep -q "batch 'fx-leak' is not this policy's batch 'fx-other'" "$tmp/err" ||
	fail "other batch without --batch: $(cat "$tmp/err")"
"$OOMBREAKER" replay "$tmp/leak.ini" --trace "$tmp/leak.jsonl" --json >"$tmp/own.json" || true
rc=0
"$OOMBREAKER" replay "$tmp/other.ini" --trace "$tmp/leak.jsonl" --batch fx-leak --json \
	>"$tmp/other.json" 2>"$tmp/err" || rc=$?
expect_eq "--batch exit" 2 "$rc"
expect_eq "--batch verdict and trip" "$(jq -c '[.verdict, .trip]' "$tmp/own.json")" \
	"$(jq -c '[.verdict, .trip]' "$tmp/other.json")"
expect_eq "--batch names the policy's batch" fx-other "$(jq -r .batch "$tmp/other.json")"
rc=0
"$OOMBREAKER" replay "$tmp/leak.ini" --trace "$tmp/leak.jsonl" --batch fx-none 2>"$tmp/err" >/dev/null || rc=$?
expect_eq "--batch of another trace exit" 1 "$rc"
grep -q "batch 'fx-leak' is not --batch 'fx-none'" "$tmp/err" || fail "--batch mismatch: $(cat "$tmp/err")"

{ cat "$tmp/leak.ini"; echo "bogus_key = 1"; } >"$tmp/badpolicy.ini"
chmod 0644 "$tmp/badpolicy.ini"
rc=0
"$OOMBREAKER" replay "$tmp/badpolicy.ini" --trace "$tmp/leak.jsonl" 2>"$tmp/err" >/dev/null || rc=$?
expect_eq "bad policy exit" 1 "$rc"
grep -q "badpolicy.ini:[0-9]*: " "$tmp/err" || fail "bad policy: no FILE:LINE: in $(cat "$tmp/err")"

# The committed fixtures are exactly what generate.py writes.
if [ -x /usr/bin/python3 ]; then
	mkdir "$tmp/gen"
	cp "$fixtures/generate.py" "$tmp/gen/"
	/usr/bin/python3 "$tmp/gen/generate.py"
	for f in "$tmp"/gen/*.ini "$tmp"/gen/*.jsonl; do
		cmp -s "$f" "$fixtures/$(basename "$f")" || fail "$(basename "$f") differs from generate.py's output"
	done
fi

if [ "$failures" -gt 0 ]; then
	echo "$failures check(s) failed" >&2
	exit 1
fi
echo "replay: ${#cases[@]} traces decided as expected, malformed input rejected"
