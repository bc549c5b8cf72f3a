# shellcheck shell=bash
# shellcheck disable=SC2034 # RECEIVER_*, LEAKY_*, CG_* are this library's outputs
# Helpers for the integration tests (and scripts/demo): skips, deadlines instead of blind sleeps,
# free loopback ports, a temp dir whose cleanup kills every process started with `spawn` and
# removes every cgroup made with `cg_create` (on exit, Ctrl-C or SIGTERM), and memory cgroups on
# v2 or v1. Safe under `set -euo pipefail`.
#
#   source "${OOMBREAKER_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/common.sh"
#   need_root; need_cmd curl; tmpdir_setup
#   spawn recv /usr/bin/python3 "$TOOLS_DIR/receiver.py" --log "$TEST_TMP/r.jsonl" ...
#   cg_create canary 256MiB; cg_spawn canary app ./leaky --listen 127.0.0.1:0
#   wait_until 10 test -s "$TEST_TMP/r.jsonl" || fail "no request"

PYTHON=/usr/bin/python3
COMMON_SH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE_DIR=${OOMBREAKER_SOURCE_DIR:-$(cd "$COMMON_SH_DIR/../.." && pwd)}
TOOLS_DIR=$SOURCE_DIR/tests/tools
# All cgroups of one test live under this parent, so cleanup can remove the whole tree.
CG_PARENT=${CG_PARENT:-oombreaker-test.$$}

TEST_TMP=
SPAWN_PID=
_SPAWN_PIDS=()
declare -A _SPAWN_NAMES=()
_CLEANUP_DONE=
CG_VERSION=
CG_ROOT=

log() { printf '%s %s\n' "$(date +%H:%M:%S.%3N)" "$*" >&2; }

# skip REASON...: the test cannot run here; ctest counts exit 77 as skipped.
skip() {
	echo "SKIP: $*" >&2
	exit 77
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root${1:+ for $*}"
}

# need_cmd CMD...: skips unless every CMD is on PATH (or is an executable path).
need_cmd() {
	local c
	for c; do
		command -v "$c" >/dev/null 2>&1 || skip "needs '$c', not found (see scripts/lib/deps.sh)"
	done
}

# _now_us: wall-clock microseconds, from bash's EPOCHREALTIME (no fork per poll).
_now_us() { echo "${EPOCHREALTIME/[.,]/}"; }

# _secs_to_us SECS: "10" or "2.5" → microseconds; returns 1 for anything else.
_secs_to_us() {
	[[ $1 =~ ^([0-9]+)(\.([0-9]{1,6}))?$ ]] || return 1
	local frac=${BASH_REMATCH[3]}000000
	echo $((10#${BASH_REMATCH[1]} * 1000000 + 10#${frac:0:6}))
}

# wait_until SECS CMD...: runs CMD (quietly) every 50 ms until it succeeds (return 0) or SECS
# pass (return 1, saying what it waited for).
wait_until() {
	local secs=$1 budget deadline
	shift
	budget=$(_secs_to_us "$secs") || fail "wait_until: bad timeout '$secs'"
	deadline=$(($(_now_us) + budget))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		if [ "$(_now_us)" -ge "$deadline" ]; then
			echo "timed out after ${secs}s waiting for: $*" >&2
			return 1
		fi
		sleep 0.05
	done
}

# wait_for [--timeout SECS] CMD... [--timeout SECS]: wait_until with the timeout as an option
# (default 10 s).
wait_for() {
	local secs=10
	if [ "${1:-}" = --timeout ]; then
		secs=$2
		shift 2
	elif [ $# -ge 2 ] && [ "${*: -2:1}" = --timeout ]; then
		secs=${*: -1}
		set -- "${@:1:$#-2}"
	fi
	wait_until "$secs" "$@"
}

# free_port: prints a TCP port that was free on 127.0.0.1 a moment ago. Prefer tools' own
# --port 0 / --port-file where they have it: that has no race.
free_port() {
	"$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# size_to_bytes SIZE: 268435456, 256M, 256MiB, 1G, 512k → bytes (powers of 1024).
size_to_bytes() {
	[[ $1 =~ ^([0-9]+)([KkMmGg]?)(i?B)?$ ]] || {
		echo "size_to_bytes: bad size '$1'" >&2
		return 1
	}
	local n=${BASH_REMATCH[1]} shift=0
	case ${BASH_REMATCH[2]} in
	[Kk]) shift=10 ;;
	[Mm]) shift=20 ;;
	[Gg]) shift=30 ;;
	esac
	echo $((n << shift))
}

# prom_value URL METRIC: prints the value of an unlabelled METRIC scraped from URL; returns 1 when
# the scrape fails or the metric is absent. Values like 1.5e+07 are printed as integers.
prom_value() {
	curl -sf --max-time 5 "$1" |
		awk -v m="$2" '$1 == m && !found { printf "%.0f\n", $2; found = 1 } END { exit !found }'
}

# prom_sum URL METRIC: prints the sum of METRIC over all its label sets scraped from URL (0 when
# it has none); returns 1 when the scrape fails.
prom_sum() {
	curl -sf --max-time 5 "$1" |
		awk -v m="$2" '{ n = $1; sub(/\{.*/, "", n) } n == m { s += $2 } END { printf "%.0f\n", s }'
}

# tmpdir_setup: makes $TEST_TMP and installs the EXIT/INT/TERM/HUP traps that clean up.
tmpdir_setup() {
	TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/oombreaker-test.XXXXXX")
	trap _cleanup EXIT
	trap '_on_signal INT 130' INT
	trap '_on_signal TERM 143' TERM
	trap '_on_signal HUP 129' HUP
}

_on_signal() {
	echo "interrupted by SIG$1: cleaning up" >&2
	exit "$2" # runs the EXIT trap
}

# _cleanup: the EXIT trap. Stops spawned processes, removes the cgroups, shows the logs of a
# failed run, removes $TEST_TMP (kept when KEEP_TMP=1). Runs once, ignoring further signals.
_cleanup() {
	local rc=$? f
	[ -z "$_CLEANUP_DONE" ] || return 0
	_CLEANUP_DONE=1
	trap '' INT TERM HUP
	spawn_kill_all
	cg_destroy_all || rc=1
	if [ -n "$TEST_TMP" ] && [ -d "$TEST_TMP" ]; then
		if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
			for f in "$TEST_TMP"/*.log; do
				[ -s "$f" ] || continue
				echo "--- last lines of ${f##*/}" >&2
				tail -n 20 "$f" >&2
			done
		fi
		if [ "${KEEP_TMP:-}" = 1 ]; then
			echo "kept $TEST_TMP" >&2
		else
			rm -rf "$TEST_TMP"
		fi
	fi
	exit "$rc"
}

# spawn NAME CMD...: starts CMD in the background in a process group of its own (so cleanup can
# kill it with everything it forked), stdout+stderr in $TEST_TMP/NAME.log (NAME "-": the caller's
# stdout and stderr, for a demo to show live), stdin from /dev/null. Sets SPAWN_PID (also the
# group id). CMD must be a program, not a shell function.
spawn() {
	local name=$1 out
	shift
	[ -n "$TEST_TMP" ] || fail "spawn: call tmpdir_setup first"
	[ "$(type -t "$1")" != function ] || fail "spawn: '$1' is a shell function, not a program"
	out=$TEST_TMP/$name.log
	[ "$name" != - ] || out=/dev/stdout
	if [[ $- == *m* ]]; then
		"$@" >>"$out" 2>&1 </dev/null & # job control: already a group leader
	else
		setsid "$@" >>"$out" 2>&1 </dev/null &
	fi
	SPAWN_PID=$!
	_SPAWN_PIDS+=("$SPAWN_PID")
	_SPAWN_NAMES[$SPAWN_PID]=$name
}

# _pid_alive PID: true while PID exists and is not a zombie.
_pid_alive() {
	local state
	state=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# _group_alive PID: true while the spawned PID, or any process of its group, is alive. (Right
# after spawn the child may not have called setsid yet: then only PID itself is checked.)
_group_alive() {
	local pid
	_pid_alive "$1" && return 0
	for pid in $(pgrep -g "$1" 2>/dev/null); do
		_pid_alive "$pid" && return 0
	done
	return 1
}

# spawn_kill PID [SECS]: SIGTERM to the spawned process's group, SIGKILL after SECS (default 5),
# then reaps it. Returns the process's exit status (143 for a SIGTERM death).
spawn_kill() {
	local pid=$1 secs=${2:-5} rc=0
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	if ! wait_until "$secs" eval '! _group_alive '"$pid" 2>/dev/null; then
		echo "spawn_kill: ${_SPAWN_NAMES[$pid]:-$pid} ignored SIGTERM for ${secs}s: SIGKILL" >&2
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		wait_until 2 eval '! _group_alive '"$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || rc=$?
	_spawn_forget "$pid"
	return "$rc"
}

# spawn_adopt PID NAME: has the cleanup stop a background child started without spawn (e.g. by
# tests/lib/haproxy.sh) like a spawned one: SIGTERM, SIGKILL after SPAWN_KILL_SECS, reaped.
spawn_adopt() {
	_SPAWN_PIDS+=("$1")
	_SPAWN_NAMES[$1]=$2
}

_spawn_forget() {
	local i
	for i in "${!_SPAWN_PIDS[@]}"; do
		[ "${_SPAWN_PIDS[$i]}" != "$1" ] || unset "_SPAWN_PIDS[$i]"
	done
	unset "_SPAWN_NAMES[$1]"
}

# spawn_kill_all: SIGTERM to every process group still tracked at once, then spawn_kill on each
# (SIGKILL for those still alive after SPAWN_KILL_SECS, default 5).
spawn_kill_all() {
	local pid
	for pid in "${_SPAWN_PIDS[@]}"; do
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${_SPAWN_PIDS[@]}"; do
		spawn_kill "$pid" "${SPAWN_KILL_SECS:-5}" || true
	done
}

# receiver_start NAME [receiver.py options...]: starts a receiver on a free loopback port, logging
# to $TEST_TMP/NAME.jsonl; waits until it listens. Sets RECEIVER_PID, RECEIVER_PORT, RECEIVER_LOG.
receiver_start() {
	local name=$1
	shift
	RECEIVER_LOG=$TEST_TMP/$name.jsonl
	spawn "$name" "$PYTHON" "$TOOLS_DIR/receiver.py" --log "$RECEIVER_LOG" --port 0 \
		--port-file "$TEST_TMP/$name.port" "$@"
	RECEIVER_PID=$SPAWN_PID
	_wait_port_file "$TEST_TMP/$name.port" "$SPAWN_PID" || fail "receiver $name did not start"
	RECEIVER_PORT=$(cat "$TEST_TMP/$name.port")
}

# _wait_port_file FILE PID: waits (OOMBREAKER_START_TIMEOUT seconds, default 10, at most) for a
# spawned server's port file; gives up at once if the server died. An emulated guest (the VM
# suite) sets a longer start timeout: a cold python3 or Go binary starts slowly there.
_wait_port_file() {
	wait_until "${OOMBREAKER_START_TIMEOUT:-10}" eval "test -s '$1' || ! _group_alive $2" && test -s "$1"
}

# leaky_build: builds tests/tools/leaky once per build tree (or into $TEST_TMP) and sets LEAKY;
# skips when Go or client_golang is not installed, fails when the program does not compile.
leaky_build() {
	# shellcheck disable=SC1091 # scripts/lib/build-leaky.sh
	source "$SOURCE_DIR/scripts/lib/build-leaky.sh"
	local rc=0
	LEAKY=$(build_leaky "${OOMBREAKER_BINARY_DIR:-$TEST_TMP}/tests/leaky") || rc=$?
	case $rc in
	0) ;;
	2) skip "cannot build the leaky Go service: a dependency is missing (see above)" ;;
	*) fail "the leaky Go service does not build (see above)" ;;
	esac
}

# leaky_start NAME [leaky options...]: spawns leaky on a free loopback port (inside the cgroup
# given by LEAKY_CGROUP when set); waits until it listens. Sets LEAKY_PID and LEAKY_PORT.
leaky_start() {
	local name=$1
	shift
	local args=(--name "$name" --listen 127.0.0.1:0 --port-file "$TEST_TMP/$name.port" "$@")
	if [ -n "${LEAKY_CGROUP:-}" ]; then
		cg_spawn "$LEAKY_CGROUP" "$name" "$LEAKY" "${args[@]}"
	else
		spawn "$name" "$LEAKY" "${args[@]}"
	fi
	LEAKY_PID=$SPAWN_PID
	_wait_port_file "$TEST_TMP/$name.port" "$SPAWN_PID" || fail "leaky $name did not start"
	LEAKY_PORT=$(cat "$TEST_TMP/$name.port")
}

# leftovers NEEDLE: prints every process (pid and command line) whose command line mentions
# NEEDLE, e.g. a test's work dir, to prove nothing it started outlived it.
leftovers() {
	"$PYTHON" - "$1" <<'EOF'
import os, sys
needle = sys.argv[1].encode()
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        cmd = open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        continue
    if needle in cmd and int(pid) != os.getpid():
        print(pid, cmd.replace(b"\0", b" ").decode(errors="replace"))
EOF
}

# The memory cgroup helpers (cg_detect, cg_create, cg_spawn, cg_destroy_all, ...).
# shellcheck source=tests/lib/cgroup.sh
source "$COMMON_SH_DIR/cgroup.sh"
