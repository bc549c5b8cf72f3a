#!/usr/bin/python3
"""The live timeline of scripts/demo: follows what the agent, the canary and the pipeline do.

It waits for a few baseline ticks, turns the canary's leak on (POST --leak-url), then prints, as
they happen, one line per tick of the watched instance (memory ratio and working set, GC per
minute, each rule's streak, the batch's phase, all from `oombreaker status BATCH --json` right
after the tick's trace line), the agent's own event lines (its log, debug lines left out) and every
request the pipeline's receiver got, with its JSON payload. It stops once the batch is rolled_back
or failed, and says so.

Exit status: 0 rolled back (every action done), 1 an action failed, 2 timed out, 3 the agent
died, 130 interrupted.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

FINAL_PHASES = ("rolled_back", "failed")
PRIORITY = re.compile(r"^<([0-7])>")
MAX_LINE = 1 << 16


class Follower:
    """Yields the complete lines appended to a file since the last call (the file may not exist yet)."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.partial = b""

    def lines(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        data = self.partial + data
        *complete, self.partial = data.split(b"\n")
        self.partial = self.partial[-MAX_LINE:]
        return [line.decode("utf-8", "replace") for line in complete if line.strip()]


class Timeline:
    def __init__(self, args):
        self.args = args
        self.t0 = time.monotonic()
        self.trace = Follower(args.trace)
        self.agent_log = Follower(args.agent_log)
        self.receiver_log = Follower(args.receiver_log)
        self.received = []  # (time read, line): shown a moment later, after the agent's own lines
        self.ticks = 0
        self.leak_on = False
        self.status = {}
        self.color = sys.stdout.isatty() and not os.environ.get("DEMO_NONINTERACTIVE")

    def emit(self, what, text, style=""):
        stamp = f"{time.monotonic() - self.t0:+6.1f}s"
        if self.color and style:
            text = f"{style}{text}\x1b[0m"
        print(f"   {stamp}  {what:<10} {text}", flush=True)

    def poll_status(self):
        """Refreshes self.status from the agent; keeps the last one when it does not answer."""
        a = self.args
        try:
            out = subprocess.run(
                [a.oombreaker, "status", a.batch, "--json", "--socket", a.socket,
                 "--state-dir", a.state_dir],
                capture_output=True, text=True, timeout=5).stdout
            self.status = json.loads(out)
        except (subprocess.TimeoutExpired, json.JSONDecodeError, OSError):
            pass
        return self.status.get("phase", "unknown")

    def tick_line(self):
        st = self.status
        inst = next((i for i in st.get("instances", []) if i.get("instance") == self.args.instance), {})
        parts = []
        ratio, ws = inst.get("memory_ratio"), inst.get("working_set")
        parts.append(f"memory {100 * ratio:5.1f}%" if isinstance(ratio, (int, float)) else "memory   n/a ")
        parts.append(f"({ws / 1048576:5.1f} MiB)" if isinstance(ws, (int, float)) else "(  n/a    )")
        gc = inst.get("gc_per_minute")
        parts.append(f"gc/min {gc:5.1f}" if isinstance(gc, (int, float)) else "gc/min   n/a")
        for s in inst.get("streaks", []):
            parts.append(f"{s.get('rule')} {s.get('streak')}/{s.get('limit')}")
        parts.append(f"[{st.get('phase', '?')}]")
        if inst.get("error") and not isinstance(ratio, (int, float)):
            parts.append(f"no data: {inst['error']}")
        return "  ".join(parts)

    def turn_leak_on(self):
        req = urllib.request.Request(self.args.leak_url, method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=5) as r:
            body = json.loads(r.read())
        self.leak_on = True
        if self.args.leak_marker:
            with open(self.args.leak_marker, "w") as f:
                f.write(f"{time.time():.3f}\n")
        self.emit("canary", f"leak on: {body.get('mb_per_sec')} MiB of orders a second into a "
                  "map[string]map[string]string", "\x1b[1m")

    def on_trace(self, line):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            return
        if rec.get("instance") != self.args.instance:
            return
        self.poll_status()
        self.ticks += 1
        self.emit("tick", self.tick_line())
        if not self.leak_on and self.ticks >= self.args.baseline_ticks:
            self.turn_leak_on()

    def on_agent(self, line):
        m = PRIORITY.match(line)
        if m and int(m.group(1)) >= 7:
            return
        text = PRIORITY.sub("", line)
        style = "\x1b[1;31m" if "TRIPPED" in text else ""
        self.emit("oombreaker", text, style)

    def on_receiver(self, line):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            return
        payload = json.dumps(rec.get("json"), separators=(",", ":")) if rec.get("json") else rec.get("body", "")
        self.emit("pipeline", f"{rec.get('method')} {rec.get('path')} (attempt {rec.get('attempt')}, "
                  f"answered {rec.get('answer')}): {payload}", "\x1b[1m")

    def drain(self, final=False):
        """Shows what is new. The agent logs an attempt once it is over, so a request reaches the
        receiver's log before the agent's line about it: the receiver's lines wait 0.3 s."""
        now = time.monotonic()
        self.received += [(now, line) for line in self.receiver_log.lines()]
        for line in self.agent_log.lines():
            self.on_agent(line)
        for line in self.trace.lines():
            self.on_trace(line)
        while self.received and (final or now - self.received[0][0] >= 0.3):
            self.on_receiver(self.received.pop(0)[1])

    def run(self):
        deadline = self.t0 + self.args.timeout
        next_status = 0.0
        while time.monotonic() < deadline:
            self.drain()
            if self.args.agent_pid and not pid_alive(self.args.agent_pid):
                self.drain(final=True)
                self.emit("timeline", "the agent exited: see its log", "\x1b[1;31m")
                return 3
            if time.monotonic() >= next_status:
                next_status = time.monotonic() + 0.5
                if self.poll_status() in FINAL_PHASES:
                    time.sleep(0.3)  # the last log lines may trail the agent's state by a moment
                    self.drain(final=True)
                    return 0 if self.status["phase"] == "rolled_back" else 1
            time.sleep(0.1)
        self.drain(final=True)
        self.emit("timeline", f"no verdict after {self.args.timeout:g}s "
                  f"(phase {self.status.get('phase', 'unknown')})", "\x1b[1;31m")
        return 2


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--oombreaker", required=True)
    p.add_argument("--batch", required=True)
    p.add_argument("--instance", required=True, help="the instance whose ticks are shown")
    p.add_argument("--socket", required=True)
    p.add_argument("--state-dir", required=True)
    p.add_argument("--trace", required=True, help="the agent's --trace file")
    p.add_argument("--agent-log", required=True)
    p.add_argument("--agent-pid", type=int, default=0)
    p.add_argument("--receiver-log", required=True)
    p.add_argument("--leak-url", required=True, help="POSTed after --baseline-ticks ticks")
    p.add_argument("--leak-marker", help="written (epoch seconds) once the leak is on")
    p.add_argument("--baseline-ticks", type=int, default=2)
    p.add_argument("--timeout", type=float, default=40)
    args = p.parse_args()
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return Timeline(args).run()


if __name__ == "__main__":
    sys.exit(main())
