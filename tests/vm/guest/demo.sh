#!/bin/bash
# SPDX-License-Identifier: MIT
# scripts/demo inside the guest (for `scripts/demo --vm` and test t80): the same scenario and
# thresholds, with timings for an emulated machine. policies/demo.ini ticks every 1s with a 500ms
# scrape timeout; under TCG the Go canary's /metrics can take longer than that, and a scrape still
# out at the next tick is cancelled, so the GC condition would have no data. Here: 3s and 2s.
# Needs OOMBREAKER (the binary) and OOMBREAKER_SOURCE_DIR.
set -euo pipefail
src=${OOMBREAKER_SOURCE_DIR:?}
work=/run/obvm-demo
mkdir -p "$work"
sed -e 's/^interval = 1s$/interval = 3s/' -e 's/^metrics_timeout = 500ms$/metrics_timeout = 2s/' \
	"$src/policies/demo.ini" >"$work/demo.ini"
grep -q '^interval = 3s$' "$work/demo.ini" && grep -q '^metrics_timeout = 2s$' "$work/demo.ini" || {
	echo "tests/vm/guest/demo.sh: policies/demo.ini no longer has the lines to slow down" >&2
	exit 1
}
# The demo gives the receiver 10 s to start (60 s here, OOMBREAKER_START_TIMEOUT); a cold
# python3 under TCG takes longer still, so warm it too.
/usr/bin/python3 "$src/tests/tools/receiver.py" --help >/dev/null
cd "$src"
OOMBREAKER_START_TIMEOUT=${OOMBREAKER_START_TIMEOUT:-60} DEMO_NONINTERACTIVE=1 DEMO_POLICY_SOURCE=$work/demo.ini DEMO_WATCH_TIMEOUT=${DEMO_WATCH_TIMEOUT:-150} \
	exec scripts/demo
