#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A real Prometheus server (Debian's) scrapes the agent every second on loopback:
# - the target is up and /api/v1/query returns oombreaker_batch_state{state="armed"} 1 for the
#   batch (and 0 for rolled_back);
# - after a forced trip (the fixture canary's memory.current raised to 92 % of its limit; the
#   rollback goes to a receiver that answers 200) it returns {state="rolled_back"} 1 and armed 0,
#   and oombreaker_trips_total 1;
# - with a second batch b2 loaded, the tick-duration histogram is one per batch: Prometheus holds
#   a _count series for each of b1 and b2, and a per-batch p50 from its buckets.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/agent.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/prometheus.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prometheus.sh"
need_cmd curl jq prometheus
tmpdir_setup

receiver_start pipeline
agent_fixture
agent_policy "$TEST_TMP/b1.ini" b1 500ms 0.9 "http://127.0.0.1:$RECEIVER_PORT/rollback"
agent_policy "$TEST_TMP/b2.ini" b2 250ms 0.99
agent_start --policy "$TEST_TMP/b1.ini" --policy "$TEST_TMP/b2.ini"

prometheus_start 1000 "127.0.0.1:$AGENT_PORT"

# query EXPR: prints the value of the single series EXPR selects now ("" when none).
query() {
	curl -sf --max-time 5 -G "$prom/api/v1/query" --data-urlencode "query=$1" |
		jq -r 'if .status == "success" and (.data.result | length) == 1
		       then .data.result[0].value[1] else "" end'
}
query_is() { [ "$(query "$1")" = "$2" ]; }
state() { echo "oombreaker_batch_state{job=\"oombreaker\",batch=\"b1\",state=\"$1\"}"; }

wait_until 30 query_is 'up{job="oombreaker"}' 1 || fail "the agent is not up in prometheus"
wait_until 30 query_is "$(state armed)" 1 || fail "prometheus: state armed is not 1 (got '$(query "$(state armed)")')"
query_is "$(state rolled_back)" 0 || fail "prometheus: rolled_back is not 0 while armed"
log "prometheus: $(state armed) 1"

ticks_by_batch='count by (batch) (oombreaker_tick_duration_seconds_count{job="oombreaker"})'
batches_ticking() {
	[ "$(curl -sf --max-time 5 -G "$prom/api/v1/query" --data-urlencode "query=$ticks_by_batch" |
		jq -c '[.data.result[].metric.batch] | sort')" = '["b1","b2"]' ]
}
wait_until 30 batches_ticking || fail "prometheus: no tick histogram per batch ($ticks_by_batch)"
p50='histogram_quantile(0.5, sum by (le) (oombreaker_tick_duration_seconds_bucket{batch="b2"}))'
[ -n "$(query "$p50")" ] || fail "prometheus: no p50 from batch b2's tick buckets"
log "prometheus: tick histograms of b1 and b2; b2's p50 $(query "$p50") s"

agent_set_ratio high
t0=$(_now_us)
wait_until 10 agent_phase_is b1 rolled_back || fail "the agent did not roll back within 10 s"
wait_until 30 query_is "$(state rolled_back)" 1 ||
	fail "prometheus: rolled_back is not 1 (got '$(query "$(state rolled_back)")')"
t1=$(_now_us)
query_is "$(state armed)" 0 || fail "prometheus: armed is not 0 after the trip"
query_is 'oombreaker_trips_total{batch="b1"}' 1 || fail "prometheus: trips_total is not 1"
query_is 'oombreaker_action_attempts_total{batch="b1",action="rollback",result="ok"}' 1 ||
	fail "prometheus: the rollback attempt is not counted"
log "prometheus: $(state rolled_back) 1, $(((t1 - t0) / 1000)) ms after the ratio was raised"
