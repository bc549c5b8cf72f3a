#!/usr/bin/env bash
# Records the real forecast traces in tests/fixtures/traces/real/ (or OUTDIR): real services in
# real memory cgroups (v1 or v2) sampled by `oombreaker run --trace` every second, each leak run
# until the kernel OOM-kills it. Not part of scripts/test (it takes about four minutes and needs
# root); rerun it by hand when the sampler or the trace format changes:
#
#   sudo OOMBREAKER=build/oombreaker tests/tools/record-traces.sh [OUTDIR]
#
# All scenarios run at once under one agent (one policy per scenario, one trace split by batch):
#   go-leak-{2,8,16}   tests/tools/leaky (Go, client_golang), leak on after 20 s, 256 MiB limit
#   py-slow-leak       tests/tools/memload.py, 0.5 MiB/s after 20 s, 112 MiB limit
#   gc-sawtooth        memload.py, 3 MiB/s of reference cycles, gc.collect() every 15 s
#   page-cache         a 512 MiB file written and read over and over in a 256 MiB cgroup
#   spike              memload.py holds 120 MiB for 5 s at 60 s
#   restart            leaky filling an 80 MiB cache at start, SIGKILLed and restarted at 40 s, 80 s
# The kernel's OOM kill time comes from the kernel log (dmesg), relative to the agent's start.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/lib/run.sh
source "$SOURCE_DIR/tests/lib/run.sh"

OUT=${1:-$SOURCE_DIR/tests/fixtures/traces/real}
BENIGN_SECS=180
LEAKS=(go-leak-2 go-leak-8 go-leak-16 py-slow-leak)
ALL=("${LEAKS[@]}" gc-sawtooth page-cache spike restart)

run_test_setup
need_cmd dmesg
leaky_build
mkdir -p "$OUT"
declare -A CGPATH=() PORT=() LIMIT=()

# policy NAME PRESET: the recording policy of one scenario (the ratio and OOM rules; dry run).
policy() {
	local name=$1 preset=$2
	cat <<EOF
; Recorded by tests/tools/record-traces.sh on a real memory cgroup (v$CG_VERSION, kernel $(uname -r)):
; $3
[batch]
name = $name
image = registry.example.com/order-svc:v2.4.1-rc3
stable_image = registry.example.com/order-svc:v2.4.0
traffic_percent = 5
interval = 1s
consecutive = 3
dry_run = true

[target canary-1]
cgroup = ${CGPATH[$name]}
memory_limit = ${LIMIT[$name]}
metrics_url = http://127.0.0.1:${PORT[$name]}/metrics
gc_preset = $preset

[rule ratio]
memory_ratio_above = 0.85

[rule oom]
oom_kills_at_least = 1
consecutive = 1
EOF
}

# start_leaky NAME [leaky options]: leaky inside cgroup NAME; sets PORT[NAME].
start_leaky() {
	local name=$1
	shift
	rm -f "$TEST_TMP/$name.port"
	LEAKY_CGROUP=$name leaky_start "$name" "$@"
	PORT[$name]=$LEAKY_PORT
}

# start_memload NAME [memload options]: memload.py inside cgroup NAME; sets PORT[NAME].
start_memload() {
	local name=$1
	shift
	cg_spawn "$name" "$name" "$PYTHON" "$TOOLS_DIR/memload.py" --port-file "$TEST_TMP/$name.port" "$@"
	_wait_port_file "$TEST_TMP/$name.port" "$SPAWN_PID" || fail "memload $name did not start"
	PORT[$name]=$(cat "$TEST_TMP/$name.port")
}

make_cgroup() {
	LIMIT[$1]=$2
	CGPATH[$1]=$(cg_create "$1" "$2") || fail "cannot create the cgroup $1"
}

setup_scenarios() {
	local r
	for r in 2 8 16; do
		make_cgroup "go-leak-$r" 256MiB
		start_leaky "go-leak-$r" --leak-mb-per-sec "$r"
	done
	make_cgroup py-slow-leak 112MiB
	start_memload py-slow-leak --leak-mib-per-s 0.5 --leak-after 20
	make_cgroup gc-sawtooth 256MiB
	start_memload gc-sawtooth --garbage-mib-per-s 3 --gc-every 15
	make_cgroup page-cache 256MiB
	start_memload page-cache
	PAGE_FILE=$TEST_TMP/pagecache.bin # on a disk fs (tmpfs pages would be shmem, not cache)
	# shellcheck disable=SC2016 # expanded by the inner bash
	cg_spawn page-cache cache-rw bash -c 'while :; do
		dd if=/dev/zero of="$0" bs=1M count=512 status=none; cat "$0" >/dev/null; cat "$0" >/dev/null
	done' "$PAGE_FILE"
	make_cgroup spike 256MiB
	start_memload spike --spike-mib 120 --spike-after 60 --spike-hold 5
	make_cgroup restart 256MiB
	start_leaky restart --leak --leak-mb-per-sec 40 --leak-max-mb 80 -memory-limit off
}

write_policies() {
	local n
	for n in 2 8 16; do
		policy "go-leak-$n" go "tests/tools/leaky -leak-mb-per-sec $n (leak on by POST /leak at 20 s), 256 MiB limit" \
			>"$OUT/go-leak-$n.ini"
	done
	policy py-slow-leak python "tests/tools/memload.py --leak-mib-per-s 0.5 --leak-after 20, 112 MiB limit" \
		>"$OUT/py-slow-leak.ini"
	policy gc-sawtooth python "memload.py --garbage-mib-per-s 3 --gc-every 15 (no leak), 256 MiB limit" \
		>"$OUT/gc-sawtooth.ini"
	policy page-cache python "memload.py idle + a 512 MiB file written and read in a loop (dd, cat), 256 MiB limit" \
		>"$OUT/page-cache.ini"
	policy spike python "memload.py --spike-mib 120 --spike-after 60 --spike-hold 5, 256 MiB limit" >"$OUT/spike.ini"
	policy restart go "leaky --leak --leak-max-mb 80 --leak-mb-per-sec 40 (a cache filled at start), SIGKILLed and restarted at 40 s and 80 s, 256 MiB limit" \
		>"$OUT/restart.ini"
}

# at SECS: returns once SECS seconds have passed since the agent started.
at() { wait_until 600 eval "[ \$(( \$(_now_us) - START_US )) -ge $(($1 * 1000000)) ]"; }

restart_leaky() {
	kill -KILL "$LEAKY_RESTART_PID" 2>/dev/null || true
	wait "$LEAKY_RESTART_PID" 2>/dev/null || true
	_spawn_forget "$LEAKY_RESTART_PID"
	start_leaky restart --leak --leak-mb-per-sec 40 --leak-max-mb 80 -memory-limit off
	LEAKY_RESTART_PID=$LEAKY_PID
}

# oom_ms NAME: the kernel's first OOM kill in cgroup NAME, in ms since the agent started (or "").
oom_ms() {
	local boot_s
	boot_s=$(dmesg | awk -v cg="oom_memcg=/$CG_PARENT/$1," \
		'index($0, cg) { sub(/^\[ */, ""); sub(/\].*/, ""); print; exit }')
	[ -n "$boot_s" ] || return 0
	awk -v k="$boot_s" -v a="$AGENT_BOOT_MS" 'BEGIN { printf "%d\n", k * 1000 - a }'
}

setup_scenarios
LEAKY_RESTART_PID=$LEAKY_PID
write_policies
policies=()
for n in "${ALL[@]}"; do policies+=(--policy "$OUT/$n.ini"); done
spawn agent "$OOMBREAKER" run "${policies[@]}" --state-dir "$TEST_TMP/state" --socket "$TEST_TMP/a.sock" \
	--listen none --cgroup-root "$CG_ROOT" --trace "$TEST_TMP/all.jsonl"
# shellcheck disable=SC2034 # read by at()'s eval
START_US=$(_now_us)
# The agent's start on the kernel log's clock: its start time (clock ticks since boot).
AGENT_BOOT_MS=$(awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%d\n", $20 * 1000 / hz }' \
	"/proc/$SPAWN_PID/stat")
at 20
for r in 2 8 16; do curl -sf -X POST "http://127.0.0.1:${PORT[go-leak-$r]}/leak" >/dev/null; done
at 40 && restart_leaky
at 80 && restart_leaky
at "$BENIGN_SECS"
for n in "${LEAKS[@]}"; do
	wait_until 120 eval "[ -n \"\$(oom_ms $n)\" ]" || log "$n: no OOM kill yet"
done
at $((BENIGN_SECS + 3))

for n in "${ALL[@]}"; do
	oom=$(oom_ms "$n")
	last=$((BENIGN_SECS * 1000))
	[ -z "$oom" ] || last=$((oom + 5000))
	jq -c --arg b "$n" --argjson last "$last" 'select(.batch == $b and .t_ms <= $last)' \
		"$TEST_TMP/all.jsonl" >"$OUT/$n.jsonl"
	if [ -n "$oom" ]; then
		# The kernel log's estimate counts from the agent's exec, a little before its clock
		# starts: it may land after the tick that already saw the kill. That tick bounds it.
		seen=$(jq -s 'map(select(.memory.oom_kill > 0)) | first | .t_ms // empty' "$OUT/$n.jsonl")
		[ -z "$seen" ] || [ "$seen" -ge "$oom" ] || oom=$seen
	fi
	printf '; oom_kill_t_ms = %s\n' "${oom:-none}" >>"$OUT/$n.ini"
	log "$n: $(wc -l <"$OUT/$n.jsonl") lines, kernel OOM kill at t_ms ${oom:-none}"
done
