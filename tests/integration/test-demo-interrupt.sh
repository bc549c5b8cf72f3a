#!/usr/bin/env bash
# Ctrl-C halfway through scripts/demo: once the canary's leak is on, SIGINT goes to the demo's
# whole process group, as a terminal sends it. The demo must exit 130 and leave nothing behind: no
# process of its group, none of the processes it started (HAProxy, both leaky instances, the
# receiver, the agent, the traffic client), nothing mentioning its work dir, and no cgroup.
# Needs root and a memory cgroup controller (else exit 77).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

need_memory_cgroup
need_cmd haproxy socat curl jq setsid pgrep go env
[ -x "${OOMBREAKER:-}" ] || fail "set OOMBREAKER to the oombreaker binary (ctest does)"
tmpdir_setup


out=$TEST_TMP/demo-run
# A background job of a script starts with SIGINT ignored, and bash cannot trap a signal ignored
# at its start: --default-signal gives the demo the disposition it has under a terminal. spawn
# makes it a process group leader, so -$pid is its whole group, as the terminal's Ctrl-C.
spawn demo env --default-signal=INT OOMBREAKER="$OOMBREAKER" DEMO_OUT="$out" DEMO_NONINTERACTIVE=1 \
	"$SOURCE_DIR/scripts/demo"
pid=$SPAWN_PID
wait_until 60 eval "test -e '$out/leak-on' || ! _group_alive $pid" || fail "the demo never turned the leak on"
test -e "$out/leak-on" || fail "the demo ended before the leak was on (demo.log below)"
wait_until 10 eval "[ \$(wc -l <'$out/trace.jsonl') -ge 4 ]" || fail "the agent stopped ticking"
cg=$(cat "$out/cgroup")
[ -d "$cg" ] || fail "the demo's cgroup $cg is not there while it runs"
mapfile -t pids <"$out/pids"
[ "${#pids[@]}" -ge 5 ] || fail "the demo recorded ${#pids[@]} processes, want 5 or more"

log "leak on; SIGINT to the demo's process group $pid"
kill -INT -- "-$pid"
wait_until 20 eval "! _group_alive $pid" || fail "the demo's process group outlived SIGINT by 20 s"
rc=0
wait "$pid" || rc=$?
_spawn_forget "$pid"
[ "$rc" = 130 ] || fail "the demo exited $rc after SIGINT, want 130"

for p in "${pids[@]}"; do
	! _pid_alive "$p" || fail "pid $p of the demo survived: $(tr '\0' ' ' </proc/"$p"/cmdline)"
done
[ -z "$(pgrep -g "$pid" || true)" ] || fail "processes left in the demo's group: $(pgrep -a -g "$pid")"
[ -z "$(leftovers "$out")" ] || fail "processes left behind: $(leftovers "$out")"
{ [ ! -e "$cg" ] && [ ! -e "${cg%/*}" ]; } || fail "the demo left its cgroup $cg behind"
grep -q 'interrupted by SIGINT' "$TEST_TMP/demo.log" || fail "the demo did not say it was interrupted"
log "SIGINT halfway: exit 130, ${#pids[@]} processes and the cgroup gone: ok"
