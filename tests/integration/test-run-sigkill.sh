#!/usr/bin/env bash
# Delivery across SIGKILL (issue 12, "Delivery semantics"): 100 random SIGKILLs of `run` during
# trips on a real memory cgroup that keeps breaching, against a receiver that deduplicates on the
# Idempotency-Key the way a real pipeline would (receiver.py --dedup). 10 trips, 10 kills each, at
# random points ($RANDOM ms), each time restarted on the same state dir and policy. The receiver is
# slow (every answer 400 ms late: the window between its effect and the agent's "done") and each
# trip carries faults: a 503 first, a hang until the agent's 1 s timeout, or a 400 that fails the
# rollback for good. Every trip must end with:
#  - the state file rolled_back with both actions done (failed, rollback failed, for the 400
#    trips), keys <batch>:<release>:<generation>:<action> from the state file's release record;
#  - 0 lost: exactly one effect at the receiver for each action the state says done, none for one
#    it says failed; 0 duplicate effects; every delivery of an action under the trip's key and body;
#  - the first rollback delivery only after the cut took effect;
#  - no delivery for an action after the state file said it was done (checked at every kill, and
#    after one more restart on the finished state).
# Duplicate deliveries (a kill between the receiver's answer and the saved "done") are counted and
# reported: delivery is at least once, the effect exactly once.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "${OOMBREAKER_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/common.sh"
# shellcheck source=../lib/run.sh
source "$SOURCE_DIR/tests/lib/run.sh"

trips=${SIGKILL_TRIPS:-10}
kills_per_trip=${SIGKILL_PER_TRIP:-10}

run_test_setup
hog_start hog 128MiB 80
receiver_start recv --dedup --delay '*=0.4'
url=http://127.0.0.1:$RECEIVER_PORT
policy_write "$TEST_TMP/p.ini" b1 100ms \
	"$(http_action drain "$url/drain" "retries = 20" "timeout = 1s")" \
	"$(http_action rollback "$url/rollback" "retries = 20" "timeout = 1s")"

# The faults of trip N (by N mod 4): the scripts of /drain and /rollback, and the end phase.
faults=("/drain=503,200 /rollback=503,200 rolled_back"
	"/drain=hang,200 /rollback=503,200 rolled_back"
	"/drain=503,200 /rollback=400 failed"
	"/drain=200 /rollback=hang,503,200 rolled_back")

declare -A seen_at_kill=() # "trip:action" → deliveries seen when a kill found the action done
declare -A where=()        # what the kills interrupted → how many
kills=0 deliveries=0 effects=0 duplicates=0

# note_kill TRIP: after a SIGKILL, records what the state file says and, for each action already
# done, how many deliveries the receiver had seen for it. (One jq per file: jq is slow to start.)
note_kill() {
	local trip=$1 lines a reqs
	kills=$((kills + 1))
	lines=$(jq -r 'if .trip then (.phase + ": " + ([.actions[] | "\(.name) \(.status)"] | join(", "))),
		(.actions[] | select(.status == "done") | .name) else "before the trip was saved" end' \
		"$(state_file b1)" 2>/dev/null) || lines="before the trip was saved"
	where[${lines%%$'\n'*}]=$((${where[${lines%%$'\n'*}]:-0} + 1))
	for a in $(tail -n +2 <<<"$lines"); do
		seen_at_kill[$trip:$a]=$(trip_log | grep -c "\"path\": \"/$a\"" || true)
	done
}

# trip_log: the receiver's records (JSON lines) since the trip began.
trip_log() { tail -n +$((log_start + 1)) "$RECEIVER_LOG"; }

# check_trip TRIP PHASE: the checks listed at the top, for the trip that just finished; adds its
# deliveries, effects and duplicates to the totals.
check_trip() {
	local trip=$1 phase=$2 rb=done verdict a n b
	[ "$phase" = failed ] && rb=failed
	verdict=$(trip_log | jq -rs --slurpfile st "$(state_file b1)" --arg ph "$phase" --arg rb "$rb" '
		$st[0] as $s | $s.trip.id as $id
		| "\($s.batch):\($s.release.id):\($s.release.generation)" as $k
		| [.[] | select(.path | test("^/(drain|rollback)$"))] as $r
		| def action($a; $status):
			[$r[] | select(.path == "/" + $a)] as $d
			| if ($d | length) == 0 then "\($a): no delivery"
			  elif ([$d[].headers["Idempotency-Key"]] | unique) != ["\($k):\($a)"] then "\($a): keys"
			  elif ([$d[].json.trip_id] | unique) != [$id] then "\($a): trip ids"
			  elif ([$d[].body] | unique | length) != 1 then "\($a): bodies differ"
			  elif ([$d[] | select(.effect)] | length) != (if $status == "done" then 1 else 0 end)
			  then "\($a) is \($status) with \([$d[] | select(.effect)] | length) effects"
			  else empty end;
		([if $s.phase != $ph or ([$s.actions[] | [.name, .status, .key]] !=
			[["drain", "done", "\($k):drain"], ["rollback", $rb, "\($k):rollback"]])
		  then "state file: \($s | tojson)" else empty end,
		  action("drain"; "done"), action("rollback"; $rb),
		  (([$r[] | select(.path == "/drain" and .effect) | .seq] | min) as $cut
		   | if all($r[] | select(.path == "/rollback"); .seq > $cut) then empty
		     else "a rollback before the cut took effect" end)]
		 | if length > 0 then "FAIL \(join("; ")): \([$r[] | {seq, path, answer, effect, duplicate}]
			| tojson)" else empty end),
		"\($r | length) \([$r[] | select(.effect)] | length) \([$r[] | select(.duplicate)] | length)",
		([$r[] | .path[1:]] | group_by(.) | .[] | "\(.[0]) \(length)")')
	[[ $verdict != FAIL* ]] || fail "trip $trip: ${verdict#FAIL }"
	read -r a n b <<<"$(head -n 1 <<<"$verdict")"
	deliveries=$((deliveries + a)) effects=$((effects + n)) duplicates=$((duplicates + b))
	while read -r a n; do
		if [ -n "${seen_at_kill[$trip:$a]:-}" ] && [ "${seen_at_kill[$trip:$a]}" != "$n" ]; then
			fail "trip $trip: $a was done at a kill with ${seen_at_kill[$trip:$a]} deliveries, then got $n"
		fi
	done < <(tail -n +2 <<<"$verdict")
}

# kill_start NAME STATE_DIR: starts the agent without waiting for its control socket, so that the
# kill that follows may land anywhere, start-up included. Sets AGENT_PID.
kill_start() {
	spawn "$1" "$OOMBREAKER" run --policy "$TEST_TMP/p.ini" --state-dir "$2" \
		--socket "$TEST_TMP/$1.sock" --listen none --cgroup-root "$CG_ROOT" --debug
	AGENT_PID=$SPAWN_PID AGENT_STATE_DIR=$2
}

# sleep_ms MS
sleep_ms() { sleep "$(($1 / 1000)).$(printf %03d $(($1 % 1000)))"; }

t_start=$SECONDS
for trip in $(seq "$trips"); do
	read -r drain_script rollback_script phase <<<"${faults[trip % 4]}"
	recv_reset
	log_start=$(wc -l <"$RECEIVER_LOG")
	printf '%s\n%s\n' "$drain_script" "$rollback_script" |
		curl -sf --max-time 5 --data-binary @- "$url/_receiver/script" >/dev/null
	st=$TEST_TMP/state-$trip
	for k in $(seq "$kills_per_trip"); do
		kill_start "agent-$trip-$k" "$st"
		# The first run trips ~300 ms after its start; later ones resume the actions at once.
		if [ "$k" = 1 ]; then sleep_ms $((300 + RANDOM % 700)); else sleep_ms $((RANDOM % 700)); fi
		agent_sigkill
		note_kill "$trip"
	done
	agent_start "agent-$trip-end" "$TEST_TMP/p.ini" "$st"
	wait_until 60 state_is b1 "$phase" || fail "trip $trip: not $phase: $(cat "$(state_file b1)")"
	agent_stop
	check_trip "$trip" "$phase"
	# One more restart on the finished state: three ticks go by, nothing is sent.
	before=$(trip_log | wc -l)
	agent_start "agent-$trip-after" "$TEST_TMP/p.ini" "$st" --trace "$TEST_TMP/after-$trip.jsonl"
	wait_until 10 eval '[ "$(wc -l <"$TEST_TMP/after-$trip.jsonl" 2>/dev/null || echo 0)" -ge 3 ]' ||
		fail "trip $trip: the restarted agent does not tick"
	agent_stop
	[ "$(trip_log | wc -l)" = "$before" ] || fail "trip $trip: a delivery after the trip was done"
	state_is b1 "$phase" || fail "trip $trip: the restart changed the phase"
done

echo "$trips trips, $kills SIGKILLs in $((SECONDS - t_start)) s: $deliveries deliveries, $effects" \
	"effects (0 lost, 0 duplicate effects), $duplicates duplicate deliveries answered from the first" \
	"effect; what the kills interrupted:"
for w in "${!where[@]}"; do
	printf '  %3d  %s\n' "${where[$w]}" "$w"
done | sort -rn
# The kills must have hit the actions, not only the quiet before and after.
mid=0
for w in "${!where[@]}"; do
	[[ $w != tripped:* ]] || mid=$((mid + where[$w]))
done
[ "$mid" -ge $((kills / 4)) ] || fail "only $mid of $kills kills landed during the actions"
echo "PASS"
