#!/usr/bin/env bash
# `oombreaker sample --json` on a real cgroup v1 memory cgroup with a 64 MiB limit:
#  - 40 MiB of page cache written by one child does not count as working set;
#  - 40 MiB of touched anon memory held by another child does, within a tolerance;
#  - a third child that overruns the limit is OOM-killed and oom_kill rises by at least 1.
# Needs root and a v1 memory hierarchy at /sys/fs/cgroup/memory (exit 77 otherwise).
set -euo pipefail

bin=${OOMBREAKER:?set OOMBREAKER to the oombreaker binary}
mem=/sys/fs/cgroup/memory
MiB=$((1024 * 1024))

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to create a memory cgroup"; exit 77; }
[ -e "$mem/memory.usage_in_bytes" ] ||
	{ echo "SKIP: no cgroup v1 memory hierarchy at $mem"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }
py=/usr/bin/python3
[ -x "$py" ] || { echo "SKIP: $py is not installed"; exit 77; }

# Page cache must come from a disk filesystem: tmpfs pages are shmem and count as anon.
tmp=$(mktemp -d /var/tmp/test-cgroup-real.XXXXXX)
case "$(stat -f -c %T "$tmp")" in
tmpfs | ramfs) rm -rf "$tmp"; echo "SKIP: /var/tmp is $(stat -f -c %T /var/tmp), not a disk fs"; exit 77 ;;
esac
name=oombreaker-test-$$
cg=$mem/$name
pids=()

cleanup() {
	local p deadline=$((SECONDS + 30))
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ -d "$cg" ]; then
		# Anything else still in the cgroup was started by this test.
		while read -r p; do kill -KILL "$p" 2>/dev/null || true; done <"$cg/cgroup.procs"
		# rmdir fails while the kernel still detaches killed tasks: retry until a deadline.
		until rmdir "$cg" 2>/dev/null; do
			[ $SECONDS -lt $deadline ] || break
			sleep 0.1
		done
	fi
	rm -rf "$tmp"
	# A cgroup left behind is a failure, whatever the test's verdict was.
	if [ -d "$cg" ]; then
		echo "FAIL: cleanup could not remove $cg" >&2
		exit 1
	fi
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND until it succeeds or time runs out.
wait_for() {
	local what=$1 deadline=$((SECONDS + $2))
	shift 2
	until "$@"; do
		[ $SECONDS -lt $deadline ] || fail "timed out waiting for $what"
		sleep 0.1
	done
}

# in_cgroup CMD...: runs CMD inside the test cgroup (joins it, then execs: same pid).
join='echo $$ >"$0/cgroup.procs" && exec "$@"'
in_cgroup() {
	bash -c "$join" "$cg" "$@"
}

mkdir "$cg"
echo $((64 * MiB)) >"$cg/memory.limit_in_bytes"
# The overrun must end in the OOM killer, not in swapping: with swap, cap memory+swap too
# (charges then fail on memsw first, so memory.failcnt is only checked without swap).
memsw=false
if [ "$(awk '/^SwapTotal:/ { print $2 }' /proc/meminfo)" != 0 ] &&
	[ -e "$cg/memory.memsw.limit_in_bytes" ]; then
	echo $((64 * MiB)) >"$cg/memory.memsw.limit_in_bytes"
	memsw=true
fi
echo 0 >"$cg/memory.swappiness" 2>/dev/null || true

cat >"$tmp/policy.ini" <<EOF
[batch]
name = real-cgroup
image = test:new
stable_image = test:old
traffic_percent = 5

[target canary]
cgroup = /$name

[rule oom]
oom_kills_at_least = 1
EOF

sample() {
	"$bin" sample --json "$tmp/policy.ini" >"$tmp/sample.json" 2>"$tmp/sample.err" ||
		fail "sample exited $?: $(cat "$tmp/sample.err")"
}
field() { jq -r ".memory.$1 // \"none\"" "$tmp/sample.json"; }
working_set() { jq -r '.memory.current - .memory.inactive_file' "$tmp/sample.json"; }

echo "== 40 MiB of page cache"
in_cgroup dd if=/dev/zero of="$tmp/cache.bin" bs=1M count=40 conv=fsync status=none
sample
cache_usage=$(field current)
cache_inactive=$(field inactive_file)
echo "usage $((cache_usage / MiB)) MiB, inactive_file $((cache_inactive / MiB)) MiB, working set $(($(working_set) / MiB)) MiB"
[ "$cache_usage" -ge $((38 * MiB)) ] || fail "page cache not charged: usage $cache_usage"
[ "$(working_set)" -le $((4 * MiB)) ] || fail "page cache counted as working set: $(working_set)"
[ "$(field max)" = $((64 * MiB)) ] || fail "limit: $(field max)"
oom_before=$(field oom_kill)
[ "$oom_before" != none ] || fail "no oom_kill counter: $(cat "$tmp/sample.json")"

echo "== 40 MiB of touched anon memory"
bash -c "$join" "$cg" "$py" -c '
import signal, sys
held = bytearray(b"\x01") * (40 << 20)   # every page written: resident anon memory
open(sys.argv[1], "w").write("ready")
signal.pause()' "$tmp/holder.ready" &
holder=$!
pids+=("$holder")
wait_for "the holder to touch its memory" 60 test -s "$tmp/holder.ready"
sample
anon_rss=$(($(awk '/^RssAnon:/ { print $2 }' "/proc/$holder/status") * 1024))
ws=$(working_set)
echo "holder RssAnon $((anon_rss / MiB)) MiB; usage $(($(field current) / MiB)) MiB," \
	"inactive_file $(($(field inactive_file) / MiB)) MiB, working set $((ws / MiB)) MiB"
# The working set is the holder's anon memory plus what the kernel charges alongside it
# (page tables, kernel stacks, slab, the few active file pages python touched): at most
# 8 MiB here. v1's usage_in_bytes is a "fuzz value" (charges are batched per CPU), hence
# 1 MiB of slack below. The page cache still charged (usage - working set) must not be in it.
[ "$ws" -ge $((anon_rss - MiB)) ] || fail "working set $ws < the holder's anon $anon_rss - 1 MiB"
[ "$ws" -le $((anon_rss + 8 * MiB)) ] || fail "working set $ws > anon $anon_rss + 8 MiB"
[ $(($(field current) - ws)) -ge $((8 * MiB)) ] ||
	fail "expected page cache left in usage but outside the working set: $(cat "$tmp/sample.json")"

echo "== a child overruns the limit"
set +e
in_cgroup "$py" -c '
open("/proc/self/oom_score_adj", "w").write("1000")   # the OOM killer takes this one
hog = []
while True:
    hog.append(bytearray(b"\x01") * (1 << 20))'
status=$?
set -e
[ "$status" = 137 ] || fail "the hog exited with $status, want 137 (SIGKILL by the OOM killer)"
kill -0 "$holder" || fail "the holder died instead of the hog"
sample
oom_after=$(field oom_kill)
echo "oom_kill $oom_before -> $oom_after"
[ "$oom_after" -ge $((oom_before + 1)) ] || fail "oom_kill did not rise: $oom_before -> $oom_after"
$memsw || [ "$(field failcnt)" -ge 1 ] || fail "failcnt did not rise: $(field failcnt)"
echo "PASS"
