#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Parse throughput of python3-prometheus-client's text parser: parses FILE (every sample
materialised, as the parser yields them) for at least SECONDS, prints "mb_per_s=X"."""

import sys
import time

from prometheus_client.parser import text_string_to_metric_families


def main():
    path, seconds = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    with open(path, encoding="utf-8") as f:
        body = f.read()
    size = len(body.encode("utf-8"))
    runs, start = 0, time.perf_counter()
    while True:
        n = sum(len(fam.samples) for fam in text_string_to_metric_families(body))
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    print("runs=%d samples=%d seconds=%.3f mb_per_s=%.2f" % (runs, n, elapsed, size * runs / elapsed / 1e6))


if __name__ == "__main__":
    main()
