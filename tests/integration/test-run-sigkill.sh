#!/usr/bin/env bash
# Exactly once across SIGKILL (issue 5, must show 3e). 20 trips on a real memory cgroup that keeps
# breaching, against a slow receiver (every answer 250 ms late, the first attempt of each action
# a 503, so the agent backs off): each trip's agent is SIGKILLed at a random point ($RANDOM ms),
# once or twice, each time restarted on the same state dir and policy. Every trip must end with:
#  - the state file rolled_back, both actions done, keys <trip_id>-<action>;
#  - the receiver having seen one key per action (the trip's), one body per action, a 200 for
#    each, and the first rollback only after the cut was answered 200;
#  - no request for an action after the state file said it was done (checked at every kill, and
#    after one more restart on the finished state).
set -euo pipefail
# shellcheck source=../lib/common.sh
source "${OOMBREAKER_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/common.sh"
# shellcheck source=../lib/run.sh
source "$SOURCE_DIR/tests/lib/run.sh"

trips=${SIGKILL_TRIPS:-20}

run_test_setup
hog_start hog 128MiB 80
receiver_start recv --delay '*=0.25' --script '/drain=503,200' --script '/rollback=503,200'
url=http://127.0.0.1:$RECEIVER_PORT
policy_write "$TEST_TMP/p.ini" b1 200ms \
	"$(http_action drain "$url/drain" "retries = 5" "timeout = 5s")" \
	"$(http_action rollback "$url/rollback" "retries = 5" "timeout = 5s")"

declare -A seen_at_kill=() # "trip:action" → requests seen when a kill found the action done
declare -A where=()        # what the kills interrupted → how many
kills=0

# note_kill TRIP: after a SIGKILL, records what the state file says and, for each action already
# done, how many requests the receiver had seen for it.
note_kill() {
	local trip=$1 f st a
	f=$(state_file b1)
	kills=$((kills + 1))
	if [ ! -s "$f" ] || ! jq -e '.trip' "$f" >/dev/null 2>&1; then
		where[before the trip was saved]=$((${where[before the trip was saved]:-0} + 1))
		return
	fi
	st=$(jq -r '.phase + ": " + ([.actions[] | "\(.name) \(.status)"] | join(", "))' "$f")
	where[$st]=$((${where[$st]:-0} + 1))
	for a in drain rollback; do
		jq -e --arg a "$a" '.actions[] | select(.name == $a) | .status == "done"' "$f" >/dev/null || continue
		seen_at_kill[$trip:$a]=$(recv_count "/$a")
	done
}

# check_trip TRIP: the checks listed at the top, for the trip that just finished.
check_trip() {
	local trip=$1 state reqs id a key
	state=$(cat "$(state_file b1)")
	reqs=$(recv_requests)
	id=$(jq -r .trip.id <<<"$state")
	jq -e --arg id "$id" '.phase == "rolled_back" and
		([.actions[] | [.name, .status, .key]] ==
		 [["drain", "done", "\($id)-drain"], ["rollback", "done", "\($id)-rollback"]])' \
		<<<"$state" >/dev/null || fail "trip $trip: state file: $state"
	for a in drain rollback; do
		jq -e --arg p "/$a" --arg key "$id-$a" --arg id "$id" '
			[.[] | select(.path == $p)] | length > 0
			and ([.[].headers["Idempotency-Key"]] | unique) == [$key]
			and ([.[].json.trip_id] | unique) == [$id]
			and ([.[].body] | unique | length) == 1
			and any(.[]; .answer == 200)' <<<"$reqs" >/dev/null ||
			fail "trip $trip: requests for $a: $(jq -c --arg p "/$a" '[.[] | select(.path == $p)
				| {seq, key: .headers["Idempotency-Key"], answer}]' <<<"$reqs")"
		key=$trip:$a
		if [ -n "${seen_at_kill[$key]:-}" ] && [ "${seen_at_kill[$key]}" != "$(recv_count "/$a")" ]; then
			fail "trip $trip: $a was done at a kill with ${seen_at_kill[$key]} requests, then got more"
		fi
	done
	jq -e '([.[] | select(.path == "/drain" and .answer == 200) | .seq] | min) as $cut
		| all(.[] | select(.path == "/rollback"); .seq > $cut)' <<<"$reqs" >/dev/null ||
		fail "trip $trip: a rollback before the cut was done: $(jq -c '[.[] | {seq, path, answer}]' <<<"$reqs")"
}

t_start=$SECONDS
for trip in $(seq "$trips"); do
	recv_reset
	st=$TEST_TMP/state-$trip
	n_kills=$((1 + RANDOM % 2))
	for k in $(seq "$n_kills"); do
		agent_start "agent-$trip-$k" "$TEST_TMP/p.ini" "$st"
		# A random point of the trip: it trips ~400 ms after the start; the actions take ~2.5 s.
		delay_ms=$((RANDOM % 3000))
		sleep "$((delay_ms / 1000)).$(printf %03d $((delay_ms % 1000)))"
		agent_sigkill
		note_kill "$trip"
	done
	agent_start "agent-$trip-end" "$TEST_TMP/p.ini" "$st" --trace "$TEST_TMP/trace-$trip.jsonl"
	wait_until 30 state_is b1 rolled_back || fail "trip $trip: not rolled_back: $(cat "$(state_file b1)")"
	agent_stop
	check_trip "$trip"
	# One more restart on the finished state: three ticks go by, nothing is sent.
	before=$(recv_requests | jq length)
	agent_start "agent-$trip-after" "$TEST_TMP/p.ini" "$st" --trace "$TEST_TMP/after-$trip.jsonl"
	wait_until 10 eval '[ "$(wc -l <"$TEST_TMP/after-$trip.jsonl" 2>/dev/null || echo 0)" -ge 3 ]' ||
		fail "trip $trip: the restarted agent does not tick"
	agent_stop
	[ "$(recv_requests | jq length)" = "$before" ] || fail "trip $trip: a request after the trip was done"
	state_is b1 rolled_back || fail "trip $trip: the restart changed the phase"
done

echo "$trips trips, $kills SIGKILLs in $((SECONDS - t_start)) s; what the kills interrupted:"
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
