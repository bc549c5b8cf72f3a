#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""memload: a Python service whose memory follows one shape, for recording real forecast traces
(tests/tools/record-traces.sh). Serves prometheus_client's default registry (the python preset's
python_gc_collections_total) on 127.0.0.1 and writes the bound port to --port-file.

Shapes (combinable; times in seconds from start):
  --leak-mib-per-s R [--leak-after S]   keep R MiB a second, never freed (a slow leak)
  --garbage-mib-per-s R --gc-every S     R MiB a second of reference cycles that only CPython's
                                         cycle collector frees; automatic collection is off and
                                         gc.collect() runs every S seconds: a GC sawtooth
  --spike-mib N --spike-after S --spike-hold H   one request that holds N MiB for H seconds
Run with /usr/bin/python3 (Debian's python3-prometheus-client)."""

import argparse
import gc
import os
import threading
import time

from http.server import ThreadingHTTPServer

from prometheus_client.exposition import MetricsHandler

CHUNK = 256 << 10  # above glibc's mmap threshold: a freed chunk goes back to the kernel at once


def touched(size):
    """A buffer whose every page is written, so it is resident (charged to the cgroup)."""
    return bytearray(b"\x01") * size


class Cycle:
    """Garbage that only the cycle collector can free: it refers to itself."""

    def __init__(self):
        self.buf = touched(CHUNK)
        self.me = self


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--leak-mib-per-s", type=float, default=0)
    p.add_argument("--leak-after", type=float, default=0)
    p.add_argument("--garbage-mib-per-s", type=float, default=0)
    p.add_argument("--gc-every", type=float, default=15)
    p.add_argument("--spike-mib", type=int, default=0)
    p.add_argument("--spike-after", type=float, default=60)
    p.add_argument("--spike-hold", type=float, default=5)
    return p.parse_args()


def serve(port_file):
    server = ThreadingHTTPServer(("127.0.0.1", 0), MetricsHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_port))
    os.rename(tmp, port_file)


def run(o):
    start = time.monotonic()
    leaked, step = {}, 0.1
    owed_leak = owed_garbage = 0.0
    last_gc = start
    spiked = False
    while True:
        time.sleep(step)
        now = time.monotonic() - start
        if o.leak_mib_per_s and now >= o.leak_after:
            owed_leak += o.leak_mib_per_s * step * (1 << 20)
            while owed_leak >= CHUNK:
                leaked[len(leaked)] = {"order": touched(CHUNK)}
                owed_leak -= CHUNK
        if o.garbage_mib_per_s:
            owed_garbage += o.garbage_mib_per_s * step * (1 << 20)
            while owed_garbage >= CHUNK:
                Cycle()
                owed_garbage -= CHUNK
            if time.monotonic() - last_gc >= o.gc_every:
                gc.collect()
                last_gc = time.monotonic()
        if o.spike_mib and not spiked and now >= o.spike_after:
            spiked = True
            held = [touched(1 << 20) for _ in range(o.spike_mib)]
            time.sleep(o.spike_hold)
            del held


def main():
    o = parse()
    gc.disable()  # collections run only where the shape says (the sawtooth's gc.collect())
    serve(o.port_file)
    threading.Thread(target=run, args=(o,), daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
