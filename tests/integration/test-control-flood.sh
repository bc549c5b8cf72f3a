#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The control socket under a flood: 200 hostile clients hold connections to `oombreaker run`'s
# control socket (half silent, half trickling one byte of a never-ending request every 100 ms,
# each reconnecting at once when dropped) and `oombreaker status` must still answer, exit 0,
# within 1 s, five times in a row. When run as root the hostile clients run as nobody, so the
# slot reserved for uid 0 is exercised too; otherwise eviction of idle clients alone must do.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/agent.sh"
need_cmd curl jq
tmpdir_setup
ulimit -n 4096 2>/dev/null || true

agent_fixture
agent_policy "$TEST_TMP/b1.ini" b1 500ms 0.9
agent_start --policy "$TEST_TMP/b1.ini"

hostile_user=
mkdir -m 0777 "$TEST_TMP/flag"
if [ "$(id -u)" = 0 ]; then
	hostile_user=65534
	chmod 0711 "$TEST_TMP"
	chmod 0666 "$AGENT_SOCK"
fi

cat >"$TEST_TMP/hostile.py" <<'PY'
import os, socket, sys, time
path, n, ready, uid = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
if uid:
    os.setgid(int(uid)); os.setuid(int(uid))
socks = [None] * n
connects = 0
start = time.monotonic()
while True:
    for i in range(n):
        s = socks[i]
        if s is None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect(path)
                socks[i] = s
                connects += 1
            except OSError:
                s.close()
            continue
        if i % 2:
            try:
                s.send(b" ")
            except OSError:
                s.close(); socks[i] = None
                continue
        try:
            if s.recv(4096) == b"":
                raise OSError
        except BlockingIOError:
            pass
        except OSError:
            s.close(); socks[i] = None
    # Half connected (more than the agent has slots) is enough: the rest keep trying.
    if connects >= n // 2 and time.monotonic() - start > 1 and not os.path.exists(ready):
        open(ready, "w").close()
    time.sleep(0.1)
PY
spawn hostile "$PYTHON" "$TEST_TMP/hostile.py" "$AGENT_SOCK" 200 "$TEST_TMP/flag/ready" "$hostile_user"
wait_until 20 test -e "$TEST_TMP/flag/ready" || fail "the hostile clients never connected"
log "200 hostile clients at work${hostile_user:+ as uid $hostile_user}"

for i in 1 2 3 4 5; do
	t0=$(_now_us)
	rc=0
	timeout 10 "$BIN" status --socket "$AGENT_SOCK" >"$TEST_TMP/status.out" 2>"$TEST_TMP/status.err" || rc=$?
	ms=$((($(_now_us) - t0) / 1000))
	log "status #$i: exit $rc after $ms ms"
	[ "$rc" = 0 ] || fail "status exited $rc under the flood: $(cat "$TEST_TMP/status.err")"
	[ "$ms" -le 1000 ] || fail "status took $ms ms under the flood (limit 1000)"
	grep -q b1 "$TEST_TMP/status.out" || fail "status does not show b1: $(cat "$TEST_TMP/status.out")"
done
_pid_alive "$AGENT_PID" || fail "the agent died under the flood"
