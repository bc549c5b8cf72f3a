#!/usr/bin/env bash
# The demo's scenario, end to end and non-interactively: the real agent on a leaking Go canary in
# a real 256 MiB memory cgroup behind a real HAProxy. Plays it through scripts/lib/demo.sh (what
# scripts/demo runs) and asserts, on the live peers rather than on what the demo prints:
#   - the trip comes within consecutive x interval + one interval of the canary's memory ratio
#     first crossing the threshold (ticks from the agent's --trace file, the trip from status);
#   - HAProxy has app/canary in MAINT, and 100 requests sent through it all reach app/stable;
#   - the pipeline's receiver got exactly one rollback, naming the policy's stable_image.
# Then runs scripts/demo itself: exit 0 in under 60 s, no process or cgroup left behind.
# Needs root and a memory cgroup controller (else exit 77).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=../../scripts/lib/demo.sh
source "$SOURCE_DIR/scripts/lib/demo.sh"

need_memory_cgroup
need_cmd haproxy socat curl jq setsid pgrep go env
[ -x "${OOMBREAKER:-}" ] || fail "set OOMBREAKER to the oombreaker binary (ctest does)"
tmpdir_setup
export DEMO_NONINTERACTIVE=1

# check_trip_timing: the trip's t_ms against the first tick whose working set / limit went over
# memory_ratio_above, both on the agent's clock; the bound comes from the policy itself.
check_trip_timing() {
	"$PYTHON" - "$DEMO_POLICY" "$DEMO_TRACE" "$TEST_TMP/status.json" <<'EOF' || fail "trip timing (above)"
import json, re, sys

policy, trace, status = sys.argv[1:]
sections, cur = {}, None
for line in open(policy):
    line = line.split(";", 1)[0].strip()
    if line.startswith("["):
        cur = sections.setdefault(line.strip("[]"), {})
    elif "=" in line:
        k, v = (x.strip() for x in line.split("=", 1))
        cur[k] = v

def duration_ms(s):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)?", s)
    return int(m.group(1)) * {"ms": 1, "s": 1000, "m": 60000, "h": 3600000}[m.group(2) or "s"]

def ratio(s):
    return float(s[:-1]) / 100 if s.endswith("%") else float(s)

batch, rule = sections["batch"], sections["rule heap-pressure"]
interval = duration_ms(batch.get("interval", "5s"))
consecutive = int(rule.get("consecutive", batch.get("consecutive", "3")))
threshold = ratio(rule["memory_ratio_above"])

crossed = None
for line in open(trace):
    t = json.loads(line)
    m = t.get("memory", {})
    if t.get("instance") != "canary" or "current" not in m or not m.get("max"):
        continue
    r = (m["current"] - m.get("inactive_file", 0)) / m["max"]
    if r > threshold:
        crossed = t["t_ms"], r
        break
trip = json.load(open(status))["trip"]
assert crossed, f"the canary's memory ratio never went over {threshold}"
assert trip, "no trip"
delay = trip["t_ms"] - crossed[0]
bound = consecutive * interval + interval
print(f"ratio first over {threshold} at t_ms {crossed[0]} ({crossed[1]:.3f}); tripped at "
      f"t_ms {trip['t_ms']} ({trip['rule']}): {delay} ms later, bound {bound} ms")
assert 0 <= delay <= bound, f"trip {delay} ms after the crossing, want 0..{bound}"
EOF
}

# check_haproxy: asks HAProxy itself: app/canary in MAINT, and 100 fresh requests all answered
# by the stable instance (leaky answers its instance name).
check_haproxy() {
	local status i answers=()
	status=$(echo "show stat" | socat -t 2 - "TCP:127.0.0.1:$DEMO_HAPROXY_API_PORT" |
		awk -F, '$1 == "app" && $2 == "canary" { print $18 }')
	[ "$status" = MAINT ] || fail "HAProxy reports app/canary as '$status', want MAINT"
	for i in $(seq 100); do
		answers+=("$(curl -s --max-time 5 "http://127.0.0.1:$DEMO_HAPROXY_PORT/" || echo error)")
	done
	i=$(printf '%s\n' "${answers[@]}" | grep -cx stable || true)
	[ "$i" = 100 ] || fail "$i of 100 requests after the drain reached stable: $(printf '%s\n' "${answers[@]}" | sort | uniq -c | tr '\n' ' ')"
	log "haproxy: app/canary MAINT, 100/100 requests to stable: ok"
}

# check_rollback: exactly one request on /rollback, answered 200, naming the stable image, with
# the trip's idempotency key.
check_rollback() {
	local stable key
	stable=$(sed -n 's/^stable_image = *//p' "$DEMO_POLICY")
	key=$(jq -r '.actions[] | select(.action == "rollback") | .key' "$TEST_TMP/status.json")
	[[ $key == demo:*:0:rollback ]] || fail "the rollback's key is $key, not demo:RELEASE:0:rollback"
	jq -e -s --arg img "$stable" --arg key "$key" '
		[.[] | select(.path == "/rollback")] as $r
		| ($r | length) == 1 and $r[0].answer == 200 and $r[0].json.stable_image == $img
		  and $r[0].headers["Idempotency-Key"] == $key' "$RECEIVER_LOG" >/dev/null ||
		fail "want one rollback naming $stable with key $key; got: $(cat "$RECEIVER_LOG")"
	log "pipeline: exactly one rollback, stable_image $stable: ok"
}


# check_demo_script: scripts/demo as a user runs it (minus the install and build): exit 0 in
# under 60 s, and afterwards nothing of it left.
check_demo_script() {
	local out=$TEST_TMP/demo-run rc=0 t0 secs pid cg
	t0=$(_now_us)
	OOMBREAKER="$OOMBREAKER" DEMO_OUT=$out "$SOURCE_DIR/scripts/demo" >"$TEST_TMP/demo-script.out" 2>&1 || rc=$?
	secs=$((($(_now_us) - t0) / 1000000))
	[ "$rc" = 0 ] || {
		cat "$TEST_TMP/demo-script.out"
		fail "scripts/demo exited $rc"
	}
	[ "$secs" -lt 60 ] || fail "scripts/demo took ${secs}s, want under 60"
	grep -q 'TRIPPED' "$TEST_TMP/demo-script.out" || fail "no TRIPPED in the demo's output"
	while read -r pid; do
		! _pid_alive "$pid" || fail "scripts/demo left pid $pid running"
	done <"$out/pids"
	[ -z "$(leftovers "$out")" ] || fail "scripts/demo left processes behind: $(leftovers "$out")"
	cg=$(cat "$out/cgroup")
	{ [ ! -e "$cg" ] && [ ! -e "${cg%/*}" ]; } || fail "scripts/demo left its cgroup $cg behind"
	log "scripts/demo: exit 0 in ${secs}s, nothing left behind: ok"
}

demo_play || fail "the scenario did not end rolled back (timeline exit $?)"
demo_status_json >"$TEST_TMP/status.json" || true # exit 2: tripped
jq -e '.phase == "rolled_back"' "$TEST_TMP/status.json" >/dev/null ||
	fail "status: $(cat "$TEST_TMP/status.json")"
check_trip_timing
check_haproxy
check_rollback
# Stop this scenario's peers and cgroup before the full script runs its own.
spawn_kill_all
cg_destroy_all || fail "could not remove the scenario's cgroups"
check_demo_script
