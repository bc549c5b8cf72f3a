#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Slowloris against the HTTP listener: `oombreaker run` listens on 0.0.0.0 (as the DaemonSet
# does); 500 connections from 127.0.0.1 each send a request line and then one header byte
# every 300 ms, never finishing, reconnecting at once when dropped. A scrape of /metrics and
# a probe of /healthz from another address (127.0.0.2) must still answer 200 within 1 s, five
# times in a row.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/agent.sh"
need_cmd curl
tmpdir_setup
ulimit -n 4096 2>/dev/null || true
[ "$(ulimit -n)" -ge 1200 ] || skip "needs 1200 open files for 500 connections (ulimit -n is $(ulimit -n))"
"$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.2", 0))' 2>/dev/null ||
	skip "cannot bind 127.0.0.2 on this host"

agent_fixture
agent_policy "$TEST_TMP/b1.ini" b1 500ms 0.9
AGENT_PORT=$(free_port)
AGENT_URL=http://127.0.0.1:$AGENT_PORT
spawn agent "$BIN" run --state-dir "$TEST_TMP/state" --socket "$TEST_TMP/ctl.sock" \
	--listen "0.0.0.0:$AGENT_PORT" --cgroup-root "$TEST_TMP/cg" --policy "$TEST_TMP/b1.ini"
AGENT_PID=$SPAWN_PID
wait_until 10 _agent_healthy || fail "oombreaker run did not become healthy on 0.0.0.0:$AGENT_PORT"

cat >"$TEST_TMP/slowloris.py" <<'PY'
import os, socket, sys, time
port, n, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks, sent, attempts, start = [None] * n, [0] * n, 0, time.monotonic()
while True:
    for i in range(n):
        s = socks[i]
        try:
            if s is None:
                s = socket.socket()
                s.bind(("127.0.0.1", 0))
                s.setblocking(False)
                attempts += 1
                try:
                    s.connect(("127.0.0.1", port))
                except BlockingIOError:
                    pass
                socks[i], sent[i] = s, 0
                continue
            try:
                if s.recv(4096) == b"":
                    raise ConnectionError
            except BlockingIOError:
                pass
            s.send(b"GET /metrics HTTP/1.1\r\nX-Slow: " if not sent[i] else b"x")
            sent[i] += 1
        except OSError:
            s.close()
            socks[i] = None
    if attempts >= n and time.monotonic() - start > 2 and not os.path.exists(ready):
        open(ready, "w").close()
    time.sleep(0.3)
PY
spawn slowloris "$PYTHON" "$TEST_TMP/slowloris.py" "$AGENT_PORT" 500 "$TEST_TMP/ready"
wait_until 20 test -e "$TEST_TMP/ready" || fail "the slow clients never all started"
held=$(ss -Htn state established "( dport = :$AGENT_PORT )" 2>/dev/null | wc -l || true)
log "500 slow clients from 127.0.0.1 started ($held connections established now)"

for i in 1 2 3 4 5; do
	for path in /metrics /healthz; do
		t0=$(_now_us)
		code=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 --max-time 5 \
			"http://127.0.0.1:$AGENT_PORT$path") || true
		ms=$((($(_now_us) - t0) / 1000))
		log "scrape #$i of $path from 127.0.0.2: HTTP $code after $ms ms"
		[ "$code" = 200 ] || fail "$path from 127.0.0.2 got HTTP '$code' under slowloris"
		[ "$ms" -le 1000 ] || fail "$path from 127.0.0.2 took $ms ms under slowloris (limit 1000)"
	done
done
_pid_alive "$AGENT_PID" || fail "the agent died under slowloris"
