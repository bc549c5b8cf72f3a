#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A FIFO (or any non-regular file) where a sampled cgroup file belongs must not hang the agent:
# on a fixture copy whose canary has a FIFO as memory.current (and a second one as memory.stat),
# `oombreaker run` starts, keeps ticking (its tick counter grows and /healthz stays 200), and
# /status reports the target as no-data with "not a regular file" as the reason.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/agent.sh"
need_cmd curl jq mkfifo
tmpdir_setup

agent_fixture
rm "$AGENT_CANARY/memory.current" "$AGENT_CANARY/memory.stat"
mkfifo "$AGENT_CANARY/memory.current" "$AGENT_CANARY/memory.stat"
agent_policy "$TEST_TMP/b1.ini" b1 200ms 0.9

# Before the fix, open(2) of the FIFO blocks the loop before /healthz ever answers.
agent_start --policy "$TEST_TMP/b1.ini"

ticks() { agent_ticks; }
target() { agent_status_json b1 | jq -c '.targets[0]'; }
reason_is_fifo() { target | jq -e '(.memory_error // "") | test("memory.current: not a regular file")'; }

wait_until 10 reason_is_fifo || fail "no 'not a regular file' reason in /status: $(agent_status_json b1)"
target | jq -e '(.memory_error // "") | test("memory.stat: not a regular file")' >/dev/null ||
	fail "memory.stat FIFO not named: $(target)"
target | jq -e '.memory.current_bytes == null' >/dev/null || fail "a FIFO produced a value: $(target)"

t0=$(ticks)
[ -n "$t0" ] || fail "no oombreaker_tick_duration_seconds_count in /metrics"
advanced() { [ "$(ticks)" -ge $((t0 + 3)) ]; }
wait_until 5 advanced || fail "the agent stopped ticking at $t0 ticks"
_agent_healthy || fail "/healthz is not 200 while the cgroup tree holds FIFOs"
log "ok: ticks $t0 -> $(ticks), reason: $(target | jq -r .memory_error)"
