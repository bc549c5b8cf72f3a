#!/usr/bin/env bash
# Whole-agent CPU per cgroup-tick and RSS (issue 15, must show 4 and 5). `oombreaker run` and
# oomd run side by side, in the same run, on one fixture cgroup2 tree of 4 policies × 250
# cgroups (tests/bench/gen-cgroup-tree.py; 6.x file contents copied from
# tests/fixtures/cgroup-v2), interval 1 s, for SECS seconds; then a bare pread loop over the
# agent's files of the same cgroups (tests/bench/bench-floor.c); then the agent alone on the
# 1000 cgroups and on 40 × 250 = 10 000, for the scaling ratio and RSS growth per target.
#
#   scripts/bench-whole.sh [-d SECS] [-n BIG]   (root; default 60 s, 10000 targets; ~5 min)
#
# CPU is utime + stime from /proc/PID/stat (all threads) between two reads SECS apart, after a
# warm-up. Ticks: the agent's oombreaker_tick_duration_seconds_count from /metrics, summed over
# its batch labels (one count per batch tick; × 250 targets = cgroup-ticks); oomd (which
# sleeps the interval, then works) has no counter, so its main thread's voluntary context
# switches stand for its sleeps (one per tick; tmpfs reads never block), checked against
# SECS / interval. oomd reads a cgroup2 tree only: it runs in a private mount namespace
# (unshare -m) where the fixture is bind-mounted over the host's cgroup2 mount point, so the
# host sees nothing. Fixtures live on tmpfs (/dev/shm).
# RSS: VmRSS and VmHWM from /proc/PID/status at the end of each run.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=60
big=10000
while getopts d:n: opt; do
	case $opt in
	d) secs=$OPTARG ;;
	n) big=$OPTARG ;;
	*)
		echo "usage: $0 [-d SECS] [-n BIG_TARGETS]" >&2
		exit 1
		;;
	esac
done
[[ $secs =~ ^[1-9][0-9]*$ && $big =~ ^[1-9][0-9]*$ ]] || {
	echo "$0: -d and -n want positive numbers" >&2
	exit 1
}
PER=250 # targets per policy file (the format allows 256)
# shellcheck source=../tests/lib/common.sh
source tests/lib/common.sh
OOMBREAKER=${OOMBREAKER:-$SOURCE_DIR/build/oombreaker}
OOMD=${OOMD:-$(command -v oomd || true)}
BUILD=${OOMBREAKER_BENCH_BUILD:-build-bench}
need_root "a private mount namespace for oomd"
need_cmd curl unshare
if [ ! -x "$OOMBREAKER" ]; then
	cmake -S . -B build >/dev/null
	nice cmake --build build -j2 --target oombreaker >/dev/null
fi
mkdir -p "$BUILD"
cc -O2 -g -std=gnu11 -Wall -Wextra -o "$BUILD/bench-floor" tests/bench/bench-floor.c
# A target holds 5 fds: 10 000 hold ~50 000. The agent may raise its soft limit only to the hard
# one, and raising that needs CAP_SYS_RESOURCE (a container may lack it): then the big run
# takes as many targets as the hard limit allows, and says so.
ulimit -Hn $((big * 5 + 4096)) 2>/dev/null || true
ulimit -Sn "$(ulimit -Hn)"
fit=$((($(ulimit -Hn) - 1024) / 5 / PER * PER))
big_note=
if [ "$fit" -lt "$big" ]; then
	big_note="(of $big asked: the hard RLIMIT_NOFILE is $(ulimit -Hn) and cannot be raised here)"
	big=$fit
fi
big_files=$(((big + PER - 1) / PER))
TMPDIR=/dev/shm tmpdir_setup
TEMPLATE=tests/fixtures/cgroup-v2/system.slice/order-canary@1.service
HZ=$(getconf CLK_TCK)

# cpu_ticks PID: utime + stime of the whole process, in clock ticks.
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# status_kib PID KEY: a VmXXX figure from /proc/PID/status, in KiB.
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# vol_switches PID: voluntary context switches of the process's main thread.
vol_switches() { awk '$1 == "voluntary_ctxt_switches:" { print $2 }' "/proc/$1/task/$1/status"; }
nfds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }
agent_ticks() { prom_sum "http://127.0.0.1:$1/metrics" oombreaker_tick_duration_seconds_count; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# agent_spawn NAME TREE POLICY_DIR: starts `oombreaker run` on the tree, /metrics on a free port;
# waits for its first ticks. Sets APID and APORT.
agent_spawn() {
	APORT=$(free_port)
	spawn "$1" "$OOMBREAKER" run --policy-dir "$3" --state-dir "$TEST_TMP/$1.state" \
		--socket "$TEST_TMP/$1.sock" --listen "127.0.0.1:$APORT" --cgroup-root "$2"
	APID=$SPAWN_PID
	wait_until 60 eval "[ \"\$(agent_ticks $APORT)\" -gt 0 ] || ! _group_alive $APID" || true
	if ! _group_alive "$APID" || ! [ "$(agent_ticks "$APORT")" -gt 0 ]; then
		fail "the agent $1 did not tick: $(tail -n 5 "$TEST_TMP/$1.log")"
	fi
}

# oomd_spawn TREE CONFIG: starts oomd in a private mount namespace where TREE is bind-mounted
# over the host's cgroup2 mount (oomd insists that --cgroup-fs lies under one). Sets OPID
# (unshare and sh exec, so it is oomd's pid).
oomd_spawn() {
	local cg2
	cg2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
	[ -n "$cg2" ] || return 1
	mkdir -p "$TEST_TMP/oomd.run"
	# shellcheck disable=SC2016 # expanded by sh -c
	spawn oomd unshare -m --propagation private sh -c \
		'mount --bind "$0" "$1" && exec "$2" --config "$3" --interval 1 --cgroup-fs "$1" \
			--runtime-dir "$4" --kmsg-override "$4/kmsg"' \
		"$1" "$cg2" "$OOMD" "$2" "$TEST_TMP/oomd.run"
	OPID=$SPAWN_PID
	wait_until 10 grep -q "Running oomd" "$TEST_TMP/oomd.log" || true
	_group_alive "$OPID" || fail "oomd did not start: $(tail -n 5 "$TEST_TMP/oomd.log")"
}

# us_per PID_CPU0 CPU1 CGROUP_TICKS: µs of CPU per cgroup-tick.
us_per() { awk -v a="$1" -v b="$2" -v n="$3" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz * 1e6 / n }'; }

row() { printf '%-8s %8s %8s %13s %15s %9s %9s %7s\n' "$@"; }

# --- 1000 cgroups: the agent and oomd side by side ---------------------------------------------
small=$((4 * PER))
"$PYTHON" tests/bench/gen-cgroup-tree.py --root "$TEST_TMP/tree" --policies 4 \
	--targets-per-policy $PER --template "$TEMPLATE" --policy-dir "$TEST_TMP/pol" \
	--oomd-config "$TEST_TMP/oomd.json"
echo "== whole agent: $small fixture cgroups (4 policies × $PER targets; ratio, psi_some and" \
	"oom rules), interval 1 s, ${secs} s side by side with oomd"
echo "load average at start: $(loadavg)"
agent_spawn agent "$TEST_TMP/tree" "$TEST_TMP/pol"
have_oomd=
if [ -z "$OOMD" ]; then
	echo "oomd: not installed (apt-get install oomd): agent only"
elif oomd_spawn "$TEST_TMP/tree" "$TEST_TMP/oomd.json"; then
	have_oomd=1
else
	echo "oomd: no cgroup2 mount on this host to bind the fixture over: agent only"
fi
sleep 5 # warm-up: first ticks open files and allocate
a_t0=$(agent_ticks "$APORT") a_c0=$(cpu_ticks "$APID")
[ -z "$have_oomd" ] || { o_c0=$(cpu_ticks "$OPID"); o_v0=$(vol_switches "$OPID"); }
t0=$EPOCHREALTIME
sleep "$secs"
a_c1=$(cpu_ticks "$APID")
[ -z "$have_oomd" ] || { o_c1=$(cpu_ticks "$OPID"); o_v1=$(vol_switches "$OPID"); }
t1=$EPOCHREALTIME
a_t1=$(agent_ticks "$APORT")
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
echo "load average at end:   $(loadavg) (over ${wall} s)"
row "" "CPU s" "ticks" "cgroup-ticks" "µs/cgroup-tick" "RSS KiB" "HWM KiB" "fds"
a_ct=$(((a_t1 - a_t0) * PER))
a_us=$(us_per "$a_c0" "$a_c1" "$a_ct")
a_rss=$(status_kib "$APID" VmRSS) a_fds=$(nfds "$APID")
row agent "$(awk -v d=$((a_c1 - a_c0)) -v hz="$HZ" 'BEGIN { printf "%.2f", d / hz }')" \
	"$((a_t1 - a_t0))" "$a_ct" "$a_us" "$a_rss" "$(status_kib "$APID" VmHWM)" "$a_fds"
if [ -n "$have_oomd" ]; then
	o_ticks=$((o_v1 - o_v0))
	o_ct=$((o_ticks * small))
	o_us=$(us_per "$o_c0" "$o_c1" "$o_ct")
	row oomd "$(awk -v d=$((o_c1 - o_c0)) -v hz="$HZ" 'BEGIN { printf "%.2f", d / hz }')" \
		"$o_ticks" "$o_ct" "$o_us" "$(status_kib "$OPID" VmRSS)" "$(status_kib "$OPID" VmHWM)" \
		"$(nfds "$OPID")"
fi
echo "agent ticks are batch ticks (4 per second expected: $(awk -v n=$((a_t1 - a_t0)) -v w="$wall" \
	'BEGIN { printf "%.2f", n / w }')/s); oomd ticks are its sleeps ($(awk -v n="${o_ticks:-0}" \
	-v w="$wall" 'BEGIN { printf "%.2f", n / w }')/s; 1 s sleep + the tick's work)"
spawn_kill "$APID" 10 || true
[ -z "$have_oomd" ] || spawn_kill "$OPID" 10 || true

# The floor: a bare pread of the agent's own files in the same 1000 cgroups.
(cd "$TEST_TMP/tree" && find bench -mindepth 2 -maxdepth 2 -type d | sort) >"$TEST_TMP/dirs"
declare -A f
for kv in $("$BUILD/bench-floor" "$TEST_TMP/tree" <"$TEST_TMP/dirs"); do f[${kv%%=*}]=${kv#*=}; done
echo "floor: bare pread of ${f[files_per_cgroup]} files per cgroup over ${f[cgroups]} cgroups:" \
	"${f[floor_us]} µs per cgroup-tick (min ${f[floor_min_us]}, max ${f[floor_max_us]}; median of 7)"
awk -v a="$a_us" -v o="${o_us:-}" -v fl="${f[floor_us]}" 'BEGIN {
	if (o != "") printf "oomd/agent: %.2fx (agent %.2f µs, oomd %.2f µs per cgroup-tick; goal: agent <= 5 µs and >= 10x)\n", o / a, a, o
	printf "agent/floor: %.2fx (goal <= 1.5x)\n", a / fl
}'

# --- the agent alone: 1000 cgroups, then BIG -----------------------------------------------
# 1000 again, alone, so the scaling ratio compares runs without oomd beside them.
rm -rf "$TEST_TMP/tree" "$TEST_TMP/pol"

# agent_alone N_POLICIES NOTE: generates a tree of N_POLICIES × PER cgroups (agent files only),
# runs the agent alone on it for SECS, prints its row. Sets AL_US, AL_RSS, AL_FDS.
agent_alone() {
	local n=$1 t0 t1 c0 c1 ct
	rm -rf "$TEST_TMP/alone" "$TEST_TMP/alonepol"
	"$PYTHON" tests/bench/gen-cgroup-tree.py --root "$TEST_TMP/alone" --policies "$n" \
		--targets-per-policy $PER --template "$TEMPLATE" --policy-dir "$TEST_TMP/alonepol" \
		--agent-only
	echo "== whole agent: $((n * PER)) fixture cgroups ($n policies × $PER), interval 1 s," \
		"${secs} s, agent alone ${2}"
	agent_spawn "alone$n" "$TEST_TMP/alone" "$TEST_TMP/alonepol"
	sleep 5
	t0=$(agent_ticks "$APORT") c0=$(cpu_ticks "$APID")
	sleep "$secs"
	c1=$(cpu_ticks "$APID") t1=$(agent_ticks "$APORT")
	echo "load average at end: $(loadavg)"
	ct=$(((t1 - t0) * PER))
	AL_US=$(us_per "$c0" "$c1" "$ct")
	AL_RSS=$(status_kib "$APID" VmRSS) AL_FDS=$(nfds "$APID")
	row "" "CPU s" "ticks" "cgroup-ticks" "µs/cgroup-tick" "RSS KiB" "HWM KiB" "fds"
	row agent "$(awk -v d=$((c1 - c0)) -v hz="$HZ" 'BEGIN { printf "%.2f", d / hz }')" \
		"$((t1 - t0))" "$ct" "$AL_US" "$AL_RSS" "$(status_kib "$APID" VmHWM)" "$AL_FDS"
	spawn_kill "$APID" 10 || true
	rm -rf "$TEST_TMP/alone" "$TEST_TMP/alonepol"
}

agent_alone 4 ""
s_us=$AL_US s_rss=$AL_RSS s_fds=$AL_FDS
agent_alone "$big_files" "$big_note"
awk -v a="$s_us" -v aw="$a_us" -v b="$AL_US" -v ra="$s_rss" -v rb="$AL_RSS" -v fa="$s_fds" \
	-v fb="$AL_FDS" -v s="$small" -v n=$((big_files * PER - small)) 'BEGIN {
	printf "%d vs %d targets, both alone: CPU per cgroup-tick %.2fx (%.2fx the side-by-side figure; goal <= 1.5x)\n",
		n + s, s, b / a, b / aw
	if (n > 0)
		printf "growth from %d to %d targets: RSS +%.2f KiB and +%.2f fds per target\n",
			s, n + s, (rb - ra) / n, (fb - fa) / n
	else
		printf "no growth figure: the big run has no more targets than %d (give -n above it)\n", s
}'
