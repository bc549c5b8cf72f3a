#!/usr/bin/python3
"""Three misbehaving /metrics endpoints on 127.0.0.1, each on its own free port, and a
healthy one to compare with.

  hang  accepts the connection, reads nothing, answers nothing, forever
  err   answers every request with HTTP 500
  big   answers 200 with a 50 MiB body and no Content-Length (close-delimited), so the
        client can only stop it by counting bytes
  ok    a well-behaved Go-style body whose go_gc_duration_seconds_count rises per request

Prints one line "hang=PORT err=PORT big=PORT ok=PORT" once all listen, then serves until
killed. Standard library only.
"""
import http.server
import socket
import sys
import threading

BIG_BYTES = 50 * 1024 * 1024
LINE = b"filler_total 1\n"
CHUNK = LINE * (1024 * 1024 // len(LINE))

held = []  # accepted "hang" connections, kept open on purpose


def serve_hang(listener):
    while True:
        conn, _ = listener.accept()
        held.append(conn)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        if self.server.mode == "ok":
            self.server.count += 1
            body = ("go_gc_duration_seconds_count %d\ngo_memstats_heap_inuse_bytes 4096\n"
                    % self.server.count).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.server.mode == "err":
            body = b"internal error: database is on fire\n"
            self.send_response(500)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        sent = 0
        try:
            while sent < BIG_BYTES:
                self.wfile.write(CHUNK)
                sent += len(CHUNK)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up at its cap, as it should


def http_server(mode):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.mode = mode
    srv.count = 0
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]


def main():
    hang = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hang.bind(("127.0.0.1", 0))
    hang.listen(64)
    threading.Thread(target=serve_hang, args=(hang,), daemon=True).start()
    ports = (hang.getsockname()[1], http_server("err"), http_server("big"), http_server("ok"))
    print("hang=%d err=%d big=%d ok=%d" % ports, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
