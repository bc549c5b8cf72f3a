#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Differential test of the agent's exposition parser (agent/core/promtext.c, driven through
tests/tools/promtext-sum) against the reference parsers.

1. Sums: for every fixture in tests/fixtures/exposition/ and every series the presets use (plus
   every sample name in the body), the parser's (count, sum) must equal what
   python3-prometheus-client's parser gives (prometheus_client.parser for the text format,
   prometheus_client.openmetrics.parser for OpenMetrics), summing over all label sets that
   carry the selector's labels.
2. Rejections: every body `promtool check metrics` rejects with a parse error (not a lint
   warning) must be rejected by ours too: the hand-written bodies in bad/ and seeded mutations
   of the good text fixtures. OpenMetrics bodies in bad/ must all be rejected (promtool only
   reads the text format); python's OpenMetrics verdict is shown alongside.

Usage: promtext-diff.py PROMTEXT_SUM SOURCE_DIR [MUTANTS_PER_FIXTURE]. Exit 0 when all agree.
"""

import glob
import math
import os
import random
import re
import subprocess
import sys
import tempfile

from prometheus_client.openmetrics.parser import _parse_sample
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families
from prometheus_client.parser import text_string_to_metric_families as text_families

# The series the presets use; '~' skips negative samples (an undefined JVM max is -1).
PRESETS = [
    "go_gc_duration_seconds_count",
    "go_memstats_heap_inuse_bytes",
    "jvm_gc_collection_seconds_count",
    "jvm_gc_pause_seconds_count",
    'jvm_memory_bytes_used{area="heap"}',
    '~jvm_memory_bytes_max{area="heap"}',
    'jvm_memory_used_bytes{area="heap"}',
    '~jvm_memory_max_bytes{area="heap"}',
    "python_gc_collections_total",
    "process_resident_memory_bytes",
    "nodejs_heap_size_used_bytes",
    "nodejs_heap_size_total_bytes",
    "nodejs_gc_duration_seconds_count",
    "dotnet_collection_count_total",
    "dotnet_total_memory_bytes",
    # matchers on other labels, and label values that need escaping
    'dotnet_collection_count_total{generation="2"}',
    'jvm_gc_collection_seconds_count{gc="PS Scavenge"}',
    'jvm_gc_pause_seconds_count{action="end of minor GC"}',
    'demo_requests_total{path="/x\\\\y\\nz"}',
    'demo_requests_total{path="/q?a=\\"b\\"&c={d,e}"}',
    'demo_requests_total{code="200"}',
]

SELECTOR_RE = re.compile(r'^(~?)([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?$')
MATCHER_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def unescape(s):
    return re.sub(r'\\(.)', lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), s)


def parse_selector(s):
    m = SELECTOR_RE.match(s)
    matchers = {k: unescape(v) for k, v in MATCHER_RE.findall(m.group(3) or "")}
    return m.group(1) == "~", m.group(2), matchers


def strip_header(data):
    while data.startswith(b"## "):
        data = data[data.index(b"\n") + 1:]
    return data


def python_samples(body, om):
    """The samples python's parser reads. For OpenMetrics, if the family-level checks refuse
    the body (client_golang 1.14 exposes go_memstats_alloc_bytes both as a gauge and as the
    counter go_memstats_alloc_bytes_total, a clash Prometheus accepts), python's own sample-line
    parser is applied to each sample line instead, and the fallback is reported."""
    text = body.decode("utf-8")
    try:
        return [s for f in (om_families if om else text_families)(text) for s in f.samples]
    except ValueError as e:
        if not om:
            raise
        print("  note: python's OpenMetrics parser refuses the body (%s); using its line parser" % e)
    return [_parse_sample(ln) for ln in text.split("\n") if ln and not ln.startswith("#")]


def python_sums(body, om, selectors):
    samples = python_samples(body, om)
    names = sorted({s.name for s in samples})
    sums = {}
    for sel in selectors:
        skip_neg, name, matchers = parse_selector(sel)
        n, total = 0, 0.0
        for s in samples:
            if s.name != name or any(s.labels.get(k) != v for k, v in matchers.items()):
                continue
            if skip_neg and s.value < 0:
                continue
            n += 1
            total += float(s.value)
        sums[sel] = (n, total)
    return sums, names


def ours(tool, path, om, selectors):
    """{selector: (n, sum)} or ('error', line, reason)."""
    out = {}
    for i in range(0, max(len(selectors), 1), 64):
        chunk = selectors[i:i + 64]
        args = [tool] + (["--openmetrics"] if om else []) + [path] + chunk
        p = subprocess.run(args, capture_output=True, text=True)
        if p.returncode == 1:
            _, line, reason = p.stdout.rstrip("\n").split("\t", 2)
            return ("error", int(line), reason)
        if p.returncode != 0:
            sys.exit("promtext-sum failed: %s" % p.stderr)
        for ln in p.stdout.splitlines():
            n, s, sel = ln.split("\t", 2)
            out[sel] = (int(n), float(s))
    return out


def same(a, b):
    return a[0] == b[0] and (a[1] == b[1] or (math.isnan(a[1]) and math.isnan(b[1])))


def check_sums(tool, fixtures):
    failures, compared, preset_rows = 0, 0, []
    for path in fixtures:
        om = path.endswith(".om")
        with open(path, "rb") as f:
            body = strip_header(f.read())
        _, names = python_sums(body, om, [])
        selectors = PRESETS + [n for n in names if n not in PRESETS]
        want, _ = python_sums(body, om, selectors)
        got = ours(tool, path, om, selectors)
        if isinstance(got, tuple):
            print("FAIL %s: ours rejects a body python parses: line %d: %s" % (path, got[1], got[2]))
            failures += 1
            continue
        for sel in selectors:
            compared += 1
            if not same(want[sel], got[sel]):
                failures += 1
                print("FAIL %s %s: python %r, ours %r" % (os.path.basename(path), sel, want[sel], got[sel]))
            elif sel in PRESETS and want[sel][0] > 0:
                preset_rows.append((os.path.basename(path), sel, want[sel]))
    print("sums: %d fixtures, %d (fixture, selector) pairs compared, %d differ" %
          (len(fixtures), compared, failures))
    for fixture, sel, (n, s) in preset_rows:
        print("  %-38s %-52s n=%-3d sum=%r" % (fixture, sel, n, s))
    return failures


def promtool_verdict(path):
    """(parse_error, line) from `promtool check metrics`; lint findings are not errors."""
    with open(path, "rb") as f:
        p = subprocess.run(["promtool", "check", "metrics"], stdin=f, capture_output=True)
    err = p.stderr.decode("utf-8", "replace")
    m = re.search(r"text format parsing error in line (\d+)", err)
    if m:
        return True, int(m.group(1))
    if p.returncode not in (0, 3):
        sys.exit("promtool failed unexpectedly (rc %d): %s" % (p.returncode, err))
    return False, None


def mutate(rng, body):
    ops = ["delete", "insert", "dup", "swap", "truncate", "blank"]
    op = rng.choice(ops)
    i = rng.randrange(len(body))
    if op == "delete":
        return body[:i] + body[i + 1:]
    if op == "insert":
        return body[:i] + bytes([rng.choice(b' \t{}",=#\\a1.e-+\n_:')]) + body[i:]
    if op == "dup":
        return body[:i] + body[i:i + 40] + body[i:]
    if op == "swap" and i + 1 < len(body):
        return body[:i] + body[i + 1:i + 2] + body[i:i + 1] + body[i + 2:]
    if op == "truncate":
        return body[:i]
    return body[:i] + b" " + body[i:]


def check_rejections(tool, bad_dir, text_fixtures, mutants):
    failures = 0
    stats = {"promtool_rejects": 0, "ours_rejects_too": 0, "both_accept": 0,
             "only_ours_rejects": 0, "line_differs": 0}
    cases = []
    for path in sorted(glob.glob(os.path.join(bad_dir, "*.txt"))):
        with open(path, "rb") as f:
            cases.append((os.path.basename(path), strip_header(f.read())))
    rng = random.Random(4)
    for path in text_fixtures:
        with open(path, "rb") as f:
            body = strip_header(f.read())
        for k in range(mutants):
            cases.append(("%s~%d" % (os.path.basename(path), k), mutate(rng, body)))
    with tempfile.TemporaryDirectory() as tmp:
        body_path = os.path.join(tmp, "body")
        for name, body in cases:
            with open(body_path, "wb") as f:
                f.write(body)
            rejected, line = promtool_verdict(body_path)
            got = ours(tool, body_path, False, [])
            if rejected:
                stats["promtool_rejects"] += 1
                if isinstance(got, tuple):
                    stats["ours_rejects_too"] += 1
                    if got[1] != line:
                        stats["line_differs"] += 1
                        print("  line differs on %s: promtool %d, ours %d (%s)" % (name, line, got[1], got[2]))
                else:
                    failures += 1
                    print("FAIL %s: promtool rejects (line %d), ours accepts" % (name, line))
            elif isinstance(got, tuple):
                stats["only_ours_rejects"] += 1
                print("  stricter on %s: promtool accepts, ours rejects line %d: %s" % (name, got[1], got[2]))
            else:
                stats["both_accept"] += 1
            if name.endswith(".txt") and "~" not in name and not rejected:
                print("  note: promtool accepts hand-written bad body %s" % name)
    print("rejections (text): %d bodies; %s" % (len(cases), stats))
    return failures, stats


def check_om_rejections(tool, bad_dir):
    failures = 0
    paths = sorted(glob.glob(os.path.join(bad_dir, "*.om")))
    for path in paths:
        with open(path, "rb") as f:
            body = strip_header(f.read())
        try:
            list(om_families(body.decode("utf-8")))
            python = "accepts"
        except Exception:  # noqa: BLE001 - any parse failure is a rejection
            python = "rejects"
        with tempfile.NamedTemporaryFile(suffix=".om") as tmpf:
            tmpf.write(body)
            tmpf.flush()
            got = ours(tool, tmpf.name, True, [])
        if isinstance(got, tuple):
            print("  %-36s ours rejects (line %d: %s); python %s" % (os.path.basename(path), got[1], got[2], python))
        else:
            failures += 1
            print("FAIL %s: ours accepts a malformed OpenMetrics body (python %s)" % (path, python))
    print("rejections (OpenMetrics): %d bodies, %d accepted by ours" % (len(paths), failures))
    return failures


def main():
    tool, src = sys.argv[1], sys.argv[2]
    mutants = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    fixture_dir = os.path.join(src, "tests", "fixtures", "exposition")
    fixtures = sorted(glob.glob(os.path.join(fixture_dir, "*.txt")) + glob.glob(os.path.join(fixture_dir, "*.om")))
    if len(fixtures) < 10:
        sys.exit("expected at least 10 fixtures, found %d" % len(fixtures))
    failures = check_sums(tool, fixtures)
    text_fixtures = [f for f in fixtures if f.endswith(".txt")]
    bad_dir = os.path.join(fixture_dir, "bad")
    f2, stats = check_rejections(tool, bad_dir, text_fixtures, mutants)
    failures += f2 + check_om_rejections(tool, bad_dir)
    if stats["promtool_rejects"] < 40:
        print("FAIL: only %d bodies rejected by promtool: the corpus proves too little" % stats["promtool_rejects"])
        failures += 1
    print("RESULT: %s" % ("all agree" if failures == 0 else "%d failures" % failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
