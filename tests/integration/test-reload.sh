#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# SIGHUP reloads the policies of --policy-dir (agent on a fixture cgroup copy, --debug so every
# tick is logged with its outcomes):
# - a broken b1.ini: the log names FILE:LINE of the bad value and says the batch keeps its
#   previous policy; the old batch keeps ticking with its old rule (pass 0/2, 500 ms);
# - a new b2.ini is armed; removing it drops the batch and keeps its state file;
# - a fixed b1.ini with a lower memory_ratio_above (0.5 < the canary's 0.55) and consecutive 3:
#   the very first tick after the reload breaches (breach 1/3), /status shows the new limit, and
#   the batch trips three ticks later;
# - reloading a changed policy of that tripped batch keeps it latched; `reset` arms it with the
#   new policy.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/agent.sh"
need_cmd curl jq
tmpdir_setup

agent_fixture
dir=$TEST_TMP/batches.d
mkdir "$dir"
agent_policy "$dir/b1.ini" b1 500ms 0.9
agent_start --policy-dir "$dir" --debug

# after LINE_NO: the agent's log lines after line LINE_NO. log_lines: the log's length now.
after() { tail -n "+$(($1 + 1))" "$AGENT_LOG"; }
log_lines() { wc -l <"$AGENT_LOG"; }
# ticks_after LINE_NO BATCH N: true once BATCH logged N ticks after LINE_NO.
ticks_after() { [ "$(grep -c "^batch $2 tick t_ms=" <<<"$(after "$1")")" -ge "$3" ]; }
# after_has LINE_NO REGEX: a line after LINE_NO matches REGEX. after_first LINE_NO REGEX: the first.
# (Here-strings, not pipes: a grep that stops early must not SIGPIPE the writer under pipefail.)
after_has() { grep -q -- "$2" <<<"$(after "$1")"; }
after_first() { awk -v re="$2" '$0 ~ re { print; exit }' <<<"$(after "$1")"; }
# old_ticks LINE_NO: b1's ticks after LINE_NO that are not a pass of the 0.9 rule (none expected).
old_ticks() { grep '^batch b1 tick t_ms=' <<<"$(after "$1")" | grep -v 'instance canary-1: mem pass 0/2$'; }
hup() {
	kill -HUP "$AGENT_PID"
	wait_until 10 after_has "$1" "$2" || fail "no '$2' in the log after SIGHUP"
}

wait_until 5 ticks_after 0 b1 2 || fail "b1 does not tick"

# --- broken policy ------------------------------------------------------------------------------
sed -i 's/^memory_ratio_above = 0.9$/memory_ratio_above = lots/' "$dir/b1.ini"
bad_line=$(grep -n '^memory_ratio_above = lots$' "$dir/b1.ini" | cut -d: -f1)
mark=$(log_lines)
hup "$mark" 'keeps its previous policy'
after_has "$mark" "^$dir/b1.ini:$bad_line: " ||
	fail "the error does not name $dir/b1.ini:$bad_line: $(after "$mark")"
log "broken policy: $(after_first "$mark" "b1.ini:$bad_line:")"
after_has "$mark" "^$dir/b1.ini: invalid; batch b1 keeps its previous policy" ||
	fail "no 'keeps its previous policy' line"
mark=$(log_lines)
wait_until 5 ticks_after "$mark" b1 3 || fail "b1 stopped ticking after the failed reload"
old_ticks "$mark" &&
	fail "b1 does not tick with its old policy after the failed reload"
agent_status_json b1 | jq -e '.phase == "armed" and .interval_ms == 500 and
	.instances[0].streaks[0].limit == 2' >/dev/null || fail "b1 changed: $(agent_status_json b1)"

# --- a new batch, then its removal --------------------------------------------------------------
agent_policy "$dir/b2.ini" b2 1s 0.9
mark=$(log_lines)
hup "$mark" "batch b2: armed from $dir/b2.ini"
agent_phase_is b2 armed || fail "b2 is not armed after the reload"
wait_until 5 test -e "$AGENT_STATE/b2.json" || fail "b2 has no state file"
rm "$dir/b2.ini"
mark=$(log_lines)
hup "$mark" 'batch b2: its policy file is gone; no longer watched (state file kept)'
[ "$(curl -sf "$AGENT_URL/status" | jq '[.batches[].batch]' -c)" = '["b1"]' ] ||
	fail "b2 is still served after its file went away"
test -e "$AGENT_STATE/b2.json" || fail "b2's state file was removed"

# --- fixed policy with a lower threshold --------------------------------------------------------
agent_policy "$dir/b1.ini" b1 500ms 0.5
sed -i 's/^consecutive = 2$/consecutive = 3/' "$dir/b1.ini"
mark=$(log_lines)
hup "$mark" 'batch b1: policy reloaded'
reloaded=$(($(awk '/batch b1: policy reloaded/ { print NR; exit }' <<<"$(after "$mark")") + mark))
wait_until 5 ticks_after "$reloaded" b1 1 || fail "b1 does not tick after the reload"
first=$(after_first "$reloaded" '^batch b1 tick t_ms=')
log "first tick after the reload: $first"
[[ $first == *" instance canary-1: mem breach 1/3" ]] ||
	fail "the new threshold does not apply from the next tick: $first"
agent_status_json b1 | jq -e '.instances[0].streaks[0].limit == 3' >/dev/null ||
	fail "/status does not show the new limit: $(agent_status_json b1)"
wait_until 5 eval 'agent_phase_is b1 tripped || agent_phase_is b1 rolled_back' ||
	fail "b1 did not trip on its new threshold"
after_has "$reloaded" 'batch b1 TRIPPED: instance canary-1, rule mem, 3/3 in a row: memory_ratio 0.55.* > 0.5' ||
	fail "the trip reason does not show the new threshold"

# --- a tripped batch stays latched through a reload; the new policy applies at reset ----------
phase=$(agent_phase b1)
agent_policy "$dir/b1.ini" b1 500ms 0.9
mark=$(log_lines)
hup "$mark" 'batch b1: policy changed; the batch is latched'
agent_phase_is b1 "$phase" || fail "the reload un-latched b1: $(agent_phase b1)"
out=$(timeout 10 "$BIN" reset b1 --socket "$AGENT_SOCK") || fail "reset exited $?"
[[ $out == "b1: armed (the next trip's keys: release "*", generation "[0-9]*")" ]] || fail "reset printed '$out'"
mark=$(log_lines)
wait_until 5 ticks_after "$mark" b1 3 || fail "b1 does not tick after the reset"
old_ticks "$mark" &&
	fail "b1 does not run the reloaded policy (0.9, 2 in a row) after the reset"
agent_status_json b1 | jq -e '.phase == "armed" and .instances[0].streaks[0].limit == 2' >/dev/null ||
	fail "after the reset: $(agent_status_json b1)"
log "b1 stayed $phase through the reload and runs the new policy after reset"
