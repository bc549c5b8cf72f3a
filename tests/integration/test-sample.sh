#!/usr/bin/env bash
# `oombreaker sample` on copies of the fixture trees (no root needed): the table and --json,
# `max` with and without memory_limit, globs, a target that vanishes (exit 0, no data, with
# the reason), and no memory hierarchy at all (exit 1, with a clear message).
set -euo pipefail

bin=${OOMBREAKER:?set OOMBREAKER to the oombreaker binary}
src=${OOMBREAKER_SOURCE_DIR:?set OOMBREAKER_SOURCE_DIR}
command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }

tmp=$(mktemp -d /tmp/test-sample.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cp -a "$src/tests/fixtures/cgroup-v1" "$src/tests/fixtures/cgroup-v2" "$tmp/"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

cat >"$tmp/policy.ini" <<'EOF'
[batch]
name = sample-test
image = registry.example.com/order-svc:v2.4.1-rc3
stable_image = registry.example.com/order-svc:v2.4.0
traffic_percent = 5

[target limited]
cgroup = /system.slice/order-canary@1.service

[target unlimited]
unit = order-canary@2.service

[target unlimited-with-policy-limit]
cgroup = /system.slice/order-canary@2.service
memory_limit = 4GiB

[target all-canaries]
cgroup = /system.slice/order-canary@*.service

[target none]
cgroup = /system.slice/nothing-*.service

[rule ratio]
memory_ratio_above = 0.92
EOF

# sample [ARGS...]: runs the binary, leaving stdout, stderr and the exit code in $tmp/.
sample() {
	set +e
	"$bin" sample "$tmp/policy.ini" "$@" >"$tmp/out" 2>"$tmp/err"
	echo $? >"$tmp/rc"
	set -e
}
rc() { cat "$tmp/rc"; }
line_of() { jq -c --arg i "$1" 'select(.instance == $i)' "$tmp/out"; }

echo "== v2 tree, --json"
sample --json --cgroup-root "$tmp/cgroup-v2"
[ "$(rc)" = 0 ] || fail "exit $(rc): $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/out")" = 5 ] || fail "want 5 trace lines, got: $(cat "$tmp/out")"
[ "$(line_of limited | jq '.memory.current, .memory.max, .memory.inactive_file, .memory.oom_kill' | tr '\n' ' ')" = \
	"1286602752 2147483648 104857600 1 " ] || fail "limited: $(line_of limited)"
[ "$(line_of unlimited | jq -c '.memory | has("max"), .max')" = $'true\nnull' ] ||
	fail "unlimited: max should be null: $(line_of unlimited)"
[ "$(line_of all-canaries | jq '.memory.current')" = $((1286602752 + 540016640)) ] ||
	fail "glob sum: $(line_of all-canaries)"
[ "$(line_of none | jq -c '.memory')" = '{}' ] || fail "none: $(line_of none)"
grep -q "target none: no data: cgroup /system.slice/nothing-\*.service matches nothing" "$tmp/err" ||
	fail "no reason on stderr for 'none': $(cat "$tmp/err")"
[ "$(line_of limited | jq '.batch')" = '"sample-test"' ] || fail "batch name"

echo "== v2 tree, table: max without and with memory_limit"
sample --cgroup-root "$tmp/cgroup-v2"
[ "$(rc)" = 0 ] || fail "exit $(rc)"
grep -E '^unlimited +.* max +- ' "$tmp/out" >/dev/null || fail "unlimited row: $(cat "$tmp/out")"
grep -E '^unlimited-with-policy-limit .* 4 GiB \(policy\) +11\.0%' "$tmp/out" >/dev/null ||
	fail "memory_limit row: $(cat "$tmp/out")"
grep -E '^all-canaries .*\(2 matches\)' "$tmp/out" >/dev/null || fail "glob row: $(cat "$tmp/out")"
grep -q '^none: no data: ' "$tmp/out" || fail "table lacks the reason: $(cat "$tmp/out")"

echo "== v1 tree (hybrid): failcnt, PSI from unified/ where the path exists"
sample --json --cgroup-root "$tmp/cgroup-v1"
[ "$(rc)" = 0 ] || fail "exit $(rc)"
[ "$(line_of limited | jq '.memory.failcnt, .memory.psi_some_total' | tr '\n' ' ')" = "17 81312 " ] ||
	fail "v1 limited: $(line_of limited)"
[ "$(line_of unlimited | jq '.memory | has("psi_some_avg10")')" = false ] ||
	fail "v1 unlimited has no unified counterpart: $(line_of unlimited)"

echo "== each target's own cgroup_root wins over --cgroup-root: a v1 and a v2 tree in one policy"
cat >"$tmp/roots.ini" <<EOF
[batch]
name = roots
image = a
stable_image = b
traffic_percent = 5

[target on-v1]
cgroup = /system.slice/order-canary@1.service
cgroup_root = $tmp/cgroup-v1

[target on-v2]
cgroup = /system.slice/order-canary@1.service
cgroup_root = $tmp/cgroup-v2

[rule ratio]
memory_ratio_above = 0.92
EOF
set +e
"$bin" sample --json "$tmp/roots.ini" --cgroup-root /nonexistent-oombreaker >"$tmp/out" 2>"$tmp/err"
status=$?
set -e
[ "$status" = 0 ] || fail "exit $status: $(cat "$tmp/err")"
[ "$(line_of on-v1 | jq '.memory.current, .memory.failcnt' | tr '\n' ' ')" = "1283457024 17 " ] ||
	fail "on-v1: $(line_of on-v1)"
[ "$(line_of on-v2 | jq '.memory.current, (.memory | has("failcnt"))' | tr '\n' ' ')" = \
	"1286602752 false " ] || fail "on-v2: $(line_of on-v2)"

echo "== a target that vanishes: exit 0, no data, the reason"
rm -rf "$tmp/cgroup-v2/system.slice/order-canary@1.service"
sample --json --cgroup-root "$tmp/cgroup-v2"
[ "$(rc)" = 0 ] || fail "exit $(rc) for a vanished target"
[ "$(line_of limited | jq -c '.memory')" = '{}' ] || fail "vanished: $(line_of limited)"
grep -q "target limited: no data: cgroup /system.slice/order-canary@1.service does not exist under $tmp/cgroup-v2" "$tmp/err" ||
	fail "reason: $(cat "$tmp/err")"
[ "$(line_of all-canaries | jq '.memory.current')" = 540016640 ] || fail "glob after vanish"

echo "== no memory hierarchy: exit 1 with a clear message"
sample --cgroup-root /nonexistent-oombreaker
[ "$(rc)" = 1 ] || fail "exit $(rc) for a missing root"
grep -q "cgroup root /nonexistent-oombreaker: No such file or directory" "$tmp/err" || fail "$(cat "$tmp/err")"
[ ! -s "$tmp/out" ] || fail "printed samples: $(cat "$tmp/out")"
mkdir "$tmp/empty"
sample --cgroup-root "$tmp/empty"
[ "$(rc)" = 1 ] || fail "exit $(rc) for a root without memory files"
grep -q "has no memory controller files (looked for memory.usage_in_bytes" "$tmp/err" || fail "$(cat "$tmp/err")"

# Discovery itself (no --cgroup-root) on a host without a memory hierarchy: hide the mounts
# in a private mount namespace. Needs root; the rest of the test does not.
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	echo "== discovery with every memory hierarchy unmounted (private mount namespace)"
	set +e
	unshare -m --propagation private sh -c '
		grep -E " cgroup2? " /proc/self/mounts | cut -d" " -f2 | sort -r |
			while read -r m; do umount "$m" || exit 1; done
		exec "$1" sample "$2"' sh "$bin" "$tmp/policy.ini" >"$tmp/out" 2>"$tmp/err"
	echo $? >"$tmp/rc"
	set -e
	[ "$(rc)" = 1 ] || fail "exit $(rc) without a hierarchy: $(cat "$tmp/err")"
	grep -q "no cgroup memory hierarchy" "$tmp/err" || fail "$(cat "$tmp/err")"
else
	echo "note: not root (or no unshare): discovery without a hierarchy not exercised"
fi
echo "PASS"
