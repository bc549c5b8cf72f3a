#!/usr/bin/python3
"""A loopback HTTP receiver standing in for the traffic manager or the deployment pipeline.

It records every request as one JSON line in --log (flushed at once), and answers each path as it
is told, from the command line or at run time through its control endpoint:

  receiver.py --log req.jsonl --port 0 --port-file port \\
              --script '/rollback=503,503,503,200' --script '/drain=hang' --verbose

A script is a comma-separated list of steps, one per request to that exact path (the query is
ignored); the last step repeats. '*' scripts every path without its own script; the default
answer is 200. Steps:
  STATUS        answer with this status (200..599) and a small JSON body
  STATUS:SECS   the same with a Retry-After: SECS header
  hang          accept the request and never answer (until the receiver stops)
  close         close the connection without answering
--retry-after PATH=SECS adds Retry-After to every 429 and 503 answered on PATH.
--delay PATH=SECS waits SECS (a decimal, at most 60) before answering each request on PATH, after
recording it: a slow pipeline, which widens the window in which a client can die mid-request.
--dedup answers like a pipeline that deduplicates on the Idempotency-Key header: the first request
with a key whose scripted answer is a 2xx takes effect (at that moment, before any --delay), and
every later request with that key is answered 200 with the first result without running the script;
a request answered otherwise (a 503, a 400, hang, close) has no effect, so a retry with its key is
judged afresh. Every request is still recorded, a repeat with "duplicate": true.
--body-size PATH=BYTES pads every status answer on PATH to at least BYTES (at most 16 MiB) with a
"pad" string in its JSON body: a chatty pipeline whose answer outgrows a client's buffer.

Control endpoint (requests to it are not recorded):
  POST /_receiver/script     body: PATH=STEPS lines; replaces those scripts, restarts their count
  POST /_receiver/reset      forgets the attempt counters and the in-memory record
  GET  /_receiver/requests   the recorded requests as a JSON array

Each record: seq, time (epoch s), mono_ns (CLOCK_MONOTONIC when the request line arrived, to
compare with other processes' monotonic clocks), method, path, query, headers, body, json (the
parsed body or null), attempt (1-based, per path), answer (the status, "hang" or "close"); with
--dedup also effect (this request took effect) and duplicate (answered from an earlier effect).
SIGTERM or SIGINT stops it cleanly (exit 0).
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

MAX_BODY_BYTES = 1 << 20
MAX_ANSWER_PAD = 16 << 20
MAX_HEADER_VALUE = 8192
CONTROL_PREFIX = "/_receiver/"


def parse_step(text):
    """Returns a step tuple (kind, status, retry_after) for one script step, or raises ValueError."""
    text = text.strip()
    if text in ("hang", "close"):
        return (text, None, None)
    status, _, retry_after = text.partition(":")
    code = int(status)
    if not 200 <= code <= 599:
        raise ValueError(f"status {code} not in 200..599")
    if retry_after and not retry_after.isdigit():
        raise ValueError(f"Retry-After {retry_after!r} is not a number of seconds")
    return ("status", code, retry_after or None)


def parse_script(spec):
    """Parses 'PATH=STEP,STEP,...' into (path, [steps]); raises ValueError with the reason."""
    path, sep, steps = spec.partition("=")
    path = path.strip()
    if not sep or not steps.strip() or not (path == "*" or path.startswith("/")):
        raise ValueError(f"script {spec!r}: want PATH=STEP[,STEP...] with PATH '/...' or '*'")
    try:
        return path, [parse_step(s) for s in steps.split(",")]
    except ValueError as e:
        raise ValueError(f"script {spec!r}: {e}") from None


class Recorder:
    """The receiver's shared state: scripts, per-path attempt counts, and the request log."""

    def __init__(self, log_path, scripts, retry_after, delays, body_sizes, verbose, label,
                 dedup=False):
        self.lock = threading.Lock()
        self.dedup = dedup
        self.effects = {}  # Idempotency-Key -> the payload its effect was answered with
        self.delays = dict(delays)
        self.body_sizes = dict(body_sizes)
        self.log = open(log_path, "a", encoding="utf-8")
        self.scripts = dict(scripts)
        self.retry_after = dict(retry_after)
        self.attempts = {}
        self.records = []
        self.seq = 0
        self.verbose = verbose
        self.label = label
        self.stopping = threading.Event()

    def dedup_step(self, path, key):
        """With --dedup: (None, step, first_payload) for a key already in effect, else the
        script's (attempt, step, None), recording the effect when the step is a 2xx."""
        with self.lock:
            if self.dedup and key and key in self.effects:
                return None, ("status", 200, None), self.effects[key]
            attempt, step = self.next_step(path)
            if self.dedup and key and step[0] == "status" and 200 <= step[1] < 300:
                self.effects[key] = {"status": step[1], "attempt": attempt}
            return attempt, step, None

    def next_step(self, path):
        """Counts one request to path and returns (attempt, step) for it (lock held)."""
        attempt = self.attempts.get(path, 0) + 1
        self.attempts[path] = attempt
        steps = self.scripts.get(path) or self.scripts.get("*") or [("status", 200, None)]
        kind, status, ra = steps[min(attempt, len(steps)) - 1]
        if ra is None and status in (429, 503):
            ra = self.retry_after.get(path, self.retry_after.get("*"))
        return attempt, (kind, status, ra)

    def record(self, rec):
        """Appends one request record to the log (flushed) and, when verbose, says it on stdout."""
        with self.lock:
            self.seq += 1
            rec = {"seq": self.seq, **rec}
            self.records.append(rec)
            self.log.write(json.dumps(rec, sort_keys=False) + "\n")
            self.log.flush()
        if self.verbose:
            self.say(rec)

    def say(self, rec):
        name = rec["path"].strip("/").split("/")[-1] or "/"
        stamp = time.strftime("%H:%M:%S", time.localtime(rec["time"]))
        what = f"{name} received: {rec['body']}" if rec["body"] else f"{name} received"
        prefix = f"[{self.label}] " if self.label else ""
        print(f"{prefix}{stamp} {what}  ({rec['method']} {rec['path']}, attempt {rec['attempt']}, "
              f"answer {rec['answer']})", flush=True)

    def set_scripts(self, scripts):
        with self.lock:
            for path, steps in scripts:
                self.scripts[path] = steps
                self.attempts.pop(path, None)

    def reset(self):
        with self.lock:
            self.effects.clear()
            self.attempts.clear()
            self.records.clear()

    def snapshot(self):
        with self.lock:
            return list(self.records)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "oombreaker-test-receiver/1"
    timeout = 60

    def parse_request(self):
        # The request line has just been read: this is the request's arrival time.
        self.arrival = (time.time(), time.monotonic_ns())
        return super().parse_request()

    def log_message(self, fmt, *args):  # the JSON log replaces the stderr access log
        pass

    def do_GET(self):
        self.handle_any()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def handle_any(self):
        url = urlsplit(self.path)
        body = self.read_body()
        if body is None:
            return
        if url.path.startswith(CONTROL_PREFIX):
            self.handle_control(url.path[len(CONTROL_PREFIX):], body)
            return
        rec = self.server.recorder
        attempt, (kind, status, retry_after), first = rec.dedup_step(
            url.path, self.headers.get("Idempotency-Key"))
        text = body.decode("utf-8", errors="replace")
        fields = {
            "time": self.arrival[0], "mono_ns": self.arrival[1],
            "method": self.command, "path": url.path, "query": url.query,
            "headers": self.header_dict(), "body": text, "json": parse_json(text),
            "attempt": attempt, "answer": status if kind == "status" else kind,
        }
        if rec.dedup:
            fields["duplicate"] = first is not None
            fields["effect"] = first is None and kind == "status" and 200 <= status < 300
        rec.record(fields)
        delay = rec.delays.get(url.path, rec.delays.get("*", 0.0))
        if first is not None:
            if not (delay and rec.stopping.wait(delay)):
                self.answer(200, first)
        elif kind == "hang":
            rec.stopping.wait()
            self.close_connection = True
        elif kind == "close":
            self.close_connection = True
        elif not (delay and rec.stopping.wait(delay)):
            payload = {"status": status, "attempt": attempt}
            pad = rec.body_sizes.get(url.path, rec.body_sizes.get("*", 0))
            if pad:
                payload["pad"] = "x" * pad
            self.answer(status, payload, retry_after)

    def header_dict(self):
        headers = {}
        for name, value in self.headers.items():
            value = value[:MAX_HEADER_VALUE]
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        return headers

    def read_body(self):
        """Returns the request body as bytes, or None after answering 400/413 for a bad one."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self.read_chunked()
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self.answer(413 if length > 0 else 400, {"error": "bad Content-Length"})
            self.close_connection = True
            return None
        return self.rfile.read(length)

    def read_chunked(self):
        body = b""
        while True:
            size = int(self.rfile.readline(64).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(MAX_HEADER_VALUE).strip():
                    pass  # trailers
                return body
            if len(body) + size > MAX_BODY_BYTES:
                self.answer(413, {"error": "body too large"})
                self.close_connection = True
                return None
            body += self.rfile.read(size)
            self.rfile.readline(8)

    def handle_control(self, what, body):
        rec = self.server.recorder
        if what == "requests" and self.command == "GET":
            self.answer(200, rec.snapshot())
        elif what == "reset" and self.command == "POST":
            rec.reset()
            self.answer(200, {"ok": True})
        elif what == "script" and self.command == "POST":
            try:
                lines = [ln for ln in body.decode("utf-8").splitlines() if ln.strip()]
                rec.set_scripts([parse_script(ln) for ln in lines])
            except (UnicodeDecodeError, ValueError) as e:
                self.answer(400, {"error": str(e)})
                return
            self.answer(200, {"ok": True})
        else:
            self.answer(404, {"error": f"unknown control request {self.command} {what}"})

    def answer(self, status, payload, retry_after=None):
        data = (json.dumps(payload) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def parse_json(text):
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one (default)")
    p.add_argument("--port-file", help="write the bound port here (atomically) once listening")
    p.add_argument("--log", required=True, help="append one JSON line per request here")
    p.add_argument("--script", action="append", default=[], metavar="PATH=STEPS")
    p.add_argument("--retry-after", action="append", default=[], metavar="PATH=SECS")
    p.add_argument("--delay", action="append", default=[], metavar="PATH=SECS")
    p.add_argument("--body-size", action="append", default=[], metavar="PATH=BYTES")
    p.add_argument("--dedup", action="store_true",
                   help="first Idempotency-Key wins; repeats are answered 200 with its result")
    p.add_argument("--label", default="", help="prefix of the --verbose lines")
    p.add_argument("--verbose", action="store_true", help="print one human line per request")
    args = p.parse_args(argv)
    try:
        args.script = [parse_script(s) for s in args.script]
        args.retry_after = [parse_retry_after(s) for s in args.retry_after]
        args.delay = [parse_delay(s) for s in args.delay]
        args.body_size = [parse_body_size(s) for s in args.body_size]
    except ValueError as e:
        p.error(str(e))
    if not 0 <= args.port <= 65535:
        p.error(f"--port {args.port}: want 0..65535")
    return args


def parse_retry_after(spec):
    path, sep, secs = spec.partition("=")
    if not sep or not secs.strip().isdigit() or not (path == "*" or path.startswith("/")):
        raise ValueError(f"--retry-after {spec!r}: want PATH=SECONDS")
    return path, secs.strip()


def parse_delay(spec):
    path, sep, secs = spec.partition("=")
    try:
        value = float(secs) if sep and (path == "*" or path.startswith("/")) else -1.0
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 60.0:
        raise ValueError(f"--delay {spec!r}: want PATH=SECONDS (0..60)")
    return path, value


def parse_body_size(spec):
    path, sep, size = spec.partition("=")
    size = size.strip()
    if not sep or not size.isdigit() or not (path == "*" or path.startswith("/")) \
            or int(size) > MAX_ANSWER_PAD:
        raise ValueError(f"--body-size {spec!r}: want PATH=BYTES (0..{MAX_ANSWER_PAD})")
    return path, int(size)


def write_port_file(path, port):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def main(argv):
    args = parse_args(argv)
    recorder = Recorder(args.log, args.script, args.retry_after, args.delay, args.body_size,
                        args.verbose, args.label, args.dedup)
    server = ThreadingHTTPServer((args.bind, args.port), Handler)
    server.daemon_threads = True
    server.recorder = recorder
    port = server.server_address[1]
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    if args.port_file:
        write_port_file(args.port_file, port)
    print(f"receiver: listening on {args.bind}:{port}, logging to {args.log}", file=sys.stderr, flush=True)
    stop.wait()
    recorder.stopping.set()  # releases hanging handlers: they close without answering
    server.shutdown()
    server.server_close()
    recorder.log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
