#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# `wait --prometheus`'s verdicts and errors against a scripted Prometheus API on loopback (the
# cases a real server does not produce on demand; test-fleet.sh runs the real one): each
# scenario answers the gate's three queries (nodes, their phase with the sample's time, up).
#  - healthy nodes bake to 0; --min-nodes more than there are never does (124);
#  - a sample 120 s old is "missing (stale ...)" by instance, not healthy; --stale-after 5m
#    accepts it;
#  - up 0 is "missing (down ...)"; one tripped node is 2, unless --trip-nodes asks for two;
#  - every node promoted is 0; no node at all says "is Prometheus scraping the agents?" and
#    exits 4; Prometheus' own error is exit 1 with its message; a closed port is exit 4 at once.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
bin=${OOMBREAKER:?set OOMBREAKER to the oombreaker binary}
tmpdir_setup

cat >"$TEST_TMP/fakeprom.py" <<'EOF'
import json, sys, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

scenario_file = sys.argv[2]

# Per scenario: {instance: (state, sample age in s, up)}; "error" answers 400.
SCENARIOS = {
    "healthy": {"n1:9": ("armed", 1, 1), "n2:9": ("armed", 1, 1)},
    "stale": {"n1:9": ("armed", 1, 1), "n2:9": ("armed", 120, 1)},
    "down": {"n1:9": ("armed", 1, 1), "n2:9": (None, 0, 0)},
    "tripped": {"n1:9": ("rolled_back", 1, 1), "n2:9": ("armed", 1, 1)},
    "promoted": {"n1:9": ("promoted", 1, 1), "n2:9": ("promoted", 1, 1)},
    "empty": {},
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query).get("query", [""])[0]
        name = open(scenario_file).read().strip()
        now = time.time()
        if u.path != "/api/v1/query":
            return self.answer(404, b"404 page not found", "text/plain")
        if name == "error":
            body = {"status": "error", "errorType": "bad_data", "error": "parse error: boom"}
            return self.answer(400, json.dumps(body).encode())
        nodes = SCENARIOS[name]
        result = []
        for inst, (state, age, up) in nodes.items():
            if q.startswith("up "):
                result.append({"metric": {"instance": inst, "job": "o"}, "value": [now, str(up)]})
            elif q.startswith("timestamp("):
                if state:
                    result.append({"metric": {"instance": inst, "state": state},
                                   "value": [now, str(now - age)]})
            else:
                result.append({"metric": {"instance": inst}, "value": [now, "10"]})
        body = {"status": "success", "data": {"resultType": "vector", "result": result}}
        self.answer(200, json.dumps(body).encode())

    def answer(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
srv.serve_forever()
EOF
echo healthy >"$TEST_TMP/scenario"
spawn fakeprom "$PYTHON" "$TEST_TMP/fakeprom.py" "$TEST_TMP/fakeprom.port" "$TEST_TMP/scenario"
_wait_port_file "$TEST_TMP/fakeprom.port" "$SPAWN_PID" || fail "the fake Prometheus did not start"
prom=http://127.0.0.1:$(cat "$TEST_TMP/fakeprom.port")

# gate SCENARIO WANT_RC [wait options...]: runs the gate; fails unless it exits WANT_RC. Its
# stdout and stderr are in $TEST_TMP/out.
gate() {
	local scenario=$1 want=$2 rc=0
	shift 2
	echo "$scenario" >"$TEST_TMP/scenario"
	"$bin" wait --prometheus "$prom" --batch b "$@" >"$TEST_TMP/out" 2>&1 || rc=$?
	[ "$rc" = "$want" ] || fail "$scenario ($*): exit $rc, not $want: $(cat "$TEST_TMP/out")"
	log "$scenario ($*): exit $rc: $(tail -n 1 "$TEST_TMP/out")"
}
has() { grep -qF -- "$1" "$TEST_TMP/out" || fail "no \"$1\" in: $(cat "$TEST_TMP/out")"; }

gate healthy 0 --min-nodes 2 --bake 1s --timeout 5s
has "healthy on all 2 nodes"
gate healthy 124 --min-nodes 3 --bake 1s --timeout 2s
has "2 nodes (expected 3)"
gate stale 124 --min-nodes 2 --bake 1s --timeout 2s
has "n2:9 missing (stale: last sample 120 s old)"
gate stale 0 --min-nodes 2 --bake 1s --timeout 5s --stale-after 5m
gate down 124 --bake 1s --timeout 2s
has "n2:9 missing (down: up is 0)"
gate tripped 2 --timeout 5s
has "n1:9 rolled_back"
gate tripped 124 --trip-nodes 2 --timeout 2s
gate promoted 0 --min-nodes 2 --timeout 5s
has "promoted on every node"
gate empty 4 --timeout 2s
has "no node reports batch b; is Prometheus scraping the agents?"
gate error 1 --timeout 5s
has "Prometheus says: parse error: boom"
prom=$prom/nothing-here gate healthy 1 --timeout 5s
has "HTTP 404"
closed=$(free_port)
t0=$(_now_us)
prom=http://127.0.0.1:$closed gate healthy 4 --timeout 30s
has "is unreachable"
[ $(($(_now_us) - t0)) -lt 5000000 ] || fail "an unreachable server took 5 s or more to say so"
"$bin" wait --prometheus "$prom" >"$TEST_TMP/out" 2>&1 && fail "no --batch: exit 0"
has "needs --batch NAME"
"$bin" wait --prometheus "$prom" --batch b --socket /x >"$TEST_TMP/out" 2>&1 && fail "--socket: exit 0"
has "not with --prometheus"
log "PASS"
