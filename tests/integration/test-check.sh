#!/usr/bin/env bash
# `oombreaker check`: the shipped policies pass; a file with three mistakes gets exactly three
# errors at the right lines; a group-writable policy is refused.
set -euo pipefail

bin=${OOMBREAKER:?OOMBREAKER must point at the oombreaker binary}
src=${OOMBREAKER_SOURCE_DIR:?OOMBREAKER_SOURCE_DIR must point at the source tree}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# 1. The shipped policies are valid: exit 0, one summary line per file.
"$bin" check "$src"/policies/*.ini >"$tmp/out" 2>"$tmp/err" ||
	fail "check policies/*.ini exited $? ($(cat "$tmp/err"))"
n_files=$(ls "$src"/policies/*.ini | wc -l)
[ "$(wc -l <"$tmp/out")" -eq "$n_files" ] || fail "expected $n_files summaries: $(cat "$tmp/out")"
grep -qx ".*/batch-a.ini: batch v1.0.1-a, 1 target, 2 rules, 2 actions, every 5s, trips after 3 in a row" \
	"$tmp/out" || fail "batch-a summary: $(cat "$tmp/out")"
grep -q '/batch-b.ini: batch v1.0.1-b, 4 targets, ' "$tmp/out" || fail "batch-b summary"
grep -q '/demo.ini: batch demo, 1 target, 2 rules, 2 actions, every 1s, ' "$tmp/out" ||
	fail "demo summary"
if grep -v ': warning: ' "$tmp/err" | grep -q .; then
	fail "unexpected errors: $(cat "$tmp/err")"
fi

# 2. Three different mistakes: three errors, right lines, exit 1.
cat >"$tmp/three.ini" <<'INI'
[batch]
name = v1.0.1-a
interval = 5x

[target canary-1]
cgroup = /system.slice/order-canary@1.service
memory_limit = 2GiB
memory_limit = 4GiB

[rule heap-pressure]
memory_ratio_above = 0.92
gc_per_minute_abvoe = 15
INI
chmod 0644 "$tmp/three.ini"
rc=0
"$bin" check "$tmp/three.ini" >"$tmp/out" 2>"$tmp/err" || rc=$?
cat "$tmp/err"
[ "$rc" -eq 1 ] || fail "three mistakes: exit $rc, expected 1"
[ ! -s "$tmp/out" ] || fail "three mistakes: unexpected summary: $(cat "$tmp/out")"
[ "$(wc -l <"$tmp/err")" -eq 3 ] || fail "expected exactly 3 errors"
grep -q "^$tmp/three.ini:3: interval: \"5x\" is not a duration" "$tmp/err" || fail "line 3"
grep -q "^$tmp/three.ini:8: memory_limit: duplicate key in \[target canary-1\] (first set at line 7)" \
	"$tmp/err" || fail "line 8"
grep -q "^$tmp/three.ini:12: unknown key \"gc_per_minute_abvoe\" in \[rule heap-pressure\]" \
	"$tmp/err" || fail "line 12"

# 3. A group-writable copy of a valid policy is refused.
cp "$src/policies/demo.ini" "$tmp/writable.ini"
chmod 0664 "$tmp/writable.ini"
rc=0
"$bin" check "$tmp/writable.ini" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 1 ] || fail "group-writable policy: exit $rc, expected 1"
grep -q "^$tmp/writable.ini: refusing a policy file writable by group or others (mode 0664" \
	"$tmp/err" || fail "group-writable message: $(cat "$tmp/err")"

# 4. "-" reads a policy from stdin, named <stdin> in messages; a bad duration gets the hint.
"$bin" check - <"$src/policies/demo.ini" >"$tmp/out" 2>"$tmp/err" || fail "check - on demo.ini: $(cat "$tmp/err")"
grep -q '^<stdin>: batch ' "$tmp/out" || fail "check - summary: $(cat "$tmp/out")"
rc=0
sed 's/^interval = .*/interval = 1min/' "$src/policies/demo.ini" | "$bin" check - >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 1 ] || fail "check - with interval = 1min: exit $rc, expected 1"
grep -q '^<stdin>:[0-9]*: interval: "1min" is not a duration (use 500ms, 1.5s, 90s, 1m30s or 2h' "$tmp/err" ||
	fail "1min hint: $(cat "$tmp/err")"
sed 's/^interval = .*/interval = 1m30s/' "$src/policies/demo.ini" | "$bin" check - >"$tmp/out" 2>"$tmp/err" ||
	fail "interval = 1m30s refused: $(cat "$tmp/err")"
grep -q 'every 1m30s' "$tmp/out" || fail "1m30s summary: $(cat "$tmp/out")"

# 5. --help and --version work on the subcommand.
"$bin" check --help | grep -q '^Usage: oombreaker check FILE' || fail "check --help"
"$bin" check --version | grep -q '^oombreaker ' || fail "check --version"

echo "test-check: ok"
