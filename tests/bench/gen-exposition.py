#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes a deterministic text-format 0.0.4 exposition of at least SIZE bytes (default 1 MiB) to
stdout, shaped like a busy service's /metrics: the Go runtime families client_golang exports,
then per-subsystem counters with labels, gauges, histograms (12 buckets) and summaries, with
values printed the way client_golang prints them (shortest float, e+ exponents)."""

import random
import sys


def fmt(v):
    s = repr(float(v))
    if s.endswith(".0"):
        s = s[:-2]
    return s.replace("e+", "e+0") if "e+" in s and len(s.split("e+")[1]) == 1 else s


def family(out, rng, i):
    sub = "svc%03d" % i
    methods, codes = ("GET", "POST", "PUT", "DELETE"), ("200", "404", "500")
    out.append("# HELP %s_requests_total Requests handled by %s, by method and code.\n" % (sub, sub))
    out.append("# TYPE %s_requests_total counter\n" % sub)
    for m in methods:
        for c in codes:
            out.append('%s_requests_total{method="%s",code="%s",path="/api/v1/items/{id}"} %s\n'
                       % (sub, m, c, fmt(rng.randrange(10**7))))
    out.append("# HELP %s_inflight_requests Requests in flight.\n# TYPE %s_inflight_requests gauge\n"
               % (sub, sub))
    out.append("%s_inflight_requests %s\n" % (sub, fmt(rng.randrange(100))))
    out.append("# HELP %s_request_duration_seconds Request latency.\n" % sub)
    out.append("# TYPE %s_request_duration_seconds histogram\n" % sub)
    for m in methods[:3]:
        n = 0
        for le in (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10):
            n += rng.randrange(1000)
            out.append('%s_request_duration_seconds_bucket{method="%s",le="%s"} %d\n' % (sub, m, fmt(le), n))
        out.append('%s_request_duration_seconds_bucket{method="%s",le="+Inf"} %d\n' % (sub, m, n))
        out.append('%s_request_duration_seconds_sum{method="%s"} %s\n' % (sub, m, fmt(rng.random() * n)))
        out.append('%s_request_duration_seconds_count{method="%s"} %d\n' % (sub, m, n))
    out.append("# HELP %s_payload_bytes Payload sizes.\n# TYPE %s_payload_bytes summary\n" % (sub, sub))
    for q in ("0.5", "0.9", "0.99"):
        out.append('%s_payload_bytes{quantile="%s"} %s\n' % (sub, q, fmt(rng.random() * 1e6)))
    out.append("%s_payload_bytes_sum %s\n%s_payload_bytes_count %d\n"
               % (sub, fmt(rng.random() * 1e9), sub, rng.randrange(10**6)))


def main():
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 20
    rng = random.Random(1)
    out = ["# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.\n",
           "# TYPE go_gc_duration_seconds summary\n"]
    for q in ("0", "0.25", "0.5", "0.75", "1"):
        out.append('go_gc_duration_seconds{quantile="%s"} %s\n' % (q, fmt(rng.random() / 1000)))
    out.append("go_gc_duration_seconds_sum 0.0123\ngo_gc_duration_seconds_count 4812\n")
    out.append("# HELP go_memstats_heap_inuse_bytes Number of heap bytes that are in use.\n"
               "# TYPE go_memstats_heap_inuse_bytes gauge\ngo_memstats_heap_inuse_bytes 1.610612736e+09\n")
    total, i = sum(map(len, out)), 0
    while total < size:
        chunk = []
        family(chunk, rng, i)
        out.extend(chunk)
        total += sum(map(len, chunk))
        i += 1
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
