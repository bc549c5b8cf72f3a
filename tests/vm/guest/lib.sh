# shellcheck shell=bash
# shellcheck disable=SC2034 # BATCHES, STATE_DIR, AGENT_URL, ... are for the tests that source this
# Helpers for the tests that run inside the VM guest (tests/vm/guest/t*.sh), on the real thing:
# systemd as PID 1, unified cgroup v2, the agent installed to /usr and run by its shipped unit.
# Builds on tests/lib/common.sh (fail, log, prom_value). Every exec costs 0.1-0.5 s under TCG, so
# polls nap with a bash builtin and checks read files with builtins where they can.
#
# Environment (set by suite.sh): OOMBREAKER_SOURCE_DIR, OOMBREAKER_BINARY_DIR, LEAKY, VM_OUT.
set -euo pipefail
# shellcheck source=../../lib/common.sh
source "$OOMBREAKER_SOURCE_DIR/tests/lib/common.sh"

BATCHES=/etc/oombreaker/batches.d
STATE_DIR=/var/lib/oombreaker
AGENT_URL=http://127.0.0.1:9782
RECEIVER_URL=http://127.0.0.1:18090
RECEIVER_LOG=/run/obvm/receiver.jsonl
mkdir -p /run/obvm
# A trace of every command, with timestamps, next to the test's log: when a test times out, the
# trace says where.
exec {_XTRACE_FD}>>"$VM_OUT/$(basename "$0" .sh).trace"
BASH_XTRACEFD=$_XTRACE_FD
PS4='+ ${EPOCHREALTIME} ${BASH_SOURCE[0]##*/}:${LINENO}: '
set -x

exec {_NAP_FD}<> <(:)
# nap SECS: sleeps without a fork.
nap() { read -r -t "$1" -u "$_NAP_FD" _ || true; }

# wait_until SECS CMD...: common.sh's, with a 0.2 s builtin nap between tries.
wait_until() {
	local secs=$1 deadline
	shift
	deadline=$(($(_now_us) + $(_secs_to_us "$secs")))
	until "$@" >/dev/null 2>&1; do
		if [ "$(_now_us)" -ge "$deadline" ]; then
			echo "timed out after ${secs}s waiting for: $*" >&2
			return 1
		fi
		nap 0.2
	done
}

ok() { printf 'ok: %s\n' "$*"; }

# main_pid: the agent's MainPID as systemd knows it (0 when not running).
main_pid() { systemctl show -p MainPID --value oombreaker; }

# http_get PATH: the body of GET http://127.0.0.1:9782/PATH (the agent's listener), with bash's
# /dev/tcp: polls run no program, which matters under TCG, where `oombreaker status` costs seconds.
http_get() {
	local fd resp=
	exec {fd}<>/dev/tcp/127.0.0.1/9782 || return 1
	printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" >&"$fd"
	IFS= read -r -d '' -t 10 -u "$fd" resp || true
	exec {fd}>&-
	[[ $resp == "HTTP/1."?" 200 "* ]] || return 1
	printf '%s\n' "${resp#*$'\r\n\r\n'}"
}

# batch_json BATCH: the batch's object from the agent's GET /status.
batch_json() { http_get /status | jq -ce --arg b "$1" '.batches[] | select(.batch == $b)'; }

# phase_is BATCH PHASE: true when the agent reports the batch in PHASE (no program run).
phase_is() {
	local body
	body=$(http_get /status) || return 1
	[[ $body =~ \"batch\":\ ?\"$1\",\ ?\"phase\":\ ?\"$2\" ]]
}

# policy_install NAME < INI: installs a policy as an operator would (0640 root:oombreaker), by a
# rename, so the agent's directory watch never sees half a file.
policy_install() {
	install -m 0640 -o root -g oombreaker /dev/stdin "$BATCHES/.$1.tmp"
	mv -f "$BATCHES/.$1.tmp" "$BATCHES/$1.ini"
}

# policy_head NAME INTERVAL: the [batch] section every test policy starts with.
policy_head() {
	cat <<INI
[batch]
name = $1
image = registry.example.com/order-svc:v2.4.1-rc3
stable_image = registry.example.com/order-svc:v2.4.0
traffic_percent = 5
interval = $2
INI
}

# receiver_up [--no-wait]: the pipeline's receiver (tests/tools/receiver.py) as a service on
# 127.0.0.1:18090; waits until it answers unless --no-wait.
receiver_up() {
	systemctl is-active -q obvm-receiver 2>/dev/null ||
		systemd-run -q --unit=obvm-receiver /usr/bin/python3 "$TOOLS_DIR/receiver.py" \
			--log "$RECEIVER_LOG" --port 18090
	[ "${1:-}" != --no-wait ] || return 0
	wait_until 60 curl -sf --max-time 2 "$RECEIVER_URL/_receiver/requests" ||
		fail "the receiver did not come up"
}

# received PATH: the requests the receiver recorded on PATH, one JSON object a line.
received() { jq -c --arg p "$1" 'select(.path == $p)' "$RECEIVER_LOG" 2>/dev/null || true; }

# received_count PATH [ANSWER]: how many requests on PATH (answered ANSWER).
received_count() {
	received "$1" | jq -s --arg a "${2:-}" '[.[] | select($a == "" or (.answer | tostring) == $a)] | length'
}

# gate_unit UNIT PROPS... -- CMD: a service that waits on a FIFO before running CMD (`gate_open
# UNIT` releases it), so its cgroup exists, and a policy can be armed on it, before it acts.
gate_unit() {
	local unit=$1 props=()
	shift
	while [ "$1" != -- ]; do
		props+=(-p "$1")
		shift
	done
	shift
	rm -f "/run/obvm/$unit.gate" && mkfifo "/run/obvm/$unit.gate"
	# shellcheck disable=SC2016 # for the unit's shell
	systemd-run -q --unit="$unit" "${props[@]}" /bin/sh -c 'read -r _ <"$0"; exec "$@"' \
		"/run/obvm/$unit.gate" "$@"
}
gate_open() { echo go >"/run/obvm/$1.gate"; }

# journal_since CURSOR_FILE: the agent's journal lines after the cursor saved in CURSOR_FILE
# (journal_mark CURSOR_FILE saves one), as JSON.
journal_mark() { journalctl -u oombreaker -n 0 --show-cursor -q | sed -n 's/^-- cursor: //p' >"$1"; }
journal_since() { journalctl -u oombreaker --after-cursor "$(cat "$1")" -o json -q; }

# journal_batch BATCH: the journal's entries about BATCH, as an operator finds them
# (`journalctl OOMBREAKER_BATCH=BATCH`), one JSON object a line.
journal_batch() { journalctl -o json -q --no-pager "OOMBREAKER_BATCH=$1"; }
