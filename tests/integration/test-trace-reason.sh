#!/usr/bin/env bash
# Why a target has no data reaches the trace (issue 12, OpenMetrics strictness): a real HTTP peer
# on loopback declares application/openmetrics-text and serves a body that breaks OpenMetrics 1.0
# (a trailing comma in a label set, allowed in the 0.0.4 text format only). `sample --json` (the
# trace's writer, as `run --trace`) must put the rejection into "runtime_error" with its line,
# leave the runtime figures empty, and `replay` must read that line as a plain no-data sample.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "${OOMBREAKER_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/common.sh"

bin=${OOMBREAKER_BINARY_DIR:-$SOURCE_DIR/build}/oombreaker
need_cmd jq
tmpdir_setup

cat >"$TEST_TMP/peer.py" <<'PY'
import http.server, os, sys
BODY = (b'# TYPE go_gc_duration_seconds summary\n'
        b'go_gc_duration_seconds_count{a="b",} 5\ngo_gc_duration_seconds_sum 1\n# EOF\n')
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)
s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(f"{s.server_address[1]}\n")
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
PY
spawn peer "$PYTHON" "$TEST_TMP/peer.py" "$TEST_TMP/peer.port"
wait_until 10 test -s "$TEST_TMP/peer.port" || fail "the peer did not start"
port=$(cat "$TEST_TMP/peer.port")

cat >"$TEST_TMP/p.ini" <<INI
[batch]
name = b1
image = registry.example.com/order-svc:v2.4.1-rc3
stable_image = registry.example.com/order-svc:v2.4.0
traffic_percent = 5

[target canary-1]
cgroup = /system.slice/order-canary@1.service
metrics_url = http://127.0.0.1:$port/metrics
gc_preset = go

[rule gc]
gc_per_minute_above = 15
INI

"$bin" sample "$TEST_TMP/p.ini" --json --cgroup-root "$SOURCE_DIR/tests/fixtures/cgroup-v2" \
	>"$TEST_TMP/trace.jsonl" 2>"$TEST_TMP/sample.err" || fail "sample exited $?: $(cat "$TEST_TMP/sample.err")"
jq -e '.runtime == {} and .memory.current > 0 and
	(.runtime_error | test("line 2: trailing comma in a label set")) and
	(has("memory_error") | not)' "$TEST_TMP/trace.jsonl" >/dev/null ||
	fail "the trace lacks the rejection: $(cat "$TEST_TMP/trace.jsonl")"

"$bin" replay "$TEST_TMP/p.ini" --trace "$TEST_TMP/trace.jsonl" --json >"$TEST_TMP/replay.json" \
	2>"$TEST_TMP/replay.err" || fail "replay exited $?: $(cat "$TEST_TMP/replay.err")"
jq -e '.' "$TEST_TMP/replay.json" >/dev/null || fail "replay: $(cat "$TEST_TMP/replay.json")"
echo "trace: $(jq -c '{runtime, runtime_error}' "$TEST_TMP/trace.jsonl")"
echo "PASS"
