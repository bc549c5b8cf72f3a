#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A tiny prometheus_client program whose /metrics the exposition fixtures were captured from
(tests/tools/capture-expositions.sh). The default registry carries the platform, process and
GC collectors, as in a real service; a few metrics with awkward label values are added, and
some GC cycles run so python_gc_collections_total is not zero. Prints its address, serves
until killed. Run with /usr/bin/python3 (Debian's python3-prometheus-client)."""

import gc
import sys
from http.server import HTTPServer

from prometheus_client import Counter, Gauge, Histogram, Summary
from prometheus_client.exposition import MetricsHandler


def register():
    requests = Counter("demo_requests", "Requests served, by path.", ["path", "code"])
    requests.labels("/", "200").inc(41)
    requests.labels('/q?a="b"&c={d,e}', "200").inc(2)
    requests.labels("/x\\y\nz", "500").inc()
    requests.labels("demo_requests_total 999", "200").inc(3)
    requests.labels("/trace", "200").inc(5, exemplar={"trace_id": "4bf92f3577b34da6"})
    latency = Histogram("demo_request_duration_seconds", "Request latency.", ["path"],
                        buckets=(0.005, 0.05, 0.5, 5))
    for i, v in enumerate((0.001, 0.02, 0.3, 0.3, 7)):
        latency.labels("/").observe(v, exemplar={"trace_id": "a1"} if i == 2 else None)
    size = Summary("demo_response_size_bytes", "Response sizes.")
    for v in (512, 1024, 4096):
        size.observe(v)
    Gauge("demo_temperature_celsius", "A negative gauge.").set(-3.25)


def main():
    register()
    junk = []
    for _ in range(5):
        junk.extend([{}] * 1000 for _ in range(100))
        gc.collect()
    server = HTTPServer(("127.0.0.1", 0), MetricsHandler)
    print("%s:%d" % server.server_address, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
